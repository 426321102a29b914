/* What every placement algorithm shares: lookups, the per-call context, building a
 * placement (affinity sets, claim), splitting a VM over nodes, "does not fit" messages, and
 * the public entry points that dispatch to an algorithm. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "place_int.h"

int vn_place_algo_parse(const char *s, enum vn_place_algo *out, struct vn_error *err)
{
    static const struct {
        const char *name;
        enum vn_place_algo algo;
    } names[] = {{"vnuma", VN_PLACE_VNUMA}, {"xen", VN_PLACE_XEN}, {"exact", VN_PLACE_EXACT}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].algo;
            return 0;
        }
    return vn_error_set(err, "placement algorithm '%s' is not one of 'xen', 'vnuma', 'exact'.", s);
}

const char *vn_place_algo_name(enum vn_place_algo algo)
{
    switch (algo) {
    case VN_PLACE_XEN:
        return "xen";
    case VN_PLACE_EXACT:
        return "exact";
    case VN_PLACE_VNUMA:
        break;
    }
    return "vnuma";
}

int vn_place_node_index(const struct vn_host_topo *topo, int os)
{
    int lo = 0, hi = topo->nnodes - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (topo->nodes[mid].os_index == os)
            return mid;
        if (topo->nodes[mid].os_index < os)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int vn_place_cpu_index(const struct vn_host_topo *topo, int os)
{
    /* CPUs are usually numbered densely, so try the direct slot first. */
    if (os >= 0 && os < topo->ncpus && topo->cpus[os].os_index == os)
        return os;
    int lo = 0, hi = topo->ncpus - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (topo->cpus[mid].os_index == os)
            return mid;
        if (topo->cpus[mid].os_index < os)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int vn_place_cpu_node(const struct vn_host_topo *topo, int os)
{
    int i = vn_place_cpu_index(topo, os);
    return i < 0 ? -1 : topo->cpus[i].node;
}

int vn_place_request_init(struct vn_place_request *req, const struct vn_vm_spec *spec,
                          const struct vn_host_topo *topo, struct vn_error *err)
{
    memset(req, 0, sizeof *req);
    req->spec = spec;
    for (int i = 0; i < spec->npci; i++) {
        const struct vn_pci_dev *dev = NULL;
        for (int j = 0; j < topo->npci && !dev; j++)
            if (strcasecmp(topo->pci[j].addr, spec->pci[i]) == 0)
                dev = &topo->pci[j];
        /* xl accepts the short form "03:00.0" for domain 0000. */
        for (int j = 0; j < topo->npci && !dev; j++)
            if (strncmp(topo->pci[j].addr, "0000:", 5) == 0 &&
                strcasecmp(topo->pci[j].addr + 5, spec->pci[i]) == 0)
                dev = &topo->pci[j];
        if (!dev)
            return vn_error_set(err, "PCI device '%s' is not on host '%s'.", spec->pci[i],
                                topo->name);
        if (dev->node < 0)
            continue; /* no locality: it does not pull the VM anywhere */
        if (req->ndevs == VN_PLACE_MAX_DEVS)
            return vn_error_set(err, "VM '%s' has more than %d PCI devices with a NUMA node.",
                                spec->name ? spec->name : "?", VN_PLACE_MAX_DEVS);
        req->dev_nodes[req->ndevs++] = dev->node;
    }
    return 0;
}

int vn_place_request_add_dev(struct vn_place_request *req, const struct vn_host_topo *topo,
                             int node, struct vn_error *err)
{
    if (node < 0 || node >= topo->nnodes)
        return vn_error_set(err, "device node index %d is not on host '%s'.", node, topo->name);
    if (req->ndevs == VN_PLACE_MAX_DEVS)
        return vn_error_set(err, "VM '%s' has more than %d devices with a NUMA node.",
                            req->spec && req->spec->name ? req->spec->name : "?",
                            VN_PLACE_MAX_DEVS);
    req->dev_nodes[req->ndevs++] = node;
    return 0;
}

