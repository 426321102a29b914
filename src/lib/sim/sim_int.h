/* Internals of the simulator shared by its files. */
#ifndef VN_SIM_INT_H
#define VN_SIM_INT_H

#include <stdint.h>

#include "balance/policy.h"
#include "balance/softaff.h"
#include "place/place.h"
#include "sim.h"

#define VN_SIM_PAGES_PER_MIB 256 /* 4 KiB pages */
#define VN_SIM_LINE          64.0

/* xoshiro256** seeded by splitmix64: small, fast, and the same sequence everywhere. */
struct vn_sim_rng {
    uint64_t s[4];
};

static inline uint64_t vn_sim_splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline void vn_sim_rng_seed(struct vn_sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = vn_sim_splitmix(&seed);
}

static inline uint64_t vn_sim_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t vn_sim_rng_next(struct vn_sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = vn_sim_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = vn_sim_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double vn_sim_rng_unit(struct vn_sim_rng *r)
{
    return (double)(vn_sim_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Exponential with this mean; lognormal with mean 1 and coefficient of variation cv. */
double vn_sim_rng_exp(struct vn_sim_rng *r, double mean);
double vn_sim_rng_lognormal1(struct vn_sim_rng *r, double cv);

enum vn_sim_vstate {
    VN_SIM_BLOCKED,
    VN_SIM_QUEUED,
    VN_SIM_RUNNING,
};

struct vn_sim_vcpu {
    int vm;
    int vnode;
    enum vn_sim_vstate state;
    int cpu;      /* running on or queued at, -1 when blocked */
    int last_cpu; /* where it last ran, -1 before its first run */
    int next, prev;
    int64_t since;     /* last accrual (running) or enqueue time (queued) */
    int64_t run_start; /* start of the current stint on a CPU */
    double rate;       /* units per ns when its caches are warm */
    double lat;        /* mean access latency at the current rate, ns */
    double local_w;    /* share of its accesses local to the node it runs on */
    double cold_ns;    /* cache refill still to pay before progress resumes */
    double burst_left; /* bursty: CPU time still wanted in this burst, ns */
    double cpu_mul;    /* this phase's multiplier of the workload's cpu_ns */
    double miss_mul;   /* this phase's multiplier of the workload's misses */
    uint64_t gen;      /* invalidates its pending block/wake events */
    /* measured since the last reset */
    double units, acc, local_acc, run_ns, wait_ns;
    double units_iv, acc_iv, local_iv; /* since the last sample */
    double bal_ns;                     /* CPU time since the last balancing interval */
};

struct vn_sim_vm {
    char name[VN_SIM_NAME_MAX];
    int order; /* vn_sim_vm_stats.order */
    struct vn_sim_workload wl;
    int first, nvcpus;
    uint64_t mem_mib;
    int nvnodes;
    bool guest_numa;
    uint64_t *pages;               /* nvnodes x nnodes */
    double *w;                     /* nvnodes x nnodes: access shares of a vCPU of each vnode */
    int *wnodes;                   /* nvnodes x nnodes: nodes with a share, wcount[v] of them */
    int *wcount;                   /* per vnode */
    struct vn_bitmap *soft;        /* per vnode, CPU indexes */
    struct vn_bitmap *hard;        /* per vnode, CPU indexes (all when unrestricted) */
    int *home;                     /* per vnode, node index for dynamic affinity, -1 none */
    struct vn_softaff_state *saff; /* per vnode (dynamic) */
    double *dem; /* per vnode x nnodes: its vCPUs' demand in the interval (dynamic) */
    double *hot; /* per vnode x nnodes: access weight per page (hot set draw), 1 = uniform */
    bool gone;   /* left the host (vn_sim_remove_vm) */
    int64_t t_on, t_off;          /* arrival, departure (INT64_MAX while present) */
    struct vn_claim claim;        /* its claim in s->load (vn_place placements) */
    struct vn_bal_dom_state *bal; /* balance: the policy's state for this domain */
};

/* A VM waiting for its arrival time. */
struct vn_sim_pending {
    char name[VN_SIM_NAME_MAX];
    int order;
    int vcpus;
    uint64_t mem_mib;
    struct vn_sim_workload wl;
    int64_t stop_ns;
};

enum vn_sim_ev_kind {
    VN_SIM_EV_SLICE,
    VN_SIM_EV_BLOCK,
    VN_SIM_EV_WAKE,
    VN_SIM_EV_EPOCH,
    VN_SIM_EV_LOAD_BALANCE, /* Linux-like run-queue load balancing (balance_ns) */
    VN_SIM_EV_POLICY,
    VN_SIM_EV_SAMPLE,
    VN_SIM_EV_PHASE,
    VN_SIM_EV_ARRIVE,     /* idx: pending VM */
    VN_SIM_EV_LEAVE,      /* idx: VM */
    VN_SIM_EV_BAL_POLICY, /* vnumad's balancing policy (bal_ns) */
};

struct vn_sim_ev {
    int64_t t;
    uint64_t seq; /* FIFO among equal times: deterministic order */
    uint64_t gen;
    int kind;
    int idx;
};

struct vn_sim_cpu {
    int node;
    int cur; /* running vCPU, -1 idle (then its queue is empty) */
    int head, tail, nq;
    uint64_t gen; /* invalidates a pending slice event */
    int nsib;
    int sib[7];
    double busy_iv; /* ns busy since the last sample */
};

struct vn_sim_mig {
    int vm, vnode, from, to;
    uint64_t pages_left;
};

struct vn_sim {
    const struct vn_host_topo *topo;
    struct vn_sim_params p;
    struct vn_sim_setup setup;
    struct vn_sim_rng rng;
    int nn, nc;
    struct vn_sim_cpu *cpus;
    struct vn_bitmap *node_cpus;    /* per node, CPU indexes */
    struct vn_bitmap *node_cpus_os; /* per node, Linux CPU numbers (for softaff) */
    int *node_ncpus;
    int *order;       /* nn x nn: nodes by distance from each node */
    double *lat;      /* nn x nn idle latency, ns */
    double *q;        /* per node, loaded/idle latency factor now */
    double *util;     /* per node, utilisation solved at the last epoch */
    double *bytes_iv; /* per node, bytes moved since the last sample */
    double *mig_bw;   /* per node, migration traffic this epoch, bytes/ns */
    double *node_dem; /* per node, vCPU demand (run + wait ns) in the policy interval */
    int *nqueued;     /* per node, vCPUs queued on its CPUs */
    uint64_t *used_pages, *cap_pages;
    struct vn_bitmap idle, idle_core, all;
    int nvms, cap_vms;
    struct vn_sim_vm *vms;
    int norder; /* VMs given so far (vn_sim_add_vm, vn_sim_schedule_vm) */
    int nvcpus, cap_vcpus;
    struct vn_sim_vcpu *vcpus;
    int nheap, cap_heap;
    struct vn_sim_ev *heap;
    uint64_t seq;
    int64_t now;
    int64_t stats_start, sample_start;
    uint64_t events;
    int64_t sample_ns;
    vn_sim_sample_fn sample_fn;
    void *sample_arg;
    int nmig, cap_mig;
    struct vn_sim_mig *mig;
    struct vn_host_load load;
    struct vn_placement pl;
    struct vn_softaff_params saff_params;
    int npend, cap_pend;
    struct vn_sim_pending *pend;
    struct vn_bal_params bal_params;
    struct vn_bal_state bal_state;
    struct vn_sim_bal_stats bal_stats;
    int64_t bal_last; /* time of the last balancing interval */
    /* epoch scratch */
    double *sa, *sb, *sc;
    int cap_scratch;
    int *sidx, *soff;
};

#endif
