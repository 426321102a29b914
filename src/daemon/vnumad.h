/* vnumad: the balancing daemon's model, shared by its loop (daemon.c), its pass (pass.c),
 * its observations (observe.c), its crash recovery (recover.c), its sockets (server.c) and
 * its control protocol (protocol.c; the socket's paths and client are ctl.h).
 *
 * vnumad keeps nothing that matters: every pass re-reads the domain records of the state dir
 * and measures /proc, and the policy's memory (struct vn_bal_dom_state) only delays decisions
 * when it is lost.  What a restart forgets is the runtime pause flags and the counters shown
 * by `status` and `metrics`; durable opt-out lives in the record (`vnuma balance DOMAIN off`
 * writes extra.balance = false) or in the config (`balance = 0`). */
#ifndef VN_VNUMAD_H
#define VN_VNUMAD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "balance/policy.h"
#include "config/config.h"
#include "ctl.h"
#include "domain/domain.h"
#include "state/state.h"
#include "topo/topo.h"
#include "util/error.h"

struct json_object;
struct vnd_client;

/* Largest request line on the control socket (bytes, newline included). */
#define VND_REQUEST_MAX  (64 * 1024)
#define VND_LAST_ACTIONS 8    /* actions remembered per domain for `status` */
#define VND_PASS_ACTIONS 256  /* actions one pass may emit */
#define VND_MAX_JOBS     64   /* vnode moves under way at once */
#define VND_STEP_PAGES   2048 /* pages one move slice looks at (8 MiB of 4 KiB pages) */
#define VND_SLICE_MS     20   /* time the loop gives moves between two polls of the socket */

/* The servers' limits (server.c, docs/VNUMAD.md "Limits"): no client can hold the loop. */
#define VND_MAX_CLIENTS      64        /* connections at once; the longest idle makes room */
#define VND_CLIENT_IDLE_MS   10000     /* a connection without progress this long is closed */
#define VND_OUTPUT_MAX       (4 << 20) /* replies queued to one client before it is dropped */
#define VND_HTTP_REQUEST_MAX 8192      /* an HTTP request's head */
#define VND_CLIENT_BURST     8         /* requests of one client served per round */

/* ---- requests (protocol.c) -------------------------------------------------------------- */

enum vnd_cmd {
    VND_CMD_STATUS,
    VND_CMD_PAUSE,   /* domain "" = the whole host */
    VND_CMD_RESUME,  /* domain "" = the whole host */
    VND_CMD_ONCE,    /* run one pass now, reply with its actions */
    VND_CMD_METRICS, /* Prometheus text */
};

struct vnd_request {
    enum vnd_cmd cmd;
    char domain[VN_DOMAIN_NAME_MAX + 1]; /* "" when not given */
};

/* Parses one request line (JSON object {"cmd": "...", "domain": "..."}, trailing newline
 * allowed).  Unknown commands, unknown keys, a bad domain name or a line longer than
 * VND_REQUEST_MAX are errors with a whole-sentence message. */
int vnd_request_parse(const char *line, size_t len, struct vnd_request *out, struct vn_error *err);
/* "status", "pause", ... */
const char *vnd_cmd_name(enum vnd_cmd c);

/* Accumulates bytes of one connection and cuts them into lines. */
struct vnd_linebuf {
    char buf[VND_REQUEST_MAX];
    size_t len;
};
/* Appends n bytes; returns 0, or -1 when a line would exceed VND_REQUEST_MAX (the buffer is
 * then useless: reply with an error and close). */
int vnd_linebuf_add(struct vnd_linebuf *b, const char *data, size_t n);
/* Takes the first complete line out of b into line (NUL-terminated, without its newline;
 * line has VND_REQUEST_MAX bytes); returns its length, or -1 when there is none yet. */
long vnd_linebuf_take(struct vnd_linebuf *b, char *line);

/* One-line replies: {"ok": true, ...body members} / {"ok": false, "error": msg}, newline
 * terminated; malloc'ed.  body (may be NULL) is consumed. */
char *vnd_reply_ok(struct json_object *body);
char *vnd_reply_error(const char *msg);

/* ---- the model ------------------------------------------------------------------------- */

struct vnd_action_log {
    int64_t time; /* unix time */
    enum vn_bal_kind kind;
    enum vn_bal_kind skipped; /* kind stopped, for VN_BAL_SKIPPED */
    enum vn_bal_skip skip;
    int vnode;
    bool failed; /* enacting it failed; result says why */
    uint64_t mib;
    char domain[VN_DOMAIN_NAME_MAX + 1];
    char reason[VN_BAL_REASON];
    char result[VN_ERROR_MSG_MAX + 64];
};

/* One observed domain. */
struct vnd_dom {
    char name[VN_DOMAIN_NAME_MAX + 1];
    bool seen;    /* still has a record (mark and sweep per pass) */
    bool running; /* QEMU alive and status running: the only ones given to the policy */
    char status[16];
    bool paused;    /* `vnuma balance pause DOMAIN` (not durable) */
    unsigned flags; /* VN_BAL_* from spec and record */
    pid_t qemu_pid;
    uint64_t qemu_start;
    char *mem_dir;    /* vnode files dir (record extra.mem_dir) */
    char *qmp_socket; /* may be NULL */

