/*
 * canon.c - canonical JSON (see canon.h for the exact form).
 *
 * cJSON does the tokenising; this file adds what cJSON does not check (duplicate keys, UTF-8,
 * integer-only numbers, depth) and a serialiser with sorted keys, since cJSON prints members in
 * insertion order and numbers through doubles.
 */
#include "canon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable output buffer. */
typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void buf_put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Strict UTF-8 check: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int check_tree(const cJSON *v, int depth)
{
    if (depth > MP_CANON_MAX_DEPTH)
        return mp_error_set("JSON nested deeper than %d levels", MP_CANON_MAX_DEPTH);
    if (cJSON_IsString(v)) {
        if (!utf8_valid((const unsigned char *)v->valuestring, strlen(v->valuestring)))
            return mp_error_set("JSON string is not valid UTF-8");
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != d || d > (double)MP_CANON_MAX_INT || d < -(double)MP_CANON_MAX_INT ||
            d != (double)(long long)d)
            return mp_error_set("JSON number %s is not an integer within +-(2^53-1)",
                                v->string ? v->string : "(array element)");
    } else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            if (cJSON_IsObject(v)) {
                if (c->string == NULL ||
                    !utf8_valid((const unsigned char *)c->string, strlen(c->string)))
                    return mp_error_set("JSON key is not valid UTF-8");
                for (const cJSON *d = c->next; d != NULL; d = d->next)
                    if (strcmp(c->string, d->string) == 0)
                        return mp_error_set("JSON object has the key \"%.64s\" twice", c->string);
            }
            if (check_tree(c, depth + 1) != 0)
                return -1;
        }
    } else if (!cJSON_IsBool(v) && !cJSON_IsNull(v)) {
        return mp_error_set("invalid JSON value");
    }
    return 0;
}

/* What cJSON lets through but JSON (RFC 8259) or the canonical form do not: an escaped NUL
 * (cJSON cuts the string there, so text after it would be outside the signature), raw control
 * characters inside strings, numbers with a fraction, exponent or leading zero, and any byte
 * outside strings that is not JSON syntax or whitespace (a byte order mark, say). */
static int scan_raw(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"') {
            for (i++; i < len && text[i] != '"'; i++) {
                if ((unsigned char)text[i] < 0x20)
                    return mp_error_set("JSON string holds a raw control character (byte %zu)", i);
                if (text[i] == '\\') {
                    if (i + 1 < len && text[i + 1] == 'u' && i + 5 < len &&
                        memcmp(text + i + 2, "0000", 4) == 0)
                        return mp_error_set("JSON string holds an escaped NUL (\\u0000)");
                    i++;
                }
            }
            if (i >= len)
                return mp_error_set("JSON string is not terminated");
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i + (c == '-');
            for (i = start; i < len && text[i] >= '0' && text[i] <= '9'; i++)
                ;
            if (i - start > 1 && text[start] == '0')
                return mp_error_set("JSON number with a leading zero (byte %zu)", start);
            if (i < len && (text[i] == '.' || text[i] == 'e' || text[i] == 'E'))
                return mp_error_set("JSON number is not an integer (byte %zu)", i);
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '{' || c == '}' ||
                   c == '[' || c == ']' || c == ':' || c == ',' || (c >= 'a' && c <= 'z')) {
            i++; /* syntax, whitespace, or the letters of true/false/null (cJSON checks them) */
        } else {
            return mp_error_set("unexpected byte 0x%02x outside a JSON string (byte %zu)", c, i);
        }
    }
    return 0;
}

int mp_canon_parse(cJSON **out, const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *v;
    if (memchr(text, '\0', len) != NULL)
        return mp_error_set("JSON text contains a NUL byte");
    if (scan_raw(text, len) != 0)
        return -1;
    v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (v == NULL) {
        const char *at = cJSON_GetErrorPtr();
        long off = at != NULL && at >= text && at <= text + len ? (long)(at - text) : -1;
        return mp_error_set("not valid JSON (near byte %ld)", off);
    }
    while (end != NULL && end < text + len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end != text + len) {
        cJSON_Delete(v);
        return mp_error_set("trailing data after the JSON document");
    }
    if (check_tree(v, 0) != 0) {
        cJSON_Delete(v);
        return -1;
    }
    *out = v;
    return 0;
}

static void put_string(buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7];
        /* Copy a run of characters that need no escape at once: strings such as base64
         * vectors and boxes are long, and a call per byte dominated serialisation. */
        size_t run = 0;
        while (p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > 0) {
            buf_put(b, (const char *)p, run);
            p += run - 1;
            continue;
        }
        switch (*p) {
        case '"': buf_put(b, "\\\"", 2); break;
        case '\\': buf_put(b, "\\\\", 2); break;
        case '\b': buf_put(b, "\\b", 2); break;
        case '\t': buf_put(b, "\\t", 2); break;
        case '\n': buf_put(b, "\\n", 2); break;
        case '\f': buf_put(b, "\\f", 2); break;
        case '\r': buf_put(b, "\\r", 2); break;
        default:
            if (*p < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                buf_put(b, esc, 6);
            } else {
                buf_put(b, (const char *)p, 1);
            }
        }
    }
    buf_put(b, "\"", 1);
}

