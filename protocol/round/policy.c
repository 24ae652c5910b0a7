/*
 * policy.c - an organisation's own limits on rosters and rounds (see policy.h).
 *
 * Budgets are compared with a relative slack of 1e-9, the same as the ledger's budget check:
 * decimal budgets like 0.1 + 0.2 must not be refused for a rounding error of the binary sum.
 */
#include "policy.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "date.h"
#include "fileio.h"
#include "privacy.h"

#define POLICY_FILE_MAX (1024 * 1024)
#define SLACK (1 + 1e-9)

static char *resolve(const char *policy_path, const char *file)
{
    char *copy, *dir, *out;
    size_t n;
    if (file[0] == '/')
        return strdup(file);
    if ((copy = strdup(policy_path)) == NULL)
        return NULL;
    dir = dirname(copy);
    n = strlen(dir) + 1 + strlen(file) + 1;
    if ((out = malloc(n)) != NULL)
        snprintf(out, n, "%s/%s", dir, file);
    free(copy);
    return out;
}

static int parse_budget(const cJSON *o, const char *key, const char **text, double *v)
{
    if (mp_json_str(o, key, text) != 0)
        return -1;
    if (mp_privacy_parse_rho(*text, v) != 0)
        return mp_error_prefix("%s: ", key);
    return 0;
}

static int parse(mp_policy *p, const cJSON *j)
{
    static const char *const fields[] = {"mijlpaal_policy",
                                         "org",
                                         "region",
                                         "ca_file",
                                         "crl_file",
                                         "organisations",
                                         "min_participants",
                                         "min_t",
                                         "max_rho_per_round",
                                         "max_rho_per_period",
                                         "series",
                                         NULL};
    static const char *const org_fields[] = {"id", "oin", NULL};
    static const char *const series_fields[] = {"id", "budget", NULL};
    const cJSON *orgs, *series, *it;
    const char *ca;
    long long v;
    int self = 0;
    if (!cJSON_IsObject(j) || mp_json_only(j, "policy", fields) != 0 ||
        mp_json_int(j, "mijlpaal_policy", 1, 1, &v) != 0 || mp_json_str(j, "org", &p->org) ||
        mp_json_str(j, "region", &p->region) || mp_json_str(j, "ca_file", &ca) ||
        mp_json_arr(j, "organisations", &orgs) || mp_json_arr(j, "series", &series) ||
        mp_json_int(j, "min_participants", MP_K_MIN_FLOOR, MP_MAX_ORGS, &p->min_participants) ||
        mp_json_int(j, "min_t", 0, MP_MAX_ORGS, &p->min_t) ||
        parse_budget(j, "max_rho_per_round", &p->max_rho_round_text, &p->max_rho_round))
        return -1;
    (void)ca;
    /* Checked here, not only on load, so that mp_policy_write never writes a policy that
     * mp_policy_load refuses. */
    const cJSON *crl = cJSON_GetObjectItemCaseSensitive(j, "crl_file");
    if (crl != NULL && !cJSON_IsString(crl))
        return mp_error_set("\"crl_file\" must be a path");
    if (!mp_org_id_valid(p->org) || !mp_org_id_valid(p->region))
        return mp_error_set("\"org\" and \"region\" must be ids of a-z, 0-9 and -");
    if (cJSON_GetObjectItemCaseSensitive(j, "max_rho_per_period") != NULL) {
        if (parse_budget(j, "max_rho_per_period", &p->max_rho_period_text, &p->max_rho_period))
            return -1;
    } else {
        p->max_rho_period_text = p->max_rho_round_text;
        p->max_rho_period = p->max_rho_round;
    }
    cJSON_ArrayForEach (it, orgs) {
        mp_policy_org *o = &p->orgs[p->norgs];
        if (p->norgs == MP_MAX_ORGS)
            return mp_error_set("more than %d organisations", MP_MAX_ORGS);
        if (!cJSON_IsObject(it) || mp_json_only(it, "organisation", org_fields) != 0 ||
            mp_json_str(it, "id", &o->id) || mp_json_str(it, "oin", &o->oin))
            return mp_error_prefix("organisation %zu: ", p->norgs + 1);
        if (!mp_org_id_valid(o->id) || !mp_oin_valid(o->oin))
            return mp_error_set("organisation %zu: id of a-z, 0-9, - and an OIN of %d digits",
                                p->norgs + 1, MP_OIN_LEN);
        for (size_t k = 0; k < p->norgs; k++)
            if (strcmp(p->orgs[k].id, o->id) == 0 || strcmp(p->orgs[k].oin, o->oin) == 0)
                return mp_error_set("organisation %s or its OIN is listed twice", o->id);
        self |= strcmp(o->id, p->org) == 0;
        p->norgs++;
    }
    if (!self)
        return mp_error_set("the policy's own organisation %s is not among its organisations",
                            p->org);
    if ((long long)p->norgs < p->min_participants)
        return mp_error_set("min_participants %lld is more than the %zu organisations",
                            p->min_participants, p->norgs);
    cJSON_ArrayForEach (it, series) {
        mp_policy_series *s = &p->series[p->nseries];
        if (p->nseries == MP_POLICY_MAX_SERIES)
            return mp_error_set("more than %d series", MP_POLICY_MAX_SERIES);
        if (!cJSON_IsObject(it) || mp_json_only(it, "series", series_fields) != 0 ||
            mp_json_str(it, "id", &s->id) ||
            parse_budget(it, "budget", &s->budget_text, &s->budget))
            return mp_error_prefix("series %zu: ", p->nseries + 1);
        if (mp_policy_series_get(p, s->id) != NULL)
            return mp_error_set("series %.64s is listed twice", s->id);
        p->nseries++;
    }
    if (p->nseries == 0)
        return mp_error_set("the policy declares no series: name each series this "
                            "organisation takes part in, with its budget");
    return 0;
}

