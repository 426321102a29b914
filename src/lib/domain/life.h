/* What happens when a guest powers off, reboots or crashes: xl.cfg(5)'s on_poweroff,
 * on_reboot and on_crash, decided here without I/O (the watcher, `vnuma list` and the
 * tests call the same functions).
 *
 * QEMU is told to report rather than act where an action needs it kept (vn_life_qemu_action):
 * a reboot resets in place only when on_reboot restarts, else it becomes a shutdown (SHUTDOWN
 * event, reason guest-reset); a shutdown pauses QEMU only when some on_* restarts, else QEMU
 * exits, so a domain whose watcher is gone never hangs paused.  docs/ARCHITECTURE.md "The
 * watcher" has the whole design. */
#ifndef VN_DOMAIN_LIFE_H
#define VN_DOMAIN_LIFE_H

#include <stdbool.h>
#include <stddef.h>

#include "../config/spec.h"

struct json_object;

enum vn_life_event {
    VN_LIFE_POWEROFF, /* the guest powered off (SHUTDOWN reason guest-shutdown) */
    VN_LIFE_REBOOT,   /* it rebooted (guest-reset) or `vnuma reboot` reset it */
    VN_LIFE_CRASH,    /* it panicked (guest-panic, GUEST_PANICKED) */
    VN_LIFE_HOST,     /* the host stopped it: QMP quit (vnuma destroy), a signal, an error */
    VN_LIFE_VANISHED, /* QEMU went without saying why (SIGKILL, a crash of QEMU) */
};

enum vn_life_do {
    VN_LIFE_DO_NOTHING,  /* leave the record as it is (vnuma destroy is at work, or "dead") */
    VN_LIFE_DO_DESTROY,  /* destroy's path: QEMU gone, files and record removed, claim freed */
    VN_LIFE_DO_RESTART,  /* system_reset + cont in the same QEMU: same topology and pnodes */
    VN_LIFE_DO_PRESERVE, /* QEMU gone, record kept as "preserved" (claim freed, logs kept) */
};

struct vn_life_verdict {
    enum vn_life_do what;
    enum vn_action action; /* the on_* value it came from (destroy for host/vanished) */
    const char *key;       /* "on_poweroff", "on_reboot", "on_crash", or NULL */
    const char *note;      /* why an action is treated as another one, or NULL */
};

/* "poweroff", "reboot", "crash", "host", "vanished". */
const char *vn_life_event_name(enum vn_life_event ev);
/* The xl.cfg spelling of an action ("destroy", "coredump-restart"...). */
const char *vn_life_action_name(enum vn_action a);
/* The event of a SHUTDOWN event's reason (QEMU 7.2 qapi ShutdownCause); an unknown or missing
 * reason is VN_LIFE_HOST when guest is false, else VN_LIFE_POWEROFF. */
enum vn_life_event vn_life_event_from_reason(const char *reason, bool guest);
/* The event an asynchronous QMP event stands for: 1 and *ev for SHUTDOWN (its data's reason
 * and guest) and GUEST_PANICKED, 0 for every other event (RESET, STOP, RESUME...). */
int vn_life_event_from_qmp(const char *name, struct json_object *data, enum vn_life_event *ev);
/* What to do for ev under spec's on_* keys; qemu_alive says whether QEMU still runs (paused)
 * so a restart in place is possible.  A restart without a QEMU is done as destroy (a note
 * says so); rename-restart, coredump-* and soft-reset are done as restart/destroy with a
 * note (no core dump is taken). */
struct vn_life_verdict vn_life_decide(enum vn_life_event ev, const struct vn_vm_spec *spec,
                                      bool qemu_alive);
/* True when an on_* of spec restarts after a shutdown: QEMU must then pause, not exit. */
bool vn_life_keeps_qemu(const struct vn_vm_spec *spec);
/* QEMU's -action value for spec into buf: "reboot=reset|shutdown,shutdown=poweroff|pause,
 * panic=shutdown". */
void vn_life_qemu_action(const struct vn_vm_spec *spec, char *buf, size_t len);

#endif
