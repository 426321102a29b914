/* Where a domain's files live: the state dir, its runtime dir, and the dir of its vnode memory
 * files, which must be on a shared-memory file system (tmpfs) so QEMU can map them shared
 * without writing the guest's memory to a disk. */
#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../proc/proc.h"
#include "../util/cleanup.h"
#include "domain_int.h"

/* sun_path of a UNIX socket holds 107 bytes and a NUL. */
#define SOCKET_PATH_MAX 107

static int fill_paths(const char *dir, const char *name, struct vn_dom_paths *p,
                      struct vn_error *err);

const char *vn_domain_state_dir(const char *dir)
{
    if (dir && *dir)
        return dir;
    const char *env = getenv("VNUMA_STATE_DIR");
    return env && *env ? env : VN_STATE_DEFAULT_DIR;
}

int vn_dom_open_existing(const char *dir, struct vn_state **out, struct vn_error *err)
{
    *out = NULL;
    dir = vn_domain_state_dir(dir);
    char domains[4096];
    if (snprintf(domains, sizeof domains, "%s/domains", dir) >= (int)sizeof domains)
        return vn_error_set(err, "state directory path '%s' is too long.", dir);
    struct stat st;
    if (stat(domains, &st) < 0 && errno == ENOENT)
        return 0;
    return vn_state_open(dir, out, err);
}

int vn_dom_read(struct vn_state *s, const char *name, struct vn_domain_record *r,
                struct vn_error *err)
{
    if (vn_domain_name_check(name, err) < 0)
        return -1;
    if (!s) {
        vn_domain_record_init(r);
        vn_error_set(err, "domain '%s' does not exist", name);
        err->errnum = ENOENT;
        return -1;
    }
    if (vn_state_read_record(s, name, r, err) < 0) {
        if (err->errnum == ENOENT) {
            vn_error_set(err, "domain '%s' does not exist", name);
            err->errnum = ENOENT;
        }
        return -1;
    }
    return vn_dom_vet_record(s, r, err);
}

static int replace(char **field, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return -1;
    free(*field);
    *field = v;
    return 0;
}

int vn_dom_vet_record(struct vn_state *s, struct vn_domain_record *r, struct vn_error *err)
{
    struct vn_dom_paths p;
    if (fill_paths(vn_state_dir(s), r->name, &p, err) < 0)
        return vn_error_prefix(err, "domain '%s'", r->name);
    /* A record from before the keyed memory layout keeps the dir it was created with; any
     * other value is not a path vnuma made, so it is replaced by the derived one. */
    const char *mem = vn_dom_record_mem_dir(r), *use = p.mem;
    char legacy[4096];
    for (int i = 0; mem && i < 2; i++)
        if (vn_dom_memdir_legacy(r->name, legacy, sizeof legacy, i) == 0 &&
            strcmp(mem, legacy) == 0)
            use = legacy;
    if (replace(&r->runtime_dir, p.run) < 0 || replace(&r->qmp_socket, p.qmp) < 0 ||
        replace(&r->console_socket, p.console) < 0 || replace(&r->log_path, p.log) < 0 ||
        replace(&r->mem_dir, use) < 0 || replace(&r->console_log, p.console_log) < 0)
        return vn_error_sys(err, ENOMEM, "domain '%s': cannot read its record", r->name);
    return 0;
}

int vn_domain_read(struct vn_state *s, const char *name, struct vn_domain_record *r,
                   struct vn_error *err)
{
    return vn_dom_read(s, name, r, err);
}

int vn_dom_open_read(const char *dir, const char *name, struct vn_state **s,
                     struct vn_domain_record *r, struct vn_error *err)
{
    if (vn_dom_open_existing(dir, s, err) < 0)
        return -1;
    return vn_dom_read(*s, name, r, err);
}

/* A path QEMU can take inside an option value and a socket address. */
static int check_qemu_path(const char *what, const char *path, size_t max, struct vn_error *err)
{
    if (path[0] != '/')
        return vn_error_set(err, "the %s '%s' is not an absolute path.", what, path);
    if (strchr(path, ','))
        return vn_error_set(err,
                            "the %s '%s' contains ',', which QEMU's option syntax cannot carry "
                            "here; use a state directory without commas.",
                            what, path);
    if (strlen(path) > max)
        return vn_error_set(err,
                            "the %s '%s' is longer than %zu bytes (the limit of a UNIX socket "
                            "path); use a shorter --state-dir.",
                            what, path, max);
    return 0;
}

