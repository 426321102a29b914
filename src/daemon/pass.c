/* One pass of vnumad: observe the running domains and the host, run the balancing policy
 * (balance/policy.h) and enact its actions through the library (domain migrate for memory,
 * numa/softaff_act.h for vCPU affinity), logging each with its reason; and the vnode moves
 * the pass starts, advanced in bounded slices between polls of the sockets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domain/domain.h"
#include "numa/affinity.h"
#include "numa/cpupressure.h"
#include "numa/nodeinfo.h"
#include "numa/softaff_act.h"
#include "util/cleanup.h"
#include "vnumad.h"

#define MIN_INTERVAL_S 1.0
#define MAX_INTERVAL_S 60.0
#define IDLE_PASSES    6 /* passes without an action before the interval grows */

/* ---- observing ----------------------------------------------------------------------------- */

static void refresh_host(struct vnd *v)
{
    for (int n = 0; n < v->nnodes; n++) {
        uint64_t total, freek;
        struct vn_error e2 = {0};
        if (vn_node_meminfo(v->topo->nodes[n].os_index, &total, &freek, &e2) == 0)
            v->free_mib[n] = freek >> 10;
        else
            v->free_mib[n] = v->topo->nodes[n].free_mib;
    }
    double iv = 0;
    struct vn_error e2 = {0};
    int ncpu = vn_cpu_pressure_sample(v->cp, v->demand, VN_BITMAP_BITS, &iv, &e2);
    if (ncpu > 0)
        vn_node_pressure(v->demand, ncpu, v->node_cpus, v->nnodes, v->pressure);
}

static struct vnd_dom *dom_get(struct vnd *v, const char *name)
{
    struct vnd_dom *d = vnd_find(v, name);
    if (d)
        return d;
    if (v->ndoms == v->cap) {
        int cap = v->cap ? v->cap * 2 : 16;
        struct vnd_dom **nd = realloc(v->doms, (size_t)cap * sizeof *nd);
        if (!nd)
            return NULL;
        v->doms = nd;
        v->cap = cap;
    }
    d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    vn_bal_dom_state_init(&d->st);
    v->doms[v->ndoms++] = d;
    return d;
}

void vnd_refresh_doms(struct vnd *v)
{
    char **names = NULL;
    int n = 0;
    struct vn_error err = {0};
    for (int i = 0; i < v->ndoms; i++)
        v->doms[i]->seen = false;
    /* The host load the policy re-places against: every claim that counts, with its groups,
     * as `vnuma create` builds it.  Any record it cannot count turns re-placing off. */
    bool load_ok = v->load && v->nnodes <= VN_PLACE_MAX_NODES;
    if (load_ok)
        vn_host_load_init(v->load, v->topo);
    if (vn_state_list(v->state, &names, &n, &err) < 0) {
        load_ok = false;
        vnd_log(v, "Cannot list the domains: %s", err.msg);
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        struct vn_domain_record r;
        struct vn_error e2 = {0};
        if (vn_domain_read(v->state, names[i], &r, &e2) < 0) {
            if (e2.errnum != ENOENT) {
                vnd_log(v, "Domain '%s' is left alone: %s", names[i], e2.msg);
                load_ok = false;
            }
            continue;
        }
        if (load_ok && vn_domain_holds_claim(&r) &&
            vn_host_load_add_claim(v->load, v->topo, vn_domain_claim(&r),
                                   r.spec ? r.spec->affinity_group : NULL,
                                   r.spec ? r.spec->anti_affinity_group : NULL, &e2) < 0)
            load_ok = false;
        struct vnd_dom *d = dom_get(v, names[i]);
        if (d) {
            d->seen = true;
            d->problem[0] = '\0';
            if (vnd_dom_from_record(d, &r, v->topo, &e2) < 0) {
                d->running = false;
                snprintf(d->problem, sizeof d->problem, "%s", e2.msg);
            } else {
                d->running = r.status == VN_DOMAIN_RUNNING && vn_domain_alive(&r);
                if (!v->opts.host_spec) /* bridge ports are the live host's */
                    vnd_dom_nic_nodes(d, v->topo);
            }
        }
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, n);
    int k = 0;
    for (int i = 0; i < v->ndoms; i++) {
        if (v->doms[i]->seen) {
            v->doms[k++] = v->doms[i];
        } else {
            vnd_log(v, "Domain '%s' is gone.", v->doms[i]->name);
            vnd_dom_clear(v->doms[i]);
            free(v->doms[i]);
        }
    }
    v->ndoms = k;
    v->load_ok = load_ok;
}

