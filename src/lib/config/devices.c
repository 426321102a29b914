/* Device keys: disk (xl-disk-configuration(5)), vif (xl-network-configuration(5)) and pci.
 *
 * The disk grammar is xl's (libxlu_disk_l.l): comma-separated positional parameters target,
 * format, vdev, access; key=value parameters in any order; bare flags; "target=" last, taking
 * the rest of the string; and the deprecated "phy:", "file:", "raw:", "tap:aio:" prefixes,
 * after which the format position is skipped so that "phy:/dev/vg/lv,xvda,w" means what it
 * always did.  Xen-only parameters (backend domains, block scripts, COLO) parse but are
 * reported as ignored: QEMU opens the target itself. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "util/cleanup.h"

struct disk_parse {
    struct vn_build *b;
    const char *key;
    struct vn_loc loc;
    struct vn_disk *d;
    char *target, *format, *vdev;
    bool access_set, had_prefix, bad;
    bool format_written; /* a format other than "" (which means the default) */
};

static void disk_error(struct disk_parse *dp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void disk_error(struct disk_parse *dp, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vn_build_error(dp->b, dp->loc, dp->key, "Disk '%.100s': %s", dp->d->spec, msg);
    dp->bad = true;
}

static void disk_ignored(struct disk_parse *dp, const char *what)
{
    vn_build_warning(dp->b, dp->loc, dp->key,
                     "Disk '%.100s': '%s' is a Xen setting that vnuma does not honour; it is "
                     "ignored.",
                     dp->d->spec, what);
}

/* xl lets an empty value stand for "default" and refuses to set a non-empty one twice. */
static void save(struct disk_parse *dp, const char *what, char **field, const char *value)
{
    if (*field && **field) {
        disk_error(dp, "%s is given twice ('%s' and '%s').", what, *field, value);
        return;
    }
    free(*field);
    *field = vn_strdup_checked(value);
}

static const char *const formats[] = {"raw", "qcow", "qcow2", "vhd", "qed", "empty"};

static void set_format(struct disk_parse *dp, const char *value)
{
    const char *v = *value ? value : "raw";
    bool known = false;
    for (size_t i = 0; i < VN_ARRAY_SIZE(formats); i++)
        known |= strcmp(v, formats[i]) == 0;
    if (!known) {
        const char *hint = vn_did_you_mean(v, formats, VN_ARRAY_SIZE(formats));
        if (hint)
            disk_error(dp, "Unknown format '%s'; did you mean '%s'?", v, hint);
        else
            disk_error(dp, "Unknown format '%s' (raw, qcow, qcow2, vhd, qed or empty).", v);
        return;
    }
    if (dp->format && strcmp(dp->format, v) != 0) {
        disk_error(dp, "The format is given twice ('%s' and '%s').", dp->format, v);
        return;
    }
    free(dp->format);
    dp->format = vn_strdup_checked(v);
    dp->format_written |= *value != '\0';
}

static void set_access(struct disk_parse *dp, const char *value)
{
    if (strcmp(value, "r") == 0 || strcmp(value, "ro") == 0)
        dp->d->readonly = true;
    else if (strcmp(value, "w") == 0 || strcmp(value, "rw") == 0 || !*value)
        dp->d->readonly = false;
    else
        disk_error(dp, "Unknown access '%s' (ro, r, rw or w).", value);
    dp->access_set = true;
}

/* "hdc:cdrom", the deprecated way to give the device type with the vdev.  Returns true when
 * value had that form. */
static bool vdev_and_devtype(struct disk_parse *dp, const char *value)
{
    const char *colon = strrchr(value, ':');
    if (!colon)
        return false;
    char *vdev = strndup(value, (size_t)(colon - value));
    if (!vdev)
        abort();
    save(dp, "The vdev", &dp->vdev, vdev);
    free(vdev);
    if (strcmp(colon + 1, "cdrom") == 0)
        dp->d->cdrom = true;
    else if (strcmp(colon + 1, "disk") == 0)
        dp->d->cdrom = false;
    else
        disk_error(dp, "Unknown device type '%s' after the vdev.", colon + 1);
    return true;
}

/* Consumes one deprecated "prefix:" at *p; returns false when there is none. */
static bool deprecated_prefix(struct disk_parse *dp, const char **p)
{
    static const char *const ignored[] = {
        "tapdisk:", "tap:", "tap2:", "aio:", "ioemu:", "file:", "phy:"};
    static const char *const fmts[] = {"raw:", "qcow:", "qcow2:", "vhd:"};
    static const char *const scripts[] = {"iscsi:", "nbd:", "enbd:", "drbd:"};
    for (size_t i = 0; i < VN_ARRAY_SIZE(ignored); i++) {
        if (strncmp(*p, ignored[i], strlen(ignored[i])) == 0) {
            *p += strlen(ignored[i]);
            dp->had_prefix = true;
            return true;
        }
    }
    for (size_t i = 0; i < VN_ARRAY_SIZE(fmts); i++) {
        size_t n = strlen(fmts[i]);
        if (strncmp(*p, fmts[i], n) == 0) {
            char f[8];
            snprintf(f, sizeof f, "%.*s", (int)n - 1, fmts[i]);
            set_format(dp, f);
            *p += n;
            dp->had_prefix = true;
            return true;
        }
    }
    for (size_t i = 0; i < VN_ARRAY_SIZE(scripts); i++) {
        size_t n = strlen(scripts[i]);
        if (strncmp(*p, scripts[i], n) == 0) {
            char what[32];
            snprintf(what, sizeof what, "%.*s (block script)", (int)n, scripts[i]);
            disk_ignored(dp, what);
            *p += n;
            dp->had_prefix = true;
            return true;
        }
    }
    /* xl: a lower-case word and ':' followed by nothing or by something that is not a letter
     * or digit is an unknown prefix ("foo:/path"), while "hdc:cdrom" is a value. */
    const char *q = *p;
    if (islower((unsigned char)*q)) {
        while (islower((unsigned char)*q) || isdigit((unsigned char)*q))
            q++;
        if (*q == ':' && !isalnum((unsigned char)q[1])) {
            disk_error(dp, "Unknown deprecated prefix '%.*s'.", (int)(q - *p + 1), *p);
            *p = q + 1;
            return true;
        }
    }
    return false;
}

static void positional(struct disk_parse *dp, const char *value)
{
    if (!dp->target) {
        dp->target = vn_strdup_checked(value);
    } else if (!dp->had_prefix && !dp->format) {
        if (!*dp->target && vdev_and_devtype(dp, value))
            set_format(dp, "empty");
        else
            set_format(dp, value);
    } else if (!dp->vdev) {
        if (!vdev_and_devtype(dp, value))
            save(dp, "The vdev", &dp->vdev, value);
    } else if (!dp->access_set) {
        set_access(dp, value);
    } else {
        disk_error(dp, "Too many positional parameters at '%s'.", value);
    }
}

static void key_value(struct disk_parse *dp, const char *param, const char *value)
{
    size_t klen = (size_t)(value - 1 - param);
    char key[32];
    snprintf(key, sizeof key, "%.*s", (int)(klen < sizeof key ? klen : sizeof key - 1), param);
    static const char *const xen_only[] = {"backend",     "script",      "colo-host",  "colo-port",
                                           "colo-export", "active-disk", "hidden-disk"};
    if (strcmp(key, "format") == 0) {
        set_format(dp, value);
    } else if (strcmp(key, "vdev") == 0) {
        save(dp, "The vdev", &dp->vdev, value);
    } else if (strcmp(key, "access") == 0) {
        set_access(dp, value);
    } else if (strcmp(key, "devtype") == 0) {
        if (strcmp(value, "cdrom") == 0)
            dp->d->cdrom = true;
        else if (strcmp(value, "disk") == 0)
            dp->d->cdrom = false;
        else
            disk_error(dp, "Unknown devtype '%s' (disk or cdrom).", value);
    } else if (strcmp(key, "backendtype") == 0) {
        if (strcmp(value, "phy") && strcmp(value, "tap") && strcmp(value, "qdisk") &&
            strcmp(value, "standalone"))
            disk_error(dp, "Unknown backendtype '%s'.", value);
        else
            disk_ignored(dp, param);
    } else if (strcmp(key, "specification") == 0) {
        if (strcmp(value, "xen") && strcmp(value, "virtio"))
            disk_error(dp, "Unknown specification '%s' (xen or virtio).", value);
        else
            disk_ignored(dp, param);
    } else if (strcmp(key, "grant_usage") == 0 && (!strcmp(value, "0") || !strcmp(value, "1"))) {
        disk_ignored(dp, param);
    } else {
        for (size_t i = 0; i < VN_ARRAY_SIZE(xen_only); i++) {
            if (strcmp(key, xen_only[i]) == 0) {
                disk_ignored(dp, param);
                return;
            }
        }
        disk_error(dp, "Unknown parameter '%s'.", param);
    }
}

static bool flag(struct disk_parse *dp, const char *param)
{
    static const char *const xen_flags[] = {"direct-io-safe", "discard", "no-discard", "colo",
                                            "no-colo",        "trusted", "untrusted"};
    if (strcmp(param, "cdrom") == 0) {
        dp->d->cdrom = true;
        return true;
    }
    for (size_t i = 0; i < VN_ARRAY_SIZE(xen_flags); i++) {
        if (strcmp(param, xen_flags[i]) == 0) {
            disk_ignored(dp, param);
            return true;
        }
    }
    return false;
}

void vn_build_disk(struct vn_build *b, const char *key, const struct vn_cv *v, struct vn_disk *d)
{
    struct disk_parse dp = {.b = b, .key = key, .loc = v->loc, .d = d};
    d->loc = v->loc;
    d->spec = vn_strdup_checked(v->text);
    const char *p = v->text;
    while (*p && !dp.bad) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (strncmp(p, "target=", 7) == 0) {
            /* the rest of the string, so that a path may hold commas */
            char *t = vn_strdup_checked(p + 7);
            size_t n = strlen(t);
            if (n && t[n - 1] == ',')
                t[n - 1] = '\0';
            save(&dp, "The target", &dp.target, t);
            free(t);
            break;
        }
        if (deprecated_prefix(&dp, &p))
            continue;
        size_t n = strcspn(p, ",");
        char *param = strndup(p, n);
        if (!param)
            abort();
        p += n + (p[n] == ',');
        char *eq = strchr(param, '=');
        if (eq)
            key_value(&dp, param, eq + 1);
        else if (!flag(&dp, param))
            positional(&dp, param);
        free(param);
    }
    if (dp.target && *dp.target)
        d->target = VN_STEAL(dp.target);
    d->vdev = dp.vdev && *dp.vdev ? VN_STEAL(dp.vdev) : NULL;
    d->format_given = dp.format_written;
    if (dp.format)
        d->format = VN_STEAL(dp.format);
    else
        d->format = vn_strdup_checked(d->cdrom && !d->target ? "empty" : "raw");
    /* a CD-ROM is read-only whatever access says: xl's manual treats ",,hdc,,cdrom" (empty
     * access, which means rw) as equal to "access=ro, devtype=cdrom" */
    if (d->cdrom)
        d->readonly = true;
    free(dp.target);
    free(dp.vdev);
    free(dp.format);
}

