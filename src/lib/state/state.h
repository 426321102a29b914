/* The state dir: what vnuma knows about the domains of this host, durable across crashes.
 *
 * Layout (docs/STATE.md has the details):
 *   STATE_DIR/                 owner-only (0700), default /run/vnuma
 *   STATE_DIR/host.lock        flock()ed around place + claim + record; holds "pid N: what"
 *   STATE_DIR/domains/NAME.json   one record per domain (0600), replaced atomically
 *   STATE_DIR/run/NAME/        runtime dir of a domain (QMP and console sockets, log...)
 *
 * A record is the truth about a domain, one typed struct with one reader and one writer
 * (record.c): its spec and placement (the structs their owners define; the placement's claim
 * is the domain's claim on host nodes, stored once), the QEMU process (pid plus start time, so
 * a recycled pid is not mistaken for it), its sockets, and what later commands changed: the
 * vCPU sets `vcpu-pin` set, the vnode memory moves under way, `balance on|off`.  Records are
 * written only under the host lock, to a temporary file that is fsynced and renamed over the
 * old one, so a reader sees the old or the new record and never half of one.  Schema version
 * VN_RECORD_VERSION; version 1 records are read (and rewritten as the current version), any
 * other is refused with a message that says so.
 *
 * Reserve-then-launch: `create` writes a record with status "creating" under the lock before
 * QEMU starts, so a parallel `create` counts its claim; it removes the record if launching
 * fails.  While creating, the record names the creating process, so a crashed `create` does
 * not hold its claim forever. */
#ifndef VN_STATE_H
#define VN_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../config/spec.h"
#include "../place/claim.h"
#include "../place/place.h"
#include "../util/error.h"

struct json_object;
struct vn_state;

#define VN_STATE_DEFAULT_DIR "/run/vnuma"
#define VN_DOMAIN_NAME_MAX   64

enum vn_domain_status {
    VN_DOMAIN_CREATING, /* record written, QEMU not (fully) started */
    VN_DOMAIN_RUNNING,
    VN_DOMAIN_PAUSED,
    VN_DOMAIN_MIGRATING, /* memory being moved between host nodes */
    VN_DOMAIN_STOPPING,  /* destroy in progress */
    VN_DOMAIN_PRESERVED, /* the guest stopped and on_* said preserve: QEMU gone, record kept */
};

#define VN_RECORD_VERSION  2
#define VN_MOVE_REASON_MAX 200

/* An unfinished move of one vnode's memory between host nodes (`vnuma mem-move`, vnumad):
 * "moving" while a live process is at it, "split" when it stopped early.  Kept so that a
 * crash leaves the memory counted where it is, and a later move finishes or reverses it. */
enum vn_move_state {
    VN_MOVE_MOVING,
    VN_MOVE_SPLIT,
};

struct vn_move_resident {
    int node; /* Linux node number */
    double mib;
};

struct vn_mem_move {
    int vnode;
    enum vn_move_state state;
    struct vn_bitmap from; /* the vnode's pnodes when the move began */
    struct vn_bitmap to;   /* its targets */
    int nclaim;            /* where the claim counts the vnode's memory meanwhile */
    struct vn_claim_share claim[VN_MAX_VNODES];
    /* moving: what the claim holds on the targets beyond claim[], for the whole move, so
     * nobody else claims the room the pages move into */
    int nreserved;
    struct vn_claim_share reserved[VN_MAX_VNODES];
    pid_t pid; /* the process at it, and its start time */
    uint64_t pid_start;
    int64_t started; /* unix time */
    /* split: how far it got, why it stopped, and where the pages were then */
    uint64_t pages_total, pages_done, pages_moved;
    char reason[VN_MOVE_REASON_MAX];
    int nresident;
    struct vn_move_resident resident[VN_MAX_VNODES];
};

/* The affinity `vnuma vcpu-pin` gave one vCPU of the running domain; it overrides the
 * placement's sets for that vCPU. */
struct vn_vcpu_pin {
    int vcpu;
    bool have_soft, have_hard; /* false: none (any CPU) */
    struct vn_bitmap soft, hard;
    bool have_soft_nodes; /* the host nodes --soft named, shown by `vnuma info` */
    struct vn_bitmap soft_nodes;
};

