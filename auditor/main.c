/*
 * mijlpaal-auditor - checks a published release with as little trust in the aggregator as
 * possible.
 *
 * The checks are the audit library's (protocol/audit/audit.h: the roster, the round, every
 * submission, the sum, every published cell, the release signature, the renderings; several
 * releases' privacy spend; the transparency log); this program parses the arguments, serves
 * the library a release directory's files, and prints the verdict.
 *
 * Exit codes: 0 verified, 1 verification failed, 2 usage or system error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "canon.h"
#include "cert.h"
#include "cli.h"
#include "version.h"
#include "cms.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "keys.h"
#include "mask.h"
#include "note.h"
#include "release.h"
#include "report.h"
#include "secagg.h"
#include "roster.h"
#include "roundlog.h"
#include "spec.h"
#include "submission.h"
#include "tlog_dir.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char *prog = "mijlpaal-auditor";
static int json_out;

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    char msg[2048];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (json_out && code == EXIT_FAILED) {
        cJSON *j = cJSON_CreateObject();
        char *s;
        cJSON_AddBoolToObject(j, "verified", 0);
        cJSON_AddStringToObject(j, "failure", msg);
        s = cJSON_PrintUnformatted(j);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(j);
    }
    fprintf(stderr, "%s: %s%s\n", prog, code == EXIT_FAILED ? "FAILED: " : "", msg);
    exit(code);
}

static mp_ca *trust_ca; /* the region's CA, from --ca: what binds keys to organisations */

/* The one place a library failure becomes an exit code (README): a system failure (I/O, out
 * of memory; error.h) is 2 wherever it happens; a refusal is `code` (1: verification failed). */
static int lib_code(int code)
{
    return mp_error_kind_get() == MP_ERR_SYSTEM ? EXIT_USAGE : code;
}

static void fail_lib(void)
{
    die(lib_code(EXIT_FAILED), "%s", mp_error_get());
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "Commands:\n"
            "  verify --coordinator-key FILE --ca FILE [--crl FILE] [--json]\n"
            "         [--log-dir LOG [--witness-key K]... [--min-cosigners N]]\n"
            "         [--require-cms] RELEASE_DIR...\n"
            "      Verify release directories written by `mijlpaal-aggregator publish`:\n"
            "      RELEASE_DIR/roster.json, round.json, release.json, release.csv,\n"
            "      report.html, report.pdf, submissions/ORG.json, series/ROUND.json (earlier\n"
            "      releases) against the coordinator's public key and the region's CA trust\n"
            "      file (--ca, with CRLs in it or in --crl), which you must obtain yourself\n"
            "      (not from the directory): every member's key must be bound by its\n"
            "      certificate and every member must have co-signed the roster. Prints one\n"
            "      line: the verdict, or the first check that failed.\n"
            "      Given several releases, each is verified and then their privacy spend is\n"
            "      recomputed from the signed round specifications: per series, the sum of\n"
            "      the releases' budgets must stay within the series budget, and each round\n"
            "      must have declared at least the spend of the releases published before it.\n"
            "      With --log-dir, the transparency log LOG is verified too (as by log\n"
            "      verify) and each release's release.json, round.json and roster.json must\n"
            "      be in it. With release.json.p7s present (required with --require-cms), it\n"
            "      must be a valid CMS signature of release.json by a certificate issued\n"
            "      under the CA file (what `openssl cms -verify` checks).\n"
            "  log verify --log-dir LOG --coordinator-key K [--witness-key K]...\n"
            "         [--min-cosigners N] [--all-published] [--json]\n"
            "      Every checkpoint of LOG signed by the coordinator (and only by it and the\n"
            "      witnesses given), consistency proofs along the checkpoint history, an\n"
            "      inclusion proof of every entry; then every round in the log, the ones\n"
            "      never published named (refused with --all-published), and each series'\n"
            "      privacy spend recomputed over all of them.\n"
            "  log consistency --log-dir LOG --coordinator-key K OLD NEW\n"
            "      Checkpoint file NEW (of LOG) extends checkpoint file OLD; a fork fails.\n"
            "  log vkey --public-key FILE (--name NAME | --witness)\n"
            "      A public key file in the verifier-key form (name+id+key) used for\n"
            "      --coordinator-key/--witness-key.\n"
            "\n"
            "Keys K: a mijlpaal public key file, or a verifier key (text or file).\n"
            "Exit codes: 0 verified, 1 verification failed, 2 usage or system error.\n",
            prog);
}

