/* vn_domain_list and vn_domain_info: what the records say, checked against the live system
 * (is QEMU alive, where are the vnodes' pages, which CPUs do the vCPU threads use). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../numa/affinity.h"
#include "../numa/migrate.h"
#include "../numa/numa_maps.h"
#include "../numa/sample.h"
#include "../render/render.h"
#include "../qemu/accel.h"
#include "../qemu/qmp.h"
#include "../proc/proc.h"
#include "../qemu/vcpu_threads.h"
#include "../util/cleanup.h"
#include "domain_int.h"

#define QMP_TIMEOUT_MS 3000

struct json_object *vn_dom_get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

int64_t vn_dom_get_int(struct json_object *o, const char *key)
{
    struct json_object *v = vn_dom_get(o, key);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static struct json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* Copies member key of from into to (a new reference), null when absent. */
static void copy(struct json_object *to, const char *name, struct json_object *from,
                 const char *key)
{
    struct json_object *v = vn_dom_get(from, key);
    json_object_object_add(to, name, v ? json_object_get(v) : NULL);
}

static struct json_object *claim_nodes(const struct vn_claim *c)
{
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < c->n; i++)
        json_object_array_add(a, json_object_new_int(c->v[i].node));
    return a;
}

/* A vnode move whose mover is gone (SIGKILL, a crash) or that stopped early: the state says
 * "split" and "unfinished" says how to finish it. */
static void add_unfinished(struct json_object *o, const struct vn_domain_record *r)
{
    char text[1024] = "";
    size_t used = 0;
    bool live = false;
    for (int i = 0; i < r->nmoves; i++) {
        const struct vn_mem_move *m = &r->moves[i];
        bool moving = m->state == VN_MOVE_MOVING;
        if (moving && vn_proc_alive(m->pid, m->pid_start)) {
            live = true;
            continue;
        }
        char to[256];
        vn_bitmap_format_list(&m->to, to, sizeof to);
        if (used < sizeof text)
            used += (size_t)snprintf(
                text + used, sizeof text - used,
                "%sdomain '%s': the move of vnode %d to host node(s) %s was left unfinished "
                "(%s by pid %d%s); 'vnuma mem-move %s --vnode %d --to %s' finishes it, as "
                "vnumad does when it starts",
                used ? "; " : "", r->name, m->vnode, to, moving ? "moving" : "stopped early",
                (int)m->pid, moving ? ", which is gone" : "", r->name, m->vnode, to);
    }
    if (!text[0])
        return;
    if (!live)
        json_object_object_add(o, "state", json_object_new_string("split"));
    json_object_object_add(o, "unfinished", json_object_new_string(text));
}

/* Fields list and info share. */
static struct json_object *summary(const struct vn_domain_record *r)
{
    struct json_object *o = json_object_new_object();
    const struct vn_placement *p = r->placement;
    const char *state = vn_dom_state(r);
    bool running = strcmp(state, "dead") != 0 && strcmp(state, "preserved") != 0 && r->qemu_pid > 0;
    json_object_object_add(o, "name", json_object_new_string(r->name));
    json_object_object_add(o, "state", json_object_new_string(state));
    json_object_object_add(o, "pid", running ? json_object_new_int(r->qemu_pid) : NULL);
    json_object_object_add(o, "vcpus", json_object_new_int(p ? p->vcpus : 0));
    json_object_object_add(o, "memory_mib", json_object_new_int64(p ? (int64_t)p->mem_mib : 0));
    json_object_object_add(o, "vnodes", json_object_new_int(p ? p->nvnodes : 0));
    json_object_object_add(o, "host_nodes", claim_nodes(vn_domain_claim(r)));
    json_object_object_add(
        o, "accel",
        json_object_new_string(r->accel == VN_ACCEL_AUTO ? "auto" : vn_accel_name(r->accel)));
    if (running)
        add_unfinished(o, r);
    int64_t up = (int64_t)time(NULL) - r->created;
    json_object_object_add(o, "uptime_s", running && up >= 0 ? json_object_new_int64(up) : NULL);
    return o;
}

/* The domain name a QEMU of this state dir runs for, from its "-qmp unix:STATE/run/NAME/
 * qmp.sock,..." argument; false for any other process. */