    int nvnodes;
    int home[VN_MAX_VNODES]; /* node index of the vnode's single pnode, -1 several/unknown */
    uint64_t vnode_mib[VN_MAX_VNODES];
    int nvcpus;
    int *vcpu_vnode; /* nvcpus */

    /* vCPU threads, valid for tid_pid/tid_start */
    pid_t tid_pid;
    uint64_t tid_start;
    pid_t *tids;           /* nvcpus, 0 unknown */
    uint64_t *prev_cpu_ns; /* nvcpus, last reading */
    bool have_prev;
    struct vn_bal_vcpu_obs *vcpu_obs; /* nvcpus */

    /* node indexes of its NICs' bridge ports (live host only), counted in re-placing */
    int ndev_nodes;
    int dev_nodes[VN_PLACE_MAX_DEVS];

    int nnodes;
    uint64_t *resident; /* nvnodes * nnodes MiB, by node index */
    uint64_t err_mib[VN_MAX_VNODES];
    double locality[VN_MAX_VNODES]; /* vn_bal_locality, 0..1 */
    double dom_locality;            /* memory-weighted mean over the vnodes */

    /* For re-placing: the record's spec read back (NULL when it does not parse: the domain
     * is then never re-placed) and its claim. */
    struct vn_vm_spec *spec;
    struct vn_claim claim;
    bool have_claim;

    struct vn_bal_dom_state st;
    /* migrations: vnode moves finished; moved_bytes: pages actually moved (not those that
     * were on the target already) times the page size. */
    uint64_t migrations, moved_bytes, actions_done, actions_failed;
    uint64_t skipped[VN_BAL_NSKIP];
    struct vnd_action_log last[VND_LAST_ACTIONS]; /* ring */
    int nlast;
    char problem[VN_ERROR_MSG_MAX]; /* last observation problem, "" when none */
};

/* A vnode's memory moving home in slices between polls of the socket (daemon.c). */
struct vnd_job {
    char domain[VN_DOMAIN_NAME_MAX + 1];
    int vnode;
    int to;          /* Linux node number */
    uint64_t mib;    /* budget of the batch(es) given to it */
    int64_t next_ns; /* not before (paces it at the per-VM rate) */
    uint64_t moved_pages;
    struct vn_domain_move *m;
};

struct vnd_opts {
    const char *state_dir;
    const char *log_path;  /* NULL: stderr */
    const char *host_spec; /* NULL: the live host */
    double interval_s;     /* base interval */
    int metrics_port;      /* 0: none */
    bool foreground_once;  /* --once: one pass, print, exit (tests) */
};

struct vnd {
    struct vnd_opts opts;
    char state_path[4096];
    struct vn_state *state;
    struct vn_host_topo *topo;
    int nnodes;
    int *cpu_node;               /* VN_BITMAP_BITS entries: CPU number -> node index, -1 */
    struct vn_bitmap *node_cpus; /* nnodes, Linux CPU numbers */
    uint64_t *free_mib;          /* nnodes */
    double *pressure;            /* nnodes */
    double *demand;              /* VN_BITMAP_BITS */
    struct vn_cpu_pressure *cp;
    int64_t last_obs_ns;

    struct vn_bal_params params;
    struct vn_bal_state bal;
    bool paused;

    int ndoms, cap;
    struct vnd_dom **doms;
    struct vn_host_load *load; /* claims of every domain that holds one (for re-placing) */
    bool load_ok;              /* load counts every record: else the policy gets none */

    struct vnd_job jobs[VND_MAX_JOBS];
    int njobs;

    /* the last pass */
    struct vnd_action_log pass[VND_PASS_ACTIONS];
    int npass;
    uint64_t passes;
    double interval_s; /* current (adaptive) interval */
    int idle_passes;
    int autonuma;     /* kernel.numa_balancing, -1 unknown */
    bool migrate_api; /* the domain migrate API is built in */
    FILE *log;
    const volatile sig_atomic_t *stop; /* set by SIGTERM/SIGINT: migrations stop early */

    /* server.c */
    int listen_fd, metrics_fd;
    int lock_fd;    /* STATE_DIR/vnumad.lock, flock'ed for the daemon's life */
    bool sock_made; /* the socket at the path is the one bound here: */
    dev_t sock_dev; /* ... this device and inode, checked before unlinking */
    ino_t sock_ino;
    int client_idle_ms;         /* VND_CLIENT_IDLE_MS (tests shorten it) */
    int64_t served_ns;          /* end of the last vnd_server_poll */
    struct vnd_client *clients; /* VND_MAX_CLIENTS slots */
};

static inline int64_t vnd_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- observations (observe.c) ------------------------------------------------------------ */

/* Fills the static part of d (vnodes, homes, vCPU map, flags, paths) from a record; the
 * topology maps Linux node numbers to indexes.  Pure. */
int vnd_dom_from_record(struct vnd_dom *d, const struct vn_domain_record *r,
                        const struct vn_host_topo *topo, struct vn_error *err);
