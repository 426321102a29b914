/* Attaching a terminal to a domain's serial console.
 *
 * QEMU serves the guest's serial port on a UNIX socket in the domain's runtime dir; this
 * relays bytes between that socket and two file descriptors until the user types the detach
 * key (Ctrl-], as virsh and telnet use) or the guest goes away. */
#ifndef VN_CONSOLE_H
#define VN_CONSOLE_H

#include "../util/error.h"

#define VN_CONSOLE_DETACH_KEY 0x1d /* Ctrl-] */

enum vn_console_end {
    VN_CONSOLE_DETACHED, /* the user typed the detach key */
    VN_CONSOLE_CLOSED,   /* QEMU closed the socket (the guest stopped) */
    VN_CONSOLE_INPUT_EOF /* in_fd reached end of file */
};

/* Relays between the console socket at path and in_fd/out_fd (the terminal is put in raw
 * mode when in_fd is one, and restored); returns how it ended, or -1 with err. */
int vn_console_attach(const char *path, int in_fd, int out_fd, struct vn_error *err);

#endif
