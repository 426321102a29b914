/* Unit tests for src/lib/config: lexer, parser, key handlers, both vNUMA forms, CPU lists,
 * disk specs, did-you-mean, and every validation rule.
 *
 * Host-dependent rules run against a host built here by hand (2 sockets x 2 nodes, 4 CPUs
 * and 8 GiB per node, like tests/data/configs/host-4node.json), so these tests do not
 * depend on the topo loaders. */
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
#include <json-c/json.h>

#include "config/config.h"
#include "config/config_int.h"

/* ---- fixtures ---- */

static struct vn_node host_nodes[4];
static struct vn_cpu host_cpus[16];
static int host_dist[16];
static struct vn_host_topo host;

static void build_host(void)
{
    memset(&host, 0, sizeof host);
    snprintf(host.name, sizeof host.name, "unit-4node");
    for (int n = 0; n < 4; n++) {
        host_nodes[n] =
            (struct vn_node){.os_index = n, .package = n / 2, .mem_mib = 8192, .free_mib = 8192};
        vn_bitmap_zero(&host_nodes[n].cpus);
        vn_bitmap_set_range(&host_nodes[n].cpus, 4 * n, 4 * n + 3);
        for (int j = 0; j < 4; j++)
            host_dist[n * 4 + j] = n == j ? 10 : n / 2 == j / 2 ? 16 : 32;
    }
    for (int c = 0; c < 16; c++)
        host_cpus[c] = (struct vn_cpu){.os_index = c, .node = c / 4, .package = c / 8, .core = c};
    host.nnodes = 4;
    host.nodes = host_nodes;
    host.ncpus = 16;
    host.cpus = host_cpus;
    host.dist = host_dist;
    host.npackages = 2;
}

/* Parses and validates text (with the test host when with_host); diags is left for checks. */
static struct vn_vm_spec *load(const char *text, bool with_host, struct vn_diags *d)
{
    vn_diags_init(d, "t.cfg");
    return vn_config_load_buf(text, strlen(text), "t.cfg", with_host ? &host : NULL, d);
}

/* True when some diagnostic of severity sev, formatted, contains needle. */
static bool has_diag(const struct vn_diags *d, enum vn_diag_severity sev, const char *needle)
{
    char line[1024];
    for (int i = 0; i < d->n; i++) {
        vn_diag_format(d, i, line, sizeof line);
        if (d->v[i].severity == sev && strstr(line, needle))
            return true;
    }
    return false;
}

static void dump(const struct vn_diags *d)
{
    char line[1024];
    for (int i = 0; i < d->n; i++) {
        vn_diag_format(d, i, line, sizeof line);
        print_message("  %s\n", line);
    }
}

/* Asserts text is invalid and that one error contains needle. */
static void expect_error(const char *text, bool with_host, const char *needle)
{
    struct vn_diags d;
    struct vn_vm_spec *spec = load(text, with_host, &d);
    if (spec || !has_diag(&d, VN_DIAG_ERROR, needle)) {
        print_message("expected an error containing \"%s\" for:\n%s\ngot:\n", needle, text);
        dump(&d);
    }
    assert_null(spec);
    assert_true(has_diag(&d, VN_DIAG_ERROR, needle));
    vn_diags_free(&d);
}

/* Asserts text is valid and returns the spec (the caller frees it). */
static struct vn_vm_spec *expect_valid(const char *text, bool with_host)
{
    struct vn_diags d;
    struct vn_vm_spec *spec = load(text, with_host, &d);
    if (!spec) {
        print_message("expected valid:\n%s\ngot:\n", text);
        dump(&d);
    }
    assert_non_null(spec);
    assert_int_equal(d.nerrors, 0);
    vn_diags_free(&d);
    return spec;
}

static void expect_warning(const char *text, bool with_host, const char *needle)
{
    struct vn_diags d;
    struct vn_vm_spec *spec = load(text, with_host, &d);
    if (!spec || !has_diag(&d, VN_DIAG_WARNING, needle)) {
        print_message("expected a warning containing \"%s\" for:\n%s\ngot:\n", needle, text);
        dump(&d);
    }
    assert_non_null(spec);
    assert_true(has_diag(&d, VN_DIAG_WARNING, needle));
    vn_spec_free(spec);
    vn_diags_free(&d);
}

/* text parses and validates (no host) with no diagnostic at all. */
static void expect_clean(const char *text)
{
    struct vn_diags d;
    struct vn_vm_spec *spec = load(text, false, &d);
    if (!spec || d.n != 0) {
        print_message("expected no diagnostic for:\n%s\ngot:\n", text);
        dump(&d);
    }
    assert_non_null(spec);
    assert_int_equal(d.n, 0);
    vn_spec_free(spec);
    vn_diags_free(&d);
}

static char *cpulist(const struct vn_bitmap *b)
{
    static char buf[256];
    vn_bitmap_format_list(b, buf, sizeof buf);
    return buf;
}

#define BASE "name = 'vm'\nmemory = 4096\nvcpus = 4\nkernel = '/k'\n"

/* ---- lexer ---- */

static void test_lex_tokens_and_locations(void **state)
{
    const char *src = "a = \"x\" ; b=0x1F # note\n  c += [1,'y']\n";
    struct vn_tokens t;
    assert_int_equal(vn_lex(src, strlen(src), &t), 0);
    enum vn_tok_kind want[] = {VN_TOK_IDENT, VN_TOK_EQUALS,      VN_TOK_STRING,   VN_TOK_SEMI,
                               VN_TOK_IDENT, VN_TOK_EQUALS,      VN_TOK_NUMBER,   VN_TOK_NEWLINE,
                               VN_TOK_IDENT, VN_TOK_PLUS_EQUALS, VN_TOK_LBRACKET, VN_TOK_NUMBER,
                               VN_TOK_COMMA, VN_TOK_STRING,      VN_TOK_RBRACKET, VN_TOK_NEWLINE,
                               VN_TOK_EOF};
    assert_int_equal(t.n, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < t.n; i++)
        assert_int_equal(t.v[i].kind, want[i]);
    assert_string_equal(t.v[2].text, "x");
    assert_string_equal(t.v[6].text, "0x1F");
    assert_int_equal(t.v[6].loc.line, 1);
    assert_int_equal(t.v[6].loc.col, 13);
    assert_string_equal(t.v[8].text, "c");
    assert_int_equal(t.v[8].loc.line, 2);
    assert_int_equal(t.v[8].loc.col, 3);
    assert_string_equal(t.v[13].text, "y");
    vn_tokens_free(&t);
}

static void test_lex_escapes(void **state)
{
    const char *src = "s = \"a\\tb\\x41\\101\\\"\\\\\\n'\"\nq = 'it\\'s'\n";
    struct vn_tokens t;
    assert_int_equal(vn_lex(src, strlen(src), &t), 0);
    assert_int_equal(t.v[2].kind, VN_TOK_STRING);
    assert_string_equal(t.v[2].text, "a\tbAA\"\\\n'");
    assert_string_equal(t.v[6].text, "it's");
    vn_tokens_free(&t);
}

static void lex_expect_error(const char *src, const char *needle)
{
    struct vn_tokens t;
    assert_int_equal(vn_lex(src, strlen(src), &t), 0);
    bool found = false;
    for (int i = 0; i < t.n; i++)
        if (t.v[i].kind == VN_TOK_ERROR && strstr(t.v[i].text, needle))
            found = true;
    if (!found)
        print_message("no lexer error \"%s\" for: %s\n", needle, src);
    assert_true(found);
    vn_tokens_free(&t);
}

static void test_lex_errors(void **state)
{
    lex_expect_error("a = \"abc\n", "String is not closed");
    lex_expect_error("a = 'x\\q'", "Invalid escape '\\q'");
    lex_expect_error("a = '\\x4'", "two hex digits");
    lex_expect_error("a = '\\0'", "NUL character");
    lex_expect_error("a = 08", "a leading 0 makes it octal");
    lex_expect_error("a = 12ab", "'12ab' is not a number");
    lex_expect_error("a = 0x", "needs hex digits");
    lex_expect_error("a = -1", "Negative numbers");
    lex_expect_error("a = range(3)", "looks like Python");
    lex_expect_error("a = @", "Unexpected character '@'");
    const char nul[] = "a = 1\0";
    struct vn_tokens t;
    assert_int_equal(vn_lex(nul, sizeof nul - 1, &t), 0);
    assert_int_equal(t.v[3].kind, VN_TOK_ERROR);
    assert_non_null(strstr(t.v[3].text, "\\x00"));
    vn_tokens_free(&t);
}

/* ---- parser ---- */

static struct vn_settings parse_ok(const char *src, struct vn_diags *d)
{
    struct vn_tokens t;
    struct vn_settings s;
    vn_diags_init(d, "p.cfg");
    assert_int_equal(vn_lex(src, strlen(src), &t), 0);
    assert_int_equal(vn_parse_settings(&t, &s, d), 0);
    vn_tokens_free(&t);
    return s;
}

static void test_parse_lists(void **state)
{
    struct vn_diags d;
    struct vn_settings s = parse_ok("l = [ [ 'a', 1, ],\n      [],\n  [ [2] ] , ]\n"
                                    "e = []; n = 0x10\n",
                                    &d);
    assert_int_equal(s.n, 3);
    const struct vn_cv *l = s.v[0].value;
    assert_int_equal(l->kind, VN_CV_LIST);
    assert_int_equal(l->n, 3);
    assert_int_equal(l->items[0]->n, 2);
    assert_string_equal(l->items[0]->items[0]->text, "a");
    assert_int_equal(l->items[0]->items[1]->kind, VN_CV_NUMBER);
    assert_int_equal(l->items[1]->n, 0);
    assert_int_equal(l->items[2]->items[0]->items[0]->kind, VN_CV_NUMBER);
    assert_int_equal(l->items[2]->loc.line, 3);
    assert_int_equal(s.v[1].value->n, 0);
    assert_string_equal(s.v[2].value->text, "0x10");
    vn_settings_free(&s);
    vn_diags_free(&d);
}

