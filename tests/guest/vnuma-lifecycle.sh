#!/usr/bin/env bash
# Guest tier: list / info / numainfo / console / destroy on a running guest, parallel
# creates (claims never overcommit a node; records stay consistent), and the failures of
# create - each asserting its error text and that nothing is left behind.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"

# A config in VT_WORK: mkcfg NAME VCPUS SIZE_MIB [EXTRA LINES...]; prints its path.
mkcfg() {
    local name=$1 vcpus=$2 size=$3 f=$VT_WORK/$1.cfg
    shift 3
    {
        echo "name = \"$name\""
        echo "memory = $size"
        echo "vcpus = $vcpus"
        echo "vnodes = 1"
        echo 'on_reboot = "destroy"'
        printf '%s\n' "$@"
    } >"$f"
    echo "$f"
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# --- a running guest: list, info, numainfo, console, destroy --------------------------
cfg=$VT_WORK/life.cfg
cat >"$cfg" <<'EOF_CFG'
name = "life"
memory = 512
vcpus = 2
vnuma = [ [ "pnode=auto", "size=256", "vcpus=0", "vdistances=10,21" ],
          [ "pnode=auto", "size=256", "vcpus=1", "vdistances=21,10" ] ]
on_reboot = "destroy"
vnc = 1
vncpasswd = "vt-pw"
EOF_CFG
vt_create "$cfg"
if [ $VT_RC -eq 0 ]; then
    vt_ok "life: vnuma create succeeds"
else
    vt_not_ok "life: vnuma create succeeds" "$VT_OUT"
fi
pid=$(echo "$VT_OUT" | sed -n "s/^domain 'life' started (pid \([0-9]*\))$/\1/p")
vt_check "life: create prints \"domain 'life' started (pid N)\"" [ -n "$pid" ]
vt_check "life: create prints the accelerator and why" \
    grep -Eq '^accelerator: (kvm|tcg) - .+' <<<"$VT_OUT"
vt_check "life: create prints the CPU model it gave QEMU" \
    grep -Eqx 'cpu model: (host|host,-arch-capabilities|max)' <<<"$VT_OUT"
model=$(sed -n 's/^cpu model: //p' <<<"$VT_OUT")
qemu_cpu=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -x -A1 -- -cpu | tail -n 1)
vt_check "life: QEMU runs with that CPU model ('$qemu_cpu')" [ "${qemu_cpu:-none}" = "${model:-missing}" ]
# The host nodes of life's vnodes, from the host: a host with one node (this machine) has only
# that one to give, whatever its number; on a host with several the record's placement says
# which, and every view below must agree with it.
host_nodes=$("$VNUMA" topology --json | json "' '.join(str(n['node']) for n in d['nodes'] if n['memory_mib'] > 0)")
read -r hn0 hn1 < <(json "' '.join(str(v['pnodes'][0]) for v in d['placement']['vnodes'])" \
    <"$VT_STATE/domains/life.json" 2>/dev/null)
on_host() { case " $host_nodes " in *" $1 "*) return 0 ;; esac; return 1; }
case $host_nodes in
*" "*) vt_check "life: the record places both vnodes on nodes of the host ($host_nodes): ${hn0:-none}, ${hn1:-none}" \
    eval 'on_host "$hn0" && on_host "$hn1"' ;;
*) vt_check_eq "life: the host has one node, $host_nodes, and the record places both vnodes there" \
    "${hn0:-none},${hn1:-none}" "$host_nodes,$host_nodes" ;;
esac
hn0=${hn0:-0} hn1=${hn1:-0}
if [ "$hn0" = "$hn1" ]; then used="[$hn0]" used_col=$hn0; else
    used="[$(printf '%s\n' "$hn0" "$hn1" | sort -n | paste -sd, | sed 's/,/, /')]" used_col='[0-9,-]+'
fi
vt_check "life: create prints the placement table (vnode 1 on node $hn1)" \
    grep -Eq "^ +1 +$hn1 +256 +1 " <<<"$VT_OUT"
vt_wait_console life 'vnuma guest: 2 CPUs' 60
vt_check "life: the guest reached its shell" [ $? -eq 0 ]

out=$("$VNUMA" list --state-dir "$VT_STATE" --json)
vt_check_eq "life: list --json shows it running with 2 vCPUs, 512 MiB, 2 vnodes on host nodes $used" \
    "$(json "[(x['name'],x['state'],x['pid'],x['vcpus'],x['memory_mib'],x['vnodes'],x['host_nodes']) for x in d]" <<<"$out")" \
    "[('life', 'running', $pid, 2, 512, 2, $used)]"
