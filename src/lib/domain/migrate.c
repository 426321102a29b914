/* vn_domain_migrate: moving the memory of a running domain's vnodes between host nodes, with
 * the record kept true at every moment.
 *
 * Per vnode: find its memory file's mapping in QEMU (/proc/PID/maps) -> check that the targets
 * have room (nothing is recorded or moved when they do not) -> under the host lock: status
 * migrating and an entry extra.migrations["N"] = {state "moving", from, to, claim, pid} ->
 * the file's shared policy set to the targets (QEMU's future faults land there) -> the pages
 * moved in bounded batches -> under the lock: the vnode's pnodes and the claim now say the
 * targets, the entry is removed, status running.  When the move stops early (a signal set the
 * stop flag, QEMU exited, a syscall failed), the entry says "split" with the measured
 * residency and the claim divides the vnode's memory between old and new nodes by how far it
 * got: nothing is lost, and a later migrate of the vnode (to the same or the old nodes)
 * finishes or reverses it. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../numa/nodeinfo.h"
#include "../numa/numa_maps.h"
#include "../render/render.h"
#include "../topo/topo.h"
#include "../util/cleanup.h"
#include "../util/fault.h"
#include "domain_int.h"

#define LOCK_TIMEOUT_MS 30000
#define MAX_MAPPINGS    8

/* Where part of a vnode's memory is counted (vcpus stay 0: a memory move leaves them). */
#define share vn_claim_share

struct mctx {
    const struct vn_domain_migrate_opts *o;
    const char *name;
    struct vn_state *s;
    int vnode;
    char file[4200];
    char to_text[256], from_text[256];
};

static struct json_object *int_list(const struct vn_bitmap *b)
{
    struct json_object *a = json_object_new_array();
    VN_BITMAP_FOREACH(n, b)
    json_object_array_add(a, json_object_new_int(n));
    return a;
}

static void list_from_json(struct json_object *a, struct vn_bitmap *b)
{
    vn_bitmap_zero(b);
    for (size_t i = 0;
         a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
        int n = json_object_get_int(json_object_array_get_idx(a, i));
        if (n >= 0 && n < VN_BITMAP_BITS)
            vn_bitmap_set(b, n);
    }
}

static int split_even(const struct vn_bitmap *b, uint64_t mib, struct share *out, int max)
{
    return vn_claim_split_even(b, mib, 0, out, max);
}

static struct json_object *shares_json(const struct share *sh, int n)
{
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++) {
        if (!sh[i].mib)
            continue;
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "node", json_object_new_int(sh[i].node));
        json_object_object_add(e, "mib", json_object_new_int64((int64_t)sh[i].mib));
        json_object_array_add(a, e);
    }
    return a;
}

static struct json_object *migrations(struct vn_domain_record *r, bool create)
{
    if (!r->extra) {
        if (!create)
            return NULL;
        r->extra = json_object_new_object();
    }
    struct json_object *m = vn_dom_get(r->extra, "migrations");
    if (!m && create) {
        m = json_object_new_object();
        json_object_object_add(r->extra, "migrations", m);
    }
    return m;
}

static struct json_object *vnode_obj(const struct vn_domain_record *r, int vnode)
{
    struct json_object *vnodes = vn_dom_get(r->placement, "vnodes");
    if (!vnodes || vnode < 0 || (size_t)vnode >= json_object_array_length(vnodes))
        return NULL;
    return json_object_array_get_idx(vnodes, (size_t)vnode);
}

/* Where the record counts vnode's memory now: the split of an unfinished move, else its
 * memory divided over its pnodes. */
