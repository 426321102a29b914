/* A growing NULL-terminated vector of strings (an execve() argv, for instance).
 *
 * Appending never fails loudly: after an allocation failure the vector remembers it, later
 * appends do nothing, and vn_strv_take() hands out NULL, so a builder checks once at the end. */
#ifndef VN_STRV_H
#define VN_STRV_H

#include <stdbool.h>

struct vn_strv {
    char **v; /* NULL-terminated once anything was added */
    int n, cap;
    bool oom; /* an allocation failed: the result is dropped */
};

/* Appends one formatted string (nothing after an allocation failure; sets oom on one). */
void vn_strv_addf(struct vn_strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the vector out, or frees it and returns NULL after an allocation failure; s is reset. */
char **vn_strv_take(struct vn_strv *s);
/* Frees a NULL-terminated vector and its strings (NULL is fine). */
void vn_strv_free(char **v);

#endif
