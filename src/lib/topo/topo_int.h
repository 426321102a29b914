/* Private to src/lib/topo: the sources share the host struct helpers declared here. */
#ifndef VN_TOPO_INT_H
#define VN_TOPO_INT_H

#include "topo.h"

enum vn_topo_src {
    VN_TOPO_SRC_LIVE,      /* this machine, through hwloc's Linux backend */
    VN_TOPO_SRC_XML,       /* an hwloc XML file; arg is its path */
    VN_TOPO_SRC_SYNTHETIC, /* an hwloc synthetic string (without vnuma's extensions) */
};

/* Fills t->dist with VN_TOPO_DIST_LOCAL on the diagonal and VN_TOPO_DIST_REMOTE elsewhere. */
void vn_topo_set_default_distances(struct vn_host_topo *t);

/* Loads a host through hwloc; arg is the XML path or the synthetic string.  The result is
 * not validated yet: the synthetic extensions may still change it (call vn_topo_finish). */
struct vn_host_topo *vn_topo_load_hwloc(enum vn_topo_src src, const char *arg,
                                        struct vn_error *err);

/* Loads "STRING[;mem=...][;dist=...]" (the part after "synthetic:"). */
struct vn_host_topo *vn_topo_load_synthetic(const char *spec, struct vn_error *err);

/* True when s is a PCI address in the canonical "dddd:bb:dd.f" form (lowercase hex). */
bool vn_topo_pci_addr_valid(const char *s);

#endif
