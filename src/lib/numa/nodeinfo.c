#include "nodeinfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util/cleanup.h"

#define NODE_DIR "/sys/devices/system/node"

static int read_line(const char *path, char *buf, size_t len, struct vn_error *err)
{
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", path);
    if (!fgets(buf, (int)len, f))
        return vn_error_set(err, "'%s' is empty", path);
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static int node_missing(int node, struct vn_error *err)
{
    char path[96];
    snprintf(path, sizeof path, NODE_DIR "/node%d", node);
    if (node < 0 || access(path, F_OK) != 0)
        return vn_error_set(err, "host node %d does not exist (no '%s')", node, path);
    return 0;
}

int vn_node_online(struct vn_bitmap *nodes, struct vn_error *err)
{
    char buf[4096];
    if (read_line(NODE_DIR "/online", buf, sizeof buf, err) < 0)
        return -1;
    return vn_bitmap_parse_list(nodes, buf, VN_BITMAP_BITS - 1, err);
}

int vn_node_meminfo(int node, uint64_t *total_kib, uint64_t *free_kib, struct vn_error *err)
{
    if (node_missing(node, err) < 0)
        return -1;
    char path[96], line[256];
    snprintf(path, sizeof path, NODE_DIR "/node%d/meminfo", node);
    VN_CLEANUP_FILE FILE *f = fopen(path, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", path);
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        int n;
        uint64_t v;
        char key[64];
        /* "Node 0 MemFree:         4475268 kB" */
        if (sscanf(line, "Node %d %63[^:]: %" SCNu64, &n, key, &v) != 3)
            continue;
        if (strcmp(key, "MemTotal") == 0) {
            *total_kib = v;
            found |= 1;
        } else if (strcmp(key, "MemFree") == 0) {
            *free_kib = v;
            found |= 2;
        }
    }
    if (found != 3)
        return vn_error_set(err, "'%s' has no MemTotal or MemFree line", path);
    return 0;
}

int vn_node_cpus(int node, struct vn_bitmap *cpus, struct vn_error *err)
{
    if (node_missing(node, err) < 0)
        return -1;
    char path[96], buf[4096];
    snprintf(path, sizeof path, NODE_DIR "/node%d/cpulist", node);
    if (read_line(path, buf, sizeof buf, err) < 0)
        return -1;
    vn_bitmap_zero(cpus);
    if (buf[0] == '\0')
        return 0; /* a memory-only node */
    return vn_bitmap_parse_list(cpus, buf, VN_BITMAP_BITS - 1, err);
}

int vn_node_distances(int node, int *dist, int max, struct vn_error *err)
{
    if (node_missing(node, err) < 0)
        return -1;
    char path[96], buf[4096];
    snprintf(path, sizeof path, NODE_DIR "/node%d/distance", node);
    if (read_line(path, buf, sizeof buf, err) < 0)
        return -1;
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (n == max)
            return vn_error_set(err, "'%s' has more than %d distances", path, max);
        if (sscanf(tok, "%d", &dist[n]) != 1)
            return vn_error_set(err, "'%s' has a distance '%s' that is not a number", path, tok);
        n++;
    }
    return n;
}
