/* One xl vif string (xl-network-configuration(5)) -> struct vn_vif, and the MAC vnuma
 * generates for a vif that gives none.  Pure: no I/O.
 *
 * Keys vnuma honours: bridge, mac, model, vifname, devid, type.  Keys xl accepts for Xen's
 * backends (ip, script, rate, ...) are warnings naming the key; anything else is an error. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "util/cleanup.h"

static const char *const xen_only[] = {"script",     "ip",        "backend",   "rate",
                                       "gatewaydev", "accel",     "mtu",       "forwarddev",
                                       "trusted",    "untrusted", "powerdown", "ifname"};

static int set_once(char **field, const char *key, const char *value, struct vn_error *err)
{
    if (*field)
        return vn_error_set(err, "'%s' is given twice ('%s' and '%s').", key, *field, value);
    *field = vn_strdup_checked(value);
    return 0;
}

/* "00:16:3e:01:02:03" in either case; unicast and not all zero. */
static int parse_mac(const char *v, char out[VN_VIF_MAC_LEN], struct vn_error *err)
{
    unsigned char b[6];
    const char *p = v;
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
            goto bad;
        char hex[3] = {p[0], p[1], 0};
        b[i] = (unsigned char)strtoul(hex, NULL, 16);
        p += 2;
        if (i < 5 && *p++ != ':')
            goto bad;
    }
    if (*p)
        goto bad;
    if (b[0] & 1)
        return vn_error_set(err, "mac '%s' is a multicast address; a NIC needs a unicast one.", v);
    if ((b[0] | b[1] | b[2] | b[3] | b[4] | b[5]) == 0)
        return vn_error_set(err, "mac '%s' is all zero.", v);
    snprintf(out, VN_VIF_MAC_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
             b[5]);
    return 0;
bad:
    return vn_error_set(err, "mac '%s' is not a MAC address like '00:16:3e:01:02:03'.", v);
}

/* A Linux interface name: 1..15 of [A-Za-z0-9_.-], not "." or "..". */
static bool ifname_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > VN_VIF_NAME_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
        return false;
    for (const char *c = v; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
            return false;
    return true;
}

static int set_model(struct vn_vif *out, const char *v, struct vn_error *err)
{
    if (strcmp(v, "virtio") == 0 || strcmp(v, "virtio-net") == 0 ||
        strcmp(v, "virtio-net-pci") == 0)
        out->model = VN_VIF_VIRTIO;
    else if (strcmp(v, "e1000") == 0)
        out->model = VN_VIF_E1000;
    else if (strcmp(v, "rtl8139") == 0)
        out->model = VN_VIF_RTL8139;
    else
        return vn_error_set(err, "model '%s' is not one vnuma offers (virtio, e1000 or rtl8139).",
                            v);
    return 0;
}

static int key_value(struct vn_vif *out, const char *key, const char *v, bool *devid_set,
                     vn_vif_warn_fn warn, void *ctx, struct vn_error *err)
{
    if (strcmp(key, "bridge") == 0) {
        if (!ifname_ok(v))
            return vn_error_set(err,
                                "bridge '%s' is not an interface name (1 to 15 of A-Z a-z "
                                "0-9 _ . -).",
                                v);
        return set_once(&out->bridge, key, v, err);
    }
    if (strcmp(key, "mac") == 0) {
        char mac[VN_VIF_MAC_LEN];
        if (parse_mac(v, mac, err) < 0)
            return -1;
        return set_once(&out->mac, key, mac, err);
    }
    if (strcmp(key, "vifname") == 0) {
        if (!ifname_ok(v))
            return vn_error_set(err,
                                "vifname '%s' is not an interface name (1 to 15 of A-Z a-z "
                                "0-9 _ . -).",
                                v);
        return set_once(&out->vifname, key, v, err);
    }
    if (strcmp(key, "model") == 0)
        return set_model(out, v, err);
    if (strcmp(key, "devid") == 0) {
        uint64_t d;
        if (vn_parse_u64(v, 65535, &d) < 0)
            return vn_error_set(err, "devid '%s' is not a number from 0 to 65535.", v);
        out->devid = (int)d;
        *devid_set = true;
        return 0;
    }
    if (strcmp(key, "type") == 0) {
        if (strcmp(v, "vif") == 0 || strcmp(v, "ioemu") == 0)
            out->type = VN_VIF_BRIDGE;
        else if (strcmp(v, "user") == 0)
            out->type = VN_VIF_USER;
        else
            return vn_error_set(err, "type '%s' is not vif, ioemu or user.", v);
        return 0;
    }
    for (size_t i = 0; i < VN_ARRAY_SIZE(xen_only); i++) {
        if (strcmp(key, xen_only[i]) == 0) {
            if (warn)
                warn(ctx, key);
            return 0;
        }
    }
    return vn_error_set(err, "unknown parameter '%s'.", key);
}

int vn_vif_parse(const char *text, int index, struct vn_vif *out, vn_vif_warn_fn warn, void *ctx,
                 struct vn_error *err)
{
    memset(out, 0, sizeof *out);
    out->spec = vn_strdup_checked(text);
    out->devid = index;
    bool devid_set = false;
    char *copy = vn_strdup_checked(text), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t n = strlen(tok);
        while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            tok[--n] = '\0';
        if (!*tok)
            continue;
        char *eq = strchr(tok, '=');
        if (!eq) {
            bool flag = strcmp(tok, "trusted") == 0 || strcmp(tok, "untrusted") == 0;
            if (flag && warn)
                warn(ctx, tok);
            else if (!flag)
                rc = vn_error_set(err, "'%.32s' needs a value ('%.32s=...').", tok, tok);
            continue;
        }
        *eq = '\0';
        rc = key_value(out, tok, eq + 1, &devid_set, warn, ctx, err);
    }
    free(copy);
    if (rc == 0 && out->type == VN_VIF_USER && out->bridge)
        rc = vn_error_set(err, "type=user has no bridge; remove 'bridge=%s' or the type.",
                          out->bridge);
    if (rc == 0 && out->type == VN_VIF_USER && out->vifname)
        rc = vn_error_set(err, "type=user has no tap to name; remove 'vifname=%s'.", out->vifname);
    if (rc < 0)
        vn_vif_clear(out);
    return rc;
}

void vn_vif_clear(struct vn_vif *v)
{
    free(v->spec);
    free(v->bridge);
    free(v->mac);
    free(v->vifname);
    memset(v, 0, sizeof *v);
}

/* FNV-1a, 32 bits. */
static uint32_t fnv(uint32_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

void vn_vif_mac(const char *name, int devid, char out[VN_VIF_MAC_LEN])
{
    uint32_t h = fnv(2166136261u, name, strlen(name) + 1);
    char id[16];
    snprintf(id, sizeof id, "%d", devid);
    h = fnv(h, id, strlen(id));
    /* murmur3's finaliser: FNV alone leaves neighbouring devids with neighbouring MACs */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    /* Xen's prefix, and the top bit of the fourth byte clear as xl leaves it */
    snprintf(out, VN_VIF_MAC_LEN, "00:16:3e:%02x:%02x:%02x", (h >> 16) & 0x7f, (h >> 8) & 0xff,
             h & 0xff);
}

const char *vn_vif_model_name(enum vn_vif_model m)
{
    switch (m) {
    case VN_VIF_E1000:
        return "e1000";
    case VN_VIF_RTL8139:
        return "rtl8139";
    case VN_VIF_VIRTIO:
    default:
        return "virtio";
    }
}
