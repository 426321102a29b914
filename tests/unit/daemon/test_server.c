/* Tests of vnumad's servers and of its client, end to end: a real vnumad loop (vnd_init +
 * vnd_run in a thread, a synthetic host, an empty state dir in /tmp) and real sockets (unix
 * sockets in the temp dir, TCP on 127.0.0.1 only).  What they prove: one client cannot freeze
 * the loop (flooding without reading, idle connections, silent metrics connections); the
 * control socket refuses other users (SO_PEERCRED); a second vnumad on the same state dir is
 * refused by the lock file; vnumad removes only its own socket; the `vnuma balance` client
 * has a timeout that names the socket and never dies of SIGPIPE.  Every wait is bounded. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vnumad.h"

extern char **environ;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- a vnumad in a thread ----------------------------------------------------------------- */

struct daemon {
    struct vnd *v;
    pthread_t th;
    volatile sig_atomic_t stop;
    volatile int done; /* vnd_run returned */
    int rc;
    struct vn_error err;
    char state[200];
    char sock[300];
    char log[300];
};

static char tmpdir[64];

static void *run_thread(void *p)
{
    struct daemon *d = p;
    d->rc = vnd_run(d->v, &d->stop, &d->err);
    d->done = 1;
    return NULL;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    /* A full backlog says EAGAIN: retry, bounded. */
    for (int i = 0; i < 200; i++) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        if (errno != EAGAIN)
            break;
        sleep_ms(10);
    }
    close(fd);
    return -1;
}

/* Reads one line from fd within timeout_ms into buf; returns its length or -1. */
static long read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t got = 0;
    int64_t end = now_ms() + timeout_ms;
    while (got + 1 < len) {
        int64_t left = end - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t r = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
        buf[got] = '\0';
        char *nl = memchr(buf, '\n', got);
        if (nl) {
            nl[1] = '\0';
            return nl + 1 - buf;
        }
    }
    return -1;
}

/* One request on a fresh connection; the reply line in buf.  -1 when none came in time. */
static long ask(const char *sock, const char *req, char *buf, size_t len, int timeout_ms)
{
    int fd = connect_unix(sock);
    if (fd < 0)
        return -1;
    long n = -1;
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req))
        n = read_line(fd, buf, len, timeout_ms);
    close(fd);
    return n;
}

static long passes_of(const char *reply)
{
    const char *p = strstr(reply, "\"passes\":");
    return p ? strtol(p + 9, NULL, 10) : -1;
}

/* idle_ms: the connections' idle timeout, 0 for VND_CLIENT_IDLE_MS. */
static void daemon_start_idle(struct daemon *d, const char *name, int metrics_port, int idle_ms)
{
    memset(d, 0, sizeof *d);
    snprintf(d->state, sizeof d->state, "%s/%s", tmpdir, name);
    snprintf(d->sock, sizeof d->sock, "%s/vnumad.sock", d->state);
    snprintf(d->log, sizeof d->log, "%s/%s.log", tmpdir, name);
    struct vnd_opts o = {
        .state_dir = d->state,
        .log_path = d->log,
        .host_spec = "synthetic:pack:2 numa:1 core:2 pu:1",
        .interval_s = 0.1,
        .metrics_port = metrics_port,
    };
    d->v = calloc(1, sizeof *d->v);
    assert_non_null(d->v);
    struct vn_error err = {0};
    if (vnd_init(d->v, &o, &err) < 0)
        fail_msg("vnd_init: %s", err.msg);
    if (idle_ms > 0)
        d->v->client_idle_ms = idle_ms;
    assert_int_equal(pthread_create(&d->th, NULL, run_thread, d), 0);
}

static void daemon_start(struct daemon *d, const char *name, int metrics_port)
{
    daemon_start_idle(d, name, metrics_port, 0);
}

/* Waits (bounded) until the daemon answers `status`. */
static void daemon_wait(struct daemon *d)
{
    char buf[4096];
    for (int i = 0; i < 100 && !d->done; i++) {
        if (ask(d->sock, "{\"cmd\":\"status\"}\n", buf, sizeof buf, 1000) > 0)
            return;
        sleep_ms(50);
    }
    fail_msg("vnumad on '%s' did not start: %s", d->state, d->err.msg);
}

