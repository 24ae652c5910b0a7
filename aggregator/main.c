/*
 * mijlpaal-aggregator - the regional coordinator's program.
 *
 * Enrols the organisations (a signed roster), opens rounds (signed specifications), imports
 * and verifies submissions into its SQLite store, closes a round by opening only the regional
 * sum, and publishes the signed release. It never sees one organisation's figures.
 *
 * Exit codes: 0 success, 1 refused (verification failed, round not closable, late or duplicate
 * submission), 2 usage or system error.
 */
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregate.h"
#include "aggrounds.h"
#include "canon.h"
#include "catalogue.h"
#include "cli.h"
#include "cert.h"
#include "version.h"
#include "cms.h"
#include "date.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "keys.h"
#include "roster.h"
#include "roundctl.h"
#include "roundlog.h"
#include "saround.h"
#include "server.h"
#include "spec.h"
#include "store.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define MAX_FILES 4096

static const char *prog = "mijlpaal-aggregator";

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

/* The one place a library failure becomes an exit code (README): a system failure (I/O, out
 * of memory, a busy or broken store; error.h) is 2 wherever it happens; a refusal is `code`,
 * 1 for a refused document, 2 where the refused input is an argument (a key file, a path). */
static int lib_code(int code)
{
    return mp_error_kind_get() == MP_ERR_SYSTEM ? EXIT_USAGE : code;
}

static void die_lib(int code)
{
    die(lib_code(code), "%s", mp_error_get());
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "Commands:\n"
            "  keygen       --org ID --secret-key FILE --public-key FILE [--kdf LEVEL]\n"
            "               [--passphrase-file FILE] [--insecure-plaintext-key]\n"
            "      Create the coordinator's keys; publish the public key to every party.\n"
            "  roster draft --region FILE --ca FILE --key FILE --member BINDING... --out FILE\n"
            "      Sign the draft roster: the region's organisations, gemeenten and the keys\n"
            "      each organisation's certificate binds (BINDING: the file it made with\n"
            "      mijlpaal-contributor certify), checked against the region's CA file.\n"
            "  roster agree --roster DRAFT --key FILE --out FILE COSIGNATURE...\n"
            "      Join every member's co-signature (mijlpaal-contributor roster sign) into the\n"
            "      agreed roster that rounds are opened on; refused while one is missing.\n"
            "  round open   --db DB --roster FILE --catalogue FILE --period START:END\n"
            "               --deadline YYYY-MM-DDTHH:MM:SSZ --rho R --series-rho R\n"
            "               --key FILE --out FILE [--series ID] [--t N]\n"
            "               [--max-orgs-per-person M] [--rounding N] [--round-id ID]\n"
            "               [--mechanism distributed_discrete_gaussian|skellam]\n"
            "               [--k-min N] [--participants ID,ID,...]\n"
            "               [--masking pairwise-v1|bonawitz-v1] [--threshold T]\n"
            "               [--colluders C]\n"
            "      Sign a round specification, store the round and write it for the\n"
            "      contributors. --rho is this release's privacy budget (zCDP), --series-rho\n"
            "      the budget of the whole series (default series id: the region); the noise\n"
            "      is calibrated so that it holds even if t participants (default 1) collude\n"
            "      or drop out, for persons counted by up to M organisations (default 2).\n"
            "      --rounding publishes multiples of N (default 1). --masking bonawitz-v1\n"
            "      lets the round survive dropouts: any T participants (default the smallest\n"
            "      safe value, max(k_min, (n+C)/2+1, n-t, C+1)) suffice to open the sum, and\n"
            "      no aggregator with C colluding participants (default C = t) can unmask one.\n"
            "      --log-dir LOG also appends the roster and round to the transparency log.\n"
            "  round import --db DB --coordinator-key FILE MESSAGE...\n"
            "      Verify and store submissions (and, with bonawitz-v1, advertise, share,\n"
            "      consistency and unmask messages); each refused one is named with its\n"
            "      reason. A bonawitz-v1 round closes itself once T unmask messages are in.\n"
            "  round advance --db DB --key FILE --out-dir DIR [--round ID]\n"
            "      bonawitz-v1: end the current phase with whoever delivered (at least T)\n"
            "      and write what the participants need next into DIR: keys.json,\n"
            "      shares-ORG.json, survivors.json or unmask-request.json.\n"
            "  round outbox --db DB --key FILE --out-dir DIR [--round ID]\n"
            "      Write the current phase's outgoing messages again.\n"
            "  round list   --db DB [--json]\n"
            "      Every round in the store: state and phase, masking, period, series,\n"
            "      deadline, what was received. Several rounds may be open at once; where a\n"
            "      command takes [--round ID], the default is the one round not finished.\n"
            "  round extend --db DB --key FILE --round ID --deadline T [--out FILE]\n"
            "               [--log-dir LOG [--log-origin NAME]]\n"
            "      Move an open round's deadline later: a signed round-extend document\n"
            "      (default file round-extend-ID.json) for the participants (--extension).\n"
            "  round cancel --db DB --key FILE --round ID --reason TEXT [--out FILE]\n"
            "               [--log-dir LOG [--log-origin NAME]]\n"
            "      Cancel a round not yet published: a signed round-cancel document (default\n"
            "      round-cancel-ID.json) naming the submissions the store holds; nothing of\n"
            "      the round is accepted afterwards. Organisations that never submitted are\n"
            "      not charged for it (mijlpaal-contributor cancel records it).\n"
            "  round status --db DB --coordinator-key FILE [--round ID] [--json]\n"
            "      Who has delivered and who is missing (per phase with bonawitz-v1).\n"
            "  round close  --db DB --coordinator-key FILE [--round ID]\n"
            "      Open the regional sum (pairwise-v1: every participant submitted;\n"
            "      bonawitz-v1: T unmask messages are in), never below k_min.\n"
            "  publish      --db DB --key FILE --out-dir DIR [--round ID] [--previous DIR]...\n"
            "               [--log-dir LOG [--log-origin NAME]]\n"
            "               [--cms-cert CERT.pem --cms-key KEY.pem [--cms-chain CHAIN.pem]]\n"
            "      Write the signed release (JSON, CSV) and the report for raadsleden\n"
            "      (report.html, report.pdf) with everything an auditor needs. --previous\n"
            "      names an earlier release directory of the same series (repeatable): the\n"
            "      report then shows every milestone over the whole series.\n"
            "      --log-dir appends its public documents to the transparency log LOG (static\n"
            "      files; created if absent) and signs a new checkpoint; --cms-* add\n"
            "      release.json.p7s (detached CMS, ECDSA P-256) and chain.pem for openssl.\n"
            "  log append   --log-dir LOG --key FILE [--log-origin NAME] RELEASE_DIR\n"
            "      Append a published release directory to the log (again: adds nothing).\n"
            "  log          --db DB [--json]\n"
            "      Verify the store's hash-linked event log and print it.\n"
            "  serve        --db DB --coordinator-key FILE --tls-cert PEM --tls-key PEM\n"
            "               --ca CA.pem [--listen 127.0.0.1:8443] [--release-dir DIR]\n"
            "               [--max-body BYTES] [--rate N] [--burst N] [--timeout S]\n"
            "      HTTPS with mutual TLS for the organisations (docs/server.md); pairwise-v1\n"
            "      submissions go through the same import as round import.\n"
            "\n"
            "Common: --passphrase-file FILE, --insecure-plaintext-key (tests only), --help.\n"
            "Exit codes: 0 ok, 1 refused, 2 usage/system error.\n",
            prog);
}

