/*
 * test_trust.c - what keeps the coordinator from being the authority: certificate bindings
 * under the region's CA (protocol/crypto/cert.c), the co-signed roster (protocol/round/roster.c),
 * each organisation's own policy (protocol/round/policy.c) and the ledger's records behind it
 * (protocol/round/ledger.c, schema version 4).
 *
 * Certificates come from tools/test-ca, run once for the whole program on a temporary
 * directory; the few certificates test-ca cannot make (no or a short serialNumber, no
 * digitalSignature in keyUsage) are made with the openssl CLI directly, and their bindings
 * signed here with OpenSSL, following the statement cert.h defines.
 */
#include "testutil.h"
#include "testdb.h"
#include "testworld.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <time.h>

#include "canon.h"
#include "cert.h"
#include "encoding.h"
#include "envelope.h"
#include "ledger.h"
#include "policy.h"
#include "roster.h"
#include "store.h"

#define TEST_CA "../../tools/test-ca"
#define DAY 86400

/* The organisations' OINs, in org_ids order. */
static const char *const oins[NORGS] = {"00000001001299992000", "00000001001299992001",
                                        "00000001001299992002", "00000001001299992003",
                                        "00000001001299992004", "00000001001299992005"};

/* Everything made once for the program: two CAs, certificates, keys, a draft roster. */
static struct world {
    char *dir, *ca_pem, *ca2_pem, *crl_pem;
    mp_keypair *coord, *other_coord, *outsider;
    mp_keypair *orgs[NORGS];
    mp_pubkey pubs[NORGS];
    mp_ca *ca;
    cJSON *bindings[NORGS];  /* bindings[i] for pubs[i] by org_ids[i]'s certificate */
    cJSON *draft_body;       /* bound draft body, unsigned */
    char *draft_path;        /* it, signed by coord */
    mp_roster *draft;        /* loaded back */
    mp_envelope *cos[NORGS]; /* each member's co-signature of the draft */
    int64_t now;
} W;

/* ---- helpers ----------------------------------------------------------------------------- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static char *wpath(const char *name)
{
    return tu_path(W.dir, name);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* rc is -1 and the reason mentions needle (a macro, so that a failure names the caller's line). */
static void expect_error_at(int rc, const char *needle, int line)
{
    if (rc != -1)
        fail_msg("line %d: returned %d, expected a refusal mentioning \"%s\"", line, rc, needle);
    if (strstr(mp_error_get(), needle) == NULL)
        fail_msg("line %d: error \"%s\" does not mention \"%s\"", line, mp_error_get(), needle);
}
#define expect_error(rc, needle) expect_error_at((rc), (needle), __LINE__)

/* The binding of `key` by the certificate DIR/NAME.pem and its key. */
static cJSON *bind_with(const char *name, const mp_pubkey *key, char oin[MP_OIN_LEN + 1])
{
    char cert[512], k[512];
    cJSON *b = NULL;
    snprintf(cert, sizeof cert, "%s/%s.pem", W.dir, name);
    snprintf(k, sizeof k, "%s/%s.key", W.dir, name);
    if (mp_binding_sign(&b, oin, key, cert, NULL, k, NULL) != 0)
        fail_msg("binding with %s: %s", name, mp_error_get());
    return b;
}

/* A binding signed here, outside cert.c, for certificates mp_binding_sign refuses to bind:
 * the certificate key's ECDSA/SHA-256 signature over the statement of cert.h. */
static cJSON *forge_binding(const char *name, const mp_pubkey *key, const char *oin)
{
    char cert[512], k[512];
    snprintf(cert, sizeof cert, "%s/%s.pem", W.dir, name);
    snprintf(k, sizeof k, "%s/%s.key", W.dir, name);
    char *pem = slurp(cert);
    FILE *f = fopen(k, "r");
    assert_non_null(f);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pk);
    cJSON *st = cJSON_CreateObject(), *pkj;
    cJSON_AddNumberToObject(st, "mijlpaal_key_binding", 1);
    assert_int_equal(mp_pubkey_to_json(key, &pkj), 0);
    cJSON_AddItemToObject(st, "key", pkj);
    cJSON_AddStringToObject(st, "oin", oin);
    unsigned char *msg, sig[512];
    size_t mlen, siglen = sizeof sig;
    assert_int_equal(mp_envelope_message(&msg, &mlen, "key-binding", st), 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &siglen, msg, mlen), 1);
    char *b64 = mp_base64_encode(sig, siglen);
    cJSON *b = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(b, "certificates");
    cJSON_AddItemToArray(arr, cJSON_CreateString(pem));
    cJSON_AddStringToObject(b, "cert_sig", b64);
    free(b64);
    free(msg);
    free(pem);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    cJSON_Delete(st);
    return b;
}

/* A copy of binding with its certificates replaced by the one PEM file `pem_path`. */
static cJSON *with_cert(const cJSON *binding, const char *pem_path)
{
    cJSON *b = cJSON_Duplicate(binding, 1);
    char *pem = slurp(pem_path);
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateString(pem));
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(b, "certificates", arr));
    free(pem);
    return b;
}

/* Sign body as type with kp and parse it back (the way a received file is read). */
static mp_envelope *signed_env(const char *type, const cJSON *body, const mp_keypair *kp)
{
    char *text;
    size_t len;
    mp_envelope *e;
    assert_int_equal(mp_envelope_sign(&text, &len, type, body, kp), 0);
    assert_int_equal(mp_envelope_parse(&e, text, len, type), 0);
    free(text);
    return e;
}

/* kp's co-signature of draft r in the name of org. */
static mp_envelope *cosign(const mp_roster *r, const char *org, const mp_keypair *kp)
{
    cJSON *b;
    assert_int_equal(mp_roster_cosign_body(&b, r, org), 0);
    mp_envelope *e = signed_env("roster-cosign", b, kp);
    cJSON_Delete(b);
    return e;
}

/* Load a roster body signed by kp as `type` from a file; returns mp_roster_load's result. */
static int load_signed(mp_roster **out, const char *name, const char *type, const cJSON *body,
                       const mp_keypair *kp)
{
    char *path = tw_write_signed(W.dir, name, type, body, kp);
    int rc = mp_roster_load(out, path, &W.coord->pub);
    free(path);
    return rc;
}

/* The agreed body from the program's draft and co-signatures (all six, given order). */
static cJSON *agreed_body(void)
{
    cJSON *b;
    if (mp_roster_agree(&b, W.draft, W.cos, NORGS) != 0)
        fail_msg("agree: %s", mp_error_get());
    return b;
}

static void free_cos(mp_envelope **c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mp_envelope_free(c[i]);
}

/* ---- program setup ----------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    W.dir = tu_mkdtemp();
    W.ca_pem = tu_path(W.dir, "ca.pem");
    W.ca2_pem = tu_path(W.dir, "ca2/ca.pem");
    W.crl_pem = tu_path(W.dir, "crl.pem");
    sh(TEST_CA " init '%s'", W.dir);
    sh(TEST_CA " init '%s/ca2'", W.dir);
    for (int i = 0; i < NORGS; i++)
        sh(TEST_CA " issue '%s' %s %s 'Org %s'", W.dir, org_ids[i], oins[i], org_ids[i]);
    /* utrecht's OIN, certified by another CA. */
    sh(TEST_CA " issue '%s/ca2' utrecht %s 'Org utrecht'", W.dir, oins[0]);
    sh("cp '%s/ca2/utrecht.pem' '%s/ca2-utrecht.pem' && cp '%s/ca2/utrecht.key' "
       "'%s/ca2-utrecht.key'",
       W.dir, W.dir, W.dir, W.dir);
    sh("NOT_BEFORE=20200101000000Z NOT_AFTER=20250101000000Z " TEST_CA
       " issue '%s' expired %s 'Org utrecht'",
       W.dir, oins[0]);
    sh("NOT_BEFORE=$(date -u -d '+1 year' +%%Y%%m%%d%%H%%M%%SZ) "
       "NOT_AFTER=$(date -u -d '+3 years' +%%Y%%m%%d%%H%%M%%SZ) " TEST_CA
       " issue '%s' notyet %s 'Org utrecht'",
       W.dir, oins[0]);
    sh(TEST_CA " issue '%s' revoked %s 'Org utrecht'", W.dir, oins[0]);
    sh(TEST_CA " revoke '%s' revoked", W.dir);
    /* Leaves test-ca will not make, signed by the same CA with the openssl CLI. */
    static const struct {
        const char *name, *subj, *ext;
    } odd[] = {
        {"noserial", "/CN=noserial/O=Org utrecht", "keyUsage=critical,digitalSignature"},
        {"shortserial", "/CN=short/O=Org utrecht/serialNumber=1234567890",
         "keyUsage=critical,digitalSignature"},
        {"letterserial", "/CN=letters/O=Org utrecht/serialNumber=0000000100129999200X",
         "keyUsage=critical,digitalSignature"},
        {"longserial", "/CN=long/O=Org utrecht/serialNumber=000000010012999920000",
         "keyUsage=critical,digitalSignature"},
        {"nodigsig", "/CN=nodigsig/O=Org utrecht/serialNumber=00000001001299992000",
         "keyUsage=critical,keyEncipherment"},
    };
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        sh("cd '%s' && printf '%%s\\n' 'basicConstraints=critical,CA:FALSE' '%s' >%s.ext && "
           "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
           "-out %s.csr -subj '%s' 2>/dev/null && openssl x509 -req -in %s.csr -CA ca.pem "
           "-CAkey ca.key -set_serial %zu -days 365 -extfile %s.ext -out %s.pem 2>/dev/null",
           W.dir, odd[i].ext, odd[i].name, odd[i].name, odd[i].name, odd[i].subj, odd[i].name,
           900 + i, odd[i].name, odd[i].name);

    /* An intermediate CA under the region's CA, a leaf for fermwerk's OIN under it, and a
     * "certificate" for fermwerk's OIN issued by utrecht's leaf key (CA:FALSE). */
    sh("cd '%s' && printf '%%s\\n' 'basicConstraints=critical,CA:TRUE' "
       "'keyUsage=critical,keyCertSign,cRLSign' >inter.ext && openssl req -new -newkey ec "
       "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr "
       "-subj '/CN=intermediate' 2>/dev/null && openssl x509 -req -in inter.csr -CA ca.pem "
       "-CAkey ca.key -set_serial 950 -days 365 -extfile inter.ext -out inter.pem 2>/dev/null",
       W.dir);
    sh("cd '%s' && printf '%%s\\n' 'basicConstraints=critical,CA:FALSE' "
       "'keyUsage=critical,digitalSignature' >viainter.ext && openssl req -new -newkey ec "
       "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout viainter.key -out viainter.csr "
       "-subj '/CN=fermwerk/O=Org fermwerk/serialNumber=%s' 2>/dev/null && openssl x509 -req "
       "-in viainter.csr -CA inter.pem -CAkey inter.key -set_serial 951 -days 365 "
       "-extfile viainter.ext -out viainter.pem 2>/dev/null",
       W.dir, oins[3]);
    sh("cd '%s' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
       "byleaf.key -out byleaf.csr -subj '/CN=fermwerk/O=Org fermwerk/serialNumber=%s' "
       "2>/dev/null && openssl x509 -req -in byleaf.csr -CA utrecht.pem -CAkey utrecht.key "
       "-set_serial 952 -days 365 -extfile viainter.ext -out byleaf.pem 2>/dev/null",
       W.dir, oins[3]);
    /* RSA and Ed25519 certificate keys (the statement is signed with SHA-256, resp. pure
     * Ed25519), and utrecht's key encrypted under a passphrase. */
    static const struct {
        const char *name, *newkey, *oin;
    } algs[] = {{"rsa", "-newkey rsa:2048", "00000001001299992004"},
                {"ed", "-newkey ed25519", "00000001001299992005"}};
    for (size_t i = 0; i < sizeof algs / sizeof *algs; i++)
        sh("cd '%s' && openssl req -new %s -nodes -keyout %s.key -out %s.csr "
           "-subj '/CN=%s/O=Org %s/serialNumber=%s' 2>/dev/null && openssl x509 -req -in %s.csr "
           "-CA ca.pem -CAkey ca.key -set_serial %zu -days 365 -extfile viainter.ext -out %s.pem "
           "2>/dev/null",
           W.dir, algs[i].newkey, algs[i].name, algs[i].name, algs[i].name, algs[i].name,
           algs[i].oin, algs[i].name, 960 + i, algs[i].name);
    sh("cd '%s' && openssl pkcs8 -topk8 -v2 aes-256-cbc -in utrecht.key -out utrecht-enc.key "
       "-passout pass:geheim && printf 'geheim\\n' >pass.txt && printf 'fout\\n' >wrong.txt",
       W.dir);
    /* After every certificate was made (the openssl x509 ones start now). */
    W.now = (int64_t)time(NULL);
    tw_keys_generate(&W.coord, W.orgs, W.pubs);
    assert_int_equal(mp_keys_generate(&W.other_coord, "coordinator"), 0);
    assert_int_equal(mp_keys_generate(&W.outsider, "utrecht"), 0);
    if (mp_ca_load(&W.ca, W.ca_pem, NULL) != 0)
        fail_msg("ca: %s", mp_error_get());
    for (int i = 0; i < NORGS; i++) {
        char oin[MP_OIN_LEN + 1];
        W.bindings[i] = bind_with(org_ids[i], &W.pubs[i], oin);
        assert_string_equal(oin, oins[i]); /* taken from the certificate */
    }
    /* The bound draft, signed, loaded, co-signed by every member. */
    if (mp_roster_build(&W.draft_body, REGION, &W.coord->pub, W.pubs, NORGS) != 0)
        fail_msg("build: %s", mp_error_get());
    for (int i = 0; i < NORGS; i++)
        assert_int_equal(mp_roster_bind(W.draft_body, org_ids[i], oins[i], W.bindings[i]), 0);
    W.draft_path = tw_write_signed(W.dir, "draft.json", "roster", W.draft_body, W.coord);
    if (mp_roster_load(&W.draft, W.draft_path, &W.coord->pub) != 0)
        fail_msg("draft: %s", mp_error_get());
    for (int i = 0; i < NORGS; i++)
        W.cos[i] = cosign(W.draft, org_ids[i], W.orgs[i]);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free_cos(W.cos, NORGS);
    mp_roster_free(W.draft);
    cJSON_Delete(W.draft_body);
    for (int i = 0; i < NORGS; i++)
        cJSON_Delete(W.bindings[i]);
    mp_ca_free(W.ca);
    tw_keys_free(W.coord, W.orgs);
    mp_keys_free(W.other_coord);
    mp_keys_free(W.outsider);
    free(W.draft_path);
    free(W.ca_pem);
    free(W.ca2_pem);
    free(W.crl_pem);
    tu_rmdir(W.dir);
    return 0;
}

