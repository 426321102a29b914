#!/usr/bin/env bash
# Guest tier: the defects a hostile probe found (docs/RELIABILITY.md), each as a real create
# of a small guest:
#   - guest RAM is never readable by another user, even when the memory root is theirs and
#     they swap directories during the create;
#   - one name in two state dirs shares no memory file;
#   - a create killed at each of its steps leaves no QEMU that nobody knows of;
#   - destroy signals only the QEMU vnuma started for that domain, and unlinks only its files;
#   - a FIFO in place of a record hangs nothing.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"

# mkcfg NAME: a 1-vCPU, 128 MiB guest config in VT_WORK; prints its path.
mkcfg() {
    local f=$VT_WORK/$1.cfg
    printf 'name = "%s"\nmemory = 128\nvcpus = 1\nvnodes = 1\non_reboot = "destroy"\n' "$1" >"$f"
    echo "$f"
}

# mem_file PID: the vnode0 memory file QEMU PID maps, as /proc/PID/maps names it.
mem_file() {
    awk '$6 ~ /\/vnode0( \(deleted\))?$/ {print $6, $7; exit}' "/proc/$1/maps" 2>/dev/null
}

# qemu_uid PID: the uid QEMU PID runs as (a root vnuma's qemu_user, docs/CONFIG.md), which owns
# its memory files.
qemu_uid() {
    awk '$1 == "Uid:" {print $2; exit}' "/proc/$1/status" 2>/dev/null
}

# wait_gone NAME CONFIG SECONDS: waits until no QEMU of NAME runs and no process still carries
# the create's command line (a held child is a fork of `vnuma create CONFIG`); 0 when none is.
wait_gone() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ -z "$(vt_qemu_pids "$1")" ] && ! pgrep -f -- "$2" >/dev/null && return 0
        sleep 0.1
    done
    pgrep -af -- "$2" | sed 's/^/# still running: /'
    return 1
}

other=65534
can_switch_user=no
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid $other --regid $other --clear-groups true 2>/dev/null; then
    can_switch_user=yes
fi