/* Sets dst to the sets of an affinity minus the reserved CPUs, after checking them. */
static int affinity_union(const struct vn_place_ctx *ctx, const struct vn_affinity *a,
                          const char *key, struct vn_bitmap *dst, struct vn_error *err)
{
    vn_bitmap_zero(dst);
    for (int i = 0; i < a->nsets; i++) {
        const char *text = a->text && a->text[i] ? a->text[i] : "?";
        VN_BITMAP_FOREACH(c, &a->sets[i])
        {
            if (vn_place_cpu_index(ctx->topo, c) < 0)
                return vn_error_set(err, "%s '%s' names CPU '%d', which host '%s' does not have.",
                                    key, text, c, ctx->topo->name);
        }
        struct vn_bitmap s = a->sets[i];
        vn_bitmap_andnot(&s, &ctx->load->reserve_cpus);
        if (vn_bitmap_empty(&s) && !vn_bitmap_empty(&a->sets[i]))
            return vn_error_set(err, "%s '%s' has only CPUs that are kept for the host.", key,
                                text);
        vn_bitmap_or(dst, &s);
    }
    return 0;
}

int vn_place_ctx_init(struct vn_place_ctx *ctx, const struct vn_host_topo *topo,
                      const struct vn_host_load *load, const struct vn_place_request *req,
                      struct vn_error *err)
{
    const struct vn_vm_spec *spec = req->spec;
    const char *name = spec->name ? spec->name : "?";
    ctx->topo = topo;
    ctx->load = load;
    ctx->req = req;
    ctx->spec = spec;
    ctx->nn = topo->nnodes;
    if (topo->nnodes < 1)
        return vn_error_set(err, "host '%s' has no NUMA node.", topo->name);
    if (topo->nnodes > VN_PLACE_MAX_NODES)
        return vn_error_set(err, "host '%s' has %d nodes; placement supports up to %d.", topo->name,
                            topo->nnodes, VN_PLACE_MAX_NODES);
    if (load->nnodes != topo->nnodes)
        return vn_error_set(err, "the load was made for %d nodes but host '%s' has %d.",
                            load->nnodes, topo->name, topo->nnodes);
    ctx->vcpus = spec->maxvcpus > spec->vcpus ? spec->maxvcpus : spec->vcpus;
    ctx->mem = spec->memory_mib;
    if (ctx->vcpus < 1 || ctx->vcpus > VN_MAX_VCPUS)
        return vn_error_set(err, "VM '%s' has %d vCPUs; placement needs 1 to %d.", name, ctx->vcpus,
                            VN_MAX_VCPUS);
    if (ctx->mem < 1)
        return vn_error_set(err, "VM '%s' has no memory to place.", name);
    if (spec->nvnodes < 0 || spec->nvnodes > VN_MAX_VNODES)
        return vn_error_set(err, "VM '%s' has %d vnodes; placement supports up to %d.", name,
                            spec->nvnodes, VN_MAX_VNODES);
    if (affinity_union(ctx, &spec->cpus, "cpus", &ctx->hard_union, err) < 0 ||
        affinity_union(ctx, &spec->cpus_soft, "cpus_soft", &ctx->soft_union, err) < 0)
        return -1;
    if (!vn_bitmap_empty(&ctx->hard_union) && !vn_bitmap_empty(&ctx->soft_union) &&
        !vn_bitmap_intersects(&ctx->hard_union, &ctx->soft_union))
        return vn_error_set(err,
                            "cpus_soft '%s' shares no CPU with cpus '%s', so the vCPUs could "
                            "never run where they prefer.",
                            spec->cpus_soft.text ? spec->cpus_soft.text[0] : "?",
                            spec->cpus.text ? spec->cpus.text[0] : "?");
    for (int n = 0; n < ctx->nn; n++) {
        ctx->free[n] = vn_host_load_free_mib(load, topo, n);
        ctx->cap[n] = 0;
        ctx->ncpus[n] = 0;
    }
    bool hard = !vn_bitmap_empty(&ctx->hard_union);
    for (int i = 0; i < topo->ncpus; i++) {
        const struct vn_cpu *c = &topo->cpus[i];
        if (c->node < 0 || c->node >= ctx->nn || vn_bitmap_test(&load->reserve_cpus, c->os_index))
            continue;
        if (hard && !vn_bitmap_test(&ctx->hard_union, c->os_index))
            continue;
        ctx->ncpus[c->node]++;
        /* The first thread of a core is a core; its siblings add VN_PLACE_SMT_WEIGHT each. */
        ctx->cap[c->node] += c->smt == 0 ? 1.0 : VN_PLACE_SMT_WEIGHT;
    }
    /* Which nodes may hold the VM: libxl only considers nodes with CPUs in the hard affinity
     * (libxl_dom.c numa_place_domain); we also follow cpus_soft, which says where the user
     * wants the vCPUs to run, so the memory should be there too. */
    const struct vn_bitmap *restrict_to = !vn_bitmap_empty(&ctx->soft_union) ? &ctx->soft_union
                                          : hard                             ? &ctx->hard_union
                                                                             : NULL;
    int usable = 0;
    for (int n = 0; n < ctx->nn; n++) {
        ctx->allowed[n] = !restrict_to || vn_bitmap_intersects(&topo->nodes[n].cpus, restrict_to);
        usable += ctx->allowed[n] ? ctx->ncpus[n] : 0;
    }
    ctx->need_cpus = ctx->vcpus < usable ? ctx->vcpus : usable;
    if (usable == 0)
        return vn_place_no_fit(ctx, err);
    ctx->aff = ctx->anti = NULL;
    for (int g = 0; g < load->ngroups; g++) {
        const struct vn_place_group *grp = &load->groups[g];
        if (!grp->anti && spec->affinity_group && strcmp(grp->name, spec->affinity_group) == 0)
            ctx->aff = grp;
        if (grp->anti && spec->anti_affinity_group &&
            strcmp(grp->name, spec->anti_affinity_group) == 0)
            ctx->anti = grp;
    }
    for (int d = 0; d < req->ndevs; d++)
        if (req->dev_nodes[d] < 0 || req->dev_nodes[d] >= ctx->nn)
            return vn_error_set(err,
                                "a PCI device of VM '%s' is on node index %d, which host "
                                "'%s' does not have.",
                                name, req->dev_nodes[d], topo->name);
    return 0;
}