/* ---- cert -------------------------------------------------------------------------------- */

static void test_binding_verifies(void **state)
{
    (void)state;
    char org[MP_CERT_ORG_MAX];
    for (int i = 0; i < NORGS; i++) {
        memset(org, 0, sizeof org);
        if (mp_binding_verify(W.bindings[i], &W.pubs[i], oins[i], W.ca, W.now, org) != 0)
            fail_msg("%s: %s", org_ids[i], mp_error_get());
        char want[64];
        snprintf(want, sizeof want, "Org %s", org_ids[i]);
        assert_string_equal(org, want);
    }
    /* org_name may be NULL. */
    assert_int_equal(mp_binding_verify(W.bindings[0], &W.pubs[0], oins[0], W.ca, W.now, NULL), 0);
    /* The binding is exactly the documented object. */
    assert_int_equal(cJSON_GetArraySize(W.bindings[0]), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(W.bindings[0], "certificates")), 1);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(W.bindings[0], "cert_sig")));
}

static void test_binding_refuses_other_key_or_oin(void **state)
{
    (void)state;
    /* Key substitution: the coordinator puts its own key (named utrecht) under utrecht's
     * certificate binding. */
    expect_error(mp_binding_verify(W.bindings[0], &W.outsider->pub, oins[0], W.ca, W.now, NULL),
                 "did not sign this mijlpaal key");
    /* Another organisation's key under utrecht's binding. */
    mp_pubkey k = W.pubs[1];
    expect_error(mp_binding_verify(W.bindings[0], &k, oins[0], W.ca, W.now, NULL),
                 "did not sign this mijlpaal key");
    /* The same key with only the kx half swapped. */
    k = W.pubs[0];
    memcpy(k.kx_pk, W.pubs[1].kx_pk, sizeof k.kx_pk);
    expect_error(mp_binding_verify(W.bindings[0], &k, oins[0], W.ca, W.now, NULL),
                 "did not sign this mijlpaal key");
    /* The right key, another OIN. */
    expect_error(mp_binding_verify(W.bindings[0], &W.pubs[0], oins[1], W.ca, W.now, NULL),
                 "the roster says");
}

static void test_binding_refuses_other_ca(void **state)
{
    (void)state;
    char oin[MP_OIN_LEN + 1];
    cJSON *b = bind_with("ca2-utrecht", &W.pubs[0], oin);
    assert_string_equal(oin, oins[0]);
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL),
                 "not accepted by the region's CA");
    /* ... which it is under its own CA: the refusal is the trust file's. */
    mp_ca *ca2;
    assert_int_equal(mp_ca_load(&ca2, W.ca2_pem, NULL), 0);
    assert_int_equal(mp_binding_verify(b, &W.pubs[0], oins[0], ca2, W.now, NULL), 0);
    /* and the region's own certificates are not accepted under the other CA. */
    expect_error(mp_binding_verify(W.bindings[0], &W.pubs[0], oins[0], ca2, W.now, NULL),
                 "not accepted");
    /* A trust file with both CAs accepts both. */
    char *both = wpath("both.pem");
    sh("cat '%s' '%s' >'%s'", W.ca_pem, W.ca2_pem, both);
    mp_ca *ca12;
    assert_int_equal(mp_ca_load(&ca12, both, NULL), 0);
    assert_int_equal(mp_binding_verify(b, &W.pubs[0], oins[0], ca12, W.now, NULL), 0);
    assert_int_equal(mp_binding_verify(W.bindings[0], &W.pubs[0], oins[0], ca12, W.now, NULL), 0);
    /* The roster cannot bring its own CA: a chain with ca2's certificate after the leaf is
     * still refused by the region's trust file. */
    cJSON *chain = cJSON_Duplicate(b, 1);
    char *ca2text = slurp(W.ca2_pem);
    cJSON_AddItemToArray(cJSON_GetObjectItem(chain, "certificates"), cJSON_CreateString(ca2text));
    expect_error(mp_binding_verify(chain, &W.pubs[0], oins[0], W.ca, W.now, NULL), "not accepted");
    free(ca2text);
    cJSON_Delete(chain);
    mp_ca_free(ca12);
    mp_ca_free(ca2);
    free(both);
    cJSON_Delete(b);
}

static void test_binding_chain(void **state)
{
    (void)state;
    char oin[MP_OIN_LEN + 1];
    cJSON *b = NULL;
    char *leaf = wpath("viainter.pem"), *inter = wpath("inter.pem"), *key = wpath("viainter.key");
    /* The chain file's intermediates travel in the binding after the leaf. */
    if (mp_binding_sign(&b, oin, &W.pubs[3], leaf, inter, key, NULL) != 0)
        fail_msg("sign with chain: %s", mp_error_get());
    assert_string_equal(oin, oins[3]);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "certificates")), 2);
    assert_int_equal(mp_binding_verify(b, &W.pubs[3], oins[3], W.ca, W.now, NULL), 0);
    /* Without the intermediate the leaf does not chain to the trust file. */
    cJSON *alone = with_cert(b, leaf);
    expect_error(mp_binding_verify(alone, &W.pubs[3], oins[3], W.ca, W.now, NULL),
                 "unable to get local issuer certificate");
    cJSON_Delete(alone);
    /* With CRLs, every certificate of the chain needs its issuer's CRL: the region's CA's
     * CRL alone does not say whether the intermediate revoked the leaf. */
    mp_ca *with_crl;
    assert_int_equal(mp_ca_load(&with_crl, W.ca_pem, W.crl_pem), 0);
    expect_error(mp_binding_verify(b, &W.pubs[3], oins[3], with_crl, W.now, NULL),
                 "no CRL of the certificate's issuer");
    mp_ca_free(with_crl);
    cJSON_Delete(b);
    /* A leaf (CA:FALSE) cannot issue certificates: utrecht's key certifying fermwerk's OIN,
     * with utrecht's own certificate as the "intermediate". */
    cJSON *f = forge_binding("byleaf", &W.pubs[3], oins[3]);
    char *ut_path = wpath("utrecht.pem"), *ut = slurp(ut_path);
    cJSON_AddItemToArray(cJSON_GetObjectItem(f, "certificates"), cJSON_CreateString(ut));
    expect_error(mp_binding_verify(f, &W.pubs[3], oins[3], W.ca, W.now, NULL),
                 "invalid CA certificate");
    cJSON_Delete(f);
    free(ut);
    free(ut_path);
    free(leaf);
    free(inter);
    free(key);
}

