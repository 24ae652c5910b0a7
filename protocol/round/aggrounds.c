/*
 * aggrounds.c - round management in the aggregator's store (see aggrounds.h).
 */
#include "aggrounds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "canon.h"
#include "date.h"
#include "encoding.h"
#include "envelope.h"
#include "roundctl.h"
#include "spec.h"
#include "store.h"

#define STATE_SQL "CASE WHEN cancelled IS NULL THEN state ELSE 'cancelled' END"

static int state_of(sqlite3 *db, const char *round_id, char state[16])
{
    int rc = mp_store_text(db, "SELECT " STATE_SQL " FROM rounds WHERE round_id = ?", round_id,
                           state, 16);
    if (rc == 0)
        return mp_error_set("no round \"%.64s\" in this store", round_id);
    return rc < 0 ? -1 : 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v ? (const char *)v : "";
}

/* The members of a stored specification that the list shows (not re-verified). */
static int add_spec_fields(cJSON *o, const char *text, size_t len)
{
    mp_envelope *env;
    const cJSON *b, *period, *masking, *priv, *parts;
    if (mp_envelope_parse(&env, text, len, "round") != 0)
        return -1;
    b = env->body;
    period = cJSON_GetObjectItemCaseSensitive(b, "period");
    masking = cJSON_GetObjectItemCaseSensitive(b, "masking");
    priv = cJSON_GetObjectItemCaseSensitive(b, "privacy");
    parts = cJSON_GetObjectItemCaseSensitive(b, "participants");
    const char *v;
#define STR(obj, key, name)                                                                        \
    v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));                          \
    if (!cJSON_AddStringToObject(o, name, v ? v : ""))                                             \
        goto oom;
    STR(masking, "scheme", "masking");
    STR(period, "start", "period_start");
    STR(period, "end", "period_end");
    STR(priv, "series", "series");
    STR(priv, "rho", "rho");
    STR(b, "deadline", "spec_deadline");
#undef STR
    if (!cJSON_AddNumberToObject(o, "participants",
                                 cJSON_IsArray(parts) ? cJSON_GetArraySize(parts) : 0))
        goto oom;
    mp_envelope_free(env);
    return 0;
oom:
    mp_envelope_free(env);
    return mp_error_system("out of memory");
}

int mp_agg_round_list(sqlite3 *db, cJSON **out)
{
    sqlite3_stmt *st;
    cJSON *arr = cJSON_CreateArray();
    int rc;
    *out = NULL;
    if (arr == NULL)
        return mp_error_system("out of memory");
    if (mp_store_prepare(
            db, &st,
            "SELECT round_id, " STATE_SQL ", phase, spec, created, deadline, cancelled, "
            "(SELECT count(*) FROM submissions s WHERE s.round_id = r.round_id), "
            "(SELECT count(*) FROM sa_messages m WHERE m.round_id = r.round_id AND kind = "
            "'advertise'), "
            "(SELECT count(*) FROM sa_messages m WHERE m.round_id = r.round_id AND kind = "
            "'share'), "
            "(SELECT count(*) FROM sa_messages m WHERE m.round_id = r.round_id AND kind = "
            "'consistency'), "
            "(SELECT count(*) FROM sa_messages m WHERE m.round_id = r.round_id AND kind = "
            "'unmask'), "
            "(SELECT doc FROM round_docs d WHERE d.round_id = r.round_id AND kind = "
            "'round-cancel' ORDER BY seq DESC LIMIT 1) "
            "FROM rounds r ORDER BY rowid") != 0) {
        cJSON_Delete(arr);
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o))
            goto oom;
        if (!cJSON_AddStringToObject(o, "round_id", col(st, 0)) ||
            !cJSON_AddStringToObject(o, "state", col(st, 1)) ||
            !cJSON_AddStringToObject(o, "phase", col(st, 2)) ||
            !cJSON_AddStringToObject(o, "created", col(st, 4)))
            goto oom;
        if (add_spec_fields(o, col(st, 3), (size_t)sqlite3_column_bytes(st, 3)) != 0)
            goto fail;
        const char *spec_dl =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "spec_deadline"));
        int extended = col(st, 5)[0] != '\0';
        if (!cJSON_AddStringToObject(o, "deadline", extended ? col(st, 5) : spec_dl) ||
            !cJSON_AddBoolToObject(o, "extended", extended))
            goto oom;
        cJSON_DeleteItemFromObjectCaseSensitive(o, "spec_deadline");
        if (sqlite3_column_type(st, 6) == SQLITE_NULL)
            cJSON_AddNullToObject(o, "cancelled");
        else
            cJSON_AddStringToObject(o, "cancelled", col(st, 6));
        if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
            mp_envelope *e;
            if (mp_envelope_parse(&e, col(st, 12), (size_t)sqlite3_column_bytes(st, 12),
                                  MP_ROUNDCTL_CANCEL_TYPE) != 0)
                goto fail;
            const char *reason =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e->body, "reason"));
            cJSON *r = cJSON_AddStringToObject(o, "reason", reason ? reason : "");
            mp_envelope_free(e);
            if (r == NULL)
                goto oom;
        }
        static const char *const counts[] = {"submissions", "advertised", "shared", "confirmed",
                                             "unmasked"};
        for (int i = 0; i < 5; i++)
            if (!cJSON_AddNumberToObject(o, counts[i], (double)sqlite3_column_int64(st, 7 + i)))
                goto oom;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(arr);
        return mp_store_error(db, "listing the rounds");
    }
    *out = arr;
    return 0;
