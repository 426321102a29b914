/* Synthetic hosts: an hwloc synthetic string plus vnuma's extensions after ';' for what
 * hwloc's strings cannot say (a SLIT, free memory) or say awkwardly (node sizes in MiB):
 *
 *   pack:2 numa:2 core:8 pu:2;mem=16G;free=4G,8G,16G,16G;dist=10,21
 *
 * docs/HOSTS.md describes the syntax. */
#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cleanup.h"
#include "topo_int.h"

/* Parses "16G", "512M", "1T" or a plain number of MiB. */
static int parse_size_mib(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    const char *units = strchr("MGT", toupper((unsigned char)*end));
    if (*end && units) {
        shift = (unsigned)(units - "MGT") * 10;
        end++;
        /* 16G, 16GB and 16GiB all mean GiB: node sizes are binary. */
        if (*end == 'i')
            end++;
        if (*end == 'B')
            end++;
    }
    /* 2^40 MiB bounds any real node and keeps the shift from overflowing. */
    if (*end || v > (UINT64_C(1) << 40) >> shift)
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* Splits a comma list in place; returns the number of items (at most max). */
static int split_commas(char *s, char **items, int max)
{
    int n = 0;
    for (char *tok = s; tok; n++) {
        if (n == max)
            return max + 1;
        items[n] = tok;
        tok = strchr(tok, ',');
        if (tok)
            *tok++ = '\0';
    }
    return n;
}

/* mem= and free=: one size for every node, or one per node. */
static int apply_sizes(struct vn_host_topo *t, const char *ext, char *val, bool is_free,
                       struct vn_error *err)
{
    VN_CLEANUP_FREE char **items = calloc((size_t)t->nnodes + 1, sizeof *items);
    if (!items)
        abort();
    int n = split_commas(val, items, t->nnodes);
    if (n != 1 && n != t->nnodes)
        return vn_error_set(err,
                            "synthetic host extension '%s' needs 1 size or one per node (%d); "
                            "it has %s%d",
                            ext, t->nnodes, n > t->nnodes ? "more than " : "",
                            n > t->nnodes ? t->nnodes : n);
    for (int i = 0; i < t->nnodes; i++) {
        const char *item = items[n == 1 ? 0 : i];
        uint64_t mib;
        if (parse_size_mib(item, &mib) < 0)
            return vn_error_set(err,
                                "synthetic host extension '%s': '%s' is not a size such as "
                                "'16G', '512M' or '1T'",
                                ext, item);
        struct vn_node *node = &t->nodes[i];
        if (is_free) {
            node->free_mib = mib;
            node->free_known = true;
        } else {
            node->mem_mib = mib;
            if (!node->free_known)
                node->free_mib = mib;
        }
    }
    return 0;
}

/* dist=LOCAL,REMOTE for every pair, or the whole matrix row by row. */
static int apply_dist(struct vn_host_topo *t, const char *ext, char *val, struct vn_error *err)
{
    int nn = t->nnodes * t->nnodes;
    VN_CLEANUP_FREE char **items = calloc((size_t)nn + 2, sizeof *items);
    if (!items)
        abort();
    int max = nn > 2 ? nn : 2;
    int n = split_commas(val, items, max);
    if (n != nn && n != 2)
        return vn_error_set(err,
                            "synthetic host extension '%s' needs 2 values (local,remote) or %d "
                            "(a %dx%d matrix); it has %s%d",
                            ext, nn, t->nnodes, t->nnodes, n > max ? "more than " : "",
                            n > max ? max : n);
    int v[2];
    for (int k = 0; k < n; k++) {
        char *end;
        errno = 0;
        long d = strtol(items[k], &end, 10);
        if (!isdigit((unsigned char)items[k][0]) || *end || errno || d > VN_TOPO_DIST_MAX)
            return vn_error_set(err,
                                "synthetic host extension '%s': '%s' is not a distance from %d "
                                "to %d",
                                ext, items[k], VN_TOPO_DIST_LOCAL, VN_TOPO_DIST_MAX);
        if (n == nn)
            t->dist[k] = (int)d;
        else
            v[k] = (int)d;
    }
    if (n != nn)
        for (int i = 0; i < t->nnodes; i++)
            for (int j = 0; j < t->nnodes; j++)
                t->dist[i * t->nnodes + j] = i == j ? v[0] : v[1];
    return 0;
}

static int apply_extension(struct vn_host_topo *t, char *ext, struct vn_error *err)
{
    VN_CLEANUP_FREE char *copy = strdup(ext); /* for messages: parsing cuts ext up */
    if (!copy)
        abort();
    char *eq = strchr(ext, '=');
    if (eq) {
        *eq = '\0';
        char *val = eq + 1;
        if (*val && strcmp(ext, "mem") == 0)
            return apply_sizes(t, copy, val, false, err);
        if (*val && strcmp(ext, "free") == 0)
            return apply_sizes(t, copy, val, true, err);
        if (*val && strcmp(ext, "dist") == 0)
            return apply_dist(t, copy, val, err);
    }
    return vn_error_set(err,
                        "unknown synthetic host extension '%s'; expected 'mem=SIZE[,...]', "
                        "'free=SIZE[,...]' or 'dist=N,...'",
                        copy);
}

/* a * b, or UINT64_MAX when it does not fit. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static int too_many(const char *spec, uint64_t n, const char *what, int max, struct vn_error *err)
{
    if (n > UINT32_MAX)
        return vn_error_set(err,
                            "synthetic host '%s' has more than %u %s; at most %d are supported",
                            spec, UINT32_MAX, what, max);
    return vn_error_set(err, "synthetic host '%s' has %llu %s; at most %d are supported", spec,
                        (unsigned long long)n, what, max);
}

/* hwloc builds every object of a synthetic string before anything can be checked, which takes
 * minutes for numa:100000: count NUMA nodes and PUs from the string first, reading it the way
 * hwloc_backend_synthetic_init does ("TYPE:N" or "N" levels, "(attrs)" after a count or at the
 * start, "[numa...]" memory attached to the level before; untyped levels get hwloc's default
 * types).  What this reading does not understand is left for hwloc to refuse. */
/* indexes= lists name OS indexes, and hwloc sizes bitmaps by the largest one: numa:2
 * pu:2(indexes=0,2,1444444444444444,3) took 3.4 GB and crashed.  Each number of every
 * indexes= list (read as decimal and as C would, the larger counts) must be a possible CPU or
 * node number. */
static int check_indexes(const char *s, const char *spec, struct vn_error *err)
{
    for (const char *p = strstr(s, "indexes="); p; p = strstr(p, "indexes=")) {
        p += 8;
        while (isdigit((unsigned char)*p)) {
            char *end10, *end0;
            errno = 0;
            unsigned long long v10 = strtoull(p, &end10, 10);
            bool big = errno != 0;
            unsigned long long v0 = strtoull(p, &end0, 0);
            big |= errno != 0;
            unsigned long long v = v10 > v0 ? v10 : v0;
            if (big || v >= VN_BITMAP_BITS)
                return vn_error_set(err,
                                    "synthetic host '%s' uses the index %.*s; indexes are at "
                                    "most %d",
                                    spec, (int)((end0 > end10 ? end0 : end10) - p), p,
                                    VN_BITMAP_BITS - 1);
            p = end0 > end10 ? end0 : end10;
            if (*p == ',')
                p++;
        }
    }
    return 0;
}

static int synthetic_precheck(const char *s, const char *spec, struct vn_error *err)
{
    if (check_indexes(s, spec, err) < 0)
        return -1;
    enum { MAX_LEVELS = 128 }; /* HWLOC_SYNTHETIC_MAX_DEPTH */
    uint64_t width[MAX_LEVELS];
    bool typed[MAX_LEVELS], numa[MAX_LEVELS];
    int levels = 0;
    uint64_t cur = 1, attached = 0;
    const char *pos = s;
    if (*pos == '(') {
        pos = strchr(pos, ')');
        if (!pos)
            return 0;
        pos++;
    }
    /* Every turn consumes at least one character: bounded by the string's length. */
    while (*pos) {
        while (*pos == ' ' || *pos == '\n')
            pos++;
        if (!*pos)
            break;
        if (*pos == '[') {
            attached = attached > UINT64_MAX - cur ? UINT64_MAX : attached + cur;
            pos = strchr(pos, ']');
            if (!pos)
                return 0;
            pos++;
            continue;
        }
        if (levels == MAX_LEVELS)
            return 0;
        hwloc_obj_type_t type = HWLOC_OBJ_GROUP;
        typed[levels] = !isdigit((unsigned char)*pos);
        if (typed[levels]) {
            if (hwloc_type_sscanf(pos, &type, NULL, 0) < 0)
                type = HWLOC_OBJ_GROUP;
            pos = strchr(pos, ':');
            if (!pos)
                return 0;
            pos++;
        }
        char *end;
        errno = 0;
        unsigned long long item = strtoull(pos, &end, 0);
        if (end == pos || item == 0)
            return 0;
        cur = mul_sat(cur, errno ? UINT64_MAX : item);
        width[levels] = cur;
        numa[levels] = typed[levels] && type == HWLOC_OBJ_NUMANODE;
        levels++;
        pos = end;
        if (*pos == '(') {
            pos = strchr(pos, ')');
            if (!pos)
                return 0;
            pos++;
        }
    }
    if (levels == 0)
        return 0;
    uint64_t nodes = attached ? attached : 1;
    for (int i = 0; i < levels; i++)
        if (numa[i])
            nodes = width[i];
    if (!attached && levels >= 2 && !typed[0]) {
        /* hwloc's choice for "2 4 2": the NUMA level sits below the groups and the package. */
        int n = levels - 1, pack = n >= 2, core = n >= 3, caches = n - 3 > 4 ? 4 : n - 3;
        int groups = n - 1 - pack - core - (caches > 0 ? caches : 0);
        nodes = width[groups + pack];
    }
    if (nodes > VN_TOPO_MAX_NODES)
        return too_many(spec, nodes, "NUMA nodes", VN_TOPO_MAX_NODES, err);
    if (cur > VN_TOPO_MAX_CPUS)
        return too_many(spec, cur, "CPUs", VN_TOPO_MAX_CPUS, err);
    return 0;
}

struct vn_host_topo *vn_topo_load_synthetic(const char *spec, struct vn_error *err)
{
    VN_CLEANUP_FREE char *s = strdup(spec);
    if (!s)
        abort();
    char *exts = strchr(s, ';');
    if (exts)
        *exts++ = '\0';
    if (!*s)
        return vn_error_set(err, "synthetic host '%s' has no hwloc topology before ';'", spec),
               NULL;
    if (synthetic_precheck(s, spec, err) < 0)
        return NULL;
    VN_CLEANUP(vn_topo_freep)
    struct vn_host_topo *t = vn_topo_load_hwloc(VN_TOPO_SRC_SYNTHETIC, s, err);
    if (!t)
        return NULL;
    /* mem= before free=, whatever the order they are written in, so that free= is
     * checked against the final size by validation and mem= does not reset it. */
    for (int pass = 0; exts && pass < 2; pass++) {
        VN_CLEANUP_FREE char *list = strdup(exts);
        if (!list)
            abort();
        char *save = NULL;
        for (char *ext = strtok_r(list, ";", &save); ext; ext = strtok_r(NULL, ";", &save)) {
            bool is_free = strncmp(ext, "free=", 5) == 0;
            if (is_free != (pass == 1))
                continue;
            if (apply_extension(t, ext, err) < 0)
                return NULL;
        }
    }
    snprintf(t->name, sizeof t->name, "synthetic:%s", spec);
    if (vn_topo_finish(t, err) < 0)
        return vn_error_prefix(err, "synthetic host '%s'", spec), NULL;
    return VN_STEAL(t);
}
