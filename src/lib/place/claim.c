/* Claim arithmetic: splitting a vnode's share over nodes, moving shares, and the capacity
 * invariant.  Pure: every module that changes a claim (create, vnumad, memory moves, the
 * simulator) goes through these, so there is one rounding and one rule. */
#include "claim.h"

#include <string.h>

#include "../topo/topo.h"

int vn_claim_split_even(const struct vn_bitmap *nodes, uint64_t mib, int vcpus,
                        struct vn_claim_share *out, int max)
{
    int cnt = vn_bitmap_count(nodes), k = 0;
    if (cnt == 0)
        return 0;
    VN_BITMAP_FOREACH(n, nodes)
    {
        if (k >= max)
            break;
        out[k].node = n;
        out[k].mib = mib / (uint64_t)cnt + ((uint64_t)k < mib % (uint64_t)cnt ? 1 : 0);
        out[k].vcpus = vcpus / cnt + (k < vcpus % cnt ? 1 : 0);
        k++;
    }
    return k;
}

static struct vn_claim_node *entry(struct vn_claim *c, int node)
{
    for (int i = 0; i < c->n; i++)
        if (c->v[i].node == node)
            return &c->v[i];
    return NULL;
}

int vn_claim_move(struct vn_claim *c, const struct vn_claim_share *from, int nfrom,
                  const struct vn_claim_share *to, int nto)
{
    struct vn_claim out = *c;
    for (int i = 0; i < nfrom; i++) {
        struct vn_claim_node *e = entry(&out, from[i].node);
        if (!e)
            continue;
        e->mem_mib = e->mem_mib > from[i].mib ? e->mem_mib - from[i].mib : 0;
        e->vcpus = e->vcpus > from[i].vcpus ? e->vcpus - from[i].vcpus : 0;
    }
    for (int i = 0; i < nto; i++) {
        struct vn_claim_node *e = entry(&out, to[i].node);
        if (!e) {
            if (out.n == VN_MAX_VNODES)
                return -1;
            e = &out.v[out.n++];
            *e = (struct vn_claim_node){.node = to[i].node};
        }
        e->mem_mib += to[i].mib;
        e->vcpus += to[i].vcpus;
    }
    int k = 0;
    for (int i = 0; i < out.n; i++)
        if (out.v[i].mem_mib || out.v[i].vcpus)
            out.v[k++] = out.v[i];
    out.n = k;
    *c = out;
    return 0;
}

int vn_claims_fit(const struct vn_host_topo *topo, const struct vn_claim *others, int nothers,
                  const struct vn_claim *mine, struct vn_error *err)
{
    for (int i = 0; i < mine->n; i++) {
        int node = mine->v[i].node;
        const struct vn_node *hn = NULL;
        for (int k = 0; k < topo->nnodes; k++)
            if (topo->nodes[k].os_index == node)
                hn = &topo->nodes[k];
        if (!hn)
            return vn_error_set(err, "host node %d does not exist on host '%s'", node, topo->name);
        uint64_t sum = mine->v[i].mem_mib;
        for (int d = 0; d < nothers; d++)
            for (int k = 0; k < others[d].n; k++)
                if (others[d].v[k].node == node)
                    sum += others[d].v[k].mem_mib;
        if (sum > hn->mem_mib)
            return vn_error_set(err,
                                "host node %d would hold claims of %llu MiB, more than its %llu "
                                "MiB (%llu MiB of them claimed by other domains)",
                                node, (unsigned long long)sum, (unsigned long long)hn->mem_mib,
                                (unsigned long long)(sum - mine->v[i].mem_mib));
    }
    return 0;
}
