/*
 * roundlog.c - a round's documents in and out of the transparency log (see roundlog.h).
 */
#include "roundlog.h"

#include "roster.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "envelope.h"
#include "fileio.h"
#include "privacy.h"

#define MAX_DOCS (8 + 2 * 1024)

int mp_roundlog_origin(char out[MP_CHECKPOINT_ORIGIN_MAX + 1], const char *roster_path)
{
    mp_roster *r;
    /* Only the region's id is read (draft or agreed roster); signatures are the log's
     * verifiers' business. */
    if (mp_roster_load(&r, roster_path, NULL) != 0)
        return -1;
    snprintf(out, MP_CHECKPOINT_ORIGIN_MAX + 1, MP_ROUNDLOG_ORIGIN_PREFIX "%s", r->region_id);
    mp_roster_free(r);
    return 0;
}

/* The documents being appended, and the buffers they point into. */
typedef struct batch {
    mp_tlog_doc doc[MAX_DOCS];
    void *owned[MAX_DOCS];
    size_t n;
} batch;

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->owned[i]);
}

static int batch_add(batch *b, const char *type, void *data, size_t len)
{
    if (b->n == MAX_DOCS) {
        free(data);
        return mp_error_set("too many documents for one log append");
    }
    b->doc[b->n] = (mp_tlog_doc){type, data, len};
    b->owned[b->n++] = data;
    return 0;
}

/* A document from a file; an optional one may be absent. */
static int batch_file(batch *b, const char *type, const char *path, int optional)
{
    unsigned char *buf;
    size_t len;
    if (optional && !mp_file_exists(path))
        return 0;
    if (mp_file_read(path, MP_TLOG_ENTRY_MAX, &buf, &len) != 0)
        return -1;
    return batch_add(b, type, buf, len);
}

static int append(const char *log_dir, const char *origin, const char *roster_path,
                  const mp_keypair *kp, batch *b, uint64_t *added, uint64_t *size)
{
    char def[MP_CHECKPOINT_ORIGIN_MAX + 1];
    if (origin == NULL) {
        if (mp_roundlog_origin(def, roster_path) != 0)
            return -1;
        origin = def;
    }
    return mp_tlogdir_append(log_dir, origin, kp->sign_sk, b->doc, b->n, added, size);
}

int mp_roundlog_open(const char *log_dir, const char *origin, const mp_keypair *coordinator,
                     const char *roster_path, const char *round_path, uint64_t *added,
                     uint64_t *size)
{
    batch *b = calloc(1, sizeof *b);
    int rc = -1;
    if (b == NULL)
        return mp_error_system("out of memory");
    if (batch_file(b, "roster", roster_path, 0) == 0 && batch_file(b, "round", round_path, 0) == 0)
        rc = append(log_dir, origin, roster_path, coordinator, b, added, size);
    batch_free(b);
    free(b);
    return rc;
}

/* A file of the release directory. */
static int batch_in(batch *b, const char *type, const char *dir, const char *name, int optional)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return mp_error_set("%s: path too long", dir);
    return batch_file(b, type, path, optional);
}

/* One "submission-hash" document per included submission of the release. */
static int batch_submissions(batch *b, const mp_envelope *rel)
{
    const cJSON *inc, *it;
    const char *round_id;
    if (mp_json_str(rel->body, "round_id", &round_id) != 0 ||
        mp_json_arr(rel->body, "included", &inc) != 0)
        return mp_error_prefix("release.json: ");
    cJSON_ArrayForEach (it, inc) {
        const char *org, *hash;
        cJSON *o;
        char *text;
        size_t len;
        int rc;
        if (mp_json_str(it, "org", &org) != 0 || mp_json_str(it, "submission_sha256", &hash) != 0)
            return mp_error_prefix("release.json: included: ");
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddStringToObject(o, "org", org) ||
            !cJSON_AddStringToObject(o, "round_id", round_id) ||
            !cJSON_AddStringToObject(o, "submission_sha256", hash)) {
            cJSON_Delete(o);
            return mp_error_system("out of memory");
        }
        rc = mp_canon_serialise(&text, &len, o);
        cJSON_Delete(o);
        if (rc != 0 || batch_add(b, "submission-hash", text, len) != 0)
            return -1;
    }
    return 0;
}

