/* Unit tests of vnumad's pure parts: request parsing and its limits, line framing, replies,
 * the Prometheus text, and turning a record plus /proc readings into policy observations. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "../place/testhost.h"
#include "../testrecord.h"
#include "render/render.h"
#include "vnumad.h"
#include "qemu/vcpu_threads.h"
#include "../../../src/lib/domain/domain_int.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int parse(const char *s, struct vnd_request *rq, struct vn_error *err)
{
    return vnd_request_parse(s, strlen(s), rq, err);
}

static void test_parse_ok(void **state)
{
    (void)state;
    struct vnd_request rq;
    struct vn_error err = {0};
    assert_int_equal(parse("{\"cmd\":\"status\"}\n", &rq, &err), 0);
    assert_int_equal(rq.cmd, VND_CMD_STATUS);
    assert_string_equal(rq.domain, "");
    assert_int_equal(parse("{\"cmd\":\"pause\",\"domain\":\"web-1\"}", &rq, &err), 0);
    assert_int_equal(rq.cmd, VND_CMD_PAUSE);
    assert_string_equal(rq.domain, "web-1");
    assert_int_equal(parse(" {\"domain\":null, \"cmd\":\"resume\"}\r\n", &rq, &err), 0);
    assert_int_equal(rq.cmd, VND_CMD_RESUME);
    assert_int_equal(parse("{\"cmd\":\"once\"}", &rq, &err), 0);
    assert_int_equal(rq.cmd, VND_CMD_ONCE);
    assert_int_equal(parse("{\"cmd\":\"metrics\"}", &rq, &err), 0);
    assert_int_equal(rq.cmd, VND_CMD_METRICS);
}

static void expect_error(const char *req, const char *msg)
{
    struct vnd_request rq;
    struct vn_error err = {0};
    assert_int_equal(parse(req, &rq, &err), -1);
    if (!strstr(err.msg, msg))
        fail_msg("'%s': got '%s', expected '%s'", req, err.msg, msg);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("", "not valid JSON: it ends too early");
    expect_error("{\"cmd\":", "not valid JSON");
    expect_error("[1,2]", "must be a JSON object");
    expect_error("{}", "has no 'cmd' key");
    expect_error("{\"cmd\":3}", "the key 'cmd' must be a string");
    expect_error("{\"cmd\":\"reboot\"}", "unknown command 'reboot'");
    expect_error("{\"cmd\":\"status\",\"x\":1}", "unknown key 'x' in the request");
    expect_error("{\"cmd\":\"pause\",\"domain\":\"../etc\"}", "..");
    expect_error("{\"cmd\":\"pause\",\"domain\":5}", "the key 'domain' must be a string");
    expect_error("{\"cmd\":\"once\",\"domain\":\"a\"}", "the command 'once' takes no domain");
    expect_error("{\"cmd\":\"status\"} {\"cmd\":\"once\"}", "has data after its JSON object");
    struct vnd_request rq;
    struct vn_error err = {0};
    assert_int_equal(vnd_request_parse("{\"cmd\":\"status\"}\0x", 18, &rq, &err), -1);
    assert_non_null(strstr(err.msg, "NUL byte"));
    size_t big = VND_REQUEST_MAX + 1;
    char *s = malloc(big + 1);
    memset(s, ' ', big);
    s[big] = '\0';
    assert_int_equal(vnd_request_parse(s, big, &rq, &err), -1);
    assert_non_null(strstr(err.msg, "the limit is 65536 bytes"));
    free(s);
}

static void test_linebuf(void **state)
{
    (void)state;
    struct vnd_linebuf *b = calloc(1, sizeof *b);
    char *line = malloc(VND_REQUEST_MAX + 1);
    assert_int_equal(vnd_linebuf_take(b, line), -1);
    assert_int_equal(vnd_linebuf_add(b, "{\"cmd\":", 7), 0);
    assert_int_equal(vnd_linebuf_take(b, line), -1);
    const char *more = "\"status\"}\n{\"cmd\":\"once\"}\nxy";
    assert_int_equal(vnd_linebuf_add(b, more, strlen(more)), 0);
    assert_int_equal(vnd_linebuf_take(b, line), 16);
    assert_string_equal(line, "{\"cmd\":\"status\"}");
    assert_int_equal(vnd_linebuf_take(b, line), 14);
    assert_string_equal(line, "{\"cmd\":\"once\"}");
    assert_int_equal(vnd_linebuf_take(b, line), -1);
    assert_int_equal(b->len, 2);
    /* A line that never ends hits the limit. */
    char *junk = calloc(1, VND_REQUEST_MAX);
    memset(junk, 'a', VND_REQUEST_MAX);
    assert_int_equal(vnd_linebuf_add(b, junk, VND_REQUEST_MAX - 2), 0);
    assert_int_equal(vnd_linebuf_add(b, junk, 1), -1);
    free(junk);
    free(line);
    free(b);
}

