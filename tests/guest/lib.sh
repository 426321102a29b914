# Shared by the guest-tier TAP scripts (POSIX sh).  Source it, call vn_guest_setup, then
# vn_boot_check once per topology, then vn_guest_finish.
#
# Environment (set by tests/guest/meson.build):
#   VNUMA_ACCEL_PROBE  the vnuma-accel-probe helper     VNUMA_INITRAMFS  the guest image
#   VNUMA_GUEST_CACHE  where the accelerator verdict is cached
#   VNUMA_GUEST_TESTS  this directory                   VNUMA_KERNEL, VNUMA_QEMU  overrides
# QEMU runs under `timeout`: a guest that hangs costs VN_BOOT_TIMEOUT seconds, not the run.

VN_BOOT_TIMEOUT=${VN_BOOT_TIMEOUT:-120}
vn_tap_count=0

# Prints TAP lines, counting the results for the plan printed at the end.
vn_tap() {
    while IFS= read -r line; do
        case $line in
        "ok "* | "not ok "*) vn_tap_count=$((vn_tap_count + 1)) ;;
        esac
        printf '%s\n' "$line"
    done <<EOF_TAP
$1
EOF_TAP
}

vn_skip_all() {
    echo "1..0 # SKIP $1"
    exit 0
}

vn_bail() {
    echo "Bail out! $1"
    exit 1
}

vn_guest_setup() {
    VN_QEMU=$(command -v "${VNUMA_QEMU:-qemu-system-x86_64}") ||
        vn_skip_all "QEMU cannot run: '${VNUMA_QEMU:-qemu-system-x86_64}' is not installed (package qemu-system-x86)"
    VN_KERNEL=${VNUMA_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
    [ -n "$VN_KERNEL" ] && [ -r "$VN_KERNEL" ] ||
        vn_bail "no guest kernel: install linux-image-cloud-amd64 or set VNUMA_KERNEL"
    [ -r "$VNUMA_INITRAMFS" ] || vn_bail "the guest image '$VNUMA_INITRAMFS' is missing"

    # QEMU, the kernel and the image are there (checked above), so a probe that fails says
    # nothing about whether guests can boot: the tier boots with TCG, which needs no probe,
    # and says why.  Only a bad command line (exit 2) is the test's own bug.
    probe_out=$("$VNUMA_ACCEL_PROBE" --cache-dir "$VNUMA_GUEST_CACHE" --kernel "$VN_KERNEL" \
        --initramfs "$VNUMA_INITRAMFS" 2>&1)
    case $? in
    0)
        VN_ACCEL=$(echo "$probe_out" | sed -n 1p)
        VN_ACCEL_ARGS=$(echo "$probe_out" | sed -n 2p)
        VN_ACCEL_WHY=$(echo "$probe_out" | sed -n 3p)
        ;;
    1)
        VN_ACCEL=tcg
        VN_ACCEL_ARGS="-accel tcg,thread=multi -cpu max"
        VN_ACCEL_WHY="the accelerator probe failed, so TCG without a probe: $(echo "$probe_out" | tr '\n' ' ')"
        ;;
    *) vn_bail "vnuma-accel-probe was called wrongly: $probe_out" ;;
    esac
    case $VN_ACCEL in
    kvm | tcg) ;;
    *) vn_bail "vnuma-accel-probe printed '$VN_ACCEL', not kvm or tcg: $probe_out" ;;
    esac
    echo "# accelerator: $VN_ACCEL ($VN_ACCEL_WHY)"

    # Each vnode is a file, as vnuma does it; tmpfs keeps the guest's memory off the disk.
    base=/dev/shm
    [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
    VN_WORK=$(mktemp -d "$base/vnuma-guest-test.XXXXXX") || vn_bail "cannot create a work dir"
    trap 'rm -rf "$VN_WORK"' EXIT
    trap 'rm -rf "$VN_WORK"; exit 1' INT TERM
}

