/*
 * error.h - the library's one error channel.
 *
 * Every mp_* function that can fail returns -1 (or NULL) and leaves a human-readable reason
 * here, like sqlite3_errmsg(): the programs print it, the library never prints. With the reason
 * goes its kind: MP_ERR_REFUSED, the input is bad or a check failed (the caller's answer is "no",
 * exit 1); MP_ERR_SYSTEM, the input could not be judged because the system failed (I/O, out of
 * memory, a busy or broken store: exit 2, try again). The kind is set where the failure
 * happens, so that no caller has to guess it from the text.
 *
 * Invariants:
 *   1. A reason never contains a BSN, a key or a per-organisation figure; callers format only
 *      file names, line numbers, field names and codes into it.
 *   2. The buffer and the kind are per thread, so neither can be overwritten by another thread.
 *   3. mp_error_set records a refusal, mp_error_system a system failure; mp_error_prefix adds
 *      context and keeps the kind, so a system failure deep down stays one.
 */
#ifndef MP_ERROR_H
#define MP_ERROR_H

#define MP_ERROR_MAX 1024

typedef enum mp_error_kind {
    MP_ERR_REFUSED = 1, /* bad input or a failed check: the documented exit code 1 */
    MP_ERR_SYSTEM = 2,  /* I/O, out of memory, a busy store: exit code 2 */
} mp_error_kind;

/* Record a refusal (printf-style); always returns -1 so that `return mp_error_set(...)` reads
 * naturally at a failure site. */
int mp_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Record a system failure (I/O, out of memory, SQLite busy); returns -1. */
int mp_error_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prefix the current reason with more context ("roster.json: " + reason); keeps its kind;
 * returns -1. */
int mp_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last reason recorded on this thread ("" when none). */
const char *mp_error_get(void);

/* The kind of the last reason (MP_ERR_REFUSED when none was recorded). */
mp_error_kind mp_error_kind_get(void);

/* The documented exit code for the last failure: 1 refused, 2 system. */
int mp_error_exit_code(void);

void mp_error_clear(void);

#define MP_WUR __attribute__((warn_unused_result))

#endif
