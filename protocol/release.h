/*
 * release.h - the signed regional release and its renderings.
 *
 * Body of a "release" envelope:
 *   {"mijlpaal_release":1, "round_id":ID, "round_sha256":HEX, "roster_sha256":HEX,
 *    "region":REGION_ID, "period":{"start","end"}, "published":TIME,
 *    "included":[{"org":ID,"submission_sha256":HEX}...] (sorted by org),
 *    ["masking":{"scheme":"bonawitz-v1","threshold":T,"advertised":[ORG...],
 *                "survivors_sha256":HEX,"unmask_request_sha256":HEX,"unmasked_by":[ORG...]}]
 *    "privacy":{"mechanism","rho","epsilon","delta","series","series_rho",
 *               "series_spent_before","t","max_orgs_per_person","cells_per_person",
 *               "sensitivity_l1","sensitivity_l2_squared","noise_sd"},
 *    "rounding":R, "sum":B64(D x uint64 LE),
 *    "cells":[{"name","metric","dimension","band","noisy","value","sd","moe95","unreliable"}...],
 *    "rates":[{"id","title","percent","moe95"}...]}
 *
 * "noisy" is the opened regional sum of cell i read as a signed 64-bit integer (counts plus
 * noise); "value" is the published figure after post-processing that costs no privacy
 * (postprocess.h: breakdowns made consistent with totals by least squares, non-negative,
 * rounded to multiples of R). noise_sd is the standard deviation of the noise in every noisy
 * cell (sqrt(n * share variance) over the n included shares), repeated per cell as "sd" so
 * that every cell carries its own accuracy; moe95 = 1.96 * noise_sd rounded,
 * "unreliable" when the printed moe95 exceeds the value. Rates are derived from published
 * totals, as a decimal string with one decimal ("" when the denominator is 0), with a 95%
 * margin in percentage points by the delta method; a complement rate is 100 minus the rounded
 * rate, so that a rate and its complement always add up to 100.0.
 *
 * The "masking" block is present for bonawitz-v1 rounds only (saround.h): who advertised keys,
 * the survivors list and unmask request that opened the sum, and the T organisations whose
 * shares did. With pairwise-v1 every participant is included and nothing more is needed.
 *
 * The release is a pure function of the round, the included submissions, the masking block,
 * the sum and the publication time: an auditor rebuilds it from those and compares canonical
 * bytes.
 */
#ifndef MP_RELEASE_H
#define MP_RELEASE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"

typedef struct mp_included {
    const char *org;
    unsigned char submission_hash[MP_HASH_BYTES];
} mp_included;

MP_WUR int mp_release_build(cJSON **body, const mp_spec *spec, const mp_included *inc, size_t n,
                            const uint64_t *sum, const char *published, const cJSON *masking);

/* The rendering for Excel: CSV (';', UTF-8 BOM, CRLF). The Dutch report for raadsleden is
 * report.h. */
MP_WUR int mp_release_csv(char **out, size_t *len, const cJSON *release, const mp_spec *spec);

#endif
