/* Scheduling vCPUs on CPUs: per-CPU FIFO run queues and two families of policy.
 *
 * Linux-like (all-cpus, and dynamic, which is Linux under a hard affinity that vnuma's
 * soft-affinity decision moves): a waking vCPU goes to its previous CPU if idle, else an idle
 * core then an idle CPU of the previous CPU's node, else back to the previous CPU's queue;
 * an idle CPU pulls from the busiest queue, nearest nodes first; every balance period queued
 * vCPUs move to idle CPUs anywhere they are allowed.
 *
 * Xen-credit-like (pin, soft): a waking vCPU takes an idle core then an idle CPU in soft∩hard,
 * then in hard ("running remotely beats not running"), else queues on a soft CPU; an idle CPU
 * steals first a queued vCPU that prefers it, then any that may run on it; at the end of its
 * slice a vCPU running outside its soft set moves back when a soft CPU is idle. */
#include <math.h>
#include <stdlib.h>

#include "sched.h"

static bool linux_like(const struct vn_sim *s)
{
    return s->setup.sched == VN_SIM_SCHED_ALL || s->setup.sched == VN_SIM_SCHED_DYNAMIC ||
           s->setup.sched == VN_SIM_SCHED_BALANCE;
}

static const struct vn_bitmap *hard_of(const struct vn_sim *s, const struct vn_sim_vcpu *v)
{
    const struct vn_sim_vm *vm = &s->vms[v->vm];
    switch (s->setup.sched) {
    case VN_SIM_SCHED_ALL:
        return &s->all;
    case VN_SIM_SCHED_PIN:
        return &vm->soft[v->vnode];
    default:
        return &vm->hard[v->vnode];
    }
}

static const struct vn_bitmap *soft_of(const struct vn_sim *s, const struct vn_sim_vcpu *v)
{
    if (s->setup.sched == VN_SIM_SCHED_ALL)
        return &s->all;
    return &s->vms[v->vm].soft[v->vnode];
}

/* The set bit of b at or after start, wrapping around; -1 when b is empty. */
static int pick_from(const struct vn_bitmap *b, int start)
{
    int c = vn_bitmap_next(b, start - 1);
    if (c < 0)
        c = vn_bitmap_next(b, -1);
    return c;
}

static void set_idle_bits(struct vn_sim *s, int c)
{
    struct vn_sim_cpu *cpu = &s->cpus[c];
    bool core_idle = cpu->cur < 0;
    if (cpu->cur < 0)
        vn_bitmap_set(&s->idle, c);
    else
        vn_bitmap_clear(&s->idle, c);
    for (int i = 0; i < cpu->nsib; i++)
        core_idle = core_idle && s->cpus[cpu->sib[i]].cur < 0;
    if (core_idle)
        vn_bitmap_set(&s->idle_core, c);
    else
        vn_bitmap_clear(&s->idle_core, c);
    for (int i = 0; i < cpu->nsib; i++) {
        if (core_idle)
            vn_bitmap_set(&s->idle_core, cpu->sib[i]);
        else
            vn_bitmap_clear(&s->idle_core, cpu->sib[i]);
    }
}

/* SMT siblings of c run at a different speed once c changes: settle them first. */
static void siblings_accrue(struct vn_sim *s, int c)
{
    const struct vn_sim_cpu *cpu = &s->cpus[c];
    for (int i = 0; i < cpu->nsib; i++)
        if (s->cpus[cpu->sib[i]].cur >= 0)
            vn_sim_accrue(s, &s->vcpus[s->cpus[cpu->sib[i]].cur]);
}

static void siblings_rate(struct vn_sim *s, int c)
{
    const struct vn_sim_cpu *cpu = &s->cpus[c];
    for (int i = 0; i < cpu->nsib; i++)
        if (s->cpus[cpu->sib[i]].cur >= 0)
            vn_sim_rate(s, &s->vcpus[s->cpus[cpu->sib[i]].cur]);
}

static double exp_sample(struct vn_sim *s, double mean)
{
    return vn_sim_rng_exp(&s->rng, mean);
}

