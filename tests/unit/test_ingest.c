/*
 * test_ingest.c - from a spells CSV to distinct-person counts (protocol/ingest/ingest.c), with a
 * real signed roster for Midden-Utrecht built in the fixture.
 */
#include "testutil.h"
#include "testworld.h"

#include <signal.h>
#include <sys/wait.h>

#include "canon.h"
#include "catalogue.h"
#include "date.h"
#include "envelope.h"
#include "guard.h"
#include "ingest.h"
#include "keys.h"
#include "roster.h"

/* Cells: 0 uitstroom total, 1..3 sex (M, V, X); 4 stand total, 5..7 focus (sh, ao, rest). */
static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"T\",\"dimensions\":{"
    "\"focus\":{\"title\":\"F\",\"bands\":[{\"label\":\"sh\",\"flag\":\"statushouder\"},"
    "{\"label\":\"ao\",\"flag\":\"alleenstaande_ouder\"},{\"label\":\"rest\",\"flag\":\"\"}]},"
    "\"sex\":{\"title\":\"S\",\"bands\":[{\"label\":\"m\",\"sex\":\"M\"},{\"label\":\"v\","
    "\"sex\":\"V\"},{\"label\":\"x\",\"sex\":\"X\"}]}},"
    "\"metrics\":[{\"id\":\"uitstroom\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"exit\",\"spells\":[\"bijstand\"],\"end_reasons\":[\"werk\"],\"breakdowns\":"
    "[\"sex\"]},{\"id\":\"stand\",\"title\":\"t\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"focus\"]}]}";

enum { UIT = 0, UIT_SEX = 1, STAND = 4, STAND_FOCUS = 5, NCELLS = 8 };

typedef struct world {
    char *dir;
    mp_keypair *coord, *orgs[NORGS];
    mp_roster *roster;
    mp_catalogue *cat;
    mp_ingest_params p;
    char *csv;
    int64_t counts[NCELLS];
    mp_ingest_report rep;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    mp_pubkey pubs[NORGS];
    cJSON *cj;
    assert_non_null(w);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, pubs);
    free(tw_roster(&w->roster, w->dir, w->coord, pubs));
    assert_int_equal(mp_canon_parse(&cj, catalogue_json, sizeof catalogue_json - 1), 0);
    if (mp_catalogue_parse(&w->cat, cj) != 0)
        fail_msg("catalogue: %s", mp_error_get());
    cJSON_Delete(cj);
    assert_int_equal(w->cat->ncells, NCELLS);
    w->csv = tu_path(w->dir, "export.csv");
    w->p.path = w->csv;
    w->p.roster = w->roster;
    w->p.catalogue = w->cat;
    w->p.period_start = mp_date_from_civil(2025, 1, 1);
    w->p.period_end = mp_date_from_civil(2025, 12, 31);
    w->p.prf_key = w->orgs[0]->prf_key;
    w->p.today = mp_date_from_civil(2026, 2, 1);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_roster_free(w->roster);
    mp_catalogue_free(w->cat);
    tw_keys_free(w->coord, w->orgs);
    free(w->csv);
    tu_rmdir(w->dir);
    free(w);
    return 0;
}

/* A valid BSN (elfproef), distinct for distinct n < 9000000: 1 + seven digits from n and a
 * variant digit, then the check digit. */
static void make_bsn(char out[10], unsigned n)
{
    for (unsigned k = 0; k < 10; k++) {
        int sum = 0;
        snprintf(out, 10, "%08u", 10000000u + (n % 9000000u) * 10u + k);
        for (int i = 0; i < 8; i++)
            sum += (9 - i) * (out[i] - '0');
        if (sum % 11 == 10)
            continue;
        out[8] = (char)('0' + sum % 11);
        out[9] = '\0';
        return;
    }
    fail_msg("no valid BSN for %u", n);
}

static int run(world *w, const char *csv_text)
{
    if (csv_text != NULL) {
        unlink(w->csv);
        tu_write(w->csv, csv_text, strlen(csv_text));
    }
    memset(w->counts, 0, sizeof w->counts);
    mp_error_clear();
    return mp_ingest_count(&w->p, w->counts, &w->rep);
}

static int contains(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp((const char *)hay + i, needle, k) == 0)
            return 1;
    return 0;
}

/* Neither the error text nor any byte of the report may contain the digits of `bsn`. */
static void no_bsn_leak(const world *w, const char *bsn)
{
    size_t n = strlen(bsn);
    assert_null(strstr(mp_error_get(), bsn));
    assert_false(contains(&w->rep, sizeof w->rep, bsn));
    /* The last 8 digits too (how Excel would show a BSN with a leading zero). */
    if (n == 9)
        assert_null(strstr(mp_error_get(), bsn + 1));
}

static const char header[] =
    "bsn;birth_date;sex;municipality;spell_type;start_date;end_date;end_reason;flags\n";

