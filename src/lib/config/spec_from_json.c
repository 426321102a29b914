/* The normalised spec read back from its JSON (vn_spec_to_json's output, as a domain record
 * stores it): the exact inverse, and strict.  Every member vn_spec_to_json writes must be
 * there with its type, no other member may be, cpulists must be in their canonical form and
 * numbers in range, so that from_json followed by to_json gives the same JSON.  What the JSON
 * does not carry (where each value was written) is left 0. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jsondoc.h"
#include "config.h"

static const char *const top_keys[] = {
    "file",
    "name",
    "memory_mib",
    "maxmem_mib",
    "vcpus",
    "maxvcpus",
    "cpus",
    "cpus_soft",
    "vnuma",
    "kernel",
    "ramdisk",
    "cmdline",
    "disks",
    "vifs",
    "pci",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "accel",
    "memory_policy",
    "affinity_group",
    "anti_affinity_group",
    "balance",
    NULL,
};
static const char *const aff_keys[] = {"per_vcpu", "resolved", "sets", NULL};
static const char *const set_keys[] = {"text", "cpus", NULL};
static const char *const vnuma_keys[] = {"form", "vnodes", NULL};
static const char *const vnode_keys[] = {"vnode", "memory_mib", "pnode",
                                         "vcpus", "distances",  NULL};
static const char *const vnc_keys[] = {"listen", "display", "remote", "password", NULL};
static const char *const vif_keys[] = {"spec", "devid", "type",    "bridge",
                                       "mac",  "model", "vifname", NULL};
static const char *const disk_keys[] = {"spec",     "target", "vdev", "format",
                                        "readonly", "cdrom",  NULL};

struct rd {
    const char *name; /* labels messages */
    struct vn_error *err;
};

static int fail(struct rd *r, const char *what, const char *problem)
{
    return vn_error_set(r->err, "The spec JSON of '%s' is not valid: %s %s.", r->name, what,
                        problem);
}

/* o is an object with exactly the members keys, and optional (NULL: none) if it is there. */
static int check_keys_opt(struct rd *r, struct json_object *o, const char *const *keys,
                          const char *optional, const char *what)
{
    if (!o || !json_object_is_type(o, json_type_object))
        return fail(r, what, "is not an object");
    size_t nkeys = optional && json_object_object_get_ex(o, optional, NULL) ? 1 : 0;
    for (size_t i = 0; keys[i]; i++, nkeys++)
        if (!json_object_object_get_ex(o, keys[i], NULL)) {
            char msg[128];
            snprintf(msg, sizeof msg, "lacks the member '%s'", keys[i]);
            return fail(r, what, msg);
        }
    if ((size_t)json_object_object_length(o) != nkeys) {
        /* The allowed names with the optional one, so that it is not taken for unknown. */
        const char *all[64];
        size_t n = 0;
        for (; keys[n] && n < 62; n++)
            all[n] = keys[n];
        all[n++] = optional;
        all[n] = NULL;
        const char *key = vn_json_unknown_key(o, all);
        if (key) {
            char msg[128];
            snprintf(msg, sizeof msg, "has an unknown member '%.60s'", key);
            return fail(r, what, msg);
        }
        return fail(r, what, "has a duplicate member");
    }
    return 0;
}

static int check_keys(struct rd *r, struct json_object *o, const char *const *keys,
                      const char *what)
{
    return check_keys_opt(r, o, keys, NULL, what);
}

static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

/* A string or null into *out (malloc'ed; NULL for null).  nullable false: null is an error. */
static int get_str(struct rd *r, struct json_object *o, const char *key, bool nullable, char **out)
{
    struct json_object *v = member(o, key);
    *out = NULL;
    if (!v) {
        if (nullable)
            return 0;
        return fail(r, key, "is null");
    }
    if (!json_object_is_type(v, json_type_string))
        return fail(r, key, "is not a string");
    const char *s = json_object_get_string(v);
    if (strlen(s) != (size_t)json_object_get_string_len(v))
        return fail(r, key, "holds a NUL character");
    *out = strdup(s);
    if (!*out)
        return vn_error_set(r->err, "Out of memory reading the spec JSON of '%s'.", r->name);
    return 0;
}

