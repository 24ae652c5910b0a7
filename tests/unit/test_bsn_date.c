/*
 * test_bsn_date.c - the BSN elfproef (protocol/ingest/bsn.c) and calendar arithmetic
 * (protocol/core/date.c).
 *
 * The day numbers are checked against a counter that simply walks the calendar one day at a
 * time from a known anchor (1900-01-01 is day -25567, as `date -u -d 1900-01-01 +%s` / 86400
 * says), so the era-based algorithm is compared with something that does not share its maths.
 */
#include "testutil.h"

#include "bsn.h"
#include "date.h"

/* An independent elfproef: weights 9..2 and -1, sum divisible by 11, not all zero. */
static int elfproef_ref(const char d[9])
{
    long sum = 0;
    int nonzero = 0;
    for (int i = 0; i < 9; i++) {
        int w = i < 8 ? 9 - i : -1;
        sum += w * (d[i] - '0');
        nonzero |= d[i] != '0';
    }
    return nonzero && ((sum % 11) + 11) % 11 == 0;
}

static void test_elfproef_known(void **state)
{
    (void)state;
    assert_int_equal(mp_bsn_elfproef("111222333"), 1);
    assert_int_equal(mp_bsn_elfproef("123456782"), 1);
    assert_int_equal(mp_bsn_elfproef("123456789"), 0);
    assert_int_equal(mp_bsn_elfproef("111222334"), 0);
    assert_int_equal(mp_bsn_elfproef("000000000"), 0); /* sum 0 but all zero */
    assert_int_equal(mp_bsn_elfproef("012345672"), 1);
    /* Changing any single digit of a valid BSN breaks the 11-test (weights 9..2, -1 are all
     * nonzero modulo 11). */
    char d[10] = "123456782";
    for (int i = 0; i < 9; i++) {
        char orig = d[i];
        for (char c = '0'; c <= '9'; c++) {
            if (c == orig)
                continue;
            d[i] = c;
            assert_int_equal(mp_bsn_elfproef(d), 0);
        }
        d[i] = orig;
    }
}

static void test_elfproef_matches_reference(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int valid = 0;
    for (int n = 0; n < 200000; n++) {
        char d[10];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        snprintf(d, sizeof d, "%09llu", (unsigned long long)(x % 1000000000ULL));
        int r = elfproef_ref(d);
        valid += r;
        assert_int_equal(mp_bsn_elfproef(d), r);
    }
    /* About 1 in 11 random numbers pass. */
    assert_in_range(valid, 200000 / 11 - 1000, 200000 / 11 + 1000);
}

static void test_bsn_normalise(void **state)
{
    char out[10];
    (void)state;
    assert_int_equal(mp_bsn_normalise(out, "111222333", 9), MP_BSN_OK);
    assert_string_equal(out, "111222333");
    assert_int_equal(mp_bsn_normalise(out, "  123456782\t", 12), MP_BSN_OK);
    assert_string_equal(out, "123456782");
    /* 8 digits: Excel dropped the leading zero. */
    assert_int_equal(mp_bsn_normalise(out, "12345672", 8), MP_BSN_OK);
    assert_string_equal(out, "012345672");
    /* Not NUL-terminated input: only len bytes count. */
    assert_int_equal(mp_bsn_normalise(out, "111222333999", 9), MP_BSN_OK);
    assert_string_equal(out, "111222333");

    static const char zero[10] = {0};
    memset(out, 'Z', sizeof out);
    assert_int_equal(mp_bsn_normalise(out, "123456789", 9), MP_BSN_ELFPROEF);
    assert_memory_equal(out, zero, 10); /* wiped on failure */
    memset(out, 'Z', sizeof out);
    assert_int_equal(mp_bsn_normalise(out, "12345678a", 9), MP_BSN_FORMAT);
    assert_memory_equal(out, zero, 10);
    assert_int_equal(mp_bsn_normalise(out, "1234567", 7), MP_BSN_FORMAT);
    assert_int_equal(mp_bsn_normalise(out, "1112223330", 10), MP_BSN_FORMAT);
    assert_int_equal(mp_bsn_normalise(out, "", 0), MP_BSN_FORMAT);
    assert_int_equal(mp_bsn_normalise(out, "         ", 9), MP_BSN_FORMAT);
    assert_int_equal(mp_bsn_normalise(out, "111-22-333", 10), MP_BSN_FORMAT);
    assert_int_equal(mp_bsn_normalise(out, "1112 2333", 9), MP_BSN_FORMAT);
    assert_int_equal(mp_bsn_normalise(out, "+11222333", 9), MP_BSN_FORMAT);
    assert_int_equal(mp_bsn_normalise(out, "00000000", 8), MP_BSN_ELFPROEF);
    assert_int_equal(mp_bsn_normalise(out, "000000000", 9), MP_BSN_ELFPROEF);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void test_civil_round_trip_every_day(void **state)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t expect = -25567; /* 1900-01-01 */
    (void)state;
    for (int y = 1900; y <= 2100; y++)
        for (int m = 1; m <= 12; m++) {
            int n = mdays[m - 1] + (m == 2 && is_leap(y));
            for (int d = 1; d <= n; d++) {
                int yy, mm, dd;
                assert_int_equal(mp_date_valid(y, m, d), 1);
                assert_int_equal(mp_date_from_civil(y, m, d), expect);
                mp_date_to_civil(expect, &yy, &mm, &dd);
                assert_int_equal(yy, y);
                assert_int_equal(mm, m);
                assert_int_equal(dd, d);
                expect++;
            }
            assert_int_equal(mp_date_valid(y, m, n + 1), 0);
        }
    /* 2101-01-01: 201 years, 49 leap years (1900 and 2100 are not). */
    assert_int_equal(expect, -25567 + 201 * 365 + 49);
    assert_int_equal(mp_date_from_civil(1970, 1, 1), 0);
    assert_int_equal(mp_date_from_civil(2000, 1, 1), 10957);
}