static void test_parse_duplicate_and_append(void **state)
{
    struct vn_diags d;
    struct vn_settings s =
        parse_ok("a = 1\na = 2\nb = 'x'\nb += 'y'\nc = ['p']\nc += ['q', 'r']\nd += 's'\n", &d);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.v[0].value->text, "2");
    assert_int_equal(s.v[0].loc.line, 2);
    assert_int_equal(s.v[0].first.line, 1);
    assert_string_equal(s.v[1].value->text, "xy");
    assert_int_equal(s.v[2].value->n, 3);
    assert_string_equal(s.v[2].value->items[2]->text, "r");
    assert_string_equal(s.v[3].value->text, "s");
    assert_int_equal(d.nwarnings, 1);
    assert_true(has_diag(&d, VN_DIAG_WARNING, "p.cfg:2:1: warning: a: 'a' is set again"));
    vn_settings_free(&s);
    vn_diags_free(&d);
}

static int parse_errors(const char *src, struct vn_diags *d)
{
    struct vn_tokens t;
    struct vn_settings s;
    vn_diags_init(d, "p.cfg");
    assert_int_equal(vn_lex(src, strlen(src), &t), 0);
    int n = vn_parse_settings(&t, &s, d);
    vn_tokens_free(&t);
    vn_settings_free(&s);
    return n;
}

static void test_parse_errors_and_recovery(void **state)
{
    struct vn_diags d;
    /* three independent mistakes, all reported, with positions */
    assert_int_equal(parse_errors("a 1\nb = [1, 2\nc = 3 4\nd = 'ok'\n", &d), 3);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "p.cfg:1:1: error: a: Expected '=' after the key"));
    assert_true(has_diag(&d, VN_DIAG_ERROR,
                         "p.cfg:2:5: error: b: The list of 'b' opened here is not closed"));
    assert_true(has_diag(&d, VN_DIAG_ERROR, "p.cfg:3:7: error: c: Expected ';' or the end"));
    vn_diags_free(&d);

    assert_int_equal(parse_errors("a = [1,\n", &d), 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "p.cfg:1:5: error: a: The list of 'a' opened here"));
    vn_diags_free(&d);

    assert_int_equal(parse_errors("a = [,]\n", &d), 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "Expected a value for 'a' but found ','"));
    vn_diags_free(&d);

    assert_int_equal(parse_errors("= 3\n", &d), 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "Expected a key at the start of a statement"));
    vn_diags_free(&d);

    assert_int_equal(parse_errors("a = 1\na += 2\n", &d), 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "'+=' cannot be used with numbers"));
    vn_diags_free(&d);

    assert_int_equal(parse_errors("a = 'x'\na += ['y']\n", &d), 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "'+=' cannot add a list to a string"));
    vn_diags_free(&d);
}

static void test_parse_limits(void **state)
{
    struct vn_diags d;
    char deep[64] = "a = ";
    for (int i = 0; i < VN_CONFIG_MAX_DEPTH + 1; i++)
        strcat(deep, "[");
    assert_true(parse_errors(deep, &d) >= 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "nested deeper than 8 levels"));
    vn_diags_free(&d);

    /* a nesting of exactly the limit is fine */
    char ok[64] = "a = ";
    for (int i = 0; i < VN_CONFIG_MAX_DEPTH; i++)
        strcat(ok, "[");
    for (int i = 0; i < VN_CONFIG_MAX_DEPTH; i++)
        strcat(ok, "]");
    assert_int_equal(parse_errors(ok, &d), 0);
    vn_diags_free(&d);

    size_t big = VN_CONFIG_MAX_BYTES + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, '\n', big);
    vn_diags_init(&d, "big.cfg");
    assert_null(vn_config_parse_buf(buf, big, "big.cfg", &d));
    assert_true(has_diag(&d, VN_DIAG_ERROR, "big.cfg: error: The file is 1048577 bytes"));
    vn_diags_free(&d);
    free(buf);

    /* a file full of errors stops after the limit instead of listing them all */
    char *many = malloc(4 * 1000 + 1);
    assert_non_null(many);
    many[0] = '\0';
    for (int i = 0; i < 1000; i++)
        strcat(many, "@@\n");
    assert_int_equal(parse_errors(many, &d), VN_CONFIG_MAX_ERRORS + 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "Too many errors"));
    vn_diags_free(&d);
    free(many);
}

static void test_diag_format(void **state)
{
    struct vn_diags d;
    char buf[256];
    vn_diags_init(&d, "f.cfg");
    vn_diags_add(&d, VN_DIAG_ERROR, (struct vn_loc){3, 7}, "memory", "Bad '%s'.", "x");
    vn_diags_add(&d, VN_DIAG_WARNING, (struct vn_loc){0, 0}, "", "Whole file.");
    vn_diags_add(&d, VN_DIAG_ERROR, (struct vn_loc){1, 2}, "", "Syntax.");
    vn_diag_format(&d, 0, buf, sizeof buf);
    assert_string_equal(buf, "f.cfg:3:7: error: memory: Bad 'x'.");
    vn_diag_format(&d, 1, buf, sizeof buf);
    assert_string_equal(buf, "f.cfg: warning: Whole file.");
    assert_int_equal(d.nerrors, 2);
    assert_int_equal(d.nwarnings, 1);
    vn_diags_sort(&d);
    assert_int_equal(d.v[0].line, 0);
    assert_int_equal(d.v[1].line, 1);
    assert_int_equal(d.v[2].line, 3);
    vn_diags_free(&d);
}

/* ---- keys ---- */

static void test_edit_distance_and_suggestions(void **state)
{
    assert_int_equal(vn_edit_distance("memory", "memory"), 0);
    assert_int_equal(vn_edit_distance("memroy", "memory"), 1); /* swap counts once */
    assert_int_equal(vn_edit_distance("vcpu", "vcpus"), 1);
    assert_int_equal(vn_edit_distance("kitten", "sitting"), 3);
    assert_string_equal(vn_key_suggest("memroy"), "memory");
    assert_string_equal(vn_key_suggest("cpu_soft"), "cpus_soft");
    assert_string_equal(vn_key_suggest("vnumma"), "vnuma");
    assert_string_equal(vn_key_suggest("on_crsh"), "on_crash");
    assert_string_equal(vn_key_suggest("maxmen"), "maxmem");
    assert_null(vn_key_suggest("completely_unrelated"));
    assert_null(vn_key_suggest("zz"));
    expect_error(BASE "memroy = 4096\n", false,
                 "t.cfg:5:1: error: memroy: Unknown key 'memroy'; did you mean 'memory'?");
    expect_error(BASE "frobnicate = 1\n", false, "Unknown key 'frobnicate'.");
    expect_warning(BASE "builder = 'hvm'\n", false,
                   "builder: 'builder' is an xl key that vnuma does not use");
    expect_error(BASE "on_crash = 'restrat'\n", false,
                 "is not one of 'destroy', 'restart', 'rename-restart', 'preserve', "
                 "'coredump-destroy', 'coredump-restart', 'soft-reset'; did you mean "
                 "'restart'?");
}

static void test_scalar_keys(void **state)
{
    struct vn_vm_spec *s = expect_valid("name='a'\nmemory=\"0x800\"\nmaxmem=04000\nvcpus='2'\n"
                                        "maxvcpus=4\nkernel='/k'\non_poweroff='preserve'\n"
                                        "on_reboot='destroy'\non_crash='coredump-restart'\n"
                                        "accel='tcg'\nmemory_policy='interleave'\nbalance=0\n"
                                        "affinity_group='db'\nanti_affinity_group='web'\n",
                                        false);
    assert_string_equal(s->name, "a");
    assert_int_equal(s->memory_mib, 2048);
    assert_int_equal(s->maxmem_mib, 2048); /* 04000 is octal, as in xl */
    assert_int_equal(s->vcpus, 2);
    assert_int_equal(s->maxvcpus, 4);
    assert_int_equal(s->on_poweroff, VN_ACTION_PRESERVE);
    assert_int_equal(s->on_reboot, VN_ACTION_DESTROY);
    assert_int_equal(s->on_crash, VN_ACTION_COREDUMP_RESTART);
    assert_int_equal(s->accel, VN_ACCEL_TCG);
    assert_int_equal(s->mempolicy, VN_MEMPOLICY_INTERLEAVE);
    assert_false(s->balance);
    assert_string_equal(s->affinity_group, "db");
    assert_string_equal(s->anti_affinity_group, "web");
    vn_spec_free(s);

    s = expect_valid("name='d'\nmemory=512\nkernel='/k'\n", false);
    assert_int_equal(s->vcpus, 1);
    assert_int_equal(s->maxvcpus, 1);
    assert_int_equal(s->maxmem_mib, 512);
    assert_int_equal(s->on_poweroff, VN_ACTION_DESTROY);
    assert_int_equal(s->on_reboot, VN_ACTION_RESTART);
    assert_int_equal(s->accel, VN_ACCEL_AUTO);
    assert_true(s->balance);
    assert_int_equal(s->nvnodes, 0);
    vn_spec_free(s);

    expect_error(BASE "balance = 2\n", false, "'2' must be 0 or 1.");
    expect_error("name='a'\nmemory=[1]\n", false, "memory: Expected a number, not a list.");
    expect_error("name='a'\nmemory='lots'\n", false, "'lots' is not a number.");
    expect_error("name=['a']\nmemory=1\n", false, "name: Expected a single value, not a list.");
    expect_error(BASE "accel = 'xen'\n", false, "'xen' is not one of 'auto', 'kvm', 'tcg'.");
}

static void test_cmdline_combination(void **state)
{
    struct vn_vm_spec *s = expect_valid(BASE "root='/dev/vda1'\nextra='console=ttyS0'\n", false);
    assert_string_equal(s->cmdline, "root=/dev/vda1 console=ttyS0");
    vn_spec_free(s);
    s = expect_valid(BASE "root='/dev/vda1'\n", false);
    assert_string_equal(s->cmdline, "root=/dev/vda1");
    vn_spec_free(s);
    s = expect_valid(BASE "extra='quiet'\n", false);
    assert_string_equal(s->cmdline, "quiet");
    vn_spec_free(s);
    expect_warning(BASE "cmdline='ro'\nextra='quiet'\n", false,
                   "'extra' is ignored because 'cmdline' is given");
    s = expect_valid(BASE "cmdline='ro'\nroot='/dev/x'\n", false);
    assert_string_equal(s->cmdline, "ro");
    vn_spec_free(s);
}

/* ---- vNUMA ---- */

