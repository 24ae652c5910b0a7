/*
 * tlog_dir.h - the transparency log as a directory of static files.
 *
 * The coordinator appends every public document of the region (roster, round specification,
 * submission hashes, survivors list, unmask request, release) to one RFC 9162 tree (tlog.h)
 * and signs a C2SP checkpoint (note.h) of it. The directory is all there is: copy it to any
 * web server and anyone can check it.
 *
 *   DIR/checkpoint              the latest checkpoint: a signed note (coordinator signature,
 *                               then the witnesses' cosignature/v1 lines)
 *   DIR/checkpoints/NNNNNNNN    every checkpoint ever published, by tree size (%08llu): the
 *                               history that consistency is checked along
 *   DIR/entries/NNNNNNNN        entry NNNNNNNN (%08llu, from 0): one document, framed as
 *
 *     "mijlpaal-log-entry/v1" SP <type> SP <sha256 of the document, lower-case hex> SP
 *     <length of the document, decimal> LF <the document's bytes, exactly as published>
 *
 * The leaf hash of an entry is SHA-256(0x00 || the whole entry file), so that
 *   { printf '\000'; cat DIR/entries/NNNNNNNN; } | openssl dgst -sha256
 * is its leaf hash and `tail -n +2 DIR/entries/NNNNNNNN | cmp - release.json` shows the
 * document is the release. Types: [a-z0-9-], 1..32 characters ("roster", "round",
 * "submission-hash", "survivors", "unmask-request", "release").
 *
 * Checkpoint: origin (the log's name, also the coordinator's key name in the note), tree size,
 * root. The coordinator's signature is type 0x01 under the origin as key name; witnesses
 * cosign with type 0x04 under their organisation id as key name.
 *
 * Crash safety of an append (one writer at a time: the coordinator):
 *   1. the new entries and checkpoints/<new size> are written in place (nobody relies on a
 *      file past the latest checkpoint);
 *   2. all of them are made durable at once (syncfs on Linux; elsewhere an fsync per file and
 *      directory);
 *   3. checkpoint is replaced atomically: its temporary (.checkpoint.tmp) is flushed with
 *      them, renamed over checkpoint, and the directory synced.
 * A crash leaves the old checkpoint or the new one. Entries past the latest checkpoint are
 * leftovers of a crash: readers ignore them and the next append overwrites them. A history
 * file past the latest is removed by the next append; until then mp_tlogdir_verify refuses
 * the log when that file is signed by the log key (it cannot tell a crash from a rollback).
 *
 * Invariants of a loaded directory (mp_tlogdir_load):
 *   1. every entry 0..size-1 is present and well framed (its sha256 and length are right);
 *   2. the tree of those entries has the root of the latest checkpoint;
 *   signatures and the history are checked by mp_tlogdir_verify.
 */
#ifndef MP_TLOG_DIR_H
#define MP_TLOG_DIR_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "note.h"
#include "tlog.h"

#define MP_TLOG_TYPE_MAX 32
#define MP_TLOG_ENTRY_MAX (64u * 1024 * 1024)
#define MP_TLOG_MAGIC "mijlpaal-log-entry/v1"

/* One document to append. */
typedef struct mp_tlog_doc {
    const char *type;
    const void *data;
    size_t len;
} mp_tlog_doc;

/* What the log holds about each entry (the documents stay on disk). */
typedef struct mp_tlog_meta {
    char type[MP_TLOG_TYPE_MAX + 1];
    unsigned char sha256[32];
} mp_tlog_meta;

typedef struct mp_tlogdir {
    char path[PATH_MAX];
    mp_tlog *tree;      /* the entries the latest checkpoint covers */
    mp_tlog_meta *meta; /* one per entry */
    mp_note *note;      /* the latest checkpoint, NULL for an empty log */
    mp_checkpoint cp;   /* its body (size 0 for an empty log) */
    uint64_t *history;  /* sizes of checkpoints/ files up to cp.size, ascending */
    size_t nhistory;
    uint64_t newer; /* the largest checkpoints/ file above cp.size (0: none) */
} mp_tlogdir;

/* The result of mp_tlogdir_verify. */
typedef struct mp_tlogdir_report {
    size_t checkpoints;     /* checkpoints verified (history and latest) */
    size_t consistency;     /* consistency proofs verified between successive checkpoints */
    uint64_t inclusion;     /* inclusion proofs verified (every entry) */
    size_t cosigned;        /* witnesses that cosigned the latest checkpoint */
    int *witness_signed;    /* per witness key given: 1 when it cosigned the latest; owned */
    uint64_t *witness_time; /* and when */
} mp_tlogdir_report;

