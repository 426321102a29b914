/* The whole QEMU command line of a domain: the NUMA part from render/, plus the machine, the
 * accelerator, the console and QMP sockets in the runtime dir, the boot files and disks.
 * Every element is one execve() argument; nothing goes through a shell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../qemu/accel.h"
#include "../render/render.h"
#include "../util/strv.h"
#include "domain_int.h"
#include "life.h"

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

static void add_disk(struct vn_strv *a, const struct vn_disk *d)
{
    if (d->cdrom && !d->target) {
        vn_strv_addf(a, "-drive");
        vn_strv_addf(a, "if=ide,media=cdrom");
        return;
    }
    char *file = opt_escape(d->target);
    char *fmt = opt_escape(d->format ? d->format : "raw");
    if (!file || !fmt) {
        a->oom = true;
    } else {
        vn_strv_addf(a, "-drive");
        if (d->cdrom)
            vn_strv_addf(a, "file=%s,format=%s,if=ide,media=cdrom,readonly=on", file, fmt);
        else
            vn_strv_addf(a, "file=%s,format=%s,if=virtio,readonly=%s", file, fmt,
                         d->readonly ? "on" : "off");
    }
    free(file);
    free(fmt);
}

/* VNC as the spec asks: the runtime dir's socket or loopback TCP; password=on makes QEMU
 * refuse clients until create sets the password over QMP (never on the command line). */
static void add_vnc(struct vn_strv *a, const struct vn_vnc *v, const struct vn_dom_paths *paths)
{
    if (!v->enabled)
        return;
    const char *auth = v->has_password ? ",password=on" : "";
    vn_strv_addf(a, "-vnc");
    if (v->listen)
        vn_strv_addf(a, "%s:%d%s", v->listen, v->display, auth);
    else
        vn_strv_addf(a, "unix:%s%s", paths->vnc, auth);
}

char **vn_dom_qemu_argv(const char *binary, const struct vn_vm_spec *spec,
                        const struct vn_placement *p, const struct vn_accel_result *accel,
                        const struct vn_dom_paths *paths, const char *kernel, const char *initrd,
                        const char *cmdline, struct vn_error *err)
{
    char **numa = vn_render_qemu_argv(p, paths->mem, err);
    if (!numa)
        return NULL;
    struct vn_strv a = {0};
    vn_strv_addf(&a, "%s", binary);
    vn_strv_addf(&a, "-name");
    vn_strv_addf(&a, "%s,debug-threads=on", spec->name);
    vn_strv_addf(&a, "-machine");
    vn_strv_addf(&a, "q35");
    const char *acc[5];
    vn_accel_qemu_args(accel, acc);
    for (const char **x = acc; *x; x++)
        vn_strv_addf(&a, "%s", *x);
    for (char **x = numa; *x; x++)
        vn_strv_addf(&a, "%s", *x);
    vn_argv_free(numa);
    vn_strv_addf(&a, "-display");
    vn_strv_addf(&a, "none");
    add_vnc(&a, &spec->vnc, paths);
    vn_strv_addf(&a, "-monitor");
    vn_strv_addf(&a, "none");
    vn_strv_addf(&a, "-chardev");
    vn_strv_addf(&a, "socket,id=con0,path=%s,server=on,wait=off,logfile=%s", paths->console,
                 paths->console_log);
    vn_strv_addf(&a, "-serial");
    vn_strv_addf(&a, "chardev:con0");
    vn_strv_addf(&a, "-qmp");
    vn_strv_addf(&a, "unix:%s,server=on,wait=off", paths->qmp);
    /* The watcher's own QMP socket, so the CLI's stays free; QEMU reports a guest's power-off,
     * reboot and crash there and acts as the on_* keys need (life.h). */
    vn_strv_addf(&a, "-qmp");
    vn_strv_addf(&a, "unix:%s,server=on,wait=off", paths->watch);
    /* Networking is not wired yet: the config parser warns that vif is ignored. */
    vn_strv_addf(&a, "-nic");
    vn_strv_addf(&a, "none");
    char action[128];
    vn_life_qemu_action(spec, action, sizeof action);
    vn_strv_addf(&a, "-action");
    vn_strv_addf(&a, "%s", action);
    /* A guest kernel's panic becomes a GUEST_PANICKED event (Linux: the pvpanic driver). */
    vn_strv_addf(&a, "-device");
    vn_strv_addf(&a, "pvpanic");
    if (kernel) {
        vn_strv_addf(&a, "-kernel");
        vn_strv_addf(&a, "%s", kernel);
    }
    if (initrd) {
        vn_strv_addf(&a, "-initrd");
        vn_strv_addf(&a, "%s", initrd);
    }
    if (cmdline && kernel) {
        vn_strv_addf(&a, "-append");
        vn_strv_addf(&a, "%s", cmdline);
    }
    for (int i = 0; i < spec->ndisks; i++)
        add_disk(&a, &spec->disks[i]);
    /* Paused until every vCPU thread is on its CPUs: a guest must not first-touch its memory
     * from the wrong node. */
    vn_strv_addf(&a, "-S");
    char **argv = vn_strv_take(&a);
    if (!argv)
        vn_error_set(err, "out of memory building the QEMU command line.");
    return argv;
}
