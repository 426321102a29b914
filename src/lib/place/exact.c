/* The exact algorithm: exhaustive search on small hosts, the yardstick for the heuristics.
 *
 * One VM: every subset of the allowed nodes (<= 8 nodes: 255 subsets), each tried with every
 * member as the seed of the split, ranked like vnuma ranks (fewest nodes, then
 * vn_place_score) -- so the gap to vnuma is exactly what greedy set growth loses.
 *
 * A stream of VMs: branch and bound over the VMs in order, each VM taking any node set with
 * at most one node more than the fewest that fit at that point, minimising
 *     J = 1000 * (VMs left unplaced)
 *       + sum over VMs of (memory-weighted vCPU-to-memory distance / 10 + 2 * device term)
 *       + the largest node vCPU pressure at the end
 * (docs/PLACEMENT.md).  The bound adds each remaining VM's best cost on an empty host and
 * the mean pressure the remaining vCPUs force at least. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "place_int.h"

#define EXACT_MAX_NODES 8
#define EXACT_MAX_VMS   12
#define EXACT_UNPLACED  1000.0
/* Search nodes before the stream search settles for the best found (deterministic). */
#define EXACT_MAX_STEPS 2000000L

static const char *const term_names[6] = {"distance", "max-dist", "pressure",
                                          "memory",   "devices",  "groups"};

/* Members of mask as node indexes into set, seed first; returns k. */
static int mask_set(unsigned mask, int seed_pos, int *set)
{
    int k = 0, members[EXACT_MAX_NODES];
    for (int n = 0; n < EXACT_MAX_NODES; n++)
        if (mask & (1u << n))
            members[k++] = n;
    set[0] = members[seed_pos];
    for (int i = 0, j = 1; i < k; i++)
        if (i != seed_pos)
            set[j++] = members[i];
    return k;
}

int vn_place_exact(const struct vn_place_ctx *ctx, struct vn_placement *out,
                   struct vn_place_explain *ex, struct vn_error *err)
{
    const struct vn_host_topo *t = ctx->topo;
    vn_explain_begin(ex, VN_PLACE_EXACT, 6, term_names);
    vn_placement_begin(out, ctx, VN_PLACE_EXACT);
    if (t->nnodes > EXACT_MAX_NODES)
        return vn_error_set(err,
                            "the exact algorithm searches hosts of up to %d nodes and host '%s' "
                            "has %d; use '--algo vnuma'.",
                            EXACT_MAX_NODES, t->name, t->nnodes);
    /* A config's own vnodes leave nothing to enumerate but their pnodes; they follow the
     * vnuma rules. */
    if (ctx->spec->nvnodes > 0)
        return vn_place_spec_vnodes(ctx, out, ex, err);
    int best_set[EXACT_MAX_NODES], best_vc[EXACT_MAX_NODES], best_k = 0;
    uint64_t best_mem[EXACT_MAX_NODES];
    double best_s = 0;
    for (unsigned mask = 1; mask < (1u << t->nnodes); mask++) {
        int k = __builtin_popcount(mask);
        if (best_k && k > best_k)
            continue;
        uint64_t free = 0;
        int cpus = 0;
        bool ok = true;
        for (int n = 0; n < t->nnodes; n++)
            if (mask & (1u << n)) {
                ok = ok && ctx->allowed[n];
                free += ctx->free[n];
                cpus += ctx->ncpus[n];
            }
        if (!ok || free < ctx->mem || cpus < ctx->need_cpus)
            continue;
        for (int seed = 0; seed < k; seed++) {
            int set[EXACT_MAX_NODES], vc[EXACT_MAX_NODES];
            uint64_t mem[EXACT_MAX_NODES];
            double terms[6];
            mask_set(mask, seed, set);
            vn_place_order_from_seed(t, set, k);
            if (vn_place_split(ctx, set, k, vc, mem) < 0)
                continue;
            double s = vn_place_score(ctx, set, k, vc, mem, terms);
            vn_explain_offer(ex, t, set, k, s, terms);
            if (best_k == 0 || k < best_k || s < best_s) {
                best_k = k;
                best_s = s;
                vn_place_copy_split(k, set, vc, mem, best_set, best_vc, best_mem);
            }
        }
    }
    if (best_k == 0)
        return vn_place_no_fit(ctx, err);
    out->score = best_s;
    if (vn_place_build_auto(ctx, best_set, best_k, best_vc, best_mem, out, err) < 0)
        return -1;
    if (ex) {
        vn_explain_choose(ex, t, best_set, best_k);
        snprintf(ex->why, sizeof ex->why,
                 "Every node set was tried with every member as the seed; the fewest nodes, "
                 "then the lowest vnuma score won.");
    }
    return 0;
}

