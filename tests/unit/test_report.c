/*
 * test_report.c - the Dutch report: every formatting rule (nlformat.h), the catalogue's
 * report fields, the series of earlier releases, and what report.html / report.pdf say.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "canon.h"
#include "catalogue.h"
#include "date.h"
#include "nlformat.h"
#include "release.h"
#include "report.h"
#include "testutil.h"
#include "testworld.h"

/* ---- numbers ----------------------------------------------------------------------------- */

static void expect_int(long long v, const char *want)
{
    char out[MP_NL_CAP];
    mp_nl_int(out, sizeof out, v);
    assert_string_equal(out, want);
}

static void test_thousands(void **state)
{
    (void)state;
    expect_int(0, "0");
    expect_int(7, "7");
    expect_int(999, "999");
    expect_int(1000, "1.000");
    expect_int(12345, "12.345");
    expect_int(123456, "123.456");
    expect_int(1234567, "1.234.567");
    expect_int(-1, "-1");
    expect_int(-999, "-999");
    expect_int(-1234, "-1.234");
    expect_int(LLONG_MIN, "-9.223.372.036.854.775.808");
    /* Truncated, never overrun. */
    char small[4];
    mp_nl_int(small, sizeof small, 12345);
    assert_string_equal(small, "12.");
}

static void expect_dec(const char *in, const char *want)
{
    char out[MP_NL_CAP];
    mp_nl_decimal(out, sizeof out, in);
    assert_string_equal(out, want);
}

static void test_decimals(void **state)
{
    (void)state;
    expect_dec("0", "0");
    expect_dec("12.5", "12,5");
    expect_dec("12345.6", "12.345,6");
    expect_dec("-1234.56", "-1.234,56");
    expect_dec("0.5", "0,5");
    expect_dec("007", "7");
    /* Negative zero loses its sign. */
    expect_dec("-0", "0");
    expect_dec("-0.0", "0,0");
    expect_dec("-0.00", "0,00");
    expect_dec("-0.01", "-0,01");
    /* Not a decimal: copied as it is. */
    expect_dec("", "");
    expect_dec("n.v.t.", "n.v.t.");
    expect_dec("1e-6", "1e-6");
    expect_dec("1.", "1.");
    expect_dec("-", "-");

    char out[MP_NL_CAP];
    mp_nl_double(out, sizeof out, -0.0, 0);
    assert_string_equal(out, "0");
    mp_nl_double(out, sizeof out, -0.04, 1); /* rounds to -0.0 */
    assert_string_equal(out, "0,0");
    mp_nl_double(out, sizeof out, 48.25, 1);
    assert_string_equal(out, "48,2"); /* 48.25 is 48.2499... in binary */
    mp_nl_double(out, sizeof out, 12345.678, 2);
    assert_string_equal(out, "12.345,68");
    mp_nl_double(out, sizeof out, -1234.5, 0);
    assert_string_equal(out, "-1.234"); /* round half to even, as printf does */
}

/* ---- dates and times --------------------------------------------------------------------- */

static void expect_date(int y, int m, int d, const char *want)
{
    char out[MP_NL_CAP];
    mp_nl_date(out, sizeof out, mp_date_from_civil(y, m, d));
    assert_string_equal(out, want);
}

static void expect_time(const char *utc, int offset, const char *want)
{
    int64_t t;
    char out[MP_NL_CAP];
    assert_int_equal(mp_time_parse(utc, &t), 0);
    assert_int_equal(mp_nl_amsterdam_offset(t), offset);
    mp_nl_time(out, sizeof out, t);
    assert_string_equal(out, want);
}

static void test_dates(void **state)
{
    (void)state;
    expect_date(2026, 7, 3, "3 juli 2026");
    expect_date(2026, 1, 1, "1 januari 2026");
    expect_date(2024, 2, 29, "29 februari 2024");
    expect_date(2025, 12, 31, "31 december 2025");
    expect_date(1969, 5, 1, "1 mei 1969");
}

