/*
 * test_canon.c - canonical JSON (protocol/core/canon.c): the exact bytes that are signed.
 */
#include "testutil.h"

#include "canon.h"

/* Parse `len` bytes and return the canonical text (the test fails when either step fails). */
static char *canon_n(const char *in, size_t len)
{
    cJSON *j = NULL;
    char *out = NULL;
    size_t olen = 0;
    if (mp_canon_parse(&j, in, len) != 0)
        fail_msg("parse refused %s: %s", in, mp_error_get());
    assert_int_equal(mp_canon_serialise(&out, &olen, j), 0);
    assert_int_equal(olen, strlen(out));
    cJSON_Delete(j);
    return out;
}

static char *canon(const char *in)
{
    return canon_n(in, strlen(in));
}

static void expect_canon(const char *in, const char *want)
{
    char *out = canon(in);
    assert_string_equal(out, want);
    free(out);
}

static void refuse_n(const char *in, size_t len)
{
    cJSON *j = (cJSON *)0x1;
    mp_error_clear();
    if (mp_canon_parse(&j, in, len) == 0) {
        cJSON_Delete(j);
        fail_msg("parse accepted %zu bytes \"%s\"", len, in);
    }
    assert_ptr_equal(j, (cJSON *)0x1); /* no output on failure */
    assert_true(strlen(mp_error_get()) > 0);
}

static void refuse(const char *in)
{
    refuse_n(in, strlen(in));
}

static void test_known_answer(void **state)
{
    (void)state;
    /* The brief's vector: keys sorted, no whitespace, \n escaped. */
    expect_canon("{\"b\":1,\"a\":[true,null,\"x\\n\"]}", "{\"a\":[true,null,\"x\\n\"],\"b\":1}");
    /* Same document with whitespace and the newline escaped differently. */
    expect_canon(" {\n\t\"b\" : 1 ,\r\n \"a\" : [ true , null , \"x\\u000A\" ] }\n",
                 "{\"a\":[true,null,\"x\\n\"],\"b\":1}");
    /* Built as a tree rather than parsed. */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "b", 1);
    cJSON *a = cJSON_AddArrayToObject(o, "a");
    cJSON_AddItemToArray(a, cJSON_CreateTrue());
    cJSON_AddItemToArray(a, cJSON_CreateNull());
    cJSON_AddItemToArray(a, cJSON_CreateString("x\n"));
    char *out;
    size_t len;
    assert_int_equal(mp_canon_serialise(&out, &len, o), 0);
    assert_int_equal(len, 29);
    assert_memory_equal(out, "{\"a\":[true,null,\"x\\n\"],\"b\":1}", 30);
    free(out);
    cJSON_Delete(o);
}

static void test_scalars(void **state)
{
    (void)state;
    expect_canon("true", "true");
    expect_canon("false", "false");
    expect_canon("null", "null");
    expect_canon("0", "0");
    expect_canon("-0", "0");
    expect_canon("-17", "-17");
    expect_canon("9007199254740991", "9007199254740991");
    expect_canon("-9007199254740991", "-9007199254740991");
    expect_canon("\"\"", "\"\"");
    expect_canon("[]", "[]");
    expect_canon("{}", "{}");
    expect_canon("[ ]", "[]");
    expect_canon("{ }", "{}");
    expect_canon("[1,[2,[3,{}]],{\"a\":[]}]", "[1,[2,[3,{}]],{\"a\":[]}]");
}

static void test_keys_sorted_by_bytes(void **state)
{
    (void)state;
    /* memcmp order: "" < "B" < "Z" < "_" < "a" < "aa" < "ab" < "b" < U+00E9 (c3 a9) < U+4E2D */
    expect_canon("{\"\xe4\xb8\xad\":8,\"ab\":6,\"\xc3\xa9\":7,\"a\":4,\"_\":3,\"aa\":5,"
                 "\"Z\":2,\"B\":1,\"\":0,\"b\":9}",
                 "{\"\":0,\"B\":1,\"Z\":2,\"_\":3,\"a\":4,\"aa\":5,\"ab\":6,\"b\":9,"
                 "\"\xc3\xa9\":7,\"\xe4\xb8\xad\":8}");
    /* Nested objects are sorted too, arrays keep their order. */
    expect_canon("{\"z\":{\"y\":1,\"x\":2},\"a\":[{\"d\":1,\"c\":2},3,1]}",
                 "{\"a\":[{\"c\":2,\"d\":1},3,1],\"z\":{\"x\":2,\"y\":1}}");
    /* A key spelled with an escape sorts by its decoded bytes. */
    expect_canon("{\"\\u0062\":1,\"a\":2}", "{\"a\":2,\"b\":1}");
}

