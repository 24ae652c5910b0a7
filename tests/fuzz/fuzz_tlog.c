/*
 * fuzz_tlog.c - libFuzzer target for the transparency log's parsers (make fuzz): signed notes,
 * checkpoints, verifier keys and log entry headers (protocol/log/note.c, tlog_dir.c).
 *
 * Besides the sanitizers it checks what callers rely on: a parsed note re-serialises to exactly
 * its input; a parsed checkpoint formats back to exactly its text; a parsed verifier key
 * formats back to its input; a decoded entry's document is the tail of the input with the
 * sha256 its header names.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "note.h"
#include "tlog_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mp_note *n;
    mp_checkpoint c;
    mp_tlog_meta m;
    const unsigned char *doc;
    size_t dlen;
    char *text, *key;
    size_t len;
    if (sodium_init() < 0)
        abort();
    if (mp_note_parse(&n, (const char *)data, size) == 0) {
        if (mp_note_format(&text, &len, n) != 0 || len != size || memcmp(text, data, size) != 0)
            abort();
        free(text);
        if (mp_checkpoint_parse(&c, n->text, n->text_len) == 0) {
            if (mp_checkpoint_format(&text, &len, &c) != 0 || len != n->text_len ||
                memcmp(text, n->text, len) != 0)
                abort();
            free(text);
            mp_checkpoint_clear(&c);
        }
        mp_note_free(n);
    }
    if (size < 512 && memchr(data, 0, size) == NULL) {
        mp_note_key k;
        char buf[512];
        memcpy(buf, data, size);
        buf[size] = '\0';
        if (mp_note_key_parse(&k, buf) == 0) {
            if ((key = mp_note_key_format(&k)) == NULL || strcmp(key, buf) != 0)
                abort();
            free(key);
        }
    }
    if (mp_tlog_entry_decode(data, size, &m, &doc, &dlen) == 0) {
        unsigned char h[32];
        if (doc + dlen != data + size)
            abort();
        mp_hash(h, doc, dlen);
        if (memcmp(h, m.sha256, 32) != 0)
            abort();
    }
    return 0;
}
