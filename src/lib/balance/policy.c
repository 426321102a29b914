/* The balancing policy (policy.h); the rules and the cost model are in docs/BALANCE.md. */
#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEVER       (INT64_MIN / 4)
#define MAX_BACKOFF 16

void vn_bal_params_default(struct vn_bal_params *p)
{
    vn_softaff_params_default(&p->softaff);
    p->horizon_s = 60;
    p->mem_stall = 0.3;
    p->cpu_weight = 1.0;
    p->mib_cost_s = 0.002;
    p->min_gain_s = 1.0;
    p->rel_gain = 0.25;
    p->pressure_alpha = 0.3;
    p->confirm = 3;
    p->replace_after = 12;
    p->dwell_ns = 60LL * 1000000000LL;
    p->host_mib_s = 512;
    p->vm_mib_s = 256;
    p->burst_s = 4;
    p->free_margin_mib = 256;
    p->settle_mib = 64;
    p->settle_pct = 1.0;
}

void vn_bal_state_init(struct vn_bal_state *s)
{
    memset(s, 0, sizeof *s);
}

void vn_bal_dom_state_init(struct vn_bal_dom_state *ds)
{
    memset(ds, 0, sizeof *ds);
}

const char *vn_bal_kind_name(enum vn_bal_kind k)
{
    switch (k) {
    case VN_BAL_MIGRATE_VNODE:
        return "migrate";
    case VN_BAL_SET_SOFT_AFFINITY:
        return "soft-affinity";
    case VN_BAL_REPLACE_VM:
        return "replace";
    case VN_BAL_SKIPPED:
        return "skipped";
    }
    return "?";
}

const char *vn_bal_skip_name(enum vn_bal_skip s)
{
    static const char *const names[VN_BAL_NSKIP] = {"hysteresis", "rate-limit", "opt-out",
                                                    "paused",     "fixed",      "no-room"};
    return s >= 0 && s < VN_BAL_NSKIP ? names[s] : "?";
}

/* ---- compact node sets and the soft-affinity state ---------------------------------------- */

static void pack(struct vn_bal_nodeset *d, const struct vn_bitmap *s)
{
    memcpy(d->w, s->w, sizeof d->w);
}

static void unpack(struct vn_bitmap *d, const struct vn_bal_nodeset *s)
{
    vn_bitmap_zero(d);
    memcpy(d->w, s->w, sizeof s->w);
}

static void soft_load(struct vn_softaff_state *d, const struct vn_bal_softaff *s)
{
    d->home = s->home;
    d->steps = s->steps;
    d->over = s->over;
    d->under = s->under;
    for (int i = 0; i < VN_SOFTAFF_MAX_STEPS; i++)
        unpack(&d->added[i], &s->added[i]);
    unpack(&d->allowed, &s->allowed);
}

static void soft_store(struct vn_bal_softaff *d, const struct vn_softaff_state *s)
{
    d->home = s->home;
    d->steps = s->steps;
    d->over = s->over;
    d->under = s->under;
    for (int i = 0; i < VN_SOFTAFF_MAX_STEPS; i++)
        pack(&d->added[i], &s->added[i]);
    pack(&d->allowed, &s->allowed);
}

static void soft_reset(struct vn_bal_softaff *d, int home)
{
    struct vn_softaff_state s;
    vn_softaff_init(&s, home);
    soft_store(d, &s);
}

static bool soft_is_only(const struct vn_bal_softaff *s, int node)
{
    struct vn_bitmap a, one;
    unpack(&a, &s->allowed);
    vn_bitmap_zero(&one);
    vn_bitmap_set(&one, node);
    return vn_bitmap_equal(&a, &one);
}

/* ---- one interval --------------------------------------------------------------------------- */

struct ctx {
    const struct vn_bal_params *p;
    struct vn_bal_state *st;
    const struct vn_bal_host_obs *h;
    int nn;
    const int *dist;
    int ncpus[VN_BAL_MAX_NODES];
    /* Smoothed pressure, changed by the decisions already taken this interval so that two
     * vnodes do not both pick the node that only had room for one. */
    double work[VN_BAL_MAX_NODES];
    double secs; /* interval in seconds */
    struct vn_bal_action *out;
    int max_out, n;
};

/* Per-vnode view of the interval. */
struct vview {
    double u[VN_BAL_MAX_NODES]; /* CPUs of demand per node where its vCPUs ran */
    double utot;
    uint64_t rtot;
    uint64_t settle; /* off-home MiB that count as moved (see view) */
    struct vn_bitmap vcpus;
};

static int os(const struct ctx *c, int n)
{
    return c->h->topo->nodes[n].os_index;
}

static int dist(const struct ctx *c, int i, int j)
{
    return c->dist[(long)i * c->nn + j];
}

