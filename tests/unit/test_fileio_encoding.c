/*
 * test_fileio_encoding.c - whole-file reads, atomic and secret writes (protocol/core/fileio.c),
 * hex, base64, document hashes and the wire byte order (protocol/core/encoding.c), and the code
 * lists of the spells export (protocol/ingest/codes.c).
 */
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>

#include "codes.h"
#include "encoding.h"
#include "fileio.h"

typedef struct world {
    char *dir;
    mode_t umask_was;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->dir = tu_mkdtemp();
    w->umask_was = umask(022);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    umask(w->umask_was);
    tu_rmdir(w->dir);
    free(w);
    return 0;
}

/* Entries of dir (other than . and ..) whose name contains needle. */
static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strstr(e->d_name, needle) != NULL)
            n++;
    closedir(d);
    return n;
}

static void assert_content(const char *path, const char *expect, size_t len)
{
    unsigned char *buf;
    size_t got;
    if (mp_file_read(path, 1 << 20, &buf, &got) != 0)
        fail_msg("read %s: %s", path, mp_error_get());
    assert_int_equal(got, len);
    assert_memory_equal(buf, expect, len);
    assert_int_equal(buf[got], '\0');
    free(buf);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

/* ---- fileio ------------------------------------------------------------------------------ */

static void test_write_atomic(void **state)
{
    world *w = *state;
    char *path = tu_path(w->dir, "release.json");
    assert_int_equal(mp_file_write_atomic(path, "old content", 11, 0644), 0);
    assert_content(path, "old content", 11);
    assert_int_equal(mode_of(path), 0644);
    /* Replaced by a shorter one: nothing of the old content is left. */
    assert_int_equal(mp_file_write_atomic(path, "new", 3, 0644), 0);
    assert_content(path, "new", 3);
    /* Binary content with NUL bytes, and an empty file. */
    static const char bin[] = {'a', 0, 'b', 0, 0, (char)0xff};
    assert_int_equal(mp_file_write_atomic(path, bin, sizeof bin, 0644), 0);
    assert_content(path, bin, sizeof bin);
    assert_int_equal(mp_file_write_atomic(path, "", 0, 0644), 0);
    assert_content(path, "", 0);
    /* No temporary file is left behind, and the directory holds only the target. */
    assert_int_equal(count_entries(w->dir, ".tmp"), 0);
    assert_int_equal(count_entries(w->dir, ""), 1);
    /* The mode asked for (under the umask). */
    char *other = tu_path(w->dir, "private.txt");
    assert_int_equal(mp_file_write_atomic(other, "x", 1, 0600), 0);
    assert_int_equal(mode_of(other), 0600);
    /* A directory that does not exist: refused, nothing created. */
    char *nodir = tu_path(w->dir, "none/file.txt");
    assert_int_equal(mp_file_write_atomic(nodir, "x", 1, 0644), -1);
    assert_true(strlen(mp_error_get()) > 0);
    assert_int_equal(count_entries(w->dir, ".tmp"), 0);
    assert_int_equal(count_entries(w->dir, ""), 2);
    free(nodir);
    free(other);
    free(path);
}

static void test_write_secret(void **state)
{
    world *w = *state;
    char *path = tu_path(w->dir, "key.secret");
    /* 0600 whatever the umask says. */
    umask(0);
    assert_int_equal(mp_file_write_secret(path, "secret", 6), 0);
    umask(022);
    assert_int_equal(mode_of(path), 0600);
    assert_content(path, "secret", 6);
    /* An existing file is never overwritten. */
    assert_int_equal(mp_file_write_secret(path, "other", 5), -1);
    assert_non_null(strstr(mp_error_get(), "already exists"));
    assert_content(path, "secret", 6);

    /* Not through a symbolic link: neither a dangling one nor one to an existing file. */
    char *target = tu_path(w->dir, "target");
    char *link = tu_path(w->dir, "link");
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(mp_file_write_secret(link, "secret", 6), -1);
    assert_false(mp_file_exists(target));
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    tu_write(target, "public", 6);
    assert_int_equal(mp_file_write_secret(link, "secret", 6), -1);
    assert_content(target, "public", 6);
    /* A directory that does not exist. */
    char *nodir = tu_path(w->dir, "none/key");
    assert_int_equal(mp_file_write_secret(nodir, "x", 1), -1);
    free(nodir);
    free(link);
    free(target);
    free(path);
}

static void test_read_secret(void **state)
{
    world *w = *state;
    unsigned char *buf = NULL;
    size_t len = 0;
    char *path = tu_path(w->dir, "key.secret");
    assert_int_equal(mp_file_write_secret(path, "0123456789", 10), 0);
    /* A file of exactly the limit, NUL-terminated. */
    if (mp_file_read_secret(path, 10, &buf, &len) != 0)
        fail_msg("read secret: %s", mp_error_get());
    assert_int_equal(len, 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_int_equal(buf[10], '\0');
    mp_file_free_secret(buf);
    mp_file_free_secret(NULL);
    /* One byte over the limit. */
    buf = NULL;
    assert_int_equal(mp_file_read_secret(path, 9, &buf, &len), -1);
    assert_null(buf);
    assert_non_null(strstr(mp_error_get(), "too large"));
    /* Read-only for the owner is fine too. */
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(mp_file_read_secret(path, 100, &buf, &len), 0);
    mp_file_free_secret(buf);

    /* Readable by others or the group. */
    static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0700 | 0044};
    for (size_t i = 0; i < sizeof open_modes / sizeof *open_modes; i++) {
        assert_int_equal(chmod(path, open_modes[i]), 0);
        buf = NULL;
        assert_int_equal(mp_file_read_secret(path, 100, &buf, &len), -1);
        assert_null(buf);
        assert_non_null(strstr(mp_error_get(), "chmod 600"));
    }
    assert_int_equal(chmod(path, 0600), 0);

    /* A symbolic link to a proper secret file. */
    char *link = tu_path(w->dir, "link.secret");
    assert_int_equal(symlink(path, link), 0);
    buf = NULL;
    assert_int_equal(mp_file_read_secret(link, 100, &buf, &len), -1);
    assert_null(buf);
    assert_non_null(strstr(mp_error_get(), "symbolic link"));
    /* A directory, and a file that does not exist. */
    assert_int_equal(mp_file_read_secret(w->dir, 100, &buf, &len), -1);
    char *none = tu_path(w->dir, "none");
    assert_int_equal(mp_file_read_secret(none, 100, &buf, &len), -1);
    assert_null(buf);
    free(none);
    free(link);
    free(path);
}

static void test_read(void **state)
{
    world *w = *state;
    unsigned char *buf = NULL;
    size_t len = 99;
    char *path = tu_path(w->dir, "data.bin");
    static const char data[] = {'a', 'b', 0, 'c', 'd'};
    tu_write(path, data, sizeof data);
    /* At the limit: the whole file, a NUL appended but not counted. */
    assert_int_equal(mp_file_read(path, sizeof data, &buf, &len), 0);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(buf, data, sizeof data);
    assert_int_equal(buf[len], '\0');
    free(buf);
    /* Over it. */
    buf = NULL;
    assert_int_equal(mp_file_read(path, sizeof data - 1, &buf, &len), -1);
    assert_null(buf);
    assert_non_null(strstr(mp_error_get(), "limit"));
    assert_int_equal(mp_error_kind_get(), MP_ERR_REFUSED); /* the document, not the system */
    /* An empty file. */
    char *empty = tu_path(w->dir, "empty");
    tu_write(empty, "", 0);
    assert_int_equal(mp_file_read(empty, 0, &buf, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(buf[0], '\0');
    free(buf);
    /* A directory and a missing file; a symlink is followed (not a secret). */
    buf = NULL;
    assert_int_equal(mp_file_read(w->dir, 100, &buf, &len), -1);
    assert_non_null(strstr(mp_error_get(), "not a regular file"));
    assert_int_equal(mp_error_kind_get(), MP_ERR_SYSTEM);
    char *none = tu_path(w->dir, "none");
    mp_error_set("an earlier refusal");
    assert_int_equal(mp_file_read(none, 100, &buf, &len), -1);
    assert_null(buf);
    assert_int_equal(mp_error_kind_get(), MP_ERR_SYSTEM);
    assert_int_equal(mp_error_exit_code(), 2);
    char *link = tu_path(w->dir, "link");
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(mp_file_read(link, 100, &buf, &len), 0);
    assert_int_equal(len, sizeof data);
    free(buf);
    /* mp_file_exists: file, directory, dangling link yes; missing no. */
    char *dangling = tu_path(w->dir, "dangling");
    assert_int_equal(symlink(none, dangling), 0);
    assert_int_equal(mp_file_exists(path), 1);
    assert_int_equal(mp_file_exists(w->dir), 1);
    assert_int_equal(mp_file_exists(dangling), 1);
    assert_int_equal(mp_file_exists(none), 0);
    free(dangling);
    free(link);
    free(none);
    free(empty);
    free(path);
}

/* Failures carry their kind (error.h): set at the failure site, kept by a prefix. */
static void test_error_kinds(void **state)
{
    world *w = *state;
    mp_error_clear();
    assert_int_equal(mp_error_kind_get(), MP_ERR_REFUSED);
    assert_int_equal(mp_error_system("disk %d on fire", 3), -1);
    assert_string_equal(mp_error_get(), "disk 3 on fire");
    assert_int_equal(mp_error_kind_get(), MP_ERR_SYSTEM);
    assert_int_equal(mp_error_prefix("store: "), -1);
    assert_string_equal(mp_error_get(), "store: disk 3 on fire");
    assert_int_equal(mp_error_kind_get(), MP_ERR_SYSTEM);
    assert_int_equal(mp_error_exit_code(), 2);
    assert_int_equal(mp_error_set("bad signature"), -1);
    assert_int_equal(mp_error_kind_get(), MP_ERR_REFUSED);
    assert_int_equal(mp_error_exit_code(), 1);
    assert_int_equal(mp_error_prefix("x.json: "), -1);
    assert_int_equal(mp_error_kind_get(), MP_ERR_REFUSED);
    mp_error_system("again");
    mp_error_clear();
    assert_int_equal(mp_error_kind_get(), MP_ERR_REFUSED);
    assert_string_equal(mp_error_get(), "");

    /* Writing where the system says no is a system failure; refusing to overwrite a key is a
     * refusal. */
    char *nodir = tu_path(w->dir, "no/such/dir/file");
    assert_int_equal(mp_file_write_atomic(nodir, "x", 1, 0644), -1);
    assert_int_equal(mp_error_kind_get(), MP_ERR_SYSTEM);
    char *key = tu_path(w->dir, "k.key");
    assert_int_equal(mp_file_write_secret(key, "s", 1), 0);
    assert_int_equal(mp_file_write_secret(key, "s", 1), -1);
    assert_non_null(strstr(mp_error_get(), "already exists"));
    assert_int_equal(mp_error_kind_get(), MP_ERR_REFUSED);
    /* A secret others can read is refused; one in a missing file cannot be opened. */
    unsigned char *buf;
    size_t len;
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(mp_file_read_secret(key, 100, &buf, &len), -1);
    assert_int_equal(mp_error_kind_get(), MP_ERR_REFUSED);
    assert_int_equal(mp_file_read_secret(nodir, 100, &buf, &len), -1);
    assert_int_equal(mp_error_kind_get(), MP_ERR_SYSTEM);
    free(key);
    free(nodir);
}

/* ---- encoding ---------------------------------------------------------------------------- */

static void test_hex(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {0x00, 0xff, 0x10, 0xab, 0x7f, 0x80, 0x09};
    unsigned char out[sizeof bytes];
    char hex[2 * sizeof bytes + 1];
    mp_hex_encode(hex, bytes, sizeof bytes);
    assert_string_equal(hex, "00ff10ab7f8009");
    memset(out, 0xee, sizeof out);
    assert_int_equal(mp_hex_decode(out, sizeof out, hex), 0);
    assert_memory_equal(out, bytes, sizeof bytes);
    mp_hex_encode(hex, bytes, 0);
    assert_string_equal(hex, "");
    assert_int_equal(mp_hex_decode(out, 0, ""), 0);

    /* Upper case: one value, one spelling. */
    assert_int_equal(mp_hex_decode(out, sizeof out, "00FF10AB7F8009"), -1);
    assert_non_null(strstr(mp_error_get(), "lower-case"));
    assert_int_equal(mp_hex_decode(out, sizeof out, "00ff10aB7f8009"), -1);
    /* Wrong lengths. */
    assert_int_equal(mp_hex_decode(out, sizeof out, "00ff10ab7f80"), -1);
    assert_non_null(strstr(mp_error_get(), "14 hex"));
    assert_int_equal(mp_hex_decode(out, sizeof out, "00ff10ab7f800900"), -1);
    assert_int_equal(mp_hex_decode(out, sizeof out, "00ff10ab7f8009a"), -1);
    assert_int_equal(mp_hex_decode(out, sizeof out, ""), -1);
    assert_int_equal(mp_hex_decode(out, sizeof out, NULL), -1);
    /* Not hex at all, or with separators. */
    assert_int_equal(mp_hex_decode(out, sizeof out, "00ff10ab7f80zz"), -1);
    assert_int_equal(mp_hex_decode(out, 2, "0g00"), -1);
    assert_int_equal(mp_hex_decode(out, 2, "00:f"), -1);
    assert_int_equal(mp_hex_decode(out, 2, "00 f"), -1);
    assert_int_equal(mp_hex_decode(out, 2, "-0ff"), -1);
}

static void test_base64(void **state)
{
    (void)state;
    /* RFC 4648 section 10. */
    static const char *const rfc[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof rfc / sizeof *rfc; i++) {
        char *e = mp_base64_encode((const unsigned char *)rfc[i][0], strlen(rfc[i][0]));
        assert_non_null(e);
        assert_string_equal(e, rfc[i][1]);
        free(e);
    }
    /* Round trips of every length 0..70 (all byte values occur). */
    unsigned char in[71], exact[71];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 37 + 11);
    in[0] = 0x00;
    in[1] = 0xff;
    in[2] = 0xfb; /* encodes to '+' and '/' */
    in[3] = 0xff;
    for (size_t n = 0; n <= 70; n++) {
        char *e = mp_base64_encode(in, n);
        unsigned char *out = NULL;
        size_t len = 12345;
        assert_non_null(e);
        assert_int_equal(strlen(e), (n + 2) / 3 * 4);
        assert_int_equal(strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789+/="),
                         strlen(e));
        if (mp_base64_decode(&out, &len, e) != 0)
            fail_msg("length %zu: %s", n, mp_error_get());
        assert_int_equal(len, n);
        assert_memory_equal(out, in, n);
        free(out);
        memset(exact, 0, sizeof exact);
        assert_int_equal(mp_base64_decode_exact(exact, n, e), 0);
        assert_memory_equal(exact, in, n);
        /* Exactly n: one byte more or less is refused. */
        assert_int_equal(mp_base64_decode_exact(exact, n + 1, e), -1);
        assert_non_null(strstr(mp_error_get(), "expected"));
        if (n > 0)
            assert_int_equal(mp_base64_decode_exact(exact, n - 1, e), -1);
        free(e);
    }
    /* Strict decoding: no whitespace anywhere, padding required, standard alphabet only, and
     * one spelling per value ("Zh==" would be a second spelling of "f": non-zero pad bits). */
    static const char *const bad[] = {
        "Zm9v\n", " Zm9v", "Zm 9v",  "Zm9v\r\n",  "Zm9vYg=\n=", "Zm\t9v",   "Zg",
        "Zg=",    "Zm8",   "Zm9vYg", "Zm9vYmE",   "Zm9vY",      "Zm9v====", "Zm9-",
        "Zm9_",   "Zm9v!", "=Zm9v",  "Zg==Zg==x", "Zm9vYg===",  "Zh==",     "Zm9="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char *out = NULL;
        size_t len;
        if (mp_base64_decode(&out, &len, bad[i]) == 0) {
            free(out);
            fail_msg("\"%s\" accepted", bad[i]);
        }
        assert_null(out);
    }
    unsigned char three[3];
    assert_int_equal(mp_base64_decode_exact(three, 3, "Zm9v"), 0);
    assert_memory_equal(three, "foo", 3);
    assert_int_equal(mp_base64_decode_exact(three, 3, "Zm8="), -1);
    assert_non_null(strstr(mp_error_get(), "expected 3 bytes"));
    assert_int_equal(mp_base64_decode_exact(three, 3, "Zm9v\n"), -1);
}

/* The fast decoder takes exactly what libsodium decodes and what encodes back to itself: for
 * random values and random one-character corruptions of their encodings, mp_base64_decode
 * and mp_base64_decode_exact agree with that rule, and give the same bytes. */
static void test_base64_fast_path(void **state)
{
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n-_";
    unsigned char v[300], ref[300], got[300], *dec;
    size_t reflen, dlen;
    const char *end;
    (void)state;
    for (int round = 0; round < 4000; round++) {
        size_t n = randombytes_uniform(sizeof v);
        randombytes_buf(v, n);
        char *b = mp_base64_encode(v, n);
        assert_non_null(b);
        size_t bl = strlen(b);
        if (round % 2 && bl > 0) /* corrupt one character */
            b[randombytes_uniform((uint32_t)bl)] = chars[randombytes_uniform(sizeof chars - 1)];
        int ok = sodium_base642bin(ref, sizeof ref, b, bl, NULL, &reflen, &end,
                                   sodium_base64_VARIANT_ORIGINAL) == 0 &&
                 *end == '\0';
        if (ok) {
            char *again = mp_base64_encode(ref, reflen);
            ok = strcmp(again, b) == 0;
            free(again);
        }
        int r = mp_base64_decode(&dec, &dlen, b);
        assert_int_equal(r == 0, ok);
        if (r == 0) {
            assert_int_equal(dlen, reflen);
            assert_memory_equal(dec, ref, reflen);
            free(dec);
        }
        r = mp_base64_decode_exact(got, n, b);
        assert_int_equal(r == 0, ok && reflen == n);
        if (r == 0)
            assert_memory_equal(got, ref, n);
        free(b);
    }
}

static void test_hash(void **state)
{
    (void)state;
    char hex[MP_HASH_HEX_BYTES];
    unsigned char h[MP_HASH_BYTES];
    /* FIPS 180-2 known answers. */
    mp_hash_hex(hex, "abc", 3);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    mp_hash_hex(hex, "", 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mp_hash_hex(hex, two, sizeof two - 1);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    mp_hash(h, "abc", 3);
    assert_int_equal(h[0], 0xba);
    assert_int_equal(h[31], 0xad);
    assert_int_equal(strlen(hex), MP_HASH_HEX_BYTES - 1);
}

static void test_le64(void **state)
{
    (void)state;
    unsigned char b[8];
    mp_store64_le(b, UINT64_C(0x0102030405060708));
    static const unsigned char expect[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(b, expect, 8);
    assert_true(mp_load64_le(expect) == UINT64_C(0x0102030405060708));
    static const uint64_t values[] = {0,
                                      1,
                                      0xff,
                                      0x100,
                                      UINT64_C(0x8000000000000000),
                                      UINT64_MAX,
                                      UINT64_C(0xdeadbeefcafebabe),
                                      (uint64_t)INT64_C(-2)};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        mp_store64_le(b, values[i]);
        assert_true(mp_load64_le(b) == values[i]);
        for (int k = 0; k < 8; k++)
            assert_int_equal(b[k], (values[i] >> (8 * k)) & 0xff);
    }
    /* Unaligned. */
    unsigned char buf[17] = {0};
    mp_store64_le(buf + 3, UINT64_C(0x1122334455667788));
    assert_int_equal(buf[3], 0x88);
    assert_int_equal(buf[10], 0x11);
    assert_int_equal(buf[2], 0);
    assert_int_equal(buf[11], 0);
    assert_true(mp_load64_le(buf + 3) == UINT64_C(0x1122334455667788));
}

/* ---- codes ------------------------------------------------------------------------------- */

static void test_codes(void **state)
{
    (void)state;
    static const char *const spells[MP_SPELL_COUNT] = {
        "bijstand", "ioaw",          "ww",     "wajong", "wia", "doelgroepenregister",
        "baan",     "banenafspraak", "traject"};
    for (int c = 0; c < MP_SPELL_COUNT; c++) {
        assert_string_equal(mp_spell_type_name(c), spells[c]);
        assert_int_equal(mp_spell_type_parse(mp_spell_type_name(c)), c);
    }
    static const char *const reasons[MP_REASON_COUNT] = {
        "", "werk", "opleiding", "verhuizing", "pensioen", "overlijden", "detentie", "overig"};
    for (int c = 0; c < MP_REASON_COUNT; c++) {
        assert_string_equal(mp_end_reason_name(c), reasons[c]);
        assert_int_equal(mp_end_reason_parse(mp_end_reason_name(c)), c);
    }
    assert_int_equal(mp_end_reason_parse(""), MP_REASON_NONE);
    /* Unknown names, other spellings and codes out of range. */
    static const char *const unknown[] = {"Bijstand", "BIJSTAND", "uitkering", "",
                                          " ww",      "ww ",      "dgr",       "werk"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        assert_int_equal(mp_spell_type_parse(unknown[i]), -1);
    static const char *const unknown_reasons[] = {"Werk", "ontslag", "bijstand", " ", "werk "};
    for (size_t i = 0; i < sizeof unknown_reasons / sizeof *unknown_reasons; i++)
        assert_int_equal(mp_end_reason_parse(unknown_reasons[i]), -1);
    assert_string_equal(mp_spell_type_name(-1), "?");
    assert_string_equal(mp_spell_type_name(MP_SPELL_COUNT), "?");
    assert_string_equal(mp_end_reason_name(-1), "?");
    assert_string_equal(mp_end_reason_name(MP_REASON_COUNT), "?");
    /* Flags and sex. */
    assert_int_equal(mp_flag_parse("statushouder"), MP_FLAG_STATUSHOUDER);
    assert_int_equal(mp_flag_parse("alleenstaande_ouder"), MP_FLAG_ALLEENSTAANDE_OUDER);
    assert_int_equal(mp_flag_parse("partner"), MP_FLAG_PARTNER);
    assert_int_equal(mp_flag_parse("rijk"), -1);
    assert_int_equal(mp_flag_parse(""), -1);
    assert_int_equal(mp_sex_parse("M"), MP_SEX_M);
    assert_int_equal(mp_sex_parse("V"), MP_SEX_V);
    assert_int_equal(mp_sex_parse("X"), MP_SEX_X);
    assert_int_equal(mp_sex_parse(""), MP_SEX_X);
    assert_int_equal(mp_sex_parse("m"), -1);
    assert_int_equal(mp_sex_parse("Q"), -1);
}

static void test_gemeente_normalise(void **state)
{
    (void)state;
    static const char *const ok[][2] = {
        {"GM0344", "GM0344"}, {"gm0344", "GM0344"}, {"0344", "GM0344"},  {"344", "GM0344"},
        {"44", "GM0044"},     {"4", "GM0004"},      {"GM344", "GM0344"}, {"Gm1904", "GM1904"},
        {"9999", "GM9999"},   {"GM0001", "GM0001"}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char out[7] = "xxxxxx";
        if (mp_gemeente_normalise(out, ok[i][0]) != 1)
            fail_msg("\"%s\" refused", ok[i][0]);
        assert_string_equal(out, ok[i][1]);
    }
    static const char *const bad[] = {"GM0000", "0000", "0",     "12345",   "GMx344",
                                      "",       "GM",   "G0344", "GM03440", "GM-344",
                                      "GM 344", "344 ", "M0344", "0x34",    "GM00344"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[7];
        if (mp_gemeente_normalise(out, bad[i]) != 0)
            fail_msg("\"%s\" accepted", bad[i]);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_kinds, setup, teardown),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_base64_fast_path),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_le64),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_gemeente_normalise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