oom:
    mp_error_system("out of memory");
fail:
    sqlite3_finalize(st);
    cJSON_Delete(arr);
    return -1;
}

int mp_agg_default_round(sqlite3 *db, char round_id[65])
{
    sqlite3_stmt *st;
    char list[1024] = "";
    size_t n = 0;
    int rc;
    if (mp_store_prepare(db, &st,
                         "SELECT round_id, state FROM rounds WHERE cancelled IS NULL AND state IN "
                         "('open', 'closed') ORDER BY rowid") != 0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == 0)
            snprintf(round_id, 65, "%s", col(st, 0));
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s (%s)", l ? ", " : "", col(st, 0), col(st, 1));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return mp_store_error(db, "listing the rounds");
    if (n == 1)
        return 0;
    if (n > 1)
        return mp_error_set("%zu rounds in this store are not finished: %s; name one with --round "
                            "ID (round list shows them all)",
                            n, list);
    return mp_agg_latest_round(db, round_id);
}

int mp_agg_round_doc(sqlite3 *db, const char *round_id, const char *kind, char **doc, size_t *len)
{
    sqlite3_stmt *st;
    int rc;
    *doc = NULL;
    if (mp_store_prepare(db, &st,
                         "SELECT doc FROM round_docs WHERE round_id = ? AND kind = ? ORDER BY seq "
                         "DESC LIMIT 1") != 0)
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        if ((*doc = malloc(*len + 1)) == NULL) {
            sqlite3_finalize(st);
            return mp_error_system("out of memory");
        }
        memcpy(*doc, sqlite3_column_text(st, 0), *len + 1);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "reading a round document");
}

/* Store a signed document of the round, inside the caller's transaction. */
static int store_doc(sqlite3 *db, const char *round_id, const char *kind, const char *text,
                     size_t len, const char *at, char hash[MP_HASH_HEX_BYTES])
{
    sqlite3_stmt *st;
    int rc;
    mp_hash_hex(hash, text, len);
    if (mp_store_prepare(db, &st,
                         "INSERT INTO round_docs (round_id, kind, sha256, doc, made) VALUES (?, "
                         "?, ?, ?, ?)") != 0)
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mp_store_error(db, "cannot store the round document");
}

static int update_round(sqlite3 *db, const char *sql, const char *value, const char *round_id)
{
    sqlite3_stmt *st;
    int rc;
    if (mp_store_prepare(db, &st, sql) != 0)
        return -1;
    sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, round_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || sqlite3_changes(db) != 1)
        return mp_store_error(db, "cannot update the round");
    return 0;
}

