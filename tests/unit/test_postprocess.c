/*
 * test_postprocess.c - consistency, exactness and accuracy of the post-processing.
 *
 * The catalogue is built inline (CATALOGUE below): dimensions age (3 bands) and duration
 * (2 bands), and four metrics with 0, 1 and 2 breakdowns:
 *
 *   cell  0        plain                        (no breakdown)
 *   cells 1..4     by_age:      total, age 0..2
 *   cells 5..10    by_both:     total, age 0..2, duration 0..1
 *   cells 11..16   by_dur_age:  total, duration 0..1, age 0..2   (breakdowns in the other order)
 *
 * Random vectors come from a fixed-seed 64-bit LCG, so every run sees the same inputs. A
 * long-double reimplementation of steps 1 and 2 (reference()) is allowed here, never in the
 * library, and checks the exact integer code against the formulas of postprocess.h.
 */
#include "testutil.h"

#include <math.h>

#include "canon.h"
#include "catalogue.h"
#include "postprocess.h"

#define NCELLS 17

static const char CATALOGUE[] =
    "{\"mijlpaal_catalogue\": 1, \"id\": \"test\", \"version\": 1, \"title\": \"Test\","
    " \"dimensions\": {"
    "  \"age\": {\"title\": \"Leeftijd\", \"bands\": ["
    "    {\"label\": \"tot 27\", \"min\": 15, \"max\": 26},"
    "    {\"label\": \"27-54\", \"min\": 27, \"max\": 54},"
    "    {\"label\": \"55+\", \"min\": 55, \"max\": 200}]},"
    "  \"duration\": {\"title\": \"Uitkeringsduur\", \"bands\": ["
    "    {\"label\": \"korter dan 1 jaar\", \"min_months\": 0, \"max_months\": 11},"
    "    {\"label\": \"1 jaar of langer\", \"min_months\": 12, \"max_months\": 1200}]}},"
    " \"metrics\": ["
    "  {\"id\": \"plain\", \"title\": \"t\", \"description\": \"d\", \"source\": \"s\","
    "   \"kind\": \"stock\", \"spells\": [\"bijstand\"]},"
    "  {\"id\": \"by_age\", \"title\": \"t\", \"description\": \"d\", \"source\": \"s\","
    "   \"kind\": \"stock\", \"spells\": [\"bijstand\"], \"breakdowns\": [\"age\"]},"
    "  {\"id\": \"by_both\", \"title\": \"t\", \"description\": \"d\", \"source\": \"s\","
    "   \"kind\": \"exit\", \"spells\": [\"ww\"], \"end_reasons\": [\"werk\"],"
    "   \"breakdowns\": [\"age\", \"duration\"]},"
    "  {\"id\": \"by_dur_age\", \"title\": \"t\", \"description\": \"d\", \"source\": \"s\","
    "   \"kind\": \"stock\", \"spells\": [\"ww\"], \"breakdowns\": [\"duration\", \"age\"]}]}";

static mp_catalogue *test_catalogue(void)
{
    cJSON *j = NULL;
    mp_catalogue *c = NULL;
    assert_int_equal(mp_canon_parse(&j, CATALOGUE, strlen(CATALOGUE)), 0);
    if (mp_catalogue_parse(&c, j) != 0)
        fail_msg("%s", mp_error_get());
    cJSON_Delete(j);
    assert_int_equal(c->ncells, NCELLS);
    return c;
}

static mp_catalogue *real_catalogue(const char *region)
{
    char path[256];
    mp_catalogue *c = NULL;
    snprintf(path, sizeof path, "../../data/catalogues/%s.json", region);
    if (mp_catalogue_load(&c, path) != 0)
        fail_msg("%s", mp_error_get());
    return c;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t lcg_state;

static void lcg_seed(uint64_t s)
{
    lcg_state = s;
}

static uint32_t lcg_next(void)
{
    lcg_state = lcg_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(lcg_state >> 32);
}

/* Uniform in [lo, hi] (hi - lo < 2^32; the tiny modulo bias does not matter here). */
static int64_t lcg_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(lcg_next() % (uint64_t)(hi - lo + 1));
}

static size_t nbands(const mp_catalogue *c, const mp_metric *m, size_t j)
{
    return c->dims[m->breakdowns[j]].nbands;
}

/* Guarantees 1-3 checked independently of mp_post_check, then by it. */
static void assert_consistent(const mp_catalogue *c, const int64_t *v, uint64_t r)
{
    for (size_t i = 0; i < c->ncells; i++) {
        assert_true(v[i] >= 0);
        assert_int_equal(v[i] % (int64_t)r, 0);
    }
    for (size_t mi = 0; mi < c->nmetrics; mi++) {
        const mp_metric *m = &c->metrics[mi];
        size_t at = m->offset + 1;
        for (size_t j = 0; j < m->nbreakdowns; j++) {
            int64_t sum = 0;
            for (size_t i = 0; i < nbands(c, m, j); i++)
                sum += v[at + i];
            assert_int_equal(sum, v[m->offset]);
            at += nbands(c, m, j);
        }
        assert_int_equal(at, m->offset + m->ncells);
    }
    if (mp_post_check(c, v, r) != 0)
        fail_msg("%s", mp_error_get());
}

static void post(const mp_catalogue *c, const int64_t *noisy, uint64_t r, int64_t *out)
{
    mp_post_params p = {.rounding = r};
    if (mp_post_process(c, noisy, &p, out) != 0)
        fail_msg("%s", mp_error_get());
}

/* A consistent, non-negative vector: `persons` people per metric, each in a random band of
 * every breakdown; every cell then multiplied by `unit`. */
static void consistent_truth(const mp_catalogue *c, int64_t *v, int64_t unit)
{
    memset(v, 0, c->ncells * sizeof *v);
    for (size_t mi = 0; mi < c->nmetrics; mi++) {
        const mp_metric *m = &c->metrics[mi];
        int64_t persons = lcg_range(0, 60);
        for (int64_t p = 0; p < persons; p++) {
            size_t at = m->offset + 1;
            v[m->offset] += unit;
            for (size_t j = 0; j < m->nbreakdowns; j++) {
                v[at + (size_t)lcg_range(0, (int64_t)nbands(c, m, j) - 1)] += unit;
                at += nbands(c, m, j);
            }
        }
    }
}

/* Random noisy vectors in several regimes: near 0 (lots of clamping), moderate, and at the
 * bounds (overflow paths; run under UBSan by make test-asan). */
static void random_noisy(const mp_catalogue *c, int64_t *v, int regime)
{
    for (size_t i = 0; i < c->ncells; i++) {
        switch (regime) {
        case 0: v[i] = lcg_range(-15, 15); break;
        case 1: v[i] = lcg_range(-50, 400); break;
        default: {
            int64_t big = lcg_range(0, 1) ? MP_POST_MAX_ABS : -MP_POST_MAX_ABS;
            v[i] = lcg_range(0, 3) == 0 ? lcg_range(-1000, 1000)
                                        : big - lcg_range(0, 5) * (big > 0 ? 1 : -1);
            break;
        }
        }
    }
}

