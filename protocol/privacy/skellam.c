/*
 * skellam.c - exact Poisson and Skellam samplers, integer arithmetic only (see skellam.h).
 *
 * Skellam(v) is Poisson(v/2) - Poisson(v/2) with two independent draws, so everything below is
 * about Poisson(lambda), lambda = num/den > 0 (reduced by their gcd; den <= 2^33 because the
 * Skellam sampler doubles its denominator).
 *
 * Algorithm: rejection sampling from a flat-topped envelope with geometric tails (in the spirit
 * of Devroye's generators for discrete log-concave laws), with every ratio rational, so that the
 * acceptance test is a product of rational Bernoulli trials. Running time O(sqrt(lambda)).
 *
 *   m = floor(lambda), the mode. The target, scaled to 1 at the mode:
 *       f(k) = P(k)/P(m) = lambda^(k-m) m!/k!,    f(k+1)/f(k) = lambda/(k+1)    (k >= 0),
 *   so f rises up to m and falls after it, and f <= f(m) = 1.
 *   T = 2^e with e >= 1 the smallest such that 2*4^e >= lambda (T is within a factor sqrt(2)
 *   of sqrt(lambda), or T = 2 when lambda <= 8), and q = 1 - 1/T. The centre [a, b] has
 *       b = the least integer with (T-1)(b+1) >= T*lambda      (so b >= m),
 *       a = the greatest integer with T*a <= (T-1)*lambda       (so 0 <= a <= m).
 *   The envelope: g(k) = 1 on [a, b]; g(b+j) = q^j for j >= 1; and, only when a >= 1,
 *   g(a-j) = q^j for j >= 1 (g is defined on the negative integers too, where f = 0).
 *
 * Proposal. U uniform in [0, Z), Z = (b-a+1) + (T-1) + (a >= 1 ? T-1 : 0), all integers. U in
 *   the centre part gives k = a + U; otherwise J >= 1 is drawn with P(J = j) = (1/T) q^(j-1)
 *   and k = b + J (right part) or k = a - J (left part). Then P(propose k) = g(k)/Z for every
 *   k: on the centre 1/Z; in a tail ((T-1)/Z) (1/T) q^(j-1) = q^j / Z.
 *   J is the index of the first failing trial, where a trial is e fresh uniform bits and fails
 *   when all of them are 0 (probability exactly 2^-e = 1/T).
 *
 * Acceptance. k is accepted with probability alpha(k) = f(k)/g(k), written as a product of
 *   rationals that are each at most 1:
 *     a <= k <= b, k > m:  prod_{i=m+1..k} lambda/i           each <= lambda/(m+1) < 1;
 *     a <= k <= b, k < m:  prod_{i=k+1..m} i/lambda           each <= m/lambda <= 1;
 *     k = b + j:   f(b) * prod_{i=b+1..b+j} T*lambda/((T-1)*i), each <= T*lambda/((T-1)(b+1))
 *                  <= 1 by the choice of b; f(b) is the centre product above;
 *     k = a - j >= 0:  f(a) * prod_{i=a-j+1..a} T*i/((T-1)*lambda), each <= T*a/((T-1)lambda)
 *                  <= 1 by the choice of a; f(a) is the centre product above;
 *     k < 0:  alpha = 0 (rejected without a draw).
 *   (The tail formulas are f(b+j) = f(b) prod lambda/i and f(a-j) = f(a) prod i/lambda, divided
 *   by q^j = ((T-1)/T)^j, one factor per i.) In particular alpha <= 1, i.e. g >= f: the envelope
 *   is valid. In integers the factors form four runs, each c/(K*i) over a range of i (num/(den*i)
 *   and num*T/(den*(T-1)*i)) or (K*i)/c (den*i/num and den*T*i/(num*(T-1))), and the code
 *   asserts the run's largest factor is at most 1.
 *   Independent Bernoulli(p_i/q_i) trials all succeed with probability prod p_i/q_i, and so does
 *   one Bernoulli((p_1 ... p_G)/(q_1 ... q_G)). So G consecutive factors of a run are decided by
 *   one trial of c^G / (K^G * i(i-1)...(i-G+1)) (or its mirror), G as large as keeps both below
 *   2^127; the product is rejected at the first trial that fails. Runs are taken from the
 *   outside in (smallest factors first), so a rejection usually comes early.
 *   A Bernoulli(P/Q) trial draws v uniform in [0, 2^n), n the bit length of Q, retries while
 *   v >= Q (so v is uniform in [0, Q)) and answers v < P. v's digits are drawn from the top only
 *   until they settle both comparisons (usually one digit of at most 8 bits). No division.
 *
 * Exactness. Each round proposes k with probability g(k)/Z and accepts it with probability
 *   exactly f(k)/g(k), so it outputs k with probability f(k)/Z and rejects with probability
 *   1 - S/Z, S = sum_k f(k) = 1/P(m). Rounds are independent (fresh bits), so the output is k
 *   with probability f(k)/S = P(k): exactly Poisson(lambda). Every probability above is decided
 *   by comparing uniform integers with integers; nothing is rounded or truncated, except the
 *   cut-off below, which returns an error instead of a value.
 *
 * Random bits. 64-bit words are taken from the mp_rng in blocks (4, 8, 16, then 32 words per
 *   mp_rng_bytes call, rather than a call per word), read little-endian, and
 *   handed out a few bits at a time from the low end of the current word; a request for more
 *   bits than the word has left starts the next word, and the bits left at the end of a call
 *   are wiped unused. Distinct bits of the stream are independent and uniform, so every draw
 *   above is. The order is fixed, so a seeded generator gives reproducible samples
 *   (tools/skellam_ref.py models it exactly).
 *
 * Cost. Z is at most about 4.3 sqrt(lambda) against S ~ sqrt(2 pi lambda) ~ 2.5 sqrt(lambda),
 *   so about 0.6 of the rounds accept for large lambda; over all lambda (checked numerically)
 *   never fewer than 0.45, the worst case being lambda near 7.5 with T = 2. A round costs
 *   O(sqrt(lambda)) factors (one multiplication each), a trial per group of 3 to 6 factors when
 *   num and den are small, and a tail proposal about T trials of e bits. Skellam with variance
 *   10^6 takes a few microseconds, at the bound 2^40 some 10 to 30 milliseconds (see
 *   bench/sampler_bench.c).
 *
 * Range: a tail length J above 1024*T (probability q^(1024 T) < e^-1024) is where the sampler
 *   stops with "sampler range exceeded" instead of continuing, as noise.c does; every value
 *   that is returned is exactly distributed.
 *
 * Bounds (a call outside them fails with -1 and a reason):
 *   every denominator 1 <= den <= MP_NOISE_MAX_DEN = 2^32, numerator num >= 1;
 *   poisson: mean num/den <= 2^40; skellam: variance num/den <= 2^40 (each Poisson <= 2^39).
 *   Zero is refused rather than returning no noise: a variance of 0 means a calibration error.
 * Proof that every intermediate fits (after the gcd reduction num < 2^64, den <= 2^33,
 *   lambda <= 2^40): e <= 20 since 2*4^20 = 2^41, so T <= 2^20; b + 1 <= T*lambda/(T-1) + 1
 *   <= 2 lambda + 1, so b <= 2^41; a <= m <= 2^40; Z < 2^42; J <= 1024*T <= 2^30, so every
 *   candidate k < 2^42 (fits int64_t, and the Skellam difference of two such values too).
 *   Runs: c <= num*T < 2^84 and K*i <= den*(T-1)*k < 2^53 * 2^42 = 2^95 (den*T*i <= num*(T-1)
 *   on the left), so the bit lengths are at most 95 and G = floor(127 / max(bits(c),
 *   bits(K) + bits(i_max))) >= 1; then c^G < 2^(G bits(c)) <= 2^127 and
 *   K^G * i(i-1)...(i-G+1) < 2^(G (bits(K) + bits(i_max))) <= 2^127. In a trial v's range
 *   [lo, hi) has hi <= 2^n <= 2^127. In the setup 2*4^e*den <= 2^41 * 2^33 and T*num < 2^84.
 *   All in unsigned 128 bits.
 *
 * Nothing here uses floating point: compile with -mgeneral-regs-only, like noise.c.
 * No state outside the arguments; thread-safe given separate mp_rng objects. Not constant-time
 * (the number of draws depends on the value drawn), as noise.c.
 */
