/* The scenario format (docs/SIM.md): "[section]" or "[kind NAME]" headers, "key = value"
 * lines, "#" comments.  Every message names FILE:LINE and is a whole sentence. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/spec.h"
#include "scenario.h"
#include "run.h"

enum section { SEC_NONE, SEC_SCENARIO, SEC_MODEL, SEC_WORKLOAD, SEC_VMS, SEC_CONFIG };

struct parser {
    const char *file;
    int line;
    struct vn_scenario *sc;
    enum section sec;
    int idx; /* workload / group / config being filled */
    bool wl_has_key;
    char wl_ref[VN_SCN_MAX_GROUPS][VN_SIM_NAME_MAX];
    struct vn_error *err;
};

#define FAIL(P, ...) perr((P), __VA_ARGS__)

/* The VMs of a group are named GROUP-N with N up to the largest count, 100000: a group name
 * leaves room for "-100000" in a VM name. */
#define MAX_COUNT      100000
#define GROUP_NAME_MAX (VN_SIM_NAME_MAX - (int)sizeof "-100000")

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...)
{
    char msg[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->line > 0)
        return vn_error_set(p->err, "%s:%d: %s", p->file, p->line, msg);
    return vn_error_set(p->err, "%s: %s", p->file, msg);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) >= VN_SIM_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.+", *s))
            return false;
    return true;
}

static int parse_double(struct parser *p, const char *key, const char *v, double lo, double hi,
                        double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d))
        return FAIL(p, "'%s' is not a number for '%s'.", v, key);
    if (d < lo || d > hi)
        return FAIL(p, "'%s' = %g is out of range; it must be between %g and %g.", key, d, lo, hi);
    *out = d;
    return 0;
}

static int parse_int(struct parser *p, const char *key, const char *v, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno)
        return FAIL(p, "'%s' is not a whole number for '%s'.", v, key);
    if (x < lo || x > hi)
        return FAIL(p, "'%s' = %ld is out of range; it must be between %ld and %ld.", key, x, lo,
                    hi);
    *out = (int)x;
    return 0;
}

/* "30ms", "2s", "90ns", "1.5us" -> ns. */
static int parse_duration(struct parser *p, const char *key, const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    double mul = 0;
    if (end != v && !errno && isfinite(d)) {
        if (strcmp(end, "ns") == 0)
            mul = 1;
        else if (strcmp(end, "us") == 0)
            mul = 1e3;
        else if (strcmp(end, "ms") == 0)
            mul = 1e6;
        else if (strcmp(end, "s") == 0)
            mul = 1e9;
    }
    if (mul == 0)
        return FAIL(p,
                    "'%s' is not a duration for '%s'; write a number followed by ns, us, ms "
                    "or s, e.g. '30ms'.",
                    v, key);
    if (d < 0 || d * mul > 1e15)
        return FAIL(p, "'%s' = %s is out of range; it must be between 0 and 1000000s.", key, v);
    *out = (int64_t)llround(d * mul);
    return 0;
}

/* "960M", "12G", "256KiB", "4096" (MiB) -> bytes. */
static int parse_size(struct parser *p, const char *key, const char *v, double *bytes)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    double mul = 0;
    if (end != v && !errno && isfinite(d) && d >= 0) {
        char u = (char)toupper((unsigned char)*end);
        const char *rest = *end ? end + 1 : end;
        if (!*end)
            mul = 1024.0 * 1024;
        else if (strchr("KMGT", u) && (!*rest || strcmp(rest, "iB") == 0 || strcmp(rest, "B") == 0))
            mul = u == 'K'   ? 1024.0
                  : u == 'M' ? 1024.0 * 1024
                  : u == 'G' ? 1024.0 * 1024 * 1024
                             : 1024.0 * 1024 * 1024 * 1024;
    }
    if (mul == 0 || d * mul > 1e18)
        return FAIL(p,
                    "'%s' is not a size for '%s'; write a number with K, M, G or T (binary "
                    "units; a plain number is MiB), e.g. '960M'.",
                    v, key);
    *bytes = d * mul;
    return 0;
}