static void test_binding_key_kinds(void **state)
{
    (void)state;
    char oin[MP_OIN_LEN + 1];
    static const char *const names[] = {"rsa", "ed"};
    static const int orgs[] = {4, 5};
    for (int i = 0; i < 2; i++) {
        cJSON *b = bind_with(names[i], &W.pubs[orgs[i]], oin);
        assert_string_equal(oin, oins[orgs[i]]);
        if (mp_binding_verify(b, &W.pubs[orgs[i]], oins[orgs[i]], W.ca, W.now, NULL) != 0)
            fail_msg("%s: %s", names[i], mp_error_get());
        expect_error(mp_binding_verify(b, &W.pubs[0], oins[orgs[i]], W.ca, W.now, NULL),
                     "did not sign this mijlpaal key");
        cJSON_Delete(b);
    }
    /* An encrypted certificate key, with its passphrase file; a wrong passphrase refused. */
    char *cert = wpath("utrecht.pem"), *key = wpath("utrecht-enc.key");
    char *pass = wpath("pass.txt"), *wrong = wpath("wrong.txt");
    cJSON *b = NULL;
    if (mp_binding_sign(&b, oin, &W.pubs[0], cert, NULL, key, pass) != 0)
        fail_msg("encrypted key: %s", mp_error_get());
    assert_int_equal(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), 0);
    cJSON_Delete(b);
    b = NULL;
    expect_error(mp_binding_sign(&b, oin, &W.pubs[0], cert, NULL, key, wrong), "wrong passphrase");
    assert_null(b);
    free(cert);
    free(key);
    free(pass);
    free(wrong);
}

static void test_binding_validity_period(void **state)
{
    (void)state;
    char oin[MP_OIN_LEN + 1];
    cJSON *exp = bind_with("expired", &W.pubs[0], oin);
    cJSON *ny = bind_with("notyet", &W.pubs[0], oin);
    /* Expired on 2025-01-01: refused now, accepted in mid-2024. */
    expect_error(mp_binding_verify(exp, &W.pubs[0], oins[0], W.ca, W.now, NULL), "expired");
    assert_int_equal(mp_binding_verify(exp, &W.pubs[0], oins[0], W.ca, 1717200000, NULL), 0);
    /* Just either side of the end (2025-01-01T00:00:00Z = 1735689600). */
    assert_int_equal(mp_binding_verify(exp, &W.pubs[0], oins[0], W.ca, 1735689600 - 60, NULL), 0);
    expect_error(mp_binding_verify(exp, &W.pubs[0], oins[0], W.ca, 1735689600 + 60, NULL),
                 "expired");
    /* Valid from a year from now: refused now, accepted in two years. */
    expect_error(mp_binding_verify(ny, &W.pubs[0], oins[0], W.ca, W.now, NULL), "not yet valid");
    assert_int_equal(mp_binding_verify(ny, &W.pubs[0], oins[0], W.ca, W.now + 730 * DAY, NULL), 0);
    /* Before the CA itself (2020-01-01) nothing is valid. */
    expect_error(mp_binding_verify(W.bindings[0], &W.pubs[0], oins[0], W.ca, 1500000000, NULL),
                 "not yet");
    cJSON_Delete(exp);
    cJSON_Delete(ny);
}

static void test_binding_revocation(void **state)
{
    (void)state;
    char oin[MP_OIN_LEN + 1];
    cJSON *rev = bind_with("revoked", &W.pubs[0], oin);
    mp_ca *with_crl;
    /* Without the CRL the revoked certificate is accepted (nothing tells it apart). */
    assert_int_equal(mp_binding_verify(rev, &W.pubs[0], oins[0], W.ca, W.now, NULL), 0);
    /* With it, refused; the others still accepted (CRL checks for the whole chain). */
    assert_int_equal(mp_ca_load(&with_crl, W.ca_pem, W.crl_pem), 0);
    expect_error(mp_binding_verify(rev, &W.pubs[0], oins[0], with_crl, W.now, NULL), "revoked");
    for (int i = 0; i < NORGS; i++)
        if (mp_binding_verify(W.bindings[i], &W.pubs[i], oins[i], with_crl, W.now, NULL) != 0)
            fail_msg("%s with CRL: %s", org_ids[i], mp_error_get());
    /* The auditor checks a round at the time it opened, with a CRL it fetched since: a CRL
     * issued after the time verified is used, the certificates it does not list are accepted,
     * and a certificate revoked (today) after the time verified was valid then: a round a
     * month ago stands (decision 27). */
    for (int i = 0; i < NORGS; i++)
        if (mp_binding_verify(W.bindings[i], &W.pubs[i], oins[i], with_crl, W.now - 30 * DAY,
                              NULL) != 0)
            fail_msg("%s a month ago with today's CRL: %s", org_ids[i], mp_error_get());
    assert_int_equal(mp_binding_verify(rev, &W.pubs[0], oins[0], with_crl, W.now - 30 * DAY, NULL),
                     0);
    expect_error(mp_binding_verify(rev, &W.pubs[0], oins[0], with_crl, W.now + 60, NULL),
                 "revoked");
    /* A CRL past its nextUpdate (30 days) at the time verified is stale: refused. */
    expect_error(
        mp_binding_verify(W.bindings[1], &W.pubs[1], oins[1], with_crl, W.now + 60 * DAY, NULL),
        "CRL has expired");
    mp_ca_free(with_crl);
    /* The CRL in the trust file itself turns checking on too. */
    char *cat = wpath("ca+crl.pem");
    sh("cat '%s' '%s' >'%s'", W.ca_pem, W.crl_pem, cat);
    assert_int_equal(mp_ca_load(&with_crl, cat, NULL), 0);
    expect_error(mp_binding_verify(rev, &W.pubs[0], oins[0], with_crl, W.now, NULL), "revoked");
    assert_int_equal(mp_binding_verify(W.bindings[1], &W.pubs[1], oins[1], with_crl, W.now, NULL),
                     0);
    mp_ca_free(with_crl);
    /* A CRL file that holds no CRL is refused rather than silently checking nothing. */
    expect_error(mp_ca_load(&with_crl, W.ca_pem, W.ca_pem), "holds no CRL");
    free(cat);
    cJSON_Delete(rev);
}

static void test_binding_subject_rules(void **state)
{
    (void)state;
    char oin[MP_OIN_LEN + 1];
    cJSON *b = NULL;
    static const char *const bad[] = {"noserial", "shortserial", "letterserial", "longserial"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cert[512], key[512];
        snprintf(cert, sizeof cert, "%s/%s.pem", W.dir, bad[i]);
        snprintf(key, sizeof key, "%s/%s.key", W.dir, bad[i]);
        /* mp_binding_sign will not bind it ... */
        expect_error(mp_binding_sign(&b, oin, &W.pubs[0], cert, NULL, key, NULL), "serialNumber");
        assert_null(b);
        /* ... nor does a verifier accept a binding made without it, whatever OIN it is told. */
        cJSON *f = forge_binding(bad[i], &W.pubs[0], oins[0]);
        expect_error(mp_binding_verify(f, &W.pubs[0], oins[0], W.ca, W.now, NULL), "serialNumber");
        cJSON_Delete(f);
    }
    /* The forging helper itself makes bindings a verifier accepts for a proper certificate
     * (else the refusals above would prove nothing). */
    cJSON *ok = forge_binding("utrecht", &W.pubs[0], oins[0]);
    assert_int_equal(mp_binding_verify(ok, &W.pubs[0], oins[0], W.ca, W.now, NULL), 0);
    cJSON_Delete(ok);
    /* A keyUsage without digitalSignature. */
    cJSON *nd = forge_binding("nodigsig", &W.pubs[0], oins[0]);
    expect_error(mp_binding_verify(nd, &W.pubs[0], oins[0], W.ca, W.now, NULL), "keyUsage");
    cJSON_Delete(nd);
}

static void test_binding_tampered(void **state)
{
    (void)state;
    cJSON *b = cJSON_Duplicate(W.bindings[0], 1);
    unsigned char *sig;
    size_t len;
    assert_int_equal(mp_base64_decode(&sig, &len, cJSON_GetObjectItem(b, "cert_sig")->valuestring),
                     0);
    sig[len / 2] ^= 0x01;
    char *b64 = mp_base64_encode(sig, len);
    cJSON_ReplaceItemInObjectCaseSensitive(b, "cert_sig", cJSON_CreateString(b64));
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), "signature invalid");
    free(b64);
    free(sig);
    /* Not base64 at all. */
    cJSON_ReplaceItemInObjectCaseSensitive(b, "cert_sig", cJSON_CreateString("!!"));
    assert_int_equal(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), -1);
    /* Another organisation's (valid) signature. */
    cJSON_ReplaceItemInObjectCaseSensitive(
        b, "cert_sig", cJSON_Duplicate(cJSON_GetObjectItem(W.bindings[1], "cert_sig"), 1));
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), "signature invalid");
    cJSON_Delete(b);
    /* An extra field. */
    b = cJSON_Duplicate(W.bindings[0], 1);
    cJSON_AddStringToObject(b, "trust_me", "yes");
    assert_int_equal(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), -1);
    cJSON_Delete(b);
}

static void test_binding_replaced_leaf(void **state)
{
    (void)state;
    /* The CA's own certificate as the leaf. */
    cJSON *b = with_cert(W.bindings[0], W.ca_pem);
    assert_int_equal(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), -1);
    cJSON_Delete(b);
    /* Another organisation's certificate: refused for utrecht's OIN (not its certificate) and
     * for the other's OIN (its key did not sign utrecht's key). */
    char *sv = wpath("stichtse-vecht.pem");
    b = with_cert(W.bindings[0], sv);
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), "the roster says");
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[1], W.ca, W.now, NULL), "signature invalid");
    cJSON_Delete(b);
    free(sv);
    /* No certificate at all. */
    b = cJSON_Duplicate(W.bindings[0], 1);
    cJSON_ReplaceItemInObjectCaseSensitive(b, "certificates", cJSON_CreateArray());
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), "no certificate");
    /* Garbage where the PEM should be, and a string that is not one. */
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateString("-----BEGIN CERTIFICATE-----\nnonsense\n"
                                                 "-----END CERTIFICATE-----\n"));
    cJSON_ReplaceItemInObjectCaseSensitive(b, "certificates", arr);
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL),
                 "not a PEM certificate");
    arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
    cJSON_ReplaceItemInObjectCaseSensitive(b, "certificates", arr);
    expect_error(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL),
                 "not a PEM certificate");
    /* More than MP_CERT_MAX_CHAIN certificates. */
    arr = cJSON_Duplicate(cJSON_GetObjectItem(W.bindings[0], "certificates"), 1);
    for (int i = 0; i < MP_CERT_MAX_CHAIN; i++)
        cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(arr, 0), 1));
    cJSON_ReplaceItemInObjectCaseSensitive(b, "certificates", arr);
    assert_int_equal(mp_binding_verify(b, &W.pubs[0], oins[0], W.ca, W.now, NULL), -1);
    cJSON_Delete(b);
    /* Not an object. */
    cJSON *s = cJSON_CreateString("binding");
    assert_int_equal(mp_binding_verify(s, &W.pubs[0], oins[0], W.ca, W.now, NULL), -1);
    cJSON_Delete(s);
}

