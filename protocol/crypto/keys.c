/*
 * keys.c - keystore files and passphrases (format and invariants in keys.h).
 */
#include "keys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "canon.h"
#include "encoding.h"
#include "fileio.h"

#define SK_MAGIC "MPSK"
#define SK_HEADER 64
#define SK_PAYLOAD                                                                                 \
    (MP_KEY_ID_BYTES + 1 + MP_ORG_ID_MAX + MP_SIGN_SK_BYTES + MP_KX_SK_BYTES + MP_PRF_KEY_BYTES +  \
     32)
#define SK_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SK_MAX (SK_HEADER + SK_PAYLOAD + SK_TAG)
#define SK_FILE_MAX 4096

int mp_org_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > MP_ORG_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
            return 0;
    return 1;
}

void mp_key_id(unsigned char id[MP_KEY_ID_BYTES], const unsigned char sign_pk[MP_SIGN_PK_BYTES],
               const unsigned char kx_pk[MP_KX_PK_BYTES])
{
    static const char tag[] = "mijlpaal-key-id-v1";
    unsigned char buf[sizeof tag - 1 + MP_SIGN_PK_BYTES + MP_KX_PK_BYTES];
    unsigned char h[MP_HASH_BYTES];
    memcpy(buf, tag, sizeof tag - 1);
    memcpy(buf + sizeof tag - 1, sign_pk, MP_SIGN_PK_BYTES);
    memcpy(buf + sizeof tag - 1 + MP_SIGN_PK_BYTES, kx_pk, MP_KX_PK_BYTES);
    mp_hash(h, buf, sizeof buf);
    memcpy(id, h, MP_KEY_ID_BYTES);
}

static mp_keypair *keypair_alloc(void)
{
    if (sodium_init() < 0)
        return NULL;
    mp_keypair *kp = sodium_malloc(sizeof *kp);
    if (kp != NULL)
        sodium_memzero(kp, sizeof *kp);
    return kp;
}

void mp_keys_free(mp_keypair *kp)
{
    if (kp != NULL)
        sodium_free(kp); /* sodium_free wipes before releasing */
}

int mp_keys_generate(mp_keypair **out, const char *org)
{
    mp_keypair *kp;
    if (!mp_org_id_valid(org))
        return mp_error_set("invalid organisation id \"%.64s\" (use a-z, 0-9 and -, at most %d)",
                            org, MP_ORG_ID_MAX);
    if ((kp = keypair_alloc()) == NULL)
        return mp_error_system("cannot allocate secure memory");
    strcpy(kp->pub.org, org);
    crypto_sign_keypair(kp->pub.sign_pk, kp->sign_sk);
    crypto_box_keypair(kp->pub.kx_pk, kp->kx_sk);
    randombytes_buf(kp->prf_key, sizeof kp->prf_key);
    mp_key_id(kp->pub.key_id, kp->pub.sign_pk, kp->pub.kx_pk);
    *out = kp;
    return 0;
}

static void kdf_limits(enum mp_kdf_level level, unsigned long long *ops, size_t *mem)
{
    switch (level) {
    case MP_KDF_INTERACTIVE:
        *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        break;
    case MP_KDF_SENSITIVE:
        *ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
        *mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
        break;
    default: *ops = crypto_pwhash_OPSLIMIT_MODERATE; *mem = crypto_pwhash_MEMLIMIT_MODERATE;
    }
}

static void payload_pack(unsigned char *p, const mp_keypair *kp)
{
    size_t o = 0, n = strlen(kp->pub.org);
    memcpy(p + o, kp->pub.key_id, MP_KEY_ID_BYTES), o += MP_KEY_ID_BYTES;
    p[o++] = (unsigned char)n;
    memset(p + o, 0, MP_ORG_ID_MAX);
    memcpy(p + o, kp->pub.org, n), o += MP_ORG_ID_MAX;
    memcpy(p + o, kp->sign_sk, MP_SIGN_SK_BYTES), o += MP_SIGN_SK_BYTES;
    memcpy(p + o, kp->kx_sk, MP_KX_SK_BYTES), o += MP_KX_SK_BYTES;
    memcpy(p + o, kp->prf_key, MP_PRF_KEY_BYTES), o += MP_PRF_KEY_BYTES;
    crypto_generichash(p + o, 32, p, o, NULL, 0);
}

/* Unpack and check a payload; derives the public keys from the secret ones and checks the key
 * id, so that a keystore whose parts do not belong together is refused. */