static int parse_mib(struct parser *p, const char *key, const char *v, uint64_t *out)
{
    double b;
    if (parse_size(p, key, v, &b) < 0)
        return -1;
    *out = (uint64_t)(b / (1024.0 * 1024));
    return 0;
}

static int set_str(struct parser *p, const char *key, const char *v, char *dst, size_t cap)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n >= cap)
        return FAIL(p, "The value of '%s' is %zu characters long; at most %zu fit.", key, n,
                    cap - 1);
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

static int key_scenario(struct parser *p, const char *k, const char *v)
{
    struct vn_scenario *sc = p->sc;
    if (strcmp(k, "name") == 0) {
        if (!valid_name(v))
            return FAIL(p,
                        "'%s' is not a valid scenario name; use letters, digits and -_.+ "
                        "(up to %d).",
                        v, VN_SIM_NAME_MAX - 1);
        return set_str(p, k, v, sc->name, sizeof sc->name);
    }
    if (strcmp(k, "description") == 0)
        return set_str(p, k, v, sc->description, sizeof sc->description);
    if (strcmp(k, "host") == 0)
        return set_str(p, k, v, sc->host, sizeof sc->host);
    if (strcmp(k, "duration") == 0)
        return parse_duration(p, k, v, &sc->duration_ns);
    if (strcmp(k, "warmup") == 0)
        return parse_duration(p, k, v, &sc->warmup_ns);
    if (strcmp(k, "trace_interval") == 0)
        return parse_duration(p, k, v, &sc->trace_ns);
    if (strcmp(k, "seeds") == 0)
        return parse_int(p, k, v, 1, 1000, &sc->seeds);
    return FAIL(p,
                "Unknown key '%s' in [scenario]; expected name, description, host, duration, "
                "warmup, seeds or trace_interval.",
                k);
}

static int key_model(struct parser *p, const char *k, const char *v)
{
    struct vn_sim_params *m = &p->sc->params;
    int64_t ns;
    double d;
    if (strcmp(k, "local_latency") == 0) {
        if (parse_duration(p, k, v, &ns) < 0)
            return -1;
        if (ns < 1)
            return FAIL(p, "'local_latency' must be at least 1ns.");
        m->local_ns = (double)ns;
        return 0;
    }
    if (strcmp(k, "remote_ratio_21") == 0)
        return parse_double(p, k, v, 1, 10, &m->remote_ratio_21);
    if (strcmp(k, "node_bandwidth") == 0)
        return parse_double(p, k, v, 0.01, 10000, &m->node_gbs);
    if (strcmp(k, "contention") == 0)
        return parse_double(p, k, v, 0, 10, &m->contention);
    if (strcmp(k, "smt_yield") == 0)
        return parse_double(p, k, v, 1, 2, &m->smt_yield);
    if (strcmp(k, "cache_refill") == 0) {
        if (parse_size(p, k, v, &d) < 0)
            return -1;
        m->refill_kib = d / 1024;
        return 0;
    }
    if (strcmp(k, "migrate_bandwidth") == 0)
        return parse_double(p, k, v, 0.001, 10000, &m->migrate_gbs);
    if (strcmp(k, "host_reserve") == 0)
        return parse_mib(p, k, v, &m->reserve_mib);
    if (strcmp(k, "start_spread") == 0)
        return parse_duration(p, k, v, &m->start_spread_ns);
    if (strcmp(k, "chunk") == 0) {
        if (parse_size(p, k, v, &d) < 0)
            return -1;
        if (d < 4096)
            return FAIL(p, "'chunk' must be at least 4K (one page).");
        m->chunk_mib = d / (1024.0 * 1024);
        return 0;
    }
    if (strcmp(k, "bal_noise") == 0)
        return parse_double(p, k, v, 0, 1, &m->bal_noise);
    if (strcmp(k, "dyn_high") == 0)
        return parse_double(p, k, v, 0, 100, &m->dyn_high);
    if (strcmp(k, "dyn_low") == 0)
        return parse_double(p, k, v, 0, 100, &m->dyn_low);
    int64_t *dst = strcmp(k, "timeslice") == 0           ? &m->timeslice_ns
                   : strcmp(k, "epoch") == 0             ? &m->epoch_ns
                   : strcmp(k, "balance_interval") == 0  ? &m->balance_ns
                   : strcmp(k, "policy_interval") == 0   ? &m->policy_ns
                   : strcmp(k, "balancer_interval") == 0 ? &m->bal_ns
                                                         : NULL;
    if (dst) {
        if (parse_duration(p, k, v, &ns) < 0)
            return -1;
        if (ns < 1000)
            return FAIL(p, "'%s' must be at least 1us.", k);
        *dst = ns;
        return 0;
    }
    return FAIL(p,
                "Unknown key '%s' in [model]; expected local_latency, remote_ratio_21, "
                "node_bandwidth, contention, smt_yield, cache_refill, timeslice, epoch, "
                "balance_interval, policy_interval, balancer_interval, dyn_high, dyn_low, "
                "migrate_bandwidth, host_reserve, start_spread, chunk or bal_noise.",
                k);
}