static void test_ca_load_refusals(void **state)
{
    (void)state;
    mp_ca *ca = NULL;
    char *p = wpath("empty.pem");
    tu_write(p, "", 0);
    expect_error(mp_ca_load(&ca, p, NULL), "empty.pem");
    assert_null(ca);
    tu_write(p, "not a certificate\n", 18);
    expect_error(mp_ca_load(&ca, p, NULL), "empty.pem");
    assert_null(ca);
    /* A PEM file with only a CRL (no trust anchor). */
    expect_error(mp_ca_load(&ca, W.crl_pem, NULL), "no CA certificate");
    assert_null(ca);
    /* A private key is not a CA certificate either. */
    char *key = wpath("utrecht.key");
    assert_int_equal(mp_ca_load(&ca, key, NULL), -1);
    assert_null(ca);
    /* A missing file. */
    char *none = wpath("none.pem");
    expect_error(mp_ca_load(&ca, none, NULL), "none.pem");
    assert_null(ca);
    free(none);
    free(key);
    free(p);
}

static void test_binding_sign_refusals(void **state)
{
    (void)state;
    cJSON *b = NULL;
    char oin[MP_OIN_LEN + 1] = "untouched";
    char *cert = wpath("utrecht.pem"), *other = wpath("stichtse-vecht.key");
    char *cakey = wpath("ca.key"), *none = wpath("none.key");
    /* The key of another certificate. */
    expect_error(mp_binding_sign(&b, oin, &W.pubs[0], cert, NULL, other, NULL),
                 "is not the private key of the certificate");
    /* The CA's key. */
    expect_error(mp_binding_sign(&b, oin, &W.pubs[0], cert, NULL, cakey, NULL),
                 "is not the private key");
    expect_error(mp_binding_sign(&b, oin, &W.pubs[0], cert, NULL, none, NULL), "none.key");
    /* A certificate file that holds none. */
    expect_error(mp_binding_sign(&b, oin, &W.pubs[0], other, NULL, other, NULL),
                 "holds no PEM certificate");
    assert_null(b);
    assert_string_equal(oin, "untouched");
    free(cert);
    free(other);
    free(cakey);
    free(none);
}

/* ---- roster ------------------------------------------------------------------------------ */

static void test_roster_agreed(void **state)
{
    (void)state;
    mp_roster *r;
    assert_int_equal(W.draft->agreed, 0);
    assert_null(W.draft->draft);
    expect_error(mp_roster_require_agreed(W.draft), "roster agree");
    /* The co-signatures in any order. */
    mp_envelope *rev[NORGS];
    for (int i = 0; i < NORGS; i++)
        rev[i] = W.cos[NORGS - 1 - i];
    cJSON *b;
    assert_int_equal(mp_roster_agree(&b, W.draft, rev, NORGS), 0);
    /* The agreed body: the draft byte for byte and one co-signature per member in roster order. */
    assert_string_equal(cJSON_GetObjectItem(b, "roster")->valuestring, W.draft->env->text);
    const cJSON *cs = cJSON_GetObjectItem(b, "cosignatures");
    assert_int_equal(cJSON_GetArraySize(cs), NORGS);
    for (int i = 0; i < NORGS; i++)
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cs, i), "org")->valuestring,
                            W.draft->orgs[i].id);
    if (load_signed(&r, "agreed.json", "roster-agreed", b, W.coord) != 0)
        fail_msg("agreed: %s", mp_error_get());
    assert_int_equal(r->agreed, 1);
    assert_non_null(r->draft);
    assert_int_equal(mp_roster_require_agreed(r), 0);
    assert_memory_equal(r->draft_hash, W.draft->draft_hash, MP_HASH_BYTES);
    assert_int_equal(r->norgs, NORGS);
    for (int i = 0; i < NORGS; i++) {
        const mp_org *o = mp_roster_org(r, org_ids[i]);
        assert_non_null(o);
        assert_string_equal(o->oin, oins[i]);
        assert_non_null(o->binding);
    }
    if (mp_roster_check_bindings(r, W.ca, W.now) != 0)
        fail_msg("bindings: %s", mp_error_get());
    for (int i = 0; i < NORGS; i++) {
        char want[64];
        snprintf(want, sizeof want, "Org %s", org_ids[i]);
        assert_string_equal(mp_roster_org(r, org_ids[i])->cert_org, want);
    }
    /* The bindings are checked against the CA, not merely present. */
    mp_ca *ca2;
    assert_int_equal(mp_ca_load(&ca2, W.ca2_pem, NULL), 0);
    expect_error(mp_roster_check_bindings(r, ca2, W.now), "roster: utrecht (OIN");
    mp_ca_free(ca2);
    /* An agreed roster cannot be agreed again. */
    cJSON *again = NULL;
    expect_error(mp_roster_agree(&again, r, W.cos, NORGS), "agreed already");
    assert_null(again);
    mp_roster_free(r);
    cJSON_Delete(b);
}

static void test_roster_agree_refusals(void **state)
{
    (void)state;
    cJSON *b = NULL;
    /* One member missing: named. */
    expect_error(mp_roster_agree(&b, W.draft, W.cos, NORGS - 1), "uwv has not co-signed");
    mp_envelope *c[NORGS + 1];
    memcpy(c, W.cos, sizeof W.cos);
    c[2] = W.cos[0]; /* lekstroom missing, utrecht twice */
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS), "two co-signatures of utrecht");
    /* Utrecht twice on top of the full set. */
    memcpy(c, W.cos, sizeof W.cos);
    c[NORGS] = W.cos[0];
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS + 1), "two co-signatures of utrecht");
    /* A second co-signature of the same member, freshly made (another envelope). */
    c[NORGS] = cosign(W.draft, "utrecht", W.orgs[0]);
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS + 1), "two co-signatures of utrecht");
    mp_envelope_free(c[NORGS]);

    /* A co-signature over another draft: the same members, region renamed. */
    cJSON *other = cJSON_Duplicate(W.draft_body, 1);
    cJSON *region = cJSON_GetObjectItem(other, "region");
    cJSON_ReplaceItemInObjectCaseSensitive(region, "name", cJSON_CreateString("Elders"));
    mp_roster *d2;
    assert_int_equal(load_signed(&d2, "draft2.json", "roster", other, W.coord), 0);
    memcpy(c, W.cos, sizeof W.cos);
    c[3] = cosign(d2, "fermwerk", W.orgs[3]);
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS), "fermwerk co-signed another roster");
    mp_envelope_free(c[3]);
    mp_roster_free(d2);
    cJSON_Delete(other);

    /* By a non-member (a key that calls itself utrecht), in place of utrecht's. */
    memcpy(c, W.cos, sizeof W.cos);
    c[0] = cosign(W.draft, "utrecht", W.outsider);
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS), "not a roster co-signature by a member");
    mp_envelope_free(c[0]);
    /* ... or by the coordinator, in addition. */
    memcpy(c, W.cos, sizeof W.cos);
    c[NORGS] = cosign(W.draft, "coordinator", W.coord);
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS + 1), "by a member");
    mp_envelope_free(c[NORGS]);

    /* Its org field lies: lekstroom's key signs "I am utrecht, I agree". */
    memcpy(c, W.cos, sizeof W.cos);
    c[0] = cosign(W.draft, "utrecht", W.orgs[2]);
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS), "does not verify under lekstroom");
    mp_envelope_free(c[0]);

    /* Another envelope type by a member (a signature for something else). */
    memcpy(c, W.cos, sizeof W.cos);
    cJSON *cb;
    assert_int_equal(mp_roster_cosign_body(&cb, W.draft, "utrecht"), 0);
    c[0] = signed_env("round", cb, W.orgs[0]);
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS), "not a roster co-signature");
    mp_envelope_free(c[0]);
    cJSON_Delete(cb);

    /* A co-signature with a condition added: signed, but not the statement every reader
     * checks, so the agreed roster made from it would load nowhere. */
    memcpy(c, W.cos, sizeof W.cos);
    assert_int_equal(mp_roster_cosign_body(&cb, W.draft, "utrecht"), 0);
    cJSON_AddStringToObject(cb, "note", "only if the budget stays below 1");
    c[0] = signed_env("roster-cosign", cb, W.orgs[0]);
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS), "co-signature 1");
    assert_non_null(strstr(mp_error_get(), "note"));
    mp_envelope_free(c[0]);
    cJSON_Delete(cb);

    /* A co-signature envelope whose body was altered after signing. */
    memcpy(c, W.cos, sizeof W.cos);
    assert_int_equal(mp_envelope_parse(&c[1], W.cos[1]->text, W.cos[1]->text_len, NULL), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(c[1]->body, "mijlpaal_roster_cosign",
                                           cJSON_CreateNumber(1));
    cJSON_ReplaceItemInObjectCaseSensitive(c[1]->body, "org", cJSON_CreateString("stichtse-vecht"));
    c[1]->sig[0] ^= 1;
    expect_error(mp_roster_agree(&b, W.draft, c, NORGS), "does not verify");
    mp_envelope_free(c[1]);
    assert_null(b);
}

/* The agreed body with fn applied, signed by the coordinator and loaded: the result of load. */
static int load_modified(void (*fn)(cJSON *), const mp_keypair *signer)
{
    cJSON *b = agreed_body();
    mp_roster *r = NULL;
    fn(b);
    int rc = load_signed(&r, "modified.json", "roster-agreed", b, signer);
    mp_roster_free(r);
    cJSON_Delete(b);
    return rc;
}

static void swap_cosigs(cJSON *b)
{
    /* By replacement: cJSON 1.7.15's InsertItemInArray after a detach loses an item. */
    cJSON *cs = cJSON_GetObjectItem(b, "cosignatures");
    cJSON *first = cJSON_Duplicate(cJSON_GetArrayItem(cs, 0), 1);
    cJSON *second = cJSON_Duplicate(cJSON_GetArrayItem(cs, 1), 1);
    assert_true(cJSON_ReplaceItemInArray(cs, 0, second));
    assert_true(cJSON_ReplaceItemInArray(cs, 1, first));
    assert_int_equal(cJSON_GetArraySize(cs), NORGS);
}

static void flip_cosig(cJSON *b)
{
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "cosignatures"), 4);
    unsigned char sig[MP_SIG_BYTES];
    assert_int_equal(
        mp_base64_decode_exact(sig, sizeof sig, cJSON_GetObjectItem(c, "sig")->valuestring), 0);
    sig[10] ^= 0x80;
    char *s = mp_base64_encode(sig, sizeof sig);
    cJSON_ReplaceItemInObjectCaseSensitive(c, "sig", cJSON_CreateString(s));
    free(s);
}

