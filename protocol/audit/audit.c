/*
 * audit.c - the auditor's checks over bytes (see audit.h).
 *
 * Invariants (besides audit.h's):
 *   1. Each check is done once, in the order audit.h lists, and the first that fails is the
 *      one reported: an auditor reads one reason, the most basic one.
 *   2. Every document is read through the source, parsed and verified before anything of it
 *      is used; reasons name documents, never a figure of one organisation.
 */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "mask.h"
#include "release.h"
#include "report.h"
#include "roster.h"
#include "secagg.h"
#include "submission.h"

#define MAX_RENDERING (64u * 1024 * 1024)

/* ---- sources ------------------------------------------------------------------------- */

static int docs_read(void *ctx, const char *name, size_t max, unsigned char **buf, size_t *len)
{
    const mp_audit_docs *d = ctx;
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->doc[i].name, name) != 0)
            continue;
        if (d->doc[i].len > max)
            return mp_error_set("%s: larger than the limit of %zu bytes", name, max);
        if ((*buf = malloc(d->doc[i].len + 1)) == NULL)
            return mp_error_system("%s: out of memory", name);
        if (d->doc[i].len > 0)
            memcpy(*buf, d->doc[i].data, d->doc[i].len);
        (*buf)[d->doc[i].len] = '\0';
        *len = d->doc[i].len;
        return 0;
    }
    return mp_error_set("%s: missing", name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int docs_list(void *ctx, const char *folder, char ***names, size_t *n)
{
    const mp_audit_docs *d = ctx;
    size_t fl = strlen(folder), k = 0;
    *names = NULL;
    *n = 0;
    if ((*names = calloc(d->n + 1, sizeof **names)) == NULL)
        return mp_error_system("out of memory");
    for (size_t i = 0; i < d->n; i++) {
        const char *nm = d->doc[i].name, *rest = nm + fl + 1;
        size_t rl;
        if (strncmp(nm, folder, fl) != 0 || nm[fl] != '/' || strchr(rest, '/') != NULL)
            continue;
        rl = strlen(rest);
        if (rl < 6 || rest[0] == '.' || strcmp(rest + rl - 5, ".json") != 0)
            continue;
        if (((*names)[k] = strdup(rest)) == NULL) {
            for (size_t j = 0; j < k; j++)
                free((*names)[j]);
            free(*names);
            *names = NULL;
            return mp_error_system("out of memory");
        }
        k++;
    }
    qsort(*names, k, sizeof **names, by_name);
    *n = k;
    return 0;
}

void mp_audit_source_docs(mp_audit_source *src, mp_audit_docs *docs, const char *label)
{
    src->read = docs_read;
    src->list = docs_list;
    src->ctx = docs;
    src->label = label;
}

/* ---- reading documents --------------------------------------------------------------- */

/* "LABEL/NAME" for reasons; one of four rotating buffers, as reasons name at most two. */
static const char *doc_path(const mp_audit_source *src, const char *name)
{
    static _Thread_local char buf[4][1024];
    static _Thread_local int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", src->label ? src->label : ".", name);
    return buf[k];
}

static int doc_read(const mp_audit_source *src, const char *name, size_t max, unsigned char **buf,
                    size_t *len)
{
    *buf = NULL;
    if (src->read(src->ctx, name, max, buf, len) != 0) {
        *buf = NULL;
        return -1;
    }
    return 0;
}

/* Read and parse a signed document (not yet verified). */
static int env_read(const mp_audit_source *src, const char *name, const char *type,
                    mp_envelope **out)
{
    unsigned char *text;
    size_t len;
    int rc;
    if (doc_read(src, name, MP_ENVELOPE_MAX, &text, &len) != 0)
        return -1;
    rc = mp_envelope_parse(out, (const char *)text, len, type);
    free(text);
    if (rc != 0)
        return mp_error_prefix("%s: ", doc_path(src, name));
    return 0;
}

/* The rendering in the release must be byte-identical to what the signed release renders to. */
static int check_rendering(const mp_audit_source *src, const char *name, const char *want,
                           size_t wlen)
{
    unsigned char *have;
    size_t hlen;
    int same;
    if (doc_read(src, name, MAX_RENDERING, &have, &hlen) != 0)
        return -1;
    same = hlen == wlen && memcmp(have, want, wlen) == 0;
    free(have);
    if (!same)
        return mp_error_set("%s does not say what the signed release.json says (it was edited "
                            "after publication)",
                            doc_path(src, name));
    return 0;
}

/* report.pdf: a PDF that names the signed release it prints (report.h invariant 3). */
static int check_pdf(const mp_audit_source *src, const char *release_hash)
{
    unsigned char *have;
    size_t hlen, wl, at = 0;
    char want[MP_HASH_HEX_BYTES + 40];
    int ok;
    if (doc_read(src, "report.pdf", MAX_RENDERING, &have, &hlen) != 0)
        return -1;
    wl = (size_t)snprintf(want, sizeof want, "release-sha256 %s", release_hash);
    while (at + wl <= hlen && memcmp(have + at, want, wl) != 0)
        at++;
    ok = hlen >= 8 && memcmp(have, "%PDF-", 5) == 0 && at + wl <= hlen;
    free(have);
    if (!ok)
        return mp_error_set("%s is not the PDF of this release (it does not name release %s)",
                            doc_path(src, "report.pdf"), release_hash);
    return 0;
}

/* ---- bonawitz-v1 ---------------------------------------------------------------------- */

/*
 * The survivors list signed by the coordinator must name exactly the included submissions;
 * the unmask request must carry T valid confirmations of that list; the unmask messages the
 * release names must be T survivors' answers to it. Then the masks are removed from the sum
 * of the submissions here, as the aggregator did. *masking is the masking block the release
 * must contain, rebuilt from what was verified.
 */
static int verify_unmasking(const mp_audit_source *src, const mp_spec *spec,
                            const mp_roster *roster, const cJSON *release, const mp_included *inc,
                            size_t n, uint64_t *sum, cJSON **masking)
{
    mp_envelope *surv = NULL, *req = NULL, *u = NULL;
    mp_secagg_view v;
    mp_secagg_reveal r[MP_MAX_ORGS];
    const cJSON *by, *it, *mb;
    cJSON *m, *adv, *mby;
    size_t nr = 0, k = 0;
    char hash[MP_HASH_HEX_BYTES];
    int rc = -1, have_view = 0;

    *masking = NULL;
    if (env_read(src, "survivors.json", "survivors", &surv) != 0)
        goto out;
    if (mp_secagg_survivors_parse(&v, surv, spec, roster) != 0) {
        mp_error_prefix("%s: ", doc_path(src, "survivors.json"));
        goto out;
    }
    have_view = 1;
    if (v.n2 != n) {
        mp_error_set("the release includes %zu submissions, the signed survivors list %zu", n,
                     v.n2);
        goto out;
    }
    for (size_t j = 0; j < v.n1; j++) {
        if (!v.m[j].submitted)
            continue;
        if (strcmp(v.m[j].org, inc[k].org) != 0 ||
            memcmp(v.m[j].submission_hash, inc[k].submission_hash, MP_HASH_BYTES) != 0) {
            mp_error_set("the included submissions are not the ones the survivors list names "
                         "(%s)",
                         v.m[j].org);
            goto out;
        }
        k++;
    }
    if (env_read(src, "unmask-request.json", "unmask-request", &req) != 0)
        goto out;
    if (mp_secagg_request_accept(req, spec, roster, &v, surv->hash) != 0) {
        mp_error_prefix("%s: ", doc_path(src, "unmask-request.json"));
        goto out;
    }
    mb = cJSON_GetObjectItemCaseSensitive(release, "masking");
    if (!cJSON_IsObject(mb) || mp_json_arr(mb, "unmasked_by", &by) != 0) {
        mp_error_set("release.json has no masking block naming who unmasked the sum");
        goto out;
    }
    cJSON_ArrayForEach (it, by) {
        char name[80];
        if (!cJSON_IsString(it) || !mp_org_id_valid(it->valuestring) || nr == MP_MAX_ORGS) {
            mp_error_set("release.json: malformed list of unmasking organisations");
            goto out;
        }
        snprintf(name, sizeof name, "unmask/%s.json", it->valuestring);
        if (env_read(src, name, "unmask", &u) != 0)
            goto out;
        if (mp_secagg_unmask_check(u, spec, roster, &v, surv->hash, &r[nr]) != 0) {
            mp_error_prefix("%s: ", doc_path(src, name));
            goto out;
        }
        mp_envelope_free(u);
        u = NULL;
        nr++;
        if (strcmp(v.m[r[nr - 1].member].org, it->valuestring) != 0) {
            mp_error_set("%s is signed by %s", name, v.m[r[nr - 1].member].org);
            goto out;
        }
    }
    if ((long long)nr != spec->threshold) {
        mp_error_set("the release names %zu unmask messages; the threshold is %lld", nr,
                     spec->threshold);
        goto out;
    }
    if (mp_secagg_open(sum, spec->catalogue->ncells, spec, &v, r, nr, 0) != 0) {
        mp_error_prefix("the sum cannot be unmasked from the published messages: ");
        goto out;
    }
    if ((m = cJSON_CreateObject()) == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    cJSON_AddStringToObject(m, "scheme", mp_masking_name(MP_MASKING_BONAWITZ));
    cJSON_AddNumberToObject(m, "threshold", (double)spec->threshold);
    adv = cJSON_AddArrayToObject(m, "shared");
    for (size_t j = 0; j < v.n1; j++)
        cJSON_AddItemToArray(adv, cJSON_CreateString(v.m[j].org));
    mp_hex_encode(hash, surv->hash, MP_HASH_BYTES);
    cJSON_AddStringToObject(m, "survivors_sha256", hash);
    mp_hex_encode(hash, req->hash, MP_HASH_BYTES);
    cJSON_AddStringToObject(m, "unmask_request_sha256", hash);
    mby = cJSON_AddArrayToObject(m, "unmasked_by");
    for (size_t i = 0; i < nr; i++)
        cJSON_AddItemToArray(mby, cJSON_CreateString(v.m[r[i].member].org));
    *masking = m;
    rc = 0;
out:
    for (size_t i = 0; i < nr; i++)
        mp_secagg_reveal_free(&r[i]);
    mp_envelope_free(u);
    mp_envelope_free(req);
    mp_envelope_free(surv);
    if (have_view)
        mp_secagg_view_free(&v);
    return rc;
}

/* ---- one release ---------------------------------------------------------------------- */

int mp_audit_release(const mp_audit_source *src, const mp_pubkey *coordinator, const mp_ca *ca,
                     mp_audit_release_report *out)
{
    mp_roster *roster = NULL;
    mp_spec *spec = NULL;
    mp_envelope *rel = NULL, *env = NULL, *sub = NULL;
    mp_series series = {0};
    const cJSON *included, *it;
    const char *s, *published;
    mp_included inc[MP_MAX_ORGS];
    size_t n = 0, d, alen, blen, csvlen, htmllen, nseries = 0;
    uint64_t *sum = NULL, *vec = NULL;
    cJSON *rebuilt = NULL, *masking = NULL;
    char *a = NULL, *b = NULL, *csv = NULL, *html = NULL, **snames = NULL;
    char relhash[MP_HASH_HEX_BYTES];
    int rc = -1;

    memset(out, 0, sizeof *out);
    /* 1. The documents that define the round. */
    if (env_read(src, "roster.json", NULL, &env) != 0)
        goto out;
    if (mp_roster_from_envelope(&roster, env, coordinator) != 0) {
        mp_envelope_free(env);
        mp_error_prefix("%s: ", doc_path(src, "roster.json"));
        goto out;
    }
    if (mp_roster_require_agreed(roster) != 0)
        goto out;
    if (env_read(src, "round.json", "round", &env) != 0)
        goto out;
    if (mp_spec_from_envelope(&spec, env, roster) != 0) {
        mp_envelope_free(env);
        mp_error_prefix("%s: ", doc_path(src, "round.json"));
        goto out;
    }
    /* Every member's key, bound by the region's CA (not by the coordinator), as at the time the
     * round was opened: a certificate that expired since does not undo a past release, one
     * revoked before it does (the CRL says when). */
    if (mp_roster_check_bindings(roster, ca, spec->opened) != 0)
        goto out;
    /* 2. The release's own signature and what it claims to be about. */
    if (env_read(src, "release.json", "release", &rel) != 0)
        goto out;
    if (mp_envelope_verify(rel, coordinator) != 0) {
        mp_error_prefix("%s: ", doc_path(src, "release.json"));
        goto out;
    }
    if (mp_json_str(rel->body, "round_id", &s) != 0 || strcmp(s, spec->round_id) != 0) {
        mp_error_set("release.json is not for round %s", spec->round_id);
        goto out;
    }
    if (mp_json_arr(rel->body, "included", &included) != 0)
        goto out;
    /* 3. Every included submission: present, unaltered, signed by a participant. */
    d = spec->catalogue->ncells;
    sum = calloc(d, sizeof *sum);
    vec = calloc(d, sizeof *vec);
    if (sum == NULL || vec == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    cJSON_ArrayForEach (it, included) {
        const char *org, *hash;
        const mp_org *who;
        char name[80];
        if (n == MP_MAX_ORGS || mp_json_str(it, "org", &org) != 0 ||
            mp_json_str(it, "submission_sha256", &hash) != 0 || !mp_org_id_valid(org) ||
            mp_hex_decode(inc[n].submission_hash, MP_HASH_BYTES, hash) != 0) {
            mp_error_set("release.json: malformed list of included submissions");
            goto out;
        }
        for (size_t k = 0; k < n; k++)
            if (strcmp(inc[k].org, org) == 0) {
                mp_error_set("release.json includes %s twice", org);
                goto out;
            }
        snprintf(name, sizeof name, "submissions/%s.json", org);
        if (env_read(src, name, "submission", &sub) != 0)
            goto out;
        if (memcmp(sub->hash, inc[n].submission_hash, MP_HASH_BYTES) != 0) {
            mp_error_set("%s is not the submission the release names (sha256 differs)",
                         doc_path(src, name));
            goto out;
        }
        if (mp_submission_check(sub, spec, roster, &who, vec) != 0) {
            mp_error_prefix("%s: ", doc_path(src, name));
            goto out;
        }
        if (strcmp(who->id, org) != 0) {
            mp_error_set("%s is signed by %s, not by %s", name, who->id, org);
            goto out;
        }
        inc[n].org = who->id;
        mp_vec_add(sum, vec, d);
        mp_envelope_free(sub);
        sub = NULL;
        n++;
    }
    /* 4. Pairwise masks cancel only over all participants; with bonawitz-v1 the survivors'
     *    masks are removed with the revealed shares. k_min protects small groups. */
    if (spec->masking == MP_MASKING_BONAWITZ) {
        if (verify_unmasking(src, spec, roster, rel->body, inc, n, sum, &masking) != 0)
            goto out;
    } else if (n != spec->nparticipants) {
        mp_error_set("the release includes %zu submissions but round %s has %zu "
                     "participants; with masking scheme %s the sum cannot be opened",
                     n, spec->round_id, spec->nparticipants, mp_masking_name(MP_MASKING_PAIRWISE));
        goto out;
    }
    if ((long long)n < spec->k_min) {
        mp_error_set("only %zu submissions, below k_min %lld", n, spec->k_min);
        goto out;
    }
    /* 5. Rebuild the release from the verified inputs and compare canonical bytes. */
    if (mp_json_str(rel->body, "published", &published) != 0 ||
        mp_release_build(&rebuilt, spec, inc, n, sum, published, masking) != 0 ||
        mp_canon_serialise(&a, &alen, rebuilt) != 0 ||
        mp_canon_serialise(&b, &blen, rel->body) != 0)
        goto out;
    if (alen != blen || memcmp(a, b, alen) != 0) {
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(rel->body, "sum");
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(rebuilt, "sum");
        if (!cJSON_IsString(ps) || !cJSON_IsString(rs) ||
            strcmp(ps->valuestring, rs->valuestring) != 0)
            mp_error_set("the published sum is not the sum of the signed submissions");
        else
            mp_error_set("the published cells or rates do not follow from the sum of the signed "
                         "submissions");
        goto out;
    }
    /* 6. The renderings people read say the same as the signed release and the signed
     *    earlier releases of its series; the PDF (font-dependent bytes) names the release. */
    mp_hex_encode(relhash, rel->hash, MP_HASH_BYTES);
    if (src->list(src->ctx, "series", &snames, &nseries) != 0)
        goto out;
    for (size_t i = 0; i < nseries; i++) {
        char name[MP_ROUND_ID_MAX + 16];
        if (snprintf(name, sizeof name, "series/%s", snames[i]) >= (int)sizeof name) {
            mp_error_set("%s: not a valid round id", doc_path(src, "series"));
            goto out;
        }
        if (env_read(src, name, "release", &env) != 0 ||
            mp_series_add_envelope(&series, env, doc_path(src, name), spec, roster) != 0)
            goto out;
    }
    mp_report_in rin = {rel->body, spec, roster, &series, relhash};
    if (mp_release_csv(&csv, &csvlen, rel->body, spec) != 0 ||
        mp_report_html(&html, &htmllen, &rin) != 0)
        goto out;
    if (check_rendering(src, "release.csv", csv, csvlen) != 0 ||
        check_rendering(src, "report.html", html, htmllen) != 0 || check_pdf(src, relhash) != 0)
        goto out;

    mp_hex_encode(out->coordinator_key_id, coordinator->key_id, MP_KEY_ID_BYTES);
    snprintf(out->round_id, sizeof out->round_id, "%s", spec->round_id);
    snprintf(out->series, sizeof out->series, "%s", spec->privacy.series);
    snprintf(out->published, sizeof out->published, "%s", published);
    out->rho = spec->privacy.rho;
    out->series_rho = spec->privacy.series_rho;
    out->spent_before = spec->privacy.series_spent;
    out->submissions = n;
    out->cells = d;
    out->masking = (enum mp_masking)spec->masking;
    rc = 0;
out:
    for (size_t i = 0; i < nseries; i++)
        free(snames[i]);
    free(snames);
    mp_series_free(&series);
    free(a);
    free(b);
    free(csv);
    free(html);
    free(sum);
    free(vec);
    cJSON_Delete(rebuilt);
    cJSON_Delete(masking);
    mp_envelope_free(sub);
    mp_envelope_free(rel);
    mp_spec_free(spec);
    mp_roster_free(roster);
    return rc;
}

/* ---- several releases ------------------------------------------------------------------ */

static int by_published(const void *a, const void *b)
{
    return strcmp(((const mp_audit_release_report *)a)->published,
                  ((const mp_audit_release_report *)b)->published);
}

int mp_audit_series(mp_audit_release_report *v, size_t n)
{
    qsort(v, n, sizeof *v, by_published);
    for (size_t i = 0; i < n; i++) {
        double before = 0;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(v[j].series, v[i].series) != 0)
                continue;
            if (strcmp(v[j].round_id, v[i].round_id) == 0)
                return mp_error_set("round %s is given twice", v[i].round_id);
            before += v[j].rho;
        }
        if (v[i].spent_before + 1e-9 < before)
            return mp_error_set("round %s declared that series %s had spent rho %.6g, but the "
                                "releases published before it spent %.6g",
                                v[i].round_id, v[i].series, v[i].spent_before, before);
        if (before + v[i].rho > v[i].series_rho * (1 + 1e-9))
            return mp_error_set("series %s is over budget at round %s: rho %.6g spent of %.6g",
                                v[i].series, v[i].round_id, before + v[i].rho, v[i].series_rho);
    }
    return 0;
}

/* ---- the transparency log -------------------------------------------------------------- */

int mp_audit_log(const mp_tlogdir *d, const mp_note_key *log_key, const mp_note_key *witnesses,
                 size_t nwitnesses, size_t min_cosigners, mp_audit_log_report *out)
{
    memset(out, 0, sizeof *out);
    if (mp_tlogdir_verify(d, log_key, witnesses, nwitnesses, min_cosigners, &out->tlog) != 0)
        return -1;
    if (mp_roundlog_rounds(d, &out->rounds, &out->nrounds) != 0 ||
        mp_roundlog_budget_check(out->rounds, out->nrounds) != 0) {
        mp_audit_log_report_free(out);
        return -1;
    }
    /* A cancelled round (signed and logged) is not one that was opened and hidden. */
    for (size_t i = 0; i < out->nrounds; i++)
        if (out->rounds[i].release_index == UINT64_MAX) {
            if (out->rounds[i].cancel_index != UINT64_MAX)
                out->cancelled++;
            else
                out->unpublished++;
        }
    return 0;
}

void mp_audit_log_report_free(mp_audit_log_report *r)
{
    mp_tlogdir_report_free(&r->tlog);
    free(r->rounds);
    r->rounds = NULL;
    r->nrounds = r->unpublished = r->cancelled = 0;
}

int mp_audit_in_log(const mp_tlogdir *d, const mp_audit_source *src, const char *name,
                    const char *type)
{
    unsigned char *buf, *entry, h[MP_HASH_BYTES];
    const unsigned char *doc;
    size_t len, elen, dlen;
    uint64_t at;
    mp_tlog_proof proof;
    int rc = -1;
    if (doc_read(src, name, MP_TLOG_ENTRY_MAX, &buf, &len) != 0)
        return -1;
    mp_hash(h, buf, len);
    if (mp_tlogdir_find(d, type, h, &at) != 0) {
        mp_error_set("%s is not in the log %s (no %s entry with its sha256: it was changed after "
                     "publication, or never logged)",
                     doc_path(src, name), d->path, type);
        goto out;
    }
    if (mp_tlogdir_entry(d, at, &entry, &elen, &doc, &dlen) != 0)
        goto out;
    if (dlen != len || memcmp(doc, buf, len) != 0)
        mp_error_set("%s differs from log entry %" PRIu64, doc_path(src, name), at);
    else if (mp_tlogdir_prove_inclusion(d, at, &proof) == 0)
        rc = 0;
    free(entry);
out:
    free(buf);
    return rc;
}
