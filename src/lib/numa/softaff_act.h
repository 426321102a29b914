/* The syscall side of soft node affinity (the decision is balance/softaff.h): turning a new
 * allowed set into a vCPU thread's hard affinity. */
#ifndef VN_SOFTAFF_ACT_H
#define VN_SOFTAFF_ACT_H

#include <sys/types.h>

#include "../util/bitmap.h"
#include "../util/error.h"

/* Sets thread tid's affinity to cpus.  When the set widened (added holds the CPUs that
 * became allowed), tid is first placed on the added CPUs and only then allowed on all of
 * cpus: Linux's load balancer tolerates a small imbalance between NUMA nodes and may leave
 * the thread queued behind others at home, where Xen's credit scheduler would run it on an
 * idle CPU of the wider set at once.  The balancer may bring it home later, which is the
 * point of allowing home too. */
int vn_softaff_apply(pid_t tid, const struct vn_bitmap *added, const struct vn_bitmap *cpus,
                     struct vn_error *err);

#endif
