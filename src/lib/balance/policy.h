/* The balancing policy: one interval's observations of the running VMs in, actions out.
 *
 * vnumad and the simulator call the same function every interval.  It does no I/O, no
 * syscalls and keeps no globals: everything it remembers between intervals is in two plain
 * structs the caller owns (struct vn_bal_state for the host, one struct vn_bal_dom_state per
 * domain), so a restarted daemon starts from zeroed state and the same inputs give the same
 * actions.  Three rules, cheapest and most reversible first (docs/BALANCE.md):
 *   - widen/narrow: a vnode's vCPUs may run on the next-nearest nodes while their home is
 *     overloaded (balance/softaff.h decides, with its own hysteresis);
 *   - rehome: when a vnode's vCPUs and memory are apart, either the memory moves to the
 *     vCPUs or the vCPUs' soft affinity moves to the memory, whichever the cost model says
 *     costs less (MiB to copy against vCPU time lost to remote access and busy CPUs);
 *   - re-place: when a VM's nodes stay overloaded, or a better set of nodes became free
 *     (another VM went away), the whole VM is placed again with vn_place(), its own claim
 *     left out of the host load.
 * Memory moves are rate-limited (token buckets in MiB/s per host and per VM) and issued in
 * batches; a started move is finished before anything new is decided for that vnode.  Every
 * decision needs to hold for several intervals, is followed by a dwell time and must gain
 * more than a threshold, so a VM does not ping-pong.  A decision that a gate stops (opt-out,
 * pause, user-fixed placement, hysteresis, rate limit) comes out as a SKIPPED record.
 *
 * Nodes are node indexes (positions in vn_host_topo.nodes), except in reason strings and in
 * a REPLACE_VM's claim (claim_os), which use Linux node numbers like the rest of vnuma's
 * records; struct vn_bal_action names each field's kind. */
#ifndef VN_BALANCE_POLICY_H
#define VN_BALANCE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/spec.h"
#include "../place/place.h"
#include "../topo/topo.h"
#include "../util/bitmap.h"
#include "../util/error.h"
#include "softaff.h"

/* Host nodes the policy handles: the soft-affinity decision's limit. */
#define VN_BAL_MAX_NODES  VN_SOFTAFF_MAX_NODES
#define VN_BAL_NODE_WORDS (VN_BAL_MAX_NODES / 64)
#define VN_BAL_REASON     256

/* ---- observations (one interval) ------------------------------------------------------ */

struct vn_bal_vcpu_obs {
    int vnode;       /* guest vnode of the vCPU */
    int node;        /* node index it ran on during the interval (last seen), -1 unknown */
    uint64_t cpu_ns; /* CPU time it used during the interval */
};

struct vn_bal_vnode_obs {
    int home; /* node index of its pnode in the domain's record; -1 = several (interleave):
                 such a vnode is left alone */
    const uint64_t *resident_mib; /* nnodes entries: MiB of the vnode resident on each node */
    uint64_t error_mib;           /* error bound of the residency estimate (sampling) */
};

enum {
    VN_BAL_OPT_OUT = 1u << 0,      /* balance = 0, or `vnuma balance DOMAIN off` */
    VN_BAL_FIXED_PNODES = 1u << 1, /* the user fixed the vnodes' pnodes: memory stays */
    VN_BAL_PINNED = 1u << 2,       /* the user pinned vCPUs (cpus=): affinity stays */
    VN_BAL_ALLOW_FIXED = 1u << 3,  /* the user allowed balancing despite the two above */
};

struct vn_bal_dom_obs {
    const char *name; /* for reason strings */
    unsigned flags;   /* VN_BAL_* */
    int nvnodes;
    struct vn_bal_vnode_obs vnodes[VN_MAX_VNODES];
    int nvcpus;
    const struct vn_bal_vcpu_obs *vcpus; /* nvcpus entries, indexed by vCPU id */
    /* For re-placing (both may be NULL: the VM is then never re-placed).  The claim is the
     * one in the host load below, so that it can be taken out again. */
    const struct vn_vm_spec *spec;
    const struct vn_claim *claim;
    /* Devices the spec does not name that re-placing counts as it counts pci= devices: the
     * node indexes of its NICs' bridge ports (vnumad reads them from sysfs). */
    int ndev_nodes;
    int dev_nodes[VN_PLACE_MAX_DEVS];
};

