/*
 * ledger.c - the contributor ledger (see ledger.h).
 */
#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "privacy.h"
#include "secagg.h"
#include "store.h"

static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE submissions ("
    "  round_id TEXT PRIMARY KEY,"
    "  round_sha256 TEXT NOT NULL,"
    "  org TEXT NOT NULL,"
    "  masked_sha256 TEXT NOT NULL,"
    "  submission_sha256 TEXT NOT NULL UNIQUE,"
    "  submission TEXT NOT NULL,"
    "  created TEXT NOT NULL)",
    /* 2: privacy budget per series */
    "ALTER TABLE submissions ADD COLUMN series TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE submissions ADD COLUMN rho TEXT NOT NULL DEFAULT '0';"
    "CREATE TABLE budgets ("
    "  series TEXT PRIMARY KEY,"
    "  rho TEXT NOT NULL,"
    "  set_at TEXT NOT NULL)",
    /* 3: bonawitz-v1 rounds: the phase reached and the public messages sent and accepted */
    "CREATE TABLE sa_rounds ("
    "  round_id TEXT PRIMARY KEY,"
    "  round_sha256 TEXT NOT NULL,"
    "  org TEXT NOT NULL,"
    "  phase TEXT NOT NULL CHECK (phase IN ('advertised', 'submitted', 'confirmed', "
    "'unmasked')),"
    "  advertise TEXT NOT NULL,"
    "  keys TEXT,"
    "  advertised_sha256 TEXT,"
    "  survivors TEXT,"
    "  survivors_sha256 TEXT,"
    "  consistency TEXT,"
    "  unmask TEXT,"
    "  updated TEXT NOT NULL)",
    /* 4: the organisation's own policy (policy.h): the data period of each submission, the
     * budget each series was first seen with, and the rosters this organisation co-signed.
     * Submissions stored before have no period: they count as overlapping every period. */
    "ALTER TABLE submissions ADD COLUMN period_start TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE submissions ADD COLUMN period_end TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE series_seen ("
    "  series TEXT PRIMARY KEY,"
    "  series_rho TEXT NOT NULL,"
    "  first_round TEXT NOT NULL,"
    "  seen TEXT NOT NULL);"
    "CREATE TABLE rosters_signed ("
    "  roster_sha256 TEXT PRIMARY KEY,"
    "  region TEXT NOT NULL,"
    "  signed TEXT NOT NULL)",
    /* 5: the transparency log this organisation witnesses (witness.h): the body of the last
     * checkpoint it cosigned, per log origin. */
    "CREATE TABLE witnessed ("
    "  origin TEXT PRIMARY KEY,"
    "  size INTEGER NOT NULL,"
    "  checkpoint TEXT NOT NULL,"
    "  cosigned TEXT NOT NULL)",
    /* 6: the organisation the ledger belongs to, recorded when it is first written */
    "CREATE TABLE owner (org TEXT NOT NULL)",
    /* 7: bonawitz-v1 per-round secrets drawn at advertise, sealed (secagg.h) and wiped once
     * no longer needed; rounds the data officer abandoned. The phase constraint changes, so the
     * table is rebuilt. */
    "CREATE TABLE sa_rounds_new ("
    "  round_id TEXT PRIMARY KEY,"
    "  round_sha256 TEXT NOT NULL,"
    "  org TEXT NOT NULL,"
    "  phase TEXT NOT NULL CHECK (phase IN ('advertised', 'shared', 'submitted', 'confirmed', "
    "'unmasked', 'abandoned')),"
    "  advertise TEXT,"
    "  keys TEXT,"
    "  advertised_sha256 TEXT,"
    "  survivors TEXT,"
    "  survivors_sha256 TEXT,"
    "  consistency TEXT,"
    "  unmask TEXT,"
    "  updated TEXT NOT NULL,"
    "  secrets BLOB,"
    "  secrets_at TEXT,"
    "  share TEXT,"
    "  shares TEXT);"
    "INSERT INTO sa_rounds_new (round_id, round_sha256, org, phase, advertise, keys, "
    "advertised_sha256, survivors, survivors_sha256, consistency, unmask, updated) "
    "SELECT round_id, round_sha256, org, phase, advertise, keys, advertised_sha256, survivors, "
    "survivors_sha256, consistency, unmask, updated FROM sa_rounds;"
    "DROP TABLE sa_rounds;"
    "ALTER TABLE sa_rounds_new RENAME TO sa_rounds",
    /* 8: cancellations this organisation verified (roundctl.h), and whether the round stays
     * charged to its budget (decisions R1): the rows of `submissions` decide the spend, this
     * table only records what was learnt and refuses every later message of the round. */
    "CREATE TABLE cancelled ("
    "  round_id TEXT PRIMARY KEY,"
    "  round_sha256 TEXT NOT NULL,"
    "  series TEXT NOT NULL,"
    "  rho TEXT NOT NULL,"
    "  charged INTEGER NOT NULL CHECK (charged IN (0, 1)),"
    "  reason TEXT NOT NULL,"
    "  cancellation TEXT NOT NULL,"
    "  recorded TEXT NOT NULL)",
};