static void extra_cosig(cJSON *b)
{
    cJSON *cs = cJSON_GetObjectItem(b, "cosignatures");
    cJSON_AddItemToArray(cs, cJSON_Duplicate(cJSON_GetArrayItem(cs, 0), 1));
}

static void drop_cosig(cJSON *b)
{
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(b, "cosignatures"), 2);
}

static void drop_last_cosig(cJSON *b)
{
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(b, "cosignatures"), NORGS - 1);
}

static void other_org_cosig(cJSON *b)
{
    /* utrecht's entry carrying stichtse-vecht's (valid) signature. */
    cJSON *cs = cJSON_GetObjectItem(b, "cosignatures");
    cJSON *sv = cJSON_GetObjectItem(cJSON_GetArrayItem(cs, 1), "sig");
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(cs, 0), "sig",
                                           cJSON_Duplicate(sv, 1));
}

static void edit_inner_draft(cJSON *b)
{
    /* The coordinator swaps a name in the co-signed draft (it keeps its old signature). */
    char *text = strdup(cJSON_GetObjectItem(b, "roster")->valuestring);
    char *at = strstr(text, "Midden-Utrecht");
    assert_non_null(at);
    at[0] = 'X';
    cJSON_ReplaceItemInObjectCaseSensitive(b, "roster", cJSON_CreateString(text));
    free(text);
}

static void resign_inner_draft(cJSON *b)
{
    /* The coordinator re-signs an edited draft: its signature is valid, the members'
     * co-signatures are over the draft they saw. */
    cJSON *body = cJSON_Duplicate(W.draft_body, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItem(body, "region"), "name",
                                           cJSON_CreateString("Elders"));
    char *text;
    size_t len;
    assert_int_equal(mp_envelope_sign(&text, &len, "roster", body, W.coord), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(b, "roster", cJSON_CreateString(text));
    free(text);
    cJSON_Delete(body);
}

static void unchanged(cJSON *b)
{
    (void)b;
}

static void test_roster_agreed_refusals(void **state)
{
    (void)state;
    /* The control: the unmodified agreed roster loads. */
    assert_int_equal(load_modified(unchanged, W.coord), 0);
    expect_error(load_modified(swap_cosigs, W.coord), "co-signature 1 is by \"stichtse-vecht\"");
    expect_error(load_modified(flip_cosig, W.coord), "co-signature of rsd-krh does not verify");
    expect_error(load_modified(extra_cosig, W.coord), "more co-signatures than the 6 members");
    expect_error(load_modified(drop_cosig, W.coord), "co-signature 3 is by \"fermwerk\"");
    expect_error(load_modified(drop_last_cosig, W.coord), "lacks the co-signature of uwv");
    expect_error(load_modified(other_org_cosig, W.coord), "co-signature of utrecht does not");
    expect_error(load_modified(edit_inner_draft, W.coord), "does not verify");
    expect_error(load_modified(resign_inner_draft, W.coord), "did not agree to this roster");
    /* Signed by another coordinator (over the trusted one's draft and co-signatures). */
    expect_error(load_modified(unchanged, W.other_coord), "not by coordinator's key");
}

static void test_roster_other_coordinator(void **state)
{
    (void)state;
    /* A whole roster made by another coordinator: draft, co-signatures, agreement. */
    cJSON *body = cJSON_Duplicate(W.draft_body, 1), *coord, *b;
    assert_int_equal(mp_pubkey_to_json(&W.other_coord->pub, &coord), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(body, "coordinator", coord);
    char *path = tw_write_signed(W.dir, "other-draft.json", "roster", body, W.other_coord);
    mp_roster *d, *r = NULL;
    assert_int_equal(mp_roster_load(&d, path, &W.other_coord->pub), 0);
    expect_error(mp_roster_load(&r, path, &W.coord->pub), "different coordinator");
    mp_envelope *c[NORGS];
    for (int i = 0; i < NORGS; i++)
        c[i] = cosign(d, org_ids[i], W.orgs[i]);
    assert_int_equal(mp_roster_agree(&b, d, c, NORGS), 0);
    expect_error(load_signed(&r, "other-agreed.json", "roster-agreed", b, W.other_coord),
                 "different coordinator");
    assert_null(r);
    free_cos(c, NORGS);
    cJSON_Delete(b);
    mp_roster_free(d);
    free(path);
    cJSON_Delete(body);
}

static void test_roster_draft_refusals(void **state)
{
    (void)state;
    mp_roster *r = NULL;
    cJSON *b = cJSON_Duplicate(W.draft_body, 1);
    /* A version 1 roster. */
    cJSON_ReplaceItemInObjectCaseSensitive(b, "mijlpaal_roster", cJSON_CreateNumber(1));
    expect_error(load_signed(&r, "v1.json", "roster", b, W.coord), "roster format 1 is not");
    assert_true(strstr(mp_error_get(), "version") != NULL);
    cJSON_Delete(b);
    /* An OIN without a binding, a binding without an OIN, a bad OIN, a binding not an object. */
    static const struct {
        const char *field, *value, *error;
    } cases[] = {
        {"binding", NULL, "an OIN and a certificate binding go together"},
        {"oin", NULL, "an OIN and a certificate binding go together"},
        {"oin", "1234", "\"oin\" must be 20 digits"},
        {"oin", "0000000100129999200a", "\"oin\" must be 20 digits"},
        {"oin", "000000010012999920001", "\"oin\" must be 20 digits"},
        {"binding", "text", "\"binding\" must be an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        b = cJSON_Duplicate(W.draft_body, 1);
        cJSON *o = cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(b, "region"), "organisations"), 2);
        if (cases[i].value == NULL)
            cJSON_DeleteItemFromObjectCaseSensitive(o, cases[i].field);
        else
            cJSON_ReplaceItemInObjectCaseSensitive(o, cases[i].field,
                                                   cJSON_CreateString(cases[i].value));
        expect_error(load_signed(&r, "bad.json", "roster", b, W.coord), cases[i].error);
        assert_true(strstr(mp_error_get(), "lekstroom") != NULL);
        assert_null(r);
        cJSON_Delete(b);
    }
    /* mp_roster_bind refuses a bad OIN and an unknown organisation, leaving the body as it was. */
    b = cJSON_Duplicate(W.draft_body, 1);
    char *before = cJSON_PrintUnformatted(b);
    expect_error(mp_roster_bind(b, "utrecht", "123", W.bindings[0]), "invalid OIN");
    expect_error(mp_roster_bind(b, "amersfoort", oins[0], W.bindings[0]), "not in the roster");
    char *after = cJSON_PrintUnformatted(b);
    assert_string_equal(before, after);
    free(before);
    free(after);
    cJSON_Delete(b);
}

static void test_roster_unbound(void **state)
{
    (void)state;
    /* A draft as tests build them (no OIN, no binding) loads, but its bindings do not check. */
    cJSON *b = cJSON_Duplicate(W.draft_body, 1);
    cJSON *o = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "region"), "organisations"), 4);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "oin");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "binding");
    mp_roster *r;
    assert_int_equal(load_signed(&r, "unbound.json", "roster", b, W.coord), 0);
    assert_null(mp_roster_org(r, "rsd-krh")->binding);
    expect_error(mp_roster_check_bindings(r, W.ca, W.now), "rsd-krh has no certificate binding");
    mp_roster_free(r);
    /* The bound draft checks (the control). */
    assert_int_equal(mp_roster_check_bindings(W.draft, W.ca, W.now), 0);
    /* utrecht's binding moved to lekstroom's entry, with lekstroom's OIN. */
    cJSON_Delete(b);
    b = cJSON_Duplicate(W.draft_body, 1);
    assert_int_equal(mp_roster_bind(b, "lekstroom", oins[2], W.bindings[0]), 0);
    assert_int_equal(load_signed(&r, "swapped.json", "roster", b, W.coord), 0);
    expect_error(mp_roster_check_bindings(r, W.ca, W.now), "roster: lekstroom (OIN");
    assert_non_null(strstr(mp_error_get(), "the roster says"));
    mp_roster_free(r);
    /* An organisation's key replaced by the coordinator's own, its binding kept. */
    cJSON_Delete(b);
    b = cJSON_Duplicate(W.draft_body, 1);
    o = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "region"), "organisations"),
                           0);
    cJSON *k;
    assert_int_equal(mp_pubkey_to_json(&W.outsider->pub, &k), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(o, "key", k);
    assert_int_equal(load_signed(&r, "subst.json", "roster", b, W.coord), 0);
    expect_error(mp_roster_check_bindings(r, W.ca, W.now), "did not sign this mijlpaal key");
    mp_roster_free(r);
    cJSON_Delete(b);
}

/* One organisation's certificate vouching for a second member: utrecht's certificate key
 * binds lekstroom's key, under lekstroom's name and utrecht's OIN. Every binding checks, so
 * only the roster itself can refuse it; an auditor has no policy to list the members. */
static void test_roster_one_oin_twice(void **state)
{
    (void)state;
    char oin[MP_OIN_LEN + 1];
    cJSON *b = bind_with("utrecht", &W.pubs[2], oin);
    assert_int_equal(mp_binding_verify(b, &W.pubs[2], oins[0], W.ca, W.now, NULL), 0);
    cJSON *body = cJSON_Duplicate(W.draft_body, 1);
    assert_int_equal(mp_roster_bind(body, "lekstroom", oins[0], b), 0);
    mp_roster *r = NULL;
    expect_error(load_signed(&r, "dup-oin.json", "roster", body, W.coord),
                 "utrecht and lekstroom have the same OIN");
    assert_null(r);
    cJSON_Delete(body);
    cJSON_Delete(b);
}

