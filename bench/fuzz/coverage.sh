#!/usr/bin/env bash
# Coverage of the kept corpora:  coverage.sh CAMPAIGN_DIR FUZZ_BUILD COVERAGE_BUILD
# Replays each target's corpus and seeds once (-runs=0) with the coverage build's fuzzer and
# writes CAMPAIGN_DIR/NAME/cov.json (llvm-cov export -summary-only) for report.py.
set -euo pipefail
wd=$1 fz=$2 cov=$3
while IFS=$'\t' read -r name fuzzer opts corpus seeds; do
    w=$wd/$name
    bin=$cov/${fuzzer#"$fz"/}
    mkdir -p "$w"
    rm -f "$w"/*.profraw
    # shellcheck disable=SC2086 # opts and seeds are lists of words
    LLVM_PROFILE_FILE=$w/cov-%p.profraw nice -n 10 "$bin" $opts -runs=0 "$corpus" $seeds \
        >"$w/cov.log" 2>&1 || echo "$name: coverage replay failed (see $w/cov.log)" >&2
    llvm-profdata merge -sparse -o "$w/cov.profdata" "$w"/*.profraw
    llvm-cov export -summary-only -instr-profile="$w/cov.profdata" "$bin" >"$w/cov.json"
done <"$wd/targets.tsv"
