/* Simulated VMs: placement through the real place/ code (or striping for "none"), their
 * pages per vnode and node, and where each vCPU's accesses go. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

static void *grow(void *p, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return p;
    int n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    p = realloc(p, size * n);
    if (!p)
        abort();
    memset((char *)p + size * *cap, 0, size * (n - *cap));
    *cap = n;
    return p;
}

/* Pages of vnode k on node n as accesses see them: the hot-set draw weighs them. */
static double eff_pages(const struct vn_sim *s, const struct vn_sim_vm *vm, int k, int n)
{
    size_t i = (size_t)k * s->nn + n;
    return (double)vm->pages[i] * (vm->hot ? vm->hot[i] : 1.0);
}

void vn_sim_vm_weights(struct vn_sim *s, int m)
{
    struct vn_sim_vm *vm = &s->vms[m];
    int nn = s->nn;
    double total = 0;
    for (int k = 0; k < vm->nvnodes; k++)
        for (int n = 0; n < nn; n++)
            total += eff_pages(s, vm, k, n);
    for (int k = 0; k < vm->nvnodes; k++) {
        double *w = vm->w + (size_t)k * nn;
        int *wn = vm->wnodes + (size_t)k * nn;
        for (int n = 0; n < nn; n++)
            w[n] = 0;
        if (vm->guest_numa && vm->nvnodes > 1) {
            /* A vNUMA-aware guest keeps vnode_local of a vCPU's accesses on its own vnode;
             * the rest goes to the other vnodes by size. */
            double own_total = 0;
            for (int n = 0; n < nn; n++)
                own_total += eff_pages(s, vm, k, n);
            double rest = total - own_total;
            double lw = rest > 0 ? vm->wl.vnode_local : 1.0;
            for (int j = 0; j < vm->nvnodes; j++) {
                for (int n = 0; n < nn; n++) {
                    double pg = eff_pages(s, vm, j, n);
                    if (j == k)
                        w[n] += own_total > 0 ? lw * pg / own_total : 0;
                    else
                        w[n] += rest > 0 ? (1 - lw) * pg / rest : 0;
                }
            }
        } else {
            /* A flat guest spreads its accesses over all its memory. */
            for (int j = 0; j < vm->nvnodes; j++)
                for (int n = 0; n < nn; n++)
                    w[n] += total > 0 ? eff_pages(s, vm, j, n) / total : 0;
        }
        int cnt = 0;
        for (int n = 0; n < nn; n++)
            if (w[n] > 0)
                wn[cnt++] = n;
        vm->wcount[k] = cnt;
    }
}

/* Spreads pages evenly over the nodes with room (page interleaving); -1 when they lack it. */
static int stripe(struct vn_sim *s, uint64_t *pages, uint64_t want)
{
    int nn = s->nn;
    uint64_t left = want;
    while (left > 0) {
        int open = 0;
        for (int n = 0; n < nn; n++)
            open += s->used_pages[n] + pages[n] < s->cap_pages[n];
        if (open == 0)
            return -1;
        uint64_t share = left / open ? left / open : 1;
        for (int n = 0; n < nn && left > 0; n++) {
            uint64_t room = s->cap_pages[n] - s->used_pages[n] - pages[n];
            if (s->used_pages[n] + pages[n] >= s->cap_pages[n])
                continue;
            uint64_t k = share < room ? share : room;
            if (k > left)
                k = left;
            pages[n] += k;
            left -= k;
        }
    }
    return 0;
}

static void os_to_index(const struct vn_sim *s, const struct vn_bitmap *os, struct vn_bitmap *out)
{
    vn_bitmap_zero(out);
    VN_BITMAP_FOREACH(c, os)
    {
        int i = vn_topo_cpu_index(s->topo, c);
        if (i >= 0)
            vn_bitmap_set(out, i);
    }
}

static uint64_t claim_mib(const struct vn_placement *pl, int os)
{
    for (int i = 0; i < pl->claim.n; i++)
        if (pl->claim.v[i].node == os)
            return pl->claim.v[i].mem_mib;
    return 0;
}

void vn_sim_vm_spec(struct vn_sim_vm *vm, struct vn_vm_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->name = vm->name;
    spec->vcpus = spec->maxvcpus = vm->nvcpus;
    spec->memory_mib = spec->maxmem_mib = vm->mem_mib;
    spec->mempolicy = VN_MEMPOLICY_BIND;
    spec->balance = true; /* the opt-out flag (balance = 0): this VM may be moved */
}

