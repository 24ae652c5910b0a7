/*
 * envelope.c - signed envelopes (format in envelope.h).
 */
#include "envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "fileio.h"

static const char sig_domain[] = "mijlpaal-v1\n";

/* The exact bytes that are signed: domain, type, newline, canonical body. */
int mp_envelope_message(unsigned char **msg, size_t *mlen, const char *type, const cJSON *body)
{
    char *canon;
    size_t clen, dlen = sizeof sig_domain - 1, tlen = strlen(type);
    if (mp_canon_serialise(&canon, &clen, body) != 0)
        return -1;
    *mlen = dlen + tlen + 1 + clen;
    if ((*msg = malloc(*mlen)) == NULL) {
        free(canon);
        return mp_error_system("out of memory");
    }
    memcpy(*msg, sig_domain, dlen);
    memcpy(*msg + dlen, type, tlen);
    (*msg)[dlen + tlen] = '\n';
    memcpy(*msg + dlen + tlen + 1, canon, clen);
    free(canon);
    return 0;
}

int mp_envelope_sign(char **text, size_t *len, const char *type, const cJSON *body,
                     const mp_keypair *kp)
{
    static const char head[] = "{\"body\":null";
    unsigned char *msg;
    size_t mlen, clen, tlen, hl = sizeof head - 1;
    unsigned char sig[MP_SIG_BYTES];
    char id[2 * MP_KEY_ID_BYTES + 1];
    char *b64, *tail = NULL, *out;
    cJSON *env;
    int rc = -1;

    if (mp_envelope_message(&msg, &mlen, type, body) != 0)
        return -1;
    crypto_sign_detached(sig, NULL, msg, mlen, kp->sign_sk);
    mp_hex_encode(id, kp->pub.key_id, MP_KEY_ID_BYTES);
    b64 = mp_base64_encode(sig, sizeof sig);
    env = cJSON_CreateObject();
    /* The envelope's canonical text is {"body":<canonical body>,...the other fields}: "body"
     * sorts first. The body was serialised once for the signature, so the envelope is
     * serialised with a null body and the body's text spliced in, instead of serialising a
     * large body (a 500 KiB shares message) a second time. Same bytes by construction. */
    if (b64 != NULL && env != NULL && cJSON_AddNullToObject(env, "body") &&
        cJSON_AddNumberToObject(env, "mijlpaal", 1) && cJSON_AddStringToObject(env, "type", type) &&
        cJSON_AddStringToObject(env, "signer", id) && cJSON_AddStringToObject(env, "sig", b64))
        rc = mp_canon_serialise(&tail, &tlen, env);
    else
        mp_error_system("out of memory");
    if (rc == 0 && (tlen < hl || memcmp(tail, head, hl) != 0))
        rc = mp_error_set("internal error: envelope fields out of order");
    if (rc == 0) {
        size_t dl = sizeof sig_domain - 1 + strlen(type) + 1; /* domain | type | \n */
        clen = mlen - dl;
        if ((out = malloc(hl - 4 + clen + (tlen - hl) + 1)) == NULL) {
            rc = mp_error_system("out of memory");
        } else {
            memcpy(out, head, hl - 4); /* {"body": */
            memcpy(out + hl - 4, msg + dl, clen);
            memcpy(out + hl - 4 + clen, tail + hl, tlen - hl);
            *len = hl - 4 + clen + tlen - hl;
            out[*len] = '\0';
            *text = out;
        }
    }
    free(msg);
    free(tail);
    free(b64);
    cJSON_Delete(env);
    return rc;
}

void mp_envelope_free(mp_envelope *e)
{
    if (e == NULL)
        return;
    cJSON_Delete(e->body);
    free(e->text);
    free(e);
}

