#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../util/cleanup.h"

static int connect_unix(const char *path, struct vn_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return vn_error_set(err, "console socket path '%s' is too long", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot create a socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int saved = errno;
        close(fd);
        return vn_error_sys(err, saved, "cannot connect to the console socket '%s'", path);
    }
    return fd;
}

/* Writes all of buf; false when the peer went away. */
static bool write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

int vn_console_attach(const char *path, int in_fd, int out_fd, struct vn_error *err)
{
    VN_CLEANUP_CLOSE int sock = connect_unix(path, err);
    if (sock < 0)
        return -1;
    struct termios saved, raw;
    bool tty = isatty(in_fd) && tcgetattr(in_fd, &saved) == 0;
    if (tty) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(in_fd, TCSANOW, &raw);
    }
    int result = -1;
    char buf[4096];
    struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = in_fd, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            vn_error_sys(err, errno, "cannot wait for console input");
            break;
        }
        if (fds[0].revents) {
            ssize_t n = read(sock, buf, sizeof buf);
            if (n <= 0 || !write_all(out_fd, buf, (size_t)n)) {
                result = VN_CONSOLE_CLOSED;
                break;
            }
        }
        if (fds[1].revents) {
            ssize_t n = read(in_fd, buf, sizeof buf);
            if (n <= 0) {
                result = VN_CONSOLE_INPUT_EOF;
                break;
            }
            char *key = memchr(buf, VN_CONSOLE_DETACH_KEY, (size_t)n);
            size_t upto = key ? (size_t)(key - buf) : (size_t)n;
            if (!write_all(sock, buf, upto)) {
                result = VN_CONSOLE_CLOSED;
                break;
            }
            if (key) {
                result = VN_CONSOLE_DETACHED;
                break;
            }
        }
    }
    if (tty)
        tcsetattr(in_fd, TCSANOW, &saved);
    return result;
}
