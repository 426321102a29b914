/* The domain record as JSON: the one writer (vn_record_to_json) and the one reader
 * (vn_record_from_json) of the typed record.  Strict because a record decides what is running
 * and what is claimed: a record we only half understand would make placement or destroy act
 * on wrong data.  Messages are "state record 'PATH' is corrupt: WHY". */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../config/config.h"
#include "../render/render.h"
#include "../util/cleanup.h"
#include "../util/jsondoc.h"
#include "state_int.h"

static const char *const status_names[] = {
    [VN_DOMAIN_CREATING] = "creating", [VN_DOMAIN_RUNNING] = "running",
    [VN_DOMAIN_PAUSED] = "paused",     [VN_DOMAIN_MIGRATING] = "migrating",
    [VN_DOMAIN_STOPPING] = "stopping", [VN_DOMAIN_PRESERVED] = "preserved",
};

static const char *const accel_names[] = {
    [VN_ACCEL_AUTO] = "auto",
    [VN_ACCEL_KVM] = "kvm",
    [VN_ACCEL_TCG] = "tcg",
};

static const char *const move_state_names[] = {
    [VN_MOVE_MOVING] = "moving",
    [VN_MOVE_SPLIT] = "split",
};

/* Every top-level key; version 1 also had "claim" (the claim is now the placement's). */
static const char *const known_keys[] = {
    "version",        "name",       "status",      "created",       "config",      "accel",
    "qemu_pid",       "qemu_start", "creator_pid", "creator_start", "runtime_dir", "qmp_socket",
    "console_socket", "log",        "spec",        "placement",     "extra",       NULL,
};
static const char *const v1_keys[] = {
    "version",     "name",       "status",         "created",     "config",
    "accel",       "qemu_pid",   "qemu_start",     "creator_pid", "creator_start",
    "runtime_dir", "qmp_socket", "console_socket", "log",         "spec",
    "placement",   "extra",      "claim",          NULL,
};
static const char *const extra_keys[] = {
    "mem_dir",       "console_log", "accel_reason",  "balance", "balance_fixed", "migrations",
    "vcpu_affinity", "watcher_pid", "watcher_start", "stopped", "stopped_at",    NULL,
};
static const char *const move_keys[] = {
    "state",   "from",        "to",         "claim",       "reserved", "pid",      "pid_start",
    "started", "pages_total", "pages_done", "pages_moved", "reason",   "resident", NULL,
};
static const char *const pin_keys[] = {"soft", "hard", "soft_nodes", NULL};

const char *vn_domain_status_name(enum vn_domain_status st)
{
    if ((unsigned)st < VN_ARRAY_SIZE(status_names))
        return status_names[st];
    return "unknown";
}

int vn_domain_status_parse(const char *s, enum vn_domain_status *out)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(status_names); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum vn_domain_status)i;
            return 0;
        }
    }
    return -1;
}

bool vn_record_enums_valid_(const struct vn_domain_record *r)
{
    for (int i = 0; i < r->nmoves; i++)
        if ((unsigned)r->moves[i].state >= VN_ARRAY_SIZE(move_state_names))
            return false;
    return (unsigned)r->status < VN_ARRAY_SIZE(status_names) &&
           (unsigned)r->accel < VN_ARRAY_SIZE(accel_names);
}

/* ---- writing ------------------------------------------------------------------------------ */

static struct json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static struct json_object *cpulist_or_null(const struct vn_bitmap *b, bool have)
{
    char buf[VN_BITMAP_BITS * 4];
    if (!have)
        return NULL;
    vn_bitmap_format_list(b, buf, sizeof buf);
    return json_object_new_string(buf);
}

/* [{"node", "mib"}]: where a move counts memory. */
static struct json_object *shares_json(const struct vn_claim_share *sh, int n)
{
    struct json_object *c = json_object_new_array();
    for (int i = 0; i < n; i++) {
        struct json_object *x = json_object_new_object();
        json_object_object_add(x, "node", json_object_new_int(sh[i].node));
        json_object_object_add(x, "mib", json_object_new_int64((int64_t)sh[i].mib));
        json_object_array_add(c, x);
    }
    return c;
}

