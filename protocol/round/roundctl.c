/*
 * roundctl.c - round extension and cancellation documents (see roundctl.h).
 */
#include "roundctl.h"

#include <stdio.h>
#include <string.h>

#include "canon.h"
#include "date.h"
#include "encoding.h"

static cJSON *common_body(const mp_spec *spec)
{
    char hash[MP_HASH_HEX_BYTES];
    cJSON *b = cJSON_CreateObject();
    mp_hex_encode(hash, spec->env->hash, MP_HASH_BYTES);
    if (b == NULL || !cJSON_AddNumberToObject(b, "version", MP_ROUNDCTL_VERSION) ||
        !cJSON_AddStringToObject(b, "round_id", spec->round_id) ||
        !cJSON_AddStringToObject(b, "round_sha256", hash)) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

static int add_time(cJSON *b, const char *key, int64_t t)
{
    char text[21];
    mp_time_format(text, t);
    return cJSON_AddStringToObject(b, key, text) != NULL ? 0 : -1;
}

int mp_roundctl_extend_body(cJSON **out, const mp_spec *spec, int64_t previous, int64_t deadline,
                            int64_t now)
{
    cJSON *b;
    *out = NULL;
    if (deadline <= previous) {
        char p[21], d[21];
        mp_time_format(p, previous);
        mp_time_format(d, deadline);
        return mp_error_set("round %s: the new deadline %s is not later than the one in force "
                            "(%s); a deadline only moves later",
                            spec->round_id, d, p);
    }
    if ((b = common_body(spec)) == NULL || add_time(b, "previous_deadline", previous) != 0 ||
        add_time(b, "deadline", deadline) != 0 || add_time(b, "extended_at", now) != 0) {
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    *out = b;
    return 0;
}

int mp_roundctl_reason_check(const char *reason)
{
    size_t n = 0;
    if (reason == NULL || reason[0] == '\0')
        return mp_error_set("a cancellation needs a reason (--reason TEXT)");
    for (const unsigned char *p = (const unsigned char *)reason; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return mp_error_set("the reason contains a control character");
        if ((*p & 0xc0) != 0x80) /* count characters, not UTF-8 continuation bytes */
            n++;
    }
    if (n > MP_ROUNDCTL_REASON_MAX)
        return mp_error_set("the reason is longer than %d characters", MP_ROUNDCTL_REASON_MAX);
    return 0;
}

int mp_roundctl_cancel_body(cJSON **out, const mp_spec *spec, const char *reason,
                            const char *const *orgs, const char *const *hashes, size_t n,
                            int64_t now)
{
    cJSON *b, *subs;
    *out = NULL;
    if (mp_roundctl_reason_check(reason) != 0)
        return -1;
    if ((b = common_body(spec)) == NULL || !cJSON_AddStringToObject(b, "reason", reason) ||
        add_time(b, "cancelled_at", now) != 0 ||
        (subs = cJSON_AddArrayToObject(b, "submissions")) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateObject();
        if (s == NULL || !cJSON_AddItemToArray(subs, s) ||
            !cJSON_AddStringToObject(s, "org", orgs[i]) ||
            !cJSON_AddStringToObject(s, "submission_sha256", hashes[i]))
            goto oom;
    }
    *out = b;
    return 0;
oom:
    cJSON_Delete(b);
    return mp_error_system("out of memory");
}

/* Invariant 1: signature, version, members, and the round it is bound to. */
static int check_common(const mp_envelope *env, const char *type, const mp_spec *spec,
                        const mp_pubkey *trusted, const char *const *allowed)
{
    const char *id, *hash;
    char want[MP_HASH_HEX_BYTES];
    long long version;
    if (strcmp(env->type, type) != 0)
        return mp_error_set("is a \"%s\" document, not a \"%s\"", env->type, type);
    if (trusted != NULL && mp_envelope_verify(env, trusted) != 0)
        return mp_error_prefix("%s: not signed by the trusted coordinator key: ", type);
    if (mp_json_only(env->body, type, allowed) != 0 ||
        mp_json_int(env->body, "version", 1, 1000, &version) != 0 ||
        mp_json_str(env->body, "round_id", &id) != 0 ||
        mp_json_str(env->body, "round_sha256", &hash) != 0)
        return -1;
    if (version != MP_ROUNDCTL_VERSION)
        return mp_error_set("%s: version %lld; this program reads version %d", type, version,
                            MP_ROUNDCTL_VERSION);
    mp_hex_encode(want, spec->env->hash, MP_HASH_BYTES);
    if (strcmp(id, spec->round_id) != 0 || strcmp(hash, want) != 0)
        return mp_error_set("%s: is for round %.64s, not for round %s (as specified in the "
                            "round file)",
                            type, id, spec->round_id);
    return 0;
}

static int get_time(const cJSON *b, const char *key, int64_t *t)
{
    const char *s;
    if (mp_json_str(b, key, &s) != 0)
        return -1;
    if (mp_time_parse(s, t) != 0)
        return mp_error_prefix("%s: ", key);
    return 0;
}

int mp_roundctl_extend_check(const mp_envelope *env, const mp_spec *spec, const mp_pubkey *trusted,
                             int64_t *previous, int64_t *deadline)
{
    static const char *const allowed[] = {"version",  "round_id",    "round_sha256",
                                          "deadline", "extended_at", "previous_deadline",
                                          NULL};
    int64_t at;
    if (check_common(env, MP_ROUNDCTL_EXTEND_TYPE, spec, trusted, allowed) != 0 ||
        get_time(env->body, "previous_deadline", previous) != 0 ||
        get_time(env->body, "deadline", deadline) != 0 ||
        get_time(env->body, "extended_at", &at) != 0)
        return -1;
    if (*deadline <= *previous || *previous < spec->deadline)
        return mp_error_set("round-extend: moves the deadline of round %s earlier; a deadline "
                            "only moves later",
                            spec->round_id);
    return 0;
}

int mp_roundctl_cancel_check(const mp_envelope *env, const mp_spec *spec, const mp_pubkey *trusted,
                             const char *org, mp_roundctl_cancel *out, int *listed)
{
    static const char *const allowed[] = {
        "version", "round_id", "round_sha256", "reason", "cancelled_at", "submissions", NULL};
    const cJSON *subs, *it;
    const char *reason;
    int64_t at;
    memset(out, 0, sizeof *out);
    if (listed != NULL)
        *listed = 0;
    if (check_common(env, MP_ROUNDCTL_CANCEL_TYPE, spec, trusted, allowed) != 0 ||
        mp_json_str(env->body, "reason", &reason) != 0 ||
        get_time(env->body, "cancelled_at", &at) != 0 ||
        mp_json_arr(env->body, "submissions", &subs) != 0)
        return -1;
    if (mp_roundctl_reason_check(reason) != 0)
        return mp_error_prefix("round-cancel: ");
    cJSON_ArrayForEach (it, subs) {
        const char *o, *h;
        if (mp_json_str(it, "org", &o) != 0 || mp_json_str(it, "submission_sha256", &h) != 0)
            return mp_error_prefix("round-cancel: submissions: ");
        if (org != NULL && listed != NULL && strcmp(o, org) == 0)
            *listed = 1;
        out->nsubmissions++;
    }
    snprintf(out->round_id, sizeof out->round_id, "%s", spec->round_id);
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    mp_time_format(out->cancelled_at, at);
    return 0;
}
