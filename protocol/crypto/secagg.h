/*
 * secagg.h - secure aggregation that survives dropouts and a lying aggregator
 * (masking scheme "bonawitz-v1").
 *
 * Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning"
 * (CCS 2017), active-adversary variant, for organisations whose long-term Ed25519 keys are
 * enrolled in the signed roster. As in the paper, the key shares are boxed to EPHEMERAL
 * per-round X25519 keys that each participant advertises (signed with its long-term key), in a
 * separate share phase: a long-term key stolen later opens no share of any past round.
 * docs/protocol.md section 10 specifies the bytes; this header states the messages and the
 * invariants.
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
 *   seed   seeds the Shamir coefficients, so the share message is a function of the secrets
 *   noise  seeds the submission's noise generator (mp_rng_new_seeded), so a submission made
 *          again from the same ledger row is the same vector (never a second noisy draw
 *          under the same masks, which would let the aggregator average the noise away)
 *   c_sk_i X25519 secret of the boxes this participant receives; c_pk_i = X25519(c_sk_i, 9)
 * Sealed form (MP_SECAGG_SEALED_BYTES): version 1 | nonce (24) | XChaCha20-Poly1305 of
 * b | s_sk | seed | noise | c_sk, key = BLAKE2b-256(key = PRF key,
 * "mijlpaal-ledger-secrets-v1"), associated data = round_hash | org.
 *
 * Phases and messages (signed envelopes; coordinator = the aggregator's roster key):
 *   1. advertise (i, format 2): c_pk_i ("box_pk"), s_pk_i ("mask_pk") and key_sig_i, the
 *                          detached "mask-key" signature over {"mijlpaal_mask_key":2,
 *                          "round_sha256","org","box_pk","mask_pk"}: both keys bound to round
 *                          and organisation by its long-term key. No shares.
 *   2. keys (coordinator, format 2, one for all): U1, every accepted advertisement
 *                          ("advertised": org, box_pk, mask_pk, key_sig in position order). i
 *                          checks every key_sig, that its own keys are listed, |U1| >= T.
 *   3. share (i in U1):    the advertised_sha256 of the U1 it accepted, and one box per member
 *                          j of U1 (U1 order, j = i included): crypto_box(c_sk_i -> c_pk_j,
 *                          nonce N_ij) of round_hash | pos_i (u16 LE) | pos_j (u16 LE) |
 *                          share_j(b_i) | share_j(s_sk_i), N_ij = BLAKE2b-192(
 *                          "mijlpaal-bonawitz-v1-box" | round_hash | pos_i | pos_j).
 *      shares (coordinator, one per member j of U2): U2 = the members of U1 whose share
 *                          message is stored ("shared": the U1 entry and share_sha256), and
 *                          the box each of them made for j. j checks the list (signatures,
 *                          |U2| >= T), that it is in U2 with the hash of the share message it
 *                          sent, and that every box opens with c_sk_j and carries shares for j
 *                          with threshold T.
 *   4. submission (i in U2): y_i = x_i + PRG(b_i) + sum_{j in U2, j != i} +-PRG(s_ij) mod 2^64,
 *                          + when pos_j > pos_i; s_ij = BLAKE2b-256("mijlpaal-bonawitz-v1-pair" |
 *                          round_hash | pos_lo | pos_hi | s_pk_lo | s_pk_hi |
 *                          X25519(s_sk_i, s_pk_j)).
 *   5. survivors (coordinator, format 2): U2 again ("shared") and U3 ("submitted": org,
 *                          submission_sha256). consistency (i in U3): signs
 *                          {"mijlpaal_consistency":1,"round_id","round_sha256","org",
 *                          "survivors_sha256"} after checking that U2 is the list it masked
 *                          with and that its own submission is named with its hash. A
 *                          contributor confirms one survivors list per round, never two.
 *   6. unmask-request (coordinator): the survivors hash and >= T confirmations (org, sig) by
 *                          members of U3. unmask (i): after checking every confirmation, for
 *                          each j in U2 in order, its share of b_j when j is in U3, of s_sk_j
 *                          when not (from the box j sent it, opened with c_sk_i). Never both
 *                          for one j: both kinds would need two different survivors lists.
 *   7. open: with T unmask messages (the first T in position order) rebuild every b_j (j in U3)
 *      and s_sk_j (j in U2 \ U3; checked against s_pk_j), subtract PRG(b_j) and the pairwise
 *      masks between the dropped and the survivors; the result is sum_{U3} x_i mod 2^64.
 *   Older formats (advertise 1 with boxes, keys 1, survivors 1) are refused by name.
 *
 * A view (mp_secagg_view) holds one of the lists: U1 after the keys message, U2 from the shares
 * message on (with `submitted` marking U3 in a survivors list); its advertised_hash is the
 * SHA-256 of the canonical list ("advertised" or "shared") and is what a participant binds.
 *
 * Why the aggregator cannot see one organisation's vector (honest participants, 2T > n + c):
 * y_i is hidden by PRG(b_i) until T participants reveal b_i's shares, which they do only for
 * a survivor of the one list T of them confirmed; its pairwise masks with the other survivors
 * of that list (>= T - 1 >= 2 of them) stay hidden because their s_sk are revealed only for
 * participants that list names as dropped. With c colluding participants the argument needs
 * 2T > n + c (docs/threat-model.md). The boxes open only with c_sk, which lives in one ledger
 * for one round: the long-term keys protect nothing of the shares.
 *
 * Invariants: every function returns 0 or -1 with the reason in mp_error_get(), and leaves
 * its outputs unset on failure; secrets (mp_secagg_secrets, shares, box plaintexts, the ledger
 * key) live in sodium_malloc memory or are wiped before return; error reasons name
 * organisations and positions, never a share, key or figure.
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
#define MP_SECAGG_SECRETS_BYTES 160
#define MP_SECAGG_SEALED_VERSION 1
#define MP_SECAGG_SEALED_BYTES (1 + 24 + MP_SECAGG_SECRETS_BYTES + 16) /* 201 */
/* Message formats of this version. */
#define MP_SECAGG_ADVERTISE_VERSION 2
#define MP_SECAGG_KEYS_VERSION 2
#define MP_SECAGG_SHARE_VERSION 1
#define MP_SECAGG_SHARES_VERSION 1
#define MP_SECAGG_SURVIVORS_VERSION 2

