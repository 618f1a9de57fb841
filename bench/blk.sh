#!/bin/sh
# bench/blk.sh [--secs T] [--qd N] [--size MiB] [--no-qemu]: virtio-blk IOPS
# (4 KiB random reads) and MB/s (1 MiB sequential reads/writes) of the blk
# test guest under ember (Sync, Async) and QEMU microvm, beside the host
# reading the same file directly. Prints a table and ratios; asserts nothing.
set -eu
cd "$(dirname "$0")/.."
if ! [ -x build/ember ] || ! [ -f build/guest/blk.elf ]; then make build/ember guests; fi
exec python3 bench/blk.py "$@"
