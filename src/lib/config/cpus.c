/* cpus= and cpus_soft=: xl's CPULIST in all its forms.
 *
 * A CPULIST is comma-separated elements, each optionally negated with '^': "all", a CPU or a
 * range "N-M", or "node:N" / "nodes:N-M" for the CPUs of host nodes.  xl applies them left to
 * right (parse_cpurange in xl_parse.c), so "^3,2-5" keeps 3 while "2-5,^3" drops it; we do
 * the same.  The key takes one CPULIST for every vCPU, or a list with one per vCPU.
 *
 * Node elements and "all" depend on the host, which the parser does not have: it checks
 * their syntax, and vn_config_validate expands them once a host is given. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* Sets the CPUs of host node os_node in out; -1 when the host has no such node. */
static int node_cpus(const struct vn_host_topo *host, int os_node, struct vn_bitmap *out)
{
    /* Bisected: a list of many node ranges on a 1024-node host made a linear search cost
     * seconds (docs/LIMITS.md). */
    int i = vn_topo_node_index(host, os_node);
    if (i < 0)
        return -1;
    vn_bitmap_or(out, &host->nodes[i].cpus);
    return 0;
}

static void host_cpus(const struct vn_host_topo *host, struct vn_bitmap *out)
{
    vn_bitmap_zero(out);
    for (int i = 0; i < host->ncpus; i++)
        vn_bitmap_set(out, host->cpus[i].os_index);
}

/* Turns a vn_bitmap_parse_list message into a sentence. */
static int sentence(struct vn_error *err, const struct vn_error *sub)
{
    vn_error_set(err, "%c%s.", toupper((unsigned char)sub->msg[0]), sub->msg + 1);
    return -1;
}

/* One element without its '^': fills set (CPUs) or returns -1 with err. */
static int parse_element(const char *elem, const struct vn_host_topo *host, struct vn_bitmap *set,
                         bool *needs_host, struct vn_error *err)
{
    vn_bitmap_zero(set);
    if (strcmp(elem, "all") == 0) {
        *needs_host = true;
        if (host)
            host_cpus(host, set);
        return 0;
    }
    const char *nodes = NULL;
    if (strncmp(elem, "nodes:", 6) == 0)
        nodes = elem + 6;
    else if (strncmp(elem, "node:", 5) == 0)
        nodes = elem + 5;
    if (nodes) {
        struct vn_bitmap nodeset;
        struct vn_error sub = {0};
        if (!isdigit((unsigned char)nodes[0]))
            return vn_error_set(err, "'%s' does not name a node or a range of nodes.", elem);
        if (vn_bitmap_parse_list(&nodeset, nodes, 1023, &sub) < 0)
            return sentence(err, &sub);
        *needs_host = true;
        if (!host)
            return 0;
        VN_BITMAP_FOREACH(n, &nodeset)
        {
            if (node_cpus(host, n, set) < 0)
                return vn_error_set(err, "Node %d in '%s' does not exist on host '%s'.", n, elem,
                                    host->name);
        }
        return 0;
    }
    struct vn_error sub = {0};
    if (!isdigit((unsigned char)elem[0]))
        return vn_error_set(err, "'%s' is not a CPU, a range N-M, 'all' or 'node:N'.", elem);
    if (vn_bitmap_parse_list(set, elem, VN_BITMAP_BITS - 1, &sub) < 0)
        return sentence(err, &sub);
    return 0;
}

int vn_cpulist_parse(const char *text, const struct vn_host_topo *host, struct vn_bitmap *out,
                     bool *needs_host, struct vn_error *err)
{
    vn_bitmap_zero(out);
    *needs_host = false;
    if (!*text)
        return vn_error_set(err, "The CPU list is empty.");
    const char *p = text;
    for (;;) {
        size_t n = strcspn(p, ",");
        char elem[128];
        if (n == 0)
            return vn_error_set(err, "Empty element in CPU list '%s'.", text);
        if (n >= sizeof elem)
            return vn_error_set(err, "Element '%.32s...' of the CPU list is too long.", p);
        memcpy(elem, p, n);
        elem[n] = '\0';
        bool negate = elem[0] == '^';
        struct vn_bitmap set;
        if (parse_element(elem + negate, host, &set, needs_host, err) < 0)
            return -1;
        if (negate)
            vn_bitmap_andnot(out, &set);
        else
            vn_bitmap_or(out, &set);
        if (!p[n])
            break;
        p += n + 1;
    }
    return 0;
}

static void add_set(struct vn_affinity *aff, const char *text)
{
    int i = aff->nsets++;
    aff->sets = realloc(aff->sets, (size_t)aff->nsets * sizeof *aff->sets);
    aff->text = realloc(aff->text, (size_t)aff->nsets * sizeof *aff->text);
    if (!aff->sets || !aff->text)
        abort(); /* bounded by the file size; see vn_strdup_checked */
    vn_bitmap_zero(&aff->sets[i]);
    aff->text[i] = vn_strdup_checked(text);
}

/* Parses one CPULIST value into the last set; false after reporting an error. */
static bool parse_value(struct vn_build *b, const char *key, const struct vn_cv *v,
                        struct vn_affinity *aff, int index)
{
    if (v->kind == VN_CV_LIST) {
        vn_build_error(b, v->loc, key,
                       "Element %d of the list must be a CPU list string, not "
                       "a list.",
                       index);
        return false;
    }
    bool needs_host;
    struct vn_error err = {0};
    add_set(aff, v->text);
    if (vn_cpulist_parse(v->text, NULL, &aff->sets[aff->nsets - 1], &needs_host, &err) < 0) {
        if (index >= 0)
            vn_build_error(b, v->loc, key, "vCPU %d: %s", index, err.msg);
        else
            vn_build_error(b, v->loc, key, "%s", err.msg);
        return false;
    }
    return true;
}

void vn_build_affinity(struct vn_build *b, const struct vn_setting *s, struct vn_affinity *aff,
                       unsigned bad_flag)
{
    const struct vn_cv *v = s->value;
    aff->loc = v->loc;
    aff->resolved = false;
    bool ok = true;
    if (v->kind != VN_CV_LIST) {
        ok = parse_value(b, s->key, v, aff, -1);
    } else if (v->n == 0) {
        vn_build_error(b, v->loc, s->key, "The per-vCPU list is empty.");
        ok = false;
    } else if (v->n > VN_MAX_VCPUS) {
        vn_build_error(b, v->loc, s->key, "The list has %d entries; a guest has at most %d vCPUs.",
                       v->n, VN_MAX_VCPUS);
        ok = false;
    } else {
        aff->per_vcpu = true;
        for (int i = 0; i < v->n; i++)
            ok &= parse_value(b, s->key, v->items[i], aff, i);
    }
    if (!ok)
        b->bad |= bad_flag;
}