typedef struct opts {
    const char *org, *secret_key, *public_key, *kdf, *passphrase_file, *region, *key, *out, *db,
        *roster, *catalogue, *period, *deadline, *rho, *series, *series_rho, *mechanism, *round_id,
        *participants, *coordinator_key, *out_dir, *masking, *ca, *log_dir, *log_origin, *cms_cert,
        *cms_key, *cms_chain, *reason;
    const char *members[MAX_FILES], *previous[MAX_FILES];
    size_t nmembers, nprevious;
    long long k_min, t, max_orgs, rounding, threshold, colluders;
    int insecure, json;
} opts;

static long long whole_number(const char *text, const char *flag)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 0)
        die(EXIT_USAGE, "%s must be a whole number", flag);
    return v;
}

static void parse_opts(int argc, char **argv, int first, opts *o)
{
    enum {
        O_ORG = 256,
        O_SK,
        O_PK,
        O_KDF,
        O_PF,
        O_INSECURE,
        O_REGION,
        O_KEY,
        O_MEMBER,
        O_OUT,
        O_DB,
        O_ROSTER,
        O_CAT,
        O_CA,
        O_PERIOD,
        O_DEADLINE,
        O_RHO,
        O_SERIES,
        O_SERIES_RHO,
        O_T,
        O_MAXORGS,
        O_ROUNDING,
        O_MECH,
        O_ROUNDID,
        O_KMIN,
        O_PARTS,
        O_COORD,
        O_OUTDIR,
        O_ROUND,
        O_JSON,
        O_MASKING,
        O_THRESHOLD,
        O_PREVIOUS,
        O_LOGDIR,
        O_LOGORIGIN,
        O_CMSCERT,
        O_CMSKEY,
        O_CMSCHAIN,
        O_COLLUDERS,
        O_REASON,
        O_HELP
    };
    static const struct option longopts[] = {
        {"org", required_argument, NULL, O_ORG},
        {"secret-key", required_argument, NULL, O_SK},
        {"public-key", required_argument, NULL, O_PK},
        {"kdf", required_argument, NULL, O_KDF},
        {"passphrase-file", required_argument, NULL, O_PF},
        {"insecure-plaintext-key", no_argument, NULL, O_INSECURE},
        {"region", required_argument, NULL, O_REGION},
        {"key", required_argument, NULL, O_KEY},
        {"member", required_argument, NULL, O_MEMBER},
        {"out", required_argument, NULL, O_OUT},
        {"db", required_argument, NULL, O_DB},
        {"roster", required_argument, NULL, O_ROSTER},
        {"catalogue", required_argument, NULL, O_CAT},
        {"ca", required_argument, NULL, O_CA},
        {"period", required_argument, NULL, O_PERIOD},
        {"deadline", required_argument, NULL, O_DEADLINE},
        {"rho", required_argument, NULL, O_RHO},
        {"series", required_argument, NULL, O_SERIES},
        {"series-rho", required_argument, NULL, O_SERIES_RHO},
        {"t", required_argument, NULL, O_T},
        {"max-orgs-per-person", required_argument, NULL, O_MAXORGS},
        {"rounding", required_argument, NULL, O_ROUNDING},
        {"mechanism", required_argument, NULL, O_MECH},
        {"round-id", required_argument, NULL, O_ROUNDID},
        {"round", required_argument, NULL, O_ROUND},
        {"k-min", required_argument, NULL, O_KMIN},
        {"participants", required_argument, NULL, O_PARTS},
        {"coordinator-key", required_argument, NULL, O_COORD},
        {"out-dir", required_argument, NULL, O_OUTDIR},
        {"json", no_argument, NULL, O_JSON},
        {"masking", required_argument, NULL, O_MASKING},
        {"threshold", required_argument, NULL, O_THRESHOLD},
        {"previous", required_argument, NULL, O_PREVIOUS},
        {"log-dir", required_argument, NULL, O_LOGDIR},
        {"log-origin", required_argument, NULL, O_LOGORIGIN},
        {"cms-cert", required_argument, NULL, O_CMSCERT},
        {"cms-key", required_argument, NULL, O_CMSKEY},
        {"cms-chain", required_argument, NULL, O_CMSCHAIN},
        {"colluders", required_argument, NULL, O_COLLUDERS},
        {"reason", required_argument, NULL, O_REASON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    o->k_min = MP_K_MIN_FLOOR;
    o->t = 1;
    o->max_orgs = 2;
    o->rounding = 1;
    optind = first;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_ORG: o->org = optarg; break;
        case O_SK: o->secret_key = optarg; break;
        case O_PK: o->public_key = optarg; break;
        case O_KDF: o->kdf = optarg; break;
        case O_PF: o->passphrase_file = optarg; break;
        case O_INSECURE: o->insecure = 1; break;
        case O_REGION: o->region = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_MEMBER:
            if (o->nmembers == MAX_FILES)
                die(EXIT_USAGE, "too many --member keys");
            o->members[o->nmembers++] = optarg;
            break;
        case O_OUT: o->out = optarg; break;
        case O_DB: o->db = optarg; break;
        case O_ROSTER: o->roster = optarg; break;
        case O_CAT: o->catalogue = optarg; break;
        case O_CA: o->ca = optarg; break;
        case O_PERIOD: o->period = optarg; break;
        case O_DEADLINE: o->deadline = optarg; break;
        case O_RHO: o->rho = optarg; break;
        case O_SERIES: o->series = optarg; break;
        case O_SERIES_RHO: o->series_rho = optarg; break;
        case O_T: o->t = whole_number(optarg, "--t"); break;
        case O_MAXORGS: o->max_orgs = whole_number(optarg, "--max-orgs-per-person"); break;
        case O_ROUNDING: o->rounding = whole_number(optarg, "--rounding"); break;
        case O_MECH: o->mechanism = optarg; break;
        case O_ROUNDID:
        case O_ROUND: o->round_id = optarg; break;
        case O_KMIN: o->k_min = whole_number(optarg, "--k-min"); break;
        case O_PARTS: o->participants = optarg; break;
        case O_COORD: o->coordinator_key = optarg; break;
        case O_OUTDIR: o->out_dir = optarg; break;
        case O_JSON: o->json = 1; break;
        case O_MASKING: o->masking = optarg; break;
        case O_THRESHOLD: o->threshold = whole_number(optarg, "--threshold"); break;
        case O_PREVIOUS:
            if (o->nprevious == MAX_FILES)
                die(EXIT_USAGE, "too many --previous releases");
            o->previous[o->nprevious++] = optarg;
            break;
        case O_LOGDIR: o->log_dir = optarg; break;
        case O_LOGORIGIN: o->log_origin = optarg; break;
        case O_CMSCERT: o->cms_cert = optarg; break;
        case O_CMSKEY: o->cms_key = optarg; break;
        case O_CMSCHAIN: o->cms_chain = optarg; break;
        case O_COLLUDERS: o->colluders = whole_number(optarg, "--colluders"); break;
        case O_REASON: o->reason = optarg; break;
        case 'h':
        case O_HELP: mp_cli_help(stdout, usage, prog, argc, argv, first); exit(0);
        default: usage(stderr); exit(EXIT_USAGE);
        }
    }
}