struct json_object *vn_domain_move_to_json(const struct vn_mem_move *m)
{
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "state", json_object_new_string(move_state_names[m->state]));
    json_object_object_add(e, "from", vn_json_int_list(&m->from));
    json_object_object_add(e, "to", vn_json_int_list(&m->to));
    json_object_object_add(e, "claim", shares_json(m->claim, m->nclaim));
    if (m->nreserved)
        json_object_object_add(e, "reserved", shares_json(m->reserved, m->nreserved));
    json_object_object_add(e, "pid", json_object_new_int(m->pid));
    json_object_object_add(e, "pid_start", json_object_new_uint64(m->pid_start));
    json_object_object_add(e, "started", json_object_new_int64(m->started));
    if (m->state == VN_MOVE_SPLIT) {
        json_object_object_add(e, "pages_total", json_object_new_uint64(m->pages_total));
        json_object_object_add(e, "pages_done", json_object_new_uint64(m->pages_done));
        json_object_object_add(e, "pages_moved", json_object_new_uint64(m->pages_moved));
        json_object_object_add(e, "reason", json_object_new_string(m->reason));
        struct json_object *res = json_object_new_array();
        for (int i = 0; i < m->nresident; i++) {
            struct json_object *x = json_object_new_object();
            json_object_object_add(x, "node", json_object_new_int(m->resident[i].node));
            json_object_object_add(x, "mib", json_object_new_double(m->resident[i].mib));
            json_object_array_add(res, x);
        }
        json_object_object_add(e, "resident", res);
    }
    return e;
}

static struct json_object *extra_to_json(const struct vn_domain_record *r)
{
    struct json_object *x = json_object_new_object();
    if (r->mem_dir)
        json_object_object_add(x, "mem_dir", json_object_new_string(r->mem_dir));
    if (r->console_log)
        json_object_object_add(x, "console_log", json_object_new_string(r->console_log));
    if (r->accel_reason)
        json_object_object_add(x, "accel_reason", json_object_new_string(r->accel_reason));
    if (r->balance >= 0)
        json_object_object_add(x, "balance", json_object_new_boolean(r->balance));
    if (r->balance_fixed)
        json_object_object_add(x, "balance_fixed", json_object_new_boolean(true));
    if (r->watcher_pid > 0) {
        json_object_object_add(x, "watcher_pid", json_object_new_int(r->watcher_pid));
        json_object_object_add(x, "watcher_start", json_object_new_uint64(r->watcher_start));
    }
    if (r->stopped) {
        json_object_object_add(x, "stopped", json_object_new_string(r->stopped));
        json_object_object_add(x, "stopped_at", json_object_new_int64(r->stopped_at));
    }
    if (r->nmoves) {
        struct json_object *m = json_object_new_object();
        for (int i = 0; i < r->nmoves; i++) {
            char key[24];
            snprintf(key, sizeof key, "%d", r->moves[i].vnode);
            json_object_object_add(m, key, vn_domain_move_to_json(&r->moves[i]));
        }
        json_object_object_add(x, "migrations", m);
    }
    if (r->npins) {
        struct json_object *m = json_object_new_object();
        for (int i = 0; i < r->npins; i++) {
            const struct vn_vcpu_pin *p = &r->pins[i];
            struct json_object *e = json_object_new_object();
            char key[24];
            snprintf(key, sizeof key, "%d", p->vcpu);
            json_object_object_add(e, "soft", cpulist_or_null(&p->soft, p->have_soft));
            json_object_object_add(e, "hard", cpulist_or_null(&p->hard, p->have_hard));
            if (p->have_soft_nodes)
                json_object_object_add(e, "soft_nodes", cpulist_or_null(&p->soft_nodes, true));
            json_object_object_add(m, key, e);
        }
        json_object_object_add(x, "vcpu_affinity", m);
    }
    return x;
}

