/* A domain's VNC display: its password handed to QEMU, and where a viewer connects. */
#include <json-c/json.h>
#include <stdio.h>

#include "../util/cleanup.h"
#include "domain_int.h"

int vn_dom_vnc_set_password(struct vn_qmp *q, const char *name, const struct vn_vnc *v,
                            int timeout_ms, struct vn_error *err)
{
    if (!v->enabled || !v->password)
        return 0;
    struct json_object *args = json_object_new_object();
    if (!args)
        return vn_error_set(err, "domain '%s': out of memory setting the VNC password", name);
    json_object_object_add(args, "password", json_object_new_string(v->password));
    struct json_object *r = vn_qmp_command(q, "change-vnc-password", args, timeout_ms, err);
    json_object_put(args);
    if (!r)
        return vn_error_prefix(err, "domain '%s': cannot set the VNC password", name);
    json_object_put(r);
    return 0;
}

int vn_domain_vnc_address(const char *state_dir, const char *name, char *buf, size_t len,
                          struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(state_dir, name, &s, &r, err) < 0)
        return -1;
    const struct vn_vnc *v = r.spec ? &r.spec->vnc : NULL;
    int rc = 0, n = 0;
    if (!vn_domain_alive(&r))
        rc = vn_error_set(err,
                          "domain '%s' is not running (its QEMU has exited); remove it with "
                          "'vnuma destroy %s'",
                          name, name);
    else if (!v || !v->enabled)
        rc = vn_error_set(err, "domain '%s' has no VNC display (its config does not set vnc = 1)",
                          name);
    else if (v->listen)
        n = snprintf(buf, len, "%s:%d", v->listen, 5900 + v->display);
    else if (!r.runtime_dir)
        rc = vn_error_set(err, "domain '%s' has no runtime directory in its record", name);
    else
        n = snprintf(buf, len, "%s/vnc.sock", r.runtime_dir);
    if (rc == 0 && (n < 0 || (size_t)n >= len))
        rc = vn_error_set(err, "domain '%s': the VNC address is too long", name);
    vn_domain_record_clear(&r);
    return rc;
}
