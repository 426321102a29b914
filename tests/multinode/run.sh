#!/bin/sh
# The multinode tier: boots a TCG "test host" with 4 NUMA nodes (2 CPUs and 1 GiB each,
# asymmetric distances) whose initramfs is the guest image plus a second cpio with the test
# programs, runs them on its real 4-node kernel, and relays each inner TAP result.
#   run.sh BUILD_DIR [TEST...]     tests: migrate sample refuse exit softaff inner inner-vnumad
#                                  inner-stress (default: the first six)
# "inner" runs the real toolstack inside the test host (tests/multinode/inner.sh), and
# "inner-vnumad" runs vnumad over two inner guests (tests/multinode/inner-vnumad.sh): vnuma, QEMU
# with its libraries and firmware, the guest kernel and image and the kvm modules go into a
# third (uncompressed) archive, and `vnuma create` starts inner guests with KVM.  "inner-stress"
# races workers creating, destroying and moving inner guests under vnumad while a checker
# samples the claims (tests/multinode/inner-stress.sh).
# Environment: VNUMA_KERNEL, VNUMA_QEMU (overrides), VNUMA_MN_TIMEOUT (s, default 420),
# VNUMA_MN_KEEP=1 keeps the console log and prints its path, VNUMA_MN_EXTRA="PROG..." ships
# more static programs as /mn/NAME, run when NAME is one of the tests (bench/migrate does),
# VNUMA_MN_APPEND="ARG..." adds kernel arguments (bench/stress: vnuma.stress=WORKERS,SECONDS).
set -u
build=${1:?usage: run.sh BUILD_DIR [TEST...]}
shift
tests=${*:-migrate sample refuse exit softaff inner}
here=$(cd "$(dirname "$0")" && pwd)
count=0

tap() { # tap "ok|not ok" DESCRIPTION
    count=$((count + 1))
    echo "$1 $count - $2"
}
bail() {
    echo "Bail out! $1"
    exit 1
}

qemu=$(command -v "${VNUMA_QEMU:-qemu-system-x86_64}") ||
    { echo "1..0 # SKIP QEMU is not installed (package qemu-system-x86)"; exit 0; }
kernel=${VNUMA_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -n "$kernel" ] && [ -r "$kernel" ] ||
    { echo "1..0 # SKIP no guest kernel: install linux-image-cloud-amd64 or set VNUMA_KERNEL"; exit 0; }
initramfs=$build/guest/initramfs.cpio.gz mkcpio=$build/guest/mkcpio mntest=$build/tests/multinode/mn-test
for f in "$initramfs" "$mkcpio" "$mntest"; do
    [ -r "$f" ] || bail "'$f' is missing: build first (ninja -C $build)"
done

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/vnuma-multinode.XXXXXX") || bail "cannot create a work dir"
if [ "${VNUMA_MN_KEEP:-}" = 1 ]; then
    trap 'echo "# console log kept in $work/console"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
trap 'exit 1' INT TERM

# The second archive: /mn/init and the test programs.  The kernel unpacks both archives into
# the same rootfs; rdinit= picks our init instead of the guest image's.
cat >"$work/spec" <<SPEC
dir /mn 0755
file /mn/init $here/init 0755
file /mn/mn-test $mntest 0755
SPEC
for prog in ${VNUMA_MN_EXTRA:-}; do
    echo "file /mn/$(basename "$prog") $prog 0755" >>"$work/spec"
done
"$mkcpio" "$work/spec" "$work/mn.cpio" || bail "mkcpio failed"
gzip -1n <"$work/mn.cpio" >"$work/mn.cpio.gz"
cat "$initramfs" "$work/mn.cpio.gz" >"$work/initrd"

# The toolstack for the inner guests, at the paths the programs look for it: vnuma and QEMU
# with every shared library ldd names (and the loader), the QEMU files a q35 -kernel boot
# opens (checked with strace: kvmvapic, linuxboot_dma, SeaBIOS and the VGA BIOS of the default
# VGA device) and its TCG module, the guest kernel and image, and the kvm modules of the
# test host's kernel.  Uncompressed: the TCG test host would take longer to gunzip it.
case " $tests " in
*" inner "* | *" inner-vnumad "* | *" inner-stress "*)
    vnuma=$build/src/cli/vnuma vnumad=$build/src/daemon/vnumad
    claims=$build/tests/multinode/mn-claims
    for f in "$vnuma" "$vnumad" "$claims"; do
        [ -x "$f" ] || bail "'$f' is missing: build first (ninja -C $build)"
    done
    {
        for d in /bin /mn /lib /lib64 /lib/x86_64-linux-gnu /usr /usr/bin /usr/share /usr/share/qemu \
            /usr/share/seabios /usr/lib /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/qemu \
            /mn/kvm; do
            echo "dir $d 0755"
        done
        echo "file /mn/inner $here/inner.sh 0755"
        echo "file /mn/inner-lib.sh $here/inner-lib.sh 0644"
        echo "file /mn/inner-vnumad $here/inner-vnumad.sh 0755"
        echo "file /mn/inner-stress $here/inner-stress.sh 0755"
        echo "file /mn/mn-claims $claims 0755"
        echo "file /mn/vnuma $vnuma 0755"
        echo "file /mn/vnumad $vnumad 0755"
        echo "file /usr/bin/qemu-system-x86_64 $qemu 0755"
        tcg=/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so
        [ -r "$tcg" ] && echo "file $tcg $tcg 0644"
        for f in /usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot_dma.bin \
            /usr/share/seabios/bios-256k.bin /usr/share/seabios/vgabios-stdvga.bin; do
            echo "file $f $(readlink -f "$f") 0644"
        done
        ldd "$vnuma" "$vnumad" "$claims" "$qemu" ${tcg:+"$tcg"} 2>/dev/null | awk '
            $2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u |
            while read -r lib; do
                echo "file $lib $(readlink -f "$lib") 0755"
            done
        echo "file /mn/vmlinuz $kernel 0644"
        echo "file /mn/initramfs.cpio.gz $initramfs 0644"
        kver=$(basename "$kernel" | sed 's/^vmlinuz-//')
        for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
            ko=/lib/modules/$kver/kernel/$m.ko
            [ -r "$ko" ] && echo "file /mn/kvm/$(basename "$m").ko $ko 0644"
        done
        for a in timeout cut seq expr stat; do
            echo "slink /bin/$a busybox 0777"
        done
    } >"$work/inner.spec"
    "$mkcpio" "$work/inner.spec" "$work/inner.cpio" || bail "mkcpio failed on the inner payload"
    # An uncompressed archive must start at a multiple of 4 bytes (the kernel skips zeros).
    pad=$(((4 - $(wc -c <"$work/initrd") % 4) % 4))
    head -c "$pad" /dev/zero >>"$work/initrd"
    cat "$work/inner.cpio" >>"$work/initrd"
    echo "# inner payload: $(($(wc -c <"$work/inner.cpio") / 1048576)) MiB (vnuma, QEMU, libraries, firmware, guest image, kvm modules)"
    ;;
