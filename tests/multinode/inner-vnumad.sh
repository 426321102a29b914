#!/bin/sh
# /mn/inner-vnumad: vnumad over two inner guests on the 4-node test host (busybox sh), run by
# /mn/init after /mn/inner.  Host distances (run.sh): 0-1 12/13, 2-3 12/13, 0-2 20, 1-3 20,
# 0-3 22, 1-2 21.  Guest "b" holds nodes 1 and 3 (fixed pnodes, claims that leave no room for
# another vnode), so guest "a" (two vnodes at guest distance 12, pnode=auto, busy workloads on
# both vnodes) is placed with both vnodes on node 0 (seen in a run: the placer fills one node).
# Then:
#  - freed nodes: b is destroyed; vnumad re-places a onto a pair at distance 12 ({0,1} or
#    {2,3}; a run chose {2,3} ~9 s after b went, with --replace-after 3) and its memory
#    follows, within a stated time, while a's heartbeat goes on;
#  - kill -9 mid-move: the first vnumad moves at 4 MiB/s and is killed with SIGKILL while the
#    moving vnode is split between its old and new node; the record stays consistent (new
#    pnodes, claim on them), a's QEMU runs, and a restarted vnumad completes the move.
# Prints TAP result lines without a plan, like inner.sh; the harness relays them.
export PATH=/bin:/usr/bin:/mn
export VNUMA_KERNEL=/mn/vmlinuz VNUMA_INITRAMFS=/mn/initramfs.cpio.gz XDG_CACHE_HOME=/tmp/cache
S=/run/vnuma
V=vnuma
LIMIT=120 # seconds from destroying b to a's memory being on its new nodes
fails=0
vd=

# Progress also goes to the console as it happens (MN-DBG:), for a run that does not finish.
# shellcheck source=tests/multinode/inner-lib.sh
. /mn/inner-lib.sh
dbg() { echo "MN-DBG: $(now) $*" >/dev/console 2>/dev/null; }
ok() {
    echo "ok - $*"
    dbg "ok - $*"
}
notok() {
    echo "not ok - $*"
    dbg "not ok - $*"
    fails=$((fails + 1))
}
# MiB domain $1's claim holds on node $2.
claim_mib() { awk -v n="$2" '
    /"node":/ { v = $0; gsub(/[^0-9]/, "", v); node = v }
    /"mem_mib":/ { v = $0; gsub(/[^0-9]/, "", v); if (node == n) t += v }
    END { print t + 0 }' "$S/domains/$1.json"; }
beats() {
    n=$(grep -c 'VNUMA-WORKLOAD: vnode=0 ' "$S/run/a/console.log" 2>/dev/null)
    echo "${n:-0}"
}
wait_for() { # wait_for SECONDS COMMAND...: polls every 0.5 s, bounded by the clock
    end=$(awk -v a="$(now)" -v t="$1" 'BEGIN { print a + t }')
    shift
    while awk -v a="$(now)" -v e="$end" 'BEGIN { exit !(a < e) }'; do
        "$@" && return 0
        sleep 0.5
    done
    return 1
}
start_vnumad() { # start_vnumad LOG OPTION...: waits for the socket to answer
    log=$1
    shift
    vnumad --interval 1 --log "$log" "$@" &
    vd=$!
    wait_for 20 $V balance status >/dev/null 2>&1
}
stop_all() {
    [ -n "$vd" ] && kill "$vd" 2>/dev/null && wait "$vd" 2>/dev/null
    vd=
    for d in a b; do
        [ -e "$S/domains/$d.json" ] && $V destroy "$d" >/dev/null 2>&1
    done
}
pair() { echo "$(pnode_of "$1" 0),$(pnode_of "$1" 1)"; }
near_pair() { # the two pnodes are a pair at host distance 12/13
    case $1 in 0,1 | 1,0 | 2,3 | 3,2) return 0 ;; esac
    return 1
}
# Both vnodes of a >= 99% on their recorded pnodes (by numa_maps), on a near pair.
settled() {
    x=$($V info --exact a 2>/dev/null) || return 1
    dbg "$(echo "$x" | awk '$1 ~ /^[01]$/')"
    near_pair "$(pair "$x")" || return 1
    for v in 0 1; do
        p=$(pnode_of "$x" "$v")
        awk -v a="$(mib_on "$x" "$v" "$p")" -v t="$(total_mib "$x" "$v")" \
            'BEGIN { exit !(t > 0 && a / t >= 0.99) }' || return 1
    done
}

if [ ! -c /dev/kvm ]; then
    for m in irqbypass kvm kvm-amd; do
        insmod "/mn/kvm/$m.ko" 2>/dev/null
    done
fi
if [ ! -c /dev/kvm ]; then
    echo "ok - inner vnumad # SKIP no /dev/kvm in the test host"
    exit 0
fi
mkdir -p /tmp/cache
trap stop_all EXIT

cat >/tmp/b.cfg <<'CFG'
name = "b"
memory = 1536
vcpus = 2
vnuma = [ [ "pnode=1", "size=768", "vcpus=0", "vdistances=10,20" ],
          [ "pnode=3", "size=768", "vcpus=1", "vdistances=20,10" ] ]
cmdline = "console=ttyS0 panic=-1 quiet"
on_reboot = "destroy"
CFG
cat >/tmp/a.cfg <<'CFG'
name = "a"
memory = 256
vcpus = 2
vnuma = [ [ "pnode=auto", "size=128", "vcpus=0", "vdistances=10,12" ],
          [ "pnode=auto", "size=128", "vcpus=1", "vdistances=12,10" ] ]
