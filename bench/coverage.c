/*
 * coverage.c - do the published 95% intervals cover the truth 95% of the time?
 *
 * Not part of `make`; bench/coverage.sh builds it against build/libmijlpaal.a, writes the true
 * vectors of synthetic regions with bench/utility.c --truth-out and runs it. By hand:
 *
 *   build/bench-coverage --catalogue data/catalogues/midden-utrecht.json --truth T.txt \
 *       [--runs 2000] [--seed 1] [--rho 0.5] [--t 1] [--m 2] [--rounding 5] [--label NAME]
 *
 * T.txt holds the number n of organisations and then the true regional vector, one number a
 * line. Each run simulates a round in-process as mijlpaal does it: the share variance s^2 from
 * mp_privacy_calibrate(MP_MECH_DDG, rho, n - t, ...), n discrete Gaussian shares of s^2 added to
 * every cell by the exact sampler (noise.h), the sum post-processed by the real code
 * (mp_post_process_detail with a rounding seed derived from the noisy sum as a release derives
 * it, then mp_post_cell_interval and mp_post_rate_interval, the functions mp_release_build
 * calls, and the rate bounds printed with one decimal as the release prints them). For every
 * cell and rate it checks whether the published interval [lower, upper] contains the truth.
 *
 * Cell classes (a cell-run may be in several):
 *   large     true value >= 4 noise sd (the rule normally shows it as a value)
 *   small     true value <  4 noise sd
 *   adjusted  a cell the least-squares consistency step changes: of a metric with breakdowns,
 *             or of a nested pair pooled in that run (its sd is the post-adjustment one)
 *   rate      a rate not suppressed in that run, against the ratio of the true totals
 *   clamped   (a diagnostic, not a target) a cell of a metric whose non-negativity step moved
 *             a cell in that run: conditional on an unusually negative noise draw
 * and, for comparison, the old method: deterministic rounding, no nesting, margin
 * round(1.96 noise sd) around the published figure. Last, the mean error (published minus
 * true) of cells with a true value <= 5: the old simplex-projected figure, the new published
 * figure and the unprojected estimate x^ the new interval of such a cell is built around.
 *
 * Floating point appears only in the statistics here and in the (IEEE-exact) margins.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "noise.h"
#include "postprocess.h"
#include "privacy.h"
#include "rng.h"

enum { C_LARGE, C_SMALL, C_ADJ, C_RATE, C_CLAMP, C_OLD, NCLASS };

typedef struct tally {
    unsigned long n, hit;
} tally;

typedef struct meanerr {
    unsigned long n;
    double old_v, new_v, est;
} meanerr;

static void die(const char *what)
{
    fprintf(stderr, "coverage: %s: %s\n", what, mp_error_get());
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: coverage --catalogue FILE --truth FILE [--runs R] [--seed S] "
                    "[--rho RHO] [--t T] [--m M] [--rounding R] [--label NAME]\n");
    exit(2);
}

static void count(tally *t, int hit)
{
    t->n++;
    t->hit += hit != 0;
}

static void print_cov(const tally *t)
{
    if (t->n == 0) {
        printf(" - |");
        return;
    }
    double p = (double)t->hit / (double)t->n;
    printf(" %.1f%% (%lu) |", 100.0 * p, t->n);
}

/* A rate bound as the release prints it ("%.1f" of the percentage), read back. */
static double printed(double fraction)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.1f", 100.0 * fraction);
    return strtod(buf, NULL);
}

