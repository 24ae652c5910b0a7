/*
 * ingest.c - validation, pseudonymisation and distinct counting (invariants in ingest.h).
 *
 * The person table (layout and cost in ingest.h) is keyed by a prefix of the pseudonym; a
 * person's spells are a singly linked list in a pool of fixed-size chunks, since rows of one
 * person can be anywhere in the file. Counting happens once the whole file is read, because a
 * metric such as herinstroom needs all of a person's spells.
 *
 * What makes a row cheap: the fields come with their lengths from the CSV reader, so nothing is
 * measured twice; a code column (spell type, gemeente, end reason, sex) has few distinct values,
 * so each column keeps a small table of raw value -> code and the mapping and code lists are
 * consulted once per distinct value; dates are parsed by hand; and rows of one person usually
 * follow each other, so the last person found is tried before the table.
 */
#include "ingest.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "bsn.h"
#include "canon.h"
#include "codes.h"
#include "csv.h"
#include "date.h"
#include "fileio.h"
#include "pseudonym.h"

static const char *const reject_codes[MP_REJ_COUNT] = {"columns",
                                                       "quoting",
                                                       "bsn_format",
                                                       "bsn_elfproef",
                                                       "date_format",
                                                       "date_order",
                                                       "date_range",
                                                       "municipality_unknown",
                                                       "municipality_outside_region",
                                                       "spell_type_unknown",
                                                       "end_reason_unknown",
                                                       "end_reason_without_end",
                                                       "sex_unknown",
                                                       "flag_unknown",
                                                       "birth_date_conflict",
                                                       "indicator_unknown"};

static const char *const reject_texts[MP_REJ_COUNT] = {
    "wrong number of fields for the header",
    "a quote character in the wrong place",
    "BSN is not 8 or 9 digits",
    "BSN fails the elfproef",
    "a date that does not parse or cannot exist",
    "end date before start date, or start before birth",
    "date out of range (birth in the future or before 1900, spell before 1950, after today, or "
    "before age 15)",
    "not a CBS gemeentecode",
    "gemeente outside the region",
    "unknown spell type",
    "unknown end reason",
    "end reason on a spell without an end date",
    "unknown value for sex",
    "unknown flag",
    "same person with two different dates of birth",
    "a J/N indicator column holds something other than J/N, Ja/Nee, 1/0, true/false, y/n"};

const char *mp_reject_code(int r)
{
    return r >= 0 && r < MP_REJ_COUNT ? reject_codes[r] : "?";
}

const char *mp_reject_description(int r)
{
    return r >= 0 && r < MP_REJ_COUNT ? reject_texts[r] : "?";
}

/* ---- mapping ---------------------------------------------------------------------------- */

enum {
    C_BSN = MP_F_BSN,
    C_BIRTH = MP_F_BIRTH,
    C_SEX = MP_F_SEX,
    C_MUNI = MP_F_MUNI,
    C_TYPE = MP_F_TYPE,
    C_START = MP_F_START,
    C_END = MP_F_END,
    C_REASON = MP_F_REASON,
    C_FLAGS = MP_F_FLAGS,
    C_COUNT = MP_F_COUNT
};
static const char *const col_names[C_COUNT] = {"bsn",          "birth_date", "sex",
                                               "municipality", "spell_type", "start_date",
                                               "end_date",     "end_reason", "flags"};
static const int col_required[C_COUNT] = {1, 1, 0, 1, 1, 1, 0, 0, 0};

const char *mp_field_name(int f)
{
    return f >= 0 && f < C_COUNT ? col_names[f] : "?";
}

enum datefmt { DF_ISO, DF_DMY_DASH, DF_DMY_SLASH };

/* A J/N column: a spell of its own (type, start and end from its own columns or the row's) or
 * a flag of the person. */
typedef struct indicator {
    const char *column, *start, *end; /* start/end: NULL = the row's */
    int spell_type;                   /* -1 for a flag */
    int flag;
} indicator;

struct mp_mapping {
    cJSON *json;
    const char *columns[C_COUNT][MP_MAPPING_MAX_SOURCES]; /* export header names */
    size_t ncolumns[C_COUNT];                             /* 0 = the canonical name */
    int datefmt;
    const cJSON *values[C_COUNT]; /* objects raw -> canonical, or NULL */
    char flag_sep;
    size_t nind;
    indicator ind[MP_MAPPING_MAX_INDICATORS];
};

void mp_mapping_free(mp_mapping *m)
{
    if (m == NULL)
        return;
    cJSON_Delete(m->json);
    free(m);
}

static int col_index(const char *name)
{
    for (int i = 0; i < C_COUNT; i++)
        if (strcmp(col_names[i], name) == 0)
            return i;
    return -1;
}

/* "columns": {"field": "Header"} or {"field": ["Header 1", "Header 2"]} (first non-empty). */
static int mapping_columns(mp_mapping *m, const cJSON *cols)
{
    const cJSON *it, *x;
    if (!cJSON_IsObject(cols))
        return mp_error_set("\"columns\" must be an object");
    for (it = cols->child; it != NULL; it = it->next) {
        int c = col_index(it->string);
        if (c < 0 || !(cJSON_IsString(it) || cJSON_IsArray(it)))
            return mp_error_set("columns: \"%.40s\" is not a canonical column name (see "
                                "docs/input-format.md)",
                                it->string);
        if (cJSON_IsString(it)) {
            m->columns[c][m->ncolumns[c]++] = it->valuestring;
            continue;
        }
        cJSON_ArrayForEach (x, it) {
            if (!cJSON_IsString(x) || m->ncolumns[c] == MP_MAPPING_MAX_SOURCES)
                return mp_error_set("columns.%s: a list of 1 to %d column names", it->string,
                                    MP_MAPPING_MAX_SOURCES);
            m->columns[c][m->ncolumns[c]++] = x->valuestring;
        }
        if (m->ncolumns[c] == 0)
            return mp_error_set("columns.%s: an empty list", it->string);
    }
    return 0;
}

/* "indicators": [{"column": "DGR J/N", "spell_type": "doelgroepenregister",
 *                 "start_date": "DGR vanaf", "end_date": "DGR tot"}, {"column": ..., "flag": ...}]
 */
