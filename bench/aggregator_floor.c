/*
 * aggregator_floor.c - the aggregator's whole bonawitz-v1 round against the crypto floor it
 * cannot avoid, measured in the same run.
 *
 * Not part of `make`; bench/aggregator_floor.sh builds a copy of the library that admits
 * catalogues of d = 10 008 cells (EXTRA_CFLAGS=-DMP_MAX_METRICS=320, decision F1) and runs it:
 *
 *   ./bench/aggregator_floor.sh [--n 1000] [--metrics 278] [--drop 10] [--runs 3]
 *
 * The round: a coordinator and n organisations with fresh keys, a signed roster, a signed round
 * with masking bonawitz-v1 (t = ceil(0.3 n), c = t, the default threshold T) whose catalogue has
 * `metrics` stock metrics broken down by age (16 bands), duration (16) and sex (3): 36 cells
 * each, d = 36 * metrics. Everyone advertises and shares; lround(drop% * n) organisations (a
 * fixed pseudo-random choice) never submit; the survivors submit and confirm; the first T
 * survivors in position order unmask.
 *
 * The contributors' messages are expensive to make (each share message costs two Shamir splits
 * over n positions, about 0.7 s at n = 1000) and do not change from run to run, because every
 * message the aggregator signs is a deterministic function of what it stored (Ed25519
 * signatures are deterministic). So the first run makes them once, through a real round, into a
 * cache directory (build-floor/floor-cache/n-d-drop/: the coordinator's plaintext keystore, roster,
 * round, and every contributor message as a file); every timed run replays them.
 *
 * A timed run is what `mijlpaal-aggregator round import/advance/outbox/close` do, through the
 * same library calls, on a fresh SQLite store in a temporary directory:
 *   create     mp_agg_round_create (roster.json, round.json)
 *   advertise  mp_agg_import of n advertisement files, one call each (one transaction each)
 *   keys       mp_sa_advance (the keys message) + mp_sa_outbox (keys.json)
 *   share      mp_agg_import of n share messages
 *   shares     mp_sa_advance + mp_sa_outbox (one shares-ORG.json per member of U2)
 *   submit     mp_agg_import of the survivors' submissions
 *   survivors  mp_sa_advance (the survivors list) + mp_sa_outbox
 *   confirm    mp_agg_import of the survivors' consistency messages
 *   request    mp_sa_advance (the unmask request) + mp_sa_outbox
 *   unmask     mp_agg_import of T unmask messages
 *   close      mp_sa_can_close + mp_agg_close (rebuild the secrets, remove the masks, store)
 * (each import is preceded by mp_agg_round_load in the library, as for a program invocation
 * or an HTTPS request). The opened sum in the store is compared with the plain sum.
 *
 * The floor, measured in the same process right after, on one thread: exactly the X25519
 * agreements and ChaCha20 expansions the aggregator must do to remove the masks, i.e. for each
 * survivor its self mask (d words of ChaCha20) and for each (dropped, survivor) pair
 * the pair seed (mp_secagg_pair_seed: one X25519 and one BLAKE2b) and its expansion (d words of
 * ChaCha20 keystream into a scratch buffer: adding them into the sum is not part of it). The keys
 * are the round's real advertised mask keys; the secrets are random (both primitives run in
 * time independent of their inputs).
 *
 * The aggregator's open uses MIJLPAAL_THREADS workers (the script sets 1, so that every
 * measurement is on one thread). Printed per phase: wall and process CPU time; then the
 * totals, the floor and the ratio (CPU and wall). Exit 1 on any library error or a wrong sum.
 */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aggregate.h"
#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "keys.h"
#include "mask.h"
#include "roster.h"
#include "saround.h"
#include "secagg.h"
#include "spec.h"
#include "store.h"
#include "submission.h"

static unsigned g_threads = 2; /* workers for making the cache */

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "aggregator_floor: ");
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

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        die("out of memory");
    return p;
}

