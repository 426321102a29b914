/* vn_domain_set_balance: `vnuma balance DOMAIN on|off`, the operator's word on whether vnumad
 * may move a domain, kept in its record (durable across vnumad restarts). */
#include <stdio.h>

#include "domain_int.h"

#define LOCK_TIMEOUT_MS 10000

static int set_flag(struct vn_state *s, struct vn_domain_record *r, const void *arg,
                    struct vn_error *err)
{
    (void)s;
    (void)err;
    r->balance = *(const bool *)arg;
    return 0;
}

int vn_domain_set_balance(const char *state_dir, const char *name, bool on, struct vn_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "balance '%s' %s", name, on ? "on" : "off");
    return vn_dom_edit(state_dir, name, what, LOCK_TIMEOUT_MS, set_flag, &on, err);
}
