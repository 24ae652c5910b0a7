/* server.c - see server.h. */
#include "server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "aggregate.h"
#include "canon.h"
#include "cert.h"
#include "date.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "roster.h"
#include "spec.h"
#include "store.h"

#define MAX_BUCKETS 1024
#define MAX_HEADERS (16 * 1024)
#define MAX_RELEASE_FILE (64u * 1024 * 1024)
#define ROUND_ID_MAX 64

typedef struct bucket {
    char oin[MP_OIN_LEN + 1];
    double tokens, last;
} bucket;

typedef struct server {
    const mp_server_config *cfg;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    SSL_CTX *ctx;
    sqlite3 *db;
    struct event *sig_term, *sig_int;
    bucket buckets[MAX_BUCKETS];
    size_t nbuckets;
} server;

/* What one request is about, for the answer and the log line. */
typedef struct request {
    server *srv;
    struct evhttp_request *req;
    const char *method;
    char path[256];
    char oin[MP_OIN_LEN + 1];    /* from the client certificate; "" when none */
    char who[MP_ORG_ID_MAX + 1]; /* member id once known, else the OIN, else "-" */
} request;

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line per request (invariant 5); the path is the request's own, made printable. */
static void log_request(const request *r, int status)
{
    int64_t now;
    char at[21] = "-";
    if (mp_time_now(&now) == 0)
        mp_time_format(at, now);
    fprintf(stderr, "%s org=%s %s %s %d\n", at, r->who[0] ? r->who : "-", r->method, r->path,
            status);
    fflush(stderr);
}

static void reply(request *r, int status, const char *type, const void *body, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (out != NULL && len > 0)
        evbuffer_add(out, body, len);
    evhttp_send_reply(r->req, status, NULL, out);
    if (out != NULL)
        evbuffer_free(out);
    log_request(r, status);
}

static void reply_json(request *r, int status, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (s == NULL) {
        static const char oom[] = "{\"error\":\"internal\",\"reason\":\"out of memory\"}";
        reply(r, 500, "application/json", oom, sizeof oom - 1);
    } else {
        reply(r, status, "application/json", s, strlen(s));
    }
    free(s);
    cJSON_Delete(j);
}

