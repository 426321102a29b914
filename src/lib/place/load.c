/* The host's load as placement sees it: claims, reservations, groups. */
#include <string.h>

#include "place_int.h"

void vn_host_load_init(struct vn_host_load *load, const struct vn_host_topo *topo)
{
    /* Only the arrays the topology uses need clearing; the rest is never read. */
    int n = topo->nnodes < VN_PLACE_MAX_NODES ? topo->nnodes : VN_PLACE_MAX_NODES;
    load->nnodes = topo->nnodes;
    load->nvms = 0;
    load->ngroups = 0;
    memset(load->mem_mib, 0, sizeof load->mem_mib[0] * n);
    memset(load->vcpus, 0, sizeof load->vcpus[0] * n);
    memset(load->xen_vcpus, 0, sizeof load->xen_vcpus[0] * n);
    memset(load->reserve_mib, 0, sizeof load->reserve_mib[0] * n);
    memset(load->resident_mib, 0, sizeof load->resident_mib[0] * n);
    vn_bitmap_zero(&load->reserve_cpus);
}

int vn_host_load_reserve(struct vn_host_load *load, const struct vn_host_topo *topo,
                         uint64_t mem_mib, const struct vn_bitmap *cpus, struct vn_error *err)
{
    if (cpus) {
        VN_BITMAP_FOREACH(c, cpus)
        {
            if (vn_place_cpu_node(topo, c) < 0)
                return vn_error_set(err, "reserved CPU '%d' is not on host '%s'.", c, topo->name);
        }
        vn_bitmap_or(&load->reserve_cpus, cpus);
    }
    for (int n = 0; n < topo->nnodes && n < VN_PLACE_MAX_NODES; n++)
        load->reserve_mib[n] += mem_mib;
    return 0;
}

static struct vn_place_group *group_get(struct vn_host_load *load, const char *name, bool anti,
                                        struct vn_error *err)
{
    for (int i = 0; i < load->ngroups; i++)
        if (load->groups[i].anti == anti && strcmp(load->groups[i].name, name) == 0)
            return &load->groups[i];
    if (strlen(name) >= VN_PLACE_GROUP_NAME) {
        vn_error_set(err, "group name '%s' is longer than %d characters", name,
                     VN_PLACE_GROUP_NAME - 1);
        return NULL;
    }
    if (load->ngroups == VN_PLACE_MAX_GROUPS) {
        vn_error_set(err, "group '%s' is one more than the %d groups placement supports", name,
                     VN_PLACE_MAX_GROUPS);
        return NULL;
    }
    struct vn_place_group *g = &load->groups[load->ngroups++];
    memset(g, 0, sizeof *g);
    strcpy(g->name, name);
    g->anti = anti;
    return g;
}

int vn_host_load_add_claim(struct vn_host_load *load, const struct vn_host_topo *topo,
                           const struct vn_claim *claim, const char *affinity_group,
                           const char *anti_affinity_group, struct vn_error *err)
{
    if (load->nnodes != topo->nnodes)
        return vn_error_set(err, "the load was made for %d nodes but host '%s' has %d.",
                            load->nnodes, topo->name, topo->nnodes);
    /* Check everything before changing anything, so a bad claim leaves the load as it was. */
    int idx[VN_MAX_VNODES];
    int total_vcpus = 0;
    for (int i = 0; i < claim->n; i++) {
        idx[i] = vn_place_node_index(topo, claim->v[i].node);
        if (idx[i] < 0)
            return vn_error_set(err, "claimed node '%d' is not on host '%s'.", claim->v[i].node,
                                topo->name);
        if (claim->v[i].vcpus < 0)
            return vn_error_set(err, "claim on node '%d' has a negative vCPU count.",
                                claim->v[i].node);
        total_vcpus += claim->v[i].vcpus;
    }
    struct vn_place_group *aff = NULL, *anti = NULL;
    if (affinity_group && *affinity_group && !(aff = group_get(load, affinity_group, false, err)))
        return -1;
    if (anti_affinity_group && *anti_affinity_group &&
        !(anti = group_get(load, anti_affinity_group, true, err)))
        return -1;
    for (int i = 0; i < claim->n; i++) {
        int n = idx[i];
        load->mem_mib[n] += claim->v[i].mem_mib;
        load->vcpus[n] += claim->v[i].vcpus;
        /* libxl_numa.c nr_vcpus_on_nodes(): a vCPU counts once on each node that is both in
         * its affinity and in its domain's node affinity, i.e. on every node of the claim. */
        load->xen_vcpus[n] += total_vcpus;
        if (aff) {
            vn_bitmap_set(&aff->nodes, n);
            aff->node_vms[n]++;
        }
        if (anti) {
            vn_bitmap_set(&anti->nodes, n);
            anti->node_vms[n]++;
        }
    }
    if (aff)
        aff->nvms++;
    if (anti)
        anti->nvms++;
    load->nvms++;
    return 0;
}

