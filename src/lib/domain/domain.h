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
#include "../config/hostconf.h"
#include "../config/spec.h"
#include "../numa/migrate.h"
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
    char accel_cpu[32]; /* QEMU's -cpu model */
    char **argv;        /* the QEMU argv, NULL-terminated, owned */
    pid_t qemu_pid;
    char runtime_dir[4096];
    char mem_dir[4096];
};

/* The state dir to use: dir when not NULL, else $VNUMA_STATE_DIR, else the default. */
const char *vn_domain_state_dir(const char *dir);

/* The host config of $VNUMA_HOST_CONF, else VN_HOST_CONF_DEFAULT_PATH (defaults when it is
 * missing); -1 with err naming FILE:LINE:COLUMN and the key when it does not parse. */
int vn_host_conf_load(struct vn_host_conf *out, struct vn_error *err);

/* NIC locality on the live host: each port of each bridged vif's bridge (its own, else the
 * host config's default_bridge) whose device has a NUMA node counts as a device of the VM on
 * that node, as a pci= device does; adds them to req and one line per port to lines
 * ("vif 0: bridge br0 port eth0 on node 1", newline-separated, "" for none).  A vif whose
 * bridge is not known or does not exist adds nothing (create refuses it on its own). */
int vn_domain_vif_locality(const struct vn_vm_spec *spec, const struct vn_host_topo *topo,
                           struct vn_place_request *req, char *lines, size_t len,
                           struct vn_error *err);

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

/* --- the domain's life after create (watch.c, power.c; docs/ARCHITECTURE.md "The watcher") --- */

/* Starts the watcher of a running domain: vnuma's own binary (/proc/self/exe) as `vnuma
 * __watch --state-dir DIR NAME`, its own session, output to RUN/NAME/watch.log; its pid and
 * start time go into the record (*pid). */
int vn_domain_watch_start(const char *state_dir, const char *name, pid_t *pid,
                          struct vn_error *err);
/* The watcher's body: waits on the domain's watch socket for SHUTDOWN/GUEST_PANICKED and
 * applies the on_* action (life.h); returns when the domain is gone, restarts kept. */
int vn_domain_watch(const char *state_dir, const char *name, struct vn_error *err);
/* For every record whose QEMU and watcher are both gone (the watcher was killed first):
 * applies on_poweroff (destroy or preserve) and reports one sentence per domain. */
int vn_domain_reap(const char *state_dir, void (*report)(void *ctx, const char *msg), void *ctx,
                   struct vn_error *err);

/* What `vnuma shutdown` did. */
struct vn_domain_shutdown_result {
    bool powered_off; /* the guest went within the timeout */
    bool destroyed;   /* it did not, and was destroyed */
    bool preserved;   /* it went and on_poweroff kept its record */
    bool restarted;   /* it powered off and on_poweroff restarts it (same QEMU) */
    double seconds;   /* from the power button to the end */
};
/* Presses the ACPI power button (QMP system_powerdown), waits up to timeout_ms for the guest
 * to power off (QEMU's SHUTDOWN or exit), else destroys it; with wait, also until
 * on_poweroff has been applied (a restart is not waited for). */
int vn_domain_shutdown(const char *state_dir, const char *name, int timeout_ms, bool wait,
                       struct vn_domain_shutdown_result *res, struct vn_error *err);
/* Resets the guest (QMP system_reset): on_reboot applies (restart: in the same QEMU). */
int vn_domain_reboot(const char *state_dir, const char *name, struct vn_error *err);
/* Stops (pause) or resumes the vCPUs (QMP stop / cont) and records paused or running. */
int vn_domain_pause(const char *state_dir, const char *name, bool pause, struct vn_error *err);

/* All domains as a JSON array of {name, state, pid, vcpus, memory_mib, vnodes, host_nodes,
 * accel, uptime_s}; state is running, dead, creating or stopping. */
int vn_domain_list(const char *state_dir, struct json_object **out, struct vn_error *err);

/* One domain in detail: per vnode its pnodes, size and resident pages per host node; per
 * vCPU its thread, soft/hard/current affinity and last CPU; the guest distance matrix.
 * Residency is sampled (numa/sample.h, +-2% of the vnode at 95%, "resident_method":
 * "sampled" and "resident_bound_mib") unless exact, which reads numa_maps. */
