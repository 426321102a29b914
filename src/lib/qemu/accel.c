#include "accel.h"

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
#include "launch.h"

#define PROBE_MARK    "VNUMA-PROBE-JSON:"
#define PROBE_POLL_MS 50
#define CACHE_FORMAT  "vnuma-accel-cache 1"

static const char *const kvm_args[] = {"-enable-kvm", "-cpu", "host", NULL};
static const char *const tcg_args[] = {"-accel", "tcg,thread=multi", "-cpu", "max", NULL};

const char *const *vn_accel_qemu_args(enum vn_accel accel)
{
    return accel == VN_ACCEL_KVM ? kvm_args : tcg_args;
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

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
static int cache_key(const char *qemu, const char *kernel, const struct stat *kvm, char *key,
                     size_t len, struct vn_error *err)
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
    int n = snprintf(key, len, "kernel=%s:%lld:%lld qemu=%s:%s kvm=%llx host=%s %s", kernel,
                     (long long)ks.st_size, (long long)ks.st_mtime, qemu, version,
                     (unsigned long long)kvm->st_rdev, u.release, u.version);
    if (n < 0 || (size_t)n >= len)
        return vn_error_set(
            err, "the paths of QEMU '%s' and of the guest kernel '%s' are too long.", qemu, kernel);
    return 0;
}

static void cache_file(const char *cache_dir, const char *key, char *path, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(path, len, "%s/accel-%016llx", cache_dir, (unsigned long long)h);
}

/* Fills out from the cache file when it holds a verdict for exactly this key. */
static bool cache_read(const char *path, const char *key, struct vn_accel_result *out)
{
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[2048];
    bool format = false, key_ok = false, accel_ok = false, reason_ok = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, CACHE_FORMAT) == 0)
            format = true;
        else if (strncmp(line, "key=", 4) == 0)
            key_ok = strcmp(line + 4, key) == 0;
        else if (strcmp(line, "accel=kvm") == 0 || strcmp(line, "accel=tcg") == 0) {
            out->accel = line[6] == 'k' ? VN_ACCEL_KVM : VN_ACCEL_TCG;
            accel_ok = true;
        } else if (strncmp(line, "reason=", 7) == 0) {
            set_reason(out, "%s", line + 7);
            reason_ok = true;
        }
    }
    return format && key_ok && accel_ok && reason_ok;
}

/* Writes the verdict atomically; a failure is reported in the reason, not as an error, since
 * the verdict itself is sound. */
static void cache_write(const char *cache_dir, const char *path, const char *key,
                        struct vn_accel_result *r)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int saved = 0;
    if (mkdir(cache_dir, 0755) < 0 && errno != EEXIST) {
        saved = errno;
    } else {
        VN_CLEANUP_FILE FILE *f = fopen(tmp, "we");
        if (!f) {
            saved = errno;
        } else {
            fprintf(f, CACHE_FORMAT "\nkey=%s\naccel=%s\nreason=%s\n", key, vn_accel_name(r->accel),
                    r->reason);
            if (fflush(f) != 0 || fsync(fileno(f)) != 0)
                saved = errno;
            else if (rename(tmp, path) < 0)
                saved = errno;
        }
        if (saved)
            unlink(tmp);
    }
    if (saved) {
        size_t n = strlen(r->reason);
        snprintf(r->reason + n, sizeof r->reason - n,
                 " The verdict could not be cached in '%s': %s.", cache_dir, strerror(saved));
    }
}

/* Boots the probe guest with KVM; fills r with the verdict.  -1 only when QEMU did not start. */
static int probe_boot(const char *qemu, const char *kernel, const char *initramfs, const char *log,
                      struct vn_accel_result *r, struct vn_error *err)
{
    const char *argv[] = {
        qemu,       "-enable-kvm", "-cpu",       "host",
        "-machine", "q35",         "-m",         "256M",
        "-smp",     "1",           "-nographic", "-no-reboot",
        "-nic",     "none",        "-kernel",    kernel,
        "-initrd",  initramfs,     "-append",    "console=ttyS0 panic=-1 quiet vnuma.probe=json",
        NULL};
    struct vn_qemu_proc proc;
    if (vn_qemu_spawn(argv, log, &proc, err) < 0)
        return vn_error_prefix(err, "cannot run the KVM probe guest");