/* Steps 1 and 2 of postprocess.h in long double: ref[] gets the real-valued projected vector,
 * zeroed[i] is set when the projection puts band i clearly below 0 (so it must publish 0). */
static void reference(const mp_catalogue *c, const int64_t *y, long double *ref, int *zeroed)
{
    for (size_t mi = 0; mi < c->nmetrics; mi++) {
        const mp_metric *m = &c->metrics[mi];
        long double num = (long double)y[m->offset], den = 1, tstar, tplus, s[MP_DIM_COUNT];
        size_t at = m->offset + 1;
        for (size_t j = 0; j < m->nbreakdowns; j++) {
            size_t k = nbands(c, m, j);
            s[j] = 0;
            for (size_t i = 0; i < k; i++)
                s[j] += (long double)y[at + i];
            num += s[j] / (long double)k;
            den += 1.0L / (long double)k;
            at += k;
        }
        tstar = num / den;
        tplus = tstar > 0 ? tstar : 0;
        ref[m->offset] = tplus;
        zeroed[m->offset] = 0;
        at = m->offset + 1;
        for (size_t j = 0; j < m->nbreakdowns; j++) {
            size_t k = nbands(c, m, j);
            long double v[MP_MAX_BANDS], sorted[MP_MAX_BANDS], cum = 0, tau = 0;
            for (size_t i = 0; i < k; i++)
                sorted[i] = v[i] = (long double)y[at + i] + (tstar - s[j]) / (long double)k;
            for (size_t a = 0; a < k; a++) /* descending */
                for (size_t b = a + 1; b < k; b++)
                    if (sorted[b] > sorted[a]) {
                        long double t = sorted[a];
                        sorted[a] = sorted[b];
                        sorted[b] = t;
                    }
            for (size_t n = 1; n <= k; n++) {
                cum += sorted[n - 1];
                if (sorted[n - 1] - (cum - tplus) / (long double)n > 0)
                    tau = (cum - tplus) / (long double)n;
            }
            for (size_t i = 0; i < k; i++) {
                long double x = tplus > 0 ? v[i] - tau : -1;
                ref[at + i] = x > 0 ? x : 0;
                zeroed[at + i] = x < -1e-6L;
            }
            at += k;
        }
    }
}

/* ---- tests -------------------------------------------------------------------------------- */

static void expect_refused(int rc, const char *needle);

/* A catalogue with nesting: parent (age breakdown) > child (none), and parent2 > child2 (both
 * without breakdowns). Cells: parent 0..3, child 4, parent2 5, child2 6. */
static const char NESTED[] =
    "{\"mijlpaal_catalogue\": 1, \"id\": \"nest\", \"version\": 1, \"title\": \"N\","
    " \"dimensions\": {"
    "  \"age\": {\"title\": \"Leeftijd\", \"bands\": ["
    "    {\"label\": \"a\", \"min\": 15, \"max\": 26},"
    "    {\"label\": \"b\", \"min\": 27, \"max\": 54},"
    "    {\"label\": \"c\", \"min\": 55, \"max\": 200}]}},"
    " \"metrics\": ["
    "  {\"id\": \"parent\", \"title\": \"t\", \"description\": \"d\", \"source\": \"s\","
    "   \"kind\": \"stock\", \"spells\": [\"bijstand\"], \"breakdowns\": [\"age\"]},"
    "  {\"id\": \"child\", \"within\": \"parent\", \"title\": \"t\", \"description\": \"d\","
    "   \"source\": \"s\", \"kind\": \"stock\", \"spells\": [\"bijstand\"], \"age_min\": 45},"
    "  {\"id\": \"child2\", \"within\": \"parent2\", \"title\": \"t\", \"description\": \"d\","
    "   \"source\": \"s\", \"kind\": \"stock\", \"spells\": [\"ww\"], \"age_min\": 45},"
    "  {\"id\": \"parent2\", \"title\": \"t\", \"description\": \"d\", \"source\": \"s\","
    "   \"kind\": \"stock\", \"spells\": [\"ww\"]}]}";

static mp_catalogue *parse_text(const char *text)
{
    cJSON *j = NULL;
    mp_catalogue *c = NULL;
    assert_int_equal(mp_canon_parse(&j, text, strlen(text)), 0);
    if (mp_catalogue_parse(&c, j) != 0) {
        cJSON_Delete(j);
        return NULL;
    }
    cJSON_Delete(j);
    return c;
}

static void detail(const mp_catalogue *c, const int64_t *y, uint64_t r, const unsigned char *seed,
                   int64_t *out, mp_post_cell *det)
{
    mp_post_params p = {.rounding = r, .seed = seed};
    if (mp_post_process_detail(c, y, &p, out, det) != 0)
        fail_msg("%s", mp_error_get());
}

#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (fabs(a_ - b_) > (tol))                                                                 \
            fail_msg("%s = %.9g, expected %.9g", #a, a_, b_);                                      \
    } while (0)

/* Var(x^_i)/s^2 by hand (postprocess.h, "Accuracy"): plain 1; one breakdown of k = 3 bands:
 * k/(k+1) = 3/4 for the total and every band; two breakdowns of 3 and 2 bands: W = 1 + 1/3 +
 * 1/2 = 11/6, total 6/11, age band 1 - 1/3 + (6/11)/9 = 8/11, duration band 1 - 1/2 +
 * (6/11)/4 = 7/11 (trace 6/11 + 3*8/11 + 2*7/11 = 4, the consistent subspace's dimension).
 * And each is the diagonal entry of the linear map: feeding a unit vector e_i gives x^_i =
 * P_ii, the claim Var = s^2 P_ii for an orthogonal projection. */
static void test_variance_factors(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    static const double expect[NCELLS] = {
        1,        0.75,     0.75,     0.75,     0.75,     6.0 / 11, 8.0 / 11, 8.0 / 11, 8.0 / 11,
        7.0 / 11, 7.0 / 11, 6.0 / 11, 7.0 / 11, 7.0 / 11, 8.0 / 11, 8.0 / 11, 8.0 / 11};
    int64_t y[NCELLS] = {0}, out[NCELLS];
    mp_post_cell det[NCELLS];
    detail(c, y, 1, NULL, out, det);
    for (size_t i = 0; i < NCELLS; i++)
        assert_near(det[i].var_factor, expect[i], 1e-12);
    double trace = 0;
    for (size_t i = 1; i <= 4; i++)
        trace += det[i].var_factor;
    assert_near(trace, 3.0, 1e-12); /* by_age: 4 cells, 3 free */
    for (size_t i = 0; i < NCELLS; i++) {
        memset(y, 0, sizeof y);
        y[i] = 1000000;
        detail(c, y, 1, NULL, out, det);
        assert_near(det[i].estimate / 1e6, expect[i], 1e-9);
    }
    mp_catalogue_free(c);
}

