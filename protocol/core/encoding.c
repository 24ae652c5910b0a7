/*
 * encoding.c - see encoding.h.
 */
#include "encoding.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void mp_hex_encode(char *out, const unsigned char *in, size_t len)
{
    sodium_bin2hex(out, 2 * len + 1, in, len);
}

int mp_hex_decode(unsigned char *out, size_t len, const char *hex)
{
    size_t got = 0;
    const char *end = NULL;
    if (hex == NULL || strlen(hex) != 2 * len)
        return mp_error_set("expected %zu hex characters", 2 * len);
    /* Lower case only: one value, one spelling, so a document has one hash. */
    if (strspn(hex, "0123456789abcdef") != 2 * len)
        return mp_error_set("invalid hex string (lower-case 0-9a-f only)");
    if (sodium_hex2bin(out, len, hex, 2 * len, NULL, &got, &end) != 0 || got != len || *end != '\0')
        return mp_error_set("invalid hex string");
    return 0;
}

char *mp_base64_encode(const unsigned char *in, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int mp_base64_decode(unsigned char **out, size_t *len, const char *b64)
{
    size_t n = strlen(b64);
    size_t cap = n / 4 * 3 + 3;
    const char *end = NULL;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (buf == NULL)
        return mp_error_system("out of memory");
    if (sodium_base642bin(buf, cap, b64, n, NULL, len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *end != '\0') {
        free(buf);
        return mp_error_set("invalid base64");
    }
    /* One spelling per value: a document whose bytes differ must not carry the same data
     * (hashes of files name documents), so anything but the canonical encoding is refused. */
    char *again = mp_base64_encode(buf, *len);
    if (again == NULL || strcmp(again, b64) != 0) {
        free(again);
        free(buf);
        return mp_error_set("invalid base64 (not in its canonical form)");
    }
    free(again);
    *out = buf;
    return 0;
}

int mp_base64_decode_exact(unsigned char *out, size_t len, const char *b64)
{
    unsigned char *buf;
    size_t got;
    if (mp_base64_decode(&buf, &got, b64) != 0)
        return -1;
    if (got != len) {
        sodium_memzero(buf, got);
        free(buf);
        return mp_error_set("expected %zu bytes of base64 data, got %zu", len, got);
    }
    memcpy(out, buf, len);
    sodium_memzero(buf, got);
    free(buf);
    return 0;
}

void mp_hash(unsigned char out[MP_HASH_BYTES], const void *in, size_t len)
{
    crypto_hash_sha256(out, in, len);
}

void mp_hash_hex(char out[MP_HASH_HEX_BYTES], const void *in, size_t len)
{
    unsigned char h[MP_HASH_BYTES];
    mp_hash(h, in, len);
    mp_hex_encode(out, h, sizeof h);
}
