/*
 * secagg_bench.c - cost of masking scheme bonawitz-v1 (protocol/crypto/secagg.h) per contributor
 * and for the aggregator: time per phase and bytes per contributor, for n organisations, vector
 * length d and a fraction of dropouts, with the opened sum checked against the plain sum.
 *
 * Not part of `make`; bench/secagg.sh builds and runs the grid. By hand, from the repository
 * root:
 *
 *   make build/libmijlpaal.a
 *   cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -pthread -Iprotocol \
 *      bench/secagg_bench.c build/libmijlpaal.a \
 *      $(pkg-config --cflags --libs libsodium openssl sqlite3 libcjson) -lm -pthread \
 *      -o build/bench-secagg
 *   build/bench-secagg [--n 6,20,100,1000] [--d 100,10000] [--drop 0,10,30] [--sample 20]
 *                      [--threads 2]
 *
 * Set-up per n: fresh keys for a coordinator and organisations org-0001..org-NNNN, a region
 * file with those organisations written to a temporary directory, the roster built from it
 * with mp_roster_build and signed, and a signed round with masking bonawitz-v1, t = ceil(0.3 n),
 * resisting c = t colluders, and the default threshold T = max(k_min, floor((n + c)/2) + 1,
 * n - t, c + 1) (k_min = 3). The round's
 * catalogue is a small test catalogue (5 cells); the masking functions take d explicitly
 * (mp_secagg_mask, mp_secagg_open), so the vectors are d long, and each submission envelope
 * is built with mp_submission_build for d cells (its size and hash are real).
 *
 * A round, with dropouts in the paper's sense: everyone advertises, receives the keys message,
 * sends its key shares and receives its shares message, everyone masks its vector, a fraction
 * (lround(dropout * n), at most n - T, a fixed pseudo-random choice, nested across fractions) never
 * submits, the survivors confirm the list, the first T survivors in position order unmask, and the
 * aggregator opens the sum. Every message is signed with mp_envelope_sign and parsed back with
 * mp_envelope_parse.
 *
 * What is timed (CLOCK_MONOTONIC):
 *   contributor phases, median over a sample of up to S contributors run one at a time:
 *     advertise      mp_secagg_advertise + sign
 *     keys           parse the keys message + mp_secagg_keys_accept
 *     share          mp_secagg_share + sign
 *     shares         parse its shares message + mp_secagg_shares_accept
 *     mask           mp_secagg_mask + mp_submission_build + sign
 *     consistency    parse survivors + mp_secagg_survivors_accept + mp_secagg_consistency + sign
 *     unmask         parse request + mp_secagg_request_accept + mp_secagg_unmask + sign
 *   (the unmask sample is drawn from the first T survivors, whose unmask messages are used);
 *   aggregator phases, whole phase on one thread unless stated:
 *     advertise      parse + mp_secagg_advertise_check of all n advertisements
 *     keys           mp_secagg_keys_build + sign of the keys message
 *     share checks   parse + mp_secagg_share_check of all n share messages
 *     shares build   mp_secagg_shares_build + sign of all n shares messages
 *     survivors      mp_secagg_survivors_build + sign
 *     consistency    parse + mp_secagg_consistency_check of every survivor's confirmation,
 *                    mp_secagg_request_build + sign
 *     sum            adding up the survivors' masked vectors
 *     unmask checks  parse + mp_secagg_unmask_check of T unmask messages
 *     open           mp_secagg_open (nthreads 0: one worker per online CPU)
 *   "the aggregator's unmasking" is unmask checks + open.
 * Work that is not timed runs on W worker threads to save wall time: the other contributors'
 * advertisements, masked vectors (mp_secagg_mask with the coordinator's U1 list, which is what
 * their keys messages carry; their keys checks are timed on the sample only), confirmations
 * and the unmask messages of the first T survivors. Advertise is deterministic per keys and
 * round, so it runs once per n; the masked vectors do not depend on who drops later, so they
 * run once per (n, d). Everything the aggregator uses is real library output.
 *
 * Bytes per contributor: the canonical signed envelopes it sends (advertise, share, submission,
 * consistency, unmask) and receives (the keys message, its shares message, survivors, unmask
 * request); medians
 * over the sample. The roster and the round, which every scheme needs, are not counted.
 *
 * Output: progress on stderr; Markdown tables on stdout. Exit status 1 on any library error
 * or when an opened sum differs from the plain sum.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "mask.h"
#include "roster.h"
#include "secagg.h"
#include "spec.h"
#include "submission.h"

#define MAXLIST 16

static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"T\",\"dimensions\":{"
    "\"sex\":{\"title\":\"Geslacht\",\"bands\":[{\"label\":\"man\",\"sex\":\"M\"},{\"label\":"
    "\"vrouw\",\"sex\":\"V\"},{\"label\":\"onbekend\",\"sex\":\"X\"}]}},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"sex\"]},"
    "{\"id\":\"werkend\",\"title\":\"Werkend\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"also_active\":[\"baan\"]}]}";

static unsigned g_threads = 2; /* workers for untimed contributor work */
static size_t g_sample = 20;

/* ---- small helpers ------------------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "secagg_bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        die("out of memory");
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static size_t median_size(size_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_size);
    return v[n / 2];
}

/* Sign body as type with kp; returns the canonical envelope text (body is deleted). */
static char *sign_text(size_t *len, const char *type, cJSON *body, const mp_keypair *kp)
{
    char *text;
    if (mp_envelope_sign(&text, len, type, body, kp) != 0)
        die("sign %s: %s", type, mp_error_get());
    cJSON_Delete(body);
    return text;
}

