/*
 * cli.c - a command's help cut out of its program's usage text (layout in cli.h).
 *
 * Invariant: the entry printed is exactly a run of USAGE's own lines (never rewritten), so
 * what `PROG CMD --help` says is what `PROG --help` says about CMD.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The length of the line starting at P, without its newline. */
static size_t line_len(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? (size_t)(nl - p) : strlen(p);
}

static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : p + strlen(p);
}

/* Is the line at P the start of CMD's entry: two spaces, CMD, then the end of the line or
 * spaces and an argument? An argument is an option, a [bracket] or an UPPERCASE name; a
 * lowercase word would make it a longer command ("round" is not "round open"). */
static int is_entry_of(const char *p, size_t len, const char *cmd)
{
    size_t n = strlen(cmd), i;
    if (len < 2 + n || p[0] != ' ' || p[1] != ' ' || p[2] == ' ')
        return 0;
    if (memcmp(p + 2, cmd, n) != 0)
        return 0;
    if (len == 2 + n)
        return 1;
    if (p[2 + n] != ' ')
        return 0;
    for (i = 2 + n; i < len && p[i] == ' '; i++)
        ;
    return i == len || !(p[i] >= 'a' && p[i] <= 'z');
}

int mp_cli_help_command(FILE *out, const char *usage, const char *prog, const char *cmd)
{
    const char *p = usage, *entry = NULL, *end = NULL, *notes = NULL;

    for (; *p != '\0'; p = next_line(p)) {
        size_t len = line_len(p);
        if (entry == NULL && is_entry_of(p, len, cmd)) {
            entry = p;
            continue;
        }
        /* The entry runs on over lines indented by more than two spaces. */
        if (entry != NULL && end == NULL && !(len > 2 && memcmp(p, "   ", 3) == 0))
            end = p;
        if (len == 0 && *next_line(p) != ' ' && *next_line(p) != '\0')
            notes = next_line(p); /* the last unindented paragraph */
    }
    if (entry == NULL)
        return -1;
    if (end == NULL)
        end = p;
    fprintf(out, "usage: %s %s [OPTIONS]\n\n", prog, cmd);
    fwrite(entry, 1, (size_t)(end - entry), out);
    if (notes != NULL && notes > entry) {
        fputc('\n', out);
        fputs(notes, out);
    }
    return 0;
}

void mp_cli_help(FILE *out, void (*usage)(FILE *), const char *prog, int argc, char **argv,
                 int first)
{
    char cmd[128], *text = NULL;
    size_t len = 0;
    FILE *m;

    if (argc < 2 || snprintf(cmd, sizeof cmd, "%s%s%s", argv[1], first > 2 && argc > 2 ? " " : "",
                             first > 2 && argc > 2 ? argv[2] : "") >= (int)sizeof cmd) {
        usage(out);
        return;
    }
    m = open_memstream(&text, &len);
    if (m != NULL) {
        usage(m);
        fclose(m);
    }
    if (text == NULL || mp_cli_help_command(out, text, prog, cmd) != 0)
        usage(out);
    free(text);
}
