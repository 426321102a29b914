/* Internal to src/lib/render: small formatting helpers (common.c). */
#ifndef VN_RENDER_INT_H
#define VN_RENDER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/sbuf.h"
#include "render.h"

/* The cpulist form of a set ("0-3,8") into buf. */
const char *vn_render_list(const struct vn_bitmap *b, char *buf, size_t len);
/* libvirt's name for a memory policy ("strict", "preferred", "interleave"). */
const char *vn_render_libvirt_mode(enum vn_mempolicy p);
/* QEMU's name for a memory policy ("bind", "preferred", "interleave"). */
const char *vn_render_qemu_policy(enum vn_mempolicy p);
/* True when every vCPU has the same soft (or hard) set index. */
bool vn_render_uniform(const int *slots, int n);

#endif
