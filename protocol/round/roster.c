/*
 * roster.c - build, sign-ready and verify the region roster (see roster.h).
 */
#include "roster.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "encoding.h"
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
    if (out == NULL || !cJSON_AddNumberToObject(out, "mijlpaal_roster", 2) ||
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
    static const char *const org_fields[] = {"id",  "name", "kind",    "gemeenten",
                                             "key", "oin",  "binding", NULL};
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
        return mp_error_system("out of memory");
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
        const cJSON *oin = cJSON_GetObjectItemCaseSensitive(o, "oin");
        const cJSON *bind = cJSON_GetObjectItemCaseSensitive(o, "binding");
        if ((oin == NULL) != (bind == NULL))
            return mp_error_set("organisation %s: an OIN and a certificate binding go together",
                                org->id);
        if (oin != NULL) {
            if (!cJSON_IsString(oin) || !mp_oin_valid(oin->valuestring))
                return mp_error_set("organisation %s: \"oin\" must be %d digits", org->id,
                                    MP_OIN_LEN);
            if (!cJSON_IsObject(bind))
                return mp_error_set("organisation %s: \"binding\" must be an object", org->id);
            org->oin = oin->valuestring;
            org->binding = bind;
        }
        for (size_t k = 0; k + 1 < i; k++) {
            if (strcmp(r->orgs[k].id, org->id) == 0)
                return mp_error_set("organisation %s listed twice", org->id);
            if (memcmp(r->orgs[k].key.key_id, org->key.key_id, MP_KEY_ID_BYTES) == 0)
                return mp_error_set("organisations %s and %s share a key", r->orgs[k].id, org->id);
            /* One organisation's certificate may vouch for one member only: else a member
             * (say the one that also coordinates) binds keys of its own under other names,
             * and every binding checks. */
            if (org->oin != NULL && r->orgs[k].oin != NULL && strcmp(r->orgs[k].oin, org->oin) == 0)
                return mp_error_set("organisations %s and %s have the same OIN %s: one "
                                    "organisation's certificate vouches for both",
                                    r->orgs[k].id, org->id, org->oin);
        }
    }
    return 0;
}

/* The draft's body into r (strings point into it); checks the coordinator's signature. */
static int parse_draft(mp_roster *r, const mp_envelope *env, const mp_pubkey *trusted)
{
    static const char *const fields[] = {"mijlpaal_roster", "issued", "coordinator", "region",
                                         NULL};
    const cJSON *coord, *region;
    const char *issued;
    long long v;
    int64_t t;
    if (strcmp(env->type, "roster") != 0)
        return mp_error_set("a \"%s\" document is not a roster", env->type);
    if (mp_json_only(env->body, "roster", fields) != 0)
        return -1;
    if (mp_json_int(env->body, "mijlpaal_roster", 0, 100, &v) != 0)
        return -1;
    if (v != 2)
        return mp_error_set("roster format %lld is not supported by this version (2: keys bound "
                            "by certificates, agreed by every member); ask the coordinator for a "
                            "roster made with this version",
                            v);
    if (mp_json_str(env->body, "issued", &issued) != 0 || mp_time_parse(issued, &t) != 0 ||
        mp_json_obj(env->body, "coordinator", &coord) != 0 ||
        mp_json_obj(env->body, "region", &region) != 0 ||
        mp_pubkey_from_json(&r->coordinator, coord) != 0 || parse_region(r, region) != 0)
        return -1;
    if (trusted != NULL) {
        if (memcmp(trusted->sign_pk, r->coordinator.sign_pk, MP_SIGN_PK_BYTES) != 0)
            return mp_error_set("roster names a different coordinator than the trusted key");
        if (mp_envelope_verify(env, trusted) != 0)
            return -1;
    }
    memcpy(r->draft_hash, env->hash, MP_HASH_BYTES);
    return 0;
}

int mp_roster_cosign_body(cJSON **body, const mp_roster *r, const char *org)
{
    char hex[MP_HASH_HEX_BYTES];
    cJSON *b = cJSON_CreateObject();
    mp_hex_encode(hex, r->draft_hash, MP_HASH_BYTES);
    if (b == NULL || !cJSON_AddNumberToObject(b, "mijlpaal_roster_cosign", 1) ||
        !cJSON_AddStringToObject(b, "org", org) ||
        !cJSON_AddStringToObject(b, "roster_sha256", hex)) {
        cJSON_Delete(b);
        return mp_error_system("out of memory");
    }
    *body = b;
    return 0;
}

