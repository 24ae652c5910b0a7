/*
 * spec.h - the round specification, signed by the coordinator.
 *
 * Body of a "round" envelope:
 *   {"mijlpaal_round":1, "round_id":ID, "region":REGION_ID, "roster_sha256":HEX,
 *    "period":{"start":DATE,"end":DATE}, "opened":TIME, "deadline":TIME,
 *    "participants":[ORG_ID...] (sorted, unique), "k_min":N,
 *    "privacy":{"mechanism":"distributed_discrete_gaussian"|"skellam","rho":DEC,"epsilon":DEC,
 *               "delta":"1e-6","series":ID,"series_rho":DEC,"series_spent":DEC,"t":T,
 *               "max_orgs_per_person":M,"share_variance":{"num":N,"den":D}},
 *    "publication":{"rounding":R},
 *    "masking":{"scheme":"pairwise-v1"} | {"scheme":"bonawitz-v1","threshold":T,"colluders":C},
 *    "catalogue":{...}}
 *
 * The privacy block states the release's budget rho (zCDP), the series it belongs to with the
 * series' total budget and what earlier rounds of the series already spent, the number t of
 * participants that may collude or drop out, how many organisations one person may be counted
 * by, and the variance N/D of every participant's discrete Gaussian share, calibrated by the
 * coordinator (privacy.h). Every reader re-checks that N/D meets rho for the catalogue's
 * sensitivity with n - t honest shares, and that series_spent + rho <= series_rho. Budgets are
 * decimal strings (no floating point on the path to the sampler: N/D is exact).
 *
 * Invariants after mp_spec_load():
 *   1. The envelope verifies under the roster's coordinator key, and roster_sha256 is the hash
 *      of exactly that roster.
 *   2. Participants are distinct roster organisations, at least k_min of them, and k_min >= 3
 *      (below 3, one participant could subtract its own figures from a total of two and learn
 *      the other's).
 *   3. The catalogue is valid (catalogue.h) and period.start <= period.end, opened < deadline.
 *   4. With masking scheme bonawitz-v1 (secagg.h), the threshold T protects someone against an
 *      aggregator with C >= t colluding participants: 2T > n + C (no two groups that share
 *      only the C colluders can each reach T, so one consistent list of survivors is all an
 *      aggregator can get confirmed), T > C (the colluders cannot unmask alone), T >= k_min,
 *      T <= n, and T >= n - t (the noise, calibrated for n - t honest shares, still covers
 *      every dropout the threshold allows).
 */
#ifndef MP_SPEC_H
#define MP_SPEC_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "catalogue.h"
#include "envelope.h"
#include "error.h"
#include "roster.h"

#define MP_ROUND_ID_MAX 64
#define MP_K_MIN_FLOOR 3
#define MP_SCHEME_PAIRWISE "pairwise-v1"
#define MP_SCHEME_BONAWITZ "bonawitz-v1"

enum mp_masking { MP_MASKING_PAIRWISE = 0, MP_MASKING_BONAWITZ = 1 };

/* The one place masking scheme names are read and written: "pairwise-v1", "bonawitz-v1". */
const char *mp_masking_name(enum mp_masking m);
MP_WUR int mp_masking_parse(enum mp_masking *out, const char *name); /* refused when unknown */

typedef struct mp_spec {
    const char *round_id, *region;
    unsigned char roster_hash[MP_HASH_BYTES];
    int32_t period_start, period_end;
    int64_t opened, deadline;
    size_t nparticipants;
    const char *participants[MP_MAX_ORGS];
    long long k_min;
    struct {
        const char *rho_text, *epsilon_text, *series, *series_rho_text, *series_spent_text;
        double rho, epsilon, series_rho, series_spent;
        long long t, max_orgs;
        int mechanism;                 /* enum mp_mechanism */
        uint64_t share_num, share_den; /* share variance, exact */
    } privacy;
    long long rounding;  /* publish multiples of this */
    int masking;         /* enum mp_masking */
    long long threshold; /* bonawitz-v1: participants needed to unmask; pairwise-v1: all */
    long long colluders; /* bonawitz-v1: colluding participants the threshold resists (>= t) */
    mp_catalogue *catalogue;
    mp_envelope *env; /* owned */
} mp_spec;

/* Parameters for building a new round specification. */
typedef struct mp_spec_params {
    const char *round_id;
    const char *period_start, *period_end; /* YYYY-MM-DD */
    const char *deadline;                  /* YYYY-MM-DDTHH:MM:SSZ */
    const char *mechanism;                 /* NULL = distributed_discrete_gaussian */
    const char *rho, *series, *series_rho; /* decimal budgets, series id */
    double series_spent;                   /* what earlier rounds of the series spent */
    long long t, max_orgs, rounding;
    long long k_min;
    const char *masking;             /* NULL = pairwise-v1 */
    long long threshold;             /* bonawitz-v1; 0 = the default mp_spec_default_threshold() */
    long long colluders;             /* bonawitz-v1; 0 = t */
    const char *const *participants; /* NULL = every organisation of the roster */
    size_t nparticipants;
} mp_spec_params;

/* Build a round body; validates everything mp_spec_load would. */
MP_WUR int mp_spec_build(cJSON **body, const mp_spec_params *p, const mp_roster *roster,
                         const cJSON *catalogue);

MP_WUR int mp_spec_load(mp_spec **out, const char *path, const mp_roster *roster);
MP_WUR int mp_spec_from_envelope(mp_spec **out, mp_envelope *env, const mp_roster *roster);
void mp_spec_free(mp_spec *s);

/* The threshold a bonawitz-v1 round gets when none is asked for: the smallest that meets
 * invariant 4, max(k_min, floor((n + c)/2) + 1, n - t, c + 1). */
long long mp_spec_default_threshold(size_t n, long long k_min, long long t, long long c);

/* "pairwise-v1" or "bonawitz-v1". */
const char *mp_spec_scheme_name(const mp_spec *s);

/* Index of an organisation among the participants, -1 when it is not one. */
int mp_spec_participant(const mp_spec *s, const char *org);

/* The variance of one participant's noise share, as signed in the round. */
void mp_spec_share_variance(const mp_spec *s, uint64_t *num, uint64_t *den);

/* Standard deviation of the noise in a sum of `n` shares: sqrt(n * num / den). Only exact
 * IEEE operations (multiply, divide, sqrt), so every machine gets the same digits. */
double mp_spec_noise_sd(const mp_spec *s, size_t n);

#endif