static void test_amsterdam_time(void **state)
{
    (void)state;
    /* Winter time, UTC+1. */
    expect_time("2026-01-15T09:05:00Z", 3600, "15 januari 2026 om 10:05");
    /* Summer time starts on the last Sunday of March (29 March 2026) at 01:00 UTC. */
    expect_time("2026-03-29T00:59:59Z", 3600, "29 maart 2026 om 01:59");
    expect_time("2026-03-29T01:00:00Z", 7200, "29 maart 2026 om 03:00");
    expect_time("2026-03-28T01:00:00Z", 3600, "28 maart 2026 om 02:00");
    /* ... and ends on the last Sunday of October (25 October 2026) at 01:00 UTC. */
    expect_time("2026-10-25T00:59:59Z", 7200, "25 oktober 2026 om 02:59");
    expect_time("2026-10-25T01:00:00Z", 3600, "25 oktober 2026 om 02:00");
    expect_time("2026-07-03T12:00:00Z", 7200, "3 juli 2026 om 14:00");
    /* Other years: 30 March and 26 October 2025; 31 March 2024 (the 31st is a Sunday). */
    expect_time("2025-03-30T00:30:00Z", 3600, "30 maart 2025 om 01:30");
    expect_time("2025-03-30T01:30:00Z", 7200, "30 maart 2025 om 03:30");
    expect_time("2025-10-26T00:30:00Z", 7200, "26 oktober 2025 om 02:30");
    expect_time("2025-10-26T01:30:00Z", 3600, "26 oktober 2025 om 02:30");
    expect_time("2024-03-31T01:00:00Z", 7200, "31 maart 2024 om 03:00");
    /* Across midnight and the year. */
    expect_time("2026-12-31T23:30:00Z", 3600, "1 januari 2027 om 00:30");
    expect_time("2026-06-30T22:00:00Z", 7200, "1 juli 2026 om 00:00");
}

static void expect_period(int y1, int m1, int d1, int y2, int m2, int d2, const char *want,
                          const char *want_short)
{
    char out[MP_NL_CAP];
    int32_t s = mp_date_from_civil(y1, m1, d1), e = mp_date_from_civil(y2, m2, d2);
    mp_nl_period(out, sizeof out, s, e);
    assert_string_equal(out, want);
    mp_nl_period_short(out, sizeof out, s, e);
    assert_string_equal(out, want_short);
}

static void test_periods(void **state)
{
    (void)state;
    expect_period(2026, 1, 1, 2026, 6, 30, "1e halfjaar 2026", "1e hj 2026");
    expect_period(2025, 7, 1, 2025, 12, 31, "2e halfjaar 2025", "2e hj 2025");
    expect_period(2026, 1, 1, 2026, 12, 31, "2026", "2026");
    expect_period(2026, 4, 1, 2026, 6, 30, "2e kwartaal 2026", "2e kw 2026");
    expect_period(2026, 10, 1, 2026, 12, 31, "4e kwartaal 2026", "4e kw 2026");
    expect_period(2026, 7, 1, 2026, 7, 31, "juli 2026", "1-7-2026");
    expect_period(2024, 2, 1, 2024, 2, 29, "februari 2024", "1-2-2024");
    /* Six months that are not a calendar half-year, and ragged periods, in full. */
    expect_period(2026, 3, 1, 2026, 8, 31, "1 maart 2026 tot en met 31 augustus 2026", "1-3-2026");
    expect_period(2026, 1, 1, 2026, 6, 29, "1 januari 2026 tot en met 29 juni 2026", "1-1-2026");
    expect_period(2025, 7, 1, 2026, 6, 30, "1 juli 2025 tot en met 30 juni 2026", "1-7-2025");
    expect_period(2026, 3, 3, 2026, 3, 3, "3 maart 2026 tot en met 3 maart 2026", "3-3-2026");
}

