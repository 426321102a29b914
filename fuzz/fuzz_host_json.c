/* libFuzzer target for the JSON host loader: parse, print back, free.  Printing what was
 * accepted exercises every field the parser filled in. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "topo/topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vn_error err;
    struct vn_host_topo *t = vn_topo_from_json_buf((const char *)data, size, "fuzz.json", &err);
    if (!t)
        return 0;
    struct json_object *doc = vn_topo_to_json(t);
    json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY);
    json_object_put(doc);
    vn_topo_free(t);
    return 0;
}
