/* The one rule for the names vnuma turns into file names and QEMU arguments (guest names,
 * group names): letters, digits, '-', '_', '.'; 1 to max characters; not starting with '-'
 * (an option) or '.' (hidden, or a parent directory). */
#ifndef VN_IDENT_H
#define VN_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Checks s against the rule; -1 with the reason, where what names it ("domain name").  With
 * sentence the reason is a config diagnostic ("The name 'x' ... allowed."), else a runtime
 * error (lowercase, no final period). */
int vn_ident_check(const char *what, const char *s, size_t max, bool sentence,
                   struct vn_error *err);

#endif
