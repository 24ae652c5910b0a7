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

/* A textual dump (free it) of a store: schema, versions, and every row of every table in rowid
 * order, each value with its type and length, so that "the store is unchanged" can be
 * asserted byte for byte. */
static inline char *tdb_dump(sqlite3 *db)
{
    char *buf = NULL, **tables = NULL;
    size_t len = 0, ntables = 0;
    sqlite3_stmt *st;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "ORDER BY name",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        tables = realloc(tables, (ntables + 1) * sizeof *tables);
        assert_non_null(tables);
        tables[ntables] = strdup((const char *)sqlite3_column_text(st, 0));
        assert_non_null(tables[ntables++]);
    }
    sqlite3_finalize(st);
    for (size_t q = 0; q < ntables + 3; q++) {
        char sql[256];
        int rc;
        if (q == 0)
            snprintf(sql, sizeof sql,
                     "SELECT type, name, tbl_name, sql FROM sqlite_master "
                     "ORDER BY type, name");
        else if (q == 1)
            snprintf(sql, sizeof sql, "PRAGMA user_version");
        else if (q == 2)
            snprintf(sql, sizeof sql, "PRAGMA application_id");
        else
            snprintf(sql, sizeof sql, "SELECT rowid, * FROM \"%s\" ORDER BY rowid", tables[q - 3]);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        fprintf(f, "## %s\n", sql);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                int type = sqlite3_column_type(st, c);
                const unsigned char *t = sqlite3_column_text(st, c);
                int n = sqlite3_column_bytes(st, c);
                fprintf(f, "%d:%d:", type, n);
                if (t != NULL)
                    fwrite(t, 1, (size_t)n, f);
                fputc('|', f);
            }
            fputc('\n', f);
        }
        assert_int_equal(rc, SQLITE_DONE);
        sqlite3_finalize(st);
    }
    for (size_t q = 0; q < ntables; q++)
        free(tables[q]);
    free(tables);
    assert_int_equal(fclose(f), 0);
    return buf;
}

#endif
