/* Domain records: JSON on disk, written atomically, read back with strict validation.
 *
 * Strict because a record decides what is running and what is claimed: a record we only
 * half understand would make placement or destroy act on wrong data. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../util/cleanup.h"
#include "state_int.h"

#define RECORD_VERSION 1
#define RECORD_MAX     (64u << 20) /* far above any real record; stops reading a runaway file */

static const char *const status_names[] = {
    [VN_DOMAIN_CREATING] = "creating", [VN_DOMAIN_RUNNING] = "running",
    [VN_DOMAIN_PAUSED] = "paused",     [VN_DOMAIN_MIGRATING] = "migrating",
    [VN_DOMAIN_STOPPING] = "stopping",
};

static const char *const accel_names[] = {
    [VN_ACCEL_AUTO] = "auto",
    [VN_ACCEL_KVM] = "kvm",
    [VN_ACCEL_TCG] = "tcg",
};

/* Every key of a version 1 record; anything else is refused (extensions go in "extra"). */
static const char *const known_keys[] = {
    "version",        "name",       "status",      "created",       "config",      "accel",
    "qemu_pid",       "qemu_start", "creator_pid", "creator_start", "runtime_dir", "qmp_socket",
    "console_socket", "log",        "claim",       "spec",          "placement",   "extra",
};

const char *vn_domain_status_name(enum vn_domain_status st)
{
    if ((unsigned)st < VN_ARRAY_SIZE(status_names))
        return status_names[st];
    return "unknown";
}

int vn_domain_status_parse(const char *s, enum vn_domain_status *out)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(status_names); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum vn_domain_status)i;
            return 0;
        }
    }
    return -1;
}

void vn_domain_record_init(struct vn_domain_record *r)
{
    memset(r, 0, sizeof *r);
    r->status = VN_DOMAIN_CREATING;
    r->accel = VN_ACCEL_AUTO;
}

void vn_domain_record_clear(struct vn_domain_record *r)
{
    free(r->config_path);
    free(r->runtime_dir);
    free(r->qmp_socket);
    free(r->console_socket);
    free(r->log_path);
    json_object_put(r->spec);
    json_object_put(r->placement);
    json_object_put(r->extra);
    vn_domain_record_init(r);
}

/* Checks what the C types cannot: a claim must be one the reader will accept. */
static int check_claim(const struct vn_domain_record *r, struct vn_error *err)
{
    const struct vn_claim *c = &r->claim;
    if (c->n < 0 || c->n > VN_MAX_VNODES)
        return vn_error_set(err, "domain '%s': the claim has %d entries (at most %d)", r->name,
                            c->n, VN_MAX_VNODES);
    for (int i = 0; i < c->n; i++) {
        if (c->v[i].node < 0 || c->v[i].vcpus < 0)
            return vn_error_set(
                err, "domain '%s': claim entry %d has a negative node or vCPU count", r->name, i);
        for (int j = 0; j < i; j++)
            if (c->v[j].node == c->v[i].node)
                return vn_error_set(err, "domain '%s': the claim lists host node %d twice", r->name,
                                    c->v[i].node);
    }
    return 0;
}