static int mapping_indicators(mp_mapping *m, const cJSON *arr)
{
    static const char *const fields[] = {"column",     "spell_type", "flag",
                                         "start_date", "end_date",   NULL};
    const cJSON *it;
    if (!cJSON_IsArray(arr))
        return mp_error_set("\"indicators\" must be an array");
    cJSON_ArrayForEach (it, arr) {
        indicator *d;
        const char *target;
        if (m->nind == MP_MAPPING_MAX_INDICATORS)
            return mp_error_set("indicators: more than %d", MP_MAPPING_MAX_INDICATORS);
        d = &m->ind[m->nind++];
        if (!cJSON_IsObject(it) || mp_json_only(it, "indicator", fields) != 0 ||
            mp_json_str(it, "column", &d->column) != 0)
            return mp_error_prefix("indicators[%zu]: ", m->nind - 1);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "spell_type");
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(it, "flag");
        if ((st == NULL) == (fl == NULL))
            return mp_error_set("indicators[%zu] (\"%.40s\"): needs exactly one of \"spell_type\" "
                                "and \"flag\"",
                                m->nind - 1, d->column);
        d->spell_type = -1;
        if (st != NULL) {
            target = cJSON_IsString(st) ? st->valuestring : "";
            if ((d->spell_type = mp_spell_type_parse(target)) < 0)
                return mp_error_set("indicators[%zu]: unknown spell_type \"%.40s\"", m->nind - 1,
                                    target);
        } else {
            target = cJSON_IsString(fl) ? fl->valuestring : "";
            if ((d->flag = mp_flag_parse(target)) < 0)
                return mp_error_set("indicators[%zu]: unknown flag \"%.40s\"", m->nind - 1, target);
        }
        const cJSON *sd = cJSON_GetObjectItemCaseSensitive(it, "start_date");
        const cJSON *ed = cJSON_GetObjectItemCaseSensitive(it, "end_date");
        if ((sd != NULL && !cJSON_IsString(sd)) || (ed != NULL && !cJSON_IsString(ed)))
            return mp_error_set("indicators[%zu]: start_date and end_date are column names",
                                m->nind - 1);
        if ((sd != NULL || ed != NULL) && d->spell_type < 0)
            return mp_error_set("indicators[%zu]: a flag has no start_date or end_date",
                                m->nind - 1);
        if (ed != NULL && sd == NULL)
            return mp_error_set("indicators[%zu]: an end_date column needs a start_date column",
                                m->nind - 1);
        d->start = sd != NULL ? sd->valuestring : NULL;
        d->end = ed != NULL ? ed->valuestring : NULL;
    }
    return 0;
}

int mp_mapping_load(mp_mapping **out, const char *path)
{
    static const char *const fields[] = {"mijlpaal_mapping", "columns",    "date_format", "values",
                                         "flags_separator",  "indicators", NULL};
    unsigned char *text;
    size_t len;
    long long v;
    const cJSON *it;
    mp_mapping *m = calloc(1, sizeof *m);
    if (m == NULL)
        return mp_error_system("out of memory");
    m->flag_sep = '|';
    if (mp_file_read(path, 1024 * 1024, &text, &len) != 0) {
        free(m);
        return -1;
    }
    if (mp_canon_parse(&m->json, (char *)text, len) != 0 || !cJSON_IsObject(m->json) ||
        mp_json_only(m->json, "mapping", fields) != 0 ||
        mp_json_int(m->json, "mijlpaal_mapping", 1, 1, &v) != 0)
        goto fail;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(m->json, "columns");
    if (cols != NULL && mapping_columns(m, cols) != 0)
        goto fail;
    const cJSON *ind = cJSON_GetObjectItemCaseSensitive(m->json, "indicators");
    if (ind != NULL && mapping_indicators(m, ind) != 0)
        goto fail;
    const cJSON *df = cJSON_GetObjectItemCaseSensitive(m->json, "date_format");
    if (df != NULL) {
        if (!cJSON_IsString(df)) {
            mp_error_set("\"date_format\" must be a string");
            goto fail;
        }
        if (strcmp(df->valuestring, "YYYY-MM-DD") == 0)
            m->datefmt = DF_ISO;
        else if (strcmp(df->valuestring, "DD-MM-YYYY") == 0 ||
                 strcmp(df->valuestring, "D-M-YYYY") == 0)
            m->datefmt = DF_DMY_DASH;
        else if (strcmp(df->valuestring, "DD/MM/YYYY") == 0)
            m->datefmt = DF_DMY_SLASH;
        else {
            mp_error_set("date_format \"%.20s\" is not one of YYYY-MM-DD, DD-MM-YYYY, "
                         "DD/MM/YYYY, D-M-YYYY",
                         df->valuestring);
            goto fail;
        }
    }
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(m->json, "values");
    if (vals != NULL && !cJSON_IsObject(vals)) {
        mp_error_set("\"values\" must be an object of column -> {raw: canonical}");
        goto fail;
    }
    if (vals != NULL) {
        for (it = vals->child; it != NULL; it = it->next) {
            int c = col_index(it->string);
            const cJSON *x;
            if (c < 0 || !cJSON_IsObject(it)) {
                mp_error_set("values: \"%.40s\" is not a mappable column", it->string);
                goto fail;
            }
            cJSON_ArrayForEach (x, it)
                if (!cJSON_IsString(x)) {
                    mp_error_set("values.%s: every value must be a string", it->string);
                    goto fail;
                }
            m->values[c] = it;
        }
    }
    const cJSON *sep = cJSON_GetObjectItemCaseSensitive(m->json, "flags_separator");
    if (sep != NULL) {
        if (!cJSON_IsString(sep) || strlen(sep->valuestring) != 1) {
            mp_error_set("flags_separator must be one character");
            goto fail;
        }
        m->flag_sep = sep->valuestring[0];
    }
    free(text);
    *out = m;
    return 0;
fail:
    free(text);
    mp_mapping_free(m);
    return mp_error_prefix("%s: ", path);
}

/* ---- person table ----------------------------------------------------------------------- */

#define KEY_WORDS 3 /* 12 bytes of the pseudonym */
#define SEGMENTS 256
#define POOL_CHUNK_BITS 16
#define DAY0 (-25567) /* 1900-01-01: packed dates count from here */

/* attr: bit 0 used, bits 1-2 sex, bits 3-5 flags, bits 6.. birth - DAY0 (< 2^26). */
typedef struct slot {
    uint32_t key[KEY_WORDS];
    uint32_t attr;
    uint32_t head; /* spell pool index + 1; 0 = none */
} slot;

typedef struct seg {
    slot *s;
    uint32_t cap, n;
} seg;

/* A kept spell: a = start - DAY0 | type << 24 | reason << 28; end = end - DAY0 or UINT32_MAX. */
typedef struct spell_node {
    uint32_t a, end, next;
} spell_node;

/*
 * All of the table's memory - segments and spell chunks - comes from a few large anonymous
 * mappings, bump-allocated in whole pages: zero pages cost nothing until touched, and with
 * transparent huge pages (MADV_HUGEPAGE, where the kernel allows it) a random probe does not
 * also miss the TLB, which at a million persons was most of the cost of a lookup. A segment
 * that grows gives its old pages back (wiped, then MADV_DONTNEED), so memory follows the
 * persons. What is still in use is wiped before the mappings are unmapped.
 */
#define MAX_REGIONS 24
typedef struct region {
    unsigned char *base;
    size_t size, used;
} region;

