#!/usr/bin/env python3
"""Compares a guest's VNUMA-PROBE-JSON view with the topology QEMU was given; prints TAP lines.

usage: check_view.py NAME MEMS VCPUMAP DIST JSON     (or --self-test: TAP, from the unit tier)
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
Measured (tests/guest/README.md; Debian cloud kernel, q35, TCG), the reservations are:
  - every node: its struct pages, 1/64 of its size, plus at most 2 MiB of node data;
  - vnode 0 (guest physical address 0): 1-2 MiB more of early reservations;
  - the vnode holding the top of low memory, when the guest has RAM above 4 GiB: the 64 MiB
    swiotlb (q35 keeps 2 GiB below 4 GiB once RAM reaches 2816 MiB, else all of it);
  - one node, KASLR's pick, or two when it straddles a boundary: the kernel image, 32 MiB.
The accepted loss of a node is its fixed part, size/64 + 8 MiB (+ 8 on vnode 0, + 64 for the
swiotlb), plus up to 40 MiB for the kernel image; and the parts beyond the fixed ones, summed
over all nodes, are at most one kernel image (40 MiB), since there is one.  A node may never
report more than its configured size.
"""
import json
import sys


KERNEL_MIB = 40  # the kernel image KASLR puts on some node: 32 MiB measured, 8 to spare
SWIOTLB_MIB = 64
Q35_LOWMEM_SPLIT = 2816  # MiB of RAM from which q35 keeps only 2 GiB below 4 GiB
Q35_LOWMEM = 2048


def reserved(mems):
    """The fixed part of each vnode's loss in MiB (all but the kernel image)."""
    total = sum(mems)
    lowmem = Q35_LOWMEM if total >= Q35_LOWMEM_SPLIT else total
    fixed, start = [], 0
    for v, size in enumerate(mems):
        r = size // 64 + 8 + (8 if v == 0 else 0)
        # The swiotlb is allocated top-down below 4 GiB: on the vnode that holds the top of
        # low memory, or spilling into the one before when that holds less than the swiotlb.
        end = start + size
        if total > lowmem and start < lowmem and end > lowmem - SWIOTLB_MIB - 8:
            r += SWIOTLB_MIB
        fixed.append(r)
        start = end
    return fixed


def verify(name, mems_s, map_s, dist_s, line):
    """The TAP lines (without numbers) for one guest view."""
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
        return results

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
        fixed = reserved(mems)
        extra = 0
        for g, v in enumerate(order):
            size, got = mems[v], nodes[g]["mem_mib"]
            allowed = fixed[v] + KERNEL_MIB
            loss = size - got
            extra += max(0, loss - fixed[v])
            check(0 <= loss <= allowed,
                  f"guest node {g} (vnode {v}) has {got} of {size} MiB (loss {loss}, at most {allowed})",
                  f"the loss {loss} MiB is outside 0..{allowed}")
        check(extra <= KERNEL_MIB,
              f"the losses beyond the fixed reservations add up to one kernel image at most "
              f"({extra} of {KERNEL_MIB} MiB)",
              f"{extra} MiB beyond the fixed reservations: more than one kernel image")
    return results


# Views measured here (2026-12-04, Debian cloud kernel 6.1, q35, TCG; tests/guest/README.md):
# (MEMS, VCPUMAP, loss per vnode in MiB).  They must pass; each doctored one must fail.
MEASURED = [
    ("2048,2048", "1,0,1,0", [98, 67]),
    ("2048,2048", "1,0,1,0", [130, 35]),
    ("512,512", "0,1", [42, 10]),
    ("512,512", "0,1", [10, 42]),
    ("128,256,384,256", "0,1,2,3", [4, 5, 7, 38]),
    ("128,256,384,256", "0,1,2,3", [4, 5, 39, 6]),
    ("256,256,256", "0,1,2", [38, 5, 6]),
    ("128,128,128,128,128,128,128,128", "0,1,2,3,4,5,6,7", [4, 3, 3, 3, 3, 3, 3, 36]),
    ("512", "0,0", [44]),
    ("256,256", "0,0", [38, 6]),
    ("256,256", "0,0", [6, 37]),
    ("1024,1024,1024,1024", "0,1,2,3", [50, 81, 17, 19]),
    ("1024,1024,1024,1024", "0,1,2,3", [18, 113, 17, 19]),
    ("128,1024", "0,1", [4, 50]),
]
DOCTORED = [
    ("vnode 0 of 256 MiB loses 70 (27%; the old bound let it lose 200)", "256,256", "0,0", [70, 6]),
    ("vnode 0 of 128 MiB shows 64 (a vnode of half the size)", "128,1024", "0,1", [64, 50]),
    ("two kernel images", "256,256,256", "0,1,2", [38, 37, 6]),
    ("a node shows more than its size", "512,512", "0,1", [42, -1]),
    ("the swiotlb on vnode 0 without RAM above 4 GiB", "1024,1024", "0,1", [16 + 64 + 3, 18]),
    ("vnode 1 swapped with vnode 0 (512 vs 768)", "768,512", "0,1", [768 - 512 + 10, 0]),
]


def view(mems, vcpumap, losses):
    """A VNUMA-PROBE-JSON line for MEMS/VCPUMAP whose nodes lose LOSSES (per vnode)."""
    n = len(mems)
    order = []
    for v in vcpumap + list(range(n)):
        if v not in order:
            order.append(v)
    nodes = [{"node": g, "cpus": [c for c, vv in enumerate(vcpumap) if vv == v],
              "mem_mib": mems[v] - losses[v]} for g, v in enumerate(order)]
    return json.dumps({"nodes": nodes, "distances": [[10 if i == k else 20 for k in range(n)]
                                                      for i in range(n)]})


def self_test():
    """TAP: the measured views pass, the doctored ones fail (the bound can fail)."""
    lines = []
    cases = [(f"measured {m} loss {l}", m, p, l, True) for m, p, l in MEASURED]
    cases += [(what, m, p, l, False) for what, m, p, l in DOCTORED]
    for i, (what, m, p, l, good) in enumerate(cases, 1):
        mems = [int(x) for x in m.split(",")]
        vmap = [int(x) for x in p.split(",")]
        dist = ";".join(",".join("10" if i2 == k else "20" for k in range(len(mems)))
                        for i2 in range(len(mems)))
        res = verify("t", m, p, dist, view(mems, vmap, l))
        failed = [r for r in res if r.startswith("not ok")]
        ok = not failed if good else bool(failed)
        lines.append(("ok" if ok else "not ok") +
                     f" {i} - check_view: {what}: {'accepted' if good else 'refused'}")
        if not ok:
            lines += ["#   " + r for r in (failed or res)]
    return [f"1..{len(cases)}"] + lines


def main():
    if sys.argv[1:] == ["--self-test"]:
        out = self_test()
        print("\n".join(out))
        return 1 if any(x.startswith("not ok") for x in out) else 0
    if len(sys.argv) != 6:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    print("\n".join(verify(*sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
