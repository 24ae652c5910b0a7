/*
 * test_catalogue.c - metric catalogues (protocol/ingest/catalogue.c): parsing, validation, the
 * vector layout and the counting semantics of docs/catalogue-format.md.
 */
#include "testutil.h"

#include "canon.h"
#include "catalogue.h"
#include "codes.h"
#include "date.h"

/* Layout (offset, cells):
 *   0  uitstroom_werk   exit  bijstand/ioaw/ww, werk     total, age 3, duration 3  = 7
 *   7  stand_bijstand   stock bijstand                   total, duration 3, focus 3, sex 3 = 10
 *  17  instroom         start bijstand                   total, age 3, sex 3 = 7
 *  24  herinstroom      exit  bijstand, werk, lag 6, re-entry 6 months in bijstand = 1
 *  25  dgr_werkend      stock doelgroepenregister, also_active baan/banenafspraak = 1
 *  26  jong_sh          stock bijstand, age 18..26, flags statushouder, breakdown focus = 4
 */
static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"test\",\"version\":3,\"title\":\"Test\","
    "\"dimensions\":{"
    " \"age\":{\"title\":\"Leeftijd\",\"bands\":["
    "  {\"label\":\"tot 25\",\"min\":15,\"max\":24},"
    "  {\"label\":\"25-54\",\"min\":25,\"max\":54},"
    "  {\"label\":\"55+\",\"min\":55,\"max\":200}]},"
    " \"duration\":{\"title\":\"Duur\",\"bands\":["
    "  {\"label\":\"<1j\",\"min_months\":0,\"max_months\":11},"
    "  {\"label\":\"1-5j\",\"min_months\":12,\"max_months\":59},"
    "  {\"label\":\"5j+\",\"min_months\":60,\"max_months\":9999}]},"
    " \"focus\":{\"title\":\"Focus\",\"bands\":["
    "  {\"label\":\"statushouder\",\"flag\":\"statushouder\"},"
    "  {\"label\":\"alleenstaande ouder\",\"flag\":\"alleenstaande_ouder\"},"
    "  {\"label\":\"overig\",\"flag\":\"\"}]},"
    " \"sex\":{\"title\":\"Geslacht\",\"bands\":["
    "  {\"label\":\"man\",\"sex\":\"M\"},{\"label\":\"vrouw\",\"sex\":\"V\"},"
    "  {\"label\":\"onbekend\",\"sex\":\"X\"}]}},"
    "\"metrics\":["
    " {\"id\":\"uitstroom_werk\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "  \"kind\":\"exit\",\"spells\":[\"bijstand\",\"ioaw\",\"ww\"],\"end_reasons\":[\"werk\"],"
    "  \"breakdowns\":[\"age\",\"duration\"]},"
    " {\"id\":\"stand_bijstand\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "  "
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"duration\",\"focus\",\"sex\"]},"
    " {\"id\":\"instroom\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "  \"kind\":\"start\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"age\",\"sex\"]},"
    " {\"id\":\"herinstroom\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "  \"kind\":\"exit\",\"spells\":[\"bijstand\"],\"end_reasons\":[\"werk\"],\"lag_months\":6,"
    "  \"reentry_months\":6,\"reentry_spells\":[\"bijstand\"]},"
    " {\"id\":\"dgr_werkend\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "  \"kind\":\"stock\",\"spells\":[\"doelgroepenregister\"],"
    "  \"also_active\":[\"baan\",\"banenafspraak\"]},"
    " {\"id\":\"jong_sh\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "  \"kind\":\"stock\",\"spells\":[\"bijstand\"],\"age_min\":18,\"age_max\":26,"
    "  \"flags_any\":[\"statushouder\"],\"breakdowns\":[\"focus\"]}],"
    "\"rates\":[{\"id\":\"herinstroom_rate\",\"title\":\"r\",\"numerator\":\"herinstroom\","
    " \"denominator\":\"uitstroom_werk\",\"complement\":true}]}";

enum {
    UIT = 0,
    UIT_AGE = 1,
    UIT_DUR = 4,
    STAND = 7,
    STAND_DUR = 8,
    STAND_FOCUS = 11,
    STAND_SEX = 14,
    IN = 17,
    IN_AGE = 18,
    IN_SEX = 21,
    HER = 24,
    DGR = 25,
    JONG = 26,
    JONG_FOCUS = 27,
    NCELLS = 30
};