typedef struct table {
    seg segs[SEGMENTS];
    region regs[MAX_REGIONS];
    size_t nregs;
    size_t n;
    spell_node **chunks;
    size_t nchunks, capchunks;
    uint32_t nspells;
    slot *last; /* the person of the previous row, or NULL */
} table;

#define PAGE 4096
static size_t page_round(size_t n)
{
    return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

/* `bytes` of zeroed, page-aligned memory; NULL when out of memory. */
static void *table_alloc(table *t, size_t bytes, size_t reserve_hint)
{
    region *r = t->nregs ? &t->regs[t->nregs - 1] : NULL;
    bytes = page_round(bytes);
    if (r == NULL || r->size - r->used < bytes) {
        size_t size = r == NULL ? reserve_hint : 2 * r->size;
        if (size < bytes)
            size = bytes;
        size = (size + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1); /* whole huge pages */
        if (t->nregs == MAX_REGIONS)
            return NULL;
        void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
#ifdef MADV_HUGEPAGE
        madvise(m, size, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
        r = &t->regs[t->nregs++];
        r->base = m;
        r->size = size;
        r->used = 0;
    }
    void *p = r->base + r->used;
    r->used += bytes;
    return p;
}

/* Wipe memory from table_alloc and give its pages back to the kernel. */
static void table_release(void *p, size_t bytes)
{
    sodium_memzero(p, bytes);
    madvise(p, page_round(bytes), MADV_DONTNEED);
}

static void table_free(table *t)
{
    /* What is live is wiped; what was released is zero already (and not touched again). */
    for (size_t i = 0; i < SEGMENTS; i++)
        if (t->segs[i].s != NULL)
            sodium_memzero(t->segs[i].s, t->segs[i].cap * sizeof(slot));
    for (size_t i = 0; i < t->nchunks; i++)
        sodium_memzero(t->chunks[i], sizeof(spell_node) << POOL_CHUNK_BITS);
    for (size_t i = 0; i < t->nregs; i++)
        munmap(t->regs[i].base, t->regs[i].size);
    free(t->chunks);
    memset(t, 0, sizeof *t);
}

/* First sizes from the file: about 70 bytes a row (so many rows), and persons for three rows
 * in four (a guess that errs large for real case systems, which have several rows a person;
 * an export with more persons grows segment by segment). */
static int table_init(table *t, size_t file_bytes)
{
    size_t rows = file_bytes / 70, persons = rows / 4 * 3;
    size_t want = persons / SEGMENTS * 5 / 4 + 1;
    uint32_t cap = (uint32_t)((want < (1u << 24) ? want : (1u << 24)) + 63) & ~63u;
    if (cap < 256)
        cap = 256; /* each segment is page-rounded by table_alloc */
    size_t seg_bytes = page_round((size_t)cap * sizeof(slot));
    size_t reserve = seg_bytes * SEGMENTS + rows * sizeof(spell_node) + (8u << 20);
    for (size_t i = 0; i < SEGMENTS; i++) {
        if ((t->segs[i].s = table_alloc(t, seg_bytes, reserve)) == NULL)
            return -1;
        t->segs[i].cap = cap;
    }
    return 0;
}

/* Any capacity, not only powers of two (so that the table can be sized close to the file):
 * the home slot is key[1] scaled to [0, cap) by a multiply and shift (key[0]'s low byte chose
 * the segment; the words of a PRF output are independent and uniform). */
static inline uint32_t slot_home(const uint32_t key[KEY_WORDS], uint32_t cap)
{
    return (uint32_t)(((uint64_t)key[1] * cap) >> 32);
}

static inline uint32_t slot_next(uint32_t i, uint32_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

/* Grow one segment by half (the old copy wiped and released): only 1/256 of the table exists
 * twice. */
static int seg_grow(table *t, seg *g)
{
    uint32_t ncap = (g->cap + g->cap / 2 + 63) & ~63u; /* half again */
    slot *ns = table_alloc(t, (size_t)ncap * sizeof *ns, 0);
    if (ns == NULL)
        return -1;
    for (uint32_t i = 0; i < g->cap; i++) {
        if (g->s[i].attr == 0)
            continue;
        uint32_t h = slot_home(g->s[i].key, ncap);
        while (ns[h].attr != 0)
            h = slot_next(h, ncap);
        ns[h] = g->s[i];
    }
    table_release(g->s, (size_t)g->cap * sizeof *g->s);
    g->s = ns;
    g->cap = ncap;
    return 0;
}

/* The slot a lookup of `key` starts at (for a prefetch; a macro because gcc treats a function
 * whose only effect is a prefetch as pure and drops the call). */
#define TABLE_HOME(t, key)                                                                         \
    (&(t)->segs[(key)[0] & (SEGMENTS - 1)]                                                         \
          .s[slot_home((key), (t)->segs[(key)[0] & (SEGMENTS - 1)].cap)])

/* The person's slot; *created = 1 for a new one (attr still 0: the caller sets it). */
static slot *table_find(table *t, const uint32_t key[KEY_WORDS], int *created)
{
    slot *p = t->last;
    *created = 0;
    if (p != NULL && p->key[0] == key[0] && p->key[1] == key[1] && p->key[2] == key[2])
        return p;
    seg *g = &t->segs[key[0] & (SEGMENTS - 1)];
    if ((g->n + 1) * 5 > (size_t)g->cap * 4) {
        if (seg_grow(t, g) != 0)
            return NULL;
        t->last = NULL;
    }
    uint32_t h = slot_home(key, g->cap);
    for (;; h = slot_next(h, g->cap)) {
        p = &g->s[h];
        if (p->attr == 0)
            break;
        if (p->key[0] == key[0] && p->key[1] == key[1] && p->key[2] == key[2])
            return t->last = p;
    }
    memcpy(p->key, key, sizeof p->key);
    g->n++;
    t->n++;
    *created = 1;
    return t->last = p;
}

static inline spell_node *pool_at(const table *t, uint32_t i)
{
    return &t->chunks[i >> POOL_CHUNK_BITS][i & ((1u << POOL_CHUNK_BITS) - 1)];
}

/* Add a spell; with dedupe, an identical spell of the person is not added twice (J/N columns
 * repeat on every row of a person). */
static int table_add_spell(table *t, slot *p, uint32_t a, uint32_t end, int dedupe)
{
    if (dedupe)
        for (uint32_t k = p->head; k != 0; k = pool_at(t, k - 1)->next)
            if (pool_at(t, k - 1)->a == a && pool_at(t, k - 1)->end == end)
                return 0;
    if (t->nspells == UINT32_MAX - 1)
        return -1;
    if ((t->nspells >> POOL_CHUNK_BITS) == t->nchunks) {
        if (t->nchunks == t->capchunks) {
            size_t ncap = t->capchunks ? 2 * t->capchunks : 64;
            spell_node **nc = realloc(t->chunks, ncap * sizeof *nc);
            if (nc == NULL)
                return -1;
            t->chunks = nc;
            t->capchunks = ncap;
        }
        if ((t->chunks[t->nchunks] = table_alloc(t, sizeof(spell_node) << POOL_CHUNK_BITS, 0)) ==
            NULL)
            return -1;
        t->nchunks++;
    }
    spell_node *s = pool_at(t, t->nspells);
    s->a = a;
    s->end = end;
    s->next = p->head;
    p->head = ++t->nspells;
    return 1;
}

/* ---- field parsing ---------------------------------------------------------------------- */

/* A field trimmed of spaces and tabs, NUL-terminated in place. */
typedef struct fld {
    char *s;
    size_t n;
} fld;

static fld trim_field(char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    s[n] = '\0';
    return (fld){s, n};
}

/* Map a raw value through the mapping's table for column c. Values not listed pass through,
 * unless the table has a "*" entry: then every other non-empty value maps to it. */
static const char *map_value(const mp_mapping *m, int c, const char *raw)
{
    if (m == NULL || m->values[c] == NULL)
        return raw;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->values[c], raw);
    if (v == NULL && *raw != '\0')
        v = cJSON_GetObjectItemCaseSensitive(m->values[c], "*");
    return v != NULL ? v->valuestring : raw;
}

/* A short field as three zero-padded words, for comparing and hashing without a byte loop.
 * Reads up to 24 bytes from the field's start: csv.h's MP_CSV_PAD makes that safe for fields
 * from the reader; the empty field (possibly a literal) is never read. */
typedef struct word3 {
    uint64_t w[3];
} word3;
#define WORD3_MAX 24

static inline word3 word3_of(const fld *f)
{
    word3 k = {{0, 0, 0}};
    if (f->n == 0)
        return k;
    memcpy(k.w, f->s, sizeof k.w);
    for (size_t i = 0; i < 3; i++) {
        size_t lo = 8 * i;
        if (f->n <= lo)
            k.w[i] = 0;
        else if (f->n < lo + 8)
            k.w[i] &= (UINT64_C(1) << (8 * (f->n - lo))) - 1;
    }
    return k;
}

static inline int word3_eq(const word3 *a, const word3 *b)
{
    return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2])) == 0;
}