/* ---- stream ---- */

struct stream_vm {
    struct vn_place_ctx ctx; /* free/load fields are refreshed from the search state */
    double lb;               /* best cost on the initial host: the bound's share */
};

struct stream_search {
    const struct vn_host_topo *topo;
    int nn, nvms;
    struct stream_vm *vms;
    struct vn_host_load load; /* current state */
    double cap_total;
    double best;
    double cap[EXACT_MAX_NODES];
    /* twin[m][n]: swapping nodes m and n maps the host and every VM's constraints onto
     * themselves, so when they are also in the same state only one needs trying. */
    bool twin[EXACT_MAX_NODES][EXACT_MAX_NODES];
    unsigned best_masks[EXACT_MAX_VMS];
    int best_seeds[EXACT_MAX_VMS];
    unsigned masks[EXACT_MAX_VMS];
    int seeds[EXACT_MAX_VMS];
    long steps;
};

/* Cost of one VM on set with split: distance / 10 plus the device term (as in the score). */
static double vm_cost(const struct vn_place_ctx *ctx, const int *set, int k, const int *vc,
                      const uint64_t *mem)
{
    double terms[6];
    vn_place_score(ctx, set, k, vc, mem, terms);
    return terms[0] + 1.0 + 2.0 * terms[4];
}

static double max_pressure(const struct stream_search *s)
{
    double p = 0;
    for (int n = 0; n < s->nn; n++)
        if (s->cap[n] > 0 && s->load.vcpus[n] / s->cap[n] > p)
            p = s->load.vcpus[n] / s->cap[n];
    return p;
}

static void refresh(struct stream_search *s, struct vn_place_ctx *ctx)
{
    for (int n = 0; n < s->nn; n++)
        ctx->free[n] = vn_host_load_free_mib(&s->load, s->topo, n);
    ctx->load = &s->load;
}

/* True when an earlier node outside mask is a twin of n in the same state (same claims, same
 * groups): the child with that node instead of n is the same up to renaming, so only the one
 * with the earlier node is searched. */
static bool has_twin_before(const struct stream_search *s, unsigned mask, int n)
{
    for (int m = 0; m < n; m++) {
        if ((mask & (1u << m)) || !s->twin[m][n] || s->load.mem_mib[m] != s->load.mem_mib[n] ||
            s->load.vcpus[m] != s->load.vcpus[n])
            continue;
        bool same = true;
        for (int g = 0; g < s->load.ngroups && same; g++)
            same = vn_bitmap_test(&s->load.groups[g].nodes, m) ==
                   vn_bitmap_test(&s->load.groups[g].nodes, n);
        if (same)
            return true;
    }
    return false;
}

static void find_twins(struct stream_search *s, const struct vn_place_request *reqs)
{
    const struct vn_host_topo *t = s->topo;
    for (int m = 0; m < s->nn; m++)
        for (int n = 0; n < s->nn; n++) {
            bool tw =
                m != n && s->cap[m] == s->cap[n] && t->nodes[m].mem_mib == t->nodes[n].mem_mib &&
                vn_host_load_free_mib(&s->load, t, m) == vn_host_load_free_mib(&s->load, t, n);
            for (int x = 0; x < s->nn && tw; x++)
                if (x != m && x != n)
                    tw = vn_place_dist(t, m, x) == vn_place_dist(t, n, x) &&
                         vn_place_dist(t, x, m) == vn_place_dist(t, x, n);
            tw = tw && vn_place_dist(t, m, n) == vn_place_dist(t, n, m);
            for (int v = 0; v < s->nvms && tw; v++) {
                const struct vn_place_ctx *c = &s->vms[v].ctx;
                tw = c->allowed[m] == c->allowed[n] && c->ncpus[m] == c->ncpus[n] &&
                     c->cap[m] == c->cap[n];
                for (int d = 0; d < reqs[v].ndevs && tw; d++)
                    tw = reqs[v].dev_nodes[d] != m && reqs[v].dev_nodes[d] != n;
            }
            s->twin[m][n] = tw;
        }
}

