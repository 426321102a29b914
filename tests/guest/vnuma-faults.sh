#!/usr/bin/env bash
# Guest tier: the rest of the fault matrix (docs/RELIABILITY.md, "The fault matrix"), each cell
# a real guest and a real fault:
#   - `vnuma mem-move` killed at each of its steps: the next `list` says what is left, the next
#     `mem-move` or `vnumad --once` finishes it and says so; a vnumad killed while finishing;
#   - QEMU killed (kill -9) at each step of create and during a mem-move;
#   - the state dir's records full, the memory dir full;
#   - the host lock held by a process that died, and by one that lives;
#   - a record whose pid now belongs to an unrelated process.
# Arguments: VNUMA_EXE SOURCE_ROOT VNUMAD_EXE.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"
VNUMAD=${3:?usage: vnuma-faults.sh VNUMA_EXE SOURCE_ROOT VNUMAD_EXE}
mounts=()

cleanup_faults() {
    local m
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    vt_cleanup
}
trap cleanup_faults EXIT

# mkcfg NAME: a 1-vCPU, 128 MiB guest config in VT_WORK; prints its path.
mkcfg() {
    local f=$VT_WORK/$1.cfg
    printf 'name = "%s"\nmemory = 128\nvcpus = 1\nvnodes = 1\non_reboot = "destroy"\n' "$1" >"$f"
    echo "$f"
}

vn() { timeout 60 "$VNUMA" "$@"; } # the state dir: VNUMA_STATE_DIR, from vt_setup
state_of() { vn list 2>/dev/null | awk -v d="$1" '$1 == d { print $2 }'; }
# rec NAME EXPR: a Python expression over the record r (a dict); prints its value.
rec() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$VT_STATE/domains/$1.json" "$2" 2>/dev/null
}
# The claim the record holds and its migration entries, as "MiB|entries".
claim_and_moves() { rec "$1" 'str(sum(c["memory_mib"] for c in r["placement"]["claim"])) + "|" + str(len(r.get("extra", {}).get("migrations", {})))'; }

# start_stopped STEP ARGS...: runs `vnuma ARGS` in the background with VNUMA_FAULT=STEP:stop and
# waits (20 s at most) until it has stopped itself there; BG is its pid, 0 when it did not stop.
start_stopped() {
    local step=$1 i
    shift
    VNUMA_FAULT=$step:stop "$VNUMA" "$@" >"$VT_WORK/bg.out" 2>&1 &
    BG=$!
    for ((i = 0; i < 200; i++)); do
        grep -q '^State:[[:space:]]*T' "/proc/$BG/status" 2>/dev/null && return 0
        kill -0 "$BG" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$BG" 2>/dev/null
    wait "$BG" 2>/dev/null
    BG=0
    return 1
}
# finish_bg: lets the stopped command go on and waits for it (30 s at most); BG_RC, BG_OUT.
finish_bg() {
    local i
    kill -CONT "$BG"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$BG" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$BG" 2>/dev/null && kill -9 "$BG"
    wait "$BG"
    BG_RC=$?
    BG_OUT=$(cat "$VT_WORK/bg.out")
}

