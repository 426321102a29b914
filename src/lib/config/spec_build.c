/* From settings to struct vn_vm_spec: the key table, the scalar keys, xl's defaults, and the
 * public entry points that read a file or a buffer.
 *
 * Values are taken the way xl takes them: every atom is text, so `memory = "2048"` is a number
 * and `cpus = 3` a string.  A value that does not fit its key is an error on that key, and the
 * group it belongs to is marked bad so that validation does not pile consequences on it. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_int.h"
#include "util/cleanup.h"
#include "util/readfile.h"

char *vn_strdup_checked(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort(); /* a config is at most 1 MiB: running out here means the process is doomed */
    return d;
}

static void vadd(struct vn_build *b, enum vn_diag_severity sev, struct vn_loc loc, const char *key,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vadd(struct vn_build *b, enum vn_diag_severity sev, struct vn_loc loc, const char *key,
                 const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    vn_diags_add(b->diags, sev, loc, key, "%s", msg);
}

void vn_build_error(struct vn_build *b, struct vn_loc loc, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(b, VN_DIAG_ERROR, loc, key, fmt, ap);
    va_end(ap);
}

void vn_build_warning(struct vn_build *b, struct vn_loc loc, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(b, VN_DIAG_WARNING, loc, key, fmt, ap);
    va_end(ap);
}

int vn_parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    const char *p = text;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && p[1]) {
        base = 8;
        p++;
    }
    if (!*p)
        return -1;
    uint64_t v = 0;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return -1;
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - d) / base)
            return -2;
        v = v * base + d;
    }
    if (v > max)
        return -2;
    *out = v;
    return 0;
}

const char *vn_build_atom(struct vn_build *b, const struct vn_setting *s)
{
    if (s->value->kind == VN_CV_LIST) {
        vn_build_error(b, s->value->loc, s->key, "Expected a single value, not a list.");
        return NULL;
    }
    return s->value->text;
}

int vn_build_number(struct vn_build *b, const char *key, const struct vn_cv *v, uint64_t max,
                    uint64_t *out)
{
    if (v->kind == VN_CV_LIST) {
        vn_build_error(b, v->loc, key, "Expected a number, not a list.");
        return -1;
    }
    int rc = vn_parse_u64(v->text, max, out);
    if (rc == -1)
        vn_build_error(b, v->loc, key, "'%.64s' is not a number.", v->text);
    else if (rc == -2)
        vn_build_error(b, v->loc, key, "'%.64s' is too large (the limit is %llu).", v->text,
                       (unsigned long long)max);
    return rc < 0 ? -1 : 0;
}

/* ---- scalar keys ---- */

static void set_string(struct vn_build *b, const struct vn_setting *s, char **field,
                       struct vn_loc *loc, unsigned bad)
{
    const char *text = vn_build_atom(b, s);
    if (!text) {
        b->bad |= bad;
        return;
    }
    free(*field);
    *field = vn_strdup_checked(text);
    if (loc)
        *loc = s->value->loc;
}

static void key_name(struct vn_build *b, const struct vn_setting *s)
{
    set_string(b, s, &b->spec->name, &b->spec->loc.name, VN_BAD_NAME);
}

static void key_kernel(struct vn_build *b, const struct vn_setting *s)
{
    set_string(b, s, &b->spec->kernel, &b->spec->loc.kernel, 0);
}

static void key_ramdisk(struct vn_build *b, const struct vn_setting *s)
{
    set_string(b, s, &b->spec->ramdisk, &b->spec->loc.ramdisk, 0);
}

/* Memory sizes are MiB as in xl; 2^40 MiB (1 EiB) keeps every later sum far from overflow. */
#define MEM_PARSE_MAX (1ull << 40)

static void key_memory(struct vn_build *b, const struct vn_setting *s)
{
    uint64_t v;
    if (vn_build_number(b, s->key, s->value, MEM_PARSE_MAX, &v) < 0) {
        b->bad |= VN_BAD_MEMORY;
        return;
    }
    b->spec->memory_mib = v;
    b->spec->loc.memory = s->value->loc;
    b->memory_set = true;
}

static void key_maxmem(struct vn_build *b, const struct vn_setting *s)
{
    uint64_t v;
    if (vn_build_number(b, s->key, s->value, MEM_PARSE_MAX, &v) < 0) {
        b->bad |= VN_BAD_MEMORY;
        return;
    }
    b->spec->maxmem_mib = v;
    b->spec->loc.maxmem = s->value->loc;
    b->maxmem_set = true;
}

