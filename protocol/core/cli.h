/*
 * cli.h - what the three programs share about their command lines.
 *
 * One source of truth for help: each program writes its whole usage text once, in the layout
 *
 *     usage: PROG COMMAND [OPTIONS]
 *     ...
 *       COMMAND [SUB]  --option ...        (two spaces, then the command's name)
 *                      [--more ...]        (continuation lines: indented further)
 *           What it does.                  (description lines: indented further)
 *     (blank line)
 *     Notes that hold for every command.   (the last paragraph: not indented)
 *
 * and `PROG COMMAND --help` prints only that command's entry and the notes, cut out of the
 * same text, so a command's help can never disagree with the program's.
 */
#ifndef MP_CLI_H
#define MP_CLI_H

#include <stdio.h>

/* Print to OUT the entry of command CMD ("submit", "round open") out of USAGE, headed by a
 * usage line for PROG CMD and followed by USAGE's closing notes. Returns 0, or -1 (nothing
 * printed) when USAGE has no entry for CMD. */
int mp_cli_help_command(FILE *out, const char *usage, const char *prog, const char *cmd);

/* `PROG CMD [SUB] ... --help`: print to OUT the entry of the command named by ARGV[1] (and
 * ARGV[2] when FIRST is 3, the index of the first option) out of what USAGE writes, or the
 * whole of USAGE when it has no entry for that command. */
void mp_cli_help(FILE *out, void (*usage)(FILE *), const char *prog, int argc, char **argv,
                 int first);

#endif