static cJSON *base_json(void)
{
    cJSON *j;
    assert_int_equal(mp_canon_parse(&j, catalogue_json, strlen(catalogue_json)), 0);
    return j;
}

static mp_catalogue *base(void)
{
    cJSON *j = base_json();
    mp_catalogue *c = NULL;
    if (mp_catalogue_parse(&c, j) != 0)
        fail_msg("catalogue refused: %s", mp_error_get());
    cJSON_Delete(j);
    return c;
}

static void test_parse_layout(void **state)
{
    (void)state;
    mp_catalogue *c = base();
    assert_string_equal(c->id, "test");
    assert_int_equal(c->version, 3);
    assert_int_equal(c->nmetrics, 6);
    assert_int_equal(c->ncells, NCELLS);
    static const size_t offsets[] = {UIT, STAND, IN, HER, DGR, JONG};
    static const size_t cells[] = {7, 10, 7, 1, 1, 4};
    for (size_t k = 0; k < 6; k++) {
        assert_int_equal(c->metrics[k].offset, offsets[k]);
        assert_int_equal(c->metrics[k].ncells, cells[k]);
    }
    /* L1 sensitivity: (1+2) + (1+3) + (1+2) + 1 + 1 + (1+1). */
    assert_int_equal(mp_catalogue_sensitivity(c), 14);
    assert_int_equal(c->metrics[0].kind, MP_METRIC_EXIT);
    assert_int_equal(c->metrics[1].kind, MP_METRIC_STOCK);
    assert_int_equal(c->metrics[2].kind, MP_METRIC_START);
    assert_int_equal(c->metrics[0].spells,
                     (1u << MP_SPELL_BIJSTAND) | (1u << MP_SPELL_IOAW) | (1u << MP_SPELL_WW));
    assert_int_equal(c->metrics[0].reasons, 1u << MP_REASON_WERK);
    assert_int_equal(c->metrics[3].lag_months, 6);
    assert_int_equal(c->metrics[3].reentry_months, 6);
    assert_int_equal(c->metrics[4].also_active,
                     (1u << MP_SPELL_BAAN) | (1u << MP_SPELL_BANENAFSPRAAK));
    assert_int_equal(c->metrics[5].flags_any, MP_FLAG_STATUSHOUDER);
    assert_int_equal(c->metrics[5].age_min, 18);
    assert_int_equal(c->metrics[5].age_max, 26);
    assert_int_equal(c->dims[MP_DIM_FOCUS].bands[0].flag, MP_FLAG_STATUSHOUDER);
    assert_int_equal(c->dims[MP_DIM_FOCUS].bands[1].flag, MP_FLAG_ALLEENSTAANDE_OUDER);
    assert_int_equal(c->dims[MP_DIM_FOCUS].bands[2].flag, 0);
    assert_int_equal(c->nrates, 1);
    assert_int_equal(c->rates[0].numerator, 3);
    assert_int_equal(c->rates[0].denominator, 0);
    assert_int_equal(c->rates[0].complement, 1);
    assert_int_equal(mp_catalogue_spells_used(c), (1u << MP_SPELL_BIJSTAND) |
                                                      (1u << MP_SPELL_IOAW) | (1u << MP_SPELL_WW) |
                                                      (1u << MP_SPELL_DGR) | (1u << MP_SPELL_BAAN) |
                                                      (1u << MP_SPELL_BANENAFSPRAAK));
    assert_int_equal(mp_catalogue_horizon(c, mp_date_from_civil(2025, 1, 1)),
                     mp_date_from_civil(2024, 7, 1));

    /* Cells and their names. */
    char name[96];
    mp_catalogue_cell_name(c, UIT, name, sizeof name);
    assert_string_equal(name, "uitstroom_werk");
    mp_catalogue_cell_name(c, UIT_AGE + 2, name, sizeof name);
    assert_string_equal(name, "uitstroom_werk.age.2");
    mp_catalogue_cell_name(c, UIT_DUR, name, sizeof name);
    assert_string_equal(name, "uitstroom_werk.duration.0");
    mp_catalogue_cell_name(c, STAND_SEX + 1, name, sizeof name);
    assert_string_equal(name, "stand_bijstand.sex.1");
    mp_catalogue_cell_name(c, JONG_FOCUS + 2, name, sizeof name);
    assert_string_equal(name, "jong_sh.focus.2");
    mp_catalogue_cell_name(c, NCELLS, name, sizeof name);
    assert_string_equal(name, "?");
    const mp_metric *m;
    const mp_dim *d;
    const mp_band *b;
    mp_catalogue_cell(c, STAND_FOCUS + 1, &m, &d, &b);
    assert_ptr_equal(m, &c->metrics[1]);
    assert_ptr_equal(d, &c->dims[MP_DIM_FOCUS]);
    assert_string_equal(b->label, "alleenstaande ouder");
    mp_catalogue_cell(c, IN, &m, &d, &b);
    assert_ptr_equal(m, &c->metrics[2]);
    assert_null(d);
    assert_null(b);
    mp_catalogue_free(c);
}

