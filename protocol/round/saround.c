/*
 * saround.c - the aggregator's bonawitz-v1 phases in the store (see saround.h).
 *
 * Module boundaries: this module reads and writes the sa_ tables and rounds.phase that
 * roundstore.c creates, and logs through it; it does not include aggregate.h. Its opening of
 * the sum, release block and bundle reach the round lifecycle through masking.h.
 */
#include "saround.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "date.h"
#include "fileio.h"
#include "mask.h"
#include "roundstore.h"
#include "secagg.h"
#include "store.h"
#include "submission.h"

int mp_sa_phase(sqlite3 *db, const char *round_id, char phase[16])
{
    int rc = mp_store_text(db, "SELECT phase FROM rounds WHERE round_id = ? AND state = 'open'",
                           round_id, phase, 16);
    if (rc < 0)
        return -1;
    if (rc == 0)
        phase[0] = '\0';
    return 0;
}

static int set_phase(sqlite3 *db, const char *round_id, const char *from, const char *to)
{
    sqlite3_stmt *st;
    int ok;
    if (mp_store_prepare(db, &st,
                         "UPDATE rounds SET phase = ? WHERE round_id = ? AND phase = ? AND "
                         "state = 'open'"))
        return -1;
    sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
    sqlite3_finalize(st);
    return ok ? 0 : mp_error_set("round %s changed phase meanwhile; try again", round_id);
}

/* Load one stored message text as an envelope. */
static int load_text_env(mp_envelope **env, sqlite3_stmt *st, int col, const char *type)
{
    return mp_envelope_parse(env, (const char *)sqlite3_column_text(st, col),
                             (size_t)sqlite3_column_bytes(st, col), type);
}

/* U1 from the stored advertisements, re-checked, in position order; adverts[] (optional)
 * receives the envelopes (n1 of them, caller frees). */
static int load_u1(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, mp_secagg_view *v,
                   mp_envelope ***adverts)
{
    sqlite3_stmt *st;
    mp_envelope **byp = calloc(spec->nparticipants, sizeof *byp);
    mp_secagg_member *mp = calloc(spec->nparticipants, sizeof *mp);
    int rc = -1, step;
    memset(v, 0, sizeof *v);
    if (byp == NULL || mp == NULL) {
        free(byp);
        free(mp);
        return mp_error_system("out of memory");
    }
    if (mp_store_prepare(db, &st,
                         "SELECT message FROM sa_messages WHERE round_id = ? AND "
                         "kind = 'advertise'"))
        goto out;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        mp_envelope *env;
        mp_secagg_member m;
        if (load_text_env(&env, st, 0, "advertise") != 0)
            goto fin;
        if (mp_secagg_advertise_check(env, spec, roster, &m) != 0 || byp[m.pos] != NULL) {
            mp_envelope_free(env);
            mp_error_prefix("stored advertisement: ");
            goto fin;
        }
        byp[m.pos] = env;
        mp[m.pos] = m;
    }
    if (step != SQLITE_DONE) {
        mp_store_error(db, "reading advertisements");
        goto fin;
    }
    if ((v->m = calloc(spec->nparticipants, sizeof *v->m)) == NULL) {
        mp_error_system("out of memory");
        goto fin;
    }
    /* Compact to position order: byp[0..n1-1] are the envelopes of v->m[0..n1-1]. */
    for (size_t p = 0; p < spec->nparticipants; p++)
        if (byp[p] != NULL) {
            mp_envelope *e = byp[p];
            byp[p] = NULL;
            v->m[v->n1] = mp[p];
            byp[v->n1++] = e;
        }
    rc = 0;
fin:
    sqlite3_finalize(st);
out:
    if (rc == 0 && adverts != NULL) {
        *adverts = byp;
        byp = NULL;
    }
    for (size_t p = 0; byp != NULL && p < spec->nparticipants; p++)
        mp_envelope_free(byp[p]);
    free(byp);
    free(mp);
    if (rc != 0)
        mp_secagg_view_free(v);
    return rc;
}

static void free_envs(mp_envelope **e, size_t n)
{
    for (size_t i = 0; e != NULL && i < n; i++)
        mp_envelope_free(e[i]);
    free(e);
}

/* Flag the stored submissions in a view of U1. */
static int mark_u2(sqlite3 *db, const mp_spec *spec, mp_secagg_view *v)
{
    sqlite3_stmt *st;
    int step;
    if (mp_store_prepare(db, &st,
                         "SELECT org, submission_sha256 FROM submissions WHERE round_id = ?"))
        return -1;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    v->n2 = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int k = mp_secagg_member_index(v, (const char *)sqlite3_column_text(st, 0));
        if (k < 0 || mp_hex_decode(v->m[k].submission_hash, MP_HASH_BYTES,
                                   (const char *)sqlite3_column_text(st, 1)) != 0) {
            sqlite3_finalize(st);
            return mp_error_set("store: a submission of %s without key shares",
                                (const char *)sqlite3_column_text(st, 0));
        }
        v->m[k].submitted = 1;
        v->n2++;
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : mp_store_error(db, "reading submissions");
}

static int load_outgoing(sqlite3 *db, const char *round_id, const char *kind, mp_envelope **env)
{
    sqlite3_stmt *st;
    int rc = -1;
    *env = NULL;
    if (mp_store_prepare(db, &st,
                         "SELECT message FROM sa_outgoing WHERE round_id = ? AND kind = ?"))
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = load_text_env(env, st, 0, kind);
    else
        mp_error_set("round %s has no %s message yet", round_id, kind);
    sqlite3_finalize(st);
    return rc;
}

