/*
 * test_spec_roster.c - the signed roster (protocol/round/roster.c) and round specification
 * (protocol/round/spec.c), built from data/regions/midden-utrecht.json with fresh keys.
 */
#include "testutil.h"
#include "testworld.h"

#include <math.h>

#include "canon.h"
#include "date.h"
#include "envelope.h"
#include "keys.h"
#include "phase.h"
#include "roster.h"
#include "privacy.h"
#include "spec.h"

static const char small_catalogue[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"T\",\"dimensions\":{},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"]}]}";

typedef struct world {
    char *dir, *roster_path;
    mp_keypair *coord, *other_coord;
    mp_keypair *orgs[NORGS];
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-01-15T09:00:00Z", 1), 0);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    assert_int_equal(mp_keys_generate(&w->other_coord, "coordinator"), 0);
    w->roster_path = tw_roster(&w->roster, w->dir, w->coord, w->pubs);
    assert_int_equal(mp_canon_parse(&w->catalogue, small_catalogue, sizeof small_catalogue - 1), 0);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_roster_free(w->roster);
    tw_keys_free(w->coord, w->orgs);
    mp_keys_free(w->other_coord);
    cJSON_Delete(w->catalogue);
    free(w->roster_path);
    tu_rmdir(w->dir);
    free(w);
    unsetenv("MIJLPAAL_NOW");
    return 0;
}

/* ---- roster ------------------------------------------------------------------------------ */

static void test_roster_contents(void **state)
{
    world *w = *state;
    mp_roster *r = w->roster;
    assert_string_equal(r->region_id, "midden-utrecht");
    assert_int_equal(r->ngemeenten, 14);
    assert_int_equal(r->norgs, NORGS);
    assert_memory_equal(r->coordinator.key_id, w->coord->pub.key_id, MP_KEY_ID_BYTES);
    for (int i = 0; i < NORGS; i++) {
        const mp_org *o = mp_roster_org(r, org_ids[i]);
        assert_non_null(o);
        assert_memory_equal(&o->key, &w->pubs[i], sizeof o->key);
        assert_ptr_equal(mp_roster_org_by_key(r, w->pubs[i].key_id), o);
    }
    assert_int_equal(mp_roster_org(r, "lekstroom")->ngemeenten, 4);
    assert_int_equal(mp_roster_org(r, "uwv")->ngemeenten, 14);
    assert_string_equal(mp_roster_org(r, "uwv")->kind, "uwv");
    assert_null(mp_roster_org(r, "amsterdam"));
    assert_null(mp_roster_org_by_key(r, w->coord->pub.key_id));
    assert_int_equal(mp_roster_has_gemeente(r, "GM0344"), 1);
    assert_int_equal(mp_roster_has_gemeente(r, "GM1904"), 1);
    assert_int_equal(mp_roster_has_gemeente(r, "GM0363"), 0); /* Amsterdam */
    assert_int_equal(mp_roster_has_gemeente(r, "0344"), 0);   /* canonical form only */
    /* The issued time comes from the (overridden) clock. */
    const char *issued;
    assert_int_equal(mp_json_str(r->env->body, "issued", &issued), 0);
    assert_string_equal(issued, "2026-01-15T09:00:00Z");
}

static void test_roster_build_refusals(void **state)
{
    world *w = *state;
    cJSON *body = NULL;
    /* A key missing (no key for uwv). */
    assert_int_equal(mp_roster_build(&body, REGION, &w->coord->pub, w->pubs, NORGS - 1), -1);
    assert_null(body);
    assert_non_null(strstr(mp_error_get(), "\"uwv\""));
    /* An extra key for an organisation outside the region. */
    mp_keypair *ams;
    mp_pubkey keys[NORGS + 1];
    assert_int_equal(mp_keys_generate(&ams, "amsterdam"), 0);
    memcpy(keys, w->pubs, sizeof w->pubs);
    keys[NORGS] = ams->pub;
    assert_int_equal(mp_roster_build(&body, REGION, &w->coord->pub, keys, NORGS + 1), -1);
    assert_null(body);
    assert_non_null(strstr(mp_error_get(), "belong to no organisation"));
    /* A second key for an organisation that has one. */
    mp_keypair *utr2;
    assert_int_equal(mp_keys_generate(&utr2, "utrecht"), 0);
    keys[NORGS] = utr2->pub;
    assert_int_equal(mp_roster_build(&body, REGION, &w->coord->pub, keys, NORGS + 1), -1);
    assert_null(body);
    /* Two organisations sharing one key (the key says "utrecht", given for both). */
    memcpy(keys, w->pubs, sizeof w->pubs);
    keys[1] = w->pubs[0];
    strcpy(keys[1].org, "stichtse-vecht"); /* the key id covers only the keys */
    assert_int_equal(mp_roster_build(&body, REGION, &w->coord->pub, keys, NORGS), -1);
    assert_null(body);
    /* A region file that does not exist, or with an unknown field. */
    assert_int_equal(
        mp_roster_build(&body, "../../data/regions/none.json", &w->coord->pub, w->pubs, NORGS), -1);
    char *bad = tu_path(w->dir, "bad-region.json");
    static const char region_extra[] =
        "{\"mijlpaal_region\":1,\"id\":\"r\",\"name\":\"R\",\"centrumgemeente\":\"GM0344\","
        "\"gemeenten\":[{\"code\":\"GM0344\",\"name\":\"U\"}],\"organisations\":[{\"id\":"
        "\"utrecht\",\"name\":\"U\",\"kind\":\"gemeente\",\"gemeenten\":[\"GM0344\"]}],"
        "\"extra\":true}";
    tu_write(bad, region_extra, sizeof region_extra - 1);
    assert_int_equal(mp_roster_build(&body, bad, &w->coord->pub, w->pubs, 1), -1);
    assert_non_null(strstr(mp_error_get(), "\"extra\""));
    /* An organisation serving a gemeente outside the region. */
    static const char region_outside[] =
        "{\"mijlpaal_region\":1,\"id\":\"r\",\"name\":\"R\",\"centrumgemeente\":\"GM0344\","
        "\"gemeenten\":[{\"code\":\"GM0344\",\"name\":\"U\"}],\"organisations\":[{\"id\":"
        "\"utrecht\",\"name\":\"U\",\"kind\":\"gemeente\",\"gemeenten\":[\"GM0363\"]}]}";
    assert_int_equal(unlink(bad), 0);
    tu_write(bad, region_outside, sizeof region_outside - 1);
    assert_int_equal(mp_roster_build(&body, bad, &w->coord->pub, w->pubs, 1), -1);
    assert_non_null(strstr(mp_error_get(), "GM0363"));
    free(bad);
    mp_keys_free(ams);
    mp_keys_free(utr2);
}