/* The unprojected estimate by hand: by_age total 10, bands 2, 3, 1: S = 6, T* = (10 + 6/3) /
 * (1 + 1/3) = 9, bands + (9 - 6)/3 = 3, 4, 2. A negative band: total 2, bands -6, 4, 4: S = 2,
 * T* = (2 + 2/3)/(4/3) = 2, bands unchanged: estimate -6, 4, 4, published 0, 1, 1 (the
 * projection) and flagged as clamped; the estimate is what a small cell's interval uses. */
static void test_estimate_hand(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS] = {0, 10, 2, 3, 1}, out[NCELLS];
    mp_post_cell det[NCELLS];
    detail(c, y, 1, NULL, out, det);
    static const double e[] = {9, 3, 4, 2};
    for (int i = 0; i < 4; i++) {
        assert_near(det[1 + i].estimate, e[i], 1e-12);
        assert_int_equal(out[1 + i], (int64_t)e[i]);
        assert_int_equal(det[1 + i].flags, 0);
    }
    int64_t z[NCELLS] = {0, 2, -6, 4, 4};
    detail(c, z, 1, NULL, out, det);
    static const double ez[] = {2, -6, 4, 4};
    static const int64_t pz[] = {2, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        assert_near(det[1 + i].estimate, ez[i], 1e-12);
        assert_int_equal(out[1 + i], pz[i]);
        assert_int_equal(det[1 + i].flags, MP_POST_CLAMPED);
        assert_near(det[1 + i].pre_round, (double)pz[i], 1e-12);
    }
    assert_int_equal(det[0].flags, 0); /* another metric */
    mp_catalogue_free(c);
}

/* Random rounding by hand: by_age total 7, bands 3, 2, 2 (consistent) at rounding 5. The total
 * rounds to 5 or 10, up with probability 2/5: variance 25 * 0.4 * 0.6 = 6; band 0 (3 = 0.6
 * units): 0 or 5, variance 6; bands 1, 2 (0.4 units): variance 6. Over many seeds every
 * published figure is one of its two neighbours, the bands always add up, and the means and
 * variances are the hand values. Without a seed the rounding is the deterministic one. */
static void test_random_rounding(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS] = {0, 7, 3, 2, 2}, out[NCELLS];
    mp_post_cell det[NCELLS];
    const int n = 20000;
    double sum[4] = {0}, sq[4] = {0};
    unsigned char seed[MP_POST_SEED_BYTES] = {0};
    for (int k = 0; k < n; k++) {
        seed[0] = (unsigned char)k;
        seed[1] = (unsigned char)(k >> 8);
        seed[2] = (unsigned char)(k >> 16);
        detail(c, y, 5, seed, out, det);
        assert_consistent(c, out, 5);
        for (int i = 0; i < 4; i++) {
            double v = (double)out[1 + i];
            assert_true(out[1 + i] == (i == 0 ? 5 : 0) || out[1 + i] == (i == 0 ? 10 : 5));
            sum[i] += v;
            sq[i] += v * v;
        }
    }
    static const double mean[4] = {7, 3, 2, 2}, frac[4] = {0.4, 0.6, 0.4, 0.4};
    for (int i = 0; i < 4; i++) {
        double m = sum[i] / n, var = sq[i] / n - m * m;
        assert_near(det[1 + i].round_frac, frac[i], 1e-12);
        assert_near(det[1 + i].round_var, 6.0, 1e-9);
        /* standard error of the mean: sqrt(6 / 20000) = 0.017 */
        assert_near(m, mean[i], 0.07);
        assert_near(var, 6.0, 0.4);
    }
    detail(c, y, 5, NULL, out, det);
    assert_int_equal(out[1], 5); /* 7/5 = 1.4: nearest */
    /* A figure already a multiple of the rounding is never moved by any seed (guarantee 4). */
    int64_t m5[NCELLS] = {10, 20, 5, 15, 0};
    for (int k = 0; k < 200; k++) {
        seed[0] = (unsigned char)k;
        detail(c, m5, 5, seed, out, det);
        assert_memory_equal(out, m5, 5 * sizeof *out);
        assert_near(det[1].round_var, 0, 0);
    }
    mp_catalogue_free(c);
}

/* Nesting by hand. Parent: total 10, age 4, 4, 4 (L = 3, D = 4, N = 42, T* = 10.5, W = 4/3);
 * child 20 (W = 1) is above it, so both get T = (4/3 * 10.5 + 20) / (4/3 + 1) = 102/7, with
 * Var/s^2 = 1/(7/3) = 3/7, and the parent's bands 4 + (102/7 - 12)/3 = 4 + 6/7, Var/s^2 =
 * 1 - 1/3 + (3/7)/9 = 5/7. Parent2 5 and child2 9 (no breakdowns): 7 each, Var/s^2 = 1/2. A
 * child below its parent is left alone. */
