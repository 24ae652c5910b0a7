/*
 * test_mask.c - pairwise masking for secure aggregation (protocol/crypto/mask.c).
 *
 * The seed and the PRG are recomputed here from their definition in mask.h with libsodium
 * primitives directly, so that a change to either is caught, not just self-consistency.
 */
#include "testutil.h"
#include "testworld.h"

#include <math.h>

#include "encoding.h"
#include "keys.h"
#include "mask.h"

/* A small deterministic generator for test data (not for keys). */
static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* n participants with ids org-00, org-01, ... (sorted), fresh keys. */
static mp_keypair **make_parties(size_t n, mp_pubkey **pubs)
{
    mp_keypair **kps = calloc(n, sizeof *kps);
    assert_non_null(kps);
    *pubs = calloc(n, sizeof **pubs);
    assert_non_null(*pubs);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "org-%02u", (unsigned)(i % 100));
        assert_int_equal(mp_keys_generate(&kps[i], id), 0);
        (*pubs)[i] = kps[i]->pub;
    }
    return kps;
}

static void free_parties(mp_keypair **kps, mp_pubkey *pubs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mp_keys_free(kps[i]);
    free(kps);
    free(pubs);
}

/* The seed by its definition in mask.h. */
static void seed_ref(unsigned char out[32], const mp_keypair *self, const mp_pubkey *peer,
                     const unsigned char rh[32])
{
    unsigned char shared[32], buf[20 + 32 + 32 + 32 + 32];
    const unsigned char *lo = self->pub.kx_pk, *hi = peer->kx_pk;
    if (strcmp(self->pub.org, peer->org) > 0) {
        lo = peer->kx_pk;
        hi = self->pub.kx_pk;
    }
    assert_int_equal(crypto_scalarmult(shared, self->kx_sk, peer->kx_pk), 0);
    memcpy(buf, "mijlpaal-pairmask-v1", 20);
    memcpy(buf + 20, rh, 32);
    memcpy(buf + 52, lo, 32);
    memcpy(buf + 84, hi, 32);
    memcpy(buf + 116, shared, 32);
    assert_int_equal(crypto_generichash(out, 32, buf, sizeof buf, NULL, 0), 0);
}

static void test_sum_cancels(void **state)
{
    (void)state;
    static const size_t sizes[] = {3, 6, 20};
    const size_t d = 257;
    uint64_t rng = 0x1234567887654321ULL;
    unsigned char rh[MP_HASH_BYTES];
    mp_hash(rh, "round-2025", 10);
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        mp_pubkey *pubs;
        mp_keypair **kps = make_parties(n, &pubs);
        uint64_t *plain_sum = calloc(d, 8), *masked_sum = calloc(d, 8), *x = calloc(d, 8),
                 *y = calloc(d, 8);
        assert_non_null(plain_sum);
        assert_non_null(masked_sum);
        assert_non_null(x);
        assert_non_null(y);
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < d; k++) {
                /* Noisy counts: small, often negative, some extreme. */
                int64_t v = (int64_t)(xs(&rng) % 2001) - 1000;
                if (k == 0)
                    v = INT64_MIN;
                if (k == 1)
                    v = INT64_MAX;
                if (k == 2)
                    v = -1;
                x[k] = (uint64_t)v;
            }
            memcpy(y, x, d * 8);
            assert_int_equal(mp_mask_apply(y, d, kps[i], pubs, n, rh), 0);
            /* The mask actually changed the vector in every cell. */
            size_t same = 0;
            for (size_t k = 0; k < d; k++)
                same += y[k] == x[k];
            assert_int_equal(same, 0);
            mp_vec_add(plain_sum, x, d);
            mp_vec_add(masked_sum, y, d);
        }
        assert_memory_equal(plain_sum, masked_sum, d * 8);
        /* As signed integers the sum of the small values is recovered exactly (cells >= 3). */
        for (size_t k = 3; k < d; k++)
            assert_true((int64_t)plain_sum[k] >= -1000 * (int64_t)n &&
                        (int64_t)plain_sum[k] <= 1000 * (int64_t)n);

        /* Leaving out any one participant's masked vector breaks the sum. */
        uint64_t *partial = calloc(d, 8);
        assert_non_null(partial);
        for (size_t i = 1; i < n; i++) {
            memset(x, 0, d * 8);
            assert_int_equal(mp_mask_apply(x, d, kps[i], pubs, n, rh), 0);
            mp_vec_add(partial, x, d);
        }
        /* partial is the sum of the masks of 1..n-1, i.e. minus participant 0's mask. */
        memset(x, 0, d * 8);
        assert_int_equal(mp_mask_apply(x, d, kps[0], pubs, n, rh), 0);
        size_t zeros = 0;
        for (size_t k = 0; k < d; k++) {
            zeros += partial[k] == 0;
            assert_true(partial[k] + x[k] == 0);
        }
        assert_true(zeros < 2);
        free(partial);
        free(plain_sum);
        free(masked_sum);
        free(x);
        free(y);
        free_parties(kps, pubs, n);
    }
}