static void test_suppression_texts(void **state)
{
    (void)state;
    assert_string_equal(mp_nl_suppressed("small_denominator"),
                        "niet getoond: te weinig personen in de noemer");
    assert_string_equal(mp_nl_suppressed("zero_denominator"),
                        "niet getoond: geen personen in de noemer");
    assert_string_equal(mp_nl_suppressed("small_cell"), "niet getoond: te weinig personen");
    /* A reason this version does not know is still not shown as a figure. */
    assert_string_equal(mp_nl_suppressed("future_reason"), "niet getoond: onvoldoende betrouwbaar");
}

static void test_html_escaping(void **state)
{
    (void)state;
    char out[MP_NL_CAP];
    assert_int_equal(mp_nl_html(out, sizeof out, "<script>a & \"b\" 'c'</script>"),
                     strlen("&lt;script&gt;a &amp; &quot;b&quot; &#39;c&#39;&lt;/script&gt;"));
    assert_string_equal(out, "&lt;script&gt;a &amp; &quot;b&quot; &#39;c&#39;&lt;/script&gt;");
    mp_nl_html(out, sizeof out, "Werk & Inkomen Lekstroom – é");
    assert_string_equal(out, "Werk &amp; Inkomen Lekstroom – é");
    /* An entity that does not fit is left out whole, never cut in half. */
    char small[8];
    mp_nl_html(small, sizeof small, "ab&cd");
    assert_string_equal(small, "ab&amp;");
    mp_nl_html(small, 6, "ab&cd");
    assert_string_equal(small, "ab");
    assert_null(mp_nl_html_entity('a'));
    assert_string_equal(mp_nl_html_entity('<'), "&lt;");
}

/* ---- the catalogue's report fields --------------------------------------------------------- */

#define CAT_HEAD                                                                                   \
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"Monitor T & W\","            \
    "\"dimensions\":{\"age\":{\"title\":\"Leeftijd\",\"bands\":[{\"label\":\"tot 45\","            \
    "\"min\":0,\"max\":44},{\"label\":\"45 en ouder\",\"min\":45,\"max\":200}]}},"                 \
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand <bijstand>\",\"description\":\"d\","         \
    "\"source\":\"s\",\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"age\"],"
#define CAT_MID                                                                                    \
    "},{\"id\":\"werkend\",\"title\":\"Werkend\",\"description\":\"d\",\"source\":\"s\","          \
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"also_active\":[\"baan\"]}],"                   \
    "\"rates\":[{\"id\":\"aandeel\",\"title\":\"Aandeel werkend\",\"numerator\":\"werkend\","      \
    "\"denominator\":\"stand\""
#define CAT_TAIL "}]}"

static int parse_cat(const char *metric_extra, const char *rate_extra, mp_catalogue **out)
{
    char text[4096];
    cJSON *j;
    snprintf(text, sizeof text, "%s%s%s%s%s", CAT_HEAD, metric_extra, CAT_MID, rate_extra,
             CAT_TAIL);
    if (mp_canon_parse(&j, text, strlen(text)) != 0)
        fail_msg("json: %s", mp_error_get());
    int rc = mp_catalogue_parse(out, j);
    cJSON_Delete(j);
    return rc;
}

#define GOOD_METRIC                                                                                \
    "\"pijler\":\"Krachtige regio\",\"description_nl\":\"Hoeveel mensen\","                        \
    "\"target\":{\"value\":20000,\"kind\":\"count\",\"source\":\"seed.txt: 20.000\"}"
#define GOOD_RATE                                                                                  \
    ",\"pijler\":\"Impuls banenafspraak\",\"target\":{\"value\":48,\"kind\":\"percent\","          \
    "\"label\":\"48% zoals in 2021\",\"source\":\"seed.txt: 48%\"}"

