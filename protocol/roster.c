/*
 * roster.c - build, sign-ready and verify the region roster (see roster.h).
 */
#include "roster.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "codes.h"
#include "date.h"
#include "fileio.h"

/* Validate a region definition and return a copy with keys attached to the organisations. */
int mp_roster_build(cJSON **body, const char *region_path, const mp_pubkey *coordinator,
                    const mp_pubkey *keys, size_t nkeys)
{
    static const char *const fields[] = {
        "mijlpaal_region", "id", "name", "centrumgemeente", "gemeenten", "organisations", NULL};
    unsigned char *text = NULL;
    size_t len;
    cJSON *region = NULL, *out = NULL, *orgs, *org, *pk = NULL;
    long long v;
    const char *s;
    int64_t now;
    char ts[21];
    size_t used = 0;

    if (mp_file_read(region_path, 1024 * 1024, &text, &len) != 0)
        return -1;
    if (mp_canon_parse(&region, (char *)text, len) != 0 || !cJSON_IsObject(region) ||
        mp_json_only(region, "region", fields) != 0 ||
        mp_json_int(region, "mijlpaal_region", 1, 1, &v) != 0 ||
        mp_json_str(region, "id", &s) != 0 || mp_json_str(region, "name", &s) != 0)
        goto fail;
    /* Detach the format marker: the roster has its own. */
    cJSON_DeleteItemFromObjectCaseSensitive(region, "mijlpaal_region");
    orgs = cJSON_GetObjectItemCaseSensitive(region, "organisations");
    if (!cJSON_IsArray(orgs)) {
        mp_error_set("\"organisations\" must be an array");
        goto fail;
    }
    cJSON_ArrayForEach (org, orgs) {
        const char *id;
        size_t k;
        if (mp_json_str(org, "id", &id) != 0)
            goto fail;
        for (k = 0; k < nkeys && strcmp(keys[k].org, id) != 0; k++)
            ;
        if (k == nkeys) {
            mp_error_set("no public key given for organisation \"%.40s\"", id);
            goto fail;
        }
        if (mp_pubkey_to_json(&keys[k], &pk) != 0)
            goto fail;
        cJSON_AddItemToObject(org, "key", pk);
        pk = NULL;
        used++;
    }
    if (used != nkeys) {
        mp_error_set("%zu public key(s) belong to no organisation of the region", nkeys - used);
        goto fail;
    }
    if (mp_time_now(&now) != 0)
        goto fail;
    mp_time_format(ts, now);
    out = cJSON_CreateObject();
    if (out == NULL || !cJSON_AddNumberToObject(out, "mijlpaal_roster", 1) ||
        !cJSON_AddStringToObject(out, "issued", ts) || mp_pubkey_to_json(coordinator, &pk) != 0)
        goto fail;
    cJSON_AddItemToObject(out, "coordinator", pk);
    cJSON_AddItemToObject(out, "region", region);
    region = NULL;
    free(text);
    /* Round-trip through the validating parser so that a bad region is refused here, before
     * anything is signed, and not later by every contributor. */
    {
        mp_envelope tmp = {0};
        mp_roster *check = NULL;
        tmp.body = out;
        strcpy(tmp.type, "roster");
        if (mp_roster_from_envelope(&check, &tmp, NULL) != 0) {
            cJSON_Delete(out);
            return mp_error_prefix("%s: ", region_path);
        }
        check->env = NULL; /* tmp lives on this stack frame */
        mp_roster_free(check);
    }
    *body = out;
    return 0;
fail:
    mp_error_prefix("%s: ", region_path);
    free(text);
    cJSON_Delete(region);
    cJSON_Delete(out);
    return -1;
}