int vn_domain_info(const char *state_dir, const char *name, struct json_object **out,
                   struct vn_error *err);
int vn_domain_info_ex(const char *state_dir, const char *name, bool exact, struct json_object **out,
                      struct vn_error *err);

/* --- live migration of vnode memory (migrate.c) --- */

struct vn_domain_migrate_opts {
    const char *state_dir;
    int vnode;                         /* -1: every vnode, one after the other */
    struct vn_bitmap nodes;            /* target host nodes (round-robin over several) */
    double rate_mib_s;                 /* 0: unlimited */
    double pause_ms;                   /* longest move_pages call; 0: VN_MIGRATE_PAUSE_MS */
    const volatile sig_atomic_t *stop; /* set from SIGINT/SIGTERM: stop between batches */
    void (*progress)(void *ctx, int vnode, const struct vn_migrate_progress *p);
    void *progress_ctx;
};

struct vn_domain_migrate_vnode {
    int vnode;
    bool done;       /* every page handled, the record says the targets */
    bool split;      /* stopped early, the record says split */
    char found[256]; /* an unfinished move of the vnode this one took over, or "" */
    struct vn_migrate_report rep;
};

struct vn_domain_migrate_result {
    int n;
    struct vn_domain_migrate_vnode v[VN_MAX_VNODES];
};

/* Moves the memory of one vnode (or all) of a running domain to opts->nodes while it runs:
 * refuses before anything moves when a target lacks free memory; marks the vnode "moving"
 * in the record; sets the memory file's shared policy for future pages; moves the pages in
 * bounded batches; then records the new pnodes and claim.  Stopped early (opts->stop, QEMU
 * exit, an error) the record says the vnode is split, with the measured residency, and err
 * says how to finish or reverse it.  docs/MULTINODE.md has the details. */
int vn_domain_migrate(const char *name, const struct vn_domain_migrate_opts *opts,
                      struct vn_domain_migrate_result *res, struct vn_error *err);

/* --- placement changes and slice-wise moves for vnumad (rebalance.c) --- */

/* A running domain's placement changed in place: vnode v's single pnode becomes pnode[v]
 * (Linux node number; -1 leaves it), and the claim becomes *claim, or, when claim is NULL,
 * the changed vnodes' memory and vCPUs leave their old pnodes for the new one.  The
 * record's memory does not move here: the pnode and claim say where the vnode belongs, and
 * its pages follow (vn_domain_move_*, or vn_domain_migrate).  A vnode with an unfinished
 * vn_domain_migrate entry is refused. */
struct vn_domain_placement_update {
    int nvnodes; /* must equal the record's */
    int pnode[VN_MAX_VNODES];
    const struct vn_claim *claim; /* may be NULL */
    /* NULL, or per vnode the CPUs of its new pnode: they become the recorded soft set of the
     * vnode and of its vCPUs, so `info` says where they now prefer to run. */
    const struct vn_bitmap *soft_cpus;
    /* The host the claim is checked against (NULL: the live host). */
    const struct vn_host_topo *topo;
};
/* Reads domain name's record from s (the typed snapshot every module outside domain/ works
 * from), every path in it replaced by the one vnuma derives; ENOENT in err->errnum when the
 * domain does not exist. */
int vn_domain_read(struct vn_state *s, const char *name, struct vn_domain_record *r,
                   struct vn_error *err);

/* Records whether vnumad may move domain name (`vnuma balance DOMAIN on|off`), under the
 * host lock. */
int vn_domain_set_balance(const char *state_dir, const char *name, bool on, struct vn_error *err);

/* The change applied to a record in memory (pure; vn_domain_set_placement's core). */
int vn_domain_placement_apply(struct vn_domain_record *r,
                              const struct vn_domain_placement_update *u, struct vn_error *err);
/* Under the host lock: reads the record, which must be running, applies u, checks the new
 * claim with every other domain's against the host (vn_dom_claims_fit), writes it back
 * atomically. */
int vn_domain_set_placement(const char *state_dir, const char *name,
                            const struct vn_domain_placement_update *u, struct vn_error *err);

