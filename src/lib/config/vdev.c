/* Xen disk names (vdev) and the names the KVM guest gives the same disks.
 *
 * Xen names a disk xvdX, hdX or sdX (X = a..z, then aa..), optionally with a partition
 * number (xl-disk-configuration(5), "vdev").  Under vnuma every disk that is not a CD-ROM is
 * a virtio-blk device, and Linux names those vda, vdb, ... in the order it finds them, which
 * is their PCI order, which is the order of the -device options.  So the guest's name of a
 * disk is its rank, not its letter: the argv lists disks sorted by (disk number, partition,
 * position in the config), and the k-th gets vd<k>.  CD-ROMs are IDE (AHCI on q35) drives,
 * one per port in the same order, and the guest names them sr0, sr1, ...
 *
 * Pure: strings in, strings out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const struct {
    const char *prefix;
    enum vn_vdev_kind kind;
} prefixes[] = {
    {"xvd", VN_VDEV_XVD},
    {"hd", VN_VDEV_HD},
    {"sd", VN_VDEV_SD},
    {"vd", VN_VDEV_VD},
};

int vn_vdev_parse(const char *s, struct vn_vdev *out)
{
    const char *p = NULL;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0] && !p; i++) {
        size_t n = strlen(prefixes[i].prefix);
        if (strncmp(s, prefixes[i].prefix, n) == 0) {
            out->kind = prefixes[i].kind;
            p = s + n;
        }
    }
    if (!p)
        return -1;
    /* one or two letters: a..z = 0..25, aa..zz = 26..701, as Linux's sd/vd naming */
    int letters = 0, disk = 0;
    while (*p >= 'a' && *p <= 'z' && letters < 3) {
        disk = letters == 0 ? *p - 'a' : (disk + 1) * 26 + (*p - 'a');
        letters++;
        p++;
    }
    if (letters == 0 || letters > 2)
        return -1;
    int part = 0;
    if (*p) {
        if (*p < '1' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9' && part <= 255)
            part = part * 10 + (*p++ - '0');
        if (*p || part > 255)
            return -1;
    }
    out->disk = disk;
    out->part = part;
    return 0;
}

/* Linux's name of the k-th disk with a prefix: vda..vdz, vdaa.. */
static void disk_name(char *buf, size_t len, const char *prefix, int k)
{
    if (k < 26)
        snprintf(buf, len, "%s%c", prefix, 'a' + k);
    else
        snprintf(buf, len, "%s%c%c", prefix, 'a' + k / 26 - 1, 'a' + k % 26);
}

/* The argv order: CD-ROMs after the disks; then disk number, partition, position. */
static int sort_key_cmp(const struct vn_vm_spec *spec, int a, int b)
{
    const struct vn_disk *da = &spec->disks[a], *db = &spec->disks[b];
    if (da->cdrom != db->cdrom)
        return da->cdrom ? 1 : -1;
    struct vn_vdev va = {0}, vb = {0};
    bool pa = da->vdev && vn_vdev_parse(da->vdev, &va) == 0;
    bool pb = db->vdev && vn_vdev_parse(db->vdev, &vb) == 0;
    if (pa != pb)
        return pa ? -1 : 1; /* unparsed ones (validation refuses them) last */
    if (pa && va.disk != vb.disk)
        return va.disk < vb.disk ? -1 : 1;
    if (pa && va.part != vb.part)
        return va.part < vb.part ? -1 : 1;
    return a < b ? -1 : a > b;
}

void vn_disk_map_build(const struct vn_vm_spec *spec, struct vn_disk_map *map)
{
    memset(map, 0, sizeof *map);
    map->n = spec->ndisks < VN_MAX_DEVICES ? spec->ndisks : VN_MAX_DEVICES;
    for (int i = 0; i < map->n; i++)
        map->order[i] = i;
    /* insertion sort: stable and at most VN_MAX_DEVICES entries */
    for (int i = 1; i < map->n; i++) {
        int x = map->order[i], j = i - 1;
        while (j >= 0 && sort_key_cmp(spec, map->order[j], x) > 0) {
            map->order[j + 1] = map->order[j];
            j--;
        }
        map->order[j + 1] = x;
    }
    int nvd = 0, nsr = 0;
    for (int r = 0; r < map->n; r++) {
        int i = map->order[r];
        if (spec->disks[i].cdrom) {
            map->port[i] = nsr;
            snprintf(map->guest[i], sizeof map->guest[i], "sr%d", nsr++);
        } else {
            map->port[i] = nvd;
            disk_name(map->guest[i], sizeof map->guest[i], "vd", nvd++);
        }
    }
}

/* The disk whose vdev is exactly name, or -1. */
static int disk_by_vdev(const struct vn_vm_spec *spec, const struct vn_disk_map *map,
                        const char *name)
{
    for (int i = 0; i < map->n; i++)
        if (spec->disks[i].vdev && strcmp(spec->disks[i].vdev, name) == 0)
            return i;
    return -1;
}

/* True when some disk (or a partition of one) is called name inside the guest. */
static bool guest_has(const struct vn_vm_spec *spec, const struct vn_disk_map *map,
                      const char *name)
{
    for (int i = 0; i < map->n; i++) {
        size_t n = strlen(map->guest[i]);
        if (strncmp(map->guest[i], name, n) != 0)
            continue;
        if (!name[n])
            return true;
        /* vda1 is a partition of vda; sr0 has none */
        if (!spec->disks[i].cdrom && name[n] >= '1' && name[n] <= '9' &&
            strspn(name + n, "0123456789") == strlen(name + n))
            return true;
    }
    return false;
}

int vn_disk_map_dev(const struct vn_vm_spec *spec, const struct vn_disk_map *map, const char *dev,
                    char *out, size_t len, int *disk)
{
    *disk = -1;
    if (strncmp(dev, "/dev/", 5) != 0)
        return VN_DEV_OTHER;
    const char *name = dev + 5;
    struct vn_vdev v;
    bool is_sr = strncmp(name, "sr", 2) == 0 && name[2] >= '0' && name[2] <= '9';
    if (vn_vdev_parse(name, &v) < 0 && !is_sr)
        return VN_DEV_OTHER;
    if (guest_has(spec, map, name)) {
        snprintf(out, len, "%s", dev);
        return VN_DEV_SAME;
    }
    /* the whole vdev first ("xvda1" exported as a disk), then disk + partition */
    int i = disk_by_vdev(spec, map, name);
    if (i >= 0) {
        *disk = i;
        snprintf(out, len, "/dev/%s", map->guest[i]);
        return VN_DEV_RENAMED;
    }
    if (!is_sr && v.part > 0) {
        char whole[32];
        size_t n = strcspn(name, "0123456789");
        snprintf(whole, sizeof whole, "%.*s", (int)n, name);
        i = disk_by_vdev(spec, map, whole);
        if (i >= 0 && !spec->disks[i].cdrom) {
            *disk = i;
            snprintf(out, len, "/dev/%s%d", map->guest[i], v.part);
            return VN_DEV_RENAMED;
        }
    }
    return VN_DEV_NONE;
}
