/* Unit tests for src/lib/topo: the host library round-trips, synthetic strings and their
 * extensions, hwloc XML with distances and PCI locality, the live host, and the exact
 * messages for invalid JSON host documents. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <hwloc.h>
#include <json-c/json.h>

#include "topo/topo.h"
#include "util/cleanup.h"

static char *srcpath(const char *rel)
{
    const char *root = getenv("VNUMA_SRCDIR");
    char *p;
    if (asprintf(&p, "%s/%s", root ? root : ".", rel) < 0)
        abort();
    return p;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(out);
    fclose(f);
    return buf;
}

/* The document as `vnuma topology --json` prints it (vn_cli_print_json adds the newline). */
static char *to_text(const struct vn_host_topo *t)
{
    struct json_object *doc = vn_topo_to_json(t);
    char *s;
    if (asprintf(&s, "%s\n",
                 json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
        abort();
    json_object_put(doc);
    return s;
}

/* Serializes t, parses that back and checks the second serialization is identical. */
static void assert_roundtrip(const struct vn_host_topo *t)
{
    struct vn_error err = {0};
    VN_CLEANUP_FREE char *a = to_text(t);
    struct vn_host_topo *back = vn_topo_from_json_buf(a, strlen(a), "roundtrip", &err);
    if (!back)
        fail_msg("%s", err.msg);
    VN_CLEANUP_FREE char *b = to_text(back);
    assert_string_equal(a, b);
    vn_topo_free(back);
}

struct library_stats {
    int files, max_nodes, memory_only, asymmetric, free_differs, pci_nodes, smt, multi_pkg_node;
};

static void survey(const struct vn_host_topo *t, struct library_stats *s)
{
    if (t->nnodes > s->max_nodes)
        s->max_nodes = t->nnodes;
    for (int i = 0; i < t->nnodes; i++) {
        s->memory_only += vn_bitmap_empty(&t->nodes[i].cpus);
        s->free_differs += t->nodes[i].free_known && t->nodes[i].free_mib != t->nodes[i].mem_mib;
        for (int j = 0; j < t->nnodes; j++)
            s->asymmetric += vn_topo_distance(t, i, j) != vn_topo_distance(t, j, i);
    }
    struct vn_bitmap pci_nodes;
    vn_bitmap_zero(&pci_nodes);
    for (int k = 0; k < t->npci; k++)
        if (t->pci[k].node >= 0)
            vn_bitmap_set(&pci_nodes, t->pci[k].node);
    if (vn_bitmap_count(&pci_nodes) > s->pci_nodes)
        s->pci_nodes = vn_bitmap_count(&pci_nodes);
    for (int k = 0; k < t->ncpus; k++)
        s->smt += t->cpus[k].smt > 0;
    for (int k = 1; k < t->ncpus; k++)
        s->multi_pkg_node +=
            t->cpus[k].node == t->cpus[0].node && t->cpus[k].package != t->cpus[0].package;
}

static void test_host_library_roundtrip(void **state)
{
    VN_CLEANUP_FREE char *dir = srcpath("tests/data/hosts");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct library_stats s = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        VN_CLEANUP_FREE char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
            abort();
        struct vn_error err = {0};
        struct vn_host_topo *t = vn_topo_load(path, &err);
        if (!t)
            fail_msg("%s", err.msg);
        assert_int_equal(vn_topo_validate(t, &err), 0);
        /* The files are stored in the printed form, so printing one gives it back. */
        VN_CLEANUP_FREE char *file = read_file(path);
        VN_CLEANUP_FREE char *printed = to_text(t);
        if (strcmp(file, printed) != 0)
            fail_msg("%s is not in the form vnuma prints", e->d_name);
        assert_roundtrip(t);
        int cpus = 0;
        for (int i = 0; i < t->nnodes; i++)
            cpus += vn_bitmap_count(&t->nodes[i].cpus);
        assert_int_equal(cpus, t->ncpus);
        survey(t, &s);
        s.files++;
        vn_topo_free(t);
    }
    closedir(d);
    /* The library must keep covering the shapes placement is tested against. */
    assert_true(s.files >= 14);
    assert_true(s.max_nodes >= 64);
    assert_true(s.memory_only > 0);
    assert_true(s.asymmetric > 0);
    assert_true(s.free_differs > 0);
    assert_true(s.pci_nodes >= 2);
    assert_true(s.smt > 0);
    assert_true(s.multi_pkg_node > 0);
}

static void test_synthetic_basic(void **state)
{
    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep)
    struct vn_host_topo *t = vn_topo_load("synthetic:pack:2 numa:2 core:8 pu:2", &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_int_equal(t->nnodes, 4);
    assert_int_equal(t->npackages, 2);
    assert_int_equal(t->ncpus, 2 * 2 * 8 * 2);
    assert_string_equal(t->name, "synthetic:pack:2 numa:2 core:8 pu:2");
    for (int i = 0; i < t->nnodes; i++) {
        assert_int_equal(vn_bitmap_count(&t->nodes[i].cpus), 16);
        assert_int_equal(t->nodes[i].package, i / 2);
        assert_false(t->nodes[i].free_known);
        /* hwloc's default synthetic node size is 1 GiB. */
        assert_int_equal(t->nodes[i].mem_mib, 1024);
        for (int j = 0; j < t->nnodes; j++)
            assert_int_equal(vn_topo_distance(t, i, j),
                             i == j ? VN_TOPO_DIST_LOCAL : VN_TOPO_DIST_REMOTE);
    }
    /* Two threads per core: each core id appears twice, as thread 0 and thread 1. */
    int threads[64] = {0};
    for (int k = 0; k < t->ncpus; k++) {
        assert_true(t->cpus[k].core < 64);
        assert_int_equal(t->cpus[k].smt, threads[t->cpus[k].core]++);
        assert_int_equal(t->nodes[t->cpus[k].node].package, t->cpus[k].package);
    }
    assert_roundtrip(t);
}

static void test_synthetic_extensions(void **state)
{
    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep)
    struct vn_host_topo *t = vn_topo_load(
        "synthetic:pack:2 numa:2(memory=1GB) core:2 pu:1;free=1G,2G,3G,512;mem=4G,8GiB,16384,1T;"
        "dist=10,11,21,22,12,10,23,24,31,32,10,11,41,42,12,10",
        &err);
    if (!t)
        fail_msg("%s", err.msg);
    const uint64_t mem[] = {4096, 8192, 16384, 1048576}, free_mib[] = {1024, 2048, 3072, 512};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t->nodes[i].mem_mib, mem[i]);
        assert_int_equal(t->nodes[i].free_mib, free_mib[i]);
        assert_true(t->nodes[i].free_known);
    }
    /* Row-major and kept asymmetric. */
    assert_int_equal(vn_topo_distance(t, 0, 1), 11);
    assert_int_equal(vn_topo_distance(t, 1, 0), 12);
    assert_int_equal(vn_topo_distance(t, 3, 1), 42);
    assert_int_equal(vn_topo_distance(t, 2, 3), 11);
    assert_roundtrip(t);

    VN_CLEANUP(vn_topo_freep)
    struct vn_host_topo *u = vn_topo_load("synthetic:numa:3 core:1 pu:2;mem=16G;dist=10,32", &err);
    if (!u)
        fail_msg("%s", err.msg);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(u->nodes[i].mem_mib, 16384);
        assert_false(u->nodes[i].free_known);
        for (int j = 0; j < 3; j++)
            assert_int_equal(vn_topo_distance(u, i, j), i == j ? 10 : 32);
    }
}

