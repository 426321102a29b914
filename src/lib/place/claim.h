/* A claim: the memory and vCPUs a VM reserves on host nodes.
 *
 * Placement returns one with every result and takes the claims of other VMs as input, so
 * VMs created at the same moment see each other.  State persists them per domain. */
#ifndef VN_CLAIM_H
#define VN_CLAIM_H

#include <stdint.h>

#include "../config/spec.h"
#include "../util/bitmap.h"
#include "../util/error.h"

struct vn_host_topo;

struct vn_claim_node {
    int node; /* Linux node number */
    uint64_t mem_mib;
    int vcpus;
};

struct vn_claim {
    int n; /* entries in use, each node at most once */
    struct vn_claim_node v[VN_MAX_VNODES];
};

/* One vnode's part of a claim on one node: what moves when the vnode moves. */
struct vn_claim_share {
    int node; /* Linux node number */
    uint64_t mib;
    int vcpus;
};

/* Divides mib and vcpus over the nodes of `nodes` in ascending order, the first ones taking
 * the remainder (the one rounding of every claim split); returns the shares written. */
int vn_claim_split_even(const struct vn_bitmap *nodes, uint64_t mib, int vcpus,
                        struct vn_claim_share *out, int max);

/* Counts the shares `from` out of c and the shares `to` into it; entries left empty are
 * dropped, in order.  -1 (c unchanged) when a new node does not fit VN_MAX_VNODES entries. */
int vn_claim_move(struct vn_claim *c, const struct vn_claim_share *from, int nfrom,
                  const struct vn_claim_share *to, int nto);

/* The invariant every placement change checks before it commits: on each node of mine, the
 * claims of the others plus mine stay within the node's memory.  -1 names the node, the sum
 * and the size when they do not. */
int vn_claims_fit(const struct vn_host_topo *topo, const struct vn_claim *others, int nothers,
                  const struct vn_claim *mine, struct vn_error *err);

#endif
