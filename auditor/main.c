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
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "keys.h"
#include "mask.h"
#include "release.h"
#include "secagg.h"
#include "roster.h"
#include "spec.h"
#include "submission.h"

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

static void fail_lib(void)
{
    die(EXIT_FAILED, "%s", mp_error_get());
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s verify --coordinator-key FILE [--json] RELEASE_DIR...\n"
            "\n"
            "Verifies a release directory written by `mijlpaal-aggregator publish`:\n"
            "  RELEASE_DIR/roster.json, round.json, release.json, release.csv, release.html,\n"
            "  submissions/ORG.json\n"
            "against the coordinator's public key, which you must obtain yourself (not from\n"
            "the directory). Prints one line: the verdict, or the first check that failed.\n"
            "\n"
            "Given several releases, each is verified and then their privacy spend is\n"
            "recomputed from the signed round specifications: per series, the sum of the\n"
            "releases' budgets must stay within the series budget, and each round must have\n"
            "declared at least the spend of the releases published before it.\n"
            "\n"
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
    char *a, *b, *csv, *html, id[2 * MP_KEY_ID_BYTES + 1];
    size_t alen, blen, csvlen, htmllen;

    if (mp_pubkey_load(&coord, coord_path) != 0)
        die(EXIT_USAGE, "%s", mp_error_get());
    /* 1. The documents that define the round. */
    if (mp_roster_load(&roster, path_in(dir, "roster.json"), &coord) != 0 ||
        mp_spec_load(&spec, path_in(dir, "round.json"), roster) != 0)
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
    /* 6. The renderings people read say the same as the signed release. */
    if (mp_release_csv(&csv, &csvlen, rel->body, spec) != 0 ||
        mp_release_html(&html, &htmllen, rel->body, spec) != 0)
        fail_lib();
    check_rendering(dir, "release.csv", csv, csvlen);
    check_rendering(dir, "release.html", html, htmllen);

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

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"coordinator-key", required_argument, NULL, 'k'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *coord = NULL;
    int c;
    if (sodium_init() < 0)
        die(EXIT_USAGE, "libsodium failed to initialise");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "verify") != 0)
        die(EXIT_USAGE, "unknown command \"%s\" (see --help)", argv[1]);
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': coord = optarg; break;
        case 'j': json_out = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (coord == NULL)
        die(EXIT_USAGE, "missing --coordinator-key: the coordinator's public key, obtained "
                        "independently of the release");
    if (optind >= argc)
        die(EXIT_USAGE, "verify needs a RELEASE_DIR (see --help)");
    int n = argc - optind;
    if (n == 1) {
        verified v;
        return verify(argv[optind], coord, &v, 0);
    }
    return verify_series(argv + optind, n, coord);
}