struct vn_bal_host_obs {
    int64_t now_ns;      /* monotonic time of this observation */
    int64_t interval_ns; /* time the vCPU CPU-time deltas cover (> 0) */
    const struct vn_host_topo *topo;
    const uint64_t *free_mib; /* nnodes entries: free memory per node now */
    const double *pressure;   /* nnodes entries: CPU demand / CPUs, 0..1+, everything included */
    /* Claims of every domain (may be NULL: then no re-placing). */
    const struct vn_host_load *load;
};

/* ---- parameters ------------------------------------------------------------------------ */

struct vn_bal_params {
    struct vn_softaff_params softaff; /* widen/narrow marks and counts; high also caps targets */
    /* Cost model (docs/BALANCE.md), in vCPU-seconds. */
    double horizon_s;      /* a change is paid back over this long (60) */
    double mem_stall;      /* share of a busy vCPU's time stalled on memory at distance 10 (0.3) */
    double cpu_weight;     /* vCPU time lost per unit of pressure above softaff.low (1.0) */
    double mib_cost_s;     /* vCPU-seconds one MiB of migration costs (0.002) */
    double min_gain_s;     /* act only when the net gain exceeds this (1.0) */
    double rel_gain;       /* ... and is at least this share of the current cost (0.25) */
    double pressure_alpha; /* smoothing of node pressure (0.3) */
    /* Hysteresis. */
    int confirm;       /* the same rehome must win this many intervals in a row (3) */
    int replace_after; /* the same re-placement, this many intervals in a row (12) */
    int64_t dwell_ns;  /* nothing new for a vnode / VM this long after it acted (60 s) */
    /* Rate limits: token buckets, capacity rate * burst_s. */
    double host_mib_s;        /* migration MiB/s for the whole host (512) */
    double vm_mib_s;          /* migration MiB/s per VM (256) */
    double burst_s;           /* (4) */
    uint64_t free_margin_mib; /* a target node keeps this much free after a move (256) */
    uint64_t settle_mib;      /* off-home memory below max(min(this, settle_pct of the */
    double settle_pct;        /* vnode), error) counts as moved (64 MiB, 1%) */
};

/* ---- state (caller-owned plain data; zero it, or call the init functions) --------------- */

struct vn_bal_nodeset {
    uint64_t w[VN_BAL_NODE_WORDS];
};

/* struct vn_softaff_state without its 4096-bit sets, to keep a domain's state small. */
struct vn_bal_softaff {
    int home, steps, over, under;
    struct vn_bal_nodeset added[VN_SOFTAFF_MAX_STEPS];
    struct vn_bal_nodeset allowed;
};

struct vn_bal_vnode_state {
    int home;         /* the home the policy last saw (a change resets the soft affinity) */
    int target;       /* rehome candidate being confirmed, -1 none */
    int streak;       /* intervals in a row it won */
    int64_t last_ns;  /* last rehome or move batch */
    double locality;  /* moving average: share of vCPU time spent where the memory is */
    uint32_t rehomes; /* decisions taken */
    bool moving;      /* memory is being moved home in batches */
    int prev_home;    /* the home before the last rehome, -1 none */
    int backoff;      /* dwell multiplier: doubles on every return to prev_home (1..16) */
    struct vn_bal_softaff soft;
};

enum vn_bal_skip {
    VN_BAL_SKIP_HYSTERESIS, /* dwell time not over, or not yet confirmed */
    VN_BAL_SKIP_RATE_LIMIT, /* no migration budget left this interval */
    VN_BAL_SKIP_OPT_OUT,    /* the domain opted out */
    VN_BAL_SKIP_PAUSED,     /* balancing paused for the host or the domain */
    VN_BAL_SKIP_FIXED,      /* user-fixed pnodes or pinning */
    VN_BAL_SKIP_NO_ROOM,    /* the target node lacks free memory */
    VN_BAL_NSKIP
};

