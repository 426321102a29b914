/* The whole QEMU command line of a domain: the NUMA part from render/, plus the machine, the
 * accelerator, the console and QMP sockets in the runtime dir, the boot files and disks.
 * Every element is one execve() argument; nothing goes through a shell. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../qemu/accel.h"
#include "../render/render.h"
#include "domain_int.h"

struct args {
    char **v;
    int n, cap;
    bool oom;
};

static void add(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct args *a, const char *fmt, ...)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->v, sizeof *v * cap);
        if (!v) {
            a->oom = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&a->v[a->n], fmt, ap);
    va_end(ap);
    if (r < 0) {
        a->oom = true;
        return;
    }
    a->v[++a->n] = NULL;
}

/* A value inside a QEMU option list: ',' is the separator and is written ",,". */
static char *opt_escape(const char *s)
{
    size_t extra = 0;
    for (const char *c = s; *c; c++)
        extra += *c == ',';
    char *out = malloc(strlen(s) + extra + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *c = s; *c; c++) {
        *w++ = *c;
        if (*c == ',')
            *w++ = ',';
    }
    *w = '\0';
    return out;
}

static void add_disk(struct args *a, const struct vn_disk *d)
{
    if (d->cdrom && !d->target) {
        add(a, "-drive");
        add(a, "if=ide,media=cdrom");
        return;
    }
    char *file = opt_escape(d->target);
    char *fmt = opt_escape(d->format ? d->format : "raw");
    if (!file || !fmt) {
        a->oom = true;
    } else {
        add(a, "-drive");
        if (d->cdrom)
            add(a, "file=%s,format=%s,if=ide,media=cdrom,readonly=on", file, fmt);
        else
            add(a, "file=%s,format=%s,if=virtio,readonly=%s", file, fmt,
                d->readonly ? "on" : "off");
    }
    free(file);
    free(fmt);
}

char **vn_dom_qemu_argv(const char *binary, const struct vn_vm_spec *spec,
                        const struct vn_placement *p, enum vn_accel accel,
                        const struct vn_dom_paths *paths, const char *kernel, const char *initrd,
                        const char *cmdline, struct vn_error *err)
{
    char **numa = vn_render_qemu_argv(p, paths->mem, err);
    if (!numa)
        return NULL;
    struct args a = {0};
    add(&a, "%s", binary);
    add(&a, "-name");
    add(&a, "%s,debug-threads=on", spec->name);
    add(&a, "-machine");
    add(&a, "q35");
    for (const char *const *x = vn_accel_qemu_args(accel); *x; x++)
        add(&a, "%s", *x);
    for (char **x = numa; *x; x++)
        add(&a, "%s", *x);
    vn_argv_free(numa);
    add(&a, "-display");
    add(&a, "none");
    add(&a, "-monitor");
    add(&a, "none");
    add(&a, "-chardev");
    add(&a, "socket,id=con0,path=%s,server=on,wait=off,logfile=%s", paths->console,
        paths->console_log);
    add(&a, "-serial");
    add(&a, "chardev:con0");
    add(&a, "-qmp");
    add(&a, "unix:%s,server=on,wait=off", paths->qmp);
    /* Networking is not wired yet: the config parser warns that vif is ignored. */
    add(&a, "-nic");
    add(&a, "none");
    if (spec->on_reboot == VN_ACTION_DESTROY)
        add(&a, "-no-reboot");
    if (kernel) {
        add(&a, "-kernel");
        add(&a, "%s", kernel);
    }
    if (initrd) {
        add(&a, "-initrd");
        add(&a, "%s", initrd);
    }
    if (cmdline && kernel) {
        add(&a, "-append");
        add(&a, "%s", cmdline);
    }
    for (int i = 0; i < spec->ndisks; i++)
        add_disk(&a, &spec->disks[i]);
    /* Paused until every vCPU thread is on its CPUs: a guest must not first-touch its memory
     * from the wrong node. */
    add(&a, "-S");
    if (a.oom) {
        vn_argv_free(a.v);
        vn_error_set(err, "out of memory building the QEMU command line.");
        return NULL;
    }
    return a.v;
}
