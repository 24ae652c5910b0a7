/*
 * csv.c - see csv.h for the contract and its invariants.
 *
 * Why it is built this way: the input is a contributor's export, possibly hundreds of megabytes,
 * written by whatever a case system or Excel produces, and every byte of it may be part of a BSN.
 * So the file is read in CHUNK-sized pieces and each record is taken in two passes over memory
 * that never holds more than that one record:
 *
 *   1. scan_record() moves bytes from the chunk into c->rec until an end of line outside
 *      quotes. It enforces every fatal rule (NUL byte, MP_CSV_MAX_RECORD, an unclosed quote at
 *      end of file), counts physical lines and skips blank lines. For the header, where the
 *      separator is not yet known, both ';' and ',' end a field, and the two are counted outside
 *      quotes to choose the separator.
 *   2. The raw record is checked as strict UTF-8; if that fails the whole record is rewritten
 *      from Windows-1252 into c->out. Then split_record() cuts it into fields in place.
 *
 * Both passes run the same small quoting state machine (enum qstate). A quote only opens a
 * quoted field at the start of a field; anywhere else it is a stray character, kept as data and
 * reported as row->problem = "quoting" (invariant 3). This is what keeps a single bad quote from
 * swallowing the rest of the file: the next line is still a new record.
 *
 * Invariants kept here:
 *   - c->rec never holds more than MP_CSV_MAX_RECORD + 1 bytes of one record (the extra byte is
 *     a CR that may turn out to be part of the line end); c->out at most three times that.
 *   - Every buffer that held file bytes is wiped with sodium_memzero before it is refilled,
 *     before it is freed, and when it is replaced by a larger one.
 *   - Error texts carry only the path, a line number and a reason, never field contents.
 *   - After a fatal error c->state is FAILED and every later call fails without reading.
 */
#include "csv.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (256 * 1024)              /* input buffer: the unit of read(2) and of the fast path */
#define REC_CAP (MP_CSV_MAX_RECORD + 2) /* record + a possible final CR + NUL */

enum rstate { READING, AT_EOF, FAILED };

/* The quoting state machine shared by scan_record() and split_record(). */
enum qstate {
    FIELD_START, /* nothing of the current field read yet */
    UNQUOTED,    /* inside an unquoted field */
    QUOTED,      /* inside a quoted field */
    QUOTE_SEEN,  /* a quote inside a quoted field: either "" or the closing quote */
    AFTER_CLOSE  /* text after a closing quote (a problem) until the next separator */
};

struct mp_csv {
    int fd;
    char *path;
    unsigned char *in; /* CHUNK bytes of the file */
    size_t in_pos, in_len;
    unsigned char *rec; /* raw bytes of the current record, REC_CAP at most */
    size_t rec_cap, rec_len;
    size_t rec_dirty;   /* bytes of c->rec that may hold earlier records (wiped in bulk) */
    unsigned char *out; /* the record transcoded from Windows-1252 */
    size_t out_cap, out_len;
    char *fields[MP_CSV_MAX_FIELDS];
    size_t lengths[MP_CSV_MAX_FIELDS];
    unsigned long line; /* physical line of the next byte in the input */
    char sep;           /* 0 until the header has been read */
    int bom, started, slow_only;
    enum rstate state;
};

/* sodium_memzero for a buffer that may not be allocated yet. */
static void wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

static int fail(mp_csv *c)
{
    c->state = FAILED;
    return -1;
}

/* Next chunk of input: 1 with bytes available, 0 at end of file, -1 on a read error. */
static int fill(mp_csv *c)
{
    ssize_t n;
    wipe(c->in, c->in_len);
    c->in_pos = c->in_len = 0;
    do
        n = read(c->fd, c->in, CHUNK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        mp_error_set("%s:%lu: read failed: %s", c->path, c->line, strerror(errno));
        return fail(c);
    }
    c->in_len = (size_t)n;
    return n > 0;
}

/* Room for one more byte in c->rec, growing it (by copying, then wiping the old copy) up to
 * REC_CAP; a record that needs more is fatal. */
