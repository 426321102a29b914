/* The simulator's engine: host model, event loop, memory model and statistics.  The
 * scheduling policies are in sched.c, the VMs' placement in vm.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "sched.h"

void vn_sim_params_default(struct vn_sim_params *p)
{
    *p = (struct vn_sim_params){
        .local_ns = 90,
        .remote_ratio_21 = 1.8,
        .node_gbs = 20,
        .contention = 0.3,
        .smt_yield = 1.3,
        .refill_kib = 256,
        .timeslice_ns = 30000000,
        .epoch_ns = 1000000,
        .balance_ns = 4000000,
        .policy_ns = 100000000,
        .dyn_high = 0.9,
        .dyn_low = 0.5,
        .migrate_gbs = 2,
        .reserve_mib = 0,
        .start_spread_ns = 0,
        .chunk_mib = 2,
        .bal_ns = 1000000000,
        .bal_noise = 0,
    };
}

double vn_sim_rng_exp(struct vn_sim_rng *r, double mean)
{
    return -mean * log(1.0 - vn_sim_rng_unit(r));
}

/* exp(N(mu, sigma)) with sigma^2 = ln(1 + cv^2) and mu = -sigma^2 / 2: mean 1, CV cv. */
double vn_sim_rng_lognormal1(struct vn_sim_rng *r, double cv)
{
    if (!(cv > 0))
        return 1.0;
    double u1 = 1.0 - vn_sim_rng_unit(r), u2 = vn_sim_rng_unit(r);
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    double sigma = sqrt(log(1.0 + cv * cv));
    return exp(sigma * z - sigma * sigma / 2);
}

static const char *const place_names[] = {"none", "xen", "vnuma"};
static const char *const sched_names[] = {"all-cpus", "pin", "soft", "dynamic", "balance"};

const char *vn_sim_place_name(enum vn_sim_place p)
{
    return place_names[p];
}

const char *vn_sim_sched_name(enum vn_sim_sched s)
{
    return sched_names[s];
}

int vn_sim_place_parse(const char *s, enum vn_sim_place *out)
{
    for (size_t i = 0; i < sizeof place_names / sizeof place_names[0]; i++)
        if (strcmp(s, place_names[i]) == 0) {
            *out = (enum vn_sim_place)i;
            return 0;
        }
    return -1;
}

int vn_sim_sched_parse(const char *s, enum vn_sim_sched *out)
{
    for (size_t i = 0; i < sizeof sched_names / sizeof sched_names[0]; i++)
        if (strcmp(s, sched_names[i]) == 0) {
            *out = (enum vn_sim_sched)i;
            return 0;
        }
    return -1;
}

/* Built-in workloads.  specjbb: 30% of its time stalled on DRAM at idle local latency, the
 * share top-down analyses report for SPECjbb on Xeons; the others are the textbook kernels.
 * The transaction-processing ones work in phases of varying cost (transaction mix, garbage
 * collection) and take their misses in a hot part of their memory; the kernels are steady and
 * sweep all of it.  docs/SIM.md derives each number. */
#define JBB_NOISE 50e6, 0.2, 0.3, 256
static const struct vn_sim_workload builtins[] = {
    {"specjbb", VN_SIM_WL_SPECJBB, 7000, 67, 2, 1, 1, 0, 0.9, JBB_NOISE},
    {"stream", VN_SIM_WL_STREAM, 2, 1, 8, VN_SIM_LINE * 1e-6, 1, 0, 0.9, 0, 0, 0, 0},
    {"chase", VN_SIM_WL_CHASE, 5, 1, 1, 1e-6, 1, 0, 0.9, 0, 0, 0, 0},
    {"bursty", VN_SIM_WL_BURSTY, 7000, 67, 2, 1, 0.3, 5e6, 0.9, JBB_NOISE},
    {"idle", VN_SIM_WL_BURSTY, 7000, 67, 2, 1, 0.02, 0.5e6, 0.9, JBB_NOISE},
};

int vn_sim_workload_builtin(const char *name, struct vn_sim_workload *w)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(name, builtins[i].name) == 0) {
            *w = builtins[i];
            return 0;
        }
    return -1;
}

const char *vn_sim_workload_unit(const struct vn_sim_workload *w)
{
    switch (w->kind) {
    case VN_SIM_WL_STREAM:
        return "MB/s";
    case VN_SIM_WL_CHASE:
        return "M accesses/s";
    default:
        return "transactions/s";
    }
}

/* ---- event heap ---- */

