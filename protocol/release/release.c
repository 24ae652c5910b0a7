/*
 * release.c - build and render releases (see release.h).
 */
#include "release.h"

#include "nlformat.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "date.h"
#include "mask.h"
#include "postprocess.h"
#include "privacy.h"

#include <math.h>
#include <sodium.h>

static const char *const dim_keys[MP_DIM_COUNT] = {"age", "duration", "focus", "sex"};

/* Percentage with one decimal from two non-negative totals, integer arithmetic, rounded half
 * up. */
static void rate_text(char *out, size_t cap, long long num, long long den, int complement)
{
    if (den <= 0) {
        snprintf(out, cap, "%s", "");
        return;
    }
    if (num > den)
        num = den;
    /* 0 <= num <= den, so the result is 0..1000; 128 bits keep 2000 * num from overflowing. */
    unsigned permille = (unsigned)((2000 * (unsigned __int128)num + (unsigned long long)den) /
                                   (2 * (unsigned __int128)den));
    if (complement)
        permille = 1000 - permille;
    snprintf(out, cap, "%u.%u", permille / 10 % 1000, permille % 10);
}

static void add_rate(cJSON *arr, const mp_rate *rate, int64_t rn, int64_t rd,
                     const mp_post_interval *an, const mp_post_interval *ad, double cov)
{
    char pct[16] = "", moe[16] = "", lo[16] = "", hi[16] = "";
    mp_post_rate ri;
    mp_post_rate_interval(rn, rd, an, ad, cov, rate->complement, &ri);
    if (ri.suppressed == MP_POST_SHOWN) {
        rate_text(pct, sizeof pct, rn, rd, rate->complement);
        snprintf(lo, sizeof lo, "%.1f", 100.0 * ri.lower);
        snprintf(hi, sizeof hi, "%.1f", 100.0 * ri.upper);
        snprintf(moe, sizeof moe, "%.1f", 50.0 * (ri.upper - ri.lower));
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", rate->id);
    cJSON_AddStringToObject(o, "title", rate->title);
    cJSON_AddStringToObject(o, "percent", pct);
    cJSON_AddStringToObject(o, "moe95", moe);
    cJSON_AddStringToObject(o, "lower", lo);
    cJSON_AddStringToObject(o, "upper", hi);
    cJSON_AddStringToObject(o, "suppressed", mp_post_suppressed_name(ri.suppressed));
    cJSON_AddItemToArray(arr, o);
}

/* The public randomness of the rounding: the round's hash and the opened sum, both in the
 * release, so that an auditor derives the same and the rebuild is byte-identical. */
static void rounding_seed(unsigned char seed[MP_POST_SEED_BYTES], const mp_spec *spec,
                          const char *vec)
{
    static const char domain[] = "mijlpaal release rounding v1";
    crypto_hash_sha256_state hs;
    crypto_hash_sha256_init(&hs);
    crypto_hash_sha256_update(&hs, (const unsigned char *)domain, sizeof domain - 1);
    crypto_hash_sha256_update(&hs, spec->env->hash, MP_HASH_BYTES);
    crypto_hash_sha256_update(&hs, (const unsigned char *)vec, strlen(vec));
    crypto_hash_sha256_final(&hs, seed);
}

int mp_release_build(cJSON **body, const mp_spec *spec, const mp_included *inc, size_t n,
                     const uint64_t *sum, const char *published, const cJSON *masking)
{
    const mp_catalogue *c = spec->catalogue;
    char hash[MP_HASH_HEX_BYTES], name[128], num[32];
    cJSON *b = cJSON_CreateObject(), *arr, *o;
    char *vec = mp_vec_encode(sum, c->ncells);
    char sd[11], ed[11];
    unsigned char seed[MP_POST_SEED_BYTES];
    int64_t *noisy = calloc(c->ncells, sizeof *noisy);
    int64_t *value = calloc(c->ncells, sizeof *value);
    mp_post_cell *det = calloc(c->ncells, sizeof *det);
    mp_post_interval *acc = calloc(c->ncells, sizeof *acc);
    mp_post_params post = {(uint64_t)spec->rounding, seed};
    const double noise_sd = mp_spec_noise_sd(spec, n), s2 = noise_sd * noise_sd;
    if (b == NULL || vec == NULL || noisy == NULL || value == NULL || det == NULL || acc == NULL)
        goto oom;
    for (size_t i = 0; i < c->ncells; i++) {
        noisy[i] = (int64_t)sum[i];
        /* |noisy| < 2^53 unless the sum is not of counts at all; refuse rather than round. */
        if (noisy[i] > MP_CANON_MAX_INT || noisy[i] < -MP_CANON_MAX_INT) {
            mp_catalogue_cell_name(c, i, name, sizeof name);
            mp_error_set("cell %s is out of range: the submissions do not sum to counts (a "
                         "missing or corrupted submission?)",
                         name);
            goto fail;
        }
    }
    /* Post-processing reads the noisy sum and public data only (it costs no privacy). */
    rounding_seed(seed, spec, vec);
    if (mp_post_process_detail(c, noisy, &post, value, det) != 0)
        goto fail;
    for (size_t i = 0; i < c->ncells; i++)
        mp_post_cell_interval(s2, value[i], &det[i], &acc[i]);
    cJSON_AddNumberToObject(b, "mijlpaal_release", 1);
    cJSON_AddStringToObject(b, "round_id", spec->round_id);
    mp_hex_encode(hash, spec->env->hash, MP_HASH_BYTES);
    cJSON_AddStringToObject(b, "round_sha256", hash);
    mp_hex_encode(hash, spec->roster_hash, MP_HASH_BYTES);
    cJSON_AddStringToObject(b, "roster_sha256", hash);
    cJSON_AddStringToObject(b, "region", spec->region);
    o = cJSON_AddObjectToObject(b, "period");
    mp_date_format(sd, spec->period_start);
    mp_date_format(ed, spec->period_end);
    cJSON_AddStringToObject(o, "start", sd);
    cJSON_AddStringToObject(o, "end", ed);
    cJSON_AddStringToObject(b, "published", published);
    arr = cJSON_AddArrayToObject(b, "included");
    for (size_t i = 0; i < n; i++) {
        o = cJSON_CreateObject();
        mp_hex_encode(hash, inc[i].submission_hash, MP_HASH_BYTES);
        cJSON_AddStringToObject(o, "org", inc[i].org);
        cJSON_AddStringToObject(o, "submission_sha256", hash);
        cJSON_AddItemToArray(arr, o);
    }
    if (masking != NULL)
        cJSON_AddItemToObject(b, "masking", cJSON_Duplicate(masking, 1));
    o = cJSON_AddObjectToObject(b, "privacy");
    cJSON_AddStringToObject(o, "mechanism", mp_mechanism_name(spec->privacy.mechanism));
    cJSON_AddStringToObject(o, "rho", spec->privacy.rho_text);
    cJSON_AddStringToObject(o, "epsilon", spec->privacy.epsilon_text);
    cJSON_AddStringToObject(o, "delta", MP_PRIVACY_DELTA_TEXT);
    cJSON_AddStringToObject(o, "series", spec->privacy.series);
    cJSON_AddStringToObject(o, "series_rho", spec->privacy.series_rho_text);
    cJSON_AddStringToObject(o, "series_spent_before", spec->privacy.series_spent_text);
    cJSON_AddNumberToObject(o, "t", (double)spec->privacy.t);
    cJSON_AddNumberToObject(o, "max_orgs_per_person", (double)spec->privacy.max_orgs);
    /* The sensitivity the budget was calibrated for, from the catalogue (privacy.h). */
    uint64_t cells = mp_catalogue_sensitivity(c), orgs = (uint64_t)spec->privacy.max_orgs;
    cJSON_AddNumberToObject(o, "cells_per_person", (double)cells);
    cJSON_AddNumberToObject(o, "sensitivity_l1", (double)(orgs * cells));
    cJSON_AddNumberToObject(o, "sensitivity_l2_squared", (double)(orgs * orgs * cells));
    snprintf(num, sizeof num, "%.2f", noise_sd);
    cJSON_AddStringToObject(o, "noise_sd", num);
    cJSON_AddNumberToObject(b, "rounding", (double)spec->rounding);
    cJSON_AddStringToObject(b, "sum", vec);
    arr = cJSON_AddArrayToObject(b, "cells");
    for (size_t i = 0; i < c->ncells; i++) {
        const mp_metric *m;
        const mp_dim *d;
        const mp_band *band;
        mp_catalogue_cell(c, i, &m, &d, &band);
        mp_catalogue_cell_name(c, i, name, sizeof name);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "metric", m->id);
        if (d != NULL) {
            cJSON_AddStringToObject(o, "dimension", dim_keys[d - c->dims]);
            cJSON_AddStringToObject(o, "band", band->label);
        } else {
            cJSON_AddNullToObject(o, "dimension");
            cJSON_AddNullToObject(o, "band");
        }
        cJSON_AddNumberToObject(o, "noisy", (double)noisy[i]);
        cJSON_AddNumberToObject(o, "value", (double)value[i]);
        snprintf(num, sizeof num, "%.2f", acc[i].sd);
        cJSON_AddStringToObject(o, "sd", num);
        snprintf(num, sizeof num, "%lld", (long long)acc[i].moe);
        cJSON_AddStringToObject(o, "moe95", num);
        cJSON_AddNumberToObject(o, "lower", (double)acc[i].lower);
        cJSON_AddNumberToObject(o, "upper", (double)acc[i].upper);
        cJSON_AddStringToObject(o, "shown_as", mp_post_shown_name(acc[i].shown_as));
        cJSON_AddStringToObject(o, "suppressed", mp_post_suppressed_name(acc[i].suppressed));
        /* The small-cell rule decides; the report shows such a cell as a range, not a point. */
        cJSON_AddBoolToObject(o, "unreliable", acc[i].suppressed != MP_POST_SHOWN);
        cJSON_AddItemToArray(arr, o);
    }
    arr = cJSON_AddArrayToObject(b, "rates");
    for (size_t r = 0; r < c->nrates; r++) {
        const mp_rate *rate = &c->rates[r];
        size_t ni = c->metrics[rate->numerator].offset, di = c->metrics[rate->denominator].offset;
        add_rate(arr, rate, value[ni], value[di], &acc[ni], &acc[di],
                 mp_post_rounding_cov(&det[ni], &det[di], post.rounding));
    }
    free(vec);
    free(noisy);
    free(value);
    free(det);
    free(acc);
    *body = b;
    return 0;
oom:
    mp_error_system("out of memory");
fail:
    free(vec);
    free(noisy);
    free(value);
    free(det);
    free(acc);
    cJSON_Delete(b);
    return -1;
}