void vn_build_disks(struct vn_build *b, const struct vn_setting *s)
{
    const struct vn_cv *v = s->value;
    if (v->kind != VN_CV_LIST) {
        vn_build_error(b, v->loc, s->key, "Expected a list of disk specs, e.g. [ '%.64s' ].",
                       v->text);
        return;
    }
    if (v->n > VN_MAX_DEVICES) {
        vn_build_error(b, v->loc, s->key, "%d disks are given; at most %d are allowed.", v->n,
                       VN_MAX_DEVICES);
        return;
    }
    struct vn_vm_spec *spec = b->spec;
    spec->disks = calloc((size_t)v->n + 1, sizeof *spec->disks);
    if (!spec->disks)
        abort();
    for (int i = 0; i < v->n; i++) {
        if (v->items[i]->kind == VN_CV_LIST) {
            vn_build_error(b, v->items[i]->loc, s->key, "Disk %d is a list; expected a string.", i);
            continue;
        }
        /* a disk that did not parse is dropped, so validation does not add to its error */
        struct vn_disk *d = &spec->disks[spec->ndisks];
        int before = b->diags->nerrors;
        vn_build_disk(b, s->key, v->items[i], d);
        if (b->diags->nerrors == before) {
            spec->ndisks++;
        } else {
            free(d->spec);
            free(d->target);
            free(d->vdev);
            free(d->format);
            memset(d, 0, sizeof *d);
        }
    }
}

