/*
 * rng.h - the randomness source of the noise samplers and the masks.
 *
 * Two kinds: the system CSPRNG (libsodium's randombytes), used for everything real, and a
 * deterministic ChaCha20 keystream from a 32-byte seed, used only by tests and benchmarks that
 * need reproducible draws ("fixed seeds"). Both are cryptographically strong; the seeded one is
 * predictable to whoever knows the seed, so the programs never use it.
 *
 * Invariants: a generator holds its key in sodium_malloc memory and wipes it on free;
 * mp_rng_uniform64() is exactly uniform (rejection sampling, no modulo bias).
 */
#ifndef MP_RNG_H
#define MP_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MP_RNG_SEEDBYTES 32

typedef struct mp_rng mp_rng;

MP_WUR int mp_rng_new_system(mp_rng **out);
MP_WUR int mp_rng_new_seeded(mp_rng **out, const unsigned char seed[MP_RNG_SEEDBYTES]);
void mp_rng_free(mp_rng *r);

void mp_rng_bytes(mp_rng *r, void *buf, size_t len);
uint64_t mp_rng_u64(mp_rng *r);
/* Uniform in [0, bound); bound must be > 0. */
uint64_t mp_rng_uniform64(mp_rng *r, uint64_t bound);
/* Uniform in [0, bound) for a 128-bit bound > 0. */
unsigned __int128 mp_rng_uniform128(mp_rng *r, unsigned __int128 bound);

#endif
