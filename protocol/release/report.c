/*
 * report.c - the Dutch report for raadsleden, as HTML and as PDF (see report.h).
 *
 * One model (the items below: every milestone's figures over the series, its sentences, its
 * chart geometry) is built from the signed inputs; the HTML and the PDF are two renderings of
 * that model, so that they cannot say different things.
 */
#include "report.h"

#include <cairo-pdf.h>
#include <dirent.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "date.h"
#include "nlformat.h"
#include "privacy.h"

/* ---- the series ------------------------------------------------------------------------ */

static int body_period(const cJSON *body, int32_t *start, int32_t *end)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "period");
    const char *s, *e;
    if (!cJSON_IsObject(p) || mp_json_str(p, "start", &s) != 0 || mp_json_str(p, "end", &e) != 0 ||
        mp_date_parse_iso(s, start) != 0 || mp_date_parse_iso(e, end) != 0 || *end < *start)
        return mp_error_set("no valid period");
    return 0;
}

int mp_series_add(mp_series *s, const char *path, const mp_spec *spec, const mp_roster *roster)
{
    mp_envelope *env;
    if (s->n == MP_SERIES_MAX)
        return mp_error_set("%s: a series holds at most %d earlier releases", path, MP_SERIES_MAX);
    if (mp_envelope_load(&env, path, "release") != 0)
        return -1;
    return mp_series_add_envelope(s, env, path, spec, roster);
}

int mp_series_add_envelope(mp_series *s, mp_envelope *env, const char *path, const mp_spec *spec,
                           const mp_roster *roster)
{
    const cJSON *priv;
    const char *series, *region, *round;
    int32_t start, end, os, oe;
    size_t at;
    if (s->n == MP_SERIES_MAX) {
        mp_envelope_free(env);
        return mp_error_set("%s: a series holds at most %d earlier releases", path, MP_SERIES_MAX);
    }
    if (mp_envelope_verify(env, &roster->coordinator) != 0) {
        mp_envelope_free(env);
        return mp_error_prefix("%s: not signed by the roster's coordinator: ", path);
    }
    priv = cJSON_GetObjectItemCaseSensitive(env->body, "privacy");
    if (mp_json_str(env->body, "round_id", &round) != 0 ||
        mp_json_str(env->body, "region", &region) != 0 || !cJSON_IsObject(priv) ||
        mp_json_str(priv, "series", &series) != 0 || body_period(env->body, &start, &end) != 0)
        goto bad;
    /* The round id names the file in series/: the characters of a round id only (spec.h). */
    if (*round == '\0' || strlen(round) > MP_ROUND_ID_MAX ||
        strspn(round, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(round)) {
        mp_error_set("%s: not a valid round id", path);
        goto out;
    }
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(cJSON_GetObjectItemCaseSensitive(s->rel[i]->body, "round_id")->valuestring,
                   round) == 0) {
            mp_error_set("%s: round %s is in the series twice", path, round);
            goto out;
        }
    if (strcmp(series, spec->privacy.series) != 0 || strcmp(region, spec->region) != 0) {
        mp_error_set("%s: release of round %s is of series %s in region %s, not of series %s in "
                     "region %s",
                     path, round, series, region, spec->privacy.series, spec->region);
        goto out;
    }
    if (end >= spec->period_start) {
        mp_error_set("%s: round %s does not end before the period of round %s starts", path, round,
                     spec->round_id);
        goto out;
    }
    for (at = 0; at < s->n; at++) {
        if (body_period(s->rel[at]->body, &os, &oe) != 0)
            goto bad;
        if (start <= oe && os <= end) {
            mp_error_set("%s: the period of round %s overlaps another earlier release", path,
                         round);
            goto out;
        }
        if (start < os)
            break;
    }
    memmove(&s->rel[at + 1], &s->rel[at], (s->n - at) * sizeof s->rel[0]);
    s->rel[at] = env;
    s->n++;
    return 0;
bad:
    mp_error_prefix("%s: not a release: ", path);
out:
    mp_envelope_free(env);
    return -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mp_series_load_dir(mp_series *s, const char *dir, const mp_spec *spec, const mp_roster *roster)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *names[MP_SERIES_MAX + 1], path[4096];
    size_t n = 0;
    int rc = 0;
    if (d == NULL)
        return 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || e->d_name[0] == '.' || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        if (n == MP_SERIES_MAX)
            rc = mp_error_set("%s: more than %d earlier releases", dir, MP_SERIES_MAX);
        else if ((names[n] = strdup(e->d_name)) == NULL)
            rc = mp_error_system("out of memory");
        else
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
            rc = mp_error_set("%s: path too long", dir);
        if (rc == 0)
            rc = mp_series_add(s, path, spec, roster);
        free(names[i]);
    }
    return rc;
}

void mp_series_free(mp_series *s)
{
    for (size_t i = 0; i < s->n; i++)
        mp_envelope_free(s->rel[i]);
    s->n = 0;
}

/* ---- the model ------------------------------------------------------------------------- */

/* Chart geometry, in SVG user units; the PDF scales the same numbers. */
#define CW 640.0
#define CH 220.0
#define CL 64.0
#define CR 16.0
#define CT 14.0
#define CB 40.0
#define NTICK 5
#define NUM 40 /* a formatted number */

typedef struct point {
    int drawn;  /* a point value to draw and compare (shown as a value) */
    int has_iv; /* a 95% interval is known */
    double v, lo, hi, sd;
    char label[32];         /* short period, for the axis */
    char period[MP_NL_CAP]; /* the period as a reader says it */
    char text[160];         /* the figure as printed */
    char iv[2 * NUM + 8];   /* "1.190 en 1.260", read after "tussen" */
} point;

typedef struct item {
    const char *id, *title, *desc;
    const mp_report_info *info;
    const mp_metric *metric; /* NULL for a rate */
    size_t npts;             /* releases of the series that have this milestone */
    point pts[MP_SERIES_MAX + 1];
    char margin[400], change[600], target[600];
    /* chart */
    double ymin, ymax, x[MP_SERIES_MAX + 1], y[MP_SERIES_MAX + 1], ylo[MP_SERIES_MAX + 1],
        yhi[MP_SERIES_MAX + 1], ytarget;
    char tick[NTICK + 1][NUM];
    /* progress bar: fill and target mark as fractions of the bar */
    double bar_fill, bar_mark;
    char bar_text[2 * NUM + 8];
} item;

typedef struct model {
    const mp_report_in *in;
    size_t nitems;
    item *items;
    size_t nrel; /* releases shown: the series and this one */
    const cJSON *rel[MP_SERIES_MAX + 1];
    char region[256], period[MP_NL_CAP], published[MP_NL_CAP];
    char warn_head[128], warn_body[4096]; /* "" when every participant is included */
} model;

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int num_of(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 1;
    }
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        char *end;
        *out = strtod(v->valuestring, &end);
        return *end == '\0';
    }
    return 0;
}

static const cJSON *find_by(const cJSON *arr, const char *key, const char *want)
{
    const cJSON *it;
    cJSON_ArrayForEach (it, arr)
        if (strcmp(str_or(it, key, ""), want) == 0)
            return it;
    return NULL;
}

static void fmt_count(char *out, size_t cap, double v)
{
    mp_nl_int(out, cap, (long long)llround(v));
}