static char *path_in(const char *dir, const char *name)
{
    static char buf[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    if (snprintf(buf[k], PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
        die(EXIT_USAGE, "%s: path too long", dir);
    return buf[k];
}

/* ---------------------------------------------------------------- a release directory */

/* The audit library reads a release through a source (audit.h); this one is a directory. A
 * file that is not there is a refusal (the release is incomplete), one that cannot be read a
 * system error (fileio.c). */
static int dir_read(void *ctx, const char *name, size_t max, unsigned char **buf, size_t *len)
{
    const char *dir = ctx;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return mp_error_set("%s: path too long", dir);
    if (!mp_file_exists(path))
        return mp_error_set("%s: missing from the release directory", path);
    return mp_file_read(path, max, buf, len);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dir_list(void *ctx, const char *folder, char ***names, size_t *n)
{
    const char *dir = ctx;
    char path[PATH_MAX];
    size_t cap = 0;
    struct dirent *e;
    DIR *d;
    *names = NULL;
    *n = 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, folder) >= (int)sizeof path)
        return mp_error_set("%s: path too long", dir);
    if ((d = opendir(path)) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return mp_error_system("%s: cannot list: %s", path, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || e->d_name[0] == '.' || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        if (*n == cap) {
            char **m = realloc(*names, (cap = cap ? 2 * cap : 16) * sizeof *m);
            if (m == NULL)
                goto oom;
            *names = m;
        }
        if (((*names)[*n] = strdup(e->d_name)) == NULL)
            goto oom;
        (*n)++;
    }
    closedir(d);
    if (*n > 0)
        qsort(*names, *n, sizeof **names, by_name);
    return 0;
oom:
    closedir(d);
    for (size_t i = 0; i < *n; i++)
        free((*names)[i]);
    free(*names);
    *names = NULL;
    *n = 0;
    return mp_error_system("out of memory");
}

static void dir_source(mp_audit_source *src, const char *dir)
{
    src->read = dir_read;
    src->list = dir_list;
    src->ctx = (void *)dir;
    src->label = dir;
}

static void load_coordinator(mp_pubkey *coord, const char *path)
{
    if (mp_pubkey_load(coord, path) != 0)
        die(EXIT_USAGE, "%s", mp_error_get());
}

static void print_json(cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (s == NULL)
        die(EXIT_USAGE, "out of memory");
    printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

static int verify_one(const char *dir, const char *coord_path)
{
    mp_pubkey coord;
    mp_audit_source src;
    mp_audit_release_report r;
    load_coordinator(&coord, coord_path);
    dir_source(&src, dir);
    if (mp_audit_release(&src, &coord, trust_ca, &r) != 0)
        fail_lib();
    if (json_out) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "verified", 1);
        cJSON_AddStringToObject(j, "round_id", r.round_id);
        cJSON_AddNumberToObject(j, "submissions", (double)r.submissions);
        cJSON_AddNumberToObject(j, "cells", (double)r.cells);
        cJSON_AddStringToObject(j, "coordinator_key_id", r.coordinator_key_id);
        print_json(j);
    } else {
        printf("OK: release of round %s verified: roster and round signed by coordinator key "
               "%s, %zu signed submissions (%s), sum recomputed over %zu cells, "
               "release signature and renderings match\n",
               r.round_id, r.coordinator_key_id, r.submissions,
               r.masking == MP_MASKING_BONAWITZ
                   ? "survivors of bonawitz-v1 masking, unmasked from the published shares"
                   : "all participants",
               r.cells);
    }
    return 0;
}

/* Verify several releases, then recompute each series' spend from their signed rounds. */
static int verify_series(char **dirs, int n, const char *coord_path)
{
    mp_pubkey coord;
    mp_audit_release_report *v = calloc((size_t)n, sizeof *v);
    if (v == NULL)
        die(EXIT_USAGE, "out of memory");
    load_coordinator(&coord, coord_path);
    for (int i = 0; i < n; i++) {
        mp_audit_source src;
        dir_source(&src, dirs[i]);
        if (mp_audit_release(&src, &coord, trust_ca, &v[i]) != 0)
            fail_lib();
    }
    if (mp_audit_series(v, (size_t)n) != 0)
        fail_lib();
    if (json_out) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "verified", 1);
        cJSON_AddNumberToObject(j, "releases", n);
        print_json(j);
    } else {
        printf("OK: %d releases verified; the privacy spend recomputed from their signed rounds "
               "stays within every series budget\n",
               n);
    }
    free(v);
    return 0;
}

