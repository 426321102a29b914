#!/usr/bin/env bash
# TAP: `vnuma place --load FILE` reads only bounded regular files.
#   load-file.sh VNUMA_EXE SOURCE_ROOT
# /dev/zero and a FIFO are refused at once (they used to read forever or block), a file over
# the 1 MiB limit is refused with its real size, and a load file with a key twice is refused.
set -u
vnuma=$1
root=$2
cfg=$root/tests/unit/place/configs/small.cfg
host='synthetic:pack:2 numa:2 core:4 pu:1;mem=16G'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..5"
n=0
check() { # check DESCRIPTION EXPECTED_RC EXPECTED_STDERR_TEXT -- ARGS...
    local what=$1 want_rc=$2 want=$3
    shift 4
    timeout 20 "$vnuma" place --host "$host" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    n=$((n + 1))
    if [[ $rc == "$want_rc" ]] && { [[ -z $want ]] || grep -qF -- "$want" "$tmp/err"; }; then
        echo "ok $n - $what"
    else
        echo "not ok $n - $what (exit $rc)"
        sed 's/^/# /' "$tmp/err" | head -5
    fi
}

check "/dev/zero is refused" 1 \
    "vnuma place: error: load file '/dev/zero' is not a regular file (it is a character device)" \
    -- --load /dev/zero "$cfg"

mkfifo "$tmp/fifo.json"
check "a FIFO is refused" 1 \
    "vnuma place: error: load file '$tmp/fifo.json' is not a regular file (it is a FIFO)" \
    -- --load "$tmp/fifo.json" "$cfg"

truncate -s 18M "$tmp/big.json"
check "an 18 MiB file is refused with its size" 1 \
    "vnuma place: error: load file '$tmp/big.json' is 18874368 bytes; the limit is 1048576 bytes (1 MiB)" \
    -- --load "$tmp/big.json" "$cfg"

printf '{"used": [{"node": 0, "memory_mib": 1, "memory_mib": 2}]}' >"$tmp/dup.json"
check "a key twice is refused" 1 \
    "vnuma place: error: load file '$tmp/dup.json':1:40: duplicate key 'memory_mib' in an object" \
    -- --load "$tmp/dup.json" "$cfg"

printf '{"used": [{"node": 0, "memory_mib": 1024, "vcpus": 1}]}' >"$tmp/ok.json"
check "a small load file is used" 0 "" -- --load "$tmp/ok.json" "$cfg"
