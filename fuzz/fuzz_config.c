/* libFuzzer harness for the config language: any bytes through the lexer, parser, key
 * handlers, validation (without a host and against a small fixed host) and the JSON writer.
 * Seed corpus: tests/data/configs/{valid,invalid}/. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two nodes of 4 CPUs and 1 GiB: small enough that memory and CPU checks trip often. */
static const struct vn_host_topo *fixed_host(void)
{
    static struct vn_node nodes[2];
    static struct vn_cpu cpus[8];
    static int dist[4] = {10, 20, 20, 10};
    static struct vn_host_topo host;
    if (host.nnodes)
        return &host;
    for (int n = 0; n < 2; n++) {
        nodes[n] = (struct vn_node){.os_index = n, .package = n, .mem_mib = 1024, .free_mib = 1024};
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

static void exercise(struct vn_vm_spec *spec, const struct vn_host_topo *host, struct vn_diags *d)
{
    vn_config_validate(spec, host, d);
    struct json_object *o = vn_spec_to_json(spec);
    json_object_to_json_string(o);
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct vn_diags d;
    char line[1024];

    vn_diags_init(&d, "fuzz.cfg");
    struct vn_vm_spec *spec = vn_config_parse_buf(buf, size, "fuzz.cfg", &d);
    if (spec) {
        exercise(spec, NULL, &d);
        vn_spec_free(spec);
        /* a fresh spec for the host: validation resolves affinities in place */
        spec = vn_config_parse_buf(buf, size, "fuzz.cfg", &d);
        if (spec)
            exercise(spec, fixed_host(), &d);
        vn_spec_free(spec);
    }
    /* the all-errors path validates specs that had bad values */
    spec = vn_config_load_buf(buf, size, "fuzz.cfg", fixed_host(), &d);
    vn_spec_free(spec);
    vn_diags_sort(&d);
    for (int i = 0; i < d.n; i++)
        vn_diag_format(&d, i, line, sizeof line);
    vn_diags_free(&d);
    return 0;
}
