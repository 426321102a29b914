/* The whole QEMU command line of a domain: the NUMA part from render/, plus the machine, the
 * accelerator, the console and QMP sockets in the runtime dir, the boot files and disks.
 * Every element is one execve() argument; nothing goes through a shell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/net.h"
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

/* One disk as a -drive (the image, its format always given, never probed by QEMU) and the
 * guest device in front of it: virtio-blk for disks, an IDE CD-ROM on AHCI port N for
 * CD-ROMs.  The ids carry the vdev (validated: letters and digits), so QMP's query-block
 * names each drive as the config does; serial= makes it /dev/disk/by-id/virtio-VDEV. */
static void add_disk(struct vn_strv *a, const struct vn_disk *d, int index, int port, int bootindex)
{
    struct vn_vdev parsed;
    char vdev[16];
    if (d->vdev && vn_vdev_parse(d->vdev, &parsed) == 0)
        snprintf(vdev, sizeof vdev, "%s", d->vdev);
    else
        snprintf(vdev, sizeof vdev, "disk%d", index); /* only specs that skipped validation */
    char *file = d->target ? opt_escape(d->target) : NULL;
    /* xl's "vhd" is QEMU's "vpc" driver */
    const char *format = d->format ? d->format : "raw";
    char *fmt = opt_escape(strcmp(format, "vhd") == 0 ? "vpc" : format);
    if ((d->target && !file) || !fmt) {
        a->oom = true;
        free(file);
        free(fmt);
        return;
    }
    vn_strv_addf(a, "-drive");
    if (!file)
        vn_strv_addf(a, "if=none,id=drive-%s,media=cdrom,readonly=on", vdev);
    else if (d->cdrom)
        vn_strv_addf(a, "if=none,id=drive-%s,file=%s,format=%s,media=cdrom,readonly=on", vdev, file,
                     fmt);
    else
        vn_strv_addf(a, "if=none,id=drive-%s,file=%s,format=%s,readonly=%s", vdev, file, fmt,
                     d->readonly ? "on" : "off");
    char boot[24] = "";
    if (bootindex > 0)
        snprintf(boot, sizeof boot, ",bootindex=%d", bootindex);
    vn_strv_addf(a, "-device");
    if (d->cdrom)
        vn_strv_addf(a, "ide-cd,drive=drive-%s,id=%s,bus=ide.%d%s", vdev, vdev, port, boot);
    else
        vn_strv_addf(a, "virtio-blk-pci,drive=drive-%s,id=%s,serial=%s%s", vdev, vdev, vdev, boot);
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
    /* -nodefaults took the default VGA: a VNC display needs one. */
    vn_strv_addf(a, "-vga");
    vn_strv_addf(a, "std");
    vn_strv_addf(a, "-vnc");
    if (v->listen)
        vn_strv_addf(a, "%s:%d%s", v->listen, v->display, auth);
    else
        vn_strv_addf(a, "unix:%s%s", paths->vnc, auth);
}

/* One guest NIC: its netdev (the tap vnuma made, or QEMU's user-mode network) and its
 * device with the vif's MAC.  romfile= is empty: vnuma boots a kernel or a disk, never PXE,
 * and QEMU would refuse a NIC whose option ROM is not installed. */
static void add_nic(struct vn_strv *a, const struct vn_vm_spec *spec, int i,
                    const struct vn_tap *tap)
{
    const struct vn_vif *v = &spec->vifs[i];
    char mac[VN_VIF_MAC_LEN];
    if (v->mac)
        snprintf(mac, sizeof mac, "%s", v->mac);
    else
        vn_vif_mac(spec->name ? spec->name : "", v->devid, mac);
    vn_strv_addf(a, "-netdev");
    if (v->type == VN_VIF_USER)
        vn_strv_addf(a, "user,id=net%d", v->devid);
    else if (!tap || tap->fd < 0)
        vn_strv_addf(a, "tap,id=net%d,fd=TAP", v->devid); /* a dry run: no tap yet */
    else if (tap->vhost_fd >= 0)
        vn_strv_addf(a, "tap,id=net%d,fd=%d,vhost=on,vhostfd=%d", v->devid, tap->fd, tap->vhost_fd);
    else
        vn_strv_addf(a, "tap,id=net%d,fd=%d", v->devid, tap->fd);
    static const char *const dev[] = {
        [VN_VIF_VIRTIO] = "virtio-net-pci", [VN_VIF_E1000] = "e1000", [VN_VIF_RTL8139] = "rtl8139"};
    vn_strv_addf(a, "-device");
    vn_strv_addf(a, "%s,netdev=net%d,mac=%s,romfile=", dev[v->model], v->devid, mac);
}

char **vn_dom_qemu_argv(const char *binary, const struct vn_vm_spec *spec,
                        const struct vn_placement *p, const struct vn_accel_result *accel,
                        const struct vn_dom_paths *paths, const struct vn_tap *taps,
                        const char *kernel, const char *initrd, const char *cmdline,
                        struct vn_error *err)
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
    /* Confined: a seccomp filter that refuses obsolete calls, privilege changes, spawning
     * (fork/exec) and its own affinity/priority (vnuma sets those from outside); no device
     * and no config file vnuma did not ask for. */
    vn_strv_addf(&a, "-sandbox");
    vn_strv_addf(&a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    vn_strv_addf(&a, "-nodefaults");
    vn_strv_addf(&a, "-no-user-config");
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
    /* One NIC per vif, in devid order; none at all without a vif. */
    for (int i = 0; i < spec->nvifs; i++)
        add_nic(&a, spec, i, taps ? &taps[i] : NULL);
    if (spec->nvifs == 0) {
        vn_strv_addf(&a, "-nic");
        vn_strv_addf(&a, "none");
    }
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
    /* In the order the guest will name them (config/vdev.c): virtio disks get vda, vdb, ...
     * in PCI order, which is this order.  Without a kernel the firmware boots them in this
     * order too, disks before CD-ROMs: xl's default boot order "cd". */
    struct vn_disk_map *map = malloc(sizeof *map);
    if (!map) {
        a.oom = true;
    } else {
        vn_disk_map_build(spec, map);
        for (int r = 0; r < map->n; r++)
            add_disk(&a, &spec->disks[map->order[r]], map->order[r], map->port[map->order[r]],
                     kernel ? 0 : r + 1);
        free(map);
    }
    /* Paused until every vCPU thread is on its CPUs: a guest must not first-touch its memory
     * from the wrong node. */
    vn_strv_addf(&a, "-S");
    char **argv = vn_strv_take(&a);
    if (!argv)
        vn_error_set(err, "out of memory building the QEMU command line.");
    return argv;
}
