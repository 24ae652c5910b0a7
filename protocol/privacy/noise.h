/*
 * noise.h - exact discrete noise samplers, integer arithmetic only.
 *
 * Floating-point noise is unsafe for differential privacy (Mironov, CCS 2012): the gaps in the
 * set of representable doubles leak the value the noise was added to. These samplers therefore
 * use only integer arithmetic on rationals and uniform integers from an mp_rng; the Makefile
 * compiles noise.c with -mgeneral-regs-only, so any float or double in it fails the build.
 *
 * Algorithms: Canonne, Kamath, Steinke, "The Discrete Gaussian for Differential Privacy"
 * (NeurIPS 2020), Algorithms 1-3: Bernoulli(exp(-gamma)) for rational gamma, the discrete
 * Laplace by geometric sampling, and the discrete Gaussian by rejection from the discrete
 * Laplace.
 *
 * Parameters are rationals num/den with the bounds below; a call outside them fails with -1 and
 * a reason rather than risk an overflow. Within them every intermediate fits in an unsigned
 * 128-bit integer (the bounds and the proof are in noise.c).
 */
#ifndef MP_NOISE_H
#define MP_NOISE_H

#include <stdint.h>

#include "error.h"
#include "rng.h"

#define MP_NOISE_MAX_DEN (UINT64_C(1) << 32)    /* denominators up to 2^32 */
#define MP_NOISE_MAX_SIGMA2 (UINT64_C(1) << 40) /* sigma^2 up to 2^40, i.e. sigma up to 2^20 */

/* 1 with probability num/den (0 <= num <= den, den > 0). */
MP_WUR int mp_noise_bernoulli(mp_rng *r, uint64_t num, uint64_t den, int *out);

/* 1 with probability exp(-num/den), num >= 0, den > 0. */
MP_WUR int mp_noise_bernoulli_exp(mp_rng *r, uint64_t num, uint64_t den, int *out);

/* Discrete Laplace with scale t = num/den: P(x) proportional to exp(-|x|/t). */
MP_WUR int mp_noise_dlaplace(mp_rng *r, uint64_t num, uint64_t den, int64_t *out);

/* Discrete Gaussian with sigma^2 = num/den: P(x) proportional to exp(-x^2 / (2 sigma^2)). */
MP_WUR int mp_noise_dgauss(mp_rng *r, uint64_t sigma2_num, uint64_t sigma2_den, int64_t *out);

#endif
