/*
 * test_aggregate.c - the aggregator's store and round state machine (protocol/round/aggregate.c):
 * a real signed roster and round for Midden-Utrecht, six masked submissions of known plain
 * vectors, every refusal checked to leave the store exactly as it was.
 */
#include "testutil.h"
#include "testdb.h"
#include "testworld.h"

#include <dirent.h>
#include <sys/stat.h>

#include "aggregate.h"
#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "fileio.h"
#include "keys.h"
#include "mask.h"
#include "roster.h"
#include "spec.h"
#include "store.h"
#include "submission.h"

#define NCELLS 5
#define DEADLINE "2026-02-01T12:00:00Z"

/* Cells: 0 stand total, 1..3 stand by sex (m, v, x); 4 werkend total. */
static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"T\",\"dimensions\":{"
    "\"sex\":{\"title\":\"Geslacht\",\"bands\":[{\"label\":\"man\",\"sex\":\"M\"},{\"label\":"
    "\"vrouw\",\"sex\":\"V\"},{\"label\":\"onbekend\",\"sex\":\"X\"}]}},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"sex\"]},"
    "{\"id\":\"werkend\",\"title\":\"Werkend\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"also_active\":[\"baan\"]}],"
    "\"rates\":[{\"id\":\"aandeel\",\"title\":\"Aandeel werkend\",\"numerator\":\"werkend\","
    "\"denominator\":\"stand\"}]}";

typedef struct world {
    char *dir, *roster_path, *round_path, *db_path;
    mp_keypair *coord, *orgs[NORGS];
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
    mp_spec *spec;
    sqlite3 *db;
    uint64_t plain[NORGS][NCELLS];
    char *sub[NORGS]; /* a valid submission file per organisation (index as org_ids) */
} world;

/* A round of series "mu" with budget 1.5 (deadline DEADLINE). */
static mp_spec_params round_params(const char *round_id)
{
    return tw_round_params(round_id, "1.5");
}

/* Build, sign and write a round; returns its path and (when spec != NULL) loads it. */
static char *write_round(world *w, const mp_spec_params *p, const char *name, mp_spec **spec)
{
    return tw_write_round(w->dir, w->coord, w->roster, w->catalogue, p, name, spec);
}

static int org_index(const char *id)
{
    for (int i = 0; i < NORGS; i++)
        if (strcmp(org_ids[i], id) == 0)
            return i;
    return -1;
}

/* The masked submission body of organisation i (index in org_ids) for `spec`. */
static cJSON *submission_body(world *w, const mp_spec *spec, int i, const uint64_t *plain)
{
    mp_pubkey peers[NORGS];
    uint64_t vec[NCELLS];
    cJSON *body;
    assert_true(spec->nparticipants <= NORGS);
    for (size_t k = 0; k < spec->nparticipants; k++)
        peers[k] = w->pubs[org_index(spec->participants[k])];
    memcpy(vec, plain, sizeof vec);
    assert_int_equal(
        mp_mask_apply(vec, NCELLS, w->orgs[i], peers, spec->nparticipants, spec->env->hash), 0);
    assert_int_equal(mp_submission_build(&body, spec, org_ids[i], vec, NCELLS), 0);
    return body;
}

static char *write_submission(world *w, const mp_spec *spec, int i, const uint64_t *plain,
                              const char *name)
{
    cJSON *body = submission_body(w, spec, i, plain);
    char *path = tw_write_signed(w->dir, name, "submission", body, w->orgs[i]);
    cJSON_Delete(body);
    return path;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-01-15T09:00:00Z", 1), 0);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    w->roster_path = tw_roster(&w->roster, w->dir, w->coord, w->pubs);
    assert_int_equal(mp_canon_parse(&w->catalogue, catalogue_json, sizeof catalogue_json - 1), 0);
    mp_spec_params p = round_params("mu-2025");
    w->round_path = write_round(w, &p, "round.json", &w->spec);
    assert_int_equal(w->spec->catalogue->ncells, NCELLS);
    assert_int_equal(w->spec->nparticipants, NORGS);
    /* Plain vectors (counts plus some noise, negative values too): stand = 100 + 10 i split
     * over the sexes, werkend = 7 i - 2. */
    for (int i = 0; i < NORGS; i++) {
        int64_t v[NCELLS] = {100 + 10 * i, 60 + 5 * i, 38 + 5 * i, 2, 7 * i - 2};
        for (int c = 0; c < NCELLS; c++)
            w->plain[i][c] = (uint64_t)v[c];
        char name[64];
        snprintf(name, sizeof name, "sub-%s.json", org_ids[i]);
        w->sub[i] = write_submission(w, w->spec, i, w->plain[i], name);
    }
    w->db_path = tu_path(w->dir, "aggregator.db");
    if (mp_agg_open(&w->db, w->db_path, 1) != 0)
        fail_msg("open: %s", mp_error_get());
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_store_close(w->db);
    mp_spec_free(w->spec);
    mp_roster_free(w->roster);
    tw_keys_free(w->coord, w->orgs);
    for (int i = 0; i < NORGS; i++)
        free(w->sub[i]);
    cJSON_Delete(w->catalogue);
    free(w->roster_path);
    free(w->round_path);
    free(w->db_path);
    tu_rmdir(w->dir);
    free(w);
    unsetenv("MIJLPAAL_NOW");
    return 0;
}

