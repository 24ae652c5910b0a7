/*
 * test_submission_release.c - checking submissions (protocol/round/submission.c) and building and
 * rendering the release (protocol/release/release.c), on a real signed roster and round.
 */
#include "testutil.h"
#include "testworld.h"

#include <inttypes.h>
#include <math.h>

#include "canon.h"
#include "catalogue.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "mask.h"
#include "postprocess.h"
#include "nlformat.h"
#include "release.h"
#include "roster.h"
#include "spec.h"
#include "submission.h"

#define NCELLS 5
#define NOW "2026-01-15T09:00:00Z"

/* Cells: 0 stand total, 1..3 stand by sex (m, v, and a label a browser must not run);
 * 4 werkend total. Rates: werkend / stand and its complement. */
enum { STAND = 0, STAND_M = 1, STAND_V = 2, STAND_X = 3, WERKEND = 4 };
#define SCRIPT_LABEL "<script>alert(1)</script> & x"
static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"Monitor T & W\","
    "\"dimensions\":{\"sex\":{\"title\":\"Geslacht\",\"bands\":[{\"label\":\"man\",\"sex\":\"M\"},"
    "{\"label\":\"vrouw\",\"sex\":\"V\"},{\"label\":\"<script>alert(1)</script> & x\","
    "\"sex\":\"X\"}]}},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand; bijstand\",\"description\":\"d\","
    "\"source\":\"s\",\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"sex\"]},"
    "{\"id\":\"werkend\",\"title\":\"Werkend\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"also_active\":[\"baan\"]}],"
    "\"rates\":[{\"id\":\"aandeel\",\"title\":\"Aandeel werkend\",\"numerator\":\"werkend\","
    "\"denominator\":\"stand\"},{\"id\":\"niet\",\"title\":\"Aandeel niet werkend\","
    "\"numerator\":\"werkend\",\"denominator\":\"stand\",\"complement\":true}]}";

typedef struct world {
    char *dir;
    mp_keypair *coord, *orgs[NORGS];
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
    mp_spec *spec;
    mp_included inc[NORGS];
} world;

/* A round of series "mu" with budget 4. */
static mp_spec_params round_params(const char *round_id)
{
    return tw_round_params(round_id, "4");
}

static mp_spec *load_round(world *w, const mp_spec_params *p, const char *name)
{
    mp_spec *s;
    free(tw_write_round(w->dir, w->coord, w->roster, w->catalogue, p, name, &s));
    return s;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(setenv("MIJLPAAL_NOW", NOW, 1), 0);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    free(tw_roster(&w->roster, w->dir, w->coord, w->pubs));
    assert_int_equal(mp_canon_parse(&w->catalogue, catalogue_json, sizeof catalogue_json - 1), 0);
    mp_spec_params p = round_params("mu-2025");
    w->spec = load_round(w, &p, "round.json");
    assert_int_equal(w->spec->catalogue->ncells, NCELLS);
    /* Included submissions, sorted by org as in a release; hashes stand in for files. */
    for (size_t i = 0; i < w->spec->nparticipants; i++) {
        w->inc[i].org = w->spec->participants[i];
        mp_hash(w->inc[i].submission_hash, w->inc[i].org, strlen(w->inc[i].org));
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_spec_free(w->spec);
    mp_roster_free(w->roster);
    tw_keys_free(w->coord, w->orgs);
    cJSON_Delete(w->catalogue);
    tu_rmdir(w->dir);
    free(w);
    unsetenv("MIJLPAAL_NOW");
    return 0;
}

/* ---- submissions ------------------------------------------------------------------------- */

static cJSON *good_body(world *w, const mp_spec *spec, int i, const uint64_t *vec)
{
    cJSON *body;
    if (mp_submission_build(&body, spec, org_ids[i], vec, NCELLS) != 0)
        fail_msg("submission build: %s", mp_error_get());
    return body;
}

static mp_envelope *sign_parse(const cJSON *body, const char *type, const mp_keypair *kp)
{
    char *text;
    size_t len;
    mp_envelope *env;
    assert_int_equal(mp_envelope_sign(&text, &len, type, body, kp), 0);
    if (mp_envelope_parse(&env, text, len, NULL) != 0)
        fail_msg("parse: %s", mp_error_get());
    free(text);
    return env;
}

static void set_str(cJSON *o, const char *key, const char *v)
{
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateString(v)));
}

static void test_submission_build_and_check(void **state)
{
    world *w = *state;
    uint64_t vec[NCELLS] = {1, UINT64_MAX, 0x0123456789abcdefULL, 42, 1ULL << 63}, got[NCELLS];
    cJSON *body = good_body(w, w->spec, 0, vec);
    /* The body holds exactly the documented fields and nothing else. */
    static const char *const fields[] = {"cells", "created",  "masked",       "mijlpaal_submission",
                                         "org",   "round_id", "round_sha256", "scheme"};
    assert_int_equal(cJSON_GetArraySize(body), 8);
    for (size_t i = 0; i < 8; i++)
        assert_non_null(cJSON_GetObjectItemCaseSensitive(body, fields[i]));
    const char *s;
    char hex[MP_HASH_HEX_BYTES];
    assert_int_equal(mp_json_str(body, "created", &s), 0);
    assert_string_equal(s, NOW);
    assert_int_equal(mp_json_str(body, "scheme", &s), 0);
    assert_string_equal(s, "pairwise-v1");
    assert_int_equal(mp_json_str(body, "round_sha256", &s), 0);
    mp_hex_encode(hex, w->spec->env->hash, MP_HASH_BYTES);
    assert_string_equal(s, hex);
    assert_int_equal(mp_json_str(body, "masked", &s), 0);
    assert_int_equal(mp_vec_decode(got, NCELLS, s), 0);
    assert_memory_equal(got, vec, sizeof vec);

    for (int i = 0; i < NORGS; i++) {
        cJSON *b = good_body(w, w->spec, i, vec);
        mp_envelope *env = sign_parse(b, "submission", w->orgs[i]);
        const mp_org *org = NULL;
        memset(got, 0, sizeof got);
        if (mp_submission_check(env, w->spec, w->roster, &org, got) != 0)
            fail_msg("%s: %s", org_ids[i], mp_error_get());
        assert_ptr_equal(org, mp_roster_org(w->roster, org_ids[i]));
        assert_memory_equal(got, vec, sizeof vec);
        mp_envelope_free(env);
        cJSON_Delete(b);
    }
    cJSON_Delete(body);
}

