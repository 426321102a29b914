/* vnumad's loop: every interval, observe the running domains and the host, run the balancing
 * policy (balance/policy.h) and enact its actions through the library (domain migrate for
 * memory, numa/softaff_act.h for vCPU affinity), logging each with its reason.  Between
 * passes it serves the control socket (and the optional metrics port). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "domain/domain.h"
#include "numa/affinity.h"
#include "numa/cpupressure.h"
#include "numa/nodeinfo.h"
#include "numa/softaff_act.h"
#include "util/cleanup.h"
#include "vnumad.h"

#define LOCK_TIMEOUT_MS 10000
#define MAX_CLIENTS     16
#define MIN_INTERVAL_S  1.0
#define MAX_INTERVAL_S  60.0
#define IDLE_PASSES     6 /* passes without an action before the interval grows */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void vnd_log(struct vnd *v, const char *fmt, ...)
{
    FILE *f = v->log ? v->log : stderr;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(f, "%s vnumad: ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

struct vnd_dom *vnd_find(struct vnd *v, const char *name)
{
    for (int i = 0; i < v->ndoms; i++)
        if (strcmp(v->doms[i]->name, name) == 0)
            return v->doms[i];
    return NULL;
}

static int read_autonuma(void)
{
    FILE *f = fopen("/proc/sys/kernel/numa_balancing", "re");
    if (!f)
        return -1;
    int x = -1;
    if (fscanf(f, "%d", &x) != 1)
        x = -1;
    fclose(f);
    return x;
}

int vnd_init(struct vnd *v, const struct vnd_opts *o, struct vn_error *err)
{
    memset(v, 0, sizeof *v);
    v->opts = *o;
    v->listen_fd = v->metrics_fd = -1;
    v->interval_s = o->interval_s > 0 ? o->interval_s : 5.0;
    v->migrate_api = true;
    if (o->log_path) {
        v->log = fopen(o->log_path, "ae");
        if (!v->log)
            return vn_error_sys(err, errno, "Cannot open the log file '%s'", o->log_path);
    }
    const char *dir = vn_domain_state_dir(o->state_dir);
    snprintf(v->state_path, sizeof v->state_path, "%s", dir);
    if (vn_state_open(dir, &v->state, err) < 0)
        return -1;
    v->topo = vn_topo_load(o->host_spec, err);
    if (!v->topo)
        return vn_error_prefix(err, "Cannot read the host topology");
    int nn = v->topo->nnodes;
    v->nnodes = nn;
    v->cpu_node = malloc(VN_BITMAP_BITS * sizeof *v->cpu_node);
    v->node_cpus = calloc((size_t)nn, sizeof *v->node_cpus);
    v->free_mib = calloc((size_t)nn, sizeof *v->free_mib);
    v->pressure = calloc((size_t)nn, sizeof *v->pressure);
    v->demand = calloc(VN_BITMAP_BITS, sizeof *v->demand);
    if (!v->cpu_node || !v->node_cpus || !v->free_mib || !v->pressure || !v->demand)
        return vn_error_set(err, "Out of memory.");
    for (int c = 0; c < VN_BITMAP_BITS; c++)
        v->cpu_node[c] = -1;
    for (int n = 0; n < nn; n++) {
        v->node_cpus[n] = v->topo->nodes[n].cpus;
        VN_BITMAP_FOREACH(c, &v->node_cpus[n])
        v->cpu_node[c] = n;
    }
    if (vn_cpu_pressure_new(&v->cp, err) < 0)
        return -1;
    double iv;
    vn_cpu_pressure_sample(v->cp, v->demand, VN_BITMAP_BITS, &iv, err); /* reference */
    v->load = calloc(1, sizeof *v->load);
    if (!v->load)
        return vn_error_set(err, "Out of memory.");
    vn_bal_params_default(&v->params);
    vn_bal_state_init(&v->bal);
    v->autonuma = read_autonuma();
    return 0;
}

void vnd_fini(struct vnd *v)
{
    for (int i = 0; i < v->njobs; i++)
        vn_domain_move_free(v->jobs[i].m);
    free(v->load);
    for (int i = 0; i < v->ndoms; i++) {
        vnd_dom_clear(v->doms[i]);
        free(v->doms[i]);
    }
    free(v->doms);
    if (v->listen_fd >= 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", v->state_path, VND_SOCKET_NAME);
        unlink(path);
        close(v->listen_fd);
    }
    if (v->metrics_fd >= 0)
        close(v->metrics_fd);
    vn_cpu_pressure_free(v->cp);
    free(v->cpu_node);
    free(v->node_cpus);
    free(v->free_mib);
    free(v->pressure);
    free(v->demand);
    vn_topo_free(v->topo);
    vn_state_close(v->state);
    if (v->log)
        fclose(v->log);
    memset(v, 0, sizeof *v);
}

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

static const char *spec_string(const struct vn_domain_record *r, const char *key)
{
    struct json_object *o = NULL;
    if (!r->spec || !json_object_object_get_ex(r->spec, key, &o) ||
        !json_object_is_type(o, json_type_string))
        return NULL;
    return json_object_get_string(o);
}

static void refresh_doms(struct vnd *v)
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
        if (vn_state_read_record(v->state, names[i], &r, &e2) < 0) {
            if (e2.errnum != ENOENT) {
                vnd_log(v, "Domain '%s' is left alone: %s", names[i], e2.msg);
                load_ok = false;
            }
            continue;
        }
        if (load_ok && vn_domain_holds_claim(&r) &&
            vn_host_load_add_claim(v->load, v->topo, &r.claim, spec_string(&r, "affinity_group"),
                                   spec_string(&r, "anti_affinity_group"), &e2) < 0)
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
    if (a->to < 0 || a->to >= v->nnodes || a->vnode < 0 || a->vnode >= d->nvnodes)
        return vn_error_set(err, "Domain '%s': the action names vnode %d and node index %d.",
                            d->name, a->vnode, a->to);
    int to = v->topo->nodes[a->to].os_index;
    struct vnd_job *j = job_find(v, d->name, a->vnode);
    if (a->rehome) {
        if (j) {
            job_count(v, j);
            job_drop(v, j); /* it moved towards the old home */
            j = NULL;
        }
        struct vn_bitmap soft[VN_MAX_VNODES];
        memset(soft, 0, sizeof soft[0] * (size_t)d->nvnodes);
        soft[a->vnode] = v->node_cpus[a->to];
        struct vn_domain_placement_update u = {
            .nvnodes = d->nvnodes, .claim = NULL, .soft_cpus = soft, .topo = v->topo};
        for (int k = 0; k < d->nvnodes; k++)
            u.pnode[k] = k == a->vnode ? to : -1;
        if (vn_domain_set_placement(v->state_path, d->name, &u, err) < 0)
            return -1;
        d->home[a->vnode] = a->to;
    } else if (d->home[a->vnode] != a->to) {
        return vn_error_set(
            err,
            "Domain '%s': vnode %d is at home on node %d in its record, not on "
            "node %d.",
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
            return vn_error_set(err, "%d vnode moves are under way already; this one waits.",
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
        .nvnodes = d->nvnodes, .claim = &a->claim, .soft_cpus = soft, .topo = v->topo};
    char list[256] = "";
    size_t used = 0;
    for (int k = 0; k < d->nvnodes; k++) {
        if (a->vnode_to[k] < 0 || a->vnode_to[k] >= v->nnodes)
            return vn_error_set(err, "Domain '%s': the re-placement names node index %d.", d->name,
                                a->vnode_to[k]);
        u.pnode[k] = v->topo->nodes[a->vnode_to[k]].os_index;
        soft[k] = v->node_cpus[a->vnode_to[k]];
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
        d->home[k] = a->vnode_to[k];
    snprintf(log->result, sizeof log->result,
             "the record says %.200s; the memory follows in batches", list);
    return 0;
}

int vnd_jobs_run(struct vnd *v, int budget_ms, int64_t *next_ns)
{
    int64_t t0 = mono_ns(), end = t0 + (int64_t)budget_ms * 1000000;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    double rate = v->params.vm_mib_s > 0 ? v->params.vm_mib_s : 256;
    bool worked = true;
    while (worked && v->njobs > 0 && mono_ns() < end && !(v->stop && *v->stop)) {
        worked = false;
        for (int i = 0; i < v->njobs; i++) {
            struct vnd_job *j = &v->jobs[i];
            int64_t now = mono_ns();
            if (now < j->next_ns || now >= end)
                continue;
            worked = true;
            struct vn_error err = {0};
            uint64_t before = j->moved_pages;
            int rc = vn_domain_move_step(j->m, VND_STEP_PAGES, &err);
            job_count(v, j);
            /* Paced at the per-VM rate: the pages it moved buy the time until the next slice. */
            j->next_ns = mono_ns() + (int64_t)((double)((j->moved_pages - before) * page) /
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
    VN_BITMAP_FOREACH(n, &a->nodes)
    {
        if (n < v->nnodes)
            vn_bitmap_or(&cpus, &v->node_cpus[n]);
    }
    if (vn_bitmap_empty(&cpus))
        return vn_error_set(err, "Domain '%s': the new soft affinity has no CPUs.", d->name);
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
            return vn_error_prefix(err, "Domain '%s', vCPU %d", d->name, c);
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

int vnd_pass(struct vnd *v, struct vn_error *err)
{
    v->npass = 0;
    refresh_host(v);
    refresh_doms(v);
    int64_t now = mono_ns();
    int64_t iv = v->last_obs_ns ? now - v->last_obs_ns : (int64_t)(v->interval_s * 1e9);
    if (iv <= 0)
        iv = 1;
    v->last_obs_ns = now;

    VN_CLEANUP_FREE struct vn_bal_dom_obs *obs = calloc((size_t)v->ndoms + 1, sizeof *obs);
    VN_CLEANUP_FREE struct vn_bal_dom_state *st = calloc((size_t)v->ndoms + 1, sizeof *st);
    VN_CLEANUP_FREE struct vnd_dom **map = calloc((size_t)v->ndoms + 1, sizeof *map);
    VN_CLEANUP_FREE struct vn_bal_action *out = calloc(VND_PASS_ACTIONS, sizeof *out);
    if (!obs || !st || !map || !out)
        return vn_error_set(err, "Out of memory.");
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
        return vn_error_prefix(err, "The balancing policy refused this pass's observations");
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
        int64_t wait = next - mono_ns();
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- crash recovery ------------------------------------------------------------------------ */

/* A vnode move a killed vnumad (or vnuma mem-move) left behind is finished: migrated again to
 * the nodes its entry names.  vn_domain_migrate refuses while a live process owns the entry. */
static void recover(struct vnd *v)
{
    char **names = NULL;
    int n = 0;
    struct vn_error err = {0};
    if (vn_state_list(v->state, &names, &n, &err) < 0)
        return;
    for (int i = 0; i < n; i++) {
        struct vn_domain_record r;
        if (vn_state_read_record(v->state, names[i], &r, &err) < 0)
            continue;
        struct json_object *m = NULL;
        if (r.extra && vn_domain_alive(&r))
            json_object_object_get_ex(r.extra, "migrations", &m);
        if (m && json_object_is_type(m, json_type_object)) {
            json_object_object_foreach(m, key, val)
            {
                struct json_object *st = NULL, *to = NULL, *pid = NULL, *ps = NULL;
                json_object_object_get_ex(val, "state", &st);
                json_object_object_get_ex(val, "to", &to);
                json_object_object_get_ex(val, "pid", &pid);
                json_object_object_get_ex(val, "pid_start", &ps);
                const char *s = json_object_get_string(st);
                if (!s || !to || !json_object_is_type(to, json_type_array))
                    continue;
                if (strcmp(s, "moving") == 0 && vn_proc_alive((pid_t)json_object_get_int(pid),
                                                              (uint64_t)json_object_get_int64(ps)))
                    continue; /* someone is at it */
                struct vn_domain_migrate_opts o;
                memset(&o, 0, sizeof o);
                o.state_dir = v->state_path;
                o.vnode = atoi(key);
                o.rate_mib_s = v->params.vm_mib_s;
                o.stop = v->stop;
                vn_bitmap_zero(&o.nodes);
                for (size_t k = 0; k < json_object_array_length(to); k++)
                    vn_bitmap_set(&o.nodes, json_object_get_int(json_object_array_get_idx(to, k)));
                vnd_log(v, "Domain '%s': finishing the move of vnode %d left %s by pid %d.", r.name,
                        o.vnode, s, json_object_get_int(pid));
                struct vn_domain_migrate_result *res = calloc(1, sizeof *res);
                struct vn_error e2 = {0};
                if (!res || vn_domain_migrate(r.name, &o, res, &e2) < 0)
                    vnd_log(v, "Domain '%s': the move of vnode %d was not finished: %s", r.name,
                            o.vnode, res ? e2.msg : "out of memory");
                else
                    vnd_log(v, "Domain '%s': the move of vnode %d is finished.", r.name, o.vnode);
                free(res);
            }
        }
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, n);
}

/* ---- requests ------------------------------------------------------------------------------ */

char *vnd_handle(struct vnd *v, const struct vnd_request *rq)
{
    struct vn_error err = {0};
    struct vnd_dom *d = NULL;
    if (rq->domain[0] && rq->cmd != VND_CMD_STATUS) {
        d = vnd_find(v, rq->domain);
        if (!d) {
            refresh_doms(v);
            d = vnd_find(v, rq->domain);
        }
        if (!d) {
            char msg[160];
            snprintf(msg, sizeof msg, "Domain '%s' does not exist.", rq->domain);
            return vnd_reply_error(msg);
        }
    }
    switch (rq->cmd) {
    case VND_CMD_STATUS: {
        struct json_object *o = vnd_status_json(v);
        if (rq->domain[0]) {
            struct json_object *doms = NULL, *keep = json_object_new_array();
            json_object_object_get_ex(o, "domains", &doms);
            for (size_t i = 0; i < json_object_array_length(doms); i++) {
                struct json_object *e = json_object_array_get_idx(doms, i), *nm = NULL;
                json_object_object_get_ex(e, "name", &nm);
                if (strcmp(json_object_get_string(nm), rq->domain) == 0)
                    json_object_array_add(keep, json_object_get(e));
            }
            json_object_object_add(o, "domains", keep);
        }
        return vnd_reply_ok(o);
    }
    case VND_CMD_PAUSE:
    case VND_CMD_RESUME: {
        bool p = rq->cmd == VND_CMD_PAUSE;
        if (d)
            d->paused = p;
        else
            v->paused = p;
        vnd_log(v, "Balancing %s %s%s%s.", p ? "paused" : "resumed", d ? "for domain '" : "",
                d ? d->name : "for the host", d ? "'" : "");
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "paused", json_object_new_boolean(p));
        json_object_object_add(o, "domain", d ? json_object_new_string(d->name) : NULL);
        return vnd_reply_ok(o);
    }
    case VND_CMD_ONCE: {
        if (vnd_pass(v, &err) < 0)
            return vnd_reply_error(err.msg);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "actions", vnd_pass_json(v));
        json_object_object_add(o, "domains", json_object_new_int(v->ndoms));
        return vnd_reply_ok(o);
    }
    case VND_CMD_METRICS: {
        VN_CLEANUP_FREE char *text = vnd_metrics_text(v);
        if (!text)
            return vnd_reply_error("Out of memory while building the metrics.");
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "metrics", json_object_new_string(text));
        return vnd_reply_ok(o);
    }
    }
    return vnd_reply_error("Unknown command.");
}

/* ---- sockets ------------------------------------------------------------------------------- */

static int listen_unix(struct vnd *v, struct vn_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", v->state_path, VND_SOCKET_NAME);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path)
        return vn_error_set(err, "The control socket path '%s/%s' is longer than %zu bytes.",
                            v->state_path, VND_SOCKET_NAME, sizeof sa.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "Cannot create the control socket");
    /* A socket someone still listens on belongs to a running vnumad. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        close(fd);
        return vn_error_set(err, "Another vnumad is serving '%s' already.", sa.sun_path);
    }
    close(fd);
    struct stat stt;
    if (lstat(sa.sun_path, &stt) == 0) {
        if (!S_ISSOCK(stt.st_mode))
            return vn_error_set(err, "'%s' exists and is not a socket.", sa.sun_path);
        unlink(sa.sun_path); /* left by a killed vnumad */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "Cannot create the control socket");
    mode_t old = umask(0177); /* born 0600: nobody else may connect, even for a moment */
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || chmod(sa.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return vn_error_sys(err, e, "Cannot listen on the control socket '%s'", sa.sun_path);
    }
    v->listen_fd = fd;
    return 0;
}

static int listen_metrics(struct vnd *v, int port, struct vn_error *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "Cannot create the metrics socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* localhost only */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return vn_error_sys(err, e, "Cannot listen on 127.0.0.1:%d for metrics", port);
    }
    v->metrics_fd = fd;
    return 0;
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* One HTTP exchange: whatever the request, the metrics text.  Bounded wait for the request. */
static void serve_metrics(struct vnd *v)
{
    int fd = accept4(v->metrics_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    char buf[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 1000) > 0)
        (void)read(fd, buf, sizeof buf);
    VN_CLEANUP_FREE char *text = vnd_metrics_text(v);
    if (text) {
        char head[256];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                         strlen(text));
        write_all(fd, head, (size_t)n);
        write_all(fd, text, strlen(text));
    }
    close(fd);
}

struct client {
    int fd;
    struct vnd_linebuf *lb;
};

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->lb);
    c->fd = -1;
    c->lb = NULL;
}

/* Reads what is there; answers every complete line.  Returns -1 when the client is done. */
static int client_read(struct vnd *v, struct client *c)
{
    char buf[8192];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1;
    if (vnd_linebuf_add(c->lb, buf, (size_t)n) < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "The request is longer than %d bytes; closing.", VND_REQUEST_MAX);
        VN_CLEANUP_FREE char *r = vnd_reply_error(msg);
        if (r)
            write_all(c->fd, r, strlen(r));
        return -1;
    }
    VN_CLEANUP_FREE char *line = malloc(VND_REQUEST_MAX + 1);
    if (!line)
        return -1;
    long len;
    while ((len = vnd_linebuf_take(c->lb, line)) >= 0) {
        struct vnd_request rq;
        struct vn_error err = {0};
        VN_CLEANUP_FREE char *r = NULL;
        if (vnd_request_parse(line, (size_t)len, &rq, &err) < 0)
            r = vnd_reply_error(err.msg);
        else
            r = vnd_handle(v, &rq);
        if (r)
            write_all(c->fd, r, strlen(r));
    }
    return 0;
}

int vnd_run(struct vnd *v, const volatile sig_atomic_t *stop, struct vn_error *err)
{
    v->stop = stop;
    if (listen_unix(v, err) < 0)
        return -1;
    if (v->opts.metrics_port > 0 && listen_metrics(v, v->opts.metrics_port, err) < 0)
        return -1;
    const char *an = v->autonuma < 0    ? "unknown (no /proc/sys/kernel/numa_balancing)"
                     : v->autonuma == 0 ? "off"
                                        : "on";
    vnd_log(v,
            "Started on '%s' (%d host nodes, CPU pressure from %s, interval %.1f s); "
            "kernel.numa_balancing is %s%s",
            v->state_path, v->nnodes, vn_cpu_pressure_source(v->cp), v->interval_s, an,
            v->autonuma > 0 ? ": AutoNUMA leaves vnumad's MPOL_BIND vnodes alone and moves "
                              "only QEMU's own unbound memory."
                            : ".");
    recover(v);
    struct client cl[MAX_CLIENTS];
    for (int i = 0; i < MAX_CLIENTS; i++)
        cl[i] = (struct client){-1, NULL};
    int64_t next = mono_ns();
    while (!*stop) {
        int64_t now = mono_ns();
        if (now >= next) {
            struct vn_error e2 = {0};
            if (vnd_pass(v, &e2) < 0)
                vnd_log(v, "The pass failed: %s", e2.msg);
            next = mono_ns() + (int64_t)(v->interval_s * 1e9);
            continue;
        }
        /* Moves under way get a bounded slice between two polls, so requests are answered
         * while a long migration runs. */
        int64_t job_next = INT64_MAX;
        if (v->njobs > 0)
            vnd_jobs_run(v, VND_SLICE_MS, &job_next);
        now = mono_ns();
        struct pollfd pf[MAX_CLIENTS + 2];
        int np = 0;
        pf[np++] = (struct pollfd){.fd = v->listen_fd, .events = POLLIN};
        pf[np++] = (struct pollfd){.fd = v->metrics_fd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++)
            pf[np++] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
        int64_t until = job_next < next ? job_next : next;
        int64_t wait_ms = until <= now ? 0 : (until - now) / 1000000 + 1;
        int r = poll(pf, (nfds_t)np, (int)(wait_ms > 1000 ? 1000 : wait_ms));
        if (r <= 0)
            continue;
        if (pf[0].revents & POLLIN) {
            int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                int slot = -1;
                for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
                    if (cl[i].fd < 0)
                        slot = i;
                struct vnd_linebuf *lb = slot >= 0 ? malloc(sizeof *lb) : NULL;
                if (!lb) {
                    VN_CLEANUP_FREE char *m = vnd_reply_error("Too many clients; try again.");
                    if (m)
                        write_all(fd, m, strlen(m));
                    close(fd);
                } else {
                    lb->len = 0;
                    cl[slot] = (struct client){fd, lb};
                }
            }
        }
        if (v->metrics_fd >= 0 && (pf[1].revents & POLLIN))
            serve_metrics(v);
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (cl[i].fd >= 0 && pf[2 + i].revents && client_read(v, &cl[i]) < 0)
                client_close(&cl[i]);
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        client_close(&cl[i]);
    vnd_log(v, "Stopped.");
    return 0;
}
