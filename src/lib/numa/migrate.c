#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "../proc/proc.h"
#include "../util/cleanup.h"
#include "nodeinfo.h"
#include "sample.h"

/* <linux/mempolicy.h> values, spelled out so that the static test programs need no headers
 * beyond libc's. */
#define MPOL_BIND_       2
#define MPOL_INTERLEAVE_ 3
#define MPOL_MF_MOVE_    (1 << 1)

#define MIN_BATCH       16u
#define RESERVE_MIN_KIB (16u * 1024u)

/* ---- batch controller ---- */

void vn_batch_init(struct vn_batch_ctl *c, double budget_ms, uint32_t min_pages, uint32_t max_pages)
{
    c->budget_ms = budget_ms > 0 ? budget_ms : VN_MIGRATE_PAUSE_MS;
    c->aim = 0.5;
    c->min_pages = min_pages ? min_pages : 1;
    c->max_pages = max_pages >= c->min_pages ? max_pages : c->min_pages;
    c->next = c->min_pages;
    c->ns_per_page = 0;
}

uint32_t vn_batch_update(struct vn_batch_ctl *c, uint32_t pages, double call_ms)
{
    if (pages == 0)
        return c->next;
    double cost = call_ms * 1e6 / pages;
    /* Up at once, down slowly: a call that overran tells more than one that was quick. */
    if (c->ns_per_page <= 0 || cost > c->ns_per_page)
        c->ns_per_page = cost;
    else
        c->ns_per_page = 0.75 * c->ns_per_page + 0.25 * cost;
    double target =
        c->ns_per_page > 0 ? c->budget_ms * c->aim * 1e6 / c->ns_per_page : (double)c->max_pages;
    /* Cost per page is not quite linear (page-table locality, migration of larger folios):
     * never trust the estimate more than twice beyond what was measured. */
    double cap = 2.0 * pages;
    double next = target < cap ? target : cap;
    if (next < c->min_pages)
        next = c->min_pages;
    if (next > c->max_pages)
        next = c->max_pages;
    c->next = (uint32_t)next;
    return c->next;
}

double vn_rate_delay_s(uint64_t bytes_done, double elapsed_s, double rate_mib_s)
{
    if (rate_mib_s <= 0)
        return 0;
    double due = (double)bytes_done / (rate_mib_s * 1024.0 * 1024.0);
    return due > elapsed_s ? due - elapsed_s : 0;
}

/* ---- locating ---- */

