#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/cleanup.h"

/* One unsigned decimal field at *p (advanced past it); -1 when there is none. */
static int field_u64(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    if (s >= end || *s < '0' || *s > '9')
        return -1;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    *p = s;
    return 0;
}

/* Skips one field (a signed number or the state letter) at *p; -1 when there is none. */
static int field_skip(const char **p, const char *end)
{
    const char *s = *p;
    while (s < end && *s != ' ' && *s != '\n')
        s++;
    if (s == *p)
        return -1;
    *p = s;
    return 0;
}

int vn_proc_stat_parse(const char *text, size_t len, struct vn_proc_stat *out)
{
    /* The name (field 2) may hold spaces and ')': the fields start after the last ')'. */
    const char *end = text + len, *p = NULL;
    for (const char *c = text; c < end; c++)
        if (*c == ')')
            p = c;
    if (!p || end - p < 3 || p[1] != ' ')
        return -1;
    p += 2;
    memset(out, 0, sizeof *out);
    out->processor = -1;
    out->state = *p;
    for (int field = 3; field <= 39; field++) {
        if (field > 3) {
            if (p >= end || *p != ' ') {
                if (field > 22) /* older kernels and short lines: processor unknown */
                    return 0;
                return -1;
            }
            p++;
        }
        uint64_t v = 0;
        int rc;
        if (field == 14 || field == 15 || field == 22) {
            rc = field_u64(&p, end, &v);
        } else if (field == 39) {
            rc = field_u64(&p, end, &v);
            if (rc == 0 && v < 1u << 20)
                out->processor = (int)v;
            return 0;
        } else {
            rc = field_skip(&p, end);
        }
        if (rc < 0)
            return field > 22 ? 0 : -1;
        if (field == 14)
            out->utime = v;
        else if (field == 15)
            out->stime = v;
        else if (field == 22)
            out->starttime = v;
    }
    return 0;
}

static int path_of(pid_t pid, pid_t tid, const char *file, char *buf, size_t len,
                   struct vn_error *err)
{
    if (pid <= 0 || tid < 0)
        return vn_error_set(err, "'%d' is not a process id", (int)pid);
    int n = tid > 0 ? snprintf(buf, len, "/proc/%d/task/%d/%s", (int)pid, (int)tid, file)
                    : snprintf(buf, len, "/proc/%d/%s", (int)pid, file);
    if (n < 0 || (size_t)n >= len)
        return vn_error_set(err, "the /proc path of '%s' is too long", file);
    return 0;
}

ssize_t vn_proc_read(pid_t pid, pid_t tid, const char *file, char *buf, size_t len,
                     struct vn_error *err)
{
    char path[128];
    if (len < 1 || path_of(pid, tid, file, path, sizeof path, err) < 0)
        return -1;
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

int vn_proc_stat_read(pid_t pid, pid_t tid, struct vn_proc_stat *out, struct vn_error *err)
{
    char buf[2048];
    ssize_t n = vn_proc_read(pid, tid, "stat", buf, sizeof buf, err);
    if (n < 0)
        return -1;
    if (vn_proc_stat_parse(buf, (size_t)n, out) < 0)
        return vn_error_set(err, "the stat file of process %d has an unexpected format", (int)pid);
    return 0;
}

/* The numeric entries of dir (at most max). */
static int numeric_entries(const char *dir, pid_t *out, int max, struct vn_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return vn_error_sys(err, errno, "cannot list '%s'", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        long id = strtol(e->d_name, &end, 10);
        if (*end == '\0' && id > 0)
            out[n++] = (pid_t)id;
    }
    closedir(d);
    return n;
}

int vn_proc_pids(pid_t *pids, int max, struct vn_error *err)
{
    return numeric_entries("/proc", pids, max, err);
}

int vn_proc_threads(pid_t pid, pid_t *tids, int max, struct vn_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    return numeric_entries(path, tids, max, err);
}
