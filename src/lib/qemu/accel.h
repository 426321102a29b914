/* Which accelerator QEMU can really use on this machine.
 *
 * /dev/kvm existing is not enough: nested or paravirtual KVM (as on this project's
 * development machines) may refuse or crash a stock guest kernel.  So KVM counts only after a
 * tiny probe guest boots to its userspace with it; otherwise QEMU's TCG is used, and the
 * reason is reported.  The verdict is cached per machine (kernel, QEMU version, /dev/kvm,
 * host kernel) because a failing probe costs its whole deadline. */
#ifndef VN_QEMU_ACCEL_H
#define VN_QEMU_ACCEL_H

#include <stdbool.h>

#include "../config/spec.h"
#include "../util/error.h"

/* enum vn_accel (auto, kvm, tcg) is the config's, from spec.h: a probe result is never auto. */

struct vn_accel_result {
    enum vn_accel accel;
    bool from_cache;  /* the verdict came from the cache file, no probe ran */
    char cpu[32];     /* QEMU's -cpu model; "" for the accelerator's default */
    char reason[640]; /* one sentence: why this accelerator (and CPU model) */
};

/* The KVM CPU model used when "-cpu host" makes QEMU abort with "failed to set MSR 0x10a":
 * host kernels that reject the guest's IA32_ARCH_CAPABILITIES write. */
#define VN_ACCEL_CPU_NO_ARCH_CAPS "host,-arch-capabilities"

/* Seconds a probe guest gets to print its JSON line before KVM is declared unusable. */
#define VN_ACCEL_PROBE_DEADLINE_MS 20000

/* Decides KVM or TCG (probe boot of kernel + initramfs with vnuma.probe=json) and the CPU
 * model: "host", or VN_ACCEL_CPU_NO_ARCH_CAPS when the "-cpu host" probe died of the MSR
 * 0x10a assertion and a second probe with that model booted.  Caches the verdict in cache_dir
 * (NULL: no cache; created 0700; used only when it is a directory of the caller's that nobody else
 * can write), with the log of a failed probe as accel-probe.log. The probe's QEMU writes into a
 * private $TMPDIR/vnuma-accel-probe.XXXXXX, removed on every path.  -1 when QEMU cannot run at all
 * or the probe's files cannot be read or created. */
int vn_accel_probe(const char *kernel, const char *initramfs, const char *cache_dir,
                   struct vn_accel_result *out, struct vn_error *err);

struct vn_qemu_cred;
/* vn_accel_probe with the probe's QEMU run as cred (NULL or !change: the caller), under the
 * same -sandbox as a domain's: a /dev/kvm that user cannot open means TCG, and the verdict is
 * cached per user. */
int vn_accel_probe_as(const char *kernel, const char *initramfs, const char *cache_dir,
                      const struct vn_qemu_cred *cred, struct vn_accel_result *out,
                      struct vn_error *err);

/* QEMU's arguments for a verdict into out, NULL-terminated, pointing into r or to static
 * text: KVM "-enable-kvm -cpu MODEL" (r->cpu, default "host"), TCG "-accel tcg,thread=multi
 * -cpu max". */
void vn_accel_qemu_args(const struct vn_accel_result *r, const char *out[5]);

/* "kvm" or "tcg". */
const char *vn_accel_name(enum vn_accel accel);

/* The -cpu model r stands for: r->cpu, else "host" for KVM and "max" for TCG. */
const char *vn_accel_cpu(const struct vn_accel_result *r);

#endif
