/*
 * test_noise.c - statistical tests of the exact noise samplers.
 *
 * Every test uses a fixed seed (mp_rng_new_seeded), so the results are reproducible. The reference
 * distributions are computed here in floating point (allowed in tests, never in noise.c).
 * Thresholds:
 *   - frequencies: binomial z-test, |z| < 4.5;
 *   - goodness of fit: chi-square at p = 1e-5 (Wilson-Hilferty critical value), bins pooled
 *     from the left until each expected count is >= 5, tails folded into the end bins. About
 *     twenty such tests run; p = 1e-5 (like |z| < 4.5) keeps the suite from failing by chance
 *     when a future change reorders the random draws, and the bugs it exists to catch give
 *     chi-square values many times the critical value;
 *   - mean within 5 standard errors of 0, sample variance within 5 standard errors of the exact
 *     variance of the discrete distribution (standard error from its fourth moment).
 */
#include "testutil.h"
#include "teststats.h"

#include <math.h>

#include "noise.h"
#include "rng.h"

/* ---- reference distributions ------------------------------------------------------------- */

/* Reference pmfs (type pmf: teststats.h); the mass outside [lo, hi] is below 1e-20 and ignored. */

static pmf pmf_dgauss(double sigma2)
{
    double sigma = sqrt(sigma2);
    int64_t w = (int64_t)ceil(12 * sigma) + 12; /* exp(-72) is negligible */
    pmf f = {-w, w, calloc((size_t)(2 * w + 1), sizeof(double))};
    assert_non_null(f.p);
    double total = 0;
    for (int64_t x = -w; x <= w; x++)
        total += f.p[x + w] = exp(-(double)x * (double)x / (2 * sigma2));
    for (int64_t x = -w; x <= w; x++)
        f.p[x + w] /= total;
    return f;
}

static pmf pmf_dlaplace(double scale)
{
    double q = exp(-1 / scale);
    int64_t w = (int64_t)ceil(50 * scale) + 50; /* q^w < e^-50 */
    pmf f = {-w, w, calloc((size_t)(2 * w + 1), sizeof(double))};
    assert_non_null(f.p);
    for (int64_t x = -w; x <= w; x++)
        f.p[x + w] = (1 - q) / (1 + q) * pow(q, (double)llabs(x));
    return f;
}

static double pmf_moment(const pmf *f, int k)
{
    double m = 0;
    for (int64_t x = f->lo; x <= f->hi; x++)
        m += f->p[x - f->lo] * pow((double)x, k);
    return m;
}

/* ---- statistics ---------------------------------------------------------------------------- */

typedef struct {
    long n, pos, neg;
    double sum, sumsq;
} moments;

static void moments_add(moments *m, int64_t x)
{
    m->n++;
    m->pos += x > 0;
    m->neg += x < 0;
    m->sum += (double)x;
    m->sumsq += (double)x * (double)x;
}

/* Mean ~ 0, variance ~ var (fourth moment m4), and as many positive as negative values. */
static void assert_moments(const moments *m, double var, double m4)
{
    double n = (double)m->n, mean = m->sum / n;
    double s2 = (m->sumsq - n * mean * mean) / (n - 1);
    double se_mean = sqrt(var / n), se_var = sqrt((m4 - var * var) / n);
    if (fabs(mean) > 5 * se_mean)
        fail_msg("mean %.4f, allowed +-%.4f", mean, 5 * se_mean);
    if (fabs(s2 - var) > 5 * se_var)
        fail_msg("variance %.4f, expected %.4f +-%.4f", s2, var, 5 * se_var);
    double z = (double)(m->pos - m->neg) / sqrt((double)(m->pos + m->neg));
    if (fabs(z) >= 4.5)
        fail_msg("asymmetric: %ld positive, %ld negative", m->pos, m->neg);
}

