#!/usr/bin/env bash
# Guest tier: a confined QEMU (README "Confinement", docs/CONFIG.md "The host config").  As
# root, vnuma starts QEMU as the host config's qemu_user with a seccomp sandbox:
#   - /proc/PID/status shows that user's uid and gid, Seccomp 2 and NoNewPrivs 1;
#   - the memory files are that user's, 0600, in its 0700 dir; the runtime dir is its, 0700,
#     the QEMU log root's 0600; another unprivileged user reads none of them;
#   - vnuma (root) still reads the guest's residency, moves its pages and pins its vCPUs;
#   - a qemu_user that does not exist, or a kernel that user cannot read, fails before
#     anything starts and leaves nothing;
#   - a vnuma that is not root runs QEMU as itself, and refuses a qemu_user naming another user.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root: only root starts QEMU as another user (uid $(id -u))"
    exit 0
fi
quser=vnuma-qemu
if ! getent passwd $quser >/dev/null; then
    # scripts/setup.sh (and the Debian package) create it; CI runs setup first.
    echo "1..1"
    echo "not ok 1 - the system user '$quser' exists (run scripts/setup.sh to create it)"
    exit 0
fi
quid=$(id -u $quser)
qgid=$(id -g $quser)
other=65534
# This test's own host config, so a host's /etc/vnuma/vnuma.conf cannot change what it checks.
printf 'qemu_user = "%s"\n' $quser >"$VT_WORK/vnuma.conf"
export VNUMA_HOST_CONF=$VT_WORK/vnuma.conf

# mkcfg NAME [EXTRA]: a 1-vCPU, 128 MiB guest config in VT_WORK; prints its path.
mkcfg() {
    local f=$VT_WORK/$1.cfg
    printf 'name = "%s"\nmemory = 128\nvcpus = 1\nvnodes = 1\non_reboot = "destroy"\n%s' \
        "$1" "${2:-}" >"$f"
    echo "$f"
}

# status_field PID FIELD: the value of FIELD in /proc/PID/status, tabs as spaces.
status_field() {
    awk -v f="$2:" '$1 == f {$1 = ""; sub(/^ /, ""); print; exit}' "/proc/$1/status" 2>/dev/null
}

# as_other CMD...: runs CMD as uid $other, no groups.
as_other() {
    setpriv --reuid $other --regid $other --clear-groups "$@"
}

# --- 1. the confined guest --------------------------------------------------------------------
t0=$(vt_now_ms)
vt_create "$(mkcfg c1)"
t1=$(vt_now_ms)
vt_check "c1: create as root exits 0" [ "$VT_RC" -eq 0 ]
[ "$VT_RC" -eq 0 ] || echo "$VT_OUT" | sed 's/^/# /'
echo "# c1: create took $((t1 - t0)) ms"
vt_check "c1: the guest reaches its userspace" vt_wait_console c1 'vnuma guest: 1 CPUs' 60
pid=$(vt_qemu_pids c1 | head -n 1)
vt_check_eq "c1: QEMU's Uid (real, effective, saved, fs) is $quser's" \
    "$(status_field "$pid" Uid)" "$quid $quid $quid $quid"
vt_check_eq "c1: QEMU's Gid is $quser's primary group" \
    "$(status_field "$pid" Gid)" "$qgid $qgid $qgid $qgid"
vt_check_eq "c1: QEMU runs under a seccomp filter (Seccomp 2) with no_new_privs" \
    "$(status_field "$pid" Seccomp)|$(status_field "$pid" NoNewPrivs)" "2|1"
vt_check "c1: QEMU's groups do not include root's" \
    eval '! tr " " "\n" <<<"$(status_field "$pid" Groups)" | grep -qx 0'
cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
vt_check "c1: QEMU has -sandbox with every deny, -nodefaults and -no-user-config" \
    grep -qF -- "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny -nodefaults -no-user-config" <<<"$cmd"