static void test_catalogue_report_fields(void **state)
{
    (void)state;
    mp_catalogue *c;
    if (parse_cat(GOOD_METRIC, GOOD_RATE, &c) != 0)
        fail_msg("%s", mp_error_get());
    assert_string_equal(c->metrics[0].report.pijler, "Krachtige regio");
    assert_string_equal(c->metrics[0].report.description_nl, "Hoeveel mensen");
    assert_int_equal(c->metrics[0].report.target_kind, MP_TARGET_COUNT);
    assert_int_equal(c->metrics[0].report.target_value, 20000);
    assert_null(c->metrics[0].report.target_label);
    assert_null(c->metrics[1].report.pijler);
    assert_int_equal(c->metrics[1].report.target_kind, MP_TARGET_NONE);
    assert_int_equal(c->rates[0].report.target_kind, MP_TARGET_PERCENT);
    assert_string_equal(c->rates[0].report.target_label, "48% zoals in 2021");
    mp_catalogue_free(c);
    /* All optional: a catalogue of an older round has none of them. */
    assert_int_equal(parse_cat("\"pijler\":\"P\"", "", &c), 0);
    mp_catalogue_free(c);

    static const struct {
        const char *metric, *rate, *why;
    } bad[] = {
        {"\"pijler\":\"\"", "", "empty"},
        {"\"pijler\":1", "", "pijler"},
        {"\"description_nl\":\"\"", "", "empty"},
        {"\"target\":5", "", "must be an object"},
        {"\"target\":{\"value\":48,\"kind\":\"percent\",\"source\":\"s\"}", "", "count target"},
        {"\"pijler\":\"P\"", ",\"target\":{\"value\":48,\"kind\":\"count\",\"source\":\"s\"}",
         "percent target"},
        {"\"target\":{\"value\":0,\"kind\":\"count\",\"source\":\"s\"}", "", "value"},
        {"\"pijler\":\"P\"", ",\"target\":{\"value\":101,\"kind\":\"percent\",\"source\":\"s\"}",
         "value"},
        {"\"target\":{\"value\":5,\"kind\":\"fraction\",\"source\":\"s\"}", "", "unknown kind"},
        {"\"target\":{\"value\":5,\"kind\":\"count\",\"source\":\"\"}", "", "source"},
        {"\"target\":{\"value\":5,\"kind\":\"count\"}", "", "source"},
        {"\"target\":{\"value\":5,\"kind\":\"count\",\"source\":\"s\",\"year\":2026}", "", "year"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_cat(bad[i].metric, bad[i].rate, &c) == 0)
            fail_msg("accepted case %zu", i);
        if (strstr(mp_error_get(), bad[i].why) == NULL)
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, mp_error_get(), bad[i].why);
    }
}

/* ---- the report -------------------------------------------------------------------------- */

enum { STAND = 0, STAND_Y = 1, STAND_O = 2, WERKEND = 3, NCELLS = 4 };

typedef struct world {
    char *dir;
    mp_keypair *coord, *orgs[NORGS];
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
    mp_included inc[NORGS];
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    char text[4096];
    assert_non_null(w);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    free(tw_roster(&w->roster, w->dir, w->coord, w->pubs));
    snprintf(text, sizeof text, "%s%s%s%s%s", CAT_HEAD, GOOD_METRIC, CAT_MID, GOOD_RATE, CAT_TAIL);
    assert_int_equal(mp_canon_parse(&w->catalogue, text, strlen(text)), 0);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_roster_free(w->roster);
    tw_keys_free(w->coord, w->orgs);
    cJSON_Delete(w->catalogue);
    tu_rmdir(w->dir);
    free(w);
    return 0;
}

/* The round of the half-year starting start (YYYY-MM-DD) ending end, series "mu". */
static mp_spec *round_of(world *w, const char *id, const char *start, const char *end,
                         const char *series)
{
    mp_spec *s;
    mp_spec_params p = tw_round_params(id, "10");
    char name[80];
    p.period_start = start;
    p.period_end = end;
    p.deadline = "2099-01-01T00:00:00Z";
    p.series = series;
    snprintf(name, sizeof name, "round-%s.json", id);
    free(tw_write_round(w->dir, w->coord, w->roster, w->catalogue, &p, name, &s));
    return s;
}

