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

# The unprivileged system user QEMU runs as when vnuma runs as root (docs/CONFIG.md, "The host
# config"), in the kvm group when the host has KVM.  Every name is one argv element.
qemu_user=vnuma-qemu
as_root=()
[[ $(id -u) -eq 0 ]] || as_root=(sudo)
if ! getent passwd "$qemu_user" >/dev/null; then
  echo "setup: creating the system user $qemu_user"
  "${as_root[@]}" useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$qemu_user"
fi
if [[ -e /dev/kvm ]] && getent group kvm >/dev/null &&
  ! id -nG "$qemu_user" | tr ' ' '\n' | grep -qx kvm; then
  echo "setup: adding $qemu_user to the group kvm (/dev/kvm)"
  "${as_root[@]}" usermod --append --groups kvm "$qemu_user"
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
