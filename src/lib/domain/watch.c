/* The per-domain watcher (as xl keeps a process per domain): `vnuma __watch DOMAIN`, started
 * by create once QEMU runs, listens on the domain's second QMP socket (watch.sock) and turns
 * the guest's power-off, reboot and crash into the config's on_* action (life.h); `list`
 * cleans up after a domain whose QEMU and watcher are both gone.  docs/ARCHITECTURE.md "The
 * watcher". */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../qemu/launch.h"
#include "../qemu/qmp.h"
#include "../util/cleanup.h"
#include "domain_int.h"
#include "life.h"
#include "../util/clock.h"

#define CONNECT_TIMEOUT_MS 10000
#define QMP_TIMEOUT_MS     5000
#define EXIT_WAIT_MS       10000
#define LOCK_TIMEOUT_MS    30000
#define POLL_MS            1000

static void say(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *name, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    printf("%s vnuma watcher: domain '%s': %s\n", ts, name, msg);
    fflush(stdout);
}

/* ---- starting it ---------------------------------------------------------------------- */

struct watcher_arg {
    struct vn_dom_ident qemu;
    pid_t pid;
    uint64_t start;
};

static int record_watcher(struct vn_state *s, struct vn_domain_record *r, const void *arg,
                          struct vn_error *err)
{
    const struct watcher_arg *w = arg;
    if (r->qemu_pid != w->qemu.pid || r->qemu_start != w->qemu.start)
        return vn_error_set(err, "domain '%s' was destroyed and created again meanwhile", r->name);
    r->watcher_pid = w->pid;
    r->watcher_start = w->start;
    return 0;
}

