/*
 * ingest.h - from an organisation's export to its count vector, inside the contributor.
 *
 * Reads the spells CSV (csv.h) through an optional mapping file, validates every row,
 * pseudonymises each BSN with a keyed PRF, keeps per person only what the catalogue needs, and
 * counts distinct persons per cell.
 *
 * Pseudonym: pseudonym.h (keyed SipHash-128 of the 9 BSN digits). The person table keeps the
 * first 12 of its 16 bytes: a collision between two of a million persons then has probability
 * below 2^-56.
 *
 * Cost (docs/performance.md): one pass over the file with no allocation per row. The person
 * table is 256 open-addressing segments of 20-byte slots (pseudonym prefix, birth date, sex and
 * flags packed in 4 bytes, the head of the person's spell list), each kept at most 80% full and
 * grown by half one segment at a time, so growing never holds two copies of the whole table:
 * 25 to 38 bytes per distinct person, plus 12 bytes per kept spell. The first size comes from
 * the file size (three persons per four rows of about 70 bytes), so a file with many rows per
 * person starts emptier, at most about 19 bytes per row.
 *
 * Invariants:
 *   1. No BSN is ever written anywhere: the digits live in a stack buffer that is wiped right
 *      after the PRF, and error reasons name only file, line and reason code.
 *   2. Every data row is either accepted or excluded with exactly one reason, and counted as
 *      such: records = accepted + excluded. Nothing is dropped silently.
 *   3. Memory grows with the persons and their kept spells (spells that can affect a count:
 *      of a type the catalogue reads, not ended before the catalogue's horizon, not started
 *      after the period); it is wiped when freed.
 */
#ifndef MP_INGEST_H
#define MP_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "error.h"
#include "roster.h"

enum mp_reject {
    MP_REJ_COLUMNS,
    MP_REJ_QUOTING,
    MP_REJ_BSN_FORMAT,
    MP_REJ_BSN_ELFPROEF,
    MP_REJ_DATE_FORMAT,
    MP_REJ_DATE_ORDER,
    MP_REJ_DATE_RANGE,
    MP_REJ_MUNICIPALITY_UNKNOWN,
    MP_REJ_MUNICIPALITY_OUTSIDE,
    MP_REJ_SPELL_TYPE,
    MP_REJ_END_REASON,
    MP_REJ_END_REASON_WITHOUT_END,
    MP_REJ_SEX,
    MP_REJ_FLAG,
    MP_REJ_BIRTH_CONFLICT,
    MP_REJ_INDICATOR, /* appended: codes never change meaning */
    MP_REJ_COUNT
};

#define MP_INGEST_LINES_KEPT 10
#define MP_MAPPING_MAX_SOURCES 4     /* source columns for one canonical field */
#define MP_MAPPING_MAX_INDICATORS 16 /* J/N indicator columns */

/* The canonical fields (docs/input-format.md), in this order. */
enum mp_field {
    MP_F_BSN,
    MP_F_BIRTH,
    MP_F_SEX,
    MP_F_MUNI,
    MP_F_TYPE,
    MP_F_START,
    MP_F_END,
    MP_F_REASON,
    MP_F_FLAGS,
    MP_F_COUNT
};
const char *mp_field_name(int field); /* "birth_date" */

/* Where the values of one canonical field came from: rows per source column (the mapping
 * check). `empty` counts the rows where every source column was empty. */
typedef struct mp_field_sources {
    size_t nsources;
    char column[MP_MAPPING_MAX_SOURCES][64]; /* header names as written in the export */
    unsigned long rows[MP_MAPPING_MAX_SOURCES];
    unsigned long empty;
} mp_field_sources;

typedef struct mp_indicator_stats {
    char column[64];
    char target[24]; /* the spell type or flag it maps to */
    unsigned long yes, no;
} mp_indicator_stats;

typedef struct mp_ingest_report {
    unsigned long records, accepted, excluded, kept_spells, persons, transcoded;
    unsigned long per_reason[MP_REJ_COUNT];
    unsigned long lines[MP_REJ_COUNT][MP_INGEST_LINES_KEPT]; /* first line numbers */
    char separator;
    int had_bom;
    char ignored_columns[512]; /* header names not used, comma separated */
    /* For the guards of the contributor (docs/guide-data-officer.md): */
    unsigned long own_rows; /* accepted rows in the organisation's own gemeenten */
    int32_t last_date;      /* latest start or end date of an accepted row, not after today
                               (INT32_MIN when none) */
    mp_field_sources sources[MP_F_COUNT];
    size_t nindicators;
    mp_indicator_stats indicators[MP_MAPPING_MAX_INDICATORS];
} mp_ingest_report;

/* One excluded row, for the full row report. `value` is what was wrong, safe to write: never a
 * BSN or any run of 8 or more digits (those are described, "<bsn: 9 digits, fails the
 * elfproef>"), cut at 80 bytes. */
typedef struct mp_ingest_reject {
    unsigned long line;
    const char *column; /* canonical field name, or the indicator's column; "" for the row */
    int reason;
    const char *value;
} mp_ingest_reject;

typedef struct mp_mapping mp_mapping;

typedef struct mp_ingest_params {
    const char *path;
    const mp_mapping *mapping; /* may be NULL */
    const mp_roster *roster;   /* gemeenten of the region */
    const mp_catalogue *catalogue;
    int32_t period_start, period_end;
    const unsigned char *prf_key; /* MP_PRF_KEY_BYTES */
    int32_t today;                /* dates after it are impossible */
    /* Optional: called every MP_INGEST_PROGRESS_ROWS records (the library never prints). */
    void (*progress)(unsigned long records, void *arg);
    void *progress_arg;
    /* Optional: called for every excluded row (for --report FILE); returns 0, or -1 to stop
     * with its error set. */
    int (*on_reject)(const mp_ingest_reject *r, void *arg);
    void *reject_arg;
    const mp_org *own; /* may be NULL: the organisation, for rep->own_rows */
} mp_ingest_params;

#define MP_INGEST_PROGRESS_ROWS 65536

MP_WUR int mp_mapping_load(mp_mapping **out, const char *path);
void mp_mapping_free(mp_mapping *m);

/* Stream the export and add distinct-person counts into counts[catalogue->ncells] (zeroed by
 * the caller). Returns -1 only for a fatal problem with the file as a whole (unreadable, not a
 * CSV, a required column missing); bad rows are reported in *rep, not fatal. */
MP_WUR int mp_ingest_count(const mp_ingest_params *p, int64_t *counts, mp_ingest_report *rep);

const char *mp_reject_code(int reason);        /* "bsn_elfproef" */
const char *mp_reject_description(int reason); /* "BSN fails the elfproef" */

#endif
