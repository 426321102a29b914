/* vnuma's JSON host format (docs/HOSTS.md): what `vnuma topology --json` prints and
 * --host FILE.json reads.  Reading is strict: every message names the JSON path of the
 * offending value, unknown keys are errors (a typo must not silently become a default),
 * and to_json(from_json(to_json(t))) is byte-identical to to_json(t). */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cleanup.h"
#include "../util/jsondoc.h"
#include "topo_int.h"

#define MAX_MEM_MIB ((int64_t)VN_TOPO_MAX_NODE_MIB)
#define MAX_CORE    (1 << 20)
#define MAX_SMT     255

/* Everything a message needs: the document's label and where the error goes. */
struct jctx {
    const char *name;
    struct vn_error *err;
};

static void json_putp(struct json_object **o)
{
    json_object_put(*o);
}

static int jerr(struct jctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jerr(struct jctx *c, const char *path, const char *fmt, ...)
{
    char msg[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vn_error_set(c->err, "%s: %s: %s", c->name, path, msg);
}

/* A value as the user wrote it, short enough for a message. */
static const char *jtext(struct json_object *v, char *buf, size_t len)
{
    const char *s = json_object_is_type(v, json_type_string)
                        ? json_object_get_string(v)
                        : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    if (strlen(s) < len)
        snprintf(buf, len, "%s", s);
    else
        snprintf(buf, len, "%.*s...", (int)len - 4, s);
    return buf;
}

static int check_keys(struct jctx *c, struct json_object *obj, const char *path,
                      const char *const *keys, const char *expected)
{
    const char *key = vn_json_unknown_key(obj, keys);
    return key ? jerr(c, path, "unknown key '%s'; expected %s", key, expected) : 0;
}

/* *out = obj[key] as an integer in min..max; -1 when missing (required or not: the caller
 * knows), and for a JSON null when nullable (stored as -1). */
static int get_int(struct jctx *c, struct json_object *obj, const char *path, const char *key,
                   int64_t min, int64_t max, bool required, bool nullable, int64_t *out,
                   bool *present)
{
    struct json_object *v;
    char full[96], text[48];
    snprintf(full, sizeof full, "%s.%s", path, key);
    *present = json_object_object_get_ex(obj, key, &v);
    if (!*present) {
        if (required)
            return jerr(c, path, "missing key '%s'", key);
        return 0;
    }
    if (!v && nullable) {
        *out = -1;
        return 0;
    }
    if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min ||
        json_object_get_int64(v) > max)
        return jerr(c, full, "'%s' is not an integer from %lld to %lld%s",
                    v ? jtext(v, text, sizeof text) : "null", (long long)min, (long long)max,
                    nullable ? " or null" : "");
    *out = json_object_get_int64(v);
    return 0;
}

static struct json_object *get_array(struct jctx *c, struct json_object *obj, const char *key,
                                     int max, bool required, int *n)
{
    struct json_object *v;
    char text[48];
    *n = 0;
    if (!json_object_object_get_ex(obj, key, &v)) {
        if (required)
            jerr(c, "document", "missing key '%s'", key);
        return NULL;
    }
    if (!json_object_is_type(v, json_type_array))
        return jerr(c, key, "expected an array, not '%s'",
                    v ? jtext(v, text, sizeof text) : "null"),
               NULL;
    *n = (int)json_object_array_length(v);
    if (*n > max)
        return jerr(c, key, "%d entries are more than the %d supported", *n, max), NULL;
    return v;
}

static const char *const node_keys[] = {"node", "package", "memory_mib", "free_mib", "cpus", NULL};

static int parse_node_cpus(struct jctx *c, struct json_object *v, const char *path,
                           struct vn_bitmap *cpus)
{
    char text[48];
    vn_bitmap_zero(cpus);
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        /* "" is the CPU list of a memory-only node. */
        if (*s && vn_bitmap_parse_list(cpus, s, VN_BITMAP_BITS - 1, c->err) < 0)
            return vn_error_prefix(c->err, "%s: %s", c->name, path);
        return 0;
    }
    if (!json_object_is_type(v, json_type_array))
        return jerr(c, path,
                    "expected a CPU list such as \"0-7,16-23\" or an array of CPU "
                    "numbers, not '%s'",
                    v ? jtext(v, text, sizeof text) : "null");
    int n = (int)json_object_array_length(v);
    for (int k = 0; k < n; k++) {
        struct json_object *e = json_object_array_get_idx(v, (size_t)k);
        if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) < 0 ||
            json_object_get_int64(e) >= VN_BITMAP_BITS)
            return jerr(c, path, "element %d '%s' is not a CPU number from 0 to %d", k,
                        e ? jtext(e, text, sizeof text) : "null", VN_BITMAP_BITS - 1);
        vn_bitmap_set(cpus, (int)json_object_get_int64(e));
    }
    return 0;
}

