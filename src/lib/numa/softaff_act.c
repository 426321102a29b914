#include "softaff_act.h"

#include "affinity.h"

int vn_softaff_apply(pid_t tid, const struct vn_bitmap *added, const struct vn_bitmap *cpus,
                     struct vn_error *err)
{
    if (added && !vn_bitmap_empty(added) && vn_affinity_set(tid, added, err) < 0)
        return -1;
    return vn_affinity_set(tid, cpus, err);
}
