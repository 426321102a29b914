/* Running a scenario and its statistics over seeds (run.h). */
#include <stdlib.h>
#include <string.h>

#include "run.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

int vn_scenario_vm_group(const struct vn_scenario *sc, int pt, int order)
{
    /* VMs are created round-robin over the groups, as a host fills up over time, so that no
     * group gets all the best places by being first; vn_scenario_build follows this. */
    int left[VN_SCN_MAX_GROUPS], total = 0, k = 0;
    for (int g = 0; g < sc->ngroups; g++)
        total += left[g] = vn_scenario_count(sc, g, pt);
    while (total > 0) {
        for (int g = 0; g < sc->ngroups; g++) {
            if (left[g] == 0)
                continue;
            if (k++ == order)
                return g;
            left[g]--;
            total--;
        }
    }
    return -1;
}

int vn_scenario_config_index(const struct vn_scenario *sc, const char *name)
{
    for (int c = 0; c < sc->nconfigs; c++)
        if (strcmp(sc->configs[c].name, name) == 0)
            return c;
    return -1;
}

const struct vn_sim_cell *vn_sim_report_cell(const struct vn_sim_report *r, int c, int pt, int g)
{
    return &r->cells[((size_t)c * r->npoints + pt) * r->ngroups + g];
}

struct trace_hook {
    const struct vn_sim_run_opts *o;
    const struct vn_sim_run *run;
    const struct vn_sim *sim;
};

static void on_sample(const struct vn_sim_sample *smp, void *arg)
{
    const struct trace_hook *h = arg;
    h->o->on_sample(h->run, h->sim, smp, h->o->arg);
}

/* Per-seed figures of every cell, for the mean and sd. */
struct seed_vals {
    double *per_vm, *group, *locality; /* ncell x nseeds each */
};

/* Adds the VMs of a finished run to r and its per-group figures to v. */
static void collect(const struct vn_scenario *sc, const struct vn_sim *sim, int ri, int si,
                    struct vn_sim_report *r, struct seed_vals *v)
{
    struct vn_sim_run *run = &r->runs[ri];
    int ng = r->ngroups, nv = vn_sim_nvms(sim);
    double *gsum = xcalloc(ng, sizeof *gsum), *gacc = xcalloc(ng, sizeof *gacc);
    int *gn = xcalloc(ng, sizeof *gn);
    r->vms = realloc(r->vms, ((size_t)r->nvms + (size_t)nv + 1) * sizeof *r->vms);
    if (!r->vms)
        abort();
    run->first_vm = r->nvms;
    for (int m = 0; m < nv; m++) {
        struct vn_sim_vm_result *vr = &r->vms[r->nvms];
        vn_sim_vm_stats(sim, m, &vr->st);
        /* A VM that was not on the host in the measured window has no figures. */
        if (!(vr->st.present_s > 0))
            continue;
        int g = vn_scenario_vm_group(sc, run->point, vr->st.order);
        if (g < 0)
            g = 0; /* not from vn_scenario_build: cannot happen */
        vr->run = ri;
        vr->group = g;
        vr->st.workload = sc->workloads[sc->groups[g].workload].name;
        gsum[g] += vr->st.tput;
        gacc[g] += vr->st.locality;
        gn[g]++;
        r->nvms++;
    }
    run->nvms = r->nvms - run->first_vm;
    for (int g = 0; g < ng; g++) {
        size_t cell = ((size_t)run->config * r->npoints + run->point) * ng + g;
        size_t at = cell * r->nseeds + si;
        r->cells[cell].nvms = gn[g];
        v->group[at] = gsum[g];
        v->per_vm[at] = gn[g] ? gsum[g] / gn[g] : 0;
        v->locality[at] = gn[g] ? gacc[g] / gn[g] : 0;
    }
    free(gsum);
    free(gacc);
    free(gn);
}

/* Builds and runs one (configuration, point, seed); 1 when its VMs do not fit, -1 when an
 * invariant broke. */
static int run_one(const struct vn_scenario *sc, const struct vn_sim_run_opts *o, int ri, int si,
                   struct vn_sim_report *r, struct seed_vals *v, struct vn_error *err)
{
    struct vn_sim_run *run = &r->runs[ri];
    struct vn_sim *sim =
        vn_scenario_build(sc, o->topo, run->config, run->point, run->seed, &run->error);
    if (!sim) {
        run->failed = true;
        r->nfailed++;
        return 1;
    }
    struct trace_hook hook = {o, run, sim};
    if (o->trace && o->on_sample)
        vn_sim_set_sampling(sim, sc->trace_ns, on_sample, &hook);
    vn_sim_run_until(sim, sc->warmup_ns);
    vn_sim_reset_stats(sim);
    vn_sim_run_until(sim, sc->duration_ns);
    run->events = vn_sim_events(sim);
    r->events += run->events;
    r->sim_s += (double)sc->duration_ns / 1e9;
    if (vn_sim_check(sim, err) < 0) {
        vn_error_prefix(err, "internal invariant broken");
        vn_sim_free(sim);
        return -1;
    }
    vn_sim_bal_stats(sim, &run->bal);
    collect(sc, sim, ri, si, r, v);
    vn_sim_free(sim);
    return 0;
}