out=$("$VNUMA" list --state-dir "$VT_STATE")
vt_check "life: list prints an aligned table" grep -Eq "^life +running +$pid +2 +512 +2 +$used_col +(tcg|kvm) " <<<"$out"

info=$("$VNUMA" info --state-dir "$VT_STATE" --json life)
vt_check_eq "life: info --json: each vnode has pages on its host node ($hn0, $hn1) and nowhere else" \
    "$(json "[(v['vnode'], [r['node'] for r in v['resident']], v['resident_mib'] > 0) for v in d['vnode_info']]" <<<"$info")" \
    "[(0, [$hn0], True), (1, [$hn1], True)]"
vt_check "life: info --json: every vCPU has a thread, the soft CPUs as affinity, and a last CPU" \
    [ "$(json "all(v['thread_id'] and v['affinity'] == v['soft'] and v['last_cpu'] is not None for v in d['vcpu_info'])" <<<"$info")" = True ]
vt_check "life: info --json: the guest distance matrix" \
    [ "$(json "d['distances']" <<<"$info")" = "[[10, 21], [21, 10]]" ]
echo "# info: $(json "[(v['vnode'], round(v['resident_mib'],1)) for v in d['vnode_info']]" <<<"$info")"
text=$("$VNUMA" info --state-dir "$VT_STATE" life)
vt_check "life: info shows vnode 1's resident MiB on its node $hn1" \
    grep -Eq "^ +1 +$hn1 +256 +bind +1 +node $hn1: [0-9.]+ MiB" <<<"$text"

num=$("$VNUMA" numainfo --state-dir "$VT_STATE" --json)
vt_check_eq "life: numainfo --json: host node $hn0 with free memory, life's memory on $used, its vnode map" \
    "$(json "([(n['node'], n['free_mib'] > 0) for n in d['host_nodes'] if n['node'] == $hn0], [(x['name'], [m['node'] for m in x['memory_by_node']], [v['pnodes'] for v in x['vnode_map']]) for x in d['domains']])" <<<"$num")" \
    "([($hn0, True)], [('life', $used, [[$hn0], [$hn1]])])"

out=$( (echo 'echo console-says-$((6*7))'; sleep 3) | timeout 20 "$VNUMA" console --state-dir "$VT_STATE" life 2>&1)
vt_check "life: console relays piped input and the guest's answer" grep -q 'console-says-42' <<<"$out"
vt_check "life: console says how to detach" grep -q "Connected to domain 'life'. Escape character is ^]" <<<"$out"