int mp_ledger_open(sqlite3 **db, const char *path, int create)
{
    if (mp_store_open(db, path, MP_APP_LEDGER, migrations,
                      (int)(sizeof migrations / sizeof *migrations), create) != 0)
        return -1;
    /* Wiped secrets are overwritten with zeros in the file, not merely unlinked from it. */
    if (mp_store_exec(*db, "PRAGMA secure_delete=ON") != 0) {
        mp_store_close(*db);
        return -1;
    }
    return 0;
}

int mp_ledger_owner(sqlite3 *db, char org[41])
{
    /* A ledger from before the owner migration has no owner row: its rows still say whose it
     * is (a round abandoned without a key records no organisation). */
    return mp_store_text(db,
                         "SELECT org FROM (SELECT org FROM owner UNION ALL SELECT org FROM "
                         "submissions UNION ALL SELECT org FROM sa_rounds) WHERE ?1 IS NOT NULL "
                         "AND org <> '' LIMIT 1",
                         "", org, 41);
}

int mp_ledger_owner_set(sqlite3 *db, const char *org)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(
            db, &st, "INSERT INTO owner (org) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM owner)") !=
        0)
        return -1;
    sqlite3_bind_text(st, 1, org, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "cannot record the ledger's organisation");
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", v ? (const char *)v : "");
}

static void fill(mp_ledger_entry *e, sqlite3_stmt *st)
{
    copy_col(e->round_id, sizeof e->round_id, st, 0);
    copy_col(e->round_sha256, sizeof e->round_sha256, st, 1);
    copy_col(e->org, sizeof e->org, st, 2);
    copy_col(e->masked_sha256, sizeof e->masked_sha256, st, 3);
    copy_col(e->submission_sha256, sizeof e->submission_sha256, st, 4);
    copy_col(e->created, sizeof e->created, st, 5);
    copy_col(e->series, sizeof e->series, st, 6);
    copy_col(e->rho, sizeof e->rho, st, 7);
    copy_col(e->period_start, sizeof e->period_start, st, 8);
    copy_col(e->period_end, sizeof e->period_end, st, 9);
}

#define COLS                                                                                       \
    "round_id, round_sha256, org, masked_sha256, submission_sha256, created, series, rho, "        \
    "period_start, period_end"

int mp_ledger_find(sqlite3 *db, const char *round_id, mp_ledger_entry *e)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st, "SELECT " COLS " FROM submissions WHERE round_id = ?") != 0)
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        fill(e, st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return mp_store_error(db, "ledger lookup");
}

int mp_ledger_submission(sqlite3 *db, const char *round_id, char **text, size_t *len)
{
    sqlite3_stmt *st;
    int rc = -1;
    if (mp_store_prepare(db, &st, "SELECT submission FROM submissions WHERE round_id = ?") != 0)
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        if ((*text = malloc(*len + 1)) != NULL) {
            memcpy(*text, sqlite3_column_text(st, 0), *len);
            (*text)[*len] = '\0';
            rc = 0;
        } else {
            mp_error_system("out of memory");
        }
    } else {
        mp_error_set("no submission for round %.64s in the ledger", round_id);
    }
    sqlite3_finalize(st);
    return rc;
}

