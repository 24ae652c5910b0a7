/*
 * test_rounds.c - round management (protocol/round/roundctl.c, aggrounds.c): the extension and
 * cancellation documents and their checks, the store's extend / cancel / list / default round,
 * the budget of cancelled rounds, and schema migration 6 over an existing store.
 */
#include "testutil.h"
#include "testdb.h"
#include "testworld.h"

#include "aggregate.h"
#include "aggrounds.h"
#include "canon.h"
#include "date.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "ledger.h"
#include "mask.h"
#include "roster.h"
#include "roundctl.h"
#include "spec.h"
#include "store.h"
#include "submission.h"

#define NCELLS 1

static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"T\",\"dimensions\":{},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"]}]}";

typedef struct world {
    char *dir, *roster_path, *round_path, *round2_path, *db_path;
    mp_keypair *coord, *orgs[NORGS];
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
    mp_spec *spec, *spec2;
    sqlite3 *db;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-01-15T09:00:00Z", 1), 0);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    w->roster_path = tw_roster(&w->roster, w->dir, w->coord, w->pubs);
    assert_int_equal(mp_canon_parse(&w->catalogue, catalogue_json, sizeof catalogue_json - 1), 0);
    mp_spec_params p = tw_round_params("r1", "10");
    w->round_path =
        tw_write_round(w->dir, w->coord, w->roster, w->catalogue, &p, "r1.json", &w->spec);
    p = tw_round_params("r2", "10");
    p.period_start = "2026-01-01";
    p.period_end = "2026-06-30";
    p.series_spent = 1; /* r1 is in the store before it */
    w->round2_path =
        tw_write_round(w->dir, w->coord, w->roster, w->catalogue, &p, "r2.json", &w->spec2);
    w->db_path = tu_path(w->dir, "aggregator.db");
    if (mp_agg_open(&w->db, w->db_path, 1) != 0)
        fail_msg("open: %s", mp_error_get());
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_store_close(w->db);
    mp_spec_free(w->spec);
    mp_spec_free(w->spec2);
    mp_roster_free(w->roster);
    tw_keys_free(w->coord, w->orgs);
    cJSON_Delete(w->catalogue);
    free(w->roster_path);
    free(w->round_path);
    free(w->round2_path);
    free(w->db_path);
    tu_rmdir(w->dir);
    free(w);
    unsetenv("MIJLPAAL_NOW");
    return 0;
}

static void create(world *w, const char *round_path)
{
    if (mp_agg_round_create(w->db, w->roster_path, round_path, &w->coord->pub) != 0)
        fail_msg("round create: %s", mp_error_get());
}

static mp_envelope *sign_parse(const char *type, const cJSON *body, const mp_keypair *kp)
{
    char *text;
    size_t len;
    mp_envelope *env;
    assert_int_equal(mp_envelope_sign(&text, &len, type, body, kp), 0);
    assert_int_equal(mp_envelope_parse(&env, text, len, type), 0);
    free(text);
    return env;
}

static int64_t t_of(const char *s)
{
    int64_t t;
    assert_int_equal(mp_time_parse(s, &t), 0);
    return t;
}

static void expect_error(int rc, const char *why)
{
    assert_int_equal(rc, -1);
    if (strstr(mp_error_get(), why) == NULL)
        fail_msg("reason \"%s\" does not mention \"%s\"", mp_error_get(), why);
}

/* ---- documents ---------------------------------------------------------------------------- */

