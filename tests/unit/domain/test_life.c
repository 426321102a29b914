/* The on_* decision of domain/life.c: a guest event and the config's on_poweroff, on_reboot
 * and on_crash -> what the watcher does, and the -action QEMU is started with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "config/spec.h"
#include "domain/life.h"

static struct vn_vm_spec spec_of(enum vn_action off, enum vn_action reboot, enum vn_action crash)
{
    struct vn_vm_spec s;
    memset(&s, 0, sizeof s);
    s.on_poweroff = off;
    s.on_reboot = reboot;
    s.on_crash = crash;
    return s;
}

/* Each event takes its own key; each action its one outcome. */
static void test_decide_table(void **state)
{
    (void)state;
    static const struct {
        enum vn_action action;
        enum vn_life_do alive, gone;
        bool note;
    } rows[] = {
        {VN_ACTION_DESTROY, VN_LIFE_DO_DESTROY, VN_LIFE_DO_DESTROY, false},
        {VN_ACTION_PRESERVE, VN_LIFE_DO_PRESERVE, VN_LIFE_DO_PRESERVE, false},
        {VN_ACTION_RESTART, VN_LIFE_DO_RESTART, VN_LIFE_DO_DESTROY, false},
        {VN_ACTION_RENAME_RESTART, VN_LIFE_DO_RESTART, VN_LIFE_DO_DESTROY, true},
        {VN_ACTION_COREDUMP_RESTART, VN_LIFE_DO_RESTART, VN_LIFE_DO_DESTROY, true},
        {VN_ACTION_SOFT_RESET, VN_LIFE_DO_RESTART, VN_LIFE_DO_DESTROY, true},
        {VN_ACTION_COREDUMP_DESTROY, VN_LIFE_DO_DESTROY, VN_LIFE_DO_DESTROY, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        enum vn_action a = rows[i].action, other = VN_ACTION_DESTROY;
        if (a == VN_ACTION_DESTROY)
            other = VN_ACTION_PRESERVE;
        const struct {
            enum vn_life_event ev;
            struct vn_vm_spec s;
            const char *key;
        } evs[] = {
            {VN_LIFE_POWEROFF, spec_of(a, other, other), "on_poweroff"},
            {VN_LIFE_REBOOT, spec_of(other, a, other), "on_reboot"},
            {VN_LIFE_CRASH, spec_of(other, other, a), "on_crash"},
        };
        for (size_t k = 0; k < 3; k++) {
            struct vn_life_verdict v = vn_life_decide(evs[k].ev, &evs[k].s, true);
            assert_int_equal(v.what, rows[i].alive);
            assert_int_equal(v.action, a);
            assert_string_equal(v.key, evs[k].key);
            assert_int_equal(v.note != NULL, rows[i].note);
            v = vn_life_decide(evs[k].ev, &evs[k].s, false);
            assert_int_equal(v.what, rows[i].gone);
            /* A restart that cannot happen says why. */
            if (rows[i].alive == VN_LIFE_DO_RESTART)
                assert_non_null(strstr(v.note, "cannot be reset in place"));
        }
    }
}

/* The host's own stop (vnuma destroy, a signal) and an unexplained exit change nothing. */
static void test_decide_host_and_vanished(void **state)
{
    (void)state;
    struct vn_vm_spec s = spec_of(VN_ACTION_PRESERVE, VN_ACTION_PRESERVE, VN_ACTION_PRESERVE);
    assert_int_equal(vn_life_decide(VN_LIFE_HOST, &s, false).what, VN_LIFE_DO_NOTHING);
    assert_int_equal(vn_life_decide(VN_LIFE_VANISHED, &s, false).what, VN_LIFE_DO_NOTHING);
    assert_int_equal(vn_life_decide(VN_LIFE_HOST, &s, true).what, VN_LIFE_DO_NOTHING);
    assert_null(vn_life_decide(VN_LIFE_VANISHED, &s, true).key);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_int_equal(vn_life_event_from_reason("guest-shutdown", true), VN_LIFE_POWEROFF);
    assert_int_equal(vn_life_event_from_reason("guest-reset", true), VN_LIFE_REBOOT);
    assert_int_equal(vn_life_event_from_reason("guest-panic", true), VN_LIFE_CRASH);
    assert_int_equal(vn_life_event_from_reason("host-qmp-system-reset", false), VN_LIFE_REBOOT);
    assert_int_equal(vn_life_event_from_reason("host-qmp-quit", false), VN_LIFE_HOST);
    assert_int_equal(vn_life_event_from_reason("host-signal", false), VN_LIFE_HOST);
    assert_int_equal(vn_life_event_from_reason("host-ui", false), VN_LIFE_HOST);
    /* A cause QEMU 7.2 did not have: the guest flag decides. */
    assert_int_equal(vn_life_event_from_reason("snapshot-load", false), VN_LIFE_HOST);
    assert_int_equal(vn_life_event_from_reason("something-new", true), VN_LIFE_POWEROFF);
    assert_int_equal(vn_life_event_from_reason(NULL, true), VN_LIFE_POWEROFF);
    assert_int_equal(vn_life_event_from_reason(NULL, false), VN_LIFE_HOST);
    assert_string_equal(vn_life_event_name(VN_LIFE_CRASH), "crash");
    assert_string_equal(vn_life_action_name(VN_ACTION_COREDUMP_RESTART), "coredump-restart");
}

/* QEMU keeps (pauses) only when some on_* restarts after a shutdown; reboots reset in place
 * only when on_reboot restarts. */
static void test_qemu_action(void **state)
{
    (void)state;
    char buf[128];
    struct vn_vm_spec s = spec_of(VN_ACTION_DESTROY, VN_ACTION_RESTART, VN_ACTION_DESTROY);
    vn_life_qemu_action(&s, buf, sizeof buf);
    assert_string_equal(buf, "reboot=reset,shutdown=poweroff,panic=shutdown");
    assert_false(vn_life_keeps_qemu(&s));
    s = spec_of(VN_ACTION_PRESERVE, VN_ACTION_DESTROY, VN_ACTION_PRESERVE);
    vn_life_qemu_action(&s, buf, sizeof buf);
    assert_string_equal(buf, "reboot=shutdown,shutdown=poweroff,panic=shutdown");
    s = spec_of(VN_ACTION_RESTART, VN_ACTION_DESTROY, VN_ACTION_DESTROY);
    vn_life_qemu_action(&s, buf, sizeof buf);
    assert_string_equal(buf, "reboot=shutdown,shutdown=pause,panic=shutdown");
    assert_true(vn_life_keeps_qemu(&s));
    s = spec_of(VN_ACTION_DESTROY, VN_ACTION_SOFT_RESET, VN_ACTION_COREDUMP_RESTART);
    vn_life_qemu_action(&s, buf, sizeof buf);
    assert_string_equal(buf, "reboot=reset,shutdown=pause,panic=shutdown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_table),
        cmocka_unit_test(test_decide_host_and_vanished),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_qemu_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