struct json_object *vn_record_to_json_(const struct vn_domain_record *r)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(VN_RECORD_VERSION));
    json_object_object_add(o, "name", json_object_new_string(r->name));
    json_object_object_add(o, "status", json_object_new_string(vn_domain_status_name(r->status)));
    json_object_object_add(o, "created", json_object_new_int64(r->created));
    json_object_object_add(o, "config", str_or_null(r->config_path));
    json_object_object_add(o, "accel", json_object_new_string(accel_names[r->accel]));
    json_object_object_add(o, "qemu_pid", json_object_new_int(r->qemu_pid));
    json_object_object_add(o, "qemu_start", json_object_new_uint64(r->qemu_start));
    json_object_object_add(o, "creator_pid", json_object_new_int(r->creator_pid));
    json_object_object_add(o, "creator_start", json_object_new_uint64(r->creator_start));
    json_object_object_add(o, "runtime_dir", str_or_null(r->runtime_dir));
    json_object_object_add(o, "qmp_socket", str_or_null(r->qmp_socket));
    json_object_object_add(o, "console_socket", str_or_null(r->console_socket));
    json_object_object_add(o, "log", str_or_null(r->log_path));
    json_object_object_add(o, "spec", r->spec ? vn_spec_to_json(r->spec) : NULL);
    json_object_object_add(o, "placement", r->placement ? vn_render_json(r->placement) : NULL);
    json_object_object_add(o, "extra", extra_to_json(r));
    return o;
}

/* ---- reading ------------------------------------------------------------------------------ */

struct reader {
    const char *path;
    struct json_object *obj;
    struct vn_error *err;
    char where[48]; /* "extra.migrations[\"3\"]: " inside an entry, else "" */
};

static int corrupt(const struct reader *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int corrupt(const struct reader *rd, const char *fmt, ...)
{
    char why[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return vn_error_set(rd->err, "state record '%s' is corrupt: %s%s", rd->path, rd->where, why);
}

/* A reader of obj whose messages start with "PREFIX KEY SUFFIX" (all three may be ""). */
static struct reader sub_reader(const struct reader *rd, struct json_object *obj,
                                const char *prefix, const char *key, const char *suffix)
{
    struct reader sub = {.path = rd->path, .obj = obj, .err = rd->err};
    snprintf(sub.where, sizeof sub.where, "%s%s%s", prefix, key, suffix);
    return sub;
}

static int only_keys(const struct reader *rd, const char *const *keys)
{
    if (!json_object_is_type(rd->obj, json_type_object))
        return corrupt(rd, "it is not a JSON object");
    const char *key = vn_json_unknown_key(rd->obj, keys);
    return key ? corrupt(rd, "unknown key '%s'", key) : 0;
}

static int member(const struct reader *rd, const char *key, enum json_type type, bool nullable,
                  struct json_object **out)
{
    static const char *const type_names[] = {
        [json_type_null] = "null",        [json_type_boolean] = "a boolean",
        [json_type_double] = "a number",  [json_type_int] = "an integer",
        [json_type_object] = "an object", [json_type_array] = "an array",
        [json_type_string] = "a string",
    };
    if (!json_object_object_get_ex(rd->obj, key, out))
        return corrupt(rd, "key '%s' is missing", key);
    if (!*out && nullable)
        return 0;
    if (!json_object_is_type(*out, type))
        return corrupt(rd, "key '%s' must be %s%s", key, type_names[type],
                       nullable ? " or null" : "");
    return 0;
}

/* An optional member: absent is fine (*out NULL), present must have the type. */
static int optional(const struct reader *rd, const char *key, enum json_type type,
                    struct json_object **out)
{
    if (!json_object_object_get_ex(rd->obj, key, out)) {
        *out = NULL;
        return 0;
    }
    return member(rd, key, type, false, out);
}

static int get_int(const struct reader *rd, const char *key, int64_t min, int64_t max, int64_t *out)
{
    struct json_object *v;
    if (member(rd, key, json_type_int, false, &v) < 0)
        return -1;
    int64_t x = json_object_get_int64(v);
    /* json-c keeps integers above INT64_MAX as uint64: those are out of range too. */
    if (x < min || x > max || (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)x))
        return corrupt(rd, "key '%s' is out of range (%s)", key, json_object_to_json_string(v));
    *out = x;
    return 0;
}

static int get_uint(const struct reader *rd, const char *key, uint64_t *out)
{
    struct json_object *v;
    if (member(rd, key, json_type_int, false, &v) < 0)
        return -1;
    if (json_object_get_int64(v) < 0)
        return corrupt(rd, "key '%s' is negative", key);
    *out = json_object_get_uint64(v);
    return 0;
}

static int dup_str(const struct reader *rd, struct json_object *v, char **out)
{
    *out = NULL;
    if (v && !(*out = strdup(json_object_get_string(v))))
        return vn_error_sys(rd->err, ENOMEM, "cannot read state record '%s'", rd->path);
    return 0;
}

static int get_str(const struct reader *rd, const char *key, bool nullable, char **out)
{
    struct json_object *v;
    *out = NULL;
    if (member(rd, key, json_type_string, nullable, &v) < 0)
        return -1;
    return dup_str(rd, v, out);
}

static int get_opt_str(const struct reader *rd, const char *key, char **out)
{
    struct json_object *v;
    if (optional(rd, key, json_type_string, &v) < 0)
        return -1;
    return dup_str(rd, v, out);
}

static int get_opt_bool(const struct reader *rd, const char *key, int *out)
{
    struct json_object *v;
    if (optional(rd, key, json_type_boolean, &v) < 0)
        return -1;
    if (v)
        *out = json_object_get_boolean(v);
    return 0;
}

/* An array of host node numbers, ascending. */
static int get_nodes(const struct reader *rd, const char *key, struct vn_bitmap *b)
{
    struct json_object *a;
    if (member(rd, key, json_type_array, false, &a) < 0)
        return -1;
    vn_bitmap_zero(b);
    int last = -1;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        struct json_object *n = json_object_array_get_idx(a, i);
        int64_t node = json_object_is_type(n, json_type_int) ? json_object_get_int64(n) : -1;
        if (node <= last || node >= VN_BITMAP_BITS)
            return corrupt(rd, "key '%s' must list ascending host node numbers below %d", key,
                           VN_BITMAP_BITS);
        vn_bitmap_set(b, (int)node);
        last = (int)node;
    }
    return 0;
}

