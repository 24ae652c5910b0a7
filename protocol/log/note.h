/*
 * note.h - C2SP signed notes, tlog checkpoints and tlog cosignatures (Ed25519).
 *
 * Signed note (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank line, then one
 * or more signature lines
 *
 *   U+2014 U+0020 <key name> U+0020 base64(key id (4, big-endian) || signature) LF
 *
 * The text signed is the note text including its final newline (not the blank line). A note
 * contains no control character but LF; the text ends at the last blank line. Key names are
 * non-empty and contain neither spaces nor '+'. The key id of a key is
 *
 *   SHA-256(name || 0x0A || type || public key)[:4]
 *
 * with type 0x01 for a plain Ed25519 note signature (the coordinator signing its checkpoint)
 * and 0x04 for an Ed25519 cosignature (c2sp.org/tlog-cosignature, cosignature/v1): its
 * signature bytes are key id || timestamp (8, big-endian, seconds since the epoch) ||
 * Ed25519 signature over
 *
 *   "cosignature/v1" LF "time " <timestamp, decimal, no leading zeroes> LF <checkpoint text>
 *
 * A verifier key (vkey) is written name+<key id, 8 lower-case hex>+base64(type || public key).
 *
 * Checkpoint (c2sp.org/tlog-checkpoint), the text of the note:
 *
 *   <origin> LF <tree size, decimal, no leading zeroes> LF <base64 of the 32-byte root> LF
 *   [extension lines, each non-empty, LF-terminated]
 *
 * Verification policy (mp_note_verify): a signature line whose (name, key id) is one of the
 * trusted keys must verify, or the whole note is refused; a line from a key that is not
 * trusted is refused when `strict` (a region's auditor knows every witness, so a stranger's
 * line means someone is passing off their checkpoint) and skipped otherwise, as the spec asks of
 * general verifiers. Which trusted keys signed is reported; what is required (the
 * coordinator's signature, a quorum of witnesses) is the caller's policy.
 *
 * Invariants: a parsed note holds the exact bytes of its text, so re-serialising a parsed note
 * gives back the input; every function is 0/-1 and leaves nothing allocated on failure.
 */
#ifndef MP_NOTE_H
#define MP_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "keys.h"

#define MP_NOTE_TYPE_ED25519 0x01
#define MP_NOTE_TYPE_COSIG 0x04
#define MP_NOTE_NAME_MAX 200
#define MP_NOTE_MAX (1u << 20) /* largest note read */
#define MP_NOTE_SIGS_MAX 100   /* the spec asks for at least 16 */
#define MP_NOTE_SIG_MAX (4 + 8 + 64)
#define MP_CHECKPOINT_ORIGIN_MAX 200

/* A verifier key. */
typedef struct mp_note_key {
    char name[MP_NOTE_NAME_MAX + 1];
    unsigned char type; /* MP_NOTE_TYPE_ED25519 or MP_NOTE_TYPE_COSIG */
    uint32_t id;
    unsigned char pk[MP_SIGN_PK_BYTES];
} mp_note_key;

typedef struct mp_note_sig {
    char name[MP_NOTE_NAME_MAX + 1];
    uint32_t id;
    unsigned char sig[MP_NOTE_SIG_MAX]; /* after the key id */
    size_t sig_len;
    char *line; /* the line as written, with its LF; owned */
} mp_note_sig;

typedef struct mp_note {
    char *text; /* the signed text, with its final LF, NUL-terminated; owned */
    size_t text_len;
    size_t nsigs;
    mp_note_sig sigs[MP_NOTE_SIGS_MAX];
} mp_note;

/* What mp_note_verify found for each trusted key. */
typedef struct mp_note_signer {
    int signed_it;      /* 1 when a valid signature line of this key is present */
    uint64_t timestamp; /* cosignatures: the time the witness signed */
} mp_note_signer;

typedef struct mp_checkpoint {
    char origin[MP_CHECKPOINT_ORIGIN_MAX + 1];
    uint64_t size;
    unsigned char root[32];
    char *extensions; /* extension lines (LF-terminated) or NULL; owned */
} mp_checkpoint;

/* 1 when `name` may be a key name (non-empty, at most MP_NOTE_NAME_MAX bytes, valid UTF-8,
 * no space, no '+', no control character). */
int mp_note_name_valid(const char *name);

/* A verifier key from its parts; and to and from the vkey text. */
MP_WUR int mp_note_key_make(mp_note_key *k, const char *name, unsigned char type,
                            const unsigned char pk[MP_SIGN_PK_BYTES]);
MP_WUR int mp_note_key_parse(mp_note_key *k, const char *vkey);
char *mp_note_key_format(const mp_note_key *k); /* malloc'd; NULL when out of memory */

/* Parse a whole signed note (at least one signature line). */
MP_WUR int mp_note_parse(mp_note **out, const char *buf, size_t len);
void mp_note_free(mp_note *n);

/* A new note of `text` (which must end in LF and obey the note rules) with no signatures yet:
 * add them with mp_note_sign/mp_note_cosign before serialising. */
MP_WUR int mp_note_new(mp_note **out, const char *text, size_t len);

/* Add a signature line signed with `sign_sk` under key name `name` (type 0x01), or a
 * cosignature/v1 line at `timestamp` (type 0x04). The signer's key must not have signed the
 * note already. */
MP_WUR int mp_note_sign(mp_note *n, const char *name,
                        const unsigned char sign_sk[MP_SIGN_SK_BYTES]);
MP_WUR int mp_note_cosign(mp_note *n, const char *name,
                          const unsigned char sign_sk[MP_SIGN_SK_BYTES], uint64_t timestamp);

/* Add a signature line someone else made (parsed and checked for form, not verified: verify
 * the note afterwards). A line of a key that already signed is refused. */
MP_WUR int mp_note_add_line(mp_note *n, const char *line, size_t len);

/* The note as text: text, blank line, signature lines. Refused with no signature. */
MP_WUR int mp_note_format(char **out, size_t *len, const mp_note *n);

/* Verify the note against trusted keys (see the policy above). signers[i] tells about keys[i]
 * (may be NULL). Refused when no trusted key signed. */
MP_WUR int mp_note_verify(const mp_note *n, const mp_note_key *keys, size_t nkeys, int strict,
                          mp_note_signer *signers);

/* Checkpoint text to and from its fields. */
MP_WUR int mp_checkpoint_format(char **out, size_t *len, const mp_checkpoint *c);
MP_WUR int mp_checkpoint_parse(mp_checkpoint *c, const char *text, size_t len);
void mp_checkpoint_clear(mp_checkpoint *c);

#endif
