/* vnuma list: every domain of the state dir with its state, size, host nodes, accelerator
 * and uptime; --json prints the same as an array. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "domain/domain.h"
#include "util/cleanup.h"
#include "util/table.h"

static void json_putp(struct json_object **o)
{
    json_object_put(*o);
}

static void print_help(void)
{
    vn_cli_print_synopsis("list");
    printf("\nOptions:\n"
           "  --json            print a JSON array\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nStates: running, creating, stopping, and dead (QEMU has exited; 'vnuma destroy'\n"
           "removes the record).\n");
}

static const char *str(struct json_object *o, const char *key, const char *dflt)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return dflt;
    return json_object_get_string(v);
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

static void host_nodes(struct json_object *o, char *buf, size_t len)
{
    struct json_object *a = NULL;
    buf[0] = '\0';
    if (!json_object_object_get_ex(o, "host_nodes", &a) || !a)
        return;
    size_t used = 0;
    for (size_t i = 0; i < json_object_array_length(a) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "",
                                 json_object_get_int(json_object_array_get_idx(a, i)));
}

int vn_cmd_list(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    const char *state_dir = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 's':
            state_dir = optarg;
            break;
        case 'h':
            print_help();
            return VN_EXIT_OK;
        case ':':
            return vn_cli_usage("list", "option '%s' needs a value", argv[optind - 1]);
        default:
            return vn_cli_usage("list", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return vn_cli_usage("list", "unexpected argument '%s'", argv[optind]);

    struct vn_error err = {0};
    VN_CLEANUP(json_putp) struct json_object *doms = NULL;
    if (vn_domain_list(state_dir, &doms, &err) < 0)
        return vn_cli_fail("list", &err);
    if (json) {
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
        host_nodes(d, nodes, sizeof nodes);
        uptime(d, up, sizeof up);
        vn_table_add(t, "%s", str(d, "name", "?"));
        vn_table_add(t, "%s", str(d, "state", "?"));
        vn_table_add(t, "%s", str(d, "pid", "-"));
        vn_table_add(t, "%s", str(d, "vcpus", "-"));
        vn_table_add(t, "%s", str(d, "memory_mib", "-"));
        vn_table_add(t, "%s", str(d, "vnodes", "-"));
        vn_table_add(t, "%s", nodes[0] ? nodes : "-");
        vn_table_add(t, "%s", str(d, "accel", "-"));
        vn_table_add(t, "%s", up);
    }
    vn_table_print(t, stdout, 0);
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        if (strcmp(str(d, "state", ""), "corrupt") == 0)
            fprintf(stderr, "vnuma list: warning: %s\n", str(d, "error", ""));
    }
    return VN_EXIT_OK;
}
