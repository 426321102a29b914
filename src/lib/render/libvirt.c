/* libvirt domain XML fragments for a placement.
 *
 * libvirt has no soft affinity: <vcpupin> is a hard pin.  A hard set from the config is
 * rendered as such; without one, each vCPU is pinned to its vnode's CPUs, the node-wide pin
 * libvirt users write by hand (an XML comment says so). */
#include <stdio.h>
#include <stdlib.h>

#include "render_int.h"

char *vn_render_libvirt_xml(const struct vn_placement *p)
{
    struct vn_sbuf s = {0};
    char buf[VN_BITMAP_BITS * 4];
    bool hard_any = false;
    for (int v = 0; v < p->vcpus; v++)
        hard_any |= p->vcpu_hard[v] >= 0;
    const int *pins = hard_any ? p->vcpu_hard : p->vcpu_soft;
    if (hard_any && vn_render_uniform(p->vcpu_hard, p->vcpus))
        vn_sbuf_printf(&s, "<vcpu placement='static' cpuset='%s'>%d</vcpu>\n",
                       vn_render_list(&p->sets[p->vcpu_hard[0]], buf, sizeof buf), p->vcpus);
    else
        vn_sbuf_printf(&s, "<vcpu placement='static'>%d</vcpu>\n", p->vcpus);
    vn_sbuf_printf(&s, "<cputune>\n");
    if (!hard_any)
        vn_sbuf_printf(&s, "  <!-- libvirt has no soft affinity: each vCPU is pinned to the "
                           "CPUs of its vnode's host node -->\n");
    for (int v = 0; v < p->vcpus; v++)
        if (pins[v] >= 0)
            vn_sbuf_printf(&s, "  <vcpupin vcpu='%d' cpuset='%s'/>\n", v,
                           vn_render_list(&p->sets[pins[v]], buf, sizeof buf));
    vn_sbuf_printf(&s, "</cputune>\n");

    struct vn_bitmap all;
    vn_bitmap_zero(&all);
    for (int i = 0; i < p->nvnodes; i++)
        vn_bitmap_or(&all, &p->vnodes[i].pnodes);
    vn_sbuf_printf(&s, "<numatune>\n");
    vn_sbuf_printf(&s, "  <memory mode='%s' nodeset='%s'/>\n",
                   vn_render_libvirt_mode(p->vnodes[0].policy),
                   vn_render_list(&all, buf, sizeof buf));
    if (p->guest_numa)
        for (int i = 0; i < p->nvnodes; i++)
            vn_sbuf_printf(&s, "  <memnode cellid='%d' mode='%s' nodeset='%s'/>\n", i,
                           vn_render_libvirt_mode(p->vnodes[i].policy),
                           vn_render_list(&p->vnodes[i].pnodes, buf, sizeof buf));
    vn_sbuf_printf(&s, "</numatune>\n");

    if (p->guest_numa) {
        vn_sbuf_printf(&s, "<cpu>\n  <numa>\n");
        for (int i = 0; i < p->nvnodes; i++) {
            const struct vn_place_vnode *vn = &p->vnodes[i];
            vn_sbuf_printf(&s, "    <cell id='%d'", i);
            if (!vn_bitmap_empty(&vn->vcpus))
                vn_sbuf_printf(&s, " cpus='%s'", vn_render_list(&vn->vcpus, buf, sizeof buf));
            vn_sbuf_printf(&s, " memory='%llu' unit='MiB'>\n", (unsigned long long)vn->mem_mib);
            vn_sbuf_printf(&s, "      <distances>\n");
            for (int j = 0; j < p->nvnodes; j++)
                vn_sbuf_printf(&s, "        <sibling id='%d' value='%d'/>\n", j, p->vdist[i][j]);
            vn_sbuf_printf(&s, "      </distances>\n    </cell>\n");
        }
        vn_sbuf_printf(&s, "  </numa>\n</cpu>\n");
    }
    return vn_sbuf_take(&s);
}