static int key_workload(struct parser *p, const char *k, const char *v)
{
    struct vn_sim_workload *w = &p->sc->workloads[p->idx];
    int64_t ns;
    if (strcmp(k, "type") == 0) {
        if (p->wl_has_key)
            return FAIL(p,
                        "'type' must be the first key of [workload %s], because it sets the "
                        "defaults the other keys change.",
                        w->name);
        char name[VN_SIM_NAME_MAX];
        snprintf(name, sizeof name, "%s", w->name);
        if (vn_sim_workload_builtin(v, w) < 0)
            return FAIL(p,
                        "Unknown workload type '%s'; expected specjbb, stream, chase, bursty "
                        "or idle.",
                        v);
        snprintf(w->name, sizeof w->name, "%s", name);
        p->wl_has_key = true;
        return 0;
    }
    p->wl_has_key = true;
    if (strcmp(k, "cpu") == 0) {
        if (parse_duration(p, k, v, &ns) < 0)
            return -1;
        w->cpu_ns = (double)ns;
        return 0;
    }
    if (strcmp(k, "burst") == 0) {
        if (parse_duration(p, k, v, &ns) < 0)
            return -1;
        if (ns < 1000)
            return FAIL(p, "'burst' must be at least 1us.");
        w->burst_ns = (double)ns;
        return 0;
    }
    if (strcmp(k, "phase") == 0) {
        if (parse_duration(p, k, v, &ns) < 0)
            return -1;
        if (ns > 0 && ns < 1000)
            return FAIL(p, "'phase' must be 0 (no phases) or at least 1us.");
        w->phase_ns = (double)ns;
        return 0;
    }
    if (strcmp(k, "hot_set") == 0) {
        double b;
        if (parse_size(p, k, v, &b) < 0)
            return -1;
        w->hot_mib = b / (1024.0 * 1024);
        return 0;
    }
    if (strcmp(k, "cpu_cv") == 0)
        return parse_double(p, k, v, 0, 10, &w->cpu_cv);
    if (strcmp(k, "miss_cv") == 0)
        return parse_double(p, k, v, 0, 10, &w->miss_cv);
    if (strcmp(k, "misses") == 0)
        return parse_double(p, k, v, 0, 1e9, &w->misses);
    if (strcmp(k, "mlp") == 0)
        return parse_double(p, k, v, 0.1, 1000, &w->mlp);
    if (strcmp(k, "duty") == 0)
        return parse_double(p, k, v, 0.001, 1, &w->duty);
    if (strcmp(k, "vnode_local") == 0)
        return parse_double(p, k, v, 0, 1, &w->vnode_local);
    return FAIL(p,
                "Unknown key '%s' in [workload %s]; expected type, cpu, misses, mlp, duty, "
                "burst, vnode_local, phase, cpu_cv, miss_cv or hot_set.",
                k, w->name);
}

