/* Pieces shared by the files of domain/: paths, memory files, the QEMU argv, thread
 * affinity and reading records back.  Not part of the public API. */
#ifndef VN_DOMAIN_INT_H
#define VN_DOMAIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../config/spec.h"
#include "../place/place.h"
#include "../qemu/accel.h"
#include "../qemu/cred.h"
#include "../qemu/qmp.h"
#include "../state/state.h"
#include "../topo/topo.h"
#include "../util/error.h"
#include "domain.h"

struct json_object;

/* Opens the state dir when it exists; *out is NULL (and 0 returned) when it does not, so
 * read-only commands neither create it nor fail on a fresh host. */
int vn_dom_open_existing(const char *dir, struct vn_state **out, struct vn_error *err);

/* Reads the record of name; "domain 'NAME' does not exist" (errnum ENOENT) when missing. */
int vn_dom_read(struct vn_state *s, const char *name, struct vn_domain_record *r,
                struct vn_error *err);
/* Changes record r of an edit (under the host lock); -1 with err refuses the change. */
typedef int (*vn_dom_edit_fn)(struct vn_state *s, struct vn_domain_record *r, const void *arg,
                              struct vn_error *err);
/* Under the host lock of s (waiting up to timeout_ms; what is shown to waiters): reads the
 * record of name, lets edit change it, writes it back atomically. */
int vn_dom_edit_in(struct vn_state *s, const char *name, const char *what, int timeout_ms,
                   vn_dom_edit_fn edit, const void *arg, struct vn_error *err);
/* The same for the state dir at state_dir (NULL: the default), which must exist. */
int vn_dom_edit(const char *state_dir, const char *name, const char *what, int timeout_ms,
                vn_dom_edit_fn edit, const void *arg, struct vn_error *err);
/* vn_dom_open_existing then vn_dom_read; *s may be left open on failure (close it). */
int vn_dom_open_read(const char *dir, const char *name, struct vn_state **s,
                     struct vn_domain_record *r, struct vn_error *err);

/* Appends one(record) to arr for every domain of s (none when s is NULL); a record that cannot
 * be read is shown as {"name", "state": "corrupt", "error"}, one destroyed meanwhile skipped. */
int vn_dom_each_record(struct vn_state *s, struct json_object *arr,
                       struct json_object *(*one)(const struct vn_domain_record *r),
                       struct vn_error *err);

struct vn_residency;
/* The pages of all the vnode files of r's running QEMU, per host node (numa_maps). */
int vn_dom_residency_sum(const struct vn_domain_record *r, struct vn_residency *sum,
                         struct vn_error *err);
/* The host nodes res has pages on, as [{"node", "mib"}]; *total (may be NULL) is their sum. */
struct json_object *vn_dom_residency_json(const struct vn_residency *res, double *total);

/* The memory dir of a domain (memdir.c): its path, shown and matched in /proc/PID/maps, and
 * the chain it is opened through: root, then each level with openat(O_NOFOLLOW). */
struct vn_dom_memdir {
    char path[4096];
    char root[4096];
    char level[3][256];
    int nlevels;
};
/* Where the memory files of name go for the state dir state_dir; nothing is touched. */
int vn_dom_memdir_for(const char *state_dir, const char *name, struct vn_dom_memdir *m,
                      struct vn_error *err);
/* Opens the dir of m (creating missing levels 0700 when create), every level checked ours and
 * not writable by others; returns an O_CLOEXEC dir fd or -1. */
int vn_dom_memdir_open(const struct vn_dom_memdir *m, bool create, struct vn_error *err);
/* Replaces any vnodeN files of the open dir with nvnodes empty ones, 0600, O_EXCL. */
int vn_dom_memdir_make_files(int dirfd, const char *path, int nvnodes, struct vn_error *err);
/* Gives the nvnodes vnodeN files of the open dir (0600) and the dir itself (0700) to uid:gid,
 * the user QEMU runs as; every file opened with O_NOFOLLOW, changed through its fd. */
int vn_dom_memdir_give(int dirfd, const char *path, int nvnodes, uid_t uid, gid_t gid,
                       struct vn_error *err);