/* A percentage with one decimal and its sign: "48,3%". */
static void fmt_pct(char *out, size_t cap, double v)
{
    char d[NUM - 2];
    mp_nl_double(d, sizeof d, v, 1);
    snprintf(out, cap, "%s%%", d);
}

static void fmt_value(char *out, size_t cap, const item *it, double v)
{
    if (it->metric != NULL)
        fmt_count(out, cap, v);
    else
        fmt_pct(out, cap, v);
}

/* The figure of one cell or rate object `o` of a release, as printed. */
static void point_from(point *p, const item *it, const cJSON *o)
{
    const char *supp, *shown = "value";
    char a[NUM], b[NUM];
    double moe = 0;
    if (it->metric != NULL) {
        num_of(o, "value", &p->v);
        shown = str_or(o, "shown_as", "value");
        num_of(o, "moe95", &moe);
        if (!num_of(o, "sd", &p->sd))
            p->sd = moe / 1.96;
        if (!num_of(o, "lower", &p->lo) || !num_of(o, "upper", &p->hi)) {
            p->lo = p->v - moe < 0 ? 0 : p->v - moe;
            p->hi = p->v + moe;
        }
        supp = str_or(o, "suppressed", "");
    } else {
        supp = str_or(o, "suppressed", "");
        /* Releases before suppression reasons wrote "" for a rate over zero persons. */
        if (*supp == '\0' && !num_of(o, "percent", &p->v))
            supp = "zero_denominator";
        int has_moe = num_of(o, "moe95", &moe);
        if (!num_of(o, "lower", &p->lo) || !num_of(o, "upper", &p->hi)) {
            p->lo = p->v - moe < 0 ? 0 : p->v - moe;
            p->hi = p->v + moe > 100 ? 100 : p->v + moe;
        }
        p->sd = has_moe ? moe / 1.96 : (p->hi - p->lo) / 3.92;
    }
    if (*supp != '\0') {
        snprintf(p->text, sizeof p->text, "%s", mp_nl_suppressed(supp));
        return;
    }
    p->has_iv = 1;
    fmt_value(a, sizeof a, it, p->lo);
    fmt_value(b, sizeof b, it, p->hi);
    snprintf(p->iv, sizeof p->iv, "%s en %s", a, b);
    if (strcmp(shown, "range") == 0) {
        snprintf(p->text, sizeof p->text, "tussen %s en %s", a, b);
    } else if (strcmp(shown, "less_than") == 0) {
        snprintf(p->text, sizeof p->text, "minder dan %s", b);
    } else {
        p->drawn = 1;
        fmt_value(p->text, sizeof p->text, it, p->v);
    }
}

/* A milestone of one release: the metric's total cell or the rate. 0 when the release does
 * not have it (a milestone added to the catalogue later). */
static int read_point(point *p, const item *it, const cJSON *rel)
{
    const cJSON *o;
    double v;
    int32_t s, e;
    memset(p, 0, sizeof *p);
    if (body_period(rel, &s, &e) != 0)
        return 0;
    mp_nl_period_short(p->label, sizeof p->label, s, e);
    mp_nl_period(p->period, sizeof p->period, s, e);
    if (it->metric != NULL)
        o = find_by(cJSON_GetObjectItemCaseSensitive(rel, "cells"), "name", it->id);
    else
        o = find_by(cJSON_GetObjectItemCaseSensitive(rel, "rates"), "id", it->id);
    if (o == NULL || (it->metric != NULL && !num_of(o, "value", &v)))
        return 0;
    point_from(p, it, o);
    return 1;
}

/* The smallest of 1, 2, 5 times a power of ten (at least `floor`) that is >= v. */
static double nice_step(double v, double floor)
{
    double p = floor;
    for (;;) {
        if (p >= v)
            return p;
        if (2 * p >= v)
            return 2 * p;
        if (5 * p >= v)
            return 5 * p;
        p *= 10;
    }
}

static void sentences(item *it, const model *md)
{
    const point *cur = &it->pts[it->npts - 1], *prev = NULL;
    const char *unit = it->metric != NULL ? "" : " procentpunt";
    char a[NUM], b[NUM], c[NUM];
    const mp_report_info *ri = it->info;

    if (cur->drawn)
        snprintf(it->margin, sizeof it->margin,
                 "De werkelijke waarde ligt met 95%% zekerheid tussen %s.", cur->iv);
    else if (cur->has_iv && strncmp(cur->text, "minder", 6) == 0)
        snprintf(it->margin, sizeof it->margin,
                 "Dit cijfer is klein en daardoor onzeker: de werkelijke waarde ligt met 95%% "
                 "zekerheid tussen %s. Daarom staat er geen precies getal.",
                 cur->iv);
    else if (cur->has_iv)
        snprintf(it->margin, sizeof it->margin,
                 "Dit cijfer is onzeker: de werkelijke waarde ligt met 95%% zekerheid tussen %s. "
                 "Daarom staat er geen precies getal.",
                 cur->iv);
    else
        snprintf(it->margin, sizeof it->margin, "%s",
                 "Dit cijfer wordt niet getoond, zodat het niets over een kleine groep "
                 "personen kan verraden en geen schijnzekerheid geeft.");

    for (size_t i = it->npts - 1; i-- > 0;)
        if (it->pts[i].drawn) {
            prev = &it->pts[i];
            break;
        }
    if (!cur->drawn)
        it->change[0] = '\0';
    else if (prev == NULL)
        snprintf(it->change, sizeof it->change, "%s",
                 md->nrel > 1 ? "Er is geen eerder halfjaar in deze reeks met een getoond cijfer "
                                "om mee te vergelijken."
                              : "Dit is de eerste publicatie van deze reeks: er is nog geen eerder "
                                "halfjaar om mee te vergelijken.");
    else {
        double d = cur->v - prev->v;
        double m = 1.96 * sqrt(cur->sd * cur->sd + prev->sd * prev->sd);
        if (it->metric != NULL)
            mp_nl_int(a, sizeof a, llabs(llround(d)));
        else
            mp_nl_double(a, sizeof a, fabs(d), 1);
        if (it->metric != NULL)
            mp_nl_int(b, sizeof b, llround(m));
        else
            mp_nl_double(b, sizeof b, m, 1);
        fmt_value(c, sizeof c, it, prev->v);
        if (strcmp(a, "0") == 0 || strcmp(a, "0,0") == 0)
            snprintf(it->change, sizeof it->change,
                     "Ten opzichte van het %s (%s) is er geen verandering.", prev->period, c);
        else
            snprintf(it->change, sizeof it->change,
                     "Ten opzichte van het %s (%s) is dit %s%s %s. %s (plus of min %s%s).",
                     prev->period, c, a, unit, d > 0 ? "hoger" : "lager",
                     fabs(d) > m ? "Die verandering is groter dan de foutmarge van het verschil, "
                                   "dus waarschijnlijk echt"
                                 : "Die verandering valt binnen de foutmarge van het verschil en "
                                   "kan dus door de ruis komen",
                     b, unit);
    }

    it->target[0] = '\0';
    it->bar_text[0] = '\0';
    if (ri->target_kind != MP_TARGET_NONE) {
        char goal[NUM];
        double got = 0;
        size_t used = 0;
        int flow = it->metric != NULL && it->metric->kind != MP_METRIC_STOCK;
        if (ri->target_kind == MP_TARGET_COUNT)
            mp_nl_int(goal, sizeof goal, ri->target_value);
        else
            snprintf(goal, sizeof goal, "%lld%%", ri->target_value);
        if (flow) {
            /* A target for a flow is reached over time: add the half-years shown. */
            for (size_t i = 0; i < it->npts; i++)
                if (it->pts[i].drawn) {
                    got += it->pts[i].v;
                    used++;
                }
        } else if (cur->drawn) {
            got = cur->v;
            used = 1;
        }
        int n = snprintf(it->target, sizeof it->target, "Doel: %s. ",
                         ri->target_label ? ri->target_label : goal);
        if (used == 0) {
            snprintf(it->target + n, sizeof it->target - (size_t)n, "%s",
                     "Er is geen getoond cijfer om de voortgang mee te meten.");
        } else if (flow) {
            fmt_count(a, sizeof a, got);
            mp_nl_int(b, sizeof b, llround(100.0 * got / (double)ri->target_value));
            snprintf(
                it->target + n, sizeof it->target - (size_t)n,
                "Opgeteld over %s %zu getoonde %s in deze reeks: %s, dat is %s%% van het doel.",
                used == 1 ? "het" : "de", used, used == 1 ? "halfjaar" : "halfjaren", a, b);
        } else {
            fmt_value(a, sizeof a, it, got);
            snprintf(it->target + n, sizeof it->target - (size_t)n, "Nu: %s, %s het doel.", a,
                     got >= (double)ri->target_value ? "dat haalt" : "dat is onder");
        }
        if (used > 0) {
            double scale = ri->target_kind == MP_TARGET_PERCENT
                               ? 100.0
                               : (got > (double)ri->target_value ? got : (double)ri->target_value);
            it->bar_fill = got / scale;
            it->bar_mark = (double)ri->target_value / scale;
            fmt_value(a, sizeof a, it, got);
            snprintf(it->bar_text, sizeof it->bar_text, "%s van %s", a, goal);
        }
    }
    (void)md;
}