/* The release of spec with stand = v_stand (split 40/60 over the age bands) and werkend. */
static cJSON *release_of(world *w, const mp_spec *spec, size_t n, int64_t stand, int64_t werkend)
{
    uint64_t sum[NCELLS] = {(uint64_t)stand, (uint64_t)(stand * 4 / 10),
                            (uint64_t)(stand - stand * 4 / 10), (uint64_t)werkend};
    cJSON *body;
    for (size_t i = 0; i < spec->nparticipants; i++) {
        w->inc[i].org = spec->participants[i];
        mp_hash(w->inc[i].submission_hash, w->inc[i].org, strlen(w->inc[i].org));
    }
    if (mp_release_build(&body, spec, w->inc, n, sum, "2026-07-03T12:00:00Z", NULL) != 0)
        fail_msg("release: %s", mp_error_get());
    return body;
}

/* Sign a release body and write it as dir/name; returns the path. */
static char *signed_release(world *w, const cJSON *body, const char *name, const mp_keypair *kp)
{
    return tw_write_signed(w->dir, name, "release", body, kp);
}

static char *html_of(const mp_report_in *in)
{
    char *html;
    size_t len;
    if (mp_report_html(&html, &len, in) != 0)
        fail_msg("html: %s", mp_error_get());
    assert_int_equal(strlen(html), len);
    return html;
}

static void test_report_single(void **state)
{
    world *w = *state;
    mp_spec *spec = round_of(w, "h1", "2026-01-01", "2026-06-30", "mu");
    cJSON *rel = release_of(w, spec, NORGS, 12345, 5000);
    mp_report_in in = {rel, spec, w->roster, NULL, "ab12"};
    char *html = html_of(&in);
    assert_non_null(strstr(html, "<html lang=\"nl\">"));
    assert_non_null(strstr(html, "<strong>Arbeidsmarktregio Midden-Utrecht</strong>"));
    assert_non_null(strstr(html, "<span id=\"period\">1e halfjaar 2026</span>"));
    assert_non_null(strstr(html, "Gepubliceerd op 3 juli 2026 om 14:00."));
    /* Every text from the catalogue is escaped. */
    assert_non_null(strstr(html, "<title>Monitor T &amp; W, 1e halfjaar 2026</title>"));
    assert_non_null(strstr(html, "Stand &lt;bijstand&gt;"));
    assert_null(strstr(html, "<bijstand>"));
    /* Dutch figures, the margin in words, the pijlers as headings, no earlier half-year. */
    assert_non_null(strstr(html, "<p class=\"figure\">12.345 personen</p>"));
    assert_non_null(strstr(html, "ligt met 95% zekerheid tussen"));
    /* "tussen A en B" for the margin, from the cell's own sd-based moe95. */
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rel, "cells"), 0);
    long long moe = strtoll(cJSON_GetObjectItemCaseSensitive(c0, "moe95")->valuestring, NULL, 10);
    char lo[MP_NL_CAP], hi[MP_NL_CAP], want[400];
    mp_nl_int(lo, sizeof lo, 12345 - moe);
    mp_nl_int(hi, sizeof hi, 12345 + moe);
    snprintf(
        want, sizeof want,
        "<p class=\"margin\">De werkelijke waarde ligt met 95%% zekerheid tussen %s en %s.</p>", lo,
        hi);
    assert_non_null(strstr(html, want));
    assert_true(moe > 0);
    assert_non_null(strstr(html, "<h2>Krachtige regio</h2>"));
    assert_non_null(strstr(html, "<h2>Impuls banenafspraak</h2>"));
    assert_non_null(strstr(html, "<h2>Overige mijlpalen</h2>")); /* werkend has no pijler */
    assert_non_null(strstr(html, "Dit is de eerste publicatie van deze reeks"));
    /* Targets: the count (a level, since stand is a stock) and the percentage. */
    assert_non_null(strstr(html, "Doel: 20.000. Nu: 12.345, dat is onder het doel."));
    assert_non_null(strstr(html, "Doel: 48% zoals in 2021. Nu: 40,5%, dat is onder het doel."));
    assert_non_null(strstr(html, "<svg class=\"progress\""));
    /* Charts are accessible and have a table behind them. */
    assert_non_null(strstr(html, "role=\"img\" aria-labelledby=\"t0 d0\""));
    assert_non_null(strstr(html, "<title id=\"t0\">Verloop: Stand &lt;bijstand&gt;</title>"));
    assert_non_null(strstr(html, "<table class=\"series\">"));
    assert_non_null(strstr(html, "<th colspan=\"3\" scope=\"colgroup\">Leeftijd</th>"));
    /* Everyone delivered: no warning; every organisation by name. */
    assert_null(strstr(html, "id=\"dropout\""));
    assert_non_null(strstr(html, "<li>Werk &amp; Inkomen Lekstroom</li>"));
    /* The appendix has the technical details; the body speaks plain Dutch. */
    char *appendix = strstr(html, "id=\"bijlage\"");
    assert_non_null(appendix);
    assert_non_null(strstr(appendix, "Privacybudget ρ (zCDP)"));
    assert_non_null(strstr(appendix, "<td>6 van 6</td>"));
    assert_non_null(strstr(appendix, "distributed_discrete_gaussian"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "@media print"));

    /* Pure: the same inputs give the same bytes. */
    char *again = html_of(&in);
    assert_string_equal(html, again);
    free(again);
    free(html);
    cJSON_Delete(rel);
    mp_spec_free(spec);
}

