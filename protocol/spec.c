/*
 * spec.c - round specifications (see spec.h).
 */
#include "spec.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "date.h"

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int mp_decimal_parse(const char *text, uint64_t *num, uint64_t *den)
{
    uint64_t n = 0, d = 1;
    int decimals = -1;
    if (*text == '\0')
        return mp_error_set("empty number");
    for (const char *p = text; *p; p++) {
        if (*p == '.' && decimals < 0 && p != text && p[1] != '\0') {
            decimals = 0;
            continue;
        }
        if (*p < '0' || *p > '9' || n > (UINT64_C(1) << 40))
            return mp_error_set("\"%.20s\" is not a decimal number below 2^20 with at most 3 "
                                "decimals",
                                text);
        n = n * 10 + (uint64_t)(*p - '0');
        if (decimals >= 0 && ++decimals > 3)
            return mp_error_set("\"%.20s\" has more than 3 decimals", text);
        if (decimals > 0)
            d *= 10;
    }
    if (n == 0 || n / d >= (UINT64_C(1) << 20))
        return mp_error_set("\"%.20s\" must be above 0 and below 2^20", text);
    uint64_t g = gcd64(n, d);
    *num = n / g;
    *den = d / g;
    return 0;
}

int mp_spec_share_variance(const mp_spec *s, uint64_t *num, uint64_t *den)
{
    /* (num/den)^2 / n; num < 2^40 after parsing and den <= 1000, so num^2 < 2^80 needs care:
     * reduce before squaring and check the result against the sampler's bounds. */
    unsigned __int128 n2 = (unsigned __int128)s->sigma_num * s->sigma_num;
    unsigned __int128 d2 = (unsigned __int128)s->sigma_den * s->sigma_den * s->nparticipants;
    unsigned __int128 a = n2, b = d2;
    while (b != 0) {
        unsigned __int128 t = a % b;
        a = b;
        b = t;
    }
    n2 /= a;
    d2 /= a;
    if (n2 > UINT64_MAX || d2 > (UINT64_C(1) << 32))
        return mp_error_set("noise share variance out of the sampler's range (sigma %s, %zu "
                            "participants)",
                            s->sigma_text, s->nparticipants);
    *num = (uint64_t)n2;
    *den = (uint64_t)d2;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int mp_spec_build(cJSON **body, const mp_spec_params *p, const mp_roster *roster,
                  const cJSON *catalogue)
{
    cJSON *b = cJSON_CreateObject(), *period, *noise, *masking, *parts, *cat;
    const char *ids[MP_MAX_ORGS];
    size_t n = p->participants ? p->nparticipants : roster->norgs;
    char hash[MP_HASH_HEX_BYTES], ts[21];
    int64_t now;
    mp_envelope tmp = {0};
    mp_spec *check = NULL;

    if (b == NULL)
        return mp_error_set("out of memory");
    if (n > MP_MAX_ORGS) {
        cJSON_Delete(b);
        return mp_error_set("too many participants");
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = p->participants ? p->participants[i] : roster->orgs[i].id;
    qsort(ids, n, sizeof *ids, cmp_str);
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
    noise = cJSON_AddObjectToObject(b, "noise");
    cJSON_AddStringToObject(noise, "mechanism", "discrete_gaussian");
    cJSON_AddStringToObject(noise, "sigma", p->sigma);
    masking = cJSON_AddObjectToObject(b, "masking");
    cJSON_AddStringToObject(masking, "scheme", MP_SCHEME_PAIRWISE);
    cat = cJSON_Duplicate(catalogue, 1);
    cJSON_AddItemToObject(b, "catalogue", cat);
    if (cat == NULL || masking == NULL || noise == NULL || period == NULL || parts == NULL) {
        cJSON_Delete(b);
        return mp_error_set("out of memory");
    }
    /* Validate by parsing it the way every participant will. */
    tmp.body = b;
    strcpy(tmp.type, "round");
    if (mp_spec_from_envelope(&check, &tmp, roster) != 0) {
        cJSON_Delete(b);
        return -1;
    }
    check->env = NULL;
    mp_spec_free(check);
    *body = b;
    return 0;
}

static int parse_body(mp_spec *s, const cJSON *b, const mp_roster *roster)
{
    static const char *const fields[] = {
        "mijlpaal_round", "round_id", "region", "roster_sha256", "period", "opened", "deadline",
        "participants", "k_min", "noise", "masking", "catalogue", NULL};
    static const char *const noise_fields[] = {"mechanism", "sigma", NULL};
    static const char *const masking_fields[] = {"scheme", NULL};
    const cJSON *period, *parts, *noise, *masking, *cat, *it;
    const char *hash, *start, *end, *opened, *deadline, *mech, *scheme;
    long long v;

    if (mp_json_only(b, "round", fields) != 0 || mp_json_int(b, "mijlpaal_round", 1, 1, &v) ||
        mp_json_str(b, "round_id", &s->round_id) || mp_json_str(b, "region", &s->region) ||
        mp_json_str(b, "roster_sha256", &hash) || mp_json_obj(b, "period", &period) ||
        mp_json_str(period, "start", &start) || mp_json_str(period, "end", &end) ||
        mp_json_str(b, "opened", &opened) || mp_json_str(b, "deadline", &deadline) ||
        mp_json_arr(b, "participants", &parts) ||
        mp_json_int(b, "k_min", 0, MP_MAX_ORGS, &s->k_min) || mp_json_obj(b, "noise", &noise) ||
        mp_json_obj(b, "masking", &masking) || mp_json_obj(b, "catalogue", &cat) ||
        mp_json_only(noise, "noise", noise_fields) || mp_json_str(noise, "mechanism", &mech) ||
        mp_json_str(noise, "sigma", &s->sigma_text) ||
        mp_json_only(masking, "masking", masking_fields) ||
        mp_json_str(masking, "scheme", &scheme))
        return -1;
    size_t idlen = strlen(s->round_id);
    if (idlen == 0 || idlen > MP_ROUND_ID_MAX || strspn(s->round_id,
                                                        "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                                     idlen)
        return mp_error_set("round id must be 1-%d characters of a-z, 0-9 and -",
                            MP_ROUND_ID_MAX);
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
    cJSON_ArrayForEach(it, parts)
    {
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
        return mp_error_set("%zu participants cannot reach k_min %lld", s->nparticipants,
                            s->k_min);
    if (strcmp(mech, "discrete_gaussian") != 0)
        return mp_error_set("noise mechanism \"%.30s\" is not supported", mech);
    if (mp_decimal_parse(s->sigma_text, &s->sigma_num, &s->sigma_den) != 0)
        return mp_error_prefix("noise sigma: ");
    if (strcmp(scheme, MP_SCHEME_PAIRWISE) != 0)
        return mp_error_set("masking scheme \"%.30s\" is not supported by this version", scheme);
    uint64_t a, d;
    if (mp_spec_share_variance(s, &a, &d) != 0)
        return -1;
    return mp_catalogue_parse(&s->catalogue, cat);
}

int mp_spec_from_envelope(mp_spec **out, mp_envelope *env, const mp_roster *roster)
{
    mp_spec *s = calloc(1, sizeof *s);
    if (s == NULL)
        return mp_error_set("out of memory");
    if (strcmp(env->type, "round") != 0 || parse_body(s, env->body, roster) != 0 ||
        (env->text != NULL && mp_envelope_verify(env, &roster->coordinator) != 0)) {
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
    for (size_t i = 0; i < s->nparticipants; i++)
        if (strcmp(s->participants[i], org) == 0)
            return (int)i;
    return -1;
}
