/*
 * envelope.h - the signed JSON envelope every message and document travels in.
 *
 *   {"body":{...},"mijlpaal":1,"sig":B64,"signer":KEYID_HEX,"type":TYPE}
 *
 * written in canonical form (canon.h) without a trailing newline, so that the SHA-256 of the
 * file as written (`sha256sum FILE`) is the document's hash that other documents refer to.
 *
 * The Ed25519 signature covers
 *
 *   "mijlpaal-v1" 0x0A TYPE 0x0A canonical(body)
 *
 * so that a signature on one type of document can never be replayed as another type, and a
 * verifier checks exactly the bytes it re-serialises, whatever whitespace the file had.
 *
 * Types: "roster", "round", "submission", "release", and for masking scheme bonawitz-v1
 * (secagg.h) "advertise", "keys", "survivors", "consistency", "unmask-request", "unmask".
 *
 * A detached signature (no envelope) uses the same domain and framing with its own type; the
 * secure-aggregation messages use one ("mask-key", "consistency") where a signed statement has
 * to travel inside another party's message.
 */
#ifndef MP_ENVELOPE_H
#define MP_ENVELOPE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "encoding.h"
#include "error.h"
#include "keys.h"

#define MP_ENVELOPE_MAX (64u * 1024 * 1024) /* largest envelope read from a file */

typedef struct mp_envelope {
    char type[32];
    unsigned char signer[MP_KEY_ID_BYTES];
    unsigned char sig[MP_SIG_BYTES];
    cJSON *body;                       /* owned */
    unsigned char hash[MP_HASH_BYTES]; /* SHA-256 of the canonical envelope */
    char *text;                        /* canonical envelope text, owned */
    size_t text_len;
} mp_envelope;

/* Sign `body` (not consumed) as `type` and return the canonical envelope text. */
MP_WUR int mp_envelope_sign(char **text, size_t *len, const char *type, const cJSON *body,
                            const mp_keypair *kp);

/* Parse an envelope of the expected type (NULL: any). Does NOT verify the signature. */
MP_WUR int mp_envelope_parse(mp_envelope **out, const char *text, size_t len,
                             const char *expect_type);

/* Read and parse a file; errors are prefixed with the path. */
MP_WUR int mp_envelope_load(mp_envelope **out, const char *path, const char *expect_type);

/* Verify the signature against a signing public key; also checks the signer id matches. */
MP_WUR int mp_envelope_verify(const mp_envelope *e, const mp_pubkey *pk);

void mp_envelope_free(mp_envelope *e);

/* The bytes every signature of this module covers: "mijlpaal-v1" 0x0A TYPE 0x0A canonical(body)
 * (malloc'd). Also what a certificate key signs in a key binding (cert.h). */
MP_WUR int mp_envelope_message(unsigned char **msg, size_t *mlen, const char *type,
                               const cJSON *body);

/* A signature over "mijlpaal-v1" 0x0A TYPE 0x0A canonical(body), outside any envelope. */
MP_WUR int mp_envelope_sign_detached(unsigned char sig[MP_SIG_BYTES], const char *type,
                                     const cJSON *body, const mp_keypair *kp);
MP_WUR int mp_envelope_verify_detached(const unsigned char sig[MP_SIG_BYTES], const char *type,
                                       const cJSON *body, const mp_pubkey *pk);

#endif
