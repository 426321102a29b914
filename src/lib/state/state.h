/* The state dir: what vnuma knows about the domains of this host, durable across crashes.
 *
 * Layout (docs/STATE.md has the details):
 *   STATE_DIR/                 owner-only (0700), default /run/vnuma
 *   STATE_DIR/host.lock        flock()ed around place + claim + record; holds "pid N: what"
 *   STATE_DIR/domains/NAME.json   one record per domain (0600), replaced atomically
 *   STATE_DIR/run/NAME/        runtime dir of a domain (QMP and console sockets, log...)
 *
 * A record is the truth about a domain: its spec and placement (opaque JSON from their
 * owners), its claim on host nodes, the QEMU process (pid plus start time, so a recycled pid
 * is not mistaken for it) and its sockets.  Records are written only under the host lock, to
 * a temporary file that is fsynced and renamed over the old one, so a reader sees the old or
 * the new record and never half of one.
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
};

struct vn_domain_record {
    char name[VN_DOMAIN_NAME_MAX + 1];
    enum vn_domain_status status;
    char *config_path;             /* the config it was created from; may be NULL */
    struct json_object *spec;      /* owned, opaque (vn_spec_to_json); may be NULL */
    struct json_object *placement; /* owned, opaque; NULL until placed */
    struct vn_claim claim;
    pid_t qemu_pid;      /* 0 until QEMU runs */
    uint64_t qemu_start; /* its /proc/PID/stat start time (clock ticks since boot) */
    pid_t creator_pid;   /* the process that writes the "creating" record; 0 if unknown */
    uint64_t creator_start;
    enum vn_accel accel; /* VN_ACCEL_AUTO until the launcher has chosen */
    char *runtime_dir;   /* these four may be NULL */
    char *qmp_socket;
    char *console_socket;
    char *log_path;
    int64_t created;           /* unix time */
    struct json_object *extra; /* owned, a JSON object for later features; may be NULL */
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

/* Resets r to an empty record: status creating, accel auto, no pids, no JSON. */
void vn_domain_record_init(struct vn_domain_record *r);
/* Frees what r owns and re-initialises it. */
void vn_domain_record_clear(struct vn_domain_record *r);
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
