/* Who QEMU runs as: the unprivileged user and groups a root vnuma drops to in the launcher
 * child, between the gate and execve.
 *
 * Resolution (getpwnam_r/getgrnam_r/getgrouplist) happens in the parent, before anything
 * starts, so the child only makes async-signal-safe syscalls: setgroups, setgid, setuid and
 * a read-back of what it became.  The groups are the user's own (getgrouplist), so a
 * `vnuma-qemu` that setup added to `kvm` keeps /dev/kvm. */
#ifndef VN_QEMU_CRED_H
#define VN_QEMU_CRED_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../util/error.h"

#define VN_QEMU_CRED_MAX_GROUPS 64

struct vn_qemu_cred {
    bool change; /* false: QEMU keeps the caller's credentials */
    uid_t uid;   /* the user QEMU runs as (when change) */
    gid_t gid;   /* its primary group */
    int ngroups; /* its supplementary groups (gid included) */
    gid_t groups[VN_QEMU_CRED_MAX_GROUPS];
    char user[64]; /* names, for messages */
    char group[64];
};

/* Fills c for user (group NULL: the user's primary group) from the user and group databases;
 * -1 with err naming the user or group that does not exist.  c->change is set. */
int vn_qemu_cred_resolve(const char *user, const char *group, struct vn_qemu_cred *c,
                         struct vn_error *err);

/* Keeps the caller's own credentials (c->change false, names filled for messages). */
void vn_qemu_cred_self(struct vn_qemu_cred *c);

/* Async-signal-safe, for a forked child: drops to c (groups, gid, uid, in that order) and
 * verifies real and effective ids; 0, or the errno of the step that failed (EPERM when the
 * ids read back differ).  Nothing when !c->change. */
int vn_qemu_cred_apply(const struct vn_qemu_cred *c);

/* Whether c can open each of n paths with mode (R_OK, R_OK|W_OK, X_OK...), checked by a
 * forked child that became c (ACLs and every parent dir count, as for QEMU itself).  0 when
 * all can; else -1 with *bad the first index that cannot and err its errno text. */
int vn_qemu_cred_access(const struct vn_qemu_cred *c, const char *const *paths, const int *modes,
                        int n, int *bad, struct vn_error *err);

/* Whether c's class for st (owner, one of its groups, or other) has read permission by the
 * file's mode alone (ACLs are not consulted): for a file vnuma opens and hands QEMU as a
 * descriptor, where the directories above it do not matter. */
bool vn_qemu_cred_may_read(const struct vn_qemu_cred *c, const struct stat *st);

#endif
