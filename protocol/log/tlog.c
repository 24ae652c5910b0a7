/*
 * tlog.c - the RFC 9162 Merkle tree (see tlog.h for the layout and the costs).
 */
#include "tlog.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define H MP_TLOG_HASH_BYTES

struct mp_tlog {
    uint64_t size;
    unsigned char *level[MP_TLOG_LEVELS]; /* level[h]: floor(size / 2^h) hashes */
    uint64_t cap[MP_TLOG_LEVELS];         /* allocated hashes per level */
};

void mp_tlog_leaf_hash(unsigned char out[H], const void *entry, size_t len)
{
    crypto_hash_sha256_state st;
    static const unsigned char prefix = 0x00;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, entry, len);
    crypto_hash_sha256_final(&st, out);
}

void mp_tlog_node_hash(unsigned char out[H], const unsigned char left[H],
                       const unsigned char right[H])
{
    unsigned char buf[1 + 2 * H];
    buf[0] = 0x01;
    memcpy(buf + 1, left, H);
    memcpy(buf + 1 + H, right, H);
    crypto_hash_sha256(out, buf, sizeof buf);
}

int mp_tlog_new(mp_tlog **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : mp_error_system("out of memory");
}

void mp_tlog_free(mp_tlog *t)
{
    if (t == NULL)
        return;
    for (int h = 0; h < MP_TLOG_LEVELS; h++)
        free(t->level[h]);
    free(t);
}