int mp_ledger_insert(sqlite3 *db, const mp_ledger_entry *e, const char *submission, size_t len)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st,
                         "INSERT INTO submissions (" COLS ", submission) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") != 0)
        return -1;
    sqlite3_bind_text(st, 1, e->round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->round_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, e->org, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->masked_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e->submission_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, e->created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, e->series, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, e->rho, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, e->period_start, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, e->period_end, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, submission, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return mp_store_error(db, "cannot record the submission in the ledger");
    return 0;
}

int mp_ledger_spent(sqlite3 *db, const char *series, double *spent)
{
    return mp_store_sum_rho(db, "SELECT rho FROM submissions WHERE series = ?", series, NULL,
                            spent);
}

int mp_ledger_period_spent(sqlite3 *db, const char *series, const char *start, const char *end,
                           double *spent)
{
    char range[32];
    /* Two bound parameters only (mp_store_sum_rho): the period travels as "START:END". ISO
     * dates compare as text. */
    snprintf(range, sizeof range, "%.10s:%.10s", start, end);
    return mp_store_sum_rho(db,
                            "SELECT rho FROM submissions WHERE series = ?1 AND (period_start = '' "
                            "OR (period_start <= substr(?2, 12) AND period_end >= "
                            "substr(?2, 1, 10)))",
                            series, range, spent);
}

int mp_ledger_series_seen(sqlite3 *db, const char *series, char rho[32])
{
    return mp_store_text(db, "SELECT series_rho FROM series_seen WHERE series = ?", series, rho,
                         32);
}

static int insert_now(sqlite3 *db, const char *sql, const char *a, const char *b, const char *c)
{
    sqlite3_stmt *st;
    int64_t now;
    char at[21];
    int rc;
    if (mp_time_now(&now) != 0 || mp_store_prepare(db, &st, sql) != 0)
        return -1;
    mp_time_format(at, now);
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c != NULL ? c : at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "cannot update the ledger");
}

int mp_ledger_series_note(sqlite3 *db, const char *series, const char *series_rho,
                          const char *round_id)
{
    return insert_now(db, "INSERT OR IGNORE INTO series_seen VALUES (?1, ?2, ?3, ?4)", series,
                      series_rho, round_id);
}

int mp_ledger_roster_signed(sqlite3 *db, const char *roster_sha256)
{
    char region[64];
    return mp_store_text(db, "SELECT region FROM rosters_signed WHERE roster_sha256 = ?",
                         roster_sha256, region, sizeof region);
}

int mp_ledger_roster_sign_note(sqlite3 *db, const char *roster_sha256, const char *region)
{
    return insert_now(db, "INSERT OR IGNORE INTO rosters_signed VALUES (?1, ?2, ?4)", roster_sha256,
                      region, NULL);
}

int mp_ledger_budget_get(sqlite3 *db, const char *series, char rho[32])
{
    return mp_store_text(db, "SELECT rho FROM budgets WHERE series = ?", series, rho, 32);
}

int mp_ledger_budget_set(sqlite3 *db, const char *series, const char *rho)
{
    sqlite3_stmt *st;
    double v;
    int64_t now;
    char at[21];
    int rc;
    if (mp_privacy_parse_rho(rho, &v) != 0 || mp_time_now(&now) != 0)
        return -1;
    mp_time_format(at, now);
    if (mp_store_prepare(db, &st, "INSERT OR REPLACE INTO budgets VALUES (?, ?, ?)") != 0)
        return -1;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rho, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "cannot set the budget");
}

int mp_ledger_list(sqlite3 *db, void (*fn)(const mp_ledger_entry *, void *), void *arg)
{
    sqlite3_stmt *st;
    mp_ledger_entry e;
    int rc;
    if (mp_store_prepare(db, &st, "SELECT " COLS " FROM submissions ORDER BY created, round_id") !=
        0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fill(&e, st);
        fn(&e, arg);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "ledger listing");
}

/* ---- bonawitz-v1 round state --------------------------------------------------------- */

static char *dup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? strdup((const char *)v) : NULL;
}

