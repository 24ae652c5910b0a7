/*
 * test_shamir.c - t-of-n Shamir secret sharing (protocol/crypto/shamir.c).
 *
 * The known-answer test is re-derived here from the definition in shamir.h: the coefficients
 * are drawn from a second rng with the same seed, and the polynomials are evaluated both with
 * libsodium's scalar operations and with schoolbook addition modulo L written out in this file,
 * and the checksum in the constant terms is recomputed here with one-shot crypto_generichash,
 * so the hardcoded bytes are checked, not just snapshotted. Everything uses fixed seeds, so
 * the statistical checks are deterministic.
 */
#include "testutil.h"

#include "shamir.h"
#include "rng.h"

#define SB MP_SHAMIR_SHARE_BYTES
#define SC 32

static mp_rng *seeded(unsigned char base)
{
    unsigned char seed[MP_RNG_SEEDBYTES];
    mp_rng *r = NULL;
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (unsigned char)(base + i);
    assert_int_equal(mp_rng_new_seeded(&r, seed), 0);
    assert_non_null(r);
    return r;
}

static unsigned char *split_new(mp_rng *r, const unsigned char secret[32], unsigned t, unsigned n)
{
    unsigned char *sh = malloc((size_t)n * SB);
    assert_non_null(sh);
    assert_int_equal(mp_shamir_split(r, secret, t, n, sh), 0);
    return sh;
}

/* Combine the shares at 0-based positions pos[0..k-1] of `all`, in that order. */
static int combine_sel(const unsigned char *all, const unsigned *pos, size_t k,
                       unsigned char out[32])
{
    unsigned char *buf = malloc(k * SB + 1);
    int rc;
    assert_non_null(buf);
    for (size_t i = 0; i < k; i++)
        memcpy(buf + i * SB, all + (size_t)pos[i] * SB, SB);
    rc = mp_shamir_combine(buf, k, out);
    free(buf);
    return rc;
}

/* A refused call: -1, the expected reason, output wiped, and nothing secret in the reason. */
static void assert_refused(int rc, const char *why, const unsigned char out[32],
                           const unsigned char secret[32])
{
    const char *msg = mp_error_get();
    char hex[9];
    assert_int_equal(rc, -1);
    if (strstr(msg, why) == NULL)
        fail_msg("reason \"%s\" does not contain \"%s\"", msg, why);
    if (out != NULL)
        assert_true(sodium_is_zero(out, 32));
    for (const char *c = msg; *c; c++)
        assert_true(*c >= 0x20 && *c < 0x7f);
    if (secret != NULL) {
        snprintf(hex, sizeof hex, "%02x%02x%02x%02x", secret[0], secret[1], secret[2], secret[3]);
        assert_null(strstr(msg, hex));
    }
}

static void sc_small(unsigned char s[SC], unsigned v)
{
    memset(s, 0, SC);
    s[0] = (unsigned char)(v & 0xff);
    s[1] = (unsigned char)(v >> 8);
}

/* The group order L, derived from libsodium (L - 1 = -1) rather than copied from shamir.c. */
static void order_l(unsigned char l[SC])
{
    unsigned char one[SC];
    sc_small(one, 1);
    crypto_core_ristretto255_scalar_negate(l, one);
    assert_int_equal(l[0], 0xec); /* so + 1 does not carry */
    l[0]++;
    assert_int_equal(l[31], 0x10);
    assert_int_equal(l[15], 0x14);
}

/* Schoolbook (a + b) mod L on 32-byte little-endian numbers below L. */
static void add_mod_l(unsigned char out[SC], const unsigned char a[SC], const unsigned char b[SC])
{
    unsigned char l[SC], s[SC], d[SC];
    unsigned carry = 0, borrow = 0;
    order_l(l);
    for (int i = 0; i < SC; i++) {
        unsigned v = (unsigned)a[i] + b[i] + carry;
        s[i] = (unsigned char)v;
        carry = v >> 8;
    }
    for (int i = 0; i < SC; i++) {
        int v = (int)s[i] - l[i] - (int)borrow;
        borrow = v < 0;
        d[i] = (unsigned char)(v + (borrow ? 256 : 0));
    }
    /* s < 2L < 2^256, so no carry out; s >= L exactly when the subtraction did not borrow. */
    assert_int_equal(carry, 0);
    memcpy(out, borrow ? s : d, SC);
}

static int sc_below_l(const unsigned char s[SC])
{
    unsigned char l[SC];
    order_l(l);
    for (int i = SC - 1; i >= 0; i--)
        if (s[i] != l[i])
            return s[i] < l[i];
    return 0;
}

/* Build a share by hand. */
static void make_share(unsigned char sh[SB], unsigned version, unsigned t, unsigned x,
                       const unsigned char y0[SC], const unsigned char y1[SC])
{
    sh[0] = (unsigned char)version;
    sh[1] = (unsigned char)(t & 0xff);
    sh[2] = (unsigned char)(t >> 8);
    sh[3] = (unsigned char)(x & 0xff);
    sh[4] = (unsigned char)(x >> 8);
    memcpy(sh + 5, y0, SC);
    memcpy(sh + 5 + SC, y1, SC);
}

/* The constant term c_h of shamir.h: half h of the secret | 15 checksum bytes | 0. */
static void constant_term(unsigned char c[SC], const unsigned char secret[32], int h)
{
    unsigned char msg[18 + 32], k[30];
    memcpy(msg, "mijlpaal-shamir-v1", 18);
    memcpy(msg + 18, secret, 32);
    assert_int_equal(crypto_generichash(k, sizeof k, msg, sizeof msg, NULL, 0), 0);
    memcpy(c, secret + 16 * h, 16);
    memcpy(c + 16, k + 15 * h, 15);
    c[31] = 0;
}