static void daemon_stop(struct daemon *d)
{
    d->stop = 1;
    /* The loop polls at most 1 s at a time. */
    for (int i = 0; i < 100 && !d->done; i++)
        sleep_ms(50);
    if (!d->done)
        fail_msg("vnumad on '%s' did not stop within 5 s", d->state);
    pthread_join(d->th, NULL);
    vnd_fini(d->v);
    free(d->v);
    d->v = NULL;
}

static bool log_has(const struct daemon *d, const char *what)
{
    FILE *f = fopen(d->log, "re");
    if (!f)
        return false;
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* as vnumad's main does */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vnd-server-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- one client cannot freeze the loop ---------------------------------------------------- */

/* A client writes thousands of metrics requests and never reads a reply: vnumad keeps
 * answering others and keeps running passes, and drops the flooder once its queued replies
 * pass the limit. */
static void test_flood_without_reading(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "flood", 0);
    daemon_wait(&d);
    int fl = connect_unix(d.sock);
    assert_true(fl >= 0);
    static const char rq[] = "{\"cmd\":\"metrics\"}\n";
    int sent = 0;
    bool dropped = false;
    int64_t end = now_ms() + 3000;
    while (sent < 20000 && now_ms() < end) {
        ssize_t w = send(fl, rq, sizeof rq - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w == (ssize_t)(sizeof rq - 1)) {
            sent++;
            continue;
        }
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fl, .events = POLLOUT};
            poll(&p, 1, 100);
            continue;
        }
        dropped = w < 0; /* EPIPE/ECONNRESET: vnumad closed it */
        break;
    }
    char buf[8192];
    int64_t t0 = now_ms();
    long n = ask(d.sock, "{\"cmd\":\"status\"}\n", buf, sizeof buf, 2000);
    int64_t rtt = now_ms() - t0;
    long p1 = n > 0 ? passes_of(buf) : -1;
    sleep_ms(1200);
    long n2 = ask(d.sock, "{\"cmd\":\"status\"}\n", buf, sizeof buf, 2000);
    long p2 = n2 > 0 ? passes_of(buf) : -1;
    /* The flooder's connection ends (dropped over the output limit); drain it, bounded. */
    int64_t drain_end = now_ms() + 5000;
    while (!dropped && now_ms() < drain_end) {
        struct pollfd p = {.fd = fl, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t r = recv(fl, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            dropped = true;
    }
    close(fl);
    daemon_stop(&d);
    print_message("# flood: %d requests sent unread; status answered in %lld ms; passes %ld -> "
                  "%ld\n",
                  sent, (long long)rtt, p1, p2);
    if (n <= 0)
        fail_msg("status got no reply within 2 s while a client floods without reading");
    assert_true(strncmp(buf, "{\"ok\":true", 10) == 0);
    if (!(p2 > p1))
        fail_msg("no pass ran while a client floods (passes %ld then %ld)", p1, p2);
    assert_true(dropped);
    assert_true(log_has(&d, "queued"));
}

/* Many idle connections do not lock a new client out. */
static void test_idle_connections(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "idle", 0);
    daemon_wait(&d);
    int fds[80];
    for (int i = 0; i < 80; i++) {
        fds[i] = connect_unix(d.sock);
        assert_true(fds[i] >= 0);
    }
    sleep_ms(300); /* let the loop accept them all */
    char buf[8192];
    long n = ask(d.sock, "{\"cmd\":\"status\"}\n", buf, sizeof buf, 2000);
    for (int i = 0; i < 80; i++)
        close(fds[i]);
    daemon_stop(&d);
    if (n <= 0 || strncmp(buf, "{\"ok\":true", 10) != 0)
        fail_msg("with 80 idle connections, status got '%s'", n > 0 ? buf : "(no reply)");
}

static int tcp_port_free(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &l) < 0)
        fail_msg("no free port on 127.0.0.1: %s", strerror(errno));
    close(fd);
    return ntohs(sa.sin_port);
}

static int connect_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Silent connections to the metrics port cost the loop nothing: the control socket and a
 * real scrape answer at once. */