static void key_vcpus(struct vn_build *b, const struct vn_setting *s)
{
    uint64_t v;
    if (vn_build_number(b, s->key, s->value, INT_MAX, &v) < 0) {
        b->bad |= VN_BAD_VCPUS;
        return;
    }
    b->spec->vcpus = (int)v;
    b->spec->loc.vcpus = s->value->loc;
    b->vcpus_set = true;
}

static void key_maxvcpus(struct vn_build *b, const struct vn_setting *s)
{
    uint64_t v;
    if (vn_build_number(b, s->key, s->value, INT_MAX, &v) < 0) {
        b->bad |= VN_BAD_VCPUS;
        return;
    }
    b->spec->maxvcpus = (int)v;
    b->spec->loc.maxvcpus = s->value->loc;
    b->maxvcpus_set = true;
}

static void key_cpus(struct vn_build *b, const struct vn_setting *s)
{
    vn_build_affinity(b, s, &b->spec->cpus, VN_BAD_CPUS);
}

static void key_cpus_soft(struct vn_build *b, const struct vn_setting *s)
{
    vn_build_affinity(b, s, &b->spec->cpus_soft, VN_BAD_CPUS_SOFT);
}

static void key_cmdline(struct vn_build *b, const struct vn_setting *s)
{
    if (vn_build_atom(b, s))
        b->cmdline = s;
}

static void key_root(struct vn_build *b, const struct vn_setting *s)
{
    if (vn_build_atom(b, s))
        b->root = s;
}

static void key_extra(struct vn_build *b, const struct vn_setting *s)
{
    if (vn_build_atom(b, s))
        b->extra = s;
}

/* Looks text up in names; on failure reports the choices and a likely intended one. */
static int pick(struct vn_build *b, const struct vn_setting *s, const char *const *names, size_t n,
                int *out)
{
    const char *text = vn_build_atom(b, s);
    if (!text)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    char choices[256] = "";
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(choices);
        snprintf(choices + used, sizeof choices - used, "%s'%s'", i ? ", " : "", names[i]);
    }
    const char *hint = vn_did_you_mean(text, names, n);
    if (hint)
        vn_build_error(b, s->value->loc, s->key, "'%.64s' is not one of %s; did you mean '%s'?",
                       text, choices, hint);
    else
        vn_build_error(b, s->value->loc, s->key, "'%.64s' is not one of %s.", text, choices);
    return -1;
}

static void set_action(struct vn_build *b, const struct vn_setting *s, enum vn_action *field)
{
    int v;
    if (pick(b, s, vn_action_names, VN_ACTION_NAMES, &v) == 0)
        *field = (enum vn_action)v;
}

static void key_on_poweroff(struct vn_build *b, const struct vn_setting *s)
{
    set_action(b, s, &b->spec->on_poweroff);
}

static void key_on_reboot(struct vn_build *b, const struct vn_setting *s)
{
    set_action(b, s, &b->spec->on_reboot);
}

static void key_on_crash(struct vn_build *b, const struct vn_setting *s)
{
    set_action(b, s, &b->spec->on_crash);
}

static void key_accel(struct vn_build *b, const struct vn_setting *s)
{
    int v;
    if (pick(b, s, vn_accel_names, VN_ACCEL_NAMES, &v) == 0) {
        b->spec->accel = (enum vn_accel)v;
        b->spec->loc.accel = s->value->loc;
    }
}

static void key_memory_policy(struct vn_build *b, const struct vn_setting *s)
{
    int v;
    if (pick(b, s, vn_mempolicy_names, VN_MEMPOLICY_NAMES, &v) == 0) {
        b->spec->mempolicy = (enum vn_mempolicy)v;
        b->spec->loc.mempolicy = s->value->loc;
    }
}

static void key_affinity_group(struct vn_build *b, const struct vn_setting *s)
{
    set_string(b, s, &b->spec->affinity_group, &b->spec->loc.affinity_group, VN_BAD_GROUPS);
}

static void key_anti_affinity_group(struct vn_build *b, const struct vn_setting *s)
{
    set_string(b, s, &b->spec->anti_affinity_group, &b->spec->loc.anti_affinity_group,
               VN_BAD_GROUPS);
}