void vn_placement_begin(struct vn_placement *out, const struct vn_place_ctx *ctx,
                        enum vn_place_algo algo)
{
    out->algo = algo;
    out->vcpus = ctx->vcpus;
    out->mem_mib = ctx->mem;
    out->guest_numa = false;
    out->generated = false;
    out->nvnodes = 0;
    out->nsets = 0;
    out->claim.n = 0;
    out->score = 0;
    for (int v = 0; v < ctx->vcpus; v++) {
        out->vcpu_vnode[v] = -1;
        out->vcpu_soft[v] = -1;
        out->vcpu_hard[v] = -1;
    }
}

int vn_placement_add_set(struct vn_placement *out, const struct vn_bitmap *s)
{
    for (int i = 0; i < out->nsets; i++)
        if (vn_bitmap_equal(&out->sets[i], s))
            return i;
    if (out->nsets == VN_PLACE_MAX_SETS)
        return -1;
    out->sets[out->nsets] = *s;
    return out->nsets++;
}

void vn_placement_claim(struct vn_placement *out, const struct vn_host_topo *topo, int n,
                        uint64_t mem_mib, int vcpus)
{
    int os = topo->nodes[n].os_index;
    for (int i = 0; i < out->claim.n; i++)
        if (out->claim.v[i].node == os) {
            out->claim.v[i].mem_mib += mem_mib;
            out->claim.v[i].vcpus += vcpus;
            return;
        }
    /* A VM never spans more than VN_MAX_VNODES nodes: callers cap their sets at that. */
    if (out->claim.n < VN_MAX_VNODES)
        out->claim.v[out->claim.n++] = (struct vn_claim_node){os, mem_mib, vcpus};
}

/* Node index with usable CPUs nearest to node index n (n itself when it has some). */
static int nearest_cpu_node(const struct vn_place_ctx *ctx, int n)
{
    int best = -1;
    for (int m = 0; m < ctx->nn; m++) {
        if (ctx->ncpus[m] == 0)
            continue;
        if (best < 0 || vn_place_dist(ctx->topo, n, m) < vn_place_dist(ctx->topo, n, best))
            best = m;
    }
    return best < 0 ? n : best;
}

static int too_many_sets(struct vn_error *err)
{
    return vn_error_set(err, "the VM's vCPUs have more than %d different CPU sets.",
                        VN_PLACE_MAX_SETS);
}

