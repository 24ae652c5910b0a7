/*
 * audit.h - what the auditor checks, as a library: a published release (and a series of
 * them, and the transparency log it is in) verified with as little trust in the aggregator
 * as possible.
 *
 * A release is read through a source: a function that hands over the bytes of one named
 * document of the release ("roster.json", "submissions/ORG.json", "series/ROUND.json", ...).
 * mijlpaal-auditor serves them from a release directory; a test or an HTTP client from
 * memory (mp_audit_source_docs). Nothing here opens a path.
 *
 * mp_audit_release checks, and stops at the first thing that fails: the roster's signature
 * under the coordinator key given (obtained out of band), its agreement by every member and
 * every member's key bound by the region's CA; the round specification's signature and that
 * it names this roster; every included submission's signature, membership and round; that the
 * included submissions are exactly the round's participants (pairwise-v1: masks cancel only
 * then) or the signed survivors with T valid unmask messages (bonawitz-v1), and at least k_min;
 * that the sum of the masked vectors is the published sum and every published cell and rate
 * follows from it (the release rebuilt and compared byte for byte); the release signature;
 * and that release.csv and report.html are byte for byte what the signed release renders to
 * and report.pdf names it.
 *
 * Invariants:
 *   1. Every check is a pure function of the bytes the source returns, the coordinator key and
 *      the CA: no clock (the CA is applied as at the round's opening), no path.
 *   2. A failure is -1 with the reason in mp_error_get(), naming the document as
 *      "LABEL/NAME" (LABEL: the source's label, the release directory). A document the
 *      source cannot read for a system reason (I/O, memory) is a system error (error.h); a
 *      missing, altered or inconsistent one is refused. Nothing is left allocated.
 */
#ifndef MP_AUDIT_H
#define MP_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "error.h"
#include "keys.h"
#include "note.h"
#include "roundlog.h"
#include "spec.h"
#include "tlog_dir.h"

/* Where the documents of one release come from. */
typedef struct mp_audit_source {
    /* Read document `name` (at most `max` bytes) into a fresh malloc'd buffer with a NUL
     * appended (not counted in *len). Returns 0, or -1 with a reason: refused for a document
     * that is not there or too large, system for one that cannot be read. */
    int (*read)(void *ctx, const char *name, size_t max, unsigned char **buf, size_t *len);
    /* The names, sorted, of the "*.json" documents in `folder` (e.g. "series"), without the
     * folder: a fresh array of fresh strings (free each and the array). An absent folder is
     * an empty list (0, *n = 0). */
    int (*list)(void *ctx, const char *folder, char ***names, size_t *n);
    void *ctx;
    const char *label; /* how reasons name the release (its directory) */
} mp_audit_source;

/* One document in memory, for mp_audit_source_docs. */
typedef struct mp_audit_doc {
    const char *name; /* "roster.json", "submissions/utrecht.json", ... */
    const unsigned char *data;
    size_t len;
} mp_audit_doc;

typedef struct mp_audit_docs {
    const mp_audit_doc *doc;
    size_t n;
} mp_audit_docs;

/* A source over documents in memory (docs must outlive the source). */
void mp_audit_source_docs(mp_audit_source *src, mp_audit_docs *docs, const char *label);

/* What one verified release declares: the series check needs it, the programs print it. */
typedef struct mp_audit_release_report {
    char round_id[MP_ROUND_ID_MAX + 1], series[41], published[21];
    char coordinator_key_id[2 * MP_KEY_ID_BYTES + 1];
    double rho, series_rho, spent_before;
    size_t submissions, cells;
    enum mp_masking masking;
} mp_audit_release_report;

/* Verify the release `src` serves against the coordinator key and the CA (see the top). */
MP_WUR int mp_audit_release(const mp_audit_source *src, const mp_pubkey *coordinator,
                            const mp_ca *ca, mp_audit_release_report *out);

/* The privacy spend of several verified releases, recomputed from their signed rounds: per
 * series, in publication order, each round must have declared at least the spend of the
 * releases before it, and the sum must stay within the series budget; a round given twice is
 * refused. Sorts r by publication time. */
MP_WUR int mp_audit_series(mp_audit_release_report *r, size_t n);

/* The whole transparency log: every checkpoint signed by the log key (and only it and the
 * witnesses given), consistency along the history, inclusion of every entry, at least
 * min_cosigners witnesses on the latest checkpoint; then every round in it and each series'
 * spend recomputed over all of them. */
typedef struct mp_audit_log_report {
    mp_tlogdir_report tlog;
    mp_roundlog_round *rounds; /* owned; in log order */
    size_t nrounds;
    size_t unpublished; /* opened, neither published nor cancelled */
    size_t cancelled;   /* cancelled by a logged cancellation, not published */
} mp_audit_log_report;

MP_WUR int mp_audit_log(const mp_tlogdir *d, const mp_note_key *log_key,
                        const mp_note_key *witnesses, size_t nwitnesses, size_t min_cosigners,
                        mp_audit_log_report *out);
void mp_audit_log_report_free(mp_audit_log_report *r);

/* Document `name` of `src` must be in the log as an entry of `type`, byte for byte, with an
 * inclusion proof. */
MP_WUR int mp_audit_in_log(const mp_tlogdir *d, const mp_audit_source *src, const char *name,
                           const char *type);

#endif
