# Scenario 6: the guest runs `poweroff -f`. (Observation run: records what
# ember does; the assertion follows what was observed.)
vm_start poweroff || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=poweroff" 1 128 || exit
vm_boot || { vm_dump; exit; }
if ! wait_console '^LABG: poweroff -f' "$LAB_L2_TIMEOUT"; then
	notok "poweroff: guest did not get to poweroff -f"
	vm_stop; vm_dump; exit
fi
t0=$(now_ms)
vm_wait_exit 25
echo "LAB-L1: poweroff: ember RC=$RC after $(secs $(( $(now_ms) - t0 ))) s"
vm_stop
vm_dump
