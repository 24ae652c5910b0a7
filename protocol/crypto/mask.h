/*
 * mask.h - pairwise masking for secure aggregation (scheme "pairwise-v1").
 *
 * Every participant i holds a vector x_i of d integers modulo 2^64 (its noisy counts, negative
 * values in two's complement). For every other participant j it derives a pair seed
 *
 *   s_ij = BLAKE2b-256( "mijlpaal-pairmask-v1" || round_hash || pk_lo || pk_hi || X25519(sk_i,
 * pk_j) )
 *
 * where round_hash is the SHA-256 of the signed round specification and pk_lo, pk_hi are the
 * two X25519 public keys ordered by organisation id (so s_ij = s_ji), expands it with ChaCha20
 * (nonce 0: every seed is used for exactly one stream) into d little-endian 64-bit words
 * PRG(s_ij), and submits
 *
 *   y_i = x_i + sum_{j: id_j > id_i} PRG(s_ij) - sum_{j: id_j < id_i} PRG(s_ij)   (mod 2^64).
 *
 * When every participant submits, the masks cancel: sum_i y_i = sum_i x_i (mod 2^64). Any set of
 * submissions short of all of them is uniformly distributed to whoever does not know the
 * missing parties' X25519 secrets, so the aggregator (and an auditor) learns the sum only.
 *
 * Round binding: the seed depends on the round's hash, so masks never repeat across rounds
 * even though the X25519 keys are long-term. Dropout recovery (self-masks, Shamir shares of
 * per-round ephemeral keys, Bonawitz et al. 2017) is a separate scheme tag ("bonawitz-v1")
 * in the same submission envelope; this module is the pairwise core both share.
 */
#ifndef MP_MASK_H
#define MP_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "encoding.h"
#include "error.h"
#include "keys.h"

/* Add (sign = +1) or subtract (sign = -1) PRG(seed) to vec. */
void mp_mask_prg_apply(uint64_t *vec, size_t d, const unsigned char seed[32], int sign);

/* The pair seed between `self` and `peer` (fails on a degenerate X25519 result). */
MP_WUR int mp_mask_pair_seed(unsigned char seed[32], const mp_keypair *self, const mp_pubkey *peer,
                             const unsigned char round_hash[MP_HASH_BYTES]);

/* Mask vec in place for `self` among `peers` (all participants; self is skipped by id). */
MP_WUR int mp_mask_apply(uint64_t *vec, size_t d, const mp_keypair *self, const mp_pubkey *peers,
                         size_t npeers, const unsigned char round_hash[MP_HASH_BYTES]);

/* sum += v (mod 2^64), element-wise. */
void mp_vec_add(uint64_t *sum, const uint64_t *v, size_t d);

/* Vectors on the wire: d little-endian 64-bit words, base64. */
char *mp_vec_encode(const uint64_t *v, size_t d);
MP_WUR int mp_vec_decode(uint64_t *v, size_t d, const char *b64);

#endif
