#include "softaff.h"

void vn_softaff_params_default(struct vn_softaff_params *p)
{
    p->high = 0.9;
    p->low = 0.5;
    p->widen_after = 3;
    p->narrow_after = 5;
    p->max_steps = 1;
}

void vn_softaff_init(struct vn_softaff_state *s, int home)
{
    *s = (struct vn_softaff_state){.home = home};
    vn_bitmap_zero(&s->allowed);
    vn_bitmap_set(&s->allowed, home);
}

/* The nodes of the nearest ring (smallest distance from home among nodes not yet allowed)
 * that are not overloaded; a ring with only overloaded nodes is passed over. */
static bool next_ring(const struct vn_softaff_params *p, int nnodes, const int *dist,
                      const double *pressure, const struct vn_softaff_state *s,
                      struct vn_bitmap *ring)
{
    const int *row = dist + (long)s->home * nnodes;
    int floor = -1;
    for (;;) {
        int best = -1;
        for (int n = 0; n < nnodes; n++)
            if (!vn_bitmap_test(&s->allowed, n) && row[n] > floor && (best < 0 || row[n] < best))
                best = row[n];
        if (best < 0)
            return false;
        vn_bitmap_zero(ring);
        for (int n = 0; n < nnodes; n++)
            if (!vn_bitmap_test(&s->allowed, n) && row[n] == best && pressure[n] < p->high)
                vn_bitmap_set(ring, n);
        if (!vn_bitmap_empty(ring))
            return true;
        floor = best;
    }
}

int vn_softaff_step(const struct vn_softaff_params *p, int nnodes, const int *dist,
                    const double *pressure, struct vn_softaff_state *s, struct vn_error *err)
{
    if (nnodes < 1 || nnodes > VN_SOFTAFF_MAX_NODES)
        return vn_error_set(err, "soft affinity needs 1 to %d nodes, not %d", VN_SOFTAFF_MAX_NODES,
                            nnodes);
    if (s->home < 0 || s->home >= nnodes)
        return vn_error_set(err, "the home node %d is not one of the %d host nodes", s->home,
                            nnodes);
    if (!(p->low < p->high) || p->widen_after < 1 || p->narrow_after < 1 || p->max_steps < 0 ||
        p->max_steps > VN_SOFTAFF_MAX_STEPS)
        return vn_error_set(err,
                            "invalid soft affinity parameters: low %.2f must be below high "
                            "%.2f, the sample counts at least 1, steps 0 to %d",
                            p->low, p->high, VN_SOFTAFF_MAX_STEPS);

    double home = pressure[s->home];
    if (home >= p->high) {
        s->over++;
        s->under = 0;
    } else if (home <= p->low) {
        s->under++;
        s->over = 0;
    } else {
        /* In the band between the marks nothing is decided and both runs start over: this is
         * what keeps a load hovering near one mark from flipping the set. */
        s->over = s->under = 0;
    }
    if (s->over > p->widen_after)
        s->over = p->widen_after; /* saturate: a long overload must not overflow the count */
    if (s->under > p->narrow_after)
        s->under = p->narrow_after;

    if (s->over >= p->widen_after && s->steps < p->max_steps) {
        struct vn_bitmap ring;
        s->over = 0;
        if (!next_ring(p, nnodes, dist, pressure, s, &ring))
            return 0;
        s->added[s->steps++] = ring;
        vn_bitmap_or(&s->allowed, &ring);
        return 1;
    }
    if (s->under >= p->narrow_after && s->steps > 0) {
        s->under = 0;
        vn_bitmap_andnot(&s->allowed, &s->added[--s->steps]);
        vn_bitmap_set(&s->allowed, s->home);
        return 1;
    }
    return 0;
}

void vn_softaff_cpus(const struct vn_softaff_state *s, int nnodes,
                     const struct vn_bitmap *node_cpus, struct vn_bitmap *cpus)
{
    vn_bitmap_zero(cpus);
    VN_BITMAP_FOREACH(n, &s->allowed)
    if (n < nnodes)
        vn_bitmap_or(cpus, &node_cpus[n]);
}

void vn_softaff_smooth(double *avg, const double *cur, int nnodes, double alpha)
{
    for (int n = 0; n < nnodes; n++)
        avg[n] = avg[n] < 0 ? cur[n] : avg[n] + alpha * (cur[n] - avg[n]);
}
