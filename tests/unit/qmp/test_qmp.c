/* Unit tests for the QMP client against the scripted fake server (fake_qmp.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "fake_qmp.h"
#include "domain/life.h"
#include "qemu/qmp.h"
#include "util/cleanup.h"

#define CAPS_OK                                                                                    \
    {FQ_SEND, FQ_GREETING, 0}, {FQ_EXPECT, "{\"execute\": \"qmp_capabilities\"}", 0},              \
    {                                                                                              \
        FQ_SEND, "{\"return\": {}, \"id\": %ID%}\r\n", 0                                           \
    }

#define EXPECT_STATUS                                                                              \
    {                                                                                              \
        FQ_EXPECT, "{\"execute\": \"query-status\"}", 0                                            \
    }
#define STATUS_REPLY_BARE                                                                          \
    "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, "           \
    "\"id\": %ID%}"
#define STATUS_REPLY STATUS_REPLY_BARE "\r\n"

static int setup(void **state)
{
    struct fake_qmp *fq = calloc(1, sizeof *fq);
    if (!fq)
        return -1;
    fq->pid = -1;
    *state = fq;
    return 0;
}

static int teardown(void **state)
{
    fake_qmp_cleanup(*state);
    free(*state);
    return 0;
}

/* Starts the server or fails the test. */
static struct fake_qmp *serve(void **state, const struct fq_step *script, int delay_ms)
{
    struct fake_qmp *fq = *state;
    assert_int_equal(fake_qmp_start(fq, script, delay_ms), 0);
    return fq;
}