static int current_shares(const struct vn_domain_record *r, int vnode, struct share *out, int max)
{
    char key[24];
    snprintf(key, sizeof key, "%d", vnode);
    struct json_object *m = vn_dom_get(vn_dom_get(r->extra, "migrations"), key);
    struct json_object *c = vn_dom_get(m, "claim");
    if (c && json_object_is_type(c, json_type_array)) {
        int k = 0;
        for (size_t i = 0; i < json_object_array_length(c) && k < max; i++) {
            struct json_object *e = json_object_array_get_idx(c, i);
            out[k].node = (int)vn_dom_get_int(e, "node");
            out[k].mib = (uint64_t)vn_dom_get_int(e, "mib");
            k++;
        }
        return k;
    }
    struct json_object *v = vnode_obj(r, vnode);
    struct vn_bitmap pn;
    list_from_json(vn_dom_get(v, "pnodes"), &pn);
    return split_even(&pn, (uint64_t)vn_dom_get_int(v, "memory_mib"), out, max);
}

/* The claim with the vnode's memory counted at new_sh instead of old_sh; the placement's own
 * copy of the claim follows. */
static void claim_move(struct vn_domain_record *r, const struct share *old_sh, int nold,
                       const struct share *new_sh, int nnew)
{
    /* A full claim (VN_MAX_VNODES nodes) cannot take a new node: it stays as it was, which
     * over-counts the old nodes, the safe side. */
    vn_claim_move(&r->claim, old_sh, nold, new_sh, nnew);
    json_object_object_add(r->placement, "claim", vn_render_claim_json(&r->claim));
}

/* Status migrating while any entry is "moving" by a live process, else running. */
static void fix_status(struct vn_domain_record *r)
{
    struct json_object *m = migrations(r, false);
    bool moving = false;
    if (m) {
        json_object_object_foreach(m, key, val)
        {
            (void)key;
            const char *st = json_object_get_string(vn_dom_get(val, "state"));
            if (st && strcmp(st, "moving") == 0 &&
                vn_proc_alive((pid_t)vn_dom_get_int(val, "pid"),
                              (uint64_t)vn_dom_get_int(val, "pid_start")))
                moving = true;
        }
    }
    r->status = moving ? VN_DOMAIN_MIGRATING : VN_DOMAIN_RUNNING;
}