static struct vn_place_group *group_find(struct vn_host_load *load, const char *name, bool anti)
{
    for (int i = 0; name && *name && i < load->ngroups; i++)
        if (load->groups[i].anti == anti && strcmp(load->groups[i].name, name) == 0)
            return &load->groups[i];
    return NULL;
}

static void group_leave(struct vn_place_group *g, int n)
{
    if (!g)
        return;
    if (g->node_vms[n] > 0 && --g->node_vms[n] == 0)
        vn_bitmap_clear(&g->nodes, n);
}

static uint64_t minus(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

int vn_host_load_remove_claim(struct vn_host_load *load, const struct vn_host_topo *topo,
                              const struct vn_claim *claim, const char *affinity_group,
                              const char *anti_affinity_group, struct vn_error *err)
{
    int idx[VN_MAX_VNODES], total_vcpus = 0;
    for (int i = 0; i < claim->n; i++) {
        idx[i] = vn_place_node_index(topo, claim->v[i].node);
        if (idx[i] < 0)
            return vn_error_set(err, "claimed node '%d' is not on host '%s'.", claim->v[i].node,
                                topo->name);
        total_vcpus += claim->v[i].vcpus;
    }
    struct vn_place_group *aff = group_find(load, affinity_group, false);
    struct vn_place_group *anti = group_find(load, anti_affinity_group, true);
    for (int i = 0; i < claim->n; i++) {
        int n = idx[i];
        load->mem_mib[n] = minus(load->mem_mib[n], claim->v[i].mem_mib);
        load->vcpus[n] = (int)minus((uint64_t)load->vcpus[n], (uint64_t)claim->v[i].vcpus);
        load->xen_vcpus[n] = (int)minus((uint64_t)load->xen_vcpus[n], (uint64_t)total_vcpus);
        group_leave(aff, n);
        group_leave(anti, n);
    }
    if (aff && aff->nvms > 0)
        aff->nvms--;
    if (anti && anti->nvms > 0)
        anti->nvms--;
    if (load->nvms > 0)
        load->nvms--;
    return 0;
}

int vn_host_load_add_resident(struct vn_host_load *load, const struct vn_host_topo *topo,
                              const struct vn_claim *claim, int node, uint64_t mib,
                              struct vn_error *err)
{
    int n = vn_place_node_index(topo, node);
    if (n < 0)
        return vn_error_set(err, "node '%d' is not on host '%s'.", node, topo->name);
    /* Only memory the VM claims on this node is credited: pages elsewhere than claimed are
     * moved home in time, and then the claim is the whole truth. */
    uint64_t claimed = 0;
    for (int i = 0; i < claim->n; i++)
        if (claim->v[i].node == node)
            claimed = claim->v[i].mem_mib;
    uint64_t credit = mib < claimed ? mib : claimed;
    load->resident_mib[n] += credit;
    return 0;
}

uint64_t vn_host_load_free_mib(const struct vn_host_load *load, const struct vn_host_topo *topo,
                               int n)
{
    const struct vn_node *node = &topo->nodes[n];
    uint64_t base = node->free_mib < node->mem_mib ? node->free_mib : node->mem_mib;
    /* The resident part of a claim is already missing from free_mib; never let the credit
     * make a node look larger than it is. */
    base += load->resident_mib[n] < load->mem_mib[n] ? load->resident_mib[n] : load->mem_mib[n];
    if (base > node->mem_mib)
        base = node->mem_mib;
    uint64_t used = load->mem_mib[n] + load->reserve_mib[n];
    return base > used ? base - used : 0;
}

double vn_host_node_capacity(const struct vn_host_load *load, const struct vn_host_topo *topo,
                             int n)
{
    /* The first thread of a core (smt 0) is a core, each sibling a fraction of one. */
    double cap = 0;
    VN_BITMAP_FOREACH(c, &topo->nodes[n].cpus)
    {
        if (vn_bitmap_test(&load->reserve_cpus, c))
            continue;
        int ci = vn_place_cpu_index(topo, c);
        if (ci >= 0)
            cap += topo->cpus[ci].smt == 0 ? 1.0 : VN_PLACE_SMT_WEIGHT;
    }
    return cap;
}
