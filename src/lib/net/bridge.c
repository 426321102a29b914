/* Bridges as sysfs shows them: is it there, is it a bridge, on which NUMA nodes are its
 * ports.  Read-only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"

#define SYS_NET "/sys/class/net"

int vn_net_bridge_check(const char *bridge, struct vn_error *err)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, SYS_NET "/%s", bridge);
    if (strchr(bridge, '/') || bridge[0] == '.' || stat(path, &st) < 0)
        return vn_error_set(err, "bridge '%s' does not exist", bridge);
    snprintf(path, sizeof path, SYS_NET "/%s/bridge", bridge);
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return vn_error_set(err, "'%s' is not a bridge", bridge);
    return 0;
}

/* numa_node of DIR/device, -1 when it has none or says -1. */
static int port_node(const char *bridge, const char *port)
{
    char path[512], buf[32];
    snprintf(path, sizeof path, SYS_NET "/%s/brif/%s/device/numa_node", bridge, port);
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

int vn_net_bridge_port_nodes(const char *bridge, int *nodes, char (*ports)[VN_NET_IFNAME_LEN],
                             int max, struct vn_error *err)
{
    if (vn_net_bridge_check(bridge, err) < 0)
        return -1;
    char path[256];
    snprintf(path, sizeof path, SYS_NET "/%s/brif", bridge);
    DIR *d = opendir(path);
    if (!d)
        return vn_error_sys(err, errno, "cannot list the ports of bridge '%s'", bridge);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= VN_NET_IFNAME_LEN)
            continue;
        int node = port_node(bridge, e->d_name);
        if (node < 0)
            continue;
        nodes[n] = node;
        snprintf(ports[n], VN_NET_IFNAME_LEN, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
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
