/* vnuma numainfo: the host's NUMA view with every domain on it, as Xen's `debug-keys u`
 * printed it: free memory per host node, each domain's memory per host node (measured) and
 * its vnode -> pnode map. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "domain/domain.h"
#include "util/cleanup.h"
#include "util/table.h"

static void print_help(void)
{
    vn_cli_print_synopsis("numainfo");
    printf("\nOptions:\n"
           "  --json            print the report as JSON\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n");
}

static void print_text(struct json_object *o)
{
    printf("host nodes:\n");
    static const char *const hh[] = {"node", "CPUs", "size MiB", "free MiB"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(4, hh);
    vn_table_align_right(t, 0);
    vn_table_align_right(t, 2);
    vn_table_align_right(t, 3);
    struct json_object *hn = vn_cli_json_get(o, "host_nodes");
    for (size_t i = 0; hn && i < json_object_array_length(hn); i++) {
        struct json_object *n = json_object_array_get_idx(hn, i);
        vn_table_add(t, "%s", vn_cli_json_str(n, "node", "?"));
        vn_table_add(t, "%s", vn_cli_json_str(n, "cpus", "-"));
        vn_table_add(t, "%s", vn_cli_json_str(n, "mem_mib", "?"));
        vn_table_add(t, "%s", vn_cli_json_str(n, "free_mib", "?"));
    }
    vn_table_print(t, stdout, 2);

    struct json_object *doms = vn_cli_json_get(o, "domains");
    size_t nd = doms ? json_object_array_length(doms) : 0;
    printf("\ndomains: %zu\n", nd);
    for (size_t i = 0; i < nd; i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        printf("domain '%s' (%s)\n", vn_cli_json_str(d, "name", "?"),
               vn_cli_json_str(d, "state", "?"));
        if (vn_cli_json_get(d, "error"))
            printf("  %s\n", vn_cli_json_str(d, "error", ""));
        char buf[2048];
        size_t used = 0;
        struct json_object *mem = vn_cli_json_get(d, "memory_by_node");
        buf[0] = '\0';
        for (size_t k = 0; mem && k < json_object_array_length(mem) && used < sizeof buf; k++) {
            struct json_object *e = json_object_array_get_idx(mem, k);
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%snode %d: %.1f MiB",
                                     k ? ", " : "", json_object_get_int(vn_cli_json_get(e, "node")),
                                     json_object_get_double(vn_cli_json_get(e, "mib")));
        }
        printf("  memory per host node: %s\n", used ? buf : "-");
        struct json_object *claim = vn_cli_json_get(d, "claim");
        used = 0;
        buf[0] = '\0';
        for (size_t k = 0; claim && k < json_object_array_length(claim) && used < sizeof buf; k++) {
            struct json_object *e = json_object_array_get_idx(claim, k);
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%snode %s: %s MiB, %s vCPUs",
                                     k ? ", " : "", vn_cli_json_str(e, "node", "?"),
                                     vn_cli_json_str(e, "memory_mib", "?"),
                                     vn_cli_json_str(e, "vcpus", "?"));
        }
        printf("  claim: %s\n", used ? buf : "none (holds no claim)");
        struct json_object *map = vn_cli_json_get(d, "vnode_map");
        for (size_t k = 0; map && k < json_object_array_length(map); k++) {
            struct json_object *e = json_object_array_get_idx(map, k);
            vn_cli_json_int_list(vn_cli_json_get(e, "pnodes"), buf, sizeof buf);
            printf("  vnode %s -> pnode %s (%s MiB)\n", vn_cli_json_str(e, "vnode", "?"),
                   buf[0] ? buf : "-", vn_cli_json_str(e, "memory_mib", "?"));
        }
    }
}

int vn_cmd_numainfo(int argc, char **argv)
{
    struct vn_cli_state_args a;
    int rc = vn_cli_parse_state_args("numainfo", argc, argv, VN_CLI_JSON, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    VN_CLEANUP(vn_cli_json_putp) struct json_object *o = NULL;
    if (vn_domain_numainfo(a.state_dir, NULL, &o, &err) < 0)
        return vn_cli_fail("numainfo", &err);
    if (a.json)
        vn_cli_print_json(o);
    else
        print_text(o);
    return VN_EXIT_OK;
}