static uint64_t plain(size_t p, size_t c)
{
    return (uint64_t)((p * 7919u + c * 104729u) % 5000u);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

static char *read_file(const char *path, size_t *len)
{
    unsigned char *buf;
    if (mp_file_read(path, MP_ENVELOPE_MAX, &buf, len) != 0)
        die("%s", mp_error_get());
    return (char *)buf;
}

/* ---- a tiny parallel for (cache making only) ---------------------------------------------- */

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

/* ---- parameters and the cache ----------------------------------------------------------- */

typedef struct params {
    size_t n, metrics, d, drops;
    int drop_pct;
    char cache[512];
} params;

static size_t *drop_order(size_t n)
{
    size_t *perm = xcalloc(n, sizeof *perm);
    uint64_t s = 0x9e3779b97f4a7c15u ^ n;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t j = (size_t)(s % i), tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
    return perm;
}

static char *catalogue_text(size_t metrics)
{
    size_t cap = 4096 + metrics * 200, len = 0;
    char *b = xcalloc(cap, 1);
    len += (size_t)snprintf(b + len, cap - len,
                            "{\"mijlpaal_catalogue\":1,\"id\":\"floor\",\"version\":1,\"title\":"
                            "\"F\",\"dimensions\":{\"age\":{\"title\":\"Leeftijd\",\"bands\":[");
    for (int k = 0; k < 16; k++)
        len += (size_t)snprintf(b + len, cap - len, "%s{\"label\":\"a%d\",\"min\":%d,\"max\":%d}",
                                k ? "," : "", k, k * 5, k == 15 ? 200 : k * 5 + 4);
    len += (size_t)snprintf(b + len, cap - len, "]},\"duration\":{\"title\":\"Duur\",\"bands\":[");
    for (int k = 0; k < 16; k++)
        len += (size_t)snprintf(b + len, cap - len,
                                "%s{\"label\":\"d%d\",\"min_months\":%d,\"max_months\":%d}",
                                k ? "," : "", k, k * 6, k == 15 ? 100000 : k * 6 + 5);
    len += (size_t)snprintf(b + len, cap - len,
                            "]},\"sex\":{\"title\":\"Geslacht\",\"bands\":[{\"label\":\"man\","
                            "\"sex\":\"M\"},{\"label\":\"vrouw\",\"sex\":\"V\"},{\"label\":"
                            "\"onbekend\",\"sex\":\"X\"}]}},\"metrics\":[");
    for (size_t m = 0; m < metrics; m++)
        len += (size_t)snprintf(b + len, cap - len,
                                "%s{\"id\":\"m%zu\",\"title\":\"M%zu\",\"description\":\"d\","
                                "\"source\":\"s\",\"kind\":\"stock\",\"spells\":[\"bijstand\"],"
                                "\"breakdowns\":[\"age\",\"duration\",\"sex\"]}",
                                m ? "," : "", m, m);
    snprintf(b + len, cap - len, "]}");
    return b;
}

static void path_of(char *out, size_t cap, const params *P, const char *kind, size_t p)
{
    snprintf(out, cap, "%s/%s/%04zu.json", P->cache, kind, p);
}

/* What the cache maker shares with its workers. */
typedef struct maker {
    const params *P;
    mp_keypair **kp;
    mp_secagg_secrets **sec;
    mp_spec *spec;
    mp_roster *roster;
    mp_secagg_view u1, u2, sv;
    const unsigned char *surv_hash;
    const char *outbox;
    const unsigned char *dropped;
    const size_t *unm_pos;
} maker;

static void sign_write(const params *P, const char *kind, size_t p, const char *type, cJSON *body,
                       const mp_keypair *kp)
{
    char *text, path[700];
    size_t len;
    if (mp_envelope_sign(&text, &len, type, body, kp) != 0)
        die("sign %s: %s", type, mp_error_get());
    cJSON_Delete(body);
    path_of(path, sizeof path, P, kind, p);
    write_file(path, text, len);
    free(text);
}

static void make_adv(void *ctx, size_t p)
{
    maker *m = ctx;
    cJSON *body;
    if (mp_secagg_advertise(&body, m->spec, m->roster, m->kp[p], m->sec[p]) != 0)
        die("advertise: %s", mp_error_get());
    sign_write(m->P, "adv", p, "advertise", body, m->kp[p]);
}

static void make_share(void *ctx, size_t p)
{
    maker *m = ctx;
    cJSON *body;
    if (mp_secagg_share(&body, m->spec, &m->u1, m->kp[p], m->sec[p]) != 0)
        die("share: %s", mp_error_get());
    sign_write(m->P, "share", p, "share", body, m->kp[p]);
}

static void make_sub(void *ctx, size_t p)
{
    maker *m = ctx;
    size_t d = m->P->d;
    uint64_t *x;
    cJSON *body;
    if (m->dropped[p])
        return;
    x = xcalloc(d, sizeof *x);
    for (size_t c = 0; c < d; c++)
        x[c] = plain(p, c);
    if (mp_secagg_mask(x, d, m->spec, &m->u2, m->kp[p], m->sec[p]) != 0 ||
        mp_submission_build(&body, m->spec, m->kp[p]->pub.org, x, d) != 0)
        die("mask: %s", mp_error_get());
    free(x);
    sign_write(m->P, "sub", p, "submission", body, m->kp[p]);
}

static void make_cons(void *ctx, size_t p)
{
    maker *m = ctx;
    cJSON *body;
    if (m->dropped[p])
        return;
    if (mp_secagg_consistency(&body, m->spec, m->kp[p]->pub.org, m->surv_hash) != 0)
        die("consistency: %s", mp_error_get());
    sign_write(m->P, "cons", p, "consistency", body, m->kp[p]);
}

static void make_unm(void *ctx, size_t i)
{
    maker *m = ctx;
    size_t p = m->unm_pos[i], len;
    char path[700], *text;
    mp_envelope *shares;
    cJSON *body;
    snprintf(path, sizeof path, "%s/shares-%s.json", m->outbox, m->kp[p]->pub.org);
    text = read_file(path, &len);
    if (mp_envelope_parse(&shares, text, len, "shares") != 0)
        die("shares: %s", mp_error_get());
    free(text);
    if (mp_secagg_unmask(&body, m->spec, &m->sv, shares, m->kp[p], m->sec[p], m->surv_hash) != 0)
        die("unmask: %s", mp_error_get());
    mp_envelope_free(shares);
    sign_write(m->P, "unm", p, "unmask", body, m->kp[p]);
}

static void import_dir(sqlite3 *db, const params *P, const char *kind, const unsigned char *skip,
                       const mp_pubkey *trusted)
{
    char path[700], org[MP_ORG_ID_MAX + 1], round[65];
    for (size_t p = 0; p < P->n; p++) {
        if (skip != NULL && skip[p])
            continue;
        path_of(path, sizeof path, P, kind, p);
        if (mp_agg_import(db, path, trusted, org, round) != 0)
            die("import %s: %s", path, mp_error_get());
    }
}

static void advance_outbox(sqlite3 *db, const mp_pubkey *trusted, const mp_keypair *coord,
                           const char *outbox)
{
    mp_roster *roster;
    mp_spec *spec;
    char phase[16];
    size_t nfiles;
    if (mp_agg_round_load(db, "floor", trusted, &roster, &spec) != 0 ||
        mp_sa_advance(db, spec, roster, coord, phase) != 0 ||
        mp_sa_outbox(db, spec, roster, coord, outbox, &nfiles) != 0)
        die("advance: %s", mp_error_get());
    mp_spec_free(spec);
    mp_roster_free(roster);
}

static void rm_rf(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        die("cannot remove %s", dir);
}

/* Make every contributor message through a real round (the aggregator's side in a scratch
 * store), into P->cache. */
static void make_cache(const params *P)
{
    size_t n = P->n;
    char path[700], tmp[] = "/tmp/mijlpaal-floor-make.XXXXXX", store[600], outbox[600];
    mp_keypair *coord, **by_id = xcalloc(n, sizeof *by_id);
    mp_pubkey *pubs = xcalloc(n, sizeof *pubs);
    maker m = {0};
    cJSON *body, *catalogue;
    mp_envelope *env;
    char *text, *cat;
    size_t len;
    double t0 = now();

    fprintf(stderr, "making the cache %s (once; several minutes at n = 1000)\n", P->cache);
    if (mkdtemp(tmp) == NULL)
        die("mkdtemp failed");
    rm_rf(P->cache);
    if (mkdir(P->cache, 0755) != 0)
        die("cannot create %s: %s", P->cache, strerror(errno));
    for (int k = 0; k < 5; k++) {
        static const char *const kinds[] = {"adv", "share", "sub", "cons", "unm"};
        snprintf(path, sizeof path, "%s/%s", P->cache, kinds[k]);
        if (mkdir(path, 0755) != 0)
            die("cannot create %s", path);
    }
    m.P = P;
    if (mp_keys_generate(&coord, "coordinator") != 0)
        die("keys: %s", mp_error_get());
    snprintf(path, sizeof path, "%s/coordinator.key", P->cache);
    snprintf(store, sizeof store, "%s/coordinator.pub", P->cache);
    if (mp_keys_save(coord, path, store, NULL, 0, MP_KDF_INTERACTIVE) != 0)
        die("keys save: %s", mp_error_get());
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "org-%04zu", i + 1);
        if (mp_keys_generate(&by_id[i], id) != 0)
            die("keys: %s", mp_error_get());
        pubs[i] = by_id[i]->pub;
    }
    /* Region, roster and round. */
    {
        size_t ng = n < MP_MAX_GEMEENTEN ? n : MP_MAX_GEMEENTEN;
        FILE *f;
        snprintf(path, sizeof path, "%s/region.json", tmp);
        if ((f = fopen(path, "w")) == NULL)
            die("cannot write %s", path);
        fprintf(f, "{\"mijlpaal_region\":1,\"id\":\"floor\",\"name\":\"Floor region\","
                   "\"centrumgemeente\":\"GM0001\",\"gemeenten\":[");
        for (size_t g = 0; g < ng; g++)
            fprintf(f, "%s{\"code\":\"GM%04zu\",\"name\":\"Gemeente %zu\"}", g ? "," : "", g + 1,
                    g + 1);
        fprintf(f, "],\"organisations\":[");
        for (size_t i = 0; i < n; i++)
            fprintf(f,
                    "%s{\"id\":\"org-%04zu\",\"name\":\"Organisation %zu\",\"kind\":"
                    "\"samenwerking\",\"gemeenten\":[\"GM%04zu\"]}",
                    i ? "," : "", i + 1, i + 1, i % ng + 1);
        fprintf(f, "]}\n");
        if (fclose(f) != 0)
            die("cannot write %s", path);
    }
    if (mp_roster_build(&body, path, &coord->pub, pubs, n) != 0 ||
        mp_envelope_sign(&text, &len, "roster", body, coord) != 0)
        die("roster: %s", mp_error_get());
    cJSON_Delete(body);
    snprintf(path, sizeof path, "%s/roster.json", P->cache);
    write_file(path, text, len);
    if (mp_envelope_parse(&env, text, len, "roster") != 0 ||
        mp_roster_from_envelope(&m.roster, env, &coord->pub) != 0)
        die("roster: %s", mp_error_get());
    free(text);
    cat = catalogue_text(P->metrics);
    if (mp_canon_parse(&catalogue, cat, strlen(cat)) != 0)
        die("catalogue: %s", mp_error_get());
    free(cat);
    mp_spec_params sp = {0};
    sp.round_id = "floor";
    sp.period_start = "2025-01-01";
    sp.period_end = "2025-12-31";
    sp.deadline = "2099-12-31T00:00:00Z";
    sp.rho = "1";
    sp.series = "floor";
    sp.series_rho = "1";
    sp.t = (long long)((3 * n + 9) / 10);
    sp.max_orgs = 2;
    sp.rounding = 1;
    sp.k_min = 3;
    sp.masking = MP_SCHEME_BONAWITZ;
    if (mp_spec_build(&body, &sp, m.roster, catalogue) != 0 ||
        mp_envelope_sign(&text, &len, "round", body, coord) != 0)
        die("round: %s", mp_error_get());
    cJSON_Delete(body);
    cJSON_Delete(catalogue);
    snprintf(path, sizeof path, "%s/round.json", P->cache);
    write_file(path, text, len);
    if (mp_envelope_parse(&env, text, len, "round") != 0 ||
        mp_spec_from_envelope(&m.spec, env, m.roster) != 0)
        die("round: %s", mp_error_get());
    free(text);
    if (m.spec->catalogue->ncells != P->d || m.spec->nparticipants != n)
        die("round: %zu cells, %zu participants", m.spec->catalogue->ncells, m.spec->nparticipants);
    m.kp = xcalloc(n, sizeof *m.kp);
    m.sec = xcalloc(n, sizeof *m.sec);
    for (size_t i = 0; i < n; i++) {
        int pos = mp_spec_participant(m.spec, by_id[i]->pub.org);
        if (pos < 0 || m.kp[pos] != NULL)
            die("participants do not match the organisations");
        m.kp[pos] = by_id[i];
    }
    for (size_t p = 0; p < n; p++)
        if (mp_secagg_secrets_new(&m.sec[p]) != 0)
            die("secrets: %s", mp_error_get());
    unsigned char *dropped = xcalloc(n, 1);
    size_t *perm = drop_order(n), *unm = xcalloc(n, sizeof *unm), nu = 0;
    for (size_t i = 0; i < P->drops; i++)
        dropped[perm[i]] = 1;
    m.dropped = dropped;

    /* The round, with the aggregator's side in a scratch store. */
    sqlite3 *db;
    snprintf(store, sizeof store, "%s/store.db", tmp);
    snprintf(outbox, sizeof outbox, "%s/outbox", tmp);
    m.outbox = outbox;
    char roster_path[700], round_path[700];
    snprintf(roster_path, sizeof roster_path, "%s/roster.json", P->cache);
    snprintf(round_path, sizeof round_path, "%s/round.json", P->cache);
    if (mp_agg_open(&db, store, 1) != 0 ||
        mp_agg_round_create(db, roster_path, round_path, &coord->pub) != 0)
        die("store: %s", mp_error_get());
    fprintf(stderr, "  advertise (%.0f s)\n", now() - t0);
    parallel_for(n, make_adv, &m);
    import_dir(db, P, "adv", NULL, &coord->pub);
    advance_outbox(db, &coord->pub, coord, outbox);
    snprintf(path, sizeof path, "%s/keys.json", outbox);
    text = read_file(path, &len);
    if (mp_envelope_parse(&env, text, len, "keys") != 0 ||
        mp_secagg_keys_parse(&m.u1, env, m.spec, m.roster) != 0)
        die("keys: %s", mp_error_get());
    mp_envelope_free(env);
    free(text);
    fprintf(stderr, "  share (%.0f s)\n", now() - t0);
    parallel_for(n, make_share, &m);
    import_dir(db, P, "share", NULL, &coord->pub);
    advance_outbox(db, &coord->pub, coord, outbox);
    /* U2 as a contributor accepts it (everyone shared; one accept stands for all). */
    {
        char sh[MP_HASH_HEX_BYTES];
        unsigned char own[MP_HASH_BYTES];
        snprintf(path, sizeof path, "%s/share/%04d.json", P->cache, 0);
        text = read_file(path, &len);
        mp_hash_hex(sh, text, len);
        free(text);
        if (mp_hex_decode(own, sizeof own, sh) != 0)
            die("hash");
        snprintf(path, sizeof path, "%s/shares-%s.json", outbox, m.kp[0]->pub.org);
        text = read_file(path, &len);
        if (mp_envelope_parse(&env, text, len, "shares") != 0 ||
            mp_secagg_shares_accept(&m.u2, env, m.spec, m.roster, m.kp[0], m.sec[0], own) != 0)
            die("shares accept: %s", mp_error_get());
        mp_envelope_free(env);
        free(text);
    }
    fprintf(stderr, "  mask (%.0f s)\n", now() - t0);
    parallel_for(n, make_sub, &m);
    import_dir(db, P, "sub", dropped, &coord->pub);
    advance_outbox(db, &coord->pub, coord, outbox);
    snprintf(path, sizeof path, "%s/survivors.json", outbox);
    text = read_file(path, &len);
    mp_envelope *surv;
    if (mp_envelope_parse(&surv, text, len, "survivors") != 0 ||
        mp_secagg_survivors_parse(&m.sv, surv, m.spec, m.roster) != 0)
        die("survivors: %s", mp_error_get());
    free(text);
    m.surv_hash = surv->hash;
    fprintf(stderr, "  consistency (%.0f s)\n", now() - t0);
    parallel_for(n, make_cons, &m);
    import_dir(db, P, "cons", dropped, &coord->pub);
    advance_outbox(db, &coord->pub, coord, outbox);
    for (size_t p = 0; p < n && nu < (size_t)m.spec->threshold; p++)
        if (!dropped[p])
            unm[nu++] = p;
    m.unm_pos = unm;
    fprintf(stderr, "  unmask (%.0f s)\n", now() - t0);
    parallel_for(nu, make_unm, &m);
    mp_store_close(db);
    /* Only now is the cache complete. */
    snprintf(path, sizeof path, "%s/complete", P->cache);
    write_file(path, "ok\n", 3);
    fprintf(stderr, "cache made in %.0f s\n", now() - t0);
    mp_envelope_free(surv);
    mp_secagg_view_free(&m.u1);
    mp_secagg_view_free(&m.u2);
    mp_secagg_view_free(&m.sv);
    for (size_t p = 0; p < n; p++) {
        mp_keys_free(m.kp[p]);
        mp_secagg_secrets_free(m.sec[p]);
    }
    free(m.kp);
    free(m.sec);
    free(by_id);
    free(pubs);
    free(dropped);
    free(perm);
    free(unm);
    mp_spec_free(m.spec);
    mp_roster_free(m.roster);
    mp_keys_free(coord);
    rm_rf(tmp);
}