/* Raw value -> code, for the columns with few distinct values (values of at most 23 bytes):
 * an open-addressing table of CACHE_SLOTS, at most half full, with the previous row's value
 * tried first. Only successful lookups are kept, so a file full of distinct bad values cannot
 * push the good ones out. */
#define CACHE_SLOTS 64
typedef struct code_cache {
    int last; /* slot of the previous row's value, -1 = none */
    unsigned n;
    unsigned char used[CACHE_SLOTS], len[CACHE_SLOTS];
    word3 val[CACHE_SLOTS];
    int code[CACHE_SLOTS];
} code_cache;

static inline unsigned cache_home(const word3 *k, size_t n)
{
    uint64_t h = (k->w[0] ^ (k->w[1] * UINT64_C(0x9E3779B97F4A7C15)) ^ k->w[2] ^ n) *
                 UINT64_C(0xFF51AFD7ED558CCD);
    return (unsigned)(h >> 58) & (CACHE_SLOTS - 1);
}

static int cache_get(code_cache *cc, const fld *f, const word3 *k, int *code)
{
    if (cc->last >= 0 && cc->len[cc->last] == f->n && word3_eq(&cc->val[cc->last], k)) {
        *code = cc->code[cc->last];
        return 1;
    }
    for (unsigned i = cache_home(k, f->n); cc->used[i]; i = (i + 1) & (CACHE_SLOTS - 1))
        if (cc->len[i] == f->n && word3_eq(&cc->val[i], k)) {
            cc->last = (int)i;
            *code = cc->code[i];
            return 1;
        }
    return 0;
}

static void cache_put(code_cache *cc, const fld *f, const word3 *k, int code)
{
    unsigned i;
    if (cc->n == CACHE_SLOTS / 2)
        return;
    for (i = cache_home(k, f->n); cc->used[i]; i = (i + 1) & (CACHE_SLOTS - 1))
        ;
    cc->val[i] = *k;
    cc->len[i] = (unsigned char)f->n;
    cc->code[i] = code;
    cc->used[i] = 1;
    cc->last = (int)i;
    cc->n++;
}

static int gemeente_code(const mp_mapping *m, const char *raw)
{
    char gm[7];
    if (!mp_gemeente_normalise(gm, map_value(m, C_MUNI, raw)))
        return -1;
    return atoi(gm + 2);
}

static int code_of(code_cache *cc, const mp_mapping *m, int c, const fld *f)
{
    int code;
    word3 k;
    /* The canonical gemeentecode "GM0344", unmapped: read it directly (mp_gemeente_normalise
     * gives the same number). */
    if (c == C_MUNI && f->n == 6 && (m == NULL || m->values[C_MUNI] == NULL) &&
        (f->s[0] | 0x20) == 'g' && (f->s[1] | 0x20) == 'm') {
        int v = 0, ok = 1;
        for (int i = 2; i < 6; i++) {
            unsigned d = (unsigned)(unsigned char)f->s[i] - '0';
            ok &= d <= 9;
            v = v * 10 + (int)d;
        }
        if (ok)
            return v > 0 ? v : -1;
    }
    int cacheable = f->n < WORD3_MAX;
    if (cacheable) {
        k = word3_of(f);
        if (cache_get(cc, f, &k, &code))
            return code;
    }
    switch (c) {
    case C_MUNI: code = gemeente_code(m, f->s); break;
    case C_TYPE: code = mp_spell_type_parse(map_value(m, c, f->s)); break;
    case C_REASON: code = mp_end_reason_parse(map_value(m, c, f->s)); break;
    default: code = mp_sex_parse(map_value(m, c, f->s)); break;
    }
    if (code >= 0 && cacheable)
        cache_put(cc, f, &k, code);
    return code;
}

/* A date as day number and civil parts (no library call: this runs three times a row). */
typedef struct civil {
    int32_t days;
    int y, m, d;
} civil;

static int two_digits(const char *s, int *v)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

/* One or two digits followed by `sep` (D-M-YYYY allows both). */
static int short_num(const char **p, const char *end, char sep, int *v)
{
    const char *s = *p;
    if (s < end && *s >= '0' && *s <= '9') {
        *v = *s++ - '0';
        if (s < end && *s >= '0' && *s <= '9')
            *v = *v * 10 + (*s++ - '0');
        if (s < end && *s == sep) {
            *p = s + 1;
            return 0;
        }
    }
    return -1;
}

