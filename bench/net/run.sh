#!/usr/bin/env bash
# Guest network throughput through vnuma's tap (+ vhost-net when /dev/vhost-net is usable)
# against the same QEMU started by hand with the same arguments and a hand-made tap, in one
# run (not a test):
#   bench/net/run.sh [BUILD_DIR] [MIB] [ROUNDS] [OUT_DIR]     (build, 64, 3, BUILD_DIR/net)
# Two network namespaces of its own: A holds a bridge and runs vnuma and the hand QEMU, B a
# veth peer at 169.254.20.1 that sends MIB MiB to the guest's sink (guest/init vnuma.sink=)
# over TCP and times it until the guest's byte count comes back.  Rounds alternate vnuma /
# hand, one guest at a time.  Writes OUT_DIR/net.csv, net.png and summary.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
mib=${2:-64}
rounds=${3:-3}
out=${4:-$build/net}
vnuma=$build/src/cli/vnuma
mkdir -p "$out"
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$out/cache} # the accelerator verdict, probed once
[ "$(id -u)" = 0 ] || { echo "bench/net: needs root (network namespaces, taps)" >&2; exit 1; }

NSA=vnb-a-$$ NSB=vnb-b-$$ BR=vnbbr0 PORT=5001
state=$(mktemp -d /tmp/vnuma-bench-net.XXXXXX)
hand=$(mktemp -d /dev/shm/vnuma-bench-hand.XXXXXX)
hand_pid=''
cleanup() {
    [ -n "$hand_pid" ] && kill "$hand_pid" 2>/dev/null && wait "$hand_pid" 2>/dev/null
    timeout 30 ip netns exec "$NSA" "$vnuma" destroy --state-dir "$state" bnet >/dev/null 2>&1 || true
    ip netns del "$NSA" 2>/dev/null || true
    ip netns del "$NSB" 2>/dev/null || true
    rm -rf "$state" "$hand"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# shellcheck source=tests/guest/netns-lib.sh
. "$root/tests/guest/netns-lib.sh"
netns_bridge_pair "$NSA" "$NSB" "$BR" 169.254.20.1/16 ||
    { echo "bench/net: cannot set up the network namespaces" >&2; exit 1; }

cat >"$state/bnet.cfg" <<EOF_CFG
name = "bnet"
memory = 256
vcpus = 1
vnodes = 1
on_reboot = "destroy"
vif = [ 'bridge=$BR' ]
extra = "console=ttyS0 panic=-1 quiet vnuma.ip=169.254.20.2/16 vnuma.sink=$PORT"
EOF_CFG

# wait_for FILE REGEX SECONDS
wait_for() {
    local end=$(($(date +%s) + $3))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ -f "$1" ] && tr -d '\r' <"$1" | grep -Eq "$2" && return 0
        sleep 0.2
    done
    echo "bench/net: '$2' did not appear in $1 within $3 s" >&2
    return 1
}
# measure WHO ADDR ROUND: one timed transfer, a CSV line
measure() {
    local i r
    for i in $(seq 20); do # the guest answers once its sink listens
        timeout 5 ip netns exec "$NSB" busybox ping -c 1 -W 1 "$2" >/dev/null 2>&1 && break
    done
    r=$(timeout 90 ip netns exec "$NSB" python3 "$here/send.py" "$2" "$PORT" "$mib")
    read -r secs count <<<"$r"
    [ "$count" = $((mib * 1048576)) ] || { echo "bench/net: $1 counted $count bytes, not $((mib * 1048576))" >&2; exit 1; }
    echo "$3,$1,$mib,$secs,$(python3 -c "print('%.2f' % ($mib / $secs))")" | tee -a "$out/net.csv"
}

echo "round,who,mib,seconds,mib_per_s" >"$out/net.csv"
netdev=''
for round in $(seq "$rounds"); do
    # vnuma's guest
    res=$(timeout 120 ip netns exec "$NSA" "$vnuma" create --state-dir "$state" "$state/bnet.cfg")
    pid=$(sed -n "s/^domain 'bnet' started (pid \([0-9]*\))$/\1/p" <<<"$res")
    [ -n "$netdev" ] || {
        cp "/proc/$pid/cmdline" "$out/vnuma-argv"
        netdev=$(tr '\0' '\n' <"$out/vnuma-argv" | grep -x -A1 -- -netdev | tail -n 1)
    }
    wait_for "$state/run/bnet/console.log" "VNUMA-NET: sink on port $PORT" 120
    measure vnuma 169.254.20.2 "$round"
    timeout 60 ip netns exec "$NSA" "$vnuma" destroy --state-dir "$state" bnet >/dev/null
    # the same QEMU by hand: the same arguments, a tap made with ip tuntap
    ip -n "$NSA" tuntap add dev hand0 mode tap vnet_hdr
    ip -n "$NSA" link set hand0 master "$BR" up
    python3 "$here/hand_argv.py" "$out/vnuma-argv" "$hand" hand0 169.254.20.3/16 >"$out/hand-argv"
    rm -f "$hand/console.log"
    mapfile -t argv <"$out/hand-argv"
    ip netns exec "$NSA" "${argv[@]}" >"$hand/qemu.log" 2>&1 &
    hand_pid=$!
    wait_for "$hand/console.log" "VNUMA-NET: sink on port $PORT" 120
    measure hand 169.254.20.3 "$round"
    kill "$hand_pid"
    wait "$hand_pid" 2>/dev/null || true
    hand_pid=''
    ip -n "$NSA" link del hand0
done

python3 "$here/summary.py" "$out/net.csv" "$netdev" >"$out/summary.txt"
cat "$out/summary.txt"
if command -v gnuplot >/dev/null; then
    gnuplot -e "outdir='$out'" "$here/plot.gp"
fi
echo "CSV and PNG files are in $out"
