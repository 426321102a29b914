/* libFuzzer target for the QMP client's stream reader: the input is what "QEMU" sends.
 *
 * The bytes go into one end of a socketpair, which is then shut for writing, so the client
 * reads them followed by EOF and no input can make it wait; every timeout is 0 besides.  On
 * the other end the client does what the toolstack does: greeting and qmp_capabilities (id
 * vn-1), query-cpus-fast (vn-2), quit (vn-3), then the events queued meanwhile or still to
 * come.  Its requests are left unread in our end's receive buffer. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qemu/qmp.h"

/* Longer inputs are cut to this, which the socket buffers below hold whole. */
#define MAX_INPUT (128u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sends data then EOF from sv[0] to sv[1]. */
static void feed(const uint8_t *data, size_t size, int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        abort();
    /* AF_UNIX stream data in flight is charged to the sender's send buffer.  The kernel caps
     * the value at net.core.wmem_max (then doubles it); the default cap, 208 KiB, still holds
     * MAX_INPUT.  Should a write not fit all the same, the rest is not sent: the client just
     * sees a shorter input. */
    int big = 4 * MAX_INPUT;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(sv[0], SHUT_WR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    feed(data, size > MAX_INPUT ? MAX_INPUT : size, sv);
    struct vn_error err;
    struct vn_qmp *q = vn_qmp_from_fd(sv[1], 0, "fuzz", &err); /* owns sv[1] from here */
    if (q) {
        struct vn_qmp_vcpu *vcpus = NULL;
        int n = 0;
        if (vn_qmp_query_vcpus(q, 0, &vcpus, &n, &err) == 0)
            free(vcpus);
        vn_qmp_quit(q, 0, &err);
        struct vn_qmp_event ev;
        while (vn_qmp_next_event(q, 0, &ev, &err) == 1)
            vn_qmp_event_clear(&ev);
        vn_qmp_close(q);
    }
    close(sv[0]);
    return 0;
}
