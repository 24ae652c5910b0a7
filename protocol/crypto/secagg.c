/*
 * secagg.c - masking scheme bonawitz-v1 (see secagg.h for the protocol and its invariants).
 */
#include "secagg.h"

#include <pthread.h>
#include <stddef.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canon.h"
#include "mask.h"
#include "rng.h"

#define PK MP_SECAGG_PK_BYTES
#define SHARE MP_SHAMIR_SHARE_BYTES

static const char ledger_domain[] = "mijlpaal-ledger-secrets-v1";
static const char box_domain[] = "mijlpaal-bonawitz-v1-box";
static const char pair_domain[] = "mijlpaal-bonawitz-v1-pair";

/* ---- small helpers ------------------------------------------------------------------------ */

static void store16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static unsigned load16(const unsigned char *p)
{
    return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

void mp_secagg_view_free(mp_secagg_view *v)
{
    if (v == NULL)
        return;
    free(v->m);
    memset(v, 0, sizeof *v);
}

void mp_secagg_reveal_free(mp_secagg_reveal *r)
{
    if (r == NULL)
        return;
    if (r->shares != NULL)
        sodium_free(r->shares);
    memset(r, 0, sizeof *r);
}

int mp_secagg_member_index(const mp_secagg_view *v, const char *org)
{
    /* Members are in position order, which is the sorted order of the organisation ids: a
     * binary search first; a linear scan when it misses, so that a view built in another order
     * is still answered right. */
    size_t lo = 0, hi = v->n1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->m[mid].org, org);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < v->n1; i++)
        if (strcmp(v->m[i].org, org) == 0)
            return (int)i;
    return -1;
}

/* ---- per-round secrets ------------------------------------------------------------------- */

static mp_secagg_secrets *secrets_alloc(void)
{
    mp_secagg_secrets *s = sodium_malloc(sizeof *s);
    if (s == NULL)
        mp_error_system("cannot allocate secure memory");
    return s;
}

int mp_secagg_secrets_new(mp_secagg_secrets **out)
{
    mp_secagg_secrets *s = secrets_alloc();
    if (s == NULL)
        return -1;
    randombytes_buf(s, sizeof *s);
    *out = s;
    return 0;
}

void mp_secagg_secrets_free(mp_secagg_secrets *s)
{
    if (s != NULL)
        sodium_free(s); /* sodium_free wipes */
}

void mp_secagg_ledger_key(unsigned char key[32], const mp_keypair *kp)
{
    crypto_generichash(key, 32, (const unsigned char *)ledger_domain, sizeof ledger_domain - 1,
                       kp->prf_key, MP_PRF_KEY_BYTES);
}

/* AD = round_hash | org: a sealed blob opens only for the round and organisation it was made
 * for, so rows cannot be swapped between rounds or ledgers. */
static int ledger_ad(unsigned char ad[MP_HASH_BYTES + 40], size_t *adlen,
                     const unsigned char round_hash[MP_HASH_BYTES], const char *org)
{
    size_t n = strlen(org);
    if (n > 40)
        return mp_error_set("organisation id too long");
    memcpy(ad, round_hash, MP_HASH_BYTES);
    memcpy(ad + MP_HASH_BYTES, org, n);
    *adlen = MP_HASH_BYTES + n;
    return 0;
}

/* The five secrets in a fixed order, so that the sealed bytes do not depend on struct layout. */
static void secrets_pack(unsigned char *p, const mp_secagg_secrets *s)
{
    memcpy(p, s->b, 32);
    memcpy(p + 32, s->s_sk, 32);
    memcpy(p + 64, s->seed, 32);
    memcpy(p + 96, s->noise, 32);
    memcpy(p + 128, s->c_sk, 32);
}

int mp_secagg_secrets_seal(unsigned char out[MP_SECAGG_SEALED_BYTES], const mp_secagg_secrets *s,
                           const mp_keypair *kp, const unsigned char round_hash[MP_HASH_BYTES],
                           const char *org)
{
    unsigned char ad[MP_HASH_BYTES + 40], *key;
    size_t adlen = 0;
    if (ledger_ad(ad, &adlen, round_hash, org) != 0)
        return -1;
    if ((key = sodium_malloc(32 + MP_SECAGG_SECRETS_BYTES)) == NULL)
        return mp_error_system("cannot allocate secure memory");
    mp_secagg_ledger_key(key, kp);
    secrets_pack(key + 32, s);
    out[0] = MP_SECAGG_SEALED_VERSION;
    randombytes_buf(out + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        out + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, key + 32,
        MP_SECAGG_SECRETS_BYTES, ad, adlen, NULL, out + 1, key);
    sodium_free(key);
    return 0;
}

int mp_secagg_secrets_open(mp_secagg_secrets **out, const unsigned char *in, size_t len,
                           const mp_keypair *kp, const unsigned char round_hash[MP_HASH_BYTES],
                           const char *org)
{
    unsigned char ad[MP_HASH_BYTES + 40], *key;
    mp_secagg_secrets *s;
    size_t adlen = 0;
    int bad;
    if (len != MP_SECAGG_SEALED_BYTES || in[0] != MP_SECAGG_SEALED_VERSION)
        return mp_error_set("the round's secrets in the ledger are not %d bytes of version %d",
                            (int)MP_SECAGG_SEALED_BYTES, MP_SECAGG_SEALED_VERSION);
    if (ledger_ad(ad, &adlen, round_hash, org) != 0)
        return -1;
    if ((key = sodium_malloc(32 + MP_SECAGG_SECRETS_BYTES)) == NULL)
        return mp_error_system("cannot allocate secure memory");
    if ((s = secrets_alloc()) == NULL) {
        sodium_free(key);
        return -1;
    }
    mp_secagg_ledger_key(key, kp);
    bad = crypto_aead_xchacha20poly1305_ietf_decrypt(
        key + 32, NULL, NULL, in + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
        len - 1 - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad, adlen, in + 1, key);
    if (!bad) {
        memcpy(s->b, key + 32, 32);
        memcpy(s->s_sk, key + 64, 32);
        memcpy(s->seed, key + 96, 32);
        memcpy(s->noise, key + 128, 32);
        memcpy(s->c_sk, key + 160, 32);
    }
    sodium_free(key);
    if (bad) {
        sodium_free(s);
        return mp_error_set("the round's secrets in the ledger do not open with this keystore "
                            "(another organisation's key, another round, or a damaged ledger)");
    }
    *out = s;
    return 0;
}

void mp_secagg_box_nonce(unsigned char nonce[24], const unsigned char round_hash[MP_HASH_BYTES],
                         unsigned from, unsigned to)
{
    unsigned char pos[4];
    crypto_generichash_state st;
    store16(pos, from);
    store16(pos + 2, to);
    crypto_generichash_init(&st, NULL, 0, crypto_box_NONCEBYTES);
    crypto_generichash_update(&st, (const unsigned char *)box_domain, sizeof box_domain - 1);
    crypto_generichash_update(&st, round_hash, MP_HASH_BYTES);
    crypto_generichash_update(&st, pos, sizeof pos);
    crypto_generichash_final(&st, nonce, crypto_box_NONCEBYTES);
}

/* Pair seed s_ij between members a and b (a's secret key, b's public key). */
int mp_secagg_pair_seed(unsigned char seed[32], const unsigned char s_sk_a[32],
                        const mp_secagg_member *a, const mp_secagg_member *b,
                        const unsigned char round_hash[MP_HASH_BYTES])
{
    unsigned char dh[32], pos[4];
    const mp_secagg_member *lo = a->pos < b->pos ? a : b, *hi = a->pos < b->pos ? b : a;
    crypto_generichash_state st;
    if (crypto_scalarmult(dh, s_sk_a, b->mask_pk) != 0)
        return mp_error_set("the mask key of %s is degenerate (low order)", b->org);
    store16(pos, lo->pos);
    store16(pos + 2, hi->pos);
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)pair_domain, sizeof pair_domain - 1);
    crypto_generichash_update(&st, round_hash, MP_HASH_BYTES);
    crypto_generichash_update(&st, pos, sizeof pos);
    crypto_generichash_update(&st, lo->mask_pk, PK);
    crypto_generichash_update(&st, hi->mask_pk, PK);
    crypto_generichash_update(&st, dh, sizeof dh);
    crypto_generichash_final(&st, seed, 32);
    sodium_memzero(dh, sizeof dh);
    sodium_memzero(&st, sizeof st);
    return 0;
}

