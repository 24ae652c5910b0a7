/*
 * shamir.h - t-of-n Shamir secret sharing of 32-byte secrets (scheme "shamir-v1").
 *
 * What for: dropout recovery in secure aggregation after Bonawitz et al. (CCS 2017). Every
 * participant shares its self-mask seed and its per-round X25519 secret key among the n
 * participants of a round, so that any t of them can later rebuild the one that is needed (the
 * self-mask seed of a participant that submitted, the X25519 key of one that dropped out), while
 * t - 1 of them learn nothing about it.
 *
 * Field: the scalar field of ristretto255 / Ed25519, the integers modulo the prime
 *
 *     L = 2^252 + 27742317777372353535851937790883648493,
 *
 * through libsodium's crypto_core_ristretto255_scalar_* (constant time). A 32-byte secret s is
 * cut into two 16-byte halves s_0 = s[0..15] and s_1 = s[16..31], and each half h gets its own
 * polynomial of degree t - 1
 *
 *     f_h(z) = c_h + a_{h,1} z + a_{h,2} z^2 + ... + a_{h,t-1} z^{t-1}   (mod L)
 *
 * with independent, uniform coefficients a and the constant term (32 bytes, little-endian)
 *
 *     c_h = s_h (16 bytes) | k[15h .. 15h+14] (15 bytes) | 0x00,
 *     k   = BLAKE2b-240("mijlpaal-shamir-v1" || s)   (crypto_generichash, 30 bytes, no key),
 *
 * so c_h < 2^248 < L. Participant i (1-based position, i = 1..n) receives the index x = i and
 * the pair (f_0(x), f_1(x)). Why halves: a seed or an X25519 key is an arbitrary 256-bit string
 * and does not fit below L (about 2^252). Why the checksum k in the spare bits: without it, t
 * shares always rebuild *some* value, and a damaged share shifts the secret by (Lagrange
 * coefficient) x (damage); the Lagrange coefficients for small indices are small integers (for
 * x = 1, 2, 3 they are 3, -3, 1), so even one flipped low bit of a share gives a wrong secret
 * that no range check could notice. With k, combine recomputes the checksum of the rebuilt
 * secret and refuses on mismatch: a damaged or forged share passes only with probability about
 * 2^-240, unless whoever forged it already knows the secret (t - 1 genuine shares reveal nothing
 * about it, checksum included). It costs no share bytes: the 69-byte format carries two
 * scalars either way.
 *
 * Randomness: the coefficients come from the caller's mp_rng, drawn in this order:
 * a_{0,1}, ..., a_{0,t-1}, then a_{1,1}, ..., a_{1,t-1}; each is 64 bytes of mp_rng_bytes
 * reduced modulo L (crypto_core_ristretto255_scalar_reduce; statistical distance from uniform
 * below 2^-259). A seeded rng therefore gives reproducible shares (the known-answer test in
 * tests/unit/test_shamir.c depends on this order); real use passes the system rng.
 *
 * Share format, MP_SHAMIR_SHARE_BYTES = 69 bytes:
 *
 *   offset size  field
 *   0      1     version (MP_SHAMIR_VERSION = 1)
 *   1      2     threshold t, little-endian, 1 <= t <= MP_SHAMIR_MAX_N
 *   3      2     index x, little-endian, 1 <= x <= MP_SHAMIR_MAX_N (x = 0 would be the secret)
 *   5      32    f_0(x), little-endian, canonical (< L)
 *   37     32    f_1(x), little-endian, canonical (< L)
 *
 * A share does not name its secret, its owner or its round: the caller binds it (in the protocol
 * each share travels inside authenticated encryption whose associated data names them), and
 * should compare a received share's threshold and index with what the round says
 * (mp_shamir_share_info) before combining.
 *
 * Reconstruction: combine takes count >= t shares with the same version and threshold and
 * pairwise distinct indices, interpolates f_0 and f_1 (every coefficient, Lagrange form) through
 * the FIRST t shares in the order given, checks that every further share lies on those
 * polynomials, and finally checks the constant terms (top byte 0, checksum k of the rebuilt
 * secret). Any failure refuses the whole call; nothing is corrected (the reason names the
 * position of the first share that does not fit, and the caller may retry with another
 * selection). So a share that was damaged or forged (by someone who does not know the secret)
 * never yields a wrong secret: with exactly t shares the checksum catches it, with more than t
 * the polynomial check catches it as well, also when the damaged share is one of the extras.
 * A dishonest dealer, who knows the secret, can still hand out shares of two different secrets
 * to two groups; preventing that needs verifiable secret sharing, which this is not.
 *
 * Limits: n and t are at most MP_SHAMIR_MAX_N = 4096, well above a round's participants (the
 * format would allow 65535). Combine costs O(t^2 + count * t) scalar operations (on one x86-64
 * core: ~13 ms for t = 100, ~50 ms for t = 100 with 1000 shares, ~1.2 s for t = 1000, ~17 s for
 * t = 4096), so the cap also bounds the work a forged threshold field can ask for. t = 1 is
 * allowed and puts the constant terms, i.e. the secret in the clear, into every share: that is
 * the caller's choice of threshold.
 *
 * Invariants: the coefficients and every value derived from share values live in sodium_malloc
 * memory or are wiped with sodium_memzero before return, on every path; on failure combine leaves
 * the output secret all zero; error reasons name only positions, indices, thresholds, versions
 * and counts, never share values or secret bytes.
 */
