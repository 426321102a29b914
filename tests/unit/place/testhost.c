#include "testhost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vn_host_topo *th_host(int nnodes, const int *cores, int smt, const uint64_t *mem,
                             const int *dist)
{
    struct vn_host_topo *t = calloc(1, sizeof *t);
    snprintf(t->name, sizeof t->name, "test-%dn", nnodes);
    t->nnodes = nnodes;
    t->nodes = calloc(nnodes, sizeof *t->nodes);
    t->dist = calloc((size_t)nnodes * nnodes, sizeof *t->dist);
    int ncpus = 0;
    for (int n = 0; n < nnodes; n++)
        ncpus += (cores ? cores[n] : 4) * smt;
    t->cpus = calloc(ncpus ? ncpus : 1, sizeof *t->cpus);
    int cpu = 0, core_id = 0;
    for (int n = 0; n < nnodes; n++) {
        struct vn_node *node = &t->nodes[n];
        int nc = cores ? cores[n] : 4;
        node->os_index = n;
        node->package = n;
        node->mem_mib = mem ? mem[n] : 4096;
        node->free_mib = node->mem_mib;
        vn_bitmap_zero(&node->cpus);
        for (int s = 0; s < smt; s++)
            for (int c = 0; c < nc; c++) {
                t->cpus[cpu] = (struct vn_cpu){cpu, n, n, core_id + c, s};
                vn_bitmap_set(&node->cpus, cpu);
                cpu++;
            }
        core_id += nc;
        for (int m = 0; m < nnodes; m++)
            t->dist[n * nnodes + m] = dist ? dist[n * nnodes + m] : (n == m ? 10 : 20);
    }
    t->ncpus = ncpus;
    t->npackages = nnodes;
    return t;
}

struct vn_host_topo *th_host_uniform(int nnodes, int cores, int smt, uint64_t mem, const int *dist)
{
    int c[1024];
    uint64_t m[1024];
    for (int i = 0; i < nnodes; i++) {
        c[i] = cores;
        m[i] = mem;
    }
    return th_host(nnodes, c, smt, m, dist);
}

void th_host_add_pci(struct vn_host_topo *t, const char *addr, int node)
{
    t->pci = realloc(t->pci, sizeof *t->pci * (t->npci + 1));
    struct vn_pci_dev *d = &t->pci[t->npci++];
    memset(d, 0, sizeof *d);
    snprintf(d->addr, sizeof d->addr, "%s", addr);
    snprintf(d->name, sizeof d->name, "test device");
    d->node = node;
}

void th_host_free(struct vn_host_topo *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->cpus);
    free(t->dist);
    free(t->pci);
    free(t);
}

struct vn_vm_spec *th_spec(const char *name, int vcpus, uint64_t mem_mib)
{
    struct vn_vm_spec *s = calloc(1, sizeof *s);
    s->name = strdup(name);
    s->vcpus = s->maxvcpus = vcpus;
    s->memory_mib = s->maxmem_mib = mem_mib;
    s->mempolicy = VN_MEMPOLICY_BIND;
    s->balance = true;
    return s;
}

void th_spec_vnodes(struct vn_vm_spec *s, int nv, const int *pnodes, const int *vdist)
{
    s->nvnodes = nv;
    int per = s->vcpus / nv, extra = s->vcpus % nv, next = 0;
    for (int i = 0; i < nv; i++) {
        struct vn_vnode *vn = &s->vnodes[i];
        vn->mem_mib = s->memory_mib / nv;
        vn->pnode = pnodes ? pnodes[i] : -1;
        vn_bitmap_zero(&vn->vcpus);
        int cnt = per + (i < extra);
        if (cnt)
            vn_bitmap_set_range(&vn->vcpus, next, next + cnt - 1);
        next += cnt;
        for (int j = 0; j < nv; j++)
            s->vdist[i][j] = vdist ? vdist[i * nv + j] : (i == j ? 10 : 20);
    }
}

void th_spec_affinity(struct vn_vm_spec *s, int hard, const char *list)
{
    struct vn_affinity *a = hard ? &s->cpus : &s->cpus_soft;
    a->nsets = 1;
    a->sets = calloc(1, sizeof *a->sets);
    a->text = calloc(1, sizeof *a->text);
    a->text[0] = strdup(list);
    a->resolved = true;
    struct vn_error err;
    if (vn_bitmap_parse_list(&a->sets[0], list, VN_BITMAP_BITS - 1, &err) < 0)
        abort();
}

void th_spec_add_pci(struct vn_vm_spec *s, const char *addr)
{
    s->pci = realloc(s->pci, sizeof *s->pci * (s->npci + 1));
    s->pci[s->npci++] = strdup(addr);
}

static void free_affinity(struct vn_affinity *a)
{
    for (int i = 0; i < a->nsets; i++)
        free(a->text ? a->text[i] : NULL);
    free(a->text);
    free(a->sets);
}

void th_spec_free(struct vn_vm_spec *s)
{
    if (!s)
        return;
    free_affinity(&s->cpus);
    free_affinity(&s->cpus_soft);
    for (int i = 0; i < s->npci; i++)
        free(s->pci[i]);
    free(s->pci);
    free(s->name);
    free(s->affinity_group);
    free(s->anti_affinity_group);
    free(s);
}

uint64_t th_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}
