#!/usr/bin/env bash
# Guest tier: networking (docs/CONFIG.md "Networking").  Everything happens in two network
# namespaces this test creates and removes (never the host's own): ns A holds a bridge and
# runs `vnuma`, ns B holds the peer of a veth on that bridge at 169.254.10.1.  Guests on the
# bridge answer ping and a TCP echo from ns B, reach each other, and leave no tap behind; a
# missing bridge fails before anything starts; `vif = [ '' ]` takes the host config's
# default_bridge and a MAC that is the same for the same name.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"

for tool in ip python3; do
    command -v $tool >/dev/null || { echo "1..0 # SKIP '$tool' is not installed"; exit 0; }
done
# ping from iputils, else busybox's (Debian's busybox package has it)
if command -v ping >/dev/null; then PING=(ping); elif command -v busybox >/dev/null; then PING=(busybox ping); else
    echo "1..0 # SKIP neither ping nor busybox is installed"; exit 0; fi
[ -c /dev/net/tun ] || { echo "1..0 # SKIP /dev/net/tun is missing"; exit 0; }

NSA=vnt-a-$$ NSB=vnt-b-$$ BR=vnbr0
net_cleanup() {
    vt_cleanup
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
}
trap net_cleanup EXIT
trap 'net_cleanup; exit 1' INT TERM
# shellcheck source=tests/guest/netns-lib.sh
. "$(dirname "$0")/netns-lib.sh"
if ! ip netns add "$NSA" 2>/dev/null; then
    echo "1..0 # SKIP cannot create network namespaces (not root?)"
    exit 0
fi
ip netns del "$NSA"
if ! netns_bridge_pair "$NSA" "$NSB" "$BR" 169.254.10.1/16; then
    printf 'not ok 1 - the namespaces, bridge and veth can be set up\n1..1\n'
    exit 1
fi

# vnuma runs inside ns A: a wrapper that vt_create and vt_cleanup call as $VNUMA
REAL_VNUMA=$VNUMA
VNUMA=$VT_WORK/vnuma-in-ns
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NSA" "$REAL_VNUMA" >"$VNUMA"
chmod 755 "$VNUMA"

mkcfg() { # NAME VIF EXTRA
    local f=$VT_WORK/$1.cfg
    cat >"$f" <<EOF_CFG
name = "$1"
memory = 256
vcpus = 1
vnodes = 1
on_reboot = "destroy"
vif = [ '$2' ]
extra = "console=ttyS0 panic=-1 quiet $3"
EOF_CFG
    echo "$f"
}
taps() { ip -n "$NSA" -o link show type tun 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | paste -sd' '; }
qemu_arg() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -x -A1 -- "$2" | grep -v -x -- "$2" | paste -sd' '; }
pid_of() { sed -n "s/^domain '$1' started (pid \([0-9]*\))$/\1/p" <<<"$2"; }
# in_b PYTHON: runs a python snippet in ns B, bounded
in_b() { timeout 20 ip netns exec "$NSB" python3 -c "$1"; }

# --- one guest on the bridge: ping and TCP echo from ns B ---------------------------------
vt_create "$(mkcfg net1 "bridge=$BR" "vnuma.ip=169.254.10.2/16 vnuma.echo=7777")"
if [ $VT_RC -eq 0 ]; then vt_ok "net1: create with vif bridge=$BR succeeds"; else
    vt_not_ok "net1: create with vif bridge=$BR succeeds" "$VT_OUT"; fi