static void assert_same_vnuma(const struct vn_vm_spec *a, const struct vn_vm_spec *b)
{
    assert_int_equal(a->nvnodes, b->nvnodes);
    assert_int_equal(a->memory_mib, b->memory_mib);
    assert_int_equal(a->maxmem_mib, b->maxmem_mib);
    assert_int_equal(a->vcpus, b->vcpus);
    assert_int_equal(a->maxvcpus, b->maxvcpus);
    for (int i = 0; i < a->nvnodes; i++) {
        assert_int_equal(a->vnodes[i].mem_mib, b->vnodes[i].mem_mib);
        assert_int_equal(a->vnodes[i].pnode, b->vnodes[i].pnode);
        assert_true(vn_bitmap_equal(&a->vnodes[i].vcpus, &b->vnodes[i].vcpus));
        for (int j = 0; j < a->nvnodes; j++)
            assert_int_equal(a->vdist[i][j], b->vdist[i][j]);
    }
}

static void test_vnuma_forms_identical(void **state)
{
    struct vn_vm_spec *legacy =
        expect_valid(BASE "vnodes = 2\nvnumamem = [2048, 2048]\nvdistance = [10, 20]\n"
                          "vnuma_vcpumap = [1, 0, 1, 0]\n",
                     false);
    struct vn_vm_spec *list =
        expect_valid(BASE "vnuma = [ [ 'pnode=auto', 'size=2048', 'vcpus=1,3', "
                          "'vdistances=10,20' ],\n"
                          "          [ 'pnode=auto', 'size=2048', 'vcpus=0,2', "
                          "'vdistances=20,10' ] ]\n",
                     false);
    assert_int_equal(legacy->vnuma_form, VN_VNUMA_LEGACY);
    assert_int_equal(list->vnuma_form, VN_VNUMA_LIST);
    assert_int_equal(legacy->vnodes[0].pnode, -1);
    assert_string_equal(cpulist(&legacy->vnodes[0].vcpus), "1,3");
    assert_same_vnuma(legacy, list);
    vn_spec_free(legacy);
    vn_spec_free(list);

    /* and with pnodes given */
    legacy = expect_valid(BASE "vnodes = 2\nvnumamem = [1024, 3072]\nvdistance = [10, 30]\n"
                               "vnuma_vcpumap = [0, 0, 1, 1]\nvnuma_vnodemap = [3, 1]\n",
                          true);
    list = expect_valid(BASE "vnuma = [ [ 'pnode=3', 'size=1024', 'vcpus=0-1', "
                             "'vdistances=10,30' ],\n"
                             "          [ 'pnode=1', 'size=3072', 'vcpus=2-3', "
                             "'vdistances=30,10' ] ]\n",
                        true);
    assert_int_equal(list->vnodes[0].pnode, 3);
    assert_same_vnuma(legacy, list);
    vn_spec_free(legacy);
    vn_spec_free(list);
}

static void test_vnuma_legacy_defaults(void **state)
{
    struct vn_vm_spec *s =
        expect_valid("name='a'\nmemory=6144\nvcpus=6\nkernel='/k'\nvnodes=3\n", false);
    assert_int_equal(s->nvnodes, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s->vnodes[i].mem_mib, 2048);
        assert_int_equal(s->vnodes[i].pnode, -1);
        assert_int_equal(vn_bitmap_count(&s->vnodes[i].vcpus), 2);
        assert_true(vn_bitmap_test(&s->vnodes[i].vcpus, 2 * i));
        for (int j = 0; j < 3; j++)
            assert_int_equal(s->vdist[i][j], i == j ? 10 : 20);
    }
    vn_spec_free(s);
    /* uneven split: 2 MiB units, remainder on the last vnode */
    s = expect_valid("name='a'\nmemory=1030\nvcpus=3\nkernel='/k'\nvnodes=2\n", false);
    assert_int_equal(s->vnodes[0].mem_mib, 514);
    assert_int_equal(s->vnodes[1].mem_mib, 516);
    assert_string_equal(cpulist(&s->vnodes[0].vcpus), "0-1");
    assert_string_equal(cpulist(&s->vnodes[1].vcpus), "2");
    vn_spec_free(s);
}

static void test_vnuma_derives_counts(void **state)
{
    /* no memory, no vcpus: the vnodes give both, as in xl */
    struct vn_vm_spec *s =
        expect_valid("name='a'\nkernel='/k'\nvnuma = [ ['pnode=0','size=1024','vcpus=0-2',"
                     "'vdistances=10,21'], ['pnode=1','size=3072','vcpus=3-7',"
                     "'vdistances=21,10'] ]\n",
                     true);
    assert_int_equal(s->memory_mib, 4096);
    assert_int_equal(s->maxmem_mib, 4096);
    assert_int_equal(s->vcpus, 8);
    assert_int_equal(s->maxvcpus, 8);
    vn_spec_free(s);
    s = expect_valid("name='a'\nkernel='/k'\nvnodes=2\nvnumamem=[512,512]\n"
                     "vnuma_vcpumap=[0,1,1]\n",
                     false);
    assert_int_equal(s->memory_mib, 1024);
    assert_int_equal(s->vcpus, 3);
    vn_spec_free(s);
}

#define V2                                                                                         \
    "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0-1', 'vdistances=10,20' ],\n"                     \
    "          [ 'pnode=1', 'size=2048', 'vcpus=2-3', 'vdistances=20,10' ] ]\n"

static void test_vnuma_syntax_errors(void **state)
{
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=4096', 'vcpus=0-3' ] ]\n", false,
                 "Vnode 0 has no 'vdistances'; pnode, size, vcpus and vdistances are all "
                 "required");
    expect_error(BASE "vnuma = [ [ 'size=4096', 'vcpus=0-3', 'vdistances=10' ] ]\n", false,
                 "Vnode 0 has no 'pnode'");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'sise=4096', 'vcpus=0-3', 'vdistances=10' ] ]\n",
                 false, "Vnode 0: unknown option 'sise'; did you mean 'size'?");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=4096', 'size=1', 'vcpus=0-3', "
                      "'vdistances=10' ] ]\n",
                 false, "Vnode 0 gives 'size' twice.");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=4096', 'vcpus=0-3', 'vdistances=10,20' ] ]\n",
                 false, "Vnode 0 gives 2 distances; it needs one per vnode (1)");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=4096', 'vcpus=3-0', 'vdistances=10' ] ]\n",
                 false, "'vcpus=3-0' is not a list of vCPUs and ranges (range '3-0' is reversed)");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=4096', 'vcpus=0-3,^1', 'vdistances=10' ] ]\n",
                 false, "'vcpus=0-3,^1' is not a list of vCPUs");
    expect_error(BASE "vnuma = [ [ 'pnode=x', 'size=4096', 'vcpus=0-3', 'vdistances=10' ] ]\n",
                 false, "'pnode=x' is not a host node number (0-1023) or 'auto'");
    expect_error(BASE "vnuma = [ 'pnode=0' ]\n", false,
                 "Vnode 0 must be a list of \"key=value\" strings, not a string.");
    expect_error(BASE "vnuma = [ [ 'pnode' ] ]\n", false, "'pnode' is not a key=value option");
    expect_error(BASE "vnuma = 'x'\n", false, "Expected a list of vnodes");
    expect_error(BASE V2 "vnodes = 2\n", false,
                 "'vnodes' belongs to the original vNUMA form and cannot be combined with "
                 "'vnuma' (line 5)");
    expect_error(BASE "vnumamem = [4096]\n", false,
                 "'vnumamem' needs 'vnodes', the number of virtual nodes.");
    expect_error(BASE "vnodes = 65\n", false, "the number must be between 1 and 64");
    expect_error(BASE "vnodes = 0\n", false, "the number must be between 1 and 64");
    expect_error(BASE "vnodes = 2\nvnumamem = [4096]\n", false,
                 "vnumamem: The list has 1 entry; it needs 2, one per vnode");
    expect_error(BASE "vnodes = 2\nvdistance = [10, 20, 30]\n", false,
                 "vdistance: The list has 3 entries; it needs 2 (the same-node distance");
    expect_error(BASE "vnodes = 2\nvnuma_vnodemap = [0]\n", false,
                 "vnuma_vnodemap: The list has 1 entry; it needs 2");
    expect_error(BASE "vnodes = 2\nvnuma_vcpumap = [0, 1, 2, 1]\n", false,
                 "vCPU 2 is mapped to vnode 2; there are only 2 vnodes (0-1).");
    expect_error(BASE "vnodes = 2\nvnuma_vcpumap = [0, 1, 1]\n", false,
                 "The map has 3 entries; it needs one per vCPU (4, from 'vcpus').");
    expect_warning(BASE "vnuma = []\n", false, "The vnode list is empty");
}

/* ---- validation rules, one by one ---- */

static void test_validate_name(void **state)
{
    expect_error("memory = 512\nkernel='/k'\n", false,
                 "t.cfg: error: name: The guest has no 'name'; it is required.");
    expect_error("name = ''\nmemory = 512\n", false, "t.cfg:1:8: error: name: The name is empty.");
    expect_error("name = '-vm'\nmemory = 512\n", false, "starts with '-'");
    expect_error("name = 'a b'\nmemory = 512\n", false, "contains the byte 0x20");
    expect_error("name = 'a/b'\nmemory = 512\n", false, "contains '/'");
    expect_error("name = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'\n"
                 "memory = 512\n",
                 false, "is 65 characters long; at most 64 are allowed.");
    struct vn_vm_spec *s = expect_valid("name='Web-01_v2.prod'\nmemory=512\nkernel='/k'\n", false);
    vn_spec_free(s);
}

static void test_validate_memory_and_vcpus(void **state)
{
    expect_error("name='a'\nkernel='/k'\n", false, "The guest has no 'memory' (in MiB)");
    expect_error("name='a'\nmemory=0\n", false, "Memory must be positive; it is 0 MiB.");
    expect_error("name='a'\nmemory=17000000\n", false, "is above the limit of 16777216 MiB");
    expect_error("name='a'\nmemory=2048\nmaxmem=1024\n", false,
                 "maxmem (1024 MiB) is below memory (2048 MiB)");
    expect_error("name='a'\nmemory=512\nvcpus=0\n", false, "vcpus must be at least 1; it is 0.");
    expect_error("name='a'\nmemory=512\nvcpus=1025\n", false,
                 "1025 vCPUs are asked for; at most 1024 are allowed.");
    expect_error("name='a'\nmemory=512\nvcpus=4\nmaxvcpus=2\n", false,
                 "maxvcpus (2) is below vcpus (4)");
    expect_error("name='a'\nmemory=512\nvcpus=4\nmaxvcpus=2000\n", false,
                 "maxvcpus: 2000 vCPUs are asked for");
    /* maxmem alone sets memory, as libxl's target defaults to the maximum */
    struct vn_vm_spec *s = expect_valid("name='a'\nmaxmem=1024\nkernel='/k'\n", false);
    assert_int_equal(s->memory_mib, 1024);
    vn_spec_free(s);
}

