/*
 * codes.h - the canonical code lists of the spells export (docs/input-format.md).
 *
 * Codes are small integers on the inside so that a spell fits in 12 bytes, and their names on
 * the outside (CSV, catalogue). Adding a code appends to a list; numbers never change meaning.
 */
#ifndef MP_CODES_H
#define MP_CODES_H

#include <stdint.h>

enum mp_spell_type {
    MP_SPELL_BIJSTAND,
    MP_SPELL_IOAW,
    MP_SPELL_WW,
    MP_SPELL_WAJONG,
    MP_SPELL_WIA,
    MP_SPELL_DGR,
    MP_SPELL_BAAN,
    MP_SPELL_BANENAFSPRAAK,
    MP_SPELL_TRAJECT,
    MP_SPELL_COUNT
};

enum mp_end_reason {
    MP_REASON_NONE, /* spell still running */
    MP_REASON_WERK,
    MP_REASON_OPLEIDING,
    MP_REASON_VERHUIZING,
    MP_REASON_PENSIOEN,
    MP_REASON_OVERLIJDEN,
    MP_REASON_DETENTIE,
    MP_REASON_OVERIG,
    MP_REASON_COUNT
};

enum mp_flag { MP_FLAG_STATUSHOUDER = 1, MP_FLAG_ALLEENSTAANDE_OUDER = 2, MP_FLAG_PARTNER = 4 };

enum mp_sex { MP_SEX_X, MP_SEX_M, MP_SEX_V, MP_SEX_COUNT };

/* Name -> code, -1 when unknown. Names are the canonical lower-case codes. */
int mp_spell_type_parse(const char *name);
int mp_end_reason_parse(const char *name); /* "" -> MP_REASON_NONE */
int mp_flag_parse(const char *name);       /* returns the bit */
int mp_sex_parse(const char *name);        /* "M", "V", "X"; "" -> X */

const char *mp_spell_type_name(int code);
const char *mp_end_reason_name(int code);

/* 1 when `code` is a CBS gemeentecode in any accepted spelling ("GM0344", "0344", "344");
 * writes the canonical "GM0344" form into out. */
int mp_gemeente_normalise(char out[7], const char *code);

#endif