enum {
    R_TYPE,
    R_SIGNER,
    R_ORG,
    R_PARTICIPANT,
    R_ROUND_ID,
    R_ROUND_HASH,
    R_CELLS,
    R_B64_LEN,
    R_FIELD,
    R_SCHEME,
    R_ALTERED,
    R_COUNT
};

static void test_submission_refusals(void **state)
{
    world *w = *state;
    uint64_t vec[NCELLS] = {5, 4, 3, 2, 1}, got[NCELLS];
    /* The phrase each refusal's reason must contain - and no other refusal's. */
    static const char *const keys[R_COUNT] = {
        "not a submission", "not in the roster",     "claims to be from", "not a participant",
        "is for round",     "round_sha256 mismatch", "has 4 cells",       "vector has 32 bytes",
        "\"extra\"",        "masking scheme",        "does not verify"};
    char *why[R_COUNT] = {0};
    mp_envelope *env[R_COUNT] = {0};
    cJSON *b;

    /* Wrong document type: a valid submission body signed as a release. */
    b = good_body(w, w->spec, 0, vec);
    env[R_TYPE] = sign_parse(b, "release", w->orgs[0]);
    /* Signed by a key outside the roster. */
    mp_keypair *stranger;
    assert_int_equal(mp_keys_generate(&stranger, "utrecht"), 0);
    env[R_SIGNER] = sign_parse(b, "submission", stranger);
    /* The org field names another organisation than the signer. */
    env[R_ORG] = sign_parse(b, "submission", w->orgs[1]);
    /* Valid once, then altered after signing (the masked vector changed). */
    env[R_ALTERED] = sign_parse(b, "submission", w->orgs[0]);
    cJSON_Delete(env[R_ALTERED]->body);
    uint64_t other[NCELLS] = {6, 4, 3, 2, 1};
    env[R_ALTERED]->body = good_body(w, w->spec, 0, other);
    cJSON_Delete(b);

    /* Not a participant: a round of five without uwv. */
    static const char *const five[] = {"utrecht", "stichtse-vecht", "lekstroom", "fermwerk",
                                       "rsd-krh"};
    mp_spec_params p = round_params("mu-2025-vijf");
    p.participants = five;
    p.nparticipants = 5;
    mp_spec *spec5 = load_round(w, &p, "round5.json");
    b = good_body(w, w->spec, 5, vec);
    set_str(b, "round_id", spec5->round_id);
    char hex5[MP_HASH_HEX_BYTES];
    mp_hex_encode(hex5, spec5->env->hash, MP_HASH_BYTES);
    set_str(b, "round_sha256", hex5);
    env[R_PARTICIPANT] = sign_parse(b, "submission", w->orgs[5]);
    cJSON_Delete(b);

    /* Another round id, and this id with another round's hash. */
    b = good_body(w, w->spec, 0, vec);
    set_str(b, "round_id", "mu-2024");
    env[R_ROUND_ID] = sign_parse(b, "submission", w->orgs[0]);
    cJSON_Delete(b);
    b = good_body(w, spec5, 0, vec);
    set_str(b, "round_id", "mu-2025");
    env[R_ROUND_HASH] = sign_parse(b, "submission", w->orgs[0]);
    cJSON_Delete(b);

    /* Four cells for a catalogue of five (consistent with its vector). */
    assert_int_equal(mp_submission_build(&b, w->spec, "utrecht", vec, NCELLS - 1), 0);
    env[R_CELLS] = sign_parse(b, "submission", w->orgs[0]);
    cJSON_Delete(b);
    /* Five cells claimed, four encoded. */
    b = good_body(w, w->spec, 0, vec);
    char *short_vec = mp_vec_encode(vec, NCELLS - 1);
    set_str(b, "masked", short_vec);
    free(short_vec);
    env[R_B64_LEN] = sign_parse(b, "submission", w->orgs[0]);
    cJSON_Delete(b);
    /* A field this version does not know. */
    b = good_body(w, w->spec, 0, vec);
    cJSON_AddNumberToObject(b, "extra", 1);
    env[R_FIELD] = sign_parse(b, "submission", w->orgs[0]);
    cJSON_Delete(b);
    /* Another masking scheme. */
    b = good_body(w, w->spec, 0, vec);
    set_str(b, "scheme", "bonawitz-v1");
    env[R_SCHEME] = sign_parse(b, "submission", w->orgs[0]);
    cJSON_Delete(b);

    for (int r = 0; r < R_COUNT; r++) {
        const mp_org *org = NULL;
        const mp_spec *spec = r == R_PARTICIPANT ? spec5 : w->spec;
        mp_error_clear();
        if (mp_submission_check(env[r], spec, w->roster, &org, got) == 0)
            fail_msg("refusal %d (%s) accepted", r, keys[r]);
        assert_null(org);
        why[r] = strdup(mp_error_get());
        assert_non_null(why[r]);
        if (strstr(why[r], keys[r]) == NULL)
            fail_msg("refusal %d: \"%s\" lacks \"%s\"", r, why[r], keys[r]);
    }
    for (int r = 0; r < R_COUNT; r++)
        for (int q = 0; q < R_COUNT; q++)
            if (q != r && strstr(why[q], keys[r]) != NULL)
                fail_msg("refusals %d and %d give the same reason: \"%s\" / \"%s\"", r, q, why[r],
                         why[q]);
    /* uwv's submission for the round of six is fine there, and refused in the round of five. */
    const mp_org *org;
    b = good_body(w, w->spec, 5, vec);
    mp_envelope *ok = sign_parse(b, "submission", w->orgs[5]);
    assert_int_equal(mp_submission_check(ok, w->spec, w->roster, &org, got), 0);
    assert_int_equal(mp_submission_check(ok, spec5, w->roster, &org, got), -1);
    assert_non_null(strstr(mp_error_get(), "not a participant"));
    mp_envelope_free(ok);
    cJSON_Delete(b);

    /* Malformed values: invalid base64, a version 2, a bad created time, cells 0. */
    static const struct {
        const char *key, *str;
        long long num;
    } bad[] = {{"masked", "!!!!", 0},
               {"masked", "AAAAAAAAAAA", 0},
               {"mijlpaal_submission", NULL, 2},
               {"created", "2026-01-15 09:00:00", 0},
               {"cells", NULL, 0},
               {"round_sha256", "ABCDEF", 0}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b = good_body(w, w->spec, 0, vec);
        if (bad[i].str != NULL)
            set_str(b, bad[i].key, bad[i].str);
        else
            assert_true(cJSON_ReplaceItemInObjectCaseSensitive(
                b, bad[i].key, cJSON_CreateNumber((double)bad[i].num)));
        mp_envelope *e = sign_parse(b, "submission", w->orgs[0]);
        if (mp_submission_check(e, w->spec, w->roster, &org, got) == 0)
            fail_msg("%s = %s accepted", bad[i].key, bad[i].str ? bad[i].str : "number");
        mp_envelope_free(e);
        cJSON_Delete(b);
    }

    for (int r = 0; r < R_COUNT; r++) {
        mp_envelope_free(env[r]);
        free(why[r]);
    }
    mp_spec_free(spec5);
    mp_keys_free(stranger);
}

