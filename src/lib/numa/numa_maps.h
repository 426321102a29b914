/* Where a process's memory really is: /proc/PID/numa_maps, read per mapping.
 *
 * Each vnode's memory is a memory-backend-file whose path names it, so the pages of one
 * vnode per host node can be told apart from the rest of QEMU's memory. */
#ifndef VN_NUMA_MAPS_H
#define VN_NUMA_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

#define VN_NUMA_MAPS_MAX_NODES 1024

struct vn_residency {
    uint64_t pages[VN_NUMA_MAPS_MAX_NODES]; /* pages present per host node (Linux number) */
    uint64_t page_kib;                      /* page size of the mapping(s) */
    uint64_t total_pages;                   /* sum of pages[] */
    int max_node;                           /* highest node with pages, -1 when none */
};

/* Empties r (no pages, no node). */
void vn_residency_init(struct vn_residency *r);

/* Adds to out the pages of every mapping in numa_maps text whose file path equals path
 * (all mappings when path is NULL).  Returns the number of mappings matched, -1 on a
 * malformed line (err names the line). */
int vn_numa_maps_parse(const char *text, size_t len, const char *path, struct vn_residency *out,
                       struct vn_error *err);

/* Reads /proc/PID/numa_maps and fills out for the mappings of path. */
int vn_numa_maps_read(int pid, const char *path, struct vn_residency *out, struct vn_error *err);

/* MiB on node n according to r. */
double vn_residency_mib(const struct vn_residency *r, int node);

#endif
