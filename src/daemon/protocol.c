/* The control protocol of vnumad, without the sockets: request lines in, reply lines out,
 * and the status and metrics reports built from the daemon's model.  No I/O, so the unit
 * tests and the fuzz target drive it directly. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"
#include "util/cleanup.h"
#include "vnumad.h"

static const char *const cmd_names[] = {
    [VND_CMD_STATUS] = "status", [VND_CMD_PAUSE] = "pause",     [VND_CMD_RESUME] = "resume",
    [VND_CMD_ONCE] = "once",     [VND_CMD_METRICS] = "metrics",
};

const char *vnd_cmd_name(enum vnd_cmd c)
{
    return (unsigned)c < VN_ARRAY_SIZE(cmd_names) ? cmd_names[c] : "?";
}

static int request_members(struct json_object *o, struct vnd_request *out, struct vn_error *err)
{
    if (!json_object_is_type(o, json_type_object))
        return vn_error_set(err, "the request must be a JSON object like {\"cmd\": \"status\"}");
    bool have_cmd = false;
    json_object_object_foreach(o, key, val)
    {
        if (strcmp(key, "cmd") == 0) {
            if (!json_object_is_type(val, json_type_string))
                return vn_error_set(err, "the key 'cmd' must be a string");
            const char *c = json_object_get_string(val);
            size_t k;
            for (k = 0; k < VN_ARRAY_SIZE(cmd_names); k++)
                if (strcmp(c, cmd_names[k]) == 0)
                    break;
            if (k == VN_ARRAY_SIZE(cmd_names))
                return vn_error_set(err,
                                    "unknown command '%.64s'; the commands are status, pause, "
                                    "resume, once and metrics",
                                    c);
            out->cmd = (enum vnd_cmd)k;
            have_cmd = true;
        } else if (strcmp(key, "domain") == 0) {
            if (json_object_is_type(val, json_type_null))
                continue;
            if (!json_object_is_type(val, json_type_string))
                return vn_error_set(err, "the key 'domain' must be a string");
            const char *name = json_object_get_string(val);
            struct vn_error e2 = {0};
            if (vn_domain_name_check(name, &e2) < 0)
                return vn_error_set(err, "%s", e2.msg);
            snprintf(out->domain, sizeof out->domain, "%s", name);
        } else {
            return vn_error_set(err, "unknown key '%.64s' in the request", key);
        }
    }
    if (!have_cmd)
        return vn_error_set(err, "the request has no 'cmd' key");
    if (out->domain[0] && out->cmd != VND_CMD_PAUSE && out->cmd != VND_CMD_RESUME &&
        out->cmd != VND_CMD_STATUS)
        return vn_error_set(err, "the command '%s' takes no domain", vnd_cmd_name(out->cmd));
    return 0;
}

int vnd_request_parse(const char *line, size_t len, struct vnd_request *out, struct vn_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > VND_REQUEST_MAX)
        return vn_error_set(err, "the request is %zu bytes long; the limit is %d bytes", len,
                            VND_REQUEST_MAX);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (memchr(line, '\0', len))
        return vn_error_set(err, "the request contains a NUL byte");
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return vn_error_set(err, "out of memory while parsing the request");
    struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || jerr != json_tokener_success) {
        json_object_put(o);
        return vn_error_set(err, "the request is not valid JSON: %s",
                            jerr == json_tokener_continue ? "it ends too early"
                                                          : json_tokener_error_desc(jerr));
    }
    int rc = -1;
    for (size_t i = used; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t') {
            vn_error_set(err, "the request has data after its JSON object (byte %zu)", i);
            goto out;
        }
    rc = request_members(o, out, err);
out:
    json_object_put(o);
    return rc;
}

int vnd_linebuf_add(struct vnd_linebuf *b, const char *data, size_t n)
{
    if (n > sizeof b->buf - b->len)
        return -1;
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    return 0;
}

long vnd_linebuf_take(struct vnd_linebuf *b, char *line)
{
    char *nl = memchr(b->buf, '\n', b->len);
    if (!nl)
        return -1;
    size_t n = (size_t)(nl - b->buf);
    memcpy(line, b->buf, n);
    line[n] = '\0';
    memmove(b->buf, nl + 1, b->len - n - 1);
    b->len -= n + 1;
    return (long)n;
}

static char *reply(struct json_object *o)
{
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(s);
    char *line = malloc(n + 2);
    if (line) {
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = '\0';
    }
    json_object_put(o);
    return line;
}

char *vnd_reply_ok(struct json_object *body)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(1));
    if (body) {
        json_object_object_foreach(body, key, val)
        {
            json_object_object_add(o, key, json_object_get(val));
        }
        json_object_put(body);
    }
    return reply(o);
}

char *vnd_reply_error(const char *msg)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(0));
    json_object_object_add(o, "error", json_object_new_string(msg));
    return reply(o);
}

/* ---- reports ------------------------------------------------------------------------------ */

