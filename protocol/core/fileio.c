/*
 * fileio.c - see fileio.h for the invariants.
 *
 * Error kinds (error.h): a file that cannot be opened, read or written, is not a regular file,
 * or does not fit in memory is a system failure (exit 2: the path or the machine is wrong, not
 * the document); one that is too large, a symbolic link where a secret is expected, a secret
 * others can read, or an existing key is refused (exit 1).
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_fd(int fd, const char *path, size_t max, unsigned char *buf, size_t cap,
                   size_t *len)
{
    size_t used = 0;
    for (;;) {
        ssize_t n;
        if (used == cap)
            return mp_error_set("%s: larger than the limit of %zu bytes", path, max);
        n = read(fd, buf + used, cap - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mp_error_system("%s: read failed: %s", path, strerror(errno));
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    *len = used;
    return 0;
}

static int open_checked(const char *path, int flags, struct stat *st)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            return mp_error_set("%s: is a symbolic link; refusing to follow it for a secret", path);
        return mp_error_system("%s: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return mp_error_system("%s: not a regular file", path);
    }
    return fd;
}

int mp_file_read(const char *path, size_t max, unsigned char **out, size_t *len)
{
    struct stat st;
    unsigned char *buf;
    int fd = open_checked(path, O_RDONLY, &st);
    if (fd < 0)
        return -1;
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return mp_error_set("%s: %lld bytes is larger than the limit of %zu bytes", path,
                            (long long)st.st_size, max);
    }
    buf = malloc(max + 1);
    if (buf == NULL) {
        close(fd);
        return mp_error_system("%s: out of memory", path);
    }
    if (read_fd(fd, path, max, buf, max + 1, len) != 0) {
        free(buf);
        close(fd);
        return -1;
    }
    close(fd);
    if (*len > max) {
        free(buf);
        return mp_error_set("%s: larger than the limit of %zu bytes", path, max);
    }
    buf[*len] = '\0';
    *out = buf;
    return 0;
}

int mp_file_read_secret(const char *path, size_t max, unsigned char **out, size_t *len)
{
    struct stat st;
    unsigned char *buf;
    int fd = open_checked(path, O_RDONLY | O_NOFOLLOW, &st);
    if (fd < 0)
        return -1;
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return mp_error_set("%s: readable by group or others (mode %03o); run: chmod 600 %s", path,
                            (unsigned)(st.st_mode & 0777), path);
    }
    buf = sodium_malloc(max + 1);
    if (buf == NULL) {
        close(fd);
        return mp_error_system("%s: cannot allocate secure memory", path);
    }
    int failed = read_fd(fd, path, max, buf, max + 1, len) != 0;
    if (failed || *len > max) {
        int system = failed && mp_error_kind_get() == MP_ERR_SYSTEM;
        sodium_free(buf);
        close(fd);
        if (system)
            return mp_error_system("%s: cannot read secret file", path);
        return mp_error_set("%s: cannot read secret file (too large)", path);
    }
    close(fd);
    buf[*len] = '\0';
    *out = buf;
    return 0;
}

void mp_file_free_secret(unsigned char *buf)
{
    if (buf != NULL)
        sodium_free(buf);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    char copy[PATH_MAX];
    int dfd;
    if (strlen(path) >= sizeof copy)
        return;
    strcpy(copy, path);
    dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

int mp_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    int fd;

    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return mp_error_set("%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return mp_error_system("%s: cannot create: %s", tmp, strerror(errno));
    if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return mp_error_system("%s: write failed: %s", path, strerror(e));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return mp_error_system("%s: cannot replace: %s", path, strerror(e));
    }
    fsync_parent(path);
    return 0;
}

int mp_file_write_secret(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return mp_error_set("%s: already exists; refusing to overwrite a key (move it "
                                "away first)",
                                path);
        return mp_error_system("%s: cannot create: %s", path, strerror(errno));
    }
    if (fchmod(fd, 0600) != 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return mp_error_system("%s: write failed: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        unlink(path);
        return mp_error_system("%s: close failed", path);
    }
    fsync_parent(path);
    return 0;
}

int mp_file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int mp_file_write_in(const char *dir, const char *name, const void *buf, size_t len, unsigned mode)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return mp_error_set("%s: path too long", dir);
    return mp_file_write_atomic(path, buf, len, mode);
}
