/*
 * ingest.c - validation, pseudonymisation and distinct counting (invariants in ingest.h).
 *
 * The person table is an open-addressing hash table keyed by the 16-byte pseudonym; a person's
 * spells are a singly linked list in one growing array, since rows of one person can be
 * anywhere in the file. Counting happens once the whole file is read, because a metric such as
 * herinstroom needs all of a person's spells.
 */
#include "ingest.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bsn.h"
#include "canon.h"
#include "codes.h"
#include "csv.h"
#include "date.h"
#include "fileio.h"

#define PSEUDO_BYTES 16

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
                                                       "birth_date_conflict"};

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
    "same person with two different dates of birth"};

const char *mp_reject_code(int r)
{
    return r >= 0 && r < MP_REJ_COUNT ? reject_codes[r] : "?";
}

const char *mp_reject_description(int r)
{
    return r >= 0 && r < MP_REJ_COUNT ? reject_texts[r] : "?";
}

/* ---- mapping ---------------------------------------------------------------------------- */

enum col { C_BSN, C_BIRTH, C_SEX, C_MUNI, C_TYPE, C_START, C_END, C_REASON, C_FLAGS, C_COUNT };
static const char *const col_names[C_COUNT] = {"bsn",          "birth_date", "sex",
                                               "municipality", "spell_type", "start_date",
                                               "end_date",     "end_reason", "flags"};
static const int col_required[C_COUNT] = {1, 1, 0, 1, 1, 1, 0, 0, 0};

enum datefmt { DF_ISO, DF_DMY_DASH, DF_DMY_SLASH };

struct mp_mapping {
    cJSON *json;
    const char *columns[C_COUNT]; /* export header names, NULL = canonical name */
    int datefmt;
    const cJSON *values[C_COUNT]; /* objects raw -> canonical, or NULL */
    char flag_sep;
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

int mp_mapping_load(mp_mapping **out, const char *path)
{
    static const char *const fields[] = {"mijlpaal_mapping", "columns",         "date_format",
                                         "values",           "flags_separator", NULL};
    unsigned char *text;
    size_t len;
    long long v;
    const cJSON *it;
    mp_mapping *m = calloc(1, sizeof *m);
    if (m == NULL)
        return mp_error_set("out of memory");
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
    if (cols != NULL) {
        if (!cJSON_IsObject(cols)) {
            mp_error_set("\"columns\" must be an object");
            goto fail;
        }
        for (it = cols->child; it != NULL; it = it->next) {
            int c = col_index(it->string);
            if (c < 0 || !cJSON_IsString(it)) {
                mp_error_set("columns: \"%.40s\" is not a canonical column name (see "
                             "docs/input-format.md)",
                             it->string);
                goto fail;
            }
            m->columns[c] = it->valuestring;
        }
    }
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

typedef struct person {
    unsigned char key[PSEUDO_BYTES];
    int32_t birth;
    uint8_t sex, flags, used;
    uint32_t first; /* index into spells + 1; 0 = none */
} person;

typedef struct spell_node {
    mp_spell s;
    uint32_t next; /* index + 1; 0 = end */
} spell_node;

typedef struct table {
    person *slots;
    size_t cap, n;
    spell_node *spells;
    size_t nspells, capspells;
} table;

static void table_free(table *t)
{
    if (t->slots != NULL) {
        sodium_memzero(t->slots, t->cap * sizeof *t->slots);
        free(t->slots);
    }
    if (t->spells != NULL) {
        sodium_memzero(t->spells, t->capspells * sizeof *t->spells);
        free(t->spells);
    }
    memset(t, 0, sizeof *t);
}

static person *table_find(table *t, const unsigned char key[PSEUDO_BYTES], int *created)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 1 << 14;
        person *ns = calloc(ncap, sizeof *ns);
        if (ns == NULL)
            return NULL;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].used)
                continue;
            size_t h;
            memcpy(&h, t->slots[i].key, sizeof h);
            for (h &= ncap - 1; ns[h].used; h = (h + 1) & (ncap - 1))
                ;
            ns[h] = t->slots[i];
        }
        if (t->slots != NULL) {
            sodium_memzero(t->slots, t->cap * sizeof *t->slots);
            free(t->slots);
        }
        t->slots = ns;
        t->cap = ncap;
    }
    size_t h;
    memcpy(&h, key, sizeof h); /* the key is a PRF output: its bytes are already uniform */
    for (h &= t->cap - 1; t->slots[h].used; h = (h + 1) & (t->cap - 1))
        if (memcmp(t->slots[h].key, key, PSEUDO_BYTES) == 0) {
            *created = 0;
            return &t->slots[h];
        }
    memcpy(t->slots[h].key, key, PSEUDO_BYTES);
    t->slots[h].used = 1;
    t->n++;
    *created = 1;
    return &t->slots[h];
}