/* The y axis spans the intervals (and a level target) with some room, in NTICK nice steps;
 * it starts at 0 unless that would flatten the band into a line. */
static void geometry(item *it)
{
    const mp_report_info *ri = it->info;
    int level_target = ri->target_kind != MP_TARGET_NONE &&
                       (it->metric == NULL || it->metric->kind == MP_METRIC_STOCK);
    double lo = 1e300, hi = -1e300, step, bottom;
    for (size_t i = 0; i < it->npts; i++)
        if (it->pts[i].has_iv) {
            lo = it->pts[i].lo < lo ? it->pts[i].lo : lo;
            hi = it->pts[i].hi > hi ? it->pts[i].hi : hi;
        }
    if (level_target) {
        lo = (double)ri->target_value < lo ? (double)ri->target_value : lo;
        hi = (double)ri->target_value > hi ? (double)ri->target_value : hi;
    }
    if (hi < lo)
        lo = hi = 0;
    if (lo < 0.4 * hi)
        lo = 0;
    double pad = (hi - lo) * 0.15 + (it->metric != NULL ? 1 : 0.1);
    for (double want = (hi - lo + 2 * pad) / NTICK;; want = step * 1.01) {
        step = nice_step(want, it->metric != NULL ? 1 : 0.1);
        bottom = lo == 0 ? 0 : floor((lo - pad) / step) * step;
        if (bottom < 0)
            bottom = 0;
        if (bottom + NTICK * step >= hi)
            break;
    }
    it->ymin = bottom;
    it->ymax = bottom + NTICK * step;
    for (int k = 0; k <= NTICK; k++) {
        double v = bottom + step * k;
        if (it->metric != NULL)
            fmt_count(it->tick[k], sizeof it->tick[k], v);
        else {
            char d[NUM - 2];
            mp_nl_double(d, sizeof d, v, step < 1 ? 1 : 0);
            snprintf(it->tick[k], sizeof it->tick[k], "%s%%", d);
        }
    }
#define YOF(v) (CT + (CH - CT - CB) * (1 - ((v)-it->ymin) / (it->ymax - it->ymin)))
    for (size_t i = 0; i < it->npts; i++) {
        const point *p = &it->pts[i];
        it->x[i] = it->npts == 1
                       ? CL + (CW - CL - CR) / 2
                       : CL + 20 + (CW - CL - CR - 40) * (double)i / (double)(it->npts - 1);
        it->y[i] = YOF(p->v);
        it->ylo[i] = YOF(p->lo);
        it->yhi[i] = YOF(p->hi);
    }
    it->ytarget = level_target ? YOF((double)ri->target_value) : -1;
#undef YOF
}

static const mp_org *org_of(const model *md, const char *id)
{
    return mp_roster_org(md->in->roster, id);
}

static int included(const model *md, const char *org)
{
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(md->in->release, "included");
    return find_by(inc, "org", org) != NULL;
}

static size_t n_included(const model *md)
{
    return (size_t)cJSON_GetArraySize(
        cJSON_GetObjectItemCaseSensitive(md->in->release, "included"));
}

/* A round that survived dropouts (bonawitz-v1): who is missing from the figures, and whether
 * each dropped out during the round (it advertised keys) or never took part. */
static void dropout_warning(model *md)
{
    const mp_spec *sp = md->in->spec;
    /* Who took part in the round's key exchange: "shared" (key shares sent) since the share
     * phase, "advertised" in releases made before it. */
    const cJSON *masking = cJSON_GetObjectItemCaseSensitive(md->in->release, "masking");
    const cJSON *adv = cJSON_GetObjectItemCaseSensitive(masking, "shared");
    if (adv == NULL)
        adv = cJSON_GetObjectItemCaseSensitive(masking, "advertised");
    size_t n = n_included(md), missing = sp->nparticipants - n, k = 0, o;
    md->warn_head[0] = md->warn_body[0] = '\0';
    if (n >= sp->nparticipants)
        return;
    snprintf(md->warn_head, sizeof md->warn_head,
             "Let op: %zu van de %zu organisaties %s in deze cijfers.", missing, sp->nparticipants,
             missing == 1 ? "ontbreekt" : "ontbreken");
    o = (size_t)snprintf(md->warn_body, sizeof md->warn_body, "De tellingen van ");
    for (size_t i = 0; i < sp->nparticipants && o < sizeof md->warn_body; i++) {
        const mp_org *org = org_of(md, sp->participants[i]);
        const cJSON *it;
        int advertised = 0;
        if (included(md, sp->participants[i]))
            continue;
        cJSON_ArrayForEach (it, adv)
            advertised |= cJSON_IsString(it) && strcmp(it->valuestring, sp->participants[i]) == 0;
        o += (size_t)snprintf(md->warn_body + o, sizeof md->warn_body - o, "%s%s%s",
                              k == 0             ? ""
                              : k + 1 == missing ? " en "
                                                 : ", ",
                              org ? org->name : sp->participants[i],
                              adv == NULL  ? ""
                              : advertised ? " (viel uit tijdens de ronde)"
                                           : " (deed niet mee)");
        k++;
    }
    if (o < sizeof md->warn_body)
        snprintf(md->warn_body + o, sizeof md->warn_body - o,
                 " zijn niet aangeleverd: wie alleen daar bekend is, zit niet in deze cijfers. "
                 "De cijfers onderschatten de regio daardoor.");
}

static void model_free(model *md)
{
    free(md->items);
}

