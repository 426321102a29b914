#include "fake_qmp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* The child never waits longer than this for the client: a broken test must not hang. */
#define CHILD_WAIT_MS 10000

/* Exit codes of the child, so that a failing test says what went wrong. */
enum {
    EXIT_OK = 0,
    EXIT_MISMATCH = 2,
    EXIT_TIMEOUT = 3,
    EXIT_IO = 4,
};

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fake QMP server: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    _exit(code);
}

static int listen_on(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 4) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct conn {
    int fd;
    char buf[65536];
    size_t len;
    char last_id[256]; /* JSON text of the last request's id, "null" when it had none */
};

/* Reads one line (a request) into line; the client ends every request with '\n'. */
static void read_line(struct conn *c, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            if (n >= cap)
                die(EXIT_MISMATCH, "request longer than %zu bytes", cap);
            memcpy(line, c->buf, n);
            line[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, CHILD_WAIT_MS) <= 0)
            die(EXIT_TIMEOUT, "no request from the client");
        if (c->len == sizeof c->buf)
            die(EXIT_MISMATCH, "request without a newline");
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (n <= 0)
            die(EXIT_IO, "client closed the connection before sending a request");
        c->len += (size_t)n;
    }
}

static void expect(struct conn *c, const char *want_text)
{
    char line[65536];
    read_line(c, line, sizeof line);
    struct json_object *got = json_tokener_parse(line);
    struct json_object *want = json_tokener_parse(want_text);
    if (!want)
        die(EXIT_MISMATCH, "bad script: '%s' is not JSON", want_text);
    if (!got)
        die(EXIT_MISMATCH, "request '%s' is not JSON", line);
    struct json_object *id = NULL;
    if (json_object_object_get_ex(got, "id", &id))
        snprintf(c->last_id, sizeof c->last_id, "%s",
                 json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN));
    else
        snprintf(c->last_id, sizeof c->last_id, "null");
    json_object_object_del(got, "id");
    if (!json_object_equal(got, want))
        die(EXIT_MISMATCH, "expected '%s', got '%s'", want_text, line);
    json_object_put(got);
    json_object_put(want);
}

/* text with every "%ID%" replaced by the last request's id (malloc'ed). */
static char *substitute(const struct conn *c, const char *text)
{
    size_t cap = strlen(text) * 2 + strlen(c->last_id) * 8 + 1;
    char *out = malloc(cap), *o = out;
    if (!out)
        die(EXIT_IO, "out of memory");
    for (const char *p = text; *p;) {
        if (strncmp(p, "%ID%", 4) == 0 && (size_t)(o - out) + strlen(c->last_id) < cap) {
            o = stpcpy(o, c->last_id);
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* Writes everything; returns -1 on EPIPE/ECONNRESET (the client hung up). */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return -1;
        if (n < 0)
            die(EXIT_IO, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void send_big(struct conn *c, const char *prefix, long n)
{
    if (write_all(c->fd, prefix, strlen(prefix)) < 0)
        return;
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    while (n > 0) {
        size_t k = n < (long)sizeof chunk ? (size_t)n : sizeof chunk;
        if (write_all(c->fd, chunk, k) < 0)
            return; /* the client gave up on the message, as it should */
        n -= (long)k;
    }
}

/* After the script: the client must hang up (vn_qmp_close) without sending anything else. */
static void wait_hangup(struct conn *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    if (poll(&pfd, 1, CHILD_WAIT_MS) <= 0)
        die(EXIT_TIMEOUT, "the client did not hang up after the script");
    char b[4096];
    ssize_t n = read(c->fd, b, sizeof b);
    if (n > 0)
        die(EXIT_MISMATCH, "unexpected request after the script: '%.*s'", (int)n, b);
}

static void run_child(int lfd, const char *path, const struct fq_step *script, int delay_ms)
{
    if (lfd < 0) {
        sleep_ms(delay_ms);
        lfd = listen_on(path);
        if (lfd < 0)
            die(EXIT_IO, "cannot listen on '%s': %s", path, strerror(errno));
    }
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    if (poll(&pfd, 1, CHILD_WAIT_MS) <= 0)
        die(EXIT_TIMEOUT, "no client connected");
    static struct conn c;
    c.fd = accept(lfd, NULL, NULL);
    if (c.fd < 0)
        die(EXIT_IO, "accept: %s", strerror(errno));
    snprintf(c.last_id, sizeof c.last_id, "null");
    for (const struct fq_step *s = script;; s++) {
        char *text = NULL;
        switch (s->op) {
        case FQ_END:
            wait_hangup(&c);
            _exit(EXIT_OK);
        case FQ_SEND:
            text = substitute(&c, s->text);
            if (write_all(c.fd, text, strlen(text)) < 0)
                die(EXIT_IO, "the client hung up before '%s'", text);
            break;
        case FQ_SEND_SPLIT:
            text = substitute(&c, s->text);
            for (const char *p = text; *p; p++) {
                if (write_all(c.fd, p, 1) < 0)
                    die(EXIT_IO, "the client hung up during '%s'", text);
                sleep_ms(1);
            }
            break;
        case FQ_SEND_BIG:
            send_big(&c, s->text, s->n);
            break;
        case FQ_EXPECT:
            expect(&c, s->text);
            break;
        case FQ_SLEEP:
            sleep_ms(s->n);
            break;
        case FQ_CLOSE:
            close(c.fd);
            _exit(EXIT_OK);
        }
        free(text);
    }
}

int fake_qmp_start(struct fake_qmp *fq, const struct fq_step *script, int listen_delay_ms)
{
    memset(fq, 0, sizeof *fq);
    fq->pid = -1;
    snprintf(fq->dir, sizeof fq->dir, "/tmp/vnuma-qmp-test-XXXXXX");
    if (!mkdtemp(fq->dir)) {
        perror("mkdtemp");
        fq->dir[0] = '\0';
        return -1;
    }
    snprintf(fq->path, sizeof fq->path, "%s/qmp.sock", fq->dir);
    int lfd = -1;
    if (listen_delay_ms <= 0) {
        /* Listening before the fork means the client can never race the server. */
        lfd = listen_on(fq->path);
        if (lfd < 0) {
            perror("fake QMP listen");
            return -1;
        }
    }
    fflush(NULL);
    fq->pid = fork();
    if (fq->pid < 0) {
        perror("fork");
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    if (fq->pid == 0)
        run_child(lfd, fq->path, script, listen_delay_ms);
    if (lfd >= 0)
        close(lfd);
    return 0;
}

int fake_qmp_finish(struct fake_qmp *fq)
{
    int status;
    if (fq->pid <= 0)
        return -1;
    while (waitpid(fq->pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    fq->pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void fake_qmp_cleanup(struct fake_qmp *fq)
{
    if (fq->pid > 0) {
        kill(fq->pid, SIGKILL);
        waitpid(fq->pid, NULL, 0);
        fq->pid = -1;
    }
    if (fq->path[0])
        unlink(fq->path);
    if (fq->dir[0])
        rmdir(fq->dir);
}