static void need(const char *value, const char *flag)
{
    if (value == NULL)
        die(EXIT_USAGE, "missing %s (see --help)", flag);
}

static mp_keypair *open_key(const opts *o)
{
    mp_keypair *kp;
    need(o->key, "--key");
    if (mp_keys_open(&kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
    return kp;
}

static sqlite3 *open_db(const opts *o, int create)
{
    sqlite3 *db;
    need(o->db, "--db");
    if (mp_agg_open(&db, o->db, create) != 0)
        die_lib(EXIT_USAGE);
    return db;
}

static void trusted_key(const opts *o, mp_pubkey *pk)
{
    need(o->coordinator_key, "--coordinator-key");
    if (mp_pubkey_load(pk, o->coordinator_key) != 0)
        die_lib(EXIT_USAGE);
}

static void round_of(const opts *o, sqlite3 *db, char id[65])
{
    if (o->round_id != NULL)
        snprintf(id, 65, "%s", o->round_id);
    else if (mp_agg_default_round(db, id) != 0)
        die_lib(EXIT_REFUSED);
}

static void write_signed(const char *path, const char *type, const cJSON *body,
                         const mp_keypair *kp)
{
    char *text;
    size_t len;
    if (mp_envelope_sign(&text, &len, type, body, kp) != 0)
        die_lib(EXIT_USAGE);
    if (mp_file_exists(path))
        die(EXIT_USAGE, "%s: already exists; refusing to overwrite a signed document", path);
    if (mp_file_write_atomic(path, text, len, 0644) != 0)
        die_lib(EXIT_USAGE);
    free(text);
}

static int cmd_keygen(const opts *o)
{
    mp_pubkey pub;
    char id[2 * MP_KEY_ID_BYTES + 1];
    need(o->org, "--org");
    need(o->secret_key, "--secret-key");
    need(o->public_key, "--public-key");
    if (mp_keys_create(&pub, o->org, o->secret_key, o->public_key, o->passphrase_file, o->insecure,
                       o->kdf) != 0)
        die_lib(EXIT_USAGE);
    mp_hex_encode(id, pub.key_id, MP_KEY_ID_BYTES);
    fprintf(stderr,
            "%s: coordinator keys written (key id %s)%s\n  secret: %s\n  public: %s "
            "(give it to every contributor and auditor)\n",
            prog, id, o->insecure ? " WITHOUT ENCRYPTION (tests only)" : "", o->secret_key,
            o->public_key);
    return 0;
}

/* The draft roster: each member's key with the certificate binding it sent (checked here
 * against the region's CA, as every contributor will check it). */
static int cmd_roster(const opts *o)
{
    static mp_pubkey keys[MAX_FILES];
    static char oins[MAX_FILES][MP_OIN_LEN + 1];
    static cJSON *bindings[MAX_FILES];
    mp_keypair *kp;
    mp_roster *check;
    mp_envelope *env;
    mp_ca *ca;
    cJSON *body;
    char *text;
    size_t len;
    int64_t now;
    need(o->region, "--region");
    need(o->ca, "--ca (the region's CA trust file)");
    need(o->out, "--out");
    if (mp_ca_load(&ca, o->ca, NULL) != 0)
        die_lib(EXIT_USAGE);
    for (size_t i = 0; i < o->nmembers; i++)
        if (mp_roster_member_load(o->members[i], &keys[i], oins[i], &bindings[i]) != 0)
            die_lib(EXIT_REFUSED);
    kp = open_key(o);
    if (mp_roster_build(&body, o->region, &kp->pub, keys, o->nmembers) != 0)
        die_lib(EXIT_REFUSED);
    for (size_t i = 0; i < o->nmembers; i++) {
        if (mp_roster_bind(body, keys[i].org, oins[i], bindings[i]) != 0)
            die_lib(EXIT_REFUSED);
        cJSON_Delete(bindings[i]);
    }
    if (mp_envelope_sign(&text, &len, "roster", body, kp) != 0 ||
        mp_envelope_parse(&env, text, len, "roster") != 0 ||
        mp_roster_from_envelope(&check, env, &kp->pub) != 0 || mp_time_now(&now) != 0)
        die_lib(EXIT_USAGE);
    if (mp_roster_check_bindings(check, ca, now) != 0)
        die_lib(EXIT_REFUSED);
    mp_roster_free(check);
    mp_ca_free(ca);
    if (mp_file_exists(o->out))
        die(EXIT_USAGE, "%s: already exists; refusing to overwrite a signed document", o->out);
    if (mp_file_write_atomic(o->out, text, len, 0644) != 0)
        die_lib(EXIT_USAGE);
    fprintf(stderr,
            "%s: draft roster of %zu organisations written to %s; it takes effect when every "
            "member has co-signed it (mijlpaal-contributor roster sign) and you have joined the "
            "co-signatures with: %s roster agree\n",
            prog, o->nmembers, o->out, prog);
    free(text);
    cJSON_Delete(body);
    mp_keys_free(kp);
    return 0;
}

/* The agreed roster: the draft and one co-signature of every member. */
static int cmd_roster_agree(const opts *o, int argc, char **argv)
{
    mp_keypair *kp;
    mp_roster *draft;
    static mp_envelope *cosigs[MAX_FILES];
    cJSON *body;
    size_t n = 0;
    need(o->roster, "--roster (the draft)");
    need(o->out, "--out");
    kp = open_key(o);
    if (mp_roster_load(&draft, o->roster, &kp->pub) != 0)
        die_lib(EXIT_REFUSED);
    for (int i = optind; i < argc; i++) {
        if (n == MAX_FILES)
            die(EXIT_USAGE, "too many co-signature files");
        if (mp_envelope_load(&cosigs[n++], argv[i], "roster-cosign") != 0)
            die_lib(EXIT_REFUSED);
    }
    if (mp_roster_agree(&body, draft, cosigs, n) != 0)
        die(lib_code(EXIT_REFUSED), "%s: %s", o->roster, mp_error_get());
    write_signed(o->out, "roster-agreed", body, kp);
    fprintf(stderr, "%s: agreed roster (all %zu members co-signed) written to %s\n", prog,
            draft->norgs, o->out);
    for (size_t i = 0; i < n; i++)
        mp_envelope_free(cosigs[i]);
    cJSON_Delete(body);
    mp_roster_free(draft);
    mp_keys_free(kp);
    return 0;
}

static int cmd_round_open(const opts *o)
{
    mp_keypair *kp;
    mp_roster *roster;
    mp_catalogue *cat;
    cJSON *body;
    sqlite3 *db;
    char start[11], end[11], id[65];
    const char *parts[MP_MAX_ORGS];
    char *list = NULL;
    size_t nparts = 0;

    need(o->roster, "--roster");
    need(o->catalogue, "--catalogue");
    need(o->period, "--period");
    need(o->deadline, "--deadline");
    need(o->rho, "--rho");
    need(o->series_rho, "--series-rho");
    need(o->out, "--out");
    if (strlen(o->period) != 21 || o->period[10] != ':')
        die(EXIT_USAGE, "--period must be START:END, e.g. 2026-01-01:2026-06-30");
    memcpy(start, o->period, 10);
    start[10] = '\0';
    memcpy(end, o->period + 11, 10);
    end[10] = '\0';
    kp = open_key(o);
    if (mp_roster_load(&roster, o->roster, &kp->pub) != 0 ||
        mp_roster_require_agreed(roster) != 0 || mp_catalogue_load(&cat, o->catalogue) != 0)
        die_lib(EXIT_REFUSED);
    if (o->round_id != NULL)
        snprintf(id, sizeof id, "%s", o->round_id);
    else
        snprintf(id, sizeof id, "%s-%s-%s", roster->region_id, start, end);
    if (o->participants != NULL) {
        if ((list = strdup(o->participants)) == NULL)
            die(EXIT_USAGE, "out of memory");
        char *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (nparts == MP_MAX_ORGS)
                die(EXIT_USAGE, "too many participants");
            parts[nparts++] = t;
        }
    }
    /* A refused round leaves no trace: the store is created only once the round is valid. */
    double spent = 0;
    const char *series = o->series ? o->series : roster->region_id;
    need(o->db, "--db");
    if (mp_file_exists(o->db)) {
        db = open_db(o, 0);
        if (mp_agg_series_spent(db, series, NULL, &spent) != 0)
            die_lib(EXIT_USAGE);
        mp_store_close(db);
    }
    mp_spec_params p = {.round_id = id,
                        .period_start = start,
                        .period_end = end,
                        .deadline = o->deadline,
                        .mechanism = o->mechanism,
                        .rho = o->rho,
                        .series = series,
                        .series_rho = o->series_rho,
                        .series_spent = spent,
                        .t = o->t,
                        .max_orgs = o->max_orgs,
                        .rounding = o->rounding,
                        .k_min = o->k_min,
                        .masking = o->masking,
                        .threshold = o->threshold,
                        .colluders = o->colluders,
                        .participants = o->participants ? parts : NULL,
                        .nparticipants = nparts};
    if (mp_spec_build(&body, &p, roster, cat->json) != 0)
        die_lib(EXIT_REFUSED);
    write_signed(o->out, "round", body, kp);
    db = open_db(o, 1);
    if (mp_agg_round_create(db, o->roster, o->out, &kp->pub) != 0) {
        unlink(o->out);
        die_lib(EXIT_REFUSED);
    }
    fprintf(stderr,
            "%s: round %s opened (%s to %s, deadline %s); send %s and %s to the "
            "participants\n",
            prog, id, start, end, o->deadline, o->roster, o->out);
    if (o->log_dir != NULL) {
        uint64_t added, size;
        if (mp_roundlog_open(o->log_dir, o->log_origin, kp, o->roster, o->out, &added, &size))
            die(EXIT_USAGE, "round %s is open, but not in the log: %s", id, mp_error_get());
        fprintf(stderr, "%s: transparency log %s: %llu new entries, checkpoint of %llu signed\n",
                prog, o->log_dir, (unsigned long long)added, (unsigned long long)size);
    }
    mp_store_close(db);
    free(list);
    cJSON_Delete(body);
    mp_catalogue_free(cat);
    mp_roster_free(roster);
    mp_keys_free(kp);
    return 0;
}

/* Close a bonawitz-v1 round in its unmask phase once T unmask messages are stored. A failure
 * is reported, not fatal: the imports themselves were accepted. */
static void try_close(sqlite3 *db, const mp_pubkey *coord, const char *round_id)
{
    mp_roster *roster;
    mp_spec *spec;
    if (mp_agg_round_load(db, round_id, coord, &roster, &spec) != 0)
        return;
    if (mp_sa_can_close(db, spec)) {
        if (mp_agg_close(db, round_id, coord) != 0)
            fprintf(stderr, "%s: round %s has %lld unmask messages but cannot close: %s\n", prog,
                    round_id, spec->threshold, mp_error_get());
        else
            fprintf(stderr,
                    "%s: round %s closed: the threshold of %lld unmask messages is reached and "
                    "the regional sum is opened (publish it next)\n",
                    prog, round_id, spec->threshold);
    }
    mp_spec_free(spec);
    mp_roster_free(roster);
}

static int cmd_round_import(const opts *o, int argc, char **argv)
{
    mp_pubkey coord;
    sqlite3 *db;
    int refused = 0, n = 0, system = 0;
    char rounds[8][65];
    size_t nrounds = 0;
    trusted_key(o, &coord);
    db = open_db(o, 0);
    if (optind >= argc)
        die(EXIT_USAGE, "round import: which message files? (see --help)");
    for (int i = optind; i < argc; i++) {
        char org[MP_ORG_ID_MAX + 1] = "", round[65] = "";
        if (mp_agg_import(db, argv[i], &coord, org, round) != 0) {
            int sys = mp_error_kind_get() == MP_ERR_SYSTEM;
            fprintf(stderr, "%s: %s %s\n", prog, sys ? "could not import" : "refused",
                    mp_error_get());
            refused++;
            system |= sys;
            continue;
        }
        n++;
        fprintf(stderr, "%s: imported %s: %s for round %s\n", prog, argv[i], org, round);
        size_t k = 0;
        while (k < nrounds && strcmp(rounds[k], round) != 0)
            k++;
        if (k == nrounds && nrounds < 8)
            snprintf(rounds[nrounds++], 65, "%s", round);
    }
    /* A bonawitz-v1 round closes as soon as the threshold allows. */
    for (size_t i = 0; i < nrounds; i++)
        try_close(db, &coord, rounds[i]);
    mp_store_close(db);
    /* Exit 2 when any file could not be read (try again), else 1 when any was refused. */
    if (refused)
        die(system ? EXIT_USAGE : EXIT_REFUSED,
            "%d of %d file(s) not imported; the store holds only the %d accepted", refused,
            refused + n, n);
    return 0;
}

/* --json output: one object per line, built with cJSON so that any name is escaped. */
static void print_json_line(cJSON *j)
{
    char *text = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
    if (text == NULL)
        die(EXIT_USAGE, "out of memory");
    printf("%s\n", text);
    free(text);
    cJSON_Delete(j);
}

static void add_strings(cJSON *j, const char *key, const char *const *v, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(j, key);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/* A text column, or JSON null for SQL NULL. */
static void add_column(cJSON *j, const char *key, sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    if (v != NULL)
        cJSON_AddStringToObject(j, key, (const char *)v);
    else
        cJSON_AddNullToObject(j, key);
}

static int cmd_round_status(const opts *o)
{
    mp_pubkey coord;
    mp_roster *roster;
    mp_spec *spec;
    mp_round_status st;
    sqlite3 *db;
    char id[65];
    trusted_key(o, &coord);
    db = open_db(o, 0);
    round_of(o, db, id);
    if (mp_agg_round_load(db, id, &coord, &roster, &spec) != 0 || mp_agg_status(db, spec, &st))
        die_lib(EXIT_REFUSED);
    mp_sa_status sa = {0};
    if (spec->masking == MP_MASKING_BONAWITZ && mp_sa_status_get(db, spec, &sa) != 0)
        die_lib(EXIT_USAGE);
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "round_id", id);
        cJSON_AddStringToObject(j, "state", st.state);
        cJSON_AddStringToObject(j, "deadline", st.deadline);
        cJSON_AddNumberToObject(j, "k_min", (double)spec->k_min);
        cJSON_AddStringToObject(j, "masking", mp_spec_scheme_name(spec));
        cJSON_AddNumberToObject(j, "threshold", (double)spec->threshold);
        if (spec->masking == MP_MASKING_BONAWITZ) {
            cJSON_AddStringToObject(j, "phase", sa.phase);
            cJSON_AddNumberToObject(j, "advertised", (double)sa.advertised);
            cJSON_AddNumberToObject(j, "shared", (double)sa.shared);
            cJSON_AddNumberToObject(j, "confirmed", (double)sa.confirmed);
            cJSON_AddNumberToObject(j, "unmasked", (double)sa.unmasked);
            add_strings(j, "phase_missing", sa.missing, sa.nmissing);
        }
        add_strings(j, "submitted", st.submitted, st.nsubmitted);
        add_strings(j, "missing", st.missing, st.nmissing);
        print_json_line(j);
    } else {
        printf("round %s: %s, deadline %s, %zu of %zu submitted (k_min %lld)\n", id, st.state,
               st.deadline, st.nsubmitted, st.nparticipants, spec->k_min);
        for (size_t i = 0; i < st.nsubmitted; i++)
            printf("  submitted  %s\n", st.submitted[i]);
        for (size_t i = 0; i < st.nmissing; i++)
            printf("  missing    %s\n", st.missing[i]);
        if (spec->masking == MP_MASKING_BONAWITZ && sa.phase[0] != '\0') {
            printf("masking %s, threshold %lld: %zu advertised, %zu shared, %zu submitted, %zu "
                   "confirmed, %zu unmasked\nphase %s: %zu of %zu delivered",
                   MP_SCHEME_BONAWITZ, spec->threshold, sa.advertised, sa.shared, sa.submitted,
                   sa.confirmed, sa.unmasked, sa.phase, sa.delivered, sa.expected);
            if ((long long)sa.delivered >= spec->threshold)
                printf(mp_phase_parse(sa.phase) == MP_PHASE_UNMASK ? " (closing)\n"
                                                                   : " (enough to advance)\n");
            else
                printf(" (%lld more needed to advance)\n",
                       spec->threshold - (long long)sa.delivered);
            for (size_t i = 0; i < sa.nmissing; i++)
                printf("  missing in %-9s %s\n", sa.phase, sa.missing[i]);
        }
    }
    mp_spec_free(spec);
    mp_roster_free(roster);
    mp_store_close(db);
    return 0;
}

