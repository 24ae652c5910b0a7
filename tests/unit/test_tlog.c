/*
 * test_tlog.c - the RFC 9162 Merkle tree (protocol/log/tlog.c).
 *
 * Known answers: the eight-entry tree used by Certificate Transparency implementations since
 * RFC 6962 (entries "", 00, 10, 2021, 3031, 40414243, 5051525354555657,
 * 606162636465666768696a6b6c6d6e6f), its roots for sizes 1..8 and three of its proofs. Then
 * every tree up to N entries is compared with a naive recursive MTH/PATH/PROOF written
 * directly from the definitions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 (no stored subtrees),
 * every proof is checked with the verification algorithms, and altered proofs, wrong indices
 * and wrong sizes are refused.
 */
#include "testutil.h"

#include "encoding.h"
#include "tlog.h"

#define N 64

static const char *ct_entries[8] = {"",
                                    "00",
                                    "10",
                                    "2021",
                                    "3031",
                                    "40414243",
                                    "5051525354555657",
                                    "606162636465666768696a6b6c6d6e6f"};
static const char *ct_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static void unhex(unsigned char *out, size_t len, const char *hex)
{
    assert_int_equal(mp_hex_decode(out, len, hex), 0);
}

static mp_tlog *ct_tree(void)
{
    mp_tlog *t;
    assert_int_equal(mp_tlog_new(&t), 0);
    for (int i = 0; i < 8; i++) {
        unsigned char e[16];
        size_t len = strlen(ct_entries[i]) / 2;
        unhex(e, len, ct_entries[i]);
        assert_int_equal(mp_tlog_append(t, e, len), 0);
    }
    return t;
}

