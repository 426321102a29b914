/* Unit tests for src/lib/util: bit sets, errors, tables, string vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/bitmap.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/table.h"

static void test_bitmap_parse_format_roundtrip(void **state)
{
    struct vn_bitmap b;
    struct vn_error err = {0};
    assert_int_equal(vn_bitmap_parse_list(&b, "0-3,8,10-11", 4095, &err), 0);
    assert_int_equal(vn_bitmap_count(&b), 7);
    char buf[64];
    vn_bitmap_format_list(&b, buf, sizeof buf);
    assert_string_equal(buf, "0-3,8,10-11");
}

static void test_bitmap_parse_negation(void **state)
{
    struct vn_bitmap b;
    struct vn_error err = {0};
    assert_int_equal(vn_bitmap_parse_list(&b, "0-7,^3,^5", 4095, &err), 0);
    char buf[64];
    vn_bitmap_format_list(&b, buf, sizeof buf);
    assert_string_equal(buf, "0-2,4,6-7");
}

static void test_bitmap_parse_errors(void **state)
{
    struct vn_bitmap b;
    struct vn_error err = {0};
    assert_int_equal(vn_bitmap_parse_list(&b, "3-1", 4095, &err), -1);
    assert_string_equal(err.msg, "range '3-1' is reversed");
    assert_int_equal(vn_bitmap_parse_list(&b, "1,x", 4095, &err), -1);
    assert_string_equal(err.msg, "'x' is not a number or a range N-M");
    assert_int_equal(vn_bitmap_parse_list(&b, "0-64", 63, &err), -1);
    assert_string_equal(err.msg, "'0-64' is above the largest allowed value 63");
    assert_int_equal(vn_bitmap_parse_list(&b, "", 63, &err), -1);
    assert_int_equal(vn_bitmap_parse_list(&b, "1,", 63, &err), -1);
}

static void test_bitmap_ops(void **state)
{
    struct vn_bitmap a, b;
    vn_bitmap_zero(&a);
    vn_bitmap_zero(&b);
    vn_bitmap_set_range(&a, 60, 70);
    vn_bitmap_set(&b, 65);
    assert_true(vn_bitmap_subset(&b, &a));
    assert_false(vn_bitmap_subset(&a, &b));
    assert_true(vn_bitmap_intersects(&a, &b));
    assert_int_equal(vn_bitmap_next(&a, -1), 60);
    assert_int_equal(vn_bitmap_next(&a, 63), 64);
    assert_int_equal(vn_bitmap_last(&a), 70);
    vn_bitmap_andnot(&a, &b);
    assert_false(vn_bitmap_test(&a, 65));
    assert_int_equal(vn_bitmap_count(&a), 10);
    vn_bitmap_set(&a, VN_BITMAP_BITS); /* out of range: ignored */
    assert_int_equal(vn_bitmap_count(&a), 10);
    int n = 0;
    VN_BITMAP_FOREACH(i, &a)
    n++;
    assert_int_equal(n, 10);
}

static void test_error_prefix_and_sys(void **state)
{
    struct vn_error err = {0};
    assert_int_equal(vn_error_sys(&err, 2, "cannot open '%s'", "x.cfg"), -1);
    assert_string_equal(err.msg, "cannot open 'x.cfg': No such file or directory");
    vn_error_prefix(&err, "domain '%s'", "web");
    assert_string_equal(err.msg, "domain 'web': cannot open 'x.cfg': No such file or directory");
    assert_int_equal(err.errnum, 2);
}

static void test_table_alignment(void **state)
{
    const char *hdr[] = {"node", "size"};
    struct vn_table *t = vn_table_new(2, hdr);
    vn_table_align_right(t, 1);
    vn_table_add(t, "0");
    vn_table_add(t, "%d MiB", 1024);
    vn_table_add(t, "10");
    vn_table_add(t, "1 MiB");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vn_table_print(t, f, 2);
    fclose(f);
    assert_string_equal(buf, "  node      size\n"
                             "  0     1024 MiB\n"
                             "  10       1 MiB\n");
    free(buf);
    vn_table_free(t);
}

static void test_strv_grow_and_take(void **state)
{
    struct vn_strv v = {0};
    for (int i = 0; i < 100; i++)
        vn_strv_addf(&v, "arg%d", i);
    vn_strv_addf(&v, "%s,%s", "a", "b");
    char **argv = vn_strv_take(&v);
    assert_non_null(argv);
    assert_null(v.v);
    assert_int_equal(v.n, 0);
    assert_string_equal(argv[0], "arg0");
    assert_string_equal(argv[99], "arg99");
    assert_string_equal(argv[100], "a,b");
    assert_null(argv[101]);
    vn_strv_free(argv);
    vn_strv_free(NULL);
}

static void test_strv_oom_drops_result(void **state)
{
    struct vn_strv v = {0};
    vn_strv_addf(&v, "kept until the failure");
    v.oom = true; /* as after a failed allocation */
    vn_strv_addf(&v, "ignored");
    assert_int_equal(v.n, 1);
    assert_null(vn_strv_take(&v));
    assert_false(v.oom);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmap_parse_format_roundtrip),
        cmocka_unit_test(test_bitmap_parse_negation),
        cmocka_unit_test(test_bitmap_parse_errors),
        cmocka_unit_test(test_bitmap_ops),
        cmocka_unit_test(test_error_prefix_and_sys),
        cmocka_unit_test(test_table_alignment),
        cmocka_unit_test(test_strv_grow_and_take),
        cmocka_unit_test(test_strv_oom_drops_result),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