static int parse_date(int fmt, const fld *f, civil *c)
{
    const char *s = f->s, *end = f->s + f->n;
    int hi, lo;
    if (fmt == DF_ISO) {
        if (f->n != 10 || s[4] != '-' || s[7] != '-' || two_digits(s, &hi) ||
            two_digits(s + 2, &lo) || two_digits(s + 5, &c->m) || two_digits(s + 8, &c->d))
            return -1;
    } else {
        char sep = fmt == DF_DMY_SLASH ? '/' : '-';
        if (short_num(&s, end, sep, &c->d) || short_num(&s, end, sep, &c->m) || end - s != 4 ||
            two_digits(s, &hi) || two_digits(s + 2, &lo))
            return -1;
    }
    c->y = hi * 100 + lo;
    if (!mp_date_valid(c->y, c->m, c->d))
        return -1;
    c->days = mp_date_from_civil(c->y, c->m, c->d);
    return 0;
}

/* Whole years from birth to the day (the age on it). */
static int age_on(const civil *birth, const civil *day)
{
    return day->y - birth->y - (day->m * 32 + day->d < birth->m * 32 + birth->d);
}

/* J/N: 1 yes, 0 no (or empty), -1 anything else. Case-insensitive. */
static int parse_indicator(const fld *f)
{
    static const char *const yes[] = {"j", "ja", "1", "true", "y", "yes", NULL};
    static const char *const no[] = {"n", "nee", "0", "false", "no", NULL};
    if (f->n == 0)
        return 0;
    for (int i = 0; yes[i] != NULL; i++)
        if (strcasecmp(f->s, yes[i]) == 0)
            return 1;
    for (int i = 0; no[i] != NULL; i++)
        if (strcasecmp(f->s, no[i]) == 0)
            return 0;
    return -1;
}

static int header_matches(const char *header, const char *want)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", header);
    fld f = trim_field(buf, strlen(buf));
    return strcasecmp(f.s, want) == 0;
}

/* ---- the row ---------------------------------------------------------------------------- */

typedef struct ind_ctx {
    int col, start, end; /* header indexes; -1 = none */
} ind_ctx;

#define RING 8 /* rows between validation and the person table (see queue_push) */

typedef struct pending {
    struct { /* what identifies a person: wiped in one go when settled */
        uint32_t key[MP_PSEUDONYM_BYTES / 4]; /* the first KEY_WORDS are kept */
        uint32_t sa[1 + MP_MAPPING_MAX_INDICATORS], se[1 + MP_MAPPING_MAX_INDICATORS];
        char value[96];
    } sec;
    unsigned long line;
    int reason; /* -1: a valid row */
    const char *column;
    size_t nvalue;
    uint32_t attr;
    int own;
    int32_t last;
    size_t nsp, dedupe_from;
} pending;

typedef struct queue {
    pending q[RING];
    size_t head, n;
} queue;

typedef struct row_ctx {
    const mp_ingest_params *p;
    int datefmt;
    int idx[C_COUNT][MP_MAPPING_MAX_SOURCES];
    size_t nidx[C_COUNT];
    ind_ctx ind[MP_MAPPING_MAX_INDICATORS];
    size_t nheader;
    int32_t min_birth, min_start, horizon;
    uint32_t spells_used;
    uint8_t region[10000], own[10000]; /* by gemeente number */
    code_cache cache[C_COUNT];
    word3 last_birth; /* the previous row's date-of-birth field and its parse */
    size_t last_birth_len;
    civil last_birth_civil;
    mp_pseudonym_ctx pk;
    table t;
    queue queue;
} row_ctx;

/* A value safe for the row report (see mp_ingest_reject). */
static const char *safe_value(char *buf, size_t cap, const char *v)
{
    size_t run = 0, n = strlen(v);
    for (size_t i = 0; i < n; i++) {
        run = v[i] >= '0' && v[i] <= '9' ? run + 1 : 0;
        if (run >= 8) {
            snprintf(buf, cap, "<%zu characters withheld: 8 or more digits in a row>", n);
            return buf;
        }
    }
    snprintf(buf, cap, "%.80s", v);
    return buf;
}

/*
 * Rows go through a short queue between validation and the person table: a row's slot is
 * prefetched when its pseudonym is known and the table is touched RING rows later, by which
 * time the cache line (and its page walk) has arrived. Excluded rows queue too, so that every
 * row is counted, and reported, in file order.
 */

static int reject_now(row_ctx *x, mp_ingest_report *rep, const pending *q)
{
    int reason = q->reason;
    if (rep->per_reason[reason] < MP_INGEST_LINES_KEPT)
        rep->lines[reason][rep->per_reason[reason]] = q->line;
    rep->per_reason[reason]++;
    rep->excluded++;
    if (x->p->on_reject != NULL) {
        mp_ingest_reject r = {q->line, q->column, reason, q->sec.value};
        return x->p->on_reject(&r, x->p->reject_arg);
    }
    return 0;
}

/* The oldest queued row: into the table, or counted as excluded. */
static int settle(row_ctx *x, mp_ingest_report *rep, pending *q)
{
    int created, rc = 0;
    if (q->reason >= 0) {
        rc = reject_now(x, rep, q);
        goto done;
    }
    slot *per = table_find(&x->t, q->sec.key, &created);
    if (per == NULL) {
        rc = mp_error_system("out of memory reading %s", x->p->path);
        goto done;
    }
    if (created) {
        per->attr = q->attr & ~UINT32_C(0x38);
    } else if ((per->attr >> 6) != (q->attr >> 6)) {
        q->reason = MP_REJ_BIRTH_CONFLICT; /* q->sec.value holds the date of birth */
        q->column = "birth_date";
        rc = reject_now(x, rep, q);
        goto done;
    } /* else the first row's sex stands */
    per->attr |= q->attr & UINT32_C(0x38);
    rep->accepted++;
    rep->own_rows += (unsigned long)q->own;
    if (q->last > rep->last_date)
        rep->last_date = q->last;
    for (size_t i = 0; i < q->nsp; i++) {
        int r = table_add_spell(&x->t, per, q->sec.sa[i], q->sec.se[i], i >= q->dedupe_from);
        if (r < 0) {
            rc = mp_error_system("out of memory reading %s", x->p->path);
            goto done;
        }
        rep->kept_spells += (unsigned long)r;
    }
done:
    sodium_memzero(&q->sec, sizeof q->sec);
    q->attr = 0;
    q->nsp = q->dedupe_from = 0;
    return rc;
}

/* The next free entry, settling the oldest when the queue is full. */
static pending *queue_push(row_ctx *x, queue *qu, mp_ingest_report *rep, int *rc)
{
    *rc = 0;
    if (qu->n == RING) {
        *rc = settle(x, rep, &qu->q[qu->head]);
        qu->head = (qu->head + 1) % RING;
        qu->n--;
    }
    return &qu->q[(qu->head + qu->n++) % RING];
}