static void assert_binomial(long hits, long n, double p)
{
    if (p == 1.0) {
        assert_int_equal(hits, n);
        return;
    }
    if (p == 0.0) {
        assert_int_equal(hits, 0);
        return;
    }
    double z = ((double)hits - n * p) / sqrt(n * p * (1 - p));
    if (fabs(z) >= 4.5)
        fail_msg("%ld of %ld, expected p = %.6f (z = %.2f)", hits, n, p, z);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_bernoulli_frequency(void **state)
{
    (void)state;
    const uint64_t cases[][2] = {{1, 3}, {7, 10}, {1, 1000}, {0, 5}, {5, 5}};
    mp_rng *r = ts_seeded(1);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long hits = 0, n = 200000;
        for (long i = 0; i < n; i++) {
            int b;
            assert_int_equal(mp_noise_bernoulli(r, cases[c][0], cases[c][1], &b), 0);
            assert_true(b == 0 || b == 1);
            hits += b;
        }
        assert_binomial(hits, n, (double)cases[c][0] / (double)cases[c][1]);
    }
    mp_rng_free(r);
}

static void test_bernoulli_exp_frequency(void **state)
{
    (void)state;
    const uint64_t cases[][2] = {{0, 1}, {1, 3}, {1, 1}, {5, 2}, {7, 3}, {3000000, 1000000}};
    mp_rng *r = ts_seeded(2);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long hits = 0, n = 200000;
        for (long i = 0; i < n; i++) {
            int b;
            assert_int_equal(mp_noise_bernoulli_exp(r, cases[c][0], cases[c][1], &b), 0);
            hits += b;
        }
        assert_binomial(hits, n, exp(-(double)cases[c][0] / (double)cases[c][1]));
    }
    mp_rng_free(r);
}

/* Huge exponents: a 1 would need a run of ~40 (or 1024) exp(-1) successes. */
static void test_bernoulli_exp_large(void **state)
{
    (void)state;
    mp_rng *r = ts_seeded(3);
    for (int i = 0; i < 10000; i++) {
        int b = -1;
        assert_int_equal(mp_noise_bernoulli_exp(r, 40, 1, &b), 0);
        assert_int_equal(b, 0);
        assert_int_equal(mp_noise_bernoulli_exp(r, UINT64_MAX, 1, &b), 0);
        assert_int_equal(b, 0);
        assert_int_equal(mp_noise_bernoulli_exp(r, UINT64_MAX, MP_NOISE_MAX_DEN, &b), 0);
        assert_int_equal(b, 0);
    }
    mp_rng_free(r);
}

static void run_dlaplace(unsigned char seed, uint64_t num, uint64_t den, long n)
{
    double scale = (double)num / (double)den;
    pmf f = pmf_dlaplace(scale);
    unsigned long *counts = calloc((size_t)(f.hi - f.lo + 1), sizeof *counts);
    assert_non_null(counts);
    moments m = {0};
    mp_rng *r = ts_seeded(seed);
    for (long i = 0; i < n; i++) {
        int64_t x;
        assert_int_equal(mp_noise_dlaplace(r, num, den, &x), 0);
        assert_true(x >= f.lo && x <= f.hi);
        counts[x - f.lo]++;
        moments_add(&m, x);
    }
    ts_assert_fits(&f, counts, n);
    assert_moments(&m, pmf_moment(&f, 2), pmf_moment(&f, 4));
    mp_rng_free(r);
    free(counts);
    free(f.p);
}

static void test_dlaplace_fit(void **state)
{
    (void)state;
    run_dlaplace(10, 1, 1, 100000);
    run_dlaplace(11, 5, 2, 100000);
    run_dlaplace(12, 1, 3, 100000);
    run_dlaplace(13, 40, 1, 100000);
    run_dlaplace(14, 2000, 30, 100000); /* not reduced: gcd 10 */
}