/* ---------------------------------------------------------------- the transparency log */

#define MAX_WITNESSES 256

typedef struct logopts {
    const char *log_dir, *coord, *witness[MAX_WITNESSES], *public_key, *name;
    size_t nwitness;
    long long min_cosigners;
    int all_published, as_witness;
} logopts;

/* A trusted key: a mijlpaal public key file (named `name`, or its organisation for a witness)
 * or a verifier key, written out or in a file. */
static void note_key(mp_note_key *k, const char *arg, unsigned char type, const char *name)
{
    char text[512];
    unsigned char *buf = NULL;
    size_t len;
    if (mp_file_exists(arg)) {
        if (mp_file_read(arg, 64 * 1024, &buf, &len) != 0)
            die(EXIT_USAGE, "%s", mp_error_get());
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (buf[0] == '{') {
            mp_pubkey pk;
            free(buf);
            if (mp_pubkey_load(&pk, arg) != 0)
                die(EXIT_USAGE, "%s", mp_error_get());
            if (mp_note_key_make(k, name ? name : pk.org, type, pk.sign_pk) != 0)
                die(EXIT_USAGE, "%s: %s", arg, mp_error_get());
            return;
        }
        snprintf(text, sizeof text, "%s", (char *)buf);
        free(buf);
    } else {
        snprintf(text, sizeof text, "%s", arg);
    }
    if (mp_note_key_parse(k, text) != 0)
        die(EXIT_USAGE, "%s: neither a public key file nor a verifier key: %s", arg,
            mp_error_get());
    if (k->type != type)
        die(EXIT_USAGE, "%s: a verifier key of type 0x%02x; expected 0x%02x (%s)", arg, k->type,
            type, type == MP_NOTE_TYPE_COSIG ? "a witness's cosignature key" : "a log key");
}

static mp_tlogdir *open_log(const char *dir)
{
    mp_tlogdir *d;
    if (mp_tlogdir_load(&d, dir, 0) != 0)
        fail_lib();
    return d;
}

