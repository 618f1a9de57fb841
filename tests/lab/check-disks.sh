#!/bin/sh
# tests/lab/check-disks.sh CONSOLE_LOG: the host's half of the block-device
# scenarios (8, 9), run by run.sh once L1 is off. For every
# "LAB-HOSTCHECK IMAGE CHECK..." line L1 printed (tests/lab/l1/lib.sh:
# host_check), IMAGE is read out of L1's disk ($LAB_OUT/l1-disk.img, an ext4
# file system: `debugfs -R dump`) and checked:
#   file PATH SHA256  a copy of IMAGE gets its journal replayed (the guest
#                     synced and rebooted without unmounting: `e2fsck -E
#                     journal_only`, what the next mount would do), must then
#                     pass `e2fsck -fn`, and PATH in it (`debugfs -R cat`)
#                     must have the sha256 the guest printed
#   unchanged         IMAGE is byte for byte build.sh's ($LAB_OUT/disks/IMAGE)
# Prints one "ok - ..." / "not ok - ..." line per check (run.sh counts them).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lab/config.sh
log=$1
disk="$LAB_OUT/l1-disk.img"
out="$LAB_OUT/disks-after"
rm -rf "$out"
mkdir -p "$out"

grep -aq '^LAB-HOSTCHECK ' "$log" || exit 0
if ! grep -aq '^LAB-L1: disk unmounted' "$log"; then
	echo "not ok - host: L1 did not unmount its disk ($disk): the images read back below may be stale"
fi

grep -a '^LAB-HOSTCHECK ' "$log" | while read -r _ img check path sum; do
	name=${img%.ext4}
	got="$out/$img"
	if ! debugfs -R "dump /$img $got" "$disk" > "$out/$img.debugfs" 2>&1 || [ ! -s "$got" ]; then
		echo "not ok - host: $name: $img not found in $disk: $(tail -n 1 "$out/$img.debugfs")"
		continue
	fi
	case "$check" in
	file)
		e2fsck -fy -E journal_only "$got" > "$out/$img.e2fsck" 2>&1
		replay=$(grep -q 'recovering journal' "$out/$img.e2fsck" && echo 'journal replayed, ' || true)
		if ! e2fsck -fn "$got" >> "$out/$img.e2fsck" 2>&1; then
			echo "not ok - host: $name: e2fsck -fn finds errors in the image the guest wrote (${replay}see $out/$img.e2fsck)"
			continue
		fi
		data="$out/$name$(echo "$path" | tr / _)"
		debugfs -R "dump $path $data" "$got" > /dev/null 2>&1
		if [ ! -f "$data" ]; then
			echo "not ok - host: $name: no $path in the image (${replay}e2fsck clean)"
			continue
		fi
		have=$(sha256sum < "$data" | cut -d' ' -f1)
		if [ "$have" = "$sum" ]; then
			echo "ok - host: $name: $path read out of the image ($(wc -c < "$data") bytes, ${replay}e2fsck clean) matches the guest's sha256"
		else
			echo "not ok - host: $name: $path in the image ($(wc -c < "$data") bytes) has sha256 $have, the guest wrote $sum"
		fi
		;;
	unchanged)
		if cmp -s "$got" "$LAB_OUT/disks/$img"; then
			echo "ok - host: $name: the read-only image is byte for byte as built"
		else
			echo "not ok - host: $name: the read-only image changed: $(cmp "$got" "$LAB_OUT/disks/$img" 2>&1 | head -n 1)"
		fi
		;;
	*)
		echo "not ok - host: unknown check '$check' for $img"
		;;
	esac
done