static void test_nesting(void **state)
{
    (void)state;
    mp_catalogue *c = parse_text(NESTED);
    assert_non_null(c);
    assert_int_equal(c->metrics[1].within, 0);
    assert_int_equal(c->metrics[2].within, 3); /* a parent listed after its child */
    assert_int_equal(c->metrics[0].within, -1);
    int64_t y[7] = {10, 4, 4, 4, 20, 9, 5}, out[7];
    mp_post_cell det[7];
    detail(c, y, 1, NULL, out, det);
    assert_near(det[0].estimate, 102.0 / 7, 1e-12);
    assert_near(det[4].estimate, 102.0 / 7, 1e-12);
    assert_near(det[0].var_factor, 3.0 / 7, 1e-12);
    assert_near(det[4].var_factor, 3.0 / 7, 1e-12);
    for (int i = 1; i <= 3; i++) {
        assert_near(det[i].estimate, 4.0 + 6.0 / 7, 1e-12);
        assert_near(det[i].var_factor, 5.0 / 7, 1e-12);
    }
    assert_true(out[0] == out[4] && out[0] == 15); /* 14.57 to the nearest integer */
    assert_int_equal(out[1] + out[2] + out[3], 15);
    assert_near(det[5].estimate, 7, 1e-12);
    assert_near(det[6].estimate, 7, 1e-12);
    assert_near(det[5].var_factor, 0.5, 1e-12);
    assert_int_equal(out[5], 7);
    assert_int_equal(out[6], 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(det[i].flags, MP_POST_NESTED);
    if (mp_post_check(c, out, 1) != 0)
        fail_msg("%s", mp_error_get());
    /* Random rounding keeps child <= parent: both round with the parent's uniform. */
    unsigned char seed[MP_POST_SEED_BYTES] = {0};
    int64_t near[7] = {12, 4, 4, 4, 11, 9, 8};
    for (int k = 0; k < 500; k++) {
        seed[0] = (unsigned char)k;
        seed[1] = (unsigned char)(k >> 8);
        detail(c, y, 5, seed, out, det);
        assert_int_equal(out[0], out[4]);
        assert_consistent(c, out, 5);
        detail(c, near, 5, seed, out, det);
        assert_true(out[4] <= out[0] && out[5] <= out[6]);
        assert_consistent(c, out, 5);
    }
    /* Below its parent: unchanged (guarantee 4). */
    int64_t ok[7] = {12, 4, 4, 4, 11, 3, 8};
    detail(c, ok, 1, NULL, out, det);
    assert_memory_equal(out, ok, sizeof ok);
    assert_int_equal(det[0].flags | det[4].flags | det[5].flags, 0);
    assert_near(det[4].var_factor, 1, 0);
    /* mp_post_check refuses a child above its parent. */
    int64_t bad[7] = {12, 4, 4, 4, 13, 3, 8};
    expect_refused(mp_post_check(c, bad, 1), "child: the total is above its parent's (parent)");
    /* A hand-built nesting the catalogue parser would refuse is refused here too, before
     * anything is written. */
    int64_t keep[7];
    memcpy(out, ok, sizeof ok);
    memcpy(keep, out, sizeof keep);
    c->metrics[2].within = 0; /* parent gets two children */
    mp_post_params pp = {.rounding = 1};
    expect_refused(mp_post_process(c, bad, &pp, out), "two children");
    c->metrics[2].within = 3;
    c->metrics[3].within = 0; /* two levels */
    expect_refused(mp_post_process(c, bad, &pp, out), "not one level deep");
    c->metrics[3].within = 3; /* itself */
    expect_refused(mp_post_process(c, bad, &pp, out), "not one level deep");
    assert_memory_equal(out, keep, sizeof keep);
    mp_catalogue_free(c);

    /* The catalogue refuses nesting it cannot honour. */
    static const char *const refusals[][3] = {
        {"\"within\": \"parent2\"", "\"within\": \"nope\"", "not another metric"},
        {"\"within\": \"parent2\"", "\"within\": \"child2\"", "not another metric"},
        {"\"within\": \"parent2\"", "\"within\": \"parent\"", "already has a child"},
        {"\"within\": \"parent2\"", "\"within\": \"child\"", "one level only"},
        {"\"within\": \"parent2\"", "\"within\": 3", "within must be a metric id"},
    };
    for (size_t k = 0; k < sizeof refusals / sizeof *refusals; k++) {
        char text[sizeof NESTED + 64];
        const char *at = strstr(NESTED, refusals[k][0]);
        assert_non_null(at);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - NESTED), NESTED, refusals[k][1],
                 at + strlen(refusals[k][0]));
        mp_error_clear();
        mp_catalogue *bc = parse_text(text);
        if (bc != NULL)
            fail_msg("accepted: %s", refusals[k][1]);
        if (strstr(mp_error_get(), refusals[k][2]) == NULL)
            fail_msg("\"%s\" does not say \"%s\"", mp_error_get(), refusals[k][2]);
    }
}

/* The publication rules on hand-computed cases: s2 = 100, var_factor 3/4, rounding variance 6:
 * var = 81, moe = floor(1.96 * 9) = floor(17.64) = 17. */
static void test_cell_rules(void **state)
{
    (void)state;
    mp_post_cell d = {.estimate = 41.3, .var_factor = 0.75, .round_var = 6};
    mp_post_interval iv;
    mp_post_cell_interval(100, 40, &d, &iv);
    assert_near(iv.sd, sqrt(75), 1e-12);
    assert_near(iv.var, 81, 1e-12);
    assert_int_equal(iv.moe, 17);
    assert_int_equal(iv.shown_as, MP_POST_VALUE);
    assert_int_equal(iv.suppressed, MP_POST_SHOWN);
    assert_int_equal(iv.lower, 23);
    assert_int_equal(iv.upper, 57);
    /* 34 = 2 * 17: a margin of exactly half the figure is still a value. */
    mp_post_cell_interval(100, 34, &d, &iv);
    assert_int_equal(iv.shown_as, MP_POST_VALUE);
    assert_int_equal(iv.lower, 17);
    /* 30 < 34: a range from the estimate 28.3 -/+ 1.96 sqrt(75) = 16.974: [11.33, 45.27] ->
     * integers 12..45. */
    d.estimate = 28.3;
    mp_post_cell_interval(100, 30, &d, &iv);
    assert_int_equal(iv.shown_as, MP_POST_RANGE);
    assert_int_equal(iv.suppressed, MP_POST_SMALL_CELL);
    assert_int_equal(iv.lower, 12);
    assert_int_equal(iv.upper, 45);
    assert_int_equal(iv.moe, 17);
    /* A small cell: published 5 from an estimate of 3.2 (or -4, projected to 0): "minder dan":
     * [0, floor(3.2 + 16.974)] = [0, 20]; [0, floor(-4 + 16.974)] = [0, 12]. */
    d.estimate = 3.2;
    mp_post_cell_interval(100, 5, &d, &iv);
    assert_int_equal(iv.shown_as, MP_POST_LESS_THAN);
    assert_int_equal(iv.lower, 0);
    assert_int_equal(iv.upper, 20);
    d.estimate = -4;
    mp_post_cell_interval(100, 0, &d, &iv);
    assert_int_equal(iv.shown_as, MP_POST_LESS_THAN);
    assert_int_equal(iv.upper, 12);
    /* Even the upper bound below 0 gives [0, 0], not a negative bound. */
    d.estimate = -30;
    mp_post_cell_interval(100, 0, &d, &iv);
    assert_int_equal(iv.lower, 0);
    assert_int_equal(iv.upper, 0);
    assert_string_equal(mp_post_shown_name(MP_POST_LESS_THAN), "less_than");
    assert_string_equal(mp_post_shown_name(MP_POST_RANGE), "range");
    assert_string_equal(mp_post_shown_name(MP_POST_VALUE), "value");
    assert_string_equal(mp_post_suppressed_name(MP_POST_SMALL_CELL), "small_cell");
    assert_string_equal(mp_post_suppressed_name(MP_POST_SHOWN), "");
}

/* Rates: 50 of 200 with variances 100 and 100: Fieller, (50 - 200 t)^2 <= 1.96^2 (100 +
 * 100 t^2 + 200^2 q), q = 0.001^2/12, has roots 0.150889 and 0.353960 (by hand: a = 40000 -
 * 384.16, b = 10000, c = 2500 - 3.8416 * 100.00333; t = (b -/+ sqrt(b^2 - ac))/a); the
 * complement gets 1 - those. A denominator of 0, or one not shown as a value, suppresses. */
