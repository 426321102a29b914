/* The vnuma placement algorithm (the default).
 *
 * For a VM without vNUMA in its config:
 *   1. candidate node sets are grown from every allowed seed node, two ways: nearest first
 *      (by the largest, then the summed distance to the nodes already in the set) and
 *      roomiest first (most free memory, then nearest).  A set is complete when it has the
 *      memory and at least one usable CPU per vCPU (libxl's feasibility rule).  n seeds x k
 *      steps x n nodes: polynomial, no subset enumeration;
 *   2. only the sets with the fewest nodes compete (libxl's "fewer nodes is better"); on
 *      hosts of up to 16 nodes every set of that size competes when they are few;
 *   3. each is split (vCPUs by usable CPUs, memory by vCPUs) and scored by vn_place_score();
 *      the lowest score wins, ties to the earlier seed, so the result is deterministic;
 *   4. one node: a flat guest bound there; several: a generated vNUMA guest whose vnodes
 *      mirror the nodes (sizes, vCPUs, distances from the host SLIT).
 * A config with vnodes goes to vn_place_spec_vnodes(). */
#include <stdio.h>

#include "place_int.h"

/* Weights of the score terms; docs/PLACEMENT.md explains each choice. */
#define W_DIST     1.0  /* memory-weighted vCPU-to-memory distance, (D - 10) / 10 */
#define W_MAXD     0.25 /* largest distance inside the set, (max - 10) / 10 */
#define W_PRESSURE 1.0  /* vCPUs per core-equivalent on the busiest node of the set, after */
#define W_MEM      0.1  /* memory use of the fullest node of the set, after (0..1) */
#define W_DEV      2.0  /* distance from the VM's PCI devices to the nearest node of the set */
#define W_AFF      1.0  /* share of the set outside the nodes of the VM's affinity group */
#define W_ANTI     10.0 /* share of the set on nodes of the VM's anti-affinity group */

static const char *const term_names[6] = {"distance", "max-dist", "pressure",
                                          "memory",   "devices",  "groups"};

double vn_place_score(const struct vn_place_ctx *ctx, const int *set, int k, const int *vc,
                      const uint64_t *mem, double *terms)
{
    const struct vn_host_topo *t = ctx->topo;
    const struct vn_host_load *load = ctx->load;
    double V = ctx->vcpus, M = (double)ctx->mem;
    double dist = 0, maxd = 10, pressure = 0, memuse = 0, dev = 0, groups = 0;
    for (int a = 0; a < k; a++) {
        int na = set[a];
        for (int b = 0; b < k; b++) {
            int d = vn_place_dist(t, na, set[b]);
            dist += (vc[a] / V) * ((double)mem[b] / M) * d;
            if (d > maxd)
                maxd = d;
        }
        double cap = ctx->cap[na];
        double p = cap > 0 ? (load->vcpus[na] + vc[a]) / cap : (vc[a] > 0 ? 10.0 : 0.0);
        if (p > pressure)
            pressure = p;
        double total = (double)t->nodes[na].mem_mib;
        if (total > 0) {
            double u = 1.0 - (double)(ctx->free[na] - mem[a]) / total;
            if (u > memuse)
                memuse = u;
        }
    }
    for (int d = 0; d < ctx->req->ndevs; d++) {
        int best = 1 << 30;
        for (int a = 0; a < k; a++) {
            int x = vn_place_dist(t, ctx->req->dev_nodes[d], set[a]);
            if (x < best)
                best = x;
        }
        dev += (best - 10) / 10.0;
    }
    if (ctx->req->ndevs)
        dev /= ctx->req->ndevs;
    if (ctx->aff && !vn_bitmap_empty(&ctx->aff->nodes)) {
        int in = 0;
        for (int a = 0; a < k; a++)
            in += vn_bitmap_test(&ctx->aff->nodes, set[a]);
        groups += W_AFF * (1.0 - (double)in / k);
    }
    if (ctx->anti) {
        int in = 0;
        for (int a = 0; a < k; a++)
            in += vn_bitmap_test(&ctx->anti->nodes, set[a]);
        groups += W_ANTI * (double)in / k;
    }
    double d0 = (dist - 10) / 10, m0 = (maxd - 10) / 10;
    if (terms) {
        terms[0] = d0;
        terms[1] = m0;
        terms[2] = pressure;
        terms[3] = memuse;
        terms[4] = dev;
        terms[5] = groups;
    }
    return W_DIST * d0 + W_MAXD * m0 + W_PRESSURE * pressure + W_MEM * memuse + W_DEV * dev +
           groups;
}

