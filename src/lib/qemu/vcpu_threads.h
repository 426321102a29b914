/* Which host thread runs each vCPU of a running QEMU: the one discovery every module uses
 * (create's affinity, info, vcpu-affinity, vnumad's observations). */
#ifndef VN_QEMU_VCPU_THREADS_H
#define VN_QEMU_VCPU_THREADS_H

#include <sys/types.h>

#include "../util/error.h"

/* Fills tids[0..nvcpus-1] with each vCPU's thread (0 when unknown): from QMP query-cpus-fast
 * on qmp_socket (may be NULL), else from the thread names "CPU N/KVM" or "CPU N/TCG" of pid
 * (QEMU runs with debug-threads=on; a QMP busy with another client still gets an answer).
 * Returns how many were found, or -1 with err (naming the domain) when neither source could
 * be read. */
int vn_qemu_vcpu_threads(const char *qmp_socket, const char *name, pid_t pid, int nvcpus,
                         int timeout_ms, pid_t *tids, struct vn_error *err);

/* The vCPU index of a QEMU thread name ("CPU 12/KVM\n" -> 12), or -1. */
int vn_qemu_vcpu_from_comm(const char *comm);

#endif