/* Apply `edit` to a fresh copy of the base catalogue and expect it refused with `needle` in
 * the reason. */
static void expect_refused(void (*edit)(cJSON *), const char *needle)
{
    cJSON *j = base_json();
    mp_catalogue *c = NULL;
    edit(j);
    mp_error_clear();
    int rc = mp_catalogue_parse(&c, j);
    cJSON_Delete(j);
    if (rc == 0) {
        mp_catalogue_free(c);
        fail_msg("catalogue accepted (expected a refusal mentioning \"%s\")", needle);
    }
    if (strstr(mp_error_get(), needle) == NULL)
        fail_msg("reason \"%s\" does not mention \"%s\"", mp_error_get(), needle);
}

static cJSON *band(cJSON *j, const char *dim, int i)
{
    cJSON *d =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "dimensions"), dim);
    cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "bands"), i);
    assert_non_null(b);
    return b;
}

static cJSON *metric(cJSON *j, int i)
{
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "metrics"), i);
    assert_non_null(m);
    return m;
}

static void set_int(cJSON *o, const char *k, int v)
{
    if (cJSON_GetObjectItemCaseSensitive(o, k) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(o, k, cJSON_CreateNumber(v));
    else
        cJSON_AddNumberToObject(o, k, v);
}

static void e_overlap(cJSON *j)
{
    set_int(band(j, "age", 1), "min", 24);
}
static void e_gap(cJSON *j)
{
    set_int(band(j, "age", 1), "min", 26);
}
static void e_dur_overlap(cJSON *j)
{
    set_int(band(j, "duration", 2), "min_months", 50);
}
static void e_age_low(cJSON *j)
{
    set_int(band(j, "age", 0), "min", 16);
}
static void e_age_high(cJSON *j)
{
    set_int(band(j, "age", 2), "max", 199);
}
static void e_dur_start(cJSON *j)
{
    set_int(band(j, "duration", 0), "min_months", 1);
}
static void e_dur_high(cJSON *j)
{
    set_int(band(j, "duration", 2), "max_months", 1000);
}
static void e_unknown_dim(cJSON *j)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "dimensions");
    cJSON_AddItemToObject(d, "region",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "sex"), 1));
}
static void e_unknown_spell(cJSON *j)
{
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(metric(j, 0), "spells"),
                         cJSON_CreateString("uitkering"));
}
static void e_unknown_reason(cJSON *j)
{
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(metric(j, 0), "end_reasons"),
                         cJSON_CreateString("ontslag"));
}
static void e_dup_metric(cJSON *j)
{
    cJSON_ReplaceItemInObjectCaseSensitive(metric(j, 2), "id",
                                           cJSON_CreateString("uitstroom_werk"));
}
static void e_start_duration(cJSON *j)
{
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(metric(j, 2), "breakdowns"),
                         cJSON_CreateString("duration"));
}
static void e_unknown_top(cJSON *j)
{
    cJSON_AddStringToObject(j, "owner", "x");
}
static void e_unknown_metric_field(cJSON *j)
{
    cJSON_AddStringToObject(metric(j, 1), "unit", "x");
}
static void e_unknown_band_field(cJSON *j)
{
    cJSON_AddStringToObject(band(j, "age", 0), "note", "x");
}
static void e_unknown_breakdown(cJSON *j)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "dimensions");
    cJSON_DeleteItemFromObjectCaseSensitive(d, "sex");
}
static void e_focus_no_catch_all(cJSON *j)
{
    cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(j, "dimensions"), "focus"),
                                  "bands"),
                              2);
}
static void e_sex_missing(cJSON *j)
{
    cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(j, "dimensions"), "sex"),
                                  "bands"),
                              2);
}
static void e_also_active_on_exit(cJSON *j)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateString("baan"));
    cJSON_AddItemToObject(metric(j, 0), "also_active", a);
}
static void e_reentry_over_lag(cJSON *j)
{
    set_int(metric(j, 3), "lag_months", 3);
}
static void e_reasons_on_stock(cJSON *j)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateString("werk"));
    cJSON_AddItemToObject(metric(j, 1), "end_reasons", a);
}
static void e_unknown_kind(cJSON *j)
{
    cJSON_ReplaceItemInObjectCaseSensitive(metric(j, 1), "kind", cJSON_CreateString("flow"));
}
static void e_rate_unknown_metric(cJSON *j)
{
    cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "rates"), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(r, "numerator", cJSON_CreateString("nope"));
}
static void e_no_metrics(cJSON *j)
{
    cJSON_ReplaceItemInObjectCaseSensitive(j, "metrics", cJSON_CreateArray());
    cJSON_DeleteItemFromObjectCaseSensitive(j, "rates");
}
static void e_bad_metric_id(cJSON *j)
{
    cJSON_ReplaceItemInObjectCaseSensitive(metric(j, 1), "id", cJSON_CreateString("Stand"));
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused(e_overlap, "does not start right after");
    expect_refused(e_gap, "does not start right after");
    expect_refused(e_dur_overlap, "does not start right after");
    expect_refused(e_age_low, "cover ages 15 to 200");
    expect_refused(e_age_high, "cover ages 15 to 200");
    expect_refused(e_dur_start, "duration");
    expect_refused(e_dur_high, "duration");
    expect_refused(e_unknown_dim, "unknown dimension \"region\"");
    expect_refused(e_unknown_spell, "uitkering");
    expect_refused(e_unknown_reason, "ontslag");
    expect_refused(e_dup_metric, "used twice");
    expect_refused(e_start_duration, "start metric");
    expect_refused(e_unknown_top, "\"owner\"");
    expect_refused(e_unknown_metric_field, "\"unit\"");
    expect_refused(e_unknown_band_field, "\"note\"");
    expect_refused(e_unknown_breakdown, "not a dimension");
    expect_refused(e_focus_no_catch_all, "focus");
    expect_refused(e_sex_missing, "sex");
    expect_refused(e_also_active_on_exit, "also_active");
    expect_refused(e_reentry_over_lag, "reentry_months");
    expect_refused(e_reasons_on_stock, "exit metrics only");
    expect_refused(e_unknown_kind, "flow");
    expect_refused(e_rate_unknown_metric, "nope");
    expect_refused(e_no_metrics, "no metrics");
    expect_refused(e_bad_metric_id, "invalid id");
}

