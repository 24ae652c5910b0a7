/*
 * skellam.h - exact Poisson and Skellam samplers, integer arithmetic only.
 *
 * The Skellam mechanism (Agarwal, Kairouz, Liu, NeurIPS 2021): each of n participants adds
 * Skellam(mu/n) noise, i.e. Poisson(mu/(2n)) - Poisson(mu/(2n)). Sums of independent Poissons
 * are Poisson, so the aggregate noise is exactly Skellam(mu), whatever n is; no approximation
 * enters the accounting.
 *
 * Like noise.h, these samplers draw only uniform integers from an mp_rng and decide every
 * probability with integer comparisons (no floating point: Mironov, CCS 2012); skellam.c is
 * meant to be compiled with -mgeneral-regs-only. The algorithm and its exactness proof are in
 * skellam.c.
 *
 * Parameters are rationals num/den; a call outside the bounds below fails with -1 and a reason.
 */
#ifndef MP_SKELLAM_H
#define MP_SKELLAM_H

#include <stdint.h>

#include "error.h"
#include "noise.h" /* MP_NOISE_MAX_DEN: denominators up to 2^32 */
#include "rng.h"

#define MP_SKELLAM_MAX_MEAN (UINT64_C(1) << 40)     /* Poisson mean up to 2^40 */
#define MP_SKELLAM_MAX_VARIANCE (UINT64_C(1) << 40) /* Skellam variance up to 2^40 */

/* Poisson with mean num/den: 1 <= num, 1 <= den <= 2^32, num/den <= 2^40. */
MP_WUR int mp_noise_poisson(mp_rng *r, uint64_t num, uint64_t den, uint64_t *out);

/* Skellam with variance num/den, i.e. Poisson(num/(2 den)) - Poisson(num/(2 den)), two
 * independent draws: 1 <= num, 1 <= den <= 2^32, num/den <= 2^40. */
MP_WUR int mp_noise_skellam(mp_rng *r, uint64_t num, uint64_t den, int64_t *out);

#endif
