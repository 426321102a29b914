/* Unit tests for memory actuation: the migration batch controller and rate limiter, the
 * residency sampling math, the soft-affinity decision (balance/softaff), and on this host
 * (one node is enough) migration of a child process's range, its refusals and its stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "balance/softaff.h"
#include "numa/cpupressure.h"
#include "numa/migrate.h"
#include "numa/nodeinfo.h"
#include "numa/numa_maps.h"
#include "numa/sample.h"

/* ---- batch controller ---- */

static uint64_t rng = 12345;
static double noise(double spread) /* uniform in [1 - spread, 1 + spread] */
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return 1.0 - spread + 2.0 * spread * (double)(rng >> 11) / (double)(1ULL << 53);
}

/* A call costs overhead + pages * ns_per_page, with +-30% noise. */
static double model(uint32_t pages, double ns_per_page, double overhead_ms)
{
    return (overhead_ms + pages * ns_per_page / 1e6) * noise(0.3);
}

static void test_batch_stays_in_budget(void **state)
{
    struct vn_batch_ctl c;
    vn_batch_init(&c, 20.0, 16, VN_MIGRATE_MAX_BATCH);
    assert_int_equal(c.next, 16);
    int over = 0;
    uint32_t sum = 0;
    for (int i = 0; i < 500; i++) {
        uint32_t n = c.next;
        double ms = model(n, 25000.0, 0.05); /* 25 us per page: ~160 MiB/s, TCG-like */
        over += ms > 20.0;
        vn_batch_update(&c, n, ms);
        if (i >= 400)
            sum += n;
    }
    assert_int_equal(over, 0);
    /* Settles near half the budget: 10 ms / 25 us = 400 pages, less the noise margin. */
    double mean = sum / 100.0;
    assert_true(mean > 200 && mean < 450);
}

static void test_batch_grows_at_most_twofold(void **state)
{
    struct vn_batch_ctl c;
    vn_batch_init(&c, 20.0, 16, 4096);
    uint32_t prev = c.next;
    for (int i = 0; i < 20; i++) {
        uint32_t next = vn_batch_update(&c, prev, prev * 100.0 / 1e6); /* very cheap pages */
        assert_true(next <= 2 * prev);
        prev = next;
    }
    assert_int_equal(prev, 4096); /* capped at max_pages */
}

static void test_batch_step_change(void **state)
{
    struct vn_batch_ctl c;
    vn_batch_init(&c, 20.0, 16, VN_MIGRATE_MAX_BATCH);
    for (int i = 0; i < 100; i++)
        vn_batch_update(&c, c.next, model(c.next, 2000.0, 0.01));
    /* The pages suddenly cost 8x more (contention, a larger folio): one call may overrun,
     * after it the batch is re-sized at once. */
    int over = 0, over_after_first = 0;
    for (int i = 0; i < 100; i++) {
        double ms = model(c.next, 16000.0, 0.01);
        if (ms > 20.0) {
            over++;
            over_after_first += i > 0;
        }
        vn_batch_update(&c, c.next, ms);
    }
    assert_true(over <= 1);
    assert_int_equal(over_after_first, 0);
}

static void test_batch_min_and_zero(void **state)
{
    struct vn_batch_ctl c;
    vn_batch_init(&c, 0, 0, 0); /* defaults: 20 ms, at least 1 page */
    assert_true(c.budget_ms == 20.0);
    assert_int_equal(vn_batch_update(&c, 1, 500.0), 1); /* a page slower than the budget */
    assert_int_equal(vn_batch_update(&c, 0, 0), 1);
}

static void test_rate_delay(void **state)
{
    assert_true(vn_rate_delay_s(100 << 20, 1.0, 0) == 0);
    assert_true(fabs(vn_rate_delay_s(100 << 20, 1.0, 50.0) - 1.0) < 1e-9); /* 100 MiB at 50/s */
    assert_true(vn_rate_delay_s(10 << 20, 1.0, 50.0) == 0);                /* behind: no wait */
}

/* ---- sampling math ---- */

