/*
 * masking.c - the masking schemes behind one interface (see masking.h): pairwise-v1's opening
 * here, bonawitz-v1's from saround.h.
 */
#include "masking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "mask.h"
#include "saround.h"
#include "store.h"
#include "submission.h"

/* ---- pairwise-v1: every participant's masks cancel in the sum of all submissions ------------ */

static int pairwise_open(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, uint64_t *sum,
                         size_t *n, char **used)
{
    sqlite3_stmt *st = NULL;
    const char *missing[MP_MAX_ORGS];
    size_t nmissing = 0, nsub = 0, d = spec->catalogue->ncells;
    uint64_t *acc = calloc(d ? d : 1, sizeof *acc), *vec = calloc(d ? d : 1, sizeof *vec);
    int rc = -1;

    *used = NULL;
    if (acc == NULL || vec == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    if (mp_store_prepare(db, &st, "SELECT 1 FROM submissions WHERE round_id = ? AND org = ?"))
        goto out;
    for (size_t i = 0; i < spec->nparticipants; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, spec->participants[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
            missing[nmissing++] = spec->participants[i];
    }
    sqlite3_finalize(st);
    st = NULL;
    if (nmissing > 0) {
        char list[512] = "";
        for (size_t i = 0; i < nmissing; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     missing[i]);
        mp_error_set("round %s cannot be closed: %zu of %zu participants have not submitted "
                     "(%s); with masking scheme %s every participant is needed to cancel the "
                     "masks",
                     spec->round_id, nmissing, spec->nparticipants, list, MP_SCHEME_PAIRWISE);
        goto out;
    }
    if ((long long)spec->nparticipants < spec->k_min) {
        mp_error_set("round %s: %zu submissions, fewer than k_min %lld", spec->round_id,
                     spec->nparticipants, spec->k_min);
        goto out;
    }
    if (mp_store_prepare(db, &st, "SELECT submission FROM submissions WHERE round_id = ?"))
        goto out;
    sqlite3_bind_text(st, 1, spec->round_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        mp_envelope *env;
        const mp_org *org;
        /* Re-check what was stored: the sum must rest on verified submissions only. */
        if (mp_envelope_parse(&env, (const char *)sqlite3_column_text(st, 0),
                              (size_t)sqlite3_column_bytes(st, 0), "submission") != 0)
            goto out;
        if (mp_submission_check(env, spec, roster, &org, vec) != 0) {
            mp_envelope_free(env);
            goto out;
        }
        mp_envelope_free(env);
        mp_vec_add(acc, vec, d);
        nsub++;
    }
    if (nsub != spec->nparticipants) {
        mp_error_set("store changed while closing; try again");
        goto out;
    }
    memcpy(sum, acc, d * sizeof *sum);
    *n = nsub;
    rc = 0;
out:
    sqlite3_finalize(st);
    free(acc);
    free(vec);
    return rc;
}

/* ---- bonawitz-v1: from its phases (saround.h) --------------------------------------------- */

static int bonawitz_open(sqlite3 *db, const mp_spec *spec, const mp_roster *roster, uint64_t *sum,
                         size_t *n, char **used)
{
    char phase[16];
    *used = NULL;
    if (mp_sa_phase(db, spec->round_id, phase) != 0)
        return -1;
    if (strcmp(phase, "unmask") != 0)
        return mp_error_set("round %s is in its %s phase; it closes once %lld unmask messages are "
                            "in (end each phase with: round advance)",
                            spec->round_id, phase, spec->threshold);
    return mp_sa_open_sum(db, spec, roster, sum, n, used);
}

static const mp_masking_ops pairwise = {MP_SCHEME_PAIRWISE, "",   NULL, NULL,
                                        pairwise_open,      NULL, NULL};
static const mp_masking_ops bonawitz = {
    MP_SCHEME_BONAWITZ, "advertise",           mp_sa_import, mp_sa_submission_allowed,
    bonawitz_open,      mp_sa_release_masking, mp_sa_bundle};

const mp_masking_ops *mp_masking_of(const mp_spec *spec)
{
    return spec->masking == MP_MASKING_BONAWITZ ? &bonawitz : &pairwise;
}
