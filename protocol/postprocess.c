/*
 * postprocess.c - consistent, non-negative, rounded counts from the noisy vector (see
 * postprocess.h for the method, its derivation and the overflow bounds).
 *
 * Invariants:
 *   1. Integer arithmetic only. Every estimate is an exact rational held as a signed 128-bit
 *      numerator over a denominator fixed by the catalogue layout (Q = L*D, then Q*rho*r), so
 *      the output does not depend on a compiler's or a CPU's floating point and is the same
 *      everywhere. The bounds in postprocess.h keep every intermediate below 2^103.
 *   2. Every ordering (the simplex projection's sort, the largest remainders) is a total order
 *      with the band index as the last key, so ties never depend on a sort's stability.
 *   3. All arguments and the whole layout are checked before the first write to `published`,
 *      and a metric's input cells are copied before its output is written, so `published` may
 *      alias `noisy` and a refused call leaves it untouched (only the "cannot happen" check of
 *      invariant 4 fails after writing has begun).
 *   4. The arithmetic facts the output relies on (the projected bands sum to T+, the extra units
 *      of the largest-remainder step number 0..k) are proved in postprocess.h and re-checked
 *      here; a failure would be a bug and is reported instead of publishing an inconsistent
 *      vector.
 */
#include "postprocess.h"

#include "intmath.h"

typedef __int128 i128;

#define METRIC_MAX_CELLS (1 + MP_DIM_COUNT * MP_MAX_BANDS)

static const char *const dim_names[MP_DIM_COUNT] = {"age", "duration", "focus", "sex"};

/* The catalogue's layout as this module relies on it (catalogue.h, invariant 3): metrics in
 * order, each a total followed by its breakdowns' bands, covering the vector exactly. A parsed
 * catalogue always passes; the check guards the array bounds against a hand-built one. */
static int layout_check(const mp_catalogue *c)
{
    size_t at = 0;
    if (c->nmetrics > MP_MAX_METRICS)
        return mp_error_set("post-processing: the catalogue has too many metrics");
    for (size_t mi = 0; mi < c->nmetrics; mi++) {
        const mp_metric *m = &c->metrics[mi];
        size_t n = 1;
        if (m->nbreakdowns > MP_DIM_COUNT)
            return mp_error_set("post-processing: metric %zu has too many breakdowns", mi);
        for (size_t j = 0; j < m->nbreakdowns; j++) {
            int d = m->breakdowns[j];
            if (d < 0 || d >= MP_DIM_COUNT || c->dims[d].nbands == 0 ||
                c->dims[d].nbands > MP_MAX_BANDS)
                return mp_error_set("post-processing: metric %zu has an invalid breakdown", mi);
            n += c->dims[d].nbands;
        }
        if (m->offset != at || m->ncells != n)
            return mp_error_set("post-processing: metric %zu is not where the layout puts it", mi);
        at += n;
    }
    if (at != c->ncells)
        return mp_error_set("post-processing: the metrics do not cover the vector");
    return 0;
}

/* Nearest integer to num/den (num >= 0, den > 0), ties to even. */
static i128 round_half_even(i128 num, i128 den)
{
    i128 q = num / den, rem = num % den;
    if (2 * rem > den || (2 * rem == den && (q & 1) != 0))
        q++;
    return q;
}