/* ---- release ----------------------------------------------------------------------------- */

static cJSON *build_release(world *w, const mp_spec *spec, size_t n, const int64_t *v,
                            const char *published)
{
    uint64_t sum[NCELLS];
    cJSON *body = NULL;
    for (int i = 0; i < NCELLS; i++)
        sum[i] = (uint64_t)v[i];
    if (mp_release_build(&body, spec, w->inc, n, sum, published, NULL) != 0)
        fail_msg("release build: %s", mp_error_get());
    assert_non_null(body);
    return body;
}

static char *canon(const cJSON *v, size_t *len)
{
    char *out;
    assert_int_equal(mp_canon_serialise(&out, len, v), 0);
    return out;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        fail_msg("%s is not a string", key);
    return v->valuestring;
}

static long long int_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("%s is not a number", key);
    return (long long)v->valuedouble;
}

/* The documented noise_sd: sqrt(n * num / den) of the signed share variance. */
static double noise_sd(const mp_spec *spec, size_t n)
{
    uint64_t num, den;
    mp_spec_share_variance(spec, &num, &den);
    return sqrt((double)n * (double)num / (double)den);
}

static void test_release_deterministic(void **state)
{
    world *w = *state;
    int64_t v[NCELLS] = {200, 120, 70, 10, 37};
    size_t la, lb, lc;
    cJSON *a = build_release(w, w->spec, NORGS, v, "2026-02-02T10:00:00Z");
    cJSON *b = build_release(w, w->spec, NORGS, v, "2026-02-02T10:00:00Z");
    cJSON *c = build_release(w, w->spec, NORGS, v, "2026-02-02T10:00:01Z");
    char *ta = canon(a, &la), *tb = canon(b, &lb), *tc = canon(c, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(ta, tb, la);
    assert_true(la != lc || memcmp(ta, tc, la) != 0);
    /* Canonical bytes re-parse to the same bytes (the release can be signed and checked). */
    cJSON *re;
    size_t lr;
    assert_int_equal(mp_canon_parse(&re, ta, la), 0);
    char *tr = canon(re, &lr);
    assert_int_equal(lr, la);
    assert_memory_equal(tr, ta, la);

    /* The documented header fields. */
    char hex[MP_HASH_HEX_BYTES];
    assert_int_equal(int_of(a, "mijlpaal_release"), 1);
    assert_string_equal(str_of(a, "round_id"), "mu-2025");
    mp_hex_encode(hex, w->spec->env->hash, MP_HASH_BYTES);
    assert_string_equal(str_of(a, "round_sha256"), hex);
    mp_hex_encode(hex, w->roster->env->hash, MP_HASH_BYTES);
    assert_string_equal(str_of(a, "roster_sha256"), hex);
    assert_string_equal(str_of(a, "region"), "midden-utrecht");
    const cJSON *period = cJSON_GetObjectItemCaseSensitive(a, "period");
    assert_string_equal(str_of(period, "start"), "2025-01-01");
    assert_string_equal(str_of(period, "end"), "2025-12-31");
    assert_string_equal(str_of(a, "published"), "2026-02-02T10:00:00Z");
    assert_int_equal(int_of(a, "rounding"), 1);
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(a, "included");
    assert_int_equal(cJSON_GetArraySize(inc), NORGS);
    for (int i = 0; i < NORGS; i++) {
        const cJSON *o = cJSON_GetArrayItem(inc, i);
        assert_string_equal(str_of(o, "org"), w->inc[i].org);
        mp_hex_encode(hex, w->inc[i].submission_hash, MP_HASH_BYTES);
        assert_string_equal(str_of(o, "submission_sha256"), hex);
        if (i > 0)
            assert_true(strcmp(w->inc[i - 1].org, w->inc[i].org) < 0);
    }
    uint64_t sum[NCELLS];
    assert_int_equal(mp_vec_decode(sum, NCELLS, str_of(a, "sum")), 0);
    for (int i = 0; i < NCELLS; i++)
        assert_true(sum[i] == (uint64_t)v[i]);
    const cJSON *priv = cJSON_GetObjectItemCaseSensitive(a, "privacy");
    assert_string_equal(str_of(priv, "mechanism"), "distributed_discrete_gaussian");
    assert_string_equal(str_of(priv, "rho"), "1");
    assert_string_equal(str_of(priv, "delta"), "1e-6");
    assert_string_equal(str_of(priv, "series"), "mu");
    assert_string_equal(str_of(priv, "series_rho"), "4");
    assert_int_equal(int_of(priv, "t"), 1);
    assert_int_equal(int_of(priv, "max_orgs_per_person"), 2);
    /* A person touches stand, one sex band and werkend: 3 cells; m = 2. */
    assert_int_equal(int_of(priv, "cells_per_person"), 3);
    assert_int_equal(int_of(priv, "sensitivity_l1"), 6);
    assert_int_equal(int_of(priv, "sensitivity_l2_squared"), 12);
    char sd[32];
    snprintf(sd, sizeof sd, "%.2f", noise_sd(w->spec, NORGS));
    assert_string_equal(str_of(priv, "noise_sd"), sd);
    assert_true(mp_spec_noise_sd(w->spec, NORGS) == noise_sd(w->spec, NORGS));

    /* Cell names and layout. */
    static const char *const names[NCELLS] = {"stand", "stand.sex.0", "stand.sex.1", "stand.sex.2",
                                              "werkend"};
    static const char *const bands[NCELLS] = {NULL, "man", "vrouw", SCRIPT_LABEL, NULL};
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(a, "cells");
    assert_int_equal(cJSON_GetArraySize(cells), NCELLS);
    for (int i = 0; i < NCELLS; i++) {
        const cJSON *o = cJSON_GetArrayItem(cells, i);
        assert_string_equal(str_of(o, "name"), names[i]);
        assert_string_equal(str_of(o, "metric"), i < WERKEND ? "stand" : "werkend");
        if (bands[i] == NULL) {
            assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "dimension")));
            assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "band")));
        } else {
            assert_string_equal(str_of(o, "dimension"), "sex");
            assert_string_equal(str_of(o, "band"), bands[i]);
        }
        /* Already consistent and non-negative: published unchanged. */
        assert_int_equal(int_of(o, "noisy"), v[i]);
        assert_int_equal(int_of(o, "value"), v[i]);
    }
    free(ta);
    free(tb);
    free(tc);
    free(tr);
    cJSON_Delete(re);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

