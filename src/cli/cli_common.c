/* Pieces several subcommands share: the options of the commands that read the state dir,
 * getopt errors, config diagnostics and the vnode table of a placement. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "cli.h"
#include "config/config.h"
#include "place/place.h"
#include "util/cleanup.h"
#include "util/table.h"

int vn_cli_bad_option(const char *cmd, int c, char **argv)
{
    if (c == ':')
        return vn_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
    return vn_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
}

int vn_cli_parse_state_args(const char *cmd, int argc, char **argv, unsigned flags,
                            void (*help)(void), struct vn_cli_state_args *a)
{
    /* --json first, so that commands without it parse the same table from its second entry
     * and getopt_long treats --json (or an abbreviation) as unknown there. */
    static const struct option long_opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct option *opts = flags & VN_CLI_JSON ? long_opts : long_opts + 1;
    *a = (struct vn_cli_state_args){0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            a->json = true;
            break;
        case 's':
            a->state_dir = optarg;
            break;
        case 'h':
            help();
            return VN_EXIT_OK;
        default:
            return vn_cli_bad_option(cmd, c, argv);
        }
    }
    if (!(flags & VN_CLI_DOMAIN)) {
        if (optind < argc)
            return vn_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
        return VN_CLI_RUN;
    }
    if (optind >= argc)
        return vn_cli_usage(cmd, "no domain given");
    if (optind + 1 < argc)
        return vn_cli_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
    a->domain = argv[optind];
    return VN_CLI_RUN;
}

void vn_cli_json_putp(struct json_object **o)
{
    json_object_put(*o);
}

struct json_object *vn_cli_json_get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *vn_cli_json_str(struct json_object *o, const char *key, const char *dflt)
{
    struct json_object *v = vn_cli_json_get(o, key);
    return v ? json_object_get_string(v) : dflt;
}

void vn_cli_json_int_list(struct json_object *a, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; a && i < json_object_array_length(a) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "",
                                 json_object_get_int(json_object_array_get_idx(a, i)));
}

void vn_cli_print_diags(struct vn_diags *d)
{
    char line[1024];
    vn_diags_sort(d);
    for (int i = 0; i < d->n; i++) {
        vn_diag_format(d, i, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
}

const char *vn_cli_set_text(const struct vn_placement *p, int slot, char *buf, size_t len)
{
    if (slot < 0)
        return "-";
    vn_bitmap_format_list(&p->sets[slot], buf, len);
    return buf;
}

static const char *policy_name(enum vn_mempolicy p)
{
    return p == VN_MEMPOLICY_PREFERRED    ? "preferred"
           : p == VN_MEMPOLICY_INTERLEAVE ? "interleave"
                                          : "bind";
}

void vn_cli_print_vnodes(const struct vn_placement *p, bool policy)
{
    static const char *const headers[] = {"vnode",     "pnode",     "memory MiB", "vCPUs",
                                          "soft CPUs", "hard CPUs", "policy"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(policy ? 7 : 6, headers);
    vn_table_align_right(t, 0);
    vn_table_align_right(t, 2);
    char a[4096], b[4096];
    for (int i = 0; i < p->nvnodes; i++) {
        const struct vn_place_vnode *vn = &p->vnodes[i];
        vn_table_add(t, "%d", i);
        vn_bitmap_format_list(&vn->pnodes, a, sizeof a);
        vn_table_add(t, "%s", a);
        vn_table_add(t, "%llu", (unsigned long long)vn->mem_mib);
        vn_bitmap_format_list(&vn->vcpus, a, sizeof a);
        vn_table_add(t, "%s", vn_bitmap_empty(&vn->vcpus) ? "-" : a);
        vn_table_add(t, "%s", vn_cli_set_text(p, vn->soft, a, sizeof a));
        vn_table_add(t, "%s", vn_cli_set_text(p, vn->hard, b, sizeof b));
        if (policy)
            vn_table_add(t, "%s", policy_name(vn->policy));
    }
    vn_table_print(t, stdout, 2);
}