int vn_place_build_auto(const struct vn_place_ctx *ctx, const int *set, int k, const int *vc,
                        const uint64_t *mem, struct vn_placement *out, struct vn_error *err)
{
    const struct vn_host_topo *t = ctx->topo;
    const struct vn_vm_spec *spec = ctx->spec;
    struct vn_bitmap vnode_nodes[VN_MAX_VNODES];
    out->nvnodes = k;
    out->guest_numa = k > 1;
    out->generated = k > 1;
    int next_vcpu = 0;
    for (int i = 0; i < k; i++) {
        struct vn_place_vnode *vn = &out->vnodes[i];
        vn->mem_mib = mem[i];
        vn_bitmap_zero(&vn->pnodes);
        vn_bitmap_set(&vn->pnodes, t->nodes[set[i]].os_index);
        vn->policy = spec->mempolicy;
        vn_bitmap_zero(&vn->vcpus);
        if (vc[i] > 0)
            vn_bitmap_set_range(&vn->vcpus, next_vcpu, next_vcpu + vc[i] - 1);
        next_vcpu += vc[i];
        vn_bitmap_zero(&vnode_nodes[i]);
        vn_bitmap_set(&vnode_nodes[i], set[i]);
        for (int j = 0; j < k; j++)
            out->vdist[i][j] = vn_place_dist(t, set[i], set[j]);
        vn_placement_claim(out, t, set[i], mem[i], vc[i]);
    }
    return vn_placement_finish_affinity(out, ctx, vnode_nodes, err);
}

/* Grows a set from seed until it has the memory and the CPUs; returns its size or 0.
 * roomy: prefer free memory over distance when choosing the next node. */
static int grow(const struct vn_place_ctx *ctx, int seed, bool roomy, int limit, int *set,
                int *maxd, int *sumd, bool *in)
{
    const struct vn_host_topo *t = ctx->topo;
    int k = 0;
    uint64_t mem = 0;
    int cpus = 0;
    for (int n = 0; n < ctx->nn; n++) {
        maxd[n] = 0;
        sumd[n] = 0;
        in[n] = false;
    }
    int add = seed;
    while (add >= 0) {
        set[k++] = add;
        in[add] = true;
        mem += ctx->free[add];
        cpus += ctx->ncpus[add];
        if (mem >= ctx->mem && cpus >= ctx->need_cpus)
            return k;
        /* A set bigger than the best one found cannot win: stop growing it. */
        if (k == VN_MAX_VNODES || k == limit)
            return 0;
        for (int n = 0; n < ctx->nn; n++) {
            int d = vn_place_dist(t, add, n);
            sumd[n] += d;
            if (d > maxd[n])
                maxd[n] = d;
        }
        add = -1;
        bool need_mem = mem < ctx->mem, need_cpu = cpus < ctx->need_cpus;
        for (int n = 0; n < ctx->nn; n++) {
            if (in[n] || !ctx->allowed[n])
                continue;
            /* A node must bring something the set still lacks. */
            if (!((need_mem && ctx->free[n] > 0) || (need_cpu && ctx->ncpus[n] > 0)))
                continue;
            if (add < 0) {
                add = n;
                continue;
            }
            bool better;
            if (roomy && ctx->free[n] != ctx->free[add])
                better = ctx->free[n] > ctx->free[add];
            else if (maxd[n] != maxd[add])
                better = maxd[n] < maxd[add];
            else if (sumd[n] != sumd[add])
                better = sumd[n] < sumd[add];
            else
                better = ctx->free[n] > ctx->free[add];
            if (better)
                add = n;
        }
    }
    return 0;
}

#define ROOMY_SEEDS 8
/* Seeds a multi-node set may grow from: every node on hosts of up to MAX_SEEDS nodes, else
 * the MAX_SEEDS least loaded ones.  Keeps the work O(MAX_SEEDS * nodes * set size), under a
 * millisecond at 256 nodes (docs/BENCHMARKS.md). */
#define MAX_SEEDS 32

