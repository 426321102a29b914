/* The host struct itself: allocation, lookups, the one validation every source ends with,
 * and the choice of source from a spec string. */
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cleanup.h"
#include "../util/readfile.h"
#include "topo_int.h"

static void *xcalloc(size_t n, size_t size)
{
    /* calloc(0) may return NULL; a host with no PCI devices is normal. */
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

void vn_topo_set_default_distances(struct vn_host_topo *t)
{
    for (int i = 0; i < t->nnodes; i++)
        for (int j = 0; j < t->nnodes; j++)
            t->dist[i * t->nnodes + j] = i == j ? VN_TOPO_DIST_LOCAL : VN_TOPO_DIST_REMOTE;
}

struct vn_host_topo *vn_topo_new(int nnodes, int ncpus, int npci)
{
    struct vn_host_topo *t = xcalloc(1, sizeof *t);
    t->nnodes = nnodes;
    t->ncpus = ncpus;
    t->npci = npci;
    t->nodes = xcalloc((size_t)nnodes, sizeof *t->nodes);
    t->cpus = xcalloc((size_t)ncpus, sizeof *t->cpus);
    t->pci = xcalloc((size_t)npci, sizeof *t->pci);
    t->dist = xcalloc((size_t)nnodes * (size_t)nnodes, sizeof *t->dist);
    vn_topo_set_default_distances(t);
    for (int i = 0; i < npci; i++)
        t->pci[i].node = -1;
    return t;
}

void vn_topo_free(struct vn_host_topo *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->cpus);
    free(t->pci);
    free(t->dist);
    free(t);
}

void vn_topo_freep(struct vn_host_topo **t)
{
    vn_topo_free(*t);
}

int vn_topo_node_index(const struct vn_host_topo *t, int os_index)
{
    /* Nodes are sorted, and hosts with 1024 nodes exist: bisect. */
    int lo = 0, hi = t->nnodes - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->nodes[mid].os_index == os_index)
            return mid;
        if (t->nodes[mid].os_index < os_index)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int vn_topo_cpu_index(const struct vn_host_topo *t, int os_index)
{
    int lo = 0, hi = t->ncpus - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->cpus[mid].os_index == os_index)
            return mid;
        if (t->cpus[mid].os_index < os_index)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int vn_topo_distance(const struct vn_host_topo *t, int i, int j)
{
    return t->dist[i * t->nnodes + j];
}

int vn_topo_finish(struct vn_host_topo *t, struct vn_error *err)
{
    int maxpkg = -1;
    for (int i = 0; i < t->ncpus; i++)
        if (t->cpus[i].package > maxpkg)
            maxpkg = t->cpus[i].package;
    t->npackages = maxpkg + 1;
    return vn_topo_validate(t, err);
}

/* Loads a vnuma JSON host file: the whole file in memory, bounded like the parser. */
static struct vn_host_topo *load_json_file(const char *path, struct vn_error *err)
{
    VN_CLEANUP_FREE char *buf = NULL;
    size_t len;
    if (vn_file_read(path, VN_TOPO_JSON_MAX, "host file", &buf, &len, err) < 0)
        return NULL;
    return vn_topo_from_json_buf(buf, len, path, err);
}

/* Validates what hwloc gave, so a strange host is reported instead of passed on. */
static struct vn_host_topo *load_hwloc(enum vn_topo_src src, const char *arg, struct vn_error *err)
{
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_load_hwloc(src, arg, err);
    if (!t)
        return NULL;
    if (vn_topo_finish(t, err) < 0)
        return vn_error_prefix(err, "host '%s'", t->name), NULL;
    return VN_STEAL(t);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

struct vn_host_topo *vn_topo_load(const char *spec, struct vn_error *err)
{
    if (!spec || !*spec || strcmp(spec, "live") == 0)
        return load_hwloc(VN_TOPO_SRC_LIVE, NULL, err);
    if (strncmp(spec, "synthetic:", 10) == 0)
        return vn_topo_load_synthetic(spec + 10, err);
    if (strncmp(spec, "xml:", 4) == 0)
        return load_hwloc(VN_TOPO_SRC_XML, spec + 4, err);
    if (strncmp(spec, "json:", 5) == 0)
        return load_json_file(spec + 5, err);
    if (ends_with(spec, ".xml"))
        return load_hwloc(VN_TOPO_SRC_XML, spec, err);
    if (ends_with(spec, ".json"))
        return load_json_file(spec, err);
    vn_error_set(err,
                 "host '%s' is not a known source; use 'live', 'synthetic:STRING', a file "
                 "ending in .xml or .json, or 'xml:PATH' / 'json:PATH'",
                 spec);
    return NULL;
}
