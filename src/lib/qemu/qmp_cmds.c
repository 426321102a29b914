/* QMP commands the toolstack needs, with their replies checked and turned into C values. */
#include "qmp.h"

#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "qmp_int.h"

/* Reads an optional integer member; -1 when absent.  Returns -1 when present but not an
 * integer that fits in an int. */
static int get_id(struct json_object *obj, const char *key, int *out)
{
    struct json_object *v = NULL;
    *out = -1;
    if (!obj || !json_object_object_get_ex(obj, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return -1;
    int64_t x = json_object_get_int64(v);
    if (x < 0 || x > INT32_MAX)
        return -1;
    *out = (int)x;
    return 0;
}

static int cmp_vcpu(const void *a, const void *b)
{
    const struct vn_qmp_vcpu *x = a, *y = b;
    return (x->cpu_index > y->cpu_index) - (x->cpu_index < y->cpu_index);
}

int vn_qmp_query_vcpus(struct vn_qmp *q, int timeout_ms, struct vn_qmp_vcpu **out, int *n,
                       struct vn_error *err)
{
    *out = NULL;
    *n = 0;
    struct json_object *ret = vn_qmp_command(q, "query-cpus-fast", NULL, timeout_ms, err);
    if (!ret)
        return -1;
    if (!json_object_is_type(ret, json_type_array)) {
        json_object_put(ret);
        return vn_qmp_fail_(q, err, "the reply to 'query-cpus-fast' is not an array");
    }
    size_t len = json_object_array_length(ret);
    struct vn_qmp_vcpu *v = calloc(len ? len : 1, sizeof *v);
    if (!v) {
        json_object_put(ret);
        return vn_qmp_fail_(q, err, "out of memory reading the reply to 'query-cpus-fast'");
    }
    for (size_t i = 0; i < len; i++) {
        struct json_object *e = json_object_array_get_idx(ret, i), *props = NULL;
        const char *bad = NULL;
        if (!json_object_is_type(e, json_type_object))
            bad = "is not an object";
        else if (get_id(e, "cpu-index", &v[i].cpu_index) < 0 || v[i].cpu_index < 0)
            bad = "has no valid 'cpu-index'";
        else if (get_id(e, "thread-id", &v[i].thread_id) < 0 || v[i].thread_id <= 0)
            bad = "has no valid 'thread-id'";
        else if (json_object_object_get_ex(e, "props", &props) &&
                 (get_id(props, "node-id", &v[i].node_id) < 0 ||
                  get_id(props, "socket-id", &v[i].socket_id) < 0 ||
                  get_id(props, "core-id", &v[i].core_id) < 0))
            bad = "has an invalid 'props' member";
        else if (!props)
            v[i].node_id = v[i].socket_id = v[i].core_id = -1;
        if (bad) {
            free(v);
            json_object_put(ret);
            return vn_qmp_fail_(q, err, "entry %zu of the reply to 'query-cpus-fast' %s", i, bad);
        }
    }
    json_object_put(ret);
    qsort(v, len, sizeof *v, cmp_vcpu);
    for (size_t i = 1; i < len; i++) {
        if (v[i].cpu_index == v[i - 1].cpu_index) {
            int dup = v[i].cpu_index;
            free(v);
            return vn_qmp_fail_(q, err, "the reply to 'query-cpus-fast' lists vCPU %d twice", dup);
        }
    }
    *out = v;
    *n = (int)len;
    return 0;
}

int vn_qmp_quit(struct vn_qmp *q, int timeout_ms, struct vn_error *err)
{
    struct json_object *ret = vn_qmp_command(q, "quit", NULL, timeout_ms, err);
    if (ret) {
        json_object_put(ret);
        return 0;
    }
    /* QEMU may exit before flushing its reply: the socket closing is the answer we wanted. */
    if (vn_qmp_closed_after_send_(q)) {
        vn_error_clear(err);
        return 0;
    }
    return -1;
}

int vn_qmp_qom_set_int(struct vn_qmp *q, const char *path, const char *property, int64_t value,
                       int timeout_ms, struct vn_error *err)
{
    struct json_object *args = json_object_new_object();
    json_object_object_add(args, "path", json_object_new_string(path));
    json_object_object_add(args, "property", json_object_new_string(property));
    json_object_object_add(args, "value", json_object_new_int64(value));
    struct json_object *ret = vn_qmp_command(q, "qom-set", args, timeout_ms, err);
    json_object_put(args);
    if (!ret)
        return -1;
    json_object_put(ret);
    return 0;
}
