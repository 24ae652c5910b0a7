/*
 * test_rng.c - the randomness source: seeded determinism, exact uniformity, system generator.
 *
 * Statistical checks use fixed seeds, so they are deterministic; thresholds are at p = 0.001 so
 * that a correct generator would fail them for one seed in a thousand, not by bad luck here.
 */
#include "testutil.h"

#include "rng.h"

static mp_rng *seeded(unsigned char tag)
{
    unsigned char seed[MP_RNG_SEEDBYTES];
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (unsigned char)(tag + 7 * i);
    mp_rng *r = NULL;
    assert_int_equal(mp_rng_new_seeded(&r, seed), 0);
    assert_non_null(r);
    return r;
}

static void test_seeded_deterministic(void **state)
{
    (void)state;
    unsigned char a[1500], b[1500], c[1500];
    mp_rng *r1 = seeded(1), *r2 = seeded(1), *r3 = seeded(2);

    /* Uneven chunk sizes across the 512-byte block boundary must not change the stream. */
    mp_rng_bytes(r1, a, sizeof a);
    mp_rng_bytes(r2, b, 3);
    mp_rng_bytes(r2, b + 3, 700);
    mp_rng_bytes(r2, b + 703, sizeof b - 703);
    mp_rng_bytes(r3, c, sizeof c);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    assert_int_equal(mp_rng_u64(r1), mp_rng_u64(r2));

    mp_rng_free(r1);
    mp_rng_free(r2);
    mp_rng_free(r3);
    mp_rng_free(NULL);
}

/* Chi-square of uniform64(bound) over 70000 draws; critical value for df = 6 at p = 0.001. */
static void test_uniform64_unbiased(void **state)
{
    (void)state;
    enum { BOUND = 7, DRAWS = 70000 };
    unsigned long counts[BOUND] = {0};
    mp_rng *r = seeded(3);

    for (int i = 0; i < DRAWS; i++) {
        uint64_t v = mp_rng_uniform64(r, BOUND);
        assert_true(v < BOUND);
        counts[v]++;
    }
    double expected = (double)DRAWS / BOUND, chi2 = 0;
    for (int k = 0; k < BOUND; k++)
        chi2 += ((double)counts[k] - expected) * ((double)counts[k] - expected) / expected;
    assert_true(chi2 < 22.458);
    mp_rng_free(r);
}

static void test_uniform64_range(void **state)
{
    (void)state;
    const uint64_t bounds[] = {1, 2, 3, 1000, (UINT64_C(1) << 63) + 5, UINT64_MAX};
    mp_rng *r = seeded(4);

    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        int high = 0; /* for large bounds, the top half of the range must be reached */
        for (int i = 0; i < 2000; i++) {
            uint64_t v = mp_rng_uniform64(r, bounds[b]);
            assert_true(v < bounds[b]);
            high |= v >= bounds[b] / 2;
        }
        if (bounds[b] > 1)
            assert_true(high);
    }
    mp_rng_free(r);
}

static void test_uniform128_range(void **state)
{
    (void)state;
    typedef unsigned __int128 u128;
    const u128 bounds[] = {1,       6, (u128)1 << 64, ((u128)1 << 64) + 1, ((u128)1 << 100) + 3,
                           ~(u128)0};
    mp_rng *r = seeded(5);

    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        int high = 0;
        for (int i = 0; i < 2000; i++) {
            u128 v = mp_rng_uniform128(r, bounds[b]);
            assert_true(v < bounds[b]);
            high |= v >= bounds[b] / 2;
        }
        if (bounds[b] > 1)
            assert_true(high);
    }

    /* Small bound: same chi-square as for uniform64 (df = 5 at p = 0.001). */
    unsigned long counts[6] = {0};
    for (int i = 0; i < 60000; i++)
        counts[(int)mp_rng_uniform128(r, 6)]++;
    double chi2 = 0;
    for (int k = 0; k < 6; k++)
        chi2 += ((double)counts[k] - 10000.0) * ((double)counts[k] - 10000.0) / 10000.0;
    assert_true(chi2 < 20.515);
    mp_rng_free(r);
}

static void test_system_generator(void **state)
{
    (void)state;
    mp_rng *r = NULL;
    unsigned char a[64], b[64], zero[64] = {0};

    assert_int_equal(mp_rng_new_system(&r), 0);
    assert_non_null(r);
    mp_rng_bytes(r, a, sizeof a);
    mp_rng_bytes(r, b, sizeof b);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(a, b, sizeof a);

    unsigned long counts[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t v = mp_rng_uniform64(r, 7);
        assert_true(v < 7);
        counts[v]++;
    }
    for (int k = 0; k < 7; k++) /* each expected 1000; 6 sd is about 180 */
        assert_true(counts[k] > 800 && counts[k] < 1200);
    assert_true(mp_rng_uniform128(r, (unsigned __int128)1 << 90) < (unsigned __int128)1 << 90);
    mp_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_deterministic), cmocka_unit_test(test_uniform64_unbiased),
        cmocka_unit_test(test_uniform64_range),      cmocka_unit_test(test_uniform128_range),
        cmocka_unit_test(test_system_generator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