static int parse_counts(struct parser *p, const char *v, struct vn_scn_group *g)
{
    char buf[512];
    if (strlen(v) >= sizeof buf)
        return FAIL(p, "The value of 'count' is too long.");
    snprintf(buf, sizeof buf, "%s", v);
    g->ncounts = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (g->ncounts == VN_SCN_MAX_COUNTS)
            return FAIL(p, "'count' lists more than %d values.", VN_SCN_MAX_COUNTS);
        if (parse_int(p, "count", trim(tok), 0, MAX_COUNT, &g->counts[g->ncounts]) < 0)
            return -1;
        g->ncounts++;
    }
    if (g->ncounts == 0)
        return FAIL(p, "'count' needs at least one number.");
    return 0;
}

static int key_vms(struct parser *p, const char *k, const char *v)
{
    struct vn_scn_group *g = &p->sc->groups[p->idx];
    if (strcmp(k, "count") == 0)
        return parse_counts(p, v, g);
    if (strcmp(k, "vcpus") == 0)
        return parse_int(p, k, v, 1, VN_MAX_VCPUS, &g->vcpus);
    if (strcmp(k, "memory") == 0) {
        if (parse_mib(p, k, v, &g->mem_mib) < 0)
            return -1;
        if (g->mem_mib < 1)
            return FAIL(p, "'memory' must be at least 1 MiB.");
        return 0;
    }
    if (strcmp(k, "workload") == 0)
        return set_str(p, k, v, p->wl_ref[p->idx], VN_SIM_NAME_MAX);
    if (strcmp(k, "start") == 0)
        return parse_duration(p, k, v, &g->start_ns);
    if (strcmp(k, "stagger") == 0)
        return parse_duration(p, k, v, &g->stagger_ns);
    if (strcmp(k, "stop") == 0) {
        if (parse_duration(p, k, v, &g->stop_ns) < 0)
            return -1;
        if (g->stop_ns == 0)
            return FAIL(p, "'stop' must be after the start of the run; leave it out for VMs "
                           "that stay.");
        g->stop_line = p->line;
        return 0;
    }
    return FAIL(p,
                "Unknown key '%s' in [vms %s]; expected count, vcpus, memory, workload, start, "
                "stop or stagger.",
                k, g->name);
}

static int key_config(struct parser *p, const char *k, const char *v)
{
    struct vn_scn_config *c = &p->sc->configs[p->idx];
    if (strcmp(k, "placement") == 0) {
        if (vn_sim_place_parse(v, &c->place) < 0)
            return FAIL(p, "Unknown placement '%s'; expected none, xen or vnuma.", v);
        return 0;
    }
    if (strcmp(k, "sched") == 0) {
        if (vn_sim_sched_parse(v, &c->sched) < 0)
            return FAIL(p,
                        "Unknown scheduler '%s'; expected all-cpus, pin, soft, dynamic or "
                        "balance.",
                        v);
        return 0;
    }
    if (strcmp(k, "vnuma") == 0) {
        if (strcmp(v, "auto") == 0 || strcmp(v, "on") == 0)
            c->guest_numa = true;
        else if (strcmp(v, "off") == 0)
            c->guest_numa = false;
        else
            return FAIL(p, "'vnuma' must be auto or off, not '%s'.", v);
        return 0;
    }
    return FAIL(p, "Unknown key '%s' in [config %s]; expected placement, sched or vnuma.", k,
                c->name);
}