static void test_sample_size_and_bound(void **state)
{
    assert_int_equal(vn_sample_size(0.02, 1ULL << 32), 2401);
    assert_int_equal(vn_sample_size(0.01, 1ULL << 32), 9604);
    assert_int_equal(vn_sample_size(0.02, 1000), 1000); /* capped: exact */
    assert_true(vn_sample_halfwidth(0.5, 2401, 1ULL << 32) <= 0.02);
    assert_true(vn_sample_halfwidth(0.5, 2401, 1ULL << 32) > 0.0199);
    assert_true(vn_sample_halfwidth(0.0, 2401, 1ULL << 32) == 0.0);
    assert_true(vn_sample_halfwidth(0.3, 100, 100) == 0.0); /* all pages seen */
    /* Finite population: 2401 of 4096 pages bound tighter than of 4 G pages. */
    assert_true(vn_sample_halfwidth(0.5, 2401, 4096) < 0.013);
    assert_true(vn_sample_halfwidth(0.5, 0, 10) == 1.0);
}

static void test_sample_pick_strata(void **state)
{
    uint64_t idx[100], again[100];
    vn_sample_pick(1000, 100, 7, idx);
    vn_sample_pick(1000, 100, 7, again);
    assert_memory_equal(idx, again, sizeof idx);
    for (int i = 0; i < 100; i++) {
        assert_true(idx[i] >= (uint64_t)i * 10 && idx[i] < (uint64_t)(i + 1) * 10);
    }
    vn_sample_pick(1000, 100, 8, again);
    assert_true(memcmp(idx, again, sizeof idx) != 0);
    uint64_t all[5];
    vn_sample_pick(5, 9, 1, all);
    for (int i = 0; i < 5; i++)
        assert_int_equal(all[i], i);
    uint64_t odd[3];
    vn_sample_pick(10, 3, 3, odd); /* strata 0-2, 3-5, 6-9 */
    assert_true(odd[0] <= 2 && odd[1] >= 3 && odd[1] <= 5 && odd[2] >= 6 && odd[2] <= 9);
}

/* Monte Carlo over layouts: the stated bound must hold at least as often as it claims. */
static int node_scattered(uint64_t page, uint64_t n) /* 25% node 1, rest node 0, mixed */
{
    uint64_t h = page * 0x9e3779b97f4a7c15ULL;
    (void)n;
    return (h >> 40) % 4 == 0;
}
static int node_halves(uint64_t page, uint64_t n) /* first quarter node 1: mbind of parts */
{
    return page < n / 4;
}

static void coverage(int (*layout)(uint64_t, uint64_t))
{
    const uint64_t n = 1 << 20; /* 4 GiB of 4 KiB pages */
    uint64_t truth = 0;
    for (uint64_t p = 0; p < n; p++)
        truth += layout(p, n);
    double share = (double)truth / n;
    uint64_t k = vn_sample_size(0.02, n);
    uint64_t *idx = malloc(k * sizeof *idx);
    int inside = 0, trials = 300;
    double worst = 0;
    for (int t = 0; t < trials; t++) {
        vn_sample_pick(n, k, 1000 + t, idx);
        uint64_t hits = 0;
        for (uint64_t i = 0; i < k; i++)
            hits += layout(idx[i], n);
        double est = (double)hits / k;
        double hw = vn_sample_halfwidth(est, k, n);
        inside += fabs(est - share) <= hw;
        worst = fmax(worst, fabs(est - share));
    }
    free(idx);
    print_message("# layout share %.4f: %d/%d estimates within the bound, worst error %.4f\n",
                  share, inside, trials, worst);
    assert_true(inside >= trials * 93 / 100);
    assert_true(worst <= 0.02 * 1.5);
}

static void test_sample_coverage(void **state)
{
    coverage(node_scattered);
    coverage(node_halves);
}

/* ---- soft affinity ---- */

/* Four nodes, asymmetric: from 0, node 2 is nearest (12), then 1 (16), then 3 (22). */
static const int dist4[16] = {10,      16, 12, 22, /**/ 16, 10, 16, 22,
                              /**/ 13, 17, 10, 21, 22,      22, 21, 10};

static void pressure_of(double *pr, double home, double others)
{
    pr[0] = home;
    pr[1] = pr[2] = pr[3] = others;
}