/* Verify the whole log; prints a summary unless quiet. */
static mp_tlogdir *verify_log(const logopts *lo, int quiet)
{
    mp_tlogdir *d = open_log(lo->log_dir);
    mp_note_key coord, *wit = calloc(lo->nwitness + 1, sizeof *wit);
    mp_audit_log_report rep;
    const mp_tlogdir_report *t = &rep.tlog;
    char *vk;
    if (wit == NULL)
        die(EXIT_USAGE, "out of memory");
    note_key(&coord, lo->coord, MP_NOTE_TYPE_ED25519, d->cp.origin);
    for (size_t i = 0; i < lo->nwitness; i++)
        note_key(&wit[i], lo->witness[i], MP_NOTE_TYPE_COSIG, NULL);
    if (mp_audit_log(d, &coord, wit, lo->nwitness, (size_t)lo->min_cosigners, &rep) != 0)
        fail_lib();
    for (size_t i = 0; i < rep.nrounds; i++) {
        const mp_roundlog_round *r = &rep.rounds[i];
        if (r->release_index == UINT64_MAX && r->cancel_index != UINT64_MAX)
            /* Cancelled, signed and logged: not a round that was opened and hidden. */
            fprintf(stderr, "%s: NOTE: round %s was cancelled (log entry %" PRIu64 "); %s\n", prog,
                    r->round_id, r->cancel_index,
                    r->charged ? "submissions of it are in the log, so its rho still counts "
                                 "in its series"
                               : "nothing of it was submitted, so it spent no budget");
        else if (r->release_index == UINT64_MAX)
            fprintf(stderr,
                    "%s: NOTE: round %s was opened (log entry %" PRIu64 ", rho %.6g of series "
                    "%s) and is not published in the log\n",
                    prog, r->round_id, r->spec_index, r->rho, r->series);
    }
    if (rep.unpublished && lo->all_published)
        die(EXIT_FAILED, "%zu round(s) in the log were opened and never published",
            rep.unpublished);
    vk = mp_note_key_format(&coord);
    if (!quiet && json_out) {
        cJSON *j = cJSON_CreateObject(), *a;
        cJSON_AddBoolToObject(j, "verified", 1);
        cJSON_AddStringToObject(j, "log", lo->log_dir);
        cJSON_AddStringToObject(j, "origin", d->cp.origin);
        cJSON_AddNumberToObject(j, "size", (double)d->cp.size);
        cJSON_AddNumberToObject(j, "checkpoints", (double)t->checkpoints);
        cJSON_AddNumberToObject(j, "consistency_proofs", (double)t->consistency);
        cJSON_AddNumberToObject(j, "inclusion_proofs", (double)t->inclusion);
        a = cJSON_AddArrayToObject(j, "cosigned_by");
        for (size_t i = 0; i < lo->nwitness; i++)
            if (t->witness_signed[i])
                cJSON_AddItemToArray(a, cJSON_CreateString(wit[i].name));
        cJSON_AddNumberToObject(j, "rounds", (double)rep.nrounds);
        a = cJSON_AddArrayToObject(j, "unpublished");
        for (size_t i = 0; i < rep.nrounds; i++)
            if (rep.rounds[i].release_index == UINT64_MAX &&
                rep.rounds[i].cancel_index == UINT64_MAX)
                cJSON_AddItemToArray(a, cJSON_CreateString(rep.rounds[i].round_id));
        a = cJSON_AddArrayToObject(j, "cancelled");
        for (size_t i = 0; i < rep.nrounds; i++)
            if (rep.rounds[i].release_index == UINT64_MAX &&
                rep.rounds[i].cancel_index != UINT64_MAX) {
                cJSON *c = cJSON_CreateObject();
                cJSON_AddStringToObject(c, "round_id", rep.rounds[i].round_id);
                cJSON_AddBoolToObject(c, "charged", rep.rounds[i].charged);
                cJSON_AddItemToArray(a, c);
            }
        print_json(j);
    } else if (!quiet) {
        printf("OK: log %s (%s) verified: %" PRIu64 " entries, %zu checkpoint(s) signed by log "
               "key %s, %zu consistency proof(s) along the history, %" PRIu64
               " inclusion proof(s); latest checkpoint cosigned by %zu of %zu witness(es)",
               lo->log_dir, d->cp.origin, d->cp.size, t->checkpoints, vk ? vk : "?", t->consistency,
               t->inclusion, t->cosigned, lo->nwitness);
        for (size_t i = 0, k = 0; i < lo->nwitness; i++)
            if (t->witness_signed[i])
                printf("%s%s", k++ ? ", " : " (", wit[i].name);
        printf("%s; %zu round(s) in the log, %zu not published, %zu cancelled; privacy spend "
               "within every series budget over all of them\n",
               t->cosigned ? ")" : "", rep.nrounds, rep.unpublished, rep.cancelled);
    }
    free(vk);
    free(wit);
    mp_audit_log_report_free(&rep);
    return d;
}

static int cmd_log_verify(const logopts *lo)
{
    mp_tlogdir_free(verify_log(lo, 0));
    return 0;
}