static int section(struct parser *p, char *hdr)
{
    struct vn_scenario *sc = p->sc;
    char *name = hdr;
    while (*name && !isspace((unsigned char)*name))
        name++;
    if (*name)
        *name++ = '\0';
    name = trim(name);
    bool named =
        strcmp(hdr, "workload") == 0 || strcmp(hdr, "vms") == 0 || strcmp(hdr, "config") == 0;
    if (strcmp(hdr, "scenario") == 0 || strcmp(hdr, "model") == 0) {
        if (*name)
            return FAIL(p, "Section [%s] takes no name.", hdr);
        p->sec = hdr[0] == 's' ? SEC_SCENARIO : SEC_MODEL;
        return 0;
    }
    if (!named)
        return FAIL(p,
                    "Unknown section '[%s]'; expected [scenario], [model], [workload NAME], "
                    "[vms NAME] or [config NAME].",
                    hdr);
    if (!valid_name(name))
        return FAIL(p,
                    "Section [%s] needs a name of letters, digits and -_.+ (up to %d), not "
                    "'%s'.",
                    hdr, VN_SIM_NAME_MAX - 1, name);
    if (hdr[0] == 'w') {
        for (int i = 0; i < sc->nworkloads; i++)
            if (strcmp(sc->workloads[i].name, name) == 0)
                return FAIL(p, "Workload '%s' is defined twice.", name);
        if (sc->nworkloads == VN_SCN_MAX_WORKLOADS)
            return FAIL(p, "A scenario can define at most %d workloads.", VN_SCN_MAX_WORKLOADS);
        p->idx = sc->nworkloads++;
        struct vn_sim_workload *w = &sc->workloads[p->idx];
        if (vn_sim_workload_builtin(name, w) < 0)
            vn_sim_workload_builtin("specjbb", w);
        snprintf(w->name, sizeof w->name, "%s", name);
        p->wl_has_key = false;
        p->sec = SEC_WORKLOAD;
    } else if (hdr[0] == 'v') {
        if (strlen(name) > GROUP_NAME_MAX)
            return FAIL(p,
                        "VM group name '%s' is %zu characters long; at most %d fit, because its "
                        "VMs are named '%s-N' with N up to %d.",
                        name, strlen(name), GROUP_NAME_MAX, name, MAX_COUNT);
        for (int i = 0; i < sc->ngroups; i++)
            if (strcmp(sc->groups[i].name, name) == 0)
                return FAIL(p, "VM group '%s' is defined twice.", name);
        if (sc->ngroups == VN_SCN_MAX_GROUPS)
            return FAIL(p, "A scenario can have at most %d VM groups.", VN_SCN_MAX_GROUPS);
        p->idx = sc->ngroups++;
        struct vn_scn_group *g = &sc->groups[p->idx];
        snprintf(g->name, sizeof g->name, "%s", name);
        g->ncounts = 1;
        g->counts[0] = 1;
        g->vcpus = 1;
        g->mem_mib = 1024;
        g->line = p->line;
        snprintf(p->wl_ref[p->idx], VN_SIM_NAME_MAX, "specjbb");
        p->sec = SEC_VMS;
    } else {
        for (int i = 0; i < sc->nconfigs; i++)
            if (strcmp(sc->configs[i].name, name) == 0)
                return FAIL(p, "Configuration '%s' is defined twice.", name);
        if (sc->nconfigs == VN_SCN_MAX_CONFIGS)
            return FAIL(p, "A scenario can have at most %d configurations.", VN_SCN_MAX_CONFIGS);
        p->idx = sc->nconfigs++;
        struct vn_scn_config *c = &sc->configs[p->idx];
        snprintf(c->name, sizeof c->name, "%s", name);
        c->place = VN_SIM_PLACE_VNUMA;
        c->sched = VN_SIM_SCHED_SOFT;
        c->guest_numa = true;
        c->line = p->line;
        p->sec = SEC_CONFIG;
    }
    return 0;
}

static int line(struct parser *p, char *s)
{
    /* A '#' starts a comment unless it is inside double quotes. */
    bool quoted = false;
    for (char *c = s; *c; c++) {
        if (*c == '"')
            quoted = !quoted;
        else if (*c == '#' && !quoted) {
            *c = '\0';
            break;
        }
    }
    s = trim(s);
    if (!*s)
        return 0;
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']')
            return FAIL(p, "Section header '%s' is not closed with ']'.", s);
        s[n - 1] = '\0';
        return section(p, trim(s + 1));
    }
    char *eq = strchr(s, '=');
    if (!eq)
        return FAIL(p, "Expected 'key = value' or '[section]', got '%s'.", s);
    *eq = '\0';
    char *k = trim(s), *v = trim(eq + 1);
    if (!*k)
        return FAIL(p, "A line has a value but no key.");
    if (!*v)
        return FAIL(p, "Key '%s' has no value.", k);
    switch (p->sec) {
    case SEC_NONE:
        return FAIL(p, "Key '%s' is outside any section; start with [scenario].", k);
    case SEC_SCENARIO:
        return key_scenario(p, k, v);
    case SEC_MODEL:
        return key_model(p, k, v);
    case SEC_WORKLOAD:
        return key_workload(p, k, v);
    case SEC_VMS:
        return key_vms(p, k, v);
    case SEC_CONFIG:
        return key_config(p, k, v);
    }
    return 0;
}