/* The fast day -> date form agrees with the era-based reference on every day from 1800 to
 * 3000, at the ends of its own range and beyond (where it hands over to the reference). */
static void test_to_civil_matches_reference(void **state)
{
    (void)state;
    int32_t lo = mp_date_from_civil(1800, 1, 1), hi = mp_date_from_civil(3000, 12, 31);
    static const int32_t edges[] = {-12000001, -12000000,  -11999999,  -1,        0,        1,
                                    999999999, 1000000000, 1000000001, INT32_MAX, INT32_MIN};
    int y, m, d, ry, rm, rd;
    for (int32_t z = lo; z <= hi; z++) {
        mp_date_to_civil(z, &y, &m, &d);
        mp_date_to_civil_reference(z, &ry, &rm, &rd);
        if (y != ry || m != rm || d != rd)
            fail_msg("day %d: %d-%d-%d, reference %d-%d-%d", (int)z, y, m, d, ry, rm, rd);
    }
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        mp_date_to_civil(edges[i], &y, &m, &d);
        mp_date_to_civil_reference(edges[i], &ry, &rm, &rd);
        assert_int_equal(y, ry);
        assert_int_equal(m, rm);
        assert_int_equal(d, rd);
    }
}

static void test_leap_years(void **state)
{
    int32_t d;
    (void)state;
    assert_int_equal(mp_date_valid(2024, 2, 29), 1);
    assert_int_equal(mp_date_valid(2023, 2, 29), 0);
    assert_int_equal(mp_date_valid(1900, 2, 29), 0);
    assert_int_equal(mp_date_valid(2000, 2, 29), 1);
    assert_int_equal(mp_date_valid(2100, 2, 29), 0);
    assert_int_equal(mp_date_parse_iso("2024-02-29", &d), 0);
    assert_int_equal(d, mp_date_from_civil(2024, 3, 1) - 1);
    assert_int_equal(mp_date_parse_iso("2023-02-29", &d), -1);
    assert_int_equal(mp_date_parse_iso("1900-02-29", &d), -1);
    assert_int_equal(mp_date_parse_iso("2000-02-29", &d), 0);
    assert_int_equal(d, 11016);
}

