# Scenario 10: virtio-balloon with the stock kernel's virtio_balloon module.
# A 512 MiB guest with a balloon (target 0, no deflate_on_oom, statistics
# every second) writes 400 MiB into a tmpfs and frees it: the pages stay
# resident in ember. PATCH /balloon to 300 MiB: the driver hands 300 MiB of
# pages to ember, which madvise(MADV_DONTNEED)s them, so ember's VmRSS must
# drop by at least 250 MiB (some pages the driver picks may never have been
# touched). The guest's free memory in /balloon/statistics must follow
# within a few polling intervals, and its own MemTotal drop. PATCH back to
# 0: the guest gets the memory back (MemTotal as before, MemAvailable up by
# at least 250 MiB). ember's balloon metrics: inflates, deflates, one
# statistics update per second, no failures.
#
# init_on_alloc=0: Debian's kernel zeroes every page it allocates
# (CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y), the balloon's 300 MiB too, just
# before handing them to ember to discard. Under the emulator that zeroing
# made the inflate take 13 s instead of 1.3 s (ember's side, the madvise
# calls, ~0.3 s of it either way).
MIB=1024 # kB
vm_start balloon || exit
vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS init_on_alloc=0 lab_scn=balloon" 1 512 || exit
api_expect 204 PUT /balloon '{"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1}' ||
	{ vm_stop; vm_dump; exit; }
vm_metrics || { vm_stop; vm_dump; exit; }
vm_boot || { vm_stop; vm_dump; exit; }
if ! wait_console '^LABG: init scenario=balloon' "$LAB_L2_TIMEOUT"; then
	notok "balloon: guest /init marker not seen"
	vm_stop; vm_dump; exit
fi
t_live=$WAIT_MS
# stat KEY: KEY of GET /balloon/statistics (empty on failure).
stat() { [ "$(api GET /balloon/statistics)" = 200 ] && json_num "$1"; }
# balloon_wait MIB SECS: poll until the driver reports actual_mib = MIB.
balloon_wait() {
	_end=$(( $(now_ms) + $2 * 1000 ))
	while [ "$(stat actual_mib)" != "$1" ]; do
		[ "$(now_ms)" -lt $_end ] && vm_running || return 1
		sleep 0.2
	done
}
# mem_field N KEY: KEY (total_kb, avail_kb) of the guest's "LABG: mem N" line.
mem_field() { guest_line "mem $1 " | sed -n "s/.* $2=\([0-9]*\).*/\1/p"; }
last_mem_n() { tr -d '\r' < "$D/console" | sed -n 's/^LABG: mem \([0-9]*\) .*/\1/p' | tail -n 1; }

if ! wait_console '^LABG: balloon freed' 60; then
	notok "balloon: the guest did not fill and free its memory (last line: $(last_guest_line))"
	vm_stop; vm_dump; exit
fi
fill=$(guest_line 'balloon filled')
rss0=$(vm_rss_kb)
if [ "$rss0" -ge $((400 * MIB)) ]; then
	ok "balloon: the guest wrote and freed 400 MiB: ember's VmRSS $((rss0 / MIB)) MiB (guest: ${fill#balloon filled })"
else
	notok "balloon: after the guest wrote 400 MiB ember's VmRSS is only $((rss0 / MIB)) MiB (guest: ${fill#balloon filled })"
fi
# The statistics catch up with the freed memory within a few intervals:
# free_memory (bytes) within 32 MiB of the MemFree the guest printed.
gfree=$(guest_line 'balloon freed' | sed -n 's/.* free_kb=\([0-9]*\).*/\1/p')
t1=$(now_ms)
while free0=$(stat free_memory); [ -n "$free0" ] && [ $((free0 / 1024)) -lt $((gfree - 32 * MIB)) ] &&
	[ $(( $(now_ms) - t1 )) -lt 5000 ]; do
	sleep 0.2
done
if [ -n "$free0" ] && [ $((free0 / 1024)) -ge $((gfree - 32 * MIB)) ] &&
	[ -n "$(json_num available_memory)" ] && [ -n "$(json_num total_memory)" ]; then
	ok "balloon: GET /balloon/statistics caught up with the freed memory in $(secs $(( $(now_ms) - t1 ))) s (guest MemFree $((gfree / MIB)) MiB): $(tr -d '\n' < "$D/body" | cut -c1-200)"
else
	notok "balloon: GET /balloon/statistics 5 s after the guest freed its memory (MemFree $((gfree / MIB)) MiB): $(tr -d '\n' < "$D/body" | cut -c1-240)"
fi

# Inflate.
api_expect 204 PATCH /balloon '{"amount_mib": 300}' || { vm_stop; vm_dump; exit; }
t0=$(now_ms)
if ! balloon_wait 300 60; then
	notok "balloon: actual_mib $(stat actual_mib) 60 s after PATCH amount_mib 300, want 300"
	vm_stop; vm_dump; exit
