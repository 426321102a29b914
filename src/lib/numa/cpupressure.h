/* CPU pressure per CPU and per node, the input of the soft-affinity decision
 * (balance/softaff.h), measured on the live host.
 *
 * Demand of a CPU over an interval = busy fraction (/proc/stat, per tick) + time tasks waited
 * in its run queue per second (run_delay of /proc/schedstat, CONFIG_SCHEDSTATS): 1.0 is a busy
 * CPU with nobody waiting, 1.5 a busy CPU with half a task waiting on average.  Without
 * schedstat (some kernels leave it out) only the busy fraction is there, which tops out at
 * 1.0.  schedstat's own rq_cpu_time is not used: it grows only when a task leaves the CPU, so
 * a lone busy loop looks idle.  /proc/pressure/cpu (PSI) is system-wide, not per CPU, and is
 * only reported alongside.  Per-CPU counters move in steps of a tick or a context switch:
 * smooth the samples (vn_softaff_smooth) before deciding on them. */
#ifndef VN_CPUPRESSURE_H
#define VN_CPUPRESSURE_H

#include <stdint.h>
#include <sys/types.h>

#include "../util/bitmap.h"
#include "../util/error.h"

struct vn_cpu_pressure;

/* Starts a sampler on /proc/stat and, when the kernel has it, /proc/schedstat. */
int vn_cpu_pressure_new(struct vn_cpu_pressure **out, struct vn_error *err);
void vn_cpu_pressure_free(struct vn_cpu_pressure *p);
void vn_cpu_pressure_freep(struct vn_cpu_pressure **p);
/* "stat+schedstat" or "stat". */
const char *vn_cpu_pressure_source(const struct vn_cpu_pressure *p);

/* Fills demand[cpu] for the interval since the previous call (the first call only takes the
 * reference and returns 0); returns the number of CPU slots filled (highest CPU + 1). */
int vn_cpu_pressure_sample(struct vn_cpu_pressure *p, double *demand, int max, double *interval_s,
                           struct vn_error *err);

/* The "some avg10" of /proc/pressure/cpu, -1 when the kernel has no PSI. */
double vn_cpu_psi_some10(void);

/* Run and run-queue wait time of thread tid of pid, in ns (/proc/PID/task/TID/schedstat). */
int vn_thread_schedstat(pid_t pid, pid_t tid, uint64_t *run_ns, uint64_t *wait_ns,
                        struct vn_error *err);

/* pressure[n] = mean demand over node n's CPUs (0 for a node without CPUs). */
void vn_node_pressure(const double *demand, int ncpus, const struct vn_bitmap *node_cpus,
                      int nnodes, double *pressure);

#endif
