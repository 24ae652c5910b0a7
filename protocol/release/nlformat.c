/*
 * nlformat.c - Dutch number, date and period formatting for the report (see nlformat.h).
 */
#include "nlformat.h"

#include <stdio.h>
#include <string.h>

#include "date.h"

static const char *const months[12] = {"januari",   "februari", "maart",    "april",
                                       "mei",       "juni",     "juli",     "augustus",
                                       "september", "oktober",  "november", "december"};

/* Digits of an unsigned magnitude with a point every three from the right. */
static void grouped(char *out, size_t cap, int negative, const char *digits, size_t n)
{
    size_t o = 0;
    if (cap == 0)
        return;
    if (negative && o + 1 < cap)
        out[o++] = '-';
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            out[o++] = '.';
            if (o + 1 >= cap)
                break;
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void mp_nl_int(char *out, size_t cap, long long v)
{
    char d[24];
    /* The magnitude as unsigned, so that LLONG_MIN has one too. */
    unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int n = snprintf(d, sizeof d, "%llu", m);
    grouped(out, cap, v < 0, d, (size_t)n);
}

void mp_nl_decimal(char *out, size_t cap, const char *dec)
{
    const char *p = dec, *dot;
    size_t ni, nf = 0;
    int neg = 0, zero = 1;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    ni = strspn(p, "0123456789");
    dot = p + ni;
    if (*dot == '.')
        nf = strspn(dot + 1, "0123456789");
    if (ni == 0 || (*dot != '\0' && (*dot != '.' || nf == 0 || dot[1 + nf] != '\0'))) {
        snprintf(out, cap, "%s", dec);
        return;
    }
    for (size_t i = 0; i < ni; i++)
        zero &= p[i] == '0';
    for (size_t i = 0; i < nf; i++)
        zero &= dot[1 + i] == '0';
    /* Leading zeros of the integer part go, one stays. */
    while (ni > 1 && *p == '0') {
        p++;
        ni--;
    }
    grouped(out, cap, neg && !zero, p, ni);
    if (nf > 0) {
        size_t o = strlen(out);
        snprintf(out + o, cap > o ? cap - o : 0, ",%.*s", (int)nf, dot + 1);
    }
}

void mp_nl_double(char *out, size_t cap, double v, int decimals)
{
    char d[64];
    if (decimals < 0)
        decimals = 0;
    if (decimals > 3)
        decimals = 3;
    if (!(v == v) || v > 1e15 || v < -1e15) {
        snprintf(out, cap, "%s", "?");
        return;
    }
    snprintf(d, sizeof d, "%.*f", decimals, v);
    mp_nl_decimal(out, cap, d);
}

void mp_nl_date(char *out, size_t cap, int32_t days)
{
    int y, m, d;
    mp_date_to_civil(days, &y, &m, &d);
    snprintf(out, cap, "%d %s %d", d, months[m - 1], y);
}

/* Day number of the last Sunday of month m of year y (1970-01-01 was a Thursday). */
static int32_t last_sunday(int y, int m)
{
    int32_t last = mp_date_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
    int32_t wd = ((last % 7) + 7 + 4) % 7; /* 0 = Sunday */
    return last - wd;
}

int mp_nl_amsterdam_offset(int64_t t)
{
    int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int y, m, d;
    mp_date_to_civil((int32_t)day, &y, &m, &d);
    int64_t start = (int64_t)last_sunday(y, 3) * 86400 + 3600;
    int64_t end = (int64_t)last_sunday(y, 10) * 86400 + 3600;
    return t >= start && t < end ? 7200 : 3600;
}

void mp_nl_time(char *out, size_t cap, int64_t t)
{
    int64_t local = t + mp_nl_amsterdam_offset(t);
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sec = local - day * 86400;
    char date[MP_NL_CAP];
    mp_nl_date(date, sizeof date, (int32_t)day);
    snprintf(out, cap, "%s om %02d:%02d", date, (int)(sec / 3600), (int)(sec / 60 % 60));
}

/* Whole calendar months of one year: the first month and how many, or 0. */
static int whole_months(int32_t start, int32_t end, int *year, int *first)
{
    int y1, m1, d1, y2, m2, d2;
    mp_date_to_civil(start, &y1, &m1, &d1);
    mp_date_to_civil(end + 1, &y2, &m2, &d2);
    if (d1 != 1 || d2 != 1 || end < start)
        return 0;
    int n = (y2 - y1) * 12 + (m2 - m1);
    if (y2 != y1 && !(y2 == y1 + 1 && m2 == 1))
        return 0;
    *year = y1;
    *first = m1;
    return n;
}

void mp_nl_period(char *out, size_t cap, int32_t start, int32_t end)
{
    int y, m, n = whole_months(start, end, &y, &m);
    char a[MP_NL_CAP], b[MP_NL_CAP];
    if (n == 12)
        snprintf(out, cap, "%d", y);
    else if (n == 6 && (m == 1 || m == 7))
        snprintf(out, cap, "%de halfjaar %d", m == 1 ? 1 : 2, y);
    else if (n == 3 && m % 3 == 1)
        snprintf(out, cap, "%de kwartaal %d", (m + 2) / 3, y);
    else if (n == 1)
        snprintf(out, cap, "%s %d", months[m - 1], y);
    else {
        mp_nl_date(a, sizeof a, start);
        mp_nl_date(b, sizeof b, end);
        snprintf(out, cap, "%s tot en met %s", a, b);
    }
}

void mp_nl_period_short(char *out, size_t cap, int32_t start, int32_t end)
{
    int y, m, d, n = whole_months(start, end, &y, &m);
    if (n == 12)
        snprintf(out, cap, "%d", y);
    else if (n == 6 && (m == 1 || m == 7))
        snprintf(out, cap, "%de hj %d", m == 1 ? 1 : 2, y);
    else if (n == 3 && m % 3 == 1)
        snprintf(out, cap, "%de kw %d", (m + 2) / 3, y);
    else {
        mp_date_to_civil(start, &y, &m, &d);
        snprintf(out, cap, "%d-%d-%d", d, m, y);
    }
}

const char *mp_nl_suppressed(const char *reason)
{
    static const struct {
        const char *code, *text;
    } texts[] = {
        {"small_denominator", "niet getoond: te weinig personen in de noemer"},
        {"zero_denominator", "niet getoond: geen personen in de noemer"},
        {"small_cell", "niet getoond: te weinig personen"},
        {"small_count", "niet getoond: te weinig personen"},
        {"wide_margin", "niet getoond: de foutmarge is te groot"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strcmp(reason, texts[i].code) == 0)
            return texts[i].text;
    return "niet getoond: onvoldoende betrouwbaar";
}

const char *mp_nl_html_entity(char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

size_t mp_nl_html(char *out, size_t cap, const char *text)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (; *text; text++) {
        const char *rep = mp_nl_html_entity(*text);
        size_t n = rep ? strlen(rep) : 1;
        if (o + n + 1 > cap)
            break;
        memcpy(out + o, rep ? rep : text, n);
        o += n;
    }
    out[o] = '\0';
    return o;
}
