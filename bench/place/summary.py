#!/usr/bin/env python3
"""Summarises bench-place CSVs: per quality column, on how many host x stream cases vnuma is
at least as good as xen (where xen runs), the mean of each column per algorithm, the time per
placement by host size, and the gap to exact.  Prints Markdown (for docs/BENCHMARKS.md)."""
import csv
import sys
from collections import defaultdict

out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/results.csv")))
cases = defaultdict(dict)
for r in rows:
    cases[(r["nodes"], r["distances"], r["node_sizes"], r["stream"])][r["algo"]] = r

cols = [("placed_before_refusal", +1, "VMs placed before the first refusal (higher is better)"),
        ("share_one_node", +1, "share of VMs on one node (higher is better)"),
        ("mean_distance", -1, "mean memory-weighted vCPU-to-memory distance (lower is better)"),
        ("imbalance_cv", -1, "node vCPU-pressure imbalance, coefficient of variation (lower is better)")]
extra = [("mean_device_distance", -1, "mean SLIT from a VM's PCI device to its nearest node (lower is better)"),
         ("anti_affinity_shared", -1, "share of anti-affinity VMs on a node of their group (lower is better)")]
worse_cases = defaultdict(list)
per_case = []


def table(title, streams, columns):
    print(f"### {title}\n")
    print("| quality column | cases | vnuma as good or better | vnuma worse | mean vnuma | mean xen |")
    print("|---|---:|---:|---:|---:|---:|")
    for col, sign, label in columns:
        n = good = 0
        sv = sx = 0.0
        for key, c in sorted(cases.items()):
            if key[3] not in streams:
                continue
            if "xen" not in c or c["xen"]["us_per_placement"] == "" or int(c["vnuma"]["compared_vms"]) == 0:
                continue
            v, x = float(c["vnuma"][col]), float(c["xen"][col])
            n += 1
            sv += v
            sx += x
            ok = (v - x) * sign >= -1e-9
            good += ok
            per_case.append((key, col, v, x, "ok" if ok else "worse"))
            if not ok:
                worse_cases[col].append((key, v, x))
        print(f"| {label} | {n} | {good} | {n - good} | {sv / max(n, 1):.4f} | {sx / max(n, 1):.4f} |")
    print()


table("vnuma against xen, small / mixed / large streams, every host where xen runs",
      {"small", "mixed", "large"}, cols)
table("vnuma against xen, devices+groups streams (xen ignores devices and groups; vnuma honours them)",
      {"devices+groups"}, cols + extra)
with open(f"{out}/cases.csv", "w") as f:
    f.write("nodes,distances,node_sizes,stream,column,vnuma,xen,verdict\n")
    for key, col, v, x, verdict in per_case:
        f.write(",".join(key) + f",{col},{v},{x},{verdict}\n")
print("### Time per placement (µs, mean over all streams and host variants)\n")
print("| nodes | vnuma | xen |")
print("|---:|---:|---:|")
t = defaultdict(lambda: defaultdict(list))
for r in rows:
    if r["us_per_placement"]:
        t[int(r["nodes"])][r["algo"]].append(float(r["us_per_placement"]))
for n in sorted(t):
    v = t[n]["vnuma"]
    x = t[n]["xen"]
    xs = f"{sum(x) / len(x):.1f}" if x else "refuses (> 16 nodes)"
    print(f"| {n} | {sum(v) / len(v):.1f} (max {max(v):.1f}) | {xs} |")

try:
    ex = list(csv.DictReader(open(f"{out}/exact.csv")))
    print("\n### Gap to the exact optimum of the stream objective (<= 8 nodes, 10 VMs, 5 seeds each)\n")
    print("Only instances where the branch and bound finished (proven optimum) are counted.\n")
    print("| nodes | distances | node sizes | proven | vnuma mean gap | vnuma worst gap | xen mean gap | xen worst gap |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    g = defaultdict(lambda: defaultdict(list))
    tot = defaultdict(int)
    for r in ex:
        key = (int(r["nodes"]), r["distances"], r["node_sizes"])
        if r["algo"] == "exact":
            tot[key] += 1
        elif r["proven"] == "1":
            g[key][r["algo"]].append(float(r["gap_to_exact"]))
    allv, allx = [], []
    for k in sorted(tot):
        v, x = g[k]["vnuma"], g[k]["xen"]
        allv += v
        allx += x
        if not v:
            print(f"| {k[0]} | {k[1]} | {k[2]} | 0/{tot[k]} | - | - | - | - |")
            continue
        print(f"| {k[0]} | {k[1]} | {k[2]} | {len(v)}/{tot[k]} | {100 * sum(v) / len(v):.2f}% | "
              f"{100 * max(v):.2f}% | {100 * sum(x) / len(x):.2f}% | {100 * max(x):.2f}% |")
    if allv:
        print(f"| all | | | {len(allv)}/{sum(tot.values())} | {100 * sum(allv) / len(allv):.2f}% | "
              f"{100 * max(allv):.2f}% | {100 * sum(allx) / len(allx):.2f}% | {100 * max(allx):.2f}% |")
except FileNotFoundError:
    pass

if "-v" in sys.argv:
    for col, cases_ in worse_cases.items():
        print(f"\nworse on {col}:")
        for key, v, x in cases_:
            print("  ", key, v, x)
