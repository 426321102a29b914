#!/bin/sh
# vnumad overhead benchmark (not a test):
#   bench/vnumad/run.sh [BUILD_DIR] [DOMAINS...] [SECONDS] [OUT_DIR]
#                       (build, "100", 60, BUILD_DIR/vnumad; DOMAINS may be a quoted list,
#                        "25 50 100 200": one run per count, side by side in one CSV and plot)
# For each count, starts DOMAINS stand-in processes (standin.c: a 32 MiB tmpfs vnode file (VNUMAD_BENCH_MIB), 2 "vCPU" threads at
# ~1% CPU each), writes a fake running record for each into a private state dir, runs the real
# vnumad on it for SECONDS at the default interval, and reports vnumad's CPU time (utime +
# stime from /proc) per pass and as a share of one CPU, scaled to 100 domains.
# Writes OUT_DIR/vnumad.csv and, with gnuplot, OUT_DIR/vnumad.png (ms of CPU per pass and CPU %
# per 100 domains against the number of domains: linear cost shows as a flat second curve).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
ndom=${2:-100}
secs=${3:-60}
out=${4:-$build/vnumad}
interval=${VNUMAD_BENCH_INTERVAL:-5}
mib=${VNUMAD_BENCH_MIB:-32}
export VNUMAD_BENCH_MIB="$mib"
mkdir -p "$out"
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -pthread -o "$out/standin" "$here/standin.c"
state= mem= pids= vd=
cleanup() {
    # shellcheck disable=SC2086 # a list of pids
    [ -n "$pids" ] && kill $pids 2>/dev/null
    [ -n "$vd" ] && kill "$vd" 2>/dev/null
    rm -rf "$state" "$mem"
    pids= vd= state= mem=
}
trap cleanup EXIT
trap 'exit 1' INT TERM
echo "domains,seen,observed,seconds,interval_s,passes,cpu_s,ms_per_pass,cpu_pct,cpu_pct_per_100_domains,cpu_pct_per_100_domains_at_interval" >"$out/vnumad.csv"

run_one() { # run_one DOMAINS: one measurement, a row of the CSV
    n=$1
    state=$(mktemp -d "${TMPDIR:-/tmp}/vnumad-bench-state.XXXXXX")
    chmod 700 "$state"
    mkdir -m 700 "$state/domains" "$state/run"
    # The memory dir vnuma derives for this state dir (docs/GUEST.md): a record cannot name
    # another, so the stand-ins map their files there.
    if [ "$(stat -f -c %T "$state/run")" = tmpfs ]; then
        mem=$state/run
    else
        mkdir -p -m 700 "/dev/shm/vnuma-$(id -u)"
        mem="/dev/shm/vnuma-$(id -u)/st-$(stat -c %d "$state")-$(stat -c %i "$state")"
        mkdir -m 700 "$mem"
    fi
    i=0
    while [ "$i" -lt "$n" ]; do
        mkdir -m 700 "$mem/d$i"
        "$out/standin" "$mem/d$i/vnode0" "$mib" 2 &
        pids="$pids $!"
        i=$((i + 1))
    done
    sleep 3
    # shellcheck disable=SC2086 # a list of pids
    python3 "$here/records.py" "$build/src/cli/vnuma" "$state" $pids
    "$build/src/daemon/vnumad" --state-dir "$state" --interval "$interval" --log "$out/vnumad.log" &
    vd=$!
    sleep "$secs"
    ticks=$(getconf CLK_TCK)
    cpu=$(awk -v t="$ticks" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$vd/stat")
    passes=$("$build/src/cli/vnuma" balance --state-dir "$state" status --json |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["passes"], len(d["domains"]), sum(1 for x in d["domains"] if x["running"] and x["locality_pct"] is not None))')
    kill "$vd"
    wait "$vd" 2>/dev/null || true
    vd=
    # shellcheck disable=SC2086 # three numbers
    set -- $passes
    python3 - "$cpu" "$1" "$2" "$3" "$secs" "$interval" "$n" "$out/vnumad.csv" <<'EOF_PY'
import sys
cpu, passes, doms, observed, secs, interval, ndom = map(float, sys.argv[1:8])
per_pass = cpu / passes if passes else float("nan")
share = cpu / secs * 100
per100 = share * 100 / ndom
at_interval = per_pass / interval * 100 * 100 / ndom
line = (f"{int(ndom)},{int(doms)},{int(observed)},{secs:.0f},{interval:g},{int(passes)},{cpu:.3f},"
        f"{per_pass * 1000:.1f},{share:.3f},{per100:.3f},{at_interval:.3f}")
with open(sys.argv[8], "a") as f:
    f.write(line + "\n")
print(f"{int(ndom)} stand-in domains ({int(observed)} observed), {int(passes)} passes in {secs:.0f} s: "
      f"vnumad used {cpu:.2f} s CPU = {share:.2f}% of one CPU; {per_pass * 1000:.1f} ms per pass; "
      f"{per100:.2f}% per 100 domains (measured), {at_interval:.2f}% per 100 domains at a "
      f"steady {interval:g} s interval")
EOF_PY
    cleanup
}

for n in $ndom; do
    run_one "$n"
done
if command -v gnuplot >/dev/null; then
    gnuplot <<GP
set terminal pngcairo size 900,500
set output "$out/vnumad.png"
set datafile separator ","
set key autotitle columnhead top left
set xlabel "domains (stand-in processes)"
set ylabel "ms of vnumad CPU per pass"
set y2label "CPU % per 100 domains at a ${interval} s interval"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set title "vnumad overhead: cost per pass and per 100 domains"
plot "$out/vnumad.csv" using 1:8 with linespoints title "ms per pass", \
     "$out/vnumad.csv" using 1:11 axes x1y2 with linespoints title "CPU % per 100 domains"
GP
    echo "plot: $out/vnumad.png"
fi
echo "csv: $out/vnumad.csv"