int vn_domain_watch_start(const char *state_dir, const char *name, pid_t *pid, struct vn_error *err)
{
    *pid = 0;
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(state_dir, name, &s, &r, err) < 0)
        return -1;
    struct watcher_arg w = {.qemu = {r.qemu_pid, r.qemu_start}};
    vn_domain_record_clear(&r);
    struct vn_dom_paths p;
    if (vn_dom_paths(s, name, &p, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot start its watcher", name);
    /* vnuma's own binary, by the path the kernel knows: never a shell, never PATH. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return vn_error_sys(err, errno, "domain '%s': cannot start its watcher: /proc/self/exe",
                            name);
    exe[n] = '\0';
    const char *argv[] = {exe, "__watch", "--state-dir", vn_state_dir(s), name, NULL};
    struct vn_qemu_proc proc;
    if (vn_qemu_spawn_held(argv, p.watch_log, NULL, 0, &proc, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot start its watcher", name);
    w.pid = proc.pid;
    if (vn_proc_start_time(proc.pid, &w.start, err) < 0 ||
        vn_dom_edit_in(s, name, "record the watcher", LOCK_TIMEOUT_MS, record_watcher, &w, err) <
            0) {
        vn_qemu_abandon(&proc);
        return vn_error_prefix(err, "domain '%s': cannot start its watcher", name);
    }
    if (vn_qemu_release(&proc, exe, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot start its watcher", name);
    *pid = w.pid;
    return 0;
}

/* ---- acting --------------------------------------------------------------------------- */

/* Applies v to the domain whose QEMU is id; says what it did into msg. */
static int enact(struct vn_state *s, const char *name, const struct vn_dom_ident *id,
                 enum vn_life_event ev, const struct vn_life_verdict *v, struct vn_qmp *q,
                 char *msg, size_t len, struct vn_error *err)
{
    char head[256];
    snprintf(head, sizeof head, "%s: %s = \"%s\"%s%s", vn_life_event_name(ev), v->key,
             vn_life_action_name(v->action), v->note ? " (" : "", v->note ? v->note : "");
    if (v->note)
        snprintf(head + strlen(head), sizeof head - strlen(head), ")");
    if (v->what == VN_LIFE_DO_RESTART) {
        struct json_object *r = vn_qmp_command(q, "system_reset", NULL, QMP_TIMEOUT_MS, err);
        if (!r)
            return vn_error_prefix(err, "domain '%s': cannot restart it", name);
        json_object_put(r);
        r = vn_qmp_command(q, "cont", NULL, QMP_TIMEOUT_MS, err);
        if (!r)
            return vn_error_prefix(err, "domain '%s': cannot restart it", name);
        json_object_put(r);
        snprintf(msg, len, "%s: reset and resumed in the same QEMU (same vnodes and pnodes)", head);
        return 0;
    }
    struct vn_dom_end end = {.expect = id,
                             .preserve = v->what == VN_LIFE_DO_PRESERVE,
                             .stopped = vn_life_event_name(ev)};
    int rc = vn_dom_end(s, name, &end, err);
    if (rc < 0)
        return -1;
    if (rc == 1)
        snprintf(msg, len,
                 "%s: the record names another QEMU now (destroyed and created again); "
                 "left alone",
                 head);
    else if (end.preserve)
        snprintf(msg, len,
                 "%s: QEMU is gone, the record is kept as preserved (claim released, "
                 "logs kept); 'vnuma destroy %s' removes it",
                 head, name);
    else
        snprintf(msg, len, "%s: destroyed (claim released, files and record removed)", head);
    return 0;
}

/* Records how the life ended when nothing else does (vanished, or the host's doing), so
 * `list` knows the watcher saw it. */
struct stop_arg {
    const struct vn_dom_ident *id;
    const char *stopped;
};

static int note_stopped(struct vn_state *s, struct vn_domain_record *r, const void *arg,
                        struct vn_error *err)
{
    const struct stop_arg *a = arg;
    if (r->qemu_pid != a->id->pid || r->qemu_start != a->id->start)
        return vn_error_set(err, "domain '%s' was created again", r->name);
    free(r->stopped);
    r->stopped = strdup(a->stopped);
    r->stopped_at = (int64_t)time(NULL);
    return r->stopped ? 0 : vn_error_sys(err, ENOMEM, "domain '%s'", r->name);
}

static bool qemu_alive(const struct vn_dom_ident *id)
{
    return vn_proc_alive(id->pid, id->start);
}

static bool wait_exit(const struct vn_dom_ident *id, int ms)
{
    for (int waited = 0; waited < ms && qemu_alive(id); waited += 50)
        vn_sleep_ms(50);
    return !qemu_alive(id);
}

int vn_domain_watch(const char *state_dir, const char *name, struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(state_dir, name, &s, &r, err) < 0)
        return -1;
    struct vn_dom_ident id = {r.qemu_pid, r.qemu_start};
    struct vn_vm_spec *spec = r.spec;
    r.spec = NULL;
    vn_domain_record_clear(&r);
    if (!spec || id.pid <= 0) {
        vn_spec_free(spec);
        return vn_error_set(err, "domain '%s': its record has no spec or no QEMU to watch", name);
    }
    struct vn_dom_paths p;
    if (vn_dom_paths(s, name, &p, err) < 0) {
        vn_spec_free(spec);
        return -1;
    }
    say(name,
        "watching QEMU pid %d (on_poweroff = \"%s\", on_reboot = \"%s\", on_crash = "
        "\"%s\")",
        (int)id.pid, vn_life_action_name(spec->on_poweroff), vn_life_action_name(spec->on_reboot),
        vn_life_action_name(spec->on_crash));
    struct vn_error cerr = {0};
    struct vn_qmp *q = vn_qmp_connect(p.watch, CONNECT_TIMEOUT_MS, name, &cerr);
    if (!q)
        say(name, "cannot connect to QEMU's watch socket: %s", cerr.msg);
    bool have_ev = false, keeps = vn_life_keeps_qemu(spec);
    enum vn_life_event ev = VN_LIFE_VANISHED;
    int rc = 0;
    while (q) {
        struct vn_qmp_event e = {0};
        struct vn_error e2 = {0};
        int got = vn_qmp_next_event(q, POLL_MS, &e, &e2);
        if (got < 0)
            break; /* QEMU closed the socket: it exited */
        if (got == 0) {
            if (!qemu_alive(&id))
                break;
            continue;
        }
        enum vn_life_event this;
        int is_life = vn_life_event_from_qmp(e.name, e.data, &this);
        if (!is_life) {
            struct json_object *why = NULL;
            if (strcmp(e.name, "RESET") == 0 && e.data)
                json_object_object_get_ex(e.data, "reason", &why);
            if (strcmp(e.name, "RESET") == 0)
                say(name, "QEMU reset the guest in place (reason %s; on_reboot = \"%s\")",
                    why ? json_object_get_string(why) : "not given",
                    vn_life_action_name(spec->on_reboot));
            vn_qmp_event_clear(&e);
            continue;
        }
        const char *reason = NULL;
        struct json_object *v;
        if (e.data && json_object_object_get_ex(e.data, "reason", &v))
            reason = json_object_get_string(v);
        say(name, "QEMU reported %s%s%s%s", e.name, reason ? " (reason " : "", reason ? reason : "",
            reason ? ")" : "");
        vn_qmp_event_clear(&e);
        /* GUEST_PANICKED comes before the SHUTDOWN it leads to: keep the crash. */
        if (!(have_ev && ev == VN_LIFE_CRASH))
            ev = this;
        have_ev = true;
        if (ev == VN_LIFE_HOST)
            continue; /* vnuma destroy (or a signal) is at work: wait for QEMU to go */
        if (!keeps)
            continue; /* QEMU exits on its own now; act once it has */
        /* QEMU paused itself (shutdown=pause): decide now, while it can still be reset. */
        struct vn_life_verdict vd = vn_life_decide(ev, spec, true);
        if (vd.what == VN_LIFE_DO_NOTHING)
            continue;
        char msg[1024];
        if (enact(s, name, &id, ev, &vd, q, msg, sizeof msg, &e2) < 0) {
            say(name, "%s", e2.msg);
            *err = e2;
            rc = -1;
            break;
        }
        say(name, "%s", msg);
        if (vd.what != VN_LIFE_DO_RESTART) {
            vn_qmp_close(q);
            vn_spec_free(spec);
            return 0;
        }
        have_ev = false;
        ev = VN_LIFE_VANISHED;
    }
    vn_qmp_close(q);
    if (rc == 0 && !wait_exit(&id, EXIT_WAIT_MS)) {
        say(name, "QEMU pid %d still runs, but its watch socket is gone; leaving it", (int)id.pid);
        vn_spec_free(spec);
        return 0;
    }
    if (rc == 0) {
        struct vn_life_verdict vd = vn_life_decide(have_ev ? ev : VN_LIFE_VANISHED, spec, false);
        char msg[1024];
        struct vn_error e2 = {0};
        if (vd.what == VN_LIFE_DO_NOTHING) {
            struct stop_arg a = {&id, have_ev ? vn_life_event_name(ev) : "vanished"};
            vn_dom_edit_in(s, name, "note the domain's end", LOCK_TIMEOUT_MS, note_stopped, &a,
                           &e2);
            say(name, "QEMU pid %d is gone (%s); the record is left for 'vnuma destroy %s'",
                (int)id.pid, have_ev ? "the host stopped it" : "without a guest event", name);
        } else if (enact(s, name, &id, ev, &vd, NULL, msg, sizeof msg, &e2) < 0) {
            say(name, "%s", e2.msg);
            *err = e2;
            rc = -1;
        } else {
            say(name, "%s", msg);
        }
    }
    vn_spec_free(spec);
    return rc;
}

/* ---- list: a domain whose QEMU and watcher are both gone -------------------------------- */

int vn_domain_reap(const char *state_dir, void (*report)(void *ctx, const char *msg), void *ctx,
                   struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (vn_dom_open_existing(state_dir, &s, err) < 0)
        return -1;
    if (!s)
        return 0;
    char **names = NULL;
    int n = 0;
    if (vn_state_list(s, &names, &n, err) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        struct vn_domain_record r;
        struct vn_error e2 = {0};
        if (vn_dom_read(s, names[i], &r, &e2) < 0) {
            vn_domain_record_clear(&r);
            continue;
        }
        /* Only a domain that had a watcher, which died before it could see the end. */
        bool orphaned = r.watcher_pid > 0 && !r.stopped && r.spec &&
                        (r.status == VN_DOMAIN_RUNNING || r.status == VN_DOMAIN_PAUSED) &&
                        !vn_domain_alive(&r) && !vn_proc_alive(r.watcher_pid, r.watcher_start);
        if (!orphaned) {
            vn_domain_record_clear(&r);
            continue;
        }
        struct vn_dom_ident id = {r.qemu_pid, r.qemu_start};
        /* No watcher saw why QEMU went; with the default actions QEMU exits only when the guest
         * powered off (or the host stopped it), so on_poweroff applies. */
        struct vn_life_verdict vd = vn_life_decide(VN_LIFE_POWEROFF, r.spec, false);
        char msg[1400], did[1024];
        if (enact(s, r.name, &id, VN_LIFE_POWEROFF, &vd, NULL, did, sizeof did, &e2) < 0)
            snprintf(msg, sizeof msg,
                     "domain '%s': its QEMU (pid %d) and its watcher (pid %d) are gone; "
                     "cleaning up failed: %s",
                     r.name, (int)r.qemu_pid, (int)r.watcher_pid, e2.msg);
        else
            snprintf(msg, sizeof msg,
                     "domain '%s': its QEMU (pid %d) and its watcher (pid %d) are gone; "
                     "taken as a %s",
                     r.name, (int)r.qemu_pid, (int)r.watcher_pid, did);
        if (report)
            report(ctx, msg);
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, n);
    return 0;
}