static int os_node(const struct vnd *v, int idx)
{
    return v->topo && idx >= 0 && idx < v->topo->nnodes ? v->topo->nodes[idx].os_index : idx;
}

struct json_object *vnd_action_json(const struct vnd_action_log *a)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "time", json_object_new_int64(a->time));
    json_object_object_add(o, "domain", json_object_new_string(a->domain));
    json_object_object_add(o, "kind", json_object_new_string(vn_bal_kind_name(a->kind)));
    if (a->kind == VN_BAL_SKIPPED) {
        json_object_object_add(o, "skipped", json_object_new_string(vn_bal_kind_name(a->skipped)));
        json_object_object_add(o, "gate", json_object_new_string(vn_bal_skip_name(a->skip)));
    }
    json_object_object_add(o, "vnode", a->vnode >= 0 ? json_object_new_int(a->vnode) : NULL);
    if (a->kind == VN_BAL_MIGRATE_VNODE)
        json_object_object_add(o, "mib", json_object_new_int64((int64_t)a->mib));
    json_object_object_add(o, "reason", json_object_new_string(a->reason));
    json_object_object_add(o, "result", json_object_new_string(a->result));
    json_object_object_add(o, "failed", json_object_new_boolean(a->failed));
    return o;
}

struct json_object *vnd_pass_json(const struct vnd *v)
{
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < v->npass; i++)
        json_object_array_add(a, vnd_action_json(&v->pass[i]));
    return a;
}

static struct json_object *pct(double share)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.1f", share * 100.0);
    return json_object_new_double_s(share * 100.0, buf);
}

