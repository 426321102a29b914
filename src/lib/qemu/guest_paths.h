/* Where the guest kernel and the guest initramfs are found at run time.
 *
 * The kernel is Debian's linux-image-cloud-amd64 (the newest /boot/vmlinuz-*-cloud-amd64);
 * the initramfs is the one guest/ builds into the build directory for a binary run from the
 * build tree, else the installed one (PREFIX/lib/vnuma).  VNUMA_KERNEL and VNUMA_INITRAMFS
 * override both, for users' own images. */
#ifndef VN_GUEST_PATHS_H
#define VN_GUEST_PATHS_H

#include <stddef.h>

#include "../util/error.h"

/* The newest readable DIR/vmlinuz-*-cloud-amd64 (version order) into buf; -1 when none. */
int vn_guest_newest_kernel(const char *boot_dir, char *buf, size_t len, struct vn_error *err);
/* $VNUMA_KERNEL, else the newest cloud kernel in /boot; -1 naming the package when none. */
int vn_guest_default_kernel(char *buf, size_t len, struct vn_error *err);
/* $VNUMA_INITRAMFS, else the build tree's or the installed initramfs; -1 when not readable. */
int vn_guest_default_initramfs(char *buf, size_t len, struct vn_error *err);

#endif
