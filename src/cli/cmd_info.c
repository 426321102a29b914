/* vnuma info: one domain in detail - where each vnode's memory really is on the host, what
 * each vCPU thread may run on and last ran on, and the distances the guest sees. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "domain/domain.h"
#include "util/cleanup.h"
#include "util/table.h"

static void print_help(void)
{
    vn_cli_print_synopsis("info");
    printf("\nOptions:\n"
           "  --json            print the report as JSON\n"
           "  --exact           count every page (numa_maps) instead of sampling\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\n'resident' is where the vnode's pages are now, per host node: by default\n"
           "estimated from 2401 sampled pages (move_pages in query mode), within the\n"
           "bound shown (+-2%% of the vnode, 95%% confidence); with --exact from\n"
           "/proc/PID/numa_maps.  Pages the guest never touched are on no node.\n");
}

static void resident(struct json_object *v, char *buf, size_t len)
{
    struct json_object *a = vn_cli_json_get(v, "resident");
    size_t used = 0;
    buf[0] = '\0';
    if (!a) {
        snprintf(buf, len, "-");
        return;
    }
    for (size_t i = 0; i < json_object_array_length(a) && used < len; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        used += (size_t)snprintf(buf + used, len - used, "%snode %d: %.1f MiB", i ? ", " : "",
                                 json_object_get_int(vn_cli_json_get(e, "node")),
                                 json_object_get_double(vn_cli_json_get(e, "mib")));
        if (vn_cli_json_get(e, "bound_mib") && used < len)
            used += (size_t)snprintf(buf + used, len - used, " ±%.1f",
                                     json_object_get_double(vn_cli_json_get(e, "bound_mib")));
    }
    if (!used)
        snprintf(buf, len, "none yet");
}

static void print_text(struct json_object *o)
{
    printf("domain '%s': %s", vn_cli_json_str(o, "name", "?"), vn_cli_json_str(o, "state", "?"));
    if (vn_cli_json_get(o, "pid"))
        printf(", QEMU pid %s", vn_cli_json_str(o, "pid", "?"));
    printf(", %s vCPUs, %s MiB, accelerator %s\n", vn_cli_json_str(o, "vcpus", "?"),
           vn_cli_json_str(o, "memory_mib", "?"), vn_cli_json_str(o, "accel", "?"));
    printf("  config:      %s\n", vn_cli_json_str(o, "config", "-"));
    printf("  runtime dir: %s\n", vn_cli_json_str(o, "runtime_dir", "-"));
    printf("  memory dir:  %s\n", vn_cli_json_str(o, "mem_dir", "-"));
    if (vn_cli_json_get(o, "accel_reason"))
        printf("  accelerator: %s\n", vn_cli_json_str(o, "accel_reason", ""));
    struct json_object *nics = vn_cli_json_get(o, "nics");
    for (size_t i = 0; nics && i < json_object_array_length(nics); i++) {
        struct json_object *n = json_object_array_get_idx(nics, i);
        if (vn_cli_json_get(n, "tap"))
            printf("  nic %s:       %s %s, tap %s on bridge %s\n", vn_cli_json_str(n, "devid", "?"),
                   vn_cli_json_str(n, "model", "?"), vn_cli_json_str(n, "mac", "?"),
                   vn_cli_json_str(n, "tap", "?"), vn_cli_json_str(n, "bridge", "?"));
        else
            printf("  nic %s:       %s %s, user-mode network\n", vn_cli_json_str(n, "devid", "?"),
                   vn_cli_json_str(n, "model", "?"), vn_cli_json_str(n, "mac", "?"));
    }

    struct json_object *vn = vn_cli_json_get(o, "vnode_info");
    if (strcmp(vn_cli_json_str(o, "resident_method", "exact"), "exact") == 0) {
        printf("\nvnodes (memory per host node, exact from numa_maps):\n");
    } else {
        int samples = 0;
        for (size_t i = 0; vn && i < json_object_array_length(vn) && !samples; i++)
            samples = json_object_get_int(
                vn_cli_json_get(json_object_array_get_idx(vn, i), "resident_samples"));
        printf("\nvnodes (memory per host node, sampled from %d pages per vnode; ±MiB is the "
               "95%% bound, ±2%% of the vnode at most):\n",
               samples);
    }
    static const char *const vh[] = {"vnode", "pnode", "size MiB", "policy", "vCPUs", "resident"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(6, vh);
    vn_table_align_right(t, 0);
    vn_table_align_right(t, 2);
    char buf[4096];
    for (size_t i = 0; vn && i < json_object_array_length(vn); i++) {
        struct json_object *v = json_object_array_get_idx(vn, i);
        vn_table_add(t, "%s", vn_cli_json_str(v, "vnode", "?"));
        vn_cli_json_int_list(vn_cli_json_get(v, "pnodes"), buf, sizeof buf);
        vn_table_add(t, "%s", buf);
        vn_table_add(t, "%s", vn_cli_json_str(v, "memory_mib", "?"));
        vn_table_add(t, "%s", vn_cli_json_str(v, "policy", "-"));
        vn_table_add(t, "%s",
                     vn_cli_json_str(v, "vcpus", "-")[0] ? vn_cli_json_str(v, "vcpus", "-") : "-");
        resident(v, buf, sizeof buf);
        vn_table_add(t, "%s", buf);
    }
    vn_table_print(t, stdout, 2);
    for (size_t i = 0; vn && i < json_object_array_length(vn); i++)
        if (vn_cli_json_get(json_object_array_get_idx(vn, i), "resident_error"))
            printf("  vnode %zu: %s\n", i,
                   vn_cli_json_str(json_object_array_get_idx(vn, i), "resident_error", ""));
    for (size_t i = 0; vn && i < json_object_array_length(vn); i++) {
        struct json_object *m = vn_cli_json_get(json_object_array_get_idx(vn, i), "migration");
        if (!m)
            continue;
        char from[256], to[256], claim[512] = "";
        vn_cli_json_int_list(vn_cli_json_get(m, "from"), from, sizeof from);
        vn_cli_json_int_list(vn_cli_json_get(m, "to"), to, sizeof to);
        struct json_object *c = vn_cli_json_get(m, "claim");
        size_t used = 0;
        for (size_t k = 0; c && k < json_object_array_length(c) && used < sizeof claim; k++) {
            struct json_object *e = json_object_array_get_idx(c, k);
            used += (size_t)snprintf(claim + used, sizeof claim - used, "%s%s MiB on node %s",
                                     k ? ", " : "", vn_cli_json_str(e, "mib", "?"),
                                     vn_cli_json_str(e, "node", "?"));
        }
        if (strcmp(vn_cli_json_str(m, "state", ""), "moving") == 0)
            printf("  vnode %zu: moving from host node(s) %s to %s (by pid %s)\n", i, from, to,
                   vn_cli_json_str(m, "pid", "?"));
        else
            printf("  vnode %zu: split between host node(s) %s and %s (%s; claimed: %s); "
                   "'vnuma mem-move %s --vnode %zu --to %s' finishes it, '--to %s' reverses it\n",
                   i, from, to, vn_cli_json_str(m, "reason", "stopped"), claim,
                   vn_cli_json_str(o, "name", "?"), i, to, from);
    }

    printf("\nvCPUs:\n");
    static const char *const ch[] = {"vCPU", "vnode",    "thread",  "soft",
                                     "hard", "affinity", "last CPU"};
    VN_CLEANUP(vn_table_freep) struct vn_table *c = vn_table_new(7, ch);
    vn_table_align_right(c, 0);
    vn_table_align_right(c, 1);
    vn_table_align_right(c, 2);
    vn_table_align_right(c, 6);
    struct json_object *vc = vn_cli_json_get(o, "vcpu_info");
    for (size_t i = 0; vc && i < json_object_array_length(vc); i++) {
        struct json_object *v = json_object_array_get_idx(vc, i);
        vn_table_add(c, "%s", vn_cli_json_str(v, "vcpu", "?"));
        vn_table_add(c, "%s", vn_cli_json_str(v, "vnode", "?"));
        vn_table_add(c, "%s", vn_cli_json_str(v, "thread_id", "-"));
        if (vn_cli_json_get(v, "soft_nodes"))
            vn_table_add(c, "%s (node %s)", vn_cli_json_str(v, "soft", "-"),
                         vn_cli_json_str(v, "soft_nodes", "?"));
        else
            vn_table_add(c, "%s", vn_cli_json_str(v, "soft", "-"));
        vn_table_add(c, "%s", vn_cli_json_str(v, "hard", "-"));
        vn_table_add(c, "%s", vn_cli_json_str(v, "affinity", "-"));
        vn_table_add(c, "%s", vn_cli_json_str(v, "last_cpu", "-"));
    }
    vn_table_print(c, stdout, 2);
    if (vn_cli_json_get(o, "qmp_error"))
        printf("  (thread ids unknown: %s)\n", vn_cli_json_str(o, "qmp_error", ""));

    struct json_object *d = vn_cli_json_get(o, "distances");
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
    /* --exact is taken out before the shared parser sees the rest. */
    bool exact = false;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--exact") == 0)
            exact = true;
        else
            argv[n++] = argv[i];
    }
    argc = n;
    struct vn_cli_state_args a;
    int rc =
        vn_cli_parse_state_args("info", argc, argv, VN_CLI_JSON | VN_CLI_DOMAIN, print_help, &a);
    if (rc != VN_CLI_RUN)
        return rc;
    struct vn_error err = {0};
    VN_CLEANUP(vn_cli_json_putp) struct json_object *o = NULL;
    if (vn_domain_info_ex(a.state_dir, a.domain, exact, &o, &err) < 0)
        return vn_cli_fail("info", &err);
    if (a.json)
        vn_cli_print_json(o);
    else
        print_text(o);
    return VN_EXIT_OK;
}