/* Means and sds of every cell, relative to the first configuration that ran. */
static void summarise(struct vn_sim_report *r, const struct seed_vals *v)
{
    int ns = r->nseeds;
    size_t ncell = (size_t)r->nconfigs * r->npoints * r->ngroups;
    for (size_t i = 0; i < ncell; i++) {
        struct vn_sim_cell *cl = &r->cells[i];
        double lsd;
        vn_sim_mean_sd(v->per_vm + i * ns, ns, &cl->per_vm_mean, &cl->per_vm_sd);
        vn_sim_mean_sd(v->group + i * ns, ns, &cl->group_mean, &cl->group_sd);
        vn_sim_mean_sd(v->locality + i * ns, ns, &cl->locality, &lsd);
    }
    for (size_t i = 0; i < ncell; i++) {
        struct vn_sim_cell *cl = &r->cells[i];
        const struct vn_sim_cell *base =
            vn_sim_report_cell(r, r->first_config, cl->point, cl->group);
        double bm = base->per_vm_mean;
        cl->rel_first = bm > 0 ? cl->per_vm_mean / bm : 0;
        cl->rel_first_sd = bm > 0 ? cl->per_vm_sd / bm : 0;
    }
}

int vn_scenario_run(const struct vn_scenario *sc, const struct vn_sim_run_opts *o,
                    struct vn_sim_report *out, struct vn_error *err)
{
    struct vn_sim_report *r = out;
    memset(r, 0, sizeof *r);
    r->nseeds = sc->seeds;
    r->npoints = vn_scenario_npoints(sc);
    r->ngroups = sc->ngroups;
    r->nconfigs = sc->nconfigs;
    r->first_config = -1;
    int nrun_cfg = 0;
    for (int c = 0; c < sc->nconfigs; c++) {
        r->config_run[c] = o->config < 0 || o->config == c;
        nrun_cfg += r->config_run[c];
        if (r->config_run[c] && r->first_config < 0)
            r->first_config = c;
    }
    if (r->first_config < 0)
        r->first_config = 0;
    size_t ncell = (size_t)sc->nconfigs * r->npoints * r->ngroups;
    r->cells = xcalloc(ncell, sizeof *r->cells);
    for (int c = 0; c < sc->nconfigs; c++)
        for (int pt = 0; pt < r->npoints; pt++)
            for (int g = 0; g < r->ngroups; g++) {
                struct vn_sim_cell *cl = &r->cells[((size_t)c * r->npoints + pt) * r->ngroups + g];
                cl->config = c;
                cl->point = pt;
                cl->group = g;
                cl->count = sc->sweep >= 0 ? vn_scenario_count(sc, sc->sweep, pt) : 0;
            }
    r->runs = xcalloc((size_t)nrun_cfg * r->npoints * r->nseeds, sizeof *r->runs);
    double *vals = xcalloc(ncell * 3 * r->nseeds, sizeof *vals);
    struct seed_vals v = {vals, vals + ncell * r->nseeds, vals + 2 * ncell * r->nseeds};

    int rc = 0;
    for (int c = 0; c < sc->nconfigs && rc >= 0; c++) {
        if (!r->config_run[c])
            continue;
        bool stop = false; /* a point that did not fit ends the configuration's sweep */
        for (int pt = 0; pt < r->npoints && !stop && rc >= 0; pt++) {
            for (int si = 0; si < r->nseeds; si++) {
                int ri = r->nruns++;
                struct vn_sim_run *run = &r->runs[ri];
                run->config = c;
                run->point = pt;
                run->count = sc->sweep >= 0 ? vn_scenario_count(sc, sc->sweep, pt) : 0;
                run->seed = (uint64_t)si + 1;
                rc = run_one(sc, o, ri, si, r, &v, err);
                if (rc < 0)
                    break;
                if (o->on_run)
                    o->on_run(r, ri, o->arg);
                if (rc > 0) {
                    stop = true;
                    rc = 0;
                    break;
                }
            }
        }
    }
    summarise(r, &v);
    free(vals);
    return rc < 0 ? -1 : 0;
}

void vn_sim_report_free(struct vn_sim_report *r)
{
    free(r->runs);
    free(r->vms);
    free(r->cells);
    memset(r, 0, sizeof *r);
}
