/*
 * cert.c - key bindings under the region's CA (see cert.h), with OpenSSL 3.
 *
 * Why revocation is checked by hand rather than with X509_V_FLAG_CRL_CHECK: the auditor
 * verifies a past round at the time it was opened, with today's CRL. OpenSSL would refuse that
 * CRL as "not yet valid" at the verification time, and could not tell a certificate revoked
 * before the round (the release must fall) from one revoked after it (it stands). So the chain
 * is verified at the given time without CRLs, and then every certificate of the chain below the
 * trust anchor is looked up in the CRLs of its issuer (each CRL's signature checked with the
 * issuer's key); a revocation dated at or before the given time refuses it, and when CRLs are
 * configured an issuer without one refuses too (as CRL_CHECK_ALL would).
 *
 * Why the trust file is read by hand (PEM_X509_INFO_read_bio) rather than with
 * X509_STORE_load_file: we need to know whether it holds CRLs, to turn revocation checking on
 * for the whole chain when it does; and a trust file with no certificate at all must be an
 * error, not an empty store that silently trusts nothing.
 */
#include "cert.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"

#define CERT_FILE_MAX (1024 * 1024)
#define CERT_SIG_MAX 1024

struct mp_ca {
    X509_STORE *store;
    size_t ncerts, ncrls;
    STACK_OF(X509_CRL) * crls; /* checked by hand: see check_revocation() */
};

/* OpenSSL's own reason for the last failure, for an error message. */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown OpenSSL error";
}

static int add_pem_file(mp_ca *ca, const char *path)
{
    unsigned char *text;
    size_t len;
    BIO *bio;
    STACK_OF(X509_INFO) * infos;
    int rc = 0;
    if (mp_file_read(path, CERT_FILE_MAX, &text, &len) != 0)
        return -1;
    bio = BIO_new_mem_buf(text, (int)len);
    infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free(text);
    if (infos == NULL)
        return mp_error_set("%s: not a PEM file of certificates (%s)", path, ossl_reason());
    for (int i = 0; i < sk_X509_INFO_num(infos) && rc == 0; i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (info->x509 != NULL) {
            if (X509_STORE_add_cert(ca->store, info->x509) != 1)
                rc = mp_error_set("%s: certificate %d: %s", path, i + 1, ossl_reason());
            ca->ncerts++;
        }
        if (info->crl != NULL) {
            if (!sk_X509_CRL_push(ca->crls, info->crl))
                rc = mp_error_system("out of memory");
            else
                info->crl = NULL; /* the stack owns it now */
            ca->ncrls++;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return rc;
}

int mp_ca_load(mp_ca **out, const char *ca_file, const char *crl_file)
{
    mp_ca *ca = calloc(1, sizeof *ca);
    if (ca == NULL || (ca->store = X509_STORE_new()) == NULL ||
        (ca->crls = sk_X509_CRL_new_null()) == NULL) {
        if (ca != NULL)
            X509_STORE_free(ca->store);
        free(ca);
        return mp_error_system("out of memory");
    }
    if (add_pem_file(ca, ca_file) != 0 || (crl_file != NULL && add_pem_file(ca, crl_file) != 0))
        goto fail;
    if (ca->ncerts == 0) {
        mp_error_set("%s: holds no CA certificate", ca_file);
        goto fail;
    }
    if (crl_file != NULL && ca->ncrls == 0) {
        mp_error_set("%s: holds no CRL", crl_file);
        goto fail;
    }
    *out = ca;
    return 0;
fail:
    mp_ca_free(ca);
    return -1;
}

void mp_ca_free(mp_ca *ca)
{
    if (ca == NULL)
        return;
    X509_STORE_free(ca->store);
    sk_X509_CRL_pop_free(ca->crls, X509_CRL_free);
    free(ca);
}

int mp_oin_valid(const char *oin)
{
    return oin != NULL && strlen(oin) == MP_OIN_LEN && strspn(oin, "0123456789") == MP_OIN_LEN;
}

/* A subject attribute as UTF-8 into out (cap bytes); -1 when absent or too long. */
static int subject_attr(X509 *x, int nid, char *out, size_t cap)
{
    X509_NAME *name = X509_get_subject_name(x);
    int i = name ? X509_NAME_get_index_by_NID(name, nid, -1) : -1;
    unsigned char *utf8 = NULL;
    int n;
    if (i < 0)
        return -1;
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0 || (size_t)n >= cap) {
        OPENSSL_free(utf8);
        return -1;
    }
    memcpy(out, utf8, (size_t)n);
    out[n] = '\0';
    OPENSSL_free(utf8);
    return 0;
}

/* The statement a certificate key signs for `key` (cert.h). */
static int statement(unsigned char **msg, size_t *len, const mp_pubkey *key, const char *oin)
{
    cJSON *body = cJSON_CreateObject(), *pk = NULL;
    int rc;
    if (body == NULL || !cJSON_AddNumberToObject(body, "mijlpaal_key_binding", 1) ||
        mp_pubkey_to_json(key, &pk) != 0) {
        cJSON_Delete(body);
        return mp_error_system("out of memory");
    }
    cJSON_AddItemToObject(body, "key", pk);
    cJSON_AddStringToObject(body, "oin", oin);
    rc = mp_envelope_message(msg, len, "key-binding", body);
    cJSON_Delete(body);
    return rc;
}

/* Ed25519 and Ed448 certificate keys sign the message itself; the others its SHA-256. */
static const EVP_MD *digest_for(EVP_PKEY *k)
{
    int id = EVP_PKEY_get_id(k);
    return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();
}

static char *cert_pem(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    long n;
    if (bio != NULL && PEM_write_bio_X509(bio, x) == 1 && (n = BIO_get_mem_data(bio, &data)) > 0 &&
        (out = malloc((size_t)n + 1)) != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(bio);
    return out;
}

/* Every certificate of a PEM file, in order. */
static int read_certs(STACK_OF(X509) * certs, const char *path)
{
    unsigned char *text;
    size_t len;
    BIO *bio;
    X509 *x;
    int n = 0;
    if (mp_file_read(path, CERT_FILE_MAX, &text, &len) != 0)
        return -1;
    if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
        free(text);
        return mp_error_system("out of memory");
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            break;
        }
        n++;
    }
    ERR_clear_error(); /* the loop ends on "no start line" */
    BIO_free(bio);
    free(text);
    if (n == 0)
        return mp_error_set("%s: holds no PEM certificate", path);
    return 0;
}