#include "skellam.h"

#include "intmath.h"

#include <assert.h>
#include <sodium.h>

typedef unsigned __int128 u128;

#define SK_MAX_TRIALS 1024u /* tail lengths up to SK_MAX_TRIALS * T */
#define SK_FIRST_WORDS 4u   /* the first refill of a call; each next one doubles, up to: */
#define SK_MAX_WORDS 32u

/* Everything that depends only on lambda = num/den. */
typedef struct {
    uint64_t num, den; /* reduced */
    uint64_t m, a, b;  /* mode, centre [a, b] */
    unsigned e;        /* T = 2^e */
    uint64_t t;
    uint64_t centre, tail_r, tail_l, total; /* Z = centre + tail_r + tail_l */
} plan;

/* Random bits from the generator: 64-bit words taken in blocks (each word read little-endian,
 * as mp_rng_u64 does), and handed out n bits at a time from the low end of the current word; a
 * request for more bits than the word has left starts a new word (the rest is discarded). */
typedef struct {
    mp_rng *r;
    uint64_t w[SK_MAX_WORDS];
    unsigned pos, len, next_len;
    uint64_t cur; /* unused bits of the current word, low end first */
    unsigned avail;
} source;

static void source_init(source *s, mp_rng *r)
{
    s->r = r;
    s->pos = s->len = 0;
    s->next_len = SK_FIRST_WORDS;
    s->cur = 0;
    s->avail = 0;
}