static int cmd_round_close(const opts *o)
{
    mp_pubkey coord;
    sqlite3 *db;
    char id[65];
    trusted_key(o, &coord);
    db = open_db(o, 0);
    round_of(o, db, id);
    if (mp_agg_close(db, id, &coord) != 0)
        die_lib(EXIT_REFUSED);
    fprintf(stderr, "%s: round %s closed; the regional sum is opened (publish it next)\n", prog,
            id);
    mp_store_close(db);
    return 0;
}

/* round advance / round outbox (bonawitz-v1). */
static int cmd_round_phase(const opts *o, int advance)
{
    mp_keypair *kp;
    mp_roster *roster;
    mp_spec *spec;
    sqlite3 *db;
    char id[65], phase[16] = "";
    size_t nfiles;
    need(o->out_dir, "--out-dir");
    db = open_db(o, 0);
    round_of(o, db, id);
    kp = open_key(o);
    if (mp_agg_round_load(db, id, &kp->pub, &roster, &spec) != 0)
        die_lib(EXIT_REFUSED);
    if (advance && mp_sa_advance(db, spec, roster, kp, phase) != 0)
        die_lib(EXIT_REFUSED);
    if (mp_sa_outbox(db, spec, roster, kp, o->out_dir, &nfiles) != 0)
        die(EXIT_USAGE, "%s%s",
            advance ? "the phase advanced, but its messages could not be "
                      "written (run round outbox): "
                    : "",
            mp_error_get());
    if (advance)
        fprintf(stderr, "%s: round %s is now in its %s phase; ", prog, id, phase);
    else
        fprintf(stderr, "%s: round %s: ", prog, id);
    fprintf(stderr, "%zu message(s) written to %s/ for the participants\n", nfiles, o->out_dir);
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "round_id", id);
        cJSON_AddStringToObject(j, "phase", phase);
        cJSON_AddNumberToObject(j, "files", (double)nfiles);
        print_json_line(j);
    }
    mp_spec_free(spec);
    mp_roster_free(roster);
    mp_keys_free(kp);
    mp_store_close(db);
    return 0;
}