static int payload_unpack(mp_keypair *kp, const unsigned char *p, const char *path)
{
    unsigned char sum[32];
    unsigned char id[MP_KEY_ID_BYTES];
    size_t o = 0, n;
    crypto_generichash(sum, sizeof sum, p, SK_PAYLOAD - 32, NULL, 0);
    if (sodium_memcmp(sum, p + SK_PAYLOAD - 32, 32) != 0)
        return mp_error_set("%s: keystore checksum mismatch (file corrupted)", path);
    memcpy(kp->pub.key_id, p, MP_KEY_ID_BYTES), o += MP_KEY_ID_BYTES;
    n = p[o++];
    if (n == 0 || n > MP_ORG_ID_MAX)
        return mp_error_set("%s: invalid organisation id in keystore", path);
    memcpy(kp->pub.org, p + o, n), o += MP_ORG_ID_MAX;
    kp->pub.org[n] = '\0';
    memcpy(kp->sign_sk, p + o, MP_SIGN_SK_BYTES), o += MP_SIGN_SK_BYTES;
    memcpy(kp->kx_sk, p + o, MP_KX_SK_BYTES), o += MP_KX_SK_BYTES;
    memcpy(kp->prf_key, p + o, MP_PRF_KEY_BYTES);
    crypto_sign_ed25519_sk_to_pk(kp->pub.sign_pk, kp->sign_sk);
    crypto_scalarmult_base(kp->pub.kx_pk, kp->kx_sk);
    mp_key_id(id, kp->pub.sign_pk, kp->pub.kx_pk);
    if (!mp_org_id_valid(kp->pub.org) || sodium_memcmp(id, kp->pub.key_id, sizeof id) != 0)
        return mp_error_set("%s: keystore is inconsistent (key id does not match its keys)", path);
    return 0;
}

int mp_keys_save(const mp_keypair *kp, const char *secret_path, const char *public_path,
                 const char *passphrase, size_t passphrase_len, enum mp_kdf_level level)
{
    unsigned char *blob = NULL, *payload = NULL, *key = NULL;
    char *b64 = NULL, *text = NULL, *pubtext = NULL;
    cJSON *pub = NULL;
    size_t bloblen, publen, textlen;
    unsigned long long ops = 0;
    size_t mem = 0;
    int rc = -1;

    if (mp_file_exists(secret_path))
        return mp_error_set("%s: already exists; refusing to overwrite a key", secret_path);
    if (mp_file_exists(public_path))
        return mp_error_set("%s: already exists; refusing to overwrite a key", public_path);
    blob = sodium_malloc(SK_MAX);
    payload = sodium_malloc(SK_PAYLOAD);
    key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    if (blob == NULL || payload == NULL || key == NULL) {
        mp_error_system("cannot allocate secure memory");
        goto out;
    }
    memset(blob, 0, SK_HEADER);
    memcpy(blob, SK_MAGIC, 4);
    blob[4] = 1;
    payload_pack(payload, kp);
    if (passphrase != NULL) {
        unsigned long long clen;
        kdf_limits(level, &ops, &mem);
        blob[5] = 1;
        blob[6] = 1;
        mp_store64_le(blob + 8, ops);
        mp_store64_le(blob + 16, (uint64_t)mem);
        randombytes_buf(blob + 24, 16);
        randombytes_buf(blob + 40, 24);
        if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, passphrase,
                          passphrase_len, blob + 24, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
            mp_error_system("key derivation failed (out of memory?)");
            goto out;
        }
        crypto_aead_xchacha20poly1305_ietf_encrypt(blob + SK_HEADER, &clen, payload, SK_PAYLOAD,
                                                   blob, SK_HEADER, NULL, blob + 40, key);
        bloblen = SK_HEADER + (size_t)clen;
    } else {
        memcpy(blob + SK_HEADER, payload, SK_PAYLOAD);
        bloblen = SK_HEADER + SK_PAYLOAD;
    }
    if ((b64 = mp_base64_encode(blob, bloblen)) == NULL) {
        mp_error_system("out of memory");
        goto out;
    }
    textlen = strlen(b64) + 128;
    if ((text = sodium_malloc(textlen)) == NULL) {
        mp_error_system("cannot allocate secure memory");
        goto out;
    }
    snprintf(text, textlen, "untrusted comment: mijlpaal %s secret key for %s\n%s\n",
             passphrase ? "encrypted" : "PLAINTEXT (tests only)", kp->pub.org, b64);
    if (mp_pubkey_to_json(&kp->pub, &pub) != 0 || mp_canon_serialise(&pubtext, &publen, pub) != 0)
        goto out;
    if (mp_file_write_secret(secret_path, text, strlen(text)) != 0)
        goto out;
    if (mp_file_write_atomic(public_path, pubtext, publen, 0644) != 0) {
        unlink(secret_path);
        goto out;
    }
    rc = 0;
