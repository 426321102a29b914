/* Where a domain's files live: the state dir, its runtime dir, and the dir of its vnode memory
 * files, which must be on a shared-memory file system (tmpfs) so QEMU can map them shared
 * without writing the guest's memory to a disk. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "domain_int.h"

/* sun_path of a UNIX socket holds 107 bytes and a NUL. */
#define SOCKET_PATH_MAX 107

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
    return 0;
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

/* The memory dir of name; the runtime dir under state_dir is a candidate only when
 * use_run (its parent must exist to be checked for tmpfs). */
static int mem_dir(const char *state_dir, bool use_run, const char *name, char *buf, size_t len,
                   struct vn_error *err)
{
    const char *env = getenv("VNUMA_MEM_DIR");
    int n;
    if (env && *env) {
        n = snprintf(buf, len, "%s/%s", env, name);
    } else {
        char run[4096];
        struct statfs fs;
        if (vn_state_runtime_path_in(state_dir, name, NULL, run, sizeof run, err) < 0)
            return -1;
        /* The runtime dir's parent exists (the state dir's run/); the dir itself may not yet. */
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/run", state_dir);
        if (use_run && statfs(parent, &fs) == 0 && fs.f_type == TMPFS_MAGIC)
            n = snprintf(buf, len, "%s", run);
        else
            n = snprintf(buf, len, "/dev/shm/vnuma-%u/%s", (unsigned)geteuid(), name);
    }
    if (n < 0 || (size_t)n >= len)
        return vn_error_set(err, "the memory directory of domain '%s' has too long a path.", name);
    return 0;
}

int vn_dom_mem_dir(struct vn_state *s, const char *name, char *buf, size_t len,
                   struct vn_error *err)
{
    return mem_dir(vn_state_dir(s), true, name, buf, len, err);
}

/* Every path of p for the state dir at state_dir; use_run as for mem_dir. */
static int fill_paths(const char *dir, bool use_run, const char *name, struct vn_dom_paths *p,
                      struct vn_error *err)
{
    memset(p, 0, sizeof *p);
    if (vn_state_runtime_path_in(dir, name, NULL, p->run, sizeof p->run, err) < 0 ||
        vn_state_runtime_path_in(dir, name, "qmp.sock", p->qmp, sizeof p->qmp, err) < 0 ||
        vn_state_runtime_path_in(dir, name, "console.sock", p->console, sizeof p->console, err) <
            0 ||
        vn_state_runtime_path_in(dir, name, "console.log", p->console_log, sizeof p->console_log,
                                 err) < 0 ||
        vn_state_runtime_path_in(dir, name, "qemu.log", p->log, sizeof p->log, err) < 0)
        return -1;
    return mem_dir(dir, use_run, name, p->mem, sizeof p->mem, err);
}

int vn_dom_paths(struct vn_state *s, const char *name, struct vn_dom_paths *p, struct vn_error *err)
{
    if (fill_paths(vn_state_dir(s), true, name, p, err) < 0)
        return -1;
    if (check_qemu_path("QMP socket path", p->qmp, SOCKET_PATH_MAX, err) < 0 ||
        check_qemu_path("console socket path", p->console, SOCKET_PATH_MAX, err) < 0 ||
        check_qemu_path("console log path", p->console_log, 4000, err) < 0 ||
        check_qemu_path("memory directory", p->mem, 4000, err) < 0)
        return -1;
    return 0;
}

int vn_dom_paths_fresh(const char *state_dir, const char *name, struct vn_dom_paths *p,
                       struct vn_error *err)
{
    return fill_paths(state_dir, false, name, p, err);
}

/* mkdir 0700, or accept an existing real dir owned by us and closed to others. */
static int own_dir(const char *path, struct vn_error *err)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return vn_error_sys(err, errno, "cannot create the memory directory '%s'", path);
    struct stat st;
    if (lstat(path, &st) < 0)
        return vn_error_sys(err, errno, "cannot inspect the memory directory '%s'", path);
    if (!S_ISDIR(st.st_mode))
        return vn_error_set(err, "the memory directory '%s' exists and is not a directory.", path);
    if (st.st_uid != geteuid() || (st.st_mode & 022))
        return vn_error_set(err,
                            "the memory directory '%s' belongs to uid %u or is writable by "
                            "others (mode %04o); refusing to put guest memory there.",
                            path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    return 0;
}

int vn_dom_make_mem_dir(const char *mem_dir, struct vn_error *err)
{
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", mem_dir);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return vn_error_set(err, "the memory directory '%s' has no parent.", mem_dir);
    *slash = '\0';
    struct stat st;
    if (stat(parent, &st) < 0) {
        if (errno != ENOENT)
            return vn_error_sys(err, errno, "cannot inspect the memory base '%s'", parent);
        /* The per-user base (/dev/shm/vnuma-UID) is ours to create, and closed to others. */
        if (own_dir(parent, err) < 0)
            return -1;
    } else if (!S_ISDIR(st.st_mode)) {
        return vn_error_set(err, "the memory base '%s' is not a directory.", parent);
    }
    return own_dir(mem_dir, err);
}

/* "vnode" followed by digits only: the only files domain/ ever creates in a memory dir. */
static bool is_vnode_file(const char *n)
{
    if (strncmp(n, "vnode", 5) != 0 || !n[5])
        return false;
    for (const char *c = n + 5; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

int vn_dom_remove_mem_dir(const char *mem_dir, struct vn_error *err)
{
    if (!mem_dir || mem_dir[0] != '/')
        return 0;
    DIR *d = opendir(mem_dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return vn_error_sys(err, errno, "cannot open the memory directory '%s'", mem_dir);
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_vnode_file(e->d_name))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
            rc = vn_error_sys(err, errno, "cannot remove the memory file '%s/%s'", mem_dir,
                              e->d_name);
            break;
        }
    }
    closedir(d);
    if (rc < 0)
        return -1;
    /* The runtime dir doubles as the memory dir on tmpfs: state/ removes that one. */
    if (rmdir(mem_dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
        return vn_error_sys(err, errno, "cannot remove the memory directory '%s'", mem_dir);
    return 0;
}

const char *vn_dom_record_mem_dir(const struct vn_domain_record *r)
{
    struct json_object *v = NULL;
    if (!r->extra || !json_object_object_get_ex(r->extra, "mem_dir", &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

const char *vn_dom_state(const struct vn_domain_record *r)
{
    if (r->status == VN_DOMAIN_CREATING)
        return vn_domain_holds_claim(r) ? "creating" : "dead";
    if (r->qemu_pid > 0 && vn_domain_alive(r))
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
