/*
 * aggregate.c - the aggregator's round lifecycle (see aggregate.h): create, import, close,
 * publish. It names no masking scheme: masking.h answers for them. The tables and the event
 * log are roundstore.c's.
 */
#include "aggregate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canon.h"
#include "date.h"
#include "fileio.h"
#include "mask.h"
#include "masking.h"
#include "privacy.h"
#include "release.h"
#include "report.h"
#include "roundstore.h"
#include "store.h"
#include "submission.h"

int mp_agg_open(sqlite3 **db, const char *path, int create)
{
    return mp_rs_open(db, path, create);
}

int mp_agg_log_append(sqlite3 *db, const char *event, const char *round_id, const char *detail)
{
    return mp_rs_log_append(db, event, round_id, detail);
}

int mp_agg_log_verify(sqlite3 *db, size_t *n)
{
    return mp_rs_log_verify(db, n);
}

/* A cancelled round with no submission in the store spent nothing (decisions R1); every other
 * round counts, open ones too. */
#define CHARGED                                                                                    \
    " AND (cancelled IS NULL OR EXISTS (SELECT 1 FROM submissions s WHERE s.round_id = "           \
    "rounds.round_id))"

int mp_agg_series_spent(sqlite3 *db, const char *series, const char *exclude_round, double *spent)
{
    return mp_store_sum_rho(db, "SELECT rho FROM rounds WHERE series = ? AND round_id != ?" CHARGED,
                            series, exclude_round ? exclude_round : "", spent);
}

/* The rounds of the series stored before this one (by insertion): what it had to declare as
 * spent. A round opened later (a next round while this one is being published) is not. */
static int series_spent_before(sqlite3 *db, const char *series, const char *round_id, double *spent)
{
    return mp_store_sum_rho(db,
                            "SELECT rho FROM rounds WHERE series = ?1 AND round_id != ?2 AND "
                            "rowid < COALESCE((SELECT rowid FROM rounds WHERE round_id = ?2), "
                            "9223372036854775807)" CHARGED,
                            series, round_id, spent);
}

/* Refuse when this round's budget, on top of every other round of its series in the store
 * (open ones reserve theirs), exceeds the series budget. */
static int check_budget(sqlite3 *db, const mp_spec *spec)
{
    double spent, before;
    if (mp_agg_series_spent(db, spec->privacy.series, spec->round_id, &spent) != 0 ||
        series_spent_before(db, spec->privacy.series, spec->round_id, &before) != 0)
        return -1;
    if (spent + spec->privacy.rho > spec->privacy.series_rho * (1 + 1e-9))
        return mp_error_set("over budget: series %s has rounds of rho %.6g in this store; with "
                            "round %s (rho %s) it would exceed its budget %s",
                            spec->privacy.series, spent, spec->round_id, spec->privacy.rho_text,
                            spec->privacy.series_rho_text);
    if (spec->privacy.series_spent + 1e-9 < before)
        return mp_error_set("round %s says series %s spent %s before it, but this store has "
                            "rounds of rho %.6g in it",
                            spec->round_id, spec->privacy.series, spec->privacy.series_spent_text,
                            before);
    return 0;
}

int mp_agg_round_create(sqlite3 *db, const char *roster_path, const char *spec_path,
                        const mp_pubkey *trusted)
{
    mp_roster *roster = NULL;
    mp_spec *spec = NULL;
    sqlite3_stmt *st = NULL;
    char hash[MP_HASH_HEX_BYTES], at[21];
    int64_t now;
    int rc = -1;
    if (mp_roster_load(&roster, roster_path, trusted) != 0 ||
        mp_spec_load(&spec, spec_path, roster) != 0 || mp_time_now(&now) != 0)
        goto out;
    mp_time_format(at, now);
    mp_hex_encode(hash, spec->env->hash, MP_HASH_BYTES);
    if (mp_store_begin(db) != 0)
        goto out;
    if (check_budget(db, spec) != 0)
        goto rollback;
    if (mp_store_prepare(db, &st,
                         "INSERT INTO rounds (round_id, round_sha256, roster, spec, "
                         "state, created, series, rho, phase) "
                         "VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)") != 0)
        goto rollback;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, roster->env->text, (int)roster->env->text_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, spec->env->text, (int)spec->env->text_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, spec->privacy.series, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, spec->privacy.rho_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, mp_masking_of(spec)->first_phase, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY ||
            sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE)
            mp_error_set("round %s already exists in this store", spec->round_id);
        else
            mp_store_error(db, "cannot store the round");
        goto rollback;
    }
    if (mp_agg_log_append(db, "round-open", spec->round_id, hash) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
out:
    sqlite3_finalize(st);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return rc;
}