static void test_ct_roots(void **state)
{
    (void)state;
    mp_tlog *t = ct_tree();
    unsigned char root[32], want[32];
    for (int n = 1; n <= 8; n++) {
        unhex(want, 32, ct_roots[n - 1]);
        assert_int_equal(mp_tlog_root(t, (uint64_t)n, root), 0);
        assert_memory_equal(root, want, 32);
    }
    /* The empty tree: SHA-256 of nothing. */
    unhex(want, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(mp_tlog_root(t, 0, root), 0);
    assert_memory_equal(root, want, 32);
    assert_int_equal(mp_tlog_root(t, 9, root), -1);
    mp_tlog_free(t);
}

static void set_proof(mp_tlog_proof *p, size_t n, const char *const *hex)
{
    p->n = n;
    for (size_t i = 0; i < n; i++)
        unhex(p->hash[i], 32, hex[i]);
}

static void test_ct_proofs(void **state)
{
    (void)state;
    mp_tlog *t = ct_tree();
    static const char *incl_5_8[] = {
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    static const char *cons_6_8[] = {
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    static const char *cons_2_5[] = {
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"};
    mp_tlog_proof want, got;
    unsigned char r5[32], r6[32], r8[32], r2[32], leaf[32];

    unhex(r2, 32, ct_roots[1]);
    unhex(r5, 32, ct_roots[4]);
    unhex(r6, 32, ct_roots[5]);
    unhex(r8, 32, ct_roots[7]);

    set_proof(&want, 3, incl_5_8);
    assert_int_equal(mp_tlog_inclusion_proof(t, 5, 8, &got), 0);
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.hash, want.hash, 3 * 32);
    assert_int_equal(mp_tlog_leaf(t, 5, leaf), 0);
    assert_int_equal(mp_tlog_inclusion_verify(5, 8, leaf, &want, r8), 0);
    assert_int_equal(mp_tlog_inclusion_verify(4, 8, leaf, &want, r8), -1);

    set_proof(&want, 3, cons_6_8);
    assert_int_equal(mp_tlog_consistency_proof(t, 6, 8, &got), 0);
    assert_int_equal(got.n, 3);
    assert_memory_equal(got.hash, want.hash, 3 * 32);
    assert_int_equal(mp_tlog_consistency_verify(6, 8, r6, r8, &want), 0);
    assert_int_equal(mp_tlog_consistency_verify(6, 8, r5, r8, &want), -1);

    set_proof(&want, 2, cons_2_5);
    assert_int_equal(mp_tlog_consistency_proof(t, 2, 5, &got), 0);
    assert_int_equal(got.n, 2);
    assert_memory_equal(got.hash, want.hash, 2 * 32);
    assert_int_equal(mp_tlog_consistency_verify(2, 5, r2, r5, &want), 0);
    mp_tlog_free(t);
}

/* ---------------------------------------------------------------- the naive definitions */

static unsigned char leaves[N][32];

static uint64_t naive_split(uint64_t n)
{
    uint64_t k = 1;
    while (2 * k < n)
        k *= 2;
    return k;
}

static void naive_mth(uint64_t a, uint64_t b, unsigned char out[32])
{
    if (b - a == 1) {
        memcpy(out, leaves[a], 32);
        return;
    }
    uint64_t k = naive_split(b - a);
    unsigned char l[32], r[32];
    naive_mth(a, a + k, l);
    naive_mth(a + k, b, r);
    mp_tlog_node_hash(out, l, r);
}

static void naive_path(uint64_t m, uint64_t a, uint64_t b, mp_tlog_proof *p)
{
    uint64_t n = b - a;
    if (n == 1)
        return;
    uint64_t k = naive_split(n);
    if (m < k) {
        naive_path(m, a, a + k, p);
        naive_mth(a + k, b, p->hash[p->n++]);
    } else {
        naive_path(m - k, a + k, b, p);
        naive_mth(a, a + k, p->hash[p->n++]);
    }
}

static void naive_subproof(uint64_t m, uint64_t a, uint64_t b, int whole, mp_tlog_proof *p)
{
    uint64_t n = b - a;
    if (m == n) {
        if (!whole)
            naive_mth(a, b, p->hash[p->n++]);
        return;
    }
    uint64_t k = naive_split(n);
    if (m <= k) {
        naive_subproof(m, a, a + k, whole, p);
        naive_mth(a + k, b, p->hash[p->n++]);
    } else {
        naive_subproof(m - k, a + k, b, 0, p);
        naive_mth(a, a + k, p->hash[p->n++]);
    }
}

static mp_tlog *numbered_tree(void)
{
    mp_tlog *t;
    assert_int_equal(mp_tlog_new(&t), 0);
    for (int i = 0; i < N; i++) {
        char e[32];
        int len = snprintf(e, sizeof e, "entry %d", i);
        mp_tlog_leaf_hash(leaves[i], e, (size_t)len);
        assert_int_equal(mp_tlog_append(t, e, (size_t)len), 0);
        assert_int_equal(mp_tlog_size(t), (uint64_t)i + 1);
    }
    return t;
}

static void test_roots_match_naive(void **state)
{
    (void)state;
    mp_tlog *t = numbered_tree();
    unsigned char a[32], b[32];
    for (uint64_t n = 1; n <= N; n++) {
        naive_mth(0, n, a);
        assert_int_equal(mp_tlog_root(t, n, b), 0);
        assert_memory_equal(a, b, 32);
    }
    /* A tree built one entry at a time has the same root at every size as one built whole. */
    for (uint64_t n = 1; n <= N; n++) {
        mp_tlog *u;
        assert_int_equal(mp_tlog_new(&u), 0);
        for (uint64_t i = 0; i < n; i++)
            assert_int_equal(mp_tlog_append_leaf(u, leaves[i]), 0);
        assert_int_equal(mp_tlog_root(u, n, a), 0);
        assert_int_equal(mp_tlog_root(t, n, b), 0);
        assert_memory_equal(a, b, 32);
        mp_tlog_free(u);
    }
    mp_tlog_free(t);
}

static void test_every_inclusion_proof(void **state)
{
    (void)state;
    mp_tlog *t = numbered_tree();
    mp_tlog_proof p, q;
    unsigned char root[32], other[32];
    for (uint64_t size = 1; size <= N; size++) {
        assert_int_equal(mp_tlog_root(t, size, root), 0);
        for (uint64_t i = 0; i < size; i++) {
            assert_int_equal(mp_tlog_inclusion_proof(t, i, size, &p), 0);
            q.n = 0;
            naive_path(i, 0, size, &q);
            assert_int_equal(p.n, q.n);
            assert_memory_equal(p.hash, q.hash, p.n * 32);
            assert_int_equal(mp_tlog_inclusion_verify(i, size, leaves[i], &p, root), 0);
            /* Another entry, another index, another size, a tampered or shortened proof. */
            assert_int_equal(mp_tlog_inclusion_verify(i, size, leaves[(i + 1) % N], &p, root), -1);
            if (size > 1)
                assert_int_equal(
                    mp_tlog_inclusion_verify((i + 1) % size, size, leaves[i], &p, root), -1);
            /* The size only shapes the path: a proof checked against another size fails when
             * that size needs a path of another length (the signed checkpoint binds the size
             * to the root; a path of the same shape recomputes the same root). */
            if (size < N) {
                q.n = 0;
                naive_path(i, 0, size + 1, &q);
                if (q.n != p.n)
                    assert_int_equal(mp_tlog_inclusion_verify(i, size + 1, leaves[i], &p, root),
                                     -1);
            }
            assert_int_equal(mp_tlog_inclusion_verify(size, size, leaves[i], &p, root), -1);
            for (size_t k = 0; k < p.n; k++) {
                q = p;
                q.hash[k][k % 32] ^= 0x01;
                assert_int_equal(mp_tlog_inclusion_verify(i, size, leaves[i], &q, root), -1);
            }
            if (p.n > 0) {
                q = p;
                q.n--;
                assert_int_equal(mp_tlog_inclusion_verify(i, size, leaves[i], &q, root), -1);
            }
            q = p;
            memcpy(q.hash[q.n++], root, 32);
            assert_int_equal(mp_tlog_inclusion_verify(i, size, leaves[i], &q, root), -1);
            memcpy(other, root, 32);
            other[31] ^= 0x80;
            assert_int_equal(mp_tlog_inclusion_verify(i, size, leaves[i], &p, other), -1);
        }
    }
    assert_int_equal(mp_tlog_inclusion_proof(t, 3, 3, &p), -1);
    assert_int_equal(mp_tlog_inclusion_proof(t, 0, N + 1, &p), -1);
    mp_tlog_free(t);
}

static void test_every_consistency_proof(void **state)
{
    (void)state;
    mp_tlog *t = numbered_tree();
    mp_tlog_proof p, q;
    unsigned char r1[32], r2[32], bad[32];
    for (uint64_t m = 1; m <= N; m++) {
        assert_int_equal(mp_tlog_root(t, m, r1), 0);
        for (uint64_t n = m; n <= N; n++) {
            assert_int_equal(mp_tlog_root(t, n, r2), 0);
            assert_int_equal(mp_tlog_consistency_proof(t, m, n, &p), 0);
            q.n = 0;
            naive_subproof(m, 0, n, 1, &q);
            assert_int_equal(p.n, q.n);
            assert_memory_equal(p.hash, q.hash, p.n * 32);
            assert_int_equal(mp_tlog_consistency_verify(m, n, r1, r2, &p), 0);
            memcpy(bad, r1, 32);
            bad[0] ^= 0x01;
            assert_int_equal(mp_tlog_consistency_verify(m, n, bad, r2, &p), -1);
            memcpy(bad, r2, 32);
            bad[0] ^= 0x01;
            assert_int_equal(mp_tlog_consistency_verify(m, n, r1, bad, &p), -1);
            if (m == n)
                continue;
            /* Wrong sizes for the same proof and roots. */
            if (n < N) {
                q.n = 0;
                naive_subproof(m, 0, n + 1, 1, &q);
                if (q.n != p.n)
                    assert_int_equal(mp_tlog_consistency_verify(m, n + 1, r1, r2, &p), -1);
            }
            if (m > 1) {
                q.n = 0;
                naive_subproof(m - 1, 0, n, 1, &q);
                if (q.n != p.n)
                    assert_int_equal(mp_tlog_consistency_verify(m - 1, n, r1, r2, &p), -1);
            }
            assert_int_equal(mp_tlog_consistency_verify(n, m, r2, r1, &p), -1);
            for (size_t k = 0; k < p.n; k++) {
                q = p;
                q.hash[k][(k * 7) % 32] ^= 0x40;
                assert_int_equal(mp_tlog_consistency_verify(m, n, r1, r2, &q), -1);
            }
            q = p;
            q.n--;
            assert_int_equal(mp_tlog_consistency_verify(m, n, r1, r2, &q), -1);
            q = p;
            memcpy(q.hash[q.n++], r2, 32);
            assert_int_equal(mp_tlog_consistency_verify(m, n, r1, r2, &q), -1);
        }
    }
    /* No proof from the empty tree, backwards or beyond the log. */
    assert_int_equal(mp_tlog_consistency_proof(t, 0, 5, &p), -1);
    assert_int_equal(mp_tlog_consistency_proof(t, 6, 5, &p), -1);
    assert_int_equal(mp_tlog_consistency_proof(t, 5, N + 1, &p), -1);
    /* The same size: an empty proof, and only with the same root (otherwise: a fork). */
    p.n = 0;
    assert_int_equal(mp_tlog_root(t, 7, r1), 0);
    assert_int_equal(mp_tlog_root(t, 8, r2), 0);
    assert_int_equal(mp_tlog_consistency_verify(7, 7, r1, r1, &p), 0);
    assert_int_equal(mp_tlog_consistency_verify(7, 7, r1, r2, &p), -1);
    mp_tlog_free(t);
}

/* A larger tree (2^12 + 3 entries) against spot checks of the naive definition. */
static void test_larger_tree(void **state)
{
    (void)state;
    mp_tlog *t;
    mp_tlog_proof p;
    unsigned char leaf[32], root[32], r1[32];
    const uint64_t n = 4099;
    assert_int_equal(mp_tlog_new(&t), 0);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(mp_tlog_append(t, &i, sizeof i), 0);
    assert_int_equal(mp_tlog_root(t, n, root), 0);
    for (uint64_t i = 0; i < n; i += 97) {
        assert_int_equal(mp_tlog_inclusion_proof(t, i, n, &p), 0);
        assert_true(p.n <= 13);
        mp_tlog_leaf_hash(leaf, &i, sizeof i);
        assert_int_equal(mp_tlog_inclusion_verify(i, n, leaf, &p, root), 0);
        if (i > 0) {
            assert_int_equal(mp_tlog_root(t, i, r1), 0);
            assert_int_equal(mp_tlog_consistency_proof(t, i, n, &p), 0);
            assert_int_equal(mp_tlog_consistency_verify(i, n, r1, root, &p), 0);
        }
    }
    mp_tlog_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ct_roots),
        cmocka_unit_test(test_ct_proofs),
        cmocka_unit_test(test_roots_match_naive),
        cmocka_unit_test(test_every_inclusion_proof),
        cmocka_unit_test(test_every_consistency_proof),
        cmocka_unit_test(test_larger_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
