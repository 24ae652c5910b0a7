/*
 * cert.h - binding an organisation's mijlpaal keys to its X.509 certificate.
 *
 * The coordinator must not be the authority that says which key belongs to which organisation:
 * otherwise it can enrol a key of its own under another organisation's name, or add members
 * that do not exist. An authority the region names does it instead: in production the
 * PKIoverheid CA that issued each organisation's certificate (the organisation's OIN in the
 * subject's serialNumber), in tests and the demo a throwaway CA (tools/test-ca).
 *
 * The protocol keeps its own Ed25519/X25519 keys (keys.h); the certificate only vouches for
 * them. An organisation's certificate key signs a key-binding statement
 *
 *   "mijlpaal-v1" 0x0A "key-binding" 0x0A canonical({"mijlpaal_key_binding":1,
 *                                                   "key":PUBKEY, "oin":OIN})
 *
 * (PUBKEY as in keys.h: org id, key id, sign_pk, kx_pk), with SHA-256 and the certificate
 * key's own algorithm (ECDSA or RSA PKCS#1 v1.5; Ed25519 certificate keys without a digest).
 * The binding travels in the roster, per organisation:
 *
 *   "binding":{"certificates":[PEM leaf, PEM intermediate...], "cert_sig":B64}
 *
 * A verifier accepts a binding only when (all checked by mp_binding_verify):
 *   1. the leaf chains to a CA certificate of the trust file the verifier was configured with
 *      (never one from the roster), at the time given, every certificate within its validity
 *      period, and, when CRLs are configured, none revoked at or before that time (every
 *      certificate below the trust anchor needs a CRL of its issuer then; a revocation dated
 *      after the time checked does not count, so an auditor can verify a past round with
 *      today's CRL; a CRL whose next update was due before that time is stale and refused);
 *   2. the leaf's subject carries serialNumber = OIN, 20 digits, equal to the roster entry's
 *      "oin", and, when the leaf has a keyUsage extension, digitalSignature is in it;
 *   3. cert_sig verifies under the leaf's public key over the statement above, for exactly
 *      the roster entry's key.
 *
 * Invariants: every function returns 0 or -1 with the reason in mp_error_get() and leaves its
 * outputs unset on failure; reasons name files, organisations and OpenSSL's verification
 * error, never key material.
 */
#ifndef MP_CERT_H
#define MP_CERT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "error.h"
#include "keys.h"

#define MP_OIN_LEN 20
#define MP_CERT_MAX_CHAIN 8
#define MP_CERT_ORG_MAX 128

typedef struct mp_ca mp_ca;

/* Trust anchors from a PEM file of CA certificates (any CRLs in it are loaded too and turn on
 * revocation checking); crl_file, when not NULL, adds CRLs from another PEM file. */
MP_WUR int mp_ca_load(mp_ca **out, const char *ca_file, const char *crl_file);
void mp_ca_free(mp_ca *ca);

/* 1 when `oin` is 20 decimal digits. */
int mp_oin_valid(const char *oin);

/* The binding object for `key`: reads the leaf certificate (and optional chain file of
 * intermediates), checks that cert_key_path holds the leaf's private key, signs the statement.
 * The certificate key file may be encrypted PEM: its passphrase comes from passphrase_file (or
 * OpenSSL's prompt on the terminal). The OIN is taken from the leaf into oin. */
MP_WUR int mp_binding_sign(cJSON **binding, char oin[MP_OIN_LEN + 1], const mp_pubkey *key,
                           const char *cert_path, const char *chain_path, const char *cert_key_path,
                           const char *passphrase_file);

/* Check a binding object for `key` and `oin` (invariants 1-3) at Unix time `at`. The leaf's
 * subject organisation (O=) is copied into org_name when not NULL. */
MP_WUR int mp_binding_verify(const cJSON *binding, const mp_pubkey *key, const char *oin,
                             const mp_ca *ca, int64_t at, char org_name[MP_CERT_ORG_MAX]);

#endif
