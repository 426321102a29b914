/* libFuzzer target for vn_spec_from_json (the spec JSON of a domain record read back).  Input
 * that json-c parses and vn_spec_from_json accepts must round-trip: to_json of the spec, read
 * again, gives the same JSON.  Seeds: the .expected files of tests/data/configs/valid (one
 * spec in a JSON array) and any spec object. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(struct json_object *o)
{
    struct vn_error err = {0};
    struct vn_vm_spec *s = vn_spec_from_json(o, "fuzz", &err);
    if (!s) {
        if (!err.msg[0])
            __builtin_trap(); /* a refusal always says why */
        return;
    }
    struct json_object *a = vn_spec_to_json(s);
    struct vn_vm_spec *t = vn_spec_from_json(a, "fuzz", &err);
    if (!t)
        __builtin_trap(); /* its own output must be accepted */
    struct json_object *b = vn_spec_to_json(t);
    if (strcmp(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
               json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN)) != 0)
        __builtin_trap();
    json_object_put(a);
    json_object_put(b);
    vn_spec_free(s);
    vn_spec_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return 0;
    struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    if (!o)
        return 0;
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o) && i < 4; i++)
            one(json_object_array_get_idx(o, i));
    } else {
        one(o);
    }
    json_object_put(o);
    return 0;
}
