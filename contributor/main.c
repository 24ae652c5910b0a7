/*
 * mijlpaal-contributor - the data officer's program.
 *
 * Turns an organisation's export into one signed, masked submission for a round: validate,
 * pseudonymise, count distinct persons, add a share of noise, mask, sign, write. Only the
 * submission leaves the organisation; the ledger keeps what was sent, never a BSN or a figure.
 *
 * Exit codes: 0 success, 1 refused (invalid input, failed verification, already submitted,
 * deadline passed), 2 usage or system error.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canon.h"
#include "cert.h"
#include "cli.h"
#include "version.h"
#include "client.h"
#include "catalogue.h"
#include "date.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "guard.h"
#include "ingest.h"
#include "keys.h"
#include "ledger.h"
#include "mask.h"
#include "noise.h"
#include "note.h"
#include "tlog_dir.h"
#include "policy.h"
#include "privacy.h"
#include "roster.h"
#include "roundctl.h"
#include "secagg.h"
#include "skellam.h"
#include "spec.h"
#include "store.h"
#include "submission.h"
#include "witness.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

static const char *prog = "mijlpaal-contributor";

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
            "  keygen  --org ID --secret-key FILE --public-key FILE\n"
            "          [--kdf interactive|moderate|sensitive] [--passphrase-file FILE]\n"
            "          [--insecure-plaintext-key]\n"
            "      Create the organisation's keys.\n"
            "  certify --key FILE --cert CERT.pem --cert-key KEY.pem [--chain FILE]\n"
            "          [--cert-passphrase-file FILE] --out BINDING\n"
            "      Let the organisation's X.509 certificate (PKIoverheid, with its OIN) vouch\n"
            "      for its keys. Send the binding file to the coordinator.\n"
            "  policy init --out FILE --org ID --region ID --ca FILE [--crl FILE]\n"
            "          --member ID=OIN... --min-participants N --min-t T\n"
            "          --max-rho-per-round R [--max-rho-per-period R] --series-budget ID=R...\n"
            "      Write this organisation's policy, once: the region's members by OIN (from\n"
            "      the region's agreement, not from the coordinator) and the limits of every\n"
            "      round it takes part in. policy show [--policy FILE] [--json] prints it.\n"
            "  roster sign --roster DRAFT --coordinator-key FILE --key FILE --ledger DB\n"
            "          --out FILE\n"
            "      Check the coordinator's draft roster (every certificate, the members against\n"
            "      the policy) and co-sign it. Rounds run only on a roster all members signed.\n"
            "  witness --log-dir LOG --coordinator-key FILE --key FILE --ledger DB\n"
            "      Cosign the region's transparency log after checking that it extends the\n"
            "      checkpoint this organisation cosigned last (a fork is refused). submit and\n"
            "      advertise do the same first when given --log-dir LOG.\n"
            "  check   --input CSV --roster FILE --round FILE --coordinator-key FILE\n"
            "          [--mapping FILE] [--ledger DB] [--strict] [--json] [--org ID]\n"
            "          [--report FILE] [--accept-exclusions] [--accept-foreign-gemeenten]\n"
            "          [--accept-stale-export]\n"
            "      Validate an export against a round and report every excluded row by line\n"
            "      number and reason; with --report FILE every excluded row with its column\n"
            "      and value (never a BSN). Nothing else is written.\n"
            "  submit  --input CSV --roster FILE --round FILE --coordinator-key FILE\n"
            "          --key FILE --ledger DB --out FILE [--shares FILE] [--mapping FILE]\n"
            "          [--strict] [--json] [--passphrase-file FILE] [--insecure-plaintext-key]\n"
            "          [--report FILE] [--accept-exclusions] [--accept-foreign-gemeenten]\n"
            "          [--accept-stale-export]\n"
            "      Count, add noise, mask, sign and write the submission for the round.\n"
            "      Refused (unless accepted with the flag) when more than 20%% of the rows are\n"
            "      excluded, when most rows are outside the organisation's own gemeenten, or\n"
            "      when the export ends more than 31 days before the period does.\n"
            "      A bonawitz-v1 round needs --shares: the shares-ORG.json the coordinator sent\n"
            "      after the share phase.\n"

            "  run     --server https://HOST:PORT --round-id ID --input CSV --key FILE\n"
            "          --coordinator-key FILE --ledger DB --tls-cert CERT.pem --tls-key KEY.pem\n"
            "          --ca CA.pem [--mapping FILE] [--policy FILE] [--yes]\n"
            "      The same as submit against the aggregator's HTTPS service (mutual TLS with\n"
            "      this organisation's certificate): fetch and check roster and round, confirm\n"
            "      on the terminal (or --yes), send; retries with backoff, and a submission\n"
            "      already in the ledger is sent again instead of a new one (pairwise-v1).\n"
            "\n"
            "  Rounds with masking bonawitz-v1 (they survive dropouts) have more phases; each\n"
            "  takes --roster FILE --round FILE --coordinator-key FILE --key FILE --ledger DB:\n"
            "  advertise --out FILE\n"
            "      Phase 1: this round's box key and mask key, signed (no shares yet).\n"
            "  share     --keys FILE --out FILE\n"
            "      Phase 2: check the coordinator's keys.json (who advertised) and box this\n"
            "      organisation's key shares to each of them.\n"
            "  confirm   --survivors FILE --out FILE\n"
            "      Phase 4: check and sign the coordinator's list of who submitted. One list\n"
            "      per round: a different second list is refused.\n"
            "  unmask    --request FILE --out FILE\n"
            "      Phase 5: reveal the shares that remove the masks of the survivors and the\n"
            "      dropped, for the list confirmed and nothing else.\n"
            "  status    --ledger DB [--round ID] [--json]\n"
            "      The phase each round has reached and what to do next.\n"
            "  forget    --ledger DB --round ID\n"
            "      Wipe the round's secrets from the ledger (done by itself after unmask).\n"
            "  abandon   --ledger DB --round ID\n"
            "      Give the round up: every later message of it is refused. For a ledger\n"
            "      restored from an earlier copy, or lost, in the middle of a round.\n"
            "  show    MESSAGE [--roster FILE --round FILE --coordinator-key FILE] [--json]\n"
            "      Print exactly what a submission (or advertise, confirm, unmask) file\n"
            "      reveals.\n"
            "  ledger  --ledger DB [--json]\n"
            "      List what this organisation submitted.\n"
            "  cancel  --cancellation FILE --roster FILE --round FILE --coordinator-key FILE\n"
            "          --key FILE --ledger DB\n"
            "      Record the coordinator's signed cancellation of a round: nothing more of it\n"
            "      is sent. A round this organisation never submitted to is not charged to its\n"
            "      budget; once its submission left, the round stays charged.\n"
            "  budget  --ledger DB --series ID [--rho R] [--json]\n"
            "      Show what this organisation spent of a series' privacy budget; with --rho\n"
            "      set its own cap (submit refuses rounds that would exceed it).\n"
            "  resend  --ledger DB --round ID --out FILE\n"
            "      Write a stored submission again (a new one with fresh noise is refused).\n"
            "\n"
            "Every command that reads a round takes --extension FILE: the coordinator's\n"
            "signed round-extend document, whose later deadline then applies.\n"
            "Every command that reads a roster takes --policy FILE (default: policy.json in the\n"
            "directory of --key) and refuses a roster or round outside it, with the reason;\n"
            "before taking part it prints what the round agrees to.\n"
            "The passphrase of an encrypted key comes from --passphrase-file, the environment\n"
            "(MIJLPAAL_PASSPHRASE_FILE, MIJLPAAL_PASSPHRASE) or a prompt on the terminal.\n"
            "Exit codes: 0 ok, 1 refused (bad input, verification failed), 2 usage/system error.\n",
            prog);
}

#define MAX_LIST 1000

typedef struct opts {
    const char *org, *secret_key, *public_key, *kdf, *passphrase_file, *input, *roster, *round,
        *coordinator_key, *mapping, *key, *ledger, *out, *round_id, *series, *rho, *keys,
        *survivors, *request, *shares, *extension, *cancellation;
    int insecure, strict, json;
    /* run: the aggregator's HTTPS service */
    const char *server, *tls_cert, *tls_key;
    int yes, ask;
    /* certificates and the organisation's policy */
    const char *policy, *cert, *cert_key, *chain, *cert_passphrase_file, *region, *ca, *crl,
        *min_participants, *min_t, *max_rho_round, *max_rho_period, *log_dir;
    size_t nmembers, nbudgets;
    const char *members[MAX_LIST], *budgets[MAX_LIST];
    const char *report;         /* --report FILE: every excluded row (guard.h) */
    int accept[MP_GUARD_COUNT]; /* --accept-exclusions, -foreign-gemeenten, -stale-export */
} opts;

static void parse_opts(int argc, char **argv, opts *o, int first)
{
    enum {
        O_ORG = 256,
        O_SK,
        O_PK,
        O_KDF,
        O_PF,
        O_INSECURE,
        O_INPUT,
        O_ROSTER,
        O_ROUND,
        O_COORD,
        O_MAPPING,
        O_KEY,
        O_LEDGER,
        O_OUT,
        O_STRICT,
        O_JSON,
        O_ROUNDID,
        O_SERIES,
        O_RHO,
        O_KEYS,
        O_SURVIVORS,
        O_REQUEST,
        O_POLICY,
        O_CERT,
        O_CERT_KEY,
        O_CHAIN,
        O_CERT_PF,
        O_REGION,
        O_CA,
        O_CRL,
        O_MEMBER,
        O_SERIES_BUDGET,
        O_MIN_PARTS,
        O_MIN_T,
        O_MAX_RHO_ROUND,
        O_MAX_RHO_PERIOD,
        O_LOG_DIR,
        O_SHARES,
        O_EXTENSION,
        O_CANCELLATION,
        O_SERVER,
        O_TLS_CERT,
        O_TLS_KEY,
        O_YES,
        O_HELP,
        O_REPORT,
        O_ACCEPT /* + enum mp_guard */
    };
    static const struct option longopts[] = {
        {"org", required_argument, NULL, O_ORG},
        {"secret-key", required_argument, NULL, O_SK},
        {"public-key", required_argument, NULL, O_PK},
        {"kdf", required_argument, NULL, O_KDF},
        {"passphrase-file", required_argument, NULL, O_PF},
        {"insecure-plaintext-key", no_argument, NULL, O_INSECURE},
        {"input", required_argument, NULL, O_INPUT},
        {"roster", required_argument, NULL, O_ROSTER},
        {"round", required_argument, NULL, O_ROUND},
        {"coordinator-key", required_argument, NULL, O_COORD},
        {"mapping", required_argument, NULL, O_MAPPING},
        {"key", required_argument, NULL, O_KEY},
        {"ledger", required_argument, NULL, O_LEDGER},
        {"out", required_argument, NULL, O_OUT},
        {"strict", no_argument, NULL, O_STRICT},
        {"json", no_argument, NULL, O_JSON},
        {"round-id", required_argument, NULL, O_ROUNDID},
        {"series", required_argument, NULL, O_SERIES},
        {"rho", required_argument, NULL, O_RHO},
        {"keys", required_argument, NULL, O_KEYS},
        {"survivors", required_argument, NULL, O_SURVIVORS},
        {"request", required_argument, NULL, O_REQUEST},
        {"policy", required_argument, NULL, O_POLICY},
        {"cert", required_argument, NULL, O_CERT},
        {"cert-key", required_argument, NULL, O_CERT_KEY},
        {"chain", required_argument, NULL, O_CHAIN},
        {"cert-passphrase-file", required_argument, NULL, O_CERT_PF},
        {"region", required_argument, NULL, O_REGION},
        {"ca", required_argument, NULL, O_CA},
        {"crl", required_argument, NULL, O_CRL},
        {"member", required_argument, NULL, O_MEMBER},
        {"series-budget", required_argument, NULL, O_SERIES_BUDGET},
        {"min-participants", required_argument, NULL, O_MIN_PARTS},
        {"min-t", required_argument, NULL, O_MIN_T},
        {"max-rho-per-round", required_argument, NULL, O_MAX_RHO_ROUND},
        {"max-rho-per-period", required_argument, NULL, O_MAX_RHO_PERIOD},
        {"log-dir", required_argument, NULL, O_LOG_DIR},
        {"shares", required_argument, NULL, O_SHARES},
        {"extension", required_argument, NULL, O_EXTENSION},
        {"cancellation", required_argument, NULL, O_CANCELLATION},
        {"server", required_argument, NULL, O_SERVER},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"yes", no_argument, NULL, O_YES},
        {"help", no_argument, NULL, O_HELP},
        {"report", required_argument, NULL, O_REPORT},
        {"accept-exclusions", no_argument, NULL, O_ACCEPT + MP_GUARD_EXCLUSIONS},
        {"accept-foreign-gemeenten", no_argument, NULL, O_ACCEPT + MP_GUARD_FOREIGN},
        {"accept-stale-export", no_argument, NULL, O_ACCEPT + MP_GUARD_STALE},
        {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    optind = first;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_ORG: o->org = optarg; break;
        case O_SK: o->secret_key = optarg; break;
        case O_PK: o->public_key = optarg; break;
        case O_KDF: o->kdf = optarg; break;
        case O_PF: o->passphrase_file = optarg; break;
        case O_INSECURE: o->insecure = 1; break;
        case O_INPUT: o->input = optarg; break;
        case O_ROSTER: o->roster = optarg; break;
        case O_ROUND: o->round = optarg; break;
        case O_COORD: o->coordinator_key = optarg; break;
        case O_MAPPING: o->mapping = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_LEDGER: o->ledger = optarg; break;
        case O_OUT: o->out = optarg; break;
        case O_STRICT: o->strict = 1; break;
        case O_JSON: o->json = 1; break;
        case O_ROUNDID: o->round_id = optarg; break;
        case O_SERIES: o->series = optarg; break;
        case O_RHO: o->rho = optarg; break;
        case O_KEYS: o->keys = optarg; break;
        case O_SURVIVORS: o->survivors = optarg; break;
        case O_REQUEST: o->request = optarg; break;
        case O_POLICY: o->policy = optarg; break;
        case O_CERT: o->cert = optarg; break;
        case O_CERT_KEY: o->cert_key = optarg; break;
        case O_CHAIN: o->chain = optarg; break;
        case O_CERT_PF: o->cert_passphrase_file = optarg; break;
        case O_REGION: o->region = optarg; break;
        case O_CA: o->ca = optarg; break;
        case O_CRL: o->crl = optarg; break;
        case O_MEMBER:
            if (o->nmembers == MAX_LIST)
                die(EXIT_USAGE, "too many --member options");
            o->members[o->nmembers++] = optarg;
            break;
        case O_SERIES_BUDGET:
            if (o->nbudgets == MAX_LIST)
                die(EXIT_USAGE, "too many --series-budget options");
            o->budgets[o->nbudgets++] = optarg;
            break;
        case O_MIN_PARTS: o->min_participants = optarg; break;
        case O_MIN_T: o->min_t = optarg; break;
        case O_MAX_RHO_ROUND: o->max_rho_round = optarg; break;
        case O_MAX_RHO_PERIOD: o->max_rho_period = optarg; break;
        case O_LOG_DIR: o->log_dir = optarg; break;
        case O_REPORT: o->report = optarg; break;
        case O_ACCEPT + MP_GUARD_EXCLUSIONS:
        case O_ACCEPT + MP_GUARD_FOREIGN:
        case O_ACCEPT + MP_GUARD_STALE: o->accept[c - O_ACCEPT] = 1; break;
        case O_SHARES: o->shares = optarg; break;
        case O_EXTENSION: o->extension = optarg; break;
        case O_CANCELLATION: o->cancellation = optarg; break;
        case O_SERVER: o->server = optarg; break;
        case O_TLS_CERT: o->tls_cert = optarg; break;
        case O_TLS_KEY: o->tls_key = optarg; break;
        case O_YES: o->yes = 1; break;
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
            "%s: keys for %s written (key id %s)%s\n  secret: %s (mode 0600, keep it "
            "here)\n  public: %s (send it to the coordinator)\n",
            prog, o->org, id, o->insecure ? " WITHOUT ENCRYPTION (tests only)" : "", o->secret_key,
            o->public_key);
    return 0;
}

