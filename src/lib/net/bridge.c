/* Bridges as sysfs shows them: is it there, is it a bridge, on which NUMA nodes are its
 * ports.  Read-only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"

#define SYS_NET "/sys/class/net"

static bool name_ok(const char *name)
{
    return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < VN_NET_IFNAME_LEN;
}

static int bridge_check_at(const char *sysnet, const char *bridge, struct vn_error *err)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", sysnet, bridge);
    if (!name_ok(bridge) || stat(path, &st) < 0)
        return vn_error_set(err, "bridge '%s' does not exist", bridge);
    snprintf(path, sizeof path, "%s/%s/bridge", sysnet, bridge);
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return vn_error_set(err, "'%s' is not a bridge", bridge);
    return 0;
}

int vn_net_bridge_check(const char *bridge, struct vn_error *err)
{
    return bridge_check_at(SYS_NET, bridge, err);
}

/* numa_node of the port's device (SYSNET/PORT/device/numa_node); -1 when it has no device
 * (veth, tap, another bridge) or the kernel says -1. */
static int port_node(const char *sysnet, const char *port)
{
    char path[4200], buf[32];
    snprintf(path, sizeof path, "%s/%s/device/numa_node", sysnet, port);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || v < 0 || v > 4095)
        return -1;
    return (int)v;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

int vn_net_bridge_port_nodes_at(const char *sysnet, const char *bridge, int *nodes,
                                char (*ports)[VN_NET_IFNAME_LEN], int max, struct vn_error *err)
{
    if (bridge_check_at(sysnet, bridge, err) < 0)
        return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/brif", sysnet, bridge);
    DIR *d = opendir(path);
    if (!d)
        return vn_error_sys(err, errno, "cannot list the ports of bridge '%s'", bridge);
    /* sorted by name, so that the order (and the explanation) does not depend on readdir */
    char names[64][VN_NET_IFNAME_LEN];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 64) {
        if (!name_ok(e->d_name))
            continue;
        snprintf(names[nn++], VN_NET_IFNAME_LEN, "%s", e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof names[0], name_cmp);
    int n = 0;
    for (int i = 0; i < nn && n < max; i++) {
        int node = port_node(sysnet, names[i]);
        if (node < 0)
            continue;
        nodes[n] = node;
        snprintf(ports[n], VN_NET_IFNAME_LEN, "%s", names[i]);
        n++;
    }
    return n;
}

int vn_net_bridge_port_nodes(const char *bridge, int *nodes, char (*ports)[VN_NET_IFNAME_LEN],
                             int max, struct vn_error *err)
{
    return vn_net_bridge_port_nodes_at(SYS_NET, bridge, nodes, ports, max, err);
}

int vn_net_if_exists(const char *name)
{
    char path[256];
    struct stat st;
    if (strchr(name, '/') || name[0] == '.')
        return -1;
    snprintf(path, sizeof path, SYS_NET "/%s", name);
    return stat(path, &st) == 0 ? 0 : -1;
}
