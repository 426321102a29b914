/* A growing string for the renderers, and the small helpers they share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

void vn_sbuf_printf(struct vn_sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

char *vn_sbuf_take(struct vn_sbuf *b)
{
    char *s = b->oom ? NULL : b->s;
    if (b->oom)
        free(b->s);
    else if (!s)
        s = calloc(1, 1); /* nothing was written: an empty string */
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = false;
    return s;
}

const char *vn_render_list(const struct vn_bitmap *b, char *buf, size_t len)
{
    vn_bitmap_format_list(b, buf, len);
    return buf;
}

const char *vn_render_libvirt_mode(enum vn_mempolicy p)
{
    switch (p) {
    case VN_MEMPOLICY_PREFERRED:
        return "preferred";
    case VN_MEMPOLICY_INTERLEAVE:
        return "interleave";
    case VN_MEMPOLICY_BIND:
        break;
    }
    return "strict";
}

const char *vn_render_qemu_policy(enum vn_mempolicy p)
{
    switch (p) {
    case VN_MEMPOLICY_PREFERRED:
        return "preferred";
    case VN_MEMPOLICY_INTERLEAVE:
        return "interleave";
    case VN_MEMPOLICY_BIND:
        break;
    }
    return "bind";
}

bool vn_render_uniform(const int *slots, int n)
{
    for (int i = 1; i < n; i++)
        if (slots[i] != slots[0])
            return false;
    return true;
}
