/*
 * note.c - C2SP signed notes, checkpoints and cosignatures (formats in note.h).
 */
#include "note.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

static const char dash[] = "\xe2\x80\x94 "; /* U+2014 EM DASH, SPACE */
#define DASH_LEN 4
#define COSIG_HEADER "cosignature/v1\n"

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, cp = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, cp = p[0] & 0x0f;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points beyond U+10FFFF. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

/* 0 when buf is UTF-8 without control characters other than LF. */
static int text_check(const char *buf, size_t len, const char *what)
{
    const unsigned char *p = (const unsigned char *)buf;
    for (size_t i = 0; i < len;) {
        size_t l;
        if (p[i] < 0x20 && p[i] != '\n')
            return mp_error_set("%s: control character 0x%02x at byte %zu", what, p[i], i);
        if (p[i] == 0x7f)
            return mp_error_set("%s: control character 0x7f at byte %zu", what, i);
        if ((l = utf8_len(p + i, len - i)) == 0)
            return mp_error_set("%s: invalid UTF-8 at byte %zu", what, i);
        i += l;
    }
    return 0;
}

int mp_note_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > MP_NOTE_NAME_MAX || text_check(name, len, "key name") != 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        /* ASCII space, '+', and the Unicode spaces NO-BREAK SPACE (C2 A0) and U+2000-U+200A,
         * U+2028/2029, U+202F, U+205F, U+3000 (E2 80 80-8A, A8, A9, AF; E2 81 9F; E3 80 80). */
        if (c <= 0x20 || c == '+')
            return 0;
        if (c == 0xc2 && (unsigned char)name[i + 1] == 0xa0)
            return 0;
        if (c == 0xe2 && (unsigned char)name[i + 1] == 0x80) {
            unsigned char d = (unsigned char)name[i + 2];
            if (d <= 0x8a || d == 0xa8 || d == 0xa9 || d == 0xaf)
                return 0;
        }
        if (c == 0xe2 && (unsigned char)name[i + 1] == 0x81 && (unsigned char)name[i + 2] == 0x9f)
            return 0;
        if (c == 0xe3 && (unsigned char)name[i + 1] == 0x80 && (unsigned char)name[i + 2] == 0x80)
            return 0;
    }
    return 1;
}

/* Exactly `len` bytes of base64 in its one canonical spelling (libsodium's decoder accepts
 * some other spellings of the same bytes; a checkpoint or a key must have one written form,
 * so that what is signed and what is shown agree). */
static int b64_canonical(unsigned char *out, size_t len, const char *b64)
{
    char *again;
    int same;
    if (mp_base64_decode_exact(out, len, b64) != 0)
        return -1;
    if ((again = mp_base64_encode(out, len)) == NULL)
        return mp_error_system("out of memory");
    same = strcmp(again, b64) == 0;
    free(again);
    return same ? 0 : mp_error_set("base64 not in its canonical form");
}

