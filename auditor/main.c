/*
 * mijlpaal-auditor - checks a published release with as little trust in the aggregator as
 * possible.
 *
 * Given the coordinator's public key (obtained out of band) and a release directory, it checks:
 * the roster's signature; the round specification's signature and that it names this roster;
 * every submission's signature, membership and round; that the included submissions are
 * exactly the round's participants (pairwise masks cancel only then) and at least k_min; that
 * the sum of the masked vectors is the published sum; that every published cell and rate
 * follows from that sum; the release signature; and that the CSV and HTML renderings say what
 * the signed release says. It stops at the first thing that fails.
 *
 * Exit codes: 0 verified, 1 verification failed, 2 usage or system error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void fail_lib(void)
{
    die(EXIT_FAILED, "%s", mp_error_get());
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

/* The rendering on disk must be byte-identical to what the signed release renders to. */
static void check_rendering(const char *dir, const char *name, const char *want, size_t wlen)
{
    unsigned char *have;
    size_t hlen;
    if (mp_file_read(path_in(dir, name), 64u * 1024 * 1024, &have, &hlen) != 0)
        fail_lib();
    if (hlen != wlen || memcmp(have, want, wlen) != 0)
        die(EXIT_FAILED,
            "%s does not say what the signed release.json says (it was edited "
            "after publication)",
            path_in(dir, name));
    free(have);
}

/* report.pdf: a PDF that names the signed release it prints (report.h invariant 3). */
static void check_pdf(const char *dir, const char *release_hash)
{
    unsigned char *have;
    size_t hlen;
    char want[MP_HASH_HEX_BYTES + 40];
    if (mp_file_read(path_in(dir, "report.pdf"), 64u * 1024 * 1024, &have, &hlen) != 0)
        fail_lib();
    size_t wl = (size_t)snprintf(want, sizeof want, "release-sha256 %s", release_hash), at = 0;
    while (at + wl <= hlen && memcmp(have + at, want, wl) != 0)
        at++;
    if (hlen < 8 || memcmp(have, "%PDF-", 5) != 0 || at + wl > hlen)
        die(EXIT_FAILED, "%s is not the PDF of this release (it does not name release %s)",
            path_in(dir, "report.pdf"), release_hash);
    free(have);
}

/*
 * bonawitz-v1: the survivors list signed by the coordinator must name exactly the included
 * submissions; the unmask request must carry T valid confirmations of that list; the unmask
 * messages the release names must be T survivors' answers to it. Then the masks are removed
 * from the sum of the submissions here, as the aggregator did. Returns the masking block the
 * release must contain, rebuilt from what was verified.
 */
