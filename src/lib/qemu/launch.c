#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "cred.h"
#include "../util/clock.h"

#define DEFAULT_QEMU  "qemu-system-x86_64"
#define POLL_MS       10
#define LOG_TAIL_READ 8192

extern char **environ;

/* What the child tells the parent through the CLOEXEC pipe when it cannot exec. */
enum child_step { STEP_SETSID = 1, STEP_STDIO, STEP_FDS, STEP_EXEC, STEP_GATE, STEP_CRED };

struct child_report {
    int step;
    int errnum;
};

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int vn_qemu_find_binary(char *buf, size_t len, struct vn_error *err)
{
    const char *env = getenv("VNUMA_QEMU");
    const char *name = env && *env ? env : DEFAULT_QEMU;
    if (strchr(name, '/')) {
        if (!is_executable_file(name))
            return vn_error_set(err, "the QEMU binary '%s' (VNUMA_QEMU) is not an executable file.",
                                name);
        if (snprintf(buf, len, "%s", name) >= (int)len)
            return vn_error_set(err, "path '%s' is too long.", name);
        return 0;
    }
    const char *path = getenv("PATH");
    VN_CLEANUP_FREE char *dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    if (!dirs)
        return vn_error_sys(err, ENOMEM, "cannot look for QEMU");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        char cand[4096];
        if (snprintf(cand, sizeof cand, "%s/%s", *dir ? dir : ".", name) >= (int)sizeof cand)
            continue;
        if (is_executable_file(cand)) {
            if (snprintf(buf, len, "%s", cand) >= (int)len)
                return vn_error_set(err, "path '%s' is too long.", cand);
            return 0;
        }
    }
    if (env && *env)
        return vn_error_set(err, "the QEMU binary '%s' (VNUMA_QEMU) was not found on PATH.", name);
    return vn_error_set(err,
                        "the QEMU binary '" DEFAULT_QEMU "' was not found on PATH; install the "
                        "Debian package 'qemu-system-x86' or set VNUMA_QEMU to its path.");
}

/* Runs in the forked child: only async-signal-safe calls, because the parent may have other
 * threads (vnumad) whose locks were copied in whatever state they were in. */
static void child_exec(const char *const *argv, int null_fd, int log_fd, int report_fd, int gate_fd,
                       const int *keep, int nkeep, int max_fd, const struct vn_qemu_cred *cred)
{
    struct child_report rep = {0, 0};
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* A blocked or ignored SIGTERM inherited from the caller would make QEMU unstoppable. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL);

    if (setsid() < 0) {
        rep = (struct child_report){STEP_SETSID, errno};
        goto report;
    }
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) {
        rep = (struct child_report){STEP_STDIO, errno};
        goto report;
    }
    /* A caller with closed stdio got 0..2 for its CLOEXEC descriptors; dup2 onto itself keeps
     * the flag, which would close QEMU's stdio at exec. */
    for (int fd = 0; fd <= 2; fd++)
        fcntl(fd, F_SETFD, 0);
    /* Everything else closes at exec; report_fd is already CLOEXEC, so it stays usable for
     * an exec failure and closes on success, which is how the parent learns of it. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        for (int fd = 3; fd < max_fd; fd++)
            if (fd != report_fd)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    for (int i = 0; i < nkeep; i++)
        if (fcntl(keep[i], F_SETFD, 0) < 0) {
            rep = (struct child_report){STEP_FDS, errno};
            goto report;
        }
    /* Held: exec only on the parent's go byte.  EOF means the parent died before it could
     * record this pid, and a QEMU nobody knows of must not start. */
    if (gate_fd >= 0) {
        char go;
        ssize_t g;
        do
            g = read(gate_fd, &go, 1);
        while (g < 0 && errno == EINTR);
        if (g != 1)
            _exit(126);
        close(gate_fd);
    }
    /* What QEMU creates (sockets, the console log) is its user's alone; no exec may gain
     * privileges (QEMU's -sandbox sets this too); then the unprivileged user, verified. */
    umask(077);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        rep = (struct child_report){STEP_CRED, errno};
        goto report;
    }
    int cred_err = vn_qemu_cred_apply(cred);
    if (cred_err) {
        rep = (struct child_report){STEP_CRED, cred_err};
        goto report;
    }
    execve(argv[0], (char *const *)argv, environ);
    rep = (struct child_report){STEP_EXEC, errno};
report:;
    ssize_t unused = write(report_fd, &rep, sizeof rep);
    (void)unused;
    _exit(127);
}

