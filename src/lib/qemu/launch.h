/* Starting, watching and stopping QEMU processes.
 *
 * QEMU runs detached from the caller's terminal: its own session, stdin from /dev/null,
 * stdout and stderr to a log file of its own, no inherited descriptors, and it is started by
 * execve (no shell, nothing re-interpreted).  Every error path reaps or stops what it
 * started, so a caller never inherits a zombie or a stray QEMU. */
#ifndef VN_QEMU_LAUNCH_H
#define VN_QEMU_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

#include "../util/error.h"

struct vn_qemu_proc {
    pid_t pid;           /* QEMU's pid, also its session and process group id */
    char log_path[4096]; /* where its stdout and stderr go */
    int gate_fd;         /* held child: the go end of its gate, else -1 */
    int report_fd;       /* held child: where an exec failure is reported, else -1 */
    uid_t uid;           /* the user QEMU runs as */
    char user[64];       /* its name when the launcher dropped to it, else "" */
};

struct vn_qemu_cred;

/* $VNUMA_QEMU (a path, or a name looked up on PATH), else qemu-system-x86_64 on PATH. */
int vn_qemu_find_binary(char *buf, size_t len, struct vn_error *err);

/* Starts argv (argv[0] a path; the caller's environment passed on) with its output in
 * log_path (created 0600, truncated); fills out.  Exec failures are errors, not zombies. */
int vn_qemu_spawn(const char *const *argv, const char *log_path, struct vn_qemu_proc *out,
                  struct vn_error *err);

/* Forks the child that will exec argv, held before execve until vn_qemu_release: its pid
 * can be recorded before QEMU runs, and if the caller dies first the child exits unexec'd.
 * keep_fds (each >= 3) are inherited by QEMU under the same numbers. */
int vn_qemu_spawn_held(const char *const *argv, const char *log_path, const int *keep_fds,
                       int nkeep, struct vn_qemu_proc *out, struct vn_error *err);

/* vn_qemu_spawn_held, and the child takes on cred (NULL or !change: the caller's own) after
 * the gate and before execve, with umask 077 and no_new_privs; a failure is the release's. */
int vn_qemu_spawn_held_as(const char *const *argv, const char *log_path, const int *keep_fds,
                          int nkeep, const struct vn_qemu_cred *cred, struct vn_qemu_proc *out,
                          struct vn_error *err);

/* Lets a held child exec; an exec failure is an error and the child is reaped (pid 0). */
int vn_qemu_release(struct vn_qemu_proc *p, const char *binary, struct vn_error *err);

/* Makes a held child exit without exec and reaps it. */
void vn_qemu_abandon(struct vn_qemu_proc *p);

/* Waits until qmp_socket_path is a socket (remove a stale one before spawning: it would
 * count as ready; QEMU may still be between bind and listen, so connect with a retry).  On failure
 * (QEMU exited: its log's last lines are in the message; or timeout) the process has been reaped or
 * stopped. */
int vn_qemu_wait_ready(const struct vn_qemu_proc *proc, const char *qmp_socket_path, int timeout_ms,
                       struct vn_error *err);

/* Waits up to timeout_ms for our child pid to exit: 1 and *status (waitpid form) when it
 * did, 0 when it still runs, -1 with err when pid is not a child of ours. */
int vn_qemu_wait_exit(pid_t pid, int timeout_ms, int *status, struct vn_error *err);

/* SIGTERM to pid and its process group, SIGKILL after grace_ms, reaped when it is our child.
 * Returns 0 when gone after SIGTERM, 1 when SIGKILL was needed, -1 when it outlived both. */
int vn_qemu_kill(pid_t pid, int grace_ms);

/* The last max_lines non-empty lines of a log joined with " / ", control characters
 * dropped; "" when the log is empty or unreadable.  For error messages. */
void vn_qemu_log_tail(const char *log_path, int max_lines, char *buf, size_t len);

/* Describes a waitpid status: "exited with status 1", "was killed by signal 9 (Killed)". */
void vn_qemu_describe_status(int status, char *buf, size_t len);

/* The "QEMU emulator version ..." line of `binary -version`. */
int vn_qemu_version(const char *binary, char *buf, size_t len, struct vn_error *err);

#endif
