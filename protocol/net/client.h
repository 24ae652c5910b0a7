/*
 * client.h - a contributor's HTTPS client of `mijlpaal-aggregator serve` (server.h), libcurl
 * with OpenSSL.
 *
 * Invariants:
 *   1. Mutual TLS always: the client presents its organisation certificate and key, and
 *      accepts the server only when its certificate chains to the given CA file and names
 *      the host of the URL (peer and host verification are never switched off).
 *   2. Retries: a connection error, a timeout, a 5xx answer or 429 is retried up to
 *      `attempts` times with exponential backoff (250 ms doubling, at most 30 s, with
 *      jitter; a Retry-After of the server is honoured up to 60 s). Any other answer is
 *      returned to the caller as it came: a 4xx refusal is final. Retrying a POST is safe
 *      because the server stores a message at most once (a replay gets 409 "replay").
 *   3. Progress on stderr (each retry and why); never a body.
 *   4. mp_client_request returns 0 with the status and body of the last answer, or -1 when
 *      no answer came after the last attempt (the reason in mp_error_get()).
 */
#ifndef MP_CLIENT_H
#define MP_CLIENT_H

#include <stddef.h>

#include "error.h"

#define MP_CLIENT_MAX_BODY (64u * 1024 * 1024)

typedef struct mp_client mp_client;

/* base_url: "https://HOST:PORT" (no trailing path). */
MP_WUR int mp_client_new(mp_client **out, const char *base_url, const char *cert_file,
                         const char *key_file, const char *ca_file, int attempts);
void mp_client_free(mp_client *c);

/* GET (body NULL) or POST (body, len) of base_url + path. *resp is malloc'd and
 * NUL-terminated. */
MP_WUR int mp_client_request(mp_client *c, const char *path, const char *body, size_t len,
                             long *status, char **resp, size_t *resp_len);

/* The "error" and "reason" of a JSON error body (empty strings when it is not one). */
void mp_client_error_of(const char *resp, char *code, size_t code_cap, char *reason,
                        size_t reason_cap);

#endif
