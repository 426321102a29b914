#!/usr/bin/env bash
# The README's run command: set-up and build, then the demo.  A guest with four vnodes of
# uneven sizes and an asymmetric distance matrix (examples/demo.cfg) is created on this host
# by `vnuma create`; vnuma's view of it (`vnuma info`) is shown next to the guest's own
# (`numactl --hardware` as the guest prints it on its serial console), then it is destroyed.
# Everything lives in a private state dir that is removed at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
vnuma=$PWD/build/src/cli/vnuma

state=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-demo.XXXXXX")
export VNUMA_STATE_DIR=$state
cleanup() {
    timeout 30 "$vnuma" destroy demo >/dev/null 2>&1 || true
    rm -rf "$state"
}
trap cleanup EXIT

echo
echo "== This host =="
"$vnuma" topology
echo
echo "== vnuma create examples/demo.cfg =="
"$vnuma" create examples/demo.cfg

# The guest prints its view at boot, then a shell prompt line; give it 90 s at most.
log=$state/run/demo/console.log
for _ in $(seq 450); do
    grep -aq 'vnuma guest:' "$log" 2>/dev/null && break
    sleep 0.2
done
if ! grep -aq 'node distances:' "$log" 2>/dev/null; then
    echo "run.sh: the guest did not print its NUMA view within 90 s; its console ends with:" >&2
    tr -d '\r' <"$log" | tail -n 15 >&2
    exit 1
fi

echo
echo "== vnuma info demo: the host's view (placement, pages per host node, vCPU threads) =="
"$vnuma" info demo
echo
guest_view=$state/guest-view.txt
tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
    awk '/available: [0-9]+ nodes/ {on=1; sub(/.*available:/, "available:")} /^vnuma guest/ {exit} on && NF {print}' \
    >"$guest_view"
"$vnuma" check --no-host examples/demo.cfg | tail -n +6 >"$state/config-view.txt"
echo "== side by side: the config (left) and numactl --hardware inside the guest (right) =="
echo "   (guest sizes are a few MB below the config: the guest kernel's own reservations)"
awk 'NR == FNR {left[FNR] = $0; n = FNR; next} {right[FNR] = $0; m = FNR}
     END {for (i = 1; i <= (n > m ? n : m); i++) printf "%-44s | %s\n", left[i], right[i]}' \
    "$state/config-view.txt" "$guest_view"
echo
echo "== vnuma numainfo: free memory per host node and the demo's memory on them =="
"$vnuma" numainfo
echo
echo "== vnuma destroy demo =="
"$vnuma" destroy demo
rm -rf "$state"
trap - EXIT
