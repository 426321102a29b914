/* Hosts from hwloc: the live machine, an XML file or a synthetic string all become an
 * hwloc topology first and then go through the same extraction, so what `vnuma topology`
 * shows for an `lstopo` XML file is what it would show on that machine. */
#include <errno.h>
#include <hwloc.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "../util/readfile.h"
#include "topo_int.h"

/* hwloc XML files may carry measured free memory as this info attribute of a NUMANode
 * (hwloc-annotate FILE FILE NUMANode:0 info vnuma.free_mib 1234). */
#define FREE_INFO "vnuma.free_mib"

static void topology_destroyp(hwloc_topology_t *topo)
{
    if (*topo)
        hwloc_topology_destroy(*topo);
}

static int cmp_obj_os_index(const void *a, const void *b)
{
    unsigned x = (*(const hwloc_obj_t *)a)->os_index, y = (*(const hwloc_obj_t *)b)->os_index;
    return x < y ? -1 : x > y;
}

static int cmp_pci_addr(const void *a, const void *b)
{
    return strcmp(((const struct vn_pci_dev *)a)->addr, ((const struct vn_pci_dev *)b)->addr);
}

/* Objects of one type sorted by OS index, as vn_host_topo keeps them. */
static hwloc_obj_t *objs_by_os_index(hwloc_topology_t topo, hwloc_obj_type_t type, int *n)
{
    *n = hwloc_get_nbobjs_by_type(topo, type);
    hwloc_obj_t *objs = calloc((size_t)*n + 1, sizeof *objs);
    if (!objs)
        abort();
    for (int i = 0; i < *n; i++)
        objs[i] = hwloc_get_obj_by_type(topo, type, (unsigned)i);
    qsort(objs, (size_t)*n, sizeof *objs, cmp_obj_os_index);
    return objs;
}

/* The node a CPU belongs to in Linux's view.  hwloc gives memory-only nodes (HBM, CXL,
 * NVDIMM) the cpuset of the object they hang from, so a CPU can be in several node
 * cpusets: the most local one wins, then ordinary DRAM (no subtype), then the lowest
 * number.  Nodes that win no CPU are memory-only, as numactl shows them. */
static int home_node(hwloc_obj_t *nodes, int nnodes, unsigned cpu)
{
    int best = -1, best_weight = 0;
    bool best_plain = false;
    for (int i = 0; i < nnodes; i++) {
        if (!nodes[i]->cpuset || !hwloc_bitmap_isset(nodes[i]->cpuset, cpu))
            continue;
        int weight = hwloc_bitmap_weight(nodes[i]->cpuset);
        bool plain = nodes[i]->subtype == NULL;
        if (best < 0 || weight < best_weight || (weight == best_weight && plain && !best_plain)) {
            best = i;
            best_weight = weight;
            best_plain = plain;
        }
    }
    return best;
}

/* Thread number of cpu within its core: how many siblings have a lower OS index. */
static int smt_index(hwloc_obj_t core, unsigned cpu)
{
    int smt = 0;
    unsigned id;
    hwloc_bitmap_foreach_begin(id, core->cpuset)
    {
        if (id < cpu)
            smt++;
    }
    hwloc_bitmap_foreach_end();
    return smt;
}

static int extract_cpus(hwloc_topology_t topo, hwloc_obj_t *nodes, struct vn_host_topo *t,
                        struct vn_error *err)
{
    int npus;
    VN_CLEANUP_FREE hwloc_obj_t *pus = objs_by_os_index(topo, HWLOC_OBJ_PU, &npus);
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    for (int i = 0; i < t->ncpus; i++) {
        hwloc_obj_t pu = pus[i];
        struct vn_cpu *c = &t->cpus[i];
        if (pu->os_index >= VN_BITMAP_BITS)
            return vn_error_set(err, "CPU number '%u' is above the largest supported %d",
                                pu->os_index, VN_BITMAP_BITS - 1);
        c->os_index = (int)pu->os_index;
        c->node = home_node(nodes, t->nnodes, pu->os_index);
        if (c->node < 0)
            return vn_error_set(err, "CPU %u is in no NUMA node", pu->os_index);
        vn_bitmap_set(&t->nodes[c->node].cpus, c->os_index);
        hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, pu);
        c->package = pkg ? (int)pkg->logical_index : 0;
        hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu);
        /* Without a core level every CPU is its own core; number those after real cores. */
        c->core = core ? (int)core->logical_index : ncores + (int)pu->logical_index;
        c->smt = core ? smt_index(core, pu->os_index) : 0;
    }
    return 0;
}

