/* libFuzzer target for xl's CPULIST parser (config/cpus.c): any bytes as one cpus= string,
 * parsed without a host (syntax only) and against a small fixed host (nodes and "all"
 * expanded), and the resulting set printed.  Seed corpus: fuzz/seeds/cpulist/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two nodes of 4 CPUs, numbered 0 and 2 so that missing node numbers are reached. */
static const struct vn_host_topo *fixed_host(void)
{
    static struct vn_node nodes[2];
    static struct vn_cpu cpus[8];
    static int dist[4] = {10, 20, 20, 10};
    static struct vn_host_topo host;
    if (host.nnodes)
        return &host;
    for (int n = 0; n < 2; n++) {
        nodes[n] =
            (struct vn_node){.os_index = 2 * n, .package = n, .mem_mib = 1024, .free_mib = 1024};
        vn_bitmap_zero(&nodes[n].cpus);
        vn_bitmap_set_range(&nodes[n].cpus, 4 * n, 4 * n + 3);
    }
    for (int c = 0; c < 8; c++)
        cpus[c] = (struct vn_cpu){.os_index = c, .node = c / 4, .package = c / 4, .core = c};
    strcpy(host.name, "fuzz-2node");
    host.nodes = nodes;
    host.cpus = cpus;
    host.dist = dist;
    host.ncpus = 8;
    host.npackages = 2;
    host.nnodes = 2;
    return &host;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A config string is at most one line of a 1 MiB file; the parser sees a C string. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct vn_bitmap set;
    struct vn_error err = {0};
    bool needs_host;
    char out[256];
    if (vn_cpulist_parse(text, NULL, &set, &needs_host, &err) == 0)
        vn_bitmap_format_list(&set, out, sizeof out);
    if (vn_cpulist_parse(text, fixed_host(), &set, &needs_host, &err) == 0)
        vn_bitmap_format_list(&set, out, sizeof out);
    free(text);
    return 0;
}
