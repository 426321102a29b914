/* The one invariant of docs/ARCHITECTURE.md: every change of where a domain's memory or vCPUs
 * may go re-checks all claims under the host lock before it commits. */
#include <stdlib.h>

#include "../util/cleanup.h"
#include "domain_int.h"

int vn_dom_claims_fit(struct vn_state *s, const struct vn_host_topo *topo, const char *name,
                      const struct vn_claim *claim, struct vn_error *err)
{
    if (!vn_state_locked(s))
        return vn_error_set(err, "domain '%s': its claim is checked only under the host lock",
                            name);
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *live = NULL;
    if (!topo) {
        live = vn_topo_load(NULL, err);
        if (!live)
            return vn_error_prefix(err, "cannot read the host topology");
        topo = live;
    }
    VN_CLEANUP_FREE struct vn_claim *others = NULL;
    int n = 0;
    if (vn_state_claims(s, name, &others, &n, err) < 0)
        return -1;
    return vn_claims_fit(topo, others, n, claim, err);
}
