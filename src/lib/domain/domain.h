/* The domain lifecycle: the one place that strings config, topology, placement, state, QEMU
 * and NUMA together.
 *
 * create: validate the config against the host -> choose the accelerator (a probe boot may
 * take seconds, so before the lock) -> under the host lock: check the name, place against
 * every other domain's claim, write a "creating" record -> memory files, runtime dir, QEMU
 * started paused (-S) -> vCPU threads on their node's CPUs, other threads on the VM's nodes
 * -> QMP "cont" -> under the lock: record "running".  Any failure after the record was
 * written stops QEMU and removes the files and the record: nothing is left behind.
 *
 * The reports (list, info, numainfo) are JSON objects: the CLI prints them as tables or as
 * they are (--json).  docs/GUEST.md describes the launch and every field. */
#ifndef VN_DOMAIN_H
#define VN_DOMAIN_H

#include <stdbool.h>
#include <sys/types.h>

#include "../config/config.h"
#include "../config/spec.h"
#include "../place/place.h"
#include "../state/state.h"
#include "../util/error.h"

struct json_object;

/* Kernel command line of the default guest image when the config gives none. */
#define VN_DOMAIN_DEFAULT_CMDLINE "console=ttyS0 panic=-1 quiet"

struct vn_domain_create_opts {
    const char *state_dir; /* NULL: $VNUMA_STATE_DIR, else VN_STATE_DEFAULT_DIR */
    const char *host_spec; /* NULL: the live host (vn_topo_load's spec) */
    enum vn_place_algo algo;
    bool dry_run;        /* place and build the argv only: no lock, no record, no QEMU */
    bool accel_override; /* use accel below instead of the config's */
    enum vn_accel accel;
    /* Called with a one-line message before slow steps (the accelerator probe); may be NULL. */
    void (*progress)(void *ctx, const char *msg);
    void *progress_ctx;
};

struct vn_domain_create_result {
    char name[VN_DOMAIN_NAME_MAX + 1];
    struct vn_placement *placement; /* owned */
    enum vn_accel accel;            /* kvm or tcg, never auto */
    char accel_reason[700];
    char **argv; /* the QEMU argv, NULL-terminated, owned */
    pid_t qemu_pid;
    char runtime_dir[4096];
    char mem_dir[4096];
};

/* The state dir to use: dir when not NULL, else $VNUMA_STATE_DIR, else the default. */
const char *vn_domain_state_dir(const char *dir);

/* Creates and starts the domain of config_path (see above).  Config problems go to diags
 * (err then says how many); everything else to err, naming the domain and the step. */
int vn_domain_create(const char *config_path, const struct vn_domain_create_opts *opts,
                     struct vn_domain_create_result *result, struct vn_diags *diags,
                     struct vn_error *err);
/* Frees what a create result owns and zeroes it. */
void vn_domain_create_result_clear(struct vn_domain_create_result *r);

/* Stops the domain's QEMU (QMP quit, then signals), removes its memory files, runtime dir
 * and record (which releases its claim).  A dead QEMU is cleaned without complaint; an
 * unknown name gives "domain 'x' does not exist" with errnum ENOENT. */
int vn_domain_destroy(const char *state_dir, const char *name, struct vn_error *err);

/* All domains as a JSON array of {name, state, pid, vcpus, memory_mib, vnodes, host_nodes,
 * accel, uptime_s}; state is running, dead, creating or stopping. */
int vn_domain_list(const char *state_dir, struct json_object **out, struct vn_error *err);

/* One domain in detail: per vnode its pnodes, size and resident pages per host node; per
 * vCPU its thread, soft/hard/current affinity and last CPU; the guest distance matrix. */
int vn_domain_info(const char *state_dir, const char *name, struct json_object **out,
                   struct vn_error *err);

/* The host view (Xen's `debug-keys u`): free memory per host node, and per domain its
 * memory per host node and its vnode -> pnode map.  host_spec as for create. */
int vn_domain_numainfo(const char *state_dir, const char *host_spec, struct json_object **out,
                       struct vn_error *err);

/* The console socket of a domain that exists and runs, into buf. */
int vn_domain_console_path(const char *state_dir, const char *name, char *buf, size_t len,
                           struct vn_error *err);

#endif