static int get_bool(struct rd *r, struct json_object *o, const char *key, bool *out)
{
    struct json_object *v = member(o, key);
    if (!v || !json_object_is_type(v, json_type_boolean))
        return fail(r, key, "is not true or false");
    *out = json_object_get_boolean(v);
    return 0;
}

/* An integer in [lo, hi]. */
static int get_int(struct rd *r, struct json_object *o, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
    struct json_object *v = member(o, key);
    if (!v || !json_object_is_type(v, json_type_int))
        return fail(r, key, "is not an integer");
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno || x < lo || x > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "is out of range (%lld to %lld)", (long long)lo, (long long)hi);
        return fail(r, key, msg);
    }
    *out = x;
    return 0;
}

/* A MiB count: vn_spec_to_json writes them as unsigned 64-bit numbers. */
static int get_mib(struct rd *r, struct json_object *o, const char *key, uint64_t *out)
{
    struct json_object *v = member(o, key);
    if (!v || !json_object_is_type(v, json_type_int))
        return fail(r, key, "is not an integer");
    errno = 0;
    uint64_t x = json_object_get_uint64(v);
    if (errno || (x == 0 && json_object_get_int64(v) < 0))
        return fail(r, key, "is negative or out of range");
    *out = x;
    return 0;
}

static int get_enum(struct rd *r, struct json_object *o, const char *key, const char *const *names,
                    int n, int *out)
{
    struct json_object *v = member(o, key);
    if (!v || !json_object_is_type(v, json_type_string))
        return fail(r, key, "is not a string");
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], json_object_get_string(v)) == 0) {
            *out = i;
            return 0;
        }
    return fail(r, key, "names an unknown value");
}

/* A cpulist in the canonical form vn_bitmap_format_list writes ("" for the empty set). */
static int get_cpulist(struct rd *r, struct json_object *o, const char *key, struct vn_bitmap *b)
{
    struct json_object *v = member(o, key);
    vn_bitmap_zero(b);
    if (!v || !json_object_is_type(v, json_type_string))
        return fail(r, key, "is not a string");
    const char *s = json_object_get_string(v);
    if (!*s)
        return 0;
    struct vn_error e2 = {0};
    if (vn_bitmap_parse_list(b, s, VN_BITMAP_BITS - 1, &e2) < 0)
        return fail(r, key, "is not a cpulist");
    char buf[1024];
    vn_bitmap_format_list(b, buf, sizeof buf);
    if (strcmp(buf, s) != 0)
        return fail(r, key, "is not a cpulist in canonical form");
    return 0;
}

static int affinity(struct rd *r, struct json_object *o, const char *key, struct vn_affinity *a)
{
    struct json_object *v = member(o, key);
    memset(a, 0, sizeof *a);
    if (!v)
        return 0; /* not given */
    if (check_keys(r, v, aff_keys, key) < 0 || get_bool(r, v, "per_vcpu", &a->per_vcpu) < 0 ||
        get_bool(r, v, "resolved", &a->resolved) < 0)
        return -1;
    struct json_object *sets = member(v, "sets");
    if (!sets || !json_object_is_type(sets, json_type_array))
        return fail(r, key, "has no array of sets");
    size_t n = json_object_array_length(sets);
    if (n < 1 || n > VN_MAX_VCPUS)
        return fail(r, key, "has no sets or too many");
    a->sets = calloc(n, sizeof *a->sets);
    a->text = calloc(n, sizeof *a->text);
    if (!a->sets || !a->text)
        return vn_error_set(r->err, "Out of memory reading the spec JSON of '%s'.", r->name);
    a->nsets = (int)n;
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(sets, i);
        if (check_keys(r, s, set_keys, key) < 0 || get_str(r, s, "text", false, &a->text[i]) < 0 ||
            get_cpulist(r, s, "cpus", &a->sets[i]) < 0)
            return -1;
    }
    return 0;
}