static void test_extend_document(void **state)
{
    world *w = *state;
    cJSON *body;
    int64_t prev, dl, later = t_of("2026-03-01T00:00:00Z"), now = t_of("2026-01-15T09:00:00Z");
    expect_error(mp_roundctl_extend_body(&body, w->spec, w->spec->deadline, w->spec->deadline, now),
                 "only moves later");
    assert_int_equal(mp_roundctl_extend_body(&body, w->spec, w->spec->deadline, later, now), 0);
    mp_envelope *env = sign_parse(MP_ROUNDCTL_EXTEND_TYPE, body, w->coord);
    assert_int_equal(mp_roundctl_extend_check(env, w->spec, &w->coord->pub, &prev, &dl), 0);
    assert_true(dl == later && prev == w->spec->deadline);
    /* Signed by anyone else, or for another round: refused. */
    mp_envelope *forged = sign_parse(MP_ROUNDCTL_EXTEND_TYPE, body, w->orgs[0]);
    expect_error(mp_roundctl_extend_check(forged, w->spec, &w->coord->pub, &prev, &dl),
                 "trusted coordinator key");
    expect_error(mp_roundctl_extend_check(env, w->spec2, &w->coord->pub, &prev, &dl),
                 "not for round r2");
    /* A body that moves the deadline earlier, signed by the coordinator, is still refused. */
    cJSON_ReplaceItemInObjectCaseSensitive(body, "deadline",
                                           cJSON_CreateString("2026-01-20T00:00:00Z"));
    mp_envelope *earlier = sign_parse(MP_ROUNDCTL_EXTEND_TYPE, body, w->coord);
    expect_error(mp_roundctl_extend_check(earlier, w->spec, &w->coord->pub, &prev, &dl),
                 "only moves later");
    /* An unknown member or another version is refused, not half-understood. */
    cJSON_ReplaceItemInObjectCaseSensitive(body, "deadline",
                                           cJSON_CreateString("2026-03-01T00:00:00Z"));
    cJSON_AddStringToObject(body, "extra", "x");
    mp_envelope *extra = sign_parse(MP_ROUNDCTL_EXTEND_TYPE, body, w->coord);
    assert_int_equal(mp_roundctl_extend_check(extra, w->spec, &w->coord->pub, &prev, &dl), -1);
    cJSON_DeleteItemFromObjectCaseSensitive(body, "extra");
    cJSON_ReplaceItemInObjectCaseSensitive(body, "version", cJSON_CreateNumber(2));
    mp_envelope *v2 = sign_parse(MP_ROUNDCTL_EXTEND_TYPE, body, w->coord);
    expect_error(mp_roundctl_extend_check(v2, w->spec, &w->coord->pub, &prev, &dl), "version 2");
    mp_envelope_free(env);
    mp_envelope_free(forged);
    mp_envelope_free(earlier);
    mp_envelope_free(extra);
    mp_envelope_free(v2);
    cJSON_Delete(body);
}

static void test_cancel_document(void **state)
{
    world *w = *state;
    cJSON *body;
    mp_roundctl_cancel c;
    int listed;
    int64_t now = t_of("2026-01-15T09:00:00Z");
    const char *orgs[] = {"fermwerk", "uwv"};
    const char *hashes[] = {"aa", "bb"};
    expect_error(mp_roundctl_reason_check(""), "needs a reason");
    expect_error(mp_roundctl_reason_check("two\nlines"), "control character");
    char longr[260];
    memset(longr, 'x', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    expect_error(mp_roundctl_reason_check(longr), "longer than");
    assert_int_equal(mp_roundctl_reason_check("verkeerde catalogus — opnieuw"), 0);
    expect_error(mp_roundctl_cancel_body(&body, w->spec, "", orgs, hashes, 2, now), "reason");
    assert_int_equal(mp_roundctl_cancel_body(&body, w->spec, "re-run", orgs, hashes, 2, now), 0);
    mp_envelope *env = sign_parse(MP_ROUNDCTL_CANCEL_TYPE, body, w->coord);
    assert_int_equal(mp_roundctl_cancel_check(env, w->spec, &w->coord->pub, "uwv", &c, &listed), 0);
    assert_int_equal(listed, 1);
    assert_int_equal(c.nsubmissions, 2);
    assert_string_equal(c.reason, "re-run");
    assert_string_equal(c.cancelled_at, "2026-01-15T09:00:00Z");
    assert_int_equal(mp_roundctl_cancel_check(env, w->spec, &w->coord->pub, "utrecht", &c, &listed),
                     0);
    assert_int_equal(listed, 0);
    mp_envelope *forged = sign_parse(MP_ROUNDCTL_CANCEL_TYPE, body, w->orgs[5]);
    expect_error(mp_roundctl_cancel_check(forged, w->spec, &w->coord->pub, NULL, &c, NULL),
                 "trusted coordinator key");
    expect_error(mp_roundctl_cancel_check(env, w->spec2, &w->coord->pub, NULL, &c, NULL),
                 "not for round r2");
    /* An extension is not a cancellation, whatever its signature. */
    mp_envelope *wrong = sign_parse(MP_ROUNDCTL_EXTEND_TYPE, body, w->coord);
    expect_error(mp_roundctl_cancel_check(wrong, w->spec, &w->coord->pub, NULL, &c, NULL),
                 "not a \"round-cancel\"");
    mp_envelope_free(env);
    mp_envelope_free(forged);
    mp_envelope_free(wrong);
    cJSON_Delete(body);
}

/* ---- the store ---------------------------------------------------------------------------- */

static void test_extend_in_store(void **state)
{
    world *w = *state;
    char *doc, *before;
    size_t len;
    mp_roster *r;
    mp_spec *s;
    create(w, w->round_path);
    before = tdb_dump(w->db);
    expect_error(
        mp_agg_round_extend(w->db, "r1", w->coord, t_of("2026-01-20T00:00:00Z"), &doc, &len),
        "only moves later");
    expect_error(
        mp_agg_round_extend(w->db, "r1", w->coord, t_of("2026-01-10T00:00:00Z"), &doc, &len),
        "already passed");
    expect_error(
        mp_agg_round_extend(w->db, "nope", w->coord, t_of("2026-03-01T00:00:00Z"), &doc, &len),
        "no round");
    char *after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);
    free(before);
    assert_int_equal(
        mp_agg_round_extend(w->db, "r1", w->coord, t_of("2026-03-01T00:00:00Z"), &doc, &len), 0);
    /* The stored round now carries the later deadline for every check that loads it. */
    assert_int_equal(mp_agg_round_load(w->db, "r1", &w->coord->pub, &r, &s), 0);
    assert_true(s->deadline == t_of("2026-03-01T00:00:00Z"));
    mp_envelope *env;
    int64_t prev, dl;
    assert_int_equal(mp_envelope_parse(&env, doc, len, MP_ROUNDCTL_EXTEND_TYPE), 0);
    assert_int_equal(mp_roundctl_extend_check(env, w->spec, &w->coord->pub, &prev, &dl), 0);
    assert_true(prev == w->spec->deadline);
    mp_envelope_free(env);
    free(doc);
    mp_spec_free(s);
    mp_roster_free(r);
    /* Chained: the next extension starts from the one in force. */
    assert_int_equal(
        mp_agg_round_extend(w->db, "r1", w->coord, t_of("2026-04-01T00:00:00Z"), &doc, &len), 0);
    assert_int_equal(mp_envelope_parse(&env, doc, len, MP_ROUNDCTL_EXTEND_TYPE), 0);
    assert_int_equal(mp_roundctl_extend_check(env, w->spec, &w->coord->pub, &prev, &dl), 0);
    assert_true(prev == t_of("2026-03-01T00:00:00Z"));
    mp_envelope_free(env);
    free(doc);
    assert_int_equal(mp_agg_round_doc(w->db, "r1", MP_ROUNDCTL_EXTEND_TYPE, &doc, &len), 1);
    free(doc);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM log WHERE event = 'round-extend'"), 2);
}