int vn_placement_finish_affinity(struct vn_placement *out, const struct vn_place_ctx *ctx,
                                 const struct vn_bitmap *vnode_nodes, struct vn_error *err)
{
    const struct vn_vm_spec *spec = ctx->spec;
    const struct vn_bitmap *reserved = &ctx->load->reserve_cpus;
    bool hard_uniform = spec->cpus.nsets == 1 && !spec->cpus.per_vcpu;
    for (int i = 0; i < out->nvnodes; i++) {
        struct vn_place_vnode *vn = &out->vnodes[i];
        struct vn_bitmap cpus;
        vn_bitmap_zero(&cpus);
        VN_BITMAP_FOREACH(n, &vnode_nodes[i])
        vn_bitmap_or(&cpus, &ctx->topo->nodes[n].cpus);
        vn_bitmap_andnot(&cpus, reserved);
        if (vn_bitmap_empty(&cpus)) {
            /* A memory-only pnode: its vCPUs prefer the nearest CPUs instead. */
            int first = vn_bitmap_next(&vnode_nodes[i], -1);
            if (first >= 0)
                cpus = ctx->topo->nodes[nearest_cpu_node(ctx, first)].cpus;
            vn_bitmap_andnot(&cpus, reserved);
        }
        if (!vn_bitmap_empty(&ctx->hard_union) && vn_bitmap_intersects(&cpus, &ctx->hard_union))
            vn_bitmap_and(&cpus, &ctx->hard_union);
        if ((vn->soft = vn_placement_add_set(out, &cpus)) < 0)
            return too_many_sets(err);
        vn->hard = -1;
        if (hard_uniform) {
            struct vn_bitmap h = spec->cpus.sets[0];
            vn_bitmap_andnot(&h, reserved);
            if ((vn->hard = vn_placement_add_set(out, &h)) < 0)
                return too_many_sets(err);
        }
        VN_BITMAP_FOREACH(v, &vn->vcpus)
        {
            if (v >= out->vcpus)
                break;
            out->vcpu_vnode[v] = i;
            out->vcpu_soft[v] = vn->soft;
            out->vcpu_hard[v] = vn->hard;
        }
    }
    /* What the user wrote wins over what placement derived (xl semantics: a list gives
     * vCPU i the i-th set, and vCPUs past the list keep no affinity). */
    for (int pass = 0; pass < 2; pass++) {
        const struct vn_affinity *a = pass == 0 ? &spec->cpus : &spec->cpus_soft;
        int *slot = pass == 0 ? out->vcpu_hard : out->vcpu_soft;
        if (a->nsets == 0 || (pass == 0 && hard_uniform))
            continue;
        for (int v = 0; v < out->vcpus; v++) {
            const struct vn_bitmap *src = NULL;
            if (a->per_vcpu || a->nsets > 1)
                src = v < a->nsets ? &a->sets[v] : NULL;
            else
                src = &a->sets[0];
            if (!src) {
                if (pass == 0)
                    slot[v] = -1;
                continue;
            }
            struct vn_bitmap s = *src;
            vn_bitmap_andnot(&s, reserved);
            if ((slot[v] = vn_placement_add_set(out, &s)) < 0)
                return too_many_sets(err);
        }
    }
    return 0;
}

int vn_place_largest_free(const struct vn_place_ctx *ctx, uint64_t *mib)
{
    int best = -1;
    for (int n = 0; n < ctx->nn; n++)
        if (ctx->allowed[n] && (best < 0 || ctx->free[n] > ctx->free[best]))
            best = n;
    *mib = best < 0 ? 0 : ctx->free[best];
    return best;
}

