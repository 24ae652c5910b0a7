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
 *   3b. a metric "within" a parent (catalogue.h) has a total at most the parent's, as in the
 *      true data, where the child's persons are among the parent's;
 *   4. when the noisy vector already satisfies 1-3b, it is returned unchanged;
 *   5. the result is a function of the input (and p->seed) alone, identical on every machine:
 *      the method below uses integer and exact rational arithmetic only (128-bit
 *      intermediates), no floating point, and every tie is broken by a fixed rule. (The
 *      accuracy figures of mp_post_process_detail are doubles; they are not published values.)
 *
 * Method, per metric (metrics share no cell, so each is done on its own, except for the pairs
 * of step 1b). Write y_T for the noisy
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
 *   Step 1b, nesting. For a metric c within a parent p the true totals satisfy T_c <= T_p. When
 *   the step-1 totals do too, nothing changes. Otherwise the least-squares solution with the
 *   constraint has it active, T_c = T_p = T, and since metric m's cost as a function of its
 *   total is W_m (T - T*_m)^2 + const (W_m = 1 + sum_j 1/k_j = D_m/L_m, the bands following the
 *   total as in step 1), T is the precision-weighted mean
 *       T = (W_p T*_p + W_c T*_c)/(W_p + W_c) = (N_p L_c + N_c L_p)/(D_p L_c + D_c L_p),
 *   kept as the numerator A and denominator B of both metrics (unpooled: A = N, B = D). The
 *   bands of both metrics then follow the pooled total exactly as in step 1:
 *   x_ji = y_ji + (T - S_j)/k_j = (L/k_j)(k_j*B*y_ji + A - B*S_j)/(L*B), so Q = L*B.
 *   Nesting is one level deep with one child per parent (catalogue.h, invariant 4), so the
 *   pairs are disjoint and each is solved on its own.
 *
 *   Accuracy (mp_post_process_detail). Every noisy cell is y = truth + e with e independent
 *   across cells, of variance s^2 (n shares). Steps 1 and 1b are linear in y, so the estimate
 *   x^ (before steps 2 and 3) is unbiased with variance s^2 times:
 *     total:                      v_T = 1/W = L/D; pooled: 1/(W_p + W_c) = L_p L_c / B;
 *     band of breakdown j (k_j):  1 - 1/k_j + v_T/k_j^2,
 *   because x_ji = (y_ji - S_j/k_j) + T/k_j, the first term has variance s^2 (1 - 1/k_j) and is
 *   uncorrelated with S_j (Cov(y_ji - S_j/k_j, S_j) = s^2 - s^2 = 0) and with y_T, hence with
 *   T. Without nesting this is the diagonal of the orthogonal projection P onto the
 *   consistent subspace, Var(x^_i) = s^2 (P P^T)_ii = s^2 P_ii: for one breakdown of k bands
 *   both the total and a band have P_ii = k/(k+1), and the trace is k, the subspace's dimension.
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
 *   values integers), in one of two ways.
 *
 *   With p->seed (what releases use): unbiased random rounding. Each metric draws one uniform
 *   U = u/2^32 from SHA-256("mijlpaal rounding v1" || seed || metric index, 4 bytes LE), a
 *   child using its parent's index so that both round a pooled total alike and the rounding
 *   is monotone (child <= parent survives it). The total becomes r*R, R = floor(T+/r) + 1 when
 *   the fractional part exceeds U (= ceil(T+/r - U)): rounded up with probability equal to the
 *   fractional part, so E[R] = T+/r. Each breakdown is rounded systematically with the same U:
 *   with f_i the fractional parts of x_i/r and C_i = f_0 + ... + f_i, band i gets
 *   floor(x_i/r) + ceil(C_i - U) - ceil(C_(i-1) - U) (C_-1 = 0). Each term is 0 or 1 and is 1
 *   with probability f_i (the interval (C_(i-1), C_i] of length f_i < 1 holds a point U + m
 *   with that probability), so every band is rounded without bias; the terms add up to
 *   ceil(F - U), F = sum f_i, and since F and T+/r have the same fractional part that is
 *   exactly R - sum floor(x_i/r): the bands still sum to the total. A band with f_i = 0 never
 *   moves, so 0 stays 0 and guarantee 4 holds. Given the value before rounding, the rounding
 *   error has mean 0 and variance r^2 f (1 - f) (round_var of the detail).
 *
 *   Without a seed (the earlier deterministic method, kept for comparison): the total becomes
 *   r*R with R = T+/r rounded to the nearest integer, ties to the even integer (round-half-to-even:
 * no upward bias when, as with one breakdown of one band, T* often ends in exactly .5). Each
 * breakdown gets r*u_i with u_i = floor(x_i/r), plus 1 for the R - sum_i floor(x_i/r) bands with
 * the largest remainders x_i/r - floor(x_i/r), ties to the lower band index (the largest-remainder
 * method). Among non-negative integer vectors with sum R, this one is nearest to x/r in least
 * squares. The count of extra units is at least 0 (sum floor <= floor(T+/r) <= R) and below the
 * number of bands with a positive remainder plus 1/2 (their remainders sum below that number), so
 * only bands with a positive remainder receive one: a band that step 2 set to 0 stays 0, and
 * nothing goes negative.
 *
 * Bounds (a call outside them fails with -1 and a reason before anything is written):
 *   |noisy[i]| <= MP_POST_MAX_ABS = 2^53 - 1 (the largest integer a canonical JSON document
 *   carries), 1 <= p->rounding <= MP_POST_MAX_ROUNDING = 2^32, and the catalogue's own limits
 *   (at most MP_DIM_COUNT = 4 breakdowns of at most MP_MAX_BANDS = 16 bands).
 *   Proof that the 128-bit intermediates do not overflow: L <= 16^4 = 2^16, D <= 5L < 2^19;
 *   |S_j| <= 16 * 2^53 = 2^57, |N| <= L * 5 * 2^57 < 2^76. Pooled, B = D_p L_c + D_c L_p < 2^36
 *   and |A| < 2 * 2^76 * 2^16 = 2^93 (unpooled B = D, A = N are smaller), so Q = L*B < 2^52,
 *   the total's numerator L*A < 2^109 and a band's numerator (L/k_j)(k_j*B*y + A - B*S_j) <
 *   2^16 * 3 * 2^93 < 2^111; step 2 multiplies by rho <= 16 and sums at most 16 of these: below
 *   2^119; step 3 divides by Q*rho*r < 2^52 * 2^4 * 2^32 = 2^88, and random rounding compares
 *   remainders (below that denominator) times 2^32 with u times the denominator: below 2^120.
 *   The comparison of step 1b multiplies unpooled values: |N| * D < 2^95. T* is a weighted mean
 *   of y_T and the S_j (pooled: of two such), so |T*| <= 2^57 and every published cell is at
 *   most 2^57 + 2^32: it fits an int64_t. (So a published vector may exceed MP_POST_MAX_ABS and
 *   is a valid input again only within it.)
 */