/* An entry's framing: encode a document, or decode (checking sha256 and length). */
MP_WUR int mp_tlog_entry_encode(unsigned char **out, size_t *len, const char *type, const void *doc,
                                size_t doc_len);
MP_WUR int mp_tlog_entry_decode(const unsigned char *buf, size_t len, mp_tlog_meta *meta,
                                const unsigned char **doc, size_t *doc_len);

/* Read a log directory (an absent `checkpoint` is an empty log; an absent directory is
 * refused unless allow_missing). Checks invariants 1 and 2; no signatures. */
MP_WUR int mp_tlogdir_load(mp_tlogdir **out, const char *dir, int allow_missing);
void mp_tlogdir_free(mp_tlogdir *d);

/* Check every checkpoint in the history and the latest: signed by the log key (strict: no
 * other key than the log's and the witnesses'), same origin, the root of the entries at its
 * size, and a verified consistency proof from the one before; and an inclusion proof of every
 * entry in the latest. `min_cosigners` witnesses must have cosigned the latest checkpoint.
 * A history file above the latest that the log key signed is refused: the checkpoint was
 * rolled back (or an append crashed between its two renames and must be run again). */
MP_WUR int mp_tlogdir_verify(const mp_tlogdir *d, const mp_note_key *log_key,
                             const mp_note_key *witnesses, size_t nwitnesses, size_t min_cosigners,
                             mp_tlogdir_report *rep);
void mp_tlogdir_report_free(mp_tlogdir_report *rep);

/* The first entry of `type` whose document has this sha256 (-1 without reason when none). */
int mp_tlogdir_find(const mp_tlogdir *d, const char *type, const unsigned char sha256[32],
                    uint64_t *index);

/* Read entry `index` back (checked against the tree): the whole entry in *entry (malloc'd),
 * the document inside it at *doc. */
MP_WUR int mp_tlogdir_entry(const mp_tlogdir *d, uint64_t index, unsigned char **entry,
                            size_t *entry_len, const unsigned char **doc, size_t *doc_len);

/* Inclusion of entry `index` in the latest checkpoint: proof generated and verified. */
MP_WUR int mp_tlogdir_prove_inclusion(const mp_tlogdir *d, uint64_t index, mp_tlog_proof *proof);

/*
 * Append documents and publish a new checkpoint signed by the coordinator (sign_sk, key name
 * `origin`), creating the directory if needed. Documents already in the log (same type and
 * sha256) are skipped, so publishing again adds nothing; nothing new, no new checkpoint. The
 * existing log is loaded and its latest checkpoint verified with the coordinator's own key
 * first: an append never extends a log that is not intact or not its own.
 */
MP_WUR int mp_tlogdir_append(const char *dir, const char *origin,
                             const unsigned char sign_sk[MP_SIGN_SK_BYTES], const mp_tlog_doc *docs,
                             size_t ndocs, uint64_t *added, uint64_t *size);

/*
 * Witnessing building blocks (the contributor cosigns before it takes part in a round):
 *
 * mp_tlogdir_extends: the loaded log's latest checkpoint extends `old` (a checkpoint the
 * witness cosigned before): same origin, size not smaller, and a consistency proof from old
 * to latest, generated from this directory's entries, verifies against old's root. A fork (the
 * witness was shown another history) fails here. Both checkpoints' signatures are the
 * caller's to check (mp_note_verify).
 *
 * mp_tlogdir_cosign: a cosignature/v1 line of the latest checkpoint by witness `name`.
 *
 * mp_tlogdir_add_cosignature: add such a line to checkpoints/<size> and, when it is the
 * latest, to checkpoint (each rewritten atomically); the line must verify with `witness`.
 */
MP_WUR int mp_tlogdir_extends(const mp_tlogdir *d, const mp_checkpoint *old);
MP_WUR int mp_tlogdir_cosign(const mp_tlogdir *d, const char *name,
                             const unsigned char sign_sk[MP_SIGN_SK_BYTES], uint64_t timestamp,
                             char **line);
MP_WUR int mp_tlogdir_add_cosignature(const char *dir, uint64_t size, const char *line,
                                      const mp_note_key *witness);

/* Read and parse a checkpoint note file (no signature check). */
MP_WUR int mp_checkpoint_load(const char *path, mp_note **note, mp_checkpoint *cp);

#endif