void vn_sim_rebuild_load(struct vn_sim *s)
{
    vn_host_load_init(&s->load, s->topo);
    if (s->p.reserve_mib > 0)
        vn_host_load_reserve(&s->load, s->topo, s->p.reserve_mib, NULL, NULL);
    for (int m = 0; m < s->nvms; m++)
        if (!s->vms[m].gone && s->vms[m].claim.n > 0)
            vn_host_load_add_claim(&s->load, s->topo, &s->vms[m].claim, NULL, NULL, NULL);
}

static int place_vm(struct vn_sim *s, struct vn_sim_vm *vm, int *vcpu_vnode, struct vn_error *err)
{
    int nn = s->nn;
    struct vn_vm_spec spec;
    vn_sim_vm_spec(vm, &spec);
    struct vn_place_request req;
    if (vn_place_request_init(&req, &spec, s->topo, err) < 0)
        return -1;
    enum vn_place_algo algo = s->setup.place == VN_SIM_PLACE_XEN ? VN_PLACE_XEN : VN_PLACE_VNUMA;
    if (vn_place(algo, s->topo, &s->load, &req, &s->pl, NULL, err) < 0)
        return vn_error_prefix(err, "VM '%s' cannot be placed", vm->name);
    if (vn_host_load_add_claim(&s->load, s->topo, &s->pl.claim, NULL, NULL, err) < 0)
        return -1;
    vm->claim = s->pl.claim;
    const struct vn_placement *pl = &s->pl;
    vm->nvnodes = pl->nvnodes;
    vm->guest_numa = pl->guest_numa && s->setup.guest_numa;
    vm->pages = calloc((size_t)pl->nvnodes * nn, sizeof *vm->pages);
    vm->soft = calloc(pl->nvnodes, sizeof *vm->soft);
    vm->hard = calloc(pl->nvnodes, sizeof *vm->hard);
    vm->home = calloc(pl->nvnodes, sizeof *vm->home);
    if (!vm->pages || !vm->soft || !vm->hard || !vm->home)
        abort();
    uint64_t total = 0;
    for (int k = 0; k < pl->nvnodes; k++) {
        const struct vn_place_vnode *vn = &pl->vnodes[k];
        uint64_t pages = vn->mem_mib * VN_SIM_PAGES_PER_MIB;
        /* A vnode over several nodes (xen) has its memory where the claim says, in
         * proportion; the last node takes the rounding. */
        uint64_t claimed = 0, given = 0;
        VN_BITMAP_FOREACH(os, &vn->pnodes)
        claimed += claim_mib(pl, os);
        vm->home[k] = -1;
        int last = vn_bitmap_last(&vn->pnodes);
        VN_BITMAP_FOREACH(os, &vn->pnodes)
        {
            int n = vn_topo_node_index(s->topo, os);
            if (n < 0)
                return vn_error_set(err,
                                    "The placement of VM '%s' names node %d, which the host "
                                    "does not have.",
                                    vm->name, os);
            if (vm->home[k] < 0)
                vm->home[k] = n;
            uint64_t share =
                claimed ? (uint64_t)((double)pages * (double)claim_mib(pl, os) / (double)claimed)
                        : pages / (uint64_t)vn_bitmap_count(&vn->pnodes);
            if (os == last || share > pages - given)
                share = pages - given;
            vm->pages[(size_t)k * nn + n] += share;
            given += share;
        }
        total += vn->mem_mib;
        if (vn->soft >= 0)
            os_to_index(s, &pl->sets[vn->soft], &vm->soft[k]);
        else
            vm->soft[k] = s->all;
        if (vn->hard >= 0)
            os_to_index(s, &pl->sets[vn->hard], &vm->hard[k]);
        else
            vm->hard[k] = s->all;
        if (vn_bitmap_empty(&vm->soft[k]))
            vm->soft[k] = s->all;
        if (vn_bitmap_empty(&vm->hard[k]))
            vm->hard[k] = s->all;
    }
    for (int v = 0; v < vm->nvcpus; v++)
        vcpu_vnode[v] =
            pl->vcpu_vnode[v] >= 0 && pl->vcpu_vnode[v] < pl->nvnodes ? pl->vcpu_vnode[v] : 0;
    vm->mem_mib = total;
    return 0;
}