static pid_t waitpid_eintr(pid_t pid, int *status, int flags)
{
    pid_t r;
    do
        r = waitpid(pid, status, flags);
    while (r < 0 && errno == EINTR);
    return r;
}

int vn_qemu_spawn_held(const char *const *argv, const char *log_path, const int *keep_fds,
                       int nkeep, struct vn_qemu_proc *out, struct vn_error *err)
{
    return vn_qemu_spawn_held_as(argv, log_path, keep_fds, nkeep, NULL, out, err);
}

int vn_qemu_spawn_held_as(const char *const *argv, const char *log_path, const int *keep_fds,
                          int nkeep, const struct vn_qemu_cred *cred, struct vn_qemu_proc *out,
                          struct vn_error *err)
{
    if (!argv || !argv[0] || !strchr(argv[0], '/'))
        return vn_error_set(err, "the QEMU binary '%s' must be given as a path.",
                            argv && argv[0] ? argv[0] : "");
    out->pid = -1;
    out->gate_fd = out->report_fd = -1;
    if (snprintf(out->log_path, sizeof out->log_path, "%s", log_path) >= (int)sizeof out->log_path)
        return vn_error_set(err, "log path '%s' is too long.", log_path);
    out->uid = cred && cred->change ? cred->uid : geteuid();
    if (cred && cred->change)
        snprintf(out->user, sizeof out->user, "%s", cred->user);
    else
        out->user[0] = '\0';
    for (int i = 0; i < nkeep; i++)
        if (keep_fds[i] < 3)
            return vn_error_set(err, "descriptor %d cannot be passed to QEMU.", keep_fds[i]);

    /* Everything that can fail with a useful message is done before fork. */
    VN_CLEANUP_CLOSE int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0)
        return vn_error_sys(err, errno, "cannot open '/dev/null'");
    VN_CLEANUP_CLOSE int log_fd =
        open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
    if (log_fd < 0)
        return vn_error_sys(err, errno, "cannot create the QEMU log '%s'", log_path);
    int pipefd[2], gatefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return vn_error_sys(err, errno, "cannot create a pipe to start QEMU");
    VN_CLEANUP_CLOSE int rd = pipefd[0];
    VN_CLEANUP_CLOSE int wr = pipefd[1];
    if (pipe2(gatefd, O_CLOEXEC) < 0)
        return vn_error_sys(err, errno, "cannot create a pipe to start QEMU");
    VN_CLEANUP_CLOSE int gate_rd = gatefd[0];
    VN_CLEANUP_CLOSE int gate_wr = gatefd[1];
    struct rlimit rl;
    int max_fd =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536
            ? (int)rl.rlim_cur
            : 65536;

    pid_t pid = fork();
    if (pid < 0)
        return vn_error_sys(err, errno, "cannot fork to start QEMU '%s'", argv[0]);
    if (pid == 0) {
        close(gate_wr); /* only the parent may hold the go end, or EOF never comes */
        child_exec(argv, null_fd, log_fd, wr, gate_rd, keep_fds, nkeep, max_fd, cred);
    }
    out->pid = pid;
    out->gate_fd = VN_STEAL_FD(gate_wr);
    out->report_fd = VN_STEAL_FD(rd);
    return 0;
}

