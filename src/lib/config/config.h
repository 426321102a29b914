/* The VM config language: Xen's xl.cfg syntax with both vNUMA forms, parsed into a
 * struct vn_vm_spec, and its validation against the rules of libxl and vnuma.
 *
 * Problems in a config are diagnostics, not a struct vn_error: a file can have many, and
 * each names FILE:LINE:COLUMN and the key.  struct vn_error is for I/O failures only. */
#ifndef VN_CONFIG_H
#define VN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../topo/topo.h"
#include "../util/error.h"
#include "spec.h"

struct json_object;

enum vn_diag_severity {
    VN_DIAG_ERROR,
    VN_DIAG_WARNING,
};

/* Limits that keep a hostile file from costing more than a small one (docs/LIMITS.md). */
#define VN_CONFIG_MAX_BYTES    (1024 * 1024)
#define VN_CONFIG_MAX_ERRORS   100 /* errors kept; parsing and building stop after them */
#define VN_CONFIG_MAX_WARNINGS 100 /* warnings kept */
#define VN_NAME_MAX            64  /* guest and group names, as VN_DOMAIN_NAME_MAX */

struct vn_diag {
    enum vn_diag_severity severity;
    int line, col; /* 1-based; 0 when the problem is the file as a whole */
    char key[64];  /* the key concerned, "" for syntax errors */
    char msg[512]; /* a whole sentence, values quoted */
};

struct vn_diags {
    char *file; /* name used in messages */
    int n, cap;
    struct vn_diag *v;
    int nerrors, nwarnings; /* every one added, also those past the limits below */
    bool errors_capped, warnings_capped;
};

/* Starts an empty list whose messages name file. */
void vn_diags_init(struct vn_diags *d, const char *file);
/* Adds one diagnostic (printf-style message).  Only the first VN_CONFIG_MAX_ERRORS errors and
 * VN_CONFIG_MAX_WARNINGS warnings are kept, then one "Too many ..." line of each; the rest
 * are only counted. */