/* Free memory of node os_index from sysfs ("Node 0 MemFree:  4551268 kB"), or -1. */
static int64_t sysfs_free_mib(unsigned os_index)
{
    char path[64];
    snprintf(path, sizeof path, "/sys/devices/system/node/node%u/meminfo", os_index);
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        unsigned node;
        unsigned long long kib;
        if (sscanf(line, "Node %u MemFree: %llu kB", &node, &kib) == 2)
            return (int64_t)(kib / 1024);
    }
    return -1;
}

static void extract_memory(enum vn_topo_src src, hwloc_obj_t *nodes, struct vn_host_topo *t)
{
    for (int i = 0; i < t->nnodes; i++) {
        struct vn_node *n = &t->nodes[i];
        n->mem_mib = nodes[i]->attr->numanode.local_memory >> 20;
        n->free_mib = n->mem_mib;
        int64_t free_mib = -1;
        if (src == VN_TOPO_SRC_LIVE) {
            free_mib = sysfs_free_mib(nodes[i]->os_index);
        } else {
            const char *v = hwloc_obj_get_info_by_name(nodes[i], FREE_INFO);
            char *end;
            if (v && *v && (free_mib = strtoll(v, &end, 10), *end))
                free_mib = -1;
        }
        if (free_mib >= 0) {
            /* hwloc leaves huge pages out of the total; never report more free than that. */
            n->free_mib = (uint64_t)free_mib < n->mem_mib ? (uint64_t)free_mib : n->mem_mib;
            n->free_known = true;
        }
        int first = vn_bitmap_next(&n->cpus, -1);
        n->package = first < 0 ? -1 : t->cpus[vn_topo_cpu_index(t, first)].package;
    }
}

/* The SLIT: hwloc's "NUMALatency" matrix (or another latency one) when there is one.
 * Values are relative; a matrix whose diagonal is not 10 (measured latencies) is scaled so
 * that it is, which is what the kernel does with a SLIT too.  Missing pairs keep the
 * defaults vn_topo_new set. */
static void extract_distances(hwloc_topology_t topo, struct vn_host_topo *t)
{
    unsigned nr = 0;
    if (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, NULL,
                                    HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) < 0 ||
        nr == 0)
        return;
    VN_CLEANUP_FREE struct hwloc_distances_s **all = calloc(nr, sizeof *all);
    if (!all)
        abort();
    if (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, all,
                                    HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) < 0)
        return;
    struct hwloc_distances_s *d = all[0];
    for (unsigned k = 0; k < nr; k++) {
        const char *name = hwloc_distances_get_name(topo, all[k]);
        if (name && strcmp(name, "NUMALatency") == 0) {
            d = all[k];
            break;
        }
    }
    for (unsigned a = 0; a < d->nbobjs; a++) {
        int i = vn_topo_node_index(t, (int)d->objs[a]->os_index);
        hwloc_uint64_t diag = d->values[a * d->nbobjs + a];
        for (unsigned b = 0; i >= 0 && b < d->nbobjs; b++) {
            int j = vn_topo_node_index(t, (int)d->objs[b]->os_index);
            hwloc_uint64_t v = d->values[a * d->nbobjs + b];
            if (j < 0)
                continue;
            if (diag != 0 && diag != VN_TOPO_DIST_LOCAL)
                v = (v * VN_TOPO_DIST_LOCAL + diag / 2) / diag;
            /* Out-of-range values are kept (bounded) so that validation reports them. */
            t->dist[i * t->nnodes + j] = v > 1000000 ? 1000000 : (int)v;
        }
    }
    for (unsigned k = 0; k < nr; k++)
        hwloc_distances_release(topo, all[k]);
}

