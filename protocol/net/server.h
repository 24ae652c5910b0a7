/*
 * server.h - the aggregator as an HTTPS service with mutual TLS (mijlpaal-aggregator serve).
 *
 * A round is otherwise a relay of files. The service takes the same messages over HTTPS, from
 * organisations that authenticate with the certificate the region's CA issued them (cert.h),
 * and stores them through the same import path as `round import` (aggregate.h).
 *
 *   GET  /v1/rounds/ID/status        {"round_id","state","deadline","participants",
 *                                     "submitted":[ORG...],"missing":[ORG...]}
 *   GET  /v1/rounds/ID/round         the signed round specification, as stored
 *   GET  /v1/rounds/ID/roster        the signed roster the round names, as stored
 *   POST /v1/rounds/ID/submissions   body: a submission envelope (pairwise-v1 rounds)
 *   GET  /v1/releases/ID/FILE        the published release directory RELEASE_DIR/ID/, once
 *                                     the round is published
 * Every refusal is {"error":CODE,"reason":TEXT} with a 4xx/5xx status (docs/server.md).
 *
 * Invariants:
 *   1. TLS: a client is served only after presenting a certificate that chains to the CA
 *      file the server was given (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, purpose
 *      sslclient, CRLs of the CA file checked when it holds any); without one the handshake
 *      fails and no request is ever read.
 *   2. A request about a round is answered only when the client certificate's OIN (subject
 *      serialNumber) is the OIN of a member of that round's roster; a submission is stored
 *      only when its envelope is signed by that member's key, so an organisation cannot post
 *      another's message.
 *   3. A submission is committed to SQLite (mp_agg_import_text) before the response is sent;
 *      a refused one leaves the store exactly as it was (aggregate.h invariant 1).
 *   4. Limits: request bodies over max_body are refused with 413 (over twice that libevent
 *      drops the request itself), headers over 16 KiB, a per-organisation token bucket of
 *      `rate` requests per second up to `burst` (429 with Retry-After), a read/write timeout.
 *   5. One line per request on stderr: time, organisation (or the OIN of a non-member, or
 *      "-"), method, path, status. Never a figure, a body or key material.
 *   6. SIGTERM or SIGINT: stop accepting, let the responses already produced drain, close the
 *      store, return 0. Requests are handled one at a time on one thread, so no request is
 *      ever cut in half by a shutdown.
 */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include <stddef.h>

#include "error.h"
#include "keys.h"

typedef struct mp_server_config {
    const char *db_path;
    mp_pubkey coordinator; /* the trusted coordinator key: rounds are re-verified with it */
    const char *tls_cert, *tls_key, *ca_file;
    const char *host; /* numeric address to listen on */
    unsigned short port;
    const char *release_dir; /* NULL: no releases served */
    size_t max_body;         /* bytes; 0: 4 MiB */
    double rate, burst;      /* per organisation; 0: 5/s and 20 */
    int timeout;             /* seconds; 0: 30 */
} mp_server_config;

/* Run the service in the foreground until SIGTERM/SIGINT; -1 when it cannot start. */
MP_WUR int mp_server_run(const mp_server_config *cfg);

#endif