/* round list: every round in the store. */
static int cmd_round_list(const opts *o)
{
    sqlite3 *db = open_db(o, 0);
    cJSON *list, *it;
    if (mp_agg_round_list(db, &list) != 0)
        die_lib(EXIT_USAGE);
    if (o->json) {
        char *text = cJSON_PrintUnformatted(list);
        if (text == NULL)
            die(EXIT_USAGE, "out of memory");
        printf("%s\n", text);
        free(text);
    } else {
        printf("%-40s %-9s %-9s %-11s %-21s %-14s %-20s %s\n", "ROUND", "STATE", "PHASE", "MASKING",
               "PERIOD", "SERIES", "DEADLINE", "RECEIVED");
        cJSON_ArrayForEach (it, list) {
#define S(k) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, k))
#define N(k) (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, k))
            char period[24], received[96];
            snprintf(period, sizeof period, "%s:%s", S("period_start"), S("period_end"));
            if (strcmp(S("masking"), MP_SCHEME_BONAWITZ) == 0)
                snprintf(received, sizeof received,
                         "%lld adv, %lld shr, %lld sub, %lld conf, %lld unm of %lld",
                         N("advertised"), N("shared"), N("submissions"), N("confirmed"),
                         N("unmasked"), N("participants"));
            else
                snprintf(received, sizeof received, "%lld of %lld submitted", N("submissions"),
                         N("participants"));
            printf("%-40s %-9s %-9s %-11s %-21s %-14s %-20s %s%s\n", S("round_id"), S("state"),
                   S("phase")[0] ? S("phase") : "-", S("masking"), period, S("series"),
                   S("deadline"), received,
                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "extended")) ? " (extended)"
                                                                                  : "");
            if (S("reason") != NULL)
                printf("  cancelled %s: %s\n", S("cancelled"), S("reason"));
#undef S
#undef N
        }
    }
    cJSON_Delete(list);
    mp_store_close(db);
    return 0;
}

