/*
 * test_store.c - SQLite stores (protocol/core/store.c) and the contributor ledger
 * (protocol/round/ledger.c).
 */
#include "testutil.h"
#include "testdb.h"

#include "ledger.h"
#include "store.h"

struct fx {
    char *dir, *path;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    f->path = tu_path(f->dir, "store.db");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Open the file directly with SQLite, outside the module under test. */
static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static const char *const mig2[] = {
    "CREATE TABLE a (x INTEGER PRIMARY KEY, y TEXT NOT NULL)",
    "CREATE TABLE b (x INTEGER REFERENCES a(x)); INSERT INTO a VALUES (1, 'one')",
};

static void test_open_creates_wal_and_version(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 2, 1), 0);
    char *mode = tdb_text(db, "PRAGMA journal_mode", 0);
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 2);
    assert_int_equal(tdb_int(db, "PRAGMA application_id"), MP_APP_AGGREGATOR);
    assert_int_equal(tdb_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(tdb_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM a"), 1);
    /* Foreign keys are enforced. */
    assert_int_equal(mp_store_exec(db, "INSERT INTO b VALUES (2)"), -1);
    assert_non_null(strstr(mp_error_get(), "FOREIGN KEY"));
    assert_int_equal(mp_store_exec(db, "INSERT INTO b VALUES (1)"), 0);
    mp_store_close(db);

    /* As seen by plain SQLite. */
    db = raw_open(f->path);
    mode = tdb_text(db, "PRAGMA journal_mode", 0);
    assert_string_equal(mode, "wal"); /* persistent */
    free(mode);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 2);
    sqlite3_close(db);

    /* Reopening does not migrate again (the INSERT in migration 2 would duplicate a key). */
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 2, 0), 0);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM a"), 1);
    mp_store_close(db);

    /* Without create, a missing store is an error that says so. */
    char *none = tu_path(f->dir, "none.db");
    assert_int_equal(mp_store_open(&db, none, MP_APP_AGGREGATOR, mig2, 2, 0), -1);
    assert_non_null(strstr(mp_error_get(), "create it first"));
    assert_int_equal(access(none, F_OK), -1);
    free(none);
}

static void test_upgrade_one_step(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 1, 1), 0);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 1);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);
    mp_store_close(db);
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 2, 0), 0);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 2);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 1);
    mp_store_close(db);
}

static void test_refuse_other_application(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_LEDGER, mig2, 2, 1), 0);
    mp_store_close(db);
    db = NULL;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 2, 0), -1);
    assert_null(db);
    assert_non_null(strstr(mp_error_get(), "not a store of this program"));
    /* A ledger opened as an aggregator store, and the other way round. */
    char *lpath = tu_path(f->dir, "ledger.db");
    assert_int_equal(mp_ledger_open(&db, lpath, 1), 0);
    mp_store_close(db);
    assert_int_equal(mp_store_open(&db, lpath, MP_APP_AGGREGATOR, mig2, 2, 0), -1);
    char *apath = tu_path(f->dir, "agg.db");
    assert_int_equal(mp_store_open(&db, apath, MP_APP_AGGREGATOR, mig2, 1, 1), 0);
    mp_store_close(db);
    assert_int_equal(mp_ledger_open(&db, apath, 0), -1);
    /* Nothing was changed by the refusals. */
    db = raw_open(apath);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 1);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'submissions'"),
                     0);
    sqlite3_close(db);
    free(lpath);
    free(apath);
}

static void test_refuse_newer_schema(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 2, 1), 0);
    mp_store_close(db);
    db = NULL;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 1, 0), -1);
    assert_null(db);
    assert_non_null(strstr(mp_error_get(), "newer"));
    /* A version set by hand far ahead. */
    db = raw_open(f->path);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 40", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    db = NULL;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 2, 0), -1);
    assert_null(db);
    db = raw_open(f->path);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 40);
    sqlite3_close(db);
}

static void test_failing_migration(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    static const char *const bad[] = {
        "CREATE TABLE a (x INTEGER PRIMARY KEY, y TEXT NOT NULL)",
        /* creates a table and inserts a row, then fails */
        "CREATE TABLE c (z); INSERT INTO a VALUES (5, 'five'); INSERT INTO nosuchtable VALUES (1)",
    };
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, bad, 1, 1), 0);
    assert_int_equal(mp_store_exec(db, "INSERT INTO a VALUES (1, 'one')"), 0);
    mp_store_close(db);
    db = NULL;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, bad, 2, 0), -1);
    assert_null(db);
    assert_non_null(strstr(mp_error_get(), "migration to schema version 2"));
    assert_non_null(strstr(mp_error_get(), "nosuchtable"));
    /* Version 1 exactly as before: no table c, no row 5. */
    db = raw_open(f->path);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 1);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'c'"), 0);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM a"), 1);
    sqlite3_close(db);

    /* A fresh store whose first migration fails stays at version 0. */
    char *fresh = tu_path(f->dir, "fresh.db");
    static const char *const bad1[] = {"CREATE TABLE t (x); SELECT no_such_function()"};
    assert_int_equal(mp_store_open(&db, fresh, MP_APP_AGGREGATOR, bad1, 1, 1), -1);
    db = raw_open(fresh);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 0);
    assert_int_equal(tdb_int(db, "PRAGMA application_id"), 0);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 't'"), 0);
    sqlite3_close(db);
    free(fresh);
}

