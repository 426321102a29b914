/* Running a scenario: every (configuration, sweep point, seed) it names, each VM's figures
 * tied to its group, and per (configuration, point, group) the mean and sample standard
 * deviation over the seeds.
 *
 * Pure like the rest of sim/: the caller loads the scenario and the host and writes the
 * results (tables, CSV, plots); progress and trace samples reach it through callbacks, so
 * wall-clock time is measured there too. */
#ifndef VN_SIM_RUN_H
#define VN_SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"
#include "sim.h"

/* One run: configuration `config` at sweep point `point` with seed `seed`. */
struct vn_sim_run {
    int config, point;
    int count; /* VMs of the swept group at this point; 0 without a sweep */
    uint64_t seed;
    bool failed; /* a VM could not be placed: no figures, error says which */
    struct vn_error error;
    uint64_t events;             /* simulator events handled */
    struct vn_sim_bal_stats bal; /* what the balancing policy did, VMs arrived / left */
    int first_vm, nvms;          /* its VMs in vn_sim_report.vms */
};

/* One VM of one run that was on the host in the measured window. */
struct vn_sim_vm_result {
    int run;                   /* index into vn_sim_report.runs */
    int group;                 /* index into vn_scenario.groups */
    struct vn_sim_vm_stats st; /* st.workload points into the scenario */
};

/* One (configuration, sweep point, group) over the seeds. */
struct vn_sim_cell {
    int config, point, group;
    int count;                      /* as in vn_sim_run */
    int nvms;                       /* VMs of the group (last seed); 0: no figures */
    double per_vm_mean, per_vm_sd;  /* mean throughput of one VM of the group */
    double group_mean, group_sd;    /* the group's total throughput */
    double locality;                /* the group's mean local share of accesses */
    double rel_first, rel_first_sd; /* per-VM mean and sd over the first configuration's */
};

struct vn_sim_report {
    int nseeds, npoints, ngroups;
    int nconfigs;                        /* the scenario's (run or not) */
    bool config_run[VN_SCN_MAX_CONFIGS]; /* which configurations ran */
    int first_config;                    /* first one that ran: the "vs first" base */
    int nruns;
    struct vn_sim_run *runs; /* config, point, seed order */
    int nvms;
    struct vn_sim_vm_result *vms; /* run order, then the simulator's VM order */
    struct vn_sim_cell *cells;    /* nconfigs x npoints x ngroups; vn_sim_report_cell() */
    int nfailed;                  /* runs that failed */
    double sim_s;                 /* simulated seconds of the runs that did not fail */
    uint64_t events;              /* their events */
};

struct vn_sim_run_opts {
    const struct vn_host_topo *topo; /* the host to simulate (must outlive the call) */
    int config;                      /* the only configuration to run, -1: all */
    bool trace;                      /* call on_sample every trace_ns of each run */
    /* After each run, with the report so far (r->runs[run] and its VMs are complete). */
    void (*on_run)(const struct vn_sim_report *r, int run, void *arg);
    void (*on_sample)(const struct vn_sim_run *run, const struct vn_sim *sim,
                      const struct vn_sim_sample *smp, void *arg);
    void *arg;
};

/* Runs sc on o->topo into *out (free with vn_sim_report_free); a run whose VMs do not fit
 * is marked failed and ends its configuration's sweep.  -1 with err when the simulator
 * breaks an invariant (out then holds the runs before). */
int vn_scenario_run(const struct vn_scenario *sc, const struct vn_sim_run_opts *o,
                    struct vn_sim_report *out, struct vn_error *err);
/* Frees what vn_scenario_run allocated in r and zeroes it. */
void vn_sim_report_free(struct vn_sim_report *r);
/* The cell of configuration c, sweep point pt and group g. */
const struct vn_sim_cell *vn_sim_report_cell(const struct vn_sim_report *r, int c, int pt, int g);

/* The group of the order-th VM vn_scenario_build gives the simulator at sweep point pt
 * (vn_sim_vm_stats.order), -1 when there is none. */
int vn_scenario_vm_group(const struct vn_scenario *sc, int pt, int order);
/* Index of the configuration called name, -1 when there is none. */
int vn_scenario_config_index(const struct vn_scenario *sc, const char *name);

#endif
