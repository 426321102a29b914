/* Internal to src/lib/place: the per-call context every algorithm starts from, and helpers
 * that build a struct vn_placement.  Nothing here is part of the public API. */
#ifndef VN_PLACE_INT_H
#define VN_PLACE_INT_H

#include "place.h"

/* What one placement call knows about each node, computed once (O(nodes + CPUs)). */
struct vn_place_ctx {
    const struct vn_host_topo *topo;
    const struct vn_host_load *load;
    const struct vn_place_request *req;
    const struct vn_vm_spec *spec;
    int nn;
    int vcpus; /* vCPUs to place (maxvcpus) */
    /* CPUs a node set must have: one per vCPU (libxl's rule), or every usable CPU of the
     * allowed nodes when the VM has more vCPUs than that (it will share them). */
    int need_cpus;
    uint64_t mem;                /* memory to place */
    struct vn_bitmap hard_union; /* union of the config's hard sets (empty = none given) */
    struct vn_bitmap soft_union; /* union of the config's soft sets (empty = none given) */
    /* usable = the CPUs of the node a VM may run on: not reserved, in the hard sets if any */
    uint64_t free[VN_PLACE_MAX_NODES];
    double cap[VN_PLACE_MAX_NODES];
    int ncpus[VN_PLACE_MAX_NODES];    /* usable CPUs */
    bool allowed[VN_PLACE_MAX_NODES]; /* may hold the VM (affinity as written permits it) */
    const struct vn_place_group *aff; /* the VM's groups as the load knows them, or NULL */
    const struct vn_place_group *anti;
};

/* Index of the node with Linux number os in topo, or -1 (binary search: nodes are sorted). */
int vn_place_node_index(const struct vn_host_topo *topo, int os);
/* Index into topo->cpus of Linux CPU os, or -1. */
int vn_place_cpu_index(const struct vn_host_topo *topo, int os);
/* Node index of Linux CPU os, or -1. */
int vn_place_cpu_node(const struct vn_host_topo *topo, int os);

static inline int vn_place_dist(const struct vn_host_topo *t, int a, int b)
{
    return t->dist[a * t->nnodes + b];
}

/* Fills ctx for one VM and checks what does not depend on the algorithm. */
int vn_place_ctx_init(struct vn_place_ctx *ctx, const struct vn_host_topo *topo,
                      const struct vn_host_load *load, const struct vn_place_request *req,
                      struct vn_error *err);

/* Starts out for ctx's VM: vCPU maps cleared, no vnodes, no sets, empty claim. */
void vn_placement_begin(struct vn_placement *out, const struct vn_place_ctx *ctx,
                        enum vn_place_algo algo);
/* Adds mem_mib and vcpus on node index n to the claim. */
void vn_placement_claim(struct vn_placement *out, const struct vn_host_topo *topo, int n,
                        uint64_t mem_mib, int vcpus);
/* Gives each vnode its soft and hard sets and each vCPU its sets, honouring the config's
 * cpus and cpus_soft; vnode_nodes[i] are the node indexes whose CPUs vnode i prefers. */
int vn_placement_finish_affinity(struct vn_placement *out, const struct vn_place_ctx *ctx,
                                 const struct vn_bitmap *vnode_nodes, struct vn_error *err);

/* The largest free memory on an allowed node: for "does not fit" messages. */
int vn_place_largest_free(const struct vn_place_ctx *ctx, uint64_t *mib);
/* Sets err to the "does not fit" reason for a VM that needs mem MiB and vcpus CPUs in all. */
int vn_place_no_fit(const struct vn_place_ctx *ctx, struct vn_error *err);

/* Splits the VM over the nodes set[0..k) (seed first): vCPUs in proportion to usable CPUs,
 * memory in proportion to vCPUs, capped by each node's free memory.  -1 when it cannot. */
int vn_place_split(const struct vn_place_ctx *ctx, const int *set, int k, int *vc, uint64_t *mem);
/* Orders set[1..k) by distance from set[0], ties by index: the order vnuma grows a set in
 * (exact orders its sets alike, so both split a set the same way). */
void vn_place_order_from_seed(const struct vn_host_topo *t, int *set, int k);
/* Copies a split of k nodes (set, vc, mem) into the *_out arrays: keeps the best so far. */
void vn_place_copy_split(int k, const int *set, const int *vc, const uint64_t *mem, int *set_out,
                         int *vc_out, uint64_t *mem_out);

/* Explain helpers: keeps the best VN_PLACE_MAX_CANDS candidates, ordered by (nodes, score). */
void vn_explain_begin(struct vn_place_explain *ex, enum vn_place_algo algo, int nterms,
                      const char *const *names);
void vn_explain_offer(struct vn_place_explain *ex, const struct vn_host_topo *topo, const int *set,
                      int k, double score, const double *terms);
/* Marks as chosen the candidate whose nodes are the node indexes set[0..k). */
void vn_explain_choose(struct vn_place_explain *ex, const struct vn_host_topo *topo, const int *set,
                       int k);

int vn_place_vnuma(const struct vn_place_ctx *ctx, struct vn_placement *out,
                   struct vn_place_explain *ex, struct vn_error *err);
int vn_place_xen(const struct vn_place_ctx *ctx, struct vn_placement *out,
                 struct vn_place_explain *ex, struct vn_error *err);
int vn_place_exact(const struct vn_place_ctx *ctx, struct vn_placement *out,
                   struct vn_place_explain *ex, struct vn_error *err);

/* vnuma's score of placing ctx's VM with the split (vc, mem) over set[0..k); terms gets the
 * six parts when not NULL.  Shared by vnuma and exact so that both optimise one thing. */
double vn_place_score(const struct vn_place_ctx *ctx, const int *set, int k, const int *vc,
                      const uint64_t *mem, double *terms);
/* Fills out for a flat (k == 1) or generated-vNUMA (k > 1) placement on set with a split. */
int vn_place_build_auto(const struct vn_place_ctx *ctx, const int *set, int k, const int *vc,
                        const uint64_t *mem, struct vn_placement *out, struct vn_error *err);
/* Places a config that has vnodes: fixed pnodes are checked, free ones chosen (vnuma rules). */
int vn_place_spec_vnodes(const struct vn_place_ctx *ctx, struct vn_placement *out,
                         struct vn_place_explain *ex, struct vn_error *err);

#endif