/* The statement a key signature covers: both per-round public keys of org. */
static cJSON *key_statement(const mp_spec *spec, const char *org, const unsigned char box_pk[PK],
                            const unsigned char mask_pk[PK])
{
    char hash[MP_HASH_HEX_BYTES], *b1 = mp_base64_encode(box_pk, PK),
                                  *b2 = mp_base64_encode(mask_pk, PK);
    cJSON *b = cJSON_CreateObject();
    mp_hex_encode(hash, spec->env->hash, MP_HASH_BYTES);
    if (b == NULL || b1 == NULL || b2 == NULL ||
        !cJSON_AddNumberToObject(b, "mijlpaal_mask_key", MP_SECAGG_ADVERTISE_VERSION) ||
        !cJSON_AddStringToObject(b, "round_sha256", hash) ||
        !cJSON_AddStringToObject(b, "org", org) || !cJSON_AddStringToObject(b, "box_pk", b1) ||
        !cJSON_AddStringToObject(b, "mask_pk", b2)) {
        cJSON_Delete(b);
        b = NULL;
    }
    free(b1);
    free(b2);
    return b;
}

/* 0 when key_sig is org's signature of its keys m->box_pk, m->mask_pk for this round. */
static int key_sig_check(const mp_spec *spec, const mp_secagg_member *m, const mp_pubkey *key)
{
    cJSON *st = key_statement(spec, m->org, m->box_pk, m->mask_pk);
    int rc = st == NULL ? -1 : mp_envelope_verify_detached(m->key_sig, "mask-key", st, key);
    cJSON_Delete(st);
    return rc;
}

/* Common header of every message body: version field, round id and hash. */
static cJSON *new_body(const mp_spec *spec, const char *version_field, int version)
{
    char hash[MP_HASH_HEX_BYTES];
    cJSON *b = cJSON_CreateObject();
    mp_hex_encode(hash, spec->env->hash, MP_HASH_BYTES);
    if (b == NULL || !cJSON_AddNumberToObject(b, version_field, version) ||
        !cJSON_AddStringToObject(b, "round_id", spec->round_id) ||
        !cJSON_AddStringToObject(b, "round_sha256", hash)) {
        cJSON_Delete(b);
        mp_error_system("out of memory");
        return NULL;
    }
    return b;
}

static int add_hex(cJSON *o, const char *key, const unsigned char *v, size_t n)
{
    char hex[2 * 64 + 1];
    mp_hex_encode(hex, v, n);
    return cJSON_AddStringToObject(o, key, hex) != NULL ? 0 : mp_error_system("out of memory");
}

static int add_b64(cJSON *o, const char *key, const unsigned char *v, size_t n)
{
    char *b64 = mp_base64_encode(v, n);
    int ok = b64 != NULL && (cJSON_IsArray(o) ? cJSON_AddItemToArray(o, cJSON_CreateString(b64))
                                              : cJSON_AddStringToObject(o, key, b64) != NULL);
    free(b64);
    return ok ? 0 : mp_error_system("out of memory");
}

static int hex_field(const cJSON *body, const char *key, unsigned char out[MP_HASH_BYTES])
{
    const char *hex;
    if (mp_json_str(body, key, &hex) != 0 || mp_hex_decode(out, MP_HASH_BYTES, hex) != 0)
        return mp_error_set("%s: not a SHA-256 in hex", key);
    return 0;
}

/*
 * Check the fields every message has and the signer. The signer is the coordinator when
 * `coordinator` is set, else a participant (returned in *org). `fields` lists the allowed keys;
 * the message must be of format `version` (an older one is refused by name).
 */
static int check_header(const mp_envelope *env, const char *type, const char *version_field,
                        int version, const char *const *fields, const mp_spec *spec,
                        const mp_roster *roster, int coordinator, const mp_org **org)
{
    const char *round_id, *hash;
    long long v;
    unsigned char h[MP_HASH_BYTES];
    const char *who = "the coordinator";
    if (strcmp(env->type, type) != 0)
        return mp_error_set("is a \"%s\" message, expected \"%s\"", env->type, type);
    if (coordinator) {
        if (mp_envelope_verify(env, &roster->coordinator) != 0)
            return mp_error_prefix("%s: ", type);
    } else {
        const mp_org *o = mp_roster_org_by_key(roster, env->signer);
        if (o == NULL)
            return mp_error_set("%s signed by a key that is not in the roster", type);
        if (mp_envelope_verify(env, &o->key) != 0)
            return -1;
        if (mp_spec_participant(spec, o->id) < 0)
            return mp_error_set("%s is not a participant of round %s", o->id, spec->round_id);
        *org = o;
        who = o->id;
    }
    if (mp_json_int(env->body, version_field, 1, 1000, &v) != 0)
        return mp_error_prefix("%s of %s: ", type, who);
    if (v != version)
        return mp_error_set("%s of %s is of format %lld; this version of mijlpaal takes format %d "
                            "only (bonawitz-v1 with per-round box keys and a separate share "
                            "phase): make it again with this version",
                            type, who, v, version);
    if (mp_json_only(env->body, type, fields) != 0 ||
        mp_json_str(env->body, "round_id", &round_id) != 0 ||
        mp_json_str(env->body, "round_sha256", &hash) != 0)
        return mp_error_prefix("%s of %s: ", type, who);
    if (strcmp(round_id, spec->round_id) != 0)
        return mp_error_set("%s of %s is for round %.64s, not for round %s", type, who, round_id,
                            spec->round_id);
    if (mp_hex_decode(h, sizeof h, hash) != 0 || memcmp(h, spec->env->hash, sizeof h) != 0)
        return mp_error_set("%s of %s was made for a different version of round %s "
                            "(round_sha256 mismatch)",
                            type, who, spec->round_id);
    if (!coordinator) {
        const char *claimed;
        if (mp_json_str(env->body, "org", &claimed) != 0)
            return mp_error_prefix("%s of %s: ", type, who);
        if (strcmp(claimed, who) != 0)
            return mp_error_set("%s claims to be from %.40s but is signed by %s", type, claimed,
                                who);
    }
    return 0;
}

static int survivors_hash_field(const cJSON *body, const unsigned char want[MP_HASH_BYTES],
                                const char *what)
{
    const char *hex;
    unsigned char h[MP_HASH_BYTES];
    if (mp_json_str(body, "survivors_sha256", &hex) != 0)
        return mp_error_prefix("%s: ", what);
    if (mp_hex_decode(h, sizeof h, hex) != 0 || sodium_memcmp(h, want, sizeof h) != 0)
        return mp_error_set("%s refers to a different list of survivors", what);
    return 0;
}

/* ---- the lists U1 (advertised) and U2 (shared) ------------------------------------------ */

/* Entries in position order; with `shared`, each with the hash of its share message. */
static cJSON *list_json(const mp_secagg_view *v, int shared)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr != NULL && i < v->n1; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            cJSON_AddStringToObject(o, "org", v->m[i].org) == NULL ||
            add_b64(o, "box_pk", v->m[i].box_pk, PK) != 0 ||
            add_b64(o, "mask_pk", v->m[i].mask_pk, PK) != 0 ||
            add_b64(o, "key_sig", v->m[i].key_sig, MP_SIG_BYTES) != 0 ||
            (shared && add_hex(o, "share_sha256", v->m[i].share_hash, MP_HASH_BYTES) != 0)) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static int hash_json(unsigned char out[MP_HASH_BYTES], const cJSON *v)
{
    char *text;
    size_t len;
    if (mp_canon_serialise(&text, &len, v) != 0)
        return -1;
    mp_hash(out, text, len);
    free(text);
    return 0;
}