static void test_metrics_port_silent_clients(void **state)
{
    (void)state;
    struct daemon d;
    int port = tcp_port_free();
    daemon_start(&d, "http", port);
    daemon_wait(&d);
    int silent[4];
    for (int i = 0; i < 4; i++) {
        silent[i] = connect_tcp(port);
        assert_true(silent[i] >= 0);
    }
    sleep_ms(100);
    char buf[16384];
    int64_t t0 = now_ms();
    long n = ask(d.sock, "{\"cmd\":\"status\"}\n", buf, sizeof buf, 3000);
    int64_t rtt = now_ms() - t0;
    /* A scrape: the whole response, then the end of the connection. */
    int hf = connect_tcp(port);
    assert_true(hf >= 0);
    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(send(hf, get, sizeof get - 1, MSG_NOSIGNAL), (ssize_t)(sizeof get - 1));
    t0 = now_ms();
    size_t got = 0;
    bool eof = false;
    while (!eof && now_ms() - t0 < 3000 && got + 1 < sizeof buf) {
        struct pollfd p = {.fd = hf, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = recv(hf, buf + got, sizeof buf - 1 - got, MSG_DONTWAIT);
        if (r == 0)
            eof = true;
        else if (r > 0)
            got += (size_t)r;
        else if (errno != EAGAIN)
            break;
    }
    int64_t scrape = now_ms() - t0;
    buf[got] = '\0';
    close(hf);
    for (int i = 0; i < 4; i++)
        close(silent[i]);
    daemon_stop(&d);
    print_message("# 4 silent metrics connections: status in %lld ms, scrape in %lld ms\n",
                  (long long)rtt, (long long)scrape);
    if (n <= 0 || rtt > 900)
        fail_msg("status took %lld ms (reply: %s) with 4 silent metrics connections",
                 (long long)rtt, n > 0 ? "yes" : "none");
    assert_true(eof);
    if (scrape > 900)
        fail_msg("the scrape took %lld ms", (long long)scrape);
    assert_non_null(strstr(buf, "HTTP/1.0 200 OK\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\n# HELP vnumad_up"));
}

/* Waits (bounded) for the peer to close fd, reading what comes; the time it took, or -1. */
static long wait_eof(int fd, int bound_ms)
{
    int64_t t0 = now_ms();
    char buf[4096];
    while (now_ms() - t0 < bound_ms) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            return (long)(now_ms() - t0);
    }
    return -1;
}

/* Connections that make no progress are closed after the idle timeout (300 ms here): silent,
 * half a request, a reply read and nothing more.  One that sends its request and shuts down
 * its side still gets the reply. */
static void test_idle_timeout(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start_idle(&d, "timeout", 0, 300);
    daemon_wait(&d);
    int silent = connect_unix(d.sock), half = connect_unix(d.sock), done = connect_unix(d.sock);
    int hc = connect_unix(d.sock);
    assert_true(silent >= 0 && half >= 0 && done >= 0 && hc >= 0);
    assert_int_equal(send(half, "{\"cmd\":", 7, MSG_NOSIGNAL), 7);
    char buf[8192];
    assert_int_equal(send(done, "{\"cmd\":\"status\"}\n", 17, MSG_NOSIGNAL), 17);
    assert_true(read_line(done, buf, sizeof buf, 2000) > 0);
    assert_int_equal(send(hc, "{\"cmd\":\"status\"}\n", 17, MSG_NOSIGNAL), 17);
    assert_int_equal(shutdown(hc, SHUT_WR), 0);
    long got = read_line(hc, buf, sizeof buf, 2000);
    long hc_eof = wait_eof(hc, 2000);
    long t_silent = wait_eof(silent, 3000), t_half = wait_eof(half, 3000);
    long t_done = wait_eof(done, 3000);
    close(silent);
    close(half);
    close(done);
    close(hc);
    daemon_stop(&d);
    print_message("# idle 300 ms: closed after %ld, %ld, %ld ms (silent, half a line, served)\n",
                  t_silent, t_half, t_done);
    assert_true(got > 0 && strncmp(buf, "{\"ok\":true", 10) == 0);
    assert_true(hc_eof >= 0 && hc_eof < 1000); /* closed as soon as it is answered */
    assert_true(t_silent >= 0 && t_half >= 0 && t_done >= 0);
}

