/* vnumad's sockets: the control socket (STATE_DIR/vnumad.sock, one JSON request per line) and
 * the optional Prometheus endpoint on 127.0.0.1, served from the daemon's single loop.
 *
 * Nothing here may block the loop: every socket is non-blocking, each connection has its own
 * bounded input and output buffers, a round reads at most one chunk and serves at most
 * VND_CLIENT_BURST requests per connection, and a connection that stops making progress
 * (VND_CLIENT_IDLE_MS) or lets more than VND_OUTPUT_MAX of replies pile up is dropped.  When
 * the table is full the connection idle the longest makes room, so idle clients cannot lock
 * others out.  The lock file, not the socket, says whether a vnumad runs on the state dir. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "vnumad.h"

#define ACCEPT_BURST 16           /* connections accepted per listener and round */
#define READ_CHUNK   8192         /* bytes read from one connection per round */
#define BUSY_GAP_NS  1000000000LL /* a gap this long between rounds was vnumad busy, not idle */

struct vnd_client {
    int fd; /* -1: free slot */
    bool http;
    bool eof;     /* the peer sent all it will: serve what is left, then close */
    bool closing; /* close once the output is out (HTTP reply, refusal, too long a request) */
    bool more;    /* complete requests left in lb after a burst */
    struct vnd_linebuf *lb; /* control: requests */
    char *head;             /* HTTP: the request head so far */
    size_t head_len;
    char *out;
    size_t out_len, out_off, out_cap;
    int64_t last_ns; /* last progress either way */
};

bool vnd_peer_allowed(uid_t peer, uid_t self)
{
    return peer == self || peer == 0;
}

/* ---- opening and closing ------------------------------------------------------------------ */

int vnd_lock(struct vnd *v, struct vn_error *err)
{
    if (v->lock_fd >= 0)
        return 0;
    char path[4200];
    if (vnd_lock_path(v->state_path, path, sizeof path, err) < 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot open the lock file '%s'", path);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return vn_error_set(err, "the lock file '%s' is not a regular file of uid %u", path,
                            (unsigned)geteuid());
    }
    /* flock, not fcntl: its lock belongs to the open file, so even two vnumads in one
     * process (the tests) exclude each other. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        char buf[32] = "";
        ssize_t n = e == EWOULDBLOCK ? pread(fd, buf, sizeof buf - 1, 0) : -1;
        close(fd);
        if (e != EWOULDBLOCK)
            return vn_error_sys(err, e, "cannot lock '%s'", path);
        long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
        if (pid > 0)
            return vn_error_set(err, "another vnumad (pid %ld) is running on '%s': it holds '%s'",
                                pid, v->state_path, path);
        return vn_error_set(err, "another vnumad is running on '%s': it holds '%s'", v->state_path,
                            path);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        return vn_error_sys(err, e, "cannot write the pid into '%s'", path);
    }
    v->lock_fd = fd;
    return 0;
}

static int listen_unix(struct vnd *v, struct vn_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (vnd_socket_path(v->state_path, sa.sun_path, sizeof sa.sun_path, err) < 0)
        return vn_error_prefix(err, "the control socket cannot be created");
    /* We hold the lock, so a socket at the path was left by a killed vnumad; one that still
     * answers belongs to a vnumad that takes no lock (an older version): leave it alone. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot create the control socket");
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN)
        return vn_error_set(err, "another vnumad is serving '%s' already", sa.sun_path);
    struct stat st;
    if (lstat(sa.sun_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return vn_error_set(err, "'%s' exists and is not a socket", sa.sun_path);
        unlink(sa.sun_path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot create the control socket");
    mode_t old = umask(0177); /* born 0600: nobody else may connect, even for a moment */
    rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || chmod(sa.sun_path, 0600) < 0 || listen(fd, VND_MAX_CLIENTS) < 0 ||
        lstat(sa.sun_path, &st) < 0) {
        e = errno;
        close(fd);
        return vn_error_sys(err, e, "cannot listen on the control socket '%s'", sa.sun_path);
    }
    v->listen_fd = fd;
    v->sock_made = true;
    v->sock_dev = st.st_dev;
    v->sock_ino = st.st_ino;
    return 0;
}