/*
 * The lists the aggregator signed for everyone (the keys message: U1; the survivors list: U2
 * with U3 flagged), verified once per thread and kept: every share message is checked against
 * U1 and every confirmation and unmask message against the survivors list, and parsing a
 * 1000-member list means verifying 1000 key signatures. An entry is used only while the stored
 * bytes, the round and the roster are the ones it was verified from (compared byte for byte);
 * the views are borrowed until the next stored_view of that kind on this thread.
 */
typedef struct view_cache {
    int valid;
    unsigned char round_hash[MP_HASH_BYTES], roster_hash[MP_HASH_BYTES], msg_hash[MP_HASH_BYTES];
    char *text;
    size_t len;
    mp_secagg_view v;
} view_cache;

enum { VIEW_KEYS, VIEW_SURVIVORS };
static _Thread_local view_cache views[2];

static void view_cache_drop(view_cache *c)
{
    free(c->text);
    mp_secagg_view_free(&c->v);
    memset(c, 0, sizeof *c);
}

static int stored_view(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, int which,
                       const mp_secagg_view **v, unsigned char msg_hash[MP_HASH_BYTES])
{
    const char *kind = which == VIEW_KEYS ? "keys" : "survivors";
    view_cache *c = &views[which];
    sqlite3_stmt *st;
    mp_envelope *env = NULL;
    int rc = -1;
    if (mp_store_prepare(db, &st,
                         "SELECT message FROM sa_outgoing WHERE round_id = ? AND kind = ?"))
        return -1;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        mp_error_set("round %s has no %s message yet", spec->round_id, kind);
        goto out;
    }
    const char *text = (const char *)sqlite3_column_text(st, 0);
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    if (c->valid && c->len == len && memcmp(c->text, text, len) == 0 &&
        memcmp(c->round_hash, spec->env->hash, MP_HASH_BYTES) == 0 &&
        memcmp(c->roster_hash, roster->env->hash, MP_HASH_BYTES) == 0) {
        rc = 0;
        goto out;
    }
    view_cache_drop(c);
    if (load_text_env(&env, st, 0, kind) != 0)
        goto out;
    if ((which == VIEW_KEYS ? mp_secagg_keys_parse(&c->v, env, spec, roster)
                            : mp_secagg_survivors_parse(&c->v, env, spec, roster)) != 0) {
        mp_error_prefix(which == VIEW_KEYS ? "stored keys message: " : "stored survivors list: ");
        goto out;
    }
    if ((c->text = malloc(len + 1)) == NULL) {
        mp_secagg_view_free(&c->v);
        mp_error_system("out of memory");
        goto out;
    }
    memcpy(c->text, text, len);
    c->len = len;
    memcpy(c->round_hash, spec->env->hash, MP_HASH_BYTES);
    memcpy(c->roster_hash, roster->env->hash, MP_HASH_BYTES);
    memcpy(c->msg_hash, env->hash, MP_HASH_BYTES);
    c->valid = 1;
    rc = 0;
out:
    sqlite3_finalize(st);
    mp_envelope_free(env);
    if (rc == 0) {
        *v = &c->v;
        if (msg_hash != NULL)
            memcpy(msg_hash, c->msg_hash, MP_HASH_BYTES);
    }
    return rc;
}

/* A copy of a view the caller owns. */
static int view_copy(mp_secagg_view *dst, const mp_secagg_view *src)
{
    *dst = *src;
    if ((dst->m = malloc((src->n1 ? src->n1 : 1) * sizeof *dst->m)) == NULL) {
        memset(dst, 0, sizeof *dst);
        return mp_error_system("out of memory");
    }
    memcpy(dst->m, src->m, src->n1 * sizeof *dst->m);
    return 0;
}

static int load_kind(sqlite3 *db, const char *round_id, const char *kind, const char *type,
                     mp_envelope ***out, size_t *n);

/* The stored keys message (U1) and survivors list, verified once (stored_view), as copies the
 * caller owns; *hash (optional) receives the survivors list's envelope hash. */
static int load_keys(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, mp_secagg_view *v)
{
    const mp_secagg_view *c;
    memset(v, 0, sizeof *v);
    return stored_view(db, spec, roster, VIEW_KEYS, &c, NULL) != 0 ? -1 : view_copy(v, c);
}

static int load_survivors(sqlite3 *db, const mp_spec *spec, const mp_roster *roster,
                          mp_secagg_view *v, unsigned char hash[MP_HASH_BYTES])
{
    const mp_secagg_view *c;
    memset(v, 0, sizeof *v);
    return stored_view(db, spec, roster, VIEW_SURVIVORS, &c, hash) != 0 ? -1 : view_copy(v, c);
}

/* A stored share message for its boxes only: its bytes must hash to the recorded hash (so
 * they are the ones verified on import, and canonical), and are then parsed as plain JSON
 * (the canonical parser's checks and the re-serialisation are for bytes of unknown origin).
 * The result carries the body, the hash and the type only. */