# vn_boot NAME MEMS VCPUMAP DIST APPEND
#   MEMS "2048,2048" (MiB per vnode), VCPUMAP "1,0,1,0", DIST "10,20;20,10", APPEND extra
#   kernel parameters.  Boots that topology once; sets VN_LOG (console), VN_RC, VN_MS.
vn_boot() {
    name=$1 mems=$2 vcpumap=$3 dist=$4 append=$5
    set -- -machine q35 -nographic -no-reboot -nic none
    total=0 i=0
    for m in $(echo "$mems" | tr ',' ' '); do
        set -- "$@" -object "memory-backend-file,id=m$i,size=${m}M,mem-path=$VN_WORK/m$i,share=on,host-nodes=0,policy=bind" \
            -numa "node,nodeid=$i,memdev=m$i"
        total=$((total + m)) i=$((i + 1))
    done
    VN_NVNODES=$i VN_TOTAL=$total
    cpu=0
    for v in $(echo "$vcpumap" | tr ',' ' '); do
        set -- "$@" -numa "cpu,node-id=$v,socket-id=$cpu"
        cpu=$((cpu + 1))
    done
    VN_NVCPUS=$cpu
    # One socket per vCPU: vnodes may interleave vCPUs (xl's vnuma_vcpumap = [1, 0, 1, 0]),
    # and a socket split across nodes makes the guest warn about llc siblings.
    set -- "$@" -m "${total}M" -smp "$cpu,sockets=$cpu,cores=1,threads=1"
    src=0
    for row in $(echo "$dist" | tr ';' ' '); do
        dst=0
        for d in $(echo "$row" | tr ',' ' '); do
            [ $src -ne $dst ] && set -- "$@" -numa "dist,src=$src,dst=$dst,val=$d"
            dst=$((dst + 1))
        done
        src=$((src + 1))
    done
    VN_LOG=$VN_WORK/$name.console
    start=$(date +%s%N)
    # shellcheck disable=SC2086 # VN_ACCEL_ARGS is a list of words
    timeout -k 5 "$VN_BOOT_TIMEOUT" "$VN_QEMU" $VN_ACCEL_ARGS "$@" -kernel "$VN_KERNEL" \
        -initrd "$VNUMA_INITRAMFS" -append "console=ttyS0 panic=-1 quiet $append" \
        </dev/null >"$VN_LOG" 2>&1
    VN_RC=$?
    VN_MS=$((($(date +%s%N) - start) / 1000000))
    rm -f "$VN_WORK"/m[0-9]*
    tr -d '\r' <"$VN_LOG" >"$VN_LOG.txt" && mv "$VN_LOG.txt" "$VN_LOG"
}

# Prints the last lines of the console as TAP diagnostics.
vn_console_tail() {
    grep -v '^$' "$VN_LOG" | tail -n "${1:-8}" | sed 's/^/#   /'
}

# vn_boot_check NAME MEMS VCPUMAP DIST
# Boots that topology with vnuma.probe=json and checks the guest's view (check_view.py).
vn_boot_check() {
    vn_boot "$1" "$2" "$3" "$4" vnuma.probe=json
    json=$(sed -n 's/.*VNUMA-PROBE-JSON: //p' "$VN_LOG" | head -n 1)
    if [ -z "$json" ]; then
        vn_tap "not ok - $1: the guest printed its NUMA view (QEMU exit $VN_RC after $VN_MS ms)"
        vn_console_tail
        return
    fi
    echo "# $1: $VN_NVNODES vnodes, $VN_TOTAL MiB, $VN_NVCPUS vCPUs; QEMU launch to exit $VN_MS ms ($VN_ACCEL)"
    echo "# $1: guest view $json"
    vn_tap "$(python3 "$VNUMA_GUEST_TESTS/check_view.py" "$1" "$2" "$3" "$4" "$json")"
    vn_tap "$([ $VN_RC -eq 0 ] && echo ok || echo not ok) - $1: the guest powered off and QEMU exited 0 (status $VN_RC)"
}

# vn_expect NAME PATTERN DESCRIPTION: one TAP result for a grep -E pattern in the console.
vn_expect() {
    if grep -Eq "$2" "$VN_LOG"; then
        vn_tap "ok - $1: $3"
    else
        vn_tap "not ok - $1: $3"
        echo "#   no line matches '$2'; the console ends with:"
        vn_console_tail
    fi
}

vn_guest_finish() {
    echo "1..$vn_tap_count"
}
