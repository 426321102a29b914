#!/usr/bin/env bash
# Guest tier: a guest whose root is on a disk (docs/GUEST.md "Root on a disk").  An ext4 image
# is built from the guest image's own tree (mkfs.ext4 -d, no root mount), and a Xen-style
# config boots it with root=/dev/xvda, which vnuma rewrites to /dev/vda.  The guest writes a
# marker (vnuma.diskmark=TEXT), is destroyed, and the next boot finds the marker; a qcow2
# overlay on the raw image boots and writes only to the overlay; a read-only disk cannot be
# written (EROFS in the guest); the image as a loop device; without a kernel the firmware boots
# the first disk; a missing image fails create before anything starts.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"

for tool in mkfs.ext4 cpio debugfs qemu-img; do
    command -v "$tool" >/dev/null ||
        { echo "1..0 # SKIP '$tool' is not installed (e2fsprogs, cpio, qemu-utils)"; exit 0; }
done
kernel=${VNUMA_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
initramfs=${VNUMA_INITRAMFS:?the guest image (meson sets VNUMA_INITRAMFS)}
[ -r "$kernel" ] || { echo "1..0 # SKIP no readable guest kernel (linux-image-cloud-amd64)"; exit 0; }

# The root image: the guest image's tree (its /init, busybox, modules) as an ext4 filesystem.
tree=$VT_WORK/tree img=$VT_WORK/root.img
mkdir "$tree"
(cd "$tree" && gzip -dc "$initramfs" | cpio -idm --quiet 2>"$VT_WORK/cpio.err")
vt_check "image: the guest image's tree unpacks with /init and busybox" \
    [ -x "$tree/init" -a -x "$tree/bin/busybox" ]
out=$(mkfs.ext4 -q -F -L vnuma-root -d "$tree" "$img" 64M 2>&1)
vt_check "image: mkfs.ext4 -d builds a 64 MiB ext4 root image from it" [ $? -eq 0 ]
[ -n "$out" ] && echo "# mkfs.ext4: $out"
# A root vnuma runs QEMU as its qemu_user: the images are that user's (vnuma-lib.sh).
vt_give "$img"

# What the image holds at /vnuma-mark, read on the host (not through the guest).
host_mark() { debugfs -R 'cat /vnuma-mark' "$1" 2>/dev/null; }

# mkcfg NAME DISKSPEC ROOTEXTRA: a Xen-style config booting the cloud kernel with the image.
mkcfg() {
    local f=$VT_WORK/$1.cfg
    cat >"$f" <<EOF_CFG
name = "$1"
memory = 256
vcpus = 1
vnodes = 1
on_reboot = "destroy"
kernel = "$kernel"
ramdisk = "$initramfs"
disk = [ '$2' ]
root = "/dev/xvda"
extra = "console=ttyS0 panic=-1 quiet $3"
EOF_CFG
    echo "$f"
}

# boot NAME DISKSPEC EXTRA WHAT: create, then wait for the marker step's last line.
boot() {
    local cfg
    local t0
    cfg=$(mkcfg "$1" "$2" "$3")
    t0=$(vt_now_ms)
    vt_create "$cfg"
    if [ $VT_RC -eq 0 ]; then vt_ok "$4: vnuma create succeeds"; else vt_not_ok "$4: vnuma create succeeds" "$VT_OUT"; fi
    # Without a guest there is nothing to wait for: the failure is the create's.
    [ $VT_RC -eq 0 ] && vt_wait_console "$1" '^VNUMA-DISKMARK-(WROTE|ERROR)|VNUMA-INIT-ERROR' 90
    vt_check "$4: the guest reached the marker step within 90 s" [ $? -eq 0 ]
    echo "# $4: create to the marker step: $(($(vt_now_ms) - t0)) ms"
    CON=$(tr -d '\r' <"$(vt_console_log "$1")" 2>/dev/null)
    grep -E '^VNUMA-(ROOT|INIT-ERROR|DISKMARK)' <<<"$CON" | sed "s/^/# $1 console: /"
}

# destroy NAME WHAT
destroy() {
    local out
    out=$(timeout 60 "$VNUMA" destroy --state-dir "$VT_STATE" "$1" 2>&1)
    vt_check "$2: destroy succeeds" [ $? -eq 0 ]
    [ -n "$out" ] && echo "$out" | sed 's/^/# destroy: /'
    vt_assert_clean "$1" "$2"
}

con_line() { grep -E "^$1" <<<"$CON" | head -n 1; }

# --- first boot: root=/dev/xvda is the guest's /dev/vda, rw; the guest writes a marker ------
m1=first-$$-$RANDOM
boot disk-a "$img,raw,xvda,rw" "vnuma.diskmark=$m1" "first boot"
vt_check "first boot: create warns that root=/dev/xvda is the guest's /dev/vda" \
    grep -q "warning: root: 'root=/dev/xvda' names a Xen device: the guest sees disk 'xvda' as /dev/vda, so vnuma passes 'root=/dev/vda' instead." <<<"$VT_OUT"
pid=$(echo "$VT_OUT" | sed -n "s/^domain 'disk-a' started (pid \([0-9]*\))$/\1/p")
append=$(tr '\0' '\n' <"/proc/${pid:-0}/cmdline" 2>/dev/null | grep -x -A1 -- -append | tail -n 1)
vt_check_eq "first boot: QEMU's -append holds root=/dev/vda" "$(grep -o 'root=[^ ]*' <<<"$append")" "root=/dev/vda"
vt_check_eq "first boot: the guest's / is /dev/vda, ext4, rw (after switch_root)" "$(con_line VNUMA-ROOT:)" "VNUMA-ROOT: /dev/vda ext4 rw"
vt_check_eq "first boot: no marker yet" "$(con_line VNUMA-DISKMARK-FOUND)" "VNUMA-DISKMARK-FOUND: none"
vt_check_eq "first boot: the guest wrote the marker" "$(con_line 'VNUMA-DISKMARK-(WROTE|ERROR)')" "VNUMA-DISKMARK-WROTE: $m1"
vt_check "first boot: no init errors" eval '! grep -q VNUMA-INIT-ERROR <<<"$CON"'
destroy disk-a "first boot"
vt_check_eq "first boot: after destroy the image holds the marker (read on the host)" "$(host_mark "$img")" "$m1"

# --- second boot of the same image: the marker survived -------------------------------------
m2=second-$$-$RANDOM
boot disk-b "$img,raw,xvda,rw" "vnuma.diskmark=$m2" "second boot"
vt_check_eq "second boot: the guest finds the first boot's marker" "$(con_line VNUMA-DISKMARK-FOUND)" "VNUMA-DISKMARK-FOUND: $m1"
vt_check_eq "second boot: and writes its own" "$(con_line 'VNUMA-DISKMARK-(WROTE|ERROR)')" "VNUMA-DISKMARK-WROTE: $m2"
destroy disk-b "second boot"

# --- a qcow2 overlay with the raw image as its backing file -------------------------------
over=$VT_WORK/over.qcow2
out=$(qemu-img create -q -f qcow2 -b "$img" -F raw "$over" 2>&1)
vt_check "qcow2: qemu-img creates an overlay backed by the raw image" [ $? -eq 0 ]
vt_give "$over"
before=$(sha256sum <"$img")
m3=overlay-$$-$RANDOM
boot disk-c "$over,qcow2,xvda,rw" "vnuma.diskmark=$m3" "qcow2"
pid=$(echo "$VT_OUT" | sed -n "s/^domain 'disk-c' started (pid \([0-9]*\))$/\1/p")
vt_check "qcow2: QEMU is given format=qcow2" \
    grep -q "file=$over,format=qcow2," < <(tr '\0' '\n' <"/proc/${pid:-0}/cmdline" 2>/dev/null)
vt_check_eq "qcow2: the guest reads the backing file's marker through the overlay" "$(con_line VNUMA-DISKMARK-FOUND)" "VNUMA-DISKMARK-FOUND: $m2"
vt_check_eq "qcow2: and writes its own" "$(con_line 'VNUMA-DISKMARK-(WROTE|ERROR)')" "VNUMA-DISKMARK-WROTE: $m3"
destroy disk-c "qcow2"
vt_check_eq "qcow2: the raw backing file is unchanged" "$(sha256sum <"$img")" "$before"
vt_check_eq "qcow2: the overlay holds the new marker (read on the host)" \
    "$(qemu-img convert -O raw "$over" "$VT_WORK/flat.img" && host_mark "$VT_WORK/flat.img")" "$m3"
rm -f "$VT_WORK/flat.img"

# --- a read-only disk: mounted ro, a write fails with EROFS -------------------------------
boot disk-d "$img,raw,xvda,ro" "vnuma.diskmark=never-$$" "read-only"
pid=$(echo "$VT_OUT" | sed -n "s/^domain 'disk-d' started (pid \([0-9]*\))$/\1/p")
vt_check "read-only: QEMU is given readonly=on" \
    grep -q "file=$img,format=raw,readonly=on" < <(tr '\0' '\n' <"/proc/${pid:-0}/cmdline" 2>/dev/null)
vt_check_eq "read-only: the guest's / is /dev/vda mounted ro" "$(con_line VNUMA-ROOT:)" "VNUMA-ROOT: /dev/vda ext4 ro"
vt_check "read-only: the guest cannot write the marker (Read-only file system)" \
    grep -q '^VNUMA-DISKMARK-ERROR: .*Read-only file system' <<<"$CON"
destroy disk-d "read-only"
vt_check_eq "read-only: the image is unchanged" "$(sha256sum <"$img")" "$before"

# --- the image as a block device (a loop device), its format probed: raw ------------------
if loop=$(losetup -f --show "$img" 2>/dev/null) && [ -b "$loop" ]; then
    trap 'losetup -d "$loop" 2>/dev/null; vt_cleanup' EXIT
    vt_give "$loop"
    m4=blockdev-$$-$RANDOM
    boot disk-f "$loop,,xvda,rw" "vnuma.diskmark=$m4" "block device"
    pid=$(echo "$VT_OUT" | sed -n "s/^domain 'disk-f' started (pid \([0-9]*\))$/\1/p")
    vt_check "block device: QEMU is given $loop with the probed format=raw" \
        grep -q "file=$loop,format=raw,readonly=off" < <(tr '\0' '\n' <"/proc/${pid:-0}/cmdline" 2>/dev/null)
    vt_check_eq "block device: the guest finds the marker written through the file" "$(con_line VNUMA-DISKMARK-FOUND)" "VNUMA-DISKMARK-FOUND: $m2"
    vt_check_eq "block device: and writes its own" "$(con_line 'VNUMA-DISKMARK-(WROTE|ERROR)')" "VNUMA-DISKMARK-WROTE: $m4"
    destroy disk-f "block device"
    losetup -d "$loop"
    vt_check_eq "block device: the file holds the new marker" "$(host_mark "$img")" "$m4"
else
    vt_skip "block device: a loop device boots" "losetup cannot attach a loop device here"
fi

# --- no kernel: the firmware boots the first disk in the guest's order (xl's "cd") ---------
python3 "$VT_DIR/mkbootsector.py" "$VT_WORK/boot-a.img" xvda
python3 "$VT_DIR/mkbootsector.py" "$VT_WORK/boot-b.img" xvdb
vt_give "$VT_WORK/boot-a.img" "$VT_WORK/boot-b.img"
cat >"$VT_WORK/fw.cfg" <<EOF_CFG
name = "disk-fw"
memory = 128
vcpus = 1
vnodes = 1
on_reboot = "destroy"
disk = [ '$VT_WORK/boot-b.img,raw,xvdb,rw', '$VT_WORK/boot-a.img,raw,xvda,rw' ]
EOF_CFG
vt_create "$VT_WORK/fw.cfg"
if [ $VT_RC -eq 0 ]; then vt_ok "firmware: vnuma create succeeds"; else vt_not_ok "firmware: vnuma create succeeds" "$VT_OUT"; fi
[ $VT_RC -eq 0 ] && vt_wait_console disk-fw '^VNUMA-FIRMWARE-BOOT: ' 60
vt_check_eq "firmware: SeaBIOS boots xvda, the first disk in the guest's order, though the config lists xvdb first" \
    "$(tr -d '\r' <"$(vt_console_log disk-fw)" 2>/dev/null | grep '^VNUMA-FIRMWARE-BOOT: ')" "VNUMA-FIRMWARE-BOOT: xvda"
destroy disk-fw "firmware"

# --- refused before anything starts: a missing image; an overlay whose format is not given --
cfg=$(mkcfg disk-e "$VT_WORK/absent.img,raw,xvda,rw" "")
vt_create "$cfg"
vt_check_eq "missing image: create fails with the disk and its path named" \
    "$VT_RC|$(grep -c "domain 'disk-e': disk 'xvda': the image '$VT_WORK/absent.img' cannot be used: No such file or directory" <<<"$VT_OUT")" "1|1"
vt_assert_clean disk-e "missing image"
cfg=$(mkcfg disk-g "$over,,xvda,rw" "")
vt_create "$cfg"
vt_check_eq "unnamed format: an image that probes as qcow2 with a backing file is refused" \
    "$VT_RC|$(grep -c "domain 'disk-g': disk 'xvda': '$over' looks like a qcow2 image that names other files (a backing file), and the config gives no format; write format=qcow2 if it is one" <<<"$VT_OUT")" "1|1"
vt_assert_clean disk-g "unnamed format"

vt_finish
