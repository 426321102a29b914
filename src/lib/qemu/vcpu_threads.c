#include "vcpu_threads.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../config/spec.h"
#include "../proc/proc.h"
#include "../util/cleanup.h"
#include "qmp.h"

int vn_qemu_vcpu_from_comm(const char *comm)
{
    if (strncmp(comm, "CPU ", 4) != 0 || !isdigit((unsigned char)comm[4]))
        return -1;
    char *end;
    long v = strtol(comm + 4, &end, 10);
    if (*end != '/' || v < 0 || v >= VN_MAX_VCPUS)
        return -1;
    return (int)v;
}

static int from_qmp(const char *qmp_socket, const char *name, int nvcpus, int timeout_ms,
                    pid_t *tids, struct vn_error *err)
{
    VN_CLEANUP(vn_qmp_closep) struct vn_qmp *q = vn_qmp_connect(qmp_socket, timeout_ms, name, err);
    VN_CLEANUP_FREE struct vn_qmp_vcpu *vc = NULL;
    int n = 0, found = 0;
    if (!q || vn_qmp_query_vcpus(q, timeout_ms, &vc, &n, err) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (vc[i].cpu_index >= 0 && vc[i].cpu_index < nvcpus && vc[i].thread_id > 0) {
            tids[vc[i].cpu_index] = vc[i].thread_id;
            found++;
        }
    return found;
}

static int from_comm(pid_t pid, int nvcpus, pid_t *tids, struct vn_error *err)
{
    pid_t all[4096];
    int n = vn_proc_threads(pid, all, (int)VN_ARRAY_SIZE(all), err);
    if (n < 0)
        return -1;
    int found = 0;
    for (int i = 0; i < n; i++) {
        char comm[64];
        if (vn_proc_read(pid, all[i], "comm", comm, sizeof comm, NULL) < 0)
            continue;
        int v = vn_qemu_vcpu_from_comm(comm);
        if (v >= 0 && v < nvcpus && !tids[v]) {
            tids[v] = all[i];
            found++;
        }
    }
    return found;
}

int vn_qemu_vcpu_threads(const char *qmp_socket, const char *name, pid_t pid, int nvcpus,
                         int timeout_ms, pid_t *tids, struct vn_error *err)
{
    memset(tids, 0, (size_t)(nvcpus > 0 ? nvcpus : 0) * sizeof *tids);
    struct vn_error qerr = {0};
    int found = qmp_socket ? from_qmp(qmp_socket, name, nvcpus, timeout_ms, tids, &qerr) : -1;
    if (found > 0)
        return found;
    struct vn_error cerr = {0};
    int byname = from_comm(pid, nvcpus, tids, &cerr);
    if (byname >= 0)
        return byname;
    return vn_error_set(err, "domain '%s': cannot find its vCPU threads: %s; %s", name,
                        qerr.msg[0] ? qerr.msg : "no QMP socket", cerr.msg);
}
