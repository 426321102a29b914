/* CPU affinity of QEMU's threads: the hard affinity Linux enforces, and what a thread last
 * ran on.  Soft affinity is built on top of this by the callers (start vCPUs on their
 * node's CPUs, widen later). */
#ifndef VN_AFFINITY_H
#define VN_AFFINITY_H

#include <sys/types.h>

#include "../util/bitmap.h"
#include "../util/error.h"

/* Restricts thread tid to the CPUs in cpus (sched_setaffinity). */
int vn_affinity_set(pid_t tid, const struct vn_bitmap *cpus, struct vn_error *err);
/* Reads the CPUs thread tid may run on. */
int vn_affinity_get(pid_t tid, struct vn_bitmap *cpus, struct vn_error *err);
/* The CPU thread tid of process pid last ran on (/proc/PID/task/TID/stat), -1 with err. */
int vn_affinity_last_cpu(pid_t pid, pid_t tid, struct vn_error *err);

#endif