/* Linux numbers of the node indexes in set, as a list ("0-1,3"). */
static void fmt_nodes(const struct ctx *c, const struct vn_bitmap *set, char *buf, size_t len)
{
    struct vn_bitmap osn;
    vn_bitmap_zero(&osn);
    VN_BITMAP_FOREACH(n, set)
    if (n < c->nn)
        vn_bitmap_set(&osn, os(c, n));
    vn_bitmap_format_list(&osn, buf, len);
}

static double excl(const struct ctx *c, const double *u, int n)
{
    double v = c->work[n] - (c->ncpus[n] ? u[n] / c->ncpus[n] : 0);
    return v > 0 ? v : 0;
}

static double over_low(const struct ctx *c, double pressure)
{
    double v = pressure - c->p->softaff.low;
    return v > 0 ? v : 0;
}

static struct vn_bal_action *room(struct ctx *c, int need)
{
    if (c->n + need > c->max_out) {
        c->st->dropped++;
        return NULL;
    }
    struct vn_bal_action *a = &c->out[c->n];
    memset(a, 0, sizeof *a * need);
    return a;
}

static struct vn_bal_action *push(struct ctx *c, enum vn_bal_kind kind, int dom, int vnode)
{
    struct vn_bal_action *a = room(c, 1);
    if (!a)
        return NULL;
    c->n++;
    a->kind = kind;
    a->domain = dom;
    a->vnode = vnode;
    a->to_idx = -1;
    return a;
}

static void skip(struct ctx *c, struct vn_bal_dom_state *ds, int dom, int vnode,
                 enum vn_bal_kind kind, enum vn_bal_skip why, const char *reason)
{
    ds->skipped[why]++;
    struct vn_bal_action *a = push(c, VN_BAL_SKIPPED, dom, vnode);
    if (!a)
        return;
    a->skipped = kind;
    a->skip = why;
    snprintf(a->reason, sizeof a->reason, "%s", reason);
}

/* The gates every decision passes; -1 when it may go ahead. */
static int gate(const struct ctx *c, const struct vn_bal_dom_obs *d,
                const struct vn_bal_dom_state *ds, bool memory, bool cpu)
{
    if (d->flags & VN_BAL_OPT_OUT)
        return VN_BAL_SKIP_OPT_OUT;
    if (c->st->paused || ds->paused)
        return VN_BAL_SKIP_PAUSED;
    if (!(d->flags & VN_BAL_ALLOW_FIXED) &&
        ((memory && (d->flags & VN_BAL_FIXED_PNODES)) || (cpu && (d->flags & VN_BAL_PINNED))))
        return VN_BAL_SKIP_FIXED;
    return -1;
}

static double tokens(const struct ctx *c, const struct vn_bal_dom_state *ds)
{
    double t = c->st->tokens < ds->tokens ? c->st->tokens : ds->tokens;
    return t > 0 ? floor(t) : 0;
}

static void spend(struct ctx *c, struct vn_bal_dom_state *ds, uint64_t mib)
{
    c->st->tokens -= (double)mib;
    ds->tokens -= (double)mib;
    c->st->moved_mib += mib;
    ds->moved_mib += mib;
}

/* vCPU-seconds per second lost to remote access: for each (node i the vCPUs ran on, node j
 * holding memory) the demand on i times j's share of the memory times the extra distance. */
static double remote_rate(const struct ctx *c, const double *u, const uint64_t *r, uint64_t rtot)
{
    if (rtot == 0)
        return 0;
    double s = 0;
    for (int i = 0; i < c->nn; i++) {
        if (u[i] <= 0)
            continue;
        for (int j = 0; j < c->nn; j++)
            if (r[j])
                s += u[i] * ((double)r[j] / (double)rtot) * (dist(c, i, j) / 10.0 - 1.0);
    }
    return c->p->mem_stall * s;
}

static void view(const struct ctx *c, const struct vn_bal_dom_obs *d, int v, struct vview *w)
{
    memset(w->u, 0, sizeof w->u[0] * c->nn);
    w->utot = 0;
    w->rtot = 0;
    vn_bitmap_zero(&w->vcpus);
    for (int i = 0; i < d->nvcpus; i++) {
        const struct vn_bal_vcpu_obs *o = &d->vcpus[i];
        if (o->vnode != v)
            continue;
        vn_bitmap_set(&w->vcpus, i);
        if (o->node < 0 || o->node >= c->nn)
            continue;
        double cpus = (double)o->cpu_ns / (double)c->h->interval_ns;
        w->u[o->node] += cpus;
        w->utot += cpus;
    }
    for (int n = 0; n < c->nn; n++)
        w->rtot += d->vnodes[v].resident_mib[n];
    /* settle_mib caps it for large vnodes; a small one (128 MiB in a test guest) would
     * otherwise count as settled with half of it away. */
    uint64_t rel = (uint64_t)ceil((double)w->rtot * c->p->settle_pct / 100.0);
    uint64_t settle = rel < c->p->settle_mib ? rel : c->p->settle_mib;
    w->settle = d->vnodes[v].error_mib > settle ? d->vnodes[v].error_mib : settle;
}

