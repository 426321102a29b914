/* Placement: where a VM's memory and vCPUs go on a NUMA host.
 *
 * Pure decisions: structs in, structs out, no I/O, no globals, no allocation, so `vnuma
 * place`, the launcher, the daemon and the simulator all run the same code and get the same
 * answer for the same input.  Three algorithms share one interface:
 *   - VN_PLACE_XEN   a faithful re-implementation of libxl's automatic placement (the
 *                    reference to beat; <= 16 nodes, like libxl);
 *   - VN_PLACE_VNUMA the default: distance-, load-, device- and group-aware, polynomial;
 *   - VN_PLACE_EXACT exhaustive over node sets for small hosts (<= 8 nodes), the yardstick.
 * docs/PLACEMENT.md describes the rules, the scoring and the exact objective.
 *
 * Nodes are named two ways: "node index" is the position in vn_host_topo.nodes (what arrays
 * here are indexed by), "node" alone is the Linux number (what users, claims and renderers
 * see).  CPUs are always Linux CPU numbers. */
#ifndef VN_PLACE_H
#define VN_PLACE_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/spec.h"
#include "../topo/topo.h"
#include "../util/bitmap.h"
#include "../util/error.h"
#include "claim.h"

struct json_object;

/* Linux's default MAX_NUMNODES on x86-64 (NODES_SHIFT 10). */
#define VN_PLACE_MAX_NODES  1024
#define VN_PLACE_MAX_GROUPS 64
#define VN_PLACE_GROUP_NAME 64
#define VN_PLACE_MAX_DEVS   16
/* Distinct CPU sets one placement can hold (per-vnode sets plus per-vCPU sets as written). */
#define VN_PLACE_MAX_SETS  128
#define VN_PLACE_MAX_CANDS 16

/* A sibling hardware thread is worth this much of a core when counting CPU capacity: two
 * threads of one core give a core and a bit, not two cores (docs/PLACEMENT.md). */
#define VN_PLACE_SMT_WEIGHT 0.6

enum vn_place_algo {
    VN_PLACE_VNUMA,
    VN_PLACE_XEN,
    VN_PLACE_EXACT,
};

/* An affinity or anti-affinity group and the nodes its members use. */
struct vn_place_group {
    char name[VN_PLACE_GROUP_NAME];
    bool anti;
    int nvms;
    struct vn_bitmap nodes; /* node indexes */
    /* VMs of the group with a claim on each node index: removing one VM clears a node from
     * `nodes` only when no other member is left there. */
    uint16_t node_vms[VN_PLACE_MAX_NODES];
};

/* What is already on the host: claims of other VMs, and what the host keeps for itself.
 * Build it with vn_host_load_init() and one vn_host_load_add_claim() per VM.  Plain data:
 * copy it to try "what if" placements. */
struct vn_host_load {
    int nnodes; /* equals the topology's */
    int nvms;
    uint64_t mem_mib[VN_PLACE_MAX_NODES]; /* memory claimed on each node index */
    int vcpus[VN_PLACE_MAX_NODES];        /* vCPUs claimed on each node index (where they run) */
    /* libxl's count (nr_vcpus_on_nodes): each vCPU of a VM once on every node the VM has
     * affinity to, which is what the xen algorithm compares. */
    int xen_vcpus[VN_PLACE_MAX_NODES];
    uint64_t reserve_mib[VN_PLACE_MAX_NODES]; /* memory kept for the host on each node index */
    /* Of mem_mib, what is already resident there (so already out of the host's free figure):
     * counted once, not twice (docs/PLACEMENT.md). */
    uint64_t resident_mib[VN_PLACE_MAX_NODES];
    struct vn_bitmap reserve_cpus; /* CPUs kept for the host (never given to VMs) */
    int ngroups;
    struct vn_place_group groups[VN_PLACE_MAX_GROUPS];
};

/* What to place: the VM and what had to be resolved against the host for it. */
struct vn_place_request {
    const struct vn_vm_spec *spec;
    int ndevs;
    int dev_nodes[VN_PLACE_MAX_DEVS]; /* node index of each PCI device with a locality */
};