static int stored_boxes(mp_envelope **out, sqlite3_stmt *st, int col,
                        const unsigned char want[MP_HASH_BYTES], const char *org)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    unsigned char h[MP_HASH_BYTES];
    mp_envelope *e;
    cJSON *root;
    mp_hash(h, text, len);
    if (memcmp(h, want, MP_HASH_BYTES) != 0)
        return mp_error_set("store: the share message of %s is not the one recorded", org);
    if ((e = calloc(1, sizeof *e)) == NULL || (root = cJSON_ParseWithLength(text, len)) == NULL) {
        free(e);
        return mp_error_set("store: the share message of %s cannot be read", org);
    }
    e->body = cJSON_DetachItemFromObjectCaseSensitive(root, "body");
    cJSON_Delete(root);
    if (e->body == NULL) {
        free(e);
        return mp_error_set("store: the share message of %s has no body", org);
    }
    snprintf(e->type, sizeof e->type, "share");
    memcpy(e->hash, h, MP_HASH_BYTES);
    *out = e;
    return 0;
}

/* U2 from the stored keys message (U1, verified) and the stored share messages, in position
 * order: v holds the members that sent shares (with their share hashes), u1 (optional) all of
 * U1, and shares[] (optional, v->n1 of them, caller frees) the share envelopes of v's members.
 * Each share message was checked against this U1 when it was imported (invariant 1), so what
 * U2 needs is who sent one and its hash, as recorded; the envelopes are parsed (not verified
 * again) only when their boxes are wanted, and must have the recorded hash. */
static int load_u2(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, mp_secagg_view *v,
                   mp_secagg_view *u1, mp_envelope ***shares)
{
    const mp_secagg_view *all;
    mp_envelope **byk = NULL;
    unsigned char *hashes = NULL;
    char *have = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1, step;
    memset(v, 0, sizeof *v);
    if (stored_view(db, spec, roster, VIEW_KEYS, &all, NULL) != 0)
        return -1;
    if ((byk = calloc(all->n1 + 1, sizeof *byk)) == NULL ||
        (hashes = malloc((all->n1 + 1) * MP_HASH_BYTES)) == NULL ||
        (have = calloc(all->n1 + 1, 1)) == NULL ||
        (v->m = calloc(all->n1 + 1, sizeof *v->m)) == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    if (mp_store_prepare(db, &st,
                         shares != NULL
                             ? "SELECT org, sha256, message FROM sa_messages WHERE round_id = ? "
                               "AND kind = 'share'"
                             : "SELECT org, sha256 FROM sa_messages WHERE round_id = ? AND kind "
                               "= 'share'"))
        goto out;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *org = (const char *)sqlite3_column_text(st, 0);
        int k = mp_secagg_member_index(all, org);
        if (k < 0 || have[k] ||
            mp_hex_decode(hashes + (size_t)k * MP_HASH_BYTES, MP_HASH_BYTES,
                          (const char *)sqlite3_column_text(st, 1)) != 0) {
            mp_error_set("store: the share message of %s is not one from a member of U1", org);
            goto out;
        }
        have[k] = 1;
        if (shares != NULL &&
            stored_boxes(&byk[k], st, 2, hashes + (size_t)k * MP_HASH_BYTES, org) != 0)
            goto out;
    }
    if (step != SQLITE_DONE) {
        mp_store_error(db, "reading share messages");
        goto out;
    }
    for (size_t k = 0; k < all->n1; k++)
        if (have[k]) {
            v->m[v->n1] = all->m[k];
            v->m[v->n1].shared = 1;
            memcpy(v->m[v->n1].share_hash, hashes + k * MP_HASH_BYTES, MP_HASH_BYTES);
            byk[v->n1++] = byk[k];
            if (v->n1 - 1 != k)
                byk[k] = NULL;
        }
    if (u1 != NULL && view_copy(u1, all) != 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    if (rc == 0 && shares != NULL) {
        *shares = byk;
        byk = NULL;
    }
    for (size_t k = 0; byk != NULL && k < all->n1; k++)
        mp_envelope_free(byk[k]);
    free(byk);
    free(hashes);
    free(have);
    if (rc != 0)
        mp_secagg_view_free(v);
    return rc;
}

static int store_outgoing(sqlite3 *db, const char *round_id, const char *kind, const char *text,
                          size_t len)
{
    sqlite3_stmt *st;
    char hash[MP_HASH_HEX_BYTES], at[21];
    int64_t now;
    int ok;
    if (mp_time_now(&now) != 0)
        return -1;
    mp_time_format(at, now);
    mp_hash_hex(hash, text, len);
    if (mp_store_prepare(db, &st, "INSERT INTO sa_outgoing VALUES (?, ?, ?, ?, ?)"))
        return -1;
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok)
        return mp_store_error(db, "cannot store the outgoing message");
    char detail[128];
    snprintf(detail, sizeof detail, "%s %s", kind, hash);
    return mp_rs_log_append(db, "sa-outgoing", round_id, detail);
}

/* Which phase takes which message. */
static const char *phase_of(const char *type)
{
    if (strcmp(type, "advertise") == 0)
        return "advertise";
    if (strcmp(type, "share") == 0)
        return "share";
    if (strcmp(type, "consistency") == 0)
        return "confirm";
    if (strcmp(type, "unmask") == 0)
        return "unmask";
    return "submit";
}