static void open_round(world *w)
{
    if (mp_agg_round_create(w->db, w->roster_path, w->round_path, &w->coord->pub) != 0)
        fail_msg("round create: %s", mp_error_get());
}

static void import_ok(world *w, int i)
{
    char org[MP_ORG_ID_MAX + 1], rid[65];
    mp_error_clear();
    if (mp_agg_import(w->db, w->sub[i], &w->coord->pub, org, rid) != 0)
        fail_msg("import %s: %s", org_ids[i], mp_error_get());
    assert_string_equal(org, org_ids[i]);
    assert_string_equal(rid, "mu-2025");
}

/* Import must fail with a reason containing `why` and leave the store byte for byte as it
 * was, with no transaction left open. */
static void import_refused(world *w, const char *path, const char *why)
{
    char org[MP_ORG_ID_MAX + 1], rid[65];
    char *before = tdb_dump(w->db);
    mp_error_clear();
    if (mp_agg_import(w->db, path, &w->coord->pub, org, rid) == 0) {
        free(before);
        fail_msg("%s: accepted, expected a refusal (%s)", path, why);
    }
    if (strstr(mp_error_get(), why) == NULL) {
        free(before);
        fail_msg("%s: reason \"%s\" does not mention \"%s\"", path, mp_error_get(), why);
    }
    assert_int_equal(sqlite3_get_autocommit(w->db), 1);
    char *after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- open and round create --------------------------------------------------------------- */

static void test_open_creates_wal_store(void **state)
{
    world *w = *state;
    char *mode = tdb_text(w->db, "PRAGMA journal_mode", 1);
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(tdb_int(w->db, "PRAGMA user_version"), 6);
    assert_int_equal(tdb_int(w->db, "PRAGMA application_id"), MP_APP_AGGREGATOR);
    assert_int_equal(tdb_int(w->db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                    "AND name IN ('rounds','submissions','releases','log')"),
                     4);
    /* Version 2 added the series budget columns. */
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM pragma_table_info('rounds') "
                                    "WHERE name IN ('series', 'rho')"),
                     2);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"),
                     2);
    /* Version 3 added the bonawitz-v1 phase and its message tables. */
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                    "AND name IN ('sa_messages','sa_outgoing')"),
                     2);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM pragma_table_info('rounds') "
                                    "WHERE name = 'phase'"),
                     1);

    /* Reopening an existing store without create works and migrates nothing. */
    sqlite3 *db2 = NULL;
    char *before = tdb_dump(w->db);
    if (mp_agg_open(&db2, w->db_path, 0) != 0)
        fail_msg("reopen: %s", mp_error_get());
    char *again = tdb_dump(db2);
    assert_string_equal(before, again);
    mp_store_close(db2);
    free(before);
    free(again);

    /* A store that does not exist is not created without create. */
    char *none = tu_path(w->dir, "none.db");
    db2 = NULL;
    assert_int_equal(mp_agg_open(&db2, none, 0), -1);
    assert_null(db2);
    assert_false(mp_file_exists(none));
    free(none);

    /* A SQLite file of another application is refused. */
    char *other = tu_path(w->dir, "other.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(other, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw, "PRAGMA application_id=1234; CREATE TABLE x(a)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(raw);
    db2 = NULL;
    assert_int_equal(mp_agg_open(&db2, other, 1), -1);
    assert_non_null(strstr(mp_error_get(), "not a store of this program"));
    free(other);
}

