/* Rendering a placement for the tools that enact it: QEMU's command line, libvirt domain XML
 * fragments, xl.cfg lines, and JSON.
 *
 * Pure like place/: everything is returned as strings (or a json-c object) for the caller to
 * print or execute; nothing here writes or spawns.  The QEMU argv is real: the launcher gives
 * it to execve() as is, so every element is one argument and nothing is shell-quoted. */
#ifndef VN_RENDER_H
#define VN_RENDER_H

#include "../config/spec.h"
#include "../place/place.h"
#include "../topo/topo.h"
#include "../util/error.h"

struct json_object;

/* The NUMA part of a QEMU command line: -m, -smp, one memory-backend-file per vnode under
 * runtime_dir (a file vnodeN each, bound to its host nodes), -numa node/cpu/dist.  Returns a
 * NULL-terminated array to free with vn_argv_free(), or NULL with err set. */
char **vn_render_qemu_argv(const struct vn_placement *p, const char *runtime_dir,
                           struct vn_error *err);
/* Frees an argv from vn_render_qemu_argv (NULL is fine). */
void vn_argv_free(char **argv);
/* Cleanup helper for VN_CLEANUP(vn_argv_freep). */
void vn_argv_freep(char ***argv);
/* argv as one line a POSIX shell would split back into the same words (for display). */
char *vn_render_shell_line(const char *const *argv);

/* libvirt domain XML fragments: <vcpu>, <cputune> with <vcpupin>, <numatune> with <memory>
 * and <memnode>, and <cpu><numa> with cells and <distances>.  Malloc'd, NULL when out of
 * memory. */
char *vn_render_libvirt_xml(const struct vn_placement *p);

/* xl.cfg lines: vnuma = [...] (pnode, size, vcpus, vdistances), cpus and cpus_soft. */
char *vn_render_xl(const struct vn_placement *p);

/* The placement as a JSON object (what `vnuma place --format json` prints). */
struct json_object *vn_render_json(const struct vn_placement *p);
/* A claim as the placement JSON spells it: [{"node", "memory_mib", "vcpus"}]. */
struct json_object *vn_render_claim_json(const struct vn_claim *claim);

/* The exact inverse of vn_render_json (strict: every key it writes, of its type, no other;
 * canonical lists); label starts each message ("state record 'x.json': placement"). */
int vn_placement_from_json(struct json_object *o, const char *label, struct vn_placement *p,
                           struct vn_error *err);
/* The inverse of vn_render_claim_json, as strict. */
int vn_claim_from_json(struct json_object *a, const char *label, struct vn_claim *out,
                       struct vn_error *err);

#endif