/* A request over VND_REQUEST_MAX gets an error reply and the connection is closed. */
static void test_request_too_long(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "long", 0);
    daemon_wait(&d);
    int fd = connect_unix(d.sock);
    assert_true(fd >= 0);
    size_t n = VND_REQUEST_MAX + 4000;
    char *big = malloc(n);
    memset(big, 'x', n);
    size_t off = 0;
    int64_t end = now_ms() + 3000;
    while (off < n && now_ms() < end) {
        ssize_t w = send(fd, big + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN)
            break;
        else
            sleep_ms(10);
    }
    free(big);
    char buf[512];
    long got = read_line(fd, buf, sizeof buf, 2000);
    long eof = wait_eof(fd, 2000);
    close(fd);
    daemon_stop(&d);
    assert_true(got > 0);
    assert_string_equal(buf, "{\"ok\":false,\"error\":\"the request is longer than 65536 bytes; "
                             "closing the connection\"}\n");
    assert_true(eof >= 0);
}

/* The names both ends use, and who may talk to vnumad. */
static void test_paths_and_peers(void **state)
{
    (void)state;
    char buf[108];
    struct vn_error err = {0};
    assert_int_equal(vnd_socket_path("/run/vnuma", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "/run/vnuma/vnumad.sock");
    assert_int_equal(vnd_lock_path("/run/vnuma", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "/run/vnuma/vnumad.lock");
    char longdir[200];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    assert_int_equal(vnd_socket_path(longdir, buf, sizeof buf, &err), -1);
    assert_non_null(strstr(err.msg, "is longer than 107 bytes"));
    assert_true(vnd_peer_allowed(1000, 1000));
    assert_true(vnd_peer_allowed(0, 1000));
    assert_false(vnd_peer_allowed(1001, 1000));
    assert_false(vnd_peer_allowed(1000, 0));
}

/* ---- SO_PEERCRED ---------------------------------------------------------------------------- */

/* Another user gets in even if the socket's mode were opened up by mistake: refused, logged. */
static void test_peercred(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("# skipped: needs root to connect as another uid\n");
        skip();
    }
    struct daemon d;
    daemon_start(&d, "cred", 0);
    daemon_wait(&d);
    struct stat st;
    assert_int_equal(stat(d.sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* owner-only as created */
    /* Open the way up to the socket, as a careless admin might. */
    assert_int_equal(chmod(tmpdir, 0711), 0);
    assert_int_equal(chmod(d.state, 0711), 0);
    assert_int_equal(chmod(d.sock, 0666), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        int fd = connect_unix(d.sock);
        if (fd < 0)
            _exit(2);
        char buf[4096] = "";
        send(fd, "{\"cmd\":\"status\"}\n", 17, MSG_NOSIGNAL);
        long n = read_line(fd, buf, sizeof buf, 3000);
        _exit(n > 0 && strncmp(buf, "{\"ok\":true", 10) == 0 ? 1 : 0);
    }
    int ws = 0;
    int64_t end = now_ms() + 10000;
    while (waitpid(pid, &ws, WNOHANG) == 0 && now_ms() < end)
        sleep_ms(20);
    if (now_ms() >= end) {
        kill(pid, SIGKILL);
        waitpid(pid, &ws, 0);
    }
    chmod(tmpdir, 0700);
    daemon_stop(&d);
    assert_true(WIFEXITED(ws));
    if (WEXITSTATUS(ws) != 0)
        fail_msg("uid 65534 %s",
                 WEXITSTATUS(ws) == 1 ? "was served by vnumad" : "could not connect at all");
    assert_true(log_has(&d, "uid 65534"));
}

/* ---- one vnumad per state dir ------------------------------------------------------------- */

/* With the first one's socket removed, a second vnumad still refuses to start, naming the
 * lock and the pid of the first. */
static void test_second_daemon(void **state)
{
    (void)state;
    struct daemon a, b;
    daemon_start(&a, "two", 0);
    daemon_wait(&a);
    assert_int_equal(unlink(a.sock), 0);
    daemon_start(&b, "two", 0);
    for (int i = 0; i < 40 && !b.done; i++)
        sleep_ms(50);
    bool refused = b.done && b.rc < 0;
    char msg[sizeof b.err.msg];
    snprintf(msg, sizeof msg, "%s", b.err.msg);
    daemon_stop(&b);
    /* `vnumad --once` takes the lock too. */
    struct vn_error err = {0};
    struct vnd *c = calloc(1, sizeof *c);
    struct vnd_opts o = {.state_dir = a.state,
                         .log_path = a.log,
                         .host_spec = "synthetic:pack:1 numa:1 core:1 pu:1"};
    if (vnd_init(c, &o, &err) < 0)
        fail_msg("vnd_init: %s", err.msg);
    int once_rc = vnd_lock(c, &err);
    vnd_fini(c);
    free(c);
    assert_int_equal(once_rc, -1);
    assert_non_null(strstr(err.msg, "vnumad.lock"));
    daemon_stop(&a);
    if (!refused)
        fail_msg("a second vnumad started on the state dir of a running one");
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    if (!strstr(msg, "vnumad.lock") || !strstr(msg, pid))
        fail_msg("the refusal does not name the lock and the %s: '%s'", pid, msg);
}

/* The lock file is the daemon's own 0600 file with its pid; a symlink planted at its path is
 * not followed. */
static void test_lock_file(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "lockf", 0);
    daemon_wait(&d);
    char lock[300], buf[32] = "";
    snprintf(lock, sizeof lock, "%s/vnumad.lock", d.state);
    struct stat st;
    assert_int_equal(lstat(lock, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *f = fopen(lock, "re");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_int_equal(strtol(buf, NULL, 10), (long)getpid());
    daemon_stop(&d);
    /* A symlink at the path: refused, and its target is not created. */
    char target[300];
    snprintf(target, sizeof target, "%s/elsewhere", tmpdir);
    assert_int_equal(unlink(lock), 0);
    assert_int_equal(symlink(target, lock), 0);
    daemon_start(&d, "lockf", 0);
    for (int i = 0; i < 40 && !d.done; i++)
        sleep_ms(50);
    bool refused = d.done && d.rc < 0;
    char msg[sizeof d.err.msg];
    snprintf(msg, sizeof msg, "%s", d.err.msg);
    daemon_stop(&d);
    assert_true(refused);
    assert_non_null(strstr(msg, "cannot open the lock file"));
    assert_int_equal(access(target, F_OK), -1);
    unlink(lock);
}

/* A socket vnumad did not create is not removed at exit. */
static void test_only_own_socket_removed(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "own", 0);
    daemon_wait(&d);
    assert_int_equal(unlink(d.sock), 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(d.sock) < sizeof sa.sun_path);
    memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct stat before, after;
    assert_int_equal(lstat(d.sock, &before), 0);
    daemon_stop(&d);
    int rc = lstat(d.sock, &after);
    close(fd);
    if (rc < 0)
        fail_msg("vnumad removed a socket it did not create at exit");
    assert_int_equal(before.st_ino, after.st_ino);
    unlink(d.sock);
    /* Its own socket it does remove. */
    daemon_start(&d, "own", 0);
    daemon_wait(&d);
    daemon_stop(&d);
    assert_int_equal(lstat(d.sock, &after), -1);
}

/* ---- the client (vnuma balance) ----------------------------------------------------------- */

struct run {
    int status; /* waitpid status, or -1 when killed after the bound */
    int64_t ms;
    char err[4096];
};

/* Runs `vnuma balance ARGS...` with stderr to a file; kills it after bound_ms. */
static void run_cli(struct run *r, int bound_ms, ...)
{
    const char *exe = getenv("VNUMA_EXE");
    if (!exe)
        fail_msg("VNUMA_EXE is not set (meson sets it)");
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)exe;
    argv[n++] = (char *)"balance";
    va_list ap;
    va_start(ap, bound_ms);
    const char *a;
    while (n < 15 && (a = va_arg(ap, const char *)))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    char errpath[200];
    snprintf(errpath, sizeof errpath, "%s/cli.err", tmpdir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* The child starts with SIGPIPE at its default action, as from a shell. */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int64_t t0 = now_ms();
    assert_int_equal(posix_spawn(&pid, exe, &fa, &at, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    int ws = 0;
    while (waitpid(pid, &ws, WNOHANG) == 0) {
        if (now_ms() - t0 > bound_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            ws = -1;
            break;
        }
        sleep_ms(10);
    }
    r->status = ws;
    r->ms = now_ms() - t0;
    r->err[0] = '\0';
    FILE *f = fopen(errpath, "re");
    if (f) {
        size_t k = fread(r->err, 1, sizeof r->err - 1, f);
        r->err[k] = '\0';
        fclose(f);
    }
}

/* A fake vnumad at STATE/vnumad.sock: listens and never answers. */
static int fake_server(const char *state, char *sock, size_t len)
{
    mkdir(state, 0700);
    snprintf(sock, len, "%s/vnumad.sock", state);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    unlink(sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 16), 0);
    return fd;
}

/* The client against a real vnumad: a status, and a refusal printed as vnumad says it. */
static void test_cli_against_daemon(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "cli", 0);
    daemon_wait(&d);
    struct run ok, bad;
    run_cli(&ok, 15000, "--state-dir", d.state, "status", (char *)NULL);
    run_cli(&bad, 15000, "--state-dir", d.state, "pause", "nosuch", (char *)NULL);
    daemon_stop(&d);
    if (ok.status == -1 || !WIFEXITED(ok.status) || WEXITSTATUS(ok.status) != 0)
        fail_msg("status: %d: %s", ok.status, ok.err);
    assert_true(bad.status != -1 && WIFEXITED(bad.status) && WEXITSTATUS(bad.status) == 1);
    assert_string_equal(bad.err, "vnuma balance: error: domain 'nosuch' does not exist\n");
}

/* A vnumad that never answers: the client gives up after its timeout, naming the socket. */
static void test_cli_timeout(void **state)
{
    (void)state;
    char st[200], sock[300];
    snprintf(st, sizeof st, "%s/mute", tmpdir);
    int fd = fake_server(st, sock, sizeof sock);
    struct run r;
    run_cli(&r, 5000, "--state-dir", st, "--timeout", "1", "status", (char *)NULL);
    print_message("# --timeout 1: exit status %d after %lld ms: %s", r.status, (long long)r.ms,
                  r.err);
    if (r.status == -1 || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 1)
        fail_msg("expected exit 1 after about 1 s, got status %d after %lld ms: %s", r.status,
                 (long long)r.ms, r.err);
    assert_non_null(strstr(r.err, sock));
    assert_non_null(strstr(r.err, "did not answer within 1 s"));
    /* The default timeout (10 s) bounds `status` too. */
    run_cli(&r, 15000, "--state-dir", st, "status", (char *)NULL);
    print_message("# default timeout: exit status %d after %lld ms\n", r.status, (long long)r.ms);
    close(fd);
    if (r.status == -1 || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 1)
        fail_msg("status hung: killed after %lld ms", (long long)r.ms);
    assert_non_null(strstr(r.err, "did not answer within 10 s"));
}

struct closer {
    int fd;
    volatile int stop;
};

static void *close_at_once(void *p)
{
    struct closer *c = p;
    while (!c->stop) {
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int a = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
        if (a >= 0)
            close(a);
    }
    return NULL;
}

/* A vnumad that closes every connection before reading: the client says so, never dies of
 * SIGPIPE (exit 141 without a word). */
static void test_cli_sigpipe(void **state)
{
    (void)state;
    char st[200], sock[300];
    snprintf(st, sizeof st, "%s/closer", tmpdir);
    struct closer c = {.fd = fake_server(st, sock, sizeof sock)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, close_at_once, &c), 0);
    int sigpipe = 0, other = 0;
    char last[4096] = "";
    for (int i = 0; i < 40; i++) {
        struct run r;
        run_cli(&r, 5000, "--state-dir", st, "pause", (char *)NULL);
        if (r.status != -1 && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGPIPE)
            sigpipe++;
        else if (r.status == -1 || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 1 ||
                 !strstr(r.err, "vnumad"))
            other++;
        snprintf(last, sizeof last, "%s", r.err);
    }
    c.stop = 1;
    pthread_join(th, NULL);
    close(c.fd);
    print_message("# 40 runs against a closing server: %d died of SIGPIPE, %d other failures; "
                  "last: %s",
                  sigpipe, other, last);
    assert_int_equal(sigpipe, 0);
    assert_int_equal(other, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_without_reading),
        cmocka_unit_test(test_idle_connections),
        cmocka_unit_test(test_metrics_port_silent_clients),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_request_too_long),
        cmocka_unit_test(test_paths_and_peers),
        cmocka_unit_test(test_peercred),
        cmocka_unit_test(test_second_daemon),
        cmocka_unit_test(test_lock_file),
        cmocka_unit_test(test_only_own_socket_removed),
        cmocka_unit_test(test_cli_against_daemon),
        cmocka_unit_test(test_cli_timeout),
        cmocka_unit_test(test_cli_sigpipe),
    };
    return cmocka_run_group_tests_name("daemon-server", tests, setup, teardown);
}