static int parse_nodes(struct jctx *c, struct json_object *arr, struct vn_host_topo *t,
                       bool *package_given)
{
    struct vn_bitmap all;
    vn_bitmap_zero(&all);
    for (int i = 0; i < t->nnodes; i++) {
        struct json_object *o = json_object_array_get_idx(arr, (size_t)i);
        struct vn_node *n = &t->nodes[i];
        char path[32], text[48];
        snprintf(path, sizeof path, "nodes[%d]", i);
        if (!json_object_is_type(o, json_type_object))
            return jerr(c, path, "expected an object, not '%s'",
                        o ? jtext(o, text, sizeof text) : "null");
        if (check_keys(c, o, path, node_keys, "node, package, memory_mib, free_mib, cpus") < 0)
            return -1;
        int64_t v = 0;
        bool present;
        if (get_int(c, o, path, "node", 0, VN_BITMAP_BITS - 1, true, false, &v, &present) < 0)
            return -1;
        n->os_index = (int)v;
        if (i > 0 && n->os_index <= t->nodes[i - 1].os_index)
            return jerr(c, path,
                        "node %d comes after node %d; list nodes by increasing number without "
                        "duplicates",
                        n->os_index, t->nodes[i - 1].os_index);
        if (get_int(c, o, path, "package", 0, VN_BITMAP_BITS - 1, false, true, &v, &present) < 0)
            return -1;
        n->package = present ? (int)v : -1;
        package_given[i] = present;
        if (get_int(c, o, path, "memory_mib", 1, MAX_MEM_MIB, true, false, &v, &present) < 0)
            return -1;
        n->mem_mib = n->free_mib = (uint64_t)v;
        if (get_int(c, o, path, "free_mib", 0, MAX_MEM_MIB, false, false, &v, &present) < 0)
            return -1;
        if (present && (uint64_t)v > n->mem_mib) {
            char full[48];
            snprintf(full, sizeof full, "%s.free_mib", path);
            return jerr(c, full, "'%lld' is more than the node's memory_mib '%llu'", (long long)v,
                        (unsigned long long)n->mem_mib);
        }
        if (present) {
            n->free_mib = (uint64_t)v;
            n->free_known = true;
        }
        struct json_object *cpus;
        if (!json_object_object_get_ex(o, "cpus", &cpus))
            return jerr(c, path, "missing key 'cpus' (use \"\" for a node without CPUs)");
        char full[48];
        snprintf(full, sizeof full, "%s.cpus", path);
        if (parse_node_cpus(c, cpus, full, &n->cpus) < 0)
            return -1;
        if (vn_bitmap_intersects(&all, &n->cpus)) {
            struct vn_bitmap both = all;
            vn_bitmap_and(&both, &n->cpus);
            int cpu = vn_bitmap_next(&both, -1);
            for (int k = 0; k < i; k++)
                if (vn_bitmap_test(&t->nodes[k].cpus, cpu))
                    return jerr(c, full, "CPU %d is already in node %d", cpu, t->nodes[k].os_index);
        }
        vn_bitmap_or(&all, &n->cpus);
    }
    return 0;
}

static int parse_distances(struct jctx *c, struct json_object *arr, int rows,
                           struct vn_host_topo *t)
{
    char text[48];
    if (rows != t->nnodes)
        return jerr(c, "distances", "expected %d rows, one per node, not %d", t->nnodes, rows);
    for (int i = 0; i < rows; i++) {
        struct json_object *row = json_object_array_get_idx(arr, (size_t)i);
        char path[48];
        snprintf(path, sizeof path, "distances[%d]", i);
        if (!json_object_is_type(row, json_type_array))
            return jerr(c, path, "expected an array of %d distances, not '%s'", t->nnodes,
                        row ? jtext(row, text, sizeof text) : "null");
        if ((int)json_object_array_length(row) != t->nnodes)
            return jerr(c, path, "expected %d values, one per node, not %d", t->nnodes,
                        (int)json_object_array_length(row));
        for (int j = 0; j < t->nnodes; j++) {
            struct json_object *e = json_object_array_get_idx(row, (size_t)j);
            snprintf(path, sizeof path, "distances[%d][%d]", i, j);
            int64_t d = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
            if (i == j && d != VN_TOPO_DIST_LOCAL)
                return jerr(c, path, "'%s' must be %d: the distance of node %d to itself",
                            e ? jtext(e, text, sizeof text) : "null", VN_TOPO_DIST_LOCAL,
                            t->nodes[i].os_index);
            if (d < VN_TOPO_DIST_LOCAL || d > VN_TOPO_DIST_MAX)
                return jerr(c, path, "'%s' is not a distance from %d to %d",
                            e ? jtext(e, text, sizeof text) : "null", VN_TOPO_DIST_LOCAL,
                            VN_TOPO_DIST_MAX);
            t->dist[i * t->nnodes + j] = (int)d;
        }
    }
    return 0;
}