static void source_wipe(source *s)
{
    sodium_memzero(s->w, sizeof s->w);
    sodium_memzero(&s->cur, sizeof s->cur);
}

/* Refill: the bytes land in the words directly; on a big-endian host they are then swapped so
 * that each word is read little-endian, as mp_rng_u64 does, on every host. */
static __attribute__((noinline)) void refill(source *s)
{
    unsigned n = s->next_len;
    mp_rng_bytes(s->r, s->w, 8 * (size_t)n);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (unsigned i = 0; i < n; i++)
        s->w[i] = __builtin_bswap64(s->w[i]);
#endif
    s->pos = 0;
    s->len = n;
    s->next_len = n < SK_MAX_WORDS ? 2 * n : SK_MAX_WORDS;
}

static inline uint64_t word(source *s)
{
    if (s->pos == s->len)
        refill(s);
    return s->w[s->pos++];
}

/* n uniform bits, 1 <= n <= 64. */
static inline uint64_t take(source *s, unsigned n)
{
    assert(n >= 1 && n <= 64);
    if (s->avail < n) {
        s->cur = word(s);
        s->avail = 64;
    }
    uint64_t x = n == 64 ? s->cur : s->cur & ((UINT64_C(1) << n) - 1);
    s->cur = n == 64 ? 0 : s->cur >> n;
    s->avail -= n;
    return x;
}

static int bitlen128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    if (hi != 0)
        return 128 - __builtin_clzll(hi);
    return lo != 0 ? 64 - __builtin_clzll(lo) : 0;
}

/* Uniform in [0, bound), bound >= 2: n = bit length of bound - 1 bits, retried until below. */
static uint64_t uniform(source *s, uint64_t bound)
{
    unsigned n = (unsigned)bitlen128(bound - 1);
    for (;;) {
        uint64_t v = take(s, n);
        if (v < bound)
            return v;
    }
}