int mp_agg_round_extend(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                        int64_t deadline, char **doc, size_t *len)
{
    mp_roster *roster = NULL;
    mp_spec *spec = NULL;
    cJSON *body = NULL;
    char state[16], at[21], dl[21], hash[MP_HASH_HEX_BYTES], detail[128];
    int64_t now;
    int rc = -1;
    *doc = NULL;
    if (mp_time_now(&now) != 0 || mp_store_begin(db) != 0)
        return -1;
    /* Loaded inside the transaction: the deadline in force is the one this extension replaces. */
    if (state_of(db, round_id, state) != 0 ||
        mp_agg_round_load(db, round_id, &coordinator->pub, &roster, &spec) != 0)
        goto rollback;
    if (strcmp(state, "open") != 0) {
        mp_error_set("round %s is %s; only an open round's deadline can be extended", round_id,
                     state);
        goto rollback;
    }
    if (deadline <= now) {
        mp_time_format(dl, deadline);
        mp_error_set("round %s: the new deadline %s has already passed", round_id, dl);
        goto rollback;
    }
    mp_time_format(at, now);
    mp_time_format(dl, deadline);
    if (mp_roundctl_extend_body(&body, spec, spec->deadline, deadline, now) != 0 ||
        mp_envelope_sign(doc, len, MP_ROUNDCTL_EXTEND_TYPE, body, coordinator) != 0 ||
        store_doc(db, round_id, MP_ROUNDCTL_EXTEND_TYPE, *doc, *len, at, hash) != 0 ||
        update_round(db, "UPDATE rounds SET deadline = ?1 WHERE round_id = ?2 AND state = 'open'",
                     dl, round_id) != 0)
        goto rollback;
    snprintf(detail, sizeof detail, "%s until %s", hash, dl);
    if (mp_agg_log_append(db, "round-extend", round_id, detail) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
    free(*doc);
    *doc = NULL;
out:
    cJSON_Delete(body);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return rc;
}

int mp_agg_round_cancel(sqlite3 *db, const char *round_id, const mp_keypair *coordinator,
                        const char *reason, char **doc, size_t *len)
{
    mp_roster *roster = NULL;
    mp_spec *spec = NULL;
    sqlite3_stmt *st = NULL;
    cJSON *body = NULL;
    char *orgs[MP_MAX_ORGS] = {0}, *hashes[MP_MAX_ORGS] = {0};
    char state[16], at[21], hash[MP_HASH_HEX_BYTES], detail[128];
    size_t n = 0;
    int64_t now;
    int rc = -1, step;
    *doc = NULL;
    if (mp_roundctl_reason_check(reason) != 0)
        return -1;
    if (mp_time_now(&now) != 0 || mp_store_begin(db) != 0)
        return -1;
    if (state_of(db, round_id, state) != 0 ||
        mp_agg_round_load(db, round_id, &coordinator->pub, &roster, &spec) != 0)
        goto rollback;
    if (strcmp(state, "open") != 0 && strcmp(state, "closed") != 0) {
        mp_error_set("round %s is %s; only a round not yet published can be cancelled", round_id,
                     state);
        goto rollback;
    }
    /* What the store holds is named in the document: those organisations stay charged. */
    if (mp_store_prepare(db, &st,
                         "SELECT org, submission_sha256 FROM submissions WHERE round_id = ? "
                         "ORDER BY org") != 0)
        goto rollback;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && n < MP_MAX_ORGS) {
        orgs[n] = strdup(col(st, 0));
        hashes[n] = strdup(col(st, 1));
        if (orgs[n++] == NULL || hashes[n - 1] == NULL) {
            mp_error_system("out of memory");
            goto rollback;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    mp_time_format(at, now);
    if (mp_roundctl_cancel_body(&body, spec, reason, (const char *const *)orgs,
                                (const char *const *)hashes, n, now) != 0 ||
        mp_envelope_sign(doc, len, MP_ROUNDCTL_CANCEL_TYPE, body, coordinator) != 0 ||
        store_doc(db, round_id, MP_ROUNDCTL_CANCEL_TYPE, *doc, *len, at, hash) != 0 ||
        update_round(db,
                     "UPDATE rounds SET cancelled = ?1, phase = '' WHERE round_id = ?2 AND "
                     "cancelled IS NULL",
                     at, round_id) != 0)
        goto rollback;
    snprintf(detail, sizeof detail, "%s %zu submissions", hash, n);
    if (mp_agg_log_append(db, "round-cancel", round_id, detail) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
    free(*doc);
    *doc = NULL;
out:
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        free(orgs[i]);
        free(hashes[i]);
    }
    cJSON_Delete(body);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return rc;
}
