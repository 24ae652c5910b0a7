/*
 * test_cli_help.c - a command's help cut out of the program's usage text
 * (protocol/core/cli.c), on a usage text in the layout all three programs use.
 */
#include "testutil.h"

#include "cli.h"

#include <stdlib.h>

static const char *USAGE = "usage: prog COMMAND [OPTIONS]\n"
                           "\n"
                           "Commands:\n"
                           "  keygen  --org ID --out FILE\n"
                           "          [--kdf LEVEL]\n"
                           "      Create the keys.\n"
                           "  round open   --db DB\n"
                           "      Open a round.\n"
                           "  round openx  --other\n"
                           "      Not the same command.\n"
                           "  round\n"
                           "      Bare.\n"
                           "\n"
                           "Exit codes: 0 ok, 1 refused, 2 usage.\n";

/* The help of CMD as a string (caller frees), or NULL when there is none. */
static char *help_of(const char *usage, const char *cmd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    int rc = mp_cli_help_command(f, usage, "prog", cmd);
    fclose(f);
    if (rc != 0) {
        assert_int_equal(len, 0); /* nothing printed on failure */
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_entry_with_continuation_and_notes(void **state)
{
    (void)state;
    char *h = help_of(USAGE, "keygen");
    assert_non_null(h);
    assert_string_equal(h, "usage: prog keygen [OPTIONS]\n\n"
                           "  keygen  --org ID --out FILE\n"
                           "          [--kdf LEVEL]\n"
                           "      Create the keys.\n"
                           "\n"
                           "Exit codes: 0 ok, 1 refused, 2 usage.\n");
    free(h);
}

static void test_two_word_command_is_not_a_prefix_match(void **state)
{
    (void)state;
    char *h = help_of(USAGE, "round open");
    assert_non_null(h);
    assert_non_null(strstr(h, "Open a round."));
    assert_null(strstr(h, "Not the same command."));
    assert_null(strstr(h, "Bare."));
    free(h);
    h = help_of(USAGE, "round");
    assert_non_null(h);
    assert_non_null(strstr(h, "Bare."));
    assert_null(strstr(h, "Open a round."));
    free(h);
}

static void test_unknown_command(void **state)
{
    (void)state;
    assert_null(help_of(USAGE, "submit"));
    assert_null(help_of(USAGE, "key"));    /* a prefix of a command is not the command */
    assert_null(help_of(USAGE, "Create")); /* description lines are not entries */
    assert_null(help_of("", "keygen"));
}

static void test_no_notes(void **state)
{
    (void)state;
    char *h = help_of("usage: prog X\n  x  --a\n      Does x.\n", "x");
    assert_non_null(h);
    assert_string_equal(h, "usage: prog x [OPTIONS]\n\n  x  --a\n      Does x.\n");
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_with_continuation_and_notes),
        cmocka_unit_test(test_two_word_command_is_not_a_prefix_match),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_no_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