/* A cpulist string or null into b; *have says which. */
static int get_cpulist(const struct reader *rd, const char *key, bool nullable, struct vn_bitmap *b,
                       bool *have)
{
    struct json_object *v;
    if (member(rd, key, json_type_string, nullable, &v) < 0)
        return -1;
    *have = v != NULL;
    struct vn_error e = {0};
    if (v && vn_bitmap_parse_list(b, json_object_get_string(v), VN_BITMAP_BITS - 1, &e) < 0)
        return corrupt(rd, "key '%s': %s", key, e.msg);
    return 0;
}

/* The index an entry's key names ("3"), 0..max. */
static int entry_index(const struct reader *rd, const char *what, const char *key, int max)
{
    char *end;
    errno = 0;
    long v = strtol(key, &end, 10);
    if (!*key || *end || errno || v < 0 || v > max || (key[0] == '0' && key[1]))
        return corrupt(rd, "%s key '%s' is not a number 0..%d", what, key, max);
    return (int)v;
}

/* [{"node", "mib": number}] into pairs; ints when want_int (the claim), doubles otherwise. */
static int get_node_mibs(const struct reader *rd, const char *key, bool want_int,
                         struct vn_claim_share *shares, struct vn_move_resident *res, int *n)
{
    struct json_object *a;
    if (member(rd, key, json_type_array, false, &a) < 0)
        return -1;
    size_t len = json_object_array_length(a);
    if (len > VN_MAX_VNODES)
        return corrupt(rd, "key '%s' has %zu entries (at most %d)", key, len, VN_MAX_VNODES);
    for (size_t i = 0; i < len; i++) {
        static const char *const keys[] = {"node", "mib", NULL};
        struct reader e = sub_reader(rd, json_object_array_get_idx(a, i), rd->where, "", "");
        int64_t node;
        struct json_object *mib;
        if (only_keys(&e, keys) < 0 || get_int(&e, "node", 0, VN_BITMAP_BITS - 1, &node) < 0 ||
            member(&e, "mib", want_int ? json_type_int : json_type_double, false, &mib) < 0)
            return -1;
        if (json_object_get_double(mib) < 0)
            return corrupt(rd, "key '%s' has a negative size", key);
        if (want_int)
            shares[i] = (struct vn_claim_share){(int)node, (uint64_t)json_object_get_int64(mib), 0};
        else
            res[i] = (struct vn_move_resident){(int)node, json_object_get_double(mib)};
    }
    *n = (int)len;
    return 0;
}

