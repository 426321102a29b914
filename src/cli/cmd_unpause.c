/* vnuma unpause: resume a paused domain's vCPUs (QMP cont); the record says running. */
#include <stdio.h>

#include "cli.h"
#include "domain/domain.h"

static void print_help(void)
{
    vn_cli_print_synopsis("unpause");
    printf("\nOptions:\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n");
}

int vn_cmd_unpause(int argc, char **argv)
{
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("unpause", argc, argv, VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    if (vn_domain_pause(a.state_dir, a.domain, false, &err) < 0)
        return vn_cli_fail("unpause", &err);
    printf("domain '%s' unpaused\n", a.domain);
    return VN_EXIT_OK;
}