#ifndef MP_POSTPROCESS_H
#define MP_POSTPROCESS_H

#include <stdint.h>

#include "catalogue.h"
#include "error.h"

#define MP_POST_MAX_ABS ((INT64_C(1) << 53) - 1)
#define MP_POST_MAX_ROUNDING (UINT64_C(1) << 32)

#define MP_POST_SEED_BYTES 32

typedef struct mp_post_params {
    uint64_t rounding; /* publish multiples of this; 1 = integers, no further rounding */
    /* MP_POST_SEED_BYTES of public randomness for unbiased random rounding (step 3); NULL =
     * the deterministic nearest/largest-remainder rounding. A release derives it from public
     * data (release.h) so that an auditor's rebuild is byte-identical. */
    const unsigned char *seed;
} mp_post_params;

/* What happened to a cell's metric beyond the linear least squares of step 1. */
enum { MP_POST_CLAMPED = 1, MP_POST_NESTED = 2 };

/* The accuracy of one published cell (see "Accuracy" above). Doubles, correctly rounded IEEE
 * operations only (+ - * / and integer-to-double conversions), so they too are the same on
 * every IEEE machine. */
typedef struct mp_post_cell {
    double estimate;    /* x^: steps 1 and 1b, before non-negativity and rounding (may be < 0) */
    double var_factor;  /* Var(x^) / s^2 */
    double pre_round;   /* the value after step 2, before rounding */
    double round_frac;  /* f, the fractional part of pre_round/r */
    double round_var;   /* r^2 f (1-f): the variance of the random rounding (with a seed) given
                         * pre_round */
    size_t round_group; /* the metric whose uniform U rounded this cell (a child uses its
                         * parent's): totals of one group have correlated rounding errors */
    unsigned flags;     /* MP_POST_CLAMPED (step 2 moved a cell of the metric), MP_POST_NESTED
                         * (step 1b pooled the metric with its parent or child) */
} mp_post_cell;