static mp_envelope *parse(const char *text, size_t len, const char *type)
{
    mp_envelope *env;
    if (mp_envelope_parse(&env, text, len, type) != 0)
        die("parse %s: %s", type, mp_error_get());
    return env;
}

/* The plain vector of position p: small counts, different per position and cell. */
static uint64_t plain(size_t p, size_t c)
{
    return (uint64_t)((p * 7919u + c * 104729u) % 5000u);
}

/* ---- a tiny parallel for ------------------------------------------------------------------ */

typedef void (*task_fn)(void *ctx, size_t i);

typedef struct pool {
    task_fn fn;
    void *ctx;
    size_t count;
    atomic_size_t next;
} pool;

static void *pool_main(void *arg)
{
    pool *p = arg;
    size_t i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->count)
        p->fn(p->ctx, i);
    return NULL;
}

static void parallel_for(size_t count, task_fn fn, void *ctx)
{
    pool p = {fn, ctx, count, 0};
    pthread_t th[64];
    unsigned extra = g_threads > 1 ? g_threads - 1 : 0, started = 0;
    for (unsigned w = 0; w < extra && w < 64; w++)
        if (pthread_create(&th[w], NULL, pool_main, &p) == 0)
            started++;
    pool_main(&p);
    for (unsigned w = 0; w < started; w++)
        pthread_join(th[w], NULL);
}

/* ---- the world of one n --------------------------------------------------------------------- */

typedef struct world {
    size_t n;
    long long t, T;
    mp_keypair *coord;
    mp_keypair **kp;         /* by position among the participants */
    mp_secagg_secrets **sec; /* their round secrets, drawn once per n */
    mp_roster *roster;
    mp_spec *spec;
    char **adv_text;
    size_t *adv_len;
    mp_envelope **adv; /* parsed by the aggregator */
    mp_secagg_view u1; /* the aggregator's view */
    char *keys_msg;    /* the keys message */
    size_t keys_msg_len;
    char **share_text; /* share messages, by position */
    size_t *share_len;
    char **keys_text; /* the shares message of each position */
    size_t *keys_len;
    size_t nsample;
    size_t *sample;        /* positions of the contributor sample */
    mp_secagg_view *sview; /* their views from mp_secagg_keys_accept */
    unsigned char adv_hash[MP_HASH_BYTES];
    size_t *perm; /* drop order */
} world;

/* Evenly spread picks: k * count / m for k < m = min(S, count). */
static size_t spread(size_t *out, size_t count)
{
    size_t m = count < g_sample ? count : g_sample;
    for (size_t k = 0; k < m; k++)
        out[k] = k * count / m;
    return m;
}

static void write_region(const char *path, size_t n)
{
    size_t ng = n < MP_MAX_GEMEENTEN ? n : MP_MAX_GEMEENTEN;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die("cannot write %s", path);
    fprintf(f,
            "{\"mijlpaal_region\":1,\"id\":\"bench-%zu\",\"name\":\"Benchmark region of %zu\","
            "\"centrumgemeente\":\"GM0001\",\"gemeenten\":[",
            n, n);
    for (size_t g = 0; g < ng; g++)
        fprintf(f, "%s{\"code\":\"GM%04zu\",\"name\":\"Gemeente %zu\"}", g ? "," : "", g + 1,
                g + 1);
    fprintf(f, "],\"organisations\":[");
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "%s{\"id\":\"org-%04zu\",\"name\":\"Organisation %zu\",\"kind\":\"samenwerking\","
                "\"gemeenten\":[\"GM%04zu\"]}",
                i ? "," : "", i + 1, i + 1, i % ng + 1);
    fprintf(f, "]}\n");
    if (fclose(f) != 0)
        die("cannot write %s", path);
}