/* ---- renderings ------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (s->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (s->len + (size_t)n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(s->p, cap);
        if (np == NULL) {
            s->oom = 1;
            return;
        }
        s->p = np;
        s->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

static int sb_done(sbuf *s, char **out, size_t *len)
{
    if (s->oom || s->p == NULL) {
        free(s->p);
        return mp_error_system("out of memory");
    }
    *out = s->p;
    *len = s->len;
    return 0;
}

/* CSV field: quoted when it holds ';', '"' or a line break. */
static void csv_field(sbuf *s, const char *v)
{
    if (strpbrk(v, ";\"\r\n") == NULL) {
        sb_printf(s, "%s", v);
        return;
    }
    sb_printf(s, "\"");
    for (; *v; v++)
        sb_printf(s, *v == '"' ? "\"\"" : "%c", *v);
    sb_printf(s, "\"");
}

/* A decimal as Dutch readers and Dutch Excel write it: a comma, not a point. */
static void decimal_nl(sbuf *s, const char *v)
{
    for (; *v; v++)
        sb_printf(s, "%c", *v == '.' ? ',' : *v);
}

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static long long int_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

static const mp_metric *metric_of(const mp_catalogue *c, const char *id)
{
    for (size_t i = 0; i < c->nmetrics; i++)
        if (strcmp(c->metrics[i].id, id) == 0)
            return &c->metrics[i];
    return NULL;
}