static int vnuma(struct rd *r, struct json_object *o, struct vn_vm_spec *spec)
{
    struct json_object *v = member(o, "vnuma");
    if (!v) {
        spec->nvnodes = 0;
        spec->vnuma_form = VN_VNUMA_NONE;
        return 0;
    }
    if (check_keys(r, v, vnuma_keys, "vnuma") < 0)
        return -1;
    int form;
    static const char *const forms[] = {"vnuma", "vnodes"};
    if (get_enum(r, v, "form", forms, 2, &form) < 0)
        return -1;
    spec->vnuma_form = form == 0 ? VN_VNUMA_LIST : VN_VNUMA_LEGACY;
    struct json_object *nodes = member(v, "vnodes");
    if (!nodes || !json_object_is_type(nodes, json_type_array))
        return fail(r, "vnuma", "has no array of vnodes");
    size_t n = json_object_array_length(nodes);
    if (n < 1 || n > VN_MAX_VNODES)
        return fail(r, "vnuma.vnodes", "has no vnodes or too many");
    spec->nvnodes = (int)n;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(nodes, i);
        struct vn_vnode *vn = &spec->vnodes[i];
        int64_t idx;
        if (check_keys(r, e, vnode_keys, "a vnode") < 0 ||
            get_int(r, e, "vnode", (int64_t)i, (int64_t)i, &idx) < 0 ||
            get_mib(r, e, "memory_mib", &vn->mem_mib) < 0 ||
            get_cpulist(r, e, "vcpus", &vn->vcpus) < 0)
            return -1;
        vn->pnode = -1;
        if (member(e, "pnode")) {
            int64_t p;
            if (get_int(r, e, "pnode", 0, VN_BITMAP_BITS - 1, &p) < 0)
                return -1;
            vn->pnode = (int)p;
        }
        struct json_object *row = member(e, "distances");
        if (!row || !json_object_is_type(row, json_type_array) ||
            json_object_array_length(row) != n)
            return fail(r, "a vnode's distances", "are not an array of one per vnode");
        for (size_t j = 0; j < n; j++) {
            struct json_object *d = json_object_array_get_idx(row, j);
            if (!d || !json_object_is_type(d, json_type_int))
                return fail(r, "a vnode's distances", "are not integers");
            errno = 0;
            int64_t x = json_object_get_int64(d);
            if (errno || x < INT32_MIN || x > INT32_MAX)
                return fail(r, "a vnode's distances", "are out of range");
            spec->vdist[i][j] = (int)x;
        }
    }
    return 0;
}

static int strings(struct rd *r, struct json_object *o, const char *key, char ***out, int *n)
{
    struct json_object *a = member(o, key);
    *out = NULL;
    *n = 0;
    if (!a || !json_object_is_type(a, json_type_array))
        return fail(r, key, "is not an array");
    size_t len = json_object_array_length(a);
    if (len > 4096)
        return fail(r, key, "has too many entries");
    if (len == 0)
        return 0;
    *out = calloc(len, sizeof **out);
    if (!*out)
        return vn_error_set(r->err, "Out of memory reading the spec JSON of '%s'.", r->name);
    for (size_t i = 0; i < len; i++) {
        struct json_object *s = json_object_array_get_idx(a, i);
        if (!s || !json_object_is_type(s, json_type_string))
            return fail(r, key, "holds something other than strings");
        const char *t = json_object_get_string(s);
        if (strlen(t) != (size_t)json_object_get_string_len(s))
            return fail(r, key, "holds a NUL character");
        (*out)[i] = strdup(t);
        if (!(*out)[i])
            return vn_error_set(r->err, "Out of memory reading the spec JSON of '%s'.", r->name);
        (*n)++;
    }
    return 0;
}

static int disks(struct rd *r, struct json_object *o, struct vn_vm_spec *spec)
{
    struct json_object *a = member(o, "disks");
    if (!a || !json_object_is_type(a, json_type_array))
        return fail(r, "disks", "is not an array");
    size_t len = json_object_array_length(a);
    if (len > 4096)
        return fail(r, "disks", "has too many entries");
    if (len == 0)
        return 0;
    spec->disks = calloc(len, sizeof *spec->disks);
    if (!spec->disks)
        return vn_error_set(r->err, "Out of memory reading the spec JSON of '%s'.", r->name);
    for (size_t i = 0; i < len; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        struct vn_disk *d = &spec->disks[i];
        spec->ndisks++;
        if (check_keys(r, e, disk_keys, "a disk") < 0 ||
            get_str(r, e, "spec", false, &d->spec) < 0 ||
            get_str(r, e, "target", true, &d->target) < 0 ||
            get_str(r, e, "vdev", true, &d->vdev) < 0 ||
            get_str(r, e, "format", true, &d->format) < 0 ||
            get_bool(r, e, "readonly", &d->readonly) < 0 || get_bool(r, e, "cdrom", &d->cdrom) < 0)
            return -1;
        /* a record's format is what create decided (written or probed): never probed again */
        d->format_given = d->format != NULL;
    }
    return 0;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A vif: its xl string parsed again by the config's own parser (so every check of a config
 * holds for a record too), and the typed members must say what that parse says.  A plain
 * string is the form of records written before vifs were typed. */
