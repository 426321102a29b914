/* vn_domain_migrate: moving the memory of a running domain's vnodes between host nodes, with
 * the record kept true at every moment.
 *
 * Per vnode: find its memory file's mapping in QEMU (/proc/PID/maps) -> check that the targets
 * have room (nothing is recorded or moved when they do not) -> under the host lock: status
 * migrating, a move entry for the vnode (state "moving", from, to, claim, reserved, pid) and the
 * targets reserved in the claim (the vnode counts on its old and its new nodes while its pages
 * move, so nobody else can claim the room it is moving into) ->
 * the file's shared policy set to the targets (QEMU's future faults land there) -> the pages
 * moved in bounded batches -> under the lock: the vnode's pnodes and the claim now say the
 * targets, the entry is removed, status running.  When the move stops early (a signal set the
 * stop flag, QEMU exited, a syscall failed), the entry says "split" with the measured
 * residency and the claim divides the vnode's memory between old and new nodes by how far it
 * got: nothing is lost, and a later migrate of the vnode (to the same or the old nodes)
 * finishes or reverses it. */
#include <errno.h>
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

static int split_even(const struct vn_bitmap *b, uint64_t mib, struct share *out, int max)
{
    return vn_claim_split_even(b, mib, 0, out, max);
}

/* The vnode's entry in the record's placement (the caller checked that it exists). */
static struct vn_place_vnode *vnode_of(const struct vn_domain_record *r, int vnode)
{
    return &r->placement->vnodes[vnode];
}

/* Where the record counts vnode's memory now: the split of an unfinished move, else its
 * memory divided over its pnodes. */
static int current_shares(const struct vn_domain_record *r, int vnode, struct share *out, int max)
{
    const struct vn_mem_move *m = vn_domain_move(r, vnode);
    if (m) {
        int k = m->nclaim < max ? m->nclaim : max;
        memcpy(out, m->claim, (size_t)k * sizeof *out);
        return k;
    }
    const struct vn_place_vnode *v = vnode_of(r, vnode);
    return split_even(&v->pnodes, v->mem_mib, out, max);
}

/* What a move under way reserves on its targets beyond the vnode's current shares. */
static int reserved_shares(const struct vn_domain_record *r, int vnode, struct share *out, int max)
{
    const struct vn_mem_move *m = vn_domain_move(r, vnode);
    int k = m ? (m->nreserved < max ? m->nreserved : max) : 0;
    if (k)
        memcpy(out, m->reserved, (size_t)k * sizeof *out);
    return k;
}

/* The reservation for a move from sh to to: what each target gets beyond what the vnode has
 * counted there already. */
static int reserve(const struct share *sh, int nsh, const struct share *to, int nto,
                   struct share *out, int max)
{
    int k = 0;
    for (int i = 0; i < nto && k < max; i++) {
        uint64_t have = 0;
        for (int j = 0; j < nsh; j++)
            if (sh[j].node == to[i].node)
                have += sh[j].mib;
        if (to[i].mib > have)
            out[k++] = (struct share){to[i].node, to[i].mib - have, 0};
    }
    return k;
}

/* The shares with memory in them, as a move entry keeps them. */
static void set_move_claim(struct vn_mem_move *m, const struct share *sh, int n)
{
    m->nclaim = 0;
    for (int i = 0; i < n && m->nclaim < VN_MAX_VNODES; i++)
        if (sh[i].mib)
            m->claim[m->nclaim++] = sh[i];
}

/* Status migrating while any entry is "moving" by a live process, else running. */
static void fix_status(struct vn_domain_record *r)
{
    bool moving = false;
    for (int i = 0; i < r->nmoves; i++)
        moving |= r->moves[i].state == VN_MOVE_MOVING &&
                  vn_proc_alive(r->moves[i].pid, r->moves[i].pid_start);
    r->status = moving ? VN_DOMAIN_MIGRATING : VN_DOMAIN_RUNNING;
}

typedef int (*medit_fn)(struct mctx *c, struct vn_domain_record *r, const void *arg,
                        struct vn_error *err);
struct medit {
    struct mctx *c;
    medit_fn edit;
    const void *arg;
};

static int medit(struct vn_state *s, struct vn_domain_record *r, const void *arg,
                 struct vn_error *err)
{
    (void)s;
    const struct medit *m = arg;
    if (!r->placement || m->c->vnode >= r->placement->nvnodes)
        return vn_error_set(err, "domain '%s': its record has no vnode %d", m->c->name,
                            m->c->vnode);
    return m->edit(m->c, r, m->arg, err);
}

/* Reads the record under the lock, lets edit change it, writes it back. */
static int update(struct mctx *c, medit_fn edit, const void *arg, struct vn_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "migrate '%s'", c->name);
    struct medit m = {c, edit, arg};
    return vn_dom_edit_in(c->s, c->name, what, LOCK_TIMEOUT_MS, medit, &m, err);
}

