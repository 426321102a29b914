#!/usr/bin/env python3
# mkbootsector.py IMAGE NAME: a 1 MiB raw disk whose boot sector prints
# "VNUMA-FIRMWARE-BOOT: NAME" on the first serial port (0x3f8) and halts: the smallest thing
# a firmware (SeaBIOS) can boot, so a test can see which disk it booted.
import sys
msg = ("VNUMA-FIRMWARE-BOOT: " + sys.argv[2] + "\r\n").encode() + b"\0"
code = bytearray()
code += b"\x31\xc0\x8e\xd8\xfc"          # xor ax,ax; mov ds,ax; cld
code += b"\xba\xf8\x03"                  # mov dx,0x3f8
msg_at = 0x7c00 + len(code) + 3 + 12     # after mov si (3), the loop and the halt (12)
code += b"\xbe" + msg_at.to_bytes(2, "little")
code += b"\xac\x08\xc0\x74\x03\xee\xeb\xf8"  # lodsb; or al,al; jz done; out dx,al; jmp loop
code += b"\xfa\xf4\xeb\xfd"              # done: cli; hlt; jmp hlt
assert 0x7c00 + len(code) == msg_at, (hex(0x7c00 + len(code)), hex(msg_at))
sector = bytes(code) + msg
sector = sector.ljust(510, b"\0") + b"\x55\xaa"
with open(sys.argv[1], "wb") as f:
    f.write(sector.ljust(1024 * 1024, b"\0"))
