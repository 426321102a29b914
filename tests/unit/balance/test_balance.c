/* Unit tests for src/lib/balance/policy: hand-built observation sequences and expected
 * actions, fed through a tiny "world" that applies the actions (moves memory, changes homes
 * and soft affinity) the way vnumad's executor would, so sequences run closed-loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../place/testhost.h"
#include "balance/policy.h"

#define SEC    1000000000LL
#define NN     8
#define NV     4
#define NVM    8
#define NCPU   8
#define MAXOUT 64

struct vm {
    char name[16];
    int nvn;
    int home[NV];
    uint64_t res[NV][NN];
    int nvcpus;
    int vcpu_vnode[NCPU];
    int vcpu_node[NCPU]; /* where it runs when the world does not choose (follow false) */
    double busy[NCPU];
    struct vn_bitmap allowed[NV];
    unsigned flags;
    uint64_t err_mib; /* the residency estimate's error bound given to the policy */
    struct vn_vm_spec *spec;
    struct vn_claim claim;
    int ndev; /* NIC bridge-port nodes (index) given to the policy */
    int dev[4];
};

struct world {
    struct vn_host_topo *t;
    int nn;
    double other[NN]; /* CPU pressure from outside the VMs */
    bool follow;      /* vCPUs run on the least busy allowed node (ties: lowest index) */
    bool use_load;    /* give the policy the claims (re-placing on) */
    int nvms;
    struct vm vm[NVM];
    int64_t now, interval;
    struct vn_bal_params p;
    struct vn_bal_state st;
    struct vn_bal_dom_state ds[NVM];
    struct vn_host_load load;
    struct vn_bal_action out[MAXOUT];
    int nout;
    /* per interval, filled by step() */
    uint64_t moved_vm[NVM], moved_host;
};

static const int pairs4[16] = {10, 12, 20, 20, 12, 10, 20, 20, 20, 20, 10, 12, 20, 20, 12, 10};

static struct world *world_new(int nn, int cores, uint64_t mem, const int *dist)
{
    struct world *w = calloc(1, sizeof *w);
    w->t = th_host_uniform(nn, cores, 1, mem, dist);
    w->nn = nn;
    w->interval = 5 * SEC;
    w->now = 1000 * SEC;
    vn_bal_params_default(&w->p);
    return w;
}

static void world_free(struct world *w)
{
    for (int i = 0; i < w->nvms; i++)
        th_spec_free(w->vm[i].spec);
    th_host_free(w->t);
    free(w);
}

static void make_claim(struct vm *m)
{
    memset(&m->claim, 0, sizeof m->claim);
    for (int v = 0; v < m->nvn; v++) {
        uint64_t mib = 0;
        int vc = 0;
        for (int n = 0; n < NN; n++)
            mib += m->res[v][n];
        for (int i = 0; i < m->nvcpus; i++)
            vc += m->vcpu_vnode[i] == v;
        int k;
        for (k = 0; k < m->claim.n; k++)
            if (m->claim.v[k].node == m->home[v])
                break;
        if (k == m->claim.n)
            m->claim.v[m->claim.n++] = (struct vn_claim_node){m->home[v], 0, 0};
        m->claim.v[k].mem_mib += mib;
        m->claim.v[k].vcpus += vc;
    }
}

