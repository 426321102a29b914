#!/bin/sh
# /mn/inner.sh: the inner-guest tests, run inside the 4-node test host by /mn/init (busybox sh).
# The real toolstack end to end: `vnuma create` starts QEMU (with KVM through kvm-amd, nested
# in the TCG test host) for a guest whose vnodes are on host nodes 0 and 1, `vnuma mem-move`
# moves vnode 1 while the guest's workload keeps its heartbeat, and the record, `info`,
# `numainfo` and `list` (the claim) are checked after every step, failures included.
# Prints TAP result lines without a plan, like mn-test; the harness relays them.
export PATH=/bin:/usr/bin:/mn
export VNUMA_KERNEL=/mn/vmlinuz VNUMA_INITRAMFS=/mn/initramfs.cpio.gz XDG_CACHE_HOME=/tmp/cache
S=/run/vnuma
V=vnuma
fails=0
# shellcheck source=tests/multinode/inner-lib.sh
. /mn/inner-lib.sh

ok() { echo "ok - $*"; }
notok() {
    echo "not ok - $*"
    fails=$((fails + 1))
}
beats() {
    n=$(grep -c 'VNUMA-WORKLOAD: vnode=1 ' "$S/run/g1/console.log" 2>/dev/null)
    echo "${n:-0}"
}

# --- KVM inside the test host --------------------------------------------------------------
for m in irqbypass kvm kvm-amd; do
    insmod "/mn/kvm/$m.ko" 2>/tmp/insmod.err || { echo "# insmod $m: $(cat /tmp/insmod.err)"; }
done
if [ ! -c /dev/kvm ]; then
    echo "ok - inner guests # SKIP no /dev/kvm in the test host (kvm-amd did not load; TCG inside TCG takes ~53 s per boot)"
    exit 0
fi
echo "# /dev/kvm is there; $(grep -c . /proc/modules) modules loaded"

mkdir -p /tmp/cache
cat >/tmp/g1.cfg <<'CFG'
name = "g1"
memory = 256
vcpus = 2
vnuma = [ [ "pnode=0", "size=128", "vcpus=0", "vdistances=10,20" ],
          [ "pnode=1", "size=128", "vcpus=1", "vdistances=20,10" ] ]
cmdline = "console=ttyS0 panic=-1 quiet vnuma.workload=1:64 vnuma.heartbeat_ms=200"
on_reboot = "destroy"
CFG