/* NEW (a checkpoint of this log) extends OLD: what a witness checks before it cosigns. */
static int cmd_log_consistency(const logopts *lo, const char *old_path, const char *new_path)
{
    mp_tlogdir *d = open_log(lo->log_dir);
    mp_note *on, *nn;
    mp_checkpoint oc, nc;
    mp_note_key coord;
    unsigned char r[32];
    mp_tlog_proof p;
    if (mp_checkpoint_load(old_path, &on, &oc) != 0 || mp_checkpoint_load(new_path, &nn, &nc))
        fail_lib();
    note_key(&coord, lo->coord, MP_NOTE_TYPE_ED25519, d->cp.origin);
    if (mp_note_verify(on, &coord, 1, 0, NULL) != 0)
        die(lib_code(EXIT_FAILED), "%s: %s", old_path, mp_error_get());
    if (mp_note_verify(nn, &coord, 1, 0, NULL) != 0)
        die(lib_code(EXIT_FAILED), "%s: %s", new_path, mp_error_get());
    if (strcmp(oc.origin, nc.origin) != 0 || strcmp(nc.origin, d->cp.origin) != 0)
        die(EXIT_FAILED, "the checkpoints are of different logs (%s, %s; this is %s)", oc.origin,
            nc.origin, d->cp.origin);
    if (nc.size > d->cp.size || mp_tlog_root(d->tree, nc.size, r) != 0 ||
        sodium_memcmp(r, nc.root, 32) != 0)
        die(EXIT_FAILED, "%s is not a checkpoint of the log in %s", new_path, lo->log_dir);
    if (oc.size > nc.size)
        die(EXIT_FAILED,
            "%s (%" PRIu64 " entries) is older than %s (%" PRIu64 "): the log "
            "shrank",
            new_path, nc.size, old_path, oc.size);
    if (oc.size > 0 && (mp_tlog_consistency_proof(d->tree, oc.size, nc.size, &p) != 0 ||
                        mp_tlog_consistency_verify(oc.size, nc.size, oc.root, nc.root, &p) != 0)) {
        fprintf(stderr, "%s: the two checkpoints:\n--- %s\n%s--- %s\n%s", prog, old_path, on->text,
                new_path, nn->text);
        die(lib_code(EXIT_FAILED), "%s does not extend %s: %s", new_path, old_path, mp_error_get());
    }
    printf("OK: %s (%" PRIu64 " entries) extends %s (%" PRIu64 " entries): consistency proof "
           "of %zu hashes verified\n",
           new_path, nc.size, old_path, oc.size, oc.size ? p.n : (size_t)0);
    mp_note_free(on);
    mp_note_free(nn);
    mp_checkpoint_clear(&oc);
    mp_checkpoint_clear(&nc);
    mp_tlogdir_free(d);
    return 0;
}

static int cmd_log_vkey(const logopts *lo)
{
    mp_pubkey pk;
    mp_note_key k;
    char *vk;
    if (lo->public_key == NULL || (lo->name == NULL && !lo->as_witness))
        die(EXIT_USAGE, "log vkey needs --public-key and --name (the log's origin) or --witness");
    if (mp_pubkey_load(&pk, lo->public_key) != 0)
        die(EXIT_USAGE, "%s", mp_error_get());
    if (mp_note_key_make(&k, lo->name ? lo->name : pk.org,
                         lo->as_witness ? MP_NOTE_TYPE_COSIG : MP_NOTE_TYPE_ED25519,
                         pk.sign_pk) != 0 ||
        (vk = mp_note_key_format(&k)) == NULL)
        die(EXIT_USAGE, "%s", mp_error_get());
    printf("%s\n", vk);
    free(vk);
    return 0;
}

static long long whole(const char *text, const char *flag)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 0)
        die(EXIT_USAGE, "%s must be a whole number", flag);
    return v;
}