static void test_round_create(void **state)
{
    world *w = *state;
    char rid[65];
    double spent;
    assert_int_equal(mp_agg_latest_round(w->db, rid), -1);
    open_round(w);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM rounds"), 1);
    char *st = tdb_text(w->db, "SELECT state FROM rounds WHERE round_id = 'mu-2025'", 1);
    assert_string_equal(st, "open");
    free(st);
    /* What was stored is exactly the signed files, and the round's hash. */
    unsigned char *file;
    size_t len;
    char hex[MP_HASH_HEX_BYTES];
    assert_int_equal(mp_file_read(w->round_path, 1 << 20, &file, &len), 0);
    char *spec_text = tdb_text(w->db, "SELECT spec FROM rounds", 1);
    assert_string_equal(spec_text, (const char *)file);
    mp_hash_hex(hex, file, len);
    char *h = tdb_text(w->db, "SELECT round_sha256 FROM rounds", 1);
    assert_string_equal(h, hex);
    free(h);
    free(spec_text);
    free(file);
    assert_int_equal(mp_file_read(w->roster_path, 1 << 20, &file, &len), 0);
    char *roster_text = tdb_text(w->db, "SELECT roster FROM rounds", 1);
    assert_string_equal(roster_text, (const char *)file);
    free(roster_text);
    free(file);
    assert_int_equal(mp_agg_latest_round(w->db, rid), 0);
    assert_string_equal(rid, "mu-2025");
    assert_int_equal(mp_agg_series_spent(w->db, "mu", NULL, &spent), 0);
    assert_true(spent == 1.0);
    assert_int_equal(mp_agg_series_spent(w->db, "mu", "mu-2025", &spent), 0);
    assert_true(spent == 0.0);

    /* The loaded round is the one stored. */
    mp_roster *r;
    mp_spec *s;
    assert_int_equal(mp_agg_round_load(w->db, "mu-2025", &w->coord->pub, &r, &s), 0);
    assert_memory_equal(s->env->hash, w->spec->env->hash, MP_HASH_BYTES);
    mp_spec_free(s);
    mp_roster_free(r);
    assert_int_equal(mp_agg_round_load(w->db, "mu-2099", &w->coord->pub, &r, &s), -1);
    assert_null(r);
    assert_null(s);

    /* The same round twice. */
    char *before = tdb_dump(w->db);
    assert_int_equal(mp_agg_round_create(w->db, w->roster_path, w->round_path, &w->coord->pub), -1);
    assert_non_null(strstr(mp_error_get(), "already exists"));
    char *after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);

    /* A second round of rho 1 in the series of 1.5 that already holds one of rho 1. */
    mp_spec_params p = round_params("mu-2026");
    char *second = write_round(w, &p, "round2.json", NULL);
    assert_int_equal(mp_agg_round_create(w->db, w->roster_path, second, &w->coord->pub), -1);
    assert_non_null(strstr(mp_error_get(), "over budget"));
    assert_int_equal(sqlite3_get_autocommit(w->db), 1);
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);

    /* A round of the series declaring it spent nothing before, with room in the budget, is
     * still refused: the store knows of rho 1 spent. */
    p.rho = "0.5";
    char *third = write_round(w, &p, "round3.json", NULL);
    assert_int_equal(mp_agg_round_create(w->db, w->roster_path, third, &w->coord->pub), -1);
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);
    /* ... and accepted when it declares what was spent. */
    p.series_spent = 1;
    char *fourth = write_round(w, &p, "round4.json", NULL);
    if (mp_agg_round_create(w->db, w->roster_path, fourth, &w->coord->pub) != 0)
        fail_msg("round with declared spending: %s", mp_error_get());
    assert_int_equal(mp_agg_series_spent(w->db, "mu", NULL, &spent), 0);
    assert_true(spent == 1.5);
    assert_int_equal(mp_agg_latest_round(w->db, rid), 0);
    assert_string_equal(rid, "mu-2026");

    /* A round checked against another coordinator key. */
    mp_keypair *other;
    assert_int_equal(mp_keys_generate(&other, "coordinator"), 0);
    free(before);
    before = tdb_dump(w->db);
    assert_int_equal(mp_agg_round_create(w->db, w->roster_path, w->round_path, &other->pub), -1);
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);
    mp_keys_free(other);
    free(before);
    free(second);
    free(third);
    free(fourth);
}

/* ---- import ------------------------------------------------------------------------------ */