# --- 1. mem-move killed at each step ----------------------------------------------------------
vt_create "$(mkcfg mv)"
vt_check "mv: the guest starts" [ "$VT_RC" -eq 0 ]
vt_wait_console mv 'VNUMA-PROBE|login|/ #' 30 >/dev/null 2>&1 || sleep 3 # some memory touched
for step in mem-move.marked mem-move.moving mem-move.committed; do
    # --rate makes the 128 MiB take about 2 s, so that "moving" comes while pages remain.
    out=$(VNUMA_FAULT=$step timeout 60 "$VNUMA" mem-move --state-dir "$VT_STATE" mv --vnode 0 \
        --to 0 --rate 64 2>&1)
    vt_check "mv: mem-move killed at $step dies of SIGKILL (rc 137)" [ $? -eq 137 ]
    out=$(vn list 2>&1)
    if [ $step = mem-move.committed ]; then
        vt_check_eq "mv: after $step list says running, no warning, claim 128 MiB, no entry" \
            "$(state_of mv)|$(grep -c 'warning' <<<"$out")|$(claim_and_moves mv)" "running|0|128|0"
        continue
    fi
    vt_check "mv: after $step list says split and how to finish it" \
        grep -q "warning: domain 'mv': the move of vnode 0 to host node(s) 0 was left unfinished (moving by pid [0-9]*, which is gone); 'vnuma mem-move mv --vnode 0 --to 0' finishes it" <<<"$out"
    vt_check_eq "mv: after $step the record still claims 128 MiB once, with one entry" \
        "$(state_of mv)|$(claim_and_moves mv)" "split|128|1"
    if [ $step = mem-move.marked ]; then
        out=$(vn mem-move mv --vnode 0 --to 0 2>&1)
        vt_check "mv: the next mem-move takes over the unfinished move and says so" \
            grep -q "^domain 'mv': vnode 0: took over an unfinished move (moving by pid" <<<"$out"
    else
        # vnumad killed while it finishes the move (the same step, in its process) ...
        out=$(VNUMA_FAULT=mem-move.marked timeout 60 "$VNUMAD" --once --state-dir "$VT_STATE" 2>&1)
        vt_check "mv: vnumad --once killed while finishing the move dies of SIGKILL (rc 137)" \
            [ $? -eq 137 ]
        vt_check_eq "mv: after the killed vnumad the move is still unfinished, claim 128 MiB" \
            "$(state_of mv)|$(claim_and_moves mv)" "split|128|1"
        # ... and the next vnumad finishes it.
        out=$(timeout 60 "$VNUMAD" --once --state-dir "$VT_STATE" 2>&1)
        vt_check "mv: the next vnumad --once finishes the move and says so" \
            grep -q "Domain 'mv': the move of vnode 0 is finished" <<<"$out"
    fi
    vt_check_eq "mv: after $step is finished: running, claim 128 MiB, no entry, no warning" \
        "$(state_of mv)|$(claim_and_moves mv)|$(vn list 2>&1 | grep -c warning)" "running|128|0|0"
done

# --- 2. QEMU killed during a mem-move -----------------------------------------------------------
qpid=$(rec mv 'r["qemu_pid"]')
if start_stopped mem-move.marked mem-move --state-dir "$VT_STATE" mv --vnode 0 --to 0; then
    kill -9 "$qpid"
    finish_bg
    echo "# mem-move with its QEMU killed: rc $BG_RC: $BG_OUT"
    vt_check "qk-move: mem-move whose QEMU was killed fails naming the domain" \
        grep -q "domain 'mv'" <<<"$BG_OUT"
    vt_check "qk-move: mem-move exits non-zero" [ "$BG_RC" -ne 0 ]
    out=$(vn list 2>&1)
    vt_check_eq "qk-move: list says dead (no claim for a QEMU that is gone)" "$(state_of mv)" dead
    vt_check "qk-move: numainfo counts no claim for it" \
        python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(any(x.get("name")=="mv" and x.get("state")!="dead" for x in d.get("domains",[])))' \
        < <(vn numainfo --json 2>/dev/null)
    vn destroy mv >/dev/null 2>&1
    vt_assert_clean mv "qk-move: after destroy"
else
    vt_not_ok "qk-move: mem-move did not stop at mem-move.marked" "$(cat "$VT_WORK/bg.out")"
fi

