/* The two vNUMA syntaxes of xl.cfg, read into one representation.
 *
 * Xen 4.5+ (xl.cfg(5), parse_vnuma_config in xl_parse.c):
 *     vnuma = [ [ "pnode=0", "size=2048", "vcpus=0-1", "vdistances=10,20" ], [ ... ] ]
 * The manual says all four options are mandatory, so they are here too; vnuma adds
 * "pnode=auto" for a vnode whose host node placement should choose.
 *
 * The original proposal (the vNUMA patches for Xen 4.4):
 *     vnodes = 2; vnumamem = [2048, 2048]; vdistance = [10, 20];
 *     vnuma_vcpumap = [1, 0, 1, 0]; vnuma_vnodemap = [0, 1]
 * where vdistance gives the same-node and other-node distances, vnuma_vcpumap maps vCPU i to
 * a vnode and vnuma_vnodemap maps vnodes to host nodes.  Only vnodes is required: sizes
 * default to an even split of maxmem, vCPUs to contiguous blocks, distances to [10, 20],
 * and host nodes to "placement chooses" (pnode -1).
 *
 * Either way the spec ends up with the same vnodes, vCPU sets and distance matrix, so nothing
 * after this file knows which form was written (except messages, which name its keys). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "util/cleanup.h"

/* Host node numbers are Linux's, below its MAX_NUMNODES of 1024. */
#define PNODE_MAX    1023
#define SIZE_MAX_MIB (1ull << 40)

/* The original form's keys, in the order of legacy_setting. */
enum { NLEGACY = 5 };

static const struct vn_setting *legacy_setting(const struct vn_build *b, int i)
{
    const struct vn_setting *s[] = {b->vnodes, b->vnumamem, b->vdistance, b->vcpumap, b->vnodemap};
    return s[i];
}

/* ---- Xen 4.5 form ---- */

enum { OPT_PNODE, OPT_SIZE, OPT_VCPUS, OPT_VDIST, NOPTS };
static const char *const opt_names[NOPTS] = {"pnode", "size", "vcpus", "vdistances"};
static const unsigned opt_bad[NOPTS] = {VN_BAD_PNODE, VN_BAD_VSIZE, VN_BAD_VVCPUS, VN_BAD_VDIST};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* "vdistances=10,20": one number per vnode into row i. */
static bool parse_vdistances(struct vn_build *b, int i, const char *value, struct vn_loc loc)
{
    struct vn_vm_spec *spec = b->spec;
    int count = 0;
    const char *p = value;
    for (;;) {
        size_t n = strcspn(p, ",");
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)(n < sizeof num ? n : sizeof num - 1), p);
        uint64_t d;
        if (vn_parse_u64(trim(num), INT32_MAX, &d) < 0) {
            vn_build_error(b, loc, "vnuma",
                           "Vnode %d: '%.*s' in 'vdistances=%s' is not a "
                           "distance.",
                           i, (int)n, p, value);
            return false;
        }
        if (count < VN_MAX_VNODES)
            spec->vdist[i][count] = (int)d;
        count++;
        if (!p[n])
            break;
        p += n + 1;
    }
    if (count != spec->nvnodes) {
        vn_build_error(b, loc, "vnuma",
                       "Vnode %d gives %d %s; it needs one per vnode (%d), in vnode order.", i,
                       count, count == 1 ? "distance" : "distances", spec->nvnodes);
        return false;
    }
    return true;
}

