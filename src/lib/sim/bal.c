/* The balance scheduler: every bal_ns the simulator observes its VMs the way vnumad observes
 * real ones, runs the real balancing policy (vn_bal_run, src/lib/balance/policy.h) and enacts
 * its actions.
 *
 * Observations come from the simulator's own state: residency per vnode and node from the
 * page counts (exact, or with a stated uniform error), each vCPU's CPU time in the interval
 * and the node it last ran on, each node's free memory (capacity minus pages held) and its
 * pressure (running plus queued vCPU time over the interval per CPU, the same demand the
 * dynamic policy sees), and the claims of the VMs present.  Actions: MIGRATE_VNODE becomes
 * vn_sim_migrate() of the vnode's pages from the nodes named (at migrate_gbs, loading both
 * controllers), with the record's home and claim moved when it rehomes; SET_SOFT_AFFINITY
 * moves the vnode's hard affinity (as vnuma does on Linux) and moves vCPUs that are now
 * outside it; REPLACE_VM records the new homes and claim, the memory following through the
 * policy's completion rule in the next intervals. */
#include <stdlib.h>
#include <string.h>

#include "sched.h"

_Static_assert(VN_SIM_NSKIP == VN_BAL_NSKIP, "the skip counters follow enum vn_bal_skip");

static void *xalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

/* Moves a vnode's share (mib, vcpus) of a claim from Linux node from_os to to_os. */
static void claim_move(struct vn_claim *c, int from_os, int to_os, uint64_t mib, int vcpus)
{
    struct vn_claim_share from = {from_os, mib, vcpus}, to = {to_os, mib, vcpus};
    vn_claim_move(c, &from, 1, &to, 1); /* a full claim keeps counting the old node */
}

static uint64_t vnode_mib(const struct vn_sim *s, const struct vn_sim_vm *vm, int k)
{
    uint64_t pg = 0;
    for (int n = 0; n < s->nn; n++)
        pg += vm->pages[(size_t)k * s->nn + n];
    return pg / VN_SIM_PAGES_PER_MIB;
}

static int vnode_vcpus(const struct vn_sim *s, const struct vn_sim_vm *vm, int k)
{
    int c = 0;
    for (int i = 0; i < vm->nvcpus; i++)
        c += s->vcpus[vm->first + i].vnode == k;
    return c;
}

static void enact(struct vn_sim *s, const int *dom_vm, const struct vn_bal_action *a, bool *dirty)
{
    struct vn_sim_bal_stats *st = &s->bal_stats;
    if (a->kind == VN_BAL_SKIPPED) {
        st->skipped_total++;
        if ((int)a->skip >= 0 && a->skip < VN_BAL_NSKIP)
            st->skipped[a->skip]++;
        return;
    }
    int m = dom_vm[a->domain];
    struct vn_sim_vm *vm = &s->vms[m];
    int k = a->vnode;
    switch (a->kind) {
    case VN_BAL_MIGRATE_VNODE: {
        if (k < 0 || k >= vm->nvnodes || a->to_idx < 0 || a->to_idx >= s->nn)
            return;
        st->migrate++;
        st->ordered_mib += a->mib;
        uint64_t left = a->mib;
        VN_BITMAP_FOREACH(f, &a->from_idx)
        {
            if (left == 0 || f >= s->nn || f == a->to_idx)
                continue;
            uint64_t have = vm->pages[(size_t)k * s->nn + f] / VN_SIM_PAGES_PER_MIB;
            uint64_t mib = have < left ? have : left;
            if (mib > 0 && vn_sim_migrate(s, m, k, f, a->to_idx, mib, NULL) == 0)
                left -= mib;
        }
        if (a->rehome && vm->home[k] >= 0 && vm->home[k] != a->to_idx) {
            claim_move(&vm->claim, s->topo->nodes[vm->home[k]].os_index,
                       s->topo->nodes[a->to_idx].os_index, vnode_mib(s, vm, k),
                       vnode_vcpus(s, vm, k));
            vm->home[k] = a->to_idx;
            *dirty = true;
        }
        break;
    }
    case VN_BAL_SET_SOFT_AFFINITY: {
        if (k < 0 || k >= vm->nvnodes)
            return;
        st->affinity++;
        struct vn_bitmap cpus;
        vn_bitmap_zero(&cpus);
        VN_BITMAP_FOREACH(n, &a->nodes_idx)
        if (n < s->nn)
            vn_bitmap_or(&cpus, &s->node_cpus[n]);
        if (vn_bitmap_empty(&cpus))
            return;
        vm->hard[k] = cpus;
        vm->soft[k] = cpus;
        vn_sim_enforce_vnode(s, m, k);
        break;
    }
    case VN_BAL_REPLACE_VM:
        st->replace++;
        for (int v = 0; v < vm->nvnodes; v++)
            if (a->vnode_to_idx[v] >= 0 && a->vnode_to_idx[v] < s->nn)
                vm->home[v] = a->vnode_to_idx[v];
        vm->claim = a->claim_os;
        *dirty = true;
        break;
    default:
        break;
    }
}