int vn_place_no_fit(const struct vn_place_ctx *ctx, struct vn_error *err)
{
    uint64_t total = 0;
    int cpus = 0, reserved = 0;
    for (int n = 0; n < ctx->nn; n++) {
        if (!ctx->allowed[n])
            continue;
        total += ctx->free[n];
        cpus += ctx->ncpus[n];
    }
    reserved = vn_bitmap_count(&ctx->load->reserve_cpus);
    const char *name = ctx->spec->name ? ctx->spec->name : "?";
    const char *where = vn_bitmap_empty(&ctx->soft_union) && vn_bitmap_empty(&ctx->hard_union)
                            ? "the host has"
                            : "the nodes its cpus/cpus_soft allow have";
    if (total < ctx->mem) {
        uint64_t largest;
        int n = vn_place_largest_free(ctx, &largest);
        return vn_error_set(err,
                            "VM '%s' does not fit: it needs %llu MiB and %s %llu MiB free in all "
                            "(the largest free is %llu MiB on node %d).",
                            name, (unsigned long long)ctx->mem, where, (unsigned long long)total,
                            (unsigned long long)largest, n < 0 ? -1 : ctx->topo->nodes[n].os_index);
    }
    if (cpus == 0)
        return vn_error_set(err,
                            "VM '%s' does not fit: it needs CPUs and %s none it may use (%d kept "
                            "for the host).",
                            name, where, reserved);
    return vn_error_set(err,
                        "VM '%s' does not fit: no set of nodes has %llu MiB free and %d usable "
                        "CPUs together.",
                        name, (unsigned long long)ctx->mem, ctx->need_cpus);
}

void vn_place_order_from_seed(const struct vn_host_topo *t, int *set, int k)
{
    for (int a = 2; a < k; a++)
        for (int b = a; b > 1; b--) {
            int db = vn_place_dist(t, set[0], set[b]), dp = vn_place_dist(t, set[0], set[b - 1]);
            if (db > dp || (db == dp && set[b] > set[b - 1]))
                break;
            int x = set[b];
            set[b] = set[b - 1];
            set[b - 1] = x;
        }
}

void vn_place_copy_split(int k, const int *set, const int *vc, const uint64_t *mem, int *set_out,
                         int *vc_out, uint64_t *mem_out)
{
    memcpy(set_out, set, sizeof set[0] * (size_t)k);
    memcpy(vc_out, vc, sizeof vc[0] * (size_t)k);
    memcpy(mem_out, mem, sizeof mem[0] * (size_t)k);
}

int vn_place_split(const struct vn_place_ctx *ctx, const int *set, int k, int *vc, uint64_t *mem)
{
    int V = ctx->vcpus;
    uint64_t M = ctx->mem;
    long W = 0;
    for (int i = 0; i < k; i++)
        W += ctx->ncpus[set[i]];
    /* vCPUs in proportion to usable CPUs (largest remainder, ties to the earlier node). */
    long rem[VN_MAX_VNODES];
    int given = 0;
    for (int i = 0; i < k; i++) {
        long w = W ? ctx->ncpus[set[i]] : 1;
        long ww = W ? W : k;
        vc[i] = (int)((long)V * w / ww);
        rem[i] = (long)V * w % ww;
        given += vc[i];
    }
    while (given < V) {
        int best = 0;
        for (int i = 1; i < k; i++)
            if (rem[i] > rem[best])
                best = i;
        vc[best]++;
        rem[best] = -1;
        given++;
    }
    /* Memory in proportion to vCPUs so each vnode keeps the VM's memory per vCPU, rounded
     * down to 64 MiB, capped by what the node has free; the rest goes to nodes with room in
     * set order (closest to the seed first). */
    uint64_t placed = 0;
    for (int i = 0; i < k; i++) {
        uint64_t t = M * (uint64_t)vc[i] / (uint64_t)V;
        t -= t % 64;
        mem[i] = t < ctx->free[set[i]] ? t : ctx->free[set[i]];
        placed += mem[i];
    }
    for (int i = 0; i < k && placed < M; i++) {
        uint64_t room = ctx->free[set[i]] - mem[i];
        uint64_t add = M - placed < room ? M - placed : room;
        mem[i] += add;
        placed += add;
    }
    return placed == M ? 0 : -1;
}

void vn_explain_begin(struct vn_place_explain *ex, enum vn_place_algo algo, int nterms,
                      const char *const *names)
{
    if (!ex)
        return;
    ex->algo = algo;
    ex->considered = 0;
    ex->ncands = 0;
    ex->nterms = nterms;
    for (int i = 0; i < nterms && i < 6; i++)
        ex->term_names[i] = names[i];
    ex->why[0] = '\0';
}