static void test_validate_vnode_sizes(void **state)
{
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=0', 'vcpus=0-3', 'vdistances=10' ] ]\n", false,
                 "Vnode 0 has size 0 MiB; it must be positive.");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2047', 'vcpus=0-1', 'vdistances=10,20' ],"
                      "[ 'pnode=0', 'size=2049', 'vcpus=2-3', 'vdistances=20,10' ] ]\n",
                 false, "Vnode 0 is 2047 MiB; vnode sizes must be multiples of 2 MiB.");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=1024', 'vcpus=0-3', 'vdistances=10' ] ]\n",
                 false,
                 "t.cfg:5:1: error: vnuma: The vnodes add up to 1024 MiB but memory is 4096 MiB "
                 "(line 2); as in libxl they must be equal.");
    expect_error(BASE "maxmem = 8192\n" V2, false,
                 "The vnodes add up to 4096 MiB but maxmem is 8192 MiB (line 5)");
    expect_error(BASE "vnodes = 2\nvnumamem = [1024, 1024]\n", false,
                 "vnumamem: The vnodes add up to 2048 MiB but memory is 4096 MiB");
    /* the even split of an odd amount leaves an odd last vnode */
    expect_error("name='a'\nmemory=1025\nkernel='/k'\nvnodes=2\n", false,
                 "vnodes: Vnode 1 is 513 MiB; vnode sizes must be multiples of 2 MiB.");
    expect_error(BASE "vnuma = ["
                      "['pnode=0','size=64','vcpus=0','vdistances=10'],"
                      "['pnode=0','size=64','vcpus=1','vdistances=10']]\n",
                 false, "Vnode 1 gives 1 distance; it needs one per vnode (2)");
}

static void test_validate_vnode_vcpus(void **state)
{
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0-2', 'vdistances=10,20' ],\n"
                      "[ 'pnode=1', 'size=2048', 'vcpus=2-3', 'vdistances=20,10' ] ]\n",
                 false, "vCPU 2 is in vnode 0 and in vnode 1; each vCPU must be in exactly one");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0', 'vdistances=10,20' ],\n"
                      "[ 'pnode=1', 'size=2048', 'vcpus=3', 'vdistances=20,10' ] ]\n",
                 false, "vCPUs 1-2 are in no vnode; every vCPU (0-3, from 'vcpus') must be in one");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0-1', 'vdistances=10,20' ],\n"
                      "[ 'pnode=1', 'size=2048', 'vcpus=2-5', 'vdistances=20,10' ] ]\n",
                 false, "Vnode 1 has vCPUs 4-5 but the guest has 4 vCPUs (0-3, from 'vcpus')");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0-3', 'vdistances=10,20' ],\n"
                      "[ 'pnode=1', 'size=2048', 'vcpus=', 'vdistances=20,10' ] ]\n",
                 false, "Vnode 1: 'vcpus=' is not a list of vCPUs and ranges (empty list).");
}

static void test_validate_vnode_vcpus_memory_only(void **state)
{
    expect_warning(BASE "vnodes = 2\nvnuma_vcpumap = [0, 0, 0, 0]\n", false,
                   "Vnode 1 has no vCPUs; the guest sees a memory-only node.");
}

static void test_validate_distances(void **state)
{
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0-1', 'vdistances=10,300' ],\n"
                      "[ 'pnode=1', 'size=2048', 'vcpus=2-3', 'vdistances=300,10' ] ]\n",
                 false,
                 "Vnode 0: the distance 300 to vnode 1 is out of range; distances are "
                 "10-255.");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0-1', 'vdistances=12,20' ],\n"
                      "[ 'pnode=1', 'size=2048', 'vcpus=2-3', 'vdistances=20,10' ] ]\n",
                 false, "Vnode 0: the distance to itself is 12; the local distance must be 10.");
    expect_error(BASE "vnuma = [ [ 'pnode=0', 'size=2048', 'vcpus=0-1', 'vdistances=30,20' ],\n"
                      "[ 'pnode=1', 'size=2048', 'vcpus=2-3', 'vdistances=20,10' ] ]\n",
                 false,
                 "Vnode 0: the local distance 30 is above the distance 20 to vnode 1; as "
                 "in libxl, local must not exceed remote.");
    expect_error(BASE "vnodes = 2\nvdistance = [20, 10]\n", false,
                 "vdistance: The same-node distance 20 is above the other-node distance 10");
    expect_error(BASE "vnodes = 2\nvdistance = [10, 5]\n", false,
                 "The other-node distance 5 is out of range");
    expect_error(BASE "vnodes = 2\nvdistance = [11, 20]\n", false,
                 "The same-node distance is 11; it must be 10.");
}

static void test_validate_host(void **state)
{
    expect_error(BASE "vnuma = [ [ 'pnode=7', 'size=4096', 'vcpus=0-3', 'vdistances=10' ] ]\n",
                 true,
                 "Vnode 0 is placed on host node 7, which host 'unit-4node' does not have "
                 "(nodes 0-3).");
    expect_error(BASE "vnodes = 1\nvnuma_vnodemap = [9]\n", true,
                 "vnuma_vnodemap: Vnode 0 is placed on host node 9");
    expect_error("name='a'\nkernel='/k'\nmemory=40000\n", true,
                 "memory: The guest needs 40000 MiB; host 'unit-4node' has 32768 MiB in total.");
    expect_error("name='a'\nkernel='/k'\nmemory=1024\nmaxmem=40000\n", true,
                 "maxmem: The guest needs 40000 MiB");
    expect_error("name='a'\nkernel='/k'\nvnuma = [ [ 'pnode=0', 'size=10240', 'vcpus=0', "
                 "'vdistances=10' ] ]\n",
                 true, "Vnode 0 (10240 MiB) is larger than host node 0 (8192 MiB).");
    expect_error("name='a'\nkernel='/k'\nvnuma = [ [ 'pnode=2', 'size=6144', 'vcpus=0', "
                 "'vdistances=10,20' ], [ 'pnode=2', 'size=6144', 'vcpus=1', "
                 "'vdistances=20,10' ] ]\n",
                 true, "The 2 vnodes on host node 2 need 12288 MiB; the node has 8192 MiB.");
    expect_warning(BASE "vcpus = 20\n", true,
                   "The guest has 20 vCPUs and host 'unit-4node' has 16 CPUs");
    /* the same files pass without a host */
    struct vn_vm_spec *s = expect_valid(
        BASE "vnuma = [ [ 'pnode=7', 'size=4096', 'vcpus=0-3', 'vdistances=10' ] ]\n", false);
    vn_spec_free(s);
}

/* ---- CPU lists ---- */

