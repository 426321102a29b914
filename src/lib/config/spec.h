/* struct vn_vm_spec: one VM as its config describes it, whichever xl.cfg form it used.
 *
 * Produced by the config parser (config.h), read by placement, rendering and the launcher.
 * Every field remembers where it was written (struct vn_loc) so that checks made later, even
 * against a host, can still name file:line:column and the key. */
#ifndef VN_SPEC_H
#define VN_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/bitmap.h"

#define VN_MAX_VNODES 64
#define VN_MAX_VCPUS  1024
/* Entries of disk, vif and pci each: far above what QEMU gives a guest, and it bounds the
 * checks that compare every entry with every other. */
#define VN_MAX_DEVICES 256
#define VN_MAX_CDROMS  6 /* the q35 AHCI controller's ports */

/* A place in a config file; line/col are 1-based, 0 when the value was not written. */
struct vn_loc {
    int line;
    int col;
};

enum vn_action {
    VN_ACTION_DESTROY,
    VN_ACTION_RESTART,
    VN_ACTION_RENAME_RESTART,
    VN_ACTION_PRESERVE,
    VN_ACTION_COREDUMP_DESTROY,
    VN_ACTION_COREDUMP_RESTART,
    VN_ACTION_SOFT_RESET,
};
#define VN_ACTION_NAMES (VN_ACTION_SOFT_RESET + 1)

enum vn_accel {
    VN_ACCEL_AUTO, /* KVM when a probe boot works, else TCG */
    VN_ACCEL_KVM,
    VN_ACCEL_TCG,
};
#define VN_ACCEL_NAMES (VN_ACCEL_TCG + 1)

enum vn_mempolicy {
    VN_MEMPOLICY_BIND, /* default: each vnode's memory only on its pnode(s) */
    VN_MEMPOLICY_PREFERRED,
    VN_MEMPOLICY_INTERLEAVE,
};
#define VN_MEMPOLICY_NAMES (VN_MEMPOLICY_INTERLEAVE + 1)

/* The xl spelling of each value, indexed by the enum (config/spec_names.c). */
extern const char *const vn_action_names[VN_ACTION_NAMES];
extern const char *const vn_accel_names[VN_ACCEL_NAMES];
extern const char *const vn_mempolicy_names[VN_MEMPOLICY_NAMES];

struct vn_vnode {
    uint64_t mem_mib;       /* size of the vnode */
    int pnode;              /* host node (Linux number) or -1 when placement chooses */
    struct vn_bitmap vcpus; /* vCPU ids of this vnode */
    struct vn_loc loc;      /* where the vnode was defined */
    /* where each part was written, so that messages point at the value at fault */
    struct vn_loc size_loc, pnode_loc, vcpus_loc, dist_loc;
};

/* Which of xl's two vNUMA syntaxes a config used (messages name the keys of that form). */
enum vn_vnuma_form {
    VN_VNUMA_NONE,
    VN_VNUMA_LIST,   /* Xen 4.5+: vnuma = [ ["pnode=0", "size=...", ...], ... ] */
    VN_VNUMA_LEGACY, /* the original: vnodes, vnumamem, vdistance, vnuma_vcpumap, ... */
};

struct vn_disk {
    char *spec;        /* the xl disk string as written */
    char *target;      /* path of the image */
    char *vdev;        /* guest device name (xvda, hda, vda...) or NULL */
    char *format;      /* raw, qcow2, ... (default raw) */
    bool format_given; /* written in the config; else create probes the image (qcow2 magic) */
    bool readonly;
    bool cdrom; /* devtype=cdrom (an empty drive when target is NULL) */
    struct vn_loc loc;
};

/* A guest NIC: one xl vif string (xl-network-configuration(5)). */
enum vn_vif_model {
    VN_VIF_VIRTIO, /* virtio-net-pci (model=virtio, virtio-net or not given) */
    VN_VIF_E1000,
    VN_VIF_RTL8139,
};

enum vn_vif_type {
    VN_VIF_BRIDGE, /* type=vif or ioemu (xl's) or not given: a tap on a bridge */
    VN_VIF_USER,   /* type=user, vnuma's extension: QEMU's user-mode network */
};

#define VN_VIF_NAME_MAX 15 /* IFNAMSIZ - 1 */

