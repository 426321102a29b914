/* vnuma shutdown: press the domain's ACPI power button (QMP system_powerdown), wait for the
 * guest to power off, destroy it when it does not within the timeout. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "domain/domain.h"
#include "util/cleanup.h"

#define DEFAULT_TIMEOUT_S 60
#define MAX_TIMEOUT_S     3600

static void print_help(void)
{
    vn_cli_print_synopsis("shutdown");
    printf("\nOptions:\n"
           "  --timeout S       seconds the guest has to power off (default %d, 1..%d); then\n"
           "                    it is destroyed\n"
           "  --wait            also wait until on_poweroff has been applied (record gone or\n"
           "                    preserved)\n"
           "  --json            print the result as JSON\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nThe guest must react to the ACPI power button (Linux: the 'button' driver and\n"
           "something that powers off on KEY_POWER, such as acpid; docs/GUEST.md).\n",
           DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S);
}

int vn_cmd_shutdown(int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'}, {"wait", no_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},          {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    long timeout = DEFAULT_TIMEOUT_S;
    bool wait = false, json = false;
    const char *state_dir = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 't':
            timeout = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || timeout < 1 || timeout > MAX_TIMEOUT_S)
                return vn_cli_usage("shutdown",
                                    "--timeout '%s' is not a number of seconds in "
                                    "1..%d",
                                    optarg, MAX_TIMEOUT_S);
            break;
        case 'w':
            wait = true;
            break;
        case 'j':
            json = true;
            break;
        case 's':
            state_dir = optarg;
            break;
        case 'h':
            print_help();
            return VN_EXIT_OK;
        default:
            return vn_cli_bad_option("shutdown", c, argv);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("shutdown", "no domain given");
    if (optind + 1 < argc)
        return vn_cli_usage("shutdown", "unexpected argument '%s'", argv[optind + 1]);
    const char *name = argv[optind];
    struct vn_error err = {0};
    struct vn_domain_shutdown_result res;
    if (vn_domain_shutdown(state_dir, name, (int)timeout * 1000, wait, &res, &err) < 0)
        return vn_cli_fail("shutdown", &err);
    const char *outcome = res.destroyed   ? "destroyed"
                          : res.preserved ? "preserved"
                          : res.restarted ? "restarted"
                                          : "powered-off";
    if (json) {
        VN_CLEANUP(vn_cli_json_putp) struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "outcome", json_object_new_string(outcome));
        json_object_object_add(o, "timeout_s", json_object_new_int((int)timeout));
        json_object_object_add(o, "seconds", json_object_new_double(res.seconds));
        vn_cli_print_json(o);
    } else if (res.destroyed) {
        printf("domain '%s' did not power off within %ld s; destroyed it\n", name, timeout);
    } else {
        printf("domain '%s' powered off after %.1f s%s\n", name, res.seconds,
               res.preserved   ? "; on_poweroff kept its record (preserved)"
               : res.restarted ? "; on_poweroff restarts it in the same QEMU"
                               : "");
    }
    return VN_EXIT_OK;
}
