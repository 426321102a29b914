#!/usr/bin/env bash
# Guest tier: the domain's whole life after create (docs/ARCHITECTURE.md "The watcher"):
# the guest powers itself off (on_poweroff destroy and preserve), reboots (on_reboot restart:
# same QEMU, same pnodes), crashes (pvpanic, on_crash preserve); the watcher killed before a
# power-off (the next `list` cleans up); `vnuma shutdown` through the ACPI power button and its
# timeout path; pause/unpause stop and resume the guest's heartbeat.  Every wait is bounded.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"

VNUMA_REAL=$(readlink -f "$VNUMA")
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# mkcfg NAME [EXTRA LINES...]: a one-vnode, one-vCPU, 256 MiB config; prints its path.
mkcfg() {
    local name=$1 f=$VT_WORK/$1.cfg
    shift
    {
        echo "name = \"$name\""
        echo "memory = 256"
        echo "vcpus = 1"
        echo "vnodes = 1"
        printf '%s\n' "$@"
    } >"$f"
    echo "$f"
}

state_of() {
    "$VNUMA" list --state-dir "$VT_STATE" --json 2>/dev/null |
        json "next((x['state'] for x in d if x['name'] == '$1'), 'absent')"
}

claim_of() {
    "$VNUMA" numainfo --state-dir "$VT_STATE" --json 2>/dev/null |
        json "next((len(x['claim']) for x in d['domains'] if x['name'] == '$1'), 'absent')"
}

# wait_for SECONDS COMMAND...: polls every 0.2 s until the command succeeds; prints the
# seconds it took (or fails after SECONDS).
wait_for() {
    local limit=$1 t0
    shift
    t0=$(vt_now_ms)
    while [ $(($(vt_now_ms) - t0)) -lt $((limit * 1000)) ]; do
        if "$@"; then
            awk -v ms=$(($(vt_now_ms) - t0)) 'BEGIN { printf "%.1f\n", ms / 1000 }'
            return 0
        fi
        sleep 0.2
    done
    return 1
}