/* Replace the string member `key` of a JSON object. */
static void set_str(cJSON *o, const char *key, const char *v)
{
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateString(v)));
}

static void test_import(void **state)
{
    world *w = *state;
    mp_round_status s;

    /* No round yet: a submission for it is refused. */
    import_refused(w, w->sub[0], "no round");
    open_round(w);

    /* Five of the six, in the order of org_ids; uwv is kept for the deadline checks. */
    for (int i = 0; i < NORGS - 1; i++)
        import_ok(w, i);
    assert_int_equal(tdb_int(w->db, "SELECT count(*) FROM submissions"), NORGS - 1);

    /* The exact same file again, and the same envelope with other whitespace. */
    import_refused(w, w->sub[0], "utrecht");
    unsigned char *text;
    size_t len;
    assert_int_equal(mp_file_read(w->sub[1], 1 << 20, &text, &len), 0);
    char *spaced = tu_path(w->dir, "spaced.json");
    {
        char *buf = malloc(len + 3);
        assert_non_null(buf);
        buf[0] = ' ';
        memcpy(buf + 1, text, len);
        buf[len + 1] = '\n';
        tu_write(spaced, buf, len + 2);
        free(buf);
        free(text);
    }
    import_refused(w, spaced, "stichtse-vecht");

    /* A second submission of lekstroom with other bytes. */
    uint64_t other_plain[NCELLS] = {1, 1, 0, 0, 0};
    char *second = write_submission(w, w->spec, 2, other_plain, "sub-lekstroom-2.json");
    import_refused(w, second, "already has a submission");

    /* A submission for a round that is not in this store (signed, valid for that round). */
    mp_spec_params p = round_params("mu-2026");
    mp_spec *spec2;
    char *round2 = write_round(w, &p, "round2.json", &spec2);
    char *for2 = write_submission(w, spec2, 5, w->plain[5], "sub-uwv-round2.json");
    import_refused(w, for2, "mu-2026");
    /* ... and one made for that round but claiming this round's id (cross-round replay). */
    cJSON *body = submission_body(w, spec2, 5, w->plain[5]);
    set_str(body, "round_id", "mu-2025");
    char *replay = tw_write_signed(w->dir, "sub-uwv-replay.json", "submission", body, w->orgs[5]);
    cJSON_Delete(body);
    import_refused(w, replay, "round_sha256");

    /* Signed by a key that is not in the roster, for an organisation that is. */
    mp_keypair *stranger;
    assert_int_equal(mp_keys_generate(&stranger, "uwv"), 0);
    body = submission_body(w, w->spec, 5, w->plain[5]);
    char *forged = tw_write_signed(w->dir, "sub-forged.json", "submission", body, stranger);
    import_refused(w, forged, "not in the roster");
    /* Signed by a roster organisation for another one. */
    char *other_org = tw_write_signed(w->dir, "sub-other-org.json", "submission", body, w->orgs[0]);
    import_refused(w, other_org, "claims to be from uwv");
    cJSON_Delete(body);

    /* A flipped byte inside the masked vector: the signature no longer verifies. */
    assert_int_equal(mp_file_read(w->sub[5], 1 << 20, &text, &len), 0);
    char *m = strstr((char *)text, "\"masked\":\"");
    assert_non_null(m);
    m += strlen("\"masked\":\"") + 5;
    *m = *m == 'A' ? 'B' : 'A';
    char *flipped = tu_path(w->dir, "sub-flipped.json");
    tu_write(flipped, text, len);
    free(text);
    import_refused(w, flipped, "");
    assert_true(strlen(mp_error_get()) > 0);
    /* A flipped byte in the signature. */
    assert_int_equal(mp_file_read(w->sub[5], 1 << 20, &text, &len), 0);
    m = strstr((char *)text, "\"sig\":\"");
    assert_non_null(m);
    m += strlen("\"sig\":\"") + 10;
    *m = *m == 'A' ? 'B' : 'A';
    char *badsig = tu_path(w->dir, "sub-badsig.json");
    tu_write(badsig, text, len);
    free(text);
    import_refused(w, badsig, "");
    /* Not JSON at all, and a file that does not exist. */
    char *garbage = tu_path(w->dir, "garbage.json");
    tu_write(garbage, "{\"body\":", 8);
    import_refused(w, garbage, "garbage.json");
    char *missing = tu_path(w->dir, "missing.json");
    import_refused(w, missing, "missing.json");

    /* uwv's valid submission one second after the deadline, then exactly at it. */
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-02-01T12:00:01Z", 1), 0);
    import_refused(w, w->sub[5], "deadline");
    assert_int_equal(setenv("MIJLPAAL_NOW", DEADLINE, 1), 0);
    import_ok(w, 5);
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-01-20T09:00:00Z", 1), 0);

    /* Every stored submission is the file's bytes, under the file's hash. */
    for (int i = 0; i < NORGS; i++) {
        char sql[160], hex[MP_HASH_HEX_BYTES];
        assert_int_equal(mp_file_read(w->sub[i], 1 << 20, &text, &len), 0);
        snprintf(sql, sizeof sql, "SELECT submission FROM submissions WHERE org = '%s'",
                 org_ids[i]);
        char *stored = tdb_text(w->db, sql, 1);
        assert_string_equal(stored, (const char *)text);
        free(stored);
        snprintf(sql, sizeof sql, "SELECT submission_sha256 FROM submissions WHERE org = '%s'",
                 org_ids[i]);
        stored = tdb_text(w->db, sql, 1);
        mp_hash_hex(hex, text, len);
        assert_string_equal(stored, hex);
        free(stored);
        free(text);
    }
    assert_int_equal(mp_agg_status(w->db, w->spec, &s), 0);
    assert_string_equal(s.state, "open");
    assert_int_equal(s.nsubmitted, NORGS);
    assert_int_equal(s.nmissing, 0);

    /* A duplicate after all are in is still refused without a trace. */
    import_refused(w, w->sub[3], "fermwerk");

    mp_keys_free(stranger);
    mp_spec_free(spec2);
    free(spaced);
    free(second);
    free(round2);
    free(for2);
    free(replay);
    free(forged);
    free(other_org);
    free(flipped);
    free(badsig);
    free(garbage);
    free(missing);
}

