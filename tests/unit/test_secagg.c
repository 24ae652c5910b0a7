/*
 * test_secagg.c - masking scheme bonawitz-v1 (protocol/secagg.c), run in memory: six
 * Midden-Utrecht organisations with fresh keys, a signed round with threshold 4 (t = 2), every
 * message signed and parsed back as it would travel. Dropouts at each phase, thresholds, and
 * an aggregator that lies.
 */
#include "testutil.h"
#include "testworld.h"

#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "mask.h"
#include "roster.h"
#include "secagg.h"
#include "spec.h"

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
    char *dir;
    mp_keypair *coord, *orgs[NORGS];
    mp_keypair *by_pos[NORGS]; /* keys by position among the (sorted) participants */
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
    mp_spec *spec;
    uint64_t plain[NORGS][NCELLS]; /* by position */
} world;

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

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-01-15T09:00:00Z", 1), 0);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    free(tw_roster(&w->roster, w->dir, w->coord, w->pubs));
    assert_int_equal(mp_canon_parse(&w->catalogue, catalogue_json, sizeof catalogue_json - 1), 0);
    mp_spec_params p = tw_round_params("mu-2025", "1.5");
    p.t = 2;
    p.masking = MP_SCHEME_BONAWITZ;
    free(tw_write_round(w->dir, w->coord, w->roster, w->catalogue, &p, "round.json", &w->spec));
    assert_int_equal(w->spec->masking, MP_MASKING_BONAWITZ);
    assert_int_equal(w->spec->threshold, 4);
    for (int p2 = 0; p2 < NORGS; p2++)
        for (int i = 0; i < NORGS; i++)
            if (strcmp(w->spec->participants[p2], org_ids[i]) == 0)
                w->by_pos[p2] = w->orgs[i];
    for (int i = 0; i < NORGS; i++)
        for (int c = 0; c < NCELLS; c++)
            w->plain[i][c] = (uint64_t)(100 * (i + 1) + c); /* distinct, known */
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_spec_free(w->spec);
    mp_roster_free(w->roster);
    cJSON_Delete(w->catalogue);
    tw_keys_free(w->coord, w->orgs);
    tu_rmdir(w->dir);
    free(w);
    return 0;
}

/* A whole round in memory. Phase at which each position stops delivering: 0 never
 * advertises, 1 advertises only, 2 also submits, 3 also confirms, 4 delivers everything.
 * Returns 0 and the opened sum, or -1 with the refusal (mp_error_get). */
