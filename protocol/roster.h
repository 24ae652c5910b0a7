/*
 * roster.h - the region's roster: organisations, their gemeenten and their public keys,
 * signed by the coordinator.
 *
 * Body of a "roster" envelope:
 *   {"mijlpaal_roster":1, "issued":TIME, "coordinator":PUBKEY,
 *    "region":{"id","name","centrumgemeente","gemeenten":[{"code","name"}],
 *              "organisations":[{"id","name","kind","gemeenten":[CODE...],"key":PUBKEY}]}}
 *
 * Invariants after mp_roster_load():
 *   1. The envelope verifies under the *trusted* coordinator key the caller passed in, and the
 *      roster names that same key as its coordinator.
 *   2. Organisation ids and key ids are unique; every organisation's gemeenten are in the
 *      region; each organisation's key belongs to it (its "org" field matches).
 */
#ifndef MP_ROSTER_H
#define MP_ROSTER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "envelope.h"
#include "error.h"
#include "keys.h"

#define MP_MAX_ORGS 1000
#define MP_MAX_GEMEENTEN 400

typedef struct mp_org {
    const char *id, *name, *kind;
    size_t ngemeenten;
    const char *gemeenten[MP_MAX_GEMEENTEN];
    mp_pubkey key;
} mp_org;

typedef struct mp_roster {
    const char *region_id, *region_name;
    mp_pubkey coordinator;
    size_t ngemeenten;
    const char *gemeente_code[MP_MAX_GEMEENTEN];
    const char *gemeente_name[MP_MAX_GEMEENTEN];
    size_t norgs;
    mp_org *orgs;
    mp_envelope *env; /* owned; strings point into env->body */
} mp_roster;

/* Build a roster body from a region definition file and public keys (one per organisation of
 * the region, matched by the key's "org"). */
MP_WUR int mp_roster_build(cJSON **body, const char *region_path, const mp_pubkey *coordinator,
                           const mp_pubkey *keys, size_t nkeys);

/* Load and verify a roster file against the trusted coordinator key (invariant 1). */
MP_WUR int mp_roster_load(mp_roster **out, const char *path, const mp_pubkey *trusted);

/* Parse a roster envelope already in memory (takes ownership of env on success). With
 * trusted == NULL the signature is not checked: only for building a roster before signing. */
MP_WUR int mp_roster_from_envelope(mp_roster **out, mp_envelope *env, const mp_pubkey *trusted);

void mp_roster_free(mp_roster *r);

const mp_org *mp_roster_org(const mp_roster *r, const char *id);
const mp_org *mp_roster_org_by_key(const mp_roster *r, const unsigned char key_id[MP_KEY_ID_BYTES]);
int mp_roster_has_gemeente(const mp_roster *r, const char *code);

#endif