struct bad_case {
    const char *input;
    const char *msg;
};

static void test_synthetic_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"synthetic:pack:2 nuXma:2 core:2 pu:1",
         "hwloc does not accept synthetic topology 'pack:2 nuXma:2 core:2 pu:1' at 'nuXma:2'"},
        {"synthetic:pack:2 numa:2",
         "hwloc does not accept synthetic topology 'pack:2 numa:2'; its last level must be PUs, "
         "such as 'pu:2'"},
        {"synthetic:pack:2 numa:2 pu:2;dist=10,20,30",
         "synthetic host extension 'dist=10,20,30' needs 2 values (local,remote) or 16 (a 4x4 "
         "matrix); it has 3"},
        {"synthetic:pack:2 numa:2 pu:2;dist=12,20",
         "synthetic host 'pack:2 numa:2 pu:2;dist=12,20': the distance of node 0 to itself is "
         "'12'; it must be 10"},
        {"synthetic:numa:2 pu:2;dist=10,x",
         "synthetic host extension 'dist=10,x': 'x' is not a distance from 10 to 255"},
        {"synthetic:numa:2 pu:2;dist=10,256",
         "synthetic host extension 'dist=10,256': '256' is not a distance from 10 to 255"},
        {"synthetic:numa:2 pu:2;mem=12Q",
         "synthetic host extension 'mem=12Q': '12Q' is not a size such as '16G', '512M' or '1T'"},
        {"synthetic:numa:2 pu:2;mem=1G,2G,3G",
         "synthetic host extension 'mem=1G,2G,3G' needs 1 size or one per node (2); it has more "
         "than 2"},
        {"synthetic:numa:2 pu:2;mem=0", "synthetic host 'numa:2 pu:2;mem=0': node 0 has no memory"},
        {"synthetic:numa:2 pu:2;free=2G",
         "synthetic host 'numa:2 pu:2;free=2G': node 0 has '2048' MiB free but only '1024' MiB "
         "in all"},
        {"synthetic:numa:2 pu:2;cpus=4",
         "unknown synthetic host extension 'cpus=4'; expected 'mem=SIZE[,...]', "
         "'free=SIZE[,...]' or 'dist=N,...'"},
        {"synthetic:;mem=1G", "synthetic host ';mem=1G' has no hwloc topology before ';'"},
        {"host.txt",
         "host 'host.txt' is not a known source; use 'live', 'synthetic:STRING', a file ending in "
         ".xml or .json, or 'xml:PATH' / 'json:PATH'"},
    };
    for (size_t i = 0; i < VN_ARRAY_SIZE(cases); i++) {
        struct vn_error err = {0};
        struct vn_host_topo *t = vn_topo_load(cases[i].input, &err);
        if (t)
            fail_msg("'%s' was accepted", cases[i].input);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

static const struct vn_pci_dev *find_pci(const struct vn_host_topo *t, const char *addr)
{
    for (int k = 0; k < t->npci; k++)
        if (strcmp(t->pci[k].addr, addr) == 0)
            return &t->pci[k];
    fail_msg("no PCI device '%s'", addr);
    return NULL;
}

static void test_xml(void **state)
{
    VN_CLEANUP_FREE char *path = srcpath("tests/data/hosts/xml/snc2-4n.xml");
    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_load(path, &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_int_equal(t->nnodes, 4);
    assert_int_equal(t->npackages, 2);
    assert_int_equal(t->ncpus, 32);
    /* The NUMALatency matrix the file carries (10/11 inside a package, 21 across). */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            assert_int_equal(vn_topo_distance(t, i, j), i == j ? 10 : i / 2 == j / 2 ? 11 : 21);
    for (int i = 0; i < 4; i++)
        assert_int_equal(t->nodes[i].mem_mib, 32768);
    assert_true(t->nodes[1].free_known);
    assert_int_equal(t->nodes[1].free_mib, 20000);
    assert_false(t->nodes[0].free_known);
    assert_int_equal(t->npci, 5);
    assert_string_equal(find_pci(t, "0000:17:00.0")->name, "eth0");
    assert_int_equal(find_pci(t, "0000:17:00.0")->node, 0);
    assert_int_equal(find_pci(t, "0000:18:00.0")->node, 0);
    assert_string_equal(find_pci(t, "0000:d8:00.0")->name, "3D controller");
    assert_int_equal(find_pci(t, "0000:d8:00.0")->node, 3);
    assert_int_equal(find_pci(t, "0000:af:00.0")->node, -1); /* package of two nodes */
    assert_int_equal(find_pci(t, "0000:00:1f.2")->node, -1); /* machine-wide */
    assert_string_equal(find_pci(t, "0000:00:1f.2")->name, "SATA controller");
    for (int k = 1; k < t->npci; k++)
        assert_true(strcmp(t->pci[k - 1].addr, t->pci[k].addr) < 0);
    assert_roundtrip(t);
}

static void test_xml_errors(void **state)
{
    struct vn_error err = {0};
    assert_null(vn_topo_load("/nonexistent/host.xml", &err));
    assert_string_equal(err.msg,
                        "cannot open host file '/nonexistent/host.xml': No such file or directory");
    VN_CLEANUP_FREE char *json = srcpath("tests/data/hosts/laptop-1n.json");
    VN_CLEANUP_FREE char *spec = NULL;
    if (asprintf(&spec, "xml:%s", json) < 0)
        abort();
    assert_null(vn_topo_load(spec, &err));
    VN_CLEANUP_FREE char *want = NULL;
    if (asprintf(&want,
                 "hwloc cannot load XML file '%s' (is it an lstopo XML export?): Invalid argument",
                 json) < 0)
        abort();
    assert_string_equal(err.msg, want);
}

/* A memory node hanging next to a DRAM node shares its cpuset in hwloc; Linux (and vnuma)
 * give the CPUs to one node only. */
static void test_memory_only_nodes(void **state)
{
    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep)
    struct vn_host_topo *t =
        vn_topo_load("synthetic:pack:2 [numa(memory=64GB)] [numa(memory=16GB)] core:2 pu:2", &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_int_equal(t->nnodes, 4);
    for (int i = 0; i < 4; i++) {
        bool cpuless = i % 2 == 1;
        assert_int_equal(vn_bitmap_empty(&t->nodes[i].cpus), cpuless);
        assert_int_equal(t->nodes[i].package, cpuless ? -1 : i / 2);
    }
    assert_roundtrip(t);
}

static int count_sysfs_nodes(void)
{
    DIR *d = opendir("/sys/devices/system/node");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "node", 4) == 0 && e->d_name[4] >= '0' && e->d_name[4] <= '9';
    closedir(d);
    return n;
}

static void test_live_host(void **state)
{
    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_load(NULL, &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_string_equal(t->name, "live host");
    int sysfs = count_sysfs_nodes();
    if (sysfs > 0)
        assert_int_equal(t->nnodes, sysfs);
    assert_true(t->ncpus >= 1);
    assert_true(t->ncpus <= sysconf(_SC_NPROCESSORS_CONF));
    if (access("/sys/devices/system/node/node0/meminfo", R_OK) == 0 && t->nodes[0].os_index == 0) {
        assert_true(t->nodes[0].free_known);
        assert_true(t->nodes[0].free_mib <= t->nodes[0].mem_mib);
    }
    assert_int_equal(vn_topo_validate(t, &err), 0);
    assert_roundtrip(t);
    /* "live" and "" are this machine too. */
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *u = vn_topo_load("live", &err);
    assert_non_null(u);
    assert_int_equal(u->ncpus, t->ncpus);
}

static void test_json_compact_form(void **state)
{
    /* No cpus array, CPUs as a number list, no distances or pci: all derived. */
    static const char doc[] = "{\"nodes\":[{\"node\":0,\"memory_mib\":2048,\"cpus\":[0,1,2,3]},"
                              "{\"node\":2,\"package\":1,\"memory_mib\":1024,\"cpus\":\"4-5\"},"
                              "{\"node\":3,\"package\":null,\"memory_mib\":512,\"cpus\":\"\"}]}";
    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep)
    struct vn_host_topo *t = vn_topo_from_json_buf(doc, strlen(doc), "compact.json", &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_string_equal(t->name, "compact.json");
    assert_int_equal(t->ncpus, 6);
    assert_int_equal(t->npackages, 2);
    assert_int_equal(t->nodes[0].package, 0);
    assert_int_equal(t->nodes[2].package, -1);
    for (int k = 0; k < 6; k++) {
        assert_int_equal(t->cpus[k].core, t->cpus[k].os_index);
        assert_int_equal(t->cpus[k].smt, 0);
        assert_int_equal(t->cpus[k].package, k < 4 ? 0 : 1);
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            assert_int_equal(vn_topo_distance(t, i, j), i == j ? 10 : 20);
    assert_int_equal(vn_topo_node_index(t, 2), 1);
    assert_int_equal(vn_topo_node_index(t, 1), -1);
    assert_int_equal(vn_topo_cpu_index(t, 5), 5);
    assert_int_equal(vn_topo_cpu_index(t, 6), -1);
    assert_roundtrip(t);
}

#define NODE0 "{\"node\":0,\"memory_mib\":1024,\"cpus\":\"0-1\"}"
#define NODE1 "{\"node\":1,\"memory_mib\":1024,\"cpus\":\"2-3\"}"

static void test_json_invalid(void **state)
{
    static const struct bad_case cases[] = {
        {"{}", "bad.json: document: missing key 'nodes'"},
        {"[1]", "bad.json: the document must be a JSON object, not '[1]'"},
        {"{\"nodes\":[]}", "bad.json: nodes: the host needs at least one node"},
        {"{\"nodes\":{}}", "bad.json: nodes: expected an array, not '{}'"},
        {"{\"nodes\":[" NODE0 "],\"node\":1}",
         "bad.json: document: unknown key 'node'; expected name, nodes, distances, pci, cpus"},
        {"{\"nodes\":[{\"node\":0,\"mem\":1,\"memory_mib\":1,\"cpus\":\"0\"}]}",
         "bad.json: nodes[0]: unknown key 'mem'; expected node, package, memory_mib, free_mib, "
         "cpus"},
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":0,\"cpus\":\"0\"}]}",
         "bad.json: nodes[0].memory_mib: '0' is not an integer from 1 to 1099511627776"},
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":\"1024\",\"cpus\":\"0\"}]}",
         "bad.json: nodes[0].memory_mib: '1024' is not an integer from 1 to 1099511627776"},
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":1024}]}",
         "bad.json: nodes[0]: missing key 'cpus' (use \"\" for a node without CPUs)"},
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":1024,\"free_mib\":2048,\"cpus\":\"0\"}]}",
         "bad.json: nodes[0].free_mib: '2048' is more than the node's memory_mib '1024'"},
        {"{\"nodes\":[" NODE1 "," NODE0 "]}",
         "bad.json: nodes[1]: node 0 comes after node 1; list nodes by increasing number without "
         "duplicates"},
        {"{\"nodes\":[" NODE0 ",{\"node\":1,\"memory_mib\":1,\"cpus\":\"1-2\"}]}",
         "bad.json: nodes[1].cpus: CPU 1 is already in node 0"},
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":1,\"cpus\":\"0-x\"}]}",
         "bad.json: nodes[0].cpus: '0-x' is not a number or a range N-M"},
        {"{\"nodes\":[" NODE0 "," NODE1 "],\"distances\":[[10,20]]}",
         "bad.json: distances: expected 2 rows, one per node, not 1"},
        {"{\"nodes\":[" NODE0 "," NODE1 "],\"distances\":[[10,20],[20]]}",
         "bad.json: distances[1]: expected 2 values, one per node, not 1"},
        {"{\"nodes\":[" NODE0 "," NODE1 "],\"distances\":[[12,20],[20,10]]}",
         "bad.json: distances[0][0]: '12' must be 10: the distance of node 0 to itself"},
        {"{\"nodes\":[" NODE0 "," NODE1 "],\"distances\":[[10,300],[20,10]]}",
         "bad.json: distances[0][1]: '300' is not a distance from 10 to 255"},
        {"{\"nodes\":[" NODE0 "," NODE1 "],\"cpus\":[{\"cpu\":0,\"node\":0,\"package\":0,"
         "\"core\":0,\"smt\":0},{\"cpu\":1,\"node\":0,\"package\":0,\"core\":1,\"smt\":0},"
         "{\"cpu\":2,\"node\":0,\"package\":0,\"core\":2,\"smt\":0}]}",
         "bad.json: cpus[2].node: CPU 2 is in the cpus of node 1, not of node 0"},
        {"{\"nodes\":[" NODE0 "],\"cpus\":[{\"cpu\":0,\"node\":0,\"package\":0,\"core\":0,"
         "\"smt\":0}]}",
         "bad.json: cpus: CPU 1 of the nodes' cpus has no entry"},
        {"{\"nodes\":[" NODE0 "],\"cpus\":[{\"cpu\":0,\"node\":0,\"package\":0,\"core\":0,"
         "\"smt\":1},{\"cpu\":1,\"node\":0,\"package\":0,\"core\":1,\"smt\":0}]}",
         "bad.json: CPU 0 is thread '1' of core 0, which has no thread 0"},
        {"{\"nodes\":[" NODE0 ",{\"node\":1,\"package\":0,\"memory_mib\":1,\"cpus\":\"\"}]}",
         "bad.json: node 1 has no CPU, so it belongs to no package, not to package '0'"},
        {"{\"nodes\":[" NODE0
         "],\"pci\":[{\"addr\":\"0000:3:00.0\",\"name\":\"eth0\",\"node\":0}]}",
         "bad.json: pci[0].addr: '0000:3:00.0' is not a PCI address such as '0000:03:00.0'"},
        {"{\"nodes\":[" NODE0
         "],\"pci\":[{\"addr\":\"0000:03:00.0\",\"name\":\"eth0\",\"node\":5}]}",
         "bad.json: pci[0].node: node '5' is not in nodes"},
        {"{\"nodes\":[" NODE0 "],\"pci\":[{\"addr\":\"0000:03:00.0\",\"name\":\"\",\"node\":0}]}",
         "bad.json: pci[0].name: '' must have 1 to 63 characters and no NUL"},
        {"{\"nodes\":[" NODE0 "]} x", "bad.json:1:55: invalid JSON: unexpected character"},
        {"{\"nodes\":[" NODE0 "]", "bad.json:1:53: the JSON document ends early"},
        {"{\"nodes\":[" NODE0 ",]}", "bad.json:1:53: invalid JSON: unexpected character"},
    };
    for (size_t i = 0; i < VN_ARRAY_SIZE(cases); i++) {
        struct vn_error err = {0};
        struct vn_host_topo *t =
            vn_topo_from_json_buf(cases[i].input, strlen(cases[i].input), "bad.json", &err);
        if (t)
            fail_msg("case %zu was accepted: %s", i, cases[i].input);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got \"%s\"\nwant \"%s\"", i, err.msg, cases[i].msg);
    }
}