out:
    if (b64 != NULL) {
        sodium_memzero(b64, strlen(b64));
        free(b64);
    }
    if (text != NULL)
        sodium_free(text);
    if (blob != NULL)
        sodium_free(blob);
    if (payload != NULL)
        sodium_free(payload);
    if (key != NULL)
        sodium_free(key);
    cJSON_Delete(pub);
    free(pubtext);
    return rc;
}

/* Read the file and decode its base64 line into blob (SK_MAX bytes of secure memory). */
static int sk_read_blob(const char *path, unsigned char *blob, size_t *bloblen)
{
    unsigned char *text = NULL;
    size_t len;
    int rc = -1;
    if (mp_file_read_secret(path, SK_FILE_MAX, &text, &len) != 0)
        return -1;
    char *line = strchr((char *)text, '\n');
    if (strncmp((char *)text, "untrusted comment:", 18) != 0 || line == NULL) {
        mp_error_set("%s: not a mijlpaal secret key file", path);
        goto out;
    }
    line++;
    char *end = line + strcspn(line, "\r\n");
    *end = '\0';
    const char *b64end = NULL;
    if (sodium_base642bin(blob, SK_MAX, line, strlen(line), NULL, bloblen, &b64end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *b64end != '\0' || *bloblen < SK_HEADER || memcmp(blob, SK_MAGIC, 4) != 0) {
        mp_error_set("%s: not a mijlpaal secret key file (bad encoding)", path);
        goto out;
    }
    if (blob[4] != 1) {
        mp_error_set("%s: keystore format version %u is not supported", path, blob[4]);
        goto out;
    }
    rc = 0;
out:
    mp_file_free_secret(text);
    return rc;
}

int mp_keys_is_encrypted(const char *secret_path)
{
    unsigned char *blob = sodium_malloc(SK_MAX);
    size_t len;
    int rc = -1;
    if (blob == NULL)
        return mp_error_system("cannot allocate secure memory");
    if (sk_read_blob(secret_path, blob, &len) == 0)
        rc = blob[5] != 0;
    sodium_free(blob);
    return rc;
}

int mp_keys_load(mp_keypair **out, const char *secret_path, const char *passphrase,
                 size_t passphrase_len)
{
    unsigned char *blob = NULL, *payload = NULL, *key = NULL;
    mp_keypair *kp = NULL;
    size_t len;
    int rc = -1;

    blob = sodium_malloc(SK_MAX);
    payload = sodium_malloc(SK_PAYLOAD);
    key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    kp = keypair_alloc();
    if (blob == NULL || payload == NULL || key == NULL || kp == NULL) {
        mp_error_system("cannot allocate secure memory");
        goto out;
    }
    if (sk_read_blob(secret_path, blob, &len) != 0)
        goto out;
    if (blob[5] == 0 && blob[6] == 0) {
        int clean = blob[7] == 0;
        for (size_t i = 8; i < SK_HEADER; i++)
            clean &= blob[i] == 0;
        if (len != SK_HEADER + SK_PAYLOAD || !clean) {
            mp_error_set("%s: keystore header is invalid", secret_path);
            goto out;
        }
        memcpy(payload, blob + SK_HEADER, SK_PAYLOAD);
    } else if (blob[5] == 1 && blob[6] == 1) {
        unsigned long long ops = mp_load64_le(blob + 8), plen;
        uint64_t mem = mp_load64_le(blob + 16);
        if (passphrase == NULL) {
            mp_error_set("%s: keystore is encrypted; give its passphrase (MIJLPAAL_PASSPHRASE, "
                         "MIJLPAAL_PASSPHRASE_FILE or --passphrase-file)",
                         secret_path);
            goto out;
        }
        /* Limits above what keygen writes are refused: a tampered header must not make the
         * load run Argon2 for hours or allocate gigabytes. */
        if (len != SK_HEADER + SK_PAYLOAD + SK_TAG || blob[7] != 0 ||
            ops > crypto_pwhash_OPSLIMIT_SENSITIVE || ops < crypto_pwhash_OPSLIMIT_MIN ||
            mem > crypto_pwhash_MEMLIMIT_SENSITIVE || mem < crypto_pwhash_MEMLIMIT_MIN) {
            mp_error_set("%s: keystore header is invalid", secret_path);
            goto out;
        }
        if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, passphrase,
                          passphrase_len, blob + 24, ops, (size_t)mem,
                          crypto_pwhash_ALG_ARGON2ID13) != 0) {
            mp_error_system("key derivation failed (out of memory?)");
            goto out;
        }
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(payload, &plen, NULL, blob + SK_HEADER,
                                                       len - SK_HEADER, blob, SK_HEADER, blob + 40,
                                                       key) != 0 ||
            plen != SK_PAYLOAD) {
            mp_error_set("%s: wrong passphrase, or the keystore was modified", secret_path);
            goto out;
        }
    } else {
        mp_error_set("%s: unknown keystore protection (kdf %u, aead %u)", secret_path, blob[5],
                     blob[6]);
        goto out;
    }
    if (payload_unpack(kp, payload, secret_path) != 0)
        goto out;
    *out = kp;
    kp = NULL;
    rc = 0;