/* libsodium's scalar arithmetic on a tiny hand example, and combine on hand-made shares. */
static void test_field_hand_example(void **state)
{
    (void)state;
    unsigned char one[SC], two[SC], five[SC], seven[SC], x1[SC], x2[SC], y1[SC], y2[SC];
    unsigned char t1[SC], t2[SC], num[SC], den[SC], inv[SC], lam1[SC], lam2[SC], f0[SC];
    unsigned char zero[SC] = {0};

    sc_small(one, 1);
    sc_small(two, 2);
    sc_small(five, 5);
    sc_small(seven, 7);
    /* 2 * (1/2) = 1 and -1 + 1 = 0. */
    assert_int_equal(crypto_core_ristretto255_scalar_invert(inv, two), 0);
    crypto_core_ristretto255_scalar_mul(t1, inv, two);
    assert_memory_equal(t1, one, SC);
    crypto_core_ristretto255_scalar_negate(t1, one);
    crypto_core_ristretto255_scalar_add(t2, t1, one);
    assert_memory_equal(t2, zero, SC);
    assert_int_not_equal(crypto_core_ristretto255_scalar_invert(inv, zero), 0);

    /* f(x) = 5 + 7x through (1, 12) and (2, 19); Lagrange at 0: lambda_1 = (0 - 2) / (1 - 2)
     * = 2, lambda_2 = (0 - 1) / (2 - 1) = -1, f(0) = 2 * 12 - 19 = 5. */
    sc_small(x1, 1);
    sc_small(x2, 2);
    sc_small(y1, 12);
    sc_small(y2, 19);
    crypto_core_ristretto255_scalar_negate(num, x2);
    crypto_core_ristretto255_scalar_sub(den, x1, x2);
    assert_int_equal(crypto_core_ristretto255_scalar_invert(inv, den), 0);
    crypto_core_ristretto255_scalar_mul(lam1, num, inv);
    assert_memory_equal(lam1, two, SC);
    crypto_core_ristretto255_scalar_negate(num, x1);
    crypto_core_ristretto255_scalar_sub(den, x2, x1);
    assert_int_equal(crypto_core_ristretto255_scalar_invert(inv, den), 0);
    crypto_core_ristretto255_scalar_mul(lam2, num, inv);
    crypto_core_ristretto255_scalar_add(t1, lam2, one);
    assert_memory_equal(t1, zero, SC); /* lambda_2 = -1 */
    crypto_core_ristretto255_scalar_mul(t1, lam1, y1);
    crypto_core_ristretto255_scalar_mul(t2, lam2, y2);
    crypto_core_ristretto255_scalar_add(f0, t1, t2);
    assert_memory_equal(f0, five, SC);

    /* The same with a random line a + b x. */
    unsigned char a[SC], b[SC];
    crypto_core_ristretto255_scalar_random(a);
    crypto_core_ristretto255_scalar_random(b);
    crypto_core_ristretto255_scalar_add(y1, a, b);
    crypto_core_ristretto255_scalar_add(t1, b, b);
    crypto_core_ristretto255_scalar_add(y2, a, t1);
    crypto_core_ristretto255_scalar_mul(t1, lam1, y1);
    crypto_core_ristretto255_scalar_mul(t2, lam2, y2);
    crypto_core_ristretto255_scalar_add(f0, t1, t2);
    assert_memory_equal(f0, a, SC);

    /* Hand-made shares of f_0 = c_0 + 7x, f_1 = c_1 + 11x (t = 2) for the secret 5, 0...0, 9,
     * 0...0, with c_h the constant terms (secret half and checksum). */
    unsigned char sh[4 * SB], out[32], want[32] = {0}, c[2][SC], v0[SC], v1[SC];
    want[0] = 5;
    want[16] = 9;
    constant_term(c[0], want, 0);
    constant_term(c[1], want, 1);
    for (unsigned x = 1; x <= 3; x++) {
        sc_small(t1, 7 * x);
        crypto_core_ristretto255_scalar_add(v0, c[0], t1);
        sc_small(t1, 11 * x);
        crypto_core_ristretto255_scalar_add(v1, c[1], t1);
        make_share(sh + (x - 1) * SB, 1, 2, x, v0, v1);
    }
    static const unsigned pairs[][2] = {{0, 1}, {1, 0}, {0, 2}, {2, 1}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        memset(out, 0xaa, sizeof out);
        assert_int_equal(combine_sel(sh, pairs[k], 2, out), 0);
        assert_memory_equal(out, want, 32);
    }
    assert_int_equal(mp_shamir_combine(sh, 3, out), 0);
    assert_memory_equal(out, want, 32);
    /* A fourth point off the line: f_1(4) - 1. */
    sc_small(t1, 7 * 4);
    crypto_core_ristretto255_scalar_add(v0, c[0], t1);
    sc_small(t1, 11 * 4 - 1);
    crypto_core_ristretto255_scalar_add(v1, c[1], t1);
    make_share(sh + 3 * SB, 1, 2, 4, v0, v1);
    assert_refused(mp_shamir_combine(sh, 4, out), "share 4 (index 4) does not lie", out, NULL);
    /* Consistent lines whose constant terms lack the checksum: 5 + 7x, 9 + 11x. */
    for (unsigned x = 1; x <= 3; x++) {
        sc_small(v0, 5 + 7 * x);
        sc_small(v1, 9 + 11 * x);
        make_share(sh + (x - 1) * SB, 1, 2, x, v0, v1);
    }
    assert_refused(mp_shamir_combine(sh, 3, out), "checksum mismatch", out, NULL);
}

static uint64_t binom(unsigned n, unsigned k, uint64_t cap)
{
    uint64_t c = 1;
    for (unsigned i = 1; i <= k; i++) {
        c = c * (n - k + i) / i;
        if (c > cap)
            return cap + 1;
    }
    return c;
}

/* pos[0..k-1] = a uniformly random k-subset of 0..n-1 in random order. */
static void random_subset(mp_rng *r, unsigned *pos, unsigned k, unsigned n)
{
    unsigned *perm = malloc(n * sizeof *perm);
    assert_non_null(perm);
    for (unsigned i = 0; i < n; i++)
        perm[i] = i;
    for (unsigned i = 0; i < k; i++) {
        unsigned j = i + (unsigned)mp_rng_uniform64(r, n - i);
        unsigned tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
        pos[i] = perm[i];
    }
    free(perm);
}

static void round_trip(unsigned t, unsigned n, unsigned char seed_base)
{
    mp_rng *r = seeded(seed_base);
    unsigned char secret[32], out[32];
    unsigned *pos = malloc(n * sizeof *pos);
    assert_non_null(pos);
    mp_rng_bytes(r, secret, sizeof secret);
    unsigned char *sh = split_new(r, secret, t, n);

    /* Every share carries its index and the threshold. */
    for (unsigned i = 0; i < n; i++) {
        unsigned ti, xi;
        assert_int_equal(mp_shamir_share_info(sh + (size_t)i * SB, &ti, &xi), 0);
        assert_int_equal(ti, t);
        assert_int_equal(xi, i + 1);
    }
    /* All shares, forwards and backwards. */
    assert_int_equal(mp_shamir_combine(sh, n, out), 0);
    assert_memory_equal(out, secret, 32);
    for (unsigned i = 0; i < n; i++)
        pos[i] = n - 1 - i;
    assert_int_equal(combine_sel(sh, pos, n, out), 0);
    assert_memory_equal(out, secret, 32);

    if (binom(n, t, 300) <= 300) {
        /* Every t-subset, in increasing order (lexicographic enumeration). */
        size_t subsets = 0;
        for (unsigned i = 0; i < t; i++)
            pos[i] = i;
        for (;;) {
            memset(out, 0, sizeof out);
            assert_int_equal(combine_sel(sh, pos, t, out), 0);
            assert_memory_equal(out, secret, 32);
            subsets++;
            int i = (int)t - 1;
            while (i >= 0 && pos[i] == n - t + (unsigned)i)
                i--;
            if (i < 0)
                break;
            pos[i]++;
            for (unsigned j = (unsigned)i + 1; j < t; j++)
                pos[j] = pos[j - 1] + 1;
        }
        assert_int_equal(subsets, binom(n, t, 300));
    } else {
        /* Random t-subsets in random order, and random larger ones (extra shares checked). */
        for (int k = 0; k < 8; k++) {
            random_subset(r, pos, t, n);
            assert_int_equal(combine_sel(sh, pos, t, out), 0);
            assert_memory_equal(out, secret, 32);
        }
        static const unsigned extra[] = {1, 37, 250};
        for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
            unsigned size = t + extra[k] <= n ? t + extra[k] : n;
            random_subset(r, pos, size, n);
            assert_int_equal(combine_sel(sh, pos, size, out), 0);
            assert_memory_equal(out, secret, 32);
        }
    }
    /* t - 1 shares are refused. */
    if (t > 1) {
        random_subset(r, pos, t - 1, n);
        assert_refused(combine_sel(sh, pos, t - 1, out), "the threshold is", out, secret);
    }
    free(sh);
    free(pos);
    mp_rng_free(r);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const unsigned tn[][2] = {{1, 1}, {2, 3}, {3, 6}, {5, 10}, {100, 1000}};
    for (size_t k = 0; k < sizeof tn / sizeof tn[0]; k++)
        round_trip(tn[k][0], tn[k][1], (unsigned char)(10 + k));
}

