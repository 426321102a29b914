/* libFuzzer target for the load file of `vnuma place --load` (place/load_json.c): any bytes
 * through the strict JSON reader and applied to the load of a fixed 4-node host, whose free
 * memory is then read back.  Seed corpus: fuzz/seeds/load/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "place/place.h"
#include "topo/topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built once through hwloc: the host is not what is fuzzed. */
static const struct vn_host_topo *fixed_host(void)
{
    static struct vn_host_topo *host;
    if (!host) {
        struct vn_error err = {0};
        host = vn_topo_load("synthetic:pack:2 numa:2 core:4 pu:2;mem=16G", &err);
        if (!host)
            abort();
    }
    return host;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vn_host_load *load; /* large: kept off the stack, reused */
    if (!load && !(load = calloc(1, sizeof *load)))
        return 0;
    const struct vn_host_topo *host = fixed_host();
    vn_host_load_init(load, host);
    struct vn_error err = {0};
    if (vn_host_load_from_buf(load, host, (const char *)data, size, "fuzz-load", &err) == 0)
        for (int n = 0; n < host->nnodes; n++)
            (void)vn_host_load_free_mib(load, host, n);
    return 0;
}