static struct json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static struct json_object *record_to_json(const struct vn_domain_record *r)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(RECORD_VERSION));
    json_object_object_add(o, "name", json_object_new_string(r->name));
    json_object_object_add(o, "status", json_object_new_string(vn_domain_status_name(r->status)));
    json_object_object_add(o, "created", json_object_new_int64(r->created));
    json_object_object_add(o, "config", str_or_null(r->config_path));
    json_object_object_add(o, "accel", json_object_new_string(accel_names[r->accel]));
    json_object_object_add(o, "qemu_pid", json_object_new_int(r->qemu_pid));
    json_object_object_add(o, "qemu_start", json_object_new_uint64(r->qemu_start));
    json_object_object_add(o, "creator_pid", json_object_new_int(r->creator_pid));
    json_object_object_add(o, "creator_start", json_object_new_uint64(r->creator_start));
    json_object_object_add(o, "runtime_dir", str_or_null(r->runtime_dir));
    json_object_object_add(o, "qmp_socket", str_or_null(r->qmp_socket));
    json_object_object_add(o, "console_socket", str_or_null(r->console_socket));
    json_object_object_add(o, "log", str_or_null(r->log_path));
    struct json_object *claim = json_object_new_array();
    for (int i = 0; i < r->claim.n; i++) {
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "node", json_object_new_int(r->claim.v[i].node));
        json_object_object_add(e, "mem_mib", json_object_new_uint64(r->claim.v[i].mem_mib));
        json_object_object_add(e, "vcpus", json_object_new_int(r->claim.v[i].vcpus));
        json_object_array_add(claim, e);
    }
    json_object_object_add(o, "claim", claim);
    json_object_object_add(o, "spec", json_object_get(r->spec));
    json_object_object_add(o, "placement", json_object_get(r->placement));
    json_object_object_add(o, "extra",
                           r->extra ? json_object_get(r->extra) : json_object_new_object());
    return o;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Makes the rename durable: without it a power cut may bring back the old name. */
static int fsync_dir(const char *dir)
{
    VN_CLEANUP_CLOSE int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        return -1;
    return 0;
}

int vn_state_write_record(struct vn_state *s, const struct vn_domain_record *r,
                          struct vn_error *err)
{
    if (vn_domain_name_check(r->name, err) < 0)
        return -1;
    if (!vn_state_locked(s))
        return vn_error_set(err, "domain '%s': writing its state record needs the host lock",
                            r->name);
    if ((unsigned)r->status >= VN_ARRAY_SIZE(status_names) ||
        (unsigned)r->accel >= VN_ARRAY_SIZE(accel_names))
        return vn_error_set(err, "domain '%s': the record has an invalid status or accelerator",
                            r->name);
    if (r->extra && !json_object_is_type(r->extra, json_type_object))
        return vn_error_set(err, "domain '%s': the record's 'extra' must be a JSON object",
                            r->name);
    if (check_claim(r, err) < 0)
        return -1;

