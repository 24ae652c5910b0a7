/*
 * noise.c - exact discrete noise samplers, integer arithmetic only (see noise.h).
 *
 * Algorithms (Canonne, Kamath, Steinke, NeurIPS 2020):
 *   Alg. 1  Bernoulli(exp(-g)), g = whole + frac with frac in [0,1): `whole` independent
 *           Bernoulli(exp(-1)) trials, then von Neumann's loop for exp(-frac): K = 1, 2, ...
 *           while Bernoulli(frac/K) succeeds; accept iff the final K is odd. Bernoulli(frac/K)
 *           is drawn as Bernoulli(1/K) AND Bernoulli(frac), which is the same probability and
 *           keeps K out of every denominator.
 *   Alg. 2  discrete Laplace with scale num/den: U uniform in [0,num), keep U with probability
 *           exp(-U/num), V geometric (count Bernoulli(exp(-1)) successes), X = U + num*V is
 *           geometric with ratio exp(-1/num); Y = floor(X/den); random sign, rejecting "-0".
 *   Alg. 3  discrete Gaussian with sigma^2 = n/d: candidates Y from the discrete Laplace with
 *           scale t = floor(sigma) + 1, accepted with probability
 *           exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)) = exp(-a^2 / (2 n E)),
 *           where a = | |Y|*d*t - n | and E = d*t^2.
 *
 * Exactness: a Bernoulli(p/q) is "uniform in [0,q) < p" with the exactly uniform mp_rng_uniform*;
 * no probability is ever rounded. The acceptance exponent a^2/(2nE) is kept as a mixed-radix
 * rational: whole + (hi*E + lo) / (2n * E) with hi < 2n, lo < E. A uniform draw in [0, 2n*E) is
 * the pair (U1 in [0,2n), U2 in [0,E)) read as U1*E + U2, so "U < hi*E + lo" is decided digit by
 * digit and the product 2n*E (up to 2^139) is never formed.
 *
 * Bounds (a call outside them fails with -1 and a reason):
 *   every denominator    1 <= den <= MP_NOISE_MAX_DEN = 2^32
 *   bernoulli            num <= den
 *   bernoulli_exp        any num (the exponent num/den is below 2^64)
 *   dlaplace             1 <= num and num/den <= MP_NOISE_MAX_SIGMA2 = 2^40
 *   dgauss               1 <= n and n/d <= MP_NOISE_MAX_SIGMA2 = 2^40 (so sigma <= 2^20)
 *
 * Proof that every intermediate fits in 128 bits (G = NOISE_MAX_TRIALS = 2^10):
 *   dlaplace: U < num < 2^64 and V < G, so X = U + num*V < num*G < 2^74; the output
 *     Y = X/den < G * num/den <= 2^50 fits int64_t.
 *   dgauss, after reduction by gcd: n < 2^64, d <= 2^32, floor(n/d) <= 2^40, so
 *     t <= 2^20 + 1 < 2^21, M = d*t < 2^53, E = M*t < 2^74, 2n < 2^65.
 *     Candidates come from dlaplace(t, 1): |Y| < G*t < 2^31, so |Y|*M < 2^84 and a < 2^84.
 *     If h = floor(a/M) >= 2^26 then, as a/M >= h and n/d <= 2^40,
 *       gamma = (a/M)^2 * d/(2n) >= 2^52 / 2^41 = 2^11 > G,
 *     and the exponent is not computed at all (see "range" below). Otherwise a < 2^26*M, and
 *     a^2 = q*E + r with q < 2^52 * M^2/E = 2^52 * d <= 2^84 and r < E < 2^74; whole = q/(2n)
 *     < 2^84 and hi = q mod 2n < 2^65. mul_divmod() needs m < 2^127 (here m = E < 2^74), keeps
 *     r < m so 2r and r + (x mod m) stay below 2^128, and its running quotient never exceeds q.
 *   Every uniform bound (den, num, 2n, E, K) is nonzero and below 2^128.
 *
 * Range: a run of G = 1024 consecutive Bernoulli(exp(-1)) successes (probability
 * e^-1024, about 10^-445) is where these samplers stop and fail with "sampler range exceeded"
 * instead of continuing with an answer they could no longer compute exactly. This happens when
 * an exponent is at least G (whole >= G) or when the geometric V of Alg. 2 reaches G. Returning
 * an error keeps every value that is returned exactly distributed.
 *
 * Nothing here uses floating point: the Makefile builds this file with -mgeneral-regs-only.
 * No state outside the arguments; the functions are thread-safe given separate mp_rng objects.
 * Not constant-time: the number of rejections depends on the value drawn, so the samplers are
 * meant to run where their timing is not observable (the contributor's own machine).
 */