static int stripe_vm(struct vn_sim *s, struct vn_sim_vm *vm, int *vcpu_vnode, struct vn_error *err)
{
    int nn = s->nn;
    vm->nvnodes = 1;
    vm->guest_numa = false;
    vm->pages = calloc(nn, sizeof *vm->pages);
    vm->soft = calloc(1, sizeof *vm->soft);
    vm->hard = calloc(1, sizeof *vm->hard);
    vm->home = calloc(1, sizeof *vm->home);
    if (!vm->pages || !vm->soft || !vm->hard || !vm->home)
        abort();
    vm->soft[0] = vm->hard[0] = s->all;
    vm->home[0] = -1;
    if (stripe(s, vm->pages, vm->mem_mib * VN_SIM_PAGES_PER_MIB) < 0)
        return vn_error_set(err, "VM '%s' needs %llu MiB, more than the host has left.", vm->name,
                            (unsigned long long)vm->mem_mib);
    for (int v = 0; v < vm->nvcpus; v++)
        vcpu_vnode[v] = 0;
    return 0;
}

/* The hot set: the workload takes its misses in hot_mib of its memory, which lies in
 * chunk_mib chunks (the allocation grain: 2 MiB superpages) that are hot at random.  Each
 * vnode gets its share of the hot chunks, each on a node drawn in proportion to the vnode's
 * pages there; a node's pages are then weighted by (hot share / page share).  A vnode on one
 * node is unaffected; a striped one sees its accesses split unevenly, as a real heap does. */
static void draw_hot(struct vn_sim *s, struct vn_sim_vm *vm)
{
    int nn = s->nn;
    double chunks_total = vm->wl.hot_mib / s->p.chunk_mib;
    if (!(vm->wl.hot_mib > 0) || vm->wl.hot_mib >= (double)vm->mem_mib)
        return;
    vm->hot = calloc((size_t)vm->nvnodes * nn, sizeof *vm->hot);
    if (!vm->hot)
        abort();
    for (int k = 0; k < vm->nvnodes; k++) {
        double *h = vm->hot + (size_t)k * nn;
        const uint64_t *pg = vm->pages + (size_t)k * nn;
        uint64_t tot = 0;
        int used = 0;
        for (int n = 0; n < nn; n++) {
            h[n] = 1;
            tot += pg[n];
            used += pg[n] > 0;
        }
        if (used < 2)
            continue;
        long chunks = lround(chunks_total * (double)tot / ((double)vm->mem_mib * 256.0));
        if (chunks < 1)
            chunks = 1;
        double *cnt = calloc(nn, sizeof *cnt);
        if (!cnt)
            abort();
        for (long c = 0; c < chunks; c++) {
            double x = vn_sim_rng_unit(&s->rng) * (double)tot, acc = 0;
            int n = 0;
            for (; n < nn - 1; n++) {
                acc += (double)pg[n];
                if (x < acc)
                    break;
            }
            while (pg[n] == 0 && n > 0)
                n--;
            cnt[n] += 1;
        }
        for (int n = 0; n < nn; n++)
            if (pg[n] > 0)
                h[n] = (cnt[n] / (double)chunks) / ((double)pg[n] / (double)tot);
        free(cnt);
    }
}

void vn_sim_vm_free(struct vn_sim_vm *vm)
{
    free(vm->pages);
    free(vm->w);
    free(vm->wnodes);
    free(vm->wcount);
    free(vm->soft);
    free(vm->hard);
    free(vm->home);
    free(vm->saff);
    free(vm->dem);
    free(vm->hot);
    free(vm->bal);
    memset(vm, 0, sizeof *vm);
}

