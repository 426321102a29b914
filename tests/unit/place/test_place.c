/* Unit tests for src/lib/place: one hand-checked case per rule, libxl's behaviour for the
 * xen algorithm, exact against vnuma, and a property test over random hosts and streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "place/place.h"
#include "testhost.h"

struct fixture {
    struct vn_host_topo *t;
    struct vn_host_load *load;
    struct vn_placement *p;
    struct vn_place_explain *ex;
    struct vn_error err;
};

static struct fixture *fx_new(struct vn_host_topo *t)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->t = t;
    f->load = calloc(1, sizeof *f->load);
    f->p = calloc(1, sizeof *f->p);
    f->ex = calloc(1, sizeof *f->ex);
    vn_host_load_init(f->load, t);
    return f;
}

static void fx_free(struct fixture *f)
{
    th_host_free(f->t);
    free(f->load);
    free(f->p);
    free(f->ex);
    free(f);
}

/* Places spec with algo; on success applies the claim (with the spec's groups). */
static int place(struct fixture *f, enum vn_place_algo algo, const struct vn_vm_spec *s)
{
    struct vn_place_request req;
    if (vn_place_request_init(&req, s, f->t, &f->err) < 0)
        return -1;
    if (vn_place(algo, f->t, f->load, &req, f->p, f->ex, &f->err) < 0)
        return -1;
    assert_int_equal(vn_host_load_add_claim(f->load, f->t, &f->p->claim, s->affinity_group,
                                            s->anti_affinity_group, &f->err),
                     0);
    return 0;
}

/* The single node of a flat placement. */
static int only_node(const struct vn_placement *p)
{
    assert_int_equal(p->claim.n, 1);
    return p->claim.v[0].node;
}

static void claim_on(struct fixture *f, int node, uint64_t mem, int vcpus, const char *aff,
                     const char *anti)
{
    struct vn_claim c = {.n = 1, .v = {{node, mem, vcpus}}};
    assert_int_equal(vn_host_load_add_claim(f->load, f->t, &c, aff, anti, &f->err), 0);
}

static void test_single_node_and_tie(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(2, 4, 1, 4096, NULL));
    struct vn_vm_spec *s = th_spec("a", 2, 1024);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    /* Both nodes idle: the tie goes to the lower index. */
    assert_int_equal(only_node(f->p), 0);
    assert_false(f->p->guest_numa);
    assert_int_equal(f->p->claim.v[0].mem_mib, 1024);
    assert_int_equal(f->p->claim.v[0].vcpus, 2);
    /* Soft affinity: node 0's CPUs 0-3; no hard affinity. */
    char buf[64];
    vn_bitmap_format_list(vn_placement_soft(f->p, 1), buf, sizeof buf);
    assert_string_equal(buf, "0-3");
    assert_null(vn_placement_hard(f->p, 1));
    /* The claim is seen: the next VM goes to the other node. */
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 1);
    th_spec_free(s);
    fx_free(f);
}

static void test_pressure_prefers_idle_node(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(3, 4, 1, 8192, NULL));
    claim_on(f, 0, 1024, 4, NULL, NULL);
    claim_on(f, 1, 1024, 2, NULL, NULL);
    struct vn_vm_spec *s = th_spec("a", 2, 1024);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 2);
    th_spec_free(s);
    fx_free(f);
}

static void test_smt_counts_less_than_a_core(void **state)
{
    /* Node 0: 4 cores x 2 threads = 8 CPUs, capacity 4 + 4 * 0.6 = 6.4.
     * Node 1: 7 cores x 1 thread = 7 CPUs, capacity 7.  Counting CPUs, node 0 looks
     * bigger; counting cores, node 1 is. */
    struct vn_host_topo *t = th_host_uniform(2, 4, 2, 8192, NULL); /* CPUs 0-7, 8-15 */
    /* Turn node 1 into 7 single-thread cores: CPUs 8-14, drop 15. */
    vn_bitmap_clear(&t->nodes[1].cpus, 15);
    t->ncpus = 15;
    for (int c = 8; c < 15; c++) {
        t->cpus[c].core = 100 + c;
        t->cpus[c].smt = 0;
    }
    struct fixture *f = fx_new(t);
    assert_true(vn_host_node_capacity(f->load, t, 0) > 6.39 &&
                vn_host_node_capacity(f->load, t, 0) < 6.41);
    assert_true(vn_host_node_capacity(f->load, t, 1) > 6.99);
    claim_on(f, 0, 1024, 4, NULL, NULL);
    claim_on(f, 1, 1024, 4, NULL, NULL);
    struct vn_vm_spec *s = th_spec("a", 2, 1024);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    /* 6/7 = 0.86 on node 1 beats 6/6.4 = 0.94 on node 0. */
    assert_int_equal(only_node(f->p), 1);
    th_spec_free(s);
    fx_free(f);
}

