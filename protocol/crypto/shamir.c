/*
 * shamir.c - Shamir secret sharing over the ristretto255 scalar field (see shamir.h).
 *
 * Combine recovers all t coefficients of each polynomial rather than only f(0): with the
 * master polynomial P(z) = prod_i (z - x_i) over the first t indices,
 *
 *     f(z) = sum_i y_i * w_i * P(z) / (z - x_i),   w_i = 1 / prod_{k != i} (x_i - x_k),
 *
 * where P(z) / (z - x_i) comes from synthetic division. That costs O(t^2) operations (the same
 * order as Lagrange at 0 alone) and makes checking each further share one Horner evaluation.
 * P, the quotients and the w_i depend only on the indices, which are public; everything that
 * depends on a share value is treated as secret.
 *
 * None of libsodium's scalar functions is called with an output that aliases an input: the
 * library does not document that aliasing is allowed.
 */
#include "shamir.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SC crypto_core_ristretto255_SCALARBYTES                /* 32 */
#define SC_WIDE crypto_core_ristretto255_NONREDUCEDSCALARBYTES /* 64 */
#define HALF (MP_SHAMIR_SECRET_BYTES / 2)
#define CHECK_HALF 15                /* checksum bytes in each constant term */
#define CHECK_BYTES (2 * CHECK_HALF) /* 30 */
#define OFF_VERSION 0
#define OFF_T 1
#define OFF_X 3
#define OFF_Y 5

/* The group order L, little-endian. */
static const unsigned char order_l[SC] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

/* 1 when s < L. Constant time, since share values are secret: scanning from the most
 * significant byte, `lt` records whether the first differing byte of s is below L's and `eq`
 * whether all bytes so far were equal (libsodium's internal sc25519_is_canonical does the same). */
static int sc_is_canonical(const unsigned char s[SC])
{
    unsigned lt = 0, eq = 1;
    for (size_t i = SC; i-- > 0;) {
        lt |= (((unsigned)s[i] - (unsigned)order_l[i]) >> 8) & eq;
        eq &= (((unsigned)(s[i] ^ order_l[i])) - 1u) >> 8;
    }
    return (int)(lt & 1u);
}

