/*
 * test_saround.c - a bonawitz-v1 round through the aggregator's store (protocol/round/saround.c),
 * with one participant that reveals false shares: the round does not close on the first T
 * unmask messages when they include the bad one, the store stays as it was, and once one more
 * honest unmask message is in, the round closes without the bad one, records which T opened
 * the sum, and publishes a release that names them.
 */
#include "testutil.h"
#include "testdb.h"
#include "testworld.h"

#include <sys/stat.h>

#include "aggregate.h"
#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "mask.h"
#include "saround.h"
#include "secagg.h"
#include "store.h"
#include "submission.h"

#define NCELLS 5

static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"T\",\"dimensions\":{"
    "\"sex\":{\"title\":\"Geslacht\",\"bands\":[{\"label\":\"man\",\"sex\":\"M\"},{\"label\":"
    "\"vrouw\",\"sex\":\"V\"},{\"label\":\"onbekend\",\"sex\":\"X\"}]}},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"sex\"]},"
    "{\"id\":\"werkend\",\"title\":\"Werkend\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"also_active\":[\"baan\"]}]}";

typedef struct world {
    char *dir, *roster_path, *round_path, *db_path, *out;
    mp_keypair *coord, *orgs[NORGS], *by_pos[NORGS];
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
    mp_spec *spec;
    sqlite3 *db;
    uint64_t plain[NORGS][NCELLS]; /* by position */
    mp_envelope *keys[NORGS];      /* shares message of each position */
    mp_secagg_secrets *sec[NORGS]; /* round secrets of each position */
    unsigned char sub_hash[NORGS][MP_HASH_BYTES];
    unsigned char adv_hash[NORGS][MP_HASH_BYTES]; /* U2 as each position accepted it */
} world;

static void import_ok(world *w, const char *path)
{
    char org[MP_ORG_ID_MAX + 1], rid[65];
    if (mp_agg_import(w->db, path, &w->coord->pub, org, rid) != 0)
        fail_msg("import %s: %s", path, mp_error_get());
}

/* Sign body as type with kp, write it as NAME in the world's directory and import it. */
static char *send(world *w, const char *name, const char *type, const cJSON *body,
                  const mp_keypair *kp)
{
    char *path = tw_write_signed(w->dir, name, type, body, kp);
    import_ok(w, path);
    return path;
}

static mp_envelope *load(world *w, const char *name, const char *type)
{
    mp_envelope *e;
    char *path = tu_path(w->out, name);
    if (mp_envelope_load(&e, path, type) != 0)
        fail_msg("%s: %s", path, mp_error_get());
    free(path);
    return e;
}

