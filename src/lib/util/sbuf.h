/* A growing string for building text output (rendered configs, metrics).
 *
 * An allocation failure is remembered instead of reported at every append, so builders can
 * write straight through and check once, at vn_sbuf_take(). */
#ifndef VN_SBUF_H
#define VN_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct vn_sbuf {
    char *s;
    size_t len, cap;
    bool oom; /* an allocation failed: the result is dropped */
};

/* Appends formatted text. */
void vn_sbuf_printf(struct vn_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string out ("" when nothing was written, NULL after an allocation failure);
 * b is reset. */
char *vn_sbuf_take(struct vn_sbuf *b);

#endif
