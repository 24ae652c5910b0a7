/*
 * submission.h - a contributor's masked count vector, signed.
 *
 * Body of a "submission" envelope:
 *   {"mijlpaal_submission":1, "round_id":ID, "round_sha256":HEX, "org":ORG_ID,
 *    "scheme":"pairwise-v1", "cells":D, "masked":B64(D x uint64 little-endian),
 *    "created":TIME}
 *
 * This is everything that leaves the organisation: no row counts, no ingest summary, no
 * unmasked figure. On its own the masked vector is uniformly random (mask.h).
 *
 * Invariants after mp_submission_check():
 *   1. The signer is the roster organisation named in "org", and a participant of the round.
 *   2. round_id and round_sha256 name exactly the round being checked (no cross-round replay).
 *   3. cells equals the catalogue's vector length and the vector decodes to exactly that.
 */
#ifndef MP_SUBMISSION_H
#define MP_SUBMISSION_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "envelope.h"
#include "error.h"
#include "roster.h"
#include "spec.h"

MP_WUR int mp_submission_build(cJSON **body, const mp_spec *spec, const char *org,
                               const uint64_t *masked, size_t d);

/* Check a parsed submission against the round; on success *org is the roster organisation and
 * masked[] (spec->catalogue->ncells entries) holds the vector. */
MP_WUR int mp_submission_check(const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                               const mp_org **org, uint64_t *masked);

#endif
