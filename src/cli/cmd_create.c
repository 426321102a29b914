/* vnuma create: validate, place, claim, launch and record one domain (src/lib/domain/).
 * --dry-run prints the QEMU command it would run and changes nothing; -c attaches the
 * console once the guest runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "domain/console.h"
#include "domain/domain.h"
#include "qemu/accel.h"
#include "render/render.h"
#include "util/cleanup.h"
#include "util/table.h"

struct opts {
    bool console;
    const char *config;
    struct vn_domain_create_opts create;
};

static void print_help(void)
{
    vn_cli_print_synopsis("create");
    printf("\nOptions:\n"
           "  -c, --console     attach to the guest's serial console once it runs (detach: ^])\n"
           "  --dry-run         print the QEMU command line and change nothing\n"
           "  --host SPEC       place against this host description instead of the live one\n"
           "  --algo NAME       placement algorithm: vnuma (default), xen, exact\n"
           "  --accel A         auto, kvm or tcg (overrides the config's 'accel')\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  -h, --help        show this help\n"
           "\nExit status: 0 when the domain runs, 1 when it could not be created (nothing is\n"
           "left behind), 2 for usage errors.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option long_opts[] = {
        {"console", no_argument, NULL, 'c'},     {"dry-run", no_argument, NULL, 'n'},
        {"host", required_argument, NULL, 'H'},  {"algo", required_argument, NULL, 'a'},
        {"accel", required_argument, NULL, 'A'}, {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    struct vn_error err = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:ch", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->console = true;
            break;
        case 'n':
            o->create.dry_run = true;
            break;
        case 'H':
            o->create.host_spec = optarg;
            break;
        case 'a':
            if (vn_place_algo_parse(optarg, &o->create.algo, &err) < 0)
                return vn_cli_usage("create", "%s", err.msg);
            break;
        case 'A':
            o->create.accel_override = true;
            if (strcmp(optarg, "kvm") == 0)
                o->create.accel = VN_ACCEL_KVM;
            else if (strcmp(optarg, "tcg") == 0)
                o->create.accel = VN_ACCEL_TCG;
            else if (strcmp(optarg, "auto") == 0)
                o->create.accel = VN_ACCEL_AUTO;
            else
                return vn_cli_usage("create", "accelerator '%s' is not one of auto, kvm, tcg",
                                    optarg);
            break;
        case 's':
            o->create.state_dir = optarg;
            break;
        case 'h':
            print_help();
            return -1;
        case ':':
            return vn_cli_usage("create", "option '%s' needs a value", argv[optind - 1]);
        default:
            return vn_cli_usage("create", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("create", "no config given");
    if (optind + 1 < argc)
        return vn_cli_usage("create", "one config at a time; '%s' is extra", argv[optind + 1]);
    if (o->console && o->create.dry_run)
        return vn_cli_usage("create", "--console and --dry-run exclude each other");
    o->config = argv[optind];
    return 0;
}

static void print_diags(struct vn_diags *d)
{
    char line[1024];
    vn_diags_sort(d);
    for (int i = 0; i < d->n; i++) {
        vn_diag_format(d, i, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
}

static void progress(void *ctx, const char *msg)
{
    fprintf(stderr, "vnuma create: %s\n", msg);
}

static const char *set_text(const struct vn_placement *p, int slot, char *buf, size_t len)
{
    if (slot < 0)
        return "-";
    vn_bitmap_format_list(&p->sets[slot], buf, len);
    return buf;
}

static void print_placement(const struct vn_placement *p)
{
    static const char *const headers[] = {"vnode", "pnode",     "memory MiB",
                                          "vCPUs", "soft CPUs", "hard CPUs"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(6, headers);
    vn_table_align_right(t, 0);
    vn_table_align_right(t, 2);
    char a[4096], b[4096];
    for (int i = 0; i < p->nvnodes; i++) {
        const struct vn_place_vnode *vn = &p->vnodes[i];
        vn_table_add(t, "%d", i);
        vn_bitmap_format_list(&vn->pnodes, a, sizeof a);
        vn_table_add(t, "%s", a);
        vn_table_add(t, "%llu", (unsigned long long)vn->mem_mib);
        vn_bitmap_format_list(&vn->vcpus, a, sizeof a);
        vn_table_add(t, "%s", vn_bitmap_empty(&vn->vcpus) ? "-" : a);
        vn_table_add(t, "%s", set_text(p, vn->soft, a, sizeof a));
        vn_table_add(t, "%s", set_text(p, vn->hard, b, sizeof b));
    }
    vn_table_print(t, stdout, 2);
}

int vn_cmd_create(int argc, char **argv)
{
    struct opts o = {.create.algo = VN_PLACE_VNUMA};
    int rc = parse_opts(argc, argv, &o);
    if (rc < 0)
        return VN_EXIT_OK; /* --help */
    if (rc)
        return rc;
    o.create.progress = progress;

    struct vn_error err = {0};
    struct vn_diags diags;
    vn_diags_init(&diags, o.config);
    struct vn_domain_create_result res;
    rc = vn_domain_create(o.config, &o.create, &res, &diags, &err);
    print_diags(&diags);
    vn_diags_free(&diags);
    if (rc < 0)
        return vn_cli_fail("create", &err);

    if (o.create.dry_run) {
        VN_CLEANUP_FREE char *line = vn_render_shell_line((const char *const *)res.argv);
        printf("%s\n", line ? line : "");
        fprintf(stderr, "vnuma create: accelerator %s: %s\n", vn_accel_name(res.accel),
                res.accel_reason);
        vn_domain_create_result_clear(&res);
        return VN_EXIT_OK;
    }
    printf("domain '%s': placement (%s)\n", res.name, vn_place_algo_name(res.placement->algo));
    print_placement(res.placement);
    printf("accelerator: %s - %s\n", vn_accel_name(res.accel), res.accel_reason);
    printf("domain '%s' started (pid %d)\n", res.name, (int)res.qemu_pid);
    fflush(stdout);
    char sock[4200];
    snprintf(sock, sizeof sock, "%s/console.sock", res.runtime_dir);
    char name[sizeof res.name];
    snprintf(name, sizeof name, "%s", res.name);
    vn_domain_create_result_clear(&res);
    if (!o.console)
        return VN_EXIT_OK;
    fprintf(stderr, "Connected to domain '%s'. Escape character is ^]\n", name);
    if (vn_console_attach(sock, STDIN_FILENO, STDOUT_FILENO, &err) < 0)
        return vn_cli_fail("create", &err);
    return VN_EXIT_OK;
}
