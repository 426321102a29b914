#!/usr/bin/env python3
"""Writes a running-domain record (docs/STATE.md, version 2) for each stand-in process of the
vnumad benchmark: records.py VNUMA STATE_DIR PID...  The spec and the placement are what
`vnuma check --json` and `vnuma place --format json` give for a 2-vCPU VM of
$VNUMAD_BENCH_MIB MiB on node 0, so the records are the ones `vnuma create` would write."""
import json
import os
import subprocess
import sys
import tempfile
import time

mib = int(os.environ.get("VNUMAD_BENCH_MIB", "32"))
vnuma, state, pids = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]


def tool(*args):
    return json.loads(subprocess.run([vnuma, *args], check=True, capture_output=True,
                                     text=True).stdout)[0]


for i, pid in enumerate(pids):
    with open(f"/proc/{pid}/stat") as f:
        start = int(f.read().rsplit(")", 1)[1].split()[19])
    name = f"d{i}"
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as cfg:
        cfg.write(f"name = '{name}'\nmemory = {mib}\nvcpus = 2\ncpus_soft = 'nodes:0'\n"
                  "vnuma = [ [ 'pnode=0', 'size=%d', 'vcpus=0-1', 'vdistances=10' ] ]\n" % mib)
        cfg.flush()
        spec, placement = tool("check", "--json", cfg.name), tool("place", "--format", "json",
                                                                    cfg.name)
    spec["file"] = f"/bench/{name}.cfg"
    for key in ("name", "config"):  # what `place` adds around the placement itself
        del placement[key]
    rec = {
        "version": 2, "name": name, "status": "running", "created": int(time.time()),
        "config": None, "accel": "kvm", "qemu_pid": pid, "qemu_start": start,
        "creator_pid": 0, "creator_start": 0, "runtime_dir": None, "qmp_socket": None,
        "console_socket": None, "log": None, "spec": spec, "placement": placement,
        "extra": {"balance_fixed": True},
    }
    path = os.path.join(state, "domains", name + ".json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(rec, f)
