/* Unit tests of proc/: the stat parser on hand-made lines (names with spaces and ')', short
 * lines, garbage) and the readers on this very process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc/proc.h"

#define LINE                                                                                       \
    "4242 (CPU 0/KVM) x) S 1 1 1 0 -1 4194560 0 0 0 0 150 50 0 0 20 0 1 0 100 0 0 "                \
    "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n"

static void test_parse(void **state)
{
    (void)state;
    struct vn_proc_stat st;
    assert_int_equal(vn_proc_stat_parse(LINE, strlen(LINE), &st), 0);
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.utime, 150);
    assert_int_equal(st.stime, 50);
    assert_int_equal(st.starttime, 100);
    assert_int_equal(st.processor, 3);
    /* Cut after field 22: all but the processor. */
    const char *shortl = "7 (a b) Z 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99";
    assert_int_equal(vn_proc_stat_parse(shortl, strlen(shortl), &st), 0);
    assert_int_equal(st.state, 'Z');
    assert_int_equal(st.starttime, 99);
    assert_int_equal(st.processor, -1);
    /* Not a stat line, or cut before its start time, or a word where a number belongs. */
    static const char *const bad[] = {"",
                                      "garbage",
                                      "1 (x)",
                                      "1 (x) S 1 2",
                                      "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 2 0 0 20 0 1 0 99",
                                      "1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 -5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(vn_proc_stat_parse(bad[i], strlen(bad[i]), &st), -1);
    /* The length bounds the text: no NUL needed, nothing read past it. */
    char cut[40];
    memcpy(cut, LINE, sizeof cut);
    assert_int_equal(vn_proc_stat_parse(cut, sizeof cut, &st), -1);
}

static void test_read_self(void **state)
{
    (void)state;
    struct vn_proc_stat st;
    struct vn_error err = {0};
    assert_int_equal(vn_proc_stat_read(getpid(), 0, &st, &err), 0);
    assert_int_equal(st.state, 'R');
    assert_true(st.starttime > 0);
    assert_int_equal(vn_proc_stat_read(getpid(), gettid(), &st, &err), 0);
    assert_true(st.processor >= 0);
    pid_t tids[8];
    assert_int_equal(vn_proc_threads(getpid(), tids, 8, &err), 1);
    assert_int_equal(tids[0], gettid());
    char comm[64];
    assert_true(vn_proc_read(getpid(), 0, "comm", comm, sizeof comm, &err) > 0);
    assert_string_equal(comm, "test-proc\n");
    assert_int_equal(vn_proc_stat_read(999999999, 0, &st, &err), -1);
    assert_string_equal(err.msg, "cannot read '/proc/999999999/stat': No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_read_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