# --- 1. another user's memory root, swapped under the create -------------------------------
if [ $can_switch_user = yes ]; then
    # Under /tmp (not VT_WORK, which is 0700) so that uid $other can reach it.
    mb=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-memroot.XXXXXX")
    chown $other:$other "$mb" && chmod 0777 "$mb"
    # Their own dir where vnuma's per-user dir would go: refused, nothing made.
    setpriv --reuid $other --regid $other --clear-groups mkdir -m 0777 "$mb/vnuma-$(id -u)"
    VNUMA_MEM_DIR=$mb vt_create "$(mkcfg ram)"
    vt_check "ram: a memory root level owned by uid $other is refused" \
        grep -q "belongs to uid $other or is writable by others" <<<"$VT_OUT"
    vt_check "ram: the refused create exits non-zero" [ "$VT_RC" -ne 0 ]
    vt_assert_clean ram "ram: refused"
    rm -rf "${mb:?}"/*

    # The attacker swaps every directory it can in its root while vnuma creates, for at most
    # 20 s; the guest either starts with memory no one else can read or is refused.
    stop=$VT_WORK/stop-swapping
    setpriv --reuid $other --regid $other --clear-groups bash -c '
        end=$((SECONDS + 20)); i=0
        while [ ! -e "$2" ] && [ $SECONDS -lt $end ] && [ $i -lt 200000 ]; do
            for d in "$1"/*; do
                [ -d "$d" ] || continue
                mv "$d" "$1/x$i" 2>/dev/null && mkdir -m 777 "$d" 2>/dev/null
                i=$((i + 1))
            done
        done
        echo $i >"$1/.swaps"' swapper "$mb" "$stop" &
    swapper=$!
    won=0 refused=0 started=0
    for try in 1 2 3; do
        VNUMA_MEM_DIR=$mb vt_create "$(mkcfg ram$try)"
        if [ "$VT_RC" -eq 0 ]; then
            started=$((started + 1))
            pid=$(vt_qemu_pids "ram$try" | head -n 1)
            read -r file deleted < <(mem_file "$pid")
            if [ -z "$file" ] ||
                setpriv --reuid $other --regid $other --clear-groups head -c 1 "$file" >/dev/null 2>&1 ||
                [ "$(stat -c '%u %a' "$file" 2>/dev/null)" != "$(qemu_uid "$pid") 600" ]; then
                won=$((won + 1))
                echo "# ram$try: memory file '$file' $(stat -c '%U %a' "$file" 2>&1)"
            fi
            timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" "ram$try" >/dev/null 2>&1
        else
            refused=$((refused + 1))
            echo "# ram$try refused: $(tail -n 1 <<<"$VT_OUT")"
        fi
    done
    touch "$stop"
    wait $swapper
    swaps=$(cat "$mb/.swaps" 2>/dev/null)
    echo "# swapping: ${swaps:-no} directory swaps; $started started, $refused refused"
    vt_check "ram: uid $other really swapped directories during the creates" [ "${swaps:-0}" -gt 0 ]
    vt_check "ram: under directory swaps, no guest's memory was readable by uid $other ($won of 3)" \
        [ $won -eq 0 ]
    rm -rf "$mb"
else
    vt_skip "ram: another user's memory root" "needs root and setpriv to act as uid $other (uid $(id -u))"
    vt_skip "ram: the refused create exits non-zero" "needs root and setpriv"
    vt_skip "ram: refused: nothing is left" "needs root and setpriv"
    vt_skip "ram: directory swaps" "needs root and setpriv"
fi

# --- 2. one name, two state dirs --------------------------------------------------------------
S2=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-guest-state2.XXXXXX")
chmod 700 "$S2"
cfg=$(mkcfg twin)
vt_create "$cfg"
rc1=$VT_RC
VT_OUT=$(timeout "$VT_TIMEOUT" "$VNUMA" create --state-dir "$S2" "$cfg" 2>&1)
rc2=$?
vt_check "twin: the same name starts in two state dirs" test "$rc1" -eq 0 -a "$rc2" -eq 0
pids=$(vt_qemu_pids twin | tr '\n' ' ')
p1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["qemu_pid"])' "$VT_STATE/domains/twin.json" 2>/dev/null)
p2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["qemu_pid"])' "$S2/domains/twin.json" 2>/dev/null)
read -r f1 d1 < <(mem_file "$p1")
read -r f2 d2 < <(mem_file "$p2")
echo "# twin: QEMUs $pids; memory files '$f1' '$f2'"
vt_check "twin: the two guests map different memory files, neither deleted" \
    test -n "$f1" -a -n "$f2" -a "$f1" != "$f2" -a -z "$d1$d2"
timeout 30 "$VNUMA" destroy --state-dir "$S2" twin >/dev/null 2>&1
read -r f1 d1 < <(mem_file "$p1")
vt_check "twin: destroying one leaves the other's memory file in place" \
    test -n "$f1" -a -z "$d1" -a -f "$f1"
timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" twin >/dev/null 2>&1
rm -rf "$S2"

# --- 3. a create killed at each step ---------------------------------------------------------
for step in create.held create.recorded create.running; do
    n=kill-${step#create.}
    cfg=$(mkcfg "$n")
    VNUMA_FAULT=$step vt_create "$cfg"
    vt_check "$n: create killed at $step dies of SIGKILL (rc 137)" [ "$VT_RC" -eq 137 ]
    if [ $step = create.running ]; then
        # QEMU runs and its pid is recorded: the record leads destroy to it.
        vt_check "$n: list shows the recorded QEMU" \
            grep -Eq "^$n +creating" <<<"$("$VNUMA" list --state-dir "$VT_STATE")"
    else
        vt_check "$n: the held QEMU exits by itself (no orphan)" wait_gone "$n" "$cfg" 10
    fi
    out=$(timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" "$n" 2>&1)
    vt_check "$n: destroy cleans up after the killed create" [ $? -eq 0 ]
    vt_assert_clean "$n" "$n: after destroy"
done

# --- 3b. a destroy killed at each step, then a corrupted and a truncated record ----------------
for step in destroy.stopped destroy.files; do
    n=kd-${step#destroy.}
    vt_create "$(mkcfg "$n")"
    out=$(VNUMA_FAULT=$step timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" "$n" 2>&1)
    vt_check "$n: destroy killed at $step dies of SIGKILL (rc 137)" [ $? -eq 137 ]
    vt_check "$n: list then says dead (QEMU gone, record kept for the retry)" \
        grep -Eq "^$n +dead" <<<"$("$VNUMA" list --state-dir "$VT_STATE")"
    out=$(timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" "$n" 2>&1)
    vt_check "$n: a second destroy finishes the job" [ $? -eq 0 ]
    vt_assert_clean "$n" "$n: after the second destroy"
done
for how in corrupt truncated; do
    n=rec-$how
    vt_create "$(mkcfg "$n")"
    rec=$VT_STATE/domains/$n.json
    if [ $how = corrupt ]; then printf '{"version": 1, "name": ' >"$rec"; else : >"$rec"; fi
    out=$(timeout 20 "$VNUMA" list --state-dir "$VT_STATE" 2>&1)
    vt_check "$n: list shows the $how record as corrupt" grep -Eq "^$n +corrupt" <<<"$out"
    vt_create "$(mkcfg "$n-next")"
    vt_check "$n: a create refuses while a record it cannot read may hold a claim" \
        grep -q "state record" <<<"$VT_OUT"
    qpid=$(vt_qemu_pids "$n" | head -n 1)
    vt_check "$n: list names its QEMU (pid $qpid) as an orphan with a way to stop it" \
        grep -q "QEMU pid $qpid runs for '$n' of this state dir, but no readable record leads to it; vnuma leaves it alone: stop it with 'kill $qpid'" <<<"$out"
    vt_check "$n: list --json gives the orphan's pid" \
        grep -q "\"pid\": *$qpid" <<<"$(timeout 20 "$VNUMA" list --state-dir "$VT_STATE" --json 2>/dev/null)"
    # The operator's way out: stop the QEMU (vnuma will not: the record no longer says which),
    # remove the record, and the next create works.
    kill "$qpid"
    rm -f "$rec"
    rm -rf "$VT_STATE/run/$n"
    compgen -G "/dev/shm/vnuma-$(id -u)/st-*/$n" >/dev/null && rm -rf /dev/shm/vnuma-"$(id -u)"/st-*/"$n"
    vt_create "$(mkcfg "$n-next")"
    vt_check "$n: with the record removed the next create starts" [ "$VT_RC" -eq 0 ]
    timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" "$n-next" >/dev/null 2>&1