#define SA_COLS                                                                                    \
    "round_id, round_sha256, org, phase, advertise, keys, advertised_sha256, survivors, "          \
    "survivors_sha256, consistency, unmask, updated, secrets_at, secrets, share, shares"

_Static_assert(sizeof(((mp_ledger_sa *)0)->secrets) == MP_SECAGG_SEALED_BYTES,
               "ledger.h's secrets buffer is one sealed blob");

static const char *const member_phases[] = {"advertised", "shared",   "submitted",
                                            "confirmed",  "unmasked", "abandoned"};

const char *mp_member_phase_name(enum mp_member_phase p)
{
    if ((unsigned)p < sizeof member_phases / sizeof *member_phases)
        return member_phases[p];
    return "?";
}

enum mp_member_phase mp_member_phase_parse(const char *name)
{
    for (unsigned i = 0; name != NULL && i < sizeof member_phases / sizeof *member_phases; i++)
        if (strcmp(name, member_phases[i]) == 0)
            return (enum mp_member_phase)i;
    return MP_MEMBER_UNKNOWN;
}

static void sa_fill(mp_ledger_sa *s, sqlite3_stmt *st)
{
    char phase[16];
    memset(s, 0, sizeof *s);
    copy_col(s->round_id, sizeof s->round_id, st, 0);
    copy_col(s->round_sha256, sizeof s->round_sha256, st, 1);
    copy_col(s->org, sizeof s->org, st, 2);
    copy_col(phase, sizeof phase, st, 3);
    s->phase = mp_member_phase_parse(phase);
    s->advertise = dup_col(st, 4);
    s->keys = dup_col(st, 5);
    copy_col(s->advertised_sha256, sizeof s->advertised_sha256, st, 6);
    s->survivors = dup_col(st, 7);
    copy_col(s->survivors_sha256, sizeof s->survivors_sha256, st, 8);
    s->consistency = dup_col(st, 9);
    s->unmask = dup_col(st, 10);
    copy_col(s->updated, sizeof s->updated, st, 11);
    copy_col(s->secrets_at, sizeof s->secrets_at, st, 12);
    if (sqlite3_column_type(st, 13) == SQLITE_BLOB &&
        sqlite3_column_bytes(st, 13) == MP_SECAGG_SEALED_BYTES) {
        memcpy(s->secrets, sqlite3_column_blob(st, 13), MP_SECAGG_SEALED_BYTES);
        s->has_secrets = 1;
    }
    s->share = dup_col(st, 14);
    s->shares = dup_col(st, 15);
}

void mp_ledger_sa_free(mp_ledger_sa *s)
{
    free(s->advertise);
    free(s->keys);
    free(s->survivors);
    free(s->consistency);
    free(s->unmask);
    free(s->share);
    free(s->shares);
    memset(s, 0, sizeof *s);
}

int mp_ledger_sa_get(sqlite3 *db, const char *round_id, mp_ledger_sa *s)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st, "SELECT " SA_COLS " FROM sa_rounds WHERE round_id = ?"))
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sa_fill(s, st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "reading the ledger");
}

