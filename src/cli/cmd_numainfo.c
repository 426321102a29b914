/* vnuma numainfo: the host's NUMA view with every domain on it, as Xen's `debug-keys u`
 * printed it: free memory per host node, each domain's memory per host node (measured) and
 * its vnode -> pnode map. */
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
    vn_cli_print_synopsis("numainfo");
    printf("\nOptions:\n"
           "  --json            print the report as JSON\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n");
}

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(struct json_object *o, const char *key, const char *dflt)
{
    struct json_object *v = get(o, key);
    return v ? json_object_get_string(v) : dflt;
}

static void print_text(struct json_object *o)
{
    printf("host nodes:\n");
    static const char *const hh[] = {"node", "CPUs", "size MiB", "free MiB"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(4, hh);
    vn_table_align_right(t, 0);
    vn_table_align_right(t, 2);
    vn_table_align_right(t, 3);
    struct json_object *hn = get(o, "host_nodes");
    for (size_t i = 0; hn && i < json_object_array_length(hn); i++) {
        struct json_object *n = json_object_array_get_idx(hn, i);
        vn_table_add(t, "%s", str(n, "node", "?"));
        vn_table_add(t, "%s", str(n, "cpus", "-"));
        vn_table_add(t, "%s", str(n, "mem_mib", "?"));
        vn_table_add(t, "%s", str(n, "free_mib", "?"));
    }
    vn_table_print(t, stdout, 2);

    struct json_object *doms = get(o, "domains");
    size_t nd = doms ? json_object_array_length(doms) : 0;
    printf("\ndomains: %zu\n", nd);
    for (size_t i = 0; i < nd; i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        printf("domain '%s' (%s)\n", str(d, "name", "?"), str(d, "state", "?"));
        if (get(d, "error"))
            printf("  %s\n", str(d, "error", ""));
        char buf[2048];
        size_t used = 0;
        struct json_object *mem = get(d, "memory_by_node");
        buf[0] = '\0';
        for (size_t k = 0; mem && k < json_object_array_length(mem) && used < sizeof buf; k++) {
            struct json_object *e = json_object_array_get_idx(mem, k);
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%snode %d: %.1f MiB",
                                     k ? ", " : "", json_object_get_int(get(e, "node")),
                                     json_object_get_double(get(e, "mib")));
        }
        printf("  memory per host node: %s\n", used ? buf : "-");
        struct json_object *map = get(d, "vnode_map");
        for (size_t k = 0; map && k < json_object_array_length(map); k++) {
            struct json_object *e = json_object_array_get_idx(map, k);
            struct json_object *pn = get(e, "pnodes");
            used = 0;
            buf[0] = '\0';
            for (size_t j = 0; pn && j < json_object_array_length(pn) && used < sizeof buf; j++)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%d", j ? "," : "",
                                         json_object_get_int(json_object_array_get_idx(pn, j)));
            printf("  vnode %s -> pnode %s (%s MiB)\n", str(e, "vnode", "?"), used ? buf : "-",
                   str(e, "memory_mib", "?"));
        }
    }
}

int vn_cmd_numainfo(int argc, char **argv)
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
            return vn_cli_usage("numainfo", "option '%s' needs a value", argv[optind - 1]);
        default:
            return vn_cli_usage("numainfo", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return vn_cli_usage("numainfo", "unexpected argument '%s'", argv[optind]);
    struct vn_error err = {0};
    VN_CLEANUP(json_putp) struct json_object *o = NULL;
    if (vn_domain_numainfo(state_dir, NULL, &o, &err) < 0)
        return vn_cli_fail("numainfo", &err);
    if (json)
        vn_cli_print_json(o);
    else
        print_text(o);
    return VN_EXIT_OK;
}
