# shellcheck shell=bash disable=SC2034 # the variables are read by the scripts that source it
# Shared by the guest-tier scripts that drive the real `vnuma` command (bash).
#   . vnuma-lib.sh; vt_setup "$@"; ...; vt_finish
# Arguments (from tests/guest/meson.build): VNUMA_EXE SOURCE_ROOT.
# Every domain is created in a private state dir (VT_STATE) and destroyed on exit, whatever
# happens; QEMU waits are bounded by VT_TIMEOUT seconds.

VT_TIMEOUT=${VT_TIMEOUT:-120}
vt_count=0
vt_failed=0

vt_ok() {
    vt_count=$((vt_count + 1))
    echo "ok $vt_count - $1"
}

vt_not_ok() {
    vt_count=$((vt_count + 1))
    vt_failed=$((vt_failed + 1))
    echo "not ok $vt_count - $1"
    shift
    for line in "$@"; do
        printf '%s\n' "$line" | sed 's/^/#   /'
    done
}

# vt_check DESCRIPTION COMMAND...: ok when the command succeeds.
vt_check() {
    local what=$1
    shift
    if "$@"; then vt_ok "$what"; else vt_not_ok "$what"; fi
}

# vt_check_eq DESCRIPTION GOT WANT: ok when the strings are equal; else both are shown.
# Several facts are asserted at once by joining them into one string each ("$a|$b"), never as
# `vt_check ... [ a ] && [ b ]`, which asserts only a (tests/unit/test-scripts-check.sh).
vt_check_eq() {
    if [ "$2" = "$3" ]; then vt_ok "$1"; else vt_not_ok "$1" "got:  $2" "want: $3"; fi
}

vt_skip() {
    vt_count=$((vt_count + 1))
    echo "ok $vt_count - $1 # SKIP $2"
}

vt_now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

vt_cleanup() {
    if [ -n "${VT_STATE:-}" ] && [ -d "$VT_STATE/domains" ]; then
        for f in "$VT_STATE"/domains/*.json; do
            [ -e "$f" ] || continue
            n=${f##*/}
            timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" "${n%.json}" >/dev/null 2>&1
        done
    fi
    [ -n "${VT_STATE:-}" ] && rm -rf "$VT_STATE"
    [ -n "${VT_WORK:-}" ] && rm -rf "$VT_WORK"
}

vt_setup() {
    VNUMA=${1:?usage: SCRIPT VNUMA_EXE SOURCE_ROOT}
    VT_SRC=${2:?usage: SCRIPT VNUMA_EXE SOURCE_ROOT}
    VT_DIR=$VT_SRC/tests/guest
    command -v "${VNUMA_QEMU:-qemu-system-x86_64}" >/dev/null ||
        { echo "1..0 # SKIP QEMU cannot run: '${VNUMA_QEMU:-qemu-system-x86_64}' is not installed"; exit 0; }
    VT_STATE=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-guest-state.XXXXXX")
    VT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-guest-work.XXXXXX")
    chmod 700 "$VT_STATE"
    trap vt_cleanup EXIT
    trap 'vt_cleanup; exit 1' INT TERM
    # The accelerator verdict is shared by every test (a KVM probe may cost 20 s).
    if [ -n "${VNUMA_GUEST_CACHE:-}" ]; then
        mkdir -p "$VNUMA_GUEST_CACHE"
        export XDG_CACHE_HOME=$VNUMA_GUEST_CACHE
    fi
    export VNUMA_STATE_DIR=$VT_STATE
}

