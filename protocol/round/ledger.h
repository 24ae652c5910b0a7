/*
 * ledger.h - the contributor's own SQLite ledger of what it submitted.
 *
 * One row per round: the round id and hash, the hash of the masked vector and of the signed
 * submission, the submission itself (exactly the bytes that left the organisation), and the
 * time. Never a BSN, never a pseudonym, never the unmasked or noisy vector.
 *
 * It also keeps the organisation's own privacy budget per series: the sum of the rho of the
 * rounds it contributed to, and (optionally) a cap the organisation set itself, which the
 * contributor enforces whatever a round specification claims.
 *
 * Why keep it: a second submission for a round with fresh noise would let anyone holding both
 * average the noise away, so the contributor refuses to submit twice for a round and can hand
 * out the stored submission again instead.
 */
#ifndef MP_LEDGER_H
#define MP_LEDGER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct mp_ledger_entry {
    char round_id[65];
    char round_sha256[65];
    char org[41];
    char masked_sha256[65];
    char submission_sha256[65];
    char created[21];
    char series[41];
    char rho[32];
    char period_start[11], period_end[11]; /* the round's data period ("" in old rows) */
} mp_ledger_entry;

/* Open the ledger; with create == 0 a missing file is an error (and nothing is created). */
MP_WUR int mp_ledger_open(sqlite3 **db, const char *path, int create);

/* The organisation the ledger belongs to (recorded on its first write; for an older ledger the
 * organisation of its rows): 1 and org filled, 0 when the ledger says nothing yet, -1 on
 * error. The contributor refuses a ledger of another organisation. */
int mp_ledger_owner(sqlite3 *db, char org[41]);
/* Record org as the owner when none is recorded yet (the caller holds the transaction). */
MP_WUR int mp_ledger_owner_set(sqlite3 *db, const char *org);

/* 1 and *e filled when the round has an entry, 0 when not, -1 on error. */
int mp_ledger_find(sqlite3 *db, const char *round_id, mp_ledger_entry *e);

/* The stored submission text of a round (malloc'd). */
MP_WUR int mp_ledger_submission(sqlite3 *db, const char *round_id, char **text, size_t *len);

/* Insert an entry (the caller holds the transaction). */
MP_WUR int mp_ledger_insert(sqlite3 *db, const mp_ledger_entry *e, const char *submission,
                            size_t len);

/* Sum of the rho of every stored submission of a series. */
MP_WUR int mp_ledger_spent(sqlite3 *db, const char *series, double *spent);

/* Sum of the rho of the stored submissions of a series whose data period overlaps
 * [start, end] (ISO dates); rows without a period count as overlapping. */
MP_WUR int mp_ledger_period_spent(sqlite3 *db, const char *series, const char *start,
                                  const char *end, double *spent);

/* The series budget a series was first seen with: 1 and rho filled, 0 when new, -1 on error. */
int mp_ledger_series_seen(sqlite3 *db, const char *series, char rho[32]);
/* Record it when new (first sight wins; the caller holds the transaction). */
MP_WUR int mp_ledger_series_note(sqlite3 *db, const char *series, const char *series_rho,
                                 const char *round_id);

/* 1 when this organisation co-signed the draft roster with that hash, 0 when not, -1 error. */
int mp_ledger_roster_signed(sqlite3 *db, const char *roster_sha256);
MP_WUR int mp_ledger_roster_sign_note(sqlite3 *db, const char *roster_sha256, const char *region);

/* The body of the last checkpoint of log `origin` this organisation cosigned (witness.h):
 * 1 and *checkpoint (malloc'd) when there is one, 0 when none, -1 on error; and record a new
 * one (the caller holds the transaction). */
int mp_ledger_witnessed_get(sqlite3 *db, const char *origin, char **checkpoint);
MP_WUR int mp_ledger_witnessed_put(sqlite3 *db, const char *origin, uint64_t size,
                                   const char *checkpoint);

/* The organisation's own cap for a series: 1 and rho filled when set, 0 when not, -1 on error. */
int mp_ledger_budget_get(sqlite3 *db, const char *series, char rho[32]);

/* Set (or replace) the cap, in its own transaction. */
MP_WUR int mp_ledger_budget_set(sqlite3 *db, const char *series, const char *rho);