static void test_distinct_persons_and_rejects(void **state)
{
    world *w = *state;
    char p1[10], p2[10], other[10];
    make_bsn(p1, 1);
    make_bsn(p2, 2);
    make_bsn(other, 4);
    /* p3 with a leading zero, written with 8 digits on one row and 9 on another. */
    char p3_9[10] = "012345672", p3_8[9] = "12345672";
    char buf[8192];
    int n = snprintf(
        buf, sizeof buf,
        "%s"
        /* 2-4: one person on three rows, counted once in the stock */
        "%s;1980-04-01;V;GM0344;bijstand;2020-01-01;2021-01-01;opleiding;statushouder\n"
        "%s;1980-04-01;V;GM0344;bijstand;2022-01-01;;;\n"
        "%s;1980-04-01;V;GM0344;ww;2023-01-01;2023-06-30;werk;\n"
        /* 5: an exit to work in the period, gemeente in its short form */
        "%s;1975-09-09;M;344;bijstand;2021-03-01;2025-06-30;werk;\n"
        /* 6-7: the same person as 8 and as 9 digits */
        "%s;1990-01-01;X;0356;bijstand;2024-05-01;;;alleenstaande_ouder\n"
        "%s;1990-01-01;;GM0356;bijstand;2024-05-01;;;\n"
        /* 8..: one reject reason each */
        "12345;1980-01-01;M;GM0344;bijstand;2024-01-01;;;\n"               /* 8 bsn_format */
        "123456789;1980-01-01;M;GM0344;bijstand;2024-01-01;;;\n"           /* 9 elfproef */
        "%s;1980-02-30;M;GM0344;bijstand;2024-01-01;;;\n"                  /* 10 date_format */
        "%s;1980-01-01;M;GM0344;bijstand;2025-05-01;2025-04-01;overig;\n"  /* 11 date_order */
        "%s;1980-01-01;M;GM0344;bijstand;2026-03-01;;;\n"                  /* 12 date_range */
        "%s;1980-01-01;M;Utrecht;bijstand;2024-01-01;;;\n"                 /* 13 muni unknown */
        "%s;1980-01-01;M;GM0363;bijstand;2024-01-01;;;\n"                  /* 14 outside */
        "%s;1980-01-01;M;GM0344;uitkering;2024-01-01;;;\n"                 /* 15 spell type */
        "%s;1980-01-01;M;GM0344;bijstand;2024-01-01;2025-03-01;ontslag;\n" /* 16 reason */
        "%s;1980-01-01;M;GM0344;bijstand;2024-01-01;;werk;\n"              /* 17 no end */
        "%s;1980-01-01;Q;GM0344;bijstand;2024-01-01;;;\n"                  /* 18 sex */
        "%s;1980-01-01;M;GM0344;bijstand;2024-01-01;;;rijk\n"              /* 19 flag */
        "%s;1975-09-10;M;GM0344;bijstand;2024-01-01;;;\n"                  /* 20 conflict */
        "%s;1980-01-01;M;GM0344;bijstand\n"                                /* 21 columns */
        "%s;19\"80-01-01;M;GM0344;bijstand;2024-01-01;;;\n"                /* 22 quoting */
        ";1980-01-01;M;GM0344;bijstand;2024-01-01;;;\n"                    /* 23 bsn_format */
        "%s;1980-01-01;M;GM0344;bijstand;1979-01-01;;;\n"                  /* 24 date_order */
        "%s;1899-12-31;M;GM0344;bijstand;1950-01-01;;;\n"                  /* 25 date_range */
        "%s;2015-01-01;M;GM0344;bijstand;2025-01-01;;;\n",                 /* 26 date_range */
        header, p1, p1, p1, p2, p3_8, p3_9, other, other, other, other, other, other, other, other,
        other, other, p2, other, other, other, other, other);
    assert_true(n > 0 && (size_t)n < sizeof buf);

    if (run(w, buf) != 0)
        fail_msg("ingest failed: %s", mp_error_get());
    mp_ingest_report *r = &w->rep;
    assert_int_equal(r->records, 25);
    assert_int_equal(r->accepted, 6);
    assert_int_equal(r->excluded, 19);
    assert_int_equal(r->records, r->accepted + r->excluded);
    assert_int_equal(r->persons, 3);
    /* Kept: p1's running bijstand, p2's exit, p3's two rows (the ww spell is not read by the
     * catalogue, p1's 2021 spell ended before the horizon). */
    assert_int_equal(r->kept_spells, 4);
    assert_int_equal(r->separator, ';');
    assert_int_equal(r->had_bom, 0);

    static const struct {
        int reason;
        unsigned long lines[3];
    } want[] = {
        {MP_REJ_BSN_FORMAT, {8, 23}},
        {MP_REJ_BSN_ELFPROEF, {9}},
        {MP_REJ_DATE_FORMAT, {10}},
        {MP_REJ_DATE_ORDER, {11, 24}},
        {MP_REJ_DATE_RANGE, {12, 25, 26}},
        {MP_REJ_MUNICIPALITY_UNKNOWN, {13}},
        {MP_REJ_MUNICIPALITY_OUTSIDE, {14}},
        {MP_REJ_SPELL_TYPE, {15}},
        {MP_REJ_END_REASON, {16}},
        {MP_REJ_END_REASON_WITHOUT_END, {17}},
        {MP_REJ_SEX, {18}},
        {MP_REJ_FLAG, {19}},
        {MP_REJ_BIRTH_CONFLICT, {20}},
        {MP_REJ_COLUMNS, {21}},
        {MP_REJ_QUOTING, {22}},
    };
    static const char *const codes[MP_REJ_COUNT] = {
        [MP_REJ_COLUMNS] = "columns",
        [MP_REJ_QUOTING] = "quoting",
        [MP_REJ_BSN_FORMAT] = "bsn_format",
        [MP_REJ_BSN_ELFPROEF] = "bsn_elfproef",
        [MP_REJ_DATE_FORMAT] = "date_format",
        [MP_REJ_DATE_ORDER] = "date_order",
        [MP_REJ_DATE_RANGE] = "date_range",
        [MP_REJ_MUNICIPALITY_UNKNOWN] = "municipality_unknown",
        [MP_REJ_MUNICIPALITY_OUTSIDE] = "municipality_outside_region",
        [MP_REJ_SPELL_TYPE] = "spell_type_unknown",
        [MP_REJ_END_REASON] = "end_reason_unknown",
        [MP_REJ_END_REASON_WITHOUT_END] = "end_reason_without_end",
        [MP_REJ_SEX] = "sex_unknown",
        [MP_REJ_FLAG] = "flag_unknown",
        [MP_REJ_BIRTH_CONFLICT] = "birth_date_conflict",
        [MP_REJ_INDICATOR] = "indicator_unknown",
    };
    unsigned long total = 0;
    /* every reason but indicator_unknown, which needs a mapping (test_indicators) */
    assert_int_equal(sizeof want / sizeof *want, MP_REJ_COUNT - 1);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int rr = want[i].reason;
        size_t k = 0;
        while (k < 3 && want[i].lines[k] != 0)
            k++;
        if (r->per_reason[rr] != k)
            fail_msg("%s: %lu rows, expected %zu", mp_reject_code(rr), r->per_reason[rr], k);
        for (size_t j = 0; j < k; j++)
            if (r->lines[rr][j] != want[i].lines[j])
                fail_msg("%s: row %zu on line %lu, expected %lu", mp_reject_code(rr), j,
                         r->lines[rr][j], want[i].lines[j]);
        assert_string_equal(mp_reject_code(rr), codes[rr]);
        assert_true(strlen(mp_reject_description(rr)) > 0);
        total += r->per_reason[rr];
    }
    assert_int_equal(total, r->excluded);
    assert_string_equal(mp_reject_code(MP_REJ_COUNT), "?");

    /* Counts: p2 exits to work (M); p1 (statushouder) and p3 (alleenstaande ouder, from the
     * flags on one of its rows) are in the stock on 2025-12-31. */
    static const int64_t expect[NCELLS] = {1, 1, 0, 0, 2, 1, 1, 0};
    assert_memory_equal(w->counts, expect, sizeof expect);

    no_bsn_leak(w, p1);
    no_bsn_leak(w, p2);
    no_bsn_leak(w, p3_9);
    no_bsn_leak(w, other);
}