/* Scale 2^-32: P(x != 0) is about 2 exp(-2^32). */
static void test_dlaplace_tiny_scale(void **state)
{
    (void)state;
    mp_rng *r = ts_seeded(15);
    for (int i = 0; i < 2000; i++) {
        int64_t x = 1;
        assert_int_equal(mp_noise_dlaplace(r, 1, MP_NOISE_MAX_DEN, &x), 0);
        assert_int_equal(x, 0);
    }
    mp_rng_free(r);
}

/* Chi-square against the exact pmf, plus mean, variance and symmetry. */
static void run_dgauss_fit(unsigned char seed, uint64_t num, uint64_t den, long n)
{
    pmf f = pmf_dgauss((double)num / (double)den);
    unsigned long *counts = calloc((size_t)(f.hi - f.lo + 1), sizeof *counts);
    assert_non_null(counts);
    moments m = {0};
    mp_rng *r = ts_seeded(seed);
    for (long i = 0; i < n; i++) {
        int64_t x;
        assert_int_equal(mp_noise_dgauss(r, num, den, &x), 0);
        assert_true(x >= f.lo && x <= f.hi);
        counts[x - f.lo]++;
        moments_add(&m, x);
    }
    ts_assert_fits(&f, counts, n);
    assert_moments(&m, pmf_moment(&f, 2), pmf_moment(&f, 4));
    mp_rng_free(r);
    free(counts);
    free(f.p);
}

static void test_dgauss_fit(void **state)
{
    (void)state;
    run_dgauss_fit(20, 1, 1, 200000);
    run_dgauss_fit(21, 100, 1, 200000);
    run_dgauss_fit(22, 2, 1, 200000);
    run_dgauss_fit(23, 10000, 7, 200000);
    run_dgauss_fit(24, 1, 4, 200000); /* sigma < 1: t = 1 */
    run_dgauss_fit(16, 5, 1, 200000); /* exponents with varied low digits */
    run_dgauss_fit(17, 11, 2, 200000);
    run_dgauss_fit(25, 73890560989, 10000000, 100000); /* program-style: sigma^2 / n, 10^4 * n */
}

/* For small sigma the discrete Gaussian's variance is visibly below sigma^2. */
static void test_dgauss_small_sigma_variance(void **state)
{
    (void)state;
    pmf f = pmf_dgauss(0.25);
    double var = pmf_moment(&f, 2);
    assert_true(var < 0.25 * 0.9); /* the reference itself: about 0.2157 */
    moments m = {0};
    mp_rng *r = ts_seeded(26);
    for (int i = 0; i < 200000; i++) {
        int64_t x;
        assert_int_equal(mp_noise_dgauss(r, 1, 4, &x), 0);
        moments_add(&m, x);
    }
    assert_moments(&m, var, pmf_moment(&f, 4));
    mp_rng_free(r);
    free(f.p);
}

/* Same seed, same sequence: the samplers consume the generator deterministically. */
static void test_dgauss_reproducible(void **state)
{
    (void)state;
    mp_rng *a = ts_seeded(27), *b = ts_seeded(27);
    for (int i = 0; i < 1000; i++) {
        int64_t x, y;
        assert_int_equal(mp_noise_dgauss(a, 10000, 7, &x), 0);
        assert_int_equal(mp_noise_dgauss(b, 10000, 7, &y), 0);
        assert_int_equal(x, y);
    }
    mp_rng_free(a);
    mp_rng_free(b);
}