static int vif(struct rd *r, struct json_object *e, int i, struct vn_vif *out)
{
    struct vn_error e2 = {0};
    if (json_object_is_type(e, json_type_string)) {
        const char *t = json_object_get_string(e);
        if (strlen(t) != (size_t)json_object_get_string_len(e))
            return fail(r, "a vif", "holds a NUL character");
        if (vn_vif_parse(t, i, out, NULL, NULL, &e2) < 0)
            return vn_error_set(r->err, "The spec JSON of '%s' is not valid: vif '%.100s': %s",
                                r->name, t, e2.msg);
        return 0;
    }
    char *spec = NULL, *bridge = NULL, *mac = NULL, *vifname = NULL;
    int64_t devid;
    int type, model;
    static const char *const types[] = {"bridge", "user"};
    static const char *const models[] = {"virtio", "e1000", "rtl8139"};
    int rc = -1;
    if (check_keys(r, e, vif_keys, "a vif") < 0 || get_str(r, e, "spec", false, &spec) < 0 ||
        get_int(r, e, "devid", 0, 65535, &devid) < 0 ||
        get_enum(r, e, "type", types, 2, &type) < 0 || get_str(r, e, "bridge", true, &bridge) < 0 ||
        get_str(r, e, "mac", true, &mac) < 0 || get_str(r, e, "vifname", true, &vifname) < 0 ||
        get_enum(r, e, "model", models, 3, &model) < 0)
        goto out;
    if (vn_vif_parse(spec, (int)devid, out, NULL, NULL, &e2) < 0) {
        vn_error_set(r->err, "The spec JSON of '%s' is not valid: vif '%.100s': %s", r->name, spec,
                     e2.msg);
        goto out;
    }
    if (out->devid != devid || (int)out->type != type || (int)out->model != model ||
        !same_str(out->bridge, bridge) || !same_str(out->mac, mac) ||
        !same_str(out->vifname, vifname)) {
        vn_vif_clear(out);
        fail(r, "a vif", "says something other than its spec string");
        goto out;
    }
    rc = 0;
out:
    free(spec);
    free(bridge);
    free(mac);
    free(vifname);
    return rc;
}

static int vif_devid_cmp(const void *a, const void *b)
{
    const struct vn_vif *x = a, *y = b;
    return (x->devid > y->devid) - (x->devid < y->devid);
}

static int vifs(struct rd *r, struct json_object *o, struct vn_vm_spec *spec)
{
    struct json_object *a = member(o, "vifs");
    if (!a || !json_object_is_type(a, json_type_array))
        return fail(r, "vifs", "is not an array");
    size_t len = json_object_array_length(a);
    if (len > VN_MAX_DEVICES)
        return fail(r, "vifs", "has too many entries");
    if (len == 0)
        return 0;
    spec->vifs = calloc(len, sizeof *spec->vifs);
    if (!spec->vifs)
        return vn_error_set(r->err, "Out of memory reading the spec JSON of '%s'.", r->name);
    for (size_t i = 0; i < len; i++) {
        if (vif(r, json_object_array_get_idx(a, i), (int)i, &spec->vifs[i]) < 0)
            return -1;
        spec->nvifs++;
    }
    /* in devid order, as the config gives them (an old record's strings are in file order) */
    qsort(spec->vifs, len, sizeof *spec->vifs, vif_devid_cmp);
    for (size_t i = 1; i < len; i++)
        if (spec->vifs[i - 1].devid == spec->vifs[i].devid)
            return fail(r, "vifs", "have a devid twice");
    return 0;
}

/* The optional "vnc" member (absent: no VNC, as in records from before it existed).  The
 * password itself is never in the JSON, only whether there is one. */
