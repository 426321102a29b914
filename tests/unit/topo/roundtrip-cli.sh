#!/usr/bin/env bash
# TAP: `vnuma topology` over the whole host library.  For every host file: --json prints
# the file itself, loading that output back prints it again byte for byte, and the text
# output runs.  Then the live host, a synthetic host, the XML host and the exit codes.
# usage: roundtrip-cli.sh VNUMA SRCDIR
set -u
vnuma=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # description command...
  local what=$1
  shift
  if "$@" >"$work/out" 2>"$work/err"; then ok "$what"; else notok "$what"; sed 's/^/# /' "$work/err"; fi
}

# Prints the exit code of a command, output discarded.
code() { "$@" >/dev/null 2>"$work/err"; echo $?; }

hosts=("$src"/tests/data/hosts/*.json)
echo "1..$((${#hosts[@]} * 3 + 9))"
for f in "${hosts[@]}"; do
  name=$(basename "$f")
  "$vnuma" topology --host "$f" --json >"$work/a.json" 2>"$work/err"
  if cmp -s "$f" "$work/a.json"; then ok "$name: --json prints the file"; else notok "$name: --json prints the file"; sed 's/^/# /' "$work/err"; fi
  "$vnuma" topology --host "$work/a.json" --json >"$work/b.json" 2>"$work/err"
  if [ -s "$work/b.json" ] && cmp -s "$work/a.json" "$work/b.json"; then
    ok "$name: output loads back byte-identical"
  else
    notok "$name: output loads back byte-identical"
    sed 's/^/# /' "$work/err"
  fi
  check "$name: text output" "$vnuma" topology --host "$f"
done

check "live host: text output" "$vnuma" topology
"$vnuma" topology --json >"$work/live.json" && "$vnuma" topology --host "json:$work/live.json" --json >"$work/live2.json"
if cmp -s "$work/live.json" "$work/live2.json"; then ok "live host: round-trip"; else notok "live host: round-trip"; fi
check "synthetic host with extensions" "$vnuma" topology --host "synthetic:pack:2 numa:2 core:4 pu:2;mem=16G;dist=10,21"
if grep -q '^node 3 size: 16384 MiB$' "$work/out"; then ok "synthetic mem= shows in text"; else notok "synthetic mem= shows in text"; fi
check "hwloc XML host" "$vnuma" topology --host "$src/tests/data/hosts/xml/snc2-4n.xml"
if grep -q '^node 3 pci: 0000:d8:00.0 3D controller$' "$work/out"; then ok "XML PCI locality shows in text"; else notok "XML PCI locality shows in text"; fi
c=$(code "$vnuma" topology --host /nonexistent.json)
if [ "$c" = 1 ] && grep -q "/nonexistent.json" "$work/err"; then ok "missing host file: exit 1 naming it"; else notok "missing host file: exit 1 naming it (got $c)"; fi
c=$(code "$vnuma" topology --bogus)
if [ "$c" = 2 ]; then ok "unknown option: exit 2"; else notok "unknown option: exit 2 (got $c)"; fi
if "$vnuma" topology --help | grep -q '^usage: vnuma topology'; then ok "--help prints the synopsis"; else notok "--help prints the synopsis"; fi
exit 0
