/* vnuma: the command table and dispatch.  Every subcommand lives in its own cmd_NAME.c. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct vn_command commands[] = {
    {"topology", "[--host SPEC] [--json]", "show the host NUMA topology", vn_cmd_topology},
    {"check", "[--host SPEC | --no-host] [--json] CONFIG...",
     "validate VM configs and show their guest topology", vn_cmd_check},
    {"place",
     "[--host SPEC] [--load FILE] [--algo xen|vnuma|exact] [--explain] "
     "[--format text|json|qemu|libvirt|xl] CONFIG...",
     "plan where VMs would go (dry run)", vn_cmd_place},
    {"create",
     "[-c|--console] [--dry-run] [--host SPEC] [--algo A] [--accel A] [--state-dir DIR] CONFIG",
     "create and start a domain (a QEMU guest with its vNUMA topology)", vn_cmd_create},
    {"list", "[--json] [--state-dir DIR]", "list the domains", vn_cmd_list},
    {"info", "[--json] [--exact] [--state-dir DIR] DOMAIN",
     "show where a domain's vnodes and vCPUs really are", vn_cmd_info},
    {"numainfo", "[--json] [--state-dir DIR]",
     "show free memory per host node and every domain's memory on it", vn_cmd_numainfo},
    {"console", "[--state-dir DIR] DOMAIN", "attach to a domain's serial console (detach: ^])",
     vn_cmd_console},
    {"vnc", "[--state-dir DIR] DOMAIN", "print where a VNC viewer connects to a domain",
     vn_cmd_vnc},
    {"destroy", "[--state-dir DIR] DOMAIN", "stop a domain and remove its files and claim",
     vn_cmd_destroy},
    {"shutdown", "[--timeout S] [--wait] [--json] [--state-dir DIR] DOMAIN",
     "power a domain off through its ACPI power button (destroyed after the timeout)",
     vn_cmd_shutdown},
    {"reboot", "[--state-dir DIR] DOMAIN", "reset a domain (on_reboot applies)", vn_cmd_reboot},
    {"pause", "[--state-dir DIR] DOMAIN", "stop a domain's vCPUs", vn_cmd_pause},
    {"unpause", "[--state-dir DIR] DOMAIN", "resume a paused domain's vCPUs", vn_cmd_unpause},
    {"mem-move",
     "[--vnode N] --to NODE[,NODE...] [--rate MIB_S] [--pause-ms MS] [--state-dir DIR] DOMAIN",
     "move a running domain's vnode memory to other host nodes", vn_cmd_mem_move},
    {"migrate", "DOMAIN HOST", "(not yet) move a domain to another host; see 'mem-move'",
     vn_cmd_migrate},
    {"vcpu-affinity", "[--soft NODES] [--hard CPUS] [--state-dir DIR] DOMAIN VCPU|all",
     "set a running vCPU's soft (nodes) and hard (CPUs) affinity", vn_cmd_vcpu_affinity},
    {"vcpu-pin", "[--state-dir DIR] DOMAIN VCPU|all CPUS", "pin a running vCPU to host CPUs",
     vn_cmd_vcpu_pin},
    {"sim", "[--seeds N] [--out DIR] [--trace] [--host SPEC] [--config NAME] SCENARIO",
     "simulate VMs and scheduling policies on a NUMA host", vn_cmd_sim},
    {"balance",
     "[--json] [--state-dir DIR] [--timeout SECONDS] status [DOMAIN] | pause [DOMAIN] | "
     "resume [DOMAIN] | once | "
     "metrics | DOMAIN on|off",
     "talk to vnumad, the balancing daemon; switch a domain's balancing on or off", vn_cmd_balance},
    {"help", "[COMMAND]", "show this list or one command's synopsis", cmd_help},
    {"version", "", "print the version", cmd_version},
};

static const struct vn_command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void vn_cli_print_synopsis(const char *cmd)
{
    const struct vn_command *c = find_command(cmd);
    if (c)
        printf("usage: vnuma %s %s\n  %s\n", c->name, c->args, c->summary);
}

int vn_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vnuma %s: error: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'vnuma help %s'.\n", cmd);
    return VN_EXIT_USAGE;
}

int vn_cli_fail(const char *cmd, const struct vn_error *err)
{
    fprintf(stderr, "vnuma %s: error: %s\n", cmd, err->msg);
    return VN_EXIT_FAIL;
}

void vn_cli_print_json(struct json_object *obj)
{
    puts(json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void print_commands(FILE *out)
{
    fprintf(out, "usage: vnuma COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'vnuma help COMMAND' for a command's arguments.\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        print_commands(stdout);
        return VN_EXIT_OK;
    }
    if (!find_command(argv[1]))
        return vn_cli_usage("help", "unknown command '%s'", argv[1]);
    vn_cli_print_synopsis(argv[1]);
    return VN_EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
    printf("vnuma %s\n", VNUMA_VERSION);
    return VN_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_commands(stderr);
        return VN_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(1, argv + 1);
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    /* The per-domain watcher `create` starts: not a command of the table (nor of help). */
    if (strcmp(argv[1], "__watch") == 0)
        return vn_cmd_watch(argc - 1, argv + 1);
    const struct vn_command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "vnuma: error: unknown command '%s'\n", argv[1]);
        print_commands(stderr);
        return VN_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