/* Extreme secrets, t = 1, and the largest n with the largest indices. */
static void test_edges(void **state)
{
    (void)state;
    mp_rng *r = seeded(40);
    unsigned char secret[32], out[32], *sh;

    for (int v = 0; v < 2; v++) {
        memset(secret, v ? 0xff : 0x00, sizeof secret);
        sh = split_new(r, secret, 3, 4);
        assert_int_equal(mp_shamir_combine(sh + SB, 3, out), 0);
        assert_memory_equal(out, secret, 32);
        free(sh);
    }
    /* t = 1: every share holds the constant terms themselves. */
    unsigned char c[SC];
    mp_rng_bytes(r, secret, sizeof secret);
    sh = split_new(r, secret, 1, 3);
    for (unsigned i = 0; i < 3; i++) {
        const unsigned char *y = sh + (size_t)i * SB + 5;
        constant_term(c, secret, 0);
        assert_memory_equal(y, c, SC);
        constant_term(c, secret, 1);
        assert_memory_equal(y + SC, c, SC);
        assert_int_equal(mp_shamir_combine(sh + (size_t)i * SB, 1, out), 0);
        assert_memory_equal(out, secret, 32);
    }
    free(sh);
    /* n = MP_SHAMIR_MAX_N: the last indices work. */
    sh = split_new(r, secret, 2, MP_SHAMIR_MAX_N);
    unsigned last[] = {MP_SHAMIR_MAX_N - 1, MP_SHAMIR_MAX_N - 2, 0};
    assert_int_equal(combine_sel(sh, last, 2, out), 0);
    assert_memory_equal(out, secret, 32);
    assert_int_equal(combine_sel(sh, last + 1, 2, out), 0);
    assert_memory_equal(out, secret, 32);
    unsigned ti, xi;
    assert_int_equal(mp_shamir_share_info(sh + (size_t)(MP_SHAMIR_MAX_N - 1) * SB, &ti, &xi), 0);
    assert_int_equal(xi, MP_SHAMIR_MAX_N);
    free(sh);
    mp_rng_free(r);
}

static void test_split_parameters(void **state)
{
    (void)state;
    mp_rng *r = seeded(50);
    unsigned char secret[32] = {1, 2, 3}, buf[4 * SB], guard[4 * SB];
    memset(buf, 0xaa, sizeof buf);
    memcpy(guard, buf, sizeof buf);

    assert_refused(mp_shamir_split(r, secret, 0, 3, buf), "threshold 0", NULL, secret);
    assert_refused(mp_shamir_split(r, secret, 4, 3, buf), "threshold 4", NULL, secret);
    assert_refused(mp_shamir_split(r, secret, 1, 0, buf), "0 participants", NULL, secret);
    assert_refused(mp_shamir_split(r, secret, 2, MP_SHAMIR_MAX_N + 1, buf), "participants", NULL,
                   secret);
    assert_refused(mp_shamir_split(r, secret, 2, 65536, buf), "participants", NULL, secret);
    assert_refused(mp_shamir_split(NULL, secret, 2, 3, buf), "missing", NULL, secret);
    assert_refused(mp_shamir_split(r, NULL, 2, 3, buf), "missing", NULL, NULL);
    assert_refused(mp_shamir_split(r, secret, 2, 3, NULL), "missing", NULL, secret);
    assert_memory_equal(buf, guard, sizeof buf);
    mp_rng_free(r);
}

static void test_fewer_than_t_refused(void **state)
{
    (void)state;
    mp_rng *r = seeded(60);
    unsigned char secret[32], out[32];
    mp_rng_bytes(r, secret, sizeof secret);
    unsigned char *sh = split_new(r, secret, 3, 5);

    memset(out, 0xaa, sizeof out);
    assert_refused(mp_shamir_combine(sh, 2, out), "2 shares given, the threshold is 3", out,
                   secret);
    memset(out, 0xaa, sizeof out);
    assert_refused(mp_shamir_combine(sh + 3 * SB, 1, out), "the threshold is 3", out, secret);
    memset(out, 0xaa, sizeof out);
    assert_refused(mp_shamir_combine(sh, 0, out), "no shares", out, secret);
    assert_refused(mp_shamir_combine(NULL, 3, out), "no shares", out, secret);
    assert_refused(mp_shamir_combine(sh, MP_SHAMIR_MAX_N + 1, out), "at most", out, secret);
    free(sh);
    mp_rng_free(r);
}

/* t - 1 = 1 share of a t = 2 split says nothing about the secret: its values are uniform. */
static void share_stats(const unsigned char secret[32], unsigned char seed_base)
{
    enum { SPLITS = 4096 };
    mp_rng *r = seeded(seed_base);
    unsigned char sh[3 * SB];
    unsigned(*hist)[256] = calloc(2 * SC, sizeof *hist);
    uint64_t *prefix = malloc(SPLITS * sizeof *prefix);
    assert_non_null(hist);
    assert_non_null(prefix);

    for (int s = 0; s < SPLITS; s++) {
        assert_int_equal(mp_shamir_split(r, secret, 2, 3, sh), 0);
        assert_memory_equal(sh, "\x01\x02\x00\x01\x00", 5); /* header of share 1 */
        for (int b = 0; b < 2 * SC; b++)
            hist[b][sh[5 + b]]++;
        memcpy(&prefix[s], sh + 5, 8);
    }
    for (int h = 0; h < 2; h++) {
        for (int b = 0; b < SC - 1; b++) {
            unsigned *c = hist[h * SC + b];
            unsigned distinct = 0;
            double chi2 = 0, e = SPLITS / 256.0;
            for (int v = 0; v < 256; v++) {
                distinct += c[v] != 0;
                chi2 += (c[v] - e) * (c[v] - e) / e;
            }
            /* A missing value has probability 256 (255/256)^4096 ~ 3e-5. Chi-square with 255
             * degrees of freedom exceeds 380 with probability ~6e-7, so ~1e-4 over the 186
             * bytes of the three calls. */
            assert_true(distinct >= 250);
            if (chi2 > 380)
                fail_msg("value %d byte %d: chi-square %.1f", h + 1, b, chi2);
        }
        /* The top byte of a value below L is 0..15, or 0x10 in [2^252, L) (probability 2^-128). */
        unsigned *top = hist[h * SC + SC - 1], distinct = 0;
        for (int v = 0; v < 256; v++) {
            if (v > 0x10)
                assert_int_equal(top[v], 0);
            distinct += top[v] != 0;
        }
        assert_true(distinct >= 16);
    }
    /* No two splits gave the same first share. */
    for (int i = 0; i < SPLITS; i++)
        for (int j = i + 1; j < SPLITS; j++)
            assert_true(prefix[i] != prefix[j]);
    free(hist);
    free(prefix);
    mp_rng_free(r);
}

