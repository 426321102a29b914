/* The dir of a domain's vnode memory files, opened safely.
 *
 * Guest RAM lives in these files, so no other user may read them or swap a directory under
 * vnuma between its check and QEMU's open.  The chain is walked with openat(O_NOFOLLOW) from a
 * trusted root and every level is checked (ours, not writable by others); QEMU gets the last
 * dir as an inherited fd (mem-path=/proc/self/fd/N/vnodeK), so no path is looked up twice.
 *
 * Layout: STATE/run/NAME when the state dir's run/ is on tmpfs (it is ours and owner-only),
 * else ROOT/vnuma-UID/st-DEV-INO/NAME with ROOT = $VNUMA_MEM_DIR or /dev/shm: the st-DEV-INO
 * level keys the dir to one state dir, so one name in two state dirs never shares files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "domain_int.h"

static int set_path(char *buf, size_t len, const char *name, struct vn_error *err, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static int set_path(char *buf, size_t len, const char *name, struct vn_error *err, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        return vn_error_set(err, "the memory directory of domain '%s' has too long a path", name);
    return 0;
}

static const char *mem_root(void)
{
    const char *env = getenv("VNUMA_MEM_DIR");
    return env && *env ? env : "/dev/shm";
}

int vn_dom_memdir_for(const char *state_dir, const char *name, struct vn_dom_memdir *m,
                      struct vn_error *err)
{
    memset(m, 0, sizeof *m);
    if (vn_domain_name_check(name, err) < 0)
        return -1;
    char run[4096];
    struct statfs fs;
    if (set_path(run, sizeof run, name, err, "%s/run", state_dir) < 0)
        return -1;
    if (statfs(run, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
        snprintf(m->root, sizeof m->root, "%s", run);
        snprintf(m->level[0], sizeof m->level[0], "%s", name);
        m->nlevels = 1;
        return set_path(m->path, sizeof m->path, name, err, "%s/%s", run, name);
    }
    /* A state dir that does not exist yet (a dry run) has no key: st-0-0 stands for it. */
    struct stat st;
    if (stat(state_dir, &st) < 0)
        memset(&st, 0, sizeof st);
    if (set_path(m->root, sizeof m->root, name, err, "%s", mem_root()) < 0)
        return -1;
    snprintf(m->level[0], sizeof m->level[0], "vnuma-%u", (unsigned)geteuid());
    snprintf(m->level[1], sizeof m->level[1], "st-%ju-%ju", (uintmax_t)st.st_dev,
             (uintmax_t)st.st_ino);
    snprintf(m->level[2], sizeof m->level[2], "%s", name);
    m->nlevels = 3;
    return set_path(m->path, sizeof m->path, name, err, "%s/%s/%s/%s", m->root, m->level[0],
                    m->level[1], m->level[2]);
}