static void test_report_dropouts(void **state)
{
    world *w = *state;
    mp_spec *spec = round_of(w, "h1", "2026-01-01", "2026-06-30", "mu");
    /* The release includes the first four participants only (as after two dropouts). */
    cJSON *rel = release_of(w, spec, 4, 12345, 5000);
    mp_report_in in = {rel, spec, w->roster, NULL, NULL};
    char *html = html_of(&in);
    char *warn = strstr(html, "id=\"dropout\"");
    assert_non_null(warn);
    assert_non_null(strstr(warn, "2 van de 6 organisaties ontbreken in deze cijfers."));
    assert_non_null(strstr(warn, "onderschatten"));
    for (size_t i = 4; i < spec->nparticipants; i++) {
        const mp_org *o = mp_roster_org(w->roster, spec->participants[i]);
        char want[200];
        mp_nl_html(want, sizeof want, o->name);
        assert_non_null(strstr(warn, want));
    }
    assert_non_null(strstr(html, "<td>4 van 6</td>"));
    free(html);
    cJSON_Delete(rel);
    mp_spec_free(spec);
}

static cJSON *find(cJSON *arr, const char *key, const char *want)
{
    cJSON *it;
    cJSON_ArrayForEach (it, arr)
        if (strcmp(cJSON_GetObjectItemCaseSensitive(it, key)->valuestring, want) == 0)
            return it;
    fail_msg("no %s", want);
    return NULL;
}

/* Set a member, replacing the one the release already has (the statistics fill them in). */
static void set_str(cJSON *o, const char *k, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddStringToObject(o, k, v);
}

static void set_num(cJSON *o, const char *k, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddNumberToObject(o, k, v);
}