static bool qemu_of(const char *state_dir, pid_t pid, char *name, size_t len)
{
    char cmd[65536], prefix[4200];
    snprintf(prefix, sizeof prefix, "unix:%s/run/", state_dir);
    ssize_t n = vn_proc_read(pid, 0, "cmdline", cmd, sizeof cmd, NULL);
    bool after_qmp = false;
    for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(cmd + i) + 1) {
        const char *a = cmd + i;
        if (after_qmp && strncmp(a, prefix, strlen(prefix)) == 0) {
            const char *nm = a + strlen(prefix), *end = strstr(nm, "/qmp.sock,");
            if (!end || (size_t)(end - nm) >= len)
                return false;
            snprintf(name, len, "%.*s", (int)(end - nm), nm);
            return vn_domain_name_check(name, NULL) == 0;
        }
        after_qmp = strcmp(a, "-qmp") == 0;
    }
    return false;
}

/* QEMUs started for this state dir that no readable record leads to (a corrupt or removed
 * record): shown, with their pid, so an operator can stop them; vnuma never kills what no
 * record vouches for. */
static void add_orphans(struct vn_state *s, struct json_object *arr)
{
    static pid_t pids[65536];
    int n = vn_proc_pids(pids, (int)VN_ARRAY_SIZE(pids), NULL);
    for (int i = 0; i < n; i++) {
        char name[VN_DOMAIN_NAME_MAX + 1];
        if (!qemu_of(vn_state_dir(s), pids[i], name, sizeof name))
            continue;
        struct json_object *mine = NULL;
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            struct json_object *d = json_object_array_get_idx(arr, k);
            if (strcmp(json_object_get_string(vn_dom_get(d, "name")), name) == 0)
                mine = d;
        }
        const char *st = mine ? json_object_get_string(vn_dom_get(mine, "state")) : NULL;
        if (mine && st && strcmp(st, "corrupt") != 0 && vn_dom_get_int(mine, "pid") == pids[i])
            continue; /* its record's QEMU */
        char why[512];
        snprintf(why, sizeof why,
                 "QEMU pid %d runs for '%s' of this state dir, but no readable record leads to "
                 "it; vnuma leaves it alone: stop it with 'kill %d'",
                 (int)pids[i], name, (int)pids[i]);
        if (!mine || (st && strcmp(st, "corrupt") != 0)) {
            mine = json_object_new_object();
            json_object_object_add(mine, "name", json_object_new_string(name));
            json_object_object_add(mine, "state", json_object_new_string("orphan"));
            json_object_array_add(arr, mine);
        }
        json_object_object_add(mine, "pid", json_object_new_int(pids[i]));
        json_object_object_add(mine, "orphan", json_object_new_string(why));
    }
}

int vn_domain_list(const char *state_dir, struct json_object **out, struct vn_error *err)
{
    *out = NULL;
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (vn_dom_open_existing(state_dir, &s, err) < 0)
        return -1;
    struct json_object *arr = json_object_new_array();
    if (vn_dom_each_record(s, arr, summary, err) < 0) {
        json_object_put(arr);
        return -1;
    }
    if (s)
        add_orphans(s, arr);
    *out = arr;
    return 0;
}

int vn_dom_each_record(struct vn_state *s, struct json_object *arr,
                       struct json_object *(*one)(const struct vn_domain_record *r),
                       struct vn_error *err)
{
    char **names = NULL;
    int n = 0;
    if (s && vn_state_list(s, &names, &n, err) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        struct vn_domain_record r;
        struct vn_error e2 = {0};
        if (vn_state_read_record(s, names[i], &r, &e2) < 0 || vn_dom_vet_record(s, &r, &e2) < 0) {
            if (e2.errnum == ENOENT)
                continue; /* destroyed meanwhile */
            /* One bad record must not hide the others; it is shown with its problem. */
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(names[i]));
            json_object_object_add(o, "state", json_object_new_string("corrupt"));
            json_object_object_add(o, "error", json_object_new_string(e2.msg));
            json_object_array_add(arr, o);
            continue;
        }
        json_object_array_add(arr, one(&r));
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, n);
    return 0;
}

struct json_object *vn_dom_residency_json(const struct vn_residency *res, double *total)
{
    struct json_object *arr = json_object_new_array();
    double sum = 0;
    for (int n = 0; n <= res->max_node && n < VN_NUMA_MAPS_MAX_NODES; n++) {
        if (!res->pages[n])
            continue;
        struct json_object *e = json_object_new_object();
        double mib = vn_residency_mib(res, n);
        json_object_object_add(e, "node", json_object_new_int(n));
        json_object_object_add(e, "mib", json_object_new_double(mib));
        json_object_array_add(arr, e);
        sum += mib;
    }
    if (total)
        *total = sum;
    return arr;
}

