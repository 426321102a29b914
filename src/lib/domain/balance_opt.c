/* vn_domain_set_balance: `vnuma balance DOMAIN on|off`, the operator's word on whether vnumad
 * may move a domain, kept in its record (durable across vnumad restarts). */
#include <errno.h>
#include <stdio.h>

#include "../util/cleanup.h"
#include "domain_int.h"

#define LOCK_TIMEOUT_MS 10000

int vn_domain_set_balance(const char *state_dir, const char *name, bool on, struct vn_error *err)
{
    VN_CLEANUP(vn_state_closep) struct vn_state *s = NULL;
    if (vn_dom_open_existing(vn_domain_state_dir(state_dir), &s, err) < 0)
        return -1;
    if (!s)
        return vn_error_set(err, "domain '%s' does not exist", name);
    char what[128];
    snprintf(what, sizeof what, "balance '%s' %s", name, on ? "on" : "off");
    if (vn_state_lock(s, LOCK_TIMEOUT_MS, what, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot update its record", name);
    struct vn_domain_record r;
    int rc = vn_dom_read(s, name, &r, err);
    if (rc == 0) {
        r.balance = on;
        if (vn_state_write_record(s, &r, err) < 0)
            rc = vn_error_prefix(err, "domain '%s': cannot write its record", name);
    }
    vn_domain_record_clear(&r);
    vn_state_unlock(s);
    return rc;
}