typedef struct pass_ctx {
    const char *file;
    int failed;
} pass_ctx;

/* OpenSSL asks for the certificate key's passphrase only when the PEM file is encrypted. */
static int pem_pass(char *buf, int size, int rwflag, void *u)
{
    pass_ctx *pc = u;
    char *p;
    size_t len;
    (void)rwflag;
    if (mp_passphrase_get(&p, &len, pc->file, 0) != 0) {
        pc->failed = 1;
        return -1;
    }
    if (len >= (size_t)size) {
        mp_passphrase_free(p);
        pc->failed = 1;
        return -1;
    }
    memcpy(buf, p, len);
    mp_passphrase_free(p);
    return (int)len;
}

static EVP_PKEY *read_private_key(const char *path, const char *passphrase_file)
{
    unsigned char *text;
    size_t len;
    BIO *bio;
    EVP_PKEY *k = NULL;
    pass_ctx pc = {passphrase_file, 0};
    if (mp_file_read_secret(path, CERT_FILE_MAX, &text, &len) != 0)
        return NULL;
    if ((bio = BIO_new_mem_buf(text, (int)len)) != NULL)
        k = PEM_read_bio_PrivateKey(bio, NULL, pem_pass, &pc);
    BIO_free(bio);
    mp_file_free_secret(text);
    if (k == NULL)
        mp_error_set("%s: cannot read the certificate's private key (%s)", path,
                     pc.failed ? "no passphrase" : "wrong passphrase or not a PEM private key");
    return k;
}

