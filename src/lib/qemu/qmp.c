#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../util/cleanup.h"
#include "qmp_int.h"
#include "../util/clock.h"

#define READ_CHUNK    65536
#define MAX_QUEUED    1024 /* events nobody reads are dropped oldest first beyond this */
#define RETRY_SLEEPMS 20

struct vn_qmp {
    int fd;
    char *path;
    char *domain; /* NULL when errors need no domain prefix */
    char version[32];
    struct json_tokener *tok;
    char *buf; /* bytes received but not yet fed to the tokener: buf[off..len) */
    size_t off, len;
    size_t msg_bytes; /* bytes of the message being parsed, for the size limit */
    bool broken;
    bool eof_after_send; /* the last command failed because the peer closed the socket */
    unsigned next_id;    /* commands are sent with ids "vn-1", "vn-2"... */
    struct json_object **events;
    size_t nevents;
};

/* A wait: the absolute deadline (ms, monotonic; -1 = none) and the timeout, for messages. */
struct wait {
    int64_t deadline;
    int timeout_ms;
};

static struct wait wait_for(int timeout_ms)
{
    struct wait w = {.deadline = timeout_ms < 0 ? -1 : vn_clock_ms() + timeout_ms,
                     .timeout_ms = timeout_ms};
    return w;
}

/* Milliseconds left for poll(): -1 for no deadline, 0 once it has passed. */
static int remaining_ms(const struct wait *w)
{
    if (w->deadline < 0)
        return -1;
    int64_t left = w->deadline - vn_clock_ms();
    return left < 0 ? 0 : (int)left;
}

