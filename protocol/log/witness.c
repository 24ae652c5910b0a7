/*
 * witness.c - cosigning the region's log after checking it extends what was seen (witness.h).
 */
#include "witness.h"

#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "tlog_dir.h"

int mp_witness_cosign(const char *dir, const mp_pubkey *coordinator, const mp_keypair *kp,
                      const char *last, uint64_t now, char **cosigned, uint64_t *size,
                      char **latest)
{
    mp_tlogdir *d = NULL;
    mp_note_key log_key, me;
    mp_checkpoint old = {0};
    char *line = NULL, *text = NULL;
    int rc = -1;
    if (latest != NULL)
        *latest = NULL;
    if (mp_tlogdir_load(&d, dir, 0) != 0)
        return mp_error_prefix("log %s: ", dir);
    if (d->note == NULL) {
        mp_error_set("log %s is empty: the coordinator logs a round when it opens it", dir);
        goto done;
    }
    if (latest != NULL && (*latest = strdup(d->note->text)) == NULL) {
        mp_error_system("out of memory");
        goto done;
    }
    /* The coordinator signed it (and nobody unknown: strict). */
    if (mp_note_key_make(&log_key, d->cp.origin, MP_NOTE_TYPE_ED25519, coordinator->sign_pk) != 0 ||
        mp_note_key_make(&me, kp->pub.org, MP_NOTE_TYPE_COSIG, kp->pub.sign_pk) != 0)
        goto done;
    if (mp_note_verify(d->note, &log_key, 1, 0, NULL) != 0) {
        mp_error_prefix("log %s: the latest checkpoint is not signed by the coordinator: ", dir);
        goto done;
    }
    /* It extends what this organisation cosigned before. */
    if (last != NULL) {
        if (mp_checkpoint_parse(&old, last, strlen(last)) != 0) {
            mp_error_prefix("the checkpoint cosigned before (ledger): ");
            goto done;
        }
        if (mp_tlogdir_extends(d, &old) != 0) {
            mp_error_prefix("FORK: the log %s does not extend the checkpoint this organisation "
                            "cosigned before (size %llu): the coordinator may be showing "
                            "organisations different histories; refusing to take part. ",
                            dir, (unsigned long long)old.size);
            goto done;
        }
    }
    /* Cosign it. */
    if (mp_tlogdir_cosign(d, kp->pub.org, kp->sign_sk, now, &line) != 0 ||
        mp_tlogdir_add_cosignature(dir, d->cp.size, line, &me) != 0)
        goto done;
    if ((text = strdup(d->note->text)) == NULL) {
        mp_error_system("out of memory");
        goto done;
    }
    *cosigned = text;
    *size = d->cp.size;
    rc = 0;
done:
    free(line);
    mp_checkpoint_clear(&old);
    mp_tlogdir_free(d);
    return rc;
}
