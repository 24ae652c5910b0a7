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
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canon.h"
#include "catalogue.h"
#include "date.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "ingest.h"
#include "keys.h"
#include "ledger.h"
#include "mask.h"
#include "noise.h"
#include "privacy.h"
#include "roster.h"
#include "secagg.h"
#include "skellam.h"
#include "spec.h"
#include "store.h"
#include "submission.h"

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

/* The library's last error, as a refusal (1) or a system error (2). */
static void die_lib(int code)
{
    die(code, "%s", mp_error_get());
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
            "      Create the organisation's keys. Send the public key file to the coordinator.\n"
            "  check   --input CSV --roster FILE --round FILE --coordinator-key FILE\n"
            "          [--mapping FILE] [--strict] [--json]\n"
            "      Validate an export against a round and report every excluded row by line\n"
            "      number and reason. Nothing is written.\n"
            "  submit  --input CSV --roster FILE --round FILE --coordinator-key FILE\n"
            "          --key FILE --ledger DB --out FILE [--shares FILE] [--mapping FILE]\n"
            "          [--strict] [--json] [--passphrase-file FILE] [--insecure-plaintext-key]\n"
            "      Count, add noise, mask, sign and write the submission for the round.\n"
            "      A bonawitz-v1 round needs --shares: the shares-ORG.json the coordinator sent\n"
            "      after the share phase.\n"
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
            "  budget  --ledger DB --series ID [--rho R] [--json]\n"
            "      Show what this organisation spent of a series' privacy budget; with --rho\n"
            "      set its own cap (submit refuses rounds that would exceed it).\n"
            "  resend  --ledger DB --round ID --out FILE\n"
            "      Write a stored submission again (a new one with fresh noise is refused).\n"
            "\n"
            "The passphrase of an encrypted key comes from --passphrase-file, the environment\n"
            "(MIJLPAAL_PASSPHRASE_FILE, MIJLPAAL_PASSPHRASE) or a prompt on the terminal.\n"
            "Exit codes: 0 ok, 1 refused (bad input, verification failed), 2 usage/system error.\n",
            prog);
}

typedef struct opts {
    const char *org, *secret_key, *public_key, *kdf, *passphrase_file, *input, *roster, *round,
        *coordinator_key, *mapping, *key, *ledger, *out, *round_id, *series, *rho, *keys,
        *survivors, *request, *shares;
    int insecure, strict, json;
} opts;

static void parse_opts(int argc, char **argv, opts *o)
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
        O_SHARES,
        O_HELP
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
        {"shares", required_argument, NULL, O_SHARES},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    optind = 2;
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
        case O_SHARES: o->shares = optarg; break;
        case 'h':
        case O_HELP: usage(stdout); exit(0);
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

