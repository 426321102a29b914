/* xl.cfg lines for a placement: the vnuma list (Xen 4.5+ syntax), cpus and cpus_soft.
 *
 * xl's vnuma takes one pnode per vnode; a flat placement (no guest vNUMA) is expressed by
 * soft affinity alone, from which libxl derives the node affinity of the memory. */
#include <stdio.h>
#include <stdlib.h>

#include "render_int.h"

/* "cpus_soft = ..." as one string when all vCPUs agree, else xl's per-vCPU list. */
static void affinity_line(struct vn_sbuf *s, const struct vn_placement *p, const char *key,
                          const int *slots)
{
    char buf[VN_BITMAP_BITS * 4];
    bool any = false;
    for (int v = 0; v < p->vcpus; v++)
        any |= slots[v] >= 0;
    if (!any)
        return;
    if (vn_render_uniform(slots, p->vcpus)) {
        vn_sbuf_printf(s, "%s = \"%s\"\n", key,
                       vn_render_list(&p->sets[slots[0]], buf, sizeof buf));
        return;
    }
    vn_sbuf_printf(s, "%s = [", key);
    for (int v = 0; v < p->vcpus; v++)
        vn_sbuf_printf(s, "%s\"%s\"", v ? ", " : " ",
                       slots[v] >= 0 ? vn_render_list(&p->sets[slots[v]], buf, sizeof buf) : "all");
    vn_sbuf_printf(s, " ]\n");
}

char *vn_render_xl(const struct vn_placement *p)
{
    struct vn_sbuf s = {0};
    char buf[VN_BITMAP_BITS * 4];
    if (p->guest_numa) {
        vn_sbuf_printf(&s, "vnuma = [\n");
        for (int i = 0; i < p->nvnodes; i++) {
            const struct vn_place_vnode *vn = &p->vnodes[i];
            vn_sbuf_printf(&s, "    [ \"pnode=%d\", \"size=%llu\"", vn_bitmap_next(&vn->pnodes, -1),
                           (unsigned long long)vn->mem_mib);
            if (!vn_bitmap_empty(&vn->vcpus))
                vn_sbuf_printf(&s, ", \"vcpus=%s\"", vn_render_list(&vn->vcpus, buf, sizeof buf));
            vn_sbuf_printf(&s, ", \"vdistances=");
            for (int j = 0; j < p->nvnodes; j++)
                vn_sbuf_printf(&s, "%s%d", j ? "," : "", p->vdist[i][j]);
            vn_sbuf_printf(&s, "\" ]%s\n", i + 1 < p->nvnodes ? "," : "");
        }
        vn_sbuf_printf(&s, "]\n");
    }
    affinity_line(&s, p, "cpus", p->vcpu_hard);
    affinity_line(&s, p, "cpus_soft", p->vcpu_soft);
    return vn_sbuf_take(&s);
}