/* {"error":CODE,"reason":TEXT}: every refusal. */
static void reply_error(request *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_error(request *r, int status, const char *code, const char *fmt, ...)
{
    char reason[MP_ERROR_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    if (j != NULL) {
        cJSON_AddStringToObject(j, "error", code);
        cJSON_AddStringToObject(j, "reason", reason);
    }
    reply_json(r, status, j);
}

/* The OIN in the client certificate's subject serialNumber ("" when absent or malformed). */
static void peer_oin(struct evhttp_request *req, char oin[MP_OIN_LEN + 1])
{
    oin[0] = '\0';
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    if (peer == NULL)
        return;
    X509_NAME *name = X509_get_subject_name(peer);
    int i = name ? X509_NAME_get_index_by_NID(name, NID_serialNumber, -1) : -1;
    if (i >= 0) {
        ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        int n = ASN1_STRING_length(v);
        if (n == MP_OIN_LEN) {
            memcpy(oin, ASN1_STRING_get0_data(v), MP_OIN_LEN);
            oin[MP_OIN_LEN] = '\0';
            if (!mp_oin_valid(oin))
                oin[0] = '\0';
        }
    }
    X509_free(peer);
}

/* Token bucket per organisation (by OIN); returns 0 or the seconds to wait. */
static int rate_take(server *s, const char *oin)
{
    double now = monotonic(), rate = s->cfg->rate > 0 ? s->cfg->rate : 5,
           burst = s->cfg->burst > 0 ? s->cfg->burst : 20;
    bucket *b = NULL;
    for (size_t i = 0; i < s->nbuckets && b == NULL; i++)
        if (strcmp(s->buckets[i].oin, oin) == 0)
            b = &s->buckets[i];
    if (b == NULL) {
        if (s->nbuckets < MAX_BUCKETS) {
            b = &s->buckets[s->nbuckets++];
        } else { /* only certified organisations get here: reuse the idlest bucket */
            b = &s->buckets[0];
            for (size_t i = 1; i < s->nbuckets; i++)
                if (s->buckets[i].last < b->last)
                    b = &s->buckets[i];
        }
        snprintf(b->oin, sizeof b->oin, "%s", oin);
        b->tokens = burst;
        b->last = now;
    }
    b->tokens = fmin(burst, b->tokens + (now - b->last) * rate);
    b->last = now;
    if (b->tokens < 1)
        return (int)ceil((1 - b->tokens) / rate);
    b->tokens -= 1;
    return 0;
}

static int id_valid(const char *s, size_t n)
{
    if (n == 0 || n > ROUND_ID_MAX || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
            !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

/* A relative path inside a release directory: components of [A-Za-z0-9._-], none starting
 * with a dot (no "..", no hidden files). */
static int release_path_valid(const char *p)
{
    if (*p == '\0')
        return 0;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!id_valid(p, n))
            return 0;
        p += n;
        if (*p == '/')
            p++;
        if (*p == '\0' && slash != NULL)
            return 0; /* trailing slash: a directory */
    }
    return 1;
}

static const mp_org *member_by_oin(const mp_roster *roster, const char *oin)
{
    for (size_t i = 0; i < roster->norgs; i++)
        if (roster->orgs[i].oin != NULL && strcmp(roster->orgs[i].oin, oin) == 0)
            return &roster->orgs[i];
    return NULL;
}

static void send_status(request *r, sqlite3 *db, const mp_spec *spec)
{
    mp_round_status st;
    if (mp_agg_status(db, spec, &st) != 0) {
        reply_error(r, 500, "internal", "%s", mp_error_get());
        return;
    }
    cJSON *j = cJSON_CreateObject(), *sub, *mis;
    cJSON_AddStringToObject(j, "round_id", spec->round_id);
    cJSON_AddStringToObject(j, "state", st.state);
    cJSON_AddStringToObject(j, "masking", mp_spec_scheme_name(spec));
    cJSON_AddStringToObject(j, "deadline", st.deadline);
    cJSON_AddNumberToObject(j, "participants", (double)st.nparticipants);
    sub = cJSON_AddArrayToObject(j, "submitted");
    for (size_t i = 0; i < st.nsubmitted; i++)
        cJSON_AddItemToArray(sub, cJSON_CreateString(st.submitted[i]));
    mis = cJSON_AddArrayToObject(j, "missing");
    for (size_t i = 0; i < st.nmissing; i++)
        cJSON_AddItemToArray(mis, cJSON_CreateString(st.missing[i]));
    reply_json(r, 200, j);
}

/* The hash of the submission `org` has stored in the round: 1 found, 0 none, -1 error. */
static int stored_hash(sqlite3 *db, const char *round_id, const char *org,
                       char hash[MP_HASH_HEX_BYTES])
{
    sqlite3_stmt *st;
    if (mp_store_prepare(
            db, &st, "SELECT submission_sha256 FROM submissions WHERE round_id = ? AND org = ?"))
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, org, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), found = 0;
    if (step == SQLITE_ROW) {
        snprintf(hash, MP_HASH_HEX_BYTES, "%s", (const char *)sqlite3_column_text(st, 0));
        found = 1;
    } else if (step != SQLITE_DONE)
        found = mp_store_error(db, "cannot read the submissions");
    sqlite3_finalize(st);
    return found;
}

static void post_submission(request *r, const mp_spec *spec, const mp_org *me)
{
    server *s = r->srv;
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in), max = s->cfg->max_body ? s->cfg->max_body : 4u << 20;
    mp_envelope *env = NULL;
    const char *rid;
    char hash[MP_HASH_HEX_BYTES], have[MP_HASH_HEX_BYTES], org_id[MP_ORG_ID_MAX + 1], round_id[65];
    if (len > max) {
        reply_error(r, 413, "too_large", "the body is %zu bytes; at most %zu are accepted", len,
                    max);
        return;
    }
    if (spec->masking != MP_MASKING_PAIRWISE) {
        reply_error(r, 501, "not_supported",
                    "round %s uses masking %s, which this service does not take over HTTP yet; "
                    "use the file path (round import)",
                    spec->round_id, mp_spec_scheme_name(spec));
        return;
    }
    const char *text = (const char *)evbuffer_pullup(in, -1);
    if (len == 0 || text == NULL || mp_envelope_parse(&env, text, len, NULL) != 0) {
        reply_error(r, 400, "malformed", "the body is not a mijlpaal envelope: %s",
                    len == 0 ? "empty" : mp_error_get());
        return;
    }
    if (strcmp(env->type, "submission") != 0) {
        reply_error(r, 400, "wrong_type", "a \"%s\" document; this endpoint takes submissions",
                    env->type);
        goto out;
    }
    if (mp_json_str(env->body, "round_id", &rid) != 0 || strcmp(rid, spec->round_id) != 0) {
        reply_error(r, 400, "wrong_round", "the submission is not for round %s", spec->round_id);
        goto out;
    }
    /* Invariant 2: only the organisation the connection authenticated may post it. */
    if (memcmp(env->signer, me->key.key_id, MP_KEY_ID_BYTES) != 0) {
        reply_error(r, 403, "not_your_message",
                    "the submission is not signed by the key of %s, whose certificate this "
                    "connection presented",
                    me->id);
        goto out;
    }
    mp_hex_encode(hash, env->hash, MP_HASH_BYTES);
    int found = stored_hash(s->db, spec->round_id, me->id, have);
    if (found < 0) {
        reply_error(r, 500, "internal", "%s", mp_error_get());
        goto out;
    }
    if (found && strcmp(have, hash) == 0) {
        reply_error(r, 409, "replay", "this submission of %s is stored already", me->id);
        goto out;
    }
    if (found) {
        reply_error(r, 409, "already_submitted",
                    "%s already has another submission in round %s; a second one is refused",
                    me->id, spec->round_id);
        goto out;
    }
    if (mp_agg_import_text(s->db, text, len, "submission", &s->cfg->coordinator, org_id,
                           round_id) != 0) {
        reply_error(r, 422, "refused", "%s", mp_error_get());
        goto out;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "accepted", 1);
    cJSON_AddStringToObject(j, "round_id", round_id);
    cJSON_AddStringToObject(j, "org", org_id);
    cJSON_AddStringToObject(j, "submission_sha256", hash);
    reply_json(r, 201, j);
out:
    mp_envelope_free(env);
}

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return "application/octet-stream";
    if (strcmp(dot, ".json") == 0)
        return "application/json";
    if (strcmp(dot, ".csv") == 0)
        return "text/csv; charset=utf-8";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".pdf") == 0)
        return "application/pdf";
    return "application/octet-stream";
}