static bool ev_before(const struct vn_sim_ev *a, const struct vn_sim_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void vn_sim_push(struct vn_sim *s, int64_t t, int kind, int idx, uint64_t gen)
{
    if (s->nheap == s->cap_heap) {
        s->cap_heap = s->cap_heap ? 2 * s->cap_heap : 256;
        s->heap = realloc(s->heap, sizeof *s->heap * s->cap_heap);
        if (!s->heap)
            abort();
    }
    struct vn_sim_ev e = {t, s->seq++, gen, kind, idx};
    int i = s->nheap++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!ev_before(&e, &s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
}

static struct vn_sim_ev pop(struct vn_sim *s)
{
    struct vn_sim_ev top = s->heap[0];
    struct vn_sim_ev last = s->heap[--s->nheap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= s->nheap)
            break;
        if (c + 1 < s->nheap && ev_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!ev_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->nheap > 0)
        s->heap[i] = last;
    return top;
}

/* ---- memory model ---- */

/* Idle latency ratio for a SLIT distance: ACPI defines SLIT as relative latency, but
 * measured ratios are smaller (1.8 at 21, not 2.1), so the excess over local is scaled
 * linearly: every SLIT unit above 10 adds (ratio21 - 1) / 11. */
static double remote_ratio(const struct vn_sim_params *p, int d)
{
    if (d <= VN_TOPO_DIST_LOCAL)
        return 1.0;
    return 1.0 + (p->remote_ratio_21 - 1.0) * (d - VN_TOPO_DIST_LOCAL) / 11.0;
}

static double qfactor(const struct vn_sim_params *p, double u)
{
    if (u > 0.95)
        u = 0.95;
    if (u < 0)
        u = 0;
    return 1.0 + p->contention * u / (1.0 - u);
}

static bool sibling_busy(const struct vn_sim *s, int c)
{
    const struct vn_sim_cpu *cpu = &s->cpus[c];
    for (int i = 0; i < cpu->nsib; i++)
        if (s->cpus[cpu->sib[i]].cur >= 0)
            return true;
    return false;
}

/* The rate of a running vCPU from where it runs, where its memory is, and SMT sharing. */
void vn_sim_rate(struct vn_sim *s, struct vn_sim_vcpu *v)
{
    const struct vn_sim_vm *vm = &s->vms[v->vm];
    int node = s->cpus[v->cpu].node;
    const double *w = vm->w + (size_t)v->vnode * s->nn;
    const int *wn = vm->wnodes + (size_t)v->vnode * s->nn;
    int cnt = vm->wcount[v->vnode];
    double lat = 0;
    const double *row = s->lat + (size_t)node * s->nn;
    for (int k = 0; k < cnt; k++) {
        int n = wn[k];
        lat += w[n] * row[n] * s->q[n];
    }
    double speed = sibling_busy(s, v->cpu) ? s->p.smt_yield / 2 : 1.0;
    double t = vm->wl.cpu_ns * v->cpu_mul / speed + vm->wl.misses * v->miss_mul * lat / vm->wl.mlp;
    v->lat = lat;
    v->rate = t > 0 ? 1.0 / t : 0;
    v->local_w = w[node];
}

/* Adds what a running vCPU did since its last accrual. */
void vn_sim_accrue(struct vn_sim *s, struct vn_sim_vcpu *v)
{
    int64_t dt = s->now - v->since;
    if (dt <= 0)
        return;
    v->since = s->now;
    v->run_ns += (double)dt;
    v->bal_ns += (double)dt;
    s->cpus[v->cpu].busy_iv += (double)dt;
    struct vn_sim_vm *vm = &s->vms[v->vm];
    if (vm->dem) {
        vm->dem[(size_t)v->vnode * s->nn + s->cpus[v->cpu].node] += (double)dt;
        s->node_dem[s->cpus[v->cpu].node] += (double)dt;
    }
    double warm = (double)dt;
    if (v->cold_ns > 0) {
        double c = v->cold_ns < warm ? v->cold_ns : warm;
        v->cold_ns -= c;
        warm -= c;
    }
    if (warm <= 0)
        return;
    double units = warm * v->rate;
    double acc = units * vm->wl.misses * v->miss_mul;
    v->units += units;
    v->units_iv += units;
    v->acc += acc;
    v->acc_iv += acc;
    v->local_acc += acc * v->local_w;
    v->local_iv += acc * v->local_w;
    const double *w = vm->w + (size_t)v->vnode * s->nn;
    const int *wn = vm->wnodes + (size_t)v->vnode * s->nn;
    for (int k = 0; k < vm->wcount[v->vnode]; k++)
        s->bytes_iv[wn[k]] += acc * w[wn[k]] * VN_SIM_LINE;
}

/* Solves each node's controller utilisation for the vCPUs running now: the demand at the
 * latency the utilisation causes must equal the utilisation (a fixed point; demand falls as
 * latency rises, so bisection finds the one crossing).  Each node is solved with the other
 * nodes' factors held, which is exact for vCPUs whose memory is on one node. */
static void solve_memory(struct vn_sim *s)
{
    int nn = s->nn;
    int *off = s->soff;
    memset(off, 0, sizeof *off * (nn + 1));
    for (int c = 0; c < s->nc; c++) {
        int vi = s->cpus[c].cur;
        if (vi < 0)
            continue;
        const struct vn_sim_vcpu *v = &s->vcpus[vi];
        const struct vn_sim_vm *vm = &s->vms[v->vm];
        const int *wn = vm->wnodes + (size_t)v->vnode * nn;
        for (int k = 0; k < vm->wcount[v->vnode]; k++)
            off[wn[k] + 1]++;
    }
    for (int n = 0; n < nn; n++)
        off[n + 1] += off[n];
    if (off[nn] > s->cap_scratch) {
        s->cap_scratch = off[nn] * 2;
        s->sa = realloc(s->sa, sizeof *s->sa * s->cap_scratch);
        s->sb = realloc(s->sb, sizeof *s->sb * s->cap_scratch);
        s->sc = realloc(s->sc, sizeof *s->sc * s->cap_scratch);
        if (!s->sa || !s->sb || !s->sc)
            abort();
    }
    int *fill = s->sidx;
    memcpy(fill, off, sizeof *fill * nn);
    for (int c = 0; c < s->nc; c++) {
        int vi = s->cpus[c].cur;
        if (vi < 0)
            continue;
        struct vn_sim_vcpu *v = &s->vcpus[vi];
        const struct vn_sim_vm *vm = &s->vms[v->vm];
        int node = s->cpus[c].node;
        const double *w = vm->w + (size_t)v->vnode * nn;
        const int *wn = vm->wnodes + (size_t)v->vnode * nn;
        double speed = sibling_busy(s, c) ? s->p.smt_yield / 2 : 1.0;
        double misses = vm->wl.misses * v->miss_mul;
        double mpl = misses / vm->wl.mlp;
        double total = vm->wl.cpu_ns * v->cpu_mul / speed + mpl * v->lat;
        for (int k = 0; k < vm->wcount[v->vnode]; k++) {
            int n = wn[k];
            double b = mpl * w[n] * s->lat[(size_t)node * nn + n];
            int i = fill[n]++;
            s->sb[i] = b;
            s->sa[i] = total - b * s->q[n];
            s->sc[i] = misses * w[n] * VN_SIM_LINE;
        }
    }
    for (int n = 0; n < nn; n++) {
        double cap = s->p.node_gbs; /* GB/s = bytes/ns */
        double extra = s->mig_bw[n];
        int lo_i = off[n], hi_i = off[n + 1];
        if (hi_i == lo_i && extra <= 0) {
            s->util[n] = 0;
            s->q[n] = 1;
            continue;
        }
        /* Safeguarded Newton from the last epoch's utilisation: f(u) = demand - supply
         * falls with u, so [lo, hi] always brackets the root; usually 2-3 passes. */
        double lo = 0, hi = 0.999, u = s->util[n];
        if (u <= lo || u >= hi)
            u = 0.5;
        for (int it = 0; it < 30; it++) {
            double qf = qfactor(&s->p, u), d = extra, dd = 0;
            for (int i = lo_i; i < hi_i; i++) {
                double t = s->sa[i] + s->sb[i] * qf;
                if (t > 0) {
                    d += s->sc[i] / t;
                    dd -= s->sc[i] * s->sb[i] / (t * t);
                }
            }
            double f = d - u * cap;
            if (f > 0)
                lo = u;
            else
                hi = u;
            double uq = u < 0.95 ? u : 0.95;
            double dq = u < 0.95 ? s->p.contention / ((1 - uq) * (1 - uq)) : 0;
            double fp = dd * dq - cap;
            double next = fp < 0 ? u - f / fp : (lo + hi) / 2;
            if (!(next > lo && next < hi))
                next = (lo + hi) / 2;
            double step = next - u;
            u = next;
            if (step < 1e-5 && step > -1e-5)
                break;
        }
        lo = hi = u;
        s->util[n] = (lo + hi) / 2;
        s->q[n] = qfactor(&s->p, s->util[n]);
    }
}

static void run_migrations(struct vn_sim *s)
{
    for (int n = 0; n < s->nn; n++)
        s->mig_bw[n] = 0;
    double bytes = s->p.migrate_gbs * (double)s->p.epoch_ns;
    uint64_t pages = (uint64_t)(bytes / 4096.0);
    if (pages == 0)
        pages = 1;
    for (int i = 0; i < s->nmig;) {
        struct vn_sim_mig *m = &s->mig[i];
        struct vn_sim_vm *vm = &s->vms[m->vm];
        uint64_t *src = &vm->pages[(size_t)m->vnode * s->nn + m->from];
        uint64_t *dst = &vm->pages[(size_t)m->vnode * s->nn + m->to];
        uint64_t k = pages < m->pages_left ? pages : m->pages_left;
        if (k > *src)
            k = *src;
        if (s->cap_pages[m->to] - s->used_pages[m->to] < k)
            k = s->cap_pages[m->to] - s->used_pages[m->to];
        *src -= k;
        *dst += k;
        s->used_pages[m->from] -= k;
        s->used_pages[m->to] += k;
        m->pages_left -= k;
        s->bal_stats.moved_mib += (double)k / VN_SIM_PAGES_PER_MIB;
        double bw = (double)k * 4096.0 / (double)s->p.epoch_ns;
        s->mig_bw[m->from] += bw;
        s->mig_bw[m->to] += bw;
        s->bytes_iv[m->from] += (double)k * 4096.0;
        s->bytes_iv[m->to] += (double)k * 4096.0;
        vn_sim_vm_weights(s, m->vm);
        if (m->pages_left == 0 || k == 0)
            s->mig[i] = s->mig[--s->nmig];
        else
            i++;
    }
}

static void accrue_all(struct vn_sim *s)
{
    for (int c = 0; c < s->nc; c++)
        if (s->cpus[c].cur >= 0)
            vn_sim_accrue(s, &s->vcpus[s->cpus[c].cur]);
}

static void epoch(struct vn_sim *s)
{
    accrue_all(s);
    run_migrations(s);
    /* Rates first with the current factors so that each vCPU's latency is fresh. */
    for (int c = 0; c < s->nc; c++)
        if (s->cpus[c].cur >= 0)
            vn_sim_rate(s, &s->vcpus[s->cpus[c].cur]);
    solve_memory(s);
    for (int c = 0; c < s->nc; c++)
        if (s->cpus[c].cur >= 0)
            vn_sim_rate(s, &s->vcpus[s->cpus[c].cur]);
}

static void sample(struct vn_sim *s)
{
    accrue_all(s);
    double iv = (double)(s->now - s->sample_start);
    if (s->sample_fn && iv > 0) {
        double *tput = calloc(s->nvms ? s->nvms : 1, sizeof *tput);
        double *loc = calloc(s->nvms ? s->nvms : 1, sizeof *loc);
        double *util = calloc(s->nn, sizeof *util);
        double *running = calloc(s->nn, sizeof *running);
        if (!tput || !loc || !util || !running)
            abort();
        for (int m = 0; m < s->nvms; m++) {
            const struct vn_sim_vm *vm = &s->vms[m];
            double u = 0, a = 0, l = 0;
            for (int i = 0; i < vm->nvcpus; i++) {
                const struct vn_sim_vcpu *v = &s->vcpus[vm->first + i];
                u += v->units_iv;
                a += v->acc_iv;
                l += v->local_iv;
            }
            tput[m] = u / iv * 1e9 * vm->wl.scale;
            loc[m] = a > 0 ? l / a : 0;
        }
        for (int n = 0; n < s->nn; n++)
            util[n] = s->bytes_iv[n] / iv / s->p.node_gbs;
        for (int c = 0; c < s->nc; c++)
            running[s->cpus[c].node] += s->cpus[c].busy_iv / iv;
        struct vn_sim_sample smp = {
            (double)s->now / 1e9, iv / 1e9, s->nvms, tput, loc, s->nn, util, running};
        s->sample_fn(&smp, s->sample_arg);
        free(tput);
        free(loc);
        free(util);
        free(running);
    }
    for (int i = 0; i < s->nvcpus; i++) {
        struct vn_sim_vcpu *v = &s->vcpus[i];
        v->units_iv = v->acc_iv = v->local_iv = 0;
    }
    for (int n = 0; n < s->nn; n++)
        s->bytes_iv[n] = 0;
    for (int c = 0; c < s->nc; c++)
        s->cpus[c].busy_iv = 0;
    s->sample_start = s->now;
}

/* ---- creation ---- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

struct vn_sim *vn_sim_new(const struct vn_host_topo *topo, const struct vn_sim_params *p,
                          const struct vn_sim_setup *setup, struct vn_error *err)
{
    if (topo->nnodes < 1 || topo->ncpus < 1) {
        vn_error_set(err, "The host '%s' has no CPUs or no nodes to simulate.", topo->name);
        return NULL;
    }
    if (p->local_ns <= 0 || p->remote_ratio_21 < 1 || p->node_gbs <= 0 || p->contention < 0 ||
        p->smt_yield < 1 || p->smt_yield > 2 || p->timeslice_ns <= 0 || p->epoch_ns <= 0 ||
        p->balance_ns <= 0 || p->policy_ns <= 0 || p->migrate_gbs <= 0 || p->start_spread_ns < 0 ||
        !(p->chunk_mib > 0) || p->bal_ns <= 0 || !(p->bal_noise >= 0) || p->bal_noise > 1) {
        vn_error_set(err, "The simulator parameters are out of range: latencies, bandwidths, "
                          "periods and the chunk size must be positive, the start spread not "
                          "negative, remote_ratio_21 at least 1, smt_yield between 1 and 2 and "
                          "bal_noise between 0 and 1.");
        return NULL;
    }
    if ((setup->sched == VN_SIM_SCHED_DYNAMIC || setup->sched == VN_SIM_SCHED_BALANCE) &&
        topo->nnodes > VN_SOFTAFF_MAX_NODES) {
        vn_error_set(err, "Dynamic soft affinity handles up to %d nodes; the host '%s' has %d.",
                     VN_SOFTAFF_MAX_NODES, topo->name, topo->nnodes);
        return NULL;
    }
    struct vn_sim *s = xcalloc(1, sizeof *s);
    s->topo = topo;
    s->p = *p;
    s->setup = *setup;
    vn_sim_rng_seed(&s->rng, setup->seed);
    int nn = s->nn = topo->nnodes, nc = s->nc = topo->ncpus;
    s->cpus = xcalloc(nc, sizeof *s->cpus);
    s->node_cpus = xcalloc(nn, sizeof *s->node_cpus);
    s->node_cpus_os = xcalloc(nn, sizeof *s->node_cpus_os);
    s->node_ncpus = xcalloc(nn, sizeof *s->node_ncpus);
    s->order = xcalloc((size_t)nn * nn, sizeof *s->order);
    s->lat = xcalloc((size_t)nn * nn, sizeof *s->lat);
    s->q = xcalloc(nn, sizeof *s->q);
    s->util = xcalloc(nn, sizeof *s->util);
    s->bytes_iv = xcalloc(nn, sizeof *s->bytes_iv);
    s->mig_bw = xcalloc(nn, sizeof *s->mig_bw);
    s->node_dem = xcalloc(nn, sizeof *s->node_dem);
    s->nqueued = xcalloc(nn, sizeof *s->nqueued);
    s->used_pages = xcalloc(nn, sizeof *s->used_pages);
    s->cap_pages = xcalloc(nn, sizeof *s->cap_pages);
    s->soff = xcalloc(nn + 1, sizeof *s->soff);
    s->sidx = xcalloc(nn + 1, sizeof *s->sidx);
    vn_bitmap_zero(&s->idle);
    vn_bitmap_zero(&s->idle_core);
    vn_bitmap_zero(&s->all);
    for (int n = 0; n < nn; n++) {
        s->q[n] = 1;
        uint64_t mem = topo->nodes[n].free_known ? topo->nodes[n].free_mib : topo->nodes[n].mem_mib;
        uint64_t res = p->reserve_mib < mem ? p->reserve_mib : mem;
        s->cap_pages[n] = (mem - res) * VN_SIM_PAGES_PER_MIB;
        for (int m = 0; m < nn; m++) {
            s->lat[(size_t)n * nn + m] =
                p->local_ns * remote_ratio(p, vn_topo_distance(topo, n, m));
            s->order[(size_t)n * nn + m] = m;
        }
        /* insertion sort by distance, then index: nearest nodes first */
        int *o = s->order + (size_t)n * nn;
        for (int i = 1; i < nn; i++) {
            int x = o[i], j = i;
            while (j > 0 && vn_topo_distance(topo, n, o[j - 1]) > vn_topo_distance(topo, n, x)) {
                o[j] = o[j - 1];
                j--;
            }
            o[j] = x;
        }
        s->node_cpus_os[n] = topo->nodes[n].cpus;
    }
    for (int c = 0; c < nc; c++) {
        struct vn_sim_cpu *cpu = &s->cpus[c];
        cpu->node = topo->cpus[c].node;
        cpu->cur = -1;
        cpu->head = cpu->tail = -1;
        vn_bitmap_set(&s->node_cpus[cpu->node], c);
        s->node_ncpus[cpu->node]++;
        vn_bitmap_set(&s->idle, c);
        vn_bitmap_set(&s->idle_core, c);
        vn_bitmap_set(&s->all, c);
        for (int d = 0; d < nc; d++)
            if (d != c && topo->cpus[d].core == topo->cpus[c].core &&
                cpu->nsib < (int)(sizeof cpu->sib / sizeof cpu->sib[0]))
                cpu->sib[cpu->nsib++] = d;
    }
    vn_host_load_init(&s->load, topo);
    if (p->reserve_mib > 0 && vn_host_load_reserve(&s->load, topo, p->reserve_mib, NULL, err) < 0) {
        vn_sim_free(s);
        return NULL;
    }
    vn_softaff_params_default(&s->saff_params);
    s->saff_params.high = p->dyn_high;
    s->saff_params.low = p->dyn_low;
    vn_sim_push(s, p->epoch_ns, VN_SIM_EV_EPOCH, 0, 0);
    if (setup->sched == VN_SIM_SCHED_ALL || setup->sched == VN_SIM_SCHED_DYNAMIC ||
        setup->sched == VN_SIM_SCHED_BALANCE)
        vn_sim_push(s, p->balance_ns, VN_SIM_EV_LOAD_BALANCE, 0, 0);
    if (setup->sched == VN_SIM_SCHED_BALANCE) {
        vn_bal_params_default(&s->bal_params);
        s->bal_params.softaff.high = p->dyn_high;
        s->bal_params.softaff.low = p->dyn_low;
        vn_bal_state_init(&s->bal_state);
        vn_sim_push(s, p->bal_ns, VN_SIM_EV_BAL_POLICY, 0, 0);
    }
    if (setup->sched == VN_SIM_SCHED_DYNAMIC)
        vn_sim_push(s, p->policy_ns, VN_SIM_EV_POLICY, 0, 0);
    return s;
}