/* The 8-digit form and the 9-digit form with the leading zero are one person. */
static void test_leading_zero(void **state)
{
    world *w = *state;
    char buf[1024];
    snprintf(buf, sizeof buf,
             "%s12345672;1990-01-01;V;GM0344;bijstand;2024-05-01;;;\n"
             "012345672;1990-01-01;V;GM0344;bijstand;2024-05-01;;;\n"
             " 12345672 ;1990-01-01;V;GM0344;bijstand;2024-05-01;;;\n",
             header);
    assert_int_equal(run(w, buf), 0);
    assert_int_equal(w->rep.accepted, 3);
    assert_int_equal(w->rep.persons, 1);
    assert_int_equal(w->counts[STAND], 1);
    no_bsn_leak(w, "012345672");
    /* A different date of birth for the 8-digit spelling is a conflict with the 9-digit one. */
    snprintf(buf, sizeof buf,
             "%s012345672;1990-01-01;V;GM0344;bijstand;2024-05-01;;;\n"
             "12345672;1990-01-02;V;GM0344;bijstand;2024-05-01;;;\n",
             header);
    assert_int_equal(run(w, buf), 0);
    assert_int_equal(w->rep.per_reason[MP_REJ_BIRTH_CONFLICT], 1);
    assert_int_equal(w->rep.lines[MP_REJ_BIRTH_CONFLICT][0], 3);
}

/* Many persons, each on several rows in shuffled order: every one counted exactly once. */
static void test_many_persons(void **state)
{
    world *w = *state;
    const int npersons = 3000;
    size_t cap = (size_t)npersons * 3 * 96 + sizeof header;
    char *buf = malloc(cap), bsn[10];
    assert_non_null(buf);
    size_t used = (size_t)snprintf(buf, cap, "%s", header);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < npersons; i++) {
            int who = (i * 7 + round * 13) % npersons;
            make_bsn(bsn, 1000 + (unsigned)who);
            /* Persons with even numbers are in the stock (open spell), odd ones exit to work. */
            used += (size_t)snprintf(buf + used, cap - used,
                                     "%s;1970-01-01;%s;GM0344;bijstand;2024-0%d-01;%s;%s;\n", bsn,
                                     who % 3 == 0 ? "M" : "V", round + 1,
                                     who % 2 == 0 ? "" : "2025-03-01", who % 2 == 0 ? "" : "werk");
            assert_true(used < cap);
        }
    assert_int_equal(run(w, buf), 0);
    assert_int_equal(w->rep.records, (unsigned long)npersons * 3);
    assert_int_equal(w->rep.excluded, 0);
    assert_int_equal(w->rep.persons, (unsigned long)npersons);
    assert_int_equal(w->counts[STAND], npersons / 2);
    assert_int_equal(w->counts[UIT], npersons / 2);
    int64_t men = 0;
    for (int who = 1; who < npersons; who += 2)
        men += who % 3 == 0;
    assert_int_equal(w->counts[UIT_SEX + 0], men);
    assert_int_equal(w->counts[UIT_SEX + 1], npersons / 2 - men);
    assert_int_equal(w->counts[STAND_FOCUS + 2], npersons / 2);
    free(buf);
}

