/* vnuma reboot: reset a running domain (QMP system_reset; QEMU has no ACPI reboot command).
 * on_reboot applies: restart resets it in the same QEMU, destroy/preserve end it. */
#include <stdio.h>

#include "cli.h"
#include "domain/domain.h"

static void print_help(void)
{
    vn_cli_print_synopsis("reboot");
    printf(
        "\nOptions:\n"
        "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
        "  -h, --help        show this help\n"
        "\nThe reset is a hard one (like the reset button): the guest is not asked first.\n"
        "With on_reboot = \"restart\" the guest boots again in the same QEMU, with the same\n"
        "vnodes on the same host nodes; with \"destroy\" or \"preserve\" its watcher ends it.\n");
}

int vn_cmd_reboot(int argc, char **argv)
{
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("reboot", argc, argv, VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    if (vn_domain_reboot(a.state_dir, a.domain, &err) < 0)
        return vn_cli_fail("reboot", &err);
    printf("domain '%s' reset\n", a.domain);
    return VN_EXIT_OK;
}
