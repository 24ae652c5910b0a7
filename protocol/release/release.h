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
 *    "cells":[{"name","metric","dimension","band","noisy","value","sd","moe95","lower","upper",
 *              "shown_as","suppressed","unreliable"}...],
 *    "rates":[{"id","title","percent","moe95","lower","upper","suppressed"}...]}
 *
 * "noisy" is the opened regional sum of cell i read as a signed 64-bit integer (counts plus
 * noise); "value" is the published figure after post-processing that costs no privacy
 * (postprocess.h: least squares making breakdowns add up to totals and children stay within
 * their parents, non-negativity, unbiased random rounding to multiples of R with a seed of
 * SHA-256("mijlpaal release rounding v1" || round hash || the "sum" text), so the rounding is
 * reproduced by anyone holding the release). noise_sd = sqrt(n * share variance) over the n
 * included shares: the sd of every noisy cell. The rest is docs/privacy.md, "Accuracy":
 *   "sd"         decimal string, 2 decimals: the sd of the cell's estimate after the
 *                consistency step, before rounding: noise_sd * sqrt(var_factor) (postprocess.h);
 *   "moe95"      integer as a decimal string: floor(1.96 * sqrt(sd^2 + r^2 f(1-f))), the margin
 *                of the published rounded figure including the rounding's variance;
 *   "lower","upper"  integers, the 95% interval, clipped at 0: value -/+ moe95 when shown_as is
 *                "value"; otherwise ceil/floor of the unprojected estimate -/+ 1.96 sd;
 *   "shown_as"   "value" (print the figure, +- moe95), "range" (print "lower tot upper"; no
 *                point), "less_than" (lower is 0; print "minder dan N" with N = upper + 1);
 *   "suppressed" "" for "value", else "small_cell": the small-cell rule, 2 * moe95 > value
 *                (a margin above half the figure);
 *   "unreliable" true exactly when suppressed is not "" (the CSV's "Onbetrouwbaar").
 * Rates: "percent" from the published totals as a decimal string with one decimal, a
 * complement rate being 100 minus the rounded rate so that both add up to 100.0; "lower",
 * "upper" one-decimal strings, Fieller's 95% interval from the two published totals with
 * their variances (sd^2 plus rounding), clipped to [0, 100]; "moe95" its half-width.
 * "suppressed" is "zero_denominator" (published denominator 0) or "small_denominator" (the
 * denominator is not shown as a value by the small-cell rule), and then percent, moe95,
 * lower and upper are "".
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
