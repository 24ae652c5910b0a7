/*
 * saround.h - the aggregator's side of a bonawitz-v1 round: its phases in the store.
 *
 *   ADVERTISE -advance-> SHARE -advance-> SUBMIT -advance-> CONFIRM -advance-> UNMASK -(T)-> closed
 *   (advertise msgs)     (share msgs)     (submissions)    (consistency)      (unmask msgs)
 *
 * rounds.phase holds the phase while the round is open. Messages are checked with secagg.h
 * and stored in sa_messages (kind, org); what the aggregator signs for everyone (the keys
 * message, the survivors list, the unmask request) is stored in sa_outgoing. The per-recipient
 * shares messages are not stored: they are a deterministic function of the stored keys and
 * share messages (Ed25519 signatures are deterministic), written again byte for byte by
 * mp_sa_outbox.
 *
 * Invariants:
 *   1. Each import and each advance is one transaction; a refused one leaves the store as it
 *      was. Every stored message was accepted by its secagg check against the stored round.
 *   2. A message is accepted only in its phase: advertisements while advertising (before the
 *      deadline); share messages made for the stored keys message from members of U1;
 *      submissions (from members of U2 only, before the deadline) while submitting;
 *      confirmations of the stored survivors list from its survivors; unmask messages
 *      answering the stored request from survivors.
 *   3. U1 is the set of stored advertisements, U2 of stored share messages and U3 of stored
 *      submissions when their phase ends; an advance needs at least T of them (and U3 at least
 *      k_min), so nothing is signed that the contributors would refuse.
 *   4. The sum is opened only from the stored survivors list, the stored submissions of exactly
 *      its survivors, and T stored unmask messages: the first T in position order, or, when
 *      those fail (false or inconsistent shares) and more are in, the first T without the one
 *      whose leaving out makes every secret rebuild and check. The T used are recorded with
 *      the sum (rounds.unmasked_by) and named in the release.
 */
#ifndef MP_SAROUND_H
#define MP_SAROUND_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

#include "envelope.h"
#include "error.h"
#include "keys.h"
#include "phase.h"
#include "roster.h"
#include "spec.h"

typedef struct mp_sa_status {
    char phase[16]; /* "advertise", "share", "submit", "confirm", "unmask", "" when closed */
    size_t expected, delivered;
    const char *missing[MP_MAX_ORGS]; /* point into the spec */
    size_t nmissing;
    size_t advertised, shared, submitted, confirmed, unmasked; /* per phase so far */
} mp_sa_status;

/* The phase of an open bonawitz-v1 round ("" for other rounds and closed ones). */
MP_WUR int mp_sa_phase(sqlite3 *db, const char *round_id, char phase[16]);

/* Store an advertise, share, consistency or unmask message (one transaction). */
MP_WUR int mp_sa_import(sqlite3 *db, const mp_envelope *env, const mp_spec *spec,
                        const mp_roster *roster, char org_id[MP_ORG_ID_MAX + 1]);

/* Inside the caller's transaction: may this organisation's submission be stored now? */
MP_WUR int mp_sa_submission_allowed(sqlite3 *db, const mp_spec *spec, const char *org);

/* End the current phase (invariant 3), sign and store what the next phase needs. */
MP_WUR int mp_sa_advance(sqlite3 *db, const mp_spec *spec, const mp_roster *roster,
                         const mp_keypair *coordinator, char new_phase[16]);

/* Write the current phase's outgoing messages into dir (keys.json, shares-ORG.json per member
 * of U2, survivors.json, or unmask-request.json); *nfiles receives how many. */
MP_WUR int mp_sa_outbox(sqlite3 *db, const mp_spec *spec, const mp_roster *roster,
                        const mp_keypair *coordinator, const char *dir, size_t *nfiles);

MP_WUR int mp_sa_status_get(sqlite3 *db, const mp_spec *spec, mp_sa_status *st);

/* 1 when the round is in the unmask phase with at least T unmask messages, 0 if not. */
int mp_sa_can_close(sqlite3 *db, const mp_spec *spec);

/* Open the sum (invariant 4); *n receives |U3| and *used (malloc'd) the organisations whose
 * unmask messages opened it, space-separated, to be stored with the sum. */
MP_WUR int mp_sa_open_sum(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, uint64_t *sum,
                          size_t *n, char **used);

/* The release's "masking" block: scheme, threshold, shared (U2), survivors_sha256,
 * unmask_request_sha256, unmasked_by (the T organisations whose shares opened the sum). */
MP_WUR int mp_sa_release_masking(sqlite3 *db, const mp_spec *spec, cJSON **masking);

/* Write survivors.json, unmask-request.json and unmask/ORG.json (the messages the release's
 * masking block names) into dir. */
MP_WUR int mp_sa_bundle(sqlite3 *db, const mp_spec *spec, const char *dir);

#endif
