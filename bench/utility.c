/*
 * utility.c - what the noise costs in accuracy: root-mean-square error of the published figures
 * of one region's round, for the distributed mechanism mijlpaal runs and for two reference
 * points at the same budget rho.
 *
 * Not part of `make`; bench/utility.sh builds it against build/libmijlpaal.a, generates the
 * demo's synthetic exports and runs it. By hand, from the repository root:
 *
 *   make build/libmijlpaal.a build/bin/mijlpaal-synth
 *   build/bin/mijlpaal-synth --region data/regions/midden-utrecht.json --out-dir /tmp/x \
 *       --seed 2026 --period-end 2026-06-30
 *   cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iprotocol bench/utility.c \
 *      build/libmijlpaal.a $(pkg-config --cflags --libs libsodium openssl sqlite3 libcjson) -lm \
 *      -o build/bench-utility
 *   build/bench-utility --exports /tmp/x [--runs 2000] [--seed 1] [--rho 0.5] [--t 1] [--m 2]
 *
 * The truth T is what the protocol sees: every organisation's export counted with
 * mp_ingest_count (distinct persons per organisation, under a throwaway PRF key and a freshly
 * signed roster of the region), and the per-organisation vectors summed (a person served by
 * two organisations is counted twice, as in a real round). Then, R times with a fixed seed:
 *
 *   d   distributed, what mijlpaal does: share variance s^2 = mp_privacy_calibrate(MP_MECH_DDG,
 * rho, n - t, Delta, cells), every one of the n organisations adds its own discrete Gaussian share
 * of parameter s^2 to every cell of its vector, the vectors are summed; a   trusted curator: one
 * discrete Gaussian of parameter Delta2^2 / (2 rho) added to the true sum, which is exactly
 * rho-zCDP (Canonne, Kamath, Steinke 2020), with the same sensitivity (m organisations per person),
 * so d/a compares the mechanisms only; a'  distributed with t = 0 (no colluder tolerated): s^2 =
 * mp_privacy_calibrate(MP_MECH_DDG, rho, n, ...); b   local: every organisation protects its own
 * vector alone at the full budget, parameter D / (2 rho) (its own L2 sensitivity sqrt(D), m = 1),
 * and the n vectors are summed;
 *
 * and each noisy sum is post-processed with mp_post_process at rounding 1 and at rounding 5.
 * Reported: the RMSE of each metric's total and over all cells (per cell, pooled), published
 * vs T, with a standard error from the spread over runs; the raw (unprocessed) RMSE against the
 * theoretical standard deviation; and the least-squares prediction for the processed figures
 * (postprocess.h step 1: a total's variance drops by 1 + sum_j 1/k_j, the whole vector's by
 * the dimension of the consistent subspace over the number of cells).
 *
 * Floating point appears only in the statistics here; the noise comes from the exact integer
 * sampler (noise.h) on the seeded ChaCha20 generator (rng.h).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "intmath.h"
#include "catalogue.h"
#include "date.h"
#include "envelope.h"
#include "ingest.h"
#include "keys.h"
#include "noise.h"
#include "postprocess.h"
#include "privacy.h"
#include "rng.h"
#include "roster.h"

#define NORGS_MAX 64

enum { M_D, M_A, M_A0, M_B, NMECH };
enum { O_RAW, O_R1, O_R5, NOUT };

static const char *const mech_name[NMECH] = {"d distributed (t=1)", "a central curator",
                                             "a' distributed (t=0)", "b local"};
static const char *const out_name[NOUT] = {"raw", "rounding 1", "rounding 5"};
static const uint64_t out_rounding[NOUT] = {0, 1, 5};

typedef struct mechanism {
    unsigned shares;   /* how many discrete Gaussians are summed per cell */
    uint64_t num, den; /* parameter sigma^2 = num/den of each */
} mechanism;

/* Per-run squared error, summed over runs, for one row of the table. */
typedef struct acc {
    double s, ss;
} acc;

