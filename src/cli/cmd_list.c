/* vnuma list: every domain of the state dir with its state, size, host nodes, accelerator
 * and uptime; --json prints the same as an array. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "domain/domain.h"
#include "util/cleanup.h"
#include "util/table.h"

static void print_help(void)
{
    vn_cli_print_synopsis("list");
    printf("\nOptions:\n"
           "  --json            print a JSON array\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nStates: running, paused, creating, stopping, preserved (the guest stopped and\n"
           "on_poweroff/on_reboot/on_crash said preserve), and dead (QEMU has exited;\n"
           "'vnuma destroy' removes the record).  A domain whose QEMU and watcher are both\n"
           "gone gets its on_poweroff action first, and list says so on stderr.\n");
}

static void uptime(struct json_object *o, char *buf, size_t len)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, "uptime_s", &v) || !v) {
        snprintf(buf, len, "-");
        return;
    }
    long long s = (long long)json_object_get_int64(v);
    if (s >= 86400)
        snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
}

static void report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vnuma list: %s\n", msg);
}

int vn_cmd_list(int argc, char **argv)
{
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("list", argc, argv, VN_CLI_JSON, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;

    struct vn_error err = {0};
    if (vn_domain_reap(a.state_dir, report, NULL, &err) < 0)
        return vn_cli_fail("list", &err);
    VN_CLEANUP(vn_cli_json_putp) struct json_object *doms = NULL;
    if (vn_domain_list(a.state_dir, &doms, &err) < 0)
        return vn_cli_fail("list", &err);
    if (a.json) {
        vn_cli_print_json(doms);
        return VN_EXIT_OK;
    }
    static const char *const headers[] = {"name",   "state",      "pid",   "vCPUs", "memory MiB",
                                          "vnodes", "host nodes", "accel", "uptime"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(9, headers);
    for (int col = 2; col <= 5; col++)
        vn_table_align_right(t, col);
    vn_table_align_right(t, 8);
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        char nodes[256], up[32];
        vn_cli_json_int_list(vn_cli_json_get(d, "host_nodes"), nodes, sizeof nodes);
        uptime(d, up, sizeof up);
        vn_table_add(t, "%s", vn_cli_json_str(d, "name", "?"));
        vn_table_add(t, "%s", vn_cli_json_str(d, "state", "?"));
        vn_table_add(t, "%s", vn_cli_json_str(d, "pid", "-"));
        vn_table_add(t, "%s", vn_cli_json_str(d, "vcpus", "-"));
        vn_table_add(t, "%s", vn_cli_json_str(d, "memory_mib", "-"));
        vn_table_add(t, "%s", vn_cli_json_str(d, "vnodes", "-"));
        vn_table_add(t, "%s", nodes[0] ? nodes : "-");
        vn_table_add(t, "%s", vn_cli_json_str(d, "accel", "-"));
        vn_table_add(t, "%s", up);
    }
    vn_table_print(t, stdout, 0);
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        if (strcmp(vn_cli_json_str(d, "state", ""), "corrupt") == 0)
            fprintf(stderr, "vnuma list: warning: %s\n", vn_cli_json_str(d, "error", ""));
        if (vn_cli_json_get(d, "orphan"))
            fprintf(stderr, "vnuma list: warning: %s\n", vn_cli_json_str(d, "orphan", ""));
        if (vn_cli_json_get(d, "unfinished"))
            fprintf(stderr, "vnuma list: warning: %s\n", vn_cli_json_str(d, "unfinished", ""));
    }
    return VN_EXIT_OK;
}
