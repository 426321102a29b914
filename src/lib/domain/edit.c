/* vn_dom_edit: the one way a command changes an existing record - read it under the host
 * lock, let the caller change it, write it back atomically - so no edit is lost to a
 * concurrent one and every write holds the lock. */
#include <stdio.h>

#include "../util/cleanup.h"
#include "domain_int.h"

int vn_dom_edit_in(struct vn_state *s, const char *name, const char *what, int timeout_ms,
                   vn_dom_edit_fn edit, const void *arg, struct vn_error *err)
{
    if (vn_state_lock(s, timeout_ms, what, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot update its record", name);
    struct vn_domain_record r;
    int rc = vn_dom_read(s, name, &r, err);
    if (rc == 0)
        rc = edit(s, &r, arg, err);
    if (rc == 0 && vn_state_write_record(s, &r, err) < 0)
        rc = vn_error_prefix(err, "domain '%s': cannot write its record", name);
    vn_state_unlock(s);
    vn_domain_record_clear(&r);
    return rc;
}

int vn_dom_edit(const char *state_dir, const char *name, const char *what, int timeout_ms,
                vn_dom_edit_fn edit, const void *arg, struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (vn_dom_open_existing(vn_domain_state_dir(state_dir), &s, err) < 0)
        return -1;
    if (!s)
        return vn_error_set(err, "domain '%s' does not exist", name);
    return vn_dom_edit_in(s, name, what, timeout_ms, edit, arg, err);
}