/*
 * bonawitz-v1 rounds (secagg.h): the phase reached and the messages that make each phase
 * repeatable and checkable - what was advertised, the keys message shared for and the share
 * message sent, the shares message masked with (its boxes are encrypted to this round's box
 * key; they are opened again at unmask time), the one survivors list confirmed, the
 * confirmation and the unmask message - and the round's secrets, drawn
 * from the OS at advertise and sealed to the keystore (mp_secagg_secrets_seal): they are
 * written in the transaction that records the advertisement, before it leaves, so a crash
 * resumes with the same values, and wiped (set to NULL; the ledger runs with secure_delete and
 * mp_ledger_sa_scrub truncates the write-ahead log) once the unmask message is stored, or when
 * the data officer forgets the round. Everything else is public or encrypted to this
 * organisation. Phases: advertised -> shared -> submitted -> confirmed -> unmasked, or abandoned
 * (the data officer gave the round up; every later message of it is refused).
 */
/* A member's phase in a bonawitz-v1 round; the ledger stores the name (sa_rounds.phase, checked
 * by the schema), code compares the enum, parsed once when a row is read. */
enum mp_member_phase {
    MP_MEMBER_ADVERTISED = 0,
    MP_MEMBER_SHARED,
    MP_MEMBER_SUBMITTED,
    MP_MEMBER_CONFIRMED,
    MP_MEMBER_UNMASKED,
    MP_MEMBER_ABANDONED,
    MP_MEMBER_UNKNOWN /* a name this version does not know (a newer ledger) */
};

/* "advertised", "shared", "submitted", "confirmed", "unmasked", "abandoned" ("?" unknown). */
const char *mp_member_phase_name(enum mp_member_phase p);
enum mp_member_phase mp_member_phase_parse(const char *name); /* MP_MEMBER_UNKNOWN if other */

typedef struct mp_ledger_sa {
    char round_id[65], round_sha256[65], org[41], updated[21];
    enum mp_member_phase phase;
    char advertised_sha256[65], survivors_sha256[65]; /* "" when not yet known; advertised_sha256
                                                       * is the hash of U2, the list masked with */
    char *advertise, *keys, *survivors, *consistency, *unmask; /* malloc'd, NULL when absent */
    char *share, *shares;                                      /* malloc'd, NULL when absent */
    char secrets_at[21];                                       /* when they were drawn */
    int has_secrets;                                           /* 0 once wiped */
    unsigned char secrets[201];                                /* MP_SECAGG_SEALED_BYTES */
} mp_ledger_sa;

/* 1 and *s filled when the round has a row, 0 when not, -1 on error. */
int mp_ledger_sa_get(sqlite3 *db, const char *round_id, mp_ledger_sa *s);
/* Insert or replace the row (the caller holds the transaction). */
MP_WUR int mp_ledger_sa_put(sqlite3 *db, const mp_ledger_sa *s);
void mp_ledger_sa_free(mp_ledger_sa *s);
/* After a commit that wiped secrets: checkpoint and truncate the write-ahead log. */
MP_WUR int mp_ledger_sa_scrub(sqlite3 *db);
MP_WUR int mp_ledger_sa_list(sqlite3 *db, void (*fn)(const mp_ledger_sa *, void *), void *arg);

/*
 * Cancelled rounds (roundctl.h): a verified cancellation is recorded once; afterwards every
 * message of the round is refused. `charged` is 1 when the organisation's masked input left
 * for the round (a row in submissions) or the cancellation lists a submission of it: then the
 * round stays in the spend, because other members' shares or the aggregator's store may still
 * open a sum that contains it (decisions R1). Charged or not, the spend is what `submissions`
 * holds: a round it never submitted to never entered it.
 */
typedef struct mp_ledger_cancel {
    char round_id[65], round_sha256[65], series[41], rho[32];
    int charged;
    char reason[801], recorded[21];
} mp_ledger_cancel;

/* 1 and *c filled (c may be NULL) when the round's cancellation is recorded, 0 when not, -1. */
int mp_ledger_cancel_get(sqlite3 *db, const char *round_id, mp_ledger_cancel *c);
/* Record a cancellation (the caller holds the transaction). */
MP_WUR int mp_ledger_cancel_put(sqlite3 *db, const mp_ledger_cancel *c, const char *cancellation);
/* How many cancelled rounds of a series are (charged 1) or are not (0) charged. */
MP_WUR int mp_ledger_cancel_count(sqlite3 *db, const char *series, int charged, size_t *n);

/* Call fn for each entry, oldest first. */
MP_WUR int mp_ledger_list(sqlite3 *db, void (*fn)(const mp_ledger_entry *, void *), void *arg);

#endif
