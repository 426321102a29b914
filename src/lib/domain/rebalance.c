/* What vnumad needs of a running domain besides vn_domain_migrate: changing the record's
 * placement in place (a vnode rehomed, a VM re-placed) and moving memory home in bounded
 * slices with a byte budget.
 *
 * The order follows the balancing policy's contract (balance/policy.h): the record changes
 * first (the vnode's pnode and the claim say the new node at once, under the host lock, in
 * one atomic record write), then the memory follows in batches.  Between the two the record
 * is true about where the vnode belongs and what it reserves; where its pages are now is
 * measured (vnuma info, vnumad's residency sampling), and pages off the recorded pnode are
 * what the policy's completion rule moves on the next intervals, also after a crash.  A
 * slice mover therefore never writes the record: it only moves pages towards the pnode the
 * record names, and counts the pages it really moved. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../render/render.h"
#include "../util/cleanup.h"
#include "domain_int.h"

#define LOCK_TIMEOUT_MS 30000
#define MAX_MAPPINGS    8

/* ---- placement updates ------------------------------------------------------------------- */

int vn_domain_placement_apply(struct vn_domain_record *r,
                              const struct vn_domain_placement_update *u, struct vn_error *err)
{
    struct vn_placement *p = r->placement;
    int nv = p ? p->nvnodes : 0;
    if (nv < 1 || u->nvnodes != nv)
        return vn_error_set(err,
                            "domain '%s' has %d vnodes in its record, but the new placement has %d",
                            r->name, nv, u->nvnodes);
    for (int v = 0; v < nv; v++) {
        if (u->pnode[v] < 0)
            continue;
        if (u->pnode[v] >= VN_BITMAP_BITS)
            return vn_error_set(err, "host node %d does not exist", u->pnode[v]);
        if (vn_domain_move(r, v))
            return vn_error_set(err,
                                "domain '%s': vnode %d has an unfinished migration in its record; "
                                "finish it with 'vnuma mem-move' first",
                                r->name, v);
    }
    struct vn_claim c = p->claim;
    if (u->claim) {
        c = *u->claim;
    } else {
        /* The rehomed vnodes' memory and vCPUs leave their old pnodes for the new one. */
        for (int v = 0; v < nv; v++) {
            if (u->pnode[v] < 0)
                continue;
            int vcpus = 0;
            for (int i = 0; i < p->vcpus; i++)
                vcpus += p->vcpu_vnode[i] == v;
            uint64_t mem = p->vnodes[v].mem_mib;
            struct vn_claim_share from[VN_MAX_VNODES];
            int nfrom = vn_claim_split_even(&p->vnodes[v].pnodes, mem, vcpus, from, VN_MAX_VNODES);
            struct vn_claim_share to = {u->pnode[v], mem, vcpus};
            if (vn_claim_move(&c, from, nfrom, &to, 1) < 0)
                return vn_error_set(err, "domain '%s': the claim has no room for another node",
                                    r->name);
        }
    }
    /* The new soft sets first: a full set table fails before anything changed. */
    int slot[VN_MAX_VNODES];
    for (int v = 0; v < nv; v++) {
        slot[v] = -1;
        if (u->pnode[v] >= 0 && u->soft_cpus && !vn_bitmap_empty(&u->soft_cpus[v]) &&
            (slot[v] = vn_placement_add_set(p, &u->soft_cpus[v])) < 0)
            return vn_error_set(err, "domain '%s': the placement has no room for another CPU set",
                                r->name);
    }
    for (int v = 0; v < nv; v++) {
        if (u->pnode[v] < 0)
            continue;
        vn_bitmap_zero(&p->vnodes[v].pnodes);
        vn_bitmap_set(&p->vnodes[v].pnodes, u->pnode[v]);
        /* The hard sets stay: they are the user's bound (vnumad leaves pinned domains alone). */
        if (slot[v] < 0)
            continue;
        p->vnodes[v].soft = slot[v];
        for (int i = 0; i < p->vcpus; i++)
            if (p->vcpu_vnode[i] == v)
                p->vcpu_soft[i] = slot[v];
    }
    p->claim = c;
    return 0;
}

/* The edit of vn_domain_set_placement: the change, then the one invariant - the new claim
 * with every other domain's, checked under the lock the write holds (a second re-place for
 * the same last free node waits and fails). */