static int queue_drain(row_ctx *x, queue *qu, mp_ingest_report *rep)
{
    int rc = 0;
    while (qu->n > 0) {
        if (rc == 0)
            rc = settle(x, rep, &qu->q[qu->head]);
        else
            sodium_memzero(&qu->q[qu->head], sizeof qu->q[0]);
        qu->head = (qu->head + 1) % RING;
        qu->n--;
    }
    return rc;
}

/* The row's queue entry becomes an excluded row. */
static int reject_at(pending *q, int reason, unsigned long line, const char *column,
                     const char *value)
{
    q->line = line;
    q->reason = reason;
    q->column = column;
    safe_value(q->sec.value, sizeof q->sec.value, value);
    q->nvalue = strlen(q->sec.value);
    return 0;
}

/* The value of canonical field c: the first non-empty source column. */
static fld field_of(row_ctx *x, mp_csv_row *row, int c, mp_ingest_report *rep)
{
    fld f = {(char *)"", 0};
    for (size_t k = 0; k < x->nidx[c]; k++) {
        int i = x->idx[c][k];
        f = trim_field(row->fields[i], row->lengths[i]);
        if (f.n > 0) {
            rep->sources[c].rows[k]++;
            return f;
        }
    }
    rep->sources[c].empty++;
    return f;
}

static int check_spell_dates(row_ctx *x, const civil *birth, const civil *start, int32_t end)
{
    if (start->days < x->min_start || start->days > x->p->today || age_on(birth, start) < 15)
        return start->days < birth->days ? MP_REJ_DATE_ORDER : MP_REJ_DATE_RANGE;
    if (end < start->days)
        return MP_REJ_DATE_ORDER;
    return -1;
}

static uint32_t pack_spell(int type, int reason, int32_t start)
{
    return (uint32_t)(start - DAY0) | (uint32_t)type << 24 | (uint32_t)reason << 28;
}

static int relevant(const row_ctx *x, int type, int32_t start, int32_t end)
{
    return ((x->spells_used >> type) & 1) && start <= x->p->period_end &&
           (end == MP_DATE_OPEN || end >= x->horizon);
}

#define REJECT(reason, col, value) return reject_at(q, (reason), line, (col), (value))

/* An indicator spell parsed from its own columns (or the row's). */
typedef struct ind_spell {
    int type;
    int32_t start, end;
} ind_spell;

/* Validate one data row and add it to the table. Returns -1 only when out of memory or when
 * the reject callback fails. */
