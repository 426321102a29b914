#include "affinity.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proc/proc.h"
#include "../util/cleanup.h"

int vn_affinity_set(pid_t tid, const struct vn_bitmap *cpus, struct vn_error *err)
{
    cpu_set_t *set = CPU_ALLOC(VN_BITMAP_BITS);
    if (!set)
        return vn_error_sys(err, ENOMEM, "cannot allocate a CPU set");
    size_t size = CPU_ALLOC_SIZE(VN_BITMAP_BITS);
    CPU_ZERO_S(size, set);
    VN_BITMAP_FOREACH(c, cpus)
    CPU_SET_S((size_t)c, size, set);
    int rc = sched_setaffinity(tid, size, set);
    int saved = errno;
    CPU_FREE(set);
    if (rc < 0) {
        char list[256];
        vn_bitmap_format_list(cpus, list, sizeof list);
        return vn_error_sys(err, saved, "cannot set the CPU affinity of thread %d to '%s'",
                            (int)tid, list);
    }
    return 0;
}

int vn_affinity_get(pid_t tid, struct vn_bitmap *cpus, struct vn_error *err)
{
    cpu_set_t *set = CPU_ALLOC(VN_BITMAP_BITS);
    if (!set)
        return vn_error_sys(err, ENOMEM, "cannot allocate a CPU set");
    size_t size = CPU_ALLOC_SIZE(VN_BITMAP_BITS);
    int rc = sched_getaffinity(tid, size, set);
    int saved = errno;
    vn_bitmap_zero(cpus);
    if (rc == 0)
        for (int c = 0; c < VN_BITMAP_BITS; c++)
            if (CPU_ISSET_S((size_t)c, size, set))
                vn_bitmap_set(cpus, c);
    CPU_FREE(set);
    if (rc < 0)
        return vn_error_sys(err, saved, "cannot read the CPU affinity of thread %d", (int)tid);
    return 0;
}

int vn_affinity_last_cpu(pid_t pid, pid_t tid, struct vn_error *err)
{
    struct vn_proc_stat st;
    if (vn_proc_stat_read(pid, tid, &st, err) < 0)
        return -1;
    if (st.processor < 0)
        return vn_error_set(err, "the stat file of thread %d has no 'processor' field", (int)tid);
    return st.processor;
}
