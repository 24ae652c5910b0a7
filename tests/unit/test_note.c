/*
 * test_note.c - C2SP signed notes, checkpoints and cosignatures (protocol/log/note.c).
 *
 * Known answers: the published example of golang.org/x/mod/sumdb/note (the PeterNeumann key,
 * its verifier key, its note and signature, which Ed25519 being deterministic must reproduce
 * byte for byte), and the example cosigned checkpoint of c2sp.org/tlog-cosignature (parsed:
 * its witness line carries the timestamp 1679315147 of the spec's signed message).
 */
#include "testutil.h"

#include "encoding.h"
#include "note.h"

static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_seed_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char go_sig[] = "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI"
                             "nNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static const char c2sp_cosigned[] =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\xe2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
    "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\xe2\x80\x94 witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
    "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

static void go_key(unsigned char pk[32], unsigned char sk[64])
{
    unsigned char raw[33];
    assert_int_equal(mp_base64_decode_exact(raw, 33, go_seed_b64), 0);
    assert_int_equal(raw[0], 0x01);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, raw + 1), 0);
}

static char *go_note(void)
{
    char *s = malloc(sizeof go_text + sizeof go_sig + 1);
    assert_non_null(s);
    sprintf(s, "%s\n%s", go_text, go_sig);
    return s;
}

static void test_go_vector(void **state)
{
    (void)state;
    mp_note_key k, mine;
    unsigned char pk[32], sk[64];
    mp_note *n;
    mp_note_signer who;
    char *text, *want = go_note(), *vk;
    size_t len;

    assert_int_equal(mp_note_key_parse(&k, go_vkey), 0);
    assert_string_equal(k.name, "PeterNeumann");
    assert_int_equal(k.type, MP_NOTE_TYPE_ED25519);
    assert_int_equal(k.id, 0xc74f20a3u);
    vk = mp_note_key_format(&k);
    assert_string_equal(vk, go_vkey);
    free(vk);

    /* The key id is derived from the name and the key, as the spec recommends. */
    go_key(pk, sk);
    assert_memory_equal(pk, k.pk, 32);
    assert_int_equal(mp_note_key_make(&mine, "PeterNeumann", MP_NOTE_TYPE_ED25519, pk), 0);
    assert_int_equal(mine.id, k.id);

    /* Signing reproduces the published note byte for byte. */
    assert_int_equal(mp_note_new(&n, go_text, strlen(go_text)), 0);
    assert_int_equal(mp_note_sign(n, "PeterNeumann", sk), 0);
    assert_int_equal(mp_note_format(&text, &len, n), 0);
    assert_int_equal(len, strlen(want));
    assert_string_equal(text, want);
    free(text);
    mp_note_free(n);

    /* And the published note verifies. */
    assert_int_equal(mp_note_parse(&n, want, strlen(want)), 0);
    assert_int_equal(n->text_len, strlen(go_text));
    assert_memory_equal(n->text, go_text, n->text_len);
    assert_int_equal(mp_note_verify(n, &k, 1, 1, &who), 0);
    assert_int_equal(who.signed_it, 1);
    /* Re-serialising a parsed note gives back its bytes. */
    assert_int_equal(mp_note_format(&text, &len, n), 0);
    assert_string_equal(text, want);
    free(text);
    mp_note_free(n);

    /* An altered text does not. */
    want[9] = 'C';
    assert_int_equal(mp_note_parse(&n, want, strlen(want)), 0);
    assert_int_equal(mp_note_verify(n, &k, 1, 1, &who), -1);
    assert_non_null(strstr(mp_error_get(), "does not verify"));
    mp_note_free(n);
    free(want);
    sodium_memzero(sk, sizeof sk);
}

static void test_vkey_manglings_refused(void **state)
{
    (void)state;
    mp_note_key k;
    char b[sizeof go_vkey];
    size_t len = strlen(go_vkey);
    /* Every proper prefix and every one-byte change is refused. */
    for (size_t i = 1; i < len; i++) {
        memcpy(b, go_vkey, i);
        b[i] = '\0';
        assert_int_equal(mp_note_key_parse(&k, b), -1);
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(b, go_vkey, len + 1);
        b[i]++;
        assert_int_equal(mp_note_key_parse(&k, b), -1);
    }
    assert_int_equal(mp_note_key_parse(&k, "PeterNeumann+c74f20a3+AhpczdkHND"), -1);
    /* An unknown signature type (0x02: ECDSA) is refused. */
    unsigned char raw[33] = {0x02};
    char *b64 = mp_base64_encode(raw, 33), vk[128];
    snprintf(vk, sizeof vk, "x+00000000+%s", b64);
    free(b64);
    assert_int_equal(mp_note_key_parse(&k, vk), -1);
}

