/*
 * error.h - the library's one error channel.
 *
 * Every mp_* function that can fail returns -1 (or NULL) and leaves a human-readable reason
 * here, like sqlite3_errmsg(): the programs print it, the library never prints.
 *
 * Invariants:
 *   1. A reason never contains a BSN, a key or a per-organisation figure; callers format only
 *      file names, line numbers, field names and codes into it.
 *   2. The buffer is per thread, so a reason cannot be overwritten by another thread.
 */
#ifndef MP_ERROR_H
#define MP_ERROR_H

#define MP_ERROR_MAX 1024

/* Record a reason (printf-style); always returns -1 so that `return mp_error_set(...)` reads
 * naturally at a failure site. */
int mp_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prefix the current reason with more context ("roster.json: " + reason); returns -1. */
int mp_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last reason recorded on this thread ("" when none). */
const char *mp_error_get(void);

void mp_error_clear(void);

#define MP_WUR __attribute__((warn_unused_result))

#endif
