/*
 * guard.c - see guard.h.
 */
#include "guard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "date.h"

static const char *const flags[MP_GUARD_COUNT] = {
    "--accept-exclusions", "--accept-foreign-gemeenten", "--accept-stale-export"};

const char *mp_guard_flag(int g)
{
    return g >= 0 && g < MP_GUARD_COUNT ? flags[g] : "?";
}

/* The day the export should reach: the period's end, or today while the period runs. */
static int32_t expected_last(const mp_guard_params *g)
{
    return g->today < g->period_end ? g->today : g->period_end;
}

int mp_guard_fails(const mp_ingest_report *r, const mp_guard_params *g, int guard)
{
    switch (guard) {
    case MP_GUARD_EXCLUSIONS:
        /* integer arithmetic: excluded / records > pct / 100 */
        return r->records > 0 &&
               (uint64_t)r->excluded * 100 > (uint64_t)r->records * MP_GUARD_MAX_EXCLUDED_PCT;
    case MP_GUARD_FOREIGN:
        return g->org != NULL && r->accepted > 0 &&
               (uint64_t)r->own_rows * 100 < (uint64_t)r->accepted * MP_GUARD_MIN_OWN_PCT;
    case MP_GUARD_STALE:
        return r->accepted > 0 && r->last_date < expected_last(g) - MP_GUARD_STALE_DAYS;
    default: return 0;
    }
}

int mp_guard_check(const mp_ingest_report *r, const mp_guard_params *g)
{
    char a[11], b[11];
    if (r->records < MP_GUARD_MIN_ROWS)
        return 0;
    for (int i = 0; i < MP_GUARD_COUNT; i++) {
        if (g->accept[i] || !mp_guard_fails(r, g, i))
            continue;
        switch (i) {
        case MP_GUARD_EXCLUSIONS:
            return mp_error_set("refused: more than %d%% of the rows were excluded (see the "
                                "summary; --report FILE lists every row). Is this the right "
                                "export, and is the mapping right? To go on anyway: %s",
                                MP_GUARD_MAX_EXCLUDED_PCT, flags[i]);
        case MP_GUARD_FOREIGN:
            return mp_error_set("refused: fewer than %d%% of the accepted rows are in the "
                                "gemeenten of %.40s (the roster). Is this another "
                                "organisation's export? To go on anyway: %s",
                                MP_GUARD_MIN_OWN_PCT, g->org, flags[i]);
        case MP_GUARD_STALE:
            mp_date_format(a, r->last_date);
            mp_date_format(b, expected_last(g));
            return mp_error_set("refused: the latest date in the export (%s) is more than %d "
                                "days before %s (%s). Is this an old export? To go on "
                                "anyway: %s",
                                a, MP_GUARD_STALE_DAYS, b,
                                g->today < g->period_end ? "today" : "the end of the period",
                                flags[i]);
        }
    }
    return 0;
}

/* ---- the row report ---------------------------------------------------------------------- */

struct mp_row_report {
    FILE *f;
    char *path, *tmp;
    int failed;
};

int mp_row_report_open(mp_row_report **out, const char *path)
{
    mp_row_report *rr = calloc(1, sizeof *rr);
    size_t n = strlen(path) + 16;
    int fd;
    *out = NULL;
    if (rr == NULL || (rr->path = strdup(path)) == NULL || (rr->tmp = malloc(n)) == NULL) {
        mp_row_report_close(rr, 0);
        return mp_error_system("%s: out of memory", path);
    }
    snprintf(rr->tmp, n, "%s.tmp.XXXXXX", path);
    if ((fd = mkstemp(rr->tmp)) < 0 || (rr->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(rr->tmp);
        }
        free(rr->tmp);
        rr->tmp = NULL;
        mp_row_report_close(rr, 0);
        return mp_error_set("%s: cannot create the row report: %s", path, strerror(e));
    }
    fputs("line,column,reason,value\n", rr->f);
    *out = rr;
    return 0;
}

/* One CSV field, quoted when it needs to be (RFC 4180). */
static void put_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int mp_row_report_add(const mp_ingest_reject *r, void *arg)
{
    mp_row_report *rr = arg;
    fprintf(rr->f, "%lu,", r->line);
    put_field(rr->f, r->column);
    fprintf(rr->f, ",%s,", mp_reject_code(r->reason));
    put_field(rr->f, r->value != NULL ? r->value : "");
    fputc('\n', rr->f);
    if (ferror(rr->f)) {
        rr->failed = 1;
        return mp_error_set("%s: cannot write the row report: %s", rr->path, strerror(errno));
    }
    return 0;
}

int mp_row_report_close(mp_row_report *rr, int commit)
{
    int rc = 0;
    if (rr == NULL)
        return 0;
    if (rr->f != NULL) {
        int bad = fflush(rr->f) != 0 || fsync(fileno(rr->f)) != 0;
        bad |= fclose(rr->f) != 0;
        if (commit && (bad || rr->failed || rename(rr->tmp, rr->path) != 0)) {
            rc = mp_error_set("%s: cannot write the row report: %s", rr->path, strerror(errno));
            commit = 0;
        }
        if (!commit)
            unlink(rr->tmp);
    }
    free(rr->path);
    free(rr->tmp);
    free(rr);
    return rc;
}
