/*
 * test_skellam.c - statistical and known-answer tests of the exact Poisson and Skellam samplers.
 *
 * Fixed seeds throughout (mp_rng_new_seeded). Reference pmfs are computed here in floating point
 * (allowed in tests, never in skellam.c): Poisson from lgamma, Skellam as the convolution of two
 * Poisson pmfs. Thresholds as in test_noise.c:
 *   - goodness of fit: chi-square at p = 1e-5 (Wilson-Hilferty critical value), bins pooled
 *     from the left until each expected count is >= 5, the leftover right tail folded into the
 *     last bin;
 *   - mean and sample variance each within 5 standard errors of the exact values (standard
 *     error of the variance from the fourth central moment: Poisson lambda + 3 lambda^2,
 *     Skellam v + 3 v^2).
 * skellam.c asserts that the largest acceptance factor of every run is at most 1 (the envelope
 * inequality), and these builds keep assert(), so every draw below also checks it.
 */
#include "testutil.h"
#include "teststats.h"

#include <math.h>

#include "noise.h"
#include "rng.h"
#include "skellam.h"

/* ---- reference distributions ------------------------------------------------------------- */

/* Reference pmfs (type pmf: teststats.h); the mass outside [lo, hi] is below 1e-25 and ignored. */

static pmf pmf_poisson(double lambda)
{
    double sd = sqrt(lambda);
    int64_t lo = (int64_t)floor(lambda - 13 * sd - 13), hi = (int64_t)ceil(lambda + 13 * sd + 30);
    if (lo < 0)
        lo = 0;
    pmf f = {lo, hi, calloc((size_t)(hi - lo + 1), sizeof(double))};
    assert_non_null(f.p);
    for (int64_t k = lo; k <= hi; k++)
        f.p[k - lo] = exp((double)k * log(lambda) - lambda - lgamma((double)k + 1));
    return f;
}

/* Skellam with variance v: the difference of two independent Poisson(v/2). */
static pmf pmf_skellam(double v)
{
    pmf po = pmf_poisson(v / 2);
    int64_t w = po.hi - po.lo;
    pmf f = {-w, w, calloc((size_t)(2 * w + 1), sizeof(double))};
    assert_non_null(f.p);
    for (int64_t i = 0; i <= w; i++)     /* first value po.lo + i */
        for (int64_t j = 0; j <= w; j++) /* second value po.lo + j */
            f.p[i - j + w] += po.p[i] * po.p[j];
    free(po.p);
    return f;
}

static double pmf_mass(const pmf *f)
{
    double s = 0;
    for (int64_t x = f->lo; x <= f->hi; x++)
        s += f->p[x - f->lo];
    return s;
}

/* ---- statistics ---------------------------------------------------------------------------- */

typedef struct {
    long n;
    double shift, sum, sumsq; /* of x - shift, for accuracy at large means */
} moments;

static void moments_add(moments *m, double x)
{
    m->n++;
    m->sum += x - m->shift;
    m->sumsq += (x - m->shift) * (x - m->shift);
}

/* Mean within 5 standard errors of `mean`, variance of `var` (fourth central moment m4). */
static void assert_moments(const moments *m, double mean, double var, double m4)
{
    double n = (double)m->n, d = m->sum / n;
    double s2 = (m->sumsq - n * d * d) / (n - 1);
    double se_mean = sqrt(var / n), se_var = sqrt((m4 - var * var) / n);
    if (fabs(d + m->shift - mean) > 5 * se_mean)
        fail_msg("mean %.4f, expected %.4f +-%.4f", d + m->shift, mean, 5 * se_mean);
    if (fabs(s2 - var) > 5 * se_var)
        fail_msg("variance %.4f, expected %.4f +-%.4f", s2, var, 5 * se_var);
}

/* ---- Poisson ------------------------------------------------------------------------------- */

static void run_poisson_fit(unsigned char seed, uint64_t num, uint64_t den, long n)
{
    double lambda = (double)num / (double)den;
    pmf f = pmf_poisson(lambda);
    assert_true(fabs(pmf_mass(&f) - 1) < 1e-9);
    unsigned long *counts = calloc((size_t)(f.hi - f.lo + 1), sizeof *counts);
    assert_non_null(counts);
    moments m = {.shift = floor(lambda)};
    mp_rng *r = ts_seeded(seed);
    for (long i = 0; i < n; i++) {
        uint64_t x;
        assert_int_equal(mp_noise_poisson(r, num, den, &x), 0);
        assert_true((int64_t)x >= f.lo && (int64_t)x <= f.hi);
        counts[x - (uint64_t)f.lo]++;
        moments_add(&m, (double)x);
    }
    ts_assert_fits(&f, counts, n);
    assert_moments(&m, lambda, lambda, lambda + 3 * lambda * lambda);
    mp_rng_free(r);
    free(counts);
    free(f.p);
}