int mp_roundlog_release(const char *log_dir, const char *origin, const mp_keypair *coordinator,
                        const char *release_dir, uint64_t *added, uint64_t *size)
{
    batch *b = calloc(1, sizeof *b);
    mp_envelope *rel = NULL;
    char roster[PATH_MAX], path[PATH_MAX];
    int rc = -1;
    if (b == NULL)
        return mp_error_system("out of memory");
    if (snprintf(roster, sizeof roster, "%s/roster.json", release_dir) >= (int)sizeof roster ||
        snprintf(path, sizeof path, "%s/release.json", release_dir) >= (int)sizeof path) {
        mp_error_set("%s: path too long", release_dir);
        goto out;
    }
    if (mp_envelope_load(&rel, path, "release") != 0 ||
        batch_in(b, "roster", release_dir, "roster.json", 0) != 0 ||
        batch_in(b, "round", release_dir, "round.json", 0) != 0 || batch_submissions(b, rel) != 0 ||
        batch_in(b, "survivors", release_dir, "survivors.json", 1) != 0 ||
        batch_in(b, "unmask-request", release_dir, "unmask-request.json", 1) != 0 ||
        batch_in(b, "release", release_dir, "release.json", 0) != 0)
        goto out;
    rc = append(log_dir, origin, roster, coordinator, b, added, size);
out:
    mp_envelope_free(rel);
    batch_free(b);
    free(b);
    return rc;
}

/* The "submission-hash" document of one submission. */
static int batch_submission_hash(batch *b, const char *round_id, const char *org, const char *hash)
{
    cJSON *o;
    char *text;
    size_t len;
    int rc;
    if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddStringToObject(o, "org", org) ||
        !cJSON_AddStringToObject(o, "round_id", round_id) ||
        !cJSON_AddStringToObject(o, "submission_sha256", hash)) {
        cJSON_Delete(o);
        return mp_error_system("out of memory");
    }
    rc = mp_canon_serialise(&text, &len, o);
    cJSON_Delete(o);
    if (rc != 0)
        return -1;
    return batch_add(b, "submission-hash", text, len);
}

static int batch_copy(batch *b, const char *type, const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return mp_error_system("out of memory");
    memcpy(copy, text, len);
    return batch_add(b, type, copy, len);
}

int mp_roundlog_control(const char *log_dir, const char *origin, const mp_keypair *coordinator,
                        const char *roster_text, size_t roster_len, const char *round_text,
                        size_t round_len, const char *type, const char *doc, size_t doc_len,
                        uint64_t *added, uint64_t *size)
{
    batch *b = calloc(1, sizeof *b);
    mp_envelope *env = NULL, *renv = NULL;
    char def[MP_CHECKPOINT_ORIGIN_MAX + 1];
    int rc = -1;
    if (b == NULL)
        return mp_error_system("out of memory");
    if (mp_envelope_parse(&env, doc, doc_len, type) != 0)
        goto out;
    if (origin == NULL) {
        mp_roster *r;
        /* Only the region's id is read, as in mp_roundlog_origin. */
        if (mp_envelope_parse(&renv, roster_text, roster_len, NULL) != 0 ||
            mp_roster_from_envelope(&r, renv, NULL) != 0)
            goto out;
        renv = NULL; /* owned by the roster now */
        snprintf(def, sizeof def, MP_ROUNDLOG_ORIGIN_PREFIX "%s", r->region_id);
        mp_roster_free(r);
        origin = def;
    }
    if (batch_copy(b, "roster", roster_text, roster_len) != 0 ||
        batch_copy(b, "round", round_text, round_len) != 0)
        goto out;
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive(env->body, "submissions"), *it;
    const char *round_id =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env->body, "round_id"));
    cJSON_ArrayForEach (it, subs) {
        const char *org, *hash;
        if (round_id == NULL || mp_json_str(it, "org", &org) != 0 ||
            mp_json_str(it, "submission_sha256", &hash) != 0 ||
            batch_submission_hash(b, round_id, org, hash) != 0)
            goto out;
    }
    if (batch_copy(b, type, doc, doc_len) != 0)
        goto out;
    rc = mp_tlogdir_append(log_dir, origin, coordinator->sign_sk, b->doc, b->n, added, size);
