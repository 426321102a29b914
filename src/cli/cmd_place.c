/* vnuma place — being written; see its issue. */
#include "cli.h"

int vn_cmd_place(int argc, char **argv)
{
    struct vn_error err = {0};
    vn_error_set(&err, "'place' is not implemented yet");
    return vn_cli_fail("place", &err);
}
