#!/usr/bin/env bash
# Runs one libFuzzer target for a short time from its seed corpus and reports it as TAP.
# usage: smoke.sh FUZZER SECONDS SEED_DIR...
set -u
fuzzer=$1 seconds=$2
shift 2
name=$(basename "$fuzzer")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "1..1"
log="$work/log"
if "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$work/" "$work" "$@" >"$log" 2>&1; then
  runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1)
  echo "ok 1 - $name: ${runs:-ran} in ${seconds}s, no crash, leak or UB"
else
  echo "not ok 1 - $name found a problem"
  tail -n 40 "$log" | sed 's/^/# /'
  for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
    [ -f "$a" ] && echo "# reproducer: $(basename "$a") = $(base64 -w0 "$a")"
  done
fi