static void run_on(struct vn_sim *s, int c, int vi)
{
    struct vn_sim_cpu *cpu = &s->cpus[c];
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    siblings_accrue(s, c);
    cpu->cur = vi;
    v->state = VN_SIM_RUNNING;
    v->cpu = c;
    v->since = v->run_start = s->now;
    set_idle_bits(s, c);
    siblings_rate(s, c);
    vn_sim_rate(s, v);
    if (v->last_cpu >= 0 && s->topo->cpus[v->last_cpu].core != s->topo->cpus[c].core) {
        /* A new core: its private caches are cold; refetching them costs their lines at the
         * latency this vCPU now sees. */
        const struct vn_sim_vm *vm = &s->vms[v->vm];
        double lines = s->p.refill_kib * 1024.0 / VN_SIM_LINE;
        v->cold_ns = lines * v->lat / (vm->wl.mlp > 1 ? vm->wl.mlp : 1);
    }
    v->last_cpu = c;
    cpu->gen++;
    vn_sim_push(s, s->now + s->p.timeslice_ns, VN_SIM_EV_SLICE, c, cpu->gen);
    if (isfinite(v->burst_left)) {
        v->gen++;
        int64_t left = (int64_t)ceil(v->burst_left);
        vn_sim_push(s, s->now + (left > 0 ? left : 1), VN_SIM_EV_BLOCK, vi, v->gen);
    }
}

/* Takes the running vCPU off c (c becomes idle) and returns it. */
static int stop(struct vn_sim *s, int c)
{
    struct vn_sim_cpu *cpu = &s->cpus[c];
    int vi = cpu->cur;
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    vn_sim_accrue(s, v);
    siblings_accrue(s, c);
    cpu->cur = -1;
    cpu->gen++;
    set_idle_bits(s, c);
    siblings_rate(s, c);
    if (isfinite(v->burst_left)) {
        v->burst_left -= (double)(s->now - v->run_start);
        v->gen++;
    }
    v->cpu = -1;
    v->state = VN_SIM_BLOCKED;
    return vi;
}

static void enqueue(struct vn_sim *s, int c, int vi)
{
    struct vn_sim_cpu *cpu = &s->cpus[c];
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    v->state = VN_SIM_QUEUED;
    v->cpu = c;
    v->since = s->now;
    v->next = -1;
    v->prev = cpu->tail;
    if (cpu->tail >= 0)
        s->vcpus[cpu->tail].next = vi;
    else
        cpu->head = vi;
    cpu->tail = vi;
    cpu->nq++;
    s->nqueued[cpu->node]++;
}

static void charge_wait(struct vn_sim *s, struct vn_sim_vcpu *v)
{
    double w = (double)(s->now - v->since);
    v->wait_ns += w;
    v->since = s->now;
    struct vn_sim_vm *vm = &s->vms[v->vm];
    if (vm->dem) {
        int node = s->cpus[v->cpu].node;
        vm->dem[(size_t)v->vnode * s->nn + node] += w;
        s->node_dem[node] += w;
    }
}

static void dequeue(struct vn_sim *s, int vi)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    struct vn_sim_cpu *cpu = &s->cpus[v->cpu];
    charge_wait(s, v);
    if (v->prev >= 0)
        s->vcpus[v->prev].next = v->next;
    else
        cpu->head = v->next;
    if (v->next >= 0)
        s->vcpus[v->next].prev = v->prev;
    else
        cpu->tail = v->prev;
    cpu->nq--;
    s->nqueued[cpu->node]--;
    v->next = v->prev = -1;
    v->cpu = -1;
    v->state = VN_SIM_BLOCKED;
}

/* An idle CPU in allowed, a whole idle core first, the node of near first, then anywhere
 * nearest first; -1 when none. */
static int idle_in(const struct vn_sim *s, const struct vn_bitmap *allowed, int near,
                   bool local_only)
{
    struct vn_bitmap b;
    int node = near >= 0 ? s->cpus[near].node : -1;
    for (int pass = 0; pass < 2; pass++) {
        b = pass == 0 ? s->idle_core : s->idle;
        vn_bitmap_and(&b, allowed);
        if (vn_bitmap_empty(&b))
            continue;
        if (node < 0)
            return pick_from(&b, near);
        const int *order = s->order + (size_t)node * s->nn;
        for (int k = 0; k < (local_only ? 1 : s->nn); k++) {
            if (!vn_bitmap_intersects(&b, &s->node_cpus[order[k]]))
                continue;
            struct vn_bitmap x = b;
            vn_bitmap_and(&x, &s->node_cpus[order[k]]);
            return pick_from(&x, near);
        }
    }
    return -1;
}

