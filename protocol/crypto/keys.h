/*
 * keys.h - an organisation's long-term keys and their files.
 *
 * Each organisation (and the coordinator) has one keystore holding:
 *   - an Ed25519 signing key (every message it sends is signed with it),
 *   - an X25519 agreement key (pairwise masks for secure aggregation),
 *   - a 32-byte PRF key (pseudonymisation of BSNs; never leaves the keystore).
 * The public half (signing and agreement public keys) goes to the coordinator for the roster.
 *
 * Secret key file (mode 0600), in the style of minisign: one comment line, then base64 of
 *
 *   offset size  field
 *   0      4     magic "MPSK"
 *   4      1     format version (1)
 *   5      1     kdf: 0 = none (plaintext, tests only), 1 = Argon2id v1.3 (crypto_pwhash)
 *   6      1     aead: 0 = none, 1 = XChaCha20-Poly1305-IETF
 *   7      1     reserved (0)
 *   8      8     opslimit, little-endian
 *   16     8     memlimit, little-endian
 *   24     16    salt
 *   40     24    nonce
 *   64     n     payload (encrypted with the header bytes 0..63 as associated data when aead=1,
 *                followed by the 16-byte tag)
 *
 *   payload: key id (8) | org id length (1) | org id (40, zero padded) | Ed25519 secret key (64)
 *            | X25519 secret key (32) | PRF key (32) | BLAKE2b-256 checksum of the preceding
 *            bytes (32), which catches corruption of a plaintext file.
 *
 * Public key file: canonical JSON {"mijlpaal_pubkey":1,"org":ID,"key_id":HEX16,
 * "sign_pk":B64,"kx_pk":B64}. The key id is the first 8 bytes of
 * SHA-256("mijlpaal-key-id-v1" || sign_pk || kx_pk).
 *
 * Invariants: an mp_keypair lives in sodium_malloc memory (guarded, locked, wiped on free);
 * every buffer that held a secret or a passphrase-derived key is wiped on every path.
 */
#ifndef MP_KEYS_H
#define MP_KEYS_H

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stddef.h>

#include "error.h"

#define MP_KEY_ID_BYTES 8
#define MP_ORG_ID_MAX 40
#define MP_SIGN_PK_BYTES 32
#define MP_SIGN_SK_BYTES 64
#define MP_KX_PK_BYTES 32
#define MP_KX_SK_BYTES 32
#define MP_PRF_KEY_BYTES 32
#define MP_SIG_BYTES 64

typedef struct mp_pubkey {
    char org[MP_ORG_ID_MAX + 1];
    unsigned char key_id[MP_KEY_ID_BYTES];
    unsigned char sign_pk[MP_SIGN_PK_BYTES];
    unsigned char kx_pk[MP_KX_PK_BYTES];
} mp_pubkey;

typedef struct mp_keypair {
    mp_pubkey pub;
    unsigned char sign_sk[MP_SIGN_SK_BYTES];
    unsigned char kx_sk[MP_KX_SK_BYTES];
    unsigned char prf_key[MP_PRF_KEY_BYTES];
} mp_keypair;

/* Key-derivation strength for an encrypted keystore. */
enum mp_kdf_level { MP_KDF_INTERACTIVE, MP_KDF_MODERATE, MP_KDF_SENSITIVE };

/* 1 when `id` is a valid organisation/region id: [a-z0-9-], 1..40 characters. */
int mp_org_id_valid(const char *id);

/* Fresh keys for organisation `org`. */
MP_WUR int mp_keys_generate(mp_keypair **out, const char *org);

/* Write the secret file (exclusive, 0600) and the public file. passphrase == NULL writes a
 * plaintext keystore (only for tests: the programs require --insecure-plaintext-key). */
MP_WUR int mp_keys_save(const mp_keypair *kp, const char *secret_path, const char *public_path,
                        const char *passphrase, size_t passphrase_len, enum mp_kdf_level level);

/* Load a secret file; passphrase may be NULL for a plaintext keystore. A wrong passphrase and
 * a tampered file give the same error (the AEAD cannot tell them apart). */
MP_WUR int mp_keys_load(mp_keypair **out, const char *secret_path, const char *passphrase,
                        size_t passphrase_len);

/* What the programs call: load a keystore, asking for the passphrase (mp_passphrase_get) when
 * it is encrypted; a plaintext keystore is refused unless allow_plaintext (the programs'
 * --insecure-plaintext-key). */
MP_WUR int mp_keys_open(mp_keypair **out, const char *secret_path, const char *passphrase_file,
                        int allow_plaintext);

/* What keygen in every program does: generate keys for `org`, ask for a passphrase (unless
 * plaintext), and write both files. `kdf` is "interactive", "moderate" (default, NULL) or
 * "sensitive". The new public key is copied to *pub. */
MP_WUR int mp_keys_create(mp_pubkey *pub, const char *org, const char *secret_path,
                          const char *public_path, const char *passphrase_file, int plaintext,
                          const char *kdf);

/* 1 when the secret file is encrypted, 0 when plaintext, -1 when unreadable. */
int mp_keys_is_encrypted(const char *secret_path);

void mp_keys_free(mp_keypair *kp);

/* Public keys as JSON (the body of a public key file, also embedded in the roster). */
MP_WUR int mp_pubkey_to_json(const mp_pubkey *pk, cJSON **out);
MP_WUR int mp_pubkey_from_json(mp_pubkey *pk, const cJSON *obj);
MP_WUR int mp_pubkey_load(mp_pubkey *pk, const char *path);

/* The key id of a pair of public keys. */
void mp_key_id(unsigned char id[MP_KEY_ID_BYTES], const unsigned char sign_pk[MP_SIGN_PK_BYTES],
               const unsigned char kx_pk[MP_KX_PK_BYTES]);

/* Passphrase for a keystore, from (in this order) the file named by `file` (may be NULL), the
 * environment variable MIJLPAAL_PASSPHRASE_FILE (a file whose first line is the passphrase),
 * MIJLPAAL_PASSPHRASE, or a prompt on /dev/tty without echo (asked twice when `confirm`).
 * Returned in sodium_malloc memory; release with mp_passphrase_free(). */
MP_WUR int mp_passphrase_get(char **out, size_t *len, const char *file, int confirm);
void mp_passphrase_free(char *p);

#endif