static int key_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string); /* strcmp compares as unsigned char: byte order */
}

static int serialise(buf *b, const cJSON *v, int depth)
{
    char num[32];
    if (depth > MP_CANON_MAX_DEPTH)
        return mp_error_set("JSON nested deeper than %d levels", MP_CANON_MAX_DEPTH);
    if (cJSON_IsNull(v)) {
        buf_put(b, "null", 4);
    } else if (cJSON_IsTrue(v)) {
        buf_put(b, "true", 4);
    } else if (cJSON_IsFalse(v)) {
        buf_put(b, "false", 5);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != d || d > (double)MP_CANON_MAX_INT || d < -(double)MP_CANON_MAX_INT ||
            d != (double)(long long)d)
            return mp_error_set("cannot serialise a non-integer number canonically");
        int n = snprintf(num, sizeof num, "%lld", (long long)d);
        buf_put(b, num, (size_t)n);
    } else if (cJSON_IsString(v)) {
        if (!utf8_valid((const unsigned char *)v->valuestring, strlen(v->valuestring)))
            return mp_error_set("cannot serialise a string that is not valid UTF-8");
        put_string(b, v->valuestring);
    } else if (cJSON_IsArray(v)) {
        buf_put(b, "[", 1);
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            if (c != v->child)
                buf_put(b, ",", 1);
            if (serialise(b, c, depth + 1) != 0)
                return -1;
        }
        buf_put(b, "]", 1);
    } else if (cJSON_IsObject(v)) {
        size_t n = 0, i = 0;
        for (const cJSON *c = v->child; c != NULL; c = c->next)
            n++;
        const cJSON **kids = calloc(n ? n : 1, sizeof *kids);
        if (kids == NULL)
            return mp_error_system("out of memory");
        for (const cJSON *c = v->child; c != NULL; c = c->next)
            kids[i++] = c;
        qsort(kids, n, sizeof *kids, key_cmp);
        buf_put(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i > 0 && strcmp(kids[i - 1]->string, kids[i]->string) == 0) {
                mp_error_set("JSON object has the key \"%.64s\" twice", kids[i]->string);
                free(kids);
                return -1;
            }
            if (i > 0)
                buf_put(b, ",", 1);
            put_string(b, kids[i]->string);
            buf_put(b, ":", 1);
            if (serialise(b, kids[i], depth + 1) != 0) {
                free(kids);
                return -1;
            }
        }
        buf_put(b, "}", 1);
        free(kids);
    } else {
        return mp_error_set("invalid JSON value");
    }
    return 0;
}

int mp_canon_serialise(char **out, size_t *len, const cJSON *v)
{
    buf b = {0};
    if (serialise(&b, v, 0) != 0 || b.oom) {
        free(b.p);
        return b.oom ? mp_error_system("out of memory") : -1;
    }
    if (b.p == NULL)
        return mp_error_set("empty JSON document");
    *out = b.p;
    *len = b.len;
    return 0;
}

int mp_json_str(const cJSON *obj, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL)
        return mp_error_set("missing field \"%s\"", key);
    if (!cJSON_IsString(v))
        return mp_error_set("field \"%s\" must be a string", key);
    *out = v->valuestring;
    return 0;
}

int mp_json_int(const cJSON *obj, const char *key, long long min, long long max, long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL)
        return mp_error_set("missing field \"%s\"", key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble)
        return mp_error_set("field \"%s\" must be an integer", key);
    long long x = (long long)v->valuedouble;
    if (x < min || x > max)
        return mp_error_set("field \"%s\" is %lld, outside %lld..%lld", key, x, min, max);
    *out = x;
    return 0;
}

int mp_json_obj(const cJSON *obj, const char *key, const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL)
        return mp_error_set("missing field \"%s\"", key);
    if (!cJSON_IsObject(v))
        return mp_error_set("field \"%s\" must be an object", key);
    *out = v;
    return 0;
}

int mp_json_arr(const cJSON *obj, const char *key, const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL)
        return mp_error_set("missing field \"%s\"", key);
    if (!cJSON_IsArray(v))
        return mp_error_set("field \"%s\" must be an array", key);
    *out = v;
    return 0;
}

int mp_json_only(const cJSON *obj, const char *what, const char *const *allowed)
{
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(*a, c->string) == 0;
        if (!ok)
            return mp_error_set("%s: unknown field \"%.64s\" (written by a newer version?)", what,
                                c->string);
    }
    return 0;
}
