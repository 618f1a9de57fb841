#!/bin/sh
# Fetch Debian's cloud kernel package for the lab into the cache, unpacked,
# without installing anything into the host: `apt-get download` + `dpkg-deb -x`.
# Also recovers the ELF vmlinux from the bzImage (scenario 2).
# Skips every step whose output is already cached. Prints the unpacked root.
set -eu
cd "$(dirname "$0")/../.."
. tests/lab/config.sh

root="$LAB_CACHE/$LAB_KPKG"
mkdir -p "$LAB_CACHE"

if [ ! -f "$root/.done" ]; then
	deb=$(ls "$LAB_CACHE/${LAB_KPKG}"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		echo "lab: apt-get download $LAB_KPKG" >&2
		# apt drops privileges to _apt, which cannot write into build/: fetch
		# in a temp dir it can write to, then move it.
		tmp=$(mktemp -d)
		chmod 777 "$tmp"
		if ! (cd "$tmp" && apt-get download -q "$LAB_KPKG" >&2); then
			echo "lab: apt-get download failed; trying apt-get update first" >&2
			apt-get update -q >&2 || true
			if ! (cd "$tmp" && apt-get download -q "$LAB_KPKG" >&2); then
				# Debian drops an ABI's packages from its index when the
				# next ABI arrives: say which one is current now.
				now=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
					sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -n 1)
				echo "lab: cannot download $LAB_KPKG; the current ABI is '${now:-unknown}':" \
					"set LAB_ABI in tests/lab/config.sh (or LAB_ABI=... in the environment)" >&2
				rm -rf "$tmp"
				exit 1
			fi
		fi
		mv "$tmp"/*.deb "$LAB_CACHE/"
		rmdir "$tmp"
		deb=$(ls "$LAB_CACHE/${LAB_KPKG}"_*.deb | head -n 1)
	fi
	rm -rf "$root"
	dpkg-deb -x "$deb" "$root"
	touch "$root/.done"
fi

# The ELF vmlinux, recovered from the bzImage's LZ4 payload.
vmlinux="$LAB_CACHE/vmlinux-$LAB_KVER"
if [ ! -s "$vmlinux" ]; then
	tests/lab/extract-vmlinux.sh "$root/boot/vmlinuz-$LAB_KVER" "$vmlinux.tmp"
	mv "$vmlinux.tmp" "$vmlinux"
fi
echo "$root"