static void test_mapping(void **state)
{
    world *w = *state;
    static const char mapping[] =
        "{\"mijlpaal_mapping\":1,"
        "\"columns\":{\"bsn\":\"BSN\",\"birth_date\":\"Geboortedatum\",\"sex\":\"Geslacht\","
        "\"municipality\":\"Gemeente\",\"spell_type\":\"Regeling\",\"start_date\":\"Ingangsdatum\","
        "\"end_date\":\"Einddatum\",\"end_reason\":\"Reden beeindiging\",\"flags\":\"Kenmerken\"},"
        "\"date_format\":\"DD-MM-YYYY\","
        "\"values\":{\"spell_type\":{\"PW\":\"bijstand\",\"IOAW\":\"ioaw\"},"
        "\"end_reason\":{\"Werk aanvaard\":\"werk\",\"Scholing\":\"opleiding\"},"
        "\"sex\":{\"Man\":\"M\",\"Vrouw\":\"V\",\"Onbekend\":\"X\"},"
        "\"municipality\":{\"Utrecht\":\"GM0344\"},"
        "\"flags\":{\"SH\":\"statushouder\",\"AO\":\"alleenstaande_ouder\"}},"
        "\"flags_separator\":\",\"}";
    char *mpath = tu_path(w->dir, "mapping.json");
    tu_write(mpath, mapping, sizeof mapping - 1);
    mp_mapping *m = NULL;
    if (mp_mapping_load(&m, mpath) != 0)
        fail_msg("mapping: %s", mp_error_get());
    w->p.mapping = m;

    char a[10], b[10], c[10], buf[2048];
    make_bsn(a, 11);
    make_bsn(b, 12);
    make_bsn(c, 13);
    snprintf(buf, sizeof buf,
             "Geboortedatum;BSN;Extra;geslacht; Gemeente ;Regeling;Ingangsdatum;Einddatum;"
             "Reden beeindiging;Kenmerken;Opmerking\n"
             "01-04-1980;%s;x;Vrouw;Utrecht;PW;1-2-2023;;;\"SH,AO\";\n"
             "09-09-1975;%s;x;Man;GM0344;PW;01-03-2021;30-06-2025;Werk aanvaard;;\n"
             "09-09-1975;%s;x;Onbekend;GM0344;PW;01-03-2021;31-06-2025;;;\n" /* bad date */
             "10-10-1985;%s;x;Vrouw;GM0344;PW;2023-01-01;;;;\n"    /* ISO date: not the format */
             "10-10-1985;%s;x;Vrouw;GM0344;WWB;01-01-2023;;;;\n"   /* unmapped, unknown */
             "10-10-1985;%s;x;Vrouw;GM0344;PW;01-01-2023;;;XX;\n", /* unknown flag */
             a, b, c, c, c, c);
    assert_int_equal(run(w, buf), 0);
    mp_ingest_report *r = &w->rep;
    assert_int_equal(r->records, 6);
    assert_int_equal(r->accepted, 2);
    assert_int_equal(r->per_reason[MP_REJ_DATE_FORMAT], 2);
    assert_int_equal(r->lines[MP_REJ_DATE_FORMAT][0], 4);
    assert_int_equal(r->lines[MP_REJ_DATE_FORMAT][1], 5);
    assert_int_equal(r->per_reason[MP_REJ_SPELL_TYPE], 1);
    assert_int_equal(r->lines[MP_REJ_SPELL_TYPE][0], 6);
    assert_int_equal(r->per_reason[MP_REJ_FLAG], 1);
    assert_int_equal(r->lines[MP_REJ_FLAG][0], 7);
    assert_string_equal(r->ignored_columns, "Extra, Opmerking");
    /* a: stock, statushouder (first focus band though also AO); b: exit to work, M. */
    static const int64_t expect[NCELLS] = {1, 1, 0, 0, 1, 1, 0, 0};
    assert_memory_equal(w->counts, expect, sizeof expect);
    no_bsn_leak(w, a);
    no_bsn_leak(w, b);
    no_bsn_leak(w, c);

    /* The canonical header no longer matches once columns are mapped ("bsn" still matches
     * "BSN", names being case-insensitive, but "birth_date" is not "Geboortedatum"). */
    snprintf(buf, sizeof buf, "%s%s;1980-04-01;V;GM0344;bijstand;2023-02-01;;;\n", header, a);
    assert_int_equal(run(w, buf), -1);
    assert_non_null(strstr(mp_error_get(), "\"birth_date\""));
    assert_non_null(strstr(mp_error_get(), "\"Geboortedatum\""));
    no_bsn_leak(w, a);
    w->p.mapping = NULL;
    mp_mapping_free(m);

    /* Mapping files that are refused. */
    static const char *const bad[] = {
        "{\"mijlpaal_mapping\":2}",
        "{\"mijlpaal_mapping\":1,\"columns\":{\"burgerservicenummer\":\"BSN\"}}",
        "{\"mijlpaal_mapping\":1,\"date_format\":\"MM/DD/YYYY\"}",
        "{\"mijlpaal_mapping\":1,\"flags_separator\":\";;\"}",
        "{\"mijlpaal_mapping\":1,\"values\":{\"sex\":{\"Man\":1}}}",
        "{\"mijlpaal_mapping\":1,\"extra\":1}",
        "{\"mijlpaal_mapping\":1,\"values\":{\"colour\":{}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unlink(mpath);
        tu_write(mpath, bad[i], strlen(bad[i]));
        m = NULL;
        if (mp_mapping_load(&m, mpath) == 0) {
            mp_mapping_free(m);
            fail_msg("mapping accepted: %s", bad[i]);
        }
        assert_non_null(strstr(mp_error_get(), mpath));
    }
    free(mpath);
}