    long long start = now_ms(), deadline = start + VN_ACCEL_PROBE_DEADLINE_MS;
    int status = 0, exited = 0;
    bool answered = false;
    while (!answered && !exited && now_ms() < deadline) {
        exited = vn_qemu_wait_exit(proc.pid, PROBE_POLL_MS, &status, NULL);
        if (exited < 0)
            break;
        answered = file_contains(log, PROBE_MARK);
    }
    double secs = (double)(now_ms() - start) / 1000.0;
    /* The guest powers itself off after answering; give it a moment, then make sure. */
    if (exited != 1 && vn_qemu_wait_exit(proc.pid, answered ? 2000 : 0, &status, NULL) != 1)
        vn_qemu_kill(proc.pid, 1000);

    /* Two lines: QEMU often states the cause ("failed to set MSR 0x10a") just before the
     * assertion or abort that ends it. */
    char tail[400];
    vn_qemu_log_tail(log, 2, tail, sizeof tail);
    if (answered) {
        r->accel = VN_ACCEL_KVM;
        set_reason(r, "A KVM probe guest reached its userspace in %.1f s; using KVM.", secs);
    } else if (exited == 1) {
        char how[128];
        vn_qemu_describe_status(status, how, sizeof how);
        r->accel = VN_ACCEL_TCG;
        set_reason(r, "KVM probe boot failed: QEMU %s: %s (log '%s'); using TCG.", how,
                   *tail ? tail : "no output", log);
    } else {
        r->accel = VN_ACCEL_TCG;
        set_reason(r,
                   "KVM probe boot failed: the guest did not answer within %d s, last output: %s "
                   "(log '%s'); using TCG.",
                   VN_ACCEL_PROBE_DEADLINE_MS / 1000, *tail ? tail : "none", log);
    }
    return 0;
}

int vn_accel_probe(const char *kernel, const char *initramfs, const char *cache_dir,
                   struct vn_accel_result *out, struct vn_error *err)
{
    memset(out, 0, sizeof *out);
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

    /* A probe that fails for want of its files would wrongly condemn KVM, and be cached. */
    if (access(kernel, R_OK) < 0)
        return vn_error_sys(err, errno, "cannot probe KVM: the guest kernel '%s' cannot be read",
                            kernel);
    if (access(initramfs, R_OK) < 0)
        return vn_error_sys(err, errno, "cannot probe KVM: the guest initramfs '%s' cannot be read",
                            initramfs);
    char key[2048];
    if (cache_key(qemu, kernel, &kvm, key, sizeof key, err) < 0)
        return vn_error_prefix(err, "cannot probe KVM");
    char cpath[4096] = "";
    if (cache_dir) {
        cache_file(cache_dir, key, cpath, sizeof cpath);
        if (cache_read(cpath, key, out)) {
            out->from_cache = true;
            return 0;
        }
    }

    /* The probe's log stays next to the cache for whoever wonders why KVM was refused; without
     * a cache it is a private temporary file, kept only when the probe failed. */
    char log[4096];
    if (cache_dir) {
        if (mkdir(cache_dir, 0755) < 0 && errno != EEXIST)
            return vn_error_sys(err, errno, "cannot create the cache directory '%s'", cache_dir);
        snprintf(log, sizeof log, "%s/accel-probe.log", cache_dir);
    } else {
        const char *tmpdir = getenv("TMPDIR");
        snprintf(log, sizeof log, "%s/vnuma-accel-probe.XXXXXX",
                 tmpdir && *tmpdir ? tmpdir : "/tmp");
        int fd = mkstemp(log);
        if (fd < 0)
            return vn_error_sys(err, errno, "cannot create a temporary file '%s'", log);
        close(fd);
    }
    if (probe_boot(qemu, kernel, initramfs, log, out, err) < 0) {
        if (!cache_dir)
            unlink(log);
        return -1;
    }
    if (cache_dir)
        cache_write(cache_dir, cpath, key, out);
    else if (out->accel == VN_ACCEL_KVM)
        unlink(log);
    return 0;
}