static void world_setup(world *w, size_t n)
{
    char dir[] = "/tmp/mijlpaal-secagg-bench.XXXXXX", path[64];
    mp_pubkey *pubs = xcalloc(n, sizeof *pubs);
    mp_keypair **by_id = xcalloc(n, sizeof *by_id);
    cJSON *body, *catalogue;
    mp_envelope *env;
    char *text;
    size_t len;

    memset(w, 0, sizeof *w);
    w->n = n;
    w->t = (long long)((3 * n + 9) / 10); /* ceil(0.3 n) */
    if (mp_keys_generate(&w->coord, "coordinator") != 0)
        die("keys: %s", mp_error_get());
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "org-%04zu", i + 1);
        if (mp_keys_generate(&by_id[i], id) != 0)
            die("keys: %s", mp_error_get());
        pubs[i] = by_id[i]->pub;
    }
    if (mkdtemp(dir) == NULL)
        die("mkdtemp failed");
    snprintf(path, sizeof path, "%s/region.json", dir);
    write_region(path, n);
    if (mp_roster_build(&body, path, &w->coord->pub, pubs, n) != 0)
        die("roster: %s", mp_error_get());
    unlink(path);
    rmdir(dir);
    text = sign_text(&len, "roster", body, w->coord);
    env = parse(text, len, "roster");
    free(text);
    if (mp_roster_from_envelope(&w->roster, env, &w->coord->pub) != 0)
        die("roster: %s", mp_error_get());

    if (mp_canon_parse(&catalogue, catalogue_json, sizeof catalogue_json - 1) != 0)
        die("catalogue: %s", mp_error_get());
    mp_spec_params p = {0};
    p.round_id = "bench";
    p.period_start = "2025-01-01";
    p.period_end = "2025-12-31";
    p.deadline = "2099-12-31T00:00:00Z";
    p.rho = "1";
    p.series = "bench";
    p.series_rho = "1";
    p.t = w->t;
    p.max_orgs = 2;
    p.rounding = 1;
    p.k_min = 3;
    p.masking = MP_SCHEME_BONAWITZ;
    if (mp_spec_build(&body, &p, w->roster, catalogue) != 0)
        die("round: %s", mp_error_get());
    cJSON_Delete(catalogue);
    text = sign_text(&len, "round", body, w->coord);
    env = parse(text, len, "round");
    free(text);
    if (mp_spec_from_envelope(&w->spec, env, w->roster) != 0)
        die("round: %s", mp_error_get());
    if (w->spec->masking != MP_MASKING_BONAWITZ || w->spec->nparticipants != n)
        die("round: not a bonawitz-v1 round of %zu", n);
    w->T = w->spec->threshold;
    if (w->T != mp_spec_default_threshold(n, 3, w->t, w->t))
        die("round: threshold %lld is not the default", w->T);

    w->kp = xcalloc(n, sizeof *w->kp);
    for (size_t i = 0; i < n; i++) {
        int pos = mp_spec_participant(w->spec, by_id[i]->pub.org);
        if (pos < 0 || w->kp[pos] != NULL)
            die("participants do not match the organisations");
        w->kp[pos] = by_id[i];
    }
    free(by_id);
    free(pubs);
    w->sec = xcalloc(n, sizeof *w->sec);
    for (size_t p = 0; p < n; p++)
        if (mp_secagg_secrets_new(&w->sec[p]) != 0)
            die("secrets: %s", mp_error_get());

    /* Drop order: a fixed shuffle, so that 10% of dropouts are among the 30%. */
    w->perm = xcalloc(n, sizeof *w->perm);
    uint64_t s = 0x9e3779b97f4a7c15u ^ n;
    for (size_t i = 0; i < n; i++)
        w->perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t j = (size_t)(s % i), tmp = w->perm[i - 1];
        w->perm[i - 1] = w->perm[j];
        w->perm[j] = tmp;
    }
    w->sample = xcalloc(g_sample ? g_sample : 1, sizeof *w->sample);
    w->nsample = spread(w->sample, n);
    w->sview = xcalloc(w->nsample, sizeof *w->sview);
}

static void world_free(world *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->adv_text ? w->adv_text[i] : NULL);
        free(w->keys_text ? w->keys_text[i] : NULL);
        free(w->share_text ? w->share_text[i] : NULL);
        if (w->adv)
            mp_envelope_free(w->adv[i]);
        mp_keys_free(w->kp[i]);
        mp_secagg_secrets_free(w->sec[i]);
    }
    for (size_t k = 0; k < w->nsample; k++)
        mp_secagg_view_free(&w->sview[k]);
    free(w->sview);
    free(w->sample);
    free(w->adv_text);
    free(w->adv_len);
    free(w->adv);
    free(w->keys_text);
    free(w->keys_len);
    free(w->share_text);
    free(w->share_len);
    free(w->keys_msg);
    free(w->kp);
    free(w->sec);
    free(w->perm);
    mp_secagg_view_free(&w->u1);
    mp_spec_free(w->spec);
    mp_roster_free(w->roster);
    mp_keys_free(w->coord);
}

/* ---- per-n phases: advertise, keys ---------------------------------------------------------- */

static void advertise_one(void *ctx, size_t p)
{
    world *w = ctx;
    cJSON *body;
    if (w->adv_text[p] != NULL)
        return; /* a timed sample member */
    if (mp_secagg_advertise(&body, w->spec, w->roster, w->kp[p], w->sec[p]) != 0)
        die("advertise of %s: %s", w->kp[p]->pub.org, mp_error_get());
    w->adv_text[p] = sign_text(&w->adv_len[p], "advertise", body, w->kp[p]);
}

typedef struct per_n {
    double c_adv, c_keys, c_share, c_shares, a_adv, a_keys, a_share, a_shares;
    size_t b_adv, b_keys, b_share, b_shares;
} per_n;

/* Member p's share message for U1 (kv). */
static void share_make(world *w, size_t p, const mp_secagg_view *kv)
{
    cJSON *body;
    if (mp_secagg_share(&body, w->spec, kv, w->kp[p], w->sec[p]) != 0)
        die("share of %s: %s", w->kp[p]->pub.org, mp_error_get());
    w->share_text[p] = sign_text(&w->share_len[p], "share", body, w->kp[p]);
}

static void share_one(void *ctx, size_t p)
{
    world *w = ctx;
    if (w->share_text[p] == NULL)
        share_make(w, p, &w->u1);
}

