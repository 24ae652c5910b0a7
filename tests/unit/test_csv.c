/*
 * test_csv.c - the streaming CSV reader (protocol/ingest/csv.c) on real files in a temporary
 * directory.
 */
#include "testutil.h"

#include <errno.h>

#include "csv.h"

/* One temporary directory per test, with the file under test written into it. */
struct fixture {
    char *dir;
    char *path;
    mp_csv *csv;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mp_csv_close(f->csv);
    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Write `name` with `len` bytes and open it. */
static mp_csv *open_bytes(struct fixture *f, const char *name, const void *data, size_t len)
{
    free(f->path);
    f->path = tu_path(f->dir, name);
    tu_write(f->path, data, len);
    mp_csv_close(f->csv);
    f->csv = NULL;
    assert_int_equal(mp_csv_open(&f->csv, f->path), 0);
    return f->csv;
}

static mp_csv *open_str(struct fixture *f, const char *name, const char *text)
{
    return open_bytes(f, name, text, strlen(text));
}

/* The next record must exist and have exactly the given fields (NULL-terminated list). */
static void expect_row(mp_csv *c, unsigned long line, const char *problem, int transcoded, ...)
{
    mp_csv_row row;
    va_list ap;
    size_t i = 0;
    const char *want;
    int r = mp_csv_next(c, &row);
    if (r != 1)
        fail_msg("expected a record on line %lu, got %d (%s)", line, r, mp_error_get());
    assert_int_equal(row.line, line);
    if (problem == NULL)
        assert_null(row.problem);
    else
        assert_string_equal(row.problem, problem);
    assert_int_equal(row.transcoded, transcoded);
    va_start(ap, transcoded);
    while ((want = va_arg(ap, const char *)) != NULL) {
        assert_true(i < row.nfields);
        assert_int_equal(row.lengths[i], strlen(want));
        assert_memory_equal(row.fields[i], want, strlen(want) + 1);
        i++;
    }
    va_end(ap);
    assert_int_equal(row.nfields, i);
}

static void expect_eof(mp_csv *c)
{
    mp_csv_row row;
    assert_int_equal(mp_csv_next(c, &row), 0);
    assert_int_equal(mp_csv_next(c, &row), 0); /* and it stays there */
}

/* The next call must fail with an error that starts with `prefix` (file and line) and contains
 * `reason`; the reader must stay failed. */
static void expect_fatal(struct fixture *f, const char *name_line, const char *reason)
{
    mp_csv_row row;
    char want[512];
    assert_int_equal(mp_csv_next(f->csv, &row), -1);
    snprintf(want, sizeof want, "%s/%s", f->dir, name_line);
    if (strncmp(mp_error_get(), want, strlen(want)) != 0 || strstr(mp_error_get(), reason) == NULL)
        fail_msg("error \"%s\" does not start with \"%s\" or lacks \"%s\"", mp_error_get(), want,
                 reason);
    assert_int_equal(mp_csv_next(f->csv, &row), -1);
}

static void test_semicolon(void **state)
{
    mp_csv *c = open_str(*state, "a.csv", "bsn;naam;bedrag\n111222333;Jan;12,50\n;;\n");
    expect_row(c, 1, NULL, 0, "bsn", "naam", "bedrag", NULL);
    assert_int_equal(mp_csv_separator(c), ';');
    assert_int_equal(mp_csv_had_bom(c), 0);
    expect_row(c, 2, NULL, 0, "111222333", "Jan", "12,50", NULL);
    expect_row(c, 3, NULL, 0, "", "", "", NULL);
    expect_eof(c);
}

static void test_comma(void **state)
{
    struct fixture *f = *state;
    mp_csv *c = open_str(f, "a.csv", "bsn,naam,note\n111222333,Jan,a;b\n");
    expect_row(c, 1, NULL, 0, "bsn", "naam", "note", NULL);
    assert_int_equal(mp_csv_separator(c), ',');
    expect_row(c, 2, NULL, 0, "111222333", "Jan", "a;b", NULL);
    expect_eof(c);

    /* Separators inside quotes do not count; a tie goes to ';'. */
    c = open_str(f, "b.csv", "naam,\"x;y;z\"\n1,2\n");
    expect_row(c, 1, NULL, 0, "naam", "x;y;z", NULL);
    assert_int_equal(mp_csv_separator(c), ',');
    c = open_str(f, "c.csv", "a;b,c\n1;2,3\n");
    expect_row(c, 1, NULL, 0, "a", "b,c", NULL);
    assert_int_equal(mp_csv_separator(c), ';');
    expect_row(c, 2, NULL, 0, "1", "2,3", NULL);
    c = open_str(f, "d.csv", "onecolumn\nx\n");
    expect_row(c, 1, NULL, 0, "onecolumn", NULL);
    assert_int_equal(mp_csv_separator(c), ';');
}

static void test_bom(void **state)
{
    mp_csv *c = open_str(*state, "a.csv",
                         "\xEF\xBB\xBF"
                         "bsn;naam\n1;Ren\xC3\xA9\n");
    expect_row(c, 1, NULL, 0, "bsn", "naam", NULL);
    assert_int_equal(mp_csv_had_bom(c), 1);
    expect_row(c, 2, NULL, 0, "1", "Ren\xC3\xA9", NULL);
    expect_eof(c);
}

static void test_crlf(void **state)
{
    mp_csv *c = open_str(*state, "a.csv", "a;b\r\n1;2\r\n\"x\";\"y\"\r\n3;\r\n");
    expect_row(c, 1, NULL, 0, "a", "b", NULL);
    expect_row(c, 2, NULL, 0, "1", "2", NULL);
    expect_row(c, 3, NULL, 0, "x", "y", NULL); /* the CR after a closing quote is no problem */
    expect_row(c, 4, NULL, 0, "3", "", NULL);
    expect_eof(c);
}

static void test_quoted(void **state)
{
    mp_csv *c = open_str(*state, "a.csv",
                         "id;note\n"
                         "1;\"a;b\"\n"
                         "2;\"line1\nline2\r\nline3\"\n"
                         "3;\"say \"\"hi\"\"\"\n"
                         "4;\"\"\n"
                         "\"5\";\"\n\n\"\n"
                         "6;end\n");
    expect_row(c, 1, NULL, 0, "id", "note", NULL);
    expect_row(c, 2, NULL, 0, "1", "a;b", NULL);
    expect_row(c, 3, NULL, 0, "2", "line1\nline2\r\nline3", NULL);
    expect_row(c, 6, NULL, 0, "3", "say \"hi\"", NULL);
    expect_row(c, 7, NULL, 0, "4", "", NULL);
    expect_row(c, 8, NULL, 0, "5", "\n\n", NULL);
    expect_row(c, 11, NULL, 0, "6", "end", NULL);
    expect_eof(c);
}

static void test_final_record_without_newline(void **state)
{
    struct fixture *f = *state;
    mp_csv *c = open_str(f, "a.csv", "a;b\n1;2");
    expect_row(c, 1, NULL, 0, "a", "b", NULL);
    expect_row(c, 2, NULL, 0, "1", "2", NULL);
    expect_eof(c);
    c = open_str(f, "b.csv", "a;b\r\n1;\"2\"\r"); /* a lone CR at the end is stripped */
    expect_row(c, 1, NULL, 0, "a", "b", NULL);
    expect_row(c, 2, NULL, 0, "1", "2", NULL);
    expect_eof(c);
    c = open_str(f, "c.csv", "a;b"); /* only a header, no newline */
    expect_row(c, 1, NULL, 0, "a", "b", NULL);
    expect_eof(c);
}

static void test_blank_lines(void **state)
{
    mp_csv *c = open_str(*state, "a.csv", "\n\na;b\n\n1;2\n\r\n\n3;4\n\n");
    expect_row(c, 3, NULL, 0, "a", "b", NULL);
    expect_row(c, 5, NULL, 0, "1", "2", NULL);
    expect_row(c, 8, NULL, 0, "3", "4", NULL);
    expect_eof(c);
}

static void test_windows_1252(void **state)
{
    mp_csv *c = open_str(*state, "a.csv",
                         "naam;bedrag\n"
                         "Jos\xE9;\x80\n"
                         "Jos\xC3\xA9;\xE2\x82\xAC\n"
                         "\x81\x8D\x8F\x90\x9D;\x9F\xFF\x93x\x94\n");
    expect_row(c, 1, NULL, 0, "naam", "bedrag", NULL);
    expect_row(c, 2, NULL, 1, "Jos\xC3\xA9", "\xE2\x82\xAC", NULL);
    expect_row(c, 3, NULL, 0, "Jos\xC3\xA9", "\xE2\x82\xAC", NULL);
    /* The five undefined bytes become the C1 controls U+0081.. ; 0x9F is U+0178, 0xFF U+00FF,
     * 0x93/0x94 the curly double quotes (which are not CSV quotes). */
    expect_row(c, 4, NULL, 1, "\xC2\x81\xC2\x8D\xC2\x8F\xC2\x90\xC2\x9D",
               "\xC5\xB8\xC3\xBF\xE2\x80\x9Cx\xE2\x80\x9D", NULL);
    expect_eof(c);
}

static void test_invalid_utf8_is_1252(void **state)
{
    mp_csv *c = open_str(*state, "a.csv",
                         "h1;h2\n"
                         "\xC0\x80;x\n"         /* overlong NUL */
                         "\xED\xA0\x80;x\n"     /* surrogate U+D800 */
                         "\xF4\x90\x80\x80;x\n" /* U+110000 */
                         "\xE0\x80\xAF;x\n"     /* overlong '/' */
                         "\xF0\x8F\xBF\xBF;x\n" /* overlong U+FFFF */
                         "\xF5\x80\x80\x80;x\n" /* F5 never starts a sequence */
                         "x;\xC3\n"             /* truncated at the end of the record */
                         "\xF0\x9F\x98\x80;\xF4\x8F\xBF\xBF\n" /* valid U+1F600, U+10FFFF */
                         "\xED\x9F\xBF;\xEE\x80\x80\n");       /* valid U+D7FF, U+E000 */
    expect_row(c, 1, NULL, 0, "h1", "h2", NULL);
    expect_row(c, 2, NULL, 1, "\xC3\x80\xE2\x82\xAC", "x", NULL);
    expect_row(c, 3, NULL, 1, "\xC3\xAD\xC2\xA0\xE2\x82\xAC", "x", NULL);
    expect_row(c, 4, NULL, 1, "\xC3\xB4\xC2\x90\xE2\x82\xAC\xE2\x82\xAC", "x", NULL);
    expect_row(c, 5, NULL, 1, "\xC3\xA0\xE2\x82\xAC\xC2\xAF", "x", NULL);
    expect_row(c, 6, NULL, 1, "\xC3\xB0\xC2\x8F\xC2\xBF\xC2\xBF", "x", NULL);
    expect_row(c, 7, NULL, 1, "\xC3\xB5\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC", "x", NULL);
    expect_row(c, 8, NULL, 1, "x", "\xC3\x83", NULL);
    expect_row(c, 9, NULL, 0, "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", NULL);
    expect_row(c, 10, NULL, 0, "\xED\x9F\xBF", "\xEE\x80\x80", NULL);
    expect_eof(c);
}

static void test_bad_quoting(void **state)
{
    mp_csv *c = open_str(*state, "a.csv",
                         "a;b\n"
                         "1;x\"y\n"     /* stray quote: must not swallow the next line */
                         "2;\"z\"w;q\n" /* text after a closing quote */
                         "3;ok\n"
                         "4;12\" inch\n" /* another stray quote, then a clean record */
                         "5;\"fine\"\n");
    expect_row(c, 1, NULL, 0, "a", "b", NULL);
    expect_row(c, 2, "quoting", 0, "1", "x\"y", NULL);
    expect_row(c, 3, "quoting", 0, "2", "zw", "q", NULL);
    expect_row(c, 4, NULL, 0, "3", "ok", NULL);
    expect_row(c, 5, "quoting", 0, "4", "12\" inch", NULL);
    expect_row(c, 6, NULL, 0, "5", "fine", NULL);
    expect_eof(c);
}

static void test_long_line(void **state)
{
    struct fixture *f = *state;
    size_t len = 10 * 1024 * 1024;
    char *buf = malloc(len);
    assert_non_null(buf);
    memcpy(buf, "bsn;naam\n", 9);
    memset(buf + 9, 'x', len - 10);
    buf[len - 1] = '\n';
    mp_csv *c = open_bytes(f, "long.csv", buf, len);
    free(buf);
    expect_row(c, 1, NULL, 0, "bsn", "naam", NULL);
    expect_fatal(f, "long.csv:2: ", "record longer than 1048576 bytes");
}

/* A record of exactly MP_CSV_MAX_RECORD bytes is accepted (also with CRLF, whose CR is the
 * one byte that may pass the limit); one byte more is refused. */
static void test_record_at_limit(void **state)
{
    struct fixture *f = *state;
    size_t max = MP_CSV_MAX_RECORD, len = 2 + max + 2 + 2;
    char *buf = malloc(len + 1);
    mp_csv_row row;
    assert_non_null(buf);
    memcpy(buf, "h\n", 2);
    memset(buf + 2, 'y', max);
    memcpy(buf + 2 + max, "\r\nz\n", 4);
    mp_csv *c = open_bytes(f, "max.csv", buf, len);
    expect_row(c, 1, NULL, 0, "h", NULL);
    assert_int_equal(mp_csv_next(c, &row), 1);
    assert_int_equal(row.nfields, 1);
    assert_int_equal(row.lengths[0], max);
    assert_int_equal(strlen(row.fields[0]), max);
    assert_int_equal(row.fields[0][max - 1], 'y');
    expect_row(c, 3, NULL, 0, "z", NULL);
    expect_eof(c);

    memcpy(buf + 2 + max, "y\nz\n", 4); /* max + 1 bytes */
    c = open_bytes(f, "over.csv", buf, len);
    expect_row(c, 1, NULL, 0, "h", NULL);
    expect_fatal(f, "over.csv:2: ", "record longer than");

    memcpy(buf + 2 + max, "yz", 2); /* max + 2 bytes up to the end of file, no newline */
    c = open_bytes(f, "eof.csv", buf, 2 + max + 2);
    expect_row(c, 1, NULL, 0, "h", NULL);
    expect_fatal(f, "eof.csv:2: ", "record longer than");
    free(buf);
}

static void test_empty(void **state)
{
    struct fixture *f = *state;
    open_bytes(f, "empty.csv", "", 0);
    expect_fatal(f, "empty.csv: ", "empty file, no header record");
    open_str(f, "bom.csv", "\xEF\xBB\xBF");
    expect_fatal(f, "bom.csv: ", "empty file, no header record");
    assert_int_equal(mp_csv_had_bom(f->csv), 1);
    open_str(f, "blank.csv", "\n\r\n\n");
    expect_fatal(f, "blank.csv: ", "empty file, no header record");
}

/* A file with a NUL byte in its first chunk is refused at open, naming the NUL's line. */
static void expect_open_binary(struct fixture *f, const char *name, const void *data, size_t len,
                               const char *prefix)
{
    free(f->path);
    f->path = tu_path(f->dir, name);
    tu_write(f->path, data, len);
    mp_csv_close(f->csv);
    f->csv = NULL;
    assert_int_equal(mp_csv_open(&f->csv, f->path), -1);
    assert_null(f->csv);
    assert_non_null(strstr(mp_error_get(), prefix));
    assert_non_null(strstr(mp_error_get(), "binary data (NUL byte)"));
}

static void test_binary(void **state)
{
    struct fixture *f = *state;
    unsigned char garbage[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof garbage; i++) {
        x = x * 1103515245u + 12345u;
        garbage[i] = (unsigned char)(x >> 24);
    }
    memcpy(garbage, "PK\x03\x04\x14\x00", 6); /* what an .xlsx starts with */
    expect_open_binary(f, "sheet.xlsx", garbage, sizeof garbage, "sheet.xlsx:1: ");
    /* A text first line does not hide a NUL further on (a PDF starts with "%PDF-1.7\n"). */
    expect_open_binary(f, "nul.csv", "a;b\n1;2\n3;\0\n", 12, "nul.csv:3: ");

    /* Beyond the first chunk the reader still finds it, record by record. */
    size_t n = 1000000; /* more than the 256 KiB the reader looks at first */
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 4 == 3 ? '\n' : 'x';
    big[n - 2] = '\0';
    open_bytes(f, "late.csv", big, n);
    mp_csv_row row;
    int r;
    while ((r = mp_csv_next(f->csv, &row)) == 1)
        ;
    assert_int_equal(r, -1);
    assert_non_null(strstr(mp_error_get(), "late.csv:250000: binary data"));
    free(big);
}

static void test_unterminated_quote(void **state)
{
    struct fixture *f = *state;
    mp_csv *c = open_str(f, "q.csv", "a;b\n1;2\n3;\"111222333\nmore\n\nlines\n");
    expect_row(c, 1, NULL, 0, "a", "b", NULL);
    expect_row(c, 2, NULL, 0, "1", "2", NULL);
    expect_fatal(f, "q.csv:3: ", "quote opened here is never closed");
    assert_null(strstr(mp_error_get(), "111222333")); /* never a field's contents */
}

static void test_too_many_fields(void **state)
{
    struct fixture *f = *state;
    char buf[4 * (MP_CSV_MAX_FIELDS + 1) + 8];
    size_t n = 0;
    for (int i = 0; i < MP_CSV_MAX_FIELDS; i++)
        n += (size_t)sprintf(buf + n, "%s%d", i ? ";" : "", i % 10);
    buf[n++] = '\n';
    buf[n] = '\0';
    open_str(f, "ok.csv", buf);
    mp_csv_row row;
    assert_int_equal(mp_csv_next(f->csv, &row), 1);
    assert_int_equal(row.nfields, MP_CSV_MAX_FIELDS);
    assert_string_equal(row.fields[MP_CSV_MAX_FIELDS - 1], "5");

    strcpy(buf + n - 1, ";x\n");
    open_str(f, "many.csv", buf);
    expect_fatal(f, "many.csv:1: ", "more than 256 fields");

    char text[sizeof buf + 16];
    snprintf(text, sizeof text, "h\n\n%s", buf);
    open_str(f, "many2.csv", text); /* a data record, after a blank line */
    expect_row(f->csv, 1, NULL, 0, "h", NULL);
    expect_fatal(f, "many2.csv:3: ", "more than 256 fields");
}

static void test_open_fails(void **state)
{
    struct fixture *f = *state;
    mp_csv *c = (mp_csv *)1;
    char *path = tu_path(f->dir, "missing.csv");
    assert_int_equal(mp_csv_open(&c, path), -1);
    assert_null(c);
    char want[600];
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(mp_error_get(), want);
    free(path);
    mp_csv_close(NULL);
}

static void test_read_error(void **state)
{
    struct fixture *f = *state;
    mp_csv_row row;
    assert_int_equal(mp_csv_open(&f->csv, f->dir), 0); /* a directory opens, but cannot be read */
    assert_int_equal(mp_csv_next(f->csv, &row), -1);
    assert_non_null(strstr(mp_error_get(), "read failed"));
    assert_int_equal(strncmp(mp_error_get(), f->dir, strlen(f->dir)), 0);
}

/* Many records over several 64 KiB chunks: chunk edges may fall inside a CRLF, a quoted field
 * or a multi-byte character without changing anything. */
static void test_chunk_boundaries(void **state)
{
    struct fixture *f = *state;
    size_t cap = 2 * 1024 * 1024, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    n += (size_t)sprintf(buf, "nr;tekst\r\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)sprintf(buf + n, "%d;\"r\xC3\xA9;\"\"%d\"\"\n\"\r\n", i, i);
    mp_csv *c = open_bytes(f, "big.csv", buf, n);
    expect_row(c, 1, NULL, 0, "nr", "tekst", NULL);
    for (int i = 0; i < 20000; i++) {
        char nr[16], text[64];
        snprintf(nr, sizeof nr, "%d", i);
        snprintf(text, sizeof text, "r\xC3\xA9;\"%d\"\n", i);
        expect_row(c, 2 + 2 * (unsigned long)i, NULL, 0, nr, text, NULL);
    }
    expect_eof(c);
    free(buf);
}

/* Read `path` to its end with the fast path on or off into a transcript of every row (line,
 * problem, transcoding, fields with their lengths) and the final result and error. */
static char *transcript(const char *path, int fast, size_t *len)
{
    mp_csv *c;
    mp_csv_row row;
    size_t cap = 1 << 20, n = 0;
    char *t = malloc(cap);
    int r;
    assert_non_null(t);
    assert_int_equal(mp_csv_open(&c, path), 0);
    mp_csv_set_fast(c, fast);
    while ((r = mp_csv_next(c, &row)) == 1) {
        size_t need = 64;
        for (size_t i = 0; i < row.nfields; i++)
            need += row.lengths[i] + 24;
        while (n + need > cap) {
            cap *= 2;
            assert_non_null(t = realloc(t, cap));
        }
        n += (size_t)sprintf(t + n, "L%lu P%s T%d N%zu:", row.line, row.problem ? row.problem : "-",
                             row.transcoded, row.nfields);
        for (size_t i = 0; i < row.nfields; i++) {
            assert_int_equal(strlen(row.fields[i]), row.lengths[i]); /* no NUL inside */
            n += (size_t)sprintf(t + n, "[%zu]", row.lengths[i]);
            memcpy(t + n, row.fields[i], row.lengths[i]);
            n += row.lengths[i];
        }
        t[n++] = '\n';
    }
    n += (size_t)snprintf(t + n, cap - n, "END %d %s %c\n", r, r < 0 ? mp_error_get() : "",
                          mp_csv_separator(c) ? mp_csv_separator(c) : '?');
    mp_csv_close(c);
    *len = n;
    return t;
}

/* The fast path gives exactly the rows, problems and errors of the exact path: random files
 * built from the bytes that matter (both separators, quotes, CR, LF, spaces, UTF-8 and
 * Windows-1252 letters, now and then a NUL or an unclosed quote), large enough that records
 * cross the reader's 256 KiB buffer many times. */
static void test_fast_path_matches_exact(void **state)
{
    struct fixture *f = *state;
    static const char *const atoms[] = {
        "a",  "bc", "123456789", ";",    ",",       "\"",         "\"\"", "\r\n",    "\n",
        "\r", "  ", "\xC3\xA9",  "\xE9", "\"x;y\"", "\"l1\nl2\"", "",     "\xEF\xBB"};
    uint32_t x = 20261203;
    size_t cap = 3 << 20;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int file = 0; file < 12; file++) {
        size_t n = 0, target = file < 4 ? 2000 : (file < 8 ? 300000 : 700000);
        const char *hdr = file % 2 ? "h1;h2;h3\n" : "h1,h2,h3\r\n";
        if (file % 3 == 0) {
            memcpy(buf, "\xEF\xBB\xBF", 3);
            n = 3;
        }
        n += (size_t)sprintf(buf + n, "%s", hdr);
        while (n < target) {
            /* mostly well-formed rows (the fast path's diet), some with anything in them */
            x = x * 1103515245u + 12345u;
            if ((x >> 16) % 4 != 0) {
                n += (size_t)sprintf(buf + n, "\"%u\"%c\"r\xC3\xA9\"%cx%u%s", x % 100000,
                                     file % 2 ? ';' : ',', file % 2 ? ';' : ',', x % 77,
                                     (x >> 8) % 2 ? "\r\n" : "\n");
                continue;
            }
            for (int k = (int)((x >> 20) % 12); k >= 0; k--) {
                x = x * 1103515245u + 12345u;
                const char *a = atoms[(x >> 16) % (sizeof atoms / sizeof *atoms)];
                size_t al = strlen(a);
                memcpy(buf + n, a, al);
                n += al;
            }
            buf[n++] = '\n';
        }
        if (file == 9)
            buf[n - 7] = '\0'; /* a NUL late in the file: the same fatal error either way */
        if (file == 10)
            buf[n++] = '"'; /* a quote left open at the end */
        char name[32];
        snprintf(name, sizeof name, "random-%d.csv", file);
        open_bytes(f, name, buf, n);
        size_t la, lb;
        char *a = transcript(f->path, 1, &la), *b = transcript(f->path, 0, &lb);
        if (la != lb || memcmp(a, b, la) != 0) {
            size_t i = 0;
            while (i < la && i < lb && a[i] == b[i])
                i++;
            fail_msg("%s: fast and exact paths differ at transcript byte %zu", name, i);
        }
        free(a);
        free(b);
    }
    free(buf);
}