/* Moves a vnode's pages that lie off its recorded (single) pnode there, in slices the caller
 * bounds, up to a budget of MiB actually moved.  It never writes the record: the record
 * already says the pnode, and a stop at any point leaves a consistent one (the rest is
 * measured as off-home and moved later).  begin also sets the memory file's shared policy
 * to the pnode, so new faults land there. */
struct vn_domain_move;
struct vn_domain_move_stats {
    int target;             /* Linux node number */
    uint64_t pages_total;   /* pages of the vnode's mappings */
    uint64_t pages_scanned; /* looked at so far (from the start) */
    uint64_t pages_moved;   /* moved to the target by this mover (not those already there) */
    uint64_t pages_home;    /* found on the target already */
    uint64_t pages_absent;  /* not present (never touched) */
    uint64_t pages_failed;  /* the kernel could not move them (busy, no memory) */
    double move_ms;         /* time spent in move_pages calls that moved pages */
    double longest_call_ms; /* the longest of them: the longest stall a call caused */
    uint32_t calls;         /* those calls */
};
/* max_mib 0: no budget (every off-home page). */
int vn_domain_move_begin(const char *state_dir, const char *name, int vnode, uint64_t max_mib,
                         struct vn_domain_move **out, struct vn_error *err);
/* Looks at the next max_pages pages and moves those off home, within the budget and at most
 * as many as one call moves in half of VN_MIGRATE_PAUSE_MS (numa/migrate.h's batch
 * controller, fed with each call's time; at least 16 pages, so a call overruns only when 16
 * pages already take longer).  Returns 1
 * while there is more to do, 0 when the budget is spent or every page was looked at, -1 with
 * err (QEMU exited, a syscall failed). */
int vn_domain_move_step(struct vn_domain_move *m, uint32_t max_pages, struct vn_error *err);
/* A new budget: max_mib more MiB from now on (0: no budget). */
void vn_domain_move_set_budget(struct vn_domain_move *m, uint64_t max_mib);
void vn_domain_move_get_stats(const struct vn_domain_move *m, struct vn_domain_move_stats *st);
void vn_domain_move_free(struct vn_domain_move *m);

/* --- vCPU affinity on a running domain (vcpu.c), as xl vcpu-pin / vcpu-affinity --- */

struct vn_domain_vcpu_opts {
    int vcpu; /* -1: all */
    bool set_soft;
    struct vn_bitmap soft_nodes; /* soft affinity: the CPUs of these host nodes */
    bool set_hard;
    struct vn_bitmap hard_cpus;
};

struct vn_domain_vcpu_one {
    int vcpu, thread_id;
    bool have_soft, have_hard;
    struct vn_bitmap soft, hard, effective; /* effective: what the thread may run on now */
};

struct vn_domain_vcpu_result {
    int n;
    struct vn_domain_vcpu_one v[VN_MAX_VCPUS]; /* every vCPU a config may have (~1.6 MB) */
};

/* Sets the soft and/or hard affinity of vCPU opts->vcpu (or all) of a running domain: the
 * thread runs on soft ∩ hard (hard when they do not meet); the new sets are recorded in the
 * record's extra.vcpu_affinity and shown by info. */
int vn_domain_vcpu_affinity(const char *state_dir, const char *name,
                            const struct vn_domain_vcpu_opts *opts,
                            struct vn_domain_vcpu_result *res, struct vn_error *err);

/* The host view (Xen's `debug-keys u`): free memory per host node, and per domain its
 * memory per host node and its vnode -> pnode map.  host_spec as for create. */
int vn_domain_numainfo(const char *state_dir, const char *host_spec, struct json_object **out,
                       struct vn_error *err);

/* Where a VNC viewer connects to a running domain, into buf: its socket path, or
 * ADDRESS:PORT for a TCP display; an error when the domain has no VNC. */
int vn_domain_vnc_address(const char *state_dir, const char *name, char *buf, size_t len,
                          struct vn_error *err);

/* The console socket of a domain that exists and runs, into buf. */
int vn_domain_console_path(const char *state_dir, const char *name, char *buf, size_t len,
                           struct vn_error *err);

#endif