static const char *const cpu_keys[] = {"cpu", "node", "package", "core", "smt", NULL};

static int parse_cpus(struct jctx *c, struct json_object *arr, struct vn_host_topo *t)
{
    for (int k = 0; k < t->ncpus; k++) {
        struct json_object *o = json_object_array_get_idx(arr, (size_t)k);
        struct vn_cpu *cpu = &t->cpus[k];
        char path[32], full[48], text[48];
        snprintf(path, sizeof path, "cpus[%d]", k);
        if (!json_object_is_type(o, json_type_object))
            return jerr(c, path, "expected an object, not '%s'",
                        o ? jtext(o, text, sizeof text) : "null");
        if (check_keys(c, o, path, cpu_keys, "cpu, node, package, core, smt") < 0)
            return -1;
        int64_t v[5];
        bool present;
        static const int64_t max[] = {VN_BITMAP_BITS - 1, VN_BITMAP_BITS - 1, VN_BITMAP_BITS - 1,
                                      MAX_CORE, MAX_SMT};
        for (int f = 0; f < 5; f++)
            if (get_int(c, o, path, cpu_keys[f], 0, max[f], true, false, &v[f], &present) < 0)
                return -1;
        cpu->os_index = (int)v[0];
        cpu->package = (int)v[2];
        cpu->core = (int)v[3];
        cpu->smt = (int)v[4];
        snprintf(full, sizeof full, "%s.cpu", path);
        if (k > 0 && cpu->os_index <= t->cpus[k - 1].os_index)
            return jerr(c, full,
                        "CPU %d comes after CPU %d; list CPUs by increasing number without "
                        "duplicates",
                        cpu->os_index, t->cpus[k - 1].os_index);
        cpu->node = vn_topo_node_index(t, (int)v[1]);
        snprintf(full, sizeof full, "%s.node", path);
        if (cpu->node < 0)
            return jerr(c, full, "node '%lld' is not in nodes", (long long)v[1]);
        if (!vn_bitmap_test(&t->nodes[cpu->node].cpus, cpu->os_index)) {
            for (int i = 0; i < t->nnodes; i++)
                if (vn_bitmap_test(&t->nodes[i].cpus, cpu->os_index))
                    return jerr(c, full, "CPU %d is in the cpus of node %d, not of node %lld",
                                cpu->os_index, t->nodes[i].os_index, (long long)v[1]);
            return jerr(c, full, "CPU %d is in no node's cpus", cpu->os_index);
        }
    }
    return 0;
}

/* Without a "cpus" array every CPU of a node is its own core in the node's package. */
static void derive_cpus(struct vn_host_topo *t, const struct vn_bitmap *all)
{
    int k = 0;
    VN_BITMAP_FOREACH(cpu, all)
    {
        int i = 0;
        while (!vn_bitmap_test(&t->nodes[i].cpus, cpu))
            i++;
        int pkg = t->nodes[i].package < 0 ? 0 : t->nodes[i].package;
        t->cpus[k++] =
            (struct vn_cpu){.os_index = cpu, .node = i, .package = pkg, .core = cpu, .smt = 0};
    }
}

static const char *const pci_keys[] = {"addr", "name", "node", NULL};

static int parse_string(struct jctx *c, struct json_object *o, const char *path, const char *key,
                        char *out, size_t size)
{
    struct json_object *v;
    char full[48], text[48];
    snprintf(full, sizeof full, "%s.%s", path, key);
    if (!json_object_object_get_ex(o, key, &v))
        return jerr(c, path, "missing key '%s'", key);
    if (!json_object_is_type(v, json_type_string))
        return jerr(c, full, "expected a string, not '%s'",
                    v ? jtext(v, text, sizeof text) : "null");
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0 || len >= size || strlen(s) != len)
        return jerr(c, full, "'%s' must have 1 to %zu characters and no NUL",
                    jtext(v, text, sizeof text), size - 1);
    memcpy(out, s, len + 1);
    return 0;
}

