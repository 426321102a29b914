/* The one error type of vnuma.
 *
 * Functions return 0 / -1 (or a pointer / NULL) and fill a struct vn_error whose message
 * names what the user can act on (file:line:column and key, domain and vnode, errno text).
 * Callers add context with vn_error_prefix(); nobody prints and returns. */
#ifndef VN_ERROR_H
#define VN_ERROR_H

#include <stdarg.h>

#define VN_ERROR_MSG_MAX 1024

struct vn_error {
    int errnum;                 /* errno of the failing syscall, 0 if none */
    char msg[VN_ERROR_MSG_MAX]; /* whole sentence(s), no trailing newline */
};

/* Sets err to the formatted message and returns -1 (err may be NULL). */
int vn_error_set(struct vn_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like vn_error_set, appends ": <strerror(errnum)>" and records errnum; returns -1. */
int vn_error_sys(struct vn_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<formatted>: " to the existing message (context from the caller); returns -1. */
int vn_error_prefix(struct vn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets err to "no error". */
void vn_error_clear(struct vn_error *err);

#endif
