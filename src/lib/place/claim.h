/* A claim: the memory and vCPUs a VM reserves on host nodes.
 *
 * Placement returns one with every result and takes the claims of other VMs as input, so
 * VMs created at the same moment see each other.  State persists them per domain. */
#ifndef VN_CLAIM_H
#define VN_CLAIM_H

#include <stdint.h>

#include "../config/spec.h"

struct vn_claim_node {
    int node; /* Linux node number */
    uint64_t mem_mib;
    int vcpus;
};

struct vn_claim {
    int n; /* entries in use, each node at most once */
    struct vn_claim_node v[VN_MAX_VNODES];
};

#endif
