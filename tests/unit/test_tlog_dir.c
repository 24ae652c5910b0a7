/*
 * test_tlog_dir.c - the log as static files (protocol/log/tlog_dir.c): appends, checkpoints and
 * their history, cosignatures, the crash leftovers that must be ignored, and the tampering
 * that must be found; and the auditor's budget check over the rounds of a log (roundlog.c).
 */
#include "testutil.h"

#include "encoding.h"
#include "roundlog.h"
#include "tlog_dir.h"

#define ORIGIN "mijlpaal/test-region"

typedef struct keyset {
    unsigned char pk[32], sk[64], wpk[32], wsk[64];
    mp_note_key log, wit;
} keyset;

static void keys_make(keyset *k)
{
    crypto_sign_keypair(k->pk, k->sk);
    crypto_sign_keypair(k->wpk, k->wsk);
    assert_int_equal(mp_note_key_make(&k->log, ORIGIN, MP_NOTE_TYPE_ED25519, k->pk), 0);
    assert_int_equal(mp_note_key_make(&k->wit, "witness-a", MP_NOTE_TYPE_COSIG, k->wpk), 0);
}

static void append3(const char *dir, const keyset *k, const char *tag, uint64_t want_added)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "{\"doc\":\"%s-a\"}", tag);
    snprintf(b, sizeof b, "{\"doc\":\"%s-b\"}", tag);
    mp_tlog_doc docs[3] = {
        {"round", a, strlen(a)}, {"release", b, strlen(b)}, {"round", a, strlen(a)}};
    uint64_t added, size;
    assert_int_equal(mp_tlogdir_append(dir, ORIGIN, k->sk, docs, 3, &added, &size), 0);
    assert_int_equal(added, want_added);
}

static int verify_dir(const char *dir, const keyset *k, size_t min_cosigners)
{
    mp_tlogdir *d;
    mp_tlogdir_report rep;
    int rc;
    if (mp_tlogdir_load(&d, dir, 0) != 0)
        return -1;
    rc = mp_tlogdir_verify(d, &k->log, &k->wit, 1, min_cosigners, &rep);
    if (rc == 0)
        mp_tlogdir_report_free(&rep);
    mp_tlogdir_free(d);
    return rc;
}

static void test_entry_framing(void **state)
{
    (void)state;
    unsigned char *e;
    size_t len, dl;
    const unsigned char *doc;
    mp_tlog_meta m;
    char want[200], hex[65];
    assert_int_equal(mp_tlog_entry_encode(&e, &len, "release", "abc", 3), 0);
    mp_hash_hex(hex, "abc", 3);
    snprintf(want, sizeof want, "mijlpaal-log-entry/v1 release %s 3\nabc", hex);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(e, want, len);
    assert_int_equal(mp_tlog_entry_decode(e, len, &m, &doc, &dl), 0);
    assert_string_equal(m.type, "release");
    assert_int_equal(dl, 3);
    assert_memory_equal(doc, "abc", 3);
    e[len - 1] = 'd'; /* the document edited */
    assert_int_equal(mp_tlog_entry_decode(e, len, &m, &doc, &dl), -1);
    assert_non_null(strstr(mp_error_get(), "sha256 differs"));
    assert_int_equal(mp_tlog_entry_decode(e, len - 1, &m, &doc, &dl), -1); /* cut */
    free(e);
    assert_int_equal(mp_tlog_entry_encode(&e, &len, "Release", "abc", 3), -1);
    assert_int_equal(mp_tlog_entry_encode(&e, &len, "a b", "abc", 3), -1);
}