static void test_roster_load_refusals(void **state)
{
    world *w = *state;
    mp_roster *r = NULL;
    /* Verified against another coordinator key. */
    assert_int_equal(mp_roster_load(&r, w->roster_path, &w->other_coord->pub), -1);
    assert_null(r);
    assert_non_null(strstr(mp_error_get(), "different coordinator"));
    /* Against an organisation's key. */
    assert_int_equal(mp_roster_load(&r, w->roster_path, &w->pubs[0]), -1);
    assert_null(r);

    /* A roster naming the right coordinator but signed by another key. */
    cJSON *body;
    assert_int_equal(mp_roster_build(&body, REGION, &w->coord->pub, w->pubs, NORGS), 0);
    char *forged = tw_write_signed(w->dir, "forged.json", "roster", body, w->other_coord);
    assert_int_equal(mp_roster_load(&r, forged, &w->coord->pub), -1);
    assert_null(r);
    /* A roster naming (and signed by) another coordinator, checked against the trusted one. */
    cJSON_Delete(body);
    assert_int_equal(mp_roster_build(&body, REGION, &w->other_coord->pub, w->pubs, NORGS), 0);
    char *other = tw_write_signed(w->dir, "other.json", "roster", body, w->other_coord);
    assert_int_equal(mp_roster_load(&r, other, &w->coord->pub), -1);
    assert_null(r);
    assert_int_equal(mp_roster_load(&r, other, &w->other_coord->pub), 0);
    mp_roster_free(r);
    r = NULL;
    /* The right body signed as another document type. */
    char *wrongtype = tw_write_signed(w->dir, "wrongtype.json", "round", body, w->other_coord);
    assert_int_equal(mp_roster_load(&r, wrongtype, &w->other_coord->pub), -1);
    assert_null(r);
    /* A body modified after signing (a gemeente added to fermwerk). */
    cJSON *orgs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "region"),
                                                   "organisations");
    cJSON *ferm = cJSON_GetArrayItem(orgs, 3);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ferm, "id")->valuestring, "fermwerk");
    char *text;
    size_t len;
    assert_int_equal(mp_envelope_sign(&text, &len, "roster", body, w->other_coord), 0);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(ferm, "gemeenten"),
                         cJSON_CreateString("GM0344"));
    char *canon;
    size_t clen;
    assert_int_equal(mp_canon_serialise(&canon, &clen, body), 0);
    /* Splice the modified body into the signed envelope text. */
    cJSON *env;
    assert_int_equal(mp_canon_parse(&env, text, len), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(env, "body", cJSON_Duplicate(body, 1));
    char *etext;
    size_t elen;
    assert_int_equal(mp_canon_serialise(&etext, &elen, env), 0);
    char *tampered = tu_path(w->dir, "tampered.json");
    tu_write(tampered, etext, elen);
    assert_int_equal(mp_roster_load(&r, tampered, &w->other_coord->pub), -1);
    assert_null(r);
    assert_non_null(strstr(mp_error_get(), "does not verify"));
    free(canon);
    free(etext);
    free(text);
    cJSON_Delete(env);
    cJSON_Delete(body);
    free(tampered);
    free(wrongtype);
    free(other);
    free(forged);
}

/* ---- round specification ---------------------------------------------------------------- */

static mp_spec_params good_params(void)
{
    return tw_round_params("mu-2025", "4");
}