static void die(const char *what)
{
    fprintf(stderr, "utility: %s: %s\n", what, mp_error_get());
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "utility: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* A signed, verified roster of the region with fresh keys, as tests/unit/test_ingest.c builds
 * it; the keypairs are returned for their PRF keys. */
static mp_roster *make_roster(const char *region, mp_keypair **coord, mp_keypair **orgs,
                              size_t *norgs)
{
    size_t len;
    char *text = read_text(region, &len), *env;
    cJSON *reg = cJSON_ParseWithLength(text, len), *o, *body;
    mp_pubkey pubs[NORGS_MAX];
    mp_roster *r;
    char dir[] = "/tmp/mijlpaal-utility-XXXXXX", path[sizeof dir + 16];
    FILE *f;
    free(text);
    if (reg == NULL || !cJSON_IsArray(cJSON_GetObjectItem(reg, "organisations"))) {
        fprintf(stderr, "utility: %s: no organisations\n", region);
        exit(1);
    }
    *norgs = 0;
    if (mp_keys_generate(coord, "coordinator") != 0)
        die("keys");
    cJSON_ArrayForEach (o, cJSON_GetObjectItem(reg, "organisations")) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(o, "id"));
        if (id == NULL || *norgs == NORGS_MAX || mp_keys_generate(&orgs[*norgs], id) != 0)
            die("organisation keys");
        pubs[*norgs] = orgs[*norgs]->pub;
        (*norgs)++;
    }
    cJSON_Delete(reg);
    if (mp_roster_build(&body, region, &(*coord)->pub, pubs, *norgs) != 0)
        die("roster build");
    if (mp_envelope_sign(&env, &len, "roster", body, *coord) != 0)
        die("roster sign");
    cJSON_Delete(body);
    if (mkdtemp(dir) == NULL) {
        perror("utility: mkdtemp");
        exit(1);
    }
    snprintf(path, sizeof path, "%s/roster.json", dir);
    if ((f = fopen(path, "wb")) == NULL || fwrite(env, 1, len, f) != len || fclose(f) != 0) {
        perror("utility: roster");
        exit(1);
    }
    free(env);
    if (mp_roster_load(&r, path, &(*coord)->pub) != 0)
        die("roster load");
    unlink(path);
    rmdir(dir);
    return r;
}

static void add_noise(mp_rng *rng, const mechanism *m, size_t nvec, int64_t *const *vecs,
                      size_t ncells, int64_t *sum)
{
    /* One vector per contributor of the noise: n organisation vectors for d, a', b; the total
     * alone for a (nvec = 1, one share). Each adds its own shares, then the vectors are summed,
     * exactly as the submissions are. */
    memset(sum, 0, ncells * sizeof *sum);
    for (size_t v = 0; v < nvec; v++)
        for (size_t i = 0; i < ncells; i++) {
            int64_t x = vecs[v][i];
            for (unsigned s = 0; s < m->shares / nvec; s++) {
                int64_t z;
                if (mp_noise_dgauss(rng, m->num, m->den, &z) != 0)
                    die("sampler");
                x += z;
            }
            sum[i] += x;
        }
}

static double rmse(const acc *a, unsigned long runs)
{
    return sqrt(a->s / (double)runs);
}

/* Relative standard error of the RMSE estimate: half that of the mean squared error. */
static double rse(const acc *a, unsigned long runs)
{
    double mean = a->s / (double)runs, var = a->ss / (double)runs - mean * mean;
    if (mean <= 0 || var <= 0)
        return 0;
    return 0.5 * sqrt(var / (double)runs) / mean;
}