double vn_bal_locality(const struct vn_bal_dom_obs *d, int vnode, int nnodes)
{
    const uint64_t *r = d->vnodes[vnode].resident_mib;
    double t = 0, rt = 0, s = 0;
    for (int n = 0; n < nnodes; n++)
        rt += (double)r[n];
    for (int i = 0; i < d->nvcpus; i++)
        if (d->vcpus[i].vnode == vnode && d->vcpus[i].node >= 0 && d->vcpus[i].node < nnodes) {
            t += (double)d->vcpus[i].cpu_ns;
            s += (double)d->vcpus[i].cpu_ns * (double)r[d->vcpus[i].node];
        }
    if (t <= 0 || rt <= 0)
        return 1.0;
    return s / (t * rt);
}

static void move_pressure(struct ctx *c, const struct vview *w, int to)
{
    for (int n = 0; n < c->nn; n++)
        if (w->u[n] > 0 && c->ncpus[n])
            c->work[n] -= w->u[n] / c->ncpus[n];
    if (c->ncpus[to])
        c->work[to] += w->utot / c->ncpus[to];
}

static void from_set(const struct ctx *c, const uint64_t *r, int to, struct vn_bitmap *from)
{
    vn_bitmap_zero(from);
    for (int n = 0; n < c->nn; n++)
        if (n != to && r[n])
            vn_bitmap_set(from, n);
}

/* Memory of the vnode outside its home is moved home in batches: the tail of a rehome, of a
 * re-placement, or memory the kernel put elsewhere.  Returns true when the vnode is busy
 * with it (nothing else is decided for it this interval). */
static bool complete_move(struct ctx *c, const struct vn_bal_dom_obs *d,
                          struct vn_bal_dom_state *ds, int di, int v, const struct vview *w)
{
    const struct vn_bal_vnode_obs *o = &d->vnodes[v];
    struct vn_bal_vnode_state *vs = &ds->vnodes[v];
    uint64_t off = w->rtot - o->resident_mib[o->home];
    uint64_t settle = w->settle;
    if (off <= settle) {
        vs->moving = false;
        return false;
    }
    char why[VN_BAL_REASON];
    /* Moving memory to the vnode's own recorded pnode honours a user-fixed pnode, so only
     * opt-out and pause stop it. */
    int g = gate(c, d, ds, false, false);
    if (g >= 0) {
        snprintf(why, sizeof why, "%s vnode %d: %llu MiB outside home node %d stay put (%s).",
                 d->name, v, (unsigned long long)off, os(c, o->home), vn_bal_skip_name(g));
        skip(c, ds, di, v, VN_BAL_MIGRATE_VNODE, g, why);
        return true;
    }
    uint64_t free = c->h->free_mib[o->home];
    uint64_t fits = free > c->p->free_margin_mib ? free - c->p->free_margin_mib : 0;
    uint64_t tok = (uint64_t)tokens(c, ds);
    /* The estimate may be short by error_mib: a batch that can take everything asks for that
     * much more, and the move, which looks at every page, ends the vnode exactly home. */
    uint64_t want = off + o->error_mib;
    uint64_t chunk = want < tok ? want : tok;
    if (fits == 0) {
        snprintf(why, sizeof why,
                 "%s vnode %d: %llu MiB should move to node %d, which has only %llu MiB free.",
                 d->name, v, (unsigned long long)off, os(c, o->home), (unsigned long long)free);
        skip(c, ds, di, v, VN_BAL_MIGRATE_VNODE, VN_BAL_SKIP_NO_ROOM, why);
        return true;
    }
    if (chunk > fits)
        chunk = fits;
    if (chunk == 0) {
        snprintf(why, sizeof why,
                 "%s vnode %d: %llu MiB wait for migration budget to move to node %d.", d->name, v,
                 (unsigned long long)off, os(c, o->home));
        skip(c, ds, di, v, VN_BAL_MIGRATE_VNODE, VN_BAL_SKIP_RATE_LIMIT, why);
        return true;
    }
    struct vn_bal_action *a = push(c, VN_BAL_MIGRATE_VNODE, di, v);
    if (!a)
        return true;
    from_set(c, o->resident_mib, o->home, &a->from_idx);
    a->to_idx = o->home;
    a->mib = chunk;
    snprintf(a->reason, sizeof a->reason,
             "%s vnode %d: moving %llu of the %llu MiB outside home node %d (budget-limited "
             "batch).",
             d->name, v, (unsigned long long)chunk, (unsigned long long)off, os(c, o->home));
    spend(c, ds, chunk);
    ds->actions++;
    vs->moving = chunk < off && off - chunk > settle;
    vs->last_ns = c->h->now_ns;
    return true;
}

static int64_t dwell(const struct ctx *c, const struct vn_bal_vnode_state *vs)
{
    return c->p->dwell_ns * (vs->backoff > 0 ? vs->backoff : 1);
}

/* Anti-flap: going back to the node a vnode just left doubles its dwell time and the
 * intervals a decision must be confirmed; a long quiet spell halves them again. */
