/* Shared pieces of the `vnuma` command: the subcommand table's entry type, exit codes,
 * and the few output helpers every subcommand uses (errors to stderr, JSON to stdout). */
#ifndef VN_CLI_H
#define VN_CLI_H

#include "util/error.h"

struct json_object;

/* Exit codes, documented in README.md. */
enum {
    VN_EXIT_OK = 0,      /* success; `check`: every config valid */
    VN_EXIT_FAIL = 1,    /* the operation failed or a config is invalid; nothing was changed */
    VN_EXIT_USAGE = 2,   /* bad command line */
};

struct vn_command {
    const char *name;
    const char *args;    /* synopsis shown by `vnuma help` */
    const char *summary; /* one line */
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

/* Subcommands: one file each (cmd_NAME.c). */
int vn_cmd_topology(int argc, char **argv);
int vn_cmd_check(int argc, char **argv);
int vn_cmd_place(int argc, char **argv);
int vn_cmd_create(int argc, char **argv);
int vn_cmd_list(int argc, char **argv);
int vn_cmd_info(int argc, char **argv);
int vn_cmd_numainfo(int argc, char **argv);
int vn_cmd_console(int argc, char **argv);
int vn_cmd_destroy(int argc, char **argv);
int vn_cmd_sim(int argc, char **argv);

#endif
