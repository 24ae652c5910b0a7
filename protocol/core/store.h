/*
 * store.h - what every mijlpaal SQLite store shares.
 *
 * Invariants:
 *   1. WAL journal, synchronous=FULL, foreign keys on, a busy timeout: a crash at any point
 *      leaves the last committed state, and a second process waits instead of failing.
 *   2. PRAGMA application_id tells the stores apart (a ledger opened as an aggregator store is
 *      refused), PRAGMA user_version is the schema version.
 *   3. Migrations are an append-only list of SQL scripts; migration i takes the schema from
 *      version i to i+1 inside one transaction. A store newer than the program is refused.
 *   4. Every state change a caller makes is one transaction (mp_store_begin ... commit), so a
 *      refused input leaves the store exactly as it was.
 */
#ifndef MP_STORE_H
#define MP_STORE_H

#include <sqlite3.h>
#include <stddef.h>

#include "error.h"

#define MP_APP_LEDGER 0x4d504c31     /* "MPL1": contributor ledger */
#define MP_APP_AGGREGATOR 0x4d504131 /* "MPA1": aggregator store */

/* Open (creating when `create`) and migrate a store. */
MP_WUR int mp_store_open(sqlite3 **db, const char *path, int app_id, const char *const *migrations,
                         int nmigrations, int create);
void mp_store_close(sqlite3 *db);

MP_WUR int mp_store_begin(sqlite3 *db); /* BEGIN IMMEDIATE */
MP_WUR int mp_store_commit(sqlite3 *db);
void mp_store_rollback(sqlite3 *db);

/* Run one SQL statement without results; error names the database. */
MP_WUR int mp_store_exec(sqlite3 *db, const char *sql);

/* Prepare a statement; on failure the reason names the SQL error. */
MP_WUR int mp_store_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql);

/* The first column of the first row of `sql` with one text parameter bound to `key`, copied
 * into out (cap bytes, NUL-terminated): 1 when a row was found, 0 when none, -1 on error. */
MP_WUR int mp_store_text(sqlite3 *db, const char *sql, const char *key, char *out, size_t cap);

/* Sum of the privacy budgets (rho, decimal text as privacy.h parses it) in the first column
 * of `sql`, with up to two text parameters bound (NULL: not bound); -1 on a malformed budget. */
MP_WUR int mp_store_sum_rho(sqlite3 *db, const char *sql, const char *a, const char *b,
                            double *sum);

/* Record the SQLite error of db as the library's error, with context; returns -1. */
int mp_store_error(sqlite3 *db, const char *what);

#endif