int vn_qemu_release(struct vn_qemu_proc *p, const char *binary, struct vn_error *err)
{
    char go = 1;
    ssize_t w;
    /* A held child that was killed closes the gate: EPIPE is an error here, not SIGPIPE's
     * silent death of the caller, which would leave the record and files behind. */
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_set, &old);
    do
        w = write(p->gate_fd, &go, 1);
    while (w < 0 && errno == EINTR);
    int werr = errno;
    if (w < 0 && werr == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec now = {0, 0};
        sigtimedwait(&pipe_set, NULL, &now); /* ours, raised by the write */
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = werr;
    close(p->gate_fd);
    p->gate_fd = -1;
    VN_CLEANUP_CLOSE int rd = p->report_fd;
    p->report_fd = -1;
    pid_t pid = p->pid;
    /* The child waits for the go byte only; a failed write leaves it to see EOF and exit. */
    if (w != 1) {
        int saved = errno;
        waitpid_eintr(pid, NULL, 0);
        p->pid = 0;
        return vn_error_sys(err, saved, "cannot let QEMU '%s' start", binary);
    }
    struct child_report rep;
    ssize_t n;
    do
        n = read(rd, &rep, sizeof rep);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    if (n < 0) {
        int saved = errno;
        vn_qemu_kill(pid, 0);
        p->pid = 0;
        return vn_error_sys(err, saved, "cannot learn whether QEMU '%s' started", binary);
    }
    /* The child reported a failure: it exits at once; reap it. */
    waitpid_eintr(pid, NULL, 0);
    p->pid = 0;
    if (n != (ssize_t)sizeof rep)
        return vn_error_set(err, "QEMU '%s' failed to start and did not say why.", binary);
    switch (rep.step) {
    case STEP_SETSID:
        return vn_error_sys(err, rep.errnum, "cannot start a new session for QEMU '%s'", binary);
    case STEP_STDIO:
        return vn_error_sys(err, rep.errnum, "cannot redirect QEMU's output to '%s'", p->log_path);
    case STEP_FDS:
        return vn_error_sys(err, rep.errnum, "cannot pass descriptors to QEMU '%s'", binary);
    case STEP_CRED:
        return vn_error_sys(err, rep.errnum, "cannot run QEMU '%s' as user '%s' (uid %u)", binary,
                            p->user[0] ? p->user : "(caller)", (unsigned)p->uid);
    default:
        return vn_error_sys(err, rep.errnum, "cannot execute QEMU '%s'", binary);
    }
}

void vn_qemu_abandon(struct vn_qemu_proc *p)
{
    if (p->gate_fd >= 0)
        close(p->gate_fd); /* EOF: the held child exits without exec */
    if (p->report_fd >= 0)
        close(p->report_fd);
    p->gate_fd = p->report_fd = -1;
    if (p->pid > 0)
        waitpid_eintr(p->pid, NULL, 0);
    p->pid = 0;
}

int vn_qemu_spawn(const char *const *argv, const char *log_path, struct vn_qemu_proc *out,
                  struct vn_error *err)
{
    if (vn_qemu_spawn_held(argv, log_path, NULL, 0, out, err) < 0)
        return -1;
    if (vn_qemu_release(out, argv[0], err) < 0) {
        out->pid = -1;
        return -1;
    }
    return 0;
}

void vn_qemu_describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "stopped with wait status %#x", (unsigned)status);
}

void vn_qemu_log_tail(const char *log_path, int max_lines, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    VN_CLEANUP_CLOSE int fd = open(log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || max_lines <= 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t start = size > LOG_TAIL_READ ? size - LOG_TAIL_READ : 0;
    char text[LOG_TAIL_READ + 1];
    ssize_t n = pread(fd, text, LOG_TAIL_READ, start);
    if (n <= 0)
        return;
    text[n] = '\0';

    /* Walk back over the lines, keeping the last max_lines that have something printable. */
    char *lines[64];
    int count = 0;
    if (max_lines > (int)VN_ARRAY_SIZE(lines))
        max_lines = (int)VN_ARRAY_SIZE(lines);
    for (char *end = text + n; end > text && count < max_lines;) {
        char *nl = end - 1;
        while (nl >= text && *nl != '\n')
            nl--;
        char *line = nl + 1;
        *end = '\0';
        char *w = line;
        for (char *r = line; *r; r++)
            if ((unsigned char)*r >= 0x20 && *r != 0x7f)
                *w++ = *r;
        *w = '\0';
        while (w > line && w[-1] == ' ')
            *--w = '\0';
        if (*line && !(start > 0 && nl < text)) /* skip a line cut by the read window */
            lines[count++] = line;
        end = nl >= text ? nl : text;
    }
    size_t used = 0;
    for (int i = count - 1; i >= 0 && used < len; i--)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", lines[i], i ? " / " : "");
}

int vn_qemu_wait_exit(pid_t pid, int timeout_ms, int *status, struct vn_error *err)
{
    long long deadline = vn_clock_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid_eintr(pid, &st, WNOHANG);
        if (r < 0)
            return vn_error_sys(err, errno, "cannot wait for QEMU (pid %d)", (int)pid);
        if (r == pid) {
            if (status)
                *status = st;
            return 1;
        }
        if (vn_clock_ms() >= deadline)
            return 0;
        vn_sleep_ms(POLL_MS);
    }
}