static void test_rate_rules(void **state)
{
    (void)state;
    mp_post_interval n = {.var = 100, .shown_as = MP_POST_VALUE};
    mp_post_interval d = {.var = 100, .shown_as = MP_POST_VALUE};
    mp_post_rate r;
    mp_post_rate_interval(50, 200, &n, &d, 0, 0, &r);
    assert_int_equal(r.suppressed, MP_POST_SHOWN);
    assert_near(r.lower, 0.150889056, 1e-8);
    assert_near(r.upper, 0.353959510, 1e-8);
    mp_post_rate_interval(50, 200, &n, &d, 0, 1, &r);
    assert_near(r.lower, 1 - 0.353959510, 1e-8);
    assert_near(r.upper, 1 - 0.150889056, 1e-8);
    /* A positive covariance (a parent and child rounded alike) narrows it. */
    mp_post_rate_interval(50, 200, &n, &d, 5, 0, &r);
    assert_true(r.lower > 0.150889056 && r.upper < 0.353959510);
    /* 0 of 200: b = 0, roots -/+ sqrt(-c/a) = sqrt(384.1728/39615.84) = 0.098476; clipped to
     * [0, 1]. */
    mp_post_rate_interval(0, 200, &n, &d, 0, 0, &r);
    assert_near(r.lower, 0, 0);
    assert_near(r.upper, 0.098476, 1e-6);
    mp_post_rate_interval(200, 200, &n, &d, 0, 0, &r);
    assert_near(r.upper, 1, 0);
    mp_post_rate_interval(5, 0, &n, &d, 0, 0, &r);
    assert_int_equal(r.suppressed, MP_POST_ZERO_DENOMINATOR);
    assert_string_equal(mp_post_suppressed_name(r.suppressed), "zero_denominator");
    d.shown_as = MP_POST_RANGE;
    mp_post_rate_interval(5, 30, &n, &d, 0, 0, &r);
    assert_int_equal(r.suppressed, MP_POST_SMALL_DENOMINATOR);
    assert_string_equal(mp_post_suppressed_name(r.suppressed), "small_denominator");
    /* Shown as a value but still within 1.96 sd of 0 (cannot happen with the small-cell rule,
     * guarded anyway): suppressed, not an unbounded interval. */
    d.shown_as = MP_POST_VALUE;
    d.var = 1000;
    mp_post_rate_interval(5, 30, &n, &d, 0, 0, &r);
    assert_int_equal(r.suppressed, MP_POST_SMALL_DENOMINATOR);
}

static void test_layout(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    assert_int_equal(c->nmetrics, 4);
    assert_int_equal(c->metrics[0].offset, 0);
    assert_int_equal(c->metrics[1].offset, 1);
    assert_int_equal(c->metrics[2].offset, 5);
    assert_int_equal(c->metrics[3].offset, 11);
    assert_int_equal(c->metrics[3].ncells, 6);
    mp_catalogue_free(c);
}

/* Guarantees 1-3 on many random vectors, for rounding 1, 5 and 10, in every regime. */
static void test_random_consistency(void **state)
{
    (void)state;
    static const uint64_t roundings[] = {1, 5, 10};
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS], out[NCELLS];
    lcg_seed(1);
    for (size_t ri = 0; ri < 3; ri++)
        for (int iter = 0; iter < 3000; iter++) {
            random_noisy(c, y, iter % 3);
            post(c, y, roundings[ri], out);
            assert_consistent(c, out, roundings[ri]);
        }
    mp_catalogue_free(c);
}

/* The exact code against the long-double formulas: the published total is within r/2 of T+,
 * every band within r of its projected value, and bands the projection zeroes publish 0. */
static void test_matches_float_reference(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS], out[NCELLS];
    long double ref[NCELLS];
    int zeroed[NCELLS];
    lcg_seed(2);
    for (uint64_t r = 1; r <= 5; r += 4)
        for (int iter = 0; iter < 4000; iter++) {
            random_noisy(c, y, iter % 2);
            post(c, y, r, out);
            reference(c, y, ref, zeroed);
            for (size_t mi = 0; mi < c->nmetrics; mi++) {
                const mp_metric *m = &c->metrics[mi];
                assert_true(fabsl((long double)out[m->offset] - ref[m->offset]) <=
                            (long double)r / 2 + 1e-9L);
                for (size_t i = m->offset + 1; i < m->offset + m->ncells; i++) {
                    assert_true(fabsl((long double)out[i] - ref[i]) < (long double)r + 1e-9L);
                    if (zeroed[i])
                        assert_int_equal(out[i], 0);
                }
            }
        }
    mp_catalogue_free(c);
}

/* Guarantee 4: consistent non-negative input comes back unchanged (rounding 1, and rounding 5
 * on multiples of 5), also when computed in place. */
static void test_consistent_input_unchanged(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS], out[NCELLS];
    lcg_seed(3);
    for (int iter = 0; iter < 2000; iter++) {
        int64_t unit = iter % 2 ? 5 : 1;
        consistent_truth(c, y, unit);
        post(c, y, (uint64_t)unit, out);
        assert_memory_equal(out, y, sizeof y);
        post(c, out, (uint64_t)unit, out); /* in place */
        assert_memory_equal(out, y, sizeof y);
    }
    mp_catalogue_free(c);
}

/* Step 1 by hand, with inputs chosen so that T* and the bands are integers.
 *
 * by_both (age k1 = 3, duration k2 = 2): y_T = 90, age (30, 40, 36) so S1 = 106, duration
 * (60, 56) so S2 = 116.
 *   T* = (90 + 106/3 + 116/2) / (1 + 1/3 + 1/2) = (550/3) / (11/6) = 100
 *   (exactly: L = 6, D = 6 + 2 + 3 = 11, N = 6*90 + 2*106 + 3*116 = 1100, T* = N/D = 100)
 *   age:      shift (100 - 106)/3 = -2  ->  (28, 38, 34), sum 100
 *   duration: shift (100 - 116)/2 = -8  ->  (52, 48),     sum 100
 * by_age (k = 3): y_T = 100, age (30, 40, 42) so S = 112.
 *   T* = (100 + 112/3) / (1 + 1/3) = (3*100 + 112)/4 = 103;  shift (103 - 112)/3 = -3
 *   ->  (27, 37, 39), sum 103.
 * by_dur_age, the same numbers as by_both but the breakdowns in the other order: same result.
 */
static void test_ls_hand_example(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    const int64_t y[NCELLS] = {7, 100, 30, 40, 42, 90, 30, 40, 36, 60, 56, 90, 60, 56, 30, 40, 36};
    const int64_t want[NCELLS] = {7,  103, 27,  37, 39, 100, 28, 38, 34,
                                  52, 48,  100, 52, 48, 28,  38, 34};
    int64_t out[NCELLS];
    post(c, y, 1, out);
    assert_memory_equal(out, want, sizeof want);
    mp_catalogue_free(c);
}