int mp_envelope_parse(mp_envelope **out, const char *text, size_t len, const char *expect_type)
{
    static const char *const fields[] = {"mijlpaal", "type", "signer", "sig", "body", NULL};
    cJSON *root = NULL;
    const cJSON *body;
    const char *type, *signer, *sig;
    long long version;
    mp_envelope *e = calloc(1, sizeof *e);
    if (e == NULL)
        return mp_error_system("out of memory");
    if (mp_canon_parse(&root, text, len) != 0)
        goto fail;
    if (!cJSON_IsObject(root)) {
        mp_error_set("not a mijlpaal envelope (not a JSON object)");
        goto fail;
    }
    if (mp_json_only(root, "envelope", fields) != 0 ||
        mp_json_int(root, "mijlpaal", 1, 1, &version) != 0 || mp_json_str(root, "type", &type) ||
        mp_json_str(root, "signer", &signer) || mp_json_str(root, "sig", &sig) ||
        mp_json_obj(root, "body", &body))
        goto fail;
    if (strlen(type) >= sizeof e->type) {
        mp_error_set("envelope type too long");
        goto fail;
    }
    if (expect_type != NULL && strcmp(type, expect_type) != 0) {
        mp_error_set("is a \"%s\" document, expected a \"%s\"", type, expect_type);
        goto fail;
    }
    strcpy(e->type, type);
    if (mp_hex_decode(e->signer, MP_KEY_ID_BYTES, signer) != 0 ||
        mp_base64_decode_exact(e->sig, MP_SIG_BYTES, sig) != 0) {
        mp_error_prefix("envelope signer/sig: ");
        goto fail;
    }
    if (mp_canon_serialise(&e->text, &e->text_len, root) != 0)
        goto fail;
    mp_hash(e->hash, e->text, e->text_len);
    e->body = cJSON_DetachItemFromObjectCaseSensitive(root, "body");
    cJSON_Delete(root);
    *out = e;
    return 0;
fail:
    cJSON_Delete(root);
    mp_envelope_free(e);
    return -1;
}

int mp_envelope_load(mp_envelope **out, const char *path, const char *expect_type)
{
    unsigned char *text;
    size_t len;
    int rc;
    if (mp_file_read(path, MP_ENVELOPE_MAX, &text, &len) != 0)
        return -1;
    rc = mp_envelope_parse(out, (char *)text, len, expect_type);
    free(text);
    if (rc != 0)
        return mp_error_prefix("%s: ", path);
    return 0;
}

int mp_envelope_verify(const mp_envelope *e, const mp_pubkey *pk)
{
    unsigned char *msg;
    size_t mlen;
    int ok;
    if (sodium_memcmp(e->signer, pk->key_id, MP_KEY_ID_BYTES) != 0)
        return mp_error_set("signed by key %02x%02x%02x%02x..., not by %s's key", e->signer[0],
                            e->signer[1], e->signer[2], e->signer[3], pk->org);
    if (mp_envelope_message(&msg, &mlen, e->type, e->body) != 0)
        return -1;
    ok = crypto_sign_verify_detached(e->sig, msg, mlen, pk->sign_pk) == 0;
    free(msg);
    if (!ok)
        return mp_error_set("signature of %s does not verify (the document was altered or "
                            "not signed by this key)",
                            pk->org);
    return 0;
}

int mp_envelope_sign_detached(unsigned char sig[MP_SIG_BYTES], const char *type, const cJSON *body,
                              const mp_keypair *kp)
{
    unsigned char *msg;
    size_t mlen;
    if (mp_envelope_message(&msg, &mlen, type, body) != 0)
        return -1;
    crypto_sign_detached(sig, NULL, msg, mlen, kp->sign_sk);
    free(msg);
    return 0;
}

int mp_envelope_verify_detached(const unsigned char sig[MP_SIG_BYTES], const char *type,
                                const cJSON *body, const mp_pubkey *pk)
{
    unsigned char *msg;
    size_t mlen;
    int ok;
    if (mp_envelope_message(&msg, &mlen, type, body) != 0)
        return -1;
    ok = crypto_sign_verify_detached(sig, msg, mlen, pk->sign_pk) == 0;
    free(msg);
    return ok ? 0 : mp_error_set("%s signature of %s does not verify", type, pk->org);
}
