/* Internals shared by the files of the config module; nothing outside src/lib/config includes
 * this.
 *
 * The pipeline is: lexer.c (bytes -> tokens) -> parser.c (tokens -> a list of settings, each a
 * key and a value tree, xl's duplicate and += rules applied) -> spec_build.c and the key files
 * (settings -> struct vn_vm_spec) -> validate.c (rules across keys and against the host). */
#ifndef VN_CONFIG_INT_H
#define VN_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* More limits (with VN_CONFIG_MAX_BYTES and the error caps in config.h). */
#define VN_CONFIG_MAX_DEPTH 8   /* list nesting; vnuma needs 2 */
#define VN_CONFIG_MAX_KEYS  256 /* different keys in one file; vnuma knows or ignores ~160 */

/* ---- lexer.c ---- */

enum vn_tok_kind {
    VN_TOK_EOF,
    VN_TOK_NEWLINE,
    VN_TOK_SEMI,
    VN_TOK_IDENT,
    VN_TOK_NUMBER, /* text as written: decimal, 0x hex or 0-prefixed octal */
    VN_TOK_STRING, /* text is the dequoted contents */
    VN_TOK_EQUALS,
    VN_TOK_PLUS_EQUALS,
    VN_TOK_LBRACKET,
    VN_TOK_RBRACKET,
    VN_TOK_COMMA,
    VN_TOK_ERROR, /* text is the message (a whole sentence) */
};

struct vn_token {
    enum vn_tok_kind kind;
    struct vn_loc loc;
    char *text; /* owned; NULL for punctuation */
};

struct vn_tokens {
    int n, cap;
    struct vn_token *v;
};

/* Splits buf into tokens, ending with VN_TOK_EOF.  Lexical errors become VN_TOK_ERROR tokens
 * so that the parser can report them with the key they belong to.  Returns -1 only when
 * memory runs out. */
int vn_lex(const char *buf, size_t len, struct vn_tokens *out);
void vn_tokens_free(struct vn_tokens *t);
/* Human name of a token for messages ("'['", "a newline", "the end of the file"). */
const char *vn_tok_describe(const struct vn_token *t, char *buf, size_t len);

/* ---- parser.c ---- */

enum vn_cv_kind {
    VN_CV_STRING,
    VN_CV_NUMBER,
    VN_CV_LIST,
};

/* A config value: an atom or a list of values, with where it was written. */
struct vn_cv {
    enum vn_cv_kind kind;
    struct vn_loc loc;
    char *text; /* atoms */
    int n;      /* lists */
    struct vn_cv **items;
};

struct vn_setting {
    char *key;
    struct vn_loc loc;   /* of the key, in the statement that gave the final value */
    struct vn_cv *value; /* the final value after xl's last-wins and += rules */
    struct vn_loc first; /* of the first statement for this key */
};

struct vn_settings {
    int n, cap;
    struct vn_setting *v;
    struct vn_loc overflow; /* first statement dropped past VN_CONFIG_MAX_KEYS; line 0: none */
};

/* Parses tokens into settings; syntax errors go to diags.  Returns the number of errors. */
int vn_parse_settings(const struct vn_tokens *toks, struct vn_settings *out,
                      struct vn_diags *diags);
void vn_settings_free(struct vn_settings *s);
void vn_cv_free(struct vn_cv *v);
/* "a string", "a number" or "a list", for messages. */
const char *vn_cv_kind_name(enum vn_cv_kind k);

/* ---- keys.c ---- */

/* Distance between two words counting insertions, deletions, substitutions and swaps of
 * adjacent letters (optimal string alignment). */
int vn_edit_distance(const char *a, const char *b);
/* The candidate closest to word when it is close enough to be a likely typo, else NULL. */
const char *vn_did_you_mean(const char *word, const char *const *candidates, size_t n);
/* Name of the i-th key vnuma handles, NULL past the last (spec_build.c owns the table). */
const char *vn_known_key_name(size_t i);
/* Suggestion among every key vnuma knows or deliberately ignores. */
const char *vn_key_suggest(const char *key);
/* True for keys of xl.cfg that vnuma accepts and ignores (with a warning). */
bool vn_key_is_xen_ignored(const char *key);

/* ---- spec_build.c: shared helpers for the key handlers ---- */

/* Groups of keys whose value failed to parse: validation skips the rules that involve them,
 * so one mistake gives one message instead of a cascade. */