/* ---- one timed run ------------------------------------------------------------------------ */

enum {
    PH_CREATE,
    PH_ADV,
    PH_KEYS,
    PH_SHARE,
    PH_SHARES,
    PH_SUBMIT,
    PH_SURV,
    PH_CONFIRM,
    PH_REQUEST,
    PH_UNMASK,
    PH_CLOSE,
    PH_COUNT
};
static const char *const phase_names[PH_COUNT] = {"create",  "advertise", "keys",      "share",
                                                  "shares",  "submit",    "survivors", "confirm",
                                                  "request", "unmask",    "close"};

typedef struct result {
    double wall[PH_COUNT], cpu[PH_COUNT];
    double total_wall, total_cpu, floor_wall, floor_cpu;
} result;

/* ChaCha20 expansion of one mask: d words of keystream, in the chunks mp_mask_prg_apply uses,
 * into a scratch buffer (adding it into the sum is the aggregator's work, not the floor). */
static void expand(size_t d, const unsigned char seed[32])
{
    static const unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
    static const unsigned char zeros[4096];
    static unsigned char ks[4096];
    uint32_t block = 0;
    for (size_t done = 0; done < d * 8; done += sizeof ks, block += sizeof ks / 64) {
        size_t n = d * 8 - done < sizeof ks ? d * 8 - done : sizeof ks;
        crypto_stream_chacha20_ietf_xor_ic(ks, zeros, n, nonce, block, seed);
    }
}