out:
    mp_envelope_free(env);
    mp_envelope_free(renv);
    batch_free(b);
    free(b);
    return rc;
}

/* The body of an entry's document, parsed as an envelope of `type`. */
static int entry_envelope(const mp_tlogdir *d, uint64_t i, const char *type, mp_envelope **out)
{
    unsigned char *entry;
    const unsigned char *doc;
    size_t elen, dlen;
    int rc;
    if (mp_tlogdir_entry(d, i, &entry, &elen, &doc, &dlen) != 0)
        return -1;
    rc = mp_envelope_parse(out, (const char *)doc, dlen, type);
    free(entry);
    if (rc != 0)
        return mp_error_prefix("%s/entries/%08llu: ", d->path, (unsigned long long)i);
    return 0;
}

static int round_fields(mp_roundlog_round *r, const mp_envelope *e)
{
    const cJSON *priv;
    const char *id, *series, *rho, *srho, *spent;
    if (mp_json_str(e->body, "round_id", &id) != 0 || mp_json_obj(e->body, "privacy", &priv) ||
        mp_json_str(priv, "series", &series) != 0 || mp_json_str(priv, "rho", &rho) != 0 ||
        mp_json_str(priv, "series_rho", &srho) != 0 ||
        mp_json_str(priv, "series_spent", &spent) != 0 || mp_privacy_parse_rho(rho, &r->rho) != 0 ||
        mp_privacy_parse_rho(srho, &r->series_rho) || strlen(id) > 64 || strlen(series) > 40)
        return -1;
    /* The spend before may be zero, which the rho parser refuses. */
    if (strcmp(spent, "0") == 0)
        r->series_spent = 0;
    else if (mp_privacy_parse_rho(spent, &r->series_spent) != 0)
        return -1;
    snprintf(r->round_id, sizeof r->round_id, "%s", id);
    snprintf(r->series, sizeof r->series, "%s", series);
    return 0;
}

/* A "submission-hash" entry: its round, if already in the log, counts one more submission (a
 * hash of a round not (yet) in the log is the publish batch's business, checked elsewhere). */
static int submission_hash_seen(const mp_tlogdir *d, uint64_t i, mp_roundlog_round *r, size_t nr)
{
    unsigned char *entry;
    const unsigned char *doc;
    size_t elen, dlen;
    cJSON *j;
    const char *id;
    if (mp_tlogdir_entry(d, i, &entry, &elen, &doc, &dlen) != 0)
        return -1;
    j = cJSON_ParseWithLength((const char *)doc, dlen);
    free(entry);
    if (j == NULL || mp_json_str(j, "round_id", &id) != 0) {
        cJSON_Delete(j);
        return mp_error_set("%s/entries/%08llu: malformed submission-hash document", d->path,
                            (unsigned long long)i);
    }
    for (size_t k = 0; k < nr; k++)
        if (strcmp(r[k].round_id, id) == 0)
            r[k].submissions++;
    cJSON_Delete(j);
    return 0;
}