fi
t_inflate=$(( $(now_ms) - t0 ))
rss1=$(vm_rss_kb)
if [ $((rss0 - rss1)) -ge $((250 * MIB)) ]; then
	ok "balloon: inflated to 300 MiB in $(secs $t_inflate) s: ember's VmRSS $((rss0 / MIB)) -> $((rss1 / MIB)) MiB"
else
	notok "balloon: inflated to 300 MiB, but ember's VmRSS went $((rss0 / MIB)) -> $((rss1 / MIB)) MiB, want a drop of >= 250 MiB"
fi
# The statistics follow: the guest's free memory down by >= 250 MiB within
# 5 s (polling interval 1 s).
t1=$(now_ms)
while free1=$(stat free_memory); [ -n "$free1" ] && [ -n "$free0" ] &&
	[ $((free0 - free1)) -lt $((250 * 1048576)) ] && [ $(( $(now_ms) - t1 )) -lt 5000 ]; do
	sleep 0.2
done
if [ -n "$free1" ] && [ -n "$free0" ] && [ $((free0 - free1)) -ge $((250 * 1048576)) ]; then
	ok "balloon: statistics follow: free_memory $((free0 / 1048576)) -> $((free1 / 1048576)) MiB $(secs $(( $(now_ms) - t1 ))) s after the inflate"
else
	notok "balloon: statistics: free_memory '$free0' -> '$free1' bytes 5 s after the inflate, want a drop of >= 250 MiB"
fi
# The guest's own view, from a line it printed after the inflate.
n=$(last_mem_n)
wait_console "^LABG: mem $((n + 1)) " 5
n=$((n + 1))
tot0=$(guest_line 'balloon freed' | sed -n 's/.* total_kb=\([0-9]*\).*/\1/p')
tot1=$(mem_field $n total_kb)
avail1=$(mem_field $n avail_kb)
if [ -n "$tot1" ] && [ -n "$tot0" ] && [ $((tot0 - tot1)) -ge $((290 * MIB)) ] && [ $((tot0 - tot1)) -le $((310 * MIB)) ]; then
	ok "balloon: the guest's MemTotal $((tot0 / MIB)) -> $((tot1 / MIB)) MiB with 300 MiB in the balloon"
else
	notok "balloon: the guest's MemTotal '$tot0' -> '$tot1' kB, want 300 MiB less"
fi

# Deflate.
api_expect 204 PATCH /balloon '{"amount_mib": 0}' || { vm_stop; vm_dump; exit; }
t0=$(now_ms)
# The guest sees its MemTotal back, then waits 3 s before it reboots.
if wait_console '^LABG: balloon cycle seen' 60 && balloon_wait 0 2; then
	l=$(guest_line 'balloon cycle seen')
	avail2=$(echo "$l" | sed -n 's/.* avail_kb=\([0-9]*\).*/\1/p')
	if [ -n "$avail1" ] && [ -n "$avail2" ] && [ $((avail2 - avail1)) -ge $((250 * MIB)) ]; then
		ok "balloon: deflated in $(secs $(( $(now_ms) - t0 ))) s: the guest's MemAvailable $((avail1 / MIB)) -> $((avail2 / MIB)) MiB, MemTotal back (${l#balloon cycle seen })"
	else
		notok "balloon: deflated, but the guest's MemAvailable went '$avail1' -> '$avail2' kB, want a rise of >= 250 MiB"
	fi
else
	notok "balloon: after PATCH amount_mib 0: actual_mib $(stat actual_mib), guest: $(last_guest_line)"
fi
vm_wait_exit 30
t_live=$(( $(now_ms) - VM_T0 - t_live ))
[ "$RC" = 0 ] && ok "balloon: ember exit 0 after the guest's reboot" ||
	notok "balloon: ember exit $RC, want 0 after the guest's reboot"
# ember's side: pages went both ways; statistics came once per interval
# (1 s) for as long as the driver was up (from the guest's init marker to
# ember's exit: allow a late first one and the emulator's hiccups).
m=$(group_metrics balloon)
upd=$(metric stats_updates_count "$m")
s=$((t_live / 1000))
if [ "$(metric inflate_count "$m")" -gt 0 ] && [ "$(metric deflate_count "$m")" -gt 0 ] &&
	[ "${upd:-0}" -ge $((s / 2)) ] && [ "${upd:-0}" -le $((s + 3)) ] &&
	[ "$(metric activate_fails "$m")" = 0 ] && [ "$(metric event_fails "$m")" = 0 ] &&
	[ "$(metric stats_update_fails "$m")" = 0 ]; then
	ok "balloon: ember's balloon metrics ($upd statistics updates in ${s} s at 1 s): $m"
else
	notok "balloon: ember's balloon metrics: $m; want inflates and deflates, $((s / 2))-$((s + 3)) statistics updates in ${s} s, no failures"
fi
vm_stop
vm_dump