/* One "key=value" option of vnode i; returns the option index or -1 after an error. */
static int parse_option(struct vn_build *b, int i, const struct vn_cv *opt, bool *seen)
{
    struct vn_vm_spec *spec = b->spec;
    struct vn_vnode *vn = &spec->vnodes[i];
    if (opt->kind == VN_CV_LIST) {
        vn_build_error(b, opt->loc, "vnuma",
                       "Vnode %d: options must be strings like \"size=2048\", not lists.", i);
        return -1;
    }
    VN_CLEANUP_FREE char *copy = vn_strdup_checked(opt->text);
    char *eq = strchr(copy, '=');
    if (!eq) {
        vn_build_error(b, opt->loc, "vnuma", "Vnode %d: '%s' is not a key=value option.", i,
                       opt->text);
        return -1;
    }
    *eq = '\0';
    const char *key = trim(copy);
    char *value = trim(eq + 1);
    int k = 0;
    while (k < NOPTS && strcmp(key, opt_names[k]) != 0)
        k++;
    if (k == NOPTS) {
        const char *hint = vn_did_you_mean(key, opt_names, NOPTS);
        if (hint)
            vn_build_error(b, opt->loc, "vnuma",
                           "Vnode %d: unknown option '%s'; did you mean '%s'?", i, key, hint);
        else
            vn_build_error(b, opt->loc, "vnuma",
                           "Vnode %d: unknown option '%s' (pnode, size, vcpus or vdistances).", i,
                           key);
        return -1;
    }
    if (seen[k]) {
        vn_build_error(b, opt->loc, "vnuma", "Vnode %d gives '%s' twice.", i, key);
        return -1;
    }
    seen[k] = true;
    uint64_t v;
    struct vn_error err = {0};
    switch (k) {
    case OPT_PNODE:
        vn->pnode_loc = opt->loc;
        if (strcmp(value, "auto") == 0) {
            vn->pnode = -1;
        } else if (vn_parse_u64(value, PNODE_MAX, &v) < 0) {
            vn_build_error(b, opt->loc, "vnuma",
                           "Vnode %d: 'pnode=%s' is not a host node number (0-%d) or 'auto'.", i,
                           value, PNODE_MAX);
            return -1;
        } else {
            vn->pnode = (int)v;
        }
        break;
    case OPT_SIZE:
        vn->size_loc = opt->loc;
        if (vn_parse_u64(value, SIZE_MAX_MIB, &v) < 0) {
            vn_build_error(b, opt->loc, "vnuma", "Vnode %d: 'size=%s' is not a size in MiB.", i,
                           value);
            return -1;
        }
        vn->mem_mib = v;
        break;
    case OPT_VCPUS:
        vn->vcpus_loc = opt->loc;
        /* xl reads ranges and single vCPUs only, no '^' */
        if (strchr(value, '^') ||
            vn_bitmap_parse_list(&vn->vcpus, value, VN_MAX_VCPUS - 1, &err) < 0) {
            vn_build_error(b, opt->loc, "vnuma",
                           "Vnode %d: 'vcpus=%s' is not a list of vCPUs and ranges%s%s%s", i, value,
                           err.msg[0] ? " (" : "", err.msg, err.msg[0] ? ")." : ".");
            return -1;
        }
        break;
    case OPT_VDIST:
        vn->dist_loc = opt->loc;
        if (!parse_vdistances(b, i, value, opt->loc))
            return -1;
        break;
    }
    return k;
}

/* The group of rules to skip when an option failed: that of its key.  An unknown option needs
 * nothing, since the option it was meant to be is then reported missing. */
static unsigned option_group(const struct vn_cv *o)
{
    if (o->kind == VN_CV_LIST)
        return 0;
    const char *t = o->text;
    while (isspace((unsigned char)*t))
        t++;
    for (int m = 0; m < NOPTS; m++) {
        size_t l = strlen(opt_names[m]);
        if (strncmp(t, opt_names[m], l) == 0 && (t[l] == '=' || isspace((unsigned char)t[l])))
            return opt_bad[m];
    }
    return 0;
}

