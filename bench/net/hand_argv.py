#!/usr/bin/env python3
"""hand_argv.py CMDLINE_FILE HAND_DIR TAP IP: the argv of a QEMU vnuma started (read from its
/proc/PID/cmdline, NUL-separated), rewritten to run by hand with the same arguments: the
netdev takes the hand-made tap by name instead of vnuma's inherited descriptor, the memory
file lives in HAND_DIR, console and QMP go to HAND_DIR, the guest address is IP, and it starts
running (no -S).  Prints one argument per line."""
import re
import sys

cmdline, hand, tap, ip = sys.argv[1:5]
args = open(cmdline, "rb").read().split(b"\0")
args = [a.decode() for a in args if a]
out = []
i = 0
while i < len(args):
    a = args[i]
    v = args[i + 1] if i + 1 < len(args) else None
    if a == "-S":
        i += 1
        continue
    if a == "-name":
        out += [a, "hand,debug-threads=on"]
    elif a == "-object" and v.startswith("memory-backend-file"):
        out += [a, re.sub(r"mem-path=/proc/self/fd/\d+/", "mem-path=%s/" % hand, v)]
    elif a == "-chardev":
        out += [a, "file,id=con0,path=%s/console.log" % hand]
    elif a == "-qmp":
        out += [a, "unix:%s/qmp.sock,server=on,wait=off" % hand]
    elif a == "-netdev":
        # the same backend and options, the tap named instead of inherited
        m = re.match(r"tap,id=(\w+),fd=\d+(.*)", v)
        if not m:
            sys.exit("hand_argv: unexpected -netdev '%s'" % v)
        rest = re.sub(r",vhostfd=\d+", "", m.group(2))
        out += [a, "tap,id=%s,ifname=%s,script=no,downscript=no%s" % (m.group(1), tap, rest)]
    elif a == "-device" and "netdev=" in v:
        out += [a, re.sub(r"mac=[0-9a-f:]+", "mac=00:16:3e:7f:00:01", v)]
    elif a == "-append":
        out += [a, re.sub(r"vnuma\.ip=\S+", "vnuma.ip=" + ip, v)]
    elif v is not None and not v.startswith("-") and a.startswith("-"):
        out += [a, v]
    else:
        out += [a]
        i += 1
        continue
    i += 2
print("\n".join(out))
