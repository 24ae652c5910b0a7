/*
 * bsn.h - burgerservicenummer syntax and the elfproef.
 *
 * A BSN is 9 digits d1..d9 with 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 = 0 (mod 11), not all zero.
 * Excel drops a leading zero, so 8 digits are read as 0 followed by them.
 *
 * This module only classifies; it never stores or prints a BSN. Pseudonymisation lives in
 * pseudonym.h.
 */
#ifndef MP_BSN_H
#define MP_BSN_H

#include <stddef.h>

enum mp_bsn_status {
    MP_BSN_OK = 0,
    MP_BSN_FORMAT = -1,  /* not 8 or 9 digits (after trimming spaces) */
    MP_BSN_ELFPROEF = -2 /* right length, fails the 11-test */
};

/* Normalise `in` (len bytes, not NUL-terminated) to 9 digits in out[0..8] plus NUL, and check
 * it. On failure `out` is wiped. */
enum mp_bsn_status mp_bsn_normalise(char out[10], const char *in, size_t len);

/* 1 when the 9 digits pass the elfproef and are not all zero. */
int mp_bsn_elfproef(const char digits[9]);

#endif
