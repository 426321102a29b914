#!/bin/sh
# Golden tests of `vnuma check` over the config corpus, as TAP.
#
# usage: check-corpus.sh VNUMA SRCDIR [--regen]
#
# Every tests/data/configs/{valid,invalid}/NAME.cfg is checked with
#     vnuma check --host tests/data/configs/host-4node.json [EXTRA] tests/data/configs/.../NAME.cfg
# run from SRCDIR, so that file names in messages are relative.  EXTRA comes from a first line
# of the form "# check-args: --json" (e.g. --no-host, --json) in the config itself; --no-host
# or --host there replaces the default host.
# NAME.expected holds stdout followed by stderr; a valid config must exit 0 and an invalid one 1.
#
# To regenerate the goldens after an intended change, run with --regen (or VNUMA_REGEN=1) and
# review every changed .expected by eye before committing: the goldens are the specification.
#     VNUMA_REGEN=1 meson test -C build config-corpus
set -u
# meson passes the binary relative to the build directory: make it absolute before cd
vnuma=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$2
regen=${VNUMA_REGEN:-0}
[ "${3:-}" = "--regen" ] && regen=1
cd "$src" || exit 1
corpus=tests/data/configs
host=$corpus/host-4node.json
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

files=$(ls $corpus/valid/*.cfg $corpus/invalid/*.cfg 2>/dev/null)
n=$(printf '%s\n' "$files" | grep -c .)
echo "1..$n"
i=0
failed=0
for cfg in $files; do
    i=$((i + 1))
    kind=$(basename "$(dirname "$cfg")")
    name=$kind/$(basename "$cfg" .cfg)
    expected=${cfg%.cfg}.expected
    extra=$(sed -n '1s/^# check-args: *//p' "$cfg")
    hostarg="--host $host"
    case "$extra" in *--host*|*--no-host*) hostarg= ;; esac
    # shellcheck disable=SC2086 # hostarg and extra are lists of options
    "$vnuma" check $hostarg $extra "$cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cat "$tmp/out" "$tmp/err" >"$tmp/all"
    want_rc=0
    [ "$kind" = invalid ] && want_rc=1
    if [ "$regen" = 1 ]; then
        cp "$tmp/all" "$expected"
    fi
    if [ "$rc" != "$want_rc" ]; then
        echo "not ok $i - $name (exit $rc, expected $want_rc)"
        sed 's/^/# /' "$tmp/all"
        failed=$((failed + 1))
    elif [ ! -f "$expected" ]; then
        echo "not ok $i - $name (no $expected; run with --regen and review it)"
        failed=$((failed + 1))
    elif ! diff -u "$expected" "$tmp/all" >"$tmp/diff"; then
        echo "not ok $i - $name"
        sed 's/^/# /' "$tmp/diff"
        failed=$((failed + 1))
    else
        echo "ok $i - $name"
    fi
done
[ "$failed" = 0 ]