static int listen_metrics(struct vnd *v, int port, struct vn_error *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot create the metrics socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* localhost only */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, VND_MAX_CLIENTS) < 0) {
        int e = errno;
        close(fd);
        return vn_error_sys(err, e, "cannot listen on 127.0.0.1:%d for metrics", port);
    }
    v->metrics_fd = fd;
    return 0;
}

int vnd_server_open(struct vnd *v, struct vn_error *err)
{
    v->clients = calloc(VND_MAX_CLIENTS, sizeof *v->clients);
    if (!v->clients)
        return vn_error_set(err, "out of memory");
    for (int i = 0; i < VND_MAX_CLIENTS; i++)
        v->clients[i].fd = -1;
    if (v->client_idle_ms <= 0)
        v->client_idle_ms = VND_CLIENT_IDLE_MS;
    if (vnd_lock(v, err) < 0 || listen_unix(v, err) < 0)
        return -1;
    if (v->opts.metrics_port > 0 && listen_metrics(v, v->opts.metrics_port, err) < 0)
        return -1;
    v->served_ns = vnd_mono_ns();
    return 0;
}

static void client_close(struct vnd_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->lb);
    free(c->head);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

void vnd_server_close(struct vnd *v)
{
    if (v->clients)
        for (int i = 0; i < VND_MAX_CLIENTS; i++)
            client_close(&v->clients[i]);
    free(v->clients);
    v->clients = NULL;
    if (v->listen_fd >= 0) {
        char path[sizeof((struct sockaddr_un *)0)->sun_path];
        struct vn_error e2 = {0};
        struct stat st;
        /* Only the socket bound here: another may have taken the path since (a vnumad that
         * takes no lock, or a user's). */
        if (v->sock_made && vnd_socket_path(v->state_path, path, sizeof path, &e2) == 0 &&
            lstat(path, &st) == 0) {
            if (S_ISSOCK(st.st_mode) && st.st_dev == v->sock_dev && st.st_ino == v->sock_ino)
                unlink(path);
            else
                vnd_log(v, "Left '%s' alone: it is not the socket this vnumad created.", path);
        }
        close(v->listen_fd);
        v->listen_fd = -1;
        v->sock_made = false;
    }
    if (v->metrics_fd >= 0) {
        close(v->metrics_fd);
        v->metrics_fd = -1;
    }
    if (v->lock_fd >= 0) {
        if (ftruncate(v->lock_fd, 0) < 0) { /* the pid is stale from now on */
        }
        close(v->lock_fd); /* releases the flock */
        v->lock_fd = -1;
    }
}

/* ---- one connection ------------------------------------------------------------------------ */

/* Queues n bytes of reply; -1 when the client already has replies waiting and this would
 * take it past VND_OUTPUT_MAX (it does not read them: drop it), -2 out of memory.  One
 * reply always fits. */
static int client_queue(struct vnd_client *c, const char *s, size_t n)
{
    size_t pending = c->out_len - c->out_off;
    if (pending > 0 && pending + n > VND_OUTPUT_MAX)
        return -1;
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, pending);
        c->out_len = pending;
        c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *nb = realloc(c->out, cap);
        if (!nb)
            return -2;
        c->out = nb;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
    return 0;
}

