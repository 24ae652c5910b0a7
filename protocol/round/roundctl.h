/*
 * roundctl.h - the coordinator's round management documents: a deadline extension and a
 * cancellation, both signed by the coordinator key and bound to one round specification.
 *
 *   "round-extend" body: {"version":1, "round_id":ID, "round_sha256":HEX,
 *                         "previous_deadline":T, "deadline":T, "extended_at":T}
 *   "round-cancel" body: {"version":1, "round_id":ID, "round_sha256":HEX, "reason":TEXT,
 *                         "cancelled_at":T,
 *                         "submissions":[{"org":ORG,"submission_sha256":HEX}...]}
 *
 * (T: YYYY-MM-DDTHH:MM:SSZ.) "submissions" lists what the coordinator's store held when it
 * cancelled, sorted by org: those organisations stay charged for the round (decisions R1-R3).
 *
 * Invariants:
 *   1. A document is accepted only when its signature verifies against the trusted coordinator
 *      key, its round_id and round_sha256 are those of the verified specification, its version
 *      is 1 and it has no other members.
 *   2. An extension only moves the deadline later: deadline > previous_deadline, and
 *      previous_deadline >= the specification's own deadline (extensions chain).
 *   3. A reason is 1..200 printable characters (UTF-8 allowed, no control characters): it is
 *      shown to every data officer and auditor, so it must never carry a figure of one
 *      organisation (the coordinator has none).
 */
#ifndef MP_ROUNDCTL_H
#define MP_ROUNDCTL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "error.h"
#include "keys.h"
#include "spec.h"

#define MP_ROUNDCTL_VERSION 1
#define MP_ROUNDCTL_REASON_MAX 200
#define MP_ROUNDCTL_EXTEND_TYPE "round-extend"
#define MP_ROUNDCTL_CANCEL_TYPE "round-cancel"

/* The body of an extension from `previous` (the deadline in force) to `deadline`. */
MP_WUR int mp_roundctl_extend_body(cJSON **out, const mp_spec *spec, int64_t previous,
                                   int64_t deadline, int64_t now);

/* The body of a cancellation; orgs[i] submitted hashes[i] (hex), n of them. */
MP_WUR int mp_roundctl_cancel_body(cJSON **out, const mp_spec *spec, const char *reason,
                                   const char *const *orgs, const char *const *hashes, size_t n,
                                   int64_t now);

/* 0 when `reason` is acceptable (invariant 3). */
MP_WUR int mp_roundctl_reason_check(const char *reason);

/* Check an extension of the verified spec (invariants 1, 2); *deadline receives the new one and
 * *previous the one it replaced. `trusted` NULL: the signature is not checked (the store
 * re-reads documents it verified when storing them). */
MP_WUR int mp_roundctl_extend_check(const mp_envelope *env, const mp_spec *spec,
                                    const mp_pubkey *trusted, int64_t *previous, int64_t *deadline);

typedef struct mp_roundctl_cancel {
    char round_id[65];
    char reason[MP_ROUNDCTL_REASON_MAX * 4 + 1];
    char cancelled_at[21];
    size_t nsubmissions;
} mp_roundctl_cancel;

/* Check a cancellation of the verified spec (invariant 1); *out filled. When `org` is not NULL,
 * *listed receives 1 if the cancellation lists a submission of that organisation. */
MP_WUR int mp_roundctl_cancel_check(const mp_envelope *env, const mp_spec *spec,
                                    const mp_pubkey *trusted, const char *org,
                                    mp_roundctl_cancel *out, int *listed);

#endif