/* lambda = num/den with num >= 1, den <= 2^33, lambda <= 2^40 (checked by the callers). */
static void plan_init(plan *pl, uint64_t num, uint64_t den)
{
    uint64_t g = mp_gcd64(num, den);
    num /= g;
    den /= g;
    assert(num >= 1 && den >= 1 && den <= (UINT64_C(1) << 33));
    assert((u128)num <= (u128)MP_SKELLAM_MAX_MEAN * den);
    pl->num = num;
    pl->den = den;
    pl->m = num / den;

    unsigned e = 1;
    while (((u128)2 << (2 * e)) * den < num) /* until 2*4^e >= lambda */
        e++;
    assert(e <= 20);
    uint64_t t = UINT64_C(1) << e;
    pl->e = e;
    pl->t = t;

    /* b + 1 = ceil(T*num / ((T-1)*den)), a = floor((T-1)*num / (T*den)). */
    u128 tn = (u128)num * t, td1 = (u128)den * (t - 1);
    pl->b = (uint64_t)((tn + td1 - 1) / td1) - 1;
    pl->a = (uint64_t)((u128)num * (t - 1) / ((u128)den * t));
    assert(pl->a <= pl->m && pl->m <= pl->b);

    pl->centre = pl->b - pl->a + 1;
    pl->tail_r = t - 1;
    pl->tail_l = pl->a >= 1 ? t - 1 : 0;
    pl->total = pl->centre + pl->tail_r + pl->tail_l;
}

/* 1 with probability p/q, 1 <= p <= q < 2^127: v uniform in [0, 2^n), n the bit length of q,
 * retried while v >= q, answers v < p. v is drawn lazily, one digit at a time from the top (the
 * top digit has n - 8*floor((n-1)/8) bits, the others 8), and the draw stops as soon as the
 * digits so far settle the comparisons: when p/q is near 1, as here, that is nearly always after
 * the first digit, so a trial costs about 8 random bits, not 64 or 128. */
static int bern_ratio(source *s, u128 p, u128 q)
{
    assert(p >= 1 && p <= q && bitlen128(q) <= 127);
    if (p == q)
        return 1;
    const int n = bitlen128(q), top = (n - 1) / 8 * 8;
    for (;;) {
        u128 v = 0; /* the digits so far */
        for (int shift = top;; shift -= 8) {
            unsigned width = shift == top ? (unsigned)(n - top) : 8u;
            v = (v << width) | take(s, width);
            u128 lo = v << shift, hi = (v + 1) << shift; /* v is in [lo, hi) */
            if (hi <= p)
                return 1; /* v < p <= q */
            if (lo >= q)
                break; /* v >= q: draw again */
            if (p <= lo && hi <= q)
                return 0; /* p <= v < q */
            /* Once every digit is drawn, hi = lo + 1 and one of the three has settled it. */
            assert(shift > 0);
        }
    }
}

/* Factors per trial for a run whose factors have bit lengths at most bits_p and bits_q. */
static unsigned group_size(int bits_p, int bits_q)
{
    int w = bits_p > bits_q ? bits_p : bits_q;
    assert(w >= 1 && w <= 127);
    return (unsigned)(127 / w);
}

static u128 power(u128 x, unsigned n)
{
    u128 y = 1;
    while (n-- > 0)
        y *= x;
    return y;
}

/* The factors c/(k*i) for i = hi, hi-1, ..., lo+1, where c <= k*(lo+1), so each is <= 1.
 * Returns 0 at the first failed trial. */
static int run_down(source *s, u128 c, u128 k, uint64_t hi, uint64_t lo)
{
    if (hi <= lo)
        return 1;
    assert(c >= 1 && c <= k * (lo + 1)); /* the envelope inequality for the whole run */
    unsigned g = group_size(bitlen128(c), bitlen128(k) + bitlen128(hi));
    u128 cg = power(c, g), kg = power(k, g);
    uint64_t i = hi;
    while (i - lo >= g) {
        u128 q = i;
        for (unsigned j = 1; j < g; j++)
            q *= i - j;
        i -= g;
        if (!bern_ratio(s, cg, kg * q))
            return 0;
    }
    if (i == lo)
        return 1;
    unsigned n = (unsigned)(i - lo);
    u128 q = i;
    for (unsigned j = 1; j < n; j++)
        q *= i - j;
    return bern_ratio(s, power(c, n), power(k, n) * q);
}

