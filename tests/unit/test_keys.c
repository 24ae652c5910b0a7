/*
 * test_keys.c - keystores and public key files (protocol/crypto/keys.c).
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "canon.h"
#include "encoding.h"
#include "keys.h"

struct fx {
    char *dir, *sec, *pub;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    f->sec = tu_path(f->dir, "org.key");
    f->pub = tu_path(f->dir, "org.pub");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    free(f->sec);
    free(f->pub);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static void same_keys(const mp_keypair *a, const mp_keypair *b)
{
    assert_string_equal(a->pub.org, b->pub.org);
    assert_memory_equal(a->pub.key_id, b->pub.key_id, MP_KEY_ID_BYTES);
    assert_memory_equal(a->pub.sign_pk, b->pub.sign_pk, MP_SIGN_PK_BYTES);
    assert_memory_equal(a->pub.kx_pk, b->pub.kx_pk, MP_KX_PK_BYTES);
    assert_memory_equal(a->sign_sk, b->sign_sk, MP_SIGN_SK_BYTES);
    assert_memory_equal(a->kx_sk, b->kx_sk, MP_KX_SK_BYTES);
    assert_memory_equal(a->prf_key, b->prf_key, MP_PRF_KEY_BYTES);
}

/* Read a whole small file into a malloc'd string. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = calloc(1, 8192);
    assert_non_null(fp);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 8191, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_generate(void **state)
{
    (void)state;
    mp_keypair *a, *b;
    assert_int_equal(mp_keys_generate(&a, "rsd-krh"), 0);
    assert_int_equal(mp_keys_generate(&b, "rsd-krh"), 0);
    assert_string_equal(a->pub.org, "rsd-krh");
    /* The parts belong together. */
    unsigned char pk[32], id[MP_KEY_ID_BYTES];
    crypto_sign_ed25519_sk_to_pk(pk, a->sign_sk);
    assert_memory_equal(pk, a->pub.sign_pk, 32);
    assert_int_equal(crypto_scalarmult_base(pk, a->kx_sk), 0);
    assert_memory_equal(pk, a->pub.kx_pk, 32);
    /* Key id = SHA-256("mijlpaal-key-id-v1" || sign_pk || kx_pk)[0..8]. */
    unsigned char buf[18 + 64], h[32];
    memcpy(buf, "mijlpaal-key-id-v1", 18);
    memcpy(buf + 18, a->pub.sign_pk, 32);
    memcpy(buf + 50, a->pub.kx_pk, 32);
    crypto_hash_sha256(h, buf, sizeof buf);
    assert_memory_equal(h, a->pub.key_id, MP_KEY_ID_BYTES);
    mp_key_id(id, a->pub.sign_pk, a->pub.kx_pk);
    assert_memory_equal(id, a->pub.key_id, MP_KEY_ID_BYTES);
    /* Fresh keys each time. */
    assert_memory_not_equal(a->sign_sk, b->sign_sk, MP_SIGN_SK_BYTES);
    assert_memory_not_equal(a->kx_sk, b->kx_sk, MP_KX_SK_BYTES);
    assert_memory_not_equal(a->prf_key, b->prf_key, MP_PRF_KEY_BYTES);
    mp_keys_free(a);
    mp_keys_free(b);

    static const char *const bad[] = {
        "", "Utrecht", "a b", "a_b", "org.x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 41 */};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mp_keypair *k = NULL;
        assert_int_equal(mp_keys_generate(&k, bad[i]), -1);
        assert_null(k);
        assert_int_equal(mp_org_id_valid(bad[i]), 0);
    }
    assert_int_equal(mp_org_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 1); /* 40 */
    assert_int_equal(mp_org_id_valid("gm-0344"), 1);
}

static void test_plaintext_save_load(void **state)
{
    struct fx *f = *state;
    mp_keypair *kp, *back = NULL;
    struct stat st;
    assert_int_equal(mp_keys_generate(&kp, "utrecht"), 0);
    assert_int_equal(mp_keys_save(kp, f->sec, f->pub, NULL, 0, MP_KDF_INTERACTIVE), 0);
    assert_int_equal(stat(f->sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mp_keys_is_encrypted(f->sec), 0);
    char *text = slurp(f->sec);
    assert_true(strncmp(text, "untrusted comment:", 18) == 0);
    assert_non_null(strstr(text, "PLAINTEXT"));
    free(text);

    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), 0);
    same_keys(kp, back);
    mp_keys_free(back);

    /* A passphrase given for a plaintext keystore does not matter. */
    assert_int_equal(mp_keys_load(&back, f->sec, "x", 1), 0);
    same_keys(kp, back);
    mp_keys_free(back);

    /* The public file. */
    mp_pubkey pub;
    memset(&pub, 0, sizeof pub);
    assert_int_equal(mp_pubkey_load(&pub, f->pub), 0);
    assert_memory_equal(&pub, &kp->pub, sizeof pub);
    mp_keys_free(kp);
}