static void test_pair_seeds(void **state)
{
    (void)state;
    const size_t n = 6;
    mp_pubkey *pubs;
    mp_keypair **kps = make_parties(n, &pubs);
    unsigned char r1[32], r2[32];
    mp_hash(r1, "round-1", 7);
    mp_hash(r2, "round-2", 7);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            unsigned char sij[32], sji[32], ref[32], other[32];
            if (i == j) {
                assert_int_equal(mp_mask_pair_seed(sij, kps[i], &pubs[j], r1), -1);
                continue;
            }
            assert_int_equal(mp_mask_pair_seed(sij, kps[i], &pubs[j], r1), 0);
            assert_int_equal(mp_mask_pair_seed(sji, kps[j], &pubs[i], r1), 0);
            assert_memory_equal(sij, sji, 32); /* symmetric */
            seed_ref(ref, kps[i], &pubs[j], r1);
            assert_memory_equal(sij, ref, 32); /* as defined in mask.h */
            assert_int_equal(mp_mask_pair_seed(other, kps[i], &pubs[j], r2), 0);
            assert_memory_not_equal(sij, other, 32); /* bound to the round */
            /* Distinct pairs have distinct seeds. */
            for (size_t k = 0; k < n; k++) {
                unsigned char sik[32];
                if (k == i || k == j)
                    continue;
                assert_int_equal(mp_mask_pair_seed(sik, kps[i], &pubs[k], r1), 0);
                assert_memory_not_equal(sij, sik, 32);
            }
        }
    /* Masks of the same vector differ between rounds. */
    uint64_t a[16] = {0}, b[16] = {0};
    assert_int_equal(mp_mask_apply(a, 16, kps[2], pubs, n, r1), 0);
    assert_int_equal(mp_mask_apply(b, 16, kps[2], pubs, n, r2), 0);
    for (int k = 0; k < 16; k++)
        assert_true(a[k] != b[k]);
    free_parties(kps, pubs, n);
}

/* y_i = x_i + sum_{j > i} PRG(s_ij) - sum_{j < i} PRG(s_ij), with the PRG taken straight from
 * ChaCha20-IETF (nonce 0, counter 0) keystream read as little-endian words. */