static void cpulist_is(const char *text, const struct vn_host_topo *h, const char *want)
{
    struct vn_bitmap b;
    bool needs_host;
    struct vn_error err = {0};
    int rc = vn_cpulist_parse(text, h, &b, &needs_host, &err);
    if (rc < 0)
        print_message("'%s': %s\n", text, err.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(cpulist(&b), want);
}

static void cpulist_fails(const char *text, const struct vn_host_topo *h, const char *needle)
{
    struct vn_bitmap b;
    bool needs_host;
    struct vn_error err = {0};
    assert_int_equal(vn_cpulist_parse(text, h, &b, &needs_host, &err), -1);
    if (!strstr(err.msg, needle))
        print_message("'%s': got '%s'\n", text, err.msg);
    assert_non_null(strstr(err.msg, needle));
}

static void test_cpulist_forms(void **state)
{
    cpulist_is("0-3,5,^1", NULL, "0,2-3,5");
    cpulist_is("2-5,^3", NULL, "2,4-5");
    cpulist_is("^3,2-5", NULL, "2-5"); /* left to right, as xl */
    cpulist_is("all", &host, "0-15");
    cpulist_is("all,^7", &host, "0-6,8-15");
    cpulist_is("nodes:0-1,^node:0", &host, "4-7");
    cpulist_is("nodes:0-3,^node:2", &host, "0-7,12-15"); /* the xl.cfg(5) example */
    cpulist_is("1,node:1,^6", &host, "1,4-5,7");         /* the xl.cfg(5) example */
    cpulist_is("all,^node:1", &host, "0-3,8-15");
    cpulist_is("node:0,node:2,^9-11", &host, "0-3,8");

    struct vn_bitmap b;
    bool needs_host;
    struct vn_error err = {0};
    assert_int_equal(vn_cpulist_parse("nodes:0-1,3", NULL, &b, &needs_host, &err), 0);
    assert_true(needs_host);
    assert_string_equal(cpulist(&b), "3");
    assert_int_equal(vn_cpulist_parse("3", NULL, &b, &needs_host, &err), 0);
    assert_false(needs_host);

    cpulist_fails("", NULL, "The CPU list is empty.");
    cpulist_fails("1,,2", NULL, "Empty element in CPU list '1,,2'.");
    cpulist_fails("node:9", &host, "Node 9 in 'node:9' does not exist on host 'unit-4node'.");
    cpulist_fails("nodes:x", NULL, "'nodes:x' does not name a node");
    cpulist_fails("cpu3", NULL, "'cpu3' is not a CPU, a range N-M, 'all' or 'node:N'.");
    cpulist_fails("5-2", NULL, "Range '5-2' is reversed.");
}

static void test_cpus_keys(void **state)
{
    struct vn_vm_spec *s =
        expect_valid(BASE "cpus = 'nodes:1'\ncpus_soft = ['2', '3-8,^5']\n", true);
    assert_true(s->cpus.resolved);
    assert_false(s->cpus.per_vcpu);
    assert_int_equal(s->cpus.nsets, 1);
    assert_string_equal(cpulist(&s->cpus.sets[0]), "4-7");
    assert_string_equal(s->cpus.text[0], "nodes:1");
    assert_true(s->cpus_soft.per_vcpu);
    assert_int_equal(s->cpus_soft.nsets, 2);
    assert_string_equal(cpulist(&s->cpus_soft.sets[1]), "3-4,6-8");
    vn_spec_free(s);

    /* without a host, node forms stay unresolved and are not errors */
    s = expect_valid(BASE "cpus = 'node:9'\n", false);
    assert_false(s->cpus.resolved);
    vn_spec_free(s);

    expect_error(BASE "cpus = 'node:9'\n", true, "cpus: Node 9 in 'node:9' does not exist");
    expect_error(BASE "cpus = '12-20'\n", true,
                 "cpus: CPUs 16-20 in '12-20' do not exist on host 'unit-4node' (16 CPUs).");
    expect_error(BASE "cpus = '1,^1'\n", false, "'1,^1' leaves no CPU to run on.");
    expect_error(BASE "cpus_soft = ['0', '1', '2', '3', '4']\n", false,
                 "cpus_soft: The list has 5 entries but the guest has 4 vCPUs.");
    expect_error(BASE "cpus_soft = ['0', 'x']\n", false, "cpus_soft: vCPU 1: 'x' is not a CPU");
    expect_error(BASE "cpus = []\n", false, "The per-vCPU list is empty.");
    expect_warning(BASE "cpus = ['0-3']\n", false, "A list of one entry applies to vCPU 0 only");
}

static void test_affinity_vs_pnode_warning(void **state)
{
    /* vnode 0 sits on host node 0 (CPUs 0-3); soft affinity on node 1 does not match */
    expect_warning(BASE "cpus_soft = 'node:1'\n" V2, true,
                   "cpus_soft: The soft affinity of vCPUs 0-1 reaches beyond host node 0, "
                   "where vnode 0 is");
    expect_warning(BASE "cpus = ['0', '1', '4', '12']\n" V2, true,
                   "The hard affinity of vCPU 3 reaches beyond host node 1");
    /* matching affinity: no warning */
    struct vn_diags d;
    struct vn_vm_spec *s = load(BASE "cpus_soft = ['0-3', '0-3', '4-7', '4-7']\n" V2, true, &d);
    assert_non_null(s);
    assert_int_equal(d.nwarnings, 0);
    vn_spec_free(s);
    vn_diags_free(&d);
}

/* ---- devices ---- */

static struct vn_vm_spec *disk_spec(const char *disk)
{
    char buf[512];
    snprintf(buf, sizeof buf, BASE "disk = [ '%s' ]\n", disk);
    return expect_valid(buf, false);
}

static void disk_is(const char *text, const char *target, const char *format, const char *vdev,
                    bool ro, bool cdrom)
{
    struct vn_vm_spec *s = disk_spec(text);
    assert_int_equal(s->ndisks, 1);
    const struct vn_disk *d = &s->disks[0];
    if (target)
        assert_string_equal(d->target, target);
    else
        assert_null(d->target);
    assert_string_equal(d->format, format);
    assert_string_equal(d->vdev, vdev);
    assert_int_equal(d->readonly, ro);
    assert_int_equal(d->cdrom, cdrom);
    assert_string_equal(d->spec, text);
    vn_spec_free(s);
}

static void test_disk_specs(void **state)
{
    /* the equivalent forms of xl-disk-configuration(5) */
    disk_is("/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume", "raw", "hda", false, false);
    disk_is("/dev/vg/guest-volume,raw,hda,rw", "/dev/vg/guest-volume", "raw", "hda", false, false);
    disk_is("format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "/dev/vg/guest-volume",
            "raw", "hda", false, false);
    disk_is("raw:/dev/vg/guest-volume,hda,w", "/dev/vg/guest-volume", "raw", "hda", false, false);
    disk_is("/root/image.iso,,hdc,cdrom", "/root/image.iso", "raw", "hdc", true, true);
    disk_is("/root/image.iso,,hdc,,cdrom", "/root/image.iso", "raw", "hdc", true, true);
    disk_is("/root/image.iso,raw,hdc,devtype=cdrom", "/root/image.iso", "raw", "hdc", true, true);
    disk_is("format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
            "/root/image.iso", "raw", "hdc", true, true);
    disk_is("raw:/root/image.iso,hdc:cdrom,ro", "/root/image.iso", "raw", "hdc", true, true);
    /* common legacy forms */
    disk_is("phy:/dev/vg/lv,xvda,w", "/dev/vg/lv", "raw", "xvda", false, false);
    disk_is("file:/img/a.qcow2,xvdb,r", "/img/a.qcow2", "raw", "xvdb", true, false);
    disk_is("tap:qcow2:/img/a.qcow2,xvda,w", "/img/a.qcow2", "qcow2", "xvda", false, false);
    disk_is("tap:aio:/img/a.img,xvda,w", "/img/a.img", "raw", "xvda", false, false);
    disk_is("/img/b.qcow2,qcow2,vda", "/img/b.qcow2", "qcow2", "vda", false, false);
    disk_is(",,hdc:cdrom,r", NULL, "raw", "hdc", true, true); /* 2nd field: format "" = raw */
    disk_is(",hdc:cdrom,r", NULL, "empty", "hdc", true, true);
    disk_is("vdev=xvdc,target=/path/with,comma", "/path/with,comma", "raw", "xvdc", false, false);
}

static void test_disk_errors(void **state)
{
    expect_error(BASE "disk = [ '/img,qcwo2,xvda' ]\n", false,
                 "Disk '/img,qcwo2,xvda': Unknown format 'qcwo2'; did you mean 'qcow2'?");
    expect_error(BASE "disk = [ '/img,raw,xvda,rw,extra' ]\n", false,
                 "Too many positional parameters at 'extra'.");
    expect_error(BASE "disk = [ '/img,,xvda,rx' ]\n", false, "Unknown access 'rx'");
    expect_error(BASE "disk = [ 'vdev=xvda, vdev=xvdb, target=/img' ]\n", false,
                 "The vdev is given twice ('xvda' and 'xvdb').");
    expect_error(BASE "disk = [ '/img,,xvda,bogus=1' ]\n", false, "Unknown parameter 'bogus=1'.");
    expect_error(BASE "disk = [ 'foo:/img,xvda' ]\n", false, "Unknown deprecated prefix 'foo:'.");
    expect_error(BASE "disk = [ '/img' ]\n", false,
                 "Disk '/img' has no vdev (the guest's name for it, e.g. 'xvda').");
    expect_error(BASE "disk = [ ',,xvda' ]\n", false,
                 "Disk ',,xvda' has no target (the image or device path).");
    expect_error(BASE "disk = [ '/a,,xvda', '/b,,xvda' ]\n", false,
                 "Disk '/b,,xvda' uses vdev 'xvda' like disk 0.");
    expect_error(BASE "disk = '/a,,xvda'\n", false, "Expected a list of disk specs");
    expect_error(BASE "disk = [ '/a\\n,,xvda' ]\n", false, "the target path contains a newline");
    expect_warning(BASE "disk = [ '/img,,xvda,backend=dom1' ]\n", false,
                   "'backend=dom1' is a Xen setting that vnuma does not honour");
    expect_warning(BASE "disk = [ 'iscsi:/iqn,xvda' ]\n", false, "iscsi: (block script)");
}

static void test_vif_keys(void **state)
{
    (void)state;
    /* every key vnuma honours, and the list ordered by devid */
    struct vn_vm_spec *s = expect_valid(
        BASE "vif = [ 'devid=5,model=e1000,vifname=tapA,bridge=br1,mac=00:16:3E:AA:bb:01',\n"
             "        'type=user,model=rtl8139', 'type=ioemu,devid=0', ' model=virtio-net ' ]\n",
        false);
    assert_int_equal(s->nvifs, 4);
    assert_int_equal(s->vifs[0].devid, 0);
    assert_string_equal(s->vifs[0].spec, "type=ioemu,devid=0");
    assert_int_equal(s->vifs[0].type, VN_VIF_BRIDGE);
    assert_int_equal(s->vifs[1].devid, 1);
    assert_int_equal(s->vifs[1].type, VN_VIF_USER);
    assert_int_equal(s->vifs[1].model, VN_VIF_RTL8139);
    assert_int_equal(s->vifs[2].devid, 3);
    assert_int_equal(s->vifs[2].model, VN_VIF_VIRTIO);
    assert_int_equal(s->vifs[3].devid, 5);
    assert_int_equal(s->vifs[3].model, VN_VIF_E1000);
    assert_string_equal(s->vifs[3].vifname, "tapA");
    assert_string_equal(s->vifs[3].bridge, "br1");
    assert_string_equal(s->vifs[3].mac, "00:16:3e:aa:bb:01");
    /* the spec JSON keeps them: a clone says the same */
    struct vn_error err = {0};
    struct vn_vm_spec *c = vn_spec_clone(s, &err);
    assert_non_null(c);
    assert_int_equal(c->nvifs, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(c->vifs[i].spec, s->vifs[i].spec);
        assert_int_equal(c->vifs[i].devid, s->vifs[i].devid);
        assert_int_equal(c->vifs[i].model, s->vifs[i].model);
        assert_int_equal(c->vifs[i].type, s->vifs[i].type);
    }
    assert_string_equal(c->vifs[3].mac, "00:16:3e:aa:bb:01");
    vn_spec_free(c);
    vn_spec_free(s);

    expect_error(BASE "vif = [ 'model=ne2k_pci' ]\n", false,
                 "Vif 'model=ne2k_pci': model 'ne2k_pci' is not one vnuma offers");
    expect_error(BASE "vif = [ 'type=tap' ]\n", false, "type 'tap' is not vif, ioemu or user");
    expect_error(BASE "vif = [ 'type=user,bridge=br0' ]\n", false, "type=user has no bridge");
    expect_error(BASE "vif = [ 'mac=01:16:3e:00:00:01' ]\n", false, "is a multicast address");
    expect_error(BASE "vif = [ 'mac=00:00:00:00:00:00' ]\n", false, "is all zero");
    expect_error(BASE "vif = [ 'vifname=a-name-far-too-long' ]\n", false,
                 "vifname 'a-name-far-too-long' is not an interface name");
    expect_error(BASE "vif = [ 'bridge=br/0' ]\n", false, "bridge 'br/0' is not an interface name");
    expect_error(BASE "vif = [ 'bridge=a,bridge=b' ]\n", false, "'bridge' is given twice");
    expect_error(BASE "vif = [ 'devid=70000' ]\n", false, "devid '70000' is not a number");
    expect_error(BASE "vif = [ 'devid=1', '' ]\n", false, "has devid 1 like vif 'devid=1'");
    expect_error(BASE "vif = [ 'vifname=t0', 'vifname=t0' ]\n", false, "has vifname 't0' like");
    expect_error(BASE "vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3E:00:00:01' ]\n", false,
                 "has mac 00:16:3e:00:00:01 like");
    expect_error(BASE "vif = [ 'bridge' ]\n", false, "'bridge' needs a value");
    expect_warning(BASE "vif = [ 'bridge=br0,ip=169.254.1.2' ]\n", false,
                   "'ip' is a Xen setting that vnuma does not honour; it is ignored.");
    expect_warning(BASE "vif = [ 'bridge=br0,script=vif-bridge' ]\n", false, "'script'");
}

/* A record written before vifs were typed keeps them as strings: they read as the config
 * would give them (devid order), and a typed member that contradicts its string is refused. */
static void test_vif_json_old_and_bad(void **state)
{
    (void)state;
    struct vn_vm_spec *s = expect_valid(BASE, false);
    struct json_object *o = vn_spec_to_json(s);
    vn_spec_free(s);
    struct json_object *old = json_object_new_array();
    json_object_array_add(old, json_object_new_string("devid=3,bridge=br0"));
    json_object_array_add(old, json_object_new_string("model=e1000"));
    json_object_object_add(o, "vifs", old);
    struct vn_error err = {0};
    s = vn_spec_from_json(o, "old", &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(s->nvifs, 2);
    assert_int_equal(s->vifs[0].devid, 1);
    assert_int_equal(s->vifs[0].model, VN_VIF_E1000);
    assert_int_equal(s->vifs[1].devid, 3);
    assert_string_equal(s->vifs[1].bridge, "br0");
    /* written back typed, it reads the same */
    struct json_object *typed = vn_spec_to_json(s);
    vn_spec_free(s);
    s = vn_spec_from_json(typed, "typed", &err);
    assert_non_null(s);
    assert_int_equal(s->vifs[1].devid, 3);
    vn_spec_free(s);
    /* a typed vif whose bridge is not its string's */
    struct json_object *v = json_object_array_get_idx(json_object_object_get(typed, "vifs"), 1);
    json_object_object_add(v, "bridge", json_object_new_string("br7"));
    assert_null(vn_spec_from_json(typed, "bad", &err));
    assert_non_null(strstr(err.msg, "a vif says something other than its spec string"));
    /* an old string that no longer parses names the vif */
    json_object_array_put_idx(old, 0, json_object_new_string("model=ne2k_pci"));
    assert_null(vn_spec_from_json(o, "old", &err));
    assert_non_null(strstr(err.msg, "vif 'model=ne2k_pci': model 'ne2k_pci' is not one"));
    json_object_put(typed);
    json_object_put(o);
}

static void test_vif_mac(void **state)
{
    (void)state;
    char a[VN_VIF_MAC_LEN], b[VN_VIF_MAC_LEN], c[VN_VIF_MAC_LEN], d[VN_VIF_MAC_LEN];
    vn_vif_mac("web1", 0, a);
    vn_vif_mac("web1", 0, b);
    vn_vif_mac("web1", 1, c);
    vn_vif_mac("web2", 0, d);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_memory_equal(a, "00:16:3e:", 9);
    assert_int_equal(strlen(a), 17);
    /* the fourth byte's top bit is clear, as in xl's generated MACs */
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof name, "vm%d", i);
        vn_vif_mac(name, i % 4, a);
        assert_true(strtoul(a + 9, NULL, 16) < 0x80);
    }
}