/* The organisation's policy: --policy, or policy.json next to the keystore. */
static mp_policy *load_policy(const opts *o)
{
    mp_policy *pol;
    char path[4096];
    if (o->policy != NULL) {
        snprintf(path, sizeof path, "%s", o->policy);
    } else if (o->key != NULL) {
        const char *slash = strrchr(o->key, '/');
        int dirlen = slash ? (int)(slash - o->key) : 1;
        snprintf(path, sizeof path, "%.*s/policy.json", dirlen, slash ? o->key : ".");
    } else {
        die(EXIT_USAGE,
            "missing --policy: this organisation's policy file (write one with: %s "
            "policy init --help)",
            prog);
    }
    if (!mp_file_exists(path))
        die(EXIT_USAGE,
            "%s: no policy file; every organisation decides for itself what it takes "
            "part in: write one with %s policy init (see --help)",
            path, prog);
    if (mp_policy_load(&pol, path) != 0)
        die_lib(EXIT_USAGE);
    return pol;
}

/* The region's CA from the policy, and a roster that every member agreed to, whose keys the
 * CA binds to the organisations this policy expects. */
static mp_roster *load_roster(const opts *o, const mp_policy *pol, const mp_pubkey *coord,
                              int need_agreed)
{
    mp_roster *roster;
    mp_ca *ca;
    int64_t now;
    if (mp_ca_load(&ca, pol->ca_file, pol->crl_file) != 0 || mp_time_now(&now) != 0)
        die_lib(EXIT_USAGE);
    if (mp_roster_load(&roster, o->roster, coord) != 0 ||
        (need_agreed && mp_roster_require_agreed(roster) != 0) ||
        mp_roster_check_bindings(roster, ca, now) != 0 || mp_policy_check_roster(pol, roster) != 0)
        die(lib_code(EXIT_REFUSED), "%s: refused: %s", o->roster, mp_error_get());
    mp_ca_free(ca);
    return roster;
}

/* Trusted coordinator key, verified roster and verified round; the policy when asked for. */
static void load_round(const opts *o, mp_pubkey *coord, mp_roster **roster, mp_spec **spec,
                       mp_policy **policy)
{
    need(o->roster, "--roster");
    need(o->round, "--round");
    need(o->coordinator_key, "--coordinator-key");
    mp_policy *pol = load_policy(o);
    if (mp_pubkey_load(coord, o->coordinator_key) != 0)
        die_lib(EXIT_USAGE);
    *roster = load_roster(o, pol, coord, 1);
    if (mp_spec_load(spec, o->round, *roster))
        die_lib(EXIT_REFUSED);
    /* A signed extension of this very round moves its deadline later (roundctl.h). */
    if (o->extension != NULL) {
        mp_envelope *ext;
        int64_t previous, deadline;
        if (mp_envelope_load(&ext, o->extension, MP_ROUNDCTL_EXTEND_TYPE) != 0 ||
            mp_roundctl_extend_check(ext, *spec, coord, &previous, &deadline) != 0)
            die(EXIT_REFUSED, "%s: refused: %s", o->extension, mp_error_get());
        mp_envelope_free(ext);
        (*spec)->deadline = deadline;
    }
    if (policy != NULL)
        *policy = pol;
    else
        mp_policy_free(pol);
}

/* The policy belongs to the organisation whose key is used. */
static void policy_owner(const mp_policy *pol, const mp_keypair *kp)
{
    if (strcmp(pol->org, kp->pub.org) != 0)
        die(EXIT_USAGE,
            "the policy is organisation %s's, the key %s's: use this organisation's "
            "own policy",
            pol->org, kp->pub.org);
}

/* The organisation's own record of the round's series, from its ledger (none: nothing spent). */
static void policy_usage(sqlite3 *db, const mp_spec *s, mp_policy_usage *u, char seen[32])
{
    char start[11], end[11];
    memset(u, 0, sizeof *u);
    if (db == NULL)
        return;
    mp_date_format(start, s->period_start);
    mp_date_format(end, s->period_end);
    int found = mp_ledger_series_seen(db, s->privacy.series, seen);
    if (found < 0 || mp_ledger_spent(db, s->privacy.series, &u->series_spent) != 0 ||
        mp_ledger_period_spent(db, s->privacy.series, start, end, &u->period_spent) != 0)
        die_lib(EXIT_USAGE);
    u->series_rho_seen = found ? seen : NULL;
}

/* Refuse a round outside the policy; otherwise say what taking part agrees to (stderr), and
 * return the same as JSON. */
static cJSON *agree_to_round(const mp_policy *pol, const mp_roster *r, const mp_spec *s,
                             const mp_policy_usage *u)
{
    cJSON *a;
    if (mp_policy_check_round(pol, s, u) != 0)
        die(lib_code(EXIT_REFUSED), "round %s refused: %s", s->round_id, mp_error_get());
    if (mp_policy_agreement(&a, pol, r, s, u) != 0)
        die_lib(EXIT_USAGE);
    char start[11], end[11];
    mp_date_format(start, s->period_start);
    mp_date_format(end, s->period_end);
    fprintf(stderr, "%s: taking part in round %s means agreeing to:\n", prog, s->round_id);
    fprintf(stderr, "  region        %s (%s)\n  period        %s to %s\n", r->region_name,
            r->region_id, start, end);
    fprintf(stderr, "  participants  %zu:\n", s->nparticipants);
    for (size_t i = 0; i < s->nparticipants; i++) {
        const mp_org *o = mp_roster_org(r, s->participants[i]);
        fprintf(stderr, "                  %-16s %s (certificate: %s, OIN %s)\n", o->id, o->name,
                o->cert_org, o->oin ? o->oin : "-");
    }
    if (s->masking == MP_MASKING_BONAWITZ)
        fprintf(
            stderr,
            "  masking       %s: any %lld of the %zu can open the sum; no coordinator with %lld "
            "colluding participants can unmask one organisation\n",
            mp_spec_scheme_name(s), s->threshold, s->nparticipants, s->colluders);
    else
        fprintf(stderr, "  masking       %s: all %zu are needed to open the sum\n",
                mp_spec_scheme_name(s), s->nparticipants);
    const mp_policy_series *ser = mp_policy_series_get(pol, s->privacy.series);
    fprintf(stderr,
            "  noise         covers t = %lld colluding or missing participants\n"
            "  privacy       rho %s this round (epsilon %s at delta %s)\n"
            "  series        %s: spent rho %.6g before, %.6g left after of this organisation's "
            "budget %s\n",
            s->privacy.t, s->privacy.rho_text, s->privacy.epsilon_text, MP_PRIVACY_DELTA_TEXT,
            s->privacy.series, u->series_spent, ser->budget - u->series_spent - s->privacy.rho,
            ser->budget_text);
    return a;
}

/* The ingest summary: plain text on stderr, or (with --json) a JSON object for the caller to
 * print on stdout. Line numbers and reason codes only, never a value from the file. */
static cJSON *print_report(const opts *o, const mp_ingest_report *r)
{
    if (o->json) {
        cJSON *j = cJSON_CreateObject(), *reasons;
        cJSON_AddStringToObject(j, "input", o->input);
        cJSON_AddNumberToObject(j, "records", (double)r->records);
        cJSON_AddNumberToObject(j, "accepted", (double)r->accepted);
        cJSON_AddNumberToObject(j, "excluded", (double)r->excluded);
        reasons = cJSON_AddObjectToObject(j, "excluded_by_reason");
        for (int i = 0; i < MP_REJ_COUNT; i++) {
            if (r->per_reason[i] == 0)
                continue;
            cJSON *x = cJSON_AddObjectToObject(reasons, mp_reject_code(i)), *lines;
            cJSON_AddNumberToObject(x, "count", (double)r->per_reason[i]);
            lines = cJSON_AddArrayToObject(x, "first_lines");
            for (unsigned long k = 0; k < r->per_reason[i] && k < MP_INGEST_LINES_KEPT; k++)
                cJSON_AddItemToArray(lines, cJSON_CreateNumber((double)r->lines[i][k]));
        }
        return j;
    }
    fprintf(stderr, "%s: %s: %lu rows read (separator '%c'%s%s): %lu accepted, %lu excluded\n",
            prog, o->input, r->records, r->separator ? r->separator : '?',
            r->had_bom ? ", UTF-8 BOM" : "", r->transcoded ? ", some rows Windows-1252" : "",
            r->accepted, r->excluded);
    for (int i = 0; i < MP_REJ_COUNT; i++) {
        if (r->per_reason[i] == 0)
            continue;
        fprintf(stderr, "  %-28s %6lu  (%s) lines", mp_reject_code(i), r->per_reason[i],
                mp_reject_description(i));
        for (unsigned long k = 0; k < r->per_reason[i] && k < MP_INGEST_LINES_KEPT; k++)
            fprintf(stderr, "%s%lu", k ? "," : " ", r->lines[i][k]);
        fprintf(stderr, "%s\n", r->per_reason[i] > MP_INGEST_LINES_KEPT ? ",..." : "");
    }
    if (r->ignored_columns[0])
        fprintf(stderr, "  columns not used: %s\n", r->ignored_columns);
    return NULL;
}

