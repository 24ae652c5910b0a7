/*
 * guard.h - the checks that keep a data officer from submitting the wrong export, and the
 * full row report.
 *
 * After an ingest (ingest.h) and before anything is submitted, mp_guard_check() refuses an
 * export that is probably not the one meant, unless the data officer overrides that guard
 * explicitly (docs/guide-data-officer.md):
 *
 *   exclusions  more than MP_GUARD_MAX_EXCLUDED_PCT % of the rows read were excluded: a wrong
 *               mapping, date format or export (override --accept-exclusions);
 *   foreign     fewer than MP_GUARD_MIN_OWN_PCT % of the accepted rows live in the
 *               organisation's own gemeenten (the roster): another organisation's export
 *               (override --accept-foreign-gemeenten);
 *   stale       the latest start or end date in the export lies more than MP_GUARD_STALE_DAYS
 *               days before the end of the round's period (or before today, when the period
 *               has not ended yet): an old export (override --accept-stale-export).
 *
 * An export of fewer than MP_GUARD_MIN_ROWS rows read is too small to judge by a share or by
 * its latest date (a small caseload can go a month without a new or ended spell), so there
 * the guards do not refuse; the program shows them as warnings.
 *
 * The row report (mp_row_report_*) is a CSV of every excluded row - line, column, reason
 * code, offending value - with no cap, for the data officer alone. Values come from
 * ingest.h's mp_ingest_reject, which never carries a BSN.
 *
 * Invariants:
 *   1. Refusal reasons name the guard, its threshold and its override, never a count or a
 *      value from the file (error.h invariant 1); the figures are in the program's summary.
 *   2. The row report appears complete at its path or not at all: it is written to a
 *      temporary file in the same directory and renamed by mp_row_report_close(..., 1).
 */
#ifndef MP_GUARD_H
#define MP_GUARD_H

#include <stdint.h>

#include "error.h"
#include "ingest.h"

#define MP_GUARD_MAX_EXCLUDED_PCT 20
#define MP_GUARD_MIN_OWN_PCT 50
#define MP_GUARD_STALE_DAYS 31
#define MP_GUARD_MIN_ROWS 100 /* rows read below which the guards only warn */

enum mp_guard { MP_GUARD_EXCLUSIONS, MP_GUARD_FOREIGN, MP_GUARD_STALE, MP_GUARD_COUNT };

typedef struct mp_guard_params {
    int accept[MP_GUARD_COUNT]; /* 1 = overridden by the data officer */
    const char *org;            /* NULL: the foreign guard is skipped (check without --org) */
    int32_t period_end, today;
} mp_guard_params;

/* 1 when guard g would refuse this report (whether or not it is accepted). */
int mp_guard_fails(const mp_ingest_report *r, const mp_guard_params *g, int guard);

/* 0 when every guard passes or is accepted, else -1 with the reason of the first that refuses
 * (and the flag that overrides it). */
MP_WUR int mp_guard_check(const mp_ingest_report *r, const mp_guard_params *g);

const char *mp_guard_flag(int guard); /* "--accept-exclusions" */

typedef struct mp_row_report mp_row_report;

MP_WUR int mp_row_report_open(mp_row_report **out, const char *path);
/* The on_reject callback of mp_ingest_params (arg = the mp_row_report). */
int mp_row_report_add(const mp_ingest_reject *r, void *arg);
/* commit = 1: flush, fsync and rename into place; 0: remove the temporary file. NULL is
 * allowed. Returns -1 when the commit fails (nothing left at the path). */
int mp_row_report_close(mp_row_report *rr, int commit);

#endif
