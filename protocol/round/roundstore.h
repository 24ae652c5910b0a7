/*
 * roundstore.h - the one owner of the aggregator's round tables and event log.
 *
 * Module boundaries on the aggregator's side (each arrow: "includes the header of"; there is
 * no cycle):
 *
 *   aggregate.c  (round lifecycle: create, import, close, publish)
 *       |-> roundstore.h  (this module: schema, event log, the stored round loaded once)
 *       '-> masking.h     (one "open the sum" per masking scheme, behind one interface)
 *   masking.c    (the interface; pairwise-v1's opening; bonawitz-v1's from saround.h)
 *       '-> saround.h
 *   saround.c    (bonawitz-v1's phases and messages in the store)
 *       '-> roundstore.h
 *
 * This module owns every table of the aggregator's store (rounds, submissions, releases,
 * log, sa_messages, sa_outgoing): their migrations are here, in order, and nothing else
 * creates or alters a table. The event log is append-only and hash-linked: entry_sha256 =
 * SHA-256(prev_sha256 || "\n" || seq || "\n" || at || "\n" || event || "\n" || round_id || "\n"
 * || detail); detail holds hashes and organisation ids, never a figure.
 *
 * The stored round (its signed roster and round envelopes) is verified against the trusted
 * key once per thread and kept: mp_rs_round returns the verified objects for as long as the
 * stored bytes and the trusted key are the ones they were verified from (compared byte for
 * byte on every call), so that an import need not parse and verify a 1000-member roster and a
 * 10 000-cell round again for every message. The objects are borrowed: valid until the next
 * mp_rs_round or mp_rs_cache_clear on the same thread.
 */
#ifndef MP_ROUNDSTORE_H
#define MP_ROUNDSTORE_H

#include <sqlite3.h>
#include <stddef.h>

#include "error.h"
#include "keys.h"
#include "roster.h"
#include "spec.h"

/* Open (create) the aggregator's store and run its migrations. */
MP_WUR int mp_rs_open(sqlite3 **db, const char *path, int create);

/* Append an event to the hash-linked log, inside the caller's transaction. */
MP_WUR int mp_rs_log_append(sqlite3 *db, const char *event, const char *round_id,
                            const char *detail);

/* Verify the event log's hash chain; *n receives the number of entries. */
MP_WUR int mp_rs_log_verify(sqlite3 *db, size_t *n);

/* The stored round's roster and spec, verified against `trusted` (borrowed, see above). */
MP_WUR int mp_rs_round(sqlite3 *db, const char *round_id, const mp_pubkey *trusted,
                       const mp_roster **roster, const mp_spec **spec);

/* Drop what this thread keeps (tests; a long-running service needs not call it). */
void mp_rs_cache_clear(void);

#endif