int mp_binding_sign(cJSON **binding, char oin[MP_OIN_LEN + 1], const mp_pubkey *key,
                    const char *cert_path, const char *chain_path, const char *cert_key_path,
                    const char *passphrase_file)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char *msg = NULL, sig[CERT_SIG_MAX];
    size_t mlen, siglen = sizeof sig;
    char own[MP_OIN_LEN + 2];
    cJSON *out = NULL, *arr;
    char *b64 = NULL;
    int rc = -1;

    if (certs == NULL)
        return mp_error_system("out of memory");
    if (read_certs(certs, cert_path) != 0 ||
        (chain_path != NULL && read_certs(certs, chain_path) != 0))
        goto done;
    if (sk_X509_num(certs) > MP_CERT_MAX_CHAIN) {
        mp_error_set("%s: more than %d certificates in the chain", cert_path, MP_CERT_MAX_CHAIN);
        goto done;
    }
    X509 *leaf = sk_X509_value(certs, 0);
    if (subject_attr(leaf, NID_serialNumber, own, sizeof own) != 0 || !mp_oin_valid(own)) {
        mp_error_set("%s: the certificate's subject has no serialNumber of %d digits (the "
                     "organisation's OIN)",
                     cert_path, MP_OIN_LEN);
        goto done;
    }
    if ((pkey = read_private_key(cert_key_path, passphrase_file)) == NULL)
        goto done;
    if (X509_check_private_key(leaf, pkey) != 1) {
        ERR_clear_error();
        mp_error_set("%s is not the private key of the certificate in %s", cert_key_path,
                     cert_path);
        goto done;
    }
    if (statement(&msg, &mlen, key, own) != 0)
        goto done;
    if ((md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestSignInit(md, NULL, digest_for(pkey), NULL, pkey) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, msg, mlen) != 1 || siglen > sizeof sig ||
        EVP_DigestSign(md, sig, &siglen, msg, mlen) != 1) {
        mp_error_set("%s: signing with the certificate key failed (%s)", cert_key_path,
                     ossl_reason());
        goto done;
    }
    if ((out = cJSON_CreateObject()) == NULL ||
        (arr = cJSON_AddArrayToObject(out, "certificates")) == NULL ||
        (b64 = mp_base64_encode(sig, siglen)) == NULL) {
        mp_error_system("out of memory");
        goto done;
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        char *pem = cert_pem(sk_X509_value(certs, i));
        if (pem == NULL) {
            mp_error_system("out of memory");
            goto done;
        }
        cJSON_AddItemToArray(arr, cJSON_CreateString(pem));
        free(pem);
    }
    cJSON_AddStringToObject(out, "cert_sig", b64);
    memcpy(oin, own, MP_OIN_LEN + 1);
    *binding = out;
    out = NULL;
    rc = 0;
done:
    cJSON_Delete(out);
    free(b64);
    free(msg);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

/* The chain (leaf first, trust anchor last) against the CRLs, as at time `at`. */
static int check_revocation(const mp_ca *ca, STACK_OF(X509) * chain, int64_t at)
{
    int n = sk_X509_num(chain);
    for (int i = 0; i + 1 < n; i++) {
        X509 *cert = sk_X509_value(chain, i), *issuer = sk_X509_value(chain, i + 1);
        int covered = 0;
        for (int k = 0; k < sk_X509_CRL_num(ca->crls); k++) {
            X509_CRL *crl = sk_X509_CRL_value(ca->crls, k);
            X509_REVOKED *rev = NULL;
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
                continue;
            if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
                ERR_clear_error();
                return mp_error_set("a CRL in the trust file is not signed by the CA it names");
            }
            covered = 1;
            /* A CRL issued after `at` is newer knowledge and fine; one whose next update was
             * due before `at` is stale: a later revocation might be missing from it. */
            const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
            if (next != NULL && ASN1_TIME_cmp_time_t(next, (time_t)at) < 0)
                return mp_error_set("CRL has expired (its next update was due before the time "
                                    "checked): fetch a fresh CRL from the CA");
            if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1 &&
                ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(rev), (time_t)at) <= 0) {
                char when[32] = "?";
                BIO *b = BIO_new(BIO_s_mem());
                int len;
                if (b != NULL && ASN1_TIME_print(b, X509_REVOKED_get0_revocationDate(rev)) == 1 &&
                    (len = BIO_read(b, when, (int)sizeof when - 1)) > 0)
                    when[len] = '\0';
                BIO_free(b);
                return mp_error_set("certificate revoked (on %s, before the time checked)", when);
            }
        }
        if (!covered)
            return mp_error_set("no CRL of the certificate's issuer in the trust file, while "
                                "revocation is checked");
    }
    return 0;
}