void vn_sim_free(struct vn_sim *s)
{
    if (!s)
        return;
    for (int m = 0; m < s->nvms; m++)
        vn_sim_vm_free(&s->vms[m]);
    free(s->vms);
    free(s->pend);
    free(s->vcpus);
    free(s->heap);
    free(s->mig);
    free(s->cpus);
    free(s->node_cpus);
    free(s->node_cpus_os);
    free(s->node_ncpus);
    free(s->order);
    free(s->lat);
    free(s->q);
    free(s->util);
    free(s->bytes_iv);
    free(s->mig_bw);
    free(s->node_dem);
    free(s->nqueued);
    free(s->used_pages);
    free(s->cap_pages);
    free(s->sa);
    free(s->sb);
    free(s->sc);
    free(s->soff);
    free(s->sidx);
    free(s);
}

void vn_sim_freep(struct vn_sim **s)
{
    vn_sim_free(*s);
}

void vn_sim_set_sampling(struct vn_sim *s, int64_t interval_ns, vn_sim_sample_fn fn, void *arg)
{
    s->sample_ns = interval_ns;
    s->sample_fn = fn;
    s->sample_arg = arg;
    s->sample_start = s->now;
    if (interval_ns > 0)
        vn_sim_push(s, s->now + interval_ns, VN_SIM_EV_SAMPLE, 0, 0);
}

