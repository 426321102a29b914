#!/usr/bin/env python3
"""Compares a guest's VNUMA-PROBE-JSON view with the topology QEMU was given; prints TAP lines.

usage: check_view.py NAME MEMS VCPUMAP DIST JSON
  MEMS     MiB per vnode, "2048,2048"
  VCPUMAP  vnode of each vCPU, "1,0,1,0" (xl's vnuma_vcpumap)
  DIST     distance matrix rows, "10,20;20,10"
  JSON     the guest's line after "VNUMA-PROBE-JSON: "

Guest node numbers are not the config's vnode numbers.  Linux numbers nodes in the order their
proximity domains first appear in the SRAT, and QEMU lists the CPUs first (by vCPU index), then
memory by node: so guest node 0 is the vnode of vCPU 0, the next new vnode among vCPUs 1..n is
guest node 1, and CPU-less vnodes follow in ascending order.  vnuma_vcpumap = [1, 0, 1, 0]
therefore shows vnode 1 as guest node 0.  The checks map config to guest through that order and
then compare exactly: node count, CPUs per node, every distance.

Memory is the one inexact value: a node's MemTotal excludes what the kernel reserved there.
Every node loses its struct pages (1/64 of its size); the kernel image (about 32 MiB) lands on
a random node (KASLR); vnode 0, which holds the low memory, also loses early reservations and,
when the guest has memory above 4 GiB, the 64 MiB swiotlb.  Measurements are in
tests/guest/README.md; the accepted loss is
    size/32 + 64 MiB   for every vnode,  plus 128 MiB more for vnode 0,
and a node may never report more than its configured size.
"""
import json
import sys


def main():
    if len(sys.argv) != 6:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    name, mems_s, map_s, dist_s, line = sys.argv[1:]
    mems = [int(x) for x in mems_s.split(",")]
    vcpumap = [int(x) for x in map_s.split(",")]
    dist = [[int(x) for x in row.split(",")] for row in dist_s.split(";")]
    n = len(mems)

    order = []  # order[g] = config vnode shown as guest node g
    for v in vcpumap + list(range(n)):
        if v not in order:
            order.append(v)

    results = []

    def check(ok, what, diag=None):
        results.append(("ok" if ok else "not ok") + f" - {name}: {what}")
        if diag and not ok:
            results.append(f"#   {diag}")

    try:
        view = json.loads(line)
        nodes = view["nodes"]
        got_dist = view["distances"]
    except (ValueError, KeyError, TypeError) as e:
        check(False, "the guest's JSON view parses", f"{e}: {line!r}")
        print("\n".join(results))
        return 0

    check(len(nodes) == n, f"the guest sees {n} nodes", f"it sees {len(nodes)}")
    if len(nodes) == n:
        for g, v in enumerate(order):
            want = [c for c, vv in enumerate(vcpumap) if vv == v]
            got = nodes[g]["cpus"]
            check(nodes[g]["node"] == g and got == want,
                  f"guest node {g} (vnode {v}) has CPUs {want}", f"it has {got}")
        want_dist = [[dist[order[i]][order[k]] for k in range(n)] for i in range(n)]
        check(got_dist == want_dist, f"the distance matrix is {want_dist} in guest node order",
              f"the guest reports {got_dist}")
        for g, v in enumerate(order):
            size, got = mems[v], nodes[g]["mem_mib"]
            allowed = size // 32 + 64 + (128 if v == 0 else 0)
            loss = size - got
            check(0 <= loss <= allowed,
                  f"guest node {g} (vnode {v}) has {got} of {size} MiB (loss {loss}, at most {allowed})",
                  f"the loss {loss} MiB is outside 0..{allowed}")
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