static void test_malformed_notes_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "text\n",   /* unsigned */
        "text\n\n", /* no signature line */
        "text\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pA", /* no LF */
        "text\n\n-- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI=\n",   /* dashes */
        "text\n\n\xe2\x80\x94 PeterNeumann not*base64\n",
        "text\n\n\xe2\x80\x94 Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI=\n",
        "text\n\n\xe2\x80\x94  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI=\n", /* no name */
        "text\n\n\xe2\x80\x94 PeterNeumann AAAA\n",                             /* 3 bytes */
        "te\txt\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI=\n",
        "te\xff xt\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI=\n",
        "text\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI=\n\n",
    };
    mp_note *n;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mp_note_parse(&n, bad[i], strlen(bad[i])), -1);
        assert_true(strlen(mp_error_get()) > 0);
    }
}

static void test_trust_policy(void **state)
{
    (void)state;
    unsigned char pk1[32], sk1[64], pk2[32], sk2[64];
    mp_note_key keys[2];
    mp_note_signer who[2];
    mp_note *n;
    crypto_sign_keypair(pk1, sk1);
    crypto_sign_keypair(pk2, sk2);
    assert_int_equal(mp_note_key_make(&keys[0], "log.example/a", MP_NOTE_TYPE_ED25519, pk1), 0);
    assert_int_equal(mp_note_key_make(&keys[1], "other.example/b", MP_NOTE_TYPE_ED25519, pk2), 0);

    assert_int_equal(mp_note_new(&n, "hello\n", 6), 0);
    assert_int_equal(mp_note_sign(n, "log.example/a", sk1), 0);
    /* Signing twice with one key is refused. */
    assert_int_equal(mp_note_sign(n, "log.example/a", sk1), -1);
    assert_int_equal(mp_note_sign(n, "stranger.example", sk2), 0);
    /* Strict: a stranger's line refuses the note and is named. */
    assert_int_equal(mp_note_verify(n, keys, 1, 1, who), -1);
    assert_non_null(strstr(mp_error_get(), "stranger.example"));
    /* Lenient: skipped, the trusted signature suffices. */
    assert_int_equal(mp_note_verify(n, keys, 1, 0, who), 0);
    assert_int_equal(who[0].signed_it, 1);
    /* Only strangers: refused either way. */
    assert_int_equal(mp_note_verify(n, keys + 1, 1, 0, who), -1);
    assert_non_null(strstr(mp_error_get(), "not signed by any trusted key"));
    /* The same name with another key id is a stranger too (the spec: name and id). */
    mp_note_key imposter;
    assert_int_equal(mp_note_key_make(&imposter, "log.example/a", MP_NOTE_TYPE_ED25519, pk2), 0);
    assert_int_equal(mp_note_verify(n, &imposter, 1, 0, who), -1);
    mp_note_free(n);
    /* A known key whose signature fails refuses the note even when another one verifies. */
    assert_int_equal(mp_note_new(&n, "hello\n", 6), 0);
    assert_int_equal(mp_note_sign(n, "log.example/a", sk1), 0);
    assert_int_equal(mp_note_sign(n, "other.example/b", sk2), 0);
    n->sigs[1].sig[3] ^= 1;
    assert_int_equal(mp_note_verify(n, keys, 2, 1, who), -1);
    mp_note_free(n);
    sodium_memzero(sk1, sizeof sk1);
    sodium_memzero(sk2, sizeof sk2);
}