/* ---- the loop ---- */

void vn_sim_run_until(struct vn_sim *s, int64_t until_ns)
{
    while (s->nheap > 0 && s->heap[0].t <= until_ns) {
        struct vn_sim_ev e = pop(s);
        s->now = e.t;
        s->events++;
        switch (e.kind) {
        case VN_SIM_EV_SLICE:
            if (s->cpus[e.idx].gen == e.gen)
                vn_sim_slice_end(s, e.idx);
            break;
        case VN_SIM_EV_BLOCK:
            if (s->vcpus[e.idx].gen == e.gen)
                vn_sim_block(s, e.idx);
            break;
        case VN_SIM_EV_WAKE:
            if (s->vcpus[e.idx].gen == e.gen)
                vn_sim_wake(s, e.idx);
            break;
        case VN_SIM_EV_EPOCH:
            epoch(s);
            vn_sim_push(s, s->now + s->p.epoch_ns, VN_SIM_EV_EPOCH, 0, 0);
            break;
        case VN_SIM_EV_LOAD_BALANCE:
            vn_sim_load_balance(s);
            vn_sim_push(s, s->now + s->p.balance_ns, VN_SIM_EV_LOAD_BALANCE, 0, 0);
            break;
        case VN_SIM_EV_POLICY:
            vn_sim_policy(s);
            vn_sim_push(s, s->now + s->p.policy_ns, VN_SIM_EV_POLICY, 0, 0);
            break;
        case VN_SIM_EV_PHASE:
            vn_sim_phase(s, e.idx);
            break;
        case VN_SIM_EV_ARRIVE:
            vn_sim_arrive(s, e.idx);
            break;
        case VN_SIM_EV_LEAVE:
            if (!s->vms[e.idx].gone)
                vn_sim_remove_vm(s, e.idx, NULL);
            break;
        case VN_SIM_EV_BAL_POLICY:
            vn_sim_bal_policy_tick(s);
            vn_sim_push(s, s->now + s->p.bal_ns, VN_SIM_EV_BAL_POLICY, 0, 0);
            break;
        case VN_SIM_EV_SAMPLE:
            sample(s);
            if (s->sample_ns > 0)
                vn_sim_push(s, s->now + s->sample_ns, VN_SIM_EV_SAMPLE, 0, 0);
            break;
        }
    }
    if (until_ns > s->now)
        s->now = until_ns;
    accrue_all(s);
}

