# Scenario 8: a virtio-blk root drive, read-write, once per io_engine: Sync
# (cache Unsafe, Firecracker's default) and Async (io_uring; cache Writeback,
# so the guest's sync also sends a flush). The stock kernel's initramfs loads
# the virtio modules, finds /dev/vda through ACPI (the DSDT's LNRO0005
# device: the Debian kernel has no virtio_mmio.device= support), mounts the
# ext4 image from ember's root=/dev/vda rw, switch_roots into it; the image's
# init checks a file the host put there, writes 1 MiB of random bytes, syncs,
# re-reads them from the device and reboots. ember's block_rootfs metrics
# must show the bytes both ways and flushes exactly with Writeback. Once L1
# is off, the host reads the file out of the image (tests/lab/check-disks.sh):
# same sha256.
for engine in Sync Async; do
	(
	name=blk-$(echo "$engine" | tr 'A-Z' 'a-z')
	img=/disk/$name.ext4
	cache=Unsafe
	[ "$engine" = Async ] && cache=Writeback
	[ -f "$img" ] || { notok "$name: $img missing: L1's disk not mounted (see the LAB-L1: disk line)"; exit; }
	vm_start "$name" || exit
	vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=rootfs-rw" 1 128 || exit
	vm_drive rootfs "$img" true false "$engine" "$cache" || { vm_stop; vm_dump; exit; }
	vm_metrics || { vm_stop; vm_dump; exit; }
	vm_boot || { vm_stop; vm_dump; exit; }
	if rootfs_checks "$name" "$img" rw; then
		# Writeback: ember offers VIRTIO_BLK_F_FLUSH, the guest's block
		# layer then has a volatile write cache to flush on sync; Unsafe:
		# no flush feature, the guest sees a write-through device.
		wc=write_through
		[ "$cache" = Writeback ] && wc=write_back
		case "$(guest_line 'blk /dev/vda')" in
		*" write_cache=$wc") ok "$name: cache_type $cache: the guest sees a $(echo "$wc" | tr _ -) cache" ;;
		*) notok "$name: cache_type $cache: guest: $(guest_line 'blk /dev/vda'), want write_cache=$wc" ;;
		esac
		l=$(guest_line 'wrote ')
		sum=$(echo "$l" | sed -n 's/.* sha256=\([0-9a-f]*\).*/\1/p')
		if [ -n "$sum" ] && [ "$l" = "wrote /lab-out.bin bytes=1048576 sha256=$sum reread=$sum" ]; then
			ok "$name: ($engine, $cache) the guest wrote 1 MiB to /lab-out.bin, synced, re-read it from the device: same sha256"
		else
			notok "$name: ($engine, $cache) guest: ${l:-did not write}"
		fi
		# The host compares the file in the image with the guest's sha256,
		# whatever the re-read gave.
		[ -n "$sum" ] && host_check "$name.ext4" file /lab-out.bin "$sum"
	fi
	vm_wait_exit 30
	[ "$RC" = 0 ] && ok "$name: ember exit 0 after the guest's reboot" ||
		notok "$name: ember exit $RC, want 0 after the guest's reboot"
	# The device's side (ember's block_rootfs metrics, the last line written
	# as it exited): at least the 1 MiB each way, flushes only with
	# Writeback (where the guest sees a write-back cache), no failures.
	m=$(blk_metrics rootfs)
	fl=$(metric flush_count "$m")
	if [ "$cache" = Writeback ]; then fl_ok=$([ "$fl" -gt 0 ] && echo 1); else fl_ok=$([ "$fl" = 0 ] && echo 1); fi
	if [ "$(metric read_bytes "$m")" -ge 1048576 ] && [ "$(metric write_bytes "$m")" -ge 1048576 ] &&
		[ "$(metric invalid_reqs_count "$m")" = 0 ] && [ "$(metric execute_fails "$m")" = 0 ] &&
		[ "$fl_ok" = 1 ]; then
		ok "$name: ember's block_rootfs metrics: $m"
	else
		notok "$name: ember's block_rootfs metrics: $m; want >= 1 MiB read and written, no failures, flush_count $([ "$cache" = Writeback ] && echo '> 0' || echo 0) ($cache)"
	fi
	vm_stop
	vm_dump
	)
done