static int parse_pci(struct jctx *c, struct json_object *arr, struct vn_host_topo *t)
{
    for (int k = 0; k < t->npci; k++) {
        struct json_object *o = json_object_array_get_idx(arr, (size_t)k);
        struct vn_pci_dev *d = &t->pci[k];
        char path[32], full[48], text[48];
        snprintf(path, sizeof path, "pci[%d]", k);
        if (!json_object_is_type(o, json_type_object))
            return jerr(c, path, "expected an object, not '%s'",
                        o ? jtext(o, text, sizeof text) : "null");
        if (check_keys(c, o, path, pci_keys, "addr, name, node") < 0)
            return -1;
        snprintf(full, sizeof full, "%s.addr", path);
        struct json_object *a;
        if (json_object_object_get_ex(o, "addr", &a) && json_object_is_type(a, json_type_string) &&
            !vn_topo_pci_addr_valid(json_object_get_string(a)))
            return jerr(c, full, "'%s' is not a PCI address such as '0000:03:00.0'",
                        jtext(a, text, sizeof text));
        if (parse_string(c, o, path, "addr", d->addr, sizeof d->addr) < 0 ||
            parse_string(c, o, path, "name", d->name, sizeof d->name) < 0)
            return -1;
        if (k > 0 && strcmp(d->addr, t->pci[k - 1].addr) <= 0)
            return jerr(c, full,
                        "'%s' comes after '%s'; list devices by increasing address without "
                        "duplicates",
                        d->addr, t->pci[k - 1].addr);
        int64_t node;
        bool present;
        if (get_int(c, o, path, "node", 0, VN_BITMAP_BITS - 1, true, true, &node, &present) < 0)
            return -1;
        d->node = node < 0 ? -1 : vn_topo_node_index(t, (int)node);
        snprintf(full, sizeof full, "%s.node", path);
        if (node >= 0 && d->node < 0)
            return jerr(c, full, "node '%lld' is not in nodes", (long long)node);
    }
    return 0;
}

static struct json_object *parse_document(struct jctx *c, const char *buf, size_t len)
{
    /* The format nests 3 deep; refusing more stops pathological input early. */
    return vn_json_parse_doc(buf, len, VN_TOPO_JSON_MAX, 8, c->name, c->err);
}

static const char *const top_keys[] = {"name", "nodes", "distances", "pci", "cpus", NULL};

struct vn_host_topo *vn_topo_from_json_buf(const char *buf, size_t len, const char *name,
                                           struct vn_error *err)
{
    struct jctx c = {.name = name ? name : "host", .err = err};
    VN_CLEANUP(json_putp) struct json_object *doc = parse_document(&c, buf, len);
    char text[48];
    if (!doc)
        return NULL;
    if (!json_object_is_type(doc, json_type_object))
        return vn_error_set(err, "%s: the document must be a JSON object, not '%s'", c.name,
                            jtext(doc, text, sizeof text)),
               NULL;
    if (check_keys(&c, doc, "document", top_keys, "name, nodes, distances, pci, cpus") < 0)
        return NULL;
    int nnodes, ndist, ncpus, npci;
    struct json_object *nodes = get_array(&c, doc, "nodes", VN_TOPO_MAX_NODES, true, &nnodes);
    if (!nodes)
        return NULL;
    if (nnodes == 0)
        return jerr(&c, "nodes", "the host needs at least one node"), NULL;
    struct json_object *dist = get_array(&c, doc, "distances", VN_TOPO_MAX_NODES, false, &ndist);
    struct json_object *cpus = get_array(&c, doc, "cpus", VN_BITMAP_BITS, false, &ncpus);
    struct json_object *pci = get_array(&c, doc, "pci", VN_TOPO_MAX_PCI, false, &npci);
    struct json_object *v;
    if (((!dist && json_object_object_get_ex(doc, "distances", &v)) ||
         (!cpus && json_object_object_get_ex(doc, "cpus", &v)) ||
         (!pci && json_object_object_get_ex(doc, "pci", &v))))
        return NULL; /* get_array reported it */

    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_new(nnodes, 0, npci);
    snprintf(t->name, sizeof t->name, "%s", c.name);
    if (json_object_object_get_ex(doc, "name", &v)) {
        if (parse_string(&c, doc, "document", "name", t->name, sizeof t->name) < 0)
            return NULL;
    }
    VN_CLEANUP_FREE bool *package_given = calloc((size_t)nnodes, sizeof *package_given);
    if (!package_given)
        abort();
    if (parse_nodes(&c, nodes, t, package_given) < 0)
        return NULL;
    if (dist && parse_distances(&c, dist, ndist, t) < 0)
        return NULL;

