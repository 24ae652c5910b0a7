/*
 * test_cms.c - detached CMS signatures of a release (protocol/crypto/cms.c), with certificates made
 * by tools/test-ca (stock openssl commands), and cross-checked with the openssl command line.
 */
#include "testutil.h"

#include <sys/stat.h>

#include "cms.h"
#include "fileio.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "../../tools/test-ca init %s/ca >/dev/null 2>&1 && ../../tools/test-ca issue %s/ca "
             "coord 00000001003214345000 >/dev/null 2>&1 && ../../tools/test-ca init %s/other "
             ">/dev/null 2>&1 && printf '{\"x\":1}' >%s/release.json",
             dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static char *p(const char *name)
{
    return tu_path(dir, name);
}

static void test_sign_and_verify(void **state)
{
    (void)state;
    char *rel = p("release.json"), *sig = p("release.json.p7s"), *chain = p("chain.pem"),
         *cert = p("ca/coord.pem"), *key = p("ca/coord.key"), *ca = p("ca/ca.pem"),
         *other = p("other/ca.pem"), cmd[2048];
    assert_int_equal(mp_cms_sign_file(rel, cert, key, NULL, sig, chain), 0);
    assert_int_equal(mp_cms_verify_file(rel, sig, ca), 0);
    /* Stock openssl agrees. */
    snprintf(cmd, sizeof cmd,
             "openssl cms -verify -binary -inform DER -in %s -content %s -CAfile %s -out "
             "/dev/null 2>/dev/null",
             sig, rel, ca);
    assert_int_equal(system(cmd), 0);
    /* chain.pem starts with the signer's certificate. */
    snprintf(cmd, sizeof cmd, "openssl x509 -in %s -noout -subject | grep -q 'O = coord'", chain);
    assert_int_equal(system(cmd), 0);
    /* Another CA, or one byte of the content changed: refused. */
    assert_int_equal(mp_cms_verify_file(rel, sig, other), -1);
    tu_write(rel, "{\"x\":2}", 7);
    assert_int_equal(mp_cms_verify_file(rel, sig, ca), -1);
    assert_non_null(strstr(mp_error_get(), "does not verify"));
    tu_write(rel, "{\"x\":1}", 7);
    free(rel), free(sig), free(chain), free(cert), free(key), free(ca), free(other);
}

static void test_wrong_keys_refused(void **state)
{
    (void)state;
    char *rel = p("release.json"), *sig = p("bad.p7s"), *chain = p("bad.pem"),
         *cert = p("ca/coord.pem"), *cakey = p("ca/ca.key"), *key = p("ca/coord.key"),
         *p384 = p("p384.key"), cmd[1024];
    /* A key that is not the certificate's. */
    assert_int_equal(mp_cms_sign_file(rel, cert, cakey, NULL, sig, chain), -1);
    assert_non_null(strstr(mp_error_get(), "does not belong"));
    /* Not P-256. */
    snprintf(cmd, sizeof cmd,
             "(umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "
             "%s) 2>/dev/null",
             p384);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(mp_cms_sign_file(rel, cert, p384, NULL, sig, chain), -1);
    assert_non_null(strstr(mp_error_get(), "P-256"));
    /* A key file others can read. */
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(mp_cms_sign_file(rel, cert, key, NULL, sig, chain), -1);
    assert_non_null(strstr(mp_error_get(), "readable by group or others"));
    assert_int_equal(chmod(key, 0600), 0);
    /* Nothing was written by the refusals. */
    assert_false(mp_file_exists(sig));
    free(rel), free(sig), free(chain), free(cert), free(cakey), free(key), free(p384);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_wrong_keys_refused),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