static cJSON *verify_unmasking(const char *dir, const mp_spec *spec, const mp_roster *roster,
                               const cJSON *release, const mp_included *inc, size_t n,
                               uint64_t *sum)
{
    mp_envelope *surv, *req;
    mp_secagg_view v;
    mp_secagg_reveal r[MP_MAX_ORGS];
    const cJSON *by, *it;
    cJSON *m, *adv, *mby;
    size_t nr = 0, k = 0;
    char hash[MP_HASH_HEX_BYTES];

    if (mp_envelope_load(&surv, path_in(dir, "survivors.json"), "survivors") != 0 ||
        mp_secagg_survivors_parse(&v, surv, spec, roster) != 0)
        fail_lib();
    if (v.n2 != n)
        die(EXIT_FAILED, "the release includes %zu submissions, the signed survivors list %zu", n,
            v.n2);
    for (size_t j = 0; j < v.n1; j++) {
        if (!v.m[j].submitted)
            continue;
        if (strcmp(v.m[j].org, inc[k].org) != 0 ||
            memcmp(v.m[j].submission_hash, inc[k].submission_hash, MP_HASH_BYTES) != 0)
            die(EXIT_FAILED,
                "the included submissions are not the ones the survivors list names "
                "(%s)",
                v.m[j].org);
        k++;
    }
    if (mp_envelope_load(&req, path_in(dir, "unmask-request.json"), "unmask-request") != 0 ||
        mp_secagg_request_accept(req, spec, roster, &v, surv->hash) != 0)
        fail_lib();
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(release, "masking");
    if (!cJSON_IsObject(mb) || mp_json_arr(mb, "unmasked_by", &by) != 0)
        die(EXIT_FAILED, "release.json has no masking block naming who unmasked the sum");
    cJSON_ArrayForEach (it, by) {
        char name[80];
        mp_envelope *u;
        if (!cJSON_IsString(it) || !mp_org_id_valid(it->valuestring) || nr == MP_MAX_ORGS)
            die(EXIT_FAILED, "release.json: malformed list of unmasking organisations");
        snprintf(name, sizeof name, "unmask/%s.json", it->valuestring);
        if (mp_envelope_load(&u, path_in(dir, name), "unmask") != 0 ||
            mp_secagg_unmask_check(u, spec, roster, &v, surv->hash, &r[nr]) != 0)
            fail_lib();
        if (strcmp(v.m[r[nr].member].org, it->valuestring) != 0)
            die(EXIT_FAILED, "%s is signed by %s", name, v.m[r[nr].member].org);
        mp_envelope_free(u);
        nr++;
    }
    if ((long long)nr != spec->threshold)
        die(EXIT_FAILED, "the release names %zu unmask messages; the threshold is %lld", nr,
            spec->threshold);
    if (mp_secagg_open(sum, spec->catalogue->ncells, spec, &v, r, nr, 0) != 0)
        die(EXIT_FAILED, "the sum cannot be unmasked from the published messages: %s",
            mp_error_get());
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "scheme", MP_SCHEME_BONAWITZ);
    cJSON_AddNumberToObject(m, "threshold", (double)spec->threshold);
    adv = cJSON_AddArrayToObject(m, "shared");
    for (size_t j = 0; j < v.n1; j++)
        cJSON_AddItemToArray(adv, cJSON_CreateString(v.m[j].org));
    mp_hex_encode(hash, surv->hash, MP_HASH_BYTES);
    cJSON_AddStringToObject(m, "survivors_sha256", hash);
    mp_hex_encode(hash, req->hash, MP_HASH_BYTES);
    cJSON_AddStringToObject(m, "unmask_request_sha256", hash);
    mby = cJSON_AddArrayToObject(m, "unmasked_by");
    for (size_t i = 0; i < nr; i++) {
        cJSON_AddItemToArray(mby, cJSON_CreateString(v.m[r[i].member].org));
        mp_secagg_reveal_free(&r[i]);
    }
    mp_envelope_free(req);
    mp_envelope_free(surv);
    mp_secagg_view_free(&v);
    return m;
}

/* What the series check needs from one verified release. */
typedef struct verified {
    char round_id[65], series[41], published[21];
    double rho, series_rho, spent_before;
} verified;