void vn_explain_offer(struct vn_place_explain *ex, const struct vn_host_topo *topo, const int *set,
                      int k, double score, const double *terms)
{
    if (!ex)
        return;
    ex->considered++;
    struct vn_place_cand c;
    vn_bitmap_zero(&c.nodes);
    for (int i = 0; i < k; i++)
        vn_bitmap_set(&c.nodes, topo->nodes[set[i]].os_index);
    /* The same set reached from two seeds is one candidate. */
    for (int i = 0; i < ex->ncands; i++)
        if (vn_bitmap_equal(&ex->cands[i].nodes, &c.nodes))
            return;
    c.score = score;
    c.chosen = false;
    for (int i = 0; i < 6; i++)
        c.terms[i] = terms && i < ex->nterms ? terms[i] : 0;
    int pos = ex->ncands;
    while (pos > 0) {
        const struct vn_place_cand *p = &ex->cands[pos - 1];
        int pk = vn_bitmap_count(&p->nodes);
        if (pk < k || (pk == k && p->score <= score))
            break;
        pos--;
    }
    if (pos >= VN_PLACE_MAX_CANDS)
        return;
    int last = ex->ncands < VN_PLACE_MAX_CANDS ? ex->ncands : VN_PLACE_MAX_CANDS - 1;
    memmove(&ex->cands[pos + 1], &ex->cands[pos], sizeof c * (size_t)(last - pos));
    ex->cands[pos] = c;
    if (ex->ncands < VN_PLACE_MAX_CANDS)
        ex->ncands++;
}

void vn_explain_choose(struct vn_place_explain *ex, const struct vn_host_topo *topo, const int *set,
                       int k)
{
    if (!ex)
        return;
    struct vn_bitmap chosen;
    vn_bitmap_zero(&chosen);
    for (int i = 0; i < k; i++)
        vn_bitmap_set(&chosen, topo->nodes[set[i]].os_index);
    for (int i = 0; i < ex->ncands; i++)
        ex->cands[i].chosen = vn_bitmap_equal(&ex->cands[i].nodes, &chosen);
}

int vn_place(enum vn_place_algo algo, const struct vn_host_topo *topo,
             const struct vn_host_load *load, const struct vn_place_request *req,
             struct vn_placement *out, struct vn_place_explain *explain, struct vn_error *err)
{
    struct vn_place_ctx ctx;
    if (vn_place_ctx_init(&ctx, topo, load, req, err) < 0)
        return -1;
    switch (algo) {
    case VN_PLACE_XEN:
        return vn_place_xen(&ctx, out, explain, err);
    case VN_PLACE_EXACT:
        return vn_place_exact(&ctx, out, explain, err);
    case VN_PLACE_VNUMA:
        break;
    }
    return vn_place_vnuma(&ctx, out, explain, err);
}

double vn_placement_distance(const struct vn_host_topo *topo, const struct vn_placement *p)
{
    const struct vn_claim *c = &p->claim;
    int idx[VN_MAX_VNODES];
    double vt = 0, mt = 0;
    for (int i = 0; i < c->n; i++) {
        idx[i] = vn_place_node_index(topo, c->v[i].node);
        vt += c->v[i].vcpus;
        mt += (double)c->v[i].mem_mib;
    }
    if (c->n == 0 || mt == 0)
        return 10.0;
    double d = 0;
    for (int a = 0; a < c->n; a++) {
        /* A claim without vCPUs anywhere (cannot happen for a VM) weighs nodes equally. */
        double wa = vt > 0 ? c->v[a].vcpus / vt : 1.0 / c->n;
        if (wa == 0 || idx[a] < 0)
            continue;
        for (int b = 0; b < c->n; b++)
            if (idx[b] >= 0)
                d += wa * ((double)c->v[b].mem_mib / mt) * vn_place_dist(topo, idx[a], idx[b]);
    }
    return d;
}

const struct vn_bitmap *vn_placement_soft(const struct vn_placement *p, int v)
{
    if (v < 0 || v >= p->vcpus || p->vcpu_soft[v] < 0)
        return NULL;
    return &p->sets[p->vcpu_soft[v]];
}

const struct vn_bitmap *vn_placement_hard(const struct vn_placement *p, int v)
{
    if (v < 0 || v >= p->vcpus || p->vcpu_hard[v] < 0)
        return NULL;
    return &p->sets[p->vcpu_hard[v]];
}
