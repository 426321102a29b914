#!/usr/bin/env python3
"""Sums up a fuzz campaign (bench/fuzz/run.sh): one CSV row per target and a Markdown table.
usage: report.py CAMPAIGN_DIR ROOT RUNS OUT.csv
Coverage is llvm-cov's over the src/lib files the target reached (a line of them covered)."""
import csv
import json
import os
import re
import sys

wd, root, want_runs, out_csv = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def read(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return default


def executions(log):
    """Executions and execs/s from libFuzzer's final stats, else its last status line."""
    n = re.findall(r"stat::number_of_executed_units: (\d+)", log)
    if n:
        rate = re.findall(r"stat::average_exec_per_sec: (\d+)", log)
        return int(n[-1]), int(rate[-1]) if rate else None
    n = re.findall(r"^#(\d+)\s", log, re.M)
    return (int(n[-1]), None) if n else (0, None)


def coverage(path):
    files = lines = lines_hit = branches = branches_hit = 0
    try:
        with open(path) as f:
            data = json.load(f)["data"][0]["files"]
    except (FileNotFoundError, ValueError, KeyError, IndexError):
        return None
    for entry in data:
        name = os.path.normpath(entry["filename"])
        s = entry["summary"]
        if "/src/lib/" not in name or s["lines"]["covered"] == 0:
            continue
        files += 1
        lines += s["lines"]["count"]
        lines_hit += s["lines"]["covered"]
        branches += s["branches"]["count"]
        branches_hit += s["branches"]["covered"]
    return files, lines, lines_hit, branches, branches_hit


def pct(a, b):
    return round(100.0 * a / b, 1) if b else 0.0


rows = []
with open(os.path.join(wd, "targets.tsv")) as f:
    names = [line.split("\t")[0] for line in f if line.strip()]
for name in names:
    w = os.path.join(wd, name)
    log = read(os.path.join(w, "log"))
    runs, rate = executions(log)
    times = read(os.path.join(w, "time")).split()
    # /usr/bin/time writes "Command exited with non-zero status N" before the numbers.
    nums = [t for t in times if re.fullmatch(r"[0-9.]+", t)][-3:]
    wall, cpu = (float(nums[0]), float(nums[1]) + float(nums[2])) if len(nums) == 3 else (0, 0)
    if rate is None:
        rate = int(runs / wall) if wall else 0
    rc = read(os.path.join(w, "rc"), "?").strip()
    art = os.path.join(w, "artifacts")
    crashes = sorted(os.listdir(art)) if os.path.isdir(art) else []
    stopped = "crash" if crashes or rc != "0" else ("runs" if runs >= want_runs else "time")
    corpus = os.path.join(root, "fuzz", "corpus", name)
    cfiles = [os.path.join(corpus, c) for c in os.listdir(corpus)] if os.path.isdir(corpus) else []
    ckib = round(sum(os.path.getsize(c) for c in cfiles) / 1024, 1)
    cov = coverage(os.path.join(w, "cov.json")) or (0, 0, 0, 0, 0)
    rows.append({
        "target": name, "execs": runs, "execs_per_s": rate, "wall_s": round(wall),
        "cpu_s": round(cpu), "budget_s": read(os.path.join(w, "budget"), "0").strip(),
        "stopped_by": stopped, "crashes": len(crashes), "corpus_files": len(cfiles),
        "corpus_kib": ckib, "files": cov[0], "lines": cov[1],
        "lines_pct": pct(cov[2], cov[1]), "branches": cov[3],
        "branches_pct": pct(cov[4], cov[3]),
    })

with open(out_csv, "w", newline="") as f:
    wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    wr.writeheader()
    wr.writerows(rows)

print("| target | executions | execs/s | wall / CPU s | stopped by | crashes | corpus | "
      "src/lib files | lines | branches |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    stop = {"runs": "10 M runs", "time": f"{r['budget_s']} s budget", "crash": "crash"}
    print(f"| `fuzz-{r['target'].replace('_', '-')}` | {r['execs']:,} | {r['execs_per_s']:,} | "
          f"{r['wall_s']} / {r['cpu_s']} | {stop[r['stopped_by']]} | {r['crashes']} | "
          f"{r['corpus_files']} files, {r['corpus_kib']} KiB | {r['files']} | "
          f"{r['lines_pct']} % of {r['lines']} | {r['branches_pct']} % of {r['branches']} |")
