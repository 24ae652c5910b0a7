/*
 * secagg.h - secure aggregation that survives dropouts and a lying aggregator
 * (masking scheme "bonawitz-v1").
 *
 * Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning"
 * (CCS 2017), active-adversary variant, adapted to organisations whose long-term Ed25519 and
 * X25519 keys are enrolled in the signed roster (so the paper's round of advertising
 * encryption keys is not needed: shares are encrypted to the roster's X25519 keys at once).
 * docs/protocol.md specifies the bytes; this header states the messages and the invariants.
 *
 * Participants are the round's participants in their signed (sorted) order; position p
 * (0-based) gives the Shamir index p + 1. The threshold T is the round's (spec.h invariant 4).
 *
 * Per-round secrets of participant i (mp_secagg_secrets), drawn from the OS (randombytes_buf)
 * at advertise and kept only in the contributor's ledger, sealed (mp_secagg_secrets_seal), in
 * the transaction that records the advertisement, before the message leaves; every later
 * phase reads them back, and they are wiped once the unmask message is stored. Nothing
 * long-term determines them, so a ledger restored from a backup cannot silently redraw the same
 * values, and revealing one reveals nothing about any other round:
 *   b_i    self-mask seed
 *   s_sk_i X25519 secret for the pairwise masks; s_pk_i = X25519(s_sk_i, 9)
 *   seed   seeds the Shamir coefficients, so advertise is a function of the secrets
 *   noise  seeds the submission's noise generator (mp_rng_new_seeded), so a submission made
 *          again from the same ledger row is the same vector (never a second noisy draw
 *          under the same masks, which would let the aggregator average the noise away)
 * Sealed form (MP_SECAGG_SEALED_BYTES): version 1 | nonce (24) | XChaCha20-Poly1305 of
 * b | s_sk | seed | noise, key = BLAKE2b-256(key = PRF key, "mijlpaal-ledger-secrets-v1"),
 * associated data = round_hash | org.
 *
 * Phases and messages (signed envelopes; coordinator = the aggregator's roster key):
 *   1. advertise (i):      s_pk_i, key_sig_i (detached "mask-key" signature over
 *                          {"mijlpaal_mask_key":1,"round_sha256","org","mask_pk"}), and one box
 *                          per participant j (position order, j = i included):
 *                          crypto_box(kx_sk_i -> kx_pk_j, nonce N_ij) of
 *                          round_hash | pos_i (u16 LE) | pos_j (u16 LE) | share_j(b_i) |
 *                          share_j(s_sk_i), with N_ij = BLAKE2b-192("mijlpaal-bonawitz-v1-box" |
 *                          round_hash | pos_i | pos_j). The box authenticates i to j.
 *   2. keys (coordinator, one per advertiser j): the list U1 of accepted advertisements
 *                          ("advertised": org, mask_pk, key_sig), and the boxes addressed to j.
 *                          j checks every key_sig, that its own key is there, |U1| >= T, and
 *                          that every box opens and carries shares for j with threshold T.
 *   3. submission (i):     y_i = x_i + PRG(b_i) + sum_{j in U1, j != i} +-PRG(s_ij) mod 2^64,
 *                          + when pos_j > pos_i; s_ij = BLAKE2b-256("mijlpaal-bonawitz-v1-pair" |
 *                          round_hash | pos_lo | pos_hi | s_pk_lo | s_pk_hi |
 *                          X25519(s_sk_i, s_pk_j)).
 *   4. survivors (coordinator): U1 again and U2 ("submitted": org, submission_sha256).
 *      consistency (i in U2): signs {"mijlpaal_consistency":1,"round_id","round_sha256","org",
 *                          "survivors_sha256"} after checking that U1 is the list it masked
 *                          with and that its own submission is named with its hash. A
 *                          contributor confirms one survivors list per round, never two.
 *   5. unmask-request (coordinator): the survivors hash and >= T confirmations (org, sig) by
 *                          members of U2. unmask (i): after checking every confirmation, for
 *                          each j in U1 in order, its share of b_j when j is in U2, of s_sk_j
 *                          when not. Never both for one j: both kinds would need two different
 *                          survivors lists, and i confirms and answers for one only.
 *   6. open: with T unmask messages (the first T in position order) rebuild every b_j (j in U2)
 *      and s_sk_j (j in U1 \ U2; checked against s_pk_j), subtract PRG(b_j) and the pairwise
 *      masks between the dropped and the survivors; the result is sum_{U2} x_i mod 2^64.
 *
 * Why the aggregator cannot see one organisation's vector (honest participants, 2T > n):
 * y_i is hidden by PRG(b_i) until T participants reveal b_i's shares, which they do only for
 * a survivor of the one list T of them confirmed; its pairwise masks with the other survivors
 * of that list (>= T - 1 >= 2 of them) stay hidden because their s_sk are revealed only for
 * participants that list names as dropped. With c colluding participants the argument needs
 * 2T > n + c (docs/threat-model.md).
 *
 * Invariants: every function returns 0 or -1 with the reason in mp_error_get(), and leaves
 * its outputs unset on failure; secrets (mp_secagg_secrets, shares, box plaintexts, the ledger
 * key) live in sodium_malloc
 * memory or are wiped before return; error reasons name organisations and positions, never a
 * share, key or figure.
 */