pid1=$(pid_of net1 "$VT_OUT")
tap1=$(ip -n "$NSA" -o link show master "$BR" type tun 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//')
vt_check "net1: a tap ('${tap1:-none}', generated name vn*) is on bridge $BR and up" \
    eval '[[ "$tap1" == vn* ]] && ip -n "$NSA" -o link show "$tap1" | grep -q "state UP\|,UP"'
netdev=$(qemu_arg "$pid1" -netdev)
if [ -r /dev/vhost-net ] && exec 9<>/dev/vhost-net 2>/dev/null; then
    exec 9>&-
    vt_check "net1: vhost-net is usable here, and QEMU got vhost=on ($netdev)" grep -q 'vhost=on,vhostfd=' <<<"$netdev"
    echo "# vhost-net: used"
else
    vt_check "net1: /dev/vhost-net is not usable here, and QEMU got a plain tap fd ($netdev)" \
        eval '[[ "$netdev" == tap,id=net0,fd=[0-9]* && "$netdev" != *vhost* ]]'
    echo "# vhost-net: not usable on this host (/dev/vhost-net missing); the tap runs without it"
fi
vt_wait_console net1 'VNUMA-NET: echo on port 7777' 120
vt_check "net1: the guest configured eth0 and started the echo server" [ $? -eq 0 ]
mac1=$(qemu_arg "$pid1" -device | sed -n 's/.*mac=\([0-9a-f:]*\).*/\1/p')
vt_check "net1: the guest's eth0 has the MAC QEMU was given ($mac1)" \
    grep -q "VNUMA-NET: eth0 169.254.10.2/16 $mac1" "$(vt_console_log net1)"
info=$("$VNUMA" info --state-dir "$VT_STATE" --json net1 2>&1 |
    python3 -c "import json,sys; n=json.load(sys.stdin)['nics'][0]; print(n['tap'], n['mac'], n['bridge'], n['model'])" 2>&1)
vt_check_eq "net1: info --json names its NIC's tap, MAC, bridge and model" "$info" "$tap1 $mac1 $BR virtio"
vt_check "net1: info prints the NIC" grep -q "^  nic 0: *virtio $mac1, tap $tap1 on bridge $BR$" \
    <<<"$("$VNUMA" info --state-dir "$VT_STATE" net1 2>&1)"
ok=''
for _ in 1 2 3 4 5 6 7 8 9 10; do
    timeout 5 ip netns exec "$NSB" "${PING[@]}" -c 1 -W 2 169.254.10.2 >/dev/null 2>&1 && { ok=1; break; }
done
vt_check "net1: answers ping from ns B" [ -n "$ok" ]
echo_py='
import socket, sys, time
msg = b"vnuma-echo-" + str(6 * 7).encode() + b"\n"
s = socket.create_connection(("169.254.10.2", 7777), timeout=10)
s.sendall(msg)
got = b""
end = time.time() + 10
while len(got) < len(msg) and time.time() < end:
    d = s.recv(100)
    if not d:
        break
    got += d
print(got.decode(errors="replace").strip())
'
out=$(in_b "$echo_py" 2>&1)
vt_check_eq "net1: a TCP echo round-trips from ns B" "$out" "vnuma-echo-42"

# --- a second guest on the same bridge reaches the first -----------------------------------
vt_create "$(mkcfg net2 "bridge=$BR,model=virtio-net" "vnuma.ip=169.254.10.3/16")"
if [ $VT_RC -eq 0 ]; then vt_ok "net2: create on the same bridge succeeds"; else
    vt_not_ok "net2: create on the same bridge succeeds" "$VT_OUT"; fi
vt_wait_console net2 'VNUMA-NET: eth0' 120
vt_check "net2: the guest configured eth0" [ $? -eq 0 ]
vt_wait_console net2 'vnuma guest: ' 60
out=$( (sleep 1; echo 'for i in 1 2 3 4 5; do ping -c 1 -W 2 169.254.10.2 >/dev/null && { echo PING-OK-$((40+2)); break; }; done'; sleep 12) |
    timeout 30 "$VNUMA" console --state-dir "$VT_STATE" net2 2>&1)
vt_check "net2: pings net1 over the bridge (guest to guest)" grep -q 'PING-OK-42' <<<"$out"
vt_check_eq "two guests: two taps on $BR" "$(ip -n "$NSA" -o link show master "$BR" type tun | wc -l)" 2

# --- the other models and type=user: QEMU takes them (the image has no e1000/rtl8139 driver)
for model in e1000 rtl8139; do
    vt_create "$(mkcfg "m-$model" "bridge=$BR,model=$model" "")"
    p=$(pid_of "m-$model" "$VT_OUT")
    dev=$(qemu_arg "$p" -device)
    st=$("$VNUMA" list --state-dir "$VT_STATE" --json 2>/dev/null |
        python3 -c "import json,sys; print([x['state'] for x in json.load(sys.stdin) if x['name']=='m-$model'])" 2>/dev/null)
    vt_check_eq "model=$model: QEMU runs with a $model NIC on the tap" "$VT_RC|${dev%%,*}|$st" "0|$model|['running']"
    "$VNUMA" destroy --state-dir "$VT_STATE" "m-$model" >/dev/null 2>&1
done
vt_create "$(mkcfg user1 "type=user" "vnuma.ip=169.254.30.2/16")"
p=$(pid_of user1 "$VT_OUT")
vt_check_eq "type=user: QEMU gets -netdev user and no tap is made" "$VT_RC|$(qemu_arg "$p" -netdev)|$(ip -n "$NSA" -o link show type tun | wc -l)" "0|user,id=net0|2"
vt_wait_console user1 'VNUMA-NET: eth0 169.254.30.2/16' 120
vt_check "type=user: the guest has eth0" [ $? -eq 0 ]
"$VNUMA" destroy --state-dir "$VT_STATE" user1 >/dev/null 2>&1

# --- two vifs, vifname honoured, QEMU's NICs in devid order ---------------------------------
cat >"$VT_WORK/two.cfg" <<EOF_CFG
name = "two"
memory = 256
vcpus = 1
vnodes = 1
on_reboot = "destroy"
vif = [ 'devid=1,bridge=$BR,vifname=vnt-one,model=e1000', 'devid=0,bridge=$BR,vifname=vnt-zero' ]
EOF_CFG
vt_create "$VT_WORK/two.cfg"
p=$(pid_of two "$VT_OUT")
named=$(ip -n "$NSA" -o link show master "$BR" type tun | grep -c -E ': vnt-(one|zero)[:@]')
devs=$(qemu_arg "$p" -device | tr ' ' '\n' | grep netdev= | cut -d, -f1,2 | paste -sd' ')
vt_check_eq "two vifs: taps vnt-zero and vnt-one on $BR, QEMU's NICs in devid order" \
    "$VT_RC|$named|$devs" "0|2|virtio-net-pci,netdev=net0 e1000,netdev=net1"
"$VNUMA" destroy --state-dir "$VT_STATE" two >/dev/null 2>&1
# a vifname that an interface has already: refused before anything starts
vt_create "$(mkcfg taken "bridge=$BR,vifname=veth-a" "")"
vt_check "vifname of an existing interface: refused, naming it ($VT_OUT)" \
    grep -q "domain 'taken': vif 0 ('bridge=$BR,vifname=veth-a'): an interface named 'veth-a' exists already" <<<"$VT_OUT"
vt_assert_clean taken "vifname of an existing interface"

# --- destroy removes the taps --------------------------------------------------------------
"$VNUMA" destroy --state-dir "$VT_STATE" net1 >/dev/null 2>&1
"$VNUMA" destroy --state-dir "$VT_STATE" net2 >/dev/null 2>&1
left=''
for _ in $(seq 50); do left=$(taps); [ -z "$left" ] && break; sleep 0.1; done
vt_check_eq "destroy: no tap is left in ns A" "$left" ""
vt_assert_clean net1 "destroy"

# --- a missing bridge: an error naming it, nothing left ------------------------------------
vt_create "$(mkcfg nobr "bridge=vnnosuch0" "")"
vt_check "missing bridge: create fails" [ $VT_RC -ne 0 ]
vt_check "missing bridge: the error names the domain, the vif and the bridge ($VT_OUT)" \
    grep -q "domain 'nobr': vif 0 ('bridge=vnnosuch0'): bridge 'vnnosuch0' does not exist" <<<"$VT_OUT"
vt_check_eq "missing bridge: no tap in ns A" "$(taps)" ""
vt_assert_clean nobr "missing bridge"
claims=$("$VNUMA" numainfo --state-dir "$VT_STATE" --json 2>/dev/null |
    python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(1 for x in json.dumps(d).split('nobr')) - 1)" 2>/dev/null)
vt_check_eq "missing bridge: numainfo shows no claim of it" "${claims:-error}" 0
# taps made, then QEMU fails to start: the tap goes with the failed create
printf '#!/bin/sh\necho "fake QEMU refuses" >&2\nexit 1\n' >"$VT_WORK/false-qemu"
chmod 755 "$VT_WORK/false-qemu"
VNUMA_QEMU=$VT_WORK/false-qemu vt_create "$(mkcfg qfail "bridge=$BR" "")"
vt_check_eq "QEMU fails after the tap was made: create fails, no tap left" "$VT_RC|$(taps)" "1|"
vt_assert_clean qfail "QEMU fails after the tap was made"
# vnuma killed once the held QEMU is recorded (the fault hook): the tap dies with both
VNUMA_FAULT=create.recorded vt_create "$(mkcfg qkill "bridge=$BR" "")"
left=''
for _ in $(seq 50); do left=$(taps); [ -z "$left" ] && break; sleep 0.1; done
vt_check_eq "vnuma killed with its tap open: no tap left" "$left" ""
"$VNUMA" destroy --state-dir "$VT_STATE" qkill >/dev/null 2>&1
# no bridge at all and no default_bridge: the error says what to set
printf 'qemu_user = "root"\n' >"$VT_WORK/nobridge.conf"
VNUMA_HOST_CONF=$VT_WORK/nobridge.conf vt_create "$(mkcfg nodef "" "")"
vt_check "no bridge, no default: the error says to set bridge= or default_bridge ($VT_OUT)" \
    grep -q "domain 'nodef': vif 0 ('') names no bridge; set 'bridge=' in the vif or default_bridge in $VT_WORK/nobridge.conf" <<<"$VT_OUT"
vt_assert_clean nodef "no bridge, no default"
VNUMA_HOST_CONF=$VT_WORK/missing.conf vt_create "$(mkcfg nodef "" "")"
vt_check "no bridge, no host config file: the error names the file to write ($VT_OUT)" \
    grep -q "or default_bridge in $VT_WORK/missing.conf" <<<"$VT_OUT"

# --- vif = [ '' ] with the host's default bridge: one NIC, the same MAC twice -------------
printf 'default_bridge = "%s"\n' "$BR" >"$VT_WORK/vnuma.conf"
export VNUMA_HOST_CONF=$VT_WORK/vnuma.conf
macs=''
for round in 1 2; do
    vt_create "$(mkcfg dflt "" "")"
    if [ $VT_RC -eq 0 ]; then vt_ok "default bridge ($round): create with vif = [ '' ] succeeds"; else
        vt_not_ok "default bridge ($round): create with vif = [ '' ] succeeds" "$VT_OUT"; fi
    pid=$(pid_of dflt "$VT_OUT")
    devs=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -c -x -- -netdev)
    on_br=$(ip -n "$NSA" -o link show master "$BR" type tun | wc -l)
    mac=$(qemu_arg "$pid" -device | sed -n 's/.*mac=\([0-9a-f:]*\).*/\1/p')
    vt_check_eq "default bridge ($round): one NIC, its tap on $BR, a generated 00:16:3e MAC" \
        "$devs|$on_br|${mac:0:9}" "1|1|00:16:3e:"
    macs="$macs $mac"
    "$VNUMA" destroy --state-dir "$VT_STATE" dflt >/dev/null 2>&1
done
read -r m1 m2 <<<"$macs"
vt_check_eq "default bridge: the same name gives the same MAC twice" "${m1:-none}" "${m2:-missing}"
left=''
for _ in $(seq 50); do left=$(taps); [ -z "$left" ] && break; sleep 0.1; done
vt_check_eq "default bridge: no tap left after destroy" "$left" ""

vt_finish