static void test_replies(void **state)
{
    (void)state;
    char *r = vnd_reply_error("domain 'x' does not exist");
    assert_string_equal(r, "{\"ok\":false,\"error\":\"domain 'x' does not exist\"}\n");
    free(r);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "paused", json_object_new_boolean(1));
    r = vnd_reply_ok(o);
    assert_string_equal(r, "{\"ok\":true,\"paused\":true}\n");
    free(r);
    r = vnd_reply_ok(NULL);
    assert_string_equal(r, "{\"ok\":true}\n");
    free(r);
}

/* A running record "web": vnode 0 (vCPU 0) on node 0, vnode 1 (vCPUs 1-2) on node 1, 256 MiB
 * each; spec the config text, or none (NULL). */
static void make_record(struct vn_domain_record *r, const char *spec)
{
    vn_domain_record_init(r);
    snprintf(r->name, sizeof r->name, "web");
    r->status = VN_DOMAIN_RUNNING;
    r->qemu_pid = 1234;
    r->placement = tr_placement(2, (int[]){0, 1}, (uint64_t[]){256, 256}, 3, (int[]){0, 1, 1});
    r->spec = spec ? tr_spec(spec) : NULL;
}

/* The record's placement as its JSON, for comparing (static buffer). */
static const char *placement_json(const struct vn_domain_record *r)
{
    static char text[8192];
    struct json_object *o = vn_render_json(r->placement);
    snprintf(text, sizeof text, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

static void test_dom_from_record(void **state)
{
    (void)state;
    struct vn_host_topo *t = th_host_uniform(2, 2, 1, 4096, NULL);
    struct vnd_dom *d = calloc(1, sizeof *d);
    struct vn_domain_record r;
    struct vn_error err = {0};
    make_record(&r, "name = 'web'\nmemory = 512\nvcpus = 3\n");
    r.mem_dir = strdup("/dev/shm/x/web");
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    assert_string_equal(d->name, "web");
    assert_string_equal(d->mem_dir, "/dev/shm/x/web");
    assert_int_equal(d->flags, 0);
    assert_int_equal(d->nvnodes, 2);
    assert_int_equal(d->home[0], 0);
    assert_int_equal(d->home[1], 1);
    assert_int_equal(d->vnode_mib[1], 256);
    assert_int_equal(d->nvcpus, 3);
    assert_int_equal(d->vcpu_vnode[2], 1);
    vn_domain_record_clear(&r);

    /* balance = 0 in the config, off in the record, fixed pnodes, pinned vCPUs. */
    make_record(&r, "name = 'web'\nmemory = 512\nvcpus = 3\nbalance = 0\ncpus = '0-1'\n"
                    "vnuma = [ [ 'pnode=0', 'size=256', 'vcpus=0', 'vdistances=10,20' ], "
                    "[ 'pnode=auto', 'size=256', 'vcpus=1-2', 'vdistances=20,10' ] ]\n");
    r.balance = 0;
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    assert_int_equal(d->flags, VN_BAL_OPT_OUT | VN_BAL_FIXED_PNODES | VN_BAL_PINNED);
    assert_null(d->mem_dir);
    vn_domain_record_clear(&r);

    /* vnuma balance off alone opts it out too; balance_fixed allows moving fixed pnodes. */
    make_record(&r, "name = 'web'\nmemory = 512\nvcpus = 3\n");
    r.balance = 0;
    r.balance_fixed = true;
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    assert_int_equal(d->flags, VN_BAL_OPT_OUT | VN_BAL_ALLOW_FIXED);
    vn_domain_record_clear(&r);

    /* A record without placement is refused with a sentence. */
    make_record(&r, NULL);
    free(r.placement);
    r.placement = NULL;
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), -1);
    assert_string_equal(err.msg, "the record of domain 'web' has no placement with vnodes");
    vn_domain_record_clear(&r);
    vnd_dom_clear(d);
    free(d);
    th_host_free(t);
}

