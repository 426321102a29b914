/* mn-claims: the stress run's checker (tests/multinode/inner-stress.sh, bench/stress).
 *
 *   mn-claims [--state-dir DIR] --seconds T [--interval-ms MS] [--csv FILE]
 *
 * Samples every domain's claim against each host node's capacity until T seconds have passed
 * or SIGTERM comes.  A sample takes the host lock, as every writer of a record does, so it sees
 * the claims as they were between two commits, never half of a change; it reads the records
 * with the toolstack's own reader and counts a claim only when vn_domain_holds_claim() says so,
 * as placement does.  Capacity is the node's memory as vnuma's topology loader reports it.
 * Prints per node the largest claim total seen and its ratio to capacity, every invariant
 * break (claims above capacity) with the domains involved, and exits 1 on any break. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/state.h"
#include "topo/topo.h"
#include "util/cleanup.h"

#define MAX_NODES   64
#define MAX_DOMAINS 512
#define MAX_BREAKS  10 /* breaks printed in full; all are counted */
#define LOCK_MS     10000

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct sample {
    int ndom;                /* records that hold a claim */
    uint64_t mib[MAX_NODES]; /* claims per node index */
    char names[MAX_DOMAINS][VN_DOMAIN_NAME_MAX + 1];
    struct vn_claim claims[MAX_DOMAINS];
};

/* One consistent look at every claim, under the host lock. */
static int take(struct vn_state *s, const struct vn_host_topo *t, struct sample *out,
                struct vn_error *err)
{
    memset(out->mib, 0, sizeof out->mib);
    out->ndom = 0;
    if (vn_state_lock(s, LOCK_MS, "stress checker", err) < 0)
        return -1;
    char **names = NULL;
    int count = 0, rc = vn_state_list(s, &names, &count, err);
    for (int i = 0; rc == 0 && i < count; i++) {
        struct vn_domain_record r;
        /* A corrupt record is list's business; under the lock no record is half-written. */
        if (vn_state_read_record(s, names[i], &r, err) < 0) {
            fprintf(stderr, "mn-claims: %s\n", err->msg);
            vn_error_clear(err);
            continue;
        }
        if (vn_domain_holds_claim(&r) && out->ndom < MAX_DOMAINS) {
            snprintf(out->names[out->ndom], sizeof out->names[0], "%s", r.name);
            const struct vn_claim *c = vn_domain_claim(&r);
            out->claims[out->ndom++] = *c;
            for (int k = 0; k < c->n; k++)
                for (int j = 0; j < t->nnodes && j < MAX_NODES; j++)
                    if (t->nodes[j].os_index == c->v[k].node)
                        out->mib[j] += c->v[k].mem_mib;
        }
        vn_domain_record_clear(&r);
    }
    vn_state_unlock(s);
    if (names)
        vn_state_names_free(names, count);
    return rc;
}