static void test_distance_picks_close_pair(void **state)
{
    /* 0-1 and 2-3 are pairs at 12; across pairs 32. */
    int d[16] = {10, 12, 32, 32, 12, 10, 32, 32, 32, 32, 10, 12, 32, 32, 12, 10};
    struct fixture *f = fx_new(th_host_uniform(4, 4, 1, 4096, d));
    /* Node 0 is busy, so the best seed is elsewhere; the pair must still be close. */
    claim_on(f, 0, 512, 3, NULL, NULL);
    struct vn_vm_spec *s = th_spec("big", 4, 6144);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(f->p->claim.n, 2);
    int a = f->p->claim.v[0].node, b = f->p->claim.v[1].node;
    assert_int_equal(f->t->dist[a * 4 + b], 12);
    assert_true((a == 2 && b == 3) || (a == 3 && b == 2));
    /* Generated vNUMA mirroring the pair. */
    assert_true(f->p->guest_numa);
    assert_true(f->p->generated);
    assert_int_equal(f->p->nvnodes, 2);
    assert_int_equal(f->p->vdist[0][1], 12);
    assert_int_equal(f->p->vdist[1][0], 12);
    assert_int_equal(f->p->vnodes[0].mem_mib + f->p->vnodes[1].mem_mib, 6144);
    assert_int_equal(vn_bitmap_count(&f->p->vnodes[0].vcpus), 2);
    assert_int_equal(vn_bitmap_count(&f->p->vnodes[1].vcpus), 2);
    /* Each vnode's vCPUs prefer their own node's CPUs. */
    int pn0 = vn_bitmap_next(&f->p->vnodes[0].pnodes, -1);
    assert_true(vn_bitmap_equal(vn_placement_soft(f->p, 0), &f->t->nodes[pn0].cpus));
    th_spec_free(s);
    fx_free(f);
}

static void test_auto_vnuma_by_cpus(void **state)
{
    /* 6 vCPUs on 4-CPU nodes: two nodes even though the memory would fit on one. */
    struct fixture *f = fx_new(th_host_uniform(2, 4, 1, 8192, NULL));
    struct vn_vm_spec *s = th_spec("wide", 6, 2048);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(f->p->nvnodes, 2);
    assert_int_equal(vn_bitmap_count(&f->p->vnodes[0].vcpus), 3);
    assert_int_equal(vn_bitmap_count(&f->p->vnodes[1].vcpus), 3);
    assert_int_equal(f->p->vnodes[0].mem_mib, 1024);
    assert_int_equal(f->p->vnodes[1].mem_mib, 1024);
    assert_int_equal(f->p->vcpu_vnode[0], 0);
    assert_int_equal(f->p->vcpu_vnode[5], 1);
    th_spec_free(s);
    fx_free(f);
}

static void test_reservation(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(2, 4, 1, 4096, NULL));
    struct vn_bitmap cpus;
    vn_bitmap_zero(&cpus);
    vn_bitmap_set_range(&cpus, 0, 1);
    assert_int_equal(vn_host_load_reserve(f->load, f->t, 1024, &cpus, &f->err), 0);
    assert_int_equal(vn_host_load_free_mib(f->load, f->t, 0), 3072);
    /* 3 vCPUs: node 0 has only 2 usable CPUs now, so node 1. */
    struct vn_vm_spec *s = th_spec("a", 3, 1024);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 1);
    th_spec_free(s);
    /* A VM on node 0 never gets the reserved CPUs in its affinity. */
    s = th_spec("b", 1, 512);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 0);
    char buf[64];
    vn_bitmap_format_list(vn_placement_soft(f->p, 0), buf, sizeof buf);
    assert_string_equal(buf, "2-3");
    th_spec_free(s);
    /* 3584 MiB would fit in 4096 but not in 4096 - 1024 on any node... yet across two. */
    s = th_spec("c", 1, 3584);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(f->p->nvnodes, 2);
    th_spec_free(s);
    /* A hard affinity made only of reserved CPUs is refused. */
    s = th_spec("d", 1, 256);
    th_spec_affinity(s, 1, "0-1");
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(f->err.msg, "cpus '0-1' has only CPUs that are kept for the host.");
    th_spec_free(s);
    fx_free(f);
}