/* The keys seen so far in a list, to refuse a repeated one in O(1) per entry instead of
 * comparing it with every earlier entry (a million comparisons per list at n = 1000, and the
 * lists are parsed at every phase). Open addressing on the key's first bytes; the keys are
 * public, so neither the probing nor the comparison need be constant-time. */
typedef struct key_set {
    size_t cap;     /* a power of two, at least twice the entries */
    unsigned *slot; /* member index + 1, 0 = empty */
    size_t koff;    /* offsetof the key in mp_secagg_member */
} key_set;

static int key_set_init(key_set *ks, size_t n, size_t koff)
{
    ks->cap = 16;
    while (ks->cap < 2 * n)
        ks->cap *= 2;
    ks->koff = koff;
    return (ks->slot = calloc(ks->cap, sizeof *ks->slot)) != NULL
               ? 0
               : mp_error_system("out of memory");
}

/* The earlier member with member i's key (its index), or -1; adds i when none. */
static long key_set_add(key_set *ks, const mp_secagg_member *m, size_t i)
{
    const unsigned char *key = (const unsigned char *)&m[i] + ks->koff;
    size_t h = (size_t)mp_load64_le(key) & (ks->cap - 1);
    while (ks->slot[h] != 0) {
        size_t k = ks->slot[h] - 1;
        if (memcmp((const unsigned char *)&m[k] + ks->koff, key, PK) == 0)
            return (long)k;
        h = (h + 1) & (ks->cap - 1);
    }
    ks->slot[h] = (unsigned)i + 1;
    return -1;
}

/* Parse and verify "advertised" (U1) or, with `shared`, "shared" (U2): participants in position
 * order, both keys of each signed by its organisation, keys distinct, at least T of them. */
static int list_parse(mp_secagg_view *v, const cJSON *arr, const mp_spec *spec,
                      const mp_roster *roster, int shared)
{
    static const char *const fields[] = {"org", "box_pk", "mask_pk", "key_sig", NULL};
    static const char *const sfields[] = {"org",     "box_pk",       "mask_pk",
                                          "key_sig", "share_sha256", NULL};
    const char *what = shared ? "shared" : "advertised";
    const cJSON *it;
    key_set mask_keys = {0}, box_keys = {0};
    size_t n = (size_t)cJSON_GetArraySize(arr);
    memset(v, 0, sizeof *v);
    if (n > spec->nparticipants)
        return mp_error_set("%s: %zu entries, the round has %zu participants", what, n,
                            spec->nparticipants);
    if ((long long)n < spec->threshold)
        return mp_error_set(shared ? "only %zu participants sent key shares; the threshold is %lld"
                                   : "only %zu participants advertised keys; the threshold is %lld",
                            n, spec->threshold);
    if ((v->m = calloc(n ? n : 1, sizeof *v->m)) == NULL)
        return mp_error_system("out of memory");
    if (key_set_init(&mask_keys, n, offsetof(mp_secagg_member, mask_pk)) != 0 ||
        key_set_init(&box_keys, n, offsetof(mp_secagg_member, box_pk)) != 0)
        goto fail;
    cJSON_ArrayForEach (it, arr) {
        mp_secagg_member *m = &v->m[v->n1];
        const char *org, *bpk, *pk, *sig;
        int pos;
        if (mp_json_only(it, what, shared ? sfields : fields) != 0 ||
            mp_json_str(it, "org", &org) != 0 || mp_json_str(it, "box_pk", &bpk) != 0 ||
            mp_json_str(it, "mask_pk", &pk) != 0 || mp_json_str(it, "key_sig", &sig) != 0 ||
            mp_base64_decode_exact(m->box_pk, PK, bpk) != 0 ||
            mp_base64_decode_exact(m->mask_pk, PK, pk) != 0 ||
            mp_base64_decode_exact(m->key_sig, MP_SIG_BYTES, sig) != 0 ||
            (shared && hex_field(it, "share_sha256", m->share_hash) != 0))
            goto fail_prefix;
        if ((pos = mp_spec_participant(spec, org)) < 0) {
            mp_error_set("%s: %.40s is not a participant of round %s", what, org, spec->round_id);
            goto fail;
        }
        if (v->n1 > 0 && (unsigned)pos <= v->m[v->n1 - 1].pos) {
            mp_error_set("%s: %s is out of order or given twice", what, org);
            goto fail;
        }
        m->org = spec->participants[pos];
        m->pos = (unsigned)pos;
        m->shared = shared;
        long km = key_set_add(&mask_keys, v->m, v->n1), kb = key_set_add(&box_keys, v->m, v->n1);
        if (km >= 0 || kb >= 0) {
            long k = km < 0 ? kb : kb < 0 ? km : km < kb ? km : kb;
            mp_error_set("%s: %s and %s have the same key", what, v->m[k].org, m->org);
            goto fail;
        }
        if (key_sig_check(spec, m, &mp_roster_org(roster, m->org)->key) != 0) {
            mp_error_set("%s: the keys of %s are not signed by %s", what, m->org, m->org);
            goto fail;
        }
        v->n1++;
    }
    if (hash_json(v->advertised_hash, arr) != 0)
        goto fail;
    free(mask_keys.slot);
    free(box_keys.slot);
    return 0;
fail_prefix:
    mp_error_prefix("%s entry %zu: ", what, v->n1 + 1);
fail:
    free(mask_keys.slot);
    free(box_keys.slot);
    mp_secagg_view_free(v);
    return -1;
}

/* A low-order key would make every pairwise mask with it, or every box to it, a known
 * constant. */
static int low_order(const unsigned char pk[PK])
{
    unsigned char probe[32], dh[32];
    memset(probe, 0x5a, sizeof probe);
    int bad = crypto_scalarmult(dh, probe, pk) != 0;
    sodium_memzero(dh, sizeof dh);
    return bad;
}

/* ---- phase 1: advertise ----------------------------------------------------------------- */

