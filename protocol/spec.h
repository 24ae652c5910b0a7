/*
 * spec.h - the round specification, signed by the coordinator.
 *
 * Body of a "round" envelope:
 *   {"mijlpaal_round":1, "round_id":ID, "region":REGION_ID, "roster_sha256":HEX,
 *    "period":{"start":DATE,"end":DATE}, "opened":TIME, "deadline":TIME,
 *    "participants":[ORG_ID...] (sorted, unique), "k_min":N,
 *    "noise":{"mechanism":"discrete_gaussian","sigma":DECIMAL},
 *    "masking":{"scheme":"pairwise-v1"}, "catalogue":{...}}
 *
 * `sigma` is the standard deviation of the noise in the regional sum, written as a decimal
 * string with at most 3 decimals (no floating point anywhere on the path to the sampler); every
 * participant adds a discrete Gaussian share of variance sigma^2 / n.
 *
 * Invariants after mp_spec_load():
 *   1. The envelope verifies under the roster's coordinator key, and roster_sha256 is the hash
 *      of exactly that roster.
 *   2. Participants are distinct roster organisations, at least k_min of them, and k_min >= 3
 *      (below 3, one participant could subtract its own figures from a total of two and learn
 *      the other's).
 *   3. The catalogue is valid (catalogue.h) and period.start <= period.end, opened < deadline.
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

typedef struct mp_spec {
    const char *round_id, *region;
    unsigned char roster_hash[MP_HASH_BYTES];
    int32_t period_start, period_end;
    int64_t opened, deadline;
    size_t nparticipants;
    const char *participants[MP_MAX_ORGS];
    long long k_min;
    const char *sigma_text;
    uint64_t sigma_num, sigma_den; /* sigma = num/den exactly */
    mp_catalogue *catalogue;
    mp_envelope *env; /* owned */
} mp_spec;

/* Parameters for building a new round specification. */
typedef struct mp_spec_params {
    const char *round_id;
    const char *period_start, *period_end; /* YYYY-MM-DD */
    const char *deadline;                  /* YYYY-MM-DDTHH:MM:SSZ */
    const char *sigma;                     /* decimal, e.g. "12.5" */
    long long k_min;
    const char *const *participants;       /* NULL = every organisation of the roster */
    size_t nparticipants;
} mp_spec_params;

/* Build a round body; validates everything mp_spec_load would. */
MP_WUR int mp_spec_build(cJSON **body, const mp_spec_params *p, const mp_roster *roster,
                         const cJSON *catalogue);

MP_WUR int mp_spec_load(mp_spec **out, const char *path, const mp_roster *roster);
MP_WUR int mp_spec_from_envelope(mp_spec **out, mp_envelope *env, const mp_roster *roster);
void mp_spec_free(mp_spec *s);

/* Index of an organisation among the participants, -1 when it is not one. */
int mp_spec_participant(const mp_spec *s, const char *org);

/* The variance of one participant's noise share, sigma^2 / n, as a reduced fraction. */
MP_WUR int mp_spec_share_variance(const mp_spec *s, uint64_t *num, uint64_t *den);

/* Parse a decimal like "12.5" (at most 3 decimals, 0 < value < 2^20) into num/den. */
MP_WUR int mp_decimal_parse(const char *text, uint64_t *num, uint64_t *den);

#endif