static unsigned load16_le(const unsigned char *p)
{
    return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

static void store16_le(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

/* The scalar with value v (< 2^16). */
static void sc_from_small(unsigned char s[SC], unsigned v)
{
    memset(s, 0, SC);
    store16_le(s, v);
}

/* The checksum BLAKE2b-240("mijlpaal-shamir-v1" || secret) (see shamir.h). */
static void secret_checksum(unsigned char out[CHECK_BYTES],
                            const unsigned char secret[MP_SHAMIR_SECRET_BYTES])
{
    static const char domain[] = "mijlpaal-shamir-v1";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CHECK_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain - 1);
    crypto_generichash_update(&st, secret, MP_SHAMIR_SECRET_BYTES);
    crypto_generichash_final(&st, out, CHECK_BYTES);
    sodium_memzero(&st, sizeof st);
}

/* The constant term of polynomial h: secret half | checksum half | 0 (little-endian). */
static void constant_term(unsigned char c[SC], const unsigned char secret[MP_SHAMIR_SECRET_BYTES],
                          const unsigned char check[CHECK_BYTES], unsigned h)
{
    memcpy(c, secret + h * HALF, HALF);
    memcpy(c + HALF, check + h * CHECK_HALF, CHECK_HALF);
    c[SC - 1] = 0;
}

/* Checks of one share; the reason carries no prefix (the callers add one). */
static int share_parse(const unsigned char *sh, unsigned *t, unsigned *x)
{
    unsigned tt = load16_le(sh + OFF_T), xx = load16_le(sh + OFF_X);
    if (sh[OFF_VERSION] != MP_SHAMIR_VERSION)
        return mp_error_set("version %u is not supported (expected %u)", sh[OFF_VERSION],
                            MP_SHAMIR_VERSION);
    if (tt < 1 || tt > MP_SHAMIR_MAX_N)
        return mp_error_set("threshold %u is out of range (1 to %u)", tt, MP_SHAMIR_MAX_N);
    if (xx == 0)
        return mp_error_set("index 0 is not allowed (the value at 0 is the secret)");
    if (xx > MP_SHAMIR_MAX_N)
        return mp_error_set("index %u is out of range (1 to %u)", xx, MP_SHAMIR_MAX_N);
    for (int h = 0; h < 2; h++)
        if (!sc_is_canonical(sh + OFF_Y + (size_t)h * SC))
            return mp_error_set("value %d is not a canonical scalar (not below the group order)",
                                h + 1);
    if (t != NULL)
        *t = tt;
    if (x != NULL)
        *x = xx;
    return 0;
}

int mp_shamir_share_info(const unsigned char share[MP_SHAMIR_SHARE_BYTES], unsigned *threshold,
                         unsigned *index)
{
    if (share == NULL)
        return mp_error_set("shamir share: no share given");
    if (share_parse(share, threshold, index) != 0)
        return mp_error_prefix("shamir share: ");
    return 0;
}

int mp_shamir_split(mp_rng *r, const unsigned char secret[MP_SHAMIR_SECRET_BYTES], unsigned t,
                    unsigned n, unsigned char *shares)
{
    unsigned char wide[SC_WIDE], x[SC], y[SC], tmp[SC], check[CHECK_BYTES];
    unsigned char *coef; /* polynomial h has coefficients coef[(h * t + k) * SC], k = 0..t-1 */

    if (r == NULL || secret == NULL || shares == NULL)
        return mp_error_set("shamir split: missing argument");
    if (n < 1 || n > MP_SHAMIR_MAX_N)
        return mp_error_set("shamir split: %u participants, must be 1 to %u", n, MP_SHAMIR_MAX_N);
    if (t < 1 || t > n)
        return mp_error_set("shamir split: threshold %u, must be 1 to the number of participants "
                            "(%u)",
                            t, n);
    if (sodium_init() < 0)
        return mp_error_set("libsodium failed to initialise");
    coef = sodium_malloc((size_t)2 * t * SC);
    if (coef == NULL)
        return mp_error_system("cannot allocate secure memory");

    secret_checksum(check, secret);
    for (unsigned h = 0; h < 2; h++) {
        unsigned char *a = coef + (size_t)h * t * SC;
        constant_term(a, secret, check, h);
        for (unsigned k = 1; k < t; k++) {
            mp_rng_bytes(r, wide, sizeof wide);
            crypto_core_ristretto255_scalar_reduce(a + (size_t)k * SC, wide);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned char *sh = shares + (size_t)i * MP_SHAMIR_SHARE_BYTES;
        sh[OFF_VERSION] = MP_SHAMIR_VERSION;
        store16_le(sh + OFF_T, t);
        store16_le(sh + OFF_X, i + 1);
        sc_from_small(x, i + 1);
        for (unsigned h = 0; h < 2; h++) {
            const unsigned char *a = coef + (size_t)h * t * SC;
            /* Horner: y = (...(a_{t-1} x + a_{t-2}) x + ...) x + a_0. */
            memcpy(y, a + (size_t)(t - 1) * SC, SC);
            for (unsigned k = t - 1; k > 0; k--) {
                crypto_core_ristretto255_scalar_mul(tmp, y, x);
                crypto_core_ristretto255_scalar_add(y, tmp, a + (size_t)(k - 1) * SC);
            }
            memcpy(sh + OFF_Y + h * SC, y, SC);
        }
    }
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(check, sizeof check);
    sodium_memzero(y, sizeof y);
    sodium_memzero(tmp, sizeof tmp);
    sodium_free(coef); /* wipes */
    return 0;
}

/* Public part of interpolation through the indices xs[0..t-1] (as scalars, SC bytes each):
 * p receives the t + 1 coefficients of P(z) = prod_i (z - xs[i]). */
static void master_poly(unsigned char *p, const unsigned char *xs, unsigned t)
{
    unsigned char tmp[SC];
    sc_from_small(p, 1);
    for (unsigned i = 0; i < t; i++) {
        const unsigned char *xi = xs + (size_t)i * SC;
        /* Multiply the degree-i polynomial p by (z - xi), from the top down. */
        memcpy(p + (size_t)(i + 1) * SC, p + (size_t)i * SC, SC);
        for (unsigned k = i; k > 0; k--) {
            crypto_core_ristretto255_scalar_mul(tmp, xi, p + (size_t)k * SC);
            crypto_core_ristretto255_scalar_sub(p + (size_t)k * SC, p + (size_t)(k - 1) * SC, tmp);
        }
        crypto_core_ristretto255_scalar_mul(tmp, xi, p);
        crypto_core_ristretto255_scalar_negate(p, tmp);
    }
}

int mp_shamir_combine(const unsigned char *shares, size_t count,
                      unsigned char secret[MP_SHAMIR_SECRET_BYTES])
{
    unsigned t = 0;
    uint16_t *seen = NULL;     /* seen[x] = 1-based position of the share with index x */
    unsigned char *pub = NULL; /* xs (t), P (t + 1), q (t): from the indices only */
    unsigned char *xs, *p, *q; /* inside pub */
    unsigned char *sec = NULL; /* c_0 (t), c_1 (t): the recovered polynomials */
    unsigned char d[SC], w[SC], tmp[SC], tmp2[SC], m[2][SC], y[SC], x[SC];
    unsigned char cand[MP_SHAMIR_SECRET_BYTES], check[CHECK_BYTES], got[CHECK_BYTES];
    int rc = -1;

    if (secret == NULL)
        return mp_error_set("shamir combine: missing argument");
    sodium_memzero(secret, MP_SHAMIR_SECRET_BYTES);
    if (shares == NULL || count == 0)
        return mp_error_set("shamir combine: no shares given");
    if (count > MP_SHAMIR_MAX_N)
        return mp_error_set("shamir combine: %zu shares given, at most %u can be distinct", count,
                            MP_SHAMIR_MAX_N);
    if (sodium_init() < 0)
        return mp_error_set("libsodium failed to initialise");

    for (size_t i = 0; i < count; i++) {
        unsigned ti;
        if (share_parse(shares + i * MP_SHAMIR_SHARE_BYTES, &ti, NULL) != 0)
            return mp_error_prefix("shamir combine: share %zu of %zu: ", i + 1, count);
        if (i == 0)
            t = ti;
        else if (ti != t)
            return mp_error_set("shamir combine: share %zu has threshold %u, share 1 has %u "
                                "(shares of different splits)",
                                i + 1, ti, t);
    }
    if (count < t)
        return mp_error_set("shamir combine: %zu shares given, the threshold is %u", count, t);

    seen = calloc(MP_SHAMIR_MAX_N + 1, sizeof *seen);
    if (seen == NULL)
        return mp_error_system("out of memory");
    for (size_t i = 0; i < count; i++) {
        unsigned xi = load16_le(shares + i * MP_SHAMIR_SHARE_BYTES + OFF_X);
        if (seen[xi] != 0) {
            mp_error_set("shamir combine: shares %u and %zu both have index %u", seen[xi], i + 1,
                         xi);
            goto out;
        }
        seen[xi] = (uint16_t)(i + 1);
    }

    pub = malloc((size_t)(3 * t + 1) * SC);
    sec = sodium_malloc((size_t)2 * t * SC);
    if (pub == NULL || sec == NULL) {
        mp_error_system("cannot allocate memory");
        goto out;
    }
    xs = pub;
    p = pub + (size_t)t * SC;
    q = pub + (size_t)(2 * t + 1) * SC;
    memset(sec, 0, (size_t)2 * t * SC);
    for (unsigned i = 0; i < t; i++)
        sc_from_small(xs + (size_t)i * SC, load16_le(shares + i * MP_SHAMIR_SHARE_BYTES + OFF_X));
    master_poly(p, xs, t);

    for (unsigned i = 0; i < t; i++) {
        const unsigned char *xi = xs + (size_t)i * SC;
        const unsigned char *yi = shares + (size_t)i * MP_SHAMIR_SHARE_BYTES + OFF_Y;
        /* q = P / (z - xi): q_{t-1} = p_t, q_{k-1} = p_k + xi q_k (the remainder is 0). */
        memcpy(q + (size_t)(t - 1) * SC, p + (size_t)t * SC, SC);
        for (unsigned k = t - 1; k > 0; k--) {
            crypto_core_ristretto255_scalar_mul(tmp, xi, q + (size_t)k * SC);
            crypto_core_ristretto255_scalar_add(q + (size_t)(k - 1) * SC, p + (size_t)k * SC, tmp);
        }
        /* w_i = 1 / prod_{k != i} (x_i - x_k); nonzero because the indices are distinct. */
        sc_from_small(d, 1);
        for (unsigned k = 0; k < t; k++) {
            if (k == i)
                continue;
            crypto_core_ristretto255_scalar_sub(tmp, xi, xs + (size_t)k * SC);
            crypto_core_ristretto255_scalar_mul(tmp2, d, tmp);
            memcpy(d, tmp2, SC);
        }
        if (crypto_core_ristretto255_scalar_invert(w, d) != 0) {
            mp_error_set("shamir combine: internal error (zero denominator)");
            goto out;
        }
        /* c_h += (y_{h,i} w_i) q. */
        for (unsigned h = 0; h < 2; h++)
            crypto_core_ristretto255_scalar_mul(m[h], yi + (size_t)h * SC, w);
        for (unsigned k = 0; k < t; k++) {
            for (unsigned h = 0; h < 2; h++) {
                unsigned char *c = sec + (size_t)(h * t + k) * SC;
                crypto_core_ristretto255_scalar_mul(tmp, m[h], q + (size_t)k * SC);
                crypto_core_ristretto255_scalar_add(tmp2, c, tmp);
                memcpy(c, tmp2, SC);
            }
        }
    }

    /* Every further share must lie on the recovered polynomials. */
    for (size_t j = t; j < count; j++) {
        const unsigned char *sh = shares + j * MP_SHAMIR_SHARE_BYTES;
        int bad = 0;
        sc_from_small(x, load16_le(sh + OFF_X));
        for (unsigned h = 0; h < 2; h++) {
            const unsigned char *c = sec + (size_t)h * t * SC;
            memcpy(y, c + (size_t)(t - 1) * SC, SC);
            for (unsigned k = t - 1; k > 0; k--) {
                crypto_core_ristretto255_scalar_mul(tmp, y, x);
                crypto_core_ristretto255_scalar_add(y, tmp, c + (size_t)(k - 1) * SC);
            }
            /* Both sides are canonical, so equal scalars have equal bytes. */
            bad |= sodium_memcmp(y, sh + OFF_Y + (size_t)h * SC, SC) != 0;
        }
        if (bad) {
            mp_error_set("shamir combine: share %zu (index %u) does not lie on the polynomial "
                         "through the first %u shares: a share is corrupt or forged",
                         j + 1, load16_le(sh + OFF_X), t);
            goto out;
        }
    }

    /* The constant terms must be (secret half | checksum half | 0) of one secret. */
    {
        int bad = 0;
        for (unsigned h = 0; h < 2; h++) {
            const unsigned char *c0 = sec + (size_t)h * t * SC;
            memcpy(cand + h * HALF, c0, HALF);
            memcpy(got + h * CHECK_HALF, c0 + HALF, CHECK_HALF);
            bad |= c0[SC - 1];
        }
        secret_checksum(check, cand);
        bad |= sodium_memcmp(check, got, CHECK_BYTES);
        if (bad) {
            mp_error_set("shamir combine: the shares do not rebuild a valid secret (checksum "
                         "mismatch: a share is corrupt or forged, or the shares come from "
                         "different splits)");
            goto out;
        }
    }
    memcpy(secret, cand, MP_SHAMIR_SECRET_BYTES);
    rc = 0;

out:
    if (rc != 0)
        sodium_memzero(secret, MP_SHAMIR_SECRET_BYTES);
    sodium_memzero(tmp, sizeof tmp);
    sodium_memzero(tmp2, sizeof tmp2);
    sodium_memzero(m, sizeof m);
    sodium_memzero(y, sizeof y);
    sodium_memzero(cand, sizeof cand);
    sodium_memzero(check, sizeof check);
    sodium_memzero(got, sizeof got);
    sodium_free(sec); /* wipes; NULL is allowed */
    free(pub);
    free(seen);
    return rc;
}

/*
 * Batched reconstruction. When many secrets are rebuilt from shares held by the same t
 * parties (every secret of a round, rebuilt from the unmask messages of the same survivors),
 * the Lagrange weights at zero depend only on the indices and are computed once:
 *
 *     lambda_i = prod_{k != i} x_k / (x_k - x_i)   (mod L),   secret_h = sum_i lambda_i y_{h,i}.
 *
 * Each secret then costs 2t scalar multiplications instead of O(t^2). With exactly t shares
 * there is no polynomial to check further shares against; the checksum in the constant terms
 * is what refuses a damaged or forged share (shamir.h).
 */
int mp_shamir_weights(const unsigned *xs, unsigned t, unsigned char *weights)
{
    unsigned char num[SC], den[SC], xi[SC], xk[SC], tmp[SC], inv[SC];
    if (xs == NULL || weights == NULL || t < 1 || t > MP_SHAMIR_MAX_N)
        return mp_error_set("shamir weights: threshold %u out of range", t);
    for (unsigned i = 0; i < t; i++) {
        if (xs[i] < 1 || xs[i] > MP_SHAMIR_MAX_N)
            return mp_error_set("shamir weights: index %u out of range", xs[i]);
        for (unsigned k = 0; k < i; k++)
            if (xs[k] == xs[i])
                return mp_error_set("shamir weights: index %u given twice", xs[i]);
    }
    if (sodium_init() < 0)
        return mp_error_set("libsodium failed to initialise");
    for (unsigned i = 0; i < t; i++) {
        sc_from_small(num, 1);
        sc_from_small(den, 1);
        sc_from_small(xi, xs[i]);
        for (unsigned k = 0; k < t; k++) {
            if (k == i)
                continue;
            sc_from_small(xk, xs[k]);
            crypto_core_ristretto255_scalar_mul(tmp, num, xk);
            memcpy(num, tmp, SC);
            crypto_core_ristretto255_scalar_sub(tmp, xk, xi);
            crypto_core_ristretto255_scalar_mul(inv, den, tmp);
            memcpy(den, inv, SC);
        }
        if (crypto_core_ristretto255_scalar_invert(inv, den) != 0)
            return mp_error_set("shamir weights: internal error (zero denominator)");
        crypto_core_ristretto255_scalar_mul(weights + (size_t)i * SC, num, inv);
    }
    return 0;
}

int mp_shamir_combine_weighted(const unsigned char *const *shares, unsigned t, const unsigned *xs,
                               const unsigned char *weights,
                               unsigned char secret[MP_SHAMIR_SECRET_BYTES])
{
    unsigned char acc[2][SC], tmp[SC], sum[SC];
    unsigned char cand[MP_SHAMIR_SECRET_BYTES], check[CHECK_BYTES], got[CHECK_BYTES];
    int bad = 0, rc = -1;

    if (secret == NULL)
        return mp_error_set("shamir combine: missing argument");
    sodium_memzero(secret, MP_SHAMIR_SECRET_BYTES);
    if (shares == NULL || xs == NULL || weights == NULL || t < 1)
        return mp_error_set("shamir combine: no shares given");
    for (unsigned i = 0; i < t; i++) {
        unsigned ti, xi;
        if (shares[i] == NULL || share_parse(shares[i], &ti, &xi) != 0)
            return mp_error_prefix("shamir combine: share %u of %u: ", i + 1, t);
        if (ti != t)
            return mp_error_set("shamir combine: share %u has threshold %u, %u shares were given",
                                i + 1, ti, t);
        if (xi != xs[i])
            return mp_error_set("shamir combine: share %u has index %u, expected %u", i + 1, xi,
                                xs[i]);
    }
    memset(acc, 0, sizeof acc);
    for (unsigned i = 0; i < t; i++)
        for (unsigned h = 0; h < 2; h++) {
            crypto_core_ristretto255_scalar_mul(tmp, weights + (size_t)i * SC,
                                                shares[i] + OFF_Y + (size_t)h * SC);
            crypto_core_ristretto255_scalar_add(sum, acc[h], tmp);
            memcpy(acc[h], sum, SC);
        }
    for (unsigned h = 0; h < 2; h++) {
        memcpy(cand + h * HALF, acc[h], HALF);
        memcpy(got + h * CHECK_HALF, acc[h] + HALF, CHECK_HALF);
        bad |= acc[h][SC - 1];
    }
    secret_checksum(check, cand);
    bad |= sodium_memcmp(check, got, CHECK_BYTES);
    if (bad)
        mp_error_set("shamir combine: the shares do not rebuild a valid secret (checksum "
                     "mismatch: a share is corrupt or forged, or the shares come from "
                     "different splits)");
    else {
        memcpy(secret, cand, MP_SHAMIR_SECRET_BYTES);
        rc = 0;
    }
    sodium_memzero(acc, sizeof acc);
    sodium_memzero(tmp, sizeof tmp);
    sodium_memzero(sum, sizeof sum);
    sodium_memzero(cand, sizeof cand);
    sodium_memzero(check, sizeof check);
    sodium_memzero(got, sizeof got);
    return rc;
}