static void test_vif_and_pci(void **state)
{
    struct vn_vm_spec *s = expect_valid(BASE "vif = [ 'mac=00:16:3e:00:00:01,bridge=br0', '' ]\n"
                                             "pci = [ '03:00.0', '0001:0a:1f.7', '04:00.*' ]\n",
                                        false);
    assert_int_equal(s->nvifs, 2);
    assert_string_equal(s->vifs[0].spec, "mac=00:16:3e:00:00:01,bridge=br0");
    assert_string_equal(s->vifs[0].mac, "00:16:3e:00:00:01");
    assert_string_equal(s->vifs[0].bridge, "br0");
    assert_string_equal(s->vifs[1].spec, "");
    assert_null(s->vifs[1].bridge);
    assert_null(s->vifs[1].mac);
    assert_int_equal(s->vifs[1].devid, 1);
    assert_int_equal(s->vifs[1].model, VN_VIF_VIRTIO);
    assert_int_equal(s->npci, 3);
    assert_string_equal(s->pci[0], "0000:03:00.0");
    assert_string_equal(s->pci[1], "0001:0a:1f.7");
    assert_string_equal(s->pci[2], "0000:04:00.*");
    vn_spec_free(s);
    expect_warning(BASE "vif = [ 'bridge=br0,rate=10Mb/s' ]\n", false,
                   "Vif 'bridge=br0,rate=10Mb/s': 'rate' is a Xen setting");
    expect_error(BASE "vif = [ 'brige=br0' ]\n", false, "unknown parameter 'brige'");
    expect_error(BASE "vif = [ 'mac=00:16:3e:00:00' ]\n", false, "is not a MAC address");
    expect_error(BASE "pci = [ '3:0' ]\n", false, "'3:0' is not a PCI address");
    expect_error(BASE "pci = [ '00:20.0' ]\n", false, "'00:20.0' is not a PCI address");
    expect_error(BASE "pci = [ '00:02.8' ]\n", false, "is not a PCI address");
    expect_error(BASE "pci = [ '03:00.0', '0000:03:00.0' ]\n", false,
                 "Device '0000:03:00.0' is passed through twice.");
    expect_warning(BASE "pci = [ '03:00.0@4,permissive=1' ]\n", false,
                   "the virtual slot and options are Xen settings");
}

static void test_validate_paths_and_groups(void **state)
{
    expect_error("name='a'\nmemory=512\nkernel=''\n", false, "kernel: The kernel path is empty.");
    expect_error("name='a'\nmemory=512\nkernel='/k\\n'\n", false, "contains a newline");
    expect_error("name='a'\nmemory=512\nramdisk='/r'\ndisk=['/d,,xvda']\n", false,
                 "ramdisk: A ramdisk needs a 'kernel' to go with it.");
    /* Neither kernel nor disk: vnuma's own guest image boots, so nothing to warn about. */
    expect_clean("name='a'\nmemory=512\n");
    expect_warning("name='a'\nmemory=512\nextra='quiet'\ndisk=['/d,,xvda']\n", false,
                   "The kernel command line is ignored when booting from a 'disk' without a "
                   "'kernel'.");
    expect_error(BASE "affinity_group = 'g'\nanti_affinity_group = 'g'\n", false,
                 "The guest cannot both share and avoid the nodes of group 'g'.");
    expect_error(BASE "affinity_group = 'a b'\n", false,
                 "affinity_group: The group name 'a b' contains");
}

static void test_all_errors_reported(void **state)
{
    /* mistakes in values and rules in one file: every one is reported */
    struct vn_diags d;
    struct vn_vm_spec *s = load("name = '-x'\nmemory = 4096\nmaxmem = 1024\nvcpus = 0\n"
                                "on_crash = 'explode'\ncpus = 'x'\nkernel = ''\n",
                                false, &d);
    assert_null(s);
    assert_int_equal(d.nerrors, 6);
    assert_true(has_diag(&d, VN_DIAG_ERROR, "t.cfg:1:8: error: name:"));
    assert_true(has_diag(&d, VN_DIAG_ERROR, "t.cfg:3:10: error: maxmem:"));
    assert_true(has_diag(&d, VN_DIAG_ERROR, "t.cfg:4:9: error: vcpus:"));
    assert_true(has_diag(&d, VN_DIAG_ERROR, "t.cfg:5:12: error: on_crash:"));
    assert_true(has_diag(&d, VN_DIAG_ERROR, "t.cfg:6:8: error: cpus:"));
    assert_true(has_diag(&d, VN_DIAG_ERROR, "t.cfg:7:10: error: kernel:"));
    vn_diags_free(&d);

    /* a bad vnode size does not also give a sum error */
    s = load(BASE "vnuma = [ [ 'pnode=0', 'size=x', 'vcpus=0-3', 'vdistances=10' ] ]\n", false, &d);
    assert_null(s);
    assert_int_equal(d.nerrors, 1);
    vn_diags_free(&d);

    /* the parse-only API refuses the spec but does not validate */
    vn_diags_init(&d, "t.cfg");
    const char *text = "name = '-x'\nmemory = 1\n";
    s = vn_config_parse_buf(text, strlen(text), "t.cfg", &d);
    assert_non_null(s);
    assert_int_equal(d.nerrors, 0);
    assert_int_equal(vn_config_validate(s, NULL, &d), 1);
    vn_spec_free(s);
    vn_diags_free(&d);
}

static void test_parse_file(void **state)
{
    const char *src = getenv("VNUMA_SRCDIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/configs/valid/seed.cfg", src);
    struct vn_diags d;
    struct vn_error err = {0};
    vn_diags_init(&d, path);
    struct vn_vm_spec *s = vn_config_parse_file(path, &d, &err);
    assert_non_null(s);
    assert_int_equal(s->nvnodes, 2);
    assert_string_equal(s->file, path);
    vn_spec_free(s);
    vn_diags_free(&d);

    vn_diags_init(&d, "missing");
    assert_null(vn_config_parse_file("/nonexistent/vm.cfg", &d, &err));
    assert_string_equal(err.msg,
                        "Cannot open config '/nonexistent/vm.cfg': No such file or directory");
    vn_diags_free(&d);
}

/* ---- bounded inputs (docs/LIMITS.md) ---- */

