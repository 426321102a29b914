#!/usr/bin/env bash
# The long fuzz campaign in one command (a benchmark, not CI):
#   bench/fuzz/run.sh [SECONDS_PER_TARGET] [TOTAL_SECONDS] [OUT_DIR]
# (3600, no total, bench/fuzz/results).  Each libFuzzer target of fuzz/meson.build runs, one
# process at a time under nice, until 10 M executions or SECONDS_PER_TARGET of wall time
# (CPU time is at most that), from its kept corpus fuzz/corpus/NAME and its seeds; with
# TOTAL_SECONDS each target gets at most an equal share of what is left, so time a fast
# target does not use goes to the later ones.  FUZZ_TARGETS="synthetic load" picks targets;
# FUZZ_CAMPAIGN=DIR keeps this campaign's logs apart (two campaigns on two cores).
# Then the corpus is minimised again (minimise.sh: what adds coverage beyond the seeds),
# replayed in a coverage build (-fprofile-instr-generate -fcoverage-mapping) and measured
# with llvm-cov over src/lib.  Writes OUT_DIR/fuzz.csv, fuzz.png and summary.md; logs,
# new inputs and crash artifacts stay in build-fuzz/campaign/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
per=${1:-3600}
total=${2:-0}
out=${3:-$here/results}
runs=${FUZZ_RUNS:-10000000}
[[ $per =~ ^[0-9]+$ && $total =~ ^[0-9]+$ && $runs =~ ^[0-9]+$ && $per -gt 0 ]] ||
    { echo "usage: $0 [SECONDS_PER_TARGET] [TOTAL_SECONDS] [OUT_DIR]" >&2; exit 2; }
cd "$root"
fz=$root/build-fuzz cov=$root/build-fuzz-cov
# The same fuzz build as scripts/test.sh, and a second one that records coverage.
if [[ ! -f $fz/build.ninja ]]; then
    CC=clang meson setup "$fz" -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false >/dev/null
fi
if [[ ! -f $cov/build.ninja ]]; then
    CC=clang meson setup "$cov" -Dfuzz=true -Dtests=false -Db_lundef=false \
        -Dc_args='-fprofile-instr-generate -fcoverage-mapping' \
        -Dc_link_args=-fprofile-instr-generate >/dev/null
fi
nice -n 10 ninja -C "$fz" >/dev/null

wd=${FUZZ_CAMPAIGN:-$fz/campaign} # FUZZ_CAMPAIGN: another dir, for a second campaign at once
mkdir -p "$wd" "$out"
python3 "$here/targets.py" "$fz" >"$wd/targets.tsv"
if [[ -n ${FUZZ_TARGETS:-} ]]; then
    awk -F'\t' -v want=" $FUZZ_TARGETS " 'index(want, " " $1 " ")' "$wd/targets.tsv" >"$wd/t"
    mv "$wd/t" "$wd/targets.tsv"
fi
left=$(wc -l <"$wd/targets.tsv")
[[ $left -gt 0 ]] || { echo "no fuzz target selected" >&2; exit 2; }
# Only the fuzzers: the other programs would need the sanitizer runtime this build lacks.
cut -f2 "$wd/targets.tsv" | sed "s|^$fz/||" | xargs nice -n 10 ninja -C "$cov" >/dev/null
start=$(date +%s)
echo "campaign: $left targets, $runs runs or ${per}s each${total:+, ${total}s in all}"

while IFS=$'\t' read -r name fuzzer opts corpus seeds; do
    budget=$per
    if [[ $total -gt 0 ]]; then
        share=$(( (total - ($(date +%s) - start)) / left ))
        [[ $share -lt $budget ]] && budget=$share
        [[ $budget -lt 10 ]] && budget=10
    fi
    left=$((left - 1))
    w=$wd/$name
    rm -rf "$w"
    mkdir -p "$w/new" "$w/artifacts" "$corpus"
    echo "$(date +%T) $name: up to $runs runs or ${budget}s"
    # shellcheck disable=SC2086 # opts and seeds are lists of words
    nice -n 10 /usr/bin/time -f '%e %U %S' -o "$w/time" "$fuzzer" $opts -runs="$runs" \
        -max_total_time="$budget" -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 \
        -artifact_prefix="$w/artifacts/" "$w/new" "$corpus" $seeds >"$w/log" 2>&1 &&
        echo 0 >"$w/rc" || echo $? >"$w/rc"
    echo "$budget" >"$w/budget"
    "$here/minimise.sh" "$fuzzer" "$opts" "$corpus" "$seeds" "$w" "$w/new" ||
        echo "$name: corpus not minimised"
    echo "$(date +%T) $name: rc $(cat "$w/rc"), corpus $(find "$corpus" -type f | wc -l) files"
done <"$wd/targets.tsv"

# Coverage: replay corpus and seeds once in the coverage build.
"$here/coverage.sh" "$wd" "$fz" "$cov"
python3 "$here/report.py" "$wd" "$root" "$runs" "$out/fuzz.csv" | tee "$out/summary.md"
gnuplot -e "csv='$out/fuzz.csv'; png='$out/fuzz.png'" "$here/plot.gp"
echo "$(date +%T) CSV, PNG and summary are in $out"
