/* The load file of `vnuma place --load` (docs/PLACEMENT.md), from an already parsed JSON
 * document: reading the file is the caller's business, this stays pure. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "place_int.h"
#include "util/jsondoc.h"

static int get_int(struct json_object *o, const char *key, const char *where, int64_t min,
                   int64_t *out, bool required, struct vn_error *err)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) {
        if (required)
            return vn_error_set(err, "%s has no '%s'.", where, key);
        return 1;
    }
    if (!json_object_is_type(v, json_type_int))
        return vn_error_set(err, "%s: '%s' is not an integer.", where, key);
    *out = json_object_get_int64(v);
    if (*out < min)
        return vn_error_set(err, "%s: '%s' is '%lld', below %lld.", where, key, (long long)*out,
                            (long long)min);
    return 0;
}

static const char *get_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Reads [{"node": N, "memory_mib": M, "vcpus": V}, ...] into c. */
static int read_claim(struct json_object *arr, const char *where, struct vn_claim *c,
                      struct vn_error *err)
{
    if (!json_object_is_type(arr, json_type_array))
        return vn_error_set(err, "%s is not a list of {node, memory_mib, vcpus}.", where);
    c->n = 0;
    size_t n = json_object_array_length(arr);
    if (n > VN_MAX_VNODES)
        return vn_error_set(err, "%s has %zu entries; a claim has at most %d nodes.", where, n,
                            VN_MAX_VNODES);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        char w[160];
        snprintf(w, sizeof w, "%s entry %zu", where, i);
        if (!json_object_is_type(e, json_type_object))
            return vn_error_set(err, "%s is not an object.", w);
        int64_t node, mem = 0, vcpus = 0;
        if (get_int(e, "node", w, 0, &node, true, err) < 0 ||
            get_int(e, "memory_mib", w, 0, &mem, false, err) < 0 ||
            get_int(e, "vcpus", w, 0, &vcpus, false, err) < 0)
            return -1;
        for (int k = 0; k < c->n; k++)
            if (c->v[k].node == node)
                return vn_error_set(err, "%s names node '%lld' a second time.", w, (long long)node);
        c->v[c->n++] = (struct vn_claim_node){(int)node, (uint64_t)mem, (int)vcpus};
    }
    return 0;
}

int vn_host_load_from_json(struct vn_host_load *load, const struct vn_host_topo *topo,
                           struct json_object *doc, struct vn_error *err)
{
    if (!json_object_is_type(doc, json_type_object))
        return vn_error_set(err, "the load document is not a JSON object.");
    json_object_object_foreach(doc, key, val)
    {
        (void)val;
        if (strcmp(key, "reserve") && strcmp(key, "vms") && strcmp(key, "used"))
            return vn_error_set(err, "unknown key '%s' (expected 'reserve', 'vms', 'used').", key);
    }
    struct json_object *v;
    if (json_object_object_get_ex(doc, "reserve", &v)) {
        if (!json_object_is_type(v, json_type_object))
            return vn_error_set(err, "'reserve' is not an object.");
        int64_t mem = 0;
        if (get_int(v, "memory_mib_per_node", "'reserve'", 0, &mem, false, err) < 0)
            return -1;
        struct vn_bitmap cpus;
        vn_bitmap_zero(&cpus);
        const char *list = get_str(v, "cpus");
        if (list && *list && vn_bitmap_parse_list(&cpus, list, VN_BITMAP_BITS - 1, err) < 0)
            return vn_error_prefix(err, "'reserve' cpus '%s'", list);
        if (vn_host_load_reserve(load, topo, (uint64_t)mem, &cpus, err) < 0)
            return -1;
    }
    if (json_object_object_get_ex(doc, "used", &v)) {
        struct vn_claim c;
        if (read_claim(v, "'used'", &c, err) < 0 ||
            vn_host_load_add_claim(load, topo, &c, NULL, NULL, err) < 0)
            return -1;
        load->nvms--; /* memory in use, not a VM */
    }
    if (json_object_object_get_ex(doc, "vms", &v)) {
        if (!json_object_is_type(v, json_type_array))
            return vn_error_set(err, "'vms' is not a list.");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *vm = json_object_array_get_idx(v, i), *cl;
            const char *name =
                json_object_is_type(vm, json_type_object) ? get_str(vm, "name") : NULL;
            char where[160];
            snprintf(where, sizeof where, "VM '%s' (entry %zu of 'vms')", name ? name : "?", i);
            if (!json_object_is_type(vm, json_type_object) ||
                !json_object_object_get_ex(vm, "claim", &cl))
                return vn_error_set(err, "%s has no 'claim'.", where);
            struct vn_claim c;
            char cw[200];
            snprintf(cw, sizeof cw, "the claim of %s", where);
            if (read_claim(cl, cw, &c, err) < 0 ||
                vn_host_load_add_claim(load, topo, &c, get_str(vm, "affinity_group"),
                                       get_str(vm, "anti_affinity_group"), err) < 0)
                return -1;
        }
    }
    return 0;
}

int vn_host_load_from_buf(struct vn_host_load *load, const struct vn_host_topo *topo,
                          const char *buf, size_t len, const char *name, struct vn_error *err)
{
    /* {"vms": [{"claim": [{...}]}]} nests 4 deep; 8 leaves room and no more. */
    struct json_object *doc = vn_json_parse_doc(buf, len, VN_HOST_LOAD_MAX_BYTES, 8, name, err);
    if (!doc)
        return -1;
    int rc = vn_host_load_from_json(load, topo, doc, err);
    json_object_put(doc);
    if (rc < 0)
        return vn_error_prefix(err, "%s", name);
    return 0;
}