/* A participant's secrets of one round; always in sodium_malloc memory. */
typedef struct mp_secagg_secrets {
    unsigned char b[32];     /* self-mask seed */
    unsigned char s_sk[32];  /* X25519 secret of the pairwise masks */
    unsigned char seed[32];  /* seeds the Shamir coefficients */
    unsigned char noise[32]; /* seeds the submission's noise */
    unsigned char c_sk[32];  /* X25519 secret of the boxes addressed to this participant */
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

/* One member of a list (U1 or U2). */
typedef struct mp_secagg_member {
    const char *org; /* points into the spec's participants */
    unsigned pos;    /* 0-based position among the participants */
    unsigned char box_pk[MP_SECAGG_PK_BYTES];
    unsigned char mask_pk[MP_SECAGG_PK_BYTES];
    unsigned char key_sig[MP_SIG_BYTES];
    int shared; /* in U2, with the hash of its share message */
    unsigned char share_hash[MP_HASH_BYTES];
    int submitted; /* in U3 */
    unsigned char submission_hash[MP_HASH_BYTES];
} mp_secagg_member;

/* A view of the round: one list (n1 members) and, in a survivors list, n2 of them submitted. */
typedef struct mp_secagg_view {
    size_t n1, n2;
    mp_secagg_member *m;                          /* n1 entries in position order, malloc'd */
    unsigned char advertised_hash[MP_HASH_BYTES]; /* SHA-256 of the canonical list */
} mp_secagg_view;

/* One survivor's revealed shares: for each member of the view in order, one share. */
typedef struct mp_secagg_reveal {
    size_t member;         /* index into view->m of the sender */
    unsigned char *shares; /* n1 * MP_SHAMIR_SHARE_BYTES, sodium_malloc'd */
} mp_secagg_reveal;

void mp_secagg_view_free(mp_secagg_view *v);
void mp_secagg_reveal_free(mp_secagg_reveal *r);
/* Index in v->m of an organisation, -1 when it is not a member. */
int mp_secagg_member_index(const mp_secagg_view *v, const char *org);

/* The building blocks, for test vectors and second implementations (docs/protocol.md). */
void mp_secagg_box_nonce(unsigned char nonce[24], const unsigned char round_hash[MP_HASH_BYTES],
                         unsigned from, unsigned to);
/* s_ab from a's mask secret and b's public key (members carry position and mask_pk). */
MP_WUR int mp_secagg_pair_seed(unsigned char seed[32], const unsigned char s_sk_a[32],
                               const mp_secagg_member *a, const mp_secagg_member *b,
                               const unsigned char round_hash[MP_HASH_BYTES]);

/* --- contributor ------------------------------------------------------------------------- */

/* The advertise body of `kp`'s organisation from its secrets `s` (a function of kp and s). */
MP_WUR int mp_secagg_advertise(cJSON **body, const mp_spec *spec, const mp_roster *roster,
                               const mp_keypair *kp, const mp_secagg_secrets *s);

/* Accept the keys message as kp's organisation, whose advertisement was made from `s`: fills
 * *v with U1 (phase 2). */
MP_WUR int mp_secagg_keys_accept(mp_secagg_view *v, const mp_envelope *keys, const mp_spec *spec,
                                 const mp_roster *roster, const mp_keypair *kp,
                                 const mp_secagg_secrets *s);

/* The share body: kp's shares of b and s_sk boxed to every member of U1 (v from keys_accept);
 * a function of the secrets and U1. */
MP_WUR int mp_secagg_share(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                           const mp_keypair *kp, const mp_secagg_secrets *s);

/* Accept a shares message addressed to kp's organisation, which sent the share message with
 * hash `own_share`: fills *v with U2 (phase 3). */
MP_WUR int mp_secagg_shares_accept(mp_secagg_view *v, const mp_envelope *shares,
                                   const mp_spec *spec, const mp_roster *roster,
                                   const mp_keypair *kp, const mp_secagg_secrets *s,
                                   const unsigned char own_share[MP_HASH_BYTES]);

/* Add the self mask and the pairwise masks with every other member of U2 (v) to vec. */
MP_WUR int mp_secagg_mask(uint64_t *vec, size_t d, const mp_spec *spec, const mp_secagg_view *v,
                          const mp_keypair *kp, const mp_secagg_secrets *s);

/* Accept a survivors message as kp's organisation: the coordinator's signature, the same U2 as
 * `advertised_hash` (the shares message masked with), and own submission named with
 * `own_submission`. */
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

/* The unmask body: open the boxes of the stored shares message with c_sk and reveal, per
 * member of U2, the self-mask share (survivors) or the mask-key share (dropped). */
MP_WUR int mp_secagg_unmask(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                            const mp_envelope *shares, const mp_keypair *kp,
                            const mp_secagg_secrets *s,
                            const unsigned char survivors_hash[MP_HASH_BYTES]);

/* Whether a coordinator-signed keys, shares or survivors message of this round names `org` in
 * its list (*advertised: it advertised) and, for survivors, among the submitted (*submitted):
 * how a contributor whose ledger has no record of the round tells that it took part before
 * (a restored or wrong ledger). Checks the signature and the round, not the entries. */
MP_WUR int mp_secagg_names_org(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                               const char *org, int *advertised, int *submitted);

/* --- aggregator and auditor --------------------------------------------------------------- */

/* Check an advertisement (signature, round, key statement, no low-order key); fills *m. */
MP_WUR int mp_secagg_advertise_check(const mp_envelope *env, const mp_spec *spec,
                                     const mp_roster *roster, mp_secagg_member *m);

/* The keys body from U1 (the checked advertisements, in position order). */
MP_WUR int mp_secagg_keys_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v);
/* Parse and verify a keys message (coordinator signature, every key statement, |U1| >= T). */
MP_WUR int mp_secagg_keys_parse(mp_secagg_view *v, const mp_envelope *keys, const mp_spec *spec,
                                const mp_roster *roster);