/* ---- enacting ------------------------------------------------------------------------------ */

static struct vnd_job *job_find(struct vnd *v, const char *domain, int vnode)
{
    for (int i = 0; i < v->njobs; i++)
        if (strcmp(v->jobs[i].domain, domain) == 0 && (vnode < 0 || v->jobs[i].vnode == vnode))
            return &v->jobs[i];
    return NULL;
}

static void job_drop(struct vnd *v, struct vnd_job *j)
{
    vn_domain_move_free(j->m);
    *j = v->jobs[--v->njobs];
}

/* The pages a job moved since it last counted go into its domain's counters. */
static void job_count(struct vnd *v, struct vnd_job *j)
{
    struct vn_domain_move_stats st;
    vn_domain_move_get_stats(j->m, &st);
    struct vnd_dom *d = vnd_find(v, j->domain);
    if (d && st.pages_moved > j->moved_pages)
        d->moved_bytes += (st.pages_moved - j->moved_pages) * (uint64_t)sysconf(_SC_PAGESIZE);
    j->moved_pages = st.pages_moved;
}

/* MIGRATE_VNODE: a rehome first makes the record say the new pnode (and claim), as the
 * policy's contract asks; then at most the action's `mib` of the vnode's off-home memory
 * moves home, in slices that vnd_jobs_run() runs between polls of the socket.  A batch for a
 * vnode that is still moving replaces what was left of the previous one. */
static int enact_migrate(struct vnd *v, struct vnd_dom *d, const struct vn_bal_action *a,
                         struct vnd_action_log *log, struct vn_error *err)
{
    if (a->to_idx < 0 || a->to_idx >= v->nnodes || a->vnode < 0 || a->vnode >= d->nvnodes)
        return vn_error_set(err, "domain '%s': the action names vnode %d and node index %d",
                            d->name, a->vnode, a->to_idx);
    int to = v->topo->nodes[a->to_idx].os_index;
    struct vnd_job *j = job_find(v, d->name, a->vnode);
    if (a->rehome) {
        if (j) {
            job_count(v, j);
            job_drop(v, j); /* it moved towards the old home */
            j = NULL;
        }
        struct vn_bitmap soft[VN_MAX_VNODES];
        memset(soft, 0, sizeof soft[0] * (size_t)d->nvnodes);
        soft[a->vnode] = v->node_cpus[a->to_idx];
        struct vn_domain_placement_update u = {
            .nvnodes = d->nvnodes, .claim = NULL, .soft_cpus = soft, .topo = v->topo};
        for (int k = 0; k < d->nvnodes; k++)
            u.pnode[k] = k == a->vnode ? to : -1;
        if (vn_domain_set_placement(v->state_path, d->name, &u, err) < 0)
            return -1;
        d->home[a->vnode] = a->to_idx;
    } else if (d->home[a->vnode] != a->to_idx) {
        return vn_error_set(
            err,
            "domain '%s': vnode %d is at home on node %d in its record, not on "
            "node %d",
            d->name, a->vnode,
            d->home[a->vnode] >= 0 ? v->topo->nodes[d->home[a->vnode]].os_index : -1, to);
    }
    uint64_t mib = a->mib ? a->mib : 1;
    if (j && j->to == to) {
        vn_domain_move_set_budget(j->m, mib);
        j->mib = mib;
    } else {
        if (j) {
            job_count(v, j);
            job_drop(v, j);
        }
        if (v->njobs >= VND_MAX_JOBS)
            return vn_error_set(err, "%d vnode moves are under way already; this one waits",
                                VND_MAX_JOBS);
        struct vn_domain_move *m = NULL;
        if (vn_domain_move_begin(v->state_path, d->name, a->vnode, mib, &m, err) < 0)
            return -1;
        j = &v->jobs[v->njobs++];
        memset(j, 0, sizeof *j);
        snprintf(j->domain, sizeof j->domain, "%s", d->name);
        j->vnode = a->vnode;
        j->to = to;
        j->mib = mib;
        j->m = m;
    }
    snprintf(log->result, sizeof log->result, "%smoving up to %llu MiB of vnode %d to node %d",
             a->rehome ? "rehomed; " : "", (unsigned long long)mib, a->vnode, to);
    return 0;
}

