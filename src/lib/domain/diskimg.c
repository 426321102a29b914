/* What create checks in each disk image before anything starts: the image (or block device)
 * is there and usable, its format is known (as written, or probed from the qcow2 magic
 * "QFI\xfb" when the config gives none: QEMU is never left to guess), and a qcow2's backing
 * chain is there, readable, and records each backing file's format.
 *
 * A probed qcow2 that points at other files (a backing file, an external data file) is
 * refused: a guest can write any header into a raw image it owns, and a probe that followed
 * it would hand the guest those host files (the reason QEMU warns about probing raw images).
 * Written as format=qcow2, the same image is trusted as the operator's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain_int.h"

#define QCOW2_MAGIC         0x514649fbu /* "QFI\xfb" */
#define QCOW2_EXT_BACKING   0xe2792acau /* backing file format name */
#define QCOW2_INCOMPAT_DATA (1ull << 2) /* external data file */
#define HEAD_BYTES          65536       /* one default cluster holds header and extensions */
#define CHAIN_MAX           16

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int vn_qcow2_parse(const unsigned char *buf, size_t len, struct vn_qcow2_head *out)
{
    memset(out, 0, sizeof *out);
    if (len < 72 || be32(buf) != QCOW2_MAGIC)
        return 0;
    out->is_qcow2 = true;
    uint32_t version = be32(buf + 4);
    uint64_t boff = be64(buf + 8);
    uint32_t bsize = be32(buf + 16);
    if (version < 2 || version > 3)
        return -1;
    if (boff) {
        if (bsize == 0 || bsize >= sizeof out->backing || boff > len || bsize > len - boff)
            return -1;
        memcpy(out->backing, buf + boff, bsize);
        out->backing[bsize] = '\0';
        if (strlen(out->backing) != bsize)
            return -1;
    }
    size_t ext = 72;
    if (version == 3) {
        if (len < 104)
            return -1;
        out->data_file = (be64(buf + 72) & QCOW2_INCOMPAT_DATA) != 0;
        ext = be32(buf + 100);
        if (ext < 104 || ext > len)
            return -1;
    }
    /* header extensions: type, length, data padded to 8 bytes, up to type 0 */
    for (int n = 0; n < 64 && ext + 8 <= len; n++) {
        uint32_t type = be32(buf + ext), elen = be32(buf + ext + 4);
        if (type == 0)
            break;
        if (elen > len - ext - 8)
            return -1;
        if (type == QCOW2_EXT_BACKING) {
            if (elen == 0 || elen >= sizeof out->backing_fmt)
                return -1;
            memcpy(out->backing_fmt, buf + ext + 8, elen);
            out->backing_fmt[elen] = '\0';
        }
        ext += 8 + (((size_t)elen + 7) & ~(size_t)7);
    }
    return 0;
}

/* Reads the first HEAD_BYTES (fewer for a small file) of path into buf. */
static ssize_t read_head(const char *path, unsigned char *buf, size_t len, int *errnum)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        *errnum = errno;
        return -1;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *errnum = errno;
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (ssize_t)got;
}