/* Structurally wrong "values" tables must be refused with a reason, not crash or be ignored.
 * Each load runs in a child process so that a crash fails this test only. */
static void test_mapping_values_shape(void **state)
{
    world *w = *state;
    static const char *const bad[] = {
        "{\"mijlpaal_mapping\":1,\"values\":[{}]}",
        "{\"mijlpaal_mapping\":1,\"values\":[]}",
        "{\"mijlpaal_mapping\":1,\"values\":5}",
        "{\"mijlpaal_mapping\":1,\"values\":\"sex\"}",
    };
    char *mpath = tu_path(w->dir, "shape.json");
    int failures = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unlink(mpath);
        tu_write(mpath, bad[i], strlen(bad[i]));
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* cmocka's handlers would resume the test runner in the child: crash for real. */
            signal(SIGSEGV, SIG_DFL);
            signal(SIGBUS, SIG_DFL);
            signal(SIGILL, SIG_DFL);
            signal(SIGFPE, SIG_DFL);
            mp_mapping *m = NULL;
            int rc = mp_mapping_load(&m, mpath);
            mp_mapping_free(m);
            _exit(rc == 0 ? 3 : 0); /* 0: refused, as it should be */
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
            print_message("mp_mapping_load(%s) accepted the mapping\n", bad[i]);
            failures++;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            print_message("mp_mapping_load(%s) crashed (%s %d)\n", bad[i],
                          WIFSIGNALED(status) ? "signal" : "exit status",
                          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            failures++;
        }
    }
    free(mpath);
    assert_int_equal(failures, 0);
}

static void test_fatal_errors(void **state)
{
    world *w = *state;
    char a[10], buf[1024];
    make_bsn(a, 21);

    /* A required column missing: the error names it. */
    snprintf(buf, sizeof buf,
             "bsn;birth_date;sex;spell_type;start_date;end_date;end_reason;flags\n"
             "%s;1980-04-01;V;bijstand;2023-02-01;;;\n",
             a);
    assert_int_equal(run(w, buf), -1);
    assert_non_null(strstr(mp_error_get(), "\"municipality\""));
    assert_non_null(strstr(mp_error_get(), w->csv));
    no_bsn_leak(w, a);

    snprintf(buf, sizeof buf,
             "birth_date;municipality;spell_type;start_date\n"
             "1980-04-01;GM0344;bijstand;2023-02-01\n");
    assert_int_equal(run(w, buf), -1);
    assert_non_null(strstr(mp_error_get(), "\"bsn\""));

    /* No header at all: the first data row is read as one, and its BSN must not leak. */
    snprintf(buf, sizeof buf,
             "%s;1980-04-01;V;GM0344;bijstand;2023-02-01;;;\n"
             "%s;1980-04-01;V;GM0344;bijstand;2023-02-01;;;\n",
             a, a);
    assert_int_equal(run(w, buf), -1);
    no_bsn_leak(w, a);

    /* A column twice. */
    snprintf(buf, sizeof buf,
             "bsn;birth_date;municipality;spell_type;start_date;BSN\n"
             "%s;1980-04-01;GM0344;bijstand;2023-02-01;%s\n",
             a, a);
    assert_int_equal(run(w, buf), -1);
    assert_non_null(strstr(mp_error_get(), "twice"));
    no_bsn_leak(w, a);

    /* An empty file, and a missing one. */
    assert_int_equal(run(w, ""), -1);
    assert_non_null(strstr(mp_error_get(), "empty"));
    unlink(w->csv);
    assert_int_equal(run(w, NULL), -1);

    /* A NUL byte (binary data) refuses the whole file. */
    static const char nul[] = "bsn;birth_date;municipality;spell_type;start_date\n1\0002;x;y;z;w\n";
    unlink(w->csv);
    tu_write(w->csv, nul, sizeof nul - 1);
    assert_int_equal(run(w, NULL), -1);
}

/* Optional columns may be absent; BOM, CRLF and ',' are fine; column names match
 * case-insensitively and trimmed. */
