# Scenario 7 (negative): a corrupt kernel makes InstanceStart answer 400 with
# a fault message, and ember stays up (GET / still answers).
printf 'this is not a kernel\n%.0s' $(seq 200) > /tmp/garbage.img
# A bzImage cut short: a valid setup header, its payload missing.
head -c 65536 /lab/vmlinuz > /tmp/truncated.img
for k in garbage truncated; do
	(
	vm_start "bad-kernel-$k" || exit
	vm_config "/tmp/$k.img" /lab/guest.cpio "$L2_ARGS lab_scn=boot" 1 128 || exit
	code=$(api PUT /actions '{"action_type": "InstanceStart"}')
	body=$(tr '\n' ' ' < "$D/body" | cut -c1-160)
	[ "$code" = 400 ] && ok "bad-kernel-$k: InstanceStart -> 400 $body" ||
		notok "bad-kernel-$k: InstanceStart -> $code $body, want 400"
	code=$(api GET /)
	if [ "$code" = 200 ] && vm_running; then
		ok "bad-kernel-$k: ember still up, GET / -> 200 $(tr '\n' ' ' < "$D/body" | cut -c1-120)"
	else
		notok "bad-kernel-$k: after the failed start GET / -> $code, running: $(vm_running && echo yes || echo no)"
	fi
	vm_stop
	vm_dump
	)
done