static char *submission_file(world *w, const mp_spec *spec, int i)
{
    mp_pubkey peers[NORGS];
    uint64_t vec[NCELLS] = {7};
    cJSON *body;
    char name[64];
    for (size_t k = 0; k < spec->nparticipants; k++)
        for (int j = 0; j < NORGS; j++)
            if (strcmp(org_ids[j], spec->participants[k]) == 0)
                peers[k] = w->pubs[j];
    assert_int_equal(
        mp_mask_apply(vec, NCELLS, w->orgs[i], peers, spec->nparticipants, spec->env->hash), 0);
    assert_int_equal(mp_submission_build(&body, spec, org_ids[i], vec, NCELLS), 0);
    snprintf(name, sizeof name, "%s-%s.json", spec->round_id, org_ids[i]);
    char *path = tw_write_signed(w->dir, name, "submission", body, w->orgs[i]);
    cJSON_Delete(body);
    return path;
}

static void test_cancel_in_store(void **state)
{
    world *w = *state;
    char org[MP_ORG_ID_MAX + 1], rid[65], *doc, *before, *after;
    size_t len;
    double spent;
    create(w, w->round_path);
    create(w, w->round2_path);
    /* Two rounds open: the default is ambiguous and names both. */
    expect_error(mp_agg_default_round(w->db, rid), "r1 (open), r2 (open)");
    char *s1 = submission_file(w, w->spec, 0), *s2 = submission_file(w, w->spec, 1);
    assert_int_equal(mp_agg_import(w->db, s1, &w->coord->pub, org, rid), 0);
    /* r2 cancelled with nothing submitted: it no longer counts in the series. */
    assert_int_equal(mp_agg_series_spent(w->db, "mu", NULL, &spent), 0);
    assert_true(spent == 2);
    assert_int_equal(mp_agg_round_cancel(w->db, "r2", w->coord, "wrong period", &doc, &len), 0);
    free(doc);
    assert_int_equal(mp_agg_series_spent(w->db, "mu", NULL, &spent), 0);
    assert_true(spent == 1);
    assert_int_equal(mp_agg_default_round(w->db, rid), 0);
    assert_string_equal(rid, "r1");
    /* r1 cancelled after a submission: still charged; the document names it. */
    assert_int_equal(mp_agg_round_cancel(w->db, "r1", w->coord, "re-run", &doc, &len), 0);
    mp_envelope *env;
    mp_roundctl_cancel c;
    int listed;
    assert_int_equal(mp_envelope_parse(&env, doc, len, MP_ROUNDCTL_CANCEL_TYPE), 0);
    assert_int_equal(mp_roundctl_cancel_check(env, w->spec, &w->coord->pub, "utrecht", &c, &listed),
                     0);
    assert_int_equal(listed, 1);
    mp_envelope_free(env);
    free(doc);
    assert_int_equal(mp_agg_series_spent(w->db, "mu", NULL, &spent), 0);
    assert_true(spent == 1);
    /* Afterwards nothing is accepted and the store is unchanged. */
    before = tdb_dump(w->db);
    expect_error(mp_agg_import(w->db, s2, &w->coord->pub, org, rid), "round cancelled");
    expect_error(mp_agg_close(w->db, "r1", &w->coord->pub), "cancelled");
    expect_error(mp_agg_round_cancel(w->db, "r1", w->coord, "again", &doc, &len), "cancelled");
    expect_error(
        mp_agg_round_extend(w->db, "r1", w->coord, t_of("2026-03-01T00:00:00Z"), &doc, &len),
        "cancelled");
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* The list shows both, with their reasons. */
    cJSON *list;
    assert_int_equal(mp_agg_round_list(w->db, &list), 0);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON *r1 = cJSON_GetArrayItem(list, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r1, "state")), "cancelled");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r1, "reason")), "re-run");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r1, "submissions")), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r1, "period_start")),
                        "2025-01-01");
    cJSON_Delete(list);
    /* With every round finished, the default is the latest (as before several rounds). */
    assert_int_equal(mp_agg_default_round(w->db, rid), 0);
    assert_string_equal(rid, "r2");
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM log WHERE event = 'round-cancel'"), 2);
    free(s1);
    free(s2);
}