mem=$(awk '$6 ~ /\/vnode0$/ {print $6; exit}' "/proc/$pid/maps")
run=$VT_STATE/run/c1
echo "# c1: memory file '$mem', runtime dir '$run'"
vt_check_eq "c1: the memory file is $quser's, mode 0600" "$(stat -c '%u %a' "$mem" 2>&1)" "$quid 600"
vt_check_eq "c1: its dir is $quser's, mode 0700" "$(stat -c '%u %a' "${mem%/*}" 2>&1)" "$quid 700"
vt_check_eq "c1: the runtime dir is $quser's, mode 0700" "$(stat -c '%u %a' "$run" 2>&1)" "$quid 700"
vt_check_eq "c1: the QEMU log is root's, 0600 (vnuma opens it, QEMU writes to the fd)" \
    "$(stat -c '%u %a' "$run/qemu.log" 2>&1)" "0 600"
vt_check_eq "c1: QEMU's console log and QMP socket are $quser's, closed to others" \
    "$(stat -c '%u %a' "$run/console.log" 2>&1)|$(stat -c '%u %a' "$run/qmp.sock" 2>&1)" \
    "$quid 600|$quid 700"
vt_check_eq "c1: the state dir and its run/ are searchable by $quser's group only" \
    "$(stat -c '%u %g %a' "$VT_STATE" "$VT_STATE/run" | tr '\n' '|')" "0 $qgid 710|0 $qgid 710|"

# Another unprivileged user: it can run commands (the checks below would pass vacuously if it
# could not), but reads nothing of the domain.
vt_check "other: uid $other can read a world-readable file (the probe works)" \
    eval 'as_other head -c 1 /etc/passwd >/dev/null'
vt_check "other: uid $other cannot list the runtime dir" eval '! as_other ls "$run" >/dev/null 2>&1'
vt_check "other: uid $other cannot read the console log" \
    eval '! as_other head -c 1 "$run/console.log" >/dev/null 2>&1'
vt_check "other: uid $other cannot read the guest's memory" \
    eval '! as_other head -c 1 "$mem" >/dev/null 2>&1'
vt_check "other: uid $other cannot connect to the QMP socket" \
    eval '! as_other python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])" "$run/qmp.sock" 2>/dev/null'
vt_check "other: uid $other cannot list the state dir" \
    eval '! as_other ls "$VT_STATE" >/dev/null 2>&1'

# vnuma, root, still works on it from outside.
out=$(timeout 30 "$VNUMA" info --state-dir "$VT_STATE" c1 2>&1)
vt_check "c1: vnuma info reads its residency on host node 0" grep -Eq 'node 0: [0-9.]+ MiB' <<<"$out"
out=$(timeout 60 "$VNUMA" mem-move --state-dir "$VT_STATE" --to 0 c1 2>&1)
rc=$?
echo "# mem-move: $out"
vt_check "c1: vnuma mem-move (to node 0, the only one) moves every page of the confined QEMU" \
    eval '[ $rc -eq 0 ] && grep -Eq "handled ([0-9]+) of \1 pages .* 0 could not move" <<<"$out"'
ncpu=$(nproc)
last=$((ncpu - 1))
out=$(timeout 30 "$VNUMA" vcpu-pin --state-dir "$VT_STATE" c1 0 "$last" 2>&1)
tid=$(sed -n 's/.*(thread \([0-9]*\)).*/\1/p' <<<"$out")
vt_check_eq "c1: vnuma vcpu-pin sets the confined vCPU thread's affinity" \
    "$(awk '$1 == "Cpus_allowed_list:" {print $2}' "/proc/$pid/task/${tid:-0}/status" 2>&1)" "$last"
vt_check "c1: the guest still runs after the pin and the move" \
    grep -Eq '^c1 +running' <<<"$("$VNUMA" list --state-dir "$VT_STATE")"
out=$(timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" c1 2>&1)
vt_check "c1: destroy exits 0" [ $? -eq 0 ]
vt_assert_clean c1 "c1: after destroy"

# --- 2. failures before anything starts -------------------------------------------------------
printf 'qemu_user = "nosuchuser"\n' >"$VT_WORK/bad.conf"
fresh=$VT_WORK/fresh-state
out=$(VNUMA_HOST_CONF=$VT_WORK/bad.conf timeout 30 "$VNUMA" create --state-dir "$fresh" \
    "$(mkcfg nouser)" 2>&1)
rc=$?
vt_check "nouser: create with qemu_user = \"nosuchuser\" exits non-zero" [ $rc -ne 0 ]
vt_check "nouser: the error names the file, line, column, key and user" \
    grep -qF "bad.conf:1:13: qemu_user: the QEMU user 'nosuchuser' does not exist" <<<"$out"
vt_check "nouser: not even the state dir was made" [ ! -e "$fresh" ]
VNUMA_HOST_CONF=$VT_WORK/bad.conf vt_create "$(mkcfg nouser)"
vt_check "nouser: in an existing state dir too the create fails" [ "$VT_RC" -ne 0 ]
vt_assert_clean nouser "nouser: refused"

# vnuma opens the boot files and QEMU reads them through the descriptors: a kernel in VT_WORK
# (0700, root's) boots when its own mode lets QEMU's user read it, and is refused when not.
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
if [ -n "$kernel" ] && [ -n "${VNUMA_INITRAMFS:-}" ] && [ -r "$VNUMA_INITRAMFS" ]; then
    cp "$kernel" "$VT_WORK/vmlinuz"
    chmod 0644 "$VT_WORK/vmlinuz"
    vt_create "$(mkcfg closeddir "kernel = \"$VT_WORK/vmlinuz\"
ramdisk = \"$VNUMA_INITRAMFS\"
")"
    vt_check "closeddir: a kernel of mode 0644 in a dir $quser cannot enter boots" [ "$VT_RC" -eq 0 ]
    [ "$VT_RC" -eq 0 ] || echo "$VT_OUT" | sed 's/^/# /'
    timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" closeddir >/dev/null 2>&1
    vt_assert_clean closeddir "closeddir: after destroy"
    chmod 0600 "$VT_WORK/vmlinuz"
    vt_create "$(mkcfg nokernel "kernel = \"$VT_WORK/vmlinuz\"
ramdisk = \"$VNUMA_INITRAMFS\"
")"
    vt_check "nokernel: a kernel of mode 0600, root's, is refused" [ "$VT_RC" -ne 0 ]
    vt_check "nokernel: the error names the file and the user" \
        grep -qF "QEMU runs as user '$quser' (uid $quid), which cannot read the 'kernel' file '$VT_WORK/vmlinuz' (owner 0, group 0, mode 0600)" <<<"$VT_OUT"
    vt_assert_clean nokernel "nokernel: refused"
else
    vt_skip "closeddir: a kernel in a dir $quser cannot enter boots" "no /boot/vmlinuz-*-cloud-amd64 or VNUMA_INITRAMFS"
    vt_skip "closeddir: after destroy" "no kernel"
    vt_skip "nokernel: a kernel $quser cannot read" "no /boot/vmlinuz-*-cloud-amd64 or VNUMA_INITRAMFS"
    vt_skip "nokernel: the error names the file" "no kernel"
    vt_skip "nokernel: refused: nothing is left" "no kernel"
fi

# --- 3. a vnuma that is not root ----------------------------------------------------------------
S3=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-confine-user.XXXXXX")
chown $other:$other "$S3"
printf 'name = "u1"\nmemory = 128\nvcpus = 1\nvnodes = 1\non_reboot = "destroy"\n' >"$S3/u1.cfg"
printf 'qemu_user = "%s"\n' $quser >"$S3/other.conf"
chmod 0644 "$S3/u1.cfg" "$S3/other.conf"
# The user's own copy of the guest image: the build tree may sit in a dir only root enters
# (a mktemp clone), and this vnuma runs as that user.
cp "$VNUMA_INITRAMFS" "$S3/initramfs.cpio.gz"
chown $other:$other "$S3/initramfs.cpio.gz"
out=$(as_other env VNUMA_HOST_CONF="$S3/other.conf" timeout 30 "$VNUMA" create --accel tcg \
    --state-dir "$S3/state" "$S3/u1.cfg" 2>&1)
rc=$?
vt_check "user: a non-root vnuma refuses qemu_user naming another user" \
    eval '[ $rc -ne 0 ] && grep -qF "only root can start QEMU as another user" <<<"$out"'
out=$(as_other env VNUMA_HOST_CONF=/nonexistent/vnuma.conf \
    VNUMA_INITRAMFS="$S3/initramfs.cpio.gz" timeout "$VT_TIMEOUT" "$VNUMA" create \
    --accel tcg --state-dir "$S3/state" "$S3/u1.cfg" 2>&1)
rc=$?
vt_check "user: a non-root vnuma starts a guest" [ $rc -eq 0 ]
[ $rc -eq 0 ] || echo "$out" | sed 's/^/# /'
upid=$(pgrep -f -- "-name u1,debug-threads=on .*unix:$S3/state/run/u1/qmp.sock" | head -n 1)
vt_check_eq "user: its QEMU runs as the invoking user, sandboxed" \
    "$(status_field "${upid:-0}" Uid)|$(status_field "${upid:-0}" Seccomp)" \
    "$other $other $other $other|2"
as_other timeout 30 "$VNUMA" destroy --state-dir "$S3/state" u1 >/dev/null 2>&1
[ -n "$upid" ] && kill -0 "$upid" 2>/dev/null && { sleep 2; kill "$upid" 2>/dev/null; }
vt_check "user: destroy leaves no QEMU" [ -z "$(pgrep -f -- "unix:$S3/state/run/u1/qmp.sock")" ]
rm -rf "$S3"

vt_finish
