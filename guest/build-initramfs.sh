#!/bin/sh
# Builds the vnuma guest initramfs without root and without network:
#   build-initramfs.sh MKCPIO BUSYBOX PROBE INIT OUTPUT
# busybox-static with the applets /init uses, /dev/console, vnuma-probe, /init, and the virtio
# modules of the guest kernel.  That kernel is $VNUMA_KERNEL when set, else the newest
# /boot/vmlinuz-*-cloud-amd64 (what vn_guest_default_kernel() picks at run time); without one
# the image is built without modules and /init says so when they are asked for.
set -eu

[ $# -eq 5 ] || { echo "usage: build-initramfs.sh MKCPIO BUSYBOX PROBE INIT OUTPUT" >&2; exit 2; }
mkcpio=$1 busybox=$2 probe=$3 init=$4 output=$5

# A dynamic busybox would find no libc in the guest and the kernel would only say that /init
# failed; catch it here.
if command -v readelf >/dev/null && readelf -l "$busybox" | grep -q 'program interpreter'; then
    echo "build-initramfs: '$busybox' is not statically linked; install busybox-static." >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

spec=$work/spec
cat >"$spec" <<EOF
dir /dev 0755
nod /dev/console 0600 c 5 1
nod /dev/null 0666 c 1 3
dir /bin 0755
dir /proc 0755
dir /sys 0755
dir /tmp 1777
dir /root 0700
dir /mnt 0755
dir /lib 0755
dir /lib/modules 0755
file /init $init 0755
file /bin/busybox $busybox 0755
file /bin/vnuma-probe $probe 0755
EOF
for applet in sh ash cat echo mount umount insmod lsmod poweroff reboot sync setsid cttyhack \
    uname tr nproc sleep ls ps dmesg free top grep sed awk head tail wc mkdir rm cp mv ln \
    kill killall vi less find xargs date env switch_root ip ping nc ifconfig chmod printf dd; do
    echo "slink /bin/$applet busybox 0777" >>"$spec"
done

kernel=${VNUMA_KERNEL:-}
if [ -z "$kernel" ]; then
    kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
fi
version=${kernel##*/vmlinuz-}
moddir=/lib/modules/$version
if [ -n "$kernel" ] && [ -d "$moddir" ]; then
    mkdir "$work/ko"
    # button, evdev: the ACPI power button; pvpanic-mmio: panics reported to QEMU.
    for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
        virtio_mem virtio_blk virtio_console failover net_failover virtio_net \
        button evdev pvpanic pvpanic-mmio; do
        src=$(find "$moddir/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \
            -o -name "$m.ko.gz" | head -n 1)
        if [ -z "$src" ]; then
            echo "build-initramfs: module '$m' is missing from '$moddir'." >&2
            exit 1
        fi
        # busybox insmod loads plain .ko files only.
        case $src in
        *.xz) xz -dc "$src" >"$work/ko/$m.ko" ;;
        *.zst) zstd -qdc "$src" >"$work/ko/$m.ko" ;;
        *.gz) gzip -dc "$src" >"$work/ko/$m.ko" ;;
        *) cp "$src" "$work/ko/$m.ko" ;;
        esac
        echo "file /lib/modules/$m.ko $work/ko/$m.ko 0644" >>"$spec"
    done
    echo "$version" >"$work/ko/VERSION"
    echo "file /lib/modules/VERSION $work/ko/VERSION 0644" >>"$spec"
else
    echo "build-initramfs: warning: no cloud kernel modules found (kernel '${kernel:-none}');" \
        "the image has no virtio modules. Install linux-image-cloud-amd64." >&2
fi

"$mkcpio" "$spec" "$work/initramfs.cpio"
gzip -9n <"$work/initramfs.cpio" >"$output.tmp"
mv "$output.tmp" "$output"