static void test_string_escapes(void **state)
{
    (void)state;
    expect_canon("\"q\\\"b\\\\s\\/\"", "\"q\\\"b\\\\s/\"");
    expect_canon("\"\\b\\t\\n\\f\\r\"", "\"\\b\\t\\n\\f\\r\"");
    expect_canon("\"\\u0008\\u0009\\u000a\\u000c\\u000d\"", "\"\\b\\t\\n\\f\\r\"");
    /* Other controls as \u00xx with lower-case hex. */
    expect_canon("\"\\u0001\\u000B\\u000e\\u001F\\u001b\"",
                 "\"\\u0001\\u000b\\u000e\\u001f\\u001b\"");
    /* DEL and everything above U+001F is written as-is. */
    expect_canon("\"\\u007f ~\"", "\"\x7f ~\"");
    /* Non-ASCII: escapes are decoded to UTF-8, raw UTF-8 passes through. */
    expect_canon("\"\\u00e9\\u20ac\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    expect_canon("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"",
                 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");

    /* Every control character from a tree, one at a time. */
    for (int c = 1; c < 0x20; c++) {
        char s[2] = {(char)c, 0}, want[16];
        cJSON *j = cJSON_CreateString(s);
        char *out;
        size_t len;
        switch (c) {
        case '\b': strcpy(want, "\"\\b\""); break;
        case '\t': strcpy(want, "\"\\t\""); break;
        case '\n': strcpy(want, "\"\\n\""); break;
        case '\f': strcpy(want, "\"\\f\""); break;
        case '\r': strcpy(want, "\"\\r\""); break;
        default: snprintf(want, sizeof want, "\"\\u00%02x\"", c);
        }
        assert_int_equal(mp_canon_serialise(&out, &len, j), 0);
        assert_string_equal(out, want);
        free(out);
        cJSON_Delete(j);
    }
}

static void test_refuse_duplicate_keys(void **state)
{
    (void)state;
    refuse("{\"a\":1,\"a\":2}");
    refuse("{\"a\":1,\"b\":2,\"a\":1}");
    refuse("{\"x\":{\"k\":1,\"k\":1}}");
    refuse("[{\"a\":1,\"\\u0061\":2}]"); /* the same key spelled two ways */
    assert_non_null(strstr(mp_error_get(), "twice"));
    /* The serialiser refuses a duplicated key in a hand-built tree as well. */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "a", 1);
    cJSON_AddNumberToObject(o, "a", 2);
    char *out = NULL;
    size_t len;
    assert_int_equal(mp_canon_serialise(&out, &len, o), -1);
    assert_null(out);
    cJSON_Delete(o);
}

static void test_refuse_numbers(void **state)
{
    (void)state;
    refuse("1.5");
    refuse("[0.1]");
    refuse("{\"a\":-2.25}");
    refuse("4503599627370495.5"); /* fractional, and exactly representable as a double */
    refuse("9007199254740992");   /* 2^53 */
    refuse("-9007199254740992");
    refuse("9007199254740993");
    refuse("18446744073709551615");
    refuse("1e300");
    refuse("[1e400]");
    refuse("NaN");
    refuse("Infinity");
    /* Trees the parser could never produce are refused by the serialiser. */
    const double bad[] = {1.5, -0.5, 9007199254740992.0, 1e300};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *n = cJSON_CreateNumber(bad[i]);
        char *out = NULL;
        size_t len;
        assert_int_equal(mp_canon_serialise(&out, &len, n), -1);
        assert_null(out);
        cJSON_Delete(n);
    }
}

