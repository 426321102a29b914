/* libFuzzer target for synthetic host specs (topo/topo_synth.c): any bytes after
 * "synthetic:", through the count check, hwloc's synthetic backend, vnuma's ;mem= ;free=
 * ;dist= extensions and validation, and the host printed as JSON.  Inputs are cut at 256
 * bytes: a spec is one command-line word and longer ones only repeat levels.
 * Seed corpus: fuzz/seeds/synthetic/. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* hwloc 2.9 leaks 64 bytes inside hwloc_topology_set_synthetic() for some strings it refuses
 * ("pack:2 [numa] core:4 pu:=", found by this target): hwloc's to fix, harmless in a command
 * that exits; leaks of vnuma's own code are still reported. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libhwloc.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX = 256 };
    char spec[sizeof "synthetic:" + MAX] = "synthetic:";
    size_t n = size < MAX ? size : MAX;
    memcpy(spec + 10, data, n);
    spec[10 + n] = '\0';
    struct vn_error err = {0};
    struct vn_host_topo *t = vn_topo_load(spec, &err);
    if (!t)
        return 0;
    struct json_object *doc = vn_topo_to_json(t);
    json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    json_object_put(doc);
    vn_topo_free(t);
    return 0;
}