int mp_policy_load(mp_policy **out, const char *path)
{
    unsigned char *text;
    size_t len;
    mp_policy *p = calloc(1, sizeof *p);
    const cJSON *crl;
    if (p == NULL)
        return mp_error_system("out of memory");
    if (mp_file_read(path, POLICY_FILE_MAX, &text, &len) != 0) {
        free(p);
        return mp_error_prefix("policy: ");
    }
    if (mp_canon_parse(&p->json, (const char *)text, len) != 0 || parse(p, p->json) != 0) {
        free(text);
        mp_policy_free(p);
        return mp_error_prefix("%s: ", path);
    }
    free(text);
    p->ca_file = resolve(path, cJSON_GetObjectItemCaseSensitive(p->json, "ca_file")->valuestring);
    crl = cJSON_GetObjectItemCaseSensitive(p->json, "crl_file"); /* a string (parse) */
    if (crl != NULL)
        p->crl_file = resolve(path, crl->valuestring);
    if (p->ca_file == NULL || (crl != NULL && p->crl_file == NULL)) {
        mp_policy_free(p);
        return mp_error_system("out of memory");
    }
    *out = p;
    return 0;
}

void mp_policy_free(mp_policy *p)
{
    if (p == NULL)
        return;
    cJSON_Delete(p->json);
    free(p->ca_file);
    free(p->crl_file);
    free(p);
}

int mp_policy_validate(const cJSON *body)
{
    mp_policy *p = calloc(1, sizeof *p);
    int rc;
    if (p == NULL)
        return mp_error_system("out of memory");
    rc = parse(p, body);
    free(p);
    return rc != 0 ? mp_error_prefix("policy: ") : 0;
}

int mp_policy_write(const char *path, const cJSON *body)
{
    char *text;
    size_t len;
    int rc;
    if (mp_policy_validate(body) != 0)
        return -1;
    if (mp_file_exists(path))
        return mp_error_set("%s exists already; a policy is written once (edit it by hand, or "
                            "remove it first, knowingly)",
                            path);
    if ((text = cJSON_Print(body)) == NULL)
        return mp_error_system("out of memory");
    len = strlen(text);
    text[len] = '\0';
    char *nl = realloc(text, len + 2);
    if (nl == NULL) {
        free(text);
        return mp_error_system("out of memory");
    }
    nl[len] = '\n';
    nl[len + 1] = '\0';
    rc = mp_file_write_atomic(path, nl, len + 1, 0644);
    free(nl);
    return rc;
}

const mp_policy_series *mp_policy_series_get(const mp_policy *p, const char *id)
{
    for (size_t i = 0; i < p->nseries; i++)
        if (strcmp(p->series[i].id, id) == 0)
            return &p->series[i];
    return NULL;
}

static const mp_policy_org *policy_org(const mp_policy *p, const char *id)
{
    for (size_t i = 0; i < p->norgs; i++)
        if (strcmp(p->orgs[i].id, id) == 0)
            return &p->orgs[i];
    return NULL;
}

int mp_policy_check_roster(const mp_policy *p, const mp_roster *r)
{
    if (strcmp(r->region_id, p->region) != 0)
        return mp_error_set("policy: the roster is for region %s, this organisation's policy for "
                            "%s",
                            r->region_id, p->region);
    for (size_t i = 0; i < r->norgs; i++) {
        const mp_org *o = &r->orgs[i];
        const mp_policy_org *want = policy_org(p, o->id);
        if (want == NULL)
            return mp_error_set("policy: the roster names %s (OIN %s), which is not one of the "
                                "region's organisations in this policy: a member nobody agreed "
                                "to",
                                o->id, o->oin ? o->oin : "none");
        if (o->oin == NULL || strcmp(o->oin, want->oin) != 0)
            return mp_error_set("policy: the roster gives %s the OIN %s, this policy %s: the "
                                "key under that name belongs to another organisation",
                                o->id, o->oin ? o->oin : "none", want->oin);
    }
    for (size_t i = 0; i < p->norgs; i++)
        if (mp_roster_org(r, p->orgs[i].id) == NULL)
            return mp_error_set("policy: the roster lacks %s, one of the region's organisations "
                                "in this policy",
                                p->orgs[i].id);
    if (mp_roster_org(r, p->org) == NULL)
        return mp_error_set("policy: the roster does not name this organisation (%s)", p->org);
    return 0;
}

