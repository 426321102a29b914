/* The host lock: one flock() on STATE_DIR/host.lock around place + claim + record, so that
 * two `vnuma create` at once cannot both see a node as free.  flock() dies with its holder,
 * so a crashed process never leaves the host locked. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "state_int.h"
#include "../util/clock.h"

#define POLL_MS 10

/* What the holder wrote ("pid 1234: create 'web1'"), or a neutral phrase. */
static void read_holder(int fd, char *buf, size_t len)
{
    ssize_t n = pread(fd, buf, len - 1, 0);
    if (n <= 0) {
        snprintf(buf, len, "another process");
        return;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

int vn_state_lock(struct vn_state *s, int timeout_ms, const char *what, struct vn_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/host.lock", s->dir);
    if (s->lock_fd >= 0)
        return vn_error_set(err, "the host lock '%s' is already held by this process", path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot open the host lock '%s'", path);
    int64_t deadline = vn_clock_ms() + timeout_ms;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EWOULDBLOCK) {
            close(fd);
            return vn_error_sys(err, e, "cannot take the host lock '%s'", path);
        }
        if (timeout_ms >= 0 && vn_clock_ms() >= deadline) {
            char holder[256];
            read_holder(fd, holder, sizeof holder);
            close(fd);
            return vn_error_set(err, "the host lock '%s' is held by %s; gave up after %d ms", path,
                                holder, timeout_ms);
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* Tell whoever waits for us who we are; a failure here only makes their message vaguer. */
    char who[256];
    int n = snprintf(who, sizeof who, "pid %d (%s)\n", (int)getpid(), what ? what : "vnuma");
    if (ftruncate(fd, 0) == 0 && n > 0)
        (void)!pwrite(fd, who, strlen(who), 0);
    s->lock_fd = fd;
    /* Writers only write under the lock, so any temp file now is from one that crashed. */
    vn_state_clean_temp_(s);
    return 0;
}

void vn_state_unlock(struct vn_state *s)
{
    if (s->lock_fd < 0)
        return;
    (void)!ftruncate(s->lock_fd, 0);
    close(s->lock_fd); /* releases the flock */
    s->lock_fd = -1;
}

bool vn_state_locked(const struct vn_state *s)
{
    return s->lock_fd >= 0;
}
