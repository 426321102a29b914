/* A scripted fake QMP server for the unit tests.
 *
 * It runs in a forked child, listens on a UNIX socket in a fresh temporary directory, accepts
 * one client and follows a script of steps.  The child exits 0 when the client did exactly
 * what the script expected, non-zero (with a line on stderr) otherwise, so every test checks
 * both sides of the conversation. */
#ifndef FAKE_QMP_H
#define FAKE_QMP_H

#include <stddef.h>
#include <sys/types.h>

enum fq_op {
    FQ_END = 0,    /* end of script: wait for the client to hang up, then exit 0 */
    FQ_SEND,       /* write text in one write; "%ID%" becomes the id of the last request */
    FQ_SEND_SPLIT, /* same, one byte per write with a pause in between */
    FQ_SEND_BIG,   /* write text, then n bytes of 'x' (an oversized message); EPIPE is fine */
    FQ_EXPECT,     /* read one request; it must equal the JSON text plus an "id" member */
    FQ_SLEEP,      /* pause n milliseconds */
    FQ_CLOSE,      /* close the connection and exit 0 at once */
};

struct fq_step {
    enum fq_op op;
    const char *text;
    long n;
};

struct fake_qmp {
    pid_t pid;
    char dir[64];
    char path[128]; /* the socket */
};

/* A greeting in QEMU 7.2's words. */
#define FQ_GREETING                                                                                \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "             \
    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u16\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* Starts the server; with listen_delay_ms > 0 the socket only appears after that delay.
 * Returns 0, or -1 when the test environment is broken (message on stderr). */
int fake_qmp_start(struct fake_qmp *fq, const struct fq_step *script, int listen_delay_ms);
/* Waits for the server to finish its script and returns its exit status (0 = all expected). */
int fake_qmp_finish(struct fake_qmp *fq);
/* Kills the server if it still runs and removes the socket and the directory. */
void fake_qmp_cleanup(struct fake_qmp *fq);

#endif