static int verify(const char *dir, const char *coord_path, verified *out, int quiet)
{
    mp_pubkey coord;
    mp_roster *roster;
    mp_spec *spec;
    mp_envelope *rel;
    const cJSON *included, *it;
    const char *s;
    mp_included inc[MP_MAX_ORGS];
    size_t n = 0, d;
    uint64_t *sum, *vec;
    cJSON *rebuilt, *masking = NULL;
    char *a, *b, *csv, *html, id[2 * MP_KEY_ID_BYTES + 1], relhash[MP_HASH_HEX_BYTES];
    size_t alen, blen, csvlen, htmllen;

    if (mp_pubkey_load(&coord, coord_path) != 0)
        die(EXIT_USAGE, "%s", mp_error_get());
    /* 1. The documents that define the round. */
    if (mp_roster_load(&roster, path_in(dir, "roster.json"), &coord) != 0 ||
        mp_roster_require_agreed(roster) != 0 ||
        mp_spec_load(&spec, path_in(dir, "round.json"), roster) != 0)
        fail_lib();
    /* Every member's key, bound by the region's CA (not by the coordinator), as at the time the
     * round was opened: a certificate that expired since does not undo a past release, one
     * revoked before it does (the CRL says when). */
    if (mp_roster_check_bindings(roster, trust_ca, spec->opened) != 0)
        fail_lib();
    /* 2. The release's own signature and what it claims to be about. */
    if (mp_envelope_load(&rel, path_in(dir, "release.json"), "release") != 0 ||
        mp_envelope_verify(rel, &coord) != 0)
        fail_lib();
    if (mp_json_str(rel->body, "round_id", &s) != 0 || strcmp(s, spec->round_id) != 0)
        die(EXIT_FAILED, "release.json is not for round %s", spec->round_id);
    if (mp_json_arr(rel->body, "included", &included) != 0)
        fail_lib();
    /* 3. Every included submission: present, unaltered, signed by a participant. */
    d = spec->catalogue->ncells;
    sum = calloc(d, sizeof *sum);
    vec = calloc(d, sizeof *vec);
    if (sum == NULL || vec == NULL)
        die(EXIT_USAGE, "out of memory");
    cJSON_ArrayForEach (it, included) {
        const char *org, *hash;
        mp_envelope *sub;
        const mp_org *who;
        char name[80];
        if (n == MP_MAX_ORGS || mp_json_str(it, "org", &org) != 0 ||
            mp_json_str(it, "submission_sha256", &hash) != 0 || !mp_org_id_valid(org) ||
            mp_hex_decode(inc[n].submission_hash, MP_HASH_BYTES, hash) != 0)
            die(EXIT_FAILED, "release.json: malformed list of included submissions");
        for (size_t k = 0; k < n; k++)
            if (strcmp(inc[k].org, org) == 0)
                die(EXIT_FAILED, "release.json includes %s twice", org);
        snprintf(name, sizeof name, "submissions/%s.json", org);
        if (mp_envelope_load(&sub, path_in(dir, name), "submission") != 0)
            fail_lib();
        if (memcmp(sub->hash, inc[n].submission_hash, MP_HASH_BYTES) != 0)
            die(EXIT_FAILED, "%s is not the submission the release names (sha256 differs)",
                path_in(dir, name));
        if (mp_submission_check(sub, spec, roster, &who, vec) != 0)
            die(EXIT_FAILED, "%s: %s", path_in(dir, name), mp_error_get());
        if (strcmp(who->id, org) != 0)
            die(EXIT_FAILED, "%s is signed by %s, not by %s", name, who->id, org);
        inc[n].org = who->id;
        mp_vec_add(sum, vec, d);
        mp_envelope_free(sub);
        n++;
    }
    /* 4. Pairwise masks cancel only over all participants; with bonawitz-v1 the survivors'
     *    masks are removed with the revealed shares. k_min protects small groups. */
    if (spec->masking == MP_MASKING_BONAWITZ)
        masking = verify_unmasking(dir, spec, roster, rel->body, inc, n, sum);
    else if (n != spec->nparticipants)
        die(EXIT_FAILED,
            "the release includes %zu submissions but round %s has %zu "
            "participants; with masking scheme %s the sum cannot be opened",
            n, spec->round_id, spec->nparticipants, MP_SCHEME_PAIRWISE);
    if ((long long)n < spec->k_min)
        die(EXIT_FAILED, "only %zu submissions, below k_min %lld", n, spec->k_min);
    /* 5. Rebuild the release from the verified inputs and compare canonical bytes. */
    if (mp_json_str(rel->body, "published", &s) != 0)
        fail_lib();
    if (mp_release_build(&rebuilt, spec, inc, n, sum, s, masking) != 0)
        fail_lib();
    if (mp_canon_serialise(&a, &alen, rebuilt) != 0 || mp_canon_serialise(&b, &blen, rel->body))
        fail_lib();
    if (alen != blen || memcmp(a, b, alen) != 0) {
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(rel->body, "sum");
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(rebuilt, "sum");
        if (!cJSON_IsString(ps) || strcmp(ps->valuestring, rs->valuestring) != 0)
            die(EXIT_FAILED, "the published sum is not the sum of the signed submissions");
        die(EXIT_FAILED, "the published cells or rates do not follow from the sum of the signed "
                         "submissions");
    }
    /* 6. The renderings people read say the same as the signed release and the signed
     *    earlier releases of its series; the PDF (font-dependent bytes) names the release. */
    mp_series series = {0};
    mp_hex_encode(relhash, rel->hash, MP_HASH_BYTES);
    mp_report_in rin = {rel->body, spec, roster, &series, relhash};
    if (mp_release_csv(&csv, &csvlen, rel->body, spec) != 0 ||
        mp_series_load_dir(&series, path_in(dir, "series"), spec, roster) != 0 ||
        mp_report_html(&html, &htmllen, &rin) != 0)
        fail_lib();
    check_rendering(dir, "release.csv", csv, csvlen);
    check_rendering(dir, "report.html", html, htmllen);
    check_pdf(dir, relhash);
    mp_series_free(&series);

    mp_hex_encode(id, coord.key_id, MP_KEY_ID_BYTES);
    snprintf(out->round_id, sizeof out->round_id, "%s", spec->round_id);
    snprintf(out->series, sizeof out->series, "%s", spec->privacy.series);
    snprintf(out->published, sizeof out->published, "%s", s);
    out->rho = spec->privacy.rho;
    out->series_rho = spec->privacy.series_rho;
    out->spent_before = spec->privacy.series_spent;
    if (!quiet && json_out)
        printf("{\"verified\":true,\"round_id\":\"%s\",\"submissions\":%zu,\"cells\":%zu,"
               "\"coordinator_key_id\":\"%s\"}\n",
               spec->round_id, n, d, id);
    else if (!quiet)
        printf("OK: release of round %s verified: roster and round signed by coordinator key "
               "%s, %zu signed submissions (%s), sum recomputed over %zu cells, "
               "release signature and renderings match\n",
               spec->round_id, id, n,
               spec->masking == MP_MASKING_BONAWITZ
                   ? "survivors of bonawitz-v1 masking, unmasked from the published shares"
                   : "all participants",
               d);
    free(a);
    free(b);
    free(csv);
    free(html);
    free(sum);
    free(vec);
    cJSON_Delete(rebuilt);
    cJSON_Delete(masking);
    mp_envelope_free(rel);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return 0;
}

