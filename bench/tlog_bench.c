/*
 * tlog_bench.c - the transparency log's Merkle tree at scale (protocol/log/tlog.h).
 *
 * Appends N entries of 256 bytes (default 10^6), then generates and verifies P inclusion
 * proofs of random entries and P consistency proofs between random sizes (default 10^4 each).
 * Prints a Markdown table: time per operation, proof sizes, and the process's peak resident
 * memory (getrusage) before and after the tree is built. Every proof is verified; the program
 * aborts if one fails.
 *
 * With --release DIR --key FILE (a published release directory and the coordinator's
 * plaintext key, e.g. the demo's) it also times, in this process, what the log adds to a
 * round: mp_roundlog_release of DIR into a fresh log (what publish --log-dir adds) and
 * mp_tlogdir_load + mp_tlogdir_verify of that log (what the auditor adds); medians of 7.
 *
 *   tlog_bench [--n N] [--proofs P] [--release DIR --key FILE]
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "keys.h"
#include "roundlog.h"
#include "tlog.h"
#include "tlog_dir.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* xorshift64*: reproducible indices, no quality needed. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void die(const char *what)
{
    fprintf(stderr, "tlog_bench: %s: %s\n", what, mp_error_get());
    exit(1);
}

static void fmt_time(char *out, size_t cap, double s)
{
    if (s >= 1)
        snprintf(out, cap, "%.2f s", s);
    else if (s >= 1e-3)
        snprintf(out, cap, "%.2f ms", s * 1e3);
    else
        snprintf(out, cap, "%.2f us", s * 1e6);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median times of appending a release to a fresh log and of verifying that log. */
static void round_log_work(const char *release, const char *keyfile)
{
    enum { RUNS = 7 };
    double app[RUNS], ver[RUNS], appcpu[RUNS];
    mp_keypair *kp;
    char dir[] = "/tmp/mijlpaal-tlog-bench-XXXXXX", log[64], cmd[128];
    uint64_t added = 0, size = 0;
    if (mp_keys_open(&kp, keyfile, NULL, 1) != 0)
        die("key");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    for (int r = 0; r < RUNS; r++) {
        mp_tlogdir *d;
        mp_tlogdir_report rep;
        mp_note_key k;
        snprintf(log, sizeof log, "%s/log%d", dir, r);
        double t0 = now(), c0 = cpu();
        if (mp_roundlog_release(log, NULL, kp, release, &added, &size) != 0)
            die("log append");
        app[r] = now() - t0;
        appcpu[r] = cpu() - c0;
        t0 = now();
        if (mp_tlogdir_load(&d, log, 0) != 0 ||
            mp_note_key_make(&k, d->cp.origin, MP_NOTE_TYPE_ED25519, kp->pub.sign_pk) != 0 ||
            mp_tlogdir_verify(d, &k, NULL, 0, 0, &rep) != 0)
            die("log verify");
        ver[r] = now() - t0;
        mp_tlogdir_report_free(&rep);
        mp_tlogdir_free(d);
    }
    qsort(app, RUNS, sizeof *app, by_value);
    qsort(ver, RUNS, sizeof *ver, by_value);
    qsort(appcpu, RUNS, sizeof *appcpu, by_value);
    printf("\n| the log work of one round (%s, %llu entries), median of %d | time |\n"
           "| --- | ---: |\n",
           release, (unsigned long long)size, RUNS);
    printf("| append its documents and sign a checkpoint (publish --log-dir) | %.2f ms |\n",
           app[RUNS / 2] * 1e3);
    printf("| of which CPU (the rest is waiting for the two disk flushes) | %.2f ms |\n",
           appcpu[RUNS / 2] * 1e3);
    printf("| load and verify the log (auditor log verify) | %.2f ms |\n", ver[RUNS / 2] * 1e3);
    printf("LOGWORK_MS %.3f\n", (app[RUNS / 2] + ver[RUNS / 2]) * 1e3);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "tlog_bench: could not remove %s\n", dir);
    mp_keys_free(kp);
}

