/* vnuma destroy: stop a domain's QEMU and remove everything it had (files, record, claim). */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "domain/domain.h"

static void print_help(void)
{
    vn_cli_print_synopsis("destroy");
    printf("\nOptions:\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nQEMU is asked to quit over QMP, then sent SIGTERM and SIGKILL. A domain whose QEMU\n"
           "already exited is cleaned up silently.\n");
}

int vn_cmd_destroy(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state_dir = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 's':
            state_dir = optarg;
            break;
        case 'h':
            print_help();
            return VN_EXIT_OK;
        case ':':
            return vn_cli_usage("destroy", "option '%s' needs a value", argv[optind - 1]);
        default:
            return vn_cli_usage("destroy", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("destroy", "no domain given");
    if (optind + 1 < argc)
        return vn_cli_usage("destroy", "unexpected argument '%s'", argv[optind + 1]);
    struct vn_error err = {0};
    if (vn_domain_destroy(state_dir, argv[optind], &err) < 0)
        return vn_cli_fail("destroy", &err);
    printf("domain '%s' destroyed\n", argv[optind]);
    return VN_EXIT_OK;
}
