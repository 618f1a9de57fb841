# Scenario 5: SendCtrlAltDel reaches the guest. The Debian cloud kernel has
# the i8042 and AT keyboard drivers built in (CONFIG_SERIO_I8042=y,
# CONFIG_KEYBOARD_ATKBD=y); the guest sets kernel.ctrl-alt-del=0 so the
# kernel signals init (SIGINT) instead of rebooting, prints a marker from its
# trap and reboots.
vm_start ctrl-alt-del || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=cad" 1 128 || exit
vm_boot || { vm_dump; exit; }
if ! wait_console '^LABG: waiting for ctrl-alt-del' "$LAB_L2_TIMEOUT"; then
	notok "ctrl-alt-del: guest did not get ready"
	vm_stop; vm_dump; exit
fi
if api_expect 204 PUT /actions '{"action_type": "SendCtrlAltDel"}'; then
	t0=$(now_ms)
	if wait_console '^LABG: ctrl-alt-del received' 20; then
		ok "ctrl-alt-del: the guest's init got it ($(secs $(( $(now_ms) - t0 ))) s)"
	else
		notok "ctrl-alt-del: the guest did not see it"
	fi
fi
vm_wait_exit 40
[ "$RC" = 0 ] && ok "ctrl-alt-del: ember exit 0 after the guest's reboot" ||
	notok "ctrl-alt-del: ember exit $RC, want 0"
vm_dump