#ifndef MP_SECAGG_H
#define MP_SECAGG_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "encoding.h"
#include "envelope.h"
#include "error.h"
#include "keys.h"
#include "roster.h"
#include "shamir.h"
#include "spec.h"

#define MP_SECAGG_PK_BYTES 32
#define MP_SECAGG_PLAIN_BYTES (MP_HASH_BYTES + 4 + 2 * MP_SHAMIR_SHARE_BYTES)      /* 174 */
#define MP_SECAGG_BOX_BYTES (MP_SECAGG_PLAIN_BYTES + 16 /* crypto_box_MACBYTES */) /* 190 */
#define MP_SECAGG_SECRETS_BYTES 128
#define MP_SECAGG_SEALED_VERSION 1
#define MP_SECAGG_SEALED_BYTES (1 + 24 + MP_SECAGG_SECRETS_BYTES + 16) /* 169 */

/* A participant's secrets of one round; always in sodium_malloc memory. */
typedef struct mp_secagg_secrets {
    unsigned char b[32];     /* self-mask seed */
    unsigned char s_sk[32];  /* X25519 secret of the pairwise masks */
    unsigned char seed[32];  /* seeds the Shamir coefficients */
    unsigned char noise[32]; /* seeds the submission's noise */
} mp_secagg_secrets;

/* Fresh secrets from the OS. */
MP_WUR int mp_secagg_secrets_new(mp_secagg_secrets **out);
void mp_secagg_secrets_free(mp_secagg_secrets *s);
/* The ledger key: BLAKE2b-256 keyed with the PRF key over "mijlpaal-ledger-secrets-v1". */
void mp_secagg_ledger_key(unsigned char key[32], const mp_keypair *kp);
/* Seal for the ledger row of (round, org), with a fresh nonce; open it again (refused when the
 * blob was made for another round, organisation or keystore, or was altered). */
MP_WUR int mp_secagg_secrets_seal(unsigned char out[MP_SECAGG_SEALED_BYTES],
                                  const mp_secagg_secrets *s, const mp_keypair *kp,
                                  const unsigned char round_hash[MP_HASH_BYTES], const char *org);
MP_WUR int mp_secagg_secrets_open(mp_secagg_secrets **out, const unsigned char *in, size_t len,
                                  const mp_keypair *kp,
                                  const unsigned char round_hash[MP_HASH_BYTES], const char *org);

/* One advertiser (member of U1). */
typedef struct mp_secagg_member {
    const char *org; /* points into the spec's participants */
    unsigned pos;    /* 0-based position among the participants */
    unsigned char mask_pk[MP_SECAGG_PK_BYTES];
    unsigned char key_sig[MP_SIG_BYTES];
    int submitted; /* in U2 */
    unsigned char submission_hash[MP_HASH_BYTES];
} mp_secagg_member;

/* A view of the round: U1 (and, from the survivors phase on, U2). */
typedef struct mp_secagg_view {
    size_t n1, n2;
    mp_secagg_member *m;                          /* n1 entries in position order, malloc'd */
    unsigned char advertised_hash[MP_HASH_BYTES]; /* SHA-256 of canonical "advertised" array */
} mp_secagg_view;

/* One survivor's revealed shares: for each member of U1 in order, MP_SHAMIR_SHARE_BYTES. */
typedef struct mp_secagg_reveal {
    size_t member;         /* index into view->m of the sender */
    unsigned char *shares; /* n1 * MP_SHAMIR_SHARE_BYTES, malloc'd */
} mp_secagg_reveal;

void mp_secagg_view_free(mp_secagg_view *v);
void mp_secagg_reveal_free(mp_secagg_reveal *r);
/* Index in v->m of an organisation, -1 when it is not a member of U1. */
int mp_secagg_member_index(const mp_secagg_view *v, const char *org);

/* The building blocks, for test vectors and second implementations (docs/protocol.md). */
void mp_secagg_box_nonce(unsigned char nonce[24], const unsigned char round_hash[MP_HASH_BYTES],
                         unsigned from, unsigned to);
/* s_ab from a's mask secret and b's public key (members carry position and mask_pk). */
MP_WUR int mp_secagg_pair_seed(unsigned char seed[32], const unsigned char s_sk_a[32],
                               const mp_secagg_member *a, const mp_secagg_member *b,
                               const unsigned char round_hash[MP_HASH_BYTES]);

/* --- contributor ------------------------------------------------------------------------- */

/* The advertise body of `kp`'s organisation for the round from its secrets `s` (a function of
 * the keys and s: the same secrets give the same bytes). */
MP_WUR int mp_secagg_advertise(cJSON **body, const mp_spec *spec, const mp_roster *roster,
                               const mp_keypair *kp, const mp_secagg_secrets *s);

/* Accept a keys message addressed to kp's organisation, whose advertisement was made from `s`:
 * fills *v with U1 (see phase 2). */
