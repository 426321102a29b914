#!/bin/sh
# /mn/inner-stress: races under load on the 4-node test host (busybox sh), run by /mn/init.
# WORKERS shell workers run for SECONDS (kernel argument vnuma.stress=WORKERS,SECONDS; CI
# default 3,75), each a loop of random operations on inner guests, bounded by a count and by
# the clock: create (one or two vnodes, 256-768 MiB, pnode=auto or a fixed node), destroy (of
# any worker's domain), mem-move of a vnode to a random node (some paced, some interrupted by
# SIGTERM so that vnodes are left split), and `vnuma balance once` (a pass of the vnumad that
# runs all along with eager knobs).  Domains are large next to the nodes' 1 GiB, so claims
# reach capacity and creates and moves are refused.  Beside them mn-claims samples every
# domain's claim against each node's capacity under the host lock (4 per second).
# Reports, each a TAP line that can fail: the operations done per kind, the refusals counted
# by message, the largest claim total per node against its capacity, the invariant (no
# sample with claims above a node's capacity), and a clean end (no record, QEMU or memory
# file left).  Prints TAP result lines without a plan, like inner.sh; the harness relays them.
# vnuma.stress_csv=1 (bench/stress): also print the checker's samples as "STRESS-CSV: " lines
# and each operation as "STRESS-OP: SECONDS KIND EXIT".
export PATH=/bin:/usr/bin:/mn
export VNUMA_KERNEL=/mn/vmlinuz VNUMA_INITRAMFS=/mn/initramfs.cpio.gz XDG_CACHE_HOME=/tmp/cache
S=/run/vnuma
V=vnuma
W=/tmp/stress
workers=3 seconds=75 dump=
for arg in $(cat /proc/cmdline); do
    case $arg in
    vnuma.stress_csv=1) dump=1 ;;
    vnuma.stress=*,*)
        a=${arg#*=}
        workers=${a%,*} seconds=${a#*,}
        ;;
    esac
done
case $workers$seconds in *[!0-9]*) echo "not ok - stress: bad vnuma.stress=$workers,$seconds" && exit 1 ;; esac
MAXOPS=$((seconds * 2)) # per worker: an operation takes a second or more here
OPTIMEOUT=120           # seconds any one command may take
fails=0
vd=
ck=

# shellcheck source=tests/multinode/inner-lib.sh
. /mn/inner-lib.sh
uptime_s() {
    read -r up _ </proc/uptime
    echo "${up%.*}"
}
rnd() { echo $((RANDOM % $1)); } # 0..$1-1
stop_all() {
    [ -n "$ck" ] && kill "$ck" 2>/dev/null
    [ -n "$vd" ] && kill "$vd" 2>/dev/null && wait "$vd" 2>/dev/null
    vd= ck=
}

if [ ! -c /dev/kvm ]; then
    for m in irqbypass kvm kvm-amd; do
        insmod "/mn/kvm/$m.ko" 2>/dev/null
    done
fi
if [ ! -c /dev/kvm ]; then
    echo "ok - stress # SKIP no /dev/kvm in the test host (kvm-amd did not load)"
    exit 0
fi
[ -n "$RANDOM" ] || { echo "not ok - stress: this shell has no \$RANDOM" && exit 1; }
mkdir -p /tmp/cache "$W"
trap stop_all EXIT

# One operation: runs the command bounded by OPTIMEOUT and logs "SECONDS KIND EXIT MESSAGE"
# (seconds since the start when it ended; the last line it printed on failure).
op() { # op KIND COMMAND...
    o_kind=$1
    shift
    timeout -s KILL $OPTIMEOUT "$@" >"$W/o.$wid" 2>&1
    log_op "$o_kind" $? "$W/o.$wid"
}
log_op() { # log_op KIND EXIT OUTPUT_FILE
    if [ "$2" = 0 ]; then
        echo "$(($(uptime_s) - t0)) $1 0" >>"$W/w$wid.log"
    else
        echo "$(($(uptime_s) - t0)) $1 $2 $(grep -v '^$' "$3" | tail -n 1)" >>"$W/w$wid.log"
    fi
}
some_domain() { # a random domain of any worker, or nothing
    sd_l=$(ls "$S/domains" 2>/dev/null | sed -n 's/\.json$//p')
    sd_n=$(echo "$sd_l" | grep -c .)
    [ "$sd_n" -gt 0 ] && echo "$sd_l" | sed -n "$(($(rnd "$sd_n") + 1))p"
}
cfg() { # cfg NAME: a config with one vnode (1 vCPU) or two (2 vCPUs)
    c_fix=$(rnd 10)
    pn() { if [ "$c_fix" -lt 3 ]; then echo "$(rnd 4)"; else echo auto; fi; }
    if [ "$(rnd 4)" = 0 ]; then
        c_half=$((256 + 128 * $(rnd 2)))
        cat <<CFG
name = "$1"
memory = $((2 * c_half))
vcpus = 2
vnuma = [ [ "pnode=$(pn)", "size=$c_half", "vcpus=0", "vdistances=10,20" ],
          [ "pnode=$(pn)", "size=$c_half", "vcpus=1", "vdistances=20,10" ] ]
cmdline = "console=ttyS0 panic=-1 quiet"
on_reboot = "destroy"
CFG
    else
        c_mem=$((256 + 128 * $(rnd 5)))
        cat <<CFG
name = "$1"
memory = $c_mem
vcpus = 1
vnuma = [ [ "pnode=$(pn)", "size=$c_mem", "vcpus=0", "vdistances=10" ] ]
cmdline = "console=ttyS0 panic=-1 quiet"
on_reboot = "destroy"
CFG
    fi
}
worker() { # worker ID: random operations until the deadline or MAXOPS
    wid=$1
    w_k=0 w_n=0
    : >"$W/w$wid.log"
    while [ $w_n -lt $MAXOPS ] && [ "$(uptime_s)" -lt "$deadline" ]; do
        w_n=$((w_n + 1))
        w_r=$(rnd 100)
        if [ "$w_r" -lt 30 ]; then
            w_k=$((w_k + 1))
            cfg "s${wid}x$w_k" >"$W/w$wid.cfg"
            op create $V create "$W/w$wid.cfg"
        elif [ "$w_r" -lt 42 ]; then
            w_d=$(some_domain) && op destroy $V destroy "$w_d"
        elif [ "$w_r" -lt 75 ]; then
            # Paced half the time, so the move spans other workers' commits.
            w_d=$(some_domain) && if [ "$(rnd 2)" = 0 ]; then
                op move $V mem-move "$w_d" --vnode "$(rnd 2)" --to "$(rnd 4)"
            else
                op move $V mem-move "$w_d" --vnode "$(rnd 2)" --to "$(rnd 4)" --rate 16
            fi
        elif [ "$w_r" -lt 85 ]; then
            # Stopped after a second: the vnode stays split until a later move.
            w_d=$(some_domain) && {
                $V mem-move "$w_d" --vnode 0 --to "$(rnd 4)" --rate 4 >"$W/m.$wid" 2>&1 &
                w_m=$!
                sleep 1
                kill -TERM $w_m 2>/dev/null
                wait $w_m
                log_op move-stopped $? "$W/m.$wid"
            }
        else
            op pass $V balance --timeout 60 once
        fi
    done
}

# --- one race, set up on purpose: a create on the node a vnode is moving to -------------------
# ra (256 MiB, node 2, a workload touching 64 MiB) moves to node 3 at 4 MiB/s; rb holds 512
# MiB of node 3.  While the pages move, rc asks for 256 MiB on node 3: ra's move counts there,
# so 512 + 256 + 256 cannot fit any node (<= 1007 MiB) and rc must be refused; were rc placed,
# the move's end would leave node 3 with claims above its capacity.
race_cfg() { # race_cfg NAME MIB NODE [CMDLINE]
    cat <<CFG
name = "$1"
memory = $2
vcpus = 1
vnuma = [ [ "pnode=$3", "size=$2", "vcpus=0", "vdistances=10" ] ]
cmdline = "console=ttyS0 panic=-1 quiet ${4:-}"
on_reboot = "destroy"
CFG
}
race_cfg ra 256 2 "vnuma.workload=0:64 vnuma.heartbeat_ms=500" >"$W/ra.cfg"
race_cfg rb 512 3 >"$W/rb.cfg"
race_cfg rc 256 3 >"$W/rc.cfg"
# ra alone first: the accelerator probe boots once, unhurried, and its verdict is cached for
# the workers' creates (under their load it could miss its deadline and pick TCG).
out=$(timeout -s KILL $OPTIMEOUT $V create "$W/ra.cfg" 2>&1)
rc=$?
echo "$out" | grep accelerator | sed 's/^/#   /'
check "race: ra is created" [ $rc = 0 ]
accel=$($V list | awk '$1 == "ra" { print $8 }')
if [ "$accel" != kvm ]; then
    $V destroy ra >/dev/null 2>&1
    echo "ok - stress # SKIP the accelerator probe chose '$accel', not KVM (TCG inside TCG is too slow for a stress run)"
    exit 0
fi
$V create "$W/rb.cfg" >/dev/null 2>&1 && wait_for 60 grep -q 'VNUMA-WORKLOAD: vnode=0 ' "$S/run/ra/console.log"
res "race: rb (512 MiB on node 3) is created and ra's workload runs"
$V mem-move ra --vnode 0 --to 3 --rate 4 >"$W/ra.move" 2>&1 &
mv=$!
migrating() { $V list | awk '$1 == "ra" && $2 == "migrating" { f = 1 } END { exit !f }'; }
wait_for 20 migrating
res "race: ra's vnode 0 is moving to node 3 (list says migrating)"
out=$($V create "$W/rc.cfg" 2>&1)
rc=$?
echo "$out" | tail -n 1 | sed 's/^/#   /'
wait $mv
mvrc=$?
tail -n 1 "$W/ra.move" | sed 's/^/#   /'
mn-claims --state-dir "$S" --seconds 1 >"$W/race.out" 2>&1
sed 's/^/#   /' "$W/race.out"
check "race: the move finishes (exit $mvrc)" [ $mvrc = 0 ]
check "race: rc (256 MiB on node 3) is refused while ra's move to node 3 is under way (exit $rc)" [ $rc = 1 ]
check "race: node 3's claims stay within its capacity after the move" grep -q '^breaks 0$' "$W/race.out"
for d in ra rb rc; do
    [ -e "$S/domains/$d.json" ] && $V destroy $d >/dev/null 2>&1
done
check "race: ra, rb and rc destroyed" [ -z "$(ls "$S/domains")" ]

nodes=$($V numainfo --json | awk '/"mem_mib"/ { gsub(/[^0-9]/, ""); printf "%s ", $0 }')
echo "# $workers workers for $seconds s (at most $MAXOPS operations each); node capacities (MiB): $nodes"
vnumad --interval 1 --confirm 1 --replace-after 2 --dwell 2 --log "$W/vnumad.log" &
vd=$!
wait_for 20 $V balance status >/dev/null 2>&1
res "stress: vnumad runs (interval 1 s, --confirm 1 --replace-after 2 --dwell 2)"
csv=$W/claims.csv
mn-claims --state-dir "$S" --seconds $((seconds + OPTIMEOUT + 30)) --interval-ms 250 \
    --csv "$csv" >"$W/checker.out" 2>"$W/checker.err" &
ck=$!
t0=$(uptime_s)
deadline=$((t0 + seconds))
pids=
i=1
while [ $i -le "$workers" ]; do
    worker $i &
    pids="$pids $!"
    i=$((i + 1))
done
for p in $pids; do wait "$p"; done
ran=$(($(uptime_s) - t0))
kill -TERM "$ck"
wait "$ck"
ckrc=$?
ck=
cat "$W"/w*.log >"$W/ops.log"

# --- what was done -------------------------------------------------------------------------------
count() { awk -v k="$1" -v ok="$2" '$2 == k && (ok == "ok" ? $3 == 0 : $3 != 0) { n++ } END { print n + 0 }' "$W/ops.log"; }
summary=
for k in create destroy move move-stopped pass; do
    summary="$summary $k $(count $k ok)/$(($(count $k ok) + $(count $k no)))"
done
total=$(grep -c . "$W/ops.log")
echo "# operations (done/tried):$summary; $total in $ran s"
[ "$(count create ok)" -gt 0 ] && [ "$(count destroy ok)" -gt 0 ] && [ "$(count move ok)" -gt 0 ] &&
    [ "$(count pass ok)" -gt 0 ]
res "stress: $workers workers, $ran s, $total operations; every kind done at least once (done/tried:$summary)"
passes=$($V balance status 2>/dev/null | awk '/passes/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }')
acted=$(grep -c -E 'replace|moving|rehome' "$W/vnumad.log")
echo "# vnumad: ${passes:-?} passes, $acted log lines of re-placements and moves"
grep -E 'replace|rehome|moved to node' "$W/vnumad.log" | tail -n 4 | sed 's/^/#   /'

# Refusals by message (names and numbers folded, so that one reason is one line).
awk '$3 != 0 { k = $2; $1 = $2 = $3 = ""; sub(/^ +/, ""); print k ": " $0 }' "$W/ops.log" |
    sed -e "s/'[^']*'/'X'/g" -e 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn >"$W/refusals"
echo "# refusals by message ($(awk '{ n += $1 } END { print n + 0 }' "$W/refusals") in all):"
sed 's/^/#   /' "$W/refusals"
room=$(grep -E 'create|move' "$W/refusals" | grep -E 'claim|free|room|MiB' | awk '{ n += $1 } END { print n + 0 }')
check "stress: claims reached capacity: $room creates and moves refused for want of room" \
    [ "$room" -gt 0 ]
# Every failure is a plain refusal (exit 1 with a message), never a crash, a signal or a hang
# (timeout's KILL gives 137); a move stopped by our SIGTERM exits 1 too.
# (A move SIGTERMed before its handler was installed dies of it: 143, no message, as meant.)
odd=$(awk '$3 != 0 && !($2 == "move-stopped" && $3 == 143) && ($3 != 1 || NF < 4)' "$W/ops.log")
echo "$odd" | grep . | head -n 5 | sed 's/^/#   odd: /'
check "stress: every failed operation exited 1 with a message (no crash, signal or timeout)" \
    [ -z "$odd" ]

# --- the checker -------------------------------------------------------------------------------
sed 's/^/#   checker: /' "$W/checker.out"
grep -v '^$' "$W/checker.err" | head -n 5 | sed 's/^/#   checker stderr: /'
set -- $(awk '/^samples/ { print $2, $4 }' "$W/checker.out")
samples=${1:-0} missed=${2:-0}
# At least one sample per 2 s; a sample is missed when the lock stays held 10 s (at most 10%).
[ "$samples" -ge $((ran / 2)) ] && [ $((missed * 10)) -le "$samples" ]
res "stress: the checker took $samples samples under the host lock ($missed missed) over the run"
maxr=0
for n in 0 1 2 3; do
    line=$(awk -v n=$n '$1 == "node" && $2 == n' "$W/checker.out")
    set -- $line
    check "stress: node $n: the largest claim total seen is ${6:-?} of ${4:-?} MiB (ratio ${8:-?}), within capacity" \
        awk -v m="${6:-x}" -v c="${4:-0}" 'BEGIN { exit !(m ~ /^[0-9]+$/ && c > 0 && m <= c) }'
    maxr=$(awk -v a="$maxr" -v b="${8:-0}" 'BEGIN { print (b > a ? b : a) }')
done
# Full: not even the smallest domain (256 MiB) would have fit beside the claims.
full=$(awk '$1 == "node" && $6 + 256 > $4 { printf "%s ", $2 }' "$W/checker.out")
check "stress: claims filled a node (no 256 MiB domain would fit) on node(s) ${full:-none}; largest ratio $maxr" \
    [ -n "$full" ]
breaks=$(awk '/^breaks/ { print $2 }' "$W/checker.out")
[ "${breaks:-x}" = 0 ] && [ $ckrc = 0 ]
res "stress: no invariant break: no sample had claims above a node's capacity (${breaks:-?} breaks, checker exit $ckrc)"

# --- a clean end ---------------------------------------------------------------------------------
lst=$($V list 2>&1)
echo "$lst" | sed 's/^/#   /'
! echo "$lst" | grep -qiE 'orphan|corrupt'
res "stress: list after the run shows no orphan QEMU and no corrupt record"
stop_all
for d in $(ls "$S/domains" | sed -n 's/\.json$//p'); do
    out=$(timeout -s KILL $OPTIMEOUT $V destroy "$d" 2>&1) || echo "# destroy $d: $out"
done
sleep 1
[ -z "$(ls "$S/domains")" ] && [ -z "$(ls "$S/run")" ] && ! grep -q qemu-system /proc/[0-9]*/comm 2>/dev/null
res "stress: after destroying what was left: no record, runtime or memory dir, or QEMU"
if [ -n "$dump" ]; then
    sed 's/^/STRESS-CSV: /' "$csv"
    sort -n "$W/ops.log" | awk '{ print "STRESS-OP: " $1, $2, $3 }'
fi
[ $fails = 0 ]
