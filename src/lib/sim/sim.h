/* The NUMA host simulator: one host, its VMs, their workloads and a CPU scheduler.
 *
 * Discrete-event for scheduling (a heap of slice expiries, vCPU wake-ups and blocks, load
 * balancer, policy and sample ticks) with a fluid memory model: between two events every
 * running vCPU progresses at a constant rate set by where it runs, where its memory is, SMT
 * sharing and how loaded each node's memory controller is.  Controller load is measured over
 * a fixed memory epoch (1 ms by default) and feeds the latency of the next one.
 *
 * Pure like place/: no I/O, no globals; deterministic for a given seed (its own PRNG).  VMs
 * are placed by the real vn_place() (algorithms xen and vnuma) or striped ("none").
 * docs/SIM.md describes the model and its calibration. */
#ifndef VN_SIM_H
#define VN_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "../topo/topo.h"
#include "../util/error.h"

#define VN_SIM_NAME_MAX 64

/* The memory and CPU model, and the scheduler's timing.  vn_sim_params_default() fills the
 * calibrated defaults (docs/SIM.md says where each number comes from). */
struct vn_sim_params {
    double local_ns;         /* idle latency of a local DRAM access */
    double remote_ratio_21;  /* idle remote/local latency ratio at SLIT 21 (MLC: ~1.8) */
    double node_gbs;         /* sustainable memory bandwidth of one node, GB/s */
    double contention;       /* loaded latency = idle * (1 + contention * u / (1 - u)) */
    double smt_yield;        /* throughput of a core running two threads, vs one (1.3) */
    double refill_kib;       /* cache state a vCPU refetches after moving to another core */
    int64_t timeslice_ns;    /* scheduler time slice */
    int64_t epoch_ns;        /* memory-model epoch */
    int64_t balance_ns;      /* Linux-like run-queue load balancing period */
    int64_t policy_ns;       /* dynamic soft-affinity decision period */
    double dyn_high;         /* dynamic: widen when a vnode's vCPUs wait more than this share */
    double dyn_low;          /* dynamic: narrow when home nodes' demand is below this share */
    double migrate_gbs;      /* page migration speed */
    uint64_t reserve_mib;    /* memory per node kept for the host (not given to VMs) */
    int64_t start_spread_ns; /* each VM's vCPUs start at a uniform random time in [0, this) */
    double chunk_mib;        /* allocation grain of guest memory (2 MiB superpages) */
    /* sched balance: vnumad's balancing policy (src/lib/balance/policy.h) runs every bal_ns; its
     * residency observation is exact (bal_noise 0) or off by a uniform relative error of up
     * to bal_noise per (vnode, node), which the policy is told as the error bound. */
    int64_t bal_ns;
    double bal_noise;
};

void vn_sim_params_default(struct vn_sim_params *p);

/* Where VMs go: striped over every node (none), or vn_place() with libxl's or vnuma's
 * algorithm. */
enum vn_sim_place {
    VN_SIM_PLACE_NONE,
    VN_SIM_PLACE_XEN,
    VN_SIM_PLACE_VNUMA,
};

/* How vCPUs are scheduled on CPUs. */
enum vn_sim_sched {
    VN_SIM_SCHED_ALL,     /* any CPU, Linux-like wake-up and periodic load balancing */
    VN_SIM_SCHED_PIN,     /* hard affinity = the placement's CPUs */
    VN_SIM_SCHED_SOFT,    /* Xen credit soft affinity: soft∩hard first, then hard */
    VN_SIM_SCHED_DYNAMIC, /* vnuma: soft affinity widened to nearer nodes under pressure */
    VN_SIM_SCHED_BALANCE, /* vnumad: dynamic's scheduler, affinity and memory moved by vn_bal_run */
};

enum vn_sim_wl_kind {
    VN_SIM_WL_SPECJBB, /* CPU work with interleaved misses: transactions/s */
    VN_SIM_WL_STREAM,  /* bandwidth-bound: MB/s */
    VN_SIM_WL_CHASE,   /* latency-bound pointer chase: million accesses/s */
    VN_SIM_WL_BURSTY,  /* specjbb-like work in bursts, blocked in between */
};