int mp_ledger_sa_put(sqlite3 *db, const mp_ledger_sa *s)
{
    sqlite3_stmt *st;
    char at[21];
    int64_t now;
    int ok;
    if (mp_time_now(&now) != 0)
        return -1;
    mp_time_format(at, now);
    if (mp_store_prepare(db, &st,
                         "INSERT OR REPLACE INTO sa_rounds (" SA_COLS
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        return -1;
    const char *text[13] = {s->round_id,
                            s->round_sha256,
                            s->org,
                            mp_member_phase_name(s->phase),
                            s->advertise,
                            s->keys,
                            s->advertised_sha256[0] ? s->advertised_sha256 : NULL,
                            s->survivors,
                            s->survivors_sha256[0] ? s->survivors_sha256 : NULL,
                            s->consistency,
                            s->unmask,
                            at,
                            s->secrets_at[0] ? s->secrets_at : NULL};
    for (int i = 0; i < 13; i++)
        if (text[i] != NULL)
            sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
    if (s->has_secrets)
        sqlite3_bind_blob(st, 14, s->secrets, MP_SECAGG_SEALED_BYTES, SQLITE_STATIC);
    if (s->share != NULL)
        sqlite3_bind_text(st, 15, s->share, -1, SQLITE_STATIC);
    if (s->shares != NULL)
        sqlite3_bind_text(st, 16, s->shares, -1, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? 0 : mp_store_error(db, "cannot record the round's phase");
}

int mp_ledger_sa_scrub(sqlite3 *db)
{
    /* The row's old version may still sit in the write-ahead log until a checkpoint copies
     * the new one over it; truncate the log so that the wiped blob is gone from both files. */
    return mp_store_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
}

int mp_ledger_sa_list(sqlite3 *db, void (*fn)(const mp_ledger_sa *, void *), void *arg)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st, "SELECT " SA_COLS " FROM sa_rounds ORDER BY updated, round_id"))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mp_ledger_sa s;
        sa_fill(&s, st);
        fn(&s, arg);
        mp_ledger_sa_free(&s);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "reading the ledger");
}

int mp_ledger_witnessed_get(sqlite3 *db, const char *origin, char **checkpoint)
{
    sqlite3_stmt *st;
    int rc;
    *checkpoint = NULL;
    if (mp_store_prepare(db, &st, "SELECT checkpoint FROM witnessed WHERE origin = ?") != 0)
        return -1;
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW &&
        (*checkpoint = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
        rc = SQLITE_NOMEM;
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_NOMEM ? mp_error_system("out of memory")
                              : mp_store_error(db, "ledger lookup");
}

int mp_ledger_witnessed_put(sqlite3 *db, const char *origin, uint64_t size, const char *checkpoint)
{
    sqlite3_stmt *st;
    int64_t now;
    char at[21];
    int rc;
    if (mp_time_now(&now) != 0 ||
        mp_store_prepare(db, &st, "INSERT OR REPLACE INTO witnessed VALUES (?, ?, ?, ?)") != 0)
        return -1;
    mp_time_format(at, now);
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
    sqlite3_bind_text(st, 3, checkpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "cannot record the witnessed checkpoint");
}

int mp_ledger_cancel_get(sqlite3 *db, const char *round_id, mp_ledger_cancel *c)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st,
                         "SELECT round_id, round_sha256, series, rho, charged, reason, recorded "
                         "FROM cancelled WHERE round_id = ?") != 0)
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && c != NULL) {
        copy_col(c->round_id, sizeof c->round_id, st, 0);
        copy_col(c->round_sha256, sizeof c->round_sha256, st, 1);
        copy_col(c->series, sizeof c->series, st, 2);
        copy_col(c->rho, sizeof c->rho, st, 3);
        c->charged = sqlite3_column_int(st, 4);
        copy_col(c->reason, sizeof c->reason, st, 5);
        copy_col(c->recorded, sizeof c->recorded, st, 6);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "ledger lookup");
}

int mp_ledger_cancel_put(sqlite3 *db, const mp_ledger_cancel *c, const char *cancellation)
{
    sqlite3_stmt *st;
    int64_t now;
    char at[21];
    int rc;
    if (mp_time_now(&now) != 0 ||
        mp_store_prepare(db, &st,
                         "INSERT INTO cancelled (round_id, round_sha256, series, rho, charged, "
                         "reason, cancellation, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)") != 0)
        return -1;
    mp_time_format(at, now);
    sqlite3_bind_text(st, 1, c->round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->round_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->series, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->rho, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, c->charged ? 1 : 0);
    sqlite3_bind_text(st, 6, c->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, cancellation, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return mp_store_error(db, "cannot record the cancellation in the ledger");
    return 0;
}

int mp_ledger_cancel_count(sqlite3 *db, const char *series, int charged, size_t *n)
{
    sqlite3_stmt *st;
    int rc;
    *n = 0;
    if (mp_store_prepare(db, &st,
                         "SELECT count(*) FROM cancelled WHERE series = ? AND charged = ?") != 0)
        return -1;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, charged ? 1 : 0);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : mp_store_error(db, "ledger lookup");
}