static void send_release_file(request *r, const mp_spec *spec, const char *file)
{
    server *s = r->srv;
    mp_round_status st;
    char path[4096];
    unsigned char *buf;
    size_t len;
    if (s->cfg->release_dir == NULL) {
        reply_error(r, 404, "not_found", "this service publishes no releases");
        return;
    }
    if (mp_agg_status(s->db, spec, &st) != 0) {
        reply_error(r, 500, "internal", "%s", mp_error_get());
        return;
    }
    if (strcmp(st.state, "published") != 0) {
        reply_error(r, 404, "not_published", "round %s is %s, not published", spec->round_id,
                    st.state);
        return;
    }
    if (!release_path_valid(file)) {
        reply_error(r, 400, "bad_path", "not a file name of a release");
        return;
    }
    snprintf(path, sizeof path, "%s/%s/%s", s->cfg->release_dir, spec->round_id, file);
    if (!mp_file_exists(path) || mp_file_read(path, MAX_RELEASE_FILE, &buf, &len) != 0) {
        reply_error(r, 404, "not_found", "no such file in the release of round %s", spec->round_id);
        return;
    }
    reply(r, 200, content_type(file), buf, len);
    free(buf);
}

static void handle(struct evhttp_request *req, void *arg)
{
    request r = {.srv = arg, .req = req};
    server *s = r.srv;
    mp_roster *roster = NULL;
    mp_spec *spec = NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    r.method = cmd == EVHTTP_REQ_GET    ? "GET"
               : cmd == EVHTTP_REQ_POST ? "POST"
               : cmd == EVHTTP_REQ_HEAD ? "HEAD"
                                        : "OTHER";
    const char *uri = evhttp_request_get_uri(req);
    size_t i = 0;
    for (; uri[i] && uri[i] != '?' && i + 1 < sizeof r.path; i++)
        r.path[i] = (uri[i] > ' ' && uri[i] < 0x7f) ? uri[i] : '?';
    r.path[i] = '\0';

    /* The answer leaves in more than one TLS record: without TCP_NODELAY, Nagle's algorithm
     * and the client's delayed ACK hold each answer on a kept-alive connection for ~40 ms. */
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    int one = 1;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    peer_oin(req, r.oin);
    snprintf(r.who, sizeof r.who, "%s", r.oin[0] ? r.oin : "-");
    if (r.oin[0] == '\0') {
        reply_error(&r, 403, "no_oin", "the client certificate carries no OIN (serialNumber)");
        return;
    }
    int wait = rate_take(s, r.oin);
    if (wait > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", wait);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
        reply_error(&r, 429, "rate_limited", "too many requests; retry in %d s", wait);
        return;
    }

    /* /v1/rounds/ID/WHAT or /v1/releases/ID/FILE */
    const char *p = r.path, *what;
    int release = 0;
    if (strncmp(p, "/v1/rounds/", 11) == 0)
        p += 11;
    else if (strncmp(p, "/v1/releases/", 13) == 0)
        p += 13, release = 1;
    else {
        reply_error(&r, 404, "not_found", "no such endpoint");
        return;
    }
    const char *slash = strchr(p, '/');
    char id[ROUND_ID_MAX + 1];
    if (slash == NULL || !id_valid(p, (size_t)(slash - p))) {
        reply_error(&r, 404, "not_found", "no such endpoint");
        return;
    }
    snprintf(id, sizeof id, "%.*s", (int)(slash - p), p);
    what = slash + 1;
    if (mp_agg_round_load(s->db, id, &s->cfg->coordinator, &roster, &spec) != 0) {
        reply_error(&r, 404, "no_such_round", "no round %s in this service", id);
        return;
    }
    const mp_org *me = member_by_oin(roster, r.oin);
    if (me == NULL) {
        reply_error(&r, 403, "not_a_member",
                    "the organisation with OIN %s is not a member of the roster of round %s", r.oin,
                    id);
        goto out;
    }
    snprintf(r.who, sizeof r.who, "%s", me->id);
    int post = strcmp(what, "submissions") == 0 && !release;
    if ((post && cmd != EVHTTP_REQ_POST) || (!post && cmd != EVHTTP_REQ_GET)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", post ? "POST" : "GET");
        reply_error(&r, 405, "method_not_allowed", "%s is not allowed on %s", r.method, r.path);
        goto out;
    }
    if (release)
        send_release_file(&r, spec, what);
    else if (post)
        post_submission(&r, spec, me);
    else if (strcmp(what, "status") == 0)
        send_status(&r, s->db, spec);
    else if (strcmp(what, "round") == 0)
        reply(&r, 200, "application/json", spec->env->text, spec->env->text_len);
    else if (strcmp(what, "roster") == 0)
        reply(&r, 200, "application/json", roster->env->text, roster->env->text_len);
    else
        reply_error(&r, 404, "not_found", "no such endpoint");
out:
    mp_spec_free(spec);
    mp_roster_free(roster);
}