static int rec_reserve(mp_csv *c, unsigned long start_line)
{
    unsigned char *bigger;
    size_t cap;
    if (c->rec_len + 2 <= c->rec_cap) /* the byte and a NUL */
        return 0;
    if (c->rec_cap >= REC_CAP) {
        mp_error_set("%s:%lu: record longer than %d bytes", c->path, start_line, MP_CSV_MAX_RECORD);
        return fail(c);
    }
    cap = c->rec_cap == 0 ? CHUNK : 2 * c->rec_cap;
    if (cap > REC_CAP)
        cap = REC_CAP;
    bigger = calloc(1, cap + MP_CSV_PAD);
    if (bigger == NULL) {
        mp_error_system("%s:%lu: out of memory", c->path, start_line);
        return fail(c);
    }
    if (c->rec != NULL) {
        memcpy(bigger, c->rec, c->rec_len);
        wipe(c->rec, c->rec_cap + MP_CSV_PAD);
        free(c->rec);
    }
    c->rec = bigger;
    c->rec_cap = cap;
    return 0;
}

/*
 * Read one record's raw bytes into c->rec (NUL-terminated, line end removed), skipping blank
 * lines (a line holding only the CR of a CRLF is blank too). Returns 1 with *start_line set, 0 at
 * end of file, -1 on a fatal problem. When the separator is still unknown, nsemi/ncomma receive the
 * counts of ';' and ',' outside quotes.
 */
static int scan_record(mp_csv *c, unsigned long *start_line, size_t *nsemi, size_t *ncomma)
{
    enum qstate st = FIELD_START;
    unsigned long quote_line = 0;
    *start_line = c->line;
    *nsemi = *ncomma = 0;
    c->rec_len = 0;
    for (;;) {
        unsigned char b;
        if (c->in_pos == c->in_len) {
            int r = fill(c);
            if (r < 0)
                return -1;
            if (r == 0)
                break;
        }
        b = c->in[c->in_pos++];
        if (b == '\0') {
            mp_error_set("%s:%lu: binary data (NUL byte); is this a CSV export?", c->path, c->line);
            return fail(c);
        }
        if (b == '\n') {
            c->line++;
            if (st != QUOTED) {
                if (c->rec_len > 0 && c->rec[c->rec_len - 1] == '\r')
                    c->rec_len--;
                if (c->rec_len > 0)
                    goto done;
                *start_line = c->line; /* a blank line: start again */
                *nsemi = *ncomma = 0;
                st = FIELD_START;
                continue;
            }
        } else if (b == '"') {
            if (st == FIELD_START) {
                st = QUOTED;
                quote_line = c->line;
            } else if (st == QUOTED) {
                st = QUOTE_SEEN;
            } else if (st == QUOTE_SEEN) {
                st = QUOTED;
            } /* else a stray quote, kept as data; split_record() reports it */
        } else if (st != QUOTED && (c->sep ? b == c->sep : b == ';' || b == ',')) {
            st = FIELD_START;
            *nsemi += b == ';';
            *ncomma += b == ',';
        } else if (st == FIELD_START) {
            st = UNQUOTED;
        } else if (st == QUOTE_SEEN) {
            st = AFTER_CLOSE;
        }
        if (rec_reserve(c, *start_line) != 0)
            return -1;
        c->rec[c->rec_len++] = b;
    }
    /* End of file. */
    if (st == QUOTED) {
        mp_error_set("%s:%lu: quote opened here is never closed", c->path, quote_line);
        return fail(c);
    }
    if (c->rec_len > 0 && c->rec[c->rec_len - 1] == '\r')
        c->rec_len--;
    if (c->rec_len == 0)
        return 0;
done:
    if (c->rec_len > MP_CSV_MAX_RECORD) {
        mp_error_set("%s:%lu: record longer than %d bytes", c->path, *start_line,
                     MP_CSV_MAX_RECORD);
        return fail(c);
    }
    c->rec[c->rec_len] = '\0';
    return 1;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i], lo = 0x80, hi = 0xBF;
        size_t more;
        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF)
            more = 1;
        else if (b >= 0xE0 && b <= 0xEF)
            more = 2;
        else if (b >= 0xF0 && b <= 0xF4)
            more = 3;
        else
            return 0; /* a stray continuation byte, C0/C1 (always overlong) or F5..FF */
        if (b == 0xE0)
            lo = 0xA0; /* below is overlong */
        else if (b == 0xED)
            hi = 0x9F; /* above is a surrogate, U+D800..U+DFFF */
        else if (b == 0xF0)
            lo = 0x90; /* below is overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* above is beyond U+10FFFF */
        if (n - i <= more || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= more; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += more + 1;
    }
    return 1;
}

