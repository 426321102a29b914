/* Bounded reads of user-named files (readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a file";
}

const char *vn_file_size_text(size_t bytes, char *out, size_t len)
{
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        snprintf(out, len, "%zu MiB", bytes >> 20);
    else
        snprintf(out, len, "%zu bytes", bytes);
    return out;
}

static int too_large(const char *path, size_t max, const char *what, size_t size, bool grew,
                     struct vn_error *err)
{
    char limit[32];
    vn_file_size_text(max, limit, sizeof limit);
    if (grew)
        vn_error_set(err, "%s '%s' is more than %zu bytes; the limit is %zu bytes (%s)", what, path,
                     max, max, limit);
    else
        vn_error_set(err, "%s '%s' is %zu bytes; the limit is %zu bytes (%s)", what, path, size,
                     max, limit);
    return VN_FILE_TOO_LARGE;
}

int vn_file_read(const char *path, size_t max, const char *what, char **buf, size_t *len,
                 struct vn_error *err)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever. */
    VN_CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot open %s '%s'", what, path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vn_error_sys(err, errno, "cannot read %s '%s'", what, path);
    if (!S_ISREG(st.st_mode))
        return vn_error_set(err, "%s '%s' is not a regular file (it is %s)", what, path,
                            file_kind(st.st_mode));
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        return vn_error_sys(err, errno, "cannot read %s '%s'", what, path);
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        *len = (size_t)st.st_size;
        return too_large(path, max, what, (size_t)st.st_size, false, err);
    }
    /* Sized by fstat, grown only if the file grows meanwhile, never beyond max + 1 bytes. */
    size_t cap = (size_t)st.st_size + 1;
    VN_CLEANUP_FREE char *data = malloc(cap + 1);
    if (!data)
        return vn_error_set(err, "out of memory reading %s '%s'", what, path);
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max)
                break;
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *grown = realloc(data, ncap + 1);
            if (!grown)
                return vn_error_set(err, "out of memory reading %s '%s'", what, path);
            data = grown;
            cap = ncap;
        }
        ssize_t r = read(fd, data + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return vn_error_sys(err, errno, "cannot read %s '%s'", what, path);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        *len = n;
        return too_large(path, max, what, n, true, err);
    }
    data[n] = '\0';
    *buf = VN_STEAL(data);
    *len = n;
    return 0;
}
