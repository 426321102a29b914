/* Internals shared by the QMP client's files (not part of the public API). */
#ifndef VN_QMP_INT_H
#define VN_QMP_INT_H

#include <stdbool.h>

#include "qmp.h"

/* Sets err to the formatted message, prefixed with the connection's domain; returns -1. */
int vn_qmp_fail_(const struct vn_qmp *q, struct vn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when the last failure was QEMU closing the socket after the command was sent. */
bool vn_qmp_closed_after_send_(const struct vn_qmp *q);

#endif