/* One vnode of the result.  Without guest vNUMA there is exactly one, covering the VM. */
struct vn_place_vnode {
    uint64_t mem_mib;
    struct vn_bitmap pnodes; /* Linux node numbers backing its memory (one, unless xen) */
    enum vn_mempolicy policy;
    struct vn_bitmap vcpus; /* guest vCPU ids */
    int soft;               /* index into vn_placement.sets for its vCPUs' soft affinity */
    int hard;               /* same for hard affinity, -1 = none (any CPU) */
};

struct vn_placement {
    enum vn_place_algo algo;
    int vcpus;        /* vCPUs of the VM (maxvcpus: hot-pluggable ones are placed too) */
    uint64_t mem_mib; /* memory of the VM */
    bool guest_numa;  /* the guest sees nvnodes NUMA nodes (false: one flat guest) */
    bool generated;   /* the vNUMA layout was made by placement, the config had none */
    int nvnodes;
    struct vn_place_vnode vnodes[VN_MAX_VNODES];
    int vdist[VN_MAX_VNODES][VN_MAX_VNODES]; /* guest SLIT (meaningful when guest_numa) */
    int vcpu_vnode[VN_MAX_VCPUS];            /* vnode of each vCPU */
    /* Per-vCPU affinity as indexes into sets; -1 = no restriction. */
    int vcpu_soft[VN_MAX_VCPUS];
    int vcpu_hard[VN_MAX_VCPUS];
    int nsets;
    struct vn_bitmap sets[VN_PLACE_MAX_SETS];
    struct vn_claim claim; /* what to record so that later placements see this VM */
    double score;          /* the algorithm's own score of the winner (lower is better) */
};

/* One candidate node set as the algorithm saw it (for --explain). */
struct vn_place_cand {
    struct vn_bitmap nodes; /* Linux node numbers */
    double score;           /* total, lower is better */
    /* vnuma: the terms of the score; xen: [0] = nr_vcpus, [1] = free MiB */
    double terms[6];
    bool chosen;
};

/* Why the winner won: the best candidates in order, and the rule that decided. */
struct vn_place_explain {
    enum vn_place_algo algo;
    int considered; /* candidates evaluated in total */
    int ncands;     /* kept in cands, best first */
    struct vn_place_cand cands[VN_PLACE_MAX_CANDS];
    int nterms;
    const char *term_names[6];
    char why[512]; /* one or two sentences */
};

/* Parses "xen", "vnuma" or "exact". */
int vn_place_algo_parse(const char *s, enum vn_place_algo *out, struct vn_error *err);
/* The name vn_place_algo_parse accepts. */
const char *vn_place_algo_name(enum vn_place_algo algo);

/* Empty load for topo: nothing claimed, nothing reserved. */
void vn_host_load_init(struct vn_host_load *load, const struct vn_host_topo *topo);
/* Keeps mem_mib on every node and the CPUs in cpus (may be NULL) for the host itself. */
int vn_host_load_reserve(struct vn_host_load *load, const struct vn_host_topo *topo,
                         uint64_t mem_mib, const struct vn_bitmap *cpus, struct vn_error *err);
/* Adds one VM's claim, and its groups (either may be NULL), so the next placement sees it. */
int vn_host_load_add_claim(struct vn_host_load *load, const struct vn_host_topo *topo,
                           const struct vn_claim *claim, const char *affinity_group,
                           const char *anti_affinity_group, struct vn_error *err);
/* Takes one VM's claim (as added with the same groups) back out of the load, its groups'
 * nodes included, so it can be placed again as if it were not there. */
int vn_host_load_remove_claim(struct vn_host_load *load, const struct vn_host_topo *topo,
                              const struct vn_claim *claim, const char *affinity_group,
                              const char *anti_affinity_group, struct vn_error *err);
/* Says that of one VM's claim on Linux node `node`, mib are already resident there; credited
 * up to that claim (claim is the VM's, as given to vn_host_load_add_claim). */
int vn_host_load_add_resident(struct vn_host_load *load, const struct vn_host_topo *topo,
                              const struct vn_claim *claim, int node, uint64_t mib,
                              struct vn_error *err);