/* Step 1 with a fractional result, then step 3 (rounding 1) with its tie rule.
 *
 * by_both: y_T = 100, age (30, 40, 36) so S1 = 106, duration (50, 44) so S2 = 94.
 *   N = 6*100 + 2*106 + 3*94 = 1094, D = 11, T* = 1094/11 = 99 + 5/11  ->  total 99
 *   age:      shift (1094/11 - 106)/3 = -24/11  ->  27 + 9/11, 37 + 9/11, 33 + 9/11;
 *             floors sum to 97, 2 extra units, equal remainders 9/11: the lower indexes win
 *             ->  (28, 38, 33)
 *   duration: shift (1094/11 - 94)/2 = 30/11    ->  52 + 8/11, 46 + 8/11;
 *             floors sum to 98, 1 extra unit to band 0  ->  (53, 46)
 * With rounding 5: total 99.45/5 = 19.89 -> 20 units = 100; age in units 5.56, 7.56, 6.76:
 *   floors 5 + 7 + 6 = 18, 2 extra to the largest remainders (.76 then .56 at index 0, tie
 *   with index 1 broken by index)  ->  (30, 35, 35); duration 10.55, 9.35: floors 19, 1 extra
 *   to band 0  ->  (55, 45).
 */
static void test_ls_fractional_rounding(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS] = {0}, out[NCELLS];
    const int64_t in[6] = {100, 30, 40, 36, 50, 44};
    const int64_t want1[6] = {99, 28, 38, 33, 53, 46};
    const int64_t want5[6] = {100, 30, 35, 35, 55, 45};
    memcpy(&y[5], in, sizeof in);
    post(c, y, 1, out);
    assert_memory_equal(&out[5], want1, sizeof want1);
    post(c, y, 5, out);
    assert_memory_equal(&out[5], want5, sizeof want5);
    mp_catalogue_free(c);
}

/* A negative T* publishes all zeros, whatever the bands say; so does a positive total that
 * rounds to 0 units. */
static void test_negative_total_zeroes(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    /* plain -7; by_age T* = (3*(-10) - 9)/4 < 0; by_both T* = (6*(-50) + 2*4 + 3*(-39))/11 < 0
     * although some bands are positive; by_dur_age T* = (6*2 + 3*1 + 2*1)/11 = 17/11 = 1.5,
     * which is 0 units of 5. */
    const int64_t y[NCELLS] = {-7, -10, -3, -4, -2, -50, 5, -3, 2, 1, -40, 2, 1, 0, 0, 0, 1};
    int64_t out[NCELLS], zero[NCELLS] = {0};
    post(c, y, 5, out);
    assert_memory_equal(out, zero, sizeof zero);
    post(c, y, 1, out);
    /* by_dur_age with rounding 1: T* = 17/11 -> 2; duration (1, 0) + 3/11 -> floors (1, 0), the
     * extra unit to band 0 (equal remainders); age (0, 0, 1) + 2/11 -> floors (0, 0, 1), the
     * extra unit to band 0. */
    assert_memory_equal(out, ((int64_t[NCELLS]){0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 1, 0, 1}),
                        sizeof out);
    assert_consistent(c, out, 1);
    mp_catalogue_free(c);
}

/* A negative band is clamped to 0 and the others keep the sum.
 *
 * by_age: y_T = 100, age (60, 45, -5): already consistent, so step 1 changes nothing. Step 2
 * projects (60, 45, -5) onto {x >= 0, sum 100}: rho = 2 (2*45 = 90 > 60 + 45 - 100 = 5, but
 * 3*(-5) < 0), tau = 5/2, x = (57.5, 42.5, 0). Step 3, rounding 1: floors 57 + 42 = 99, one
 * extra unit, tie .5/.5 to band 0  ->  (58, 42, 0). Rounding 5: units 11.5, 8.5, 0 -> floors 19,
 * one extra to band 0  ->  (60, 40, 0).
 * by_both: y_T = 20, age (-30, 25, 25), duration (20, 0): consistent; age projects to
 * (0, 10, 10) (rho = 2, tau = 15); duration stays.
 */
static void test_negative_band_clamped(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS] = {0, 100, 60, 45, -5, 20, -30, 25, 25, 20, 0};
    int64_t out[NCELLS];
    post(c, y, 1, out);
    assert_memory_equal(&out[1], ((int64_t[]){100, 58, 42, 0, 20, 0, 10, 10, 20, 0}),
                        10 * sizeof(int64_t));
    post(c, y, 5, out);
    assert_memory_equal(&out[1], ((int64_t[]){100, 60, 40, 0, 20, 0, 10, 10, 20, 0}),
                        10 * sizeof(int64_t));
    mp_catalogue_free(c);
}

/* The total rounds half to even: in units of 10, 15 -> 20, 25 -> 20, 35 -> 40; and with
 * rounding 1, by_age's T* = (3*y_T + S)/4 ends in .5: 0.5 -> 0 and 1.5 -> 2. */
static void test_rounding_ties(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    static const int64_t in[] = {14, 15, 16, 25, 35, 45};
    static const int64_t want[] = {10, 20, 20, 20, 40, 40};
    int64_t y[NCELLS] = {0}, out[NCELLS];
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        y[0] = in[i];
        post(c, y, 10, out);
        assert_int_equal(out[0], want[i]);
    }
    /* y_T = 0, bands (1, 0, 1): T* = 2/4 -> 0, everything 0. */
    memcpy(&y[1], (int64_t[]){0, 1, 0, 1}, 4 * sizeof(int64_t));
    post(c, y, 1, out);
    assert_memory_equal(&out[1], ((int64_t[]){0, 0, 0, 0}), 4 * sizeof(int64_t));
    /* y_T = 1, bands (2, 1, 0): T* = 6/4 -> 2. Step 1 gives (1.5, 0.5, -0.5), step 2 projects
     * that onto sum 1.5 as (1.25, 0.25, 0) (rho = 2, tau = 1/4); step 3: floors 1 + 0, one extra
     * unit, equal remainders .25, band 0 by index  ->  (2, 0, 0). */
    memcpy(&y[1], (int64_t[]){1, 2, 1, 0}, 4 * sizeof(int64_t));
    post(c, y, 1, out);
    assert_memory_equal(&out[1], ((int64_t[]){2, 2, 0, 0}), 4 * sizeof(int64_t));
    mp_catalogue_free(c);
}

/* Same input, same output; the input is not modified; in place gives the same answer; and
 * post-processing a published vector changes nothing (idempotence). */
