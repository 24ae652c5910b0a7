/*
 * spec.c - round specifications (see spec.h).
 */
#include "spec.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "date.h"
#include "noise.h"
#include "privacy.h"

#include <math.h>
#include <stdio.h>

void mp_spec_share_variance(const mp_spec *s, uint64_t *num, uint64_t *den)
{
    *num = s->privacy.share_num;
    *den = s->privacy.share_den;
}

double mp_spec_noise_sd(const mp_spec *s, size_t n)
{
    return sqrt((double)n * (double)s->privacy.share_num / (double)s->privacy.share_den);
}

/* "0" or a budget (privacy.h's syntax). */
static int parse_spent(const char *text, double *v)
{
    if (strcmp(text, "0") == 0) {
        *v = 0;
        return 0;
    }
    return mp_privacy_parse_rho(text, v);
}

/* Shortest decimal of a double with up to 6 decimals, for budgets the aggregator sums. */
static void format_budget(char *out, size_t cap, double v)
{
    snprintf(out, cap, "%.6f", v);
    char *dot = strchr(out, '.');
    if (dot != NULL) {
        char *e = out + strlen(out) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int parse_body(mp_spec *s, const cJSON *b, const mp_roster *roster);

int mp_spec_build(cJSON **body, const mp_spec_params *p, const mp_roster *roster,
                  const cJSON *catalogue)
{
    cJSON *b = cJSON_CreateObject(), *period, *priv, *share, *pub, *masking, *parts, *cat;
    mp_catalogue *catalog = NULL;
    mp_sensitivity sens;
    uint64_t num, den;
    double rho, series_rho;
    char text[64];
    const char *ids[MP_MAX_ORGS];
    size_t n = p->participants ? p->nparticipants : roster->norgs;
    char hash[MP_HASH_HEX_BYTES], ts[21];
    int64_t now;
    mp_spec *check = NULL;

    if (b == NULL)
        return mp_error_system("out of memory");
    if (n > MP_MAX_ORGS) {
        cJSON_Delete(b);
        return mp_error_set("too many participants");
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = p->participants ? p->participants[i] : roster->orgs[i].id;
    qsort(ids, n, sizeof *ids, cmp_str);
    /* Calibrate the share variance for the catalogue's sensitivity (privacy.h). */
    if (mp_privacy_parse_rho(p->rho, &rho) != 0 ||
        mp_privacy_parse_rho(p->series_rho, &series_rho) != 0 ||
        mp_catalogue_parse(&catalog, catalogue) != 0) {
        cJSON_Delete(b);
        return -1;
    }
    if (p->t < 0 || (size_t)p->t >= n || p->max_orgs < 1 || p->max_orgs > 16) {
        mp_catalogue_free(catalog);
        cJSON_Delete(b);
        return mp_error_set("t must be 0..%zu (participants minus one) and max_orgs_per_person "
                            "1..16",
                            n ? n - 1 : 0);
    }
    mp_privacy_sensitivity(catalog, (unsigned)p->max_orgs, &sens);
    int mech = mp_mechanism_parse(p->mechanism ? p->mechanism : "distributed_discrete_gaussian");
    if (mech < 0) {
        mp_catalogue_free(catalog);
        cJSON_Delete(b);
        return mp_error_set("unknown noise mechanism \"%.40s\" (distributed_discrete_gaussian or "
                            "skellam)",
                            p->mechanism);
    }
    if (mp_privacy_calibrate(mech, rho, (unsigned)(n - (size_t)p->t), &sens, catalog->ncells, &num,
                             &den) != 0) {
        mp_catalogue_free(catalog);
        cJSON_Delete(b);
        return -1;
    }
    mp_catalogue_free(catalog);
    if (mp_time_now(&now) != 0) {
        cJSON_Delete(b);
        return -1;
    }
    mp_time_format(ts, now);
    mp_hex_encode(hash, roster->env->hash, MP_HASH_BYTES);
    cJSON_AddNumberToObject(b, "mijlpaal_round", 1);
    cJSON_AddStringToObject(b, "round_id", p->round_id);
    cJSON_AddStringToObject(b, "region", roster->region_id);
    cJSON_AddStringToObject(b, "roster_sha256", hash);
    period = cJSON_AddObjectToObject(b, "period");
    cJSON_AddStringToObject(period, "start", p->period_start);
    cJSON_AddStringToObject(period, "end", p->period_end);
    cJSON_AddStringToObject(b, "opened", ts);
    cJSON_AddStringToObject(b, "deadline", p->deadline);
    parts = cJSON_AddArrayToObject(b, "participants");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(parts, cJSON_CreateString(ids[i]));
    cJSON_AddNumberToObject(b, "k_min", (double)p->k_min);
    priv = cJSON_AddObjectToObject(b, "privacy");
    cJSON_AddStringToObject(priv, "mechanism", mp_mechanism_name(mech));
    cJSON_AddStringToObject(priv, "rho", p->rho);
    snprintf(text, sizeof text, "%.3f", mp_privacy_epsilon(rho, MP_PRIVACY_DELTA));
    cJSON_AddStringToObject(priv, "epsilon", text);
    cJSON_AddStringToObject(priv, "delta", MP_PRIVACY_DELTA_TEXT);
    cJSON_AddStringToObject(priv, "series", p->series);
    cJSON_AddStringToObject(priv, "series_rho", p->series_rho);
    format_budget(text, sizeof text, p->series_spent);
    cJSON_AddStringToObject(priv, "series_spent", text);
    cJSON_AddNumberToObject(priv, "t", (double)p->t);
    cJSON_AddNumberToObject(priv, "max_orgs_per_person", (double)p->max_orgs);
    share = cJSON_AddObjectToObject(priv, "share_variance");
    cJSON_AddNumberToObject(share, "num", (double)num);
    cJSON_AddNumberToObject(share, "den", (double)den);
    pub = cJSON_AddObjectToObject(b, "publication");
    cJSON_AddNumberToObject(pub, "rounding", (double)p->rounding);
    masking = cJSON_AddObjectToObject(b, "masking");
    if (p->threshold < 0 || p->colluders < 0) {
        cJSON_Delete(b);
        return mp_error_set("threshold %lld, colluders %lld: must be positive numbers of "
                            "participants",
                            p->threshold, p->colluders);
    }
    enum mp_masking scheme = MP_MASKING_PAIRWISE;
    if (p->masking != NULL && mp_masking_parse(&scheme, p->masking) != 0) {
        cJSON_Delete(b);
        return -1;
    }
    if (scheme == MP_MASKING_BONAWITZ) {
        cJSON_AddStringToObject(masking, "scheme", MP_SCHEME_BONAWITZ);
        long long c = p->colluders > 0 ? p->colluders : p->t;
        cJSON_AddNumberToObject(masking, "colluders", (double)c);
        cJSON_AddNumberToObject(masking, "threshold",
                                (double)(p->threshold > 0
                                             ? p->threshold
                                             : mp_spec_default_threshold(n, p->k_min, p->t, c)));
    } else {
        if (p->threshold != 0 || p->colluders != 0) {
            cJSON_Delete(b);
            return mp_error_set("a threshold and a number of colluders apply to masking scheme %s "
                                "only",
                                MP_SCHEME_BONAWITZ);
        }
        cJSON_AddStringToObject(masking, "scheme", MP_SCHEME_PAIRWISE);
    }
    cat = cJSON_Duplicate(catalogue, 1);
    cJSON_AddItemToObject(b, "catalogue", cat);
    if (cat == NULL || masking == NULL || priv == NULL || share == NULL || pub == NULL ||
        period == NULL || parts == NULL) {
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    /* Validate by parsing it the way every participant will (all but the signature, which
     * does not exist yet). */
    check = calloc(1, sizeof *check);
    if (check == NULL || parse_body(check, b, roster) != 0) {
        if (check != NULL)
            mp_catalogue_free(check->catalogue);
        free(check);
        cJSON_Delete(b);
        return check == NULL ? mp_error_system("out of memory")
                             : mp_error_prefix("round specification: ");
    }
    mp_spec_free(check);
    *body = b;
    return 0;
}

/* The privacy block's promises, re-checked by every reader (spec.h). */
static int check_privacy(mp_spec *s, const char *mech, const char *delta, uint64_t num,
                         uint64_t den)
{
    mp_sensitivity sens;
    double bound, eps;
    if ((s->privacy.mechanism = mp_mechanism_parse(mech)) < 0)
        return mp_error_set("noise mechanism \"%.30s\" is not supported", mech);
    if (strcmp(delta, MP_PRIVACY_DELTA_TEXT) != 0)
        return mp_error_set("privacy delta must be %s", MP_PRIVACY_DELTA_TEXT);
    if (!mp_org_id_valid(s->privacy.series))
        return mp_error_set("privacy series id must be a-z, 0-9 and -");
    if (mp_privacy_parse_rho(s->privacy.rho_text, &s->privacy.rho) != 0 ||
        mp_privacy_parse_rho(s->privacy.series_rho_text, &s->privacy.series_rho) != 0 ||
        parse_spent(s->privacy.series_spent_text, &s->privacy.series_spent) != 0)
        return mp_error_prefix("privacy: ");
    if (s->privacy.series_spent + s->privacy.rho > s->privacy.series_rho * (1 + 1e-9))
        return mp_error_set("over budget: series %s has spent rho %s of %s, and this round "
                            "needs %s more",
                            s->privacy.series, s->privacy.series_spent_text,
                            s->privacy.series_rho_text, s->privacy.rho_text);
    if ((size_t)s->privacy.t >= s->nparticipants)
        return mp_error_set("privacy t (%lld) must be below the number of participants (%zu)",
                            s->privacy.t, s->nparticipants);
    if (den > MP_NOISE_MAX_DEN || num / den >= MP_NOISE_MAX_SIGMA2)
        return mp_error_set("share variance %llu/%llu is outside the sampler's range",
                            (unsigned long long)num, (unsigned long long)den);
    s->privacy.share_num = num;
    s->privacy.share_den = den;
    mp_privacy_sensitivity(s->catalogue, (unsigned)s->privacy.max_orgs, &sens);
    bound = mp_privacy_rho(s->privacy.mechanism, (double)num / (double)den,
                           (unsigned)(s->nparticipants - (size_t)s->privacy.t), &sens,
                           s->catalogue->ncells);
    if (bound > s->privacy.rho * (1 + 1e-9))
        return mp_error_set("the noise share variance %llu/%llu gives rho %.6g, more than the "
                            "budget %s: the round would not protect what it promises",
                            (unsigned long long)num, (unsigned long long)den, bound,
                            s->privacy.rho_text);
    eps = mp_privacy_epsilon(s->privacy.rho, MP_PRIVACY_DELTA);
    if (sscanf(s->privacy.epsilon_text, "%lf", &s->privacy.epsilon) != 1 ||
        fabs(s->privacy.epsilon - eps) > 0.001)
        return mp_error_set("privacy epsilon %.20s does not match rho %s (expected %.3f)",
                            s->privacy.epsilon_text, s->privacy.rho_text, eps);
    return 0;
}

const char *mp_masking_name(enum mp_masking m)
{
    return m == MP_MASKING_BONAWITZ ? MP_SCHEME_BONAWITZ : MP_SCHEME_PAIRWISE;
}

int mp_masking_parse(enum mp_masking *out, const char *name)
{
    if (name != NULL && strcmp(name, MP_SCHEME_PAIRWISE) == 0)
        *out = MP_MASKING_PAIRWISE;
    else if (name != NULL && strcmp(name, MP_SCHEME_BONAWITZ) == 0)
        *out = MP_MASKING_BONAWITZ;
    else
        return mp_error_set("unknown masking scheme \"%.40s\" (%s or %s)", name ? name : "",
                            MP_SCHEME_PAIRWISE, MP_SCHEME_BONAWITZ);
    return 0;
}

const char *mp_spec_scheme_name(const mp_spec *s)
{
    return mp_masking_name((enum mp_masking)s->masking);
}

long long mp_spec_default_threshold(size_t n, long long k_min, long long t, long long c)
{
    long long T = ((long long)n + c) / 2 + 1;
    if (k_min > T)
        T = k_min;
    if ((long long)n - t > T)
        T = (long long)n - t;
    if (c + 1 > T)
        T = c + 1;
    return T;
}

/* Invariant 4 (spec.h): the masking scheme, and for bonawitz-v1 a threshold that protects. */
static int check_masking(mp_spec *s, const cJSON *masking, const char *scheme)
{
    long long n = (long long)s->nparticipants;
    enum mp_masking m;
    if (mp_masking_parse(&m, scheme) != 0)
        return mp_error_set("masking scheme \"%.30s\" is not supported by this version", scheme);
    if (m == MP_MASKING_PAIRWISE) {
        if (cJSON_GetObjectItemCaseSensitive(masking, "threshold") != NULL ||
            cJSON_GetObjectItemCaseSensitive(masking, "colluders") != NULL)
            return mp_error_set("masking scheme %s has no threshold or colluders (every "
                                "participant is needed)",
                                MP_SCHEME_PAIRWISE);
        s->masking = MP_MASKING_PAIRWISE;
        s->threshold = n;
        return 0;
    }
    s->masking = MP_MASKING_BONAWITZ;
    if (mp_json_int(masking, "threshold", 1, MP_MAX_ORGS, &s->threshold) != 0 ||
        mp_json_int(masking, "colluders", 0, MP_MAX_ORGS, &s->colluders) != 0)
        return mp_error_prefix("masking: ");
    long long c = s->colluders;
    if (s->threshold > n)
        return mp_error_set("masking threshold %lld is more than the %lld participants",
                            s->threshold, n);
    if (c < s->privacy.t)
        return mp_error_set("masking resists %lld colluders, fewer than the t = %lld the noise "
                            "assumes; declare colluders >= t",
                            c, s->privacy.t);
    if (c >= n)
        return mp_error_set("masking cannot resist %lld colluders among %lld participants: "
                            "nobody would be left to protect",
                            c, n);
    if (s->threshold <= c)
        return mp_error_set("masking threshold %lld does not exceed the %lld colluders: they "
                            "could unmask alone",
                            s->threshold, c);
    /* With c participants on its side, an aggregator that shows two groups different survivor
     * lists gets both confirmed when each group plus the c colluders reaches T, which needs
     * 2T <= n + c (docs/threat-model.md). */
    if (2 * s->threshold <= n + c)
        return mp_error_set("masking threshold %lld of %lld participants does not resist %lld "
                            "colluders: an aggregator with %lld participants on its side could "
                            "get two different lists of who dropped out confirmed and unmask one "
                            "organisation; use a threshold of at least %lld",
                            s->threshold, n, c, c, (n + c) / 2 + 1);
    if (s->threshold < s->k_min)
        return mp_error_set("masking threshold %lld is below k_min %lld: the sum could be opened "
                            "over fewer organisations than k_min",
                            s->threshold, s->k_min);
    if (s->threshold < n - s->privacy.t)
        return mp_error_set("masking threshold %lld lets %lld of %lld participants drop out, but "
                            "the noise is calibrated for t = %lld missing or colluding; use a "
                            "threshold of at least %lld or a larger t",
                            s->threshold, n - s->threshold, n, s->privacy.t, n - s->privacy.t);
    return 0;
}

static int parse_body(mp_spec *s, const cJSON *b, const mp_roster *roster)
{
    static const char *const fields[] = {
        "mijlpaal_round", "round_id", "region",      "roster_sha256",
        "period",         "opened",   "deadline",    "participants",
        "k_min",          "privacy",  "publication", "masking",
        "catalogue",      NULL};
    static const char *const priv_fields[] = {"mechanism",      "rho",    "epsilon",
                                              "delta",          "series", "series_rho",
                                              "series_spent",   "t",      "max_orgs_per_person",
                                              "share_variance", NULL};
    static const char *const share_fields[] = {"num", "den", NULL};
    static const char *const pub_fields[] = {"rounding", NULL};
    static const char *const masking_fields[] = {"scheme", "threshold", "colluders", NULL};
    const cJSON *period, *parts, *priv, *share, *pub, *masking, *cat, *it;
    const char *hash, *start, *end, *opened, *deadline, *mech, *scheme, *delta;
    long long v, num, den;

    if (mp_json_only(b, "round", fields) != 0 || mp_json_int(b, "mijlpaal_round", 1, 1, &v) ||
        mp_json_str(b, "round_id", &s->round_id) || mp_json_str(b, "region", &s->region) ||
        mp_json_str(b, "roster_sha256", &hash) || mp_json_obj(b, "period", &period) ||
        mp_json_str(period, "start", &start) || mp_json_str(period, "end", &end) ||
        mp_json_str(b, "opened", &opened) || mp_json_str(b, "deadline", &deadline) ||
        mp_json_arr(b, "participants", &parts) ||
        mp_json_int(b, "k_min", 0, MP_MAX_ORGS, &s->k_min) || mp_json_obj(b, "privacy", &priv) ||
        mp_json_obj(b, "publication", &pub) || mp_json_obj(b, "masking", &masking) ||
        mp_json_obj(b, "catalogue", &cat) || mp_json_only(priv, "privacy", priv_fields) ||
        mp_json_str(priv, "mechanism", &mech) || mp_json_str(priv, "rho", &s->privacy.rho_text) ||
        mp_json_str(priv, "epsilon", &s->privacy.epsilon_text) ||
        mp_json_str(priv, "delta", &delta) || mp_json_str(priv, "series", &s->privacy.series) ||
        mp_json_str(priv, "series_rho", &s->privacy.series_rho_text) ||
        mp_json_str(priv, "series_spent", &s->privacy.series_spent_text) ||
        mp_json_int(priv, "t", 0, MP_MAX_ORGS, &s->privacy.t) ||
        mp_json_int(priv, "max_orgs_per_person", 1, 16, &s->privacy.max_orgs) ||
        mp_json_obj(priv, "share_variance", &share) ||
        mp_json_only(share, "share_variance", share_fields) ||
        mp_json_int(share, "num", 1, MP_CANON_MAX_INT, &num) ||
        mp_json_int(share, "den", 1, (long long)MP_NOISE_MAX_DEN, &den) ||
        mp_json_only(pub, "publication", pub_fields) ||
        mp_json_int(pub, "rounding", 1, 1000, &s->rounding) ||
        mp_json_only(masking, "masking", masking_fields) || mp_json_str(masking, "scheme", &scheme))
        return -1;
    size_t idlen = strlen(s->round_id);
    if (idlen == 0 || idlen > MP_ROUND_ID_MAX ||
        strspn(s->round_id, "abcdefghijklmnopqrstuvwxyz0123456789-") != idlen)
        return mp_error_set("round id must be 1-%d characters of a-z, 0-9 and -", MP_ROUND_ID_MAX);
    if (strcmp(s->region, roster->region_id) != 0)
        return mp_error_set("round is for region %.40s, the roster for %.40s", s->region,
                            roster->region_id);
    if (mp_hex_decode(s->roster_hash, MP_HASH_BYTES, hash) != 0 ||
        memcmp(s->roster_hash, roster->env->hash, MP_HASH_BYTES) != 0)
        return mp_error_set("round refers to a different roster (roster_sha256 mismatch)");
    if (mp_date_parse_iso(start, &s->period_start) != 0 ||
        mp_date_parse_iso(end, &s->period_end) != 0 || s->period_start > s->period_end)
        return mp_error_set("period must be two dates YYYY-MM-DD, start not after end");
    if (mp_time_parse(opened, &s->opened) != 0 || mp_time_parse(deadline, &s->deadline) != 0)
        return mp_error_prefix("opened/deadline: ");
    if (s->deadline <= s->opened)
        return mp_error_set("deadline %s is not after the opening time %s", deadline, opened);
    cJSON_ArrayForEach (it, parts) {
        if (!cJSON_IsString(it) || mp_roster_org(roster, it->valuestring) == NULL)
            return mp_error_set("participant \"%.40s\" is not an organisation of the roster",
                                cJSON_IsString(it) ? it->valuestring : "?");
        if (s->nparticipants > 0 &&
            strcmp(s->participants[s->nparticipants - 1], it->valuestring) >= 0)
            return mp_error_set("participants must be sorted and distinct");
        s->participants[s->nparticipants++] = it->valuestring;
    }
    if (s->k_min < MP_K_MIN_FLOOR)
        return mp_error_set("k_min %lld is below %d: a total over fewer than 3 organisations "
                            "lets one of them learn another's figures",
                            s->k_min, MP_K_MIN_FLOOR);
    if ((long long)s->nparticipants < s->k_min)
        return mp_error_set("%zu participants cannot reach k_min %lld", s->nparticipants, s->k_min);
    if (check_masking(s, masking, scheme) != 0)
        return -1;
    if (mp_catalogue_parse(&s->catalogue, cat) != 0)
        return -1;
    return check_privacy(s, mech, delta, (uint64_t)num, (uint64_t)den);
}

int mp_spec_from_envelope(mp_spec **out, mp_envelope *env, const mp_roster *roster)
{
    mp_spec *s = calloc(1, sizeof *s);
    if (s == NULL)
        return mp_error_system("out of memory");
    if (strcmp(env->type, "round") != 0 || parse_body(s, env->body, roster) != 0 ||
        mp_envelope_verify(env, &roster->coordinator) != 0) {
        mp_catalogue_free(s->catalogue);
        free(s);
        return mp_error_prefix("round specification: ");
    }
    s->env = env;
    *out = s;
    return 0;
}

int mp_spec_load(mp_spec **out, const char *path, const mp_roster *roster)
{
    mp_envelope *env;
    if (mp_envelope_load(&env, path, "round") != 0)
        return -1;
    if (mp_spec_from_envelope(out, env, roster) != 0) {
        mp_envelope_free(env);
        return mp_error_prefix("%s: ", path);
    }
    return 0;
}

void mp_spec_free(mp_spec *s)
{
    if (s == NULL)
        return;
    mp_catalogue_free(s->catalogue);
    mp_envelope_free(s->env);
    free(s);
}

int mp_spec_participant(const mp_spec *s, const char *org)
{
    /* The participants are sorted and distinct (checked on parse): a binary search, since
     * every message of a 1000-member round looks its sender up. */
    size_t lo = 0, hi = s->nparticipants;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->participants[mid], org);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
