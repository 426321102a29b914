#include "accel.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "cred.h"
#include "launch.h"
#include "../util/clock.h"

#define PROBE_MARK    "VNUMA-PROBE-JSON:"
#define PROBE_POLL_MS 50
/* 2: the verdict carries its CPU model. */
#define CACHE_FORMAT "vnuma-accel-cache 2"
/* What QEMU 7.2 prints before its assertion when the host kernel refuses the write. */
#define MSR_ARCH_CAPS_FAILURE "failed to set MSR 0x10a"

const char *vn_accel_cpu(const struct vn_accel_result *r)
{
    if (r->cpu[0])
        return r->cpu;
    return r->accel == VN_ACCEL_KVM ? "host" : "max";
}

void vn_accel_qemu_args(const struct vn_accel_result *r, const char *out[5])
{
    int n = 0;
    if (r->accel == VN_ACCEL_KVM) {
        out[n++] = "-enable-kvm";
    } else {
        out[n++] = "-accel";
        out[n++] = "tcg,thread=multi";
    }
    out[n++] = "-cpu";
    out[n++] = vn_accel_cpu(r);
    out[n] = NULL;
}

const char *vn_accel_name(enum vn_accel accel)
{
    return accel == VN_ACCEL_KVM ? "kvm" : "tcg";
}