static void key_balance(struct vn_build *b, const struct vn_setting *s)
{
    uint64_t v;
    if (vn_build_number(b, s->key, s->value, UINT64_MAX, &v) < 0)
        return;
    if (v > 1) {
        vn_build_error(b, s->value->loc, s->key, "'%s' must be 0 or 1.", s->value->text);
        return;
    }
    b->spec->balance = v == 1;
    b->spec->loc.balance = s->value->loc;
}

/* The vNUMA keys are only collected here; vn_build_vnuma reads them once all are known. */
static void key_vnuma(struct vn_build *b, const struct vn_setting *s)
{
    b->vnuma = s;
}
static void key_vnodes(struct vn_build *b, const struct vn_setting *s)
{
    b->vnodes = s;
}
static void key_vnumamem(struct vn_build *b, const struct vn_setting *s)
{
    b->vnumamem = s;
}
static void key_vdistance(struct vn_build *b, const struct vn_setting *s)
{
    b->vdistance = s;
}
static void key_vnuma_vcpumap(struct vn_build *b, const struct vn_setting *s)
{
    b->vcpumap = s;
}
static void key_vnuma_vnodemap(struct vn_build *b, const struct vn_setting *s)
{
    b->vnodemap = s;
}

static const struct {
    const char *name;
    void (*apply)(struct vn_build *b, const struct vn_setting *s);
} keys[] = {
    {"name", key_name},
    {"memory", key_memory},
    {"maxmem", key_maxmem},
    {"vcpus", key_vcpus},
    {"maxvcpus", key_maxvcpus},
    {"cpus", key_cpus},
    {"cpus_soft", key_cpus_soft},
    {"kernel", key_kernel},
    {"ramdisk", key_ramdisk},
    {"cmdline", key_cmdline},
    {"root", key_root},
    {"extra", key_extra},
    {"disk", vn_build_disks},
    {"vif", vn_build_vifs},
    {"pci", vn_build_pci},
    {"on_poweroff", key_on_poweroff},
    {"on_reboot", key_on_reboot},
    {"on_crash", key_on_crash},
    {"vnuma", key_vnuma},
    {"vnodes", key_vnodes},
    {"vnumamem", key_vnumamem},
    {"vdistance", key_vdistance},
    {"vnuma_vcpumap", key_vnuma_vcpumap},
    {"vnuma_vnodemap", key_vnuma_vnodemap},
    {"accel", key_accel},
    {"memory_policy", key_memory_policy},
    {"affinity_group", key_affinity_group},
    {"anti_affinity_group", key_anti_affinity_group},
    {"balance", key_balance},
    {"vnc", vn_build_vnc_key},
    {"vnclisten", vn_build_vnc_key},
    {"vncdisplay", vn_build_vnc_key},
    {"vncpasswd", vn_build_vnc_key},
    {"vnc_remote", vn_build_vnc_key},
};

const char *vn_known_key_name(size_t i)
{
    return i < VN_ARRAY_SIZE(keys) ? keys[i].name : NULL;
}

static void apply_setting(struct vn_build *b, const struct vn_setting *s)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(keys); i++) {
        if (strcmp(keys[i].name, s->key) == 0) {
            keys[i].apply(b, s);
            return;
        }
    }
    if (vn_key_is_xen_ignored(s->key)) {
        vn_build_warning(b, s->loc, s->key,
                         "'%s' is an xl key that vnuma does not use; it is ignored.", s->key);
        return;
    }
    const char *hint = vn_key_suggest(s->key);
    if (hint)
        vn_build_error(b, s->loc, s->key, "Unknown key '%s'; did you mean '%s'?", s->key, hint);
    else
        vn_build_error(b, s->loc, s->key, "Unknown key '%s'.", s->key);
}