static struct json_object *dom_json(const struct vnd *v, const struct vnd_dom *d)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(d->name));
    json_object_object_add(o, "status", json_object_new_string(d->status));
    json_object_object_add(o, "running", json_object_new_boolean(d->running));
    json_object_object_add(o, "paused", json_object_new_boolean(d->paused));
    json_object_object_add(o, "balance", json_object_new_boolean(!(d->flags & VN_BAL_OPT_OUT)));
    json_object_object_add(o, "fixed_pnodes",
                           json_object_new_boolean(d->flags & VN_BAL_FIXED_PNODES));
    json_object_object_add(o, "pinned", json_object_new_boolean(d->flags & VN_BAL_PINNED));
    json_object_object_add(o, "locality_pct", d->running ? pct(d->dom_locality) : NULL);
    struct json_object *vn = json_object_new_array();
    for (int i = 0; i < d->nvnodes; i++) {
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "vnode", json_object_new_int(i));
        json_object_object_add(
            e, "home", d->home[i] >= 0 ? json_object_new_int(os_node(v, d->home[i])) : NULL);
        json_object_object_add(e, "memory_mib", json_object_new_int64((int64_t)d->vnode_mib[i]));
        json_object_object_add(e, "locality_pct", d->running ? pct(d->locality[i]) : NULL);
        struct json_object *res = json_object_new_array();
        for (int n = 0; d->running && d->resident && n < d->nnodes; n++) {
            uint64_t mib = d->resident[(size_t)i * (size_t)d->nnodes + (size_t)n];
            if (!mib)
                continue;
            struct json_object *r = json_object_new_object();
            json_object_object_add(r, "node", json_object_new_int(os_node(v, n)));
            json_object_object_add(r, "mib", json_object_new_int64((int64_t)mib));
            json_object_array_add(res, r);
        }
        json_object_object_add(e, "resident", res);
        json_object_object_add(e, "error_mib", json_object_new_int64((int64_t)d->err_mib[i]));
        json_object_array_add(vn, e);
    }
    json_object_object_add(o, "vnodes", vn);
    struct json_object *acts = json_object_new_array();
    int first = d->nlast > VND_LAST_ACTIONS ? d->nlast - VND_LAST_ACTIONS : 0;
    for (int i = first; i < d->nlast; i++)
        json_object_array_add(acts, vnd_action_json(&d->last[i % VND_LAST_ACTIONS]));
    json_object_object_add(o, "last_actions", acts);
    json_object_object_add(o, "migrations", json_object_new_int64((int64_t)d->migrations));
    json_object_object_add(o, "moved_bytes", json_object_new_int64((int64_t)d->moved_bytes));
    /* The record's spec read back and its claim known: the policy may re-place it. */
    json_object_object_add(o, "replaceable", json_object_new_boolean(d->spec && d->have_claim));
    /* Vnode moves under way (memory going home in slices). */
    struct json_object *mv = json_object_new_array();
    for (int i = 0; i < v->njobs; i++) {
        const struct vnd_job *j = &v->jobs[i];
        if (strcmp(j->domain, d->name) != 0)
            continue;
        struct vn_domain_move_stats st;
        vn_domain_move_get_stats(j->m, &st);
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "vnode", json_object_new_int(j->vnode));
        json_object_object_add(e, "to", json_object_new_int(j->to));
        json_object_object_add(e, "budget_mib", json_object_new_int64((int64_t)j->mib));
        json_object_object_add(e, "moved_pages", json_object_new_int64((int64_t)st.pages_moved));
        json_object_object_add(e, "pages_scanned",
                               json_object_new_int64((int64_t)st.pages_scanned));
        json_object_object_add(e, "pages_total", json_object_new_int64((int64_t)st.pages_total));
        json_object_array_add(mv, e);
    }
    json_object_object_add(o, "moving", mv);
    json_object_object_add(o, "problem", d->problem[0] ? json_object_new_string(d->problem) : NULL);
    return o;
}

struct json_object *vnd_status_json(const struct vnd *v)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "paused", json_object_new_boolean(v->paused));
    json_object_object_add(o, "passes", json_object_new_int64((int64_t)v->passes));
    json_object_object_add(o, "interval_s", json_object_new_double(v->interval_s));
    json_object_object_add(o, "numa_balancing",
                           v->autonuma >= 0 ? json_object_new_int(v->autonuma) : NULL);
    json_object_object_add(o, "migrate", json_object_new_boolean(v->migrate_api));
    json_object_object_add(o, "nodes", json_object_new_int(v->nnodes));
    struct json_object *doms = json_object_new_array();
    for (int i = 0; i < v->ndoms; i++)
        json_object_array_add(doms, dom_json(v, v->doms[i]));
    json_object_object_add(o, "domains", doms);
    return o;
}

/* ---- metrics ------------------------------------------------------------------------------- */

