/* Live migration of memory between host nodes: the pages of an address range of another
 * process (one vnode of a running QEMU) move with move_pages(2) while the process runs.
 *
 * A page is unavailable to the guest while the kernel copies it, and one move_pages call
 * holds its whole batch, so the batch size is what bounds a guest stall.  The batch
 * controller measures every call and sizes the next one to half of the pause budget (20 ms
 * by default), growing at most twofold per call and shrinking at once after a slow call.  A
 * rate limit (MiB/s) spaces the batches; a progress callback sees pages, MiB/s and an ETA; a
 * stop flag (set from a signal handler) ends the loop between batches, and the report then
 * says how far it got: the range is split between old and new nodes, never lost.
 *
 * Pages faulted later follow the memory policy, which for a memory-backend-file on tmpfs
 * (share=on) belongs to the file, not to QEMU: vn_shared_policy_set() maps the same file in
 * the caller and mbind()s it, which replaces the policy QEMU set with host-nodes/policy. */
#ifndef VN_MIGRATE_H
#define VN_MIGRATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/bitmap.h"
#include "../util/error.h"

#define VN_MIGRATE_PAUSE_MS  20.0
#define VN_MIGRATE_MAX_BATCH 65536u

/* --- the batch controller and the rate limiter (pure) --- */

struct vn_batch_ctl {
    double budget_ms;   /* no call should last longer */
    double aim;         /* share of the budget a call is sized for (headroom for noise) */
    uint32_t min_pages; /* never smaller (progress even when the estimate is pessimistic) */
    uint32_t max_pages; /* never larger */
    uint32_t next;      /* size of the next batch */
    double ns_per_page; /* cost estimate, 0 before the first call */
};

/* Aims at half the budget and starts at min_pages (the first call measures the cost). */
void vn_batch_init(struct vn_batch_ctl *c, double budget_ms, uint32_t min_pages,
                   uint32_t max_pages);
/* Feeds one call that handled pages in call_ms; returns (and stores in c->next) the size of
 * the next batch.  A call slower per page than the estimate raises it at once; faster calls
 * lower it slowly; the next batch is at most twice this one. */
uint32_t vn_batch_update(struct vn_batch_ctl *c, uint32_t pages, double call_ms);

/* Seconds to wait before more work so that bytes_done after elapsed_s stays within
 * rate_mib_s (0 when rate_mib_s <= 0, or when behind). */
double vn_rate_delay_s(uint64_t bytes_done, double elapsed_s, double rate_mib_s);

/* --- locating a vnode --- */

struct vn_mapping {
    uintptr_t start, end; /* [start, end) in the process */
    uint64_t offset;      /* file offset of start */
};

/* The mappings of file path in /proc/PID/maps (in address order); returns their count (0 when
 * none), at most max are stored. */
int vn_mapping_find(pid_t pid, const char *path, struct vn_mapping *out, int max,
                    struct vn_error *err);

/* --- migration --- */

struct vn_migrate_progress {
    uint64_t pages_total;     /* pages in the range */
    uint64_t pages_done;      /* pages handled, from the start of the range */
    uint64_t pages_on_target; /* handled pages that are now on a target node */
    uint64_t pages_absent;  /* handled pages not present (never touched): the policy covers them */
    uint64_t pages_failed;  /* handled pages the kernel could not move (busy, shared, no memory) */
    int first_failure;      /* errno of the first failed page, 0 if none */
    uint32_t batch_pages;   /* size of the last batch */
    uint64_t calls;         /* move_pages calls made */
    double longest_call_ms; /* the longest single call: the longest stall a batch caused */
    uint64_t calls_over;    /* calls that took longer than the pause budget */
    double elapsed_s;
    double mib_per_s; /* pages handled per second since the start, in MiB */
    double eta_s;     /* at that rate, for the rest of the range */
};

typedef void (*vn_migrate_progress_fn)(const struct vn_migrate_progress *p, void *opaque);

struct vn_migrate_opts {
    struct vn_bitmap nodes;            /* target host nodes; pages go round-robin over them */
    size_t page_size;                  /* 0: the base page size */
    double pause_ms;                   /* budget of one call; 0: VN_MIGRATE_PAUSE_MS */
    double rate_mib_s;                 /* 0: as fast as the budget allows */
    double progress_interval_s;        /* 0: after every batch */
    const volatile sig_atomic_t *stop; /* non-zero: stop before the next batch */
    vn_migrate_progress_fn progress;   /* may be NULL */
    void *opaque;
    bool no_free_check; /* skip the free-memory check (tests) */
};

struct vn_migrate_report {
    struct vn_migrate_progress p;
    bool interrupted;     /* stopped by opts.stop */
    bool target_exited;   /* the process went away */
    uintptr_t resume_at;  /* first address not handled (start + len when done) */
    uint64_t need_kib[8]; /* what the free-memory check needed on the first 8 targets */
};

/* The one move_pages caller of vnuma.  Moves pages[0..n) of process pid to nodes[i] (nodes
 * NULL: only asks where each page is), status[i] then holds each page's node or -errno;
 * *call_ms (may be NULL) is the call's duration, fed to ctl (may be NULL) when pages moved.
 * -1 with errno kept in err->errnum when the call itself failed. */
int vn_pages_move(pid_t pid, uint32_t n, void **pages, const int *nodes, int *status,
                  struct vn_batch_ctl *ctl, double *call_ms, struct vn_error *err);

/* Sets defaults (nodes empty: the caller fills them). */
void vn_migrate_opts_init(struct vn_migrate_opts *o);

/* Checks that every target node exists and has, in MemFree, room for its share of the
 * range's resident pages that are not on a target yet (sampled, upper 95% bound) plus a
 * reserve of 1% of the node or 16 MiB, whichever is larger. */
int vn_migrate_check_free(pid_t pid, uintptr_t start, size_t len, const struct vn_migrate_opts *o,
                          struct vn_migrate_report *rep, struct vn_error *err);

/* Moves the pages of [start, start + len) of process pid to o->nodes (after
 * vn_migrate_check_free unless o->no_free_check).  Returns 0 when the whole range was handled
 * (rep->p.pages_failed may still be non-zero: those pages stayed where they were), -1 with err
 * when refused before anything moved, when stopped (rep->interrupted), when the process
 * exited (rep->target_exited) or on a syscall failure; rep is consistent in every case. */
int vn_migrate_range(pid_t pid, uintptr_t start, size_t len, const struct vn_migrate_opts *o,
                     struct vn_migrate_report *rep, struct vn_error *err);

/* Sets the memory policy of [offset, offset + len) of the tmpfs file path to nodes (MPOL_BIND
 * for one node, MPOL_INTERLEAVE for several): every process's future faults of that part of
 * the file, QEMU's included, allocate there.  Existing pages do not move.  Files elsewhere
 * (hugetlbfs, disks) keep a per-mapping policy that only the mapping process can change: an
 * error says so. */
int vn_shared_policy_set(const char *path, uint64_t offset, uint64_t len,
                         const struct vn_bitmap *nodes, struct vn_error *err);

#endif