/* Re-importing the same file is reported as what it is: mp_agg_import has a reason for it ("this
 * submission of ORG was imported before (duplicate or replay)"), distinct from the one for a
 * second, different submission of the same organisation. */
static void test_import_duplicate_named_as_duplicate(void **state)
{
    world *w = *state;
    open_round(w);
    import_ok(w, 0);
    import_refused(w, w->sub[0], "imported before");
}

/* ---- status, close, publish -------------------------------------------------------------- */

static void expected_sum(const world *w, uint64_t sum[NCELLS])
{
    memset(sum, 0, NCELLS * sizeof *sum);
    for (int i = 0; i < NORGS; i++)
        for (int c = 0; c < NCELLS; c++)
            sum[c] += w->plain[i][c];
}

static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strstr(e->d_name, needle) != NULL)
            n++;
    closedir(d);
    return n;
}

static void assert_same_file(const char *a, const char *b)
{
    unsigned char *x, *y;
    size_t lx, ly;
    if (mp_file_read(a, 1 << 24, &x, &lx) != 0 || mp_file_read(b, 1 << 24, &y, &ly) != 0)
        fail_msg("read: %s", mp_error_get());
    assert_int_equal(lx, ly);
    assert_memory_equal(x, y, lx);
    free(x);
    free(y);
}

/* Run the whole round: open, import all, close, publish into dir/release. */
static char *full_round(world *w)
{
    open_round(w);
    for (int i = 0; i < NORGS; i++)
        import_ok(w, i);
    if (mp_agg_close(w->db, "mu-2025", &w->coord->pub) != 0)
        fail_msg("close: %s", mp_error_get());
    char *out = tu_path(w->dir, "release");
    if (mp_agg_publish(w->db, "mu-2025", w->coord, out) != 0)
        fail_msg("publish: %s", mp_error_get());
    return out;
}