static void phase_advertise_keys(world *w, per_n *r)
{
    size_t n = w->n, ns = w->nsample;
    double *tv = xcalloc(ns, sizeof *tv), *tv2 = xcalloc(ns, sizeof *tv2), t0;
    size_t *bv = xcalloc(ns, sizeof *bv);

    w->adv_text = xcalloc(n, sizeof *w->adv_text);
    w->adv_len = xcalloc(n, sizeof *w->adv_len);
    w->adv = xcalloc(n, sizeof *w->adv);
    w->keys_text = xcalloc(n, sizeof *w->keys_text);
    w->keys_len = xcalloc(n, sizeof *w->keys_len);

    /* Contributors: the sample one at a time, timed; the others on the workers. */
    fprintf(stderr, "  advertise: %zu timed, %zu on %u threads\n", ns, n - ns, g_threads);
    for (size_t k = 0; k < ns; k++) {
        size_t p = w->sample[k];
        t0 = now();
        advertise_one(w, p);
        tv[k] = now() - t0;
        bv[k] = w->adv_len[p];
    }
    r->c_adv = median(tv, ns);
    r->b_adv = median_size(bv, ns);
    parallel_for(n, advertise_one, w);

    /* Aggregator: parse and check every advertisement, in position order. */
    fprintf(stderr, "  advertise checks...\n");
    w->u1.m = xcalloc(n, sizeof *w->u1.m);
    t0 = now();
    for (size_t p = 0; p < n; p++) {
        w->adv[p] = parse(w->adv_text[p], w->adv_len[p], "advertise");
        if (mp_secagg_advertise_check(w->adv[p], w->spec, w->roster, &w->u1.m[p]) != 0)
            die("advertise check: %s", mp_error_get());
    }
    w->u1.n1 = n;
    r->a_adv = now() - t0;
    for (size_t p = 0; p < n; p++) {
        free(w->adv_text[p]);
        w->adv_text[p] = NULL;
    }
    fprintf(stderr, "  advertise checks: %.3f s\n", r->a_adv);

    /* Aggregator: the keys message (U1), signed once. */
    t0 = now();
    {
        cJSON *body;
        if (mp_secagg_keys_build(&body, w->spec, &w->u1) != 0)
            die("keys build: %s", mp_error_get());
        w->keys_msg = sign_text(&w->keys_msg_len, "keys", body, w->coord);
    }
    r->a_keys = now() - t0;
    r->b_keys = w->keys_msg_len;
    mp_secagg_view_free(&w->u1);
    {
        mp_envelope *env = parse(w->keys_msg, w->keys_msg_len, "keys");
        if (mp_secagg_keys_parse(&w->u1, env, w->spec, w->roster) != 0)
            die("keys parse: %s", mp_error_get());
        mp_envelope_free(env);
    }
    fprintf(stderr, "  keys build: %.3f s\n", r->a_keys);

    /* Contributors: the sample checks the keys message and makes its share message, timed;
     * the others on the workers (from the aggregator's U1, which is what the message says). */
    w->share_text = xcalloc(n, sizeof *w->share_text);
    w->share_len = xcalloc(n, sizeof *w->share_len);
    for (size_t k = 0; k < ns; k++) {
        size_t p = w->sample[k];
        mp_secagg_view kv;
        t0 = now();
        mp_envelope *env = parse(w->keys_msg, w->keys_msg_len, "keys");
        if (mp_secagg_keys_accept(&kv, env, w->spec, w->roster, w->kp[p], w->sec[p]) != 0)
            die("keys accept of %s: %s", w->kp[p]->pub.org, mp_error_get());
        tv[k] = now() - t0;
        mp_envelope_free(env);
        if (kv.n1 != n || memcmp(kv.advertised_hash, w->u1.advertised_hash, MP_HASH_BYTES) != 0)
            die("keys accept: a contributor sees another U1");
        t0 = now();
        share_make(w, p, &kv);
        tv2[k] = now() - t0;
        bv[k] = w->share_len[p];
        mp_secagg_view_free(&kv);
    }
    r->c_keys = median(tv, ns);
    r->c_share = median(tv2, ns);
    r->b_share = median_size(bv, ns);
    parallel_for(n, share_one, w);
    fprintf(stderr, "  keys accept: median %.3f s; share: median %.3f s\n", r->c_keys, r->c_share);

    /* Aggregator: check every share message; U2 (everyone here) with the share hashes. */
    t0 = now();
    mp_envelope **shares = xcalloc(n, sizeof *shares);
    for (size_t p = 0; p < n; p++) {
        size_t member;
        shares[p] = parse(w->share_text[p], w->share_len[p], "share");
        if (mp_secagg_share_check(shares[p], w->spec, w->roster, &w->u1, &member) != 0 ||
            member != p)
            die("share check: %s", mp_error_get());
        w->u1.m[p].shared = 1;
        memcpy(w->u1.m[p].share_hash, shares[p]->hash, MP_HASH_BYTES);
    }
    r->a_share = now() - t0;

    /* Aggregator: one shares message per member of U2, from the boxes indexed once (as
     * saround.c's outbox does). */
    t0 = now();
    const char **grid = calloc(n * n, sizeof *grid), **col = calloc(n, sizeof *col);
    if (grid == NULL || col == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        const cJSON *it, *arr = cJSON_GetObjectItemCaseSensitive(shares[i]->body, "boxes");
        size_t q = 0;
        cJSON_ArrayForEach (it, arr)
            if (q < n)
                grid[i * n + q++] = it->valuestring;
    }
    for (size_t k = 0; k < n; k++) {
        cJSON *body;
        for (size_t i = 0; i < n; i++)
            col[i] = grid[i * n + k];
        if (mp_secagg_shares_build(&body, w->spec, &w->u1, col, k) != 0)
            die("shares build: %s", mp_error_get());
        w->keys_text[k] = sign_text(&w->keys_len[k], "shares", body, w->coord);
    }
    free(grid);
    free(col);
    r->a_shares = now() - t0;
    fprintf(stderr, "  share checks: %.3f s, shares build: %.3f s\n", r->a_share, r->a_shares);

    /* Contributors: the sample checks its shares message (parse + accept), timed. */
    for (size_t k = 0; k < ns; k++) {
        size_t p = w->sample[k];
        t0 = now();
        mp_envelope *env = parse(w->keys_text[p], w->keys_len[p], "shares");
        if (mp_secagg_shares_accept(&w->sview[k], env, w->spec, w->roster, w->kp[p], w->sec[p],
                                    shares[p]->hash) != 0)
            die("shares accept of %s: %s", w->kp[p]->pub.org, mp_error_get());
        tv[k] = now() - t0;
        mp_envelope_free(env);
        bv[k] = w->keys_len[p];
        if (k == 0)
            memcpy(w->adv_hash, w->sview[k].advertised_hash, MP_HASH_BYTES);
        else if (memcmp(w->adv_hash, w->sview[k].advertised_hash, MP_HASH_BYTES) != 0)
            die("shares accept: two contributors see different U2 lists");
        if (w->sview[k].n1 != n)
            die("shares accept: U2 has %zu members, expected %zu", w->sview[k].n1, n);
    }
    for (size_t p = 0; p < n; p++)
        mp_envelope_free(shares[p]);
    free(shares);
    r->c_shares = median(tv, ns);
    r->b_shares = median_size(bv, ns);
    fprintf(stderr, "  shares accept: median %.3f s\n", r->c_shares);
    free(tv);
    free(tv2);
    free(bv);
}

