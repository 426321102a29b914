#!/usr/bin/env python3
"""Writes the library of real-looking hosts in tests/data/hosts/ (vnuma JSON host format).

The generated files are the test data and are committed; this script only documents how
they were made.  CPUs are numbered as Linux does on x86: the first thread of every core,
package by package, then the second threads in the same order (POWER: a core's threads are
consecutive).

usage: gen-hosts.py [VNUMA]   -- with the vnuma binary, files are rewritten in the exact
                                 form `vnuma topology --json` prints (the round-trip form).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GIB = 1024


def host(name, packages, nodes_per_pkg, cores_per_node, smt, mem_mib, dist,
         free_mib=None, node_ids=None, memonly=(), pci=(), node_cores=None, consecutive=False):
    """memonly: (node_id, mem_mib, free_mib or None) for CPU-less nodes, listed after
    the CPU nodes; dist(i, j) takes indexes into the final node list.  consecutive: a
    core's threads have consecutive numbers (POWER) instead of x86's numbering."""
    ncpu_nodes = packages * nodes_per_pkg
    node_ids = list(node_ids or range(ncpu_nodes))
    cores = node_cores or [cores_per_node] * ncpu_nodes
    total_cores = sum(cores)
    nodes, cpus = [], []
    core = 0
    for n in range(ncpu_nodes):
        pkg = n // nodes_per_pkg
        ids = []
        for c in range(cores[n]):
            for t in range(smt):
                cpu = core * smt + t if consecutive else t * total_cores + core
                ids.append(cpu)
                cpus.append({"cpu": cpu, "node": node_ids[n], "package": pkg,
                             "core": core, "smt": t})
            core += 1
        node = {"node": node_ids[n], "package": pkg,
                "memory_mib": mem_mib[n] if isinstance(mem_mib, list) else mem_mib}
        if free_mib is not None:
            node["free_mib"] = free_mib[n] if isinstance(free_mib, list) else free_mib
        node["cpus"] = ids
        nodes.append(node)
    for nid, mem, free in memonly:
        node = {"node": nid, "package": None, "memory_mib": mem}
        if free is not None:
            node["free_mib"] = free
        node["cpus"] = ""
        nodes.append(node)
    cpus.sort(key=lambda c: c["cpu"])
    nn = len(nodes)
    return {"name": name, "nodes": nodes,
            "distances": [[dist(i, j) for j in range(nn)] for i in range(nn)],
            "pci": list(pci), "cpus": cpus}


def sym(local, same_pkg, remote, per_pkg):
    def d(i, j):
        if i == j:
            return local
        return same_pkg if i // per_pkg == j // per_pkg else remote
    return d


def matrix(rows):
    return lambda i, j: rows[i][j]


def write(fname, h):
    with open(os.path.join(HERE, fname), "w") as f:
        json.dump(h, f, indent=2, separators=(",", ":"))
        f.write("\n")


def interleaved(h):
    """Node interleaving: Linux sees one node holding every package's CPUs and memory."""
    first = h["nodes"][0]
    first["cpus"] = sorted(c for n in h["nodes"] for c in n["cpus"])
    first["memory_mib"] = sum(n["memory_mib"] for n in h["nodes"])
    h["nodes"] = [first]
    h["distances"] = [[10]]
    for c in h["cpus"]:
        c["node"] = first["node"]
    return h


def hierarchy(levels, remote_top):
    """Distance by the size of the smallest group holding both nodes: levels is a list of
    (group size, distance) from the smallest group up."""
    def d(i, j):
        if i == j:
            return 10
        for size, dist in levels:
            if i // size == j // size:
                return dist
        return remote_top
    return d


