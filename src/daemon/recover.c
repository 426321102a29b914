/* vnumad's crash recovery at start: vnode moves that `vnuma mem-move` (or a killed vnumad)
 * left half-done in a record are finished, never reverted (docs/VNUMAD.md, "Crash safety"). */
#include <json-c/json.h>
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
        if (vn_state_read_record(v->state, names[i], &r, &err) < 0)
            continue;
        struct json_object *m = NULL;
        if (r.extra && vn_domain_alive(&r))
            json_object_object_get_ex(r.extra, "migrations", &m);
        if (m && json_object_is_type(m, json_type_object)) {
            json_object_object_foreach(m, key, val)
            {
                struct json_object *st = NULL, *to = NULL, *pid = NULL, *ps = NULL;
                json_object_object_get_ex(val, "state", &st);
                json_object_object_get_ex(val, "to", &to);
                json_object_object_get_ex(val, "pid", &pid);
                json_object_object_get_ex(val, "pid_start", &ps);
                const char *s = json_object_get_string(st);
                if (!s || !to || !json_object_is_type(to, json_type_array))
                    continue;
                if (strcmp(s, "moving") == 0 && vn_proc_alive((pid_t)json_object_get_int(pid),
                                                              (uint64_t)json_object_get_int64(ps)))
                    continue; /* someone is at it */
                struct vn_domain_migrate_opts o;
                memset(&o, 0, sizeof o);
                o.state_dir = v->state_path;
                o.vnode = atoi(key);
                o.rate_mib_s = v->params.vm_mib_s;
                o.stop = v->stop;
                vn_bitmap_zero(&o.nodes);
                for (size_t k = 0; k < json_object_array_length(to); k++)
                    vn_bitmap_set(&o.nodes, json_object_get_int(json_object_array_get_idx(to, k)));
                vnd_log(v, "Domain '%s': finishing the move of vnode %d left %s by pid %d.", r.name,
                        o.vnode, s, json_object_get_int(pid));
                struct vn_domain_migrate_result *res = calloc(1, sizeof *res);
                struct vn_error e2 = {0};
                if (!res || vn_domain_migrate(r.name, &o, res, &e2) < 0)
                    vnd_log(v, "Domain '%s': the move of vnode %d was not finished: %s", r.name,
                            o.vnode, res ? e2.msg : "out of memory");
                else
                    vnd_log(v, "Domain '%s': the move of vnode %d is finished.", r.name, o.vnode);
                free(res);
            }
        }
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, n);
}