static int get_move(const struct reader *rd, struct vn_mem_move *m)
{
    VN_CLEANUP_FREE char *st = NULL, *reason = NULL;
    int64_t pid, started;
    if (only_keys(rd, move_keys) < 0 || get_str(rd, "state", false, &st) < 0)
        return -1;
    if (strcmp(st, "moving") == 0)
        m->state = VN_MOVE_MOVING;
    else if (strcmp(st, "split") == 0)
        m->state = VN_MOVE_SPLIT;
    else
        return corrupt(rd, "state '%s' is not one of moving, split", st);
    if (get_nodes(rd, "from", &m->from) < 0 || get_nodes(rd, "to", &m->to) < 0 ||
        get_node_mibs(rd, "claim", true, m->claim, NULL, &m->nclaim) < 0 ||
        (json_object_object_get_ex(rd->obj, "reserved", NULL) &&
         get_node_mibs(rd, "reserved", true, m->reserved, NULL, &m->nreserved) < 0) ||
        get_int(rd, "pid", 0, INT32_MAX, &pid) < 0 ||
        get_uint(rd, "pid_start", &m->pid_start) < 0 ||
        get_int(rd, "started", 0, INT64_MAX, &started) < 0)
        return -1;
    m->pid = (pid_t)pid;
    m->started = started;
    if (m->state != VN_MOVE_SPLIT)
        return 0;
    if (get_uint(rd, "pages_total", &m->pages_total) < 0 ||
        get_uint(rd, "pages_done", &m->pages_done) < 0 ||
        get_uint(rd, "pages_moved", &m->pages_moved) < 0 ||
        get_str(rd, "reason", false, &reason) < 0 ||
        get_node_mibs(rd, "resident", false, NULL, m->resident, &m->nresident) < 0)
        return -1;
    snprintf(m->reason, sizeof m->reason, "%s", reason);
    return 0;
}

static int get_pin(const struct reader *rd, struct vn_vcpu_pin *p)
{
    struct json_object *sn;
    if (only_keys(rd, pin_keys) < 0 || get_cpulist(rd, "soft", true, &p->soft, &p->have_soft) < 0 ||
        get_cpulist(rd, "hard", true, &p->hard, &p->have_hard) < 0 ||
        optional(rd, "soft_nodes", json_type_string, &sn) < 0)
        return -1;
    return sn ? get_cpulist(rd, "soft_nodes", false, &p->soft_nodes, &p->have_soft_nodes) : 0;
}

static int read_moves(const struct reader *rd, struct json_object *moves,
                      struct vn_domain_record *r)
{
    json_object_object_foreach(moves, key, val)
    {
        struct reader e = sub_reader(rd, val, "extra.migrations[\"", key, "\"]: ");
        int vnode = entry_index(rd, "migrations", key, VN_MAX_VNODES - 1);
        if (vnode < 0)
            return -1;
        struct vn_mem_move *m = vn_domain_move_add(r, vnode);
        if (!m)
            return vn_error_sys(rd->err, ENOMEM, "cannot read state record '%s'", rd->path);
        if (get_move(&e, m) < 0)
            return -1;
    }
    return 0;
}