static void test_json_syntax_and_limits(void **state)
{
    struct vn_error err = {0};
    static const char doc[] = "{\n  \"nodes\": [\n    }\n";
    assert_null(vn_topo_from_json_buf(doc, strlen(doc), "syntax.json", &err));
    /* The position points at the stray brace on line 3. */
    assert_true(strncmp(err.msg, "syntax.json:3:5: invalid JSON: ", 31) == 0);

    size_t big = VN_TOPO_JSON_MAX + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, ' ', big);
    assert_null(vn_topo_from_json_buf(buf, big, "big.json", &err));
    free(buf);
    assert_string_equal(err.msg, "big.json: the document is larger than 16777216 bytes");

    assert_null(vn_topo_from_json_buf("{\"nodes\":[\0]}", 13, "nul.json", &err));
}

/* Invariants checked on the struct itself, whatever the source. */
static void test_validate(void **state)
{
    struct vn_error err = {0};
    struct vn_host_topo *t = vn_topo_new(2, 2, 0);
    for (int i = 0; i < 2; i++) {
        t->nodes[i] = (struct vn_node){.os_index = i, .package = 0, .mem_mib = 64, .free_mib = 64};
        vn_bitmap_set(&t->nodes[i].cpus, i);
        t->cpus[i] = (struct vn_cpu){.os_index = i, .node = i, .package = 0, .core = i, .smt = 0};
    }
    assert_int_equal(vn_topo_finish(t, &err), 0);

    t->dist[1] = 9;
    assert_int_equal(vn_topo_validate(t, &err), -1);
    assert_string_equal(err.msg,
                        "the distance from node 0 to node 1 is '9'; it must be from 10 to 255");
    t->dist[1] = 20;

    vn_bitmap_set(&t->nodes[1].cpus, 0);
    assert_int_equal(vn_topo_validate(t, &err), -1);
    assert_string_equal(err.msg, "CPU 0 is in the CPU lists of both node 0 and node 1");
    vn_bitmap_clear(&t->nodes[1].cpus, 0);

    t->cpus[1].core = 0;
    assert_int_equal(vn_topo_validate(t, &err), -1);
    assert_string_equal(err.msg, "CPUs 0 and 1 are both thread 0 of core 0");
    t->cpus[1].core = 1;

    t->nodes[1].os_index = 0;
    assert_int_equal(vn_topo_validate(t, &err), -1);
    assert_string_equal(
        err.msg, "node 0 comes after node 0; nodes must be sorted by number without duplicates");
    t->nodes[1].os_index = 1;

    t->nodes[0].free_known = true;
    t->nodes[0].free_mib = 65;
    assert_int_equal(vn_topo_validate(t, &err), -1);
    assert_string_equal(err.msg, "node 0 has '65' MiB free but only '64' MiB in all");
    t->nodes[0].free_mib = 1;

    t->cpus[1].package = 2;
    assert_int_equal(vn_topo_finish(t, &err), -1);
    assert_string_equal(err.msg, "node 1 is in package '0' but its first CPU 1 is in package 2");
    t->nodes[1].package = 2;
    assert_int_equal(vn_topo_finish(t, &err), -1);
    assert_string_equal(err.msg, "no CPU is in package 1; packages must be numbered 0 to 2");
    vn_topo_free(t);
}

