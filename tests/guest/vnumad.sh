#!/usr/bin/env bash
# Guest tier: vnumad against a private state dir with one running guest: `vnuma balance
# status` shows it, `once` runs a pass, pause/resume and on/off, metrics, the socket is
# owner-only and bounds requests, the lock file keeps a second vnumad out even without the
# socket, and after SIGKILL a restarted vnumad finds the record
# intact and the guest still running.  Arguments: VNUMA_EXE SOURCE_ROOT VNUMAD_EXE.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"
VNUMAD=${3:?usage: vnumad.sh VNUMA_EXE SOURCE_ROOT VNUMAD_EXE}
VD_PID=""

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
bal() { timeout 120 "$VNUMA" balance --state-dir "$VT_STATE" "$@"; }

start_vnumad() {
    "$VNUMAD" --state-dir "$VT_STATE" --interval 1 --log "$VT_WORK/vnumad.log" &
    VD_PID=$!
    for _ in $(seq 50); do
        [ -S "$VT_STATE/vnumad.sock" ] && bal status --json >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

stop_vnumad() {
    [ -n "$VD_PID" ] && kill "$VD_PID" 2>/dev/null && wait "$VD_PID" 2>/dev/null
    VD_PID=""
}
trap 'stop_vnumad; vt_cleanup' EXIT

cfg=$VT_WORK/bal.cfg
cat >"$cfg" <<'EOF_CFG'
name = "bal"
memory = 512
vcpus = 2
vnuma = [ [ "pnode=auto", "size=256", "vcpus=0", "vdistances=10,21" ],
          [ "pnode=auto", "size=256", "vcpus=1", "vdistances=21,10" ] ]
on_reboot = "destroy"
EOF_CFG
vt_create "$cfg"
if [ "$VT_RC" -ne 0 ]; then
    vt_not_ok "bal: vnuma create succeeds" "$VT_OUT"
    vt_finish
    exit 0
fi
vt_ok "bal: vnuma create succeeds"
qpid=$(echo "$VT_OUT" | sed -n "s/^domain 'bal' started (pid \([0-9]*\))$/\1/p")
vt_wait_console bal 'vnuma guest: 2 CPUs' 90
vt_check "bal: the guest reached its shell" [ $? -eq 0 ]

out=$(bal status 2>&1)
vt_check "status without vnumad says it is not running" \
    grep -q "vnumad is not running on '$VT_STATE'" <<<"$out"

vt_check "vnumad starts and answers on its socket" start_vnumad
vt_check "the control socket is a socket of mode 0600" \
    [ "$(stat -c '%F %a' "$VT_STATE/vnumad.sock")" = "socket 600" ]
vt_check "vnumad holds an owner-only lock file naming its pid" \
    [ "$(stat -c '%F %a' "$VT_STATE/vnumad.lock")|$(cat "$VT_STATE/vnumad.lock")" = "regular file 600|$VD_PID" ]
vt_check "vnumad logs kernel.numa_balancing at start" \
    grep -Eq 'kernel\.numa_balancing is (on|off|unknown)' "$VT_WORK/vnumad.log"

out=$(bal once 2>&1)
vt_check "balance once runs one pass over the domain" grep -q '^one pass over 1 domains' <<<"$out"
out=$(bal once --json)
vt_check "balance once --json has an actions array" \
    [ "$(json "type(d['actions']).__name__, d['ok']" <<<"$out")" = "list True" ]

st=$(bal status --json)
vt_check "status --json shows 'bal' running, balanced, not paused, with both vnodes resident" \
    [ "$(json "[(x['name'], x['running'], x['balance'], x['paused'], len(x['vnodes']), all(v['resident'] for v in x['vnodes'])) for x in d['domains']]" <<<"$st")" = \
    "[('bal', True, True, False, 2, True)]" ]
vt_check "status --json lists the vnode moves under way of 'bal' (a list)" \
    [ "$(json "type(d['domains'][0]['moving']).__name__" <<<"$st")" = list ]
vt_check "the spec stored in the record reads back: 'bal' may be re-placed" \
    [ "$(json "d['domains'][0]['replaceable']" <<<"$st")" = True ]
vt_check "status --json gives a locality between 0 and 100 %" \
    [ "$(json "0 <= d['domains'][0]['locality_pct'] <= 100" <<<"$st")" = True ]
out=$(bal status)
vt_check "status prints a table row for 'bal'" grep -Eq '^bal +running +on +no +[0-9.]+% +v0:n' <<<"$out"

bal pause bal >/dev/null
vt_check "pause bal: status shows the domain paused" \
    [ "$(bal status --json | json "d['domains'][0]['paused']")" = True ]
bal resume bal >/dev/null
vt_check "resume bal: status shows it balanced again" \
    [ "$(bal status --json | json "d['domains'][0]['paused']")" = False ]
out=$(bal pause)
paused=$(bal status --json | json "d['paused']")
vt_check_eq "pause (host): prints it and status says paused" \
    "$out|$paused" "balancing paused for the host|True"
bal resume >/dev/null
vt_check "resume (host): status says balancing" [ "$(bal status --json | json "d['paused']")" = False ]
out=$(bal pause nosuch 2>&1)
vt_check "pause of an unknown domain fails with a sentence" \
    grep -q "error: domain 'nosuch' does not exist$" <<<"$out"

out=$(bal bal off)
bal once >/dev/null
rec=$(json "d['extra']['balance']" <"$VT_STATE/domains/bal.json")
shown=$(bal status --json | json "d['domains'][0]['balance']")
vt_check_eq "bal off: kept in the record, status shows balance off after a pass" \
    "$out|record $rec|status $shown" "balancing of domain 'bal' is off|record False|status False"
bal bal on >/dev/null
bal once >/dev/null
vt_check "bal on: balanced again" [ "$(bal status --json | json "d['domains'][0]['balance']")" = True ]

m=$(bal metrics)
vt_check "metrics have the locality and memory of 'bal' in Prometheus text" \
    grep -Eq '^vnumad_domain_locality_ratio\{domain="bal"\} [0-9.]+$' <<<"$m"
vt_check "metrics count skipped actions by reason" \
    grep -Eq '^vnumad_actions_skipped_total\{domain="bal",reason="hysteresis"\} [0-9]+$' <<<"$m"

out=$(python3 - "$VT_STATE/vnumad.sock" <<'EOF_PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"launch"}\n')
print(s.makefile().readline().strip())
s.sendall(b"x" * 70000)
print(s.makefile().readline().strip())
EOF_PY
)
vt_check "a bad request gets an error reply; an oversize one an error and the connection closed" \
    [ "$out" = '{"ok":false,"error":"unknown command '"'"'launch'"'"'; the commands are status, pause, resume, once and metrics"}
{"ok":false,"error":"the request is longer than 65536 bytes; closing the connection"}' ]

before=$(cat "$VT_STATE/domains/bal.json")
kill -9 "$VD_PID"
wait "$VD_PID" 2>/dev/null
VD_PID=""
after=$(cat "$VT_STATE/domains/bal.json")
rec=changed
[ "$before" = "$after" ] && rec=unchanged
q="QEMU '$qpid' is gone"
[ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null && q="QEMU $qpid runs"
vt_check_eq "after SIGKILL of vnumad the record is unchanged and QEMU still runs" \
    "record $rec, $q" "record unchanged, QEMU $qpid runs"
vt_check "vnuma list still shows 'bal' running" \
    [ "$("$VNUMA" list --state-dir "$VT_STATE" --json | json "[(x['name'], x['state']) for x in d]")" = "[('bal', 'running')]" ]
vt_check "a restarted vnumad takes over the stale socket" start_vnumad
out=$(bal once)
vt_check "the restarted vnumad balances 'bal' again" grep -q '^one pass over 1 domains' <<<"$out"
vt_check "the guest still answers on its console" vt_wait_console bal 'vnuma guest: 2 CPUs' 5
stop_vnumad
vt_check "SIGTERM: vnumad exits and removes its socket" [ ! -e "$VT_STATE/vnumad.sock" ]

# One vnumad per state dir even when its socket is gone: the lock file says so.
start_vnumad
first=$VD_PID
rm -f "$VT_STATE/vnumad.sock"
out=$(timeout 10 "$VNUMAD" --state-dir "$VT_STATE" --log "$VT_WORK/vnumad2.log" 2>&1)
rc=$?
vt_check "with its socket removed, a second vnumad is refused naming the first's pid (exit 1)" \
    [ "$rc|$out" = "1|vnumad: error: another vnumad (pid $first) is running on '$VT_STATE': it holds '$VT_STATE/vnumad.lock'" ]
stop_vnumad

timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" bal >/dev/null 2>&1
vt_assert_clean bal "destroy"
vt_finish
