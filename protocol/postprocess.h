/*
 * postprocess.h - turn the opened noisy count vector into published, consistent counts.
 *
 * The opened sum of a round is the true vector plus differential-privacy noise, so it is
 * inconsistent (a breakdown's bands do not add up to the metric's total), may be negative, and
 * shows every unit of the noise. Anything computed from the noisy vector alone, without another
 * look at the data, is post-processing and costs no privacy (Dwork and Roth, Proposition 2.1).
 * mp_post_process is such a function: it reads nothing but the noisy vector, the catalogue
 * layout (catalogue.h, invariant 3) and public parameters.
 *
 * Guarantees of the output (checked by mp_post_check):
 *   1. every cell is >= 0;
 *   2. every cell is a multiple of p->rounding;
 *   3. for every metric and every breakdown of it, the band cells sum exactly to the metric's
 *      total - as they do in the true data, where every counted person adds 1 to the total and
 *      1 to exactly one band of each breakdown (catalogue.h, invariant 1);
 *   4. when the noisy vector already satisfies 1-3, it is returned unchanged;
 *   5. the result is a function of the input alone, identical on every machine: the method below
 *      uses integer and exact rational arithmetic only (128-bit intermediates), no floating
 *      point, and every tie is broken by a fixed rule.
 *
 * Method, per metric (metrics share no cell, so each is done on its own). Write y_T for the noisy
 * total and, for breakdown j = 1..m with k_j bands, y_ji for its bands and S_j = sum_i y_ji.
 *
 *   Step 1, least squares. All cells carry noise of the same variance, independent across cells,
 *   so the best linear unbiased consistent estimate is the Euclidean projection of y onto
 *   {x : sum_i x_ji = x_T for every j}: minimise (x_T - y_T)^2 + sum_ji (x_ji - y_ji)^2.
 *   For a fixed total T the breakdowns separate; breakdown j must move its bands by a total of
 *   T - S_j, and the cheapest way is an equal shift x_ji = y_ji + (T - S_j)/k_j, costing
 *   (T - S_j)^2/k_j. What is left is one-dimensional: minimise
 *   (T - y_T)^2 + sum_j (T - S_j)^2/k_j, whose derivative vanishes at
 *       T* = (y_T + sum_j S_j/k_j) / (1 + sum_j 1/k_j),
 *   a weighted mean of y_T (weight 1) and the S_j (weight 1/k_j, the inverse of the variance of
 *   S_j in units of the cell variance). So the published total leans on every breakdown too, and
 *   its variance drops from s^2 to s^2/(1 + sum_j 1/k_j).
 *   Exactly: with L = lcm(k_j) (1 without breakdowns), D = L + sum_j L/k_j and
 *   N = L*y_T + sum_j (L/k_j)*S_j, T* = N/D and x_ji = y_ji + (N - D*S_j)/(k_j*D). Both are kept
 *   as numerators over the common denominator Q = L*D.
 *
 *   Step 2, non-negativity. T+ = max(T*, 0). Then, for each breakdown separately, the
 *   non-negative band vector nearest (in least squares) to the step-1 bands with sum T+: the
 *   Euclidean projection onto the scaled simplex {x >= 0, sum x = T+}. It is
 *   x_i = max(v_i - tau, 0) for the one tau that makes the sum T+; with v sorted descending,
 *   tau = (v_(1) + ... + v_(rho) - T+)/rho for the largest rho with
 *   rho*v_(rho) > v_(1) + ... + v_(rho) - T+ (Held, Wolfe, Crowder 1974; Duchi et al., ICML
 *   2008). Bands the projection zeroes were the lowest; the others all shift by the same tau, so
 *   they keep their differences. When T+ = 0 every band is 0. The x_i are exact rationals over
 *   Q*rho and sum to T+ exactly.
 *
 *   Step 3, rounding to multiples of r = p->rounding (CBS-style publication; r = 1 only makes the
 *   values integers). The total becomes r*R with R = T+/r rounded to the nearest integer, ties
 *   to the even integer (round-half-to-even: no upward bias when, as with one breakdown of one
 *   band, T* often ends in exactly .5). Each breakdown gets r*u_i with u_i = floor(x_i/r), plus 1
 *   for the R - sum_i floor(x_i/r) bands with the largest remainders x_i/r - floor(x_i/r), ties
 *   to the lower band index (the largest-remainder method). Among non-negative integer vectors
 *   with sum R, this one is nearest to x/r in least squares. The count of extra units is at
 *   least 0 (sum floor <= floor(T+/r) <= R) and below the number of bands with a positive
 *   remainder plus 1/2 (their remainders sum below that number), so only bands with a positive
 *   remainder receive one: a band that step 2 set to 0 stays 0, and nothing goes negative.
 *
 * Bounds (a call outside them fails with -1 and a reason before anything is written):
 *   |noisy[i]| <= MP_POST_MAX_ABS = 2^53 - 1 (the largest integer a canonical JSON document
 *   carries), 1 <= p->rounding <= MP_POST_MAX_ROUNDING = 2^32, and the catalogue's own limits
 *   (at most MP_DIM_COUNT = 4 breakdowns of at most MP_MAX_BANDS = 16 bands).
 *   Proof that the 128-bit intermediates do not overflow: L <= 16^4 = 2^16, D <= 5L < 2^19,
 *   Q < 2^35; |S_j| <= 16 * 2^53 = 2^57, |N| <= L * 5 * 2^57 < 2^76, so the total's numerator
 *   L*N < 2^92 and a band's numerator (L/k_j)(k_j*D*y + N - D*S_j) < 2^16 * 3 * 2^76 < 2^94;
 *   step 2 multiplies by rho <= 16 and sums at most 16 of these: below 2^103; step 3 divides
 *   by Q*rho*r < 2^35 * 2^4 * 2^32 = 2^71. T* is a weighted mean of y_T and the S_j, so
 *   |T*| <= 2^57 and every published cell is at most 2^57 + 2^32: it fits an int64_t. (So a
 *   published vector may exceed MP_POST_MAX_ABS and is a valid input again only within it.)
 */
#ifndef MP_POSTPROCESS_H
#define MP_POSTPROCESS_H

#include <stdint.h>

#include "catalogue.h"
#include "error.h"

#define MP_POST_MAX_ABS ((INT64_C(1) << 53) - 1)
#define MP_POST_MAX_ROUNDING (UINT64_C(1) << 32)

typedef struct mp_post_params {
    uint64_t rounding; /* publish multiples of this; 1 = integers, no further rounding */
} mp_post_params;

/* noisy[c->ncells] -> published[c->ncells] satisfying guarantees 1-5 above. `published` may be
 * the same array as `noisy`. Fails (-1, mp_error_get) on a NULL argument, a value or rounding
 * outside the bounds, or a catalogue whose layout does not add up; nothing is written then. */
MP_WUR int mp_post_process(const mp_catalogue *c, const int64_t *noisy, const mp_post_params *p,
                           int64_t *published);

/* 0 when `v` (c->ncells values) satisfies guarantees 1-3 for `rounding` (>= 1); otherwise -1
 * with a reason naming the first cell or breakdown at fault. For auditors and tests. */
MP_WUR int mp_post_check(const mp_catalogue *c, const int64_t *v, uint64_t rounding);

#endif