static void test_task_stat(void **state)
{
    (void)state;
    /* Field 2 with spaces and a ')' inside; utime 150, stime 50 ticks; processor 3. */
    const char *stat = "4242 (CPU 0/KVM) x) S 1 1 1 0 -1 4194560 0 0 0 0 150 50 0 0 20 0 1 0 "
                       "100 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";
    uint64_t ns = 0;
    int cpu = -1;
    assert_int_equal(vnd_parse_task_stat(stat, 100, &ns, &cpu), 0);
    assert_int_equal(ns, 2000000000ull);
    assert_int_equal(cpu, 3);
    assert_int_equal(vnd_parse_task_stat("1 (x) S 1 2", 100, &ns, &cpu), -1);
    assert_int_equal(vnd_parse_task_stat("garbage", 100, &ns, &cpu), -1);
    assert_int_equal(vn_qemu_vcpu_from_comm("CPU 12/KVM\n"), 12);
    assert_int_equal(vn_qemu_vcpu_from_comm("CPU 0/TCG"), 0);
    assert_int_equal(vn_qemu_vcpu_from_comm("CPU x/KVM"), -1);
    assert_int_equal(vn_qemu_vcpu_from_comm("qemu-system-x86"), -1);
    assert_int_equal(vn_qemu_vcpu_from_comm("CPU 3"), -1);
}

static void test_observation(void **state)
{
    (void)state;
    struct vn_host_topo *t = th_host_uniform(2, 2, 1, 4096, NULL);
    struct vnd_dom *d = calloc(1, sizeof *d);
    struct vn_domain_record r;
    struct vn_error err = {0};
    make_record(&r, NULL);
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    vn_domain_record_clear(&r);
    int cpu_node[4] = {0, 0, 1, 1};
    uint64_t t0[3] = {1000, 2000, 3000};
    int last[3] = {0, 2, 9};
    vnd_vcpus_update(d, t0, last, cpu_node, 4);
    assert_int_equal(d->vcpu_obs[0].cpu_ns, 0); /* the first reading is the reference */
    uint64_t t1[3] = {1000 + 500, 2000 + 700, 3000};
    int last1[3] = {1, 2, -1};
    vnd_vcpus_update(d, t1, last1, cpu_node, 4);
    assert_int_equal(d->vcpu_obs[0].cpu_ns, 500);
    assert_int_equal(d->vcpu_obs[0].node, 0);
    assert_int_equal(d->vcpu_obs[1].cpu_ns, 700);
    assert_int_equal(d->vcpu_obs[1].node, 1);
    assert_int_equal(d->vcpu_obs[1].vnode, 1);
    assert_int_equal(d->vcpu_obs[2].node, -1);
    /* vnode 0 all on node 0, vnode 1 all on node 0 while its vCPU runs on node 1. */
    d->resident[0] = 256;
    d->resident[1] = 0;
    d->resident[2] = 256;
    d->resident[3] = 0;
    d->err_mib[1] = 5;
    struct vn_bal_dom_obs o;
    vnd_dom_obs(d, &o);
    assert_int_equal(o.nvnodes, 2);
    assert_int_equal(o.nvcpus, 3);
    assert_int_equal(o.vnodes[1].home, 1);
    assert_int_equal(o.vnodes[1].resident_mib[0], 256);
    assert_int_equal(o.vnodes[1].error_mib, 5);
    assert_ptr_equal(o.vcpus, d->vcpu_obs);
    vnd_dom_locality(d);
    assert_true(d->locality[0] > 0.99);
    assert_true(d->locality[1] < 0.01);
    assert_true(d->dom_locality > 0.49 && d->dom_locality < 0.51);
    vnd_dom_clear(d);
    free(d);
    th_host_free(t);
}

