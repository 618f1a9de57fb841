#!/bin/sh
# The comms ring against a SEQPACKET socketpair and memcpy, two processes
# pinned one per CPU: Mpps/Gbit/s at 64 B, 1500 B, 64 KiB, and ping-pong
# latency spinning and sleeping (bench/ring.c). Numbers on a shared VM move
# with the host's vCPU placement: compare rows of one run, not runs.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory build/bench/ring >/dev/null
exec build/bench/ring "$@"