static void usage(void)
{
    fprintf(stderr, "usage: utility --exports DIR [--region FILE] [--catalogue FILE] "
                    "[--period START:END] [--runs R] [--seed S] [--rho RHO] [--t T] [--m M] "
                    "[--truth-out FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *region = "data/regions/midden-utrecht.json";
    const char *catpath = "data/catalogues/midden-utrecht.json";
    const char *exports = NULL, *period = "2026-01-01:2026-06-30", *rho_text = "0.5";
    const char *truth_out = NULL;
    unsigned long runs = 2000, seed = 1;
    unsigned t = 1, morgs = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (strcmp(a, "--exports") == 0)
            exports = v;
        else if (strcmp(a, "--region") == 0)
            region = v;
        else if (strcmp(a, "--catalogue") == 0)
            catpath = v;
        else if (strcmp(a, "--period") == 0)
            period = v;
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
        else if (strcmp(a, "--truth-out") == 0)
            truth_out = v;
        else
            usage();
        i++;
    }
    if (exports == NULL || runs < 2 || morgs < 1)
        usage();
    if (sodium_init() < 0)
        return 1;

    /* Budget, as an exact rational rn / 10^6 too (for the central parameter). */
    double rho;
    if (mp_privacy_parse_rho(rho_text, &rho) != 0)
        die("--rho");
    const uint64_t rd = 1000000, rn = (uint64_t)llround(rho * 1e6);

    char pstart[11], pend[11];
    int32_t period_start, period_end;
    if (strlen(period) != 21 || period[10] != ':')
        usage();
    memcpy(pstart, period, 10);
    pstart[10] = '\0';
    memcpy(pend, period + 11, 10);
    pend[10] = '\0';
    if (mp_date_parse_iso(pstart, &period_start) != 0 || mp_date_parse_iso(pend, &period_end) != 0)
        die("--period");

    mp_catalogue *cat;
    if (mp_catalogue_load(&cat, catpath) != 0)
        die(catpath);
    const size_t nc = cat->ncells, nm = cat->nmetrics;

    /* The truth, as the protocol sees it. */
    mp_keypair *coord, *orgs[NORGS_MAX];
    size_t n;
    mp_roster *roster = make_roster(region, &coord, orgs, &n);
    int64_t *vec[NORGS_MAX], *truth = calloc(nc, sizeof *truth);
    unsigned long persons = 0, rows = 0, excluded = 0;
    for (size_t o = 0; o < n; o++) {
        char csv[4096], map[4096];
        mp_mapping *mapping = NULL;
        mp_ingest_report rep;
        const char *id = roster->orgs[o].id;
        const mp_keypair *kp = NULL;
        for (size_t k = 0; k < n; k++)
            if (strcmp(orgs[k]->pub.org, id) == 0)
                kp = orgs[k];
        snprintf(csv, sizeof csv, "%s/%s.csv", exports, id);
        snprintf(map, sizeof map, "%s/%s.mapping.json", exports, id);
        if (access(map, R_OK) == 0 && mp_mapping_load(&mapping, map) != 0)
            die(map);
        /* "today" = the period end, the date the exports are drawn on, so the truth does not
         * depend on when the benchmark runs. */
        mp_ingest_params p = {.path = csv,
                              .mapping = mapping,
                              .roster = roster,
                              .catalogue = cat,
                              .period_start = period_start,
                              .period_end = period_end,
                              .prf_key = kp->prf_key,
                              .today = period_end};
        if ((vec[o] = calloc(nc, sizeof **vec)) == NULL || truth == NULL)
            return 1;
        if (mp_ingest_count(&p, vec[o], &rep) != 0)
            die(csv);
        mp_mapping_free(mapping);
        persons += rep.persons;
        rows += rep.records;
        excluded += rep.excluded;
        for (size_t i = 0; i < nc; i++)
            truth[i] += vec[o][i];
    }

    /* --truth-out: the number of organisations and the true vector, one number a line, for
     * bench/coverage.c; nothing else is run. */
    if (truth_out != NULL) {
        FILE *f = fopen(truth_out, "w");
        if (f == NULL) {
            perror(truth_out);
            return 1;
        }
        fprintf(f, "%zu\n", n);
        for (size_t i = 0; i < nc; i++)
            fprintf(f, "%lld\n", (long long)truth[i]);
        return fclose(f) == 0 ? 0 : 1;
    }

    /* The four mechanisms. */
    mp_sensitivity sens;
    mechanism mech[NMECH];
    mp_privacy_sensitivity(cat, morgs, &sens);
    const uint64_t D = sens.cells;
    if (t >= n)
        usage();
    mech[M_D].shares = (unsigned)n;
    if (mp_privacy_calibrate(MP_MECH_DDG, rho, (unsigned)(n - t), &sens, nc, &mech[M_D].num,
                             &mech[M_D].den))
        die("calibrate");
    mech[M_A0].shares = (unsigned)n;
    if (mp_privacy_calibrate(MP_MECH_DDG, rho, (unsigned)n, &sens, nc, &mech[M_A0].num,
                             &mech[M_A0].den))
        die("calibrate");
    /* Central: Delta2^2 / (2 rho) = m^2 D rd / (2 rn), reduced. */
    {
        uint64_t num = (uint64_t)morgs * morgs * D * rd, den = 2 * rn, g = mp_gcd64(num, den);
        mech[M_A] = (mechanism){1, num / g, den / g};
        /* Local: D / (2 rho) = D rd / (2 rn) per organisation. */
        num = D * rd;
        g = mp_gcd64(num, den);
        mech[M_B] = (mechanism){(unsigned)n, num / g, den / g};
    }

    /* Least-squares factors of postprocess.h step 1, per metric total and over all cells. */
    double ls_total[MP_MAX_METRICS], ls_totals = 0, ls_dim = 0;
    for (size_t k = 0; k < nm; k++) {
        const mp_metric *mt = &cat->metrics[k];
        double w = 1;
        ls_dim += 1;
        for (size_t j = 0; j < mt->nbreakdowns; j++) {
            size_t kb = cat->dims[mt->breakdowns[j]].nbands;
            w += 1.0 / (double)kb;
            ls_dim += (double)kb - 1;
        }
        ls_total[k] = 1.0 / w;
        ls_totals += ls_total[k];
    }
    const double ls_all = ls_dim / (double)nc;

    /* Runs. Every mechanism draws from its own seeded generator. */
    acc(*ac)[NOUT][MP_MAX_METRICS + 2] = calloc(NMECH, sizeof *ac);
    int64_t *noisy = calloc(nc, sizeof *noisy), *pub = calloc(nc, sizeof *pub);
    int64_t *one[1] = {truth};
    mp_rng *rng[NMECH];
    if (ac == NULL || noisy == NULL || pub == NULL)
        return 1;
    for (int k = 0; k < NMECH; k++) {
        unsigned char s[MP_RNG_SEEDBYTES] = {0};
        for (int b = 0; b < 8; b++)
            s[b] = (unsigned char)(seed >> (8 * b));
        s[8] = (unsigned char)(k + 1);
        if (mp_rng_new_seeded(&rng[k], s) != 0)
            die("rng");
    }
    double t0 = now_s();
    for (unsigned long r = 0; r < runs; r++)
        for (int k = 0; k < NMECH; k++) {
            if (k == M_A)
                add_noise(rng[k], &mech[k], 1, one, nc, noisy);
            else
                add_noise(rng[k], &mech[k], n, vec, nc, noisy);
            for (int oi = 0; oi < NOUT; oi++) {
                const int64_t *v = noisy;
                double all = 0, tot = 0;
                if (out_rounding[oi] != 0) {
                    mp_post_params pp = {.rounding = out_rounding[oi]};
                    if (mp_post_process(cat, noisy, &pp, pub) != 0)
                        die("post-process");
                    v = pub;
                }
                for (size_t i = 0; i < nc; i++) {
                    double e = (double)(v[i] - truth[i]);
                    all += e * e;
                }
                all /= (double)nc;
                for (size_t m = 0; m < nm; m++) {
                    double e = (double)(v[cat->metrics[m].offset] - truth[cat->metrics[m].offset]);
                    ac[k][oi][m].s += e * e;
                    ac[k][oi][m].ss += e * e * e * e;
                    tot += e * e;
                }
                tot /= (double)nm;
                ac[k][oi][nm].s += tot;
                ac[k][oi][nm].ss += tot * tot;
                ac[k][oi][nm + 1].s += all;
                ac[k][oi][nm + 1].ss += all * all;
            }
        }
    double elapsed = now_s() - t0;

    /* Report. */
    double theory[NMECH];
    for (int k = 0; k < NMECH; k++)
        theory[k] = sqrt((double)mech[k].shares *
                         mp_privacy_dgauss_variance((double)mech[k].num / (double)mech[k].den));
    printf("Region %s, catalogue %s (%zu metrics, %zu cells), period %s\n", roster->region_id,
           cat->id, nm, nc, period);
    printf("Exports: %zu organisations, %lu rows (%lu excluded), %lu persons (per-organisation "
           "distinct, summed)\n",
           n, rows, excluded, persons);
    printf("Budget rho %s (epsilon %.3f at delta %g), t = %u, max_orgs_per_person m = %u, "
           "D = %llu cells/person/org, Delta2^2 = m^2 D = %.0f\n",
           rho_text, mp_privacy_epsilon(rho, MP_PRIVACY_DELTA), MP_PRIVACY_DELTA, t, morgs,
           (unsigned long long)D, sens.l2 * sens.l2);
    printf("Runs %lu per mechanism, seed %lu, %.1f s\n\n", runs, seed, elapsed);

    printf("### Noise per cell, before post-processing (sanity check)\n\n");
    printf("| mechanism | shares x sigma^2 | theory sd | raw RMSE, all %zu cells | ratio |\n", nc);
    printf("| --- | --- | --- | --- | --- |\n");
    for (int k = 0; k < NMECH; k++) {
        const acc *a = &ac[k][O_RAW][nm + 1];
        printf("| %s | %u x %llu/%llu = %.3f | %.3f | %.3f +- %.3f | %.4f |\n", mech_name[k],
               mech[k].shares, (unsigned long long)mech[k].num, (unsigned long long)mech[k].den,
               (double)mech[k].shares * (double)mech[k].num / (double)mech[k].den, theory[k],
               rmse(a, runs), rmse(a, runs) * rse(a, runs), rmse(a, runs) / theory[k]);
    }
    printf("\nd/a in variance: %.5f (theory n/(n-t) = %.5f), in sd: %.5f\n\n",
           theory[M_D] * theory[M_D] / (theory[M_A] * theory[M_A]), (double)n / (double)(n - t),
           theory[M_D] / theory[M_A]);

    for (int oi = O_R1; oi < NOUT; oi++) {
        printf("### Published figures (mp_post_process, %s): RMSE vs truth\n\n", out_name[oi]);
        printf("| cell | truth | LS theory d | d distributed t=%u | a central | a' distributed t=0 "
               "| b local | d/a (+-2 SE) | b/a |\n",
               t);
        printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (size_t m = 0; m <= nm + 1; m++) {
            char label[80];
            double r[NMECH], e[NMECH];
            for (int k = 0; k < NMECH; k++) {
                r[k] = rmse(&ac[k][oi][m], runs);
                e[k] = rse(&ac[k][oi][m], runs);
            }
            double ratio = r[M_D] / r[M_A], se = ratio * sqrt(e[M_D] * e[M_D] + e[M_A] * e[M_A]);
            if (m < nm)
                snprintf(label, sizeof label, "%s", cat->metrics[m].id);
            else if (m == nm)
                snprintf(label, sizeof label, "**all %zu totals**", nm);
            else
                snprintf(label, sizeof label, "**all %zu cells**", nc);
            printf("| %s | ", label);
            if (m < nm)
                printf("%lld | %.2f |", (long long)truth[cat->metrics[m].offset],
                       theory[M_D] * sqrt(ls_total[m]));
            else if (m == nm)
                printf("- | %.2f |", theory[M_D] * sqrt(ls_totals / (double)nm));
            else
                printf("- | %.2f |", theory[M_D] * sqrt(ls_all));
            printf(" %.2f | %.2f | %.2f | %.2f | %.3f +- %.3f | %.3f |\n", r[M_D], r[M_A], r[M_A0],
                   r[M_B], ratio, 2 * se, r[M_B] / r[M_A]);
        }
        printf("\n");
    }

    for (int k = 0; k < NMECH; k++)
        mp_rng_free(rng[k]);
    for (size_t o = 0; o < n; o++) {
        free(vec[o]);
        mp_keys_free(orgs[o]);
    }
    mp_keys_free(coord);
    mp_roster_free(roster);
    mp_catalogue_free(cat);
    free(truth);
    free(noisy);
    free(pub);
    free(ac);
    return 0;
}
