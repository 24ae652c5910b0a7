/*
 * roundstore.c - the aggregator's tables and event log (see roundstore.h).
 */
#include "roundstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "envelope.h"
#include "store.h"

/* Every table of the aggregator's store, in the order the migrations were introduced; a store
 * records how many it ran (store.h), so this list only ever grows at the end. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE rounds ("
    "  round_id TEXT PRIMARY KEY,"
    "  round_sha256 TEXT NOT NULL UNIQUE,"
    "  roster TEXT NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'published')),"
    "  created TEXT NOT NULL,"
    "  closed TEXT,"
    "  sum TEXT);"
    "CREATE TABLE submissions ("
    "  round_id TEXT NOT NULL REFERENCES rounds(round_id),"
    "  org TEXT NOT NULL,"
    "  submission_sha256 TEXT NOT NULL UNIQUE,"
    "  submission TEXT NOT NULL,"
    "  received TEXT NOT NULL,"
    "  PRIMARY KEY (round_id, org));"
    "CREATE TABLE releases ("
    "  round_id TEXT PRIMARY KEY REFERENCES rounds(round_id),"
    "  release_sha256 TEXT NOT NULL,"
    "  release TEXT NOT NULL,"
    "  published TEXT NOT NULL);"
    "CREATE TABLE log ("
    "  seq INTEGER PRIMARY KEY,"
    "  at TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  round_id TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  prev_sha256 TEXT NOT NULL,"
    "  entry_sha256 TEXT NOT NULL);"
    "CREATE TRIGGER log_append_only_u BEFORE UPDATE ON log "
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;"
    "CREATE TRIGGER log_append_only_d BEFORE DELETE ON log "
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;",
    /* 2: privacy budgets per series (privacy.h); rounds of version 1 spent nothing. */
    "ALTER TABLE rounds ADD COLUMN series TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rounds ADD COLUMN rho TEXT NOT NULL DEFAULT '0';",
    /* 3: masking scheme bonawitz-v1: phases and their messages (saround.h). */
    "ALTER TABLE rounds ADD COLUMN phase TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE sa_messages ("
    "  round_id TEXT NOT NULL REFERENCES rounds(round_id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('advertise', 'consistency', 'unmask')),"
    "  org TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  message TEXT NOT NULL,"
    "  received TEXT NOT NULL,"
    "  PRIMARY KEY (round_id, kind, org));"
    "CREATE TABLE sa_outgoing ("
    "  round_id TEXT NOT NULL REFERENCES rounds(round_id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('survivors', 'unmask-request')),"
    "  sha256 TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  made TEXT NOT NULL,"
    "  PRIMARY KEY (round_id, kind));",
    /* 4: which unmask messages opened a bonawitz-v1 sum (saround.h invariant 4). */
    "ALTER TABLE rounds ADD COLUMN unmasked_by TEXT NOT NULL DEFAULT '';",
    /* 5: bonawitz-v1 share phase: share messages from the participants, the keys message
     * signed once. The kind constraints change, so both tables are rebuilt. */
    "CREATE TABLE sa_messages_new ("
    "  round_id TEXT NOT NULL REFERENCES rounds(round_id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('advertise', 'share', 'consistency', 'unmask')),"
    "  org TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  message TEXT NOT NULL,"
    "  received TEXT NOT NULL,"
    "  PRIMARY KEY (round_id, kind, org));"
    "INSERT INTO sa_messages_new SELECT * FROM sa_messages;"
    "DROP TABLE sa_messages;"
    "ALTER TABLE sa_messages_new RENAME TO sa_messages;"
    "CREATE TABLE sa_outgoing_new ("
    "  round_id TEXT NOT NULL REFERENCES rounds(round_id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('keys', 'survivors', 'unmask-request')),"
    "  sha256 TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  made TEXT NOT NULL,"
    "  PRIMARY KEY (round_id, kind));"
    "INSERT INTO sa_outgoing_new SELECT * FROM sa_outgoing;"
    "DROP TABLE sa_outgoing;"
    "ALTER TABLE sa_outgoing_new RENAME TO sa_outgoing;",
    /* 6: round management (aggrounds.c): the deadline in force after extensions ('' : the
     * specification's), when the round was cancelled (NULL: not), and the signed extension and
     * cancellation documents. */
    "ALTER TABLE rounds ADD COLUMN deadline TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rounds ADD COLUMN cancelled TEXT;"
    "CREATE TABLE round_docs ("
    "  seq INTEGER PRIMARY KEY,"
    "  round_id TEXT NOT NULL REFERENCES rounds(round_id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('round-extend', 'round-cancel')),"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  doc TEXT NOT NULL,"
    "  made TEXT NOT NULL);",
};

