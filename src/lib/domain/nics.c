/* A domain's NICs on the host: which bridge and tap each vif gets (checked before anything
 * starts), and the taps themselves, opened for the held QEMU to inherit. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/net.h"
#include "domain.h"
#include "domain_int.h"

/* The host config file that was read, or would be (a missing file gives the defaults). */
static const char *host_conf_path(const struct vn_host_conf *hc)
{
    const char *env = getenv("VNUMA_HOST_CONF");
    if (hc->file && *hc->file)
        return hc->file;
    return env && *env ? env : VN_HOST_CONF_DEFAULT_PATH;
}

int vn_dom_nics_resolve(const char *name, const struct vn_vm_spec *spec, const char *state_dir,
                        bool check, struct vn_dom_nic *out, struct vn_error *err)
{
    struct vn_host_conf hc = {0};
    bool hc_loaded = false;
    int rc = 0;
    for (int i = 0; i < spec->nvifs && rc == 0; i++) {
        const struct vn_vif *v = &spec->vifs[i];
        struct vn_dom_nic *n = &out[i];
        memset(n, 0, sizeof *n);
        if (v->type == VN_VIF_USER)
            continue;
        const char *bridge = v->bridge;
        if (!bridge) {
            if (!hc_loaded && vn_host_conf_load(&hc, err) < 0) {
                rc = vn_error_prefix(err, "domain '%s': vif %d ('%s') names no bridge", name,
                                     v->devid, v->spec);
                break;
            }
            hc_loaded = true;
            bridge = hc.default_bridge;
        }
        if (!bridge) {
            rc = vn_error_set(err,
                              "domain '%s': vif %d ('%s') names no bridge; set 'bridge=' in the "
                              "vif or default_bridge in %s",
                              name, v->devid, v->spec, host_conf_path(&hc));
            break;
        }
        if (strlen(bridge) >= VN_NET_IFNAME_LEN) {
            rc = vn_error_set(err, "domain '%s': vif %d: bridge name '%s' is too long", name,
                              v->devid, bridge);
            break;
        }
        snprintf(n->bridge, sizeof n->bridge, "%s", bridge);
        if (v->vifname)
            snprintf(n->tap, sizeof n->tap, "%s", v->vifname);
        else
            vn_net_tap_name(state_dir, name, v->devid, n->tap);
        if (!check)
            continue;
        if (vn_net_bridge_check(n->bridge, err) < 0) {
            rc = vn_error_prefix(err, "domain '%s': vif %d ('%s')", name, v->devid, v->spec);
        } else if (vn_net_if_exists(n->tap) == 0) {
            rc = vn_error_set(err,
                              "domain '%s': vif %d ('%s'): an interface named '%s' exists "
                              "already",
                              name, v->devid, v->spec, n->tap);
        }
    }
    vn_host_conf_clear(&hc);
    return rc;
}

int vn_dom_nics_open(const char *name, const struct vn_vm_spec *spec, const struct vn_dom_nic *nics,
                     struct vn_tap *taps, struct vn_error *err)
{
    for (int i = 0; i < spec->nvifs; i++)
        taps[i].fd = taps[i].vhost_fd = -1;
    for (int i = 0; i < spec->nvifs; i++) {
        if (spec->vifs[i].type == VN_VIF_USER)
            continue;
        /* vhost-net only serves virtio-net */
        bool vhost = spec->vifs[i].model == VN_VIF_VIRTIO;
        if (vn_net_tap_open(nics[i].tap, nics[i].bridge, vhost, &taps[i], err) < 0) {
            vn_dom_nics_close(spec->nvifs, taps);
            return vn_error_prefix(err, "domain '%s': vif %d", name, spec->vifs[i].devid);
        }
    }
    return 0;
}

void vn_dom_nics_close(int n, struct vn_tap *taps)
{
    for (int i = 0; taps && i < n; i++)
        vn_net_tap_close(&taps[i]);
}

int vn_domain_vif_locality(const struct vn_vm_spec *spec, const struct vn_host_topo *topo,
                           struct vn_place_request *req, char *lines, size_t len,
                           struct vn_error *err)
{
    lines[0] = '\0';
    struct vn_host_conf hc = {0};
    bool loaded = false;
    int rc = 0;
    size_t used = 0;
    for (int i = 0; i < spec->nvifs && rc == 0; i++) {
        const struct vn_vif *v = &spec->vifs[i];
        if (v->type == VN_VIF_USER)
            continue;
        const char *bridge = v->bridge;
        if (!bridge && !loaded) {
            if (vn_host_conf_load(&hc, err) < 0) {
                rc = -1;
                break;
            }
            loaded = true;
        }
        if (!bridge)
            bridge = hc.default_bridge;
        if (!bridge)
            continue;
        int nodes[16];
        char ports[16][VN_NET_IFNAME_LEN];
        struct vn_error e2 = {0};
        int n = vn_net_bridge_port_nodes(bridge, nodes, ports, 16, &e2);
        for (int k = 0; k < n && rc == 0; k++) {
            int idx = vn_topo_node_index(topo, nodes[k]);
            if (idx < 0)
                continue; /* a node this host view does not have */
            rc = vn_place_request_add_dev(req, topo, idx, err);
            int w = snprintf(lines + used, len - used, "%svif %d: bridge %s port %s on node %d",
                             used ? "\n" : "", v->devid, bridge, ports[k], nodes[k]);
            if (w > 0 && (size_t)w < len - used)
                used += (size_t)w;
        }
    }
    vn_host_conf_clear(&hc);
    return rc;
}

struct json_object *vn_dom_nics_json(const struct vn_vm_spec *spec, const char *name,
                                     const char *state_dir)
{
    struct json_object *arr = json_object_new_array();
    struct vn_host_conf hc = {0};
    struct vn_error e2 = {0};
    bool hc_ok = false;
    for (int i = 0; spec && i < spec->nvifs; i++) {
        const struct vn_vif *v = &spec->vifs[i];
        struct json_object *o = json_object_new_object();
        char mac[VN_VIF_MAC_LEN], tap[VN_NET_IFNAME_LEN];
        if (v->mac)
            snprintf(mac, sizeof mac, "%s", v->mac);
        else
            vn_vif_mac(name, v->devid, mac);
        json_object_object_add(o, "devid", json_object_new_int(v->devid));
        json_object_object_add(o, "model", json_object_new_string(vn_vif_model_name(v->model)));
        json_object_object_add(o, "mac", json_object_new_string(mac));
        bool user = v->type == VN_VIF_USER;
        json_object_object_add(o, "type", json_object_new_string(user ? "user" : "bridge"));
        const char *bridge = v->bridge;
        if (!user && !bridge) {
            if (!hc_ok)
                hc_ok = vn_host_conf_load(&hc, &e2) == 0;
            bridge = hc_ok ? hc.default_bridge : NULL;
        }
        json_object_object_add(o, "bridge",
                               !user && bridge ? json_object_new_string(bridge) : NULL);
        if (!user) {
            if (v->vifname)
                snprintf(tap, sizeof tap, "%s", v->vifname);
            else
                vn_net_tap_name(state_dir, name, v->devid, tap);
        }
        json_object_object_add(o, "tap", user ? NULL : json_object_new_string(tap));
        json_object_array_add(arr, o);
    }
    vn_host_conf_clear(&hc);
    return arr;
}