/* A round management document into the transparency log (round extend / cancel --log-dir). */
static void log_control(const opts *o, sqlite3 *db, const mp_keypair *kp, const char *id,
                        const char *type, const char *doc, size_t len)
{
    mp_roster *roster;
    mp_spec *spec;
    uint64_t added, size;
    if (mp_agg_round_load(db, id, &kp->pub, &roster, &spec) != 0 ||
        mp_roundlog_control(o->log_dir, o->log_origin, kp, roster->env->text, roster->env->text_len,
                            spec->env->text, spec->env->text_len, type, doc, len, &added,
                            &size) != 0)
        die(EXIT_USAGE,
            "the %s of round %s is stored, but not in the log (run the command "
            "again to append it): %s",
            type, id, mp_error_get());
    fprintf(stderr, "%s: transparency log %s: %llu new entries, checkpoint of %llu signed\n", prog,
            o->log_dir, (unsigned long long)added, (unsigned long long)size);
    mp_spec_free(spec);
    mp_roster_free(roster);
}

/* round extend / round cancel. Running either again on a round already extended to that
 * deadline, or already cancelled, writes (and logs) the stored document again: that is how
 * an interrupted run is finished. */
static int cmd_round_control(const opts *o, int cancel)
{
    const char *type = cancel ? MP_ROUNDCTL_CANCEL_TYPE : MP_ROUNDCTL_EXTEND_TYPE;
    mp_keypair *kp;
    sqlite3 *db;
    char *doc = NULL, out[PATH_MAX];
    size_t len;
    int64_t deadline = 0;
    int again = 0;
    need(o->round_id, "--round (which round; round list shows them)");
    if (cancel)
        need(o->reason, "--reason TEXT");
    else
        need(o->deadline, "--deadline YYYY-MM-DDTHH:MM:SSZ");
    if (!cancel && mp_time_parse(o->deadline, &deadline) != 0)
        die(EXIT_USAGE, "--deadline: %s", mp_error_get());
    if (o->out != NULL)
        snprintf(out, sizeof out, "%s", o->out);
    else
        snprintf(out, sizeof out, "%s-%.64s.json", type, o->round_id);
    db = open_db(o, 0);
    kp = open_key(o);
    int have = mp_agg_round_doc(db, o->round_id, type, &doc, &len);
    if (have < 0)
        die_lib(EXIT_USAGE);
    if (have) {
        mp_envelope *env;
        const char *dl;
        if (mp_envelope_parse(&env, doc, len, type) != 0)
            die_lib(EXIT_USAGE);
        int64_t t;
        again = cancel || (mp_json_str(env->body, "deadline", &dl) == 0 &&
                           mp_time_parse(dl, &t) == 0 && t == deadline);
        mp_envelope_free(env);
        if (!again) {
            free(doc);
            doc = NULL;
        }
    }
    if (mp_file_exists(out))
        die(EXIT_USAGE, "%s: already exists; refusing to overwrite a signed document (--out)", out);
    if (!again && (cancel ? mp_agg_round_cancel(db, o->round_id, kp, o->reason, &doc, &len)
                          : mp_agg_round_extend(db, o->round_id, kp, deadline, &doc, &len)) != 0)
        die_lib(EXIT_REFUSED);
    if (mp_file_write_atomic(out, doc, len, 0644) != 0)
        die(EXIT_USAGE, "the %s is stored, but %s (run the command again to write it)", type,
            mp_error_get());
    if (o->log_dir != NULL)
        log_control(o, db, kp, o->round_id, type, doc, len);
    if (cancel)
        fprintf(stderr,
                "%s: round %s %scancelled; send %s to the participants (organisations that "
                "never submitted are not charged for it)\n",
                prog, o->round_id, again ? "was already " : "", out);
    else
        fprintf(stderr, "%s: round %s: deadline %s %s; send %s to the participants\n", prog,
                o->round_id, o->deadline, again ? "was already in force" : "in force", out);
    if (o->json)
        printf("{\"round_id\":\"%s\",\"document\":\"%s\"}\n", o->round_id, out);
    free(doc);
    mp_keys_free(kp);
    mp_store_close(db);
    return 0;
}