void vn_sim_reset_stats(struct vn_sim *s)
{
    accrue_all(s);
    for (int i = 0; i < s->nvcpus; i++) {
        struct vn_sim_vcpu *v = &s->vcpus[i];
        v->units = v->acc = v->local_acc = v->run_ns = v->wait_ns = 0;
        if (v->state == VN_SIM_QUEUED) {
            /* wait is charged at dequeue from `since`: restart it here */
            v->since = s->now;
        }
    }
    s->stats_start = s->now;
}

int64_t vn_sim_now(const struct vn_sim *s)
{
    return s->now;
}

uint64_t vn_sim_events(const struct vn_sim *s)
{
    return s->events;
}

int vn_sim_nvms(const struct vn_sim *s)
{
    return s->nvms;
}

void vn_sim_vm_stats(const struct vn_sim *s, int vm, struct vn_sim_vm_stats *out)
{
    const struct vn_sim_vm *m = &s->vms[vm];
    double units = 0, acc = 0, local = 0, run = 0, want = 0;
    for (int i = 0; i < m->nvcpus; i++) {
        const struct vn_sim_vcpu *v = &s->vcpus[m->first + i];
        units += v->units;
        acc += v->acc;
        local += v->local_acc;
        run += v->run_ns;
        want += v->run_ns + v->wait_ns;
        if (v->state == VN_SIM_QUEUED)
            want += (double)(s->now - v->since);
    }
    int64_t from = m->t_on > s->stats_start ? m->t_on : s->stats_start;
    int64_t to = m->t_off < s->now ? m->t_off : s->now;
    double t = to > from ? (double)(to - from) : 0;
    memset(out, 0, sizeof *out);
    out->present_s = t / 1e9;
    snprintf(out->name, sizeof out->name, "%s", m->name);
    out->order = m->order;
    out->workload = m->wl.name;
    out->vcpus = m->nvcpus;
    out->mem_mib = m->mem_mib;
    out->tput = t > 0 ? units / t * 1e9 * m->wl.scale : 0;
    out->locality = acc > 0 ? local / acc : 0;
    out->run_share = want > 0 ? run / want : 0;
    out->guest_numa = m->guest_numa;
    for (int n = 0; n < s->nn; n++) {
        uint64_t pg = 0;
        for (int k = 0; k < m->nvnodes; k++)
            pg += m->pages[(size_t)k * s->nn + n];
        out->nnodes_mem += pg > 0;
    }
}

