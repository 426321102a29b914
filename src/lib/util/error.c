#include "error.h"

#include <stdio.h>
#include <string.h>

static void vformat(struct vn_error *err, const char *fmt, va_list ap)
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
    char prefix[VN_ERROR_MSG_MAX];
    char old[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return -1;
}

void vn_error_clear(struct vn_error *err)
{
    if (!err)
        return;
    err->errnum = 0;
    err->msg[0] = '\0';
}
