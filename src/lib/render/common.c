/* What the renderers share (render_int.h): the cpulist form of a set, libvirt's and QEMU's
 * names of a memory policy, and whether every vCPU has the same affinity set. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

const char *vn_render_list(const struct vn_bitmap *b, char *buf, size_t len)
{
    vn_bitmap_format_list(b, buf, len);
    return buf;
}

/* The name of p where libvirt and QEMU agree; they spell only VN_MEMPOLICY_BIND apart. */
static const char *mempolicy_name(enum vn_mempolicy p, const char *bind)
{
    switch (p) {
    case VN_MEMPOLICY_PREFERRED:
        return "preferred";
    case VN_MEMPOLICY_INTERLEAVE:
        return "interleave";
    case VN_MEMPOLICY_BIND:
        break;
    }
    return bind;
}

const char *vn_render_libvirt_mode(enum vn_mempolicy p)
{
    return mempolicy_name(p, "strict");
}

const char *vn_render_qemu_policy(enum vn_mempolicy p)
{
    return mempolicy_name(p, "bind");
}

bool vn_render_uniform(const int *slots, int n)
{
    for (int i = 1; i < n; i++)
        if (slots[i] != slots[0])
            return false;
    return true;
}
