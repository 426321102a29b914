/* Hand-built hosts and VM specs for placement and rendering tests, so those tests need
 * neither the topology loaders nor the config parser. */
#ifndef VN_TESTHOST_H
#define VN_TESTHOST_H

#include <stdint.h>

#include "config/spec.h"
#include "topo/topo.h"

/* A host of nnodes nodes, each with cores[i] cores of smt threads (CPUs numbered node by
 * node, siblings last within a node) and mem_mib[i] MiB; dist is nnodes*nnodes or NULL for
 * 10 local / 20 remote.  cores and mem may be NULL for 4 cores / 4096 MiB per node. */
struct vn_host_topo *th_host(int nnodes, const int *cores, int smt, const uint64_t *mem,
                             const int *dist);
/* Same with every node alike. */
struct vn_host_topo *th_host_uniform(int nnodes, int cores, int smt, uint64_t mem, const int *dist);
/* Adds a PCI device at addr on node index node. */
void th_host_add_pci(struct vn_host_topo *t, const char *addr, int node);
void th_host_free(struct vn_host_topo *t);

/* A VM with vcpus vCPUs and mem_mib MiB, no vNUMA, no affinity. */
struct vn_vm_spec *th_spec(const char *name, int vcpus, uint64_t mem_mib);
/* Gives the spec nv vnodes of equal size with consecutive vCPUs and the given pnodes
 * (NULL = all -1) and guest distances (NULL = 10/20). */
void th_spec_vnodes(struct vn_vm_spec *s, int nv, const int *pnodes, const int *vdist);
/* Sets a single hard (hard=1) or soft affinity set from a cpulist. */
void th_spec_affinity(struct vn_vm_spec *s, int hard, const char *list);
void th_spec_add_pci(struct vn_vm_spec *s, const char *addr);
void th_spec_free(struct vn_vm_spec *s);

/* Small deterministic PRNG (xorshift64*) for property tests. */
uint64_t th_rand(uint64_t *state);

#endif