static int model_build(model *md, const mp_report_in *in)
{
    const mp_catalogue *c = in->spec->catalogue;
    memset(md, 0, sizeof *md);
    md->in = in;
    if (in->series != NULL)
        for (size_t i = 0; i < in->series->n; i++)
            md->rel[md->nrel++] = in->series->rel[i]->body;
    md->rel[md->nrel++] = in->release;
    md->items = calloc(c->nmetrics + c->nrates, sizeof *md->items);
    if (md->items == NULL)
        return mp_error_system("out of memory");
    for (size_t i = 0; i < c->nmetrics + c->nrates; i++) {
        item *it = &md->items[md->nitems];
        if (i < c->nmetrics) {
            const mp_metric *m = &c->metrics[i];
            it->id = m->id;
            it->title = m->title;
            it->desc = m->report.description_nl ? m->report.description_nl : m->description;
            it->info = &m->report;
            it->metric = m;
        } else {
            const mp_rate *r = &c->rates[i - c->nmetrics];
            it->id = r->id;
            it->title = r->title;
            it->desc = r->report.description_nl;
            it->info = &r->report;
        }
        for (size_t k = 0; k < md->nrel; k++) {
            point p;
            /* The current release must have every milestone; an earlier one may lack one. */
            if (read_point(&p, it, md->rel[k]))
                it->pts[it->npts++] = p;
            else if (k == md->nrel - 1)
                return mp_error_set("the release has no figure for milestone %s", it->id);
        }
        sentences(it, md);
        geometry(it);
        md->nitems++;
    }
    const char *name = in->roster->region_name ? in->roster->region_name : in->spec->region;
    snprintf(md->region, sizeof md->region, "%s", name);
    mp_nl_period(md->period, sizeof md->period, in->spec->period_start, in->spec->period_end);
    int64_t t;
    if (mp_time_parse(str_or(in->release, "published", ""), &t) != 0)
        return mp_error_set("the release has no valid publication time");
    mp_nl_time(md->published, sizeof md->published, t);
    dropout_warning(md);
    return 0;
}

/* The pijlers in order of first appearance; items without one come last. */
static size_t pijlers(const model *md, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < md->nitems; i++) {
        const char *p = md->items[i].info->pijler;
        size_t k;
        if (p == NULL)
            continue;
        for (k = 0; k < n && strcmp(out[k], p) != 0; k++)
            ;
        if (k == n)
            out[n++] = p;
    }
    return n;
}

static int in_pijler(const item *it, const char *p)
{
    return p == NULL ? it->info->pijler == NULL
                     : it->info->pijler != NULL && strcmp(it->info->pijler, p) == 0;
}

static const char *dim_title_of(const mp_catalogue *c, const char *key)
{
    static const char *const keys[MP_DIM_COUNT] = {"age", "duration", "focus", "sex"};
    for (int d = 0; d < MP_DIM_COUNT; d++)
        if (strcmp(keys[d], key) == 0)
            return c->dims[d].title;
    return key;
}

/* A breakdown cell as printed: its figure and its interval. */
static void cell_text(const cJSON *cell, char *fig, size_t fcap, char *iv, size_t icap)
{
    static const mp_metric any;
    item it = {.metric = &any};
    point p = {0};
    point_from(&p, &it, cell);
    snprintf(fig, fcap, "%s", p.text);
    snprintf(iv, icap, "%s", p.iv);
}

/* ---- HTML ------------------------------------------------------------------------------ */

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        const char *e = mp_nl_html_entity(*s);
        if (e)
            fputs(e, f);
        else
            fputc(*s, f);
    }
}

/* Okabe and Ito (2008), distinguishable with every common colour-vision deficiency. */
#define C_BLUE "#0072B2"
#define C_SKY "#56B4E9"
#define C_ORANGE "#E69F00"
#define C_GREEN "#009E73"
#define C_VERMILLION "#D55E00"
#define C_GREY "#6b6b6b"

static const char css[] =
    "*{box-sizing:border-box}"
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;line-height:1.45;color:#1a1a1a;"
    "margin:0 auto;max-width:52rem;padding:1rem}"
    "h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.3rem;margin-top:2rem;border-bottom:2px "
    "solid " C_BLUE "}h3{font-size:1.1rem;margin-bottom:.3rem}"
    "p,li,td,th,caption{overflow-wrap:break-word}"
    ".meta{color:#333}.warn{border:3px solid " C_VERMILLION ";background:#fff3ec;padding:.6rem "
    ".8rem;margin:1rem 0}"
    ".milestone{border-top:1px solid #ccc;padding-top:.4rem;margin-top:1.2rem;"
    "break-inside:avoid-page}"
    ".figure{font-size:1.8rem;font-weight:bold;margin:.2rem 0;color:" C_BLUE "}"
    ".margin,.change,.target{margin:.3rem 0}"
    "svg{width:100%;height:auto;max-width:40rem;display:block}"
    "table{border-collapse:collapse;width:100%;max-width:40rem;margin:.5rem 0 1rem 0;"
    "font-size:.9rem}"
    "caption{text-align:left;font-weight:bold;padding:.3rem 0}"
    "td,th{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}"
    "td.n{text-align:right}"
    "@media (max-width:30rem){body{padding:.5rem}table{font-size:.8rem}.figure{font-size:1.5rem}}"
    "details{margin:.3rem 0}summary{cursor:pointer;color:" C_BLUE "}"
    "code{overflow-wrap:anywhere;word-break:break-all;font-size:.85em}"
    ".tech th{width:45%}.tech td{overflow-wrap:anywhere;word-break:break-all}"
    "@media print{body{max-width:none;padding:0;font-size:10pt}"
    "h2{break-after:avoid-page}details{display:block}details>summary{display:none}"
    "details:not([open])>*{display:block}.warn{background:none}a{color:inherit}}";

static void svg_trend(FILE *f, const item *it, size_t idx)
{
    fprintf(f,
            "<svg class=\"trend\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
            "aria-labelledby=\"t%zu d%zu\" data-milestone=\"%s\">\n<title id=\"t%zu\">Verloop: ",
            CW, CH, idx, idx, it->id, idx);
    esc(f, it->title);
    fprintf(f, "</title>\n<desc id=\"d%zu\">", idx);
    for (size_t i = 0; i < it->npts; i++) {
        fprintf(f, "%s", i ? "; " : "");
        esc(f, it->pts[i].period);
        fprintf(f, ": ");
        esc(f, it->pts[i].text);
    }
    fprintf(f,
            ". De band is de foutmarge (95%%); de tabel eronder geeft dezelfde cijfers.</desc>\n");
    for (int k = 0; k <= NTICK; k++) {
        double y = CT + (CH - CT - CB) * (1 - (double)k / NTICK);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\" fill=\"#333\">",
                CL, y, CW - CR, y, CL - 6, y + 4);
        esc(f, it->tick[k]);
        fprintf(f, "</text>\n");
    }
    /* The margin band through every point with a known interval. */
    size_t nb = 0;
    for (size_t i = 0; i < it->npts; i++)
        nb += it->pts[i].has_iv;
    if (nb >= 2) {
        fprintf(f, "<polygon fill=\"" C_SKY "\" fill-opacity=\"0.4\" points=\"");
        for (size_t i = 0; i < it->npts; i++)
            if (it->pts[i].has_iv)
                fprintf(f, "%.1f,%.1f ", it->x[i], it->yhi[i]);
        for (size_t i = it->npts; i-- > 0;)
            if (it->pts[i].has_iv)
                fprintf(f, "%.1f,%.1f ", it->x[i], it->ylo[i]);
        fprintf(f, "\"/>\n");
    } else if (nb == 1) {
        for (size_t i = 0; i < it->npts; i++)
            if (it->pts[i].has_iv)
                fprintf(f,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"%.1f\" fill=\"" C_SKY
                        "\" fill-opacity=\"0.4\"/>\n",
                        it->x[i] - 12, it->yhi[i], it->ylo[i] - it->yhi[i]);
    }
    if (it->ytarget >= 0)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" C_ORANGE
                "\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n",
                CL, it->ytarget, CW - CR, it->ytarget);
    fprintf(f, "<polyline fill=\"none\" stroke=\"" C_BLUE "\" stroke-width=\"2.5\" points=\"");
    for (size_t i = 0; i < it->npts; i++)
        if (it->pts[i].drawn)
            fprintf(f, "%.1f,%.1f ", it->x[i], it->y[i]);
    fprintf(f, "\"/>\n");
    size_t every = it->npts > 8 ? (it->npts + 7) / 8 : 1;
    for (size_t i = 0; i < it->npts; i++) {
        if (it->pts[i].drawn)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"" C_BLUE "\"/>", it->x[i],
                    it->y[i]);
        if ((it->npts - 1 - i) % every == 0) {
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
                    "fill=\"#333\">",
                    it->x[i], CH - CB + 18);
            esc(f, it->pts[i].label);
            fprintf(f, "</text>");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "</svg>\n");
}