static void test_encrypted_save_load(void **state)
{
    struct fx *f = *state;
    mp_keypair *kp, *back = NULL;
    struct stat st;
    static const char pass[] = "correct horse battery staple";
    assert_int_equal(mp_keys_generate(&kp, "lekstroom"), 0);
    assert_int_equal(mp_keys_save(kp, f->sec, f->pub, pass, sizeof pass - 1, MP_KDF_INTERACTIVE),
                     0);
    assert_int_equal(stat(f->sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mp_keys_is_encrypted(f->sec), 1);

    /* No secret in the file in the clear. */
    char *text = slurp(f->sec);
    char *b64 = strchr(text, '\n') + 1;
    b64[strcspn(b64, "\n")] = '\0';
    unsigned char *blob;
    size_t blen;
    assert_int_equal(mp_base64_decode(&blob, &blen, b64), 0);
    assert_int_equal(blen, 64 + 8 + 1 + 40 + 64 + 32 + 32 + 32 + 16);
    assert_memory_equal(blob, "MPSK\x01\x01\x01\x00", 8);
    assert_int_equal(mp_load64_le(blob + 8), crypto_pwhash_OPSLIMIT_INTERACTIVE);
    assert_int_equal(mp_load64_le(blob + 16), crypto_pwhash_MEMLIMIT_INTERACTIVE);
    for (size_t i = 0; i + 32 <= blen; i++) {
        assert_memory_not_equal(blob + i, kp->sign_sk, 32);
        assert_memory_not_equal(blob + i, kp->kx_sk, 32);
        assert_memory_not_equal(blob + i, kp->prf_key, 32);
    }
    free(blob);
    free(text);

    assert_int_equal(mp_keys_load(&back, f->sec, pass, sizeof pass - 1), 0);
    same_keys(kp, back);
    mp_keys_free(back);

    back = NULL;
    assert_int_equal(mp_keys_load(&back, f->sec, "correct horse battery stapl", 27), -1);
    assert_null(back);
    assert_non_null(strstr(mp_error_get(), "wrong passphrase"));
    assert_int_equal(mp_keys_load(&back, f->sec, "", 0), -1);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), -1);
    assert_non_null(strstr(mp_error_get(), "encrypted"));
    assert_null(back);
    mp_keys_free(kp);
}

static void test_refuse_overwrite(void **state)
{
    struct fx *f = *state;
    mp_keypair *a, *b, *back;
    assert_int_equal(mp_keys_generate(&a, "fermwerk"), 0);
    assert_int_equal(mp_keys_generate(&b, "fermwerk"), 0);
    assert_int_equal(mp_keys_save(a, f->sec, f->pub, NULL, 0, MP_KDF_INTERACTIVE), 0);
    char *sec_before = slurp(f->sec), *pub_before = slurp(f->pub);
    assert_int_equal(mp_keys_save(b, f->sec, f->pub, NULL, 0, MP_KDF_INTERACTIVE), -1);
    assert_non_null(strstr(mp_error_get(), "already exists"));
    /* Only the public file exists: refused as well. */
    char *sec2 = tu_path(f->dir, "other.key");
    assert_int_equal(mp_keys_save(b, sec2, f->pub, NULL, 0, MP_KDF_INTERACTIVE), -1);
    assert_int_equal(access(sec2, F_OK), -1);
    /* Only the secret file exists: refused. */
    char *pub2 = tu_path(f->dir, "other.pub");
    assert_int_equal(mp_keys_save(b, f->sec, pub2, NULL, 0, MP_KDF_INTERACTIVE), -1);
    assert_int_equal(access(pub2, F_OK), -1);
    /* Nothing changed. */
    char *sec_after = slurp(f->sec), *pub_after = slurp(f->pub);
    assert_string_equal(sec_before, sec_after);
    assert_string_equal(pub_before, pub_after);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), 0);
    same_keys(a, back);
    mp_keys_free(back);
    free(sec_before);
    free(pub_before);
    free(sec_after);
    free(pub_after);
    free(sec2);
    free(pub2);
    mp_keys_free(a);
    mp_keys_free(b);
}

