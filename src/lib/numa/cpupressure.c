#include "cpupressure.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/cleanup.h"

#define MAX_CPUS 4096

enum source { SRC_SCHEDSTAT, SRC_STAT };

struct vn_cpu_pressure {
    enum source src;
    bool primed;
    double t;               /* monotonic seconds of the previous sample */
    uint64_t a[MAX_CPUS];   /* schedstat: run ns; stat: busy ticks */
    uint64_t b[MAX_CPUS];   /* schedstat: wait ns; stat: total ticks */
    bool seen[MAX_CPUS];
    uint64_t na[MAX_CPUS], nb[MAX_CPUS]; /* the sample being read */
    bool nseen[MAX_CPUS];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vn_cpu_pressure_new(struct vn_cpu_pressure **out, struct vn_error *err)
{
    struct vn_cpu_pressure *p = calloc(1, sizeof *p);
    if (!p)
        return vn_error_sys(err, ENOMEM, "cannot allocate a CPU pressure sampler");
    p->src = access("/proc/schedstat", R_OK) == 0 ? SRC_SCHEDSTAT : SRC_STAT;
    *out = p;
    return 0;
}

void vn_cpu_pressure_free(struct vn_cpu_pressure *p)
{
    free(p);
}

void vn_cpu_pressure_freep(struct vn_cpu_pressure **p)
{
    vn_cpu_pressure_free(*p);
}

const char *vn_cpu_pressure_source(const struct vn_cpu_pressure *p)
{
    return p->src == SRC_SCHEDSTAT ? "schedstat" : "stat";
}

/* Reads the counters of every CPU into a/b; returns highest CPU + 1. */
static int read_counters(enum source src, uint64_t *a, uint64_t *b, bool *seen,
                         struct vn_error *err)
{
    const char *path = src == SRC_SCHEDSTAT ? "/proc/schedstat" : "/proc/stat";
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", path);
    char line[1024];
    int top = 0;
    memset(seen, 0, MAX_CPUS * sizeof *seen);
    while (fgets(line, sizeof line, f)) {
        int cpu;
        if (strncmp(line, "cpu", 3) != 0 || sscanf(line + 3, "%d", &cpu) != 1 || cpu < 0 ||
            cpu >= MAX_CPUS)
            continue;
        uint64_t v[10] = {0};
        int got = sscanf(line + 3, "%*d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                                   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
                         &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
        if (src == SRC_SCHEDSTAT) {
            /* yld legacy sched goidle ttwu ttwu_local rq_cpu_time run_delay pcount */
            if (got < 8)
                return vn_error_set(err, "'%s' has a line for CPU %d in an unknown format", path,
                                    cpu);
            a[cpu] = v[6];
            b[cpu] = v[7];
        } else {
            /* user nice system idle iowait irq softirq steal guest guest_nice */
            if (got < 4)
                return vn_error_set(err, "'%s' has a line for CPU %d in an unknown format", path,
                                    cpu);
            uint64_t total = 0;
            for (int i = 0; i < 8 && i < got; i++)
                total += v[i]; /* guest time is already in user */
            uint64_t idle = v[3] + (got > 4 ? v[4] : 0);
            a[cpu] = total - idle;
            b[cpu] = total;
        }
        seen[cpu] = true;
        if (cpu + 1 > top)
            top = cpu + 1;
    }
    return top;
}

int vn_cpu_pressure_sample(struct vn_cpu_pressure *p, double *demand, int max, double *interval_s,
                           struct vn_error *err)
{
    uint64_t *a = p->na, *b = p->nb;
    bool *seen = p->nseen;
    double t = now_s();
    int top = read_counters(p->src, a, b, seen, err);
    if (top < 0)
        return -1;
    double dt = t - p->t;
    int filled = 0;
    if (p->primed && dt > 0) {
        for (int c = 0; c < top && c < max; c++) {
            double d = 0;
            if (seen[c] && p->seen[c]) {
                if (p->src == SRC_SCHEDSTAT) {
                    d = (double)((a[c] - p->a[c]) + (b[c] - p->b[c])) / 1e9 / dt;
                } else {
                    uint64_t total = b[c] - p->b[c];
                    d = total ? (double)(a[c] - p->a[c]) / (double)total : 0;
                }
            }
            demand[c] = d;
        }
        filled = top < max ? top : max;
    }
    memcpy(p->a, a, sizeof p->a);
    memcpy(p->b, b, sizeof p->b);
    memcpy(p->seen, seen, sizeof p->seen);
    p->t = t;
    p->primed = true;
    if (interval_s)
        *interval_s = filled ? dt : 0;
    return filled;
}

double vn_cpu_psi_some10(void)
{
    VN_CLEANUP_FILE FILE *f = fopen("/proc/pressure/cpu", "re");
    double v;
    if (!f || fscanf(f, "some avg10=%lf", &v) != 1)
        return -1;
    return v;
}

int vn_thread_schedstat(pid_t pid, pid_t tid, uint64_t *run_ns, uint64_t *wait_ns,
                        struct vn_error *err)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", path);
    if (fscanf(f, "%" SCNu64 " %" SCNu64, run_ns, wait_ns) != 2)
        return vn_error_set(err, "'%s' is not in the expected format", path);
    return 0;
}

void vn_node_pressure(const double *demand, int ncpus, const struct vn_bitmap *node_cpus,
                      int nnodes, double *pressure)
{
    for (int n = 0; n < nnodes; n++) {
        double sum = 0;
        int count = 0;
        VN_BITMAP_FOREACH(c, &node_cpus[n])
        {
            if (c >= ncpus)
                break;
            sum += demand[c];
            count++;
        }
        pressure[n] = count ? sum / count : 0;
    }
}
