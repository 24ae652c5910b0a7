/*
 * policy.h - what one organisation agrees to take part in, decided by its own data officer.
 *
 * The coordinator writes the roster and every round specification, so nothing it writes can
 * be what limits it. Each contributor keeps a policy file next to its keystore (written once
 * with `mijlpaal-contributor policy init`, read by every command that takes part in a round)
 * and refuses, with the reason, any roster or round outside it:
 *
 *   {"mijlpaal_policy":1, "org":ID, "region":REGION_ID,
 *    "ca_file":PATH, ["crl_file":PATH,]        trust file of the region's CA (relative paths
 *                                               are relative to the policy file's directory)
 *    "organisations":[{"id":ID,"oin":OIN}...], the region's members, as agreed between the
 *                                               organisations (not taken from the coordinator)
 *    "min_participants":N, "min_t":T,           at least N participants, noise for >= T
 *                                               colluding or missing
 *    "max_rho_per_round":DEC,                   zCDP budget of one round
 *    "max_rho_per_period":DEC,                  total over the rounds of one series whose
 *                                               data periods overlap (default: one round's)
 *    "series":[{"id":ID,"budget":DEC}...]}      the series this organisation takes part in,
 *                                               each with its own total budget
 *
 * Checks (mp_policy_check_roster, mp_policy_check_round), each refusal naming the rule:
 *   roster:  the region is the policy's; the members are exactly the policy's organisations,
 *            each with the OIN the policy gives (so a key under another organisation's name, a
 *            missing member or a sybil member is refused even when its certificate is valid);
 *   round:   region; n >= min_participants; t >= min_t (and for bonawitz-v1 the colluders
 *            c >= t, checked by spec.h); rho <= max_rho_per_round; the series is declared;
 *            the series budget the round states is the one this ledger saw first for that
 *            series; own spend in the series + rho <= the policy's series budget; own spend on
 *            overlapping periods of the series + rho <= max_rho_per_period.
 * Spend is the organisation's own record (ledger.h), never the round's "series_spent".
 *
 * Invariants: functions return 0 or -1 with the reason in mp_error_get(); a loaded policy is
 * valid (ids, OINs, decimal budgets > 0, min_participants >= 3).
 */
#ifndef MP_POLICY_H
#define MP_POLICY_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "cert.h"
#include "error.h"
#include "roster.h"
#include "spec.h"

#define MP_POLICY_MAX_SERIES 64

typedef struct mp_policy_org {
    const char *id, *oin;
} mp_policy_org;

typedef struct mp_policy_series {
    const char *id, *budget_text;
    double budget;
} mp_policy_series;

typedef struct mp_policy {
    const char *org, *region;
    char *ca_file, *crl_file; /* resolved against the policy's directory; crl_file may be NULL */
    size_t norgs;
    mp_policy_org orgs[MP_MAX_ORGS];
    long long min_participants, min_t;
    const char *max_rho_round_text, *max_rho_period_text;
    double max_rho_round, max_rho_period;
    size_t nseries;
    mp_policy_series series[MP_POLICY_MAX_SERIES];
    cJSON *json; /* owned; strings point into it */
} mp_policy;

/* What the organisation's own ledger says about the round's series (ledger.h). */
typedef struct mp_policy_usage {
    double series_spent;         /* rho spent in the round's series */
    double period_spent;         /* of it, on data periods overlapping the round's */
    const char *series_rho_seen; /* the series budget first seen for it; NULL when new */
} mp_policy_usage;

MP_WUR int mp_policy_load(mp_policy **out, const char *path);
void mp_policy_free(mp_policy *p);

/* 0 when `body` is a valid policy (the checks of mp_policy_load). */
MP_WUR int mp_policy_validate(const cJSON *body);

/* Validate a policy body and write it to `path` (exclusively: an existing file is never
 * replaced; mode 0644). */
MP_WUR int mp_policy_write(const char *path, const cJSON *body);

/* The policy's view of a roster (see the checks above). */
MP_WUR int mp_policy_check_roster(const mp_policy *p, const mp_roster *r);

/* The policy's view of a round, with the organisation's own spend. */
MP_WUR int mp_policy_check_round(const mp_policy *p, const mp_spec *s, const mp_policy_usage *u);

/* What the data officer agrees to by taking part: region, period, participants by name (from
 * their certificates), n, T, t, c, rho this round, spent and left in the series (JSON). */
MP_WUR int mp_policy_agreement(cJSON **out, const mp_policy *p, const mp_roster *r,
                               const mp_spec *s, const mp_policy_usage *u);

/* The series entry of the policy, NULL when undeclared. */
const mp_policy_series *mp_policy_series_get(const mp_policy *p, const char *id);

#endif