static void floor_run(const params *P, const mp_spec *spec, const mp_secagg_view *u1,
                      const unsigned char *dropped, result *r)
{
    size_t d = P->d, nsurv = 0, ndrop = 0;
    unsigned char secret[32], seed[32];
    size_t *surv = xcalloc(u1->n1, sizeof *surv), *drop = xcalloc(u1->n1, sizeof *drop);
    for (size_t k = 0; k < u1->n1; k++)
        if (dropped[u1->m[k].pos])
            drop[ndrop++] = k;
        else
            surv[nsurv++] = k;
    double w0 = now(), c0 = cpu();
    for (size_t i = 0; i < nsurv; i++) {
        randombytes_buf(secret, sizeof secret);
        expand(d, secret);
    }
    for (size_t j = 0; j < ndrop; j++) {
        randombytes_buf(secret, sizeof secret);
        for (size_t i = 0; i < nsurv; i++) {
            /* One X25519 (and the BLAKE2b that makes it a seed) per (dropped, survivor). */
            if (mp_secagg_pair_seed(seed, secret, &u1->m[drop[j]], &u1->m[surv[i]],
                                    spec->env->hash) != 0)
                die("pair seed: %s", mp_error_get());
            expand(d, seed);
        }
    }
    r->floor_wall = now() - w0;
    r->floor_cpu = cpu() - c0;
    free(surv);
    free(drop);
}