static void search(struct stream_search *s, int i, double cost, int vcpus_left)
{
    if (++s->steps > EXACT_MAX_STEPS)
        return;
    double pmax = max_pressure(s);
    if (i == s->nvms) {
        double j = cost + pmax;
        if (j < s->best - 1e-12) {
            s->best = j;
            memcpy(s->best_masks, s->masks, sizeof s->masks);
            memcpy(s->best_seeds, s->seeds, sizeof s->seeds);
        }
        return;
    }
    double lb = cost, tail = 0;
    for (int v = i; v < s->nvms; v++)
        tail += s->vms[v].lb;
    double committed = 0;
    for (int n = 0; n < s->nn; n++)
        committed += s->load.vcpus[n];
    double mean = s->cap_total > 0 ? (committed + vcpus_left) / s->cap_total : 0;
    lb += tail + (pmax > mean ? pmax : mean);
    if (lb >= s->best - 1e-12)
        return;

    struct vn_place_ctx *ctx = &s->vms[i].ctx;
    refresh(s, ctx);
    /* The fewest nodes that fit now. */
    int kmin = 0;
    for (unsigned mask = 1; mask < (1u << s->nn); mask++) {
        uint64_t free = 0;
        int cpus = 0;
        bool ok = true;
        for (int n = 0; n < s->nn; n++)
            if (mask & (1u << n)) {
                ok = ok && ctx->allowed[n];
                free += ctx->free[n];
                cpus += ctx->ncpus[n];
            }
        int k = __builtin_popcount(mask);
        if (ok && free >= ctx->mem && cpus >= ctx->need_cpus && (kmin == 0 || k < kmin))
            kmin = k;
    }
    /* Children, best first so good solutions come early and prune the rest. */
    struct child {
        double c; /* the VM's cost */
        double p; /* largest node pressure after it */
        unsigned mask;
        int seed;
    } kids[256 * 2];
    int nk = 0;
    if (kmin) {
        for (unsigned mask = 1; mask < (1u << s->nn); mask++) {
            int k = __builtin_popcount(mask);
            if (k > kmin + 1 || k > 2 * EXACT_MAX_NODES)
                continue;
            bool ok = true;
            for (int n = 0; n < s->nn && ok; n++)
                if (mask & (1u << n))
                    ok = ctx->allowed[n] && !has_twin_before(s, mask, n);
            if (!ok)
                continue;
            /* Seeds only matter for how overflowing memory is spread; two are plenty. */
            for (int seed = 0; seed < k && seed < 2; seed++) {
                int set[EXACT_MAX_NODES], vc[EXACT_MAX_NODES];
                uint64_t mem[EXACT_MAX_NODES];
                mask_set(mask, seed, set);
                vn_place_order_from_seed(s->topo, set, k);
                if (vn_place_split(ctx, set, k, vc, mem) < 0)
                    continue;
                /* Ordered by the VM's cost plus the largest pressure after it: the
                 * objective's own terms, so the first dive is already a good solution. */
                double p = pmax;
                for (int x = 0; x < k; x++)
                    if (s->cap[set[x]] > 0 && (s->load.vcpus[set[x]] + vc[x]) / s->cap[set[x]] > p)
                        p = (s->load.vcpus[set[x]] + vc[x]) / s->cap[set[x]];
                if (nk < (int)(sizeof kids / sizeof kids[0]))
                    kids[nk++] = (struct child){vm_cost(ctx, set, k, vc, mem), p, mask, seed};
            }
        }
    }
    for (int a = 1; a < nk; a++)
        for (int b = a; b > 0 && kids[b].c + kids[b].p < kids[b - 1].c + kids[b - 1].p; b--) {
            struct child x = kids[b];
            kids[b] = kids[b - 1];
            kids[b - 1] = x;
        }
    int vmv = ctx->vcpus;
    double rest = tail - s->vms[i].lb;
    for (int c = 0; c < nk; c++) {
        /* The same bound as above, for the state after this child, without a search step. */
        double pk = kids[c].p > mean ? kids[c].p : mean;
        if (cost + kids[c].c + rest + pk >= s->best - 1e-12)
            continue;
        int set[EXACT_MAX_NODES], vc[EXACT_MAX_NODES];
        uint64_t mem[EXACT_MAX_NODES];
        int k = mask_set(kids[c].mask, kids[c].seed, set);
        vn_place_order_from_seed(s->topo, set, k);
        refresh(s, ctx);
        vn_place_split(ctx, set, k, vc, mem);
        for (int x = 0; x < k; x++) {
            s->load.mem_mib[set[x]] += mem[x];
            s->load.vcpus[set[x]] += vc[x];
        }
        s->masks[i] = kids[c].mask;
        s->seeds[i] = kids[c].seed;
        search(s, i + 1, cost + kids[c].c, vcpus_left - vmv);
        for (int x = 0; x < k; x++) {
            s->load.mem_mib[set[x]] -= mem[x];
            s->load.vcpus[set[x]] -= vc[x];
        }
    }
    /* Leaving the VM out is always possible and costs EXACT_UNPLACED. */
    s->masks[i] = 0;
    s->seeds[i] = 0;
    search(s, i + 1, cost + EXACT_UNPLACED, vcpus_left - vmv);
}