static void test_one_share_reveals_nothing(void **state)
{
    (void)state;
    unsigned char secret[32];
    for (int i = 0; i < 32; i++)
        secret[i] = (unsigned char)i;
    share_stats(secret, 70);
    /* The same statistics for very different secrets. */
    memset(secret, 0, sizeof secret);
    share_stats(secret, 71);
    memset(secret, 0xff, sizeof secret);
    share_stats(secret, 72);
}

/* Any single flipped bit in any value of any share is refused, with or without extra shares. */
static void test_tampered_share_detected(void **state)
{
    (void)state;
    mp_rng *r = seeded(80);
    unsigned char secret[32], out[32], *sh, *bad = malloc(6 * SB);
    assert_non_null(bad);
    mp_rng_bytes(r, secret, sizeof secret);
    sh = split_new(r, secret, 3, 6);

    for (unsigned who = 0; who < 6; who++) {
        for (unsigned b = 5; b < SB; b++) {
            memcpy(bad, sh, 6 * SB);
            bad[who * SB + b] ^= (unsigned char)(1u << (b % 8));
            memset(out, 0xaa, sizeof out);
            int rc = mp_shamir_combine(bad, 6, out);
            assert_int_equal(rc, -1);
            assert_true(sodium_is_zero(out, 32));
            const char *msg = mp_error_get();
            assert_true(strstr(msg, "does not lie") != NULL || strstr(msg, "canonical") != NULL);
            /* With only the first t shares the checksum catches it (the Lagrange coefficients
             * for x = 1, 2, 3 are 3, -3 and 1, so without it a low bit flipped in share 3 would
             * shift the secret by that bit and nothing else). */
            if (who < 3 && strstr(msg, "canonical") == NULL)
                assert_refused(mp_shamir_combine(bad, 3, out), "checksum mismatch", out, secret);
        }
    }
    /* Damage to the header: version, threshold, index. */
    memcpy(bad, sh, 6 * SB);
    bad[4 * SB] = 2;
    assert_refused(mp_shamir_combine(bad, 6, out), "share 5 of 6: version 2 is not supported", out,
                   secret);
    memcpy(bad, sh, 6 * SB);
    bad[4 * SB + 1] = 4;
    assert_refused(mp_shamir_combine(bad, 6, out), "share 5 has threshold 4, share 1 has 3", out,
                   secret);
    memcpy(bad, sh, 6 * SB);
    bad[4 * SB + 3] = 6; /* index 5 -> 6: collides with share 6 */
    assert_refused(mp_shamir_combine(bad, 6, out), "shares 5 and 6 both have index 6", out, secret);
    memcpy(bad, sh, 6 * SB);
    bad[4 * SB + 3] = 7; /* index 5 -> 7: a point the polynomial does not pass */
    assert_refused(mp_shamir_combine(bad, 6, out), "share 5 (index 7) does not lie", out, secret);
    free(bad);
    free(sh);
    mp_rng_free(r);
}

/* A deliberate forgery by someone who knows the (public) Lagrange coefficients but not the
 * secret: shift the secret by exactly 1. The checksum refuses it with exactly t shares, the
 * polynomial check with one more. */
static void test_forgery_refused(void **state)
{
    (void)state;
    mp_rng *r = seeded(90);
    unsigned char secret[32], out[32], *sh, x1[SC], x2[SC], num[SC], den[SC], inv[SC];
    unsigned char lam2[SC], delta[SC], y[SC], want[32];
    mp_rng_bytes(r, secret, sizeof secret);
    secret[0] = 0; /* so that + 1 below does not carry */
    sh = split_new(r, secret, 2, 3);

    /* With shares x_1 = 1 and x_2 = 2, f(0) = lambda_1 y_1 + lambda_2 y_2 where the public
     * lambda_2 = (0 - x_1) / (x_2 - x_1); adding delta = 1 / lambda_2 to y_2 adds 1 to f_0(0). */
    sc_small(x1, 1);
    sc_small(x2, 2);
    crypto_core_ristretto255_scalar_negate(num, x1);
    crypto_core_ristretto255_scalar_sub(den, x2, x1);
    assert_int_equal(crypto_core_ristretto255_scalar_invert(inv, den), 0);
    crypto_core_ristretto255_scalar_mul(lam2, num, inv);
    assert_int_equal(crypto_core_ristretto255_scalar_invert(delta, lam2), 0);
    crypto_core_ristretto255_scalar_add(y, sh + SB + 5, delta);
    memcpy(sh + SB + 5, y, SC);

    memcpy(want, secret, 32);
    want[0] = 1;
    assert_refused(mp_shamir_combine(sh, 2, out), "checksum mismatch", out, secret);
    assert_refused(mp_shamir_combine(sh, 2, out), "checksum mismatch", out, want);
    assert_refused(mp_shamir_combine(sh, 3, out), "share 3 (index 3) does not lie", out, secret);
    free(sh);
    mp_rng_free(r);
}

static void test_duplicate_index_refused(void **state)
{
    (void)state;
    mp_rng *r = seeded(100);
    unsigned char secret[32], out[32], *sh;
    mp_rng_bytes(r, secret, sizeof secret);
    sh = split_new(r, secret, 2, 3);
    static const unsigned same[] = {0, 0}, later[] = {0, 1, 2, 1};
    assert_refused(combine_sel(sh, same, 2, out), "shares 1 and 2 both have index 1", out, secret);
    assert_refused(combine_sel(sh, later, 4, out), "shares 2 and 4 both have index 2", out, secret);
    /* Same index, different values (a second split). */
    unsigned char *other = split_new(r, secret, 2, 3), mix[2 * SB];
    memcpy(mix, sh, SB);
    memcpy(mix + SB, other, SB);
    assert_refused(mp_shamir_combine(mix, 2, out), "both have index 1", out, secret);
    free(other);
    free(sh);
    mp_rng_free(r);
}

