/* Shared pieces of the `vnuma` command: the subcommand table's entry type, exit codes,
 * and the few output helpers every subcommand uses (errors to stderr, JSON to stdout). */
#ifndef VN_CLI_H
#define VN_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct json_object;
struct vn_diags;
struct vn_placement;

/* Exit codes, documented in README.md. */
enum {
    VN_EXIT_OK = 0,    /* success; `check`: every config valid */
    VN_EXIT_FAIL = 1,  /* the operation failed or a config is invalid; nothing was changed */
    VN_EXIT_USAGE = 2, /* bad command line */
};

struct vn_command {
    const char *name;
    const char *args;                  /* synopsis shown by `vnuma help` */
    const char *summary;               /* one line */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

/* Prints "vnuma CMD: error: MSG" and a hint to use --help; returns VN_EXIT_USAGE. */
int vn_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "vnuma CMD: error: <err->msg>"; returns VN_EXIT_FAIL. */
int vn_cli_fail(const char *cmd, const struct vn_error *err);
/* Prints obj as pretty JSON with a trailing newline on stdout. */
void vn_cli_print_json(struct json_object *obj);
/* Prints the synopsis of one subcommand (from the table) to stdout. */
void vn_cli_print_synopsis(const char *cmd);

/* cli_common.c: what several subcommands share. */

/* A parser's "go on" result; any other value is the exit status to return at once. */
#define VN_CLI_RUN (-1)

/* The arguments of a command that reads the state dir. */
struct vn_cli_state_args {
    bool json;             /* --json given */
    const char *state_dir; /* --state-dir DIR, or NULL for the default */
    const char *domain;    /* the DOMAIN argument (VN_CLI_DOMAIN), else NULL */
};
enum { VN_CLI_JSON = 1 << 0, VN_CLI_DOMAIN = 1 << 1 }; /* what vn_cli_parse_state_args takes */

/* Parses [--json] [--state-dir DIR] [-h|--help] then one DOMAIN (VN_CLI_DOMAIN) or nothing;
 * prints help() or the usage error itself.  Returns VN_CLI_RUN or the exit status. */
int vn_cli_parse_state_args(const char *cmd, int argc, char **argv, unsigned flags,
                            void (*help)(void), struct vn_cli_state_args *a);
/* The usage error for getopt_long's c: ':' "needs a value", else "unknown option". */
int vn_cli_bad_option(const char *cmd, int c, char **argv);
/* Cleanup helper for VN_CLEANUP(vn_cli_json_putp) (json_object_put). */
void vn_cli_json_putp(struct json_object **o);
/* Member key of JSON object o (borrowed), or NULL when absent or null (o may be NULL). */
struct json_object *vn_cli_json_get(struct json_object *o, const char *key);
/* Member key of o as a string, or dflt when absent or null. */
const char *vn_cli_json_str(struct json_object *o, const char *key, const char *dflt);
/* A JSON array of integers as "0,1,3" into buf ("" for NULL or an empty array). */
void vn_cli_json_int_list(struct json_object *a, char *buf, size_t len);
/* Sorts the diagnostics of d and prints them to stderr, one per line. */
void vn_cli_print_diags(struct vn_diags *d);
/* The cpulist of set slot of p into buf, or "-" for no set (slot < 0). */
const char *vn_cli_set_text(const struct vn_placement *p, int slot, char *buf, size_t len);
/* Prints p's vnode table (pnode, memory, vCPUs, soft/hard CPUs, with policy a policy column). */
void vn_cli_print_vnodes(const struct vn_placement *p, bool policy);

/* Subcommands: one file each (cmd_NAME.c). */
int vn_cmd_topology(int argc, char **argv);
int vn_cmd_check(int argc, char **argv);
int vn_cmd_place(int argc, char **argv);
int vn_cmd_create(int argc, char **argv);
int vn_cmd_list(int argc, char **argv);
int vn_cmd_info(int argc, char **argv);
int vn_cmd_numainfo(int argc, char **argv);
int vn_cmd_console(int argc, char **argv);
int vn_cmd_vnc(int argc, char **argv);
int vn_cmd_destroy(int argc, char **argv);
int vn_cmd_sim(int argc, char **argv);
int vn_cmd_mem_move(int argc, char **argv);
/* Refuses with the name of mem-move: migrate is kept for moving a domain to another host. */
int vn_cmd_migrate(int argc, char **argv);
int vn_cmd_vcpu_affinity(int argc, char **argv);
int vn_cmd_vcpu_pin(int argc, char **argv);
int vn_cmd_balance(int argc, char **argv);
int vn_cmd_shutdown(int argc, char **argv);
int vn_cmd_reboot(int argc, char **argv);
int vn_cmd_pause(int argc, char **argv);
int vn_cmd_unpause(int argc, char **argv);
/* The hidden `__watch` (domain/watch.c's watcher), started by create. */
int vn_cmd_watch(int argc, char **argv);

#endif