int mp_agg_round_load(sqlite3 *db, const char *round_id, const mp_pubkey *trusted,
                      mp_roster **roster, mp_spec **spec)
{
    sqlite3_stmt *st;
    mp_envelope *renv = NULL, *senv = NULL;
    int rc = -1;
    *roster = NULL;
    *spec = NULL;
    if (mp_store_prepare(db, &st, "SELECT roster, spec, deadline FROM rounds WHERE round_id = ?") !=
        0)
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        mp_error_set("no round \"%.64s\" in this store (open it first with: round open)", round_id);
        goto out;
    }
    if (mp_envelope_parse(&renv, (const char *)sqlite3_column_text(st, 0),
                          (size_t)sqlite3_column_bytes(st, 0), NULL) != 0 ||
        mp_roster_from_envelope(roster, renv, trusted) != 0)
        goto out;
    renv = NULL;
    if (mp_envelope_parse(&senv, (const char *)sqlite3_column_text(st, 1),
                          (size_t)sqlite3_column_bytes(st, 1), "round") != 0 ||
        mp_spec_from_envelope(spec, senv, *roster) != 0)
        goto out;
    senv = NULL;
    /* An extension (aggrounds.c) replaces the deadline: every check against it reads it here. */
    const unsigned char *dl = sqlite3_column_text(st, 2);
    if (dl != NULL && dl[0] != '\0' && mp_time_parse((const char *)dl, &(*spec)->deadline) != 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    mp_envelope_free(renv);
    mp_envelope_free(senv);
    if (rc != 0) {
        mp_roster_free(*roster);
        *roster = NULL;
        mp_error_prefix("stored round %.64s: ", round_id);
    }
    return rc;
}

static int round_state(sqlite3 *db, const char *round_id, char state[16])
{
    int rc = mp_store_text(db,
                           "SELECT CASE WHEN cancelled IS NULL THEN state ELSE 'cancelled' END "
                           "FROM rounds WHERE round_id = ?",
                           round_id, state, 16);
    if (rc == 0)
        return mp_error_set("no round \"%.64s\" in this store", round_id);
    return rc < 0 ? -1 : 0;
}

int mp_agg_import(sqlite3 *db, const char *path, const mp_pubkey *trusted,
                  char org_id[MP_ORG_ID_MAX + 1], char round_id[65])
{
    unsigned char *buf;
    size_t len;
    if (mp_file_read(path, MP_ENVELOPE_MAX, &buf, &len) != 0)
        return -1;
    int rc = mp_agg_import_text(db, (const char *)buf, len, path, trusted, org_id, round_id);
    free(buf);
    return rc;
}