/* Pages of one vnode file per host node, as [{"node", "mib"}] plus the total (numa_maps). */
static struct json_object *residency(pid_t pid, const char *file, double *total,
                                     struct json_object *o)
{
    struct vn_residency res;
    struct vn_error e2 = {0};
    *total = 0;
    if (vn_numa_maps_read(pid, file, &res, &e2) < 0) {
        json_object_object_add(o, "resident_error", json_object_new_string(e2.msg));
        return json_object_new_array();
    }
    return vn_dom_residency_json(&res, total);
}

/* The same estimated from K sampled pages (+-2% of the range at 95%); each entry also has
 * "bound_mib", and o gets "resident_samples" and "resident_bound_mib" (the worst case). */
static struct json_object *residency_sampled(pid_t pid, const char *file, double *total,
                                             struct json_object *o)
{
    struct vn_mapping maps[8];
    struct vn_error e2 = {0};
    *total = 0;
    int n = vn_mapping_find(pid, file, maps, 8, &e2);
    if (n <= 0) {
        if (n == 0)
            vn_error_set(&e2, "QEMU does not map '%s'", file);
        json_object_object_add(o, "resident_error", json_object_new_string(e2.msg));
        return json_object_new_array();
    }
    size_t len = maps[0].end - maps[0].start;
    struct vn_residency_estimate est;
    if (vn_residency_sample(pid, maps[0].start, len, 0, 0, (uint64_t)time(NULL), &est, &e2) < 0) {
        json_object_object_add(o, "resident_error", json_object_new_string(e2.msg));
        return json_object_new_array();
    }
    size_t ps = (size_t)(len / (est.range_pages ? est.range_pages : 1));
    struct json_object *arr = json_object_new_array();
    double range_mib = (double)len / 1048576.0;
    for (int node = 0; node <= est.max_node && node < VN_NUMA_MAPS_MAX_NODES; node++) {
        if (!est.hits[node])
            continue;
        struct json_object *e = json_object_new_object();
        double mib = vn_estimate_mib(&est, node, ps);
        json_object_object_add(e, "node", json_object_new_int(node));
        json_object_object_add(e, "mib", json_object_new_double(mib));
        json_object_object_add(
            e, "bound_mib", json_object_new_double(vn_estimate_halfwidth(&est, node) * range_mib));
        json_object_array_add(arr, e);
        *total += mib;
    }
    json_object_object_add(o, "resident_samples", json_object_new_int64((int64_t)est.samples));
    json_object_object_add(
        o, "resident_bound_mib",
        json_object_new_double(
            est.exact ? 0 : vn_sample_halfwidth(0.5, est.samples, est.range_pages) * range_mib));
    return arr;
}

/* The vnodes in the placement's own JSON spelling (pnodes, policy, vcpus...), with what QEMU
 * has resident and any unfinished move. */
static void add_vnodes(struct json_object *o, const struct vn_domain_record *r,
                       struct json_object *placement, bool alive, bool exact)
{
    struct json_object *vnodes = vn_dom_get(placement, "vnodes");
    const char *mem_dir = vn_dom_record_mem_dir(r);
    struct json_object *out = json_object_new_array(), *dist = json_object_new_array();
    size_t n = vnodes ? json_object_array_length(vnodes) : 0;
    json_object_object_add(o, "resident_method",
                           json_object_new_string(exact ? "exact" : "sampled"));
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(vnodes, i);
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "vnode", json_object_new_int((int)i));
        copy(e, "pnodes", v, "pnodes");
        copy(e, "memory_mib", v, "memory_mib");
        copy(e, "policy", v, "policy");
        copy(e, "vcpus", v, "vcpus");
        if (alive && mem_dir) {
            char file[4200];
            snprintf(file, sizeof file, "%s/vnode%zu", mem_dir, i);
            double total;
            json_object_object_add(e, "resident",
                                   exact ? residency(r->qemu_pid, file, &total, e)
                                         : residency_sampled(r->qemu_pid, file, &total, e));
            json_object_object_add(e, "resident_mib", json_object_new_double(total));
        }
        const struct vn_mem_move *m = vn_domain_move(r, (int)i);
        if (m) {
            struct json_object *mc = vn_domain_move_to_json(m);
            /* A "moving" entry whose migrating process is gone is a split, seen from here. */
            if (m->state == VN_MOVE_MOVING && !vn_proc_alive(m->pid, m->pid_start)) {
                json_object_object_add(mc, "state", json_object_new_string("split"));
                json_object_object_add(mc, "reason",
                                       json_object_new_string("the migrating process is gone"));
            }
            json_object_object_add(e, "migration", mc);
        }
        json_object_array_add(out, e);
        struct json_object *d = vn_dom_get(v, "distances");
        json_object_array_add(dist, d ? json_object_get(d) : NULL);
    }
    json_object_object_add(o, "vnode_info", out);
    json_object_object_add(o, "distances", dist);
}