static int vnc(struct rd *r, struct json_object *o, struct vn_vm_spec *spec)
{
    struct json_object *v = member(o, "vnc");
    if (!v)
        return 0;
    int64_t d;
    if (check_keys(r, v, vnc_keys, "vnc") < 0 ||
        get_str(r, v, "listen", true, &spec->vnc.listen) < 0 ||
        get_int(r, v, "display", 0, 65535 - 5900, &d) < 0 ||
        get_bool(r, v, "remote", &spec->vnc.remote) < 0 ||
        get_bool(r, v, "password", &spec->vnc.has_password) < 0)
        return -1;
    spec->vnc.enabled = true;
    spec->vnc.display = (int)d;
    return 0;
}

static int read_spec(struct rd *r, struct json_object *o, struct vn_vm_spec *spec)
{
    if (check_keys_opt(r, o, top_keys, "vnc", "the spec") < 0 || vnc(r, o, spec) < 0)
        return -1;
    int64_t x;
    int e1, e2, e3, acc, mp;
    if (get_str(r, o, "file", true, &spec->file) < 0 ||
        get_str(r, o, "name", true, &spec->name) < 0 ||
        get_mib(r, o, "memory_mib", &spec->memory_mib) < 0 ||
        get_mib(r, o, "maxmem_mib", &spec->maxmem_mib) < 0)
        return -1;
    if (get_int(r, o, "vcpus", INT32_MIN, INT32_MAX, &x) < 0)
        return -1;
    spec->vcpus = (int)x;
    if (get_int(r, o, "maxvcpus", INT32_MIN, INT32_MAX, &x) < 0)
        return -1;
    spec->maxvcpus = (int)x;
    if (affinity(r, o, "cpus", &spec->cpus) < 0 ||
        affinity(r, o, "cpus_soft", &spec->cpus_soft) < 0 || vnuma(r, o, spec) < 0 ||
        get_str(r, o, "kernel", true, &spec->kernel) < 0 ||
        get_str(r, o, "ramdisk", true, &spec->ramdisk) < 0 ||
        get_str(r, o, "cmdline", true, &spec->cmdline) < 0 || disks(r, o, spec) < 0 ||
        vifs(r, o, spec) < 0 || strings(r, o, "pci", &spec->pci, &spec->npci) < 0 ||
        get_enum(r, o, "on_poweroff", vn_action_names, VN_ACTION_NAMES, &e1) < 0 ||
        get_enum(r, o, "on_reboot", vn_action_names, VN_ACTION_NAMES, &e2) < 0 ||
        get_enum(r, o, "on_crash", vn_action_names, VN_ACTION_NAMES, &e3) < 0 ||
        get_enum(r, o, "accel", vn_accel_names, VN_ACCEL_NAMES, &acc) < 0 ||
        get_enum(r, o, "memory_policy", vn_mempolicy_names, VN_MEMPOLICY_NAMES, &mp) < 0 ||
        get_str(r, o, "affinity_group", true, &spec->affinity_group) < 0 ||
        get_str(r, o, "anti_affinity_group", true, &spec->anti_affinity_group) < 0 ||
        get_bool(r, o, "balance", &spec->balance) < 0)
        return -1;
    spec->on_poweroff = (enum vn_action)e1;
    spec->on_reboot = (enum vn_action)e2;
    spec->on_crash = (enum vn_action)e3;
    spec->accel = (enum vn_accel)acc;
    spec->mempolicy = (enum vn_mempolicy)mp;
    return 0;
}

struct vn_vm_spec *vn_spec_from_json(struct json_object *o, const char *name, struct vn_error *err)
{
    struct rd r = {.name = name ? name : "?", .err = err};
    struct vn_vm_spec *spec = calloc(1, sizeof *spec);
    if (!spec) {
        vn_error_set(err, "Out of memory reading the spec JSON of '%s'.", r.name);
        return NULL;
    }
    if (read_spec(&r, o, spec) < 0) {
        vn_spec_free(spec);
        return NULL;
    }
    return spec;
}

struct vn_vm_spec *vn_spec_clone(const struct vn_vm_spec *spec, struct vn_error *err)
{
    struct json_object *o = vn_spec_to_json(spec);
    if (!o) {
        vn_error_sys(err, ENOMEM, "cannot copy the spec of '%s'", spec->name);
        return NULL;
    }
    struct vn_vm_spec *copy = vn_spec_from_json(o, spec->name, err);
    json_object_put(o);
    return copy;
}
