/* The QEMU command line for a placement.
 *
 * Each vnode is a memory-backend-file (so its pages can be found by path in /proc/PID/maps
 * and moved later) bound to its host nodes, and a -numa node.  vCPUs are tied to nodes with
 * -numa cpu, which names sockets: when every vnode with vCPUs holds the same number of them
 * as one consecutive range, each such vnode is one socket of that many cores (what a real
 * machine looks like); otherwise every vCPU is its own single-core socket, which fits any
 * vCPU-to-vnode map and keeps QEMU's "llc-sibling not on the same node" warning away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/strv.h"
#include "render_int.h"

void vn_argv_free(char **argv)
{
    vn_strv_free(argv);
}

void vn_argv_freep(char ***argv)
{
    vn_argv_free(*argv);
}

/* host-nodes as QEMU's list syntax wants it: one "host-nodes=A[-B]" per range. */
static void host_nodes(const struct vn_bitmap *b, struct vn_sbuf *s)
{
    int i = vn_bitmap_next(b, -1);
    while (i >= 0) {
        int j = i;
        while (vn_bitmap_test(b, j + 1))
            j++;
        if (j > i)
            vn_sbuf_printf(s, ",host-nodes=%d-%d", i, j);
        else
            vn_sbuf_printf(s, ",host-nodes=%d", i);
        i = vn_bitmap_next(b, j);
    }
}

/* vCPUs per socket when each vnode with vCPUs can be one socket, else 0. */
static int socket_per_vnode(const struct vn_placement *p)
{
    int per = 0, next = 0;
    for (int i = 0; i < p->nvnodes; i++) {
        const struct vn_bitmap *v = &p->vnodes[i].vcpus;
        int c = vn_bitmap_count(v);
        if (c == 0)
            continue;
        if ((per && c != per) || vn_bitmap_next(v, -1) != next || vn_bitmap_last(v) != next + c - 1)
            return 0;
        per = c;
        next += c;
    }
    return next == p->vcpus ? per : 0;
}

char **vn_render_qemu_argv(const struct vn_placement *p, const char *runtime_dir,
                           struct vn_error *err)
{
    if (p->nvnodes < 1 || p->vcpus < 1)
        return vn_error_set(err, "the placement has no vnode or no vCPU to render."), NULL;
    if (!runtime_dir || !*runtime_dir || strchr(runtime_dir, ','))
        return vn_error_set(err,
                            "runtime directory '%s' is empty or has a comma, which QEMU's "
                            "option syntax cannot carry.",
                            runtime_dir ? runtime_dir : ""),
               NULL;
    for (int v = 0; v < p->vcpus; v++)
        if (p->vcpu_vnode[v] < 0 || p->vcpu_vnode[v] >= p->nvnodes)
            return vn_error_set(err, "vCPU %d of the placement has no vnode.", v), NULL;
    struct vn_strv a = {0};
    uint64_t total = 0;
    for (int i = 0; i < p->nvnodes; i++)
        total += p->vnodes[i].mem_mib;
    vn_strv_addf(&a, "-m");
    vn_strv_addf(&a, "%lluM", (unsigned long long)total);
    int per = socket_per_vnode(p);
    vn_strv_addf(&a, "-smp");
    if (per)
        vn_strv_addf(&a, "%d,sockets=%d,cores=%d,threads=1", p->vcpus, p->vcpus / per, per);
    else
        vn_strv_addf(&a, "%d,sockets=%d,cores=1,threads=1", p->vcpus, p->vcpus);
    for (int i = 0; i < p->nvnodes; i++) {
        const struct vn_place_vnode *vn = &p->vnodes[i];
        struct vn_sbuf s = {0};
        vn_sbuf_printf(&s, "memory-backend-file,id=vnode%d,size=%lluM,mem-path=%s/vnode%d,share=on",
                       i, (unsigned long long)vn->mem_mib, runtime_dir, i);
        host_nodes(&vn->pnodes, &s);
        vn_sbuf_printf(&s, ",policy=%s", vn_render_qemu_policy(vn->policy));
        char *obj = vn_sbuf_take(&s);
        vn_strv_addf(&a, "-object");
        vn_strv_addf(&a, "%s", obj ? obj : "");
        a.oom |= !obj;
        free(obj);
        vn_strv_addf(&a, "-numa");
        vn_strv_addf(&a, "node,nodeid=%d,memdev=vnode%d", i, i);
    }
    if (per) {
        int socket = 0;
        for (int i = 0; i < p->nvnodes; i++)
            if (!vn_bitmap_empty(&p->vnodes[i].vcpus)) {
                vn_strv_addf(&a, "-numa");
                vn_strv_addf(&a, "cpu,node-id=%d,socket-id=%d", i, socket++);
            }
    } else {
        for (int v = 0; v < p->vcpus; v++) {
            vn_strv_addf(&a, "-numa");
            vn_strv_addf(&a, "cpu,node-id=%d,socket-id=%d", p->vcpu_vnode[v], v);
        }
    }
    /* QEMU mirrors src->dst to dst->src when the matrix is symmetric, but once one pair is
     * asymmetric it wants both directions of every pair. */
    bool symmetric = true;
    for (int i = 0; i < p->nvnodes; i++)
        for (int j = 0; j < i; j++)
            symmetric = symmetric && p->vdist[i][j] == p->vdist[j][i];
    if (p->guest_numa && p->nvnodes > 1)
        for (int i = 0; i < p->nvnodes; i++)
            for (int j = 0; j < p->nvnodes; j++) {
                if (i == j || (i > j && symmetric))
                    continue;
                vn_strv_addf(&a, "-numa");
                vn_strv_addf(&a, "dist,src=%d,dst=%d,val=%d", i, j, p->vdist[i][j]);
            }
    char **argv = vn_strv_take(&a);
    if (!argv)
        vn_error_set(err, "out of memory rendering the QEMU arguments.");
    return argv;
}

/* Characters a POSIX shell passes through unquoted. */
static bool shell_safe(const char *w)
{
    if (!*w)
        return false;
    for (const char *c = w; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+:@%/=-", *c))
            return false;
    return true;
}

char *vn_render_shell_line(const char *const *argv)
{
    struct vn_sbuf s = {0};
    for (int i = 0; argv && argv[i]; i++) {
        if (i)
            vn_sbuf_printf(&s, " ");
        if (shell_safe(argv[i])) {
            vn_sbuf_printf(&s, "%s", argv[i]);
            continue;
        }
        vn_sbuf_printf(&s, "'");
        for (const char *c = argv[i]; *c; c++) {
            if (*c == '\'')
                vn_sbuf_printf(&s, "'\\''");
            else
                vn_sbuf_printf(&s, "%c", *c);
        }
        vn_sbuf_printf(&s, "'");
    }
    return vn_sbuf_take(&s);
}