# VNC: the socket in the runtime dir, a VNC server on it that asks for the password (VNC
# authentication, security type 2), and the password nowhere on QEMU's command line.
vnc=$("$VNUMA" vnc --state-dir "$VT_STATE" life 2>&1)
vt_check "life: vnuma vnc prints a socket named vnc.sock ('$vnc')" [ -S "$vnc" -a "${vnc##*/}" = vnc.sock ]
rfb=$(timeout 10 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
v = s.recv(12); s.sendall(v); n = s.recv(1)[0]
print(v.decode().strip(), list(s.recv(n)))' "$vnc" 2>&1)
vt_check_eq "life: the VNC server speaks RFB and asks for the password" "$rfb" "RFB 003.008 [2]"
vt_check_eq "life: the VNC password is not on QEMU's command line" \
    "$(tr '\0' ' ' <"/proc/$pid/cmdline" | grep -c vt-pw)" 0

vt_create "$cfg"
vt_check "life: a second create of the same name fails: already exists" \
    grep -q "error: domain 'life' already exists (QEMU pid $pid)" <<<"$VT_OUT"
vt_check "life: ... and leaves the first one running" [ "$(vt_qemu_pids life)" = "$pid" ]

out=$("$VNUMA" destroy --state-dir "$VT_STATE" life 2>&1)
vt_check "life: destroy succeeds" [ $? -eq 0 ]
vt_assert_clean life "life: destroy"
out=$("$VNUMA" destroy --state-dir "$VT_STATE" life 2>&1)
rc=$?
vt_check "life: destroy of an unknown domain: exit 1, \"domain 'life' does not exist\"" \
    [ $rc -eq 1 -a "$out" = "vnuma destroy: error: domain 'life' does not exist" ]

# --- a QEMU that dies without a guest event keeps the name until destroy ------------------
# (A guest that powers off is the watcher's: tests/guest/vnuma-life.sh.)  SIGKILL gives QEMU
# no chance to report anything; the watcher leaves the record for the operator.
cfg=$(mkcfg dead 1 256)
vt_create "$cfg"
vt_check "dead: create succeeds" [ $VT_RC -eq 0 ]
kill -9 $(vt_qemu_pids dead) 2>/dev/null
for _ in $(seq 100); do [ -z "$(vt_qemu_pids dead)" ] && break; sleep 0.3; done
for _ in $(seq 50); do grep -q '"stopped"' "$VT_STATE/domains/dead.json" 2>/dev/null && break; sleep 0.2; done
out=$("$VNUMA" list --state-dir "$VT_STATE" --json)
vt_check "dead: list shows the killed guest as dead" \
    [ "$(json "[(x['name'], x['state']) for x in d]" <<<"$out")" = "[('dead', 'dead')]" ]
vt_create "$cfg"
vt_check "dead: creating the name again says to destroy the dead one first" \
    grep -q "domain 'dead' already exists, but its QEMU is not running; remove it with 'vnuma destroy dead' first" <<<"$VT_OUT"
out=$("$VNUMA" destroy --state-dir "$VT_STATE" dead 2>&1)
vt_check "dead: destroy cleans it without complaint" [ $? -eq 0 ]
vt_assert_clean dead "dead: destroy"

# --- parallel creates -----------------------------------------------------------------
pids=()
for i in 1 2 3 4; do
    cfg=$(mkcfg "par$i" 1 256)
    ( timeout "$VT_TIMEOUT" "$VNUMA" create --state-dir "$VT_STATE" "$cfg" >"$VT_WORK/par$i.out" 2>&1
      echo $? >"$VT_WORK/par$i.rc" ) &
    pids+=($!)
done
wait "${pids[@]}"
ok=0
for i in 1 2 3 4; do [ "$(cat "$VT_WORK/par$i.rc")" = 0 ] && ok=$((ok + 1)); done
export VNUMA
vt_check "parallel: 4 creates at once all succeed ($ok did)" [ $ok -eq 4 ]
consistent=$(python3 - "$VT_STATE" <<'EOF_PY'
import json, os, sys
state = sys.argv[1]
host = {n["node"]: n["memory_mib"] for n in json.load(os.popen(os.environ["VNUMA"] + " topology --json"))["nodes"]}
claimed, problems = {}, []
for f in sorted(os.listdir(state + "/domains")):
    r = json.load(open(f"{state}/domains/{f}"))
    p = r["placement"]
    if r["status"] != "running": problems.append(f"{r['name']} is {r['status']}")
    if "claim" in r: problems.append(f"{r['name']}: the claim is stored twice")
    if sum(c["memory_mib"] for c in p["claim"]) != p["memory_mib"]:
        problems.append(f"{r['name']}: claim does not cover its memory")
    for c in p["claim"]:
        claimed[c["node"]] = claimed.get(c["node"], 0) + c["memory_mib"]
for n, m in claimed.items():
    if m > host.get(n, 0): problems.append(f"node {n}: {m} MiB claimed of {host.get(n)}")
print("; ".join(problems) or "ok")
EOF_PY
)
vt_check "parallel: records are running, each claim stored once and covering its memory, no node overcommitted ($consistent)" [ "$consistent" = ok ]
n=$("$VNUMA" list --state-dir "$VT_STATE" --json | json "sorted(x['name'] for x in d if x['state'] == 'running')")
vt_check "parallel: list shows the 4 running" [ "$n" = "['par1', 'par2', 'par3', 'par4']" ]
for i in 1 2 3 4; do "$VNUMA" destroy --state-dir "$VT_STATE" "par$i" >/dev/null 2>&1; done
left=""
for i in 1 2 3 4; do left="$left$(vt_nothing_left "par$i")"; done
vt_check "parallel: destroy leaves nothing of the 4 ($left)" [ -z "$left" ]

# Contention: the live host as a JSON file with only 1000 MiB free, all on its first node with
# memory (none on the others, if any); four 384 MiB creates at once; the host lock must let
# exactly two claim it.
"$VNUMA" topology --json | python3 -c '
import json, sys
h = json.load(sys.stdin)
first = next(n for n in h["nodes"] if n["memory_mib"] > 0)
for n in h["nodes"]: n["free_mib"] = 1000 if n is first else 0
json.dump(h, sys.stdout)' >"$VT_WORK/small-host.json"
pids=()
for i in 1 2 3 4; do
    cfg=$(mkcfg "con$i" 1 384)
    ( timeout "$VT_TIMEOUT" "$VNUMA" create --state-dir "$VT_STATE" --host "$VT_WORK/small-host.json" "$cfg" >"$VT_WORK/con$i.out" 2>&1
      echo $? >"$VT_WORK/con$i.rc" ) &
    pids+=($!)
done
wait "${pids[@]}"
ok=0 refused=0
for i in 1 2 3 4; do
    if [ "$(cat "$VT_WORK/con$i.rc")" = 0 ]; then ok=$((ok + 1))
    elif grep -q "domain 'con$i': cannot place it" "$VT_WORK/con$i.out"; then refused=$((refused + 1))
    else echo "# con$i: $(cat "$VT_WORK/con$i.out")"; fi
done
vt_check "contention: 4 creates of 384 MiB against 1000 MiB free: 2 start, 2 are refused by placement ($ok, $refused)" \
    [ $ok -eq 2 -a $refused -eq 2 ]
for i in 1 2 3 4; do "$VNUMA" destroy --state-dir "$VT_STATE" "con$i" >/dev/null 2>&1; done
left=""
for i in 1 2 3 4; do left="$left$(vt_nothing_left "con$i")"; done
vt_check "contention: nothing is left of the 4 ($left)" [ -z "$left" ]

# --- failures: the error text, and nothing left behind ----------------------------------
# fail_case NAME DESCRIPTION EXPECTED_TEXT: after vt_create, asserts exit 1, the text and
# that nothing is left (and the list is empty).
fail_case() {
    vt_check "$2: exit status 1 (got $VT_RC)" [ $VT_RC -eq 1 ]
    if grep -qF -- "$3" <<<"$VT_OUT"; then
        vt_ok "$2: the error says \"$3\""
    else
        vt_not_ok "$2: the error says \"$3\"" "$VT_OUT"
    fi
    vt_assert_clean "$1" "$2"
    local n
    n=$("$VNUMA" list --state-dir "$VT_STATE" --json | json "len(d)")
    vt_check "$2: list is empty" [ "$n" = 0 ]
}

cfg=$(mkcfg nokernel 1 256 'kernel = "/nonexistent/vmlinuz"')
vt_create "$cfg"
fail_case nokernel "missing kernel" \
    "domain 'nokernel': the 'kernel' file '/nonexistent/vmlinuz' cannot be used: No such file or directory"

cfg=$(mkcfg noqemu 1 256)
VT_OUT=$(VNUMA_QEMU=/nonexistent/qemu timeout "$VT_TIMEOUT" "$VNUMA" create --state-dir "$VT_STATE" --accel tcg "$cfg" 2>&1)
VT_RC=$?
fail_case noqemu "QEMU binary missing" "the QEMU binary '/nonexistent/qemu' (VNUMA_QEMU) is not an executable file"

# A disk image QEMU cannot open as qcow2: QEMU exits at start.  Create itself refuses a file
# without the qcow2 magic before starting anything (tests/guest/vnuma-disk.sh), so this one
# has a qcow2 header that only QEMU finds wrong: a cluster size of 2^0.
{ printf 'QFI\373\0\0\0\3'; head -c 92 /dev/zero; printf '\0\0\0\150'; } >"$VT_WORK/bad.qcow2"
vt_give "$VT_WORK/bad.qcow2"
cfg=$(mkcfg qemudies 1 256 "disk = [ 'format=qcow2,vdev=xvda,access=rw,target=$VT_WORK/bad.qcow2' ]" \
    "kernel = \"$(ls /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -n 1)\"")
vt_create "$cfg"
fail_case qemudies "QEMU exiting at start" "domain 'qemudies': cannot start QEMU: QEMU (pid"
vt_check "QEMU exiting at start: the error quotes QEMU's own message" grep -q "qcow2" <<<"$VT_OUT"
echo "$VT_OUT" | sed 's/^/# /' 

cfg=$(mkcfg nostate 1 256)
touch "$VT_WORK/regular-file"
VT_OUT=$(timeout "$VT_TIMEOUT" "$VNUMA" create --state-dir "$VT_WORK/regular-file/state" "$cfg" 2>&1)
VT_RC=$?
fail_case nostate "state dir not writable (under a regular file)" \
    "cannot create state directory '$VT_WORK/regular-file/state': Not a directory"

vt_finish
