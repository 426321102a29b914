/* vnuma check: parse and validate VM configs against a host and show the guest topology each
 * one asks for.
 *
 * Diagnostics go to stderr, one "FILE:LINE:COL: error: KEY: MESSAGE" per line, sorted by
 * position; the topology of each valid file goes to stdout.  Every file is checked even after
 * an invalid one, so one run reports everything.  --json prints one document per run: an
 * array with an object per valid file, in the order given. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/config.h"
#include "topo/topo.h"
#include "util/cleanup.h"
#include "util/table.h"

static void print_help(void)
{
    vn_cli_print_synopsis("check");
    printf("\nOptions:\n"
           "  --host SPEC  check against this host instead of the live one: a .json or .xml\n"
           "               file, or 'synthetic:<hwloc synthetic string>'\n"
           "  --no-host    skip the checks that need a host (pnodes, CPUs, memory fit)\n"
           "  --json       print the normalised configs as one JSON array\n"
           "  -h, --help   show this help\n"
           "\nExit status: 0 when every config is valid, 1 when one is not, 2 for usage "
           "errors.\n");
}

static void print_affinity(const char *key, const struct vn_affinity *a)
{
    if (a->nsets == 0)
        return;
    char set[512];
    if (!a->per_vcpu) {
        vn_bitmap_format_list(&a->sets[0], set, sizeof set);
        if (a->resolved)
            printf("  %-10s %s (every vCPU), from '%s'\n", key, set, a->text[0]);
        else
            printf("  %-10s '%s' (every vCPU)\n", key, a->text[0]);
        return;
    }
    printf("  %-10s per vCPU:\n", key);
    for (int i = 0; i < a->nsets; i++) {
        vn_bitmap_format_list(&a->sets[i], set, sizeof set);
        if (a->resolved)
            printf("    vCPU %d: %s, from '%s'\n", i, set, a->text[i]);
        else
            printf("    vCPU %d: '%s'\n", i, a->text[i]);
    }
}

static void print_vnodes(const struct vn_vm_spec *spec)
{
    static const char *const headers[] = {"vnode", "size MiB", "vcpus", "pnode"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(4, headers);
    vn_table_align_right(t, 0);
    vn_table_align_right(t, 1);
    for (int i = 0; i < spec->nvnodes; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        char vcpus[512];
        vn_bitmap_format_list(&vn->vcpus, vcpus, sizeof vcpus);
        vn_table_add(t, "%d", i);
        vn_table_add(t, "%llu", (unsigned long long)vn->mem_mib);
        vn_table_add(t, "%s", vcpus[0] ? vcpus : "none");
        if (vn->pnode >= 0)
            vn_table_add(t, "%d", vn->pnode);
        else
            vn_table_add(t, "auto");
    }
    printf("\n");
    vn_table_print(t, stdout, 2);

    int n = spec->nvnodes;
    VN_CLEANUP_FREE const char **dh = calloc((size_t)n + 1, sizeof *dh);
    VN_CLEANUP_FREE char *names = calloc((size_t)n + 1, 12);
    if (!dh || !names)
        abort();
    dh[0] = "distance";
    for (int i = 0; i < n; i++) {
        snprintf(names + 12 * i, 12, "%d", i);
        dh[i + 1] = names + 12 * i;
    }
    VN_CLEANUP(vn_table_freep) struct vn_table *d = vn_table_new(n + 1, dh);
    for (int c = 0; c <= n; c++)
        vn_table_align_right(d, c);
    for (int i = 0; i < n; i++) {
        vn_table_add(d, "%d", i);
        for (int j = 0; j < n; j++)
            vn_table_add(d, "%d", spec->vdist[i][j]);
    }
    printf("\n");
    vn_table_print(d, stdout, 2);
}

/* Each disk in QEMU's order with the name the guest gives it (config/vdev.c). */
static void print_disks(const struct vn_vm_spec *spec)
{
    struct vn_disk_map *map = malloc(sizeof *map);
    if (!map)
        abort();
    vn_disk_map_build(spec, map);
    for (int r = 0; r < map->n; r++) {
        const struct vn_disk *d = &spec->disks[map->order[r]];
        /* an unwritten format is probed by create (domain/diskimg.c) */
        const char *fmt = d->format_given || !d->target ? d->format : "format probed at create";
        printf("  %-10s %s -> /dev/%s (%s, %s%s, %s)\n", "disk", d->vdev ? d->vdev : "?",
               map->guest[map->order[r]], d->cdrom ? "cdrom" : "virtio", fmt,
               d->readonly ? ", ro" : "", d->target ? d->target : "empty");
    }
    /* as passed to the guest: root= rewritten to the guest's names (validate.c) */
    if (map->n > 0 && spec->cmdline)
        printf("  %-10s %s\n", "cmdline", spec->cmdline);
    free(map);
}