void vn_diags_add(struct vn_diags *d, enum vn_diag_severity sev, struct vn_loc loc, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Orders the list by line and column (problems of the whole file first), keeping the order
 * of discovery among equals. */
void vn_diags_sort(struct vn_diags *d);
/* Formats d->v[i] as "FILE:LINE:COL: error: KEY: MESSAGE" into buf ("warning" for warnings;
 * ":LINE:COL" and "KEY: " are left out when unknown or empty). */
void vn_diag_format(const struct vn_diags *d, int i, char *buf, size_t len);
/* Releases what d owns. */
void vn_diags_free(struct vn_diags *d);

/* Parses a config file.  Returns the spec, or NULL when the file cannot be read (err) or has
 * errors (diags).  Warnings may be added either way. */
struct vn_vm_spec *vn_config_parse_file(const char *path, struct vn_diags *diags,
                                        struct vn_error *err);
/* Same for a buffer in memory (used by tests and the fuzzer); name labels messages. */
struct vn_vm_spec *vn_config_parse_buf(const char *buf, size_t len, const char *name,
                                       struct vn_diags *diags);

/* Checks the spec against libxl's and vnuma's rules and, when host is not NULL, against the
 * host (pnodes exist, CPUs exist, memory fits); resolves "nodes:" affinities.  Returns the
 * number of errors it added. */
int vn_config_validate(struct vn_vm_spec *spec, const struct vn_host_topo *host,
                       struct vn_diags *diags);

/* Parse and validate in one step, reporting every problem of the file: unlike
 * vn_config_parse_* followed by vn_config_validate, validation also runs when some values
 * were wrong (rules about those values are skipped), so that one run lists all mistakes.
 * Returns the spec when the file has no errors, else NULL (syntax errors stop before
 * validation).  host may be NULL to skip the host checks. */
struct vn_vm_spec *vn_config_load_file(const char *path, const struct vn_host_topo *host,
                                       struct vn_diags *diags, struct vn_error *err);
struct vn_vm_spec *vn_config_load_buf(const char *buf, size_t len, const char *name,
                                      const struct vn_host_topo *host, struct vn_diags *diags);

/* The rule for guest and group names, the same as vnuma create's: letters, digits, '-', '_',
 * '.'; 1 to VN_NAME_MAX long; not starting with '-' or '.'.  Returns -1 with a sentence. */
int vn_config_name_check(const char *name, struct vn_error *err);

/* The normalised spec as JSON (what `vnuma check --json` prints). */
struct json_object *vn_spec_to_json(const struct vn_vm_spec *spec);
/* Its exact inverse (the spec JSON a domain record stores back into a spec): strict, every
 * member vn_spec_to_json writes must be there with its type and no other; locations are 0.
 * name labels the messages.  Returns NULL with err when o is not such JSON. */
struct vn_vm_spec *vn_spec_from_json(struct json_object *o, const char *name, struct vn_error *err);

/* A deep copy of spec made through its JSON (so the copy is what a record reads back);
 * NULL with err when out of memory. */
struct vn_vm_spec *vn_spec_clone(const struct vn_vm_spec *spec, struct vn_error *err);

/* Frees spec and everything it owns (NULL is fine). */
void vn_spec_free(struct vn_vm_spec *spec);
/* ---- vif.c: one xl vif string ---- */
#define VN_VIF_MAC_LEN 18 /* "00:16:3e:01:02:03" and its NUL */
/* Called with the key of each Xen-only vif parameter vnuma ignores (ip, script, rate...). */
typedef void (*vn_vif_warn_fn)(void *ctx, const char *key);
/* Parses vif string text (the index-th vif; devid defaults to it) into out; -1 with err
 * naming the key at fault, and out cleared.  warn may be NULL. */
int vn_vif_parse(const char *text, int index, struct vn_vif *out, vn_vif_warn_fn warn, void *ctx,
                 struct vn_error *err);
/* Frees a vif's strings and zeroes it. */
void vn_vif_clear(struct vn_vif *v);
/* The MAC of a vif that gives none: 00:16:3e and 23 bits of a hash of name and devid, so the
 * same domain gets the same MAC every time. */
void vn_vif_mac(const char *name, int devid, char out[VN_VIF_MAC_LEN]);
/* "virtio", "e1000" or "rtl8139". */
const char *vn_vif_model_name(enum vn_vif_model m);

/* Cleanup helper for VN_CLEANUP(vn_spec_freep). */
void vn_spec_freep(struct vn_vm_spec **spec);

/* ---- disks: Xen vdev names and the guest's names (vdev.c, pure) ---- */

enum vn_vdev_kind {
    VN_VDEV_XVD,
    VN_VDEV_HD,
    VN_VDEV_SD,
    VN_VDEV_VD,
};

/* A parsed vdev: "xvdb3" is {XVD, disk 1, partition 3}; part 0 = the whole disk. */
struct vn_vdev {
    enum vn_vdev_kind kind;
    int disk; /* a..z = 0..25, aa..zz = 26..701 */
    int part; /* 0..255 */
};

/* Parses xvdX, hdX, sdX or vdX (one or two letters) with an optional partition 1..255;
 * returns 0, or -1 when s is not such a name. */
int vn_vdev_parse(const char *s, struct vn_vdev *out);

/* Where each disk of a spec goes in QEMU and what the guest calls it. */
struct vn_disk_map {
    int n;                          /* = spec->ndisks */
    int order[VN_MAX_DEVICES];      /* indices into spec->disks in QEMU argv order */
    int port[VN_MAX_DEVICES];       /* port[i]: rank of disk i among the virtio disks or CD-ROMs */
    char guest[VN_MAX_DEVICES][16]; /* guest[i]: "vda", "vdb", ... or "sr0", ... */
};

/* Orders the disks (virtio ones by vdev disk number, partition, then config position; CD-ROMs
 * after them in the same order) and names each as the guest will: the k-th virtio disk is
 * vd<k> whatever its letter, the k-th CD-ROM sr<k>. */
void vn_disk_map_build(const struct vn_vm_spec *spec, struct vn_disk_map *map);

enum {
    VN_DEV_OTHER = 0,   /* not /dev/<disk name> (UUID=, /dev/mapper/..., /dev/nfs): unchecked */
    VN_DEV_SAME = 1,    /* the guest has this device: out = dev */
    VN_DEV_RENAMED = 2, /* a vdev of disk *disk: out = the guest's name for it */
    VN_DEV_NONE = 3,    /* a disk name that no disk has in the guest or as its vdev */
};

/* Classifies the device path dev ("/dev/xvda1") against the map: returns VN_DEV_*, writes the
 * path the guest will have into out (SAME, RENAMED) and the disk's index into *disk (RENAMED,
 * else -1). */
int vn_disk_map_dev(const struct vn_vm_spec *spec, const struct vn_disk_map *map, const char *dev,
                    char *out, size_t len, int *disk);

#endif