static void test_refuse_group_readable(void **state)
{
    struct fx *f = *state;
    mp_keypair *kp, *back = NULL;
    assert_int_equal(mp_keys_generate(&kp, "uwv"), 0);
    assert_int_equal(mp_keys_save(kp, f->sec, f->pub, NULL, 0, MP_KDF_INTERACTIVE), 0);
    assert_int_equal(chmod(f->sec, 0644), 0);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), -1);
    assert_null(back);
    assert_non_null(strstr(mp_error_get(), "chmod 600"));
    assert_int_equal(mp_keys_open(&back, f->sec, NULL, 1), -1);
    assert_non_null(strstr(mp_error_get(), "chmod 600"));
    assert_int_equal(chmod(f->sec, 0640), 0);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), -1);
    assert_int_equal(chmod(f->sec, 0604), 0);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), -1);
    assert_int_equal(chmod(f->sec, 0400), 0);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), 0);
    same_keys(kp, back);
    mp_keys_free(back);
    /* A symbolic link to the keystore is refused too. */
    char *link = tu_path(f->dir, "link.key");
    assert_int_equal(symlink(f->sec, link), 0);
    back = NULL;
    assert_int_equal(mp_keys_load(&back, link, NULL, 0), -1);
    assert_null(back);
    free(link);
    mp_keys_free(kp);
}

/* Replace the base64 character at `pos` of the key line with another valid base64 character
 * that differs in the top bit of its 6-bit value (never a padding bit). */
static void tamper_b64(const char *path, const char *orig, size_t line_off, size_t pos)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *t = strdup(orig);
    assert_non_null(t);
    const char *p = strchr(alphabet, t[line_off + pos]);
    assert_non_null(p);
    t[line_off + pos] = alphabet[(p - alphabet) ^ 0x20];
    assert_int_equal(unlink(path), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    free(t);
}

static void test_tampered_plaintext(void **state)
{
    struct fx *f = *state;
    mp_keypair *kp, *back;
    assert_int_equal(mp_keys_generate(&kp, "stichtse-vecht"), 0);
    assert_int_equal(mp_keys_save(kp, f->sec, f->pub, NULL, 0, MP_KDF_INTERACTIVE), 0);
    char *orig = slurp(f->sec);
    size_t off = (size_t)(strchr(orig, '\n') + 1 - orig);
    size_t n = strcspn(orig + off, "\n=");
    unsigned long refused = 0, tried = 0;
    for (size_t pos = 0; pos < n; pos++) {
        /* Characters that only carry header bytes 7..63 (reserved, KDF parameters, salt and
         * nonce) are not used by a plaintext keystore; every other byte is checked. */
        size_t flipped = pos * 6 / 8; /* the byte holding the flipped (top) bit */
        if (flipped >= 7 && flipped < 64)
            continue;
        tamper_b64(f->sec, orig, off, pos);
        back = NULL;
        tried++;
        if (mp_keys_load(&back, f->sec, NULL, 0) != 0)
            refused++;
        else
            print_message("tampered character %zu (byte %zu) accepted\n", pos, flipped);
        mp_keys_free(back);
    }
    assert_true(tried > 200);
    assert_int_equal(refused, tried);

    /* A corrupted payload is reported as such. */
    tamper_b64(f->sec, orig, off, 200);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), -1);
    assert_non_null(strstr(mp_error_get(), "checksum"));
    /* The original loads again. */
    assert_int_equal(unlink(f->sec), 0);
    tu_write(f->sec, orig, strlen(orig));
    assert_int_equal(chmod(f->sec, 0600), 0);
    assert_int_equal(mp_keys_load(&back, f->sec, NULL, 0), 0);
    same_keys(kp, back);
    mp_keys_free(back);
    free(orig);
    mp_keys_free(kp);
}

