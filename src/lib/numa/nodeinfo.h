/* Host nodes as the kernel reports them right now: which are online, their CPUs, free
 * memory and distances, read from /sys/devices/system/node.  topo/ builds the full host model
 * through hwloc; these are the few live values the actuators (migration, soft affinity) check
 * at the moment they act, with no library beneath them so that the static multinode test
 * programs can use them too. */
#ifndef VN_NODEINFO_H
#define VN_NODEINFO_H

#include <stdint.h>

#include "../util/bitmap.h"
#include "../util/error.h"

/* The online nodes. */
int vn_node_online(struct vn_bitmap *nodes, struct vn_error *err);
/* MemTotal and MemFree of node, in KiB; a node that does not exist is an error that says so. */
int vn_node_meminfo(int node, uint64_t *total_kib, uint64_t *free_kib, struct vn_error *err);
/* The CPUs of node (its cpulist). */
int vn_node_cpus(int node, struct vn_bitmap *cpus, struct vn_error *err);
/* The distance row of node: dist[i] for the i-th online node; returns the count. */
int vn_node_distances(int node, int *dist, int max, struct vn_error *err);

#endif
