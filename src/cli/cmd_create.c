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
            return VN_EXIT_OK;
        default:
            return vn_cli_bad_option("create", c, argv);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("create", "no config given");
    if (optind + 1 < argc)
        return vn_cli_usage("create", "one config at a time; '%s' is extra", argv[optind + 1]);
    if (o->console && o->create.dry_run)
        return vn_cli_usage("create", "--console and --dry-run exclude each other");
    o->config = argv[optind];
    return VN_CLI_RUN;
}

static void progress(void *ctx, const char *msg)
{
    fprintf(stderr, "vnuma create: %s\n", msg);
}

int vn_cmd_create(int argc, char **argv)
{
    struct opts o = {.create.algo = VN_PLACE_VNUMA};
    int rc = parse_opts(argc, argv, &o);
    if (rc != VN_CLI_RUN)
        return rc;
    o.create.progress = progress;

    struct vn_error err = {0};
    struct vn_diags diags;
    vn_diags_init(&diags, o.config);
    struct vn_domain_create_result res;
    rc = vn_domain_create(o.config, &o.create, &res, &diags, &err);
    vn_cli_print_diags(&diags);
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
    vn_cli_print_vnodes(res.placement, false);
    printf("accelerator: %s - %s\n", vn_accel_name(res.accel), res.accel_reason);
    printf("cpu model: %s\n", res.accel_cpu);
    printf("domain '%s' started (pid %d)\n", res.name, (int)res.qemu_pid);
    /* The watcher turns the guest's power-off, reboot and crash into on_*; without one the
     * domain runs, and the next `vnuma list` after its end leaves it "dead". */
    pid_t watcher = 0;
    if (vn_domain_watch_start(o.create.state_dir, res.name, &watcher, &err) < 0)
        fprintf(stderr,
                "vnuma create: warning: %s; on_poweroff, on_reboot and on_crash are not "
                "applied\n",
                err.msg);
    else
        printf("watcher: pid %d\n", (int)watcher);
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
