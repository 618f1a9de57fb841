# Scenario 6: the guest runs `poweroff -f`. ember has no ACPI power-off yet
# (no ACPI tables, no PM1 control / GED sleep register), so the kernel has no
# power-off method and the reboot syscall turns POWER_OFF into HALT: it
# prints "reboot: System halted" and stops its CPU with interrupts off. What
# this asserts, as observed: ember keeps running (the API still answers,
# state Running) without burning CPU, until SIGTERM, which exits 0. When ACPI
# power-off lands this scenario must change to "ember exits 0".
vm_start poweroff || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=poweroff" 1 128 || exit
vm_boot || { vm_dump; exit; }
if ! wait_console '^LABG: poweroff -f' "$LAB_L2_TIMEOUT"; then
	notok "poweroff: guest did not get to poweroff -f"
	vm_stop; vm_dump; exit
fi
if wait_console 'reboot: System halted' 20; then
	ok "poweroff: the guest kernel halts ('reboot: System halted': no ACPI power-off)"
else
	notok "poweroff: no 'reboot: System halted' from the guest within 20 s"
fi
# The utime + stime of all of ember's threads (clock ticks, USER_HZ=100).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
c0=$(cpu_ticks)
sleep 5
c1=$(cpu_ticks)
if vm_running; then
	[ $((c1 - c0)) -le 100 ] &&
		ok "poweroff: ember stays up after the guest halted, idle ($((c1 - c0)) ticks of CPU in 5 s)" ||
		notok "poweroff: ember stays up after the guest halted but busy ($((c1 - c0)) ticks of CPU in 5 s)"
	api GET / > /dev/null
	case "$(cat "$D/body")" in
	*'"Running"'*) ok "poweroff: GET / answers, state Running" ;;
	*) notok "poweroff: GET / after the halt: $(cat "$D/body")" ;;
	esac
	kill -TERM "$PID"
	vm_wait_exit 10
	[ "$RC" = 0 ] && ok "poweroff: SIGTERM then stops ember, exit 0" ||
		notok "poweroff: SIGTERM: ember exit $RC, want 0"
else
	vm_wait_exit 1
	notok "poweroff: ember exited ($RC) on the guest's poweroff -f: behaviour changed, update this scenario"
fi
vm_stop
vm_dump