out:
    if (blob != NULL)
        sodium_free(blob);
    if (payload != NULL)
        sodium_free(payload);
    if (key != NULL)
        sodium_free(key);
    mp_keys_free(kp);
    return rc;
}

int mp_pubkey_to_json(const mp_pubkey *pk, cJSON **out)
{
    char id[2 * MP_KEY_ID_BYTES + 1];
    char *s = mp_base64_encode(pk->sign_pk, MP_SIGN_PK_BYTES);
    char *x = mp_base64_encode(pk->kx_pk, MP_KX_PK_BYTES);
    cJSON *o = cJSON_CreateObject();
    mp_hex_encode(id, pk->key_id, MP_KEY_ID_BYTES);
    if (s == NULL || x == NULL || o == NULL || !cJSON_AddNumberToObject(o, "mijlpaal_pubkey", 1) ||
        !cJSON_AddStringToObject(o, "org", pk->org) || !cJSON_AddStringToObject(o, "key_id", id) ||
        !cJSON_AddStringToObject(o, "sign_pk", s) || !cJSON_AddStringToObject(o, "kx_pk", x)) {
        free(s);
        free(x);
        cJSON_Delete(o);
        return mp_error_system("out of memory");
    }
    free(s);
    free(x);
    *out = o;
    return 0;
}

int mp_pubkey_from_json(mp_pubkey *pk, const cJSON *obj)
{
    static const char *const fields[] = {"mijlpaal_pubkey", "org",   "key_id",
                                         "sign_pk",         "kx_pk", NULL};
    const char *org, *id, *s, *x;
    long long v;
    unsigned char want[MP_KEY_ID_BYTES];
    if (!cJSON_IsObject(obj))
        return mp_error_set("public key must be a JSON object");
    if (mp_json_only(obj, "public key", fields) != 0 ||
        mp_json_int(obj, "mijlpaal_pubkey", 1, 1, &v) != 0 || mp_json_str(obj, "org", &org) ||
        mp_json_str(obj, "key_id", &id) || mp_json_str(obj, "sign_pk", &s) ||
        mp_json_str(obj, "kx_pk", &x))
        return -1;
    if (!mp_org_id_valid(org))
        return mp_error_set("public key: invalid organisation id");
    strcpy(pk->org, org);
    if (mp_hex_decode(pk->key_id, MP_KEY_ID_BYTES, id) != 0 ||
        mp_base64_decode_exact(pk->sign_pk, MP_SIGN_PK_BYTES, s) != 0 ||
        mp_base64_decode_exact(pk->kx_pk, MP_KX_PK_BYTES, x) != 0)
        return mp_error_prefix("public key of %s: ", org);
    mp_key_id(want, pk->sign_pk, pk->kx_pk);
    if (memcmp(want, pk->key_id, MP_KEY_ID_BYTES) != 0)
        return mp_error_set("public key of %s: key id does not match the keys", org);
    return 0;
}

int mp_pubkey_load(mp_pubkey *pk, const char *path)
{
    unsigned char *text;
    size_t len;
    cJSON *j = NULL;
    int rc;
    if (mp_file_read(path, 4096, &text, &len) != 0)
        return -1;
    rc = mp_canon_parse(&j, (char *)text, len);
    if (rc == 0)
        rc = mp_pubkey_from_json(pk, j);
    if (rc != 0)
        mp_error_prefix("%s: ", path);
    cJSON_Delete(j);
    free(text);
    return rc;
}