/* ---- per-(n, d): masked vectors and submissions --------------------------------------------- */

typedef struct per_d {
    world *w;
    size_t d;
    uint64_t *y; /* n * d masked vectors, by position */
    unsigned char (*sub_hash)[MP_HASH_BYTES];
    size_t *sub_len;
    unsigned char *done; /* computed by the sample */
    double c_mask;
    size_t b_sub;
} per_d;

static void submit(per_d *pd, size_t p, const mp_secagg_view *v)
{
    world *w = pd->w;
    uint64_t *y = pd->y + p * pd->d;
    cJSON *body;
    char *text;
    for (size_t c = 0; c < pd->d; c++)
        y[c] = plain(p, c);
    if (mp_secagg_mask(y, pd->d, w->spec, v, w->kp[p], w->sec[p]) != 0)
        die("mask of %s: %s", w->kp[p]->pub.org, mp_error_get());
    if (mp_submission_build(&body, w->spec, w->kp[p]->pub.org, y, pd->d) != 0)
        die("submission of %s: %s", w->kp[p]->pub.org, mp_error_get());
    text = sign_text(&pd->sub_len[p], "submission", body, w->kp[p]);
    mp_hash(pd->sub_hash[p], text, pd->sub_len[p]);
    free(text);
}

static void submit_one(void *ctx, size_t p)
{
    per_d *pd = ctx;
    if (!pd->done[p])
        submit(pd, p, &pd->w->u1);
}

static void phase_mask(per_d *pd)
{
    world *w = pd->w;
    size_t n = w->n, ns = w->nsample;
    double *tv = xcalloc(ns, sizeof *tv);
    size_t *bv = xcalloc(ns, sizeof *bv);
    pd->y = xcalloc(n * pd->d, sizeof *pd->y);
    pd->sub_hash = xcalloc(n, sizeof *pd->sub_hash);
    pd->sub_len = xcalloc(n, sizeof *pd->sub_len);
    pd->done = xcalloc(n, 1);
    for (size_t k = 0; k < ns; k++) {
        size_t p = w->sample[k];
        double t0 = now();
        submit(pd, p, &w->sview[k]);
        tv[k] = now() - t0;
        bv[k] = pd->sub_len[p];
        pd->done[p] = 1;
    }
    pd->c_mask = median(tv, ns);
    pd->b_sub = median_size(bv, ns);
    fprintf(stderr, "  d=%zu mask+submit: median %.3f s; %zu more on %u threads\n", pd->d,
            pd->c_mask, n - ns, g_threads);
    parallel_for(n, submit_one, pd);
    free(tv);
    free(bv);
}

static void per_d_free(per_d *pd)
{
    free(pd->y);
    free(pd->sub_hash);
    free(pd->sub_len);
    free(pd->done);
}

/* ---- per-(n, d, dropout): survivors, consistency, unmask, open ----------------------------- */

typedef struct row {
    size_t n, d, drops, n2;
    int drop_pct;
    long long t, T;
    per_n pn;
    double c_mask, c_cons, c_unm;
    double a_surv, a_cons, a_sum, a_checks, a_open;
    size_t b_sub, b_cons, b_unm, b_surv, b_req;
    size_t ns_cons, ns_unm;
} row;

typedef struct per_drop {
    per_d *pd;
    mp_secagg_view *sv; /* parsed survivors list (shared by the untimed work) */
    const unsigned char *surv_hash;
    const mp_envelope *req;
    size_t *unm_pos; /* the first T survivors, positions */
    char **cons_text, **unm_text;
    size_t *cons_len, *unm_len;
} per_drop;

static void consistency_one(void *ctx, size_t p)
{
    per_drop *q = ctx;
    world *w = q->pd->w;
    cJSON *body;
    if (!w->u1.m[p].submitted || q->cons_text[p] != NULL)
        return;
    if (mp_secagg_consistency(&body, w->spec, w->kp[p]->pub.org, q->surv_hash) != 0)
        die("consistency of %s: %s", w->kp[p]->pub.org, mp_error_get());
    q->cons_text[p] = sign_text(&q->cons_len[p], "consistency", body, w->kp[p]);
}

static void unmask_one(void *ctx, size_t i)
{
    per_drop *q = ctx;
    world *w = q->pd->w;
    size_t p = q->unm_pos[i];
    mp_envelope *keys;
    cJSON *body;
    if (q->unm_text[p] != NULL)
        return;
    keys = parse(w->keys_text[p], w->keys_len[p], "shares");
    if (mp_secagg_unmask(&body, w->spec, q->sv, keys, w->kp[p], w->sec[p], q->surv_hash) != 0)
        die("unmask of %s: %s", w->kp[p]->pub.org, mp_error_get());
    mp_envelope_free(keys);
    q->unm_text[p] = sign_text(&q->unm_len[p], "unmask", body, w->kp[p]);
}