static int read_pins(const struct reader *rd, struct json_object *pins, struct vn_domain_record *r)
{
    json_object_object_foreach(pins, key, val)
    {
        struct reader e = sub_reader(rd, val, "extra.vcpu_affinity[\"", key, "\"]: ");
        int vcpu = entry_index(rd, "vcpu_affinity", key, VN_MAX_VCPUS - 1);
        if (vcpu < 0)
            return -1;
        struct vn_vcpu_pin *p = vn_domain_pin_add(r, vcpu);
        if (!p)
            return vn_error_sys(rd->err, ENOMEM, "cannot read state record '%s'", rd->path);
        if (get_pin(&e, p) < 0)
            return -1;
    }
    return 0;
}

static int get_extra(const struct reader *top, struct vn_domain_record *r)
{
    struct json_object *x, *moves, *pins;
    if (member(top, "extra", json_type_object, false, &x) < 0)
        return -1;
    struct reader rd = sub_reader(top, x, "extra: ", "", "");
    int fixed = 0;
    if (only_keys(&rd, extra_keys) < 0 || get_opt_str(&rd, "mem_dir", &r->mem_dir) < 0 ||
        get_opt_str(&rd, "console_log", &r->console_log) < 0 ||
        get_opt_str(&rd, "accel_reason", &r->accel_reason) < 0 ||
        get_opt_bool(&rd, "balance", &r->balance) < 0 ||
        get_opt_bool(&rd, "balance_fixed", &fixed) < 0 ||
        optional(&rd, "migrations", json_type_object, &moves) < 0 ||
        optional(&rd, "vcpu_affinity", json_type_object, &pins) < 0)
        return -1;
    r->balance_fixed = fixed == 1;
    struct json_object *v;
    int64_t wpid = 0;
    if (optional(&rd, "watcher_pid", json_type_int, &v) < 0 ||
        (v && (get_int(&rd, "watcher_pid", 1, INT32_MAX, &wpid) < 0 ||
               get_uint(&rd, "watcher_start", &r->watcher_start) < 0)))
        return -1;
    r->watcher_pid = (pid_t)wpid;
    if (get_opt_str(&rd, "stopped", &r->stopped) < 0)
        return -1;
    if (r->stopped && get_int(&rd, "stopped_at", 0, INT64_MAX, &r->stopped_at) < 0)
        return -1;
    /* json_object_object_foreach needs an object: absent lists are skipped. */
    if (moves && read_moves(&rd, moves, r) < 0)
        return -1;
    if (pins && read_pins(&rd, pins, r) < 0)
        return -1;
    return 0;
}

/* The spec and the placement, each read back into its owner's struct. */
static int get_spec_placement(const struct reader *rd, struct vn_domain_record *r)
{
    struct json_object *spec, *pl;
    if (member(rd, "spec", json_type_object, true, &spec) < 0 ||
        member(rd, "placement", json_type_object, true, &pl) < 0)
        return -1;
    char label[4200];
    if (spec) {
        snprintf(label, sizeof label, "state record '%s': spec", rd->path);
        struct vn_error e = {0};
        if (!(r->spec = vn_spec_from_json(spec, label, &e)))
            return corrupt(rd, "%s", e.msg);
    }
    if (pl) {
        snprintf(label, sizeof label, "placement");
        struct vn_error e = {0};
        if (!(r->placement = malloc(sizeof *r->placement)))
            return vn_error_sys(rd->err, ENOMEM, "cannot read state record '%s'", rd->path);
        if (vn_placement_from_json(pl, label, r->placement, &e) < 0)
            return corrupt(rd, "%s", e.msg);
    }
    return 0;
}

/* Version 1 kept the claim twice, top-level ("mem_mib") and in the placement ("memory_mib");
 * the top-level one was what placement counted, so it wins. */