static void svg_bar(FILE *f, const item *it, size_t idx)
{
    double w = CW - 2;
    fprintf(f,
            "<svg class=\"progress\" viewBox=\"0 0 %.0f 34\" role=\"img\" aria-label=\"Voortgang "
            "naar het doel: ",
            CW);
    esc(f, it->bar_text);
    fprintf(f, "\">\n<title>Voortgang naar het doel: ");
    esc(f, it->bar_text);
    fprintf(f,
            "</title>\n<rect x=\"1\" y=\"4\" width=\"%.1f\" height=\"20\" fill=\"#eee\" "
            "stroke=\"#999\"/>\n<rect x=\"1\" y=\"4\" width=\"%.1f\" height=\"20\" fill=\"" C_GREEN
            "\"/>\n<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"28\" stroke=\"" C_ORANGE
            "\" stroke-width=\"3\"/>\n</svg>\n",
            w, w * (it->bar_fill > 1 ? 1 : it->bar_fill), 1 + w * it->bar_mark,
            1 + w * it->bar_mark);
    (void)idx;
}

static void html_item(FILE *f, const model *md, const item *it, size_t idx)
{
    const point *cur = &it->pts[it->npts - 1];
    const mp_catalogue *c = md->in->spec->catalogue;
    fprintf(f, "<section class=\"milestone\" id=\"m-%s\" data-milestone=\"%s\">\n<h3>", it->id,
            it->id);
    esc(f, it->title);
    fprintf(f, "</h3>\n");
    if (it->desc) {
        fprintf(f, "<p class=\"desc\">");
        esc(f, it->desc);
        fprintf(f, "</p>\n");
    }
    fprintf(f, "<p class=\"figure\">");
    esc(f, cur->text);
    fprintf(f, "%s</p>\n<p class=\"margin\">", it->metric ? (cur->drawn ? " personen" : "") : "");
    esc(f, it->margin);
    fprintf(f, "</p>\n");
    if (it->change[0]) {
        fprintf(f, "<p class=\"change\">");
        esc(f, it->change);
        fprintf(f, "</p>\n");
    }
    if (it->target[0]) {
        fprintf(f, "<p class=\"target\">");
        esc(f, it->target);
        fprintf(f, " <small>Bron: ");
        esc(f, it->info->target_source);
        fprintf(f, "</small></p>\n");
        if (it->bar_text[0])
            svg_bar(f, it, idx);
    }
    svg_trend(f, it, idx);
    fprintf(f, "<table class=\"series\">\n<caption>Verloop per periode: ");
    esc(f, it->title);
    fprintf(f, "</caption>\n<thead><tr><th scope=\"col\">Periode</th><th scope=\"col\">Cijfer</th>"
               "<th scope=\"col\">Met 95%% zekerheid tussen</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < it->npts; i++) {
        fprintf(f, "<tr><th scope=\"row\">");
        esc(f, it->pts[i].period);
        fprintf(f, "</th><td class=\"n\">");
        esc(f, it->pts[i].text);
        fprintf(f, "</td><td class=\"n\">");
        esc(f, it->pts[i].iv);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</tbody>\n</table>\n");
    if (it->metric != NULL && it->metric->nbreakdowns > 0) {
        const cJSON *cells = cJSON_GetObjectItemCaseSensitive(md->in->release, "cells"), *cell;
        fprintf(f,
                "<details open>\n<summary>Uitsplitsingen</summary>\n<table class=\"breakdown\">\n"
                "<caption>Uitsplitsingen: ");
        esc(f, it->title);
        fprintf(f, "</caption>\n<thead><tr><th scope=\"col\">Categorie</th><th scope=\"col\">"
                   "Aantal</th><th scope=\"col\">Met 95%% zekerheid tussen</th></tr></thead>\n");
        const char *open_dim = NULL;
        cJSON_ArrayForEach (cell, cells) {
            char fig[160], iv[2 * NUM + 8];
            const char *dim = str_or(cell, "dimension", NULL);
            if (dim == NULL || strcmp(str_or(cell, "metric", ""), it->id) != 0)
                continue;
            /* One row group per breakdown, so that the table stays three columns wide. */
            if (open_dim == NULL || strcmp(open_dim, dim) != 0) {
                fprintf(f, "%s<tbody>\n<tr><th colspan=\"3\" scope=\"colgroup\">",
                        open_dim ? "</tbody>\n" : "");
                esc(f, dim_title_of(c, dim));
                fprintf(f, "</th></tr>\n");
                open_dim = dim;
            }
            cell_text(cell, fig, sizeof fig, iv, sizeof iv);
            fprintf(f, "<tr><td>");
            esc(f, str_or(cell, "band", ""));
            fprintf(f, "</td><td class=\"n\">");
            esc(f, fig);
            fprintf(f, "</td><td class=\"n\">");
            esc(f, iv);
            fprintf(f, "</td></tr>\n");
        }
        fprintf(f, "</tbody>\n</table>\n</details>\n");
    }
    fprintf(f, "</section>\n");
}

/* The participating organisations, and who is missing from the figures. */
static void html_orgs(FILE *f, const model *md)
{
    const mp_spec *sp = md->in->spec;
    size_t n = n_included(md);
    if (md->warn_head[0]) {
        fprintf(f, "<div class=\"warn\" role=\"alert\" id=\"dropout\"><p><strong>");
        esc(f, md->warn_head);
        fprintf(f, "</strong> ");
        esc(f, md->warn_body);
        fprintf(f, "</p></div>\n");
    }
    fprintf(f,
            "<h2>Deelnemende organisaties</h2>\n<p>Deze %zu organisaties leverden hun "
            "versleutelde tellingen aan; alleen de som over de regio is geopend:</p>\n<ul "
            "class=\"orgs\">\n",
            n);
    for (size_t i = 0; i < sp->nparticipants; i++) {
        const mp_org *o = org_of(md, sp->participants[i]);
        if (!included(md, sp->participants[i]))
            continue;
        fprintf(f, "<li>");
        esc(f, o ? o->name : sp->participants[i]);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n");
}

static void appendix_row(FILE *f, const char *k, const char *v)
{
    fprintf(f, "<tr><th scope=\"row\">");
    esc(f, k);
    fprintf(f, "</th><td>");
    esc(f, v);
    fprintf(f, "</td></tr>\n");
}

/* The technical details as (label, value) pairs, for both renderings. */
typedef struct kv {
    char k[80], v[200];
} kv;

static size_t tech_rows(const model *md, kv *rows)
{
    const cJSON *rel = md->in->release;
    const cJSON *priv = cJSON_GetObjectItemCaseSensitive(rel, "privacy");
    size_t n = 0;
    double x;
    char a[MP_NL_CAP];
#define ROW(key, ...)                                                                              \
    do {                                                                                           \
        snprintf(rows[n].k, sizeof rows[n].k, "%s", key);                                          \
        snprintf(rows[n].v, sizeof rows[n].v, __VA_ARGS__);                                        \
        n++;                                                                                       \
    } while (0)
    ROW("Mechanisme", "%s", str_or(priv, "mechanism", "?"));
    mp_nl_decimal(a, sizeof a, str_or(priv, "rho", "?"));
    ROW("Privacybudget ρ (zCDP)", "%s", a);
    mp_nl_decimal(a, sizeof a, str_or(priv, "epsilon", "?"));
    ROW("ε (bij δ hieronder)", "%s", a);
    ROW("δ", "%s", str_or(priv, "delta", "?"));
    ROW("n (aanleveringen in de som)", "%zu van %zu", n_included(md), md->in->spec->nparticipants);
    ROW("t (organisaties die mogen samenspannen of uitvallen)", "%.0f",
        num_of(priv, "t", &x) ? x : 0);
    ROW("Organisaties per persoon (hoogstens)", "%.0f",
        num_of(priv, "max_orgs_per_person", &x) ? x : 0);
    ROW("Gevoeligheid L1 / L2²", "%.0f / %.0f", num_of(priv, "sensitivity_l1", &x) ? x : 0,
        num_of(priv, "sensitivity_l2_squared", &x) ? x : 0);
    mp_nl_decimal(a, sizeof a, str_or(priv, "noise_sd", "?"));
    ROW("Standaardafwijking van de ruis per cel", "%s", a);
    ROW("Afronding", "op veelvouden van %.0f", num_of(rel, "rounding", &x) ? x : 1);
    ROW("Reeks", "%s", str_or(priv, "series", "?"));
    mp_nl_decimal(a, sizeof a, str_or(priv, "series_spent_before", "?"));
    char b[MP_NL_CAP];
    mp_nl_decimal(b, sizeof b, str_or(priv, "series_rho", "?"));
    ROW("Budget van de reeks: eerder verbruikt / totaal", "%s / %s", a, b);
    ROW("Ronde", "%s", str_or(rel, "round_id", "?"));
    ROW("SHA-256 van de ronde", "%s", str_or(rel, "round_sha256", "?"));
    ROW("SHA-256 van het rooster", "%s", str_or(rel, "roster_sha256", "?"));
    if (md->in->release_sha256)
        ROW("SHA-256 van deze publicatie", "%s", md->in->release_sha256);
    if (md->in->series != NULL)
        for (size_t i = 0; i < md->in->series->n && n < 40; i++) {
            char h[MP_HASH_HEX_BYTES];
            mp_hex_encode(h, md->in->series->rel[i]->hash, MP_HASH_BYTES);
            ROW("Eerdere publicatie in de reeks", "%s: %s",
                str_or(md->in->series->rel[i]->body, "round_id", "?"), h);
        }
#undef ROW
    return n;
}

static const char intro_noise[] =
    "Elk cijfer bevat bewust een kleine toevallige afwijking (ruis), die de organisaties zelf "
    "hebben toegevoegd voordat zij hun tellingen versleuteld aanleverden. Daardoor kan niemand "
    "uit deze cijfers afleiden of een bepaalde inwoner erin voorkomt. Bij elk cijfer staat "
    "daarom tussen welke waarden de werkelijke waarde met 95% zekerheid ligt. Een verschil met "
    "het vorige halfjaar noemen we pas echt als het groter is dan de foutmarge van dat "
    "verschil. Kleine aantallen staan als bandbreedte (\"tussen ... en ...\") of als \"minder "
    "dan ...\".";

int mp_report_html(char **out, size_t *len, const mp_report_in *in)
{
    model md;
    char *buf = NULL;
    size_t blen = 0;
    FILE *f;
    const char *pj[MP_MAX_METRICS * 2];
    kv rows[48];
    if (model_build(&md, in) != 0) {
        model_free(&md);
        return -1;
    }
    if ((f = open_memstream(&buf, &blen)) == NULL) {
        model_free(&md);
        return mp_error_system("out of memory");
    }
    const mp_catalogue *c = in->spec->catalogue;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    esc(f, c->title);
    fprintf(f, ", ");
    esc(f, md.period);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>", css);
    esc(f, c->title);
    fprintf(f, "</h1>\n<p class=\"meta\"><strong>");
    esc(f, md.region);
    fprintf(f, "</strong>, <span id=\"period\">");
    esc(f, md.period);
    fprintf(f, "</span>. Gepubliceerd op ");
    esc(f, md.published);
    fprintf(f, ".</p>\n</header>\n<main>\n");
    html_orgs(f, &md);
    fprintf(f, "<h2>Zo leest u deze cijfers</h2>\n<p>Deze cijfers gaan alleen over de regio als "
               "geheel: er is geen cijfer per gemeente of per organisatie, en niets over een "
               "persoon.</p>\n<p>");
    esc(f, intro_noise);
    fprintf(f, "</p>\n");
    size_t np = pijlers(&md, pj);
    for (size_t g = 0; g <= np; g++) {
        const char *p = g < np ? pj[g] : NULL;
        size_t k = 0;
        for (size_t i = 0; i < md.nitems; i++)
            k += in_pijler(&md.items[i], p);
        if (k == 0)
            continue;
        fprintf(f, "<h2>");
        esc(f, p ? p : (np ? "Overige mijlpalen" : "Mijlpalen"));
        fprintf(f, "</h2>\n");
        for (size_t i = 0; i < md.nitems; i++)
            if (in_pijler(&md.items[i], p))
                html_item(f, &md, &md.items[i], i);
    }
    size_t nr = tech_rows(&md, rows);
    fprintf(f, "<h2 id=\"bijlage\">Bijlage: technische gegevens</h2>\n<p>Voor wie de berekening "
               "wil nagaan. De privacy is afgesproken als zero-concentrated differential privacy "
               "met budget &rho;; &epsilon; en &delta; zijn de gebruikelijke maat daarvoor. "
               "Details: docs/privacy.md van mijlpaal.</p>\n<table class=\"tech\">\n<caption>"
               "Technische gegevens van deze publicatie</caption>\n<tbody>\n");
    for (size_t i = 0; i < nr; i++)
        appendix_row(f, rows[i].k, rows[i].v);
    fprintf(f, "</tbody>\n</table>\n<p>Controle: deze publicatie is digitaal ondertekend door de "
               "regionale coördinator. Een accountant kan met <code>mijlpaal-auditor "
               "verify</code> nagaan dat elk cijfer uit ondertekende aanleveringen van de "
               "deelnemende organisaties komt.</p>\n</main>\n</body>\n</html>\n");
    model_free(&md);
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return mp_error_system("out of memory");
    }
    *out = buf;
    *len = blen;
    return 0;
}

/* ---- PDF ------------------------------------------------------------------------------- */

#define PAGE_W 595.276 /* A4 in points */
#define PAGE_H 841.89
#define MARGIN 50.0

typedef struct pdf {
    cairo_t *cr;
    PangoLayout *lay;
    double y;
    char *buf;
    size_t len, cap;
    int oom;
} pdf;

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int n)
{
    pdf *p = closure;
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 65536;
        while (cap < p->len + n)
            cap *= 2;
        char *nb = realloc(p->buf, cap);
        if (nb == NULL) {
            p->oom = 1;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
    return CAIRO_STATUS_SUCCESS;
}

static void pdf_need(pdf *p, double h)
{
    if (p->y + h > PAGE_H - MARGIN) {
        cairo_show_page(p->cr);
        p->y = MARGIN;
    }
}

static void rgb(cairo_t *cr, unsigned hex, double alpha)
{
    cairo_set_source_rgba(cr, ((hex >> 16) & 255) / 255.0, ((hex >> 8) & 255) / 255.0,
                          (hex & 255) / 255.0, alpha);
}

/* Lay out text in a box of `width` at x; returns its height. Draws only when `draw`. */
static double pdf_box(pdf *p, const char *text, double size, int bold, double x, double width,
                      int draw, unsigned colour)
{
    PangoFontDescription *fd = pango_font_description_new();
    int w, h;
    pango_font_description_set_family(fd, "DejaVu Sans");
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(p->lay, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(p->lay, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(p->lay, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_text(p->lay, text, -1);
    pango_layout_get_size(p->lay, &w, &h);
    if (draw) {
        rgb(p->cr, colour, 1);
        cairo_move_to(p->cr, x, p->y);
        pango_cairo_show_layout(p->cr, p->lay);
    }
    return (double)h / PANGO_SCALE;
}

static void pdf_text(pdf *p, const char *text, double size, int bold, unsigned colour, double after)
{
    double h = pdf_box(p, text, size, bold, MARGIN, PAGE_W - 2 * MARGIN, 0, colour);
    pdf_need(p, h);
    pdf_box(p, text, size, bold, MARGIN, PAGE_W - 2 * MARGIN, 1, colour);
    p->y += h + after;
}

/* A table row of up to 4 cells with the given column widths. */
static void pdf_row(pdf *p, const char *const *cells, const double *widths, size_t n, int bold)
{
    double h = 0, x = MARGIN;
    for (size_t i = 0; i < n; i++) {
        double hh = pdf_box(p, cells[i], 8.5, bold, 0, widths[i] - 6, 0, 0);
        if (hh > h)
            h = hh;
    }
    pdf_need(p, h + 4);
    for (size_t i = 0; i < n; i++) {
        pdf_box(p, cells[i], 8.5, bold, x + 3, widths[i] - 6, 1, 0x1a1a1a);
        x += widths[i];
    }
    p->y += h + 2;
    rgb(p->cr, 0xbbbbbb, 1);
    cairo_set_line_width(p->cr, 0.5);
    cairo_move_to(p->cr, MARGIN, p->y);
    cairo_line_to(p->cr, x, p->y);
    cairo_stroke(p->cr);
    p->y += 2;
}

static void pdf_trend(pdf *p, const item *it)
{
    const double s = (PAGE_W - 2 * MARGIN) / CW;
    cairo_t *cr = p->cr;
    pdf_need(p, CH * s + 6);
    cairo_save(cr);
    cairo_translate(cr, MARGIN, p->y);
    cairo_scale(cr, s, s);
    cairo_set_line_width(cr, 1);
    for (int k = 0; k <= NTICK; k++) {
        double y = CT + (CH - CT - CB) * (1 - (double)k / NTICK);
        rgb(cr, 0xdddddd, 1);
        cairo_move_to(cr, CL, y);
        cairo_line_to(cr, CW - CR, y);
        cairo_stroke(cr);
        double save = p->y;
        p->y = y - 8;
        PangoLayout *l = p->lay;
        pango_layout_set_alignment(l, PANGO_ALIGN_RIGHT);
        pdf_box(p, it->tick[k], 11, 0, 0, CL - 6, 1, 0x333333);
        pango_layout_set_alignment(l, PANGO_ALIGN_LEFT);
        p->y = save;
    }
    size_t nb = 0;
    for (size_t i = 0; i < it->npts; i++)
        nb += it->pts[i].has_iv;
    rgb(cr, 0x56B4E9, 0.4);
    if (nb >= 2) {
        int first = 1;
        for (size_t i = 0; i < it->npts; i++)
            if (it->pts[i].has_iv) {
                if (first)
                    cairo_move_to(cr, it->x[i], it->yhi[i]);
                else
                    cairo_line_to(cr, it->x[i], it->yhi[i]);
                first = 0;
            }
        for (size_t i = it->npts; i-- > 0;)
            if (it->pts[i].has_iv)
                cairo_line_to(cr, it->x[i], it->ylo[i]);
        cairo_close_path(cr);
        cairo_fill(cr);
    } else if (nb == 1) {
        for (size_t i = 0; i < it->npts; i++)
            if (it->pts[i].has_iv) {
                cairo_rectangle(cr, it->x[i] - 12, it->yhi[i], 24, it->ylo[i] - it->yhi[i]);
                cairo_fill(cr);
            }
    }
    if (it->ytarget >= 0) {
        static const double dash[] = {6, 4};
        rgb(cr, 0xE69F00, 1);
        cairo_set_line_width(cr, 2);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, CL, it->ytarget);
        cairo_line_to(cr, CW - CR, it->ytarget);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    rgb(cr, 0x0072B2, 1);
    cairo_set_line_width(cr, 2.5);
    int first = 1;
    for (size_t i = 0; i < it->npts; i++)
        if (it->pts[i].drawn) {
            if (first)
                cairo_move_to(cr, it->x[i], it->y[i]);
            else
                cairo_line_to(cr, it->x[i], it->y[i]);
            first = 0;
        }
    cairo_stroke(cr);
    size_t every = it->npts > 8 ? (it->npts + 7) / 8 : 1;
    for (size_t i = 0; i < it->npts; i++) {
        if (it->pts[i].drawn) {
            rgb(cr, 0x0072B2, 1);
            cairo_new_path(cr); /* no line from the last label to the marker */
            cairo_arc(cr, it->x[i], it->y[i], 4.5, 0, 2 * M_PI);
            cairo_fill(cr);
        }
        if ((it->npts - 1 - i) % every == 0) {
            double save = p->y;
            p->y = CH - CB + 6;
            pango_layout_set_alignment(p->lay, PANGO_ALIGN_CENTER);
            pdf_box(p, it->pts[i].label, 11, 0, it->x[i] - 50, 100, 1, 0x333333);
            pango_layout_set_alignment(p->lay, PANGO_ALIGN_LEFT);
            p->y = save;
        }
    }
    cairo_restore(cr);
    p->y += CH * s + 6;
}

static void pdf_bar(pdf *p, const item *it)
{
    const double w = PAGE_W - 2 * MARGIN;
    pdf_need(p, 24);
    rgb(p->cr, 0xeeeeee, 1);
    cairo_rectangle(p->cr, MARGIN, p->y + 3, w, 12);
    cairo_fill(p->cr);
    rgb(p->cr, 0x009E73, 1);
    cairo_rectangle(p->cr, MARGIN, p->y + 3, w * (it->bar_fill > 1 ? 1 : it->bar_fill), 12);
    cairo_fill(p->cr);
    rgb(p->cr, 0xE69F00, 1);
    cairo_set_line_width(p->cr, 2.5);
    cairo_move_to(p->cr, MARGIN + w * it->bar_mark, p->y);
    cairo_line_to(p->cr, MARGIN + w * it->bar_mark, p->y + 18);
    cairo_stroke(p->cr);
    p->y += 24;
}

static void pdf_item(pdf *p, const model *md, const item *it)
{
    const point *cur = &it->pts[it->npts - 1];
    const mp_catalogue *c = md->in->spec->catalogue;
    char fig[180];
    static const double w3[] = {165, 130, 200};
    static const double w4[] = {110, 140, 95, 150};
    pdf_need(p, 120);
    pdf_text(p, it->title, 12, 1, 0x1a1a1a, 2);
    if (it->desc)
        pdf_text(p, it->desc, 9, 0, 0x333333, 3);
    snprintf(fig, sizeof fig, "%s%s", cur->text, it->metric && cur->drawn ? " personen" : "");
    pdf_text(p, fig, 16, 1, 0x0072B2, 2);
    pdf_text(p, it->margin, 9.5, 0, 0x1a1a1a, 2);
    if (it->change[0])
        pdf_text(p, it->change, 9.5, 0, 0x1a1a1a, 2);
    if (it->target[0]) {
        char t[800];
        snprintf(t, sizeof t, "%s Bron: %s", it->target, it->info->target_source);
        pdf_text(p, t, 9.5, 0, 0x1a1a1a, 2);
        if (it->bar_text[0])
            pdf_bar(p, it);
    }
    pdf_trend(p, it);
    const char *head[] = {"Periode", "Cijfer", "Met 95% zekerheid tussen"};
    pdf_row(p, head, w3, 3, 1);
    for (size_t i = 0; i < it->npts; i++) {
        const char *row[] = {it->pts[i].period, it->pts[i].text, it->pts[i].iv};
        pdf_row(p, row, w3, 3, 0);
    }
    if (it->metric != NULL && it->metric->nbreakdowns > 0) {
        const cJSON *cells = cJSON_GetObjectItemCaseSensitive(md->in->release, "cells"), *cell;
        const char *h4[] = {"Uitsplitsing", "Categorie", "Aantal", "Met 95% zekerheid tussen"};
        p->y += 4;
        pdf_row(p, h4, w4, 4, 1);
        cJSON_ArrayForEach (cell, cells) {
            char f2[160], iv[2 * NUM + 8];
            const char *dim = str_or(cell, "dimension", NULL);
            if (dim == NULL || strcmp(str_or(cell, "metric", ""), it->id) != 0)
                continue;
            cell_text(cell, f2, sizeof f2, iv, sizeof iv);
            const char *row[] = {dim_title_of(c, dim), str_or(cell, "band", ""), f2, iv};
            pdf_row(p, row, w4, 4, 0);
        }
    }
    p->y += 10;
}

int mp_report_pdf(char **out, size_t *len, const mp_report_in *in)
{
    model md;
    pdf p = {0};
    char meta[200], line[1200];
    const char *pj[MP_MAX_METRICS * 2];
    kv rows[48];
    static const double w2[] = {230, 265};
    cairo_surface_t *surf;
    int rc = -1;
    if (model_build(&md, in) != 0) {
        model_free(&md);
        return -1;
    }
    const mp_catalogue *c = in->spec->catalogue;
    surf = cairo_pdf_surface_create_for_stream(pdf_write, &p, PAGE_W, PAGE_H);
    /* Reproducible bytes: the dates are the publication time, not the rendering time. */
    snprintf(meta, sizeof meta, "%s", str_or(in->release, "published", ""));
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATE_DATE, meta);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_MOD_DATE, meta);
    snprintf(line, sizeof line, "%s, %s, %s", c->title, md.region, md.period);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, line);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "mijlpaal");
    snprintf(meta, sizeof meta, "mijlpaal release-sha256 %s",
             in->release_sha256 ? in->release_sha256 : "");
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_KEYWORDS, meta);
    p.cr = cairo_create(surf);
    p.lay = pango_cairo_create_layout(p.cr);
    /* Points, not pixels: font sizes mean what they say. */
    pango_cairo_context_set_resolution(pango_layout_get_context(p.lay), 72);
    pango_layout_context_changed(p.lay);
    p.y = MARGIN;

    pdf_text(&p, c->title, 18, 1, 0x1a1a1a, 4);
    snprintf(line, sizeof line, "%s, %s. Gepubliceerd op %s.", md.region, md.period, md.published);
    pdf_text(&p, line, 10.5, 0, 0x333333, 10);
    if (md.warn_head[0]) {
        snprintf(line, sizeof line, "%s", md.warn_head);
        pdf_text(&p, line, 10.5, 1, 0xD55E00, 2);
        pdf_text(&p, md.warn_body, 10.5, 0, 0xD55E00, 8);
    }
    pdf_text(&p, "Deelnemende organisaties", 14, 1, 0x0072B2, 3);
    for (size_t i = 0; i < in->spec->nparticipants; i++) {
        const mp_org *org = org_of(&md, in->spec->participants[i]);
        if (!included(&md, in->spec->participants[i]))
            continue;
        snprintf(line, sizeof line, "• %s", org ? org->name : in->spec->participants[i]);
        pdf_text(&p, line, 9.5, 0, 0x1a1a1a, 1);
    }
    p.y += 6;
    pdf_text(&p, "Zo leest u deze cijfers", 14, 1, 0x0072B2, 3);
    pdf_text(&p, intro_noise, 9.5, 0, 0x1a1a1a, 8);
    size_t np = pijlers(&md, pj);
    for (size_t g = 0; g <= np; g++) {
        const char *pp = g < np ? pj[g] : NULL;
        size_t k = 0;
        for (size_t i = 0; i < md.nitems; i++)
            k += in_pijler(&md.items[i], pp);
        if (k == 0)
            continue;
        pdf_need(&p, 160);
        pdf_text(&p, pp ? pp : (np ? "Overige mijlpalen" : "Mijlpalen"), 14, 1, 0x0072B2, 4);
        for (size_t i = 0; i < md.nitems; i++)
            if (in_pijler(&md.items[i], pp))
                pdf_item(&p, &md, &md.items[i]);
    }
    cairo_show_page(p.cr);
    p.y = MARGIN;
    pdf_text(&p, "Bijlage: technische gegevens", 14, 1, 0x0072B2, 4);
    size_t nr = tech_rows(&md, rows);
    for (size_t i = 0; i < nr; i++) {
        const char *row[] = {rows[i].k, rows[i].v};
        pdf_row(&p, row, w2, 2, 0);
    }
    g_object_unref(p.lay);
    cairo_destroy(p.cr);
    cairo_surface_finish(surf);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS || p.oom)
        mp_error_set("report.pdf could not be rendered: %s",
                     p.oom ? "out of memory" : cairo_status_to_string(cairo_surface_status(surf)));
    else
        rc = 0;
    cairo_surface_destroy(surf);
    model_free(&md);
    if (rc != 0) {
        free(p.buf);
        return -1;
    }
    *out = p.buf;
    *len = p.len;
    return 0;
}
