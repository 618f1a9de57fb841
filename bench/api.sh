#!/bin/sh
# ember's API: start -> socket ready (wall, CPU) beside Firecracker's published
# figure, and request latency on one keep-alive connection. Prints only.
set -eu
cd "$(dirname "$0")/.."
[ -x build/ember ] || make build/ember
exec python3 bench/api_bench.py "$@"