static void test_refuse_invalid_utf8(void **state)
{
    (void)state;
    refuse("\"\xc0\x80\"");         /* overlong NUL */
    refuse("\"\xc1\xbf\"");         /* overlong */
    refuse("\"\xe0\x80\xaf\"");     /* overlong 3-byte */
    refuse("\"\xf0\x80\x80\xaf\""); /* overlong 4-byte */
    refuse("\"\xed\xa0\x80\"");     /* lone high surrogate U+D800 */
    refuse("\"\xed\xbf\xbf\"");     /* U+DFFF */
    refuse("\"\xf4\x90\x80\x80\""); /* above U+10FFFF */
    refuse("\"\xf5\x80\x80\x80\"");
    refuse("\"\xff\"");
    refuse("\"\x80\"");         /* continuation byte alone */
    refuse("\"\xc3\"");         /* truncated */
    refuse("\"\xe2\x82\"");     /* truncated */
    refuse("\"\xc3\x28\"");     /* bad continuation */
    refuse("{\"\xc0\x80\":1}"); /* in a key */
    refuse("[\"ok\",\"\xed\xa0\x80\"]");
    refuse("\"\\ud800\""); /* lone surrogate as an escape */
    refuse("\"\\udc00\"");
    /* A string that is not UTF-8 cannot be serialised either. */
    cJSON *s = cJSON_CreateString("\xed\xa0\x80");
    char *out = NULL;
    size_t len;
    assert_int_equal(mp_canon_serialise(&out, &len, s), -1);
    assert_null(out);
    cJSON_Delete(s);
}

/* An escaped NUL cannot be represented in the canonical form (cJSON keeps C strings, so
 * everything after it would be silently dropped): two different documents would have the
 * same canonical bytes, and text after the NUL would not be covered by a signature. */
static void test_refuse_escaped_nul(void **state)
{
    (void)state;
    refuse("\"x\\u0000y\"");
    refuse("[\"\\u0000\"]");
    refuse("{\"a\\u0000zzz\":1}");
    refuse("{\"k\":\"amount 10\\u0000 (amended: 99)\"}");
}

static void test_refuse_trailing_and_nul(void **state)
{
    (void)state;
    refuse("{} x");
    refuse("{}{}");
    refuse("1 2");
    refuse("[1],");
    refuse("{}\x01");
    refuse("");
    refuse("   ");
    refuse("{\"a\":1");
    refuse("[1,]");
    refuse("{\"a\":1,}");
    refuse("'a'");
    refuse("{a:1}");
    /* NUL bytes, inside a string, between tokens and after the document. */
    refuse_n("{\"a\":\"x\0y\"}", 11);
    refuse_n("{\"a\":1}\0", 8);
    refuse_n("[1,\0 2]", 7);
    refuse_n("\0", 1);
    /* Trailing JSON whitespace is fine. */
    char *out = canon(" [1] \r\n\t");
    assert_string_equal(out, "[1]");
    free(out);
    /* Only len bytes are read: garbage after len is not looked at. */
    out = canon_n("[1]garbage", 3);
    assert_string_equal(out, "[1]");
    free(out);
}

static char *nested(int depth, const char *inner)
{
    char *s = malloc((size_t)depth * 2 + strlen(inner) + 1);
    assert_non_null(s);
    memset(s, '[', (size_t)depth);
    strcpy(s + depth, inner);
    memset(s + depth + strlen(inner), ']', (size_t)depth);
    s[2 * depth + strlen(inner)] = '\0';
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    /* 16 nested containers (with a scalar inside) are fine. */
    char *s = nested(MP_CANON_MAX_DEPTH, "1");
    char *out = canon(s);
    assert_string_equal(out, s);
    free(out);
    free(s);
    /* 17 and more are not. */
    s = nested(MP_CANON_MAX_DEPTH + 1, "1");
    refuse(s);
    assert_non_null(strstr(mp_error_get(), "deeper"));
    free(s);
    s = nested(MP_CANON_MAX_DEPTH + 2, "");
    refuse(s);
    free(s);
    s = nested(200, "");
    refuse(s);
    free(s);
    /* Objects count as well. */
    char obj[512] = "";
    for (int i = 0; i < 20; i++)
        strcat(obj, "{\"a\":");
    strcat(obj, "1");
    for (int i = 0; i < 20; i++)
        strcat(obj, "}");
    refuse(obj);
    /* And the serialiser refuses a hand-built tree that is too deep. */
    cJSON *root = cJSON_CreateArray(), *cur = root;
    for (int i = 0; i < 40; i++) {
        cJSON *n = cJSON_CreateArray();
        cJSON_AddItemToArray(cur, n);
        cur = n;
    }
    cJSON_AddItemToArray(cur, cJSON_CreateNumber(1));
    out = NULL;
    size_t len;
    assert_int_equal(mp_canon_serialise(&out, &len, root), -1);
    assert_null(out);
    cJSON_Delete(root);
}