static void advance(world *w, const char *want)
{
    char phase[16];
    size_t nfiles;
    if (mp_sa_advance(w->db, w->spec, w->roster, w->coord, phase) != 0)
        fail_msg("advance: %s", mp_error_get());
    assert_string_equal(phase, want);
    if (mp_sa_outbox(w->db, w->spec, w->roster, w->coord, w->out, &nfiles) != 0)
        fail_msg("outbox: %s", mp_error_get());
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    cJSON *body;
    char name[64];
    assert_non_null(w);
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-01-15T09:00:00Z", 1), 0);
    w->dir = tu_mkdtemp();
    w->out = tu_path(w->dir, "outbox");
    w->db_path = tu_path(w->dir, "agg.db");
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    w->roster_path = tw_roster(&w->roster, w->dir, w->coord, w->pubs);
    assert_int_equal(mp_canon_parse(&w->catalogue, catalogue_json, sizeof catalogue_json - 1), 0);
    mp_spec_params p = tw_round_params("mu-2025", "1.5");
    p.t = 2;
    p.masking = MP_SCHEME_BONAWITZ;
    w->round_path =
        tw_write_round(w->dir, w->coord, w->roster, w->catalogue, &p, "round.json", &w->spec);
    assert_int_equal(w->spec->threshold, 5); /* n = 6, t = c = 2 */
    for (size_t q = 0; q < NORGS; q++)
        for (int i = 0; i < NORGS; i++)
            if (strcmp(w->spec->participants[q], org_ids[i]) == 0)
                w->by_pos[q] = w->orgs[i];
    for (int q = 0; q < NORGS; q++)
        for (int c = 0; c < NCELLS; c++)
            w->plain[q][c] = (uint64_t)(1000 * (q + 1) + 7 * c);
    assert_int_equal(mp_agg_open(&w->db, w->db_path, 1), 0);
    if (mp_agg_round_create(w->db, w->roster_path, w->round_path, &w->coord->pub) != 0)
        fail_msg("round create: %s", mp_error_get());

    /* Phases 1 to 3: everyone advertises, sends its key shares, then masks its plain vector
     * and submits. */
    for (int q = 0; q < NORGS; q++) {
        assert_int_equal(mp_secagg_secrets_new(&w->sec[q]), 0);
        assert_int_equal(mp_secagg_advertise(&body, w->spec, w->roster, w->by_pos[q], w->sec[q]),
                         0);
        snprintf(name, sizeof name, "adv-%d.json", q);
        free(send(w, name, "advertise", body, w->by_pos[q]));
        cJSON_Delete(body);
    }
    advance(w, "share");
    mp_envelope *keys = load(w, "keys.json", "keys");
    unsigned char share_hash[NORGS][MP_HASH_BYTES];
    for (int q = 0; q < NORGS; q++) {
        mp_secagg_view kv;
        mp_envelope *sh;
        if (mp_secagg_keys_accept(&kv, keys, w->spec, w->roster, w->by_pos[q], w->sec[q]) != 0)
            fail_msg("keys accept: %s", mp_error_get());
        assert_int_equal(mp_secagg_share(&body, w->spec, &kv, w->by_pos[q], w->sec[q]), 0);
        snprintf(name, sizeof name, "share-%d.json", q);
        char *path = send(w, name, "share", body, w->by_pos[q]);
        assert_int_equal(mp_envelope_load(&sh, path, "share"), 0);
        memcpy(share_hash[q], sh->hash, MP_HASH_BYTES);
        mp_envelope_free(sh);
        free(path);
        cJSON_Delete(body);
        mp_secagg_view_free(&kv);
    }
    mp_envelope_free(keys);
    advance(w, "submit");
    for (int q = 0; q < NORGS; q++) {
        mp_secagg_view v;
        mp_envelope *sub;
        uint64_t y[NCELLS];
        snprintf(name, sizeof name, "shares-%s.json", w->spec->participants[q]);
        w->keys[q] = load(w, name, "shares");
        if (mp_secagg_shares_accept(&v, w->keys[q], w->spec, w->roster, w->by_pos[q], w->sec[q],
                                    share_hash[q]) != 0)
            fail_msg("shares accept: %s", mp_error_get());
        memcpy(w->adv_hash[q], v.advertised_hash, MP_HASH_BYTES);
        memcpy(y, w->plain[q], sizeof y);
        assert_int_equal(mp_secagg_mask(y, NCELLS, w->spec, &v, w->by_pos[q], w->sec[q]), 0);
        assert_int_equal(mp_submission_build(&body, w->spec, w->spec->participants[q], y, NCELLS),
                         0);
        snprintf(name, sizeof name, "sub-%d.json", q);
        char *path = send(w, name, "submission", body, w->by_pos[q]);
        assert_int_equal(mp_envelope_load(&sub, path, "submission"), 0);
        memcpy(w->sub_hash[q], sub->hash, MP_HASH_BYTES);
        mp_envelope_free(sub);
        free(path);
        cJSON_Delete(body);
        mp_secagg_view_free(&v);
    }
    /* Phase 3: everyone confirms the survivors list. */
    advance(w, "confirm");
    mp_envelope *surv = load(w, "survivors.json", "survivors");
    for (int q = 0; q < NORGS; q++) {
        mp_secagg_view v;
        if (mp_secagg_survivors_accept(&v, surv, w->spec, w->roster, w->spec->participants[q],
                                       w->adv_hash[q], w->sub_hash[q]) != 0)
            fail_msg("survivors accept: %s", mp_error_get());
        assert_int_equal(
            mp_secagg_consistency(&body, w->spec, w->spec->participants[q], surv->hash), 0);
        snprintf(name, sizeof name, "conf-%d.json", q);
        free(send(w, name, "consistency", body, w->by_pos[q]));
        cJSON_Delete(body);
        mp_secagg_view_free(&v);
    }
    mp_envelope_free(surv);
    advance(w, "unmask");
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    for (int q = 0; q < NORGS; q++) {
        mp_envelope_free(w->keys[q]);
        mp_secagg_secrets_free(w->sec[q]);
    }
    mp_store_close(w->db);
    mp_spec_free(w->spec);
    mp_roster_free(w->roster);
    cJSON_Delete(w->catalogue);
    tw_keys_free(w->coord, w->orgs);
    free(w->roster_path);
    free(w->round_path);
    free(w->db_path);
    free(w->out);
    tu_rmdir(w->dir);
    free(w);
    return 0;
}

/* The unmask message of position q; with `lie`, its shares for members 0 and 1 swapped (each
 * a valid share, of the wrong secret), signed by q itself: a participant revealing false
 * shares, which no signature check can catch. */
static char *unmask_file(world *w, int q, int lie)
{
    mp_envelope *surv = load(w, "survivors.json", "survivors");
    mp_envelope *req = load(w, "unmask-request.json", "unmask-request");
    mp_secagg_view v;
    cJSON *body;
    char name[64];
    assert_int_equal(mp_secagg_survivors_parse(&v, surv, w->spec, w->roster), 0);
    assert_int_equal(mp_secagg_request_accept(req, w->spec, w->roster, &v, surv->hash), 0);
    assert_int_equal(
        mp_secagg_unmask(&body, w->spec, &v, w->keys[q], w->by_pos[q], w->sec[q], surv->hash), 0);
    if (lie) {
        cJSON *shares = cJSON_GetObjectItemCaseSensitive(body, "shares");
        cJSON *a = cJSON_GetArrayItem(shares, 0), *b = cJSON_GetArrayItem(shares, 1);
        char *t = a->valuestring;
        a->valuestring = b->valuestring;
        b->valuestring = t;
    }
    snprintf(name, sizeof name, "unmask-%d.json", q);
    char *path = tw_write_signed(w->dir, name, "unmask", body, w->by_pos[q]);
    cJSON_Delete(body);
    mp_secagg_view_free(&v);
    mp_envelope_free(req);
    mp_envelope_free(surv);
    return path;
}