static void test_append_verify_history(void **state)
{
    (void)state;
    keyset k;
    char *dir = tu_mkdtemp(), *log = tu_path(dir, "log");
    mp_tlogdir *d;
    mp_tlogdir_report rep;
    keys_make(&k);
    append3(log, &k, "r1", 2);
    append3(log, &k, "r1", 0); /* the same documents again: nothing new */
    append3(log, &k, "r2", 2);
    append3(log, &k, "r3", 2);
    assert_int_equal(mp_tlogdir_load(&d, log, 0), 0);
    assert_int_equal(d->cp.size, 6);
    assert_int_equal(d->nhistory, 3);
    assert_int_equal(mp_tlogdir_verify(d, &k.log, &k.wit, 1, 0, &rep), 0);
    assert_int_equal(rep.checkpoints, 3);
    assert_int_equal(rep.consistency, 2);
    assert_int_equal(rep.inclusion, 6);
    assert_int_equal(rep.cosigned, 0);
    mp_tlogdir_report_free(&rep);
    /* A witness is required: refused until it cosigns. */
    assert_int_equal(mp_tlogdir_verify(d, &k.log, &k.wit, 1, 1, &rep), -1);
    unsigned char h[32];
    uint64_t at;
    mp_hash(h, "{\"doc\":\"r2-b\"}", 14);
    assert_int_equal(mp_tlogdir_find(d, "release", h, &at), 0);
    assert_int_equal(at, 3);
    assert_int_equal(mp_tlogdir_find(d, "round", h, &at), -1);

    /* The witness cosigns the latest checkpoint. */
    char *line;
    assert_int_equal(mp_tlogdir_cosign(d, "witness-a", k.wsk, 1780000000, &line), 0);
    assert_int_equal(mp_tlogdir_add_cosignature(log, 6, line, &k.wit), 0);
    /* A line from someone else's key is refused by the witness check. */
    mp_note_key other;
    assert_int_equal(mp_note_key_make(&other, "witness-a", MP_NOTE_TYPE_COSIG, k.pk), 0);
    assert_int_equal(mp_tlogdir_add_cosignature(log, 6, line, &other), -1);
    free(line);
    mp_tlogdir_free(d);
    assert_int_equal(mp_tlogdir_load(&d, log, 0), 0);
    assert_int_equal(mp_tlogdir_verify(d, &k.log, &k.wit, 1, 1, &rep), 0);
    assert_int_equal(rep.cosigned, 1);
    assert_int_equal(rep.witness_signed[0], 1);
    assert_int_equal(rep.witness_time[0], 1780000000);
    mp_tlogdir_report_free(&rep);
    /* Without the witness among the trusted keys, its line is a stranger's: refused. */
    assert_int_equal(mp_tlogdir_verify(d, &k.log, NULL, 0, 0, &rep), -1);
    assert_non_null(strstr(mp_error_get(), "not a trusted key"));
    /* Another coordinator key: refused. */
    keyset k2;
    keys_make(&k2);
    assert_int_equal(mp_tlogdir_verify(d, &k2.log, &k.wit, 1, 0, &rep), -1);
    mp_tlogdir_free(d);
    /* And it cannot append to this log. */
    mp_tlog_doc doc = {"round", "x", 1};
    uint64_t added, size;
    assert_int_equal(mp_tlogdir_append(log, ORIGIN, k2.sk, &doc, 1, &added, &size), -1);
    assert_int_equal(mp_tlogdir_append(log, "mijlpaal/other", k.sk, &doc, 1, &added, &size), -1);
    free(log);
    tu_rmdir(dir);
}

static void test_crash_leftovers_ignored(void **state)
{
    (void)state;
    keyset k;
    char *dir = tu_mkdtemp(), *log = tu_path(dir, "log"), path[512];
    mp_tlogdir *d;
    keys_make(&k);
    append3(log, &k, "r1", 2);
    /* A crash after writing entries and a history file but before the checkpoint. */
    snprintf(path, sizeof path, "%s/entries/00000002", log);
    tu_write(path, "garbage", 7);
    snprintf(path, sizeof path, "%s/checkpoints/00000003", log);
    tu_write(path, "garbage", 7);
    assert_int_equal(verify_dir(log, &k, 0), 0);
    assert_int_equal(mp_tlogdir_load(&d, log, 0), 0);
    assert_int_equal(d->cp.size, 2);
    assert_int_equal(d->nhistory, 1);
    mp_tlogdir_free(d);
    /* The next append overwrites both. */
    mp_tlog_doc doc = {"release", "{\"x\":1}", 7};
    uint64_t added, size;
    assert_int_equal(mp_tlogdir_append(log, ORIGIN, k.sk, &doc, 1, &added, &size), 0);
    assert_int_equal(size, 3);
    assert_int_equal(verify_dir(log, &k, 0), 0);
    free(log);
    tu_rmdir(dir);
}