static void test_poisson_fit(void **state)
{
    (void)state;
    run_poisson_fit(1, 1, 3, 400000);     /* centre {0}, right tail only, T = 2 */
    run_poisson_fit(2, 1, 1, 400000);     /* integer mean: two modes */
    run_poisson_fit(3, 7, 2, 400000);     /* left tail with a = 1: candidates below 0 */
    run_poisson_fit(4, 50, 1, 200000);    /* T = 8 */
    run_poisson_fit(5, 10000, 1, 100000); /* T = 128 */
}

/* More shapes of the envelope: means just around the switches of T, odd denominators. */
static void test_poisson_fit_more(void **state)
{
    (void)state;
    run_poisson_fit(6, 15, 2, 200000);     /* 7.5: the lowest acceptance rate */
    run_poisson_fit(7, 81, 10, 200000);    /* 8.1: T = 4 */
    run_poisson_fit(8, 1, 50, 200000);     /* mostly 0 */
    run_poisson_fit(9, 3001, 23, 100000);  /* 130.5: T = 16, unreduced-looking rational */
    run_poisson_fit(10, 20000, 6, 100000); /* not reduced: gcd 2 */
}

/* Large means: moments only (the reference is a plain Poisson of known mean and variance). */
static void run_poisson_moments(unsigned char seed, uint64_t num, uint64_t den, long n)
{
    double lambda = (double)num / (double)den;
    moments m = {.shift = floor(lambda)};
    mp_rng *r = ts_seeded(seed);
    for (long i = 0; i < n; i++) {
        uint64_t x;
        assert_int_equal(mp_noise_poisson(r, num, den, &x), 0);
        moments_add(&m, (double)x);
    }
    assert_moments(&m, lambda, lambda, lambda + 3 * lambda * lambda);
    mp_rng_free(r);
}

static void test_poisson_large_mean(void **state)
{
    (void)state;
    run_poisson_moments(11, 1000000, 1, 20000);
    /* 2^32 - 2^-32: factors of 64 bits, one to a trial. */
    run_poisson_moments(12, UINT64_MAX, MP_NOISE_MAX_DEN, 300);
    run_poisson_moments(13, MP_SKELLAM_MAX_MEAN, 1, 40); /* the bound */
}

/* Mean 2^-32: P(x != 0) is about 2^-32 per draw. */
static void test_poisson_tiny_mean(void **state)
{
    (void)state;
    mp_rng *r = ts_seeded(14);
    for (int i = 0; i < 5000; i++) {
        uint64_t x = 1;
        assert_int_equal(mp_noise_poisson(r, 1, MP_NOISE_MAX_DEN, &x), 0);
        assert_int_equal(x, 0);
    }
    mp_rng_free(r);
}

/* ---- Skellam ------------------------------------------------------------------------------- */

static void run_skellam_fit(unsigned char seed, uint64_t num, uint64_t den, long n)
{
    double v = (double)num / (double)den;
    pmf f = pmf_skellam(v);
    assert_true(fabs(pmf_mass(&f) - 1) < 1e-9);
    unsigned long *counts = calloc((size_t)(f.hi - f.lo + 1), sizeof *counts);
    assert_non_null(counts);
    moments m = {0};
    mp_rng *r = ts_seeded(seed);
    for (long i = 0; i < n; i++) {
        int64_t x;
        assert_int_equal(mp_noise_skellam(r, num, den, &x), 0);
        assert_true(x >= f.lo && x <= f.hi);
        counts[x - f.lo]++;
        moments_add(&m, (double)x);
    }
    ts_assert_fits(&f, counts, n);
    assert_moments(&m, 0, v, v + 3 * v * v);
    mp_rng_free(r);
    free(counts);
    free(f.p);
}

static void test_skellam_fit(void **state)
{
    (void)state;
    run_skellam_fit(20, 1, 1, 400000);
    run_skellam_fit(21, 10, 1, 200000);
    run_skellam_fit(22, 1000, 1, 200000);
    run_skellam_fit(23, 1000000, 7, 100000);
}