/* The CPU of allowed with the shortest queue, prefer first when tied. */
static int shortest_queue(const struct vn_sim *s, const struct vn_bitmap *allowed, int prefer)
{
    int best = -1;
    if (prefer >= 0 && vn_bitmap_test(allowed, prefer))
        best = prefer;
    VN_BITMAP_FOREACH(c, allowed)
    if (best < 0 || s->cpus[c].nq < s->cpus[best].nq)
        best = c;
    return best;
}

static int pick_cpu(struct vn_sim *s, const struct vn_sim_vcpu *v)
{
    const struct vn_bitmap *hard = hard_of(s, v);
    int prev = v->last_cpu;
    int start = prev >= 0 ? prev : (int)(vn_sim_rng_next(&s->rng) % (uint64_t)s->nc);
    bool prev_ok = prev >= 0 && vn_bitmap_test(hard, prev);
    if (prev_ok && s->cpus[prev].cur < 0)
        return prev;
    int c;
    if (linux_like(s)) {
        /* select_idle_sibling: the previous CPU's node only; other nodes are the periodic
         * balancer's job.  A first wake-up or a vCPU whose CPU is no longer allowed looks
         * everywhere it may run. */
        if (prev_ok)
            return (c = idle_in(s, hard, prev, true)) >= 0 ? c : prev;
        if ((c = idle_in(s, hard, start, false)) >= 0)
            return c;
        return shortest_queue(s, hard, -1);
    }
    struct vn_bitmap pref = *soft_of(s, v);
    vn_bitmap_and(&pref, hard);
    if (vn_bitmap_empty(&pref))
        pref = *hard;
    if ((c = idle_in(s, &pref, start, false)) >= 0)
        return c;
    if ((c = idle_in(s, hard, start, false)) >= 0)
        return c;
    if (prev >= 0 && vn_bitmap_test(&pref, prev))
        return prev;
    return shortest_queue(s, &pref, -1);
}

static void place(struct vn_sim *s, int vi)
{
    int c = pick_cpu(s, &s->vcpus[vi]);
    if (s->cpus[c].cur < 0)
        run_on(s, c, vi);
    else
        enqueue(s, c, vi);
}

/* A queued vCPU that idle CPU c may take; soft: only one preferring c. */
static int steal(struct vn_sim *s, int c, bool soft)
{
    const int *order = s->order + (size_t)s->cpus[c].node * s->nn;
    for (int k = 0; k < s->nn; k++) {
        int m = order[k];
        if (s->nqueued[m] == 0)
            continue;
        /* The busiest queue of the node first (Linux's find_busiest_queue). */
        int best = -1, bestvi = -1;
        VN_BITMAP_FOREACH(d, &s->node_cpus[m])
        {
            if (s->cpus[d].nq == 0 || (best >= 0 && s->cpus[d].nq <= s->cpus[best].nq))
                continue;
            for (int vi = s->cpus[d].tail; vi >= 0; vi = s->vcpus[vi].prev) {
                const struct vn_sim_vcpu *v = &s->vcpus[vi];
                if (!vn_bitmap_test(hard_of(s, v), c))
                    continue;
                if (soft && !vn_bitmap_test(soft_of(s, v), c))
                    continue;
                best = d;
                bestvi = vi;
                break;
            }
        }
        if (bestvi >= 0)
            return bestvi;
    }
    return -1;
}

/* c has just become idle: run the head of its queue or something stolen. */
static void schedule(struct vn_sim *s, int c)
{
    struct vn_sim_cpu *cpu = &s->cpus[c];
    int vi = cpu->head;
    if (vi < 0 && !linux_like(s))
        vi = steal(s, c, true);
    if (vi < 0)
        vi = steal(s, c, false);
    if (vi < 0)
        return;
    dequeue(s, vi);
    run_on(s, c, vi);
}