/* Indices 0..k-1 ordered by key descending, then index ascending (insertion sort, k <= 16). */
static void order_desc(const i128 *key, size_t k, size_t *ord)
{
    for (size_t i = 0; i < k; i++) {
        size_t j = i;
        while (j > 0 && key[ord[j - 1]] < key[i]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = i;
    }
}

/*
 * One breakdown: step-1 bands v[0..k) (numerators over q) -> the projection onto
 * {x >= 0, sum x = t/q} (step 2) -> `units` units of r apportioned by largest remainder (step 3).
 */
static int breakdown(const i128 *v, size_t k, i128 t, i128 q, uint64_t r, i128 units, int64_t *out)
{
    size_t ord[MP_MAX_BANDS], rho = 0;
    i128 fl[MP_MAX_BANDS], rem[MP_MAX_BANDS], cum = 0, shift = 0, den, extra;

    if (t == 0) {
        if (units != 0)
            return mp_error_set("post-processing: internal error (units without a total)");
        for (size_t i = 0; i < k; i++)
            out[i] = 0;
        return 0;
    }
    /* rho = the largest n with n*v_(n) > v_(1) + ... + v_(n) - t; n = 1 always qualifies as
     * t > 0, and the qualifying n form a prefix. tau = shift/rho. */
    order_desc(v, k, ord);
    for (size_t n = 1; n <= k; n++) {
        cum += v[ord[n - 1]];
        if ((i128)n * v[ord[n - 1]] > cum - t) {
            rho = n;
            shift = cum - t;
        }
    }
    /* x_i = max(v_i - tau, 0) = max(rho*v_i - shift, 0) / (q*rho); in units of r the
     * denominator is q*rho*r. */
    den = q * (i128)rho * (i128)r;
    extra = units;
    for (size_t i = 0; i < k; i++) {
        i128 x = (i128)rho * v[i] - shift;
        if (x < 0)
            x = 0;
        fl[i] = x / den;
        rem[i] = x % den;
        extra -= fl[i];
    }
    if (extra < 0 || extra > (i128)k)
        return mp_error_set("post-processing: internal error (largest remainder out of range)");
    order_desc(rem, k, ord);
    for (size_t n = 0; n < (size_t)extra; n++)
        fl[ord[n]]++;
    for (size_t i = 0; i < k; i++)
        out[i] = (int64_t)(fl[i] * (i128)r);
    return 0;
}

static int metric(const mp_catalogue *c, const mp_metric *m, const int64_t *noisy, uint64_t r,
                  int64_t *published)
{
    int64_t y[METRIC_MAX_CELLS];
    i128 v[MP_MAX_BANDS], s[MP_DIM_COUNT], l = 1, d, q, n, t, units;
    size_t k[MP_DIM_COUNT], at;

    for (size_t i = 0; i < m->ncells; i++)
        y[i] = noisy[m->offset + i];

    /* Step 1: L = lcm(k_j), D = L + sum L/k_j, N = L*y_T + sum (L/k_j) S_j, T* = N/D. */
    at = 1;
    for (size_t j = 0; j < m->nbreakdowns; j++) {
        k[j] = c->dims[m->breakdowns[j]].nbands;
        l = l / (i128)mp_gcd64((uint64_t)l, k[j]) * (i128)k[j];
        s[j] = 0;
        for (size_t i = 0; i < k[j]; i++)
            s[j] += y[at + i];
        at += k[j];
    }
    d = l;
    n = l * y[0];
    for (size_t j = 0; j < m->nbreakdowns; j++) {
        d += l / (i128)k[j];
        n += l / (i128)k[j] * s[j];
    }
    q = l * d;

    /* The total: T* = (L*N)/Q; step 2 clamps it at 0; step 3 rounds it to units of r. */
    t = l * n;
    if (t < 0)
        t = 0;
    units = round_half_even(t, q * (i128)r);
    published[m->offset] = (int64_t)(units * (i128)r);

    /* Each breakdown: x_ji = y_ji + (N - D*S_j)/(k_j*D) = (L/k_j)(k_j*D*y_ji + N - D*S_j) / Q. */
    at = 1;
    for (size_t j = 0; j < m->nbreakdowns; j++) {
        for (size_t i = 0; i < k[j]; i++)
            v[i] = l / (i128)k[j] * ((i128)k[j] * d * y[at + i] + n - d * s[j]);
        if (breakdown(v, k[j], t, q, r, units, &published[m->offset + at]) != 0)
            return mp_error_prefix("metric %.40s: ", m->id != NULL ? m->id : "?");
        at += k[j];
    }
    return 0;
}

int mp_post_process(const mp_catalogue *c, const int64_t *noisy, const mp_post_params *p,
                    int64_t *published)
{
    if (c == NULL || noisy == NULL || p == NULL || published == NULL)
        return mp_error_set("post-processing: missing argument");
    if (p->rounding < 1 || p->rounding > MP_POST_MAX_ROUNDING)
        return mp_error_set("post-processing: rounding must be 1 to 2^32");
    if (layout_check(c) != 0)
        return -1;
    for (size_t i = 0; i < c->ncells; i++)
        if (noisy[i] < -MP_POST_MAX_ABS || noisy[i] > MP_POST_MAX_ABS) {
            char name[128];
            mp_catalogue_cell_name(c, i, name, sizeof name);
            return mp_error_set("post-processing: cell %s is outside +-(2^53-1)", name);
        }
    for (size_t mi = 0; mi < c->nmetrics; mi++)
        if (metric(c, &c->metrics[mi], noisy, p->rounding, published) != 0)
            return -1;
    return 0;
}

int mp_post_check(const mp_catalogue *c, const int64_t *v, uint64_t rounding)
{
    char name[128];
    if (c == NULL || v == NULL)
        return mp_error_set("post-processing: missing argument");
    if (rounding < 1)
        return mp_error_set("post-processing: rounding must be at least 1");
    if (layout_check(c) != 0)
        return -1;
    for (size_t i = 0; i < c->ncells; i++)
        if (v[i] < 0 || (uint64_t)v[i] % rounding != 0) {
            mp_catalogue_cell_name(c, i, name, sizeof name);
            return mp_error_set("cell %s is %s", name,
                                v[i] < 0 ? "negative" : "not a multiple of the rounding");
        }
    for (size_t mi = 0; mi < c->nmetrics; mi++) {
        const mp_metric *m = &c->metrics[mi];
        size_t at = m->offset + 1;
        for (size_t j = 0; j < m->nbreakdowns; j++) {
            const mp_dim *dim = &c->dims[m->breakdowns[j]];
            i128 sum = 0;
            for (size_t i = 0; i < dim->nbands; i++)
                sum += v[at + i];
            if (sum != v[m->offset])
                return mp_error_set("metric %.40s: the %s bands do not sum to the total",
                                    m->id != NULL ? m->id : "?", dim_names[m->breakdowns[j]]);
            at += dim->nbands;
        }
    }
    return 0;
}
