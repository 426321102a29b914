/* A placement as JSON: what `vnuma place --format json` prints and tools can read back. */
#include <json-c/json.h>
#include <stdio.h>

#include "render_int.h"

static struct json_object *list_or_null(const struct vn_placement *p, int slot)
{
    char buf[VN_BITMAP_BITS * 4];
    if (slot < 0)
        return NULL;
    return json_object_new_string(vn_render_list(&p->sets[slot], buf, sizeof buf));
}

struct json_object *vn_render_json(const struct vn_placement *p)
{
    char buf[VN_BITMAP_BITS * 4];
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "algo", json_object_new_string(vn_place_algo_name(p->algo)));
    json_object_object_add(o, "vcpus", json_object_new_int(p->vcpus));
    json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)p->mem_mib));
    json_object_object_add(o, "guest_numa", json_object_new_boolean(p->guest_numa));
    json_object_object_add(o, "generated", json_object_new_boolean(p->generated));
    /* Four decimals: enough to compare candidates, and stable across libc printf rounding. */
    char score[32];
    snprintf(score, sizeof score, "%.4f", p->score);
    json_object_object_add(o, "score", json_object_new_double_s(p->score, score));
    struct json_object *vnodes = json_object_new_array();
    for (int i = 0; i < p->nvnodes; i++) {
        const struct vn_place_vnode *vn = &p->vnodes[i];
        struct json_object *v = json_object_new_object();
        json_object_object_add(v, "id", json_object_new_int(i));
        struct json_object *pn = json_object_new_array();
        VN_BITMAP_FOREACH(n, &vn->pnodes)
        json_object_array_add(pn, json_object_new_int(n));
        json_object_object_add(v, "pnodes", pn);
        json_object_object_add(v, "memory_mib", json_object_new_int64((int64_t)vn->mem_mib));
        json_object_object_add(v, "policy",
                               json_object_new_string(vn_render_qemu_policy(vn->policy)));
        json_object_object_add(v, "vcpus",
                               json_object_new_string(vn_render_list(&vn->vcpus, buf, sizeof buf)));
        json_object_object_add(v, "soft", list_or_null(p, vn->soft));
        json_object_object_add(v, "hard", list_or_null(p, vn->hard));
        struct json_object *d = json_object_new_array();
        for (int j = 0; j < p->nvnodes; j++)
            json_object_array_add(d, json_object_new_int(p->vdist[i][j]));
        json_object_object_add(v, "distances", d);
        json_object_array_add(vnodes, v);
    }
    json_object_object_add(o, "vnodes", vnodes);
    struct json_object *vc = json_object_new_array();
    for (int v = 0; v < p->vcpus; v++) {
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "vcpu", json_object_new_int(v));
        json_object_object_add(e, "vnode", json_object_new_int(p->vcpu_vnode[v]));
        json_object_object_add(e, "soft", list_or_null(p, p->vcpu_soft[v]));
        json_object_object_add(e, "hard", list_or_null(p, p->vcpu_hard[v]));
        json_object_array_add(vc, e);
    }
    json_object_object_add(o, "vcpu_affinity", vc);
    json_object_object_add(o, "claim", vn_render_claim_json(&p->claim));
    return o;
}

struct json_object *vn_render_claim_json(const struct vn_claim *claim)
{
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < claim->n; i++) {
        struct json_object *c = json_object_new_object();
        json_object_object_add(c, "node", json_object_new_int(claim->v[i].node));
        json_object_object_add(c, "memory_mib",
                               json_object_new_int64((int64_t)claim->v[i].mem_mib));
        json_object_object_add(c, "vcpus", json_object_new_int(claim->v[i].vcpus));
        json_object_array_add(a, c);
    }
    return a;
}
