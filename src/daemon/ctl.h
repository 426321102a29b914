/* vnumad's control socket as both ends name it, and its one client.  The daemon (server.c)
 * and `vnuma balance` (src/cli/cmd_balance.c) take the socket's and the lock's paths from
 * here, so the names are written once.  The client is bounded in time from connect to the
 * last byte of the reply and never raises SIGPIPE.  No JSON here: lines in, lines out. */
#ifndef VND_CTL_H
#define VND_CTL_H

#include <stddef.h>

#include "util/error.h"

#define VND_SOCKET_NAME       "vnumad.sock" /* STATE_DIR/vnumad.sock */
#define VND_LOCK_NAME         "vnumad.lock" /* STATE_DIR/vnumad.lock, held by the running vnumad */
#define VND_CLIENT_TIMEOUT_MS 10000         /* a client's default wait, connect to reply */
#define VND_REPLY_MAX         (16 << 20)    /* the longest reply a client takes */

/* STATE_DIR/vnumad.sock into buf; -1 when it does not fit (len is a sun_path's size). */
int vnd_socket_path(const char *state_dir, char *buf, size_t len, struct vn_error *err);
/* STATE_DIR/vnumad.lock into buf; -1 when it does not fit. */
int vnd_lock_path(const char *state_dir, char *buf, size_t len, struct vn_error *err);
/* Sends one request line (newline included) to the vnumad of state_dir and returns its
 * reply line in *reply (malloc'ed, NUL-terminated, without the newline), all within
 * timeout_ms; errors name the socket.  Returns 0 or -1. */
int vnd_ctl_call(const char *state_dir, const char *line, int timeout_ms, char **reply,
                 struct vn_error *err);

#endif