static void phase_round(per_d *pd, int drop_pct, row *r)
{
    world *w = pd->w;
    size_t n = w->n, d = pd->d, drops = (size_t)lround((double)drop_pct * (double)n / 100.0);
    size_t T = (size_t)w->T, n2 = 0, nu = 0, ns = 0, *spos, *bv;
    unsigned char *dropped = xcalloc(n, 1);
    mp_secagg_view sv = {0};
    mp_secagg_reveal *rev;
    mp_envelope *surv, *req, **conf;
    uint64_t *sum = xcalloc(d, sizeof *sum), *want = xcalloc(d, sizeof *want);
    double *tv, t0;
    char *surv_text, *req_text;
    size_t surv_len, req_len;
    cJSON *body;
    per_drop q = {0};

    /* The threshold resists c = t colluders (2T > n + t), so small rounds allow fewer dropouts
     * than the fraction asks for: n = 6 with t = 2 has T = 5 and survives one. */
    if (drops > n - T)
        drops = n - T;
    r->n = n;
    r->d = d;
    r->drop_pct = drop_pct;
    r->drops = drops;
    r->t = w->t;
    r->T = w->T;
    r->c_mask = pd->c_mask;
    r->b_sub = pd->b_sub;
    if (n - drops < T)
        die("n=%zu: %zu dropouts leave fewer than T=%zu survivors", n, drops, T);
    for (size_t i = 0; i < drops; i++)
        dropped[w->perm[i]] = 1;

    /* Aggregator: flag the submissions received, then the survivors list. */
    for (size_t p = 0; p < n; p++) {
        w->u1.m[p].submitted = !dropped[p];
        memcpy(w->u1.m[p].submission_hash, pd->sub_hash[p], MP_HASH_BYTES);
        n2 += !dropped[p];
    }
    w->u1.n2 = n2;
    r->n2 = n2;
    t0 = now();
    if (mp_secagg_survivors_build(&body, w->spec, &w->u1) != 0)
        die("survivors build: %s", mp_error_get());
    surv_text = sign_text(&surv_len, "survivors", body, w->coord);
    r->a_surv = now() - t0;
    r->b_surv = surv_len;
    surv = parse(surv_text, surv_len, "survivors");
    if (mp_secagg_survivors_parse(&sv, surv, w->spec, w->roster) != 0)
        die("survivors parse: %s", mp_error_get());

    t0 = now();
    for (size_t p = 0; p < n; p++)
        if (!dropped[p])
            mp_vec_add(sum, pd->y + p * d, d);
    r->a_sum = now() - t0;
    for (size_t p = 0; p < n; p++)
        if (!dropped[p])
            for (size_t c = 0; c < d; c++)
                want[c] += plain(p, c);

    /* The unmaskers: the first T survivors in position order; the sample is spread over them. */
    q.pd = pd;
    q.sv = &sv;
    q.surv_hash = surv->hash;
    q.unm_pos = xcalloc(T, sizeof *q.unm_pos);
    for (size_t p = 0; p < n && nu < T; p++)
        if (!dropped[p])
            q.unm_pos[nu++] = p;
    spos = xcalloc(g_sample ? g_sample : 1, sizeof *spos);
    ns = spread(spos, nu);
    for (size_t k = 0; k < ns; k++)
        spos[k] = q.unm_pos[spos[k]];
    q.cons_text = xcalloc(n, sizeof *q.cons_text);
    q.cons_len = xcalloc(n, sizeof *q.cons_len);
    q.unm_text = xcalloc(n, sizeof *q.unm_text);
    q.unm_len = xcalloc(n, sizeof *q.unm_len);
    tv = xcalloc(ns ? ns : 1, sizeof *tv);
    bv = xcalloc(ns ? ns : 1, sizeof *bv);

    /* Contributors: the sample checks the survivors list and confirms it, timed. */
    mp_secagg_view *cview = xcalloc(ns ? ns : 1, sizeof *cview);
    for (size_t k = 0; k < ns; k++) {
        size_t p = spos[k];
        t0 = now();
        mp_envelope *e = parse(surv_text, surv_len, "survivors");
        if (mp_secagg_survivors_accept(&cview[k], e, w->spec, w->roster, w->kp[p]->pub.org,
                                       w->adv_hash, pd->sub_hash[p]) != 0)
            die("survivors accept of %s: %s", w->kp[p]->pub.org, mp_error_get());
        if (mp_secagg_consistency(&body, w->spec, w->kp[p]->pub.org, e->hash) != 0)
            die("consistency: %s", mp_error_get());
        q.cons_text[p] = sign_text(&q.cons_len[p], "consistency", body, w->kp[p]);
        tv[k] = now() - t0;
        mp_envelope_free(e);
        bv[k] = q.cons_len[p];
    }
    r->c_cons = median(tv, ns);
    r->b_cons = median_size(bv, ns);
    r->ns_cons = ns;
    parallel_for(n, consistency_one, &q);

    /* Aggregator: check every confirmation, then the unmask request. */
    conf = xcalloc(n, sizeof *conf);
    size_t nconf = 0;
    t0 = now();
    for (size_t p = 0; p < n; p++) {
        size_t member;
        if (dropped[p])
            continue;
        conf[nconf] = parse(q.cons_text[p], q.cons_len[p], "consistency");
        if (mp_secagg_consistency_check(conf[nconf], w->spec, w->roster, &sv, surv->hash,
                                        &member) != 0)
            die("consistency check: %s", mp_error_get());
        if (member != p)
            die("consistency check: member %zu, expected %zu", member, p);
        nconf++;
    }
    if (mp_secagg_request_build(&body, w->spec, surv->hash, (const mp_envelope *const *)conf,
                                nconf) != 0)
        die("request build: %s", mp_error_get());
    req_text = sign_text(&req_len, "unmask-request", body, w->coord);
    r->a_cons = now() - t0;
    r->b_req = req_len;
    req = parse(req_text, req_len, "unmask-request");
    q.req = req;

    /* Contributors: the sample checks the request and unmasks, timed; the other unmaskers on
     * the workers. */
    for (size_t k = 0; k < ns; k++) {
        size_t p = spos[k];
        t0 = now();
        mp_envelope *e = parse(req_text, req_len, "unmask-request");
        if (mp_secagg_request_accept(e, w->spec, w->roster, &cview[k], surv->hash) != 0)
            die("request accept of %s: %s", w->kp[p]->pub.org, mp_error_get());
        mp_envelope *keys = parse(w->keys_text[p], w->keys_len[p], "shares");
        if (mp_secagg_unmask(&body, w->spec, &cview[k], keys, w->kp[p], w->sec[p], surv->hash) != 0)
            die("unmask of %s: %s", w->kp[p]->pub.org, mp_error_get());
        q.unm_text[p] = sign_text(&q.unm_len[p], "unmask", body, w->kp[p]);
        tv[k] = now() - t0;
        mp_envelope_free(keys);
        mp_envelope_free(e);
        bv[k] = q.unm_len[p];
    }
    r->c_unm = median(tv, ns);
    r->b_unm = median_size(bv, ns);
    r->ns_unm = ns;
    parallel_for(nu, unmask_one, &q);

    /* Aggregator: check T unmask messages, then open the sum. */
    rev = xcalloc(T, sizeof *rev);
    t0 = now();
    for (size_t i = 0; i < T; i++) {
        size_t p = q.unm_pos[i];
        mp_envelope *e = parse(q.unm_text[p], q.unm_len[p], "unmask");
        if (mp_secagg_unmask_check(e, w->spec, w->roster, &sv, surv->hash, &rev[i]) != 0)
            die("unmask check: %s", mp_error_get());
        mp_envelope_free(e);
    }
    r->a_checks = now() - t0;
    t0 = now();
    if (mp_secagg_open(sum, d, w->spec, &sv, rev, T, 0) != 0)
        die("open: %s", mp_error_get());
    r->a_open = now() - t0;
    for (size_t c = 0; c < d; c++)
        if (sum[c] != want[c])
            die("WRONG SUM: n=%zu d=%zu dropout %d%%: cell %zu is %llu, expected %llu", n, d,
                drop_pct, c, (unsigned long long)sum[c], (unsigned long long)want[c]);
    fprintf(stderr,
            "  d=%zu dropout %d%% (%zu dropped, %zu survivors, T=%zu): sum correct; unmask checks "
            "%.3f s + open %.3f s\n",
            d, drop_pct, drops, n2, T, r->a_checks, r->a_open);

    for (size_t i = 0; i < T; i++)
        mp_secagg_reveal_free(&rev[i]);
    free(rev);
    for (size_t k = 0; k < ns; k++)
        mp_secagg_view_free(&cview[k]);
    free(cview);
    for (size_t i = 0; i < nconf; i++)
        mp_envelope_free(conf[i]);
    free(conf);
    for (size_t p = 0; p < n; p++) {
        free(q.cons_text[p]);
        free(q.unm_text[p]);
    }
    free(q.cons_text);
    free(q.cons_len);
    free(q.unm_text);
    free(q.unm_len);
    free(q.unm_pos);
    free(spos);
    free(tv);
    free(bv);
    mp_envelope_free(req);
    free(req_text);
    mp_envelope_free(surv);
    free(surv_text);
    mp_secagg_view_free(&sv);
    free(sum);
    free(want);
    free(dropped);
}