static void test_status_close_publish(void **state)
{
    world *w = *state;
    mp_round_status s;
    char *before, *after;
    uint64_t sum[NCELLS], got[NCELLS];
    open_round(w);

    /* Status before any submission, and with all but uwv. */
    assert_int_equal(mp_agg_status(w->db, w->spec, &s), 0);
    assert_string_equal(s.state, "open");
    assert_int_equal(s.nparticipants, NORGS);
    assert_int_equal(s.nsubmitted, 0);
    assert_int_equal(s.nmissing, NORGS);
    assert_string_equal(s.deadline, DEADLINE);
    for (int i = 0; i < NORGS - 1; i++)
        import_ok(w, i);
    assert_int_equal(mp_agg_status(w->db, w->spec, &s), 0);
    assert_int_equal(s.nsubmitted, NORGS - 1);
    assert_int_equal(s.nmissing, 1);
    assert_string_equal(s.missing[0], "uwv");
    /* Submitted in the spec's (sorted) order. */
    static const char *const sorted[NORGS - 1] = {"fermwerk", "lekstroom", "rsd-krh",
                                                  "stichtse-vecht", "utrecht"};
    for (int i = 0; i < NORGS - 1; i++)
        assert_string_equal(s.submitted[i], sorted[i]);

    /* Close refused while uwv is missing; the reason names it. */
    before = tdb_dump(w->db);
    assert_int_equal(mp_agg_close(w->db, "mu-2025", &w->coord->pub), -1);
    assert_non_null(strstr(mp_error_get(), "uwv"));
    assert_non_null(strstr(mp_error_get(), "1 of 6"));
    assert_int_equal(sqlite3_get_autocommit(w->db), 1);
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);

    /* Publish refused while open. */
    char *out = tu_path(w->dir, "release");
    assert_int_equal(mp_agg_publish(w->db, "mu-2025", w->coord, out), -1);
    assert_non_null(strstr(mp_error_get(), "open"));
    assert_false(mp_file_exists(out));
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);
    free(before);
    /* Close of a round that does not exist. */
    assert_int_equal(mp_agg_close(w->db, "mu-2099", &w->coord->pub), -1);

    /* The last one comes in; close opens the exact sum. */
    import_ok(w, 5);
    if (mp_agg_close(w->db, "mu-2025", &w->coord->pub) != 0)
        fail_msg("close: %s", mp_error_get());
    assert_int_equal(mp_agg_status(w->db, w->spec, &s), 0);
    assert_string_equal(s.state, "closed");
    expected_sum(w, sum);
    char *stored = tdb_text(w->db, "SELECT sum FROM rounds WHERE round_id = 'mu-2025'", 1);
    assert_int_equal(mp_vec_decode(got, NCELLS, stored), 0);
    assert_memory_equal(got, sum, sizeof sum);
    free(stored);
    /* A closed round takes no more submissions. */
    import_refused(w, w->sub[0], "closed");

    /* Close a second time. */
    before = tdb_dump(w->db);
    assert_int_equal(mp_agg_close(w->db, "mu-2025", &w->coord->pub), -1);
    assert_non_null(strstr(mp_error_get(), "already closed"));
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);

    /* Publish into a directory that exists. */
    char *exists = tu_path(w->dir, "exists");
    assert_int_equal(mkdir(exists, 0755), 0);
    assert_int_equal(mp_agg_publish(w->db, "mu-2025", w->coord, exists), -1);
    assert_non_null(strstr(mp_error_get(), "already exists"));
    assert_int_equal(count_entries(exists, ""), 0);
    assert_int_equal(count_entries(w->dir, ".tmp."), 0);
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);
    free(before);
    /* Publish signed by another coordinator key: the stored round does not verify under it. */
    mp_keypair *other;
    assert_int_equal(mp_keys_generate(&other, "coordinator"), 0);
    assert_int_equal(mp_agg_publish(w->db, "mu-2025", other, out), -1);
    assert_false(mp_file_exists(out));
    mp_keys_free(other);

    /* Publish. */
    if (mp_agg_publish(w->db, "mu-2025", w->coord, out) != 0)
        fail_msg("publish: %s", mp_error_get());
    assert_int_equal(count_entries(w->dir, ".tmp."), 0);
    static const char *const files[] = {"release.json", "release.csv", "report.html",
                                        "report.pdf",   "roster.json", "round.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *f = tu_path(out, files[i]);
        struct stat stt;
        assert_int_equal(stat(f, &stt), 0);
        assert_true(S_ISREG(stt.st_mode) && stt.st_size > 0);
        free(f);
    }
    assert_int_equal(count_entries(out, ""), 7); /* the six files and submissions/ */
    char *subdir = tu_path(out, "submissions");
    assert_int_equal(count_entries(subdir, ".json"), NORGS);
    for (int i = 0; i < NORGS; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.json", org_ids[i]);
        char *f = tu_path(subdir, name);
        assert_same_file(f, w->sub[i]);
        free(f);
    }
    char *f = tu_path(out, "round.json");
    assert_same_file(f, w->round_path);
    free(f);
    f = tu_path(out, "roster.json");
    assert_same_file(f, w->roster_path);
    free(f);

    /* The release: signed by the coordinator, its sum the sum of the plain vectors. */
    mp_envelope *env;
    f = tu_path(out, "release.json");
    if (mp_envelope_load(&env, f, "release") != 0)
        fail_msg("release: %s", mp_error_get());
    assert_int_equal(mp_envelope_verify(env, &w->coord->pub), 0);
    const char *b64, *rid;
    assert_int_equal(mp_json_str(env->body, "sum", &b64), 0);
    assert_int_equal(mp_vec_decode(got, NCELLS, b64), 0);
    assert_memory_equal(got, sum, sizeof sum);
    assert_int_equal(mp_json_str(env->body, "round_id", &rid), 0);
    assert_string_equal(rid, "mu-2025");
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(env->body, "cells");
    assert_int_equal(cJSON_GetArraySize(cells), NCELLS);
    for (int c = 0; c < NCELLS; c++) {
        const cJSON *noisy =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cells, c), "noisy");
        assert_true(cJSON_IsNumber(noisy));
        assert_true(noisy->valuedouble == (double)(int64_t)sum[c]);
    }
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(env->body, "included");
    assert_int_equal(cJSON_GetArraySize(inc), NORGS);
    for (int i = 0; i < NORGS; i++) {
        const cJSON *o = cJSON_GetArrayItem(inc, i);
        const char *org = cJSON_GetObjectItemCaseSensitive(o, "org")->valuestring;
        const char *h = cJSON_GetObjectItemCaseSensitive(o, "submission_sha256")->valuestring;
        unsigned char *text;
        size_t len;
        char hex[MP_HASH_HEX_BYTES];
        assert_string_equal(org, w->spec->participants[i]);
        assert_int_equal(mp_file_read(w->sub[org_index(org)], 1 << 20, &text, &len), 0);
        mp_hash_hex(hex, text, len);
        assert_string_equal(h, hex);
        free(text);
    }
    /* The store holds the same release under its hash. */
    char hex[MP_HASH_HEX_BYTES];
    mp_hash_hex(hex, env->text, env->text_len);
    char *rel = tdb_text(w->db, "SELECT release_sha256 FROM releases", 1);
    assert_string_equal(rel, hex);
    free(rel);
    mp_envelope_free(env);
    free(f);

    assert_int_equal(mp_agg_status(w->db, w->spec, &s), 0);
    assert_string_equal(s.state, "published");
    /* Nothing more happens to a published round: publishing again writes the stored release
     * again (how an interrupted publish resumes), byte for byte, and changes nothing. */
    before = tdb_dump(w->db);
    char *out2 = tu_path(w->dir, "release2");
    assert_int_equal(mp_agg_publish(w->db, "mu-2025", w->coord, out2), 0);
    {
        char *p1 = tu_path(out, "release.json"), *p2 = tu_path(out2, "release.json");
        unsigned char *b1, *b2;
        size_t l1, l2;
        assert_int_equal(mp_file_read(p1, 1 << 24, &b1, &l1), 0);
        assert_int_equal(mp_file_read(p2, 1 << 24, &b2, &l2), 0);
        assert_int_equal(l1, l2);
        assert_memory_equal(b1, b2, l1);
        free(b1);
        free(b2);
        free(p1);
        free(p2);
    }
    assert_int_equal(mp_agg_publish(w->db, "mu-2025", w->coord, out2), -1); /* out2 exists */
    assert_int_equal(mp_agg_close(w->db, "mu-2025", &w->coord->pub), -1);
    after = tdb_dump(w->db);
    assert_string_equal(before, after);
    free(after);
    free(before);
    import_refused(w, w->sub[0], "published");

    free(out2);
    free(subdir);
    free(exists);
    free(out);
}

