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

/* The record as JSON (the one writer) and back (the one reader; path names the file in
 * messages, r is init'ed by the caller). */
struct json_object *vn_record_to_json_(const struct vn_domain_record *r);
int vn_record_from_json_(struct json_object *obj, const char *path, const char *name,
                         struct vn_domain_record *r, struct vn_error *err);
/* True when the record's enums hold values the writer can name. */
bool vn_record_enums_valid_(const struct vn_domain_record *r);

#endif
