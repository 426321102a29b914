/* Unit tests for src/lib/numa: numa_maps parsing and thread affinity on this process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "numa/affinity.h"
#include "numa/numa_maps.h"
#include "proc/proc.h"

static const char sample[] =
    "55d0c4a00000 default file=/usr/bin/qemu-system-x86_64 mapped=200 N0=200 kernelpagesize_kB=4\n"
    "7f0000000000 bind:0 file=/run/vnuma/run/web/vnode0 dirty=1000 N0=900 N1=100 "
    "kernelpagesize_kB=4\n"
    "7f1000000000 bind:1 file=/run/vnuma/run/web/vnode1 dirty=512 N1=512 kernelpagesize_kB=4\n"
    "7f2000000000 bind:1 file=/run/vnuma/run/web/vnode1 N3=256 kernelpagesize_kB=4\n"
    "7f3000000000 default file=/run/vnuma/run/web/vnode10 N2=7 kernelpagesize_kB=4\n"
    "7ffd00000000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4\n";

static void test_parse_per_path(void **state)
{
    struct vn_residency r;
    struct vn_error err = {0};
    vn_residency_init(&r);
    assert_int_equal(
        vn_numa_maps_parse(sample, strlen(sample), "/run/vnuma/run/web/vnode1", &r, &err), 2);
    assert_int_equal(r.pages[1], 512);
    assert_int_equal(r.pages[3], 256);
    assert_int_equal(r.pages[2], 0); /* vnode10 must not match vnode1 */
    assert_int_equal(r.total_pages, 768);
    assert_int_equal(r.max_node, 3);
    assert_true(vn_residency_mib(&r, 1) == 2.0);
}

static void test_parse_all(void **state)
{
    struct vn_residency r;
    struct vn_error err = {0};
    vn_residency_init(&r);
    assert_int_equal(vn_numa_maps_parse(sample, strlen(sample), NULL, &r, &err), 6);
    assert_int_equal(r.pages[0], 1103);
    assert_int_equal(r.total_pages, 1103 + 612 + 256 + 7);
}

static void test_parse_errors(void **state)
{
    struct vn_residency r;
    struct vn_error err = {0};
    const char bad_node[] = "7f00 default file=/x N5000=1 kernelpagesize_kB=4\n";
    vn_residency_init(&r);
    assert_int_equal(vn_numa_maps_parse(bad_node, strlen(bad_node), "/x", &r, &err), -1);
    assert_string_equal(err.msg, "numa_maps line 1: node 'N5000' is out of range");
    const char mixed[] = "1 default file=/x N0=1 kernelpagesize_kB=4\n"
                         "2 default file=/x N0=1 kernelpagesize_kB=2048\n";
    vn_residency_init(&r);
    assert_int_equal(vn_numa_maps_parse(mixed, strlen(mixed), "/x", &r, &err), -1);
    assert_string_equal(err.msg,
                        "numa_maps line 2: mappings of one path use page sizes 4 and 2048 KiB");
}

static void test_read_own_file_mapping(void **state)
{
    char path[] = "/tmp/vnuma-test-mapXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 1 << 20), 0);
    char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 1, 1 << 20);
    struct vn_residency r;
    struct vn_error err = {0};
    int n = vn_numa_maps_read(getpid(), path, &r, &err);
    munmap(p, 1 << 20);
    close(fd);
    unlink(path);
    assert_int_equal(n, 1);
    assert_true(r.total_pages * r.page_kib == 1024); /* all of it is resident somewhere */
}

static void test_affinity_roundtrip(void **state)
{
    struct vn_bitmap orig, one, now;
    struct vn_error err = {0};
    assert_int_equal(vn_affinity_get(0, &orig, &err), 0);
    int first = vn_bitmap_next(&orig, -1);
    assert_true(first >= 0);
    vn_bitmap_zero(&one);
    vn_bitmap_set(&one, first);
    assert_int_equal(vn_affinity_set(0, &one, &err), 0);
    assert_int_equal(vn_affinity_get(0, &now, &err), 0);
    assert_true(vn_bitmap_equal(&now, &one));
    assert_int_equal(vn_affinity_last_cpu(getpid(), gettid(), &err), first);
    assert_int_equal(vn_affinity_set(0, &orig, &err), 0);
}

static void test_affinity_errors(void **state)
{
    struct vn_bitmap none;
    struct vn_error err = {0};
    vn_bitmap_zero(&none);
    assert_int_equal(vn_affinity_set(0, &none, &err), -1);
    assert_string_equal(err.msg, "cannot set the CPU affinity of thread 0 to '': Invalid argument");
    assert_int_equal(vn_affinity_last_cpu(getpid(), 999999999, &err), -1);
    pid_t tids[64];
    assert_true(vn_proc_threads(getpid(), tids, 64, &err) >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_per_path),     cmocka_unit_test(test_parse_all),
        cmocka_unit_test(test_parse_errors),       cmocka_unit_test(test_read_own_file_mapping),
        cmocka_unit_test(test_affinity_roundtrip), cmocka_unit_test(test_affinity_errors),
    };
    return cmocka_run_group_tests_name("numa", tests, NULL, NULL);
}