/* Distributed noise: 6 shares with sigma^2/6 each add up to variance sigma^2 (625 here). */
static void test_dgauss_sum_of_shares(void **state)
{
    (void)state;
    enum { SHARES = 6, N = 50000 };
    const uint64_t num = 6250000, den = 60000; /* 625/6 with a 10^4 * n style denominator */
    pmf f = pmf_dgauss((double)num / (double)den);
    double v1 = pmf_moment(&f, 2), m41 = pmf_moment(&f, 4);
    double var = SHARES * v1; /* E[S^4] for a sum of independent symmetric shares: */
    double m4 = SHARES * m41 + 3.0 * SHARES * (SHARES - 1) * v1 * v1;
    assert_true(fabs(var - 625.0) < 1e-6);

    moments m = {0};
    mp_rng *r = ts_seeded(28);
    for (int i = 0; i < N; i++) {
        int64_t s = 0;
        for (int k = 0; k < SHARES; k++) {
            int64_t x;
            assert_int_equal(mp_noise_dgauss(r, num, den, &x), 0);
            s += x;
        }
        moments_add(&m, s);
    }
    assert_moments(&m, var, m4);
    double s2 = m.sumsq / m.n;
    assert_true(fabs(s2 - 625.0) < 0.05 * 625.0); /* and plainly: within 5% of sigma^2 */
    mp_rng_free(r);
    free(f.p);
}

/* Large sigma: mean and variance against the continuous values (exact to 1e-100 here). */
static void run_dgauss_moments(unsigned char seed, uint64_t num, uint64_t den, long n)
{
    double var = (double)num / (double)den;
    moments m = {0};
    mp_rng *r = ts_seeded(seed);
    for (long i = 0; i < n; i++) {
        int64_t x;
        assert_int_equal(mp_noise_dgauss(r, num, den, &x), 0);
        moments_add(&m, x);
    }
    assert_moments(&m, var, 3 * var * var);
    mp_rng_free(r);
}

static void test_dgauss_large_sigma(void **state)
{
    (void)state;
    run_dgauss_moments(30, 1000000, 1, 50000); /* sigma = 1000 */
    /* The largest reduced numerator: 2n*E is about 2^129, the wide-arithmetic path. */
    run_dgauss_moments(31, UINT64_MAX, MP_NOISE_MAX_DEN, 20000);
    run_dgauss_moments(32, MP_NOISE_MAX_SIGMA2, 1, 20000); /* sigma = 2^20, the bound */
}

/*
 * Known answers from an independent model. The statistical tests cannot see an error of order
 * 1/(2n) in an exponent (an off-by-one in a low digit, a slip in the wide multiplication), so
 * these vectors come from a separate exact implementation of the same algorithms: Python big
 * integers and Fractions for every exponent, a from-scratch ChaCha20 for rng.c's keystream, and
 * the same order of uniform draws. Matching it decision for decision over thousands of samples
 * pins the mixed-radix arithmetic, including 2n*E above 2^128 (rows 54 and 55). The digest is
 * h = (h ^ (uint64_t)x) * 0x100000001b3 from 0xcbf29ce484222325 over all outputs.
 * The vectors also depend on rng.c's stream; a deliberate change there must regenerate them.
 */
enum { DGAUSS, DLAPLACE, BEXP };

static const ts_known known[] = {
    {DGAUSS,
     50,
     UINT64_C(5),
     UINT64_C(1),
     2000,
     {0, -1, -4, 2, 2, 3},
     UINT64_C(0x80c6e734e83eb3fc)},
    {DGAUSS, 51, UINT64_C(7), UINT64_C(3), 2000, {-1, 0, 0, 0, 2, 2}, UINT64_C(0xf465344d0e2471e2)},
    {DGAUSS,
     52,
     UINT64_C(11),
     UINT64_C(2),
     2000,
     {1, 4, 2, 0, 3, -4},
     UINT64_C(0xe4a2f6306155dc99)},
    {DGAUSS,
     53,
     UINT64_C(10000),
     UINT64_C(7),
     1000,
     {-5, -124, 134, -45, -16, -49},
     UINT64_C(0xacf978551dbf8532)},
    {DGAUSS,
     54,
     UINT64_MAX,
     UINT64_C(4294967296),
     300,
     {121982, 21444, -16774, -76477, 52561, 40758},
     UINT64_C(0xd9b899d00892579f)},
    {DGAUSS,
     55,
     UINT64_C(18446744073709551557),
     UINT64_C(4294967291),
     300,
     {46271, 104524, 72817, -66997, -11508, 34442},
     UINT64_C(0x82a0e62218c9af74)},
    {DLAPLACE,
     56,
     UINT64_C(5),
     UINT64_C(2),
     1000,
     {-1, 0, 1, 3, -1, 0},
     UINT64_C(0xafdcce8c2003ba80)},
    {BEXP, 57, UINT64_C(5), UINT64_C(2), 1000, {0, 0, 0, 0, 0, 0}, UINT64_C(0xda757c5a404aeb86)},
};