/* One unit of work costs cpu_ns of core time plus misses DRAM accesses, mlp of them in
 * flight at once.  Throughput is reported in units/s times scale. */
struct vn_sim_workload {
    char name[VN_SIM_NAME_MAX];
    enum vn_sim_wl_kind kind;
    double cpu_ns;
    double misses;
    double mlp;
    double scale;       /* units/s -> reported figure (e.g. bytes -> MB) */
    double duty;        /* share of time a vCPU wants to run (1 = always) */
    double burst_ns;    /* mean length of one run burst (bursty) */
    double vnode_local; /* share of a vNUMA-aware guest's accesses to its vCPU's vnode */
    /* Stochastic parts (docs/SIM.md "Randomness"), all drawn from the simulator's PRNG: */
    double phase_ns; /* mean length (exponential) of a work phase, 0: no phases */
    double cpu_cv;   /* per phase, cpu_ns is multiplied by a lognormal draw of mean 1, this CV */
    double miss_cv;  /* per phase, misses likewise */
    double hot_mib;  /* memory taking the misses, in chunk_mib chunks at random (0: all) */
};

/* Fills w with the built-in workload called name; -1 when there is none. */
int vn_sim_workload_builtin(const char *name, struct vn_sim_workload *w);
/* The unit w's throughput is reported in: "MB/s", "M accesses/s" or "transactions/s". */
const char *vn_sim_workload_unit(const struct vn_sim_workload *w);
const char *vn_sim_place_name(enum vn_sim_place p);
const char *vn_sim_sched_name(enum vn_sim_sched s);
int vn_sim_place_parse(const char *s, enum vn_sim_place *out);
int vn_sim_sched_parse(const char *s, enum vn_sim_sched *out);

/* What a simulation runs: placement, scheduler, and whether guests see their vNUMA. */
struct vn_sim_setup {
    enum vn_sim_place place;
    enum vn_sim_sched sched;
    bool guest_numa; /* false: guests are flat, their accesses spread over all their memory */
    uint64_t seed;
};

struct vn_sim;

/* New simulator of topo (which must outlive it).  NULL with err set on bad parameters. */
struct vn_sim *vn_sim_new(const struct vn_host_topo *topo, const struct vn_sim_params *p,
                          const struct vn_sim_setup *setup, struct vn_error *err);
void vn_sim_free(struct vn_sim *s);
void vn_sim_freep(struct vn_sim **s);

/* Places one VM now (with every VM added before it as load) and starts its vCPUs.
 * Returns its index, or -1 with the placement's reason in err. */
int vn_sim_add_vm(struct vn_sim *s, const char *name, int vcpus, uint64_t mem_mib,
                  const struct vn_sim_workload *w, struct vn_error *err);

/* Schedules a VM that arrives at start_ns (placed then, with the VMs present then as load)
 * and, when stop_ns > start_ns, leaves at stop_ns.  start_ns <= now: it is added at once
 * (as vn_sim_add_vm) and its index is returned; otherwise 0 is returned and its index is
 * given at arrival.  A VM that does not fit when it arrives is counted as rejected. */
int vn_sim_schedule_vm(struct vn_sim *s, const char *name, int vcpus, uint64_t mem_mib,
                       const struct vn_sim_workload *w, int64_t start_ns, int64_t stop_ns,
                       struct vn_error *err);
/* VM vm leaves now: its vCPUs stop, its pages and claim are freed, its moves dropped.  Its
 * figures stay (measured over the time it was there).  -1 when there is no such live VM. */
int vn_sim_remove_vm(struct vn_sim *s, int vm, struct vn_error *err);