static void help(struct vn_sbuf *b, const char *name, const char *type, const char *text)
{
    vn_sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* Domain names are [A-Za-z0-9._-]: nothing to escape in a label value. */
char *vnd_metrics_text(const struct vnd *v)
{
    struct vn_sbuf b = {0};
    help(&b, "vnumad_up", "gauge", "1 while vnumad runs.");
    vn_sbuf_printf(&b, "vnumad_up 1\n");
    help(&b, "vnumad_paused", "gauge", "1 while balancing is paused for the whole host.");
    vn_sbuf_printf(&b, "vnumad_paused %d\n", v->paused ? 1 : 0);
    help(&b, "vnumad_passes_total", "counter", "Balancing passes run.");
    vn_sbuf_printf(&b, "vnumad_passes_total %llu\n", (unsigned long long)v->passes);
    help(&b, "vnumad_numa_balancing", "gauge", "kernel.numa_balancing (-1 when unknown).");
    vn_sbuf_printf(&b, "vnumad_numa_balancing %d\n", v->autonuma);
    help(&b, "vnumad_node_free_bytes", "gauge", "Free memory of a host node.");
    for (int n = 0; n < v->nnodes && v->free_mib; n++)
        vn_sbuf_printf(&b, "vnumad_node_free_bytes{node=\"%d\"} %llu\n", os_node(v, n),
                       (unsigned long long)v->free_mib[n] << 20);
    help(&b, "vnumad_node_cpu_pressure", "gauge", "Smoothed CPU demand per CPU of a host node.");
    for (int n = 0; n < v->nnodes && v->pressure; n++)
        vn_sbuf_printf(&b, "vnumad_node_cpu_pressure{node=\"%d\"} %.4f\n", os_node(v, n),
                       v->pressure[n]);
    help(&b, "vnumad_domain_locality_ratio", "gauge",
         "Share of a domain's vCPU time spent where its memory is (0..1).");
    for (int i = 0; i < v->ndoms; i++)
        if (v->doms[i]->running)
            vn_sbuf_printf(&b, "vnumad_domain_locality_ratio{domain=\"%s\"} %.4f\n",
                           v->doms[i]->name, v->doms[i]->dom_locality);
    help(&b, "vnumad_domain_memory_bytes", "gauge",
         "Memory of a domain resident on a host node (estimate).");
    for (int i = 0; i < v->ndoms; i++) {
        const struct vnd_dom *d = v->doms[i];
        if (!d->running || !d->resident)
            continue;
        for (int n = 0; n < d->nnodes; n++) {
            uint64_t mib = 0;
            for (int k = 0; k < d->nvnodes; k++)
                mib += d->resident[(size_t)k * (size_t)d->nnodes + (size_t)n];
            vn_sbuf_printf(&b, "vnumad_domain_memory_bytes{domain=\"%s\",node=\"%d\"} %llu\n",
                           d->name, os_node(v, n), (unsigned long long)mib << 20);
        }
    }
    help(&b, "vnumad_domain_paused", "gauge", "1 while balancing of the domain is paused.");
    for (int i = 0; i < v->ndoms; i++)
        vn_sbuf_printf(&b, "vnumad_domain_paused{domain=\"%s\"} %d\n", v->doms[i]->name,
                       v->doms[i]->paused ? 1 : 0);
    help(&b, "vnumad_migrations_total", "counter", "Memory migrations of vnodes done.");
    for (int i = 0; i < v->ndoms; i++)
        vn_sbuf_printf(&b, "vnumad_migrations_total{domain=\"%s\"} %llu\n", v->doms[i]->name,
                       (unsigned long long)v->doms[i]->migrations);
    help(&b, "vnumad_moved_bytes_total", "counter", "Bytes of memory moved between host nodes.");
    for (int i = 0; i < v->ndoms; i++)
        vn_sbuf_printf(&b, "vnumad_moved_bytes_total{domain=\"%s\"} %llu\n", v->doms[i]->name,
                       (unsigned long long)v->doms[i]->moved_bytes);
    help(&b, "vnumad_actions_failed_total", "counter", "Actions whose enactment failed.");
    for (int i = 0; i < v->ndoms; i++)
        vn_sbuf_printf(&b, "vnumad_actions_failed_total{domain=\"%s\"} %llu\n", v->doms[i]->name,
                       (unsigned long long)v->doms[i]->actions_failed);
    help(&b, "vnumad_actions_skipped_total", "counter",
         "Actions the policy held back, by the gate that stopped them.");
    for (int i = 0; i < v->ndoms; i++)
        for (int s = 0; s < VN_BAL_NSKIP; s++)
            vn_sbuf_printf(&b, "vnumad_actions_skipped_total{domain=\"%s\",reason=\"%s\"} %llu\n",
                           v->doms[i]->name, vn_bal_skip_name((enum vn_bal_skip)s),
                           (unsigned long long)v->doms[i]->skipped[s]);
    return vn_sbuf_take(&b);
}