    struct vn_bitmap all;
    vn_bitmap_zero(&all);
    for (int i = 0; i < nnodes; i++)
        vn_bitmap_or(&all, &t->nodes[i].cpus);
    int total = vn_bitmap_count(&all);
    t->ncpus = cpus ? ncpus : total;
    t->cpus = realloc(t->cpus, ((size_t)t->ncpus + 1) * sizeof *t->cpus);
    if (!t->cpus)
        abort();
    if (cpus) {
        if (parse_cpus(&c, cpus, t) < 0)
            return NULL;
        /* Every listed CPU is in its node; a count short of the nodes' means some are missing. */
        for (int k = 0, cpu = -1; ncpus < total; k++) {
            cpu = vn_bitmap_next(&all, cpu);
            if (k >= ncpus || t->cpus[k].os_index != cpu)
                return jerr(&c, "cpus", "CPU %d of the nodes' cpus has no entry", cpu), NULL;
        }
    } else {
        derive_cpus(t, &all);
    }
    for (int i = 0; i < nnodes; i++) {
        int first = vn_bitmap_next(&t->nodes[i].cpus, -1);
        if (!package_given[i])
            t->nodes[i].package = first < 0 ? -1 : t->cpus[vn_topo_cpu_index(t, first)].package;
    }
    if (pci && parse_pci(&c, pci, t) < 0)
        return NULL;
    if (vn_topo_finish(t, err) < 0)
        return vn_error_prefix(err, "%s", c.name), NULL;
    return VN_STEAL(t);
}

struct json_object *vn_topo_to_json(const struct vn_host_topo *t)
{
    struct json_object *doc = json_object_new_object();
    json_object_object_add(doc, "name", json_object_new_string(t->name));
    struct json_object *nodes = json_object_new_array();
    for (int i = 0; i < t->nnodes; i++) {
        const struct vn_node *n = &t->nodes[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_int(n->os_index));
        json_object_object_add(o, "package",
                               n->package < 0 ? NULL : json_object_new_int(n->package));
        json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)n->mem_mib));
        if (n->free_known)
            json_object_object_add(o, "free_mib", json_object_new_int64((int64_t)n->free_mib));
        size_t need = vn_bitmap_format_list(&n->cpus, NULL, 0) + 1;
        VN_CLEANUP_FREE char *list = malloc(need);
        if (!list)
            abort();
        vn_bitmap_format_list(&n->cpus, list, need);
        json_object_object_add(o, "cpus", json_object_new_string(list));
        json_object_array_add(nodes, o);
    }
    json_object_object_add(doc, "nodes", nodes);
    /* Sized up front: a 1024-node matrix is a million values, no need to grow each row. */
    struct json_object *dist = json_object_new_array_ext(t->nnodes);
    for (int i = 0; i < t->nnodes; i++) {
        struct json_object *row = json_object_new_array_ext(t->nnodes);
        for (int j = 0; j < t->nnodes; j++)
            json_object_array_add(row, json_object_new_int(vn_topo_distance(t, i, j)));
        json_object_array_add(dist, row);
    }
    json_object_object_add(doc, "distances", dist);
    struct json_object *pci = json_object_new_array();
    for (int k = 0; k < t->npci; k++) {
        const struct vn_pci_dev *d = &t->pci[k];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "addr", json_object_new_string(d->addr));
        json_object_object_add(o, "name", json_object_new_string(d->name));
        json_object_object_add(
            o, "node", d->node < 0 ? NULL : json_object_new_int(t->nodes[d->node].os_index));
        json_object_array_add(pci, o);
    }
    json_object_object_add(doc, "pci", pci);
    struct json_object *cpus = json_object_new_array();
    for (int k = 0; k < t->ncpus; k++) {
        const struct vn_cpu *cpu = &t->cpus[k];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "cpu", json_object_new_int(cpu->os_index));
        json_object_object_add(o, "node", json_object_new_int(t->nodes[cpu->node].os_index));
        json_object_object_add(o, "package", json_object_new_int(cpu->package));
        json_object_object_add(o, "core", json_object_new_int(cpu->core));
        json_object_object_add(o, "smt", json_object_new_int(cpu->smt));
        json_object_array_add(cpus, o);
    }
    json_object_object_add(doc, "cpus", cpus);
    return doc;
}