static void test_devices_pull_the_vm(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(4, 4, 1, 4096, NULL));
    th_host_add_pci(f->t, "0000:03:00.0", 2);
    struct vn_vm_spec *s = th_spec("io", 2, 1024);
    th_spec_add_pci(s, "0000:03:00.0");
    /* Node 2 a bit busier than the rest: the device still wins. */
    claim_on(f, 2, 512, 1, NULL, NULL);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 2);
    th_spec_free(s);
    /* An address the host lacks is an error naming it; the short form is accepted. */
    s = th_spec("io2", 1, 256);
    th_spec_add_pci(s, "0000:09:00.0");
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(f->err.msg, "PCI device '0000:09:00.0' is not on host 'test-4n'.");
    th_spec_free(s);
    s = th_spec("io3", 1, 256);
    th_spec_add_pci(s, "03:00.0");
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 2);
    th_spec_free(s);
    fx_free(f);
}

static void test_groups(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(3, 4, 1, 8192, NULL));
    claim_on(f, 1, 1024, 2, "web", NULL);
    struct vn_vm_spec *s = th_spec("web2", 1, 1024);
    s->affinity_group = strdup("web");
    /* Nodes 0 and 2 are idle, node 1 has a web VM: affinity wins. */
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 1);
    th_spec_free(s);

    claim_on(f, 0, 512, 0, NULL, "db");
    s = th_spec("db2", 1, 1024);
    s->anti_affinity_group = strdup("db");
    /* Node 0 is the least loaded now, but holds a db VM. */
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 2);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    /* 0 and 2 both hold db VMs now; the third goes to 1 even though it is busiest. */
    assert_int_equal(only_node(f->p), 1);
    th_spec_free(s);
    fx_free(f);
}

static void test_fixed_pnodes(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(4, 4, 1, 4096, NULL));
    struct vn_vm_spec *s = th_spec("fixed", 4, 4096);
    int pn[2] = {3, 1};
    th_spec_vnodes(s, 2, pn, NULL);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_true(f->p->guest_numa);
    assert_false(f->p->generated);
    assert_true(vn_bitmap_test(&f->p->vnodes[0].pnodes, 3));
    assert_true(vn_bitmap_test(&f->p->vnodes[1].pnodes, 1));
    assert_int_equal(f->p->vdist[0][1], 20);
    th_spec_free(s);
    /* Node 3 has 2048 MiB left: a 3072 MiB vnode fixed there is refused, and says so. */
    s = th_spec("fixed2", 2, 6144);
    int pn2[2] = {3, 0};
    th_spec_vnodes(s, 2, pn2, NULL);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(f->err.msg, "vnode 0 of VM 'fixed2' needs 3072 MiB on node 3 (its pnode) "
                                    "but node 3 has 2048 MiB free.");
    th_spec_free(s);
    s = th_spec("fixed3", 1, 512);
    int pn3[1] = {9};
    th_spec_vnodes(s, 1, pn3, NULL);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(
        f->err.msg, "vnode 0 of VM 'fixed3' has pnode '9', which host 'test-4n' does not have.");
    th_spec_free(s);
    fx_free(f);
}

static void test_free_vnodes_follow_distances(void **state)
{
    int d[16] = {10, 12, 32, 32, 12, 10, 32, 32, 32, 32, 10, 12, 32, 32, 12, 10};
    struct fixture *f = fx_new(th_host_uniform(4, 4, 1, 4096, d));
    struct vn_vm_spec *s = th_spec("v", 4, 4096);
    int pn[2] = {2, -1};
    int vd[4] = {10, 12, 12, 10};
    th_spec_vnodes(s, 2, pn, vd);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    /* vnode 1 goes next to node 2 (distance 12, as the guest was told). */
    assert_true(vn_bitmap_test(&f->p->vnodes[1].pnodes, 3));
    assert_int_equal(f->p->vdist[0][1], 12);
    th_spec_free(s);
    /* A free vnode too big for any node says how big the largest hole is. */
    s = th_spec("v2", 2, 16384);
    th_spec_vnodes(s, 2, NULL, NULL);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(f->err.msg, "vnode 0 of VM 'v2' needs 8192 MiB on one node; the largest "
                                    "free is 4096 MiB on node 0.");
    th_spec_free(s);
    fx_free(f);
}

