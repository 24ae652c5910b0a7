/*
 * test_vectors.c - the test vectors published in docs/protocol.md, asserted byte for byte, so
 * that the document and the code cannot drift apart and a second implementation has a target.
 *
 * Keys come from fixed seeds: org-a's Ed25519 seed is bytes 0x00..0x1f, its X25519 secret
 * bytes 0x40..0x5f, its PRF key 0x80..0x9f; org-b's are the same plus 0x20.
 */
#include "testutil.h"

#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "mask.h"
#include "pseudonym.h"
#include "secagg.h"

static mp_keypair *kp_from_seed(const char *org, unsigned char base)
{
    mp_keypair *kp = sodium_malloc(sizeof *kp);
    unsigned char seed[32];
    assert_non_null(kp);
    memset(kp, 0, sizeof *kp);
    for (int i = 0; i < 32; i++)
        seed[i] = (unsigned char)(base + i);
    crypto_sign_seed_keypair(kp->pub.sign_pk, kp->sign_sk, seed);
    for (int i = 0; i < 32; i++)
        seed[i] = (unsigned char)(base + 0x40 + i);
    crypto_box_seed_keypair(kp->pub.kx_pk, kp->kx_sk, seed);
    for (int i = 0; i < 32; i++)
        kp->prf_key[i] = (unsigned char)(base + 0x80 + i);
    strcpy(kp->pub.org, org);
    mp_key_id(kp->pub.key_id, kp->pub.sign_pk, kp->pub.kx_pk);
    return kp;
}

static void hex_is(const unsigned char *bytes, size_t n, const char *want)
{
    char hex[256];
    mp_hex_encode(hex, bytes, n);
    assert_string_equal(hex, want);
}

static void test_canonical_json(void **state)
{
    const char *in = "{ \"b\": 1, \"a\": [true, null, \"x\\n\\u0001\xc3\xa9\"] }";
    cJSON *j;
    char *out;
    size_t len;
    (void)state;
    assert_int_equal(mp_canon_parse(&j, in, strlen(in)), 0);
    assert_int_equal(mp_canon_serialise(&out, &len, j), 0);
    assert_string_equal(out, "{\"a\":[true,null,\"x\\n\\u0001\xc3\xa9\"],\"b\":1}");
    free(out);
    cJSON_Delete(j);
}

