/* libFuzzer target for the qcow2 header reader (src/lib/domain/diskimg.c), which reads the
 * first bytes of any disk image a config names: the input is used with its length only, so a
 * read past the end is caught by ASan; what it returns must be a NUL-terminated name that
 * fits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/domain/domain_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct vn_qcow2_head h;
    if (vn_qcow2_parse(copy, size, &h) == 0 &&
        (strnlen(h.backing, sizeof h.backing) == sizeof h.backing ||
         strnlen(h.backing_fmt, sizeof h.backing_fmt) == sizeof h.backing_fmt ||
         (!h.is_qcow2 && (h.backing[0] || h.data_file))))
        abort();
    free(copy);
    return 0;
}