double vn_sim_locality(const struct vn_sim *s)
{
    double acc = 0, local = 0;
    for (int i = 0; i < s->nvcpus; i++) {
        acc += s->vcpus[i].acc;
        local += s->vcpus[i].local_acc;
    }
    return acc > 0 ? local / acc : 0;
}

uint64_t vn_sim_vm_pages(const struct vn_sim *s, int vm, int vnode, int n)
{
    if (vm < 0 || vm >= s->nvms || vnode < 0 || vnode >= s->vms[vm].nvnodes || n < 0 || n >= s->nn)
        return 0;
    return s->vms[vm].pages[(size_t)vnode * s->nn + n];
}

void vn_sim_bal_stats(const struct vn_sim *s, struct vn_sim_bal_stats *out)
{
    *out = s->bal_stats;
}

int vn_sim_vnode_home(const struct vn_sim *s, int vm, int vnode)
{
    if (vm < 0 || vm >= s->nvms || vnode < 0 || vnode >= s->vms[vm].nvnodes)
        return -1;
    return s->vms[vm].home[vnode];
}

bool vn_sim_vm_present(const struct vn_sim *s, int vm)
{
    return vm >= 0 && vm < s->nvms && !s->vms[vm].gone;
}

int vn_sim_vcpu_cpu(const struct vn_sim *s, int vm, int v)
{
    if (vm < 0 || vm >= s->nvms || v < 0 || v >= s->vms[vm].nvcpus)
        return -1;
    const struct vn_sim_vcpu *x = &s->vcpus[s->vms[vm].first + v];
    return x->state == VN_SIM_RUNNING ? x->cpu : -1;
}

