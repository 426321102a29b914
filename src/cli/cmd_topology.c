/* vnuma topology: the host as `numactl --hardware` shows it, plus packages and PCI devices
 * per node; --json prints the vnuma host format, which --host FILE.json reads back. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "topo/topo.h"
#include "util/cleanup.h"
#include "util/table.h"

static void print_list(const char *what, const struct vn_bitmap *b)
{
    size_t need = vn_bitmap_format_list(b, NULL, 0) + 1;
    VN_CLEANUP_FREE char *s = malloc(need);
    if (!s)
        abort();
    vn_bitmap_format_list(b, s, need);
    printf("%s%s\n", what, *s ? s : "none");
}

static void print_packages(const struct vn_host_topo *t)
{
    for (int p = 0; p < t->npackages; p++) {
        struct vn_bitmap nodes;
        vn_bitmap_zero(&nodes);
        int cores = 0, cpus = 0;
        for (int i = 0; i < t->nnodes; i++)
            if (t->nodes[i].package == p)
                vn_bitmap_set(&nodes, t->nodes[i].os_index);
        for (int k = 0; k < t->ncpus; k++) {
            if (t->cpus[k].package != p)
                continue;
            cpus++;
            cores += t->cpus[k].smt == 0;
        }
        char label[64];
        snprintf(label, sizeof label, "package %d: %d cores, %d cpus, nodes ", p, cores, cpus);
        print_list(label, &nodes);
    }
}

static void print_node(const struct vn_host_topo *t, int i)
{
    const struct vn_node *n = &t->nodes[i];
    char label[64];
    if (n->package >= 0)
        printf("node %d package: %d\n", n->os_index, n->package);
    else
        printf("node %d package: none (memory only)\n", n->os_index);
    snprintf(label, sizeof label, "node %d cpus: ", n->os_index);
    print_list(label, &n->cpus);
    printf("node %d size: %llu MiB\n", n->os_index, (unsigned long long)n->mem_mib);
    if (n->free_known)
        printf("node %d free: %llu MiB\n", n->os_index, (unsigned long long)n->free_mib);
    else
        printf("node %d free: unknown\n", n->os_index);
    for (int k = 0; k < t->npci; k++)
        if (t->pci[k].node == i)
            printf("node %d pci: %s %s\n", n->os_index, t->pci[k].addr, t->pci[k].name);
}

static void print_distances(const struct vn_host_topo *t)
{
    VN_CLEANUP_FREE const char **headers = calloc((size_t)t->nnodes + 1, sizeof *headers);
    VN_CLEANUP_FREE char *names = calloc((size_t)t->nnodes + 1, 8);
    if (!headers || !names)
        abort();
    headers[0] = "node";
    for (int i = 0; i < t->nnodes; i++) {
        snprintf(names + 8 * i, 8, "%d", t->nodes[i].os_index);
        headers[i + 1] = names + 8 * i;
    }
    VN_CLEANUP(vn_table_freep) struct vn_table *tab = vn_table_new(t->nnodes + 1, headers);
    for (int c = 0; c <= t->nnodes; c++)
        vn_table_align_right(tab, c);
    for (int i = 0; i < t->nnodes; i++) {
        vn_table_add(tab, "%d:", t->nodes[i].os_index);
        for (int j = 0; j < t->nnodes; j++)
            vn_table_add(tab, "%d", vn_topo_distance(t, i, j));
    }
    printf("node distances:\n");
    vn_table_print(tab, stdout, 0);
}

static void print_text(const struct vn_host_topo *t)
{
    struct vn_bitmap nodes;
    vn_bitmap_zero(&nodes);
    for (int i = 0; i < t->nnodes; i++)
        vn_bitmap_set(&nodes, t->nodes[i].os_index);
    char label[64];
    printf("host: %s\n", t->name);
    snprintf(label, sizeof label, "available: %d nodes, %d packages, %d cpus, nodes ", t->nnodes,
             t->npackages, t->ncpus);
    print_list(label, &nodes);
    print_packages(t);
    for (int i = 0; i < t->nnodes; i++)
        print_node(t, i);
    for (int k = 0; k < t->npci; k++)
        if (t->pci[k].node < 0)
            printf("no node pci: %s %s\n", t->pci[k].addr, t->pci[k].name);
    print_distances(t);
}

int vn_cmd_topology(int argc, char **argv)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'H'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *host = NULL;
    bool json = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            vn_cli_print_synopsis("topology");
            return VN_EXIT_OK;
        case ':':
            return vn_cli_usage("topology", "option '%s' needs an argument", argv[optind - 1]);
        default:
            return vn_cli_usage("topology", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return vn_cli_usage("topology", "unexpected argument '%s'", argv[optind]);

    struct vn_error err = {0};
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *t = vn_topo_load(host, &err);
    if (!t)
        return vn_cli_fail("topology", &err);
    if (json) {
        VN_CLEANUP(vn_cli_json_putp) struct json_object *doc = vn_topo_to_json(t);
        vn_cli_print_json(doc);
    } else {
        print_text(t);
    }
    return VN_EXIT_OK;
}
