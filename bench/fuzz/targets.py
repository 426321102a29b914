#!/usr/bin/env python3
"""Prints the fuzz targets of a build dir, one a line, tab-separated:
NAME  FUZZER  OPTIONS  CORPUS  SEED_DIRS
read from its smoke tests (fuzz/meson.build is the one table), so the long campaign runs
each target with the options and directories CI uses.  usage: targets.py BUILD_DIR"""
import json
import os
import subprocess
import sys

build = sys.argv[1]
tests = json.loads(subprocess.run(["meson", "introspect", "--tests", build],
                                  check=True, capture_output=True, text=True).stdout)
for t in tests:
    if not any(s.split(":")[-1] == "fuzz" for s in t["suite"]):
        continue
    fuzzer, args = os.path.join(build, t["cmd"][1]), t["cmd"][3:]
    opts = [a for a in args if a.startswith("-")]
    dirs = [a for a in args if not a.startswith("-")]
    corpus = [d for d in dirs if "/fuzz/corpus/" in d]
    if len(corpus) != 1:
        sys.exit(f"{t['name']}: expected one fuzz/corpus/ dir among {dirs}")
    seeds = [d for d in dirs if d not in corpus]
    name = corpus[0].rsplit("/", 1)[1]
    print("\t".join([name, fuzzer, " ".join(opts), corpus[0], " ".join(seeds)]))