static void test_determinism(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS], keep[NCELLS], a[NCELLS], b[NCELLS], again[NCELLS];
    lcg_seed(4);
    for (int iter = 0; iter < 1000; iter++) {
        uint64_t r = iter % 2 ? 5 : 1;
        random_noisy(c, y, iter % 3);
        memcpy(keep, y, sizeof y);
        post(c, y, r, a);
        post(c, y, r, b);
        assert_memory_equal(a, b, sizeof a);
        assert_memory_equal(y, keep, sizeof y);
        post(c, y, r, y);
        assert_memory_equal(y, a, sizeof a);
        if (iter % 3 == 2)
            continue; /* published values may exceed MP_POST_MAX_ABS, the input bound */
        post(c, a, r, again);
        assert_memory_equal(again, a, sizeof a);
    }
    /* A fixed vector and its answer (worked by hand), so that any change of method shows up.
     *   by_age:  T* = (36 + 11)/4 = 11.75; bands + 1/4 = (9.25, -1.75, 4.25) project to
     *            (8.375, 0, 3.375)  ->  r = 1: 12 (9, 0, 3);  r = 5: 10 (10, 0, 0)
     *   by_both: T* = 507/11 = 46.09; age - 18/11 = (1.36, 29.36, 15.36), duration + 28/11 =
     *            (32.55, 13.55)  ->  r = 1: 46 (2, 29, 15) (33, 13);  r = 5: 45 (0, 30, 15)
     *            (30, 15)
     *   by_dur_age: T* = 42/11 = 3.82; duration + 10/11 = (-3.09, 6.91) projects to (0, 3.82),
     *            age + 3/11 = (2.27, 2.27, -0.73) to (1.91, 1.91, 0)  ->  r = 1: 4 (0, 4)
     *            (2, 2, 0);  r = 5: 5 (0, 5) (5, 0, 0) */
    {
        const int64_t in[NCELLS] = {-3, 12, 9, -2, 4, 47, 3, 31, 17, 30, 11, 5, -4, 6, 2, 2, -1};
        const int64_t want1[NCELLS] = {0, 12, 9, 0, 3, 46, 2, 29, 15, 33, 13, 4, 0, 4, 2, 2, 0};
        const int64_t want5[NCELLS] = {0, 10, 10, 0, 0, 45, 0, 30, 15, 30, 15, 5, 0, 5, 5, 0, 0};
        post(c, in, 1, a);
        assert_memory_equal(a, want1, sizeof a);
        post(c, in, 5, a);
        assert_memory_equal(a, want5, sizeof a);
    }
    mp_catalogue_free(c);
}

/* Least squares reduces error: 2000 noisy draws around a consistent truth (noise: the sum of
 * four uniform integers in [-4, 4], variance 4 * 80/12 = 26.7 per cell). Expected variance
 * ratios of the totals, post-processed over raw: by_both 1/(1 + 1/3 + 1/2) = 0.545,
 * by_age 1/(1 + 1/3) = 0.75, plain 1 (rounding 1 changes nothing, the truth is far from 0).
 * by_dur_age has a truth near 0, where clamping helps as well. */
static void test_mse_reduced(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    const int64_t truth[NCELLS] = {150, 120, 30, 50, 40, 200, 50, 80, 70,
                                   120, 80,  4,  3,  1,  0,   1,  3};
    double raw_t[4] = {0}, post_t[4] = {0}, raw_all = 0, post_all = 0;
    int64_t y[NCELLS], out[NCELLS];
    const int draws = 2000;
    assert_consistent(c, truth, 1);
    lcg_seed(5);
    for (int d = 0; d < draws; d++) {
        for (size_t i = 0; i < NCELLS; i++) {
            int64_t e = 0;
            for (int u = 0; u < 4; u++)
                e += lcg_range(-4, 4);
            y[i] = truth[i] + e;
        }
        post(c, y, 1, out);
        for (size_t mi = 0; mi < 4; mi++) {
            size_t o = c->metrics[mi].offset;
            raw_t[mi] += (double)((y[o] - truth[o]) * (y[o] - truth[o]));
            post_t[mi] += (double)((out[o] - truth[o]) * (out[o] - truth[o]));
        }
        for (size_t i = 0; i < NCELLS; i++) {
            raw_all += (double)((y[i] - truth[i]) * (y[i] - truth[i]));
            post_all += (double)((out[i] - truth[i]) * (out[i] - truth[i]));
        }
    }
    print_message("total MSE raw/post: plain %.2f/%.2f by_age %.2f/%.2f by_both %.2f/%.2f "
                  "by_dur_age %.2f/%.2f; all cells %.2f/%.2f\n",
                  raw_t[0] / draws, post_t[0] / draws, raw_t[1] / draws, post_t[1] / draws,
                  raw_t[2] / draws, post_t[2] / draws, raw_t[3] / draws, post_t[3] / draws,
                  raw_all / draws / NCELLS, post_all / draws / NCELLS);
    assert_true(post_t[0] <= raw_t[0]);       /* equal: nothing to combine */
    assert_true(post_t[1] < 0.85 * raw_t[1]); /* expected 0.75 */
    assert_true(post_t[2] < 0.65 * raw_t[2]); /* expected 0.55 */
    assert_true(post_t[3] < 0.90 * raw_t[3]); /* expected at most 0.55 */
    assert_true(post_all < 0.90 * raw_all);
    mp_catalogue_free(c);
}

/* The shipped catalogues (more metrics, up to 5 bands, three breakdown kinds): consistency for
 * rounding 1 and 5 and agreement with the reference. */
static void test_real_catalogues(void **state)
{
    (void)state;
    static const char *const regions[] = {"midden-utrecht", "gooi-en-vechtstreek"};
    lcg_seed(6);
    for (size_t ri = 0; ri < 2; ri++) {
        mp_catalogue *c = real_catalogue(regions[ri]);
        int64_t *y = calloc(c->ncells, sizeof *y), *out = calloc(c->ncells, sizeof *out);
        int nested = 0;
        /* Both shipped catalogues nest children in parents (herinstroom in uitstroom, dgr
         * werkend in dgr stand): consistency with nesting first, then the reference, which
         * knows no nesting, on the catalogue without it. */
        for (size_t m = 0; m < c->nmetrics; m++)
            nested += c->metrics[m].within >= 0;
        assert_true(nested >= 3);
        for (int iter = 0; iter < 500; iter++) {
            random_noisy(c, y, iter % 3);
            post(c, y, iter % 2 ? 5 : 1, out);
            assert_consistent(c, out, iter % 2 ? 5 : 1);
        }
        for (size_t m = 0; m < c->nmetrics; m++)
            c->metrics[m].within = -1;
        long double *ref = calloc(c->ncells, sizeof *ref);
        int *zeroed = calloc(c->ncells, sizeof *zeroed);
        assert_non_null(y);
        assert_non_null(out);
        assert_non_null(ref);
        assert_non_null(zeroed);
        for (int iter = 0; iter < 1500; iter++) {
            uint64_t r = iter % 2 ? 5 : 1;
            random_noisy(c, y, iter % 3);
            post(c, y, r, out);
            assert_consistent(c, out, r);
            if (iter % 3 == 2)
                continue;
            reference(c, y, ref, zeroed);
            for (size_t i = 0; i < c->ncells; i++) {
                assert_true(fabsl((long double)out[i] - ref[i]) < (long double)r + 1e-9L);
                if (zeroed[i])
                    assert_int_equal(out[i], 0);
            }
        }
        consistent_truth(c, y, 5);
        post(c, y, 5, out);
        assert_memory_equal(out, y, c->ncells * sizeof *y);
        free(y);
        free(out);
        free(ref);
        free(zeroed);
        mp_catalogue_free(c);
    }
}

