/* vnuma-accel-probe: the guest tests' way to ask which accelerator QEMU should use here.
 *
 *   vnuma-accel-probe [--cache-dir DIR] [--kernel K] [--initramfs I]
 *
 * Prints three lines: "kvm" or "tcg", the QEMU arguments for it, and the reason.  Exit 0;
 * 1 when QEMU cannot run at all (the message on stderr); 2 for a bad command line. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "qemu/accel.h"
#include "qemu/guest_paths.h"

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cache-dir", required_argument, NULL, 'c'},
        {"kernel", required_argument, NULL, 'k'},
        {"initramfs", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    const char *cache_dir = NULL, *kernel_arg = NULL, *initramfs_arg = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cache_dir = optarg;
            break;
        case 'k':
            kernel_arg = optarg;
            break;
        case 'i':
            initramfs_arg = optarg;
            break;
        default:
            fprintf(stderr, "usage: vnuma-accel-probe [--cache-dir DIR] [--kernel K] "
                            "[--initramfs I]\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vnuma-accel-probe: unexpected argument '%s'.\n", argv[optind]);
        return 2;
    }

    struct vn_error err = {0};
    char kernel[4096], initramfs[4096];
    if (kernel_arg)
        snprintf(kernel, sizeof kernel, "%s", kernel_arg);
    else if (vn_guest_default_kernel(kernel, sizeof kernel, &err) < 0)
        goto fail;
    if (initramfs_arg)
        snprintf(initramfs, sizeof initramfs, "%s", initramfs_arg);
    else if (vn_guest_default_initramfs(initramfs, sizeof initramfs, &err) < 0)
        goto fail;

    struct vn_accel_result r;
    if (vn_accel_probe(kernel, initramfs, cache_dir, &r, &err) < 0)
        goto fail;
    printf("%s\n", vn_accel_name(r.accel));
    const char *args[5];
    vn_accel_qemu_args(&r, args);
    for (const char **a = args; *a; a++)
        printf("%s%s", a == args ? "" : " ", *a);
    printf("\n%s%s\n", r.reason, r.from_cache ? " (cached verdict)" : "");
    return 0;
fail:
    fprintf(stderr, "vnuma-accel-probe: %s\n", err.msg);
    return 1;
}
