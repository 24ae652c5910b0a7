/*
 * version.h - the release of mijlpaal these programs belong to, and the document formats it
 * speaks (what `--version` prints, so that a data officer can tell a coordinator which
 * version it runs).
 */
#ifndef MP_VERSION_H
#define MP_VERSION_H

#include <stdio.h>

#define MP_VERSION "0.6.0"

/* `PROGRAM --version`: one line on stdout. */
static inline void mp_version_print(const char *prog)
{
    printf("%s %s (roster format 2 with certificate bindings and co-signatures; masking "
           "pairwise-v1 and bonawitz-v1 with a share phase; transparency log "
           "mijlpaal-log-entry/v1)\n",
           prog, MP_VERSION);
}

#endif
