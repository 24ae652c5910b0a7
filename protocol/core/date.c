/*
 * date.c - civil-date arithmetic (days-from-civil, the era-based algorithm popularised by
 * Howard Hinnant's date library; written here from its description).
 */
#include "date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int32_t mp_date_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

/* The era-based inverse, for any int32 day number (in 64-bit arithmetic: near INT32_MAX the
 * shift by 719468 days would overflow an int). */
static void to_civil_era(int32_t z0, int *y, int *m, int *d)
{
    int64_t z = (int64_t)z0 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)((int64_t)yoe + era * 400);
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

/*
 * The counting of a catalogue turns day numbers into dates several times per person, so this
 * is the Neri-Schneider form (Euclidean affine functions, 2021): the same civil calendar with
 * the divisions replaced by multiplications and shifts, in unsigned 32-bit arithmetic. The
 * day number is first moved by 82 cycles of 400 years so that it is positive; that covers the
 * years -32800 to about 2.9 million, and anything outside goes to the era-based form.
 * test_bsn_date checks both against each other over every day from 1800 to 3000 and at the
 * ends of the range.
 */
void mp_date_to_civil(int32_t z, int *y, int *m, int *d)
{
    enum { SHIFT = 82 };
    const uint32_t k = 719468u + 146097u * SHIFT, l = 400u * SHIFT;
    if (z < -12000000 || z > 1000000000) {
        to_civil_era(z, y, m, d);
        return;
    }
    uint32_t n = (uint32_t)((int64_t)z + k);
    uint32_t n1 = 4 * n + 3;
    uint32_t c = n1 / 146097, nc = n1 % 146097 / 4;
    uint32_t n2 = 4 * nc + 3;
    uint64_t p2 = (uint64_t)2939745 * n2;
    uint32_t zz = (uint32_t)(p2 >> 32), ny = (uint32_t)p2 / 2939745 / 4;
    uint32_t n3 = 2141 * ny + 197913;
    uint32_t mm = n3 >> 16, dd = (n3 & 0xFFFF) / 2141;
    uint32_t j = ny >= 306;
    *y = (int)((int64_t)(100 * c + zz) - l + j);
    *m = (int)(j ? mm - 12 : mm);
    *d = (int)(dd + 1);
}

/* For the tests: the era-based form, which mp_date_to_civil must agree with. */
void mp_date_to_civil_reference(int32_t z, int *y, int *m, int *d)
{
    to_civil_era(z, y, m, d);
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

int mp_date_valid(int y, int m, int d)
{
    return y >= 1800 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int mp_date_parse_iso(const char *s, int32_t *days)
{
    int y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d) || !mp_date_valid(y, m, d))
        return -1;
    *days = mp_date_from_civil(y, m, d);
    return 0;
}

void mp_date_format(char out[11], int32_t days)
{
    int y, m, d;
    mp_date_to_civil(days, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

int32_t mp_date_add_months(int32_t days, int months)
{
    /* A catalogue asks for the same few (period date, lag) pairs for every person and spell it
     * counts: a small memo per thread saves the round trip through the civil calendar. */
    static _Thread_local struct {
        int32_t days, out;
        int months, valid;
    } memo[8];
    unsigned h = ((uint32_t)days * 2654435761u ^ (uint32_t)months * 40503u) >> 29;
    if (memo[h].valid && memo[h].days == days && memo[h].months == months)
        return memo[h].out;
    int y, m, d;
    mp_date_to_civil(days, &y, &m, &d);
    int idx = y * 12 + (m - 1) + months;
    y = idx / 12;
    m = idx % 12 + 1;
    if (d > days_in_month(y, m))
        d = days_in_month(y, m);
    int32_t out = mp_date_from_civil(y, m, d);
    memo[h].days = days;
    memo[h].months = months;
    memo[h].out = out;
    memo[h].valid = 1;
    return out;
}

int mp_date_age(int32_t birth, int32_t on)
{
    int by, bm, bd, y, m, d;
    mp_date_to_civil(birth, &by, &bm, &bd);
    mp_date_to_civil(on, &y, &m, &d);
    int age = y - by;
    if (m < bm || (m == bm && d < bd))
        age--;
    return age;
}

int mp_time_parse(const char *s, int64_t *t)
{
    int y, mo, d, h, mi, se;
    if (s == NULL || strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':' || s[19] != 'Z' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &se) || !mp_date_valid(y, mo, d) || h > 23 || mi > 59 || se > 59)
        return mp_error_set("invalid timestamp (expected YYYY-MM-DDTHH:MM:SSZ)");
    *t = (int64_t)mp_date_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

void mp_time_format(char out[21], int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t rem = t - days * 86400;
    int y, m, d;
    mp_date_to_civil((int32_t)days, &y, &m, &d);
    snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u, (unsigned)(rem / 3600) % 100u, (unsigned)(rem / 60 % 60),
             (unsigned)(rem % 60));
}

int mp_time_now(int64_t *t)
{
    const char *fake = getenv("MIJLPAAL_NOW");
    if (fake != NULL && *fake != '\0') {
        if (mp_time_parse(fake, t) != 0)
            return mp_error_prefix("MIJLPAAL_NOW: ");
        return 0;
    }
    *t = (int64_t)time(NULL);
    return 0;
}