int mp_secagg_advertise(cJSON **body, const mp_spec *spec, const mp_roster *roster,
                        const mp_keypair *kp, const mp_secagg_secrets *s)
{
    unsigned char box_pk[PK], mask_pk[PK], sig[MP_SIG_BYTES];
    cJSON *b = NULL, *st = NULL;
    (void)roster;
    if (spec->masking != MP_MASKING_BONAWITZ)
        return mp_error_set("round %s uses masking scheme %s, which has no advertise phase",
                            spec->round_id, mp_spec_scheme_name(spec));
    if (mp_spec_participant(spec, kp->pub.org) < 0)
        return mp_error_set("%s is not a participant of round %s", kp->pub.org, spec->round_id);
    crypto_scalarmult_base(box_pk, s->c_sk);
    crypto_scalarmult_base(mask_pk, s->s_sk);
    if ((st = key_statement(spec, kp->pub.org, box_pk, mask_pk)) == NULL ||
        mp_envelope_sign_detached(sig, "mask-key", st, kp) != 0 ||
        (b = new_body(spec, "mijlpaal_advertise", MP_SECAGG_ADVERTISE_VERSION)) == NULL ||
        !cJSON_AddStringToObject(b, "org", kp->pub.org) || add_b64(b, "box_pk", box_pk, PK) ||
        add_b64(b, "mask_pk", mask_pk, PK) || add_b64(b, "key_sig", sig, sizeof sig)) {
        cJSON_Delete(st);
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    cJSON_Delete(st);
    *body = b;
    return 0;
}

int mp_secagg_advertise_check(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                              mp_secagg_member *out)
{
    static const char *const fields[] = {"mijlpaal_advertise",
                                         "round_id",
                                         "round_sha256",
                                         "org",
                                         "box_pk",
                                         "mask_pk",
                                         "key_sig",
                                         NULL};
    const mp_org *org;
    const char *bpk, *pk, *sig;
    mp_secagg_member mm;
    if (spec->masking != MP_MASKING_BONAWITZ)
        return mp_error_set("round %s uses masking scheme %s: there is no advertise phase",
                            spec->round_id, mp_spec_scheme_name(spec));
    if (check_header(env, "advertise", "mijlpaal_advertise", MP_SECAGG_ADVERTISE_VERSION, fields,
                     spec, roster, 0, &org) != 0)
        return -1;
    memset(&mm, 0, sizeof mm);
    if (mp_json_str(env->body, "box_pk", &bpk) != 0 || mp_json_str(env->body, "mask_pk", &pk) ||
        mp_json_str(env->body, "key_sig", &sig) != 0 ||
        mp_base64_decode_exact(mm.box_pk, PK, bpk) != 0 ||
        mp_base64_decode_exact(mm.mask_pk, PK, pk) != 0 ||
        mp_base64_decode_exact(mm.key_sig, MP_SIG_BYTES, sig) != 0)
        return mp_error_prefix("advertise of %s: ", org->id);
    int pos = mp_spec_participant(spec, org->id);
    mm.org = spec->participants[pos];
    mm.pos = (unsigned)pos;
    if (key_sig_check(spec, &mm, &org->key) != 0)
        return mp_error_set("advertise of %s: the key signature does not verify", org->id);
    if (low_order(mm.mask_pk))
        return mp_error_set("advertise of %s: the mask key is degenerate (low order)", org->id);
    if (low_order(mm.box_pk))
        return mp_error_set("advertise of %s: the box key is degenerate (low order)", org->id);
    *out = mm;
    return 0;
}

/* ---- phase 2: keys ---------------------------------------------------------------------- */

int mp_secagg_keys_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v)
{
    cJSON *b, *adv;
    if ((b = new_body(spec, "mijlpaal_keys", MP_SECAGG_KEYS_VERSION)) == NULL)
        return -1;
    if ((adv = list_json(v, 0)) == NULL || !cJSON_AddItemToObject(b, "advertised", adv)) {
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    *body = b;
    return 0;
}

static const char *const keys_fields[] = {"mijlpaal_keys", "round_id", "round_sha256", "advertised",
                                          NULL};

int mp_secagg_keys_parse(mp_secagg_view *v, const mp_envelope *keys, const mp_spec *spec,
                         const mp_roster *roster)
{
    const cJSON *adv;
    memset(v, 0, sizeof *v);
    if (check_header(keys, "keys", "mijlpaal_keys", MP_SECAGG_KEYS_VERSION, keys_fields, spec,
                     roster, 1, NULL) != 0 ||
        mp_json_arr(keys->body, "advertised", &adv) != 0)
        return mp_error_prefix("keys: ");
    return list_parse(v, adv, spec, roster, 0);
}

/* The member of v that is kp's organisation with the public keys of s, or -1 (reason set). */
static int own_entry(const mp_secagg_view *v, const mp_keypair *kp, const mp_secagg_secrets *s,
                     const char *what)
{
    unsigned char pk[PK];
    int self = mp_secagg_member_index(v, kp->pub.org);
    if (self < 0) {
        mp_error_set("%s is not among the %s participants", kp->pub.org, what);
        return -1;
    }
    crypto_scalarmult_base(pk, s->s_sk);
    if (sodium_memcmp(pk, v->m[self].mask_pk, PK) != 0) {
        mp_error_set("the mask key listed for %s is not the one it advertised (when its ledger "
                     "was restored from an earlier copy and it advertised again, the coordinator "
                     "holds the earlier advertisement)",
                     kp->pub.org);
        return -1;
    }
    crypto_scalarmult_base(pk, s->c_sk);
    if (sodium_memcmp(pk, v->m[self].box_pk, PK) != 0) {
        mp_error_set("the box key listed for %s is not the one it advertised", kp->pub.org);
        return -1;
    }
    return self;
}

int mp_secagg_keys_accept(mp_secagg_view *v, const mp_envelope *keys, const mp_spec *spec,
                          const mp_roster *roster, const mp_keypair *kp, const mp_secagg_secrets *s)
{
    if (mp_secagg_keys_parse(v, keys, spec, roster) != 0)
        return -1;
    if (own_entry(v, kp, s, "advertised") < 0) {
        if (strstr(mp_error_get(), "is not among") != NULL)
            mp_error_prefix("keys: ");
        mp_secagg_view_free(v);
        return -1;
    }
    return 0;
}

/* ---- phase 3: share ----------------------------------------------------------------------- */

int mp_secagg_share(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                    const mp_keypair *kp, const mp_secagg_secrets *s)
{
    unsigned char nonce[crypto_box_NONCEBYTES], box[MP_SECAGG_BOX_BYTES];
    unsigned n = (unsigned)spec->nparticipants, t = (unsigned)spec->threshold;
    int self = mp_secagg_member_index(v, kp->pub.org);
    mp_rng *rng = NULL;
    unsigned char *shares = NULL, *plain; /* 2n shares | one plaintext */
    cJSON *b = NULL, *boxes;
    int rc = -1;
    if (self < 0)
        return mp_error_set("%s is not among the advertised participants", kp->pub.org);
    unsigned me = v->m[self].pos;
    if ((shares = sodium_malloc((size_t)2 * n * SHARE + MP_SECAGG_PLAIN_BYTES)) == NULL)
        return mp_error_system("cannot allocate secure memory");
    plain = shares + (size_t)2 * n * SHARE;
    /* Shares for every position (index p + 1), so that share j is the same whoever else is in
     * U1; only the members of U1 get theirs. */
    if (mp_rng_new_seeded(&rng, s->seed) != 0 || mp_shamir_split(rng, s->b, t, n, shares) != 0 ||
        mp_shamir_split(rng, s->s_sk, t, n, shares + (size_t)n * SHARE) != 0)
        goto out;
    if ((b = new_body(spec, "mijlpaal_share", MP_SECAGG_SHARE_VERSION)) == NULL ||
        !cJSON_AddStringToObject(b, "org", kp->pub.org) ||
        add_hex(b, "advertised_sha256", v->advertised_hash, MP_HASH_BYTES) != 0 ||
        (boxes = cJSON_AddArrayToObject(b, "boxes")) == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    for (size_t k = 0; k < v->n1; k++) {
        unsigned j = v->m[k].pos;
        memcpy(plain, spec->env->hash, MP_HASH_BYTES);
        store16(plain + MP_HASH_BYTES, me);
        store16(plain + MP_HASH_BYTES + 2, j);
        memcpy(plain + MP_HASH_BYTES + 4, shares + (size_t)j * SHARE, SHARE);
        memcpy(plain + MP_HASH_BYTES + 4 + SHARE, shares + (size_t)(n + j) * SHARE, SHARE);
        mp_secagg_box_nonce(nonce, spec->env->hash, me, j);
        if (crypto_box_easy(box, plain, MP_SECAGG_PLAIN_BYTES, nonce, v->m[k].box_pk, s->c_sk) !=
            0) {
            mp_error_set("cannot encrypt shares to %s (degenerate box key)", v->m[k].org);
            goto out;
        }
        if (add_b64(boxes, NULL, box, sizeof box) != 0)
            goto out;
    }
    *body = b;
    b = NULL;
    rc = 0;
out:
    cJSON_Delete(b);
    mp_rng_free(rng);
    sodium_free(shares);
    return rc;
}

int mp_secagg_share_check(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                          const mp_secagg_view *v, size_t *member)
{
    static const char *const fields[] = {
        "mijlpaal_share", "round_id", "round_sha256", "org", "advertised_sha256", "boxes", NULL};
    const mp_org *org;
    const cJSON *boxes, *it;
    unsigned char h[MP_HASH_BYTES];
    size_t k = 0;
    int self;
    if (check_header(env, "share", "mijlpaal_share", MP_SECAGG_SHARE_VERSION, fields, spec, roster,
                     0, &org) != 0)
        return -1;
    if ((self = mp_secagg_member_index(v, org->id)) < 0)
        return mp_error_set("share of %s: %s did not advertise keys", org->id, org->id);
    if (hex_field(env->body, "advertised_sha256", h) != 0 ||
        mp_json_arr(env->body, "boxes", &boxes) != 0)
        return mp_error_prefix("share of %s: ", org->id);
    if (sodium_memcmp(h, v->advertised_hash, MP_HASH_BYTES) != 0)
        return mp_error_set("share of %s was made for another list of advertised keys than this "
                            "round's keys message",
                            org->id);
    if ((size_t)cJSON_GetArraySize(boxes) != v->n1)
        return mp_error_set("share of %s has %d boxes for %zu advertised participants", org->id,
                            cJSON_GetArraySize(boxes), v->n1);
    cJSON_ArrayForEach (it, boxes) {
        unsigned char box[MP_SECAGG_BOX_BYTES];
        if (!cJSON_IsString(it) || mp_base64_decode_exact(box, sizeof box, it->valuestring) != 0)
            return mp_error_set("share of %s: box %zu is not %d bytes of base64", org->id, k + 1,
                                MP_SECAGG_BOX_BYTES);
        k++;
    }
    *member = (size_t)self;
    return 0;
}

/* ---- phase 3': the shares addressed to one member ------------------------------------------ */

int mp_secagg_shares_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                           const char *const *boxes, size_t to)
{
    cJSON *b, *list, *arr;
    if (to >= v->n1)
        return mp_error_set("shares: no member %zu", to);
    if ((b = new_body(spec, "mijlpaal_shares", MP_SECAGG_SHARES_VERSION)) == NULL)
        return -1;
    if (!cJSON_AddStringToObject(b, "to", v->m[to].org) || (list = list_json(v, 1)) == NULL ||
        !cJSON_AddItemToObject(b, "shared", list) ||
        (arr = cJSON_AddArrayToObject(b, "boxes")) == NULL) {
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    for (size_t i = 0; i < v->n1; i++)
        if (boxes[i] == NULL || !cJSON_AddItemToArray(arr, cJSON_CreateString(boxes[i]))) {
            cJSON_Delete(b);
            return mp_error_set("shares: the share message of %s has no box for %s", v->m[i].org,
                                v->m[to].org);
        }
    *body = b;
    return 0;
}

int mp_secagg_shares_retarget(cJSON *body, const mp_secagg_view *v, const char *const *boxes,
                              size_t to)
{
    cJSON *org, *arr;
    if (to >= v->n1)
        return mp_error_set("shares: no member %zu", to);
    if ((org = cJSON_CreateString(v->m[to].org)) == NULL ||
        !cJSON_ReplaceItemInObjectCaseSensitive(body, "to", org)) {
        cJSON_Delete(org);
        return mp_error_system("out of memory");
    }
    if ((arr = cJSON_CreateArray()) == NULL ||
        !cJSON_ReplaceItemInObjectCaseSensitive(body, "boxes", arr)) {
        cJSON_Delete(arr);
        return mp_error_system("out of memory");
    }
    for (size_t i = 0; i < v->n1; i++)
        if (boxes[i] == NULL || !cJSON_AddItemToArray(arr, cJSON_CreateStringReference(boxes[i])))
            return mp_error_set("shares: the share message of %s has no box for %s", v->m[i].org,
                                v->m[to].org);
    return 0;
}

/* Open the box from member `from` to position `me` with the recipient's box secret and check
 * its binding. plain is MP_SECAGG_PLAIN_BYTES of secure memory. */
static int box_open(unsigned char *plain, const char *b64, const mp_spec *spec,
                    const mp_secagg_member *from, unsigned me, const char *me_org,
                    const unsigned char c_sk[32])
{
    unsigned char box[MP_SECAGG_BOX_BYTES], nonce[crypto_box_NONCEBYTES];
    unsigned t, x;
    if (mp_base64_decode_exact(box, sizeof box, b64) != 0)
        return mp_error_set("the box from %s is not %d bytes of base64", from->org,
                            MP_SECAGG_BOX_BYTES);
    mp_secagg_box_nonce(nonce, spec->env->hash, from->pos, me);
    if (crypto_box_open_easy(plain, box, sizeof box, nonce, from->box_pk, c_sk) != 0)
        return mp_error_set("the box from %s does not open: it was not made by %s for %s in this "
                            "round, or it was altered",
                            from->org, from->org, me_org);
    if (memcmp(plain, spec->env->hash, MP_HASH_BYTES) != 0 ||
        load16(plain + MP_HASH_BYTES) != from->pos || load16(plain + MP_HASH_BYTES + 2) != me)
        return mp_error_set("the box from %s is bound to another round or pair", from->org);
    for (int k = 0; k < 2; k++) {
        if (mp_shamir_share_info(plain + MP_HASH_BYTES + 4 + (size_t)k * SHARE, &t, &x) != 0)
            return mp_error_prefix("the box from %s: ", from->org);
        if ((long long)t != spec->threshold || x != me + 1)
            return mp_error_set("the box from %s holds a share with threshold %u and index %u; "
                                "the round needs threshold %lld and index %u",
                                from->org, t, x, spec->threshold, me + 1);
    }
    return 0;
}

int mp_secagg_shares_accept(mp_secagg_view *v, const mp_envelope *env, const mp_spec *spec,
                            const mp_roster *roster, const mp_keypair *kp,
                            const mp_secagg_secrets *s,
                            const unsigned char own_share[MP_HASH_BYTES])
{
    static const char *const fields[] = {
        "mijlpaal_shares", "round_id", "round_sha256", "to", "shared", "boxes", NULL};
    const char *to;
    const cJSON *list, *boxes;
    unsigned char *plain = NULL;
    int self, rc = -1;

    memset(v, 0, sizeof *v);
    if (check_header(env, "shares", "mijlpaal_shares", MP_SECAGG_SHARES_VERSION, fields, spec,
                     roster, 1, NULL) != 0 ||
        mp_json_str(env->body, "to", &to) != 0 || mp_json_arr(env->body, "shared", &list) ||
        mp_json_arr(env->body, "boxes", &boxes) != 0)
        return mp_error_prefix("shares: ");
    if (strcmp(to, kp->pub.org) != 0)
        return mp_error_set("this shares message is addressed to %.40s, not to %s", to,
                            kp->pub.org);
    if (list_parse(v, list, spec, roster, 1) != 0)
        return -1;
    if ((self = own_entry(v, kp, s, "shared")) < 0) {
        if (strstr(mp_error_get(), "is not among") != NULL)
            mp_error_set("%s is not among the participants whose key shares the shares message "
                         "lists (send shares first)",
                         kp->pub.org);
        goto out;
    }
    if (sodium_memcmp(v->m[self].share_hash, own_share, MP_HASH_BYTES) != 0) {
        mp_error_set("the shares message names a different share message of %s than the one it "
                     "sent",
                     kp->pub.org);
        goto out;
    }
    if ((size_t)cJSON_GetArraySize(boxes) != v->n1) {
        mp_error_set("shares: %d boxes for %zu participants that sent shares",
                     cJSON_GetArraySize(boxes), v->n1);
        goto out;
    }
    if ((plain = sodium_malloc(MP_SECAGG_PLAIN_BYTES)) == NULL) {
        mp_error_system("cannot allocate secure memory");
        goto out;
    }
    for (size_t i = 0; i < v->n1; i++) {
        const cJSON *box = cJSON_GetArrayItem(boxes, (int)i);
        if (!cJSON_IsString(box)) {
            mp_error_set("shares: box %zu is not a string", i + 1);
            goto out;
        }
        if (box_open(plain, box->valuestring, spec, &v->m[i], v->m[self].pos, kp->pub.org,
                     s->c_sk) != 0)
            goto out;
    }
    rc = 0;
out:
    if (plain != NULL)
        sodium_free(plain);
    if (rc != 0)
        mp_secagg_view_free(v);
    return rc;
}

/* ---- phase 4: masking ------------------------------------------------------------------- */

int mp_secagg_mask(uint64_t *vec, size_t d, const mp_spec *spec, const mp_secagg_view *v,
                   const mp_keypair *kp, const mp_secagg_secrets *s)
{
    unsigned char seed[32];
    int self = mp_secagg_member_index(v, kp->pub.org);
    uint64_t *tmp;
    if (self < 0)
        return mp_error_set("%s is not among the advertised participants", kp->pub.org);
    /* Work on a copy so that a failure leaves vec as it was. */
    if ((tmp = sodium_malloc(d * sizeof *tmp)) == NULL)
        return mp_error_system("cannot allocate secure memory");
    memcpy(tmp, vec, d * sizeof *tmp);
    mp_mask_prg_apply(tmp, d, s->b, +1);
    for (size_t j = 0; j < v->n1; j++) {
        if ((int)j == self)
            continue;
        if (mp_secagg_pair_seed(seed, s->s_sk, &v->m[self], &v->m[j], spec->env->hash) != 0) {
            sodium_free(tmp);
            return -1;
        }
        mp_mask_prg_apply(tmp, d, seed, v->m[j].pos > v->m[self].pos ? +1 : -1);
    }
    memcpy(vec, tmp, d * sizeof *tmp);
    sodium_memzero(seed, sizeof seed);
    sodium_free(tmp);
    return 0;
}

/* ---- phase 4: survivors and consistency -------------------------------------------------- */

int mp_secagg_survivors_build(cJSON **body, const mp_spec *spec, const mp_secagg_view *v)
{
    cJSON *b, *adv, *sub;
    if ((b = new_body(spec, "mijlpaal_survivors", MP_SECAGG_SURVIVORS_VERSION)) == NULL)
        return -1;
    if ((adv = list_json(v, 1)) == NULL || !cJSON_AddItemToObject(b, "shared", adv) ||
        (sub = cJSON_AddArrayToObject(b, "submitted")) == NULL) {
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    for (size_t i = 0; i < v->n1; i++) {
        cJSON *o;
        if (!v->m[i].submitted)
            continue;
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(sub, o) ||
            !cJSON_AddStringToObject(o, "org", v->m[i].org) ||
            add_hex(o, "submission_sha256", v->m[i].submission_hash, MP_HASH_BYTES) != 0) {
            cJSON_Delete(b);
            return mp_error_system("out of memory");
        }
    }
    *body = b;
    return 0;
}

int mp_secagg_survivors_parse(mp_secagg_view *v, const mp_envelope *surv, const mp_spec *spec,
                              const mp_roster *roster)
{
    static const char *const fields[] = {"mijlpaal_survivors", "round_id", "round_sha256", "shared",
                                         "submitted",          NULL};
    static const char *const sub_fields[] = {"org", "submission_sha256", NULL};
    const cJSON *adv, *sub, *it;
    int last = -1;
    memset(v, 0, sizeof *v);
    if (check_header(surv, "survivors", "mijlpaal_survivors", MP_SECAGG_SURVIVORS_VERSION, fields,
                     spec, roster, 1, NULL) != 0 ||
        mp_json_arr(surv->body, "shared", &adv) != 0 ||
        mp_json_arr(surv->body, "submitted", &sub) != 0)
        return mp_error_prefix("survivors: ");
    if (list_parse(v, adv, spec, roster, 1) != 0)
        return mp_error_prefix("survivors: ");
    cJSON_ArrayForEach (it, sub) {
        const char *org, *hash;
        int k;
        if (mp_json_only(it, "submitted", sub_fields) != 0 || mp_json_str(it, "org", &org) ||
            mp_json_str(it, "submission_sha256", &hash) != 0) {
            mp_error_prefix("survivors: ");
            goto fail;
        }
        if ((k = mp_secagg_member_index(v, org)) < 0) {
            mp_error_set("survivors: %.40s submitted but did not send key shares", org);
            goto fail;
        }
        if (k <= last) {
            mp_error_set("survivors: %s is out of order or given twice", org);
            goto fail;
        }
        if (mp_hex_decode(v->m[k].submission_hash, MP_HASH_BYTES, hash) != 0) {
            mp_error_prefix("survivors: %s: ", org);
            goto fail;
        }
        v->m[k].submitted = 1;
        v->n2++;
        last = k;
    }
    if ((long long)v->n2 < spec->threshold) {
        mp_error_set("survivors: %zu submitted, below the threshold %lld", v->n2, spec->threshold);
        goto fail;
    }
    return 0;
fail:
    mp_secagg_view_free(v);
    return -1;
}

int mp_secagg_survivors_accept(mp_secagg_view *v, const mp_envelope *surv, const mp_spec *spec,
                               const mp_roster *roster, const char *org,
                               const unsigned char advertised_hash[MP_HASH_BYTES],
                               const unsigned char own_submission[MP_HASH_BYTES])
{
    int self;
    if (mp_secagg_survivors_parse(v, surv, spec, roster) != 0)
        return -1;
    if (sodium_memcmp(v->advertised_hash, advertised_hash, MP_HASH_BYTES) != 0) {
        mp_secagg_view_free(v);
        return mp_error_set("the survivors list names other participants or keys than the shares "
                            "message %s masked with: refused",
                            org);
    }
    self = mp_secagg_member_index(v, org);
    if (self < 0 || !v->m[self].submitted) {
        mp_secagg_view_free(v);
        return mp_error_set("the survivors list says %s did not submit, but it did: refused", org);
    }
    if (sodium_memcmp(v->m[self].submission_hash, own_submission, MP_HASH_BYTES) != 0) {
        mp_secagg_view_free(v);
        return mp_error_set("the survivors list names a different submission of %s than the one "
                            "it sent: refused",
                            org);
    }
    return 0;
}

static cJSON *consistency_body(const mp_spec *spec, const char *org,
                               const unsigned char survivors_hash[MP_HASH_BYTES])
{
    cJSON *b = new_body(spec, "mijlpaal_consistency", 1);
    if (b == NULL)
        return NULL;
    if (!cJSON_AddStringToObject(b, "org", org) ||
        add_hex(b, "survivors_sha256", survivors_hash, MP_HASH_BYTES) != 0) {
        cJSON_Delete(b);
        mp_error_system("out of memory");
        return NULL;
    }
    return b;
}

int mp_secagg_consistency(cJSON **body, const mp_spec *spec, const char *org,
                          const unsigned char survivors_hash[MP_HASH_BYTES])
{
    return (*body = consistency_body(spec, org, survivors_hash)) != NULL ? 0 : -1;
}

int mp_secagg_consistency_check(const mp_envelope *env, const mp_spec *spec,
                                const mp_roster *roster, const mp_secagg_view *v,
                                const unsigned char survivors_hash[MP_HASH_BYTES], size_t *member)
{
    static const char *const fields[] = {"mijlpaal_consistency", "round_id", "round_sha256", "org",
                                         "survivors_sha256",     NULL};
    const mp_org *org;
    int k;
    if (check_header(env, "consistency", "mijlpaal_consistency", 1, fields, spec, roster, 0,
                     &org) != 0 ||
        survivors_hash_field(env->body, survivors_hash, "consistency") != 0)
        return -1;
    if ((k = mp_secagg_member_index(v, org->id)) < 0 || !v->m[k].submitted)
        return mp_error_set("consistency of %s: %s is not a survivor of round %s", org->id, org->id,
                            spec->round_id);
    *member = (size_t)k;
    return 0;
}

/* ---- a ledger that does not know the round ------------------------------------------------ */

static int list_has(const cJSON *arr, const char *org)
{
    const cJSON *it;
    cJSON_ArrayForEach (it, arr) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(it, "org");
        if (cJSON_IsString(o) && strcmp(o->valuestring, org) == 0)
            return 1;
    }
    return 0;
}

int mp_secagg_names_org(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                        const char *org, int *advertised, int *submitted)
{
    static const char *const shares_fields[] = {
        "mijlpaal_shares", "round_id", "round_sha256", "to", "shared", "boxes", NULL};
    static const char *const surv_fields[] = {
        "mijlpaal_survivors", "round_id", "round_sha256", "shared", "submitted", NULL};
    const cJSON *adv, *sub = NULL;
    int rc;
    if (strcmp(env->type, "keys") == 0)
        rc = check_header(env, "keys", "mijlpaal_keys", MP_SECAGG_KEYS_VERSION, keys_fields, spec,
                          roster, 1, NULL) ||
             mp_json_arr(env->body, "advertised", &adv);
    else if (strcmp(env->type, "shares") == 0)
        rc = check_header(env, "shares", "mijlpaal_shares", MP_SECAGG_SHARES_VERSION, shares_fields,
                          spec, roster, 1, NULL) ||
             mp_json_arr(env->body, "shared", &adv);
    else
        rc = check_header(env, "survivors", "mijlpaal_survivors", MP_SECAGG_SURVIVORS_VERSION,
                          surv_fields, spec, roster, 1, NULL) ||
             mp_json_arr(env->body, "shared", &adv) || mp_json_arr(env->body, "submitted", &sub);
    if (rc != 0)
        return -1;
    /* Whoever is in a shares message or a survivors list sent shares, so advertised before. */
    *advertised = list_has(adv, org);
    *submitted = sub != NULL && list_has(sub, org);
    return 0;
}

/* ---- phase 5: unmask --------------------------------------------------------------------- */

int mp_secagg_request_build(cJSON **body, const mp_spec *spec,
                            const unsigned char survivors_hash[MP_HASH_BYTES],
                            const mp_envelope *const *confirmations, size_t n)
{
    cJSON *b, *arr;
    if ((long long)n < spec->threshold)
        return mp_error_set("%zu confirmations of the survivors list, the threshold is %lld", n,
                            spec->threshold);
    if ((b = new_body(spec, "mijlpaal_unmask_request", 1)) == NULL)
        return -1;
    if (add_hex(b, "survivors_sha256", survivors_hash, MP_HASH_BYTES) != 0 ||
        (arr = cJSON_AddArrayToObject(b, "confirmations")) == NULL) {
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const char *org;
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            mp_json_str(confirmations[i]->body, "org", &org) != 0 ||
            !cJSON_AddStringToObject(o, "org", org) ||
            add_b64(o, "sig", confirmations[i]->sig, MP_SIG_BYTES) != 0) {
            cJSON_Delete(b);
            return mp_error_system("out of memory");
        }
    }
    *body = b;
    return 0;
}