int mp_rs_open(sqlite3 **db, const char *path, int create)
{
    return mp_store_open(db, path, MP_APP_AGGREGATOR, migrations,
                         (int)(sizeof migrations / sizeof *migrations), create);
}

/* ---- the event log ------------------------------------------------------------------------ */

static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void log_entry_hash(char out[MP_HASH_HEX_BYTES], const char *prev, long long seq,
                           const char *at, const char *event, const char *round_id,
                           const char *detail)
{
    size_t n = strlen(prev) + strlen(at) + strlen(event) + strlen(round_id) + strlen(detail) + 64;
    char *buf = malloc(n);
    if (buf == NULL) {
        out[0] = '\0';
        return;
    }
    int len = snprintf(buf, n, "%s\n%lld\n%s\n%s\n%s\n%s", prev, seq, at, event, round_id, detail);
    mp_hash_hex(out, buf, (size_t)len);
    free(buf);
}

int mp_rs_log_append(sqlite3 *db, const char *event, const char *round_id, const char *detail)
{
    sqlite3_stmt *st;
    char prev[MP_HASH_HEX_BYTES], hash[MP_HASH_HEX_BYTES], at[21];
    long long seq = 1;
    int64_t now;
    int rc;
    if (mp_time_now(&now) != 0)
        return -1;
    mp_time_format(at, now);
    strcpy(prev, zero_hash);
    if (mp_store_prepare(db, &st, "SELECT seq, entry_sha256 FROM log ORDER BY seq DESC LIMIT 1"))
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0) + 1;
        snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    log_entry_hash(hash, prev, seq, at, event, round_id, detail);
    if (hash[0] == '\0')
        return mp_error_system("out of memory");
    if (mp_store_prepare(db, &st, "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?)"))
        return -1;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, event, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "cannot append to the log");
}

int mp_rs_log_verify(sqlite3 *db, size_t *n)
{
    sqlite3_stmt *st;
    char prev[MP_HASH_HEX_BYTES], hash[MP_HASH_HEX_BYTES];
    long long expect = 1;
    int rc;
    strcpy(prev, zero_hash);
    *n = 0;
    if (mp_store_prepare(db, &st,
                         "SELECT seq, at, event, round_id, detail, prev_sha256, "
                         "entry_sha256 FROM log ORDER BY seq"))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long seq = sqlite3_column_int64(st, 0);
        const char *col[6];
        for (int i = 0; i < 6; i++)
            col[i] = (const char *)sqlite3_column_text(st, i + 1);
        log_entry_hash(hash, prev, seq, col[0], col[1], col[2], col[3]);
        if (seq != expect || strcmp(col[4], prev) != 0 || strcmp(col[5], hash) != 0) {
            sqlite3_finalize(st);
            return mp_error_set("event log broken at entry %lld: it was rewritten", seq);
        }
        strcpy(prev, hash);
        expect++;
        (*n)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "reading the log");
}

/* ---- the stored round, verified once ------------------------------------------------------- */

typedef struct round_cache {
    char round_id[65];
    mp_pubkey trusted;
    char *roster_text, *spec_text; /* the stored bytes the objects were verified from */
    size_t roster_len, spec_len;
    mp_roster *roster;
    mp_spec *spec;
    int64_t signed_deadline; /* the specification's own; spec->deadline is the one in force */
} round_cache;