/* Check a share message against U1 (v): signer in U1, made for this U1, one box per member;
 * *member is the signer's index in v->m. */
MP_WUR int mp_secagg_share_check(const mp_envelope *env, const mp_spec *spec,
                                 const mp_roster *roster, const mp_secagg_view *v, size_t *member);

/* The shares body for member `to` of U2 (v: the members that sent shares, with share_hash),
 * boxes[i] the box member i made for `to` (base64). */
MP_WUR int mp_secagg_shares_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                                  const char *const *boxes, size_t to);

/* Turn a shares body made by mp_secagg_shares_build into the one for member `to`: the same
 * bytes mp_secagg_shares_build(.., boxes, to) would give, without building the list of U2
 * again (n messages of n entries each). The boxes are referenced, not copied: they must
 * outlive the body's use. On failure the body is unusable (delete it). */
MP_WUR int mp_secagg_shares_retarget(cJSON *body, const mp_secagg_view *v, const char *const *boxes,
                                     size_t to);

/* The survivors body: U2 (v) and its members flagged submitted (with their hashes). */
MP_WUR int mp_secagg_survivors_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v);

/* Parse and verify a survivors message (coordinator signature, every key statement, U3 a
 * subset of U2 of at least T). */
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

/* Open the sum: `sum` holds sum_{U3} y_i on entry and sum_{U3} x_i on success (unchanged on
 * failure). Uses the first T of the nr reveals (which must be in position order, from
 * distinct survivors); nthreads workers (0: one per online CPU, at most 8). */
MP_WUR int mp_secagg_open(uint64_t *sum, size_t d, const mp_spec *spec, const mp_secagg_view *v,
                          const mp_secagg_reveal *r, size_t nr, unsigned nthreads);

#endif
