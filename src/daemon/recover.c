/* vnumad's crash recovery at start: vnode moves that `vnuma mem-move` (or a killed vnumad)
 * left half-done in a record are finished, never reverted (docs/VNUMAD.md, "Crash safety"). */
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"
#include "vnumad.h"

/* A vnode move a killed vnumad (or vnuma mem-move) left behind is finished: migrated again to
 * the nodes its entry names.  vn_domain_migrate refuses while a live process owns the entry. */
void vnd_recover(struct vnd *v)
{
    char **names = NULL;
    int n = 0;
    struct vn_error err = {0};
    if (vn_state_list(v->state, &names, &n, &err) < 0)
        return;
    for (int i = 0; i < n; i++) {
        struct vn_domain_record r;
        if (vn_domain_read(v->state, names[i], &r, &err) < 0)
            continue;
        for (int k = 0; vn_domain_alive(&r) && k < r.nmoves; k++) {
            const struct vn_mem_move *m = &r.moves[k];
            if (m->state == VN_MOVE_MOVING && vn_proc_alive(m->pid, m->pid_start))
                continue; /* someone is at it */
            struct vn_domain_migrate_opts o;
            memset(&o, 0, sizeof o);
            o.state_dir = v->state_path;
            o.vnode = m->vnode;
            o.rate_mib_s = v->params.vm_mib_s;
            o.stop = v->stop;
            o.nodes = m->to;
            vnd_log(v, "Domain '%s': finishing the move of vnode %d left %s by pid %d.", r.name,
                    o.vnode, m->state == VN_MOVE_MOVING ? "moving" : "split", (int)m->pid);
            struct vn_domain_migrate_result *res = calloc(1, sizeof *res);
            struct vn_error e2 = {0};
            if (!res || vn_domain_migrate(r.name, &o, res, &e2) < 0)
                vnd_log(v, "Domain '%s': the move of vnode %d was not finished: %s", r.name,
                        o.vnode, res ? e2.msg : "out of memory");
            else
                vnd_log(v, "Domain '%s': the move of vnode %d is finished.", r.name, o.vnode);
            free(res);
        }
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, n);
}
