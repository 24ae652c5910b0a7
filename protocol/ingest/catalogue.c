/*
 * catalogue.c - parse, validate and evaluate a metric catalogue (see catalogue.h).
 *
 * The validation is strict on purpose: a catalogue is part of a signed round specification, and
 * a field this version would silently ignore could make two implementations count differently.
 */
#include "catalogue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "date.h"
#include "fileio.h"

#define AGE_LO 15        /* ingest refuses spells starting before age 15 */
#define AGE_HI 200       /* ...and dates of birth before 1900 */
#define DURATION_HI 1200 /* spells start in 1950 or later: under 100 years */

static const char *const dim_names[MP_DIM_COUNT] = {"age", "duration", "focus", "sex"};

static int id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

static int parse_codes(const cJSON *obj, const char *key, int (*parse)(const char *), uint32_t *out,
                       int required, const char *where)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    const cJSON *it;
    *out = 0;
    if (arr == NULL)
        return required ? mp_error_set("%s: missing \"%s\"", where, key) : 0;
    if (!cJSON_IsArray(arr))
        return mp_error_set("%s: \"%s\" must be an array", where, key);
    cJSON_ArrayForEach (it, arr) {
        int c = cJSON_IsString(it) ? parse(it->valuestring) : -1;
        if (c < 0 || (parse == mp_end_reason_parse && c == MP_REASON_NONE))
            return mp_error_set("%s: \"%s\" has an unknown code \"%.40s\"", where, key,
                                cJSON_IsString(it) ? it->valuestring : "?");
        *out |= UINT32_C(1) << c;
    }
    if (required && *out == 0)
        return mp_error_set("%s: \"%s\" is empty", where, key);
    return 0;
}