/* Applies a load document (docs/PLACEMENT.md: "reserve", "used", "vms") to load. */
int vn_host_load_from_json(struct vn_host_load *load, const struct vn_host_topo *topo,
                           struct json_object *doc, struct vn_error *err);

/* Largest load file `vnuma place --load` reads (docs/LIMITS.md). */
#define VN_HOST_LOAD_MAX_BYTES (1024 * 1024)
/* Parses a load document from memory (strict JSON, no key twice, at most
 * VN_HOST_LOAD_MAX_BYTES) and applies it; messages start with name. */
int vn_host_load_from_buf(struct vn_host_load *load, const struct vn_host_topo *topo,
                          const char *buf, size_t len, const char *name, struct vn_error *err);
/* Memory a VM can still get on node index n: free, minus the part of the claims not yet
 * resident, minus the reservation. */
uint64_t vn_host_load_free_mib(const struct vn_host_load *load, const struct vn_host_topo *topo,
                               int n);
/* CPU capacity of node index n in cores, SMT siblings counted as VN_PLACE_SMT_WEIGHT and the
 * host's reserved CPUs left out. */
double vn_host_node_capacity(const struct vn_host_load *load, const struct vn_host_topo *topo,
                             int n);

/* Resolves spec->pci against topo->pci into dev_nodes; fails on an address the host lacks. */
int vn_place_request_init(struct vn_place_request *req, const struct vn_vm_spec *spec,
                          const struct vn_host_topo *topo, struct vn_error *err);

/* Adds one more device with a locality (a NIC's bridge port) on node index node to req;
 * -1 past VN_PLACE_MAX_DEVS or for a node index the host lacks. */
int vn_place_request_add_dev(struct vn_place_request *req, const struct vn_host_topo *topo,
                             int node, struct vn_error *err);

/* Places one VM.  On success fills out (and explain when not NULL) and returns 0; otherwise
 * returns -1 with a reason a person can act on ("needs 12288 MiB on one node; ...").  The
 * load is not changed: apply out->claim with vn_host_load_add_claim(). */
int vn_place(enum vn_place_algo algo, const struct vn_host_topo *topo,
             const struct vn_host_load *load, const struct vn_place_request *req,
             struct vn_placement *out, struct vn_place_explain *explain, struct vn_error *err);

/* Places a stream of n VMs jointly with the exact algorithm (<= 8 nodes, <= 12 VMs),
 * minimising the stream objective of docs/PLACEMENT.md.  placed[i] tells whether VM i got a
 * placement (the optimum places as many VMs as possible first).  Returns -1 with a reason
 * when the instance is too big or a request is malformed; *objective gets the best found and
 * *proven (may be NULL) whether the search finished, i.e. whether it is the optimum. */
int vn_place_stream_exact(const struct vn_host_topo *topo, const struct vn_host_load *load,
                          const struct vn_place_request *reqs, int n, struct vn_placement *out,
                          bool *placed, double *objective, bool *proven, struct vn_error *err);

/* The stream objective of docs/PLACEMENT.md for placements already applied to final_load:
 * sum over VMs of (memory-weighted vCPU-to-memory distance / 10 + device term) plus the
 * largest node vCPU pressure in final_load. */
double vn_place_stream_objective(const struct vn_host_topo *topo,
                                 const struct vn_host_load *final_load,
                                 const struct vn_placement *const *placements,
                                 const struct vn_place_request *const *reqs, int n);

/* Memory-weighted mean distance between a placed VM's vCPUs and its memory: for every pair
 * (node its vCPUs prefer, node holding memory) the distance, weighted by the vCPU share
 * times the memory share.  10 for a VM on one node. */
double vn_placement_distance(const struct vn_host_topo *topo, const struct vn_placement *p);

/* Soft / hard affinity of vCPU v, or NULL when unrestricted. */
const struct vn_bitmap *vn_placement_soft(const struct vn_placement *p, int v);
const struct vn_bitmap *vn_placement_hard(const struct vn_placement *p, int v);
/* Index of set s in out->sets (added when new); -1 when the table is full. */
int vn_placement_add_set(struct vn_placement *out, const struct vn_bitmap *s);

#endif