static void test_keys_envelope_mask_pseudonym(void **state)
{
    mp_keypair *a = kp_from_seed("org-a", 0), *b = kp_from_seed("org-b", 0x20);
    cJSON *body = cJSON_CreateObject();
    char *env, h[MP_HASH_HEX_BYTES];
    size_t len;
    unsigned char rh[32], seed[32], seed2[32], p[16];
    uint64_t v[3] = {0, 0, 0};
    (void)state;

    hex_is(a->pub.sign_pk, 32, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
    hex_is(a->pub.kx_pk, 32, "f14b5173130a1b80687f273d49e8f4740a793a949b83b105837f2a61e8fee14f");
    hex_is(a->pub.key_id, 8, "bb759bc62efec2dd");
    hex_is(b->pub.kx_pk, 32, "e240f142b821efa128c8a1b1ee98c5c2d0d6186429edeedd3cccde89f7bf754a");

    cJSON_AddNumberToObject(body, "x", 1);
    assert_int_equal(mp_envelope_sign(&env, &len, "test", body, a), 0);
    assert_string_equal(env,
                        "{\"body\":{\"x\":1},\"mijlpaal\":1,\"sig\":\"v8hx0sBkEz3phWRKKUR7uZkXk"
                        "cEtWvdAiGFplOMysyA7CXTgHfx25h/wjq0Nj62j9SKywgGmeG8zFCZHphi6Dw==\","
                        "\"signer\":\"bb759bc62efec2dd\",\"type\":\"test\"}");
    mp_hash_hex(h, env, len);
    assert_string_equal(h, "d133053887a3c60cfe31f713e305704412f2ad457f6ee7b18c001ab63d9c406f");

    mp_hash(rh, "round", 5);
    assert_int_equal(mp_mask_pair_seed(seed, a, &b->pub, rh), 0);
    assert_int_equal(mp_mask_pair_seed(seed2, b, &a->pub, rh), 0);
    hex_is(seed, 32, "ce6b54759b475686ea17464c6182db91e86652098b3d816b6cd5590df12aa79d");
    assert_memory_equal(seed, seed2, 32);
    mp_mask_prg_apply(v, 3, seed, +1);
    assert_true(v[0] == UINT64_C(0xf5331127cfeef991));
    assert_true(v[1] == UINT64_C(0x2410a298883ff588));
    assert_true(v[2] == UINT64_C(0xb7bb0e86d6132ba9));

    /* pseudonym.h; the value was checked against an independent SipHash-2-4-128 in Python
     * (hashlib.blake2b for the key). */
    mp_pseudonym_ctx pc;
    mp_pseudonym_init(&pc, a->prf_key);
    mp_pseudonym(&pc, "111222333", p);
    mp_pseudonym_wipe(&pc);
    hex_is(p, 16, "a6a8b9db66623dd8c34a5592e8673a14");

    free(env);
    cJSON_Delete(body);
    mp_keys_free(a);
    mp_keys_free(b);
}

/* bonawitz-v1 (docs/protocol.md section 10): per-round secrets given as test values (in use they
 * are drawn from the OS), the ledger key and the sealed form of the secrets, a box nonce and a
 * pair seed, for round_hash = SHA-256("round"), org-a at position 0 and org-b at position 1. */
static void fill_bytes(unsigned char *p, size_t n, unsigned char first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(first + i);
}

static void test_bonawitz_vectors(void **state)
{
    (void)state;
    mp_keypair *a = kp_from_seed("org-a", 0x00), *b = kp_from_seed("org-b", 0x20);
    unsigned char rh[MP_HASH_BYTES], nonce[24], seed[32], key[32];
    unsigned char plain[MP_SECAGG_SECRETS_BYTES], sealed[MP_SECAGG_SEALED_BYTES], ad[37];
    mp_secagg_secrets *sa, *sb, *back;
    mp_secagg_member ma = {0}, mb = {0};
    uint64_t w[3] = {0, 0, 0};
    mp_hash(rh, "round", 5);
    assert_int_equal(mp_secagg_secrets_new(&sa), 0);
    assert_int_equal(mp_secagg_secrets_new(&sb), 0);
    fill_bytes(sa->b, 32, 0x00); /* org-a: b = 00 01 .. 1f, s_sk = 20 .. 3f, ... */
    fill_bytes(sa->s_sk, 32, 0x20);
    fill_bytes(sa->seed, 32, 0x40);
    fill_bytes(sa->noise, 32, 0x60);
    fill_bytes(sa->c_sk, 32, 0xa0); /* org-a's box secret: a0 .. bf */
    fill_bytes(sb->s_sk, 32, 0x80); /* org-b: s_sk = 80 .. 9f */
    crypto_scalarmult_base(ma.mask_pk, sa->s_sk);
    hex_is(ma.mask_pk, 32, "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254");
    crypto_scalarmult_base(ma.box_pk, sa->c_sk);
    hex_is(ma.box_pk, 32, "605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c");
    crypto_scalarmult_base(mb.mask_pk, sb->s_sk);
    hex_is(mb.mask_pk, 32, "493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d");
    mp_secagg_box_nonce(nonce, rh, 0, 1);
    hex_is(nonce, 24, "a484589d45abfbd35ec82d1571790777e8b57fa69f38d411");
    ma.pos = 0;
    mb.pos = 1;
    ma.org = "org-a";
    mb.org = "org-b";
    assert_int_equal(mp_secagg_pair_seed(seed, sb->s_sk, &mb, &ma, rh), 0); /* from b's side */
    hex_is(seed, 32, "821a1739a9e97ac11307bc4f554e9d7dab3a864ae73e9c0c25f5de9e0ebb80c5");
    unsigned char seed2[32];
    assert_int_equal(mp_secagg_pair_seed(seed2, sa->s_sk, &ma, &mb, rh), 0); /* and from a's */
    assert_memory_equal(seed, seed2, 32);
    mp_mask_prg_apply(w, 3, sa->b, +1);
    char words[64];
    snprintf(words, sizeof words, "%016llx %016llx %016llx", (unsigned long long)w[0],
             (unsigned long long)w[1], (unsigned long long)w[2]);
    assert_string_equal(words, "6a19c5d97d2bfd39 494adcb87703bd8d cc6adebc6fd8358a");

    /* The ledger key, and org-a's secrets sealed by hand with nonce 00 .. 17: what
     * mp_secagg_secrets_open must open. */
    mp_secagg_ledger_key(key, a);
    hex_is(key, 32, "d6505a8c379dc8a9b9a586d3afb4393e7c8f9e3f5ea196c4e1ef06c7dfc9b2cf");
    memcpy(plain, sa->b, 32);
    memcpy(plain + 32, sa->s_sk, 32);
    memcpy(plain + 64, sa->seed, 32);
    memcpy(plain + 96, sa->noise, 32);
    memcpy(plain + 128, sa->c_sk, 32);
    memcpy(ad, rh, 32);
    memcpy(ad + 32, "org-a", 5);
    sealed[0] = 1;
    fill_bytes(sealed + 1, 24, 0x00);
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + 25, NULL, plain, sizeof plain, ad,
                                               sizeof ad, NULL, sealed + 1, key);
    hex_is(sealed + 25 + sizeof plain, 16, "4491103547ff88ef39e0bd9eec98803e");
    assert_int_equal(mp_secagg_secrets_open(&back, sealed, sizeof sealed, a, rh, "org-a"), 0);
    assert_memory_equal(back, sa, sizeof *sa);
    mp_secagg_secrets_free(back);
    mp_secagg_secrets_free(sa);
    mp_secagg_secrets_free(sb);
    mp_keys_free(a);
    mp_keys_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_json),
        cmocka_unit_test(test_keys_envelope_mask_pseudonym),
        cmocka_unit_test(test_bonawitz_vectors),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
