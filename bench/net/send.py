#!/usr/bin/env python3
"""send.py ADDR PORT MIB: sends MIB MiB to the guest's sink (guest/init vnuma.sink=PORT),
half-closes, reads the byte count it answers; prints "SECONDS BYTES_COUNTED".  Bounded:
60 s for the whole transfer."""
import socket
import sys
import time

addr, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
chunk = b"\0" * (1 << 20)
s = socket.create_connection((addr, port), timeout=10)
s.settimeout(60)
t0 = time.monotonic()
for _ in range(mib):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(100)
    if not d:
        break
    got += d
t1 = time.monotonic()
print("%.3f %s" % (t1 - t0, got.decode().strip() or "0"))