static void test_does_not_fit_messages(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(2, 4, 1, 4096, NULL));
    claim_on(f, 1, 3072, 1, NULL, NULL);
    struct vn_vm_spec *s = th_spec("huge", 2, 12288);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(f->err.msg, "VM 'huge' does not fit: it needs 12288 MiB and the host has "
                                    "5120 MiB free in all (the largest free is 4096 MiB on node "
                                    "0).");
    th_spec_free(s);
    /* More vCPUs than CPUs is sharing, not a refusal: libxl leaves such a VM unplaced
     * (every node), vnuma spreads it over the nodes it needs for all the CPUs. */
    s = th_spec("wide", 9, 1024);
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(vn_bitmap_count(&f->p->vnodes[0].pnodes), 2);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(f->p->nvnodes, 2);
    th_spec_free(s);
    /* No usable CPU at all is a refusal. */
    struct vn_bitmap all;
    vn_bitmap_zero(&all);
    vn_bitmap_set_range(&all, 0, 7);
    vn_host_load_reserve(f->load, f->t, 0, &all, &f->err);
    s = th_spec("nocpu", 1, 256);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(f->err.msg, "VM 'nocpu' does not fit: it needs CPUs and the host has none "
                                    "it may use (8 kept for the host).");
    th_spec_free(s);
    fx_free(f);
}

static void test_hard_and_soft_affinity_honoured(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(4, 4, 1, 4096, NULL));
    struct vn_vm_spec *s = th_spec("pinned", 2, 1024);
    th_spec_affinity(s, 1, "12-13");
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 3);
    char buf[64];
    vn_bitmap_format_list(vn_placement_hard(f->p, 0), buf, sizeof buf);
    assert_string_equal(buf, "12-13");
    /* Soft is the node's CPUs narrowed to the hard set. */
    vn_bitmap_format_list(vn_placement_soft(f->p, 0), buf, sizeof buf);
    assert_string_equal(buf, "12-13");
    th_spec_free(s);
    s = th_spec("soft", 2, 1024);
    th_spec_affinity(s, 0, "5");
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 1);
    vn_bitmap_format_list(vn_placement_soft(f->p, 1), buf, sizeof buf);
    assert_string_equal(buf, "5");
    th_spec_free(s);
    s = th_spec("bad", 1, 256);
    th_spec_affinity(s, 1, "99");
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), -1);
    assert_string_equal(f->err.msg,
                        "cpus '99' names CPU '99', which host 'test-4n' does not have.");
    th_spec_free(s);
    fx_free(f);
}

static void test_xen_min_nodes_and_cmpf(void **state)
{
    /* 4 nodes x 4 CPUs; 6 vCPUs: libxl starts at ceil(6/4) = 2 nodes. */
    struct fixture *f = fx_new(th_host_uniform(4, 4, 1, 8192, NULL));
    /* A VM spanning nodes 0 and 1 with 2 vCPUs counts 2 on each (nr_vcpus_on_nodes). */
    struct vn_claim c = {.n = 2, .v = {{0, 512, 1}, {1, 512, 1}}};
    assert_int_equal(vn_host_load_add_claim(f->load, f->t, &c, NULL, NULL, &f->err), 0);
    assert_int_equal(f->load->xen_vcpus[0], 2);
    assert_int_equal(f->load->xen_vcpus[1], 2);
    assert_int_equal(f->load->vcpus[0], 1);
    /* Take memory from node 2 so that {2,3} has less free memory than {0,3}/{1,3}... but
     * fewer vCPUs wins first: {2,3} (0 vCPUs) beats every pair touching 0 or 1. */
    claim_on(f, 2, 4096, 0, NULL, NULL);
    struct vn_vm_spec *s = th_spec("x", 6, 2048);
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(f->p->claim.n, 2);
    assert_true(vn_bitmap_test(&f->p->vnodes[0].pnodes, 2));
    assert_true(vn_bitmap_test(&f->p->vnodes[0].pnodes, 3));
    /* xen never makes vNUMA: one flat vnode over both nodes, soft affinity to their CPUs. */
    assert_false(f->p->guest_numa);
    assert_int_equal(f->p->nvnodes, 1);
    char buf[64];
    vn_bitmap_format_list(vn_placement_soft(f->p, 0), buf, sizeof buf);
    assert_string_equal(buf, "8-15");
    th_spec_free(s);
    fx_free(f);
}