static void test_softaff_widen_and_narrow(void **state)
{
    struct vn_softaff_params p;
    struct vn_softaff_state s;
    struct vn_error err = {0};
    double pr[4];
    vn_softaff_params_default(&p);
    vn_softaff_init(&s, 0);
    assert_int_equal(vn_bitmap_count(&s.allowed), 1);
    pressure_of(pr, 1.2, 0.1);
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 0);
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 0);
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 1); /* third sample */
    assert_true(vn_bitmap_test(&s.allowed, 0) && vn_bitmap_test(&s.allowed, 2));
    assert_int_equal(vn_bitmap_count(&s.allowed), 2); /* the nearest by row 0, not node 1 */
    for (int i = 0; i < 10; i++)                      /* max_steps 1: no further widening */
        assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 0);
    pressure_of(pr, 0.1, 0.1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 0);
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 1); /* fifth */
    assert_int_equal(vn_bitmap_count(&s.allowed), 1);
    assert_true(vn_bitmap_test(&s.allowed, 0));
}

static void test_softaff_no_ping_pong(void **state)
{
    struct vn_softaff_params p;
    struct vn_error err = {0};
    double pr[4];
    vn_softaff_params_default(&p);
    /* Load that flips every sample, or hovers around either mark, or dwells in the band, or
     * alternates in runs shorter than narrow_after: at most one change over 1000 samples. */
    for (int period = 1; period <= 4; period++) {
        struct vn_softaff_state s;
        vn_softaff_init(&s, 0);
        int changes = 0;
        for (int i = 0; i < 1000; i++) {
            pressure_of(pr, (i / period) % 2 ? 1.5 : 0.0, 0.1);
            changes += vn_softaff_step(&p, 4, dist4, pr, &s, &err);
        }
        print_message("# runs of %d samples: %d changes\n", period, changes);
        assert_true(changes <= 1);
    }
    struct vn_softaff_state s;
    vn_softaff_init(&s, 0);
    int changes = 0;
    for (int i = 0; i < 1000; i++) {
        pressure_of(pr, i % 2 ? 0.89 : 0.51, 0.1); /* inside the band */
        changes += vn_softaff_step(&p, 4, dist4, pr, &s, &err);
    }
    assert_int_equal(changes, 0);
    vn_softaff_init(&s, 0);
    changes = 0;
    for (int i = 0; i < 1000; i++) {
        pressure_of(pr, i % 3 ? 0.95 : 0.7, 0.1); /* above high, dips into the band */
        changes += vn_softaff_step(&p, 4, dist4, pr, &s, &err);
    }
    assert_int_equal(changes, 0);
}

static void test_softaff_skips_overloaded_ring(void **state)
{
    struct vn_softaff_params p;
    struct vn_softaff_state s;
    struct vn_error err = {0};
    vn_softaff_params_default(&p);
    p.max_steps = 2;
    p.widen_after = 1;
    vn_softaff_init(&s, 0);
    double pr[4] = {1.3, 0.2, 1.0, 0.2}; /* the nearest node (2) is as overloaded */
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 1);
    assert_true(vn_bitmap_test(&s.allowed, 1) && !vn_bitmap_test(&s.allowed, 2));
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 1);
    assert_true(vn_bitmap_test(&s.allowed, 3) && !vn_bitmap_test(&s.allowed, 2));
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), 0); /* max_steps */
    /* Narrowing undoes the steps in reverse. */
    p.narrow_after = 1;
    double calm[4] = {0.0, 0.0, 0.0, 0.0};
    assert_int_equal(vn_softaff_step(&p, 4, dist4, calm, &s, &err), 1);
    assert_true(vn_bitmap_test(&s.allowed, 1) && !vn_bitmap_test(&s.allowed, 3));
    assert_int_equal(vn_softaff_step(&p, 4, dist4, calm, &s, &err), 1);
    assert_int_equal(vn_bitmap_count(&s.allowed), 1);
    /* Every other node overloaded: nothing to widen to. */
    double all[4] = {1.5, 1.5, 1.5, 1.5};
    assert_int_equal(vn_softaff_step(&p, 4, dist4, all, &s, &err), 0);
    assert_int_equal(vn_bitmap_count(&s.allowed), 1);
}

