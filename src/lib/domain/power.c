/* shutdown, reboot, pause and unpause of a running domain, over its QMP socket (the CLI's;
 * the watcher has its own). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../qemu/qmp.h"
#include "../util/cleanup.h"
#include "domain_int.h"
#include "life.h"
#include "../util/clock.h"

#define QMP_TIMEOUT_MS  5000
#define LOCK_TIMEOUT_MS 30000
#define POLL_MS         100
#define SETTLE_MS       10000 /* after QEMU exits, how long the watcher gets to apply on_* */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens the domain's record and runs cmd on its QMP socket; the domain must be running.  With
 * keep, the connection is handed to the caller (its events: QMP sends them to every client). */
static int run_cmd(struct vn_state *s, const char *name, const char *cmd, const char *doing,
                   struct vn_domain_record *r, struct vn_qmp **keep, struct vn_error *err)
{
    if (vn_dom_read(s, name, r, err) < 0)
        return -1;
    const char *st = vn_dom_state(r);
    if (strcmp(st, "running") != 0 && strcmp(st, "paused") != 0)
        return vn_error_set(err, "domain '%s' cannot be %s: it is %s", name, doing, st);
    VN_CLEANUP(vn_qmp_closep)
    struct vn_qmp *q = vn_qmp_connect(r->qmp_socket, QMP_TIMEOUT_MS, name, err);
    if (!q)
        return vn_error_prefix(err, "cannot be %s", doing);
    struct json_object *ret = vn_qmp_command(q, cmd, NULL, QMP_TIMEOUT_MS, err);
    if (!ret)
        return -1;
    json_object_put(ret);
    if (keep) {
        *keep = q;
        q = NULL;
    }
    return 0;
}

static int open_state(const char *state_dir, const char *name, struct vn_state **s,
                      struct vn_error *err)
{
    if (vn_dom_open_existing(state_dir, s, err) < 0)
        return -1;
    if (!*s) {
        vn_error_set(err, "domain '%s' does not exist", name);
        err->errnum = ENOENT;
        return -1;
    }
    return 0;
}

int vn_domain_shutdown(const char *state_dir, const char *name, int timeout_ms, bool wait,
                       struct vn_domain_shutdown_result *res, struct vn_error *err)
{
    memset(res, 0, sizeof *res);
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (open_state(state_dir, name, &s, err) < 0)
        return -1;
    struct vn_domain_record r;
    double t0 = now_s();
    VN_CLEANUP(vn_qmp_closep) struct vn_qmp *q = NULL;
    int rc = run_cmd(s, name, "system_powerdown", "shut down", &r, &q, err);
    struct vn_dom_ident id = {r.qemu_pid, r.qemu_start};
    bool restarts =
        r.spec && vn_life_decide(VN_LIFE_POWEROFF, r.spec, true).what == VN_LIFE_DO_RESTART;
    vn_domain_record_clear(&r);
    if (rc < 0)
        return -1;
    /* The guest has powered off when QEMU reports SHUTDOWN (reason guest-shutdown) or exits;
     * with on_poweroff = restart QEMU stays, and the watcher boots the guest again. */
    bool down = false;
    while (!down && (now_s() - t0) * 1000 < timeout_ms && vn_proc_alive(id.pid, id.start)) {
        struct vn_qmp_event ev = {0};
        struct vn_error e2 = {0};
        int got = q ? vn_qmp_next_event(q, POLL_MS, &ev, &e2) : 0;
        enum vn_life_event le;
        if (got == 1 && vn_life_event_from_qmp(ev.name, ev.data, &le) == 1 &&
            le == VN_LIFE_POWEROFF)
            down = true;
        vn_qmp_event_clear(&ev);
        if (got < 0) { /* QEMU closed the socket on its way out */
            vn_qmp_close(q);
            q = NULL;
        }
        if (!q)
            vn_sleep_ms(POLL_MS);
    }
    if (down && restarts) {
        res->powered_off = res->restarted = true;
        res->seconds = now_s() - t0;
        return 0;
    }
    if (!down && vn_proc_alive(id.pid, id.start)) {
        /* The guest did not react to the power button in time: as xl's shutdown -F would. */
        struct vn_dom_end end = {.expect = &id};
        if (vn_dom_end(s, name, &end, err) < 0)
            return vn_error_prefix(err,
                                   "domain '%s' did not power off within %d s, and "
                                   "destroying it failed",
                                   name, timeout_ms / 1000);
        res->destroyed = true;
        res->seconds = now_s() - t0;
        return 0;
    }
    res->powered_off = true;
    /* QEMU is gone; the watcher applies on_poweroff.  With --wait, until it has. */
    double t1 = now_s();
    while (wait && (now_s() - t1) * 1000 < SETTLE_MS) {
        struct vn_error e2 = {0};
        if (vn_state_read_record(s, name, &r, &e2) < 0) {
            if (e2.errnum == ENOENT)
                break;
            *err = e2;
            return -1;
        }
        bool same = r.qemu_pid == id.pid && r.qemu_start == id.start;
        bool kept = r.status == VN_DOMAIN_PRESERVED, ended = r.stopped != NULL;
        vn_domain_record_clear(&r);
        if (!same)
            break;
        if (kept) {
            res->preserved = true;
            break;
        }
        if (ended)
            break;
        vn_sleep_ms(POLL_MS);
    }
    res->seconds = now_s() - t0;
    return 0;
}

int vn_domain_reboot(const char *state_dir, const char *name, struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (open_state(state_dir, name, &s, err) < 0)
        return -1;
    struct vn_domain_record r;
    int rc = run_cmd(s, name, "system_reset", "rebooted", &r, NULL, err);
    vn_domain_record_clear(&r);
    return rc;
}

struct pause_arg {
    struct vn_dom_ident id;
    enum vn_domain_status status;
};

static int set_paused(struct vn_state *s, struct vn_domain_record *r, const void *arg,
                      struct vn_error *err)
{
    const struct pause_arg *a = arg;
    if (r->qemu_pid != a->id.pid || r->qemu_start != a->id.start)
        return vn_error_set(err, "domain '%s' was destroyed and created again meanwhile", r->name);
    r->status = a->status;
    return 0;
}

int vn_domain_pause(const char *state_dir, const char *name, bool pause, struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (open_state(state_dir, name, &s, err) < 0)
        return -1;
    struct vn_domain_record r;
    int rc =
        run_cmd(s, name, pause ? "stop" : "cont", pause ? "paused" : "unpaused", &r, NULL, err);
    struct pause_arg a = {{r.qemu_pid, r.qemu_start}, pause ? VN_DOMAIN_PAUSED : VN_DOMAIN_RUNNING};
    vn_domain_record_clear(&r);
    if (rc < 0)
        return -1;
    char what[128];
    snprintf(what, sizeof what, "%s '%s'", pause ? "pause" : "unpause", name);
    return vn_dom_edit_in(s, name, what, LOCK_TIMEOUT_MS, set_paused, &a, err);
}