int mp_agg_import_text(sqlite3 *db, const char *text, size_t len, const char *path,
                       const mp_pubkey *trusted, char org_id[MP_ORG_ID_MAX + 1], char round_id[65])
{
    mp_envelope *env = NULL;
    const mp_roster *roster = NULL;
    const mp_spec *spec = NULL;
    const mp_masking_ops *ops;
    const mp_org *org;
    uint64_t *vec = NULL;
    sqlite3_stmt *st = NULL;
    const char *rid;
    char hash[MP_HASH_HEX_BYTES], at[21], state[16];
    int64_t now;
    int rc = -1, step;

    if (mp_envelope_parse(&env, text, len, NULL) != 0) {
        mp_error_prefix("%s: ", path);
        return -1;
    }
    if (strcmp(env->type, "submission") != 0 && strcmp(env->type, "advertise") != 0 &&
        strcmp(env->type, "share") != 0 && strcmp(env->type, "consistency") != 0 &&
        strcmp(env->type, "unmask") != 0) {
        mp_error_set("%s: is a \"%s\" document; round import takes the messages contributors "
                     "send (submission, advertise, share, consistency, unmask)",
                     path, env->type);
        goto out;
    }
    if (mp_json_str(env->body, "round_id", &rid) != 0 || strlen(rid) > 64) {
        mp_error_prefix("%s: ", path);
        goto out;
    }
    snprintf(round_id, 65, "%s", rid);
    /* The stored round, verified once per thread (roundstore.h), not once per message. */
    if (mp_rs_round(db, round_id, trusted, &roster, &spec) != 0 ||
        round_state(db, round_id, state) != 0)
        goto fail;
    if (strcmp(state, "cancelled") == 0) {
        mp_error_set("round %s: refused: round cancelled; it takes no more messages", round_id);
        goto fail;
    }
    ops = mp_masking_of(spec);
    if (strcmp(env->type, "submission") != 0) {
        if (ops->import == NULL) {
            mp_error_set("round %s uses masking scheme %s; a \"%s\" message has no place in it",
                         spec->round_id, ops->name, env->type);
            goto fail;
        }
        if (ops->import(db, env, spec, roster, org_id) != 0)
            goto fail;
        rc = 0;
        goto out;
    }
    if ((vec = calloc(spec->catalogue->ncells, sizeof *vec)) == NULL) {
        mp_error_system("out of memory");
        goto fail;
    }
    if (mp_submission_check(env, spec, roster, &org, vec) != 0)
        goto fail;
    snprintf(org_id, MP_ORG_ID_MAX + 1, "%s", org->id);
    if (strcmp(state, "open") != 0) {
        mp_error_set("round %s is %s; it takes no more submissions", round_id, state);
        goto fail;
    }
    if (mp_time_now(&now) != 0)
        goto fail;
    if (now > spec->deadline) {
        char dl[21];
        mp_time_format(dl, spec->deadline);
        mp_error_set("submission of %s arrived after the deadline of round %s (%s); it is "
                     "refused",
                     org->id, round_id, dl);
        goto fail;
    }
    mp_time_format(at, now);
    mp_hex_encode(hash, env->hash, MP_HASH_BYTES);
    if (mp_store_begin(db) != 0)
        goto fail;
    if (ops->submission_allowed != NULL && ops->submission_allowed(db, spec, org->id) != 0)
        goto rollback;
    /* The same bytes again are named as such: the (round, org) key would otherwise report
     * them as a second, different submission. */
    if (mp_store_prepare(db, &st, "SELECT 1 FROM submissions WHERE submission_sha256 = ?") != 0)
        goto rollback;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (step == SQLITE_ROW) {
        mp_error_set("this submission of %s was imported before (duplicate or replay)", org->id);
        goto rollback;
    }
    if (mp_store_prepare(db, &st, "INSERT INTO submissions VALUES (?, ?, ?, ?, ?)") != 0)
        goto rollback;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, org->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, env->text, (int)env->text_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(db);
        if (ext == SQLITE_CONSTRAINT_UNIQUE)
            mp_error_set("this submission of %s was imported before (duplicate or replay)",
                         org->id);
        else if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            mp_error_set("%s already has a submission in round %s; a second one is refused",
                         org->id, round_id);
        else
            mp_store_error(db, "cannot store the submission");
        goto rollback;
    }
    char detail[160];
    snprintf(detail, sizeof detail, "%s %s", org->id, hash);
    if (mp_agg_log_append(db, "submission", round_id, detail) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
fail:
    mp_error_prefix("%s: ", path);
out:
    sqlite3_finalize(st);
    free(vec);
    mp_envelope_free(env);
    return rc;
}

