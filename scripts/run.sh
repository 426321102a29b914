#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the main job on the
# embedded default: the host topology and the example configs checked against it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
vnuma=build/src/cli/vnuma
echo
echo "== This host =="
$vnuma topology
echo
echo "== Example configs checked against this host =="
$vnuma check --host tests/data/hosts/intel-2s-xeon.json examples/*.cfg