static int cmd_log(int argc, char **argv)
{
    static const struct option longopts[] = {{"log-dir", required_argument, NULL, 'l'},
                                             {"coordinator-key", required_argument, NULL, 'k'},
                                             {"witness-key", required_argument, NULL, 'w'},
                                             {"min-cosigners", required_argument, NULL, 'm'},
                                             {"all-published", no_argument, NULL, 'a'},
                                             {"public-key", required_argument, NULL, 'p'},
                                             {"name", required_argument, NULL, 'n'},
                                             {"witness", no_argument, NULL, 'W'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    logopts lo = {0};
    const char *sub = argc > 2 ? argv[2] : "";
    int c;
    optind = 3;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': lo.log_dir = optarg; break;
        case 'k': lo.coord = optarg; break;
        case 'w':
            if (lo.nwitness == MAX_WITNESSES)
                die(EXIT_USAGE, "too many --witness-key");
            lo.witness[lo.nwitness++] = optarg;
            break;
        case 'm': lo.min_cosigners = whole(optarg, "--min-cosigners"); break;
        case 'a': lo.all_published = 1; break;
        case 'p': lo.public_key = optarg; break;
        case 'n': lo.name = optarg; break;
        case 'W': lo.as_witness = 1; break;
        case 'j': json_out = 1; break;
        case 'h': mp_cli_help(stdout, usage, prog, argc, argv, 3); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "vkey") == 0)
        return cmd_log_vkey(&lo);
    if (lo.log_dir == NULL || lo.coord == NULL)
        die(EXIT_USAGE, "log %s needs --log-dir and --coordinator-key (see --help)", sub);
    if (strcmp(sub, "verify") == 0 && optind == argc)
        return cmd_log_verify(&lo);
    if (strcmp(sub, "consistency") == 0 && optind + 2 == argc)
        return cmd_log_consistency(&lo, argv[optind], argv[optind + 1]);
    die(EXIT_USAGE, "unknown or incomplete command \"log %s\" (see --help)", sub);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"coordinator-key", required_argument, NULL, 'k'},
                                             {"ca", required_argument, NULL, 'c'},
                                             {"crl", required_argument, NULL, 'r'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"log-dir", required_argument, NULL, 'l'},
                                             {"witness-key", required_argument, NULL, 'w'},
                                             {"require-cms", no_argument, NULL, 'R'},
                                             {"min-cosigners", required_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *coord = NULL, *ca = NULL, *crl = NULL;
    logopts lo = {0};
    int require_cms = 0;
    int c;
    if (sodium_init() < 0)
        die(EXIT_USAGE, "libsodium failed to initialise");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        mp_version_print(prog);
        return 0;
    }
    if (strcmp(argv[1], "log") == 0)
        return cmd_log(argc, argv);
    if (strcmp(argv[1], "verify") != 0)
        die(EXIT_USAGE, "unknown command \"%s\" (see --help)", argv[1]);
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': coord = optarg; break;
        case 'c': ca = optarg; break;
        case 'r': crl = optarg; break;
        case 'j': json_out = 1; break;
        case 'l': lo.log_dir = optarg; break;
        case 'w':
            if (lo.nwitness == MAX_WITNESSES)
                die(EXIT_USAGE, "too many --witness-key");
            lo.witness[lo.nwitness++] = optarg;
            break;
        case 'R': require_cms = 1; break;
        case 'm': lo.min_cosigners = whole(optarg, "--min-cosigners"); break;
        case 'h': mp_cli_help(stdout, usage, prog, argc, argv, 2); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (coord == NULL)
        die(EXIT_USAGE, "missing --coordinator-key: the coordinator's public key, obtained "
                        "independently of the release");
    if (ca == NULL)
        die(EXIT_USAGE, "missing --ca: the trust file of the region's CA (PKIoverheid in "
                        "production), obtained independently of the release");
    if (optind >= argc)
        die(EXIT_USAGE, "verify needs a RELEASE_DIR (see --help)");
    if (mp_ca_load(&trust_ca, ca, crl) != 0)
        die(EXIT_USAGE, "%s", mp_error_get());
    int n = argc - optind;
    if (lo.log_dir != NULL) {
        /* The log first: its summary line, then the releases' verdicts. */
        lo.coord = coord;
        mp_tlogdir *d = verify_log(&lo, json_out);
        for (int i = optind; i < argc; i++) {
            mp_audit_source src;
            dir_source(&src, argv[i]);
            if (mp_audit_in_log(d, &src, "roster.json", "roster") != 0 ||
                mp_audit_in_log(d, &src, "round.json", "round") != 0 ||
                mp_audit_in_log(d, &src, "release.json", "release") != 0)
                fail_lib();
        }
        mp_tlogdir_free(d);
    }
    /* The CMS signature is checked whenever a release carries one (and required with
     * --require-cms): it is the path for stock openssl, the Ed25519 signature is the primary. */
    int cms_checked = 0;
    for (int i = optind; i < argc; i++) {
        char rel[PATH_MAX], p7s[PATH_MAX];
        snprintf(rel, sizeof rel, "%s", path_in(argv[i], "release.json"));
        snprintf(p7s, sizeof p7s, "%s", path_in(argv[i], "release.json.p7s"));
        if (!mp_file_exists(p7s)) {
            if (require_cms)
                die(EXIT_FAILED, "%s: no release.json.p7s, and --require-cms was given", argv[i]);
            continue;
        }
        if (mp_cms_verify_file(rel, p7s, ca) != 0)
            fail_lib();
        cms_checked++;
    }
    if (n == 1) {
        int rc = verify_one(argv[optind], coord);
        if (rc == 0 && lo.log_dir != NULL && !json_out)
            printf("OK: release.json, round.json and roster.json of %s are in the log %s "
                   "(inclusion proofs verified)\n",
                   argv[optind], lo.log_dir);
        if (rc == 0 && cms_checked && !json_out)
            printf("OK: release.json.p7s is a CMS signature of release.json under %s\n", ca);
        return rc;
    }
    return verify_series(argv + optind, n, coord);
}