int vn_qmp_fail_(const struct vn_qmp *q, struct vn_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char msg[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vn_error_set(err, "%s", msg);
    if (q && q->domain)
        vn_error_prefix(err, "domain '%s'", q->domain);
    return -1;
}

/* Like vn_qmp_fail_ with the errno text appended. */
static int fail_sys(const struct vn_qmp *q, struct vn_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_sys(const struct vn_qmp *q, struct vn_error *err, int errnum, const char *fmt, ...)
{
    if (!err)
        return -1;
    char msg[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vn_error_sys(err, errnum, "%s", msg);
    if (q && q->domain)
        vn_error_prefix(err, "domain '%s'", q->domain);
    return -1;
}

/* Marks the connection unusable: after a protocol error the stream position is unknown. */
static int fail_broken(struct vn_qmp *q, struct vn_error *err)
{
    q->broken = true;
    return -1;
}

bool vn_qmp_closed_after_send_(const struct vn_qmp *q)
{
    return q->eof_after_send;
}

/* A short excerpt of a message for error text. */
static const char *excerpt(struct json_object *obj, char *buf, size_t len)
{
    const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    size_t n = strlen(s);
    if (n < len) {
        memcpy(buf, s, n + 1);
    } else {
        memcpy(buf, s, len - 4);
        memcpy(buf + len - 4, "...", 4);
    }
    return buf;
}

/* Reads the next whole message.  Returns 1 with *out (a JSON object, owned), 0 when the
 * wait timed out, -1 with err (the connection is then broken). */
static int read_message(struct vn_qmp *q, const struct wait *w, const char *what,
                        struct json_object **out, struct vn_error *err)
{
    for (;;) {
        while (q->off < q->len) {
            size_t chunk = q->len - q->off;
            struct json_object *obj = json_tokener_parse_ex(q->tok, q->buf + q->off, (int)chunk);
            enum json_tokener_error jerr = json_tokener_get_error(q->tok);
            size_t used =
                jerr == json_tokener_continue ? chunk : json_tokener_get_parse_end(q->tok);
            q->off += used;
            q->msg_bytes += used;
            if (q->msg_bytes > VN_QMP_MAX_MESSAGE) {
                json_object_put(obj);
                vn_qmp_fail_(q, err, "a message on QMP socket '%s' exceeds the limit of %u bytes",
                             q->path, VN_QMP_MAX_MESSAGE);
                return fail_broken(q, err);
            }
            if (jerr == json_tokener_continue)
                continue;
            if (jerr != json_tokener_success) {
                vn_qmp_fail_(q, err, "malformed JSON on QMP socket '%s' while waiting for %s: %s",
                             q->path, what, json_tokener_error_desc(jerr));
                return fail_broken(q, err);
            }
            json_tokener_reset(q->tok);
            q->msg_bytes = 0;
            if (!json_object_is_type(obj, json_type_object)) {
                char buf[96];
                vn_qmp_fail_(q, err, "QMP socket '%s' sent '%s', which is not a JSON object",
                             q->path, excerpt(obj, buf, sizeof buf));
                json_object_put(obj);
                return fail_broken(q, err);
            }
            *out = obj;
            return 1;
        }

        struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
        int r = poll(&pfd, 1, remaining_ms(w));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fail_sys(q, err, errno, "cannot wait on QMP socket '%s'", q->path);
            return fail_broken(q, err);
        }
        if (r == 0)
            return 0;
        ssize_t n = recv(q->fd, q->buf, READ_CHUNK, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            fail_sys(q, err, errno, "cannot read from QMP socket '%s' while waiting for %s",
                     q->path, what);
            return fail_broken(q, err);
        }
        if (n == 0) {
            q->eof_after_send = true;
            vn_qmp_fail_(q, err, "QMP socket '%s' was closed by the peer while waiting for %s",
                         q->path, what);
            return fail_broken(q, err);
        }
        q->off = 0;
        q->len = (size_t)n;
    }
}

static int send_all(struct vn_qmp *q, const char *data, size_t len, const struct wait *w,
                    const char *cmd, struct vn_error *err)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a QEMU that died must give EPIPE here, not kill us with SIGPIPE. */
        ssize_t n = send(q->fd, data, len, MSG_NOSIGNAL);
        if (n >= 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            fail_sys(q, err, errno, "cannot send command '%s' to QMP socket '%s'", cmd, q->path);
            return fail_broken(q, err);
        }
        struct pollfd pfd = {.fd = q->fd, .events = POLLOUT};
        int r = poll(&pfd, 1, remaining_ms(w));
        if (r < 0 && errno != EINTR) {
            fail_sys(q, err, errno, "cannot wait on QMP socket '%s'", q->path);
            return fail_broken(q, err);
        }
        if (r == 0) {
            /* Part of the command may be out: the stream cannot be resynchronised. */
            vn_qmp_fail_(q, err, "timed out after %d ms sending command '%s' to QMP socket '%s'",
                         w->timeout_ms, cmd, q->path);
            return fail_broken(q, err);
        }
    }
    return 0;
}

static void queue_event(struct vn_qmp *q, struct json_object *ev)
{
    if (q->nevents == MAX_QUEUED) {
        json_object_put(q->events[0]);
        memmove(q->events, q->events + 1, (q->nevents - 1) * sizeof *q->events);
        q->nevents--;
    }
    q->events[q->nevents++] = ev;
}

/* True when id names one of our earlier commands: its reply came after we gave up on it. */
static bool stale_id(const struct vn_qmp *q, struct json_object *id)
{
    unsigned n;
    char extra;
    if (!json_object_is_type(id, json_type_string))
        return false;
    return sscanf(json_object_get_string(id), "vn-%u%c", &n, &extra) == 1 && n >= 1 &&
           n < q->next_id;
}

static int unexpected(struct vn_qmp *q, struct json_object *msg, const char *what,
                      struct vn_error *err)
{
    char buf[96];
    vn_qmp_fail_(q, err, "QMP socket '%s' sent an unexpected message '%s' while waiting for %s",
                 q->path, excerpt(msg, buf, sizeof buf), what);
    return fail_broken(q, err);
}