static void test_round_trip_idempotent(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"b\":1,\"a\":[true,null,\"x\\n\"]}",
        " { \"z\" : [ 1 , -2 , 3 ] , \"y\" : { \"q\" : \"\\u0001\\\"\\\\\" , \"p\" : false } } ",
        "[\"\\u00e9t\\u00e9\",\"\xe2\x82\xac\",{\"\":\"\"},[[[]]],-9007199254740991]",
        "{\"k\\n\\t\":\"v\\r\\f\\b\",\"K\":\"/\\/\"}",
        "\"\\ud83d\\ude00\"",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char *once = canon(docs[i]);
        char *twice = canon(once);
        assert_string_equal(once, twice);
        /* The canonical text has no whitespace outside strings. */
        int in_str = 0;
        for (const char *p = once; *p; p++) {
            if (in_str && *p == '\\') {
                p++; /* the escaped character */
                continue;
            }
            if (*p == '"')
                in_str = !in_str;
            else if (!in_str)
                assert_true(*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r');
        }
        assert_int_equal(in_str, 0);
        free(once);
        free(twice);
    }
}

static void test_json_getters_and_only(void **state)
{
    cJSON *j;
    const char *s;
    long long v;
    const cJSON *o;
    const char *in = "{\"s\":\"str\",\"n\":42,\"o\":{},\"a\":[],\"neg\":-5}";
    (void)state;
    assert_int_equal(mp_canon_parse(&j, in, strlen(in)), 0);

    static const char *const all[] = {"s", "n", "o", "a", "neg", NULL};
    static const char *const some[] = {"s", "n", "o", "a", NULL};
    assert_int_equal(mp_json_only(j, "doc", all), 0);
    assert_int_equal(mp_json_only(j, "doc", some), -1);
    assert_non_null(strstr(mp_error_get(), "\"neg\""));
    assert_non_null(strstr(mp_error_get(), "doc"));

    assert_int_equal(mp_json_str(j, "s", &s), 0);
    assert_string_equal(s, "str");
    assert_int_equal(mp_json_str(j, "n", &s), -1);
    assert_int_equal(mp_json_str(j, "missing", &s), -1);
    assert_non_null(strstr(mp_error_get(), "missing"));
    assert_int_equal(mp_json_int(j, "n", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(mp_json_int(j, "n", 0, 41, &v), -1);
    assert_int_equal(mp_json_int(j, "n", 43, 100, &v), -1);
    assert_int_equal(mp_json_int(j, "neg", -5, -5, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(mp_json_int(j, "s", 0, 100, &v), -1);
    assert_int_equal(mp_json_obj(j, "o", &o), 0);
    assert_int_equal(mp_json_obj(j, "a", &o), -1);
    assert_int_equal(mp_json_arr(j, "a", &o), 0);
    assert_int_equal(mp_json_arr(j, "o", &o), -1);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_keys_sorted_by_bytes),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_refuse_duplicate_keys),
        cmocka_unit_test(test_refuse_numbers),
        cmocka_unit_test(test_refuse_invalid_utf8),
        cmocka_unit_test(test_refuse_escaped_nul),
        cmocka_unit_test(test_refuse_trailing_and_nul),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_round_trip_idempotent),
        cmocka_unit_test(test_json_getters_and_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
