/*
 * encoding.c - see encoding.h.
 */
#include "encoding.h"

#include <openssl/evp.h>
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

/* Decode canonical padded base64 (RFC 4648 alphabet): n a multiple of 4, at most two '=' at
 * the end, the unused bits of the last group zero. Exactly the strings that libsodium decodes
 * and that encode back to themselves (mp_base64_decode's rule), at several times the speed of
 * decoding and encoding again; anything else returns -1 and the caller takes the slow path for
 * its error message. The aggregator decodes millions of boxes and shares per round. */
static int b64_fast(unsigned char *out, size_t cap, const char *s, size_t n, size_t *len)
{
    static signed char val[256];
    static int ready;
    if (!ready) {
        static const char abc[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 256; i++)
            val[i] = -1;
        for (int i = 0; i < 64; i++)
            val[(unsigned char)abc[i]] = (signed char)i;
        ready = 1; /* idempotent: racing threads write the same values */
    }
    if (n == 0 || n % 4 != 0)
        return -1;
    size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    size_t olen = n / 4 * 3 - pad, o = 0;
    if (olen > cap)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int last = i + 4 == n;
        int a = val[(unsigned char)s[i]], b = val[(unsigned char)s[i + 1]];
        int c = last && pad == 2 ? 0 : val[(unsigned char)s[i + 2]];
        int d = last && pad >= 1 ? 0 : val[(unsigned char)s[i + 3]];
        if ((a | b | c | d) < 0)
            return -1;
        uint32_t w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        if (!last || pad == 0) {
            out[o++] = (unsigned char)(w >> 16);
            out[o++] = (unsigned char)(w >> 8);
            out[o++] = (unsigned char)w;
        } else if (pad == 1) {
            if (w & 0xff) /* unused bits must be zero */
                return -1;
            out[o++] = (unsigned char)(w >> 16);
            out[o++] = (unsigned char)(w >> 8);
        } else {
            if (w & 0xffff)
                return -1;
            out[o++] = (unsigned char)(w >> 16);
        }
    }
    *len = olen;
    return 0;
}

int mp_base64_decode(unsigned char **out, size_t *len, const char *b64)
{
    size_t n = strlen(b64);
    size_t cap = n / 4 * 3 + 3;
    const char *end = NULL;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (buf == NULL)
        return mp_error_system("out of memory");
    if (b64_fast(buf, cap, b64, n, len) == 0) {
        *out = buf;
        return 0;
    }
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
    size_t got, n = strlen(b64);
    /* Fast path for short values (keys, signatures, boxes, shares): no allocation, and out is
     * written only on success. */
    unsigned char tmp[512];
    if (len <= sizeof tmp && n == (len + 2) / 3 * 4 && b64_fast(tmp, len, b64, n, &got) == 0 &&
        got == len) {
        memcpy(out, tmp, len);
        sodium_memzero(tmp, len);
        return 0;
    }
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
    /* OpenSSL's SHA-256 uses the CPU's SHA instructions (about five times libsodium's portable
     * code here), and every message is hashed when it is parsed; the digest is the same. */
    unsigned int n = 0;
    if (EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) != 1 || n != MP_HASH_BYTES)
        crypto_hash_sha256(out, in, len);
}

void mp_hash_hex(char out[MP_HASH_HEX_BYTES], const void *in, size_t len)
{
    unsigned char h[MP_HASH_BYTES];
    mp_hash(h, in, len);
    mp_hex_encode(out, h, sizeof h);
}
