/* What vnumad sees of a domain: its record turned into the policy's shape (pure), and the
 * measurements of one pass from /proc (vCPU threads, their CPU time and last CPU, the
 * residency of every vnode by sampling). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numa/migrate.h"
#include "numa/sample.h"
#include "proc/proc.h"
#include "qemu/qmp.h"
#include "qemu/vcpu_threads.h"
#include "util/cleanup.h"
#include "vnumad.h"

#define QMP_TIMEOUT_MS 2000

void vnd_dom_clear(struct vnd_dom *d)
{
    free(d->mem_dir);
    free(d->qmp_socket);
    free(d->vcpu_vnode);
    free(d->tids);
    free(d->prev_cpu_ns);
    free(d->vcpu_obs);
    free(d->resident);
    vn_spec_free(d->spec);
    d->spec = NULL;
    d->have_claim = false;
    d->mem_dir = d->qmp_socket = NULL;
    d->vcpu_vnode = NULL;
    d->tids = NULL;
    d->prev_cpu_ns = NULL;
    d->vcpu_obs = NULL;
    d->resident = NULL;
    d->nvcpus = d->nvnodes = 0;
}

/* Resizes the per-vCPU arrays when the vCPU count changed (the thread cache goes too). */
static int vcpu_arrays(struct vnd_dom *d, int nvcpus, struct vn_error *err)
{
    if (d->nvcpus == nvcpus && d->vcpu_vnode)
        return 0;
    free(d->vcpu_vnode);
    free(d->tids);
    free(d->prev_cpu_ns);
    free(d->vcpu_obs);
    size_t n = nvcpus > 0 ? (size_t)nvcpus : 1;
    d->vcpu_vnode = calloc(n, sizeof *d->vcpu_vnode);
    d->tids = calloc(n, sizeof *d->tids);
    d->prev_cpu_ns = calloc(n, sizeof *d->prev_cpu_ns);
    d->vcpu_obs = calloc(n, sizeof *d->vcpu_obs);
    d->nvcpus = nvcpus;
    d->have_prev = false;
    d->tid_pid = 0;
    if (!d->vcpu_vnode || !d->tids || !d->prev_cpu_ns || !d->vcpu_obs)
        return vn_error_set(err, "out of memory for the vCPUs of domain '%s'", d->name);
    return 0;
}

int vnd_dom_from_record(struct vnd_dom *d, const struct vn_domain_record *r,
                        const struct vn_host_topo *topo, struct vn_error *err)
{
    snprintf(d->name, sizeof d->name, "%s", r->name);
    snprintf(d->status, sizeof d->status, "%s", vn_domain_status_name(r->status));
    if (d->qemu_pid != r->qemu_pid || d->qemu_start != r->qemu_start) {
        d->tid_pid = 0; /* another QEMU: threads and CPU times start over */
        d->have_prev = false;
    }
    d->qemu_pid = r->qemu_pid;
    d->qemu_start = r->qemu_start;
    free(d->qmp_socket);
    d->qmp_socket = r->qmp_socket ? strdup(r->qmp_socket) : NULL;
    free(d->mem_dir);
    d->mem_dir = r->mem_dir ? strdup(r->mem_dir) : NULL;

    const struct vn_vm_spec *spec = r->spec;
    unsigned flags = 0;
    if ((spec && !spec->balance) || r->balance == 0)
        flags |= VN_BAL_OPT_OUT;
    for (int i = 0; spec && i < spec->nvnodes; i++)
        if (spec->vnodes[i].pnode >= 0)
            flags |= VN_BAL_FIXED_PNODES;
    if (spec && spec->cpus.nsets > 0)
        flags |= VN_BAL_PINNED;
    if (r->balance_fixed)
        flags |= VN_BAL_ALLOW_FIXED;
    d->flags = flags;

    /* The spec and claim the policy re-places with.  Without a spec (a record made without
     * one) the policy does not re-place this domain. */
    vn_spec_free(d->spec);
    d->spec = NULL;
    if (spec) {
        struct vn_error e2 = {0};
        d->spec = vn_spec_clone(spec, &e2);
    }
    d->claim = *vn_domain_claim(r);
    d->have_claim = d->claim.n > 0;

    const struct vn_placement *p = r->placement;
    if (!p)
        return vn_error_set(err, "the record of domain '%s' has no placement with vnodes", r->name);
    size_t nv = (size_t)p->nvnodes;
    int nnodes = topo->nnodes;
    if (d->nvnodes != (int)nv || d->nnodes != nnodes || !d->resident) {
        free(d->resident);
        d->resident = calloc(nv * (size_t)nnodes, sizeof *d->resident);
        if (!d->resident)
            return vn_error_set(err, "out of memory for domain '%s'", r->name);
        d->nvnodes = (int)nv;
        d->nnodes = nnodes;
        vn_bal_dom_state_init(&d->st); /* another shape: the policy starts over */
    }
    for (int i = 0; i < p->nvnodes; i++) {
        const struct vn_bitmap *pn = &p->vnodes[i].pnodes;
        d->home[i] =
            vn_bitmap_count(pn) == 1 ? vn_topo_node_index(topo, vn_bitmap_next(pn, -1)) : -1;
        d->vnode_mib[i] = p->vnodes[i].mem_mib;
    }
    if (vcpu_arrays(d, p->vcpus, err) < 0)
        return -1;
    memcpy(d->vcpu_vnode, p->vcpu_vnode, (size_t)p->vcpus * sizeof *d->vcpu_vnode);
    return 0;
}