#ifndef MP_SHAMIR_H
#define MP_SHAMIR_H

#include <stddef.h>

#include "error.h"
#include "rng.h"

#define MP_SHAMIR_VERSION 1
#define MP_SHAMIR_SECRET_BYTES 32
#define MP_SHAMIR_SHARE_BYTES 69
#define MP_SHAMIR_MAX_N 4096

/* Split `secret` into n shares, any t of which rebuild it. `shares` receives
 * n * MP_SHAMIR_SHARE_BYTES bytes; share i (0-based) has index x = i + 1. Requires
 * 1 <= t <= n <= MP_SHAMIR_MAX_N; nothing is written on failure. */
MP_WUR int mp_shamir_split(mp_rng *r, const unsigned char secret[MP_SHAMIR_SECRET_BYTES],
                           unsigned t, unsigned n, unsigned char *shares);

/* Rebuild the secret from `count` shares laid out back to back (count * MP_SHAMIR_SHARE_BYTES
 * bytes). Interpolates through the first t shares and refuses unless every further share lies
 * on the same polynomials (see above). On failure `secret` is all zero. */
MP_WUR int mp_shamir_combine(const unsigned char *shares, size_t count,
                             unsigned char secret[MP_SHAMIR_SECRET_BYTES]);

/* Validate one share (version, threshold and index in range, both values canonical) and read
 * its threshold and index; either output may be NULL. */
MP_WUR int mp_shamir_share_info(const unsigned char share[MP_SHAMIR_SHARE_BYTES],
                                unsigned *threshold, unsigned *index);

/* Batched reconstruction for many secrets shared among the same parties (see shamir.c).
 * mp_shamir_weights: the Lagrange weights at zero for the t distinct indices xs (public values;
 * `weights` receives t * 32 bytes). mp_shamir_combine_weighted: rebuild one secret from exactly t
 * shares, shares[i] having index xs[i] and threshold t, with the weights for those xs; the
 * checksum is verified as in mp_shamir_combine (on failure `secret` is all zero). */
MP_WUR int mp_shamir_weights(const unsigned *xs, unsigned t, unsigned char *weights);
MP_WUR int mp_shamir_combine_weighted(const unsigned char *const *shares, unsigned t,
                                      const unsigned *xs, const unsigned char *weights,
                                      unsigned char secret[MP_SHAMIR_SECRET_BYTES]);

#endif