/* The documented rounding seed: SHA-256("mijlpaal release rounding v1" || round hash || the
 * release's "sum" text). */
static void release_seed(const mp_spec *spec, const int64_t *v, unsigned char *seed)
{
    static const char domain[] = "mijlpaal release rounding v1";
    uint64_t sum[NCELLS];
    for (int i = 0; i < NCELLS; i++)
        sum[i] = (uint64_t)v[i];
    char *vec = mp_vec_encode(sum, NCELLS);
    crypto_hash_sha256_state hs;
    assert_non_null(vec);
    crypto_hash_sha256_init(&hs);
    crypto_hash_sha256_update(&hs, (const unsigned char *)domain, sizeof domain - 1);
    crypto_hash_sha256_update(&hs, spec->env->hash, MP_HASH_BYTES);
    crypto_hash_sha256_update(&hs, (const unsigned char *)vec, strlen(vec));
    crypto_hash_sha256_final(&hs, seed);
    free(vec);
}

/* Noisy values are the signed reading of the sum; values are the post-processed ones, rounded
 * with the documented seed; every accuracy field follows release.h's formulas. */
static void check_cells(world *w, const mp_spec *spec, size_t n, const int64_t *v)
{
    cJSON *rel = build_release(w, spec, n, v, "2026-02-02T10:00:00Z");
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(rel, "cells");
    int64_t value[NCELLS], expect[NCELLS];
    unsigned char seed[MP_POST_SEED_BYTES];
    mp_post_cell det[NCELLS];
    release_seed(spec, v, seed);
    mp_post_params pp = {.rounding = (uint64_t)spec->rounding, .seed = seed};
    const double s2 = noise_sd(spec, n) * noise_sd(spec, n);
    assert_int_equal(mp_post_process_detail(spec->catalogue, v, &pp, expect, det), 0);
    for (int i = 0; i < NCELLS; i++) {
        const cJSON *o = cJSON_GetArrayItem(cells, i);
        char sd[32], moe[32];
        assert_int_equal(int_of(o, "noisy"), v[i]);
        value[i] = int_of(o, "value");
        assert_int_equal(value[i], expect[i]);
        assert_true(value[i] >= 0);
        assert_int_equal(value[i] % spec->rounding, 0);
        /* Stand's total and bands: one breakdown of 3, Var/s^2 = 3/4; werkend: 1. */
        assert_true(fabs(det[i].var_factor - (i == WERKEND ? 1.0 : 0.75)) < 1e-12);
        snprintf(sd, sizeof sd, "%.2f", sqrt(s2 * det[i].var_factor));
        assert_string_equal(str_of(o, "sd"), sd);
        long long m = (long long)floor(1.96 * sqrt(s2 * det[i].var_factor + det[i].round_var));
        snprintf(moe, sizeof moe, "%lld", m);
        assert_string_equal(str_of(o, "moe95"), moe);
        const char *shown = str_of(o, "shown_as"), *why = str_of(o, "suppressed");
        long long lo = int_of(o, "lower"), hi = int_of(o, "upper");
        if (2 * m <= value[i]) {
            assert_string_equal(shown, "value");
            assert_string_equal(why, "");
            assert_int_equal(lo, value[i] - m);
            assert_int_equal(hi, value[i] + m);
        } else {
            double half = 1.96 * sqrt(s2 * det[i].var_factor);
            double l = det[i].estimate - half, h = det[i].estimate + half;
            assert_string_equal(why, "small_cell");
            assert_int_equal(lo, l > 0 ? (long long)ceil(l) : 0);
            assert_int_equal(hi, h > 0 ? (long long)floor(h) : 0);
            assert_string_equal(shown, lo == 0 ? "less_than" : "range");
        }
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "unreliable")) == (*why != 0));
    }
    assert_int_equal(value[STAND_M] + value[STAND_V] + value[STAND_X], value[STAND]);
    assert_int_equal(mp_post_check(spec->catalogue, value, (uint64_t)spec->rounding), 0);
    cJSON_Delete(rel);
}