static void test_xen_ties_and_free_memory(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(3, 4, 1, 8192, NULL));
    struct vn_vm_spec *s = th_spec("x", 1, 512);
    /* All equal: the first combination ({0}) wins. */
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(only_node(f->p), 0);
    /* Node 0 now has 1 vCPU: {1} and {2} tie on vCPUs; memory equal too: {1}. */
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(only_node(f->p), 1);
    /* Equal vCPUs on 0,1; node 2 has 0: node 2 -- xen ignores memory until vCPUs tie. */
    claim_on(f, 2, 7000, 0, NULL, NULL);
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(only_node(f->p), 2);
    /* Now 1 vCPU each; node 2 has the least free memory, so 0 (more free than 1? equal:
     * both have 8192 - 512; first wins). */
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(only_node(f->p), 0);
    th_spec_free(s);
    fx_free(f);
}

static void test_xen_limits_and_rules(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(17, 2, 1, 2048, NULL));
    struct vn_vm_spec *s = th_spec("x", 1, 512);
    assert_int_equal(place(f, VN_PLACE_XEN, s), -1);
    assert_string_equal(f->err.msg, "the xen algorithm, like libxl, does not place VMs on hosts "
                                    "with more than 16 NUMA nodes, and host 'test-17n' has 17; "
                                    "use '--algo vnuma'.");
    /* vnuma has no such limit. */
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    th_spec_free(s);
    fx_free(f);

    f = fx_new(th_host_uniform(4, 4, 1, 4096, NULL));
    /* With cpus_soft libxl does not place: memory may come from all nodes. */
    s = th_spec("soft", 2, 2048);
    th_spec_affinity(s, 0, "0-1");
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(vn_bitmap_count(&f->p->vnodes[0].pnodes), 4);
    th_spec_free(s);
    /* Hard affinity restricts the candidates to the nodes it covers. */
    s = th_spec("hard", 2, 1024);
    th_spec_affinity(s, 1, "8-9");
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    assert_int_equal(only_node(f->p), 2);
    th_spec_free(s);
    /* vNUMA without pnodes is not something xl accepts. */
    s = th_spec("vn", 2, 1024);
    th_spec_vnodes(s, 2, NULL, NULL);
    assert_int_equal(place(f, VN_PLACE_XEN, s), -1);
    assert_string_equal(f->err.msg, "the xen algorithm needs a pnode for every vnode, as xl does, "
                                    "and vnode 0 of VM 'vn' has none; use '--algo vnuma'.");
    th_spec_free(s);
    fx_free(f);
}

static void test_xen_ignores_distance_vnuma_does_not(void **state)
{
    /* Nodes 0-1 far apart (40), 1-2 close (11), 0-2 far (40) ... */
    int d[9] = {10, 40, 40, 40, 10, 11, 40, 11, 10};
    struct fixture *f = fx_new(th_host_uniform(3, 4, 1, 4096, d));
    struct vn_vm_spec *s = th_spec("big", 4, 6144);
    assert_int_equal(place(f, VN_PLACE_XEN, s), 0);
    /* libxl: first combination of 2 with the memory: {0,1}. */
    assert_true(vn_bitmap_test(&f->p->vnodes[0].pnodes, 0));
    double dx = vn_placement_distance(f->t, f->p);
    fx_free(f);
    f = fx_new(th_host_uniform(3, 4, 1, 4096, d));
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    double dv = vn_placement_distance(f->t, f->p);
    assert_true(dv < dx);
    assert_int_equal(f->p->vdist[0][1], 11);
    th_spec_free(s);
    fx_free(f);
}

static void test_explain(void **state)
{
    struct fixture *f = fx_new(th_host_uniform(3, 4, 1, 4096, NULL));
    claim_on(f, 0, 1024, 3, NULL, NULL);
    struct vn_vm_spec *s = th_spec("a", 1, 512);
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(f->ex->considered, 3);
    assert_int_equal(f->ex->ncands, 3);
    /* Best first; the chosen one is first and marked. */
    assert_true(f->ex->cands[0].chosen);
    assert_true(f->ex->cands[0].score <= f->ex->cands[1].score);
    assert_true(vn_bitmap_test(&f->ex->cands[2].nodes, 0));
    assert_true(strlen(f->ex->why) > 20);
    th_spec_free(s);
    fx_free(f);
}

