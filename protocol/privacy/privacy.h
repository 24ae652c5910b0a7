/*
 * privacy.h - differential-privacy calibration and accounting (zero-concentrated DP).
 *
 * Unit of privacy: one person (one BSN) in one release. Within one organisation the catalogue
 * bounds what a person can change (catalogue.h invariant 1): at most 1 in each of
 * D = mp_catalogue_sensitivity() cells. A person served by up to m organisations
 * (max_orgs_per_person, declared in the round) appears in up to m vectors, so the regional sum
 * changes by at most m in each of D cells:
 *
 *   L1 sensitivity  Delta1 = m * D,     L2 sensitivity  Delta2 = m * sqrt(D).
 *
 * Mechanism: every participant adds discrete Gaussian noise of variance s^2 (the share
 * variance) to every cell. Up to t participants may collude (they know, and can subtract, their
 * own shares) or drop out (their shares are lost), so only k = n - t shares are counted on.
 * The sum of k independent discrete Gaussians is not exactly a discrete Gaussian; Kairouz, Liu
 * and Steinke (ICML 2021, Proposition 14) bound its Renyi divergence of every order alpha by
 * alpha * rho with
 *
 *   rho = 1/2 * min( a^2 + 2 b tau + tau^2 d ,  (a + sqrt(d) tau)^2 )
 *   a = Delta2 / (sqrt(k) s),  b = Delta1 / (sqrt(k) s),
 *   tau = 10 * sum_{j=1}^{k-1} exp(-2 pi^2 s^2 j / (j+1)),   d = number of cells,
 *
 * i.e. rho-zCDP. With tau -> 0 this is the central discrete Gaussian's Delta2^2 / (2 k s^2)
 * (Canonne, Kamath, Steinke 2020). zCDP composes by adding rho, which is how a series'
 * budget is spent; rho-zCDP implies (epsilon, delta)-DP for
 * epsilon = rho + 2 sqrt(rho ln(1/delta)) (Bun and Steinke 2016, Proposition 1.3).
 *
 * Skellam alternative (Agarwal, Kairouz, Liu, NeurIPS 2021): each share is Skellam with
 * variance s^2 (a difference of two Poisson(s^2/2)); sums of Skellams are exactly Skellam, with
 * variance V = k s^2. Their Renyi bound eps(alpha) <= alpha Delta2^2/(2V) +
 * ((2 alpha) Delta2^2 + 6 Delta1)/(4 V^2) (the first branch of their minimum, with 2 alpha for
 * 2 alpha - 1, which only loosens it) is at most alpha * rho for every alpha >= 1 with
 *
 *   rho = Delta2^2/(2V) + (Delta2^2 + 3 Delta1)/(2 V^2),
 *
 * so Skellam shares give rho-zCDP with that rho. The second term is why the distributed
 * discrete Gaussian is the default: it needs a few percent less noise for the same budget.
 *
 * Floating point is used here, in accounting only, never in a sampler. Determinism across
 * machines does not matter for safety: the coordinator calibrates with a margin below the
 * target, stores the share variance as an exact rational in the signed round, and everyone
 * re-checks that the bound of that exact rational stays within the budget.
 */
#ifndef MP_PRIVACY_H
#define MP_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "error.h"

#define MP_PRIVACY_DELTA_TEXT "1e-6" /* the delta used to state an equivalent epsilon */
#define MP_PRIVACY_DELTA 1e-6

typedef struct mp_sensitivity {
    uint64_t cells; /* D: cells one person can touch in one organisation */
    uint64_t orgs;  /* m: organisations one person can be counted by */
    double l1, l2;  /* m D and m sqrt(D) */
} mp_sensitivity;

void mp_privacy_sensitivity(const mp_catalogue *c, unsigned max_orgs_per_person, mp_sensitivity *s);

enum mp_mechanism { MP_MECH_DDG, MP_MECH_SKELLAM };

/* "distributed_discrete_gaussian" or "skellam" -> the enum; -1 when unknown. */
int mp_mechanism_parse(const char *name);
const char *mp_mechanism_name(int mech);

/* rho of the sum of k shares of variance share_var each over d cells (see above). */
double mp_privacy_ddg_rho(double share_var, unsigned k, const mp_sensitivity *s, size_t d);
double mp_privacy_skellam_rho(double share_var, unsigned k, const mp_sensitivity *s);
double mp_privacy_rho(int mech, double share_var, unsigned k, const mp_sensitivity *s, size_t d);

/* The smallest share variance num/den (den = 1000) whose bound is at most rho_target with a
 * relative margin of 1e-6; fails when it would be outside the sampler's range. */
MP_WUR int mp_privacy_calibrate(int mech, double rho_target, unsigned k, const mp_sensitivity *s,
                                size_t d, uint64_t *num, uint64_t *den);

/* Equivalent epsilon at MP_PRIVACY_DELTA. */
double mp_privacy_epsilon(double rho, double delta);

/* A budget written as a decimal string ("0.25"): > 0, at most 6 decimals, at most 1000. */
MP_WUR int mp_privacy_parse_rho(const char *text, double *rho);

/* The actual variance of a discrete Gaussian with parameter sigma^2 = var (slightly below var
 * for small var). Releases state margins from the parameter itself, an upper bound that needs
 * no exp() and so prints the same digits on every machine; the utility benchmark uses this for
 * the exact theoretical error. */
double mp_privacy_dgauss_variance(double var);

#endif