static struct vn_mem_move *move_entry(struct mctx *c, struct vn_domain_record *r,
                                      struct vn_error *err)
{
    struct vn_mem_move *m = vn_domain_move_add(r, c->vnode);
    if (!m)
        vn_error_sys(err, ENOMEM, "domain '%s': cannot record the move of vnode %d", c->name,
                     c->vnode);
    return m;
}

/* Step 1 under the lock: no other move of this vnode under way; mark it "moving". */
static int edit_begin(struct mctx *c, struct vn_domain_record *r, const void *arg,
                      struct vn_error *err)
{
    (void)arg;
    if (!vn_domain_alive(r))
        return vn_error_set(err, "domain '%s' is not running (its QEMU has exited)", c->name);
    const struct vn_mem_move *old = vn_domain_move(r, c->vnode);
    if (old && old->state == VN_MOVE_MOVING && old->pid != getpid() &&
        vn_proc_alive(old->pid, old->pid_start))
        return vn_error_set(err, "domain '%s': vnode %d is being migrated by pid %d already",
                            c->name, c->vnode, (int)old->pid);
    struct share sh[VN_MAX_VNODES], to_sh[VN_MAX_VNODES], res[VN_MAX_VNODES], stale[VN_MAX_VNODES];
    int nsh = current_shares(r, c->vnode, sh, VN_MAX_VNODES);
    /* A move killed while moving left its reservation: this run makes its own. */
    int nstale = reserved_shares(r, c->vnode, stale, VN_MAX_VNODES);
    int nto = split_even(&c->o->nodes, vnode_of(r, c->vnode)->mem_mib, to_sh, VN_MAX_VNODES);
    int nres = reserve(sh, nsh, to_sh, nto, res, VN_MAX_VNODES);
    /* The invariant, before a page moves: the claim with the targets reserved must fit beside
     * every other domain's, and it is recorded so for the whole move: pages arrive on the
     * targets while others place, and a claim that followed only at the end would be counted
     * nowhere until then (free memory alone would let it land on claimed memory). */
    struct vn_claim after = r->placement->claim;
    if (vn_claim_move(&after, stale, nstale, res, nres) < 0 ||
        vn_dom_claims_fit(c->s, NULL, c->name, &after, err) < 0)
        return vn_error_prefix(err, "domain '%s': vnode %d cannot move to host node(s) %s", c->name,
                               c->vnode, c->to_text);
    struct vn_mem_move *m = move_entry(c, r, err);
    if (!m)
        return -1;
    r->placement->claim = after;
    memset(m, 0, sizeof *m);
    m->vnode = c->vnode;
    m->state = VN_MOVE_MOVING;
    m->from = vnode_of(r, c->vnode)->pnodes;
    m->to = c->o->nodes;
    set_move_claim(m, sh, nsh);
    memcpy(m->reserved, res, (size_t)nres * sizeof *res);
    m->nreserved = nres;
    m->pid = getpid();
    struct vn_error ignored = {0};
    vn_proc_start_time(getpid(), &m->pid_start, &ignored);
    m->started = (int64_t)time(NULL);
    fix_status(r);
    return 0;
}

/* After success: pnodes and claim say the targets; the entry goes. */
static int edit_done(struct mctx *c, struct vn_domain_record *r, const void *arg,
                     struct vn_error *err)
{
    (void)arg;
    (void)err;
    /* All the claim counts for the vnode (its shares and the move's reservation) goes to the
     * targets. */
    struct share old_sh[2 * VN_MAX_VNODES], new_sh[VN_MAX_VNODES];
    int nold = current_shares(r, c->vnode, old_sh, VN_MAX_VNODES);
    nold += reserved_shares(r, c->vnode, old_sh + nold, VN_MAX_VNODES);
    struct vn_place_vnode *v = vnode_of(r, c->vnode);
    int nnew = split_even(&c->o->nodes, v->mem_mib, new_sh, VN_MAX_VNODES);
    /* A full claim (VN_MAX_VNODES nodes) cannot take a new node: it stays as it was, which
     * over-counts the old nodes, the safe side. */
    vn_claim_move(&r->placement->claim, old_sh, nold, new_sh, nnew);
    v->pnodes = c->o->nodes;
    vn_domain_move_remove(r, c->vnode);
    fix_status(r);
    return 0;
}

/* Nothing moved after all (refused by the second check, policy failure): the entry is what
 * it was before this run (arg, a copy, or NULL for none). */