static int by_published(const void *a, const void *b)
{
    return strcmp(((const verified *)a)->published, ((const verified *)b)->published);
}

/* Verify several releases, then recompute each series' spend from their signed rounds. */
static int verify_series(char **dirs, int n, const char *coord)
{
    verified *v = calloc((size_t)n, sizeof *v);
    if (v == NULL)
        die(EXIT_USAGE, "out of memory");
    for (int i = 0; i < n; i++)
        verify(dirs[i], coord, &v[i], 1);
    qsort(v, (size_t)n, sizeof *v, by_published);
    for (int i = 0; i < n; i++) {
        double before = 0;
        for (int j = 0; j < i; j++) {
            if (strcmp(v[j].series, v[i].series) != 0)
                continue;
            if (strcmp(v[j].round_id, v[i].round_id) == 0)
                die(EXIT_FAILED, "round %s is given twice", v[i].round_id);
            before += v[j].rho;
        }
        if (v[i].spent_before + 1e-9 < before)
            die(EXIT_FAILED,
                "round %s declared that series %s had spent rho %.6g, but the "
                "releases published before it spent %.6g",
                v[i].round_id, v[i].series, v[i].spent_before, before);
        if (before + v[i].rho > v[i].series_rho * (1 + 1e-9))
            die(EXIT_FAILED, "series %s is over budget at round %s: rho %.6g spent of %.6g",
                v[i].series, v[i].round_id, before + v[i].rho, v[i].series_rho);
    }
    if (json_out)
        printf("{\"verified\":true,\"releases\":%d}\n", n);
    else
        printf("OK: %d releases verified; the privacy spend recomputed from their signed rounds "
               "stays within every series budget\n",
               n);
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
    mp_tlogdir_report rep;
    mp_roundlog_round *r;
    size_t nr, unpublished = 0;
    char *vk;
    if (wit == NULL)
        die(EXIT_USAGE, "out of memory");
    note_key(&coord, lo->coord, MP_NOTE_TYPE_ED25519, d->cp.origin);
    for (size_t i = 0; i < lo->nwitness; i++)
        note_key(&wit[i], lo->witness[i], MP_NOTE_TYPE_COSIG, NULL);
    if (mp_tlogdir_verify(d, &coord, wit, lo->nwitness, (size_t)lo->min_cosigners, &rep) != 0)
        fail_lib();
    if (mp_roundlog_rounds(d, &r, &nr) != 0 || mp_roundlog_budget_check(r, nr) != 0)
        fail_lib();
    size_t cancelled = 0;
    for (size_t i = 0; i < nr; i++)
        if (r[i].release_index == UINT64_MAX && r[i].cancel_index != UINT64_MAX) {
            /* Cancelled, signed and logged: not a round that was opened and hidden. */
            cancelled++;
            fprintf(stderr, "%s: NOTE: round %s was cancelled (log entry %" PRIu64 "); %s\n", prog,
                    r[i].round_id, r[i].cancel_index,
                    r[i].charged ? "submissions of it are in the log, so its rho still counts "
                                   "in its series"
                                 : "nothing of it was submitted, so it spent no budget");
        } else if (r[i].release_index == UINT64_MAX) {
            unpublished++;
            fprintf(stderr,
                    "%s: NOTE: round %s was opened (log entry %" PRIu64 ", rho %.6g of series "
                    "%s) and is not published in the log\n",
                    prog, r[i].round_id, r[i].spec_index, r[i].rho, r[i].series);
        }
    if (unpublished && lo->all_published)
        die(EXIT_FAILED, "%zu round(s) in the log were opened and never published", unpublished);
    vk = mp_note_key_format(&coord);
    if (!quiet && json_out) {
        printf("{\"verified\":true,\"log\":\"%s\",\"origin\":\"%s\",\"size\":%" PRIu64
               ",\"checkpoints\":%zu,\"consistency_proofs\":%zu,\"inclusion_proofs\":%" PRIu64
               ",\"cosigned_by\":[",
               lo->log_dir, d->cp.origin, d->cp.size, rep.checkpoints, rep.consistency,
               rep.inclusion);
        for (size_t i = 0, k = 0; i < lo->nwitness; i++)
            if (rep.witness_signed[i])
                printf("%s\"%s\"", k++ ? "," : "", wit[i].name);
        printf("],\"rounds\":%zu,\"unpublished\":[", nr);
        for (size_t i = 0, k = 0; i < nr; i++)
            if (r[i].release_index == UINT64_MAX && r[i].cancel_index == UINT64_MAX)
                printf("%s\"%s\"", k++ ? "," : "", r[i].round_id);
        printf("],\"cancelled\":[");
        for (size_t i = 0, k = 0; i < nr; i++)
            if (r[i].release_index == UINT64_MAX && r[i].cancel_index != UINT64_MAX)
                printf("%s{\"round_id\":\"%s\",\"charged\":%s}", k++ ? "," : "", r[i].round_id,
                       r[i].charged ? "true" : "false");
        printf("]}\n");
    } else if (!quiet) {
        printf("OK: log %s (%s) verified: %" PRIu64 " entries, %zu checkpoint(s) signed by log "
               "key %s, %zu consistency proof(s) along the history, %" PRIu64
               " inclusion proof(s); latest checkpoint cosigned by %zu of %zu witness(es)",
               lo->log_dir, d->cp.origin, d->cp.size, rep.checkpoints, vk ? vk : "?",
               rep.consistency, rep.inclusion, rep.cosigned, lo->nwitness);
        for (size_t i = 0, k = 0; i < lo->nwitness; i++)
            if (rep.witness_signed[i])
                printf("%s%s", k++ ? ", " : " (", wit[i].name);
        printf("%s; %zu round(s) in the log, %zu not published, %zu cancelled; privacy spend "
               "within every series budget over all of them\n",
               rep.cosigned ? ")" : "", nr, unpublished, cancelled);
    }
    free(vk);
    free(r);
    free(wit);
    mp_tlogdir_report_free(&rep);
    return d;
}

