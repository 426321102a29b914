/* vnuma info: one domain in detail - where each vnode's memory really is on the host, what
 * each vCPU thread may run on and last ran on, and the distances the guest sees. */
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
    vn_cli_print_synopsis("info");
    printf("\nOptions:\n"
           "  --json            print the report as JSON\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\n'resident' is where the vnode's pages are now, per host node, from\n"
           "/proc/PID/numa_maps (pages the guest never touched are not counted).\n");
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

/* [0, 1] -> "0,1" */
static void int_list(struct json_object *a, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; a && i < json_object_array_length(a) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "",
                                 json_object_get_int(json_object_array_get_idx(a, i)));
}

static void resident(struct json_object *v, char *buf, size_t len)
{
    struct json_object *a = get(v, "resident");
    size_t used = 0;
    buf[0] = '\0';
    if (!a) {
        snprintf(buf, len, "-");
        return;
    }
    for (size_t i = 0; i < json_object_array_length(a) && used < len; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        used += (size_t)snprintf(buf + used, len - used, "%snode %d: %.1f MiB", i ? ", " : "",
                                 json_object_get_int(get(e, "node")),
                                 json_object_get_double(get(e, "mib")));
    }
    if (!used)
        snprintf(buf, len, "none yet");
}

static void print_text(struct json_object *o)
{
    printf("domain '%s': %s", str(o, "name", "?"), str(o, "state", "?"));
    if (get(o, "pid"))
        printf(", QEMU pid %s", str(o, "pid", "?"));
    printf(", %s vCPUs, %s MiB, accelerator %s\n", str(o, "vcpus", "?"), str(o, "memory_mib", "?"),
           str(o, "accel", "?"));
    printf("  config:      %s\n", str(o, "config", "-"));
    printf("  runtime dir: %s\n", str(o, "runtime_dir", "-"));
    printf("  memory dir:  %s\n", str(o, "mem_dir", "-"));
    if (get(o, "accel_reason"))
        printf("  accelerator: %s\n", str(o, "accel_reason", ""));

    printf("\nvnodes (memory per host node from numa_maps):\n");
    static const char *const vh[] = {"vnode", "pnode", "size MiB", "policy", "vCPUs", "resident"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(6, vh);
    vn_table_align_right(t, 0);
    vn_table_align_right(t, 2);
    struct json_object *vn = get(o, "vnode_info");
    char buf[4096];
    for (size_t i = 0; vn && i < json_object_array_length(vn); i++) {
        struct json_object *v = json_object_array_get_idx(vn, i);
        vn_table_add(t, "%s", str(v, "vnode", "?"));
        int_list(get(v, "pnodes"), buf, sizeof buf);
        vn_table_add(t, "%s", buf);
        vn_table_add(t, "%s", str(v, "memory_mib", "?"));
        vn_table_add(t, "%s", str(v, "policy", "-"));
        vn_table_add(t, "%s", str(v, "vcpus", "-")[0] ? str(v, "vcpus", "-") : "-");
        resident(v, buf, sizeof buf);
        vn_table_add(t, "%s", buf);
    }
    vn_table_print(t, stdout, 2);
    for (size_t i = 0; vn && i < json_object_array_length(vn); i++)
        if (get(json_object_array_get_idx(vn, i), "resident_error"))
            printf("  vnode %zu: %s\n", i,
                   str(json_object_array_get_idx(vn, i), "resident_error", ""));

    printf("\nvCPUs:\n");
    static const char *const ch[] = {"vCPU", "vnode",    "thread",  "soft",
                                     "hard", "affinity", "last CPU"};
    VN_CLEANUP(vn_table_freep) struct vn_table *c = vn_table_new(7, ch);
    vn_table_align_right(c, 0);
    vn_table_align_right(c, 1);
    vn_table_align_right(c, 2);
    vn_table_align_right(c, 6);
    struct json_object *vc = get(o, "vcpu_info");
    for (size_t i = 0; vc && i < json_object_array_length(vc); i++) {
        struct json_object *v = json_object_array_get_idx(vc, i);
        vn_table_add(c, "%s", str(v, "vcpu", "?"));
        vn_table_add(c, "%s", str(v, "vnode", "?"));
        vn_table_add(c, "%s", str(v, "thread_id", "-"));
        vn_table_add(c, "%s", str(v, "soft", "-"));
        vn_table_add(c, "%s", str(v, "hard", "-"));
        vn_table_add(c, "%s", str(v, "affinity", "-"));
        vn_table_add(c, "%s", str(v, "last_cpu", "-"));
    }
    vn_table_print(c, stdout, 2);
    if (get(o, "qmp_error"))
        printf("  (thread ids unknown: %s)\n", str(o, "qmp_error", ""));

    struct json_object *d = get(o, "distances");
    size_t n = d ? json_object_array_length(d) : 0;
    printf("\nguest distances:\n");
    VN_CLEANUP(vn_table_freep) struct vn_table *dt = vn_table_new((int)n + 1, NULL);
    vn_table_add(dt, "vnode");
    for (size_t j = 0; j < n; j++)
        vn_table_add(dt, "%zu", j);
    for (size_t j = 0; j <= n; j++)
        vn_table_align_right(dt, (int)j);
    for (size_t i = 0; i < n; i++) {
        struct json_object *row = json_object_array_get_idx(d, i);
        vn_table_add(dt, "%zu", i);
        for (size_t j = 0; j < n; j++)
            vn_table_add(dt, "%d",
                         row ? json_object_get_int(json_object_array_get_idx(row, j)) : 0);
    }
    vn_table_print(dt, stdout, 2);
}

int vn_cmd_info(int argc, char **argv)
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
            return vn_cli_usage("info", "option '%s' needs a value", argv[optind - 1]);
        default:
            return vn_cli_usage("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("info", "no domain given");
    if (optind + 1 < argc)
        return vn_cli_usage("info", "unexpected argument '%s'", argv[optind + 1]);
    struct vn_error err = {0};
    VN_CLEANUP(json_putp) struct json_object *o = NULL;
    if (vn_domain_info(state_dir, argv[optind], &o, &err) < 0)
        return vn_cli_fail("info", &err);
    if (json)
        vn_cli_print_json(o);
    else
        print_text(o);
    return VN_EXIT_OK;
}