/* ---- counting ---------------------------------------------------------------------------- */

#define D(y, m, d) mp_date_from_civil(y, m, d)
#define OPEN MP_DATE_OPEN

static mp_spell sp(int type, int reason, int32_t start, int32_t end)
{
    mp_spell s = {(uint8_t)type, (uint8_t)reason, 0, start, end};
    return s;
}

/* Count one person for the period 2025 into a fresh vector. */
static void count1(const mp_catalogue *c, int32_t birth, int sex, int flags, const mp_spell *s,
                   size_t n, int64_t out[NCELLS])
{
    mp_person_view p = {birth, sex, flags, s, n};
    memset(out, 0, NCELLS * sizeof *out);
    mp_catalogue_count(c, D(2025, 1, 1), D(2025, 12, 31), &p, out);
}

/* The cells of metric `k` that are 1 must be exactly `want` (offsets), everything else 0. */
static void only(const mp_catalogue *c, const int64_t *v, size_t k, const int *want, size_t n)
{
    const mp_metric *m = &c->metrics[k];
    for (size_t i = m->offset; i < m->offset + m->ncells; i++) {
        int64_t e = 0;
        for (size_t w = 0; w < n; w++)
            if ((size_t)want[w] == i)
                e = 1;
        if (v[i] != e) {
            char name[96];
            mp_catalogue_cell_name(c, i, name, sizeof name);
            fail_msg("cell %zu (%s) is %lld, expected %lld", i, name, (long long)v[i],
                     (long long)e);
        }
    }
}

static void none(const mp_catalogue *c, const int64_t *v, size_t k)
{
    only(c, v, k, NULL, 0);
}

