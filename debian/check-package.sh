#!/usr/bin/env bash
# TAP: the Debian package end to end, on this machine (root; writes to /usr, so it refuses to
# run when a vnuma package is already installed).
#   debian/check-package.sh [SOURCE_DIR]
# Builds vnuma_*.deb from a clean copy of the committed tree (git archive HEAD) with
# dpkg-buildpackage, runs lintian (no errors), installs it with dpkg -i, boots the installed
# demo.cfg with the installed binaries and reads the guest's NUMA view from its console,
# then dpkg -r and dpkg -P: nothing the package shipped is left.
set -u
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; printf '%s\n' "$@" | sed 's/^/#   /'; }
check() { local what=$1 diag=$2; shift 2; if "$@"; then ok "$what"; else notok "$what" "$diag"; fi; }
installed() { dpkg-query -W -f='${Status}' vnuma 2>/dev/null | grep -q "install ok installed"; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP dpkg -i needs root"; exit 0; }
if installed; then
    echo "1..0 # SKIP a vnuma package is already installed; not replacing it"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-deb.XXXXXX")
# The demo's QEMU runs as vnuma-qemu, which must get through to the state dir in here.
chmod 0711 "$work"
state=""
cleanup() {
    [ -n "$state" ] && timeout 30 vnuma destroy --state-dir "$state" demo >/dev/null 2>&1
    dpkg -P vnuma >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
echo "1..11"

mkdir "$work/vnuma-0.1.0"
git -C "$src" archive HEAD | tar -x -C "$work/vnuma-0.1.0"
start=$(date +%s)
(cd "$work/vnuma-0.1.0" && DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck \
    timeout 900 dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1)
deb=$(ls "$work"/vnuma_*_amd64.deb 2>/dev/null)
check "dpkg-buildpackage -b builds vnuma_*.deb ($(($(date +%s) - start)) s)" \
    "$(tail -n 20 "$work/build.log")" test -n "$deb"
[ -n "$deb" ] || exit 0
lint=$(lintian --fail-on error "$work"/vnuma_*_amd64.changes 2>&1)
check "lintian reports no errors" "$lint" eval '! grep -q "^E: " <<<"$lint"'
contents=$(dpkg-deb -c "$deb" | awk '{print substr($6, 2)}' | grep -v '/$')
log=$(dpkg -i "$deb" 2>&1)
check "dpkg -i installs it" "$log" installed
check "the installed vnuma is on PATH and man finds its pages" "$(command -v vnuma) $(man -w vnuma.cfg 2>&1)" \
    test "$(command -v vnuma)" = /usr/bin/vnuma -a "$(man -w vnuma.cfg 2>&1)" = /usr/share/man/man5/vnuma.cfg.5.gz
check "the tmpfiles entry made /run/vnuma 0700" "$(stat -c '%a %U' /run/vnuma 2>&1)" \
    test "$(stat -c %a /run/vnuma 2>/dev/null)" = 700

check "the postinst created the system user vnuma-qemu" "$(getent passwd vnuma-qemu)" \
    eval 'getent passwd vnuma-qemu | grep -q ":/usr/sbin/nologin$"'

# The demo with the installed binaries: a private state dir, the installed guest image.
state=$work/state
out=$(cd / && env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root \
    timeout 120 vnuma create --state-dir "$state" /usr/share/doc/vnuma/examples/demo.cfg 2>&1)
rc=$?
check "installed vnuma create starts the installed demo.cfg from /" "rc $rc: $out" test $rc -eq 0
console=$state/run/demo/console.log
for _ in $(seq 300); do
    grep -aq 'node distances:' "$console" 2>/dev/null && break
    sleep 0.5
done
check "the guest prints its 4 vnodes (available: 4 nodes)" "$(tail -n 20 "$console" 2>&1)" \
    grep -aq 'available: 4 nodes' "$console"
qpid=$(pgrep -f -- "unix:$state/run/demo/qmp.sock" | head -n 1)
check "the demo's QEMU runs as vnuma-qemu under seccomp" "$(grep -E '^(Uid|Seccomp):' "/proc/${qpid:-0}/status" 2>&1)" \
    eval '[ "$(awk "\$1 == \"Uid:\" {print \$2}" "/proc/${qpid:-0}/status")" = "$(id -u vnuma-qemu)" ] && grep -Eq "^Seccomp:[[:space:]]+2" "/proc/${qpid:-0}/status"'
timeout 60 vnuma destroy --state-dir "$state" demo >/dev/null 2>&1
state=""

dpkg -r vnuma >/dev/null 2>&1
left=()
for f in $contents; do
    [ -e "$f" ] || [ -L "$f" ] && left+=("$f")
done
check "dpkg -r removes every file the package shipped" "left: ${left[*]-}" test ${#left[@]} -eq 0
dpkg -P vnuma >/dev/null 2>&1
left=$(ls -d /run/vnuma /usr/lib/vnuma /usr/share/doc/vnuma /lib/systemd/system/vnumad.service \
    /etc/systemd/system/multi-user.target.wants/vnumad.service 2>/dev/null)
check "dpkg -P leaves no directory, unit link or state dir of ours" "$left" test -z "$left"
