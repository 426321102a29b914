/* Taps for guest NICs, made as libvirt makes them: TUNSETIFF on /dev/net/tun (no helper, no
 * script), attached to the bridge with SIOCBRADDIF and brought up with SIOCSIFFLAGS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

void vn_net_tap_name(const char *state_dir, const char *domain, int devid,
                     char out[VN_NET_IFNAME_LEN])
{
    uint32_t h = 2166136261u;
    for (const char *s = state_dir; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    h = (h ^ 0xff) * 16777619u; /* a separator no path or name holds */
    for (const char *s = domain; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    snprintf(out, VN_NET_IFNAME_LEN, "vn%07x.%d", (unsigned)(h & 0xfffffff), devid & 0xffff);
}

static int if_ioctl(int sock, unsigned long req, struct ifreq *ifr)
{
    return ioctl(sock, req, ifr);
}

int vn_net_tap_open(const char *name, const char *bridge, int vhost, struct vn_tap *out,
                    struct vn_error *err)
{
    out->fd = out->vhost_fd = -1;
    snprintf(out->name, sizeof out->name, "%s", name);
    if (strlen(name) >= IFNAMSIZ)
        return vn_error_set(err, "tap name '%s' is longer than %d characters", name, IFNAMSIZ - 1);
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return vn_error_sys(err, errno, "cannot open /dev/net/tun for tap '%s'", name);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    /* IFF_TUN_EXCL: never take over an interface that exists already */
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        if (e == EBUSY || e == EEXIST)
            return vn_error_set(err, "cannot create tap '%s': an interface of that name exists",
                                name);
        return vn_error_sys(err, e, "cannot create tap '%s'", name);
    }
    /* Not persistent: it goes with the last descriptor (TUNSETIFF makes it so; say it). */
    if (ioctl(fd, TUNSETPERSIST, 0) < 0) {
        int e = errno;
        close(fd);
        return vn_error_sys(err, e, "cannot make tap '%s' non-persistent", name);
    }
    int sock = socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        int e = errno;
        close(fd);
        return vn_error_sys(err, e, "cannot set up tap '%s'", name);
    }
    int rc = 0;
    struct ifreq br;
    memset(&br, 0, sizeof br);
    snprintf(br.ifr_name, IFNAMSIZ, "%s", name);
    if (if_ioctl(sock, SIOCGIFINDEX, &br) < 0)
        br.ifr_ifindex = 0;
    snprintf(br.ifr_name, IFNAMSIZ, "%s", bridge);
    if (br.ifr_ifindex == 0 || if_ioctl(sock, SIOCBRADDIF, &br) < 0) {
        rc = vn_error_sys(err, errno, "cannot attach tap '%s' to bridge '%s'", name, bridge);
    } else {
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
        if (if_ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
            rc = vn_error_sys(err, errno, "cannot read the flags of tap '%s'", name);
        } else {
            ifr.ifr_flags |= IFF_UP;
            if (if_ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
                rc = vn_error_sys(err, errno, "cannot bring tap '%s' up", name);
        }
    }
    close(sock);
    if (rc < 0) {
        close(fd); /* not persistent: the tap is gone with it */
        return -1;
    }
    out->fd = fd;
    if (vhost)
        out->vhost_fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    return 0;
}

void vn_net_tap_close(struct vn_tap *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->vhost_fd >= 0)
        close(t->vhost_fd);
    t->fd = t->vhost_fd = -1;
}
