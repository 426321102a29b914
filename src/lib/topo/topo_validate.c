/* The invariants placement and the simulator rely on, checked once for every source, so
 * that no consumer has to be defensive about a host.  Messages name nodes and CPUs by
 * their Linux numbers, as the user knows them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cleanup.h"
#include "topo_int.h"

bool vn_topo_pci_addr_valid(const char *s)
{
    static const char pattern[] = "xxxx:xx:xx.x";
    if (strlen(s) != sizeof pattern - 1)
        return false;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] != 'x') {
            if (s[i] != pattern[i])
                return false;
        } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
            return false;
        }
    }
    /* PCI functions are 0..7. */
    return s[11] <= '7';
}

static int validate_nodes(const struct vn_host_topo *t, struct vn_error *err)
{
    if (t->nnodes < 1)
        return vn_error_set(err, "the host has no NUMA node");
    if (t->nnodes > VN_TOPO_MAX_NODES)
        return vn_error_set(err, "the host has %d NUMA nodes; at most %d are supported", t->nnodes,
                            VN_TOPO_MAX_NODES);
    for (int i = 0; i < t->nnodes; i++) {
        const struct vn_node *n = &t->nodes[i];
        if (n->os_index < 0 || n->os_index >= VN_BITMAP_BITS)
            return vn_error_set(err, "node number '%d' is outside 0 to %d", n->os_index,
                                VN_BITMAP_BITS - 1);
        if (i > 0 && n->os_index <= t->nodes[i - 1].os_index)
            return vn_error_set(err,
                                "node %d comes after node %d; nodes must be sorted by number "
                                "without duplicates",
                                n->os_index, t->nodes[i - 1].os_index);
        if (n->mem_mib == 0)
            return vn_error_set(err, "node %d has no memory", n->os_index);
        /* One bound for every source, so that any host's JSON output loads back. */
        if (n->mem_mib > VN_TOPO_MAX_NODE_MIB)
            return vn_error_set(
                err, "node %d has '%llu' MiB; at most %llu MiB (1 EiB) are supported", n->os_index,
                (unsigned long long)n->mem_mib, (unsigned long long)VN_TOPO_MAX_NODE_MIB);
        if (n->free_mib > n->mem_mib)
            return vn_error_set(err, "node %d has '%llu' MiB free but only '%llu' MiB in all",
                                n->os_index, (unsigned long long)n->free_mib,
                                (unsigned long long)n->mem_mib);
        if (!n->free_known && n->free_mib != n->mem_mib)
            return vn_error_set(err,
                                "node %d: free memory is unknown, so it must equal the node's "
                                "size '%llu' MiB",
                                n->os_index, (unsigned long long)n->mem_mib);
    }
    return 0;
}

static int validate_distances(const struct vn_host_topo *t, struct vn_error *err)
{
    if (!t->dist)
        return vn_error_set(err, "the host has no distance matrix");
    for (int i = 0; i < t->nnodes; i++) {
        for (int j = 0; j < t->nnodes; j++) {
            int d = vn_topo_distance(t, i, j);
            int a = t->nodes[i].os_index, b = t->nodes[j].os_index;
            if (i == j && d != VN_TOPO_DIST_LOCAL)
                return vn_error_set(err, "the distance of node %d to itself is '%d'; it must be %d",
                                    a, d, VN_TOPO_DIST_LOCAL);
            if (i != j && (d < VN_TOPO_DIST_LOCAL || d > VN_TOPO_DIST_MAX))
                return vn_error_set(err,
                                    "the distance from node %d to node %d is '%d'; it must be "
                                    "from %d to %d",
                                    a, b, d, VN_TOPO_DIST_LOCAL, VN_TOPO_DIST_MAX);
        }
    }
    return 0;
}

static int validate_cpus(const struct vn_host_topo *t, struct vn_error *err)
{
    if (t->ncpus < 1)
        return vn_error_set(err, "the host has no CPU");
    if (t->ncpus > VN_BITMAP_BITS)
        return vn_error_set(err, "the host has %d CPUs; at most %d are supported", t->ncpus,
                            VN_BITMAP_BITS);
    for (int i = 0; i < t->ncpus; i++) {
        const struct vn_cpu *c = &t->cpus[i];
        if (c->os_index < 0 || c->os_index >= VN_BITMAP_BITS)
            return vn_error_set(err, "CPU number '%d' is outside 0 to %d", c->os_index,
                                VN_BITMAP_BITS - 1);
        if (i > 0 && c->os_index <= t->cpus[i - 1].os_index)
            return vn_error_set(err,
                                "CPU %d comes after CPU %d; CPUs must be sorted by number "
                                "without duplicates",
                                c->os_index, t->cpus[i - 1].os_index);
        if (c->node < 0 || c->node >= t->nnodes)
            return vn_error_set(err, "CPU %d belongs to node index '%d', which does not exist",
                                c->os_index, c->node);
        if (!vn_bitmap_test(&t->nodes[c->node].cpus, c->os_index))
            return vn_error_set(err, "CPU %d belongs to node %d but is not in its CPU list",
                                c->os_index, t->nodes[c->node].os_index);
        if (c->package < 0 || c->core < 0 || c->smt < 0)
            return vn_error_set(err, "CPU %d has a negative package, core or thread number",
                                c->os_index);
    }
    /* Each CPU names one node and is in that node's list; a CPU listed by another node too
     * would be in two nodes. */
    for (int i = 0; i < t->nnodes; i++) {
        VN_BITMAP_FOREACH(cpu, &t->nodes[i].cpus)
        {
            int k = vn_topo_cpu_index(t, cpu);
            if (k < 0)
                return vn_error_set(err, "node %d lists CPU %d, which the host does not have",
                                    t->nodes[i].os_index, cpu);
            if (t->cpus[k].node != i)
                return vn_error_set(err, "CPU %d is in the CPU lists of both node %d and node %d",
                                    cpu, t->nodes[t->cpus[k].node].os_index, t->nodes[i].os_index);
        }
    }
    return 0;
}