/* Invariant 3: one valid co-signature per member, in roster order, nothing else. */
static int check_cosignatures(const mp_roster *r, const cJSON *cosigs)
{
    const cJSON *c;
    size_t i = 0;
    if (!cJSON_IsArray(cosigs))
        return mp_error_set("\"cosignatures\" must be an array");
    cJSON_ArrayForEach (c, cosigs) {
        static const char *const fields[] = {"org", "sig", NULL};
        const char *org, *sig64;
        unsigned char sig[MP_SIG_BYTES];
        cJSON *body;
        int rc;
        if (i == r->norgs)
            return mp_error_set("more co-signatures than the %zu members", r->norgs);
        if (!cJSON_IsObject(c) || mp_json_only(c, "co-signature", fields) != 0 ||
            mp_json_str(c, "org", &org) != 0 || mp_json_str(c, "sig", &sig64) != 0)
            return mp_error_prefix("co-signature %zu: ", i + 1);
        if (strcmp(org, r->orgs[i].id) != 0)
            return mp_error_set("co-signature %zu is by \"%.40s\", expected %s (one per member, "
                                "in roster order)",
                                i + 1, org, r->orgs[i].id);
        if (mp_base64_decode_exact(sig, sizeof sig, sig64) != 0)
            return mp_error_set("co-signature of %s is not a signature", org);
        if (mp_roster_cosign_body(&body, r, org) != 0)
            return -1;
        rc = mp_envelope_verify_detached(sig, "roster-cosign", body, &r->orgs[i].key);
        cJSON_Delete(body);
        if (rc != 0)
            return mp_error_set("the co-signature of %s does not verify: %s did not agree to "
                                "this roster",
                                org, org);
        i++;
    }
    if (i < r->norgs)
        return mp_error_set("the roster lacks the co-signature of %s: every member must agree "
                            "to it (mijlpaal-contributor roster sign)",
                            r->orgs[i].id);
    return 0;
}

int mp_roster_from_envelope(mp_roster **out, mp_envelope *env, const mp_pubkey *trusted)
{
    static const char *const fields[] = {"mijlpaal_roster_agreed", "roster", "cosignatures", NULL};
    mp_roster *r = calloc(1, sizeof *r);
    mp_envelope *draft = NULL;
    const char *text;
    long long v;
    if (r == NULL)
        return mp_error_system("out of memory");
    if (strcmp(env->type, "roster-agreed") == 0) {
        if (mp_json_only(env->body, "agreed roster", fields) != 0 ||
            mp_json_int(env->body, "mijlpaal_roster_agreed", 1, 1, &v) != 0 ||
            mp_json_str(env->body, "roster", &text) != 0 ||
            mp_envelope_parse(&draft, text, strlen(text), "roster") != 0 ||
            parse_draft(r, draft, trusted) != 0 ||
            check_cosignatures(r, cJSON_GetObjectItemCaseSensitive(env->body, "cosignatures")))
            goto fail;
        if (trusted != NULL && mp_envelope_verify(env, trusted) != 0)
            goto fail;
        r->agreed = 1;
        r->draft = draft;
    } else if (parse_draft(r, env, trusted) != 0) {
        goto fail;
    }
    r->env = env;
    *out = r;
    return 0;
fail:
    mp_envelope_free(draft);
    free(r->orgs);
    free(r);
    return mp_error_prefix("roster: ");
}

int mp_roster_require_agreed(const mp_roster *r)
{
    if (!r->agreed)
        return mp_error_set("roster: this is a draft that not every member has co-signed; it "
                            "takes effect only as the agreed roster the coordinator makes with "
                            "`mijlpaal-aggregator roster agree`");
    return 0;
}

int mp_roster_check_bindings(mp_roster *r, const mp_ca *ca, int64_t at)
{
    for (size_t i = 0; i < r->norgs; i++) {
        mp_org *o = &r->orgs[i];
        if (o->binding == NULL)
            return mp_error_set("roster: %s has no certificate binding its key: the coordinator "
                                "alone vouches for it, which is not accepted",
                                o->id);
        if (mp_binding_verify(o->binding, &o->key, o->oin, ca, at, o->cert_org) != 0)
            return mp_error_prefix("roster: %s (OIN %s): ", o->id, o->oin);
    }
    return 0;
}

int mp_roster_bind(cJSON *body, const char *org, const char *oin, const cJSON *binding)
{
    cJSON *region = cJSON_GetObjectItemCaseSensitive(body, "region");
    cJSON *orgs = cJSON_GetObjectItemCaseSensitive(region, "organisations"), *o;
    cJSON_ArrayForEach (o, orgs) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        if (!cJSON_IsString(id) || strcmp(id->valuestring, org) != 0)
            continue;
        cJSON *copy = cJSON_Duplicate(binding, 1);
        if (copy == NULL || !mp_oin_valid(oin)) {
            cJSON_Delete(copy);
            return mp_error_system("organisation %s: invalid OIN or out of memory", org);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(o, "oin");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "binding");
        cJSON_AddStringToObject(o, "oin", oin);
        cJSON_AddItemToObject(o, "binding", copy);
        return 0;
    }
    return mp_error_set("organisation %s is not in the roster", org);
}

