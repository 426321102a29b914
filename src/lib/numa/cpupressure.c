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

struct counters {
    uint64_t busy[MAX_CPUS];  /* /proc/stat: ticks not idle */
    uint64_t total[MAX_CPUS]; /* /proc/stat: all ticks */
    uint64_t wait[MAX_CPUS];  /* /proc/schedstat: run_delay, ns tasks waited in the queue */
    bool seen[MAX_CPUS];
};

struct vn_cpu_pressure {
    bool schedstat; /* /proc/schedstat is there */
    bool primed;
    double t; /* monotonic seconds of the previous sample */
    struct counters prev, cur;
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
    p->schedstat = access("/proc/schedstat", R_OK) == 0;
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
    return p->schedstat ? "stat+schedstat" : "stat";
}

/* Reads one per-CPU file; returns highest CPU + 1. */
static int read_file(bool schedstat, struct counters *c, struct vn_error *err)
{
    const char *path = schedstat ? "/proc/schedstat" : "/proc/stat";
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", path);
    char line[1024];
    int top = 0;
    while (fgets(line, sizeof line, f)) {
        int cpu;
        if (strncmp(line, "cpu", 3) != 0 || sscanf(line + 3, "%d", &cpu) != 1 || cpu < 0 ||
            cpu >= MAX_CPUS)
            continue;
        uint64_t v[10] = {0};
        int got = sscanf(line + 3,
                         "%*d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                         " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
                         &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
        if (schedstat) {
            /* yld legacy sched goidle ttwu ttwu_local rq_cpu_time run_delay pcount; run_delay
             * is added when a waiting task starts to run, so it is only as lumpy as the
             * switches.  rq_cpu_time is not used: a task that never leaves its CPU never
             * adds to it. */
            if (got < 8)
                return vn_error_set(err, "'%s' has a line for CPU %d in an unknown format", path,
                                    cpu);
            c->wait[cpu] = v[7];
        } else {
            /* user nice system idle iowait irq softirq steal (guest time is inside user) */
            if (got < 4)
                return vn_error_set(err, "'%s' has a line for CPU %d in an unknown format", path,
                                    cpu);
            uint64_t total = 0;
            for (int i = 0; i < 8 && i < got; i++)
                total += v[i];
            uint64_t idle = v[3] + (got > 4 ? v[4] : 0);
            c->busy[cpu] = total - idle;
            c->total[cpu] = total;
            c->seen[cpu] = true;
        }
        if (cpu + 1 > top)
            top = cpu + 1;
    }
    return top;
}

int vn_cpu_pressure_sample(struct vn_cpu_pressure *p, double *demand, int max, double *interval_s,
                           struct vn_error *err)
{
    double t = now_s();
    memset(p->cur.seen, 0, sizeof p->cur.seen);
    int top = read_file(false, &p->cur, err);
    if (top < 0 || (p->schedstat && read_file(true, &p->cur, err) < 0))
        return -1;
    double dt = t - p->t;
    int filled = 0;
    if (p->primed && dt > 0) {
        for (int c = 0; c < top && c < max; c++) {
            double d = 0;
            if (p->cur.seen[c] && p->prev.seen[c]) {
                uint64_t total = p->cur.total[c] - p->prev.total[c];
                d = total ? (double)(p->cur.busy[c] - p->prev.busy[c]) / (double)total : 0;
                if (p->schedstat)
                    d += (double)(p->cur.wait[c] - p->prev.wait[c]) / 1e9 / dt;
            }
            demand[c] = d;
        }
        filled = top < max ? top : max;
    }
    p->prev = p->cur;
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