HOSTS = {
    # A laptop: 4 cores / 8 threads, 16 GiB of which the firmware keeps some.
    "laptop-1n.json": host("laptop, Intel Core i7-1185G7, 1 node", 1, 1, 4, 2, 15731,
                           sym(10, 10, 10, 1), free_mib=9212),
    # Arm server, 64 cores without SMT, one node.
    "arm-1s-64c.json": host("Ampere Altra Q64-30, 1 socket, 64 cores", 1, 1, 64, 1, 257452,
                            sym(10, 10, 10, 1)),
    # The classic two-socket Xeon: SLIT 10/21, 2 x 24 cores with HT, 192 GiB per node.
    "intel-2s-xeon.json": host("2-socket Intel Xeon Platinum 8260, 192 GiB per node", 2, 1, 24, 2,
                         [192931, 196608], sym(10, 10, 21, 1)),
    # Same machine with sub-NUMA clustering: two nodes per package, 11 inside a package.
    "xeon-2s-snc2.json": host("2-socket Intel Xeon Gold 6248 with SNC2", 2, 2, 10, 2,
                              [95990, 96760, 96760, 96760], sym(10, 11, 21, 2),
                              free_mib=[80211, 90872, 91006, 95480]),
    # Node interleaving enabled in the BIOS: one node spanning both packages.
    "xeon-2s-interleaved.json": interleaved(host(
        "2-socket Intel Xeon E5-2680 v4, node interleaving on", 2, 1, 14, 2, 128831,
        sym(10, 10, 21, 1))),
    # Four sockets, every socket one QPI hop from every other.
    "xeon-4s.json": host("4-socket Intel Xeon E7-8890 v4, fully connected", 4, 1, 24, 2, 262144,
                         sym(10, 10, 21, 1)),
    # Four sockets in a ring: neighbours 20, the opposite socket 30.
    "ring-4s.json": host("4-socket ring, glued, 10/20/30", 4, 1, 16, 2, 131072,
                         lambda i, j: 10 + 10 * min((i - j) % 4, (j - i) % 4)),
    # Opteron 6200 (G34): two dies per package, each a node; 16 or 22 across HyperTransport.
    "opteron-4s.json": host("4-socket AMD Opteron 6276 (G34), 8 nodes", 4, 2, 8, 1, 32768,
                            lambda i, j: 10 if i == j else
                            16 if i // 2 == j // 2 or i % 2 == j % 2 else 22),
    # EPYC Rome, one socket in NPS4: four quadrants, 11 to the neighbour, 12 across.
    "epyc-1s-nps4.json": host("1-socket AMD EPYC 7742, NPS4", 1, 4, 16, 2, 64386,
                              matrix([[10, 11, 12, 12], [11, 10, 12, 12],
                                      [12, 12, 10, 11], [12, 12, 11, 10]]),
                              free_mib=[51200, 60000, 62000, 63900]),
    # EPYC Milan, two sockets in NPS4: 10/11/12 inside a socket, 32 across xGMI.
    "epyc-2s-nps4.json": host("2-socket AMD EPYC 7763, NPS4", 2, 4, 16, 2, 64386,
                              lambda i, j: 32 if i // 4 != j // 4 else
                              [[10, 11, 12, 12], [11, 10, 12, 12],
                               [12, 12, 10, 11], [12, 12, 11, 10]][i % 4][j % 4]),
    # An EPYC-like four-socket NPS4 host: 16 nodes, 10/11/12 in a socket, 32 across.
    "epyc-like-4s-nps4.json": host("EPYC-like 4 sockets x NPS4, 16 nodes", 4, 4, 8, 2, 32768,
                                   lambda i, j: 32 if i // 4 != j // 4 else
                                   [[10, 11, 12, 12], [11, 10, 12, 12],
                                    [12, 12, 10, 11], [12, 12, 11, 10]][i % 4][j % 4]),
    # SGI UV 2000-like: 16 blades of 2 sockets, 8 blades per IRU: a hierarchy of distances.
    "uv-32n.json": host("SGI UV 2000-like, 32 sockets in 2 IRUs", 32, 1, 8, 2, 65536,
                        hierarchy([(2, 13), (16, 40)], 48), free_mib=60000),
    # SGI UV 3000 / HPE Superdome-like: blades of 2, chassis of 16, racks of 32 sockets.
    "uv-64n.json": host("SGI UV 3000-like, 64 sockets in 2 racks", 64, 1, 10, 2, 131072,
                        hierarchy([(2, 16), (16, 32), (32, 45)], 55)),
    # Two sockets plus two CXL memory expanders without CPUs, one behind each socket.
    "cxl-2s.json": host("2-socket Intel Xeon 8480+ with 2 CXL memory expanders", 2, 1, 56, 2,
                        257431, matrix([[10, 21, 50, 60], [21, 10, 60, 50],
                                        [50, 60, 10, 70], [60, 50, 70, 10]]),
                        free_mib=[200000, 240000],
                        memonly=[(2, 131072, 131000), (3, 131072, 130500)]),
    # IBM AC922-like: nodes 0 and 8 (SMT4), V100 GPU memory as CPU-less nodes 252-255.
    "power9-gpu.json": host("IBM Power System AC922-like, 2 x POWER9 + 4 GPU memory nodes",
                            2, 1, 20, 4, 261568,
                            lambda i, j: 10 if i == j else 40 if i < 2 and j < 2 else 80,
                            node_ids=[0, 8],
                            memonly=[(252, 16128, None), (253, 16128, None),
                                     (254, 16128, None), (255, 16128, None)],
                            consecutive=True),
    # Firmware that reports different distances each way (i->j != j->i).
    "asym-4n.json": host("4 nodes with an asymmetric SLIT (10/16/22)", 4, 1, 8, 2, 65536,
                         matrix([[10, 16, 22, 22], [16, 10, 16, 22],
                                 [22, 16, 10, 16], [16, 22, 16, 10]])),
    # Unequal nodes: memory and core counts differ per node.
    "uneven-4n.json": host("4 nodes of different sizes", 4, 1, 0, 2,
                           [262144, 65536, 32768, 131072],
                           sym(10, 10, 20, 1), node_cores=[16, 8, 4, 12]),
    # Devices on different nodes: NICs, NVMe drives and GPUs, one device without locality.
    "pci-2s.json": host("2-socket host with NICs, NVMe and GPUs on both sockets", 2, 1, 16, 2,
                        131072, sym(10, 10, 21, 1), free_mib=[100000, 120000], pci=[
                            {"addr": "0000:17:00.0", "name": "eth0", "node": 0},
                            {"addr": "0000:17:00.1", "name": "eth1", "node": 0},
                            {"addr": "0000:3b:00.0", "name": "nvme0n1", "node": 0},
                            {"addr": "0000:5e:00.0", "name": "card0", "node": 0},
                            {"addr": "0000:86:00.0", "name": "nvme1n1", "node": 1},
                            {"addr": "0000:af:00.0", "name": "ib0", "node": 1},
                            {"addr": "0000:d8:00.0", "name": "3D controller", "node": 1},
                            {"addr": "0000:ff:1e.0", "name": "Processing accelerators",
                             "node": None}]),
    # A busy host: free memory far from the total and different on every node.
    "busy-4n.json": host("4-socket host under load, little free memory", 4, 1, 12, 2, 98304,
                         sym(10, 10, 20, 1), free_mib=[1024, 30000, 512, 87000]),
}


def main():
    for fname, h in HOSTS.items():
        write(fname, h)
    if len(sys.argv) > 1:
        for fname in HOSTS:
            path = os.path.join(HERE, fname)
            out = subprocess.run([sys.argv[1], "topology", "--host", path, "--json"],
                                 check=True, capture_output=True, text=True).stdout
            with open(path, "w") as f:
                f.write(out)


if __name__ == "__main__":
    main()