static void test_transactions(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    assert_int_equal(mp_store_open(&db, f->path, MP_APP_AGGREGATOR, mig2, 1, 1), 0);
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_store_exec(db, "INSERT INTO a VALUES (1, 'one')"), 0);
    mp_store_rollback(db);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM a"), 0);
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_store_exec(db, "INSERT INTO a VALUES (1, 'one')"), 0);
    assert_int_equal(mp_store_commit(db), 0);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM a"), 1);
    mp_store_rollback(db); /* harmless outside a transaction */
    assert_int_equal(mp_store_exec(db, "SELEKT 1"), -1);
    assert_non_null(strstr(mp_error_get(), "store.db"));
    sqlite3_stmt *st = NULL;
    assert_int_equal(mp_store_prepare(db, &st, "SELECT nope FROM a"), -1);
    assert_non_null(strstr(mp_error_get(), "nope"));
    assert_int_equal(mp_store_prepare(db, &st, "SELECT y FROM a"), 0);
    sqlite3_finalize(st);
    /* A second connection waits for a writer instead of failing at once (busy timeout), and
     * BEGIN IMMEDIATE takes the write lock up front. */
    sqlite3 *db2;
    assert_int_equal(mp_store_open(&db2, f->path, MP_APP_AGGREGATOR, mig2, 1, 0), 0);
    assert_int_equal(mp_store_begin(db), 0);
    sqlite3_busy_timeout(db2, 50); /* keep the test short */
    assert_int_equal(mp_store_begin(db2), -1);
    mp_store_rollback(db);
    assert_int_equal(mp_store_begin(db2), 0);
    assert_int_equal(mp_store_commit(db2), 0);
    mp_store_close(db2);
    mp_store_close(db);
}

/* ---- ledger ------------------------------------------------------------------------------ */

static mp_ledger_entry entry(const char *round, const char *created, char fill)
{
    mp_ledger_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.round_id, sizeof e.round_id, "%s", round);
    memset(e.round_sha256, fill, 64);
    snprintf(e.org, sizeof e.org, "utrecht");
    memset(e.masked_sha256, (char)(fill + 1), 64);
    memset(e.submission_sha256, (char)(fill + 2), 64);
    snprintf(e.created, sizeof e.created, "%s", created);
    return e;
}

static void same_entry(const mp_ledger_entry *a, const mp_ledger_entry *b)
{
    assert_string_equal(a->round_id, b->round_id);
    assert_string_equal(a->round_sha256, b->round_sha256);
    assert_string_equal(a->org, b->org);
    assert_string_equal(a->masked_sha256, b->masked_sha256);
    assert_string_equal(a->submission_sha256, b->submission_sha256);
    assert_string_equal(a->created, b->created);
}

struct listing {
    int n;
    mp_ledger_entry seen[8];
};

static void collect(const mp_ledger_entry *e, void *arg)
{
    struct listing *l = arg;
    assert_true(l->n < 8);
    l->seen[l->n++] = *e;
}

