#!/usr/bin/env bash
# The placement benchmark in one command:  bench/place/run.sh [OUTDIR] [SEED]
# Builds bench-place (release build in build-bench/), runs it, draws the PNGs with gnuplot and
# prints the Markdown summary recorded in docs/BENCHMARKS.md (also saved as OUTDIR/summary.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-bench
out=${1:-$build/place}
seed=${2:-1}
if [[ ! -f $build/build.ninja ]]; then
    meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" bench/bench-place >/dev/null
mkdir -p "$out"
"$build/bench/bench-place" "$out" "$seed"
gnuplot -e "out='$out'" "$root/bench/place/plot.gp"
python3 "$root/bench/place/summary.py" "$out" | tee "$out/summary.md"
echo "CSV and PNG files are in $out"