/* Trusted coordinator key, verified roster and verified round. */
static void load_round(const opts *o, mp_pubkey *coord, mp_roster **roster, mp_spec **spec)
{
    need(o->roster, "--roster");
    need(o->round, "--round");
    need(o->coordinator_key, "--coordinator-key");
    if (mp_pubkey_load(coord, o->coordinator_key) != 0)
        die_lib(EXIT_USAGE);
    if (mp_roster_load(roster, o->roster, coord) != 0 || mp_spec_load(spec, o->round, *roster))
        die_lib(EXIT_REFUSED);
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

/* Progress on stderr, only for a person watching a terminal. */
static void show_progress(unsigned long records, void *arg)
{
    fprintf(stderr, "\r%s: %s: %lu rows read...", prog, (const char *)arg, records);
    fflush(stderr);
}

/* Ingest into counts (ncells); exits on a fatal file problem or a --strict refusal. */
static cJSON *ingest(const opts *o, const mp_roster *roster, const mp_spec *spec,
                     const unsigned char *prf_key, int64_t *counts)
{
    cJSON *report;
    mp_mapping *map = NULL;
    mp_ingest_report rep;
    int64_t now;
    need(o->input, "--input");
    if (o->mapping != NULL && mp_mapping_load(&map, o->mapping) != 0)
        die_lib(EXIT_REFUSED);
    if (mp_time_now(&now) != 0)
        die_lib(EXIT_USAGE);
    int tty = isatty(STDERR_FILENO);
    mp_ingest_params p = {o->input,
                          map,
                          roster,
                          spec->catalogue,
                          spec->period_start,
                          spec->period_end,
                          prf_key,
                          (int32_t)(now / 86400),
                          tty ? show_progress : NULL,
                          (void *)o->input};
    int rc = mp_ingest_count(&p, counts, &rep);
    if (tty && rep.records >= MP_INGEST_PROGRESS_ROWS)
        fprintf(stderr, "\r\033[K");
    mp_mapping_free(map);
    if (rc != 0)
        die_lib(EXIT_REFUSED);
    report = print_report(o, &rep);
    if (o->json && (rep.accepted == 0 || (o->strict && rep.excluded > 0)))
        print_json(report); /* the refusal below explains; the report shows where */
    if (rep.accepted == 0)
        die(EXIT_REFUSED, "%s: no valid rows; nothing to count", o->input);
    if (o->strict && rep.excluded > 0)
        die(EXIT_REFUSED,
            "%s: refused with --strict: %lu row(s) excluded (see above); fix the "
            "export or run without --strict to exclude them",
            o->input, rep.excluded);
    return report;
}

static int cmd_check(const opts *o)
{
    mp_pubkey coord;
    mp_roster *roster;
    mp_spec *spec;
    unsigned char prf[MP_PRF_KEY_BYTES];
    int64_t *counts;
    load_round(o, &coord, &roster, &spec);
    /* A throwaway key: check counts persons but keeps nothing. */
    randombytes_buf(prf, sizeof prf);
    if ((counts = calloc(spec->catalogue->ncells, sizeof *counts)) == NULL)
        die(EXIT_USAGE, "out of memory");
    cJSON *report = ingest(o, roster, spec, prf, counts);
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
            ledger, spec->round_id, sa->phase);
    if (mp_secagg_secrets_open(&s, sa->secrets, MP_SECAGG_SEALED_BYTES, kp, spec->env->hash,
                               kp->pub.org) != 0)
        die(EXIT_REFUSED, "%s: %s", ledger, mp_error_get());
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
    if (strcmp(sa->phase, "abandoned") == 0)
        die(EXIT_REFUSED,
            "%s: round %s was abandoned in this ledger (%s); this organisation takes no further "
            "part in it",
            ledger, sa->round_id, sa->updated);
}

