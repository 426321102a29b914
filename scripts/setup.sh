#!/usr/bin/env bash
# Installs what vnuma needs from Debian's packages (only what is missing), then configures
# and builds it in ./build.  Used by run.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  gcc clang clang-format libclang-rt-14-dev meson ninja-build pkg-config python3
  libhwloc-dev hwloc libnuma-dev numactl libjson-c-dev libcmocka-dev
  qemu-system-x86 qemu-utils busybox-static linux-image-cloud-amd64 cpio e2fsprogs
  gnuplot-nox iproute2
  scdoc bash-completion debhelper lintian
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

werror=false
[[ ${CI:-} == true ]] && werror=true
if [[ ! -f build/build.ninja ]]; then
  meson setup build -Dwerror=$werror >/dev/null
else
  meson configure build -Dwerror=$werror >/dev/null
fi
ninja -C build >/dev/null || ninja -C build
echo "setup: built vnuma in build/"
