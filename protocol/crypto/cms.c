/*
 * cms.c - detached CMS signatures of a release with OpenSSL 3 (see cms.h).
 */
#include "cms.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define PEM_MAX (1024 * 1024)
#define CONTENT_MAX (256u * 1024 * 1024)

/* The reason OpenSSL gives, after ours. */
static int ossl_fail(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return mp_error_set("%s", what);
    ERR_error_string_n(e, buf, sizeof buf);
    return mp_error_set("%s (%s)", what, buf);
}

/* Every certificate in a PEM file (at least one). */
static int read_certs(const char *path, STACK_OF(X509) * *out)
{
    unsigned char *buf;
    size_t len;
    BIO *b;
    X509 *x;
    if (mp_file_read(path, PEM_MAX, &buf, &len) != 0)
        return -1;
    b = BIO_new_mem_buf(buf, (int)len);
    *out = sk_X509_new_null();
    if (b == NULL || *out == NULL) {
        BIO_free(b);
        free(buf);
        sk_X509_free(*out);
        return mp_error_system("out of memory");
    }
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(*out, x)) {
            X509_free(x);
            break;
        }
    ERR_clear_error(); /* the end of the file reads as an error */
    BIO_free(b);
    free(buf);
    if (sk_X509_num(*out) == 0) {
        sk_X509_free(*out);
        return mp_error_set("%s: no PEM certificate in it", path);
    }
    return 0;
}

static EVP_PKEY *read_key(const char *path)
{
    unsigned char *buf;
    size_t len;
    BIO *b;
    EVP_PKEY *k = NULL;
    if (mp_file_read_secret(path, PEM_MAX, &buf, &len) != 0)
        return NULL;
    if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    mp_file_free_secret(buf); /* sodium_free wipes it */
    if (k == NULL)
        ossl_fail("not a PEM private key (an unencrypted PKCS#8 or EC key is expected)");
    return k;
}

static int is_p256(EVP_PKEY *k)
{
    char curve[64];
    size_t n;
    return EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
           EVP_PKEY_get_utf8_string_param(k, "group", curve, sizeof curve, &n) == 1 &&
           strcmp(curve, "prime256v1") == 0;
}

static int bio_to_file(BIO *b, const char *path)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0)
        return mp_error_set("%s: nothing to write", path);
    return mp_file_write_atomic(path, p, (size_t)n, 0644);
}

int mp_cms_sign_file(const char *content_path, const char *cert_pem, const char *key_pem,
                     const char *chain_pem, const char *out_p7s, const char *out_chain)
{
    STACK_OF(X509) *leaf = NULL, *chain = NULL;
    EVP_PKEY *key = NULL;
    CMS_ContentInfo *cms = NULL;
    BIO *in = NULL, *der = NULL, *pem = NULL, *again = NULL;
    unsigned char *content = NULL;
    size_t len;
    int rc = -1;

    if (read_certs(cert_pem, &leaf) != 0 || (chain_pem && read_certs(chain_pem, &chain) != 0))
        goto out;
    if ((key = read_key(key_pem)) == NULL) {
        mp_error_prefix("%s: ", key_pem);
        goto out;
    }
    X509 *signer = sk_X509_value(leaf, 0);
    if (!is_p256(key)) {
        mp_error_set("%s: the CMS key must be ECDSA P-256 (prime256v1)", key_pem);
        goto out;
    }
    if (X509_check_private_key(signer, key) != 1) {
        ossl_fail("the key does not belong to the certificate");
        mp_error_prefix("%s and %s: ", key_pem, cert_pem);
        goto out;
    }
    if (mp_file_read(content_path, CONTENT_MAX, &content, &len) != 0)
        goto out;
    if ((in = BIO_new_mem_buf(content, (int)len)) == NULL)
        goto oom;
    cms = CMS_sign(signer, key, chain, in, CMS_DETACHED | CMS_BINARY);
    if (cms == NULL) {
        ossl_fail("CMS signing failed");
        goto out;
    }
    if ((der = BIO_new(BIO_s_mem())) == NULL || (pem = BIO_new(BIO_s_mem())) == NULL)
        goto oom;
    if (i2d_CMS_bio(der, cms) != 1) {
        ossl_fail("cannot encode the CMS signature");
        goto out;
    }
    /* Check what is about to be published against the signer's own certificate. */
    if ((again = BIO_new_mem_buf(content, (int)len)) == NULL)
        goto oom;
    if (CMS_verify(cms, NULL, NULL, again, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
        ossl_fail("the new CMS signature does not verify");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(leaf); i++)
        if (PEM_write_bio_X509(pem, sk_X509_value(leaf, i)) != 1)
            goto oom;
    for (int i = 0; chain && i < sk_X509_num(chain); i++)
        if (PEM_write_bio_X509(pem, sk_X509_value(chain, i)) != 1)
            goto oom;
    if (bio_to_file(der, out_p7s) != 0 || bio_to_file(pem, out_chain) != 0)
        goto out;
    rc = 0;
    goto out;
oom:
    mp_error_system("out of memory");
out:
    BIO_free(in);
    BIO_free(again);
    BIO_free(der);
    BIO_free(pem);
    CMS_ContentInfo_free(cms);
    EVP_PKEY_free(key);
    sk_X509_pop_free(leaf, X509_free);
    sk_X509_pop_free(chain, X509_free);
    free(content);
    ERR_clear_error();
    return rc;
}

int mp_cms_verify_file(const char *content_path, const char *p7s, const char *ca_pem)
{
    STACK_OF(X509) *cas = NULL;
    X509_STORE *store = NULL;
    CMS_ContentInfo *cms = NULL;
    BIO *in = NULL, *sig = NULL;
    unsigned char *content = NULL, *der = NULL;
    size_t len, dlen;
    int rc = -1;
    if (read_certs(ca_pem, &cas) != 0 || mp_file_read(content_path, CONTENT_MAX, &content, &len) ||
        mp_file_read(p7s, PEM_MAX, &der, &dlen) != 0)
        goto out;
    if ((store = X509_STORE_new()) == NULL)
        goto oom;
    for (int i = 0; i < sk_X509_num(cas); i++)
        if (X509_STORE_add_cert(store, sk_X509_value(cas, i)) != 1)
            goto oom;
    if ((sig = BIO_new_mem_buf(der, (int)dlen)) == NULL ||
        (in = BIO_new_mem_buf(content, (int)len)) == NULL)
        goto oom;
    if ((cms = d2i_CMS_bio(sig, NULL)) == NULL) {
        ossl_fail("not a DER CMS signature");
        mp_error_prefix("%s: ", p7s);
        goto out;
    }
    if (CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY) != 1) {
        ossl_fail("the CMS signature does not verify");
        mp_error_prefix("%s over %s: ", p7s, content_path);
        goto out;
    }
    rc = 0;
    goto out;
oom:
    mp_error_system("out of memory");
out:
    BIO_free(in);
    BIO_free(sig);
    CMS_ContentInfo_free(cms);
    X509_STORE_free(store);
    sk_X509_pop_free(cas, X509_free);
    free(content);
    free(der);
    ERR_clear_error();
    return rc;
}
