/*
 * intmath.h - small exact integer helpers shared by the samplers, the post-processing and the
 * benchmarks. Header-only and integer-only, so that noise.c (compiled without floating-point
 * registers) can use it.
 */
#ifndef MP_INTMATH_H
#define MP_INTMATH_H

#include <stdint.h>

/* Greatest common divisor (gcd(a, 0) = a). */
static inline uint64_t mp_gcd64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

#endif