static void test_mask_formula(void **state)
{
    (void)state;
    const size_t n = 4, d = 1500; /* more than one 4096-byte PRG chunk */
    mp_pubkey *pubs;
    mp_keypair **kps = make_parties(n, &pubs);
    unsigned char rh[32], nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    unsigned char *ks = malloc(d * 8);
    uint64_t *got = calloc(d, 8), *want = calloc(d, 8);
    assert_non_null(ks);
    assert_non_null(got);
    assert_non_null(want);
    mp_hash(rh, "formula", 7);
    for (size_t i = 0; i < n; i++) {
        memset(got, 0, d * 8);
        memset(want, 0, d * 8);
        for (size_t k = 0; k < d; k++)
            got[k] = want[k] = k * 7;
        assert_int_equal(mp_mask_apply(got, d, kps[i], pubs, n, rh), 0);
        for (size_t j = 0; j < n; j++) {
            unsigned char s[32];
            if (j == i)
                continue;
            seed_ref(s, kps[i], &pubs[j], rh);
            assert_int_equal(crypto_stream_chacha20_ietf(ks, d * 8, nonce, s), 0);
            for (size_t k = 0; k < d; k++) {
                uint64_t m = mp_load64_le(ks + 8 * k);
                want[k] = j > i ? want[k] + m : want[k] - m;
            }
        }
        assert_memory_equal(got, want, d * 8);
    }
    /* mp_mask_prg_apply alone, across chunk boundaries and for sign -1. */
    unsigned char seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (unsigned char)(i * 3);
    assert_int_equal(crypto_stream_chacha20_ietf(ks, d * 8, nonce, seed), 0);
    static const size_t lens[] = {1, 511, 512, 513, 1024, 1500};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t len = lens[li];
        memset(got, 0, d * 8);
        mp_mask_prg_apply(got, len, seed, +1);
        for (size_t k = 0; k < len; k++)
            assert_true(got[k] == mp_load64_le(ks + 8 * k));
        for (size_t k = len; k < d; k++)
            assert_true(got[k] == 0); /* nothing written past d */
        mp_mask_prg_apply(got, len, seed, -1);
        for (size_t k = 0; k < d; k++)
            assert_true(got[k] == 0);
    }
    free(ks);
    free(got);
    free(want);
    free_parties(kps, pubs, n);
}

/* Chi-square of the byte histogram of `len` bytes against uniform (255 degrees of freedom). */
static double chi_square_bytes(const unsigned char *b, size_t len)
{
    unsigned long hist[256] = {0};
    for (size_t i = 0; i < len; i++)
        hist[b[i]]++;
    double e = (double)len / 256.0, chi = 0;
    for (int v = 0; v < 256; v++)
        chi += ((double)hist[v] - e) * ((double)hist[v] - e) / e;
    return chi;
}

/* Largest deviation, in standard deviations, of the count of ones at any of the 64 bit
 * positions across d words from d/2. */
static double worst_bit_z(const uint64_t *v, size_t d)
{
    double worst = 0;
    for (int bit = 0; bit < 64; bit++) {
        unsigned long ones = 0;
        for (size_t k = 0; k < d; k++)
            ones += (v[k] >> bit) & 1;
        double z = fabs((double)ones - (double)d / 2) / sqrt((double)d / 4);
        if (z > worst)
            worst = z;
    }
    return worst;
}

