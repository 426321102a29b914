#!/usr/bin/env bash
# Guest tier: boots each topology of tests/guest/configs/ through `vnuma create` (the whole
# launch path: validation, placement, claim, record, QEMU, affinity), reads the guest's own
# view (VNUMA-PROBE-JSON on the console) and compares it with the config exactly: node
# count, CPUs per node, distances; memory per node within the kernel's reservation
# (check_view.py).  Each config says what to expect in a "# expect: MEMS VCPUMAP DIST" line.
. "$(dirname "$0")/vnuma-lib.sh"
vt_setup "$@"

# A failing create of the CPU-less topology is a SKIP only when this QEMU is known to refuse
# CPU-less nodes (vt_cpuless_limit names the version and QEMU's message); else it fails.
cpuless_limit=$(vt_cpuless_limit)
echo "# CPU-less nodes: ${cpuless_limit:-this QEMU accepts them}"
total_start=$(vt_now_ms)
for cfg in "$VT_DIR"/configs/*.cfg; do
    name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$cfg")
    read -r mems vcpumap dist < <(sed -n 's/^# expect: //p' "$cfg")
    t=${cfg##*/}
    t=${t%.cfg}
    start=$(vt_now_ms)
    vt_create "$cfg"
    if [ $VT_RC -ne 0 ]; then
        if [ "$t" = cpuless ] && [ -n "$cpuless_limit" ]; then
            vt_skip "$t: vnuma create" "$cpuless_limit"
            continue
        fi
        vt_not_ok "$t: vnuma create succeeds" "$VT_OUT"
        continue
    fi
    vt_ok "$t: vnuma create succeeds ($(echo "$VT_OUT" | grep -o 'accelerator: [a-z]*'))"
    if vt_wait_console "$name" 'VNUMA-PROBE-(JSON|ERROR)' "$VT_TIMEOUT"; then
        ms=$(($(vt_now_ms) - start))
        json=$(tr -d '\r' <"$(vt_console_log "$name")" | sed -n 's/.*VNUMA-PROBE-JSON: //p' | head -n 1)
        echo "# $t: create to guest answer $ms ms"
        echo "# $t: guest view $json"
        if [ -z "$json" ]; then
            vt_not_ok "$t: the guest printed its NUMA view" \
                "$(tr -d '\r' <"$(vt_console_log "$name")" | grep VNUMA-PROBE)"
        else
            while IFS= read -r line; do
                case $line in
                "ok "*) vt_ok "${line#ok - }" ;;
                "not ok "*) vt_not_ok "${line#not ok - }" ;;
                *) echo "$line" ;;
                esac
            done < <(python3 "$VT_DIR/check_view.py" "$t" "$mems" "$vcpumap" "$dist" "$json")
        fi
    else
        vt_not_ok "$t: the guest printed its NUMA view within $VT_TIMEOUT s" \
            "$(tr -d '\r' <"$(vt_console_log "$name")" 2>/dev/null | grep -v '^$' | tail -n 8)" \
            "$(cat "$VT_STATE/run/$name/qemu.log" 2>/dev/null | tail -n 3)"
    fi
    out=$(timeout 60 "$VNUMA" destroy --state-dir "$VT_STATE" "$name" 2>&1)
    vt_check "$t: vnuma destroy succeeds" [ $? -eq 0 ]
    [ -n "$out" ] && echo "# $out"
    vt_assert_clean "$name" "$t"
done
echo "# all topologies: $(($(vt_now_ms) - total_start)) ms"
vt_finish