static void build_list_form(struct vn_build *b)
{
    struct vn_vm_spec *spec = b->spec;
    const struct vn_cv *v = b->vnuma->value;
    spec->vnuma_loc = b->vnuma->loc;
    if (v->kind != VN_CV_LIST) {
        vn_build_error(b, v->loc, "vnuma",
                       "Expected a list of vnodes, each a list like [ \"pnode=0\", "
                       "\"size=2048\", \"vcpus=0-1\", \"vdistances=10,20\" ].");
        b->bad |= VN_BAD_VNUMA;
        return;
    }
    if (v->n == 0) {
        vn_build_warning(b, v->loc, "vnuma",
                         "The vnode list is empty; the guest gets no vNUMA topology.");
        return;
    }
    if (v->n > VN_MAX_VNODES) {
        vn_build_error(b, v->loc, "vnuma", "%d vnodes are given; at most %d are allowed.", v->n,
                       VN_MAX_VNODES);
        b->bad |= VN_BAD_VNUMA;
        return;
    }
    spec->nvnodes = v->n;
    spec->vnuma_form = VN_VNUMA_LIST;
    for (int i = 0; i < v->n; i++) {
        const struct vn_cv *node = v->items[i];
        struct vn_vnode *vn = &spec->vnodes[i];
        vn->loc = node->loc;
        if (node->kind != VN_CV_LIST) {
            vn_build_error(b, node->loc, "vnuma",
                           "Vnode %d must be a list of \"key=value\" strings, not %s.", i,
                           vn_cv_kind_name(node->kind));
            b->bad |= VN_BAD_VSIZE | VN_BAD_VVCPUS | VN_BAD_VDIST | VN_BAD_PNODE;
            continue;
        }
        bool seen[NOPTS] = {false};
        for (int j = 0; j < node->n; j++) {
            int k = parse_option(b, i, node->items[j], seen);
            if (k < 0)
                b->bad |= option_group(node->items[j]);
        }
        for (int k = 0; k < NOPTS; k++) {
            if (!seen[k]) {
                vn_build_error(b, node->loc, "vnuma",
                               "Vnode %d has no '%s'; pnode, size, vcpus and vdistances are all "
                               "required, as in xl.cfg(5) (pnode may be 'auto').",
                               i, opt_names[k]);
                b->bad |= opt_bad[k];
            }
        }
        if (!vn->size_loc.line)
            vn->size_loc = node->loc;
        if (!vn->vcpus_loc.line)
            vn->vcpus_loc = node->loc;
        if (!vn->dist_loc.line)
            vn->dist_loc = node->loc;
        if (!vn->pnode_loc.line)
            vn->pnode_loc = node->loc;
    }
}

/* ---- original form ---- */

/* A list of numbers of key s, each at most max; returns false after an error.  want >= 0
 * demands that many entries. */
static bool number_list(struct vn_build *b, const struct vn_setting *s, int want, const char *what,
                        uint64_t max, uint64_t *out, int cap, int *count)
{
    const struct vn_cv *v = s->value;
    if (v->kind != VN_CV_LIST) {
        vn_build_error(b, v->loc, s->key, "Expected a list of %s, like [ %s ].", what,
                       strcmp(s->key, "vdistance") == 0 ? "10, 20" : "0, 1");
        return false;
    }
    if (want >= 0 && v->n != want) {
        vn_build_error(b, v->loc, s->key, "The list has %d %s; it needs %d%s.", v->n,
                       v->n == 1 ? "entry" : "entries", want,
                       strcmp(s->key, "vdistance") == 0
                           ? " (the same-node distance and the other-node distance)"
                           : ", one per vnode ('vnodes')");
        return false;
    }
    if (v->n > cap) {
        vn_build_error(b, v->loc, s->key, "The list has %d %s; at most %d are allowed.", v->n,
                       v->n == 1 ? "entry" : "entries", cap);
        return false;
    }
    bool ok = true;
    for (int i = 0; i < v->n; i++) {
        const struct vn_cv *item = v->items[i];
        if (item->kind == VN_CV_LIST) {
            vn_build_error(b, item->loc, s->key, "Entry %d is a list; expected a number.", i);
            ok = false;
            continue;
        }
        if (vn_parse_u64(item->text, max, &out[i]) < 0) {
            vn_build_error(b, item->loc, s->key, "Entry %d, '%.64s', is not a number in 0-%llu.", i,
                           item->text, (unsigned long long)max);
            ok = false;
        }
    }
    *count = v->n;
    return ok;
}