static void test_minimal_and_excel(void **state)
{
    world *w = *state;
    char a[10], b[10], buf[1024];
    make_bsn(a, 31);
    make_bsn(b, 32);
    snprintf(buf, sizeof buf,
             "\xef\xbb\xbf"
             " BSN ,Birth_Date,MUNICIPALITY,spell_type,start_date\r\n"
             "%s,1980-04-01,GM0344,bijstand,2023-02-01\r\n"
             "\r\n"
             "%s,1981-04-01,GM1904,bijstand,2025-12-31\r\n",
             a, b);
    assert_int_equal(run(w, buf), 0);
    assert_int_equal(w->rep.separator, ',');
    assert_int_equal(w->rep.had_bom, 1);
    assert_int_equal(w->rep.records, 2);
    assert_int_equal(w->rep.accepted, 2);
    assert_int_equal(w->rep.persons, 2);
    static const int64_t expect[NCELLS] = {0, 0, 0, 0, 2, 0, 0, 2};
    assert_memory_equal(w->counts, expect, sizeof expect);
    assert_string_equal(w->rep.ignored_columns, "");
    no_bsn_leak(w, a);
    no_bsn_leak(w, b);

    /* A spell starting after the period is valid but not counted. */
    snprintf(buf, sizeof buf,
             "bsn;birth_date;municipality;spell_type;start_date\n"
             "%s;1980-04-01;GM0344;bijstand;2026-01-15\n",
             a);
    assert_int_equal(run(w, buf), 0);
    assert_int_equal(w->rep.accepted, 1);
    assert_int_equal(w->rep.kept_spells, 0);
    assert_int_equal(w->counts[STAND], 0);
}

/* The pseudonym depends on the organisation's PRF key only through the table, never the
 * counts: another key gives the same figures. */
static void test_prf_key_does_not_change_counts(void **state)
{
    world *w = *state;
    char a[10], b[10], buf[1024];
    make_bsn(a, 41);
    make_bsn(b, 42);
    snprintf(buf, sizeof buf,
             "%s%s;1980-04-01;V;GM0344;bijstand;2023-02-01;;;\n"
             "%s;1980-04-01;V;GM0344;bijstand;2023-02-01;;;\n"
             "%s;1970-04-01;M;GM0344;bijstand;2023-02-01;2025-02-01;werk;\n",
             header, a, a, b);
    assert_int_equal(run(w, buf), 0);
    int64_t first[NCELLS];
    memcpy(first, w->counts, sizeof first);
    assert_int_equal(w->rep.persons, 2);
    w->p.prf_key = w->orgs[1]->prf_key;
    assert_int_equal(run(w, NULL), 0);
    assert_int_equal(w->rep.persons, 2);
    assert_memory_equal(first, w->counts, sizeof first);
}

static mp_mapping *load_mapping(world *w, const char *json)
{
    char *mpath = tu_path(w->dir, "m.json");
    mp_mapping *m = NULL;
    unlink(mpath);
    tu_write(mpath, json, strlen(json));
    if (mp_mapping_load(&m, mpath) != 0)
        fail_msg("mapping: %s", mp_error_get());
    free(mpath);
    return m;
}

/* Collects the row report in memory. */
typedef struct rejects {
    size_t n;
    char text[4096];
} rejects;

static int collect(const mp_ingest_reject *r, void *arg)
{
    rejects *x = arg;
    size_t k = strlen(x->text);
    snprintf(x->text + k, sizeof x->text - k, "%lu|%s|%s|%s\n", r->line, r->column,
             mp_reject_code(r->reason), r->value);
    x->n++;
    return 0;
}

/* J/N columns as flags and as spells of their own; every yes/no spelling; a value that is
 * neither excludes the row; an indicator spell repeated on every row counts once; a field from
 * the first non-empty of two columns; a "*" default in a values table. */