int mp_roster_agree(cJSON **body, const mp_roster *draft, mp_envelope *const *cosigs, size_t n)
{
    /* Exactly the statement check_cosignatures() rebuilds: a signed body with anything more
     * would make an agreed roster that no reader loads. */
    static const char *const fields[] = {"mijlpaal_roster_cosign", "org", "roster_sha256", NULL};
    char hex[MP_HASH_HEX_BYTES];
    const mp_envelope **by = calloc(draft->norgs ? draft->norgs : 1, sizeof *by);
    cJSON *b = NULL, *arr;
    if (by == NULL)
        return mp_error_system("out of memory");
    if (draft->agreed) {
        free(by);
        return mp_error_set("the roster is agreed already");
    }
    mp_hex_encode(hex, draft->draft_hash, MP_HASH_BYTES);
    for (size_t k = 0; k < n; k++) {
        const mp_envelope *e = cosigs[k];
        const mp_org *o = mp_roster_org_by_key(draft, e->signer);
        const char *org, *h;
        long long v;
        if (strcmp(e->type, "roster-cosign") != 0 || o == NULL ||
            mp_json_int(e->body, "mijlpaal_roster_cosign", 1, 1, &v) != 0 ||
            mp_json_str(e->body, "org", &org) != 0 || mp_json_str(e->body, "roster_sha256", &h)) {
            mp_error_set("co-signature %zu is not a roster co-signature by a member", k + 1);
            goto fail;
        }
        if (mp_json_only(e->body, "co-signature", fields) != 0) {
            mp_error_prefix("co-signature %zu (%s): ", k + 1, o->id);
            goto fail;
        }
        if (strcmp(org, o->id) != 0 || mp_envelope_verify(e, &o->key) != 0) {
            mp_error_set("co-signature %zu (%s) does not verify under %s's key", k + 1, org, o->id);
            goto fail;
        }
        if (strcmp(h, hex) != 0) {
            mp_error_set("%s co-signed another roster (sha256 %.16s...), not this one (%.16s...)",
                         o->id, h, hex);
            goto fail;
        }
        size_t i = (size_t)(o - draft->orgs);
        if (by[i] != NULL) {
            mp_error_set("two co-signatures of %s", o->id);
            goto fail;
        }
        by[i] = e;
    }
    if ((b = cJSON_CreateObject()) == NULL ||
        !cJSON_AddNumberToObject(b, "mijlpaal_roster_agreed", 1) ||
        !cJSON_AddStringToObject(b, "roster", draft->env->text) ||
        (arr = cJSON_AddArrayToObject(b, "cosignatures")) == NULL) {
        mp_error_system("out of memory");
        goto fail;
    }
    for (size_t i = 0; i < draft->norgs; i++) {
        cJSON *c;
        char *sig;
        if (by[i] == NULL) {
            mp_error_set("%s has not co-signed the roster (every member must: mijlpaal-contributor "
                         "roster sign)",
                         draft->orgs[i].id);
            goto fail;
        }
        if ((sig = mp_base64_encode(by[i]->sig, MP_SIG_BYTES)) == NULL ||
            (c = cJSON_CreateObject()) == NULL) {
            free(sig);
            mp_error_system("out of memory");
            goto fail;
        }
        cJSON_AddStringToObject(c, "org", draft->orgs[i].id);
        cJSON_AddStringToObject(c, "sig", sig);
        cJSON_AddItemToArray(arr, c);
        free(sig);
    }
    free(by);
    *body = b;
    return 0;
fail:
    free(by);
    cJSON_Delete(b);
    return -1;
}

int mp_roster_load(mp_roster **out, const char *path, const mp_pubkey *trusted)
{
    mp_envelope *env;
    if (mp_envelope_load(&env, path, NULL) != 0)
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
    mp_envelope_free(r->draft);
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

int mp_roster_member_load(const char *path, mp_pubkey *key, char oin[MP_OIN_LEN + 1],
                          cJSON **binding)
{
    static const char *const fields[] = {"mijlpaal_key_binding", "key", "oin", "binding", NULL};
    mp_envelope *env;
    const cJSON *k, *b;
    const char *o;
    long long v;
    if (mp_envelope_load(&env, path, "key-binding") != 0)
        return -1;
    if (mp_json_only(env->body, "key binding", fields) != 0 ||
        mp_json_int(env->body, "mijlpaal_key_binding", 1, 1, &v) != 0 ||
        mp_json_obj(env->body, "key", &k) != 0 || mp_json_str(env->body, "oin", &o) != 0 ||
        mp_json_obj(env->body, "binding", &b) != 0 || mp_pubkey_from_json(key, k) != 0 ||
        !mp_oin_valid(o)) {
        mp_envelope_free(env);
        return mp_error_prefix("%s: ", path);
    }
    /* Signed by the key it binds: whoever sent it holds the secret half. */
    if (mp_envelope_verify(env, key) != 0) {
        mp_envelope_free(env);
        return mp_error_prefix("%s: not signed by the key it binds: ", path);
    }
    if ((*binding = cJSON_Duplicate(b, 1)) == NULL) {
        mp_envelope_free(env);
        return mp_error_system("out of memory");
    }
    memcpy(oin, o, MP_OIN_LEN + 1);
    mp_envelope_free(env);
    return 0;
}