int mp_sa_import(sqlite3 *db, const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                 char org_id[MP_ORG_ID_MAX + 1])
{
    char phase[16], hash[MP_HASH_HEX_BYTES], at[21];
    mp_secagg_view v = {0};
    unsigned char surv_hash[MP_HASH_BYTES];
    sqlite3_stmt *st = NULL;
    const char *org = NULL;
    int64_t now;
    int rc = -1, step;

    if (spec->masking != MP_MASKING_BONAWITZ) {
        mp_error_set("round %s uses masking scheme %s; a \"%s\" message has no place in it",
                     spec->round_id, mp_spec_scheme_name(spec), env->type);
        return -1;
    }
    if (mp_time_now(&now) != 0 || mp_store_begin(db) != 0)
        return -1;
    if (mp_sa_phase(db, spec->round_id, phase) != 0)
        goto rollback;
    if (phase[0] == '\0') {
        mp_error_set("round %s is closed; it takes no more messages", spec->round_id);
        goto rollback;
    }
    if (mp_phase_parse(phase) != mp_phase_parse(phase_of(env->type))) {
        mp_error_set("round %s is in its %s phase; a \"%s\" message belongs to the %s phase and "
                     "is refused",
                     spec->round_id, phase, env->type, phase_of(env->type));
        goto rollback;
    }
    if (strcmp(env->type, "advertise") == 0) {
        mp_secagg_member m;
        if (mp_secagg_advertise_check(env, spec, roster, &m) != 0)
            goto rollback;
        org = m.org;
        if (now > spec->deadline) {
            mp_error_set("advertisement of %s arrived after the deadline of round %s", org,
                         spec->round_id);
            goto rollback;
        }
    } else if (strcmp(env->type, "share") == 0) {
        size_t member;
        if (load_keys(db, spec, roster, &v) != 0 ||
            mp_secagg_share_check(env, spec, roster, &v, &member) != 0)
            goto rollback;
        org = v.m[member].org;
    } else {
        size_t member;
        if (load_survivors(db, spec, roster, &v, surv_hash) != 0)
            goto rollback;
        if (strcmp(env->type, "consistency") == 0) {
            if (mp_secagg_consistency_check(env, spec, roster, &v, surv_hash, &member) != 0)
                goto rollback;
        } else {
            mp_secagg_reveal r;
            if (mp_secagg_unmask_check(env, spec, roster, &v, surv_hash, &r) != 0)
                goto rollback;
            member = r.member;
            mp_secagg_reveal_free(&r);
        }
        org = v.m[member].org;
    }
    snprintf(org_id, MP_ORG_ID_MAX + 1, "%s", org);
    mp_time_format(at, now);
    mp_hex_encode(hash, env->hash, MP_HASH_BYTES);
    if (mp_store_prepare(db, &st, "SELECT 1 FROM sa_messages WHERE sha256 = ?") != 0)
        goto rollback;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (step == SQLITE_ROW) {
        mp_error_set("this %s message of %s was imported before (duplicate or replay)", env->type,
                     org);
        goto rollback;
    }
    if (mp_store_prepare(db, &st, "INSERT INTO sa_messages VALUES (?, ?, ?, ?, ?, ?)") != 0)
        goto rollback;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, org, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, env->text, (int)env->text_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, at, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY)
            mp_error_set("%s already sent a different %s message in round %s; a second one is "
                         "refused",
                         org, env->type, spec->round_id);
        else
            mp_store_error(db, "cannot store the message");
        goto rollback;
    }
    char detail[160];
    snprintf(detail, sizeof detail, "%s %s", org, hash);
    if (mp_rs_log_append(db, env->type, spec->round_id, detail) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
out:
    sqlite3_finalize(st);
    mp_secagg_view_free(&v);
    return rc;
}

int mp_sa_submission_allowed(sqlite3 *db, const mp_spec *spec, const char *org)
{
    char phase[16];
    sqlite3_stmt *st;
    int step;
    if (mp_sa_phase(db, spec->round_id, phase) != 0)
        return -1;
    if (mp_phase_parse(phase) != MP_PHASE_SUBMIT)
        return mp_error_set("round %s is in its %s phase; submissions belong to the submit phase "
                            "(after the shares are sent)",
                            spec->round_id, phase[0] ? phase : "closed");
    if (mp_store_prepare(db, &st,
                         "SELECT 1 FROM sa_messages WHERE round_id = ? AND kind = 'share' "
                         "AND org = ?"))
        return -1;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, org, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW)
        return mp_error_set("%s did not send key shares in round %s, so nobody masked with it; "
                            "its submission is refused",
                            org, spec->round_id);
    return 0;
}

/* The stored messages of one kind, in position order (each was checked on import). */
static int load_kind(sqlite3 *db, const char *round_id, const char *kind, const char *type,
                     mp_envelope ***out, size_t *n)
{
    sqlite3_stmt *st;
    mp_envelope **e = calloc(MP_MAX_ORGS, sizeof *e);
    int step;
    *n = 0;
    if (e == NULL)
        return mp_error_system("out of memory");
    if (mp_store_prepare(db, &st,
                         "SELECT message FROM sa_messages WHERE round_id = ? AND kind = ? "
                         "ORDER BY org")) {
        free(e);
        return -1;
    }
    sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < MP_MAX_ORGS) {
        if (load_text_env(&e[*n], st, 0, type) != 0) {
            sqlite3_finalize(st);
            free_envs(e, *n);
            return -1;
        }
        (*n)++;
    }
    sqlite3_finalize(st);
    *out = e;
    return 0;
}

static int sign_store(sqlite3 *db, const mp_spec *spec, const char *kind, cJSON *body,
                      const mp_keypair *coordinator)
{
    char *text;
    size_t len;
    int rc;
    if (mp_envelope_sign(&text, &len, kind, body, coordinator) != 0)
        return -1;
    rc = store_outgoing(db, spec->round_id, kind, text, len);
    free(text);
    return rc;
}

