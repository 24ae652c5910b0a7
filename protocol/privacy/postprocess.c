/*
 * postprocess.c - consistent, non-negative, rounded counts from the noisy vector (see
 * postprocess.h for the method, its derivation and the overflow bounds).
 *
 * Invariants:
 *   1. Integer arithmetic only for the published figures. Every estimate is an exact rational
 *      held as a signed 128-bit numerator over a denominator fixed by the catalogue layout
 *      (Q = L*B, then Q*rho*r), so the output does not depend on a compiler's or a CPU's
 *      floating point and is the same everywhere. The bounds in postprocess.h keep every
 *      intermediate below 2^120. The accuracy detail and the publication rules are doubles
 *      from correctly rounded IEEE operations only (no libm transcendental), so they too agree
 *      on every IEEE machine.
 *   2. Every ordering (the simplex projection's sort, the largest remainders) is a total order
 *      with the band index as the last key, so ties never depend on a sort's stability.
 *   3. All arguments and the whole layout (nesting included) are checked before the first
 *      write to `published`, and the input is copied first (step 1b pairs metrics), so
 *      `published` may alias `noisy` and a refused call leaves it untouched (only the "cannot
 *      happen" checks of invariant 4 fail after writing has begun).
 *   4. The arithmetic facts the output relies on (the projected bands sum to T+, the extra units
 *      of the largest-remainder step number 0..k, the systematic rounding's units add up to the
 *      total's) are proved in postprocess.h and re-checked here; a failure would be a bug and is
 * reported instead of publishing an inconsistent vector.
 */
#include "postprocess.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

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
    /* Nesting as catalogue.h, invariant 4 states it: one level, one child per parent. */
    for (size_t mi = 0; mi < c->nmetrics; mi++) {
        int p = c->metrics[mi].within;
        if (p < 0)
            continue;
        if ((size_t)p >= c->nmetrics || (size_t)p == mi || c->metrics[p].within >= 0)
            return mp_error_set("post-processing: the catalogue's nesting is not one level deep");
        for (size_t o = 0; o < mi; o++)
            if (c->metrics[o].within == p)
                return mp_error_set("post-processing: metric %zu has two children", (size_t)p);
    }
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

/* Random rounding of num/den (num >= 0) with U = u/2^32: floor, plus 1 when the fractional
 * part exceeds U. With U uniform this is floor + 1 with probability equal to the fractional
 * part: unbiased. rem * 2^32 stays below 2^120 by the bounds in postprocess.h. */
