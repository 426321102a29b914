/* Placing a config that has its own vNUMA layout (vnuma = [...] or vnodes/vnumamem...).
 *
 * Vnodes whose pnode is fixed are checked, never moved: the user said where they go.  The
 * others are given a node one at a time, the largest first, each to the node with the lowest
 * score: load (vCPU pressure and memory use on that node, counting the VM's own vnodes),
 * groups, devices, and how well host distances to the vnodes already placed follow the
 * guest distances the config asked for. */
#include <stdio.h>
#include <string.h>

#include "place_int.h"

static int vnode_cpus(const struct vn_place_ctx *ctx, int i)
{
    int n = 0;
    VN_BITMAP_FOREACH(v, &ctx->spec->vnodes[i].vcpus)
    {
        if (v >= ctx->vcpus)
            break;
        n++;
    }
    return n;
}

int vn_place_spec_vnodes(const struct vn_place_ctx *ctx, struct vn_placement *out,
                         struct vn_place_explain *ex, struct vn_error *err)
{
    const struct vn_host_topo *t = ctx->topo;
    const struct vn_vm_spec *spec = ctx->spec;
    const char *name = spec->name ? spec->name : "?";
    int k = spec->nvnodes;
    int pn[VN_MAX_VNODES], vcs[VN_MAX_VNODES];
    /* What this VM already takes on each node, for the vnodes placed so far. */
    uint64_t used_mem[VN_PLACE_MAX_NODES];
    int used_vc[VN_PLACE_MAX_NODES];
    for (int n = 0; n < ctx->nn; n++) {
        used_mem[n] = 0;
        used_vc[n] = 0;
    }
    uint64_t total = 0;
    for (int i = 0; i < k; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        vcs[i] = vnode_cpus(ctx, i);
        total += vn->mem_mib;
        pn[i] = -1;
        if (vn->pnode < 0)
            continue;
        pn[i] = vn_place_node_index(t, vn->pnode);
        if (pn[i] < 0)
            return vn_error_set(err,
                                "vnode %d of VM '%s' has pnode '%d', which host '%s' does "
                                "not have.",
                                i, name, vn->pnode, t->name);
        used_mem[pn[i]] += vn->mem_mib;
        used_vc[pn[i]] += vcs[i];
    }
    /* Fixed vnodes: they must fit where they were put. */
    for (int i = 0; i < k; i++) {
        int n = pn[i];
        if (n < 0 || used_mem[n] <= ctx->free[n])
            continue;
        if (used_mem[n] == spec->vnodes[i].mem_mib)
            return vn_error_set(err,
                                "vnode %d of VM '%s' needs %llu MiB on node %d (its pnode) but "
                                "node %d has %llu MiB free.",
                                i, name, (unsigned long long)spec->vnodes[i].mem_mib,
                                t->nodes[n].os_index, t->nodes[n].os_index,
                                (unsigned long long)ctx->free[n]);
        return vn_error_set(err,
                            "the vnodes of VM '%s' with pnode %d need %llu MiB together but node "
                            "%d has %llu MiB free.",
                            name, t->nodes[n].os_index, (unsigned long long)used_mem[n],
                            t->nodes[n].os_index, (unsigned long long)ctx->free[n]);
    }
    /* Free vnodes, largest first (ties: lower vnode id). */
    int order[VN_MAX_VNODES], norder = 0;
    for (int i = 0; i < k; i++)
        if (pn[i] < 0)
            order[norder++] = i;
    for (int a = 1; a < norder; a++)
        for (int b = a; b > 0; b--) {
            const struct vn_vnode *x = &spec->vnodes[order[b]], *y = &spec->vnodes[order[b - 1]];
            if (x->mem_mib <= y->mem_mib)
                break;
            int tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    for (int oi = 0; oi < norder; oi++) {
        int i = order[oi];
        uint64_t need = spec->vnodes[i].mem_mib;
        int best = -1;
        double best_s = 0;
        for (int n = 0; n < ctx->nn; n++) {
            if (!ctx->allowed[n] || ctx->free[n] - used_mem[n] < need || ctx->free[n] < used_mem[n])
                continue;
            double cap = ctx->cap[n];
            int vcn = ctx->load->vcpus[n] + used_vc[n] + vcs[i];
            double s = cap > 0 ? vcn / cap : (vcs[i] > 0 ? 10.0 : 0.0);
            double total_mem = (double)t->nodes[n].mem_mib;
            if (total_mem > 0)
                s += 0.5 * (1.0 - (double)(ctx->free[n] - used_mem[n] - need) / total_mem);
            /* Guest distances should follow host distances (vdist vs SLIT). */
            for (int j = 0; j < k; j++) {
                if (j == i || pn[j] < 0)
                    continue;
                int diff = spec->vdist[i][j] - vn_place_dist(t, n, pn[j]);
                s += (diff < 0 ? -diff : diff) / 10.0;
            }
            for (int d = 0; d < ctx->req->ndevs; d++) {
                int dn = ctx->req->dev_nodes[d], bd = vn_place_dist(t, dn, n);
                for (int j = 0; j < k; j++)
                    if (pn[j] >= 0 && vn_place_dist(t, dn, pn[j]) < bd)
                        bd = vn_place_dist(t, dn, pn[j]);
                s += 2.0 * (bd - 10) / 10.0 / ctx->req->ndevs;
            }
            if (ctx->aff && !vn_bitmap_empty(&ctx->aff->nodes) &&
                !vn_bitmap_test(&ctx->aff->nodes, n))
                s += 1.0;
            if (ctx->anti && vn_bitmap_test(&ctx->anti->nodes, n))
                s += 10.0;
            if (best < 0 || s < best_s) {
                best = n;
                best_s = s;
            }
        }
        if (best < 0) {
            uint64_t largest = 0;
            int ln = -1;
            for (int n = 0; n < ctx->nn; n++) {
                uint64_t f = ctx->free[n] > used_mem[n] ? ctx->free[n] - used_mem[n] : 0;
                if (ctx->allowed[n] && (ln < 0 || f > largest)) {
                    largest = f;
                    ln = n;
                }
            }
            return vn_error_set(err,
                                "vnode %d of VM '%s' needs %llu MiB on one node; the largest free "
                                "is %llu MiB on node %d.",
                                i, name, (unsigned long long)need, (unsigned long long)largest,
                                ln < 0 ? -1 : t->nodes[ln].os_index);
        }
        pn[i] = best;
        used_mem[best] += need;
        used_vc[best] += vcs[i];
        out->score += best_s;
    }

    struct vn_bitmap vnode_nodes[VN_MAX_VNODES];
    out->nvnodes = k;
    out->guest_numa = true;
    out->generated = false;
    out->mem_mib = total;
    for (int i = 0; i < k; i++) {
        struct vn_place_vnode *vn = &out->vnodes[i];
        vn->mem_mib = spec->vnodes[i].mem_mib;
        vn_bitmap_zero(&vn->pnodes);
        vn_bitmap_set(&vn->pnodes, t->nodes[pn[i]].os_index);
        vn->policy = spec->mempolicy;
        vn_bitmap_zero(&vn->vcpus);
        VN_BITMAP_FOREACH(v, &spec->vnodes[i].vcpus)
        {
            if (v >= ctx->vcpus)
                break;
            vn_bitmap_set(&vn->vcpus, v);
        }
        vn_bitmap_zero(&vnode_nodes[i]);
        vn_bitmap_set(&vnode_nodes[i], pn[i]);
        for (int j = 0; j < k; j++)
            out->vdist[i][j] = spec->vdist[i][j];
        vn_placement_claim(out, t, pn[i], vn->mem_mib, vcs[i]);
    }
    if (ex) {
        int set[VN_MAX_VNODES], ns = 0;
        struct vn_bitmap seen;
        vn_bitmap_zero(&seen);
        for (int i = 0; i < k; i++)
            if (!vn_bitmap_test(&seen, t->nodes[pn[i]].os_index)) {
                vn_bitmap_set(&seen, t->nodes[pn[i]].os_index);
                set[ns++] = pn[i];
            }
        vn_explain_offer(ex, t, set, ns, out->score, NULL);
        vn_explain_choose(ex, t, set, ns);
        snprintf(ex->why, sizeof ex->why,
                 "The config gives %d vnodes; %d had a pnode, which was checked and kept. The "
                 "others went, largest first, to the node with the lowest score (pressure + 0.5 "
                 "memory + guest/host distance mismatch + devices + groups).",
                 k, k - norder);
    }
    return vn_placement_finish_affinity(out, ctx, vnode_nodes, err);
}