static void test_mixed_splits_refused(void **state)
{
    (void)state;
    mp_rng *r = seeded(110);
    unsigned char secret[32], secret2[32], out[32], mix[3 * SB];
    mp_rng_bytes(r, secret, sizeof secret);
    mp_rng_bytes(r, secret2, sizeof secret2);
    unsigned char *a = split_new(r, secret, 2, 3), *b = split_new(r, secret, 3, 3);
    unsigned char *c = split_new(r, secret2, 2, 3), *d = split_new(r, secret, 2, 3);

    /* Different thresholds. */
    memcpy(mix, a, SB);
    memcpy(mix + SB, b + SB, 2 * SB);
    assert_refused(mp_shamir_combine(mix, 3, out), "share 2 has threshold 3, share 1 has 2", out,
                   secret);
    /* Same threshold, different secrets: the extra share exposes it... */
    memcpy(mix, a, 2 * SB);
    memcpy(mix + 2 * SB, c + 2 * SB, SB);
    assert_refused(mp_shamir_combine(mix, 3, out), "share 3 (index 3) does not lie", out, secret);
    /* ...and without one, the checksum does. */
    memcpy(mix + SB, c + SB, SB);
    assert_refused(mp_shamir_combine(mix, 2, out), "do not rebuild a valid secret", out, secret);
    /* Same secret, two different splits: also inconsistent. */
    memcpy(mix, a, SB);
    memcpy(mix + SB, d + SB, SB);
    assert_refused(mp_shamir_combine(mix, 2, out), "do not rebuild a valid secret", out, secret);
    free(a);
    free(b);
    free(c);
    free(d);
    mp_rng_free(r);
}

static void test_share_info(void **state)
{
    (void)state;
    unsigned char sh[SB], l[SC], lm1[SC], zero[SC] = {0}, out[32];
    unsigned t = 0, x = 0;
    order_l(l);
    memcpy(lm1, l, SC);
    lm1[0]--;

    make_share(sh, 1, 7, 300, zero, lm1);
    assert_int_equal(mp_shamir_share_info(sh, &t, &x), 0);
    assert_int_equal(t, 7);
    assert_int_equal(x, 300);
    assert_int_equal(mp_shamir_share_info(sh, NULL, NULL), 0);

    make_share(sh, 0, 2, 1, zero, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "version 0 is not supported", NULL, NULL);
    make_share(sh, 2, 2, 1, zero, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "version 2 is not supported", NULL, NULL);
    make_share(sh, 1, 0, 1, zero, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "threshold 0 is out of range", NULL, NULL);
    make_share(sh, 1, MP_SHAMIR_MAX_N + 1, 1, zero, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "threshold 4097 is out of range", NULL, NULL);
    make_share(sh, 1, 2, 0, zero, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "index 0 is not allowed", NULL, NULL);
    make_share(sh, 1, 2, 65535, zero, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "index 65535 is out of range", NULL, NULL);
    make_share(sh, 1, 2, 1, l, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "value 1 is not a canonical scalar", NULL,
                   NULL);
    make_share(sh, 1, 2, 1, zero, l);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "value 2 is not a canonical scalar", NULL,
                   NULL);
    /* Just above L in a low byte, and far above L. */
    l[3]++;
    make_share(sh, 1, 2, 1, zero, l);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "value 2 is not", NULL, NULL);
    memset(l, 0xff, SC);
    make_share(sh, 1, 2, 1, l, zero);
    assert_refused(mp_shamir_share_info(sh, &t, &x), "value 1 is not", NULL, NULL);
    /* Just below L in a high byte is fine. */
    order_l(l);
    l[31] = 0x0f;
    l[30] = 0xff;
    make_share(sh, 1, 2, 1, l, zero);
    assert_int_equal(mp_shamir_share_info(sh, &t, &x), 0);
    assert_refused(mp_shamir_share_info(NULL, &t, &x), "no share", NULL, NULL);
    /* combine names the position of a bad share. */
    unsigned char two[2 * SB];
    make_share(two, 1, 2, 1, zero, zero);
    make_share(two + SB, 1, 2, 2, zero, lm1);
    two[SB + 5 + SC] ^= 0x13; /* lm1 becomes L + 0x11 */
    assert_refused(mp_shamir_combine(two, 2, out), "share 2 of 2: value 2 is not a canonical", out,
                   NULL);
}

static void test_reproducible(void **state)
{
    (void)state;
    unsigned char secret[32] = {42}, a[5 * SB], b[5 * SB], c[5 * SB];
    mp_rng *r1 = seeded(120), *r2 = seeded(120), *r3 = seeded(121);
    assert_int_equal(mp_shamir_split(r1, secret, 3, 5, a), 0);
    assert_int_equal(mp_shamir_split(r2, secret, 3, 5, b), 0);
    assert_int_equal(mp_shamir_split(r3, secret, 3, 5, c), 0);
    assert_memory_equal(a, b, sizeof a);
    for (int i = 0; i < 5; i++)
        assert_memory_not_equal(a + i * SB + 5, c + i * SB + 5, 2 * SC);
    /* A second split from the same generator uses fresh coefficients. */
    assert_int_equal(mp_shamir_split(r1, secret, 3, 5, b), 0);
    assert_memory_not_equal(a + 5, b + 5, 2 * SC);
    mp_rng_free(r1);
    mp_rng_free(r2);
    mp_rng_free(r3);
}

/* Known answer: seed 00..1f, secret 00..1f, t = 2, n = 3. Computed once with an independent
 * implementation (Python big integers, hashlib's BLAKE2b and the ChaCha20 of the cryptography
 * package, which the library then matched); the test below also re-derives it in C. */
static const char *const kat_hex[3] = {
    /* version | t = 2 | x | f_0(x) | f_1(x) */
    "01"
    "0200"
    "0100"
    "36e6b6371d5a2099d012b3a0afdfd62633d871c1356d5438c14e4d4dafbb390c"
    "71134ba112f9519f8764d11f47a69ba20af40d46ee5f63f1ca1b388d65f6a900",
    "01"
    "0200"
    "0200"
    "7ff7750f1c4c28d3c27f649374b8c029db445ab71305903ebfeb02f19fcec007"
    "d215842f11dd8d27f7af8824722f1926e64dc560f30e5b60667f731430d52701",
    "01"
    "0200"
    "0300"
    "c80835e71a3e300db5ec15863991aa2c83b142adf19ccb44bd88b89490e14703"
    "3318bdbd0fc1c9af66fb3f299db896a9c1a77c7bf8bd52cf01e3ae9bfab3a501",
};

