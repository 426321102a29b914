/* The host config (/etc/vnuma/vnuma.conf): defaults, every key, and each error naming
 * FILE:LINE:COLUMN and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../src/lib/domain/domain.h"

static int parse(const char *text, struct vn_host_conf *c, struct vn_error *err)
{
    return vn_host_conf_parse_buf(text, strlen(text), "h.conf", c, err);
}

static void test_defaults(void **state)
{
    (void)state;
    struct vn_host_conf c;
    struct vn_error err = {0};
    assert_int_equal(parse("# nothing set\n", &c, &err), 0);
    assert_null(c.default_bridge);
    assert_string_equal(c.qemu_user, VN_QEMU_USER_DEFAULT);
    assert_null(c.qemu_group);
    vn_host_conf_clear(&c);
}

static void test_every_key(void **state)
{
    (void)state;
    struct vn_host_conf c;
    struct vn_error err = {0};
    assert_int_equal(
        parse("default_bridge = \"br0\"\nqemu_user='kvmuser'\n  qemu_group = \"kvm\"\n", &c, &err),
        0);
    assert_string_equal(c.default_bridge, "br0");
    assert_string_equal(c.qemu_user, "kvmuser");
    assert_string_equal(c.qemu_group, "kvm");
    assert_int_equal(c.loc.qemu_group.line, 3);
    assert_int_equal(c.loc.qemu_group.col, 16);
    assert_string_equal(c.file, "h.conf");
    vn_host_conf_clear(&c);
}

static void expect_error(const char *text, const char *want)
{
    struct vn_host_conf c;
    struct vn_error err = {0};
    assert_int_equal(parse(text, &c, &err), -1);
    if (!strstr(err.msg, want))
        fail_msg("'%s' lacks '%s'", err.msg, want);
    assert_null(c.qemu_user);
}

static void test_errors_name_place_and_key(void **state)
{
    (void)state;
    expect_error("\ndefault_brige = \"br0\"\n", "h.conf:2:1");
    expect_error("\ndefault_brige = \"br0\"\n", "did you mean 'default_bridge'");
    expect_error("qemu_user = 7\n", "h.conf:1:13");
    expect_error("qemu_user = 7\n", "'qemu_user' must be a string");
    expect_error("default_bridge = [\"a\"]\n", "not a list");
    expect_error("default_bridge = \"br 0\"\n", "'default_bridge' value 'br 0'");
    expect_error("qemu_group = \"../x\"\n", "without blanks, '/'");
    expect_error("qemu_user = \"\"\n", "1..32");
    expect_error("default_bridge = \"br0\n", "h.conf:1");
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/vnuma-hostconf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/vnuma.conf", dir);
    struct vn_host_conf c;
    struct vn_error err = {0};
    /* missing: the defaults */
    assert_int_equal(vn_host_conf_load_file(path, &c, &err), 0);
    assert_string_equal(c.qemu_user, VN_QEMU_USER_DEFAULT);
    vn_host_conf_clear(&c);
    /* a directory is refused */
    assert_int_equal(vn_host_conf_load_file(dir, &c, &err), -1);
    assert_non_null(strstr(err.msg, dir));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("default_bridge = \"vnbr0\"\n", f);
    fclose(f);
    setenv("VNUMA_HOST_CONF", path, 1);
    assert_int_equal(vn_host_conf_load(&c, &err), 0);
    assert_string_equal(c.default_bridge, "vnbr0");
    assert_string_equal(c.file, path);
    vn_host_conf_clear(&c);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("qemu_usr = \"x\"\n", f);
    fclose(f);
    assert_int_equal(vn_host_conf_load(&c, &err), -1);
    char want[300];
    snprintf(want, sizeof want, "%s:1:1", path);
    if (!strstr(err.msg, want))
        fail_msg("'%s' lacks '%s'", err.msg, want);
    unsetenv("VNUMA_HOST_CONF");
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_errors_name_place_and_key),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