/* The state lives in the store: a fresh connection sees what the last one committed. */
static void test_restart_resumes(void **state)
{
    world *w = *state;
    mp_round_status s;
    open_round(w);
    for (int i = 0; i < 3; i++)
        import_ok(w, i);
    mp_store_close(w->db);
    w->db = NULL;
    assert_int_equal(mp_agg_open(&w->db, w->db_path, 0), 0);
    assert_int_equal(mp_agg_status(w->db, w->spec, &s), 0);
    assert_int_equal(s.nsubmitted, 3);
    for (int i = 3; i < NORGS; i++)
        import_ok(w, i);
    assert_int_equal(mp_agg_close(w->db, "mu-2025", &w->coord->pub), 0);
}

/* ---- the event log ----------------------------------------------------------------------- */

/* The documented chain: entry = SHA-256(prev "\n" seq "\n" at "\n" event "\n" round "\n"
 * detail), recomputed here independently of aggregate.c. */
static void entry_hash(char out[MP_HASH_HEX_BYTES], const char *prev, long long seq, const char *at,
                       const char *event, const char *round_id, const char *detail)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fprintf(f, "%s\n%lld\n%s\n%s\n%s\n%s", prev, seq, at, event, round_id, detail);
    assert_int_equal(fclose(f), 0);
    mp_hash_hex(out, buf, len);
    free(buf);
}