/* Who holds node j's claims, for the report of a break. */
static void print_holders(const struct sample *sm, int node)
{
    printf("#     held by:");
    for (int d = 0; d < sm->ndom; d++)
        for (int k = 0; k < sm->claims[d].n; k++)
            if (sm->claims[d].v[k].node == node)
                printf(" %s %llu MiB;", sm->names[d],
                       (unsigned long long)sm->claims[d].v[k].mem_mib);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *csv_path = NULL;
    double seconds = 0;
    long interval_ms = 250;
    static const struct option opts[] = {{"state-dir", required_argument, NULL, 'd'},
                                         {"seconds", required_argument, NULL, 's'},
                                         {"interval-ms", required_argument, NULL, 'i'},
                                         {"csv", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 's':
            seconds = strtod(optarg, NULL);
            break;
        case 'i':
            interval_ms = strtol(optarg, NULL, 10);
            break;
        case 'c':
            csv_path = optarg;
            break;
        default:
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 86400 || interval_ms < 10 || interval_ms > 60000) {
        fprintf(stderr, "usage: mn-claims [--state-dir DIR] --seconds 1..86400 "
                        "[--interval-ms 10..60000] [--csv FILE]\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_load(NULL, &err);
    if (!t) {
        fprintf(stderr, "mn-claims: cannot read the host topology: %s\n", err.msg);
        return 2;
    }
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (vn_state_open(dir, &s, &err) < 0) {
        fprintf(stderr, "mn-claims: %s\n", err.msg);
        return 2;
    }
    FILE *csv = NULL;
    if (csv_path) {
        csv = fopen(csv_path, "wx");
        if (!csv) {
            fprintf(stderr, "mn-claims: cannot create '%s': %s\n", csv_path, strerror(errno));
            return 2;
        }
        fprintf(csv, "t_s,domains");
        for (int j = 0; j < t->nnodes && j < MAX_NODES; j++)
            fprintf(csv, ",claim_mib_n%d", t->nodes[j].os_index);
        for (int j = 0; j < t->nnodes && j < MAX_NODES; j++)
            fprintf(csv, ",ratio_n%d", t->nodes[j].os_index);
        fprintf(csv, "\n");
    }

    static struct sample sm;
    uint64_t max_mib[MAX_NODES] = {0};
    double max_at[MAX_NODES] = {0};
    long samples = 0, missed = 0, breaks = 0, max_dom = 0;
    double t0 = now_s(), end = t0 + seconds;
    /* Bounded twice: by the clock and by the count the interval allows. */
    long max_samples = (long)(seconds * 1000.0 / (double)interval_ms) + 1;
    while (!stop && now_s() < end && samples + missed < max_samples) {
        double at = now_s() - t0;
        if (take(s, t, &sm, &err) < 0) {
            fprintf(stderr, "mn-claims: sample at %.1f s missed: %s\n", at, err.msg);
            vn_error_clear(&err);
            missed++;
        } else {
            samples++;
            if (sm.ndom > max_dom)
                max_dom = sm.ndom;
            if (csv)
                fprintf(csv, "%.2f,%d", at, sm.ndom);
            for (int j = 0; j < t->nnodes && j < MAX_NODES; j++) {
                if (csv)
                    fprintf(csv, ",%llu", (unsigned long long)sm.mib[j]);
                if (sm.mib[j] > max_mib[j]) {
                    max_mib[j] = sm.mib[j];
                    max_at[j] = at;
                }
                if (sm.mib[j] > t->nodes[j].mem_mib && ++breaks <= MAX_BREAKS) {
                    printf("# BREAK at %.1f s: host node %d holds claims of %llu MiB, more than "
                           "its %llu MiB\n",
                           at, t->nodes[j].os_index, (unsigned long long)sm.mib[j],
                           (unsigned long long)t->nodes[j].mem_mib);
                    print_holders(&sm, t->nodes[j].os_index);
                }
            }
            for (int j = 0; csv && j < t->nnodes && j < MAX_NODES; j++)
                fprintf(csv, ",%.4f",
                        t->nodes[j].mem_mib ? (double)sm.mib[j] / (double)t->nodes[j].mem_mib
                                            : 0.0);
            if (csv)
                fprintf(csv, "\n");
        }
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (csv)
        fclose(csv);
    /* The lines inner-stress.sh turns into TAP results. */
    printf("samples %ld missed %ld seconds %.1f most_domains %ld\n", samples, missed, now_s() - t0,
           max_dom);
    for (int j = 0; j < t->nnodes && j < MAX_NODES; j++)
        printf("node %d capacity %llu max %llu ratio %.4f at %.1f\n", t->nodes[j].os_index,
               (unsigned long long)t->nodes[j].mem_mib, (unsigned long long)max_mib[j],
               t->nodes[j].mem_mib ? (double)max_mib[j] / (double)t->nodes[j].mem_mib : 0.0,
               max_at[j]);
    printf("breaks %ld\n", breaks);
    return breaks ? 1 : 0;
}
