/*
 * phase.c - bonawitz-v1 round phase names (see phase.h).
 */
#include "phase.h"

#include <string.h>

static const char *const names[] = {"", "advertise", "share", "submit", "confirm", "unmask"};

const char *mp_phase_name(enum mp_phase p)
{
    if ((unsigned)p < sizeof names / sizeof *names)
        return names[p];
    return "?";
}

enum mp_phase mp_phase_parse(const char *name)
{
    for (unsigned i = 0; name != NULL && i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return (enum mp_phase)i;
    return MP_PHASE_UNKNOWN;
}