/* How attractive node n is to start a set from: current vCPU pressure plus memory use. */
static double seed_key(const struct vn_place_ctx *ctx, int n)
{
    double cap = ctx->cap[n];
    double p = cap > 0 ? ctx->load->vcpus[n] / cap : 10.0;
    double total = (double)ctx->topo->nodes[n].mem_mib;
    double u = total > 0 ? 1.0 - (double)ctx->free[n] / total : 1.0;
    return p + u;
}

/* The seeds in index order, at most MAX_SEEDS of them (the lowest seed_key, ties by index). */
static int pick_seeds(const struct vn_place_ctx *ctx, int *seeds)
{
    int n = 0;
    double keys[MAX_SEEDS];
    for (int i = 0; i < ctx->nn; i++) {
        if (!ctx->allowed[i] || (ctx->free[i] == 0 && ctx->ncpus[i] == 0))
            continue;
        double k = seed_key(ctx, i);
        int pos = n < MAX_SEEDS ? n : MAX_SEEDS;
        while (pos > 0 && keys[pos - 1] > k) {
            if (pos < MAX_SEEDS) {
                keys[pos] = keys[pos - 1];
                seeds[pos] = seeds[pos - 1];
            }
            pos--;
        }
        if (pos < MAX_SEEDS) {
            keys[pos] = k;
            seeds[pos] = i;
            if (n < MAX_SEEDS)
                n++;
        }
    }
    /* Back to index order, so that ties between candidates still go to the lower seed. */
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && seeds[b] < seeds[b - 1]; b--) {
            int x = seeds[b];
            seeds[b] = seeds[b - 1];
            seeds[b - 1] = x;
        }
    return n;
}

/* The free memory of the ROOMY_SEEDS-th roomiest allowed node (0 when fewer nodes). */
static long long roomiest_threshold(const struct vn_place_ctx *ctx)
{
    long long top[ROOMY_SEEDS];
    int n = 0;
    for (int i = 0; i < ctx->nn; i++) {
        if (!ctx->allowed[i])
            continue;
        long long f = (long long)ctx->free[i];
        int pos = n < ROOMY_SEEDS ? n : ROOMY_SEEDS;
        while (pos > 0 && top[pos - 1] < f) {
            if (pos < ROOMY_SEEDS)
                top[pos] = top[pos - 1];
            pos--;
        }
        if (pos < ROOMY_SEEDS) {
            top[pos] = f;
            if (n < ROOMY_SEEDS)
                n++;
        }
    }
    return n < ROOMY_SEEDS ? 0 : top[ROOMY_SEEDS - 1];
}

/* Sets of k nodes out of n are few enough to try them all (at most ENUM_MAX_SETS, only on
 * hosts of up to ENUM_MAX_NODES nodes, like libxl's own limit). */
#define ENUM_MAX_NODES 16
#define ENUM_MAX_SETS  2000
static bool few_combinations(int n, int k)
{
    if (n > ENUM_MAX_NODES || k > n)
        return false;
    double c = 1;
    for (int i = 1; i <= k; i++)
        c = c * (n - k + i) / i;
    return c * k <= ENUM_MAX_SETS * 4.0;
}

int vn_place_vnuma(const struct vn_place_ctx *ctx, struct vn_placement *out,
                   struct vn_place_explain *ex, struct vn_error *err)
{
    vn_explain_begin(ex, VN_PLACE_VNUMA, 6, term_names);
    vn_placement_begin(out, ctx, VN_PLACE_VNUMA);
    if (ctx->spec->nvnodes > 0)
        return vn_place_spec_vnodes(ctx, out, ex, err);

    int best_set[VN_MAX_VNODES], best_vc[VN_MAX_VNODES], best_k = 0;
    uint64_t best_mem[VN_MAX_VNODES];
    double best_score = 0;
    int set[VN_MAX_VNODES], vc[VN_MAX_VNODES];
    uint64_t mem[VN_MAX_VNODES];
    double terms[6];

