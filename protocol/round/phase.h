/*
 * phase.h - the phases of a bonawitz-v1 round as the aggregator runs them (saround.h), by
 * enum: their names are read and written here only.
 *
 *   advertise -> share -> submit -> confirm -> unmask -> closed
 *
 * The store keeps the name (rounds.phase, "" once closed, docs/formats.md); code compares the
 * enum, parsed once where the name is read.
 *
 * Invariants:
 *   1. mp_phase_name(mp_phase_parse(s)) == s for every name below and "" (closed).
 *   2. The enum's order is the order of the phases.
 */
#ifndef MP_PHASE_H
#define MP_PHASE_H

enum mp_phase {
    MP_PHASE_CLOSED = 0, /* "": the round is not (or no longer) in a bonawitz-v1 phase */
    MP_PHASE_ADVERTISE,
    MP_PHASE_SHARE,
    MP_PHASE_SUBMIT,
    MP_PHASE_CONFIRM,
    MP_PHASE_UNMASK,
    MP_PHASE_UNKNOWN /* a name this version does not know */
};

/* "advertise", "share", "submit", "confirm", "unmask"; "" for closed, "?" for unknown. */
const char *mp_phase_name(enum mp_phase p);

/* The phase a name stands for; MP_PHASE_UNKNOWN for any other text. */
enum mp_phase mp_phase_parse(const char *name);

#endif