/* The extremes of the bounds: every cell +-(2^53 - 1), rounding 1 and 2^32. */
static void test_bounds_extremes(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS], out[NCELLS];
    for (int pattern = 0; pattern < 64; pattern++) {
        for (size_t i = 0; i < NCELLS; i++)
            y[i] = ((pattern >> (i % 6)) & 1) ? MP_POST_MAX_ABS : -MP_POST_MAX_ABS;
        post(c, y, 1, out);
        assert_consistent(c, out, 1);
        post(c, y, MP_POST_MAX_ROUNDING, out);
        assert_consistent(c, out, MP_POST_MAX_ROUNDING);
    }
    /* All at the maximum: consistent but for the total, which every breakdown outvotes. */
    for (size_t i = 0; i < NCELLS; i++)
        y[i] = MP_POST_MAX_ABS;
    post(c, y, 1, out);
    assert_consistent(c, out, 1);
    assert_true(out[5] > MP_POST_MAX_ABS);
    /* The same with nesting (by_age within plain, by_dur_age within by_both: pooled totals,
     * the largest intermediates of postprocess.h's bound) and random rounding; under UBSan
     * (make test-asan) an overflow would be reported. */
    c->metrics[1].within = 0;
    c->metrics[3].within = 2;
    unsigned char seed[MP_POST_SEED_BYTES] = {0};
    mp_post_cell det[NCELLS];
    for (int pattern = 0; pattern < 256; pattern++) {
        for (size_t i = 0; i < NCELLS; i++)
            y[i] = ((pattern >> (i % 8)) & 1) ? MP_POST_MAX_ABS - (int64_t)i
                                              : -MP_POST_MAX_ABS + (int64_t)(pattern % 7);
        seed[0] = (unsigned char)pattern;
        detail(c, y, 1, seed, out, det);
        assert_consistent(c, out, 1);
        detail(c, y, MP_POST_MAX_ROUNDING, seed, out, det);
        assert_consistent(c, out, MP_POST_MAX_ROUNDING);
        detail(c, y, 5, NULL, out, det);
        assert_consistent(c, out, 5);
    }
    mp_catalogue_free(c);
}

static void expect_refused(int rc, const char *needle)
{
    assert_int_equal(rc, -1);
    if (strstr(mp_error_get(), needle) == NULL)
        fail_msg("reason \"%s\" does not mention \"%s\"", mp_error_get(), needle);
}

/* Refusals: missing arguments, rounding and values out of bounds; nothing is written. Then
 * mp_post_check on vectors that break each guarantee. */
static void test_refusals(void **state)
{
    (void)state;
    mp_catalogue *c = test_catalogue();
    int64_t y[NCELLS] = {0}, out[NCELLS], sentinel[NCELLS];
    mp_post_params p = {.rounding = 1}, p0 = {.rounding = 0},
                   pbig = {.rounding = MP_POST_MAX_ROUNDING + 1};
    for (size_t i = 0; i < NCELLS; i++)
        sentinel[i] = out[i] = -12345;

    expect_refused(mp_post_process(NULL, y, &p, out), "missing");
    expect_refused(mp_post_process(c, NULL, &p, out), "missing");
    expect_refused(mp_post_process(c, y, NULL, out), "missing");
    expect_refused(mp_post_process(c, y, &p, NULL), "missing");
    expect_refused(mp_post_process(c, y, &p0, out), "rounding");
    expect_refused(mp_post_process(c, y, &pbig, out), "rounding");
    y[7] = MP_POST_MAX_ABS + 1;
    expect_refused(mp_post_process(c, y, &p, out), "by_both.age.1");
    y[7] = -MP_POST_MAX_ABS - 1;
    expect_refused(mp_post_process(c, y, &p, out), "by_both.age.1");
    y[7] = INT64_MIN;
    expect_refused(mp_post_process(c, y, &p, out), "by_both.age.1");
    assert_memory_equal(out, sentinel, sizeof out);

    /* A hand-damaged layout is refused rather than read out of bounds. */
    c->metrics[2].ncells++;
    y[7] = 0;
    expect_refused(mp_post_process(c, y, &p, out), "layout");
    c->metrics[2].ncells--;

    /* mp_post_check */
    const int64_t good[NCELLS] = {5, 10, 5, 0, 5, 20, 10, 5, 5, 15, 5, 0, 0, 0, 0, 0, 0};
    int64_t bad[NCELLS];
    assert_int_equal(mp_post_check(c, good, 5), 0);
    assert_int_equal(mp_post_check(c, good, 1), 0);
    expect_refused(mp_post_check(c, good, 10), "plain is not a multiple");
    expect_refused(mp_post_check(c, good, 0), "rounding");
    memcpy(bad, good, sizeof bad);
    bad[3] = -5;
    bad[4] = 10;
    expect_refused(mp_post_check(c, bad, 5), "by_age.age.1 is negative");
    memcpy(bad, good, sizeof bad);
    bad[10] = 10;
    expect_refused(mp_post_check(c, bad, 5), "by_both: the duration bands");
    memcpy(bad, good, sizeof bad);
    bad[11] = 5;
    expect_refused(mp_post_check(c, bad, 5), "by_dur_age: the duration bands");
    expect_refused(mp_post_check(NULL, good, 1), "missing");
    mp_catalogue_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_random_consistency),
        cmocka_unit_test(test_matches_float_reference),
        cmocka_unit_test(test_consistent_input_unchanged),
        cmocka_unit_test(test_ls_hand_example),
        cmocka_unit_test(test_ls_fractional_rounding),
        cmocka_unit_test(test_negative_total_zeroes),
        cmocka_unit_test(test_negative_band_clamped),
        cmocka_unit_test(test_rounding_ties),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_mse_reduced),
        cmocka_unit_test(test_real_catalogues),
        cmocka_unit_test(test_bounds_extremes),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_variance_factors),
        cmocka_unit_test(test_estimate_hand),
        cmocka_unit_test(test_random_rounding),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_cell_rules),
        cmocka_unit_test(test_rate_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
