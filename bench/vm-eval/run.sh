#!/bin/sh
# Real-guest harness (issue 6 section 4; not a test):
#   bench/vm-eval/run.sh BUILD_DIR [OUT_DIR]          (default OUT_DIR: vm-eval-out)
# The simulator's experiment with real guests: for each placement policy and each number of
# guests N, starts N guests with `vnuma create` (vnuma's own guest image), runs the
# memory-bound workload of vnuma-probe in every guest (vnuma.workload=0:MIB:SECONDS on the
# kernel command line), reads the MiB/s heartbeats from each console log, destroys the
# guests, and writes runs.csv, summary.csv (the columns of `vnuma sim`), plot.gp and
# throughput.png.  Every guest lives in a private state directory (mktemp) and is destroyed
# on any exit.  Environment (defaults in brackets):
#   VM_EVAL_COUNTS   guests per run              ["1 2 4"]
#   VM_EVAL_ALGOS    placement algorithms        ["vnuma xen"]
#   VM_EVAL_ACCEL    auto, kvm or tcg; auto is probed once and then used for every guest [auto]
#   VM_EVAL_REPS     repetitions (the "seed" column)          [1]
#   VM_EVAL_VCPUS    vCPUs per guest             [1]
#   VM_EVAL_MIB      memory per guest, MiB       [256]
#   VM_EVAL_WORK_MIB workload buffer per guest   [64]
#   VM_EVAL_SECONDS  workload run time           [8]
#   VM_EVAL_WARMUP   heartbeats before this second are not counted   [2]
#   VM_EVAL_HOST     a --host SPEC to place against (default: the live host)
# Numbers are only NUMA-meaningful on a multi-node host with KVM (docs/BENCHMARKS.md).
set -eu

