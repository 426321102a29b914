/* Soft node affinity: the decision, without the syscalls.
 *
 * Linux only enforces hard affinity.  Xen's credit scheduler prefers a vCPU's soft-affinity
 * CPUs and runs it elsewhere only when they are busy; vnuma gets the same effect by moving the
 * hard affinity of a vCPU thread between its home node and a wider set: when the home node
 * stays overloaded, the set widens to the next-nearest nodes by distance; when the pressure
 * passes, it narrows back.  Two marks and two sample counts (hysteresis) keep a load that
 * oscillates around one threshold from moving the vCPU back and forth.
 *
 * Pure: no I/O, no globals.  The daemon, `vnuma vcpu-affinity --soft` and the simulator feed
 * it samples; numa/cpupressure.h measures them on a live host. */
#ifndef VN_BALANCE_SOFTAFF_H
#define VN_BALANCE_SOFTAFF_H

#include <stdbool.h>

#include "../util/bitmap.h"
#include "../util/error.h"

#define VN_SOFTAFF_MAX_NODES 256
#define VN_SOFTAFF_MAX_STEPS 8

struct vn_softaff_params {
    double high;      /* home pressure at or above this is "overloaded" (per CPU, 1.0 = all busy) */
    double low;       /* at or below this is "relieved"; must be below high */
    int widen_after;  /* consecutive overloaded samples before widening by one step */
    int narrow_after; /* consecutive relieved samples before narrowing by one step */
    int max_steps;    /* how many times the set may widen (1..VN_SOFTAFF_MAX_STEPS) */
};

struct vn_softaff_state {
    int home;                                     /* the vCPU's home host node */
    int steps;                                    /* widening steps in force */
    int over, under;                              /* current run of overloaded/relieved samples */
    struct vn_bitmap added[VN_SOFTAFF_MAX_STEPS]; /* nodes each step added, to undo it */
    struct vn_bitmap allowed;                     /* nodes the vCPU may run on now */
};

/* high 0.9, low 0.5, widen after 3 samples, narrow after 5, one step. */
void vn_softaff_params_default(struct vn_softaff_params *p);

/* Starts narrow: only home is allowed. */
void vn_softaff_init(struct vn_softaff_state *s, int home);

/* Feeds one sample.  dist is the nnodes x nnodes distance matrix (row = from, asymmetric
 * allowed); pressure[n] is the demand on node n's CPUs from everything except the vCPUs being
 * placed (so that a vCPU leaving its home does not by itself look like relief).  A widening
 * step adds the nearest nodes (by dist[home][n]) not yet allowed whose pressure is below high;
 * when all of a ring are overloaded it looks one ring further.  Returns 1 when s->allowed
 * changed, 0 when not, -1 with err on invalid input. */
int vn_softaff_step(const struct vn_softaff_params *p, int nnodes, const int *dist,
                    const double *pressure, struct vn_softaff_state *s, struct vn_error *err);

/* Exponential smoothing of per-node samples: avg[n] += alpha * (cur[n] - avg[n]); a negative
 * avg[n] (never sampled) takes cur[n] as it is. */
void vn_softaff_smooth(double *avg, const double *cur, int nnodes, double alpha);

/* The CPUs of the allowed nodes: the union of node_cpus[n] for n in s->allowed. */
void vn_softaff_cpus(const struct vn_softaff_state *s, int nnodes,
                     const struct vn_bitmap *node_cpus, struct vn_bitmap *cpus);

#endif