/*
 * Windows-1252 bytes 0x80..0x9F as code points; 0xA0..0xFF equal their Latin-1 code points.
 * Five bytes are undefined in Windows-1252 (0x81, 0x8D, 0x8F, 0x90, 0x9D); as in the WHATWG
 * encoding standard they become the C1 control with the same number (U+0081, U+008D, U+008F,
 * U+0090, U+009D), so no byte is dropped or replaced silently and the result is still valid
 * UTF-8; whether such a value is acceptable is for the field checks to decide.
 */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, /* 80..87 */
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F, /* 88..8F */
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, /* 90..97 */
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178, /* 98..9F */
};

/* Transcode c->rec into c->out (at most 3 bytes per input byte), then wipe c->rec. */
static int transcode(mp_csv *c, unsigned long line)
{
    size_t need = 3 * c->rec_len + 1, o = 0;
    if (need > c->out_cap) {
        wipe(c->out, c->out_cap);
        free(c->out);
        c->out_cap = need < CHUNK ? CHUNK : need;
        c->out = calloc(1, c->out_cap + MP_CSV_PAD);
        if (c->out == NULL) {
            c->out_cap = 0;
            mp_error_system("%s:%lu: out of memory", c->path, line);
            return fail(c);
        }
    }
    for (size_t i = 0; i < c->rec_len; i++) {
        unsigned b = c->rec[i];
        unsigned cp = b >= 0x80 && b <= 0x9F ? cp1252_high[b - 0x80] : b;
        if (cp < 0x80) {
            c->out[o++] = (unsigned char)cp;
        } else if (cp < 0x800) {
            c->out[o++] = (unsigned char)(0xC0 | (cp >> 6));
            c->out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            c->out[o++] = (unsigned char)(0xE0 | (cp >> 12));
            c->out[o++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            c->out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    c->out[o] = '\0';
    c->out_len = o;
    wipe(c->rec, c->rec_len);
    c->rec_len = 0;
    return 0;
}

/*
 * Cut a NUL-terminated record of n bytes into fields in place: output never runs ahead of input
 * (quotes and separators are dropped, each field gains one NUL where its separator was, the last
 * one at s[n]). Returns 1 when a quote was out of place, 0 when not, -1 on too many fields.
 */
static int split_record(mp_csv *c, char *s, size_t n, size_t *nfields, unsigned long line)
{
    enum qstate st = FIELD_START;
    size_t w = 0, start = 0, nf = 0;
    int problem = 0;
    for (size_t i = 0; i <= n; i++) {
        char b = s[i]; /* s[n] is the NUL that ends the last field */
        if (i == n && st == QUOTED)
            problem = 1; /* only possible in a header read with both separators */
        if (i == n || (b == c->sep && st != QUOTED)) {
            if (nf == MP_CSV_MAX_FIELDS) {
                mp_error_set("%s:%lu: more than %d fields", c->path, line, MP_CSV_MAX_FIELDS);
                return fail(c);
            }
            c->fields[nf] = s + start;
            c->lengths[nf++] = w - start;
            s[w++] = '\0';
            start = w;
            st = FIELD_START;
            continue;
        }
        switch (st) {
        case FIELD_START:
            if (b == '"') {
                st = QUOTED;
                continue;
            }
            st = UNQUOTED;
            break;
        case UNQUOTED: problem |= b == '"'; break;
        case QUOTED:
            if (b == '"') {
                st = QUOTE_SEEN;
                continue;
            }
            break;
        case QUOTE_SEEN:
            if (b == '"') { /* "" inside quotes: one quote */
                st = QUOTED;
                break;
            }
            problem = 1;
            st = AFTER_CLOSE;
            break;
        case AFTER_CLOSE: break;
        }
        s[w++] = b;
    }
    *nfields = nf;
    return problem;
}

/* ---- the fast path ---------------------------------------------------------------------- */

/*
 * Most records of a real export are plain: they lie wholly inside the input buffer, are valid
 * UTF-8 and quoted correctly. fast_record() takes such a record in one pass straight from
 * c->in, finding the bytes that matter (separator, quote, line feed, NUL, a byte >= 0x80) eight
 * at a time and copying the runs between them into c->rec with memcpy. Whatever it is not sure
 * about (a stray quote, text after a closing quote, a NUL, invalid UTF-8, too many fields, a
 * record that does not fit the buffer, the end of the file) it leaves untouched for the exact
 * two-pass path above, so both paths give the same rows, problems and errors by construction.
 */
enum { FAST_NEED = 0, FAST_DONE = 1, FAST_SLOW = 2 };

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* High bit set in the byte lanes of v equal to the byte of rep; the lowest set lane is exact
 * (a borrow can only mark lanes above a true match), which is all the callers use. */
static inline uint64_t lanes_eq(uint64_t v, uint64_t rep)
{
    uint64_t x = v ^ rep;
    return (x - ONES) & ~x & HIGHS;
}
#define SWAR 1
#else
#define SWAR 0
#endif

#ifdef __SSE2__
#include <emmintrin.h>
/* Sixteen bytes at a time where the compiler targets SSE2 (every x86-64): the bit mask of the
 * lanes equal to any of the wanted bytes, or >= 0x80. */
static inline unsigned sse_mask(const unsigned char *p, __m128i a, __m128i b, __m128i c, int use_c)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
    if (use_c)
        m = _mm_or_si128(m, _mm_cmpeq_epi8(v, c));
    return (unsigned)(_mm_movemask_epi8(m) | _mm_movemask_epi8(v)); /* high bit: >= 0x80 */
}
#endif

/* First byte in [p, end) that is a separator, LF, quote, NUL or >= 0x80 (end when none). */
static const unsigned char *scan_plain(const unsigned char *p, const unsigned char *end,
                                       unsigned char sep)
{
#ifdef __SSE2__
    {
        const __m128i a = _mm_set1_epi8('\n'), b = _mm_set1_epi8('"'), c = _mm_set1_epi8((char)sep);
        while (end - p >= 16) {
            unsigned m = sse_mask(p, a, b, c, 1);
            if (m != 0)
                return p + __builtin_ctz(m);
            p += 16;
        }
    }
#endif
#if SWAR
    const uint64_t s = ONES * sep, lf = ONES * '\n', qu = ONES * '"';
    while (end - p >= 8) {
        uint64_t v, m;
        memcpy(&v, p, 8);
        m = lanes_eq(v, s) | lanes_eq(v, lf) | lanes_eq(v, qu) | lanes_eq(v, 0) | (v & HIGHS);
        if (m != 0)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != sep && *p != '\n' && *p != '"' && *p != '\0' && *p < 0x80)
        p++;
    return p;
}

/* First byte in [p, end) that is a quote, LF, NUL or >= 0x80 (inside a quoted field). */
static const unsigned char *scan_quoted(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    {
        const __m128i a = _mm_set1_epi8('\n'), b = _mm_set1_epi8('"');
        while (end - p >= 16) {
            unsigned m = sse_mask(p, a, b, a, 0);
            if (m != 0)
                return p + __builtin_ctz(m);
            p += 16;
        }
    }
#endif
#if SWAR
    const uint64_t lf = ONES * '\n', qu = ONES * '"';
    while (end - p >= 8) {
        uint64_t v, m;
        memcpy(&v, p, 8);
        m = lanes_eq(v, lf) | lanes_eq(v, qu) | lanes_eq(v, 0) | (v & HIGHS);
        if (m != 0)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != '\n' && *p != '"' && *p != '\0' && *p < 0x80)
        p++;
    return p;
}

/* Copy a run of field bytes. Most runs are short: those are copied as one 16-byte block, which
 * may read up to 15 bytes past the run (c->in has COPY_SLACK spare bytes) and write as many
 * past it (c->rec has MP_CSV_PAD); mp_csv_next counts them in what it wipes. */
#define COPY_SLACK 16
static inline void copy_run(unsigned char *o, const unsigned char *p, size_t n)
{
    if (n <= COPY_SLACK)
        memcpy(o, p, COPY_SLACK);
    else
        memcpy(o, p, n);
}

/* One record from c->in into c->rec and *row: FAST_DONE, FAST_NEED (the buffer ends inside
 * it: read more and try again) or FAST_SLOW (leave it to the exact path). Nothing is consumed
 * unless it returns FAST_DONE. */
static int fast_record(mp_csv *c, mp_csv_row *row)
{
    const unsigned char *p = c->in + c->in_pos, *end = c->in + c->in_len, *raw;
    const unsigned char sep = (unsigned char)c->sep;
    unsigned char *o = c->rec;
    unsigned long line = c->line, start_line;
    size_t nf = 0;
    int high = 0;

    for (;;) { /* blank lines: nothing, or only the CR of a CRLF */
        if (p == end)
            return FAST_NEED;
        if (*p == '\n') {
            p++;
            line++;
            continue;
        }
        if (*p == '\r') {
            if (p + 1 == end)
                return FAST_NEED;
            if (p[1] == '\n') {
                p += 2;
                line++;
                continue;
            }
        }
        break;
    }
    start_line = line;
    raw = p;
    for (;;) { /* one field per iteration; p < end here */
        unsigned char *fs = o;
        if (*p == '"') {
            p++;
            for (;;) {
                const unsigned char *q = scan_quoted(p, end);
                copy_run(o, p, (size_t)(q - p));
                o += q - p;
                p = q;
                if (p == end)
                    return FAST_NEED;
                if (*p == '\n') {
                    line++;
                    *o++ = *p++;
                } else if (*p >= 0x80) {
                    high = 1;
                    *o++ = *p++;
                } else if (*p != '"') {
                    return FAST_SLOW; /* NUL */
                } else if (p + 1 == end) {
                    return FAST_NEED;
                } else if (p[1] == '"') {
                    *o++ = '"';
                    p += 2;
                } else {
                    p++; /* the closing quote; p < end */
                    break;
                }
            }
            if (*p == '\r') {
                if (p + 1 == end)
                    return FAST_NEED;
                if (p[1] != '\n')
                    return FAST_SLOW; /* text after the closing quote */
                p++;
            } else if (*p != sep && *p != '\n') {
                return FAST_SLOW;
            }
        } else {
            for (;;) {
                const unsigned char *q = scan_plain(p, end, sep);
                copy_run(o, p, (size_t)(q - p));
                o += q - p;
                p = q;
                if (p == end)
                    return FAST_NEED;
                if (*p < 0x80)
                    break;
                high = 1;
                *o++ = *p++;
            }
            if (*p != sep && *p != '\n')
                return FAST_SLOW; /* a stray quote or a NUL */
            if (*p == '\n' && o > fs && o[-1] == '\r')
                o--; /* the CR of a CRLF */
        }
        if (nf == MP_CSV_MAX_FIELDS)
            return FAST_SLOW;
        c->fields[nf] = (char *)fs;
        c->lengths[nf++] = (size_t)(o - fs);
        *o++ = '\0';
        if (*p++ == '\n')
            break;
        if (p == end)
            return FAST_NEED;
    }
    if (high && !utf8_valid(raw, (size_t)(p - raw)))
        return FAST_SLOW; /* Windows-1252: transcoded by the exact path */
    c->in_pos = (size_t)(p - c->in);
    c->line = line + 1;
    c->rec_len = (size_t)(o - c->rec);
    row->nfields = nf;
    row->fields = c->fields;
    row->lengths = c->lengths;
    row->line = start_line;
    row->problem = NULL;
    row->transcoded = 0;
    return FAST_DONE;
}

/* Keep the unread bytes, moved to the front of c->in, and read more after them: 1 with more
 * bytes, 0 at end of file or when the buffer is full of one record, -1 on a read error. */
static int refill_keep(mp_csv *c)
{
    size_t keep = c->in_len - c->in_pos;
    ssize_t n;
    if (keep == CHUNK)
        return 0;
    memmove(c->in, c->in + c->in_pos, keep);
    wipe(c->in + keep, c->in_len - keep);
    wipe(c->rec, c->rec_dirty); /* the records taken from the bytes just dropped */
    c->rec_dirty = 0;
    c->in_pos = 0;
    c->in_len = keep;
    do
        n = read(c->fd, c->in + keep, CHUNK - keep);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        mp_error_set("%s:%lu: read failed: %s", c->path, c->line, strerror(errno));
        return fail(c);
    }
    c->in_len += (size_t)n;
    return n > 0;
}

int mp_csv_open(mp_csv **out, const char *path)
{
    mp_csv *c;
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c != NULL)
        c->fd = -1;
    if (c == NULL || (c->path = strdup(path)) == NULL ||
        (c->in = calloc(1, CHUNK + COPY_SLACK)) == NULL) {
        mp_csv_close(c);
        return mp_error_system("%s: out of memory", path);
    }
    /* The fast path writes a record's fields into c->rec, never more bytes than it read from
     * one buffer of input plus a NUL, so c->rec starts at that size. */
    if ((c->rec = calloc(1, CHUNK + 1 + MP_CSV_PAD)) == NULL) {
        mp_csv_close(c);
        return mp_error_system("%s: out of memory", path);
    }
    c->rec_cap = CHUNK + 1;
    c->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c->fd < 0) {
        int e = errno;
        mp_csv_close(c);
        return mp_error_set("%s: cannot open: %s", path, strerror(e));
    }
    c->line = 1;
    /* Look at the first chunk for NUL bytes before anything is parsed: a binary file (a PDF,
     * an .xlsx) must be called binary, not "missing column bsn" because its first line happened
     * to be text. pread leaves the file offset alone; a pipe (ESPIPE) is checked record by
     * record instead. */
    ssize_t got = pread(c->fd, c->in, CHUNK, 0);
    if (got > 0) {
        const unsigned char *nul = memchr(c->in, '\0', (size_t)got);
        if (nul != NULL) {
            unsigned long line = 1;
            for (const unsigned char *q = c->in; q < nul; q++)
                line += *q == '\n';
            wipe(c->in, (size_t)got);
            mp_csv_close(c);
            return mp_error_set("%s:%lu: binary data (NUL byte); is this a CSV export?", path,
                                line);
        }
        wipe(c->in, (size_t)got);
    }
    *out = c;
    return 0;
}

