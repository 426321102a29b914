/* vn_domain_destroy: QMP quit, signals if QEMU does not go, then the files, then the record
 * (which releases the claim).  The record goes last so a failed clean-up can be retried. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../qemu/launch.h"
#include "../qemu/qmp.h"
#include "../util/cleanup.h"
#include "../util/fault.h"
#include "domain_int.h"
#include "../util/clock.h"

#define QUIT_TIMEOUT_MS 2000
#define EXIT_WAIT_MS    3000
#define LOCK_TIMEOUT_MS 30000

/* Waits until the record's QEMU is gone; a zombie counts as gone (its parent may be an init
 * that reaps late). */
static bool wait_gone(const struct vn_domain_record *r, int ms)
{
    for (int waited = 0; waited <= ms; waited += 20) {
        if (!vn_domain_alive(r))
            return true;
        vn_sleep_ms(20);
    }
    return !vn_domain_alive(r);
}

static int stop_qemu(const struct vn_domain_record *r, struct vn_error *err)
{
    if (r->qemu_pid <= 0 || !vn_domain_alive(r))
        return 0;
    /* pid and start time match, but only a QEMU started for this domain's QMP socket is
     * signalled: a forged or stale record must not make us kill anything else. */
    if (!vn_dom_is_own_qemu(r)) {
        fprintf(stderr,
                "vnuma: domain '%s': process %d is not the QEMU vnuma started for it; left "
                "alone\n",
                r->name, (int)r->qemu_pid);
        return 0;
    }
    if (r->qmp_socket) {
        struct vn_error ignored = {0};
        VN_CLEANUP(vn_qmp_closep)
        struct vn_qmp *q = vn_qmp_connect(r->qmp_socket, QUIT_TIMEOUT_MS, r->name, &ignored);
        if (q)
            vn_qmp_quit(q, QUIT_TIMEOUT_MS, &ignored);
        if (q && wait_gone(r, EXIT_WAIT_MS))
            return 0;
    }
    vn_qemu_kill(r->qemu_pid, 2000);
    if (!wait_gone(r, 1000))
        return vn_error_set(err, "domain '%s': QEMU (pid %d) survived SIGTERM and SIGKILL", r->name,
                            (int)r->qemu_pid);
    return 0;
}

/* The record still names the QEMU the caller saw (expect NULL: any); a domain destroyed and
 * created again meanwhile has another pid or start time. */
static bool same_domain(const struct vn_domain_record *r, const struct vn_dom_ident *expect)
{
    return !expect || (r->qemu_pid == expect->pid && r->qemu_start == expect->start);
}

int vn_dom_end(struct vn_state *s, const char *name, const struct vn_dom_end *end,
               struct vn_error *err)
{
    struct vn_domain_record r, now;
    vn_domain_record_init(&now);
    if (vn_dom_read(s, name, &r, err) < 0)
        return -1;
    int rc = -1;
    if (!same_domain(&r, end->expect)) {
        rc = 1;
        goto out;
    }
    if (r.status == VN_DOMAIN_CREATING && vn_domain_holds_claim(&r) && r.creator_pid > 0 &&
        r.creator_pid != getpid() && vn_proc_alive(r.creator_pid, r.creator_start)) {
        vn_error_set(err, "domain '%s' is being created by pid %d; try again when it is done", name,
                     (int)r.creator_pid);
        goto out;
    }
    if (stop_qemu(&r, err) < 0)
        goto out;
    vn_fault_point("destroy.stopped");
    /* The files and the record go under the host lock: two that end a domain at once (the
     * watcher and `vnuma destroy`, say) take turns, and the second finds it done. */
    char what[128];
    snprintf(what, sizeof what, "%s '%s'", end->preserve ? "preserve" : "destroy", name);
    if (vn_state_lock(s, LOCK_TIMEOUT_MS, what, err) < 0) {
        vn_error_prefix(err, "domain '%s': cannot remove its record", name);
        goto out;
    }
    struct vn_error e2 = {0};
    const struct vn_dom_ident seen = {r.qemu_pid, r.qemu_start};
    if (vn_dom_read(s, name, &now, &e2) < 0) {
        rc = e2.errnum == ENOENT ? 0 : (*err = e2, -1);
    } else if (!same_domain(&now, &seen)) {
        rc = 1; /* destroyed and created again since r was read */
    } else if (now.status == VN_DOMAIN_PRESERVED && end->preserve) {
        rc = 0;
    } else if (vn_dom_remove_record_mem_dir(s, &now, err) < 0 ||
               (!end->preserve && vn_state_remove_runtime_dir(s, name, err) < 0)) {
        vn_error_prefix(err, "domain '%s': QEMU is stopped but its files remain", name);
    } else {
        vn_fault_point("destroy.files");
        if (end->preserve) {
            /* The record stays (status preserved, logs in the runtime dir); its claim is no
             * longer counted, since no QEMU holds the memory (vn_domain_holds_claim). */
            now.status = VN_DOMAIN_PRESERVED;
            free(now.stopped);
            now.stopped = strdup(end->stopped ? end->stopped : "poweroff");
            now.stopped_at = (int64_t)time(NULL);
            if (!now.stopped)
                vn_error_sys(err, ENOMEM, "domain '%s'", name);
            else if (vn_state_write_record(s, &now, err) < 0)
                vn_error_prefix(err, "domain '%s': cannot keep its record as preserved", name);
            else
                rc = 0;
        } else if (vn_state_remove_record(s, name, err) < 0 && err->errnum != ENOENT) {
            vn_error_prefix(err, "domain '%s': cannot remove its record", name);
        } else {
            rc = 0;
        }
    }
    vn_state_unlock(s);
out:
    vn_domain_record_clear(&now);
    vn_domain_record_clear(&r);
    return rc;
}

int vn_domain_destroy(const char *state_dir, const char *name, struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (vn_dom_open_existing(state_dir, &s, err) < 0)
        return -1;
    if (!s) {
        struct vn_domain_record r;
        return vn_dom_read(NULL, name, &r, err);
    }
    struct vn_dom_end end = {0};
    int rc = vn_dom_end(s, name, &end, err);
    if (rc == 1)
        return vn_error_set(err,
                            "domain '%s' was destroyed and created again meanwhile; "
                            "nothing was removed",
                            name);
    return rc;
}