/* noisy[c->ncells] -> published[c->ncells] satisfying guarantees 1-5 above. `published` may be
 * the same array as `noisy`. Fails (-1, mp_error_get) on a NULL argument, a value or rounding
 * outside the bounds, or a catalogue whose layout does not add up; nothing is written then. */
MP_WUR int mp_post_process(const mp_catalogue *c, const int64_t *noisy, const mp_post_params *p,
                           int64_t *published);

/* The same, and when `detail` is not NULL, detail[c->ncells] describes each cell's accuracy. */
MP_WUR int mp_post_process_detail(const mp_catalogue *c, const int64_t *noisy,
                                  const mp_post_params *p, int64_t *published,
                                  mp_post_cell *detail);

/*
 * Publication rules (docs/privacy.md gives the reasons; s2 = the noise variance of a noisy
 * cell, n shares of the round's share variance):
 *   sd  = sqrt(s2 * var_factor): the sd of the estimate after the consistency step;
 *   var = sd^2 + round_var: the variance of the published, randomly rounded figure;
 *   moe = floor(1.96 sqrt(var)) (value and truth are integers: the floor loses no coverage);
 *   small-cell rule: the figure is shown as a value, with [value - moe, value + moe] clipped at
 *   0, when 2 moe <= value (a margin of at most half the figure); otherwise it is suppressed as
 *   a point (MP_POST_SMALL_CELL) and shown as the interval [ceil(x^ - 1.96 sd),
 *   floor(x^ + 1.96 sd)] of the unbiased unprojected estimate, clipped at 0: "less_than" when
 *   its lower bound is 0, else "range".
 *   rates num/den of two published totals: suppressed when den is 0 (MP_POST_ZERO_DENOMINATOR)
 *   or the denominator is not shown as a value (MP_POST_SMALL_DENOMINATOR); otherwise
 *   Fieller's 95% interval for the ratio of two normal estimates with variances var and the
 *   covariance of their rounding (a parent and child round with one U; their noise is
 *   independent, and a pooled pair is treated as independent: a pooled child equals its
 *   parent, and the interval is then that of two independent totals of that size), with the
 * variance of the printed bounds' rounding (MP_POST_RATE_STEP^2 / 12) added to the ratio's, clipped
 * to [0, 1]; a complement rate gets 1 - the interval. Doubles, IEEE + - * / sqrt floor ceil only
 * (all correctly rounded), so every machine agrees.
 */
#define MP_POST_Z95 1.96
#define MP_POST_RATE_STEP 0.001 /* rates are printed as percentages with one decimal */

enum { MP_POST_VALUE, MP_POST_RANGE, MP_POST_LESS_THAN };
enum { MP_POST_SHOWN, MP_POST_SMALL_CELL, MP_POST_SMALL_DENOMINATOR, MP_POST_ZERO_DENOMINATOR };

typedef struct mp_post_interval {
    double sd, var;
    int64_t moe, lower, upper;
    int shown_as;   /* MP_POST_VALUE, MP_POST_RANGE, MP_POST_LESS_THAN */
    int suppressed; /* MP_POST_SHOWN or MP_POST_SMALL_CELL */
} mp_post_interval;

typedef struct mp_post_rate {
    int suppressed;      /* MP_POST_SHOWN, MP_POST_SMALL_DENOMINATOR, MP_POST_ZERO_DENOMINATOR */
    double lower, upper; /* fractions in [0, 1]; 0 when suppressed */
} mp_post_rate;

void mp_post_cell_interval(double s2, int64_t value, const mp_post_cell *d, mp_post_interval *out);
/* The covariance of the rounding errors of two totals (cells a and b of the detail): nonzero
 * for a parent and child, which round with one U; 0 otherwise and for a pooled pair. */
double mp_post_rounding_cov(const mp_post_cell *a, const mp_post_cell *b, uint64_t rounding);
/* `cov`: the covariance of the two published totals (mp_post_rounding_cov). */
void mp_post_rate_interval(int64_t num, int64_t den, const mp_post_interval *n,
                           const mp_post_interval *d, double cov, int complement,
                           mp_post_rate *out);
/* The release's names: "value", "range", "less_than"; "", "small_cell", "small_denominator",
 * "zero_denominator". */
const char *mp_post_shown_name(int shown_as);
const char *mp_post_suppressed_name(int suppressed);

/* 0 when `v` (c->ncells values) satisfies guarantees 1-3b for `rounding` (>= 1); otherwise -1
 * with a reason naming the first cell or breakdown at fault. For auditors and tests. */
MP_WUR int mp_post_check(const mp_catalogue *c, const int64_t *v, uint64_t rounding);

#endif
