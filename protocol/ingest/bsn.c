/*
 * bsn.c - see bsn.h.
 */
#include "bsn.h"

#include <sodium.h>

int mp_bsn_elfproef(const char d[9])
{
    int sum = 0, nonzero = 0;
    for (int i = 0; i < 8; i++) {
        sum += (9 - i) * (d[i] - '0');
        nonzero |= d[i] != '0';
    }
    sum -= d[8] - '0';
    nonzero |= d[8] != '0';
    return nonzero && sum % 11 == 0;
}

enum mp_bsn_status mp_bsn_normalise(char out[10], const char *in, size_t len)
{
    /* The common case in one pass: exactly 9 digits, weights applied while copying (this runs
     * once per row of the export). */
    if (len == 9) {
        int sum = 0, nonzero = 0, ok = 1;
        for (int i = 0; i < 9; i++) {
            unsigned v = (unsigned)(unsigned char)in[i] - '0';
            ok &= v <= 9;
            nonzero |= (int)v;
            sum += (i < 8 ? 9 - i : -1) * (int)v;
            out[i] = in[i];
        }
        out[9] = '\0';
        if (ok) {
            if (nonzero && sum % 11 == 0)
                return MP_BSN_OK;
            sodium_memzero(out, 10);
            return MP_BSN_ELFPROEF;
        }
        /* not all digits: the general path below gives the answer */
    }
    while (len > 0 && (*in == ' ' || *in == '\t')) {
        in++;
        len--;
    }
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (len != 8 && len != 9)
        return MP_BSN_FORMAT;
    size_t pad = 9 - len;
    out[0] = '0';
    for (size_t i = 0; i < len; i++) {
        if (in[i] < '0' || in[i] > '9') {
            sodium_memzero(out, 10);
            return MP_BSN_FORMAT;
        }
        out[pad + i] = in[i];
    }
    out[9] = '\0';
    if (!mp_bsn_elfproef(out)) {
        sodium_memzero(out, 10);
        return MP_BSN_ELFPROEF;
    }
    return MP_BSN_OK;
}