/* Without a 'name' key the scenario is named after its file, up to the first '.'.  The name
 * goes into file names and into plot.gp, which gnuplot executes, so it must pass the same rule
 * as an explicit name: a file called "x'.scn" must not become a gnuplot string's end. */
static int name_from_file(struct parser *p)
{
    struct vn_scenario *sc = p->sc;
    const char *base = strrchr(p->file, '/');
    base = base ? base + 1 : p->file;
    size_t n = strcspn(base, ".");
    if (n == 0) {
        snprintf(sc->name, sizeof sc->name, "scenario");
        return 0;
    }
    char name[VN_SIM_NAME_MAX];
    if (n < sizeof name) {
        memcpy(name, base, n);
        name[n] = '\0';
    }
    if (n >= sizeof name || !valid_name(name))
        return FAIL(p,
                    "The scenario has no 'name', and the file name before its first '.' is not "
                    "a valid scenario name (letters, digits and -_.+, up to %d); set 'name' in "
                    "[scenario].",
                    VN_SIM_NAME_MAX - 1);
    snprintf(sc->name, sizeof sc->name, "%s", name);
    return 0;
}

static int finish(struct parser *p)
{
    struct vn_scenario *sc = p->sc;
    p->line = 0;
    if (!sc->name[0] && name_from_file(p) < 0)
        return -1;
    if (!sc->host[0])
        return FAIL(p, "The scenario names no host; set 'host' in [scenario].");
    if (sc->ngroups == 0)
        return FAIL(p, "The scenario has no VMs; add a [vms NAME] section.");
    if (sc->nconfigs == 0)
        return FAIL(p, "The scenario has no configuration to run; add a [config NAME] section.");
    if (sc->duration_ns <= sc->warmup_ns)
        return FAIL(p, "The duration (%gs) must be longer than the warm-up (%gs).",
                    (double)sc->duration_ns / 1e9, (double)sc->warmup_ns / 1e9);
    if (!(sc->params.dyn_low < sc->params.dyn_high))
        return FAIL(p, "dyn_low (%g) must be below dyn_high (%g).", sc->params.dyn_low,
                    sc->params.dyn_high);
    for (int g = 0; g < sc->ngroups; g++) {
        struct vn_scn_group *grp = &sc->groups[g];
        p->line = grp->line;
        if (grp->ncounts > 1) {
            if (sc->sweep >= 0)
                return FAIL(p,
                            "VM groups '%s' and '%s' both list several counts; only one group "
                            "can be swept.",
                            sc->groups[sc->sweep].name, grp->name);
            sc->sweep = g;
        }
        if (grp->stop_ns > 0 && grp->stop_ns <= grp->start_ns) {
            p->line = grp->stop_line;
            return FAIL(p,
                        "VM group '%s' would leave (stop = %gs) before it arrives (start = %gs).",
                        grp->name, (double)grp->stop_ns / 1e9, (double)grp->start_ns / 1e9);
        }
        grp->workload = -1;
        for (int i = 0; i < sc->nworkloads; i++)
            if (strcmp(sc->workloads[i].name, p->wl_ref[g]) == 0)
                grp->workload = i;
        if (grp->workload < 0) {
            if (sc->nworkloads == VN_SCN_MAX_WORKLOADS)
                return FAIL(p, "A scenario can define at most %d workloads.", VN_SCN_MAX_WORKLOADS);
            struct vn_sim_workload *w = &sc->workloads[sc->nworkloads];
            if (vn_sim_workload_builtin(p->wl_ref[g], w) < 0)
                return FAIL(p,
                            "VM group '%s' uses workload '%s', which is neither defined by a "
                            "[workload] section nor built in (specjbb, stream, chase, bursty, "
                            "idle).",
                            grp->name, p->wl_ref[g]);
            grp->workload = sc->nworkloads++;
        }
    }
    p->line = 0;
    return 0;
}

