/*
 * error.c - per-thread last-error buffer (see error.h).
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char mp_err_buf[MP_ERROR_MAX];
static _Thread_local mp_error_kind mp_err_kind = MP_ERR_REFUSED;

int mp_error_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mp_err_buf, sizeof mp_err_buf, fmt, ap);
    va_end(ap);
    mp_err_kind = MP_ERR_REFUSED;
    return -1;
}

int mp_error_system(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mp_err_buf, sizeof mp_err_buf, fmt, ap);
    va_end(ap);
    mp_err_kind = MP_ERR_SYSTEM;
    return -1;
}

int mp_error_prefix(const char *fmt, ...)
{
    char prefix[MP_ERROR_MAX];
    char old[MP_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, mp_err_buf, sizeof old);
    size_t np = strlen(prefix);
    size_t no = strnlen(old, sizeof old - 1);
    if (np > sizeof mp_err_buf - 1)
        np = sizeof mp_err_buf - 1;
    if (no > sizeof mp_err_buf - 1 - np)
        no = sizeof mp_err_buf - 1 - np;
    memcpy(mp_err_buf, prefix, np);
    memcpy(mp_err_buf + np, old, no);
    mp_err_buf[np + no] = '\0';
    return -1;
}

const char *mp_error_get(void)
{
    return mp_err_buf;
}

mp_error_kind mp_error_kind_get(void)
{
    return mp_err_kind;
}

int mp_error_exit_code(void)
{
    return mp_err_kind == MP_ERR_SYSTEM ? 2 : 1;
}

void mp_error_clear(void)
{
    mp_err_buf[0] = '\0';
    mp_err_kind = MP_ERR_REFUSED;
}
