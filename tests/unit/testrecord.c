/* Builders of typed domain records for the unit tests (testrecord.h). */
#include "testrecord.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct vn_placement *tr_placement(int nvnodes, const int *pnode, const uint64_t *mib, int nvcpus,
                                  const int *vcpu_vnode)
{
    struct vn_placement *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->algo = VN_PLACE_VNUMA;
    p->vcpus = nvcpus;
    p->guest_numa = nvnodes > 1;
    p->nvnodes = nvnodes;
    for (int i = 0; i < nvnodes; i++) {
        struct vn_place_vnode *v = &p->vnodes[i];
        v->mem_mib = mib[i];
        p->mem_mib += mib[i];
        vn_bitmap_set(&v->pnodes, pnode[i]);
        v->soft = v->hard = -1;
        for (int j = 0; j < nvnodes; j++)
            p->vdist[i][j] = i == j ? 10 : 20;
    }
    for (int c = 0; c < nvcpus; c++) {
        p->vcpu_vnode[c] = vcpu_vnode[c];
        p->vcpu_soft[c] = p->vcpu_hard[c] = -1;
        vn_bitmap_set(&p->vnodes[vcpu_vnode[c]].vcpus, c);
    }
    for (int i = 0; i < nvnodes; i++) {
        int k = 0;
        while (k < p->claim.n && p->claim.v[k].node != pnode[i])
            k++;
        if (k == p->claim.n)
            p->claim.v[p->claim.n++] = (struct vn_claim_node){pnode[i], 0, 0};
        p->claim.v[k].mem_mib += mib[i];
        p->claim.v[k].vcpus += vn_bitmap_count(&p->vnodes[i].vcpus);
    }
    return p;
}

struct vn_vm_spec *tr_spec(const char *config)
{
    struct vn_diags dg;
    vn_diags_init(&dg, "test.cfg");
    struct vn_vm_spec *spec = vn_config_load_buf(config, strlen(config), "test.cfg", NULL, &dg);
    if (!spec) {
        char first[700] = "";
        if (dg.n)
            vn_diag_format(&dg, 0, first, sizeof first);
        fail_msg("the test config has errors (%s):\n%s", first, config);
    }
    vn_diags_free(&dg);
    return spec;
}