static void build_legacy_form(struct vn_build *b)
{
    struct vn_vm_spec *spec = b->spec;
    uint64_t n;
    spec->vnuma_loc = b->vnodes->loc;
    if (vn_build_number(b, "vnodes", b->vnodes->value, UINT64_MAX, &n) < 0) {
        b->bad |= VN_BAD_VNUMA;
        return;
    }
    if (n < 1 || n > VN_MAX_VNODES) {
        vn_build_error(b, b->vnodes->value->loc, "vnodes",
                       "'%s' vnodes are asked for; the number must be between 1 and %d.",
                       b->vnodes->value->text, VN_MAX_VNODES);
        b->bad |= VN_BAD_VNUMA;
        return;
    }
    spec->nvnodes = (int)n;
    spec->vnuma_form = VN_VNUMA_LEGACY;
    for (int i = 0; i < spec->nvnodes; i++) {
        struct vn_vnode *vn = &spec->vnodes[i];
        /* defaults point at the vnodes key; validation then names 'vnodes' */
        vn->loc = vn->size_loc = vn->pnode_loc = vn->vcpus_loc = vn->dist_loc = b->vnodes->loc;
    }

    uint64_t vals[VN_MAX_VCPUS];
    int count;
    if (b->vnumamem) {
        if (number_list(b, b->vnumamem, spec->nvnodes, "sizes", SIZE_MAX_MIB, vals, VN_MAX_VNODES,
                        &count)) {
            for (int i = 0; i < count; i++) {
                spec->vnodes[i].mem_mib = vals[i];
                spec->vnodes[i].size_loc = b->vnumamem->value->items[i]->loc;
            }
        } else {
            b->bad |= VN_BAD_VSIZE;
        }
    }

    uint64_t same = 10, other = 20;
    struct vn_loc dist_loc = b->vnodes->loc;
    if (b->vdistance) {
        dist_loc = b->vdistance->value->loc;
        if (number_list(b, b->vdistance, 2, "distances", INT32_MAX, vals, 2, &count)) {
            same = vals[0];
            other = vals[1];
        } else {
            b->bad |= VN_BAD_VDIST;
        }
    }
    for (int i = 0; i < spec->nvnodes; i++) {
        spec->vnodes[i].dist_loc = dist_loc;
        for (int j = 0; j < spec->nvnodes; j++)
            spec->vdist[i][j] = (int)(i == j ? same : other);
    }

    if (b->vnodemap) {
        if (number_list(b, b->vnodemap, spec->nvnodes, "host nodes", PNODE_MAX, vals, VN_MAX_VNODES,
                        &count)) {
            for (int i = 0; i < count; i++) {
                spec->vnodes[i].pnode = (int)vals[i];
                spec->vnodes[i].pnode_loc = b->vnodemap->value->items[i]->loc;
            }
        } else {
            b->bad |= VN_BAD_PNODE;
        }
    }

    if (b->vcpumap) {
        if (number_list(b, b->vcpumap, -1, "vnodes", UINT64_MAX, vals, VN_MAX_VCPUS, &count)) {
            for (int i = 0; i < count; i++) {
                const struct vn_cv *item = b->vcpumap->value->items[i];
                if (vals[i] >= (uint64_t)spec->nvnodes) {
                    vn_build_error(b, item->loc, "vnuma_vcpumap",
                                   "vCPU %d is mapped to vnode %s; there are only %d vnodes "
                                   "(0-%d).",
                                   i, item->text, spec->nvnodes, spec->nvnodes - 1);
                    b->bad |= VN_BAD_VVCPUS;
                    continue;
                }
                vn_bitmap_set(&spec->vnodes[vals[i]].vcpus, i);
            }
            for (int i = 0; i < spec->nvnodes; i++)
                spec->vnodes[i].vcpus_loc = b->vcpumap->value->loc;
        } else {
            b->bad |= VN_BAD_VVCPUS;
        }
    }
}