/* Decode the key line, set byte `at` to `val`, re-encode and write the file back (0600). */
static void tamper_byte(const char *path, const char *orig, size_t line_off, size_t at,
                        unsigned char val)
{
    char *t = strdup(orig);
    unsigned char *blob;
    size_t blen;
    assert_non_null(t);
    char *nl = strchr(t + line_off, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_int_equal(mp_base64_decode(&blob, &blen, t + line_off), 0);
    assert_true(at < blen);
    assert_true(blob[at] != val);
    blob[at] = val;
    char *b64 = mp_base64_encode(blob, blen);
    assert_non_null(b64);
    t[line_off] = '\0';
    assert_int_equal(unlink(path), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t, line_off), (ssize_t)line_off);
    assert_int_equal(write(fd, b64, strlen(b64)), (ssize_t)strlen(b64));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    free(b64);
    free(blob);
    free(t);
}

static void test_tampered_encrypted(void **state)
{
    struct fx *f = *state;
    mp_keypair *kp, *back;
    static const char pass[] = "hunter2";
    assert_int_equal(mp_keys_generate(&kp, "stichtse-vecht"), 0);
    assert_int_equal(mp_keys_save(kp, f->sec, f->pub, pass, 7, MP_KDF_INTERACTIVE), 0);
    char *orig = slurp(f->sec);
    size_t off = (size_t)(strchr(orig, '\n') + 1 - orig);
    unsigned char *blob;
    size_t blen;
    {
        char *line = strdup(orig + off);
        line[strcspn(line, "\n")] = '\0';
        assert_int_equal(mp_base64_decode(&blob, &blen, line), 0);
        free(line);
    }
    assert_int_equal(blen, 64 + 209 + 16);
    /* One byte in each part: magic, version, kdf, aead, reserved, opslimit (2 -> 3, so the
     * test stays fast), memlimit (64 -> 32 MiB), salt, nonce, ciphertext, tag. The header is
     * associated data and the KDF input, so every change must be refused. */
    static const size_t at[] = {0, 4, 5, 6, 7, 8, 19, 24, 39, 40, 63, 64, 150, 272, 273, 288};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        unsigned char v = (unsigned char)(blob[at[i]] ^ 0x01);
        if (at[i] == 19) {
            assert_int_equal(blob[19], 0x04); /* 64 MiB = 0x04000000 little-endian */
            v = 0x02;
        }
        tamper_byte(f->sec, orig, off, at[i], v);
        back = NULL;
        if (mp_keys_load(&back, f->sec, pass, 7) == 0) {
            mp_keys_free(back);
            fail_msg("tampered byte %zu accepted", at[i]);
        }
        assert_null(back);
    }
    /* The untouched file still loads. */
    assert_int_equal(unlink(f->sec), 0);
    tu_write(f->sec, orig, strlen(orig));
    assert_int_equal(chmod(f->sec, 0600), 0);
    assert_int_equal(mp_keys_load(&back, f->sec, pass, 7), 0);
    same_keys(kp, back);
    mp_keys_free(back);
    free(blob);
    mp_keys_free(kp);
    free(orig);
}

static void test_keys_open(void **state)
{
    struct fx *f = *state;
    mp_keypair *kp, *back = NULL;
    assert_int_equal(mp_keys_generate(&kp, "utrecht"), 0);
    assert_int_equal(mp_keys_save(kp, f->sec, f->pub, NULL, 0, MP_KDF_INTERACTIVE), 0);
    assert_int_equal(mp_keys_open(&back, f->sec, NULL, 0), -1);
    assert_null(back);
    assert_non_null(strstr(mp_error_get(), "--insecure-plaintext-key"));
    assert_int_equal(mp_keys_open(&back, f->sec, NULL, 1), 0);
    same_keys(kp, back);
    mp_keys_free(back);

    /* An encrypted keystore with the passphrase from a file. */
    char *sec2 = tu_path(f->dir, "enc.key"), *pub2 = tu_path(f->dir, "enc.pub");
    char *pf = tu_path(f->dir, "pass.txt"), *pfbad = tu_path(f->dir, "bad.txt");
    assert_int_equal(mp_keys_save(kp, sec2, pub2, "s3cret", 6, MP_KDF_INTERACTIVE), 0);
    tu_write(pf, "s3cret\n", 7);
    tu_write(pfbad, "s3cre\n", 6);
    back = NULL;
    assert_int_equal(mp_keys_open(&back, sec2, pf, 0), 0);
    same_keys(kp, back);
    mp_keys_free(back);
    back = NULL;
    assert_int_equal(mp_keys_open(&back, sec2, pfbad, 0), -1);
    assert_null(back);
    /* A missing keystore. */
    char *none = tu_path(f->dir, "none.key");
    assert_int_equal(mp_keys_open(&back, none, NULL, 1), -1);
    assert_int_equal(mp_keys_is_encrypted(none), -1);
    free(none);
    free(sec2);
    free(pub2);
    free(pf);
    free(pfbad);
    mp_keys_free(kp);
}