static int cmd_submit(const opts *o)
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
    need(o->out, "--out");
    load_round(o, &coord, &roster, &spec);
    if (mp_keys_open(&kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
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
    if (mp_file_exists(o->out))
        die(EXIT_USAGE, "%s: already exists; choose another --out", o->out);
    /* Look in an existing ledger without creating one: a refused run leaves no file behind.
     * The organisation's own record of its privacy spend is what counts, not the round's. */
    int found = 0, capped = 0, advertised = 0;
    double spent = 0, cap = spec->privacy.series_rho;
    char own_cap[32] = "";
    mp_ledger_sa sa = {0};
    if (mp_file_exists(o->ledger)) {
        if (mp_ledger_open(&db, o->ledger, 0) != 0)
            die_lib(EXIT_USAGE);
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
            die(EXIT_REFUSED, "%s: refused: %s", o->shares, mp_error_get());
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
            die(EXIT_REFUSED, "%s: refused: %s", o->shares, mp_error_get());
        free(sa.shares);
        sa.shares = strdup(senv->text);
        mp_hex_encode(sa.advertised_sha256, view.advertised_hash, MP_HASH_BYTES);
        snprintf(sa.phase, sizeof sa.phase, "submitted");
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
    cJSON *report = ingest(o, roster, spec, kp->prf_key, counts);

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
    /* The ledger row commits before the file exists: a crash in between leaves a recorded
     * submission that `resend` writes out, never a file the ledger does not know (which could
     * tempt a second submission with fresh noise). */
    if (mp_store_begin(db) != 0 || mp_ledger_insert(db, &e, text, len) != 0 ||
        (spec->masking == MP_MASKING_BONAWITZ && mp_ledger_sa_put(db, &sa) != 0) ||
        mp_store_commit(db) != 0) {
        mp_store_rollback(db);
        mp_store_close(db);
        die_lib(EXIT_USAGE);
    }
    mp_store_close(db);
    if (mp_file_write_atomic(o->out, text, len, 0644) != 0)
        die(EXIT_USAGE,
            "%s; the submission is recorded in the ledger: write it with %s resend "
            "--ledger %s --round %s --out FILE",
            mp_error_get(), prog, o->ledger, spec->round_id);
    if (report != NULL) {
        cJSON_AddStringToObject(report, "round_id", spec->round_id);
        cJSON_AddStringToObject(report, "org", me->id);
        cJSON_AddStringToObject(report, "out", o->out);
        cJSON_AddNumberToObject(report, "cells", (double)d);
        cJSON_AddStringToObject(report, "submission_sha256", e.submission_sha256);
        print_json(report);
    } else
        fprintf(stderr,
                "%s: wrote %s: masked submission of %s for round %s (%zu cells, sha256 "
                "%.16s...)\n  Check what it reveals with: %s show %s\n",
                prog, o->out, me->id, spec->round_id, d, e.submission_sha256, prog, o->out);
    sodium_free(vec);
    cJSON_Delete(body);
    free(text);
    mp_secagg_view_free(&view);
    mp_ledger_sa_free(&sa);
    mp_keys_free(kp);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return 0;
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
} party;

/* Round, keys and ledger of a participant of a bonawitz-v1 round; the ledger row when any. */
static void party_open(const opts *o, party *p, int create_ledger)
{
    memset(p, 0, sizeof *p);
    need(o->key, "--key");
    need(o->ledger, "--ledger");
    load_round(o, &p->coord, &p->roster, &p->spec);
    if (p->spec->masking != MP_MASKING_BONAWITZ)
        die(EXIT_REFUSED,
            "round %s uses masking scheme %s: there is only one phase, submit (no "
            "advertise, confirm or unmask)",
            p->spec->round_id, mp_spec_scheme_name(p->spec));
    if (mp_keys_open(&p->kp, o->key, o->passphrase_file, o->insecure) != 0)
        die_lib(EXIT_USAGE);
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
    if ((p->has_sa = mp_ledger_sa_get(p->db, p->spec->round_id, &p->sa)) < 0)
        die_lib(EXIT_USAGE);
    if (p->has_sa)
        refuse_abandoned(&p->sa, o->ledger);
}

static void party_close(party *p)
{
    mp_ledger_sa_free(&p->sa);
    mp_store_close(p->db);
    mp_keys_free(p->kp);
    mp_spec_free(p->spec);
    mp_roster_free(p->roster);
}

/* Record the new phase, then write the message (a crash in between leaves a recorded message
 * that running the command again writes out, unchanged). */
static void party_commit_write(const opts *o, party *p, const char *text, size_t len)
{
    if (mp_store_begin(p->db) != 0 || mp_ledger_sa_put(p->db, &p->sa) != 0 ||
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
    snprintf(p.sa.phase, sizeof p.sa.phase, "advertised");
    p.sa.advertise = text;
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
        die(EXIT_REFUSED, "%s: refused: %s", o->keys, mp_error_get());
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
        die(EXIT_REFUSED, "%s: refused: %s", o->keys, mp_error_get());
    if (mp_secagg_share(&body, p.spec, &v, p.kp, sec) != 0)
        die_lib(EXIT_USAGE);
    mp_secagg_secrets_free(sec);
    text = sign_text("share", body, p.kp, &len);
    cJSON_Delete(body);
    snprintf(p.sa.phase, sizeof p.sa.phase, "shared");
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
    if (!p.has_sa || strcmp(p.sa.phase, "advertised") == 0 || strcmp(p.sa.phase, "shared") == 0) {
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
        die(EXIT_REFUSED, "%s: %s", o->survivors, mp_error_get());
    if (mp_secagg_consistency(&body, p.spec, p.kp->pub.org, surv->hash) != 0)
        die_lib(EXIT_USAGE);
    text = sign_text("consistency", body, p.kp, &len);
    snprintf(p.sa.phase, sizeof p.sa.phase, "confirmed");
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
        die(EXIT_REFUSED, "%s: %s", o->request, mp_error_get());
    if (p.sa.unmask != NULL) {
        write_again(o, p.sa.unmask, "the unmask message");
    } else {
        mp_secagg_secrets *sec = ledger_secrets(&p.sa, p.kp, p.spec, o->ledger);
        if (mp_secagg_unmask(&body, p.spec, &v, shares, p.kp, sec, surv->hash) != 0)
            die_lib(EXIT_REFUSED);
        mp_secagg_secrets_free(sec);
        text = sign_text("unmask", body, p.kp, &len);
        cJSON_Delete(body);
        snprintf(p.sa.phase, sizeof p.sa.phase, "unmasked");
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
                prog, o->round_id, o->ledger, sa.phase);
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
    if (strcmp(sa.phase, "abandoned") != 0) {
        snprintf(sa.phase, sizeof sa.phase, "abandoned");
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

static const char *next_step(const char *phase)
{
    if (strcmp(phase, "advertised") == 0)
        return "wait for keys.json from the coordinator, then: share --keys FILE";
    if (strcmp(phase, "shared") == 0)
        return "wait for shares-ORG.json from the coordinator, then: submit --shares FILE";
    if (strcmp(phase, "submitted") == 0)
        return "wait for survivors.json, then: confirm --survivors FILE";
    if (strcmp(phase, "confirmed") == 0)
        return "wait for unmask-request.json, then: unmask --request FILE";
    if (strcmp(phase, "abandoned") == 0)
        return "none: abandoned, this organisation takes no further part";
    return "done: nothing more to send for this round";
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
    if (a->o->json)
        printf("{\"round_id\":\"%s\",\"org\":\"%s\",\"masking\":\"%s\",\"phase\":\"%s\","
               "\"updated\":\"%s\",\"next\":\"%s\"}\n",
               s->round_id, s->org, MP_SCHEME_BONAWITZ, s->phase, s->updated, next_step(s->phase));
    else
        printf("%-32s %-16s %-10s %s  next: %s\n", s->round_id, s->org, s->phase, s->updated,
               next_step(s->phase));
}

static void print_pairwise(const mp_ledger_entry *e, void *arg)
{
    status_arg *a = arg;
    if (a->o->round_id != NULL && strcmp(a->o->round_id, e->round_id) != 0)
        return;
    a->n++;
    if (a->o->json)
        printf("{\"round_id\":\"%s\",\"org\":\"%s\",\"masking\":\"%s\",\"phase\":"
               "\"submitted\",\"updated\":\"%s\",\"next\":\"done\"}\n",
               e->round_id, e->org, MP_SCHEME_PAIRWISE, e->created);
    else
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
        load_round(o, &coord, &roster, &spec);
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
        load_round(o, &coord, &roster, &spec);
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
    if (o->json)
        printf("{\"round_id\":\"%s\",\"org\":\"%s\",\"created\":\"%s\",\"round_sha256\":\"%s\","
               "\"masked_sha256\":\"%s\",\"submission_sha256\":\"%s\",\"series\":\"%s\","
               "\"rho\":\"%s\"}\n",
               e->round_id, e->org, e->created, e->round_sha256, e->masked_sha256,
               e->submission_sha256, e->series, e->rho);
    else
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
    if (o->json)
        printf("{\"series\":\"%s\",\"spent\":%.6g,\"cap\":%s%s%s}\n", o->series, spent,
               has ? "\"" : "", has ? cap : "null", has ? "\"" : "");
    else
        printf("series %s: spent rho %.6g; own cap %s\n", o->series, spent,
               has ? cap : "not set (the round's series budget applies)");
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
    /* "resend --round ID" reads better than --round-id; --round means an ID there. */
    parse_opts(argc, argv, &o);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(&o);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(&o);
    if (strcmp(cmd, "submit") == 0)
        return cmd_submit(&o);
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
