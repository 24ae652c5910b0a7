/*
 * tlog.h - an RFC 9162 Merkle tree: append, tree heads, inclusion and consistency proofs.
 *
 * The tree is the one of RFC 9162 section 2.1 (the same as RFC 6962):
 *
 *   leaf hash   = SHA-256(0x00 || entry)
 *   node hash   = SHA-256(0x01 || left || right)
 *   MTH({})     = SHA-256()
 *   MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])) with k the largest power of two < n
 *
 * Storage: for every level h the hashes of the complete subtrees of 2^h leaves, in order
 * (level 0 holds the leaf hashes). That is about 2n hashes (64 MB at 10^6 entries) and lets
 * every subtree hash the proofs need be looked up, or folded from O(log n) stored ones along
 * the right edge, instead of being recomputed from the leaves:
 *
 *   append             O(1) amortised, O(log n) worst case (the new complete subtrees)
 *   root of any size   O(log n)
 *   inclusion proof    O(log^2 n) hash operations, O(log n) hashes long
 *   consistency proof  O(log^2 n) hash operations, O(log n) hashes long
 *
 * The verification functions are the algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2,
 * written from their text; they need no tree, only the proof and the tree heads.
 *
 * Invariants:
 *   1. level[h] holds exactly floor(size / 2^h) hashes, and level[h][i] is MTH of the leaves
 *      [i*2^h, (i+1)*2^h).
 *   2. A failed append leaves the tree as it was.
 */
#ifndef MP_TLOG_H
#define MP_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MP_TLOG_HASH_BYTES 32
#define MP_TLOG_LEVELS 64
#define MP_TLOG_PROOF_MAX 64 /* longest proof of any tree of fewer than 2^63 leaves */

typedef struct mp_tlog mp_tlog;

/* A proof: up to MP_TLOG_PROOF_MAX hashes, in the order of the RFC. */
typedef struct mp_tlog_proof {
    size_t n;
    unsigned char hash[MP_TLOG_PROOF_MAX][MP_TLOG_HASH_BYTES];
} mp_tlog_proof;

void mp_tlog_leaf_hash(unsigned char out[MP_TLOG_HASH_BYTES], const void *entry, size_t len);
void mp_tlog_node_hash(unsigned char out[MP_TLOG_HASH_BYTES],
                       const unsigned char left[MP_TLOG_HASH_BYTES],
                       const unsigned char right[MP_TLOG_HASH_BYTES]);

MP_WUR int mp_tlog_new(mp_tlog **out);
void mp_tlog_free(mp_tlog *t);

uint64_t mp_tlog_size(const mp_tlog *t);

/* Append one entry (its leaf hash is computed here) or an already computed leaf hash. */
MP_WUR int mp_tlog_append(mp_tlog *t, const void *entry, size_t len);
MP_WUR int mp_tlog_append_leaf(mp_tlog *t, const unsigned char leaf[MP_TLOG_HASH_BYTES]);

/* The leaf hash of entry `index` (< size). */
MP_WUR int mp_tlog_leaf(const mp_tlog *t, uint64_t index, unsigned char out[MP_TLOG_HASH_BYTES]);

/* MTH of the first `size` entries (size <= mp_tlog_size; 0 gives SHA-256 of nothing). */
MP_WUR int mp_tlog_root(const mp_tlog *t, uint64_t size, unsigned char out[MP_TLOG_HASH_BYTES]);

/* PATH(index, D[size]) of RFC 9162 2.1.3.1; needs index < size <= mp_tlog_size. */
MP_WUR int mp_tlog_inclusion_proof(const mp_tlog *t, uint64_t index, uint64_t size,
                                   mp_tlog_proof *out);

/* PROOF(first, D[second]) of RFC 9162 2.1.4.1; needs 0 < first <= second <= mp_tlog_size
 * (first == second gives the empty proof). */
MP_WUR int mp_tlog_consistency_proof(const mp_tlog *t, uint64_t first, uint64_t second,
                                     mp_tlog_proof *out);

/* RFC 9162 2.1.3.2: 0 when `leaf` (a leaf hash) is entry `index` of the tree of `size` leaves
 * whose root is `root`; -1 with a reason otherwise. */
MP_WUR int mp_tlog_inclusion_verify(uint64_t index, uint64_t size,
                                    const unsigned char leaf[MP_TLOG_HASH_BYTES],
                                    const mp_tlog_proof *proof,
                                    const unsigned char root[MP_TLOG_HASH_BYTES]);

/* RFC 9162 2.1.4.2: 0 when the tree of `second` leaves with root `second_root` extends the tree
 * of `first` leaves with root `first_root`; first == second needs an empty proof and equal
 * roots; first == 0 is refused (every tree extends the empty one, there is nothing to prove). */
MP_WUR int mp_tlog_consistency_verify(uint64_t first, uint64_t second,
                                      const unsigned char first_root[MP_TLOG_HASH_BYTES],
                                      const unsigned char second_root[MP_TLOG_HASH_BYTES],
                                      const mp_tlog_proof *proof);

#endif