static void test_pubkey_json(void **state)
{
    (void)state;
    mp_keypair *kp;
    cJSON *j;
    mp_pubkey back;
    char *text;
    size_t len;
    assert_int_equal(mp_keys_generate(&kp, "rsd-krh"), 0);
    assert_int_equal(mp_pubkey_to_json(&kp->pub, &j), 0);
    assert_int_equal(mp_canon_serialise(&text, &len, j), 0);
    /* {"key_id":HEX16,"kx_pk":B64,"mijlpaal_pubkey":1,"org":ID,"sign_pk":B64}, sorted. */
    char id[17], *kx = mp_base64_encode(kp->pub.kx_pk, 32),
                 *sg = mp_base64_encode(kp->pub.sign_pk, 32), want[512];
    mp_hex_encode(id, kp->pub.key_id, 8);
    snprintf(want, sizeof want,
             "{\"key_id\":\"%s\",\"kx_pk\":\"%s\",\"mijlpaal_pubkey\":1,\"org\":\"rsd-krh\","
             "\"sign_pk\":\"%s\"}",
             id, kx, sg);
    assert_string_equal(text, want);
    free(kx);
    free(sg);

    memset(&back, 0, sizeof back);
    assert_int_equal(mp_pubkey_from_json(&back, j), 0);
    assert_memory_equal(&back, &kp->pub, sizeof back);

    /* A key id that does not match the keys. */
    char bad_id[17];
    strcpy(bad_id, id);
    bad_id[15] = bad_id[15] == '0' ? '1' : '0';
    cJSON_ReplaceItemInObjectCaseSensitive(j, "key_id", cJSON_CreateString(bad_id));
    assert_int_equal(mp_pubkey_from_json(&back, j), -1);
    assert_non_null(strstr(mp_error_get(), "key id does not match"));
    cJSON_ReplaceItemInObjectCaseSensitive(j, "key_id", cJSON_CreateString(id));
    assert_int_equal(mp_pubkey_from_json(&back, j), 0);

    /* Another agreement key under the same id. */
    mp_keypair *other;
    assert_int_equal(mp_keys_generate(&other, "rsd-krh"), 0);
    char *okx = mp_base64_encode(other->pub.kx_pk, 32);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "kx_pk", cJSON_CreateString(okx));
    assert_int_equal(mp_pubkey_from_json(&back, j), -1);
    free(okx);
    mp_keys_free(other);
    cJSON_Delete(j);

    /* Unknown fields, wrong version, bad org, bad lengths. */
    assert_int_equal(mp_pubkey_to_json(&kp->pub, &j), 0);
    cJSON_AddStringToObject(j, "comment", "x");
    assert_int_equal(mp_pubkey_from_json(&back, j), -1);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "comment");
    assert_int_equal(mp_pubkey_from_json(&back, j), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "mijlpaal_pubkey", cJSON_CreateNumber(2));
    assert_int_equal(mp_pubkey_from_json(&back, j), -1);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "mijlpaal_pubkey", cJSON_CreateNumber(1));
    cJSON_ReplaceItemInObjectCaseSensitive(j, "org", cJSON_CreateString("RSD"));
    assert_int_equal(mp_pubkey_from_json(&back, j), -1);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "org", cJSON_CreateString("rsd-krh"));
    cJSON_ReplaceItemInObjectCaseSensitive(j, "sign_pk", cJSON_CreateString("AAAA"));
    assert_int_equal(mp_pubkey_from_json(&back, j), -1);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "sign_pk");
    assert_int_equal(mp_pubkey_from_json(&back, j), -1);
    cJSON_Delete(j);
    assert_int_equal(mp_pubkey_from_json(&back, NULL), -1);

    free(text);
    mp_keys_free(kp);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test_setup_teardown(test_plaintext_save_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_save_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_group_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_encrypted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_open, setup, teardown),
        cmocka_unit_test(test_pubkey_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
