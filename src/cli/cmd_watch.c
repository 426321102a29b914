/* vnuma __watch: the per-domain watcher (not a user command; `create` starts it, see
 * domain/watch.c).  Its output goes to the runtime dir's watch.log. */
#include <stdio.h>

#include "cli.h"
#include "domain/domain.h"

static void print_help(void)
{
    printf("usage: vnuma __watch [--state-dir DIR] DOMAIN\n"
           "  the watcher 'vnuma create' starts for each domain (not for interactive use)\n");
}

int vn_cmd_watch(int argc, char **argv)
{
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("__watch", argc, argv, VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    if (vn_domain_watch(a.state_dir, a.domain, &err) < 0) {
        printf("vnuma watcher: error: %s\n", err.msg);
        return VN_EXIT_FAIL;
    }
    return VN_EXIT_OK;
}