static void test_tampering_found(void **state)
{
    (void)state;
    keyset k;
    char *dir = tu_mkdtemp(), *log = tu_path(dir, "log"), path[512], cmd[1200];
    mp_tlogdir *d;
    keys_make(&k);
    append3(log, &k, "r1", 2);
    append3(log, &k, "r2", 2);

    /* An entry removed. */
    snprintf(cmd, sizeof cmd, "cp -r %s %s/t1 && rm %s/t1/entries/00000001", log, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/t1", dir);
    assert_int_equal(mp_tlogdir_load(&d, path, 0), -1);
    assert_non_null(strstr(mp_error_get(), "entries/00000001 is missing"));

    /* The log truncated (the last entry gone). */
    snprintf(cmd, sizeof cmd, "cp -r %s %s/t2 && rm %s/t2/entries/00000003", log, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/t2", dir);
    assert_int_equal(mp_tlogdir_load(&d, path, 0), -1);
    assert_non_null(strstr(mp_error_get(), "truncated"));

    /* Two entries swapped: well framed, but the tree is another. */
    snprintf(cmd, sizeof cmd,
             "cp -r %s %s/t3 && cd %s/t3/entries && mv 00000000 x && mv 00000001 00000000 && "
             "mv x 00000001",
             log, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/t3", dir);
    assert_int_equal(mp_tlogdir_load(&d, path, 0), -1);
    assert_non_null(strstr(mp_error_get(), "checkpoints/00000002"));

    /* An entry rewritten with a consistent header: the root gives it away. */
    snprintf(cmd, sizeof cmd, "cp -r %s %s/t4", log, dir);
    assert_int_equal(system(cmd), 0);
    unsigned char *e;
    size_t len;
    assert_int_equal(mp_tlog_entry_encode(&e, &len, "release", "{\"doc\":\"r2-X\"}", 14), 0);
    snprintf(path, sizeof path, "%s/t4/entries/00000003", dir);
    tu_write(path, e, len);
    free(e);
    snprintf(path, sizeof path, "%s/t4", dir);
    assert_int_equal(mp_tlogdir_load(&d, path, 0), -1);
    assert_non_null(strstr(mp_error_get(), "do not hash to the root"));

    /* The latest checkpoint replaced by a re-signed rewrite with a stranger's key. */
    keyset k2;
    keys_make(&k2);
    snprintf(path, sizeof path, "%s/t5", dir);
    {
        mp_tlog_doc docs[1] = {{"round", "{\"doc\":\"other\"}", 15}};
        uint64_t added, size;
        assert_int_equal(mp_tlogdir_append(path, ORIGIN, k2.sk, docs, 1, &added, &size), 0);
    }
    assert_int_equal(verify_dir(path, &k, 0), -1);
    assert_non_null(strstr(mp_error_get(), "not a trusted key"));

    /* Rolled back: the latest checkpoint replaced by an older one. The entries and history
     * up to it are consistent, but the newer signed history file gives it away. */
    snprintf(cmd, sizeof cmd, "cp -r %s %s/t6 && cp %s/t6/checkpoints/00000002 %s/t6/checkpoint",
             log, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/t6", dir);
    assert_int_equal(verify_dir(path, &k, 0), -1);
    assert_non_null(strstr(mp_error_get(), "rolled back"));

    /* The untouched one still verifies. */
    assert_int_equal(verify_dir(log, &k, 0), 0);
    free(log);
    tu_rmdir(dir);
}

static void test_extends_catches_fork(void **state)
{
    (void)state;
    keyset k;
    char *dir = tu_mkdtemp(), *a = tu_path(dir, "a"), *b = tu_path(dir, "b");
    mp_tlogdir *d;
    mp_checkpoint old = {0};
    keys_make(&k);
    append3(a, &k, "r1", 2);
    append3(b, &k, "r1", 2);
    assert_int_equal(mp_tlogdir_load(&d, a, 0), 0);
    old = d->cp;
    old.extensions = NULL;
    mp_tlogdir_free(d);
    /* Both grow; b grows with a different history after the common prefix... */
    append3(a, &k, "r2", 2);
    append3(b, &k, "fork", 2);
    assert_int_equal(mp_tlogdir_load(&d, a, 0), 0);
    assert_int_equal(mp_tlogdir_extends(d, &old), 0);
    mp_checkpoint a4 = d->cp;
    a4.extensions = NULL;
    mp_tlogdir_free(d);
    assert_int_equal(mp_tlogdir_load(&d, b, 0), 0);
    assert_int_equal(mp_tlogdir_extends(d, &old), 0); /* b also extends the common prefix */
    /* ...but b does not extend what a witness cosigned of a. */
    assert_int_equal(mp_tlogdir_extends(d, &a4), -1);
    assert_non_null(strstr(mp_error_get(), "fork"));
    mp_tlogdir_free(d);
    free(a);
    free(b);
    tu_rmdir(dir);
}

/* The auditor's budget check over the rounds of a log (protocol/log/roundlog.c). */
static void test_budget_over_all_rounds(void **state)
{
    (void)state;
    mp_roundlog_round r[3] = {
        {.round_id = "a", .series = "s", .rho = 1, .series_rho = 3, .series_spent = 0},
        {.round_id = "b",
         .series = "s",
         .rho = 1,
         .series_rho = 3,
         .series_spent = 1,
         .spent_before = 1},
        {.round_id = "c",
         .series = "s",
         .rho = 1,
         .series_rho = 3,
         .series_spent = 2,
         .spent_before = 2}};
    assert_int_equal(mp_roundlog_budget_check(r, 3), 0);
    r[2].series_spent = 1; /* understates */
    assert_int_equal(mp_roundlog_budget_check(r, 3), -1);
    assert_non_null(strstr(mp_error_get(), "round c declared"));
    r[2].series_spent = 2;
    r[2].series_rho = 2.5; /* over budget, counting every round */
    assert_int_equal(mp_roundlog_budget_check(r, 3), -1);
    assert_non_null(strstr(mp_error_get(), "over budget at round c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_framing),
        cmocka_unit_test(test_append_verify_history),
        cmocka_unit_test(test_crash_leftovers_ignored),
        cmocka_unit_test(test_tampering_found),
        cmocka_unit_test(test_extends_catches_fork),
        cmocka_unit_test(test_budget_over_all_rounds),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
