/*
 * store.c - SQLite setup, migrations and transactions (invariants in store.h).
 */
#include "store.h"

#include "privacy.h"

#include <stdio.h>
#include <string.h>

/* A failed statement is a system failure (I/O, full disk, busy, out of memory, a broken file)
 * unless SQLite refused it for a constraint: that is the input (a duplicate) being refused. */
int mp_store_error(sqlite3 *db, const char *what)
{
    if ((sqlite3_errcode(db) & 0xff) == SQLITE_CONSTRAINT)
        return mp_error_set("%s: %s: %s", sqlite3_db_filename(db, "main"), what,
                            sqlite3_errmsg(db));
    return mp_error_system("%s: %s: %s", sqlite3_db_filename(db, "main"), what, sqlite3_errmsg(db));
}

int mp_store_exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return mp_store_error(db, "statement failed");
    return 0;
}

int mp_store_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return mp_store_error(db, "cannot prepare statement");
    return 0;
}

int mp_store_text(sqlite3 *db, const char *sql, const char *key, char *out, size_t cap)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st, sql) != 0)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(out, cap, "%s", v != NULL ? (const char *)v : "");
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "lookup failed");
}

int mp_store_sum_rho(sqlite3 *db, const char *sql, const char *a, const char *b, double *sum)
{
    sqlite3_stmt *st;
    int rc;
    *sum = 0;
    if (mp_store_prepare(db, &st, sql) != 0)
        return -1;
    if (a != NULL)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b != NULL)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double rho;
        if (mp_privacy_parse_rho((const char *)sqlite3_column_text(st, 0), &rho) != 0) {
            sqlite3_finalize(st);
            return mp_error_prefix("%s: stored budget: ", sqlite3_db_filename(db, "main"));
        }
        *sum += rho;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "reading privacy budgets");
}

int mp_store_begin(sqlite3 *db)
{
    return mp_store_exec(db, "BEGIN IMMEDIATE");
}

int mp_store_commit(sqlite3 *db)
{
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        mp_store_error(db, "commit failed");
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

void mp_store_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st, sql) != 0)
        return -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return mp_store_error(db, "cannot read pragma");
    return 0;
}

int mp_store_open(sqlite3 **out, const char *path, int app_id, const char *const *migrations,
                  int nmigrations, int create)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOFOLLOW;
    int version, have_app;
    char sql[128];

    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        mp_error_system("%s: cannot open store: %s%s", path, db ? sqlite3_errmsg(db) : "no memory",
                        create ? "" : " (create it first)");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_extended_result_codes(db, 1);
    if (mp_store_exec(db, "PRAGMA journal_mode=WAL") != 0 ||
        mp_store_exec(db, "PRAGMA synchronous=FULL") != 0 ||
        mp_store_exec(db, "PRAGMA foreign_keys=ON") != 0 ||
        pragma_int(db, "PRAGMA application_id", &have_app) != 0 ||
        pragma_int(db, "PRAGMA user_version", &version) != 0)
        goto fail;
    if (have_app != 0 && have_app != app_id) {
        mp_error_set("%s: is not a store of this program (application id %08x)", path,
                     (unsigned)have_app);
        goto fail;
    }
    if (version > nmigrations) {
        mp_error_set("%s: schema version %d is newer than this program knows (%d); upgrade "
                     "mijlpaal",
                     path, version, nmigrations);
        goto fail;
    }
    for (int v = version; v < nmigrations; v++) {
        if (mp_store_begin(db) != 0)
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d", app_id,
                 v + 1);
        if (mp_store_exec(db, migrations[v]) != 0 || mp_store_exec(db, sql) != 0) {
            mp_error_prefix("migration to schema version %d: ", v + 1);
            mp_store_rollback(db);
            goto fail;
        }
        if (mp_store_commit(db) != 0)
            goto fail;
    }
    *out = db;
    return 0;
fail:
    sqlite3_close(db);
    return -1;
}

void mp_store_close(sqlite3 *db)
{
    sqlite3_close(db);
}