static void test_log(void **state)
{
    world *w = *state;
    size_t n;
    assert_int_equal(mp_agg_log_verify(w->db, &n), 0);
    assert_int_equal(n, 0);
    char *out = full_round(w);
    /* Refusals add nothing to the log. */
    import_refused(w, w->sub[0], "published");
    assert_int_equal(mp_agg_close(w->db, "mu-2025", &w->coord->pub), -1);
    if (mp_agg_log_verify(w->db, &n) != 0)
        fail_msg("log verify: %s", mp_error_get());
    assert_int_equal(n, 1 + NORGS + 1 + 1); /* round-open, 6 submissions, close, publish */

    /* The chain as documented, and the events in order; no figure in any detail. */
    static const char *const events[] = {"round-open", "submission",  "submission",
                                         "submission", "submission",  "submission",
                                         "submission", "round-close", "publish"};
    sqlite3_stmt *st;
    char prev[MP_HASH_HEX_BYTES] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(sqlite3_prepare_v2(w->db,
                                        "SELECT seq, at, event, round_id, detail, prev_sha256, "
                                        "entry_sha256 FROM log ORDER BY seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (long long seq = 1; seq <= 9; seq++) {
        char h[MP_HASH_HEX_BYTES];
        const char *c[6];
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(st, 0), seq);
        for (int i = 0; i < 6; i++)
            c[i] = (const char *)sqlite3_column_text(st, i + 1);
        assert_string_equal(c[1], events[seq - 1]);
        assert_string_equal(c[2], "mu-2025");
        assert_string_equal(c[4], prev);
        entry_hash(h, prev, seq, c[0], c[1], c[2], c[3]);
        assert_string_equal(c[5], h);
        strcpy(prev, h);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);

    /* The triggers keep the log append-only. */
    assert_int_not_equal(
        sqlite3_exec(w->db, "UPDATE log SET detail = 'x' WHERE seq = 2", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(w->db, "DELETE FROM log WHERE seq = 9", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_equal(mp_agg_log_verify(w->db, &n), 0);
    assert_int_equal(n, 9);

    /* Someone with write access drops them and rewrites a detail. */
    assert_int_equal(sqlite3_exec(w->db,
                                  "DROP TRIGGER log_append_only_u; DROP TRIGGER log_append_only_d;"
                                  "UPDATE log SET detail = 'utrecht 00' WHERE seq = 2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(mp_agg_log_verify(w->db, &n), -1);
    assert_non_null(strstr(mp_error_get(), "entry 2"));

    /* ... and also recomputes that entry's own hash: the next entry's link breaks. */
    char *at = tdb_text(w->db, "SELECT at FROM log WHERE seq = 2", 1);
    char *p1 = tdb_text(w->db, "SELECT entry_sha256 FROM log WHERE seq = 1", 1);
    char h[MP_HASH_HEX_BYTES], sql[256];
    entry_hash(h, p1, 2, at, "submission", "mu-2025", "utrecht 00");
    snprintf(sql, sizeof sql, "UPDATE log SET entry_sha256 = '%s' WHERE seq = 2", h);
    assert_int_equal(sqlite3_exec(w->db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(mp_agg_log_verify(w->db, &n), -1);
    assert_non_null(strstr(mp_error_get(), "entry 3"));
    free(at);
    free(p1);

    /* A gap in the sequence. */
    assert_int_equal(sqlite3_exec(w->db, "DELETE FROM log WHERE seq = 2", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(mp_agg_log_verify(w->db, &n), -1);
    free(out);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_wal_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_duplicate_named_as_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_close_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