/* ---- bounded inputs (docs/LIMITS.md) ---- */

static void tmpdir_make(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/test-topo-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

/* Host files that are FIFOs are refused instead of blocking open() forever. */
static void test_host_file_fifo_refused(void **state)
{
    char dir[256], path[300], spec[320], want[512];
    tmpdir_make(dir, sizeof dir);
    static const char *const kinds[] = {"json", "xml"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/host.%s", dir, kinds[k]);
        assert_int_equal(mkfifo(path, 0600), 0);
        snprintf(spec, sizeof spec, "%s:%s", kinds[k], path);
        struct vn_error err = {0};
        alarm(10); /* the unfixed loaders block in open(): fail instead of hanging */
        struct vn_host_topo *t = vn_topo_load(spec, &err);
        alarm(0);
        assert_null(t);
        snprintf(want, sizeof want, "host file '%s' is not a regular file (it is a FIFO)", path);
        assert_string_equal(err.msg, want);
        unlink(path);
    }
    rmdir(dir);
}

/* A JSON host file over the limit names its real size. */
static void test_host_json_too_large(void **state)
{
    char dir[256], path[300], want[512];
    tmpdir_make(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/big.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 20 * 1024 * 1024), 0);
    fclose(f);
    struct vn_error err = {0};
    assert_null(vn_topo_load(path, &err));
    snprintf(want, sizeof want,
             "host file '%s' is 20971520 bytes; the limit is 16777216 bytes (16 MiB)", path);
    assert_string_equal(err.msg, want);
    unlink(path);
    rmdir(dir);
}

