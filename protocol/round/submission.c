/*
 * submission.c - build and check submissions (see submission.h).
 */
#include "submission.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "date.h"
#include "mask.h"

int mp_submission_build(cJSON **body, const mp_spec *spec, const char *org, const uint64_t *masked,
                        size_t d)
{
    char hash[MP_HASH_HEX_BYTES], ts[21];
    int64_t now;
    char *vec = mp_vec_encode(masked, d);
    cJSON *b = cJSON_CreateObject();
    if (vec == NULL || b == NULL || mp_time_now(&now) != 0) {
        free(vec);
        cJSON_Delete(b);
        return mp_error_set("cannot build submission");
    }
    mp_time_format(ts, now);
    mp_hex_encode(hash, spec->env->hash, MP_HASH_BYTES);
    if (!cJSON_AddNumberToObject(b, "mijlpaal_submission", 1) ||
        !cJSON_AddStringToObject(b, "round_id", spec->round_id) ||
        !cJSON_AddStringToObject(b, "round_sha256", hash) ||
        !cJSON_AddStringToObject(b, "org", org) ||
        !cJSON_AddStringToObject(b, "scheme", mp_spec_scheme_name(spec)) ||
        !cJSON_AddNumberToObject(b, "cells", (double)d) ||
        !cJSON_AddStringToObject(b, "masked", vec) || !cJSON_AddStringToObject(b, "created", ts)) {
        free(vec);
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    free(vec);
    *body = b;
    return 0;
}

int mp_submission_check(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                        const mp_org **org_out, uint64_t *masked)
{
    static const char *const fields[] = {"mijlpaal_submission",
                                         "round_id",
                                         "round_sha256",
                                         "org",
                                         "scheme",
                                         "cells",
                                         "masked",
                                         "created",
                                         NULL};
    const char *round_id, *hash, *org_id, *scheme, *vec, *created;
    long long v, cells;
    unsigned char h[MP_HASH_BYTES];
    int64_t t;
    const mp_org *org;

    if (strcmp(env->type, "submission") != 0)
        return mp_error_set("not a submission but a \"%s\" document", env->type);
    if ((org = mp_roster_org_by_key(roster, env->signer)) == NULL)
        return mp_error_set("signed by a key that is not in the roster (unknown organisation)");
    if (mp_json_only(env->body, "submission", fields) != 0 ||
        mp_json_int(env->body, "mijlpaal_submission", 1, 1, &v) != 0 ||
        mp_json_str(env->body, "round_id", &round_id) ||
        mp_json_str(env->body, "round_sha256", &hash) || mp_json_str(env->body, "org", &org_id) ||
        mp_json_str(env->body, "scheme", &scheme) ||
        mp_json_int(env->body, "cells", 1, 1 << 24, &cells) ||
        mp_json_str(env->body, "masked", &vec) || mp_json_str(env->body, "created", &created) ||
        mp_time_parse(created, &t) != 0)
        return mp_error_prefix("submission of %s: ", org->id);
    if (mp_envelope_verify(env, &org->key) != 0)
        return -1;
    if (strcmp(org_id, org->id) != 0)
        return mp_error_set("submission claims to be from %.40s but is signed by %s", org_id,
                            org->id);
    if (mp_spec_participant(spec, org->id) < 0)
        return mp_error_set("%s is not a participant of round %s", org->id, spec->round_id);
    if (strcmp(round_id, spec->round_id) != 0)
        return mp_error_set("submission of %s is for round %.64s, not for round %s", org->id,
                            round_id, spec->round_id);
    if (mp_hex_decode(h, sizeof h, hash) != 0 || memcmp(h, spec->env->hash, sizeof h) != 0)
        return mp_error_set("submission of %s was made for a different version of round %s "
                            "(round_sha256 mismatch)",
                            org->id, spec->round_id);
    enum mp_masking sm;
    if (mp_masking_parse(&sm, scheme) != 0 || (int)sm != spec->masking)
        return mp_error_set("submission of %s uses masking scheme %.30s, the round %s", org->id,
                            scheme, mp_spec_scheme_name(spec));
    if ((size_t)cells != spec->catalogue->ncells)
        return mp_error_set("submission of %s has %lld cells, the round's catalogue %zu", org->id,
                            cells, spec->catalogue->ncells);
    if (mp_vec_decode(masked, spec->catalogue->ncells, vec) != 0)
        return mp_error_prefix("submission of %s: ", org->id);
    *org_out = org;
    return 0;
}