/* Each connection is a TLS server session on a fresh SSL object (invariant 1). */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    server *s = arg;
    SSL *ssl = SSL_new(s->ctx);
    if (ssl == NULL)
        return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    server *s = arg;
    struct timeval drain = {0, 500000};
    fprintf(stderr, "mijlpaal-aggregator serve: %s: stopping (no new connections)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    if (s->sock != NULL) {
        evhttp_del_accept_socket(s->http, s->sock);
        s->sock = NULL;
    }
    /* Handlers run to completion on this thread, so what remains is output to flush. */
    event_base_loopexit(s->base, &drain);
}

static int tls_error(const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return mp_error_set("%s%s%s: %s", path ? path : "", path ? ": " : "", what,
                        buf[0] ? buf : "TLS error");
}

static int tls_setup(server *s)
{
    const mp_server_config *c = s->cfg;
    if ((s->ctx = SSL_CTX_new(TLS_server_method())) == NULL)
        return tls_error("cannot create the TLS context", NULL);
    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(s->ctx, c->tls_cert) != 1)
        return tls_error("cannot read the server certificate", c->tls_cert);
    if (SSL_CTX_use_PrivateKey_file(s->ctx, c->tls_key, SSL_FILETYPE_PEM) != 1)
        return tls_error("cannot read the server key", c->tls_key);
    if (SSL_CTX_check_private_key(s->ctx) != 1)
        return tls_error("the key does not belong to the server certificate", c->tls_key);
    if (SSL_CTX_load_verify_locations(s->ctx, c->ca_file, NULL) != 1)
        return tls_error("cannot read the CA file", c->ca_file);
    /* CRLs in the CA file (X509_STORE loads them with the certificates) switch on revocation
     * checks for the whole chain, as cert.h does for bindings. */
    X509_STORE *store = SSL_CTX_get_cert_store(s->ctx);
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
        if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_CRL) {
            X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
            break;
        }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->ca_file);
    if (names != NULL)
        SSL_CTX_set_client_CA_list(s->ctx, names);
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_verify_depth(s->ctx, MP_CERT_MAX_CHAIN);
    SSL_CTX_set_purpose(s->ctx, X509_PURPOSE_SSL_CLIENT);
    return 0;
}