static void test_false_shares_do_not_block_the_close(void **state)
{
    world *w = *state;
    char *paths[NORGS];
    for (int q = 0; q < NORGS; q++)
        paths[q] = unmask_file(w, q, q == 0);

    /* The liar is accepted on import (its message is well formed and signed by it). */
    for (int q = 0; q < 5; q++)
        import_ok(w, paths[q]);
    assert_int_equal(mp_sa_can_close(w->db, w->spec), 1);
    char *before = tdb_dump(w->db);
    assert_int_equal(mp_agg_close(w->db, w->spec->round_id, &w->coord->pub), -1);
    assert_non_null(strstr(mp_error_get(), "cannot rebuild"));
    assert_non_null(strstr(mp_error_get(), "with more unmask messages"));
    char *after = tdb_dump(w->db);
    assert_string_equal(before, after); /* a refused close leaves the store as it was */
    free(before);
    free(after);

    /* One more honest unmask message: the round closes without the liar. */
    import_ok(w, paths[5]);
    if (mp_agg_close(w->db, w->spec->round_id, &w->coord->pub) != 0)
        fail_msg("close: %s", mp_error_get());
    char *used = tdb_text(w->db, "SELECT unmasked_by FROM rounds", 1);
    char want[256];
    snprintf(want, sizeof want, "%s %s %s %s %s", w->spec->participants[1],
             w->spec->participants[2], w->spec->participants[3], w->spec->participants[4],
             w->spec->participants[5]);
    assert_string_equal(used, want);
    free(used);
    char *sumtext = tdb_text(w->db, "SELECT sum FROM rounds", 1);
    uint64_t sum[NCELLS];
    assert_int_equal(mp_vec_decode(sum, NCELLS, sumtext), 0);
    free(sumtext);
    for (int c = 0; c < NCELLS; c++) {
        uint64_t expect = 0;
        for (int q = 0; q < NORGS; q++)
            expect += w->plain[q][c];
        assert_int_equal(sum[c], expect);
    }

    /* The release names exactly the five whose shares opened the sum, and ships theirs. */
    char *rel = tu_path(w->dir, "release");
    if (mp_agg_publish(w->db, w->spec->round_id, w->coord, rel) != 0)
        fail_msg("publish: %s", mp_error_get());
    char *relfile = tu_path(rel, "release.json");
    mp_envelope *r;
    assert_int_equal(mp_envelope_load(&r, relfile, "release"), 0);
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r->body, "masking"), "unmasked_by");
    assert_int_equal(cJSON_GetArraySize(by), 5);
    assert_string_equal(cJSON_GetArrayItem(by, 0)->valuestring, w->spec->participants[1]);
    for (int q = 0; q < NORGS; q++) {
        char name[80];
        struct stat sb;
        snprintf(name, sizeof name, "%s/unmask/%s.json", rel, w->spec->participants[q]);
        assert_int_equal(stat(name, &sb) == 0, q >= 1);
    }
    mp_envelope_free(r);
    free(relfile);
    free(rel);
    for (int q = 0; q < NORGS; q++)
        free(paths[q]);
}

/* Schema 5 rebuilds the tables of the bonawitz-v1 messages (to admit share messages and the
 * stored keys message): a store at schema 4 with a round in progress keeps every row. The
 * round here is at schema 5 already; set back to 4, migration 5 runs again over it. */
static void test_store_migration_keeps_messages(void **state)
{
    world *w = *state;
    char *before = tdb_dump(w->db);
    assert_int_equal(tdb_int(w->db, "PRAGMA user_version"), 6);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM sa_messages WHERE kind = 'share'"), 6);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM sa_outgoing WHERE kind = 'keys'"), 1);
    /* Schema 6 (round management) is taken off too, so that both migrations run again. */
    assert_int_equal(sqlite3_exec(w->db,
                                  "DROP TABLE round_docs; ALTER TABLE rounds DROP COLUMN "
                                  "cancelled; ALTER TABLE rounds DROP COLUMN deadline; PRAGMA "
                                  "user_version = 4",
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
    /* The constraint still refuses a kind it does not know. */
    assert_int_not_equal(sqlite3_exec(w->db,
                                      "INSERT INTO sa_messages VALUES ('mu-2025', 'keys', 'x', "
                                      "'h', 'm', 't')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_false_shares_do_not_block_the_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_migration_keeps_messages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