static void test_release_cells(void **state)
{
    world *w = *state;
    /* Inconsistent, with negative noisy cells (two's complement in the sum). */
    int64_t a[NCELLS] = {50, 30, 25, -3, -4};
    int64_t b[NCELLS] = {-7, 2, -1, 0, 3};
    int64_t c[NCELLS] = {1000, 400, 400, 400, 999};
    for (size_t n = 3; n <= NORGS; n++) {
        check_cells(w, w->spec, n, a);
        check_cells(w, w->spec, n, b);
        check_cells(w, w->spec, n, c);
    }
    /* All negative: everything published as 0. */
    int64_t z[NCELLS] = {-5, -1, -2, -3, -9};
    cJSON *rel = build_release(w, w->spec, NORGS, z, "2026-02-02T10:00:00Z");
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(rel, "cells");
    for (int i = 0; i < NCELLS; i++) {
        assert_int_equal(int_of(cJSON_GetArrayItem(cells, i), "noisy"), z[i]);
        assert_int_equal(int_of(cJSON_GetArrayItem(cells, i), "value"), 0);
    }
    /* Denominator 0: rates are "" with an empty margin and the reason. */
    const cJSON *rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    assert_int_equal(cJSON_GetArraySize(rates), 2);
    for (int r = 0; r < 2; r++) {
        const cJSON *o = cJSON_GetArrayItem(rates, r);
        assert_string_equal(str_of(o, "percent"), "");
        assert_string_equal(str_of(o, "moe95"), "");
        assert_string_equal(str_of(o, "lower"), "");
        assert_string_equal(str_of(o, "upper"), "");
        assert_string_equal(str_of(o, "suppressed"), "zero_denominator");
    }
    cJSON_Delete(rel);

    /* Rounded publication: multiples of 5, breakdowns still sum to the total. */
    mp_spec_params p = round_params("mu-2025-r5");
    p.rounding = 5;
    mp_spec *s5 = load_round(w, &p, "round-r5.json");
    check_cells(w, s5, NORGS, a);
    check_cells(w, s5, NORGS, c);
    int64_t d[NCELLS] = {203, 121, 71, 11, 38};
    check_cells(w, s5, NORGS, d);
    mp_spec_free(s5);
}

/* The small-cell rule: a figure is suppressed as a point (suppressed "small_cell", shown as a
 * range or "minder dan", unreliable) exactly when twice its printed moe95 exceeds it. */
static void check_unreliable(world *w, size_t n, const int64_t *v)
{
    cJSON *rel = build_release(w, w->spec, n, v, "2026-02-02T10:00:00Z");
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(rel, "cells");
    char bad[256] = "";
    for (int i = 0; i < NCELLS && !*bad; i++) {
        const cJSON *o = cJSON_GetArrayItem(cells, i);
        long long moe = atoll(str_of(o, "moe95")), value = int_of(o, "value");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "unreliable");
        int small = 2 * moe > value;
        assert_true(cJSON_IsBool(u));
        if ((cJSON_IsTrue(u) != 0) != small ||
            strcmp(str_of(o, "suppressed"), small ? "small_cell" : "") != 0 ||
            (strcmp(str_of(o, "shown_as"), "value") == 0) == small)
            snprintf(bad, sizeof bad,
                     "n=%zu cell %d: value %lld, moe95 %s, unreliable %s, shown_as %s", n, i, value,
                     str_of(o, "moe95"), cJSON_IsTrue(u) ? "true" : "false", str_of(o, "shown_as"));
    }
    cJSON_Delete(rel);
    if (*bad)
        fail_msg("%s", bad);
}

