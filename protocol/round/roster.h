/*
 * roster.h - the region's roster: organisations, their gemeenten and their public keys, bound
 * to each organisation by its certificate and agreed by every member.
 *
 * A roster exists in two forms.
 *
 * The draft, a "roster" envelope signed by the coordinator:
 *   {"mijlpaal_roster":2, "issued":TIME, "coordinator":PUBKEY,
 *    "region":{"id","name","centrumgemeente","gemeenten":[{"code","name"}],
 *              "organisations":[{"id","name","kind","gemeenten":[CODE...],"key":PUBKEY,
 *                                "oin":OIN, "binding":BINDING}]}}
 * where BINDING is the organisation's certificate chain and its certificate key's signature
 * over the key (cert.h). ("oin" and "binding" are absent only in rosters built by tests and
 * benchmarks, which no contributor or auditor accepts.)
 *
 * The agreed roster, a "roster-agreed" envelope signed by the coordinator:
 *   {"mijlpaal_roster_agreed":1, "roster":DRAFT_TEXT (the draft envelope, byte for byte),
 *    "cosignatures":[{"org":ID,"sig":B64}...] (one per member, in roster order)}
 * where each sig is the member's Ed25519 signature (envelope.h framing, type "roster-cosign")
 * over {"mijlpaal_roster_cosign":1,"org":ID,"roster_sha256":HEX(SHA-256 of DRAFT_TEXT)}: what
 * a data officer makes with `mijlpaal-contributor roster sign`. Rounds refer to the agreed
 * roster's hash. The coordinator cannot show two members different member lists and still
 * collect a complete set of co-signatures for either, nor add a member that did not sign.
 *
 * Invariants after mp_roster_load() / mp_roster_from_envelope():
 *   1. The envelope (and, for an agreed roster, the draft inside it) verifies under the
 *      *trusted* coordinator key the caller passed in, and the roster names that same key as
 *      its coordinator.
 *   2. Organisation ids, key ids and OINs are unique; every organisation's gemeenten are in
 *      the region; each organisation's key belongs to it (its "org" field matches).
 *   3. For an agreed roster (r->agreed): every organisation has exactly one valid
 *      co-signature over the draft's hash; none from anyone else.
 * Certificate bindings are checked by mp_roster_check_bindings(), which needs the trust file
 * of the region's CA: contributors and auditors call it, always.
 */
#ifndef MP_ROSTER_H
#define MP_ROSTER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "cert.h"
#include "envelope.h"
#include "error.h"
#include "keys.h"

#define MP_MAX_ORGS 1000
#define MP_MAX_GEMEENTEN 400

typedef struct mp_org {
    const char *id, *name, *kind;
    size_t ngemeenten;
    const char *gemeenten[MP_MAX_GEMEENTEN];
    mp_pubkey key;
    const char *oin;                /* NULL when unbound */
    const cJSON *binding;           /* NULL when unbound */
    char cert_org[MP_CERT_ORG_MAX]; /* subject O= of the certificate, once checked */
} mp_org;

typedef struct mp_roster {
    const char *region_id, *region_name;
    mp_pubkey coordinator;
    size_t ngemeenten;
    const char *gemeente_code[MP_MAX_GEMEENTEN];
    const char *gemeente_name[MP_MAX_GEMEENTEN];
    size_t norgs;
    mp_org *orgs;
    int agreed; /* a "roster-agreed" envelope with every co-signature (invariant 3) */
    unsigned char draft_hash[MP_HASH_BYTES]; /* what members co-sign */
    mp_envelope *env;   /* owned: the file as loaded (agreed or draft); rounds name its hash */
    mp_envelope *draft; /* owned when agreed (else NULL); strings point into its body */
} mp_roster;

/* Build a roster body from a region definition file and public keys (one per organisation of
 * the region, matched by the key's "org"). */
MP_WUR int mp_roster_build(cJSON **body, const char *region_path, const mp_pubkey *coordinator,
                           const mp_pubkey *keys, size_t nkeys);

/* A key-binding file (made by `mijlpaal-contributor certify`): an envelope of type "key-binding"
 * signed by the key it binds, body {"mijlpaal_key_binding":1,"key":PUBKEY,"oin":OIN,
 * "binding":BINDING}. The binding itself is checked by mp_binding_verify (cert.h). */
MP_WUR int mp_roster_member_load(const char *path, mp_pubkey *key, char oin[MP_OIN_LEN + 1],
                                 cJSON **binding);

/* Attach an organisation's OIN and certificate binding (cert.h) to a built draft body. */
MP_WUR int mp_roster_bind(cJSON *body, const char *org, const char *oin, const cJSON *binding);

/* Load and verify a roster file, draft or agreed, against the trusted coordinator key
 * (invariants 1-3). */
MP_WUR int mp_roster_load(mp_roster **out, const char *path, const mp_pubkey *trusted);

/* Parse a roster envelope already in memory (takes ownership of env on success). With
 * trusted == NULL the signature is not checked: only for building a roster before signing. */
MP_WUR int mp_roster_from_envelope(mp_roster **out, mp_envelope *env, const mp_pubkey *trusted);

void mp_roster_free(mp_roster *r);

/* Invariant 3 holds (the roster is the agreed form), or -1 with a reason saying what to do. */
MP_WUR int mp_roster_require_agreed(const mp_roster *r);

/* Check every organisation's certificate binding against the region's CA at Unix time `at`
 * (cert.h, invariants 1-3); fills each org's cert_org. An organisation without a binding is
 * refused. */
MP_WUR int mp_roster_check_bindings(mp_roster *r, const mp_ca *ca, int64_t at);

/* The body a member signs (type "roster-cosign") to agree to the draft `r`. */
MP_WUR int mp_roster_cosign_body(cJSON **body, const mp_roster *r, const char *org);

/* The agreed roster's body from a draft and one "roster-cosign" envelope per member (any
 * order); refuses a co-signature over another draft, by a non-member, twice for one member,
 * or a missing one (naming who has not signed). */
MP_WUR int mp_roster_agree(cJSON **body, const mp_roster *draft, mp_envelope *const *cosigs,
                           size_t n);

const mp_org *mp_roster_org(const mp_roster *r, const char *id);
const mp_org *mp_roster_org_by_key(const mp_roster *r, const unsigned char key_id[MP_KEY_ID_BYTES]);
int mp_roster_has_gemeente(const mp_roster *r, const char *code);

#endif
