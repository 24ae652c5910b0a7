/*
 * aggregate.h - the aggregator's store and the round state machine.
 *
 *        round open            import (each participant once)          close            publish
 *   (none) ------> OPEN  ------------------------------------> OPEN -------> CLOSED --------->
 * PUBLISHED
 *
 * Invariants:
 *   1. Each transition is one SQLite transaction: a refused import, close or publish leaves the
 *      store exactly as it was.
 *   2. A submission is stored only when mp_submission_check() accepts it, it arrived before the
 *      round's deadline, its organisation has none stored yet for the round and its bytes were
 *      never stored before (no replay, no duplicate).
 *   3. close opens the sum only when every participant submitted (pairwise-v1 cannot recover
 *      a missing mask) and at least k_min are included; the stored sum is the element-wise sum
 *      modulo 2^64 of the stored masked vectors, nothing else. A bonawitz-v1 round goes
 *      through the phases of saround.h while open, and closes from its survivors' submissions
 *      and T unmask messages (saround.h invariant 4).
 *   4. Privacy budget: a round is stored, and published, only when its rho plus the rho of every
 *      other round of its series in the store stays within the series budget (privacy.h).
 *   5. The event log is append-only and hash-linked: entry_sha256 = SHA-256(prev_sha256 || "\n"
 *      || seq || "\n" || at || "\n" || event || "\n" || round_id || "\n" || detail); detail
 *      holds hashes and organisation ids, never a figure.
 *
 * Round state lives in the store, so a restart resumes exactly where the last committed
 * transition left it. Module boundaries: the tables and the log belong to roundstore.h (which
 * also keeps the verified round, so that an import does not verify the roster and the round
 * again); what differs between the masking schemes (storing their own messages, opening the
 * sum, the release's masking block) is behind masking.h. This module includes neither
 * saround.h nor any header that includes this one.
 */
#ifndef MP_AGGREGATE_H
#define MP_AGGREGATE_H

#include <sqlite3.h>
#include <stddef.h>

#include "error.h"
#include "keys.h"
#include "roster.h"
#include "spec.h"

typedef struct mp_round_status {
    char state[16]; /* "open", "closed", "published" */
    size_t nparticipants, nsubmitted;
    const char *submitted[MP_MAX_ORGS]; /* point into the spec */
    const char *missing[MP_MAX_ORGS];
    size_t nmissing;
    char deadline[21];
} mp_round_status;

MP_WUR int mp_agg_open(sqlite3 **db, const char *path, int create);

/* Store a new round from its signed roster and specification envelopes (verified against the
 * trusted coordinator key). */
MP_WUR int mp_agg_round_create(sqlite3 *db, const char *roster_path, const char *spec_path,
                               const mp_pubkey *trusted);

/* Load the roster and spec of a stored round (re-verified). */
MP_WUR int mp_agg_round_load(sqlite3 *db, const char *round_id, const mp_pubkey *trusted,
                             mp_roster **roster, mp_spec **spec);

/* Import one submission file; on success *org_id names the organisation (static storage). */
MP_WUR int mp_agg_import(sqlite3 *db, const char *path, const mp_pubkey *trusted,
                         char org_id[MP_ORG_ID_MAX + 1], char round_id[65]);

/* The same for a message in memory (the HTTPS service); `name` prefixes errors. */
MP_WUR int mp_agg_import_text(sqlite3 *db, const char *text, size_t len, const char *name,
                              const mp_pubkey *trusted, char org_id[MP_ORG_ID_MAX + 1],
                              char round_id[65]);

MP_WUR int mp_agg_status(sqlite3 *db, const mp_spec *spec, mp_round_status *st);

MP_WUR int mp_agg_close(sqlite3 *db, const char *round_id, const mp_pubkey *trusted);

/* Sign the release of a closed round, store it and mark the round published (one
 * transaction), then write the bundle (release.json, release.csv, report.html, report.pdf,
 * roster.json, round.json, submissions/ORG.json) into out_dir, which must not exist yet. On a
 * published round it writes the bundle of the stored release again (the same signed bytes):
 * that is how a publish interrupted after its commit is resumed, and how a second copy is
 * made. */
MP_WUR int mp_agg_publish(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                          const char *out_dir);

/* The same with the earlier releases of the round's series (each a release directory or its
 * release.json), verified and copied into out_dir/series/ (report.h) before anything is
 * signed, so that the report shows the milestones over the whole series. */
MP_WUR int mp_agg_publish_series(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                                 const char *out_dir, const char *const *previous,
                                 size_t nprevious);

/* The most recent round id in the store (for commands where --round is optional). */
MP_WUR int mp_agg_latest_round(sqlite3 *db, char round_id[65]);

/* Sum of the budgets (rho) of the rounds of `series` in the store other than exclude_round
 * (NULL: none excluded); open rounds count, since they may still be published. */
MP_WUR int mp_agg_series_spent(sqlite3 *db, const char *series, const char *exclude_round,
                               double *spent);

/* Append an event to the hash-linked log, inside the caller's transaction (roundstore.h owns
 * the log; this stays for the lifecycle's other callers). */
MP_WUR int mp_agg_log_append(sqlite3 *db, const char *event, const char *round_id,
                             const char *detail);

/* Verify the event log's hash chain; *n receives the number of entries. */
MP_WUR int mp_agg_log_verify(sqlite3 *db, size_t *n);

#endif