struct vn_bal_dom_state {
    bool init;   /* false: the first call fills it from the observation */
    bool paused; /* `vnuma balance pause DOMAIN` */
    int nvnodes;
    int64_t last_ns; /* last re-placement */
    int replace_streak;
    int replace_to[VN_MAX_VNODES]; /* re-placement being confirmed (node index per vnode) */
    double tokens;                 /* per-VM migration budget, MiB */
    uint64_t moved_mib;            /* MiB of MIGRATE actions emitted */
    uint32_t actions;              /* actions emitted */
    uint32_t replaces;
    uint32_t skipped[VN_BAL_NSKIP];
    struct vn_bal_vnode_state vnodes[VN_MAX_VNODES];
};

struct vn_bal_state {
    bool init;
    bool paused; /* `vnuma balance pause` */
    int nnodes;
    int64_t last_ns;
    double tokens;                     /* host migration budget, MiB */
    double pressure[VN_BAL_MAX_NODES]; /* smoothed node pressure */
    uint64_t moved_mib;
    uint32_t intervals;
    uint32_t dropped; /* actions that did not fit the output array (retried next interval) */
};

/* ---- actions --------------------------------------------------------------------------- */

enum vn_bal_kind {
    VN_BAL_MIGRATE_VNODE,     /* move mib MiB of vnode from the nodes from_idx to node to_idx */
    VN_BAL_SET_SOFT_AFFINITY, /* the vCPUs in `vcpus` may run on the nodes in nodes_idx */
    VN_BAL_REPLACE_VM,        /* record the new placement: vnode_to_idx, claim_os */
    VN_BAL_SKIPPED,           /* `skipped` would have been done; `skip` says why */
};

/* An action names nodes of two kinds, and each field says which: _idx fields are node
 * indexes (positions in vn_host_topo.nodes), _os fields and the reason are Linux node
 * numbers (what records and claims hold). */
struct vn_bal_action {
    enum vn_bal_kind kind;
    enum vn_bal_kind skipped; /* VN_BAL_SKIPPED: the kind stopped */
    enum vn_bal_skip skip;    /* VN_BAL_SKIPPED: the gate */
    int domain;               /* index into the observations' domains */
    int vnode;                /* -1 for REPLACE_VM */
    /* MIGRATE_VNODE */
    struct vn_bitmap from_idx;
    int to_idx;
    uint64_t mib;
    bool rehome; /* the vnode's pnode in the record becomes `to_idx` with this batch */
    /* SET_SOFT_AFFINITY */
    struct vn_bitmap vcpus;
    struct vn_bitmap nodes_idx; /* also REPLACE_VM's new node set */
    /* REPLACE_VM */
    int vnode_to_idx[VN_MAX_VNODES];
    struct vn_claim claim_os;
    char reason[VN_BAL_REASON]; /* one sentence, Linux node numbers */
};

/* The defaults named above. */
void vn_bal_params_default(struct vn_bal_params *p);
/* Zeroed host state (equivalent to a zeroed struct). */
void vn_bal_state_init(struct vn_bal_state *s);
/* Zeroed domain state; the first vn_bal_run() fills it. */
void vn_bal_dom_state_init(struct vn_bal_dom_state *ds);

/* Runs one interval: reads host and doms[0..ndoms), updates st and dst[0..ndoms) (parallel
 * to doms), writes at most max_out actions to out and their number to *nout.  Domains are
 * taken in order, vnodes in order, ties go to the lowest node index: same inputs, same
 * outputs.  Returns -1 with err on malformed input (nothing is changed then). */
int vn_bal_run(const struct vn_bal_params *p, struct vn_bal_state *st,
               const struct vn_bal_host_obs *host, int ndoms, const struct vn_bal_dom_obs *doms,
               struct vn_bal_dom_state *dst, struct vn_bal_action *out, int max_out, int *nout,
               struct vn_error *err);

/* "migrate", "soft-affinity", "replace", "skipped". */
const char *vn_bal_kind_name(enum vn_bal_kind k);
/* "hysteresis", "rate-limit", "opt-out", "paused", "fixed", "no-room". */
const char *vn_bal_skip_name(enum vn_bal_skip s);

/* Share (0..1) of a vnode's vCPU time spent on nodes that hold its memory, weighted by the
 * memory there: sum over n of time[n]/time * resident[n]/resident; 1 when it has no vCPU
 * time or no memory.  The number `vnuma balance status` shows. */
double vn_bal_locality(const struct vn_bal_dom_obs *d, int vnode, int nnodes);

#endif