static int build(world *w, const mp_spec_params *p)
{
    cJSON *body = NULL;
    mp_error_clear();
    int rc = mp_spec_build(&body, p, w->roster, w->catalogue);
    if (rc == 0)
        assert_non_null(body);
    else
        assert_null(body);
    cJSON_Delete(body);
    return rc;
}

static void test_spec_build_and_load(void **state)
{
    world *w = *state;
    mp_spec_params p = good_params();
    cJSON *body;
    if (mp_spec_build(&body, &p, w->roster, w->catalogue) != 0)
        fail_msg("spec build: %s", mp_error_get());
    char *path = tw_write_signed(w->dir, "round.json", "round", body, w->coord);
    mp_spec *s = NULL;
    if (mp_spec_load(&s, path, w->roster) != 0)
        fail_msg("spec load: %s", mp_error_get());
    assert_string_equal(s->round_id, "mu-2025");
    assert_string_equal(s->region, "midden-utrecht");
    assert_memory_equal(s->roster_hash, w->roster->env->hash, MP_HASH_BYTES);
    assert_int_equal(s->period_start, mp_date_from_civil(2025, 1, 1));
    assert_int_equal(s->period_end, mp_date_from_civil(2025, 12, 31));
    int64_t t;
    assert_int_equal(mp_time_parse("2026-01-15T09:00:00Z", &t), 0);
    assert_int_equal(s->opened, t);
    assert_int_equal(mp_time_parse("2026-02-01T12:00:00Z", &t), 0);
    assert_int_equal(s->deadline, t);
    /* Every organisation of the roster, sorted. */
    assert_int_equal(s->nparticipants, NORGS);
    static const char *const sorted[NORGS] = {"fermwerk",       "lekstroom", "rsd-krh",
                                              "stichtse-vecht", "utrecht",   "uwv"};
    for (int i = 0; i < NORGS; i++) {
        assert_string_equal(s->participants[i], sorted[i]);
        assert_int_equal(mp_spec_participant(s, sorted[i]), i);
    }
    assert_int_equal(mp_spec_participant(s, "amsterdam"), -1);
    assert_int_equal(s->k_min, 3);
    assert_non_null(s->catalogue);
    assert_int_equal(s->catalogue->ncells, 1);
    assert_string_equal(s->privacy.series, "mu");
    assert_true(s->privacy.rho == 1.0 && s->privacy.series_rho == 4.0);
    assert_int_equal(s->privacy.t, 1);
    /* The signed share variance meets the budget for 6 - 1 honest shares, and is close to the
     * smallest that does (calibration grows in steps of 0.1%). */
    uint64_t num, den;
    mp_sensitivity sens;
    mp_spec_share_variance(s, &num, &den);
    assert_int_equal(den, 1000);
    mp_privacy_sensitivity(s->catalogue, 2, &sens);
    double bound = mp_privacy_ddg_rho((double)num / (double)den, 5, &sens, 1);
    assert_true(bound <= 1.0);
    assert_true(bound >= 0.99);
    mp_spec_free(s);

    /* The same body signed by an organisation instead of the coordinator. */
    char *bypath = tw_write_signed(w->dir, "round-by-org.json", "round", body, w->orgs[0]);
    s = NULL;
    assert_int_equal(mp_spec_load(&s, bypath, w->roster), -1);
    assert_null(s);
    /* A round for another roster (different keys, so a different roster hash). */
    mp_keypair *k2;
    mp_pubkey pubs2[NORGS];
    memcpy(pubs2, w->pubs, sizeof pubs2);
    assert_int_equal(mp_keys_generate(&k2, "uwv"), 0);
    pubs2[5] = k2->pub;
    cJSON *rb;
    assert_int_equal(mp_roster_build(&rb, REGION, &w->coord->pub, pubs2, NORGS), 0);
    char *r2path = tw_write_signed(w->dir, "roster2.json", "roster", rb, w->coord);
    mp_roster *r2;
    assert_int_equal(mp_roster_load(&r2, r2path, &w->coord->pub), 0);
    assert_memory_not_equal(r2->env->hash, w->roster->env->hash, MP_HASH_BYTES);
    assert_int_equal(mp_spec_load(&s, path, r2), -1);
    assert_non_null(strstr(mp_error_get(), "roster_sha256"));
    mp_roster_free(r2);
    cJSON_Delete(rb);
    mp_keys_free(k2);
    free(r2path);
    free(bypath);
    free(path);
    cJSON_Delete(body);
}

static void test_spec_participants_subset(void **state)
{
    world *w = *state;
    mp_spec_params p = good_params();
    static const char *const three[] = {"uwv", "utrecht", "lekstroom"}; /* unsorted on input */
    p.participants = three;
    p.nparticipants = 3;
    cJSON *body;
    assert_int_equal(mp_spec_build(&body, &p, w->roster, w->catalogue), 0);
    const cJSON *parts;
    assert_int_equal(mp_json_arr(body, "participants", &parts), 0);
    assert_int_equal(cJSON_GetArraySize(parts), 3);
    assert_string_equal(cJSON_GetArrayItem(parts, 0)->valuestring, "lekstroom");
    assert_string_equal(cJSON_GetArrayItem(parts, 1)->valuestring, "utrecht");
    assert_string_equal(cJSON_GetArrayItem(parts, 2)->valuestring, "uwv");
    cJSON_Delete(body);
}