static void timed_run(const params *P, result *r)
{
    char tmp[] = "/tmp/mijlpaal-floor-run.XXXXXX", path[700], store[600], outbox[600];
    char roster_path[700], round_path[700], pubp[700];
    mp_keypair *coord;
    sqlite3 *db;
    unsigned char *dropped = xcalloc(P->n, 1), *notunm = xcalloc(P->n, 1);
    size_t *perm = drop_order(P->n), nu = 0;
    double w, c;
    mp_roster *roster;
    mp_spec *spec;

    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < P->drops; i++)
        dropped[perm[i]] = 1;
    if (mkdtemp(tmp) == NULL)
        die("mkdtemp failed");
    snprintf(path, sizeof path, "%s/coordinator.key", P->cache);
    snprintf(pubp, sizeof pubp, "%s/coordinator.pub", P->cache);
    if (mp_keys_load(&coord, path, NULL, 0) != 0)
        die("coordinator key: %s", mp_error_get());
    snprintf(store, sizeof store, "%s/store.db", tmp);
    snprintf(outbox, sizeof outbox, "%s/outbox", tmp);
    snprintf(roster_path, sizeof roster_path, "%s/roster.json", P->cache);
    snprintf(round_path, sizeof round_path, "%s/round.json", P->cache);
    const mp_pubkey *trusted = &coord->pub;