int mp_roundlog_rounds(const mp_tlogdir *d, mp_roundlog_round **out, size_t *n)
{
    mp_roundlog_round *r = NULL;
    size_t nr = 0, cap = 0;
    for (uint64_t i = 0; i < d->cp.size; i++) {
        int is_round = strcmp(d->meta[i].type, "round") == 0;
        int is_cancel = strcmp(d->meta[i].type, "round-cancel") == 0;
        mp_envelope *e;
        const char *id;
        size_t k;
        if (strcmp(d->meta[i].type, "submission-hash") == 0) {
            if (submission_hash_seen(d, i, r, nr) != 0)
                goto fail;
            continue;
        }
        if (!is_round && !is_cancel && strcmp(d->meta[i].type, "release") != 0)
            continue;
        if (entry_envelope(d, i, d->meta[i].type, &e) != 0)
            goto fail;
        if (mp_json_str(e->body, "round_id", &id) != 0) {
            mp_envelope_free(e);
            mp_error_prefix("%s/entries/%08llu: ", d->path, (unsigned long long)i);
            goto fail;
        }
        for (k = 0; k < nr && strcmp(r[k].round_id, id) != 0; k++)
            ;
        if (is_round) {
            if (k < nr) {
                mp_error_set("the log holds two specifications of round %s (entries %llu and "
                             "%llu)",
                             id, (unsigned long long)r[k].spec_index, (unsigned long long)i);
                mp_envelope_free(e);
                goto fail;
            }
            if (nr == cap) {
                mp_roundlog_round *p = realloc(r, (cap = cap ? 2 * cap : 16) * sizeof *p);
                if (p == NULL) {
                    mp_envelope_free(e);
                    mp_error_system("out of memory");
                    goto fail;
                }
                r = p;
            }
            memset(&r[nr], 0, sizeof r[nr]);
            if (round_fields(&r[nr], e) != 0) {
                mp_envelope_free(e);
                mp_error_prefix("%s/entries/%08llu: malformed round specification: ", d->path,
                                (unsigned long long)i);
                goto fail;
            }
            r[nr].spec_index = i;
            r[nr].release_index = UINT64_MAX;
            r[nr].cancel_index = UINT64_MAX;
            nr++;
        } else if (k == nr) {
            mp_error_set("%s/entries/%08llu: a %s of round %s, whose specification is not "
                         "in the log before it",
                         d->path, (unsigned long long)i, is_cancel ? "cancellation" : "release",
                         id);
            mp_envelope_free(e);
            goto fail;
        } else if (is_cancel) {
            const cJSON *subs = cJSON_GetObjectItemCaseSensitive(e->body, "submissions");
            size_t listed = cJSON_IsArray(subs) ? (size_t)cJSON_GetArraySize(subs) : 0;
            if (r[k].cancel_index == UINT64_MAX)
                r[k].cancel_index = i;
            if (listed > r[k].submissions)
                r[k].submissions = listed;
        } else if (r[k].release_index == UINT64_MAX) {
            r[k].release_index = i;
        }
        mp_envelope_free(e);
    }
    /* Charged unless cancelled with nothing of it submitted anywhere in the log; a round spent
     * nothing only for the rounds opened after its cancellation (decisions R2). */
    for (size_t i = 0; i < nr; i++)
        r[i].charged = !(r[i].cancel_index != UINT64_MAX && r[i].submissions == 0 &&
                         r[i].release_index == UINT64_MAX);
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r[j].series, r[i].series) == 0 &&
                (r[j].charged || r[j].cancel_index > r[i].spec_index))
                r[i].spent_before += r[j].rho;
    *out = r;
    *n = nr;
    return 0;
fail:
    free(r);
    return -1;
}

int mp_roundlog_budget_check(const mp_roundlog_round *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (r[i].series_spent + 1e-9 < r[i].spent_before)
            return mp_error_set("round %s declared that series %s had spent rho %.6g, but the "
                                "rounds before it in the log spent %.6g",
                                r[i].round_id, r[i].series, r[i].series_spent, r[i].spent_before);
        if (r[i].spent_before + r[i].rho > r[i].series_rho * (1 + 1e-9))
            return mp_error_set("series %s is over budget at round %s: rho %.6g spent of %.6g "
                                "(counting every round in the log, published or not)",
                                r[i].series, r[i].round_id, r[i].spent_before + r[i].rho,
                                r[i].series_rho);
    }
    return 0;
}