esac

# Node i has CPUs 2i and 2i+1 and 1 GiB (room for two small inner guests).  Distances are
# asymmetric; from node 0 the nearest is node 1, which the soft-affinity test expects.
set -- -accel tcg,thread=multi -cpu max -machine q35 -m 4096M -smp 8,sockets=4,cores=2,threads=1 \
    -nographic -no-reboot -nic none
for n in 0 1 2 3; do
    set -- "$@" -object memory-backend-ram,id=m$n,size=1024M \
        -numa node,nodeid=$n,cpus=$((2 * n))-$((2 * n + 1)),memdev=m$n
done
dist="10,12,20,22;13,10,21,20;20,22,10,12;21,20,13,10"
src=0
for row in $(echo "$dist" | tr ';' ' '); do
    dst=0
    for d in $(echo "$row" | tr ',' ' '); do
        [ $src -ne $dst ] && set -- "$@" -numa dist,src=$src,dst=$dst,val=$d
        dst=$((dst + 1))
    done
    src=$((src + 1))
done

list=$(echo "$tests" | tr ' ' ',')
echo "# test host: 4 nodes x (2 CPUs, 1 GiB), TCG; tests: $list"
start=$(date +%s)
timeout -k 5 "${VNUMA_MN_TIMEOUT:-420}" "$qemu" "$@" -kernel "$kernel" -initrd "$work/initrd" \
    -append "console=ttyS0 panic=-1 quiet rdinit=/mn/init vnuma.mn=$list ${VNUMA_MN_APPEND:-}" \
    </dev/null >"$work/console.raw" 2>&1
rc=$?
tr -d '\r' <"$work/console.raw" >"$work/console"
echo "# QEMU exited with status $rc after $(($(date +%s) - start)) s"

console_tail() {
    grep -v '^$' "$work/console" | tail -n "${1:-15}" | sed 's/^/#   /'
}

if grep -q 'MN-HW: available: 4 nodes (0-3)$' "$work/console"; then
    tap ok "test host: the kernel sees 4 NUMA nodes"
    grep '^MN-HW: ' "$work/console" | sed 's/^MN-HW: /#   /' | grep -E 'distances|^#   +[0-9]:|cpus'
else
    tap "not ok" "test host: the kernel sees 4 NUMA nodes"
    console_tail
fi

for t in $tests; do
    if ! grep -q "^MN-BEGIN $t\$" "$work/console"; then
        tap "not ok" "$t: did not start (the test host stopped before it)"
        continue
    fi
    # The lines between this test's BEGIN and END, without the prefix.
    sed -n "/^MN-BEGIN $t\$/,/^MN-END $t /p" "$work/console" | sed -n 's/^MN: //p' >"$work/$t.out"
    failed=0
    while IFS= read -r line; do
        case $line in
        "ok - "*) tap ok "${line#ok - }" ;;
        "not ok - "*)
            tap "not ok" "${line#not ok - }"
            failed=1
            ;;
        "#"*) echo "$line" ;;
        *) echo "#   $line" ;;
        esac
    done <"$work/$t.out"
    end=$(sed -n "s/^MN-END $t //p" "$work/console")
    if [ -z "$end" ]; then
        tap "not ok" "$t: did not finish"
        # Its results so far reached the console as they happened (inner-lib.sh's dbg).
        echo "#   results before it stopped (uptime, result):"
        grep -E '^MN-DBG: [0-9.]+ (ok|not ok) - ' "$work/console" | sed 's/^MN-DBG: /#     /'
        console_tail
    elif [ "$end" != 0 ] && [ $failed = 0 ]; then
        tap "not ok" "$t: mn-test exited with status $end"
    fi
done
grep -q '^MN-ALL-DONE$' "$work/console" || console_tail 8
echo "1..$count"
