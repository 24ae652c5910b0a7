/*
 * teststats.h - what the statistical tests of the noise samplers share: seeded generators,
 * the pmf type, the chi-square goodness-of-fit check, checking a refusal and the layout of a
 * known-answer vector.
 * Include after testutil.h. Thresholds are documented at the top of test_noise.c.
 */
#ifndef MP_TESTSTATS_H
#define MP_TESTSTATS_H

#include <math.h>

#include "error.h"
#include "rng.h"

/* A generator from a fixed seed: byte 0 is `tag`, byte 31 is 0xa5, the rest zero. */
static inline mp_rng *ts_seeded(unsigned char tag)
{
    unsigned char seed[MP_RNG_SEEDBYTES];
    memset(seed, 0, sizeof seed);
    seed[0] = tag;
    seed[31] = 0xa5;
    mp_rng *r = NULL;
    assert_int_equal(mp_rng_new_seeded(&r, seed), 0);
    return r;
}

/* A pmf on [lo, hi]; the mass outside is negligible (each builder says how small) and ignored. */
typedef struct {
    int64_t lo, hi;
    double *p;
} pmf;

/* Chi-square critical value at p = 1e-5 (Wilson-Hilferty: within a few percent for df >= 3). */
static inline double ts_chi2_crit(int df)
{
    double h = 2.0 / (9.0 * df);
    double c = 1 - h + 4.2649 * sqrt(h);
    return df * c * c * c;
}

/* Chi-square of observed counts (over [f->lo, f->hi]) against n * f: bins pooled from the left
 * until each expected count is >= 5, the leftover right tail folded into the last bin. */
static inline void ts_assert_fits(const pmf *f, const unsigned long *counts, long n)
{
    double chi2 = 0, e = 0, o = 0, last_e = 0, last_o = 0;
    int bins = 0;
    for (int64_t x = f->lo; x <= f->hi; x++) {
        e += f->p[x - f->lo] * (double)n;
        o += (double)counts[x - f->lo];
        if (e >= 5) {
            chi2 += (o - e) * (o - e) / e;
            bins++;
            last_e = e;
            last_o = o;
            e = o = 0;
        }
    }
    if (e > 0 || o > 0) { /* fold the leftover right tail into the last bin */
        chi2 -= (last_o - last_e) * (last_o - last_e) / last_e;
        chi2 += (last_o + o - last_e - e) * (last_o + o - last_e - e) / (last_e + e);
    }
    assert_true(bins >= 3);
    if (chi2 >= ts_chi2_crit(bins - 1))
        fail_msg("chi-square %.1f with %d bins exceeds %.1f", chi2, bins, ts_chi2_crit(bins - 1));
}

/* A sampler call refused with rc -1 and a reason that mentions `needle`; clears the error. */
static inline void ts_expect_failure(int rc, const char *needle)
{
    assert_int_equal(rc, -1);
    if (strstr(mp_error_get(), needle) == NULL)
        fail_msg("reason \"%s\" lacks \"%s\"", mp_error_get(), needle);
    mp_error_clear();
}

/* One known-answer vector: `count` draws of sampler `kind` with parameter num/den from
 * ts_seeded(seed); the first six outputs, and the digest h = (h ^ (uint64_t)x) * 0x100000001b3
 * from 0xcbf29ce484222325 over all outputs. */
typedef struct {
    int kind;
    unsigned char seed;
    uint64_t num, den;
    int count;
    int64_t first[6];
    uint64_t digest;
} ts_known;

#endif