static int parse_region(mp_roster *r, const cJSON *region)
{
    static const char *const fields[] = {"id",        "name",          "centrumgemeente",
                                         "gemeenten", "organisations", NULL};
    static const char *const org_fields[] = {"id", "name", "kind", "gemeenten", "key", NULL};
    const cJSON *gems, *orgs, *g, *o;
    const char *centrum;
    if (mp_json_only(region, "region", fields) != 0 || mp_json_str(region, "id", &r->region_id) ||
        mp_json_str(region, "name", &r->region_name) ||
        mp_json_str(region, "centrumgemeente", &centrum) ||
        mp_json_arr(region, "gemeenten", &gems) || mp_json_arr(region, "organisations", &orgs))
        return -1;
    if (!mp_org_id_valid(r->region_id))
        return mp_error_set("invalid region id");
    cJSON_ArrayForEach (g, gems) {
        const char *code, *name;
        char norm[7];
        if (r->ngemeenten == MP_MAX_GEMEENTEN)
            return mp_error_set("too many gemeenten");
        if (!cJSON_IsObject(g) || mp_json_str(g, "code", &code) || mp_json_str(g, "name", &name))
            return mp_error_prefix("gemeente %zu: ", r->ngemeenten + 1);
        if (!mp_gemeente_normalise(norm, code) || strcmp(norm, code) != 0)
            return mp_error_set("gemeente code \"%.10s\" is not of the form GM0000", code);
        if (mp_roster_has_gemeente(r, code))
            return mp_error_set("gemeente %s listed twice", code);
        r->gemeente_code[r->ngemeenten] = code;
        r->gemeente_name[r->ngemeenten++] = name;
    }
    if (!mp_roster_has_gemeente(r, centrum))
        return mp_error_set("centrumgemeente %.10s is not in the region", centrum);
    r->norgs = (size_t)cJSON_GetArraySize(orgs);
    if (r->norgs == 0 || r->norgs > MP_MAX_ORGS)
        return mp_error_set("a region needs 1 to %d organisations", MP_MAX_ORGS);
    if ((r->orgs = calloc(r->norgs, sizeof *r->orgs)) == NULL)
        return mp_error_set("out of memory");
    size_t i = 0;
    cJSON_ArrayForEach (o, orgs) {
        mp_org *org = &r->orgs[i++];
        const cJSON *og, *key;
        if (!cJSON_IsObject(o) || mp_json_only(o, "organisation", org_fields) != 0 ||
            mp_json_str(o, "id", &org->id) || mp_json_str(o, "name", &org->name) ||
            mp_json_str(o, "kind", &org->kind) || mp_json_arr(o, "gemeenten", &og))
            return mp_error_prefix("organisation %zu: ", i);
        if (!mp_org_id_valid(org->id))
            return mp_error_set("organisation %zu: invalid id", i);
        if (strcmp(org->kind, "gemeente") && strcmp(org->kind, "samenwerking") &&
            strcmp(org->kind, "uwv") && strcmp(org->kind, "sw-bedrijf"))
            return mp_error_set("organisation %s: unknown kind \"%.20s\"", org->id, org->kind);
        cJSON_ArrayForEach (g, og) {
            if (!cJSON_IsString(g) || !mp_roster_has_gemeente(r, g->valuestring))
                return mp_error_set("organisation %s: gemeente %.10s is not in the region", org->id,
                                    cJSON_IsString(g) ? g->valuestring : "?");
            if (org->ngemeenten == MP_MAX_GEMEENTEN)
                return mp_error_set("organisation %s: too many gemeenten", org->id);
            org->gemeenten[org->ngemeenten++] = g->valuestring;
        }
        if (org->ngemeenten == 0)
            return mp_error_set("organisation %s: serves no gemeente", org->id);
        key = cJSON_GetObjectItemCaseSensitive(o, "key");
        if (key == NULL)
            return mp_error_set("organisation %s: no public key", org->id);
        if (mp_pubkey_from_json(&org->key, key) != 0)
            return mp_error_prefix("organisation %s: ", org->id);
        if (strcmp(org->key.org, org->id) != 0)
            return mp_error_set("organisation %s: its key was made for \"%s\"", org->id,
                                org->key.org);
        for (size_t k = 0; k + 1 < i; k++) {
            if (strcmp(r->orgs[k].id, org->id) == 0)
                return mp_error_set("organisation %s listed twice", org->id);
            if (memcmp(r->orgs[k].key.key_id, org->key.key_id, MP_KEY_ID_BYTES) == 0)
                return mp_error_set("organisations %s and %s share a key", r->orgs[k].id, org->id);
        }
    }
    return 0;
}

int mp_roster_from_envelope(mp_roster **out, mp_envelope *env, const mp_pubkey *trusted)
{
    static const char *const fields[] = {"mijlpaal_roster", "issued", "coordinator", "region",
                                         NULL};
    mp_roster *r = calloc(1, sizeof *r);
    const cJSON *coord, *region;
    const char *issued;
    long long v;
    int64_t t;
    if (r == NULL)
        return mp_error_set("out of memory");
    if (mp_json_only(env->body, "roster", fields) != 0 ||
        mp_json_int(env->body, "mijlpaal_roster", 1, 1, &v) != 0 ||
        mp_json_str(env->body, "issued", &issued) != 0 || mp_time_parse(issued, &t) != 0 ||
        mp_json_obj(env->body, "coordinator", &coord) != 0 ||
        mp_json_obj(env->body, "region", &region) != 0 ||
        mp_pubkey_from_json(&r->coordinator, coord) != 0 || parse_region(r, region) != 0)
        goto fail;
    if (trusted != NULL) {
        if (memcmp(trusted->sign_pk, r->coordinator.sign_pk, MP_SIGN_PK_BYTES) != 0) {
            mp_error_set("roster names a different coordinator than the trusted key");
            goto fail;
        }
        if (mp_envelope_verify(env, trusted) != 0)
            goto fail;
    }
    r->env = env;
    *out = r;
    return 0;
fail:
    free(r->orgs);
    free(r);
    return mp_error_prefix("roster: ");
}

int mp_roster_load(mp_roster **out, const char *path, const mp_pubkey *trusted)
{
    mp_envelope *env;
    if (mp_envelope_load(&env, path, "roster") != 0)
        return -1;
    if (mp_roster_from_envelope(out, env, trusted) != 0) {
        mp_envelope_free(env);
        return mp_error_prefix("%s: ", path);
    }
    return 0;
}

void mp_roster_free(mp_roster *r)
{
    if (r == NULL)
        return;
    mp_envelope_free(r->env);
    free(r->orgs);
    free(r);
}

const mp_org *mp_roster_org(const mp_roster *r, const char *id)
{
    for (size_t i = 0; i < r->norgs; i++)
        if (strcmp(r->orgs[i].id, id) == 0)
            return &r->orgs[i];
    return NULL;
}

const mp_org *mp_roster_org_by_key(const mp_roster *r, const unsigned char key_id[MP_KEY_ID_BYTES])
{
    for (size_t i = 0; i < r->norgs; i++)
        if (memcmp(r->orgs[i].key.key_id, key_id, MP_KEY_ID_BYTES) == 0)
            return &r->orgs[i];
    return NULL;
}

int mp_roster_has_gemeente(const mp_roster *r, const char *code)
{
    for (size_t i = 0; i < r->ngemeenten; i++)
        if (strcmp(r->gemeente_code[i], code) == 0)
            return 1;
    return 0;
}
