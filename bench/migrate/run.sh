#!/bin/sh
# Migration and residency benchmark (not a test):
#   bench/migrate/run.sh [BUILD_DIR] [MAX_MIB] [OUT_DIR]   (build, 16384, BUILD_DIR/migrate)
# 1. In the 4-node TCG test host (tests/multinode/run.sh): 256 MiB moved from node 0 to 3
#    under pause budgets of 5, 20 and 100 ms, twice each, against memcpy node 0 -> node 3 in
#    the same run, with the longest gap of a heartbeat in the process being migrated.
# 2. On this host: residency sampling (K = 2401) against a numa_maps scan, 256 MiB to
#    MAX_MIB (see bench_residency.c for how 16 GiB fit in 512 MiB of memory).
# Writes OUT_DIR/{migrate,residency}.csv and .png, and the test host's console log.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
max=${2:-16384}
out=${3:-$build/migrate}
mkdir -p "$out"
cc=${CC:-cc}
flags="-std=gnu11 -O2 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I$root/src/lib -Wall -Wextra"
lib=$root/src/lib
# shellcheck disable=SC2086 # flags is a list of words
$cc $flags -static -s -o "$out/bench-migrate" "$here/bench_migrate.c" "$lib/util/error.c" \
    "$lib/util/bitmap.c" "$lib/numa/affinity.c" "$lib/numa/migrate.c" "$lib/numa/sample.c" \
    "$lib/numa/nodeinfo.c" "$lib/numa/numa_maps.c" -lm
# shellcheck disable=SC2086
$cc $flags -o "$out/bench-residency" "$here/bench_residency.c" "$lib/util/error.c" \
    "$lib/numa/numa_maps.c" "$lib/numa/sample.c" -lm

echo "budget_ms,mib,mib_per_s,memcpy_mib_per_s,ratio,longest_call_ms,calls_over_budget,longest_gap_ms" \
    >"$out/migrate.csv"
VNUMA_MN_EXTRA="$out/bench-migrate" VNUMA_MN_TIMEOUT=600 sh "$root/tests/multinode/run.sh" \
    "$build" bench-migrate >"$out/multinode.log" 2>&1 || true
sed -n 's/^#   csv,migrate,//p' "$out/multinode.log" >>"$out/migrate.csv"
grep '^#   # ' "$out/multinode.log" || true

echo "mib,k,sample_ms,numa_maps_ms,estimate,exact,worst_error_20_seeds,bound95" >"$out/residency.csv"
"$out/bench-residency" "$max" | sed -n 's/^csv,residency,//p' >>"$out/residency.csv"

cat "$out/migrate.csv" "$out/residency.csv"
if command -v gnuplot >/dev/null; then
    gnuplot -e "outdir='$out'" "$here/plot.gp"
fi
echo "CSV and PNG files are in $out"