static void test_ledger(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    mp_ledger_entry got;
    char *text;
    size_t len;
    /* Without create, a missing ledger is refused and not created. */
    db = NULL;
    assert_int_equal(mp_ledger_open(&db, f->path, 0), -1);
    assert_null(db);
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(mp_ledger_open(&db, f->path, 1), 0);
    assert_int_equal(tdb_int(db, "PRAGMA application_id"), MP_APP_LEDGER);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 8);
    /* The owner: none yet; the first one recorded stays. */
    char owner[41];
    assert_int_equal(mp_ledger_owner(db, owner), 0);
    assert_int_equal(mp_ledger_owner_set(db, "org-a"), 0);
    assert_int_equal(mp_ledger_owner_set(db, "org-b"), 0);
    assert_int_equal(mp_ledger_owner(db, owner), 1);
    assert_string_equal(owner, "org-a");
    assert_int_equal(mp_ledger_find(db, "r1", &got), 0);
    assert_int_equal(mp_ledger_submission(db, "r1", &text, &len), -1);

    mp_ledger_entry e1 = entry("r1", "2026-01-10T10:00:00Z", 'a');
    mp_ledger_entry e2 = entry("r0", "2026-01-11T10:00:00Z", 'd');
    static const char sub1[] = "{\"body\":{},\"x\":\"first\"}";
    static const char sub2[] = "{\"body\":{},\"x\":\"second\"}";
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_ledger_insert(db, &e1, sub1, sizeof sub1 - 1), 0);
    assert_int_equal(mp_store_commit(db), 0);
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_ledger_insert(db, &e2, sub2, sizeof sub2 - 1), 0);
    assert_int_equal(mp_store_commit(db), 0);

    memset(&got, 0, sizeof got);
    assert_int_equal(mp_ledger_find(db, "r1", &got), 1);
    same_entry(&got, &e1);
    assert_int_equal(mp_ledger_submission(db, "r1", &text, &len), 0);
    assert_int_equal(len, sizeof sub1 - 1);
    assert_memory_equal(text, sub1, len);
    assert_int_equal(text[len], '\0');
    free(text);

    /* Listed oldest first (r1 was created before r0). */
    struct listing l = {0};
    assert_int_equal(mp_ledger_list(db, collect, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.seen[0].round_id, "r1");
    assert_string_equal(l.seen[1].round_id, "r0");
    same_entry(&l.seen[0], &e1);
    same_entry(&l.seen[1], &e2);

    /* A second entry for a round is refused, and the store is unchanged. */
    mp_ledger_entry dup = entry("r1", "2026-01-12T10:00:00Z", 'g');
    static const char sub3[] = "{\"body\":{},\"x\":\"fresh noise\"}";
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_ledger_insert(db, &dup, sub3, sizeof sub3 - 1), -1);
    assert_non_null(strstr(mp_error_get(), "ledger"));
    mp_store_rollback(db);
    /* The same submission hash under another round id is refused too (UNIQUE). */
    mp_ledger_entry same_sub = entry("r9", "2026-01-12T10:00:00Z", 'a');
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_ledger_insert(db, &same_sub, sub3, sizeof sub3 - 1), -1);
    mp_store_rollback(db);

    memset(&got, 0, sizeof got);
    assert_int_equal(mp_ledger_find(db, "r1", &got), 1);
    same_entry(&got, &e1);
    assert_int_equal(mp_ledger_find(db, "r9", &got), 0);
    assert_int_equal(mp_ledger_submission(db, "r1", &text, &len), 0);
    assert_memory_equal(text, sub1, sizeof sub1 - 1);
    free(text);
    memset(&l, 0, sizeof l);
    assert_int_equal(mp_ledger_list(db, collect, &l), 0);
    assert_int_equal(l.n, 2);
    mp_store_close(db);

    /* Everything is still there after reopening. */
    assert_int_equal(mp_ledger_open(&db, f->path, 0), 0);
    assert_int_equal(mp_ledger_find(db, "r0", &got), 1);
    same_entry(&got, &e2);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM submissions"), 2);
    mp_store_close(db);
}

/* The organisation's own privacy accounting: spend per series from its submissions, and a
 * cap it sets itself. */
static void test_ledger_budget(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    char cap[32];
    double spent;
    assert_int_equal(mp_ledger_open(&db, f->path, 1), 0);
    assert_int_equal(mp_ledger_spent(db, "mu", &spent), 0);
    assert_true(spent == 0);
    assert_int_equal(mp_ledger_budget_get(db, "mu", cap), 0);
    assert_int_equal(mp_ledger_budget_set(db, "mu", "1.5"), 0);
    assert_int_equal(mp_ledger_budget_get(db, "mu", cap), 1);
    assert_string_equal(cap, "1.5");
    assert_int_equal(mp_ledger_budget_set(db, "mu", "2"), 0); /* replaced, not added */
    assert_int_equal(mp_ledger_budget_get(db, "mu", cap), 1);
    assert_string_equal(cap, "2");
    assert_int_equal(mp_ledger_budget_set(db, "mu", "nonsense"), -1);
    assert_int_equal(mp_ledger_budget_get(db, "mu", cap), 1);
    assert_string_equal(cap, "2");

    static const struct {
        const char *round, *series, *rho;
    } rows[] = {{"r1", "mu", "0.5"}, {"r2", "mu", "0.25"}, {"r3", "gv", "1"}};
    for (size_t i = 0; i < 3; i++) {
        mp_ledger_entry e = entry(rows[i].round, "2026-01-10T10:00:00Z", (char)('a' + i));
        snprintf(e.series, sizeof e.series, "%s", rows[i].series);
        snprintf(e.rho, sizeof e.rho, "%s", rows[i].rho);
        assert_int_equal(mp_ledger_insert(db, &e, "{}", 2), 0);
    }
    assert_int_equal(mp_ledger_spent(db, "mu", &spent), 0);
    assert_true(spent == 0.75);
    assert_int_equal(mp_ledger_spent(db, "gv", &spent), 0);
    assert_true(spent == 1);
    mp_store_close(db);
}