/* One entry per thread: a program handles one round at a time, and so does one request. */
static _Thread_local round_cache cache;

void mp_rs_cache_clear(void)
{
    mp_spec_free(cache.spec);
    mp_roster_free(cache.roster);
    free(cache.roster_text);
    free(cache.spec_text);
    memset(&cache, 0, sizeof cache);
}

static int same(const char *cached, size_t clen, sqlite3_stmt *st, int col)
{
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    const void *text = sqlite3_column_text(st, col);
    return cached != NULL && text != NULL && len == clen && memcmp(cached, text, len) == 0;
}

static char *dup_col(sqlite3_stmt *st, int col, size_t *len)
{
    *len = (size_t)sqlite3_column_bytes(st, col);
    char *p = malloc(*len + 1);
    if (p != NULL) {
        memcpy(p, sqlite3_column_text(st, col), *len);
        p[*len] = '\0';
    }
    return p;
}

int mp_rs_round(sqlite3 *db, const char *round_id, const mp_pubkey *trusted,
                const mp_roster **roster, const mp_spec **spec)
{
    sqlite3_stmt *st;
    mp_envelope *renv = NULL, *senv = NULL;
    mp_roster *r = NULL;
    mp_spec *s = NULL;
    int rc = -1;
    *roster = NULL;
    *spec = NULL;
    if (mp_store_prepare(db, &st, "SELECT roster, spec, deadline FROM rounds WHERE round_id = ?") !=
        0)
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        mp_error_set("no round \"%.64s\" in this store (open it first with: round open)", round_id);
        goto out;
    }
    if (cache.spec != NULL && strcmp(cache.round_id, round_id) == 0 &&
        memcmp(&cache.trusted, trusted, sizeof *trusted) == 0 &&
        same(cache.roster_text, cache.roster_len, st, 0) &&
        same(cache.spec_text, cache.spec_len, st, 1)) {
        rc = 0;
        goto out;
    }
    mp_rs_cache_clear();
    if (mp_envelope_parse(&renv, (const char *)sqlite3_column_text(st, 0),
                          (size_t)sqlite3_column_bytes(st, 0), NULL) != 0 ||
        mp_roster_from_envelope(&r, renv, trusted) != 0)
        goto fail;
    renv = NULL;
    if (mp_envelope_parse(&senv, (const char *)sqlite3_column_text(st, 1),
                          (size_t)sqlite3_column_bytes(st, 1), "round") != 0 ||
        mp_spec_from_envelope(&s, senv, r) != 0)
        goto fail;
    senv = NULL;
    if ((cache.roster_text = dup_col(st, 0, &cache.roster_len)) == NULL ||
        (cache.spec_text = dup_col(st, 1, &cache.spec_len)) == NULL) {
        mp_error_system("out of memory");
        goto fail;
    }
    snprintf(cache.round_id, sizeof cache.round_id, "%s", round_id);
    cache.trusted = *trusted;
    cache.roster = r;
    cache.spec = s;
    cache.signed_deadline = s->deadline;
    r = NULL;
    s = NULL;
    rc = 0;
    goto out;
fail:
    mp_error_prefix("stored round %.64s: ", round_id);
    mp_rs_cache_clear();
out:
    mp_envelope_free(renv);
    mp_envelope_free(senv);
    mp_spec_free(s);
    mp_roster_free(r);
    if (rc == 0) {
        /* An extension (aggrounds.c) replaces the deadline; it is read on every call, since
         * the stored round's bytes (and so the cache) stay the same when one is recorded. */
        const unsigned char *dl = sqlite3_column_text(st, 2);
        cache.spec->deadline = cache.signed_deadline;
        if (dl != NULL && dl[0] != '\0' &&
            mp_time_parse((const char *)dl, &cache.spec->deadline) != 0) {
            mp_error_prefix("stored round %.64s: extended deadline: ", round_id);
            mp_rs_cache_clear();
            rc = -1;
        } else {
            *roster = cache.roster;
            *spec = cache.spec;
        }
    }
    sqlite3_finalize(st);
    return rc;
}