static void test_release_unreliable(void **state)
{
    world *w = *state;
    for (size_t n = 1; n <= NORGS; n++) {
        long long m = llround(1.96 * noise_sd(w->spec, n));
        /* Values well above and well below the margin, and around twice it. */
        int64_t a[NCELLS] = {300, 150, 140, 10, 1000};
        int64_t b[NCELLS] = {0, 0, 0, 0, 0};
        int64_t c[NCELLS] = {6 * (m + 1), 2 * m + 2, 2 * m + 2, 2 * m + 2, 2 * m + 1};
        int64_t d[NCELLS] = {3 * (m - 1), m - 1, m - 1, m - 1, 2 * m - 1};
        check_unreliable(w, n, a);
        check_unreliable(w, n, b);
        check_unreliable(w, n, c);
        check_unreliable(w, n, d);
    }
}

/* The edge: werkend has no breakdown and, at rounding 1, an integer needs no rounding, so its
 * moe95 is k = floor(1.96 noise_sd) exactly; a value of 2k is shown, 2k - 1 is not: a range
 * from the estimate (= the value) -/+ 1.96 noise_sd, clipped at 0. */
static void test_release_unreliable_at_printed_margin(void **state)
{
    world *w = *state;
    for (size_t n = NORGS; n >= 1; n--) {
        double sd = noise_sd(w->spec, n);
        long long k = (long long)floor(1.96 * sd);
        for (long long value = 2 * k - 1; value <= 2 * k; value++) {
            int64_t v[NCELLS] = {3 * k + 30, k + 10, k + 10, k + 10, value};
            check_unreliable(w, n, v);
            cJSON *rel = build_release(w, w->spec, n, v, "2026-02-02T10:00:00Z");
            const cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rel, "cells"), 4);
            char moe[32];
            snprintf(moe, sizeof moe, "%lld", k);
            assert_string_equal(str_of(o, "moe95"), moe);
            if (value == 2 * k) {
                assert_string_equal(str_of(o, "shown_as"), "value");
                assert_int_equal(int_of(o, "lower"), k);
                assert_int_equal(int_of(o, "upper"), 3 * k);
            } else {
                double lo = (double)value - 1.96 * sd, hi = (double)value + 1.96 * sd;
                assert_int_equal(int_of(o, "lower"), lo > 0 ? (long long)ceil(lo) : 0);
                assert_int_equal(int_of(o, "upper"), (long long)floor(hi));
                assert_string_equal(str_of(o, "shown_as"),
                                    int_of(o, "lower") == 0 ? "less_than" : "range");
            }
            cJSON_Delete(rel);
        }
    }
}

/* Fieller's interval by hand (postprocess.h): the roots of (x - t y)^2 = z^2 (vx + t^2 vy +
 * y^2 q), q = 0.001^2 / 12, as "%.1f" percentages; moe95 the half-width. */
static void fieller_text(double x, double y, double vx, double vy, int complement, char *lo,
                         char *hi, char *moe)
{
    double z2 = 1.96 * 1.96, q = 1e-6 / 12, a = y * y - z2 * vy, b = x * y,
           c = x * x - z2 * (vx + y * y * q), r = sqrt(b * b - a * c);
    double l = (b - r) / a, h = (b + r) / a;
    if (complement) {
        double t = 1 - h;
        h = 1 - l;
        l = t;
    }
    snprintf(lo, 16, "%.1f", 100 * l);
    snprintf(hi, 16, "%.1f", 100 * h);
    snprintf(moe, 16, "%.1f", 50 * (h - l));
}

/* Rates from the published totals, hand-computed. */
static void test_release_rates(void **state)
{
    world *w = *state;
    double sd = noise_sd(w->spec, NORGS), s2 = sd * sd;
    char lo[16], hi[16], moe[16];
    /* 37 of 200 = 18.5 %; complement 81.5 %. */
    int64_t v[NCELLS] = {200, 120, 70, 10, 37};
    cJSON *rel = build_release(w, w->spec, NORGS, v, "2026-02-02T10:00:00Z");
    const cJSON *rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    assert_int_equal(cJSON_GetArraySize(rates), 2);
    const cJSON *r0 = cJSON_GetArrayItem(rates, 0), *r1 = cJSON_GetArrayItem(rates, 1);
    assert_string_equal(str_of(r0, "id"), "aandeel");
    assert_string_equal(str_of(r0, "title"), "Aandeel werkend");
    assert_string_equal(str_of(r0, "percent"), "18.5");
    assert_string_equal(str_of(r0, "suppressed"), "");
    assert_string_equal(str_of(r1, "id"), "niet");
    assert_string_equal(str_of(r1, "percent"), "81.5");
    /* Published unchanged (consistent integers at rounding 1: no rounding variance); werkend
     * has Var s^2, stand's total (one breakdown of 3) 3/4 s^2; no shared rounding. */
    fieller_text(37, 200, s2, 0.75 * s2, 0, lo, hi, moe);
    assert_string_equal(str_of(r0, "lower"), lo);
    assert_string_equal(str_of(r0, "upper"), hi);
    assert_string_equal(str_of(r0, "moe95"), moe);
    /* The complement: 100 minus the bounds, the same half-width. */
    fieller_text(37, 200, s2, 0.75 * s2, 1, lo, hi, moe);
    assert_string_equal(str_of(r1, "lower"), lo);
    assert_string_equal(str_of(r1, "upper"), hi);
    assert_string_equal(str_of(r1, "moe95"), moe);
    cJSON_Delete(rel);

    /* Rounded half up: 200 of 300 = 66.666.. -> 66.7; 1 of 16 = 6.25 -> 6.3. */
    int64_t t[NCELLS] = {300, 100, 100, 100, 200};
    rel = build_release(w, w->spec, NORGS, t, "2026-02-02T10:00:00Z");
    rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 0), "percent"), "66.7");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 1), "percent"), "33.3");
    cJSON_Delete(rel);
    int64_t h[NCELLS] = {16, 8, 8, 0, 1};
    rel = build_release(w, w->spec, NORGS, h, "2026-02-02T10:00:00Z");
    rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 0), "percent"), "6.3");
    cJSON_Delete(rel);
    /* Numerator above the denominator is capped: 100.0 and 0.0, the interval at 100. */
    int64_t o[NCELLS] = {100, 50, 50, 0, 120};
    rel = build_release(w, w->spec, NORGS, o, "2026-02-02T10:00:00Z");
    rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 0), "percent"), "100.0");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 1), "percent"), "0.0");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 0), "upper"), "100.0");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 1), "lower"), "0.0");
    cJSON_Delete(rel);
}