/* ---- output ------------------------------------------------------------------------------- */

/* Formatting into a ring of buffers, so that one printf can take several results. */
static char *ring(void)
{
    static char buf[16][32];
    static unsigned next;
    return buf[next++ % 16];
}

static const char *T_(double s)
{
    char *b = ring();
    if (s < 1e-3)
        snprintf(b, 32, "%.0f us", s * 1e6);
    else if (s < 1)
        snprintf(b, 32, "%.1f ms", s * 1e3);
    else
        snprintf(b, 32, "%.2f s", s);
    return b;
}

static const char *B_(size_t bytes)
{
    char *b = ring();
    double x = (double)bytes;
    if (x < 1024)
        snprintf(b, 32, "%.0f B", x);
    else if (x < 1024 * 1024)
        snprintf(b, 32, "%.1f KiB", x / 1024);
    else
        snprintf(b, 32, "%.2f MiB", x / (1024 * 1024));
    return b;
}

static void print_tables(const row *rows, size_t nrows)
{
    printf("Summary (contributor: sum of the medians of its seven steps; aggregator: sum of its "
           "phases; unmasking = unmask checks + open):\n\n");
    printf("| n | d | dropout | t | T | contributor | aggregator | aggregator unmasking | sent "
           "per contributor | received per contributor | (sent+received) / submission |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        double c = r->pn.c_adv + r->pn.c_keys + r->pn.c_share + r->pn.c_shares + r->c_mask +
                   r->c_cons + r->c_unm;
        double a = r->pn.a_adv + r->pn.a_keys + r->pn.a_share + r->pn.a_shares + r->a_surv +
                   r->a_cons + r->a_sum + r->a_checks + r->a_open;
        size_t sent = r->pn.b_adv + r->pn.b_share + r->b_sub + r->b_cons + r->b_unm;
        size_t recv = r->pn.b_keys + r->pn.b_shares + r->b_surv + r->b_req;
        printf("| %zu | %zu | %d%% (%zu) | %lld | %lld | %s | %s | %s | %s | %s | %.2fx |\n", r->n,
               r->d, r->drop_pct, r->drops, r->t, r->T, T_(c), T_(a), T_(r->a_checks + r->a_open),
               B_(sent), B_(recv), (double)(sent + recv) / (double)r->b_sub);
    }
    printf("\nContributor phases (median over the sample; parse of what it receives included):"
           "\n\n");
    printf("| n | d | dropout | advertise | keys | share | shares | mask + submit | consistency | "
           "unmask |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        printf("| %zu | %zu | %d%% | %s | %s | %s | %s | %s | %s | %s |\n", r->n, r->d, r->drop_pct,
               T_(r->pn.c_adv), T_(r->pn.c_keys), T_(r->pn.c_share), T_(r->pn.c_shares),
               T_(r->c_mask), T_(r->c_cons), T_(r->c_unm));
    }
    printf("\nAggregator phases (whole phase; open with one worker per online CPU):\n\n");
    printf("| n | d | dropout | advertise checks | keys build | share checks | shares build | "
           "survivors | consistency + request | sum | unmask checks | open |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
           "|\n");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        printf("| %zu | %zu | %d%% | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->n, r->d,
               r->drop_pct, T_(r->pn.a_adv), T_(r->pn.a_keys), T_(r->pn.a_share),
               T_(r->pn.a_shares), T_(r->a_surv), T_(r->a_cons), T_(r->a_sum), T_(r->a_checks),
               T_(r->a_open));
    }
    printf("\nBytes per contributor (signed canonical envelopes):\n\n");
    printf("| n | d | dropout | sends: advertise | share | submission | consistency | unmask | "
           "receives: keys | shares | survivors | unmask request |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
           "|\n");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        printf("| %zu | %zu | %d%% | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->n, r->d,
               r->drop_pct, B_(r->pn.b_adv), B_(r->pn.b_share), B_(r->b_sub), B_(r->b_cons),
               B_(r->b_unm), B_(r->pn.b_keys), B_(r->pn.b_shares), B_(r->b_surv), B_(r->b_req));
    }
}