/* A schema-3 ledger with a bonawitz-v1 round in progress (secrets derived, none stored) and a
 * finished one migrates to schema 4: the rows and their messages stay, they hold no secrets,
 * and the new phases (shared, abandoned) can be recorded. */
static void test_ledger_migrates_v3(void **state)
{
    struct fx *f = *state;
    sqlite3 *raw, *db;
    mp_ledger_sa sa;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw,
                     "PRAGMA application_id = 1297108017;"
                     "CREATE TABLE submissions (round_id TEXT PRIMARY KEY, round_sha256 TEXT NOT "
                     "NULL, org TEXT NOT NULL, masked_sha256 TEXT NOT NULL, submission_sha256 TEXT "
                     "NOT NULL UNIQUE, submission TEXT NOT NULL, created TEXT NOT NULL, series "
                     "TEXT NOT NULL DEFAULT '', rho TEXT NOT NULL DEFAULT '0');"
                     "CREATE TABLE budgets (series TEXT PRIMARY KEY, rho TEXT NOT NULL, set_at "
                     "TEXT NOT NULL);"
                     "CREATE TABLE sa_rounds (round_id TEXT PRIMARY KEY, round_sha256 TEXT NOT "
                     "NULL, org TEXT NOT NULL, phase TEXT NOT NULL CHECK (phase IN ('advertised', "
                     "'submitted', 'confirmed', 'unmasked')), advertise TEXT NOT NULL, keys TEXT, "
                     "advertised_sha256 TEXT, survivors TEXT, survivors_sha256 TEXT, consistency "
                     "TEXT, unmask TEXT, updated TEXT NOT NULL);"
                     "INSERT INTO sa_rounds VALUES ('r1', 'aa', 'utrecht', 'submitted', "
                     "'{\"adv\":1}', '{\"keys\":1}', 'bb', NULL, NULL, NULL, NULL, "
                     "'2026-01-10T10:00:00Z');"
                     "INSERT INTO sa_rounds VALUES ('r0', 'cc', 'utrecht', 'unmasked', "
                     "'{\"adv\":0}', NULL, NULL, NULL, NULL, NULL, '{\"u\":0}', "
                     "'2026-01-09T10:00:00Z');"
                     "PRAGMA user_version = 3;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(MP_APP_LEDGER, 1297108017);
    sqlite3_close(raw);
    if (mp_ledger_open(&db, f->path, 0) != 0)
        fail_msg("%s", mp_error_get());
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 8);
    assert_int_equal(mp_ledger_sa_get(db, "r1", &sa), 1);
    assert_int_equal(sa.phase, MP_MEMBER_SUBMITTED);
    assert_string_equal(sa.advertise, "{\"adv\":1}");
    assert_string_equal(sa.keys, "{\"keys\":1}");
    assert_string_equal(sa.advertised_sha256, "bb");
    assert_int_equal(sa.has_secrets, 0);
    assert_null(sa.share);
    /* The new phases fit the new constraint. */
    sa.phase = MP_MEMBER_ABANDONED;
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_ledger_sa_put(db, &sa), 0);
    assert_int_equal(mp_store_commit(db), 0);
    mp_ledger_sa_free(&sa);
    assert_int_equal(mp_ledger_sa_get(db, "r1", &sa), 1);
    assert_int_equal(sa.phase, MP_MEMBER_ABANDONED);
    mp_ledger_sa_free(&sa);
    /* The phase names, read and written in one place (ledger.h). */
    static const char *const names[] = {"advertised", "shared",   "submitted",
                                        "confirmed",  "unmasked", "abandoned"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(mp_member_phase_parse(names[i]), i);
        assert_string_equal(mp_member_phase_name((enum mp_member_phase)i), names[i]);
    }
    assert_int_equal(mp_member_phase_parse("advertise"), MP_MEMBER_UNKNOWN);
    assert_int_equal(mp_member_phase_parse(NULL), MP_MEMBER_UNKNOWN);
    assert_int_equal(mp_ledger_sa_get(db, "r0", &sa), 1);
    assert_string_equal(sa.unmask, "{\"u\":0}");
    mp_ledger_sa_free(&sa);
    assert_int_equal(tdb_int(db, "PRAGMA secure_delete"), 1);
    mp_store_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_wal_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_one_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_other_application, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_migrates_v3, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
