/* Resolving and taking on the credentials QEMU runs with (cred.h). */
#include "cred.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/cleanup.h"

#define NSS_BUF_MAX (1 << 20)

/* getpwnam_r / getgrnam_r with a buffer that grows on ERANGE. */
static int lookup_user(const char *user, struct passwd *pw, char **buf, int *errnum)
{
    size_t len = 1024;
    struct passwd *res = NULL;
    for (;;) {
        char *b = realloc(*buf, len);
        if (!b)
            return *errnum = ENOMEM, -1;
        *buf = b;
        int e = getpwnam_r(user, pw, b, len, &res);
        if (e == ERANGE && len < NSS_BUF_MAX) {
            len *= 2;
            continue;
        }
        *errnum = e;
        return res ? 0 : -1;
    }
}

static int lookup_group(const char *group, struct group *gr, char **buf, int *errnum)
{
    size_t len = 1024;
    struct group *res = NULL;
    for (;;) {
        char *b = realloc(*buf, len);
        if (!b)
            return *errnum = ENOMEM, -1;
        *buf = b;
        int e = getgrnam_r(group, gr, b, len, &res);
        if (e == ERANGE && len < NSS_BUF_MAX) {
            len *= 2;
            continue;
        }
        *errnum = e;
        return res ? 0 : -1;
    }
}

int vn_qemu_cred_resolve(const char *user, const char *group, struct vn_qemu_cred *c,
                         struct vn_error *err)
{
    memset(c, 0, sizeof *c);
    if (!user || !*user || strlen(user) >= sizeof c->user)
        return vn_error_set(err, "the QEMU user '%s' is not a valid user name", user ? user : "");
    if (group && (!*group || strlen(group) >= sizeof c->group))
        return vn_error_set(err, "the QEMU group '%s' is not a valid group name", group);
    VN_CLEANUP_FREE char *buf = NULL;
    struct passwd pw;
    int e = 0;
    if (lookup_user(user, &pw, &buf, &e) < 0) {
        if (e && e != ENOENT && e != ESRCH)
            return vn_error_sys(err, e, "cannot look up the QEMU user '%s'", user);
        return vn_error_set(err, "the QEMU user '%s' does not exist", user);
    }
    c->uid = pw.pw_uid;
    c->gid = pw.pw_gid;
    snprintf(c->user, sizeof c->user, "%s", user);
    if (group) {
        struct group gr;
        if (lookup_group(group, &gr, &buf, &e) < 0) {
            if (e && e != ENOENT && e != ESRCH)
                return vn_error_sys(err, e, "cannot look up the QEMU group '%s'", group);
            return vn_error_set(err, "the QEMU group '%s' does not exist", group);
        }
        c->gid = gr.gr_gid;
        snprintf(c->group, sizeof c->group, "%s", group);
    } else {
        struct group gr, *res = NULL;
        char gbuf[4096];
        if (getgrgid_r(c->gid, &gr, gbuf, sizeof gbuf, &res) == 0 && res &&
            strlen(gr.gr_name) < sizeof c->group)
            snprintf(c->group, sizeof c->group, "%s", gr.gr_name);
        else
            snprintf(c->group, sizeof c->group, "%u", (unsigned)c->gid);
    }
    /* The user's own groups (kvm for /dev/kvm), with the chosen primary group first. */
    int n = VN_QEMU_CRED_MAX_GROUPS - 1;
    gid_t g[VN_QEMU_CRED_MAX_GROUPS];
    if (getgrouplist(user, c->gid, g, &n) < 0)
        return vn_error_set(err, "the QEMU user '%s' is in more than %d groups", user,
                            VN_QEMU_CRED_MAX_GROUPS - 1);
    c->groups[c->ngroups++] = c->gid;
    for (int i = 0; i < n; i++)
        if (g[i] != c->gid)
            c->groups[c->ngroups++] = g[i];
    c->change = true;
    return 0;
}

void vn_qemu_cred_self(struct vn_qemu_cred *c)
{
    memset(c, 0, sizeof *c);
    c->uid = geteuid();
    c->gid = getegid();
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(c->uid, &pw, buf, sizeof buf, &res) == 0 && res &&
        strlen(pw.pw_name) < sizeof c->user)
        snprintf(c->user, sizeof c->user, "%s", pw.pw_name);
    else
        snprintf(c->user, sizeof c->user, "%u", (unsigned)c->uid);
    snprintf(c->group, sizeof c->group, "%u", (unsigned)c->gid);
}

int vn_qemu_cred_apply(const struct vn_qemu_cred *c)
{
    if (!c || !c->change)
        return 0;
    /* Groups first: after setuid the process may no longer change them. */
    if (setgroups((size_t)c->ngroups, c->groups) < 0)
        return errno ? errno : EPERM;
    if (setresgid(c->gid, c->gid, c->gid) < 0)
        return errno ? errno : EPERM;
    if (setresuid(c->uid, c->uid, c->uid) < 0)
        return errno ? errno : EPERM;
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return errno ? errno : EPERM;
    if (ru != c->uid || eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid ||
        sg != c->gid)
        return EPERM;
    /* Root must be out of reach again: a setuid(0) that works means the drop did not. */
    if (c->uid != 0 && setuid(0) == 0)
        return EPERM;
    return 0;
}

struct access_report {
    int index; /* -1: could not become c */
    int errnum;
};

int vn_qemu_cred_access(const struct vn_qemu_cred *c, const char *const *paths, const int *modes,
                        int n, int *bad, struct vn_error *err)
{
    *bad = -1;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return vn_error_sys(err, errno, "cannot check what QEMU's user '%s' may read", c->user);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return vn_error_sys(err, e, "cannot check what QEMU's user '%s' may read", c->user);
    }
    if (pid == 0) {
        /* Async-signal-safe calls only: the parent may have threads. */
        close(p[0]);
        struct access_report rep = {-1, vn_qemu_cred_apply(c)};
        if (rep.errnum == 0) {
            for (int i = 0; i < n; i++)
                if (access(paths[i], modes[i]) < 0) {
                    rep = (struct access_report){i, errno};
                    break;
                }
            if (rep.index < 0)
                rep.errnum = 0;
        }
        ssize_t w = write(p[1], &rep, sizeof rep);
        _exit(w == (ssize_t)sizeof rep ? 0 : 1);
    }
    close(p[1]);
    struct access_report rep = {-1, 0};
    ssize_t r;
    do
        r = read(p[0], &rep, sizeof rep);
    while (r < 0 && errno == EINTR);
    int e = errno;
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (r != (ssize_t)sizeof rep)
        return vn_error_sys(err, r < 0 ? e : EIO, "cannot check what QEMU's user '%s' may read",
                            c->user);
    if (rep.index < 0 && rep.errnum)
        return vn_error_sys(err, rep.errnum, "cannot take on the QEMU user '%s' (uid %u)", c->user,
                            (unsigned)c->uid);
    if (rep.index >= 0) {
        *bad = rep.index;
        return vn_error_sys(err, rep.errnum, "'%s'", paths[rep.index]);
    }
    return 0;
}

bool vn_qemu_cred_may_read(const struct vn_qemu_cred *c, const struct stat *st)
{
    if (st->st_uid == c->uid)
        return st->st_mode & S_IRUSR;
    for (int i = 0; i < c->ngroups; i++)
        if (c->groups[i] == st->st_gid)
            return st->st_mode & S_IRGRP;
    return st->st_gid == c->gid ? st->st_mode & S_IRGRP : st->st_mode & S_IROTH;
}
