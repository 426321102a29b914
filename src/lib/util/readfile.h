/* Reading a whole input file with a size bound.
 *
 * Every file a user names (configs, host files, load files) goes through here, so that a
 * FIFO, a device or a huge file costs nothing: the file is opened with O_NONBLOCK (opening a
 * FIFO never waits for a writer), anything but a regular file is refused, and at most
 * max + 1 bytes are ever read. */
#ifndef VN_READFILE_H
#define VN_READFILE_H

#include <stddef.h>

#include "error.h"

/* Result of vn_file_read when the file is larger than max (*len is then its size, or max + 1
 * when it grew past max while being read). */
#define VN_FILE_TOO_LARGE (-2)

/* Reads the regular file path (at most max bytes) into a NUL-terminated malloc'd *buf of
 * *len bytes.  what names the file in messages ("host file", "load file").  Returns 0, -1
 * with err (cannot open, not a regular file, read error) or VN_FILE_TOO_LARGE with err. */
int vn_file_read(const char *path, size_t max, const char *what, char **buf, size_t *len,
                 struct vn_error *err);

/* "1 MiB", "16 MiB" or "1000 bytes": a limit as messages show it, into out. */
const char *vn_file_size_text(size_t bytes, char *out, size_t len);

#endif