enum {
    VN_BAD_NAME = 1u << 0,
    VN_BAD_MEMORY = 1u << 1,
    VN_BAD_VCPUS = 1u << 2,
    VN_BAD_VNUMA = 1u << 3, /* the vnode list itself: every vNUMA rule is skipped */
    VN_BAD_VDIST = 1u << 4, /* distance matrix */
    VN_BAD_CPUS = 1u << 5,
    VN_BAD_CPUS_SOFT = 1u << 6,
    VN_BAD_GROUPS = 1u << 7,
    VN_BAD_VSIZE = 1u << 8,  /* vnode sizes */
    VN_BAD_VVCPUS = 1u << 9, /* vnode vCPU sets */
    VN_BAD_PNODE = 1u << 10, /* vnode to pnode map */
};

struct vn_build {
    struct vn_vm_spec *spec;
    struct vn_diags *diags;
    unsigned bad; /* VN_BAD_* */
    /* raw settings found during the first pass, combined in the finishing pass */
    const struct vn_setting *cmdline, *root, *extra;
    const struct vn_setting *vnuma;                                              /* Xen 4.5 form */
    const struct vn_setting *vnodes, *vnumamem, *vdistance, *vcpumap, *vnodemap; /* original */
    bool memory_set, maxmem_set, vcpus_set, maxvcpus_set;
    /* the VNC keys, combined by vn_build_vnc */
    const struct vn_setting *vnc, *vnclisten, *vncdisplay, *vncpasswd, *vnc_remote;
    /* the vNUMA description fixed these counts (vn_build_vnuma) */
    bool vnuma_gave_memory, vnuma_gave_vcpus;
};

void vn_build_error(struct vn_build *b, struct vn_loc loc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vn_build_warning(struct vn_build *b, struct vn_loc loc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses a number as xl does (strtol base 0: decimal, 0x hex, 0 octal); -1 when text is not
 * a whole non-negative number or exceeds max. */
int vn_parse_u64(const char *text, uint64_t max, uint64_t *out);
/* The atom of setting s as text (numbers and strings alike, as xl); NULL with an error when
 * the value is a list. */
const char *vn_build_atom(struct vn_build *b, const struct vn_setting *s);
/* A number in 0..max from an atom value v of key; -1 with an error. */
int vn_build_number(struct vn_build *b, const char *key, const struct vn_cv *v, uint64_t max,
                    uint64_t *out);
char *vn_strdup_checked(const char *s);

/* ---- vnuma_keys.c ---- */

/* Reads whichever vNUMA form the file used into spec->vnodes and spec->vdist, and when the
 * config leaves memory or vCPU counts out, derives them from the vnodes as xl does.  Runs
 * after every other key. */
void vn_build_vnuma(struct vn_build *b);
/* Completes the original form once the counts are final: splits memory evenly when there is
 * no vnumamem and spreads vCPUs over vnodes in blocks when there is no vnuma_vcpumap. */
void vn_build_vnuma_finish(struct vn_build *b);

/* ---- vnc_keys.c ---- */
/* Handler for vnc, vnclisten, vncdisplay, vncpasswd and vnc_remote: only collects them. */
void vn_build_vnc_key(struct vn_build *b, const struct vn_setting *s);
/* Checks the collected VNC keys together and fills spec->vnc.  Runs after every key. */
void vn_build_vnc(struct vn_build *b);

/* ---- cpus.c ---- */

/* Parses one xl CPULIST ("all", "0-3,^1", "nodes:0-1,^node:0", "1,node:1,^6") applying its
 * elements left to right as xl does.  With host NULL, "all" and node elements are only
 * checked for syntax and *needs_host is set; with a host they are expanded (node numbers
 * are Linux numbers) and an unknown node is an error.  Returns -1 with a message in err. */
int vn_cpulist_parse(const char *text, const struct vn_host_topo *host, struct vn_bitmap *out,
                     bool *needs_host, struct vn_error *err);
/* Handler for cpus/cpus_soft: string or per-vCPU list. */
void vn_build_affinity(struct vn_build *b, const struct vn_setting *s, struct vn_affinity *aff,
                       unsigned bad_flag);

/* ---- devices.c ---- */

/* Parses an xl disk spec (xl-disk-configuration(5)) into d; errors and warnings go to b. */
void vn_build_disk(struct vn_build *b, const char *key, const struct vn_cv *v, struct vn_disk *d);
/* Parses "[DDDD:]BB:DD.F[@VSLOT][,opt=val...]" into a normalised address. */
int vn_pci_parse(const char *text, char *addr, size_t len, struct vn_error *err);
void vn_build_disks(struct vn_build *b, const struct vn_setting *s);
void vn_build_vifs(struct vn_build *b, const struct vn_setting *s);
void vn_build_pci(struct vn_build *b, const struct vn_setting *s);

#endif