int mp_sa_advance(sqlite3 *db, const mp_spec *spec, const mp_roster *roster,
                  const mp_keypair *coordinator, char new_phase[16])
{
    char phase[16], detail[256];
    mp_secagg_view v = {0};
    mp_envelope **adverts = NULL, **confs = NULL;
    unsigned char surv_hash[MP_HASH_BYTES];
    size_t nconf = 0;
    cJSON *body = NULL;
    int rc = -1;

    if (spec->masking != MP_MASKING_BONAWITZ)
        return mp_error_set("round %s uses masking scheme %s, which has no phases to advance",
                            spec->round_id, mp_spec_scheme_name(spec));
    if (mp_store_begin(db) != 0)
        return -1;
    if (mp_sa_phase(db, spec->round_id, phase) != 0)
        goto rollback;
    if (mp_phase_parse(phase) == MP_PHASE_ADVERTISE) {
        if (load_u1(db, spec, roster, &v, &adverts) != 0)
            goto rollback;
        if ((long long)v.n1 < spec->threshold) {
            mp_error_set("round %s: %zu of %zu participants advertised keys; the threshold is "
                         "%lld, so the advertise phase cannot end yet",
                         spec->round_id, v.n1, spec->nparticipants, spec->threshold);
            goto rollback;
        }
        if (mp_secagg_keys_build(&body, spec, &v) != 0 ||
            sign_store(db, spec, "keys", body, coordinator) != 0)
            goto rollback;
        snprintf(detail, sizeof detail, "%zu advertised", v.n1);
        strcpy(new_phase, mp_phase_name(MP_PHASE_SHARE));
    } else if (mp_phase_parse(phase) == MP_PHASE_SHARE) {
        mp_secagg_view u1 = {0};
        if (load_u2(db, spec, roster, &v, &u1, NULL) != 0)
            goto rollback;
        size_t n1 = u1.n1;
        mp_secagg_view_free(&u1);
        if ((long long)v.n1 < spec->threshold) {
            mp_error_set("round %s: %zu of %zu advertised participants sent key shares; the "
                         "threshold is %lld, so the share phase cannot end yet",
                         spec->round_id, v.n1, n1, spec->threshold);
            goto rollback;
        }
        snprintf(detail, sizeof detail, "%zu shared of %zu advertised", v.n1, n1);
        strcpy(new_phase, mp_phase_name(MP_PHASE_SUBMIT));
    } else if (mp_phase_parse(phase) == MP_PHASE_SUBMIT) {
        if (load_u2(db, spec, roster, &v, NULL, NULL) != 0 || mark_u2(db, spec, &v) != 0)
            goto rollback;
        if ((long long)v.n2 < spec->threshold || (long long)v.n2 < spec->k_min) {
            mp_error_set("round %s: %zu of %zu participants that sent key shares submitted; the "
                         "threshold is %lld and k_min %lld, so the submit phase cannot end yet",
                         spec->round_id, v.n2, v.n1, spec->threshold, spec->k_min);
            goto rollback;
        }
        if (mp_secagg_survivors_build(&body, spec, &v) != 0 ||
            sign_store(db, spec, "survivors", body, coordinator) != 0)
            goto rollback;
        snprintf(detail, sizeof detail, "%zu submitted of %zu that shared", v.n2, v.n1);
        strcpy(new_phase, mp_phase_name(MP_PHASE_CONFIRM));
    } else if (mp_phase_parse(phase) == MP_PHASE_CONFIRM) {
        if (load_survivors(db, spec, roster, &v, surv_hash) != 0 ||
            load_kind(db, spec->round_id, "consistency", "consistency", &confs, &nconf) != 0)
            goto rollback;
        if ((long long)nconf < spec->threshold) {
            mp_error_set("round %s: %zu of %zu survivors confirmed the survivors list; the "
                         "threshold is %lld, so the confirm phase cannot end yet",
                         spec->round_id, nconf, v.n2, spec->threshold);
            goto rollback;
        }
        if (mp_secagg_request_build(&body, spec, surv_hash, (const mp_envelope *const *)confs,
                                    nconf) != 0 ||
            sign_store(db, spec, "unmask-request", body, coordinator) != 0)
            goto rollback;
        snprintf(detail, sizeof detail, "%zu confirmed", nconf);
        strcpy(new_phase, mp_phase_name(MP_PHASE_UNMASK));
    } else if (mp_phase_parse(phase) == MP_PHASE_UNMASK) {
        mp_error_set("round %s is in its unmask phase: it closes as soon as %lld unmask messages "
                     "are imported",
                     spec->round_id, spec->threshold);
        goto rollback;
    } else {
        mp_error_set("round %s is not open", spec->round_id);
        goto rollback;
    }
    if (set_phase(db, spec->round_id, phase, new_phase) != 0 ||
        mp_rs_log_append(db, "sa-advance", spec->round_id, detail) != 0 || mp_store_commit(db) != 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    mp_store_rollback(db);
out:
    cJSON_Delete(body);
    free_envs(adverts, v.n1);
    free_envs(confs, nconf);
    mp_secagg_view_free(&v);
    return rc;
}

static int write_outgoing(sqlite3 *db, const char *round_id, const char *kind, const char *dir,
                          const char *name)
{
    mp_envelope *env;
    int rc;
    if (load_outgoing(db, round_id, kind, &env) != 0)
        return -1;
    rc = mp_file_write_in(dir, name, env->text, env->text_len, 0644);
    mp_envelope_free(env);
    return rc;
}

int mp_sa_outbox(sqlite3 *db, const mp_spec *spec, const mp_roster *roster,
                 const mp_keypair *coordinator, const char *dir, size_t *nfiles)
{
    char phase[16];
    *nfiles = 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return mp_error_set("%s: cannot create: %s", dir, strerror(errno));
    if (mp_sa_phase(db, spec->round_id, phase) != 0)
        return -1;
    if (mp_phase_parse(phase) == MP_PHASE_SHARE) {
        *nfiles = 1;
        return write_outgoing(db, spec->round_id, "keys", dir, "keys.json");
    }
    if (mp_phase_parse(phase) == MP_PHASE_SUBMIT) {
        mp_secagg_view v, u1;
        mp_envelope **shares;
        int rc = 0;
        if (load_u2(db, spec, roster, &v, &u1, &shares) != 0)
            return -1;
        /* Index every share message's boxes once: grid[i * n1 + k] is the box from member i of
         * U2 to member k of U1 (cJSON arrays are lists, so looking each one up would cost
         * O(n^3)). */
        size_t n1 = u1.n1;
        const char **grid = calloc(v.n1 * n1 + 1, sizeof *grid),
                   **col = calloc(v.n1 + 1, sizeof *col);
        if (grid == NULL || col == NULL)
            rc = mp_error_system("out of memory");
        for (size_t i = 0; i < v.n1 && rc == 0; i++) {
            const cJSON *it, *arr = cJSON_GetObjectItemCaseSensitive(shares[i]->body, "boxes");
            size_t k = 0;
            cJSON_ArrayForEach (it, arr)
                if (k < n1)
                    grid[i * n1 + k++] = cJSON_IsString(it) ? it->valuestring : NULL;
        }
        /* One body, made once and retargeted per recipient: the list of U2 in it is the same
         * for all (building it n times was most of this phase). */
        cJSON *body = NULL;
        for (size_t k = 0; k < v.n1 && rc == 0; k++) {
            char *text, name[80];
            size_t len;
            int to = mp_secagg_member_index(&u1, v.m[k].org);
            for (size_t i = 0; i < v.n1; i++)
                col[i] = grid[i * n1 + (size_t)to];
            rc = body == NULL ? mp_secagg_shares_build(&body, spec, &v, col, k)
                              : mp_secagg_shares_retarget(body, &v, col, k);
            if (rc == 0)
                rc = mp_envelope_sign(&text, &len, "shares", body, coordinator);
            if (rc == 0) {
                snprintf(name, sizeof name, "shares-%s.json", v.m[k].org);
                rc = mp_file_write_in(dir, name, text, len, 0644);
                free(text);
                (*nfiles)++;
            }
        }
        cJSON_Delete(body);
        free(grid);
        free(col);
        free_envs(shares, v.n1);
        mp_secagg_view_free(&v);
        mp_secagg_view_free(&u1);
        return rc;
    }
    if (mp_phase_parse(phase) == MP_PHASE_CONFIRM) {
        *nfiles = 1;
        return write_outgoing(db, spec->round_id, "survivors", dir, "survivors.json");
    }
    if (mp_phase_parse(phase) == MP_PHASE_UNMASK) {
        *nfiles = 1;
        return write_outgoing(db, spec->round_id, "unmask-request", dir, "unmask-request.json");
    }
    if (mp_phase_parse(phase) == MP_PHASE_ADVERTISE)
        return mp_error_set("round %s is still collecting advertisements: nothing to send yet "
                            "(advance it first)",
                            spec->round_id);
    return mp_error_set("round %s is not open: nothing to send", spec->round_id);
}

/* Organisations with a message of `kind` (or a submission) in the round. */
static int has(sqlite3 *db, const char *round_id, const char *kind, const char *org)
{
    sqlite3_stmt *st;
    int step;
    if (strcmp(kind, "submission") == 0) {
        if (mp_store_prepare(db, &st, "SELECT 1 FROM submissions WHERE round_id = ? AND org = ?"))
            return -1;
        sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, org, -1, SQLITE_STATIC);
    } else {
        if (mp_store_prepare(db, &st,
                             "SELECT 1 FROM sa_messages WHERE round_id = ? AND kind = ? AND "
                             "org = ?"))
            return -1;
        sqlite3_bind_text(st, 1, round_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, org, -1, SQLITE_STATIC);
    }
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
}