static void test_exit_semantics(void **state)
{
    (void)state;
    mp_catalogue *c = base();
    int64_t v[NCELLS];
    int32_t birth = D(2000, 6, 15);

    /* Two exits to work in the period: the latest counts (age 25 on 2025-09-01, spell of 68
     * months), not the earlier one (age 24, 2 months). */
    mp_spell two[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_WERK, D(2025, 1, 1), D(2025, 3, 1)),
                      sp(MP_SPELL_WW, MP_REASON_WERK, D(2020, 1, 1), D(2025, 9, 1))};
    count1(c, birth, MP_SEX_V, 0, two, 2, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 1, UIT_DUR + 2}, 3);
    /* Order of the spells does not matter. */
    mp_spell two_r[] = {two[1], two[0]};
    count1(c, birth, MP_SEX_V, 0, two_r, 2, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 1, UIT_DUR + 2}, 3);

    /* Tie on the end date: the longest spell counts (duration band of the earliest start). */
    mp_spell tie[] = {sp(MP_SPELL_IOAW, MP_REASON_WERK, D(2025, 2, 1), D(2025, 9, 1)),
                      sp(MP_SPELL_BIJSTAND, MP_REASON_WERK, D(2023, 1, 1), D(2025, 9, 1))};
    count1(c, birth, MP_SEX_V, 0, tie, 2, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 1, UIT_DUR + 1}, 3);

    /* Another end reason, a type that does not qualify, a running spell: not counted. */
    mp_spell other[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_OPLEIDING, D(2024, 1, 1), D(2025, 5, 1)),
                        sp(MP_SPELL_WAJONG, MP_REASON_WERK, D(2024, 1, 1), D(2025, 5, 1)),
                        sp(MP_SPELL_WW, MP_REASON_NONE, D(2024, 1, 1), OPEN)};
    count1(c, birth, MP_SEX_V, 0, other, 3, v);
    none(c, v, 0);

    /* The window is [2025-01-01, 2025-12-31] inclusive. */
    mp_spell edge[] = {sp(MP_SPELL_WW, MP_REASON_WERK, D(2024, 1, 1), D(2024, 12, 31))};
    count1(c, birth, MP_SEX_V, 0, edge, 1, v);
    none(c, v, 0);
    edge[0].end = D(2026, 1, 1);
    count1(c, birth, MP_SEX_V, 0, edge, 1, v);
    none(c, v, 0);
    edge[0].end = D(2025, 1, 1);
    count1(c, birth, MP_SEX_V, 0, edge, 1, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 0, UIT_DUR + 1}, 3);
    edge[0].end = D(2025, 12, 31);
    count1(c, birth, MP_SEX_V, 0, edge, 1, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 1, UIT_DUR + 1}, 3);

    /* Duration band edges: 11 whole months -> band 0, 12 -> band 1, 60 -> band 2. */
    mp_spell dur[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_WERK, D(2024, 6, 2), D(2025, 6, 1))};
    count1(c, birth, MP_SEX_V, 0, dur, 1, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 0, UIT_DUR + 0}, 3);
    dur[0].start = D(2024, 6, 1);
    count1(c, birth, MP_SEX_V, 0, dur, 1, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 0, UIT_DUR + 1}, 3);
    dur[0].start = D(2020, 6, 1);
    count1(c, birth, MP_SEX_V, 0, dur, 1, v);
    only(c, v, 0, (int[]){UIT, UIT_AGE + 0, UIT_DUR + 2}, 3);
    mp_catalogue_free(c);
}

