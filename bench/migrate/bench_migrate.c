/* bench-migrate: runs inside the 4-node test host (static).  For each pause budget it moves a
 * 256 MiB tmpfs range of a child process (the QEMU stand-in, which writes one page after
 * another and records the longest gap between two writes) from node 0 to node 3, and
 * measures memcpy from a node-0 buffer to a node-3 buffer in the same run.  Prints CSV lines
 * "csv,migrate,budget_ms,mib,mib_per_s,memcpy_mib_per_s,ratio,longest_call_ms,calls_over,
 * longest_gap_ms". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "numa/affinity.h"
#include "numa/migrate.h"
#include "numa/nodeinfo.h"

#define MIB (1024UL * 1024UL)
#define LEN (256 * MIB)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void bind_to(void *p, size_t len, int node)
{
    unsigned long mask[16] = {0};
    mask[0] = 1UL << node;
    syscall(SYS_mbind, p, len, 2, mask, 16UL * 64 + 1, 0UL);
}

static void pin(pid_t pid, int node)
{
    struct vn_bitmap cpus;
    struct vn_error err = {0};
    if (vn_node_cpus(node, &cpus, &err) == 0)
        vn_affinity_set(pid, &cpus, &err);
}

static double memcpy_mib_s(void)
{
    char *a = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *b = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bind_to(a, LEN, 0);
    bind_to(b, LEN, 3);
    memset(a, 1, LEN);
    memset(b, 2, LEN);
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        memcpy(b, a, LEN);
        double r = (double)LEN / MIB / (now_s() - t0);
        best = r > best ? r : best;
    }
    munmap(a, LEN);
    munmap(b, LEN);
    return best;
}

struct beat {
    volatile int ready, stop;
    volatile double gap_ms;
    volatile uintptr_t addr;
};

static void run(double budget)
{
    double copy = memcpy_mib_s();
    struct beat *b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset((void *)b, 0, sizeof *b);
    const char *path = "/dev/shm/bench-migrate";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, LEN) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        pin(0, 0);
        char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        bind_to(p, LEN, 0);
        memset(p, 1, LEN);
        b->addr = (uintptr_t)p;
        b->ready = 1;
        double last = now_s();
        for (size_t i = 0; !b->stop; i++) {
            p[(i % (LEN / 4096)) * 4096] ^= 1;
            double t = now_s(), gap = (t - last) * 1e3;
            if (gap > b->gap_ms)
                b->gap_ms = gap;
            last = t;
        }
        _exit(0);
    }
    close(fd);
    while (!b->ready)
        usleep(1000);
    usleep(100000);
    b->gap_ms = 0;
    struct vn_migrate_opts o;
    struct vn_migrate_report rep;
    struct vn_error err = {0};
    vn_migrate_opts_init(&o);
    vn_bitmap_set(&o.nodes, 3);
    o.pause_ms = budget;
    int rc = vn_migrate_range(pid, b->addr, LEN, &o, &rep, &err);
    double gap = b->gap_ms;
    b->stop = 1;
    waitpid(pid, NULL, 0);
    unlink(path);
    if (rc < 0) {
        printf("# budget %.0f ms: %s\n", budget, err.msg);
        return;
    }
    printf("csv,migrate,%.0f,%lu,%.1f,%.1f,%.3f,%.2f,%llu,%.2f\n", budget, LEN / MIB,
           rep.p.mib_per_s, copy, rep.p.mib_per_s / copy, rep.p.longest_call_ms,
           (unsigned long long)rep.p.calls_over, gap);
    fflush(stdout);
}

int main(void)
{
    pin(0, 3);
    const double budgets[] = {5, 20, 100};
    for (int rep = 0; rep < 2; rep++)
        for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++)
            run(budgets[i]);
    return 0;
}