int vnd_parse_task_stat(const char *text, long ticks, uint64_t *cpu_ns, int *last_cpu)
{
    struct vn_proc_stat st;
    if (ticks <= 0 || vn_proc_stat_parse(text, strlen(text), &st) < 0 || st.processor < 0)
        return -1;
    *cpu_ns = (st.utime + st.stime) * (1000000000ull / (unsigned long long)ticks);
    *last_cpu = st.processor;
    return 0;
}

void vnd_vcpus_update(struct vnd_dom *d, const uint64_t *cur_ns, const int *last_cpu,
                      const int *cpu_node, int ncpu_node)
{
    for (int i = 0; i < d->nvcpus; i++) {
        struct vn_bal_vcpu_obs *o = &d->vcpu_obs[i];
        o->vnode = d->vcpu_vnode[i];
        int c = last_cpu[i];
        o->node = c >= 0 && c < ncpu_node ? cpu_node[c] : -1;
        o->cpu_ns =
            d->have_prev && cur_ns[i] >= d->prev_cpu_ns[i] ? cur_ns[i] - d->prev_cpu_ns[i] : 0;
        d->prev_cpu_ns[i] = cur_ns[i];
    }
    d->have_prev = true;
}

void vnd_dom_obs(const struct vnd_dom *d, struct vn_bal_dom_obs *o)
{
    memset(o, 0, sizeof *o);
    o->name = d->name;
    o->flags = d->flags;
    o->nvnodes = d->nvnodes;
    for (int i = 0; i < d->nvnodes; i++) {
        o->vnodes[i].home = d->home[i];
        o->vnodes[i].resident_mib = d->resident + (size_t)i * (size_t)d->nnodes;
        o->vnodes[i].error_mib = d->err_mib[i];
    }
    o->nvcpus = d->nvcpus;
    o->vcpus = d->vcpu_obs;
    if (d->spec && d->have_claim) {
        o->spec = d->spec;
        o->claim = &d->claim;
    }
    o->ndev_nodes = d->ndev_nodes;
    memcpy(o->dev_nodes, d->dev_nodes, sizeof o->dev_nodes);
}

void vnd_dom_nic_nodes(struct vnd_dom *d, const struct vn_host_topo *topo)
{
    d->ndev_nodes = 0;
    if (!d->spec || d->spec->nvifs == 0)
        return;
    struct vn_place_request req = {.spec = d->spec};
    char lines[1024];
    struct vn_error e2 = {0};
    /* a bridge that cannot be read gives no locality, as in create */
    if (vn_domain_vif_locality(d->spec, topo, &req, lines, sizeof lines, &e2) < 0)
        return;
    d->ndev_nodes = req.ndevs;
    memcpy(d->dev_nodes, req.dev_nodes, sizeof d->dev_nodes);
}

