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
/* vn_dom_open_existing then vn_dom_read; *s may be left open on failure (close it). */
int vn_dom_open_read(const char *dir, const char *name, struct vn_state **s,
                     struct vn_domain_record *r, struct vn_error *err);

/* Appends one(record) to arr for every domain of s (none when s is NULL); a record that cannot
 * be read is shown as {"name", "state": "corrupt", "error"}, one destroyed meanwhile skipped. */
int vn_dom_each_record(struct vn_state *s, struct json_object *arr,
                       struct json_object *(*one)(const struct vn_domain_record *r),
                       struct vn_error *err);

struct vn_residency;
/* The host nodes res has pages on, as [{"node", "mib"}]; *total (may be NULL) is their sum. */
struct json_object *vn_dom_residency_json(const struct vn_residency *res, double *total);

/* Where the vnode memory files of name go: the runtime dir when it is on tmpfs, else
 * $VNUMA_MEM_DIR/NAME or /dev/shm/vnuma-UID/NAME.  Nothing is created. */
int vn_dom_mem_dir(struct vn_state *s, const char *name, char *buf, size_t len,
                   struct vn_error *err);
/* Creates the memory dir (and its per-user base) owner-only; an existing one must be ours. */
int vn_dom_make_mem_dir(const char *mem_dir, struct vn_error *err);
/* Removes the vnodeN files of mem_dir and the dir itself (missing is fine). */
int vn_dom_remove_mem_dir(const char *mem_dir, struct vn_error *err);
/* The record's "mem_dir" (from its extra object), or NULL. */
const char *vn_dom_record_mem_dir(const struct vn_domain_record *r);

/* What a record's domain is doing now: running, dead, creating, stopping... */
const char *vn_dom_state(const struct vn_domain_record *r);

/* Paths the QEMU argv needs (all absolute, checked for QEMU's option syntax). */
struct vn_dom_paths {
    char run[4096]; /* runtime dir */
    char mem[4096]; /* memory files dir */
    char qmp[4096], console[4096], console_log[4096], log[4096];
};
/* Fills the runtime paths of name under the state dir (not created). */
int vn_dom_paths(struct vn_state *s, const char *name, struct vn_dom_paths *p,
                 struct vn_error *err);

/* The same for a state dir that does not exist yet (dry runs): nothing is opened. */
int vn_dom_paths_fresh(const char *state_dir, const char *name, struct vn_dom_paths *p,
                       struct vn_error *err);

/* The complete QEMU argv (binary first, "-S" last); kernel/initrd/cmdline are the resolved
 * ones (may be NULL).  NULL-terminated, free with vn_argv_free. */
char **vn_dom_qemu_argv(const char *binary, const struct vn_vm_spec *spec,
                        const struct vn_placement *p, enum vn_accel accel,
                        const struct vn_dom_paths *paths, const char *kernel, const char *initrd,
                        const char *cmdline, struct vn_error *err);

/* Puts every vCPU thread on its soft (within hard) or hard CPUs and every other thread of
 * QEMU on the CPUs of the VM's host nodes. */
int vn_dom_apply_affinity(pid_t qemu_pid, const struct vn_qmp_vcpu *vcpus, int nvcpus,
                          const struct vn_placement *p, const struct vn_host_topo *topo,
                          struct vn_error *err);

/* Member key of JSON object o (borrowed), or NULL; the integer member, or 0. */
struct json_object *vn_dom_get(struct json_object *o, const char *key);
int64_t vn_dom_get_int(struct json_object *o, const char *key);

#endif