/* The factors (k*i)/c for i = lo, lo+1, ..., hi, where lo >= 1 and k*hi <= c. */
static int run_up(source *s, u128 k, u128 c, uint64_t lo, uint64_t hi)
{
    if (lo > hi)
        return 1;
    assert(lo >= 1 && k >= 1 && k * hi <= c);
    unsigned g = group_size(bitlen128(k) + bitlen128(hi), bitlen128(c));
    u128 cg = power(c, g), kg = power(k, g);
    uint64_t i = lo;
    while (hi - i + 1 >= g) {
        u128 p = i;
        for (unsigned j = 1; j < g; j++)
            p *= i + j;
        i += g;
        if (!bern_ratio(s, kg * p, cg))
            return 0;
    }
    if (i > hi)
        return 1;
    unsigned n = (unsigned)(hi - i + 1);
    u128 p = i;
    for (unsigned j = 1; j < n; j++)
        p *= i + j;
    return bern_ratio(s, power(k, n) * p, power(c, n));
}

/* J >= 1 with P(J = j) = 2^-e (1 - 2^-e)^(j-1): the first trial of e bits that are all 0. */
static int tail_length(source *s, const plan *pl, uint64_t *out)
{
    const uint64_t cap = (uint64_t)SK_MAX_TRIALS * pl->t;
    for (uint64_t j = 1;; j++) {
        if (take(s, pl->e) == 0) {
            *out = j;
            return 0;
        }
        if (j == cap)
            return mp_error_set("skellam: sampler range exceeded");
    }
}

/* 1 with probability alpha(k) = f(k)/g(k), k >= 0: runs of factors, the outermost first. */
static int accept(source *s, const plan *pl, uint64_t k)
{
    const u128 num = pl->num, den = pl->den, t = pl->t;
    if (k > pl->b) {
        if (!run_down(s, num * t, den * (t - 1), k, pl->b) || !run_down(s, num, den, pl->b, pl->m))
            return 0;
    } else if (!run_down(s, num, den, k, pl->m)) {
        return 0;
    }
    if (k < pl->a)
        return run_up(s, den * t, num * (t - 1), k + 1, pl->a) &&
               run_up(s, den, num, pl->a + 1, pl->m);
    return run_up(s, den, num, k + 1, pl->m);
}

static int poisson(source *s, const plan *pl, uint64_t *out)
{
    for (;;) {
        uint64_t u = uniform(s, pl->total), k;
        if (u < pl->centre) {
            k = pl->a + u;
        } else {
            uint64_t j = 0;
            if (tail_length(s, pl, &j) != 0)
                return -1;
            if (u < pl->centre + pl->tail_r) {
                k = pl->b + j;
            } else {
                if (j > pl->a)
                    continue; /* k < 0: f = 0 */
                k = pl->a - j;
            }
        }
        if (accept(s, pl, k)) {
            *out = k;
            return 0;
        }
    }
}

/* what: "poisson" or "skellam"; noun: "mean" or "variance". */
static int check_args(const char *what, const char *noun, uint64_t num, uint64_t den, uint64_t max)
{
    if (den == 0)
        return mp_error_set("%s: denominator is zero", what);
    if (den > MP_NOISE_MAX_DEN)
        return mp_error_set("%s: denominator %llu exceeds 2^32", what, (unsigned long long)den);
    if (num == 0)
        return mp_error_set("%s: %s must be positive", what, noun);
    if ((u128)num > (u128)max * den)
        return mp_error_set("%s: %s exceeds 2^40", what, noun);
    return 0;
}

int mp_noise_poisson(mp_rng *r, uint64_t num, uint64_t den, uint64_t *out)
{
    if (check_args("poisson", "mean", num, den, MP_SKELLAM_MAX_MEAN) != 0)
        return -1;
    plan pl;
    plan_init(&pl, num, den);
    source s;
    source_init(&s, r);
    int rc = poisson(&s, &pl, out);
    source_wipe(&s);
    return rc;
}

int mp_noise_skellam(mp_rng *r, uint64_t num, uint64_t den, int64_t *out)
{
    if (check_args("skellam", "variance", num, den, MP_SKELLAM_MAX_VARIANCE) != 0)
        return -1;
    plan pl;
    plan_init(&pl, num, 2 * den); /* each side: mean num/(2 den) */
    source s;
    source_init(&s, r);
    uint64_t x = 0, y = 0;
    int rc = poisson(&s, &pl, &x) == 0 && poisson(&s, &pl, &y) == 0 ? 0 : -1;
    source_wipe(&s);
    if (rc == 0)
        *out = (int64_t)x - (int64_t)y;
    return rc;
}