/* Fails, naming the dir, when its file system has less than need_mib free (unlimited: 0). */
int vn_dom_memdir_check_room(int dirfd, const char *path, uint64_t need_mib, struct vn_error *err);
/* Removes the vnodeN files of m and its last level (missing is fine). */
int vn_dom_memdir_remove(const struct vn_dom_memdir *m, struct vn_error *err);
/* Where releases before the keyed layout put name's files (which 0 or 1); -1 when none. */
int vn_dom_memdir_legacy(const char *name, char *buf, size_t len, int which);
/* Removes the vnodeN files and the dir of a legacy memory dir, if it is ours. */
int vn_dom_memdir_remove_legacy(const char *path, struct vn_error *err);
/* The record's "mem_dir" (from its extra object), or NULL. */
const char *vn_dom_record_mem_dir(const struct vn_domain_record *r);

/* Replaces the paths of a record just read with the ones vnuma derives for its name in s
 * (a record could name another domain's socket or any dir); a legacy memory dir is kept. */
int vn_dom_vet_record(struct vn_state *s, struct vn_domain_record *r, struct vn_error *err);

/* Is the record's live pid the QEMU vnuma started for it (its -qmp names the record's
 * socket)?  Checked before any signal. */
bool vn_dom_is_own_qemu(const struct vn_domain_record *r);
/* Removes the memory files of a vetted record: its derived dir, or its legacy one. */
int vn_dom_remove_record_mem_dir(struct vn_state *s, const struct vn_domain_record *r,
                                 struct vn_error *err);

/* A domain's identity: its QEMU's pid and start time (a name can be destroyed and re-created). */
struct vn_dom_ident {
    pid_t pid;
    uint64_t start;
};
/* How vn_dom_end ends a domain. */
struct vn_dom_end {
    const struct vn_dom_ident *expect; /* NULL: whatever QEMU the record names */
    bool preserve;       /* keep the record as "preserved" (and the runtime dir's logs) */
    const char *stopped; /* the record's "stopped" when preserved ("poweroff"...) */
};
/* destroy's one path, for `vnuma destroy`, the watcher, `list` and `shutdown`: stops the
 * record's QEMU (QMP quit, then signals), removes its memory files and, unless preserve, its
 * runtime dir and record (the claim goes with it, under the host lock).  Returns 1 and does
 * nothing when the record no longer names end->expect's QEMU. */
int vn_dom_end(struct vn_state *s, const char *name, const struct vn_dom_end *end,
               struct vn_error *err);

/* The one invariant, called under the host lock by every change of where a domain's memory or
 * vCPUs may go: domain name's new claim plus the claims of every other domain holding one fit
 * each node of topo (NULL: the live host).  -1 with the node and the figures when they do not. */
int vn_dom_claims_fit(struct vn_state *s, const struct vn_host_topo *topo, const char *name,
                      const struct vn_claim *claim, struct vn_error *err);

/* Who QEMU runs as under host config hc for a vnuma of effective uid euid (confine.c): root
 * takes qemu_user/qemu_group (a missing user says to run setup or set qemu_user); any other
 * user keeps its own, and a qemu_user naming someone else is an error with FILE:LINE:COL. */
int vn_dom_qemu_cred_for(const struct vn_host_conf *hc, uid_t euid, struct vn_qemu_cred *out,
                         struct vn_error *err);
/* The same for the host config vn_host_conf_load() reads and the real effective uid. */
int vn_dom_qemu_cred(struct vn_qemu_cred *out, struct vn_error *err);
/* Does QEMU run as a user other than vnuma's own? */
bool vn_dom_confined(const struct vn_qemu_cred *c);
/* When confined: can c open each of the n paths with modes[i]?  -1 naming the domain, what
 * the path is (keys[i], "the 'kernel' file"), the path and the user when one cannot. */
int vn_dom_confine_check(const char *name, const struct vn_qemu_cred *c, const char *const *paths,
                         const char *const *keys, const int *modes, int n, struct vn_error *err);
/* When confined: the state dir and its run/ become searchable (g+x, not readable) by c's group. */
int vn_dom_confine_state_dir(struct vn_state *s, const struct vn_qemu_cred *c,
                             struct vn_error *err);
/* When confined: the domain's runtime dir run becomes c's own, 0700 (QEMU makes its sockets
 * there). */
int vn_dom_confine_runtime_dir(const char *name, const char *run, const struct vn_qemu_cred *c,
                               struct vn_error *err);

/* What a record's domain is doing now: running, dead, creating, stopping... */
const char *vn_dom_state(const struct vn_domain_record *r);