static void test_spec_refusals(void **state)
{
    world *w = *state;
    mp_spec_params p;

    p = good_params();
    assert_int_equal(build(w, &p), 0);

    p = good_params();
    p.k_min = 2;
    assert_int_equal(build(w, &p), -1);
    assert_non_null(strstr(mp_error_get(), "k_min 2"));

    p = good_params();
    p.k_min = 7; /* 6 participants */
    assert_int_equal(build(w, &p), -1);
    assert_non_null(strstr(mp_error_get(), "cannot reach k_min"));

    static const char *const three[] = {"utrecht", "uwv", "lekstroom"};
    p = good_params();
    p.participants = three;
    p.nparticipants = 3;
    p.k_min = 4;
    assert_int_equal(build(w, &p), -1);
    p.k_min = 3;
    assert_int_equal(build(w, &p), 0);

    static const char *const stranger[] = {"utrecht", "uwv", "amsterdam"};
    p = good_params();
    p.participants = stranger;
    p.nparticipants = 3;
    assert_int_equal(build(w, &p), -1);
    assert_non_null(strstr(mp_error_get(), "amsterdam"));

    static const char *const twice[] = {"utrecht", "uwv", "utrecht", "lekstroom"};
    p = good_params();
    p.participants = twice;
    p.nparticipants = 4;
    assert_int_equal(build(w, &p), -1);

    p = good_params();
    p.period_start = "2026-01-01";
    p.period_end = "2025-12-31";
    assert_int_equal(build(w, &p), -1);
    assert_non_null(strstr(mp_error_get(), "period"));
    p.period_start = "2025-12-31"; /* a one-day period is fine */
    assert_int_equal(build(w, &p), 0);
    p.period_start = "2025-02-30";
    assert_int_equal(build(w, &p), -1);

    p = good_params();
    p.deadline = "2026-01-14T09:00:00Z"; /* before now (MIJLPAAL_NOW) */
    assert_int_equal(build(w, &p), -1);
    assert_non_null(strstr(mp_error_get(), "deadline"));
    p.deadline = "2026-01-15T09:00:00Z"; /* equal to now */
    assert_int_equal(build(w, &p), -1);
    p.deadline = "2026-01-15T09:00:01Z";
    assert_int_equal(build(w, &p), 0);
    p.deadline = "2026-02-01";
    assert_int_equal(build(w, &p), -1);

    p = good_params();
    p.round_id = "Mu_2025";
    assert_int_equal(build(w, &p), -1);
    p.round_id = "";
    assert_int_equal(build(w, &p), -1);

    p = good_params();
    p.rho = "0";
    assert_int_equal(build(w, &p), -1);
    p.rho = "0.1234567"; /* more than 6 decimals */
    assert_int_equal(build(w, &p), -1);
    p.rho = "0.125";
    assert_int_equal(build(w, &p), 0);
    p = good_params();
    p.series_rho = "0.5"; /* less than this round alone */
    assert_int_equal(build(w, &p), -1);
    assert_non_null(strstr(mp_error_get(), "over budget"));
    p = good_params();
    p.series_spent = 3.5; /* 3.5 + 1 > 4 */
    assert_int_equal(build(w, &p), -1);
    p.series_spent = 3;
    assert_int_equal(build(w, &p), 0);
    p = good_params();
    p.t = 6; /* as many as the participants: nobody's noise would be counted on */
    assert_int_equal(build(w, &p), -1);
    p.t = 5;
    assert_int_equal(build(w, &p), 0);
    p = good_params();
    p.max_orgs = 0;
    assert_int_equal(build(w, &p), -1);
    p = good_params();
    p.series = "Mu Series";
    assert_int_equal(build(w, &p), -1);

    /* An invalid catalogue is refused when the round is built. */
    cJSON *bad = cJSON_Duplicate(w->catalogue, 1);
    cJSON_AddStringToObject(bad, "extra", "x");
    cJSON *body = NULL;
    p = good_params();
    assert_int_equal(mp_spec_build(&body, &p, w->roster, bad), -1);
    assert_null(body);
    cJSON_Delete(bad);
}

/* ---- masking scheme bonawitz-v1: the threshold (spec.h invariant 4) --------------------- */

static mp_spec_params bonawitz_params(long long threshold, long long t, long long k_min)
{
    mp_spec_params p = good_params();
    p.masking = MP_SCHEME_BONAWITZ;
    p.threshold = threshold;
    p.t = t;
    p.k_min = k_min;
    return p;
}

