/*
 * aggrounds.h - round management in the aggregator's store: several rounds at once, the list,
 * deadline extensions and cancellations (documents in roundctl.h).
 *
 * Invariants:
 *   1. An extension or a cancellation is one transaction: the signed document is stored in
 *      round_docs, the round's row updated (rounds.deadline; rounds.cancelled and its phase
 *      cleared) and an event appended to the hash-linked log; a refused one leaves the store
 *      as it was.
 *   2. Only an open round is extended, and only to a later deadline; an open or closed round
 *      (nothing published) is cancelled, once. A cancelled round accepts nothing afterwards,
 *      is never closed or published, and is charged to its series budget in the store only
 *      when the store holds a submission of it (aggregate.c; decisions R1).
 *   3. Where a command may name a round, the default is the one round not yet finished (open
 *      or closed); with none, the most recent round; with several, a refusal that lists them.
 */
#ifndef MP_AGGROUNDS_H
#define MP_AGGROUNDS_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "keys.h"

/* Every round in the store, oldest first, as a JSON array of {round_id, state, phase, masking,
 * period_start, period_end, series, rho, deadline, extended, created, cancelled, reason,
 * submissions, advertised, shared, confirmed, unmasked, participants}. The stored
 * specifications are read, not re-verified (their signatures were checked when stored). */
MP_WUR int mp_agg_round_list(sqlite3 *db, cJSON **out);

/* The round a command without --round works on (invariant 3). */
MP_WUR int mp_agg_default_round(sqlite3 *db, char round_id[65]);

/* Extend an open round's deadline to `deadline`; *doc (malloc'd) receives the signed
 * round-extend document. */
MP_WUR int mp_agg_round_extend(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                               int64_t deadline, char **doc, size_t *len);

/* Cancel a round; *doc (malloc'd) receives the signed round-cancel document. */
MP_WUR int mp_agg_round_cancel(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                               const char *reason, char **doc, size_t *len);

/* The latest stored document of `kind` ("round-extend", "round-cancel") of a round: 1 and *doc
 * (malloc'd) when there is one, 0 when none, -1 on error. */
int mp_agg_round_doc(sqlite3 *db, const char *round_id, const char *kind, char **doc, size_t *len);

#endif
