/* libFuzzer target for the domain record parser (what vn_state_read_record does once it has
 * read the file).  Each input is read as the record of every seed's name, so that mutants of
 * every seed get past the name check.  A record that reads must also survive its writer: the
 * JSON it writes reads back and writes the same JSON again (reader and writer are inverses). */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/state/state_int.h"
#include "state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *written(const struct vn_domain_record *r)
{
    struct json_object *o = vn_record_to_json_(r);
    char *t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"web1", "db-2", "batch_3.x", "d0"};
    const char *buf = (const char *)data;
    struct vn_domain_record r, back;
    struct vn_error err;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (vn_domain_record_from_json_buf(buf, size, names[i], &r, &err) == 0) {
            /* What a reader hands on must be usable: the name fits and matches. */
            const struct vn_claim *c = vn_domain_claim(&r);
            if (strcmp(r.name, names[i]) != 0 || c->n < 0 || c->n > VN_MAX_VNODES)
                __builtin_trap();
            char *once = written(&r);
            if (vn_domain_record_from_json_buf(once, strlen(once), names[i], &back, &err) < 0)
                __builtin_trap();
            char *twice = written(&back);
            if (strcmp(once, twice) != 0)
                __builtin_trap();
            free(once);
            free(twice);
            vn_domain_record_clear(&back);
        }
        vn_domain_record_clear(&r);
    }
    return 0;
}
