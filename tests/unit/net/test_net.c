/* net/: bridge checks and port locality against a fake /sys/class/net made in a temp dir,
 * and the generated tap names; the locality input to placement (a NIC's node pulls the VM
 * like a pci= device). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/net.h"
#include "place/place.h"
#include "topo/topo.h"

static char root[256];

static void mk(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* br0: ports eth1 (a NIC on node 1), veth0 (no device), eth0 (a NIC that says -1);
 * br1: port eth2 on node 0; notbr: an interface that is no bridge. */
static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/vnuma-test-net.XXXXXX");
    assert_non_null(mkdtemp(root));
    const char *dirs[] = {
        "br0",           "br0/bridge",  "br0/brif",    "br0/brif/eth1", "br0/brif/veth0",
        "br0/brif/eth0", "eth1",        "eth1/device", "eth0",          "eth0/device",
        "veth0",         "br1",         "br1/bridge",  "br1/brif",      "br1/brif/eth2",
        "eth2",          "eth2/device", "notbr"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        mk(dirs[i]);
    put("eth1/device/numa_node", "1\n");
    put("eth0/device/numa_node", "-1\n");
    put("eth2/device/numa_node", "0\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_port_nodes(void **state)
{
    (void)state;
    int nodes[8];
    char ports[8][VN_NET_IFNAME_LEN];
    struct vn_error err = {0};
    /* only the port whose device has a node counts */
    assert_int_equal(vn_net_bridge_port_nodes_at(root, "br0", nodes, ports, 8, &err), 1);
    assert_int_equal(nodes[0], 1);
    assert_string_equal(ports[0], "eth1");
    assert_int_equal(vn_net_bridge_port_nodes_at(root, "br1", nodes, ports, 8, &err), 1);
    assert_int_equal(nodes[0], 0);
    assert_string_equal(ports[0], "eth2");
    /* max bounds what is written */
    assert_int_equal(vn_net_bridge_port_nodes_at(root, "br0", nodes, ports, 0, &err), 0);
    /* a missing bridge and an interface that is no bridge are errors naming them */
    assert_int_equal(vn_net_bridge_port_nodes_at(root, "br9", nodes, ports, 8, &err), -1);
    assert_string_equal(err.msg, "bridge 'br9' does not exist");
    assert_int_equal(vn_net_bridge_port_nodes_at(root, "notbr", nodes, ports, 8, &err), -1);
    assert_string_equal(err.msg, "'notbr' is not a bridge");
    assert_int_equal(vn_net_bridge_port_nodes_at(root, "../etc", nodes, ports, 8, &err), -1);
    assert_string_equal(err.msg, "bridge '../etc' does not exist");
}

static void test_tap_names(void **state)
{
    (void)state;
    char a[VN_NET_IFNAME_LEN], b[VN_NET_IFNAME_LEN], c[VN_NET_IFNAME_LEN], d[VN_NET_IFNAME_LEN];
    vn_net_tap_name("/run/vnuma", "web", 0, a);
    vn_net_tap_name("/run/vnuma", "web", 0, b);
    vn_net_tap_name("/run/vnuma", "web", 1, c);
    vn_net_tap_name("/tmp/other", "web", 0, d);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_memory_equal(a, "vn", 2);
    /* the longest devid still fits IFNAMSIZ - 1 */
    vn_net_tap_name("/run/vnuma", "a-very-long-domain-name-of-sixty-four-characters", 65535, a);
    assert_true(strlen(a) <= 15);
    assert_string_equal(a + strlen(a) - 6, ".65535");
}

/* What the port locality feeds into placement: a device on node index 1 pulls a VM that fits
 * anywhere onto node 1, as a pci= device does. */
static void test_locality_pulls_placement(void **state)
{
    (void)state;
    struct vn_error err = {0};
    struct vn_host_topo *t = vn_topo_load("synthetic:pack:2 numa:1 core:2 pu:1", &err);
    if (!t)
        fail_msg("%s", err.msg);
    struct vn_vm_spec spec = {
        .name = "nic", .memory_mib = 512, .maxmem_mib = 512, .vcpus = 1, .maxvcpus = 1};
    struct vn_place_request req;
    struct vn_host_load *load = calloc(1, sizeof *load);
    struct vn_placement *p = calloc(1, sizeof *p);
    vn_host_load_init(load, t);
    assert_int_equal(vn_place_request_init(&req, &spec, t, &err), 0);
    assert_int_equal(vn_place(VN_PLACE_VNUMA, t, load, &req, p, NULL, &err), 0);
    int before = vn_bitmap_next(&p->vnodes[0].pnodes, -1);
    int other = before == 0 ? 1 : 0;
    assert_int_equal(vn_place_request_init(&req, &spec, t, &err), 0);
    assert_int_equal(vn_place_request_add_dev(&req, t, other, &err), 0);
    assert_int_equal(vn_place(VN_PLACE_VNUMA, t, load, &req, p, NULL, &err), 0);
    assert_int_equal(vn_bitmap_next(&p->vnodes[0].pnodes, -1), other);
    /* a node the host lacks is refused */
    assert_int_equal(vn_place_request_add_dev(&req, t, 2, &err), -1);
    free(p);
    free(load);
    vn_topo_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_nodes),
        cmocka_unit_test(test_tap_names),
        cmocka_unit_test(test_locality_pulls_placement),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