/* Sets the verdict's sentence; a very long log path may cut it, which is fine. */
static void set_reason(struct vn_accel_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_reason(struct vn_accel_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

/* True when the file contains needle (the probe log is a few KiB with "quiet"). */
static bool file_contains(const char *path, const char *needle)
{
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return false;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

/* Everything the verdict depends on; a change in any of them runs the probe again. */
static int cache_key(const char *qemu, const char *kernel, const struct stat *kvm, uid_t uid,
                     char *key, size_t len, struct vn_error *err)
{
    char version[256];
    if (vn_qemu_version(qemu, version, sizeof version, err) < 0)
        return -1;
    /* The initramfs is left out on purpose: rebuilding it does not change what KVM can do. */
    struct stat ks;
    if (stat(kernel, &ks) < 0)
        return vn_error_sys(err, errno, "cannot read the guest kernel '%s'", kernel);
    struct utsname u;
    uname(&u);
    /* The user QEMU runs as counts: /dev/kvm may be open to root and not to it. */
    int n = snprintf(key, len, "kernel=%s:%lld:%lld qemu=%s:%s kvm=%llx host=%s %s uid=%u", kernel,
                     (long long)ks.st_size, (long long)ks.st_mtime, qemu, version,
                     (unsigned long long)kvm->st_rdev, u.release, u.version, (unsigned)uid);
    if (n < 0 || (size_t)n >= len)
        return vn_error_set(
            err, "the paths of QEMU '%s' and of the guest kernel '%s' are too long.", qemu, kernel);
    return 0;
}

/* The cache file's name in the cache directory: accel-HASH of the key. */
static void cache_file(const char *key, char *name, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(name, len, "accel-%016llx", (unsigned long long)h);
}

/* Opens the cache directory, creating it 0700.  It holds a verdict create trusts and a log
 * it writes, so it must be a real directory (no symlink) of ours that nobody else can write;
 * otherwise -1 with errno (ENOTDIR, EPERM) and the cache is not used. */
static int cache_dir_open(const char *cache_dir)
{
    if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
        return -1;
    int fd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* Opens name in dir for reading when it is a regular file of ours (no symlink), else -1. */
static int open_own_file(int dir, const char *name)
{
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* Fills out from the cache file when it holds a verdict for exactly this key. */
static bool cache_read(int dir, const char *name, const char *key, struct vn_accel_result *out)
{
    int fd = open_own_file(dir, name);
    if (fd < 0)
        return false;
    VN_CLEANUP_FILE FILE *f = fdopen(fd, "re");
    if (!f) {
        close(fd);
        return false;
    }
    char line[2048];
    bool format = false, key_ok = false, accel_ok = false, cpu_ok = false, reason_ok = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, CACHE_FORMAT) == 0)
            format = true;
        else if (strncmp(line, "key=", 4) == 0)
            key_ok = strcmp(line + 4, key) == 0;
        else if (strcmp(line, "accel=kvm") == 0 || strcmp(line, "accel=tcg") == 0) {
            out->accel = line[6] == 'k' ? VN_ACCEL_KVM : VN_ACCEL_TCG;
            accel_ok = true;
        } else if (strncmp(line, "cpu=", 4) == 0 && strlen(line + 4) < sizeof out->cpu) {
            snprintf(out->cpu, sizeof out->cpu, "%s", line + 4);
            cpu_ok = true;
        } else if (strncmp(line, "reason=", 7) == 0) {
            set_reason(out, "%s", line + 7);
            reason_ok = true;
        }
    }
    return format && key_ok && accel_ok && cpu_ok && reason_ok;
}

/* Writes text as dir/name atomically: a new file of ours (O_EXCL, 0600, never through a
 * symlink) renamed over the old one, so a planted link or another user's file is replaced, not
 * written through.  0, or -1 with errno. */
static int write_file_at(int dir, const char *name, const char *text, size_t len)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", name, (int)getpid());
    unlinkat(dir, tmp, 0);
    VN_CLEANUP_CLOSE int fd =
        openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return -1;
    struct stat st;
    int saved = 0;
    if (fstat(fd, &st) < 0)
        saved = errno;
    else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
        saved = EPERM;
    for (size_t off = 0; !saved && off < len;) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            saved = n < 0 ? errno : EIO;
        else
            off += (size_t)n;
    }
    if (!saved && fsync(fd) < 0)
        saved = errno;
    if (!saved && renameat(dir, tmp, dir, name) < 0)
        saved = errno;
    if (saved) {
        unlinkat(dir, tmp, 0);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Writes the verdict; a failure is reported in the reason, not as an error, since the verdict
 * itself is sound. */
static void cache_write(int dir, const char *cache_dir, const char *name, const char *key,
                        struct vn_accel_result *r)
{
    char text[4096];
    int n = snprintf(text, sizeof text, CACHE_FORMAT "\nkey=%s\naccel=%s\ncpu=%s\nreason=%s\n", key,
                     vn_accel_name(r->accel), vn_accel_cpu(r), r->reason);
    int saved = 0;
    if (n < 0 || (size_t)n >= sizeof text)
        saved = ENAMETOOLONG;
    else if (write_file_at(dir, name, text, (size_t)n) < 0)
        saved = errno;
    if (saved) {
        size_t len = strlen(r->reason);
        snprintf(r->reason + len, sizeof r->reason - len,
                 " The verdict could not be cached in '%s': %s.", cache_dir, strerror(saved));
    }
}

/* Copies the probe's log from its private directory into the cache directory, for whoever
 * wonders why KVM was refused.  False when it could not. */
static bool keep_log(const char *log, int dir, const char *name)
{
    static char buf[1 << 20];
    VN_CLEANUP_CLOSE int fd = open(log, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf);
    return n >= 0 && write_file_at(dir, name, buf, (size_t)n) == 0;
}

/* The probe's private directory, mkdtemp'd 0700 under $TMPDIR: QEMU's log is opened there by
 * name, which no other user can redirect.  Removed on every return path (VN_CLEANUP). */
struct probe_dir {
    char path[4096];
    bool made;
};

static void probe_dir_remove(struct probe_dir *d)
{
    if (!d->made)
        return;
    int saved = errno;
    DIR *dir = opendir(d->path);
    if (dir) {
        int dfd = dirfd(dir);
        struct dirent *e;
        /* Only QEMU's log is expected; whatever else appeared goes too (bounded: one pass). */
        while ((e = readdir(dir)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dfd, e->d_name, 0);
        closedir(dir);
    }
    rmdir(d->path);
    d->made = false;
    errno = saved;
}

/* Opens path for the probe QEMU that runs as cred: *fd and arg ("/proc/self/fd/N") when
 * cred may read the file by its mode, else -1 with err naming the user and the file. */
static int open_probe_file(const struct vn_qemu_cred *cred, const char *path, int *fd, char *arg,
                           struct vn_error *err)
{
    struct stat st;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, &st) < 0)
        return vn_error_sys(err, errno, "cannot probe KVM: '%s' cannot be opened", path);
    snprintf(arg, 32, "/proc/self/fd/%d", *fd);
    if (!vn_qemu_cred_may_read(cred, &st))
        return vn_error_set(err,
                            "cannot probe KVM: QEMU's user '%s' (uid %u) cannot read '%s' (owner "
                            "%u, group %u, mode %04o)",
                            cred->user, (unsigned)cred->uid, path, (unsigned)st.st_uid,
                            (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
    return 0;
}

/* Boots the probe guest with KVM and -cpu cpu, QEMU's output in log, keep (nkeep fds) open in
 * QEMU; fills r with the verdict, naming kept (where the log will be kept, "" for nowhere).
 * -1 only when QEMU did not start. */
static int probe_boot(const char *qemu, const char *kernel, const char *initramfs, const char *cpu,
                      const int *keep, int nkeep, const char *log, const char *kept,
                      const struct vn_qemu_cred *cred, struct vn_accel_result *r,
                      struct vn_error *err)
{
    /* The domain's sandbox (domain/argv.c): the probe tells what that QEMU can do. */
    const char *argv[] = {qemu,
                          "-sandbox",
                          "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
                          "-enable-kvm",
                          "-cpu",
                          cpu,
                          "-machine",
                          "q35",
                          "-m",
                          "256M",
                          "-smp",
                          "1",
                          "-nographic",
                          "-no-reboot",
                          "-nic",
                          "none",
                          "-kernel",
                          kernel,
                          "-initrd",
                          initramfs,
                          "-append",
                          "console=ttyS0 panic=-1 quiet vnuma.probe=json",
                          NULL};
    struct vn_qemu_proc proc;
    if (vn_qemu_spawn_held_as(argv, log, keep, nkeep, cred, &proc, err) < 0 ||
        vn_qemu_release(&proc, qemu, err) < 0)
        return vn_error_prefix(err, "cannot run the KVM probe guest");

    long long start = vn_clock_ms(), deadline = start + VN_ACCEL_PROBE_DEADLINE_MS;
    int status = 0, exited = 0;
    bool answered = false;
    while (!answered && !exited && vn_clock_ms() < deadline) {
        exited = vn_qemu_wait_exit(proc.pid, PROBE_POLL_MS, &status, NULL);
        if (exited < 0)
            break;
        answered = file_contains(log, PROBE_MARK);
    }
    double secs = (double)(vn_clock_ms() - start) / 1000.0;
    /* The guest powers itself off after answering; give it a moment, then make sure. */
    if (exited != 1 && vn_qemu_wait_exit(proc.pid, answered ? 2000 : 0, &status, NULL) != 1)
        vn_qemu_kill(proc.pid, 1000);

    /* Two lines: QEMU often states the cause ("failed to set MSR 0x10a") just before the
     * assertion or abort that ends it. */
    char tail[400];
    vn_qemu_log_tail(log, 2, tail, sizeof tail);
    char where[4300] = "";
    if (*kept)
        snprintf(where, sizeof where, " (log '%s')", kept);
    r->cpu[0] = '\0';
    if (answered) {
        r->accel = VN_ACCEL_KVM;
        snprintf(r->cpu, sizeof r->cpu, "%s", cpu);
        set_reason(r, "A KVM probe guest reached its userspace in %.1f s; using KVM with -cpu %s.",
                   secs, cpu);
    } else if (exited == 1) {
        char how[128];
        vn_qemu_describe_status(status, how, sizeof how);
        r->accel = VN_ACCEL_TCG;
        set_reason(r, "KVM probe boot failed: QEMU %s: %s%s; using TCG.", how,
                   *tail ? tail : "no output", where);
    } else {
        r->accel = VN_ACCEL_TCG;
        set_reason(r,
                   "KVM probe boot failed: the guest did not answer within %d s, last output: "
                   "%s%s; using TCG.",
                   VN_ACCEL_PROBE_DEADLINE_MS / 1000, *tail ? tail : "none", where);
    }
    return 0;
}

int vn_accel_probe(const char *kernel, const char *initramfs, const char *cache_dir,
                   struct vn_accel_result *out, struct vn_error *err)
{
    return vn_accel_probe_as(kernel, initramfs, cache_dir, NULL, out, err);
}

int vn_accel_probe_as(const char *kernel, const char *initramfs, const char *cache_dir,
                      const struct vn_qemu_cred *cred, struct vn_accel_result *out,
                      struct vn_error *err)
{
    memset(out, 0, sizeof *out);
    bool as_other = cred && cred->change && cred->uid != geteuid();
    char qemu[4096];
    if (vn_qemu_find_binary(qemu, sizeof qemu, err) < 0)
        return -1;

    /* Without a usable /dev/kvm there is nothing to probe, and nothing worth caching. */
    VN_CLEANUP_CLOSE int kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    struct stat kvm;
    if (kvm_fd < 0 || fstat(kvm_fd, &kvm) < 0) {
        out->accel = VN_ACCEL_TCG;
        set_reason(out, "'/dev/kvm' cannot be opened: %s; using TCG.", strerror(errno));
        return 0;
    }
    /* What counts is whether QEMU's own user can open it.  The probe's kernel and initramfs
     * are opened here and QEMU reads them through the descriptors, as a domain's are
     * (domain/create.c): only the files' own modes must let that user read them. */
    VN_CLEANUP_CLOSE int kernel_fd = -1;
    VN_CLEANUP_CLOSE int initramfs_fd = -1;
    char boot_arg[2][32];
    if (as_other) {
        const char *paths[] = {"/dev/kvm"};
        int modes[] = {R_OK | W_OK}, bad = -1;
        struct vn_error e2 = {0};
        if (vn_qemu_cred_access(cred, paths, modes, 1, &bad, &e2) < 0) {
            if (bad == 0) {
                out->accel = VN_ACCEL_TCG;
                set_reason(out,
                           "'/dev/kvm' cannot be opened by QEMU's user '%s': %s (add it to the "
                           "group 'kvm'); using TCG.",
                           cred->user, strerror(e2.errnum));
                return 0;
            }
            *err = e2;
            return vn_error_prefix(err, "cannot probe KVM");
        }
        if (open_probe_file(cred, kernel, &kernel_fd, boot_arg[0], err) < 0 ||
            open_probe_file(cred, initramfs, &initramfs_fd, boot_arg[1], err) < 0)
            return -1;
    }

    /* A probe that fails for want of its files would wrongly condemn KVM, and be cached. */
    if (access(kernel, R_OK) < 0)
        return vn_error_sys(err, errno, "cannot probe KVM: the guest kernel '%s' cannot be read",
                            kernel);
    if (access(initramfs, R_OK) < 0)
        return vn_error_sys(err, errno, "cannot probe KVM: the guest initramfs '%s' cannot be read",
                            initramfs);
    char key[2048];
    if (cache_key(qemu, kernel, &kvm, as_other ? cred->uid : geteuid(), key, sizeof key, err) < 0)
        return vn_error_prefix(err, "cannot probe KVM");
    char cname[64] = "";
    VN_CLEANUP_CLOSE int cdir = -1;
    int cache_errno = 0;
    if (cache_dir) {
        cache_file(key, cname, sizeof cname);
        cdir = cache_dir_open(cache_dir);
        if (cdir < 0)
            cache_errno = errno;
        else if (cache_read(cdir, cname, key, out)) {
            out->from_cache = true;
            return 0;
        }
    }

    /* QEMU writes its log into a private directory that is always removed; the log is then
     * kept next to the cache, if there is a usable one. */
    VN_CLEANUP(probe_dir_remove) struct probe_dir pd = {.made = false};
    const char *tmpdir = getenv("TMPDIR");
    snprintf(pd.path, sizeof pd.path, "%s/vnuma-accel-probe.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(pd.path))
        return vn_error_sys(err, errno, "cannot create a temporary directory '%s'", pd.path);
    pd.made = true;
    char log[4200], kept[4200] = "";
    snprintf(log, sizeof log, "%s/qemu.log", pd.path);
    if (cdir >= 0)
        snprintf(kept, sizeof kept, "%s/accel-probe.log", cache_dir);
    const char *k = as_other ? boot_arg[0] : kernel, *i = as_other ? boot_arg[1] : initramfs;
    int boot_fd[] = {kernel_fd, initramfs_fd}, nkeep = as_other ? 2 : 0;
    if (probe_boot(qemu, k, i, "host", boot_fd, nkeep, log, kept, cred, out, err) < 0)
        return -1;
    /* QEMU 7.2 asserts when the host kernel refuses the guest's IA32_ARCH_CAPABILITIES; the
     * same KVM works without that MSR, so one more probe tries the model that drops it. */
    if (out->accel != VN_ACCEL_KVM && file_contains(log, MSR_ARCH_CAPS_FAILURE)) {
        snprintf(log, sizeof log, "%s/qemu-retry.log", pd.path);
        struct vn_accel_result retry = {0};
        if (probe_boot(qemu, k, i, VN_ACCEL_CPU_NO_ARCH_CAPS, boot_fd, nkeep, log, kept, cred,
                       &retry, err) < 0)
            return -1;
        out->accel = retry.accel;
        snprintf(out->cpu, sizeof out->cpu, "%s", retry.cpu);
        set_reason(
            out,
            "With -cpu host QEMU failed to set MSR 0x10a (the host kernel refuses "
            "IA32_ARCH_CAPABILITIES), so the probe was retried with -cpu " VN_ACCEL_CPU_NO_ARCH_CAPS
            ". %s",
            retry.reason);
    }
    if (cdir >= 0 && out->accel != VN_ACCEL_KVM && !keep_log(log, cdir, "accel-probe.log")) {
        size_t n = strlen(out->reason);
        snprintf(out->reason + n, sizeof out->reason - n,
                 " The probe's log could not be kept in '%s'.", kept);
    }
    if (cdir >= 0)
        cache_write(cdir, cache_dir, cname, key, out);
    else if (cache_dir) {
        size_t n = strlen(out->reason);
        snprintf(out->reason + n, sizeof out->reason - n,
                 " The verdict is not cached: the cache directory '%s' cannot be used (%s).",
                 cache_dir,
                 cache_errno == EPERM ? "it is not a directory of yours that only you can write"
                                      : strerror(cache_errno));
    }
    return 0;
}
