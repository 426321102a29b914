#!/bin/sh
# Races under load, the long run (not a test):
#   bench/stress/run.sh [BUILD_DIR] [WORKERS] [SECONDS] [OUT_DIR]   (build, 20, 300, BUILD_DIR/stress)
# Boots the 4-node TCG test host (tests/multinode/run.sh) and runs tests/multinode/inner-stress.sh
# there with WORKERS workers for SECONDS: create, destroy, memory moves and vnumad passes on
# inner guests while mn-claims samples every node's claims against its capacity under the host
# lock.  Writes OUT_DIR/claims.csv (per sample: domains, claim MiB and ratio per node),
# OUT_DIR/ops.csv (per operation: seconds, kind, exit status), OUT_DIR/summary.txt (its TAP
# lines and report) and, with gnuplot, OUT_DIR/stress.png (claim ratio per node and operations
# done per kind over time).  Exits 1 when any TAP line failed, an invariant break among them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
workers=${2:-20}
secs=${3:-300}
out=${4:-$build/stress}
mkdir -p "$out"
# The test host's clock budget: the race set-up, the run, the operations still under way at
# the deadline (each bounded at 120 s) and the clean-up.
VNUMA_MN_APPEND="vnuma.stress=$workers,$secs vnuma.stress_csv=1" \
    VNUMA_MN_TIMEOUT=$((secs + 900)) sh "$root/tests/multinode/run.sh" "$build" inner-stress \
    >"$out/multinode.log" 2>&1 || true
sed -n 's/^#   STRESS-CSV: //p' "$out/multinode.log" >"$out/claims.csv"
{
    echo "t_s,kind,exit"
    sed -n 's/^#   STRESS-OP: //p' "$out/multinode.log" | tr ' ' ','
} >"$out/ops.csv"
grep -v -e 'STRESS-CSV: ' -e 'STRESS-OP: ' "$out/multinode.log" >"$out/summary.txt"
# Operations done (exit 0) per kind, cumulative, one row per operation.
awk -F, 'NR > 1 && $3 == 0 { n[$2]++ }
    NR == 1 { print "t_s,create,destroy,move,move_stopped,pass"; next }
    NR > 1 { print $1 "," n["create"] + 0 "," n["destroy"] + 0 "," n["move"] + 0 "," \
             n["move-stopped"] + 0 "," n["pass"] + 0 }' "$out/ops.csv" >"$out/ops-cum.csv"
grep -E '^(ok|not ok)|operations|refusals|^# +[0-9]+ |checker:' "$out/summary.txt" || true
if command -v gnuplot >/dev/null && [ -s "$out/claims.csv" ]; then
    gnuplot <<GP
set terminal pngcairo size 1000,800 noenhanced
set output "$out/stress.png"
set datafile separator ","
set multiplot layout 2,1 title "Races under load: $workers workers for $secs s in the 4-node TCG test host"
set key outside right
set grid
set xlabel "seconds since the first worker started"
set ylabel "claims / node capacity"
set yrange [0:1.1]
plot for [n=0:3] "$out/claims.csv" using 1:(column(7 + n)) skip 1 with lines title sprintf("node %d", n), \
     1 with lines dt 2 lc rgb "red" title "capacity"
set ylabel "operations done"
set yrange [0:*]
plot for [k=2:6] "$out/ops-cum.csv" using 1:k with steps title columnhead(k)
unset multiplot
GP
    echo "plot: $out/stress.png"
fi
echo "csv: $out/claims.csv $out/ops.csv"
! grep -q '^not ok' "$out/summary.txt"