# vt_cpuless_limit: prints why this QEMU cannot give a guest a CPU-less NUMA node, or nothing
# when it can.  QEMU is started stopped (-S) with one CPU-less node and told to quit over QMP:
# it exits 0 when it accepted the topology.  Only a refusal that QEMU pins on the -numa option
# of the CPU-less node counts as the limit; a probe that fails for another reason prints
# nothing, so a failing create is then a failure, not a skip.
vt_cpuless_limit() {
    local qemu out rc
    qemu=$(command -v "${VNUMA_QEMU:-qemu-system-x86_64}") || return 0
    out=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
        timeout 30 "$qemu" -machine q35 -accel tcg -nodefaults -display none -S -m 512M -smp 1 \
            -object memory-backend-ram,id=m0,size=256M -object memory-backend-ram,id=m1,size=256M \
            -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 \
            -numa cpu,node-id=0,socket-id=0 -qmp stdio 2>&1)
    rc=$?
    [ $rc -eq 0 ] && return 0
    if grep -q -- '-numa node,nodeid=1' <<<"$out"; then
        echo "$("$qemu" -version | head -n 1) refuses a CPU-less NUMA node: $(grep -- '-numa node,nodeid=1' <<<"$out" | head -n 1)"
    else
        echo "# the CPU-less node probe failed for another reason (status $rc): $(tail -n 2 <<<"$out" | tr '\n' ' ')" >&2
    fi
}

# vt_give PATH...: files a test hands to QEMU (disk images) become the QEMU user's and the work
# dir searchable: a root vnuma runs QEMU as its qemu_user (README "Confinement"), which must
# read and write them.  Nothing when not root (QEMU then runs as the test's user).
vt_give() {
    [ "$(id -u)" -eq 0 ] || return 0
    chmod 0711 "$VT_WORK"
    chown "${VT_QEMU_USER:-vnuma-qemu}" "$@"
}

# vt_create CONFIG [ARGS...]: runs `vnuma create`, output in $VT_OUT, status in $VT_RC.
vt_create() {
    local cfg=$1
    shift
    VT_OUT=$(timeout "$VT_TIMEOUT" "$VNUMA" create --state-dir "$VT_STATE" "$@" "$cfg" 2>&1)
    VT_RC=$?
}

vt_console_log() {
    echo "$VT_STATE/run/$1/console.log"
}

# vt_wait_console NAME REGEX [SECONDS]: waits until the console log has a matching line.
vt_wait_console() {
    local log deadline
    log=$(vt_console_log "$1")
    deadline=$(($(date +%s) + ${3:-$VT_TIMEOUT}))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        [ -f "$log" ] && tr -d '\r' <"$log" | grep -Eq "$2" && return 0
        sleep 0.2
    done
    return 1
}

# vt_qemu_pids NAME: QEMU processes started for domain NAME of this test's state dir (other
# runs on the host may have a domain of that name too).
vt_qemu_pids() {
    pgrep -f -- "-name $1,debug-threads=on .*unix:$VT_STATE/run/$1/qmp.sock" || true
}

# vt_nothing_left NAME: prints what remains of domain NAME (nothing when all is gone).
vt_nothing_left() {
    local left=""
    [ -n "$(vt_qemu_pids "$1")" ] && left="$left process($(vt_qemu_pids "$1" | tr '\n' ' '))"
    [ -e "$VT_STATE/domains/$1.json" ] && left="$left record"
    [ -e "$VT_STATE/run/$1" ] && left="$left runtime-dir"
    # The memory dir is keyed by the state dir: ROOT/vnuma-UID/st-DEV-INO/NAME (docs/GUEST.md).
    local key
    key=st-$(stat -c %d "$VT_STATE")-$(stat -c %i "$VT_STATE")
    [ -e "${VNUMA_MEM_DIR:-/dev/shm}/vnuma-$(id -u)/$key/$1" ] && left="$left mem-dir"
    echo "$left"
}

# vt_assert_clean NAME WHAT: one TAP line saying nothing of NAME is left.
vt_assert_clean() {
    local left
    left=$(vt_nothing_left "$1")
    if [ -z "$left" ]; then
        vt_ok "$2: nothing of '$1' is left (no QEMU, record, runtime dir or memory files)"
    else
        vt_not_ok "$2: nothing of '$1' is left" "left behind:$left"
    fi
}

vt_finish() {
    echo "1..$vt_count"
}