static void test_known_answer(void **state)
{
    (void)state;
    unsigned char secret[32], seed[32], sh[3 * SB], want[SB], out[32];
    for (int i = 0; i < 32; i++)
        secret[i] = seed[i] = (unsigned char)i;
    mp_rng *r = NULL;
    assert_int_equal(mp_rng_new_seeded(&r, seed), 0);
    assert_int_equal(mp_shamir_split(r, secret, 2, 3, sh), 0);
    mp_rng_free(r);

    /* 1. The hardcoded bytes. */
    for (int i = 0; i < 3; i++) {
        size_t len = 0;
        assert_int_equal(
            sodium_hex2bin(want, sizeof want, kat_hex[i], strlen(kat_hex[i]), NULL, &len, NULL), 0);
        assert_int_equal(len, SB);
        assert_memory_equal(sh + i * SB, want, SB);
    }

    /* 2. From first principles: a_{0,1} then a_{1,1}, each 64 rng bytes reduced mod L; the
     * constant terms c_h from the secret and its checksum. */
    unsigned char wide[64], a[2][SC], s[2][SC], x[SC], ax[SC], y[SC], acc[SC];
    assert_int_equal(mp_rng_new_seeded(&r, seed), 0);
    for (int h = 0; h < 2; h++) {
        mp_rng_bytes(r, wide, sizeof wide);
        crypto_core_ristretto255_scalar_reduce(a[h], wide);
        assert_true(sc_below_l(a[h]));
        constant_term(s[h], secret, h);
    }
    mp_rng_free(r);
    for (unsigned i = 0; i < 3; i++) {
        const unsigned char *got = sh + i * SB;
        unsigned char hdr[5] = {1, 2, 0, (unsigned char)(i + 1), 0};
        assert_memory_equal(got, hdr, 5);
        for (int h = 0; h < 2; h++) {
            /* f_h(x) = c_h + a_{h,1} x with libsodium... */
            sc_small(x, i + 1);
            crypto_core_ristretto255_scalar_mul(ax, a[h], x);
            crypto_core_ristretto255_scalar_add(y, s[h], ax);
            assert_memory_equal(got + 5 + h * SC, y, SC);
            /* ...and as c_h + a + ... + a (x terms) with schoolbook addition mod L. */
            memcpy(acc, s[h], SC);
            for (unsigned k = 0; k <= i; k++)
                add_mod_l(acc, acc, a[h]);
            assert_memory_equal(got + 5 + h * SC, acc, SC);
        }
    }
    /* 3. And back. */
    assert_int_equal(mp_shamir_combine(sh + SB, 2, out), 0);
    assert_memory_equal(out, secret, 32);
}

/* Every share of larger splits, re-derived from the definition: coefficients a_{0,1..t-1} then
 * a_{1,1..t-1} from the rng, Horner evaluation; and the rng has given exactly those bytes. */
static void test_derivation(void **state)
{
    (void)state;
    static const unsigned tn[][2] = {{2, 3}, {3, 5}, {4, 4}, {7, 20}};
    unsigned char seed[32], secret[32], wide[64], c[2][SC], x[SC], y[SC], tmp[SC];
    unsigned char next1[16], next2[16];
    for (size_t k = 0; k < sizeof tn / sizeof tn[0]; k++) {
        unsigned t = tn[k][0], n = tn[k][1];
        unsigned char(*a)[SC] = malloc(2 * t * sizeof *a);
        assert_non_null(a);
        for (int i = 0; i < 32; i++) {
            seed[i] = (unsigned char)(7 * i + k);
            secret[i] = (unsigned char)(200 - 3 * i);
        }
        mp_rng *r1 = NULL, *r2 = NULL;
        assert_int_equal(mp_rng_new_seeded(&r1, seed), 0);
        assert_int_equal(mp_rng_new_seeded(&r2, seed), 0);
        unsigned char *sh = split_new(r1, secret, t, n);
        for (int h = 0; h < 2; h++) {
            constant_term(c[h], secret, h);
            memcpy(a[h * t], c[h], SC);
            for (unsigned j = 1; j < t; j++) {
                mp_rng_bytes(r2, wide, sizeof wide);
                crypto_core_ristretto255_scalar_reduce(a[h * t + j], wide);
            }
        }
        /* Both generators are now at the same point of the stream. */
        mp_rng_bytes(r1, next1, sizeof next1);
        mp_rng_bytes(r2, next2, sizeof next2);
        assert_memory_equal(next1, next2, sizeof next1);
        for (unsigned i = 0; i < n; i++) {
            sc_small(x, i + 1);
            for (int h = 0; h < 2; h++) {
                memcpy(y, a[h * t + t - 1], SC);
                for (unsigned j = t - 1; j > 0; j--) {
                    crypto_core_ristretto255_scalar_mul(tmp, y, x);
                    crypto_core_ristretto255_scalar_add(y, tmp, a[h * t + j - 1]);
                }
                assert_memory_equal(sh + (size_t)i * SB + 5 + h * SC, y, SC);
            }
        }
        free(sh);
        free(a);
        mp_rng_free(r1);
        mp_rng_free(r2);
    }
}

/* ---- batched reconstruction: mp_shamir_weights + mp_shamir_combine_weighted ------------- */

/* The scalar (v mod L) for v in -255..255. */
static void sc_signed(unsigned char s[SC], int v)
{
    unsigned char a[SC];
    sc_small(a, (unsigned)(v < 0 ? -v : v));
    if (v < 0)
        crypto_core_ristretto255_scalar_negate(s, a);
    else
        memcpy(s, a, SC);
}

/* Weighted combine of the shares at 0-based positions pos[0..k-1] of `all`. */
static int combine_weighted_sel(const unsigned char *all, const unsigned *pos, unsigned k,
                                unsigned char out[32])
{
    const unsigned char **ptr = malloc(k * sizeof *ptr);
    unsigned *xs = malloc(k * sizeof *xs);
    unsigned char *w = malloc((size_t)k * SC);
    int rc;
    assert_non_null(ptr);
    assert_non_null(xs);
    assert_non_null(w);
    for (unsigned i = 0; i < k; i++) {
        ptr[i] = all + (size_t)pos[i] * SB;
        xs[i] = pos[i] + 1;
    }
    assert_int_equal(mp_shamir_weights(xs, k, w), 0);
    rc = mp_shamir_combine_weighted(ptr, k, xs, w, out);
    free(ptr);
    free(xs);
    free(w);
    return rc;
}

/* Known answers: the Lagrange weights at zero are small integers mod L for small indices. For
 * {1, 2, 3} they are 3, -3, 1 (shamir.h), as 32-byte little-endian scalars; -3 is L - 3. */
