/*
 * fileio.h - whole-file reads, crash-safe writes and secret files.
 *
 * Invariants:
 *   1. mp_file_write_atomic() leaves either the old file or the complete new one at `path`,
 *      never a partial file: it writes a temporary in the same directory, fsyncs it, renames it
 *      over `path` and fsyncs the directory.
 *   2. Secret files are created exclusively (O_EXCL) with mode 0600 and never through a
 *      symbolic link (O_NOFOLLOW); reading refuses a secret file that group or others can read.
 */
#ifndef MP_FILEIO_H
#define MP_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read a whole file of at most `max` bytes into a fresh malloc'd buffer with a NUL appended
 * (not counted in *len). */
MP_WUR int mp_file_read(const char *path, size_t max, unsigned char **out, size_t *len);

/* Same, for a secret file: no symlinks, refuses modes other than 0600/0400. The buffer comes
 * from sodium_malloc(); release it with mp_file_free_secret(). */
MP_WUR int mp_file_read_secret(const char *path, size_t max, unsigned char **out, size_t *len);
void mp_file_free_secret(unsigned char *buf);

/* Atomically replace `path` with `len` bytes (see invariant 1). */
MP_WUR int mp_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode);

/* mp_file_write_atomic of dir/name (refused when the path does not fit PATH_MAX). */
MP_WUR int mp_file_write_in(const char *dir, const char *name, const void *buf, size_t len,
                            unsigned mode);

/* Create a new secret file (mode 0600, exclusive, no symlink); refuses an existing file. */
MP_WUR int mp_file_write_secret(const char *path, const void *buf, size_t len);

/* 1 when path exists (any type), 0 otherwise. */
int mp_file_exists(const char *path);

#endif
