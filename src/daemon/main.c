/* vnumad: the balancing daemon.  Options, signals, and the loop of daemon.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnumad.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vnumad [--state-dir DIR] [--interval SECONDS] [--log FILE]\n"
            "              [--metrics-port PORT] [--host SPEC] [--once]\n"
            "              [--confirm N] [--replace-after N] [--dwell SECONDS] [--vm-rate MIB_S]\n"
            "\n"
            "Balances the NUMA placement of the running vnuma domains of the state dir.\n"
            "\n"
            "  --state-dir DIR     state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
            "  --interval SECONDS  base interval between passes (default 5)\n"
            "  --log FILE          append the log to FILE instead of stderr\n"
            "  --metrics-port PORT also serve Prometheus metrics on 127.0.0.1:PORT\n"
            "  --host SPEC         host topology (default: the live host)\n"
            "  --once              run one pass, print its actions as JSON and exit\n"
            "\nPolicy knobs (for tests; see docs/BALANCE.md):\n"
            "  --confirm N         intervals a rehome must win in a row (default 3)\n"
            "  --replace-after N   intervals a re-placement must win in a row (default 12)\n"
            "  --dwell SECONDS     no new decision for a vnode this long after it acted (60)\n"
            "  --vm-rate MIB_S     migration rate per VM in MiB/s (default 256)\n"
            "\nControl socket: STATE_DIR/" VND_SOCKET_NAME " (see 'vnuma balance').\n"
            "One vnumad per state dir: it holds STATE_DIR/" VND_LOCK_NAME ".\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"interval", required_argument, NULL, 'i'},
        {"log", required_argument, NULL, 'l'},
        {"metrics-port", required_argument, NULL, 'm'},
        {"host", required_argument, NULL, 'H'},
        {"once", no_argument, NULL, 'o'},
        {"confirm", required_argument, NULL, 'c'},
        {"replace-after", required_argument, NULL, 'r'},
        {"dwell", required_argument, NULL, 'd'},
        {"vm-rate", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vnd_opts o = {.interval_s = 5.0};
    /* Policy knobs: -1 keeps the policy's default (vn_bal_params_default). */
    double dwell_s = -1, vm_rate = -1, confirm = -1, replace_after = -1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            o.state_dir = optarg;
            break;
        case 'i':
            o.interval_s = strtod(optarg, &end);
            if (*end || !(o.interval_s >= 0.1 && o.interval_s <= 3600)) {
                fprintf(stderr, "vnumad: error: --interval '%s' must be 0.1 to 3600 seconds.\n",
                        optarg);
                return 2;
            }
            break;
        case 'l':
            o.log_path = optarg;
            break;
        case 'm': {
            long p = strtol(optarg, &end, 10);
            if (*end || p < 1 || p > 65535) {
                fprintf(stderr, "vnumad: error: --metrics-port '%s' must be 1 to 65535.\n", optarg);
                return 2;
            }
            o.metrics_port = (int)p;
            break;
        }
        case 'H':
            o.host_spec = optarg;
            break;
        case 'o':
            o.foreground_once = true;
            break;
        case 'c':
        case 'r':
            *(c == 'c' ? &confirm : &replace_after) = strtod(optarg, &end);
            if (*end || !(strtod(optarg, NULL) >= 1 && strtod(optarg, NULL) <= 1000) ||
                strtod(optarg, NULL) != (int)strtod(optarg, NULL)) {
                fprintf(stderr, "vnumad: error: --%s '%s' must be a whole number from 1 to 1000.\n",
                        c == 'c' ? "confirm" : "replace-after", optarg);
                return 2;
            }
            break;
        case 'd':
            dwell_s = strtod(optarg, &end);
            if (*end || !(dwell_s >= 0 && dwell_s <= 86400)) {
                fprintf(stderr, "vnumad: error: --dwell '%s' must be 0 to 86400 seconds.\n",
                        optarg);
                return 2;
            }
            break;
        case 'R':
            vm_rate = strtod(optarg, &end);
            if (*end || !(vm_rate >= 0.1 && vm_rate <= 1e6)) {
                fprintf(stderr, "vnumad: error: --vm-rate '%s' must be 0.1 to 1000000 MiB/s.\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vnumad: error: unexpected argument '%s'.\n", argv[optind]);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct vnd v;
    struct vn_error err = {0};
    if (vnd_init(&v, &o, &err) < 0) {
        fprintf(stderr, "vnumad: error: %s\n", err.msg);
        vnd_fini(&v);
        return 1;
    }
    if (confirm > 0)
        v.params.confirm = (int)confirm;
    if (replace_after > 0)
        v.params.replace_after = (int)replace_after;
    if (dwell_s >= 0)
        v.params.dwell_ns = (int64_t)(dwell_s * 1e9);
    if (vm_rate > 0)
        v.params.vm_mib_s = vm_rate;
    int rc = 0;
    if (o.foreground_once) {
        v.stop = &stop_flag;
        /* It enacts actions too: never beside a running vnumad. */
        if (vnd_lock(&v, &err) < 0) {
            fprintf(stderr, "vnumad: error: %s\n", err.msg);
            vnd_fini(&v);
            return 1;
        }
        vnd_recover(&v); /* half-done moves first, as a starting vnumad does */
        struct vnd_request rq = {.cmd = VND_CMD_ONCE};
        char *r = vnd_handle(&v, &rq);
        vnd_jobs_finish(&v); /* the pass's moves, before exiting */
        if (r)
            fputs(r, stdout);
        rc = r && strncmp(r, "{\"ok\":true", 10) == 0 ? 0 : 1;
        free(r);
    } else if (vnd_run(&v, &stop_flag, &err) < 0) {
        fprintf(stderr, "vnumad: error: %s\n", err.msg);
        rc = 1;
    }
    vnd_fini(&v);
    return rc;
}
