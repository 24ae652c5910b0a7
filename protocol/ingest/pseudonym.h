/*
 * pseudonym.h - the keyed pseudonym of a BSN, inside the contributor only.
 *
 * pseudonym = SipHash-2-4-128(k, the 9 BSN digits), with the 16-byte SipHash key
 * k = BLAKE2b-128(key = the organisation's 32-byte PRF key, message = "mijlpaal-pseudonym-v2").
 *
 * Why SipHash: it is a PRF designed for short inputs (Aumasson and Bernstein 2012); one
 * pseudonym costs about 20 ns, against about 300 ns for keyed BLAKE2b, whose key block makes
 * every short message two compressions. At a million rows that is the difference between the
 * hash being a rounding error and being most of the ingest (docs/decisions.md I1). Without k a
 * pseudonym cannot be computed, so the ~10^9 valid BSNs cannot be enumerated against it; a
 * plain hash of a BSN would be no pseudonym at all. 128 bits make a collision between two
 * persons negligible (below 2^-88 for a million persons).
 *
 * Invariants:
 *   1. Pseudonyms never leave the contributor's memory (not in the ledger, a file or a log);
 *      they only decide which rows belong to one person.
 *   2. The derived key lives in the context and is wiped by mp_pseudonym_wipe().
 */
#ifndef MP_PSEUDONYM_H
#define MP_PSEUDONYM_H

#include <stddef.h>

#define MP_PSEUDONYM_BYTES 16

typedef struct mp_pseudonym_ctx {
    unsigned char k[16];
} mp_pseudonym_ctx;

/* Derive the SipHash key from the organisation's PRF key (MP_PRF_KEY_BYTES = 32). */
void mp_pseudonym_init(mp_pseudonym_ctx *ctx, const unsigned char prf_key[32]);

/* The pseudonym of 9 BSN digits (already validated by bsn.h). */
void mp_pseudonym(const mp_pseudonym_ctx *ctx, const char digits[9],
                  unsigned char out[MP_PSEUDONYM_BYTES]);

void mp_pseudonym_wipe(mp_pseudonym_ctx *ctx);

#endif
