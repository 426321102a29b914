/* The on_* decision (life.h): pure, no I/O. */
#include "life.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

const char *vn_life_event_name(enum vn_life_event ev)
{
    static const char *const names[] = {
        [VN_LIFE_POWEROFF] = "poweroff", [VN_LIFE_REBOOT] = "reboot",     [VN_LIFE_CRASH] = "crash",
        [VN_LIFE_HOST] = "host",         [VN_LIFE_VANISHED] = "vanished",
    };
    return (unsigned)ev < sizeof names / sizeof names[0] ? names[ev] : "unknown";
}

const char *vn_life_action_name(enum vn_action a)
{
    return (unsigned)a < VN_ACTION_NAMES ? vn_action_names[a] : "unknown";
}

enum vn_life_event vn_life_event_from_reason(const char *reason, bool guest)
{
    static const struct {
        const char *reason;
        enum vn_life_event ev;
    } map[] = {
        {"guest-shutdown", VN_LIFE_POWEROFF},
        {"guest-reset", VN_LIFE_REBOOT},
        {"guest-panic", VN_LIFE_CRASH},
        /* `vnuma reboot` is system_reset: with reboot=shutdown it ends in a SHUTDOWN. */
        {"host-qmp-system-reset", VN_LIFE_REBOOT},
        {"host-qmp-quit", VN_LIFE_HOST},
        {"host-signal", VN_LIFE_HOST},
        {"host-ui", VN_LIFE_HOST},
        {"host-error", VN_LIFE_HOST},
    };
    for (size_t i = 0; reason && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(reason, map[i].reason) == 0)
            return map[i].ev;
    return guest ? VN_LIFE_POWEROFF : VN_LIFE_HOST;
}

int vn_life_event_from_qmp(const char *name, struct json_object *data, enum vn_life_event *ev)
{
    if (!name)
        return 0;
    if (strcmp(name, "GUEST_PANICKED") == 0) {
        *ev = VN_LIFE_CRASH;
        return 1;
    }
    if (strcmp(name, "SHUTDOWN") != 0)
        return 0;
    struct json_object *v = NULL;
    const char *reason = NULL;
    bool guest = false;
    if (data && json_object_object_get_ex(data, "reason", &v) &&
        json_object_is_type(v, json_type_string))
        reason = json_object_get_string(v);
    if (data && json_object_object_get_ex(data, "guest", &v) &&
        json_object_is_type(v, json_type_boolean))
        guest = json_object_get_boolean(v);
    *ev = vn_life_event_from_reason(reason, guest);
    return 1;
}

static bool restarts(enum vn_action a)
{
    return a == VN_ACTION_RESTART || a == VN_ACTION_RENAME_RESTART ||
           a == VN_ACTION_COREDUMP_RESTART || a == VN_ACTION_SOFT_RESET;
}

struct vn_life_verdict vn_life_decide(enum vn_life_event ev, const struct vn_vm_spec *spec,
                                      bool qemu_alive)
{
    struct vn_life_verdict v = {.what = VN_LIFE_DO_NOTHING, .action = VN_ACTION_DESTROY};
    switch (ev) {
    case VN_LIFE_POWEROFF:
        v.key = "on_poweroff";
        v.action = spec->on_poweroff;
        break;
    case VN_LIFE_REBOOT:
        v.key = "on_reboot";
        v.action = spec->on_reboot;
        break;
    case VN_LIFE_CRASH:
        v.key = "on_crash";
        v.action = spec->on_crash;
        break;
    default:
        return v; /* the host's doing or unexplained: the record is left for `vnuma destroy` */
    }
    switch (v.action) {
    case VN_ACTION_DESTROY:
        v.what = VN_LIFE_DO_DESTROY;
        break;
    case VN_ACTION_PRESERVE:
        v.what = VN_LIFE_DO_PRESERVE;
        break;
    case VN_ACTION_COREDUMP_DESTROY:
        v.what = VN_LIFE_DO_DESTROY;
        v.note = "coredump-destroy is done as destroy: vnuma takes no core dump";
        break;
    case VN_ACTION_RESTART:
    case VN_ACTION_RENAME_RESTART:
    case VN_ACTION_COREDUMP_RESTART:
    case VN_ACTION_SOFT_RESET:
        v.what = VN_LIFE_DO_RESTART;
        v.note = v.action == VN_ACTION_RENAME_RESTART ? "rename-restart is done as restart: the "
                                                        "domain keeps its name"
                 : v.action == VN_ACTION_COREDUMP_RESTART
                     ? "coredump-restart is done as restart: vnuma takes no core dump"
                 : v.action == VN_ACTION_SOFT_RESET ? "soft-reset is done as restart"
                                                    : NULL;
        if (!qemu_alive) {
            v.what = VN_LIFE_DO_DESTROY;
            v.note = "QEMU has exited, so it cannot be reset in place: done as destroy";
        }
        break;
    }
    return v;
}

bool vn_life_keeps_qemu(const struct vn_vm_spec *spec)
{
    return restarts(spec->on_poweroff) || restarts(spec->on_crash);
}

void vn_life_qemu_action(const struct vn_vm_spec *spec, char *buf, size_t len)
{
    snprintf(buf, len, "reboot=%s,shutdown=%s,panic=shutdown",
             restarts(spec->on_reboot) ? "reset" : "shutdown",
             vn_life_keeps_qemu(spec) ? "pause" : "poweroff");
}