int main(int argc, char **argv)
{
    const char *catpath = NULL, *truthpath = NULL, *rho_text = "0.5", *label = "";
    unsigned long runs = 2000, seed = 1, rounding = 5;
    unsigned t = 1, morgs = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (strcmp(a, "--catalogue") == 0)
            catpath = v;
        else if (strcmp(a, "--truth") == 0)
            truthpath = v;
        else if (strcmp(a, "--runs") == 0)
            runs = strtoul(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoul(v, NULL, 10);
        else if (strcmp(a, "--rho") == 0)
            rho_text = v;
        else if (strcmp(a, "--t") == 0)
            t = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--m") == 0)
            morgs = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--rounding") == 0)
            rounding = strtoul(v, NULL, 10);
        else if (strcmp(a, "--label") == 0)
            label = v;
        else
            usage();
        i++;
    }
    if (catpath == NULL || truthpath == NULL || runs < 1 || rounding < 1)
        usage();
    if (sodium_init() < 0)
        return 1;

    mp_catalogue *cat;
    if (mp_catalogue_load(&cat, catpath) != 0)
        die(catpath);
    const size_t nc = cat->ncells;
    int64_t *truth = calloc(nc, sizeof *truth), *noisy = calloc(nc, sizeof *noisy);
    int64_t *val = calloc(nc, sizeof *val), *old = calloc(nc, sizeof *old);
    mp_post_cell *det = calloc(nc, sizeof *det);
    mp_post_interval *iv = calloc(nc, sizeof *iv);
    int within[MP_MAX_METRICS];
    if (truth == NULL || noisy == NULL || val == NULL || old == NULL || det == NULL || iv == NULL)
        return 1;
    FILE *f = fopen(truthpath, "r");
    long long x;
    size_t n;
    if (f == NULL || fscanf(f, "%zu", &n) != 1 || n <= t) {
        fprintf(stderr, "coverage: %s: no organisation count\n", truthpath);
        return 1;
    }
    for (size_t i = 0; i < nc; i++) {
        if (fscanf(f, "%lld", &x) != 1) {
            fprintf(stderr, "coverage: %s: fewer than %zu cells\n", truthpath, nc);
            return 1;
        }
        truth[i] = x;
    }
    fclose(f);

    double rho;
    uint64_t num, den;
    mp_sensitivity sens;
    if (mp_privacy_parse_rho(rho_text, &rho) != 0)
        die("--rho");
    mp_privacy_sensitivity(cat, morgs, &sens);
    if (mp_privacy_calibrate(MP_MECH_DDG, rho, (unsigned)(n - t), &sens, nc, &num, &den) != 0)
        die("calibrate");
    /* What the release states: noise_sd = sqrt(n num / den), s2 its square. */
    const double noise_sd = sqrt((double)n * (double)num / (double)den), s2 = noise_sd * noise_sd;
    const double old_moe = nearbyint(1.96 * noise_sd);

    mp_rng *rng;
    unsigned char s[MP_RNG_SEEDBYTES] = {0};
    for (int b = 0; b < 8; b++)
        s[b] = (unsigned char)(seed >> (8 * b));
    if (mp_rng_new_seeded(&rng, s) != 0)
        die("rng");

    tally cov[NCLASS] = {{0}}, shown[3] = {{0}};
    unsigned long rate_supp = 0, rate_all = 0, cell_supp = 0;
    meanerr me = {0};
    for (unsigned long r = 0; r < runs; r++) {
        unsigned char pseed[MP_POST_SEED_BYTES];
        for (size_t i = 0; i < nc; i++) {
            int64_t v = truth[i];
            for (size_t o = 0; o < n; o++) {
                int64_t z;
                if (mp_noise_dgauss(rng, num, den, &z) != 0)
                    die("sampler");
                v += z;
            }
            noisy[i] = v;
        }
        /* As a release: a seed that is a hash of public data including the noisy sum. */
        crypto_hash_sha256(pseed, (const unsigned char *)noisy, nc * sizeof *noisy);
        mp_post_params pp = {rounding, pseed};
        if (mp_post_process_detail(cat, noisy, &pp, val, det) != 0)
            die("post-process");
        /* The old method: no nesting, deterministic rounding. */
        mp_post_params po = {rounding, NULL};
        for (size_t m = 0; m < cat->nmetrics; m++) {
            within[m] = cat->metrics[m].within;
            cat->metrics[m].within = -1;
        }
        if (mp_post_process(cat, noisy, &po, old) != 0)
            die("post-process (old)");
        for (size_t m = 0; m < cat->nmetrics; m++)
            cat->metrics[m].within = within[m];

        for (size_t i = 0; i < nc; i++) {
            const mp_metric *m;
            const mp_dim *d;
            const mp_band *b;
            mp_catalogue_cell(cat, i, &m, &d, &b);
            mp_post_cell_interval(s2, val[i], &det[i], &iv[i]);
            int hit = iv[i].lower <= truth[i] && truth[i] <= iv[i].upper;
            count(&cov[(double)truth[i] >= 4 * noise_sd ? C_LARGE : C_SMALL], hit);
            if (m->nbreakdowns > 0 || (det[i].flags & MP_POST_NESTED) != 0)
                count(&cov[C_ADJ], hit);
            if ((det[i].flags & MP_POST_CLAMPED) != 0)
                count(&cov[C_CLAMP], hit);
            count(&shown[iv[i].shown_as], hit);
            cell_supp += iv[i].suppressed != MP_POST_SHOWN;
            count(&cov[C_OLD], fabs((double)(old[i] - truth[i])) <= old_moe);
            if (truth[i] <= 5) {
                me.n++;
                me.old_v += (double)(old[i] - truth[i]);
                me.new_v += (double)(val[i] - truth[i]);
                me.est += det[i].estimate - (double)truth[i];
            }
        }
        for (size_t k = 0; k < cat->nrates; k++) {
            const mp_rate *rt = &cat->rates[k];
            size_t ni = cat->metrics[rt->numerator].offset,
                   di = cat->metrics[rt->denominator].offset;
            mp_post_rate ri;
            if (truth[di] == 0)
                continue;
            double p = (double)truth[ni] / (double)truth[di];
            if (rt->complement)
                p = 1 - p;
            mp_post_rate_interval(val[ni], val[di], &iv[ni], &iv[di],
                                  mp_post_rounding_cov(&det[ni], &det[di], rounding),
                                  rt->complement, &ri);
            rate_all++;
            if (ri.suppressed != MP_POST_SHOWN) {
                rate_supp++;
                continue;
            }
            /* Compared as printed: percentages with one decimal. */
            double tp = 100.0 * p;
            count(&cov[C_RATE], printed(ri.lower) <= tp + 1e-9 && tp <= printed(ri.upper) + 1e-9);
        }
    }

    printf("| %s | %s | %.2f |", label, rho_text, noise_sd);
    for (int c = 0; c < NCLASS; c++)
        print_cov(&cov[c]);
    printf(" %.1f%% | %.1f%% |", 100.0 * (double)cell_supp / (double)(runs * nc),
           rate_all ? 100.0 * (double)rate_supp / (double)rate_all : 0.0);
    if (me.n > 0)
        printf(" %+.2f | %+.2f | %+.2f (%lu) |\n", me.old_v / (double)me.n, me.new_v / (double)me.n,
               me.est / (double)me.n, me.n);
    else
        printf(" - | - | - |\n");
    fprintf(stderr, "%s rho %s: coverage by shown_as (conditional on the rule's choice):", label,
            rho_text);
    for (int k = 0; k < 3; k++)
        fprintf(stderr, "%s%s %.1f%% (%lu)", k ? ", " : " ", mp_post_shown_name(k),
                shown[k].n ? 100.0 * (double)shown[k].hit / (double)shown[k].n : 0.0, shown[k].n);
    fprintf(stderr, "\n");
    mp_rng_free(rng);
    mp_catalogue_free(cat);
    free(truth);
    free(noisy);
    free(val);
    free(old);
    free(det);
    free(iv);
    return 0;
}