static void test_softaff_errors_and_cpus(void **state)
{
    struct vn_softaff_params p;
    struct vn_softaff_state s;
    struct vn_error err = {0};
    double pr[4] = {0};
    vn_softaff_params_default(&p);
    vn_softaff_init(&s, 4);
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), -1);
    assert_string_equal(err.msg, "the home node 4 is not one of the 4 host nodes");
    vn_softaff_init(&s, 0);
    p.low = 0.95;
    assert_int_equal(vn_softaff_step(&p, 4, dist4, pr, &s, &err), -1);
    assert_non_null(strstr(err.msg, "low 0.95 must be below high 0.90"));

    struct vn_bitmap cpus[4], out;
    for (int n = 0; n < 4; n++) {
        vn_bitmap_zero(&cpus[n]);
        vn_bitmap_set_range(&cpus[n], 2 * n, 2 * n + 1);
    }
    vn_bitmap_set(&s.allowed, 2);
    vn_softaff_cpus(&s, 4, cpus, &out);
    char list[64];
    vn_bitmap_format_list(&out, list, sizeof list);
    assert_string_equal(list, "0-1,4-5");

    double demand[8] = {1.0, 0.5, 0, 0, 2.0, 0, 0, 0};
    double np[4];
    vn_node_pressure(demand, 8, cpus, 4, np);
    assert_true(np[0] == 0.75 && np[1] == 0 && np[2] == 1.0);
}

/* ---- live: a child process plays QEMU ---- */

#define CHILD_MIB 8

struct child {
    pid_t pid;
    uintptr_t addr;
    char path[64];
};

/* Forks a child that maps CHILD_MIB of a tmpfs file shared, touches it, reports the address
 * and waits to be killed. */
static void child_start(struct child *c)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    snprintf(c->path, sizeof c->path, "/dev/shm/vnuma-mig-test-%d", (int)getpid());
    int fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, CHILD_MIB << 20), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        char *p = mmap(NULL, CHILD_MIB << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            _exit(1);
        memset(p, 7, CHILD_MIB << 20);
        uintptr_t a = (uintptr_t)p;
        if (write(pfd[1], &a, sizeof a) != sizeof a)
            _exit(1);
        for (;;)
            pause();
    }
    close(fd);
    close(pfd[1]);
    assert_int_equal(read(pfd[0], &c->addr, sizeof c->addr), sizeof c->addr);
    close(pfd[0]);
}

static void child_stop(struct child *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->pid = 0;
    }
    unlink(c->path);
}

static void test_migrate_child_to_node0(void **state)
{
    struct child c;
    child_start(&c);
    struct vn_error err = {0};

    struct vn_mapping m[4];
    assert_int_equal(vn_mapping_find(c.pid, c.path, m, 4, &err), 1);
    assert_true(m[0].start == c.addr && m[0].end - m[0].start == CHILD_MIB << 20);
    assert_int_equal(vn_mapping_find(c.pid, "/dev/shm/none", m, 4, &err), 0);

    struct vn_migrate_opts o;
    struct vn_migrate_report rep;
    vn_migrate_opts_init(&o);
    vn_bitmap_set(&o.nodes, 0);
    int rc = vn_migrate_range(c.pid, c.addr, CHILD_MIB << 20, &o, &rep, &err);
    if (rc < 0)
        print_message("# %s\n", err.msg);
    assert_int_equal(rc, 0);
    size_t pages = (CHILD_MIB << 20) / (size_t)sysconf(_SC_PAGESIZE);
    assert_int_equal(rep.p.pages_total, pages);
    assert_int_equal(rep.p.pages_done, pages);
    assert_int_equal(rep.p.pages_on_target, pages); /* all already on node 0: a no-op move */
    assert_int_equal(rep.p.pages_failed, 0);
    assert_true(rep.resume_at == c.addr + (CHILD_MIB << 20));
    print_message("# %llu calls, last batch %u pages, longest call %.3f ms, %.0f MiB/s\n",
                  (unsigned long long)rep.p.calls, rep.p.batch_pages, rep.p.longest_call_ms,
                  rep.p.mib_per_s);

    /* Residency: sampling agrees with numa_maps, and every page is on node 0. */
    struct vn_residency_estimate *e = malloc(sizeof *e);
    assert_int_equal(vn_residency_sample(c.pid, c.addr, CHILD_MIB << 20, 0, 256, 1, e, &err), 0);
    assert_int_equal(e->samples, 256);
    assert_int_equal(e->hits[0], 256);
    assert_false(e->exact);
    assert_true(vn_estimate_share(e, 0) == 1.0);
    assert_true(vn_estimate_mib(e, 0, (size_t)sysconf(_SC_PAGESIZE)) == CHILD_MIB);
    assert_int_equal(vn_residency_sample(c.pid, c.addr, CHILD_MIB << 20, 0, 0, 1, e, &err), 0);
    assert_true(e->exact); /* 2048 pages < 2401: every page queried */
    assert_int_equal(e->hits[0], pages);
    free(e);
    struct vn_residency r;
    assert_int_equal(vn_numa_maps_read(c.pid, c.path, &r, &err), 1);
    assert_int_equal(r.pages[0], pages);

    /* The policy of future pages of the tmpfs file. */
    assert_int_equal(vn_shared_policy_set(c.path, 0, CHILD_MIB << 20, &o.nodes, &err), 0);
    child_stop(&c);
}