int vn_qemu_wait_ready(const struct vn_qemu_proc *proc, const char *qmp_socket_path, int timeout_ms,
                       struct vn_error *err)
{
    long long deadline = vn_clock_ms() + timeout_ms;
    for (;;) {
        int st;
        int r = vn_qemu_wait_exit(proc->pid, 0, &st, err);
        if (r < 0)
            return -1;
        if (r == 1) {
            char how[128], tail[640];
            vn_qemu_describe_status(st, how, sizeof how);
            vn_qemu_log_tail(proc->log_path, 3, tail, sizeof tail);
            return vn_error_set(err, "QEMU (pid %d) %s before it was ready: %s (log '%s').",
                                (int)proc->pid, how, *tail ? tail : "it printed nothing",
                                proc->log_path);
        }
        struct stat sb;
        if (stat(qmp_socket_path, &sb) == 0 && S_ISSOCK(sb.st_mode))
            return 0;
        if (vn_clock_ms() >= deadline)
            break;
        vn_sleep_ms(POLL_MS);
    }
    vn_qemu_kill(proc->pid, 2000);
    char tail[512];
    vn_qemu_log_tail(proc->log_path, 3, tail, sizeof tail);
    return vn_error_set(err,
                        "QEMU (pid %d) did not create its QMP socket '%s' within %d ms and was "
                        "stopped; its log '%s' ends with: %s",
                        (int)proc->pid, qmp_socket_path, timeout_ms, proc->log_path,
                        *tail ? tail : "nothing");
}

/* True when pid is gone: reaped if it is our child, or no longer signalable otherwise. */
static bool gone(pid_t pid, bool *child)
{
    if (*child) {
        pid_t r = waitpid_eintr(pid, NULL, WNOHANG);
        if (r == pid)
            return true;
        if (r < 0 && errno == ECHILD)
            *child = false;
        else
            return false;
    }
    return kill(pid, 0) < 0 && errno == ESRCH;
}

static void signal_all(pid_t pid, int sig)
{
    /* QEMU leads its own process group (setsid): helpers it started go with it.  A pid that
     * leads no group of its own gets the signal alone. */
    bool leader = getpgid(pid) == pid;
    kill(pid, sig);
    if (leader)
        kill(-pid, sig);
}

static bool wait_gone(pid_t pid, bool *child, int ms)
{
    long long deadline = vn_clock_ms() + ms;
    while (!gone(pid, child)) {
        if (vn_clock_ms() >= deadline)
            return false;
        vn_sleep_ms(POLL_MS);
    }
    return true;
}

int vn_qemu_kill(pid_t pid, int grace_ms)
{
    /* kill(-1) and kill(-0) would reach far more than one QEMU. */
    if (pid <= 1)
        return -1;
    bool child = true;
    if (gone(pid, &child))
        return 0;
    signal_all(pid, SIGTERM);
    if (wait_gone(pid, &child, grace_ms))
        return 0;
    signal_all(pid, SIGKILL);
    if (child) {
        waitpid_eintr(pid, NULL, 0);
        return 1;
    }
    return wait_gone(pid, &child, 5000) ? 1 : -1;
}

int vn_qemu_version(const char *binary, char *buf, size_t len, struct vn_error *err)
{
    const char *tmpdir = getenv("TMPDIR");
    char log[4096];
    snprintf(log, sizeof log, "%s/vnuma-qemu-version.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    VN_CLEANUP_CLOSE int fd = mkstemp(log);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot create a temporary file '%s'", log);
    const char *argv[] = {binary, "-version", NULL};
    struct vn_qemu_proc proc;
    int rc = vn_qemu_spawn(argv, log, &proc, err);
    if (rc == 0) {
        int st = 0;
        int r = vn_qemu_wait_exit(proc.pid, 10000, &st, err);
        if (r == 0) {
            vn_qemu_kill(proc.pid, 500);
            rc = vn_error_set(err, "'%s -version' did not finish within 10 s.", binary);
        } else if (r < 0) {
            rc = -1;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char how[128], tail[512];
            vn_qemu_describe_status(st, how, sizeof how);
            vn_qemu_log_tail(log, 2, tail, sizeof tail);
            rc = vn_error_set(err, "'%s -version' %s: %s", binary, how, tail);
        } else {
            char first[256] = "";
            ssize_t n = pread(fd, first, sizeof first - 1, 0);
            first[n > 0 ? n : 0] = '\0';
            first[strcspn(first, "\n")] = '\0';
            if (!*first)
                rc = vn_error_set(err, "'%s -version' printed nothing.", binary);
            else if (snprintf(buf, len, "%s", first) >= (int)len)
                rc = vn_error_set(err, "the version of '%s' is too long.", binary);
        }
    }
    unlink(log);
    return rc;
}
