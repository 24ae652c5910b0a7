/*
 * codes.c - code tables (see codes.h).
 */
#include "codes.h"

#include <stdio.h>
#include <string.h>

static const char *const spell_names[MP_SPELL_COUNT] = {
    "bijstand", "ioaw",          "ww",     "wajong", "wia", "doelgroepenregister",
    "baan",     "banenafspraak", "traject"};

static const char *const reason_names[MP_REASON_COUNT] = {
    "", "werk", "opleiding", "verhuizing", "pensioen", "overlijden", "detentie", "overig"};

static int lookup(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int mp_spell_type_parse(const char *name)
{
    return lookup(spell_names, MP_SPELL_COUNT, name);
}

int mp_end_reason_parse(const char *name)
{
    return lookup(reason_names, MP_REASON_COUNT, name);
}

int mp_flag_parse(const char *name)
{
    if (strcmp(name, "statushouder") == 0)
        return MP_FLAG_STATUSHOUDER;
    if (strcmp(name, "alleenstaande_ouder") == 0)
        return MP_FLAG_ALLEENSTAANDE_OUDER;
    if (strcmp(name, "partner") == 0)
        return MP_FLAG_PARTNER;
    return -1;
}

int mp_sex_parse(const char *name)
{
    if (strcmp(name, "M") == 0)
        return MP_SEX_M;
    if (strcmp(name, "V") == 0)
        return MP_SEX_V;
    if (strcmp(name, "X") == 0 || *name == '\0')
        return MP_SEX_X;
    return -1;
}

const char *mp_spell_type_name(int code)
{
    return code >= 0 && code < MP_SPELL_COUNT ? spell_names[code] : "?";
}

const char *mp_end_reason_name(int code)
{
    return code >= 0 && code < MP_REASON_COUNT ? reason_names[code] : "?";
}

int mp_gemeente_normalise(char out[7], const char *code)
{
    const char *d = code;
    size_t n;
    if ((code[0] == 'G' || code[0] == 'g') && (code[1] == 'M' || code[1] == 'm'))
        d = code + 2;
    n = strlen(d);
    if (n < 1 || n > 4)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] < '0' || d[i] > '9')
            return 0;
    memcpy(out, "GM0000", 7);
    memcpy(out + 6 - n, d, n); /* right-align the digits: "344" -> "GM0344" */
    return strcmp(out, "GM0000") != 0;
}