int mp_sa_status_get(sqlite3 *db, const mp_spec *spec, mp_sa_status *s)
{
    static const char *const kinds[] = {"advertise", "share", "submission", "consistency",
                                        "unmask"};
    int flags[MP_MAX_ORGS][5];
    memset(s, 0, sizeof *s);
    if (mp_sa_phase(db, spec->round_id, s->phase) != 0)
        return -1;
    for (size_t i = 0; i < spec->nparticipants; i++)
        for (int k = 0; k < 5; k++) {
            int h = has(db, spec->round_id, kinds[k], spec->participants[i]);
            if (h < 0)
                return -1;
            flags[i][k] = h;
        }
    for (size_t i = 0; i < spec->nparticipants; i++) {
        s->advertised += (size_t)flags[i][0];
        s->shared += (size_t)flags[i][1];
        s->submitted += (size_t)flags[i][2];
        s->confirmed += (size_t)flags[i][3];
        s->unmasked += (size_t)flags[i][4];
    }
    for (int k = 0; k < 5; k++) {
        if (mp_phase_parse(s->phase) != (enum mp_phase)(MP_PHASE_ADVERTISE + k))
            continue;
        /* Expected now: everyone for advertise; those that delivered the phase before. The
         * survivors of the confirm and unmask phases are the submitters. */
        for (size_t i = 0; i < spec->nparticipants; i++) {
            int expected = k == 0 ? 1 : k <= 2 ? flags[i][k - 1] : flags[i][2];
            if (!expected)
                continue;
            s->expected++;
            if (flags[i][k])
                s->delivered++;
            else
                s->missing[s->nmissing++] = spec->participants[i];
        }
    }
    return 0;
}

