#!/usr/bin/env python3
"""summary.py NET_CSV [NETDEV]: medians, mean ± sd of each side, the ratio of the medians and
the median of the per-round ratios (each vnuma round against the hand round right after it)."""
import csv
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
by = {w: [float(r["mib_per_s"]) for r in rows if r["who"] == w] for w in ("vnuma", "hand")}
if len(sys.argv) > 2:
    print("netdev (vnuma): %s" % sys.argv[2])
for w in ("vnuma", "hand"):
    v = by[w]
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    print("%-5s MiB/s: %s  median %.2f  mean %.2f +- %.2f" %
          (w, v, statistics.median(v), statistics.mean(v), sd))
paired = [a / b for a, b in zip(by["vnuma"], by["hand"])]
print("ratio vnuma/hand (medians): %.3f" % (statistics.median(by["vnuma"]) /
                                              statistics.median(by["hand"])))
print("ratio vnuma/hand (median of %d per-round ratios): %.3f" % (len(paired),
                                                                   statistics.median(paired)))