static int ingest_row(row_ctx *x, queue *qu, mp_csv_row *row, mp_ingest_report *rep)
{
    const mp_mapping *m = x->p->mapping;
    fld f[C_COUNT];
    char bsn[10];
    civil birth, start, endc;
    int32_t end = MP_DATE_OPEN;
    int type, reason, sex, flags = 0, gm;
    const unsigned long line = row->line;
    ind_spell isp[MP_MAPPING_MAX_INDICATORS];
    size_t nisp = 0;
    char what[64];

    int rc;
    /* Every row takes one queue entry, valid or not (see RING). */
    pending *q = queue_push(x, qu, rep, &rc);
    if (rc != 0)
        return rc;
    rep->records++;
    rep->transcoded += (unsigned long)row->transcoded;
    if (row->problem != NULL)
        REJECT(MP_REJ_QUOTING, "", "<a quote out of place; the row is not shown>");
    if (row->nfields != x->nheader) {
        snprintf(what, sizeof what, "<%zu fields, the header has %zu>", row->nfields, x->nheader);
        REJECT(MP_REJ_COLUMNS, "", what);
    }
    for (int c = 0; c < C_COUNT; c++)
        f[c] = field_of(x, row, c, rep);

    switch (mp_bsn_normalise(bsn, f[C_BSN].s, f[C_BSN].n)) {
    case MP_BSN_FORMAT:
        snprintf(what, sizeof what, "<bsn: %zu characters, not 8 or 9 digits>", f[C_BSN].n);
        sodium_memzero(f[C_BSN].s, f[C_BSN].n);
        REJECT(MP_REJ_BSN_FORMAT, "bsn", what);
    case MP_BSN_ELFPROEF:
        snprintf(what, sizeof what, "<bsn: %zu digits, fails the elfproef>", f[C_BSN].n);
        sodium_memzero(f[C_BSN].s, f[C_BSN].n);
        REJECT(MP_REJ_BSN_ELFPROEF, "bsn", what);
    case MP_BSN_OK: break;
    }
    /* Pseudonymise at once and wipe the digits (invariant 1); the raw field goes with the
     * CSV reader's buffers. The slot is fetched into the cache while the rest of the row is
     * checked. */
    mp_pseudonym(&x->pk, bsn, (unsigned char *)q->sec.key);
    sodium_memzero(bsn, sizeof bsn);
    __builtin_prefetch(TABLE_HOME(&x->t, q->sec.key));

    word3 bk = {{0, 0, 0}};
    if (f[C_BIRTH].n < WORD3_MAX)
        bk = word3_of(&f[C_BIRTH]);
    if (f[C_BIRTH].n == x->last_birth_len && f[C_BIRTH].n > 0 && f[C_BIRTH].n < WORD3_MAX &&
        word3_eq(&bk, &x->last_birth)) {
        birth = x->last_birth_civil;
    } else {
        if (parse_date(x->datefmt, &f[C_BIRTH], &birth) != 0)
            REJECT(MP_REJ_DATE_FORMAT, "birth_date", f[C_BIRTH].s);
        if (f[C_BIRTH].n < WORD3_MAX) {
            x->last_birth = bk;
            x->last_birth_len = f[C_BIRTH].n;
            x->last_birth_civil = birth;
        }
    }
    if (parse_date(x->datefmt, &f[C_START], &start) != 0)
        REJECT(MP_REJ_DATE_FORMAT, "start_date", f[C_START].s);
    if (f[C_END].n > 0) {
        if (parse_date(x->datefmt, &f[C_END], &endc) != 0)
            REJECT(MP_REJ_DATE_FORMAT, "end_date", f[C_END].s);
        end = endc.days;
    }
    if (birth.days > x->p->today || birth.days < x->min_birth)
        REJECT(start.days < birth.days ? MP_REJ_DATE_ORDER : MP_REJ_DATE_RANGE, "birth_date",
               f[C_BIRTH].s);
    int dr = check_spell_dates(x, &birth, &start, end);
    if (dr >= 0)
        REJECT(dr, dr == MP_REJ_DATE_ORDER && end < start.days ? "end_date" : "start_date",
               dr == MP_REJ_DATE_ORDER && end < start.days ? f[C_END].s : f[C_START].s);
    if ((gm = code_of(&x->cache[C_MUNI], m, C_MUNI, &f[C_MUNI])) < 0)
        REJECT(MP_REJ_MUNICIPALITY_UNKNOWN, "municipality", f[C_MUNI].s);
    if (!x->region[gm])
        REJECT(MP_REJ_MUNICIPALITY_OUTSIDE, "municipality", f[C_MUNI].s);
    if ((type = code_of(&x->cache[C_TYPE], m, C_TYPE, &f[C_TYPE])) < 0)
        REJECT(MP_REJ_SPELL_TYPE, "spell_type", f[C_TYPE].s);
    if ((reason = code_of(&x->cache[C_REASON], m, C_REASON, &f[C_REASON])) < 0)
        REJECT(MP_REJ_END_REASON, "end_reason", f[C_REASON].s);
    if (reason != MP_REASON_NONE && end == MP_DATE_OPEN)
        REJECT(MP_REJ_END_REASON_WITHOUT_END, "end_reason", f[C_REASON].s);
    if ((sex = code_of(&x->cache[C_SEX], m, C_SEX, &f[C_SEX])) < 0)
        REJECT(MP_REJ_SEX, "sex", f[C_SEX].s);
    if (f[C_FLAGS].n > 0) {
        char sepstr[2] = {m ? m->flag_sep : '|', '\0'};
        char *save = NULL;
        for (char *tok = strtok_r(f[C_FLAGS].s, sepstr, &save); tok != NULL;
             tok = strtok_r(NULL, sepstr, &save)) {
            fld t = trim_field(tok, strlen(tok));
            int fl = mp_flag_parse(map_value(m, C_FLAGS, t.s));
            if (fl < 0)
                REJECT(MP_REJ_FLAG, "flags", t.s);
            flags |= fl;
        }
    }
    for (size_t i = 0; m != NULL && i < m->nind; i++) {
        const indicator *d = &m->ind[i];
        const ind_ctx *ic = &x->ind[i];
        fld v = trim_field(row->fields[ic->col], row->lengths[ic->col]);
        int yes = parse_indicator(&v);
        if (yes < 0)
            REJECT(MP_REJ_INDICATOR, d->column, v.s);
        if (!yes) {
            rep->indicators[i].no++;
            continue;
        }
        rep->indicators[i].yes++;
        if (d->spell_type < 0) {
            flags |= d->flag;
            continue;
        }
        /* A spell of its own: its own start and end columns when the mapping names them and
         * the start is filled in (an empty own end: still running), else the row's start and
         * end; the same date rules as the row's spell. */
        ind_spell *s = &isp[nisp];
        civil st = start, en;
        s->type = d->spell_type;
        s->end = end;
        fld sv = {(char *)"", 0};
        if (ic->start >= 0)
            sv = trim_field(row->fields[ic->start], row->lengths[ic->start]);
        if (sv.n > 0) {
            s->end = MP_DATE_OPEN;
            if (parse_date(x->datefmt, &sv, &st) != 0)
                REJECT(MP_REJ_DATE_FORMAT, d->start, sv.s);
            if (ic->end >= 0) {
                fld ev = trim_field(row->fields[ic->end], row->lengths[ic->end]);
                if (ev.n > 0 && parse_date(x->datefmt, &ev, &en) != 0)
                    REJECT(MP_REJ_DATE_FORMAT, d->end, ev.s);
                if (ev.n > 0)
                    s->end = en.days;
            }
            if ((dr = check_spell_dates(x, &birth, &st, s->end)) >= 0)
                REJECT(dr, d->start, sv.s);
        }
        s->start = st.days;
        nisp++;
    }
    /* The row is valid. Keep the spells only when they can change a count (invariant 3). */
    q->line = line;
    q->reason = -1;
    q->attr = 1u | (uint32_t)sex << 1 | (uint32_t)flags << 3 | (uint32_t)(birth.days - DAY0) << 6;
    q->nvalue = f[C_BIRTH].n < sizeof q->sec.value ? f[C_BIRTH].n : sizeof q->sec.value - 1;
    memcpy(q->sec.value, f[C_BIRTH].s, q->nvalue); /* shown if the date of birth conflicts */
    q->sec.value[q->nvalue] = '\0';
    q->own = x->own[gm];
    q->last = end != MP_DATE_OPEN && end <= x->p->today ? end : start.days;
    if (relevant(x, type, start.days, end)) {
        q->sec.sa[q->nsp] = pack_spell(type, reason, start.days);
        q->sec.se[q->nsp++] = end == MP_DATE_OPEN ? UINT32_MAX : (uint32_t)(end - DAY0);
    }
    q->dedupe_from = q->nsp; /* indicator spells repeat on every row of a person */
    for (size_t i = 0; i < nisp; i++) {
        if (!relevant(x, isp[i].type, isp[i].start, isp[i].end))
            continue;
        q->sec.sa[q->nsp] = pack_spell(isp[i].type, MP_REASON_NONE, isp[i].start);
        q->sec.se[q->nsp++] =
            isp[i].end == MP_DATE_OPEN ? UINT32_MAX : (uint32_t)(isp[i].end - DAY0);
    }
    return 0;
}

/* Header index of `want`, -1 when absent; -2 (error set) when it appears twice. */
static int find_column(row_ctx *x, mp_csv_row *row, const char *want)
{
    int found = -1;
    for (size_t i = 0; i < row->nfields; i++)
        if (header_matches(row->fields[i], want)) {
            if (found >= 0) {
                mp_error_set("%s:%lu: column \"%.60s\" appears twice in the header", x->p->path,
                             row->line, want);
                return -2;
            }
            found = (int)i;
        }
    return found;
}

