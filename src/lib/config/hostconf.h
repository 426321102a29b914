/* The host's own settings: /etc/vnuma/vnuma.conf, in xl.cfg syntax (as Xen's xl.conf is).
 *
 *   default_bridge = "br0"        # the bridge of a vif that names none
 *   qemu_user = "vnuma-qemu"      # the user QEMU runs as ("root" only when written)
 *   qemu_group = "vnuma-qemu"     # its group (default: the user's primary group)
 *
 * A missing file means the defaults.  A key vnuma does not know, or a value of the wrong
 * kind, is an error naming FILE:LINE:COLUMN and the key, so a typo is never silently
 * ignored.  vn_host_conf_load() (domain/domain.h) reads the file $VNUMA_HOST_CONF names, else
 * VN_HOST_CONF_DEFAULT_PATH: callers outside the pure modules use that. */
#ifndef VN_HOSTCONF_H
#define VN_HOSTCONF_H

#include <stddef.h>

#include "../util/error.h"
#include "spec.h"

#define VN_HOST_CONF_DEFAULT_PATH "/etc/vnuma/vnuma.conf"
#define VN_HOST_CONF_MAX_BYTES    (64 * 1024)
#define VN_QEMU_USER_DEFAULT      "vnuma-qemu"

struct vn_host_conf {
    char *file;           /* where it was read from ("" when only defaults) */
    char *default_bridge; /* NULL: none configured */
    char *qemu_user;      /* never NULL after a successful load */
    char *qemu_group;     /* NULL: the user's primary group */
    struct {
        struct vn_loc default_bridge, qemu_user, qemu_group;
    } loc;
};

/* Parses buf (len bytes) as the host config named file into out (defaults for keys not
 * written); -1 with err naming FILE:LINE:COLUMN and the key on the first error. */
int vn_host_conf_parse_buf(const char *buf, size_t len, const char *file, struct vn_host_conf *out,
                           struct vn_error *err);

/* Reads path (bounded, regular files only); a missing file gives the defaults.  -1 with err
 * when it cannot be read or does not parse. */
int vn_host_conf_load_file(const char *path, struct vn_host_conf *out, struct vn_error *err);

/* Frees what c owns and zeroes it (a zeroed struct is fine). */
void vn_host_conf_clear(struct vn_host_conf *c);

#endif