int vn_place_stream_exact(const struct vn_host_topo *topo, const struct vn_host_load *load,
                          const struct vn_place_request *reqs, int n, struct vn_placement *out,
                          bool *placed, double *objective, bool *proven, struct vn_error *err)
{
    if (topo->nnodes > EXACT_MAX_NODES || n > EXACT_MAX_VMS)
        return vn_error_set(err,
                            "the exact algorithm handles up to %d nodes and %d VMs; host '%s' "
                            "has %d nodes and the stream %d VMs.",
                            EXACT_MAX_NODES, EXACT_MAX_VMS, topo->name, topo->nnodes, n);
    struct stream_vm vms[EXACT_MAX_VMS];
    struct stream_search s;
    s.topo = topo;
    s.nn = topo->nnodes;
    s.nvms = n;
    s.vms = vms;
    s.load = *load;
    s.best = INFINITY;
    s.steps = 0;
    int vcpus_total = 0;
    for (int i = 0; i < n; i++) {
        if (reqs[i].spec->nvnodes > 0)
            return vn_error_set(err,
                                "the exact stream search places VMs without vnodes of their "
                                "own, and VM '%s' has %d.",
                                reqs[i].spec->name ? reqs[i].spec->name : "?",
                                reqs[i].spec->nvnodes);
        if (vn_place_ctx_init(&vms[i].ctx, topo, &s.load, &reqs[i], err) < 0)
            return -1;
        vcpus_total += vms[i].ctx.vcpus;
        /* Best cost on the host as it starts: a lower bound, since a VM's cost never gets
         * lower when others take room (one node at distance 10 is the floor anyway). */
        vms[i].lb = 1.0;
    }
    s.cap_total = 0;
    for (int x = 0; x < s.nn; x++) {
        s.cap[x] = vn_host_node_capacity(load, topo, x);
        s.cap_total += s.cap[x];
    }
    find_twins(&s, reqs);
    search(&s, 0, 0.0, vcpus_total);
    if (proven)
        *proven = s.steps <= EXACT_MAX_STEPS;
    if (!isfinite(s.best))
        return vn_error_set(err, "the exact search found no solution within %ld steps.",
                            (long)EXACT_MAX_STEPS);
    /* Replay the best choices to build the placements. */
    s.load = *load;
    for (int i = 0; i < n; i++) {
        struct vn_place_ctx *ctx = &vms[i].ctx;
        refresh(&s, ctx);
        vn_placement_begin(&out[i], ctx, VN_PLACE_EXACT);
        placed[i] = s.best_masks[i] != 0;
        if (!placed[i])
            continue;
        int set[EXACT_MAX_NODES], vc[EXACT_MAX_NODES];
        uint64_t mem[EXACT_MAX_NODES];
        int k = mask_set(s.best_masks[i], s.best_seeds[i], set);
        vn_place_order_from_seed(topo, set, k);
        vn_place_split(ctx, set, k, vc, mem);
        out[i].score = vm_cost(ctx, set, k, vc, mem);
        if (vn_place_build_auto(ctx, set, k, vc, mem, &out[i], err) < 0)
            return -1;
        for (int x = 0; x < k; x++) {
            s.load.mem_mib[set[x]] += mem[x];
            s.load.vcpus[set[x]] += vc[x];
        }
    }
    *objective = s.best;
    return 0;
}

double vn_place_stream_objective(const struct vn_host_topo *topo,
                                 const struct vn_host_load *final_load,
                                 const struct vn_placement *const *placements,
                                 const struct vn_place_request *const *reqs, int n)
{
    double j = 0;
    for (int i = 0; i < n; i++) {
        if (!placements[i]) {
            j += EXACT_UNPLACED;
            continue;
        }
        j += vn_placement_distance(topo, placements[i]) / 10.0;
        const struct vn_place_request *r = reqs[i];
        double dev = 0;
        for (int d = 0; r && d < r->ndevs; d++) {
            int best = 1 << 30;
            for (int c = 0; c < placements[i]->claim.n; c++) {
                int idx = vn_place_node_index(topo, placements[i]->claim.v[c].node);
                if (idx >= 0 && vn_place_dist(topo, r->dev_nodes[d], idx) < best)
                    best = vn_place_dist(topo, r->dev_nodes[d], idx);
            }
            dev += (best - 10) / 10.0;
        }
        if (r && r->ndevs)
            j += 2.0 * dev / r->ndevs;
    }
    double p = 0;
    for (int x = 0; x < topo->nnodes; x++) {
        double cap = vn_host_node_capacity(final_load, topo, x);
        if (cap > 0 && final_load->vcpus[x] / cap > p)
            p = final_load->vcpus[x] / cap;
    }
    return j + p;
}