static const char *dim_title(const mp_catalogue *c, const char *key)
{
    for (int d = 0; d < MP_DIM_COUNT; d++)
        if (strcmp(dim_keys[d], key) == 0)
            return c->dims[d].title;
    return key;
}

/* The CSV's Dutch words for shown_as and suppressed (release.h). */
static const char *csv_word(const char *code)
{
    static const char *const words[][2] = {{"value", "getal"},
                                           {"range", "bereik"},
                                           {"less_than", "minder dan"},
                                           {"small_cell", "kleine cel"},
                                           {"small_denominator", "kleine noemer"},
                                           {"zero_denominator", "noemer is 0"}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(words[i][0], code) == 0)
            return words[i][1];
    return code;
}

int mp_release_csv(char **out, size_t *len, const cJSON *release, const mp_spec *spec)
{
    sbuf s = {0};
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(release, "cells"), *cell;
    const cJSON *rates = cJSON_GetObjectItemCaseSensitive(release, "rates"), *rate;
    sb_printf(&s, "\xEF\xBB\xBF"
                  "Mijlpaal;Uitsplitsing;Categorie;Aantal personen;Foutmarge (95%%);"
                  "Onbetrouwbaar;Ruwe ruis-som;Ondergrens (95%%);Bovengrens (95%%);Weergave;"
                  "Reden onderdrukking;Regio;Periode;Reeks;Publicatie\r\n");
    /* Every row says what it belongs to, so that rows pasted into another sheet keep it. */
    char period[64], tail[512];
    sbuf t = {0};
    mp_nl_period(period, sizeof period, spec->period_start, spec->period_end);
    sb_printf(&t, ";");
    csv_field(&t, spec->region);
    sb_printf(&t, ";");
    csv_field(&t, period);
    sb_printf(&t, ";");
    csv_field(&t, spec->privacy.series);
    sb_printf(&t, ";");
    csv_field(&t, spec->round_id);
    snprintf(tail, sizeof tail, "%s", t.p && !t.oom ? t.p : "");
    free(t.p);
    cJSON_ArrayForEach (cell, cells) {
        const mp_metric *m = metric_of(spec->catalogue, str_or(cell, "metric", ""));
        csv_field(&s, m ? m->title : str_or(cell, "metric", ""));
        sb_printf(&s, ";");
        csv_field(&s, str_or(cell, "dimension", NULL)
                          ? dim_title(spec->catalogue, str_or(cell, "dimension", ""))
                          : "Totaal");
        sb_printf(&s, ";");
        csv_field(&s, str_or(cell, "band", ""));
        sb_printf(&s, ";%lld;%s;%s;%lld;%lld;%lld;%s;%s%s\r\n", int_of(cell, "value"),
                  str_or(cell, "moe95", ""),
                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cell, "unreliable")) ? "ja" : "",
                  int_of(cell, "noisy"), int_of(cell, "lower"), int_of(cell, "upper"),
                  csv_word(str_or(cell, "shown_as", "value")),
                  csv_word(str_or(cell, "suppressed", "")), tail);
    }
    cJSON_ArrayForEach (rate, rates) {
        const char *why = str_or(rate, "suppressed", "");
        csv_field(&s, str_or(rate, "title", ""));
        sb_printf(&s, ";Percentage;;");
        /* Dutch Excel reads a decimal comma. */
        decimal_nl(&s, str_or(rate, "percent", ""));
        sb_printf(&s, ";");
        decimal_nl(&s, str_or(rate, "moe95", ""));
        sb_printf(&s, ";%s;;", *why ? "ja" : "");
        decimal_nl(&s, str_or(rate, "lower", ""));
        sb_printf(&s, ";");
        decimal_nl(&s, str_or(rate, "upper", ""));
        sb_printf(&s, ";%s;%s%s\r\n", *why ? "" : "getal", csv_word(why), tail);
    }
    return sb_done(&s, out, len);
}