static int replace_edit(struct vn_state *s, struct vn_domain_record *r, const void *arg,
                        struct vn_error *err)
{
    const struct vn_domain_placement_update *u = arg;
    if (!vn_domain_alive(r) || r->status != VN_DOMAIN_RUNNING)
        return vn_error_set(err, "domain '%s' is not running (state '%s')", r->name,
                            vn_dom_state(r));
    if (vn_domain_placement_apply(r, u, err) < 0)
        return -1;
    if (vn_dom_claims_fit(s, u->topo, r->name, vn_domain_claim(r), err) < 0)
        return vn_error_prefix(err, "domain '%s' cannot be re-placed", r->name);
    return 0;
}

int vn_domain_set_placement(const char *state_dir, const char *name,
                            const struct vn_domain_placement_update *u, struct vn_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "re-place '%s'", name);
    return vn_dom_edit(state_dir, name, what, LOCK_TIMEOUT_MS, replace_edit, u, err);
}

/* ---- moving memory home in slices -------------------------------------------------------- */

struct vn_domain_move {
    char name[VN_DOMAIN_NAME_MAX + 1];
    int vnode;
    pid_t pid;
    uint64_t pid_start;
    int target; /* Linux node number */
    size_t page;
    int nmaps, map;
    struct vn_mapping maps[MAX_MAPPINGS];
    uintptr_t cursor; /* next address of maps[map] to look at */
    uint64_t budget_pages;
    struct vn_batch_ctl ctl; /* pages per move call */
    struct vn_domain_move_stats st;
    void **pages;
    int *nodes, *status;
    uint32_t cap;
};

void vn_domain_move_free(struct vn_domain_move *m)
{
    if (!m)
        return;
    free(m->pages);
    free(m->nodes);
    free(m->status);
    free(m);
}

int vn_domain_move_begin(const char *state_dir, const char *name, int vnode, uint64_t max_mib,
                         struct vn_domain_move **out, struct vn_error *err)
{
    *out = NULL;
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    struct vn_domain_record r;
    if (vn_dom_open_read(vn_domain_state_dir(state_dir), name, &s, &r, err) < 0) {
        vn_domain_record_clear(&r);
        return -1;
    }
    int rc = -1;
    struct vn_domain_move *m = calloc(1, sizeof *m);
    if (!m) {
        vn_error_set(err, "out of memory");
        goto out;
    }
    snprintf(m->name, sizeof m->name, "%s", name);
    m->vnode = vnode;
    m->pid = r.qemu_pid;
    m->pid_start = r.qemu_start;
    m->page = (size_t)sysconf(_SC_PAGESIZE);
    if (!vn_domain_alive(&r) || r.status != VN_DOMAIN_RUNNING) {
        vn_error_set(err, "domain '%s' is not running (state '%s')", name, vn_dom_state(&r));
        goto out;
    }
    const struct vn_bitmap *pn = r.placement && vnode >= 0 && vnode < r.placement->nvnodes
                                     ? &r.placement->vnodes[vnode].pnodes
                                     : NULL;
    if (!pn || vn_bitmap_count(pn) != 1) {
        vn_error_set(err, "domain '%s' has no vnode %d with a single pnode in its record", name,
                     vnode);
        goto out;
    }
    m->target = vn_bitmap_next(pn, -1);
    m->st.target = m->target;
    const char *mem_dir = vn_dom_record_mem_dir(&r);
    if (!mem_dir) {
        vn_error_set(err, "the record of domain '%s' names no memory directory", name);
        goto out;
    }
    char file[4200];
    snprintf(file, sizeof file, "%s/vnode%d", mem_dir, vnode);
    int n = vn_mapping_find(r.qemu_pid, file, m->maps, MAX_MAPPINGS, err);
    if (n < 0)
        goto out;
    if (n == 0) {
        vn_error_set(err, "QEMU (pid %d) of domain '%s' does not map '%s'", (int)r.qemu_pid, name,
                     file);
        goto out;
    }
    m->nmaps = n > MAX_MAPPINGS ? MAX_MAPPINGS : n;
    m->cursor = m->maps[0].start;
    struct vn_bitmap to;
    vn_bitmap_zero(&to);
    vn_bitmap_set(&to, m->target);
    for (int i = 0; i < m->nmaps; i++) {
        m->st.pages_total += (m->maps[i].end - m->maps[i].start) / m->page;
        /* Future faults land on the recorded pnode too. */
        if (vn_shared_policy_set(file, m->maps[i].offset, m->maps[i].end - m->maps[i].start, &to,
                                 err) < 0) {
            vn_error_prefix(err, "domain '%s', vnode %d", name, vnode);
            goto out;
        }
    }
    m->budget_pages = max_mib ? (max_mib << 20) / m->page : UINT64_MAX;
    vn_batch_init(&m->ctl, VN_MIGRATE_PAUSE_MS, 16, VN_MIGRATE_MAX_BATCH);
    *out = m;
    m = NULL;
    rc = 0;
out:
    vn_domain_move_free(m);
    vn_domain_record_clear(&r);
    return rc;
}