/* Reads the record under the lock, lets edit change it, writes it back. */
static int update(struct mctx *c,
                  int (*edit)(struct mctx *c, struct vn_domain_record *r, void *arg,
                              struct vn_error *err),
                  void *arg, struct vn_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "migrate '%s'", c->name);
    if (vn_state_lock(c->s, LOCK_TIMEOUT_MS, what, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot update its record", c->name);
    struct vn_domain_record r;
    int rc = vn_dom_read(c->s, c->name, &r, err);
    if (rc == 0)
        rc = edit(c, &r, arg, err);
    if (rc == 0 && vn_state_write_record(c->s, &r, err) < 0)
        rc = vn_error_prefix(err, "domain '%s': cannot write its record", c->name);
    vn_state_unlock(c->s);
    vn_domain_record_clear(&r);
    return rc;
}

/* Step 1 under the lock: no other move of this vnode under way; mark it "moving". */
static int edit_begin(struct mctx *c, struct vn_domain_record *r, void *arg, struct vn_error *err)
{
    (void)arg;
    if (!vn_domain_alive(r))
        return vn_error_set(err, "domain '%s' is not running (its QEMU has exited)", c->name);
    struct json_object *m = migrations(r, true);
    char key[24];
    snprintf(key, sizeof key, "%d", c->vnode);
    struct json_object *old = vn_dom_get(m, key);
    const char *st = old ? json_object_get_string(vn_dom_get(old, "state")) : NULL;
    pid_t by = (pid_t)vn_dom_get_int(old, "pid");
    if (st && strcmp(st, "moving") == 0 && by != getpid() &&
        vn_proc_alive(by, (uint64_t)vn_dom_get_int(old, "pid_start")))
        return vn_error_set(err, "domain '%s': vnode %d is being migrated by pid %d already",
                            c->name, c->vnode, (int)by);
    struct share sh[VN_MAX_VNODES], to_sh[VN_MAX_VNODES];
    int nsh = current_shares(r, c->vnode, sh, VN_MAX_VNODES);
    /* The invariant, before a page moves: the claim as it will be after the move must fit
     * beside every other domain's (free memory alone would let it land on claimed memory). */
    struct vn_domain_record after = *r;
    int nto =
        split_even(&c->o->nodes, (uint64_t)vn_dom_get_int(vnode_obj(r, c->vnode), "memory_mib"),
                   to_sh, VN_MAX_VNODES);
    if (vn_claim_move(&after.claim, sh, nsh, to_sh, nto) < 0 ||
        vn_dom_claims_fit(c->s, NULL, &after, err) < 0)
        return vn_error_prefix(err, "domain '%s': vnode %d cannot move to host node(s) %s", c->name,
                               c->vnode, c->to_text);
    struct json_object *e = json_object_new_object();
    struct vn_bitmap from;
    list_from_json(vn_dom_get(vnode_obj(r, c->vnode), "pnodes"), &from);
    json_object_object_add(e, "state", json_object_new_string("moving"));
    json_object_object_add(e, "from", int_list(&from));
    json_object_object_add(e, "to", int_list(&c->o->nodes));
    json_object_object_add(e, "claim", shares_json(sh, nsh));
    json_object_object_add(e, "pid", json_object_new_int(getpid()));
    uint64_t start = 0;
    struct vn_error ignored = {0};
    vn_proc_start_time(getpid(), &start, &ignored);
    json_object_object_add(e, "pid_start", json_object_new_int64((int64_t)start));
    json_object_object_add(e, "started", json_object_new_int64((int64_t)time(NULL)));
    json_object_object_add(m, key, e);
    fix_status(r);
    return 0;
}

/* After success: pnodes and claim say the targets; the entry goes. */
static int edit_done(struct mctx *c, struct vn_domain_record *r, void *arg, struct vn_error *err)
{
    (void)arg;
    (void)err;
    struct share old_sh[VN_MAX_VNODES], new_sh[VN_MAX_VNODES];
    int nold = current_shares(r, c->vnode, old_sh, VN_MAX_VNODES);
    struct json_object *v = vnode_obj(r, c->vnode);
    int nnew =
        split_even(&c->o->nodes, (uint64_t)vn_dom_get_int(v, "memory_mib"), new_sh, VN_MAX_VNODES);
    claim_move(r, old_sh, nold, new_sh, nnew);
    json_object_object_add(v, "pnodes", int_list(&c->o->nodes));
    char key[24];
    snprintf(key, sizeof key, "%d", c->vnode);
    struct json_object *m = migrations(r, false);
    if (m) {
        json_object_object_del(m, key);
        if (json_object_object_length(m) == 0)
            json_object_object_del(r->extra, "migrations");
    }
    fix_status(r);
    return 0;
}

/* Nothing moved after all (refused by the second check, policy failure): the entry goes and
 * the record is as before. */
static int edit_undo(struct mctx *c, struct vn_domain_record *r, void *arg, struct vn_error *err)
{
    (void)err;
    struct json_object *prev = arg; /* the entry before this run, or NULL */
    char key[24];
    snprintf(key, sizeof key, "%d", c->vnode);
    struct json_object *m = migrations(r, false);
    if (m) {
        if (prev)
            json_object_object_add(m, key, json_object_get(prev));
        else
            json_object_object_del(m, key);
        if (json_object_object_length(m) == 0)
            json_object_object_del(r->extra, "migrations");
    }
    fix_status(r);
    return 0;
}

struct split_info {
    const struct vn_migrate_report *rep;
    struct json_object *resident; /* measured, or NULL */
    const char *reason;
};

/* After an early stop: the vnode is split.  The claim divides its memory by the share of the
 * range handled (below resume_at everything is on the targets or follows their policy). */
static int edit_split(struct mctx *c, struct vn_domain_record *r, void *arg, struct vn_error *err)
{
    (void)err;
    const struct split_info *si = arg;
    const struct vn_migrate_report *rep = si->rep;
    struct share old_sh[VN_MAX_VNODES], sh[2 * VN_MAX_VNODES];
    int nold = current_shares(r, c->vnode, old_sh, VN_MAX_VNODES);
    struct json_object *v = vnode_obj(r, c->vnode);
    uint64_t mem = (uint64_t)vn_dom_get_int(v, "memory_mib");
    double done = rep->p.pages_total ? (double)rep->p.pages_done / (double)rep->p.pages_total : 0;
    uint64_t moved = (uint64_t)((double)mem * done + 0.5);
    /* The moved part on the targets; the rest where the record had it, in proportion, with the
     * old share on a target node folded into it. */
    int n = split_even(&c->o->nodes, moved, sh, VN_MAX_VNODES);
    uint64_t old_total = 0, rest = mem - moved, given = 0;
    for (int i = 0; i < nold; i++)
        old_total += old_sh[i].mib;
    for (int i = 0; i < nold && old_total; i++) {
        uint64_t part = i == nold - 1 ? rest - given : rest * old_sh[i].mib / old_total;
        given += part;
        int k = 0;
        while (k < n && sh[k].node != old_sh[i].node)
            k++;
        if (k == n)
            sh[n++] = (struct share){old_sh[i].node, 0, 0};
        sh[k].mib += part;
    }
    claim_move(r, old_sh, nold, sh, n);
    struct vn_bitmap both;
    list_from_json(vn_dom_get(v, "pnodes"), &both);
    vn_bitmap_or(&both, &c->o->nodes);
    json_object_object_add(v, "pnodes", int_list(&both));

    char key[24];
    snprintf(key, sizeof key, "%d", c->vnode);
    struct json_object *m = migrations(r, true);
    struct json_object *e = vn_dom_get(m, key);
    if (!e) {
        e = json_object_new_object();
        json_object_object_add(m, key, e);
    }
    json_object_object_add(e, "state", json_object_new_string("split"));
    json_object_object_add(e, "to", int_list(&c->o->nodes));
    json_object_object_add(e, "claim", shares_json(sh, n));
    json_object_object_add(e, "pages_total", json_object_new_int64((int64_t)rep->p.pages_total));
    json_object_object_add(e, "pages_done", json_object_new_int64((int64_t)rep->p.pages_done));
    json_object_object_add(e, "pages_moved",
                           json_object_new_int64((int64_t)rep->p.pages_on_target));
    json_object_object_add(e, "reason", json_object_new_string(si->reason));
    json_object_object_add(e, "resident",
                           si->resident ? json_object_get(si->resident) : json_object_new_array());
    fix_status(r);
    return 0;
}

static void on_progress(const struct vn_migrate_progress *p, void *opaque)
{
    struct mctx *c = opaque;
    if (p->pages_done < p->pages_total)
        vn_fault_point("mem-move.moving");
    if (c->o->progress)
        c->o->progress(c->o->progress_ctx, c->vnode, p);
}

/* Sums a report of one mapping into the vnode's total. */
static void add_report(struct vn_migrate_report *sum, const struct vn_migrate_report *one)
{
    struct vn_migrate_progress *s = &sum->p;
    const struct vn_migrate_progress *p = &one->p;
    s->pages_total += p->pages_total;
    s->pages_done += p->pages_done;
    s->pages_on_target += p->pages_on_target;
    s->pages_absent += p->pages_absent;
    s->pages_failed += p->pages_failed;
    if (!s->first_failure)
        s->first_failure = p->first_failure;
    s->calls += p->calls;
    s->calls_over += p->calls_over;
    if (p->longest_call_ms > s->longest_call_ms)
        s->longest_call_ms = p->longest_call_ms;
    s->elapsed_s += p->elapsed_s;
    s->mib_per_s = s->elapsed_s > 0 ? (double)s->pages_done * 4096.0 / 1048576.0 / s->elapsed_s : 0;
    sum->interrupted |= one->interrupted;
    sum->target_exited |= one->target_exited;
    sum->resume_at = one->resume_at;
}

static int migrate_vnode(struct mctx *c, const struct vn_domain_record *r,
                         struct vn_domain_migrate_vnode *res, struct vn_error *err)
{
    const struct vn_domain_migrate_opts *o = c->o;
    const char *mem_dir = vn_dom_record_mem_dir(r);
    if (!mem_dir)
        return vn_error_set(err, "domain '%s': its record names no memory directory", c->name);
    snprintf(c->file, sizeof c->file, "%s/vnode%d", mem_dir, c->vnode);
    struct vn_mapping maps[MAX_MAPPINGS];
    int nmaps = vn_mapping_find(r->qemu_pid, c->file, maps, MAX_MAPPINGS, err);
    if (nmaps < 0)
        return vn_error_prefix(err, "domain '%s': cannot find the memory of vnode %d", c->name,
                               c->vnode);
    if (nmaps == 0)
        return vn_error_set(err,
                            "domain '%s': QEMU (pid %d) does not map the memory file '%s' of "
                            "vnode %d",
                            c->name, (int)r->qemu_pid, c->file, c->vnode);
    if (nmaps > MAX_MAPPINGS)
        nmaps = MAX_MAPPINGS;

    struct vn_migrate_opts mo;
    vn_migrate_opts_init(&mo);
    mo.nodes = o->nodes;
    mo.pause_ms = o->pause_ms;
    mo.rate_mib_s = o->rate_mib_s;
    mo.stop = o->stop;
    mo.progress = on_progress;
    mo.opaque = c;
    mo.progress_interval_s = 0.2;

    /* Room on the targets, before anything is recorded or moved. */
    for (int i = 0; i < nmaps; i++) {
        struct vn_migrate_report rep;
        memset(&rep, 0, sizeof rep);
        if (vn_migrate_check_free(r->qemu_pid, maps[i].start, maps[i].end - maps[i].start, &mo,
                                  &rep, err) < 0)
            return vn_error_prefix(err,
                                   "domain '%s': vnode %d cannot be migrated to host node(s) %s",
                                   c->name, c->vnode, c->to_text);
    }

    char key[24];
    snprintf(key, sizeof key, "%d", c->vnode);
    struct json_object *prev = vn_dom_get(vn_dom_get(r->extra, "migrations"), key);
    if (prev)
        snprintf(res->found, sizeof res->found, "%s by pid %d towards host node(s) %s",
                 json_object_get_string(vn_dom_get(prev, "state")),
                 (int)vn_dom_get_int(prev, "pid"),
                 json_object_to_json_string_ext(vn_dom_get(prev, "to"), JSON_C_TO_STRING_PLAIN));
    if (update(c, edit_begin, NULL, err) < 0)
        return -1;
    vn_fault_point("mem-move.marked");
    struct vn_error e2 = {0};
    for (int i = 0; i < nmaps; i++)
        if (vn_shared_policy_set(c->file, maps[i].offset, maps[i].end - maps[i].start, &o->nodes,
                                 err) < 0) {
            vn_error_prefix(err, "domain '%s': vnode %d was not migrated", c->name, c->vnode);
            if (update(c, edit_undo, prev, &e2) < 0)
                snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                         " Restoring the record also failed: %.200s", e2.msg);
            return -1;
        }

    mo.no_free_check = true; /* checked above, before the record changed */
    memset(&res->rep, 0, sizeof res->rep);
    int rc = 0;
    for (int i = 0; i < nmaps && rc == 0; i++) {
        struct vn_migrate_report rep;
        memset(&rep, 0, sizeof rep);
        rc = vn_migrate_range(r->qemu_pid, maps[i].start, maps[i].end - maps[i].start, &mo, &rep,
                              err);
        add_report(&res->rep, &rep);
    }
    if (rc == 0) {
        if (update(c, edit_done, NULL, err) < 0)
            return -1;
        vn_fault_point("mem-move.committed");
        res->done = true;
        return 0;
    }

    /* Stopped early: the record says where the vnode is now. */
    struct split_info si = {.rep = &res->rep,
                            .reason = res->rep.interrupted     ? "interrupted"
                                      : res->rep.target_exited ? "QEMU exited"
                                                               : err->msg};
    struct vn_residency now;
    struct json_object *resident = NULL;
    if (!res->rep.target_exited && vn_numa_maps_read(r->qemu_pid, c->file, &now, &e2) == 0) {
        resident = vn_dom_residency_json(&now, NULL);
        si.resident = resident;
    }
    char split[256] = "";
    if (resident) {
        size_t used = 0;
        for (size_t i = 0; i < json_object_array_length(resident) && used < sizeof split; i++) {
            struct json_object *e = json_object_array_get_idx(resident, i);
            used += (size_t)snprintf(split + used, sizeof split - used, "%s%.1f MiB on node %d",
                                     i ? ", " : "", json_object_get_double(vn_dom_get(e, "mib")),
                                     (int)vn_dom_get_int(e, "node"));
        }
    }
    int urc = update(c, edit_split, &si, &e2);
    if (resident)
        json_object_put(resident);
    if (urc < 0) {
        snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                 "; recording the split also failed: %.200s", e2.msg);
        return -1;
    }
    res->split = true;
    vn_error_prefix(err, "domain '%s': the migration of vnode %d to host node(s) %s stopped",
                    c->name, c->vnode, c->to_text);
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len,
             ". The vnode is split between host node(s) %s and %s after %llu of %llu pages%s%s%s; "
             "'vnuma mem-move %s --vnode %d --to %s' finishes the move, '--to %s' reverses it",
             c->from_text, c->to_text, (unsigned long long)res->rep.p.pages_done,
             (unsigned long long)res->rep.p.pages_total, split[0] ? " (" : "", split,
             split[0] ? ")" : "", c->name, c->vnode, c->to_text, c->from_text);
    return -1;
}

