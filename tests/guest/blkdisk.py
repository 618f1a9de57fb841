#!/usr/bin/env python3
"""Disk images for the blk/hostile guests (tests/guest/blk.c):
  blkdisk.py make FILE MIB           fill with byte(o) = (o*7 + 3 + o//512) & 0xff
  blkdisk.py check FILE WS WC        sectors WS..WS+WC-1 hold the guest's write
                                     pattern (o*13 + 0x5a + 3*(o//512)) & 0xff,
                                     every other byte the fill pattern; exit 1
                                     and the first bad offset otherwise (WC 0:
                                     nothing written)
  blkdisk.py id FILE                 the GET_ID string ember (like Firecracker)
                                     reports: st_dev st_rdev st_ino, 20 bytes
"""
import os
import sys

SECTOR = 512


def fill_sector(s):
    return bytes((7 * j + 3 + s) & 0xff for j in range(SECTOR))


def write_sector(s):
    return bytes((13 * j + 0x5a + 3 * s) & 0xff for j in range(SECTOR))


FILL = [fill_sector(k) for k in range(256)]


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "make" and len(argv) == 4:
        n = int(argv[3]) << 20
        with open(argv[2], "wb") as f:
            f.write(b"".join(FILL[s & 0xff] for s in range(n // SECTOR)))
        return 0
    if cmd == "check" and len(argv) == 5:
        ws, wc = int(argv[3]), int(argv[4])
        data = open(argv[2], "rb").read()
        want = b"".join(write_sector(s) if ws <= s < ws + wc else FILL[s & 0xff]
                        for s in range(len(data) // SECTOR))
        if data == want:
            return 0
        bad = next(i for i in range(min(len(data), len(want))) if data[i] != want[i]) \
            if data[:len(want)] != want else len(want)
        print(f"blkdisk: {argv[2]}: byte {bad} (sector {bad // SECTOR}) is "
              f"{data[bad] if bad < len(data) else 'EOF':}, want {want[bad] if bad < len(want) else 'EOF'}")
        return 1
    if cmd == "id" and len(argv) == 3:
        st = os.stat(argv[2])
        print(f"{st.st_dev}{st.st_rdev}{st.st_ino}"[:20])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