void vnd_dom_locality(struct vnd_dom *d)
{
    struct vn_bal_dom_obs o;
    vnd_dom_obs(d, &o);
    double sum = 0, weight = 0;
    for (int i = 0; i < d->nvnodes; i++) {
        d->locality[i] = vn_bal_locality(&o, i, d->nnodes);
        uint64_t res = 0;
        for (int n = 0; n < d->nnodes; n++)
            res += d->resident[(size_t)i * (size_t)d->nnodes + (size_t)n];
        double w = res ? (double)res : 1.0;
        sum += d->locality[i] * w;
        weight += w;
    }
    d->dom_locality = weight > 0 ? sum / weight : 1.0;
}

/* ---- /proc ----------------------------------------------------------------------------- */

static int find_threads(struct vnd_dom *d, struct vn_error *err)
{
    if (d->tid_pid == d->qemu_pid && d->tid_start == d->qemu_start)
        return 0;
    if (vn_qemu_vcpu_threads(d->qmp_socket, d->name, d->qemu_pid, d->nvcpus, QMP_TIMEOUT_MS,
                             d->tids, err) < 0)
        return -1;
    d->tid_pid = d->qemu_pid;
    d->tid_start = d->qemu_start;
    d->have_prev = false;
    return 0;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static int sample_vnode(struct vnd *v, struct vnd_dom *d, int vn, struct vn_error *err)
{
    uint64_t *row = d->resident + (size_t)vn * (size_t)d->nnodes;
    memset(row, 0, (size_t)d->nnodes * sizeof *row);
    d->err_mib[vn] = 0;
    if (!d->mem_dir)
        return vn_error_set(err, "the record of domain '%s' names no memory dir", d->name);
    char file[4200];
    snprintf(file, sizeof file, "%s/vnode%d", d->mem_dir, vn);
    struct vn_mapping maps[8];
    int nm = vn_mapping_find(d->qemu_pid, file, maps, 8, err);
    if (nm < 0)
        return -1;
    if (nm == 0)
        return vn_error_set(err, "domain '%s' does not map '%s'", d->name, file);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    double err_share_mib = 0;
    for (int m = 0; m < nm && m < 8; m++) {
        size_t len = maps[m].end - maps[m].start;
        struct vn_residency_estimate e;
        uint64_t seed = mix((uint64_t)v->passes * 131 + (uint64_t)vn * 7 + (uint64_t)m);
        if (vn_residency_sample(d->qemu_pid, maps[m].start, len, 0, 0, seed, &e, err) < 0)
            return -1;
        double range_mib = (double)len / (1 << 20);
        for (int node = 0; node <= e.max_node && node < VN_NUMA_MAPS_MAX_NODES; node++) {
            if (!e.hits[node])
                continue;
            int idx = vn_topo_node_index(v->topo, node);
            if (idx < 0)
                continue;
            row[idx] += (uint64_t)(vn_estimate_mib(&e, node, page) + 0.5);
            double hw = vn_estimate_halfwidth(&e, node) * range_mib;
            if (hw > err_share_mib)
                err_share_mib = hw;
        }
    }
    d->err_mib[vn] = (uint64_t)(err_share_mib + 0.999);
    return 0;
}

int vnd_observe_dom(struct vnd *v, struct vnd_dom *d, struct vn_error *err)
{
    if (find_threads(d, err) < 0)
        return -1;
    VN_CLEANUP_FREE uint64_t *cur = calloc((size_t)d->nvcpus + 1, sizeof *cur);
    VN_CLEANUP_FREE int *last = calloc((size_t)d->nvcpus + 1, sizeof *last);
    if (!cur || !last)
        return vn_error_set(err, "out of memory while observing domain '%s'", d->name);
    long ticks = sysconf(_SC_CLK_TCK);
    for (int i = 0; i < d->nvcpus; i++) {
        last[i] = -1;
        if (d->tids[i] <= 0)
            continue;
        char buf[1024];
        if (vn_proc_read(d->qemu_pid, d->tids[i], "stat", buf, sizeof buf, NULL) < 0 ||
            vnd_parse_task_stat(buf, ticks, &cur[i], &last[i]) < 0) {
            d->tid_pid = 0; /* the thread went away: look again next pass */
            last[i] = -1;
            cur[i] = d->prev_cpu_ns[i];
        }
    }
    vnd_vcpus_update(d, cur, last, v->cpu_node, VN_BITMAP_BITS);
    for (int vn = 0; vn < d->nvnodes; vn++)
        if (sample_vnode(v, d, vn, err) < 0)
            return -1;
    vnd_dom_locality(d);
    return 0;
}