uint64_t mp_tlog_size(const mp_tlog *t)
{
    return t->size;
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

int mp_tlog_append_leaf(mp_tlog *t, const unsigned char leaf[H])
{
    uint64_t n = t->size + 1;
    int h;
    if (n == 0 || n > ((uint64_t)1 << 62))
        return mp_error_set("the log is full");
    /* Reserve every level that grows first, so that a failure changes nothing. Level h gets a
     * new hash exactly when 2^h divides the new size. */
    for (h = 0; h < MP_TLOG_LEVELS && (n & (((uint64_t)1 << h) - 1)) == 0; h++) {
        uint64_t want = n >> h;
        if (want > t->cap[h]) {
            uint64_t cap = t->cap[h] ? t->cap[h] * 2 : 64;
            unsigned char *p = realloc(t->level[h], (size_t)cap * H);
            if (p == NULL)
                return mp_error_system("out of memory");
            t->level[h] = p;
            t->cap[h] = cap;
        }
    }
    memcpy(t->level[0] + (n - 1) * H, leaf, H);
    for (h = 1; h < MP_TLOG_LEVELS && (n & (((uint64_t)1 << h) - 1)) == 0; h++) {
        uint64_t i = (n >> h) - 1; /* the new complete subtree at level h */
        mp_tlog_node_hash(t->level[h] + i * H, t->level[h - 1] + 2 * i * H,
                          t->level[h - 1] + (2 * i + 1) * H);
    }
    t->size = n;
    return 0;
}

int mp_tlog_append(mp_tlog *t, const void *entry, size_t len)
{
    unsigned char leaf[H];
    mp_tlog_leaf_hash(leaf, entry, len);
    return mp_tlog_append_leaf(t, leaf);
}

int mp_tlog_leaf(const mp_tlog *t, uint64_t index, unsigned char out[H])
{
    if (index >= t->size)
        return mp_error_set("entry %llu is beyond the log's %llu entries",
                            (unsigned long long)index, (unsigned long long)t->size);
    memcpy(out, t->level[0] + index * H, H);
    return 0;
}

/*
 * MTH(D[a:b]) for a range that occurs in the recursion of the MTH definition: then a is a
 * multiple of the smallest power of two >= b - a, so a complete range is one stored hash and
 * an incomplete one (only on the right edge) splits into a stored left half and a shorter
 * right part. Needs a < b <= size.
 */
static void range_hash(const mp_tlog *t, uint64_t a, uint64_t b, unsigned char out[H])
{
    uint64_t n = b - a;
    if ((n & (n - 1)) == 0) {
        int h = __builtin_ctzll(n);
        memcpy(out, t->level[h] + (a >> h) * H, H);
        return;
    }
    uint64_t k = split(n);
    unsigned char l[H], r[H];
    range_hash(t, a, a + k, l);
    range_hash(t, a + k, b, r);
    mp_tlog_node_hash(out, l, r);
}

int mp_tlog_root(const mp_tlog *t, uint64_t size, unsigned char out[H])
{
    if (size > t->size)
        return mp_error_set("no tree of %llu entries: the log has %llu", (unsigned long long)size,
                            (unsigned long long)t->size);
    if (size == 0)
        crypto_hash_sha256(out, NULL, 0);
    else
        range_hash(t, 0, size, out);
    return 0;
}

static void proof_push(mp_tlog_proof *p, const unsigned char h[H])
{
    /* A tree of fewer than 2^62 leaves has at most 62 levels: the bound cannot be hit. */
    if (p->n < MP_TLOG_PROOF_MAX)
        memcpy(p->hash[p->n++], h, H);
}

/* PATH(m, D[a:b]), m relative to a. */
static void path(const mp_tlog *t, uint64_t m, uint64_t a, uint64_t b, mp_tlog_proof *p)
{
    unsigned char h[H];
    uint64_t n = b - a, k;
    if (n <= 1)
        return;
    k = split(n);
    if (m < k) {
        path(t, m, a, a + k, p);
        range_hash(t, a + k, b, h);
    } else {
        path(t, m - k, a + k, b, p);
        range_hash(t, a, a + k, h);
    }
    proof_push(p, h);
}

int mp_tlog_inclusion_proof(const mp_tlog *t, uint64_t index, uint64_t size, mp_tlog_proof *out)
{
    if (size > t->size || index >= size)
        return mp_error_set("no inclusion proof of entry %llu in a tree of %llu (the log has "
                            "%llu entries)",
                            (unsigned long long)index, (unsigned long long)size,
                            (unsigned long long)t->size);
    out->n = 0;
    path(t, index, 0, size, out);
    return 0;
}

/* SUBPROOF(m, D[a:b], b_flag). */
static void subproof(const mp_tlog *t, uint64_t m, uint64_t a, uint64_t b, int whole,
                     mp_tlog_proof *p)
{
    unsigned char h[H];
    uint64_t n = b - a, k;
    if (m == n) {
        if (!whole) {
            range_hash(t, a, b, h);
            proof_push(p, h);
        }
        return;
    }
    k = split(n);
    if (m <= k) {
        subproof(t, m, a, a + k, whole, p);
        range_hash(t, a + k, b, h);
    } else {
        subproof(t, m - k, a + k, b, 0, p);
        range_hash(t, a, a + k, h);
    }
    proof_push(p, h);
}

int mp_tlog_consistency_proof(const mp_tlog *t, uint64_t first, uint64_t second, mp_tlog_proof *out)
{
    if (first == 0 || first > second || second > t->size)
        return mp_error_set("no consistency proof from %llu to %llu entries (the log has %llu)",
                            (unsigned long long)first, (unsigned long long)second,
                            (unsigned long long)t->size);
    out->n = 0;
    subproof(t, first, 0, second, 1, out);
    return 0;
}

int mp_tlog_inclusion_verify(uint64_t index, uint64_t size, const unsigned char leaf[H],
                             const mp_tlog_proof *proof, const unsigned char root[H])
{
    unsigned char r[H];
    uint64_t fn, sn;
    if (index >= size)
        return mp_error_set("inclusion proof: entry %llu is not in a tree of %llu",
                            (unsigned long long)index, (unsigned long long)size);
    fn = index;
    sn = size - 1;
    memcpy(r, leaf, H);
    for (size_t i = 0; i < proof->n; i++) {
        if (sn == 0)
            return mp_error_set("inclusion proof: %zu hashes, longer than a tree of %llu needs",
                                proof->n, (unsigned long long)size);
        if ((fn & 1) || fn == sn) {
            mp_tlog_node_hash(r, proof->hash[i], r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            mp_tlog_node_hash(r, r, proof->hash[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return mp_error_set("inclusion proof: %zu hashes, shorter than a tree of %llu needs",
                            proof->n, (unsigned long long)size);
    if (sodium_memcmp(r, root, H) != 0)
        return mp_error_set("inclusion proof of entry %llu does not lead to the tree's root",
                            (unsigned long long)index);
    return 0;
}

int mp_tlog_consistency_verify(uint64_t first, uint64_t second, const unsigned char first_root[H],
                               const unsigned char second_root[H], const mp_tlog_proof *proof)
{
    unsigned char fr[H], sr[H];
    const unsigned char *c[MP_TLOG_PROOF_MAX + 1];
    size_t n = 0;
    uint64_t fn, sn;

    if (first == 0 || first > second)
        return mp_error_set("consistency proof: no proof from %llu to %llu entries",
                            (unsigned long long)first, (unsigned long long)second);
    if (first == second) {
        if (proof->n != 0)
            return mp_error_set("consistency proof between equal sizes must be empty");
        if (sodium_memcmp(first_root, second_root, H) != 0)
            return mp_error_set("two different roots for the same tree size %llu (a fork)",
                                (unsigned long long)first);
        return 0;
    }
    /* 1. An empty path proves nothing. */
    if (proof->n == 0 || proof->n > MP_TLOG_PROOF_MAX)
        return mp_error_set("consistency proof from %llu to %llu: no hashes",
                            (unsigned long long)first, (unsigned long long)second);
    /* 2. When first is a power of two the old root is itself a node of the new tree. */
    if ((first & (first - 1)) == 0)
        c[n++] = first_root;
    for (size_t i = 0; i < proof->n; i++)
        c[n++] = proof->hash[i];
    /* 3-4. */
    fn = first - 1;
    sn = second - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. */
    memcpy(fr, c[0], H);
    memcpy(sr, c[0], H);
    /* 6. */
    for (size_t i = 1; i < n; i++) {
        if (sn == 0)
            return mp_error_set("consistency proof from %llu to %llu: too many hashes",
                                (unsigned long long)first, (unsigned long long)second);
        if ((fn & 1) || fn == sn) {
            mp_tlog_node_hash(fr, c[i], fr);
            mp_tlog_node_hash(sr, c[i], sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            mp_tlog_node_hash(sr, sr, c[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* 7. */
    if (sn != 0)
        return mp_error_set("consistency proof from %llu to %llu: too few hashes",
                            (unsigned long long)first, (unsigned long long)second);
    if (sodium_memcmp(fr, first_root, H) != 0 || sodium_memcmp(sr, second_root, H) != 0)
        return mp_error_set("the tree of %llu entries does not extend the tree of %llu entries "
                            "(consistency proof fails: the log was rewritten or forked)",
                            (unsigned long long)second, (unsigned long long)first);
    return 0;
}