static int edit_undo(struct mctx *c, struct vn_domain_record *r, const void *arg,
                     struct vn_error *err)
{
    const struct vn_mem_move *prev = arg;
    /* This run's reservation goes; a stale one it replaced is not counted any more either. */
    struct share res[VN_MAX_VNODES];
    int nres = reserved_shares(r, c->vnode, res, VN_MAX_VNODES);
    vn_claim_move(&r->placement->claim, res, nres, NULL, 0);
    if (!prev) {
        vn_domain_move_remove(r, c->vnode);
    } else {
        struct vn_mem_move *m = move_entry(c, r, err);
        if (!m)
            return -1;
        *m = *prev;
        m->nreserved = 0;
    }
    fix_status(r);
    return 0;
}

struct split_info {
    const struct vn_migrate_report *rep;
    const struct vn_residency *resident; /* measured, or NULL */
    const char *reason;
};

/* After an early stop: the vnode is split.  The claim divides its memory by the share of the
 * range handled (below resume_at everything is on the targets or follows their policy). */
static int edit_split(struct mctx *c, struct vn_domain_record *r, const void *arg,
                      struct vn_error *err)
{
    const struct split_info *si = arg;
    const struct vn_migrate_report *rep = si->rep;
    struct share old_sh[VN_MAX_VNODES], sh[2 * VN_MAX_VNODES];
    int nold = current_shares(r, c->vnode, old_sh, VN_MAX_VNODES);
    struct vn_place_vnode *v = vnode_of(r, c->vnode);
    uint64_t mem = v->mem_mib;
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
    /* The reservation goes with the old shares: the split is all the vnode counts now. */
    struct share from[2 * VN_MAX_VNODES];
    memcpy(from, old_sh, (size_t)nold * sizeof *from);
    int nfrom = nold + reserved_shares(r, c->vnode, from + nold, VN_MAX_VNODES);
    vn_claim_move(&r->placement->claim, from, nfrom, sh, n);
    vn_bitmap_or(&v->pnodes, &c->o->nodes);

    /* The entry "moving" wrote stays (from, pid, started) and says how far it got. */
    struct vn_mem_move *m = move_entry(c, r, err);
    if (!m)
        return -1;
    m->state = VN_MOVE_SPLIT;
    m->nreserved = 0;
    m->to = c->o->nodes;
    set_move_claim(m, sh, n);
    m->pages_total = rep->p.pages_total;
    m->pages_done = rep->p.pages_done;
    m->pages_moved = rep->p.pages_on_target;
    snprintf(m->reason, sizeof m->reason, "%s", si->reason);
    m->nresident = 0;
    const struct vn_residency *res = si->resident;
    for (int k = 0; res && k <= res->max_node && k < VN_NUMA_MAPS_MAX_NODES; k++)
        if (res->pages[k] && m->nresident < VN_MAX_VNODES)
            m->resident[m->nresident++] = (struct vn_move_resident){k, vn_residency_mib(res, k)};
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

    /* The entry as it was, so that a move that does not start leaves the record unchanged. */
    struct vn_mem_move prev_copy;
    const struct vn_mem_move *prev = vn_domain_move(r, c->vnode);
    if (prev) {
        prev_copy = *prev;
        char to[256];
        vn_bitmap_format_list(&prev->to, to, sizeof to);
        snprintf(res->found, sizeof res->found, "%s by pid %d towards host node(s) %.64s",
                 prev->state == VN_MOVE_MOVING ? "moving" : "split", (int)prev->pid, to);
    }
    if (update(c, edit_begin, NULL, err) < 0)
        return -1;
    vn_fault_point("mem-move.marked");
    struct vn_error e2 = {0};
    for (int i = 0; i < nmaps; i++)
        if (vn_shared_policy_set(c->file, maps[i].offset, maps[i].end - maps[i].start, &o->nodes,
                                 err) < 0) {
            vn_error_prefix(err, "domain '%s': vnode %d was not migrated", c->name, c->vnode);
            if (update(c, edit_undo, prev ? &prev_copy : NULL, &e2) < 0)
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
    if (!res->rep.target_exited && vn_numa_maps_read(r->qemu_pid, c->file, &now, &e2) == 0)
        si.resident = &now;
    char split[256] = "";
    size_t used = 0;
    for (int k = 0; si.resident && k <= now.max_node && k < VN_NUMA_MAPS_MAX_NODES; k++)
        if (now.pages[k] && used < sizeof split)
            used += (size_t)snprintf(split + used, sizeof split - used, "%s%.1f MiB on node %d",
                                     used ? ", " : "", vn_residency_mib(&now, k), k);
    if (update(c, edit_split, &si, &e2) < 0) {
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
    int nv = r.placement ? r.placement->nvnodes : 0;
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
        vn_bitmap_format_list(&vnode_of(&r, v)->pnodes, c.from_text, sizeof c.from_text);
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