static X509 *parse_pem(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)strlen(pem));
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return x;
}

int mp_binding_verify(const cJSON *binding, const mp_pubkey *key, const char *oin, const mp_ca *ca,
                      int64_t at, char org_name[MP_CERT_ORG_MAX])
{
    static const char *const fields[] = {"certificates", "cert_sig", NULL};
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509 *leaf = NULL;
    X509_STORE_CTX *ctx = NULL;
    EVP_MD_CTX *md = NULL;
    const cJSON *arr, *it;
    const char *sig64;
    unsigned char *sig = NULL, *msg = NULL;
    size_t siglen, mlen;
    char own[MP_OIN_LEN + 2];
    int rc = -1, i = 0;

    if (untrusted == NULL)
        return mp_error_system("out of memory");
    if (!cJSON_IsObject(binding) || mp_json_only(binding, "binding", fields) != 0 ||
        mp_json_arr(binding, "certificates", &arr) != 0 ||
        mp_json_str(binding, "cert_sig", &sig64) != 0)
        goto done;
    cJSON_ArrayForEach (it, arr) {
        X509 *x = cJSON_IsString(it) && i < MP_CERT_MAX_CHAIN ? parse_pem(it->valuestring) : NULL;
        if (x == NULL) {
            ERR_clear_error();
            mp_error_set("certificate %d of the binding is not a PEM certificate", i + 1);
            goto done;
        }
        if (i++ == 0)
            leaf = x;
        else if (!sk_X509_push(untrusted, x)) {
            X509_free(x);
            mp_error_system("out of memory");
            goto done;
        }
    }
    if (leaf == NULL) {
        mp_error_set("the binding holds no certificate");
        goto done;
    }
    /* 1. The chain, against the verifier's own trust file, at the given time. */
    if ((ctx = X509_STORE_CTX_new()) == NULL ||
        X509_STORE_CTX_init(ctx, ca->store, leaf, untrusted) != 1) {
        mp_error_system("out of memory");
        goto done;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    if (X509_verify_cert(ctx) != 1) {
        mp_error_set("certificate not accepted by the region's CA file: %s",
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto done;
    }
    if (ca->ncrls > 0 && check_revocation(ca, X509_STORE_CTX_get0_chain(ctx), at) != 0)
        goto done;
    /* 2. The organisation it names. */
    if (subject_attr(leaf, NID_serialNumber, own, sizeof own) != 0 || !mp_oin_valid(own)) {
        mp_error_set("the certificate's subject has no serialNumber of %d digits (OIN)",
                     MP_OIN_LEN);
        goto done;
    }
    if (strcmp(own, oin) != 0) {
        mp_error_set("the certificate is for OIN %s, the roster says %.20s", own, oin);
        goto done;
    }
    if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
        mp_error_set("the certificate may not be used for digital signatures (keyUsage)");
        goto done;
    }
    /* 3. The certificate key vouches for exactly this key. */
    if (mp_base64_decode(&sig, &siglen, sig64) != 0 || statement(&msg, &mlen, key, oin) != 0)
        goto done;
    EVP_PKEY *pk = X509_get0_pubkey(leaf);
    if (pk == NULL || (md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestVerifyInit(md, NULL, digest_for(pk), NULL, pk) != 1 ||
        EVP_DigestVerify(md, sig, siglen, msg, mlen) != 1) {
        mp_error_set("the certificate's key did not sign this mijlpaal key (key binding "
                     "signature invalid)");
        goto done;
    }
    if (org_name != NULL && subject_attr(leaf, NID_organizationName, org_name, MP_CERT_ORG_MAX))
        snprintf(org_name, MP_CERT_ORG_MAX, "?");
    rc = 0;
done:
    ERR_clear_error();
    free(sig);
    free(msg);
    EVP_MD_CTX_free(md);
    X509_STORE_CTX_free(ctx);
    X509_free(leaf);
    sk_X509_pop_free(untrusted, X509_free);
    return rc;
}