int vn_dom_memdir_legacy(const char *name, char *buf, size_t len, int which)
{
    /* Where versions before the keyed layout put the files of name. */
    const char *env = getenv("VNUMA_MEM_DIR");
    int n = which == 0 ? snprintf(buf, len, "/dev/shm/vnuma-%u/%s", (unsigned)geteuid(), name)
            : which == 1 && env && *env ? snprintf(buf, len, "%s/%s", env, name)
                                        : -1;
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Opens (creating 0700 when create) the dir name under parent without following a link, and
 * checks it is a directory of ours that no one else can write.  given: it may instead belong
 * to another user (the domain's own dir, which create gives to the QEMU user), because its
 * parent is ours and closed to others, so only we can have made it. */
static int open_level(int parent, const char *shown, const char *level, bool create, bool given,
                      struct vn_error *err)
{
    if (create && mkdirat(parent, level, 0700) < 0 && errno != EEXIST)
        return vn_error_sys(err, errno, "cannot create the memory directory '%s/%s'", shown, level);
    int fd = openat(parent, level, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            return vn_error_set(err,
                                "the memory directory '%s/%s' is a symbolic link or not a "
                                "directory; refusing to put guest memory there",
                                shown, level);
        return vn_error_sys(err, errno, "cannot open the memory directory '%s/%s'", shown, level);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return vn_error_sys(err, e, "cannot inspect the memory directory '%s/%s'", shown, level);
    }
    if ((st.st_uid != geteuid() && !given) || (st.st_mode & 022)) {
        close(fd);
        return vn_error_set(err,
                            "the memory directory '%s/%s' belongs to uid %u or is writable by "
                            "others (mode %04o); refusing to put guest memory there",
                            shown, level, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    }
    return fd;
}

static int open_chain(const struct vn_dom_memdir *m, bool create, struct vn_error *err)
{
    /* The root is trusted by configuration (/dev/shm, $VNUMA_MEM_DIR, or our state dir):
     * a world-writable sticky root is fine because the first level below it must be ours. */
    int fd = open(m->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot open the memory root '%s'", m->root);
    char shown[4096];
    snprintf(shown, sizeof shown, "%s", m->root);
    /* Every level below the first was checked ours and closed; the root only when it is. */
    struct stat rs;
    bool parent_closed = fstat(fd, &rs) == 0 && rs.st_uid == geteuid() && !(rs.st_mode & 022);
    for (int i = 0; i < m->nlevels; i++) {
        bool given = i == m->nlevels - 1 && (i > 0 || parent_closed);
        int next = open_level(fd, shown, m->level[i], create, given, err);
        close(fd);
        if (next < 0)
            return -1;
        fd = next;
        size_t l = strlen(shown);
        snprintf(shown + l, sizeof shown - l, "/%s", m->level[i]);
    }
    return fd;
}

int vn_dom_memdir_open(const struct vn_dom_memdir *m, bool create, struct vn_error *err)
{
    /* A destroy removes an empty key level; a create that opened it just before finds it
     * gone (ENOENT) and walks the chain again. */
    for (int tries = 0;; tries++) {
        struct vn_error e2 = {0};
        int fd = open_chain(m, create, &e2);
        if (fd >= 0 || !create || e2.errnum != ENOENT || tries == 3) {
            if (fd < 0 && err)
                *err = e2;
            return fd;
        }
    }
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

/* Unlinks the vnodeN files of the open dir dirfd (shown as path). */
static int remove_vnode_files(int dirfd, const char *path, struct vn_error *err)
{
    /* A new open file description: a dup would share (and leave at the end) the offset. */
    int dup = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0)
        return vn_error_sys(err, errno, "cannot read the memory directory '%s'", path);
    DIR *d = fdopendir(dup);
    if (!d) {
        int e = errno;
        close(dup);
        return vn_error_sys(err, e, "cannot read the memory directory '%s'", path);
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_vnode_file(e->d_name))
            continue;
        if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT) {
            rc = vn_error_sys(err, errno, "cannot remove the memory file '%s/%s'", path, e->d_name);
            break;
        }
    }
    closedir(d);
    return rc;
}

int vn_dom_memdir_make_files(int dirfd, const char *path, int nvnodes, struct vn_error *err)
{
    /* Files left by an earlier create of this domain in this very dir (it crashed before its
     * clean-up) are ours: QEMU must not reuse their contents. */
    if (remove_vnode_files(dirfd, path, err) < 0)
        return -1;
    for (int i = 0; i < nvnodes; i++) {
        char f[32];
        snprintf(f, sizeof f, "vnode%d", i);
        int fd = openat(dirfd, f, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return vn_error_sys(err, errno, "cannot create the memory file '%s/%s'", path, f);
        close(fd);
    }
    return 0;
}

int vn_dom_memdir_give(int dirfd, const char *path, int nvnodes, uid_t uid, gid_t gid,
                       struct vn_error *err)
{
    for (int i = 0; i < nvnodes; i++) {
        char f[32];
        snprintf(f, sizeof f, "vnode%d", i);
        int fd = openat(dirfd, f, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return vn_error_sys(err, errno, "cannot open the memory file '%s/%s'", path, f);
        struct stat st;
        int rc = fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fchown(fd, uid, gid) < 0 ||
                         fchmod(fd, 0600) < 0
                     ? -1
                     : 0;
        int e = errno;
        close(fd);
        if (rc < 0)
            return vn_error_sys(err, e ? e : EINVAL,
                                "cannot give the memory file '%s/%s' to uid %u", path, f,
                                (unsigned)uid);
    }
    if (fchown(dirfd, uid, gid) < 0 || fchmod(dirfd, 0700) < 0)
        return vn_error_sys(err, errno, "cannot give the memory directory '%s' to uid %u", path,
                            (unsigned)uid);
    return 0;
}

int vn_dom_memdir_check_room(int dirfd, const char *path, uint64_t need_mib, struct vn_error *err)
{
    /* QEMU maps sparse files: without room the guest dies of SIGBUS at its first touch of the
     * missing memory, long after create said "started". */
    struct statvfs st;
    if (fstatvfs(dirfd, &st) < 0)
        return vn_error_sys(err, errno, "cannot read the free space of the memory directory '%s'",
                            path);
    if (st.f_blocks == 0) /* no size limit (tmpfs with size=0) */
        return 0;
    uint64_t free_mib = (uint64_t)st.f_bavail * st.f_frsize >> 20;
    if (free_mib < need_mib)
        return vn_error_set(err,
                            "the memory directory '%s' has %llu MiB free on its file system, the "
                            "guest's memory needs %llu MiB",
                            path, (unsigned long long)free_mib, (unsigned long long)need_mib);
    return 0;
}

int vn_dom_memdir_remove(const struct vn_dom_memdir *m, struct vn_error *err)
{
    struct vn_error e2 = {0};
    int fd = vn_dom_memdir_open(m, false, &e2);
    if (fd < 0) {
        if (e2.errnum == ENOENT)
            return 0;
        *err = e2;
        return -1;
    }
    int rc = remove_vnode_files(fd, m->path, err);
    close(fd);
    if (rc < 0)
        return -1;
    /* The runtime dir doubles as the memory dir on tmpfs: state/ removes that one. */
    if (m->nlevels == 1)
        return 0;
    struct vn_dom_memdir parent = *m;
    parent.nlevels--;
    fd = vn_dom_memdir_open(&parent, false, err);
    if (fd < 0)
        return -1;
    if (unlinkat(fd, m->level[m->nlevels - 1], AT_REMOVEDIR) < 0 && errno != ENOENT &&
        errno != ENOTEMPTY)
        rc = vn_error_sys(err, errno, "cannot remove the memory directory '%s'", m->path);
    close(fd);
    /* The state dir's key level goes with its last domain (ENOTEMPTY: others remain; a create
     * racing with this rmdir walks its chain again). */
    if (rc == 0 && m->nlevels == 3) {
        parent.nlevels--;
        fd = vn_dom_memdir_open(&parent, false, NULL);
        if (fd >= 0) {
            unlinkat(fd, m->level[1], AT_REMOVEDIR);
            close(fd);
        }
    }
    return rc;
}

int vn_dom_memdir_remove_legacy(const char *path, struct vn_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : vn_error_sys(err, errno, "cannot open the memory directory '%s'", path);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid())
        rc = vn_error_set(err, "the memory directory '%s' is not ours; left alone", path);
    else
        rc = remove_vnode_files(fd, path, err);
    close(fd);
    if (rc == 0 && rmdir(path) < 0 && errno != ENOENT && errno != ENOTEMPTY)
        rc = vn_error_sys(err, errno, "cannot remove the memory directory '%s'", path);
    return rc;
}