static void test_report_small_cells_and_suppression(void **state)
{
    world *w = *state;
    mp_spec *spec = round_of(w, "h1", "2026-01-01", "2026-06-30", "mu");
    cJSON *rel = release_of(w, spec, NORGS, 12345, 5000);
    cJSON *cells = cJSON_GetObjectItemCaseSensitive(rel, "cells");
    cJSON *young = find(cells, "name", "stand.age.0");
    cJSON *old = find(cells, "name", "stand.age.1");
    cJSON *werkend = find(cells, "name", "werkend");
    cJSON *rate = find(cJSON_GetObjectItemCaseSensitive(rel, "rates"), "id", "aandeel");
    /* The fields of the statistics: shown as a range, as "less than", suppressed. */
    set_str(young, "shown_as", "range");
    set_num(young, "lower", 1200);
    set_num(young, "upper", 7400);
    set_str(old, "shown_as", "less_than");
    set_num(old, "lower", 0);
    set_num(old, "upper", 10);
    set_str(werkend, "suppressed", "small_cell");
    set_str(rate, "suppressed", "small_denominator");
    mp_report_in in = {rel, spec, w->roster, NULL, NULL};
    char *html = html_of(&in);
    assert_non_null(strstr(html, "<td class=\"n\">tussen 1.200 en 7.400</td>"));
    assert_non_null(strstr(html, "<td class=\"n\">minder dan 10</td>"));
    assert_non_null(strstr(html, "<p class=\"figure\">niet getoond: te weinig personen</p>"));
    assert_non_null(
        strstr(html, "<p class=\"figure\">niet getoond: te weinig personen in de noemer</p>"));
    /* No figure, no progress to measure. */
    assert_non_null(strstr(html, "Er is geen getoond cijfer om de voortgang mee te meten."));
    free(html);

    /* A rate over nobody in a release from before suppression reasons: "" as percent. */
    cJSON_DeleteItemFromObject(rate, "suppressed");
    cJSON_ReplaceItemInObject(rate, "percent", cJSON_CreateString(""));
    html = html_of(&in);
    assert_non_null(strstr(html, "niet getoond: geen personen in de noemer"));
    free(html);
    cJSON_Delete(rel);
    mp_spec_free(spec);
}

