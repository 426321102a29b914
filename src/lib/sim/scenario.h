/* Simulator scenarios: a host, groups of VMs with their workloads, and the configurations
 * (placement + scheduler) to compare, swept over one group's VM count and repeated over
 * seeds.  The text format (docs/SIM.md) is parsed from memory here; reading the file and
 * writing results are the CLI's business. */
#ifndef VN_SIM_SCENARIO_H
#define VN_SIM_SCENARIO_H

#include <stddef.h>

#include "sim.h"

#define VN_SCN_MAX_WORKLOADS 16
#define VN_SCN_MAX_GROUPS    32
#define VN_SCN_MAX_CONFIGS   16
#define VN_SCN_MAX_COUNTS    32
#define VN_SCN_HOST_MAX      512

struct vn_scn_group {
    char name[VN_SIM_NAME_MAX];
    int ncounts;
    int counts[VN_SCN_MAX_COUNTS]; /* several = the sweep */
    int vcpus;
    uint64_t mem_mib;
    int workload; /* index into vn_scenario.workloads */
    int line;
    /* Arrival and departure: VM i of the group arrives at start + i * stagger and, when
     * stop > 0, leaves at stop + i * stagger. */
    int64_t start_ns, stop_ns, stagger_ns;
    int stop_line;
};

struct vn_scn_config {
    char name[VN_SIM_NAME_MAX];
    enum vn_sim_place place;
    enum vn_sim_sched sched;
    bool guest_numa;
    int line;
};

struct vn_scenario {
    char name[VN_SIM_NAME_MAX];
    char description[256];
    char host[VN_SCN_HOST_MAX];
    int64_t duration_ns;
    int64_t warmup_ns;
    int64_t trace_ns;
    int seeds;
    struct vn_sim_params params;
    int nworkloads;
    struct vn_sim_workload workloads[VN_SCN_MAX_WORKLOADS];
    int ngroups;
    struct vn_scn_group groups[VN_SCN_MAX_GROUPS];
    int nconfigs;
    struct vn_scn_config configs[VN_SCN_MAX_CONFIGS];
    int sweep; /* group whose count varies, -1 when none does */
};

/* Parses a scenario; file names it in messages ("FILE:LINE: ...").  -1 with err set. */
int vn_scenario_parse(const char *buf, size_t len, const char *file, struct vn_scenario *out,
                      struct vn_error *err);

/* Number of points of the sweep (1 without one). */
int vn_scenario_npoints(const struct vn_scenario *sc);
/* Count of VMs of group g at sweep point pt. */
int vn_scenario_count(const struct vn_scenario *sc, int g, int pt);

/* Builds the simulator of one run: configuration cfg at sweep point pt with seed, every VM
 * placed.  VMs are given to the simulator round-robin over the groups; the group of each is
 * vn_scenario_vm_group() of its vn_sim_vm_stats.order (run.h).  NULL with err naming the VM
 * that did not fit. */
struct vn_sim *vn_scenario_build(const struct vn_scenario *sc, const struct vn_host_topo *topo,
                                 int cfg, int pt, uint64_t seed, struct vn_error *err);

/* Mean and sample standard deviation of n values (stddev 0 when n < 2). */
void vn_sim_mean_sd(const double *v, int n, double *mean, double *sd);

#endif
