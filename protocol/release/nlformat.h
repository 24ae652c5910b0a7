/*
 * nlformat.h - how the Dutch report writes numbers, dates, periods and reasons.
 *
 * Every rule here is a pure function of its arguments, in integer code where it matters, so
 * that every machine renders the same bytes (the auditor compares report.html byte for byte):
 *   - integers with a point between thousands: 0, 999, 1.000, 12.345, -1.234;
 *   - decimals with a comma: "12345.6" -> "12.345,6"; a negative zero ("-0", "-0.0") is
 *     written without its sign;
 *   - dates as "3 juli 2026"; timestamps in Europe/Amsterdam, by the EU rule (summer time from
 *     01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October, UTC+2;
 *     UTC+1 otherwise), implemented here rather than read from the machine's TZ database;
 *   - periods as "1e halfjaar 2026", "2e kwartaal 2026", "juli 2026", "2026" for whole
 *     calendar half-years, quarters, months and years, otherwise "1 maart tot en met
 *     15 juni 2026";
 *   - the Dutch text of a suppression reason;
 *   - HTML text escaping (&, <, >, ", ').
 *
 * Every out buffer is NUL-terminated and truncated at cap; MP_NL_CAP is always enough.
 */
#ifndef MP_NLFORMAT_H
#define MP_NLFORMAT_H

#include <stddef.h>
#include <stdint.h>

#define MP_NL_CAP 96

void mp_nl_int(char *out, size_t cap, long long v);

/* A decimal string ("-12.5", "3", "") in Dutch; anything that is not [-]digits[.digits] is
 * copied unchanged. */
void mp_nl_decimal(char *out, size_t cap, const char *dec);

/* A double rounded to `decimals` (0..3) places, in Dutch. */
void mp_nl_double(char *out, size_t cap, double v, int decimals);

void mp_nl_date(char *out, size_t cap, int32_t days);

/* Seconds east of UTC in Europe/Amsterdam at the UTC instant t (3600 or 7200). */
int mp_nl_amsterdam_offset(int64_t t);

/* "3 juli 2026 om 14:05" in Europe/Amsterdam. */
void mp_nl_time(char *out, size_t cap, int64_t t);

/* The period [start, end] as a reader says it, and a short label for a chart axis
 * ("1e hj 2026"; other periods: the start date "1-3-2026"). */
void mp_nl_period(char *out, size_t cap, int32_t start, int32_t end);
void mp_nl_period_short(char *out, size_t cap, int32_t start, int32_t end);

/* Why a figure is not shown, for a reason code of the release ("small_denominator", ...). */
const char *mp_nl_suppressed(const char *reason);

/* The HTML entity for a character that must be escaped in element content and attribute
 * values (&, <, >, ", '), NULL for any other. */
const char *mp_nl_html_entity(char c);

/* Escape text for HTML; stops before an entity that would not fit. Returns the bytes
 * written (excluding the NUL). */
size_t mp_nl_html(char *out, size_t cap, const char *text);

#endif
