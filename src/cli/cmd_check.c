/* vnuma check — being written; see its issue. */
#include "cli.h"

int vn_cmd_check(int argc, char **argv)
{
    struct vn_error err = {0};
    vn_error_set(&err, "'check' is not implemented yet");
    return vn_cli_fail("check", &err);
}