/* ---- vif (vif.c parses one string) ---- */

struct vif_warn {
    struct vn_build *b;
    const char *key;
    const struct vn_cv *v;
};

static void vif_warning(void *ctx, const char *param)
{
    struct vif_warn *w = ctx;
    vn_build_warning(w->b, w->v->loc, w->key,
                     "Vif '%.100s': '%s' is a Xen setting that vnuma does not honour; it is "
                     "ignored.",
                     w->v->text, param);
}

static int vif_cmp(const void *a, const void *b)
{
    const struct vn_vif *x = a, *y = b;
    return (x->devid > y->devid) - (x->devid < y->devid);
}

/* Two vifs may not share a devid, a tap name or a MAC. */
static void check_vif_pairs(struct vn_build *b, const char *key, const struct vn_vm_spec *spec)
{
    for (int i = 0; i < spec->nvifs; i++) {
        const struct vn_vif *x = &spec->vifs[i];
        for (int j = 0; j < i; j++) {
            const struct vn_vif *y = &spec->vifs[j];
            if (x->devid == y->devid)
                vn_build_error(b, x->loc, key, "Vif '%.100s' has devid %d like vif '%.100s'.",
                               x->spec, x->devid, y->spec);
            else if (x->vifname && y->vifname && strcmp(x->vifname, y->vifname) == 0)
                vn_build_error(b, x->loc, key, "Vif '%.100s' has vifname '%s' like vif '%.100s'.",
                               x->spec, x->vifname, y->spec);
            else if (x->mac && y->mac && strcmp(x->mac, y->mac) == 0)
                vn_build_error(b, x->loc, key, "Vif '%.100s' has mac %s like vif '%.100s'.",
                               x->spec, x->mac, y->spec);
        }
    }
}

