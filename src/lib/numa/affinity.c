#include "affinity.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char path[96], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields count from the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return vn_error_set(err, "'%s' is not in the expected format", path);
    int field = 2;
    for (p++; *p && field < 39; p++)
        if (*p == ' ')
            field++;
    int cpu;
    if (field != 39 || sscanf(p, "%d", &cpu) != 1)
        return vn_error_set(err, "'%s' has no 'processor' field", path);
    return cpu;
}

int vn_affinity_list_threads(pid_t pid, pid_t *tids, int max, struct vn_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return vn_error_sys(err, errno, "cannot list the threads of process %d", (int)pid);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end == '\0' && tid > 0)
            tids[n++] = (pid_t)tid;
    }
    closedir(d);
    return n;
}