static int get_v1_claim(const struct reader *rd, struct vn_domain_record *r)
{
    static const char *const keys[] = {"node", "mem_mib", "vcpus", NULL};
    struct json_object *arr;
    if (member(rd, "claim", json_type_array, false, &arr) < 0)
        return -1;
    size_t n = json_object_array_length(arr);
    if (n > VN_MAX_VNODES)
        return corrupt(rd, "the claim has %zu entries (at most %d)", n, VN_MAX_VNODES);
    struct vn_claim c = {0};
    for (size_t i = 0; i < n; i++) {
        char where[32];
        snprintf(where, sizeof where, "claim entry %zu: ", i);
        struct reader sub = sub_reader(rd, json_object_array_get_idx(arr, i), where, "", "");
        int64_t node, vcpus;
        uint64_t mem;
        if (only_keys(&sub, keys) < 0 || get_int(&sub, "node", 0, 1 << 20, &node) < 0 ||
            get_uint(&sub, "mem_mib", &mem) < 0 ||
            get_int(&sub, "vcpus", 0, VN_MAX_VCPUS, &vcpus) < 0)
            return -1;
        for (int j = 0; j < c.n; j++)
            if (c.v[j].node == node)
                return corrupt(rd, "the claim lists host node %d twice", (int)node);
        c.v[c.n++] = (struct vn_claim_node){(int)node, mem, (int)vcpus};
    }
    if (!r->placement && c.n)
        return corrupt(rd, "a version 1 record with a claim but no placement");
    if (r->placement)
        r->placement->claim = c;
    return 0;
}

int vn_record_from_json_(struct json_object *obj, const char *path, const char *name,
                         struct vn_domain_record *r, struct vn_error *err)
{
    struct reader top = {.path = path, .obj = obj, .err = err};
    const struct reader *rd = &top;
    int64_t version, pid, cpid;
    if (!json_object_is_type(obj, json_type_object))
        return corrupt(rd, "it is not a JSON object");
    if (get_int(rd, "version", 0, INT32_MAX, &version) < 0)
        return -1;
    if (version != 1 && version != VN_RECORD_VERSION)
        return corrupt(rd,
                       "version %" PRId64 " is not supported (this vnuma reads versions 1 and %d)",
                       version, VN_RECORD_VERSION);
    /* Version 1 also had the top-level claim. */
    if (only_keys(rd, version == 1 ? v1_keys : known_keys) < 0)
        return -1;
    VN_CLEANUP_FREE char *rname = NULL, *status = NULL, *accel = NULL;
    if (get_str(rd, "name", false, &rname) < 0)
        return -1;
    if (strcmp(rname, name) != 0)
        return corrupt(rd, "it names domain '%s'", rname);
    snprintf(r->name, sizeof r->name, "%s", name);
    if (get_str(rd, "status", false, &status) < 0)
        return -1;
    if (vn_domain_status_parse(status, &r->status) < 0)
        return corrupt(rd,
                       "status '%s' is not one of creating, running, paused, migrating, "
                       "stopping",
                       status);
    if (get_str(rd, "accel", false, &accel) < 0)
        return -1;
    bool found = false;
    for (size_t i = 0; i < VN_ARRAY_SIZE(accel_names) && !found; i++) {
        if (strcmp(accel, accel_names[i]) == 0) {
            r->accel = (enum vn_accel)i;
            found = true;
        }
    }
    if (!found)
        return corrupt(rd, "accel '%s' is not one of auto, kvm, tcg", accel);
    if (get_int(rd, "created", 0, INT64_MAX, &r->created) < 0 ||
        get_int(rd, "qemu_pid", 0, INT32_MAX, &pid) < 0 ||
        get_uint(rd, "qemu_start", &r->qemu_start) < 0 ||
        get_int(rd, "creator_pid", 0, INT32_MAX, &cpid) < 0 ||
        get_uint(rd, "creator_start", &r->creator_start) < 0 ||
        get_str(rd, "config", true, &r->config_path) < 0 ||
        get_str(rd, "runtime_dir", true, &r->runtime_dir) < 0 ||
        get_str(rd, "qmp_socket", true, &r->qmp_socket) < 0 ||
        get_str(rd, "console_socket", true, &r->console_socket) < 0 ||
        get_str(rd, "log", true, &r->log_path) < 0 || get_spec_placement(rd, r) < 0 ||
        (version == 1 && get_v1_claim(rd, r) < 0) || get_extra(rd, r) < 0)
        return -1;
    r->qemu_pid = (pid_t)pid;
    r->creator_pid = (pid_t)cpid;
    return 0;
}