/* xl's rule: cmdline wins over root and extra; otherwise "root=ROOT EXTRA". */
static void build_cmdline(struct vn_build *b)
{
    struct vn_vm_spec *spec = b->spec;
    if (b->cmdline) {
        spec->cmdline = vn_strdup_checked(b->cmdline->value->text);
        spec->loc.cmdline = b->cmdline->value->loc;
        spec->cmdline_key = "cmdline";
        if (b->root || b->extra) {
            const struct vn_setting *ignored = b->root ? b->root : b->extra;
            vn_build_warning(b, ignored->loc, ignored->key,
                             "'%s' is ignored because 'cmdline' is given (line %d), as in xl.",
                             ignored->key, b->cmdline->loc.line);
        }
        return;
    }
    if (!b->root && !b->extra)
        return;
    const char *root = b->root ? b->root->value->text : NULL;
    const char *extra = b->extra ? b->extra->value->text : NULL;
    size_t len = (root ? strlen(root) + 6 : 0) + (extra ? strlen(extra) + 1 : 0) + 1;
    spec->cmdline = malloc(len);
    if (!spec->cmdline)
        abort();
    snprintf(spec->cmdline, len, "%s%s%s%s", root ? "root=" : "", root ? root : "",
             root && extra ? " " : "", extra ? extra : "");
    spec->loc.cmdline = (b->root ? b->root : b->extra)->value->loc;
    spec->cmdline_key = b->root ? "root" : "extra";
}

static void build_defaults(struct vn_build *b)
{
    struct vn_vm_spec *spec = b->spec;
    if (!b->memory_set && !b->vnuma_gave_memory && b->maxmem_set)
        spec->memory_mib = spec->maxmem_mib; /* libxl: target defaults to the maximum */
    if (!b->maxmem_set && !b->vnuma_gave_memory)
        spec->maxmem_mib = spec->memory_mib;
    if (!b->vcpus_set && !b->vnuma_gave_vcpus)
        spec->vcpus = 1; /* xl's default */
    if (!b->maxvcpus_set && !b->vnuma_gave_vcpus)
        spec->maxvcpus = spec->vcpus;
}

static struct vn_vm_spec *spec_new(const char *name)
{
    struct vn_vm_spec *spec = calloc(1, sizeof *spec);
    if (!spec)
        return NULL;
    spec->file = vn_strdup_checked(name);
    spec->on_poweroff = VN_ACTION_DESTROY;
    spec->on_reboot = VN_ACTION_RESTART;
    spec->on_crash = VN_ACTION_DESTROY;
    spec->accel = VN_ACCEL_AUTO;
    spec->mempolicy = VN_MEMPOLICY_BIND;
    spec->balance = true;
    for (int i = 0; i < VN_MAX_VNODES; i++)
        spec->vnodes[i].pnode = -1;
    return spec;
}

/* size is the file's real size when known, else the limit plus one ("more than"). */
static void too_large_diag(struct vn_diags *diags, size_t size, bool known)
{
    if (known)
        vn_diags_add(diags, VN_DIAG_ERROR, (struct vn_loc){0}, "",
                     "The file is %zu bytes; configs are limited to %d bytes (1 MiB).", size,
                     VN_CONFIG_MAX_BYTES);
    else
        vn_diags_add(diags, VN_DIAG_ERROR, (struct vn_loc){0}, "",
                     "The file is more than %d bytes; configs are limited to %d bytes (1 MiB).",
                     VN_CONFIG_MAX_BYTES, VN_CONFIG_MAX_BYTES);
}

/* Parses and builds; returns the spec even when values had errors (NULL only for syntax
 * errors or a file too large), so that validation can still report what else is wrong. */
static struct vn_vm_spec *parse_any(const char *buf, size_t len, const char *name,
                                    struct vn_diags *diags)
{
    if (len > VN_CONFIG_MAX_BYTES) {
        too_large_diag(diags, len, true);
        return NULL;
    }
    struct vn_tokens toks;
    if (vn_lex(buf, len, &toks) < 0) {
        vn_tokens_free(&toks);
        vn_diags_add(diags, VN_DIAG_ERROR, (struct vn_loc){0}, "", "Out of memory.");
        return NULL;
    }
    struct vn_settings settings;
    int nerr = vn_parse_settings(&toks, &settings, diags);
    vn_tokens_free(&toks);
    if (nerr > 0) {
        vn_settings_free(&settings);
        return NULL;
    }
    struct vn_vm_spec *spec = spec_new(name);
    if (!spec) {
        vn_settings_free(&settings);
        vn_diags_add(diags, VN_DIAG_ERROR, (struct vn_loc){0}, "", "Out of memory.");
        return NULL;
    }
    struct vn_build b = {.spec = spec, .diags = diags};
    /* Past the error limit nothing more would be shown: stop spending time on the file. */
    for (int i = 0; i < settings.n && diags->nerrors <= VN_CONFIG_MAX_ERRORS; i++)
        apply_setting(&b, &settings.v[i]);
    if (settings.overflow.line > 0)
        vn_diags_add(diags, VN_DIAG_ERROR, settings.overflow, "",
                     "The file sets more than %d different keys; the keys from here on are not "
                     "checked.",
                     VN_CONFIG_MAX_KEYS);
    vn_build_vnuma(&b);
    build_defaults(&b);
    vn_build_vnuma_finish(&b);
    build_cmdline(&b);
    vn_build_vnc(&b);
    spec->parse_bad = b.bad;
    vn_settings_free(&settings);
    return spec;
}