int mp_server_run(const mp_server_config *cfg)
{
    server *s = calloc(1, sizeof *s);
    int rc = -1;
    if (s == NULL)
        return mp_error_system("out of memory");
    s->cfg = cfg;
    signal(SIGPIPE, SIG_IGN);
    if (tls_setup(s) != 0 || mp_agg_open(&s->db, cfg->db_path, 0) != 0)
        goto out;
    if ((s->base = event_base_new()) == NULL || (s->http = evhttp_new(s->base)) == NULL) {
        mp_error_set("cannot set up the event loop");
        goto out;
    }
    size_t max = cfg->max_body ? cfg->max_body : 4u << 20;
    /* libevent refuses bodies over this itself (no JSON body); up to it, the handler does. */
    evhttp_set_max_body_size(s->http, (ev_ssize_t)(2 * max));
    evhttp_set_max_headers_size(s->http, MAX_HEADERS);
    evhttp_set_timeout(s->http, cfg->timeout > 0 ? cfg->timeout : 30);
    /* Every common method reaches the handler, so that a wrong one gets a JSON 405. */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_bevcb(s->http, make_bev, s);
    evhttp_set_gencb(s->http, handle, s);
    if ((s->sock = evhttp_bind_socket_with_handle(s->http, cfg->host, cfg->port)) == NULL) {
        mp_error_set("cannot listen on %s:%u: %s", cfg->host, cfg->port, strerror(errno));
        goto out;
    }
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    if (s->sig_term == NULL || s->sig_int == NULL || event_add(s->sig_term, NULL) != 0 ||
        event_add(s->sig_int, NULL) != 0) {
        mp_error_set("cannot install the signal handlers");
        goto out;
    }
    fprintf(stderr, "mijlpaal-aggregator serve: listening on https://%s:%u (mutual TLS, CA %s)\n",
            cfg->host, cfg->port, cfg->ca_file);
    fflush(stderr);
    if (event_base_dispatch(s->base) < 0) {
        mp_error_set("the event loop failed");
        goto out;
    }
    fprintf(stderr, "mijlpaal-aggregator serve: stopped; store closed\n");
    rc = 0;
out:
    if (s->sig_term)
        event_free(s->sig_term);
    if (s->sig_int)
        event_free(s->sig_int);
    if (s->http)
        evhttp_free(s->http);
    if (s->base)
        event_base_free(s->base);
    if (s->ctx)
        SSL_CTX_free(s->ctx);
    mp_store_close(s->db);
    free(s);
    return rc;
}