static void test_checkpoint_format(void **state)
{
    (void)state;
    mp_checkpoint c, d;
    mp_note *n;
    char *text;
    size_t len;
    unsigned char root[32];
    assert_int_equal(mp_note_parse(&n, c2sp_cosigned, strlen(c2sp_cosigned)), 0);
    assert_int_equal(n->nsigs, 2);
    assert_int_equal(mp_checkpoint_parse(&c, n->text, n->text_len), 0);
    assert_string_equal(c.origin, "example.com/behind-the-sofa");
    assert_int_equal(c.size, 20852163);
    assert_int_equal(
        mp_base64_decode_exact(root, 32, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="), 0);
    assert_memory_equal(c.root, root, 32);
    assert_null(c.extensions);
    /* The witness line: key id, then the 8-byte big-endian time of the spec's example. */
    assert_string_equal(n->sigs[1].name, "witness.example.com/w1");
    assert_int_equal(n->sigs[1].sig_len, 8 + 64);
    uint64_t ts = 0;
    for (int i = 0; i < 8; i++)
        ts = (ts << 8) | n->sigs[1].sig[i];
    assert_int_equal(ts, 1679315147);
    /* Formatting gives the same text back. */
    assert_int_equal(mp_checkpoint_format(&text, &len, &c), 0);
    assert_int_equal(len, n->text_len);
    assert_memory_equal(text, n->text, len);
    free(text);
    mp_note_free(n);

    /* Extension lines are kept. */
    static const char ext[] = "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nfoo bar\nbaz\n";
    assert_int_equal(mp_checkpoint_parse(&d, ext, strlen(ext)), 0);
    assert_string_equal(d.extensions, "foo bar\nbaz\n");
    assert_int_equal(mp_checkpoint_format(&text, &len, &d), 0);
    assert_string_equal(text, ext);
    free(text);
    mp_checkpoint_clear(&d);

    static const char *bad[] = {
        "o\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", /* leading zero */
        "o\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  /* unpadded */
        "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n", /* 31 bytes */
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  /* no origin */
        "o\n5\n",
        "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nx\n", /* empty extension */
        "o\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        /* Found by fuzz_tlog: bytes libsodium's decoder skips over; refused as not canonical. */
        "o\n5\nCsUYapGGPo4dkM\xe2\x80\x94oqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mp_checkpoint_parse(&d, bad[i], strlen(bad[i])), -1);
        mp_checkpoint_clear(&d);
    }
}

static void test_cosignature(void **state)
{
    (void)state;
    unsigned char lpk[32], lsk[64], wpk[32], wsk[64];
    mp_note_key keys[2], plain;
    mp_note_signer who[2];
    mp_note *n, *m;
    static const char cp[] = "mijlpaal/test\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    char *text;
    size_t len;
    crypto_sign_keypair(lpk, lsk);
    crypto_sign_keypair(wpk, wsk);
    assert_int_equal(mp_note_key_make(&keys[0], "mijlpaal/test", MP_NOTE_TYPE_ED25519, lpk), 0);
    assert_int_equal(mp_note_key_make(&keys[1], "witness-a", MP_NOTE_TYPE_COSIG, wpk), 0);

    assert_int_equal(mp_note_new(&n, cp, strlen(cp)), 0);
    assert_int_equal(mp_note_sign(n, "mijlpaal/test", lsk), 0);
    assert_int_equal(mp_note_cosign(n, "witness-a", wsk, 1780000000), 0);
    assert_int_equal(mp_note_verify(n, keys, 2, 1, who), 0);
    assert_int_equal(who[0].signed_it, 1);
    assert_int_equal(who[1].signed_it, 1);
    assert_int_equal(who[1].timestamp, 1780000000);

    /* The signed message is exactly the spec's: checked here with libsodium directly. */
    {
        char msg[256];
        int ml = snprintf(msg, sizeof msg, "cosignature/v1\ntime 1780000000\n%s", cp);
        const mp_note_sig *s = &n->sigs[1];
        assert_int_equal(s->id, keys[1].id);
        assert_int_equal(crypto_sign_verify_detached(s->sig + 8, (unsigned char *)msg,
                                                     (unsigned long long)ml, wpk),
                         0);
    }
    /* The same public key as a plain note key (type 0x01) has another id: a stranger. */
    assert_int_equal(mp_note_key_make(&plain, "witness-a", MP_NOTE_TYPE_ED25519, wpk), 0);
    assert_int_not_equal(plain.id, keys[1].id);
    keys[1] = plain;
    assert_int_equal(mp_note_verify(n, keys, 2, 1, who), -1);

    /* A cosignature line made elsewhere is added to the coordinator's note. */
    assert_int_equal(mp_note_format(&text, &len, n), 0);
    assert_int_equal(mp_note_parse(&m, text, len), 0);
    free(text);
    assert_int_equal(mp_note_add_line(m, n->sigs[1].line, strlen(n->sigs[1].line)), -1);
    mp_note_free(m);
    assert_int_equal(mp_note_new(&m, cp, strlen(cp)), 0);
    assert_int_equal(mp_note_sign(m, "mijlpaal/test", lsk), 0);
    assert_int_equal(mp_note_add_line(m, n->sigs[1].line, strlen(n->sigs[1].line)), 0);
    assert_int_equal(mp_note_key_make(&keys[1], "witness-a", MP_NOTE_TYPE_COSIG, wpk), 0);
    assert_int_equal(mp_note_verify(m, keys, 2, 1, who), 0);
    assert_int_equal(who[1].timestamp, 1780000000);
    /* A cosignature of another checkpoint does not verify on this one. */
    mp_note_free(m);
    static const char cp4[] = "mijlpaal/test\n4\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_int_equal(mp_note_new(&m, cp4, strlen(cp4)), 0);
    assert_int_equal(mp_note_add_line(m, n->sigs[1].line, strlen(n->sigs[1].line)), 0);
    assert_int_equal(mp_note_verify(m, keys, 2, 1, who), -1);
    mp_note_free(m);
    mp_note_free(n);
    sodium_memzero(lsk, sizeof lsk);
    sodium_memzero(wsk, sizeof wsk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_vector),
        cmocka_unit_test(test_vkey_manglings_refused),
        cmocka_unit_test(test_malformed_notes_refused),
        cmocka_unit_test(test_trust_policy),
        cmocka_unit_test(test_checkpoint_format),
        cmocka_unit_test(test_cosignature),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