/* REPLACE_VM: the record's placement and claim become the new ones at once (under the host
 * lock, one atomic write); the memory follows through the policy's completion rule on the
 * next intervals, vnode by vnode, and the SET_SOFT_AFFINITY actions that come with it move
 * the vCPUs. */
static int enact_replace(struct vnd *v, struct vnd_dom *d, const struct vn_bal_action *a,
                         struct vnd_action_log *log, struct vn_error *err)
{
    struct vn_bitmap soft[VN_MAX_VNODES];
    struct vn_domain_placement_update u = {
        .nvnodes = d->nvnodes, .claim = &a->claim_os, .soft_cpus = soft, .topo = v->topo};
    char list[256] = "";
    size_t used = 0;
    for (int k = 0; k < d->nvnodes; k++) {
        if (a->vnode_to_idx[k] < 0 || a->vnode_to_idx[k] >= v->nnodes)
            return vn_error_set(err, "domain '%s': the re-placement names node index %d", d->name,
                                a->vnode_to_idx[k]);
        u.pnode[k] = v->topo->nodes[a->vnode_to_idx[k]].os_index;
        soft[k] = v->node_cpus[a->vnode_to_idx[k]];
        if (used < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%sv%d:n%d", k ? " " : "", k,
                                     u.pnode[k]);
    }
    if (vn_domain_set_placement(v->state_path, d->name, &u, err) < 0)
        return -1;
    /* Moves under way went towards the old homes. */
    struct vnd_job *j;
    while ((j = job_find(v, d->name, -1))) {
        job_count(v, j);
        job_drop(v, j);
    }
    for (int k = 0; k < d->nvnodes; k++)
        d->home[k] = a->vnode_to_idx[k];
    snprintf(log->result, sizeof log->result,
             "the record says %.200s; the memory follows in batches", list);
    return 0;
}

int vnd_jobs_run(struct vnd *v, int budget_ms, int64_t *next_ns)
{
    int64_t t0 = vnd_mono_ns(), end = t0 + (int64_t)budget_ms * 1000000;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    double rate = v->params.vm_mib_s > 0 ? v->params.vm_mib_s : 256;
    bool worked = true;
    while (worked && v->njobs > 0 && vnd_mono_ns() < end && !(v->stop && *v->stop)) {
        worked = false;
        for (int i = 0; i < v->njobs; i++) {
            struct vnd_job *j = &v->jobs[i];
            int64_t now = vnd_mono_ns();
            if (now < j->next_ns || now >= end)
                continue;
            worked = true;
            struct vn_error err = {0};
            uint64_t before = j->moved_pages;
            int rc = vn_domain_move_step(j->m, VND_STEP_PAGES, &err);
            job_count(v, j);
            /* Paced at the per-VM rate: the pages it moved buy the time until the next slice. */
            j->next_ns = vnd_mono_ns() + (int64_t)((double)((j->moved_pages - before) * page) /
                                                   (rate * 1048576.0) * 1e9);
            if (rc > 0)
                continue;
            struct vnd_dom *d = vnd_find(v, j->domain);
            struct vn_domain_move_stats st;
            vn_domain_move_get_stats(j->m, &st);
            if (rc < 0) {
                vnd_log(v, "domain '%s': moving vnode %d to node %d stopped after %llu MiB: %s",
                        j->domain, j->vnode, j->to,
                        (unsigned long long)(st.pages_moved * page >> 20), err.msg);
                if (d)
                    d->actions_failed++;
            } else {
                double mib = (double)(st.pages_moved * page) / 1048576.0;
                vnd_log(v,
                        "domain '%s': vnode %d: %.1f MiB moved to node %d by %u calls, %.0f ms "
                        "in all (%.1f MiB/s while moving, longest call %.0f ms; %llu of %llu "
                        "pages looked at, %llu were there already, %llu could not move).",
                        j->domain, j->vnode, mib, j->to, st.calls, st.move_ms,
                        st.move_ms > 0 ? mib / (st.move_ms / 1e3) : 0.0, st.longest_call_ms,
                        (unsigned long long)st.pages_scanned, (unsigned long long)st.pages_total,
                        (unsigned long long)st.pages_home, (unsigned long long)st.pages_failed);
                if (d)
                    d->migrations++;
            }
            job_drop(v, j);
            i--;
        }
    }
    if (next_ns) {
        int64_t next = INT64_MAX;
        for (int i = 0; i < v->njobs; i++)
            next = v->jobs[i].next_ns < next ? v->jobs[i].next_ns : next;
        *next_ns = next;
    }
    return v->njobs;
}