static struct json_object *cpulist(const struct vn_bitmap *b)
{
    char buf[4096];
    vn_bitmap_format_list(b, buf, sizeof buf);
    return json_object_new_string(buf);
}

static struct json_object *cpulist_or_null(const struct vn_bitmap *b, bool have)
{
    return have ? cpulist(b) : NULL;
}

/* The vCPUs with their sets (vcpu-pin's where it set them, else the placement's), threads and
 * where they run now. */
static void add_vcpus(struct json_object *o, const struct vn_domain_record *r,
                      struct json_object *placement, bool alive)
{
    struct json_object *aff = vn_dom_get(placement, "vcpu_affinity");
    size_t n = aff ? json_object_array_length(aff) : 0;
    int nv = r->placement ? r->placement->vcpus : 0;
    VN_CLEANUP_FREE pid_t *tids = calloc((size_t)nv + 1, sizeof *tids);
    if (alive && tids) {
        struct vn_error e2 = {0};
        if (vn_qemu_vcpu_threads(r->qmp_socket, r->name, r->qemu_pid, nv, QMP_TIMEOUT_MS, tids,
                                 &e2) < 0)
            json_object_object_add(o, "qmp_error", json_object_new_string(e2.msg));
    }
    struct json_object *out = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *a = json_object_array_get_idx(aff, i);
        struct json_object *e = json_object_new_object();
        int v = (int)vn_dom_get_int(a, "vcpu");
        json_object_object_add(e, "vcpu", json_object_new_int(v));
        copy(e, "vnode", a, "vnode");
        int tid = tids && v >= 0 && v < nv ? tids[v] : -1;
        json_object_object_add(e, "thread_id", tid > 0 ? json_object_new_int(tid) : NULL);
        const struct vn_vcpu_pin *pin = vn_domain_pin(r, v);
        if (pin) {
            json_object_object_add(e, "soft", cpulist_or_null(&pin->soft, pin->have_soft));
            json_object_object_add(e, "hard", cpulist_or_null(&pin->hard, pin->have_hard));
            json_object_object_add(e, "soft_nodes",
                                   cpulist_or_null(&pin->soft_nodes, pin->have_soft_nodes));
        } else {
            copy(e, "soft", a, "soft");
            copy(e, "hard", a, "hard");
        }
        struct vn_bitmap cur;
        struct vn_error e2 = {0};
        bool have = tid > 0 && vn_affinity_get(tid, &cur, &e2) == 0;
        json_object_object_add(e, "affinity", have ? cpulist(&cur) : NULL);
        int last = tid > 0 ? vn_affinity_last_cpu(r->qemu_pid, tid, &e2) : -1;
        json_object_object_add(e, "last_cpu", last >= 0 ? json_object_new_int(last) : NULL);
        json_object_array_add(out, e);
    }
    json_object_object_add(o, "vcpu_info", out);
}

int vn_domain_info(const char *state_dir, const char *name, struct json_object **out,
                   struct vn_error *err)
{
    return vn_domain_info_ex(state_dir, name, false, out, err);
}

int vn_domain_info_ex(const char *state_dir, const char *name, bool exact, struct json_object **out,
                      struct vn_error *err)
{
    *out = NULL;
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(state_dir, name, &s, &r, err) < 0)
        return -1;
    struct json_object *o = summary(&r);
    bool alive = r.qemu_pid > 0 && vn_domain_alive(&r);
    json_object_object_add(o, "config", str_or_null(r.config_path));
    json_object_object_add(o, "runtime_dir", str_or_null(r.runtime_dir));
    json_object_object_add(o, "mem_dir", str_or_null(vn_dom_record_mem_dir(&r)));
    json_object_object_add(o, "console_socket", str_or_null(r.console_socket));
    json_object_object_add(o, "accel_reason", str_or_null(r.accel_reason));
    json_object_object_add(o, "guest_numa",
                           r.placement ? json_object_new_boolean(r.placement->guest_numa) : NULL);
    json_object_object_add(o, "nics", vn_dom_nics_json(r.spec, r.name, vn_state_dir(s)));
    struct json_object *placement = r.placement ? vn_render_json(r.placement) : NULL;
    add_vnodes(o, &r, placement, alive, exact);
    add_vcpus(o, &r, placement, alive);
    json_object_put(placement);
    vn_domain_record_clear(&r);
    *out = o;
    return 0;
}
