/* Unit tests for src/lib/render: golden files for every renderer over placements that cover
 * the shapes that matter (flat, generated vNUMA, uneven vnodes, several host nodes, hard and
 * per-vCPU affinity, asymmetric distances), plus argv and quoting properties.
 *
 * Goldens live in tests/data/golden/render-CASE.{qemu,xml,xl,json}.  To regenerate after an
 * intended change:  VNUMA_REGEN=1 build/tests/unit/render/test-render  (then review the diff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "place/place.h"
#include "render/render.h"
#include "testhost.h"

#define RUNDIR "/run/vnuma/test"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc(n + 1);
    size_t got = fread(s, 1, n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* Compares text with the golden file NAME, or writes it when VNUMA_REGEN is set. */
static void golden(const char *name, const char *text)
{
    const char *root = getenv("VNUMA_SRCDIR");
    assert_non_null(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/golden/%s", root, name);
    if (getenv("VNUMA_REGEN")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return;
    }
    char *want = slurp(path);
    if (!want)
        fail_msg("golden file '%s' is missing; run with VNUMA_REGEN=1 to create it", path);
    if (strcmp(want, text) != 0) {
        print_error("--- %s\n%s\n+++ got\n%s\n", path, want, text);
        fail_msg("output differs from golden file '%s'", path);
    }
    free(want);
}

static void render_all(const char *name, const struct vn_placement *p)
{
    char file[256];
    struct vn_error err = {0};
    char **argv = vn_render_qemu_argv(p, RUNDIR, &err);
    assert_non_null(argv);
    char *line = vn_render_shell_line((const char *const *)argv);
    /* One argument per line in the golden: that is what execve gets. */
    size_t n = 0;
    for (char **a = argv; *a; a++)
        n += strlen(*a) + 1;
    char *lines = calloc(1, n + strlen(line) + 2);
    for (char **a = argv; *a; a++) {
        strcat(lines, *a);
        strcat(lines, "\n");
    }
    snprintf(file, sizeof file, "render-%s.qemu", name);
    golden(file, lines);
    snprintf(file, sizeof file, "render-%s.sh", name);
    char *l2 = malloc(strlen(line) + 2);
    sprintf(l2, "%s\n", line);
    golden(file, l2);
    free(l2);
    free(lines);
    free(line);
    vn_argv_free(argv);

    char *xml = vn_render_libvirt_xml(p);
    snprintf(file, sizeof file, "render-%s.xml", name);
    golden(file, xml);
    free(xml);
    char *xl = vn_render_xl(p);
    snprintf(file, sizeof file, "render-%s.xl", name);
    golden(file, xl);
    free(xl);
    struct json_object *j = vn_render_json(p);
    const char *js =
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *js2 = malloc(strlen(js) + 2);
    sprintf(js2, "%s\n", js);
    snprintf(file, sizeof file, "render-%s.json", name);
    golden(file, js2);

    /* The JSON reads back into the same placement: the same JSON and the same QEMU argv. */
    struct vn_placement *q = calloc(1, sizeof *q);
    if (vn_placement_from_json(j, "placement", q, &err) < 0)
        fail_msg("%s does not read back: %s", name, err.msg);
    struct json_object *jq = vn_render_json(q);
    assert_string_equal(json_object_to_json_string_ext(jq, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE),
                        js);
    json_object_put(jq);
    char **argv_p = vn_render_qemu_argv(p, RUNDIR, &err),
         **argv_q = vn_render_qemu_argv(q, RUNDIR, &err);
    char *lp = vn_render_shell_line((const char *const *)argv_p);
    char *lq = vn_render_shell_line((const char *const *)argv_q);
    assert_string_equal(lq, lp);
    free(lp);
    free(lq);
    vn_argv_free(argv_p);
    vn_argv_free(argv_q);
    free(q);
    free(js2);
    json_object_put(j);
}

static struct vn_placement *place_one(struct vn_host_topo *t, struct vn_host_load *load,
                                      enum vn_place_algo algo, const struct vn_vm_spec *s)
{
    struct vn_placement *p = calloc(1, sizeof *p);
    struct vn_place_request req;
    struct vn_error err = {0};
    if (vn_place_request_init(&req, s, t, &err) < 0 ||
        vn_place(algo, t, load, &req, p, NULL, &err) < 0)
        fail_msg("placement failed: %s", err.msg);
    return p;
}

static void test_flat(void **state)
{
    struct vn_host_topo *t = th_host_uniform(2, 4, 2, 8192, NULL);
    struct vn_host_load load;
    vn_host_load_init(&load, t);
    struct vn_vm_spec *s = th_spec("flat", 2, 1024);
    struct vn_placement *p = place_one(t, &load, VN_PLACE_VNUMA, s);
    render_all("flat", p);
    free(p);
    th_spec_free(s);
    th_host_free(t);
}

static void test_generated(void **state)
{
    int d[16] = {10, 16, 32, 32, 16, 10, 32, 32, 32, 32, 10, 16, 32, 32, 16, 10};
    struct vn_host_topo *t = th_host_uniform(4, 4, 1, 4096, d);
    struct vn_host_load load;
    vn_host_load_init(&load, t);
    struct vn_vm_spec *s = th_spec("gen", 4, 6144);
    struct vn_placement *p = place_one(t, &load, VN_PLACE_VNUMA, s);
    assert_true(p->generated);
    render_all("generated", p);
    free(p);
    th_spec_free(s);
    th_host_free(t);
}

static void test_uneven_vnodes(void **state)
{
    /* 4 vCPUs over 3 vnodes (2,1,1), one memory-only host node, asymmetric distances. */
    int d[9] = {10, 21, 31, 22, 10, 21, 31, 21, 10};
    struct vn_host_topo *t = th_host_uniform(3, 4, 1, 4096, d);
    struct vn_host_load load;
    vn_host_load_init(&load, t);
    struct vn_vm_spec *s = th_spec("uneven", 4, 3072);
    int pn[3] = {0, 1, 2};
    int vd[9] = {10, 21, 31, 22, 10, 21, 31, 21, 10};
    th_spec_vnodes(s, 3, pn, vd);
    struct vn_placement *p = place_one(t, &load, VN_PLACE_VNUMA, s);
    render_all("uneven", p);
    free(p);
    th_spec_free(s);
    th_host_free(t);
}

static void test_xen_two_nodes_hard(void **state)
{
    struct vn_host_topo *t = th_host_uniform(4, 2, 1, 2048, NULL);
    struct vn_host_load load;
    vn_host_load_init(&load, t);
    struct vn_vm_spec *s = th_spec("xen2", 3, 3072);
    th_spec_affinity(s, 1, "0-5");
    struct vn_placement *p = place_one(t, &load, VN_PLACE_XEN, s);
    assert_int_equal(vn_bitmap_count(&p->vnodes[0].pnodes), 2);
    render_all("xen-hard", p);
    free(p);
    th_spec_free(s);
    th_host_free(t);
}

static void test_per_vcpu_soft(void **state)
{
    struct vn_host_topo *t = th_host_uniform(2, 4, 1, 4096, NULL);
    struct vn_host_load load;
    vn_host_load_init(&load, t);
    struct vn_vm_spec *s = th_spec("pervcpu", 3, 2048);
    struct vn_affinity *a = &s->cpus_soft;
    a->nsets = 2;
    a->per_vcpu = true;
    a->sets = calloc(2, sizeof *a->sets);
    a->text = calloc(2, sizeof *a->text);
    a->text[0] = strdup("1");
    a->text[1] = strdup("2-3");
    vn_bitmap_set(&a->sets[0], 1);
    vn_bitmap_set_range(&a->sets[1], 2, 3);
    s->mempolicy = VN_MEMPOLICY_PREFERRED;
    struct vn_placement *p = place_one(t, &load, VN_PLACE_VNUMA, s);
    render_all("pervcpu", p);
    free(p);
    th_spec_free(s);
    th_host_free(t);
}

static void test_argv_shape_and_errors(void **state)
{
    struct vn_host_topo *t = th_host_uniform(2, 4, 1, 4096, NULL);
    struct vn_host_load load;
    vn_host_load_init(&load, t);
    struct vn_vm_spec *s = th_spec("x", 6, 2048);
    struct vn_placement *p = place_one(t, &load, VN_PLACE_VNUMA, s);
    struct vn_error err = {0};
    char **argv = vn_render_qemu_argv(p, RUNDIR, &err);
    /* Options and values alternate: every even element is an option. */
    int n = 0;
    for (; argv[n]; n++)
        if (n % 2 == 0)
            assert_true(argv[n][0] == '-');
    assert_int_equal(n % 2, 0);
    vn_argv_free(argv);
    assert_null(vn_render_qemu_argv(p, "/tmp/a,b", &err));
    assert_string_equal(err.msg, "runtime directory '/tmp/a,b' is empty or has a comma, which "
                                 "QEMU's option syntax cannot carry.");
    const char *words[] = {"-name", "it's a vm", "plain,ok=1", "", NULL};
    char *line = vn_render_shell_line(words);
    assert_string_equal(line, "-name 'it'\\''s a vm' plain,ok=1 ''");
    free(line);
    free(p);
    th_spec_free(s);
    th_host_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat),          cmocka_unit_test(test_generated),
        cmocka_unit_test(test_uneven_vnodes), cmocka_unit_test(test_xen_two_nodes_hard),
        cmocka_unit_test(test_per_vcpu_soft), cmocka_unit_test(test_argv_shape_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