static struct json_object *run_command(struct vn_qmp *q, const char *cmd, struct json_object *args,
                                       const struct wait *w, struct vn_error *err)
{
    if (q->broken) {
        vn_qmp_fail_(q, err, "cannot run QMP command '%s': the connection to '%s' failed earlier",
                     cmd, q->path);
        return NULL;
    }
    q->eof_after_send = false;
    char id[32];
    snprintf(id, sizeof id, "vn-%u", ++q->next_id);
    struct json_object *req = json_object_new_object();
    json_object_object_add(req, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(req, "arguments", json_object_get(args));
    json_object_object_add(req, "id", json_object_new_string(id));
    const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    VN_CLEANUP_FREE char *line = NULL;
    if (asprintf(&line, "%s\n", text) < 0)
        line = NULL;
    json_object_put(req);
    if (!line) {
        vn_qmp_fail_(q, err, "out of memory sending QMP command '%s'", cmd);
        return NULL;
    }
    if (send_all(q, line, strlen(line), w, cmd, err) < 0)
        return NULL;

    char what[128];
    snprintf(what, sizeof what, "the reply to '%s'", cmd);
    for (;;) {
        struct json_object *msg = NULL;
        int r = read_message(q, w, what, &msg, err);
        if (r < 0)
            return NULL;
        if (r == 0) {
            vn_qmp_fail_(q, err, "timed out after %d ms waiting for %s on QMP socket '%s'",
                         w->timeout_ms, what, q->path);
            return NULL;
        }
        if (json_object_object_get_ex(msg, "event", NULL)) {
            queue_event(q, msg);
            continue;
        }
        struct json_object *ret = NULL, *error = NULL, *rid = NULL;
        bool is_ret = json_object_object_get_ex(msg, "return", &ret);
        bool is_err = json_object_object_get_ex(msg, "error", &error);
        if (!is_ret && !is_err) {
            unexpected(q, msg, what, err);
            json_object_put(msg);
            return NULL;
        }
        /* QEMU omits the id only when it could not parse the request; with one command in
         * flight such a reply can only be ours. */
        if (json_object_object_get_ex(msg, "id", &rid) &&
            strcmp(json_object_get_string(rid) ? json_object_get_string(rid) : "", id) != 0) {
            if (stale_id(q, rid)) {
                json_object_put(msg);
                continue;
            }
            char buf[96];
            const char *shown = json_object_is_type(rid, json_type_string)
                                    ? json_object_get_string(rid)
                                    : excerpt(rid, buf, sizeof buf);
            vn_qmp_fail_(q, err,
                         "QMP socket '%s' replied with id '%s' to command '%s' sent with id '%s'",
                         q->path, shown, cmd, id);
            json_object_put(msg);
            fail_broken(q, err);
            return NULL;
        }
        if (is_err) {
            struct json_object *cls = NULL, *desc = NULL;
            json_object_object_get_ex(error, "class", &cls);
            json_object_object_get_ex(error, "desc", &desc);
            vn_qmp_fail_(q, err, "QMP command '%s' failed: %s: %s", cmd,
                         cls ? json_object_get_string(cls) : "(no class)",
                         desc ? json_object_get_string(desc) : "(no description)");
            json_object_put(msg);
            return NULL;
        }
        struct json_object *result = ret ? json_object_get(ret) : json_object_new_object();
        json_object_put(msg);
        return result;
    }
}

/* Reads the greeting and remembers QEMU's version. */
static int read_greeting(struct vn_qmp *q, const struct wait *w, struct vn_error *err)
{
    struct json_object *msg = NULL, *qmp = NULL, *ver = NULL, *qemu = NULL;
    int r = read_message(q, w, "the QMP greeting", &msg, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return vn_qmp_fail_(q, err, "timed out after %d ms waiting for the QMP greeting on '%s'",
                            w->timeout_ms, q->path);
    if (!json_object_object_get_ex(msg, "QMP", &qmp) ||
        !json_object_is_type(qmp, json_type_object)) {
        char buf[96];
        vn_qmp_fail_(q, err, "QMP socket '%s' sent '%s' instead of a QMP greeting", q->path,
                     excerpt(msg, buf, sizeof buf));
        json_object_put(msg);
        return fail_broken(q, err);
    }
    if (json_object_object_get_ex(qmp, "version", &ver) &&
        json_object_object_get_ex(ver, "qemu", &qemu)) {
        struct json_object *ma = NULL, *mi = NULL, *mc = NULL;
        json_object_object_get_ex(qemu, "major", &ma);
        json_object_object_get_ex(qemu, "minor", &mi);
        json_object_object_get_ex(qemu, "micro", &mc);
        if (ma && mi && mc)
            snprintf(q->version, sizeof q->version, "%d.%d.%d", json_object_get_int(ma),
                     json_object_get_int(mi), json_object_get_int(mc));
    }
    json_object_put(msg);
    return 0;
}

/* Connects, retrying while QEMU has not created the socket yet. */
static int connect_socket(struct vn_qmp *q, const struct wait *w, struct vn_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t plen = strlen(q->path);
    if (plen >= sizeof addr.sun_path)
        return vn_qmp_fail_(q, err, "QMP socket path '%s' is too long (%zu bytes, at most %zu)",
                            q->path, plen, sizeof addr.sun_path - 1);
    memcpy(addr.sun_path, q->path, plen + 1);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return fail_sys(q, err, errno, "cannot create a socket for QMP socket '%s'", q->path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
            q->fd = fd;
            break;
        }
        int e = errno;
        close(fd);
        bool retry = e == ENOENT || e == ECONNREFUSED || e == EINTR;
        int left = remaining_ms(w);
        if (!retry)
            return fail_sys(q, err, e, "cannot connect to QMP socket '%s'", q->path);
        if (left == 0)
            return fail_sys(q, err, e, "cannot connect to QMP socket '%s' within %d ms", q->path,
                            w->timeout_ms);
        int nap = left < 0 || left > RETRY_SLEEPMS ? RETRY_SLEEPMS : left;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)nap * 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Opens a connection: to the socket at path when fd < 0, else over fd (owned from here on,
 * path then only names it in messages); then the greeting and capabilities handshake. */
static struct vn_qmp *qmp_open(const char *path, int fd, int timeout_ms, const char *domain,
                               struct vn_error *err)
{
    struct vn_qmp *q = calloc(1, sizeof *q);
    if (!q) {
        if (fd >= 0)
            close(fd);
        vn_error_sys(err, ENOMEM, "cannot connect to QMP socket '%s'", path);
        return NULL;
    }
    VN_CLEANUP(vn_qmp_closep) struct vn_qmp *guard = q;
    q->fd = fd;
    q->path = strdup(path);
    q->domain = domain ? strdup(domain) : NULL;
    q->tok = json_tokener_new();
    q->buf = malloc(READ_CHUNK);
    q->events = calloc(MAX_QUEUED, sizeof *q->events);
    if (!q->path || (domain && !q->domain) || !q->tok || !q->buf || !q->events) {
        vn_error_sys(err, ENOMEM, "cannot connect to QMP socket '%s'", path);
        return NULL;
    }
    /* Strict: QEMU emits plain JSON, so anything else means the stream is not QMP.  Trailing
     * characters are the next messages. */
    json_tokener_set_flags(q->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);

    struct wait w = wait_for(timeout_ms);
    if (fd < 0 && connect_socket(q, &w, err) < 0)
        return NULL;
    int flags = fcntl(q->fd, F_GETFL);
    if (flags < 0 || fcntl(q->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        fail_sys(q, err, errno, "cannot make QMP socket '%s' non-blocking", q->path);
        return NULL;
    }
    if (read_greeting(q, &w, err) < 0)
        return NULL;
    struct json_object *caps = run_command(q, "qmp_capabilities", NULL, &w, err);
    if (!caps)
        return NULL;
    json_object_put(caps);
    return VN_STEAL(guard);
}

struct vn_qmp *vn_qmp_connect(const char *path, int timeout_ms, const char *domain,
                              struct vn_error *err)
{
    return qmp_open(path, -1, timeout_ms, domain, err);
}

struct vn_qmp *vn_qmp_from_fd(int fd, int timeout_ms, const char *domain, struct vn_error *err)
{
    char name[32];
    snprintf(name, sizeof name, "fd %d", fd);
    if (fd < 0) {
        vn_error_set(err, "cannot use QMP socket '%s': not a file descriptor", name);
        if (err && domain)
            vn_error_prefix(err, "domain '%s'", domain);
        return NULL;
    }
    return qmp_open(name, fd, timeout_ms, domain, err);
}

void vn_qmp_close(struct vn_qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    for (size_t i = 0; i < q->nevents; i++)
        json_object_put(q->events[i]);
    if (q->tok)
        json_tokener_free(q->tok);
    free(q->events);
    free(q->buf);
    free(q->path);
    free(q->domain);
    free(q);
}

void vn_qmp_closep(struct vn_qmp **q)
{
    vn_qmp_close(*q);
    *q = NULL;
}

const char *vn_qmp_version(const struct vn_qmp *q)
{
    return q->version;
}

bool vn_qmp_broken(const struct vn_qmp *q)
{
    return q->broken;
}

struct json_object *vn_qmp_command(struct vn_qmp *q, const char *cmd, struct json_object *args,
                                   int timeout_ms, struct vn_error *err)
{
    struct wait w = wait_for(timeout_ms);
    return run_command(q, cmd, args, &w, err);
}

static int fill_event(struct vn_qmp *q, struct json_object *msg, struct vn_qmp_event *ev,
                      struct vn_error *err)
{
    struct json_object *name = NULL, *data = NULL, *ts = NULL, *v = NULL;
    json_object_object_get_ex(msg, "event", &name);
    if (!json_object_is_type(name, json_type_string)) {
        unexpected(q, msg, "an event", err);
        json_object_put(msg);
        return -1;
    }
    ev->name = strdup(json_object_get_string(name));
    if (json_object_object_get_ex(msg, "data", &data))
        ev->data = json_object_get(data);
    ev->seconds = ev->microseconds = -1;
    if (json_object_object_get_ex(msg, "timestamp", &ts)) {
        if (json_object_object_get_ex(ts, "seconds", &v))
            ev->seconds = json_object_get_int64(v);
        if (json_object_object_get_ex(ts, "microseconds", &v))
            ev->microseconds = json_object_get_int64(v);
    }
    json_object_put(msg);
    if (!ev->name) {
        vn_qmp_event_clear(ev);
        return vn_qmp_fail_(q, err, "out of memory reading an event from QMP socket '%s'", q->path);
    }
    return 1;
}

int vn_qmp_next_event(struct vn_qmp *q, int timeout_ms, struct vn_qmp_event *ev,
                      struct vn_error *err)
{
    memset(ev, 0, sizeof *ev);
    if (q->nevents > 0) {
        struct json_object *msg = q->events[0];
        memmove(q->events, q->events + 1, (q->nevents - 1) * sizeof *q->events);
        q->nevents--;
        return fill_event(q, msg, ev, err);
    }
    if (q->broken)
        return vn_qmp_fail_(q, err,
                            "cannot wait for QMP events: the connection to '%s' failed "
                            "earlier",
                            q->path);
    struct wait w = wait_for(timeout_ms);
    for (;;) {
        struct json_object *msg = NULL;
        int r = read_message(q, &w, "an event", &msg, err);
        if (r <= 0)
            return r;
        if (json_object_object_get_ex(msg, "event", NULL))
            return fill_event(q, msg, ev, err);
        struct json_object *rid = NULL;
        if (json_object_object_get_ex(msg, "id", &rid) && stale_id(q, rid)) {
            json_object_put(msg);
            continue;
        }
        unexpected(q, msg, "an event", err);
        json_object_put(msg);
        return -1;
    }
}

void vn_qmp_event_clear(struct vn_qmp_event *ev)
{
    free(ev->name);
    json_object_put(ev->data);
    memset(ev, 0, sizeof *ev);
}