t0=$(now)
out=$($V create /tmp/g1.cfg 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
check "inner: vnuma create g1 (vnodes on host nodes 0 and 1) exits 0" [ $rc = 0 ]
if [ $rc != 0 ]; then
    exit 1
fi
accel=$($V list | awk '$1 == "g1" { print $8 }')
if [ "$accel" != kvm ]; then
    echo "# accelerator: $($V info g1 | grep accelerator:)"
    $V destroy g1 >/dev/null 2>&1
    echo "ok - inner guests # SKIP the accelerator probe chose '$accel', not KVM (TCG inside TCG is too slow for CI)"
    exit 0
fi
wait_for 60 grep -q 'VNUMA-WORKLOAD: vnode=1 ' "$S/run/g1/console.log"
check "inner: g1 boots with KVM inside the test host and its workload beats ($(elapsed "$t0") s from create)" \
    grep -q 'VNUMA-WORKLOAD: vnode=1 ' "$S/run/g1/console.log"
info=$($V info g1)
echo "$info" | sed -n '/^vnodes/,/^$/p' | sed 's/^/#   /'
check "inner: info shows vnode 0 on host node 0 and vnode 1 on host node 1" \
    [ "$(pnode_of "$info" 0),$(pnode_of "$info" 1)" = "0,1" ]
on0=$(mib_on "$info" 0 0) on1=$(mib_on "$info" 1 1)
check "inner: vnode 0's pages are on node 0 ($on0 MiB), vnode 1's on node 1 ($on1 MiB)" \
    awk -v a="$on0" -v b="$on1" 'BEGIN { exit !(a > 0 && b >= 32) }'

# --- migrate vnode 1 to node 3 while the guest runs ------------------------------------------
b0=$(beats)
out=$($V mem-move g1 --vnode 1 --to 3 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
check "inner: vnuma mem-move g1 --vnode 1 --to 3 exits 0" [ $rc = 0 ]
b1=$(beats)
sleep 2
b2=$(beats)
echo "# heartbeats: $b0 before, $b1 right after the migration, $b2 two seconds later"
check "inner: the guest's heartbeat goes on after the migration ($b1 -> $b2 beats in 2 s)" \
    [ "$b2" -gt "$b1" ]
exact=$($V info --exact g1)
echo "$exact" | sed -n '/^vnodes/,/^$/p' | sed 's/^/#   /'
on3=$(mib_on "$exact" 1 3) tot=$(total_mib "$exact" 1)
check "inner: vnode 1 is >= 99% on node 3 by numa_maps ($on3 of $tot MiB)" \
    awk -v a="$on3" -v t="$tot" 'BEGIN { exit !(t > 0 && a / t >= 0.99) }'
num=$($V numainfo)
lst=$($V list)
echo "$num" | grep -E "g1|vnode|memory per" | sed 's/^/#   /'
echo "# claim: $(for n in 0 1 2 3; do printf 'node %s %s MiB; ' $n "$(claim_mib g1 $n)"; done) list: $(echo "$lst" | awk '$1 == "g1" { print $7 }')"
[ "$(pnode_of "$exact" 1)" = 3 ] && echo "$num" | grep -q 'vnode 1 -> pnode 3 ' &&
    [ "$(claim_mib g1 0),$(claim_mib g1 1),$(claim_mib g1 3)" = "128,0,128" ] &&
    echo "$lst" | awk '$1 == "g1" { exit !($7 ~ /3/) }'
res "inner: record (info), numainfo and the claim agree: vnode 1 on node 3, its 128 MiB claimed there"

# --- refused: a node without room --------------------------------------------------------------
rec=$(cat "$S/domains/g1.json")
mn-test hog 2 48 >/tmp/hog.out 2>&1 &
hog=$!
wait_for 60 grep -q ready /tmp/hog.out
echo "# $(cat /tmp/hog.out)"
out=$($V mem-move g1 --vnode 1 --to 2 2>&1)
rc=$?
echo "# $out"
[ $rc = 1 ] && echo "$out" | grep -qF "domain 'g1': vnode 1 cannot be migrated to host node(s) 2"
res "inner: migrating vnode 1 to a full node 2 is refused (exit 1) naming the domain, vnode and node"
after=$($V info --exact g1)
[ "$rec" = "$(cat "$S/domains/g1.json")" ] && [ "$(mib_on "$after" 1 2)" = 0 ]
res "inner: after the refusal the record is unchanged and vnode 1 has no page on node 2"
kill "$hog"
wait "$hog" 2>/dev/null

# --- interrupted (SIGTERM), then finished -------------------------------------------------------
$V mem-move g1 --vnode 1 --to 0 --rate 8 >/tmp/mig.out 2>&1 &
mig=$!
sleep 2
kill -TERM "$mig"
wait "$mig"
rc=$?
sed 's/^/#   /' /tmp/mig.out
split=$($V info g1)
echo "$split" | grep 'vnode 1: split' | sed 's/^/#   /'
[ $rc = 1 ] && echo "$split" | grep -qF 'vnode 1: split between host node(s) 3 and 0' &&
    [ "$(mib_on "$split" 1 0)" != 0 ] && [ "$(mib_on "$split" 1 3)" != 0 ]
res "inner: SIGTERM stops the migration (exit 1); info shows vnode 1 split, with pages on nodes 3 and 0"
c0=$(claim_mib g1 0) c3=$(claim_mib g1 3)
[ "$c0" -gt 128 ] && [ "$c3" -gt 0 ] && [ $((c0 + c3)) = 256 ]
res "inner: while split, the claim divides vnode 1 between nodes 0 and 3 ($c0 and $c3 MiB; vnode 0 has 128 on node 0)"
out=$($V mem-move g1 --vnode 1 --to 0 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
exact=$($V info --exact g1)
on0=$(mib_on "$exact" 1 0) tot=$(total_mib "$exact" 1)
[ $rc = 0 ] && awk -v a="$on0" -v t="$tot" 'BEGIN { exit !(t > 0 && a / t >= 0.99) }' &&
    ! echo "$exact" | grep -q split && [ "$(pnode_of "$exact" 1)" = 0 ]
res "inner: a second mem-move finishes it: vnode 1 >= 99% on node 0 ($on0 of $tot MiB), no split left"

# --- QEMU exits mid-migration --------------------------------------------------------------------
qpid=$($V list | awk '$1 == "g1" { print $3 }')
$V mem-move g1 --vnode 1 --to 3 --rate 8 >/tmp/mig.out 2>&1 &
mig=$!
sleep 2
kill -KILL "$qpid"
wait "$mig"
rc=$?
sed 's/^/#   /' /tmp/mig.out
dead=$($V info g1)
echo "$dead" | grep -E "^domain|split" | sed 's/^/#   /'
[ $rc = 1 ] && grep -qi 'exit' /tmp/mig.out
res "inner: QEMU killed mid-migration: mem-move exits 1 and says QEMU exited"
echo "$dead" | grep -q "^domain 'g1': dead" &&
    echo "$dead" | grep -qF 'vnode 1: split between host node(s) 0 and 3'
res "inner: the record stays consistent: g1 dead, vnode 1 split between nodes 0 and 3"

# --- destroy cleans up ----------------------------------------------------------------------------
out=$($V destroy g1 2>&1)
rc=$?
[ $rc = 0 ] && [ ! -e "$S/domains/g1.json" ] && [ ! -e "$S/run/g1" ] &&
    ! grep -q qemu-system /proc/[0-9]*/comm 2>/dev/null
res "inner: destroy g1 exits 0 and leaves no record, runtime dir or QEMU"
[ $fails = 0 ]