int mp_policy_check_round(const mp_policy *p, const mp_spec *s, const mp_policy_usage *u)
{
    const mp_policy_series *ser = mp_policy_series_get(p, s->privacy.series);
    if (strcmp(s->region, p->region) != 0)
        return mp_error_set("policy: round %s is for region %s, not %s", s->round_id, s->region,
                            p->region);
    if ((long long)s->nparticipants < p->min_participants)
        return mp_error_set("policy: round %s has %zu participants, this policy requires at least "
                            "%lld (fewer leave each organisation's noise less cover)",
                            s->round_id, s->nparticipants, p->min_participants);
    if (s->privacy.t < p->min_t)
        return mp_error_set("policy: round %s calibrates its noise for t = %lld colluding or "
                            "missing participants, this policy requires t >= %lld",
                            s->round_id, s->privacy.t, p->min_t);
    if (s->privacy.rho > p->max_rho_round * SLACK)
        return mp_error_set("policy: round %s spends rho %s, more than this policy's "
                            "max_rho_per_round %s",
                            s->round_id, s->privacy.rho_text, p->max_rho_round_text);
    if (ser == NULL)
        return mp_error_set("policy: round %s belongs to series \"%.64s\", which this policy does "
                            "not declare; a new series name would start a fresh budget",
                            s->round_id, s->privacy.series);
    if (u->series_rho_seen != NULL && strcmp(u->series_rho_seen, s->privacy.series_rho_text) != 0)
        return mp_error_set("policy: round %s states budget %s for series %s, but this "
                            "organisation first saw that series with budget %s: a series' "
                            "budget does not change",
                            s->round_id, s->privacy.series_rho_text, s->privacy.series,
                            u->series_rho_seen);
    if (u->series_spent + s->privacy.rho > ser->budget * SLACK)
        return mp_error_set("policy: over budget: this organisation has spent rho %.6g of series "
                            "%s; round %s needs %s more, and this policy's budget for the series "
                            "is %s",
                            u->series_spent, ser->id, s->round_id, s->privacy.rho_text,
                            ser->budget_text);
    if (u->period_spent + s->privacy.rho > p->max_rho_period * SLACK)
        return mp_error_set("policy: this organisation has already spent rho %.6g of series %s on "
                            "data overlapping the period of round %s; another %s would pass "
                            "this policy's max_rho_per_period %s (a second round over the same "
                            "period)",
                            u->period_spent, ser->id, s->round_id, s->privacy.rho_text,
                            p->max_rho_period_text);
    return 0;
}

int mp_policy_agreement(cJSON **out, const mp_policy *p, const mp_roster *r, const mp_spec *s,
                        const mp_policy_usage *u)
{
    const mp_policy_series *ser = mp_policy_series_get(p, s->privacy.series);
    cJSON *j = cJSON_CreateObject(), *parts;
    char start[11], end[11];
    mp_date_format(start, s->period_start);
    mp_date_format(end, s->period_end);
    if (j == NULL)
        return mp_error_system("out of memory");
    cJSON_AddStringToObject(j, "round_id", s->round_id);
    cJSON_AddStringToObject(j, "region", r->region_id);
    cJSON_AddStringToObject(j, "region_name", r->region_name);
    cJSON_AddStringToObject(j, "period_start", start);
    cJSON_AddStringToObject(j, "period_end", end);
    parts = cJSON_AddArrayToObject(j, "participants");
    for (size_t i = 0; i < s->nparticipants; i++) {
        const mp_org *o = mp_roster_org(r, s->participants[i]);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", o->id);
        cJSON_AddStringToObject(e, "name", o->name);
        cJSON_AddStringToObject(e, "certificate_organisation", o->cert_org[0] ? o->cert_org : "");
        cJSON_AddStringToObject(e, "oin", o->oin ? o->oin : "");
        cJSON_AddItemToArray(parts, e);
    }
    cJSON_AddNumberToObject(j, "n", (double)s->nparticipants);
    cJSON_AddNumberToObject(j, "threshold", (double)s->threshold);
    cJSON_AddNumberToObject(j, "t", (double)s->privacy.t);
    if (s->masking == MP_MASKING_BONAWITZ)
        cJSON_AddNumberToObject(j, "colluders", (double)s->colluders);
    cJSON_AddStringToObject(j, "masking", mp_spec_scheme_name(s));
    cJSON_AddStringToObject(j, "rho", s->privacy.rho_text);
    cJSON_AddStringToObject(j, "epsilon", s->privacy.epsilon_text);
    cJSON_AddStringToObject(j, "series", s->privacy.series);
    cJSON_AddNumberToObject(j, "series_spent_before", u->series_spent);
    if (ser != NULL) {
        cJSON_AddStringToObject(j, "series_budget", ser->budget_text);
        cJSON_AddNumberToObject(j, "series_left_after",
                                ser->budget - u->series_spent - s->privacy.rho);
    }
    *out = j;
    return 0;
}