static int enact_softaff(struct vnd *v, struct vnd_dom *d, const struct vn_bal_action *a,
                         struct vnd_action_log *log, struct vn_error *err)
{
    struct vn_bitmap cpus;
    vn_bitmap_zero(&cpus);
    VN_BITMAP_FOREACH(n, &a->nodes_idx)
    {
        if (n < v->nnodes)
            vn_bitmap_or(&cpus, &v->node_cpus[n]);
    }
    if (vn_bitmap_empty(&cpus))
        return vn_error_set(err, "domain '%s': the new soft affinity has no CPUs", d->name);
    int done = 0;
    VN_BITMAP_FOREACH(c, &a->vcpus)
    {
        if (c >= d->nvcpus || d->tids[c] <= 0)
            continue;
        struct vn_bitmap cur, added = cpus;
        struct vn_error e2 = {0};
        if (vn_affinity_get(d->tids[c], &cur, &e2) == 0)
            vn_bitmap_andnot(&added, &cur);
        else
            vn_bitmap_zero(&added);
        if (vn_softaff_apply(d->tids[c], &added, &cpus, err) < 0)
            return vn_error_prefix(err, "domain '%s', vCPU %d", d->name, c);
        done++;
    }
    char buf[512];
    vn_bitmap_format_list(&cpus, buf, sizeof buf);
    snprintf(log->result, sizeof log->result, "%d vCPU threads may run on CPUs %.400s", done, buf);
    return 0;
}

static void remember(struct vnd *v, struct vnd_dom *d, const struct vnd_action_log *log)
{
    d->last[d->nlast % VND_LAST_ACTIONS] = *log;
    d->nlast++;
    if (v->npass < VND_PASS_ACTIONS)
        v->pass[v->npass++] = *log;
}

void vnd_enact(struct vnd *v, struct vnd_dom *d, const struct vn_bal_action *a)
{
    struct vnd_action_log log;
    memset(&log, 0, sizeof log);
    log.time = (int64_t)time(NULL);
    log.kind = a->kind;
    log.skipped = a->skipped;
    log.skip = a->skip;
    log.vnode = a->vnode;
    log.mib = a->mib;
    snprintf(log.domain, sizeof log.domain, "%s", d->name);
    snprintf(log.reason, sizeof log.reason, "%s", a->reason);
    struct vn_error err = {0};
    int rc = 0;
    switch (a->kind) {
    case VN_BAL_SKIPPED:
        d->skipped[a->skip]++;
        snprintf(log.result, sizeof log.result, "skipped (%s)", vn_bal_skip_name(a->skip));
        /* Skips repeat every pass while a gate holds: counted, not logged one by one. */
        remember(v, d, &log);
        return;
    case VN_BAL_MIGRATE_VNODE:
        rc = enact_migrate(v, d, a, &log, &err);
        break;
    case VN_BAL_SET_SOFT_AFFINITY:
        rc = enact_softaff(v, d, a, &log, &err);
        break;
    case VN_BAL_REPLACE_VM:
        rc = enact_replace(v, d, a, &log, &err);
        break;
    }
    if (rc < 0) {
        log.failed = true;
        d->actions_failed++;
        snprintf(log.result, sizeof log.result, "failed: %s", err.msg);
        vnd_log(v, "domain '%s': %s: %s Failed: %s", d->name, vn_bal_kind_name(a->kind), a->reason,
                err.msg);
    } else {
        d->actions_done++;
        vnd_log(v, "domain '%s': %s: %s Done: %s.", d->name, vn_bal_kind_name(a->kind), a->reason,
                log.result);
    }
    remember(v, d, &log);
}