static void test_roster_member_file(void **state)
{
    (void)state;
    cJSON *body = cJSON_CreateObject(), *k;
    cJSON_AddNumberToObject(body, "mijlpaal_key_binding", 1);
    assert_int_equal(mp_pubkey_to_json(&W.pubs[1], &k), 0);
    cJSON_AddItemToObject(body, "key", k);
    cJSON_AddStringToObject(body, "oin", oins[1]);
    cJSON_AddItemToObject(body, "binding", cJSON_Duplicate(W.bindings[1], 1));
    char *path = tw_write_signed(W.dir, "member.json", "key-binding", body, W.orgs[1]);
    mp_pubkey key;
    char oin[MP_OIN_LEN + 1];
    cJSON *b = NULL;
    assert_int_equal(mp_roster_member_load(path, &key, oin, &b), 0);
    assert_string_equal(key.org, W.pubs[1].org);
    assert_memory_equal(key.key_id, W.pubs[1].key_id, sizeof key.key_id);
    assert_memory_equal(key.sign_pk, W.pubs[1].sign_pk, sizeof key.sign_pk);
    assert_memory_equal(key.kx_pk, W.pubs[1].kx_pk, sizeof key.kx_pk);
    assert_string_equal(oin, oins[1]);
    assert_true(cJSON_Compare(b, W.bindings[1], 1));
    assert_int_equal(mp_binding_verify(b, &key, oin, W.ca, W.now, NULL), 0);
    cJSON_Delete(b);
    free(path);
    /* Signed by a key other than the one it binds. */
    b = NULL;
    path = tw_write_signed(W.dir, "member2.json", "key-binding", body, W.orgs[2]);
    expect_error(mp_roster_member_load(path, &key, oin, &b), "not signed by the key it binds");
    assert_null(b);
    free(path);
    /* A bad OIN; an extra field. */
    cJSON_ReplaceItemInObjectCaseSensitive(body, "oin", cJSON_CreateString("12"));
    path = tw_write_signed(W.dir, "member3.json", "key-binding", body, W.orgs[1]);
    assert_int_equal(mp_roster_member_load(path, &key, oin, &b), -1);
    free(path);
    cJSON_ReplaceItemInObjectCaseSensitive(body, "oin", cJSON_CreateString(oins[1]));
    cJSON_AddStringToObject(body, "extra", "x");
    path = tw_write_signed(W.dir, "member4.json", "key-binding", body, W.orgs[1]);
    assert_int_equal(mp_roster_member_load(path, &key, oin, &b), -1);
    assert_null(b);
    free(path);
    cJSON_Delete(body);
}

/* ---- policy ------------------------------------------------------------------------------ */

/* A valid policy body for utrecht: every organisation, 4 participants, t >= 1, rho 1 per round,
 * 1.5 per period, series mu with budget 3. */
static cJSON *policy_body(void)
{
    cJSON *p = cJSON_CreateObject(), *orgs, *series, *s;
    cJSON_AddNumberToObject(p, "mijlpaal_policy", 1);
    cJSON_AddStringToObject(p, "org", "utrecht");
    cJSON_AddStringToObject(p, "region", "midden-utrecht");
    cJSON_AddStringToObject(p, "ca_file", "ca.pem");
    orgs = cJSON_AddArrayToObject(p, "organisations");
    for (int i = 0; i < NORGS; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", org_ids[i]);
        cJSON_AddStringToObject(o, "oin", oins[i]);
        cJSON_AddItemToArray(orgs, o);
    }
    cJSON_AddNumberToObject(p, "min_participants", 4);
    cJSON_AddNumberToObject(p, "min_t", 1);
    cJSON_AddStringToObject(p, "max_rho_per_round", "1");
    cJSON_AddStringToObject(p, "max_rho_per_period", "1.5");
    series = cJSON_AddArrayToObject(p, "series");
    s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "id", "mu");
    cJSON_AddStringToObject(s, "budget", "3");
    cJSON_AddItemToArray(series, s);
    s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "id", "small");
    cJSON_AddStringToObject(s, "budget", "0.3");
    cJSON_AddItemToArray(series, s);
    return p;
}

/* Write body to a fresh file and load it (consumes body). */
static mp_policy *policy_from(cJSON *body)
{
    static int n;
    char name[64];
    snprintf(name, sizeof name, "policy-%d.json", n++);
    char *path = wpath(name);
    mp_policy *p;
    if (mp_policy_write(path, body) != 0 || mp_policy_load(&p, path) != 0)
        fail_msg("policy: %s", mp_error_get());
    free(path);
    cJSON_Delete(body);
    return p;
}

static cJSON *policy_orgs(cJSON *p)
{
    return cJSON_GetObjectItem(p, "organisations");
}

static void test_policy_round_trip(void **state)
{
    (void)state;
    char *path = wpath("policy.json");
    cJSON *body = policy_body();
    cJSON_AddStringToObject(body, "crl_file", "/etc/crl.pem");
    assert_int_equal(mp_policy_write(path, body), 0);
    mp_policy *p;
    assert_int_equal(mp_policy_load(&p, path), 0);
    assert_string_equal(p->org, "utrecht");
    assert_string_equal(p->region, "midden-utrecht");
    char *ca = wpath("ca.pem");
    assert_string_equal(p->ca_file, ca); /* relative to the policy's directory */
    assert_string_equal(p->crl_file, "/etc/crl.pem");
    assert_int_equal(p->norgs, NORGS);
    for (int i = 0; i < NORGS; i++) {
        assert_string_equal(p->orgs[i].id, org_ids[i]);
        assert_string_equal(p->orgs[i].oin, oins[i]);
    }
    assert_int_equal(p->min_participants, 4);
    assert_int_equal(p->min_t, 1);
    assert_true(p->max_rho_round == 1);
    assert_true(p->max_rho_period == 1.5);
    assert_string_equal(p->max_rho_period_text, "1.5");
    assert_int_equal(p->nseries, 2);
    assert_non_null(mp_policy_series_get(p, "mu"));
    assert_true(mp_policy_series_get(p, "mu")->budget == 3);
    assert_string_equal(mp_policy_series_get(p, "small")->budget_text, "0.3");
    assert_null(mp_policy_series_get(p, "other"));
    /* What is read back is what was written. */
    cJSON *again;
    char *text = slurp(path);
    assert_int_equal(mp_canon_parse(&again, text, strlen(text)), 0);
    assert_true(cJSON_Compare(again, body, 1));
    cJSON_Delete(again);
    /* Written once: a second write is refused and the file is unchanged. */
    cJSON *other = policy_body();
    cJSON_ReplaceItemInObjectCaseSensitive(other, "min_t", cJSON_CreateNumber(2));
    expect_error(mp_policy_write(path, other), "exists already");
    char *text2 = slurp(path);
    assert_string_equal(text, text2);
    free(text2);
    free(text);
    cJSON_Delete(other);
    mp_policy_free(p);
    /* Without max_rho_per_period, one round's. */
    cJSON_DeleteItemFromObjectCaseSensitive(body, "max_rho_per_period");
    cJSON_DeleteItemFromObjectCaseSensitive(body, "crl_file");
    p = policy_from(body);
    assert_true(p->max_rho_period == 1);
    assert_string_equal(p->max_rho_period_text, "1");
    assert_null(p->crl_file);
    mp_policy_free(p);
    free(ca);
    free(path);
}

static void test_policy_write_refusals(void **state)
{
    (void)state;
    char *path = wpath("bad-policy.json");
    static const char *const errors[] = {
        "own organisation utrecht is not among",
        "listed twice",
        "listed twice",
        "min_participants",
        "min_participants 7 is more than the 6 organisations",
        "declares no series",
        "budget",
        "budget",
        "max_rho_per_round",
        "series mu is listed twice",
        "OIN of 20 digits",
        "mijlpaal_policy",
        "policy",
        "\"crl_file\" must be a path",
        "\"ca_file\"",
    };
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        cJSON *b = policy_body();
        cJSON *series = cJSON_GetObjectItem(b, "series");
        switch (i) {
        case 0: cJSON_DeleteItemFromArray(policy_orgs(b), 0); break;
        case 1: /* duplicate OIN */
            cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(policy_orgs(b), 3), "oin",
                                                   cJSON_CreateString(oins[1]));
            break;
        case 2: /* duplicate id */
            cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(policy_orgs(b), 3), "id",
                                                   cJSON_CreateString("lekstroom"));
            break;
        case 3:
            cJSON_ReplaceItemInObjectCaseSensitive(b, "min_participants", cJSON_CreateNumber(2));
            break;
        case 4:
            cJSON_ReplaceItemInObjectCaseSensitive(b, "min_participants", cJSON_CreateNumber(7));
            break;
        case 5: cJSON_ReplaceItemInObjectCaseSensitive(b, "series", cJSON_CreateArray()); break;
        case 6:
            cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(series, 0), "budget",
                                                   cJSON_CreateString("lots"));
            break;
        case 7:
            cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(series, 0), "budget",
                                                   cJSON_CreateString("-1"));
            break;
        case 8:
            cJSON_ReplaceItemInObjectCaseSensitive(b, "max_rho_per_round", cJSON_CreateNumber(1));
            break;
        case 9:
            cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(series, 1), "id",
                                                   cJSON_CreateString("mu"));
            break;
        case 10:
            cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(policy_orgs(b), 5), "oin",
                                                   cJSON_CreateString("123"));
            break;
        case 11:
            cJSON_ReplaceItemInObjectCaseSensitive(b, "mijlpaal_policy", cJSON_CreateNumber(2));
            break;
        case 12: cJSON_AddStringToObject(b, "max_participants", "9"); break;
        /* A policy mp_policy_load would refuse is not written either. */
        case 13: cJSON_AddNumberToObject(b, "crl_file", 5); break;
        case 14: cJSON_ReplaceItemInObjectCaseSensitive(b, "ca_file", cJSON_CreateTrue()); break;
        }
        expect_error(mp_policy_write(path, b), errors[i]);
        assert_int_equal(access(path, F_OK), -1); /* nothing written */
        cJSON_Delete(b);
    }
    /* mp_policy_load refuses the same when the file was edited by hand. */
    cJSON *b = policy_body();
    cJSON_ReplaceItemInObjectCaseSensitive(b, "min_participants", cJSON_CreateNumber(2));
    char *text = cJSON_Print(b);
    tu_write(path, text, strlen(text));
    mp_policy *p = NULL;
    expect_error(mp_policy_load(&p, path), "bad-policy.json");
    assert_null(p);
    free(text);
    cJSON_Delete(b);
    free(path);
}