struct vn_vif {
    char *spec;    /* the xl vif string as written */
    char *bridge;  /* bridge=, NULL: the host config's default_bridge */
    char *mac;     /* mac= normalised to lower case, NULL: generated (vn_vif_mac) */
    char *vifname; /* vifname=: the tap's name, NULL: generated */
    enum vn_vif_model model;
    enum vn_vif_type type;
    int devid; /* devid=, else the vif's index; NICs are ordered by it */
    struct vn_loc loc;
};

/* Hard or soft CPU affinity as written: none, one set for all vCPUs, or one per vCPU
 * (xl's list form).  Sets hold host CPU numbers; "nodes:" forms are resolved against the
 * host by vn_config_validate. */
struct vn_affinity {
    int nsets;              /* 0 = not given, 1 = same for all vCPUs, else one per vCPU */
    struct vn_bitmap *sets; /* nsets entries */
    char **text;            /* nsets strings as written, for messages and rendering */
    struct vn_loc loc;
    /* Written as a list (xl's per-vCPU form): sets[i] is vCPU i's, and vCPUs >= nsets have
     * no affinity.  A one-element list is per-vCPU too, which nsets alone cannot say. */
    bool per_vcpu;
    /* False until vn_config_validate ran with a host: "all" and "nodes:" elements are only
     * expanded then, so sets hold just the CPUs written by number before. */
    bool resolved;
};

/* VNC (xl's vnc, vnclisten, vncdisplay, vncpasswd, and vnuma's vnc_remote).  Off unless
 * vnc = 1; then a UNIX socket in the runtime dir, or TCP on listen:5900+display. */
struct vn_vnc {
    bool enabled;
    char *listen;      /* IPv4 address for TCP; NULL: the UNIX socket */
    int display;       /* TCP port 5900 + display */
    bool remote;       /* vnc_remote = 1: a non-loopback listen address was asked for */
    char *password;    /* vncpasswd (1..8 characters) or NULL; never in the spec's JSON */
    bool has_password; /* a password was set (the JSON keeps this, not the password) */
    struct vn_loc loc; /* the vnc key */
};

struct vn_vm_spec {
    char *file; /* config path, for messages */
    char *name;
    uint64_t memory_mib;
    uint64_t maxmem_mib; /* equals memory_mib when not given */
    int vcpus;
    int maxvcpus; /* equals vcpus when not given */
    struct vn_affinity cpus;
    struct vn_affinity cpus_soft;
    char *kernel;
    char *ramdisk;
    char *cmdline; /* cmdline/extra plus root= when given */
    /* the key that gave it ("cmdline", "root" or "extra"), for messages; NULL = "cmdline" */
    const char *cmdline_key;
    int ndisks;
    struct vn_disk *disks;
    int nvifs;
    struct vn_vif *vifs; /* sorted by devid */
    enum vn_action on_poweroff, on_reboot, on_crash;

    /* vNUMA: nvnodes == 0 means the config gave none (placement may generate one). */
    int nvnodes;
    struct vn_vnode vnodes[VN_MAX_VNODES];
    int vdist[VN_MAX_VNODES][VN_MAX_VNODES]; /* guest SLIT */
    struct vn_loc vnuma_loc;                 /* the vnuma (or vnodes) key */
    enum vn_vnuma_form vnuma_form;

    /* vnuma extensions */
    int npci;
    char **pci;           /* host PCI addresses passed through ("0000:03:00.0"), xl's pci key */
    char *affinity_group; /* VMs with the same group share nodes when they fit */
    char *anti_affinity_group; /* VMs with the same group avoid each other's nodes */
    enum vn_accel accel;
    enum vn_mempolicy mempolicy;
    bool balance; /* vnumad may move this VM (default true) */
    struct vn_vnc vnc;

    /* where scalar keys were written */
    struct {
        struct vn_loc name, memory, maxmem, vcpus, maxvcpus, kernel, ramdisk, pci, accel;
        struct vn_loc cmdline, affinity_group, anti_affinity_group, mempolicy, balance;
    } loc;

    /* Config-module bookkeeping: groups of keys whose value did not parse, so validation
     * skips rules on them (0 for any spec vn_config_parse_* returns). */
    unsigned parse_bad;
};

#endif
