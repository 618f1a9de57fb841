# Scenario 2: the same kernel as an ELF vmlinux (recovered from the bzImage by
# tests/lab/extract-vmlinux.sh), through both of its entries: Xen PVH
# (32-bit, hvm_start_info) and the Linux 64-bit boot protocol (boot_params).
for proto in pvh linux; do
	(
	vm_start "vmlinux-$proto" || exit
	vm_config /lab/vmlinux /lab/guest.cpio "$L2_ARGS lab_scn=boot" 1 128 "$proto" || exit
	vm_boot || { vm_dump; exit; }
	if wait_console '^LABG: init scenario=boot' "$LAB_L2_TIMEOUT"; then
		ok "vmlinux-$proto: guest /init reached $(secs $WAIT_MS) s after InstanceStart$(boot_time_note)"
	else
		notok "vmlinux-$proto: guest /init marker not seen"
	fi
	vm_wait_exit 30
	if [ "$RC" = 0 ] && grep -q '^LABG: reboot' "$D/console"; then
		ok "vmlinux-$proto: guest reboot -f -> ember exit 0"
	else
		notok "vmlinux-$proto: ember exit $RC, want 0 after the guest's reboot"
	fi
	vm_dump
	)
done