void vn_build_vifs(struct vn_build *b, const struct vn_setting *s)
{
    const struct vn_cv *v = s->value;
    if (v->kind != VN_CV_LIST) {
        vn_build_error(b, v->loc, s->key, "Expected a list of vif specs, e.g. [ '%.64s' ].",
                       v->text);
        return;
    }
    if (v->n > VN_MAX_DEVICES) {
        vn_build_error(b, v->loc, s->key, "%d vifs are given; at most %d are allowed.", v->n,
                       VN_MAX_DEVICES);
        return;
    }
    struct vn_vm_spec *spec = b->spec;
    spec->vifs = calloc((size_t)v->n + 1, sizeof *spec->vifs);
    if (!spec->vifs)
        abort();
    for (int i = 0; i < v->n; i++) {
        const struct vn_cv *item = v->items[i];
        if (item->kind == VN_CV_LIST) {
            vn_build_error(b, item->loc, s->key, "Vif %d is a list; expected a string.", i);
            continue;
        }
        struct vif_warn w = {.b = b, .key = s->key, .v = item};
        struct vn_error err = {0};
        struct vn_vif *vif = &spec->vifs[spec->nvifs];
        if (vn_vif_parse(item->text, i, vif, vif_warning, &w, &err) < 0) {
            vn_build_error(b, item->loc, s->key, "Vif '%.100s': %s", item->text, err.msg);
            continue;
        }
        vif->loc = item->loc;
        spec->nvifs++;
    }
    check_vif_pairs(b, s->key, spec);
    qsort(spec->vifs, (size_t)spec->nvifs, sizeof *spec->vifs, vif_cmp);
}