# --- 3. QEMU killed at each step of create ------------------------------------------------------
for step in create.held create.recorded create.running; do
    n=qk-${step#create.}
    cfg=$(mkcfg "$n")
    if ! start_stopped "$step" create --state-dir "$VT_STATE" "$cfg"; then
        vt_not_ok "$n: create did not stop at $step" "$(cat "$VT_WORK/bg.out")"
        continue
    fi
    # Held or recorded, "QEMU" is the held child (not yet exec'd); running, QEMU itself.
    victim=$(pgrep -P "$BG" | head -n 1)
    kill -9 "$victim"
    finish_bg
    echo "# $n: create with its QEMU (pid $victim) killed at $step: rc $BG_RC: $(tail -n 1 <<<"$BG_OUT")"
    if [ $step = create.running ]; then
        # QEMU ran and died after `cont`, as it may at any later moment: create may say
        # started; the next list finds it dead and holds no claim for it; destroy cleans up.
        vt_check_eq "$n: list says dead" "$(state_of "$n")" dead
        out=$(vn destroy "$n" 2>&1)
        vt_check "$n: destroy cleans up after the dead QEMU" [ $? -eq 0 ]
        vt_assert_clean "$n" "$n: after destroy"
        continue
    fi
    vt_check "$n: create fails (rc $BG_RC) with an error naming the domain" \
        eval '[ "$BG_RC" -ne 0 ] && [ "$BG_RC" -lt 128 ] && grep -q "error: domain '"'$n'"'" <<<"$BG_OUT"'
    vn list >/dev/null 2>&1
    vt_assert_clean "$n" "$n: after the failed create and a list"
done

# --- 4. the state dir's records full, the memory dir full --------------------------------------
if [ "$(id -u)" -eq 0 ] && mkdir -p "$VT_STATE/domains" &&
    mount -t tmpfs -o size=64k,mode=700 vnuma-test "$VT_STATE/domains" 2>/dev/null; then
    mounts+=("$VT_STATE/domains")
    fill=$VT_STATE/domains/.fill
    # Filled to the last block; the mount is the test's own, 64 KiB.
    mountpoint -q "$VT_STATE/domains" && dd if=/dev/zero of="$fill" bs=4k count=64 2>/dev/null
    vt_create "$(mkcfg sfull)"
    echo "# state dir full: $(tail -n 1 <<<"$VT_OUT")"
    vt_check "sfull: create with the records dir full fails naming the domain and ENOSPC" \
        eval '[ "$VT_RC" -ne 0 ] && grep -q "domain '"'sfull'"'.*No space left on device" <<<"$VT_OUT"'
    vt_assert_clean sfull "sfull: refused"
    # Full after the record was written: the last write (running) fails.
    rm -f "$fill"
    if start_stopped create.running create --state-dir "$VT_STATE" "$(mkcfg sfull2)"; then
        mountpoint -q "$VT_STATE/domains" && dd if=/dev/zero of="$fill" bs=4k count=64 2>/dev/null
        finish_bg
        echo "# state dir full at create.running: rc $BG_RC: $(tail -n 1 <<<"$BG_OUT")"
        vt_check "sfull2: create whose last record write fails exits non-zero naming the domain" \
            eval '[ "$BG_RC" -ne 0 ] && grep -q "domain '"'sfull2'"'" <<<"$BG_OUT"'
        vn list >/dev/null 2>&1
        vt_assert_clean sfull2 "sfull2: after the failed create"
    else
        vt_not_ok "sfull2: create did not stop at create.running" "$(cat "$VT_WORK/bg.out")"
    fi
    rm -f "$fill"
    umount "$VT_STATE/domains" && mounts=()

    md=$VT_WORK/memfull
    mkdir -p "$md"
    if mount -t tmpfs -o size=16m,mode=755 vnuma-test "$md"; then
        mounts+=("$md")
        VNUMA_MEM_DIR=$md vt_create "$(mkcfg mfull)"
        echo "# memory dir full: $(tail -n 1 <<<"$VT_OUT")"
        vt_check "mfull: create with 16 MiB in the memory dir fails at once, naming the domain" \
            eval '[ "$VT_RC" -ne 0 ] && grep -q "domain '"'mfull'"' cannot be created: the memory directory .* has 16 MiB free on its file system, the guest.s memory needs 128 MiB" <<<"$VT_OUT"'
        VNUMA_MEM_DIR=$md vt_assert_clean mfull "mfull: refused"
        umount "$md" && mounts=()
    else
        vt_not_ok "mfull: cannot mount a tmpfs for the memory dir"
    fi
else
    for c in "sfull: records dir full" "sfull: refused" "sfull2: full at create.running" \
        "sfull2: after" "mfull: memory dir full" "mfull: refused"; do
        vt_skip "$c" "needs root to mount a small tmpfs (uid $(id -u))"
    done
fi

# --- 5. the host lock held by a process that died, and by one that lives ------------------------
lock=$VT_STATE/host.lock
# flock -o: flock itself holds the lock, its child (sleep) does not inherit it.
flock -o "$lock" sleep 300 &
holder=$!
sleep 0.5
child=$(pgrep -P "$holder")
kill -9 "$holder"
wait "$holder" 2>/dev/null
[ -n "$child" ] && kill "$child"
t0=$(vt_now_ms)
vt_create "$(mkcfg lk)"
vt_check "lock: with the holder killed (-9), create proceeds ($(($(vt_now_ms) - t0)) ms)" \
    [ "$VT_RC" -eq 0 ]
flock -o "$lock" sleep 300 &
holder=$!
sleep 0.5
child=$(pgrep -P "$holder")
t0=$(vt_now_ms)
out=$(vn destroy lk 2>&1)
rc=$?
ms=$(($(vt_now_ms) - t0))
echo "# destroy beside a live lock holder: rc $rc after $ms ms: $out"
vt_check "lock: a live holder makes destroy give up with a message naming the lock ($ms ms)" \
    eval '[ $rc -ne 0 ] && grep -q "the host lock .*host.lock. is held by .*gave up after 30000 ms" <<<"$out"'
# destroy stops its own QEMU before it takes the lock to remove the record: the record stays
# for the retry, as after destroy.stopped.
vt_check "lock: the record is kept for the retry while the lock is held" [ -f "$VT_STATE/domains/lk.json" ]
# Released while a command waits: it proceeds.
vn destroy lk >"$VT_WORK/lk.out" 2>&1 &
waiter=$!
sleep 1
kill "$holder" $child
wait "$holder" 2>/dev/null
wait "$waiter"
vt_check "lock: a destroy waiting for the lock proceeds once the holder goes" [ $? -eq 0 ]
vt_assert_clean lk "lock: after destroy"

# --- 6. a record whose pid now belongs to an unrelated process -----------------------------------
for how in start-differs start-matches; do
    n=reuse-${how#start-}
    vt_create "$(mkcfg "$n")"
    qpid=$(rec "$n" 'r["qemu_pid"]')
    kill -9 "$qpid"
    for ((i = 0; i < 50; i++)); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
    sleep 300 &
    other=$!
    start=$(awk '{print $22}' "/proc/$other/stat")
    python3 - "$VT_STATE/domains/$n.json" "$other" "$start" "$how" <<'EOF_PY'
import json, sys
p, pid, start, how = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = json.load(open(p))
r["qemu_pid"] = pid
if how == "start-matches":
    r["qemu_start"] = start
json.dump(r, open(p, "w"))
EOF_PY
    out=$(vn list 2>&1)
    vt_check_eq "$n: list says dead for a record whose pid is an unrelated sleep ($how)" \
        "$(state_of "$n")" dead
    out=$(vn destroy "$n" 2>&1)
    rc=$?
    echo "# destroy $n: $out"
    vt_check "$n: destroy finishes" [ $rc -eq 0 ]
    vt_check "$n: the unrelated process still lives" grep -Eq '^State:[[:space:]]+[RS]' "/proc/$other/status"
    vt_assert_clean "$n" "$n: after destroy"
    kill "$other"
    wait "$other" 2>/dev/null
done

vt_finish