static const char *pci_class_name(unsigned class_id)
{
    static const struct {
        unsigned id;
        const char *name;
    } names[] = {
        {0x0100, "SCSI storage controller"},
        {0x0104, "RAID bus controller"},
        {0x0106, "SATA controller"},
        {0x0107, "Serial Attached SCSI controller"},
        {0x0108, "Non-Volatile memory controller"},
        {0x0200, "Ethernet controller"},
        {0x0207, "Infiniband controller"},
        {0x0300, "VGA compatible controller"},
        {0x0302, "3D controller"},
        {0x0b40, "Co-processor"},
        {0x1200, "Processing accelerators"},
    };
    for (size_t i = 0; i < VN_ARRAY_SIZE(names); i++)
        if (names[i].id == class_id)
            return names[i].name;
    switch (class_id >> 8) {
    case 0x01:
        return "Mass storage controller";
    case 0x02:
        return "Network controller";
    case 0x03:
        return "Display controller";
    default:
        return "PCI device";
    }
}

static int extract_pci(hwloc_topology_t topo, struct vn_host_topo *t, struct vn_error *err)
{
    int n = 0;
    for (hwloc_obj_t o = hwloc_get_next_pcidev(topo, NULL); o; o = hwloc_get_next_pcidev(topo, o))
        n++;
    if (n > VN_TOPO_MAX_PCI)
        return vn_error_set(err, "the host has %d PCI devices; at most %d are supported", n,
                            VN_TOPO_MAX_PCI);
    free(t->pci);
    t->pci = calloc((size_t)n + 1, sizeof *t->pci);
    if (!t->pci)
        abort();
    t->npci = n;
    int k = 0;
    for (hwloc_obj_t o = hwloc_get_next_pcidev(topo, NULL); o; o = hwloc_get_next_pcidev(topo, o)) {
        struct vn_pci_dev *d = &t->pci[k++];
        const struct hwloc_pcidev_attr_s *p = &o->attr->pcidev;
        snprintf(d->addr, sizeof d->addr, "%04x:%02x:%02x.%01x", p->domain & 0xffff, p->bus, p->dev,
                 p->func & 7);
        /* The OS device's name (nvme0n1, eth0) is what the user knows the device by. */
        const char *name = NULL;
        for (hwloc_obj_t c = o->io_first_child; c && !name; c = c->next_sibling)
            if (c->type == HWLOC_OBJ_OS_DEVICE && c->name && *c->name)
                name = c->name;
        snprintf(d->name, sizeof d->name, "%s", name ? name : pci_class_name(p->class_id));
        hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, o);
        d->node = -1;
        if (anc && anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1)
            d->node = vn_topo_node_index(t, hwloc_bitmap_first(anc->nodeset));
    }
    qsort(t->pci, (size_t)n, sizeof *t->pci, cmp_pci_addr);
    return 0;
}

static struct vn_host_topo *extract(hwloc_topology_t topo, enum vn_topo_src src,
                                    struct vn_error *err)
{
    int nnodes;
    VN_CLEANUP_FREE hwloc_obj_t *nodes = objs_by_os_index(topo, HWLOC_OBJ_NUMANODE, &nnodes);
    int npus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    if (nnodes > VN_TOPO_MAX_NODES)
        return vn_error_set(err, "the host has %d NUMA nodes; at most %d are supported", nnodes,
                            VN_TOPO_MAX_NODES),
               NULL;
    if (npus > VN_BITMAP_BITS)
        return vn_error_set(err, "the host has %d CPUs; at most %d are supported", npus,
                            VN_BITMAP_BITS),
               NULL;
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_new(nnodes, npus, 0);
    for (int i = 0; i < nnodes; i++) {
        if (nodes[i]->os_index >= VN_BITMAP_BITS)
            return vn_error_set(err, "node number '%u' is above the largest supported %d",
                                nodes[i]->os_index, VN_BITMAP_BITS - 1),
                   NULL;
        t->nodes[i].os_index = (int)nodes[i]->os_index;
    }
    if (extract_cpus(topo, nodes, t, err) < 0)
        return NULL;
    extract_memory(src, nodes, t);
    extract_distances(topo, t);
    if (extract_pci(topo, t, err) < 0)
        return NULL;
    return VN_STEAL(t);
}