static void test_stock_semantics(void **state)
{
    (void)state;
    mp_catalogue *c = base();
    int64_t v[NCELLS];
    int32_t birth = D(1980, 1, 1);

    /* Running on 2025-12-31 since 2022-12-31: 36 months -> duration band 1. */
    mp_spell run[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2022, 12, 31), OPEN)};
    count1(c, birth, MP_SEX_M, 0, run, 1, v);
    only(c, v, 1, (int[]){STAND, STAND_DUR + 1, STAND_FOCUS + 2, STAND_SEX + 0}, 4);
    /* Ending on the last day still runs on it; ending the day before does not. */
    run[0].end = D(2025, 12, 31);
    run[0].reason = MP_REASON_WERK;
    count1(c, birth, MP_SEX_M, 0, run, 1, v);
    only(c, v, 1, (int[]){STAND, STAND_DUR + 1, STAND_FOCUS + 2, STAND_SEX + 0}, 4);
    run[0].end = D(2025, 12, 30);
    count1(c, birth, MP_SEX_M, 0, run, 1, v);
    none(c, v, 1);
    /* Starting after the period: not running. */
    mp_spell later[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2026, 1, 1), OPEN)};
    count1(c, birth, MP_SEX_M, 0, later, 1, v);
    none(c, v, 1);
    /* Starting on the last day: running, 0 months. */
    later[0].start = D(2025, 12, 31);
    count1(c, birth, MP_SEX_X, 0, later, 1, v);
    only(c, v, 1, (int[]){STAND, STAND_DUR + 0, STAND_FOCUS + 2, STAND_SEX + 2}, 4);
    /* Two running: the longest-running one gives the duration. */
    mp_spell both[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2025, 6, 1), OPEN),
                       sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2015, 6, 1), OPEN)};
    count1(c, birth, MP_SEX_V, 0, both, 2, v);
    only(c, v, 1, (int[]){STAND, STAND_DUR + 2, STAND_FOCUS + 2, STAND_SEX + 1}, 4);

    /* Focus: the first band whose flag the person has; the catch-all takes the rest. */
    mp_spell one[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2025, 6, 1), OPEN)};
    count1(c, birth, MP_SEX_V, MP_FLAG_STATUSHOUDER | MP_FLAG_ALLEENSTAANDE_OUDER, one, 1, v);
    only(c, v, 1, (int[]){STAND, STAND_DUR, STAND_FOCUS + 0, STAND_SEX + 1}, 4);
    count1(c, birth, MP_SEX_V, MP_FLAG_ALLEENSTAANDE_OUDER | MP_FLAG_PARTNER, one, 1, v);
    only(c, v, 1, (int[]){STAND, STAND_DUR, STAND_FOCUS + 1, STAND_SEX + 1}, 4);
    count1(c, birth, MP_SEX_V, MP_FLAG_PARTNER, one, 1, v);
    only(c, v, 1, (int[]){STAND, STAND_DUR, STAND_FOCUS + 2, STAND_SEX + 1}, 4);

    /* also_active: a DGR registration counts only with a job running on the last day. */
    mp_spell dgr[] = {sp(MP_SPELL_DGR, MP_REASON_NONE, D(2020, 1, 1), OPEN),
                      sp(MP_SPELL_BAAN, MP_REASON_NONE, D(2024, 1, 1), OPEN)};
    count1(c, birth, MP_SEX_V, 0, dgr, 2, v);
    only(c, v, 4, (int[]){DGR}, 1);
    dgr[1].type = MP_SPELL_BANENAFSPRAAK;
    count1(c, birth, MP_SEX_V, 0, dgr, 2, v);
    only(c, v, 4, (int[]){DGR}, 1);
    dgr[1].end = D(2025, 11, 30); /* the job ended before the reference date */
    dgr[1].reason = MP_REASON_OVERIG;
    count1(c, birth, MP_SEX_V, 0, dgr, 2, v);
    none(c, v, 4);
    dgr[1] = sp(MP_SPELL_TRAJECT, MP_REASON_NONE, D(2024, 1, 1), OPEN); /* not a job */
    count1(c, birth, MP_SEX_V, 0, dgr, 2, v);
    none(c, v, 4);
    count1(c, birth, MP_SEX_V, 0, dgr, 1, v);
    none(c, v, 4);

    /* Age and flag filters: statushouder aged 18..26 on the last day. */
    mp_spell b[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2024, 1, 1), OPEN)};
    count1(c, D(2000, 1, 1), MP_SEX_M, MP_FLAG_STATUSHOUDER, b, 1, v); /* 25 */
    only(c, v, 5, (int[]){JONG, JONG_FOCUS + 0}, 2);
    count1(c, D(1999, 1, 1), MP_SEX_M, MP_FLAG_STATUSHOUDER, b, 1, v); /* 26 */
    only(c, v, 5, (int[]){JONG, JONG_FOCUS + 0}, 2);
    count1(c, D(1998, 12, 31), MP_SEX_M, MP_FLAG_STATUSHOUDER, b, 1, v); /* 27 */
    none(c, v, 5);
    count1(c, D(2000, 1, 1), MP_SEX_M, MP_FLAG_ALLEENSTAANDE_OUDER, b, 1, v);
    none(c, v, 5);
    mp_catalogue_free(c);
}

