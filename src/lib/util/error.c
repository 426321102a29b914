#include "error.h"

#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 2, 0))) static void vformat(struct vn_error *err, const char *fmt,
                                                          va_list ap)
{
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int vn_error_set(struct vn_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vformat(err, fmt, ap);
    va_end(ap);
    err->errnum = 0;
    return -1;
}

int vn_error_sys(struct vn_error *err, int errnum, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vformat(err, fmt, ap);
    va_end(ap);
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(errnum));
    err->errnum = errnum;
    return -1;
}

int vn_error_prefix(struct vn_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char old[VN_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* Whatever does not fit is cut from the end: the context and the start matter most. */
    size_t used = n < 0 ? 0 : (size_t)n;
    if (used < sizeof err->msg - 1) {
        size_t room = sizeof err->msg - used;
        size_t oldlen = strnlen(old, sizeof old - 1);
        err->msg[used] = ':';
        if (room > 2) {
            err->msg[used + 1] = ' ';
            size_t take = oldlen < room - 3 ? oldlen : room - 3;
            memcpy(err->msg + used + 2, old, take);
            err->msg[used + 2 + take] = '\0';
        } else {
            err->msg[used + 1] = '\0';
        }
    }
    return -1;
}

void vn_error_clear(struct vn_error *err)
{
    if (!err)
        return;
    err->errnum = 0;
    err->msg[0] = '\0';
}
