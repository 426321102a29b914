/* vnuma pause: stop a running domain's vCPUs (QMP stop); the record says paused. */
#include <stdio.h>

#include "cli.h"
#include "domain/domain.h"

static void print_help(void)
{
    vn_cli_print_synopsis("pause");
    printf("\nOptions:\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nThe guest keeps its memory and claim; 'vnuma unpause' resumes it.\n");
}

int vn_cmd_pause(int argc, char **argv)
{
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("pause", argc, argv, VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    if (vn_domain_pause(a.state_dir, a.domain, true, &err) < 0)
        return vn_cli_fail("pause", &err);
    printf("domain '%s' paused\n", a.domain);
    return VN_EXIT_OK;
}