static void test_start_semantics(void **state)
{
    (void)state;
    mp_catalogue *c = base();
    int64_t v[NCELLS];
    int32_t birth = D(2000, 3, 1);
    /* Two starts: the first counts (age 24 on 2025-02-01, not 25 on 2025-06-01). */
    mp_spell s[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2025, 6, 1), OPEN),
                    sp(MP_SPELL_BIJSTAND, MP_REASON_OVERIG, D(2025, 2, 1), D(2025, 4, 1))};
    count1(c, birth, MP_SEX_M, 0, s, 2, v);
    only(c, v, 2, (int[]){IN, IN_AGE + 0, IN_SEX + 0}, 3);
    /* Started before the period or after it: not a start in the period. */
    mp_spell out[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2024, 12, 31), OPEN),
                      sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2026, 1, 1), OPEN),
                      sp(MP_SPELL_WW, MP_REASON_NONE, D(2025, 5, 1), OPEN)};
    count1(c, birth, MP_SEX_M, 0, out, 3, v);
    none(c, v, 2);
    mp_catalogue_free(c);
}

static void test_herinstroom(void **state)
{
    (void)state;
    mp_catalogue *c = base();
    int64_t v[NCELLS];
    int32_t birth = D(1990, 1, 1);
    /* Lagged window: [2024-07-01, 2025-06-30]. Exit 2024-08-01, back 2024-12-01. */
    mp_spell s[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_WERK, D(2022, 1, 1), D(2024, 8, 1)),
                    sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2024, 12, 1), OPEN)};
    count1(c, birth, MP_SEX_V, 0, s, 2, v);
    only(c, v, 3, (int[]){HER}, 1);
    /* Re-entry on the last day of the 6 months: counted; a day later: not. */
    s[1].start = D(2025, 2, 1);
    count1(c, birth, MP_SEX_V, 0, s, 2, v);
    only(c, v, 3, (int[]){HER}, 1);
    s[1].start = D(2025, 2, 2);
    count1(c, birth, MP_SEX_V, 0, s, 2, v);
    none(c, v, 3);
    /* Re-entry in a spell type that is not listed: not counted. */
    s[1] = sp(MP_SPELL_WW, MP_REASON_NONE, D(2024, 12, 1), OPEN);
    count1(c, birth, MP_SEX_V, 0, s, 2, v);
    none(c, v, 3);
    /* No re-entry at all: not counted. */
    count1(c, birth, MP_SEX_V, 0, s, 1, v);
    none(c, v, 3);
    /* Exit outside the lagged window (in the period itself, 2025-07-15): not counted, even
     * with a re-entry; the same exit does count for the unlagged uitstroom metric. */
    mp_spell late[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_WERK, D(2022, 1, 1), D(2025, 7, 15)),
                       sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2025, 9, 1), OPEN)};
    count1(c, birth, MP_SEX_V, 0, late, 2, v);
    none(c, v, 3);
    assert_int_equal(v[UIT], 1);
    /* Window edges: 2024-07-01 in, 2024-06-30 out; 2025-06-30 in. */
    mp_spell e[] = {sp(MP_SPELL_BIJSTAND, MP_REASON_WERK, D(2022, 1, 1), D(2024, 7, 1)),
                    sp(MP_SPELL_BIJSTAND, MP_REASON_NONE, D(2024, 9, 1), OPEN)};
    count1(c, birth, MP_SEX_V, 0, e, 2, v);
    only(c, v, 3, (int[]){HER}, 1);
    e[0].end = D(2024, 6, 30);
    count1(c, birth, MP_SEX_V, 0, e, 2, v);
    none(c, v, 3);
    e[0].end = D(2025, 6, 30);
    e[1].start = D(2025, 8, 1);
    count1(c, birth, MP_SEX_V, 0, e, 2, v);
    only(c, v, 3, (int[]){HER}, 1);
    /* The re-entry must start after the exit, not on or before it. */
    e[1].start = D(2025, 6, 30);
    count1(c, birth, MP_SEX_V, 0, e, 2, v);
    none(c, v, 3);
    mp_catalogue_free(c);
}

static int rnd(uint64_t *s, int n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (int)(*s % (uint64_t)n);
}

/* Invariant 1 on many random persons: per metric the total is 0 or 1 and every breakdown's
 * bands add up to the total; the whole vector never exceeds the sensitivity. */