/* The masking block of a built round body. */
static void built_masking(world *w, const mp_spec_params *p, const char **scheme,
                          long long *threshold)
{
    cJSON *body = NULL;
    const cJSON *masking;
    if (mp_spec_build(&body, p, w->roster, w->catalogue) != 0)
        fail_msg("spec build: %s", mp_error_get());
    assert_int_equal(mp_json_obj(body, "masking", &masking), 0);
    *scheme = cJSON_GetObjectItemCaseSensitive(masking, "scheme")->valuestring;
    assert_true(strcmp(*scheme, MP_SCHEME_BONAWITZ) == 0 ||
                strcmp(*scheme, MP_SCHEME_PAIRWISE) == 0);
    *scheme = strcmp(*scheme, MP_SCHEME_BONAWITZ) == 0 ? MP_SCHEME_BONAWITZ : MP_SCHEME_PAIRWISE;
    if (cJSON_GetObjectItemCaseSensitive(masking, "threshold") == NULL)
        *threshold = 0;
    else
        assert_int_equal(mp_json_int(masking, "threshold", 1, 1000, threshold), 0);
    cJSON_Delete(body);
}

static void expect_build_refused(world *w, const mp_spec_params *p, const char *why)
{
    if (build(w, p) != -1)
        fail_msg("threshold %lld (t %lld, k_min %lld) accepted, expected \"%s\"", p->threshold,
                 p->t, p->k_min, why);
    if (strstr(mp_error_get(), why) == NULL)
        fail_msg("reason \"%s\" does not mention \"%s\"", mp_error_get(), why);
}

static void expect_build_ok(world *w, const mp_spec_params *p)
{
    if (build(w, p) != 0)
        fail_msg("threshold %lld (t %lld, k_min %lld) refused: %s", p->threshold, p->t, p->k_min,
                 mp_error_get());
}

/* Each bound refused on its own (the other bounds met), and the value just inside it accepted;
 * six participants throughout. */
static void test_masking_threshold_refusals(void **state)
{
    world *w = *state;
    mp_spec_params p;

    /* Not enough against the colluders: c = t = 3 needs 2T > 9; T = 3 and 4 meet k_min = 3
     * and n - t = 3, but two groups sharing the three colluders could each reach T. */
    p = bonawitz_params(4, 3, 3);
    expect_build_refused(w, &p,
                         "masking threshold 4 of 6 participants does not resist 3 "
                         "colluders");
    expect_build_refused(w, &p, "use a threshold of at least 5");
    p.threshold = 3;
    expect_build_refused(w, &p, "masking threshold 3 does not exceed the 3 colluders");
    p.threshold = 5;
    expect_build_ok(w, &p);
    /* The example: n = 6, T = 4 falls to two colluders, resists one. */
    p = bonawitz_params(4, 1, 3);
    p.colluders = 2;
    expect_build_refused(w, &p, "masking threshold 4 of 6 participants does not resist 2");
    p.colluders = 1;
    p.t = 2;
    expect_build_refused(w, &p, "fewer than the t = 2");
    p.colluders = 2;
    p.threshold = 5;
    expect_build_ok(w, &p);
    /* c colluders: T must exceed c, and c must leave someone honest. */
    p = bonawitz_params(5, 2, 3);
    p.colluders = 5;
    expect_build_refused(w, &p, "masking threshold 5 does not exceed the 5 colluders");
    p.colluders = 6;
    expect_build_refused(w, &p, "cannot resist 6 colluders among 6 participants");
    p.colluders = 4;
    expect_build_refused(w, &p, "does not resist 4 colluders");
    p.threshold = 6;
    expect_build_ok(w, &p);
    p.threshold = 2;
    p.colluders = 0;
    p.t = 0;
    expect_build_refused(w, &p, "does not resist 0 colluders");

    /* Below k_min. */
    p = bonawitz_params(4, 1, 5);
    expect_build_refused(w, &p, "masking threshold 4 is below k_min 5");
    p.threshold = 5;
    expect_build_ok(w, &p);
    p = bonawitz_params(5, 2, 6);
    expect_build_refused(w, &p, "masking threshold 5 is below k_min 6");
    p.threshold = 6;
    expect_build_ok(w, &p);

    /* More than the participants. */
    p = bonawitz_params(7, 2, 3);
    expect_build_refused(w, &p, "masking threshold 7 is more than the 6 participants");
    p.threshold = 6;
    expect_build_ok(w, &p);

    /* Below n - t: more could drop out than the noise is calibrated for. */
    p = bonawitz_params(4, 1, 3);
    expect_build_refused(w, &p, "masking threshold 4 lets 2 of 6 participants drop out");
    expect_build_refused(w, &p, "t = 1");
    expect_build_refused(w, &p, "at least 5");
    p.threshold = 5;
    expect_build_ok(w, &p);
    p = bonawitz_params(5, 0, 3);
    expect_build_refused(w, &p, "masking threshold 5 lets 1 of 6 participants drop out");
    p.threshold = 6;
    expect_build_ok(w, &p);
    p = bonawitz_params(5, 1, 3); /* n - t = 5 exactly */
    expect_build_ok(w, &p);

    /* An odd number of participants: 3 of 5 is a majority, 2 of 5 is not. */
    static const char *const five[] = {"utrecht", "uwv", "lekstroom", "fermwerk", "rsd-krh"};
    p = bonawitz_params(3, 2, 3);
    p.participants = five;
    p.nparticipants = 5;
    expect_build_refused(w, &p, "masking threshold 3 of 5 participants does not resist 2");
    p.threshold = 4;
    expect_build_ok(w, &p);
    p = bonawitz_params(3, 0, 3);
    p.participants = five;
    p.nparticipants = 5;
    p.threshold = 2;
    expect_build_refused(w, &p, "masking threshold 2 of 5 participants does not resist 0");
    p.threshold = 6;
    expect_build_refused(w, &p, "masking threshold 6 is more than the 5 participants");

    /* A threshold with masking scheme pairwise-v1 (named, or by default), or an unknown
     * scheme. */
    p = good_params();
    p.threshold = 4;
    expect_build_refused(w, &p,
                         "a threshold and a number of colluders apply to masking scheme "
                         "bonawitz-v1 only");
    p.masking = MP_SCHEME_PAIRWISE;
    expect_build_refused(w, &p, "apply to masking scheme bonawitz-v1 only");
    p.threshold = 0;
    p.colluders = 1;
    expect_build_refused(w, &p, "apply to masking scheme bonawitz-v1 only");
    p.colluders = 0;
    p.threshold = 0;
    expect_build_ok(w, &p);
    p.masking = "bonawitz-v2";
    expect_build_refused(w, &p, "unknown masking scheme \"bonawitz-v2\"");
}

