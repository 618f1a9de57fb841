# Scenario 9: a read-only virtio-blk root drive (is_read_only): ember's
# command line says root=/dev/vda ro, the device is read-only in the guest
# (VIRTIO_BLK_F_RO: /sys/block/vda/ro = 1), the ext4 root is mounted ro, a
# write fails and so does a remount rw; ember's metrics count reads and no
# writes. Once L1 is off the host finds the image byte for byte as built
# (tests/lab/check-disks.sh).
name=blk-ro img=/disk/blk-ro.ext4
[ -f "$img" ] || { notok "$name: $img missing: L1's disk not mounted (see the LAB-L1: disk line)"; exit; }
vm_start "$name" || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=rootfs-ro" 1 128 || exit
vm_drive rootfs "$img" true true || { vm_stop; vm_dump; exit; }
vm_metrics || { vm_stop; vm_dump; exit; }
vm_boot || { vm_stop; vm_dump; exit; }
if rootfs_checks "$name" "$img" ro; then
	l=$(guest_line 'ro: ')
	case "$l" in
	"ro: sysfs_ro=1 touch=failed"*"remount_rw=failed"*)
		ok "$name: read-only throughout: ${l#ro: }" ;;
	*) notok "$name: guest: ${l:-no read-only checks}, want sysfs_ro=1, touch and remount rw failing" ;;
	esac
fi
host_check "$name.ext4" unchanged
vm_wait_exit 30
[ "$RC" = 0 ] && ok "$name: ember exit 0 after the guest's reboot" ||
	notok "$name: ember exit $RC, want 0 after the guest's reboot"
# The device's side: the guest read (at least the 1 MiB file) and never
# wrote; a write it had sent would count as a failed request.
m=$(blk_metrics rootfs)
if [ "$(metric read_bytes "$m")" -ge 1048576 ] && [ "$(metric write_bytes "$m")" = 0 ] &&
	[ "$(metric invalid_reqs_count "$m")" = 0 ] && [ "$(metric execute_fails "$m")" = 0 ]; then
	ok "$name: ember's block_rootfs metrics: $m"
else
	notok "$name: ember's block_rootfs metrics: $m; want >= 1 MiB read, nothing written, no failures"
fi
vm_stop
vm_dump
