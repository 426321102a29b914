/* bench-place: placement quality and speed of the xen, vnuma and exact algorithms.
 *
 *   bench-place OUTDIR [SEED]
 *
 * Hosts: 2..256 nodes; symmetric (10/20) or EPYC-like distances (12 inside a 4-node socket,
 * 32 across); equal nodes (8 cores x 2 threads, 32 GiB) or unequal ones (alternating with
 * 4 cores x 2 threads, 16 GiB).  Streams: small, mixed, large (multi-node) VMs, and mixed
 * with PCI devices and affinity/anti-affinity groups.  Each stream is placed until its first
 * refusal, by each algorithm, on the same host.  Quality columns are taken over the prefix
 * of the stream that every algorithm placed, so that they compare the same VMs.
 *
 * Writes OUTDIR/results.csv (one row per host x stream x algorithm) and OUTDIR/exact.csv
 * (the stream objective of vnuma and xen against the exact optimum on <= 8 nodes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "place/place.h"

#define MAX_VMS 20000

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(2685821657736338717);
}

static int rng_range(uint64_t *s, int lo, int hi)
{
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

struct host_kind {
    int nodes;
    bool epyc;
    bool unequal;
};

static struct vn_host_topo *make_host(struct host_kind k)
{
    struct vn_host_topo *t = calloc(1, sizeof *t);
    snprintf(t->name, sizeof t->name, "%d-%s-%s", k.nodes, k.epyc ? "epyc" : "sym",
             k.unequal ? "unequal" : "equal");
    t->nnodes = k.nodes;
    t->nodes = calloc(k.nodes, sizeof *t->nodes);
    t->dist = calloc((size_t)k.nodes * k.nodes, sizeof *t->dist);
    t->cpus = calloc((size_t)k.nodes * 16, sizeof *t->cpus);
    t->npci = k.nodes;
    t->pci = calloc(k.nodes, sizeof *t->pci);
    int cpu = 0, core = 0;
    for (int n = 0; n < k.nodes; n++) {
        bool small = k.unequal && n % 2 == 1;
        int cores = small ? 4 : 8;
        struct vn_node *node = &t->nodes[n];
        node->os_index = n;
        node->package = k.epyc ? n / 4 : n;
        node->mem_mib = small ? 16384 : 32768;
        node->free_mib = node->mem_mib;
        for (int s = 0; s < 2; s++)
            for (int c = 0; c < cores; c++) {
                t->cpus[cpu] = (struct vn_cpu){cpu, n, node->package, core + c, s};
                vn_bitmap_set(&node->cpus, cpu);
                cpu++;
            }
        core += cores;
        for (int m = 0; m < k.nodes; m++)
            t->dist[n * k.nodes + m] = n == m ? 10 : !k.epyc ? 20 : n / 4 == m / 4 ? 12 : 32;
        snprintf(t->pci[n].addr, sizeof t->pci[n].addr, "0000:%02x:00.0", n % 256);
        snprintf(t->pci[n].name, sizeof t->pci[n].name, "nic");
        t->pci[n].node = n;
    }
    t->ncpus = cpu;
    t->npackages = k.epyc ? (k.nodes + 3) / 4 : k.nodes;
    return t;
}

static void free_host(struct vn_host_topo *t)
{
    free(t->nodes);
    free(t->cpus);
    free(t->dist);
    free(t->pci);
    free(t);
}

enum stream_kind { S_SMALL, S_MIXED, S_LARGE, S_DEVGROUPS, S_N };
static const char *const stream_names[S_N] = {"small", "mixed", "large", "devices+groups"};

static char group_names[8][16] = {"g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"};

/* The i-th VM of a stream, filled into s (which owns nothing: names point at statics). */
static void make_vm(enum stream_kind kind, uint64_t *rng, const struct vn_host_topo *t,
                    struct vn_vm_spec *s, char **pci_slot)
{
    memset(s, 0, sizeof *s);
    s->name = "vm";
    s->mempolicy = VN_MEMPOLICY_BIND;
    switch (kind) {
    case S_SMALL:
        s->vcpus = rng_range(rng, 1, 2);
        s->memory_mib = 512 * (uint64_t)rng_range(rng, 1, 4);
        break;
    case S_MIXED:
    case S_DEVGROUPS:
        s->vcpus = 1 << rng_range(rng, 0, 4);
        s->memory_mib = 1024 * (uint64_t)rng_range(rng, 1, 24);
        break;
    case S_LARGE:
        s->vcpus = rng_range(rng, 8, 40);
        s->memory_mib = 1024 * (uint64_t)rng_range(rng, 24, 80);
        break;
    case S_N:
        break;
    }
    s->maxvcpus = s->vcpus;
    s->maxmem_mib = s->memory_mib;
    if (kind == S_DEVGROUPS) {
        if (rng_next(rng) % 3 == 0) {
            *pci_slot = t->pci[rng_next(rng) % (uint64_t)t->npci].addr;
            s->npci = 1;
            s->pci = pci_slot;
        }
        int g = (int)(rng_next(rng) % 16);
        if (g < 4)
            s->affinity_group = group_names[g];
        else if (g < 8)
            s->anti_affinity_group = group_names[g];
    }
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Coefficient of variation of the vCPU pressure of the nodes. */
static double imbalance(const struct vn_host_topo *t, const struct vn_host_load *load)
{
    double sum = 0, sq = 0;
    for (int n = 0; n < t->nnodes; n++) {
        double p = load->vcpus[n] / vn_host_node_capacity(load, t, n);
        sum += p;
        sq += p * p;
    }
    double mean = sum / t->nnodes;
    if (mean <= 0)
        return 0;
    double var = sq / t->nnodes - mean * mean;
    return sqrt(var > 0 ? var : 0) / mean;
}

struct run {
    bool ran;
    int placed; /* before the first refusal */
    double us_total;
    int attempts;
    double *dist;      /* per placed VM */
    bool *one;         /* per placed VM: on one node */
    double *imbal;     /* imbalance after each placed VM */
    int *devd;         /* per placed VM: SLIT from its PCI device to its nearest node, 0 = none */
    signed char *anti; /* per placed VM: 1 = shares a node with its anti-affinity group,
                        * 0 = does not, -1 = has no anti-affinity group */
    char refusal[VN_ERROR_MSG_MAX];
};

static void run_stream(struct run *r, enum vn_place_algo algo, const struct vn_host_topo *t,
                       enum stream_kind kind, uint64_t seed, struct vn_host_load *load,
                       struct vn_placement *p)
{
    uint64_t rng = seed;
    struct vn_error err = {0};
    vn_host_load_init(load, t);
    r->placed = 0;
    r->us_total = 0;
    r->attempts = 0;
    r->ran = true;
    r->refusal[0] = '\0';
    for (int i = 0; i < MAX_VMS; i++) {
        struct vn_vm_spec s;
        char *pci = NULL;
        make_vm(kind, &rng, t, &s, &pci);
        struct vn_place_request req;
        if (vn_place_request_init(&req, &s, t, &err) < 0)
            abort();
        double t0 = now_us();
        int rc = vn_place(algo, t, load, &req, p, NULL, &err);
        r->us_total += now_us() - t0;
        r->attempts++;
        if (rc < 0) {
            snprintf(r->refusal, sizeof r->refusal, "%s", err.msg);
            if (algo == VN_PLACE_XEN && strstr(err.msg, "more than 16"))
                r->ran = false;
            return;
        }
        /* What xen does not look at: device locality and anti-affinity (measured before the
         * claim joins the load, so against the VMs placed earlier). */
        r->devd[r->placed] = 0;
        for (int d = 0; d < req.ndevs; d++) {
            int best = 1 << 30;
            for (int c = 0; c < p->claim.n; c++) {
                int x = t->dist[req.dev_nodes[d] * t->nnodes + p->claim.v[c].node];
                if (x < best)
                    best = x;
            }
            r->devd[r->placed] = best;
        }
        r->anti[r->placed] = -1;
        if (s.anti_affinity_group) {
            r->anti[r->placed] = 0;
            for (int g = 0; g < load->ngroups; g++)
                if (load->groups[g].anti &&
                    strcmp(load->groups[g].name, s.anti_affinity_group) == 0)
                    for (int c = 0; c < p->claim.n; c++)
                        if (vn_bitmap_test(&load->groups[g].nodes, p->claim.v[c].node))
                            r->anti[r->placed] = 1;
        }
        if (vn_host_load_add_claim(load, t, &p->claim, s.affinity_group, s.anti_affinity_group,
                                   &err) < 0)
            abort();
        r->dist[r->placed] = vn_placement_distance(t, p);
        r->one[r->placed] = p->claim.n == 1;
        r->imbal[r->placed] = imbalance(t, load);
        r->placed++;
    }
}

/* Stream objective of vnuma/xen vs exact on a small host: 10 mixed VMs scaled to the host. */
static void exact_experiment(FILE *csv, struct host_kind k, int seeds)
{
    struct vn_host_topo *t = make_host(k);
    struct vn_host_load *load = calloc(1, sizeof *load);
    struct vn_placement *pl = calloc(12, sizeof *pl);
    bool placed[12];
    for (int seed = 1; seed <= seeds; seed++) {
        uint64_t rng = 1000 + (uint64_t)seed * 7919 + (uint64_t)k.nodes;
        struct vn_vm_spec specs[12];
        struct vn_place_request reqs[12];
        char *pcis[12];
        struct vn_error err = {0};
        int n = 10;
        for (int i = 0; i < n; i++) {
            make_vm(S_MIXED, &rng, t, &specs[i], &pcis[i]);
            /* Scale to the host: about 80% of its memory over the stream. */
            specs[i].memory_mib = specs[i].memory_mib * (uint64_t)k.nodes / 16;
            specs[i].memory_mib -= specs[i].memory_mib % 256;
            if (specs[i].memory_mib < 512)
                specs[i].memory_mib = 512;
            specs[i].maxmem_mib = specs[i].memory_mib;
            vn_place_request_init(&reqs[i], &specs[i], t, &err);
        }
        vn_host_load_init(load, t);
        double opt;
        bool proven;
        double t0 = now_us();
        if (vn_place_stream_exact(t, load, reqs, n, pl, placed, &opt, &proven, &err) < 0) {
            fprintf(stderr, "exact: %s\n", err.msg);
            continue;
        }
        double ex_us = now_us() - t0;
        fprintf(csv, "%d,%s,%s,%d,exact,%.4f,0.0000,%.0f,%d\n", k.nodes, k.epyc ? "epyc" : "sym",
                k.unequal ? "unequal" : "equal", seed, opt, ex_us, proven);
        for (int a = 0; a < 2; a++) {
            enum vn_place_algo algo = a == 0 ? VN_PLACE_VNUMA : VN_PLACE_XEN;
            const struct vn_placement *pp[12];
            const struct vn_place_request *rp[12];
            vn_host_load_init(load, t);
            t0 = now_us();
            for (int i = 0; i < n; i++) {
                rp[i] = &reqs[i];
                pp[i] = NULL;
                if (vn_place(algo, t, load, &reqs[i], &pl[i], NULL, &err) == 0) {
                    vn_host_load_add_claim(load, t, &pl[i].claim, NULL, NULL, &err);
                    pp[i] = &pl[i];
                }
            }
            double us = now_us() - t0;
            double j = vn_place_stream_objective(t, load, pp, rp, n);
            fprintf(csv, "%d,%s,%s,%d,%s,%.4f,%.4f,%.0f,%d\n", k.nodes, k.epyc ? "epyc" : "sym",
                    k.unequal ? "unequal" : "equal", seed, vn_place_algo_name(algo), j,
                    opt > 0 ? j / opt - 1 : 0, us, proven);
        }
    }
    free(pl);
    free(load);
    free_host(t);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-place OUTDIR [SEED]\n");
        return 2;
    }
    uint64_t seed0 = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/results.csv", argv[1]);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        perror(path);
        return 1;
    }
    fprintf(csv, "nodes,distances,node_sizes,stream,algo,us_per_placement,placed_before_refusal,"
                 "compared_vms,share_one_node,mean_distance,imbalance_cv,mean_device_distance,"
                 "anti_affinity_shared\n");
    struct vn_host_load *load = calloc(1, sizeof *load);
    struct vn_placement *p = calloc(1, sizeof *p);
    struct run runs[2];
    for (int a = 0; a < 2; a++) {
        runs[a].dist = calloc(MAX_VMS, sizeof(double));
        runs[a].one = calloc(MAX_VMS, sizeof(bool));
        runs[a].imbal = calloc(MAX_VMS, sizeof(double));
        runs[a].devd = calloc(MAX_VMS, sizeof(int));
        runs[a].anti = calloc(MAX_VMS, sizeof(signed char));
    }
    static const int sizes[] = {2, 4, 8, 16, 32, 64, 128, 256};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int epyc = 0; epyc < 2; epyc++)
            for (int uneq = 0; uneq < 2; uneq++) {
                struct host_kind k = {sizes[si], epyc, uneq};
                struct vn_host_topo *t = make_host(k);
                for (int s = 0; s < S_N; s++) {
                    uint64_t seed = seed0 * 1000003 + (uint64_t)s * 101 + si * 7 + epyc * 3 + uneq;
                    static const enum vn_place_algo algos[2] = {VN_PLACE_VNUMA, VN_PLACE_XEN};
                    int common = MAX_VMS;
                    for (int a = 0; a < 2; a++) {
                        run_stream(&runs[a], algos[a], t, (enum stream_kind)s, seed, load, p);
                        if (runs[a].ran && runs[a].placed < common)
                            common = runs[a].placed;
                    }
                    for (int a = 0; a < 2; a++) {
                        struct run *r = &runs[a];
                        if (!r->ran) {
                            fprintf(csv, "%d,%s,%s,%s,%s,,,,,,,,\n", k.nodes, epyc ? "epyc" : "sym",
                                    uneq ? "unequal" : "equal", stream_names[s],
                                    vn_place_algo_name(algos[a]));
                            continue;
                        }
                        int one = 0, ndev = 0, nanti = 0, shared = 0;
                        double dsum = 0, devsum = 0;
                        for (int i = 0; i < common; i++) {
                            one += r->one[i];
                            dsum += r->dist[i];
                            if (r->devd[i]) {
                                ndev++;
                                devsum += r->devd[i];
                            }
                            if (r->anti[i] >= 0) {
                                nanti++;
                                shared += r->anti[i];
                            }
                        }
                        char extra[64] = ",";
                        if (s == S_DEVGROUPS)
                            snprintf(extra, sizeof extra, "%.4f,%.4f", ndev ? devsum / ndev : 0,
                                     nanti ? (double)shared / nanti : 0);
                        fprintf(csv, "%d,%s,%s,%s,%s,%.2f,%d,%d,%.4f,%.4f,%.4f,%s\n", k.nodes,
                                epyc ? "epyc" : "sym", uneq ? "unequal" : "equal", stream_names[s],
                                vn_place_algo_name(algos[a]), r->us_total / r->attempts, r->placed,
                                common, common ? (double)one / common : 0,
                                common ? dsum / common : 0, common ? r->imbal[common - 1] : 0,
                                extra);
                    }
                    fflush(csv);
                }
                free_host(t);
                fprintf(stderr, "hosts of %d nodes (%s, %s) done\n", k.nodes, epyc ? "epyc" : "sym",
                        uneq ? "unequal" : "equal");
            }
    fclose(csv);

    snprintf(path, sizeof path, "%s/exact.csv", argv[1]);
    csv = fopen(path, "w");
    if (!csv) {
        perror(path);
        return 1;
    }
    fprintf(csv, "nodes,distances,node_sizes,seed,algo,objective,gap_to_exact,us_total,proven\n");
    static const int small[] = {2, 4, 8};
    for (size_t si = 0; si < 3; si++)
        for (int epyc = 0; epyc < 2; epyc++)
            for (int uneq = 0; uneq < 2; uneq++)
                exact_experiment(csv, (struct host_kind){small[si], epyc, uneq}, 5);
    fclose(csv);
    for (int a = 0; a < 2; a++) {
        free(runs[a].dist);
        free(runs[a].one);
        free(runs[a].imbal);
        free(runs[a].devd);
        free(runs[a].anti);
    }
    free(load);
    free(p);
    return 0;
}
