/* vnuma console: attach the terminal to a domain's serial console until ^] (or, when stdin
 * is not a terminal, until the end of input or the guest going away). */
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
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("console", argc, argv, VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    const char *name = a.domain;
    struct vn_error err = {0};
    char sock[4096];
    if (vn_domain_console_path(a.state_dir, name, sock, sizeof sock, &err) < 0)
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