struct vn_domain_record {
    char name[VN_DOMAIN_NAME_MAX + 1];
    enum vn_domain_status status;
    char *config_path;              /* the config it was created from; may be NULL */
    struct vn_vm_spec *spec;        /* owned; NULL only in records made without one (tests) */
    struct vn_placement *placement; /* owned; NULL until placed; its claim is the domain's */
    pid_t qemu_pid;                 /* 0 until QEMU runs */
    uint64_t qemu_start;            /* its /proc/PID/stat start time (clock ticks since boot) */
    pid_t creator_pid; /* the process that writes the "creating" record; 0 if unknown */
    uint64_t creator_start;
    enum vn_accel accel; /* VN_ACCEL_AUTO until the launcher has chosen */
    char *runtime_dir;   /* these seven may be NULL */
    char *qmp_socket;
    char *console_socket;
    char *log_path;
    char *mem_dir; /* where the vnodes' memory files are */
    char *console_log;
    char *accel_reason; /* why the launcher chose its accelerator */
    int64_t created;    /* unix time */
    int balance;        /* `vnuma balance DOMAIN on|off`: -1 never said, 0 off, 1 on */
    bool balance_fixed; /* vnumad may move it although its pnodes are fixed */
    int nmoves;         /* unfinished vnode memory moves, at most one per vnode */
    struct vn_mem_move *moves;
    int npins; /* vCPUs whose affinity vcpu-pin changed, at most one entry each */
    struct vn_vcpu_pin *pins;
    pid_t watcher_pid; /* the domain's watcher (`vnuma __watch`), 0 when none was started */
    uint64_t watcher_start;
    /* How the domain's life ended, as its watcher (or the list that found it) saw it:
     * "poweroff", "reboot", "crash", "vanished" (QEMU gone without a guest event); NULL while
     * it runs.  stopped_at: unix time. */
    char *stopped;
    int64_t stopped_at;
};

/* Opens the state dir (NULL: VN_STATE_DEFAULT_DIR), creating it and its subdirs owner-only
 * when missing; refuses one that is not a directory, not ours, open to others or unwritable. */
int vn_state_open(const char *dir, struct vn_state **out, struct vn_error *err);
/* Releases the lock if held and frees the handle (NULL is fine). */
void vn_state_close(struct vn_state *s);
/* Cleanup helper for VN_CLEANUP(vn_state_closep). */
void vn_state_closep(struct vn_state **s);
/* The state dir's path. */
const char *vn_state_dir(const struct vn_state *s);

/* Takes the host lock, waiting up to timeout_ms (negative: forever); what ("create 'web1'")
 * is shown to processes that wait for it.  Also removes temp files of crashed writers. */
int vn_state_lock(struct vn_state *s, int timeout_ms, const char *what, struct vn_error *err);
/* Releases the host lock (no-op when not held). */
void vn_state_unlock(struct vn_state *s);
/* True while this handle holds the host lock. */
bool vn_state_locked(const struct vn_state *s);

/* Checks a domain name: letters, digits, '-', '_', '.', 1..64 long, not starting with '-'
 * or '.' (so never "/" nor ".."). */
int vn_domain_name_check(const char *name, struct vn_error *err);