struct vn_vm_spec *vn_config_parse_buf(const char *buf, size_t len, const char *name,
                                       struct vn_diags *diags)
{
    int before = diags->nerrors;
    struct vn_vm_spec *spec = parse_any(buf, len, name, diags);
    if (spec && diags->nerrors > before) {
        vn_spec_free(spec);
        return NULL;
    }
    return spec;
}

/* The file through the bounded reader; an oversized file is a diagnostic with its real size,
 * like the same buffer given to vn_config_parse_buf, while a file that cannot be read at all
 * (missing, a FIFO, a directory) is err.  Returns NULL in both cases. */
static char *read_config(const char *path, size_t *len, struct vn_diags *diags,
                         struct vn_error *err)
{
    char *buf;
    int rc = vn_file_read(path, VN_CONFIG_MAX_BYTES, "config", &buf, len, err);
    if (rc == VN_FILE_TOO_LARGE) {
        too_large_diag(diags, *len, !strstr(err->msg, "more than"));
        vn_error_clear(err);
        return NULL;
    }
    if (rc < 0) {
        /* The config module's messages are sentences. */
        err->msg[0] = (char)toupper((unsigned char)err->msg[0]);
        size_t n = strlen(err->msg);
        if (!err->errnum && n + 1 < sizeof err->msg)
            strcpy(err->msg + n, ".");
        return NULL;
    }
    return buf;
}

struct vn_vm_spec *vn_config_parse_file(const char *path, struct vn_diags *diags,
                                        struct vn_error *err)
{
    size_t len;
    VN_CLEANUP_FREE char *buf = read_config(path, &len, diags, err);
    if (!buf)
        return NULL;
    return vn_config_parse_buf(buf, len, path, diags);
}

struct vn_vm_spec *vn_config_load_buf(const char *buf, size_t len, const char *name,
                                      const struct vn_host_topo *host, struct vn_diags *diags)
{
    int before = diags->nerrors;
    struct vn_vm_spec *spec = parse_any(buf, len, name, diags);
    if (spec)
        vn_config_validate(spec, host, diags);
    if (spec && diags->nerrors > before) {
        vn_spec_free(spec);
        return NULL;
    }
    return spec;
}

struct vn_vm_spec *vn_config_load_file(const char *path, const struct vn_host_topo *host,
                                       struct vn_diags *diags, struct vn_error *err)
{
    size_t len;
    VN_CLEANUP_FREE char *buf = read_config(path, &len, diags, err);
    if (!buf)
        return NULL;
    return vn_config_load_buf(buf, len, path, host, diags);
}

static void affinity_free(struct vn_affinity *a)
{
    for (int i = 0; i < a->nsets; i++)
        free(a->text ? a->text[i] : NULL);
    free(a->text);
    free(a->sets);
}

void vn_spec_free(struct vn_vm_spec *spec)
{
    if (!spec)
        return;
    free(spec->file);
    free(spec->name);
    affinity_free(&spec->cpus);
    affinity_free(&spec->cpus_soft);
    free(spec->kernel);
    free(spec->ramdisk);
    free(spec->cmdline);
    for (int i = 0; i < spec->ndisks; i++) {
        free(spec->disks[i].spec);
        free(spec->disks[i].target);
        free(spec->disks[i].vdev);
        free(spec->disks[i].format);
    }
    free(spec->disks);
    for (int i = 0; i < spec->nvifs; i++)
        vn_vif_clear(&spec->vifs[i]);
    free(spec->vifs);
    for (int i = 0; i < spec->npci; i++)
        free(spec->pci[i]);
    free(spec->pci);
    free(spec->affinity_group);
    free(spec->anti_affinity_group);
    free(spec->vnc.listen);
    free(spec->vnc.password);
    free(spec);
}

void vn_spec_freep(struct vn_vm_spec **spec)
{
    vn_spec_free(*spec);
    *spec = NULL;
}