done

# --- 4. destroy trusts only what it derives --------------------------------------------------
vt_create "$(mkcfg victim)"
vpid=$(vt_qemu_pids victim | head -n 1)
decoy=$VT_WORK/decoy
mkdir -p "$decoy" && echo keep >"$decoy/vnode0"
# A forged record: another name, the victim's pid and start time, its QMP socket, a decoy dir.
python3 - "$VT_STATE/domains/victim.json" "$VT_STATE/domains/forged.json" "$decoy" <<'EOF_PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["name"] = "forged"
r["status"] = "running"
r.setdefault("extra", {})["mem_dir"] = sys.argv[3]
json.dump(r, open(sys.argv[2], "w"))
EOF_PY
chmod 600 "$VT_STATE/domains/forged.json"
out=$(timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" forged 2>&1)
echo "# destroy forged: $out"
sleep 1 # a QEMU told to quit takes a moment to go
vt_check "forged: destroy of a record naming another domain's QEMU leaves that QEMU running" \
    grep -Eq '^State:[[:space:]]+[RS]' "/proc/$vpid/status"
vt_check "forged: the victim still answers on its QMP socket" \
    grep -Eq "^victim +running" <<<"$("$VNUMA" list --state-dir "$VT_STATE")"
vt_check "forged: destroy says it left the process alone" grep -q "left alone" <<<"$out"
vt_check "forged: the decoy dir named by the record keeps its file" test -f "$decoy/vnode0"

# --- 5. a FIFO in place of a record -----------------------------------------------------------
mkfifo "$VT_STATE/domains/fifo.json"
out=$(timeout 20 "$VNUMA" list --state-dir "$VT_STATE" 2>&1)
vt_check "fifo: list finishes" [ $? -eq 0 ]
vt_check "fifo: list still shows the victim" grep -q '^victim' <<<"$out"
vt_check "fifo: list marks the FIFO corrupt" grep -Eq '^fifo +corrupt' <<<"$out"
out=$(timeout 20 "$VNUMA" destroy --state-dir "$VT_STATE" fifo 2>&1)
vt_check "fifo: destroy finishes with an error naming the file" \
    grep -q "fifo.json' is not a regular file" <<<"$out"
rm -f "$VT_STATE/domains/fifo.json"
timeout 30 "$VNUMA" destroy --state-dir "$VT_STATE" victim >/dev/null 2>&1
vt_assert_clean victim "victim: after destroy"

vt_finish