/* Migration 6 over a store of schema 5 with a round in it: every row kept. */
static void test_migration_6(void **state)
{
    world *w = *state;
    create(w, w->round_path);
    char *before = tdb_dump(w->db);
    assert_int_equal(tdb_int(w->db, "PRAGMA user_version"), 6);
    assert_int_equal(sqlite3_exec(w->db,
                                  "DROP TABLE round_docs; ALTER TABLE rounds DROP COLUMN "
                                  "cancelled; ALTER TABLE rounds DROP COLUMN deadline; PRAGMA "
                                  "user_version = 5",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    mp_store_close(w->db);
    if (mp_agg_open(&w->db, w->db_path, 0) != 0)
        fail_msg("reopen: %s", mp_error_get());
    assert_int_equal(tdb_int(w->db, "PRAGMA user_version"), 6);
    char *after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* The kinds of document are constrained. */
    assert_int_not_equal(sqlite3_exec(w->db,
                                      "INSERT INTO round_docs (round_id, kind, sha256, doc, made) "
                                      "VALUES ('r1', 'release', 'h', 'd', 't')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
}

/* The contributor's record of cancellations (ledger schema 8). */
static void test_ledger_cancel(void **state)
{
    world *w = *state;
    char *path = tu_path(w->dir, "ledger.db");
    sqlite3 *db;
    mp_ledger_cancel c = {0}, got;
    size_t n;
    assert_int_equal(mp_ledger_open(&db, path, 1), 0);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 8);
    assert_int_equal(mp_ledger_cancel_get(db, "r1", &got), 0);
    snprintf(c.round_id, sizeof c.round_id, "r1");
    snprintf(c.round_sha256, sizeof c.round_sha256, "ab");
    snprintf(c.series, sizeof c.series, "mu");
    snprintf(c.rho, sizeof c.rho, "1");
    snprintf(c.reason, sizeof c.reason, "re-run");
    c.charged = 1;
    assert_int_equal(mp_ledger_cancel_put(db, &c, "{}"), 0);
    assert_int_equal(mp_ledger_cancel_get(db, "r1", &got), 1);
    assert_int_equal(got.charged, 1);
    assert_string_equal(got.reason, "re-run");
    assert_string_equal(got.recorded, "2026-01-15T09:00:00Z");
    /* Recorded once: a second record of the same round is refused. */
    assert_int_equal(mp_ledger_cancel_put(db, &c, "{}"), -1);
    snprintf(c.round_id, sizeof c.round_id, "r2");
    c.charged = 0;
    assert_int_equal(mp_ledger_cancel_put(db, &c, "{}"), 0);
    assert_int_equal(mp_ledger_cancel_count(db, "mu", 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mp_ledger_cancel_count(db, "mu", 0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mp_ledger_cancel_count(db, "other", 0, &n), 0);
    assert_int_equal(n, 0);
    /* A cancellation never changes the spend: that is the submissions' business. */
    double spent;
    assert_int_equal(mp_ledger_spent(db, "mu", &spent), 0);
    assert_true(spent == 0);
    mp_store_close(db);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_extend_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extend_in_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_in_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
