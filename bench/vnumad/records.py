#!/usr/bin/env python3
"""Writes a running-domain record (docs/STATE.md, version 1) for each stand-in process of the
vnumad benchmark: records.py STATE_DIR MEM_DIR PID...  Stand-in i maps MEM_DIR/di/vnode0."""
import json
import os
import sys
import time

mib = int(os.environ.get("VNUMAD_BENCH_MIB", "32"))
state, mem, pids = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
for i, pid in enumerate(pids):
    with open(f"/proc/{pid}/stat") as f:
        start = int(f.read().rsplit(")", 1)[1].split()[19])
    name = f"d{i}"
    rec = {
        "version": 1, "name": name, "status": "running", "created": int(time.time()),
        "config": None, "accel": "kvm", "qemu_pid": pid, "qemu_start": start,
        "creator_pid": 0, "creator_start": 0, "runtime_dir": None, "qmp_socket": None,
        "console_socket": None, "log": None,
        "claim": [{"node": 0, "mem_mib": mib, "vcpus": 2}],
        "spec": {"balance": True, "cpus": None, "vnuma": None},
        "placement": {"vnodes": [{"id": 0, "pnodes": [0], "memory_mib": mib}],
                      "vcpu_affinity": [{"vcpu": 0, "vnode": 0}, {"vcpu": 1, "vnode": 0}]},
        "extra": {"mem_dir": f"{mem}/{name}"},
    }
    path = os.path.join(state, "domains", name + ".json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(rec, f)