#define PHASE(k, stmt)                                                                             \
    do {                                                                                           \
        w = now();                                                                                 \
        c = cpu();                                                                                 \
        stmt;                                                                                      \
        r->wall[k] = now() - w;                                                                    \
        r->cpu[k] = cpu() - c;                                                                     \
        fprintf(stderr, "  %-10s %7.2f s wall %7.2f s CPU\n", phase_names[k], r->wall[k],          \
                r->cpu[k]);                                                                        \
    } while (0)

    PHASE(PH_CREATE, {
        if (mp_agg_open(&db, store, 1) != 0 ||
            mp_agg_round_create(db, roster_path, round_path, trusted) != 0)
            die("create: %s", mp_error_get());
    });
    PHASE(PH_ADV, import_dir(db, P, "adv", NULL, trusted));
    PHASE(PH_KEYS, advance_outbox(db, trusted, coord, outbox));
    PHASE(PH_SHARE, import_dir(db, P, "share", NULL, trusted));
    PHASE(PH_SHARES, advance_outbox(db, trusted, coord, outbox));
    PHASE(PH_SUBMIT, import_dir(db, P, "sub", dropped, trusted));
    PHASE(PH_SURV, advance_outbox(db, trusted, coord, outbox));
    PHASE(PH_CONFIRM, import_dir(db, P, "cons", dropped, trusted));
    PHASE(PH_REQUEST, advance_outbox(db, trusted, coord, outbox));
    if (mp_agg_round_load(db, "floor", trusted, &roster, &spec) != 0)
        die("load: %s", mp_error_get());
    for (size_t p = 0; p < P->n; p++) {
        notunm[p] = dropped[p] || nu >= (size_t)spec->threshold;
        nu += !notunm[p];
    }
    PHASE(PH_UNMASK, import_dir(db, P, "unm", notunm, trusted));
    PHASE(PH_CLOSE, {
        if (!mp_sa_can_close(db, spec) || mp_agg_close(db, "floor", trusted) != 0)
            die("close: %s", mp_error_get());
    });
    for (int k = 0; k < PH_COUNT; k++) {
        r->total_wall += r->wall[k];
        r->total_cpu += r->cpu[k];
    }

    /* The opened sum must be the survivors' plain sum. */
    {
        char *sumtext = xcalloc(P->d * 12 + 16, 1);
        uint64_t *sum = xcalloc(P->d, sizeof *sum);
        if (mp_store_text(db, "SELECT sum FROM rounds WHERE round_id = ?", "floor", sumtext,
                          P->d * 12 + 16) != 1 ||
            mp_vec_decode(sum, P->d, sumtext) != 0)
            die("sum: %s", mp_error_get());
        for (size_t c2 = 0; c2 < P->d; c2++) {
            uint64_t want = 0;
            for (size_t p = 0; p < P->n; p++)
                if (!dropped[p])
                    want += plain(p, c2);
            if (sum[c2] != want)
                die("WRONG SUM: cell %zu is %llu, expected %llu", c2, (unsigned long long)sum[c2],
                    (unsigned long long)want);
        }
        free(sumtext);
        free(sum);
    }

    /* The floor, with U1 from the keys message the aggregator made. */
    {
        mp_secagg_view u1;
        mp_envelope *env;
        size_t len;
        char *text;
        snprintf(path, sizeof path, "%s/keys.json", outbox);
        text = read_file(path, &len);
        if (mp_envelope_parse(&env, text, len, "keys") != 0 ||
            mp_secagg_keys_parse(&u1, env, spec, roster) != 0)
            die("keys: %s", mp_error_get());
        free(text);
        mp_envelope_free(env);
        floor_run(P, spec, &u1, dropped, r);
        mp_secagg_view_free(&u1);
    }
    fprintf(stderr,
            "  total %.2f s wall %.2f s CPU; floor %.2f s wall %.2f s CPU; ratio %.2f "
            "(CPU) %.2f (wall)\n",
            r->total_wall, r->total_cpu, r->floor_wall, r->floor_cpu, r->total_cpu / r->floor_cpu,
            r->total_wall / r->floor_wall);
    mp_spec_free(spec);
    mp_roster_free(roster);
    mp_store_close(db);
    mp_keys_free(coord);
    free(dropped);
    free(notunm);
    free(perm);
    rm_rf(tmp);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double med(const result *rs, size_t nr, size_t off)
{
    double v[64];
    for (size_t i = 0; i < nr; i++)
        v[i] = *(const double *)((const char *)&rs[i] + off);
    qsort(v, nr, sizeof *v, cmp_double);
    return nr % 2 ? v[nr / 2] : (v[nr / 2 - 1] + v[nr / 2]) / 2;
}