static void note_move(const struct ctx *c, struct vn_bal_vnode_state *vs, int from, int to,
                      int64_t since)
{
    if (to == vs->prev_home && since < 4 * dwell(c, vs))
        vs->backoff = vs->backoff * 2 > MAX_BACKOFF ? MAX_BACKOFF : vs->backoff * 2;
    else if (since >= 4 * dwell(c, vs) && vs->backoff > 1)
        vs->backoff /= 2;
    vs->prev_home = from;
}

/* Rehome: the vnode's vCPUs and memory are apart; pick the node x (among those holding its
 * memory or running its vCPUs) that minimises
 *   cost(x) = mib_cost * MiB not on x + horizon * U * cpu_weight * max(0, P(x) - low)
 * where U is the vnode's CPU demand and P(x) the pressure on x with the vnode's vCPUs there,
 * and compare it with staying as it is:
 *   stay = horizon * (remote_rate + sum_n u[n] * cpu_weight * max(0, P(n) - low)).
 * Returns true when it acted (or was stopped by a gate after a positive decision). */
static bool rehome(struct ctx *c, const struct vn_bal_dom_obs *d, struct vn_bal_dom_state *ds,
                   int di, int v, const struct vview *w)
{
    const struct vn_bal_params *p = c->p;
    const struct vn_bal_vnode_obs *o = &d->vnodes[v];
    struct vn_bal_vnode_state *vs = &ds->vnodes[v];
    if (w->utot <= 0 || w->rtot == 0)
        return false;
    double stay = remote_rate(c, w->u, o->resident_mib, w->rtot);
    for (int n = 0; n < c->nn; n++)
        if (w->u[n] > 0)
            stay += w->u[n] * p->cpu_weight * over_low(c, c->work[n]);
    stay *= p->horizon_s;

    int best = -1;
    double best_cost = 0;
    uint64_t best_moved = 0;
    for (int x = 0; x < c->nn; x++) {
        if (!(w->u[x] > 0 || o->resident_mib[x] || x == o->home) || !c->ncpus[x])
            continue;
        double px = excl(c, w->u, x) + w->utot / c->ncpus[x];
        if (px >= p->softaff.high)
            continue;
        uint64_t moved = w->rtot - o->resident_mib[x];
        if (moved > w->settle && c->h->free_mib[x] < moved + p->free_margin_mib)
            continue;
        double cost = p->mib_cost_s * (double)moved +
                      p->horizon_s * w->utot * p->cpu_weight * over_low(c, px);
        if (best < 0 || cost < best_cost) {
            best = x;
            best_cost = cost;
            best_moved = moved;
        }
    }
    double gain = best >= 0 ? stay - best_cost : 0;
    /* vCPUs outside their home with the soft state saying "home only" happen after a restart
     * (the state is new, the threads kept the wider set): narrowing them again is an action. */
    bool outside = best >= 0 && w->u[best] < w->utot;
    bool noop = best == o->home && !outside && best_moved <= w->settle;
    if (best < 0 || noop || gain < p->min_gain_s || gain < p->rel_gain * stay) {
        vs->target = -1;
        vs->streak = 0;
        return false;
    }
    int confirm = p->confirm * (vs->backoff > 0 ? vs->backoff : 1);
    if (vs->target == best) {
        if (vs->streak < confirm)
            vs->streak++;
    } else {
        vs->target = best;
        vs->streak = 1;
    }

    char why[VN_BAL_REASON];
    bool memory = best != o->home;
    int rt = (int)lround(100 * (w->u[best] / w->utot));
    int rm = (int)lround(100 * ((double)o->resident_mib[best] / (double)w->rtot));
    snprintf(why, sizeof why,
             "%s vnode %d: its vCPUs ran %d%% and its memory is %d%% on node %d; %s costs %.1f "
             "vCPU-s against %.1f for leaving them apart over %.0f s.",
             d->name, v, rt, rm, os(c, best),
             best_moved > w->settle ? "moving the memory there" : "running the vCPUs there",
             best_cost, stay, p->horizon_s);
    int64_t since = c->h->now_ns - vs->last_ns;
    if (since < dwell(c, vs) || vs->streak < confirm) {
        skip(c, ds, di, v, memory ? VN_BAL_MIGRATE_VNODE : VN_BAL_SET_SOFT_AFFINITY,
             VN_BAL_SKIP_HYSTERESIS, why);
        return true;
    }
    int g = gate(c, d, ds, memory, true);
    if (g >= 0) {
        skip(c, ds, di, v, memory ? VN_BAL_MIGRATE_VNODE : VN_BAL_SET_SOFT_AFFINITY, g, why);
        return true;
    }
    uint64_t chunk = best_moved;
    if (best_moved > w->settle) {
        uint64_t tok = (uint64_t)tokens(c, ds);
        chunk += o->error_mib; /* as in complete_move */
        chunk = chunk < tok ? chunk : tok;
        if (chunk == 0) {
            skip(c, ds, di, v, VN_BAL_MIGRATE_VNODE, VN_BAL_SKIP_RATE_LIMIT, why);
            return true;
        }
    }
    bool set_soft = !soft_is_only(&vs->soft, best) || outside;
    int need = (memory || best_moved > w->settle) + set_soft;
    if (!room(c, need))
        return true;
    if (memory || best_moved > w->settle) {
        struct vn_bal_action *a = push(c, VN_BAL_MIGRATE_VNODE, di, v);
        from_set(c, o->resident_mib, best, &a->from_idx);
        a->to_idx = best;
        a->mib = chunk;
        a->rehome = memory;
        snprintf(a->reason, sizeof a->reason, "%s", why);
        spend(c, ds, chunk);
        ds->actions++;
    }
    if (set_soft) {
        struct vn_bal_action *a = push(c, VN_BAL_SET_SOFT_AFFINITY, di, v);
        a->vcpus = w->vcpus;
        vn_bitmap_set(&a->nodes_idx, best);
        snprintf(a->reason, sizeof a->reason, "%s", why);
        ds->actions++;
    }
    if (memory)
        note_move(c, vs, o->home, best, since);
    vs->home = best;
    soft_reset(&vs->soft, best);
    vs->target = -1;
    vs->streak = 0;
    vs->last_ns = c->h->now_ns;
    vs->rehomes++;
    vs->moving = chunk < best_moved && best_moved - chunk > w->settle;
    move_pressure(c, w, best);
    return true;
}

