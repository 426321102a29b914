#!/usr/bin/env bash
# TAP: `vnuma place` on every host file in tests/data/hosts/.
#   place-hosts.sh VNUMA_EXE SOURCE_ROOT
# For each host: a small VM places (text, json, qemu formats), a stream of VMs places or is
# refused with a reason (never a crash or a usage error), the xen algorithm refuses hosts of
# more than 16 nodes and places on the others, exact refuses hosts of more than 8 nodes.
set -u
vnuma=$1
root=$2
cfg=$root/tests/unit/place/configs
hosts=("$root"/tests/data/hosts/*.json)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ ! -e ${hosts[0]} ]]; then
    echo "1..0 # SKIP no host files in tests/data/hosts"
    exit 0
fi
echo "1..$((${#hosts[@]} * 6))"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
    n=$((n + 1))
    echo "not ok $n - $1"
    sed 's/^/# /' "$tmp/err" "$tmp/out" | head -20
}

nodes_of() { # the number of nodes of a host file
    python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' "$1"
}

for h in "${hosts[@]}"; do
    name=$(basename "$h")
    nn=$(nodes_of "$h")

    "$vnuma" place --host "$h" "$cfg/small.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $rc == 0 ]] && grep -q "VM 'small'" "$tmp/out"; then
        ok "$name: small VM placed (text)"
    elif [[ $rc == 1 ]] && grep -q "does not fit" "$tmp/err"; then
        ok "$name: small VM refused with a reason"
    else
        notok "$name: small VM (rc $rc)"
    fi

    "$vnuma" place --host "$h" --format json "$cfg/small.cfg" "$cfg/medium.cfg" \
        "$cfg/grouped.cfg" "$cfg/large.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $rc -le 1 ]] && python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert isinstance(a, list) and len(a) == 4
for e in a:
    if "error" in e:
        continue
    assert sum(c["memory_mib"] for c in e["claim"]) == e["memory_mib"]
    assert sum(v["memory_mib"] for v in e["vnodes"]) == e["memory_mib"]
' "$tmp/out" 2>>"$tmp/err"; then
        ok "$name: stream as JSON, claims add up"
    else
        notok "$name: stream as JSON (rc $rc)"
    fi

    "$vnuma" place --host "$h" --format qemu "$cfg/medium.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if { [[ $rc == 0 ]] && grep -q -- "-numa node,nodeid=0,memdev=vnode0" "$tmp/out"; } ||
        { [[ $rc == 1 ]] && grep -q "does not fit" "$tmp/err"; }; then
        ok "$name: QEMU arguments"
    else
        notok "$name: QEMU arguments (rc $rc)"
    fi

    # 12 medium VMs: some hosts run out; every refusal must say why, and later VMs still go.
    medium=()
    for i in $(seq 12); do medium+=("$cfg/medium.cfg"); done
    "$vnuma" place --host "$h" "${medium[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    placed=$(grep -c "^VM 'medium'" "$tmp/out")
    refused=$(grep -c "does not fit" "$tmp/err")
    if [[ $rc -le 1 ]] && [[ $((placed + refused)) == 12 ]] && { [[ $rc == 0 ]] || [[ $refused -gt 0 ]]; }; then
        ok "$name: stream of 12 (placed $placed, refused $refused)"
    else
        notok "$name: stream of 12 (rc $rc, placed $placed, refused $refused)"
    fi

    "$vnuma" place --host "$h" --algo xen --explain "$cfg/small.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $nn -gt 16 ]]; then
        if [[ $rc == 1 ]] && grep -q "more than 16 NUMA nodes" "$tmp/err"; then
            ok "$name: xen refuses $nn nodes"
        else
            notok "$name: xen on $nn nodes should refuse (rc $rc)"
        fi
    elif { [[ $rc == 0 ]] && grep -q "why: libxl" "$tmp/out"; } ||
        { [[ $rc == 1 ]] && grep -q "does not fit" "$tmp/err"; }; then
        ok "$name: xen with --explain"
    else
        notok "$name: xen (rc $rc)"
    fi

    "$vnuma" place --host "$h" --algo exact "$cfg/small.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $nn -gt 8 ]]; then
        if [[ $rc == 1 ]] && grep -q "up to 8 nodes" "$tmp/err"; then
            ok "$name: exact refuses $nn nodes"
        else
            notok "$name: exact on $nn nodes should refuse (rc $rc)"
        fi
    elif { [[ $rc == 0 ]] && grep -q "VM 'small'" "$tmp/out"; } ||
        { [[ $rc == 1 ]] && grep -q "does not fit" "$tmp/err"; }; then
        ok "$name: exact"
    else
        notok "$name: exact (rc $rc)"
    fi
done
