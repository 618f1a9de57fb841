# Scenario 11: PUT /entropy gives the guest a virtio-rng device; the stock
# kernel's virtio_rng module binds it and the hw_random core (built in) makes
# it the current hardware RNG. The guest reads LAB_ENTROPY_KIB (1 MiB) from
# /dev/hwrng: all of it arrives, and about 255/256 of the bytes are non-zero,
# as random bytes are (1 MiB: expected 1044480, standard deviation 64; the
# bounds, 45 standard deviations, let any random stream pass and fail a
# constant or zero-padded one). ember's entropy metrics count at least as
# many bytes.
vm_start entropy || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=entropy lab_rng_kib=$LAB_ENTROPY_KIB" 1 128 || exit
api_expect 204 PUT /entropy '{}' || { vm_stop; vm_dump; exit; }
vm_metrics || { vm_stop; vm_dump; exit; }
vm_boot || { vm_stop; vm_dump; exit; }
if ! wait_console '^LABG: hwrng read' "$LAB_L2_TIMEOUT"; then
	notok "entropy: the guest did not read /dev/hwrng (last line: $(last_guest_line))"
	vm_stop; vm_dump; exit
fi
l=$(guest_line 'hwrng current=')
case "$l" in
"hwrng current=virtio_rng"*) ok "entropy: the guest's hardware RNG is ember's device: $l" ;;
*) notok "entropy: guest: ${l:-no hwrng line}, want rng_current virtio_rng.N" ;;
esac
bytes=$((LAB_ENTROPY_KIB * 1024))
l=$(guest_line 'hwrng read')
nz=$(echo "$l" | sed -n 's/.* nonzero=\([0-9]*\).*/\1/p')
# The bounds: bytes * 255/256 +- 45 standard deviations (sqrt(bytes * 255) /
# 256; busybox's awk has no sqrt: Newton's method in integers).
isqrt() {
	_x=$1 _y=$(( ($1 + 1) / 2 ))
	while [ $_y -lt $_x ]; do _x=$_y _y=$(( (_x + $1 / _x) / 2 )); done
	echo $_x
}
d=$(( 45 * $(isqrt $((bytes * 255))) / 256 ))
lo=$((bytes * 255 / 256 - d)) hi=$((bytes * 255 / 256 + d))
case "$l" in
"hwrng read bytes=$bytes "*)
	if [ -n "$nz" ] && [ "$nz" -ge "$lo" ] && [ "$nz" -le "$hi" ]; then
		ok "entropy: $LAB_ENTROPY_KIB KiB read from /dev/hwrng, random-looking ($l; non-zero bytes within $lo-$hi)"
	else
		notok "entropy: $LAB_ENTROPY_KIB KiB read from /dev/hwrng, but ${nz:-?} non-zero bytes, want $lo-$hi ($l)"
	fi
	;;
*) notok "entropy: guest: $l, want bytes=$bytes" ;;
esac
vm_wait_exit 30
[ "$RC" = 0 ] && ok "entropy: ember exit 0 after the guest's reboot" ||
	notok "entropy: ember exit $RC, want 0 after the guest's reboot"
m=$(group_metrics entropy)
if [ "$(metric entropy_bytes "$m")" -ge $bytes ] && [ "$(metric entropy_event_count "$m")" -gt 0 ] &&
	[ "$(metric host_rng_fails "$m")" = 0 ] && [ "$(metric entropy_event_fails "$m")" = 0 ] &&
	[ "$(metric activate_fails "$m")" = 0 ]; then
	ok "entropy: ember's entropy metrics: $m"
else
	notok "entropy: ember's entropy metrics: $m; want >= $bytes bytes delivered, no failures"
fi
vm_stop
vm_dump
