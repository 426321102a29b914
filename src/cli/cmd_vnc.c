/* vnuma vnc: print where a VNC viewer connects to a domain (its socket, or ADDRESS:PORT). */
#include <stdio.h>

#include "cli.h"
#include "domain/domain.h"

static void print_help(void)
{
    vn_cli_print_synopsis("vnc");
    printf("\nOptions:\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nPrints the UNIX socket path of the domain's VNC display, or ADDRESS:PORT when\n"
           "its config sets vnclisten or vncdisplay. The domain needs vnc = 1.\n");
}

int vn_cmd_vnc(int argc, char **argv)
{
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("vnc", argc, argv, VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    char where[4200];
    if (vn_domain_vnc_address(a.state_dir, a.domain, where, sizeof where, &err) < 0)
        return vn_cli_fail("vnc", &err);
    printf("%s\n", where);
    return VN_EXIT_OK;
}