/* Widen or narrow the vnode's soft affinity (balance/softaff.h) with the pressure of every
 * node minus this vnode's own demand. */
static void soft_step(struct ctx *c, const struct vn_bal_dom_obs *d, struct vn_bal_dom_state *ds,
                      int di, int v, const struct vview *w)
{
    struct vn_bal_vnode_state *vs = &ds->vnodes[v];
    double pe[VN_BAL_MAX_NODES];
    for (int n = 0; n < c->nn; n++) {
        double x = c->h->pressure[n] - (c->ncpus[n] ? w->u[n] / c->ncpus[n] : 0);
        pe[n] = x > 0 ? x : 0;
    }
    struct vn_softaff_state s;
    soft_load(&s, &vs->soft);
    int steps = s.steps;
    if (vn_softaff_step(&c->p->softaff, c->nn, c->dist, pe, &s, NULL) != 1) {
        soft_store(&vs->soft, &s); /* the sample counts moved on */
        return;
    }
    char list[96], why[VN_BAL_REASON];
    fmt_nodes(c, &s.allowed, list, sizeof list);
    bool widened = s.steps > steps;
    snprintf(why, sizeof why,
             "%s vnode %d: home node %d %s (pressure %.2f without it); its vCPUs may run on nodes "
             "%s.",
             d->name, v, os(c, s.home), widened ? "is overloaded" : "is relieved", pe[s.home],
             list);
    int g = gate(c, d, ds, false, true);
    if (g >= 0) {
        skip(c, ds, di, v, VN_BAL_SET_SOFT_AFFINITY, g, why);
        return; /* not stored: the same step is proposed again */
    }
    struct vn_bal_action *a = push(c, VN_BAL_SET_SOFT_AFFINITY, di, v);
    if (!a)
        return;
    a->vcpus = w->vcpus;
    a->nodes_idx = s.allowed;
    snprintf(a->reason, sizeof a->reason, "%s", why);
    ds->actions++;
    soft_store(&vs->soft, &s);
}

/* Re-place the whole VM with vn_place() when its homes are overloaded or a better node set
 * became free: the same cost model over the whole VM, with the distances between all its
 * vCPUs and all its memory (vn_placement_distance) in place of the per-vnode remote rate. */
