/*
 * mask.c - pairwise masks (see mask.h for the construction).
 */
#include "mask.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PRG_CHUNK 4096 /* bytes of keystream per crypto_stream call */

/* The keystream words are read as little-endian 64-bit integers (mask.h). On a little-endian
 * host that is a plain load, which lets the compiler vectorise the add; the byte-wise load
 * stays for other hosts. The result is the same bits either way. */
static inline uint64_t ks_word(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return mp_load64_le(p);
#endif
}

void mp_mask_prg_apply(uint64_t *vec, size_t d, const unsigned char seed[32], int sign)
{
    static const unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
    static const unsigned char zeros[PRG_CHUNK];
    unsigned char ks[PRG_CHUNK];
    size_t done = 0;
    uint32_t block = 0;
    while (done < d) {
        size_t words = d - done;
        if (words > PRG_CHUNK / 8)
            words = PRG_CHUNK / 8;
        crypto_stream_chacha20_ietf_xor_ic(ks, zeros, words * 8, nonce, block, seed);
        block += PRG_CHUNK / 64;
        /* One loop per sign, without a branch inside: the hot loop of unmasking. */
        uint64_t *out = vec + done;
        if (sign > 0)
            for (size_t i = 0; i < words; i++)
                out[i] += ks_word(ks + 8 * i);
        else
            for (size_t i = 0; i < words; i++)
                out[i] -= ks_word(ks + 8 * i);
        done += words;
    }
    sodium_memzero(ks, sizeof ks);
}

int mp_mask_pair_seed(unsigned char seed[32], const mp_keypair *self, const mp_pubkey *peer,
                      const unsigned char round_hash[MP_HASH_BYTES])
{
    static const char tag[] = "mijlpaal-pairmask-v1";
    unsigned char shared[crypto_scalarmult_BYTES];
    crypto_generichash_state st;
    const mp_pubkey *lo = &self->pub, *hi = peer;
    int cmp = strcmp(self->pub.org, peer->org);
    if (cmp == 0)
        return mp_error_set("cannot derive a pair mask with oneself (%s)", peer->org);
    if (cmp > 0) {
        lo = peer;
        hi = &self->pub;
    }
    if (crypto_scalarmult(shared, self->kx_sk, peer->kx_pk) != 0)
        return mp_error_set("key agreement with %s failed (invalid public key)", peer->org);
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
    crypto_generichash_update(&st, round_hash, MP_HASH_BYTES);
    crypto_generichash_update(&st, lo->kx_pk, MP_KX_PK_BYTES);
    crypto_generichash_update(&st, hi->kx_pk, MP_KX_PK_BYTES);
    crypto_generichash_update(&st, shared, sizeof shared);
    crypto_generichash_final(&st, seed, 32);
    sodium_memzero(shared, sizeof shared);
    sodium_memzero(&st, sizeof st);
    return 0;
}

int mp_mask_apply(uint64_t *vec, size_t d, const mp_keypair *self, const mp_pubkey *peers,
                  size_t npeers, const unsigned char round_hash[MP_HASH_BYTES])
{
    unsigned char seed[32];
    for (size_t j = 0; j < npeers; j++) {
        int cmp = strcmp(self->pub.org, peers[j].org);
        if (cmp == 0)
            continue;
        if (mp_mask_pair_seed(seed, self, &peers[j], round_hash) != 0) {
            sodium_memzero(seed, sizeof seed);
            return -1;
        }
        mp_mask_prg_apply(vec, d, seed, cmp < 0 ? +1 : -1);
    }
    sodium_memzero(seed, sizeof seed);
    return 0;
}

void mp_vec_add(uint64_t *sum, const uint64_t *v, size_t d)
{
    for (size_t i = 0; i < d; i++)
        sum[i] += v[i];
}

char *mp_vec_encode(const uint64_t *v, size_t d)
{
    unsigned char *b = malloc(d * 8 + 1);
    char *out;
    if (b == NULL)
        return NULL;
    for (size_t i = 0; i < d; i++)
        mp_store64_le(b + 8 * i, v[i]);
    out = mp_base64_encode(b, d * 8);
    free(b);
    return out;
}

int mp_vec_decode(uint64_t *v, size_t d, const char *b64)
{
    unsigned char *b;
    size_t len;
    if (mp_base64_decode(&b, &len, b64) != 0)
        return -1;
    if (len != d * 8) {
        free(b);
        return mp_error_set("vector has %zu bytes, expected %zu (%zu cells)", len, d * 8, d);
    }
    for (size_t i = 0; i < d; i++)
        v[i] = mp_load64_le(b + 8 * i);
    free(b);
    return 0;
}