static int table_add_spell(table *t, person *p, const mp_spell *s)
{
    if (t->nspells == t->capspells) {
        size_t ncap = t->capspells ? t->capspells * 2 : 1 << 14;
        spell_node *ns;
        if (ncap > UINT32_MAX - 1)
            return -1;
        if ((ns = calloc(ncap, sizeof *ns)) == NULL)
            return -1;
        if (t->spells != NULL) {
            memcpy(ns, t->spells, t->nspells * sizeof *ns);
            sodium_memzero(t->spells, t->capspells * sizeof *t->spells);
            free(t->spells);
        }
        t->spells = ns;
        t->capspells = ncap;
    }
    t->spells[t->nspells].s = *s;
    t->spells[t->nspells].next = p->first;
    p->first = (uint32_t)++t->nspells;
    return 0;
}

/* ---- field parsing ---------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Map a raw value through the mapping's table for column c (values not listed pass through). */
static const char *map_value(const mp_mapping *m, int c, const char *raw)
{
    if (m == NULL || m->values[c] == NULL)
        return raw;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->values[c], raw);
    return v != NULL ? v->valuestring : raw;
}

static int parse_num(const char **p, int min_digits, int max_digits, int *out)
{
    int n = 0, v = 0;
    while (isdigit((unsigned char)**p) && n < max_digits) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n < min_digits)
        return -1;
    *out = v;
    return 0;
}

static int parse_date(const mp_mapping *m, const char *s, int32_t *out)
{
    int y, mo, d;
    int fmt = m ? m->datefmt : DF_ISO;
    char sep = fmt == DF_DMY_SLASH ? '/' : '-';
    if (fmt == DF_ISO)
        return mp_date_parse_iso(s, out);
    if (parse_num(&s, 1, 2, &d) || *s++ != sep || parse_num(&s, 1, 2, &mo) || *s++ != sep ||
        parse_num(&s, 4, 4, &y) || *s != '\0' || !mp_date_valid(y, mo, d))
        return -1;
    *out = mp_date_from_civil(y, mo, d);
    return 0;
}

static int header_matches(const char *header, const char *want)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", header);
    return strcasecmp(trim(buf), want) == 0;
}

/* ---- the row ---------------------------------------------------------------------------- */

typedef struct row_ctx {
    const mp_ingest_params *p;
    int idx[C_COUNT];
    size_t nheader;
    int32_t min_birth, min_start, horizon;
    uint32_t spells_used;
    table t;
} row_ctx;

static int reject(mp_ingest_report *rep, int reason, unsigned long line)
{
    if (rep->per_reason[reason] < MP_INGEST_LINES_KEPT)
        rep->lines[reason][rep->per_reason[reason]] = line;
    rep->per_reason[reason]++;
    rep->excluded++;
    return 0;
}

