/* The state dir itself: opening it safely, names, paths, listing, runtime dirs. */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "../util/ident.h"
#include "state_int.h"

/* Makes sure path is a directory we own, closed to others and writable; creates it (0700)
 * when missing.  Another user's dir could feed us forged records or sockets. */
static int ensure_dir(const char *path, struct vn_error *err)
{
    if (mkdir(path, 0700) == 0) {
        /* The umask could have removed owner bits: the mode must be exactly 0700. */
        if (chmod(path, 0700) < 0)
            return vn_error_sys(err, errno, "cannot set the mode of state directory '%s'", path);
        return 0;
    }
    if (errno != EEXIST)
        return vn_error_sys(err, errno, "cannot create state directory '%s'", path);
    struct stat st;
    if (stat(path, &st) < 0)
        return vn_error_sys(err, errno, "cannot inspect state directory '%s'", path);
    if (!S_ISDIR(st.st_mode))
        return vn_error_set(err, "state directory '%s' is not a directory", path);
    if (st.st_uid != geteuid())
        return vn_error_set(err,
                            "state directory '%s' is owned by uid %u, not by the current user "
                            "(uid %u)",
                            path, (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & 022)
        return vn_error_set(err,
                            "state directory '%s' is writable by other users (mode %04o); make it "
                            "owner-only (chmod 700)",
                            path, (unsigned)(st.st_mode & 07777));
    if (access(path, W_OK | X_OK) < 0)
        return vn_error_sys(err, errno, "state directory '%s' is not writable", path);
    return 0;
}

static char *join(const char *a, const char *b)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s", a, b) < 0)
        return NULL;
    return s;
}

int vn_state_open(const char *dir, struct vn_state **out, struct vn_error *err)
{
    *out = NULL;
    if (!dir)
        dir = VN_STATE_DEFAULT_DIR;
    if (!*dir)
        return vn_error_set(err, "the state directory path is empty");
    VN_CLEANUP(vn_state_closep) struct vn_state *s = calloc(1, sizeof *s);
    if (!s)
        return vn_error_sys(err, ENOMEM, "cannot open state directory '%s'", dir);
    s->lock_fd = -1;
    s->dir = strdup(dir);
    s->domains = join(dir, "domains");
    s->run = join(dir, "run");
    if (!s->dir || !s->domains || !s->run)
        return vn_error_sys(err, ENOMEM, "cannot open state directory '%s'", dir);
    if (ensure_dir(s->dir, err) < 0 || ensure_dir(s->domains, err) < 0 ||
        ensure_dir(s->run, err) < 0)
        return -1;
    *out = VN_STEAL(s);
    return 0;
}

void vn_state_close(struct vn_state *s)
{
    if (!s)
        return;
    vn_state_unlock(s);
    free(s->dir);
    free(s->domains);
    free(s->run);
    free(s);
}

void vn_state_closep(struct vn_state **s)
{
    vn_state_close(*s);
    *s = NULL;
}

const char *vn_state_dir(const struct vn_state *s)
{
    return s->dir;
}

int vn_domain_name_check(const char *name, struct vn_error *err)
{
    return vn_ident_check("domain name", name, VN_DOMAIN_NAME_MAX, false, err);
}

static int fmt_path(char *buf, size_t len, struct vn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fmt_path(char *buf, size_t len, struct vn_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        return vn_error_set(err, "path '%s...' is too long (more than %zu bytes)", buf, len - 1);
    return 0;
}

int vn_state_record_path(const struct vn_state *s, const char *name, char *buf, size_t len,
                         struct vn_error *err)
{
    if (vn_domain_name_check(name, err) < 0)
        return -1;
    return fmt_path(buf, len, err, "%s/%s.json", s->domains, name);
}

int vn_state_runtime_path(const struct vn_state *s, const char *name, const char *file, char *buf,
                          size_t len, struct vn_error *err)
{
    return vn_state_runtime_path_in(s->dir, name, file, buf, len, err);
}

int vn_state_runtime_path_in(const char *dir, const char *name, const char *file, char *buf,
                             size_t len, struct vn_error *err)
{
    if (vn_domain_name_check(name, err) < 0)
        return -1;
    if (file)
        return fmt_path(buf, len, err, "%s/run/%s/%s", dir, name, file);
    return fmt_path(buf, len, err, "%s/run/%s", dir, name);
}

int vn_state_make_runtime_dir(struct vn_state *s, const char *name, struct vn_error *err)
{
    char path[4096];
    if (vn_state_runtime_path(s, name, NULL, path, sizeof path, err) < 0)
        return -1;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return vn_error_sys(err, errno, "domain '%s': cannot create runtime directory '%s'", name,
                            path);
    struct stat st;
    if (lstat(path, &st) < 0)
        return vn_error_sys(err, errno, "domain '%s': cannot inspect runtime directory '%s'", name,
                            path);
    if (!S_ISDIR(st.st_mode))
        return vn_error_set(err, "domain '%s': runtime directory '%s' is not a directory", name,
                            path);
    if (chmod(path, 0700) < 0)
        return vn_error_sys(err, errno, "domain '%s': cannot set the mode of '%s'", name, path);
    return 0;
}

int vn_state_remove_runtime_dir(struct vn_state *s, const char *name, struct vn_error *err)
{
    char path[4096];
    if (vn_state_runtime_path(s, name, NULL, path, sizeof path, err) < 0)
        return -1;
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return vn_error_sys(err, errno, "domain '%s': cannot open runtime directory '%s'", name,
                            path);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
            rc = vn_error_sys(err, errno, "domain '%s': cannot remove '%s/%s'", name, path,
                              e->d_name);
    }
    closedir(d);
    if (rc == 0 && rmdir(path) < 0 && errno != ENOENT)
        rc = vn_error_sys(err, errno, "domain '%s': cannot remove runtime directory '%s'", name,
                          path);
    return rc;
}

bool vn_state_is_temp_name_(const char *file)
{
    /* ".NAME.json.XXXXXX" as made by mkostemp in record.c */
    const char *j = strstr(file, ".json.");
    return file[0] == '.' && j && strlen(j) == strlen(".json.XXXXXX");
}

void vn_state_clean_temp_(struct vn_state *s)
{
    DIR *d = opendir(s->domains);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (vn_state_is_temp_name_(e->d_name))
            unlinkat(dirfd(d), e->d_name, 0); /* best effort: a leftover is harmless */
    }
    closedir(d);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vn_state_list(struct vn_state *s, char ***names, int *n, struct vn_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(s->domains);
    if (!d)
        return vn_error_sys(err, errno, "cannot list state directory '%s'", s->domains);
    char **v = NULL;
    int cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        /* Only NAME.json with a valid name is a record; temp files start with '.'. */
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char name[VN_DOMAIN_NAME_MAX + 1];
        if (len - 5 > VN_DOMAIN_NAME_MAX)
            continue;
        memcpy(name, e->d_name, len - 5);
        name[len - 5] = '\0';
        if (vn_domain_name_check(name, NULL) < 0)
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if (!(v[cnt] = strdup(name)))
            break;
        cnt++;
    }
    bool failed = e != NULL;
    closedir(d);
    if (failed) {
        vn_state_names_free(v, cnt);
        return vn_error_sys(err, ENOMEM, "cannot list state directory '%s'", s->domains);
    }
    if (cnt)
        qsort(v, (size_t)cnt, sizeof *v, cmp_names);
    *names = v;
    *n = cnt;
    return 0;
}

void vn_state_names_free(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