/* A file a disk uses: a regular file or block device, readable (and writable when asked). */
static int check_image(const char *dom, const char *vdev, const char *what, const char *path,
                       bool writable, struct vn_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return vn_error_sys(err, errno, "domain '%s': disk '%s': the %s '%s' cannot be used", dom,
                            vdev, what, path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return vn_error_set(err,
                            "domain '%s': disk '%s': the %s '%s' is neither a regular file nor a "
                            "block device",
                            dom, vdev, what, path);
    if (access(path, writable ? R_OK | W_OK : R_OK) < 0)
        return vn_error_sys(err, errno, "domain '%s': disk '%s': the %s '%s' is not %s", dom, vdev,
                            what, path, writable ? "readable and writable" : "readable");
    return 0;
}

/* The backing file's path as QEMU resolves it: relative names are relative to the image's
 * directory.  False when it does not fit. */
static bool backing_path(const char *image, const char *backing, char *out, size_t len)
{
    const char *slash = strrchr(image, '/');
    int n;
    if (backing[0] == '/' || !slash)
        n = snprintf(out, len, "%s", backing);
    else
        n = snprintf(out, len, "%.*s/%s", (int)(slash - image), image, backing);
    return n >= 0 && (size_t)n < len;
}

int vn_dom_disk_check(const char *dom, struct vn_disk *d, struct vn_error *err)
{
    if (!d->target)
        return 0; /* an empty CD-ROM */
    const char *vdev = d->vdev ? d->vdev : "?";
    if (check_image(dom, vdev, "image", d->target, !d->readonly && !d->cdrom, err) < 0)
        return -1;
    unsigned char *buf = malloc(HEAD_BYTES);
    if (!buf)
        return vn_error_set(err, "out of memory");
    char path[PATH_MAX], next[PATH_MAX];
    snprintf(path, sizeof path, "%s", d->target);
    bool given = d->format_given;
    const char *fmt = d->format ? d->format : "raw";
    int rc = 0;
    for (int depth = 0; rc == 0; depth++) {
        int errnum = 0;
        ssize_t n = read_head(path, buf, HEAD_BYTES, &errnum);
        struct vn_qcow2_head h;
        if (n < 0) {
            rc = vn_error_sys(err, errnum, "domain '%s': disk '%s': cannot read '%s'", dom, vdev,
                              path);
            break;
        }
        if (vn_qcow2_parse(buf, (size_t)n, &h) < 0) {
            rc = vn_error_set(err, "domain '%s': disk '%s': '%s' has a damaged qcow2 header", dom,
                              vdev, path);
            break;
        }
        if (depth == 0 && !given && h.is_qcow2) {
            if (h.backing[0] || h.data_file) {
                rc = vn_error_set(err,
                                  "domain '%s': disk '%s': '%s' looks like a qcow2 image that "
                                  "names other files (%s), and the config gives no format; "
                                  "write format=qcow2 if it is one",
                                  dom, vdev, path,
                                  h.backing[0] ? "a backing file" : "an external data file");
                break;
            }
            free(d->format);
            d->format = strdup("qcow2");
            if (!d->format) {
                rc = vn_error_set(err, "out of memory");
                break;
            }
            fmt = d->format;
        }
        if (strcmp(fmt, "qcow2") == 0 && !h.is_qcow2) {
            rc = vn_error_set(err, "domain '%s': disk '%s': '%s' is not a qcow2 image", dom, vdev,
                              path);
            break;
        }
        if (strcmp(fmt, "qcow2") != 0 || !h.backing[0])
            break;
        if (depth + 1 >= CHAIN_MAX) {
            rc = vn_error_set(err,
                              "domain '%s': disk '%s': the backing chain of '%s' is longer "
                              "than %d files",
                              dom, vdev, d->target, CHAIN_MAX);
            break;
        }
        if (!backing_path(path, h.backing, next, sizeof next)) {
            rc = vn_error_set(err,
                              "domain '%s': disk '%s': the backing file of '%s' has too long a "
                              "path",
                              dom, vdev, path);
            break;
        }
        if (!h.backing_fmt[0]) {
            rc = vn_error_set(err,
                              "domain '%s': disk '%s': '%s' names the backing file '%s' but not "
                              "its format, and QEMU would have to guess it; record it with "
                              "'qemu-img rebase -u -b %s -F raw|qcow2 %s'",
                              dom, vdev, path, h.backing, h.backing, path);
            break;
        }
        /* QEMU opens backing files read-only */
        if (check_image(dom, vdev, "backing file", next, false, err) < 0) {
            rc = -1;
            break;
        }
        snprintf(path, sizeof path, "%s", next);
        fmt = strcmp(h.backing_fmt, "qcow2") == 0 ? "qcow2" : "other";
        given = true;
    }
    free(buf);
    return rc;
}