static void test_indicators_sources_defaults(void **state)
{
    world *w = *state;
    mp_mapping *m = load_mapping(
        w, "{\"mijlpaal_mapping\":1,"
           "\"columns\":{\"spell_type\":\"Regeling\",\"start_date\":[\"Start\",\"Start oud\"],"
           "\"sex\":\"Geslacht\"},"
           "\"values\":{\"spell_type\":{\"PW\":\"bijstand\",\"*\":\"traject\"},"
           "\"sex\":{\"Man\":\"M\",\"Vrouw\":\"V\",\"*\":\"X\"}},"
           "\"indicators\":[{\"column\":\"SH\",\"flag\":\"statushouder\"},"
           "{\"column\":\"AO J/N\",\"flag\":\"alleenstaande_ouder\"},"
           "{\"column\":\"Bijstand J/N\",\"spell_type\":\"bijstand\","
           "\"start_date\":\"Bijstand vanaf\",\"end_date\":\"Bijstand tot\"}]}");
    w->p.mapping = m;
    char a[10], b[10], c[10], d[10], e[10], buf[4096];
    make_bsn(a, 21);
    make_bsn(b, 22);
    make_bsn(c, 23);
    make_bsn(d, 24);
    make_bsn(e, 25);
    snprintf(buf, sizeof buf,
             "bsn;birth_date;Geslacht;municipality;Regeling;Start;Start oud;end_date;end_reason;"
             "SH;AO J/N;Bijstand J/N;Bijstand vanaf;Bijstand tot\n"
             /* 2-3 a: a job; bijstand from its own columns, running, J on both rows (once);
              * statushouder from "Ja" */
             "%s;1980-01-01;Vrouw;GM0344;baan;;2024-01-01;;;Ja;nee;J;2022-01-01;\n"
             "%s;1980-01-01;Vrouw;GM0344;baan;2024-06-01;;;;N;0;true;2022-01-01;\n"
             /* 4 b: bijstand ended in the period to work (from the row), "*" sex, AO from "Y" */
             "%s;1975-01-01;Onbekend;GM0344;PW;2020-01-01;;2025-05-31;werk;false;Y;1;;\n"
             /* 5 c: "WWB" defaults to traject (not counted); flags all no (empty and FALSE) */
             "%s;1990-01-01;Man;GM0344;WWB;2024-01-01;;;;;FALSE;n;;\n"
             /* 6 d: an indicator value that is not J/N */
             "%s;1990-01-01;Man;GM0344;PW;2024-01-01;;;;misschien;N;N;;\n"
             /* 7 e: the indicator spell's own start before age 15 */
             "%s;2000-01-01;Man;GM0344;baan;2024-01-01;;;;N;N;J;2010-01-01;\n"
             /* 8 e: its own end before its start */
             "%s;2000-01-01;Man;GM0344;baan;2024-01-01;;;;N;N;J;2022-01-01;2021-01-01\n",
             a, a, b, c, d, e, e);
    rejects rj = {0, ""};
    w->p.on_reject = collect;
    w->p.reject_arg = &rj;
    if (run(w, buf) != 0)
        fail_msg("ingest: %s", mp_error_get());
    w->p.on_reject = NULL;
    mp_ingest_report *r = &w->rep;
    assert_int_equal(r->records, 7);
    assert_int_equal(r->accepted, 4);
    assert_int_equal(r->per_reason[MP_REJ_INDICATOR], 1);
    assert_int_equal(r->lines[MP_REJ_INDICATOR][0], 6);
    assert_int_equal(r->per_reason[MP_REJ_DATE_RANGE], 1);
    assert_int_equal(r->lines[MP_REJ_DATE_RANGE][0], 7);
    assert_int_equal(r->per_reason[MP_REJ_DATE_ORDER], 1);
    /* kept: a's bijstand once (the jobs are not read by this catalogue); b's bijstand and its
     * J/N bijstand with the row's dates (no end reason: not the same spell) */
    assert_int_equal(r->kept_spells, 3);
    /* uitstroom (b, sex X) 1; stand (a, statushouder) 1 */
    static const int64_t expect[NCELLS] = {1, 0, 0, 1, 1, 1, 0, 0};
    assert_memory_equal(w->counts, expect, sizeof expect);
    /* the mapping check */
    const mp_field_sources *st = &r->sources[MP_F_START];
    assert_int_equal(st->nsources, 2);
    assert_string_equal(st->column[0], "Start");
    assert_string_equal(st->column[1], "Start oud");
    assert_int_equal(st->rows[0], 6);
    assert_int_equal(st->rows[1], 1);
    assert_int_equal(st->empty, 0);
    assert_int_equal(r->sources[MP_F_FLAGS].nsources, 0);
    assert_int_equal(r->sources[MP_F_FLAGS].empty, 7);
    assert_int_equal(r->nindicators, 3);
    assert_string_equal(r->indicators[2].column, "Bijstand J/N");
    assert_string_equal(r->indicators[2].target, "bijstand");
    assert_int_equal(r->indicators[0].yes, 1); /* "Ja" on line 2 only */
    assert_int_equal(r->indicators[2].yes, 5);
    /* the row report: line, column, reason, value */
    assert_int_equal(rj.n, 3);
    assert_non_null(strstr(rj.text, "6|SH|indicator_unknown|misschien\n"));
    assert_non_null(strstr(rj.text, "7|Bijstand vanaf|date_range|2010-01-01\n"));
    assert_non_null(strstr(rj.text, "8|Bijstand vanaf|date_order|2022-01-01\n"));
    no_bsn_leak(w, a);
    w->p.mapping = NULL;
    mp_mapping_free(m);

    /* Indicator mappings that are refused. */
    static const char *const bad[] = {
        "{\"mijlpaal_mapping\":1,\"indicators\":{}}",
        "{\"mijlpaal_mapping\":1,\"indicators\":[{\"column\":\"X\"}]}",
        "{\"mijlpaal_mapping\":1,\"indicators\":[{\"column\":\"X\",\"flag\":\"sh\"}]}",
        "{\"mijlpaal_mapping\":1,\"indicators\":[{\"column\":\"X\",\"spell_type\":\"ww\","
        "\"flag\":\"partner\"}]}",
        "{\"mijlpaal_mapping\":1,\"indicators\":[{\"column\":\"X\",\"flag\":\"partner\","
        "\"start_date\":\"S\"}]}",
        "{\"mijlpaal_mapping\":1,\"indicators\":[{\"column\":\"X\",\"spell_type\":\"ww\","
        "\"end_date\":\"E\"}]}",
        "{\"mijlpaal_mapping\":1,\"columns\":{\"bsn\":[]}}",
        "{\"mijlpaal_mapping\":1,\"columns\":{\"bsn\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}}",
        "{\"mijlpaal_mapping\":1,\"columns\":{\"bsn\":[1]}}",
    };
    char *mpath = tu_path(w->dir, "bad.json");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unlink(mpath);
        tu_write(mpath, bad[i], strlen(bad[i]));
        m = NULL;
        if (mp_mapping_load(&m, mpath) == 0) {
            mp_mapping_free(m);
            fail_msg("mapping accepted: %s", bad[i]);
        }
    }
    free(mpath);
}

