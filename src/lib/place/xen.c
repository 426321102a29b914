/* The xen algorithm: a faithful re-implementation of libxl's automatic NUMA placement, the
 * reference vnuma is measured against.  Each rule names where libxl has it:
 *   [numa.c]  tools/libs/light/libxl_numa.c, libxl__get_numa_candidate() and helpers
 *   [dom.c]   tools/libs/light/libxl_dom.c, numa_place_domain(), numa_cmpf(),
 *             libxl__build_pre(), set_vnuma_affinity()
 * What vnuma adds on top of libxl (host reservation, cpus_soft restricting memory) is not
 * used here, except that reserved CPUs are treated as outside the domain's cpupool, which is
 * how a Xen host keeps CPUs for itself. */
#include <stdio.h>
#include <string.h>

#include "place_int.h"

/* [numa.c] "if the system has up to 16 nodes it 'only' takes 65535 steps ... a safety catch
 * that disables the algorithm" above that. */
#define XEN_MAX_NODES 16

static const char *const xen_terms[2] = {"nr_vcpus", "free MiB"};

/* [numa.c] count_cpus_per_node(): the CPUs per node when every node has the same number,
 * else 0 (then candidates start from one node).  Counts all the host's CPUs, like libxl's
 * tinfo, and all nodes, so a CPU-less node turns the shortcut off. */
static int cpus_per_node(const struct vn_host_topo *t)
{
    int per = 0;
    for (int n = 0; n < t->nnodes; n++) {
        int c = vn_bitmap_count(&t->nodes[n].cpus);
        per = per == 0 ? c : per;
        if (c != per)
            return 0;
    }
    return per;
}

/* [numa.c] comb_init()/comb_next(): k-combinations of n in lexicographic order. */
static bool comb_next(int *it, int n, int k)
{
    int i = k - 1;
    while (i >= 0 && it[i] == n - k + i)
        i--;
    if (i < 0)
        return false;
    it[i]++;
    for (i++; i < k; i++)
        it[i] = it[i - 1] + 1;
    return true;
}

/* Flat placement on the nodes in set: one vnode, memory on all of them, soft affinity to
 * their CPUs ([dom.c] libxl__build_pre: libxl_nodemap_to_cpumap -> soft affinity of every
 * vCPU).  The claim spreads memory and vCPUs as Xen would end up doing: vCPUs by CPUs,
 * memory with them (Xen's allocator takes the domain's pages round the node affinity). */
static int build_flat(const struct vn_place_ctx *ctx, const int *set, int k,
                      struct vn_placement *out, struct vn_error *err)
{
    const struct vn_host_topo *t = ctx->topo;
    int vc[VN_MAX_VNODES];
    uint64_t mem[VN_MAX_VNODES];
    if (vn_place_split(ctx, set, k, vc, mem) < 0)
        return vn_place_no_fit(ctx, err);
    struct vn_place_vnode *vn = &out->vnodes[0];
    out->nvnodes = 1;
    out->guest_numa = false;
    vn->mem_mib = ctx->mem;
    vn->policy = ctx->spec->mempolicy;
    vn_bitmap_zero(&vn->pnodes);
    vn_bitmap_zero(&vn->vcpus);
    vn_bitmap_set_range(&vn->vcpus, 0, ctx->vcpus - 1);
    struct vn_bitmap nodes;
    vn_bitmap_zero(&nodes);
    for (int i = 0; i < k; i++) {
        vn_bitmap_set(&vn->pnodes, t->nodes[set[i]].os_index);
        vn_bitmap_set(&nodes, set[i]);
        vn_placement_claim(out, t, set[i], mem[i], vc[i]);
    }
    out->vdist[0][0] = 10;
    return vn_placement_finish_affinity(out, ctx, &nodes, err);
}

