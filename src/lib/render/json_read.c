/* A placement read back from its JSON (vn_render_json's output, as a domain record stores it):
 * the exact inverse, and strict.  Every member vn_render_json writes must be there with its
 * type and no other, sets must be canonical cpulists and numbers in range, so that reading and
 * rendering again gives the same JSON.  Messages name the JSON path ("vnodes[1].pnodes"). */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../util/jsondoc.h"
#include "render_int.h"

struct rd {
    const char *label; /* "state record 'x.json': placement" */
    struct vn_error *err;
};

static int bad(const struct rd *rd, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(const struct rd *rd, const char *path, const char *fmt, ...)
{
    char why[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return vn_error_set(rd->err, "%s: %s%s%s", rd->label, path, *path ? ": " : "", why);
}

/* o has exactly the keys of `keys` (NULL-terminated). */
static int only_keys(const struct rd *rd, const char *path, struct json_object *o,
                     const char *const *keys)
{
    if (!json_object_is_type(o, json_type_object))
        return bad(rd, path, "must be an object");
    const char *key = vn_json_unknown_key(o, keys);
    return key ? bad(rd, path, "unknown key '%s'", key) : 0;
}

static int member(const struct rd *rd, const char *path, struct json_object *o, const char *key,
                  enum json_type type, bool nullable, struct json_object **out)
{
    if (!json_object_object_get_ex(o, key, out))
        return bad(rd, path, "key '%s' is missing", key);
    if ((!*out && nullable) || json_object_is_type(*out, type))
        return 0;
    return bad(rd, path, "key '%s' has the wrong type", key);
}

static int get_int(const struct rd *rd, const char *path, struct json_object *o, const char *key,
                   int64_t min, int64_t max, int64_t *out)
{
    struct json_object *v;
    if (member(rd, path, o, key, json_type_int, false, &v) < 0)
        return -1;
    *out = json_object_get_int64(v);
    if (*out < min || *out > max || (*out == INT64_MAX && json_object_get_uint64(v) != INT64_MAX))
        return bad(rd, path, "key '%s' is out of range (%s)", key, json_object_to_json_string(v));
    return 0;
}

static int get_bool(const struct rd *rd, const char *path, struct json_object *o, const char *key,
                    bool *out)
{
    struct json_object *v;
    if (member(rd, path, o, key, json_type_boolean, false, &v) < 0)
        return -1;
    *out = json_object_get_boolean(v);
    return 0;
}

/* A canonical cpulist (what vn_render_list writes) into b; "" is the empty set (the vCPUs of
 * a CPU-less vnode). */
static int get_list(const struct rd *rd, const char *path, struct json_object *v, const char *key,
                    struct vn_bitmap *b)
{
    struct vn_error e = {0};
    const char *s = json_object_get_string(v);
    char back[VN_BITMAP_BITS * 4];
    vn_bitmap_zero(b);
    if (!*s)
        return 0;
    if (vn_bitmap_parse_list(b, s, VN_BITMAP_BITS - 1, &e) < 0)
        return bad(rd, path, "key '%s': %s", key, e.msg);
    if (strcmp(vn_render_list(b, back, sizeof back), s) != 0)
        return bad(rd, path, "key '%s' is not in canonical form ('%s', not '%s')", key, back, s);
    return 0;
}

/* A set or null: the index of the set in p->sets (added when new), or -1 for null. */
static int get_slot(const struct rd *rd, const char *path, struct json_object *o, const char *key,
                    struct vn_placement *p, int *slot)
{
    struct json_object *v;
    if (member(rd, path, o, key, json_type_string, true, &v) < 0)
        return -1;
    *slot = -1;
    if (!v)
        return 0;
    struct vn_bitmap b;
    if (get_list(rd, path, v, key, &b) < 0)
        return -1;
    if ((*slot = vn_placement_add_set(p, &b)) < 0)
        return bad(rd, path, "more than %d different CPU sets", VN_PLACE_MAX_SETS);
    return 0;
}

static int get_policy(const struct rd *rd, const char *path, struct json_object *o,
                      enum vn_mempolicy *out)
{
    struct json_object *v;
    if (member(rd, path, o, "policy", json_type_string, false, &v) < 0)
        return -1;
    const enum vn_mempolicy all[] = {VN_MEMPOLICY_BIND, VN_MEMPOLICY_PREFERRED,
                                     VN_MEMPOLICY_INTERLEAVE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(json_object_get_string(v), vn_render_qemu_policy(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return bad(rd, path, "policy '%s' is not one of bind, preferred, interleave",
               json_object_get_string(v));
}

static int get_vnode(const struct rd *rd, struct json_object *o, int i, struct vn_placement *p)
{
    static const char *const keys[] = {"id",   "pnodes", "memory_mib", "policy", "vcpus",
                                       "soft", "hard",   "distances",  NULL};
    char path[48];
    snprintf(path, sizeof path, "vnodes[%d]", i);
    struct vn_place_vnode *vn = &p->vnodes[i];
    struct json_object *pn, *vc, *d;
    int64_t id, mem;
    if (only_keys(rd, path, o, keys) < 0 || get_int(rd, path, o, "id", 0, VN_MAX_VNODES, &id) < 0 ||
        get_int(rd, path, o, "memory_mib", 0, INT64_MAX, &mem) < 0 ||
        get_policy(rd, path, o, &vn->policy) < 0 ||
        member(rd, path, o, "pnodes", json_type_array, false, &pn) < 0 ||
        member(rd, path, o, "vcpus", json_type_string, false, &vc) < 0 ||
        get_list(rd, path, vc, "vcpus", &vn->vcpus) < 0 ||
        get_slot(rd, path, o, "soft", p, &vn->soft) < 0 ||
        get_slot(rd, path, o, "hard", p, &vn->hard) < 0 ||
        member(rd, path, o, "distances", json_type_array, false, &d) < 0)
        return -1;
    if (id != i)
        return bad(rd, path, "its id is %d", (int)id);
    vn->mem_mib = (uint64_t)mem;
    vn_bitmap_zero(&vn->pnodes);
    int last = -1;
    for (size_t k = 0; k < json_object_array_length(pn); k++) {
        struct json_object *n = json_object_array_get_idx(pn, k);
        int64_t node = json_object_is_type(n, json_type_int) ? json_object_get_int64(n) : -1;
        if (node <= last || node >= VN_BITMAP_BITS)
            return bad(rd, path, "pnodes must be ascending host node numbers below %d",
                       VN_BITMAP_BITS);
        vn_bitmap_set(&vn->pnodes, (int)node);
        last = (int)node;
    }
    if (json_object_array_length(d) != (size_t)p->nvnodes)
        return bad(rd, path, "distances must have %d entries", p->nvnodes);
    for (int j = 0; j < p->nvnodes; j++) {
        struct json_object *x = json_object_array_get_idx(d, (size_t)j);
        int64_t dist = json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : -1;
        if (dist < 0 || dist > 255)
            return bad(rd, path, "distances[%d] must be an integer 0..255", j);
        p->vdist[i][j] = (int)dist;
    }
    return 0;
}

static int get_vcpu(const struct rd *rd, struct json_object *o, int v, struct vn_placement *p)
{
    static const char *const keys[] = {"vcpu", "vnode", "soft", "hard", NULL};
    char path[48];
    snprintf(path, sizeof path, "vcpu_affinity[%d]", v);
    int64_t id, vnode;
    if (only_keys(rd, path, o, keys) < 0 ||
        get_int(rd, path, o, "vcpu", 0, VN_MAX_VCPUS - 1, &id) < 0 ||
        get_int(rd, path, o, "vnode", 0, p->nvnodes - 1, &vnode) < 0 ||
        get_slot(rd, path, o, "soft", p, &p->vcpu_soft[v]) < 0 ||
        get_slot(rd, path, o, "hard", p, &p->vcpu_hard[v]) < 0)
        return -1;
    if (id != v)
        return bad(rd, path, "it names vCPU %d", (int)id);
    p->vcpu_vnode[v] = (int)vnode;
    return 0;
}

int vn_claim_from_json(struct json_object *a, const char *label, struct vn_claim *out,
                       struct vn_error *err)
{
    static const char *const keys[] = {"node", "memory_mib", "vcpus", NULL};
    struct rd rd = {.label = label, .err = err};
    if (!json_object_is_type(a, json_type_array))
        return bad(&rd, "claim", "must be an array");
    size_t n = json_object_array_length(a);
    if (n > VN_MAX_VNODES)
        return bad(&rd, "claim", "has %zu entries (at most %d)", n, VN_MAX_VNODES);
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        char path[32];
        snprintf(path, sizeof path, "claim[%zu]", i);
        int64_t node, mem, vcpus;
        if (only_keys(&rd, path, e, keys) < 0 ||
            get_int(&rd, path, e, "node", 0, VN_BITMAP_BITS - 1, &node) < 0 ||
            get_int(&rd, path, e, "memory_mib", 0, INT64_MAX, &mem) < 0 ||
            get_int(&rd, path, e, "vcpus", 0, VN_MAX_VCPUS, &vcpus) < 0)
            return -1;
        for (int j = 0; j < out->n; j++)
            if (out->v[j].node == node)
                return bad(&rd, path, "host node %d is claimed twice", (int)node);
        out->v[out->n++] = (struct vn_claim_node){(int)node, (uint64_t)mem, (int)vcpus};
    }
    return 0;
}

int vn_placement_from_json(struct json_object *o, const char *label, struct vn_placement *p,
                           struct vn_error *err)
{
    static const char *const keys[] = {
        "algo",  "vcpus",  "memory_mib",    "guest_numa", "generated",
        "score", "vnodes", "vcpu_affinity", "claim",      NULL,
    };
    struct rd rd = {.label = label, .err = err};
    memset(p, 0, sizeof *p);
    struct json_object *algo, *score, *vnodes, *aff, *claim;
    int64_t vcpus, mem;
    if (only_keys(&rd, "", o, keys) < 0 ||
        member(&rd, "", o, "algo", json_type_string, false, &algo) < 0 ||
        get_int(&rd, "", o, "vcpus", 1, VN_MAX_VCPUS, &vcpus) < 0 ||
        get_int(&rd, "", o, "memory_mib", 0, INT64_MAX, &mem) < 0 ||
        get_bool(&rd, "", o, "guest_numa", &p->guest_numa) < 0 ||
        get_bool(&rd, "", o, "generated", &p->generated) < 0 ||
        member(&rd, "", o, "vnodes", json_type_array, false, &vnodes) < 0 ||
        member(&rd, "", o, "vcpu_affinity", json_type_array, false, &aff) < 0 ||
        member(&rd, "", o, "claim", json_type_array, false, &claim) < 0)
        return -1;
    struct vn_error e = {0};
    if (vn_place_algo_parse(json_object_get_string(algo), &p->algo, &e) < 0)
        return bad(&rd, "", "algo: %s", e.msg);
    /* The score is written with four decimals (json-c keeps that text for doubles). */
    if (!json_object_object_get_ex(o, "score", &score) ||
        !(json_object_is_type(score, json_type_double) ||
          json_object_is_type(score, json_type_int)))
        return bad(&rd, "", "key 'score' must be a number");
    p->score = json_object_get_double(score);
    p->vcpus = (int)vcpus;
    p->mem_mib = (uint64_t)mem;
    size_t nv = json_object_array_length(vnodes);
    if (nv < 1 || nv > VN_MAX_VNODES)
        return bad(&rd, "vnodes", "must have 1 to %d entries", VN_MAX_VNODES);
    p->nvnodes = (int)nv;
    for (int i = 0; i < p->nvnodes; i++)
        if (get_vnode(&rd, json_object_array_get_idx(vnodes, (size_t)i), i, p) < 0)
            return -1;
    if (json_object_array_length(aff) != (size_t)p->vcpus)
        return bad(&rd, "vcpu_affinity", "must have one entry per vCPU (%d)", p->vcpus);
    for (int v = 0; v < p->vcpus; v++)
        if (get_vcpu(&rd, json_object_array_get_idx(aff, (size_t)v), v, p) < 0)
            return -1;
    return vn_claim_from_json(claim, label, &p->claim, err);
}