usage() {
    echo "usage: bench/vm-eval/run.sh BUILD_DIR [OUT_DIR]" >&2
    exit 2
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
build=$1
out=${2:-vm-eval-out}
vnuma=$build/src/cli/vnuma
[ -x "$vnuma" ] || {
    echo "vm-eval: no vnuma binary at '$vnuma'; build first (meson setup B && ninja -C B)" >&2
    exit 1
}
counts=${VM_EVAL_COUNTS:-1 2 4}
algos=${VM_EVAL_ALGOS:-vnuma xen}
accel=${VM_EVAL_ACCEL:-auto}
reps=${VM_EVAL_REPS:-1}
vcpus=${VM_EVAL_VCPUS:-1}
mib=${VM_EVAL_MIB:-256}
work=${VM_EVAL_WORK_MIB:-64}
secs=${VM_EVAL_SECONDS:-8}
warm=${VM_EVAL_WARMUP:-2}
hostopt=
[ -n "${VM_EVAL_HOST:-}" ] && hostopt="--host=$VM_EVAL_HOST"
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/vm-eval.log
: >"$log"

# Guests of the run in progress: destroyed by the trap if the script stops early.
sd=
names=
cleanup() {
    if [ -n "$sd" ] && [ -d "$sd" ]; then
        for n in $names; do
            timeout 30 "$vnuma" destroy --state-dir "$sd" "$n" >>"$log" 2>&1 || true
        done
        rm -rf "$sd"
    fi
    sd=
    names=
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

# The console logs of one run hold "VNUMA-WORKLOAD: vnode=0 t=T passes=P mib_per_s=X"
# heartbeats; a guest's throughput is the mean X of the beats at t >= warm-up.
tput_of() {
    sed -n 's/^.*VNUMA-WORKLOAD: vnode=[0-9]* t=\([0-9.]*\) passes=[0-9]* mib_per_s=\([0-9.]*\).*$/\1 \2/p' "$1" |
        awk -v w="$warm" '$1 >= w { s += $2; n++ } END { if (n) printf "%.1f %d\n", s / n, n; else print "nan 0" }'
}

echo "config,count,seed,vm,group,workload,vcpus,memory_mib,mem_nodes,guest_numa,throughput,locality,run_share" \
    >"$out/runs.csv"
start=$(date +%s)
for rep in $(seq 1 "$reps"); do
    for algo in $algos; do
        for n in $counts; do
            sd=$(mktemp -d "${TMPDIR:-/tmp}/vm-eval.XXXXXX")
            names=
            i=1
            while [ "$i" -le "$n" ]; do
                name=eval$i
                cat >"$sd/$name.cfg" <<EOF
name = "$name"
memory = $mib
vcpus = $vcpus
cmdline = "console=ttyS0 panic=-1 quiet vnuma.workload=0:$work:$secs vnuma.heartbeat_ms=1000 vnuma.poweroff=1"
on_reboot = "destroy"
on_poweroff = "preserve"
EOF
                # Sequential creates: each is placed with the guests before it as load.
                # shellcheck disable=SC2086 # hostopt is empty or one word
                if ! timeout 90 "$vnuma" create --algo "$algo" --accel "$accel" $hostopt \
                    --state-dir "$sd" "$sd/$name.cfg" >"$sd/$name.create" 2>&1; then
                    cat "$sd/$name.create" >&2
                    echo "vm-eval: cannot create guest $name ($algo, $n guests)" >&2
                    exit 1
                fi
                names="$names $name"
                cat "$sd/$name.create" >>"$log"
                if [ "$accel" = auto ]; then
                    got=$(sed -n 's/^accelerator: \([a-z]*\).*/\1/p' "$sd/$name.create" | head -n 1)
                    [ -n "$got" ] && accel=$got && echo "vm-eval: accelerator $accel (probed)" >&2
                fi
                i=$((i + 1))
            done
            # Wait for every workload to finish (boot + run + power-off), bounded.
            deadline=$(($(date +%s) + secs + 90))
            for name in $names; do
                while ! grep -q 'VNUMA-WORKLOAD: done' "$sd/run/$name/console.log" 2>/dev/null; do
                    if [ "$(date +%s)" -ge "$deadline" ]; then
                        echo "vm-eval: $name ($algo, $n guests) did not finish; see its console log" >&2
                        break
                    fi
                    sleep 1
                done
            done
            for name in $names; do
                # The host nodes of its memory: the pnode column of create's placement table.
                nodes=$(awk '/^ *vnode +pnode/ { t = 1; next } t && NF >= 2 && $1 ~ /^[0-9]+$/ { print $2 } t && $1 !~ /^[0-9]+$/ { t = 0 }' \
                    "$sd/$name.create" | sort -u | tr '\n' ' ' | sed 's/ $//; s/ /+/g')
                # shellcheck disable=SC2046 # two words: throughput and beats
                set -- $(tput_of "$sd/run/$name/console.log")
                echo "$algo-$accel,$n,$rep,$name,eval,vnuma-probe,$vcpus,$mib,${nodes:-?},0,$1,," \
                    >>"$out/runs.csv"
                printf 'vm-eval: %-10s n=%d rep=%d %-6s %10s MiB/s (%s beats, nodes %s)\n' \
                    "$algo-$accel" "$n" "$rep" "$name" "$1" "$2" "${nodes:-?}" >&2
                cp "$sd/run/$name/console.log" "$out/console-$algo-n$n-r$rep-$name.log" 2>/dev/null || true
            done
            cleanup
        done
    done
done
wall=$(($(date +%s) - start))

# summary.csv: per config and count, the mean per-VM throughput over reps (sd over reps of
# the per-run mean), the group total, and the change against the first configuration.
awk -F, 'NR > 1 && $11 != "nan" {
    k = $1 "," $2; key[k] = 1; cfg[k] = $1; cnt[k] = $2
    if (!($1 in seen)) { seen[$1] = 1; order[++nc] = $1 }
    r = k "," $3; if (!(r in rs)) { rs[r] = 1; reps[k]++; rep[k, reps[k]] = $3 }
    sum[r] += $11; n[r]++
}
END {
    print "config,count,group,vms,per_vm_mean,per_vm_sd,group_mean,group_sd,locality,unit,rel_first,rel_first_sd"
    for (c = 1; c <= nc; c++) for (k in key) if (cfg[k] == order[c]) {
        m = 0; g = 0; q = 0; gq = 0
        for (i = 1; i <= reps[k]; i++) { r = k "," rep[k, i]; pv[i] = sum[r] / n[r]; gv[i] = sum[r]; m += pv[i]; g += gv[i] }
        m /= reps[k]; g /= reps[k]
        for (i = 1; i <= reps[k]; i++) { q += (pv[i] - m) ^ 2; gq += (gv[i] - g) ^ 2 }
        sdv = reps[k] > 1 ? sqrt(q / (reps[k] - 1)) : 0; gsd = reps[k] > 1 ? sqrt(gq / (reps[k] - 1)) : 0
        mean[k] = m
        f = order[1] "," cnt[k]
        rel = (f in mean) && mean[f] > 0 ? m / mean[f] : ""
        printf "%s,%s,0,%d,%.1f,%.1f,%.1f,%.1f,,MiB/s,%s,%s\n", cfg[k], cnt[k], n[k "," rep[k, 1]], m, sdv, g, gsd, rel == "" ? "" : sprintf("%.4f", rel), rel == "" ? "" : sprintf("%.4f", sdv / mean[f])
    }
}' "$out/runs.csv" | { IFS= read -r head; echo "$head"; sort -t, -k1,1 -k2,2n; } >"$out/summary.csv"

cfgs=$(sed -n '2,$p' "$out/summary.csv" | cut -d, -f1 | sort -u)
{
    echo "# Written by bench/vm-eval/run.sh.  Run: gnuplot plot.gp"
    echo "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {"
    echo "  set terminal pngcairo size 900,560 font 'sans,10'"
    echo "} else {"
    echo "  set terminal png size 900,560"
    echo "}"
    echo "set datafile separator ','"
    echo "set key outside right top"
    echo "set grid ytics"
    echo "set output 'throughput.png'"
    echo "set title 'vm-eval: memory-bound workload per guest (mean ± sd over repetitions)'"
    echo "set xlabel 'guests'"
    echo "set ylabel 'MiB/s per guest'"
    echo "set yrange [0:*]"
    printf "plot"
    sep=
    for c in $cfgs; do
        printf "%s \\\\\n  'summary.csv' using (strcol(1) eq '%s' ? \$2 : 1/0):5:6 with yerrorlines title '%s' lw 2" \
            "$sep" "$c" "$c"
        sep=,
    done
    echo
} >"$out/plot.gp"
if command -v gnuplot >/dev/null; then
    (cd "$out" && gnuplot plot.gp) || echo "vm-eval: gnuplot failed; plot.gp is in $out" >&2
fi
cat "$out/summary.csv"
echo "vm-eval: $wall s wall; results in $out (runs.csv, summary.csv, plot.gp, throughput.png)"