/* Every path of p for the state dir at dir. */
static int fill_paths(const char *dir, const char *name, struct vn_dom_paths *p,
                      struct vn_error *err)
{
    memset(p, 0, sizeof *p);
    if (vn_state_runtime_path_in(dir, name, NULL, p->run, sizeof p->run, err) < 0 ||
        vn_state_runtime_path_in(dir, name, "qmp.sock", p->qmp, sizeof p->qmp, err) < 0 ||
        vn_state_runtime_path_in(dir, name, "console.sock", p->console, sizeof p->console, err) <
            0 ||
        vn_state_runtime_path_in(dir, name, "console.log", p->console_log, sizeof p->console_log,
                                 err) < 0 ||
        vn_state_runtime_path_in(dir, name, "qemu.log", p->log, sizeof p->log, err) < 0 ||
        vn_state_runtime_path_in(dir, name, "vnc.sock", p->vnc, sizeof p->vnc, err) < 0 ||
        vn_state_runtime_path_in(dir, name, "watch.sock", p->watch, sizeof p->watch, err) < 0 ||
        vn_state_runtime_path_in(dir, name, "watch.log", p->watch_log, sizeof p->watch_log, err) <
            0)
        return -1;
    if (vn_dom_memdir_for(dir, name, &p->memdir, err) < 0)
        return -1;
    snprintf(p->mem, sizeof p->mem, "%s", p->memdir.path);
    return 0;
}

int vn_dom_paths(struct vn_state *s, const char *name, struct vn_dom_paths *p, struct vn_error *err)
{
    if (fill_paths(vn_state_dir(s), name, p, err) < 0)
        return -1;
    if (check_qemu_path("QMP socket path", p->qmp, SOCKET_PATH_MAX, err) < 0 ||
        check_qemu_path("console socket path", p->console, SOCKET_PATH_MAX, err) < 0 ||
        check_qemu_path("VNC socket path", p->vnc, SOCKET_PATH_MAX, err) < 0 ||
        check_qemu_path("watcher's QMP socket path", p->watch, SOCKET_PATH_MAX, err) < 0 ||
        check_qemu_path("console log path", p->console_log, 4000, err) < 0 ||
        check_qemu_path("memory directory", p->mem, 4000, err) < 0)
        return -1;
    return 0;
}

int vn_dom_paths_fresh(const char *state_dir, const char *name, struct vn_dom_paths *p,
                       struct vn_error *err)
{
    return fill_paths(state_dir, name, p, err);
}

const char *vn_dom_record_mem_dir(const struct vn_domain_record *r)
{
    return r->mem_dir;
}

const char *vn_dom_state(const struct vn_domain_record *r)
{
    if (r->status == VN_DOMAIN_CREATING)
        return vn_domain_holds_claim(r) ? "creating" : "dead";
    if (r->status == VN_DOMAIN_PRESERVED)
        return "preserved";
    /* pid and start time can match a process that is not ours (a forged or stale record). */
    if (r->qemu_pid > 0 && vn_domain_alive(r) && vn_dom_is_own_qemu(r))
        return vn_domain_status_name(r->status);
    return "dead";
}

int vn_domain_console_path(const char *state_dir, const char *name, char *buf, size_t len,
                           struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(state_dir, name, &s, &r, err) < 0)
        return -1;
    int rc = 0;
    if (!vn_domain_alive(&r))
        rc = vn_error_set(err,
                          "domain '%s' is not running (its QEMU has exited); remove it with "
                          "'vnuma destroy %s'",
                          name, name);
    else if (!r.console_socket)
        rc = vn_error_set(err, "domain '%s' has no console socket in its record", name);
    else if (snprintf(buf, len, "%s", r.console_socket) >= (int)len)
        rc = vn_error_set(err, "domain '%s': console socket path too long", name);
    vn_domain_record_clear(&r);
    return rc;
}

bool vn_dom_is_own_qemu(const struct vn_domain_record *r)
{
    char want[4200], cmd[65536];
    if (!r->qmp_socket || snprintf(want, sizeof want, "unix:%s,server=on,wait=off",
                                   r->qmp_socket) >= (int)sizeof want)
        return false;
    ssize_t n = vn_proc_read(r->qemu_pid, 0, "cmdline", cmd, sizeof cmd, NULL);
    bool after_qmp = false;
    for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(cmd + i) + 1) {
        if (after_qmp && strcmp(cmd + i, want) == 0)
            return true;
        after_qmp = strcmp(cmd + i, "-qmp") == 0;
    }
    return false;
}

int vn_dom_remove_record_mem_dir(struct vn_state *s, const struct vn_domain_record *r,
                                 struct vn_error *err)
{
    struct vn_dom_memdir m;
    if (vn_dom_memdir_for(vn_state_dir(s), r->name, &m, err) < 0)
        return -1;
    const char *rec = vn_dom_record_mem_dir(r);
    /* vn_dom_vet_record left either the derived dir or a legacy one here. */
    if (rec && strcmp(rec, m.path) != 0)
        return vn_dom_memdir_remove_legacy(rec, err);
    return vn_dom_memdir_remove(&m, err);
}
