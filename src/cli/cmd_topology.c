/* vnuma topology — being written; see its issue. */
#include "cli.h"

int vn_cmd_topology(int argc, char **argv)
{
    struct vn_error err = {0};
    vn_error_set(&err, "'topology' is not implemented yet");
    return vn_cli_fail("topology", &err);
}
