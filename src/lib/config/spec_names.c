/* The spellings of the spec's enums, one table each: the config parser, the spec JSON writer
 * and reader, and the watcher's messages all use these. */
#include "spec.h"

const char *const vn_action_names[VN_ACTION_NAMES] = {
    [VN_ACTION_DESTROY] = "destroy",
    [VN_ACTION_RESTART] = "restart",
    [VN_ACTION_RENAME_RESTART] = "rename-restart",
    [VN_ACTION_PRESERVE] = "preserve",
    [VN_ACTION_COREDUMP_DESTROY] = "coredump-destroy",
    [VN_ACTION_COREDUMP_RESTART] = "coredump-restart",
    [VN_ACTION_SOFT_RESET] = "soft-reset",
};

const char *const vn_accel_names[VN_ACCEL_NAMES] = {
    [VN_ACCEL_AUTO] = "auto",
    [VN_ACCEL_KVM] = "kvm",
    [VN_ACCEL_TCG] = "tcg",
};

const char *const vn_mempolicy_names[VN_MEMPOLICY_NAMES] = {
    [VN_MEMPOLICY_BIND] = "bind",
    [VN_MEMPOLICY_PREFERRED] = "preferred",
    [VN_MEMPOLICY_INTERLEAVE] = "interleave",
};