static int run_round(world *w, const int stop[NORGS], uint64_t sum[NCELLS])
{
    mp_envelope *adv[NORGS] = {0}, *keys[NORGS] = {0}, *subs_conf[NORGS] = {0};
    mp_envelope *surv = NULL, *req = NULL, *unm[NORGS] = {0};
    mp_secagg_view u1 = {0}, views[NORGS] = {{0}}, sv = {0};
    mp_secagg_reveal rev[NORGS] = {{0}};
    const mp_envelope *confs[NORGS];
    uint64_t y[NORGS][NCELLS];
    size_t n1 = 0, nconf = 0, nrev = 0;
    cJSON *body;
    int rc = -1;

    u1.m = calloc(NORGS, sizeof *u1.m);
    assert_non_null(u1.m);
    for (int p = 0; p < NORGS; p++) {
        if (stop[p] < 1)
            continue;
        assert_int_equal(mp_secagg_advertise(&body, w->spec, w->roster, w->by_pos[p]), 0);
        adv[n1] = sign_parse("advertise", body, w->by_pos[p]);
        cJSON_Delete(body);
        if (mp_secagg_advertise_check(adv[n1], w->spec, w->roster, &u1.m[n1]) != 0)
            goto out;
        n1++;
    }
    u1.n1 = n1;
    if ((long long)n1 < w->spec->threshold) {
        mp_error_set("only %zu advertised", n1);
        goto out;
    }
    /* keys, then submissions */
    for (size_t k = 0; k < n1; k++) {
        unsigned p = u1.m[k].pos;
        assert_int_equal(
            mp_secagg_keys_build(&body, w->spec, &u1, (const mp_envelope *const *)adv, k), 0);
        keys[k] = sign_parse("keys", body, w->coord);
        cJSON_Delete(body);
        if (mp_secagg_keys_accept(&views[k], keys[k], w->spec, w->roster, w->by_pos[p]) != 0)
            goto out;
        if (stop[p] < 2)
            continue;
        memcpy(y[k], w->plain[p], sizeof y[k]);
        if (mp_secagg_mask(y[k], NCELLS, w->spec, &views[k], w->by_pos[p]) != 0)
            goto out;
        u1.m[k].submitted = 1;
        memset(u1.m[k].submission_hash, (int)k + 1, MP_HASH_BYTES);
        u1.n2++;
    }
    if ((long long)u1.n2 < w->spec->threshold) {
        mp_error_set("only %zu submitted", u1.n2);
        goto out;
    }
    assert_int_equal(mp_secagg_survivors_build(&body, w->spec, &u1), 0);
    surv = sign_parse("survivors", body, w->coord);
    cJSON_Delete(body);
    for (size_t k = 0; k < n1; k++) {
        unsigned p = u1.m[k].pos;
        mp_secagg_view tmp;
        size_t member;
        if (!u1.m[k].submitted || stop[p] < 3)
            continue;
        if (mp_secagg_survivors_accept(&tmp, surv, w->spec, w->roster, u1.m[k].org,
                                       views[k].advertised_hash, u1.m[k].submission_hash) != 0)
            goto out;
        mp_secagg_view_free(&tmp);
        assert_int_equal(mp_secagg_consistency(&body, w->spec, u1.m[k].org, surv->hash), 0);
        subs_conf[k] = sign_parse("consistency", body, w->by_pos[p]);
        cJSON_Delete(body);
        assert_int_equal(mp_secagg_survivors_parse(&sv, surv, w->spec, w->roster), 0);
        assert_int_equal(
            mp_secagg_consistency_check(subs_conf[k], w->spec, w->roster, &sv, surv->hash, &member),
            0);
        assert_int_equal(member, k);
        mp_secagg_view_free(&sv);
        confs[nconf++] = subs_conf[k];
    }
    if (mp_secagg_request_build(&body, w->spec, surv->hash, confs, nconf) != 0)
        goto out;
    req = sign_parse("unmask-request", body, w->coord);
    cJSON_Delete(body);
    assert_int_equal(mp_secagg_survivors_parse(&sv, surv, w->spec, w->roster), 0);
    for (size_t k = 0; k < n1; k++) {
        unsigned p = u1.m[k].pos;
        if (!u1.m[k].submitted || stop[p] < 4)
            continue;
        if (mp_secagg_request_accept(req, w->spec, w->roster, &sv, surv->hash) != 0)
            goto out;
        assert_int_equal(
            mp_secagg_unmask(&body, w->spec, w->roster, &sv, keys[k], w->by_pos[p], surv->hash), 0);
        unm[k] = sign_parse("unmask", body, w->by_pos[p]);
        cJSON_Delete(body);
        assert_int_equal(
            mp_secagg_unmask_check(unm[k], w->spec, w->roster, &sv, surv->hash, &rev[nrev]), 0);
        nrev++;
    }
    memset(sum, 0, NCELLS * sizeof *sum);
    for (size_t k = 0; k < n1; k++)
        if (u1.m[k].submitted)
            mp_vec_add(sum, y[k], NCELLS);
    rc = mp_secagg_open(sum, NCELLS, w->spec, &sv, rev, nrev, 2);
out:
    for (int i = 0; i < NORGS; i++) {
        mp_envelope_free(adv[i]);
        mp_envelope_free(keys[i]);
        mp_envelope_free(subs_conf[i]);
        mp_envelope_free(unm[i]);
        mp_secagg_view_free(&views[i]);
        mp_secagg_reveal_free(&rev[i]);
    }
    mp_envelope_free(surv);
    mp_envelope_free(req);
    mp_secagg_view_free(&sv);
    mp_secagg_view_free(&u1);
    return rc;
}

static void expect_sum(world *w, const int stop[NORGS], const uint64_t sum[NCELLS])
{
    for (int c = 0; c < NCELLS; c++) {
        uint64_t want = 0;
        for (int p = 0; p < NORGS; p++)
            if (stop[p] >= 2)
                want += w->plain[p][c];
        assert_int_equal(sum[c], want);
    }
}

static void test_everyone_delivers(void **state)
{
    world *w = *state;
    int stop[NORGS] = {4, 4, 4, 4, 4, 4};
    uint64_t sum[NCELLS];
    if (run_round(w, stop, sum) != 0)
        fail_msg("%s", mp_error_get());
    expect_sum(w, stop, sum);
}

/* The demo's case: one drops after advertise, one after submit. */
static void test_two_dropouts(void **state)
{
    world *w = *state;
    int stop[NORGS] = {4, 1, 4, 2, 4, 4};
    uint64_t sum[NCELLS];
    if (run_round(w, stop, sum) != 0)
        fail_msg("%s", mp_error_get());
    expect_sum(w, stop, sum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_everyone_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_dropouts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
