/*
 * forge - the coordinator as an attacker: sign any JSON body as any envelope type with a
 * keystore. The real aggregator refuses to write many of the documents an attacking
 * coordinator would want (a roster without a member's co-signature, a round below the
 * colluder bound); tools/demo-attacks and the end-to-end tests make them with this, so that
 * the contributors' and the auditor's refusals are tested against documents that are signed
 * exactly as a lying coordinator would sign them. Not installed.
 *
 *   forge TYPE SECRET_KEY BODY.json OUT     sign BODY.json as TYPE into OUT
 *
 * The key may be a plaintext keystore only (it is a test tool).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "canon.h"
#include "envelope.h"
#include "fileio.h"
#include "keys.h"

int main(int argc, char **argv)
{
    mp_keypair *kp;
    unsigned char *text;
    size_t len, olen;
    cJSON *body;
    char *out;
    if (argc != 5) {
        fprintf(stderr, "usage: forge TYPE SECRET_KEY BODY.json OUT\n");
        return 2;
    }
    if (sodium_init() < 0 || mp_keys_load(&kp, argv[2], NULL, 0) != 0 ||
        mp_file_read(argv[3], 64u * 1024 * 1024, &text, &len) != 0 ||
        mp_canon_parse(&body, (const char *)text, len) != 0 ||
        mp_envelope_sign(&out, &olen, argv[1], body, kp) != 0 ||
        mp_file_write_atomic(argv[4], out, olen, 0644) != 0) {
        fprintf(stderr, "forge: %s\n", mp_error_get());
        return 1;
    }
    free(out);
    free(text);
    cJSON_Delete(body);
    mp_keys_free(kp);
    return 0;
}