/* JSON objects with a key twice are refused: json-c would silently keep the last value. */
static void test_host_json_duplicate_key(void **state)
{
    static const struct bad_case cases[] = {
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":1024,\"memory_mib\":2048,\"cpus\":\"0\"}]}",
         "dup.json:1:39: duplicate key 'memory_mib' in an object"},
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":1024,\"cpus\":\"0\"}],\n\"nodes\":[]}",
         "dup.json:2:1: duplicate key 'nodes' in an object"},
        {"{\"nodes\":[{\"node\":0,\"memory_mib\":1024,\"cpus\":\"0\",\"c\\u0070us\":\"1\"}]}",
         "dup.json:1:50: duplicate key 'cpus' in an object"},
    };
    for (size_t i = 0; i < VN_ARRAY_SIZE(cases); i++) {
        struct vn_error err = {0};
        struct vn_host_topo *t =
            vn_topo_from_json_buf(cases[i].input, strlen(cases[i].input), "dup.json", &err);
        if (t)
            fail_msg("case %zu was accepted: %s", i, cases[i].input);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got \"%s\"\nwant \"%s\"", i, err.msg, cases[i].msg);
    }
}

/* Counts in a synthetic string are checked before hwloc builds anything: numa:100000 used to
 * run for minutes inside hwloc. */
