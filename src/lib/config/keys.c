/* Key names: the xl keys vnuma deliberately ignores, and "did you mean" for typos.
 *
 * Configs written for Xen carry many keys that mean nothing under QEMU/KVM (firmware, device
 * model, Xen scheduler knobs).  Rejecting them would make every existing config fail, so they
 * are accepted with a warning that names them; any other unknown key is an error, because a
 * misspelt "memroy" silently ignored is the worst outcome. */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "util/cleanup.h"

/* From xl.cfg(5): keys that only make sense for Xen or for devices vnuma does not model. */
static const char *const xen_ignored[] = {
    "acpi",
    "acpi_firmware",
    "acpi_s3",
    "acpi_s4",
    "acpi_laptop_slate",
    "altp2m",
    "altp2mhvm",
    "apic",
    "bios",
    "bios_path_override",
    "blkdev",
    "boot",
    "bootloader",
    "bootloader_args",
    "builder",
    "cap",
    "channel",
    "claim_mode",
    "coprocessor",
    "cpu_weight",
    "cpuid",
    "device_model",
    "device_model_args",
    "device_model_args_hvm",
    "device_model_args_pv",
    "device_model_override",
    "device_model_stubdomain_override",
    "device_model_stubdomain_seclabel",
    "device_model_user",
    "device_model_version",
    "device_tree",
    "dm_restrict",
    "driver_domain",
    "dtdev",
    "e820_host",
    "event_channels",
    "firmware",
    "firmware_override",
    "gfx_passthru",
    "gic_version",
    "hap",
    "hdtype",
    "hpet",
    "init_seclabel",
    "iomem",
    "ioports",
    "irqs",
    "keymap",
    "localtime",
    "max_event_channels",
    "max_grant_frames",
    "max_grant_version",
    "max_maptrack_frames",
    "mca_caps",
    "msitranslate",
    "nestedhvm",
    "nographic",
    "nomigrate",
    "on_soft_reset",
    "on_watchdog",
    "opengl",
    "p2m_mem_sharing",
    "p9",
    "pae",
    "passthrough",
    "pci_msitranslate",
    "pci_permissive",
    "pci_power_mgmt",
    "pci_seize",
    "pool",
    "pvcalls",
    "pvh",
    "pvshim",
    "pvshim_cmdline",
    "pvshim_extra",
    "pvshim_path",
    "rdm",
    "rdm_mem_boundary",
    "rtc_timeoffset",
    "sdl",
    "seclabel",
    "serial",
    "shadow_memory",
    "smbios",
    "soundhw",
    "spice",
    "spice_clipboard_sharing",
    "spiceagent_mouse",
    "spicedisable_ticketing",
    "spicehost",
    "spicepasswd",
    "spiceport",
    "spicetls_port",
    "spicevdagent",
    "stdvga",
    "suppress_vmdesc",
    "timer_mode",
    "tee",
    "tsc_mode",
    "type",
    "usb",
    "usbctrl",
    "usbdev",
    "usbdevice",
    "uuid",
    "vcpu_hard_affinity",
    "vdispl",
    "vfb",
    "vga",
    "videoram",
    "viridian",
    "vkb",
    "vncconsole",
    "vncunused",
    "vpmu",
    "vsnd",
    "vtpm",
    "vuart",
    "vvirtio",
    "xen_platform_pci",
    "xendevicemodel",
};

bool vn_key_is_xen_ignored(const char *key)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(xen_ignored); i++)
        if (strcmp(xen_ignored[i], key) == 0)
            return true;
    return false;
}

int vn_edit_distance(const char *a, const char *b)
{
    /* Keys are short; longer words cannot be typos of a key anyway. */
    enum { MAX = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAX || lb > MAX)
        return (int)(la > lb ? la : lb);
    int d[MAX + 1][MAX + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* How many edits still look like a typo: one for short words, two from five letters on. */
static int tolerance(const char *word)
{
    size_t n = strlen(word);
    return n < 3 ? 0 : n < 5 ? 1 : 2;
}

const char *vn_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    int best_d = tolerance(word) + 1;
    for (size_t i = 0; i < n; i++) {
        int d = vn_edit_distance(word, candidates[i]);
        if (d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

const char *vn_key_suggest(const char *key)
{
    const char *best = NULL;
    int best_d = tolerance(key) + 1;
    for (size_t i = 0;; i++) {
        const char *k = vn_known_key_name(i);
        if (!k)
            break;
        int d = vn_edit_distance(key, k);
        if (d < best_d) {
            best = k;
            best_d = d;
        }
    }
    /* Keys vnuma uses win ties: 'cpus' beats 'cap' for 'cpu'. */
    for (size_t i = 0; i < VN_ARRAY_SIZE(xen_ignored); i++) {
        int d = vn_edit_distance(key, xen_ignored[i]);
        if (d < best_d) {
            best = xen_ignored[i];
            best_d = d;
        }
    }
    return best;
}
