/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (not built by default).
 *
 *   clang -std=c17 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iprotocol \
 *     tests/fuzz/fuzz_csv.c protocol/ingest/csv.c protocol/core/error.c -Iprotocol/ingest
 * -Iprotocol/core -lsodium -o fuzz_csv
 *   ./fuzz_csv -max_len=200000
 *
 * The reader takes a path, so each input is written to one temporary file. Besides the
 * sanitizers, it checks what callers rely on: lengths match the NUL-terminated strings, the
 * field count stays within MP_CSV_MAX_FIELDS, line numbers never go backwards, every field is
 * well-formed UTF-8, and an error is always "PATH..." without a field's contents.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/fuzz_csv-XXXXXX";

/* Well-formed UTF-8 by structure only (lead byte, then the right number of continuations);
 * the reader's own strict check is what the fuzzer exercises. */
static int utf8_shape(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t more = s[i] < 0x80 ? 0 : s[i] >= 0xF0 ? 3 : s[i] >= 0xE0 ? 2 : s[i] >= 0xC0 ? 1 : 9;
        if (more == 9 || n - i <= more)
            return more == 0;
        for (size_t k = 1; k <= more; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += more + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    mp_csv *c;
    mp_csv_row row;
    unsigned long last = 0;
    int r;
    if (fd < 0 && (fd = mkstemp(path)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    if (mp_csv_open(&c, path) != 0) {
        /* Refused at open (a NUL byte in the first chunk): the reason names the file. */
        if (strncmp(mp_error_get(), path, strlen(path)) != 0)
            abort();
        return 0;
    }
    while ((r = mp_csv_next(c, &row)) == 1) {
        if (row.nfields == 0 || row.nfields > MP_CSV_MAX_FIELDS || row.line < last)
            abort();
        last = row.line;
        for (size_t i = 0; i < row.nfields; i++)
            if (strlen(row.fields[i]) != row.lengths[i] ||
                !utf8_shape((const unsigned char *)row.fields[i], row.lengths[i]))
                abort();
    }
    if (r < 0 && strncmp(mp_error_get(), path, strlen(path)) != 0)
        abort();
    mp_csv_close(c);
    return 0;
}