int main(int argc, char **argv)
{
    const char *release = NULL, *keyfile = NULL;
    uint64_t n = 1000000, p = 10000, seed = 0x9e3779b97f4a7c15ull;
    unsigned char entry[256], root[32], leaf[32];
    mp_tlog *t;
    mp_tlog_proof proof;
    char a[32], b[32];
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--n") == 0)
            n = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--proofs") == 0)
            p = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--release") == 0)
            release = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0)
            keyfile = argv[i + 1];
    }
    if (sodium_init() < 0)
        die("sodium_init");
    if (n < 2 || p < 1) {
        fprintf(stderr, "usage: tlog_bench [--n N>=2] [--proofs P>=1]\n");
        return 2;
    }
    long mem0 = peak_kib();
    if (mp_tlog_new(&t) != 0)
        die("new");
    memset(entry, 'x', sizeof entry);
    double t0 = now();
    for (uint64_t i = 0; i < n; i++) {
        memcpy(entry, &i, sizeof i);
        if (mp_tlog_append(t, entry, sizeof entry) != 0)
            die("append");
    }
    double t_append = now() - t0;
    long mem1 = peak_kib();
    t0 = now();
    if (mp_tlog_root(t, n, root) != 0)
        die("root");
    double t_root = now() - t0;

    double gen = 0, ver = 0;
    size_t maxlen = 0, sumlen = 0;
    for (uint64_t k = 0; k < p; k++) {
        uint64_t i = rnd(&seed) % n;
        t0 = now();
        if (mp_tlog_inclusion_proof(t, i, n, &proof) != 0)
            die("inclusion proof");
        gen += now() - t0;
        if (mp_tlog_leaf(t, i, leaf) != 0)
            die("leaf");
        t0 = now();
        if (mp_tlog_inclusion_verify(i, n, leaf, &proof, root) != 0)
            die("inclusion verify");
        ver += now() - t0;
        sumlen += proof.n;
        if (proof.n > maxlen)
            maxlen = proof.n;
    }
    double cgen = 0, cver = 0;
    size_t cmax = 0, csum = 0;
    for (uint64_t k = 0; k < p; k++) {
        uint64_t m = 1 + rnd(&seed) % (n - 1), second = m + rnd(&seed) % (n - m + 1);
        unsigned char r1[32], r2[32];
        if (mp_tlog_root(t, m, r1) != 0 || mp_tlog_root(t, second, r2) != 0)
            die("roots");
        t0 = now();
        if (mp_tlog_consistency_proof(t, m, second, &proof) != 0)
            die("consistency proof");
        cgen += now() - t0;
        t0 = now();
        if (mp_tlog_consistency_verify(m, second, r1, r2, &proof) != 0)
            die("consistency verify");
        cver += now() - t0;
        csum += proof.n;
        if (proof.n > cmax)
            cmax = proof.n;
    }
    printf(
        "| measure (N = %llu entries of 256 bytes, %llu proofs each) | value |\n| --- | ---: |\n",
        (unsigned long long)n, (unsigned long long)p);
    fmt_time(a, sizeof a, t_append);
    fmt_time(b, sizeof b, t_append / (double)n);
    printf("| append all N (leaf hash + tree) | %s (%s per entry) |\n", a, b);
    printf("| peak memory before / after building | %.1f MiB / %.1f MiB |\n", mem0 / 1024.0,
           mem1 / 1024.0);
    fmt_time(a, sizeof a, t_root);
    printf("| root of the whole tree | %s |\n", a);
    fmt_time(a, sizeof a, gen / (double)p);
    fmt_time(b, sizeof b, ver / (double)p);
    printf("| inclusion proof: generate / verify (mean) | %s / %s |\n", a, b);
    printf("| inclusion proof size (mean / max) | %.1f / %zu hashes = %.0f / %zu bytes |\n",
           (double)sumlen / (double)p, maxlen, 32.0 * (double)sumlen / (double)p, 32 * maxlen);
    fmt_time(a, sizeof a, cgen / (double)p);
    fmt_time(b, sizeof b, cver / (double)p);
    printf("| consistency proof: generate / verify (mean) | %s / %s |\n", a, b);
    printf("| consistency proof size (mean / max) | %.1f / %zu hashes = %.0f / %zu bytes |\n",
           (double)csum / (double)p, cmax, 32.0 * (double)csum / (double)p, 32 * cmax);
    mp_tlog_free(t);
    if (release != NULL && keyfile != NULL)
        round_log_work(release, keyfile);
    return 0;
}
