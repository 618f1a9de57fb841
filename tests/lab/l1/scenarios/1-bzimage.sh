# Scenario 1: the stock Debian cloud kernel as a bzImage + initrd, serial
# console, 1 vCPU, 128 MiB: reaches the initramfs's /init, which prints its
# marker and reboots; ember exits 0.
vm_start bzimage || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=boot" 1 128 || exit
# make demo: show the guest's console as it comes.
[ "${LAB_DEMO:-0}" = 1 ] && { tail -f "$D/console" & tail_pid=$!; }
vm_boot || { vm_dump; exit; }
if wait_console '^LABG: init scenario=boot' "$LAB_L2_TIMEOUT"; then
	[ -n "${tail_pid:-}" ] && sleep 1 # let tail (1 s polls) show the marker first
	ok "bzimage: guest /init reached $(secs $WAIT_MS) s after InstanceStart$(boot_time_note)"
else
	notok "bzimage: guest /init marker not seen"
fi
vm_wait_exit 30
[ -n "${tail_pid:-}" ] && { sleep 1; kill "$tail_pid"; }
if [ "$RC" = 0 ] && grep -q '^LABG: reboot' "$D/console"; then
	ok "bzimage: guest reboot -f -> ember exit 0"
else
	notok "bzimage: guest reboot -f: ember exit $RC, want 0"
fi
vm_dump
