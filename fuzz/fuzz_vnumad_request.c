/* libFuzzer target for vnumad's control protocol: bytes as they arrive on the socket, cut
 * into lines by the connection buffer, each line parsed as a request; and the same bytes as
 * a /proc task stat line and a thread name, which vnumad also parses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vnumad.h"
#include "qemu/vcpu_threads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vnd_request rq;
    struct vn_error err;
    vnd_request_parse((const char *)data, size, &rq, &err);

    static struct vnd_linebuf lb;
    static char line[VND_REQUEST_MAX + 1];
    lb.len = 0;
    /* In two pieces, as a slow client would send them. */
    size_t half = size / 2;
    if (vnd_linebuf_add(&lb, (const char *)data, half) == 0) {
        while (vnd_linebuf_take(&lb, line) >= 0)
            vnd_request_parse(line, strlen(line), &rq, &err);
        if (vnd_linebuf_add(&lb, (const char *)data + half, size - half) == 0)
            for (long n; (n = vnd_linebuf_take(&lb, line)) >= 0;)
                vnd_request_parse(line, (size_t)n, &rq, &err);
    }

    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    uint64_t ns;
    int cpu;
    vnd_parse_task_stat(s, 100, &ns, &cpu);
    vn_qemu_vcpu_from_comm(s);
    free(s);
    return 0;
}
