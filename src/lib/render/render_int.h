/* Internal to src/lib/render: a growing string and small formatting helpers. */
#ifndef VN_RENDER_INT_H
#define VN_RENDER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

struct vn_sbuf {
    char *s;
    size_t len, cap;
    bool oom; /* an allocation failed: the result is dropped */
};

/* Appends formatted text. */
void vn_sbuf_printf(struct vn_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string out (NULL after an allocation failure); b is reset. */
char *vn_sbuf_take(struct vn_sbuf *b);

/* The cpulist form of a set ("0-3,8") into buf. */
const char *vn_render_list(const struct vn_bitmap *b, char *buf, size_t len);
/* libvirt's name for a memory policy ("strict", "preferred", "interleave"). */
const char *vn_render_libvirt_mode(enum vn_mempolicy p);
/* QEMU's name for a memory policy ("bind", "preferred", "interleave"). */
const char *vn_render_qemu_policy(enum vn_mempolicy p);
/* True when every vCPU has the same soft (or hard) set index. */
bool vn_render_uniform(const int *slots, int n);

#endif
