/*
 * testdb.h - reading SQLite stores directly in tests, outside the module under test.
 * Include after testutil.h.
 */
#ifndef MP_TESTDB_H
#define MP_TESTDB_H

#include <sqlite3.h>

/* One integer from a query: the first column of its first row. */
static inline long long tdb_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A copy (free it) of the text of the first column of a query's first row. With `checked` set,
 * also asserts that the column is not NULL and that the copy was made. */
static inline char *tdb_text(sqlite3 *db, const char *sql, int checked)
{
    sqlite3_stmt *st;
    char *v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    if (checked)
        assert_non_null(sqlite3_column_text(st, 0));
    v = strdup((const char *)sqlite3_column_text(st, 0));
    if (checked)
        assert_non_null(v);
    sqlite3_finalize(st);
    return v;
}

#endif