int vn_sim_migrate(struct vn_sim *s, int vm, int vnode, int from, int to, uint64_t mib,
                   struct vn_error *err)
{
    if (vm < 0 || vm >= s->nvms)
        return vn_error_set(err, "There is no simulated VM %d.", vm);
    if (vnode < 0 || vnode >= s->vms[vm].nvnodes)
        return vn_error_set(err, "VM '%s' has no vnode %d.", s->vms[vm].name, vnode);
    if (s->vms[vm].gone)
        return vn_error_set(err, "VM '%s' has left the host.", s->vms[vm].name);
    if (from < 0 || from >= s->nn || to < 0 || to >= s->nn || from == to)
        return vn_error_set(err, "A migration needs two different node indexes below %d.", s->nn);
    if (s->nmig == s->cap_mig) {
        s->cap_mig = s->cap_mig ? 2 * s->cap_mig : 8;
        s->mig = realloc(s->mig, sizeof *s->mig * s->cap_mig);
        if (!s->mig)
            abort();
    }
    s->mig[s->nmig++] = (struct vn_sim_mig){vm, vnode, from, to, mib * VN_SIM_PAGES_PER_MIB};
    return 0;
}

int vn_sim_check(const struct vn_sim *s, struct vn_error *err)
{
    int *seen = xcalloc(s->nvcpus, sizeof *seen);
    int rc = 0;
    for (int c = 0; c < s->nc && rc == 0; c++) {
        const struct vn_sim_cpu *cpu = &s->cpus[c];
        if (cpu->cur >= 0) {
            const struct vn_sim_vcpu *v = &s->vcpus[cpu->cur];
            if (seen[cpu->cur]++ || v->state != VN_SIM_RUNNING || v->cpu != c)
                rc = vn_error_set(err, "vCPU %d is on CPU %d but not running there only.", cpu->cur,
                                  c);
        } else if (cpu->nq > 0) {
            rc = vn_error_set(err, "CPU %d is idle with %d vCPUs queued.", c, cpu->nq);
        }
        if (vn_bitmap_test(&s->idle, c) != (cpu->cur < 0))
            rc = vn_error_set(err, "CPU %d's idle bit disagrees with its state.", c);
        int n = 0;
        for (int i = cpu->head; i >= 0 && rc == 0; i = s->vcpus[i].next, n++) {
            const struct vn_sim_vcpu *v = &s->vcpus[i];
            if (seen[i]++ || v->state != VN_SIM_QUEUED || v->cpu != c)
                rc = vn_error_set(err, "vCPU %d is queued on CPU %d but is %s.", i, c,
                                  seen[i] > 1 ? "somewhere else too" : "not queued there");
        }
        if (rc == 0 && n != cpu->nq)
            rc = vn_error_set(err, "CPU %d counts %d queued vCPUs but holds %d.", c, cpu->nq, n);
    }
    for (int i = 0; i < s->nvcpus && rc == 0; i++) {
        const struct vn_sim_vcpu *v = &s->vcpus[i];
        if (v->state == VN_SIM_BLOCKED && seen[i])
            rc = vn_error_set(err, "Blocked vCPU %d is on a CPU.", i);
        if (v->state != VN_SIM_BLOCKED && !seen[i])
            rc = vn_error_set(err, "vCPU %d is runnable but on no CPU.", i);
    }
    free(seen);
    uint64_t *used = xcalloc(s->nn, sizeof *used);
    for (int m = 0; m < s->nvms && rc == 0; m++) {
        const struct vn_sim_vm *vm = &s->vms[m];
        uint64_t total = 0;
        for (size_t k = 0; k < (size_t)vm->nvnodes * s->nn; k++) {
            total += vm->pages[k];
            used[k % s->nn] += vm->pages[k];
        }
        if (total != (vm->gone ? 0 : vm->mem_mib * VN_SIM_PAGES_PER_MIB))
            rc = vn_error_set(
                err, "VM '%s' has %llu pages, not the %llu of its %llu MiB.", vm->name,
                (unsigned long long)total,
                (unsigned long long)(vm->gone ? 0 : vm->mem_mib * VN_SIM_PAGES_PER_MIB),
                (unsigned long long)vm->mem_mib);
    }
    for (int n = 0; n < s->nn && rc == 0; n++) {
        if (used[n] != s->used_pages[n])
            rc = vn_error_set(err, "Node %d accounts %llu pages but its VMs hold %llu.", n,
                              (unsigned long long)s->used_pages[n], (unsigned long long)used[n]);
        else if (used[n] > s->cap_pages[n])
            rc = vn_error_set(err, "Node %d holds %llu pages, more than its %llu.", n,
                              (unsigned long long)used[n], (unsigned long long)s->cap_pages[n]);
    }
    free(used);
    return rc;
}