static void replace(struct ctx *c, const struct vn_bal_dom_obs *d, struct vn_bal_dom_state *ds,
                    int di, const struct vview *w)
{
    const struct vn_bal_params *p = c->p;
    const struct vn_host_topo *topo = c->h->topo;
    if (!d->spec || !d->claim || !c->h->load || topo->nnodes > VN_PLACE_MAX_NODES)
        return;
    int64_t now = c->h->now_ns;
    if (now - ds->last_ns < p->dwell_ns)
        return;
    for (int v = 0; v < d->nvnodes; v++)
        if (d->vnodes[v].home < 0 || ds->vnodes[v].moving ||
            now - ds->vnodes[v].last_ns < dwell(c, &ds->vnodes[v]))
            return;

    double ud[VN_BAL_MAX_NODES] = {0}, uhome[VN_BAL_MAX_NODES] = {0}, unew[VN_BAL_MAX_NODES] = {0};
    uint64_t rall[VN_BAL_MAX_NODES] = {0}, rtot = 0;
    double utot = 0;
    for (int v = 0; v < d->nvnodes; v++) {
        for (int n = 0; n < c->nn; n++) {
            ud[n] += w[v].u[n];
            rall[n] += d->vnodes[v].resident_mib[n];
        }
        uhome[d->vnodes[v].home] += w[v].utot;
        utot += w[v].utot;
        rtot += w[v].rtot;
    }
    if (utot <= 0 || rtot == 0)
        return;
    double ex[VN_BAL_MAX_NODES], umax = 0;
    for (int n = 0; n < c->nn; n++)
        ex[n] = excl(c, ud, n);
    for (int v = 0; v < d->nvnodes; v++)
        umax = w[v].utot > umax ? w[v].utot : umax;

    double cur = remote_rate(c, ud, rall, rtot);
    for (int v = 0; v < d->nvnodes; v++) {
        int h = d->vnodes[v].home;
        if (c->ncpus[h])
            cur += w[v].utot * p->cpu_weight * over_low(c, ex[h] + uhome[h] / c->ncpus[h]);
    }

    struct vn_host_load *load = malloc(sizeof *load);
    struct vn_placement *pl = malloc(sizeof *pl);
    struct vn_place_request req;
    if (!load || !pl)
        goto out;
    *load = *c->h->load;
    /* Without its own claim and group nodes, or an anti-affinity group would push the VM off
     * the nodes it is on. */
    if (vn_host_load_remove_claim(load, topo, d->claim, d->spec->affinity_group,
                                  d->spec->anti_affinity_group, NULL) < 0)
        goto out;
    /* Busy CPUs count as claimed vCPUs, so that placement avoids what is busy now and not
     * only what was claimed (the host's own processes, VMs busier than their claims); a node
     * already overloaded without this VM looks full, so it is not chosen at all. */
    for (int n = 0; n < c->nn; n++) {
        int busy = (int)lround(ex[n] * c->ncpus[n]);
        if (busy > load->vcpus[n])
            load->vcpus[n] = busy;
        if (!c->ncpus[n] || ex[n] + umax / c->ncpus[n] >= p->softaff.high)
            load->reserve_mib[n] = topo->nodes[n].mem_mib;
    }
    if (vn_place_request_init(&req, d->spec, topo, NULL) < 0)
        goto out;
    for (int k = 0; k < d->ndev_nodes; k++)
        if (vn_place_request_add_dev(&req, topo, d->dev_nodes[k], NULL) < 0)
            goto out;
    if (vn_place(VN_PLACE_VNUMA, topo, load, &req, pl, NULL, NULL) < 0 || pl->nvnodes != d->nvnodes)
        goto out;

    int to[VN_MAX_VNODES];
    bool same = true;
    uint64_t moved = 0, incoming[VN_BAL_MAX_NODES] = {0};
    for (int v = 0; v < d->nvnodes; v++) {
        if (vn_bitmap_count(&pl->vnodes[v].pnodes) != 1)
            goto out;
        to[v] = vn_topo_node_index(topo, vn_bitmap_next(&pl->vnodes[v].pnodes, -1));
        if (to[v] < 0 || !c->ncpus[to[v]])
            goto out;
        same = same && to[v] == d->vnodes[v].home;
        uint64_t m = w[v].rtot - d->vnodes[v].resident_mib[to[v]];
        moved += m;
        incoming[to[v]] += m;
        unew[to[v]] += w[v].utot;
    }
    double next = p->mem_stall * utot * (vn_placement_distance(topo, pl) / 10.0 - 1.0);
    bool fits = !same;
    for (int v = 0; v < d->nvnodes && fits; v++) {
        int n = to[v];
        double pn = ex[n] + unew[n] / c->ncpus[n];
        fits = pn < p->softaff.high &&
               (incoming[n] == 0 || c->h->free_mib[n] >= incoming[n] + p->free_margin_mib);
        next += w[v].utot * p->cpu_weight * over_low(c, pn);
    }
    double gain = p->horizon_s * (cur - next) - p->mib_cost_s * (double)moved;
    if (!fits || gain < p->min_gain_s || gain < p->rel_gain * p->horizon_s * cur) {
        ds->replace_streak = 0;
        goto out;
    }
    int after = p->replace_after;
    for (int v = 0; v < d->nvnodes; v++)
        if (ds->vnodes[v].backoff > 1 && p->replace_after * ds->vnodes[v].backoff > after)
            after = p->replace_after * ds->vnodes[v].backoff;
    if (ds->replace_streak > 0 && memcmp(ds->replace_to, to, sizeof to[0] * d->nvnodes) == 0) {
        if (ds->replace_streak < after)
            ds->replace_streak++;
    } else {
        memcpy(ds->replace_to, to, sizeof to[0] * d->nvnodes);
        ds->replace_streak = 1;
    }
    struct vn_bitmap nodes;
    vn_bitmap_zero(&nodes);
    for (int v = 0; v < d->nvnodes; v++)
        vn_bitmap_set(&nodes, to[v]);
    char list[96], why[VN_BAL_REASON];
    fmt_nodes(c, &nodes, list, sizeof list);
    snprintf(why, sizeof why,
             "%s: re-placing on nodes %s gains %.1f vCPU-s over %.0f s (distance %.1f, "
             "moving %llu MiB) against its current nodes.",
             d->name, list, gain, p->horizon_s, vn_placement_distance(topo, pl),
             (unsigned long long)moved);
    if (ds->replace_streak < after) {
        skip(c, ds, di, -1, VN_BAL_REPLACE_VM, VN_BAL_SKIP_HYSTERESIS, why);
        goto out;
    }
    int g = gate(c, d, ds, true, true);
    if (g >= 0) {
        skip(c, ds, di, -1, VN_BAL_REPLACE_VM, g, why);
        goto out;
    }
    int need = 1;
    for (int v = 0; v < d->nvnodes; v++)
        need += to[v] != d->vnodes[v].home;
    if (!room(c, need))
        goto out;
    struct vn_bal_action *a = push(c, VN_BAL_REPLACE_VM, di, -1);
    a->nodes_idx = nodes;
    memcpy(a->vnode_to_idx, to, sizeof to[0] * d->nvnodes);
    a->claim_os = pl->claim;
    snprintf(a->reason, sizeof a->reason, "%s", why);
    ds->actions++;
    ds->replaces++;
    ds->replace_streak = 0;
    ds->last_ns = now;
    for (int v = 0; v < d->nvnodes; v++) {
        struct vn_bal_vnode_state *vs = &ds->vnodes[v];
        if (to[v] == d->vnodes[v].home)
            continue;
        a = push(c, VN_BAL_SET_SOFT_AFFINITY, di, v);
        a->vcpus = w[v].vcpus;
        vn_bitmap_set(&a->nodes_idx, to[v]);
        snprintf(a->reason, sizeof a->reason, "%s vnode %d follows the re-placement to node %d.",
                 d->name, v, os(c, to[v]));
        ds->actions++;
        note_move(c, vs, d->vnodes[v].home, to[v], now - vs->last_ns);
        vs->home = to[v];
        soft_reset(&vs->soft, to[v]);
        vs->target = -1;
        vs->streak = 0;
        vs->last_ns = now;
        move_pressure(c, &w[v], to[v]);
    }
out:
    free(load);
    free(pl);
}