void vn_domain_move_set_budget(struct vn_domain_move *m, uint64_t max_mib)
{
    m->budget_pages = m->st.pages_moved + (max_mib ? (max_mib << 20) / m->page : UINT64_MAX);
}

int vn_domain_move_step(struct vn_domain_move *m, uint32_t max_pages, struct vn_error *err)
{
    if (m->map >= m->nmaps || m->st.pages_moved >= m->budget_pages)
        return 0;
    if (max_pages == 0)
        max_pages = 1;
    if (max_pages > m->cap) {
        void **p = realloc(m->pages, max_pages * sizeof *p);
        if (p)
            m->pages = p;
        int *nd = realloc(m->nodes, max_pages * sizeof *nd);
        if (nd)
            m->nodes = nd;
        int *st = realloc(m->status, max_pages * sizeof *st);
        if (st)
            m->status = st;
        if (!p || !nd || !st)
            return vn_error_set(err, "out of memory");
        m->cap = max_pages;
    }
    if (!vn_proc_alive(m->pid, m->pid_start))
        return vn_error_set(err, "QEMU (pid %d) of domain '%s' has exited", (int)m->pid, m->name);
    const struct vn_mapping *mp = &m->maps[m->map];
    uint64_t left = (mp->end - m->cursor) / m->page;
    uint32_t n = left < max_pages ? (uint32_t)left : max_pages;
    for (uint32_t i = 0; i < n; i++)
        m->pages[i] = (void *)(m->cursor + (uintptr_t)i * m->page);
    /* Where the pages are now (nodes NULL: query only). */
    if (vn_pages_move(m->pid, n, m->pages, NULL, m->status, NULL, NULL, err) < 0)
        return vn_error_prefix(err, "domain '%s'", m->name);
    uint64_t room = m->budget_pages - m->st.pages_moved;
    if (room > m->ctl.next)
        room = m->ctl.next;
    uint32_t k = 0;
    uint32_t last = n; /* the first page not handled when the budget runs out */
    for (uint32_t i = 0; i < n; i++) {
        int s = m->status[i];
        if (s < 0) {
            m->st.pages_absent++;
            continue;
        }
        if (s == m->target) {
            m->st.pages_home++;
            continue;
        }
        if (k >= room) {
            last = i;
            break;
        }
        m->pages[k] = m->pages[i];
        m->nodes[k] = m->target;
        k++;
    }
    if (k > 0) {
        double ms = 0;
        int mrc = vn_pages_move(m->pid, k, m->pages, m->nodes, m->status, &m->ctl, &ms, err);
        m->st.move_ms += ms;
        m->st.calls++;
        if (ms > m->st.longest_call_ms)
            m->st.longest_call_ms = ms;
        if (mrc < 0)
            return vn_error_prefix(err, "domain '%s'", m->name);
        for (uint32_t i = 0; i < k; i++) {
            if (m->status[i] == m->target)
                m->st.pages_moved++;
            else
                m->st.pages_failed++;
        }
    }
    m->st.pages_scanned += last;
    m->cursor += (uintptr_t)last * m->page;
    if (m->cursor >= mp->end && ++m->map < m->nmaps)
        m->cursor = m->maps[m->map].start;
    return m->map < m->nmaps && m->st.pages_moved < m->budget_pages ? 1 : 0;
}

void vn_domain_move_get_stats(const struct vn_domain_move *m, struct vn_domain_move_stats *st)
{
    *st = m->st;
}
