/*
 * date.h - calendar dates as day numbers, and timestamps.
 *
 * A date is an int32 count of days since 1970-01-01 in the proleptic Gregorian calendar, so
 * that comparisons and durations are integer arithmetic. Timestamps are int64 seconds since
 * the epoch, UTC, written as "YYYY-MM-DDTHH:MM:SSZ".
 *
 * The wall clock can be overridden with the environment variable MIJLPAAL_NOW (a timestamp in
 * the form above); the tests use it to play a late submission without waiting for a deadline.
 */
#ifndef MP_DATE_H
#define MP_DATE_H

#include <stdint.h>

#include "error.h"

#define MP_DATE_OPEN INT32_MAX /* an open-ended spell's end date */

/* Days since 1970-01-01 of a valid civil date; the caller has checked the ranges. */
int32_t mp_date_from_civil(int y, int m, int d);
void mp_date_to_civil(int32_t days, int *y, int *m, int *d);
void mp_date_to_civil_reference(int32_t days, int *y, int *m, int *d); /* tests only */

/* 1 when y-m-d is a real date (no 30 February), 0 otherwise. */
int mp_date_valid(int y, int m, int d);

/* Parse "YYYY-MM-DD" strictly; -1 on anything else (no error text set: callers name the field
 * and line). */
int mp_date_parse_iso(const char *s, int32_t *days);

/* Format as "YYYY-MM-DD" into out (11 bytes). */
void mp_date_format(char out[11], int32_t days);

/* Add months, clamping the day to the end of the target month (31 Jan + 1 month = 28/29 Feb). */
int32_t mp_date_add_months(int32_t days, int months);

/* Whole years between birth and a date (age on that date). */
int mp_date_age(int32_t birth, int32_t on);

/* "YYYY-MM-DDTHH:MM:SSZ" <-> seconds. */
MP_WUR int mp_time_parse(const char *s, int64_t *t);
void mp_time_format(char out[21], int64_t t);

/* Now (or MIJLPAAL_NOW when set and valid; -1 with a reason when it is set but invalid). */
MP_WUR int mp_time_now(int64_t *t);

#endif