    /* Single nodes first: most VMs fit on one, and then no set needs growing. */
    for (int n = 0; n < ctx->nn; n++) {
        if (!ctx->allowed[n] || ctx->free[n] < ctx->mem || ctx->ncpus[n] < ctx->need_cpus)
            continue;
        set[0] = n;
        vc[0] = ctx->vcpus;
        mem[0] = ctx->mem;
        double s = vn_place_score(ctx, set, 1, vc, mem, terms);
        vn_explain_offer(ex, ctx->topo, set, 1, s, terms);
        if (best_k == 0 || s < best_score) {
            best_k = 1;
            best_score = s;
            best_set[0] = n;
            best_vc[0] = vc[0];
            best_mem[0] = mem[0];
        }
    }
    if (best_k == 0) {
        int maxd_[VN_PLACE_MAX_NODES], sumd_[VN_PLACE_MAX_NODES];
        bool in_[VN_PLACE_MAX_NODES];
        /* Roomiest-first growth ends up with nearly the same set from any seed (the nodes
         * with the most free memory), so it only starts from the ROOMY_SEEDS roomiest nodes:
         * that halves the work on big hosts and loses nothing measurable (docs/PLACEMENT.md). */
        long long roomy_min = roomiest_threshold(ctx);
        int seeds[MAX_SEEDS];
        int nseeds = pick_seeds(ctx, seeds);
        for (int si = 0; si < nseeds; si++) {
            int seed = seeds[si];
            for (int roomy = 0; roomy < 2; roomy++) {
                if (roomy && (long long)ctx->free[seed] < roomy_min)
                    continue;
                int limit = best_k ? best_k + 1 : VN_MAX_VNODES + 1;
                int k = grow(ctx, seed, roomy, limit, set, maxd_, sumd_, in_);
                if (k == 0 || (best_k && k > best_k))
                    continue;
                if (vn_place_split(ctx, set, k, vc, mem) < 0)
                    continue;
                double s = vn_place_score(ctx, set, k, vc, mem, terms);
                vn_explain_offer(ex, ctx->topo, set, k, s, terms);
                if (best_k == 0 || k < best_k || s < best_score) {
                    best_k = k;
                    best_score = s;
                    vn_place_copy_split(k, set, vc, mem, best_set, best_vc, best_mem);
                }
            }
        }
    }
    /* On small hosts every set of the winning size competes too (libxl enumerates them; so
     * can we when there are few): the greedy growth then loses nothing at that size. */
    if (best_k > 1 && few_combinations(ctx->nn, best_k)) {
        int comb[VN_MAX_VNODES];
        for (int i = 0; i < best_k; i++)
            comb[i] = i;
        for (;;) {
            uint64_t fm = 0;
            int fc = 0;
            bool ok = true;
            for (int i = 0; i < best_k && ok; i++) {
                ok = ctx->allowed[comb[i]];
                fm += ctx->free[comb[i]];
                fc += ctx->ncpus[comb[i]];
            }
            if (ok && fm >= ctx->mem && fc >= ctx->need_cpus)
                for (int seed = 0; seed < best_k; seed++) {
                    set[0] = comb[seed];
                    for (int i = 0, j = 1; i < best_k; i++)
                        if (i != seed)
                            set[j++] = comb[i];
                    vn_place_order_from_seed(ctx->topo, set, best_k);
                    if (vn_place_split(ctx, set, best_k, vc, mem) < 0)
                        continue;
                    double s = vn_place_score(ctx, set, best_k, vc, mem, terms);
                    vn_explain_offer(ex, ctx->topo, set, best_k, s, terms);
                    if (s < best_score) {
                        best_score = s;
                        vn_place_copy_split(best_k, set, vc, mem, best_set, best_vc, best_mem);
                    }
                }
            /* Next combination in lexicographic order. */
            int i = best_k - 1;
            while (i >= 0 && comb[i] == ctx->nn - best_k + i)
                i--;
            if (i < 0)
                break;
            comb[i]++;
            for (int j = i + 1; j < best_k; j++)
                comb[j] = comb[j - 1] + 1;
        }
    }
    if (best_k == 0)
        return vn_place_no_fit(ctx, err);
    out->score = best_score;
    if (vn_place_build_auto(ctx, best_set, best_k, best_vc, best_mem, out, err) < 0)
        return -1;
    if (ex) {
        vn_explain_choose(ex, ctx->topo, best_set, best_k);
        snprintf(ex->why, sizeof ex->why,
                 best_k == 1 ? "The VM fits on one node; the node with the lowest score wins "
                               "(score = distance + 0.25 max-dist + pressure + 0.1 memory + 2 "
                               "devices + groups; lower is better)."
                             : "No single node has the memory and a CPU per vCPU, so node sets "
                               "grown from each seed compete; the fewest nodes first, then the "
                               "lowest score. The guest gets a vNUMA layout mirroring them.");
    }
    return 0;
}
