/* vn_domain_numainfo: the host's view, like Xen's `debug-keys u` - free memory per host node,
 * then each domain's memory per host node (all its vnode files in /proc/PID/numa_maps) and its
 * vnode -> pnode map. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "../numa/numa_maps.h"
#include "../render/render.h"
#include "../topo/topo.h"
#include "../util/cleanup.h"
#include "../util/jsondoc.h"
#include "domain_int.h"

static struct json_object *host_nodes(const struct vn_host_topo *t)
{
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < t->nnodes; i++) {
        const struct vn_node *n = &t->nodes[i];
        struct json_object *e = json_object_new_object();
        char cpus[4096];
        vn_bitmap_format_list(&n->cpus, cpus, sizeof cpus);
        json_object_object_add(e, "node", json_object_new_int(n->os_index));
        json_object_object_add(e, "cpus", json_object_new_string(cpus));
        json_object_object_add(e, "mem_mib", json_object_new_int64((int64_t)n->mem_mib));
        json_object_object_add(e, "free_mib",
                               n->free_known ? json_object_new_int64((int64_t)n->free_mib) : NULL);
        json_object_array_add(arr, e);
    }
    return arr;
}

int vn_dom_residency_sum(const struct vn_domain_record *r, struct vn_residency *sum,
                         struct vn_error *err)
{
    vn_residency_init(sum);
    const char *mem_dir = vn_dom_record_mem_dir(r);
    int n = r->placement ? r->placement->nvnodes : 0;
    if (!mem_dir)
        return vn_error_set(err, "domain '%s': its record names no memory directory", r->name);
    for (int i = 0; i < n; i++) {
        char file[4200];
        struct vn_residency one;
        snprintf(file, sizeof file, "%s/vnode%d", mem_dir, i);
        if (vn_numa_maps_read(r->qemu_pid, file, &one, err) < 0)
            return -1;
        for (int k = 0; k <= one.max_node && k < VN_NUMA_MAPS_MAX_NODES; k++)
            sum->pages[k] += one.pages[k];
        sum->total_pages += one.total_pages;
        sum->page_kib = one.page_kib ? one.page_kib : sum->page_kib;
        if (one.max_node > sum->max_node)
            sum->max_node = one.max_node;
    }
    return 0;
}

/* One domain: its memory per host node, summed over its vnode files, and its vnode map. */
static struct json_object *domain(const struct vn_domain_record *r)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(r->name));
    json_object_object_add(o, "state", json_object_new_string(vn_dom_state(r)));
    struct json_object *map = json_object_new_array();
    for (int i = 0; r->placement && i < r->placement->nvnodes; i++) {
        const struct vn_place_vnode *v = &r->placement->vnodes[i];
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "vnode", json_object_new_int(i));
        json_object_object_add(e, "pnodes", vn_json_int_list(&v->pnodes));
        json_object_object_add(e, "memory_mib", json_object_new_int64((int64_t)v->mem_mib));
        json_object_array_add(map, e);
    }
    json_object_object_add(o, "vnode_map", map);

    struct json_object *mem = NULL;
    if (r->qemu_pid > 0 && vn_domain_alive(r)) {
        struct vn_residency sum;
        struct vn_error e2 = {0};
        if (vn_dom_residency_sum(r, &sum, &e2) < 0)
            json_object_object_add(o, "error", json_object_new_string(e2.msg));
        mem = vn_dom_residency_json(&sum, NULL);
    }
    /* The claim is what blocks or admits the next create, so it is shown beside the pages. */
    struct vn_claim none = {.n = 0};
    json_object_object_add(
        o, "claim", vn_render_claim_json(vn_domain_holds_claim(r) ? vn_domain_claim(r) : &none));
    json_object_object_add(o, "memory_by_node", mem ? mem : json_object_new_array());
    return o;
}

int vn_domain_numainfo(const char *state_dir, const char *host_spec, struct json_object **out,
                       struct vn_error *err)
{
    *out = NULL;
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_load(host_spec, err);
    if (!t)
        return vn_error_prefix(err, "cannot read the host topology");
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (vn_dom_open_existing(state_dir, &s, err) < 0)
        return -1;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "host_nodes", host_nodes(t));
    struct json_object *doms = json_object_new_array();
    json_object_object_add(o, "domains", doms);
    if (vn_dom_each_record(s, doms, domain, err) < 0) {
        json_object_put(o);
        return -1;
    }
    *out = o;
    return 0;
}
