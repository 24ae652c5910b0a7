/*
 * report.h - the mijlpalenmonitor as raadsleden read it: report.html and report.pdf.
 *
 * The report of a release shows, grouped by the agenda's pijlers (catalogue.h), every
 * milestone of the catalogue: its figure in Dutch (nlformat.h), the 95% margin in plain words,
 * the change since the previous half-year of the series and whether that change is larger than
 * its own margin (1.96 * sqrt(var_now + var_before)), a trend chart with the margin as a band
 * over every release of the series, progress to the milestone's target, and its breakdowns.
 * Then the participating organisations by name (with a warning when some dropped out) and,
 * in an appendix, the technical details (mechanism, rho, epsilon, delta, n, t).
 *
 * Invariants:
 *   1. mp_report_html is a pure function of signed inputs: the release body, its round
 *      specification (catalogue), the roster, and the earlier releases of the series, each
 *      verified under the roster's coordinator key by mp_series_add. No clock, locale or time
 *      zone database is read, so an auditor re-renders it byte for byte.
 *   2. An earlier release is accepted into a series only when it is signed by the roster's
 *      coordinator, is of the same series and region, covers a period that ends before the
 *      current one starts, and does not overlap another earlier release; the series is kept
 *      in period order.
 *   3. mp_report_pdf renders the same figures (the same model as the HTML) with cairo and
 *      pango. Its bytes depend on the fonts installed (fontconfig), so they are reproducible
 *      on one machine only: the creation date is the publication time, and the PDF names the
 *      SHA-256 of the signed release in its Keywords metadata so that a reader can tell which
 *      release it prints.
 *   4. Fields a release may lack (older releases: per-cell lower/upper/shown_as/suppressed,
 *      per-rate lower/upper/suppressed) are rendered without; nothing is invented.
 *
 * In a release directory the earlier releases travel as series/ROUND_ID.json, byte for byte
 * the signed release.json of each (docs/protocol.md).
 */
#ifndef MP_REPORT_H
#define MP_REPORT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "envelope.h"
#include "error.h"
#include "roster.h"
#include "spec.h"

#define MP_SERIES_MAX 40 /* twenty years of half-years */

typedef struct mp_series {
    size_t n;
    mp_envelope *rel[MP_SERIES_MAX]; /* owned; oldest period first */
} mp_series;

/* Load the release envelope at `path` and add it to the series of `spec` (invariant 2). */
MP_WUR int mp_series_add(mp_series *s, const char *path, const mp_spec *spec,
                         const mp_roster *roster);

/* The same for a parsed "release" envelope (taken over: freed on failure); `path` names it in
 * reasons. */
MP_WUR int mp_series_add_envelope(mp_series *s, mp_envelope *env, const char *path,
                                  const mp_spec *spec, const mp_roster *roster);

/* mp_series_add for every DIR/ *.json; a missing directory is an empty series. */
MP_WUR int mp_series_load_dir(mp_series *s, const char *dir, const mp_spec *spec,
                              const mp_roster *roster);

void mp_series_free(mp_series *s);

typedef struct mp_report_in {
    const cJSON *release; /* the body of the signed release */
    const mp_spec *spec;
    const mp_roster *roster;
    const mp_series *series;    /* earlier releases; NULL or empty: none */
    const char *release_sha256; /* hex hash of the release envelope (the PDF names it) */
} mp_report_in;

MP_WUR int mp_report_html(char **out, size_t *len, const mp_report_in *in);
MP_WUR int mp_report_pdf(char **out, size_t *len, const mp_report_in *in);

#endif
