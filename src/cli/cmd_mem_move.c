/* vnuma mem-move: move the memory of a running domain's vnode (or all vnodes) to other host
 * nodes while the guest runs, with a progress line on a terminal. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "domain/domain.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void print_help(void)
{
    vn_cli_print_synopsis("mem-move");
    printf("\nOptions:\n"
           "  --vnode N         the vnode to move (default: every vnode, one after the other)\n"
           "  --to NODES        target host nodes, e.g. 3 or 2,3 (pages go round-robin)\n"
           "  --rate MIB_S      average rate limit in MiB/s (default: unlimited)\n"
           "  --pause-ms MS     longest single move_pages call, the longest guest stall\n"
           "                    (default 20)\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nNothing moves when a target lacks free memory.  Ctrl-C (or SIGTERM) stops between\n"
           "batches: the record then says the vnode is split between old and new nodes, and\n"
           "running 'vnuma mem-move' again finishes (same --to) or reverses (old nodes) it.\n");
}

struct prog {
    bool tty;
};

static void on_progress(void *ctx, int vnode, const struct vn_migrate_progress *p)
{
    const struct prog *pr = ctx;
    if (!pr->tty)
        return;
    double pct = p->pages_total ? 100.0 * (double)p->pages_done / (double)p->pages_total : 100;
    fprintf(stderr,
            "\r\033[Kvnode %d: %llu/%llu pages (%.0f%%), %llu moved, %.1f MiB/s, ETA %.1f s", vnode,
            (unsigned long long)p->pages_done, (unsigned long long)p->pages_total, pct,
            (unsigned long long)p->pages_on_target, p->mib_per_s, p->eta_s);
}

static int parse_double(const char *opt, const char *s, double min, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= min))
        return vn_cli_usage("mem-move", "option '%s' needs a number of at least %g, not '%s'", opt,
                            min, s);
    *out = v;
    return VN_CLI_RUN;
}

static void summary(const char *name, const struct vn_domain_migrate_vnode *v, const char *to)
{
    const struct vn_migrate_progress *p = &v->rep.p;
    if (v->found[0])
        printf("domain '%s': vnode %d: took over an unfinished move (%s)\n", name, v->vnode,
               v->found);
    printf(
        "domain '%s': vnode %d: %s %llu of %llu pages to host node(s) %s (%llu on the target, %llu "
        "not yet touched, %llu could not move) in %.2f s, %.1f MiB/s; longest call %.1f ms, "
        "%llu over the pause budget\n",
        name, v->vnode, v->done ? "handled" : "stopped after", (unsigned long long)p->pages_done,
        (unsigned long long)p->pages_total, to, (unsigned long long)p->pages_on_target,
        (unsigned long long)p->pages_absent, (unsigned long long)p->pages_failed, p->elapsed_s,
        p->mib_per_s, p->longest_call_ms, (unsigned long long)p->calls_over);
}

int vn_cmd_mem_move(int argc, char **argv)
{
    static const struct option opts[] = {
        {"vnode", required_argument, NULL, 'n'},
        {"to", required_argument, NULL, 't'},
        {"rate", required_argument, NULL, 'r'},
        {"pause-ms", required_argument, NULL, 'p'},
        {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vn_domain_migrate_opts o = {.vnode = -1};
    const char *to = NULL;
    optind = 1;
    opterr = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v >= VN_MAX_VNODES)
                return vn_cli_usage("mem-move", "option '--vnode' needs a vnode number, not '%s'",
                                    optarg);
            o.vnode = (int)v;
            break;
        }
        case 't':
            to = optarg;
            break;
        case 'r':
            if ((rc = parse_double("--rate", optarg, 0.001, &o.rate_mib_s)) != VN_CLI_RUN)
                return rc;
            break;
        case 'p':
            if ((rc = parse_double("--pause-ms", optarg, 0.1, &o.pause_ms)) != VN_CLI_RUN)
                return rc;
            break;
        case 's':
            o.state_dir = optarg;
            break;
        case 'h':
            print_help();
            return VN_EXIT_OK;
        default:
            return vn_cli_bad_option("mem-move", c, argv);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("mem-move", "no domain given");
    if (optind + 1 < argc)
        return vn_cli_usage("mem-move", "unexpected argument '%s'", argv[optind + 1]);
    if (!to)
        return vn_cli_usage("mem-move", "no target given: use --to NODE[,NODE...]");
    struct vn_error err = {0};
    if (vn_bitmap_parse_list(&o.nodes, to, 1023, &err) < 0 || vn_bitmap_empty(&o.nodes))
        return vn_cli_usage("mem-move",
                            "option '--to' needs host node numbers like '3' or '2,3', "
                            "not '%s'",
                            to);
    const char *name = argv[optind];

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct prog pr = {.tty = isatty(STDERR_FILENO) == 1};
    o.stop = &stop_flag;
    o.progress = on_progress;
    o.progress_ctx = &pr;

    static struct vn_domain_migrate_result res;
    rc = vn_domain_migrate(name, &o, &res, &err);
    if (pr.tty && res.n)
        fputc('\n', stderr);
    char tos[256];
    vn_bitmap_format_list(&o.nodes, tos, sizeof tos);
    for (int i = 0; i < res.n; i++)
        if (res.v[i].done || res.v[i].split)
            summary(name, &res.v[i], tos);
    if (rc < 0)
        return vn_cli_fail("mem-move", &err);
    return VN_EXIT_OK;
}

int vn_cmd_migrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* In xl and virsh, migrate moves a domain to another host; the verb is kept for that. */
    fprintf(stderr, "vnuma migrate: error: moving a vnode's memory between this host's nodes is "
                    "'vnuma mem-move DOMAIN [--vnode N] --to NODE[,NODE...]'; 'migrate' is "
                    "reserved for moving a domain to another host, which vnuma does not do "
                    "yet\n");
    return VN_EXIT_USAGE;
}