int mp_agg_status(sqlite3 *db, const mp_spec *spec, mp_round_status *s)
{
    sqlite3_stmt *st;
    memset(s, 0, sizeof *s);
    if (round_state(db, spec->round_id, s->state) != 0)
        return -1;
    mp_time_format(s->deadline, spec->deadline);
    if (mp_store_prepare(db, &st, "SELECT 1 FROM submissions WHERE round_id = ? AND org = ?"))
        return -1;
    s->nparticipants = spec->nparticipants;
    for (size_t i = 0; i < spec->nparticipants; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, spec->participants[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            s->submitted[s->nsubmitted++] = spec->participants[i];
        else
            s->missing[s->nmissing++] = spec->participants[i];
    }
    sqlite3_finalize(st);
    return 0;
}

int mp_agg_close(sqlite3 *db, const char *round_id, const mp_pubkey *trusted)
{
    const mp_roster *roster = NULL;
    const mp_spec *spec = NULL;
    sqlite3_stmt *st = NULL;
    uint64_t *sum = NULL;
    char *sumtext = NULL, *used = NULL, at[21], state[16];
    size_t n = 0;
    int64_t now;
    int rc = -1;

    if (mp_rs_round(db, round_id, trusted, &roster, &spec) != 0 ||
        round_state(db, round_id, state) != 0)
        goto out;
    if (strcmp(state, "open") != 0) {
        mp_error_set("round %s is already %s", round_id, state);
        goto out;
    }
    if ((sum = calloc(spec->catalogue->ncells, sizeof *sum)) == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    /* The scheme opens the sum from the store (outside the transaction: it only reads, and
     * what it read cannot change in a way that matters: the UPDATE below takes an open round
     * only); invariant 3. */
    if (mp_masking_of(spec)->open_sum(db, spec, roster, sum, &n, &used) != 0)
        goto out;
    if ((long long)n < spec->k_min) {
        mp_error_set("round %s: %zu submissions, fewer than k_min %lld", round_id, n, spec->k_min);
        goto out;
    }
    if (mp_store_begin(db) != 0)
        goto out;
    if ((sumtext = mp_vec_encode(sum, spec->catalogue->ncells)) == NULL || mp_time_now(&now) != 0)
        goto rollback;
    mp_time_format(at, now);
    if (mp_store_prepare(db, &st,
                         "UPDATE rounds SET state = 'closed', closed = ?, sum = ?, phase = '', "
                         "unmasked_by = ? WHERE round_id = ? AND state = 'open'"))
        goto rollback;
    sqlite3_bind_text(st, 1, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sumtext, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, used ? used : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, round_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db) != 1) {
        mp_store_error(db, "cannot close the round");
        goto rollback;
    }
    char detail[64];
    snprintf(detail, sizeof detail, "%zu submissions", n);
    if (mp_agg_log_append(db, "round-close", round_id, detail) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
out:
    sqlite3_finalize(st);
    free(sum);
    free(sumtext);
    free(used);
    return rc;
}

/* Remove a release directory this process staged (two levels: files and submissions/). */
static void remove_tree(const char *dir)
{
    char path[PATH_MAX];
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (unlink(path) != 0)
            remove_tree(path); /* a directory: opendir fails harmlessly on anything else */
    }
    closedir(d);
    rmdir(dir);
}

/* Write the release bundle for a stored release: stage everything in a temporary directory
 * and rename it into place, so that out_dir is either absent or complete. The signed
 * release.json is written as stored; the CSV and the report (HTML, PDF) are rendered from it
 * and from the earlier releases of its series, which travel along in series/. */
static int write_bundle(sqlite3 *db, const mp_spec *spec, const mp_roster *roster,
                        const char *release, size_t release_len, const char *out_dir,
                        const mp_series *series)
{
    char tmpdir[PATH_MAX], subdir[PATH_MAX], name[80], hash[MP_HASH_HEX_BYTES];
    mp_envelope *env = NULL;
    sqlite3_stmt *st = NULL;
    char *csv = NULL, *html = NULL, *pdf = NULL, dir[PATH_MAX];
    size_t csvlen, htmllen, pdflen, dl = strlen(out_dir);
    int rc = -1, made = 0;

    /* "release/" and "release" are the same directory (a trailing slash would otherwise put
     * the staging directory inside the one it is renamed to). */
    while (dl > 1 && out_dir[dl - 1] == '/')
        dl--;
    if (dl >= sizeof dir)
        return mp_error_set("%.64s...: path too long", out_dir);
    memcpy(dir, out_dir, dl);
    dir[dl] = '\0';
    out_dir = dir;
    if (mp_envelope_parse(&env, release, release_len, "release") != 0 ||
        mp_release_csv(&csv, &csvlen, env->body, spec) != 0)
        goto out;
    mp_hex_encode(hash, env->hash, MP_HASH_BYTES);
    mp_report_in rin = {env->body, spec, roster, series, hash};
    if (mp_report_html(&html, &htmllen, &rin) != 0 || mp_report_pdf(&pdf, &pdflen, &rin) != 0)
        goto out;
    if (snprintf(tmpdir, sizeof tmpdir, "%s.tmp.%ld", out_dir, (long)getpid()) >=
            (int)sizeof tmpdir ||
        mkdir(tmpdir, 0755) != 0) {
        mp_error_set("%s: cannot create: %s", tmpdir, strerror(errno));
        goto out;
    }
    made = 1;
    if (snprintf(subdir, sizeof subdir, "%s/submissions", tmpdir) >= (int)sizeof subdir ||
        mkdir(subdir, 0755) != 0) {
        mp_error_set("%s: cannot create: %s", subdir, strerror(errno));
        goto out;
    }
    if (mp_store_prepare(db, &st,
                         "SELECT org, submission FROM submissions WHERE round_id = ? "
                         "ORDER BY org"))
        goto out;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(name, sizeof name, "%s.json", (const char *)sqlite3_column_text(st, 0));
        if (mp_file_write_in(subdir, name, sqlite3_column_text(st, 1),
                             (size_t)sqlite3_column_bytes(st, 1), 0644) != 0)
            goto out;
    }
    if (mp_file_write_in(tmpdir, "release.json", release, release_len, 0644) != 0 ||
        mp_file_write_in(tmpdir, "release.csv", csv, csvlen, 0644) != 0 ||
        mp_file_write_in(tmpdir, "report.html", html, htmllen, 0644) != 0 ||
        mp_file_write_in(tmpdir, "report.pdf", pdf, pdflen, 0644) != 0 ||
        mp_file_write_in(tmpdir, "roster.json", roster->env->text, roster->env->text_len, 0644) !=
            0 ||
        mp_file_write_in(tmpdir, "round.json", spec->env->text, spec->env->text_len, 0644) != 0)
        goto out;
    if (mp_masking_of(spec)->bundle != NULL && mp_masking_of(spec)->bundle(db, spec, tmpdir) != 0)
        goto out;
    if (series->n > 0) {
        if (snprintf(subdir, sizeof subdir, "%s/series", tmpdir) >= (int)sizeof subdir ||
            mkdir(subdir, 0755) != 0) {
            mp_error_set("%s: cannot create: %s", subdir, strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < series->n; i++) {
            const mp_envelope *e = series->rel[i];
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e->body, "round_id");
            snprintf(name, sizeof name, "%.64s.json", cJSON_IsString(id) ? id->valuestring : "");
            if (mp_file_write_in(subdir, name, e->text, e->text_len, 0644) != 0)
                goto out;
        }
    }
    if (rename(tmpdir, out_dir) != 0) {
        mp_error_set("%s: cannot move the release into place: %s", out_dir, strerror(errno));
        goto out;
    }
    made = 0;
    rc = 0;
out:
    if (made)
        remove_tree(tmpdir);
    sqlite3_finalize(st);
    mp_envelope_free(env);
    free(csv);
    free(html);
    free(pdf);
    return rc;
}