/* Frees what d owns (not d). */
void vnd_dom_clear(struct vnd_dom *d);
/* utime + stime (ns, for ticks clock ticks per second) and the last CPU from the text of
 * /proc/PID/task/TID/stat.  Pure. */
int vnd_parse_task_stat(const char *text, long ticks, uint64_t *cpu_ns, int *last_cpu);
/* Sets the vCPU observations from the current CPU-time readings (cur_ns[i], last_cpu[i]; -1
 * unknown): deltas against d->prev_cpu_ns, node from cpu_node.  Pure. */
void vnd_vcpus_update(struct vnd_dom *d, const uint64_t *cur_ns, const int *last_cpu,
                      const int *cpu_node, int ncpu_node);
/* The policy's view of d; the pointers point into d.  Pure. */
void vnd_dom_obs(const struct vnd_dom *d, struct vn_bal_dom_obs *o);
/* d->dev_nodes: the NUMA nodes of d's NICs' bridge ports (vn_domain_vif_locality: sysfs and
 * the host config), none when they cannot be read. */
void vnd_dom_nic_nodes(struct vnd_dom *d, const struct vn_host_topo *topo);
/* Recomputes d->locality and d->dom_locality from its observations.  Pure. */
void vnd_dom_locality(struct vnd_dom *d);

/* Reads everything a pass needs for d from /proc (threads, CPU times, residency). */
int vnd_observe_dom(struct vnd *v, struct vnd_dom *d, struct vn_error *err);

/* ---- reports (protocol.c) ----------------------------------------------------------------- */

/* The body of the status reply. */
struct json_object *vnd_status_json(const struct vnd *v);
/* The actions of the last pass, as a JSON array. */
struct json_object *vnd_pass_json(const struct vnd *v);
/* One action as JSON. */
struct json_object *vnd_action_json(const struct vnd_action_log *a);
/* Prometheus text format (version 0.0.4) of the counters; malloc'ed. */
char *vnd_metrics_text(const struct vnd *v);

/* ---- the daemon (daemon.c) ------------------------------------------------------------------ */

/* Opens the state dir and the host topology; no socket yet (vnd_run opens them). */
int vnd_init(struct vnd *v, const struct vnd_opts *o, struct vn_error *err);
/* Frees everything, closes the servers (vnd_server_close). */
void vnd_fini(struct vnd *v);

/* ---- the pass (pass.c) ------------------------------------------------------------------------
 */

/* Re-reads every record of the state dir into v->doms (mark and sweep) and the host load. */
void vnd_refresh_doms(struct vnd *v);
/* One pass: observe, decide, enact.  Fills v->pass.  Memory moves are started, not finished:
 * vnd_jobs_run() advances them. */
int vnd_pass(struct vnd *v, struct vn_error *err);
/* Advances the vnode moves under way for at most budget_ms (each at the per-VM rate);
 * returns the number still under way, and in *next_ns (may be NULL) when the next one is
 * due. */
int vnd_jobs_run(struct vnd *v, int budget_ms, int64_t *next_ns);
/* Runs the moves under way to their end (or until *stop): for --once. */
void vnd_jobs_finish(struct vnd *v);
/* One action of the policy enacted for d (logged, remembered, counted). */
void vnd_enact(struct vnd *v, struct vnd_dom *d, const struct vn_bal_action *a);

/* ---- the loop and requests (daemon.c) ---------------------------------------------------------
 */

/* Opens the servers, recovers, then runs passes and serves the sockets until *stop. */
int vnd_run(struct vnd *v, const volatile sig_atomic_t *stop, struct vn_error *err);
/* Logs one line with a timestamp. */
void vnd_log(struct vnd *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The domain named name, or NULL. */
struct vnd_dom *vnd_find(struct vnd *v, const char *name);
/* Handles one request; returns the malloc'ed reply line. */
char *vnd_handle(struct vnd *v, const struct vnd_request *rq);

/* ---- crash recovery (recover.c) ---------------------------------------------------------------
 */

/* Finishes the vnode moves records say were left half-done by a process no longer alive. */
void vnd_recover(struct vnd *v);

/* ---- the sockets (server.c) -------------------------------------------------------------------
 */

/* Takes STATE_DIR/vnumad.lock for v's life (flock; the pid written in it); fails naming the
 * holder's pid when another vnumad has it.  Idempotent. */
int vnd_lock(struct vnd *v, struct vn_error *err);
/* vnd_lock, then listens on the owner-only control socket and, with --metrics-port, on
 * 127.0.0.1:PORT. */
int vnd_server_open(struct vnd *v, struct vn_error *err);
/* Waits at most timeout_ms (less when a client is due) and serves what is ready, bounded per
 * client and round; never blocks on a client. */
void vnd_server_poll(struct vnd *v, int timeout_ms);
/* Closes every connection and listener, unlinks the socket only if it is the one this
 * vnumad bound, releases the lock.  Safe to call twice and after a failed open. */
void vnd_server_close(struct vnd *v);
/* Whether a control-socket peer of uid peer may talk to a vnumad running as euid self:
 * the same user, or root.  Pure. */
bool vnd_peer_allowed(uid_t peer, uid_t self);

#endif