/* Skip a UTF-8 byte order mark at the very start of the file, reading until 3 bytes are there
 * (read(2) may return fewer) or the file ends. */
static int skip_bom(mp_csv *c)
{
    while (c->in_len < 3) {
        ssize_t n = read(c->fd, c->in + c->in_len, CHUNK - c->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mp_error_set("%s:1: read failed: %s", c->path, strerror(errno));
            return fail(c);
        }
        if (n == 0)
            break;
        c->in_len += (size_t)n;
    }
    if (c->in_len >= 3 && memcmp(c->in, "\xEF\xBB\xBF", 3) == 0) {
        c->bom = 1;
        c->in_pos = 3;
    }
    return 0;
}

int mp_csv_next(mp_csv *c, mp_csv_row *row)
{
    unsigned long line;
    size_t nsemi, ncomma;
    char *s;
    size_t n;
    int r;
    if (c->state == FAILED)
        return mp_error_set("%s: cannot read further after an earlier error", c->path);
    if (c->state == AT_EOF)
        return 0;
    /* The previous record is no longer needed (its fields are invalid from now on). Its bytes
     * in c->rec are wiped in bulk, with the input they came from (refill_keep), rather than a
     * record at a time: until then the same bytes are in c->in anyway. */
    if (c->rec_len + COPY_SLACK > c->rec_dirty)
        c->rec_dirty = c->rec_len + COPY_SLACK; /* copy_run writes past the record */
    wipe(c->out, c->out_len);
    c->rec_len = c->out_len = 0;
    if (!c->started) {
        c->started = 1;
        if (skip_bom(c) != 0)
            return -1;
    }
    while (c->sep != 0 && !c->slow_only) { /* after the header: the fast path first */
        r = fast_record(c, row);
        if (r == FAST_DONE)
            return 1;
        if (r == FAST_SLOW || (r = refill_keep(c)) == 0)
            break;
        if (r < 0)
            return -1;
    }
    wipe(c->rec, c->rec_dirty);
    c->rec_dirty = 0;
    r = scan_record(c, &line, &nsemi, &ncomma);
    if (r < 0)
        return -1;
    if (r == 0) {
        if (c->sep == 0) {
            mp_error_set("%s: empty file, no header record", c->path);
            return fail(c);
        }
        c->state = AT_EOF;
        return 0;
    }
    if (c->sep == 0)
        c->sep = ncomma > nsemi ? ',' : ';';
    row->transcoded = !utf8_valid(c->rec, c->rec_len);
    if (row->transcoded && transcode(c, line) != 0)
        return -1;
    s = (char *)(row->transcoded ? c->out : c->rec);
    n = row->transcoded ? c->out_len : c->rec_len;
    r = split_record(c, s, n, &row->nfields, line);
    if (r < 0)
        return -1;
    row->fields = c->fields;
    row->lengths = c->lengths;
    row->line = line;
    row->problem = r ? "quoting" : NULL;
    return 1;
}

void mp_csv_set_fast(mp_csv *c, int on)
{
    c->slow_only = !on;
}

/* 0 before the header has been read. */
char mp_csv_separator(const mp_csv *c)
{
    return c->sep;
}

int mp_csv_had_bom(const mp_csv *c)
{
    return c->bom;
}

void mp_csv_close(mp_csv *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    wipe(c->in, c->in != NULL ? CHUNK : 0);
    wipe(c->rec, c->rec != NULL ? c->rec_cap + MP_CSV_PAD : 0);
    wipe(c->out, c->out_cap + (c->out != NULL ? MP_CSV_PAD : 0));
    free(c->in);
    free(c->rec);
    free(c->out);
    free(c->path);
    free(c);
}