static void test_policy_check_roster(void **state)
{
    (void)state;
    mp_policy *p = policy_from(policy_body());
    assert_int_equal(mp_policy_check_roster(p, W.draft), 0);
    mp_policy_free(p);

    /* A sybil: the roster names uwv, which this policy does not list. */
    cJSON *b = policy_body();
    cJSON_DeleteItemFromArray(policy_orgs(b), 5);
    p = policy_from(b);
    expect_error(mp_policy_check_roster(p, W.draft), "names uwv (OIN 00000001001299992005)");
    assert_non_null(strstr(mp_error_get(), "a member nobody agreed to"));
    mp_policy_free(p);

    /* A key under another organisation's name: the roster's fermwerk has another OIN. */
    b = policy_body();
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(policy_orgs(b), 3), "oin",
                                           cJSON_CreateString("00000009999999999999"));
    p = policy_from(b);
    expect_error(mp_policy_check_roster(p, W.draft), "gives fermwerk the OIN");
    mp_policy_free(p);

    /* A missing member: the policy knows amersfoort, the roster does not. */
    b = policy_body();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", "amersfoort");
    cJSON_AddStringToObject(o, "oin", "00000009999999999999");
    cJSON_AddItemToArray(policy_orgs(b), o);
    p = policy_from(b);
    expect_error(mp_policy_check_roster(p, W.draft), "lacks amersfoort");
    mp_policy_free(p);

    /* Another region. */
    b = policy_body();
    cJSON_ReplaceItemInObjectCaseSensitive(b, "region", cJSON_CreateString("zuid-holland"));
    p = policy_from(b);
    expect_error(mp_policy_check_roster(p, W.draft), "for region midden-utrecht");
    mp_policy_free(p);

    /* A roster entry without an OIN is refused by the policy too. */
    b = cJSON_Duplicate(W.draft_body, 1);
    o = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "region"), "organisations"),
                           1);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "oin");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "binding");
    mp_roster *r;
    assert_int_equal(load_signed(&r, "unbound2.json", "roster", b, W.coord), 0);
    p = policy_from(policy_body());
    expect_error(mp_policy_check_roster(p, r), "gives stichtse-vecht the OIN none");
    mp_policy_free(p);
    mp_roster_free(r);
    cJSON_Delete(b);
}

/* A round as mp_spec_load leaves it, for the fields the policy reads: region midden-utrecht,
 * the first n organisations, threshold n, t = 1, rho 1 of series mu (budget 3). */
static void round_spec(mp_spec *s, size_t n)
{
    memset(s, 0, sizeof *s);
    s->round_id = "r-2025";
    s->region = "midden-utrecht";
    s->period_start = 20089; /* 2025-01-01 */
    s->period_end = 20453;   /* 2025-12-31 */
    s->nparticipants = n;
    for (size_t i = 0; i < n; i++)
        s->participants[i] = org_ids[i];
    s->k_min = 3;
    s->threshold = (long long)n;
    s->masking = MP_MASKING_PAIRWISE;
    s->privacy.rho_text = "1";
    s->privacy.rho = 1;
    s->privacy.epsilon_text = "9.3";
    s->privacy.series = "mu";
    s->privacy.series_rho_text = "3";
    s->privacy.series_rho = 3;
    s->privacy.t = 1;
}

static void test_policy_check_round(void **state)
{
    (void)state;
    mp_policy *p = policy_from(policy_body());
    mp_spec s;
    mp_policy_usage u = {0, 0, NULL};
    round_spec(&s, NORGS);
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);
    u.series_rho_seen = "3";
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);

    /* Each rule, with everything else in order. */
    round_spec(&s, NORGS);
    s.region = "zuid-holland";
    expect_error(mp_policy_check_round(p, &s, &u), "is for region zuid-holland, not");

    round_spec(&s, 3);
    expect_error(mp_policy_check_round(p, &s, &u), "has 3 participants");
    assert_non_null(strstr(mp_error_get(), "at least 4"));
    round_spec(&s, 4); /* exactly the minimum */
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);

    round_spec(&s, NORGS);
    s.privacy.t = 0;
    expect_error(mp_policy_check_round(p, &s, &u), "t = 0");
    assert_non_null(strstr(mp_error_get(), "requires t >= 1"));

    round_spec(&s, NORGS);
    s.privacy.rho = 1.01;
    s.privacy.rho_text = "1.01";
    expect_error(mp_policy_check_round(p, &s, &u), "more than this policy's max_rho_per_round 1");
    s.privacy.rho = 1 + 2e-9; /* beyond the slack */
    expect_error(mp_policy_check_round(p, &s, &u), "max_rho_per_round");
    s.privacy.rho = 1 + 5e-10; /* within it */
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);

    round_spec(&s, NORGS);
    s.privacy.series = "mu-2";
    expect_error(mp_policy_check_round(p, &s, &u), "series \"mu-2\", which this policy does not");

    round_spec(&s, NORGS);
    s.privacy.series_rho_text = "30";
    s.privacy.series_rho = 30;
    expect_error(mp_policy_check_round(p, &s, &u), "first saw that series with budget 3");
    /* The same number written otherwise is a change of the text signed, refused too. */
    s.privacy.series_rho_text = "3.0";
    s.privacy.series_rho = 3;
    expect_error(mp_policy_check_round(p, &s, &u), "first saw");
    /* A series not seen before takes whatever it states (first sight). */
    u.series_rho_seen = NULL;
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);
    u.series_rho_seen = "3";

    /* Series budget 3: 2 spent + 1 is exactly the budget. */
    round_spec(&s, NORGS);
    u.series_spent = 2;
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);
    u.series_spent = 2.001;
    expect_error(mp_policy_check_round(p, &s, &u), "over budget");
    assert_non_null(strstr(mp_error_get(), "budget for the series is 3"));
    u.series_spent = 2 + 4e-9; /* 3.000000004 > 3 * (1 + 1e-9) */
    expect_error(mp_policy_check_round(p, &s, &u), "over budget");
    u.series_spent = 2 + 1e-9; /* 3.000000001 <= 3 * (1 + 1e-9) */
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);
    /* The round's own claim of what the series spent is not what counts. */
    s.privacy.series_spent = 0;
    s.privacy.series_spent_text = "0";
    u.series_spent = 2.5;
    expect_error(mp_policy_check_round(p, &s, &u), "over budget");

    /* Decimal budgets that binary sums overshoot: series small, 0.1 spent + 0.2. */
    round_spec(&s, NORGS);
    s.privacy.series = "small";
    s.privacy.series_rho_text = "0.3";
    s.privacy.rho = 0.2;
    s.privacy.rho_text = "0.2";
    mp_policy_usage us = {0.1, 0, NULL};
    assert_true(0.1 + 0.2 > 0.3);
    assert_int_equal(mp_policy_check_round(p, &s, &us), 0);
    us.series_spent = 0.11;
    expect_error(mp_policy_check_round(p, &s, &us), "over budget");

    /* Per period 1.5: 0.5 spent on overlapping periods + 1 is the cap. */
    round_spec(&s, NORGS);
    u.series_spent = 0.5;
    u.period_spent = 0.5;
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);
    u.period_spent = 0.5 + 1e-9; /* 1.500000001 <= 1.5 * (1 + 1e-9) */
    assert_int_equal(mp_policy_check_round(p, &s, &u), 0);
    u.period_spent = 0.5000001;
    u.series_spent = 0.5000001;
    expect_error(mp_policy_check_round(p, &s, &u), "max_rho_per_period 1.5");
    assert_non_null(strstr(mp_error_get(), "second round over the same period"));
    mp_policy_free(p);
}

static void test_policy_agreement(void **state)
{
    (void)state;
    mp_policy *p = policy_from(policy_body());
    mp_roster *r;
    cJSON *b = agreed_body(), *j;
    assert_int_equal(load_signed(&r, "agreed2.json", "roster-agreed", b, W.coord), 0);
    assert_int_equal(mp_roster_check_bindings(r, W.ca, W.now), 0);
    mp_spec s;
    round_spec(&s, 5);
    s.threshold = 4;
    s.masking = MP_MASKING_BONAWITZ;
    mp_policy_usage u = {0.75, 0.25, "3"};
    assert_int_equal(mp_policy_agreement(&j, p, r, &s, &u), 0);
    assert_string_equal(cJSON_GetObjectItem(j, "region")->valuestring, "midden-utrecht");
    assert_string_equal(cJSON_GetObjectItem(j, "round_id")->valuestring, "r-2025");
    assert_string_equal(cJSON_GetObjectItem(j, "period_start")->valuestring, "2025-01-01");
    assert_string_equal(cJSON_GetObjectItem(j, "period_end")->valuestring, "2025-12-31");
    assert_true(cJSON_GetObjectItem(j, "n")->valuedouble == 5);
    assert_true(cJSON_GetObjectItem(j, "threshold")->valuedouble == 4);
    assert_true(cJSON_GetObjectItem(j, "t")->valuedouble == 1);
    assert_string_equal(cJSON_GetObjectItem(j, "masking")->valuestring, "bonawitz-v1");
    assert_string_equal(cJSON_GetObjectItem(j, "rho")->valuestring, "1");
    assert_string_equal(cJSON_GetObjectItem(j, "series")->valuestring, "mu");
    assert_string_equal(cJSON_GetObjectItem(j, "series_budget")->valuestring, "3");
    assert_true(cJSON_GetObjectItem(j, "series_spent_before")->valuedouble == 0.75);
    assert_true(cJSON_GetObjectItem(j, "series_left_after")->valuedouble == 1.25);
    const cJSON *parts = cJSON_GetObjectItem(j, "participants");
    assert_int_equal(cJSON_GetArraySize(parts), 5);
    for (int i = 0; i < 5; i++) {
        const cJSON *e = cJSON_GetArrayItem(parts, i);
        const mp_org *o = mp_roster_org(r, org_ids[i]);
        char want[64];
        snprintf(want, sizeof want, "Org %s", org_ids[i]);
        assert_string_equal(cJSON_GetObjectItem(e, "id")->valuestring, org_ids[i]);
        assert_string_equal(cJSON_GetObjectItem(e, "name")->valuestring, o->name);
        assert_string_equal(cJSON_GetObjectItem(e, "certificate_organisation")->valuestring, want);
        assert_string_equal(cJSON_GetObjectItem(e, "oin")->valuestring, oins[i]);
    }
    /* uwv does not take part in this round and is not listed. */
    char *listed = cJSON_PrintUnformatted(parts);
    assert_null(strstr(listed, "\"uwv\""));
    free(listed);
    cJSON_Delete(j);
    mp_roster_free(r);
    cJSON_Delete(b);
    mp_policy_free(p);
}

/* ---- ledger (schema version 4) ------------------------------------------------------------ */

static mp_ledger_entry ledger_row(const char *round, const char *series, const char *rho,
                                  const char *start, const char *end)
{
    mp_ledger_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.round_id, sizeof e.round_id, "%s", round);
    memset(e.round_sha256, 'a', 64);
    snprintf(e.org, sizeof e.org, "utrecht");
    memset(e.masked_sha256, 'b', 64);
    /* submission_sha256 is UNIQUE: derive it from the round id. */
    mp_hash_hex(e.submission_sha256, round, strlen(round));
    snprintf(e.created, sizeof e.created, "2026-01-10T10:00:00Z");
    snprintf(e.series, sizeof e.series, "%s", series);
    snprintf(e.rho, sizeof e.rho, "%s", rho);
    snprintf(e.period_start, sizeof e.period_start, "%s", start);
    snprintf(e.period_end, sizeof e.period_end, "%s", end);
    return e;
}

static double period_spent(sqlite3 *db, const char *series, const char *start, const char *end)
{
    double v = -1;
    if (mp_ledger_period_spent(db, series, start, end, &v) != 0)
        fail_msg("period_spent: %s", mp_error_get());
    return v;
}

