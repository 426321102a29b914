#!/bin/sh
# Guest tier: boots vNUMA topologies with QEMU directly (no vnuma CLI) and checks that the
# guest kernel sees exactly what QEMU was told: node count, CPUs per node, distances, and
# memory per node within the kernel's reservations.  This pins down the guest image and the
# QEMU arguments the launcher will generate.  TAP; see lib.sh and check_view.py.
. "${VNUMA_GUEST_TESTS:?run through meson test}/lib.sh"

vn_guest_setup

# The seed example: vnuma_vcpumap = [1, 0, 1, 0], two 2 GiB vnodes, distances 10/20.
vn_boot_check seed 2048,2048 1,0,1,0 "10,20;20,10"
# Four uneven vnodes with an asymmetric matrix; sizes cross no 4 GiB boundary.
vn_boot_check uneven4 512,1024,256,768 0,1,2,3,3 "10,16,22,28;17,10,23,29;24,25,10,31;30,32,33,10"

# The human view, the virtio modules and the per-vnode workload of the guest image.
vn_boot demo 512,512 0,1 "10,21;21,10" \
    "vnuma.modules=1 vnuma.probe=demo vnuma.workload=0:32:2,1:32:2 vnuma.heartbeat_ms=500 vnuma.poweroff=1"
echo "# demo: QEMU launch to exit $VN_MS ms ($VN_ACCEL)"
# SeaBIOS's screen-clearing escapes may precede the first line.
vn_expect demo 'available: 2 nodes \(0-1\)$' "vnuma-probe hardware prints numactl's first line"
vn_expect demo '^node 1 cpus: 1$' "and the CPUs of node 1"
vn_expect demo '^  1:  21  10 $' "and the distance table"
vn_expect demo '^VNUMA-WORKLOAD: vnode=0 t=[0-9.]+ passes=[0-9]+ mib_per_s=[0-9.]+$' "the vnode 0 workload beats"
vn_expect demo '^VNUMA-WORKLOAD: done vnode=1 ' "the vnode 1 workload finishes"
if grep -q 'VNUMA-INIT-ERROR' "$VN_LOG"; then
    vn_tap "not ok - demo: /init loaded the virtio modules"
    grep 'VNUMA-INIT-ERROR' "$VN_LOG" | sed 's/^/#   /'
else
    vn_tap "ok - demo: /init loaded the virtio modules"
fi
vn_tap "$([ $VN_RC -eq 0 ] && echo ok || echo not ok) - demo: vnuma.poweroff=1 powered the guest off (status $VN_RC)"

vn_guest_finish
