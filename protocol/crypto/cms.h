/*
 * cms.h - a detached CMS signature of a release, verifiable with the openssl command line.
 *
 * A raadslid's auditor or a journalist should be able to check a release without building
 * mijlpaal:
 *
 *   openssl cms -verify -binary -inform DER -in release.json.p7s -content release.json \
 *       -CAfile ca.pem -out /dev/null
 *
 * The signature is CMS SignedData (RFC 5652), DER, detached (the content is not inside), over
 * the exact bytes of the file (CMS_BINARY: no MIME canonicalisation of line ends), made with
 * OpenSSL 3's CMS_sign by an ECDSA P-256 key whose X.509 certificate is issued under the
 * region's CA (OpenSSL 3.0 cannot make Ed25519 CMS signatures, hence a second key next to the
 * coordinator's Ed25519 key). The signer's certificate and the chain given travel inside the
 * SignedData; chain.pem repeats them (signer first) for people who want to read them.
 *
 * Invariants: the key file is read as a secret (mode 0600, no symlink) and wiped; the outputs
 * are written atomically, the signature only after it verifies against the certificate.
 */
#ifndef MP_CMS_H
#define MP_CMS_H

#include "error.h"

/* Sign `content_path`; write the DER signature to `out_p7s` and the certificates (signer, then
 * chain_pem's) as PEM to `out_chain`. chain_pem may be NULL. The key must be ECDSA P-256 and
 * belong to the certificate. */
MP_WUR int mp_cms_sign_file(const char *content_path, const char *cert_pem, const char *key_pem,
                            const char *chain_pem, const char *out_p7s, const char *out_chain);

/* Verify a detached DER signature of `content_path` against the CA certificates in ca_pem
 * (the same check as the openssl command above). */
MP_WUR int mp_cms_verify_file(const char *content_path, const char *p7s, const char *ca_pem);

#endif