static void test_ledger_migration_v3(void **state)
{
    (void)state;
    char *path = wpath("ledger-v3.db");
    sqlite3 *db;
    char sql[256];
    /* A version 3 ledger as the previous release wrote it. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=3", MP_APP_LEDGER);
    static const char *const old_schema =
        "CREATE TABLE submissions (round_id TEXT PRIMARY KEY, round_sha256 TEXT NOT NULL,"
        " org TEXT NOT NULL, masked_sha256 TEXT NOT NULL, submission_sha256 TEXT NOT NULL UNIQUE,"
        " submission TEXT NOT NULL, created TEXT NOT NULL,"
        " series TEXT NOT NULL DEFAULT '', rho TEXT NOT NULL DEFAULT '0');"
        "CREATE TABLE budgets (series TEXT PRIMARY KEY, rho TEXT NOT NULL, set_at TEXT NOT NULL);"
        "CREATE TABLE sa_rounds (round_id TEXT PRIMARY KEY, round_sha256 TEXT NOT NULL,"
        " org TEXT NOT NULL, phase TEXT NOT NULL CHECK (phase IN ('advertised', 'submitted',"
        " 'confirmed', 'unmasked')), advertise TEXT NOT NULL, keys TEXT,"
        " advertised_sha256 TEXT, survivors TEXT, survivors_sha256 TEXT, consistency TEXT,"
        " unmask TEXT, updated TEXT NOT NULL);"
        "INSERT INTO submissions VALUES ('old-1', 'h1', 'utrecht', 'm1', 's1', '{}',"
        " '2025-03-01T10:00:00Z', 'mu', '0.5');"
        "INSERT INTO submissions VALUES ('old-2', 'h2', 'utrecht', 'm2', 's2', '{}',"
        " '2025-04-01T10:00:00Z', 'gv', '0.25');"
        "INSERT INTO budgets VALUES ('mu', '2', '2025-01-01T00:00:00Z');";
    assert_int_equal(sqlite3_exec(db, old_schema, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    if (mp_ledger_open(&db, path, 0) != 0)
        fail_msg("open: %s", mp_error_get());
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 8);
    mp_ledger_entry e;
    assert_int_equal(mp_ledger_find(db, "old-1", &e), 1);
    assert_string_equal(e.series, "mu");
    assert_string_equal(e.rho, "0.5");
    assert_string_equal(e.period_start, "");
    assert_string_equal(e.period_end, "");
    /* Old rows overlap every period: a second round over the same data cannot hide. */
    assert_true(period_spent(db, "mu", "2025-01-01", "2025-12-31") == 0.5);
    assert_true(period_spent(db, "mu", "1990-01-01", "1990-01-01") == 0.5);
    assert_true(period_spent(db, "gv", "2030-01-01", "2030-12-31") == 0.25);
    assert_true(period_spent(db, "other", "2025-01-01", "2025-12-31") == 0);
    double spent;
    assert_int_equal(mp_ledger_spent(db, "mu", &spent), 0);
    assert_true(spent == 0.5);
    char cap[32];
    assert_int_equal(mp_ledger_budget_get(db, "mu", cap), 1);
    assert_string_equal(cap, "2");
    /* The new tables exist and are empty. */
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM series_seen"), 0);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM rosters_signed"), 0);
    /* A new row with a period next to the old one. */
    mp_ledger_entry n = ledger_row("new-1", "mu", "0.25", "2026-01-01", "2026-12-31");
    assert_int_equal(mp_ledger_insert(db, &n, "{}", 2), 0);
    assert_true(period_spent(db, "mu", "2026-06-01", "2026-06-30") == 0.75);
    assert_true(period_spent(db, "mu", "2025-01-01", "2025-12-31") == 0.5);
    mp_store_close(db);
    /* Reopening does not migrate again. */
    assert_int_equal(mp_ledger_open(&db, path, 0), 0);
    assert_int_equal(tdb_int(db, "PRAGMA user_version"), 8);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM submissions"), 3);
    mp_store_close(db);
    free(path);
}

static void test_ledger_period_spent(void **state)
{
    (void)state;
    char *path = wpath("ledger-periods.db");
    sqlite3 *db;
    assert_int_equal(mp_ledger_open(&db, path, 1), 0);
    static const struct {
        const char *round, *series, *rho, *start, *end;
    } rows[] = {
        {"h1", "mu", "0.25", "2025-01-01", "2025-06-30"},
        {"h2", "mu", "0.5", "2025-07-01", "2025-12-31"},
        {"y24", "mu", "0.125", "2024-01-01", "2024-12-31"},
        {"gv", "gv", "1", "2025-01-01", "2025-12-31"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        mp_ledger_entry e =
            ledger_row(rows[i].round, rows[i].series, rows[i].rho, rows[i].start, rows[i].end);
        assert_int_equal(mp_ledger_insert(db, &e, "{}", 2), 0);
    }
    /* Overlapping both halves of 2025 (and not 2024, not the other series). */
    assert_true(period_spent(db, "mu", "2025-06-01", "2025-08-31") == 0.75);
    assert_true(period_spent(db, "mu", "2025-01-01", "2025-12-31") == 0.75);
    /* Containing everything. */
    assert_true(period_spent(db, "mu", "2000-01-01", "2099-12-31") == 0.875);
    /* Inside one half. */
    assert_true(period_spent(db, "mu", "2025-03-01", "2025-03-31") == 0.25);
    /* Adjacent: the day after the first half ends, the day before the second begins. */
    assert_true(period_spent(db, "mu", "2025-07-01", "2025-07-31") == 0.5);
    assert_true(period_spent(db, "mu", "2025-06-01", "2025-06-30") == 0.25);
    /* Touching on one day counts as overlapping. */
    assert_true(period_spent(db, "mu", "2025-06-30", "2025-07-01") == 0.75);
    assert_true(period_spent(db, "mu", "2024-12-31", "2025-01-01") == 0.375);
    /* Disjoint. */
    assert_true(period_spent(db, "mu", "2026-01-01", "2026-12-31") == 0);
    assert_true(period_spent(db, "mu", "2023-01-01", "2023-12-31") == 0);
    assert_true(period_spent(db, "nope", "2025-01-01", "2025-12-31") == 0);
    assert_true(period_spent(db, "gv", "2025-05-05", "2025-05-05") == 1);
    mp_store_close(db);
    free(path);
}

static void test_ledger_series_and_rosters(void **state)
{
    (void)state;
    char *path = wpath("ledger-seen.db");
    sqlite3 *db;
    char rho[32];
    assert_int_equal(mp_ledger_open(&db, path, 1), 0);
    assert_int_equal(mp_ledger_series_seen(db, "mu", rho), 0);
    assert_int_equal(mp_ledger_series_note(db, "mu", "3", "r1"), 0);
    assert_int_equal(mp_ledger_series_seen(db, "mu", rho), 1);
    assert_string_equal(rho, "3");
    /* First sight wins: a later round with another budget does not replace it. */
    assert_int_equal(mp_ledger_series_note(db, "mu", "30", "r2"), 0);
    assert_int_equal(mp_ledger_series_seen(db, "mu", rho), 1);
    assert_string_equal(rho, "3");
    char *first = tdb_text(db, "SELECT first_round FROM series_seen WHERE series = 'mu'", 1);
    assert_string_equal(first, "r1");
    free(first);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM series_seen"), 1);
    /* Another series is its own. */
    assert_int_equal(mp_ledger_series_seen(db, "gv", rho), 0);
    assert_int_equal(mp_ledger_series_note(db, "gv", "1.5", "r3"), 0);
    assert_int_equal(mp_ledger_series_seen(db, "gv", rho), 1);
    assert_string_equal(rho, "1.5");
    /* Inside a rolled-back transaction nothing is noted. */
    assert_int_equal(mp_store_begin(db), 0);
    assert_int_equal(mp_ledger_series_note(db, "rb", "1", "r4"), 0);
    mp_store_rollback(db);
    assert_int_equal(mp_ledger_series_seen(db, "rb", rho), 0);

    static const char h1[] = "1111111111111111111111111111111111111111111111111111111111111111";
    static const char h2[] = "2222222222222222222222222222222222222222222222222222222222222222";
    assert_int_equal(mp_ledger_roster_signed(db, h1), 0);
    assert_int_equal(mp_ledger_roster_sign_note(db, h1, "midden-utrecht"), 0);
    assert_int_equal(mp_ledger_roster_signed(db, h1), 1);
    assert_int_equal(mp_ledger_roster_signed(db, h2), 0);
    /* Signing the same roster again is harmless. */
    assert_int_equal(mp_ledger_roster_sign_note(db, h1, "midden-utrecht"), 0);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM rosters_signed"), 1);
    char *region = tdb_text(db, "SELECT region FROM rosters_signed", 1);
    assert_string_equal(region, "midden-utrecht");
    free(region);
    mp_store_close(db);
    /* Persisted. */
    assert_int_equal(mp_ledger_open(&db, path, 0), 0);
    assert_int_equal(mp_ledger_roster_signed(db, h1), 1);
    assert_int_equal(mp_ledger_series_seen(db, "mu", rho), 1);
    assert_string_equal(rho, "3");
    mp_store_close(db);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binding_verifies),
        cmocka_unit_test(test_binding_refuses_other_key_or_oin),
        cmocka_unit_test(test_binding_refuses_other_ca),
        cmocka_unit_test(test_binding_chain),
        cmocka_unit_test(test_binding_key_kinds),
        cmocka_unit_test(test_binding_validity_period),
        cmocka_unit_test(test_binding_revocation),
        cmocka_unit_test(test_binding_subject_rules),
        cmocka_unit_test(test_binding_tampered),
        cmocka_unit_test(test_binding_replaced_leaf),
        cmocka_unit_test(test_ca_load_refusals),
        cmocka_unit_test(test_binding_sign_refusals),
        cmocka_unit_test(test_roster_agreed),
        cmocka_unit_test(test_roster_agree_refusals),
        cmocka_unit_test(test_roster_agreed_refusals),
        cmocka_unit_test(test_roster_other_coordinator),
        cmocka_unit_test(test_roster_draft_refusals),
        cmocka_unit_test(test_roster_unbound),
        cmocka_unit_test(test_roster_one_oin_twice),
        cmocka_unit_test(test_roster_member_file),
        cmocka_unit_test(test_policy_round_trip),
        cmocka_unit_test(test_policy_write_refusals),
        cmocka_unit_test(test_policy_check_roster),
        cmocka_unit_test(test_policy_check_round),
        cmocka_unit_test(test_policy_agreement),
        cmocka_unit_test(test_ledger_migration_v3),
        cmocka_unit_test(test_ledger_period_spent),
        cmocka_unit_test(test_ledger_series_and_rosters),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
