/*
 * csv.h - a streaming reader for the CSV exports that real case systems and Dutch Excel write.
 *
 * Accepts ';' or ',' separators (detected from the header record: the one that occurs more often
 * outside quotes; ';' on a tie), RFC 4180 quoting (quoted fields may hold separators, "" and line
 * breaks), CRLF or LF line ends, UTF-8 with or without a BOM, and Windows-1252: any record that is
 * not valid UTF-8 is transcoded from Windows-1252 to UTF-8 as a whole.
 *
 * Invariants:
 *   1. Memory is bounded by MP_CSV_MAX_RECORD, whatever the file size: the reader never holds
 *      more than one record.
 *   2. Fatal problems (cannot open, empty file, NUL byte, a record longer than
 *      MP_CSV_MAX_RECORD, a quote left open at end of file, read error) make mp_csv_next()
 *      return -1 with an error "FILE:LINE: reason" set; the reader is then unusable.
 *   3. Record-level problems the reader can step over (a stray quote inside an unquoted field,
 *      text after a closing quote) return the record with row->problem set to a static reason
 *      code ("quoting"); the caller decides whether to exclude it or refuse the file.
 *   4. Buffers are wiped (sodium_memzero) when their bytes of the file are dropped (the input
 *      buffer when it is refilled, together with the records taken from it) and on close,
 *      because they hold BSNs.
 *   5. A fast path splits plain records (wholly in the buffer, valid UTF-8, well quoted) in one
 *      pass; it returns exactly the rows the exact path would (mp_csv_set_fast, test_csv).
 */
#ifndef MP_CSV_H
#define MP_CSV_H

#include <stddef.h>

#include "error.h"

#define MP_CSV_MAX_RECORD (1024 * 1024)
#define MP_CSV_MAX_FIELDS 256
#define MP_CSV_PAD 32 /* readable bytes after the end of every record's last field */

typedef struct mp_csv mp_csv;

typedef struct mp_csv_row {
    size_t nfields;
    char **fields;       /* UTF-8, NUL-terminated, valid until the next call; the
                          * MP_CSV_PAD bytes after each field may be read (not relied on),
                          * so that a caller can compare short fields a word at a time */
    size_t *lengths;     /* byte length of each field */
    unsigned long line;  /* physical line (1-based) where the record starts */
    const char *problem; /* NULL, or a static reason code (invariant 3) */
    int transcoded;      /* 1 when the record was read as Windows-1252 */
} mp_csv_row;

/* Open `path` for reading; fails with a reason when it cannot be opened. */
MP_WUR int mp_csv_open(mp_csv **out, const char *path);

/* The next record: 1 with *row filled, 0 at end of file, -1 on a fatal problem (invariant 2).
 * The first record is the header. Blank lines (no characters at all) are skipped. */
MP_WUR int mp_csv_next(mp_csv *c, mp_csv_row *row);

/* ';' or ','; valid after the first record. */
char mp_csv_separator(const mp_csv *c);

/* 1 when the file started with a UTF-8 BOM. */
int mp_csv_had_bom(const mp_csv *c);

/* on = 0: read every record by the exact two-pass path only, never the fast one (csv.c). The
 * rows are the same either way; the tests and the fuzzer read files both ways to prove it. */
void mp_csv_set_fast(mp_csv *c, int on);

/* Close and wipe (NULL is allowed). */
void mp_csv_close(mp_csv *c);

#endif