no_record() { [ ! -e "$VT_STATE/domains/$1.json" ]; }
no_qemu() { [ -z "$(vt_qemu_pids "$1")" ]; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
beats() { tr -d '\r' <"$(vt_console_log "$1")" 2>/dev/null | grep -c '^VNUMA-WORKLOAD: vnode=0 '; }
watchers() { pgrep -f -- "__watch --state-dir $VT_STATE $1\$" || true; }
no_watcher() { [ -z "$(watchers "$1")" ]; }
# assert_watcher_gone NAME WHAT: the watcher of NAME has exited (within 15 s).
assert_watcher_gone() {
    if wait_for 15 no_watcher "$1" >/dev/null; then
        vt_ok "$2: no watcher of '$1' is left"
    else
        vt_not_ok "$2: no watcher of '$1' is left" "still running: $(watchers "$1" | tr '\n' ' ')"
    fi
}
watcher_of() { json "d['extra'].get('watcher_pid', 0)" <"$VT_STATE/domains/$1.json" 2>/dev/null; }

# --- the guest powers itself off: on_poweroff = "destroy" (the default) ----------------
cfg=$(mkcfg off 'cmdline = "console=ttyS0 panic=-1 quiet vnuma.poweroff=1"')
vt_create "$cfg"
w=$(sed -n 's/^watcher: pid //p' <<<"$VT_OUT")
vt_check_eq "off: create starts its watcher, recorded in the record, running 'vnuma __watch'" \
    "$(watcher_of off)|$(tr '\0' ' ' <"/proc/${w:-0}/cmdline" 2>/dev/null)" \
    "${w:-none}|$VNUMA_REAL __watch --state-dir $VT_STATE off "
if secs=$(wait_for 30 no_record off); then
    vt_ok "off: within 30 s of its power-off the record is gone (${secs} s after create)"
else
    vt_not_ok "off: the record is gone within 30 s" "state: $(state_of off)" \
        "$(cat "$VT_STATE/run/off/watch.log" 2>/dev/null)"
fi
vt_check_eq "off: list no longer holds it" "$(state_of off)" absent
vt_check_eq "off: numainfo shows no claim for it" "$(claim_of off)" absent
vt_assert_clean off "off: the watcher destroyed it"
assert_watcher_gone off "off"

# --- on_poweroff = "preserve" ------------------------------------------------------------
cfg=$(mkcfg pres 'on_poweroff = "preserve"' 'cmdline = "console=ttyS0 panic=-1 quiet vnuma.poweroff=1"')
vt_create "$cfg"
vt_check "pres: create succeeds" [ $VT_RC -eq 0 ]
if secs=$(wait_for 30 state_is pres preserved); then
    vt_ok "pres: within 30 s list shows it preserved (${secs} s after create)"
else
    vt_not_ok "pres: list shows it preserved within 30 s" "state: $(state_of pres)"
fi
vt_check_eq "pres: no QEMU, the record stays, it holds no claim, the record says poweroff" \
    "$(no_qemu pres && echo noqemu)|$([ -e "$VT_STATE/domains/pres.json" ] && echo record)|$(claim_of pres)|$(json "d['extra'].get('stopped')" <"$VT_STATE/domains/pres.json" 2>/dev/null)" \
    "noqemu|record|0|poweroff"
vt_check "pres: the watcher's log says what it did" \
    grep -q 'poweroff: on_poweroff = "preserve": QEMU is gone, the record is kept as preserved' \
    "$VT_STATE/run/pres/watch.log"
vt_create "$cfg"
vt_check "pres: the preserved domain keeps its name until destroy" \
    grep -q "domain 'pres' already exists (preserved after its poweroff); remove it with 'vnuma destroy pres' first" <<<"$VT_OUT"
timeout 60 "$VNUMA" destroy --state-dir "$VT_STATE" pres >/dev/null 2>&1
vt_assert_clean pres "pres: destroy of the preserved domain"
assert_watcher_gone pres "pres"

# --- on_poweroff = "restart": QEMU pauses (shutdown=pause), the watcher resets it -------
# The guest powers off on every boot, so it restarts until destroyed: the test waits for two.
cfg=$(mkcfg por 'on_poweroff = "restart"' 'cmdline = "console=ttyS0 panic=-1 quiet vnuma.poweroff=1"')
vt_create "$cfg"
pid=$(sed -n "s/^domain 'por' started (pid \([0-9]*\))$/\1/p" <<<"$VT_OUT")
restarts() { grep -c 'poweroff: on_poweroff = "restart": reset and resumed in the same QEMU' "$VT_STATE/run/por/watch.log" 2>/dev/null; }
if secs=$(wait_for 60 eval '[ "$(restarts)" -ge 2 ]'); then
    vt_ok "por: the guest powered off and was restarted twice within 60 s (${secs} s)"
else
    vt_not_ok "por: two restarts within 60 s" "$(cat "$VT_STATE/run/por/watch.log" 2>/dev/null)"
fi
vt_check_eq "por: the same QEMU still runs it, and list says running" \
    "$(vt_qemu_pids por | tr '\n' ' ')|$(state_of por)" "${pid:-none} |running"
out=$(timeout 60 "$VNUMA" shutdown --timeout 30 --state-dir "$VT_STATE" por 2>&1)
vt_check "por: shutdown sees the power-off and says on_poweroff restarts it ('$out')" \
    grep -Eq "^domain 'por' powered off after [0-9.]+ s; on_poweroff restarts it in the same QEMU$" <<<"$out"
vt_check_eq "por: after shutdown the same QEMU still runs it" "$(vt_qemu_pids por | tr '\n' ' ')" "${pid:-none} "
timeout 60 "$VNUMA" destroy --state-dir "$VT_STATE" por >/dev/null 2>&1
vt_assert_clean por "por: destroy"
assert_watcher_gone por "por"

# --- on_reboot = "restart": vnuma reboot, same QEMU and pnodes; pause/unpause; shutdown --
cfg=$(mkcfg rb 'on_reboot = "restart"' \
    'cmdline = "console=ttyS0 panic=-1 quiet vnuma.workload=0:16 vnuma.heartbeat_ms=200"')
vt_create "$cfg"
vt_check "rb: create succeeds" [ $VT_RC -eq 0 ]
pid=$(sed -n "s/^domain 'rb' started (pid \([0-9]*\))$/\1/p" <<<"$VT_OUT")
pn0=$(json "d['placement']['vnodes'][0]['pnodes']" <"$VT_STATE/domains/rb.json" 2>/dev/null)
vt_wait_console rb 'vnuma guest: 1 CPUs' 60
vt_check "rb: the guest boots" [ $? -eq 0 ]
out=$(timeout 30 "$VNUMA" reboot --state-dir "$VT_STATE" rb 2>&1)
vt_check_eq "rb: vnuma reboot resets it" "$out" "domain 'rb' reset"
booted() { [ "$(tr -d '\r' <"$(vt_console_log rb)" | grep -c 'vnuma guest: 1 CPUs')" -ge 2 ]; }
if secs=$(wait_for 60 booted); then
    vt_ok "rb: the guest boots again within 60 s (${secs} s)"
else
    vt_not_ok "rb: the guest boots again within 60 s" "$(tail -n 5 "$(vt_console_log rb)")"
fi
vt_check_eq "rb: same QEMU, same pnodes, still running" \
    "$(vt_qemu_pids rb | tr '\n' ' ')|$(json "d['placement']['vnodes'][0]['pnodes']" <"$VT_STATE/domains/rb.json")|$(state_of rb)" \
    "$pid |$pn0|running"
vt_check "rb: the watcher saw the reset in place" \
    grep -q 'QEMU reset the guest in place (reason host-qmp-system-reset; on_reboot = "restart")' \
    "$VT_STATE/run/rb/watch.log"

wait_for 20 eval '[ "$(beats rb)" -ge 3 ]' >/dev/null
vt_check "rb: the guest's heartbeat runs (>= 3 beats)" [ "$(beats rb)" -ge 3 ]
out=$(timeout 30 "$VNUMA" pause --state-dir "$VT_STATE" rb 2>&1)
vt_check_eq "pause: says so, list shows paused" "$out|$(state_of rb)" "domain 'rb' paused|paused"
sleep 1
b0=$(beats rb)
sleep 3
b1=$(beats rb)
vt_check_eq "pause: no heartbeat in 3 s while paused" "$b1" "$b0"
out=$(timeout 30 "$VNUMA" unpause --state-dir "$VT_STATE" rb 2>&1)
vt_check_eq "unpause: says so, list shows running" "$out|$(state_of rb)" "domain 'rb' unpaused|running"
if secs=$(wait_for 20 eval '[ "$(beats rb)" -ge $((b1 + 3)) ]'); then
    vt_ok "unpause: the heartbeat resumes (3 more beats in ${secs} s)"
else
    vt_not_ok "unpause: the heartbeat resumes within 20 s" "beats: $b1 -> $(beats rb)"
fi
out=$(timeout 30 "$VNUMA" pause --state-dir "$VT_STATE" nosuch 2>&1)
vt_check_eq "pause: an unknown domain is an error naming it (exit 1)" "$?|$out" \
    "1|vnuma pause: error: domain 'nosuch' does not exist"

out=$(timeout 60 "$VNUMA" shutdown --wait --timeout 30 --state-dir "$VT_STATE" rb 2>&1)
vt_check "shutdown: the guest reacts to the ACPI power button ('$out')" \
    grep -Eq "^domain 'rb' powered off after [0-9.]+ s$" <<<"$out"
vt_assert_clean rb "shutdown: on_poweroff destroyed it"
assert_watcher_gone rb "shutdown"

# --- shutdown of a guest that ignores the power button: the timeout path -----------------
cfg=$(mkcfg deaf 'cmdline = "console=ttyS0 panic=-1 quiet vnuma.acpi=0"')
vt_create "$cfg"
vt_wait_console deaf 'vnuma guest: 1 CPUs' 60
vt_check "deaf: the guest boots" [ $? -eq 0 ]
t0=$(vt_now_ms)
out=$(timeout 60 "$VNUMA" shutdown --timeout 3 --json --state-dir "$VT_STATE" deaf 2>&1)
ms=$(($(vt_now_ms) - t0))
vt_check_eq "deaf: shutdown --timeout 3 destroys it and says so" \
    "$(json "(d['name'], d['outcome'], d['timeout_s'])" <<<"$out" 2>&1)" "('deaf', 'destroyed', 3)"
vt_check_eq "deaf: it took at least the 3 s timeout and under 15 s (${ms} ms)" \
    "$([ "$ms" -ge 3000 ] && echo long-enough)|$([ "$ms" -lt 15000 ] && echo bounded)" \
    "long-enough|bounded"
vt_assert_clean deaf "deaf: shutdown's timeout path"
assert_watcher_gone deaf "deaf"
out=$(timeout 10 "$VNUMA" shutdown --timeout 0 --state-dir "$VT_STATE" deaf 2>&1)
vt_check_eq "shutdown: --timeout 0 is a usage error (exit 2)" "$?" 2

# --- the watcher killed, then the guest powers off: the next list cleans up ------------
cfg=$(mkcfg kw 'cmdline = "console=ttyS0 panic=-1 quiet vnuma.poweroff=1"')
vt_create "$cfg"
w=$(sed -n 's/^watcher: pid //p' <<<"$VT_OUT")
kill -9 "$w" 2>/dev/null
gone() { ! kill -0 "$1" 2>/dev/null; }
vt_check "kw: the watcher (pid ${w:-none}) is killed" eval 'wait_for 5 gone "${w:-1}" >/dev/null'
if secs=$(wait_for 30 no_qemu kw); then
    vt_ok "kw: the guest powers off and QEMU exits without a watcher (${secs} s)"
else
    vt_not_ok "kw: QEMU exits within 30 s"
fi
vt_check "kw: the record is still there before list" [ -e "$VT_STATE/domains/kw.json" ]
err=$("$VNUMA" list --state-dir "$VT_STATE" 2>&1 >/dev/null)
vt_check "kw: list says what it found and did ('$err')" \
    grep -q "vnuma list: domain 'kw': its QEMU (pid [0-9]*) and its watcher (pid $w) are gone; taken as a poweroff: on_poweroff = \"destroy\": destroyed" <<<"$err"
vt_assert_clean kw "kw: list's clean-up"

# --- the guest crashes (pvpanic): on_crash = "preserve" ----------------------------------
cfg=$(mkcfg cr 'on_crash = "preserve"' 'cmdline = "console=ttyS0 panic=-1 quiet vnuma.crash=1"')
vt_create "$cfg"
if secs=$(wait_for 30 state_is cr preserved); then
    vt_ok "cr: within 30 s the crashed guest is preserved (${secs} s)"
else
    vt_not_ok "cr: the crashed guest is preserved within 30 s" "state: $(state_of cr)" \
        "$(cat "$VT_STATE/run/cr/watch.log" 2>/dev/null)"
fi
vt_check_eq "cr: the record says crash; the watcher saw GUEST_PANICKED" \
    "$(json "d['extra'].get('stopped')" <"$VT_STATE/domains/cr.json" 2>/dev/null)|$(grep -c 'QEMU reported GUEST_PANICKED' "$VT_STATE/run/cr/watch.log" 2>/dev/null)" \
    "crash|1"
timeout 60 "$VNUMA" destroy --state-dir "$VT_STATE" cr >/dev/null 2>&1
vt_assert_clean cr "cr: destroy"
assert_watcher_gone cr "cr"

vt_finish