    char path[4096], tmp[4096 + 16];
    if (vn_state_record_path(s, r->name, path, sizeof path, err) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/.%s.json.XXXXXX", s->domains, r->name);

    struct json_object *o = record_to_json(r);
    VN_CLEANUP_FREE char *text = NULL;
    if (asprintf(&text, "%s\n",
                 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
        text = NULL;
    json_object_put(o);
    if (!text)
        return vn_error_sys(err, ENOMEM, "domain '%s': cannot write state record '%s'", r->name,
                            path);

    /* mkostemp creates the file 0600: records name sockets that control the VM. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return vn_error_sys(err, errno, "domain '%s': cannot create a temporary file in '%s'",
                            r->name, s->domains);
    if (write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return vn_error_sys(err, e, "domain '%s': cannot write state record '%s'", r->name, tmp);
    }
    if (close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return vn_error_sys(err, e, "domain '%s': cannot write state record '%s'", r->name, tmp);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return vn_error_sys(err, e, "domain '%s': cannot rename '%s' to '%s'", r->name, tmp, path);
    }
    if (fsync_dir(s->domains) < 0)
        return vn_error_sys(err, errno, "domain '%s': cannot sync directory '%s'", r->name,
                            s->domains);
    return 0;
}

/* Reading: every problem is "state record 'PATH' is corrupt: WHY". */
struct reader {
    const char *path;
    struct json_object *obj;
    struct vn_error *err;
    char where[32]; /* "claim entry 3: " inside a claim, else "" */
};

static int corrupt(const struct reader *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int corrupt(const struct reader *rd, const char *fmt, ...)
{
    char why[VN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return vn_error_set(rd->err, "state record '%s' is corrupt: %s%s", rd->path, rd->where, why);
}

static int member(const struct reader *rd, const char *key, enum json_type type, bool nullable,
                  struct json_object **out)
{
    static const char *const type_names[] = {
        [json_type_null] = "null",        [json_type_boolean] = "a boolean",
        [json_type_double] = "a number",  [json_type_int] = "an integer",
        [json_type_object] = "an object", [json_type_array] = "an array",
        [json_type_string] = "a string",
    };
    if (!json_object_object_get_ex(rd->obj, key, out))
        return corrupt(rd, "key '%s' is missing", key);
    if (!*out && nullable)
        return 0;
    if (!json_object_is_type(*out, type))
        return corrupt(rd, "key '%s' must be %s%s", key, type_names[type],
                       nullable ? " or null" : "");
    return 0;
}

static int get_int(const struct reader *rd, const char *key, int64_t min, int64_t max, int64_t *out)
{
    struct json_object *v;
    if (member(rd, key, json_type_int, false, &v) < 0)
        return -1;
    int64_t x = json_object_get_int64(v);
    /* json-c keeps integers above INT64_MAX as uint64: those are out of range too. */
    if (x < min || x > max || (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)x))
        return corrupt(rd, "key '%s' is out of range (%s)", key, json_object_to_json_string(v));
    *out = x;
    return 0;
}

static int get_uint(const struct reader *rd, const char *key, uint64_t *out)
{
    struct json_object *v;
    if (member(rd, key, json_type_int, false, &v) < 0)
        return -1;
    if (json_object_get_int64(v) < 0)
        return corrupt(rd, "key '%s' is negative", key);
    *out = json_object_get_uint64(v);
    return 0;
}

static int get_str(const struct reader *rd, const char *key, bool nullable, char **out)
{
    struct json_object *v;
    *out = NULL;
    if (member(rd, key, json_type_string, nullable, &v) < 0)
        return -1;
    if (v && !(*out = strdup(json_object_get_string(v))))
        return vn_error_sys(rd->err, ENOMEM, "cannot read state record '%s'", rd->path);
    return 0;
}

static int get_claim(const struct reader *rd, struct vn_claim *c)
{
    struct json_object *arr;
    if (member(rd, "claim", json_type_array, false, &arr) < 0)
        return -1;
    size_t n = json_object_array_length(arr);
    if (n > VN_MAX_VNODES)
        return corrupt(rd, "the claim has %zu entries (at most %d)", n, VN_MAX_VNODES);
    c->n = 0;
    for (size_t i = 0; i < n; i++) {
        struct reader sub = {
            .path = rd->path, .obj = json_object_array_get_idx(arr, i), .err = rd->err};
        snprintf(sub.where, sizeof sub.where, "claim entry %zu: ", i);
        int64_t node, vcpus;
        uint64_t mem;
        if (!json_object_is_type(sub.obj, json_type_object))
            return corrupt(rd, "claim entry %zu is not an object", i);
        if (json_object_object_length(sub.obj) != 3)
            return corrupt(rd, "claim entry %zu must have exactly 'node', 'mem_mib' and 'vcpus'",
                           i);
        if (get_int(&sub, "node", 0, 1 << 20, &node) < 0 || get_uint(&sub, "mem_mib", &mem) < 0 ||
            get_int(&sub, "vcpus", 0, VN_MAX_VCPUS, &vcpus) < 0)
            return -1;
        for (int j = 0; j < c->n; j++)
            if (c->v[j].node == node)
                return corrupt(rd, "the claim lists host node %d twice", (int)node);
        c->v[c->n].node = (int)node;
        c->v[c->n].mem_mib = mem;
        c->v[c->n].vcpus = (int)vcpus;
        c->n++;
    }
    return 0;
}

static int parse_record(const struct reader *rd, const char *name, struct vn_domain_record *r)
{
    if (!json_object_is_type(rd->obj, json_type_object))
        return corrupt(rd, "it is not a JSON object");
    json_object_object_foreach(rd->obj, key, val)
    {
        (void)val;
        bool known = false;
        for (size_t i = 0; i < VN_ARRAY_SIZE(known_keys) && !known; i++)
            known = strcmp(key, known_keys[i]) == 0;
        if (!known)
            return corrupt(rd, "unknown key '%s'", key);
    }
    int64_t version, pid, cpid;
    if (get_int(rd, "version", 0, INT32_MAX, &version) < 0)
        return -1;
    if (version != RECORD_VERSION)
        return corrupt(rd, "version %" PRId64 " is not supported (this vnuma reads version %d)",
                       version, RECORD_VERSION);
    VN_CLEANUP_FREE char *rname = NULL, *status = NULL, *accel = NULL;
    if (get_str(rd, "name", false, &rname) < 0)
        return -1;
    if (strcmp(rname, name) != 0)
        return corrupt(rd, "it names domain '%s'", rname);
    snprintf(r->name, sizeof r->name, "%s", name);
    if (get_str(rd, "status", false, &status) < 0)
        return -1;
    if (vn_domain_status_parse(status, &r->status) < 0)
        return corrupt(rd,
                       "status '%s' is not one of creating, running, paused, migrating, "
                       "stopping",
                       status);
    if (get_str(rd, "accel", false, &accel) < 0)
        return -1;
    bool found = false;
    for (size_t i = 0; i < VN_ARRAY_SIZE(accel_names) && !found; i++) {
        if (strcmp(accel, accel_names[i]) == 0) {
            r->accel = (enum vn_accel)i;
            found = true;
        }
    }
    if (!found)
        return corrupt(rd, "accel '%s' is not one of auto, kvm, tcg", accel);
    if (get_int(rd, "created", 0, INT64_MAX, &r->created) < 0 ||
        get_int(rd, "qemu_pid", 0, INT32_MAX, &pid) < 0 ||
        get_uint(rd, "qemu_start", &r->qemu_start) < 0 ||
        get_int(rd, "creator_pid", 0, INT32_MAX, &cpid) < 0 ||
        get_uint(rd, "creator_start", &r->creator_start) < 0 ||
        get_str(rd, "config", true, &r->config_path) < 0 ||
        get_str(rd, "runtime_dir", true, &r->runtime_dir) < 0 ||
        get_str(rd, "qmp_socket", true, &r->qmp_socket) < 0 ||
        get_str(rd, "console_socket", true, &r->console_socket) < 0 ||
        get_str(rd, "log", true, &r->log_path) < 0 || get_claim(rd, &r->claim) < 0)
        return -1;
    r->qemu_pid = (pid_t)pid;
    r->creator_pid = (pid_t)cpid;
    struct json_object *v;
    /* spec and placement are their owners' business: any JSON value is kept as it is. */
    if (!json_object_object_get_ex(rd->obj, "spec", &v))
        return corrupt(rd, "key 'spec' is missing");
    r->spec = json_object_get(v);
    if (!json_object_object_get_ex(rd->obj, "placement", &v))
        return corrupt(rd, "key 'placement' is missing");
    r->placement = json_object_get(v);
    if (member(rd, "extra", json_type_object, false, &v) < 0)
        return -1;
    r->extra = json_object_get(v);
    return 0;
}

/* Reads the whole file into a string (malloc'ed). */
static char *slurp(int fd, const char *path, size_t *len, struct vn_error *err)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 == cap) {
            if (cap >= RECORD_MAX) {
                free(buf);
                vn_error_set(err, "state record '%s' is larger than %u bytes", path, RECORD_MAX);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            vn_error_sys(err, e, "cannot read state record '%s'", path);
            return NULL;
        }
        if (r == 0) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        n += (size_t)r;
    }
    free(buf);
    vn_error_sys(err, ENOMEM, "cannot read state record '%s'", path);
    return NULL;
}

/* Parses and validates a record document; path names it in messages.  out is init'ed by the
 * caller and cleared here on failure. */
static int record_from_text(const char *text, size_t len, const char *path, const char *name,
                            struct vn_domain_record *out, struct vn_error *err)
{
    struct reader rd = {.path = path, .err = err};
    if (len == 0)
        return corrupt(&rd, "the file is empty");
    if (len > RECORD_MAX)
        return vn_error_set(err, "state record '%s' is larger than %u bytes", path, RECORD_MAX);
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return vn_error_sys(err, ENOMEM, "cannot read state record '%s'", path);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    rd.obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue)
        return corrupt(&rd, "the JSON ends early (truncated file?)");
    if (jerr != json_tokener_success)
        return corrupt(&rd, "invalid JSON at byte %zu: %s", end, json_tokener_error_desc(jerr));
    int rc = parse_record(&rd, name, out);
    json_object_put(rd.obj);
    if (rc < 0)
        vn_domain_record_clear(out);
    return rc;
}

int vn_domain_record_from_json_buf(const char *buf, size_t len, const char *name,
                                   struct vn_domain_record *out, struct vn_error *err)
{
    vn_domain_record_init(out);
    if (vn_domain_name_check(name, err) < 0)
        return -1;
    char label[VN_DOMAIN_NAME_MAX + sizeof ".json"];
    snprintf(label, sizeof label, "%s.json", name);
    return record_from_text(buf, len, label, name, out, err);
}

int vn_state_read_record(struct vn_state *s, const char *name, struct vn_domain_record *out,
                         struct vn_error *err)
{
    vn_domain_record_init(out);
    char path[4096];
    if (vn_state_record_path(s, name, path, sizeof path, err) < 0)
        return -1;
    VN_CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) {
        vn_error_set(err, "domain '%s' does not exist", name);
        if (err)
            err->errnum = ENOENT;
        return -1;
    }
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot open state record '%s'", path);
    /* O_NONBLOCK: a FIFO planted in place of a record must not hang every command (some
     * holding the host lock); only a regular file is a record. */
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vn_error_sys(err, errno, "cannot inspect state record '%s'", path);
    if (!S_ISREG(st.st_mode))
        return vn_error_set(err, "state record '%s' is not a regular file; remove it", path);
    size_t len;
    VN_CLEANUP_FREE char *text = slurp(fd, path, &len, err);
    if (!text)
        return -1;
    return record_from_text(text, len, path, name, out, err);
}

int vn_state_remove_record(struct vn_state *s, const char *name, struct vn_error *err)
{
    char path[4096];
    if (vn_state_record_path(s, name, path, sizeof path, err) < 0)
        return -1;
    if (!vn_state_locked(s))
        return vn_error_set(err, "domain '%s': removing its state record needs the host lock",
                            name);
    if (unlink(path) < 0) {
        if (errno == ENOENT) {
            vn_error_set(err, "domain '%s' does not exist", name);
            if (err)
                err->errnum = ENOENT;
            return -1;
        }
        return vn_error_sys(err, errno, "domain '%s': cannot remove state record '%s'", name, path);
    }
    if (fsync_dir(s->domains) < 0)
        return vn_error_sys(err, errno, "domain '%s': cannot sync directory '%s'", name,
                            s->domains);
    return 0;
}

int vn_state_claims(struct vn_state *s, const char *exclude, struct vn_claim **claims, int *n,
                    struct vn_error *err)
{
    *claims = NULL;
    *n = 0;
    char **names;
    int count;
    if (vn_state_list(s, &names, &count, err) < 0)
        return -1;
    struct vn_claim *v = calloc(count ? (size_t)count : 1, sizeof *v);
    if (!v) {
        vn_state_names_free(names, count);
        return vn_error_sys(err, ENOMEM, "cannot collect the claims in '%s'", s->dir);
    }
    int got = 0;
    for (int i = 0; i < count; i++) {
        if (exclude && strcmp(names[i], exclude) == 0)
            continue;
        struct vn_domain_record r;
        if (vn_state_read_record(s, names[i], &r, err) < 0) {
            /* Removed since we listed: it no longer claims anything. */
            if (err && err->errnum == ENOENT)
                continue;
            free(v);
            vn_state_names_free(names, count);
            return -1;
        }
        if (vn_domain_holds_claim(&r))
            v[got++] = r.claim;
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, count);
    if (err)
        vn_error_clear(err);
    *claims = v;
    *n = got;
    return 0;
}