/* What the balancing policy did (balance scheduler), since the simulator was created. */
#define VN_SIM_NSKIP 6
struct vn_sim_bal_stats {
    uint64_t intervals;
    uint64_t migrate, affinity, replace; /* actions enacted, by kind */
    uint64_t skipped[VN_SIM_NSKIP];      /* SKIPPED actions by gate (vn_bal_skip order) */
    uint64_t skipped_total;
    uint64_t ordered_mib;            /* MiB the MIGRATE actions asked for */
    double moved_mib;                /* MiB page migration actually moved (any source) */
    int arrived, departed, rejected; /* VMs that came, left, did not fit on arrival */
};
void vn_sim_bal_stats(const struct vn_sim *s, struct vn_sim_bal_stats *out);
/* Node index vnode k of VM vm is recorded on (its home), -1 when several. */
int vn_sim_vnode_home(const struct vn_sim *s, int vm, int vnode);
/* Whether VM vm is present now (arrived and not left). */
bool vn_sim_vm_present(const struct vn_sim *s, int vm);

/* Called at every sample tick (vn_sim_set_sampling) with the figures of the last interval. */
struct vn_sim_sample {
    double t_s; /* end of the interval, simulated seconds */
    double interval_s;
    int nvms;
    const double *vm_tput;     /* per VM, in its workload's reported unit */
    const double *vm_locality; /* per VM, share of its accesses that were local (0..1) */
    int nnodes;
    const double *node_util;    /* per node index, memory-controller utilisation (0..1) */
    const double *node_running; /* per node index, mean vCPUs running there */
};
typedef void (*vn_sim_sample_fn)(const struct vn_sim_sample *smp, void *arg);
void vn_sim_set_sampling(struct vn_sim *s, int64_t interval_ns, vn_sim_sample_fn fn, void *arg);

/* Runs events up to simulated time until_ns (absolute). */
void vn_sim_run_until(struct vn_sim *s, int64_t until_ns);
/* Forgets what was measured so far (end of warm-up). */
void vn_sim_reset_stats(struct vn_sim *s);
int64_t vn_sim_now(const struct vn_sim *s);

/* Queues a migration of mib MiB of VM vm's vnode from node index from to node index to; it
 * proceeds at params.migrate_gbs, charging both nodes' controllers.  -1 when it cannot. */
int vn_sim_migrate(struct vn_sim *s, int vm, int vnode, int from, int to, uint64_t mib,
                   struct vn_error *err);

/* Invariants: each vCPU in exactly one place (running on one CPU, queued once, or blocked),
 * each CPU's current vCPU running there, every VM's pages accounted for exactly and no
 * node over capacity.  -1 with the broken one in err. */
int vn_sim_check(const struct vn_sim *s, struct vn_error *err);

/* Measured since the last reset. */
struct vn_sim_vm_stats {
    char name[VN_SIM_NAME_MAX];
    int order; /* position among the VMs given to vn_sim_add_vm / vn_sim_schedule_vm, from 0 */
    const char *workload;
    int vcpus;
    uint64_t mem_mib;
    double tput;      /* in the workload's reported unit per second */
    double locality;  /* local accesses / all accesses */
    double run_share; /* CPU time got / CPU time wanted */
    int nnodes_mem;   /* nodes holding its memory */
    bool guest_numa;  /* the placement gave the guest vNUMA and the setup shows it */
    double present_s; /* time it was on the host in the measured window */
};
int vn_sim_nvms(const struct vn_sim *s);
void vn_sim_vm_stats(const struct vn_sim *s, int vm, struct vn_sim_vm_stats *out);
/* Share of all accesses since the last reset that were local. */
double vn_sim_locality(const struct vn_sim *s);
/* Events handled since creation. */
uint64_t vn_sim_events(const struct vn_sim *s);
/* Pages (4 KiB) of VM vm's vnode on node index n. */
uint64_t vn_sim_vm_pages(const struct vn_sim *s, int vm, int vnode, int n);
/* CPU index (into topo->cpus) where vCPU v of VM vm runs, -1 when not running. */
int vn_sim_vcpu_cpu(const struct vn_sim *s, int vm, int v);

#endif