static void test_deterministic(void **state)
{
    int d[16] = {10, 16, 22, 22, 16, 10, 22, 22, 22, 22, 10, 16, 22, 22, 16, 10};
    for (int algo = 0; algo < 3; algo++) {
        struct vn_claim first[20];
        for (int round = 0; round < 2; round++) {
            struct fixture *f = fx_new(th_host_uniform(4, 4, 2, 8192, d));
            for (int i = 0; i < 20; i++) {
                struct vn_vm_spec *s = th_spec("d", 1 + i % 5, 512 + 700 * (i % 7));
                if (place(f, (enum vn_place_algo)algo, s) < 0)
                    f->p->claim.n = -1;
                if (round == 0)
                    first[i] = f->p->claim;
                else
                    assert_memory_equal(&first[i], &f->p->claim, sizeof first[i]);
                th_spec_free(s);
            }
            fx_free(f);
        }
    }
}

static void test_exact_never_worse_than_vnuma(void **state)
{
    uint64_t rng = 42;
    for (int iter = 0; iter < 200; iter++) {
        int nn = 2 + (int)(th_rand(&rng) % 7);
        int d[64];
        for (int a = 0; a < nn; a++)
            for (int b = a; b < nn; b++)
                d[a * nn + b] = d[b * nn + a] = a == b ? 10 : 12 + (int)(th_rand(&rng) % 20);
        struct fixture *f = fx_new(th_host_uniform(nn, 4, 1, 4096, d));
        struct fixture *g = fx_new(th_host_uniform(nn, 4, 1, 4096, d));
        for (int i = 0; i < 6; i++) {
            uint64_t mem = 256 * (1 + th_rand(&rng) % 24);
            int vcpus = 1 + (int)(th_rand(&rng) % 6);
            claim_on(f, (int)(th_rand(&rng) % nn), mem / 4, vcpus / 2, NULL, NULL);
            *g->load = *f->load;
            struct vn_vm_spec *s = th_spec("e", vcpus, mem);
            struct vn_place_request req;
            assert_int_equal(vn_place_request_init(&req, s, f->t, &f->err), 0);
            int rv = vn_place(VN_PLACE_VNUMA, f->t, f->load, &req, f->p, NULL, &f->err);
            int re = vn_place(VN_PLACE_EXACT, g->t, g->load, &req, g->p, NULL, &g->err);
            /* Both refuse exactly when the host has not the memory or CPUs. */
            assert_int_equal(rv, re);
            if (rv == 0) {
                assert_true(g->p->claim.n <= f->p->claim.n);
                if (g->p->claim.n == f->p->claim.n)
                    assert_true(g->p->score <= f->p->score + 1e-9);
                assert_int_equal(
                    vn_host_load_add_claim(f->load, f->t, &f->p->claim, NULL, NULL, &f->err), 0);
            }
            th_spec_free(s);
        }
        fx_free(f);
        fx_free(g);
    }
}

static void test_stream_exact(void **state)
{
    int d[16] = {10, 12, 30, 30, 12, 10, 30, 30, 30, 30, 10, 12, 30, 30, 12, 10};
    struct fixture *f = fx_new(th_host_uniform(4, 4, 1, 4096, d));
    struct vn_vm_spec *specs[6];
    struct vn_place_request reqs[6];
    struct vn_placement *out = calloc(6, sizeof *out);
    struct vn_placement *seq = calloc(6, sizeof *seq);
    bool placed[6];
    uint64_t mem[6] = {3072, 3072, 2048, 2048, 1024, 5120};
    int vc[6] = {2, 2, 3, 1, 4, 2};
    for (int i = 0; i < 6; i++) {
        specs[i] = th_spec("s", vc[i], mem[i]);
        assert_int_equal(vn_place_request_init(&reqs[i], specs[i], f->t, &f->err), 0);
    }
    double opt;
    bool proven;
    assert_int_equal(
        vn_place_stream_exact(f->t, f->load, reqs, 6, out, placed, &opt, &proven, &f->err), 0);
    assert_true(proven);
    /* Sequential vnuma on the same stream, scored with the same objective. */
    const struct vn_placement *pp[6];
    const struct vn_place_request *rp[6];
    for (int i = 0; i < 6; i++) {
        rp[i] = &reqs[i];
        pp[i] = NULL;
        if (vn_place(VN_PLACE_VNUMA, f->t, f->load, &reqs[i], &seq[i], NULL, &f->err) == 0) {
            vn_host_load_add_claim(f->load, f->t, &seq[i].claim, NULL, NULL, &f->err);
            pp[i] = &seq[i];
        }
    }
    double jv = vn_place_stream_objective(f->t, f->load, pp, rp, 6);
    assert_true(opt <= jv + 1e-9);
    /* The optimum recomputed from its own placements is the same number. */
    struct vn_host_load *l2 = calloc(1, sizeof *l2);
    vn_host_load_init(l2, f->t);
    for (int i = 0; i < 6; i++) {
        pp[i] = placed[i] ? &out[i] : NULL;
        if (placed[i])
            vn_host_load_add_claim(l2, f->t, &out[i].claim, NULL, NULL, &f->err);
    }
    double jo = vn_place_stream_objective(f->t, l2, pp, rp, 6);
    assert_true(jo > opt - 1e-6 && jo < opt + 1e-6);
    /* Every VM fits: 16 GiB asked of 16 GiB. */
    for (int i = 0; i < 6; i++)
        assert_true(placed[i]);
    for (int i = 0; i < 6; i++)
        th_spec_free(specs[i]);
    free(l2);
    free(out);
    free(seq);
    fx_free(f);
}