static void test_series(void **state)
{
    world *w = *state;
    mp_spec *h1 = round_of(w, "h1-2025", "2025-01-01", "2025-06-30", "mu");
    mp_spec *h2 = round_of(w, "h2-2025", "2025-07-01", "2025-12-31", "mu");
    mp_spec *h3 = round_of(w, "h1-2026", "2026-01-01", "2026-06-30", "mu");
    mp_spec *other = round_of(w, "x-2025", "2025-07-01", "2025-12-31", "other");
    cJSON *r1 = release_of(w, h1, NORGS, 10000, 4000);
    cJSON *r2 = release_of(w, h2, NORGS, 10002, 4100);
    cJSON *r3 = release_of(w, h3, NORGS, 12345, 4102);
    cJSON *rx = release_of(w, other, NORGS, 1, 1);
    char *p1 = signed_release(w, r1, "r1.json", w->coord);
    char *p2 = signed_release(w, r2, "r2.json", w->coord);
    char *p3 = signed_release(w, r3, "r3.json", w->coord);
    char *px = signed_release(w, rx, "rx.json", w->coord);
    char *pforged = signed_release(w, r1, "forged.json", w->orgs[0]);
    mp_series s = {0};

    /* Added out of order, kept in period order. */
    if (mp_series_add(&s, p2, h3, w->roster) != 0 || mp_series_add(&s, p1, h3, w->roster) != 0)
        fail_msg("series: %s", mp_error_get());
    assert_int_equal(s.n, 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s.rel[0]->body, "round_id")->valuestring,
                        "h1-2025");
    /* Refused: the same period again, a later or the same period, another series, another
     * signer; the series is left as it was. */
    assert_int_equal(mp_series_add(&s, p1, h3, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "is in the series twice"));
    cJSON *again = cJSON_Duplicate(r2, 1);
    cJSON_ReplaceItemInObject(again, "round_id", cJSON_CreateString("h2-2025-bis"));
    char *pagain = signed_release(w, again, "again.json", w->coord);
    assert_int_equal(mp_series_add(&s, pagain, h3, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "overlaps another earlier release"));
    free(pagain);
    cJSON_Delete(again);
    assert_int_equal(mp_series_add(&s, p3, h3, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "does not end before"));
    assert_int_equal(mp_series_add(&s, p3, h2, w->roster), -1);
    assert_int_equal(mp_series_add(&s, px, h3, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "series other"));
    assert_int_equal(mp_series_add(&s, pforged, h3, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "not signed by the roster's coordinator"));
    assert_int_equal(s.n, 2);
    /* A round id is a file name in series/: never twice, never a path. */
    cJSON *dup = cJSON_Duplicate(r2, 1), *evil = cJSON_Duplicate(r1, 1);
    cJSON_ReplaceItemInObject(dup, "round_id", cJSON_CreateString("h1-2025"));
    cJSON_ReplaceItemInObject(evil, "round_id", cJSON_CreateString("../evil"));
    mp_series s2 = {0};
    char *pdup = signed_release(w, dup, "dup.json", w->coord);
    char *pevil = signed_release(w, evil, "evil.json", w->coord);
    assert_int_equal(mp_series_add(&s2, p1, h3, w->roster), 0);
    assert_int_equal(mp_series_add(&s2, pdup, h3, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "round h1-2025 is in the series twice"));
    assert_int_equal(mp_series_add(&s2, pevil, h2, w->roster), -1);
    assert_non_null(strstr(mp_error_get(), "not a valid round id"));
    assert_int_equal(s2.n, 1);
    mp_series_free(&s2);
    free(pdup);
    free(pevil);
    cJSON_Delete(dup);
    cJSON_Delete(evil);

    mp_report_in in = {r3, h3, w->roster, &s, "ab12"};
    char *html = html_of(&in);
    /* Every half-year in the table behind the chart. */
    assert_non_null(strstr(html, "<tr><th scope=\"row\">1e halfjaar 2025</th><td class=\"n\">"
                                 "10.000</td>"));
    assert_non_null(strstr(html, "<tr><th scope=\"row\">2e halfjaar 2025</th><td class=\"n\">"
                                 "10.002</td>"));
    /* The change since the previous half-year, against the margin of that change. */
    assert_non_null(strstr(html, "Ten opzichte van het 2e halfjaar 2025 (10.002) is dit 2.343 "
                                 "hoger. Die verandering is groter dan de foutmarge van het "
                                 "verschil, dus waarschijnlijk echt (plus of min "));
    assert_non_null(strstr(html, "Ten opzichte van het 2e halfjaar 2025 (4.100) is dit 2 hoger. "
                                 "Die verandering valt binnen de foutmarge van het verschil en "
                                 "kan dus door de ruis komen (plus of min "));
    assert_non_null(strstr(html, "procentpunt lager")); /* the rate fell: 41,0% to 33,2% */
    /* The earlier releases are named by hash in the appendix. */
    char h[MP_HASH_HEX_BYTES];
    mp_hex_encode(h, s.rel[1]->hash, MP_HASH_BYTES);
    assert_non_null(strstr(html, h));
    free(html);

    /* The PDF: a real PDF naming the release, the same bytes twice (dates are the
     * publication time). */
    char *pdf, *pdf2;
    size_t plen, plen2;
    if (mp_report_pdf(&pdf, &plen, &in) != 0 || mp_report_pdf(&pdf2, &plen2, &in) != 0)
        fail_msg("pdf: %s", mp_error_get());
    assert_true(plen > 1000);
    assert_memory_equal(pdf, "%PDF-", 5);
    assert_int_equal(plen, plen2);
    assert_memory_equal(pdf, pdf2, plen);
    int named = 0;
    for (size_t i = 0; i + 19 <= plen; i++)
        named |= memcmp(pdf + i, "release-sha256 ab12", 19) == 0;
    assert_true(named);
    free(pdf);
    free(pdf2);
    mp_series_free(&s);
    free(p1);
    free(p2);
    free(p3);
    free(px);
    free(pforged);
    cJSON_Delete(r1);
    cJSON_Delete(r2);
    cJSON_Delete(r3);
    cJSON_Delete(rx);
    mp_spec_free(h1);
    mp_spec_free(h2);
    mp_spec_free(h3);
    mp_spec_free(other);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousands),
        cmocka_unit_test(test_decimals),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_amsterdam_time),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_suppression_texts),
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_catalogue_report_fields),
        cmocka_unit_test_setup_teardown(test_report_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_dropouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_small_cells_and_suppression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
