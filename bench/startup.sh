#!/bin/sh
# ember vs QEMU microvm: process start to first serial byte and to exit, peak RSS.
set -eu
cd "$(dirname "$0")/.."
[ -x build/ember ] && [ -f build/guest/hello.elf ] || make
exec python3 bench/startup.py "$@"