/* Sends what the socket takes now; -1 when the peer is gone. */
static int client_flush(struct vnd_client *c, int64_t now)
{
    while (c->out_off < c->out_len) { /* each turn sends something or stops */
        ssize_t w =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            c->out_off += (size_t)w;
            c->last_ns = now;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        return -1;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

static int queue_reply(struct vnd *v, struct vnd_client *c, char *r)
{
    if (!r)
        return 0; /* out of memory for this reply only */
    int rc = client_queue(c, r, strlen(r));
    free(r);
    if (rc == -1)
        vnd_log(v,
                "Dropped a control connection: more than %d bytes of replies are queued that "
                "it does not read.",
                VND_OUTPUT_MAX);
    else if (rc < 0)
        vnd_log(v, "Dropped a control connection: out of memory for its reply.");
    return rc < 0 ? -1 : 0;
}

/* Answers up to VND_CLIENT_BURST complete request lines; -1 to drop the client. */
static int control_serve(struct vnd *v, struct vnd_client *c)
{
    c->more = false;
    if (!memchr(c->lb->buf, '\n', c->lb->len))
        return 0;
    VN_CLEANUP_FREE char *line = malloc(VND_REQUEST_MAX + 1);
    if (!line)
        return -1;
    for (int k = 0; k < VND_CLIENT_BURST; k++) {
        long len = vnd_linebuf_take(c->lb, line);
        if (len < 0)
            return 0;
        struct vnd_request rq;
        struct vn_error err = {0};
        char *r = vnd_request_parse(line, (size_t)len, &rq, &err) < 0 ? vnd_reply_error(err.msg)
                                                                      : vnd_handle(v, &rq);
        if (queue_reply(v, c, r) < 0)
            return -1;
    }
    c->more = memchr(c->lb->buf, '\n', c->lb->len) != NULL;
    return 0;
}

/* One read of at most READ_CHUNK bytes, never more than the line buffer has room for (a
 * full buffer without a newline is a request over VND_REQUEST_MAX).  -1 to drop. */
static int control_read(struct vnd *v, struct vnd_client *c, int64_t now)
{
    char buf[READ_CHUNK];
    size_t room = sizeof c->lb->buf - c->lb->len;
    ssize_t n = recv(c->fd, buf, room < sizeof buf ? room : sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0)
        return -1;
    if (n == 0) {
        c->eof = true; /* it may have sent requests and shut down its side: answer them */
        return 0;
    }
    c->last_ns = now;
    vnd_linebuf_add(c->lb, buf, (size_t)n); /* fits: room */
    if (c->lb->len == sizeof c->lb->buf && !memchr(c->lb->buf, '\n', c->lb->len)) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request is longer than %d bytes; closing the connection",
                 VND_REQUEST_MAX);
        c->lb->len = 0;
        c->closing = true;
        return queue_reply(v, c, vnd_reply_error(msg));
    }
    return 0;
}

static void http_reply(struct vnd *v, struct vnd_client *c)
{
    VN_CLEANUP_FREE char *text = vnd_metrics_text(v);
    c->closing = true;
    if (!text)
        return;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     strlen(text));
    if (client_queue(c, head, (size_t)n) < 0 || client_queue(c, text, strlen(text)) < 0)
        c->out_len = c->out_off = 0; /* out of memory: close without a reply */
}

/* Reads the request head (whatever it asks, the answer is the metrics); -1 to drop. */
static int http_read(struct vnd *v, struct vnd_client *c, int64_t now)
{
    size_t room = VND_HTTP_REQUEST_MAX - c->head_len;
    if (room == 0) {
        vnd_log(v, "Dropped a metrics connection: its request head is longer than %d bytes.",
                VND_HTTP_REQUEST_MAX);
        return -1;
    }
    ssize_t n = recv(c->fd, c->head + c->head_len, room, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0)
        return -1;
    if (n == 0) {
        c->eof = true;
        if (c->head_len == 0)
            return -1;
        http_reply(v, c); /* it sent something and shut down: answer it */
        return 0;
    }
    c->last_ns = now;
    c->head_len += (size_t)n;
    if (memmem(c->head, c->head_len, "\r\n\r\n", 4) || memmem(c->head, c->head_len, "\n\n", 2))
        http_reply(v, c);
    return 0;
}

/* ---- the table --------------------------------------------------------------------------- */

/* A free slot, or the one idle the longest, closed to make room. */
static struct vnd_client *slot_take(struct vnd *v)
{
    struct vnd_client *old = NULL;
    for (int i = 0; i < VND_MAX_CLIENTS; i++) {
        struct vnd_client *c = &v->clients[i];
        if (c->fd < 0)
            return c;
        if (!old || c->last_ns < old->last_ns)
            old = c;
    }
    client_close(old);
    return old;
}

/* SO_PEERCRED: the socket's mode keeps others out; this holds even if the mode is opened up
 * or the path is reached some other way. */