static void dom_init(const struct ctx *c, const struct vn_bal_dom_obs *d,
                     struct vn_bal_dom_state *ds)
{
    bool paused = ds->paused;
    memset(ds, 0, sizeof *ds);
    ds->init = true;
    ds->paused = paused;
    ds->nvnodes = d->nvnodes;
    ds->last_ns = NEVER;
    ds->tokens = c->p->vm_mib_s * c->p->burst_s;
    for (int v = 0; v < d->nvnodes; v++) {
        struct vn_bal_vnode_state *vs = &ds->vnodes[v];
        vs->home = d->vnodes[v].home;
        vs->target = -1;
        vs->prev_home = -1;
        vs->backoff = 1;
        vs->last_ns = NEVER;
        vs->locality = 1.0;
        soft_reset(&vs->soft, vs->home >= 0 ? vs->home : 0);
    }
}

static int validate(const struct vn_bal_params *p, const struct vn_bal_host_obs *h, int ndoms,
                    const struct vn_bal_dom_obs *doms, struct vn_error *err)
{
    if (!h->topo || !h->free_mib || !h->pressure)
        return vn_error_set(err, "the balancing observation lacks the host, its free memory or "
                                 "its CPU pressure.");
    int nn = h->topo->nnodes;
    if (nn < 1 || nn > VN_BAL_MAX_NODES)
        return vn_error_set(err, "balancing handles 1 to %d host nodes, not %d.", VN_BAL_MAX_NODES,
                            nn);
    if (h->interval_ns <= 0)
        return vn_error_set(err, "the observation interval must be positive, not %lld ns.",
                            (long long)h->interval_ns);
    if (h->load && h->load->nnodes != nn)
        return vn_error_set(err, "the host load has %d nodes but the host has %d.", h->load->nnodes,
                            nn);
    if (!(p->softaff.low < p->softaff.high) || p->confirm < 1 || p->replace_after < 1 ||
        p->softaff.max_steps < 0 || p->softaff.max_steps > VN_SOFTAFF_MAX_STEPS ||
        p->softaff.widen_after < 1 || p->softaff.narrow_after < 1 || p->burst_s <= 0 ||
        !(p->settle_pct >= 0 && p->settle_pct <= 100))
        return vn_error_set(
            err,
            "invalid balancing parameters: low %.2f must be below high "
            "%.2f, the counts at least 1, the burst positive, settle_pct within 0..100.",
            p->softaff.low, p->softaff.high);
    for (int i = 0; i < ndoms; i++) {
        const struct vn_bal_dom_obs *d = &doms[i];
        const char *name = d->name ? d->name : "?";
        if (d->nvnodes < 1 || d->nvnodes > VN_MAX_VNODES)
            return vn_error_set(err, "domain '%s' has %d vnodes; 1 to %d are possible.", name,
                                d->nvnodes, VN_MAX_VNODES);
        if (d->nvcpus < 0 || d->nvcpus > VN_MAX_VCPUS || (d->nvcpus && !d->vcpus))
            return vn_error_set(err, "domain '%s' has %d vCPUs observed; 0 to %d are possible.",
                                name, d->nvcpus, VN_MAX_VCPUS);
        for (int v = 0; v < d->nvnodes; v++) {
            if (!d->vnodes[v].resident_mib)
                return vn_error_set(err, "domain '%s' vnode %d has no residency.", name, v);
            if (d->vnodes[v].home < -1 || d->vnodes[v].home >= nn)
                return vn_error_set(err,
                                    "domain '%s' vnode %d has home node index %d; the host "
                                    "has %d nodes.",
                                    name, v, d->vnodes[v].home, nn);
        }
        for (int v = 0; v < d->nvcpus; v++)
            if (d->vcpus[v].vnode < 0 || d->vcpus[v].vnode >= d->nvnodes || d->vcpus[v].node < -1 ||
                d->vcpus[v].node >= nn)
                return vn_error_set(err,
                                    "domain '%s' vCPU %d names vnode %d and node index %d, "
                                    "which do not exist.",
                                    name, v, d->vcpus[v].vnode, d->vcpus[v].node);
    }
    return 0;
}