static void print_json(cJSON *j)
{
    char *s = cJSON_Print(j);
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

/* --json lists: one object per line, built with cJSON so that any name is escaped. */
static void print_json_line(cJSON *j)
{
    char *text = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
    if (text == NULL)
        die(EXIT_USAGE, "out of memory");
    printf("%s\n", text);
    free(text);
    cJSON_Delete(j);
}

/* Progress on stderr, only for a person watching a terminal. */
static void show_progress(unsigned long records, void *arg)
{
    fprintf(stderr, "\r%s: %s: %lu rows read...", prog, (const char *)arg, records);
    fflush(stderr);
}

/* The summary's additions (persons per milestone, the mapping check, the guards): on stderr,
 * or into the JSON object. Persons per milestone are this organisation's own unnoised figures:
 * they are shown to the data officer here and written nowhere else (with --json only by
 * check, whose output the data officer directs). */
static void print_summary(const opts *o, cJSON *j, const mp_ingest_report *r,
                          const mp_catalogue *cat, const int64_t *counts, int show_counts,
                          const mp_guard_params *g)
{
    cJSON *x = NULL;
    if (j != NULL) {
        cJSON_AddNumberToObject(j, "persons", (double)r->persons);
        x = show_counts ? cJSON_AddObjectToObject(j, "persons_per_metric") : NULL;
    } else if (show_counts) {
        fprintf(stderr,
                "  %lu distinct persons; per milestone (this organisation, before noise; "
                "shown here only):\n",
                r->persons);
    }
    for (size_t k = 0; show_counts && k < cat->nmetrics; k++) {
        const mp_metric *m = &cat->metrics[k];
        if (x != NULL)
            cJSON_AddNumberToObject(x, m->id, (double)counts[m->offset]);
        else if (j == NULL)
            fprintf(stderr, "    %-28s %8lld\n", m->id, (long long)counts[m->offset]);
    }
    if (o->mapping != NULL) { /* the mapping check: which source column gave each field */
        cJSON *mj = j != NULL ? cJSON_AddObjectToObject(j, "mapping") : NULL;
        for (int f = 0; f < MP_F_COUNT; f++) {
            const mp_field_sources *fs = &r->sources[f];
            cJSON *fj = mj != NULL ? cJSON_AddObjectToObject(mj, mp_field_name(f)) : NULL;
            if (j == NULL)
                fprintf(stderr, "  mapping %-14s", mp_field_name(f));
            for (size_t k = 0; k < fs->nsources; k++) {
                if (fj != NULL)
                    cJSON_AddNumberToObject(fj, fs->column[k], (double)fs->rows[k]);
                else
                    fprintf(stderr, " %lu from \"%s\";", fs->rows[k], fs->column[k]);
            }
            if (fj != NULL)
                cJSON_AddNumberToObject(fj, "(empty)", (double)fs->empty);
            else
                fprintf(stderr, " %lu empty%s\n", fs->empty, fs->nsources ? "" : " (no column)");
        }
        cJSON *ijs =
            mj != NULL && r->nindicators ? cJSON_AddObjectToObject(mj, "indicators") : NULL;
        for (size_t i = 0; i < r->nindicators; i++) {
            const mp_indicator_stats *is = &r->indicators[i];
            if (ijs != NULL) {
                cJSON *ij = cJSON_AddObjectToObject(ijs, is->column);
                cJSON_AddStringToObject(ij, "indicator", is->target);
                cJSON_AddNumberToObject(ij, "yes", (double)is->yes);
                cJSON_AddNumberToObject(ij, "no", (double)is->no);
            } else {
                fprintf(stderr, "  indicator \"%s\" -> %s: %lu yes, %lu no\n", is->column,
                        is->target, is->yes, is->no);
            }
        }
    }
    cJSON *gj = j != NULL ? cJSON_AddObjectToObject(j, "guards") : NULL;
    for (int i = 0; i < MP_GUARD_COUNT; i++) {
        int bad = mp_guard_fails(r, g, i);
        const char *st = !bad                             ? "ok"
                         : g->accept[i]                   ? "accepted"
                         : r->records < MP_GUARD_MIN_ROWS ? "warning (too few rows to refuse)"
                                                          : "refused";
        if (gj != NULL)
            cJSON_AddStringToObject(gj, mp_guard_flag(i) + 9, st); /* "exclusions" */
        else if (bad)
            fprintf(stderr, "  warning: guard %s: %s\n", mp_guard_flag(i) + 9, st);
    }
}

/* Ingest into counts (ncells); exits on a fatal file problem, a --strict refusal or a guard
 * (guard.h). `own` is the organisation (for the foreign-gemeenten guard), NULL to skip it. */
static cJSON *ingest(const opts *o, const mp_roster *roster, const mp_spec *spec,
                     const unsigned char *prf_key, int64_t *counts, const mp_org *own,
                     int show_counts)
{
    cJSON *report;
    mp_mapping *map = NULL;
    mp_ingest_report rep;
    mp_row_report *rows = NULL;
    int64_t now;
    need(o->input, "--input");
    if (o->mapping != NULL && mp_mapping_load(&map, o->mapping) != 0)
        die_lib(EXIT_REFUSED);
    if (mp_time_now(&now) != 0)
        die_lib(EXIT_USAGE);
    if (o->report != NULL && mp_row_report_open(&rows, o->report) != 0)
        die_lib(EXIT_USAGE);
    int tty = isatty(STDERR_FILENO);
    mp_ingest_params p = {.path = o->input,
                          .mapping = map,
                          .roster = roster,
                          .catalogue = spec->catalogue,
                          .period_start = spec->period_start,
                          .period_end = spec->period_end,
                          .prf_key = prf_key,
                          .today = (int32_t)(now / 86400),
                          .progress = tty ? show_progress : NULL,
                          .progress_arg = (void *)o->input,
                          .on_reject = rows != NULL ? mp_row_report_add : NULL,
                          .reject_arg = rows,
                          .own = own};
    int rc = mp_ingest_count(&p, counts, &rep);
    if (tty && rep.records >= MP_INGEST_PROGRESS_ROWS)
        fprintf(stderr, "\r\033[K");
    mp_mapping_free(map);
    if (mp_row_report_close(rows, rc == 0) != 0 || rc != 0)
        die_lib(EXIT_REFUSED);
    mp_guard_params g = {{0}, own != NULL ? own->id : NULL, spec->period_end, p.today};
    memcpy(g.accept, o->accept, sizeof g.accept);
    report = print_report(o, &rep);
    print_summary(o, report, &rep, spec->catalogue, counts, show_counts, &g);
    if (o->report != NULL && !o->json)
        fprintf(stderr, "  every excluded row: %s\n", o->report);
    int guarded = mp_guard_check(&rep, &g) != 0;
    if (o->json && (rep.accepted == 0 || (o->strict && rep.excluded > 0) || guarded))
        print_json(report); /* the refusal below explains; the report shows where */
    if (rep.accepted == 0)
        die(EXIT_REFUSED, "%s: no valid rows; nothing to count", o->input);
    if (o->strict && rep.excluded > 0)
        die(EXIT_REFUSED,
            "%s: refused with --strict: %lu row(s) excluded (see above); fix the "
            "export or run without --strict to exclude them",
            o->input, rep.excluded);
    if (guarded && mp_guard_check(&rep, &g) != 0)
        die(lib_code(EXIT_REFUSED), "%s: %s", o->input, mp_error_get());
    return report;
}

/* Witness the region's transparency log (witness.h) with --log-dir: cosign its latest
 * checkpoint when it extends the one this organisation cosigned last, and record it in the
 * ledger; a fork is refused with both checkpoints printed. Called as the last step before
 * anything of a round is recorded or leaves. */
static void witness_log(const opts *o, sqlite3 *db, const mp_pubkey *coord, const mp_keypair *kp)
{
    char path[4096], *last = NULL, *cosigned = NULL, *latest = NULL;
    mp_note *n;
    mp_checkpoint cp = {0};
    uint64_t size;
    int64_t now;
    if (o->log_dir == NULL)
        return;
    snprintf(path, sizeof path, "%s/checkpoint", o->log_dir);
    if (mp_checkpoint_load(path, &n, &cp) != 0 || mp_time_now(&now) != 0)
        die(lib_code(EXIT_REFUSED), "%s", mp_error_get());
    mp_note_free(n);
    if (mp_ledger_witnessed_get(db, cp.origin, &last) < 0)
        die_lib(EXIT_USAGE);
    if (mp_witness_cosign(o->log_dir, coord, kp, last, (uint64_t)now, &cosigned, &size, &latest) !=
        0) {
        if (last != NULL && latest != NULL)
            fprintf(stderr,
                    "%s: the checkpoint %s cosigned before:\n%s\nthe log's latest checkpoint:\n"
                    "%s\n",
                    prog, kp->pub.org, last, latest);
        die(lib_code(EXIT_REFUSED), "%s", mp_error_get());
    }
    if (mp_store_begin(db) != 0 || mp_ledger_witnessed_put(db, cp.origin, size, cosigned) != 0 ||
        mp_store_commit(db) != 0) {
        mp_store_rollback(db);
        die_lib(EXIT_USAGE);
    }
    fprintf(stderr, "%s: witnessed the log %s (%s, %llu entries): cosigned its checkpoint\n", prog,
            o->log_dir, cp.origin, (unsigned long long)size);
    mp_checkpoint_clear(&cp);
    free(last);
    free(cosigned);
    free(latest);
}

static int cmd_witness(const opts *o)
{
    mp_pubkey coord;
    mp_keypair *kp;
    sqlite3 *db;
    need(o->log_dir, "--log-dir");
    need(o->coordinator_key, "--coordinator-key");
    need(o->key, "--key");
    need(o->ledger, "--ledger");
    if (mp_pubkey_load(&coord, o->coordinator_key) != 0 ||
        mp_keys_open(&kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
    if (mp_ledger_open(&db, o->ledger, 1) != 0)
        die_lib(EXIT_USAGE);
    witness_log(o, db, &coord, kp);
    mp_store_close(db);
    mp_keys_free(kp);
    return 0;
}

/* A ledger belongs to one organisation (recorded on its first write): refuse another's. */
static void ledger_owner_guard(sqlite3 *db, const char *path, const char *org)
{
    char owner[41];
    int r = mp_ledger_owner(db, owner);
    if (r < 0)
        die_lib(EXIT_USAGE);
    if (r == 1 && strcmp(owner, org) != 0)
        die(EXIT_REFUSED,
            "%s is the ledger of organisation %s, not of %s (the key given): use %s's own "
            "ledger, or a new file for a new one",
            path, owner, org, org);
}

static int cmd_check(const opts *o)
{
    mp_pubkey coord;
    mp_roster *roster;
    mp_spec *spec;
    unsigned char prf[MP_PRF_KEY_BYTES];
    int64_t *counts;
    mp_policy *pol;
    load_round(o, &coord, &roster, &spec, &pol);
    {
        sqlite3 *ldb = NULL;
        mp_policy_usage u;
        char seen[32];
        if (o->ledger != NULL && mp_ledger_open(&ldb, o->ledger, 0) != 0)
            die_lib(EXIT_USAGE);
        policy_usage(ldb, spec, &u, seen);
        cJSON_Delete(agree_to_round(pol, roster, spec, &u));
        mp_store_close(ldb);
        mp_policy_free(pol);
    }
    /* A throwaway key: check counts persons but keeps nothing. */
    randombytes_buf(prf, sizeof prf);
    if ((counts = calloc(spec->catalogue->ncells, sizeof *counts)) == NULL)
        die(EXIT_USAGE, "out of memory");
    const mp_org *own = NULL;
    if (o->org != NULL && (own = mp_roster_org(roster, o->org)) == NULL)
        die(EXIT_USAGE, "--org %s: not an organisation of the roster", o->org);
    cJSON *report = ingest(o, roster, spec, prf, counts, own, 1);
    sodium_memzero(prf, sizeof prf);
    sodium_memzero(counts, spec->catalogue->ncells * sizeof *counts);
    free(counts);
    if (report != NULL) {
        cJSON_AddStringToObject(report, "round_id", spec->round_id);
        cJSON_AddBoolToObject(report, "usable", 1);
        print_json(report);
    } else {
        fprintf(stderr, "%s: %s is usable for round %s (nothing was written)\n", prog, o->input,
                spec->round_id);
    }
    mp_spec_free(spec);
    mp_roster_free(roster);
    return 0;
}

/* The round's sealed secrets from the ledger row (bonawitz-v1), or a refusal saying why they
 * are not there. */
static mp_secagg_secrets *ledger_secrets(const mp_ledger_sa *sa, const mp_keypair *kp,
                                         const mp_spec *spec, const char *ledger)
{
    mp_secagg_secrets *s;
    if (!sa->has_secrets)
        die(EXIT_REFUSED,
            "%s: the ledger holds no secrets for round %s (%s): they were wiped (forget, or "
            "the round is done) or the round was advertised by an earlier version that derived "
            "them; this organisation cannot take part in the round any more",
            ledger, spec->round_id, mp_member_phase_name(sa->phase));
    if (mp_secagg_secrets_open(&s, sa->secrets, MP_SECAGG_SEALED_BYTES, kp, spec->env->hash,
                               kp->pub.org) != 0)
        die(lib_code(EXIT_REFUSED), "%s: %s", ledger, mp_error_get());
    return s;
}

/* A coordinator message of the round names this organisation as a participant that advertised
 * (or submitted), but the ledger has no record of the round: it was restored from an earlier
 * copy, or it is the wrong file. Going on would draw new secrets and mask a second time. */
static void refuse_restored(const char *ledger, const mp_spec *spec, const char *org,
                            const char *msg, const char *what)
{
    die(EXIT_REFUSED,
        "%s: this ledger has no record of round %s, but the coordinator holds %s of %s for it "
        "(%s): the ledger was restored from an earlier copy or is the wrong file; refusing, "
        "because drawing new secrets would mask twice. If you are sure, abandon the round "
        "with: %s abandon --round %s --ledger %s",
        ledger, spec->round_id, what, org, msg, prog, spec->round_id, ledger);
}

static void refuse_abandoned(const mp_ledger_sa *sa, const char *ledger)
{
    if (sa->phase == MP_MEMBER_ABANDONED)
        die(EXIT_REFUSED,
            "%s: round %s was abandoned in this ledger (%s); this organisation takes no further "
            "part in it",
            ledger, sa->round_id, sa->updated);
}

/* Where a built submission goes once the ledger holds it: a file (submit) or the server (run). */
typedef void deliver_fn(void *arg, const opts *o, const char *round_id, const char *text,
                        size_t len);

/* run without --yes: the data officer confirms on the terminal what it agrees to. */
static void confirm_on_terminal(const char *round_id)
{
    FILE *tty = fopen("/dev/tty", "r+");
    char line[16] = "";
    if (tty == NULL)
        die(EXIT_USAGE, "no terminal to confirm round %s on: read the above and run with --yes",
            round_id);
    fprintf(tty, "Take part in round %s? [y/N] ", round_id);
    fflush(tty);
    int yes = fgets(line, sizeof line, tty) != NULL && (line[0] == 'y' || line[0] == 'Y');
    fclose(tty);
    if (!yes)
        die(EXIT_REFUSED, "not confirmed: nothing was counted or sent for round %s", round_id);
}

/* A round whose cancellation this ledger recorded takes nothing more from this organisation. */
static void refuse_cancelled(sqlite3 *db, const char *round_id, const char *ledger)
{
    mp_ledger_cancel c;
    int rc = mp_ledger_cancel_get(db, round_id, &c);
    if (rc < 0)
        die_lib(EXIT_USAGE);
    if (rc > 0)
        die(EXIT_REFUSED,
            "round %s: refused: round cancelled (recorded in %s on %s: %s); it takes no more "
            "messages%s",
            round_id, ledger, c.recorded, c.reason,
            c.charged ? "" : ", and this organisation was not charged for it");
}

static int submit_round(const opts *o, deliver_fn *deliver, void *deliver_arg)
{
    mp_pubkey coord, peers[MP_MAX_ORGS];
    mp_roster *roster;
    mp_spec *spec;
    mp_keypair *kp;
    mp_ledger_entry e;
    sqlite3 *db;
    mp_rng *rng;
    int64_t *counts, now;
    uint64_t *vec, num, den;
    cJSON *body;
    char *text;
    size_t len, d;

    need(o->key, "--key");
    need(o->ledger, "--ledger");
    mp_policy *pol;
    load_round(o, &coord, &roster, &spec, &pol);
    if (o->round_id != NULL && strcmp(spec->round_id, o->round_id) != 0)
        die(EXIT_REFUSED, "%s: is round %s, not %s", o->round, spec->round_id, o->round_id);
    if (mp_keys_open(&kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
    policy_owner(pol, kp);
    const mp_org *me = mp_roster_org(roster, kp->pub.org);
    if (me == NULL || memcmp(me->key.key_id, kp->pub.key_id, MP_KEY_ID_BYTES) != 0)
        die(EXIT_REFUSED,
            "the key in %s (%s) is not the key enrolled for %s in the roster; ask "
            "the coordinator to enrol this public key",
            o->key, kp->pub.org, kp->pub.org);
    if (mp_spec_participant(spec, me->id) < 0)
        die(EXIT_REFUSED, "%s is not a participant of round %s", me->id, spec->round_id);
    if (mp_time_now(&now) != 0)
        die_lib(EXIT_USAGE);
    if (now > spec->deadline)
        die(EXIT_REFUSED,
            "the deadline of round %s has passed; the aggregator would refuse the "
            "submission",
            spec->round_id);
    if (o->out != NULL && mp_file_exists(o->out))
        die(EXIT_USAGE, "%s: already exists; choose another --out", o->out);
    /* Look in an existing ledger without creating one: a refused run leaves no file behind.
     * The organisation's own record of its privacy spend is what counts, not the round's. */
    int found = 0, capped = 0, advertised = 0;
    double spent = 0, cap = spec->privacy.series_rho;
    char own_cap[32] = "", seen[32];
    mp_ledger_sa sa = {0};
    mp_policy_usage usage;
    cJSON *agreement = NULL;
    memset(&usage, 0, sizeof usage);
    if (mp_file_exists(o->ledger)) {
        if (mp_ledger_open(&db, o->ledger, 0) != 0)
            die_lib(EXIT_USAGE);
        ledger_owner_guard(db, o->ledger, me->id);
        refuse_cancelled(db, spec->round_id, o->ledger);
        policy_usage(db, spec, &usage, seen);
        found = mp_ledger_find(db, spec->round_id, &e);
        if (found >= 0 && (advertised = mp_ledger_sa_get(db, spec->round_id, &sa)) < 0)
            found = -1;
        if (found >= 0 && mp_ledger_spent(db, spec->privacy.series, &spent) != 0)
            found = -1;
        if (found >= 0 && (capped = mp_ledger_budget_get(db, spec->privacy.series, own_cap)) < 0)
            found = -1;
        mp_store_close(db);
        if (found < 0)
            die_lib(EXIT_USAGE);
    }
    if (capped) {
        double own;
        if (mp_privacy_parse_rho(own_cap, &own) != 0)
            die_lib(EXIT_USAGE);
        if (own < cap)
            cap = own;
    }
    if (!found)
        agreement = agree_to_round(pol, roster, spec, &usage);
    if (found)
        die(EXIT_REFUSED,
            "already submitted for round %s on %s; a second submission with fresh "
            "noise would weaken everyone's privacy. To send the same one again: "
            "%s resend --ledger %s --round %s --out FILE",
            spec->round_id, e.created, prog, o->ledger, spec->round_id);
    if (spent + spec->privacy.rho > cap * (1 + 1e-9))
        die(EXIT_REFUSED,
            "over budget: %s has spent rho %.6g in series %s; round %s needs %s "
            "more, and the budget is %.6g (%s)",
            me->id, spent, spec->privacy.series, spec->round_id, spec->privacy.rho_text, cap,
            capped && cap < spec->privacy.series_rho ? "the organisation's own cap"
                                                     : "the series budget of the round");

    if (o->ask)
        confirm_on_terminal(spec->round_id);

    /* bonawitz-v1: the shares message fixes who to mask with; check it before any counting. */
    mp_secagg_view view = {0};
    mp_secagg_secrets *sec = NULL;
    if (spec->masking == MP_MASKING_BONAWITZ) {
        mp_envelope *senv;
        unsigned char own_share[MP_HASH_BYTES];
        int named = 0, sub = 0;
        need(o->shares, "--shares (the shares message of the coordinator)");
        if (advertised)
            refuse_abandoned(&sa, o->ledger);
        if (mp_envelope_load(&senv, o->shares, "shares") != 0)
            die(lib_code(EXIT_REFUSED), "%s: refused: %s", o->shares, mp_error_get());
        if (!advertised || sa.share == NULL) {
            if (mp_secagg_names_org(senv, spec, roster, me->id, &named, &sub) == 0 && named) {
                if (!advertised)
                    refuse_restored(o->ledger, spec, me->id, o->shares, "key shares");
                die(EXIT_REFUSED,
                    "%s: the shares message names a share message of %s for round %s that this "
                    "ledger has no record of: the ledger was restored from a copy taken before "
                    "the share phase. Run share again with the same keys message (it makes the "
                    "same share message, byte for byte), then submit",
                    o->ledger, me->id, spec->round_id);
            }
            die(EXIT_REFUSED, "%s has not %s in round %s (ledger %s): run %s first", me->id,
                advertised ? "sent its key shares" : "advertised", spec->round_id, o->ledger,
                advertised ? "share --keys" : "advertise");
        }
        sec = ledger_secrets(&sa, kp, spec, o->ledger);
        mp_hash(own_share, sa.share, strlen(sa.share));
        if (mp_secagg_shares_accept(&view, senv, spec, roster, kp, sec, own_share) != 0)
            die(lib_code(EXIT_REFUSED), "%s: refused: %s", o->shares, mp_error_get());
        free(sa.shares);
        sa.shares = strdup(senv->text);
        mp_hex_encode(sa.advertised_sha256, view.advertised_hash, MP_HASH_BYTES);
        sa.phase = MP_MEMBER_SUBMITTED;
        mp_envelope_free(senv);
        if (sa.shares == NULL)
            die(EXIT_USAGE, "out of memory");
    }

    d = spec->catalogue->ncells;
    counts = sodium_malloc(d * sizeof *counts);
    vec = sodium_malloc(d * sizeof *vec);
    if (counts == NULL || vec == NULL)
        die(EXIT_USAGE, "cannot allocate secure memory");
    memset(counts, 0, d * sizeof *counts);
    cJSON *report = ingest(o, roster, spec, kp->prf_key, counts, me, !o->json);

    /* Noise share, then masks. From here the counts exist only inside vec, masked. With
     * bonawitz-v1 the noise comes from the round's sealed noise seed: a submission made again
     * from the same ledger row (a crash, or a ledger restored from a backup taken after
     * advertise) is the same vector, never a second noisy draw under the same masks. */
    mp_spec_share_variance(spec, &num, &den);
    if ((sec != NULL ? mp_rng_new_seeded(&rng, sec->noise) : mp_rng_new_system(&rng)) != 0)
        die_lib(EXIT_USAGE);
    for (size_t i = 0; i < d; i++) {
        int64_t z;
        int rc = spec->privacy.mechanism == MP_MECH_SKELLAM ? mp_noise_skellam(rng, num, den, &z)
                                                            : mp_noise_dgauss(rng, num, den, &z);
        if (rc != 0)
            die_lib(EXIT_USAGE);
        vec[i] = (uint64_t)counts[i] + (uint64_t)z;
    }
    mp_rng_free(rng);
    sodium_free(counts);
    for (size_t i = 0; i < spec->nparticipants; i++)
        peers[i] = mp_roster_org(roster, spec->participants[i])->key;
    if ((spec->masking == MP_MASKING_BONAWITZ
             ? mp_secagg_mask(vec, d, spec, &view, kp, sec)
             : mp_mask_apply(vec, d, kp, peers, spec->nparticipants, spec->env->hash)) != 0 ||
        mp_submission_build(&body, spec, me->id, vec, d) != 0)
        die_lib(EXIT_USAGE);
    /* ... and the same bytes: a bonawitz-v1 submission is dated when its secrets were drawn. */
    if (sec != NULL &&
        !cJSON_ReplaceItemInObjectCaseSensitive(body, "created", cJSON_CreateString(sa.secrets_at)))
        die(EXIT_USAGE, "out of memory");
    mp_secagg_secrets_free(sec);
    if (mp_envelope_sign(&text, &len, "submission", body, kp) != 0)
        die_lib(EXIT_USAGE);

    /* Ledger row and file together: the row commits only after the file is in place, and the
     * file is removed again if the commit fails. */
    memset(&e, 0, sizeof e);
    snprintf(e.round_id, sizeof e.round_id, "%s", spec->round_id);
    mp_hex_encode(e.round_sha256, spec->env->hash, MP_HASH_BYTES);
    snprintf(e.org, sizeof e.org, "%s", me->id);
    snprintf(e.series, sizeof e.series, "%s", spec->privacy.series);
    snprintf(e.rho, sizeof e.rho, "%s", spec->privacy.rho_text);
    mp_date_format(e.period_start, spec->period_start);
    mp_date_format(e.period_end, spec->period_end);
    {
        char *v = mp_vec_encode(vec, d);
        if (v == NULL)
            die(EXIT_USAGE, "out of memory");
        mp_hash_hex(e.masked_sha256, v, strlen(v));
        free(v);
    }
    mp_hash_hex(e.submission_sha256, text, len);
    mp_time_format(e.created, now);
    if (mp_ledger_open(&db, o->ledger, 1) != 0)
        die_lib(EXIT_USAGE);
    witness_log(o, db, &coord, kp);
    /* The ledger row commits before the file exists: a crash in between leaves a recorded
     * submission that `resend` writes out, never a file the ledger does not know (which could
     * tempt a second submission with fresh noise). */
    if (mp_store_begin(db) != 0 || mp_ledger_owner_set(db, me->id) != 0 ||
        mp_ledger_insert(db, &e, text, len) != 0 ||
        mp_ledger_series_note(db, spec->privacy.series, spec->privacy.series_rho_text,
                              spec->round_id) != 0 ||
        (spec->masking == MP_MASKING_BONAWITZ && mp_ledger_sa_put(db, &sa) != 0) ||
        mp_store_commit(db) != 0) {
        mp_store_rollback(db);
        mp_store_close(db);
        die_lib(EXIT_USAGE);
    }
    mp_store_close(db);
    deliver(deliver_arg, o, spec->round_id, text, len);
    if (report != NULL) {
        cJSON_AddStringToObject(report, "round_id", spec->round_id);
        cJSON_AddStringToObject(report, "org", me->id);
        cJSON_AddStringToObject(report, o->out ? "out" : "server", o->out ? o->out : o->server);
        cJSON_AddNumberToObject(report, "cells", (double)d);
        cJSON_AddStringToObject(report, "submission_sha256", e.submission_sha256);
        cJSON_AddItemToObject(report, "agreement", agreement);
        agreement = NULL;
        print_json(report);
    } else if (o->out != NULL)
        fprintf(stderr,
                "%s: wrote %s: masked submission of %s for round %s (%zu cells, sha256 "
                "%.16s...)\n  Check what it reveals with: %s show %s\n",
                prog, o->out, me->id, spec->round_id, d, e.submission_sha256, prog, o->out);
    sodium_free(vec);
    cJSON_Delete(body);
    cJSON_Delete(agreement);
    mp_policy_free(pol);
    free(text);
    mp_secagg_view_free(&view);
    mp_ledger_sa_free(&sa);
    mp_keys_free(kp);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return 0;
}

static void deliver_file(void *arg, const opts *o, const char *round_id, const char *text,
                         size_t len)
{
    if (mp_file_write_atomic(o->out, text, len, 0644) != 0)
        die(EXIT_USAGE,
            "%s; the submission is recorded in the ledger: write it with %s resend "
            "--ledger %s --round %s --out FILE",
            mp_error_get(), prog, o->ledger, round_id);
}

static int cmd_submit(const opts *o)
{
    need(o->out, "--out");
    return submit_round(o, deliver_file, NULL);
}

/* ---- run: the whole round against the aggregator's HTTPS service ------------------------- */

/* GET or POST one resource of the round; exits on anything but `want` (the server's error
 * and reason quoted), except that a POST answered "replay" means the server holds exactly
 * these bytes already. */
static char *server_call(mp_client *cl, const opts *o, const char *what, const char *body,
                         size_t len, long want, long *status)
{
    char path[256], code[64], reason[MP_ERROR_MAX];
    char *resp;
    size_t rlen;
    snprintf(path, sizeof path, "/v1/rounds/%s/%s", o->round_id, what);
    if (mp_client_request(cl, path, body, len, status, &resp, &rlen) != 0)
        die(EXIT_USAGE, "%s%s", mp_error_get(),
            body ? "; the submission is in the ledger: run the same command again to send it" : "");
    if (*status == want)
        return resp;
    mp_client_error_of(resp, code, sizeof code, reason, sizeof reason);
    if (body != NULL && *status == 409 && strcmp(code, "replay") == 0)
        return resp;
    free(resp);
    die(EXIT_REFUSED, "%s %s%s: refused by the server (HTTP %ld %s): %s", body ? "POST" : "GET",
        o->server, path, *status, code[0] ? code : "-", reason[0] ? reason : "no reason given");
}

static void deliver_server(void *arg, const opts *o, const char *round_id, const char *text,
                           size_t len)
{
    long status;
    char hash[MP_HASH_HEX_BYTES];
    fprintf(stderr, "%s: sending the submission for round %s to %s\n", prog, round_id, o->server);
    free(server_call(arg, o, "submissions", text, len, 201, &status));
    mp_hash_hex(hash, text, len);
    fprintf(stderr, "%s: %s: submission for round %s %s (sha256 %.16s...)\n", prog, o->server,
            round_id, status == 201 ? "accepted and stored" : "was stored already", hash);
}

static void fetch_to(mp_client *cl, const opts *o, const char *what, const char *path)
{
    long status;
    char *doc = server_call(cl, o, what, NULL, 0, 200, &status);
    if (mp_file_write_atomic(path, doc, strlen(doc), 0600) != 0)
        die_lib(EXIT_USAGE);
    free(doc);
}

/* The fetched roster and round are removed however run ends (die exits). */
static char run_dir[128];
static void run_dir_remove(void)
{
    char path[160];
    if (run_dir[0] == '\0')
        return;
    snprintf(path, sizeof path, "%s/roster.json", run_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/round.json", run_dir);
    unlink(path);
    rmdir(run_dir);
}

static int cmd_run(const opts *o)
{
    mp_client *cl;
    sqlite3 *db;
    mp_ledger_entry e;
    need(o->server, "--server");
    need(o->round_id, "--round-id");
    need(o->ledger, "--ledger");
    need(o->tls_cert, "--tls-cert (this organisation's certificate)");
    need(o->tls_key, "--tls-key");
    need(o->ca, "--ca (the region's CA file)");
    if (mp_client_new(&cl, o->server, o->tls_cert, o->tls_key, o->ca, 8) != 0)
        die_lib(EXIT_USAGE);
    /* Resume: a submission in the ledger is the one to send, never a fresh one. */
    if (mp_file_exists(o->ledger)) {
        char *text = NULL;
        size_t len = 0;
        int found;
        if (mp_ledger_open(&db, o->ledger, 0) != 0 ||
            (found = mp_ledger_find(db, o->round_id, &e)) < 0 ||
            (found && mp_ledger_submission(db, o->round_id, &text, &len) != 0))
            die_lib(EXIT_USAGE);
        mp_store_close(db);
        if (found) {
            fprintf(stderr,
                    "%s: the ledger holds the submission for round %s (made %s): sending "
                    "that one again\n",
                    prog, o->round_id, e.created);
            deliver_server(cl, o, o->round_id, text, len);
            free(text);
            mp_client_free(cl);
            return 0;
        }
    }
    /* Roster and round come from the server but are checked exactly as submit checks files:
     * coordinator signature, certificates, co-signatures, this organisation's policy. */
    char roster[160], round[160];
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > sizeof run_dir - 20)
        tmp = "/tmp";
    snprintf(run_dir, sizeof run_dir, "%s/mijlpaal-run.XXXXXX", tmp);
    if (mkdtemp(run_dir) == NULL || atexit(run_dir_remove) != 0)
        die(EXIT_USAGE, "cannot create a temporary directory: %s", strerror(errno));
    snprintf(roster, sizeof roster, "%s/roster.json", run_dir);
    snprintf(round, sizeof round, "%s/round.json", run_dir);
    fprintf(stderr, "%s: fetching roster and round %s from %s\n", prog, o->round_id, o->server);
    {
        long status;
        char *st = server_call(cl, o, "status", NULL, 0, 200, &status);
        cJSON *j = cJSON_Parse(st);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "masking");
        int pairwise = cJSON_IsString(m) && strcmp(m->valuestring, "pairwise-v1") == 0;
        cJSON_Delete(j);
        free(st);
        if (!pairwise)
            die(EXIT_REFUSED,
                "round %s does not use masking pairwise-v1; run takes only pairwise-v1 rounds "
                "for now: use advertise, submit, confirm and unmask with files",
                o->round_id);
    }
    fetch_to(cl, o, "roster", roster);
    fetch_to(cl, o, "round", round);
    opts r = *o;
    r.roster = roster;
    r.round = round;
    r.out = NULL;
    r.ask = !o->yes;
    int rc = submit_round(&r, deliver_server, cl);
    mp_client_free(cl);
    return rc;
}

/* ---- bonawitz-v1 phases ------------------------------------------------------------------ */

typedef struct party {
    mp_pubkey coord;
    mp_roster *roster;
    mp_spec *spec;
    mp_keypair *kp;
    sqlite3 *db;
    mp_ledger_sa sa;
    int has_sa;
    mp_policy *pol;
} party;

/* Round, keys and ledger of a participant of a bonawitz-v1 round; the ledger row when any. */
static void party_open(const opts *o, party *p, int create_ledger)
{
    memset(p, 0, sizeof *p);
    need(o->key, "--key");
    need(o->ledger, "--ledger");
    load_round(o, &p->coord, &p->roster, &p->spec, &p->pol);
    if (p->spec->masking != MP_MASKING_BONAWITZ)
        die(EXIT_REFUSED,
            "round %s uses masking scheme %s: there is only one phase, submit (no "
            "advertise, confirm or unmask)",
            p->spec->round_id, mp_spec_scheme_name(p->spec));
    if (mp_keys_open(&p->kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
    policy_owner(p->pol, p->kp);
    const mp_org *me = mp_roster_org(p->roster, p->kp->pub.org);
    if (me == NULL || memcmp(me->key.key_id, p->kp->pub.key_id, MP_KEY_ID_BYTES) != 0)
        die(EXIT_REFUSED, "the key in %s (%s) is not the key enrolled for it in the roster", o->key,
            p->kp->pub.org);
    if (mp_spec_participant(p->spec, me->id) < 0)
        die(EXIT_REFUSED, "%s is not a participant of round %s", me->id, p->spec->round_id);
    /* A missing ledger is a ledger without the round (each command says what that means). */
    if (!create_ledger && !mp_file_exists(o->ledger))
        return;
    if (mp_ledger_open(&p->db, o->ledger, create_ledger) != 0)
        die_lib(EXIT_USAGE);
    ledger_owner_guard(p->db, o->ledger, me->id);
    refuse_cancelled(p->db, p->spec->round_id, o->ledger);
    if ((p->has_sa = mp_ledger_sa_get(p->db, p->spec->round_id, &p->sa)) < 0)
        die_lib(EXIT_USAGE);
    if (p->has_sa)
        refuse_abandoned(&p->sa, o->ledger);
}

static void party_close(party *p)
{
    mp_ledger_sa_free(&p->sa);
    mp_store_close(p->db);
    mp_policy_free(p->pol);
    mp_keys_free(p->kp);
    mp_spec_free(p->spec);
    mp_roster_free(p->roster);
}

/* Record the new phase, then write the message (a crash in between leaves a recorded message
 * that running the command again writes out, unchanged). */
static void party_commit_write(const opts *o, party *p, const char *text, size_t len)
{
    /* The series is noted with the first message of a round (first sight of its budget). */
    if (mp_store_begin(p->db) != 0 || mp_ledger_owner_set(p->db, p->kp->pub.org) != 0 ||
        mp_ledger_sa_put(p->db, &p->sa) != 0 ||
        mp_ledger_series_note(p->db, p->spec->privacy.series, p->spec->privacy.series_rho_text,
                              p->spec->round_id) != 0 ||
        mp_store_commit(p->db) != 0) {
        mp_store_rollback(p->db);
        die_lib(EXIT_USAGE);
    }
    if (mp_file_write_atomic(o->out, text, len, 0644) != 0)
        die(EXIT_USAGE, "%s; the message is recorded in the ledger: run the command again",
            mp_error_get());
}

static void write_again(const opts *o, const char *text, const char *what)
{
    if (mp_file_write_atomic(o->out, text, strlen(text), 0644) != 0)
        die_lib(EXIT_USAGE);
    fprintf(stderr, "%s: %s was made before; the same message is written again to %s\n", prog, what,
            o->out);
}

static char *sign_text(const char *type, const cJSON *body, const mp_keypair *kp, size_t *len)
{
    char *text;
    if (mp_envelope_sign(&text, len, type, body, kp) != 0)
        die_lib(EXIT_USAGE);
    return text;
}

static int cmd_advertise(const opts *o)
{
    party p;
    cJSON *body;
    char *text;
    size_t len;
    int64_t now;
    need(o->out, "--out");
    party_open(o, &p, 1);
    mp_secagg_secrets *sec;
    if (p.has_sa) {
        write_again(o, p.sa.advertise, "the advertisement");
        party_close(&p);
        return 0;
    }
    if (mp_time_now(&now) != 0)
        die_lib(EXIT_USAGE);
    if (now > p.spec->deadline)
        die(EXIT_REFUSED, "the deadline of round %s has passed", p.spec->round_id);
    {
        /* Nothing leaves before the round is within this organisation's policy. */
        mp_policy_usage u;
        char seen[32];
        policy_usage(p.db, p.spec, &u, seen);
        cJSON *a = agree_to_round(p.pol, p.roster, p.spec, &u);
        if (o->json)
            print_json(a);
        else
            cJSON_Delete(a);
    }
    /* Fresh secrets, sealed into the ledger in the transaction that records the advertisement
     * and before the message is written: a crash after the commit writes the same message
     * again, one before it leaves nothing behind. */
    if (mp_secagg_secrets_new(&sec) != 0 ||
        mp_secagg_advertise(&body, p.spec, p.roster, p.kp, sec) != 0 ||
        mp_secagg_secrets_seal(p.sa.secrets, sec, p.kp, p.spec->env->hash, p.kp->pub.org) != 0)
        die_lib(EXIT_USAGE);
    mp_secagg_secrets_free(sec);
    p.sa.has_secrets = 1;
    mp_time_format(p.sa.secrets_at, now);
    text = sign_text("advertise", body, p.kp, &len);
    snprintf(p.sa.round_id, sizeof p.sa.round_id, "%s", p.spec->round_id);
    mp_hex_encode(p.sa.round_sha256, p.spec->env->hash, MP_HASH_BYTES);
    snprintf(p.sa.org, sizeof p.sa.org, "%s", p.kp->pub.org);
    p.sa.phase = MP_MEMBER_ADVERTISED;
    p.sa.advertise = text;
    witness_log(o, p.db, &p.coord, p.kp);
    party_commit_write(o, &p, text, len);
    fprintf(stderr,
            "%s: wrote %s: %s's box and mask keys for round %s. Send it to the coordinator; "
            "run share when keys.json arrives.\n",
            prog, o->out, p.kp->pub.org, p.spec->round_id);
    cJSON_Delete(body);
    party_close(&p);
    return 0;
}

static int cmd_share(const opts *o)
{
    party p;
    mp_envelope *keys;
    mp_secagg_view v;
    mp_secagg_secrets *sec;
    cJSON *body;
    char *text;
    size_t len;
    need(o->keys, "--keys (the keys message of the coordinator)");
    need(o->out, "--out");
    party_open(o, &p, 0);
    if (mp_envelope_load(&keys, o->keys, "keys") != 0)
        die(lib_code(EXIT_REFUSED), "%s: refused: %s", o->keys, mp_error_get());
    if (!p.has_sa) {
        int named = 0, sub = 0;
        if (mp_secagg_names_org(keys, p.spec, p.roster, p.kp->pub.org, &named, &sub) == 0 && named)
            refuse_restored(o->ledger, p.spec, p.kp->pub.org, o->keys, "an advertisement");
        die(EXIT_REFUSED, "%s has not advertised in round %s (ledger %s): run advertise first",
            p.kp->pub.org, p.spec->round_id, o->ledger);
    }
    if (p.sa.share != NULL) {
        if (p.sa.keys == NULL || strcmp(p.sa.keys, keys->text) != 0)
            die(EXIT_REFUSED,
                "%s: refused: %s already sent its key shares in round %s for another keys "
                "message; sharing again for a second list could hand out more shares",
                o->keys, p.kp->pub.org, p.spec->round_id);
        write_again(o, p.sa.share, "the share message");
        mp_envelope_free(keys);
        party_close(&p);
        return 0;
    }
    sec = ledger_secrets(&p.sa, p.kp, p.spec, o->ledger);
    if (mp_secagg_keys_accept(&v, keys, p.spec, p.roster, p.kp, sec) != 0)
        die(lib_code(EXIT_REFUSED), "%s: refused: %s", o->keys, mp_error_get());
    if (mp_secagg_share(&body, p.spec, &v, p.kp, sec) != 0)
        die_lib(EXIT_USAGE);
    mp_secagg_secrets_free(sec);
    text = sign_text("share", body, p.kp, &len);
    cJSON_Delete(body);
    p.sa.phase = MP_MEMBER_SHARED;
    p.sa.keys = strdup(keys->text);
    p.sa.share = text;
    if (p.sa.keys == NULL)
        die(EXIT_USAGE, "out of memory");
    party_commit_write(o, &p, text, len);
    fprintf(stderr,
            "%s: wrote %s: %s's key shares for round %s, each boxed to the round key of one of "
            "the %zu that advertised. Send it to the coordinator; submit when shares-%s.json "
            "arrives.\n",
            prog, o->out, p.kp->pub.org, p.spec->round_id, v.n1, p.kp->pub.org);
    mp_secagg_view_free(&v);
    mp_envelope_free(keys);
    party_close(&p);
    return 0;
}

static int cmd_confirm(const opts *o)
{
    party p;
    mp_envelope *surv;
    mp_secagg_view v;
    mp_ledger_entry e;
    unsigned char adv[MP_HASH_BYTES], own[MP_HASH_BYTES];
    char hash[MP_HASH_HEX_BYTES], *text;
    cJSON *body;
    size_t len;
    need(o->survivors, "--survivors");
    need(o->out, "--out");
    party_open(o, &p, 0);
    if (mp_envelope_load(&surv, o->survivors, "survivors") != 0)
        die_lib(EXIT_REFUSED);
    if (!p.has_sa || p.sa.phase == MP_MEMBER_ADVERTISED || p.sa.phase == MP_MEMBER_SHARED) {
        int named = 0, sub = 0;
        if (mp_secagg_names_org(surv, p.spec, p.roster, p.kp->pub.org, &named, &sub) == 0) {
            if (!p.has_sa && (named || sub))
                refuse_restored(o->ledger, p.spec, p.kp->pub.org, o->survivors,
                                sub ? "a submission" : "an advertisement");
            if (p.has_sa && sub)
                die(EXIT_REFUSED,
                    "%s: the survivors list names a submission of %s for round %s that this "
                    "ledger has no record of: the ledger was restored from a copy taken before "
                    "the submission. Run submit again with the same export and shares message "
                    "(it makes the same submission, byte for byte), then confirm",
                    o->ledger, p.kp->pub.org, p.spec->round_id);
        }
        die(EXIT_REFUSED, "%s has not submitted in round %s: there is nothing to confirm",
            p.kp->pub.org, p.spec->round_id);
    }
    mp_hex_encode(hash, surv->hash, MP_HASH_BYTES);
    if (p.sa.survivors_sha256[0] != '\0') {
        if (strcmp(p.sa.survivors_sha256, hash) != 0)
            die(EXIT_REFUSED,
                "%s: refused: %s already confirmed another survivors list for round %s "
                "(sha256 %.16s...); confirming a second list could let the coordinator "
                "collect both kinds of key shares of one organisation",
                o->survivors, p.kp->pub.org, p.spec->round_id, p.sa.survivors_sha256);
        write_again(o, p.sa.consistency, "the confirmation of this list");
        party_close(&p);
        return 0;
    }
    if (mp_ledger_find(p.db, p.spec->round_id, &e) != 1 ||
        mp_hex_decode(own, MP_HASH_BYTES, e.submission_sha256) != 0 ||
        mp_hex_decode(adv, MP_HASH_BYTES, p.sa.advertised_sha256) != 0)
        die(EXIT_USAGE, "the ledger has no submission of round %s", p.spec->round_id);
    if (mp_secagg_survivors_accept(&v, surv, p.spec, p.roster, p.kp->pub.org, adv, own) != 0)
        die(lib_code(EXIT_REFUSED), "%s: %s", o->survivors, mp_error_get());
    if (mp_secagg_consistency(&body, p.spec, p.kp->pub.org, surv->hash) != 0)
        die_lib(EXIT_USAGE);
    text = sign_text("consistency", body, p.kp, &len);
    p.sa.phase = MP_MEMBER_CONFIRMED;
    snprintf(p.sa.survivors_sha256, sizeof p.sa.survivors_sha256, "%s", hash);
    p.sa.survivors = strdup(surv->text);
    p.sa.consistency = text;
    if (p.sa.survivors == NULL)
        die(EXIT_USAGE, "out of memory");
    party_commit_write(o, &p, text, len);
    fprintf(stderr,
            "%s: wrote %s: %s confirms the survivors list of round %s (%zu of %zu advertised "
            "submitted; the masks of the %zu others will be removed)\n",
            prog, o->out, p.kp->pub.org, p.spec->round_id, v.n2, v.n1, v.n1 - v.n2);
    cJSON_Delete(body);
    mp_secagg_view_free(&v);
    mp_envelope_free(surv);
    party_close(&p);
    return 0;
}

static int cmd_unmask(const opts *o)
{
    party p;
    mp_envelope *surv, *req, *shares;
    mp_secagg_view v;
    cJSON *body;
    char *text;
    size_t len;
    need(o->request, "--request");
    need(o->out, "--out");
    party_open(o, &p, 0);
    if (!p.has_sa || p.sa.survivors == NULL)
        die(EXIT_REFUSED,
            "%s has not confirmed a survivors list in round %s: it reveals nothing before "
            "it has (run confirm first)",
            p.kp->pub.org, p.spec->round_id);
    if (mp_envelope_parse(&surv, p.sa.survivors, strlen(p.sa.survivors), "survivors") != 0 ||
        mp_secagg_survivors_parse(&v, surv, p.spec, p.roster) != 0 || p.sa.shares == NULL ||
        mp_envelope_parse(&shares, p.sa.shares, strlen(p.sa.shares), "shares") != 0)
        die(EXIT_USAGE, "ledger: %s", mp_error_get());
    if (mp_envelope_load(&req, o->request, "unmask-request") != 0 ||
        mp_secagg_request_accept(req, p.spec, p.roster, &v, surv->hash) != 0)
        die(lib_code(EXIT_REFUSED), "%s: %s", o->request, mp_error_get());
    if (p.sa.unmask != NULL) {
        write_again(o, p.sa.unmask, "the unmask message");
    } else {
        mp_secagg_secrets *sec = ledger_secrets(&p.sa, p.kp, p.spec, o->ledger);
        if (mp_secagg_unmask(&body, p.spec, &v, shares, p.kp, sec, surv->hash) != 0)
            die_lib(EXIT_REFUSED);
        mp_secagg_secrets_free(sec);
        text = sign_text("unmask", body, p.kp, &len);
        cJSON_Delete(body);
        p.sa.phase = MP_MEMBER_UNMASKED;
        p.sa.unmask = text;
        /* Nothing after this phase needs the round's secrets: they go with the same commit. */
        p.sa.has_secrets = 0;
        party_commit_write(o, &p, text, len);
        if (mp_ledger_sa_scrub(p.db) != 0)
            die_lib(EXIT_USAGE);
        fprintf(stderr,
                "%s: wrote %s: %s's shares for round %s: the self-mask shares of the %zu "
                "survivors and the mask-key shares of the %zu that dropped out, never both for "
                "one organisation\n",
                prog, o->out, p.kp->pub.org, p.spec->round_id, v.n2, v.n1 - v.n2);
    }
    mp_envelope_free(req);
    mp_envelope_free(shares);
    mp_envelope_free(surv);
    mp_secagg_view_free(&v);
    party_close(&p);
    return 0;
}

/* Wipe a round's secrets from the ledger (a round given up, or one this organisation dropped
 * out of and will not finish): later phases of it are refused, the messages stay. */
static int cmd_forget(const opts *o)
{
    sqlite3 *db;
    mp_ledger_sa sa;
    int found;
    need(o->ledger, "--ledger");
    need(o->round_id, "--round ID");
    if (mp_ledger_open(&db, o->ledger, 0) != 0)
        die_lib(EXIT_USAGE);
    if ((found = mp_ledger_sa_get(db, o->round_id, &sa)) < 0)
        die_lib(EXIT_USAGE);
    if (!found)
        die(EXIT_REFUSED, "%s: round %s is not a bonawitz-v1 round of this ledger", o->ledger,
            o->round_id);
    if (!sa.has_secrets) {
        fprintf(stderr, "%s: the ledger holds no secrets of round %s (already wiped)\n", prog,
                o->round_id);
    } else {
        sa.has_secrets = 0;
        if (mp_store_begin(db) != 0 || mp_ledger_sa_put(db, &sa) != 0 || mp_store_commit(db) != 0 ||
            mp_ledger_sa_scrub(db) != 0) {
            mp_store_rollback(db);
            die_lib(EXIT_USAGE);
        }
        fprintf(stderr,
                "%s: wiped the secrets of round %s from %s (phase %s). The messages stay; this "
                "organisation can no longer submit or unmask in that round. Backups of the "
                "ledger made before now still hold them, sealed to the keystore.\n",
                prog, o->round_id, o->ledger, mp_member_phase_name(sa.phase));
    }
    mp_ledger_sa_free(&sa);
    mp_store_close(db);
    return 0;
}

/* Give up a round in this ledger (after a restored or lost ledger): every later message of it
 * is refused, and its secrets, if any, are wiped. */
static int cmd_abandon(const opts *o)
{
    sqlite3 *db;
    mp_ledger_sa sa;
    int found;
    need(o->ledger, "--ledger");
    need(o->round_id, "--round ID");
    if (mp_ledger_open(&db, o->ledger, 1) != 0)
        die_lib(EXIT_USAGE);
    if ((found = mp_ledger_sa_get(db, o->round_id, &sa)) < 0)
        die_lib(EXIT_USAGE);
    if (!found) {
        memset(&sa, 0, sizeof sa);
        snprintf(sa.round_id, sizeof sa.round_id, "%s", o->round_id);
    }
    if (sa.phase != MP_MEMBER_ABANDONED) {
        sa.phase = MP_MEMBER_ABANDONED;
        sa.has_secrets = 0;
        if (mp_store_begin(db) != 0 || mp_ledger_sa_put(db, &sa) != 0 || mp_store_commit(db) != 0 ||
            mp_ledger_sa_scrub(db) != 0) {
            mp_store_rollback(db);
            die_lib(EXIT_USAGE);
        }
    }
    fprintf(stderr,
            "%s: round %s is abandoned in %s: this organisation takes no further part in it "
            "(every later message of the round is refused)\n",
            prog, o->round_id, o->ledger);
    mp_ledger_sa_free(&sa);
    mp_store_close(db);
    return 0;
}

static const char *next_step(enum mp_member_phase phase)
{
    switch (phase) {
    case MP_MEMBER_ADVERTISED:
        return "wait for keys.json from the coordinator, then: share --keys FILE";
    case MP_MEMBER_SHARED:
        return "wait for shares-ORG.json from the coordinator, then: submit --shares FILE";
    case MP_MEMBER_SUBMITTED: return "wait for survivors.json, then: confirm --survivors FILE";
    case MP_MEMBER_CONFIRMED: return "wait for unmask-request.json, then: unmask --request FILE";
    case MP_MEMBER_ABANDONED: return "none: abandoned, this organisation takes no further part";
    default: return "done: nothing more to send for this round";
    }
}

typedef struct status_arg {
    const opts *o;
    size_t n;
} status_arg;

static void print_sa(const mp_ledger_sa *s, void *arg)
{
    status_arg *a = arg;
    if (a->o->round_id != NULL && strcmp(a->o->round_id, s->round_id) != 0)
        return;
    a->n++;
    if (a->o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "round_id", s->round_id);
        cJSON_AddStringToObject(j, "org", s->org);
        cJSON_AddStringToObject(j, "masking", mp_masking_name(MP_MASKING_BONAWITZ));
        cJSON_AddStringToObject(j, "phase", mp_member_phase_name(s->phase));
        cJSON_AddStringToObject(j, "updated", s->updated);
        cJSON_AddStringToObject(j, "next", next_step(s->phase));
        print_json_line(j);
    } else
        printf("%-32s %-16s %-10s %s  next: %s\n", s->round_id, s->org,
               mp_member_phase_name(s->phase), s->updated, next_step(s->phase));
}

static void print_pairwise(const mp_ledger_entry *e, void *arg)
{
    status_arg *a = arg;
    if (a->o->round_id != NULL && strcmp(a->o->round_id, e->round_id) != 0)
        return;
    a->n++;
    if (a->o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "round_id", e->round_id);
        cJSON_AddStringToObject(j, "org", e->org);
        cJSON_AddStringToObject(j, "masking", mp_masking_name(MP_MASKING_PAIRWISE));
        cJSON_AddStringToObject(j, "phase", "submitted");
        cJSON_AddStringToObject(j, "updated", e->created);
        cJSON_AddStringToObject(j, "next", "done");
        print_json_line(j);
    } else
        printf("%-32s %-16s %-10s %s  next: done (%s has one phase)\n", e->round_id, e->org,
               "submitted", e->created, MP_SCHEME_PAIRWISE);
}

static int cmd_status(const opts *o)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    status_arg a = {o, 0};
    need(o->ledger, "--ledger");
    if (mp_ledger_open(&db, o->ledger, 0) != 0 || mp_ledger_sa_list(db, print_sa, &a) != 0)
        die_lib(EXIT_USAGE);
    /* Rounds without phases (pairwise-v1): their submission is all there is. */
    if (mp_store_prepare(db, &st,
                         "SELECT round_id FROM submissions WHERE round_id NOT IN "
                         "(SELECT round_id FROM sa_rounds) ORDER BY created"))
        die_lib(EXIT_USAGE);
    while (sqlite3_step(st) == SQLITE_ROW) {
        mp_ledger_entry e;
        if (mp_ledger_find(db, (const char *)sqlite3_column_text(st, 0), &e) == 1)
            print_pairwise(&e, &a);
    }
    sqlite3_finalize(st);
    if (a.n == 0 && o->round_id != NULL)
        die(EXIT_REFUSED, "%s: round %s is not in this ledger", o->ledger, o->round_id);
    mp_store_close(db);
    return 0;
}

/* What an advertise, consistency or unmask message of this organisation reveals. */
static int show_phase_message(const opts *o, mp_envelope *env, const char *path)
{
    const char *round_id = "?", *org = "?";
    const cJSON *arr;
    char hash[MP_HASH_HEX_BYTES];
    const char *what;
    if (strcmp(env->type, "advertise") == 0)
        what = "this round's two public keys (for the boxes addressed to this organisation and for "
               "the masks), signed; no share and no figure";
    else if (strcmp(env->type, "share") == 0)
        what = "for each organisation that advertised, a box only that organisation's key of this "
               "round can open, holding its Shamir shares of this organisation's self-mask seed "
               "and round mask key (random secrets of this round only, kept sealed in the "
               "ledger; no figure)";
    else if (strcmp(env->type, "consistency") == 0)
        what = "a signature on the hash of the coordinator's list of who submitted: nothing else";
    else if (strcmp(env->type, "unmask") == 0)
        what =
            "for each organisation that sent key shares, one Shamir share: of its self-mask seed "
            "when it submitted, of its round mask key when it dropped out, never both; "
            "alone, a share reveals nothing, and together they remove masks only from the "
            "regional sum";
    else
        die(EXIT_REFUSED, "%s: a \"%s\" document is not a contributor's message", path, env->type);
    (void)(mp_json_str(env->body, "round_id", &round_id) || mp_json_str(env->body, "org", &org));
    mp_hex_encode(hash, env->hash, MP_HASH_BYTES);
    if (o->roster != NULL) {
        mp_pubkey coord;
        mp_roster *roster;
        mp_spec *spec;
        load_round(o, &coord, &roster, &spec, NULL);
        const mp_org *who = mp_roster_org_by_key(roster, env->signer);
        if (who == NULL || mp_envelope_verify(env, &who->key) != 0)
            die(EXIT_REFUSED, "%s: not signed by an organisation of the roster", path);
        mp_spec_free(spec);
        mp_roster_free(roster);
    }
    if (o->json) {
        printf("%s\n", env->text);
    } else {
        printf("%s message %s (sha256 %s)\n  round:     %s\n  from:      %s\n  signature: %s\n",
               env->type, path, hash, round_id, org,
               o->roster ? "verified against the roster"
                         : "not checked (give --roster, --round "
                           "and --coordinator-key)");
        if ((mp_json_arr(env->body, "boxes", &arr) == 0 ||
             mp_json_arr(env->body, "shares", &arr) == 0))
            printf("  entries:   %d\n", cJSON_GetArraySize(arr));
        printf("\nIt contains %s.\n", what);
    }
    mp_envelope_free(env);
    return 0;
}

static int cmd_show(const opts *o, const char *path)
{
    mp_envelope *env;
    const char *round_id = "?", *org = "?", *scheme = "?", *created = "?", *vec = "";
    long long cells = 0;
    char id[2 * MP_KEY_ID_BYTES + 1], hash[MP_HASH_HEX_BYTES];
    mp_spec *spec = NULL;
    mp_roster *roster = NULL;
    mp_pubkey coord;
    uint64_t *v = NULL;

    if (path == NULL)
        die(EXIT_USAGE, "show: which submission file? (see --help)");
    if (mp_envelope_load(&env, path, NULL) != 0)
        die_lib(EXIT_REFUSED);
    if (strcmp(env->type, "submission") != 0)
        return show_phase_message(o, env, path);
    (void)(mp_json_str(env->body, "round_id", &round_id) || mp_json_str(env->body, "org", &org) ||
           mp_json_str(env->body, "scheme", &scheme) ||
           mp_json_str(env->body, "created", &created) ||
           mp_json_int(env->body, "cells", 0, 1 << 24, &cells) ||
           mp_json_str(env->body, "masked", &vec));
    mp_hex_encode(id, env->signer, MP_KEY_ID_BYTES);
    mp_hex_encode(hash, env->hash, MP_HASH_BYTES);
    if (o->roster != NULL) {
        const mp_org *who;
        load_round(o, &coord, &roster, &spec, NULL);
        if ((v = calloc((size_t)spec->catalogue->ncells, sizeof *v)) == NULL ||
            mp_submission_check(env, spec, roster, &who, v) != 0)
            die_lib(EXIT_REFUSED);
    } else if (cells > 0) {
        if ((v = calloc((size_t)cells, sizeof *v)) == NULL ||
            mp_vec_decode(v, (size_t)cells, vec) != 0)
            die_lib(EXIT_REFUSED);
    }
    if (o->json) {
        printf("%s\n", env->text);
    } else {
        printf("Submission file %s (sha256 %s)\n", path, hash);
        printf("  round:      %s\n  from:       %s (signing key %s)\n  created:    %s\n"
               "  masking:    %s\n  cells:      %lld\n",
               round_id, org, id, created, scheme, cells);
        printf("  signature:  %s\n", spec ? "verified against the roster"
                                          : "not checked (give --roster, --round and "
                                            "--coordinator-key to check it)");
        printf("\nThis is everything the file contains. Each cell below is a count plus noise "
               "plus\nrandom masks modulo 2^64: on its own it is indistinguishable from a "
               "random\nnumber. Only the sum over all participants of the round can be "
               "opened.\nThe file holds no BSN, no pseudonym, no row count and no unmasked "
               "figure.\n\n");
        for (long long i = 0; v != NULL && i < cells; i++) {
            char name[128] = "";
            if (spec != NULL)
                mp_catalogue_cell_name(spec->catalogue, (size_t)i, name, sizeof name);
            printf("  %5lld  %-40s %016llx\n", i, name, (unsigned long long)v[i]);
        }
    }
    free(v);
    mp_spec_free(spec);
    mp_roster_free(roster);
    mp_envelope_free(env);
    return 0;
}

static void print_entry(const mp_ledger_entry *e, void *arg)
{
    const opts *o = arg;
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "round_id", e->round_id);
        cJSON_AddStringToObject(j, "org", e->org);
        cJSON_AddStringToObject(j, "created", e->created);
        cJSON_AddStringToObject(j, "round_sha256", e->round_sha256);
        cJSON_AddStringToObject(j, "masked_sha256", e->masked_sha256);
        cJSON_AddStringToObject(j, "submission_sha256", e->submission_sha256);
        cJSON_AddStringToObject(j, "series", e->series);
        cJSON_AddStringToObject(j, "rho", e->rho);
        print_json_line(j);
    } else
        printf("%-32s %-16s %s  series %s rho %s  submission sha256 %.16s...\n", e->round_id,
               e->org, e->created, e->series, e->rho, e->submission_sha256);
}

static int cmd_ledger(const opts *o)
{
    sqlite3 *db;
    need(o->ledger, "--ledger");
    if (mp_ledger_open(&db, o->ledger, 0) != 0 || mp_ledger_list(db, print_entry, (void *)o) != 0)
        die_lib(EXIT_USAGE);
    mp_store_close(db);
    return 0;
}

/* cancel: record the coordinator's signed cancellation of a round this organisation knows
 * (its round file, verified like every other command's). The round stays charged when this
 * organisation's masked input left for it (decisions R1); either way nothing more of it is
 * sent, and a bonawitz-v1 round's secrets are wiped so that no later unmask can be asked. */
static int cmd_cancel(const opts *o)
{
    mp_pubkey coord;
    mp_roster *roster;
    mp_spec *spec;
    mp_keypair *kp;
    mp_envelope *env;
    mp_roundctl_cancel rc;
    mp_ledger_cancel c = {0};
    mp_ledger_entry e;
    mp_ledger_sa sa = {0};
    sqlite3 *db;
    int listed, found, has_sa;
    need(o->cancellation, "--cancellation FILE (the coordinator's round-cancel document)");
    need(o->key, "--key");
    need(o->ledger, "--ledger");
    load_round(o, &coord, &roster, &spec, NULL);
    if (mp_keys_open(&kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
    if (mp_envelope_load(&env, o->cancellation, MP_ROUNDCTL_CANCEL_TYPE) != 0 ||
        mp_roundctl_cancel_check(env, spec, &coord, kp->pub.org, &rc, &listed) != 0)
        die(EXIT_REFUSED, "%s: refused: %s", o->cancellation, mp_error_get());
    if (mp_ledger_open(&db, o->ledger, 1) != 0)
        die_lib(EXIT_USAGE);
    ledger_owner_guard(db, o->ledger, kp->pub.org);
    found = mp_ledger_cancel_get(db, spec->round_id, &c);
    if (found < 0)
        die_lib(EXIT_USAGE);
    if (found) {
        printf("round %s: cancellation already recorded on %s (%s)\n", spec->round_id, c.recorded,
               c.charged ? "still charged" : "not charged");
        goto done;
    }
    if ((found = mp_ledger_find(db, spec->round_id, &e)) < 0 ||
        (has_sa = mp_ledger_sa_get(db, spec->round_id, &sa)) < 0)
        die_lib(EXIT_USAGE);
    snprintf(c.round_id, sizeof c.round_id, "%s", spec->round_id);
    mp_hex_encode(c.round_sha256, spec->env->hash, MP_HASH_BYTES);
    snprintf(c.series, sizeof c.series, "%s", spec->privacy.series);
    snprintf(c.rho, sizeof c.rho, "%s", spec->privacy.rho_text);
    snprintf(c.reason, sizeof c.reason, "%s", rc.reason);
    /* Its own record decides; a listing it has no record of (a ledger restored from an older
     * copy) is believed too, since believing it can only cost budget, never privacy. */
    c.charged = found || listed;
    if (has_sa) {
        sa.phase = MP_MEMBER_ABANDONED;
        sa.has_secrets = 0;
        sodium_memzero(sa.secrets, sizeof sa.secrets);
    }
    if (mp_store_begin(db) != 0 || mp_ledger_owner_set(db, kp->pub.org) != 0 ||
        mp_ledger_cancel_put(db, &c, env->text) != 0 ||
        (has_sa && mp_ledger_sa_put(db, &sa) != 0) || mp_store_commit(db) != 0) {
        mp_store_rollback(db);
        die_lib(EXIT_USAGE);
    }
    if (has_sa && mp_ledger_sa_scrub(db) != 0)
        die_lib(EXIT_USAGE);
    printf("round %s: cancellation recorded (%s). %s\n", spec->round_id, rc.reason,
           c.charged ? "This organisation's masked input had left for it, so its rho stays "
                       "charged to the series (and to the period)."
                     : "This organisation never submitted to it: it is not charged, and a new "
                       "round over the same period is judged without it.");
done:
    mp_ledger_sa_free(&sa);
    mp_store_close(db);
    mp_envelope_free(env);
    mp_keys_free(kp);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return 0;
}

static int cmd_budget(const opts *o)
{
    sqlite3 *db;
    char cap[32];
    double spent;
    int has;
    need(o->ledger, "--ledger");
    need(o->series, "--series");
    if (mp_ledger_open(&db, o->ledger, o->rho != NULL) != 0)
        die_lib(EXIT_USAGE);
    if (o->rho != NULL && mp_ledger_budget_set(db, o->series, o->rho) != 0)
        die_lib(EXIT_REFUSED);
    if (mp_ledger_spent(db, o->series, &spent) != 0 ||
        (has = mp_ledger_budget_get(db, o->series, cap)) < 0)
        die_lib(EXIT_USAGE);
    size_t charged = 0, free_ = 0;
    if (mp_ledger_cancel_count(db, o->series, 1, &charged) != 0 ||
        mp_ledger_cancel_count(db, o->series, 0, &free_) != 0)
        die_lib(EXIT_USAGE);
    if (o->json) {
        /* spent as before: a number of six significant digits (a raw JSON number). */
        char num[32];
        cJSON *j = cJSON_CreateObject();
        snprintf(num, sizeof num, "%.6g", spent);
        cJSON_AddStringToObject(j, "series", o->series);
        cJSON_AddRawToObject(j, "spent", num);
        if (has)
            cJSON_AddStringToObject(j, "cap", cap);
        else
            cJSON_AddNullToObject(j, "cap");
        cJSON_AddNumberToObject(j, "cancelled_charged", (double)charged);
        cJSON_AddNumberToObject(j, "cancelled_not_charged", (double)free_);
        print_json_line(j);
    } else
        printf("series %s: spent rho %.6g; own cap %s; cancelled rounds: %zu still charged "
               "(this organisation had submitted), %zu not charged\n",
               o->series, spent, has ? cap : "not set (the round's series budget applies)", charged,
               free_);
    mp_store_close(db);
    return 0;
}

static int cmd_resend(const opts *o)
{
    sqlite3 *db;
    char *text;
    size_t len;
    need(o->ledger, "--ledger");
    need(o->round_id, "--round");
    need(o->out, "--out");
    if (mp_ledger_open(&db, o->ledger, 0) != 0)
        die_lib(EXIT_USAGE);
    if (mp_ledger_submission(db, o->round_id, &text, &len) != 0)
        die_lib(EXIT_REFUSED);
    if (mp_file_write_atomic(o->out, text, len, 0644) != 0)
        die_lib(EXIT_USAGE);
    fprintf(stderr, "%s: wrote the stored submission for round %s to %s\n", prog, o->round_id,
            o->out);
    free(text);
    mp_store_close(db);
    return 0;
}

/* ---- certificates, rosters and the policy ------------------------------------------------ */

/* A key binding: this organisation's certificate key vouches for its mijlpaal keys (cert.h),
 * in an envelope signed by the mijlpaal key itself (it holds the secret half). */
static int cmd_certify(const opts *o)
{
    mp_keypair *kp;
    cJSON *binding, *body, *pk;
    char oin[MP_OIN_LEN + 1], *text;
    size_t len;
    need(o->key, "--key");
    need(o->cert, "--cert");
    need(o->cert_key, "--cert-key");
    need(o->out, "--out");
    if (mp_file_exists(o->out))
        die(EXIT_USAGE, "%s: already exists; choose another --out", o->out);
    if (mp_keys_open(&kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
    if (mp_binding_sign(&binding, oin, &kp->pub, o->cert, o->chain, o->cert_key,
                        o->cert_passphrase_file) != 0)
        die_lib(EXIT_REFUSED);
    if ((body = cJSON_CreateObject()) == NULL || mp_pubkey_to_json(&kp->pub, &pk) != 0)
        die(EXIT_USAGE, "out of memory");
    cJSON_AddNumberToObject(body, "mijlpaal_key_binding", 1);
    cJSON_AddItemToObject(body, "key", pk);
    cJSON_AddStringToObject(body, "oin", oin);
    cJSON_AddItemToObject(body, "binding", binding);
    if (mp_envelope_sign(&text, &len, "key-binding", body, kp) != 0 ||
        mp_file_write_atomic(o->out, text, len, 0644) != 0)
        die_lib(EXIT_USAGE);
    fprintf(stderr,
            "%s: wrote %s: the certificate of OIN %s vouches for the keys of %s. Send it to the "
            "coordinator instead of the bare public key.\n",
            prog, o->out, oin, kp->pub.org);
    free(text);
    cJSON_Delete(body);
    mp_keys_free(kp);
    return 0;
}

/* Co-sign a draft roster after checking every certificate and this organisation's policy. */
static int cmd_roster_sign(const opts *o)
{
    mp_pubkey coord;
    mp_roster *r;
    mp_keypair *kp;
    sqlite3 *db;
    cJSON *body;
    char *text, hash[MP_HASH_HEX_BYTES];
    size_t len;
    need(o->roster, "--roster (the draft roster from the coordinator)");
    need(o->coordinator_key, "--coordinator-key");
    need(o->key, "--key");
    need(o->ledger, "--ledger");
    need(o->out, "--out");
    if (mp_file_exists(o->out))
        die(EXIT_USAGE, "%s: already exists; choose another --out", o->out);
    mp_policy *pol = load_policy(o);
    if (mp_pubkey_load(&coord, o->coordinator_key) != 0)
        die_lib(EXIT_USAGE);
    if (mp_keys_open(&kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
    policy_owner(pol, kp);
    r = load_roster(o, pol, &coord, 0);
    if (r->agreed)
        die(EXIT_REFUSED, "%s: this roster is agreed already; co-sign the draft", o->roster);
    const mp_org *me = mp_roster_org(r, kp->pub.org);
    if (me == NULL || memcmp(me->key.key_id, kp->pub.key_id, MP_KEY_ID_BYTES) != 0)
        die(EXIT_REFUSED,
            "%s: refused: the roster does not enrol this organisation's key (%s) for %s: "
            "someone else's key is under its name",
            o->roster, o->key, kp->pub.org);
    mp_hex_encode(hash, r->draft_hash, MP_HASH_BYTES);
    printf("Roster of %s (%s), sha256 %s\n%zu members, each bound to its key by the region's CA:\n",
           r->region_name, r->region_id, hash, r->norgs);
    for (size_t i = 0; i < r->norgs; i++)
        printf("  %-16s OIN %s  %s (certificate: %s)\n", r->orgs[i].id, r->orgs[i].oin,
               r->orgs[i].name, r->orgs[i].cert_org);
    if (mp_roster_cosign_body(&body, r, kp->pub.org) != 0 ||
        mp_envelope_sign(&text, &len, "roster-cosign", body, kp) != 0)
        die_lib(EXIT_USAGE);
    if (mp_ledger_open(&db, o->ledger, 1) != 0)
        die_lib(EXIT_USAGE);
    if (mp_store_begin(db) != 0 || mp_ledger_roster_sign_note(db, hash, r->region_id) != 0 ||
        mp_store_commit(db) != 0) {
        mp_store_rollback(db);
        die_lib(EXIT_USAGE);
    }
    mp_store_close(db);
    if (mp_file_write_atomic(o->out, text, len, 0644) != 0)
        die_lib(EXIT_USAGE);
    fprintf(stderr,
            "%s: wrote %s: %s agrees to this roster. Send it to the coordinator; the roster "
            "takes effect once every member has signed.\n",
            prog, o->out, kp->pub.org);
    free(text);
    cJSON_Delete(body);
    mp_keys_free(kp);
    mp_roster_free(r);
    mp_policy_free(pol);
    return 0;
}

/* "ID=VALUE" into its two halves (value points into arg). */
static void split_pair(const char *arg, const char *flag, char id[MP_ORG_ID_MAX + 1],
                       const char **value)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg || (size_t)(eq - arg) > MP_ORG_ID_MAX || eq[1] == '\0')
        die(EXIT_USAGE, "%s %s: expected ID=VALUE", flag, arg);
    memcpy(id, arg, (size_t)(eq - arg));
    id[eq - arg] = '\0';
    *value = eq + 1;
}

/* Each "ID=VALUE" argument as {"id":ID, key:VALUE} in arr. */
static void add_pairs(cJSON *arr, const char *const *args, size_t n, const char *flag,
                      const char *key)
{
    for (size_t i = 0; i < n; i++) {
        char id[MP_ORG_ID_MAX + 1];
        const char *value;
        cJSON *e = cJSON_CreateObject();
        split_pair(args[i], flag, id, &value);
        cJSON_AddStringToObject(e, "id", id);
        cJSON_AddStringToObject(e, key, value);
        cJSON_AddItemToArray(arr, e);
    }
}

static long long whole(const char *v, const char *flag)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 0)
        die(EXIT_USAGE, "%s %s: expected a whole number", flag, v);
    return n;
}

static int cmd_policy_init(const opts *o)
{
    cJSON *p = cJSON_CreateObject();
    need(o->out, "--out (policy.json next to the keystore)");
    need(o->org, "--org (this organisation's id)");
    need(o->region, "--region (the region's id)");
    need(o->ca, "--ca (the trust file of the region's CA)");
    need(o->min_participants, "--min-participants");
    need(o->min_t, "--min-t");
    need(o->max_rho_round, "--max-rho-per-round");
    if (o->nmembers == 0)
        die(EXIT_USAGE, "missing --member ID=OIN, once per organisation of the region (from the "
                        "region's agreement and the OIN register, not from the coordinator)");
    if (o->nbudgets == 0)
        die(EXIT_USAGE, "missing --series-budget SERIES=RHO, once per series to take part in");
    cJSON_AddNumberToObject(p, "mijlpaal_policy", 1);
    cJSON_AddStringToObject(p, "org", o->org);
    cJSON_AddStringToObject(p, "region", o->region);
    cJSON_AddStringToObject(p, "ca_file", o->ca);
    if (o->crl != NULL)
        cJSON_AddStringToObject(p, "crl_file", o->crl);
    add_pairs(cJSON_AddArrayToObject(p, "organisations"), o->members, o->nmembers, "--member",
              "oin");
    cJSON_AddNumberToObject(p, "min_participants",
                            (double)whole(o->min_participants, "--min-participants"));
    cJSON_AddNumberToObject(p, "min_t", (double)whole(o->min_t, "--min-t"));
    cJSON_AddStringToObject(p, "max_rho_per_round", o->max_rho_round);
    if (o->max_rho_period != NULL)
        cJSON_AddStringToObject(p, "max_rho_per_period", o->max_rho_period);
    add_pairs(cJSON_AddArrayToObject(p, "series"), o->budgets, o->nbudgets, "--series-budget",
              "budget");
    if (mp_policy_write(o->out, p) != 0)
        die_lib(EXIT_USAGE);
    cJSON_Delete(p);
    /* Read it back as every command will, and show it. */
    mp_policy *pol;
    if (mp_policy_load(&pol, o->out) != 0)
        die_lib(EXIT_USAGE);
    mp_ca *ca;
    if (mp_ca_load(&ca, pol->ca_file, pol->crl_file) != 0)
        die(EXIT_USAGE, "%s written, but its CA file does not load: %s", o->out, mp_error_get());
    mp_ca_free(ca);
    fprintf(stderr,
            "%s: wrote %s: %s takes part only in rounds of region %s with these %zu "
            "organisations, at least %lld participants, noise for t >= %lld, rho <= %s per "
            "round and <= %s per data period, in %zu declared series.\n",
            prog, o->out, pol->org, pol->region, pol->norgs, pol->min_participants, pol->min_t,
            pol->max_rho_round_text, pol->max_rho_period_text, pol->nseries);
    mp_policy_free(pol);
    return 0;
}

static int cmd_policy_show(const opts *o)
{
    mp_policy *pol = load_policy(o);
    char *text = cJSON_Print(pol->json);
    if (text == NULL)
        die(EXIT_USAGE, "out of memory");
    if (o->json) {
        printf("%s\n", text);
    } else {
        printf("policy of %s for region %s (CA file %s%s%s)\n", pol->org, pol->region, pol->ca_file,
               pol->crl_file ? ", CRL " : "", pol->crl_file ? pol->crl_file : "");
        for (size_t i = 0; i < pol->norgs; i++)
            printf("  member %-16s OIN %s\n", pol->orgs[i].id, pol->orgs[i].oin);
        printf("  at least %lld participants, t >= %lld, rho <= %s per round, <= %s per period\n",
               pol->min_participants, pol->min_t, pol->max_rho_round_text,
               pol->max_rho_period_text);
        for (size_t i = 0; i < pol->nseries; i++)
            printf("  series %s: budget %s\n", pol->series[i].id, pol->series[i].budget_text);
    }
    free(text);
    mp_policy_free(pol);
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
    /* Two-word commands: "roster sign", "policy init", "policy show". */
    if (strcmp(cmd, "roster") == 0 || strcmp(cmd, "policy") == 0) {
        const char *sub = argc > 2 ? argv[2] : "";
        parse_opts(argc, argv, &o, 3);
        no_stray(argc, argv);
        if (strcmp(cmd, "roster") == 0 && strcmp(sub, "sign") == 0)
            return cmd_roster_sign(&o);
        if (strcmp(cmd, "policy") == 0 && strcmp(sub, "init") == 0)
            return cmd_policy_init(&o);
        if (strcmp(cmd, "policy") == 0 && strcmp(sub, "show") == 0)
            return cmd_policy_show(&o);
        die(EXIT_USAGE, "unknown command \"%s %s\" (see --help)", cmd, sub);
    }
    /* "resend --round ID" reads better than --round-id; --round means an ID there. */
    parse_opts(argc, argv, &o, 2);
    if (strcmp(cmd, "show") != 0)
        no_stray(argc, argv);
    if (strcmp(cmd, "certify") == 0)
        return cmd_certify(&o);
    if (strcmp(cmd, "witness") == 0)
        return cmd_witness(&o);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(&o);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(&o);
    if (strcmp(cmd, "submit") == 0)
        return cmd_submit(&o);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(&o);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(&o, optind < argc ? argv[optind] : NULL);
    if (strcmp(cmd, "ledger") == 0)
        return cmd_ledger(&o);
    if (strcmp(cmd, "advertise") == 0)
        return cmd_advertise(&o);
    if (strcmp(cmd, "share") == 0)
        return cmd_share(&o);
    if (strcmp(cmd, "confirm") == 0)
        return cmd_confirm(&o);
    if (strcmp(cmd, "unmask") == 0)
        return cmd_unmask(&o);
    if (strcmp(cmd, "status") == 0) {
        if (o.round_id == NULL)
            o.round_id = o.round;
        return cmd_status(&o);
    }
    if (strcmp(cmd, "budget") == 0)
        return cmd_budget(&o);
    if (strcmp(cmd, "cancel") == 0)
        return cmd_cancel(&o);
    if (strcmp(cmd, "abandon") == 0) {
        if (o.round_id == NULL)
            o.round_id = o.round;
        return cmd_abandon(&o);
    }
    if (strcmp(cmd, "forget") == 0) {
        if (o.round_id == NULL)
            o.round_id = o.round;
        return cmd_forget(&o);
    }
    if (strcmp(cmd, "resend") == 0) {
        if (o.round_id == NULL)
            o.round_id = o.round;
        return cmd_resend(&o);
    }
    die(EXIT_USAGE, "unknown command \"%s\" (see --help)", cmd);
}
