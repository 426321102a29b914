/* CPU affinity of a new domain's QEMU threads, set while the guest is still paused.
 *
 * A vCPU thread starts on its soft affinity (its vnode's CPUs, Xen's soft node affinity)
 * within its hard affinity; the dynamic widening of soft affinity belongs to the balancer.
 * Every other thread (main loop, I/O, RCU...) stays on the CPUs of the VM's host nodes. */
#include <errno.h>
#include <stdlib.h>

#include "../numa/affinity.h"
#include "../proc/proc.h"
#include "../util/cleanup.h"
#include "domain_int.h"

#define MAX_THREADS 4096

/* The CPU set a vCPU starts on, or NULL to leave it alone. */
static const struct vn_bitmap *vcpu_set(const struct vn_placement *p, int v, struct vn_bitmap *tmp)
{
    const struct vn_bitmap *soft = vn_placement_soft(p, v);
    const struct vn_bitmap *hard = vn_placement_hard(p, v);
    if (soft && hard) {
        *tmp = *soft;
        vn_bitmap_and(tmp, hard);
        return vn_bitmap_empty(tmp) ? hard : tmp;
    }
    return soft ? soft : hard;
}

int vn_dom_apply_affinity(pid_t qemu_pid, const struct vn_qmp_vcpu *vcpus, int nvcpus,
                          const struct vn_placement *p, const struct vn_host_topo *topo,
                          struct vn_error *err)
{
    for (int i = 0; i < nvcpus; i++) {
        int v = vcpus[i].cpu_index;
        if (v < 0 || v >= p->vcpus)
            return vn_error_set(err, "QEMU reports vCPU %d, but the placement has %d vCPUs", v,
                                p->vcpus);
        struct vn_bitmap tmp;
        const struct vn_bitmap *set = vcpu_set(p, v, &tmp);
        if (set && vn_affinity_set(vcpus[i].thread_id, set, err) < 0)
            return vn_error_prefix(err, "cannot set the affinity of vCPU %d (thread %d)", v,
                                   vcpus[i].thread_id);
    }

    struct vn_bitmap nodes_cpus;
    vn_bitmap_zero(&nodes_cpus);
    for (int i = 0; i < p->nvnodes; i++)
        VN_BITMAP_FOREACH(n, &p->vnodes[i].pnodes)
        {
            int idx = vn_topo_node_index(topo, n);
            if (idx >= 0)
                vn_bitmap_or(&nodes_cpus, &topo->nodes[idx].cpus);
        }
    if (vn_bitmap_empty(&nodes_cpus))
        return 0; /* memory-only host nodes: nowhere better to put them */

    VN_CLEANUP_FREE pid_t *tids = calloc(MAX_THREADS, sizeof *tids);
    if (!tids)
        return vn_error_sys(err, ENOMEM, "cannot list QEMU's threads");
    int n = vn_proc_threads(qemu_pid, tids, MAX_THREADS, err);
    if (n < 0)
        return -1;
    for (int t = 0; t < n; t++) {
        bool is_vcpu = false;
        for (int i = 0; i < nvcpus && !is_vcpu; i++)
            is_vcpu = vcpus[i].thread_id == tids[t];
        if (is_vcpu)
            continue;
        struct vn_error e2 = {0};
        /* A thread may end between listing and setting: that is not a failure. */
        if (vn_affinity_set(tids[t], &nodes_cpus, &e2) < 0 && e2.errnum != ESRCH) {
            *err = e2;
            return vn_error_prefix(err, "cannot set the affinity of QEMU thread %d", tids[t]);
        }
    }
    return 0;
}