int vn_scenario_parse(const char *buf, size_t len, const char *file, struct vn_scenario *out,
                      struct vn_error *err)
{
    struct parser *p = calloc(1, sizeof *p);
    if (!p)
        return vn_error_set(err, "%s: out of memory.", file);
    memset(out, 0, sizeof *out);
    vn_sim_params_default(&out->params);
    out->duration_ns = 20000000000LL;
    out->warmup_ns = 2000000000LL;
    out->trace_ns = 1000000000LL;
    out->seeds = 3;
    out->sweep = -1;
    p->file = file;
    p->sc = out;
    p->err = err;
    int rc = 0;
    size_t pos = 0;
    char *l = NULL;
    size_t lcap = 0;
    while (pos < len && rc == 0) {
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        p->line++;
        size_t n = end - pos;
        if (memchr(buf + pos, '\0', n)) {
            rc = FAIL(p, "The line contains a NUL byte.");
            break;
        }
        if (n + 1 > lcap) {
            lcap = n + 1;
            char *nl = realloc(l, lcap);
            if (!nl) {
                rc = FAIL(p, "out of memory.");
                break;
            }
            l = nl;
        }
        memcpy(l, buf + pos, n);
        l[n] = '\0';
        if (n > 0 && l[n - 1] == '\r')
            l[n - 1] = '\0';
        rc = line(p, l);
        pos = end + 1;
    }
    free(l);
    if (rc == 0)
        rc = finish(p);
    free(p);
    return rc;
}

int vn_scenario_npoints(const struct vn_scenario *sc)
{
    return sc->sweep >= 0 ? sc->groups[sc->sweep].ncounts : 1;
}

int vn_scenario_count(const struct vn_scenario *sc, int g, int pt)
{
    const struct vn_scn_group *grp = &sc->groups[g];
    return grp->ncounts > 1 ? grp->counts[pt] : grp->counts[0];
}

struct vn_sim *vn_scenario_build(const struct vn_scenario *sc, const struct vn_host_topo *topo,
                                 int cfg, int pt, uint64_t seed, struct vn_error *err)
{
    const struct vn_scn_config *c = &sc->configs[cfg];
    struct vn_sim_setup setup = {c->place, c->sched, c->guest_numa, seed};
    struct vn_sim *s = vn_sim_new(topo, &sc->params, &setup, err);
    if (!s)
        return NULL;
    int made[VN_SCN_MAX_GROUPS] = {0};
    for (int k = 0;; k++) {
        int g = vn_scenario_vm_group(sc, pt, k);
        if (g < 0)
            break;
        const struct vn_scn_group *grp = &sc->groups[g];
        /* The parser keeps group names short enough (GROUP_NAME_MAX); a scenario built by
         * hand that is not is refused, not cut. */
        char name[VN_SIM_NAME_MAX];
        int len = snprintf(name, sizeof name, "%s-%d", grp->name, ++made[g]);
        if (len < 0 || (size_t)len >= sizeof name) {
            vn_error_set(err,
                         "configuration '%s': the VM name '%s-%d' is longer than %d "
                         "characters.",
                         c->name, grp->name, made[g], VN_SIM_NAME_MAX - 1);
            vn_sim_free(s);
            return NULL;
        }
        double offd = (double)(made[g] - 1) * (double)grp->stagger_ns;
        int64_t off = offd < 1e15 ? (int64_t)offd : (int64_t)1e15;
        if (vn_sim_schedule_vm(s, name, grp->vcpus, grp->mem_mib, &sc->workloads[grp->workload],
                               grp->start_ns + off, grp->stop_ns > 0 ? grp->stop_ns + off : 0,
                               err) < 0) {
            vn_error_prefix(err, "configuration '%s'", c->name);
            vn_sim_free(s);
            return NULL;
        }
    }
    return s;
}

void vn_sim_mean_sd(const double *v, int n, double *mean, double *sd)
{
    double m = 0, q = 0;
    for (int i = 0; i < n; i++)
        m += v[i];
    m = n > 0 ? m / n : 0;
    for (int i = 0; i < n; i++)
        q += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}
