/* libFuzzer target for the /proc/PID/stat parser: the input is used with its length only (no
 * NUL), so a read past the end is caught by ASan. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct vn_proc_stat st;
    if (vn_proc_stat_parse(copy, size, &st) == 0 && st.processor < -1)
        abort(); /* the processor is a CPU number or -1 */
    free(copy);
    return 0;
}
