/* vnuma vcpu-affinity and vnuma vcpu-pin: xl's commands for a running domain's vCPU threads.
 *   vcpu-affinity DOMAIN VCPU|all --soft NODES | --hard CPUS   (either or both)
 *   vcpu-pin DOMAIN VCPU|all CPUS                              (the hard affinity)
 * The thread runs on soft ∩ hard; the sets are recorded and `vnuma info` shows them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "domain/domain.h"

static void print_help(const char *cmd)
{
    vn_cli_print_synopsis(cmd);
    if (strcmp(cmd, "vcpu-pin") == 0)
        printf("\nSets the hard affinity of vCPU VCPU ('all': every vCPU) to the host CPUs CPUS\n"
               "(a cpulist such as 0-3,6); the thread runs on its soft set within them.\n");
    else
        printf("\n  --soft NODES      soft affinity: the CPUs of these host nodes (e.g. 0 or 0,1)\n"
               "  --hard CPUS       hard affinity: these host CPUs, never crossed (e.g. 0-3)\n");
    printf("  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n");
}

static int parse_vcpu(const char *cmd, const char *s, int *out)
{
    if (strcmp(s, "all") == 0) {
        *out = -1;
        return VN_CLI_RUN;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > 4095)
        return vn_cli_usage(cmd, "'%s' is not a vCPU number or 'all'", s);
    *out = (int)v;
    return VN_CLI_RUN;
}

static int run(const char *cmd, const char *name, const struct vn_domain_vcpu_opts *o,
               const char *state_dir)
{
    struct vn_error err = {0};
    struct vn_domain_vcpu_result *res = calloc(1, sizeof *res);
    if (!res) {
        vn_error_set(&err, "out of memory");
        return vn_cli_fail(cmd, &err);
    }
    int rc = vn_domain_vcpu_affinity(state_dir, name, o, res, &err);
    if (rc < 0) {
        free(res);
        return vn_cli_fail(cmd, &err);
    }
    for (int i = 0; i < res->n; i++) {
        char s[1024] = "-", h[1024] = "-", e[1024];
        const struct vn_domain_vcpu_one *v = &res->v[i];
        if (v->have_soft)
            vn_bitmap_format_list(&v->soft, s, sizeof s);
        if (v->have_hard)
            vn_bitmap_format_list(&v->hard, h, sizeof h);
        vn_bitmap_format_list(&v->effective, e, sizeof e);
        printf("domain '%s': vCPU %d (thread %d): soft %s, hard %s, runs on CPUs %s\n", name,
               v->vcpu, v->thread_id, s, h, e);
    }
    free(res);
    return VN_EXIT_OK;
}

static int parse_set(const char *cmd, const char *what, const char *s, struct vn_bitmap *b)
{
    struct vn_error err = {0};
    if (vn_bitmap_parse_list(b, s, VN_BITMAP_BITS - 1, &err) < 0 || vn_bitmap_empty(b))
        return vn_cli_usage(cmd, "%s '%s' is not a list like '0-3,6'%s%s", what, s,
                            err.msg[0] ? ": " : "", err.msg);
    return VN_CLI_RUN;
}

/* Parses the options in opts (--soft and --hard only vcpu-affinity has) into o and
 * *state_dir; leaves optind at the first argument.  Returns VN_CLI_RUN or the exit status. */
static int parse_opts(const char *cmd, int argc, char **argv, const struct option *opts,
                      struct vn_domain_vcpu_opts *o, const char **state_dir)
{
    optind = 1;
    opterr = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            if ((rc = parse_set(cmd, "--soft", optarg, &o->soft_nodes)) != VN_CLI_RUN)
                return rc;
            o->set_soft = true;
            break;
        case 'H':
            if ((rc = parse_set(cmd, "--hard", optarg, &o->hard_cpus)) != VN_CLI_RUN)
                return rc;
            o->set_hard = true;
            break;
        case 's':
            *state_dir = optarg;
            break;
        case 'h':
            print_help(cmd);
            return VN_EXIT_OK;
        default:
            return vn_cli_bad_option(cmd, c, argv);
        }
    }
    return VN_CLI_RUN;
}

int vn_cmd_vcpu_affinity(int argc, char **argv)
{
    static const char cmd[] = "vcpu-affinity";
    static const struct option opts[] = {
        {"soft", required_argument, NULL, 'S'},
        {"hard", required_argument, NULL, 'H'},
        {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vn_domain_vcpu_opts o = {0};
    const char *state_dir = NULL;
    int rc = parse_opts(cmd, argc, argv, opts, &o, &state_dir);
    if (rc != VN_CLI_RUN)
        return rc;
    if (argc - optind != 2)
        return vn_cli_usage(cmd, "expected DOMAIN and VCPU, got %d argument(s)", argc - optind);
    if (!o.set_soft && !o.set_hard)
        return vn_cli_usage(cmd, "give --soft NODES, --hard CPUS or both");
    if ((rc = parse_vcpu(cmd, argv[optind + 1], &o.vcpu)) != VN_CLI_RUN)
        return rc;
    return run(cmd, argv[optind], &o, state_dir);
}

int vn_cmd_vcpu_pin(int argc, char **argv)
{
    static const char cmd[] = "vcpu-pin";
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vn_domain_vcpu_opts o = {.set_hard = true};
    const char *state_dir = NULL;
    int rc = parse_opts(cmd, argc, argv, opts, &o, &state_dir);
    if (rc != VN_CLI_RUN)
        return rc;
    if (argc - optind != 3)
        return vn_cli_usage(cmd, "expected DOMAIN, VCPU and CPUS, got %d argument(s)",
                            argc - optind);
    if ((rc = parse_vcpu(cmd, argv[optind + 1], &o.vcpu)) != VN_CLI_RUN ||
        (rc = parse_set(cmd, "CPUS", argv[optind + 2], &o.hard_cpus)) != VN_CLI_RUN)
        return rc;
    return run(cmd, argv[optind], &o, state_dir);
}