int vn_place_xen(const struct vn_place_ctx *ctx, struct vn_placement *out,
                 struct vn_place_explain *ex, struct vn_error *err)
{
    const struct vn_host_topo *t = ctx->topo;
    const struct vn_vm_spec *spec = ctx->spec;
    vn_explain_begin(ex, VN_PLACE_XEN, 2, xen_terms);
    vn_placement_begin(out, ctx, VN_PLACE_XEN);
    if (t->nnodes > XEN_MAX_NODES)
        return vn_error_set(err,
                            "the xen algorithm, like libxl, does not place VMs on hosts with more "
                            "than %d NUMA nodes, and host '%s' has %d; use '--algo vnuma'.",
                            XEN_MAX_NODES, t->name, t->nnodes);
    if (spec->nvnodes > 0) {
        /* xl's vnuma syntax requires a pnode for every vnode, and libxl then gives each
         * vnode's vCPUs soft affinity to its pnode ([dom.c] set_vnuma_affinity). */
        for (int i = 0; i < spec->nvnodes; i++)
            if (spec->vnodes[i].pnode < 0)
                return vn_error_set(err,
                                    "the xen algorithm needs a pnode for every vnode, as xl "
                                    "does, and vnode %d of VM '%s' has none; use '--algo vnuma'.",
                                    i, spec->name ? spec->name : "?");
        int rc = vn_place_spec_vnodes(ctx, out, ex, err);
        if (ex)
            snprintf(ex->why, sizeof ex->why,
                     "The config fixes every vnode's pnode; libxl uses them as they are.");
        return rc;
    }
    int suit[XEN_MAX_NODES], nsuit = 0;
    if (spec->cpus_soft.nsets > 0) {
        /* [dom.c] libxl__build_pre: "Can't run NUMA placement, as a soft affinity has been
         * specified explicitly": the domain keeps affinity to every node. */
        for (int n = 0; n < t->nnodes; n++)
            if (ctx->ncpus[n] > 0 || ctx->free[n] > 0)
                suit[nsuit++] = n;
        if (ex)
            snprintf(ex->why, sizeof ex->why,
                     "cpus_soft is given, so libxl does not run placement: memory may come from "
                     "every node.");
        return build_flat(ctx, suit, nsuit, out, err);
    }
    /* [numa.c] suitable nodes are those with a CPU in the suitable cpumap: the cpupool's CPUs,
     * narrowed to the hard affinity when one is given ([dom.c] numa_place_domain). */
    for (int n = 0; n < t->nnodes; n++)
        if (ctx->ncpus[n] > 0)
            suit[nsuit++] = n;
    if (nsuit == 0)
        return vn_place_no_fit(ctx, err);
    /* [numa.c] min_nodes from the CPUs per node when they are uniform, else 1; both bounds
     * clipped to the suitable nodes. */
    int per = cpus_per_node(t);
    int kmin = per ? (ctx->vcpus + per - 1) / per : 1;
    if (kmin > nsuit)
        kmin = nsuit;
    if (kmin < 1)
        kmin = 1;

    int best[XEN_MAX_NODES], best_k = 0, best_vcpus = 0;
    uint64_t best_free = 0;
    uint64_t maxfree = 1;
    for (int i = 0; i < nsuit; i++)
        maxfree += ctx->free[suit[i]];
    /* [numa.c] sizes from min_nodes up, stopping at the first size with any candidate:
     * "any candidate found during the i-eth step will be better than any other one we could
     * find during the (i+1)-eth". */
    for (int k = kmin; k <= nsuit && best_k == 0; k++) {
        int it[XEN_MAX_NODES];
        for (int i = 0; i < k; i++)
            it[i] = i;
        do {
            int set[XEN_MAX_NODES];
            uint64_t free = 0;
            int cpus = 0, nr_vcpus = 0;
            for (int i = 0; i < k; i++) {
                set[i] = suit[it[i]];
                free += ctx->free[set[i]];
                cpus += ctx->ncpus[set[i]];
                nr_vcpus += ctx->load->xen_vcpus[set[i]];
            }
            /* [numa.c] a candidate needs the memory and at least as many CPUs as vCPUs. */
            if (free < ctx->mem || cpus < ctx->vcpus)
                continue;
            double terms[2] = {nr_vcpus, (double)free};
            vn_explain_offer(ex, t, set, k, nr_vcpus + 1.0 - (double)free / (double)maxfree, terms);
            /* [dom.c] numa_cmpf: fewer vCPUs able to run on the nodes first, then more free
             * memory; [numa.c] only a strictly better candidate replaces the best, so ties go
             * to the earlier combination.  (libxl returns the memory difference as an int,
             * which wraps past 2 TiB; we compare the values.) */
            bool better = best_k == 0 || nr_vcpus < best_vcpus ||
                          (nr_vcpus == best_vcpus && free > best_free);
            if (better) {
                best_k = k;
                best_vcpus = nr_vcpus;
                best_free = free;
                memcpy(best, set, sizeof set[0] * k);
            }
        } while (comb_next(it, nsuit, k));
    }
    if (best_k == 0) {
        /* [dom.c] numa_place_domain: "Not even a suitable placement candidate! Let's just
         * don't touch the domain's info->cpumap": the domain runs unplaced, its memory from
         * any suitable node -- possible as long as the memory is there. */
        if (ex)
            snprintf(ex->why, sizeof ex->why,
                     "No node set has the memory and a CPU per vCPU, so libxl leaves the VM "
                     "unplaced: memory from any node, vCPUs anywhere.");
        return build_flat(ctx, suit, nsuit, out, err);
    }
    if (ex) {
        vn_explain_choose(ex, t, best, best_k);
        snprintf(ex->why, sizeof ex->why,
                 "libxl's rule: the fewest nodes (from %d, by CPUs per node) with the memory and "
                 "a CPU per vCPU; among them the fewest vCPUs already able to run there, then "
                 "the most free memory; ties to the first combination.",
                 kmin);
    }
    out->score = best_vcpus;
    return build_flat(ctx, best, best_k, out, err);
}