/* vn_sim_add_vm() for the VM that was order-th given to the simulator. */
static int add_vm(struct vn_sim *s, int order, const char *name, int vcpus, uint64_t mem_mib,
                  const struct vn_sim_workload *w, struct vn_error *err)
{
    if (vcpus < 1 || vcpus > VN_MAX_VCPUS)
        return vn_error_set(err, "VM '%s' has %d vCPUs; it needs 1 to %d.", name, vcpus,
                            VN_MAX_VCPUS);
    if (mem_mib < 1)
        return vn_error_set(err, "VM '%s' has no memory.", name);
    if (!(w->cpu_ns >= 0) || !(w->misses >= 0) || !(w->mlp > 0) || !(w->duty > 0) || w->duty > 1 ||
        (w->duty < 1 && !(w->burst_ns > 0)) || !(w->vnode_local >= 0) || w->vnode_local > 1 ||
        w->cpu_ns + w->misses <= 0 || !(w->phase_ns >= 0) || !(w->cpu_cv >= 0) || w->cpu_cv > 10 ||
        !(w->miss_cv >= 0) || w->miss_cv > 10 || !(w->hot_mib >= 0) ||
        (w->phase_ns > 0 && w->phase_ns < 1000))
        return vn_error_set(err,
                            "Workload '%s' of VM '%s' is out of range: cpu_ns and misses "
                            "must not be negative, mlp must be positive, duty in (0, 1], "
                            "burst positive, vnode_local in [0, 1], phase 0 or at least 1us, "
                            "cpu_cv and miss_cv in [0, 10], hot_set not negative.",
                            w->name, name);
    s->vms = grow(s->vms, &s->cap_vms, s->nvms + 1, sizeof *s->vms);
    struct vn_sim_vm *vm = &s->vms[s->nvms];
    memset(vm, 0, sizeof *vm);
    snprintf(vm->name, sizeof vm->name, "%s", name);
    vm->order = order;
    vm->wl = *w;
    vm->nvcpus = vcpus;
    vm->mem_mib = mem_mib;
    int *vcpu_vnode = calloc(vcpus, sizeof *vcpu_vnode);
    if (!vcpu_vnode)
        abort();
    int rc = s->setup.place == VN_SIM_PLACE_NONE ? stripe_vm(s, vm, vcpu_vnode, err)
                                                 : place_vm(s, vm, vcpu_vnode, err);
    if (rc < 0) {
        free(vcpu_vnode);
        vn_sim_vm_free(vm);
        return -1;
    }
    int nn = s->nn;
    for (int n = 0; n < nn; n++) {
        uint64_t pg = 0;
        for (int k = 0; k < vm->nvnodes; k++)
            pg += vm->pages[(size_t)k * nn + n];
        if (s->used_pages[n] + pg > s->cap_pages[n]) {
            free(vcpu_vnode);
            vn_error_set(
                err,
                "VM '%s' was given %llu MiB on node %d, which has only %llu MiB "
                "left for VMs.",
                name, (unsigned long long)(pg / VN_SIM_PAGES_PER_MIB), s->topo->nodes[n].os_index,
                (unsigned long long)((s->cap_pages[n] - s->used_pages[n]) / VN_SIM_PAGES_PER_MIB));
            vn_sim_vm_free(vm);
            return -1;
        }
    }
    for (int n = 0; n < nn; n++)
        for (int k = 0; k < vm->nvnodes; k++)
            s->used_pages[n] += vm->pages[(size_t)k * nn + n];
    vm->w = calloc((size_t)vm->nvnodes * nn, sizeof *vm->w);
    vm->wnodes = calloc((size_t)vm->nvnodes * nn, sizeof *vm->wnodes);
    vm->wcount = calloc(vm->nvnodes, sizeof *vm->wcount);
    if (!vm->w || !vm->wnodes || !vm->wcount)
        abort();
    vm->t_on = s->now;
    vm->t_off = INT64_MAX;
    if (s->setup.sched == VN_SIM_SCHED_BALANCE) {
        /* vnumad: the policy moves the hard affinity, starting on the home node. */
        vm->dem = calloc((size_t)vm->nvnodes * nn, sizeof *vm->dem);
        vm->bal = calloc(1, sizeof *vm->bal);
        if (!vm->dem || !vm->bal)
            abort();
        vn_bal_dom_state_init(vm->bal);
        for (int k = 0; k < vm->nvnodes; k++)
            vm->hard[k] = vm->home[k] >= 0 ? s->node_cpus[vm->home[k]] : s->all;
    }
    if (s->setup.sched == VN_SIM_SCHED_DYNAMIC) {
        vm->saff = calloc(vm->nvnodes, sizeof *vm->saff);
        vm->dem = calloc((size_t)vm->nvnodes * nn, sizeof *vm->dem);
        if (!vm->saff || !vm->dem)
            abort();
        for (int k = 0; k < vm->nvnodes; k++) {
            if (vm->home[k] < 0) {
                vm->hard[k] = s->all;
                continue;
            }
            /* vnuma moves the hard affinity: it starts on the home node. */
            vn_softaff_init(&vm->saff[k], vm->home[k]);
            vn_softaff_cpus(&vm->saff[k], nn, s->node_cpus, &vm->hard[k]);
        }
    }
    int m = s->nvms++;
    draw_hot(s, vm);
    vn_sim_vm_weights(s, m);
    vm->first = s->nvcpus;
    s->vcpus = grow(s->vcpus, &s->cap_vcpus, s->nvcpus + vcpus, sizeof *s->vcpus);
    for (int v = 0; v < vcpus; v++) {
        struct vn_sim_vcpu *x = &s->vcpus[s->nvcpus++];
        memset(x, 0, sizeof *x);
        x->vm = m;
        x->vnode = vcpu_vnode[v];
    }
    free(vcpu_vnode);
    /* VMs started one after another: the whole VM starts at one random offset. */
    int64_t delay = s->p.start_spread_ns > 0
                        ? (int64_t)(vn_sim_rng_unit(&s->rng) * (double)s->p.start_spread_ns)
                        : 0;
    for (int v = 0; v < vcpus; v++)
        vn_sim_start_vcpu(s, vm->first + v, delay);
    return m;
}