static void test_known_answers(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof known / sizeof known[0]; c++) {
        mp_rng *r = ts_seeded(known[c].seed);
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (int i = 0; i < known[c].count; i++) {
            int64_t x = 0;
            int b = 0;
            if (known[c].kind == DGAUSS)
                assert_int_equal(mp_noise_dgauss(r, known[c].num, known[c].den, &x), 0);
            else if (known[c].kind == DLAPLACE)
                assert_int_equal(mp_noise_dlaplace(r, known[c].num, known[c].den, &x), 0);
            else
                assert_int_equal(mp_noise_bernoulli_exp(r, known[c].num, known[c].den, &b), 0);
            if (known[c].kind == BEXP)
                x = b;
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
    int b;
    int64_t x;

    ts_expect_failure(mp_noise_bernoulli(r, 0, 0, &b), "denominator");
    ts_expect_failure(mp_noise_bernoulli(r, 5, 4, &b), "exceeds 1");
    ts_expect_failure(mp_noise_bernoulli(r, 1, MP_NOISE_MAX_DEN + 1, &b), "2^32");
    ts_expect_failure(mp_noise_bernoulli_exp(r, 1, 0, &b), "denominator");
    ts_expect_failure(mp_noise_bernoulli_exp(r, 1, MP_NOISE_MAX_DEN + 1, &b), "2^32");
    ts_expect_failure(mp_noise_dlaplace(r, 0, 1, &x), "positive");
    ts_expect_failure(mp_noise_dlaplace(r, 1, 0, &x), "denominator");
    ts_expect_failure(mp_noise_dlaplace(r, MP_NOISE_MAX_SIGMA2 + 1, 1, &x), "2^40");
    ts_expect_failure(mp_noise_dgauss(r, 0, 1, &x), "positive");
    ts_expect_failure(mp_noise_dgauss(r, 1, 0, &x), "denominator");
    ts_expect_failure(mp_noise_dgauss(r, 1, MP_NOISE_MAX_DEN + 1, &x), "2^32");
    ts_expect_failure(mp_noise_dgauss(r, MP_NOISE_MAX_SIGMA2 + 1, 1, &x), "2^40");
    ts_expect_failure(mp_noise_dgauss(r, 2 * MP_NOISE_MAX_SIGMA2 + 1, 2, &x), "2^40");

    /* Exactly at the bounds is allowed. */
    assert_int_equal(mp_noise_bernoulli(r, MP_NOISE_MAX_DEN, MP_NOISE_MAX_DEN, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(mp_noise_dlaplace(r, MP_NOISE_MAX_SIGMA2, 1, &x), 0);
    assert_int_equal(mp_noise_dgauss(r, 1, MP_NOISE_MAX_DEN, &x), 0);
    assert_int_equal(mp_noise_dgauss(r, 2 * MP_NOISE_MAX_SIGMA2, 2, &x), 0);
    mp_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bernoulli_frequency),
        cmocka_unit_test(test_bernoulli_exp_frequency),
        cmocka_unit_test(test_bernoulli_exp_large),
        cmocka_unit_test(test_dlaplace_fit),
        cmocka_unit_test(test_dlaplace_tiny_scale),
        cmocka_unit_test(test_dgauss_fit),
        cmocka_unit_test(test_dgauss_small_sigma_variance),
        cmocka_unit_test(test_dgauss_reproducible),
        cmocka_unit_test(test_dgauss_sum_of_shares),
        cmocka_unit_test(test_dgauss_large_sigma),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_parameter_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