int vn_mapping_find(pid_t pid, const char *path, struct vn_mapping *out, int max,
                    struct vn_error *err)
{
    char fname[64];
    snprintf(fname, sizeof fname, "/proc/%d/maps", (int)pid);
    VN_CLEANUP_FILE FILE *f = fopen(fname, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", fname);
    VN_CLEANUP_FREE char *line = NULL;
    size_t cap = 0;
    int count = 0;
    size_t plen = strlen(path);
    while (getline(&line, &cap, f) > 0) {
        unsigned long lo, hi;
        unsigned long long off;
        int at = 0;
        if (sscanf(line, "%lx-%lx %*s %llx %*s %*s %n", &lo, &hi, &off, &at) != 3 || !at)
            continue;
        char *p = line + at;
        p[strcspn(p, "\n")] = '\0';
        /* A backend file removed while QEMU runs shows as "PATH (deleted)". */
        if (strncmp(p, path, plen) != 0 || (p[plen] != '\0' && strcmp(p + plen, " (deleted)") != 0))
            continue;
        if (count < max)
            out[count] = (struct vn_mapping){.start = lo, .end = hi, .offset = off};
        count++;
    }
    return count;
}

/* ---- migration ---- */

void vn_migrate_opts_init(struct vn_migrate_opts *o)
{
    memset(o, 0, sizeof *o);
    vn_bitmap_zero(&o->nodes);
    o->pause_ms = VN_MIGRATE_PAUSE_MS;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t page_size_of(const struct vn_migrate_opts *o)
{
    return o->page_size ? o->page_size : (size_t)sysconf(_SC_PAGESIZE);
}

/* True while pid exists and is not a zombie (whose memory is already gone). */
static bool process_alive(pid_t pid)
{
    struct vn_proc_stat st;
    return vn_proc_stat_read(pid, 0, &st, NULL) == 0 && st.state != 'Z' && st.state != 'X';
}

/* After a failed call: true when pid is gone or goes within a second.  A process being
 * killed tears its memory down before /proc shows it dead, and move_pages then fails with
 * EINVAL or EFAULT rather than ESRCH. */
static bool process_exiting(pid_t pid)
{
    for (int i = 0; i < 100; i++) {
        if (!process_alive(pid))
            return true;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static double mib(uint64_t pages, size_t page_size)
{
    return (double)pages * (double)page_size / (1024.0 * 1024.0);
}

int vn_migrate_check_free(pid_t pid, uintptr_t start, size_t len, const struct vn_migrate_opts *o,
                          struct vn_migrate_report *rep, struct vn_error *err)
{
    size_t ps = page_size_of(o);
    int ntargets = vn_bitmap_count(&o->nodes);
    if (ntargets == 0)
        return vn_error_set(err, "no target node was given");
    /* Every node must exist before anything is measured: the usual mistake is a typo. */
    VN_BITMAP_FOREACH(n, &o->nodes)
    {
        uint64_t total, avail;
        if (vn_node_meminfo(n, &total, &avail, err) < 0)
            return -1;
        if (total == 0)
            return vn_error_set(err, "host node %d has no memory", n);
    }
    struct vn_residency_estimate *e = malloc(sizeof *e);
    if (!e)
        return vn_error_sys(err, ENOMEM, "cannot check free memory");
    int rc = vn_residency_sample(pid, start, len, ps, 0, (uint64_t)start ^ 0x5eed, e, err);
    if (rc < 0) {
        free(e);
        return vn_error_prefix(err, "cannot measure the range before moving it");
    }
    uint64_t elsewhere = e->samples - e->absent - e->failed;
    VN_BITMAP_FOREACH(n, &o->nodes)
    if (n < VN_NUMA_MAPS_MAX_NODES)
        elsewhere -= e->hits[n];
    double p = e->samples ? (double)elsewhere / (double)e->samples : 0;
    double upper = e->exact ? p : fmin(1.0, p + vn_sample_halfwidth(p, e->samples, e->range_pages));
    if (!e->exact && elsewhere > 0 && upper < p + 1.0 / (double)e->samples)
        upper = p + 1.0 / (double)e->samples;
    double need_pages = ceil(upper * (double)e->range_pages / ntargets);
    free(e);

    int i = 0;
    VN_BITMAP_FOREACH(n, &o->nodes)
    {
        uint64_t total, avail;
        if (vn_node_meminfo(n, &total, &avail, err) < 0)
            return -1;
        uint64_t need_kib = (uint64_t)(need_pages * (double)ps / 1024.0);
        uint64_t reserve = total / 100 > RESERVE_MIN_KIB ? total / 100 : RESERVE_MIN_KIB;
        if (rep && i < (int)VN_ARRAY_SIZE(rep->need_kib))
            rep->need_kib[i] = need_kib;
        i++;
        if (avail < need_kib + reserve)
            return vn_error_set(err,
                                "host node %d has %" PRIu64 " MiB free, not enough for the %" PRIu64
                                " MiB of the range that would move there and a reserve of %" PRIu64
                                " MiB; nothing was moved",
                                n, avail / 1024, (need_kib + 1023) / 1024, reserve / 1024);
    }
    return 0;
}

static void update_rates(struct vn_migrate_progress *p, size_t ps, double t0)
{
    p->elapsed_s = now_s() - t0;
    p->mib_per_s = p->elapsed_s > 0 ? mib(p->pages_done, ps) / p->elapsed_s : 0;
    p->eta_s = p->mib_per_s > 0 ? mib(p->pages_total - p->pages_done, ps) / p->mib_per_s : 0;
}

int vn_pages_move(pid_t pid, uint32_t n, void **pages, const int *nodes, int *status,
                  struct vn_batch_ctl *ctl, double *call_ms, struct vn_error *err)
{
    double c0 = now_s();
    long rc = syscall(SYS_move_pages, (int)pid, (unsigned long)n, pages, nodes, status,
                      nodes ? MPOL_MF_MOVE_ : 0);
    int e = errno;
    double ms = (now_s() - c0) * 1e3;
    if (call_ms)
        *call_ms = ms;
    if (rc < 0)
        return vn_error_sys(err, e, "cannot %s the pages of process %d", nodes ? "move" : "query",
                            (int)pid);
    if (ctl && nodes)
        vn_batch_update(ctl, n, ms);
    return 0;
}

int vn_migrate_range(pid_t pid, uintptr_t start, size_t len, const struct vn_migrate_opts *o,
                     struct vn_migrate_report *rep, struct vn_error *err)
{
    size_t ps = page_size_of(o);
    memset(rep, 0, sizeof *rep);
    rep->resume_at = start;
    if (len == 0 || start % ps || len % ps)
        return vn_error_set(err,
                            "the range 0x%lx+%zu is empty or not aligned to pages of %zu bytes",
                            (unsigned long)start, len, ps);
    int targets[VN_BITMAP_BITS];
    int ntargets = 0;
    VN_BITMAP_FOREACH(n, &o->nodes)
    targets[ntargets++] = n;
    if (ntargets == 0)
        return vn_error_set(err, "no target node was given");
    if (!o->no_free_check && vn_migrate_check_free(pid, start, len, o, rep, err) < 0)
        return -1;

    struct vn_migrate_progress *p = &rep->p;
    p->pages_total = len / ps;
    struct vn_batch_ctl ctl;
    vn_batch_init(&ctl, o->pause_ms, MIN_BATCH, VN_MIGRATE_MAX_BATCH);
    VN_CLEANUP_FREE void **pages = malloc(VN_MIGRATE_MAX_BATCH * sizeof *pages);
    VN_CLEANUP_FREE int *nodes = malloc(VN_MIGRATE_MAX_BATCH * sizeof *nodes);
    VN_CLEANUP_FREE int *status = malloc(VN_MIGRATE_MAX_BATCH * sizeof *status);
    if (!pages || !nodes || !status)
        return vn_error_sys(err, ENOMEM, "cannot allocate the migration batches");

    double t0 = now_s(), last_report = t0;
    while (p->pages_done < p->pages_total) {
        if (o->stop && *o->stop) {
            rep->interrupted = true;
            break;
        }
        double delay = vn_rate_delay_s(p->pages_done * ps, now_s() - t0, o->rate_mib_s);
        if (delay > 0) {
            /* Short naps, so that a stop request is seen within 50 ms. */
            double nap = delay < 0.05 ? delay : 0.05;
            struct timespec ts = {(time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9)};
            nanosleep(&ts, NULL);
            continue;
        }
        uint64_t left = p->pages_total - p->pages_done;
        uint32_t n = ctl.next < left ? ctl.next : (uint32_t)left;
        for (uint32_t j = 0; j < n; j++) {
            uint64_t idx = p->pages_done + j;
            pages[j] = (void *)(start + idx * ps);
            nodes[j] = targets[idx % (uint64_t)ntargets];
        }
        double call_ms = 0;
        struct vn_error merr = {0};
        if (vn_pages_move(pid, n, pages, nodes, status, NULL, &call_ms, &merr) < 0) {
            int e = merr.errnum;
            if (e == ESRCH || process_exiting(pid)) {
                rep->target_exited = true;
                break;
            }
            update_rates(p, ps, t0);
            if (e == EPERM || e == EACCES)
                return vn_error_sys(err, e,
                                    "not permitted to move the pages of process %d (the same user "
                                    "or CAP_SYS_NICE is needed)",
                                    (int)pid);
            return vn_error_sys(err, e,
                                "cannot move the pages of process %d at 0x%lx after %" PRIu64
                                " of %" PRIu64 " pages",
                                (int)pid, (unsigned long)pages[0], p->pages_done, p->pages_total);
        }
        p->calls++;
        if (call_ms > p->longest_call_ms)
            p->longest_call_ms = call_ms;
        p->calls_over += call_ms > ctl.budget_ms;
        for (uint32_t j = 0; j < n; j++) {
            int s = status[j];
            if (s == nodes[j]) {
                p->pages_on_target++;
            } else if (s == -ENOENT || s == -EFAULT) {
                p->pages_absent++;
            } else {
                p->pages_failed++;
                if (!p->first_failure)
                    p->first_failure = s < 0 ? -s : EBUSY;
            }
        }
        p->pages_done += n;
        p->batch_pages = n;
        rep->resume_at = start + p->pages_done * ps;
        vn_batch_update(&ctl, n, call_ms);

        update_rates(p, ps, t0);
        double t = now_s();
        if (o->progress &&
            (t - last_report >= o->progress_interval_s || p->pages_done == p->pages_total)) {
            o->progress(p, o->opaque);
            last_report = t;
        }
    }
    update_rates(p, ps, t0);

    if (rep->target_exited)
        return vn_error_set(err,
                            "process %d exited after %" PRIu64 " of %" PRIu64
                            " pages were handled (%" PRIu64 " on the target nodes); its memory "
                            "is gone",
                            (int)pid, p->pages_done, p->pages_total, p->pages_on_target);
    if (rep->interrupted)
        return vn_error_set(err,
                            "the migration was interrupted after %" PRIu64 " of %" PRIu64
                            " pages (%.1f of %.1f MiB); the range is split between its old and "
                            "new nodes from 0x%lx on",
                            p->pages_done, p->pages_total, mib(p->pages_done, ps),
                            mib(p->pages_total, ps), (unsigned long)rep->resume_at);
    return 0;
}

/* ---- policy of future pages ---- */

int vn_shared_policy_set(const char *path, uint64_t offset, uint64_t len,
                         const struct vn_bitmap *nodes, struct vn_error *err)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    if (len == 0 || offset % ps || len % ps)
        return vn_error_set(err,
                            "the part %" PRIu64 "+%" PRIu64 " of '%s' is empty or not "
                            "aligned to pages",
                            offset, len, path);
    int count = vn_bitmap_count(nodes);
    if (count == 0)
        return vn_error_set(err, "no node was given for the policy of '%s'", path);
    VN_BITMAP_FOREACH(n, nodes)
    {
        uint64_t total, avail;
        if (vn_node_meminfo(n, &total, &avail, err) < 0)
            return -1;
    }
    VN_CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot open '%s'", path);
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0)
        return vn_error_sys(err, errno, "cannot tell the file system of '%s'", path);
    if (sfs.f_type != TMPFS_MAGIC)
        return vn_error_set(err,
                            "'%s' is not on tmpfs: its memory policy belongs to the process that "
                            "maps it, so new pages keep following the policy QEMU set",
                            path);
    void *addr = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)offset);
    if (addr == MAP_FAILED)
        return vn_error_sys(err, errno, "cannot map '%s'", path);
    /* The kernel reads maxnode - 1 bits. */
    unsigned long mask[VN_BITMAP_WORDS];
    memcpy(mask, nodes->w, sizeof mask);
    int mode = count == 1 ? MPOL_BIND_ : MPOL_INTERLEAVE_;
    /* No MPOL_MF_MOVE: our mapping has no pages; moving is move_pages' job on QEMU's side. */
    long rc = syscall(SYS_mbind, addr, (unsigned long)len, mode, mask,
                      (unsigned long)VN_BITMAP_BITS + 1, 0UL);
    int saved = errno;
    munmap(addr, len);
    if (rc < 0) {
        char list[256];
        vn_bitmap_format_list(nodes, list, sizeof list);
        return vn_error_sys(err, saved, "cannot set the memory policy of '%s' to nodes '%s'", path,
                            list);
    }
    return 0;
}