static int read_header(row_ctx *x, mp_csv_row *row, mp_ingest_report *rep)
{
    const mp_mapping *m = x->p->mapping;
    size_t used = 0;
    uint8_t known[MP_CSV_MAX_FIELDS] = {0};
    x->nheader = row->nfields;
    for (int c = 0; c < C_COUNT; c++) {
        size_t nsrc = m && m->ncolumns[c] ? m->ncolumns[c] : 1;
        mp_field_sources *fs = &rep->sources[c];
        x->nidx[c] = 0;
        for (size_t k = 0; k < nsrc; k++) {
            const char *want = m && m->ncolumns[c] ? m->columns[c][k] : col_names[c];
            int i = find_column(x, row, want);
            if (i == -2)
                return -1;
            if (i < 0)
                continue;
            x->idx[c][x->nidx[c]++] = i;
            known[i] = 1;
            snprintf(fs->column[fs->nsources++], sizeof fs->column[0], "%s", want);
        }
        if (x->nidx[c] == 0 && col_required[c])
            return mp_error_set(
                "%s:%lu: required column \"%s\"%s%.60s%s is missing from the "
                "header (is this the right export, or does it need a mapping "
                "file?)",
                x->p->path, row->line, col_names[c], m && m->ncolumns[c] ? " (mapped to \"" : "",
                m && m->ncolumns[c] ? m->columns[c][0] : "", m && m->ncolumns[c] ? "\")" : "");
    }
    for (size_t i = 0; m != NULL && i < m->nind; i++) {
        const indicator *d = &m->ind[i];
        ind_ctx *ic = &x->ind[i];
        ic->start = ic->end = -1;
        if ((ic->col = find_column(x, row, d->column)) < 0 ||
            (d->start != NULL && (ic->start = find_column(x, row, d->start)) < 0) ||
            (d->end != NULL && (ic->end = find_column(x, row, d->end)) < 0)) {
            if (ic->col == -2 || ic->start == -2 || ic->end == -2)
                return -1;
            return mp_error_set("%s:%lu: indicator column \"%.60s\" of the mapping (or its "
                                "start_date or end_date column) is missing from the header",
                                x->p->path, row->line, d->column);
        }
        known[ic->col] = 1;
        if (ic->start >= 0)
            known[ic->start] = 1;
        if (ic->end >= 0)
            known[ic->end] = 1;
        snprintf(rep->indicators[i].column, sizeof rep->indicators[i].column, "%s", d->column);
        snprintf(rep->indicators[i].target, sizeof rep->indicators[i].target, "%s",
                 d->spell_type >= 0                       ? mp_spell_type_name(d->spell_type)
                 : d->flag == MP_FLAG_STATUSHOUDER        ? "statushouder"
                 : d->flag == MP_FLAG_ALLEENSTAANDE_OUDER ? "alleenstaande_ouder"
                                                          : "partner");
        rep->nindicators = i + 1;
    }
    for (size_t i = 0; i < row->nfields; i++) {
        if (!known[i]) {
            size_t n = strlen(rep->ignored_columns);
            snprintf(rep->ignored_columns + n, sizeof rep->ignored_columns - n, "%s%.60s",
                     used++ ? ", " : "", row->fields[i]);
        }
    }
    return 0;
}

static int count_all(row_ctx *x, int64_t *counts)
{
    size_t cap = 64;
    mp_spell *buf = malloc(cap * sizeof *buf);
    if (buf == NULL)
        return mp_error_system("out of memory");
    for (size_t g = 0; g < SEGMENTS; g++) {
        const seg *sg = &x->t.segs[g];
        for (uint32_t i = 0; i < sg->cap; i++) {
            const slot *p = &sg->s[i];
            size_t n = 0;
            if (i + 8 < sg->cap && sg->s[i + 8].head != 0)
                __builtin_prefetch(pool_at(&x->t, sg->s[i + 8].head - 1));
            if (p->attr == 0 || p->head == 0)
                continue;
            for (uint32_t k = p->head; k != 0;) {
                const spell_node *s = pool_at(&x->t, k - 1);
                if (n == cap) {
                    mp_spell *nb = malloc(2 * cap * sizeof *buf);
                    if (nb == NULL) {
                        sodium_memzero(buf, cap * sizeof *buf);
                        free(buf);
                        return mp_error_system("out of memory");
                    }
                    memcpy(nb, buf, cap * sizeof *buf);
                    sodium_memzero(buf, cap * sizeof *buf);
                    free(buf);
                    buf = nb;
                    cap *= 2;
                }
                buf[n].type = (uint8_t)((s->a >> 24) & 15);
                buf[n].reason = (uint8_t)(s->a >> 28);
                buf[n].reserved = 0;
                buf[n].start = (int32_t)(s->a & 0xFFFFFF) + DAY0;
                buf[n].end = s->end == UINT32_MAX ? MP_DATE_OPEN : (int32_t)s->end + DAY0;
                n++;
                k = s->next;
            }
            mp_person_view v = {(int32_t)(p->attr >> 6) + DAY0, (int)((p->attr >> 1) & 3),
                                (int)((p->attr >> 3) & 7), buf, n};
            mp_catalogue_count(x->p->catalogue, x->p->period_start, x->p->period_end, &v, counts);
        }
    }
    sodium_memzero(buf, cap * sizeof *buf);
    free(buf);
    return 0;
}

/* Gemeente numbers of a list of canonical codes ("GM0344") into a 0/1 table. */
static void mark_gemeenten(uint8_t *tab, const char *const *codes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int g = gemeente_code(NULL, codes[i]);
        if (g >= 0)
            tab[g] = 1;
    }
}

int mp_ingest_count(const mp_ingest_params *p, int64_t *counts, mp_ingest_report *rep)
{
    mp_csv *csv = NULL;
    mp_csv_row row;
    row_ctx *x;
    int rc = -1, r;
    struct stat stt;

    memset(rep, 0, sizeof *rep);
    rep->last_date = INT32_MIN;
    if ((x = calloc(1, sizeof *x)) == NULL)
        return mp_error_system("out of memory");
    x->p = p;
    x->datefmt = p->mapping ? p->mapping->datefmt : DF_ISO;
    x->min_birth = mp_date_from_civil(1900, 1, 1);
    x->min_start = mp_date_from_civil(1950, 1, 1);
    x->horizon = mp_catalogue_horizon(p->catalogue, p->period_start);
    x->spells_used = mp_catalogue_spells_used(p->catalogue);
    for (int c = 0; c < C_COUNT; c++)
        x->cache[c].last = -1;
    mark_gemeenten(x->region, p->roster->gemeente_code, p->roster->ngemeenten);
    if (p->own != NULL)
        mark_gemeenten(x->own, p->own->gemeenten, p->own->ngemeenten);
    mp_pseudonym_init(&x->pk, p->prf_key);
    if (mp_csv_open(&csv, p->path) != 0)
        goto out;
    if (table_init(&x->t, stat(p->path, &stt) == 0 ? (size_t)stt.st_size : 0) != 0) {
        mp_error_system("out of memory reading %s", p->path);
        goto out;
    }
    r = mp_csv_next(csv, &row);
    if (r <= 0) {
        if (r == 0)
            mp_error_set("%s: empty file, no header record", p->path);
        goto out;
    }
    if (read_header(x, &row, rep) != 0)
        goto out;
    while ((r = mp_csv_next(csv, &row)) == 1) {
        if (ingest_row(x, &x->queue, &row, rep) != 0)
            goto out;
        if (p->progress != NULL && rep->records % MP_INGEST_PROGRESS_ROWS == 0)
            p->progress(rep->records, p->progress_arg);
    }
    if (r < 0 || queue_drain(x, &x->queue, rep) != 0)
        goto out;
    rep->separator = mp_csv_separator(csv);
    rep->had_bom = mp_csv_had_bom(csv);
    rep->persons = x->t.n;
    if (count_all(x, counts) != 0)
        goto out;
    rc = 0;
out:
    mp_csv_close(csv);
    table_free(&x->t);
    sodium_memzero(x, sizeof *x);
    free(x);
    return rc;
}
