#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test tier this
# machine supports.  Ends with the line "N passed, N failed, N skipped" summed over tiers.
#   tiers:  unit (-Werror build)  ·  unit under ASan+UBSan  ·  fuzz smoke (clang libFuzzer)
#           ·  guest (real QEMU guests; KVM when a probe boot works, else TCG)
#           ·  multinode (a 4-node TCG test host runs the migration and affinity checks)
# Select tiers with VNUMA_TIERS="unit asan fuzz guest multinode" (default: all).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tiers=${VNUMA_TIERS:-unit asan fuzz guest multinode}
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

tier() { # tier LABEL BUILD_DIR SUITE
  echo
  echo "=== tier: $1 ==="
  python3 tests/run.py "$2" "$3" --label "$1" --summary-file "$summary"
}

build_failed() { # build_failed LABEL
  echo "=== tier: $1: build failed ==="
  echo "0 1 0" >>"$summary"
}

for t in $tiers; do
  case $t in
  unit)
    tier unit build unit
    ;;
  asan)
    if [[ ! -f build-asan/build.ninja ]]; then
      meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fno-sanitize-recover=all >/dev/null || { build_failed unit-asan; continue; }
    fi
    if ninja -C build-asan >build-asan/vnuma-build.log 2>&1; then
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        tier unit-asan build-asan unit
    else
      tail -n 30 build-asan/vnuma-build.log
      build_failed unit-asan
    fi
    ;;
  fuzz)
    if [[ ! -f build-fuzz/build.ninja ]]; then
      CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || { build_failed fuzz; continue; }
    fi
    if ninja -C build-fuzz >build-fuzz/vnuma-build.log 2>&1; then
      tier fuzz build-fuzz fuzz
    else
      tail -n 30 build-fuzz/vnuma-build.log
      build_failed fuzz
    fi
    ;;
  guest)
    tier guest build guest
    ;;
  multinode)
    tier multinode build multinode
    ;;
  *)
    echo "unknown tier '$t'" >&2
    echo "0 1 0" >>"$summary"
    ;;
  esac
done

echo
awk '{p+=$1; f+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped\n", p, f, s; exit (f > 0)}' "$summary"
