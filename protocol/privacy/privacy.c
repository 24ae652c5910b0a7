/*
 * privacy.c - zCDP calibration and accounting (formulas and references in privacy.h).
 */
#include "privacy.h"

#include <math.h>
#include <string.h>

#include "noise.h"

void mp_privacy_sensitivity(const mp_catalogue *c, unsigned max_orgs_per_person, mp_sensitivity *s)
{
    s->cells = mp_catalogue_sensitivity(c);
    s->orgs = max_orgs_per_person;
    s->l1 = (double)s->orgs * (double)s->cells;
    s->l2 = (double)s->orgs * sqrt((double)s->cells);
}

double mp_privacy_ddg_rho(double share_var, unsigned k, const mp_sensitivity *s, size_t d)
{
    double tau = 0, a, b, r1, r2;
    if (k == 0 || share_var <= 0)
        return INFINITY;
    for (unsigned j = 1; j < k; j++)
        tau += exp(-2.0 * M_PI * M_PI * share_var * (double)j / (double)(j + 1));
    tau *= 10.0;
    a = s->l2 / sqrt((double)k * share_var);
    b = s->l1 / sqrt((double)k * share_var);
    r1 = a * a + 2.0 * b * tau + tau * tau * (double)d;
    r2 = (a + sqrt((double)d) * tau) * (a + sqrt((double)d) * tau);
    return 0.5 * (r1 < r2 ? r1 : r2);
}

int mp_mechanism_parse(const char *name)
{
    if (strcmp(name, "distributed_discrete_gaussian") == 0)
        return MP_MECH_DDG;
    if (strcmp(name, "skellam") == 0)
        return MP_MECH_SKELLAM;
    return -1;
}

const char *mp_mechanism_name(int mech)
{
    return mech == MP_MECH_SKELLAM ? "skellam" : "distributed_discrete_gaussian";
}

double mp_privacy_skellam_rho(double share_var, unsigned k, const mp_sensitivity *s)
{
    double v = (double)k * share_var;
    if (k == 0 || share_var <= 0)
        return INFINITY;
    return s->l2 * s->l2 / (2.0 * v) + (s->l2 * s->l2 + 3.0 * s->l1) / (2.0 * v * v);
}

double mp_privacy_rho(int mech, double share_var, unsigned k, const mp_sensitivity *s, size_t d)
{
    return mech == MP_MECH_SKELLAM ? mp_privacy_skellam_rho(share_var, k, s)
                                   : mp_privacy_ddg_rho(share_var, k, s, d);
}

int mp_privacy_calibrate(int mech, double rho_target, unsigned k, const mp_sensitivity *s, size_t d,
                         uint64_t *num, uint64_t *den)
{
    const double target = rho_target * (1.0 - 1e-6);
    double var;
    if (!(rho_target > 0) || k == 0)
        return mp_error_set("cannot calibrate noise for rho %g with %u honest participants",
                            rho_target, k);
    /* Start from the central Gaussian's answer and grow until the distributed bound holds;
     * tau shrinks as the variance grows, so this terminates quickly. */
    var = s->l2 * s->l2 / (2.0 * target * (double)k);
    for (int i = 0; i < 10000 && mp_privacy_rho(mech, var, k, s, d) > target; i++)
        var *= 1.001;
    if (mp_privacy_rho(mech, var, k, s, d) > target)
        return mp_error_set("cannot calibrate noise for rho %g", rho_target);
    *den = 1000;
    if (var * 1000.0 >= (double)MP_NOISE_MAX_SIGMA2)
        return mp_error_set("rho %g needs noise beyond the sampler's range (share variance "
                            "%.0f); raise the budget or reduce the catalogue",
                            rho_target, var);
    *num = (uint64_t)ceil(var * 1000.0);
    if (*num == 0)
        *num = 1;
    return 0;
}

double mp_privacy_epsilon(double rho, double delta)
{
    return rho + 2.0 * sqrt(rho * log(1.0 / delta));
}

int mp_privacy_parse_rho(const char *text, double *rho)
{
    int decimals = -1, digits = 0;
    double v = 0, scale = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '.' && decimals < 0 && p != text && p[1]) {
            decimals = 0;
            continue;
        }
        if (*p < '0' || *p > '9' || ++digits > 12)
            return mp_error_set("budget \"%.20s\" is not a decimal number like 0.25", text);
        v = v * 10 + (*p - '0');
        if (decimals >= 0) {
            scale *= 10;
            if (++decimals > 6)
                return mp_error_set("budget \"%.20s\" has more than 6 decimals", text);
        }
    }
    v /= scale;
    if (!(v > 0) || v > 1000)
        return mp_error_set("budget \"%.20s\" must be above 0 and at most 1000", text);
    *rho = v;
    return 0;
}

double mp_privacy_dgauss_variance(double var)
{
    /* E[X^2] under P(x) ~ exp(-x^2 / (2 var)), summed until the terms vanish. */
    double num = 0, norm = 1;
    double limit = 20.0 * sqrt(var) + 20.0;
    for (double x = 1; x <= limit; x++) {
        double w = exp(-x * x / (2.0 * var));
        num += 2.0 * x * x * w;
        norm += 2.0 * w;
    }
    return num / norm;
}
