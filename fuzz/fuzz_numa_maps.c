/* libFuzzer target for the /proc/PID/numa_maps parser. */
#include <stddef.h>
#include <stdint.h>

#include "numa/numa_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vn_residency r;
    struct vn_error err;
    vn_residency_init(&r);
    vn_numa_maps_parse((const char *)data, size, NULL, &r, &err);
    vn_residency_init(&r);
    vn_numa_maps_parse((const char *)data, size, "/run/vnuma/vnode0", &r, &err);
    return 0;
}
