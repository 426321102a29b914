#!/bin/sh
# /mn/inner-move (shipped by bench/vnumad/nested-move.sh; busybox sh in the 4-node TCG test
# host): how fast pages of a nested KVM guest move, by how many of its vCPUs are busy.  For
# 0, 1 and 2 busy vCPUs, a guest of 2 x 128 MiB on node 2 gets `vnuma migrate --vnode 0 --to 0`
# and `--vnode 1 --to 1`; each prints "csv,nested,BUSY,VNODE,MOVED_MIB,SECONDS,MIB_S,LONGEST_MS"
# (MiB/s of pages that were present and moved, not of the whole range).
export PATH=/bin:/usr/bin:/mn
export VNUMA_KERNEL=/mn/vmlinuz VNUMA_INITRAMFS=/mn/initramfs.cpio.gz XDG_CACHE_HOME=/tmp/cache
V=vnuma
. /mn/inner-lib.sh
for m in irqbypass kvm kvm-amd; do insmod "/mn/kvm/$m.ko" 2>/dev/null; done
[ -c /dev/kvm ] || { echo "# no /dev/kvm in the test host: nothing measured"; exit 0; }
mkdir -p /tmp/cache
for busy in 0 1 2; do
    case $busy in
    0) wl= ;;
    1) wl="vnuma.workload=0:24 vnuma.heartbeat_ms=500" ;;
    2) wl="vnuma.workload=0:24,1:24 vnuma.heartbeat_ms=500" ;;
    esac
    cat >/tmp/m.cfg <<CFG
name = "m$busy"
memory = 256
vcpus = 2
vnuma = [ [ "pnode=2", "size=128", "vcpus=0", "vdistances=10,12" ],
          [ "pnode=2", "size=128", "vcpus=1", "vdistances=12,10" ] ]
cmdline = "console=ttyS0 panic=-1 quiet $wl"
on_reboot = "destroy"
CFG
    $V create /tmp/m.cfg >/dev/null 2>&1 || { echo "# create m$busy failed"; continue; }
    if [ $busy = 0 ]; then
        sleep 20 # the guest boots and goes idle
    else
        wait_for 90 grep -q "VNUMA-WORKLOAD: vnode=$((busy - 1)) " "/run/vnuma/run/m$busy/console.log"
    fi
    for v in 0 1; do
        out=$($V migrate "m$busy" --vnode $v --to $v 2>&1 | tail -n 1)
        echo "# $busy busy: $out"
        echo "$out" | sed -n 's/.*(\([0-9]*\) on the target.* in \([0-9.]*\) s, .*longest call \([0-9.]*\) ms.*/\1 \2 \3/p' |
            awk -v b=$busy -v v=$v '{ mib = $1 * 4 / 1024
                printf "csv,nested,%d,%d,%.1f,%.2f,%.1f,%.0f\n", b, v, mib, $2, ($2 > 0 ? mib / $2 : 0), $3 }'
    done
    $V destroy "m$busy" >/dev/null 2>&1
done