static void test_contribution_bounded(void **state)
{
    (void)state;
    mp_catalogue *c = base();
    uint64_t rng = 0xC0FFEE;
    int64_t v[NCELLS], sum[NCELLS];
    memset(sum, 0, sizeof sum);
    size_t counted_any = 0;
    const int npersons = 20000;
    for (int pi = 0; pi < npersons; pi++) {
        mp_spell s[6];
        size_t n = (size_t)rnd(&rng, 7);
        int32_t birth = D(1940, 1, 1) + rnd(&rng, 365 * 65);
        for (size_t i = 0; i < n; i++) {
            /* Mostly recent spells of the types the catalogue reads, so that every metric is
             * hit often; some from anywhere in the person's working life. */
            int32_t min_start = birth + 15 * 366;
            int32_t start = min_start + rnd(&rng, D(2026, 6, 1) - min_start);
            if (rnd(&rng, 5) != 0) {
                start = D(2023, 1, 1) + rnd(&rng, 1250);
                if (start < min_start)
                    start = min_start;
            }
            int open = rnd(&rng, 3) == 0;
            int32_t end = open ? OPEN : start + rnd(&rng, rnd(&rng, 2) ? 400 : 4000);
            int reason = open           ? MP_REASON_NONE
                         : rnd(&rng, 2) ? MP_REASON_WERK
                                        : 1 + rnd(&rng, MP_REASON_COUNT - 1);
            int type = rnd(&rng, 2) ? MP_SPELL_BIJSTAND : rnd(&rng, MP_SPELL_COUNT);
            s[i] = sp(type, reason, start, end);
        }
        count1(c, birth, rnd(&rng, 3), rnd(&rng, 8), s, n, v);
        size_t cells = 0;
        for (size_t k = 0; k < c->nmetrics; k++) {
            const mp_metric *m = &c->metrics[k];
            int64_t total = v[m->offset];
            assert_true(total == 0 || total == 1);
            size_t off = m->offset + 1;
            for (size_t x = 0; x < m->nbreakdowns; x++) {
                const mp_dim *d = &c->dims[m->breakdowns[x]];
                int64_t bands = 0;
                for (size_t b = 0; b < d->nbands; b++) {
                    assert_true(v[off + b] == 0 || v[off + b] == 1);
                    bands += v[off + b];
                }
                assert_int_equal(bands, total);
                off += d->nbands;
            }
            assert_int_equal(off, m->offset + m->ncells);
        }
        for (size_t i = 0; i < NCELLS; i++) {
            cells += (size_t)v[i];
            sum[i] += v[i];
        }
        assert_true(cells <= mp_catalogue_sensitivity(c));
        counted_any += cells > 0;
    }
    /* The random persons exercise every metric (otherwise the test proves little). */
    for (size_t k = 0; k < c->nmetrics; k++) {
        print_message("%s: %lld persons\n", c->metrics[k].id, (long long)sum[c->metrics[k].offset]);
        assert_true(sum[c->metrics[k].offset] > 10);
    }
    assert_true(counted_any > (size_t)npersons / 10);
    mp_catalogue_free(c);
}

static void test_months_between(void **state)
{
    (void)state;
    assert_int_equal(mp_months_between(D(2024, 1, 15), D(2024, 2, 14)), 0);
    assert_int_equal(mp_months_between(D(2024, 1, 15), D(2024, 2, 15)), 1);
    assert_int_equal(mp_months_between(D(2020, 1, 1), D(2025, 9, 1)), 68);
    assert_int_equal(mp_months_between(D(2025, 1, 1), D(2024, 1, 1)), 0);
    assert_int_equal(mp_months_between(D(2025, 1, 1), D(2025, 1, 1)), 0);
}

static void test_load_shipped(void **state)
{
    (void)state;
    static const char *const files[] = {"../../data/catalogues/midden-utrecht.json",
                                        "../../data/catalogues/gooi-en-vechtstreek.json"};
    for (size_t i = 0; i < 2; i++) {
        mp_catalogue *c = NULL;
        if (mp_catalogue_load(&c, files[i]) != 0)
            fail_msg("%s refused: %s", files[i], mp_error_get());
        assert_true(c->nmetrics > 0);
        size_t cells = 0;
        for (size_t k = 0; k < c->nmetrics; k++) {
            assert_int_equal(c->metrics[k].offset, cells);
            cells += c->metrics[k].ncells;
        }
        assert_int_equal(cells, c->ncells);
        mp_catalogue_free(c);
    }
    mp_catalogue *c = NULL;
    assert_int_equal(mp_catalogue_load(&c, "../../data/catalogues/none.json"), -1);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_layout),         cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_exit_semantics),       cmocka_unit_test(test_stock_semantics),
        cmocka_unit_test(test_start_semantics),      cmocka_unit_test(test_herinstroom),
        cmocka_unit_test(test_contribution_bounded), cmocka_unit_test(test_months_between),
        cmocka_unit_test(test_load_shipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