static void test_metrics(void **state)
{
    (void)state;
    struct vnd *v = calloc(1, sizeof *v);
    struct vn_host_topo *t = th_host_uniform(2, 2, 1, 4096, NULL);
    v->topo = t;
    v->nnodes = 2;
    uint64_t freem[2] = {1024, 2048};
    double pr[2] = {0.5, 0.25};
    v->free_mib = freem;
    v->pressure = pr;
    v->passes = 7;
    v->autonuma = 0;
    struct vnd_dom *d = calloc(1, sizeof *d);
    struct vn_domain_record r;
    struct vn_error err = {0};
    make_record(&r, NULL);
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    vn_domain_record_clear(&r);
    d->running = true;
    d->resident[0] = 100;
    d->resident[3] = 200;
    d->dom_locality = 0.75;
    d->migrations = 2;
    d->moved_bytes = 3 << 20;
    d->skipped[VN_BAL_SKIP_HYSTERESIS] = 4;
    struct vnd_dom *doms[1] = {d};
    v->doms = doms;
    v->ndoms = 1;
    char *m = vnd_metrics_text(v);
    assert_non_null(m);
    const char *want[] = {
        "# TYPE vnumad_passes_total counter\nvnumad_passes_total 7\n",
        "vnumad_node_free_bytes{node=\"1\"} 2147483648\n",
        "vnumad_node_cpu_pressure{node=\"0\"} 0.5000\n",
        "vnumad_domain_locality_ratio{domain=\"web\"} 0.7500\n",
        "vnumad_domain_memory_bytes{domain=\"web\",node=\"0\"} 104857600\n",
        "vnumad_domain_memory_bytes{domain=\"web\",node=\"1\"} 209715200\n",
        "vnumad_migrations_total{domain=\"web\"} 2\n",
        "vnumad_moved_bytes_total{domain=\"web\"} 3145728\n",
        "vnumad_actions_skipped_total{domain=\"web\",reason=\"hysteresis\"} 4\n",
        "vnumad_actions_skipped_total{domain=\"web\",reason=\"rate-limit\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(m, want[i]))
            fail_msg("metrics lack '%s':\n%s", want[i], m);
    /* Every line is a comment or "name{labels} value" / "name value". */
    for (char *line = strtok(m, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end;
        strtod(sp + 1, &end);
        assert_true(*end == '\0');
        assert_true(strncmp(line, "vnumad_", 7) == 0);
    }
    free(m);
    /* Status: the same domain as JSON. */
    struct json_object *st = vnd_status_json(v);
    const char *s = json_object_to_json_string(st);
    assert_non_null(strstr(s, "\"name\": \"web\""));
    assert_non_null(strstr(s, "\"locality_pct\": 75.0"));
    json_object_put(st);
    vnd_dom_clear(d);
    free(d);
    th_host_free(t);
    free(v);
}

/* A full spec (what vnuma create stores) reads back: the policy then gets spec and claim. */
static void test_dom_spec_and_claim(void **state)
{
    (void)state;
    static const char cfg[] =
        "name = 'web'\nmemory = 512\nvcpus = 3\nvnuma = [ [ 'pnode=auto', 'size=256', 'vcpus=0', "
        "'vdistances=10,20' ], [ 'pnode=auto', 'size=256', 'vcpus=1-2', 'vdistances=20,10' ] ]\n";
    struct vn_host_topo *t = th_host_uniform(2, 2, 1, 4096, NULL);
    struct vnd_dom *d = calloc(1, sizeof *d);
    struct vn_domain_record r;
    struct vn_error err = {0};
    make_record(&r, cfg);
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    struct vn_bal_dom_obs o;
    vnd_dom_obs(d, &o);
    assert_non_null(o.spec);
    assert_int_equal(o.spec->nvnodes, 2);
    assert_int_equal(o.spec->vcpus, 3);
    assert_non_null(o.claim);
    assert_int_equal(o.claim->n, 2);
    assert_int_equal(o.claim->v[1].vcpus, 2);
    vn_domain_record_clear(&r);

    /* A record without a spec is never re-placed, but still balanced. */
    make_record(&r, NULL);
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    vnd_dom_obs(d, &o);
    assert_null(o.spec);
    assert_null(o.claim);
    vn_domain_record_clear(&r);
    vnd_dom_clear(d);
    free(d);
    th_host_free(t);
}

/* The record change of a rehome (claim follows the vnode) and of a re-placement. */
static void test_placement_apply(void **state)
{
    (void)state;
    struct vn_domain_record r;
    struct vn_error err = {0};
    make_record(&r, NULL);
    struct vn_domain_placement_update u = {.nvnodes = 2, .pnode = {-1, 2}};
    assert_int_equal(vn_domain_placement_apply(&r, &u, &err), 0);
    assert_non_null(strstr(placement_json(&r), "\"pnodes\":[0],\"memory_mib\":256"));
    assert_non_null(strstr(placement_json(&r), "\"pnodes\":[2],\"memory_mib\":256"));
    assert_non_null(strstr(placement_json(&r), "\"claim\":[{\"node\":0,\"memory_mib\":256,"
                                               "\"vcpus\":1},{\"node\":2,\"memory_mib\":256,"
                                               "\"vcpus\":2}]"));
    assert_int_equal(vn_domain_claim(&r)->n, 2);
    assert_int_equal(vn_domain_claim(&r)->v[1].node, 2);

    /* A re-placement brings its own claim. */
    struct vn_claim c = {.n = 1, .v = {{.node = 3, .mem_mib = 512, .vcpus = 3}}};
    struct vn_domain_placement_update u2 = {.nvnodes = 2, .pnode = {3, 3}, .claim = &c};
    assert_int_equal(vn_domain_placement_apply(&r, &u2, &err), 0);
    assert_int_equal(vn_domain_claim(&r)->n, 1);
    assert_int_equal(vn_domain_claim(&r)->v[0].node, 3);
    assert_non_null(
        strstr(placement_json(&r), "\"claim\":[{\"node\":3,\"memory_mib\":512,\"vcpus\":3}]"));

    /* With the new nodes' CPUs, the moved vnode and its vCPUs prefer them in the record. */
    struct vn_bitmap soft[2];
    memset(soft, 0, sizeof soft);
    assert_int_equal(vn_bitmap_parse_list(&soft[1], "4-5", VN_BITMAP_BITS - 1, &err), 0);
    struct vn_domain_placement_update u4 = {.nvnodes = 2, .pnode = {-1, 2}, .soft_cpus = soft};
    assert_int_equal(vn_domain_placement_apply(&r, &u4, &err), 0);
    assert_non_null(strstr(placement_json(&r), "\"pnodes\":[2],\"memory_mib\":256,\"policy\":"
                                               "\"bind\",\"vcpus\":\"1-2\",\"soft\":\"4-5\""));
    assert_non_null(strstr(placement_json(&r), "{\"vcpu\":0,\"vnode\":0,\"soft\":null,"
                                               "\"hard\":null},{\"vcpu\":1,\"vnode\":1,"
                                               "\"soft\":\"4-5\",\"hard\":null},{\"vcpu\":2,"
                                               "\"vnode\":1,\"soft\":\"4-5\",\"hard\":null}"));

    /* Refused: another vnode count; a vnode with an unfinished migration entry. */
    struct vn_domain_placement_update u3 = {.nvnodes = 3, .pnode = {0, 0, 0}};
    assert_int_equal(vn_domain_placement_apply(&r, &u3, &err), -1);
    assert_string_equal(err.msg,
                        "domain 'web' has 2 vnodes in its record, but the new placement has 3");
    vn_domain_record_clear(&r);
    make_record(&r, NULL);
    vn_domain_move_add(&r, 1)->state = VN_MOVE_SPLIT;
    assert_int_equal(vn_domain_placement_apply(&r, &u, &err), -1);
    assert_string_equal(err.msg, "domain 'web': vnode 1 has an unfinished migration in its "
                                 "record; finish it with 'vnuma mem-move' first");
    vn_domain_record_clear(&r);
}

/* Enacting on a synthetic state dir whose "QEMU" is this process, mapping a tmpfs file as the
 * memory of vnode 1: a REPLACE_VM rewrites the record; a MIGRATE_VNODE to where the memory
 * is already moves nothing and counts nothing (pages already there are not "moved"). */
static void test_enact(void **state)
{
    (void)state;
    char dir[] = "/tmp/vnd-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sdir[256], file[4200];
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    assert_int_equal(vn_state_open(sdir, &s, &err), 0);
    /* The memory dir is where domain/ derives it for this state dir: a record cannot name
     * another. */
    struct vn_dom_memdir md;
    assert_int_equal(vn_dom_memdir_for(sdir, "web", &md, &err), 0);
    int mfd = vn_dom_memdir_open(&md, true, &err);
    assert_true(mfd >= 0);
    close(mfd);
    const char *mdir = md.path;
    snprintf(file, sizeof file, "%s/vnode1", mdir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(truncate(file, 4 << 20), 0);
    FILE *mf = fopen(file, "r+");
    char *mem = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(mf), 0);
    assert_true(mem != MAP_FAILED);
    memset(mem, 1, 4 << 20);

    struct vn_domain_record r;
    make_record(&r, NULL);
    r.mem_dir = strdup(mdir);
    r.qemu_pid = getpid();
    assert_int_equal(vn_proc_start_time(getpid(), &r.qemu_start, &err), 0);
    r.config_path = strdup("/x/web.cfg");
    assert_int_equal(vn_state_lock(s, 1000, "test", &err), 0);
    if (vn_state_write_record(s, &r, &err) < 0)
        fail_msg("%s", err.msg);
    vn_state_unlock(s);
    vn_domain_record_clear(&r);

    struct vnd *v = calloc(1, sizeof *v);
    struct vn_host_topo *t = th_host_uniform(2, 2, 1, 4096, NULL);
    v->topo = t;
    v->nnodes = 2;
    v->node_cpus = calloc(2, sizeof *v->node_cpus);
    for (int n = 0; n < 2; n++)
        v->node_cpus[n] = t->nodes[n].cpus;
    v->state = s;
    snprintf(v->state_path, sizeof v->state_path, "%s", sdir);
    v->log = fopen("/dev/null", "w");
    vn_bal_params_default(&v->params);
    struct vnd_dom *d = calloc(1, sizeof *d);
    assert_int_equal(vn_state_read_record(s, "web", &r, &err), 0);
    assert_int_equal(vnd_dom_from_record(d, &r, t, &err), 0);
    vn_domain_record_clear(&r);
    struct vnd_dom *doms[1] = {d};
    v->doms = doms;
    v->ndoms = 1;

    /* REPLACE_VM: vnode 0 to node 1, vnode 1 to node 0, with the policy's claim. */
    struct vn_bal_action *a = calloc(1, sizeof *a);
    a->kind = VN_BAL_REPLACE_VM;
    a->vnode = -1;
    a->vnode_to_idx[0] = 1;
    a->vnode_to_idx[1] = 0;
    a->claim_os.n = 2;
    a->claim_os.v[0] = (struct vn_claim_node){.node = 0, .mem_mib = 256, .vcpus = 2};
    a->claim_os.v[1] = (struct vn_claim_node){.node = 1, .mem_mib = 256, .vcpus = 1};
    snprintf(a->reason, sizeof a->reason, "web: a test.");
    vnd_enact(v, d, a);
    assert_false(d->last[0].failed);
    assert_string_equal(d->last[0].result,
                        "the record says v0:n1 v1:n0; the memory follows in batches");
    assert_int_equal(vn_state_read_record(s, "web", &r, &err), 0);
    assert_non_null(strstr(placement_json(&r), "{\"id\":0,\"pnodes\":[1],\"memory_mib\":256,"
                                               "\"policy\":\"bind\",\"vcpus\":\"0\",\"soft\":"
                                               "\"2-3\""));
    assert_non_null(strstr(placement_json(&r), "{\"id\":1,\"pnodes\":[0],\"memory_mib\":256,"
                                               "\"policy\":\"bind\",\"vcpus\":\"1-2\",\"soft\":"
                                               "\"0-1\""));
    assert_int_equal(vn_domain_claim(&r)->v[0].vcpus, 2);
    vn_domain_record_clear(&r);
    assert_int_equal(d->home[0], 1);
    assert_int_equal(d->home[1], 0);

    /* MIGRATE_VNODE of vnode 1 home to node 0, where all its pages are: a job that moves
     * nothing and finishes. */
    memset(a, 0, sizeof *a);
    a->kind = VN_BAL_MIGRATE_VNODE;
    a->vnode = 1;
    a->to_idx = 0;
    a->mib = 2;
    vn_bitmap_set(&a->from_idx, 1);
    vnd_enact(v, d, a);
    if (d->last[1].failed)
        fail_msg("%s", d->last[1].result);
    assert_string_equal(d->last[1].result, "moving up to 2 MiB of vnode 1 to node 0");
    assert_int_equal(v->njobs, 1);
    struct json_object *st = vnd_status_json(v);
    assert_non_null(strstr(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
                           "\"moving\":[{\"vnode\":1,\"to\":0,\"budget_mib\":2,"));
    json_object_put(st);
    vnd_jobs_finish(v);
    assert_int_equal(v->njobs, 0);
    assert_int_equal(d->moved_bytes, 0);
    assert_int_equal(d->migrations, 1);

    /* A batch for a vnode whose home is elsewhere is refused with a sentence. */
    a->to_idx = 1;
    vnd_enact(v, d, a);
    assert_true(d->last[2].failed);
    assert_string_equal(d->last[2].result, "failed: domain 'web': vnode 1 is at home on node 0 "
                                           "in its record, not on node 1");

    free(a);
    fclose(v->log);
    vnd_dom_clear(d);
    free(d);
    free(v->node_cpus);
    free(v);
    th_host_free(t);
    vn_state_close(s);
    munmap(mem, 4 << 20);
    fclose(mf);
    unlink(file);
    assert_int_equal(vn_dom_memdir_remove(&md, &err), 0);
    assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0); /* no shell */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_linebuf),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_dom_from_record),
        cmocka_unit_test(test_task_stat),
        cmocka_unit_test(test_observation),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_dom_spec_and_claim),
        cmocka_unit_test(test_placement_apply),
        cmocka_unit_test(test_enact),
    };
    return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
