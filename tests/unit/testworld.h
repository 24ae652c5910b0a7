/*
 * testworld.h - building a test "world": a coordinator and the six organisations of
 * Midden-Utrecht with fresh keys, their signed roster written to a temporary directory and
 * loaded back, and signed round specifications. Include after testutil.h.
 *
 * Each test program keeps its own world struct (the fields differ); the helpers here take the
 * pieces they need. They are static inline so that a program need not use all of them.
 */
#ifndef MP_TESTWORLD_H
#define MP_TESTWORLD_H

#include "envelope.h"
#include "keys.h"
#include "roster.h"
#include "spec.h"

#define REGION "../../data/regions/midden-utrecht.json"
#define NORGS 6

/* The organisations of the region, in the order their keys are generated. */
__attribute__((unused)) static const char *const org_ids[NORGS] = {
    "utrecht", "stichtse-vecht", "lekstroom", "fermwerk", "rsd-krh", "uwv"};

/* Sign `body` as `type` with kp and write it to dir/name; returns the path. */
static inline char *tw_write_signed(const char *dir, const char *name, const char *type,
                                    const cJSON *body, const mp_keypair *kp)
{
    char *text, *path = tu_path(dir, name);
    size_t len;
    assert_int_equal(mp_envelope_sign(&text, &len, type, body, kp), 0);
    tu_write(path, text, len);
    free(text);
    return path;
}

/* Fresh keys for the coordinator and for each of org_ids; pubs[i] is orgs[i]'s public key. */
static inline void tw_keys_generate(mp_keypair **coord, mp_keypair *orgs[NORGS],
                                    mp_pubkey pubs[NORGS])
{
    assert_int_equal(mp_keys_generate(coord, "coordinator"), 0);
    for (int i = 0; i < NORGS; i++) {
        assert_int_equal(mp_keys_generate(&orgs[i], org_ids[i]), 0);
        pubs[i] = orgs[i]->pub;
    }
}

static inline void tw_keys_free(mp_keypair *coord, mp_keypair *orgs[NORGS])
{
    mp_keys_free(coord);
    for (int i = 0; i < NORGS; i++)
        mp_keys_free(orgs[i]);
}

/* The roster of REGION for these keys, signed by coord, written to dir/roster.json and loaded
 * back into *roster (checked against coord); returns the file's path. */
static inline char *tw_roster(mp_roster **roster, const char *dir, const mp_keypair *coord,
                              const mp_pubkey pubs[NORGS])
{
    cJSON *body;
    if (mp_roster_build(&body, REGION, &coord->pub, pubs, NORGS) != 0)
        fail_msg("roster build: %s", mp_error_get());
    char *path = tw_write_signed(dir, "roster.json", "roster", body, coord);
    cJSON_Delete(body);
    if (mp_roster_load(roster, path, &coord->pub) != 0)
        fail_msg("roster load: %s", mp_error_get());
    return path;
}

/* Round "round_id" of series "mu" for 2025: rho 1 of series_rho (none spent yet), deadline
 * 2026-02-01T12:00:00Z, t = 1, max_orgs 2, rounding 1, k_min 3, every organisation taking part. */
static inline mp_spec_params tw_round_params(const char *round_id, const char *series_rho)
{
    mp_spec_params p = {0};
    p.round_id = round_id;
    p.period_start = "2025-01-01";
    p.period_end = "2025-12-31";
    p.deadline = "2026-02-01T12:00:00Z";
    p.rho = "1";
    p.series = "mu";
    p.series_rho = series_rho;
    p.series_spent = 0;
    p.t = 1;
    p.max_orgs = 2;
    p.rounding = 1;
    p.k_min = 3;
    return p;
}

/* Build a round from p, sign it with coord and write it to dir/name; returns its path and,
 * when spec != NULL, loads it into *spec. */
static inline char *tw_write_round(const char *dir, const mp_keypair *coord,
                                   const mp_roster *roster, const cJSON *catalogue,
                                   const mp_spec_params *p, const char *name, mp_spec **spec)
{
    cJSON *body;
    if (mp_spec_build(&body, p, roster, catalogue) != 0)
        fail_msg("spec build: %s", mp_error_get());
    char *path = tw_write_signed(dir, name, "round", body, coord);
    cJSON_Delete(body);
    if (spec != NULL && mp_spec_load(spec, path, roster) != 0)
        fail_msg("spec load: %s", mp_error_get());
    return path;
}

/* Ed25519 and X25519 keys from seed bytes base..base+31 (the same seed for both), with no
 * PRF key: deterministic keys for known-answer and statistical tests. */
static inline mp_keypair *tw_kp_from_seed(const char *org, unsigned char base)
{
    mp_keypair *kp = sodium_malloc(sizeof *kp);
    unsigned char seed[32];
    assert_non_null(kp);
    memset(kp, 0, sizeof *kp);
    for (int i = 0; i < 32; i++)
        seed[i] = (unsigned char)(base + i);
    assert_int_equal(crypto_sign_seed_keypair(kp->pub.sign_pk, kp->sign_sk, seed), 0);
    assert_int_equal(crypto_box_seed_keypair(kp->pub.kx_pk, kp->kx_sk, seed), 0);
    strcpy(kp->pub.org, org);
    mp_key_id(kp->pub.key_id, kp->pub.sign_pk, kp->pub.kx_pk);
    return kp;
}

#endif
