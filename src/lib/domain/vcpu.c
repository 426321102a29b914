/* vn_domain_vcpu_affinity: xl's vcpu-pin / vcpu-affinity on a running domain.
 *
 * A vCPU has a soft set (the CPUs of its preferred nodes, where it starts) and a hard set (a
 * bound never crossed); its thread runs on soft ∩ hard, on hard alone when they do not meet,
 * and on either when only one is set.  Creation takes both from the placement; this call
 * changes one or both on the live thread (found with QMP query-cpus-fast) and records them in
 * the record's vcpu-pin entries (extra.vcpu_affinity on disk), which `vnuma info` shows instead of
 * the placement's sets. The dynamic widening of the soft set under load is balance/softaff.h +
 * numa/softaff_act.h, driven by the daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../numa/affinity.h"
#include "../numa/nodeinfo.h"
#include "../qemu/vcpu_threads.h"
#include "../util/cleanup.h"
#include "domain_int.h"

#define LOCK_TIMEOUT_MS 30000
#define QMP_TIMEOUT_MS  5000

/* The soft (or hard) set a record gives vCPU v: vcpu-pin's when it set one, else the
 * placement's; false when there is none. */
static bool record_set(const struct vn_domain_record *r, int v, bool hard, struct vn_bitmap *out)
{
    const struct vn_vcpu_pin *pin = vn_domain_pin(r, v);
    if (pin) {
        *out = hard ? pin->hard : pin->soft;
        return hard ? pin->have_hard : pin->have_soft;
    }
    const struct vn_bitmap *b = !r->placement ? NULL
                                : hard        ? vn_placement_hard(r->placement, v)
                                              : vn_placement_soft(r->placement, v);
    if (!b || vn_bitmap_empty(b))
        return false;
    *out = *b;
    return true;
}

struct record_pins {
    const struct vn_domain_vcpu_result *res;
    const struct vn_domain_vcpu_opts *opts;
};

/* vn_dom_edit callback: the affinity just set, as vcpu-pin entries of the record. */
static int record_pins(struct vn_state *s, struct vn_domain_record *w, const void *arg,
                       struct vn_error *err)
{
    (void)s;
    const struct record_pins *a = arg;
    for (int i = 0; i < a->res->n; i++) {
        const struct vn_domain_vcpu_one *one = &a->res->v[i];
        struct vn_vcpu_pin *pin = vn_domain_pin_add(w, one->vcpu);
        if (!pin)
            return vn_error_sys(err, ENOMEM, "domain '%s': no memory for its record", w->name);
        pin->have_soft = one->have_soft;
        pin->soft = one->soft;
        pin->have_hard = one->have_hard;
        pin->hard = one->hard;
        /* The nodes --soft named stay until a new --soft names others. */
        if (a->opts->set_soft) {
            pin->have_soft_nodes = true;
            pin->soft_nodes = a->opts->soft_nodes;
        }
    }
    return 0;
}

int vn_domain_vcpu_affinity(const char *state_dir, const char *name,
                            const struct vn_domain_vcpu_opts *o, struct vn_domain_vcpu_result *res,
                            struct vn_error *err)
{
    memset(res, 0, sizeof *res);
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(state_dir, name, &s, &r, err) < 0) {
        vn_domain_record_clear(&r);
        return -1;
    }
    int rc = -1;
    int nv = r.placement ? r.placement->vcpus : 0;
    VN_CLEANUP_FREE pid_t *tids = NULL;
    struct vn_bitmap soft_cpus;
    vn_bitmap_zero(&soft_cpus);
    if (!vn_domain_alive(&r) || r.status == VN_DOMAIN_CREATING) {
        vn_error_set(err, "domain '%s' is not running (state '%s')", name, vn_dom_state(&r));
        goto out;
    }
    if (nv < 0 || nv > (int)VN_ARRAY_SIZE(res->v)) {
        vn_error_set(err, "domain '%s': its record has %d vCPUs, more than the %zu vnuma handles",
                     name, nv, VN_ARRAY_SIZE(res->v));
        goto out;
    }
    if (o->vcpu >= nv) {
        vn_error_set(err, "domain '%s' has no vCPU %d (it has %d)", name, o->vcpu, nv);
        goto out;
    }
    if (o->set_soft)
        VN_BITMAP_FOREACH(n, &o->soft_nodes)
        {
            struct vn_bitmap c;
            if (vn_node_cpus(n, &c, err) < 0) {
                vn_error_prefix(err, "domain '%s': soft affinity node %d", name, n);
                goto out;
            }
            vn_bitmap_or(&soft_cpus, &c);
        }
    if (o->set_soft && vn_bitmap_empty(&soft_cpus)) {
        vn_error_set(err, "domain '%s': the soft affinity nodes have no CPUs", name);
        goto out;
    }
    tids = calloc((size_t)nv + 1, sizeof *tids);
    if (!tids) {
        vn_error_sys(err, ENOMEM, "domain '%s'", name);
        goto out;
    }
    if (vn_qemu_vcpu_threads(r.qmp_socket, name, r.qemu_pid, nv, QMP_TIMEOUT_MS, tids, err) < 0)
        goto out;
    for (int v = o->vcpu < 0 ? 0 : o->vcpu; v < (o->vcpu < 0 ? nv : o->vcpu + 1); v++) {
        struct vn_domain_vcpu_one *one = &res->v[res->n];
        one->vcpu = v;
        one->have_soft =
            o->set_soft ? (one->soft = soft_cpus, true) : record_set(&r, v, false, &one->soft);
        one->have_hard =
            o->set_hard ? (one->hard = o->hard_cpus, true) : record_set(&r, v, true, &one->hard);
        if (one->have_soft && one->have_hard) {
            one->effective = one->soft;
            vn_bitmap_and(&one->effective, &one->hard);
            if (vn_bitmap_empty(&one->effective))
                one->effective = one->hard;
        } else if (one->have_soft || one->have_hard) {
            one->effective = one->have_hard ? one->hard : one->soft;
        } else {
            vn_node_online(&one->effective, err); /* unset both: every CPU */
            struct vn_bitmap all;
            vn_bitmap_zero(&all);
            VN_BITMAP_FOREACH(n, &one->effective)
            {
                struct vn_bitmap c;
                if (vn_node_cpus(n, &c, err) == 0)
                    vn_bitmap_or(&all, &c);
            }
            one->effective = all;
        }
        int tid = tids[v];
        if (tid <= 0) {
            vn_error_set(err, "domain '%s': QEMU reports no thread for vCPU %d", name, v);
            goto out;
        }
        one->thread_id = tid;
        if (vn_affinity_set(tid, &one->effective, err) < 0) {
            char buf[256];
            vn_bitmap_format_list(&one->effective, buf, sizeof buf);
            vn_error_prefix(err, "domain '%s': cannot put vCPU %d (thread %d) on CPUs '%s'", name,
                            v, tid, buf);
            goto out;
        }
        res->n++;
    }

    /* The record follows, under the lock. */
    char what[128];
    snprintf(what, sizeof what, "vcpu-affinity '%s'", name);
    struct record_pins arg = {.res = res, .opts = o};
    if (vn_dom_edit_in(s, name, what, LOCK_TIMEOUT_MS, record_pins, &arg, err) < 0)
        vn_error_prefix(err, "the affinity is set but not recorded");
    else
        rc = 0;
out:
    vn_domain_record_clear(&r);
    return rc;
}
