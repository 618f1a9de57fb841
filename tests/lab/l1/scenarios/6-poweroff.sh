# Scenario 6: the guest runs `poweroff -f`. What ember must do depends on
# what the guest found:
# - an ACPI FADT (ember's ACPI power-off): the kernel writes the S5 sleep
#   type to the PM1 control register, and ember exits 0.
# - no ACPI (ember before ACPI tables): the kernel has no power-off method and
#   the reboot syscall turns POWER_OFF into HALT: it prints "reboot: System
#   halted" and stops its CPU with interrupts off. Observed and asserted:
#   ember keeps running (the API still answers, state Running) without burning
#   CPU, until SIGTERM, which exits 0.
vm_start poweroff || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=poweroff" 1 128 || exit
vm_boot || { vm_dump; exit; }
if ! wait_console '^LABG: poweroff -f' "$LAB_L2_TIMEOUT"; then
	notok "poweroff: guest did not get to poweroff -f"
	vm_stop; vm_dump; exit
fi

if has_acpi_table FACP; then
	vm_wait_exit 30
	if [ "$RC" = 0 ]; then
		ok "poweroff: ACPI power-off (the guest has a FADT): ember exits 0"
	else
		notok "poweroff: the guest has a FADT, yet after poweroff -f ember $([ "$RC" = running ] && echo 'still runs 30 s on' || echo "exited $RC"), want exit 0"
	fi
	vm_stop
	vm_dump
	exit
fi

if wait_console 'reboot: System halted' 20; then
	ok "poweroff: no ACPI: the guest kernel halts ('reboot: System halted')"
else
	notok "poweroff: no 'reboot: System halted' from the guest within 20 s"
fi
# The utime + stime of all of ember's threads (clock ticks, USER_HZ=100).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
c0=$(cpu_ticks)
sleep 5
c1=$(cpu_ticks)
if vm_running; then
	if [ $((c1 - c0)) -le 100 ]; then
		ok "poweroff: ember stays up after the guest halted, idle ($((c1 - c0)) ticks of CPU in 5 s)"
	else
		notok "poweroff: ember stays up after the guest halted but busy ($((c1 - c0)) ticks of CPU in 5 s)"
	fi
	api GET / > /dev/null
	case "$(cat "$D/body")" in
	*'"Running"'*) ok "poweroff: GET / answers, state Running" ;;
	*) notok "poweroff: GET / after the halt: $(cat "$D/body")" ;;
	esac
	kill -TERM "$PID"
	vm_wait_exit 10
	if [ "$RC" = 0 ]; then ok "poweroff: SIGTERM then stops ember, exit 0"
	else notok "poweroff: SIGTERM: ember exit $RC, want 0"; fi
else
	vm_wait_exit 1
	notok "poweroff: without ACPI, ember exited ($RC) on the guest's halt: want it to stay up until SIGTERM"
fi
vm_stop
vm_dump