static void refill(double *tok, double rate, double cap, double secs)
{
    *tok += rate * secs;
    if (*tok > cap)
        *tok = cap;
}

int vn_bal_run(const struct vn_bal_params *p, struct vn_bal_state *st,
               const struct vn_bal_host_obs *host, int ndoms, const struct vn_bal_dom_obs *doms,
               struct vn_bal_dom_state *dst, struct vn_bal_action *out, int max_out, int *nout,
               struct vn_error *err)
{
    *nout = 0;
    if (validate(p, host, ndoms, doms, err) < 0)
        return -1;
    struct ctx *c = malloc(sizeof *c);
    struct vview *w = malloc(sizeof *w * VN_MAX_VNODES);
    if (!c || !w) {
        free(c);
        free(w);
        return vn_error_set(err, "out of memory while balancing.");
    }
    c->p = p;
    c->st = st;
    c->h = host;
    c->nn = host->topo->nnodes;
    c->dist = host->topo->dist;
    c->out = out;
    c->max_out = max_out;
    c->n = 0;
    for (int n = 0; n < c->nn; n++)
        c->ncpus[n] = vn_bitmap_count(&host->topo->nodes[n].cpus);

    /* Host state: the pressure average and the host bucket. */
    double secs = 0;
    if (!st->init || st->nnodes != c->nn) {
        bool paused = st->paused;
        vn_bal_state_init(st);
        st->init = true;
        st->paused = paused;
        st->nnodes = c->nn;
        st->tokens = p->host_mib_s * p->burst_s;
        for (int n = 0; n < c->nn; n++)
            st->pressure[n] = -1;
    } else if (host->now_ns > st->last_ns) {
        secs = (double)(host->now_ns - st->last_ns) / 1e9;
    }
    st->last_ns = host->now_ns;
    st->intervals++;
    refill(&st->tokens, p->host_mib_s, p->host_mib_s * p->burst_s, secs);
    vn_softaff_smooth(st->pressure, host->pressure, c->nn, p->pressure_alpha);
    memcpy(c->work, st->pressure, sizeof c->work[0] * c->nn);

    for (int di = 0; di < ndoms; di++) {
        const struct vn_bal_dom_obs *d = &doms[di];
        struct vn_bal_dom_state *ds = &dst[di];
        if (!ds->init || ds->nvnodes != d->nvnodes)
            dom_init(c, d, ds);
        else
            refill(&ds->tokens, p->vm_mib_s, p->vm_mib_s * p->burst_s, secs);
        bool acted = false;
        for (int v = 0; v < d->nvnodes; v++) {
            const struct vn_bal_vnode_obs *o = &d->vnodes[v];
            struct vn_bal_vnode_state *vs = &ds->vnodes[v];
            view(c, d, v, &w[v]);
            double loc = vn_bal_locality(d, v, c->nn);
            vs->locality += p->pressure_alpha * (loc - vs->locality);
            if (o->home < 0)
                continue;
            if (o->home != vs->home) {
                /* The record moved (our rehome or re-placement, or the user). */
                vs->home = o->home;
                soft_reset(&vs->soft, o->home);
                vs->target = -1;
                vs->streak = 0;
            }
            if (complete_move(c, d, ds, di, v, &w[v])) {
                /* A move can take minutes; CPU pressure on the home is not made to wait. */
                acted = true;
                soft_step(c, d, ds, di, v, &w[v]);
                continue;
            }
            if (rehome(c, d, ds, di, v, &w[v])) {
                acted = true;
                continue;
            }
            soft_step(c, d, ds, di, v, &w[v]);
        }
        if (!acted)
            replace(c, d, ds, di, w);
    }
    *nout = c->n;
    free(c);
    free(w);
    return 0;
}
