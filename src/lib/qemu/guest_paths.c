#include "guest_paths.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "qemu/guest_build_config.h" /* generated: VN_GUEST_BUILD_DIR, VN_GUEST_INSTALL_DIR */

#define KERNEL_PREFIX "vmlinuz-"
#define KERNEL_SUFFIX "-cloud-amd64"

static int copy_path(char *buf, size_t len, const char *path, struct vn_error *err)
{
    if (snprintf(buf, len, "%s", path) >= (int)len)
        return vn_error_set(err, "path '%s' is too long.", path);
    return 0;
}

static void vn_guest_closedirp_(DIR **d)
{
    if (*d)
        closedir(*d);
}

/* The variable's value when it is set and not empty. */
static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int vn_guest_newest_kernel(const char *boot_dir, char *buf, size_t len, struct vn_error *err)
{
    VN_CLEANUP(vn_guest_closedirp_) DIR *d = opendir(boot_dir);
    if (!d)
        return vn_error_sys(err, errno, "cannot list '%s' to find the guest kernel", boot_dir);
    char best[256] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, KERNEL_PREFIX, strlen(KERNEL_PREFIX)) != 0 ||
            n <= strlen(KERNEL_PREFIX) + strlen(KERNEL_SUFFIX) ||
            strcmp(e->d_name + n - strlen(KERNEL_SUFFIX), KERNEL_SUFFIX) != 0 || n >= sizeof best)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", boot_dir, e->d_name);
        if (access(path, R_OK) != 0)
            continue;
        /* strverscmp orders 6.1.0-9 before 6.1.0-10, as Debian's versions mean. */
        if (!best[0] || strverscmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", e->d_name);
    }
    if (!best[0])
        return vn_error_set(err,
                            "no guest kernel '%s/" KERNEL_PREFIX "*" KERNEL_SUFFIX
                            "' is installed or readable; install the Debian package "
                            "'linux-image-cloud-amd64' or set VNUMA_KERNEL to a kernel image.",
                            boot_dir);
    if (snprintf(buf, len, "%s/%s", boot_dir, best) >= (int)len)
        return vn_error_set(err, "path '%s/%s' is too long.", boot_dir, best);
    return 0;
}

int vn_guest_default_kernel(char *buf, size_t len, struct vn_error *err)
{
    const char *env = env_path("VNUMA_KERNEL");
    if (!env)
        return vn_guest_newest_kernel("/boot", buf, len, err);
    if (access(env, R_OK) != 0)
        return vn_error_sys(err, errno, "the guest kernel '%s' (VNUMA_KERNEL) cannot be read", env);
    return copy_path(buf, len, env, err);
}

/* The build tree's guest dir for a binary that runs from the build tree, else the installed
 * one: an installed vnuma must not depend on a source or build tree that may still exist. */
static const char *guest_image_dir(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return VN_GUEST_INSTALL_DIR;
    exe[n] = '\0';
    size_t root = strlen(VN_BUILD_ROOT);
    if (strncmp(exe, VN_BUILD_ROOT, root) == 0 && exe[root] == '/')
        return VN_GUEST_BUILD_DIR;
    return VN_GUEST_INSTALL_DIR;
}

int vn_guest_default_initramfs(char *buf, size_t len, struct vn_error *err)
{
    const char *env = env_path("VNUMA_INITRAMFS");
    if (env) {
        if (access(env, R_OK) != 0)
            return vn_error_sys(err, errno,
                                "the guest initramfs '%s' (VNUMA_INITRAMFS) cannot be read", env);
        return copy_path(buf, len, env, err);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/initramfs.cpio.gz", guest_image_dir());
    if (access(path, R_OK) != 0)
        return vn_error_sys(err, errno,
                            "the guest initramfs '%s' cannot be read (build it with 'ninja -C "
                            "<build dir>' or install vnuma, or set VNUMA_INITRAMFS)",
                            path);
    return copy_path(buf, len, path, err);
}
