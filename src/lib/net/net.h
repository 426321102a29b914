/* Guest NICs on the host side: the bridge a vif names, the tap vnuma creates for it and
 * attaches to that bridge, and the vhost-net descriptor that speeds it up.
 *
 * Everything acts in the caller's network namespace.  Taps are never persistent: the
 * kernel removes one when the last descriptor on it is closed, so a tap lives exactly as
 * long as the QEMU that inherited it (and vnuma's own copy until vn_net_tap_close). */
#ifndef VN_NET_H
#define VN_NET_H

#include <stddef.h>

#include "../util/error.h"

#define VN_NET_IFNAME_LEN 16 /* IFNAMSIZ */

struct vn_tap {
    char name[VN_NET_IFNAME_LEN];
    int fd;       /* the tap's queue, -1 when closed */
    int vhost_fd; /* /dev/vhost-net, -1 when not usable */
};

/* 0 when bridge is a network bridge here (/sys/class/net/BR/bridge); else -1 with err saying
 * whether it does not exist or is no bridge. */
int vn_net_bridge_check(const char *bridge, struct vn_error *err);

/* The Linux NUMA nodes of bridge's ports, by port name (each port's device's numa_node; a
 * port without a device, e.g. a veth or a tap, has no locality), at most max; ports[i] gets
 * the port of nodes[i].  Returns how many ports have a node, -1 with err when bridge is none. */
int vn_net_bridge_port_nodes(const char *bridge, int *nodes, char (*ports)[VN_NET_IFNAME_LEN],
                             int max, struct vn_error *err);
/* The same under another sysfs class/net directory (tests use a fake one). */
int vn_net_bridge_port_nodes_at(const char *sysnet, const char *bridge, int *nodes,
                                char (*ports)[VN_NET_IFNAME_LEN], int max, struct vn_error *err);

/* The tap name vnuma gives a vif without vifname: "vn", 7 hex digits of a hash of the state
 * dir and the domain name, ".", devid (at most 15 characters).  Pure. */
void vn_net_tap_name(const char *state_dir, const char *domain, int devid,
                     char out[VN_NET_IFNAME_LEN]);

/* Creates tap name (it must not exist yet), not persistent, with a virtio-net header,
 * attaches it to bridge and brings it up; with vhost, also opens /dev/vhost-net when it can
 * (vhost_fd -1 when not).  Descriptors are close-on-exec.  On failure nothing is left. */
int vn_net_tap_open(const char *name, const char *bridge, int vhost, struct vn_tap *out,
                    struct vn_error *err);

/* Closes vnuma's descriptors of a tap (the tap goes once QEMU's copies are closed too). */
void vn_net_tap_close(struct vn_tap *t);

/* 0 when an interface of that name exists in this namespace, else -1. */
int vn_net_if_exists(const char *name);

#endif