static void test_synthetic_bounds(void **state)
{
    static const struct bad_case cases[] = {
        {"synthetic:numa:100000 pu:1",
         "synthetic host 'numa:100000 pu:1' has 100000 NUMA nodes; at most 1024 are supported"},
        {"synthetic:pack:64 numa:32 pu:1",
         "synthetic host 'pack:64 numa:32 pu:1' has 2048 NUMA nodes; at most 1024 are supported"},
        {"synthetic:pack:2 [numa] [numa] core:4096 pu:1",
         "synthetic host 'pack:2 [numa] [numa] core:4096 pu:1' has 8192 CPUs; at most 4096 are "
         "supported"},
        {"synthetic:numa:4 core:0x10000000 pu:0x10000000",
         "synthetic host 'numa:4 core:0x10000000 pu:0x10000000' has more than 4294967295 CPUs; at "
         "most 4096 are supported"},
        {"synthetic:100000 1",
         "synthetic host '100000 1' has 100000 NUMA nodes; at most 1024 are supported"},
        /* found by fuzz-synthetic: hwloc sized a bitmap for the index (3.4 GB, then SIGSEGV) */
        {"synthetic:numa:2 pu:2(indexes=0,2,1444444444444444,3)",
         "synthetic host 'numa:2 pu:2(indexes=0,2,1444444444444444,3)' uses the index "
         "1444444444444444; indexes are at most 4095"},
        {"synthetic:[numa(indexes=0,0x1000)] pu:2",
         "synthetic host '[numa(indexes=0,0x1000)] pu:2' uses the index 0x1000; indexes are at "
         "most 4095"},
    };
    for (size_t i = 0; i < VN_ARRAY_SIZE(cases); i++) {
        struct vn_error err = {0};
        alarm(10); /* unbounded, hwloc takes minutes on the first case */
        struct vn_host_topo *t = vn_topo_load(cases[i].input, &err);
        alarm(0);
        if (t)
            fail_msg("'%s' was accepted", cases[i].input);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got \"%s\"\nwant \"%s\"", i, err.msg, cases[i].msg);
    }
    /* at the limits */
    struct vn_error err = {0};
    struct vn_host_topo *t = vn_topo_load("synthetic:numa:1024 pu:4", &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_int_equal(t->nnodes, 1024);
    assert_int_equal(t->ncpus, 4096);
    vn_topo_free(t);
}

