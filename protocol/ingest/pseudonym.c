/*
 * pseudonym.c - see pseudonym.h.
 */
#include "pseudonym.h"

#include <sodium.h>

void mp_pseudonym_init(mp_pseudonym_ctx *ctx, const unsigned char prf_key[32])
{
    static const char tag[] = "mijlpaal-pseudonym-v2";
    crypto_generichash(ctx->k, sizeof ctx->k, (const unsigned char *)tag, sizeof tag - 1, prf_key,
                       32);
}

void mp_pseudonym(const mp_pseudonym_ctx *ctx, const char digits[9],
                  unsigned char out[MP_PSEUDONYM_BYTES])
{
    crypto_shorthash_siphashx24(out, (const unsigned char *)digits, 9, ctx->k);
}

void mp_pseudonym_wipe(mp_pseudonym_ctx *ctx)
{
    sodium_memzero(ctx, sizeof *ctx);
}
