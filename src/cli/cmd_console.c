/* vnuma console: attach the terminal to a domain's serial console until ^] (or, when stdin
 * is not a terminal, until the end of input or the guest going away). */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "domain/console.h"
#include "domain/domain.h"

static void print_help(void)
{
    vn_cli_print_synopsis("console");
    printf("\nOptions:\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nDetach with Ctrl-] (^]). With stdin not a terminal, the input is sent to the\n"
           "guest and the command ends at the end of the input.\n");
}

int vn_cmd_console(int argc, char **argv)
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
            return vn_cli_usage("console", "option '%s' needs a value", argv[optind - 1]);
        default:
            return vn_cli_usage("console", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("console", "no domain given");
    if (optind + 1 < argc)
        return vn_cli_usage("console", "unexpected argument '%s'", argv[optind + 1]);
    const char *name = argv[optind];
    struct vn_error err = {0};
    char sock[4096];
    if (vn_domain_console_path(state_dir, name, sock, sizeof sock, &err) < 0)
        return vn_cli_fail("console", &err);
    fprintf(stderr, "Connected to domain '%s'. Escape character is ^]\n", name);
    int r = vn_console_attach(sock, STDIN_FILENO, STDOUT_FILENO, &err);
    if (r < 0)
        return vn_cli_fail("console", &err);
    if (r == VN_CONSOLE_CLOSED)
        fprintf(stderr, "\nThe console of domain '%s' closed (the guest stopped).\n", name);
    else if (r == VN_CONSOLE_DETACHED)
        fprintf(stderr, "\nDetached from domain '%s'.\n", name);
    return VN_EXIT_OK;
}