/* The expected message with the socket path filled in. */
static const char *msg(const struct fake_qmp *fq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *msg(const struct fake_qmp *fq, const char *fmt, ...)
{
    static char buf[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

static void assert_status_running(struct json_object *ret)
{
    struct json_object *v = NULL;
    assert_non_null(ret);
    assert_true(json_object_object_get_ex(ret, "status", &v));
    assert_string_equal(json_object_get_string(v), "running");
    assert_true(json_object_object_get_ex(ret, "running", &v));
    assert_true(json_object_get_boolean(v));
}

static void test_connect_and_command(void **state)
{
    const struct fq_step script[] = {CAPS_OK, EXPECT_STATUS, {FQ_SEND, STATUS_REPLY, 0}, {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    assert_string_equal(vn_qmp_version(q), "7.2.22");
    struct json_object *ret = vn_qmp_command(q, "query-status", NULL, 5000, &err);
    assert_status_running(ret);
    json_object_put(ret);
    assert_false(vn_qmp_broken(q));
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_connect_waits_for_socket(void **state)
{
    const struct fq_step script[] = {CAPS_OK, {0}};
    /* The socket appears only after 300 ms, as QEMU's does after it starts. */
    struct fake_qmp *fq = serve(state, script, 300);
    struct vn_error err = {0};
    assert_int_equal(access(fq->path, F_OK), -1);
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_connect_no_socket(void **state)
{
    struct fake_qmp *fq = *state;
    strcpy(fq->dir, "/tmp/vnuma-qmp-test-XXXXXX");
    assert_non_null(mkdtemp(fq->dir));
    snprintf(fq->path, sizeof fq->path, "%s/missing.sock", fq->dir);
    struct vn_error err = {0};
    assert_null(vn_qmp_connect(fq->path, 100, "web1", &err));
    assert_string_equal(err.msg, msg(fq,
                                     "domain 'web1': cannot connect to QMP socket '%s' within "
                                     "100 ms: No such file or directory",
                                     fq->path));
}

static void test_connect_path_too_long(void **state)
{
    char path[200];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    struct vn_error err = {0};
    assert_null(vn_qmp_connect(path, 100, NULL, &err));
    char want[400];
    snprintf(want, sizeof want, "QMP socket path '%s' is too long (199 bytes, at most 107)", path);
    assert_string_equal(err.msg, want);
}

static void test_greeting_never_comes(void **state)
{
    const struct fq_step script[] = {{FQ_SLEEP, NULL, 500}, {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    assert_null(vn_qmp_connect(fq->path, 200, NULL, &err));
    assert_string_equal(
        err.msg, msg(fq, "timed out after 200 ms waiting for the QMP greeting on '%s'", fq->path));
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_not_a_greeting(void **state)
{
    const struct fq_step script[] = {{FQ_SEND, "{\"return\": {}}\r\n", 0}, {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    assert_null(vn_qmp_connect(fq->path, 2000, NULL, &err));
    assert_string_equal(
        err.msg,
        msg(fq, "QMP socket '%s' sent '{\"return\":{}}' instead of a QMP greeting", fq->path));
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_message_not_an_object(void **state)
{
    const struct fq_step script[] = {{FQ_SEND, "[1, 2]\r\n", 0}, {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    assert_null(vn_qmp_connect(fq->path, 2000, NULL, &err));
    assert_string_equal(err.msg, msg(fq,
                                     "QMP socket '%s' sent '[1,2]', which is not a JSON "
                                     "object",
                                     fq->path));
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_capabilities_rejected(void **state)
{
    const struct fq_step script[] = {
        {FQ_SEND, FQ_GREETING, 0},
        {FQ_EXPECT, "{\"execute\": \"qmp_capabilities\"}", 0},
        {FQ_SEND,
         "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is "
         "already complete, command ignored\"}, \"id\": %ID%}\r\n",
         0},
        {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    assert_null(vn_qmp_connect(fq->path, 2000, "web1", &err));
    assert_string_equal(err.msg, "domain 'web1': QMP command 'qmp_capabilities' failed: "
                                 "CommandNotFound: Capabilities negotiation is already complete, "
                                 "command ignored");
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_split_byte_by_byte(void **state)
{
    const struct fq_step script[] = {
        {FQ_SEND_SPLIT, FQ_GREETING, 0},
        {FQ_EXPECT, "{\"execute\": \"qmp_capabilities\"}", 0},
        {FQ_SEND_SPLIT, "{\"return\": {}, \"id\": %ID%}\r\n", 0},
        EXPECT_STATUS,
        /* No trailing newline: the client may hang up as soon as the '}' is in. */
        {FQ_SEND_SPLIT, STATUS_REPLY_BARE, 0},
        {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 10000, NULL, &err);
    assert_non_null(q);
    assert_string_equal(vn_qmp_version(q), "7.2.22");
    struct json_object *ret = vn_qmp_command(q, "query-status", NULL, 10000, &err);
    assert_status_running(ret);
    json_object_put(ret);
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void assert_event(struct vn_qmp *q, const char *name, int64_t secs)
{
    struct vn_qmp_event ev;
    struct vn_error err = {0};
    assert_int_equal(vn_qmp_next_event(q, 2000, &ev, &err), 1);
    assert_string_equal(ev.name, name);
    assert_int_equal(ev.seconds, secs);
    vn_qmp_event_clear(&ev);
}

static void test_events_while_waiting(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK,
        {FQ_EXPECT, "{\"execute\": \"stop\"}", 0},
        {FQ_SEND,
         "{\"timestamp\": {\"seconds\": 1700000001, \"microseconds\": 250}, \"event\": \"STOP\"}"
         "\r\n",
         0},
        {FQ_SEND, "{\"return\": {}, \"id\": %ID%}\r\n", 0},
        {FQ_SLEEP, NULL, 50},
        {FQ_SEND,
         "{\"timestamp\": {\"seconds\": 1700000002, \"microseconds\": 0}, \"event\": "
         "\"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n",
         0},
        {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    struct json_object *ret = vn_qmp_command(q, "stop", NULL, 5000, &err);
    assert_non_null(ret);
    assert_int_equal(json_object_object_length(ret), 0);
    json_object_put(ret);

    /* The STOP came before the reply and was queued; SHUTDOWN comes later on the wire. */
    struct vn_qmp_event ev;
    assert_int_equal(vn_qmp_next_event(q, 2000, &ev, &err), 1);
    assert_string_equal(ev.name, "STOP");
    assert_int_equal(ev.seconds, 1700000001);
    assert_int_equal(ev.microseconds, 250);
    assert_null(ev.data);
    vn_qmp_event_clear(&ev);
    assert_int_equal(vn_qmp_next_event(q, 2000, &ev, &err), 1);
    assert_string_equal(ev.name, "SHUTDOWN");
    struct json_object *reason = NULL;
    assert_true(json_object_object_get_ex(ev.data, "reason", &reason));
    assert_string_equal(json_object_get_string(reason), "guest-shutdown");
    vn_qmp_event_clear(&ev);
    assert_int_equal(vn_qmp_next_event(q, 50, &ev, &err), 0);
    assert_null(ev.name);
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_several_messages_in_one_read(void **state)
{
    const struct fq_step script[] = {
        {FQ_SEND, FQ_GREETING, 0},
        {FQ_EXPECT, "{\"execute\": \"qmp_capabilities\"}", 0},
        {FQ_SEND, "{\"return\": {}, \"id\": %ID%}", 0},
        EXPECT_STATUS,
        {FQ_SEND,
         "{\"event\": \"RESET\", \"timestamp\": {\"seconds\": 11, \"microseconds\": 1}}"
         "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 12, \"microseconds\": "
         "2}}\r\n" STATUS_REPLY
         "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 13, \"microseconds\": 3}}\r\n",
         0},
        {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    struct json_object *ret = vn_qmp_command(q, "query-status", NULL, 5000, &err);
    assert_status_running(ret);
    json_object_put(ret);
    assert_event(q, "RESET", 11);
    assert_event(q, "STOP", 12);
    assert_event(q, "RESUME", 13);
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_malformed_json(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK, EXPECT_STATUS, {FQ_SEND, "{\"return\": {\"status\": running}}\r\n", 0}, {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    assert_null(vn_qmp_command(q, "query-status", NULL, 5000, &err));
    assert_string_equal(err.msg, msg(fq,
                                     "malformed JSON on QMP socket '%s' while waiting for the "
                                     "reply to 'query-status': unexpected character",
                                     fq->path));
    assert_true(vn_qmp_broken(q));
    /* Nothing after garbage can be trusted: later calls fail without touching the socket. */
    assert_null(vn_qmp_command(q, "cont", NULL, 5000, &err));
    assert_string_equal(
        err.msg,
        msg(fq, "cannot run QMP command 'cont': the connection to '%s' failed earlier", fq->path));
    struct vn_qmp_event ev;
    assert_int_equal(vn_qmp_next_event(q, 10, &ev, &err), -1);
    assert_string_equal(
        err.msg,
        msg(fq, "cannot wait for QMP events: the connection to '%s' failed earlier", fq->path));
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_oversized_message(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK, EXPECT_STATUS, {FQ_SEND_BIG, "{\"return\": \"", 17L << 20}, {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    assert_null(vn_qmp_command(q, "query-status", NULL, 20000, &err));
    assert_string_equal(err.msg, msg(fq,
                                     "a message on QMP socket '%s' exceeds the limit of "
                                     "16777216 bytes",
                                     fq->path));
    assert_true(vn_qmp_broken(q));
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_peer_closes_mid_reply(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK, EXPECT_STATUS, {FQ_SEND, "{\"return\": {\"sta", 0}, {FQ_CLOSE, NULL, 0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, "web1", &err);
    assert_non_null(q);
    assert_null(vn_qmp_command(q, "query-status", NULL, 5000, &err));
    assert_string_equal(err.msg, msg(fq,
                                     "domain 'web1': QMP socket '%s' was closed by the peer "
                                     "while waiting for the reply to 'query-status'",
                                     fq->path));
    assert_true(vn_qmp_broken(q));
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_peer_gone_before_command(void **state)
{
    const struct fq_step script[] = {CAPS_OK, {FQ_CLOSE, NULL, 0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    /* Once the server process is gone its end of the socket is closed for sure. */
    assert_int_equal(fake_qmp_finish(fq), 0);
    assert_null(vn_qmp_command(q, "query-status", NULL, 5000, &err));
    assert_string_equal(
        err.msg,
        msg(fq, "cannot send command 'query-status' to QMP socket '%s': Broken pipe", fq->path));
    vn_qmp_close(q);
}

static void test_timeout_then_late_reply(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK,
        EXPECT_STATUS,
        {FQ_SLEEP, NULL, 400},
        {FQ_SEND, STATUS_REPLY, 0},
        {FQ_EXPECT, "{\"execute\": \"query-name\"}", 0},
        {FQ_SEND, "{\"return\": {\"name\": \"vm1\"}, \"id\": %ID%}", 0},
        {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    assert_null(vn_qmp_command(q, "query-status", NULL, 100, &err));
    assert_string_equal(err.msg, msg(fq,
                                     "timed out after 100 ms waiting for the reply to "
                                     "'query-status' on QMP socket '%s'",
                                     fq->path));
    /* A timeout leaves the connection usable: the late reply is recognised and dropped. */
    assert_false(vn_qmp_broken(q));
    struct json_object *ret = vn_qmp_command(q, "query-name", NULL, 5000, &err);
    assert_non_null(ret);
    struct json_object *name = NULL;
    assert_true(json_object_object_get_ex(ret, "name", &name));
    assert_string_equal(json_object_get_string(name), "vm1");
    json_object_put(ret);
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_wrong_id(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK, EXPECT_STATUS, {FQ_SEND, "{\"return\": {}, \"id\": \"bogus\"}\r\n", 0}, {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    assert_null(vn_qmp_command(q, "query-status", NULL, 5000, &err));
    /* qmp_capabilities was vn-1. */
    assert_string_equal(err.msg, msg(fq,
                                     "QMP socket '%s' replied with id 'bogus' to command "
                                     "'query-status' sent with id 'vn-2'",
                                     fq->path));
    assert_true(vn_qmp_broken(q));
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_error_reply_and_qom_set(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK,
        {FQ_EXPECT,
         "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/vm0\", "
         "\"property\": \"requested-size\", \"value\": 268435456}}",
         0},
        {FQ_SEND, "{\"return\": {}, \"id\": %ID%}\r\n", 0},
        {FQ_EXPECT,
         "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/vm9\", "
         "\"property\": \"requested-size\", \"value\": 1}}",
         0},
        {FQ_SEND,
         "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device "
         "'/machine/peripheral/vm9' not found\"}, \"id\": %ID%}\r\n",
         0},
        EXPECT_STATUS,
        {FQ_SEND, STATUS_REPLY, 0},
        {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, "web1", &err);
    assert_non_null(q);
    assert_int_equal(
        vn_qmp_qom_set_int(q, "/machine/peripheral/vm0", "requested-size", 256LL << 20, 5000, &err),
        0);
    assert_int_equal(
        vn_qmp_qom_set_int(q, "/machine/peripheral/vm9", "requested-size", 1, 5000, &err), -1);
    assert_string_equal(err.msg, "domain 'web1': QMP command 'qom-set' failed: DeviceNotFound: "
                                 "Device '/machine/peripheral/vm9' not found");
    /* An error reply is an answer, not a protocol failure. */
    assert_false(vn_qmp_broken(q));
    struct json_object *ret = vn_qmp_command(q, "query-status", NULL, 5000, &err);
    assert_status_running(ret);
    json_object_put(ret);
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

#define CPU(idx, tid, node, sock)                                                                  \
    "{\"thread-id\": " #tid ", \"props\": {\"core-id\": 0, \"thread-id\": 0, \"node-id\": " #node  \
    ", \"socket-id\": " #sock "}, \"qom-path\": \"/machine/unattached/device[" #idx "]\", "        \
    "\"cpu-index\": " #idx ", \"target\": \"x86_64\"}"

/* Four vCPUs, two per node, one socket each, listed out of order as QEMU may. */
/* clang-format off */
static const char cpus_reply[] =
    "{\"return\": ["
    CPU(2, 4102, 1, 2) ", " CPU(0, 4100, 0, 0) ", " CPU(3, 4103, 1, 3) ", " CPU(1, 4101, 0, 1)
    "], \"id\": %ID%}\r\n";
/* clang-format on */
static const char cpus_reply_bad[] =
    "{\"return\": [" CPU(0, 4100, 0, 0) ", {\"cpu-index\": 1, \"props\": {}}], \"id\": %ID%}\r\n";

static void test_query_vcpus(void **state)
{
    const struct fq_step script[] = {CAPS_OK,
                                     {FQ_EXPECT, "{\"execute\": \"query-cpus-fast\"}", 0},
                                     {FQ_SEND, cpus_reply, 0},
                                     {FQ_EXPECT, "{\"execute\": \"query-cpus-fast\"}", 0},
                                     {FQ_SEND, cpus_reply_bad, 0},
                                     {0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    struct vn_qmp_vcpu *v = NULL;
    int n = 0;
    assert_int_equal(vn_qmp_query_vcpus(q, 5000, &v, &n, &err), 0);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(v[i].cpu_index, i);
        assert_int_equal(v[i].thread_id, 4100 + i);
        assert_int_equal(v[i].node_id, i / 2);
        assert_int_equal(v[i].socket_id, i);
        assert_int_equal(v[i].core_id, 0);
    }
    free(v);
    assert_int_equal(vn_qmp_query_vcpus(q, 5000, &v, &n, &err), -1);
    assert_null(v);
    assert_string_equal(err.msg,
                        "entry 1 of the reply to 'query-cpus-fast' has no valid 'thread-id'");
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_quit(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK,
        {FQ_EXPECT, "{\"execute\": \"quit\"}", 0},
        {FQ_SEND,
         "{\"return\": {}, \"id\": %ID%}\r\n{\"timestamp\": {\"seconds\": 5, \"microseconds\": "
         "6}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}"
         "\r\n",
         0},
        {FQ_CLOSE, NULL, 0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    assert_int_equal(vn_qmp_quit(q, 5000, &err), 0);
    assert_event(q, "SHUTDOWN", 5);
    struct vn_qmp_event ev;
    assert_int_equal(vn_qmp_next_event(q, 5000, &ev, &err), -1);
    assert_string_equal(
        err.msg,
        msg(fq, "QMP socket '%s' was closed by the peer while waiting for an event", fq->path));
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

static void test_quit_without_reply(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK, {FQ_EXPECT, "{\"execute\": \"quit\"}", 0}, {FQ_CLOSE, NULL, 0}};
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    assert_int_equal(vn_qmp_quit(q, 5000, &err), 0);
    assert_string_equal(err.msg, "");
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

/* The SHUTDOWN forms QEMU 7.2 sends (qapi/run-state.json: guest, reason), GUEST_PANICKED and
 * the events that are no end of life, as the watcher reads them off its socket. */
static void test_life_events(void **state)
{
    const struct fq_step script[] = {
        CAPS_OK,
        {FQ_SEND,
         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 2, \"microseconds\": 0}, \"event\": \"RESET\", "
         "\"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 3, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 4, \"microseconds\": 0}, \"event\": "
         "\"GUEST_PANICKED\", \"data\": {\"action\": \"pause\", \"info\": {}}}\r\n"
         "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": true, \"reason\": \"guest-panic\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 6, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 7, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": false, \"reason\": \"host-qmp-system-reset\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 8, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": false, \"reason\": \"host-signal\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 9, \"microseconds\": 0}, \"event\": \"SHUTDOWN\"}\r\n"
         "{\"timestamp\": {\"seconds\": 10, \"microseconds\": 0}, \"event\": \"STOP\"}\r\n",
         0},
        {FQ_CLOSE, NULL, 0},
        {0}};
    static const struct {
        const char *name;
        int is_life;
        enum vn_life_event ev;
    } want[] = {
        {"SHUTDOWN", 1, VN_LIFE_POWEROFF}, {"RESET", 0, 0},
        {"SHUTDOWN", 1, VN_LIFE_REBOOT},   {"GUEST_PANICKED", 1, VN_LIFE_CRASH},
        {"SHUTDOWN", 1, VN_LIFE_CRASH},    {"SHUTDOWN", 1, VN_LIFE_HOST},
        {"SHUTDOWN", 1, VN_LIFE_REBOOT},   {"SHUTDOWN", 1, VN_LIFE_HOST},
        {"SHUTDOWN", 1, VN_LIFE_HOST},     {"STOP", 0, 0},
    };
    struct fake_qmp *fq = serve(state, script, 0);
    struct vn_error err = {0};
    struct vn_qmp *q = vn_qmp_connect(fq->path, 5000, NULL, &err);
    assert_non_null(q);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct vn_qmp_event ev;
        assert_int_equal(vn_qmp_next_event(q, 2000, &ev, &err), 1);
        assert_string_equal(ev.name, want[i].name);
        assert_int_equal(ev.seconds, (int64_t)i + 1);
        enum vn_life_event got = (enum vn_life_event) - 1;
        assert_int_equal(vn_life_event_from_qmp(ev.name, ev.data, &got), want[i].is_life);
        if (want[i].is_life)
            assert_int_equal(got, want[i].ev);
        vn_qmp_event_clear(&ev);
    }
    /* QEMU exiting closes the socket: the watcher's cue that it is gone. */
    struct vn_qmp_event ev;
    assert_int_equal(vn_qmp_next_event(q, 2000, &ev, &err), -1);
    vn_qmp_close(q);
    assert_int_equal(fake_qmp_finish(fq), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connect_and_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_waits_for_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_no_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_path_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_greeting_never_comes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_greeting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_not_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capabilities_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_while_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_messages_in_one_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closes_mid_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone_before_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_late_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_reply_and_qom_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_vcpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_life_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quit_without_reply, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
