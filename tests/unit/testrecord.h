/* Builders of typed domain records for the unit tests: a placement with a given vnode layout
 * and the spec a config text gives. */
#ifndef VN_TESTRECORD_H
#define VN_TESTRECORD_H

#include <stdint.h>

#include "config/config.h"
#include "place/place.h"

/* nvnodes vnodes, vnode i on host node pnode[i] with mib[i] MiB; vCPU v on vnode
 * vcpu_vnode[v]; no CPU sets; distances 10 / 20; the claim is what each node holds.
 * Malloc'ed (free it, or let vn_domain_record_clear do it). */
struct vn_placement *tr_placement(int nvnodes, const int *pnode, const uint64_t *mib, int nvcpus,
                                  const int *vcpu_vnode);
/* The spec of a config text (no host checks); fails the test when the text has errors. */
struct vn_vm_spec *tr_spec(const char *config);

#endif
