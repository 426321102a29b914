/* The control socket's paths and its one client (ctl.h).  Non-blocking from the start: a
 * vnumad whose listen queue is full, that does not read, or that does not answer costs the
 * caller at most its timeout, and a connection closed under us is an error, not SIGPIPE. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "util/cleanup.h"
#include "../lib/util/clock.h"

static int join(const char *dir, const char *name, char *buf, size_t len, struct vn_error *err)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len)
        return vn_error_set(err, "the path '%s/%s' is longer than %zu bytes", dir, name,
                            len ? len - 1 : 0);
    return 0;
}

int vnd_socket_path(const char *state_dir, char *buf, size_t len, struct vn_error *err)
{
    return join(state_dir, VND_SOCKET_NAME, buf, len, err);
}

int vnd_lock_path(const char *state_dir, char *buf, size_t len, struct vn_error *err)
{
    return join(state_dir, VND_LOCK_NAME, buf, len, err);
}

/* Waits for events on fd until deadline; 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (int i = 0; i < 1000; i++) { /* EINTR only: bounded anyway by the deadline */
        int64_t left = deadline - vn_clock_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 1; /* let the next call report the error */
    }
    return 0;
}

static int timed_out(struct vn_error *err, const char *sock, int timeout_ms)
{
    return vn_error_set(err, "vnumad on '%s' did not answer within %g s", sock,
                        timeout_ms / 1000.0);
}

int vnd_ctl_call(const char *state_dir, const char *line, int timeout_ms, char **reply,
                 struct vn_error *err)
{
    *reply = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (vnd_socket_path(state_dir, sa.sun_path, sizeof sa.sun_path, err) < 0)
        return -1;
    const char *sock = sa.sun_path;
    int64_t deadline = vn_clock_ms() + timeout_ms;
    VN_CLEANUP_CLOSE int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot create a socket");
    /* A unix socket connects at once or says EAGAIN (listen queue full): retry, bounded. */
    for (;;) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            break;
        if (errno != EAGAIN && errno != EINTR)
            return vn_error_sys(err, errno,
                                "vnumad is not running on '%s' (cannot connect to '%s')", state_dir,
                                sock);
        if (vn_clock_ms() >= deadline)
            return timed_out(err, sock, timeout_ms);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    size_t len = strlen(line), off = 0;
    int send_errno = 0;
    while (off < len) {
        ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                return timed_out(err, sock, timeout_ms);
        } else {
            send_errno = w < 0 ? errno : EPIPE;
            break; /* a refusal may still be waiting to be read */
        }
    }
    size_t cap = 4096, got = 0;
    VN_CLEANUP_FREE char *buf = malloc(cap);
    if (!buf)
        return vn_error_set(err, "out of memory");
    for (;;) {
        char *nl = memchr(buf, '\n', got);
        if (nl) {
            *nl = '\0';
            *reply = buf;
            buf = NULL;
            return 0;
        }
        if (got + 1 >= cap) {
            if (cap >= VND_REPLY_MAX)
                return vn_error_set(err, "the reply of vnumad on '%s' is longer than %d bytes",
                                    sock, VND_REPLY_MAX);
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                return vn_error_set(err, "out of memory");
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (send_errno)
                break;
            if (!wait_fd(fd, POLLIN, deadline))
                return timed_out(err, sock, timeout_ms);
            continue;
        }
        if (r < 0 && !send_errno)
            send_errno = errno;
        break;
    }
    if (send_errno)
        return vn_error_sys(err, send_errno, "vnumad on '%s' closed the connection", sock);
    return vn_error_set(err, "vnumad on '%s' closed the connection without a reply", sock);
}
