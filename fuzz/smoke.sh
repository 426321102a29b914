#!/usr/bin/env bash
# Runs one libFuzzer target for a short time from its corpus and seeds and reports it as TAP.
# usage: smoke.sh FUZZER SECONDS [-LIBFUZZER_OPTION...] DIR...
set -u
fuzzer=$1 seconds=$2
shift 2
opts=()
while [[ $# -gt 0 && $1 == -* ]]; do
  opts+=("$1")
  shift
done
name=$(basename "$fuzzer")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "1..1"
log="$work/log"
if "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 "${opts[@]}" \
    -artifact_prefix="$work/" "$work" "$@" >"$log" 2>&1; then
  runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1)
  found="no crash, leak or UB"
  [[ " ${opts[*]} " == *" -detect_leaks=0 "* ]] && found="no crash or UB (leaks not checked)"
  echo "ok 1 - $name: ${runs:-ran} in ${seconds}s, $found"
else
  echo "not ok 1 - $name found a problem"
  tail -n 40 "$log" | sed 's/^/# /'
  for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
    [ -f "$a" ] && echo "# reproducer: $(basename "$a") = $(base64 -w0 "$a")"
  done
fi
