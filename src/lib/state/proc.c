/* Is the process of a record still the one we started?  A pid alone is not enough: after
 * QEMU dies its pid can be given to any new process, so a record keeps the start time too. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proc/proc.h"
#include "../util/cleanup.h"

/* The state letter and start time of pid, through the one /proc reader. */
static int read_stat(pid_t pid, char *state, uint64_t *start, struct vn_error *err)
{
    struct vn_proc_stat st;
    if (vn_proc_stat_read(pid, 0, &st, err) < 0)
        return -1;
    *state = st.state;
    *start = st.starttime;
    return 0;
}

int vn_proc_start_time(pid_t pid, uint64_t *start, struct vn_error *err)
{
    char state;
    return read_stat(pid, &state, start, err);
}

bool vn_proc_alive(pid_t pid, uint64_t start)
{
    char state;
    uint64_t now;
    if (read_stat(pid, &state, &now, NULL) < 0)
        return false;
    /* A zombie has exited; only its parent's wait() keeps the entry. */
    return now == start && state != 'Z' && state != 'X';
}

bool vn_domain_alive(const struct vn_domain_record *r)
{
    return r->qemu_pid > 0 && vn_proc_alive(r->qemu_pid, r->qemu_start);
}

bool vn_domain_holds_claim(const struct vn_domain_record *r)
{
    if (vn_domain_alive(r))
        return true;
    if (r->status != VN_DOMAIN_CREATING)
        return false;
    /* Unknown creator: count the claim rather than risk overcommitting. */
    return r->creator_pid <= 0 || vn_proc_alive(r->creator_pid, r->creator_start);
}