int mp_secagg_request_accept(const mp_envelope *req, const mp_spec *spec, const mp_roster *roster,
                             const mp_secagg_view *v,
                             const unsigned char survivors_hash[MP_HASH_BYTES])
{
    static const char *const fields[] = {"mijlpaal_unmask_request", "round_id",      "round_sha256",
                                         "survivors_sha256",        "confirmations", NULL};
    static const char *const conf_fields[] = {"org", "sig", NULL};
    const cJSON *arr, *it;
    size_t n = 0;
    int last = -1;
    if (check_header(req, "unmask-request", "mijlpaal_unmask_request", 1, fields, spec, roster, 1,
                     NULL) != 0)
        return -1;
    if (survivors_hash_field(req->body, survivors_hash, "the unmask request") != 0) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s", mp_error_get());
        return mp_error_set("refused: %s; this organisation confirmed another list and reveals "
                            "shares for that one only",
                            reason);
    }
    if (mp_json_arr(req->body, "confirmations", &arr) != 0)
        return mp_error_prefix("unmask request: ");
    cJSON_ArrayForEach (it, arr) {
        const char *org, *sig64;
        unsigned char sig[MP_SIG_BYTES];
        int k;
        if (mp_json_only(it, "confirmation", conf_fields) != 0 || mp_json_str(it, "org", &org) ||
            mp_json_str(it, "sig", &sig64) != 0 ||
            mp_base64_decode_exact(sig, sizeof sig, sig64) != 0)
            return mp_error_prefix("unmask request, confirmation %zu: ", n + 1);
        if ((k = mp_secagg_member_index(v, org)) < 0 || !v->m[k].submitted)
            return mp_error_set("unmask request: %.40s confirmed but is not a survivor", org);
        if (k <= last)
            return mp_error_set("unmask request: confirmation of %s out of order or twice", org);
        cJSON *b = consistency_body(spec, v->m[k].org, survivors_hash);
        int bad = b == NULL || mp_envelope_verify_detached(sig, "consistency", b,
                                                           &mp_roster_org(roster, org)->key);
        cJSON_Delete(b);
        if (bad)
            return mp_error_set("unmask request: the confirmation of %s does not verify: %s "
                                "did not confirm this list",
                                org, org);
        last = k;
        n++;
    }
    if ((long long)n < spec->threshold)
        return mp_error_set("unmask request has %zu confirmations of the survivors list, the "
                            "threshold is %lld: refused",
                            n, spec->threshold);
    return 0;
}

