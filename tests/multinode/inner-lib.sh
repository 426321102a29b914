# shellcheck shell=sh
# /mn/inner-lib.sh: helpers shared by the inner test scripts (sourced; busybox sh).
# ok and notok print a TAP result line and also send it to the console as it happens
# (MN-DBG:), for a run that does not finish; notok counts $fails.  A caller that wants
# plain lines redefines them after sourcing.
res() { # res DESCRIPTION: the result of the command just before
    if [ $? = 0 ]; then ok "$1"; else notok "$1"; fi
}
check() { # check DESCRIPTION COMMAND...
    d=$1
    shift
    if "$@"; then ok "$d"; else notok "$d"; fi
}
now() { cut -d' ' -f1 /proc/uptime; }
dbg() { echo "MN-DBG: $(now) $*" >/dev/console 2>/dev/null; }
ok() {
    echo "ok - $*"
    dbg "ok - $*"
}
notok() {
    echo "not ok - $*"
    dbg "not ok - $*"
    fails=$((fails + 1))
}
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
wait_for() { # wait_for SECONDS COMMAND...: polls every $poll s (0.2), bounded by the clock
    wf_end=$(awk -v a="$(now)" -v t="$1" 'BEGIN { print a + t }')
    shift
    while awk -v a="$(now)" -v e="$wf_end" 'BEGIN { exit !(a < e) }'; do
        "$@" && return 0
        sleep "${poll:-0.2}"
    done
    "$@"
}
# MiB the claim of domain $1 holds on node $2: the record's placement.claim entries are the
# only objects with a "node" key followed by "memory_mib" (the test host has no python).
claim_mib() { awk -v n="$2" '
    /"node":/ { v = $0; gsub(/[^0-9]/, "", v); node = v }
    /"memory_mib":/ && node != "" { v = $0; gsub(/[^0-9]/, "", v); if (node == n) t += v }
    END { print t + 0 }' "/run/vnuma/domains/$1.json"; }
# The resident column of vnode $2 in `vnuma info` output $1: MiB on node $3, and the total.
mib_on() { echo "$1" | awk -v v="$2" -v n="$3" '
    $1 == v && $3 ~ /^[0-9]+$/ {
        line = $0; sub(/.*(bind|preferred|interleave) +[-0-9,]+ +/, "", line)
        cnt = split(line, parts, ", ")
        for (i = 1; i <= cnt; i++) {
            split(parts[i], f, /[: ]+/)
            if (f[2] == n) { print f[3]; exit }
        }
        print 0; exit
    }'; }
total_mib() { echo "$1" | awk -v v="$2" '
    $1 == v && $3 ~ /^[0-9]+$/ {
        line = $0; sub(/.*(bind|preferred|interleave) +[-0-9,]+ +/, "", line)
        cnt = split(line, parts, ", "); t = 0
        for (i = 1; i <= cnt; i++) { split(parts[i], f, /[: ]+/); t += f[3] }
        print t; exit
    }'; }
pnode_of() { echo "$1" | awk -v v="$2" '$1 == v && $3 ~ /^[0-9]+$/ { print $2; exit }'; }