/* A denominator the small-cell rule does not show as a value suppresses the rate, with the
 * reason; percent, margin and bounds are "". */
static void test_release_rate_small_denominator(void **state)
{
    world *w = *state;
    long long k = (long long)floor(1.96 * sqrt(0.75) * noise_sd(w->spec, NORGS));
    int64_t v[NCELLS] = {2 * k - 1, 2 * k - 1, 0, 0, 1};
    cJSON *rel = build_release(w, w->spec, NORGS, v, "2026-02-02T10:00:00Z");
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(rel, "cells");
    const cJSON *rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    assert_string_equal(str_of(cJSON_GetArrayItem(cells, STAND), "suppressed"), "small_cell");
    for (int r = 0; r < 2; r++) {
        const cJSON *o = cJSON_GetArrayItem(rates, r);
        assert_string_equal(str_of(o, "suppressed"), "small_denominator");
        assert_string_equal(str_of(o, "percent"), "");
        assert_string_equal(str_of(o, "moe95"), "");
        assert_string_equal(str_of(o, "lower"), "");
        assert_string_equal(str_of(o, "upper"), "");
    }
    cJSON_Delete(rel);
    /* One more and it is shown. */
    int64_t u[NCELLS] = {2 * k, 2 * k, 0, 0, 1};
    rel = build_release(w, w->spec, NORGS, u, "2026-02-02T10:00:00Z");
    rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    assert_string_equal(str_of(cJSON_GetArrayItem(rates, 0), "suppressed"), "");
    assert_true(*str_of(cJSON_GetArrayItem(rates, 0), "percent") != '\0');
    cJSON_Delete(rel);
}

/* A complement rate is 100 minus the rounded rate (docs/protocol.md: round_half_up(1000 num /
 * den) / 10, "1 - ..." when complement), so a rate and its complement add up to 100.0: the
 * complement of 1 of 16 (6.25 % -> 6.3) is published as 93.7, not as 93.75 rounded half up. */
static void test_release_complement_rate(void **state)
{
    world *w = *state;
    static const struct {
        int64_t stand, werkend;
        const char *rate, *complement;
    } cases[] = {{16, 1, "6.3", "93.7"},    {300, 200, "66.7", "33.3"}, {8, 1, "12.5", "87.5"},
                 {200, 37, "18.5", "81.5"}, {70, 70, "100.0", "0.0"},   {2000, 1, "0.1", "99.9"},
                 {4000, 1, "0.0", "100.0"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t s = cases[i].stand;
        int64_t v[NCELLS] = {s, s / 2, s - s / 2, 0, cases[i].werkend};
        cJSON *rel = build_release(w, w->spec, NORGS, v, "2026-02-02T10:00:00Z");
        const cJSON *rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
        char r[16], c[16];
        snprintf(r, sizeof r, "%s", str_of(cJSON_GetArrayItem(rates, 0), "percent"));
        snprintf(c, sizeof c, "%s", str_of(cJSON_GetArrayItem(rates, 1), "percent"));
        cJSON_Delete(rel);
        assert_string_equal(r, cases[i].rate);
        assert_string_equal(c, cases[i].complement);
    }
}

static void test_release_absurd_sum(void **state)
{
    world *w = *state;
    uint64_t sum[NCELLS] = {200, 120, 70, 10, 37};
    cJSON *body = NULL;
    static const uint64_t absurd[] = {1ULL << 60, (uint64_t) - (INT64_C(1) << 60),
                                      (uint64_t)MP_CANON_MAX_INT + 1, UINT64_MAX / 2 + 1};
    for (int cell = 0; cell < NCELLS; cell++)
        for (size_t k = 0; k < sizeof absurd / sizeof *absurd; k++) {
            uint64_t s[NCELLS];
            memcpy(s, sum, sizeof s);
            s[cell] = absurd[k];
            mp_error_clear();
            if (mp_release_build(&body, w->spec, w->inc, NORGS, s, "2026-02-02T10:00:00Z", NULL) ==
                0)
                fail_msg("cell %d = %" PRIu64 " accepted", cell, absurd[k]);
            assert_null(body);
            assert_non_null(strstr(mp_error_get(), "out of range"));
        }
    /* The largest a canonical document carries is still accepted. */
    sum[WERKEND] = (uint64_t)MP_CANON_MAX_INT;
    if (mp_release_build(&body, w->spec, w->inc, NORGS, sum, "2026-02-02T10:00:00Z", NULL) != 0)
        fail_msg("2^53-1: %s", mp_error_get());
    const cJSON *cell = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body, "cells"), 4);
    assert_true(cJSON_GetObjectItemCaseSensitive(cell, "noisy")->valuedouble ==
                (double)MP_CANON_MAX_INT);
    cJSON_Delete(body);
}

