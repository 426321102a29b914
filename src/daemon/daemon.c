/* vnumad's life: set-up and tear-down, the requests of the control socket, and the loop that
 * runs a pass every interval, gives vnode moves their slices and serves the sockets
 * (server.c) in between.  The pass itself is pass.c; crash recovery at start is recover.c. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domain/domain.h"
#include "numa/cpupressure.h"
#include "util/cleanup.h"
#include "vnumad.h"

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
    v->listen_fd = v->metrics_fd = v->lock_fd = -1;
    v->client_idle_ms = VND_CLIENT_IDLE_MS;
    v->interval_s = o->interval_s > 0 ? o->interval_s : 5.0;
    v->migrate_api = true;
    if (o->log_path) {
        v->log = fopen(o->log_path, "ae");
        if (!v->log)
            return vn_error_sys(err, errno, "cannot open the log file '%s'", o->log_path);
    }
    const char *dir = vn_domain_state_dir(o->state_dir);
    snprintf(v->state_path, sizeof v->state_path, "%s", dir);
    if (vn_state_open(dir, &v->state, err) < 0)
        return -1;
    v->topo = vn_topo_load(o->host_spec, err);
    if (!v->topo)
        return vn_error_prefix(err, "cannot read the host topology");
    int nn = v->topo->nnodes;
    v->nnodes = nn;
    v->cpu_node = malloc(VN_BITMAP_BITS * sizeof *v->cpu_node);
    v->node_cpus = calloc((size_t)nn, sizeof *v->node_cpus);
    v->free_mib = calloc((size_t)nn, sizeof *v->free_mib);
    v->pressure = calloc((size_t)nn, sizeof *v->pressure);
    v->demand = calloc(VN_BITMAP_BITS, sizeof *v->demand);
    if (!v->cpu_node || !v->node_cpus || !v->free_mib || !v->pressure || !v->demand)
        return vn_error_set(err, "out of memory");
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
        return vn_error_set(err, "out of memory");
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
    vnd_server_close(v);
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

/* ---- requests ------------------------------------------------------------------------------ */

char *vnd_handle(struct vnd *v, const struct vnd_request *rq)
{
    struct vn_error err = {0};
    struct vnd_dom *d = NULL;
    if (rq->domain[0] && rq->cmd != VND_CMD_STATUS) {
        d = vnd_find(v, rq->domain);
        if (!d) {
            vnd_refresh_doms(v);
            d = vnd_find(v, rq->domain);
        }
        if (!d) {
            char msg[160];
            snprintf(msg, sizeof msg, "domain '%s' does not exist", rq->domain);
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
        if (d) {
            d->paused = p;
            vnd_log(v, "Balancing %s for domain '%s'.", p ? "paused" : "resumed", d->name);
        } else {
            v->paused = p;
            vnd_log(v, "Balancing %s for the host.", p ? "paused" : "resumed");
        }
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
            return vnd_reply_error("out of memory while building the metrics");
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "metrics", json_object_new_string(text));
        return vnd_reply_ok(o);
    }
    }
    return vnd_reply_error("unknown command");
}

int vnd_run(struct vnd *v, const volatile sig_atomic_t *stop, struct vn_error *err)
{
    v->stop = stop;
    if (vnd_server_open(v, err) < 0)
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
    vnd_recover(v);
    int64_t next = vnd_mono_ns();
    while (!*stop) {
        int64_t now = vnd_mono_ns();
        if (now >= next) {
            struct vn_error e2 = {0};
            if (vnd_pass(v, &e2) < 0)
                vnd_log(v, "The pass failed: %s", e2.msg);
            next = vnd_mono_ns() + (int64_t)(v->interval_s * 1e9);
            continue;
        }
        /* Moves under way get a bounded slice between two polls, so requests are answered
         * while a long migration runs. */
        int64_t job_next = INT64_MAX;
        if (v->njobs > 0)
            vnd_jobs_run(v, VND_SLICE_MS, &job_next);
        now = vnd_mono_ns();
        int64_t until = job_next < next ? job_next : next;
        int64_t wait_ms = until <= now ? 0 : (until - now) / 1000000 + 1;
        /* Never blocks on a client; at most 1 s so that the stop flag is seen. */
        vnd_server_poll(v, (int)(wait_ms > 1000 ? 1000 : wait_ms));
    }
    vnd_log(v, "Stopped.");
    return 0;
}
