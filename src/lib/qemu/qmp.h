/* A QMP (QEMU Machine Protocol) client over a UNIX socket.
 *
 * One command is in flight at a time: the toolstack drives QEMU step by step, so a simple
 * synchronous client is enough.  Asynchronous events (SHUTDOWN, RESET, STOP, RESUME...) that
 * arrive while a reply is awaited are queued and handed out by vn_qmp_next_event().
 *
 * Every wait has a timeout (milliseconds; negative waits forever).  Any protocol violation
 * (malformed JSON, an oversized message, a reply with a foreign id, the peer closing) marks
 * the connection broken: later calls fail at once, since the byte stream can no longer be
 * trusted.  A timeout does not break it: a late reply is recognised by its id and dropped. */
#ifndef VN_QMP_H
#define VN_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct json_object;
struct vn_qmp;

/* Largest message accepted from QEMU; the biggest real replies (query-qmp-schema) are ~1 MiB. */
#define VN_QMP_MAX_MESSAGE (16u << 20)

/* One vCPU as query-cpus-fast reports it; ids QEMU did not report are -1. */
struct vn_qmp_vcpu {
    int cpu_index;
    int thread_id; /* host thread (tid) running the vCPU */
    int node_id;   /* guest NUMA node */
    int socket_id;
    int core_id;
};

/* One asynchronous event; data is owned (json_object_put) and may be NULL. */
struct vn_qmp_event {
    char *name;
    struct json_object *data;
    int64_t seconds, microseconds; /* QEMU's timestamp; -1 when absent */
};

/* Connects to the QMP socket at path, retrying while it does not exist yet (QEMU creates it
 * shortly after start), reads the greeting and negotiates capabilities, all within timeout_ms.
 * domain (may be NULL) prefixes every error of this connection as "domain 'NAME': ". */
struct vn_qmp *vn_qmp_connect(const char *path, int timeout_ms, const char *domain,
                              struct vn_error *err);
/* Like vn_qmp_connect over fd, a connected stream socket that is owned from here on (closed
 * on failure too); messages call it "fd N". */
struct vn_qmp *vn_qmp_from_fd(int fd, int timeout_ms, const char *domain, struct vn_error *err);

/* Closes the connection and frees queued events (NULL is fine). */
void vn_qmp_close(struct vn_qmp *q);
/* Cleanup helper for VN_CLEANUP(vn_qmp_closep). */
void vn_qmp_closep(struct vn_qmp **q);

/* QEMU's version from the greeting ("7.2.22"), or "" when it did not say. */
const char *vn_qmp_version(const struct vn_qmp *q);
/* True once a protocol error made the connection unusable. */
bool vn_qmp_broken(const struct vn_qmp *q);

/* Runs command cmd with args (borrowed; NULL for none) and returns a new reference to its
 * "return" value, which the caller releases with json_object_put; NULL with err on an error
 * reply ("QMP command 'X' failed: CLASS: DESC"), a timeout or a broken connection. */
struct json_object *vn_qmp_command(struct vn_qmp *q, const char *cmd, struct json_object *args,
                                   int timeout_ms, struct vn_error *err);

/* Waits up to timeout_ms for the next event (queued ones first).  Returns 1 and fills ev
 * (release with vn_qmp_event_clear), 0 when none came in time, -1 with err. */
int vn_qmp_next_event(struct vn_qmp *q, int timeout_ms, struct vn_qmp_event *ev,
                      struct vn_error *err);
/* Releases what ev owns and zeroes it. */
void vn_qmp_event_clear(struct vn_qmp_event *ev);

/* The vCPUs from query-cpus-fast, sorted by cpu_index; *out is malloc'ed (free it). */
int vn_qmp_query_vcpus(struct vn_qmp *q, int timeout_ms, struct vn_qmp_vcpu **out, int *n,
                       struct vn_error *err);
/* Asks QEMU to exit (quit).  QEMU closing the socket before its reply counts as success. */
int vn_qmp_quit(struct vn_qmp *q, int timeout_ms, struct vn_error *err);
/* qom-set of an integer property (virtio-mem "requested-size", for instance). */
int vn_qmp_qom_set_int(struct vn_qmp *q, const char *path, const char *property, int64_t value,
                       int timeout_ms, struct vn_error *err);

#endif