MP_WUR int mp_secagg_keys_accept(mp_secagg_view *v, const mp_envelope *keys, const mp_spec *spec,
                                 const mp_roster *roster, const mp_keypair *kp,
                                 const mp_secagg_secrets *s);

/* Add the self mask and the pairwise masks with every other member of U1 to vec. */
MP_WUR int mp_secagg_mask(uint64_t *vec, size_t d, const mp_spec *spec, const mp_secagg_view *v,
                          const mp_keypair *kp, const mp_secagg_secrets *s);

/* Accept a survivors message as kp's organisation: the coordinator's signature, the same U1 as
 * `advertised_hash` (the one masked with), and own submission named with `own_submission`. */
MP_WUR int mp_secagg_survivors_accept(mp_secagg_view *v, const mp_envelope *surv,
                                      const mp_spec *spec, const mp_roster *roster, const char *org,
                                      const unsigned char advertised_hash[MP_HASH_BYTES],
                                      const unsigned char own_submission[MP_HASH_BYTES]);

/* The consistency body confirming the survivors list with hash `survivors_hash`. */
MP_WUR int mp_secagg_consistency(cJSON **body, const mp_spec *spec, const char *org,
                                 const unsigned char survivors_hash[MP_HASH_BYTES]);

/* Check an unmask request against the survivors list this contributor confirmed. */
MP_WUR int mp_secagg_request_accept(const mp_envelope *req, const mp_spec *spec,
                                    const mp_roster *roster, const mp_secagg_view *v,
                                    const unsigned char survivors_hash[MP_HASH_BYTES]);

/* The unmask body: open the boxes of the stored keys message and reveal, per member of U1,
 * the self-mask share (survivors) or the mask-key share (dropped). */
MP_WUR int mp_secagg_unmask(cJSON **body, const mp_spec *spec, const mp_roster *roster,
                            const mp_secagg_view *v, const mp_envelope *keys, const mp_keypair *kp,
                            const unsigned char survivors_hash[MP_HASH_BYTES]);

/* Whether a coordinator-signed keys or survivors message of this round names `org` among the
 * advertised (*advertised) and, for survivors, the submitted (*submitted): how a contributor
 * whose ledger has no record of the round tells that it took part before (a restored or wrong
 * ledger). Checks the signature and the round, not the entries. */
MP_WUR int mp_secagg_names_org(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                               const char *org, int *advertised, int *submitted);

/* --- aggregator and auditor --------------------------------------------------------------- */

/* Check an advertisement (signature, round, key statement, box count and sizes, no low-order
 * key); fills *m (not submitted). */
MP_WUR int mp_secagg_advertise_check(const mp_envelope *env, const mp_spec *spec,
                                     const mp_roster *roster, mp_secagg_member *m);

/* The keys body for member `to` of U1, from the stored advertisements (v->n1 of them, in the
 * order of v->m). */
MP_WUR int mp_secagg_keys_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                                const mp_envelope *const *adverts, size_t to);
/* The same from the boxes addressed to `to`, boxes[i] from member i (base64 strings): for
 * building every keys message of a round without walking each advertisement n times. */
MP_WUR int mp_secagg_keys_build_boxes(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                                      const char *const *boxes, size_t to);

/* The survivors body: U1 and the members flagged submitted (with their submission hashes). */
MP_WUR int mp_secagg_survivors_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v);

/* Parse and verify a survivors message (coordinator signature, every key statement, U2 a
 * subset of U1 of at least T). */
MP_WUR int mp_secagg_survivors_parse(mp_secagg_view *v, const mp_envelope *surv,
                                     const mp_spec *spec, const mp_roster *roster);

/* Check one consistency message; *member is the signer's index in v->m. */
MP_WUR int mp_secagg_consistency_check(const mp_envelope *env, const mp_spec *spec,
                                       const mp_roster *roster, const mp_secagg_view *v,
                                       const unsigned char survivors_hash[MP_HASH_BYTES],
                                       size_t *member);

/* The unmask-request body from >= T checked consistency messages (in position order). */
MP_WUR int mp_secagg_request_build(cJSON **body, const mp_spec *spec,
                                   const unsigned char survivors_hash[MP_HASH_BYTES],
                                   const mp_envelope *const *confirmations, size_t n);

/* Check one unmask message and keep its shares in *r. */
MP_WUR int mp_secagg_unmask_check(const mp_envelope *env, const mp_spec *spec,
                                  const mp_roster *roster, const mp_secagg_view *v,
                                  const unsigned char survivors_hash[MP_HASH_BYTES],
                                  mp_secagg_reveal *r);

/* Open the sum: `sum` holds sum_{U2} y_i on entry and sum_{U2} x_i on success (unchanged on
 * failure). Uses the first T of the nr reveals (which must be in position order, from
 * distinct survivors); nthreads workers (0: one per online CPU, at most 8). */
MP_WUR int mp_secagg_open(uint64_t *sum, size_t d, const mp_spec *spec, const mp_secagg_view *v,
                          const mp_secagg_reveal *r, size_t nr, unsigned nthreads);

#endif