static void test_weights_known_answer(void **state)
{
    (void)state;
    static const unsigned char l_minus_3[SC] = {0xea, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                                0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
    unsigned char w[4 * SC], want[SC], l[SC];
    /* The constant above is L - 3 with L = 2^252 + 27742317777372353535851937790883648493. */
    order_l(l);
    memcpy(want, l, SC);
    want[0] = (unsigned char)(want[0] - 3);
    assert_memory_equal(want, l_minus_3, SC);

    static const unsigned x123[] = {1, 2, 3}, x312[] = {3, 1, 2}, x12[] = {1, 2}, x24[] = {2, 4};
    static const unsigned x1[] = {1}, x7[] = {7}, x1234[] = {1, 2, 3, 4};
    assert_int_equal(mp_shamir_weights(x123, 3, w), 0);
    sc_small(want, 3);
    assert_memory_equal(w, want, SC);
    assert_memory_equal(w + SC, l_minus_3, SC);
    sc_small(want, 1);
    assert_memory_equal(w + 2 * SC, want, SC);
    /* The same set in another order: the same weights, permuted. */
    assert_int_equal(mp_shamir_weights(x312, 3, w), 0);
    assert_memory_equal(w, want, SC);
    sc_small(want, 3);
    assert_memory_equal(w + SC, want, SC);
    assert_memory_equal(w + 2 * SC, l_minus_3, SC);
    /* {1, 2}: 2 and -1; {2, 4}: 4 / 2 = 2 and 2 / -2 = -1; {1, 2, 3, 4}: 4, -6, 4, -1. */
    assert_int_equal(mp_shamir_weights(x12, 2, w), 0);
    sc_signed(want, 2);
    assert_memory_equal(w, want, SC);
    sc_signed(want, -1);
    assert_memory_equal(w + SC, want, SC);
    assert_int_equal(mp_shamir_weights(x24, 2, w), 0);
    sc_signed(want, 2);
    assert_memory_equal(w, want, SC);
    sc_signed(want, -1);
    assert_memory_equal(w + SC, want, SC);
    assert_int_equal(mp_shamir_weights(x1234, 4, w), 0);
    static const int w1234[] = {4, -6, 4, -1};
    for (int i = 0; i < 4; i++) {
        sc_signed(want, w1234[i]);
        assert_memory_equal(w + i * SC, want, SC);
    }
    /* t = 1: the one share is the secret's polynomial's constant, weight 1, whatever its
     * index. */
    sc_small(want, 1);
    assert_int_equal(mp_shamir_weights(x1, 1, w), 0);
    assert_memory_equal(w, want, SC);
    assert_int_equal(mp_shamir_weights(x7, 1, w), 0);
    assert_memory_equal(w, want, SC);
}

/* For any distinct indices the weights interpolate at zero: sum lambda_i = 1 (the constant
 * polynomial 1) and sum lambda_i x_i^k = 0 for 1 <= k < t (the monomials). */
static void test_weights_interpolate(void **state)
{
    (void)state;
    mp_rng *r = seeded(130);
    unsigned pos[64], xs[64];
    unsigned char *w = malloc(64 * SC), one[SC], acc[SC], tmp[SC], term[SC], xk[SC], x[SC];
    assert_non_null(w);
    sc_small(one, 1);
    static const unsigned tn[][2] = {{1, 1}, {2, 2}, {3, 6}, {5, 9}, {16, 64}, {64, 4096}};
    for (size_t c = 0; c < sizeof tn / sizeof *tn; c++) {
        unsigned t = tn[c][0], n = tn[c][1];
        if (n > 64) {
            /* Indices spread over the whole range. */
            for (unsigned i = 0; i < t; i++)
                xs[i] = MP_SHAMIR_MAX_N - 64 * i;
        } else {
            random_subset(r, pos, t, n);
            for (unsigned i = 0; i < t; i++)
                xs[i] = pos[i] + 1;
        }
        assert_int_equal(mp_shamir_weights(xs, t, w), 0);
        for (unsigned k = 0; k < t; k++) {
            memset(acc, 0, SC);
            for (unsigned i = 0; i < t; i++) {
                sc_small(x, xs[i]);
                memcpy(xk, one, SC);
                for (unsigned e = 0; e < k; e++) {
                    crypto_core_ristretto255_scalar_mul(tmp, xk, x);
                    memcpy(xk, tmp, SC);
                }
                crypto_core_ristretto255_scalar_mul(term, w + (size_t)i * SC, xk);
                crypto_core_ristretto255_scalar_add(tmp, acc, term);
                memcpy(acc, tmp, SC);
            }
            if (k == 0)
                assert_memory_equal(acc, one, SC);
            else
                assert_true(sodium_is_zero(acc, SC));
        }
    }
    free(w);
    mp_rng_free(r);
}

/* Batched and one-shot reconstruction agree on random splits, several t, n and subsets (in
 * random order), and one set of weights serves every secret shared among the same parties. */
static void test_weighted_matches_combine(void **state)
{
    (void)state;
    static const unsigned tn[][2] = {{1, 1}, {1, 5},  {2, 2},   {2, 3},  {3, 6},
                                     {4, 6}, {5, 10}, {17, 40}, {60, 80}};
    mp_rng *r = seeded(140);
    unsigned char secret[4][32], out[32], out2[32];
    for (size_t c = 0; c < sizeof tn / sizeof *tn; c++) {
        unsigned t = tn[c][0], n = tn[c][1];
        unsigned *pos = malloc(n * sizeof *pos), *xs = malloc(t * sizeof *xs);
        const unsigned char **ptr = malloc(t * sizeof *ptr);
        unsigned char *w = malloc((size_t)t * SC), *sh[4];
        assert_non_null(pos);
        assert_non_null(xs);
        assert_non_null(ptr);
        assert_non_null(w);
        for (int s = 0; s < 4; s++) {
            mp_rng_bytes(r, secret[s], 32);
            sh[s] = split_new(r, secret[s], t, n);
        }
        for (int trial = 0; trial < 6; trial++) {
            if (trial == 0)
                for (unsigned i = 0; i < t; i++)
                    pos[i] = i; /* the first t */
            else if (trial == 1)
                for (unsigned i = 0; i < t; i++)
                    pos[i] = n - 1 - i; /* the last t, backwards */
            else
                random_subset(r, pos, t, n);
            for (unsigned i = 0; i < t; i++)
                xs[i] = pos[i] + 1;
            assert_int_equal(mp_shamir_weights(xs, t, w), 0);
            for (int s = 0; s < 4; s++) {
                for (unsigned i = 0; i < t; i++)
                    ptr[i] = sh[s] + (size_t)pos[i] * SB;
                memset(out, 0xaa, sizeof out);
                if (mp_shamir_combine_weighted(ptr, t, xs, w, out) != 0)
                    fail_msg("t %u, n %u: %s", t, n, mp_error_get());
                assert_memory_equal(out, secret[s], 32);
                assert_int_equal(combine_sel(sh[s], pos, t, out2), 0);
                assert_memory_equal(out, out2, 32);
                assert_int_equal(combine_weighted_sel(sh[s], pos, t, out2), 0);
                assert_memory_equal(out, out2, 32);
            }
        }
        for (int s = 0; s < 4; s++)
            free(sh[s]);
        free(pos);
        free(xs);
        free(ptr);
        free(w);
    }
    mp_rng_free(r);
}

static void test_weighted_refusals(void **state)
{
    (void)state;
    mp_rng *r = seeded(150);
    unsigned char secret[32], out[32], w[4 * SC], w124[3 * SC], bad[SB], *sh, *sh4, *other;
    const unsigned char *ptr[4];
    static const unsigned x123[] = {1, 2, 3}, x124[] = {1, 2, 4}, x113[] = {1, 1, 3};
    mp_rng_bytes(r, secret, sizeof secret);
    sh = split_new(r, secret, 3, 6);
    sh4 = split_new(r, secret, 4, 6);
    other = split_new(r, secret, 3, 6); /* the same secret, split again */
    assert_int_equal(mp_shamir_weights(x123, 3, w), 0);
    assert_int_equal(mp_shamir_weights(x124, 3, w124), 0);
    ptr[0] = sh;
    ptr[1] = sh + SB;
    ptr[2] = sh + 2 * SB;
    assert_int_equal(mp_shamir_combine_weighted(ptr, 3, x123, w, out), 0);
    assert_memory_equal(out, secret, 32);

    /* Weights: duplicate indices, index 0 or above the maximum, thresholds out of range. */
    static const unsigned dup[] = {1, 2, 1}, dup2[] = {5, 5}, zero[] = {1, 0, 2};
    static const unsigned big[] = {1, MP_SHAMIR_MAX_N + 1};
    assert_refused(mp_shamir_weights(dup, 3, w124), "index 1 given twice", NULL, NULL);
    assert_refused(mp_shamir_weights(dup2, 2, w124), "index 5 given twice", NULL, NULL);
    assert_refused(mp_shamir_weights(zero, 3, w124), "index 0 out of range", NULL, NULL);
    assert_refused(mp_shamir_weights(big, 2, w124), "index 4097 out of range", NULL, NULL);
    assert_refused(mp_shamir_weights(x123, 0, w124), "threshold 0 out of range", NULL, NULL);
    assert_refused(mp_shamir_weights(x123, MP_SHAMIR_MAX_N + 1, w124),
                   "threshold 4097 out of range", NULL, NULL);
    assert_refused(mp_shamir_weights(NULL, 3, w124), "out of range", NULL, NULL);
    assert_refused(mp_shamir_weights(x123, 3, NULL), "out of range", NULL, NULL);
    /* ... and the refused calls wrote nothing. */
    unsigned char again[3 * SC];
    assert_int_equal(mp_shamir_weights(x124, 3, again), 0);
    assert_memory_equal(again, w124, sizeof again);

    /* A share whose index is not the one the weights are for: the same share twice, the
     * shares out of order, a share of another index. */
    ptr[1] = sh;
    memset(out, 0xaa, sizeof out);
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out),
                   "share 2 has index 1, expected 2", out, secret);
    ptr[0] = sh + SB;
    memset(out, 0xaa, sizeof out);
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out),
                   "share 1 has index 2, expected 1", out, secret);
    ptr[0] = sh;
    ptr[1] = sh + SB;
    ptr[2] = sh + 3 * SB;
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out),
                   "share 3 has index 4, expected 3", out, secret);
    /* Duplicate indices that agree with xs, with weights made for distinct ones: nothing
     * valid comes out. */
    ptr[0] = sh;
    ptr[1] = sh;
    ptr[2] = sh + 2 * SB;
    memset(out, 0xaa, sizeof out);
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x113, w, out), "checksum mismatch", out,
                   secret);
    /* Weights for other indices than the shares have. */
    ptr[1] = sh + SB;
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w124, out), "checksum mismatch", out,
                   secret);
    /* The wrong threshold: a 4-of-6 split combined as 3, a 3-of-6 split combined as 2. */
    ptr[0] = sh4;
    ptr[1] = sh4 + SB;
    ptr[2] = sh4 + 2 * SB;
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out),
                   "share 1 has threshold 4, 3 shares were given", out, secret);
    ptr[0] = sh;
    ptr[1] = sh + SB;
    static const unsigned x12[] = {1, 2};
    unsigned char w12[2 * SC];
    assert_int_equal(mp_shamir_weights(x12, 2, w12), 0);
    assert_refused(mp_shamir_combine_weighted(ptr, 2, x12, w12, out),
                   "share 1 has threshold 3, 2 shares were given", out, secret);
    /* Shares of two splits of the same secret. */
    ptr[2] = other + 2 * SB;
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out), "checksum mismatch", out,
                   secret);
    /* A damaged header; a missing share; no output. */
    memcpy(bad, sh + 2 * SB, SB);
    bad[0] = 2;
    ptr[2] = bad;
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out),
                   "share 3 of 3: version 2 is not supported", out, secret);
    ptr[2] = NULL;
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out), "share 3 of 3", out, secret);
    ptr[2] = sh + 2 * SB;
    assert_refused(mp_shamir_combine_weighted(ptr, 0, x123, w, out), "no shares", out, secret);
    assert_refused(mp_shamir_combine_weighted(NULL, 3, x123, w, out), "no shares", out, secret);
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, NULL, out), "no shares", out, secret);
    assert_int_equal(mp_shamir_combine_weighted(ptr, 3, x123, w, NULL), -1);

    /* Every single flipped bit in the values of any of the t shares: refused by the checksum
     * (or, when the flip leaves the field, as not canonical); never a wrong secret. */
    for (unsigned who = 0; who < 3; who++)
        for (unsigned b = 5; b < SB; b++) {
            ptr[0] = sh;
            ptr[1] = sh + SB;
            ptr[2] = sh + 2 * SB;
            memcpy(bad, sh + who * SB, SB);
            bad[b] ^= (unsigned char)(1u << (b % 8));
            ptr[who] = bad;
            memset(out, 0xaa, sizeof out);
            assert_int_equal(mp_shamir_combine_weighted(ptr, 3, x123, w, out), -1);
            assert_true(sodium_is_zero(out, 32));
            const char *msg = mp_error_get();
            assert_true(strstr(msg, "checksum mismatch") != NULL ||
                        strstr(msg, "canonical") != NULL);
        }
    /* A forgery by someone who knows the public weights: lambda_3 = 1 for {1, 2, 3}, so adding
     * 1 to f_0(3) adds exactly 1 to the first secret half. Without the checksum this would
     * rebuild secret + 1; with it, refused. */
    unsigned char one[SC], y[SC], shifted[32];
    sc_small(one, 1);
    memcpy(bad, sh + 2 * SB, SB);
    crypto_core_ristretto255_scalar_add(y, bad + 5, one);
    memcpy(bad + 5, y, SC);
    ptr[0] = sh;
    ptr[1] = sh + SB;
    ptr[2] = bad;
    memcpy(shifted, secret, 32);
    for (int i = 0; i < 16 && ++shifted[i] == 0; i++)
        ;
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out), "checksum mismatch", out,
                   secret);
    assert_refused(mp_shamir_combine_weighted(ptr, 3, x123, w, out), "checksum mismatch", out,
                   shifted);
    free(sh);
    free(sh4);
    free(other);
    mp_rng_free(r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_hand_example),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_derivation),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_split_parameters),
        cmocka_unit_test(test_fewer_than_t_refused),
        cmocka_unit_test(test_one_share_reveals_nothing),
        cmocka_unit_test(test_tampered_share_detected),
        cmocka_unit_test(test_forgery_refused),
        cmocka_unit_test(test_duplicate_index_refused),
        cmocka_unit_test(test_mixed_splits_refused),
        cmocka_unit_test(test_share_info),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_weights_known_answer),
        cmocka_unit_test(test_weights_interpolate),
        cmocka_unit_test(test_weighted_matches_combine),
        cmocka_unit_test(test_weighted_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