int mp_sa_can_close(sqlite3 *db, const mp_spec *spec)
{
    mp_sa_status s;
    if (spec->masking != MP_MASKING_BONAWITZ || mp_sa_status_get(db, spec, &s) != 0)
        return 0;
    return mp_phase_parse(s.phase) == MP_PHASE_UNMASK && (long long)s.unmasked >= spec->threshold;
}

/* Every stored unmask message, checked, in position order. */
static int load_reveals(sqlite3 *db, const mp_spec *spec, const mp_roster *roster,
                        const mp_secagg_view *v, const unsigned char surv_hash[MP_HASH_BYTES],
                        mp_secagg_reveal *r, size_t *nr)
{
    mp_envelope **e;
    size_t n;
    *nr = 0;
    if (load_kind(db, spec->round_id, "unmask", "unmask", &e, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (mp_secagg_unmask_check(e[i], spec, roster, v, surv_hash, &r[*nr]) != 0) {
            free_envs(e, n);
            return mp_error_prefix("stored unmask message: ");
        }
        (*nr)++;
    }
    free_envs(e, n);
    return 0;
}

/*
 * Open with the first T reveals; when that fails (a participant revealed false shares, or
 * dealt inconsistent ones) and more than T are in, leave out one at a time and try again, so
 * that one bad participant cannot block the close. *used receives the organisations whose
 * shares opened the sum, space-separated.
 */
static int open_robust(uint64_t *acc, size_t d, const mp_spec *spec, const mp_secagg_view *v,
                       mp_secagg_reveal *r, size_t nr, char **used)
{
    uint64_t *tmp = malloc((d ? d : 1) * sizeof *tmp);
    mp_secagg_reveal *rr = calloc(nr ? nr : 1, sizeof *rr);
    char first[512];
    size_t skip = nr, m = 0; /* skip == nr: nobody left out */
    int rc = -1;
    if (tmp == NULL || rr == NULL) {
        free(tmp);
        free(rr);
        return mp_error_system("out of memory");
    }
    for (;;) {
        m = 0;
        for (size_t i = 0; i < nr; i++)
            if (i != skip)
                rr[m++] = r[i]; /* shallow: the shares stay owned by r */
        memcpy(tmp, acc, d * sizeof *tmp);
        if (mp_secagg_open(tmp, d, spec, v, rr, m, 0) == 0) {
            rc = 0;
            break;
        }
        if (skip == nr)
            snprintf(first, sizeof first, "%s", mp_error_get());
        skip = skip == nr ? 0 : skip + 1;
        if ((long long)nr - 1 < spec->threshold || skip == nr) {
            mp_error_set("%s%s", first,
                         (long long)nr > spec->threshold
                             ? " (and leaving out any one unmask message does not help)"
                             : " (with more unmask messages the round can try without one)");
            break;
        }
    }
    if (rc == 0) {
        size_t len = 1;
        for (long long i = 0; i < spec->threshold; i++)
            len += strlen(v->m[rr[i].member].org) + 1;
        if ((*used = malloc(len)) == NULL)
            rc = mp_error_system("out of memory");
        else {
            (*used)[0] = '\0';
            for (long long i = 0; i < spec->threshold; i++) {
                if (i > 0)
                    strcat(*used, " ");
                strcat(*used, v->m[rr[i].member].org);
            }
            memcpy(acc, tmp, d * sizeof *tmp);
        }
    }
    free(tmp);
    free(rr);
    return rc;
}

int mp_sa_open_sum(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, uint64_t *sum,
                   size_t *n, char **used)
{
    mp_secagg_view v = {0};
    unsigned char surv_hash[MP_HASH_BYTES];
    mp_secagg_reveal *r = NULL;
    size_t nr = 0, d = spec->catalogue->ncells, nsub = 0;
    uint64_t *vec = calloc(d, sizeof *vec), *acc = calloc(d, sizeof *acc);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (vec == NULL || acc == NULL || (r = calloc(MP_MAX_ORGS, sizeof *r)) == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    if (load_survivors(db, spec, roster, &v, surv_hash) != 0)
        goto out;
    /* The stored submissions must be exactly the survivors named, with the same hashes. */
    if (mp_store_prepare(db, &st, "SELECT org, submission FROM submissions WHERE round_id = ?"))
        goto out;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        mp_envelope *env;
        const mp_org *org;
        int k;
        if (load_text_env(&env, st, 1, "submission") != 0)
            goto out;
        if (mp_submission_check(env, spec, roster, &org, vec) != 0 ||
            (k = mp_secagg_member_index(&v, org->id)) < 0 || !v.m[k].submitted ||
            memcmp(env->hash, v.m[k].submission_hash, MP_HASH_BYTES) != 0) {
            mp_envelope_free(env);
            mp_error_set("stored submission of %s is not the one the survivors list names",
                         (const char *)sqlite3_column_text(st, 0));
            goto out;
        }
        mp_envelope_free(env);
        mp_vec_add(acc, vec, d);
        nsub++;
    }
    if (nsub != v.n2) {
        mp_error_set("the store holds %zu submissions, the survivors list names %zu", nsub, v.n2);
        goto out;
    }
    if (load_reveals(db, spec, roster, &v, surv_hash, r, &nr) != 0)
        goto out;
    if ((long long)nr < spec->threshold) {
        mp_error_set("round %s: %zu of %zu survivors sent their unmask message; %lld are needed",
                     spec->round_id, nr, v.n2, spec->threshold);
        goto out;
    }
    if (open_robust(acc, d, spec, &v, r, nr, used) != 0)
        goto out;
    memcpy(sum, acc, d * sizeof *sum);
    *n = v.n2;
    rc = 0;
out:
    sqlite3_finalize(st);
    for (size_t i = 0; r != NULL && i < nr; i++)
        mp_secagg_reveal_free(&r[i]);
    free(r);
    free(vec);
    free(acc);
    mp_secagg_view_free(&v);
    return rc;
}

/* The unmask messages that opened the sum, as recorded at close (rounds.unmasked_by). */
static int used_unmasks(sqlite3 *db, const mp_spec *spec, char ***orgs, size_t *n)
{
    char list[MP_MAX_ORGS * (MP_ORG_ID_MAX + 1) + 1], *save = NULL;
    char **o = calloc(MP_MAX_ORGS, sizeof *o);
    *n = 0;
    if (o == NULL)
        return mp_error_system("out of memory");
    if (mp_store_text(db, "SELECT unmasked_by FROM rounds WHERE round_id = ?", spec->round_id, list,
                      sizeof list) != 1) {
        free(o);
        return mp_error_set("round %s: no record of the unmask messages that opened it",
                            spec->round_id);
    }
    for (char *t = strtok_r(list, " ", &save); t != NULL && *n < MP_MAX_ORGS;
         t = strtok_r(NULL, " ", &save))
        if ((o[(*n)++] = strdup(t)) == NULL) {
            for (size_t i = 0; i + 1 < *n; i++)
                free(o[i]);
            free(o);
            return mp_error_system("out of memory");
        }
    *orgs = o;
    return 0;
}

static void free_orgs(char **o, size_t n)
{
    for (size_t i = 0; o != NULL && i < n; i++)
        free(o[i]);
    free(o);
}

int mp_sa_release_masking(sqlite3 *db, const mp_spec *spec, cJSON **masking)
{
    char hash[MP_HASH_HEX_BYTES];
    char **orgs = NULL;
    size_t n = 0;
    cJSON *m = cJSON_CreateObject(), *adv, *by;
    sqlite3_stmt *st;
    int rc = -1;
    if (m == NULL || used_unmasks(db, spec, &orgs, &n) != 0)
        goto out;
    cJSON_AddStringToObject(m, "scheme", MP_SCHEME_BONAWITZ);
    cJSON_AddNumberToObject(m, "threshold", (double)spec->threshold);
    adv = cJSON_AddArrayToObject(m, "shared");
    if (mp_store_prepare(db, &st,
                         "SELECT org FROM sa_messages WHERE round_id = ? AND kind = 'share' "
                         "ORDER BY org"))
        goto out;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddItemToArray(adv, cJSON_CreateString((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    for (int k = 0; k < 2; k++) {
        const char *kind = k ? "unmask-request" : "survivors";
        if (mp_store_text(db,
                          k ? "SELECT sha256 FROM sa_outgoing WHERE round_id = ? AND kind = "
                              "'unmask-request'"
                            : "SELECT sha256 FROM sa_outgoing WHERE round_id = ? AND kind = "
                              "'survivors'",
                          spec->round_id, hash, sizeof hash) != 1) {
            mp_error_set("round %s has no stored %s message", spec->round_id, kind);
            goto out;
        }
        cJSON_AddStringToObject(m, k ? "unmask_request_sha256" : "survivors_sha256", hash);
    }
    by = cJSON_AddArrayToObject(m, "unmasked_by");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(by, cJSON_CreateString(orgs[i]));
    *masking = m;
    m = NULL;
    rc = 0;
out:
    cJSON_Delete(m);
    free_orgs(orgs, n);
    return rc;
}

int mp_sa_bundle(sqlite3 *db, const mp_spec *spec, const char *dir)
{
    char **orgs = NULL, sub[PATH_MAX];
    size_t n = 0;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (write_outgoing(db, spec->round_id, "survivors", dir, "survivors.json") != 0 ||
        write_outgoing(db, spec->round_id, "unmask-request", dir, "unmask-request.json") != 0 ||
        used_unmasks(db, spec, &orgs, &n) != 0)
        goto out;
    if (snprintf(sub, sizeof sub, "%s/unmask", dir) >= (int)sizeof sub || mkdir(sub, 0755) != 0) {
        mp_error_set("%s: cannot create: %s", sub, strerror(errno));
        goto out;
    }
    if (mp_store_prepare(db, &st,
                         "SELECT message FROM sa_messages WHERE round_id = ? AND kind = 'unmask' "
                         "AND org = ?"))
        goto out;
    for (size_t i = 0; i < n; i++) {
        char name[80];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, orgs[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            mp_error_set("unmask message of %s missing from the store", orgs[i]);
            goto out;
        }
        snprintf(name, sizeof name, "%s.json", orgs[i]);
        if (mp_file_write_in(sub, name, sqlite3_column_text(st, 0),
                             (size_t)sqlite3_column_bytes(st, 0), 0644) != 0)
            goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    free_orgs(orgs, n);
    return rc;
}