void vn_build_vnuma(struct vn_build *b)
{
    struct vn_vm_spec *spec = b->spec;
    if (b->vnuma) {
        bool mixed = false;
        for (int i = 0; i < NLEGACY; i++) {
            const struct vn_setting *s = legacy_setting(b, i);
            if (s) {
                vn_build_error(b, s->loc, s->key,
                               "'%s' belongs to the original vNUMA form and cannot be combined "
                               "with 'vnuma' (line %d); use one form.",
                               s->key, b->vnuma->loc.line);
                mixed = true;
            }
        }
        if (mixed) {
            b->bad |= VN_BAD_VNUMA;
            return;
        }
        build_list_form(b);
    } else if (b->vnodes) {
        build_legacy_form(b);
    } else {
        for (int i = 1; i < NLEGACY; i++) {
            const struct vn_setting *s = legacy_setting(b, i);
            if (s) {
                vn_build_error(b, s->loc, s->key,
                               "'%s' needs 'vnodes', the number of virtual nodes.", s->key);
                b->bad |= VN_BAD_VNUMA;
            }
        }
        return;
    }
    if (spec->nvnodes == 0 || (b->bad & VN_BAD_VNUMA))
        return;

    /* As xl: without memory keys the vnodes give the memory; without vCPU keys, the vCPUs. */
    bool sizes_given = spec->vnuma_form == VN_VNUMA_LIST || b->vnumamem;
    if (sizes_given && !(b->bad & VN_BAD_VSIZE) && !b->memory_set && !b->maxmem_set) {
        uint64_t sum = 0;
        for (int i = 0; i < spec->nvnodes; i++)
            sum += spec->vnodes[i].mem_mib;
        spec->memory_mib = spec->maxmem_mib = sum;
        spec->loc.memory = spec->loc.maxmem = spec->vnuma_loc;
        b->vnuma_gave_memory = true;
    }
    bool vcpus_given = spec->vnuma_form == VN_VNUMA_LIST || b->vcpumap;
    if (vcpus_given && !(b->bad & VN_BAD_VVCPUS) && !b->vcpus_set && !b->maxvcpus_set) {
        int top = -1;
        for (int i = 0; i < spec->nvnodes; i++) {
            int last = vn_bitmap_last(&spec->vnodes[i].vcpus);
            if (last > top)
                top = last;
        }
        spec->vcpus = spec->maxvcpus = top + 1;
        spec->loc.vcpus = spec->loc.maxvcpus = spec->vnuma_loc;
        b->vnuma_gave_vcpus = true;
    }
}

void vn_build_vnuma_finish(struct vn_build *b)
{
    struct vn_vm_spec *spec = b->spec;
    if (spec->vnuma_form != VN_VNUMA_LEGACY || (b->bad & VN_BAD_VNUMA))
        return;
    int n = spec->nvnodes;
    if (!b->vnumamem && !(b->bad & VN_BAD_MEMORY) && spec->maxmem_mib > 0) {
        /* even split in 2 MiB units, the remainder on the last vnode */
        uint64_t each = spec->maxmem_mib / (uint64_t)n / 2 * 2;
        for (int i = 0; i < n; i++)
            spec->vnodes[i].mem_mib = each;
        spec->vnodes[n - 1].mem_mib = spec->maxmem_mib - each * (uint64_t)(n - 1);
    }
    if (!b->vcpumap && !(b->bad & VN_BAD_VCPUS)) {
        /* contiguous blocks, so that vCPU neighbours (often SMT siblings) share a vnode */
        int m = spec->maxvcpus;
        for (int i = 0; i < m && i < VN_MAX_VCPUS; i++)
            vn_bitmap_set(&spec->vnodes[(int64_t)i * n / m].vcpus, i);
    }
    if (b->vcpumap && !(b->bad & (VN_BAD_VCPUS | VN_BAD_VVCPUS)) &&
        b->vcpumap->value->n != spec->maxvcpus) {
        vn_build_error(b, b->vcpumap->value->loc, "vnuma_vcpumap",
                       "The map has %d entries; it needs one per vCPU (%d, from '%s').",
                       b->vcpumap->value->n, spec->maxvcpus,
                       b->maxvcpus_set ? "maxvcpus" : "vcpus");
        b->bad |= VN_BAD_VVCPUS;
    }
}