static uint32_t load32_be(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store32_be(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void store64_be(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t load64_be(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t key_id(const char *name, unsigned char type, const unsigned char pk[32])
{
    crypto_hash_sha256_state st;
    unsigned char h[32], sep[2] = {'\n', type};
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, 2);
    crypto_hash_sha256_update(&st, pk, 32);
    crypto_hash_sha256_final(&st, h);
    return load32_be(h);
}

int mp_note_key_make(mp_note_key *k, const char *name, unsigned char type,
                     const unsigned char pk[MP_SIGN_PK_BYTES])
{
    if (!mp_note_name_valid(name))
        return mp_error_set("\"%.80s\" is not a valid key name (non-empty, no spaces, no '+')",
                            name);
    if (type != MP_NOTE_TYPE_ED25519 && type != MP_NOTE_TYPE_COSIG)
        return mp_error_set("signature type 0x%02x is not supported (0x01 Ed25519 note "
                            "signatures, 0x04 Ed25519 cosignatures)",
                            type);
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", name);
    k->type = type;
    memcpy(k->pk, pk, MP_SIGN_PK_BYTES);
    k->id = key_id(name, type, pk);
    return 0;
}

int mp_note_key_parse(mp_note_key *k, const char *vkey)
{
    const char *p1 = strchr(vkey, '+'), *p2;
    char name[MP_NOTE_NAME_MAX + 1], hex[9];
    unsigned char raw[1 + MP_SIGN_PK_BYTES], idb[4];
    if (p1 == NULL || (p2 = strchr(p1 + 1, '+')) == NULL ||
        (size_t)(p1 - vkey) > MP_NOTE_NAME_MAX || p2 - p1 != 9)
        return mp_error_set("not a verifier key (want name+keyid+base64key)");
    memcpy(name, vkey, (size_t)(p1 - vkey));
    name[p1 - vkey] = '\0';
    memcpy(hex, p1 + 1, 8);
    hex[8] = '\0';
    if (mp_hex_decode(idb, 4, hex) != 0 || b64_canonical(raw, sizeof raw, p2 + 1) != 0)
        return mp_error_set("verifier key %.80s: malformed key id or key (want 8 lower-case hex "
                            "digits and base64 of a type byte and a 32-byte Ed25519 key)",
                            name);
    if (mp_note_key_make(k, name, raw[0], raw + 1) != 0)
        return mp_error_prefix("verifier key: ");
    if (k->id != load32_be(idb))
        return mp_error_set("verifier key %s: the key id %s is not the hash of the name and key",
                            name, hex);
    return 0;
}

char *mp_note_key_format(const mp_note_key *k)
{
    unsigned char raw[1 + MP_SIGN_PK_BYTES];
    char *b64, *out;
    size_t len;
    raw[0] = k->type;
    memcpy(raw + 1, k->pk, MP_SIGN_PK_BYTES);
    if ((b64 = mp_base64_encode(raw, sizeof raw)) == NULL)
        return NULL;
    len = strlen(k->name) + 1 + 8 + 1 + strlen(b64) + 1;
    if ((out = malloc(len)) != NULL)
        snprintf(out, len, "%s+%08" PRIx32 "+%s", k->name, k->id, b64);
    free(b64);
    return out;
}

/* Parse one signature line (without its LF) into s. */
static int sig_parse(mp_note_sig *s, const char *line, size_t len)
{
    const char *sp;
    unsigned char *raw;
    size_t rlen, nlen;
    char b64[256];
    if (len < DASH_LEN || memcmp(line, dash, DASH_LEN) != 0)
        return mp_error_set("a signature line must start with an em dash and a space");
    line += DASH_LEN;
    len -= DASH_LEN;
    sp = memchr(line, ' ', len);
    if (sp == NULL || (nlen = (size_t)(sp - line)) > MP_NOTE_NAME_MAX)
        return mp_error_set("a signature line must be: em dash, space, key name, space, base64");
    memset(s, 0, sizeof *s);
    memcpy(s->name, line, nlen);
    s->name[nlen] = '\0';
    if (!mp_note_name_valid(s->name))
        return mp_error_set("signature line: \"%.80s\" is not a valid key name", s->name);
    if (len - nlen - 1 >= sizeof b64)
        return mp_error_set("signature line of %s: signature too long", s->name);
    memcpy(b64, sp + 1, len - nlen - 1);
    b64[len - nlen - 1] = '\0';
    if (mp_base64_decode(&raw, &rlen, b64) != 0)
        return mp_error_set("signature line of %s: the signature is not base64", s->name);
    if (rlen < 5 || rlen - 4 > MP_NOTE_SIG_MAX) {
        free(raw);
        return mp_error_set("signature line of %s: a signature of %zu bytes is malformed", s->name,
                            rlen);
    }
    s->id = load32_be(raw);
    s->sig_len = rlen - 4;
    memcpy(s->sig, raw + 4, s->sig_len);
    free(raw);
    return 0;
}

static void sigs_free(mp_note *n)
{
    for (size_t i = 0; i < n->nsigs; i++)
        free(n->sigs[i].line);
    n->nsigs = 0;
}

void mp_note_free(mp_note *n)
{
    if (n == NULL)
        return;
    sigs_free(n);
    free(n->text);
    free(n);
}

static int add_sig(mp_note *n, const mp_note_sig *s, const char *line, size_t len)
{
    for (size_t i = 0; i < n->nsigs; i++)
        if (n->sigs[i].id == s->id && strcmp(n->sigs[i].name, s->name) == 0)
            return mp_error_set("key %s+%08" PRIx32 " signed the note twice", s->name, s->id);
    if (n->nsigs == MP_NOTE_SIGS_MAX)
        return mp_error_set("more than %d signatures on a note", MP_NOTE_SIGS_MAX);
    mp_note_sig *d = &n->sigs[n->nsigs];
    *d = *s;
    if ((d->line = malloc(len + 2)) == NULL)
        return mp_error_system("out of memory");
    memcpy(d->line, line, len);
    d->line[len] = '\n';
    d->line[len + 1] = '\0';
    n->nsigs++;
    return 0;
}

int mp_note_new(mp_note **out, const char *text, size_t len)
{
    mp_note *n;
    if (len == 0 || text[len - 1] != '\n')
        return mp_error_set("a note text must end in a newline");
    if (text_check(text, len, "note") != 0)
        return -1;
    if ((n = calloc(1, sizeof *n)) == NULL || (n->text = malloc(len + 1)) == NULL) {
        free(n);
        return mp_error_system("out of memory");
    }
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->text_len = len;
    *out = n;
    return 0;
}

int mp_note_parse(mp_note **out, const char *buf, size_t len)
{
    mp_note *n = NULL;
    size_t split = 0, pos;
    int found = 0;
    if (len > MP_NOTE_MAX)
        return mp_error_set("note: larger than %u bytes", MP_NOTE_MAX);
    if (text_check(buf, len, "note") != 0)
        return -1;
    if (len == 0 || buf[len - 1] != '\n')
        return mp_error_set("note: does not end in a newline (truncated?)");
    /* The text ends at the last blank line: the last "\n\n". */
    for (size_t i = len - 1; i > 0; i--)
        if (buf[i] == '\n' && buf[i - 1] == '\n') {
            split = i; /* buf[split] is the blank line */
            found = 1;
            break;
        }
    if (!found)
        return mp_error_set("note: no blank line before the signatures (unsigned?)");
    if (split + 1 >= len)
        return mp_error_set("note: no signature lines after the blank line");
    if (mp_note_new(&n, buf, split) != 0)
        return -1;
    for (pos = split + 1; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t l = (size_t)(nl - (buf + pos));
        mp_note_sig s;
        if (sig_parse(&s, buf + pos, l) != 0 || add_sig(n, &s, buf + pos, l) != 0) {
            mp_error_prefix("note: signature line %zu: ", n->nsigs + 1);
            mp_note_free(n);
            return -1;
        }
        pos += l + 1;
    }
    *out = n;
    return 0;
}

static int add_made(mp_note *n, const char *name, uint32_t id, const unsigned char *sig,
                    size_t sig_len)
{
    unsigned char raw[4 + MP_NOTE_SIG_MAX];
    char *b64, line[DASH_LEN + MP_NOTE_NAME_MAX + 1 + 4 * (sizeof raw + 2) / 3 + 8];
    mp_note_sig s;
    int len, rc;
    store32_be(raw, id);
    memcpy(raw + 4, sig, sig_len);
    if ((b64 = mp_base64_encode(raw, 4 + sig_len)) == NULL)
        return mp_error_system("out of memory");
    len = snprintf(line, sizeof line, "%s%s %s", dash, name, b64);
    free(b64);
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    s.id = id;
    s.sig_len = sig_len;
    memcpy(s.sig, sig, sig_len);
    rc = add_sig(n, &s, line, (size_t)len);
    sodium_memzero(raw, sizeof raw);
    return rc;
}

/* The public key of a libsodium Ed25519 secret key (its second half). */
static const unsigned char *sk_pk(const unsigned char sk[MP_SIGN_SK_BYTES])
{
    return sk + 32;
}

int mp_note_sign(mp_note *n, const char *name, const unsigned char sign_sk[MP_SIGN_SK_BYTES])
{
    unsigned char sig[64];
    if (!mp_note_name_valid(name))
        return mp_error_set("\"%.80s\" is not a valid key name", name);
    crypto_sign_detached(sig, NULL, (const unsigned char *)n->text, n->text_len, sign_sk);
    return add_made(n, name, key_id(name, MP_NOTE_TYPE_ED25519, sk_pk(sign_sk)), sig, 64);
}

/* "cosignature/v1\ntime T\n" || text, malloc'd. */
static unsigned char *cosig_message(const mp_note *n, uint64_t ts, size_t *len)
{
    char head[64];
    int hl = snprintf(head, sizeof head, COSIG_HEADER "time %" PRIu64 "\n", ts);
    unsigned char *m = malloc((size_t)hl + n->text_len);
    if (m == NULL)
        return NULL;
    memcpy(m, head, (size_t)hl);
    memcpy(m + hl, n->text, n->text_len);
    *len = (size_t)hl + n->text_len;
    return m;
}

int mp_note_cosign(mp_note *n, const char *name, const unsigned char sign_sk[MP_SIGN_SK_BYTES],
                   uint64_t timestamp)
{
    unsigned char sig[8 + 64], *m;
    size_t mlen;
    if (!mp_note_name_valid(name))
        return mp_error_set("\"%.80s\" is not a valid key name", name);
    if (timestamp > INT64_MAX)
        return mp_error_set("cosignature timestamp beyond 2^63 - 1");
    if ((m = cosig_message(n, timestamp, &mlen)) == NULL)
        return mp_error_system("out of memory");
    store64_be(sig, timestamp);
    crypto_sign_detached(sig + 8, NULL, m, mlen, sign_sk);
    free(m);
    return add_made(n, name, key_id(name, MP_NOTE_TYPE_COSIG, sk_pk(sign_sk)), sig, sizeof sig);
}

int mp_note_add_line(mp_note *n, const char *line, size_t len)
{
    mp_note_sig s;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (memchr(line, '\n', len) != NULL)
        return mp_error_set("one signature line expected");
    if (text_check(line, len, "signature line") != 0 || sig_parse(&s, line, len) != 0)
        return -1;
    return add_sig(n, &s, line, len);
}

int mp_note_format(char **out, size_t *len, const mp_note *n)
{
    size_t total = n->text_len + 1;
    char *p;
    if (n->nsigs == 0)
        return mp_error_set("a note needs at least one signature");
    for (size_t i = 0; i < n->nsigs; i++)
        total += strlen(n->sigs[i].line);
    if ((p = malloc(total + 1)) == NULL)
        return mp_error_system("out of memory");
    memcpy(p, n->text, n->text_len);
    p[n->text_len] = '\n';
    *len = n->text_len + 1;
    for (size_t i = 0; i < n->nsigs; i++) {
        size_t l = strlen(n->sigs[i].line);
        memcpy(p + *len, n->sigs[i].line, l);
        *len += l;
    }
    p[*len] = '\0';
    *out = p;
    return 0;
}

static int verify_one(const mp_note *n, const mp_note_sig *s, const mp_note_key *k, uint64_t *ts)
{
    if (k->type == MP_NOTE_TYPE_ED25519) {
        if (s->sig_len != 64 || crypto_sign_verify_detached(s->sig, (const unsigned char *)n->text,
                                                            n->text_len, k->pk) != 0)
            return -1;
        *ts = 0;
        return 0;
    }
    unsigned char *m;
    size_t mlen;
    int rc;
    if (s->sig_len != 8 + 64 || (s->sig[0] & 0x80))
        return -1;
    *ts = load64_be(s->sig);
    if ((m = cosig_message(n, *ts, &mlen)) == NULL)
        return -1;
    rc = crypto_sign_verify_detached(s->sig + 8, m, mlen, k->pk);
    free(m);
    return rc;
}

int mp_note_verify(const mp_note *n, const mp_note_key *keys, size_t nkeys, int strict,
                   mp_note_signer *signers)
{
    size_t good = 0;
    if (signers != NULL)
        memset(signers, 0, nkeys * sizeof *signers);
    for (size_t i = 0; i < n->nsigs; i++) {
        const mp_note_sig *s = &n->sigs[i];
        size_t k;
        uint64_t ts;
        for (k = 0; k < nkeys; k++)
            if (keys[k].id == s->id && strcmp(keys[k].name, s->name) == 0)
                break;
        if (k == nkeys) {
            if (strict)
                return mp_error_set("signed by %s+%08" PRIx32 ", which is not a trusted key "
                                    "(neither the log's nor a witness's)",
                                    s->name, s->id);
            continue;
        }
        if (verify_one(n, s, &keys[k], &ts) != 0)
            return mp_error_set("the signature of %s+%08" PRIx32 " does not verify (the note "
                                "was altered, or the line does not belong to it)",
                                s->name, s->id);
        if (signers != NULL) {
            signers[k].signed_it = 1;
            signers[k].timestamp = ts;
        }
        good++;
    }
    if (good == 0)
        return mp_error_set("not signed by any trusted key");
    return 0;
}

void mp_checkpoint_clear(mp_checkpoint *c)
{
    free(c->extensions);
    c->extensions = NULL;
}

int mp_checkpoint_format(char **out, size_t *len, const mp_checkpoint *c)
{
    char *root = mp_base64_encode(c->root, 32), *p;
    size_t ext = c->extensions ? strlen(c->extensions) : 0, cap;
    if (root == NULL)
        return mp_error_system("out of memory");
    if (c->origin[0] == '\0' || strchr(c->origin, '\n') != NULL ||
        text_check(c->origin, strlen(c->origin), "checkpoint origin") != 0) {
        free(root);
        return mp_error_set("checkpoint origin must be one non-empty line of text");
    }
    cap = strlen(c->origin) + 24 + strlen(root) + ext + 4;
    if ((p = malloc(cap)) == NULL) {
        free(root);
        return mp_error_system("out of memory");
    }
    *len = (size_t)snprintf(p, cap, "%s\n%" PRIu64 "\n%s\n%s", c->origin, c->size, root,
                            ext ? c->extensions : "");
    free(root);
    *out = p;
    return 0;
}

int mp_checkpoint_parse(mp_checkpoint *c, const char *text, size_t len)
{
    const char *p = text, *end = text + len, *nl;
    char line[128];
    size_t l;
    memset(c, 0, sizeof *c);
    if (len == 0 || text[len - 1] != '\n')
        return mp_error_set("checkpoint: the text must end in a newline");
    /* origin */
    nl = memchr(p, '\n', (size_t)(end - p));
    l = (size_t)(nl - p);
    if (l == 0 || l > MP_CHECKPOINT_ORIGIN_MAX)
        return mp_error_set("checkpoint line 1: the origin must be 1 to %d bytes",
                            MP_CHECKPOINT_ORIGIN_MAX);
    memcpy(c->origin, p, l);
    c->origin[l] = '\0';
    p = nl + 1;
    /* tree size: decimal, no leading zeroes, fits 63 bits */
    if (p == end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
        return mp_error_set("checkpoint: no tree size line");
    l = (size_t)(nl - p);
    if (l == 0 || l > 19 || (l > 1 && p[0] == '0'))
        return mp_error_set("checkpoint line 2: the tree size must be a decimal number without "
                            "leading zeroes");
    for (size_t i = 0; i < l; i++) {
        if (p[i] < '0' || p[i] > '9')
            return mp_error_set("checkpoint line 2: the tree size must be a decimal number");
        c->size = c->size * 10 + (uint64_t)(p[i] - '0');
    }
    if (c->size > INT64_MAX)
        return mp_error_set("checkpoint line 2: tree size too large");
    p = nl + 1;
    /* root hash */
    if (p == end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
        (l = (size_t)(nl - p)) >= sizeof line)
        return mp_error_set("checkpoint: no root hash line");
    memcpy(line, p, l);
    line[l] = '\0';
    if (b64_canonical(c->root, 32, line) != 0)
        return mp_error_set("checkpoint line 3: the root hash must be base64 of 32 bytes");
    p = nl + 1;
    /* extension lines: kept verbatim, each non-empty */
    if (p < end) {
        for (const char *q = p; q < end; q = (const char *)memchr(q, '\n', (size_t)(end - q)) + 1)
            if (*q == '\n')
                return mp_error_set("checkpoint: empty extension line");
        if ((c->extensions = malloc((size_t)(end - p) + 1)) == NULL)
            return mp_error_system("out of memory");
        memcpy(c->extensions, p, (size_t)(end - p));
        c->extensions[end - p] = '\0';
    }
    return 0;
}