/* Resets r to an empty record: status creating, accel auto, no pids, spec or placement. */
void vn_domain_record_init(struct vn_domain_record *r);
/* Frees what r owns and re-initialises it. */
void vn_domain_record_clear(struct vn_domain_record *r);
/* The domain's claim: its placement's, or an empty one before it is placed. */
const struct vn_claim *vn_domain_claim(const struct vn_domain_record *r);
/* The unfinished move of vnode, or NULL. */
struct vn_mem_move *vn_domain_move(const struct vn_domain_record *r, int vnode);
/* The move entry of vnode, added (zeroed, vnode set) when missing; NULL when out of memory. */
struct vn_mem_move *vn_domain_move_add(struct vn_domain_record *r, int vnode);
/* A move entry as the record spells it (for `vnuma info`). */
struct json_object *vn_domain_move_to_json(const struct vn_mem_move *m);
/* Drops the move entry of vnode (none is fine). */
void vn_domain_move_remove(struct vn_domain_record *r, int vnode);
/* The vcpu-pin entry of vCPU vcpu, or NULL. */
struct vn_vcpu_pin *vn_domain_pin(const struct vn_domain_record *r, int vcpu);
/* The vcpu-pin entry of vcpu, added (zeroed, vcpu set) when missing; NULL when out of memory. */
struct vn_vcpu_pin *vn_domain_pin_add(struct vn_domain_record *r, int vcpu);
/* "creating", "running"...; vn_domain_status_parse is its inverse (-1 for unknown). */
const char *vn_domain_status_name(enum vn_domain_status st);
int vn_domain_status_parse(const char *s, enum vn_domain_status *out);

/* Writes r atomically (temp file, fsync, rename, fsync dir).  Needs the host lock. */
int vn_state_write_record(struct vn_state *s, const struct vn_domain_record *r,
                          struct vn_error *err);
/* Reads and strictly validates the record of name into out (init'ed here; clear it after).
 * A missing domain gives err->errnum == ENOENT. */
int vn_state_read_record(struct vn_state *s, const char *name, struct vn_domain_record *out,
                         struct vn_error *err);
/* Parses buf like vn_state_read_record does the file of domain name (errors say 'NAME.json'). */
int vn_domain_record_from_json_buf(const char *buf, size_t len, const char *name,
                                   struct vn_domain_record *out, struct vn_error *err);
/* Removes the record of name (ENOENT in err->errnum when there is none).  Needs the lock. */
int vn_state_remove_record(struct vn_state *s, const char *name, struct vn_error *err);
/* The names of all records, sorted; free with vn_state_names_free. */
int vn_state_list(struct vn_state *s, char ***names, int *n, struct vn_error *err);
/* Frees a list from vn_state_list. */
void vn_state_names_free(char **names, int n);
/* The claims of every record that holds one (vn_domain_holds_claim), except the domain
 * named exclude (may be NULL); *claims is malloc'ed.  A corrupt record is an error, since
 * placing without its claim could overcommit a node. */
int vn_state_claims(struct vn_state *s, const char *exclude, struct vn_claim **claims, int *n,
                    struct vn_error *err);

/* STATE_DIR/domains/NAME.json into buf; -1 when name is invalid or buf too small. */
int vn_state_record_path(const struct vn_state *s, const char *name, char *buf, size_t len,
                         struct vn_error *err);
/* STATE_DIR/run/NAME (file NULL) or STATE_DIR/run/NAME/FILE into buf. */
int vn_state_runtime_path(const struct vn_state *s, const char *name, const char *file, char *buf,
                          size_t len, struct vn_error *err);
/* The same for the state dir at path dir, which need not exist (nothing is opened). */
int vn_state_runtime_path_in(const char *dir, const char *name, const char *file, char *buf,
                             size_t len, struct vn_error *err);
/* Creates STATE_DIR/run/NAME owner-only (an existing one is fine). */
int vn_state_make_runtime_dir(struct vn_state *s, const char *name, struct vn_error *err);
/* Removes STATE_DIR/run/NAME and the files in it (a missing one is fine; subdirs are not
 * removed, and give an error). */
int vn_state_remove_runtime_dir(struct vn_state *s, const char *name, struct vn_error *err);

/* The start time (field 22 of /proc/PID/stat, clock ticks since boot) of process pid. */
int vn_proc_start_time(pid_t pid, uint64_t *start, struct vn_error *err);
/* True when process pid exists, is not a zombie and started at start (same process). */
bool vn_proc_alive(pid_t pid, uint64_t start);

/* True when the record's QEMU is running: its pid exists with the recorded start time. */
bool vn_domain_alive(const struct vn_domain_record *r);
/* True when the record's claim must count: QEMU alive, or status creating and the creating
 * process alive (or unknown). */
bool vn_domain_holds_claim(const struct vn_domain_record *r);

#endif