/* Property: over random hosts and streams, no algorithm ever overcommits a node's memory, a
 * claim always adds up to the VM, and every vCPU has a vnode. */
static void test_property_never_overcommits(void **state)
{
    uint64_t rng = 7;
    int placements = 0, refusals = 0;
    for (int iter = 0; iter < 60; iter++) {
        int nn = 1 + (int)(th_rand(&rng) % 12);
        int cores[12];
        uint64_t mem[12];
        int d[144];
        for (int a = 0; a < nn; a++) {
            cores[a] = 1 + (int)(th_rand(&rng) % 8);
            mem[a] = 1024 * (1 + th_rand(&rng) % 16);
            for (int b = a; b < nn; b++)
                d[a * nn + b] = d[b * nn + a] = a == b ? 10 : 11 + (int)(th_rand(&rng) % 30);
        }
        int smt = 1 + (int)(th_rand(&rng) % 2);
        for (int algo = 0; algo < 3; algo++) {
            struct fixture *f = fx_new(th_host(nn, cores, smt, mem, d));
            if (th_rand(&rng) % 3 == 0)
                vn_host_load_reserve(f->load, f->t, 256, NULL, &f->err);
            for (int i = 0; i < 25; i++) {
                int vcpus = 1 + (int)(th_rand(&rng) % 10);
                uint64_t m = 128 * (1 + th_rand(&rng) % 40);
                struct vn_vm_spec *s = th_spec("p", vcpus, m);
                if (th_rand(&rng) % 5 == 0)
                    th_spec_vnodes(s, 1 + (int)(th_rand(&rng) % 2), NULL, NULL);
                if (place(f, (enum vn_place_algo)algo, s) == 0) {
                    placements++;
                    uint64_t cm = 0;
                    int cv = 0;
                    for (int c = 0; c < f->p->claim.n; c++) {
                        cm += f->p->claim.v[c].mem_mib;
                        cv += f->p->claim.v[c].vcpus;
                    }
                    assert_int_equal(cm, s->memory_mib);
                    assert_int_equal(cv, vcpus);
                    for (int v = 0; v < vcpus; v++)
                        assert_true(f->p->vcpu_vnode[v] >= 0);
                    uint64_t vm = 0;
                    for (int x = 0; x < f->p->nvnodes; x++)
                        vm += f->p->vnodes[x].mem_mib;
                    assert_int_equal(vm, s->memory_mib);
                } else {
                    refusals++;
                    assert_true(strlen(f->err.msg) > 10);
                }
                for (int n = 0; n < nn; n++)
                    assert_true(f->load->mem_mib[n] + f->load->reserve_mib[n] <=
                                f->t->nodes[n].free_mib);
                th_spec_free(s);
            }
            fx_free(f);
        }
    }
    /* The streams are sized to exercise both outcomes. */
    assert_true(placements > 2000);
    assert_true(refusals > 100);
}

/* Memory already resident on a node is out of the host's free figure: only the part of a
 * claim not yet resident is subtracted again, and never more credit than the claim. */