/* Distributed noise: n = 6 shares of variance v/6 add up to exactly Skellam(v). */
static void run_sum_of_shares(unsigned char seed, uint64_t v, long n)
{
    enum { SHARES = 6 };
    pmf f = pmf_skellam((double)v);
    unsigned long *counts = calloc((size_t)(f.hi - f.lo + 1), sizeof *counts);
    assert_non_null(counts);
    moments m = {0};
    mp_rng *r = ts_seeded(seed);
    for (long i = 0; i < n; i++) {
        int64_t s = 0;
        for (int k = 0; k < SHARES; k++) {
            int64_t x;
            assert_int_equal(mp_noise_skellam(r, v, SHARES, &x), 0);
            s += x;
        }
        assert_true(s >= f.lo && s <= f.hi);
        counts[s - f.lo]++;
        moments_add(&m, (double)s);
    }
    ts_assert_fits(&f, counts, n);
    double var = (double)v;
    assert_moments(&m, 0, var, var + 3 * var * var);
    double s2 = m.sumsq / (double)m.n;
    assert_true(fabs(s2 - var) < 0.05 * var); /* and plainly: within 5% of v */
    mp_rng_free(r);
    free(counts);
    free(f.p);
}

static void test_skellam_sum_of_shares(void **state)
{
    (void)state;
    run_sum_of_shares(24, 1000, 60000); /* shares Poisson(250/3) - Poisson(250/3) */
    run_sum_of_shares(25, 7, 100000);   /* shares Poisson(7/12) - Poisson(7/12) */
}

static void test_skellam_large_variance(void **state)
{
    (void)state;
    moments m = {0};
    mp_rng *r = ts_seeded(26);
    const double v = (double)MP_SKELLAM_MAX_VARIANCE;
    for (int i = 0; i < 40; i++) {
        int64_t x;
        assert_int_equal(mp_noise_skellam(r, MP_SKELLAM_MAX_VARIANCE, 1, &x), 0);
        moments_add(&m, (double)x);
    }
    assert_moments(&m, 0, v, v + 3 * v * v);
    mp_rng_free(r);
}

/* Same seed, same sequence; another seed, another sequence. */
static void test_reproducible(void **state)
{
    (void)state;
    mp_rng *a = ts_seeded(27), *b = ts_seeded(27), *c = ts_seeded(28);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t x, y, z;
        uint64_t p, q;
        assert_int_equal(mp_noise_skellam(a, 1000000, 7, &x), 0);
        assert_int_equal(mp_noise_skellam(b, 1000000, 7, &y), 0);
        assert_int_equal(mp_noise_skellam(c, 1000000, 7, &z), 0);
        assert_int_equal(x, y);
        differ += x != z;
        assert_int_equal(mp_noise_poisson(a, 7, 2, &p), 0);
        assert_int_equal(mp_noise_poisson(b, 7, 2, &q), 0);
        assert_int_equal(p, q);
    }
    assert_true(differ > 900);
    mp_rng_free(a);
    mp_rng_free(b);
    mp_rng_free(c);
}

/*
 * Known answers from an independent model, tools/skellam_ref.py: Python big integers, the same
 * ChaCha20 stream (tools/noise_ref.py) and the same order of draws. Matching it decision for
 * decision pins the fixed-width arithmetic (128-bit grouping, the two-word Bernoulli, the tail
 * bits); the model also checks every acceptance product against f(k)/g(k) from factorials.
 * Digest: h = (h ^ (uint64_t)x) * 0x100000001b3 from 0xcbf29ce484222325 over all outputs.
 * Regenerate with: python3 tools/skellam_ref.py KIND TAG NUM DEN COUNT.
 */
enum { POISSON, SKELLAM };

static const ts_known known[] = {
    {POISSON, 50, 1, 3, 2000, {0, 0, 1, 0, 1, 1}, UINT64_C(0xb77034348f9d34dc)},
    {POISSON, 51, 7, 2, 2000, {9, 2, 4, 7, 6, 5}, UINT64_C(0x7cc6f6981dd0b154)},
    {POISSON,
     52,
     10000,
     1,
     300,
     {9977, 10143, 10009, 9981, 9981, 9955},
     UINT64_C(0x7d53b34df68f0130)},
    {POISSON,
     53,
     UINT64_MAX,
     MP_NOISE_MAX_DEN,
     20,
     {4294921198, 4295023425, 4295076458, 4294931267, 4294852623, 4294930783},
     UINT64_C(0xfcb76a057a605291)},
    {POISSON, 54, 1, MP_NOISE_MAX_DEN, 500, {0, 0, 0, 0, 0, 0}, UINT64_C(0x1fe3fce62bd816b5)},
    {SKELLAM, 55, 1, 1, 2000, {0, 0, -1, 0, -3, 0}, UINT64_C(0xe6d45d75c9f20731)},
    {SKELLAM, 56, 1000000, 7, 300, {62, 337, -107, -189, -394, -413}, UINT64_C(0xe3e7668066452d60)},
    {SKELLAM,
     57,
     UINT64_C(73890560989),
     10000000,
     300,
     {75, 24, -34, -100, 33, 91},
     UINT64_C(0xed185ce6ce43f58c)},
    {SKELLAM,
     58,
     UINT64_C(18446744073709551557),
     UINT64_C(4294967291),
     20,
     {87311, 56622, 12173, 53694, 46055, 93725},
     UINT64_C(0x1d6855aaff18b283)},
    {POISSON,
     59,
     MP_SKELLAM_MAX_MEAN,
     1,
     3,
     {1099512702862, 1099512426829, 1099513016168},
     UINT64_C(0x1eaeae31390cd674)},
};

