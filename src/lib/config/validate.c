/* Validation: the rules across keys, libxl's vNUMA rules, vnuma's limits, and what the host
 * can hold.
 *
 * Every rule is checked and each violation is its own diagnostic pointing at the value at
 * fault, so one run shows every mistake.  Rules about a group of keys whose value did not
 * parse (spec->parse_bad) are skipped: that value already has its message.
 *
 * libxl's rules (libxl__vnuma_config_check in libxl_vnuma.c, parse_vnuma_config in
 * xl_parse.c): pnodes exist; vnode sizes add up to maxmem; each vCPU in exactly one vnode and
 * every vCPU in one; a local distance not above any remote one; and, as warnings, vCPU
 * affinities that do not match the vnode's pnode. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/ident.h"
#include "config_int.h"

/* 16 TiB: more than any host this runs on, small enough that sums never overflow. */
#define VN_MAX_MEMORY_MIB (16ull * 1024 * 1024)

struct check {
    struct vn_vm_spec *spec;
    const struct vn_host_topo *host;
    struct vn_diags *diags;
    unsigned bad;
};

static void err(struct check *c, struct vn_loc loc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warn(struct check *c, struct vn_loc loc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct check *c, enum vn_diag_severity sev, struct vn_loc loc, const char *key,
                const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void add(struct check *c, enum vn_diag_severity sev, struct vn_loc loc, const char *key,
                const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    vn_diags_add(c->diags, sev, loc, key, "%s", msg);
}

static void err(struct check *c, struct vn_loc loc, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(c, VN_DIAG_ERROR, loc, key, fmt, ap);
    va_end(ap);
}

static void warn(struct check *c, struct vn_loc loc, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(c, VN_DIAG_WARNING, loc, key, fmt, ap);
    va_end(ap);
}

static bool same_loc(struct vn_loc a, struct vn_loc b)
{
    return a.line == b.line && a.col == b.col;
}

enum vfield { F_SIZE, F_VCPUS, F_DIST, F_PNODE };

/* The key a vnode message names: 'vnuma' for the Xen 4.5 form; for the original form the key
 * that gave the value, or 'vnodes' when the value is a default. */
static const char *vkey(const struct vn_vm_spec *spec, enum vfield f, struct vn_loc loc)
{
    static const char *const legacy[] = {"vnumamem", "vnuma_vcpumap", "vdistance",
                                         "vnuma_vnodemap"};
    if (spec->vnuma_form == VN_VNUMA_LIST)
        return "vnuma";
    return same_loc(loc, spec->vnuma_loc) ? "vnodes" : legacy[f];
}

static void format_set(const struct vn_bitmap *b, char *buf, size_t len)
{
    if (vn_bitmap_format_list(b, buf, len) >= len && len > 4)
        strcpy(buf + len - 4, "...");
}

/* "vCPU 3 is" or "vCPUs 3-4 are", so that messages read right for one or many. */
static const char *vcpus_are(const struct vn_bitmap *b, char *buf, size_t len)
{
    char list[200];
    format_set(b, list, sizeof list);
    bool one = vn_bitmap_count(b) == 1;
    snprintf(buf, len, "%s %s %s", one ? "vCPU" : "vCPUs", list, one ? "is" : "are");
    return buf;
}

/* ---- name and groups ---- */

/* Returns the first character not allowed in a name, or 0. */
/* Names and group names share the rules of vnuma create (util/ident.h): they become file
 * names in the state dir and QEMU arguments. */
static int identifier_problem(const char *what, const char *s, struct vn_error *e)
{
    return vn_ident_check(what, s, VN_NAME_MAX, true, e);
}

int vn_config_name_check(const char *name, struct vn_error *err)
{
    return identifier_problem("name", name, err);
}

static void check_identifier(struct check *c, const char *what, const char *key, const char *s,
                             struct vn_loc loc)
{
    struct vn_error e = {0};
    if (identifier_problem(what, s, &e) < 0)
        err(c, loc, key, "%s", e.msg);
}

static void check_name(struct check *c)
{
    if (c->bad & VN_BAD_NAME)
        return;
    if (!c->spec->name)
        err(c, (struct vn_loc){0}, "name", "The guest has no 'name'; it is required.");
    else
        check_identifier(c, "name", "name", c->spec->name, c->spec->loc.name);
}

static void check_groups(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    if (c->bad & VN_BAD_GROUPS)
        return;
    if (spec->affinity_group)
        check_identifier(c, "group name", "affinity_group", spec->affinity_group,
                         spec->loc.affinity_group);
    if (spec->anti_affinity_group)
        check_identifier(c, "group name", "anti_affinity_group", spec->anti_affinity_group,
                         spec->loc.anti_affinity_group);
    if (spec->affinity_group && spec->anti_affinity_group &&
        strcmp(spec->affinity_group, spec->anti_affinity_group) == 0)
        err(c, spec->loc.anti_affinity_group, "anti_affinity_group",
            "The guest cannot both share and avoid the nodes of group '%s'.", spec->affinity_group);
}

/* ---- sizes and counts ---- */

static bool maxmem_written(const struct vn_vm_spec *spec)
{
    return spec->loc.maxmem.line > 0 && !same_loc(spec->loc.maxmem, spec->vnuma_loc);
}

static void check_memory(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    if (c->bad & VN_BAD_MEMORY)
        return;
    if (spec->loc.memory.line == 0 && spec->loc.maxmem.line == 0) {
        err(c, (struct vn_loc){0}, "memory",
            "The guest has no 'memory' (in MiB); it is required unless vNUMA gives the "
            "sizes.");
        return;
    }
    if (spec->memory_mib == 0)
        err(c, spec->loc.memory, "memory", "Memory must be positive; it is 0 MiB.");
    else if (spec->memory_mib > VN_MAX_MEMORY_MIB)
        err(c, spec->loc.memory, "memory", "%llu MiB is above the limit of %llu MiB (16 TiB).",
            (unsigned long long)spec->memory_mib, VN_MAX_MEMORY_MIB);
    if (maxmem_written(spec)) {
        if (spec->maxmem_mib < spec->memory_mib)
            err(c, spec->loc.maxmem, "maxmem",
                "maxmem (%llu MiB) is below memory (%llu MiB); it must be at least as large.",
                (unsigned long long)spec->maxmem_mib, (unsigned long long)spec->memory_mib);
        else if (spec->maxmem_mib > VN_MAX_MEMORY_MIB)
            err(c, spec->loc.maxmem, "maxmem", "%llu MiB is above the limit of %llu MiB (16 TiB).",
                (unsigned long long)spec->maxmem_mib, VN_MAX_MEMORY_MIB);
    }
}

static bool vcpus_sane(const struct check *c)
{
    return !(c->bad & VN_BAD_VCPUS) && c->spec->vcpus >= 1 && c->spec->vcpus <= VN_MAX_VCPUS &&
           c->spec->maxvcpus >= c->spec->vcpus && c->spec->maxvcpus <= VN_MAX_VCPUS;
}

static void check_vcpus(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    if (c->bad & VN_BAD_VCPUS)
        return;
    if (spec->vcpus < 1)
        err(c, spec->loc.vcpus, "vcpus", "vcpus must be at least 1; it is %d.", spec->vcpus);
    else if (spec->vcpus > VN_MAX_VCPUS)
        err(c, spec->loc.vcpus, "vcpus", "%d vCPUs are asked for; at most %d are allowed.",
            spec->vcpus, VN_MAX_VCPUS);
    if (spec->loc.maxvcpus.line > 0 && !same_loc(spec->loc.maxvcpus, spec->vnuma_loc)) {
        if (spec->maxvcpus < spec->vcpus)
            err(c, spec->loc.maxvcpus, "maxvcpus",
                "maxvcpus (%d) is below vcpus (%d); it must be at least as large.", spec->maxvcpus,
                spec->vcpus);
        else if (spec->maxvcpus > VN_MAX_VCPUS)
            err(c, spec->loc.maxvcpus, "maxvcpus",
                "%d vCPUs are asked for; at most %d are allowed.", spec->maxvcpus, VN_MAX_VCPUS);
    }
}

/* ---- vNUMA ---- */

static void check_vnode_sizes(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    if (c->bad & VN_BAD_VSIZE)
        return;
    uint64_t sum = 0;
    for (int i = 0; i < spec->nvnodes; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        const char *key = vkey(spec, F_SIZE, vn->size_loc);
        sum += vn->mem_mib;
        if (vn->mem_mib == 0)
            err(c, vn->size_loc, key, "Vnode %d has size 0 MiB; it must be positive.", i);
        else if (vn->mem_mib % 2)
            err(c, vn->size_loc, key,
                "Vnode %d is %llu MiB; vnode sizes must be multiples of 2 MiB.", i,
                (unsigned long long)vn->mem_mib);
    }
    if (c->bad & VN_BAD_MEMORY || spec->maxmem_mib == 0)
        return;
    if (sum != spec->maxmem_mib) {
        bool by_maxmem = maxmem_written(spec);
        err(c, spec->vnuma_loc, spec->vnuma_form == VN_VNUMA_LIST ? "vnuma" : "vnumamem",
            "The vnodes add up to %llu MiB but %s is %llu MiB (line %d); as in libxl they "
            "must be equal.",
            (unsigned long long)sum, by_maxmem ? "maxmem" : "memory",
            (unsigned long long)spec->maxmem_mib,
            by_maxmem ? spec->loc.maxmem.line : spec->loc.memory.line);
    }
}

static void check_vnode_vcpus(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    if (c->bad & (VN_BAD_VVCPUS | VN_BAD_VCPUS) || !vcpus_sane(c))
        return;
    int nv = spec->maxvcpus;
    const char *count_key =
        spec->loc.maxvcpus.line > 0 && spec->maxvcpus != spec->vcpus ? "maxvcpus" : "vcpus";
    char list[256];
    struct vn_bitmap all, seen;
    vn_bitmap_zero(&all);
    vn_bitmap_zero(&seen);
    vn_bitmap_set_range(&all, 0, nv - 1);
    for (int i = 0; i < spec->nvnodes; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        const char *key = vkey(spec, F_VCPUS, vn->vcpus_loc);
        struct vn_bitmap extra = vn->vcpus;
        vn_bitmap_andnot(&extra, &all);
        if (!vn_bitmap_empty(&extra)) {
            format_set(&extra, list, sizeof list);
            err(c, vn->vcpus_loc, key,
                "Vnode %d has %s %s but the guest has %d vCPUs (0-%d, from '%s').", i,
                vn_bitmap_count(&extra) == 1 ? "vCPU" : "vCPUs", list, nv, nv - 1, count_key);
        }
        for (int j = 0; j < i; j++) {
            struct vn_bitmap both = vn->vcpus;
            vn_bitmap_and(&both, &spec->vnodes[j].vcpus);
            if (!vn_bitmap_empty(&both)) {
                err(c, vn->vcpus_loc, key,
                    "%s in vnode %d and in vnode %d; each vCPU must be in exactly one vnode.",
                    vcpus_are(&both, list, sizeof list), j, i);
            }
        }
        if (vn_bitmap_empty(&vn->vcpus))
            warn(c, vn->vcpus_loc, key, "Vnode %d has no vCPUs; the guest sees a memory-only node.",
                 i);
        vn_bitmap_or(&seen, &vn->vcpus);
    }
    struct vn_bitmap missing = all;
    vn_bitmap_andnot(&missing, &seen);
    if (!vn_bitmap_empty(&missing)) {
        err(c, spec->vnuma_loc, spec->vnuma_form == VN_VNUMA_LIST ? "vnuma" : "vnuma_vcpumap",
            "%s in no vnode; every vCPU (0-%d, from '%s') must be in one.",
            vcpus_are(&missing, list, sizeof list), nv - 1, count_key);
    }
}

static bool dist_in_range(int d)
{
    return d >= 10 && d <= 255;
}

/* The original form writes two numbers for the whole matrix: judge those two once. */
static void check_legacy_distances(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    const struct vn_vnode *vn = &spec->vnodes[0];
    const char *key = vkey(spec, F_DIST, vn->dist_loc);
    int same = spec->vdist[0][0], other = spec->nvnodes > 1 ? spec->vdist[0][1] : 20;
    if (!dist_in_range(same))
        err(c, vn->dist_loc, key,
            "The same-node distance %d is out of range; distances are "
            "10-255.",
            same);
    if (!dist_in_range(other))
        err(c, vn->dist_loc, key,
            "The other-node distance %d is out of range; distances are "
            "10-255.",
            other);
    if (same != 10)
        err(c, vn->dist_loc, key, "The same-node distance is %d; it must be 10.", same);
    if (spec->nvnodes > 1 && same > other)
        err(c, vn->dist_loc, key,
            "The same-node distance %d is above the other-node distance %d; as in libxl, "
            "local must not exceed remote.",
            same, other);
}

static void check_vnode_distances(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    if (c->bad & VN_BAD_VDIST)
        return;
    if (spec->vnuma_form == VN_VNUMA_LEGACY) {
        check_legacy_distances(c);
        return;
    }
    int n = spec->nvnodes;
    for (int i = 0; i < n; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        int local = spec->vdist[i][i];
        /* one message per rule and vnode: a row is one string in the file */
        for (int j = 0; j < n; j++) {
            if (!dist_in_range(spec->vdist[i][j])) {
                err(c, vn->dist_loc, "vnuma",
                    "Vnode %d: the distance %d to vnode %d is out of range; distances are "
                    "10-255.",
                    i, spec->vdist[i][j], j);
                break;
            }
        }
        if (local != 10)
            err(c, vn->dist_loc, "vnuma",
                "Vnode %d: the distance to itself is %d; the local distance must be 10.", i, local);
        for (int j = 0; j < n; j++) {
            if (j != i && spec->vdist[i][j] < local) {
                err(c, vn->dist_loc, "vnuma",
                    "Vnode %d: the local distance %d is above the distance %d to vnode %d; as "
                    "in libxl, local must not exceed remote.",
                    i, local, spec->vdist[i][j], j);
                break;
            }
        }
    }
}

/* ---- host ---- */

static int host_node_index(const struct vn_host_topo *h, int os_index)
{
    for (int i = 0; i < h->nnodes; i++)
        if (h->nodes[i].os_index == os_index)
            return i;
    return -1;
}

static void host_node_list(const struct vn_host_topo *h, char *buf, size_t len)
{
    struct vn_bitmap b;
    vn_bitmap_zero(&b);
    for (int i = 0; i < h->nnodes; i++)
        vn_bitmap_set(&b, h->nodes[i].os_index);
    format_set(&b, buf, len);
}

static void check_pnodes(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    const struct vn_host_topo *h = c->host;
    if (c->bad & VN_BAD_PNODE)
        return;
    char nodes[128];
    host_node_list(h, nodes, sizeof nodes);
    uint64_t need[VN_MAX_VNODES] = {0};
    int users[VN_MAX_VNODES] = {0};
    for (int i = 0; i < spec->nvnodes; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        if (vn->pnode < 0)
            continue;
        const char *key = vkey(spec, F_PNODE, vn->pnode_loc);
        int idx = host_node_index(h, vn->pnode);
        if (idx < 0) {
            err(c, vn->pnode_loc, key,
                "Vnode %d is placed on host node %d, which host '%s' does not have (nodes %s).", i,
                vn->pnode, h->name, nodes);
            continue;
        }
        if (c->bad & VN_BAD_VSIZE)
            continue;
        if (vn->mem_mib > h->nodes[idx].mem_mib)
            err(c, vn->size_loc, vkey(spec, F_SIZE, vn->size_loc),
                "Vnode %d (%llu MiB) is larger than host node %d (%llu MiB).", i,
                (unsigned long long)vn->mem_mib, vn->pnode,
                (unsigned long long)h->nodes[idx].mem_mib);
        if (idx < VN_MAX_VNODES) {
            need[idx] += vn->mem_mib;
            users[idx]++;
        }
    }
    for (int idx = 0; idx < h->nnodes && idx < VN_MAX_VNODES; idx++)
        if (users[idx] > 1 && need[idx] > h->nodes[idx].mem_mib)
            err(c, spec->vnuma_loc, spec->vnuma_form == VN_VNUMA_LIST ? "vnuma" : "vnuma_vnodemap",
                "The %d vnodes on host node %d need %llu MiB; the node has %llu MiB.", users[idx],
                h->nodes[idx].os_index, (unsigned long long)need[idx],
                (unsigned long long)h->nodes[idx].mem_mib);
}

static void check_host_capacity(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    const struct vn_host_topo *h = c->host;
    if (!(c->bad & VN_BAD_MEMORY)) {
        uint64_t total = 0;
        for (int i = 0; i < h->nnodes; i++)
            total += h->nodes[i].mem_mib;
        bool by_maxmem = maxmem_written(spec);
        if (spec->maxmem_mib > total && spec->maxmem_mib <= VN_MAX_MEMORY_MIB)
            err(c, by_maxmem ? spec->loc.maxmem : spec->loc.memory, by_maxmem ? "maxmem" : "memory",
                "The guest needs %llu MiB; host '%s' has %llu MiB in total.",
                (unsigned long long)spec->maxmem_mib, h->name, (unsigned long long)total);
    }
    if (vcpus_sane(c) && spec->maxvcpus > h->ncpus && h->ncpus > 0)
        warn(c, spec->loc.vcpus, "vcpus",
             "The guest has %d vCPUs and host '%s' has %d CPUs; vCPUs will share CPUs.",
             spec->maxvcpus, h->name, h->ncpus);
}

/* ---- CPU affinity ---- */

static void check_affinity(struct check *c, const char *key, struct vn_affinity *aff,
                           unsigned bad_flag)
{
    if (aff->nsets == 0 || (c->bad & bad_flag))
        return;
    const struct vn_vm_spec *spec = c->spec;
    if (aff->per_vcpu && vcpus_sane(c)) {
        if (aff->nsets > spec->maxvcpus)
            err(c, aff->loc, key, "The list has %d entries but the guest has %d vCPUs.", aff->nsets,
                spec->maxvcpus);
        else if (aff->nsets == 1 && spec->maxvcpus > 1)
            warn(c, aff->loc, key,
                 "A list of one entry applies to vCPU 0 only; write a string to apply it to "
                 "every vCPU.");
    }
    struct vn_bitmap host_cpus;
    vn_bitmap_zero(&host_cpus);
    if (c->host)
        for (int i = 0; i < c->host->ncpus; i++)
            vn_bitmap_set(&host_cpus, c->host->cpus[i].os_index);
    for (int i = 0; i < aff->nsets; i++) {
        char who[32] = "";
        if (aff->per_vcpu)
            snprintf(who, sizeof who, "vCPU %d: ", i);
        struct vn_bitmap set;
        bool needs_host;
        struct vn_error e = {0};
        if (vn_cpulist_parse(aff->text[i], c->host, &set, &needs_host, &e) < 0) {
            err(c, aff->loc, key, "%s%s", who, e.msg);
            continue;
        }
        if (!c->host) {
            if (!needs_host && vn_bitmap_empty(&set))
                err(c, aff->loc, key, "%s'%s' leaves no CPU to run on.", who, aff->text[i]);
            continue;
        }
        struct vn_bitmap absent = set;
        vn_bitmap_andnot(&absent, &host_cpus);
        char list[128];
        if (!vn_bitmap_empty(&absent)) {
            format_set(&absent, list, sizeof list);
            err(c, aff->loc, key, "%sCPUs %s in '%s' do not exist on host '%s' (%d CPUs).", who,
                list, aff->text[i], c->host->name, c->host->ncpus);
        } else if (vn_bitmap_empty(&set)) {
            err(c, aff->loc, key, "%s'%s' leaves no CPU to run on.", who, aff->text[i]);
        }
        aff->sets[i] = set;
    }
    if (c->host)
        aff->resolved = true;
}

/* The affinity of vCPU v, or NULL when it has none. */
static const struct vn_bitmap *vcpu_affinity(const struct vn_affinity *aff, int v)
{
    if (aff->nsets == 0)
        return NULL;
    if (!aff->per_vcpu)
        return &aff->sets[0];
    return v < aff->nsets ? &aff->sets[v] : NULL;
}

/* Xen's check_vnuma_affinity: an affinity spanning other nodes than the vnode's pnode is
 * allowed but costs remote accesses, so it is a warning. */
static void check_affinity_vs_pnodes(struct check *c, const char *key, const char *kind,
                                     const struct vn_affinity *aff)
{
    const struct vn_vm_spec *spec = c->spec;
    const struct vn_host_topo *h = c->host;
    if (!aff->resolved || (c->bad & (VN_BAD_PNODE | VN_BAD_VVCPUS)))
        return;
    for (int i = 0; i < spec->nvnodes; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        int idx = vn->pnode >= 0 ? host_node_index(h, vn->pnode) : -1;
        if (idx < 0)
            continue;
        struct vn_bitmap mismatch;
        vn_bitmap_zero(&mismatch);
        VN_BITMAP_FOREACH(v, &vn->vcpus)
        {
            const struct vn_bitmap *set = vcpu_affinity(aff, v);
            if (set && !vn_bitmap_empty(set) && !vn_bitmap_subset(set, &h->nodes[idx].cpus))
                vn_bitmap_set(&mismatch, v);
        }
        if (!vn_bitmap_empty(&mismatch)) {
            char list[128];
            format_set(&mismatch, list, sizeof list);
            warn(c, aff->loc, key,
                 "The %s affinity of %s %s reaches beyond host node %d, where vnode %d is; Xen "
                 "warns of the same mismatch.",
                 kind, vn_bitmap_count(&mismatch) == 1 ? "vCPU" : "vCPUs", list, vn->pnode, i);
        }
    }
}

/* ---- paths and devices ---- */

static void check_path(struct check *c, const char *key, const char *what, const char *path,
                       struct vn_loc loc)
{
    if (!path)
        return;
    if (!*path)
        err(c, loc, key, "The %s path is empty.", what);
    else if (strchr(path, '\n'))
        err(c, loc, key, "The %s path contains a newline.", what);
}

static void check_boot(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    check_path(c, "kernel", "kernel", spec->kernel, spec->loc.kernel);
    check_path(c, "ramdisk", "ramdisk", spec->ramdisk, spec->loc.ramdisk);
    if (spec->ramdisk && !spec->kernel)
        err(c, spec->loc.ramdisk, "ramdisk", "A ramdisk needs a 'kernel' to go with it.");
    /* With neither kernel nor disk, vnuma boots its own guest image, cmdline included; a
     * disk boots through the firmware, which has no command line to pass. */
    if (spec->cmdline && !spec->kernel && spec->ndisks > 0)
        warn(c, spec->loc.cmdline, "cmdline",
             "The kernel command line is ignored when booting from a 'disk' without a 'kernel'.");
}

/* The guest's names of the disks, listed for a message ("/dev/vda, /dev/sr0"). */
static void guest_names(const struct vn_disk_map *map, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int r = 0; r < map->n && used + 16 < len; r++)
        used += (size_t)snprintf(buf + used, len - used, "%s/dev/%s", r ? ", " : "",
                                 map->guest[map->order[r]]);
    if (map->n == 0)
        snprintf(buf, len, "it has no disks");
}

/* root= on the command line that names a Xen device (root=/dev/xvda1) is rewritten to the
 * name the guest will give that disk, with a warning; one that names no disk is warned
 * about.  Only when the command line reaches the guest (a kernel, or vnuma's own image). */
static void check_root(struct check *c)
{
    struct vn_vm_spec *spec = c->spec;
    if (!spec->cmdline || (!spec->kernel && spec->ndisks > 0))
        return;
    struct vn_disk_map *map = malloc(sizeof *map);
    if (!map)
        abort();
    vn_disk_map_build(spec, map);
    const char *key = spec->cmdline_key ? spec->cmdline_key : "cmdline";
    size_t cap = strlen(spec->cmdline) * 2 + 64, used = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    bool changed = false;
    const char *p = spec->cmdline;
    while (*p) {
        size_t sp = strspn(p, " \t"), n = strcspn(p + sp, " \t");
        const char *word = p + sp;
        char dev[256], to[300];
        int disk = -1, kind = VN_DEV_OTHER;
        if (n > 5 && n - 5 < sizeof dev && strncmp(word, "root=", 5) == 0) {
            snprintf(dev, sizeof dev, "%.*s", (int)(n - 5), word + 5);
            kind = vn_disk_map_dev(spec, map, dev, to, sizeof to, &disk);
        }
        if (kind == VN_DEV_RENAMED) {
            warn(c, spec->loc.cmdline, key,
                 "'root=%s' names a Xen device: the guest sees disk '%s' as /dev/%s, so vnuma "
                 "passes 'root=%s' instead.",
                 dev, spec->disks[disk].vdev, map->guest[disk], to);
            used += (size_t)snprintf(out + used, cap - used, "%.*sroot=%s", (int)sp, p, to);
            changed = true;
        } else {
            if (kind == VN_DEV_NONE) {
                char names[200];
                guest_names(map, names, sizeof names);
                warn(c, spec->loc.cmdline, key,
                     "'root=%s' names no disk of this domain (%s%s); the guest will not find its "
                     "root there.",
                     dev, map->n ? "the guest has " : "", names);
            }
            used += (size_t)snprintf(out + used, cap - used, "%.*s", (int)(sp + n), p);
        }
        p = word + n;
    }
    if (changed) {
        free(spec->cmdline);
        spec->cmdline = out;
    } else {
        free(out);
    }
    free(map);
}

static void check_disks(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    int ncdrom = 0;
    for (int i = 0; i < spec->ndisks; i++) {
        const struct vn_disk *d = &spec->disks[i];
        struct vn_vdev v;
        if (d->cdrom && ++ncdrom == VN_MAX_CDROMS + 1)
            err(c, d->loc, "disk",
                "Disk '%.100s' is CD-ROM number %d; the q35 machine has %d IDE (AHCI) ports for "
                "them.",
                d->spec, ncdrom, VN_MAX_CDROMS);
        if (d->vdev && vn_vdev_parse(d->vdev, &v) < 0)
            err(c, d->loc, "disk",
                "Disk '%.100s': vdev '%s' is not a disk name (xvdX, hdX, sdX or vdX, X = a..z or "
                "aa..zz, with an optional partition number).",
                d->spec, d->vdev);
        if (!d->target && !d->cdrom)
            err(c, d->loc, "disk", "Disk '%.100s' has no target (the image or device path).",
                d->spec);
        else if (d->target && strchr(d->target, '\n'))
            err(c, d->loc, "disk", "Disk '%.100s': the target path contains a newline.", d->spec);
        if (!d->vdev) {
            err(c, d->loc, "disk",
                "Disk '%.100s' has no vdev (the guest's name for it, e.g. 'xvda').", d->spec);
            continue;
        }
        for (int j = 0; j < i; j++) {
            if (spec->disks[j].vdev && strcmp(spec->disks[j].vdev, d->vdev) == 0) {
                err(c, d->loc, "disk", "Disk '%.100s' uses vdev '%s' like disk %d.", d->spec,
                    d->vdev, j);
                break;
            }
        }
    }
}

static void check_pci(struct check *c)
{
    const struct vn_vm_spec *spec = c->spec;
    for (int i = 0; i < spec->npci; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(spec->pci[i], spec->pci[j]) == 0) {
                err(c, spec->loc.pci, "pci", "Device '%s' is passed through twice.", spec->pci[i]);
                break;
            }
}

int vn_config_validate(struct vn_vm_spec *spec, const struct vn_host_topo *host,
                       struct vn_diags *diags)
{
    struct check c = {.spec = spec, .host = host, .diags = diags, .bad = spec->parse_bad};
    int before = diags->nerrors;
    check_name(&c);
    check_memory(&c);
    check_vcpus(&c);
    if (spec->nvnodes > 0 && !(c.bad & VN_BAD_VNUMA)) {
        check_vnode_sizes(&c);
        check_vnode_vcpus(&c);
        check_vnode_distances(&c);
    }
    check_affinity(&c, "cpus", &spec->cpus, VN_BAD_CPUS);
    check_affinity(&c, "cpus_soft", &spec->cpus_soft, VN_BAD_CPUS_SOFT);
    if (host) {
        if (spec->nvnodes > 0 && !(c.bad & VN_BAD_VNUMA)) {
            check_pnodes(&c);
            check_affinity_vs_pnodes(&c, "cpus", "hard", &spec->cpus);
            check_affinity_vs_pnodes(&c, "cpus_soft", "soft", &spec->cpus_soft);
        }
        check_host_capacity(&c);
    }
    check_boot(&c);
    check_disks(&c);
    check_root(&c);
    check_pci(&c);
    check_groups(&c);
    return diags->nerrors - before;
}