/* Validate one data row and add it to the table. Returns -1 only when out of memory. */
static int ingest_row(row_ctx *x, mp_csv_row *row, mp_ingest_report *rep)
{
    const mp_mapping *m = x->p->mapping;
    char *f[C_COUNT] = {0};
    char bsn[10];
    unsigned char key[PSEUDO_BYTES];
    int32_t birth, start, end = MP_DATE_OPEN;
    int type, reason = MP_REASON_NONE, sex = MP_SEX_X, flags = 0, created;
    char gm[7];
    const unsigned long line = row->line;

    rep->records++;
    rep->transcoded += (unsigned long)row->transcoded;
    if (row->problem != NULL)
        return reject(rep, MP_REJ_QUOTING, line);
    if (row->nfields != x->nheader)
        return reject(rep, MP_REJ_COLUMNS, line);
    for (int c = 0; c < C_COUNT; c++)
        f[c] = x->idx[c] >= 0 ? trim(row->fields[x->idx[c]]) : (char *)"";

    switch (mp_bsn_normalise(bsn, f[C_BSN], strlen(f[C_BSN]))) {
    case MP_BSN_FORMAT: return reject(rep, MP_REJ_BSN_FORMAT, line);
    case MP_BSN_ELFPROEF: return reject(rep, MP_REJ_BSN_ELFPROEF, line);
    case MP_BSN_OK: break;
    }
    /* Pseudonymise at once and wipe the digits (invariant 1); the raw field is wiped by the CSV
     * reader when it reuses its buffer. */
    {
        static const char tag[] = "mijlpaal-pseudonym-v1";
        crypto_generichash_state st;
        crypto_generichash_init(&st, x->p->prf_key, MP_PRF_KEY_BYTES, PSEUDO_BYTES);
        crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
        crypto_generichash_update(&st, (const unsigned char *)bsn, 9);
        crypto_generichash_final(&st, key, PSEUDO_BYTES);
        sodium_memzero(&st, sizeof st);
        sodium_memzero(bsn, sizeof bsn);
        sodium_memzero(f[C_BSN], strlen(f[C_BSN]));
    }
    if (parse_date(m, f[C_BIRTH], &birth) != 0 || parse_date(m, f[C_START], &start) != 0 ||
        (*f[C_END] != '\0' && parse_date(m, f[C_END], &end) != 0))
        return reject(rep, MP_REJ_DATE_FORMAT, line);
    if (birth > x->p->today || birth < x->min_birth || start < x->min_start ||
        start > x->p->today || mp_date_age(birth, start) < 15)
        return reject(rep, start < birth ? MP_REJ_DATE_ORDER : MP_REJ_DATE_RANGE, line);
    if (end < start)
        return reject(rep, MP_REJ_DATE_ORDER, line);
    if (!mp_gemeente_normalise(gm, map_value(m, C_MUNI, f[C_MUNI])))
        return reject(rep, MP_REJ_MUNICIPALITY_UNKNOWN, line);
    if (!mp_roster_has_gemeente(x->p->roster, gm))
        return reject(rep, MP_REJ_MUNICIPALITY_OUTSIDE, line);
    if ((type = mp_spell_type_parse(map_value(m, C_TYPE, f[C_TYPE]))) < 0)
        return reject(rep, MP_REJ_SPELL_TYPE, line);
    if ((reason = mp_end_reason_parse(map_value(m, C_REASON, f[C_REASON]))) < 0)
        return reject(rep, MP_REJ_END_REASON, line);
    if (reason != MP_REASON_NONE && end == MP_DATE_OPEN)
        return reject(rep, MP_REJ_END_REASON_WITHOUT_END, line);
    if ((sex = mp_sex_parse(map_value(m, C_SEX, f[C_SEX]))) < 0)
        return reject(rep, MP_REJ_SEX, line);
    if (*f[C_FLAGS] != '\0') {
        char sepstr[2] = {m ? m->flag_sep : '|', '\0'};
        char *save = NULL;
        for (char *tok = strtok_r(f[C_FLAGS], sepstr, &save); tok != NULL;
             tok = strtok_r(NULL, sepstr, &save)) {
            int fl = mp_flag_parse(map_value(m, C_FLAGS, trim(tok)));
            if (fl < 0)
                return reject(rep, MP_REJ_FLAG, line);
            flags |= fl;
        }
    }
    /* The row is valid. Keep the spell only when it can change a count (invariant 3). */
    int relevant = ((x->spells_used >> type) & 1) && start <= x->p->period_end &&
                   (end == MP_DATE_OPEN || end >= x->horizon);
    person *per = table_find(&x->t, key, &created);
    sodium_memzero(key, sizeof key);
    if (per == NULL)
        return mp_error_set("out of memory reading %s", x->p->path);
    if (created) {
        per->birth = birth;
        per->sex = (uint8_t)sex;
    } else if (per->birth != birth) {
        return reject(rep, MP_REJ_BIRTH_CONFLICT, line);
    }
    per->flags |= (uint8_t)flags;
    rep->accepted++;
    if (relevant) {
        mp_spell s = {(uint8_t)type, (uint8_t)reason, 0, start, end};
        if (table_add_spell(&x->t, per, &s) != 0)
            return mp_error_set("out of memory reading %s", x->p->path);
        rep->kept_spells++;
    }
    return 0;
}