cmdline = "console=ttyS0 panic=-1 quiet vnuma.workload=0:24,1:24 vnuma.heartbeat_ms=500"
on_reboot = "destroy"
CFG

out=$($V create /tmp/b.cfg 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
check "vnumad: guest b created on host nodes 1 and 3" [ $rc = 0 ]
out=$($V create /tmp/a.cfg 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
check "vnumad: guest a created (pnode=auto)" [ $rc = 0 ]
[ $rc = 0 ] || exit 1
info=$($V info a)
echo "$info" | sed -n '/^vnodes/,/^$/p' | sed 's/^/#   /'
p=$(pair "$info")
# The placer puts both of a's vnodes on node 0 (or 2): b's claims leave nodes 1 and 3 no room.
check "vnumad: with b on nodes 1 and 3, a is not on a near pair of nodes (got $p)" \
    ! near_pair "$p"
wait_for 60 grep -q 'VNUMA-WORKLOAD: vnode=1 ' "$S/run/a/console.log"
check "vnumad: a's workloads beat on both vnodes" grep -q 'VNUMA-WORKLOAD: vnode=1 ' "$S/run/a/console.log"
$V numainfo | sed 's/^/#   /'

# --- freed node, with vnumad killed (-9) mid-move and restarted --------------------------------
start_vnumad /tmp/vnumad1.log --vm-rate 4 --replace-after 3 --dwell 2
check "vnumad: starts over a and b (slow moves: --vm-rate 4)" [ $? = 0 ]
sleep 3
$V balance status | sed 's/^/#   /'
p0=$(pair "$($V info a)")
check "vnumad: with b in place, a stays on nodes $p0" [ "$p0" = "$p" ]
t0=$(now)
$V destroy b >/dev/null 2>&1
check "vnumad: b destroyed (nodes 1 and 3 are free)" [ ! -e "$S/domains/b.json" ]

# The record says the new placement first; then pages move at 4 MiB/s.  Kill when the vnode
# that moves has pages on both its old and its new node.
replaced=
split_seen=
while [ "$(elapsed "$t0" | cut -d. -f1)" -lt $LIMIT ]; do
    x=$($V info a 2>/dev/null)
    dbg "$(echo "$x" | awk '$1 ~ /^[01]$/')"
    np=$(pair "$x")
    if [ -z "$replaced" ] && [ "$np" != "$p" ] && [ -n "$np" ]; then
        replaced=$(elapsed "$t0")
        echo "# re-placed $p -> $np after $replaced s"
    fi
    if [ -n "$replaced" ]; then
        for v in 0 1; do
            old=$(echo "$p" | cut -d, -f$((v + 1))) new=$(pnode_of "$x" "$v")
            [ "$old" != "$new" ] && awk -v a="$(mib_on "$x" "$v" "$old")" \
                -v b="$(mib_on "$x" "$v" "$new")" 'BEGIN { exit !(a > 0 && b > 0) }' &&
                split_seen=$v
        done
        [ -n "$split_seen" ] && break
        settled && break
    fi
    sleep 0.5
done
grep -E 'replace|migrate' /tmp/vnumad1.log | head -n 6 | sed 's/^/#   /'
check "vnumad: a is re-placed onto a near pair after b goes ($p -> $np, ${replaced:-never} s)" \
    [ -n "$replaced" ] && near_pair "$np"
if [ -n "$split_seen" ]; then
    echo "$x" | sed -n '/^vnodes/,/^$/p' | sed 's/^/#   /'
    qpid=$($V list | awk '$1 == "a" { print $3 }')
    kill -9 "$vd"
    wait "$vd" 2>/dev/null
    vd=
    ok "vnumad: killed with SIGKILL while vnode $split_seen was split between nodes"
    x=$($V info a)
    rc=$?
    c=0
    for n in $(echo "$np" | tr ',' ' '); do c=$((c + $(claim_mib a "$n"))); done
    [ $rc = 0 ] && [ "$(pair "$x")" = "$np" ] && [ "$c" = 256 ] && kill -0 "$qpid"
    res "vnumad: after SIGKILL the record is consistent (a on $np, its 256 MiB claimed there) and a's QEMU runs"
    start_vnumad /tmp/vnumad2.log --replace-after 3 --dwell 2
    check "vnumad: a restarted vnumad takes over the stale socket" [ $? = 0 ]
else
    notok "vnumad: the move was not seen half-done, so SIGKILL mid-move was not tested"
fi
wait_for "$LIMIT" settled
res "vnumad: a's memory is >= 99% on its new near pair $np within $LIMIT s of b going ($(elapsed "$t0") s)"
x=$($V info --exact a)
echo "$x" | sed -n '/^vnodes/,/^$/p' | sed 's/^/#   /'
$V balance status | sed 's/^/#   /'
b1=$(beats)
sleep 2
b2=$(beats)
check "vnumad: a's heartbeat goes on ($b1 -> $b2 beats in 2 s)" [ "$b2" -gt "$b1" ]

kill "$vd" 2>/dev/null && wait "$vd" 2>/dev/null
vd=
$V destroy a >/dev/null 2>&1
check "vnumad: a destroyed, nothing left" [ ! -e "$S/domains/a.json" ]
[ $fails = 0 ]