void vn_sim_slice_end(struct vn_sim *s, int c)
{
    struct vn_sim_cpu *cpu = &s->cpus[c];
    int vi = cpu->cur;
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    if (s->setup.sched == VN_SIM_SCHED_SOFT && !vn_bitmap_test(soft_of(s, v), c)) {
        struct vn_bitmap pref = *soft_of(s, v);
        vn_bitmap_and(&pref, hard_of(s, v));
        int t = idle_in(s, &pref, c, false);
        if (t >= 0) {
            stop(s, c);
            run_on(s, t, vi);
            schedule(s, c);
            return;
        }
    }
    if (cpu->nq > 0) {
        int next = cpu->head;
        dequeue(s, next);
        stop(s, c);
        run_on(s, c, next);
        enqueue(s, c, vi);
        return;
    }
    cpu->gen++;
    vn_sim_push(s, s->now + s->p.timeslice_ns, VN_SIM_EV_SLICE, c, cpu->gen);
}

static double off_mean(const struct vn_sim_workload *w)
{
    return w->burst_ns * (1.0 - w->duty) / w->duty;
}

void vn_sim_block(struct vn_sim *s, int vi)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    if (v->state != VN_SIM_RUNNING)
        return;
    int c = v->cpu;
    stop(s, c);
    v->gen++;
    const struct vn_sim_workload *w = &s->vms[v->vm].wl;
    vn_sim_push(s, s->now + (int64_t)exp_sample(s, off_mean(w)) + 1, VN_SIM_EV_WAKE, vi, v->gen);
    schedule(s, c);
}

void vn_sim_wake(struct vn_sim *s, int vi)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    if (v->state != VN_SIM_BLOCKED)
        return;
    const struct vn_sim_workload *w = &s->vms[v->vm].wl;
    v->burst_left = w->duty >= 1 ? INFINITY : exp_sample(s, w->burst_ns);
    v->gen++;
    place(s, vi);
}

/* Draws the cost of vCPU vi's next work phase and schedules its end.  A phase is a batch of
 * work of exponential size: its length scales with the cost drawn (at idle local latency), so
 * dear phases last longer and the long-run cost per unit stays the workload's mean. */
static void new_phase(struct vn_sim *s, int vi)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    const struct vn_sim_workload *w = &s->vms[v->vm].wl;
    v->cpu_mul = vn_sim_rng_lognormal1(&s->rng, w->cpu_cv);
    v->miss_mul = vn_sim_rng_lognormal1(&s->rng, w->miss_cv);
    double stall = w->misses * s->p.local_ns / w->mlp;
    double base = w->cpu_ns + stall;
    double scale = base > 0 ? (w->cpu_ns * v->cpu_mul + stall * v->miss_mul) / base : 1;
    double len = exp_sample(s, w->phase_ns) * scale;
    vn_sim_push(s, s->now + (int64_t)len + 1, VN_SIM_EV_PHASE, vi, 0);
}

static bool phased(const struct vn_sim_workload *w)
{
    return w->phase_ns > 0 && (w->cpu_cv > 0 || w->miss_cv > 0);
}

void vn_sim_phase(struct vn_sim *s, int vi)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    if (s->vms[v->vm].gone)
        return;
    if (v->state == VN_SIM_RUNNING)
        vn_sim_accrue(s, v);
    new_phase(s, vi);
    if (v->state == VN_SIM_RUNNING)
        vn_sim_rate(s, v);
}

void vn_sim_start_vcpu(struct vn_sim *s, int vi, int64_t delay_ns)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    const struct vn_sim_workload *w = &s->vms[v->vm].wl;
    v->state = VN_SIM_BLOCKED;
    v->cpu = v->last_cpu = v->next = v->prev = -1;
    v->cpu_mul = v->miss_mul = 1;
    if (phased(w))
        new_phase(s, vi);
    if (w->duty >= 1 && delay_ns <= 0) {
        v->burst_left = INFINITY;
        place(s, vi);
        return;
    }
    v->gen++;
    double phase = w->duty >= 1 ? 0 : vn_sim_rng_unit(&s->rng) * (off_mean(w) + w->burst_ns);
    vn_sim_push(s, s->now + delay_ns + (int64_t)phase + 1, VN_SIM_EV_WAKE, vi, v->gen);
}

