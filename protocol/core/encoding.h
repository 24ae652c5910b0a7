/*
 * encoding.h - hex, base64 and document hashes.
 *
 * Document hashes are SHA-256 so that an auditor can recompute them with stock tools
 * (sha256sum) without trusting this software. Base64 is RFC 4648 with padding.
 */
#ifndef MP_ENCODING_H
#define MP_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MP_HASH_BYTES 32
#define MP_HASH_HEX_BYTES (2 * MP_HASH_BYTES + 1)

/* Lower-case hex of `len` bytes into out (2*len+1 bytes, NUL-terminated). */
void mp_hex_encode(char *out, const unsigned char *in, size_t len);

/* Exactly `len` bytes from a lower-case hex string of exactly 2*len characters. */
MP_WUR int mp_hex_decode(unsigned char *out, size_t len, const char *hex);

/* Base64 (standard alphabet, padded) into a fresh malloc'd NUL-terminated string. */
char *mp_base64_encode(const unsigned char *in, size_t len);

/* Decode base64 into a fresh malloc'd buffer; strict (no whitespace, padding required). */
MP_WUR int mp_base64_decode(unsigned char **out, size_t *len, const char *b64);

/* Decode base64 into a caller buffer that must receive exactly `len` bytes. */
MP_WUR int mp_base64_decode_exact(unsigned char *out, size_t len, const char *b64);

/* SHA-256 of a buffer, as bytes and as hex. */
void mp_hash(unsigned char out[MP_HASH_BYTES], const void *in, size_t len);
void mp_hash_hex(char out[MP_HASH_HEX_BYTES], const void *in, size_t len);

/* Little-endian 64-bit load/store, the byte order of every vector on the wire. */
static inline void mp_store64_le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t mp_load64_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#endif