/* First line of a file into secure memory. */
static int passphrase_from_file(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "re");
    char *p = sodium_malloc(1024);
    if (f == NULL || p == NULL) {
        if (f)
            fclose(f);
        if (p)
            sodium_free(p);
        return mp_error_set("%s: cannot read passphrase file", path);
    }
    if (fgets(p, 1024, f) == NULL)
        p[0] = '\0';
    fclose(f);
    p[strcspn(p, "\r\n")] = '\0';
    *out = p;
    *len = strlen(p);
    return 0;
}

static int prompt_tty(char *buf, size_t cap, const char *prompt)
{
    struct termios old, quiet;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    ssize_t n;
    size_t used = 0;
    if (fd < 0)
        return -1;
    if (write(fd, prompt, strlen(prompt)) < 0 || tcgetattr(fd, &old) != 0) {
        close(fd);
        return -1;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    (void)tcsetattr(fd, TCSAFLUSH, &quiet);
    while (used + 1 < cap && (n = read(fd, buf + used, 1)) == 1 && buf[used] != '\n')
        used++;
    buf[used] = '\0';
    (void)tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* nothing to do: the newline is cosmetic */
    }
    close(fd);
    return 0;
}

int mp_passphrase_get(char **out, size_t *len, const char *file, int confirm)
{
    const char *envfile = getenv("MIJLPAAL_PASSPHRASE_FILE");
    const char *env = getenv("MIJLPAAL_PASSPHRASE");
    char *p, *q;
    if (file != NULL)
        return passphrase_from_file(out, len, file);
    if (envfile != NULL && *envfile)
        return passphrase_from_file(out, len, envfile);
    if ((p = sodium_malloc(1024)) == NULL)
        return mp_error_system("cannot allocate secure memory");
    if (env != NULL && *env) {
        snprintf(p, 1024, "%s", env);
    } else {
        if (prompt_tty(p, 1024, "Passphrase: ") != 0) {
            sodium_free(p);
            return mp_error_set("no passphrase: no terminal to ask on; set "
                                "MIJLPAAL_PASSPHRASE_FILE or use --passphrase-file");
        }
        if (confirm) {
            if ((q = sodium_malloc(1024)) == NULL || prompt_tty(q, 1024, "Again: ") != 0 ||
                strlen(p) != strlen(q) || sodium_memcmp(p, q, strlen(p)) != 0) {
                if (q)
                    sodium_free(q);
                sodium_free(p);
                return mp_error_set("the passphrases do not match");
            }
            sodium_free(q);
        }
    }
    if (*p == '\0') {
        sodium_free(p);
        return mp_error_set("empty passphrase refused (use --insecure-plaintext-key for tests)");
    }
    *out = p;
    *len = strlen(p);
    return 0;
}

void mp_passphrase_free(char *p)
{
    if (p != NULL)
        sodium_free(p);
}

int mp_keys_open(mp_keypair **out, const char *secret_path, const char *passphrase_file,
                 int allow_plaintext)
{
    char *pass = NULL;
    size_t len = 0;
    int rc, enc = mp_keys_is_encrypted(secret_path);
    if (enc < 0)
        return -1;
    if (enc == 0) {
        if (!allow_plaintext)
            return mp_error_set("%s: keystore is not encrypted; refusing it without "
                                "--insecure-plaintext-key",
                                secret_path);
        return mp_keys_load(out, secret_path, NULL, 0);
    }
    if (mp_passphrase_get(&pass, &len, passphrase_file, 0) != 0)
        return -1;
    rc = mp_keys_load(out, secret_path, pass, len);
    mp_passphrase_free(pass);
    return rc;
}

int mp_keys_create(mp_pubkey *pub, const char *org, const char *secret_path,
                   const char *public_path, const char *passphrase_file, int plaintext,
                   const char *kdf)
{
    mp_keypair *kp;
    char *pass = NULL;
    size_t len = 0;
    enum mp_kdf_level level = MP_KDF_MODERATE;
    int rc;
    if (kdf != NULL) {
        if (strcmp(kdf, "interactive") == 0)
            level = MP_KDF_INTERACTIVE;
        else if (strcmp(kdf, "sensitive") == 0)
            level = MP_KDF_SENSITIVE;
        else if (strcmp(kdf, "moderate") != 0)
            return mp_error_set("kdf must be interactive, moderate or sensitive");
    }
    if (mp_keys_generate(&kp, org) != 0)
        return -1;
    if (!plaintext && mp_passphrase_get(&pass, &len, passphrase_file, 1) != 0) {
        mp_keys_free(kp);
        return -1;
    }
    rc = mp_keys_save(kp, secret_path, public_path, pass, len, level);
    *pub = kp->pub;
    mp_passphrase_free(pass);
    mp_keys_free(kp);
    return rc;
}