/* The default threshold is max(k_min, floor((n + c)/2) + 1, n - t, c + 1) with c = t unless
 * declared: the smallest that meets every bound of invariant 4. */
static void test_masking_threshold_default(void **state)
{
    world *w = *state;
    const char *scheme;
    long long T;
    static const struct {
        long long t, k_min, want;
    } six[] = {
        {2, 3, 5}, /* (n + c)/2 + 1 */
        {3, 3, 5}, /* (n + c)/2 + 1 */
        {5, 3, 6}, /* (n + c)/2 + 1, t as large as allowed */
        {1, 3, 5}, /* n - t */
        {0, 3, 6}, /* n - t: nobody may drop out */
        {2, 6, 6}, /* k_min */
        {4, 6, 6}, /* k_min */
    };
    for (size_t i = 0; i < sizeof six / sizeof *six; i++) {
        mp_spec_params p = bonawitz_params(0, six[i].t, six[i].k_min);
        assert_int_equal(mp_spec_default_threshold(NORGS, six[i].k_min, six[i].t, six[i].t),
                         six[i].want);
        built_masking(w, &p, &scheme, &T);
        assert_string_equal(scheme, MP_SCHEME_BONAWITZ);
        assert_int_equal(T, six[i].want);
    }
    /* Three participants: all three are needed (k_min = 3). */
    static const char *const three[] = {"utrecht", "uwv", "lekstroom"};
    mp_spec_params p = bonawitz_params(0, 1, 3);
    p.participants = three;
    p.nparticipants = 3;
    built_masking(w, &p, &scheme, &T);
    assert_int_equal(T, 3);
    /* An explicit threshold is kept; pairwise-v1 has none. */
    p = bonawitz_params(6, 2, 3);
    built_masking(w, &p, &scheme, &T);
    assert_int_equal(T, 6);
    p = good_params();
    built_masking(w, &p, &scheme, &T);
    assert_string_equal(scheme, MP_SCHEME_PAIRWISE);
    assert_int_equal(T, 0);

    /* Over a grid: the default meets every bound, and one less breaks one (it is the least). */
    for (long long n = 3; n <= 40; n++)
        for (long long k = 3; k <= n; k++)
            for (long long t = 0; t < n; t++)
                for (long long c = t; c < n; c++) {
                    long long d = mp_spec_default_threshold((size_t)n, k, t, c);
                    assert_true(2 * d > n + c && d > c && d >= k && d <= n && d >= n - t);
                    long long e = d - 1;
                    assert_false(2 * e > n + c && e > c && e >= k && e <= n && e >= n - t);
                }
}

/* A loaded round carries its scheme and threshold; a signed body that breaks invariant 4 is
 * refused by every reader, not only by the builder. */
