/*
 * masking.h - one interface for what differs between the masking schemes when the aggregator
 * closes and publishes a round: whether a submission may be stored now, how the sum is opened,
 * and what the release adds.
 *
 * The round lifecycle (aggregate.c) calls these and never names a scheme; each scheme provides
 * them here: pairwise-v1 in masking.c (every participant's masks cancel in the plain sum of all
 * submissions), bonawitz-v1 from its phases in saround.h. See roundstore.h for the module
 * boundaries.
 *
 * Invariants: every function returns 0 or -1 with the reason in mp_error_get() and changes
 * nothing on failure; open_sum runs outside any transaction and only reads the store; the
 * others run inside the caller's transaction.
 */
#ifndef MP_MASKING_H
#define MP_MASKING_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "error.h"
#include "roster.h"
#include "spec.h"

typedef struct mp_masking_ops {
    const char *name;        /* as in the round: MP_SCHEME_PAIRWISE or MP_SCHEME_BONAWITZ */
    const char *first_phase; /* rounds.phase of a new round ("" for a scheme without phases) */
    /* Store one of the scheme's own messages (not a submission) in one transaction; *org_id
     * names its sender. NULL: the scheme has none. */
    int (*import)(sqlite3 *db, const mp_envelope *env, const mp_spec *spec, const mp_roster *roster,
                  char org_id[MP_ORG_ID_MAX + 1]);
    /* May org's submission be stored now (refused with a reason otherwise)? NULL: always. */
    int (*submission_allowed)(sqlite3 *db, const mp_spec *spec, const char *org);
    /* Open the sum of the stored submissions: sum (spec->catalogue->ncells cells) receives
     * the plain sum, *n how many organisations it covers, *used (malloc'd, or NULL) what is
     * recorded with it in rounds.unmasked_by. Refused when the round cannot close yet. */
    int (*open_sum)(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, uint64_t *sum,
                    size_t *n, char **used);
    /* The release's "masking" block; NULL: the release has none. */
    int (*release_masking)(sqlite3 *db, const mp_spec *spec, cJSON **masking);
    /* Write the scheme's extra files of the release bundle into dir; NULL: none. */
    int (*bundle)(sqlite3 *db, const mp_spec *spec, const char *dir);
} mp_masking_ops;

/* The operations of the round's masking scheme. */
const mp_masking_ops *mp_masking_of(const mp_spec *spec);

#endif
