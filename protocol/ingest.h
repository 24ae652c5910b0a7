/*
 * ingest.h - from an organisation's export to its count vector, inside the contributor.
 *
 * Reads the spells CSV (csv.h) through an optional mapping file, validates every row,
 * pseudonymises each BSN with a keyed PRF, keeps per person only what the catalogue needs, and
 * counts distinct persons per cell.
 *
 * Pseudonym: the first 16 bytes of BLAKE2b(key = the organisation's 32-byte PRF key,
 * message = "mijlpaal-pseudonym-v1" || the 9 BSN digits). A plain hash of a BSN is not a
 * pseudonym (the ~10^9 valid BSNs are enumerated in minutes); without the key this one cannot be
 * inverted or linked. 128 bits make a collision between two persons negligible (below 2^-88
 * for a million persons).
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
    MP_REJ_COUNT
};

#define MP_INGEST_LINES_KEPT 10

typedef struct mp_ingest_report {
    unsigned long records, accepted, excluded, kept_spells, persons, transcoded;
    unsigned long per_reason[MP_REJ_COUNT];
    unsigned long lines[MP_REJ_COUNT][MP_INGEST_LINES_KEPT]; /* first line numbers */
    char separator;
    int had_bom;
    char ignored_columns[512]; /* header names not used, comma separated */
} mp_ingest_report;

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