static void test_migrate_refusals(void **state)
{
    struct child c;
    child_start(&c);
    struct vn_error err = {0};
    struct vn_migrate_opts o;
    struct vn_migrate_report rep;
    vn_migrate_opts_init(&o);
    vn_bitmap_set(&o.nodes, 7);
    assert_int_equal(vn_migrate_range(c.pid, c.addr, CHILD_MIB << 20, &o, &rep, &err), -1);
    assert_string_equal(err.msg,
                        "host node 7 does not exist (no '/sys/devices/system/node/node7')");
    assert_int_equal(rep.p.pages_done, 0);
    assert_int_equal(rep.p.calls, 0);

    vn_bitmap_zero(&o.nodes);
    assert_int_equal(vn_migrate_range(c.pid, c.addr, CHILD_MIB << 20, &o, &rep, &err), -1);
    assert_string_equal(err.msg, "no target node was given");

    vn_bitmap_set(&o.nodes, 0);
    assert_int_equal(vn_migrate_range(c.pid, c.addr + 1, 4096, &o, &rep, &err), -1);
    assert_non_null(strstr(err.msg, "not aligned"));

    assert_int_equal(vn_shared_policy_set(c.path, 0, CHILD_MIB << 20, &o.nodes, &err), 0);
    struct vn_bitmap bad;
    vn_bitmap_zero(&bad);
    vn_bitmap_set(&bad, 9);
    assert_int_equal(vn_shared_policy_set(c.path, 0, 4096, &bad, &err), -1);
    assert_non_null(strstr(err.msg, "host node 9 does not exist"));
    /* A file on a disk file system keeps QEMU's per-mapping policy: said, not hidden. */
    char disk[] = "/tmp/vnuma-mig-diskXXXXXX";
    int fd = mkstemp(disk);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8192), 0);
    close(fd);
    int rc = vn_shared_policy_set(disk, 0, 8192, &o.nodes, &err);
    unlink(disk);
    if (rc == -1) /* /tmp may itself be a tmpfs */
        assert_non_null(strstr(err.msg, "is not on tmpfs"));
    child_stop(&c);
}

struct stopper {
    volatile sig_atomic_t stop;
    struct child *kill_child;
    int calls;
};

static void on_progress(const struct vn_migrate_progress *p, void *opaque)
{
    struct stopper *s = opaque;
    s->calls++;
    assert_true(p->pages_done <= p->pages_total);
    if (s->kill_child && s->kill_child->pid > 0) {
        kill(s->kill_child->pid, SIGKILL);
        waitpid(s->kill_child->pid, NULL, 0);
        s->kill_child->pid = 0;
    } else {
        s->stop = 1; /* as a SIGINT handler would */
    }
}

static void test_migrate_interrupted(void **state)
{
    struct child c;
    child_start(&c);
    struct vn_error err = {0};
    struct stopper st = {0};
    struct vn_migrate_opts o;
    struct vn_migrate_report rep;
    vn_migrate_opts_init(&o);
    vn_bitmap_set(&o.nodes, 0);
    o.stop = &st.stop;
    o.progress = on_progress;
    o.opaque = &st;
    assert_int_equal(vn_migrate_range(c.pid, c.addr, CHILD_MIB << 20, &o, &rep, &err), -1);
    assert_true(rep.interrupted);
    assert_int_equal(st.calls, 1);
    assert_int_equal(rep.p.calls, 1);
    assert_int_equal(rep.p.pages_done, 16); /* the first, smallest batch */
    assert_true(rep.resume_at == c.addr + 16 * (uintptr_t)sysconf(_SC_PAGESIZE));
    assert_non_null(strstr(err.msg, "the migration was interrupted after 16 of 2048 pages"));

    /* A stop requested before the start moves nothing. */
    assert_int_equal(vn_migrate_range(c.pid, c.addr, CHILD_MIB << 20, &o, &rep, &err), -1);
    assert_int_equal(rep.p.pages_done, 0);
    assert_true(rep.interrupted);
    child_stop(&c);
}