/* ---- renderings -------------------------------------------------------------------------- */

static void test_release_csv(void **state)
{
    world *w = *state;
    int64_t v[NCELLS] = {193, 120, 70, 3, 37}; /* consistent: published unchanged */
    cJSON *rel = build_release(w, w->spec, NORGS, v, "2026-02-02T10:00:00Z");
    char *csv;
    size_t len;
    if (mp_release_csv(&csv, &len, rel, w->spec) != 0)
        fail_msg("csv: %s", mp_error_get());
    assert_true(len > 3);
    assert_int_equal(strlen(csv), len);
    assert_memory_equal(csv, "\xEF\xBB\xBF", 3);
    /* Every line ends in CRLF, including the last; no bare LF or CR. */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        if (csv[i] == '\n') {
            assert_true(i > 0 && csv[i - 1] == '\r');
            lines++;
        }
        if (csv[i] == '\r')
            assert_true(i + 1 < len && csv[i + 1] == '\n');
    }
    assert_true(len >= 2 && csv[len - 2] == '\r' && csv[len - 1] == '\n');
    assert_int_equal(lines, 1 + NCELLS + 2);
    /* Header: fifteen ';'-separated columns, the first seven as before; every row ends with
     * what it belongs to: region, period in words, series, release (round id). */
    char *eol = strstr(csv, "\r\n");
    size_t semis = 0;
    for (char *p = csv; p < eol; p++)
        semis += *p == ';';
    assert_int_equal(semis, 14);
    assert_non_null(strstr(csv, "\xEF\xBB\xBFMijlpaal;Uitsplitsing;Categorie;Aantal personen;"
                                "Foutmarge (95%);Onbetrouwbaar;Ruwe ruis-som;Ondergrens (95%);"
                                "Bovengrens (95%);Weergave;Reden onderdrukking;Regio;Periode;"
                                "Reeks;Publicatie\r\n"));
    char tail[256], period[64];
    mp_nl_period(period, sizeof period, w->spec->period_start, w->spec->period_end);
    snprintf(tail, sizeof tail, ";%s;%s;%s;%s\r\n", w->spec->region, period,
             w->spec->privacy.series, w->spec->round_id);
    /* A title holding ';' is quoted; a breakdown row names its dimension and band. */
    assert_non_null(strstr(csv, "\r\n\"Stand; bijstand\";Totaal;;193;"));
    assert_non_null(strstr(csv, "\r\n\"Stand; bijstand\";Geslacht;man;120;"));
    assert_non_null(strstr(csv, "\r\nWerkend;Totaal;;37;"));
    /* The unknown-sex band of 3 is a small cell: marked "ja", the noisy figure, its interval
     * from 0, shown as "minder dan" for the reason "kleine cel". */
    char line[400];
    const cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rel, "cells"), STAND_X);
    assert_string_equal(str_of(x, "shown_as"), "less_than");
    snprintf(line, sizeof line,
             ";Geslacht;" SCRIPT_LABEL ";3;%s;ja;3;0;%lld;minder dan;kleine cel%s",
             str_of(x, "moe95"), int_of(x, "upper"), tail);
    assert_non_null(strstr(csv, line));
    /* A value row: no mark, its bounds, "getal". */
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rel, "cells"), STAND_M);
    snprintf(line, sizeof line, ";Geslacht;man;120;%s;;120;%lld;%lld;getal;%s", str_of(m, "moe95"),
             int_of(m, "lower"), int_of(m, "upper"), tail);
    assert_non_null(strstr(csv, line));
    /* Rates with a decimal comma, no decimal point. */
    const cJSON *rates = cJSON_GetObjectItemCaseSensitive(rel, "rates");
    char f[3][2][16];
    static const char *const keys[3] = {"moe95", "lower", "upper"};
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 3; k++) {
            snprintf(f[k][r], sizeof f[k][r], "%s", str_of(cJSON_GetArrayItem(rates, r), keys[k]));
            char *dot = strchr(f[k][r], '.');
            assert_non_null(dot);
            *dot = ',';
        }
    /* 37 of 193 = 19.17 % */
    snprintf(line, sizeof line, "\r\nAandeel werkend;Percentage;;19,2;%s;;;%s;%s;getal;%s", f[0][0],
             f[1][0], f[2][0], tail);
    assert_non_null(strstr(csv, line));
    snprintf(line, sizeof line, "\r\nAandeel niet werkend;Percentage;;80,8;%s;;;%s;%s;getal;%s",
             f[0][1], f[1][1], f[2][1], tail);
    assert_non_null(strstr(csv, line));
    assert_null(strstr(csv, "19.2"));
    free(csv);
    cJSON_Delete(rel);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submission_build_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submission_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_cells, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_unreliable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_unreliable_at_printed_margin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_rates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_rate_small_denominator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_complement_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_absurd_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_csv, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
