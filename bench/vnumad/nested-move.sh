#!/bin/sh
# Page moves of a nested KVM guest in the 4-node TCG test host, by busy vCPUs (not a test):
#   bench/vnumad/nested-move.sh [BUILD_DIR] [OUT_DIR]     (build, BUILD_DIR/nested-move)
# Boots the multinode test host with the inner toolstack and runs inner-move.sh there: for a
# guest with 0, 1 and 2 busy vCPUs, `vnuma migrate` of each vnode.  Explains why the
# multinode vnumad test (tests/multinode/inner-vnumad.sh) gives its guest one busy vCPU.
# Writes OUT_DIR/nested-move.csv and, with gnuplot, nested-move.png.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
out=${2:-$build/nested-move}
mkdir -p "$out"
cp "$here/inner-move.sh" "$out/inner-move"
chmod 755 "$out/inner-move"
VNUMA_MN_EXTRA="$out/inner-move" VNUMA_MN_TIMEOUT=900 sh "$root/tests/multinode/run.sh" \
    "$build" inner-move >"$out/multinode.log" 2>&1 || true
echo "busy_vcpus,vnode,moved_mib,seconds,mib_per_s,longest_call_ms" >"$out/nested-move.csv"
sed -n 's/^#   csv,nested,//p' "$out/multinode.log" >>"$out/nested-move.csv"
grep '^# [0-9] busy' "$out/multinode.log" || grep '^#' "$out/multinode.log" | tail -n 5
cat "$out/nested-move.csv"
if command -v gnuplot >/dev/null; then
    gnuplot <<GP
set terminal pngcairo size 800,450
set output "$out/nested-move.png"
set datafile separator ","
set title "Moving a nested KVM guest's pages in the TCG test host"
set xlabel "busy vCPUs of the guest"
set ylabel "MiB/s (present pages moved, log scale)"
set logscale y
set xtics 1
set key off
plot "$out/nested-move.csv" using 1:5 with points pointtype 7 pointsize 1.5
GP
    echo "plot: $out/nested-move.png"
fi