static int validate_packages(const struct vn_host_topo *t, struct vn_error *err)
{
    for (int i = 0; i < t->nnodes; i++) {
        const struct vn_node *n = &t->nodes[i];
        int first = vn_bitmap_next(&n->cpus, -1);
        if (first < 0) {
            if (n->package != -1)
                return vn_error_set(err,
                                    "node %d has no CPU, so it belongs to no package, not to "
                                    "package '%d'",
                                    n->os_index, n->package);
            continue;
        }
        int pkg = t->cpus[vn_topo_cpu_index(t, first)].package;
        if (n->package != pkg)
            return vn_error_set(err,
                                "node %d is in package '%d' but its first CPU %d is in package %d",
                                n->os_index, n->package, first, pkg);
    }
    /* Packages are numbered densely so that consumers can index arrays by them. */
    if (t->npackages < 1 || t->npackages > VN_BITMAP_BITS)
        return vn_error_set(err, "the host has '%d' packages; expected 1 to %d", t->npackages,
                            VN_BITMAP_BITS);
    VN_CLEANUP_FREE bool *used = calloc((size_t)t->npackages + 1, sizeof *used);
    if (!used)
        abort();
    for (int i = 0; i < t->ncpus; i++) {
        if (t->cpus[i].package >= t->npackages)
            return vn_error_set(err, "CPU %d is in package '%d' but the host has %d packages",
                                t->cpus[i].os_index, t->cpus[i].package, t->npackages);
        used[t->cpus[i].package] = true;
    }
    for (int p = 0; p < t->npackages; p++)
        if (!used[p])
            return vn_error_set(err, "no CPU is in package %d; packages must be numbered 0 to %d",
                                p, t->npackages - 1);
    return 0;
}

static int cmp_core_smt(const void *a, const void *b)
{
    const struct vn_cpu *x = *(const struct vn_cpu *const *)a,
                        *y = *(const struct vn_cpu *const *)b;
    if (x->core != y->core)
        return x->core < y->core ? -1 : 1;
    if (x->smt != y->smt)
        return x->smt < y->smt ? -1 : 1;
    return 0;
}

/* SMT siblings share a core id: they must sit in one package and node and be threads
 * 0, 1, ... of it, or sibling-aware placement would pair the wrong CPUs. */
static int validate_cores(const struct vn_host_topo *t, struct vn_error *err)
{
    VN_CLEANUP_FREE const struct vn_cpu **by = malloc((size_t)t->ncpus * sizeof *by);
    if (!by)
        abort();
    for (int i = 0; i < t->ncpus; i++)
        by[i] = &t->cpus[i];
    qsort(by, (size_t)t->ncpus, sizeof *by, cmp_core_smt);
    for (int i = 0; i < t->ncpus; i++) {
        const struct vn_cpu *c = by[i], *prev = i > 0 ? by[i - 1] : NULL;
        int expect = prev && prev->core == c->core ? prev->smt + 1 : 0;
        if (c->smt == expect - 1)
            return vn_error_set(err, "CPUs %d and %d are both thread %d of core %d", prev->os_index,
                                c->os_index, c->smt, c->core);
        if (c->smt != expect)
            return vn_error_set(err, "CPU %d is thread '%d' of core %d, which has no thread %d",
                                c->os_index, c->smt, c->core, expect);
        if (expect > 0 && (prev->package != c->package || prev->node != c->node))
            return vn_error_set(err, "core %d has CPUs %d and %d in different packages or nodes",
                                c->core, prev->os_index, c->os_index);
    }
    return 0;
}

static int validate_pci(const struct vn_host_topo *t, struct vn_error *err)
{
    if (t->npci < 0 || t->npci > VN_TOPO_MAX_PCI)
        return vn_error_set(err, "the host has %d PCI devices; at most %d are supported", t->npci,
                            VN_TOPO_MAX_PCI);
    for (int i = 0; i < t->npci; i++) {
        const struct vn_pci_dev *d = &t->pci[i];
        if (!memchr(d->addr, '\0', sizeof d->addr) || !vn_topo_pci_addr_valid(d->addr))
            return vn_error_set(err, "PCI device %d has an invalid address", i);
        if (i > 0 && strcmp(d->addr, t->pci[i - 1].addr) <= 0)
            return vn_error_set(err,
                                "PCI device '%s' comes after '%s'; devices must be sorted by "
                                "address without duplicates",
                                d->addr, t->pci[i - 1].addr);
        if (!memchr(d->name, '\0', sizeof d->name) || !d->name[0])
            return vn_error_set(err, "PCI device '%s' has no name", d->addr);
        if (d->node < -1 || d->node >= t->nnodes)
            return vn_error_set(err, "PCI device '%s' is on node index '%d', which does not exist",
                                d->addr, d->node);
    }
    return 0;
}

int vn_topo_validate(const struct vn_host_topo *t, struct vn_error *err)
{
    if (validate_nodes(t, err) < 0 || validate_distances(t, err) < 0 || validate_cpus(t, err) < 0 ||
        validate_packages(t, err) < 0 || validate_cores(t, err) < 0 || validate_pci(t, err) < 0)
        return -1;
    return 0;
}