#include "noise.h"

#include "intmath.h"

#include <assert.h>

typedef unsigned __int128 u128;

#define NOISE_MAX_TRIALS 1024u /* G above */
#define NOISE_HUGE_H (UINT64_C(1) << 26)

/* An exponent whole + (hi*q2 + lo)/(q1*q2), with hi < q1 and lo < q2. */
typedef struct {
    u128 whole;
    u128 hi, lo;
    u128 q1, q2;
} exponent;

/* floor(sqrt(v)) for v <= 2^40 (bisection: lo^2 <= v < hi^2 throughout). */
static uint64_t isqrt40(uint64_t v)
{
    uint64_t lo = 0, hi = UINT64_C(1) << 21;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (mid * mid <= v)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* x*y = (*q)*m + *r with *r < m, for m < 2^127 and a true quotient below 2^128. Horner on the
 * bits of y keeps (qq, rr) = x*(high bits of y seen so far) as qq*m + rr with rr < m. One path for
 * every size (no shortcut when x*y fits), so the statistical tests exercise all of it. */
static void mul_divmod(u128 x, u128 y, u128 m, u128 *q, u128 *r)
{
    assert(m != 0 && m >> 127 == 0);
    u128 xq = x / m, xr = x % m, qq = 0, rr = 0;
    int bits = 0;
    while (bits < 128 && (y >> bits) != 0)
        bits++;
    for (int bit = bits - 1; bit >= 0; bit--) {
        qq <<= 1;
        rr <<= 1;
        if (rr >= m) {
            rr -= m;
            qq++;
        }
        if ((y >> bit) & 1) {
            qq += xq;
            rr += xr;
            if (rr >= m) {
                rr -= m;
                qq++;
            }
        }
    }
    *q = qq;
    *r = rr;
}

static int check_den(uint64_t den)
{
    if (den == 0)
        return mp_error_set("noise: denominator is zero");
    if (den > MP_NOISE_MAX_DEN)
        return mp_error_set("noise: denominator %llu exceeds 2^32", (unsigned long long)den);
    return 0;
}

/* Bernoulli(exp(-1)): von Neumann's loop with gamma = 1 (its first trial always succeeds). */
static int bern_exp1(mp_rng *r)
{
    uint64_t k = 2;
    while (mp_rng_uniform64(r, k) == 0)
        k++;
    return (int)(k & 1);
}

/* Bernoulli((hi*q2 + lo)/(q1*q2)), the fractional part of e, digit by digit. */
static int bern_frac(mp_rng *r, const exponent *e)
{
    assert(e->hi < e->q1 && e->lo < e->q2);
    if (e->hi == 0 && e->lo == 0)
        return 0;
    u128 u1 = mp_rng_uniform128(r, e->q1);
    if (u1 != e->hi)
        return u1 < e->hi;
    if (e->lo == 0)
        return 0;
    return mp_rng_uniform128(r, e->q2) < e->lo;
}

/* Alg. 1: *out = 1 with probability exp(-e). */
static int bern_exp(mp_rng *r, const exponent *e, int *out)
{
    u128 trials = e->whole < NOISE_MAX_TRIALS ? e->whole : NOISE_MAX_TRIALS;
    for (u128 i = 0; i < trials; i++) {
        if (!bern_exp1(r)) {
            *out = 0;
            return 0;
        }
    }
    if (e->whole >= NOISE_MAX_TRIALS)
        return mp_error_set("noise: sampler range exceeded");
    uint64_t k = 1;
    while ((k == 1 || mp_rng_uniform64(r, k) == 0) && bern_frac(r, e))
        k++;
    *out = (int)(k & 1);
    return 0;
}

int mp_noise_bernoulli(mp_rng *r, uint64_t num, uint64_t den, int *out)
{
    if (check_den(den) != 0)
        return -1;
    if (num > den)
        return mp_error_set("noise: Bernoulli probability %llu/%llu exceeds 1",
                            (unsigned long long)num, (unsigned long long)den);
    *out = mp_rng_uniform64(r, den) < num;
    return 0;
}

int mp_noise_bernoulli_exp(mp_rng *r, uint64_t num, uint64_t den, int *out)
{
    if (check_den(den) != 0)
        return -1;
    exponent e = {.whole = num / den, .hi = num % den, .lo = 0, .q1 = den, .q2 = 1};
    return bern_exp(r, &e, out);
}

/* Alg. 2 without the argument checks: discrete Laplace with scale num/den. */
static int dlaplace(mp_rng *r, uint64_t num, uint64_t den, int64_t *out)
{
    for (;;) {
        uint64_t u = mp_rng_uniform64(r, num);
        exponent e = {.whole = 0, .hi = u, .lo = 0, .q1 = num, .q2 = 1};
        int keep;
        if (bern_exp(r, &e, &keep) != 0)
            return -1;
        if (!keep)
            continue;
        uint64_t v = 0;
        while (bern_exp1(r)) {
            if (++v == NOISE_MAX_TRIALS)
                return mp_error_set("noise: sampler range exceeded");
        }
        u128 x = (u128)u + (u128)num * v;
        int64_t y = (int64_t)(x / den);
        int negative = (int)mp_rng_uniform64(r, 2);
        if (negative && y == 0)
            continue;
        *out = negative ? -y : y;
        return 0;
    }
}

int mp_noise_dlaplace(mp_rng *r, uint64_t num, uint64_t den, int64_t *out)
{
    if (check_den(den) != 0)
        return -1;
    if (num == 0)
        return mp_error_set("noise: discrete Laplace scale must be positive");
    if ((u128)num > (u128)MP_NOISE_MAX_SIGMA2 * den)
        return mp_error_set("noise: discrete Laplace scale exceeds 2^40");
    uint64_t g = mp_gcd64(num, den);
    return dlaplace(r, num / g, den / g, out);
}

int mp_noise_dgauss(mp_rng *r, uint64_t sigma2_num, uint64_t sigma2_den, int64_t *out)
{
    if (check_den(sigma2_den) != 0)
        return -1;
    if (sigma2_num == 0)
        return mp_error_set("noise: sigma^2 must be positive");
    if ((u128)sigma2_num > (u128)MP_NOISE_MAX_SIGMA2 * sigma2_den)
        return mp_error_set("noise: sigma^2 exceeds 2^40");

    uint64_t g = mp_gcd64(sigma2_num, sigma2_den);
    uint64_t n = sigma2_num / g, d = sigma2_den / g;
    /* floor(sqrt(n/d)) = floor(sqrt(floor(n/d))): both are the largest m with m^2 <= n/d. */
    uint64_t t = isqrt40(n / d) + 1;
    u128 m = (u128)d * t, big_e = m * t, two_n = (u128)n * 2;

    for (;;) {
        int64_t y;
        if (dlaplace(r, t, 1, &y) != 0)
            return -1;
        u128 ym = (u128)(y < 0 ? -(uint64_t)y : (uint64_t)y) * m;
        u128 a = ym >= n ? ym - n : n - ym;
        exponent e = {.q1 = two_n, .q2 = big_e};
        if (a / m >= NOISE_HUGE_H) {
            e.whole = NOISE_MAX_TRIALS; /* gamma >= 2^11: only "at least G" matters */
        } else {
            u128 q, rem;
            mul_divmod(a, a, big_e, &q, &rem);
            e.whole = q / two_n;
            e.hi = q % two_n;
            e.lo = rem;
        }
        int accept;
        if (bern_exp(r, &e, &accept) != 0)
            return -1;
        if (accept) {
            *out = y;
            return 0;
        }
    }
}