/* A temporary directory of the test's own, removed by the caller with rmdir. */
static void tmpdir_make(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/test-config-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

static int count_diags(const struct vn_diags *d, enum vn_diag_severity sev)
{
    int n = 0;
    for (int i = 0; i < d->n; i++)
        n += d->v[i].severity == sev;
    return n;
}

/* A FIFO named as a config must be refused, not block the reader forever. */
static void test_config_fifo_refused(void **state)
{
    char dir[256], path[300];
    tmpdir_make(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.cfg", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10); /* the unfixed reader blocks in open(): fail instead of hanging */
    struct vn_diags d;
    struct vn_error err = {0};
    vn_diags_init(&d, path);
    struct vn_vm_spec *s = vn_config_load_file(path, NULL, &d, &err);
    alarm(0);
    assert_null(s);
    char want[512];
    snprintf(want, sizeof want, "Config '%s' is not a regular file (it is a FIFO).", path);
    assert_string_equal(err.msg, want);
    vn_diags_free(&d);
    unlink(path);
    rmdir(dir);
}

/* A file over the limit is reported with its real size, not the limit plus one. */
static void test_config_too_large_real_size(void **state)
{
    char dir[256], path[300];
    tmpdir_make(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/big.cfg", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 3 * 1024 * 1024), 0);
    fclose(f);
    struct vn_diags d;
    struct vn_error err = {0};
    vn_diags_init(&d, path);
    assert_null(vn_config_load_file(path, NULL, &d, &err));
    if (!has_diag(&d, VN_DIAG_ERROR,
                  "The file is 3145728 bytes; configs are limited to "
                  "1048576 bytes (1 MiB)."))
        dump(&d), fail();
    vn_diags_free(&d);
    unlink(path);
    rmdir(dir);
}

/* 60 000 unknown keys give 100 errors and one "too many" line, not 60 000 errors. */
static void test_errors_stop_at_limit(void **state)
{
    enum { N = 60000 };
    char *buf = malloc((size_t)N * 16 + 64);
    assert_non_null(buf);
    size_t len = (size_t)sprintf(buf, "name = 'vm'\nmemory = 512\n");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(buf + len, "zz%06d = 1\n", i);
    struct vn_diags d;
    vn_diags_init(&d, "many.cfg");
    assert_null(vn_config_load_buf(buf, len, "many.cfg", NULL, &d));
    assert_int_equal(count_diags(&d, VN_DIAG_ERROR), VN_CONFIG_MAX_ERRORS + 1);
    assert_true(has_diag(&d, VN_DIAG_ERROR,
                         "error: Too many errors (100); the rest of the file is not checked."));
    vn_diags_free(&d);
    free(buf);
}

/* A key repeated 100 000 times gives at most 100 warnings and one summary line. */
static void test_duplicate_warnings_capped(void **state)
{
    enum { N = 100000 };
    char *buf = malloc((size_t)N * 10 + 64);
    assert_non_null(buf);
    size_t len = (size_t)sprintf(buf, "name = 'vm'\n");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(buf + len, "memory=2\n");
    struct vn_diags d;
    vn_diags_init(&d, "dup.cfg");
    struct vn_vm_spec *s = vn_config_load_buf(buf, len, "dup.cfg", NULL, &d);
    assert_non_null(s); /* warnings only */
    assert_int_equal(count_diags(&d, VN_DIAG_WARNING), VN_CONFIG_MAX_WARNINGS + 1);
    assert_true(has_diag(&d, VN_DIAG_WARNING, "Too many warnings (100); the rest are not shown."));
    vn_spec_free(s);
    vn_diags_free(&d);
    free(buf);
}

/* vnuma create refuses names starting with '.' (they would be hidden or '..' in the state
 * dir): check must refuse them too. */
static void test_name_rule_matches_create(void **state)
{
    expect_error("name = '.'\nmemory = 512\n", false,
                 "t.cfg:1:8: error: name: The name '.' starts with '.'");
    expect_error("name = '..'\nmemory = 512\n", false, "The name '..' starts with '.'");
    expect_error("name = '.hidden'\nmemory = 512\n", false, "The name '.hidden' starts with '.'");
    expect_error("name = 'a'\nmemory = 512\naffinity_group = '.g'\n", false,
                 "affinity_group: The group name '.g' starts with '.'");
    struct vn_error err = {0};
    assert_int_equal(vn_config_name_check("web.1", &err), 0);
    assert_int_equal(vn_config_name_check("..", &err), -1);
    assert_string_equal(err.msg, "The name '..' starts with '.', which would hide it or make it "
                                 "a parent directory.");
}

/* Device lists are bounded: 110 000 disks took 32 s in the quadratic vdev check. */
static void test_device_lists_bounded(void **state)
{
    static const char *const keys[] = {"disk", "vif", "pci"};
    static const char *const want[] = {
        "t.cfg:3:6: error: disk: 257 disks are given; at most 256 are allowed.",
        "t.cfg:3:5: error: vif: 257 vifs are given; at most 256 are allowed.",
        "t.cfg:3:5: error: pci: 257 PCI devices are given; at most 256 are allowed."};
    for (int k = 0; k < 3; k++) {
        for (int n = VN_MAX_DEVICES; n <= VN_MAX_DEVICES + 1; n++) {
            char *buf = malloc(64 + (size_t)n * 24);
            assert_non_null(buf);
            size_t len = (size_t)sprintf(buf, "name = 'vm'\nmemory = 512\n%s=[", keys[k]);
            for (int i = 0; i < n; i++) {
                len += (size_t)sprintf(buf + len, i ? "," : "");
                if (k == 0)
                    len += i < 26 ? (size_t)sprintf(buf + len, "'a,,xvd%c'", 'a' + i)
                                  : (size_t)sprintf(buf + len, "'a,,xvd%c%c'", 'a' + i / 26 - 1,
                                                    'a' + i % 26);
                else if (k == 1)
                    len += (size_t)sprintf(buf + len, "'bridge=br%d'", i);
                else
                    len += (size_t)sprintf(buf + len, "'00:%02x.%d'", i / 8, i % 8);
            }
            len += (size_t)sprintf(buf + len, "]\n");
            struct vn_diags d;
            vn_diags_init(&d, "t.cfg");
            struct vn_vm_spec *spec = vn_config_load_buf(buf, len, "t.cfg", NULL, &d);
            if (n == VN_MAX_DEVICES) {
                if (!spec)
                    dump(&d);
                assert_non_null(spec);
            } else {
                assert_null(spec);
                if (!has_diag(&d, VN_DIAG_ERROR, want[k]))
                    dump(&d), fail();
            }
            vn_spec_free(spec);
            vn_diags_free(&d);
            free(buf);
        }
    }
}

static void test_spec_json(void **state)
{
    struct vn_vm_spec *s = expect_valid(BASE "cpus = 'node:0'\nvnodes = 2\n"
                                             "vnuma_vnodemap = [2, 3]\nvdistance = [10, 16]\n",
                                        true);
    struct json_object *o = vn_spec_to_json(s);
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(text, "\"name\":\"vm\""));
    assert_non_null(strstr(text, "\"memory_mib\":4096"));
    assert_non_null(strstr(text, "\"form\":\"vnodes\""));
    assert_non_null(strstr(text, "{\"vnode\":1,\"memory_mib\":2048,\"pnode\":3,\"vcpus\":\"2-3\","
                                 "\"distances\":[16,10]}"));
    assert_non_null(strstr(text, "\"cpus\":{\"per_vcpu\":false,\"resolved\":true,\"sets\":"
                                 "[{\"text\":\"node:0\",\"cpus\":\"0-3\"}]}"));
    assert_non_null(strstr(text, "\"cpus_soft\":null"));
    assert_non_null(strstr(text, "\"on_reboot\":\"restart\""));
    json_object_put(o);
    vn_spec_free(s);

    s = expect_valid(BASE, false);
    o = vn_spec_to_json(s);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(text, "\"vnuma\":null"));
    json_object_put(o);
    vn_spec_free(s);
}

/* vn_spec_from_json is the exact inverse of vn_spec_to_json: for every valid corpus config,
 * parse -> to_json -> from_json -> to_json gives the same JSON; damaged JSON is refused. */
static void test_spec_from_json_roundtrip(void **state)
{
    const char *src = getenv("VNUMA_SRCDIR");
    assert_non_null(src);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/data/configs/valid", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".cfg") != 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct vn_diags dg;
        struct vn_error err = {0};
        vn_diags_init(&dg, path);
        struct vn_vm_spec *s = vn_config_load_file(path, &host, &dg, &err);
        if (!s)
            s = vn_config_load_file(path, NULL, &dg, &err);
        vn_diags_free(&dg);
        if (!s)
            continue; /* valid only on another host: the corpus test covers it */
        struct json_object *a = vn_spec_to_json(s);
        struct vn_vm_spec *back = vn_spec_from_json(a, de->d_name, &err);
        if (!back)
            fail_msg("%s: %s", de->d_name, err.msg);
        struct json_object *b = vn_spec_to_json(back);
        const char *ta = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
        const char *tb = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
        if (strcmp(ta, tb) != 0)
            fail_msg("%s: %s != %s", de->d_name, ta, tb);

        /* Strict: a missing member, an unknown member and a wrong type are each refused. */
        struct json_object *c = NULL;
        assert_int_equal(json_object_deep_copy(a, &c, NULL), 0);
        json_object_object_del(c, "balance");
        assert_null(vn_spec_from_json(c, "x", &err));
        assert_non_null(strstr(err.msg, "lacks the member 'balance'"));
        json_object_object_add(c, "balance", json_object_new_boolean(1));
        json_object_object_add(c, "colour", json_object_new_int(1));
        assert_null(vn_spec_from_json(c, "x", &err));
        assert_non_null(strstr(err.msg, "unknown member 'colour'"));
        json_object_object_del(c, "colour");
        json_object_object_add(c, "vcpus", json_object_new_string("4"));
        assert_null(vn_spec_from_json(c, "x", &err));
        json_object_put(c);

        json_object_put(a);
        json_object_put(b);
        vn_spec_free(s);
        vn_spec_free(back);
        n++;
    }
    closedir(d);
    assert_true(n >= 20);

    /* Damaged vnuma members and non-canonical cpulists. */
    static const char *const bad[] = {
        "{\"form\":\"vnuma\",\"vnodes\":[]}",
        "{\"form\":\"list\",\"vnodes\":[{\"vnode\":0,\"memory_mib\":1,\"pnode\":null,"
        "\"vcpus\":\"0\",\"distances\":[10]}]}",
        "{\"form\":\"vnuma\",\"vnodes\":[{\"vnode\":1,\"memory_mib\":1,\"pnode\":null,"
        "\"vcpus\":\"0\",\"distances\":[10]}]}",
        "{\"form\":\"vnuma\",\"vnodes\":[{\"vnode\":0,\"memory_mib\":-1,\"pnode\":null,"
        "\"vcpus\":\"0\",\"distances\":[10]}]}",
        "{\"form\":\"vnuma\",\"vnodes\":[{\"vnode\":0,\"memory_mib\":1,\"pnode\":null,"
        "\"vcpus\":\"0,1\",\"distances\":[10]}]}",
        "{\"form\":\"vnuma\",\"vnodes\":[{\"vnode\":0,\"memory_mib\":1,\"pnode\":null,"
        "\"vcpus\":\"0\",\"distances\":[10,10]}]}",
    };
    struct vn_vm_spec *s = expect_valid(BASE, false);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct json_object *o = vn_spec_to_json(s);
        json_object_object_add(o, "vnuma", json_tokener_parse(bad[i]));
        struct vn_error err = {0};
        struct vn_vm_spec *back = vn_spec_from_json(o, "vm", &err);
        if (back)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err.msg, "The spec JSON of 'vm' is not valid: "));
        json_object_put(o);
    }
    vn_spec_free(s);
}