int mp_secagg_unmask(cJSON **body, const mp_spec *spec, const mp_secagg_view *v,
                     const mp_envelope *shares, const mp_keypair *kp, const mp_secagg_secrets *s,
                     const unsigned char survivors_hash[MP_HASH_BYTES])
{
    const cJSON *boxes;
    unsigned char *plain = NULL;
    cJSON *b = NULL, *arr;
    int self = mp_secagg_member_index(v, kp->pub.org), rc = -1;
    if (self < 0 || !v->m[self].submitted)
        return mp_error_set("%s is not a survivor of round %s: it has nothing to reveal",
                            kp->pub.org, spec->round_id);
    if (mp_json_arr(shares->body, "boxes", &boxes) != 0 ||
        (size_t)cJSON_GetArraySize(boxes) != v->n1)
        return mp_error_set("the stored shares message does not match the survivors list");
    if ((plain = sodium_malloc(MP_SECAGG_PLAIN_BYTES)) == NULL)
        return mp_error_system("cannot allocate secure memory");
    if ((b = new_body(spec, "mijlpaal_unmask", 1)) == NULL ||
        !cJSON_AddStringToObject(b, "org", kp->pub.org) ||
        add_hex(b, "survivors_sha256", survivors_hash, MP_HASH_BYTES) != 0 ||
        (arr = cJSON_AddArrayToObject(b, "shares")) == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    for (size_t j = 0; j < v->n1; j++) {
        const cJSON *box = cJSON_GetArrayItem(boxes, (int)j);
        if (!cJSON_IsString(box) || box_open(plain, box->valuestring, spec, &v->m[j],
                                             v->m[self].pos, kp->pub.org, s->c_sk) != 0)
            goto out;
        /* Exactly one kind per member: the self-mask share of a survivor, the mask-key share
         * of one that dropped out. */
        const unsigned char *share = plain + MP_HASH_BYTES + 4 + (v->m[j].submitted ? 0 : SHARE);
        if (add_b64(arr, NULL, share, SHARE) != 0)
            goto out;
    }
    *body = b;
    b = NULL;
    rc = 0;
out:
    cJSON_Delete(b);
    sodium_free(plain);
    return rc;
}

int mp_secagg_unmask_check(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                           const mp_secagg_view *v,
                           const unsigned char survivors_hash[MP_HASH_BYTES], mp_secagg_reveal *r)
{
    static const char *const fields[] = {
        "mijlpaal_unmask", "round_id", "round_sha256", "org", "survivors_sha256", "shares", NULL};
    const mp_org *org;
    const cJSON *arr, *it;
    int k;
    size_t j = 0;
    memset(r, 0, sizeof *r);
    if (check_header(env, "unmask", "mijlpaal_unmask", 1, fields, spec, roster, 0, &org) != 0 ||
        survivors_hash_field(env->body, survivors_hash, "unmask") != 0)
        return -1;
    if ((k = mp_secagg_member_index(v, org->id)) < 0 || !v->m[k].submitted)
        return mp_error_set("unmask of %s: %s is not a survivor", org->id, org->id);
    if (mp_json_arr(env->body, "shares", &arr) != 0)
        return mp_error_prefix("unmask of %s: ", org->id);
    if ((size_t)cJSON_GetArraySize(arr) != v->n1)
        return mp_error_set("unmask of %s has %d shares for %zu participants that sent shares",
                            org->id, cJSON_GetArraySize(arr), v->n1);
    if ((r->shares = sodium_malloc(v->n1 * SHARE + 1)) == NULL)
        return mp_error_system("cannot allocate secure memory");
    cJSON_ArrayForEach (it, arr) {
        unsigned char *sh = r->shares + j * SHARE;
        unsigned t, x;
        if (!cJSON_IsString(it) || mp_base64_decode_exact(sh, SHARE, it->valuestring) != 0 ||
            mp_shamir_share_info(sh, &t, &x) != 0) {
            mp_error_set("unmask of %s: share %zu (for %s) is malformed", org->id, j + 1,
                         v->m[j].org);
            goto fail;
        }
        if ((long long)t != spec->threshold || x != v->m[k].pos + 1) {
            mp_error_set("unmask of %s: share %zu has threshold %u and index %u, expected %lld "
                         "and %u",
                         org->id, j + 1, t, x, spec->threshold, v->m[k].pos + 1);
            goto fail;
        }
        j++;
    }
    r->member = (size_t)k;
    return 0;
fail:
    mp_secagg_reveal_free(r);
    return -1;
}

/* ---- phase 6: open the sum --------------------------------------------------------------- */

/* The masks to remove: for survivor i its self mask PRG(b_i) (seed known), for each pair
 * (dropped j, survivor i) the pairwise mask, whose seed a worker derives from s_sk_j. */
typedef struct open_job {
    size_t d;
    const mp_spec *spec;
    const mp_secagg_view *v;
    const size_t *surv, *drop; /* member indices */
    size_t nsurv, ndrop;
    const unsigned char *b;    /* nsurv seeds (b of survivor k at k * 32) */
    const unsigned char *s_sk; /* ndrop keys */
    unsigned nthreads;
} open_job;

typedef struct open_worker {
    const open_job *job;
    unsigned id;
    uint64_t *acc; /* the masks to subtract, summed */
    int failed;
    char reason[160];
} open_worker;

static void *open_work(void *arg)
{
    open_worker *w = arg;
    const open_job *j = w->job;
    size_t ntasks = j->nsurv + j->ndrop * j->nsurv;
    unsigned char seed[32];
    for (size_t task = w->id; task < ntasks; task += j->nthreads) {
        if (task < j->nsurv) {
            mp_mask_prg_apply(w->acc, j->d, j->b + task * 32, +1);
            continue;
        }
        size_t pair = task - j->nsurv;
        const mp_secagg_member *dj = &j->v->m[j->drop[pair / j->nsurv]];
        const mp_secagg_member *si = &j->v->m[j->surv[pair % j->nsurv]];
        if (mp_secagg_pair_seed(seed, j->s_sk + (pair / j->nsurv) * 32, dj, si,
                                j->spec->env->hash) != 0) {
            w->failed = 1;
            snprintf(w->reason, sizeof w->reason, "%s", mp_error_get());
            break;
        }
        /* Survivor i added +PRG(s_ij) when j comes after it, -PRG(s_ij) when before. */
        mp_mask_prg_apply(w->acc, j->d, seed, dj->pos > si->pos ? +1 : -1);
    }
    sodium_memzero(seed, sizeof seed);
    return NULL;
}

int mp_secagg_open(uint64_t *sum, size_t d, const mp_spec *spec, const mp_secagg_view *v,
                   const mp_secagg_reveal *r, size_t nr, unsigned nthreads)
{
    unsigned t = (unsigned)spec->threshold;
    unsigned xs[MP_MAX_ORGS];
    const unsigned char **pick = NULL;
    unsigned char *weights = NULL, *secrets_buf = NULL, pk[PK];
    size_t *surv = NULL, *drop = NULL, nsurv = 0, ndrop = 0;
    open_worker *workers = NULL;
    pthread_t *threads = NULL;
    int rc = -1;

    if ((long long)nr < spec->threshold)
        return mp_error_set("%zu unmask messages, the threshold is %lld", nr, spec->threshold);
    for (size_t i = 0; i < t; i++) {
        if (i > 0 && r[i].member <= r[i - 1].member)
            return mp_error_set("unmask messages out of order or repeated");
        xs[i] = v->m[r[i].member].pos + 1;
    }
    if (nthreads == 0) {
        /* MIJLPAAL_THREADS caps the workers (benchmarks measure on one thread, F2). */
        const char *env = getenv("MIJLPAAL_THREADS");
        long cpus = env != NULL && atol(env) > 0 ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = cpus < 1 ? 1 : cpus > 8 ? 8 : (unsigned)cpus;
    }
    weights = malloc((size_t)t * 32);
    pick = malloc((size_t)t * sizeof *pick);
    surv = malloc(v->n1 * sizeof *surv);
    drop = malloc(v->n1 * sizeof *drop);
    secrets_buf = sodium_malloc(v->n1 * 32 + 1);
    workers = calloc(nthreads, sizeof *workers);
    threads = calloc(nthreads, sizeof *threads);
    if (weights == NULL || pick == NULL || surv == NULL || drop == NULL || secrets_buf == NULL ||
        workers == NULL || threads == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    if (mp_shamir_weights(xs, t, weights) != 0)
        goto out;
    for (size_t j = 0; j < v->n1; j++)
        if (v->m[j].submitted)
            surv[nsurv++] = j;
        else
            drop[ndrop++] = j;
    /* Survivors' self-mask seeds first, then the dropped members' mask keys. */
    for (size_t k = 0; k < v->n1; k++) {
        size_t j = k < nsurv ? surv[k] : drop[k - nsurv];
        unsigned char *out = secrets_buf + k * 32;
        for (unsigned i = 0; i < t; i++)
            pick[i] = r[i].shares + j * SHARE;
        if (mp_shamir_combine_weighted(pick, t, xs, weights, out) != 0) {
            mp_error_prefix("cannot rebuild the %s of %s: ",
                            v->m[j].submitted ? "self-mask seed" : "mask key", v->m[j].org);
            goto out;
        }
        if (!v->m[j].submitted) {
            crypto_scalarmult_base(pk, out);
            if (sodium_memcmp(pk, v->m[j].mask_pk, PK) != 0) {
                mp_error_set("the rebuilt mask key of %s does not match the key it advertised",
                             v->m[j].org);
                goto out;
            }
        }
    }
    open_job job = {
        d, spec, v, surv, drop, nsurv, ndrop, secrets_buf, secrets_buf + nsurv * 32, nthreads};
    unsigned started = 0;
    for (unsigned w = 0; w < nthreads; w++) {
        workers[w].job = &job;
        workers[w].id = w;
        if ((workers[w].acc = calloc(d ? d : 1, sizeof(uint64_t))) == NULL) {
            mp_error_system("out of memory");
            break;
        }
    }
    for (unsigned w = 0; w < nthreads && workers[nthreads - 1].acc != NULL; w++) {
        if (pthread_create(&threads[w], NULL, open_work, &workers[w]) != 0) {
            mp_error_set("cannot start a worker thread");
            break;
        }
        started++;
    }
    for (unsigned w = 0; w < started; w++)
        pthread_join(threads[w], NULL);
    if (started == nthreads) {
        rc = 0;
        for (unsigned w = 0; w < nthreads; w++)
            if (workers[w].failed) {
                mp_error_set("%s", workers[w].reason);
                rc = -1;
            }
        if (rc == 0)
            for (unsigned w = 0; w < nthreads; w++)
                for (size_t i = 0; i < d; i++)
                    sum[i] -= workers[w].acc[i];
    }
out:
    for (unsigned w = 0; workers != NULL && w < nthreads; w++)
        free(workers[w].acc);
    free(workers);
    free(threads);
    free(weights);
    free(pick);
    free(surv);
    free(drop);
    if (secrets_buf != NULL)
        sodium_free(secrets_buf);
    return rc;
}