int vn_domain_migrate(const char *name, const struct vn_domain_migrate_opts *o,
                      struct vn_domain_migrate_result *res, struct vn_error *err)
{
    memset(res, 0, sizeof *res);
    if (vn_bitmap_empty(&o->nodes))
        return vn_error_set(err, "domain '%s': no target host node was given", name);
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(o->state_dir, name, &s, &r, err) < 0) {
        vn_domain_record_clear(&r);
        return -1;
    }
    struct mctx c = {.o = o, .name = name, .s = s};
    vn_bitmap_format_list(&o->nodes, c.to_text, sizeof c.to_text);
    int rc = 0;
    struct json_object *vnodes = vn_dom_get(r.placement, "vnodes");
    int nv = vnodes ? (int)json_object_array_length(vnodes) : 0;
    if (!vn_domain_alive(&r) || r.status == VN_DOMAIN_CREATING || r.status == VN_DOMAIN_STOPPING) {
        rc = vn_error_set(err, "domain '%s' is not running (state '%s')", name, vn_dom_state(&r));
        goto out;
    }
    if (o->vnode >= nv) {
        rc = vn_error_set(err, "domain '%s' has no vnode %d (it has %d)", name, o->vnode, nv);
        goto out;
    }
    struct vn_bitmap online;
    struct vn_error e2 = {0};
    if (vn_node_online(&online, &e2) == 0)
        VN_BITMAP_FOREACH(n, &o->nodes)
        {
            if (!vn_bitmap_test(&online, n)) {
                rc = vn_error_set(err, "domain '%s': host node %d does not exist or is offline",
                                  name, n);
                goto out;
            }
        }
    for (int v = o->vnode < 0 ? 0 : o->vnode; v < (o->vnode < 0 ? nv : o->vnode + 1); v++) {
        c.vnode = v;
        struct vn_bitmap from;
        list_from_json(vn_dom_get(vnode_obj(&r, v), "pnodes"), &from);
        vn_bitmap_format_list(&from, c.from_text, sizeof c.from_text);
        struct vn_domain_migrate_vnode *one = &res->v[res->n++];
        one->vnode = v;
        if (migrate_vnode(&c, &r, one, err) < 0) {
            rc = -1;
            break;
        }
    }
out:
    vn_domain_record_clear(&r);
    return rc;
}
