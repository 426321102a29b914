/* libFuzzer target for the domain record parser (what vn_state_read_record does once it has
 * read the file).  The seeds are the records of web1, db-2 and batch_3.x: each input is read
 * as the record of all three, so that mutants of every seed get past the name check. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"web1", "db-2", "batch_3.x"};
    const char *buf = (const char *)data;
    struct vn_domain_record r;
    struct vn_error err;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (vn_domain_record_from_json_buf(buf, size, names[i], &r, &err) == 0) {
            /* What a reader hands on must be usable: the name fits and matches. */
            if (strcmp(r.name, names[i]) != 0 || r.claim.n < 0 || r.claim.n > VN_MAX_VNODES)
                __builtin_trap();
        }
        vn_domain_record_clear(&r);
    }
    return 0;
}
