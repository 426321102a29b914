/* vnuma destroy: stop a domain's QEMU and remove everything it had (files, record, claim). */
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
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("destroy", argc, argv, VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    if (vn_domain_destroy(a.state_dir, a.domain, &err) < 0)
        return vn_cli_fail("destroy", &err);
    printf("domain '%s' destroyed\n", a.domain);
    return VN_EXIT_OK;
}
