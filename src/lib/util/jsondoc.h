/* Strict parsing of a whole JSON document from memory, for the files users write (host
 * files, load files): plain JSON only, bounded size and nesting, nothing after the
 * document, and no object with a key twice (json-c would keep the last one silently, so a
 * typo'd copy-paste would change a value without a word).  Messages name NAME:LINE:COLUMN. */
#ifndef VN_JSONDOC_H
#define VN_JSONDOC_H

#include <stddef.h>

#include "bitmap.h"
#include "error.h"

struct json_object;

/* Parses buf[0..len) of at most max bytes, nested at most depth levels.  Returns the
 * document (the caller puts it) or NULL with err. */
struct json_object *vn_json_parse_doc(const char *buf, size_t len, size_t max, int depth,
                                      const char *name, struct vn_error *err);

/* The first member of object o whose name is not in keys (NULL-terminated), or NULL when
 * every member is known (the strict readers' check). */
const char *vn_json_unknown_key(struct json_object *o, const char *const *keys);
/* The members of b as a JSON array of integers, ascending (how records spell node sets). */
struct json_object *vn_json_int_list(const struct vn_bitmap *b);

#endif