static int read_header(row_ctx *x, mp_csv_row *row, mp_ingest_report *rep)
{
    const mp_mapping *m = x->p->mapping;
    size_t used = 0;
    x->nheader = row->nfields;
    for (int c = 0; c < C_COUNT; c++) {
        const char *want = m && m->columns[c] ? m->columns[c] : col_names[c];
        x->idx[c] = -1;
        for (size_t i = 0; i < row->nfields; i++)
            if (header_matches(row->fields[i], want)) {
                if (x->idx[c] >= 0)
                    return mp_error_set("%s:%lu: column \"%.60s\" appears twice in the header",
                                        x->p->path, row->line, want);
                x->idx[c] = (int)i;
            }
        if (x->idx[c] < 0 && col_required[c])
            return mp_error_set(
                "%s:%lu: required column \"%s\"%s%.60s%s is missing from the "
                "header (is this the right export, or does it need a mapping "
                "file?)",
                x->p->path, row->line, col_names[c], m && m->columns[c] ? " (mapped to \"" : "",
                m && m->columns[c] ? m->columns[c] : "", m && m->columns[c] ? "\")" : "");
    }
    for (size_t i = 0; i < row->nfields; i++) {
        int known = 0;
        for (int c = 0; c < C_COUNT; c++)
            known |= x->idx[c] == (int)i;
        if (!known) {
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
        return mp_error_set("out of memory");
    for (size_t i = 0; i < x->t.cap; i++) {
        const person *p = &x->t.slots[i];
        size_t n = 0;
        if (!p->used || p->first == 0)
            continue;
        for (uint32_t k = p->first; k != 0; k = x->t.spells[k - 1].next) {
            if (n == cap) {
                mp_spell *nb = realloc(buf, 2 * cap * sizeof *buf);
                if (nb == NULL) {
                    free(buf);
                    return mp_error_set("out of memory");
                }
                buf = nb;
                cap *= 2;
            }
            buf[n++] = x->t.spells[k - 1].s;
        }
        mp_person_view v = {p->birth, p->sex, p->flags, buf, n};
        mp_catalogue_count(x->p->catalogue, x->p->period_start, x->p->period_end, &v, counts);
    }
    sodium_memzero(buf, cap * sizeof *buf);
    free(buf);
    return 0;
}

int mp_ingest_count(const mp_ingest_params *p, int64_t *counts, mp_ingest_report *rep)
{
    mp_csv *csv = NULL;
    mp_csv_row row;
    row_ctx x;
    int rc = -1, r;

    memset(rep, 0, sizeof *rep);
    memset(&x, 0, sizeof x);
    x.p = p;
    x.min_birth = mp_date_from_civil(1900, 1, 1);
    x.min_start = mp_date_from_civil(1950, 1, 1);
    x.horizon = mp_catalogue_horizon(p->catalogue, p->period_start);
    x.spells_used = mp_catalogue_spells_used(p->catalogue);
    if (mp_csv_open(&csv, p->path) != 0)
        return -1;
    r = mp_csv_next(csv, &row);
    if (r <= 0) {
        if (r == 0)
            mp_error_set("%s: empty file, no header record", p->path);
        goto out;
    }
    if (read_header(&x, &row, rep) != 0)
        goto out;
    while ((r = mp_csv_next(csv, &row)) == 1) {
        if (ingest_row(&x, &row, rep) != 0)
            goto out;
        if (p->progress != NULL && rep->records % MP_INGEST_PROGRESS_ROWS == 0)
            p->progress(rep->records, p->progress_arg);
    }
    if (r < 0)
        goto out;
    rep->separator = mp_csv_separator(csv);
    rep->had_bom = mp_csv_had_bom(csv);
    rep->persons = x.t.n;
    if (count_all(&x, counts) != 0)
        goto out;
    rc = 0;
out:
    mp_csv_close(csv);
    table_free(&x.t);
    return rc;
}
