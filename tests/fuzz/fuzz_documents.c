/*
 * fuzz_documents.c - libFuzzer target for every JSON document parser (not built by default;
 * `make fuzz` builds and runs it).
 *
 * One input is tried as: canonical JSON (parse, serialise, parse again: the second
 * serialisation must equal the first, i.e. canonical form is a fixed point), a signed envelope
 * of any type (and as a roster: draft or agreed, with its nested draft and co-signatures), a
 * metric catalogue and a contributor policy. Nothing may crash, leak or trip a sanitizer, and a
 * parser either succeeds or leaves an error message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "catalogue.h"
#include "envelope.h"
#include "policy.h"
#include "roster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = NULL, *k = NULL;
    char *a = NULL, *b = NULL;
    size_t alen, blen;
    mp_envelope *env = NULL;
    mp_catalogue *cat = NULL;

    mp_error_clear();
    if (mp_canon_parse(&j, (const char *)data, size) == 0) {
        if (mp_canon_serialise(&a, &alen, j) != 0)
            abort(); /* whatever parses must serialise */
        if (mp_canon_parse(&k, a, alen) != 0 || mp_canon_serialise(&b, &blen, k) != 0)
            abort();
        if (alen != blen || memcmp(a, b, alen) != 0)
            abort(); /* canonical form must be a fixed point */
        if (mp_catalogue_parse(&cat, j) == 0)
            mp_catalogue_free(cat);
        else if (mp_error_get()[0] == '\0')
            abort();
        mp_error_clear();
        if (mp_policy_validate(j) != 0 && mp_error_get()[0] == '\0')
            abort();
    } else if (mp_error_get()[0] == '\0') {
        abort();
    }
    if (mp_envelope_parse(&env, (const char *)data, size, NULL) == 0) {
        mp_roster *r = NULL;
        /* Without a trusted key: the structure, the nested draft and the co-signatures. */
        if (mp_roster_from_envelope(&r, env, NULL) == 0)
            mp_roster_free(r); /* owns env now */
        else
            mp_envelope_free(env);
    }
    free(a);
    free(b);
    cJSON_Delete(j);
    cJSON_Delete(k);
    return 0;
}