static void test_parse_iso_and_format(void **state)
{
    int32_t d;
    char out[11];
    (void)state;
    assert_int_equal(mp_date_parse_iso("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(mp_date_parse_iso("1969-12-31", &d), 0);
    assert_int_equal(d, -1);
    mp_date_format(out, 0);
    assert_string_equal(out, "1970-01-01");
    mp_date_format(out, -25567);
    assert_string_equal(out, "1900-01-01");
    mp_date_format(out, mp_date_from_civil(2024, 2, 29));
    assert_string_equal(out, "2024-02-29");

    static const char *const bad[] = {
        "2024-2-29",   "2024-02-9",  "24-02-29",   "2024/02/29", "2024-02-29x", " 2024-02-29",
        "2024-02-29 ", "2024-13-01", "2024-00-10", "2024-01-00", "2024-04-31",  "",
        "abcd-ef-gh",  "2024-0a-01", "+024-01-01", "1799-12-31", "3000-01-01",  "2024-01-01T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d = 12345;
        assert_int_equal(mp_date_parse_iso(bad[i], &d), -1);
        assert_int_equal(d, 12345); /* untouched on failure */
    }
}

static int32_t civ(int y, int m, int d)
{
    return mp_date_from_civil(y, m, d);
}

static void test_add_months(void **state)
{
    (void)state;
    assert_int_equal(mp_date_add_months(civ(2024, 1, 31), 1), civ(2024, 2, 29));
    assert_int_equal(mp_date_add_months(civ(2023, 1, 31), 1), civ(2023, 2, 28));
    assert_int_equal(mp_date_add_months(civ(2024, 3, 31), -1), civ(2024, 2, 29));
    assert_int_equal(mp_date_add_months(civ(2024, 5, 31), 1), civ(2024, 6, 30));
    assert_int_equal(mp_date_add_months(civ(2024, 12, 15), 1), civ(2025, 1, 15));
    assert_int_equal(mp_date_add_months(civ(2025, 1, 15), -1), civ(2024, 12, 15));
    assert_int_equal(mp_date_add_months(civ(2025, 1, 1), -6), civ(2024, 7, 1));
    assert_int_equal(mp_date_add_months(civ(2025, 1, 1), -13), civ(2023, 12, 1));
    assert_int_equal(mp_date_add_months(civ(2025, 1, 1), 24), civ(2027, 1, 1));
    assert_int_equal(mp_date_add_months(civ(2024, 2, 29), 12), civ(2025, 2, 28));
    assert_int_equal(mp_date_add_months(civ(2024, 2, 29), 48), civ(2028, 2, 29));
    assert_int_equal(mp_date_add_months(civ(2024, 8, 17), 0), civ(2024, 8, 17));
}

static void test_age(void **state)
{
    (void)state;
    int32_t b = civ(1990, 6, 15);
    assert_int_equal(mp_date_age(b, civ(2025, 6, 14)), 34);
    assert_int_equal(mp_date_age(b, civ(2025, 6, 15)), 35);
    assert_int_equal(mp_date_age(b, civ(2025, 6, 16)), 35);
    assert_int_equal(mp_date_age(b, civ(2025, 5, 31)), 34);
    assert_int_equal(mp_date_age(b, b), 0);
    /* Born on 29 February. */
    int32_t l = civ(2000, 2, 29);
    assert_int_equal(mp_date_age(l, civ(2024, 2, 28)), 23);
    assert_int_equal(mp_date_age(l, civ(2024, 2, 29)), 24);
    assert_int_equal(mp_date_age(l, civ(2023, 2, 28)), 22);
    assert_int_equal(mp_date_age(l, civ(2023, 3, 1)), 23);
    /* New Year's Eve vs New Year. */
    assert_int_equal(mp_date_age(civ(2000, 1, 1), civ(2014, 12, 31)), 14);
    assert_int_equal(mp_date_age(civ(2000, 1, 1), civ(2015, 1, 1)), 15);
}

static void test_time_parse_format(void **state)
{
    int64_t t;
    char out[21];
    (void)state;
    /* Known answers (from `date -u -d ... +%s`). */
    assert_int_equal(mp_time_parse("2024-02-29T12:34:56Z", &t), 0);
    assert_int_equal(t, 1709210096);
    assert_int_equal(mp_time_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(mp_time_parse("1900-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, -2208988800LL);
    assert_int_equal(mp_time_parse("2100-12-31T23:59:59Z", &t), 0);
    assert_int_equal(t, 4133980799LL);

    mp_time_format(out, 1709210096);
    assert_string_equal(out, "2024-02-29T12:34:56Z");
    mp_time_format(out, -1);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    mp_time_format(out, -2208988800LL);
    assert_string_equal(out, "1900-01-01T00:00:00Z");

    /* Round trip over a spread of instants, negative ones included. */
    for (int64_t x = -2208988800LL; x < 4133980800LL; x += 7919 * 3607 + 13) {
        int64_t back;
        mp_time_format(out, x);
        assert_int_equal(mp_time_parse(out, &back), 0);
        assert_int_equal(back, x);
    }

    static const char *const bad[] = {"2024-02-30T00:00:00Z",
                                      "2024-01-01T24:00:00Z",
                                      "2024-01-01T00:60:00Z",
                                      "2024-01-01T00:00:60Z",
                                      "2024-01-01 00:00:00Z",
                                      "2024-01-01T00:00:00",
                                      "2024-01-01T00:00:00z",
                                      "2024-01-01T00:00:00+01:00",
                                      "2024-01-01T00:00:00ZZ",
                                      "2024-01-01T0:00:00Z",
                                      "2024-01-01",
                                      "",
                                      "2024-01-01T00:00:0aZ",
                                      "2024-1-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mp_error_clear();
        assert_int_equal(mp_time_parse(bad[i], &t), -1);
        assert_true(strlen(mp_error_get()) > 0);
    }
    assert_int_equal(mp_time_parse(NULL, &t), -1);
}

static void test_time_now_override(void **state)
{
    int64_t t;
    (void)state;
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-03-01T08:00:00Z", 1), 0);
    assert_int_equal(mp_time_now(&t), 0);
    assert_int_equal(t, (int64_t)civ(2026, 3, 1) * 86400 + 8 * 3600);
    assert_int_equal(setenv("MIJLPAAL_NOW", "yesterday", 1), 0);
    assert_int_equal(mp_time_now(&t), -1);
    assert_non_null(strstr(mp_error_get(), "MIJLPAAL_NOW"));
    assert_int_equal(unsetenv("MIJLPAAL_NOW"), 0);
    assert_int_equal(mp_time_now(&t), 0);
    assert_true(t > 1700000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elfproef_known),
        cmocka_unit_test(test_elfproef_matches_reference),
        cmocka_unit_test(test_bsn_normalise),
        cmocka_unit_test(test_civil_round_trip_every_day),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_parse_iso_and_format),
        cmocka_unit_test(test_add_months),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_time_parse_format),
        cmocka_unit_test(test_time_now_override),
        cmocka_unit_test(test_to_civil_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