/* A record lying across the end of the 256 KiB input buffer, at every offset of its bytes:
 * quoted with a separator, a "" and a CRLF inside, and a CRLF line end that may be split. */
static void test_record_across_buffer(void **state)
{
    struct fixture *f = *state;
    const size_t chunk = 256 * 1024;
    static const char rec[] = "\"a;\"\"b\r\nc\";x\r\n";
    size_t cap = chunk + 4096;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t off = 0; off < sizeof rec + 2; off++) {
        /* header, then filler rows up to chunk - off bytes, then the record */
        size_t n = (size_t)sprintf(buf, "h;i\r\n");
        size_t stop = chunk - off, rows = 0;
        while (n + 8 <= stop) {
            n += (size_t)sprintf(buf + n, "1;22\r\n");
            rows++;
        }
        while (n < stop) /* pad the last filler row's second field */
            buf[n - 2] = '3', memmove(buf + n - 1, "\r\n", 2), n++;
        memcpy(buf + n, rec, sizeof rec - 1);
        n += sizeof rec - 1;
        n += (size_t)sprintf(buf + n, "z;9\n");
        open_bytes(f, "across.csv", buf, n);
        mp_csv_row row;
        assert_int_equal(mp_csv_next(f->csv, &row), 1);
        for (size_t i = 0; i < rows; i++)
            assert_int_equal(mp_csv_next(f->csv, &row), 1);
        expect_row(f->csv, 2 + rows, NULL, 0, "a;\"b\r\nc", "x", NULL);
        expect_row(f->csv, 4 + rows, NULL, 0, "z", "9", NULL);
        expect_eof(f->csv);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_semicolon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comma, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_record_without_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_windows_1252, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_is_1252, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_at_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_path_matches_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_across_buffer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
