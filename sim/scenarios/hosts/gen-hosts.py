#!/usr/bin/env python3
"""Writes the host files of the simulator's scale scenarios (vnuma JSON host format,
docs/HOSTS.md).  Run from this directory: ./gen-hosts.py"""
import json


def host(name, packages, nodes_per_pkg, cores, smt, mem_mib, dist):
    nodes, cpus = [], []
    n_nodes = packages * nodes_per_pkg
    cpu = 0
    per_node = [[] for _ in range(n_nodes)]
    core_id = 0
    # Linux numbering: first threads of every core, then the siblings.
    for s in range(smt):
        core_id = 0
        for n in range(n_nodes):
            for c in range(cores):
                cpus.append({"cpu": cpu, "node": n, "package": n // nodes_per_pkg,
                             "core": core_id, "smt": s})
                per_node[n].append(cpu)
                cpu += 1
                core_id += 1
    for n in range(n_nodes):
        nodes.append({"node": n, "package": n // nodes_per_pkg, "memory_mib": mem_mib,
                      "cpus": per_node[n]})
    d = [[dist(a, b) for b in range(n_nodes)] for a in range(n_nodes)]
    return {"name": name, "nodes": nodes, "distances": d, "cpus": cpus}


def eight_socket(a, b):
    if a == b:
        return 10
    pa, pb = a // 4, b // 4
    if pa == pb:
        return 11 if (a % 4) // 2 == (b % 4) // 2 else 12
    # 8 sockets, 3 links each (twisted cube): one hop 21, more 31
    return 21 if bin(pa ^ pb).count("1") == 1 else 31


def epyc_nps2(a, b):
    if a == b:
        return 10
    return 12 if a // 2 == b // 2 else 32


hosts = {
    "8s-32n.json": host("8 sockets x 4 nodes (SNC4-like), 8 cores x 2 threads per node",
                        8, 4, 8, 2, 131072, eight_socket),
    "epyc-2s-nps2.json": host("EPYC-like 2 sockets x NPS2, 16 cores x 2 threads per node",
                              2, 2, 16, 2, 131072, epyc_nps2),
}
for fname, h in hosts.items():
    with open(fname, "w") as f:
        json.dump(h, f, separators=(",", ":"))
        f.write("\n")
