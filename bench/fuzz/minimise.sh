#!/usr/bin/env bash
# Minimises one target's kept corpus:  minimise.sh FUZZER "OPTIONS" CORPUS "SEED_DIRS" WORK [NEW_DIR...]
# Starts from the seeds (kept where they are), adds from CORPUS and NEW_DIRs the smallest set
# of inputs (libFuzzer's -set_cover_merge) that reaches every edge they reach beyond the
# seeds, and keeps only those additions in CORPUS.  -use_counters=0: hit counts of an edge
# are not kept apart, which keeps a corpus to a few hundred small files.
set -euo pipefail
fuzzer=$1 opts=$2 corpus=$3 seeds=$4 work=$5
shift 5
m=$work/merge
rm -rf "$m"
mkdir -p "$m" "$corpus"
# shellcheck disable=SC2086 # seeds and opts are lists of words
find $seeds -type f -exec sh -c 'm=$1; shift; for f; do cp "$f" "$m/$(sha1sum <"$f" | cut -c1-40)"; done' \
    sh "$m" {} +
ls "$m" >"$work/seed-names"
# shellcheck disable=SC2086
if ! nice -n 10 "$fuzzer" $opts -set_cover_merge=1 -use_counters=0 "$m" "$corpus" "$@" \
    >"$work/merge.log" 2>&1; then
    echo "merge failed, corpus left as it was (see $work/merge.log)" >&2
    exit 1
fi
find "$corpus" -type f -delete
for f in "$m"/*; do
    grep -qxF "$(basename "$f")" "$work/seed-names" || mv "$f" "$corpus/"
done
