/*
 * roundlog.h - what of a round goes into the region's transparency log, and what an auditor
 * reads back out of it.
 *
 * Documents appended (tlog_dir.h; a document already in the log is not appended again):
 *
 *   at round open (optional):  "roster" (roster.json), "round" (round.json)
 *   at round extend / cancel:   "roster", "round", ("submission-hash" per submission the
 *                               cancellation lists), "round-extend" or "round-cancel"
 *   at publish:                 "roster", "round", one "submission-hash" per included
 *                               submission, "survivors" and "unmask-request" (bonawitz-v1),
 *                               "release" (release.json) last
 *
 * Each document is the published file byte for byte, except "submission-hash": the canonical
 * JSON {"org":ORG,"round_id":ID,"submission_sha256":HEX} (the submissions themselves are in
 * the release directory; the log commits to which ones were summed).
 *
 * The log's origin (and the coordinator's key name in its checkpoints) is, unless given,
 * "mijlpaal/<region id of the roster>".
 *
 * From a verified log (mp_roundlog_rounds) the auditor gets every round whose specification is
 * in it, whether a release of it is, and the privacy spend per series over all those rounds,
 * published or not: a round opened and never published still spent its budget. The one
 * exception is a round cancelled ("round-cancel", roundctl.h) with no "submission-hash" of it
 * anywhere in the log and none listed by its cancellation: it spent nothing, for the rounds
 * opened after its cancellation (decisions R2).
 */
#ifndef MP_ROUNDLOG_H
#define MP_ROUNDLOG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "keys.h"
#include "tlog_dir.h"

#define MP_ROUNDLOG_ORIGIN_PREFIX "mijlpaal/"

/* The default origin of the region of a roster file. */
MP_WUR int mp_roundlog_origin(char out[MP_CHECKPOINT_ORIGIN_MAX + 1], const char *roster_path);

/* Append a round's roster and specification (round open). origin NULL: the default. */
MP_WUR int mp_roundlog_open(const char *log_dir, const char *origin, const mp_keypair *coordinator,
                            const char *roster_path, const char *round_path, uint64_t *added,
                            uint64_t *size);

/* Append the public documents of a release directory (publish). */
MP_WUR int mp_roundlog_release(const char *log_dir, const char *origin,
                               const mp_keypair *coordinator, const char *release_dir,
                               uint64_t *added, uint64_t *size);

typedef struct mp_roundlog_round {
    char round_id[65], series[41];
    double rho, series_rho, series_spent; /* as the specification declares them */
    double spent_before;                  /* the series' rho of the rounds before it in the log */
    uint64_t spec_index, release_index;   /* entries; release_index UINT64_MAX: not published */
    uint64_t cancel_index;                /* its "round-cancel" entry; UINT64_MAX: none */
    size_t submissions;                   /* "submission-hash" entries of it, or submissions
                                           * its cancellation lists (the larger) */
    int charged;                          /* 0 only for a cancelled round nothing of which can
                                           * have been opened (decisions R2) */
} mp_roundlog_round;

/* Append a round management document (roundctl.h: "round-extend" or "round-cancel") after
 * the round's roster and specification (not appended again when already in the log); a
 * cancellation is preceded by one "submission-hash" per submission it lists, so that the log
 * shows who stays charged. The origin defaults to the one of the roster's region. */
MP_WUR int mp_roundlog_control(const char *log_dir, const char *origin,
                               const mp_keypair *coordinator, const char *roster_text,
                               size_t roster_len, const char *round_text, size_t round_len,
                               const char *type, const char *doc, size_t doc_len, uint64_t *added,
                               uint64_t *size);

/* Every round in a loaded log, in log order; malloc'd array in *out. Fails on a malformed
 * round or release document, a release of a round not in the log, or two specifications with
 * one round id. */
MP_WUR int mp_roundlog_rounds(const mp_tlogdir *d, mp_roundlog_round **out, size_t *n);

/* The budget check over those rounds: each round's cumulative series spend (all rounds in the
 * log before it, published or not, plus its own) within its series budget, and its declared
 * spend before it not less than what the log shows. */
MP_WUR int mp_roundlog_budget_check(const mp_roundlog_round *r, size_t n);

#endif
