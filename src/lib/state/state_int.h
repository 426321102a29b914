/* Internals shared by the state dir's files (not part of the public API). */
#ifndef VN_STATE_INT_H
#define VN_STATE_INT_H

#include "state.h"

struct vn_state {
    char *dir;
    char *domains; /* dir/domains */
    char *run;     /* dir/run */
    int lock_fd;   /* host.lock while the lock is held, else -1 */
};

/* Removes temp files that a writer left behind when it crashed (call under the lock). */
void vn_state_clean_temp_(struct vn_state *s);

/* True when a file name in domains/ is a writer's temp file (".NAME.json.XXXXXX"). */
bool vn_state_is_temp_name_(const char *file);

#endif