/* Every excluded row reaches the report with a value that never holds a BSN or any run of 8
 * digits; the BSN itself is described. */
static void test_reject_values_hold_no_bsn(void **state)
{
    world *w = *state;
    char a[10], buf[2048];
    make_bsn(a, 31);
    char bad[10];
    memcpy(bad, a, 10);
    bad[8] = (char)('0' + (bad[8] - '0' + 1) % 10); /* fails the elfproef */
    snprintf(buf, sizeof buf,
             "%s%s;1980-01-01;V;GM0344;bijstand;2024-01-01;;;\n" /* 2 elfproef */
             "%s;1980-01-01;V;GM0344;%s;2024-01-01;;;\n"         /* 3 a BSN as spell type */
             "%s;1980-01-01;V;12345678;bijstand;2024-01-01;;;\n" /* 4 8 digits as gemeente */
             "%s;1980-01-01;V;GM0344;bijstand\n"                 /* 5 columns */
             "%s;1980-01-01;V;GM0344;bij\"stand;2024-01-01;;;\n" /* 6 quoting */
             "x%s;1980-01-01;V;GM0344;bijstand;2024-01-01;;;\n", /* 7 format */
             header, bad, a, a, a, a, a, a);
    rejects rj = {0, ""};
    w->p.on_reject = collect;
    w->p.reject_arg = &rj;
    assert_int_equal(run(w, buf), 0);
    w->p.on_reject = NULL;
    assert_int_equal(rj.n, 6);
    assert_null(strstr(rj.text, a));
    assert_null(strstr(rj.text, bad));
    assert_null(strstr(rj.text, a + 1));
    assert_null(strstr(rj.text, "12345678"));
    assert_non_null(strstr(rj.text, "2|bsn|bsn_elfproef|<bsn: 9 digits, fails the elfproef>\n"));
    assert_non_null(strstr(rj.text, "3|spell_type|spell_type_unknown|<9 characters withheld"));
    assert_non_null(strstr(rj.text, "4|municipality|municipality_unknown|<8 characters withheld"));
    assert_non_null(strstr(rj.text, "5||columns|<5 fields, the header has 9>\n"));
    assert_non_null(strstr(rj.text, "6||quoting|<a quote out of place"));
    assert_non_null(strstr(rj.text, "7|bsn|bsn_format|<bsn: 10 characters, not 8 or 9 digits>\n"));
}

/* The guards' thresholds, at and just past each boundary. */
static void test_guards(void **state)
{
    (void)state;
    mp_ingest_report r;
    mp_guard_params g = {
        {0}, "org", mp_date_from_civil(2026, 6, 30), mp_date_from_civil(2026, 8, 1)};
    memset(&r, 0, sizeof r);
    r.records = 1000;
    r.accepted = 800;
    r.excluded = 200; /* exactly 20% */
    r.own_rows = 400; /* exactly half */
    r.last_date = g.period_end - MP_GUARD_STALE_DAYS;
    assert_int_equal(mp_guard_check(&r, &g), 0);
    r.excluded = 201;
    r.records = 1001;
    assert_true(mp_guard_fails(&r, &g, MP_GUARD_EXCLUSIONS));
    assert_int_equal(mp_guard_check(&r, &g), -1);
    assert_non_null(strstr(mp_error_get(), "--accept-exclusions"));
    g.accept[MP_GUARD_EXCLUSIONS] = 1;
    assert_int_equal(mp_guard_check(&r, &g), 0);
    r.own_rows = 399;
    assert_int_equal(mp_guard_check(&r, &g), -1);
    assert_non_null(strstr(mp_error_get(), "gemeenten of org"));
    g.org = NULL; /* check without --org: not judged */
    assert_int_equal(mp_guard_check(&r, &g), 0);
    r.last_date--;
    assert_int_equal(mp_guard_check(&r, &g), -1);
    assert_non_null(strstr(mp_error_get(), "before 2026-06-30 (the end of the period)"));
    g.today = mp_date_from_civil(2026, 5, 1); /* the period still runs: today is the yardstick */
    r.last_date = g.today - MP_GUARD_STALE_DAYS;
    assert_int_equal(mp_guard_check(&r, &g), 0);
    r.last_date--;
    assert_int_equal(mp_guard_check(&r, &g), -1);
    assert_non_null(strstr(mp_error_get(), "(today)"));
    r.records = MP_GUARD_MIN_ROWS - 1; /* too small to refuse */
    assert_int_equal(mp_guard_check(&r, &g), 0);
    assert_true(mp_guard_fails(&r, &g, MP_GUARD_STALE));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_distinct_persons_and_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leading_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_persons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapping_values_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minimal_and_excel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indicators_sources_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_values_hold_no_bsn, setup, teardown),
        cmocka_unit_test(test_guards),
        cmocka_unit_test_setup_teardown(test_prf_key_does_not_change_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