static void test_resident_counted_once(void **state)
{
    (void)state;
    uint64_t mem[2] = {4000, 4000};
    struct fixture *f = fx_new(th_host(2, NULL, 1, mem, NULL));
    f->t->nodes[0].free_mib = 1000; /* 2000 of the claim below is touched, 1000 other use */
    struct vn_claim c = {.n = 1, .v = {{0, 3000, 1}}};
    assert_int_equal(vn_host_load_add_claim(f->load, f->t, &c, NULL, NULL, &f->err), 0);
    assert_int_equal(vn_host_load_free_mib(f->load, f->t, 0), 0);
    assert_int_equal(vn_host_load_add_resident(f->load, f->t, &c, 0, 2000, &f->err), 0);
    assert_int_equal(vn_host_load_free_mib(f->load, f->t, 0), 0 + 1000 + 2000 - 3000 + 0);
    /* More resident than claimed (pages that are not its share) earns nothing more. */
    assert_int_equal(vn_host_load_add_resident(f->load, f->t, &c, 0, 5000, &f->err), 0);
    assert_int_equal(vn_host_load_free_mib(f->load, f->t, 0), 1000);
    /* A node the VM does not claim gets no credit. */
    assert_int_equal(vn_host_load_add_resident(f->load, f->t, &c, 1, 500, &f->err), 0);
    assert_int_equal(vn_host_load_free_mib(f->load, f->t, 1), 4000);
    assert_int_equal(vn_host_load_add_resident(f->load, f->t, &c, 7, 1, &f->err), -1);
    assert_string_equal(f->err.msg, "node '7' is not on host 'test-2n'.");
    fx_free(f);
}

/* Re-placing a VM of an anti-affinity group: with its own claim removed, only the other
 * members' nodes are avoided.  Node 0 has less free memory, so a VM that still saw its own
 * node 0 in the group would avoid both nodes and take the roomier node 1, next to b. */
static void test_remove_claim_leaves_group(void **state)
{
    (void)state;
    uint64_t mem[2] = {2048, 4096};
    struct fixture *f = fx_new(th_host(2, NULL, 1, mem, NULL));
    claim_on(f, 0, 1024, 1, NULL, "g");
    claim_on(f, 1, 256, 1, NULL, "g");
    assert_int_equal(f->load->groups[0].nvms, 2);
    struct vn_claim a = {.n = 1, .v = {{0, 1024, 1}}};
    assert_int_equal(vn_host_load_remove_claim(f->load, f->t, &a, NULL, "g", &f->err), 0);
    assert_int_equal(f->load->mem_mib[0], 0);
    assert_int_equal(f->load->vcpus[0], 0);
    assert_int_equal(f->load->nvms, 1);
    assert_int_equal(f->load->groups[0].nvms, 1);
    assert_false(vn_bitmap_test(&f->load->groups[0].nodes, 0));
    assert_true(vn_bitmap_test(&f->load->groups[0].nodes, 1));
    struct vn_vm_spec *s = th_spec("a", 1, 1024);
    s->anti_affinity_group = strdup("g");
    assert_int_equal(place(f, VN_PLACE_VNUMA, s), 0);
    assert_int_equal(only_node(f->p), 0);
    th_spec_free(s);
    /* Two members on one node: removing one keeps the node in the group. */
    claim_on(f, 1, 256, 1, NULL, "g");
    struct vn_claim b = {.n = 1, .v = {{1, 256, 1}}};
    assert_int_equal(vn_host_load_remove_claim(f->load, f->t, &b, NULL, "g", &f->err), 0);
    assert_true(vn_bitmap_test(&f->load->groups[0].nodes, 1));
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_node_and_tie),
        cmocka_unit_test(test_pressure_prefers_idle_node),
        cmocka_unit_test(test_smt_counts_less_than_a_core),
        cmocka_unit_test(test_distance_picks_close_pair),
        cmocka_unit_test(test_auto_vnuma_by_cpus),
        cmocka_unit_test(test_reservation),
        cmocka_unit_test(test_devices_pull_the_vm),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_fixed_pnodes),
        cmocka_unit_test(test_free_vnodes_follow_distances),
        cmocka_unit_test(test_does_not_fit_messages),
        cmocka_unit_test(test_hard_and_soft_affinity_honoured),
        cmocka_unit_test(test_xen_min_nodes_and_cmpf),
        cmocka_unit_test(test_xen_ties_and_free_memory),
        cmocka_unit_test(test_xen_limits_and_rules),
        cmocka_unit_test(test_xen_ignores_distance_vnuma_does_not),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_exact_never_worse_than_vnuma),
        cmocka_unit_test(test_stream_exact),
        cmocka_unit_test(test_property_never_overcommits),
        cmocka_unit_test(test_resident_counted_once),
        cmocka_unit_test(test_remove_claim_leaves_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