/* A file of a release directory must be in the log, as an entry of `type`, byte for byte. */
static void check_included(const mp_tlogdir *d, const char *dir, const char *name, const char *type)
{
    unsigned char *buf, *entry, h[MP_HASH_BYTES];
    const unsigned char *doc;
    size_t len, elen, dlen;
    uint64_t at;
    mp_tlog_proof proof;
    if (mp_file_read(path_in(dir, name), MP_TLOG_ENTRY_MAX, &buf, &len) != 0)
        fail_lib();
    mp_hash(h, buf, len);
    if (mp_tlogdir_find(d, type, h, &at) != 0)
        die(EXIT_FAILED,
            "%s is not in the log %s (no %s entry with its sha256: it was changed after "
            "publication, or never logged)",
            path_in(dir, name), d->path, type);
    if (mp_tlogdir_entry(d, at, &entry, &elen, &doc, &dlen) != 0)
        fail_lib();
    if (dlen != len || memcmp(doc, buf, len) != 0)
        die(EXIT_FAILED, "%s differs from log entry %" PRIu64, path_in(dir, name), at);
    if (mp_tlogdir_prove_inclusion(d, at, &proof) != 0)
        fail_lib();
    free(entry);
    free(buf);
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
        die(EXIT_FAILED, "%s: %s", old_path, mp_error_get());
    if (mp_note_verify(nn, &coord, 1, 0, NULL) != 0)
        die(EXIT_FAILED, "%s: %s", new_path, mp_error_get());
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
        die(EXIT_FAILED, "%s does not extend %s: %s", new_path, old_path, mp_error_get());
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
            check_included(d, argv[i], "roster.json", "roster");
            check_included(d, argv[i], "round.json", "round");
            check_included(d, argv[i], "release.json", "release");
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
        verified v;
        int rc = verify(argv[optind], coord, &v, 0);
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