void vn_sim_bal_policy_tick(struct vn_sim *s)
{
    vn_sim_settle_demand(s);
    int nn = s->nn;
    int64_t iv = s->now - s->bal_last;
    s->bal_last = s->now;
    if (iv <= 0)
        return;
    int ndoms = 0, nvcpus = 0, nres = 0;
    for (int m = 0; m < s->nvms; m++)
        if (!s->vms[m].gone) {
            ndoms++;
            nvcpus += s->vms[m].nvcpus;
            nres += s->vms[m].nvnodes;
        }
    uint64_t *free_mib = xalloc(nn, sizeof *free_mib);
    double *pressure = xalloc(nn, sizeof *pressure);
    for (int n = 0; n < nn; n++) {
        free_mib[n] = (s->cap_pages[n] - s->used_pages[n]) / VN_SIM_PAGES_PER_MIB;
        pressure[n] = s->node_ncpus[n] > 0 ? s->node_dem[n] / ((double)iv * s->node_ncpus[n]) : 0;
    }
    struct vn_bal_dom_obs *doms = xalloc(ndoms, sizeof *doms);
    struct vn_bal_dom_state *dst = xalloc(ndoms, sizeof *dst);
    struct vn_vm_spec *specs = xalloc(ndoms, sizeof *specs);
    struct vn_bal_vcpu_obs *vobs = xalloc(nvcpus, sizeof *vobs);
    uint64_t *res = xalloc((size_t)nres * nn, sizeof *res);
    int *dom_vm = xalloc(ndoms, sizeof *dom_vm);
    int d = 0, vo = 0, ro = 0;
    for (int m = 0; m < s->nvms; m++) {
        struct vn_sim_vm *vm = &s->vms[m];
        if (vm->gone)
            continue;
        struct vn_bal_dom_obs *o = &doms[d];
        dom_vm[d] = m;
        dst[d] = *vm->bal;
        o->name = vm->name;
        o->nvnodes = vm->nvnodes;
        for (int k = 0; k < vm->nvnodes; k++) {
            uint64_t *r = res + (size_t)ro++ * nn;
            uint64_t tot = 0;
            for (int n = 0; n < nn; n++) {
                uint64_t pg = vm->pages[(size_t)k * nn + n];
                double mib = (double)pg / VN_SIM_PAGES_PER_MIB;
                if (s->p.bal_noise > 0 && pg > 0)
                    mib *= 1 + s->p.bal_noise * (2 * vn_sim_rng_unit(&s->rng) - 1);
                r[n] = (uint64_t)(mib + 0.5);
                tot += pg / VN_SIM_PAGES_PER_MIB;
            }
            o->vnodes[k].home = vm->home[k];
            o->vnodes[k].resident_mib = r;
            o->vnodes[k].error_mib = (uint64_t)(s->p.bal_noise * (double)tot + 0.5);
        }
        o->nvcpus = vm->nvcpus;
        o->vcpus = vobs + vo;
        for (int i = 0; i < vm->nvcpus; i++) {
            struct vn_sim_vcpu *v = &s->vcpus[vm->first + i];
            vobs[vo + i] = (struct vn_bal_vcpu_obs){
                v->vnode, v->last_cpu >= 0 ? s->cpus[v->last_cpu].node : -1, (uint64_t)v->bal_ns};
        }
        vo += vm->nvcpus;
        if (vm->claim.n > 0) {
            vn_sim_vm_spec(vm, &specs[d]);
            o->spec = &specs[d];
            o->claim = &vm->claim;
        }
        d++;
    }
    struct vn_bal_host_obs host = {s->now, iv, s->topo, free_mib, pressure, &s->load};
    int max_out = 4 * ndoms + 16, nout = 0;
    struct vn_bal_action *out = xalloc(max_out, sizeof *out);
    struct vn_error err;
    s->bal_stats.intervals++;
    if (vn_bal_run(&s->bal_params, &s->bal_state, &host, ndoms, doms, dst, out, max_out, &nout,
                   &err) == 0) {
        for (d = 0; d < ndoms; d++)
            *s->vms[dom_vm[d]].bal = dst[d];
        bool dirty = false;
        for (int i = 0; i < nout; i++)
            enact(s, dom_vm, &out[i], &dirty);
        if (dirty)
            vn_sim_rebuild_load(s);
    }
    free(out);
    free(dom_vm);
    free(res);
    free(vobs);
    free(specs);
    free(dst);
    free(doms);
    free(pressure);
    free(free_mib);
    for (int i = 0; i < s->nvcpus; i++)
        s->vcpus[i].bal_ns = 0;
    for (int m = 0; m < s->nvms; m++)
        if (s->vms[m].dem)
            memset(s->vms[m].dem, 0, sizeof *s->vms[m].dem * (size_t)s->vms[m].nvnodes * nn);
    for (int n = 0; n < nn; n++)
        s->node_dem[n] = 0;
}