static void test_migrate_target_exits(void **state)
{
    struct child c;
    child_start(&c);
    struct vn_error err = {0};
    struct stopper st = {.kill_child = &c};
    struct vn_migrate_opts o;
    struct vn_migrate_report rep;
    vn_migrate_opts_init(&o);
    vn_bitmap_set(&o.nodes, 0);
    o.progress = on_progress;
    o.opaque = &st;
    assert_int_equal(
        vn_migrate_range(c.pid == 0 ? 1 : c.pid, c.addr, CHILD_MIB << 20, &o, &rep, &err), -1);
    assert_true(rep.target_exited);
    assert_false(rep.interrupted);
    assert_int_equal(rep.p.pages_done, 16);
    assert_int_equal(rep.p.pages_on_target, 16);
    assert_non_null(strstr(err.msg, "exited after 16 of 2048 pages were handled"));
    child_stop(&c);
}

/* ---- live: node info and CPU pressure ---- */

static void test_nodeinfo_and_pressure(void **state)
{
    struct vn_error err = {0};
    struct vn_bitmap online, cpus;
    assert_int_equal(vn_node_online(&online, &err), 0);
    assert_true(vn_bitmap_test(&online, 0));
    uint64_t total = 0, avail = 0;
    assert_int_equal(vn_node_meminfo(0, &total, &avail, &err), 0);
    assert_true(total > 0 && avail > 0 && avail <= total);
    assert_int_equal(vn_node_cpus(0, &cpus, &err), 0);
    assert_false(vn_bitmap_empty(&cpus));
    int dist[16];
    assert_true(vn_node_distances(0, dist, 16, &err) >= 1);
    assert_int_equal(dist[0], 10);
    assert_int_equal(vn_node_meminfo(4000, &total, &avail, &err), -1);
    assert_string_equal(err.msg,
                        "host node 4000 does not exist (no '/sys/devices/system/node/node4000')");

    struct vn_cpu_pressure *p = NULL;
    assert_int_equal(vn_cpu_pressure_new(&p, &err), 0);
    double demand[64], dt;
    assert_int_equal(vn_cpu_pressure_sample(p, demand, 64, &dt, &err), 0);
    /* Busy for 300 ms of wall time: /proc/stat counts in ticks of 10 ms. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 300000000L);
    int n = vn_cpu_pressure_sample(p, demand, 64, &dt, &err);
    assert_true(n >= 1);
    assert_true(dt > 0);
    double sum = 0;
    for (int c = 0; c < n; c++) {
        assert_true(demand[c] >= 0);
        sum += demand[c];
    }
    assert_true(sum > 0.1); /* this test was running */
    print_message("# pressure source %s, %d CPUs, sum %.2f over %.3f s, PSI %.2f\n",
                  vn_cpu_pressure_source(p), n, sum, dt, vn_cpu_psi_some10());
    uint64_t run, wait;
    assert_int_equal(vn_thread_schedstat(getpid(), gettid(), &run, &wait, &err), 0);
    assert_true(run > 0);
    vn_cpu_pressure_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_stays_in_budget),
        cmocka_unit_test(test_batch_grows_at_most_twofold),
        cmocka_unit_test(test_batch_step_change),
        cmocka_unit_test(test_batch_min_and_zero),
        cmocka_unit_test(test_rate_delay),
        cmocka_unit_test(test_sample_size_and_bound),
        cmocka_unit_test(test_sample_pick_strata),
        cmocka_unit_test(test_sample_coverage),
        cmocka_unit_test(test_softaff_widen_and_narrow),
        cmocka_unit_test(test_softaff_no_ping_pong),
        cmocka_unit_test(test_softaff_skips_overloaded_ring),
        cmocka_unit_test(test_softaff_errors_and_cpus),
        cmocka_unit_test(test_migrate_child_to_node0),
        cmocka_unit_test(test_migrate_refusals),
        cmocka_unit_test(test_migrate_interrupted),
        cmocka_unit_test(test_migrate_target_exits),
        cmocka_unit_test(test_nodeinfo_and_pressure),
    };
    return cmocka_run_group_tests_name("numa-mig", tests, NULL, NULL);
}
