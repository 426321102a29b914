/* The normalised spec as JSON: what `vnuma check --json` prints and what tests compare.
 *
 * Whichever vNUMA form the file used, the output is the same: a list of vnodes with size,
 * pnode (null when placement chooses), vCPUs as a cpulist and a row of distances.  Absent
 * optional values are null rather than missing, so consumers need no existence checks. */
#include <json-c/json.h>

#include "config.h"

static struct json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static struct json_object *cpulist(const struct vn_bitmap *b)
{
    char buf[1024];
    vn_bitmap_format_list(b, buf, sizeof buf);
    return json_object_new_string(buf);
}

static struct json_object *affinity(const struct vn_affinity *a)
{
    if (a->nsets == 0)
        return NULL;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "per_vcpu", json_object_new_boolean(a->per_vcpu));
    json_object_object_add(o, "resolved", json_object_new_boolean(a->resolved));
    struct json_object *sets = json_object_new_array();
    for (int i = 0; i < a->nsets; i++) {
        struct json_object *s = json_object_new_object();
        json_object_object_add(s, "text", json_object_new_string(a->text[i]));
        json_object_object_add(s, "cpus", cpulist(&a->sets[i]));
        json_object_array_add(sets, s);
    }
    json_object_object_add(o, "sets", sets);
    return o;
}

static struct json_object *disks(const struct vn_vm_spec *spec)
{
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < spec->ndisks; i++) {
        const struct vn_disk *d = &spec->disks[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "spec", json_object_new_string(d->spec));
        json_object_object_add(o, "target", str_or_null(d->target));
        json_object_object_add(o, "vdev", str_or_null(d->vdev));
        json_object_object_add(o, "format", str_or_null(d->format));
        json_object_object_add(o, "readonly", json_object_new_boolean(d->readonly));
        json_object_object_add(o, "cdrom", json_object_new_boolean(d->cdrom));
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *vifs(const struct vn_vm_spec *spec)
{
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < spec->nvifs; i++) {
        const struct vn_vif *v = &spec->vifs[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "spec", json_object_new_string(v->spec));
        json_object_object_add(o, "devid", json_object_new_int(v->devid));
        json_object_object_add(o, "type",
                               json_object_new_string(v->type == VN_VIF_USER ? "user" : "bridge"));
        json_object_object_add(o, "bridge", str_or_null(v->bridge));
        json_object_object_add(o, "mac", str_or_null(v->mac));
        json_object_object_add(o, "vifname", str_or_null(v->vifname));
        json_object_object_add(o, "model", json_object_new_string(vn_vif_model_name(v->model)));
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *strings(char *const *v, int n)
{
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_string(v[i]));
    return arr;
}

static struct json_object *vnuma(const struct vn_vm_spec *spec)
{
    if (spec->nvnodes == 0)
        return NULL;
    struct json_object *o = json_object_new_object();
    json_object_object_add(
        o, "form", json_object_new_string(spec->vnuma_form == VN_VNUMA_LIST ? "vnuma" : "vnodes"));
    struct json_object *nodes = json_object_new_array();
    for (int i = 0; i < spec->nvnodes; i++) {
        const struct vn_vnode *vn = &spec->vnodes[i];
        struct json_object *n = json_object_new_object();
        json_object_object_add(n, "vnode", json_object_new_int(i));
        json_object_object_add(n, "memory_mib", json_object_new_uint64(vn->mem_mib));
        json_object_object_add(n, "pnode", vn->pnode >= 0 ? json_object_new_int(vn->pnode) : NULL);
        json_object_object_add(n, "vcpus", cpulist(&vn->vcpus));
        struct json_object *row = json_object_new_array();
        for (int j = 0; j < spec->nvnodes; j++)
            json_object_array_add(row, json_object_new_int(spec->vdist[i][j]));
        json_object_object_add(n, "distances", row);
        json_object_array_add(nodes, n);
    }
    json_object_object_add(o, "vnodes", nodes);
    return o;
}

/* Only when VNC is on, so specs and records without it keep their JSON. */
static void vnc(struct json_object *o, const struct vn_vnc *v)
{
    if (!v->enabled)
        return;
    struct json_object *x = json_object_new_object();
    json_object_object_add(x, "listen", str_or_null(v->listen));
    json_object_object_add(x, "display", json_object_new_int(v->display));
    json_object_object_add(x, "remote", json_object_new_boolean(v->remote));
    json_object_object_add(x, "password", json_object_new_boolean(v->has_password));
    json_object_object_add(o, "vnc", x);
}

struct json_object *vn_spec_to_json(const struct vn_vm_spec *spec)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "file", str_or_null(spec->file));
    json_object_object_add(o, "name", str_or_null(spec->name));
    json_object_object_add(o, "memory_mib", json_object_new_uint64(spec->memory_mib));
    json_object_object_add(o, "maxmem_mib", json_object_new_uint64(spec->maxmem_mib));
    json_object_object_add(o, "vcpus", json_object_new_int(spec->vcpus));
    json_object_object_add(o, "maxvcpus", json_object_new_int(spec->maxvcpus));
    json_object_object_add(o, "cpus", affinity(&spec->cpus));
    json_object_object_add(o, "cpus_soft", affinity(&spec->cpus_soft));
    json_object_object_add(o, "vnuma", vnuma(spec));
    json_object_object_add(o, "kernel", str_or_null(spec->kernel));
    json_object_object_add(o, "ramdisk", str_or_null(spec->ramdisk));
    json_object_object_add(o, "cmdline", str_or_null(spec->cmdline));
    json_object_object_add(o, "disks", disks(spec));
    json_object_object_add(o, "vifs", vifs(spec));
    json_object_object_add(o, "pci", strings(spec->pci, spec->npci));
    json_object_object_add(o, "on_poweroff",
                           json_object_new_string(vn_action_names[spec->on_poweroff]));
    json_object_object_add(o, "on_reboot",
                           json_object_new_string(vn_action_names[spec->on_reboot]));
    json_object_object_add(o, "on_crash", json_object_new_string(vn_action_names[spec->on_crash]));
    json_object_object_add(o, "accel", json_object_new_string(vn_accel_names[spec->accel]));
    json_object_object_add(o, "memory_policy",
                           json_object_new_string(vn_mempolicy_names[spec->mempolicy]));
    json_object_object_add(o, "affinity_group", str_or_null(spec->affinity_group));
    json_object_object_add(o, "anti_affinity_group", str_or_null(spec->anti_affinity_group));
    json_object_object_add(o, "balance", json_object_new_boolean(spec->balance));
    vnc(o, &spec->vnc);
    return o;
}