int vn_sim_add_vm(struct vn_sim *s, const char *name, int vcpus, uint64_t mem_mib,
                  const struct vn_sim_workload *w, struct vn_error *err)
{
    return add_vm(s, s->norder++, name, vcpus, mem_mib, w, err);
}

int vn_sim_remove_vm(struct vn_sim *s, int m, struct vn_error *err)
{
    if (m < 0 || m >= s->nvms || s->vms[m].gone)
        return vn_error_set(err, "There is no simulated VM %d on the host.", m);
    struct vn_sim_vm *vm = &s->vms[m];
    for (int i = 0; i < vm->nvcpus; i++)
        vn_sim_vcpu_retire(s, vm->first + i);
    for (int i = 0; i < s->nmig;) {
        if (s->mig[i].vm == m)
            s->mig[i] = s->mig[--s->nmig];
        else
            i++;
    }
    for (int k = 0; k < vm->nvnodes; k++)
        for (int n = 0; n < s->nn; n++) {
            uint64_t *pg = &vm->pages[(size_t)k * s->nn + n];
            s->used_pages[n] -= *pg;
            *pg = 0;
        }
    vm->gone = true;
    vm->t_off = s->now;
    vn_sim_rebuild_load(s);
    s->bal_stats.departed++;
    return 0;
}

int vn_sim_schedule_vm(struct vn_sim *s, const char *name, int vcpus, uint64_t mem_mib,
                       const struct vn_sim_workload *w, int64_t start_ns, int64_t stop_ns,
                       struct vn_error *err)
{
    if (stop_ns > 0 && stop_ns <= start_ns)
        return vn_error_set(err, "VM '%s' would leave (at %gs) before it arrives (at %gs).", name,
                            (double)stop_ns / 1e9, (double)start_ns / 1e9);
    int order = s->norder++;
    if (start_ns <= s->now) {
        int m = add_vm(s, order, name, vcpus, mem_mib, w, err);
        if (m >= 0 && stop_ns > 0)
            vn_sim_push(s, stop_ns, VN_SIM_EV_LEAVE, m, 0);
        return m;
    }
    s->pend = grow(s->pend, &s->cap_pend, s->npend + 1, sizeof *s->pend);
    struct vn_sim_pending *pd = &s->pend[s->npend];
    snprintf(pd->name, sizeof pd->name, "%s", name);
    pd->order = order;
    pd->vcpus = vcpus;
    pd->mem_mib = mem_mib;
    pd->wl = *w;
    pd->stop_ns = stop_ns;
    vn_sim_push(s, start_ns, VN_SIM_EV_ARRIVE, s->npend++, 0);
    return 0;
}

void vn_sim_arrive(struct vn_sim *s, int i)
{
    const struct vn_sim_pending *pd = &s->pend[i];
    struct vn_error err;
    int m = add_vm(s, pd->order, pd->name, pd->vcpus, pd->mem_mib, &pd->wl, &err);
    if (m < 0) {
        s->bal_stats.rejected++;
        return;
    }
    s->bal_stats.arrived++;
    if (pd->stop_ns > s->now)
        vn_sim_push(s, pd->stop_ns, VN_SIM_EV_LEAVE, m, 0);
}