static bool peer_check(struct vnd *v, int fd)
{
    struct ucred cr;
    socklen_t l = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0) {
        vnd_log(v, "Refused a control connection: its credentials cannot be read: %s",
                strerror(errno));
        return false;
    }
    if (vnd_peer_allowed(cr.uid, geteuid()))
        return true;
    vnd_log(v,
            "Refused a control connection from uid %u (pid %d): only uid %u and root may use it.",
            (unsigned)cr.uid, (int)cr.pid, (unsigned)geteuid());
    char msg[128];
    snprintf(msg, sizeof msg, "uid %u may not use this vnumad's control socket", (unsigned)cr.uid);
    VN_CLEANUP_FREE char *r = vnd_reply_error(msg);
    if (r && send(fd, r, strlen(r), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* best effort: the connection is closed either way */
    }
    return false;
}

static void accept_some(struct vnd *v, int lfd, bool http, int64_t now)
{
    for (int k = 0; k < ACCEPT_BURST; k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        if (!http && !peer_check(v, fd)) {
            close(fd);
            continue;
        }
        struct vnd_client *c = slot_take(v);
        c->fd = fd;
        c->http = http;
        c->last_ns = now;
        if (http)
            c->head = malloc(VND_HTTP_REQUEST_MAX);
        else if ((c->lb = malloc(sizeof *c->lb)))
            c->lb->len = 0;
        if (!c->head && !c->lb)
            client_close(c);
    }
}

void vnd_server_poll(struct vnd *v, int timeout_ms)
{
    if (!v->clients)
        return;
    int64_t now = vnd_mono_ns();
    int64_t idle_ns = (int64_t)v->client_idle_ms * 1000000;
    /* Time vnumad spent in a pass or a `once` is not the clients' idleness. */
    if (now - v->served_ns > BUSY_GAP_NS)
        for (int i = 0; i < VND_MAX_CLIENTS; i++)
            v->clients[i].last_ns += now - v->served_ns;
    struct pollfd pf[2 + VND_MAX_CLIENTS];
    int slot[2 + VND_MAX_CLIENTS];
    int np = 0;
    int64_t wait_ns = (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    if (v->listen_fd >= 0) {
        slot[np] = -1;
        pf[np++] = (struct pollfd){.fd = v->listen_fd, .events = POLLIN};
    }
    if (v->metrics_fd >= 0) {
        slot[np] = -2;
        pf[np++] = (struct pollfd){.fd = v->metrics_fd, .events = POLLIN};
    }
    for (int i = 0; i < VND_MAX_CLIENTS; i++) {
        struct vnd_client *c = &v->clients[i];
        if (c->fd < 0)
            continue;
        short ev = 0;
        if (!c->closing && !c->eof && !c->more)
            ev |= POLLIN;
        if (c->out_len > c->out_off)
            ev |= POLLOUT;
        if (c->more || (c->eof && !c->closing))
            wait_ns = 0; /* work left in its buffer */
        int64_t due = c->last_ns + idle_ns - now;
        if (due < wait_ns)
            wait_ns = due > 0 ? due : 0;
        slot[np] = i;
        pf[np++] = (struct pollfd){.fd = c->fd, .events = ev};
    }
    int r = poll(pf, (nfds_t)np, (int)((wait_ns + 999999) / 1000000));
    now = vnd_mono_ns();
    /* Connections first: accepting may reuse a slot whose revents are in pf. */
    for (int k = 0; k < np; k++) {
        if (slot[k] < 0)
            continue;
        struct vnd_client *c = &v->clients[slot[k]];
        short re = r > 0 ? pf[k].revents : 0;
        int rc = 0;
        if (re & (POLLIN | POLLHUP | POLLERR) && !c->closing && !c->eof && !c->more)
            rc = c->http ? http_read(v, c, now) : control_read(v, c, now);
        if (rc == 0 && !c->http)
            rc = control_serve(v, c);
        if (rc == 0 && c->eof && !c->more && !c->closing)
            c->closing = true; /* everything it sent is answered */
        if (rc == 0)
            rc = client_flush(c, now);
        if (rc == 0 && c->closing && c->out_len == c->out_off)
            rc = -1; /* done */
        if (rc == 0 && now - c->last_ns >= idle_ns)
            rc = -1; /* no progress for VND_CLIENT_IDLE_MS */
        if (rc < 0)
            client_close(c);
    }
    for (int k = 0; r > 0 && k < np; k++)
        if (slot[k] < 0 && (pf[k].revents & POLLIN))
            accept_some(v, pf[k].fd, slot[k] == -2, now);
    v->served_ns = vnd_mono_ns();
}
