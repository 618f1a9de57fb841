#!/bin/sh
# Install every Debian package the build, the tests, the lab and the benchmarks
# need. Idempotent: apt-get runs only when something is missing.
set -eu

PKGS="gcc make pkg-config libc6-dev linux-libc-dev
libjansson-dev libcmocka-dev libmicrohttpd-dev libseccomp-dev liburing-dev
acpica-tools qemu-system-x86 busybox-static cpio kmod curl lz4 zstd e2fsprogs
python3 python3-yaml python3-jsonschema socat iperf3 iproute2 time"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