static void test_masking_threshold_load(void **state)
{
    world *w = *state;
    mp_spec_params p = bonawitz_params(5, 2, 3);
    cJSON *body, *masking;
    mp_spec *s = NULL;
    char *path;
    assert_int_equal(mp_spec_build(&body, &p, w->roster, w->catalogue), 0);
    path = tw_write_signed(w->dir, "bonawitz.json", "round", body, w->coord);
    if (mp_spec_load(&s, path, w->roster) != 0)
        fail_msg("%s", mp_error_get());
    assert_int_equal(s->masking, MP_MASKING_BONAWITZ);
    assert_int_equal(s->threshold, 5);
    assert_string_equal(mp_spec_scheme_name(s), MP_SCHEME_BONAWITZ);
    mp_spec_free(s);
    free(path);

    static const struct {
        double threshold;
        const char *why;
    } bad[] = {
        {4, "does not resist 2 colluders"},
        {2, "does not exceed the 2 colluders"},
        {7, "is more than the 6 participants"},
        {0, "threshold"},
        {-1, "threshold"},
    };
    masking = cJSON_GetObjectItemCaseSensitive(body, "masking");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON_ReplaceItemInObjectCaseSensitive(masking, "threshold",
                                               cJSON_CreateNumber(bad[i].threshold));
        path = tw_write_signed(w->dir, "bad-threshold.json", "round", body, w->coord);
        s = NULL;
        if (mp_spec_load(&s, path, w->roster) != -1)
            fail_msg("threshold %g loaded", bad[i].threshold);
        assert_null(s);
        if (strstr(mp_error_get(), bad[i].why) == NULL)
            fail_msg("threshold %g: reason \"%s\" does not mention \"%s\"", bad[i].threshold,
                     mp_error_get(), bad[i].why);
        free(path);
    }
    /* Above the colluder bound (t = c = 2 in this body). */
    cJSON_ReplaceItemInObjectCaseSensitive(masking, "threshold", cJSON_CreateNumber(6));
    path = tw_write_signed(w->dir, "ok-threshold.json", "round", body, w->coord);
    assert_int_equal(mp_spec_load(&s, path, w->roster), 0);
    assert_int_equal(s->threshold, 6);
    assert_int_equal(s->colluders, 2);
    mp_spec_free(s);
    free(path);
    /* Colluders below t, or missing. */
    cJSON_ReplaceItemInObjectCaseSensitive(masking, "colluders", cJSON_CreateNumber(1));
    path = tw_write_signed(w->dir, "few-colluders.json", "round", body, w->coord);
    s = NULL;
    assert_int_equal(mp_spec_load(&s, path, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "fewer than the t = 2"));
    free(path);
    cJSON_DeleteItemFromObjectCaseSensitive(masking, "colluders");
    path = tw_write_signed(w->dir, "no-colluders.json", "round", body, w->coord);
    assert_int_equal(mp_spec_load(&s, path, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "colluders"));
    free(path);
    cJSON_AddNumberToObject(masking, "colluders", 2);
    path = tw_write_signed(w->dir, "ok-threshold.json", "round", body, w->coord);
    assert_int_equal(mp_spec_load(&s, path, w->roster), 0);
    mp_spec_free(s);
    free(path);
    /* No threshold at all for bonawitz-v1; a threshold for pairwise-v1. */
    cJSON_DeleteItemFromObjectCaseSensitive(masking, "threshold");
    path = tw_write_signed(w->dir, "no-threshold.json", "round", body, w->coord);
    s = NULL;
    assert_int_equal(mp_spec_load(&s, path, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "threshold"));
    free(path);
    cJSON_ReplaceItemInObjectCaseSensitive(masking, "scheme", cJSON_CreateString("pairwise-v1"));
    path = tw_write_signed(w->dir, "pairwise-colluders.json", "round", body, w->coord);
    assert_int_equal(mp_spec_load(&s, path, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "has no threshold or colluders"));
    free(path);
    cJSON_DeleteItemFromObjectCaseSensitive(masking, "colluders");
    path = tw_write_signed(w->dir, "pairwise-plain.json", "round", body, w->coord);
    assert_int_equal(mp_spec_load(&s, path, w->roster), 0);
    assert_int_equal(s->masking, MP_MASKING_PAIRWISE);
    assert_int_equal(s->threshold, NORGS); /* every participant is needed */
    mp_spec_free(s);
    s = NULL;
    free(path);
    cJSON_AddNumberToObject(masking, "threshold", 4);
    path = tw_write_signed(w->dir, "pairwise-threshold.json", "round", body, w->coord);
    assert_int_equal(mp_spec_load(&s, path, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "masking scheme pairwise-v1 has no threshold"));
    free(path);
    cJSON_ReplaceItemInObjectCaseSensitive(masking, "scheme", cJSON_CreateString("shamir-v9"));
    path = tw_write_signed(w->dir, "unknown-scheme.json", "round", body, w->coord);
    assert_int_equal(mp_spec_load(&s, path, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "\"shamir-v9\" is not supported"));
    free(path);
    cJSON_Delete(body);
}