/* A VM of nvn vnodes of mib each on homes[], vcpus_per vCPUs per vnode running at home. */
static struct vm *add_vm(struct world *w, const char *name, int nvn, const int *homes, uint64_t mib,
                         int vcpus_per, double busy)
{
    struct vm *m = &w->vm[w->nvms++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->nvn = nvn;
    m->err_mib = 16;
    for (int v = 0; v < nvn; v++) {
        m->home[v] = homes[v];
        m->res[v][homes[v]] = mib;
        vn_bitmap_zero(&m->allowed[v]);
        vn_bitmap_set(&m->allowed[v], homes[v]);
        for (int k = 0; k < vcpus_per; k++) {
            int i = m->nvcpus++;
            m->vcpu_vnode[i] = v;
            m->vcpu_node[i] = homes[v];
            m->busy[i] = busy;
        }
    }
    m->spec = th_spec(name, m->nvcpus, mib * nvn);
    if (nvn > 1)
        th_spec_vnodes(m->spec, nvn, NULL, NULL);
    make_claim(m);
    vn_bal_dom_state_init(&w->ds[w->nvms - 1]);
    return m;
}

static void remove_vm(struct world *w, int i)
{
    th_spec_free(w->vm[i].spec);
    memmove(&w->vm[i], &w->vm[i + 1], sizeof w->vm[0] * (w->nvms - i - 1));
    memmove(&w->ds[i], &w->ds[i + 1], sizeof w->ds[0] * (w->nvms - i - 1));
    w->nvms--;
}

static int least_busy(const struct world *w, const struct vn_bitmap *allowed, int home)
{
    int best = home;
    VN_BITMAP_FOREACH(n, allowed)
    if (n < w->nn && w->other[n] < w->other[best])
        best = n;
    return best;
}

static void take(uint64_t *res, int nn, const struct vn_bitmap *from, int to, uint64_t mib)
{
    VN_BITMAP_FOREACH(n, from)
    {
        if (n >= nn || !mib)
            break;
        uint64_t m = res[n] < mib ? res[n] : mib;
        res[n] -= m;
        res[to] += m;
        mib -= m;
    }
}

/* One interval: observe, run the policy, apply its actions. */
static void step(struct world *w)
{
    static uint64_t resid[NVM][NV][NN];
    static struct vn_bal_vcpu_obs vobs[NVM][NCPU];
    struct vn_bal_dom_obs doms[NVM];
    double pressure[NN];
    uint64_t free_mib[NN];
    int cpus = vn_bitmap_count(&w->t->nodes[0].cpus);
    memset(doms, 0, sizeof doms);
    for (int n = 0; n < w->nn; n++) {
        pressure[n] = w->other[n];
        free_mib[n] = w->t->nodes[n].mem_mib;
    }
    if (w->use_load)
        vn_host_load_init(&w->load, w->t);
    for (int i = 0; i < w->nvms; i++) {
        struct vm *m = &w->vm[i];
        struct vn_bal_dom_obs *d = &doms[i];
        d->name = m->name;
        d->flags = m->flags;
        d->nvnodes = m->nvn;
        d->nvcpus = m->nvcpus;
        d->vcpus = vobs[i];
        d->spec = m->spec;
        d->claim = &m->claim;
        d->ndev_nodes = m->ndev;
        memcpy(d->dev_nodes, m->dev, sizeof m->dev);
        for (int v = 0; v < m->nvn; v++) {
            memcpy(resid[i][v], m->res[v], sizeof resid[i][v]);
            d->vnodes[v] = (struct vn_bal_vnode_obs){m->home[v], resid[i][v], m->err_mib};
            for (int n = 0; n < w->nn; n++)
                free_mib[n] -= m->res[v][n];
        }
        for (int c = 0; c < m->nvcpus; c++) {
            int v = m->vcpu_vnode[c];
            int node = w->follow ? least_busy(w, &m->allowed[v], m->home[v]) : m->vcpu_node[c];
            vobs[i][c] = (struct vn_bal_vcpu_obs){v, node, (uint64_t)(m->busy[c] * w->interval)};
            pressure[node] += m->busy[c] / cpus;
        }
        if (w->use_load) {
            struct vn_error err = {0};
            if (vn_host_load_add_claim(&w->load, w->t, &m->claim, NULL, NULL, &err) < 0)
                fail_msg("%s", err.msg);
        }
    }
    struct vn_bal_host_obs h = {w->now,   w->interval, w->t,
                                free_mib, pressure,    w->use_load ? &w->load : NULL};
    struct vn_error err = {0};
    if (vn_bal_run(&w->p, &w->st, &h, w->nvms, doms, w->ds, w->out, MAXOUT, &w->nout, &err) < 0)
        fail_msg("%s", err.msg);

    memset(w->moved_vm, 0, sizeof w->moved_vm);
    w->moved_host = 0;
    for (int k = 0; k < w->nout; k++) {
        const struct vn_bal_action *a = &w->out[k];
        assert_true(a->reason[0] != '\0');
        struct vm *m = &w->vm[a->domain];
        switch (a->kind) {
        case VN_BAL_MIGRATE_VNODE:
            take(m->res[a->vnode], w->nn, &a->from_idx, a->to_idx, a->mib);
            if (a->rehome)
                m->home[a->vnode] = a->to_idx;
            w->moved_vm[a->domain] += a->mib;
            w->moved_host += a->mib;
            make_claim(m);
            break;
        case VN_BAL_SET_SOFT_AFFINITY:
            m->allowed[a->vnode] = a->nodes_idx;
            break;
        case VN_BAL_REPLACE_VM:
            for (int v = 0; v < m->nvn; v++)
                m->home[v] = a->vnode_to_idx[v];
            make_claim(m);
            break;
        case VN_BAL_SKIPPED:
            break;
        }
    }
    w->now += w->interval;
}

static int count(const struct world *w, enum vn_bal_kind kind)
{
    int c = 0;
    for (int k = 0; k < w->nout; k++)
        c += w->out[k].kind == kind;
    return c;
}

static int count_skip(const struct world *w, enum vn_bal_skip why)
{
    int c = 0;
    for (int k = 0; k < w->nout; k++)
        c += w->out[k].kind == VN_BAL_SKIPPED && w->out[k].skip == why;
    return c;
}

static const struct vn_bal_action *find(const struct world *w, enum vn_bal_kind kind)
{
    for (int k = 0; k < w->nout; k++)
        if (w->out[k].kind == kind)
            return &w->out[k];
    return NULL;
}

static bool only(const struct vn_bitmap *b, int n)
{
    return vn_bitmap_count(b) == 1 && vn_bitmap_test(b, n);
}

/* vCPUs run on node 1 (their home node 0 is busy), memory is small: the memory moves. */
static struct world *apart(uint64_t mib, double other0, double other1)
{
    struct world *w = world_new(2, 8, 32768, NULL);
    struct vm *m = add_vm(w, "a", 1, (int[]){0}, mib, 2, 1.0);
    m->vcpu_node[0] = m->vcpu_node[1] = 1;
    w->other[0] = other0;
    w->other[1] = other1;
    return w;
}

static void test_memory_follows_vcpus(void **state)
{
    struct world *w = apart(1024, 0.95, 0.3);
    for (int i = 1; i <= 2; i++) {
        step(w);
        assert_int_equal(count(w, VN_BAL_MIGRATE_VNODE), 0);
        assert_int_equal(count_skip(w, VN_BAL_SKIP_HYSTERESIS), 1); /* confirming */
    }
    step(w); /* the third interval confirms it */
    const struct vn_bal_action *a = find(w, VN_BAL_MIGRATE_VNODE);
    assert_non_null(a);
    assert_int_equal(a->to_idx, 1);
    assert_true(a->rehome);
    assert_int_equal(a->mib, 1024);
    assert_true(only(&a->from_idx, 0));
    assert_non_null(strstr(a->reason, "moving the memory there"));
    a = find(w, VN_BAL_SET_SOFT_AFFINITY);
    assert_non_null(a);
    assert_true(only(&a->nodes_idx, 1));
    assert_int_equal(vn_bitmap_count(&a->vcpus), 2);
    assert_int_equal(w->vm[0].home[0], 1);
    assert_int_equal(w->vm[0].res[0][1], 1024);
    for (int i = 0; i < 100; i++) {
        step(w);
        assert_int_equal(w->nout, 0);
    }
    world_free(w);
}

static void test_vcpus_follow_memory(void **state)
{
    /* 16 GiB would cost 33 vCPU-s to copy; node 0 has room: the vCPUs go back to it. */
    struct world *w = apart(16384, 0.3, 0.3);
    for (int i = 0; i < 3; i++)
        step(w);
    assert_int_equal(count(w, VN_BAL_MIGRATE_VNODE), 0);
    const struct vn_bal_action *a = find(w, VN_BAL_SET_SOFT_AFFINITY);
    assert_non_null(a);
    assert_true(only(&a->nodes_idx, 0));
    assert_non_null(strstr(a->reason, "running the vCPUs there"));
    assert_int_equal(w->vm[0].home[0], 0);
    world_free(w);

    /* Same positions, 256 MiB and a busier node 0: copying is cheaper than the contention. */
    w = apart(256, 0.6, 0.3);
    for (int i = 0; i < 3; i++)
        step(w);
    a = find(w, VN_BAL_MIGRATE_VNODE);
    assert_non_null(a);
    assert_int_equal(a->to_idx, 1);
    assert_int_equal(a->mib, 256 + 16); /* the estimate's error bound on top */
    world_free(w);
}

static void test_small_vnode_moves_whole(void **state)
{
    /* A test guest's vnode: 68 MiB touched, re-placed onto node 1 with 60 MiB still on node
     * 0, at 4 MiB/s.  Off-home memory counts as moved only below 1% of the vnode (or the
     * error bound), not below settle_mib (64 MiB), so all of it goes home. */
    struct world *w = world_new(2, 8, 32768, NULL);
    w->p.vm_mib_s = 4;
    struct vm *m = add_vm(w, "a", 1, (int[]){1}, 68, 1, 0.2);
    m->err_mib = 2;
    m->res[0][1] = 8;
    m->res[0][0] = 60;
    for (int i = 0; i < 12; i++)
        step(w);
    assert_int_equal(m->res[0][0], 0);
    assert_int_equal(m->res[0][1], 68);
    assert_int_equal(m->home[0], 1);
    world_free(w);
}

static void test_widen_under_pressure(void **state)
{
    struct world *w = world_new(4, 4, 4096, pairs4);
    add_vm(w, "a", 1, (int[]){0}, 1024, 2, 0.5);
    w->other[0] = 1.0;
    int widened = -1, narrowed = -1;
    for (int i = 1; i <= 30; i++) {
        if (i == 9)
            w->other[0] = 0.1;
        step(w);
        assert_int_equal(count(w, VN_BAL_MIGRATE_VNODE), 0);
        assert_int_equal(count(w, VN_BAL_REPLACE_VM), 0);
        const struct vn_bal_action *a = find(w, VN_BAL_SET_SOFT_AFFINITY);
        if (!a)
            continue;
        if (widened < 0) {
            widened = i;
            assert_int_equal(vn_bitmap_count(&a->nodes_idx), 2); /* home and the node at 12 */
            assert_true(vn_bitmap_test(&a->nodes_idx, 0) && vn_bitmap_test(&a->nodes_idx, 1));
            assert_non_null(strstr(a->reason, "overloaded"));
        } else {
            assert_int_equal(narrowed, -1);
            narrowed = i;
            assert_true(only(&a->nodes_idx, 0));
            assert_non_null(strstr(a->reason, "relieved"));
        }
    }
    assert_int_equal(widened, 3);   /* softaff: three overloaded samples */
    assert_int_equal(narrowed, 13); /* five relieved samples from interval 9 */
    world_free(w);
}

static void test_widen_while_moving(void **state)
{
    /* The vnode's memory is still on its way home (slowly: 4 MiB/s) when its home node gets
     * overloaded: the CPU side does not wait for the memory, the vCPUs may spill over. */
    struct world *w = world_new(4, 4, 4096, pairs4);
    w->p.vm_mib_s = 4;
    struct vm *m = add_vm(w, "a", 1, (int[]){0}, 1024, 2, 0.5);
    m->res[0][0] = 0;
    m->res[0][2] = 1024;
    w->other[0] = 1.0;
    int widened = -1;
    for (int i = 1; i <= 10 && widened < 0; i++) {
        step(w);
        assert_int_equal(count(w, VN_BAL_MIGRATE_VNODE), 1); /* every interval a batch */
        const struct vn_bal_action *a = find(w, VN_BAL_SET_SOFT_AFFINITY);
        if (a && vn_bitmap_count(&a->nodes_idx) == 2)
            widened = i;
    }
    assert_int_equal(widened, 3);
    assert_true(m->res[0][2] > 0); /* still moving */
    world_free(w);
}

static void test_overload_replaces(void **state)
{
    struct world *w = world_new(4, 4, 4096, pairs4);
    w->use_load = true;
    w->p.softaff.max_steps = 0; /* no widening: the overload can only be solved by moving */
    add_vm(w, "a", 2, (int[]){0, 1}, 1024, 2, 1.0);
    w->other[0] = w->other[1] = 0.8;
    w->other[2] = w->other[3] = 0.1;
    int replaced = -1;
    for (int i = 1; i <= 12; i++) {
        step(w);
        const struct vn_bal_action *a = find(w, VN_BAL_REPLACE_VM);
        if (!a) {
            assert_int_equal(count_skip(w, VN_BAL_SKIP_HYSTERESIS), 1);
            continue;
        }
        replaced = i;
        assert_int_equal(vn_bitmap_count(&a->nodes_idx), 2);
        assert_true(vn_bitmap_test(&a->nodes_idx, 2) && vn_bitmap_test(&a->nodes_idx, 3));
        assert_int_equal(count(w, VN_BAL_SET_SOFT_AFFINITY), 2);
        assert_int_equal(a->claim_os.n, 2);
    }
    assert_int_equal(replaced, w->p.replace_after);
    /* The memory follows in budget-limited batches, then all is quiet. */
    uint64_t moved = 0;
    for (int i = 0; i < 200; i++) {
        step(w);
        assert_int_equal(count(w, VN_BAL_REPLACE_VM), 0);
        moved += w->moved_host;
    }
    assert_int_equal(moved, 2048);
    for (int v = 0; v < 2; v++)
        assert_int_equal(w->vm[0].res[v][w->vm[0].home[v]], 1024);
    world_free(w);
}

/* Where an overloaded 1-vnode VM is re-placed to, among equally free nodes 2 and 3; with a NIC
 * whose bridge port is on the node it did not choose, that node wins, as a pci= device would. */
static int replace_target(int ndev, int dev)
{
    struct world *w = world_new(4, 4, 4096, pairs4);
    w->use_load = true;
    w->p.softaff.max_steps = 0;
    struct vm *m = add_vm(w, "a", 1, (int[]){0}, 1024, 2, 1.0);
    m->ndev = ndev;
    m->dev[0] = dev;
    w->other[0] = w->other[1] = 0.8;
    w->other[2] = w->other[3] = 0.1;
    int to = -1;
    for (int i = 1; i <= 12 && to < 0; i++) {
        step(w);
        const struct vn_bal_action *a = find(w, VN_BAL_REPLACE_VM);
        if (a && vn_bitmap_count(&a->nodes_idx) == 1)
            to = vn_bitmap_next(&a->nodes_idx, -1);
    }
    world_free(w);
    return to;
}

static void test_nic_locality_in_replace(void **state)
{
    int plain = replace_target(0, 0);
    assert_true(plain == 2 || plain == 3);
    int other = plain == 2 ? 3 : 2;
    assert_int_equal(replace_target(1, other), other);
}

static void test_freed_node_pulls_vm(void **state)
{
    struct world *w = world_new(4, 4, 4096, pairs4);
    w->use_load = true;
    /* vm1's guest sees its two vnodes at distance 12, but when it was created only nodes 0
     * and 2 (distance 20) had room for them. */
    struct vm *vm1 = add_vm(w, "vm1", 2, (int[]){0, 2}, 2048, 2, 1.0);
    th_spec_vnodes(vm1->spec, 2, NULL, (int[]){10, 12, 12, 10});
    add_vm(w, "vm2", 1, (int[]){1}, 3072, 2, 0.2);
    add_vm(w, "vm3", 1, (int[]){3}, 3072, 2, 0.2);
    for (int i = 0; i < 40; i++) {
        step(w);
        assert_int_equal(count(w, VN_BAL_REPLACE_VM), 0);
        assert_int_equal(count(w, VN_BAL_MIGRATE_VNODE), 0);
    }
    remove_vm(w, 1); /* vm2 goes away: node 1, next to vm1's node 0, is free */
    int replaced = -1;
    for (int i = 1; i <= 60; i++) {
        step(w);
        const struct vn_bal_action *a = find(w, VN_BAL_REPLACE_VM);
        if (a) {
            assert_int_equal(replaced, -1);
            replaced = i;
            assert_int_equal(a->domain, 0);
            assert_true(vn_bitmap_test(&a->nodes_idx, 0) && vn_bitmap_test(&a->nodes_idx, 1));
            assert_int_equal(vn_bitmap_count(&a->nodes_idx), 2);
        }
    }
    assert_int_equal(replaced, w->p.replace_after);
    struct vm *m = &w->vm[0];
    for (int v = 0; v < 2; v++)
        assert_int_equal(m->res[v][m->home[v]], 2048);
    assert_true(m->home[0] != m->home[1] && m->home[0] < 2 && m->home[1] < 2);
    world_free(w);
}

/* The load moves between nodes 0 and 1 every `half` intervals; the vCPUs follow it within
 * their allowed set.  Each home change must be a dwell time apart, and returning to the node
 * just left doubles the dwell, so the changes stay few. */
static void test_no_ping_pong(void **state)
{
    static const int halves[] = {1, 2, 3, 4, 6, 8, 12, 20, 50, 100};
    for (size_t k = 0; k < sizeof halves / sizeof halves[0]; k++) {
        struct world *w = world_new(2, 4, 8192, NULL);
        w->follow = true;
        w->use_load = true;
        add_vm(w, "a", 1, (int[]){0}, 1024, 2, 1.0);
        int changes = 0, home = 0;
        int64_t last = -1;
        for (int i = 0; i < 1000; i++) {
            bool hot0 = (i / halves[k]) % 2 == 0;
            w->other[0] = hot0 ? 0.95 : 0.1;
            w->other[1] = hot0 ? 0.1 : 0.95;
            step(w);
            if (w->vm[0].home[0] != home) {
                home = w->vm[0].home[0];
                if (last >= 0)
                    assert_true(w->now - last >= w->p.dwell_ns);
                last = w->now;
                changes++;
            }
        }
        print_message("# half-period %d intervals: %d home changes in 1000 intervals\n", halves[k],
                      changes);
        /* Faster than four dwell times: at most one wrong move and its undoing, twice.
         * Slower: following the load is right, once per half-period at most. */
        if ((int64_t)halves[k] * w->interval < 4 * w->p.dwell_ns)
            assert_true(changes <= 4);
        else
            assert_true(changes <= 1000 / halves[k]);
        world_free(w);
    }
}

static void check_buckets(const int64_t *t, const uint64_t *moved, int n, double rate, double cap)
{
    for (int a = 0; a < n; a++) {
        uint64_t sum = 0;
        for (int b = a; b < n; b++) {
            sum += moved[b];
            double allowed = cap + rate * (double)(t[b] - t[a]) / 1e9;
            if ((double)sum > allowed + 1e-6)
                fail_msg("moved %llu MiB in intervals %d..%d, more than %.0f",
                         (unsigned long long)sum, a, b, allowed);
        }
    }
}

static void test_rate_limits(void **state)
{
    struct world *w = world_new(2, 8, 65536, NULL);
    enum { NV_ = 6, STEPS = 120 };
    for (int i = 0; i < NV_; i++) {
        char name[8];
        snprintf(name, sizeof name, "vm%d", i);
        struct vm *m = add_vm(w, name, 1, (int[]){0}, 4096, 1, 0.5);
        /* The record says node 1 (a move was decided), the memory is still on node 0. */
        m->home[0] = 1;
        m->vcpu_node[0] = 1;
    }
    static int64_t t[STEPS];
    static uint64_t host[STEPS], vm[NV_][STEPS];
    uint64_t seed = 7;
    for (int s = 0; s < STEPS; s++) {
        w->interval = (int64_t)(1 + th_rand(&seed) % 7) * SEC;
        t[s] = w->now;
        step(w);
        host[s] = w->moved_host;
        for (int i = 0; i < NV_; i++)
            vm[i][s] = w->moved_vm[i];
        assert_true(count(w, VN_BAL_MIGRATE_VNODE) + count_skip(w, VN_BAL_SKIP_RATE_LIMIT) > 0 ||
                    s > 0);
    }
    check_buckets(t, host, STEPS, w->p.host_mib_s, w->p.host_mib_s * w->p.burst_s);
    for (int i = 0; i < NV_; i++) {
        check_buckets(t, vm[i], STEPS, w->p.vm_mib_s, w->p.vm_mib_s * w->p.burst_s);
        assert_int_equal(w->vm[i].res[0][1], 4096); /* all of it arrived in the end */
    }
    uint64_t skipped = 0;
    for (int i = 0; i < NV_; i++)
        skipped += w->ds[i].skipped[VN_BAL_SKIP_RATE_LIMIT];
    assert_true(skipped > 0); /* the host budget did bind */
    world_free(w);
}

static void test_opt_out_and_fixed(void **state)
{
    static const unsigned flags[] = {VN_BAL_OPT_OUT, VN_BAL_FIXED_PNODES,
                                     VN_BAL_FIXED_PNODES | VN_BAL_ALLOW_FIXED};
    static const int skip[] = {VN_BAL_SKIP_OPT_OUT, VN_BAL_SKIP_FIXED, -1};
    for (int k = 0; k < 3; k++) {
        struct world *w = apart(1024, 0.95, 0.3);
        w->vm[0].flags = flags[k];
        int migrations = 0, skips = 0;
        for (int i = 0; i < 50; i++) {
            step(w);
            migrations += count(w, VN_BAL_MIGRATE_VNODE);
            if (skip[k] >= 0)
                skips += count_skip(w, skip[k]);
        }
        assert_int_equal(migrations, skip[k] < 0 ? 1 : 0);
        assert_int_equal(w->vm[0].home[0], skip[k] < 0 ? 1 : 0);
        if (skip[k] >= 0) {
            assert_true(skips > 0);
            assert_int_equal(w->ds[0].skipped[skip[k]], skips);
        }
        world_free(w);
    }

    /* Pinned vCPUs are not widened; a paused host does nothing either. */
    for (int k = 0; k < 2; k++) {
        struct world *w = world_new(4, 4, 4096, pairs4);
        add_vm(w, "a", 1, (int[]){0}, 1024, 2, 0.5);
        if (k == 0)
            w->vm[0].flags = VN_BAL_PINNED;
        else
            w->st.paused = true;
        w->other[0] = 1.0;
        int skips = 0;
        for (int i = 0; i < 20; i++) {
            step(w);
            assert_int_equal(count(w, VN_BAL_SET_SOFT_AFFINITY), 0);
            skips += count_skip(w, k == 0 ? VN_BAL_SKIP_FIXED : VN_BAL_SKIP_PAUSED);
        }
        assert_true(skips > 0);
        assert_true(w->st.paused == (k == 1)); /* the first call keeps the pause flag */
        world_free(w);
    }
}

static struct world *busy_world(uint64_t seed, unsigned (*hist)[MAXOUT + 1], int steps,
                                struct vn_bal_action *all)
{
    struct world *w = world_new(4, 4, 8192, pairs4);
    w->follow = true;
    w->use_load = true;
    add_vm(w, "a", 2, (int[]){0, 2}, 1024, 2, 1.0);
    add_vm(w, "b", 1, (int[]){1}, 2048, 2, 0.7);
    add_vm(w, "c", 1, (int[]){3}, 512, 1, 0.4);
    add_vm(w, "d", 2, (int[]){1, 3}, 768, 1, 0.9);
    for (int s = 0; s < steps; s++) {
        for (int n = 0; n < 4; n++)
            w->other[n] = (double)(th_rand(&seed) % 100) / 100.0;
        step(w);
        (*hist)[s % (MAXOUT + 1)] += (unsigned)w->nout;
        memcpy(all + (size_t)s * MAXOUT, w->out, sizeof w->out[0] * w->nout);
    }
    return w;
}

static void test_determinism(void **state)
{
    enum { STEPS = 300 };
    struct vn_bal_action *a1 = calloc((size_t)STEPS * MAXOUT, sizeof *a1);
    struct vn_bal_action *a2 = calloc((size_t)STEPS * MAXOUT, sizeof *a2);
    unsigned h1[MAXOUT + 1] = {0}, h2[MAXOUT + 1] = {0};
    struct world *w1 = busy_world(42, &h1, STEPS, a1);
    struct world *w2 = busy_world(42, &h2, STEPS, a2);
    assert_memory_equal(h1, h2, sizeof h1);
    assert_memory_equal(a1, a2, sizeof *a1 * STEPS * MAXOUT);
    assert_memory_equal(&w1->st, &w2->st, sizeof w1->st);
    assert_memory_equal(w1->ds, w2->ds, sizeof w1->ds);
    unsigned total = 0;
    for (int i = 0; i <= MAXOUT; i++)
        total += h1[i];
    assert_true(total > 0);
    world_free(w1);
    world_free(w2);
    free(a1);
    free(a2);
}

static void test_invalid_input(void **state)
{
    struct world *w = world_new(2, 4, 4096, NULL);
    add_vm(w, "a", 1, (int[]){0}, 1024, 1, 1.0);
    uint64_t res[2] = {1024, 0}, free_mib[2] = {3072, 4096};
    double pressure[2] = {0, 0};
    struct vn_bal_vcpu_obs vc = {0, 5, 1};
    struct vn_bal_dom_obs d = {.name = "a", .nvnodes = 1, .nvcpus = 1, .vcpus = &vc};
    d.vnodes[0] = (struct vn_bal_vnode_obs){0, res, 0};
    struct vn_bal_host_obs h = {SEC, SEC, w->t, free_mib, pressure, NULL};
    struct vn_error err = {0};
    int n = -1;
    assert_int_equal(vn_bal_run(&w->p, &w->st, &h, 1, &d, w->ds, w->out, MAXOUT, &n, &err), -1);
    assert_non_null(strstr(err.msg, "vCPU 0"));
    assert_false(w->st.init);
    assert_false(w->ds[0].init);
    assert_int_equal(n, 0);
    vc.node = 1;
    h.interval_ns = 0;
    assert_int_equal(vn_bal_run(&w->p, &w->st, &h, 1, &d, w->ds, w->out, MAXOUT, &n, &err), -1);
    assert_non_null(strstr(err.msg, "interval"));
    h.interval_ns = SEC;
    assert_int_equal(vn_bal_run(&w->p, &w->st, &h, 1, &d, w->ds, w->out, MAXOUT, &n, &err), 0);
    assert_string_equal(vn_bal_kind_name(VN_BAL_REPLACE_VM), "replace");
    assert_string_equal(vn_bal_skip_name(VN_BAL_SKIP_RATE_LIMIT), "rate-limit");
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_follows_vcpus),
        cmocka_unit_test(test_vcpus_follow_memory),
        cmocka_unit_test(test_small_vnode_moves_whole),
        cmocka_unit_test(test_widen_under_pressure),
        cmocka_unit_test(test_widen_while_moving),
        cmocka_unit_test(test_overload_replaces),
        cmocka_unit_test(test_nic_locality_in_replace),
        cmocka_unit_test(test_freed_node_pulls_vm),
        cmocka_unit_test(test_no_ping_pong),
        cmocka_unit_test(test_rate_limits),
        cmocka_unit_test(test_opt_out_and_fixed),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_invalid_input),
    };
    return cmocka_run_group_tests_name("balance", tests, NULL, NULL);
}
