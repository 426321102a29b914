/* The host config: the config language's lexer and parser, a table of three string keys. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../util/readfile.h"
#include "config.h"
#include "config_int.h"
#include "hostconf.h"

static const char *const keys[] = {"default_bridge", "qemu_user", "qemu_group"};

/* The string field and location of key, or NULL for a key vnuma does not know. */
static char **field(struct vn_host_conf *c, const char *key, struct vn_loc **loc)
{
    if (strcmp(key, "default_bridge") == 0)
        return *loc = &c->loc.default_bridge, &c->default_bridge;
    if (strcmp(key, "qemu_user") == 0)
        return *loc = &c->loc.qemu_user, &c->qemu_user;
    if (strcmp(key, "qemu_group") == 0)
        return *loc = &c->loc.qemu_group, &c->qemu_group;
    return NULL;
}

/* Bridge, user and group names share one rule: 1..32 printable characters, no blanks, no
 * '/' and no ',' (they reach sysfs paths and QEMU option lists). */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return false;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '/' || *p == ',')
            return false;
    return true;
}

static void set_setting(struct vn_host_conf *c, const struct vn_setting *s, struct vn_diags *d)
{
    struct vn_loc *loc;
    char **f = field(c, s->key, &loc);
    if (!f) {
        const char *hint = vn_did_you_mean(s->key, keys, sizeof keys / sizeof *keys);
        vn_diags_add(d, VN_DIAG_ERROR, s->loc, s->key,
                     "Unknown host setting '%s'%s%s%s (known: default_bridge, qemu_user, "
                     "qemu_group).",
                     s->key, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
        return;
    }
    if (s->value->kind != VN_CV_STRING) {
        vn_diags_add(d, VN_DIAG_ERROR, s->value->loc, s->key, "'%s' must be a string, not %s.",
                     s->key, vn_cv_kind_name(s->value->kind));
        return;
    }
    if (!name_ok(s->value->text)) {
        vn_diags_add(d, VN_DIAG_ERROR, s->value->loc, s->key,
                     "'%s' value '%s' must be 1..32 printable characters without blanks, '/' "
                     "or ','.",
                     s->key, s->value->text);
        return;
    }
    char *v = strdup(s->value->text);
    if (!v) {
        vn_diags_add(d, VN_DIAG_ERROR, s->loc, s->key, "Out of memory.");
        return;
    }
    free(*f);
    *f = v;
    *loc = s->value->loc;
}

int vn_host_conf_parse_buf(const char *buf, size_t len, const char *file, struct vn_host_conf *out,
                           struct vn_error *err)
{
    memset(out, 0, sizeof *out);
    struct vn_diags d;
    vn_diags_init(&d, file);
    struct vn_tokens toks = {0};
    struct vn_settings set = {0};
    if (vn_lex(buf, len, &toks) < 0 || !(out->file = strdup(file))) {
        vn_diags_add(&d, VN_DIAG_ERROR, (struct vn_loc){0}, "", "Out of memory.");
    } else if (vn_parse_settings(&toks, &set, &d) == 0) {
        for (int i = 0; i < set.n && d.nerrors == 0; i++)
            set_setting(out, &set.v[i], &d);
        if (!out->qemu_user && !(out->qemu_user = strdup(VN_QEMU_USER_DEFAULT)))
            vn_diags_add(&d, VN_DIAG_ERROR, (struct vn_loc){0}, "", "Out of memory.");
    }
    vn_settings_free(&set);
    vn_tokens_free(&toks);
    int rc = 0;
    if (d.nerrors) {
        vn_diags_sort(&d);
        char msg[VN_ERROR_MSG_MAX];
        for (int i = 0; i < d.n; i++)
            if (d.v[i].severity == VN_DIAG_ERROR) {
                vn_diag_format(&d, i, msg, sizeof msg);
                break;
            }
        rc = vn_error_set(err, "%s", msg);
        vn_host_conf_clear(out);
    }
    vn_diags_free(&d);
    return rc;
}

int vn_host_conf_load_file(const char *path, struct vn_host_conf *out, struct vn_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = vn_file_read(path, VN_HOST_CONF_MAX_BYTES, "host config", &buf, &len, err);
    if (rc < 0 && rc != VN_FILE_TOO_LARGE && err->errnum == ENOENT) {
        vn_error_clear(err);
        return vn_host_conf_parse_buf("", 0, "", out, err);
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    rc = vn_host_conf_parse_buf(buf, len, path, out, err);
    free(buf);
    return rc;
}

void vn_host_conf_clear(struct vn_host_conf *c)
{
    free(c->file);
    free(c->default_bridge);
    free(c->qemu_user);
    free(c->qemu_group);
    memset(c, 0, sizeof *c);
}