/* Sign and store the release of a closed round and mark it published, in one transaction. */
static int store_release(sqlite3 *db, const mp_spec *spec, const mp_keypair *coordinator,
                         char **text, size_t *len)
{
    sqlite3_stmt *st = NULL;
    mp_included inc[MP_MAX_ORGS];
    char *orgs[MP_MAX_ORGS] = {0};
    size_t n = 0;
    uint64_t *sum = calloc(spec->catalogue->ncells, sizeof *sum);
    cJSON *body = NULL, *masking = NULL;
    char at[21], hash[MP_HASH_HEX_BYTES];
    int64_t now;
    int rc = -1;

    *text = NULL;
    if (sum == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    if (mp_store_begin(db) != 0)
        goto out;
    if (check_budget(db, spec) != 0) /* never publish over budget, whatever happened since */
        goto rollback;
    if (mp_store_prepare(db, &st, "SELECT sum FROM rounds WHERE round_id = ?"))
        goto rollback;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW ||
        mp_vec_decode(sum, spec->catalogue->ncells, (const char *)sqlite3_column_text(st, 0)))
        goto rollback;
    sqlite3_finalize(st);
    if (mp_store_prepare(db, &st,
                         "SELECT org, submission_sha256 FROM submissions "
                         "WHERE round_id = ? ORDER BY org"))
        goto rollback;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW && n < MP_MAX_ORGS) {
        orgs[n] = strdup((const char *)sqlite3_column_text(st, 0));
        if (orgs[n] == NULL || mp_hex_decode(inc[n].submission_hash, MP_HASH_BYTES,
                                             (const char *)sqlite3_column_text(st, 1)) != 0) {
            mp_error_system("out of memory or corrupt store");
            goto rollback;
        }
        inc[n].org = orgs[n];
        n++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (mp_time_now(&now) != 0)
        goto rollback;
    mp_time_format(at, now);
    if (mp_masking_of(spec)->release_masking != NULL &&
        mp_masking_of(spec)->release_masking(db, spec, &masking) != 0)
        goto rollback;
    if (mp_release_build(&body, spec, inc, n, sum, at, masking) != 0 ||
        mp_envelope_sign(text, len, "release", body, coordinator) != 0)
        goto rollback;
    mp_hash_hex(hash, *text, *len);
    if (mp_store_prepare(db, &st, "INSERT INTO releases VALUES (?, ?, ?, ?)"))
        goto rollback;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, *text, (int)*len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        mp_store_error(db, "cannot store the release");
        goto rollback;
    }
    sqlite3_finalize(st);
    if (mp_store_prepare(db, &st,
                         "UPDATE rounds SET state = 'published' WHERE round_id = ? "
                         "AND state = 'closed'"))
        goto rollback;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db) != 1) {
        mp_store_error(db, "cannot mark the round published");
        goto rollback;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (mp_agg_log_append(db, "publish", spec->round_id, hash) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
    free(*text);
    *text = NULL;
out:
    sqlite3_finalize(st);
    for (size_t i = 0; i < n + 1 && i < MP_MAX_ORGS; i++)
        free(orgs[i]);
    free(sum);
    cJSON_Delete(body);
    cJSON_Delete(masking);
    return rc;
}

int mp_agg_publish(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                   const char *out_dir)
{
    return mp_agg_publish_series(db, round_id, coordinator, out_dir, NULL, 0);
}

int mp_agg_publish_series(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                          const char *out_dir, const char *const *previous, size_t nprevious)
{
    mp_roster *roster = NULL;
    mp_spec *spec = NULL;
    mp_series series = {0};
    char *text = NULL, state[16], path[PATH_MAX];
    size_t len = 0;
    int rc = -1;

    if (mp_agg_round_load(db, round_id, &coordinator->pub, &roster, &spec) != 0 ||
        round_state(db, round_id, state) != 0)
        goto out;
    /* The earlier releases are checked before anything is signed: a wrong one refuses the
     * publication instead of leaving a release without its report. */
    for (size_t i = 0; i < nprevious; i++) {
        struct stat sb;
        const char *p = previous[i];
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (snprintf(path, sizeof path, "%s/release.json", p) >= (int)sizeof path) {
                mp_error_set("%s: path too long", p);
                goto out;
            }
            p = path;
        }
        if (mp_series_add(&series, p, spec, roster) != 0)
            goto out;
    }
    if (strcmp(state, "open") == 0 || strcmp(state, "cancelled") == 0) {
        mp_error_set(strcmp(state, "open") == 0 ? "round %s is still open (close it first)"
                                                : "round %s is cancelled; it is never published",
                     round_id);
        goto out;
    }
    if (mp_file_exists(out_dir)) {
        mp_error_set("%s: already exists; choose a new directory for the release", out_dir);
        goto out;
    }
    if (strcmp(state, "closed") == 0) {
        /* The store commits first and the files follow: a crash in between leaves a published
         * round whose files `publish` writes again from the stored, signed release. */
        if (store_release(db, spec, coordinator, &text, &len) != 0)
            goto out;
    } else {
        sqlite3_stmt *st;
        if (mp_store_prepare(db, &st, "SELECT release FROM releases WHERE round_id = ?"))
            goto out;
        sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            len = (size_t)sqlite3_column_bytes(st, 0);
            text = malloc(len + 1);
            if (text != NULL)
                memcpy(text, sqlite3_column_text(st, 0), len + 1);
        }
        sqlite3_finalize(st);
        if (text == NULL) {
            mp_error_set("round %s is published but its release is missing from the store",
                         round_id);
            goto out;
        }
    }
    if (write_bundle(db, spec, roster, text, len, out_dir, &series) != 0) {
        mp_error_prefix("the release of round %s is signed and stored, but its files could not "
                        "be written (run publish again to write them): ",
                        round_id);
        goto out;
    }
    rc = 0;
out:
    free(text);
    mp_series_free(&series);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return rc;
}

int mp_agg_latest_round(sqlite3 *db, char round_id[65])
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st,
                         "SELECT round_id FROM rounds ORDER BY created DESC, rowid DESC "
                         "LIMIT 1"))
        return -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(round_id, 65, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : mp_error_set("no rounds in this store yet");
}