static i128 round_random(i128 num, i128 den, uint32_t u)
{
    i128 q = num / den, rem = num % den;
    return q + ((rem << 32) > (i128)u * den);
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

/* The state of one metric between the steps (numerators as in postprocess.h). */
typedef struct mstate {
    size_t k[MP_DIM_COUNT];
    i128 l, d, n, s[MP_DIM_COUNT]; /* L, D, N, S_j of step 1 */
    i128 a, b;                     /* the total T* = a/b, after step 1b */
    double vt;                     /* Var(T*) / s^2 */
    unsigned flags;
    uint32_t u;   /* the rounding uniform, U = u/2^32 */
    size_t group; /* the metric whose index u is drawn for */
} mstate;

/* The fractional part f = rem/den of a value in units of r, and r^2 f (1-f): the variance
 * of its random rounding. */
static void set_rounding(mp_post_cell *d, i128 rem, i128 den, uint64_t r)
{
    d->round_frac = (double)rem / (double)den;
    d->round_var = (double)r * (double)r * d->round_frac * (1.0 - d->round_frac);
}

/*
 * One breakdown: step-1 bands v[0..k) (numerators over q) -> the projection onto
 * {x >= 0, sum x = t/q} (step 2) -> `units` units of r (step 3: largest remainder, or
 * systematic random rounding with st->u when `random`).
 */
static int breakdown(const i128 *v, size_t k, i128 t, i128 q, uint64_t r, i128 units, int random,
                     mstate *st, int64_t *out, mp_post_cell *det)
{
    size_t ord[MP_MAX_BANDS], rho = 0;
    i128 fl[MP_MAX_BANDS], rem[MP_MAX_BANDS], cum = 0, shift = 0, den, extra, up = 0;

    if (t == 0) {
        if (units != 0)
            return mp_error_set("post-processing: internal error (units without a total)");
        for (size_t i = 0; i < k; i++) {
            out[i] = 0;
            if (v[i] != 0)
                st->flags |= MP_POST_CLAMPED;
            if (det != NULL) {
                det[i].pre_round = 0;
                det[i].round_frac = 0;
                det[i].round_var = 0;
            }
        }
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
    if (shift != 0)
        st->flags |= MP_POST_CLAMPED;
    /* x_i = max(v_i - tau, 0) = max(rho*v_i - shift, 0) / (q*rho); in units of r the
     * denominator is q*rho*r. */
    den = q * (i128)rho * (i128)r;
    extra = units;
    cum = 0;
    for (size_t i = 0; i < k; i++) {
        i128 x = (i128)rho * v[i] - shift;
        if (x < 0)
            x = 0;
        fl[i] = x / den;
        rem[i] = x % den;
        extra -= fl[i];
        if (det != NULL) {
            det[i].pre_round = (double)x / (double)(q * (i128)rho);
            set_rounding(&det[i], rem[i], den, r);
        }
    }
    if (extra < 0 || extra > (i128)k)
        return mp_error_set("post-processing: internal error (largest remainder out of range)");
    if (random) {
        /* Systematic rounding: band i gets a unit for each point U + m (m = 0, 1, ...) in
         * (C_(i-1), C_i], C_i = the remainders of bands 0..i summed (in units of r), i.e.
         * up(C_i) - up(C_(i-1)) with up(C) = ceil(C - U). Each band gets one with probability
         * equal to its own remainder, and the count is `extra` (postprocess.h, step 3). */
        i128 prev = 0;
        for (size_t i = 0; i < k; i++) {
            cum += rem[i];
            up = round_random(cum, den, st->u);
            fl[i] += up - prev;
            prev = up;
        }
        if (up != extra)
            return mp_error_set("post-processing: internal error (random rounding)");
    } else {
        order_desc(rem, k, ord);
        for (size_t n = 0; n < (size_t)extra; n++)
            fl[ord[n]]++;
    }
    for (size_t i = 0; i < k; i++)
        out[i] = (int64_t)(fl[i] * (i128)r);
    return 0;
}

/* Step 1 for one metric: L, D, N and the S_j; T* = N/D. */
static void metric_ls(const mp_catalogue *c, const mp_metric *m, const int64_t *noisy, mstate *st)
{
    size_t at = m->offset + 1;
    st->l = 1;
    for (size_t j = 0; j < m->nbreakdowns; j++) {
        st->k[j] = c->dims[m->breakdowns[j]].nbands;
        st->l = st->l / (i128)mp_gcd64((uint64_t)st->l, st->k[j]) * (i128)st->k[j];
        st->s[j] = 0;
        for (size_t i = 0; i < st->k[j]; i++)
            st->s[j] += noisy[at + i];
        at += st->k[j];
    }
    st->d = st->l;
    st->n = st->l * noisy[m->offset];
    for (size_t j = 0; j < m->nbreakdowns; j++) {
        st->d += st->l / (i128)st->k[j];
        st->n += st->l / (i128)st->k[j] * st->s[j];
    }
    st->a = st->n;
    st->b = st->d;
    st->vt = (double)st->l / (double)st->d; /* 1 / (1 + sum_j 1/k_j) */
    st->flags = 0;
}

/* Steps 2 and 3 for one metric, from its (possibly pooled) total a/b. */
static int metric_out(const mp_metric *m, const int64_t *in, mstate *st, uint64_t r, int random,
                      int64_t *published, mp_post_cell *det)
{
    int64_t y[METRIC_MAX_CELLS];
    i128 v[MP_MAX_BANDS], q = st->l * st->b, t = st->l * st->a, units, qr;
    size_t at;

    for (size_t i = 0; i < m->ncells; i++)
        y[i] = in[m->offset + i];
    if (det != NULL) {
        det[0].estimate = (double)st->a / (double)st->b;
        det[0].var_factor = st->vt;
    }
    /* The total: T* = t/q; step 2 clamps it at 0; step 3 rounds it to units of r. */
    if (t < 0) {
        t = 0;
        st->flags |= MP_POST_CLAMPED;
    }
    qr = q * (i128)r;
    units = random ? round_random(t, qr, st->u) : round_half_even(t, qr);
    published[m->offset] = (int64_t)(units * (i128)r);
    if (det != NULL) {
        det[0].pre_round = (double)t / (double)q;
        set_rounding(&det[0], t % qr, qr, r);
    }

    /* Each breakdown: x_ji = y_ji + (T* - S_j)/k_j = (L/k_j)(k_j*b*y_ji + a - b*S_j) / (L*b). */
    at = 1;
    for (size_t j = 0; j < m->nbreakdowns; j++) {
        size_t k = st->k[j];
        for (size_t i = 0; i < k; i++) {
            v[i] = st->l / (i128)k * ((i128)k * st->b * y[at + i] + st->a - st->b * st->s[j]);
            if (det != NULL) {
                det[at + i].estimate = (double)v[i] / (double)q;
                /* y_ji - S_j/k_j is uncorrelated with T* and has variance 1 - 1/k_j. */
                det[at + i].var_factor = 1.0 - 1.0 / (double)k + st->vt / ((double)k * (double)k);
            }
        }
        if (breakdown(v, k, t, q, r, units, random, st, &published[m->offset + at],
                      det != NULL ? &det[at] : NULL) != 0)
            return mp_error_prefix("metric %.40s: ", m->id != NULL ? m->id : "?");
        at += k;
    }
    if (det != NULL)
        for (size_t i = 0; i < m->ncells; i++) {
            det[i].flags = st->flags;
            det[i].round_group = st->group;
        }
    return 0;
}

/* The rounding uniform of metric `root` (a parent shares its own with its child, so that a
 * pooled total rounds the same way in both and child <= parent survives the rounding). */
static uint32_t rounding_uniform(const unsigned char *seed, size_t root)
{
    static const char domain[] = "mijlpaal rounding v1";
    unsigned char h[crypto_hash_sha256_BYTES], idx[4];
    crypto_hash_sha256_state hs;
    for (int b = 0; b < 4; b++)
        idx[b] = (unsigned char)(root >> (8 * b));
    crypto_hash_sha256_init(&hs);
    crypto_hash_sha256_update(&hs, (const unsigned char *)domain, sizeof domain - 1);
    crypto_hash_sha256_update(&hs, seed, MP_POST_SEED_BYTES);
    crypto_hash_sha256_update(&hs, idx, sizeof idx);
    crypto_hash_sha256_final(&hs, h);
    return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
}

int mp_post_process_detail(const mp_catalogue *c, const int64_t *noisy, const mp_post_params *p,
                           int64_t *published, mp_post_cell *detail)
{
    mstate st[MP_MAX_METRICS];
    int64_t *in = NULL;
    int rc = -1;
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
    /* Step 1b pools a child with its parent, so every metric's input must survive until all
     * are written: copy it (invariant 3). */
    if ((in = malloc(c->ncells * sizeof *in)) == NULL)
        return mp_error_system("out of memory");
    memcpy(in, noisy, c->ncells * sizeof *in);
    for (size_t mi = 0; mi < c->nmetrics; mi++)
        metric_ls(c, &c->metrics[mi], in, &st[mi]);
    /* Step 1b: a child whose total exceeds its parent's is pooled with it. */
    for (size_t ci = 0; ci < c->nmetrics; ci++) {
        int pi = c->metrics[ci].within;
        if (pi < 0)
            continue;
        mstate *ch = &st[ci], *pa = &st[pi];
        if (ch->a * pa->b <= pa->a * ch->b)
            continue;
        ch->a = pa->n * ch->l + ch->n * pa->l;
        ch->b = pa->d * ch->l + ch->d * pa->l;
        ch->vt = (double)(pa->l * ch->l) / (double)ch->b;
        ch->flags = MP_POST_NESTED;
        pa->a = ch->a;
        pa->b = ch->b;
        pa->vt = ch->vt;
        pa->flags = MP_POST_NESTED;
    }
    for (size_t mi = 0; mi < c->nmetrics; mi++) {
        int pi = c->metrics[mi].within;
        st[mi].group = pi >= 0 ? (size_t)pi : mi;
        st[mi].u = p->seed != NULL ? rounding_uniform(p->seed, st[mi].group) : 0;
    }
    for (size_t mi = 0; mi < c->nmetrics; mi++)
        if (metric_out(&c->metrics[mi], in, &st[mi], p->rounding, p->seed != NULL, published,
                       detail != NULL ? &detail[c->metrics[mi].offset] : NULL) != 0)
            goto out;
    rc = 0;
out:
    free(in);
    return rc;
}

int mp_post_process(const mp_catalogue *c, const int64_t *noisy, const mp_post_params *p,
                    int64_t *published)
{
    return mp_post_process_detail(c, noisy, p, published, NULL);
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
        if (m->within >= 0 && (size_t)m->within < c->nmetrics &&
            v[m->offset] > v[c->metrics[m->within].offset])
            return mp_error_set("metric %.40s: the total is above its parent's (%.40s)",
                                m->id != NULL ? m->id : "?", c->metrics[m->within].id);
    }
    return 0;
}

/* ---- accuracy of the published figures (postprocess.h, "Publication rules") ------------- */

static double clip0(double x)
{
    return x > 0 ? x : 0;
}

void mp_post_cell_interval(double s2, int64_t value, const mp_post_cell *d, mp_post_interval *a)
{
    a->sd = sqrt(s2 * d->var_factor);
    a->var = s2 * d->var_factor + d->round_var;
    /* The published figure and the truth are integers, so |value - truth| <= z sqrt(var)
     * exactly when |value - truth| <= floor(z sqrt(var)): the floor loses no coverage. */
    a->moe = (int64_t)floor(MP_POST_Z95 * sqrt(a->var));
    if (2 * a->moe <= value) {
        a->shown_as = MP_POST_VALUE;
        a->suppressed = MP_POST_SHOWN;
        a->lower = value - a->moe;
        a->upper = value + a->moe;
        return;
    }
    /* Small cell: no point. The interval comes from the unprojected estimate, which is
     * unbiased (step 2 is what biases small cells), clipped at 0; integer bounds inside the
     * real interval cover an integer truth exactly as often as the real interval does. */
    a->suppressed = MP_POST_SMALL_CELL;
    a->lower = (int64_t)ceil(clip0(d->estimate - MP_POST_Z95 * a->sd));
    a->upper = (int64_t)floor(clip0(d->estimate + MP_POST_Z95 * a->sd));
    a->shown_as = a->lower == 0 ? MP_POST_LESS_THAN : MP_POST_RANGE;
}

static double clip01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

double mp_post_rounding_cov(const mp_post_cell *a, const mp_post_cell *b, uint64_t rounding)
{
    /* Both round up exactly when U < their fractional part: Cov = r^2 (min(fa, fb) - fa fb).
     * A pooled pair shares its noise too; the rate rule treats it as independent (below). */
    double fa = a->round_frac, fb = b->round_frac, r = (double)rounding;
    if (a->round_group != b->round_group || ((a->flags | b->flags) & MP_POST_NESTED) != 0)
        return 0;
    return r * r * ((fa < fb ? fa : fb) - fa * fb);
}

void mp_post_rate_interval(int64_t num, int64_t den, const mp_post_interval *n,
                           const mp_post_interval *d, double cov, int complement, mp_post_rate *r)
{
    const double z2 = MP_POST_Z95 * MP_POST_Z95;
    double x = (double)(num < den ? num : den), y = (double)den;
    /* The printed bounds are rounded to MP_POST_RATE_STEP; like the rounding of the counts,
     * that rounding's variance (step^2 / 12, uniform) is added, here to the ratio's own
     * variance: Var(x - theta y) = y^2 Var(theta). */
    const double q = MP_POST_RATE_STEP * MP_POST_RATE_STEP / 12.0;
    double a = y * y - z2 * d->var, b = x * y - z2 * cov, c = x * x - z2 * (n->var + y * y * q);
    double disc, lo, hi;
    r->lower = r->upper = 0;
    if (den <= 0) {
        r->suppressed = MP_POST_ZERO_DENOMINATOR;
        return;
    }
    /* Fieller: the theta with (x - theta y)^2 <= z^2 (var_x - 2 theta cov + theta^2 var_y +
     * y^2 q) form a bounded
     * interval when y^2 > z^2 var_y; a denominator shown as a value has moe <= y/2, which
     * implies it, and the test of `a` guards the rest. */
    if (d->shown_as != MP_POST_VALUE || !(a > 0)) {
        r->suppressed = MP_POST_SMALL_DENOMINATOR;
        return;
    }
    disc = b * b - a * c;
    if (disc < 0) /* cannot happen: theta = x/y satisfies the inequality */
        disc = 0;
    lo = clip01((b - sqrt(disc)) / a);
    hi = clip01((b + sqrt(disc)) / a);
    r->suppressed = MP_POST_SHOWN;
    r->lower = complement ? 1 - hi : lo;
    r->upper = complement ? 1 - lo : hi;
}

const char *mp_post_shown_name(int shown_as)
{
    return shown_as == MP_POST_RANGE       ? "range"
           : shown_as == MP_POST_LESS_THAN ? "less_than"
                                           : "value";
}

const char *mp_post_suppressed_name(int suppressed)
{
    return suppressed == MP_POST_SMALL_CELL          ? "small_cell"
           : suppressed == MP_POST_SMALL_DENOMINATOR ? "small_denominator"
           : suppressed == MP_POST_ZERO_DENOMINATOR  ? "zero_denominator"
                                                     : "";
}