/* The release's public documents into the transparency log (publish --log-dir, log append). */
static void log_release(const opts *o, const mp_keypair *kp, const char *release_dir)
{
    uint64_t added, size;
    if (mp_roundlog_release(o->log_dir, o->log_origin, kp, release_dir, &added, &size) != 0)
        die(EXIT_USAGE, "%s", mp_error_get());
    fprintf(stderr, "%s: transparency log %s: %llu new entries, checkpoint of %llu signed\n", prog,
            o->log_dir, (unsigned long long)added, (unsigned long long)size);
}

static int cmd_publish(const opts *o)
{
    mp_keypair *kp;
    sqlite3 *db;
    char id[65];
    need(o->out_dir, "--out-dir");
    db = open_db(o, 0);
    round_of(o, db, id);
    kp = open_key(o);
    if ((o->cms_cert == NULL) != (o->cms_key == NULL) || (o->cms_chain && !o->cms_cert))
        die(EXIT_USAGE, "--cms-cert and --cms-key go together (--cms-chain needs them)");
    if (mp_agg_publish_series(db, id, kp, o->out_dir, o->previous, o->nprevious) != 0)
        die_lib(EXIT_REFUSED);
    if (o->cms_cert != NULL) {
        char rel[PATH_MAX], p7s[PATH_MAX], chain[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/release.json", o->out_dir);
        snprintf(p7s, sizeof p7s, "%s/release.json.p7s", o->out_dir);
        snprintf(chain, sizeof chain, "%s/chain.pem", o->out_dir);
        if (mp_cms_sign_file(rel, o->cms_cert, o->cms_key, o->cms_chain, p7s, chain) != 0)
            die(EXIT_USAGE, "the release is written, but not its CMS signature: %s",
                mp_error_get());
    }
    if (o->log_dir != NULL)
        log_release(o, kp, o->out_dir);
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "round_id", id);
        cJSON_AddStringToObject(j, "out_dir", o->out_dir);
        print_json_line(j);
    } else
        fprintf(stderr,
                "%s: release of round %s written to %s/ (report.html and report.pdf for "
                "raadsleden, release.csv for Excel, release.json signed)\n",
                prog, id, o->out_dir);
    mp_keys_free(kp);
    mp_store_close(db);
    return 0;
}

static int cmd_log_append(const opts *o, int argc, char **argv)
{
    mp_keypair *kp;
    need(o->log_dir, "--log-dir");
    if (optind + 1 != argc)
        die(EXIT_USAGE, "log append: which release directory? (see --help)");
    kp = open_key(o);
    log_release(o, kp, argv[optind]);
    mp_keys_free(kp);
    return 0;
}

static int cmd_log(const opts *o)
{
    sqlite3 *db = open_db(o, 0);
    sqlite3_stmt *st;
    size_t n;
    if (mp_agg_log_verify(db, &n) != 0)
        die_lib(EXIT_REFUSED);
    if (mp_store_prepare(db, &st,
                         "SELECT seq, at, event, round_id, detail, entry_sha256 FROM "
                         "log ORDER BY seq"))
        die_lib(EXIT_USAGE);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (o->json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "seq", (double)sqlite3_column_int64(st, 0));
            add_column(j, "at", st, 1);
            add_column(j, "event", st, 2);
            add_column(j, "round_id", st, 3);
            add_column(j, "detail", st, 4);
            add_column(j, "entry_sha256", st, 5);
            print_json_line(j);
        } else
            printf("%4lld %s %-12s %-40s %s\n", sqlite3_column_int64(st, 0),
                   sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
                   sqlite3_column_text(st, 3), sqlite3_column_text(st, 4));
    }
    sqlite3_finalize(st);
    fprintf(stderr, "%s: event log intact (%zu entries, hash chain verified)\n", prog, n);
    mp_store_close(db);
    return 0;
}