/* Paths the QEMU argv needs (all absolute, checked for QEMU's option syntax). */
struct vn_dom_paths {
    char run[4096]; /* runtime dir */
    char mem[4096]; /* memory files dir as QEMU opens it: memdir.path, or /proc/self/fd/N */
    struct vn_dom_memdir memdir;
    char qmp[4096], console[4096], console_log[4096], log[4096];
    char watch[4096], watch_log[4096]; /* the watcher's QMP socket and its log */
    char vnc[4096]; /* the VNC socket, used when the spec has VNC without vnclisten */
};
/* Fills the runtime paths of name under the state dir (not created). */
int vn_dom_paths(struct vn_state *s, const char *name, struct vn_dom_paths *p,
                 struct vn_error *err);

/* The same for a state dir that does not exist yet (dry runs): nothing is opened. */
int vn_dom_paths_fresh(const char *state_dir, const char *name, struct vn_dom_paths *p,
                       struct vn_error *err);

struct vn_tap;

/* Where one vif goes on the host (nothing for type=user). */
struct vn_dom_nic {
    char bridge[16]; /* the vif's bridge, else the host config's default_bridge */
    char tap[16];    /* vifname, else vn_net_tap_name() */
};
/* Fills out[i] for each spec vif; with check, each bridge must exist and be a bridge and no
 * interface may have the tap's name yet.  Errors name the domain, the vif and the bridge. */
int vn_dom_nics_resolve(const char *name, const struct vn_vm_spec *spec, const char *state_dir,
                        bool check, struct vn_dom_nic *out, struct vn_error *err);
/* Creates each vif's tap on its bridge (taps[i]; fd -1 for type=user); on failure none is
 * left. */
int vn_dom_nics_open(const char *name, const struct vn_vm_spec *spec, const struct vn_dom_nic *nics,
                     struct vn_tap *taps, struct vn_error *err);
/* The spec's NICs for `vnuma info`: devid, model, MAC (given or generated), type, bridge
 * (the vif's, else the host config's default_bridge now) and tap name. */
struct json_object *vn_dom_nics_json(const struct vn_vm_spec *spec, const char *name,
                                     const char *state_dir);
/* Closes vnuma's copies of n taps' descriptors. */
void vn_dom_nics_close(int n, struct vn_tap *taps);

/* The complete QEMU argv (binary first, "-S" last) with accel's accelerator and CPU model;
 * taps holds one entry per spec vif (its tap and vhost descriptors; NULL or fd -1 in a dry
 * run); kernel/initrd/cmdline are the resolved ones (may be NULL).  NULL-terminated, free
 * with vn_argv_free. */
char **vn_dom_qemu_argv(const char *binary, const struct vn_vm_spec *spec,
                        const struct vn_placement *p, const struct vn_accel_result *accel,
                        const struct vn_dom_paths *paths, const struct vn_tap *taps,
                        const char *kernel, const char *initrd, const char *cmdline,
                        struct vn_error *err);

/* Hands the spec's VNC password to QEMU (change-vnc-password); nothing without one. */
int vn_dom_vnc_set_password(struct vn_qmp *q, const char *name, const struct vn_vnc *v,
                            int timeout_ms, struct vn_error *err);

/* Puts every vCPU thread on its soft (within hard) or hard CPUs and every other thread of
 * QEMU on the CPUs of the VM's host nodes. */
int vn_dom_apply_affinity(pid_t qemu_pid, const struct vn_qmp_vcpu *vcpus, int nvcpus,
                          const struct vn_placement *p, const struct vn_host_topo *topo,
                          struct vn_error *err);

/* Member key of JSON object o (borrowed), or NULL; the integer member, or 0. */
struct json_object *vn_dom_get(struct json_object *o, const char *key);
int64_t vn_dom_get_int(struct json_object *o, const char *key);

/* The parts of a qcow2 header that name other files (diskimg.c). */
struct vn_qcow2_head {
    bool is_qcow2;        /* the magic "QFI\xfb" */
    bool data_file;       /* an external data file is in use */
    char backing[4096];   /* the backing file as written in the image, "" when none */
    char backing_fmt[32]; /* its format from the header extension, "" when not recorded */
};
/* Parses the first len bytes of an image: 0 (is_qcow2 false when it is not qcow2), -1 when
 * a qcow2 header is damaged or its names do not fit. */
int vn_qcow2_parse(const unsigned char *buf, size_t len, struct vn_qcow2_head *out);
/* Checks disk d of domain dom before anything starts: the image is a readable (writable
 * unless read-only) file or block device; a format the config does not give is probed (qcow2
 * only when the image names no other file, else raw) and stored in d->format; a qcow2's
 * backing chain exists, is readable and records each format.  -1 with err naming the domain,
 * the disk's vdev and the path. */
int vn_dom_disk_check(const char *dom, struct vn_disk *d, struct vn_error *err);

#endif
