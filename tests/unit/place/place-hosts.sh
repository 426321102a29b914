#!/usr/bin/env bash
# TAP: `vnuma place` on every host file in tests/data/hosts/, and on two hosts derived from
# them that are too small (every node with 100 MiB free; 256 MiB in all).
#   place-hosts.sh VNUMA_EXE SOURCE_ROOT
# What must happen is computed from the host file: a VM fits while the host's free memory
# (free_mib, else memory_mib, summed over the nodes, minus what earlier VMs of the same call
# claimed) covers it and the host has a CPU; then it must be placed.  Otherwise it must be
# refused with the reason: "does not fit: it needs M MiB and the host has F MiB free in all"
# when the host is short of free memory, or the config error "The guest needs M MiB; host
# '...' has T MiB in total" when it is larger than the host.  For each host: a small VM
# (text, json, qemu formats), a stream of 12 medium VMs (exactly as many placed as fit, each
# refusal with its reason), the xen algorithm (refuses hosts of more than 16 nodes, else as
# above) and exact (refuses more than 8 nodes, else as above).
set -u
vnuma=$1
root=$2
cfg=$root/tests/unit/place/configs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hosts=("$root"/tests/data/hosts/*.json)

if [[ ! -e ${hosts[0]} ]]; then
    echo "1..0 # SKIP no host files in tests/data/hosts"
    exit 0
fi
python3 - "$tmp" "${hosts[@]}" <<'EOF_PY' || { echo "Bail out! cannot derive the small hosts"; exit 1; }
import json, sys
# "full" from the first host with several nodes, "tiny" from its first node.
files = sys.argv[2:]
src = next((f for f in files if len(json.load(open(f))["nodes"]) > 1), files[0])
sys.argv[1:] = [src, sys.argv[1]]
h = json.load(open(sys.argv[1]))
for n in h["nodes"]:
    n["free_mib"] = 100
h["name"] = "full: every node has 100 MiB free"
json.dump(h, open(sys.argv[2] + "/derived-full.json", "w"))
h = json.load(open(sys.argv[1]))
h["nodes"] = h["nodes"][:1]
h["nodes"][0]["memory_mib"] = h["nodes"][0]["free_mib"] = 256
h["distances"] = [[10]]
h["cpus"] = [c for c in h["cpus"] if c["node"] == h["nodes"][0]["node"]]
h["pci"] = []
h["name"] = "tiny: 256 MiB"
json.dump(h, open(sys.argv[2] + "/derived-tiny.json", "w"))
EOF_PY
hosts+=("$tmp/derived-full.json" "$tmp/derived-tiny.json")

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

# expect HOST CONFIG...: one line per config, "fit" or the reason its refusal must give
# (a fixed string), when the configs are placed in one call in that order.
expect() {
    python3 - "$@" <<'EOF_PY'
import json, re, sys
h = json.load(open(sys.argv[1]))
total = sum(n["memory_mib"] for n in h["nodes"])
free = [min(n.get("free_mib", n["memory_mib"]), n["memory_mib"]) for n in h["nodes"]]
left, placed = sum(free), 0
for cfg in sys.argv[2:]:
    text = open(cfg).read()
    name = re.search(r'^name = "(.*)"$', text, re.M).group(1)
    mem = int(re.search(r"^memory = (\d+)$", text, re.M).group(1))
    if mem > total:
        print(f"error: memory: The guest needs {mem} MiB; host '{h['name']}' has {total} MiB in total.")
    elif mem > left or not h["cpus"]:
        why = (f"VM '{name}' does not fit: it needs {mem} MiB and the host has {left} MiB free in all"
               if mem > left else f"VM '{name}' does not fit: it needs CPUs")
        if placed == 0 and mem > left:  # nothing placed yet: the largest free node is known
            big = max(range(len(free)), key=lambda i: (free[i], -i))
            why += f" (the largest free is {free[big]} MiB on node {h['nodes'][big]['node']})."
        print(why)
    else:
        left -= mem
        placed += 1
        print("fit")
EOF_PY
}

# placed_as_expected WHAT EXPECTATION PATTERN: after a `vnuma place` of one VM (rc, out, err),
# ok when it was placed and out matches PATTERN where it fits, or refused (exit 1) with the
# expected reason where it does not.
placed_as_expected() {
    if [[ $2 == fit ]]; then
        if [[ $rc == 0 ]] && grep -q -- "$3" "$tmp/out"; then
            ok "$1: placed (there is room)"
        else
            notok "$1: should be placed: the host has room (rc $rc)"
        fi
    elif [[ $rc == 1 ]] && grep -qF -- "$2" "$tmp/err"; then
        ok "$1: refused: $2"
    else
        notok "$1: should be refused with \"$2\" (rc $rc)"
    fi
}

for h in "${hosts[@]}"; do
    name=$(basename "$h")
    nn=$(nodes_of "$h")
    small=$(expect "$h" "$cfg/small.cfg")
    medium=$(expect "$h" "$cfg/medium.cfg")

    "$vnuma" place --host "$h" "$cfg/small.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    placed_as_expected "$name: small VM (text)" "$small" "^VM 'small'"

    # Four VMs in one call: each placed or refused as computed, claims adding up.
    stream=("$cfg/small.cfg" "$cfg/medium.cfg" "$cfg/grouped.cfg" "$cfg/large.cfg")
    expect "$h" "${stream[@]}" >"$tmp/expect"
    "$vnuma" place --host "$h" --format json "${stream[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $rc -le 1 ]] && python3 - "$tmp/out" "$tmp/expect" "$tmp/err" <<'EOF_PY' 2>"$tmp/why"; then
import json, sys
a = json.load(open(sys.argv[1]))
want = open(sys.argv[2]).read().splitlines()
err = open(sys.argv[3]).read()
assert isinstance(a, list) and len(a) == len(want), f"{len(a)} entries for {len(want)} VMs"
for e, w in zip(a, want):
    if w == "fit":
        assert "error" not in e, f"{e['config']}: refused ({e['error']}), but the host has room"
        assert sum(c["memory_mib"] for c in e["claim"]) == e["memory_mib"]
        assert sum(v["memory_mib"] for v in e["vnodes"]) == e["memory_mib"]
    else:
        assert "error" in e, f"{e.get('name')}: placed, but it should be refused: {w}"
        assert w in err, f"no reason '{w}' in the messages"
EOF_PY
        ok "$name: stream as JSON: placed where there is room ($(grep -c '^fit$' "$tmp/expect") of 4), claims add up"
    else
        cat "$tmp/why" >>"$tmp/err"
        notok "$name: stream as JSON (rc $rc; expected: $(tr '\n' '|' <"$tmp/expect"))"
    fi

    "$vnuma" place --host "$h" --format qemu "$cfg/medium.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    placed_as_expected "$name: QEMU arguments of a medium VM" "$medium" "-numa node,nodeid=0,memdev=vnode0"

    # 12 medium VMs: as many are placed as the host's free memory holds, each other one is
    # refused with the reason, and the exit status says some were refused.
    medium12=()
    for _ in $(seq 12); do medium12+=("$cfg/medium.cfg"); done
    expect "$h" "${medium12[@]}" >"$tmp/expect"
    want_placed=$(grep -c '^fit$' "$tmp/expect")
    reason=$(grep -v '^fit$' "$tmp/expect" | tail -n 1 | sed 's/ (the largest.*//')
    "$vnuma" place --host "$h" "${medium12[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    placed=$(grep -c "^VM 'medium'" "$tmp/out")
    refused=0
    [[ -n $reason ]] && refused=$(grep -cF -- "$reason" "$tmp/err")
    want_rc=$((want_placed < 12 ? 1 : 0))
    if [[ $rc == "$want_rc" ]] && [[ $placed == "$want_placed" ]] && [[ $refused == $((12 - want_placed)) ]]; then
        ok "$name: stream of 12: the $want_placed that fit placed, $refused refused with the reason"
    else
        notok "$name: stream of 12 (rc $rc, placed $placed of $want_placed that fit, refused $refused with \"$reason\")"
    fi

    "$vnuma" place --host "$h" --algo xen --explain "$cfg/small.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $nn -gt 16 ]]; then
        if [[ $rc == 1 ]] && grep -q "more than 16 NUMA nodes" "$tmp/err"; then
            ok "$name: xen refuses $nn nodes"
        else
            notok "$name: xen on $nn nodes should refuse (rc $rc)"
        fi
    else
        placed_as_expected "$name: xen with --explain" "$small" "why: libxl"
    fi

    "$vnuma" place --host "$h" --algo exact "$cfg/small.cfg" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $nn -gt 8 ]]; then
        if [[ $rc == 1 ]] && grep -q "up to 8 nodes" "$tmp/err"; then
            ok "$name: exact refuses $nn nodes"
        else
            notok "$name: exact on $nn nodes should refuse (rc $rc)"
        fi
    else
        placed_as_expected "$name: exact" "$small" "^VM 'small'"
    fi
done
