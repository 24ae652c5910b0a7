/*
 * canon.h - canonical JSON: the exact bytes that are hashed and signed.
 *
 * Every signed document (roster, round specification, submission, release) is signed over its
 * canonical serialisation, so that a verifier re-serialising the parsed document gets the same
 * bytes whatever whitespace or key order the file had in transit.
 *
 * The canonical form (close to RFC 8785, restricted so that it is unambiguous and easy to
 * reimplement):
 *   - no whitespace outside strings;
 *   - object members sorted by the bytes of their UTF-8 keys (memcmp order), duplicate keys
 *     refused on parse;
 *   - numbers are integers only, in [-(2^53-1), 2^53-1], written in shortest decimal form
 *     (values that need more range, like 64-bit masked vectors, travel as base64 strings);
 *   - strings are valid UTF-8; '"' and '\' are escaped with a backslash, the control characters
 *     U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n \f \r, other controls below U+0020 as
 *     \u00xx (lower-case hex); everything else is written as-is;
 *   - true, false, null as themselves; nesting depth at most MP_CANON_MAX_DEPTH.
 */
#ifndef MP_CANON_H
#define MP_CANON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "error.h"

#define MP_CANON_MAX_DEPTH 16
#define MP_CANON_MAX_INT 9007199254740991LL /* 2^53 - 1 */

/* Parse `len` bytes of JSON; refuses duplicate keys, non-integer or out-of-range numbers,
 * invalid UTF-8, trailing garbage and excessive depth. */
MP_WUR int mp_canon_parse(cJSON **out, const char *text, size_t len);

/* Canonical bytes of a tree into a fresh malloc'd NUL-terminated string; fails on a tree that
 * could not have come from mp_canon_parse (a fractional number, invalid UTF-8). */
MP_WUR int mp_canon_serialise(char **out, size_t *len, const cJSON *v);

/* Small typed getters for validating documents: each fails with a reason naming `key` when the
 * member is missing or of the wrong type. */
MP_WUR int mp_json_str(const cJSON *obj, const char *key, const char **out);
MP_WUR int mp_json_int(const cJSON *obj, const char *key, long long min, long long max,
                       long long *out);
MP_WUR int mp_json_obj(const cJSON *obj, const char *key, const cJSON **out);
MP_WUR int mp_json_arr(const cJSON *obj, const char *key, const cJSON **out);

/* Refuse members other than the listed ones (NULL-terminated), so that a document with a
 * field this version does not understand is rejected instead of half-understood. */
MP_WUR int mp_json_only(const cJSON *obj, const char *what, const char *const *allowed);

#endif