/* ---- main --------------------------------------------------------------------------------- */

static size_t parse_list(const char *s, long *out, long min, long max, const char *what)
{
    size_t k = 0;
    char *end;
    while (*s) {
        long v = strtol(s, &end, 10);
        if (end == s || v < min || v > max || k == MAXLIST)
            die("bad %s list (each %ld..%ld, at most %d)", what, min, max, MAXLIST);
        out[k++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0')
            die("bad %s list", what);
    }
    return k;
}

int main(int argc, char **argv)
{
    long ns[MAXLIST] = {6, 20, 100, 1000}, ds[MAXLIST] = {100, 10000}, drops[MAXLIST] = {0, 10, 30};
    size_t nn = 4, nd = 2, ndrop = 3, nrows = 0;
    row *rows;
    double start = now();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            die("usage: secagg_bench [--n LIST] [--d LIST] [--drop LIST] [--sample S] "
                "[--threads W]");
        if (strcmp(a, "--n") == 0)
            nn = parse_list(v, ns, 4, MP_MAX_ORGS, "--n");
        else if (strcmp(a, "--d") == 0)
            nd = parse_list(v, ds, 1, 10000000, "--d");
        else if (strcmp(a, "--drop") == 0)
            ndrop = parse_list(v, drops, 0, 50, "--drop");
        else if (strcmp(a, "--sample") == 0)
            g_sample = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0)
            g_threads = (unsigned)strtoul(v, NULL, 10);
        else
            die("unknown option %s", a);
        i++;
    }
    if (g_sample < 1 || g_threads < 1 || g_threads > 64)
        die("--sample and --threads must be at least 1 (threads at most 64)");
    if (sodium_init() < 0)
        die("libsodium failed to initialise");
    rows = xcalloc(nn * nd * ndrop, sizeof *rows);

    for (size_t i = 0; i < nn; i++) {
        world w;
        per_n pn;
        double tn = now();
        fprintf(stderr, "n=%ld: keys, roster, round\n", ns[i]);
        world_setup(&w, (size_t)ns[i]);
        fprintf(stderr, "  t=%lld, threshold T=%lld\n", w.t, w.T);
        phase_advertise_keys(&w, &pn);
        for (size_t j = 0; j < nd; j++) {
            per_d pd = {0};
            pd.w = &w;
            pd.d = (size_t)ds[j];
            phase_mask(&pd);
            for (size_t k = 0; k < ndrop; k++) {
                row *r = &rows[nrows++];
                phase_round(&pd, (int)drops[k], r);
                r->pn = pn;
            }
            per_d_free(&pd);
        }
        world_free(&w);
        fprintf(stderr, "n=%ld done in %.1f s\n", ns[i], now() - tn);
    }

    printf("bonawitz-v1 benchmark: %u worker threads for untimed contributor work, contributor "
           "sample of up to %zu, %ld online CPUs.\n",
           g_threads, g_sample, sysconf(_SC_NPROCESSORS_ONLN));
    printf("Round: t = ceil(0.3 n), colluders c = t, threshold T = max(3, floor((n + c)/2) + 1, "
           "n - t, c + 1) (the default); dropouts at most n - T; the signed round carries a 5-cell "
           "test catalogue and the vectors are d long "
           "(mp_secagg_mask and mp_secagg_open take d; submissions are built for d cells).\n"
           "Every opened sum was checked against the sum of the survivors' plain vectors.\n\n");
    print_tables(rows, nrows);
    printf("\nTotal wall time %.0f s.\n", now() - start);
    free(rows);
    return 0;
}