static void test_masked_vector_looks_uniform(void **state)
{
    (void)state;
    const size_t d = 4096;
    const double chi_limit = 330.5; /* chi-square, 255 df, p = 0.001 */
    const double z_limit = 4.0;     /* per bit position, about p = 6e-5 each */
    mp_keypair *kps[3] = {tw_kp_from_seed("gemeente-a", 0x00), tw_kp_from_seed("gemeente-b", 0x40),
                          tw_kp_from_seed("gemeente-c", 0x80)};
    mp_pubkey pubs[3] = {kps[0]->pub, kps[1]->pub, kps[2]->pub};
    unsigned char rh[32];
    mp_hash(rh, "statistics", 10);
    uint64_t *plain = calloc(d, 8), *masked = calloc(d, 8);
    unsigned char *bytes = malloc(d * 8);
    assert_non_null(plain);
    assert_non_null(masked);
    assert_non_null(bytes);
    uint64_t rng = 42;
    for (size_t k = 0; k < d; k++)
        plain[k] = xs(&rng) % 21; /* small counts 0..20 */

    /* The plain vector fails both tests by far. */
    for (size_t k = 0; k < d; k++)
        mp_store64_le(bytes + 8 * k, plain[k]);
    double chi_plain = chi_square_bytes(bytes, d * 8);
    double z_plain = worst_bit_z(plain, d);
    print_message("plain: chi2 %.1f, worst bit z %.1f\n", chi_plain, z_plain);
    assert_true(chi_plain > 100 * chi_limit);
    assert_true(z_plain > 10 * z_limit);

    /* Each participant's masked vector passes them. */
    for (int i = 0; i < 3; i++) {
        memcpy(masked, plain, d * 8);
        assert_int_equal(mp_mask_apply(masked, d, kps[i], pubs, 3, rh), 0);
        for (size_t k = 0; k < d; k++)
            mp_store64_le(bytes + 8 * k, masked[k]);
        double chi = chi_square_bytes(bytes, d * 8), z = worst_bit_z(masked, d);
        print_message("masked %d: chi2 %.1f, worst bit z %.2f\n", i, chi, z);
        assert_true(chi < chi_limit);
        assert_true(z < z_limit);
        /* Overall monobit over all 262144 bits. */
        unsigned long ones = 0;
        for (size_t k = 0; k < d; k++)
            ones += (unsigned long)__builtin_popcountll(masked[k]);
        assert_true(fabs((double)ones - d * 32.0) < 4.0 * sqrt(d * 16.0));
    }
    free(plain);
    free(masked);
    free(bytes);
    for (int i = 0; i < 3; i++)
        mp_keys_free(kps[i]);
}

static void test_vec_encode_decode(void **state)
{
    (void)state;
    uint64_t v[3] = {1, UINT64_MAX, 0x0102030405060708ULL}, back[3];
    char *b64 = mp_vec_encode(v, 1);
    assert_non_null(b64);
    assert_string_equal(b64, "AQAAAAAAAAA="); /* 01 00 00 00 00 00 00 00 */
    free(b64);
    b64 = mp_vec_encode(v, 3);
    assert_non_null(b64);
    assert_string_equal(b64, "AQAAAAAAAAD//////////wgHBgUEAwIB");
    memset(back, 0, sizeof back);
    assert_int_equal(mp_vec_decode(back, 3, b64), 0);
    assert_memory_equal(back, v, sizeof v);
    /* Wrong number of cells, either way. */
    assert_int_equal(mp_vec_decode(back, 2, b64), -1);
    assert_non_null(strstr(mp_error_get(), "expected 16"));
    uint64_t big[4];
    assert_int_equal(mp_vec_decode(big, 4, b64), -1);
    free(b64);
    /* Not base64, or without padding. */
    assert_int_equal(mp_vec_decode(back, 1, "AQAAAAAAAAA"), -1);
    assert_int_equal(mp_vec_decode(back, 1, "AQAAAAAA AAA="), -1);
    assert_int_equal(mp_vec_decode(back, 1, "AQAAAAAAAA!="), -1);
    /* Zero cells. */
    b64 = mp_vec_encode(v, 0);
    assert_non_null(b64);
    assert_string_equal(b64, "");
    assert_int_equal(mp_vec_decode(back, 0, b64), 0);
    free(b64);
    /* A random long vector. */
    uint64_t rng = 7, *w = malloc(1000 * 8), *w2 = malloc(1000 * 8);
    assert_non_null(w);
    assert_non_null(w2);
    for (int k = 0; k < 1000; k++)
        w[k] = xs(&rng);
    b64 = mp_vec_encode(w, 1000);
    assert_int_equal(strlen(b64), (8000 + 2) / 3 * 4);
    assert_int_equal(mp_vec_decode(w2, 1000, b64), 0);
    assert_memory_equal(w, w2, 8000);
    free(b64);
    free(w);
    free(w2);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_cancels),
        cmocka_unit_test(test_pair_seeds),
        cmocka_unit_test(test_mask_formula),
        cmocka_unit_test(test_masked_vector_looks_uniform),
        cmocka_unit_test(test_vec_encode_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
