/* Is the process of a record still the one we started?  A pid alone is not enough: after
 * QEMU dies its pid can be given to any new process, so a record keeps the start time too. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/cleanup.h"

/* Reads the state letter (field 3) and start time (field 22) of /proc/PID/stat. */
static int read_stat(pid_t pid, char *state, uint64_t *start, struct vn_error *err)
{
    char path[64], buf[2048];
    if (pid <= 0)
        return vn_error_set(err, "'%d' is not a process id", (int)pid);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    VN_CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot read '%s'", path);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0)
        return vn_error_sys(err, errno, "cannot read '%s'", path);
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and ')': fields are counted after the last
     * ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return vn_error_set(err, "'%s' has an unexpected format", path);
    p += 2;
    *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return vn_error_set(err, "'%s' has fewer than 22 fields", path);
        p++;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
        return vn_error_set(err, "'%s' has an invalid start time", path);
    *start = v;
    return 0;
}

ssize_t vn_proc_cmdline(pid_t pid, char *buf, size_t len, struct vn_error *err)
{
    char path[64];
    if (pid <= 0 || len < 2)
        return vn_error_set(err, "'%d' is not a process id", (int)pid);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    VN_CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot read '%s'", path);
    size_t got = 0;
    while (got < len - 1) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vn_error_sys(err, errno, "cannot read '%s'", path);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

int vn_proc_start_time(pid_t pid, uint64_t *start, struct vn_error *err)
{
    char state;
    return read_stat(pid, &state, start, err);
}

bool vn_proc_alive(pid_t pid, uint64_t start)
{
    char state;
    uint64_t now;
    if (read_stat(pid, &state, &now, NULL) < 0)
        return false;
    /* A zombie has exited; only its parent's wait() keeps the entry. */
    return now == start && state != 'Z' && state != 'X';
}

bool vn_domain_alive(const struct vn_domain_record *r)
{
    return r->qemu_pid > 0 && vn_proc_alive(r->qemu_pid, r->qemu_start);
}

bool vn_domain_holds_claim(const struct vn_domain_record *r)
{
    if (vn_domain_alive(r))
        return true;
    if (r->status != VN_DOMAIN_CREATING)
        return false;
    /* Unknown creator: count the claim rather than risk overcommitting. */
    return r->creator_pid <= 0 || vn_proc_alive(r->creator_pid, r->creator_start);
}
