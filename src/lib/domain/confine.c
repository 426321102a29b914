/* Who QEMU runs as (the host config's qemu_user/qemu_group when vnuma is root, else the
 * invoking user), and making what QEMU needs reachable by that user and root only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "domain_int.h"

static const char *conf_file(const struct vn_host_conf *hc)
{
    return hc->file && *hc->file ? hc->file : VN_HOST_CONF_DEFAULT_PATH;
}

int vn_dom_qemu_cred_for(const struct vn_host_conf *hc, uid_t euid, struct vn_qemu_cred *out,
                         struct vn_error *err)
{
    bool user_written = hc->loc.qemu_user.line > 0;
    const struct vn_loc *at = &hc->loc.qemu_user;
    const char *key = "qemu_user";
    if (euid != 0 && !user_written) {
        vn_qemu_cred_self(out);
        return 0;
    }
    struct vn_error e2 = {0};
    if (vn_qemu_cred_resolve(hc->qemu_user, hc->qemu_group, out, &e2) < 0) {
        /* Which key was at fault: the resolver's messages name "the QEMU group" for it. */
        if (hc->qemu_group && (strncmp(e2.msg, "the QEMU group", 14) == 0 ||
                               strncmp(e2.msg, "cannot look up the QEMU group", 29) == 0)) {
            at = &hc->loc.qemu_group;
            key = "qemu_group";
        }
        if (at->line > 0)
            return vn_error_set(err, "%s:%d:%d: %s: %s; create it or change %s", conf_file(hc),
                                at->line, at->col, key, e2.msg, key);
        return vn_error_set(err,
                            "%s (QEMU runs as it when vnuma is root); run scripts/setup.sh (or "
                            "install the vnuma package) to create it, or set qemu_user in %s",
                            e2.msg, conf_file(hc));
    }
    if (euid != 0 && out->uid != euid)
        return vn_error_set(err,
                            "%s:%d:%d: qemu_user: '%s' (uid %u) is not the user vnuma runs as "
                            "(uid %u): only root can start QEMU as another user; remove "
                            "qemu_user or run vnuma as root",
                            conf_file(hc), at->line, at->col, out->user, (unsigned)out->uid,
                            (unsigned)euid);
    if (euid != 0)
        out->change = false; /* already that user */
    return 0;
}

int vn_dom_qemu_cred(struct vn_qemu_cred *out, struct vn_error *err)
{
    struct vn_host_conf hc = {0};
    int rc = vn_host_conf_load(&hc, err);
    if (rc == 0)
        rc = vn_dom_qemu_cred_for(&hc, geteuid(), out, err);
    vn_host_conf_clear(&hc);
    return rc;
}

bool vn_dom_confined(const struct vn_qemu_cred *c)
{
    return c->change && c->uid != geteuid();
}

int vn_dom_confine_check(const char *name, const struct vn_qemu_cred *c, const char *const *paths,
                         const char *const *keys, const int *modes, int n, struct vn_error *err)
{
    if (!vn_dom_confined(c) || n == 0)
        return 0;
    int bad = -1;
    struct vn_error e2 = {0};
    if (vn_qemu_cred_access(c, paths, modes, n, &bad, &e2) == 0)
        return 0;
    if (bad < 0) {
        *err = e2;
        return vn_error_prefix(err, "domain '%s'", name);
    }
    /* X_OK is "reach" for a directory, "execute" for a file. */
    struct stat st;
    bool dir = stat(paths[bad], &st) == 0 && S_ISDIR(st.st_mode);
    const char *what = modes[bad] & W_OK   ? "read and write"
                       : modes[bad] & X_OK ? (dir ? "reach" : "execute")
                                           : "read";
    return vn_error_set(err,
                        "domain '%s': QEMU runs as user '%s' (uid %u), which cannot %s %s '%s' "
                        "(%s); give that user access or set qemu_user in the host config",
                        name, c->user, (unsigned)c->uid, what, keys[bad], paths[bad],
                        strerror(e2.errnum ? e2.errnum : EACCES));
}

/* Lets the QEMU group search (not read) dir, ours: group-owned by gid, g+x, nothing for
 * others changed.  Nothing when others may search it already. */
static int open_for_search(const char *dir, gid_t gid, struct vn_error *err)
{
    VN_CLEANUP_CLOSE int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return vn_error_sys(err, errno, "cannot open the directory '%s'", dir);
    if (st.st_uid != geteuid())
        return vn_error_set(err, "the directory '%s' belongs to uid %u, not to vnuma", dir,
                            (unsigned)st.st_uid);
    if ((st.st_mode & 001) || (st.st_gid == gid && (st.st_mode & 010)))
        return 0;
    if (fchown(fd, (uid_t)-1, gid) < 0 || fchmod(fd, (st.st_mode & 0701) | 0010) < 0)
        return vn_error_sys(err, errno, "cannot let group %u search the directory '%s'",
                            (unsigned)gid, dir);
    return 0;
}

int vn_dom_confine_state_dir(struct vn_state *s, const struct vn_qemu_cred *c, struct vn_error *err)
{
    if (!vn_dom_confined(c))
        return 0;
    char run[4096];
    snprintf(run, sizeof run, "%s/run", vn_state_dir(s));
    if (open_for_search(vn_state_dir(s), c->gid, err) < 0 || open_for_search(run, c->gid, err) < 0)
        return -1;
    return 0;
}

int vn_dom_confine_runtime_dir(const char *name, const char *run, const struct vn_qemu_cred *c,
                               struct vn_error *err)
{
    if (!vn_dom_confined(c))
        return 0;
    VN_CLEANUP_CLOSE int fd = open(run, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return vn_error_sys(err, errno, "domain '%s': cannot open its runtime directory '%s'", name,
                            run);
    if (fchown(fd, c->uid, c->gid) < 0 || fchmod(fd, 0700) < 0)
        return vn_error_sys(err, errno,
                            "domain '%s': cannot give its runtime directory '%s' to user '%s'",
                            name, run, c->user);
    return 0;
}
