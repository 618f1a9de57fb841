# Scenario 4: PATCH /vm Paused then Resumed while the guest prints a counter
# every 0.2 s: the counter stops while paused and goes on after Resumed.
vm_start pause-resume || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=counter" 1 128 || exit
vm_boot || { vm_dump; exit; }
last_tick() { sed -n 's/^LABG: tick \([0-9]*\).*/\1/p' "$D/console" | tail -n 1; }
if ! wait_console '^LABG: tick 3$' "$LAB_L2_TIMEOUT"; then
	notok "pause-resume: guest counter did not start"
	vm_stop; vm_dump; exit
fi
if api_expect 204 PATCH /vm '{"state": "Paused"}'; then
	# A line already on its way through the UART may still land: let it.
	sleep 0.5
	n1=$(last_tick)
	sleep 3
	n2=$(last_tick)
	[ "$n1" = "$n2" ] && ok "pause-resume: counter stopped while Paused (at $n1 for 3 s)" ||
		notok "pause-resume: counter went on while Paused ($n1 -> $n2)"
	api GET / > /dev/null
	case "$(cat "$D/body")" in
	*'"Paused"'*) ok "pause-resume: GET / says Paused" ;;
	*) notok "pause-resume: GET / while paused: $(cat "$D/body")" ;;
	esac
	if api_expect 204 PATCH /vm '{"state": "Resumed"}'; then
		if wait_console "^LABG: tick $((n2 + 2))\$" 20; then
			ok "pause-resume: counter went on after Resumed ($n2 -> $(last_tick))"
		else
			notok "pause-resume: counter stuck at $(last_tick) after Resumed"
		fi
	fi
fi
vm_wait_exit 40
[ "$RC" = 0 ] && ok "pause-resume: ember exit 0 after the guest's reboot" ||
	notok "pause-resume: ember exit $RC, want 0"
vm_dump