/* Node memory has one bound for every source, so what one loader accepts (and prints as
 * JSON) the JSON loader reads back. */
static void test_node_memory_bound(void **state)
{
    char dir[256], path[300], want[512];
    tmpdir_make(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/huge.xml", dir);
    hwloc_topology_t topo;
    assert_int_equal(hwloc_topology_init(&topo), 0);
    assert_int_equal(hwloc_topology_set_synthetic(topo, "numa:2(memory=18446744073709551615) pu:1"),
                     0);
    assert_int_equal(hwloc_topology_load(topo), 0);
    assert_int_equal(hwloc_topology_export_xml(topo, path, 0), 0);
    hwloc_topology_destroy(topo);
    struct vn_error err = {0};
    assert_null(vn_topo_load(path, &err));
    snprintf(want, sizeof want,
             "host '%s': node 0 has '17592186044415' MiB; at most 1099511627776 MiB (1 EiB) are "
             "supported",
             path);
    assert_string_equal(err.msg, want);
    unlink(path);
    rmdir(dir);

    struct vn_host_topo *t = vn_topo_new(1, 1, 0);
    snprintf(t->name, sizeof t->name, "largest");
    t->nodes[0] = (struct vn_node){
        .os_index = 0, .mem_mib = VN_TOPO_MAX_NODE_MIB, .free_mib = VN_TOPO_MAX_NODE_MIB};
    vn_bitmap_set(&t->nodes[0].cpus, 0);
    t->cpus[0] = (struct vn_cpu){0};
    assert_int_equal(vn_topo_finish(t, &err), 0);
    assert_roundtrip(t);
    t->nodes[0].mem_mib = t->nodes[0].free_mib = VN_TOPO_MAX_NODE_MIB + 1;
    assert_int_equal(vn_topo_validate(t, &err), -1);
    vn_topo_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_library_roundtrip),
        cmocka_unit_test(test_synthetic_basic),
        cmocka_unit_test(test_synthetic_extensions),
        cmocka_unit_test(test_synthetic_errors),
        cmocka_unit_test(test_xml),
        cmocka_unit_test(test_xml_errors),
        cmocka_unit_test(test_memory_only_nodes),
        cmocka_unit_test(test_live_host),
        cmocka_unit_test(test_json_compact_form),
        cmocka_unit_test(test_json_invalid),
        cmocka_unit_test(test_json_syntax_and_limits),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_host_file_fifo_refused),
        cmocka_unit_test(test_host_json_too_large),
        cmocka_unit_test(test_host_json_duplicate_key),
        cmocka_unit_test(test_synthetic_bounds),
        cmocka_unit_test(test_node_memory_bound),
    };
    return cmocka_run_group_tests_name("topo", tests, NULL, NULL);
}