static void test_known_answers(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof known / sizeof known[0]; c++) {
        mp_rng *r = ts_seeded(known[c].seed);
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (int i = 0; i < known[c].count; i++) {
            int64_t x = 0;
            if (known[c].kind == POISSON) {
                uint64_t u;
                assert_int_equal(mp_noise_poisson(r, known[c].num, known[c].den, &u), 0);
                x = (int64_t)u;
            } else {
                assert_int_equal(mp_noise_skellam(r, known[c].num, known[c].den, &x), 0);
            }
            if (i < 6)
                assert_int_equal(x, known[c].first[i]);
            h = (h ^ (uint64_t)x) * UINT64_C(0x100000001b3);
        }
        if (h != known[c].digest)
            fail_msg("vector %zu: digest %016llx, expected %016llx", c, (unsigned long long)h,
                     (unsigned long long)known[c].digest);
        mp_rng_free(r);
    }
}

static void test_parameter_bounds(void **state)
{
    (void)state;
    mp_rng *r = ts_seeded(40);
    uint64_t u = 7;
    int64_t x = 7;

    ts_expect_failure(mp_noise_poisson(r, 1, 0, &u), "denominator");
    ts_expect_failure(mp_noise_poisson(r, 1, MP_NOISE_MAX_DEN + 1, &u), "2^32");
    ts_expect_failure(mp_noise_poisson(r, 0, 1, &u), "positive");
    ts_expect_failure(mp_noise_poisson(r, MP_SKELLAM_MAX_MEAN + 1, 1, &u), "2^40");
    ts_expect_failure(mp_noise_poisson(r, 2 * MP_SKELLAM_MAX_MEAN + 1, 2, &u), "2^40");
    ts_expect_failure(mp_noise_poisson(r, UINT64_MAX, 1, &u), "2^40");
    ts_expect_failure(mp_noise_skellam(r, 1, 0, &x), "denominator");
    ts_expect_failure(mp_noise_skellam(r, 1, MP_NOISE_MAX_DEN + 1, &x), "2^32");
    ts_expect_failure(mp_noise_skellam(r, 0, 1, &x), "positive");
    ts_expect_failure(mp_noise_skellam(r, MP_SKELLAM_MAX_VARIANCE + 1, 1, &x), "2^40");
    ts_expect_failure(mp_noise_skellam(r, 3 * MP_SKELLAM_MAX_VARIANCE + 1, 3, &x), "2^40");
    assert_int_equal(u, 7); /* untouched on failure */
    assert_int_equal(x, 7);

    /* Exactly at the bounds is allowed. */
    assert_int_equal(mp_noise_poisson(r, MP_SKELLAM_MAX_MEAN, 1, &u), 0);
    assert_int_equal(mp_noise_poisson(r, 2 * MP_SKELLAM_MAX_MEAN, 2, &u), 0);
    assert_int_equal(mp_noise_poisson(r, 1, MP_NOISE_MAX_DEN, &u), 0);
    assert_int_equal(mp_noise_skellam(r, MP_SKELLAM_MAX_VARIANCE, 1, &x), 0);
    assert_int_equal(mp_noise_skellam(r, 1, MP_NOISE_MAX_DEN, &x), 0);
    assert_int_equal(mp_noise_skellam(r, UINT64_MAX, MP_NOISE_MAX_DEN, &x), 0);
    mp_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poisson_fit),
        cmocka_unit_test(test_poisson_fit_more),
        cmocka_unit_test(test_poisson_large_mean),
        cmocka_unit_test(test_poisson_tiny_mean),
        cmocka_unit_test(test_skellam_fit),
        cmocka_unit_test(test_skellam_sum_of_shares),
        cmocka_unit_test(test_skellam_large_variance),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_parameter_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