static void reaped(void *ctx, const char *msg)
{
    vnd_log(ctx, "%s", msg);
}

int vnd_pass(struct vnd *v, struct vn_error *err)
{
    v->npass = 0;
    /* A domain whose QEMU and watcher are both gone gets its on_poweroff first, as `vnuma
     * list` does (docs/ARCHITECTURE.md "The watcher"). */
    struct vn_error re = {0};
    if (vn_domain_reap(v->state_path, reaped, v, &re) < 0)
        vnd_log(v, "Cannot clean up after ended domains: %s", re.msg);
    refresh_host(v);
    vnd_refresh_doms(v);
    int64_t now = vnd_mono_ns();
    int64_t iv = v->last_obs_ns ? now - v->last_obs_ns : (int64_t)(v->interval_s * 1e9);
    if (iv <= 0)
        iv = 1;
    v->last_obs_ns = now;

    VN_CLEANUP_FREE struct vn_bal_dom_obs *obs = calloc((size_t)v->ndoms + 1, sizeof *obs);
    VN_CLEANUP_FREE struct vn_bal_dom_state *st = calloc((size_t)v->ndoms + 1, sizeof *st);
    VN_CLEANUP_FREE struct vnd_dom **map = calloc((size_t)v->ndoms + 1, sizeof *map);
    VN_CLEANUP_FREE struct vn_bal_action *out = calloc(VND_PASS_ACTIONS, sizeof *out);
    if (!obs || !st || !map || !out)
        return vn_error_set(err, "out of memory");
    int n = 0;
    for (int i = 0; i < v->ndoms; i++) {
        struct vnd_dom *d = v->doms[i];
        if (!d->running)
            continue;
        struct vn_error e2 = {0};
        if (vnd_observe_dom(v, d, &e2) < 0) {
            if (strcmp(d->problem, e2.msg) != 0)
                vnd_log(v, "Domain '%s' is not balanced this pass: %s", d->name, e2.msg);
            snprintf(d->problem, sizeof d->problem, "%s", e2.msg);
            continue;
        }
        vnd_dom_obs(d, &obs[n]);
        d->st.paused = d->paused;
        st[n] = d->st;
        map[n] = d;
        n++;
    }
    struct vn_bal_host_obs host = {
        .now_ns = now,
        .interval_ns = iv,
        .topo = v->topo,
        .free_mib = v->free_mib,
        .pressure = v->pressure,
        .load = v->load_ok ? v->load : NULL,
    };
    v->bal.paused = v->paused;
    int nout = 0;
    if (vn_bal_run(&v->params, &v->bal, &host, n, obs, st, out, VND_PASS_ACTIONS, &nout, err) < 0)
        return vn_error_prefix(err, "the balancing policy refused this pass's observations");
    for (int i = 0; i < n; i++)
        map[i]->st = st[i];
    int acted = 0;
    for (int i = 0; i < nout; i++) {
        if (out[i].domain < 0 || out[i].domain >= n)
            continue;
        if (out[i].kind != VN_BAL_SKIPPED)
            acted++;
        vnd_enact(v, map[out[i].domain], &out[i]);
    }
    v->passes++;
    /* Faster while converging, slower when idle. */
    double base = v->opts.interval_s > 0 ? v->opts.interval_s : 5.0;
    bool moving = false;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < map[i]->nvnodes; k++)
            moving |= map[i]->st.vnodes[k].moving;
    if (acted || moving) {
        v->idle_passes = 0;
        v->interval_s = base / 2 > MIN_INTERVAL_S ? base / 2 : MIN_INTERVAL_S;
    } else if (++v->idle_passes >= IDLE_PASSES) {
        v->interval_s = base * 2 < MAX_INTERVAL_S ? base * 2 : MAX_INTERVAL_S;
    } else {
        v->interval_s = base;
    }
    return 0;
}

void vnd_jobs_finish(struct vnd *v)
{
    int64_t next = 0;
    while (!(v->stop && *v->stop) && vnd_jobs_run(v, 1000, &next) > 0) {
        int64_t wait = next - vnd_mono_ns();
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- crash recovery ------------------------------------------------------------------------ */