int main(int argc, char **argv)
{
    params P = {.n = 1000, .metrics = 278, .drop_pct = 10};
    size_t runs = 3;
    const char *cache_root = "build/floor-cache";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            die("usage: aggregator_floor [--n N] [--metrics M] [--drop PCT] [--runs R] "
                "[--cache DIR] [--threads W]");
        if (strcmp(a, "--n") == 0)
            P.n = strtoul(v, NULL, 10);
        else if (strcmp(a, "--metrics") == 0)
            P.metrics = strtoul(v, NULL, 10);
        else if (strcmp(a, "--drop") == 0)
            P.drop_pct = atoi(v);
        else if (strcmp(a, "--runs") == 0)
            runs = strtoul(v, NULL, 10);
        else if (strcmp(a, "--cache") == 0)
            cache_root = v;
        else if (strcmp(a, "--threads") == 0)
            g_threads = (unsigned)strtoul(v, NULL, 10);
        else
            die("unknown option %s", a);
        i++;
    }
    if (P.n < 6 || P.n > MP_MAX_ORGS || P.metrics < 1 || P.drop_pct < 0 || P.drop_pct > 50 ||
        runs < 1 || runs > 64 || g_threads < 1 || g_threads > 64)
        die("bad arguments");
    if (sodium_init() < 0)
        die("libsodium failed to initialise");
    P.d = 36 * P.metrics;
    long long t = (long long)((3 * P.n + 9) / 10);
    long long T = mp_spec_default_threshold(P.n, 3, t, t);
    P.drops = (size_t)lround(P.drop_pct / 100.0 * (double)P.n);
    if (P.drops > P.n - (size_t)T)
        P.drops = P.n - (size_t)T;
    mkdir(cache_root, 0755);
    snprintf(P.cache, sizeof P.cache, "%s/n%zu-d%zu-drop%zu", cache_root, P.n, P.d, P.drops);
    {
        char path[700];
        snprintf(path, sizeof path, "%s/complete", P.cache);
        if (!mp_file_exists(path))
            make_cache(&P);
    }
    fprintf(stderr, "n = %zu, d = %zu, T = %lld, %zu dropped, %zu survivors; open threads %s\n",
            P.n, P.d, T, P.drops, P.n - P.drops,
            getenv("MIJLPAAL_THREADS") ? getenv("MIJLPAAL_THREADS") : "(default)");
    result rs[64];
    for (size_t i = 0; i < runs; i++) {
        fprintf(stderr, "run %zu of %zu\n", i + 1, runs);
        timed_run(&P, &rs[i]);
    }
    printf("Aggregator's whole bonawitz-v1 round: n = %zu, d = %zu, T = %lld, %zu dropped "
           "(%d%%), %zu survivors, %zu unmask messages; medians of %zu runs; open threads %s.\n\n",
           P.n, P.d, T, P.drops, P.drop_pct, P.n - P.drops, (size_t)T, runs,
           getenv("MIJLPAAL_THREADS") ? getenv("MIJLPAAL_THREADS") : "(default)");
    printf("| phase | wall | CPU |\n| --- | ---: | ---: |\n");
    for (int k = 0; k < PH_COUNT; k++)
        printf("| %s | %.2f s | %.2f s |\n", phase_names[k],
               med(rs, runs, offsetof(result, wall) + (size_t)k * sizeof(double)),
               med(rs, runs, offsetof(result, cpu) + (size_t)k * sizeof(double)));
    printf("| **total** | %.2f s | %.2f s |\n", med(rs, runs, offsetof(result, total_wall)),
           med(rs, runs, offsetof(result, total_cpu)));
    printf("| floor (X25519 + ChaCha20, one thread) | %.2f s | %.2f s |\n",
           med(rs, runs, offsetof(result, floor_wall)), med(rs, runs, offsetof(result, floor_cpu)));
    double rc[64], rw[64];
    for (size_t i = 0; i < runs; i++) {
        rc[i] = rs[i].total_cpu / rs[i].floor_cpu;
        rw[i] = rs[i].total_wall / rs[i].floor_wall;
    }
    qsort(rc, runs, sizeof *rc, cmp_double);
    qsort(rw, runs, sizeof *rw, cmp_double);
    printf("\nRatio total / floor (median of the per-run ratios): %.2f (CPU), %.2f (wall).\n",
           rc[runs / 2], rw[runs / 2]);
    return 0;
}
