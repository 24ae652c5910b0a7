/*
 * witness.h - a contributor witnesses the region's transparency log (tlog_dir.h) before it
 * signs anything in a round, so that the coordinator cannot show two organisations different
 * histories unnoticed (issue 11).
 *
 * To witness: load the log directory, check that its latest checkpoint is signed by the
 * coordinator's key (the log key, named by the checkpoint's origin), that it extends the
 * checkpoint this organisation cosigned last (kept in its ledger; a consistency proof from the
 * log's own entries), and add a cosignature/v1 line under the organisation's id, signed with
 * its Ed25519 key, to the log's checkpoint files. A log that does not extend the last one
 * cosigned is a fork: refused, with both checkpoints for the data officer to report.
 *
 * Invariants: returns 0 or -1 with the reason in mp_error_get(); on -1 nothing is written to
 * the log; *latest is set (when not NULL) whenever the log's latest checkpoint could be read,
 * also on a fork, so the caller can print it.
 */
#ifndef MP_WITNESS_H
#define MP_WITNESS_H

#include <stdint.h>

#include "error.h"
#include "keys.h"

/* Witness the log at `dir` as kp's organisation. `last` is the body of the checkpoint it
 * cosigned before (origin, size, root lines; its signatures were checked then; NULL: none). On
 * success *cosigned is the text of the checkpoint now cosigned (malloc'd; keep it as the next
 * `last`) and *size its tree size. */
MP_WUR int mp_witness_cosign(const char *dir, const mp_pubkey *coordinator, const mp_keypair *kp,
                             const char *last, uint64_t now, char **cosigned, uint64_t *size,
                             char **latest);

#endif