void vn_sim_load_balance(struct vn_sim *s)
{
    bool any = false;
    for (int n = 0; n < s->nn && !any; n++)
        any = s->nqueued[n] > 0;
    if (!any || vn_bitmap_empty(&s->idle))
        return;
    for (int c = 0; c < s->nc && !vn_bitmap_empty(&s->idle); c++) {
        struct vn_sim_cpu *cpu = &s->cpus[c];
        for (int vi = cpu->tail; vi >= 0;) {
            int prev = s->vcpus[vi].prev;
            int t = idle_in(s, hard_of(s, &s->vcpus[vi]), c, false);
            if (t >= 0) {
                dequeue(s, vi);
                run_on(s, t, vi);
            }
            vi = prev;
        }
    }
}

/* Moves a vCPU whose CPU its new hard affinity no longer allows. */
static void enforce(struct vn_sim *s, int vi)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    if (v->state == VN_SIM_BLOCKED || vn_bitmap_test(hard_of(s, v), v->cpu))
        return;
    if (v->state == VN_SIM_QUEUED) {
        dequeue(s, vi);
        place(s, vi);
        return;
    }
    int c = v->cpu;
    stop(s, c);
    place(s, vi);
    schedule(s, c);
}

void vn_sim_settle_demand(struct vn_sim *s)
{
    for (int c = 0; c < s->nc; c++) {
        struct vn_sim_cpu *cpu = &s->cpus[c];
        if (cpu->cur >= 0)
            vn_sim_accrue(s, &s->vcpus[cpu->cur]);
        for (int vi = cpu->head; vi >= 0; vi = s->vcpus[vi].next)
            charge_wait(s, &s->vcpus[vi]);
    }
}

void vn_sim_vcpu_retire(struct vn_sim *s, int vi)
{
    struct vn_sim_vcpu *v = &s->vcpus[vi];
    if (v->state == VN_SIM_RUNNING) {
        int c = v->cpu;
        stop(s, c);
        schedule(s, c);
    } else if (v->state == VN_SIM_QUEUED) {
        dequeue(s, vi);
    }
    v->gen++;
    v->burst_left = INFINITY;
}

void vn_sim_enforce_vnode(struct vn_sim *s, int m, int k)
{
    const struct vn_sim_vm *vm = &s->vms[m];
    for (int i = 0; i < vm->nvcpus; i++)
        if (s->vcpus[vm->first + i].vnode == k)
            enforce(s, vm->first + i);
}

void vn_sim_policy(struct vn_sim *s)
{
    /* Settle running and waiting time up to now, so the interval is complete. */
    vn_sim_settle_demand(s);
    int nn = s->nn;
    double *pressure = calloc(nn, sizeof *pressure);
    if (!pressure)
        abort();
    double iv = (double)s->p.policy_ns;
    for (int m = 0; m < s->nvms; m++) {
        struct vn_sim_vm *vm = &s->vms[m];
        for (int k = 0; k < vm->nvnodes; k++) {
            if (vm->home[k] < 0 || vm->gone)
                continue;
            const double *own = vm->dem + (size_t)k * nn;
            for (int n = 0; n < nn; n++)
                pressure[n] = s->node_ncpus[n] > 0
                                  ? (s->node_dem[n] - own[n]) / (iv * s->node_ncpus[n])
                                  : 1e9;
            struct vn_error err;
            if (vn_softaff_step(&s->saff_params, nn, s->topo->dist, pressure, &vm->saff[k], &err) <=
                0)
                continue;
            vn_softaff_cpus(&vm->saff[k], nn, s->node_cpus, &vm->hard[k]);
            for (int i = 0; i < vm->nvcpus; i++)
                if (s->vcpus[vm->first + i].vnode == k)
                    enforce(s, vm->first + i);
        }
    }
    free(pressure);
    for (int m = 0; m < s->nvms; m++)
        if (s->vms[m].dem)
            for (int k = 0; k < s->vms[m].nvnodes * nn; k++)
                s->vms[m].dem[k] = 0;
    for (int n = 0; n < nn; n++)
        s->node_dem[n] = 0;
}