static int opt_int(const cJSON *obj, const char *key, long long min, long long max, long long dflt,
                   int *out)
{
    long long v = dflt;
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL &&
        mp_json_int(obj, key, min, max, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_dim(mp_dim *d, int kind, const cJSON *j)
{
    static const char *const fields[] = {"title", "bands", NULL};
    const cJSON *bands, *b;
    const char *where = dim_names[kind];
    int seen_sex = 0, catch_all = 0;
    if (!cJSON_IsObject(j) || mp_json_only(j, where, fields) != 0 ||
        mp_json_str(j, "title", &d->title) != 0 || mp_json_arr(j, "bands", &bands) != 0)
        return mp_error_prefix("dimension %s: ", where);
    d->present = 1;
    cJSON_ArrayForEach (b, bands) {
        mp_band *band;
        long long lo, hi;
        const char *s;
        if (d->nbands == MP_MAX_BANDS)
            return mp_error_set("dimension %s: more than %d bands", where, MP_MAX_BANDS);
        band = &d->bands[d->nbands++];
        if (!cJSON_IsObject(b) || mp_json_str(b, "label", &band->label) != 0)
            return mp_error_prefix("dimension %s band %zu: ", where, d->nbands);
        switch (kind) {
        case MP_DIM_AGE:
        case MP_DIM_DURATION: {
            const char *kmin = kind == MP_DIM_AGE ? "min" : "min_months";
            const char *kmax = kind == MP_DIM_AGE ? "max" : "max_months";
            const char *const f[] = {"label", kmin, kmax, NULL};
            if (mp_json_only(b, where, f) != 0 || mp_json_int(b, kmin, 0, 100000, &lo) != 0 ||
                mp_json_int(b, kmax, lo, 100000, &hi) != 0)
                return mp_error_prefix("dimension %s band %zu: ", where, d->nbands);
            band->min = (int)lo;
            band->max = (int)hi;
            if (d->nbands > 1 && band->min != d->bands[d->nbands - 2].max + 1)
                return mp_error_set("dimension %s: band \"%.40s\" does not start right after the "
                                    "previous band (bands must be ascending, without gaps or "
                                    "overlaps)",
                                    where, band->label);
            break;
        }
        case MP_DIM_FOCUS: {
            static const char *const f[] = {"label", "flag", NULL};
            if (mp_json_only(b, where, f) != 0 || mp_json_str(b, "flag", &s) != 0)
                return mp_error_prefix("dimension focus band %zu: ", d->nbands);
            if (*s == '\0') {
                band->flag = 0;
                catch_all = 1;
            } else if ((band->flag = mp_flag_parse(s)) < 0) {
                return mp_error_set("dimension focus: unknown flag \"%.40s\"", s);
            } else if (catch_all) {
                return mp_error_set("dimension focus: the band with \"flag\": \"\" must be last");
            }
            break;
        }
        case MP_DIM_SEX: {
            static const char *const f[] = {"label", "sex", NULL};
            if (mp_json_only(b, where, f) != 0 || mp_json_str(b, "sex", &s) != 0)
                return mp_error_prefix("dimension sex band %zu: ", d->nbands);
            if ((band->sex = mp_sex_parse(s)) < 0 || *s == '\0' || (seen_sex >> band->sex) & 1)
                return mp_error_set("dimension sex: invalid or repeated sex \"%.4s\"", s);
            seen_sex |= 1 << band->sex;
            break;
        }
        }
    }
    if (d->nbands == 0)
        return mp_error_set("dimension %s: no bands", where);
    if (kind == MP_DIM_AGE && (d->bands[0].min > AGE_LO || d->bands[d->nbands - 1].max < AGE_HI))
        return mp_error_set("dimension age: bands must cover ages %d to %d", AGE_LO, AGE_HI);
    if (kind == MP_DIM_DURATION &&
        (d->bands[0].min != 0 || d->bands[d->nbands - 1].max < DURATION_HI))
        return mp_error_set("dimension duration: bands must cover 0 to %d months", DURATION_HI);
    if (kind == MP_DIM_FOCUS && !catch_all)
        return mp_error_set("dimension focus: needs a last band with \"flag\": \"\" for everyone "
                            "else");
    if (kind == MP_DIM_SEX && seen_sex != (1 << MP_SEX_COUNT) - 1)
        return mp_error_set("dimension sex: needs one band each for M, V and X");
    return 0;
}

static int dim_index(const char *name)
{
    for (int i = 0; i < MP_DIM_COUNT; i++)
        if (strcmp(dim_names[i], name) == 0)
            return i;
    return -1;
}

static int opt_str(const cJSON *obj, const char *key, const char **out, const char *where)
{
    *out = NULL;
    if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
        return 0;
    if (mp_json_str(obj, key, out) != 0)
        return mp_error_prefix("%s: ", where);
    if (**out == '\0')
        return mp_error_set("%s: \"%s\" is empty (leave it out instead)", where, key);
    return 0;
}

/* The optional report fields of a metric or rate; a metric's target counts persons, a rate's
 * is a percentage (`kind` is the one allowed). */
static int parse_report(mp_report_info *r, const cJSON *j, const char *where, int kind)
{
    static const char *const fields[] = {"value", "kind", "source", "label", NULL};
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "target");
    const char *k;
    char w[96];
    if (opt_str(j, "pijler", &r->pijler, where) != 0 ||
        opt_str(j, "description_nl", &r->description_nl, where) != 0)
        return -1;
    r->target_kind = MP_TARGET_NONE;
    if (t == NULL)
        return 0;
    snprintf(w, sizeof w, "%s target", where);
    if (!cJSON_IsObject(t))
        return mp_error_set("%s: must be an object", w);
    if (mp_json_only(t, w, fields) != 0 || mp_json_str(t, "kind", &k) != 0 ||
        mp_json_str(t, "source", &r->target_source) != 0 ||
        opt_str(t, "label", &r->target_label, w) != 0)
        return mp_error_prefix("%s: ", w);
    if (strcmp(k, "count") == 0)
        r->target_kind = MP_TARGET_COUNT;
    else if (strcmp(k, "percent") == 0)
        r->target_kind = MP_TARGET_PERCENT;
    else
        return mp_error_set("%s: unknown kind \"%.20s\" (count or percent)", w, k);
    if (r->target_kind != kind)
        return mp_error_set("%s: a %s has a %s target", w,
                            kind == MP_TARGET_COUNT ? "metric counts persons and" : "rate",
                            kind == MP_TARGET_COUNT ? "count" : "percent");
    if (mp_json_int(t, "value", 1, kind == MP_TARGET_PERCENT ? 100 : 1000000000,
                    &r->target_value) != 0)
        return mp_error_prefix("%s: ", w);
    if (*r->target_source == '\0')
        return mp_error_set("%s: \"source\" is empty: name the document the target is from", w);
    return 0;
}

static int parse_metric(mp_catalogue *c, mp_metric *m, const cJSON *j)
{
    /* clang-format off */
    static const char *const fields[] = {
        "id",          "title",          "description",    "kind",       "spells",
        "end_reasons", "age_min",        "age_max",        "flags_any",  "also_active",
        "lag_months",  "reentry_months", "reentry_spells", "breakdowns", "source",
        "pijler",      "description_nl", "target",         "within",     NULL};
    /* clang-format on */
    const char *kind;
    const cJSON *br, *it;
    uint32_t flags;
    char where[64];

    if (!cJSON_IsObject(j) || mp_json_str(j, "id", &m->id) != 0)
        return mp_error_prefix("metric %zu: ", c->nmetrics + 1);
    if (!id_valid(m->id))
        return mp_error_set("metric \"%.40s\": invalid id (a-z, 0-9, _)", m->id);
    snprintf(where, sizeof where, "metric %s", m->id);
    if (mp_json_only(j, where, fields) != 0 || mp_json_str(j, "title", &m->title) != 0 ||
        mp_json_str(j, "description", &m->description) != 0 ||
        mp_json_str(j, "source", &m->source) != 0 || mp_json_str(j, "kind", &kind) != 0)
        return mp_error_prefix("%s: ", where);
    if (parse_report(&m->report, j, where, MP_TARGET_COUNT) != 0)
        return -1;
    if (strcmp(kind, "exit") == 0)
        m->kind = MP_METRIC_EXIT;
    else if (strcmp(kind, "stock") == 0)
        m->kind = MP_METRIC_STOCK;
    else if (strcmp(kind, "start") == 0)
        m->kind = MP_METRIC_START;
    else
        return mp_error_set("%s: unknown kind \"%.20s\" (exit, stock or start)", where, kind);
    if (parse_codes(j, "spells", mp_spell_type_parse, &m->spells, 1, where) != 0 ||
        parse_codes(j, "end_reasons", mp_end_reason_parse, &m->reasons, 0, where) != 0 ||
        parse_codes(j, "also_active", mp_spell_type_parse, &m->also_active, 0, where) != 0 ||
        parse_codes(j, "reentry_spells", mp_spell_type_parse, &m->reentry_spells, 0, where) != 0 ||
        parse_codes(j, "flags_any", mp_flag_parse, &flags, 0, where) != 0)
        return -1;
    /* parse_codes set bit number (flag value); the flag values are themselves bits */
    m->flags_any = 0;
    for (int b = 0; b < 8; b++)
        if (flags & (UINT32_C(1) << b))
            m->flags_any |= b;
    if (opt_int(j, "age_min", 0, 200, 0, &m->age_min) != 0 ||
        opt_int(j, "age_max", 0, 200, 200, &m->age_max) != 0 ||
        opt_int(j, "lag_months", 0, 60, 0, &m->lag_months) != 0 ||
        opt_int(j, "reentry_months", 0, 60, 0, &m->reentry_months) != 0)
        return mp_error_prefix("%s: ", where);
    if (m->age_min > m->age_max)
        return mp_error_set("%s: age_min is above age_max", where);
    if (m->kind != MP_METRIC_EXIT &&
        (m->reasons || m->lag_months || m->reentry_months || m->reentry_spells))
        return mp_error_set("%s: end_reasons, lag_months and reentry_* apply to exit metrics "
                            "only",
                            where);
    if (m->kind != MP_METRIC_STOCK && m->also_active)
        return mp_error_set("%s: also_active applies to stock metrics only", where);
    if ((m->reentry_months == 0) != (m->reentry_spells == 0))
        return mp_error_set("%s: reentry_months and reentry_spells go together", where);
    if (m->reentry_months > m->lag_months)
        return mp_error_set("%s: reentry_months (%d) is longer than lag_months (%d): the "
                            "follow-up would run past the period",
                            where, m->reentry_months, m->lag_months);
    m->ncells = 1;
    if ((br = cJSON_GetObjectItemCaseSensitive(j, "breakdowns")) != NULL) {
        if (!cJSON_IsArray(br))
            return mp_error_set("%s: breakdowns must be an array", where);
        cJSON_ArrayForEach (it, br) {
            int d = cJSON_IsString(it) ? dim_index(it->valuestring) : -1;
            if (d < 0 || !c->dims[d].present)
                return mp_error_set("%s: breakdown \"%.20s\" is not a dimension of the catalogue",
                                    where, cJSON_IsString(it) ? it->valuestring : "?");
            for (size_t k = 0; k < m->nbreakdowns; k++)
                if (m->breakdowns[k] == d)
                    return mp_error_set("%s: breakdown %s listed twice", where, dim_names[d]);
            if (d == MP_DIM_DURATION && m->kind == MP_METRIC_START)
                return mp_error_set("%s: a start metric has no duration to break down by", where);
            m->breakdowns[m->nbreakdowns++] = d;
            m->ncells += c->dims[d].nbands;
        }
    }
    m->offset = c->ncells;
    c->ncells += m->ncells;
    m->within = -1;
    return 0;
}

/* "within": resolved once every metric is known (a parent may come later in the file). One
 * level, one child per parent (invariant 4): that is all the seeds need, and it keeps the
 * consistency step a closed formula. */
static int parse_within(mp_catalogue *c, const cJSON *metrics)
{
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach (it, metrics) {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(it, "within");
        mp_metric *m = &c->metrics[i++];
        if (w == NULL)
            continue;
        if (!cJSON_IsString(w))
            return mp_error_set("metric %s: within must be a metric id", m->id);
        for (size_t p = 0; p < c->nmetrics; p++)
            if (strcmp(c->metrics[p].id, w->valuestring) == 0 && p != i - 1)
                m->within = (int)p;
        if (m->within < 0)
            return mp_error_set("metric %s: within \"%.40s\" is not another metric of the "
                                "catalogue",
                                m->id, w->valuestring);
    }
    for (size_t k = 0; k < c->nmetrics; k++) {
        int p = c->metrics[k].within;
        if (p < 0)
            continue;
        if (c->metrics[p].within >= 0)
            return mp_error_set("metric %s: its parent %s is itself within another metric "
                                "(one level only)",
                                c->metrics[k].id, c->metrics[p].id);
        for (size_t o = 0; o < k; o++)
            if (c->metrics[o].within == p)
                return mp_error_set("metric %s: %s already has a child (%s)", c->metrics[k].id,
                                    c->metrics[p].id, c->metrics[o].id);
    }
    return 0;
}

static int find_metric(const mp_catalogue *c, const char *id, size_t *out)
{
    for (size_t i = 0; i < c->nmetrics; i++)
        if (strcmp(c->metrics[i].id, id) == 0) {
            *out = i;
            return 0;
        }
    return mp_error_set("rate refers to unknown metric \"%.40s\"", id);
}

static int parse_rates(mp_catalogue *c, const cJSON *arr)
{
    static const char *const fields[] = {"id",         "title",  "numerator",      "denominator",
                                         "complement", "pijler", "description_nl", "target",
                                         NULL};
    const cJSON *j;
    cJSON_ArrayForEach (j, arr) {
        mp_rate *r;
        const char *num, *den;
        const cJSON *comp;
        if (c->nrates == MP_MAX_METRICS)
            return mp_error_set("too many rates");
        r = &c->rates[c->nrates++];
        if (!cJSON_IsObject(j) || mp_json_only(j, "rate", fields) != 0 ||
            mp_json_str(j, "id", &r->id) != 0 || mp_json_str(j, "title", &r->title) != 0 ||
            mp_json_str(j, "numerator", &num) != 0 || mp_json_str(j, "denominator", &den) != 0)
            return mp_error_prefix("rate %zu: ", c->nrates);
        if (!id_valid(r->id) || find_metric(c, num, &r->numerator) != 0 ||
            find_metric(c, den, &r->denominator) != 0)
            return mp_error_prefix("rate %.40s: ", r->id);
        comp = cJSON_GetObjectItemCaseSensitive(j, "complement");
        if (comp != NULL && !cJSON_IsBool(comp))
            return mp_error_set("rate %.40s: complement must be true or false", r->id);
        r->complement = cJSON_IsTrue(comp);
        char where[64];
        snprintf(where, sizeof where, "rate %.40s", r->id);
        if (parse_report(&r->report, j, where, MP_TARGET_PERCENT) != 0)
            return -1;
    }
    return 0;
}

int mp_catalogue_parse(mp_catalogue **out, const cJSON *json)
{
    static const char *const fields[] = {"mijlpaal_catalogue", "id",      "version", "title",
                                         "dimensions",         "metrics", "rates",   NULL};
    mp_catalogue *c = calloc(1, sizeof *c);
    const cJSON *dims, *metrics, *rates, *it;
    long long fmt;
    if (c == NULL)
        return mp_error_system("out of memory");
    if ((c->json = cJSON_Duplicate(json, 1)) == NULL) {
        free(c);
        return mp_error_system("out of memory");
    }
    json = c->json;
    if (!cJSON_IsObject(json) || mp_json_only(json, "catalogue", fields) != 0 ||
        mp_json_int(json, "mijlpaal_catalogue", 1, 1, &fmt) != 0 ||
        mp_json_str(json, "id", &c->id) != 0 ||
        mp_json_int(json, "version", 1, 1000000, &c->version) != 0 ||
        mp_json_str(json, "title", &c->title) != 0 || mp_json_obj(json, "dimensions", &dims) ||
        mp_json_arr(json, "metrics", &metrics))
        goto fail;
    for (it = dims->child; it != NULL; it = it->next) {
        int d = dim_index(it->string);
        if (d < 0) {
            mp_error_set("unknown dimension \"%.40s\" (age, duration, focus or sex)", it->string);
            goto fail;
        }
        if (parse_dim(&c->dims[d], d, it) != 0)
            goto fail;
    }
    cJSON_ArrayForEach (it, metrics) {
        if (c->nmetrics == MP_MAX_METRICS) {
            mp_error_set("more than %d metrics", MP_MAX_METRICS);
            goto fail;
        }
        if (parse_metric(c, &c->metrics[c->nmetrics], it) != 0)
            goto fail;
        for (size_t k = 0; k < c->nmetrics; k++)
            if (strcmp(c->metrics[k].id, c->metrics[c->nmetrics].id) == 0) {
                mp_error_set("metric id \"%.40s\" used twice", c->metrics[k].id);
                goto fail;
            }
        c->nmetrics++;
    }
    if (c->nmetrics == 0) {
        mp_error_set("no metrics");
        goto fail;
    }
    if (parse_within(c, metrics) != 0)
        goto fail;
    rates = cJSON_GetObjectItemCaseSensitive(json, "rates");
    if (rates != NULL && (!cJSON_IsArray(rates) || parse_rates(c, rates) != 0))
        goto fail;
    *out = c;
    return 0;
fail:
    mp_error_prefix("catalogue: ");
    mp_catalogue_free(c);
    return -1;
}

int mp_catalogue_load(mp_catalogue **out, const char *path)
{
    unsigned char *text;
    size_t len;
    cJSON *j = NULL;
    int rc;
    if (mp_file_read(path, 1024 * 1024, &text, &len) != 0)
        return -1;
    rc = mp_canon_parse(&j, (char *)text, len);
    free(text);
    if (rc == 0)
        rc = mp_catalogue_parse(out, j);
    cJSON_Delete(j);
    return rc != 0 ? mp_error_prefix("%s: ", path) : 0;
}

void mp_catalogue_free(mp_catalogue *c)
{
    if (c == NULL)
        return;
    cJSON_Delete(c->json);
    free(c);
}

void mp_catalogue_cell(const mp_catalogue *c, size_t i, const mp_metric **m, const mp_dim **d,
                       const mp_band **b)
{
    *m = NULL;
    *d = NULL;
    *b = NULL;
    for (size_t k = 0; k < c->nmetrics; k++) {
        const mp_metric *mm = &c->metrics[k];
        if (i < mm->offset || i >= mm->offset + mm->ncells)
            continue;
        size_t r = i - mm->offset;
        *m = mm;
        if (r == 0)
            return;
        r--;
        for (size_t x = 0; x < mm->nbreakdowns; x++) {
            const mp_dim *dd = &c->dims[mm->breakdowns[x]];
            if (r < dd->nbands) {
                *d = dd;
                *b = &dd->bands[r];
                return;
            }
            r -= dd->nbands;
        }
    }
}

void mp_catalogue_cell_name(const mp_catalogue *c, size_t i, char *out, size_t cap)
{
    const mp_metric *m;
    const mp_dim *d;
    const mp_band *b;
    mp_catalogue_cell(c, i, &m, &d, &b);
    if (m == NULL)
        snprintf(out, cap, "?");
    else if (d == NULL)
        snprintf(out, cap, "%s", m->id);
    else
        snprintf(out, cap, "%s.%s.%zu", m->id, dim_names[d - c->dims], (size_t)(b - d->bands));
}

size_t mp_catalogue_sensitivity(const mp_catalogue *c)
{
    size_t s = 0;
    for (size_t k = 0; k < c->nmetrics; k++)
        s += 1 + c->metrics[k].nbreakdowns;
    return s;
}

uint32_t mp_catalogue_spells_used(const mp_catalogue *c)
{
    uint32_t s = 0;
    for (size_t k = 0; k < c->nmetrics; k++)
        s |= c->metrics[k].spells | c->metrics[k].also_active | c->metrics[k].reentry_spells;
    return s;
}

int32_t mp_catalogue_horizon(const mp_catalogue *c, int32_t period_start)
{
    int lag = 0;
    for (size_t k = 0; k < c->nmetrics; k++)
        if (c->metrics[k].lag_months > lag)
            lag = c->metrics[k].lag_months;
    return mp_date_add_months(period_start, -lag);
}

int mp_months_between(int32_t from, int32_t to)
{
    int y1, m1, d1, y2, m2, d2;
    if (to < from)
        return 0;
    mp_date_to_civil(from, &y1, &m1, &d1);
    mp_date_to_civil(to, &y2, &m2, &d2);
    return (y2 - y1) * 12 + (m2 - m1) - (d2 < d1 ? 1 : 0);
}

static int has_type(uint32_t mask, int type)
{
    return (mask >> type) & 1;
}

static int running_on(const mp_spell *s, int32_t day)
{
    return s->start <= day && (s->end == MP_DATE_OPEN || s->end >= day);
}

/* Band of a dimension for this person and qualifying spell; -1 when none (cannot happen for a
 * validated catalogue and a validated row, see invariant 2). */
static int band_of(const mp_dim *d, int kind, const mp_person_view *p, const mp_spell *s,
                   int32_t ref)
{
    int v = 0;
    if (kind == MP_DIM_AGE)
        v = mp_date_age(p->birth, ref);
    else if (kind == MP_DIM_DURATION)
        v = mp_months_between(s->start, ref);
    for (size_t i = 0; i < d->nbands; i++) {
        const mp_band *b = &d->bands[i];
        switch (kind) {
        case MP_DIM_AGE:
        case MP_DIM_DURATION:
            if (v >= b->min && v <= b->max)
                return (int)i;
            break;
        case MP_DIM_FOCUS:
            if (b->flag == 0 || (p->flags & b->flag))
                return (int)i;
            break;
        case MP_DIM_SEX:
            if (b->sex == p->sex)
                return (int)i;
            break;
        }
    }
    return -1;
}

/* Does spell s qualify for metric m, and on which reference date? */
static int qualifies(const mp_metric *m, const mp_person_view *p, const mp_spell *s, int32_t start,
                     int32_t end, int32_t *ref)
{
    if (!has_type(m->spells, s->type))
        return 0;
    switch (m->kind) {
    case MP_METRIC_EXIT: {
        int32_t ws = mp_date_add_months(start, -m->lag_months);
        int32_t we = mp_date_add_months(end + 1, -m->lag_months) - 1;
        if (s->end == MP_DATE_OPEN || s->end < ws || s->end > we)
            return 0;
        if (m->reasons && !has_type(m->reasons, s->reason))
            return 0;
        *ref = s->end;
        break;
    }
    case MP_METRIC_STOCK:
        if (!running_on(s, end))
            return 0;
        *ref = end;
        break;
    default:
        if (s->start < start || s->start > end)
            return 0;
        *ref = s->start;
    }
    int age = mp_date_age(p->birth, *ref);
    if (age < m->age_min || age > m->age_max)
        return 0;
    if (m->flags_any && !(p->flags & m->flags_any))
        return 0;
    if (m->also_active) {
        int found = 0;
        for (size_t i = 0; i < p->nspells && !found; i++)
            found = has_type(m->also_active, p->spells[i].type) && running_on(&p->spells[i], *ref);
        if (!found)
            return 0;
    }
    if (m->reentry_months) {
        int32_t until = mp_date_add_months(s->end, m->reentry_months);
        int found = 0;
        for (size_t i = 0; i < p->nspells && !found; i++)
            found = has_type(m->reentry_spells, p->spells[i].type) && p->spells[i].start > s->end &&
                    p->spells[i].start <= until;
        if (!found)
            return 0;
    }
    return 1;
}

/* Is candidate (s, ref) preferred over the current best (see docs/catalogue-format.md)? */
static int better(int kind, const mp_spell *s, int32_t ref, const mp_spell *best, int32_t bref)
{
    if (best == NULL)
        return 1;
    if (kind == MP_METRIC_EXIT && ref != bref)
        return ref > bref; /* latest exit */
    if (kind == MP_METRIC_START)
        return s->start < best->start; /* first start */
    return s->start < best->start;     /* longest spell */
}

void mp_catalogue_count(const mp_catalogue *c, int32_t start, int32_t end, const mp_person_view *p,
                        int64_t *counts)
{
    for (size_t k = 0; k < c->nmetrics; k++) {
        const mp_metric *m = &c->metrics[k];
        const mp_spell *best = NULL;
        int32_t bref = 0, ref;
        int bands[MP_DIM_COUNT];
        for (size_t i = 0; i < p->nspells; i++)
            if (qualifies(m, p, &p->spells[i], start, end, &ref) &&
                better(m->kind, &p->spells[i], ref, best, bref)) {
                best = &p->spells[i];
                bref = ref;
            }
        if (best == NULL)
            continue;
        size_t off = m->offset + 1;
        int ok = 1;
        for (size_t x = 0; x < m->nbreakdowns && ok; x++) {
            const mp_dim *d = &c->dims[m->breakdowns[x]];
            bands[x] = band_of(d, m->breakdowns[x], p, best, bref);
            ok = bands[x] >= 0;
        }
        if (!ok)
            continue; /* never counted in a total without its breakdown cells */
        counts[m->offset]++;
        for (size_t x = 0; x < m->nbreakdowns; x++) {
            counts[off + (size_t)bands[x]]++;
            off += c->dims[m->breakdowns[x]].nbands;
        }
    }
}