/* ---- vdev names and the guest's names (vdev.c) ---- */

static void test_vdev_parse(void **state)
{
    (void)state;
    struct vn_vdev v;
    assert_int_equal(vn_vdev_parse("xvda", &v), 0);
    assert_true(v.kind == VN_VDEV_XVD && v.disk == 0 && v.part == 0);
    assert_int_equal(vn_vdev_parse("xvdb12", &v), 0);
    assert_true(v.kind == VN_VDEV_XVD && v.disk == 1 && v.part == 12);
    assert_int_equal(vn_vdev_parse("hdc", &v), 0);
    assert_true(v.kind == VN_VDEV_HD && v.disk == 2);
    assert_int_equal(vn_vdev_parse("sdz", &v), 0);
    assert_true(v.kind == VN_VDEV_SD && v.disk == 25);
    assert_int_equal(vn_vdev_parse("xvdaa", &v), 0);
    assert_int_equal(v.disk, 26);
    assert_int_equal(vn_vdev_parse("vdzz255", &v), 0);
    assert_true(v.kind == VN_VDEV_VD && v.disk == 26 * 26 + 25 && v.part == 255);
    static const char *const bad[] = {"",      "xvd",   "xvdA", "xvda0",   "xvda01",  "xvdabc",
                                      "xvda-", "disk0", "sr0",  "xvda256", "nvme0n1", "hd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (vn_vdev_parse(bad[i], &v) == 0)
            fail_msg("'%s' parsed as a vdev", bad[i]);
}

/* The guest's names come from the rank: a gap in the letters closes up, the list's order does
 * not matter, CD-ROMs are sr0.. on their own ports after the disks. */
static void test_disk_map_order(void **state)
{
    (void)state;
    struct vn_diags d;
    struct vn_vm_spec *spec =
        load("name = 'm'\nmemory = 512\ndisk = [ '/c.iso,,hdc,cdrom', '/d,,xvdc', ',,hda,cdrom', "
             "'/a,,xvda', '/b,,sdb3' ]\n",
             false, &d);
    if (!spec)
        dump(&d);
    assert_non_null(spec);
    struct vn_disk_map *map = malloc(sizeof *map);
    assert_non_null(map);
    vn_disk_map_build(spec, map);
    assert_int_equal(map->n, 5);
    int want_order[] = {3, 4, 1, 2, 0};
    for (int r = 0; r < 5; r++)
        assert_int_equal(map->order[r], want_order[r]);
    assert_string_equal(map->guest[3], "vda");
    assert_string_equal(map->guest[4], "vdb");
    assert_string_equal(map->guest[1], "vdc");
    assert_string_equal(map->guest[2], "sr0");
    assert_string_equal(map->guest[0], "sr1");
    assert_int_equal(map->port[0], 1);
    assert_int_equal(map->port[1], 2);

    char out[64];
    int disk;
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/xvda1", out, sizeof out, &disk),
                     VN_DEV_RENAMED);
    assert_string_equal(out, "/dev/vda1");
    assert_int_equal(disk, 3);
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/xvdc", out, sizeof out, &disk),
                     VN_DEV_RENAMED);
    assert_string_equal(out, "/dev/vdc");
    /* sdb3 is exported as a whole disk: the guest sees it as vdb */
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/sdb3", out, sizeof out, &disk),
                     VN_DEV_RENAMED);
    assert_string_equal(out, "/dev/vdb");
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/hdc", out, sizeof out, &disk),
                     VN_DEV_RENAMED);
    assert_string_equal(out, "/dev/sr1");
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/vdb2", out, sizeof out, &disk), VN_DEV_SAME);
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/sr0", out, sizeof out, &disk), VN_DEV_SAME);
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/xvdb", out, sizeof out, &disk), VN_DEV_NONE);
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/vdd", out, sizeof out, &disk), VN_DEV_NONE);
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/hdc1", out, sizeof out, &disk), VN_DEV_NONE);
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/sr2", out, sizeof out, &disk), VN_DEV_NONE);
    assert_int_equal(vn_disk_map_dev(spec, map, "UUID=12", out, sizeof out, &disk), VN_DEV_OTHER);
    assert_int_equal(vn_disk_map_dev(spec, map, "/dev/mapper/vg-root", out, sizeof out, &disk),
                     VN_DEV_OTHER);
    free(map);
    vn_spec_free(spec);
    vn_diags_free(&d);
}

/* root= of a Xen config is rewritten (each one, the rest of the line untouched) with a
 * warning naming both; one that names no disk is kept with a warning; the guest's own name,
 * a UUID, or a disk booted by the firmware (no kernel) give none. */
static void test_root_rewrite(void **state)
{
    (void)state;
    struct vn_diags d;
    struct vn_vm_spec *spec =
        load("name = 'r'\nmemory = 512\nkernel = '/k'\nroot = '/dev/xvda1 ro'\n"
             "extra = 'console=ttyS0 root=/dev/hdb'\ndisk = [ '/a,,xvda', '/b,,hdb' ]\n",
             false, &d);
    assert_non_null(spec);
    assert_string_equal(spec->cmdline, "root=/dev/vda1 ro console=ttyS0 root=/dev/vdb");
    assert_true(has_diag(&d, VN_DIAG_WARNING,
                         "t.cfg:4:8: warning: root: 'root=/dev/xvda1' names a Xen device: the "
                         "guest sees disk 'xvda' as /dev/vda, so vnuma passes 'root=/dev/vda1' "
                         "instead."));
    assert_true(has_diag(&d, VN_DIAG_WARNING, "'root=/dev/hdb' names a Xen device"));
    assert_int_equal(d.nwarnings, 2);
    /* validating again changes nothing more */
    vn_config_validate(spec, NULL, &d);
    assert_string_equal(spec->cmdline, "root=/dev/vda1 ro console=ttyS0 root=/dev/vdb");
    assert_int_equal(d.nwarnings, 2);
    vn_spec_free(spec);
    vn_diags_free(&d);

    spec = load("name = 'r'\nmemory = 512\nkernel = '/k'\ncmdline = 'root=/dev/xvdc quiet'\n"
                "disk = [ '/a,,xvda' ]\n",
                false, &d);
    assert_non_null(spec);
    assert_string_equal(spec->cmdline, "root=/dev/xvdc quiet");
    assert_true(has_diag(&d, VN_DIAG_WARNING,
                         "t.cfg:4:11: warning: cmdline: 'root=/dev/xvdc' names no disk of this "
                         "domain (the guest has /dev/vda); the guest will not find its root "
                         "there."));
    vn_spec_free(spec);
    vn_diags_free(&d);

    static const char *const quiet[] = {
        "name = 'r'\nmemory = 512\nkernel = '/k'\ncmdline = 'root=/dev/vda'\ndisk = [ '/a,,xvda' "
        "]\n",
        "name = 'r'\nmemory = 512\nkernel = '/k'\nroot = 'UUID=0c2d'\ndisk = [ '/a,,xvda' ]\n",
        "name = 'r'\nmemory = 512\nkernel = '/k'\nroot = '/dev/nfs'\n",
    };
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        spec = load(quiet[i], false, &d);
        assert_non_null(spec);
        if (d.nwarnings != 0)
            dump(&d);
        assert_int_equal(d.nwarnings, 0);
        vn_spec_free(spec);
        vn_diags_free(&d);
    }
}

int main(void)
{
    build_host();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lex_tokens_and_locations),
        cmocka_unit_test(test_lex_escapes),
        cmocka_unit_test(test_lex_errors),
        cmocka_unit_test(test_parse_lists),
        cmocka_unit_test(test_parse_duplicate_and_append),
        cmocka_unit_test(test_parse_errors_and_recovery),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_edit_distance_and_suggestions),
        cmocka_unit_test(test_scalar_keys),
        cmocka_unit_test(test_cmdline_combination),
        cmocka_unit_test(test_vnuma_forms_identical),
        cmocka_unit_test(test_vnuma_legacy_defaults),
        cmocka_unit_test(test_vnuma_derives_counts),
        cmocka_unit_test(test_vnuma_syntax_errors),
        cmocka_unit_test(test_validate_name),
        cmocka_unit_test(test_validate_memory_and_vcpus),
        cmocka_unit_test(test_validate_vnode_sizes),
        cmocka_unit_test(test_validate_vnode_vcpus),
        cmocka_unit_test(test_validate_vnode_vcpus_memory_only),
        cmocka_unit_test(test_validate_distances),
        cmocka_unit_test(test_validate_host),
        cmocka_unit_test(test_cpulist_forms),
        cmocka_unit_test(test_cpus_keys),
        cmocka_unit_test(test_affinity_vs_pnode_warning),
        cmocka_unit_test(test_disk_specs),
        cmocka_unit_test(test_disk_errors),
        cmocka_unit_test(test_vif_and_pci),
        cmocka_unit_test(test_vif_keys),
        cmocka_unit_test(test_vif_mac),
        cmocka_unit_test(test_vif_json_old_and_bad),
        cmocka_unit_test(test_validate_paths_and_groups),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_spec_json),
        cmocka_unit_test(test_spec_from_json_roundtrip),
        cmocka_unit_test(test_config_fifo_refused),
        cmocka_unit_test(test_config_too_large_real_size),
        cmocka_unit_test(test_errors_stop_at_limit),
        cmocka_unit_test(test_duplicate_warnings_capped),
        cmocka_unit_test(test_name_rule_matches_create),
        cmocka_unit_test(test_device_lists_bounded),
        cmocka_unit_test(test_vdev_parse),
        cmocka_unit_test(test_disk_map_order),
        cmocka_unit_test(test_root_rewrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
