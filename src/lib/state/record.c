/* Domain records on disk: written atomically, read back whole (record_json.c is the one
 * reader and writer of their JSON), and the typed record's own operations. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../config/config.h"
#include "../util/cleanup.h"
#include "state_int.h"

#define RECORD_MAX (64u << 20) /* far above any real record; stops reading a runaway file */

void vn_domain_record_init(struct vn_domain_record *r)
{
    memset(r, 0, sizeof *r);
    r->status = VN_DOMAIN_CREATING;
    r->accel = VN_ACCEL_AUTO;
    r->balance = -1;
}

void vn_domain_record_clear(struct vn_domain_record *r)
{
    free(r->config_path);
    free(r->runtime_dir);
    free(r->qmp_socket);
    free(r->console_socket);
    free(r->log_path);
    free(r->mem_dir);
    free(r->console_log);
    free(r->accel_reason);
    vn_spec_free(r->spec);
    free(r->placement);
    free(r->moves);
    free(r->pins);
    free(r->stopped);
    vn_domain_record_init(r);
}

const struct vn_claim *vn_domain_claim(const struct vn_domain_record *r)
{
    static const struct vn_claim none;
    return r->placement ? &r->placement->claim : &none;
}

/* Room for entry n of an array grown by doubling (n entries in use): a vcpu-pin of 1024 vCPUs
 * adds them one by one. */
static void *grow(void *v, int n, size_t size)
{
    if (n > 0 && (n & (n - 1)) != 0)
        return v;
    return realloc(v, (size_t)(n ? 2 * n : 1) * size);
}

struct vn_mem_move *vn_domain_move(const struct vn_domain_record *r, int vnode)
{
    for (int i = 0; i < r->nmoves; i++)
        if (r->moves[i].vnode == vnode)
            return &r->moves[i];
    return NULL;
}

struct vn_mem_move *vn_domain_move_add(struct vn_domain_record *r, int vnode)
{
    struct vn_mem_move *m = vn_domain_move(r, vnode);
    if (m)
        return m;
    m = grow(r->moves, r->nmoves, sizeof *m);
    if (!m)
        return NULL;
    r->moves = m;
    m = &r->moves[r->nmoves++];
    memset(m, 0, sizeof *m);
    m->vnode = vnode;
    return m;
}

void vn_domain_move_remove(struct vn_domain_record *r, int vnode)
{
    struct vn_mem_move *m = vn_domain_move(r, vnode);
    if (!m)
        return;
    size_t i = (size_t)(m - r->moves);
    memmove(m, m + 1, (size_t)(r->nmoves - 1 - (int)i) * sizeof *m);
    r->nmoves--;
}

struct vn_vcpu_pin *vn_domain_pin(const struct vn_domain_record *r, int vcpu)
{
    for (int i = 0; i < r->npins; i++)
        if (r->pins[i].vcpu == vcpu)
            return &r->pins[i];
    return NULL;
}

struct vn_vcpu_pin *vn_domain_pin_add(struct vn_domain_record *r, int vcpu)
{
    struct vn_vcpu_pin *p = vn_domain_pin(r, vcpu);
    if (p)
        return p;
    p = grow(r->pins, r->npins, sizeof *p);
    if (!p)
        return NULL;
    r->pins = p;
    p = &r->pins[r->npins++];
    memset(p, 0, sizeof *p);
    p->vcpu = vcpu;
    return p;
}

/* Checks what the C types cannot: a claim must be one the reader will accept. */
static int check_claim(const struct vn_domain_record *r, struct vn_error *err)
{
    const struct vn_claim *c = vn_domain_claim(r);
    if (c->n < 0 || c->n > VN_MAX_VNODES)
        return vn_error_set(err, "domain '%s': the claim has %d entries (at most %d)", r->name,
                            c->n, VN_MAX_VNODES);
    for (int i = 0; i < c->n; i++) {
        if (c->v[i].node < 0 || c->v[i].node >= VN_BITMAP_BITS || c->v[i].vcpus < 0)
            return vn_error_set(
                err, "domain '%s': claim entry %d has a negative node or vCPU count", r->name, i);
        for (int j = 0; j < i; j++)
            if (c->v[j].node == c->v[i].node)
                return vn_error_set(err, "domain '%s': the claim lists host node %d twice", r->name,
                                    c->v[i].node);
    }
    return 0;
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
    if (!vn_record_enums_valid_(r))
        return vn_error_set(err, "domain '%s': the record has an invalid status or accelerator",
                            r->name);
    if (check_claim(r, err) < 0)
        return -1;

    char path[4096], tmp[4096 + 16];
    if (vn_state_record_path(s, r->name, path, sizeof path, err) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/.%s.json.XXXXXX", s->domains, r->name);

    struct json_object *o = vn_record_to_json_(r);
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
    if (len == 0)
        return vn_error_set(err, "state record '%s' is corrupt: the file is empty", path);
    if (len > RECORD_MAX)
        return vn_error_set(err, "state record '%s' is larger than %u bytes", path, RECORD_MAX);
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return vn_error_sys(err, ENOMEM, "cannot read state record '%s'", path);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue)
        return vn_error_set(
            err, "state record '%s' is corrupt: the JSON ends early (truncated file?)", path);
    if (jerr != json_tokener_success)
        return vn_error_set(err, "state record '%s' is corrupt: invalid JSON at byte %zu: %s", path,
                            end, json_tokener_error_desc(jerr));
    int rc = vn_record_from_json_(obj, path, name, out, err);
    json_object_put(obj);
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
            v[got++] = *vn_domain_claim(&r);
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, count);
    if (err)
        vn_error_clear(err);
    *claims = v;
    *n = got;
    return 0;
}