static void print_spec(const struct vn_vm_spec *spec)
{
    printf("%s: valid\n", spec->file);
    printf("  %-10s %s\n", "name", spec->name);
    if (spec->maxmem_mib != spec->memory_mib)
        printf("  %-10s %llu MiB (maxmem %llu MiB)\n", "memory",
               (unsigned long long)spec->memory_mib, (unsigned long long)spec->maxmem_mib);
    else
        printf("  %-10s %llu MiB\n", "memory", (unsigned long long)spec->memory_mib);
    if (spec->maxvcpus != spec->vcpus)
        printf("  %-10s %d (maxvcpus %d)\n", "vcpus", spec->vcpus, spec->maxvcpus);
    else
        printf("  %-10s %d\n", "vcpus", spec->vcpus);
    print_affinity("cpus", &spec->cpus);
    print_affinity("cpus_soft", &spec->cpus_soft);
    print_disks(spec);
    if (spec->nvnodes == 0) {
        printf("  %-10s none (placement decides)\n", "vnodes");
        return;
    }
    printf("  %-10s %d (%s form)\n", "vnodes", spec->nvnodes,
           spec->vnuma_form == VN_VNUMA_LIST ? "vnuma" : "vnodes");
    print_vnodes(spec);
}

/* One config: diagnostics to stderr, topology to stdout or into json.  True when valid. */
static bool check_one(const char *path, const struct vn_host_topo *host, struct json_object *json,
                      int *printed)
{
    struct vn_diags diags;
    struct vn_error err = {0};
    vn_diags_init(&diags, path);
    VN_CLEANUP(vn_spec_freep)
    struct vn_vm_spec *spec = vn_config_load_file(path, host, &diags, &err);
    if (!spec && diags.nerrors == 0)
        vn_cli_fail("check", &err);
    vn_cli_print_diags(&diags);
    vn_diags_free(&diags);
    if (!spec)
        return false;
    if (json)
        json_object_array_add(json, vn_spec_to_json(spec));
    else {
        if ((*printed)++)
            printf("\n");
        print_spec(spec);
    }
    return true;
}

int vn_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},
        {"no-host", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *host_spec = NULL;
    bool no_host = false, json = false;
    int c;
    optind = 1;
    opterr = 0; /* our own message, in the house format */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            host_spec = optarg;
            break;
        case 'n':
            no_host = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            print_help();
            return VN_EXIT_OK;
        default:
            return vn_cli_bad_option("check", c, argv);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("check", "no CONFIG file given");
    if (no_host && host_spec)
        return vn_cli_usage("check", "--host and --no-host cannot be used together");

    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *host = NULL;
    if (!no_host) {
        struct vn_error err = {0};
        host = vn_topo_load(host_spec, &err);
        if (!host) {
            vn_error_prefix(&err, "Cannot load host '%s'", host_spec ? host_spec : "live");
            return vn_cli_fail("check", &err);
        }
    }

    VN_CLEANUP(vn_cli_json_putp) struct json_object *out = json ? json_object_new_array() : NULL;
    bool all_valid = true;
    int printed = 0;
    for (int i = optind; i < argc; i++)
        all_valid &= check_one(argv[i], host, out, &printed);
    if (out)
        vn_cli_print_json(out);
    return all_valid ? VN_EXIT_OK : VN_EXIT_FAIL;
}
