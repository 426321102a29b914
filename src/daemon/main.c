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
    fprintf(f, "usage: vnumad [--state-dir DIR] [--interval SECONDS] [--log FILE]\n"
               "              [--metrics-port PORT] [--host SPEC] [--once]\n"
               "\n"
               "Balances the NUMA placement of the running vnuma domains of the state dir.\n"
               "\n"
               "  --state-dir DIR     state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
               "  --interval SECONDS  base interval between passes (default 5)\n"
               "  --log FILE          append the log to FILE instead of stderr\n"
               "  --metrics-port PORT also serve Prometheus metrics on 127.0.0.1:PORT\n"
               "  --host SPEC         host topology (default: the live host)\n"
               "  --once              run one pass, print its actions as JSON and exit\n"
               "\nControl socket: STATE_DIR/" VND_SOCKET_NAME " (see 'vnuma balance').\n");
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vnd_opts o = {.interval_s = 5.0};
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
    int rc = 0;
    if (o.foreground_once) {
        v.stop = &stop_flag;
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
