#!/usr/bin/env bash
# TAP: the CLI's verbs that changed meaning.  `vnuma mem-move` moves a vnode's memory between
# this host's nodes; `vnuma migrate` (which in xl and virsh moves a domain to another host)
# refuses with an error that names mem-move, whatever its arguments.
# usage: verbs.sh VNUMA
set -u
vnuma=$1
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; printf '#   %s\n' "$@"; }
# expect DESCRIPTION RC REGEX COMMAND...: the command exits RC and its stderr matches REGEX.
expect() {
  local what=$1 want=$2 re=$3 out rc
  shift 3
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" <<<"$out"; then ok "$what"; else notok "$what" "rc $rc: $out"; fi
}

echo "1..5"
expect "migrate --vnode/--to names mem-move (usage, rc 2)" 2 \
  "is 'vnuma mem-move DOMAIN \[--vnode N\] --to NODE" "$vnuma" migrate web --vnode 0 --to 1
expect "migrate with no arguments says the same" 2 "'migrate' is reserved for moving a domain to another host" \
  "$vnuma" migrate
expect "mem-move without a domain is a usage error" 2 "^vnuma mem-move: error: no domain given" \
  "$vnuma" mem-move --to 1
out=$("$vnuma" help mem-move 2>&1)
if grep -q "^usage: vnuma mem-move \[--vnode N\] --to NODE" <<<"$out"; then ok "help mem-move prints its synopsis"; else notok "help mem-move prints its synopsis" "$out"; fi
expect "mem-move of a missing domain fails (rc 1) naming it" 1 "domain 'nosuch' does not exist" \
  env VNUMA_STATE_DIR="$(mktemp -d -u)" "$vnuma" mem-move nosuch --to 0
[ $failed -eq 0 ]
