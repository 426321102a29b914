/* Host NUMA topology: nodes, CPUs (with SMT siblings and packages), memory, SLIT distances
 * and PCI devices' nodes.
 *
 * One struct for every source, so placement and the simulator never know where a host came
 * from: the live host (hwloc over sysfs), an hwloc XML file, an hwloc synthetic string, or
 * vnuma's own JSON host file (docs/HOSTS.md).  Only this module reads sysfs. */
#ifndef VN_TOPO_H
#define VN_TOPO_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/bitmap.h"
#include "../util/error.h"

struct json_object;

struct vn_cpu {
    int os_index; /* Linux CPU number */
    int node;     /* index into vn_host_topo.nodes (not the OS node number) */
    int package;  /* physical package (socket) id */
    int core;     /* core id, unique within the host; SMT siblings share it */
    int smt;      /* 0 for the first hardware thread of its core, 1.. for siblings */
};

struct vn_node {
    int os_index;          /* Linux node number, as numactl and configs name it */
    int package;           /* package the node belongs to, -1 for CPU-less memory nodes */
    uint64_t mem_mib;      /* total memory */
    uint64_t free_mib;     /* free memory; equals mem_mib when the source does not know */
    bool free_known;       /* whether free_mib was measured */
    struct vn_bitmap cpus; /* OS indexes of the node's CPUs (empty for memory-only nodes) */
};

struct vn_pci_dev {
    char addr[16]; /* "0000:03:00.0" */
    char name[64]; /* what it is, e.g. "nvme", "net", "Ethernet controller" */
    int node;      /* index into vn_host_topo.nodes, -1 when the device has no locality */
};

struct vn_host_topo {
    char name[128]; /* where it came from: "live host", a file name, or the synthetic string */
    int nnodes;
    struct vn_node *nodes; /* sorted by os_index */
    int ncpus;
    struct vn_cpu *cpus; /* sorted by os_index */
    int *dist;           /* nnodes*nnodes SLIT, dist[i*nnodes+j] from node index i to j */
    int npci;
    struct vn_pci_dev *pci;
    int npackages;
};

/* Limits every source is held to (docs/HOSTS.md).  CPU numbers are bounded by VN_BITMAP_BITS. */
#define VN_TOPO_MAX_NODES    1024                /* Linux's MAX_NUMNODES on x86-64 */
#define VN_TOPO_MAX_PCI      4096                /* PCI devices recorded per host */
#define VN_TOPO_JSON_MAX     (16u << 20)         /* largest JSON host document, in bytes */
#define VN_TOPO_XML_MAX      (64u << 20)         /* largest hwloc XML host file, in bytes */
#define VN_TOPO_MAX_NODE_MIB (UINT64_C(1) << 40) /* memory of one node, every source (1 EiB) */
#define VN_TOPO_MAX_CPUS     VN_BITMAP_BITS      /* CPUs of a host */
#define VN_TOPO_DIST_LOCAL   10                  /* SLIT distance of a node to itself */
#define VN_TOPO_DIST_REMOTE  20  /* remote distance assumed when a source has none */
#define VN_TOPO_DIST_MAX     255 /* largest SLIT value */

/* Loads a host from spec: NULL, "" or "live" = this machine; "synthetic:<hwloc synthetic
 * string>[;mem=...][;dist=...]"; a path ending in .xml (hwloc XML) or .json (vnuma host file);
 * "xml:PATH" / "json:PATH" force the format.  Returns NULL and fills err on failure. */
struct vn_host_topo *vn_topo_load(const char *spec, struct vn_error *err);

/* Parses a vnuma JSON host document from memory; name labels messages.  NULL on error. */
struct vn_host_topo *vn_topo_from_json_buf(const char *buf, size_t len, const char *name,
                                           struct vn_error *err);

/* Builds the vnuma JSON host document (the format `vnuma topology --json` prints). */
struct json_object *vn_topo_to_json(const struct vn_host_topo *t);

/* Checks internal consistency (symmetric sizes, local distance 10, CPUs in one node...). */
int vn_topo_validate(const struct vn_host_topo *t, struct vn_error *err);

/* New host with nnodes/ncpus/npci zeroed entries and default distances; aborts on OOM. */
struct vn_host_topo *vn_topo_new(int nnodes, int ncpus, int npci);

/* Recomputes npackages from the CPUs, then validates; how every source ends. */
int vn_topo_finish(struct vn_host_topo *t, struct vn_error *err);

/* Frees t and everything it owns (NULL is fine). */
void vn_topo_free(struct vn_host_topo *t);
/* Cleanup helper for VN_CLEANUP(vn_topo_freep). */
void vn_topo_freep(struct vn_host_topo **t);

/* Index of the node whose Linux number is os_index, or -1. */
int vn_topo_node_index(const struct vn_host_topo *t, int os_index);
/* Distance from node index i to node index j. */
int vn_topo_distance(const struct vn_host_topo *t, int i, int j);
/* Index into t->cpus of the CPU with Linux number os_index, or -1. */
int vn_topo_cpu_index(const struct vn_host_topo *t, int os_index);

#endif