/* serve: its own options, so the service's flags stay out of the other commands. */
static int cmd_serve(int argc, char **argv)
{
    static const struct option lo[] = {{"db", required_argument, NULL, 'd'},
                                       {"coordinator-key", required_argument, NULL, 'k'},
                                       {"tls-cert", required_argument, NULL, 'c'},
                                       {"tls-key", required_argument, NULL, 'K'},
                                       {"ca", required_argument, NULL, 'a'},
                                       {"listen", required_argument, NULL, 'l'},
                                       {"release-dir", required_argument, NULL, 'r'},
                                       {"max-body", required_argument, NULL, 'm'},
                                       {"rate", required_argument, NULL, 'R'},
                                       {"burst", required_argument, NULL, 'B'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    mp_server_config c = {.host = "127.0.0.1", .port = 8443};
    const char *key = NULL, *listen = NULL;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd': c.db_path = optarg; break;
        case 'k': key = optarg; break;
        case 'c': c.tls_cert = optarg; break;
        case 'K': c.tls_key = optarg; break;
        case 'a': c.ca_file = optarg; break;
        case 'l': listen = optarg; break;
        case 'r': c.release_dir = optarg; break;
        case 'm': c.max_body = (size_t)whole_number(optarg, "--max-body"); break;
        case 'R': c.rate = atof(optarg); break;
        case 'B': c.burst = atof(optarg); break;
        case 't': c.timeout = (int)whole_number(optarg, "--timeout"); break;
        case 'h': mp_cli_help(stdout, usage, prog, argc, argv, 2); exit(0);
        default: usage(stderr); exit(EXIT_USAGE);
        }
    }
    need(c.db_path, "--db");
    need(key, "--coordinator-key");
    need(c.tls_cert, "--tls-cert");
    need(c.tls_key, "--tls-key");
    need(c.ca_file, "--ca");
    static char host[64];
    if (listen != NULL) {
        const char *colon = strrchr(listen, ':');
        long long port = colon ? whole_number(colon + 1, "--listen port") : 0;
        if (colon == NULL || port < 1 || port > 65535 || colon - listen >= (long)sizeof host)
            die(EXIT_USAGE, "--listen takes ADDRESS:PORT, e.g. 127.0.0.1:8443");
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        c.host = host;
        c.port = (unsigned short)port;
    }
    if (mp_pubkey_load(&c.coordinator, key) != 0 || mp_server_run(&c) != 0)
        die_lib(EXIT_USAGE);
    return 0;
}

/* Arguments left over after the options of a command that takes none are a mistake (a
 * misspelt option value, a missing "--"), never silently ignored. */
static void no_stray(int argc, char **argv)
{
    if (optind < argc)
        die(EXIT_USAGE, "unexpected argument \"%s\" (see --help)", argv[optind]);
}

int main(int argc, char **argv)
{
    opts o;
    const char *cmd = argc > 1 ? argv[1] : NULL;
    const char *sub = argc > 2 ? argv[2] : NULL;
    if (sodium_init() < 0)
        die(EXIT_USAGE, "libsodium failed to initialise");
    if (cmd == NULL || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        usage(cmd ? stdout : stderr);
        return cmd ? 0 : EXIT_USAGE;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        mp_version_print(prog);
        return 0;
    }
    if (strcmp(cmd, "round") == 0) {
        if (sub == NULL || sub[0] == '-') {
            usage(sub ? stdout : stderr);
            return sub ? 0 : EXIT_USAGE;
        }
        parse_opts(argc, argv, 3, &o);
        if (strcmp(sub, "import") != 0)
            no_stray(argc, argv);
        if (strcmp(sub, "open") == 0)
            return cmd_round_open(&o);
        if (strcmp(sub, "import") == 0)
            return cmd_round_import(&o, argc, argv);
        if (strcmp(sub, "status") == 0)
            return cmd_round_status(&o);
        if (strcmp(sub, "close") == 0)
            return cmd_round_close(&o);
        if (strcmp(sub, "advance") == 0)
            return cmd_round_phase(&o, 1);
        if (strcmp(sub, "outbox") == 0)
            return cmd_round_phase(&o, 0);
        if (strcmp(sub, "list") == 0)
            return cmd_round_list(&o);
        if (strcmp(sub, "extend") == 0)
            return cmd_round_control(&o, 0);
        if (strcmp(sub, "cancel") == 0)
            return cmd_round_control(&o, 1);
        die(EXIT_USAGE, "unknown command \"round %s\" (see --help)", sub);
    }
    if (strcmp(cmd, "roster") == 0 && sub != NULL && sub[0] != '-') {
        parse_opts(argc, argv, 3, &o);
        if (strcmp(sub, "draft") == 0)
            return cmd_roster(&o);
        if (strcmp(sub, "agree") == 0)
            return cmd_roster_agree(&o, argc, argv);
        die(EXIT_USAGE, "unknown command \"roster %s\" (see --help)", sub);
    }
    if (strcmp(cmd, "log") == 0 && sub != NULL && strcmp(sub, "append") == 0) {
        parse_opts(argc, argv, 3, &o);
        return cmd_log_append(&o, argc, argv);
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv);
    parse_opts(argc, argv, 2, &o);
    no_stray(argc, argv);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(&o);
    if (strcmp(cmd, "roster") == 0)
        return cmd_roster(&o);
    if (strcmp(cmd, "publish") == 0)
        return cmd_publish(&o);
    if (strcmp(cmd, "log") == 0)
        return cmd_log(&o);
    die(EXIT_USAGE, "unknown command \"%s\" (see --help)", cmd);
}