static void test_rho_parse(void **state)
{
    (void)state;
    double v;
    static const struct {
        const char *text;
        double value;
    } ok[] = {{"1", 1}, {"0.25", 0.25}, {"0.000001", 1e-6}, {"1000", 1000}, {"2.5", 2.5}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        if (mp_privacy_parse_rho(ok[i].text, &v) != 0)
            fail_msg("\"%s\" refused: %s", ok[i].text, mp_error_get());
        assert_true(v == ok[i].value);
    }
    static const char *const bad[] = {"0",  "0.0000001", "1000.5", "abc", "",    "-1",
                                      "1.", ".5",        "1e3",    " 1",  "1,5", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (mp_privacy_parse_rho(bad[i], &v) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
}

/* With a large share variance tau vanishes and the bound is the central discrete Gaussian's
 * Delta2^2 / (2 k s^2); with a small one the distributed bound is strictly worse. */
static void test_calibration(void **state)
{
    (void)state;
    mp_sensitivity sens = {19, 2, 38, 2 * 4.358898943540674};
    uint64_t num, den;
    double central = sens.l2 * sens.l2 / (2.0 * 5 * 100.0);
    double bound = mp_privacy_ddg_rho(100.0, 5, &sens, 52);
    assert_true(fabs(bound - central) < 1e-12 * central);
    assert_true(mp_privacy_ddg_rho(0.3, 5, &sens, 52) > sens.l2 * sens.l2 / (2.0 * 5 * 0.3));
    for (double rho = 0.01; rho < 20; rho *= 3) {
        assert_int_equal(mp_privacy_calibrate(MP_MECH_DDG, rho, 5, &sens, 52, &num, &den), 0);
        assert_int_equal(den, 1000);
        bound = mp_privacy_ddg_rho((double)num / (double)den, 5, &sens, 52);
        assert_true(bound <= rho);
        assert_true(bound > 0.98 * rho);
    }
    /* More honest participants need less noise each, for the same total. */
    uint64_t num10;
    assert_int_equal(mp_privacy_calibrate(MP_MECH_DDG, 0.5, 5, &sens, 52, &num, &den), 0);
    assert_int_equal(mp_privacy_calibrate(MP_MECH_DDG, 0.5, 10, &sens, 52, &num10, &den), 0);
    assert_true(num10 < num);
    /* Equivalent epsilon (Bun-Steinke): rho + 2 sqrt(rho ln(1/delta)). */
    assert_true(fabs(mp_privacy_epsilon(0.5, 1e-6) - (0.5 + 2 * sqrt(0.5 * log(1e6)))) < 1e-12);
    /* Skellam needs a little more noise for the same budget (its bound has a second-order
     * term), and its bound tends to the central one as the variance grows. */
    uint64_t numsk;
    assert_int_equal(mp_privacy_calibrate(MP_MECH_SKELLAM, 0.5, 5, &sens, 52, &numsk, &den), 0);
    assert_true(numsk > num);
    assert_true(mp_privacy_skellam_rho((double)numsk / 1000.0, 5, &sens) <= 0.5);
    double big = mp_privacy_skellam_rho(1e6, 5, &sens);
    assert_true(big > sens.l2 * sens.l2 / (2.0 * 5e6) && big < 1.001 * sens.l2 * sens.l2 / 1e7);
    assert_int_equal(mp_mechanism_parse("skellam"), MP_MECH_SKELLAM);
    assert_int_equal(mp_mechanism_parse("laplace"), -1);
    /* A budget that would need more noise than the sampler takes is refused. */
    assert_int_equal(mp_privacy_calibrate(MP_MECH_DDG, 1e-12, 5, &sens, 52, &num, &den), -1);
}

/* Masking scheme and round phase names: one parse and one name function each. */
static void test_scheme_and_phase_names(void **state)
{
    (void)state;
    enum mp_masking m = MP_MASKING_BONAWITZ;
    assert_int_equal(mp_masking_parse(&m, "pairwise-v1"), 0);
    assert_int_equal(m, MP_MASKING_PAIRWISE);
    assert_int_equal(mp_masking_parse(&m, "bonawitz-v1"), 0);
    assert_int_equal(m, MP_MASKING_BONAWITZ);
    assert_string_equal(mp_masking_name(MP_MASKING_PAIRWISE), "pairwise-v1");
    assert_string_equal(mp_masking_name(MP_MASKING_BONAWITZ), "bonawitz-v1");
    assert_int_equal(mp_masking_parse(&m, "Bonawitz-v1"), -1);
    assert_non_null(strstr(mp_error_get(), "unknown masking scheme"));
    assert_int_equal(m, MP_MASKING_BONAWITZ); /* unchanged on failure */
    assert_int_equal(mp_masking_parse(&m, NULL), -1);

    static const char *const phases[] = {"", "advertise", "share", "submit", "confirm", "unmask"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(mp_phase_parse(phases[i]), i);
        assert_string_equal(mp_phase_name((enum mp_phase)i), phases[i]);
    }
    assert_int_equal(mp_phase_parse(MP_PHASE_CLOSED == 0 ? "advertised" : ""), MP_PHASE_UNKNOWN);
    assert_int_equal(mp_phase_parse(NULL), MP_PHASE_UNKNOWN);
    assert_string_equal(mp_phase_name(MP_PHASE_UNKNOWN), "?");
    assert_true(MP_PHASE_ADVERTISE < MP_PHASE_SHARE && MP_PHASE_SHARE < MP_PHASE_SUBMIT &&
                MP_PHASE_SUBMIT < MP_PHASE_CONFIRM && MP_PHASE_CONFIRM < MP_PHASE_UNMASK);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme_and_phase_names),
        cmocka_unit_test_setup_teardown(test_roster_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roster_build_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roster_load_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_build_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_participants_subset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masking_threshold_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masking_threshold_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masking_threshold_load, setup, teardown),
        cmocka_unit_test(test_rho_parse),
        cmocka_unit_test(test_calibration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