/* ---- pci ---- */

/* Reads exactly ndigits hex digits (1..maxdigits when ndigits is 0) at *p. */
static int hex_field(const char **p, int mindigits, int maxdigits, unsigned *out)
{
    unsigned v = 0;
    int n = 0;
    while (n < maxdigits && isxdigit((unsigned char)**p)) {
        char c = (char)tolower((unsigned char)**p);
        v = v * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
        (*p)++;
        n++;
    }
    if (n < mindigits || isxdigit((unsigned char)**p))
        return -1;
    *out = v;
    return 0;
}

int vn_pci_parse(const char *text, char *addr, size_t len, struct vn_error *err)
{
    const char *p = text;
    unsigned dom = 0, bus, dev, fn = 0;
    bool all_fn = false;
    /* a domain is there when the text has two ':' before the '.' */
    const char *dot = strchr(p, '.');
    int colons = 0;
    for (const char *q = p; *q && (!dot || q < dot); q++)
        colons += *q == ':';
    if (colons == 2 && (hex_field(&p, 1, 4, &dom) < 0 || *p++ != ':'))
        goto bad;
    if (hex_field(&p, 1, 2, &bus) < 0 || *p++ != ':')
        goto bad;
    if (hex_field(&p, 1, 2, &dev) < 0 || dev > 0x1f || *p++ != '.')
        goto bad;
    if (*p == '*') {
        all_fn = true;
        p++;
    } else if (*p >= '0' && *p <= '7') {
        fn = (unsigned)(*p++ - '0');
    } else {
        goto bad;
    }
    if (*p == '@') { /* virtual slot: Xen's guest PCI layout, QEMU chooses its own */
        unsigned slot;
        p++;
        if (hex_field(&p, 1, 2, &slot) < 0)
            goto bad;
    }
    if (*p && *p != ',')
        goto bad;
    if (all_fn)
        snprintf(addr, len, "%04x:%02x:%02x.*", dom, bus, dev);
    else
        snprintf(addr, len, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
    return 0;
bad:
    return vn_error_set(err, "'%.64s' is not a PCI address like '0000:03:00.0' or '03:00.0'.",
                        text);
}

void vn_build_pci(struct vn_build *b, const struct vn_setting *s)
{
    const struct vn_cv *v = s->value;
    if (v->kind != VN_CV_LIST) {
        vn_build_error(b, v->loc, s->key, "Expected a list of PCI addresses, e.g. [ '%.64s' ].",
                       v->text);
        return;
    }
    if (v->n > VN_MAX_DEVICES) {
        vn_build_error(b, v->loc, s->key, "%d PCI devices are given; at most %d are allowed.", v->n,
                       VN_MAX_DEVICES);
        return;
    }
    struct vn_vm_spec *spec = b->spec;
    spec->loc.pci = v->loc;
    spec->pci = calloc((size_t)v->n + 1, sizeof *spec->pci);
    if (!spec->pci)
        abort();
    for (int i = 0; i < v->n; i++) {
        const struct vn_cv *item = v->items[i];
        if (item->kind == VN_CV_LIST) {
            vn_build_error(b, item->loc, s->key, "Entry %d is a list; expected a string.", i);
            continue;
        }
        char addr[32];
        struct vn_error err = {0};
        if (vn_pci_parse(item->text, addr, sizeof addr, &err) < 0) {
            vn_build_error(b, item->loc, s->key, "%s", err.msg);
            continue;
        }
        if (strchr(item->text, '@') || strchr(item->text, ','))
            vn_build_warning(b, item->loc, s->key,
                             "'%.64s': the virtual slot and options are Xen settings that "
                             "vnuma does not honour; they are ignored.",
                             item->text);
        spec->pci[spec->npci++] = vn_strdup_checked(addr);
    }
}