static bool synthetic_ok(const char *s)
{
    hwloc_topology_t topo = NULL;
    bool ok = hwloc_topology_init(&topo) == 0 && hwloc_topology_set_synthetic(topo, s) == 0;
    if (topo)
        hwloc_topology_destroy(topo);
    return ok;
}

/* Names the token of a synthetic string hwloc rejects: the first one whose prefix hwloc
 * refuses even when completed with a PU level (hwloc wants PUs last).  Tokens are
 * separated by spaces outside parentheses. */
static void synthetic_error(const char *s, struct vn_error *err)
{
    size_t len = strlen(s), start = 0;
    VN_CLEANUP_FREE char *prefix = malloc(len + sizeof " pu:1");
    if (!prefix)
        abort();
    int depth = 0;
    for (size_t i = 0; i <= len; i++) {
        if (s[i] == '(')
            depth++;
        else if (s[i] == ')')
            depth--;
        if (s[i] && (s[i] != ' ' || depth > 0))
            continue;
        if (i > start) {
            memcpy(prefix, s, i);
            prefix[i] = '\0';
            bool ok = synthetic_ok(prefix);
            strcpy(prefix + i, " pu:1");
            if (!ok && !synthetic_ok(prefix)) {
                vn_error_set(err, "hwloc does not accept synthetic topology '%s' at '%.*s'", s,
                             (int)(i - start), s + start);
                return;
            }
        }
        start = i + 1;
    }
    vn_error_set(err,
                 "hwloc does not accept synthetic topology '%s'; its last level must be PUs, "
                 "such as 'pu:2'",
                 s);
}

struct vn_host_topo *vn_topo_load_hwloc(enum vn_topo_src src, const char *arg, struct vn_error *err)
{
    VN_CLEANUP(topology_destroyp) hwloc_topology_t topo = NULL;
    if (hwloc_topology_init(&topo) < 0)
        return vn_error_sys(err, errno, "cannot initialize hwloc"), NULL;
    /* PCI devices (and their OS names) are needed for device locality; bridges are not. */
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    /* hwloc would open the path itself and block on a FIFO: read it here, bounded. */
    VN_CLEANUP_FREE char *xml = NULL;
    if (src == VN_TOPO_SRC_XML) {
        size_t len;
        if (vn_file_read(arg, VN_TOPO_XML_MAX, "host file", &xml, &len, err) < 0)
            return NULL;
        /* The length hwloc wants counts the terminating NUL. */
        if (hwloc_topology_set_xmlbuffer(topo, xml, (int)len + 1) < 0)
            return vn_error_sys(err, errno, "hwloc cannot read XML file '%s'", arg), NULL;
    } else if (src == VN_TOPO_SRC_SYNTHETIC) {
        if (hwloc_topology_set_synthetic(topo, arg) < 0)
            return synthetic_error(arg, err), NULL;
    }
    if (hwloc_topology_load(topo) < 0) {
        if (src == VN_TOPO_SRC_XML)
            return vn_error_sys(err, errno,
                                "hwloc cannot load XML file '%s' (is it an lstopo XML export?)",
                                arg),
                   NULL;
        return vn_error_sys(err, errno, "hwloc cannot load the topology"), NULL;
    }
    struct vn_host_topo *t = extract(topo, src, err);
    if (!t) {
        if (src == VN_TOPO_SRC_LIVE)
            vn_error_prefix(err, "live host");
        else
            vn_error_prefix(err, "host '%s'", arg);
        return NULL;
    }
    if (src == VN_TOPO_SRC_LIVE)
        snprintf(t->name, sizeof t->name, "live host");
    else if (src == VN_TOPO_SRC_XML)
        snprintf(t->name, sizeof t->name, "%s", arg);
    else
        snprintf(t->name, sizeof t->name, "synthetic:%s", arg);
    return t;
}
