# shellcheck shell=bash
# virtio-balloon on the host's /dev/kvm: sourced by tests/guest/run.sh (its
# helpers, counters and filter; `run.sh balloon` runs only this). ember only:
# the host drives the guest through ember's API (PATCH /balloon) and checks
# ember's own RSS, which QEMU's runner has no counterpart for.
#
# The guest (tests/guest/balloon.c, 256 MiB, balloon amount_mib 0, statistics
# every 1 s) touches 128 MiB and says "ready"; the host then, step by step,
# each step bounded by BAL_WAIT seconds:
#   PATCH 120 MiB -> the guest inflates 30720 pages; VmRSS drops >= 100 MiB;
#                    GET /balloon and /balloon/statistics follow; the stats
#                    refresh at the polling interval with the guest's values
#   PATCH 0       -> the guest deflates, finds the released pages zeroed and
#                    the others intact; VmRSS rises >= 100 MiB again
#   (hostile PFNs and buffers, checked by the guest; the API still answers)
#   PATCH 1 MiB   -> the guest inflates 256 pages and exits (SUCCESS).
# RSS numbers go to $DIR/rss and the ok lines.

BAL_WAIT=${BAL_WAIT:-15}
BAL_MIB=256
BAL_MB=$((BAL_MIB << 20))

# bal_api METHOD PATH [BODY]: sets BAL_CODE, the body in $DIR/api-last.
bal_api() {
	local -a data=()
	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' -d "$3")
	BAL_CODE=$(curl -s -m 5 --unix-socket "$BAL_SOCK" -X "$1" "${data[@]}" \
		-o "$DIR/api-last" -w '%{http_code}' "http://localhost$2" 2>/dev/null)
	{ echo "$1 $2 ${3:-} -> $BAL_CODE"; cat "$DIR/api-last"; echo; } >>"$DIR/api-log"
}
# ember answers flat JSON objects ({"k":v,...}): read them without a
# parser process per lookup (the pyenv shim alone costs ~0.1 s).
# bal_json KEY: the value of KEY in the last API answer ("" if absent).
bal_json() { grep -o "\"$1\":[^,}]*" "$DIR/api-last" | head -n1 | cut -d: -f2-; }
bal_keys() { grep -o '"[a-z_]*":' "$DIR/api-last" | tr -d '":' | sort | tr '\n' ' ' | sed 's/ $//'; }
bal_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$BAL_PID/status" 2>/dev/null; } # kB
bal_alive() { kill -0 "$BAL_PID" 2>/dev/null; }
# bal_wait_line REGEX: up to BAL_WAIT s for a serial line; 1 if ember is gone.
bal_wait_line() {
	local i
	for ((i = 0; i < BAL_WAIT * 20; i++)); do
		serial | grep -qE -- "$1" && return 0
		bal_alive || { serial | grep -qE -- "$1"; return; }
		sleep 0.05
	done
	return 1
}
# bal_step WHAT REGEX: wait for the guest; a miss ends the drive.
bal_step() {
	if bal_wait_line "$2"; then
		ok "$BAL_NAME: $1"
		return 0
	fi
	not_ok "$BAL_NAME: $1 (no '$2' within $BAL_WAIT s)"
	return 1
}
bal_stat_is() { # KEY WANT
	local got
	got=$(bal_json "$1")
	check "$BAL_NAME: statistics: $1 $got (want $2)" equals "$got" "$2"
}
bal_patch() { # MIB
	bal_api PATCH /balloon "{\"amount_mib\": $1}"
	check "$BAL_NAME: PATCH /balloon amount_mib $1 -> 204 (got $BAL_CODE)" equals "$BAL_CODE" 204
}

# Ready: the first statistics buffer is in; nothing inflated.
bal_ready() {
	bal_step "guest touched 128 MiB and is ready" '^balloon: ready$' || return 1
	BAL_RSS0=$(bal_rss)
	bal_api GET /balloon/statistics
	check "$BAL_NAME: GET /balloon/statistics -> 200 (got $BAL_CODE)" equals "$BAL_CODE" 200
	bal_stat_is actual_pages 0
	bal_stat_is swap_in 0
	bal_stat_is total_memory $BAL_MB
	bal_stat_is free_memory $((BAL_MB - (128 << 20)))
	bal_stat_is available_memory $BAL_MB
	check "$BAL_NAME: statistics: minor_faults (guest refills) >= 1" test "$(bal_json minor_faults)" -ge 1
	check "$BAL_NAME: statistics: only named fields (the guest's tag 0x7f left out)" equals "$(bal_keys)" \
		"actual_mib actual_pages available_memory free_memory minor_faults swap_in target_mib target_pages total_memory"
}

bal_inflate() {
	local refills
	bal_patch 120
	if [ "$BAL_IRQ" = 1 ]; then
		bal_step "guest sees the target (config interrupt)" '^balloon: target 30720 pages \(120 MiB\), config interrupt seen$' || return 1
	else
		bal_step "guest sees the target (polled)" '^balloon: target 30720 pages \(120 MiB\)$' || return 1
	fi
	bal_step "guest inflated 30720 pages" '^balloon: inflated to 30720 pages \(120 MiB\)' || return 1
	BAL_RSS1=$(bal_rss)
	check "$BAL_NAME: VmRSS $BAL_RSS0 kB -> $BAL_RSS1 kB after inflating 120 MiB: dropped >= 100 MiB" \
		test $((BAL_RSS0 - BAL_RSS1)) -ge $((100 << 10))
	bal_api GET /balloon
	check "$BAL_NAME: GET /balloon: amount_mib $(bal_json amount_mib) (want 120)" equals "$(bal_json amount_mib)" 120
	bal_api GET /balloon/statistics
	bal_stat_is actual_mib 120
	bal_stat_is actual_pages 30720
	bal_stat_is target_pages 30720
	refills=$(bal_json minor_faults)
	# The device gives the buffer back every second; the guest's refill
	# then reports the balloon: 256 - 120 MiB available.
	local i want=$((BAL_MB - (120 << 20)))
	for ((i = 0; i < 40; i++)); do
		bal_api GET /balloon/statistics
		[ "$(bal_json available_memory)" = $want ] && [ "$(bal_json minor_faults)" -gt "$refills" ] && break
		sleep 0.1
	done
	check "$BAL_NAME: statistics refreshed within 4 s: minor_faults $refills -> $(bal_json minor_faults), available_memory $(bal_json available_memory) (want $want)" \
		bash -c "[ '$(bal_json available_memory)' = $want ] && [ '$(bal_json minor_faults)' -gt '$refills' ]"
}

bal_deflate() {
	bal_patch 0
	bal_step "guest deflated to 0 pages" '^balloon: deflated to 0 pages' || return 1
	bal_step "released pages read 0 and take writes, the rest intact" \
		'^balloon: after deflate: 30720 released pages read 0 and take writes, 2048 others kept their values' || return 1
	BAL_RSS2=$(bal_rss)
	check "$BAL_NAME: VmRSS $BAL_RSS1 kB -> $BAL_RSS2 kB after deflating and re-touching: rose >= 100 MiB" \
		test $((BAL_RSS2 - BAL_RSS1)) -ge $((100 << 10))
	bal_api GET /balloon/statistics
	bal_stat_is actual_mib 0
}

bal_hostile() {
	[ "$BAL_HOSTILE" = 1 ] || return 0
	bal_step "hostile: bad PFNs skipped, device live" \
		'^balloon: hostile: PFNs 0x10000 0x100000 0xffffffff 0xc0000 0xc0001 0xfee00: skipped, the good PFN beside them released, device live$' || return 1
	bal_step "hostile: 10- and 3-byte PFN buffers" '^balloon: hostile: 10-byte buffer: 2 PFNs released, tail ignored; 3-byte buffer: nothing released; device live$' || return 1
	bal_step "hostile: device-writable PFN buffer ignored" '^balloon: hostile: writable PFN buffer: ignored, device live$' || return 1
	bal_step "hostile: 25-byte stats buffer" '^balloon: hostile: 25-byte stats buffer sent, device live$' || return 1
	bal_step "hostile: PFN buffer outside RAM -> NEEDS_RESET" '^balloon: hostile: PFN buffer at 0x10000000 \(outside RAM\): status 0x4f$' || return 1
	bal_step "hostile: reset and re-init recover" '^balloon: hostile: reset, re-init, inflate and deflate work again$' || return 1
	bal_step "hostile done" '^balloon: hostile done$' || return 1
	bal_api GET /
	check "$BAL_NAME: after the hostile cases GET / -> 200 Running" \
		bash -c "[ '$BAL_CODE' = 200 ] && grep -q '\"state\":\"Running\"' '$DIR/api-last'"
	bal_api GET /balloon
	check "$BAL_NAME: GET /balloon -> 200 amount_mib 0 (got $BAL_CODE)" \
		equals "$BAL_CODE $(bal_json amount_mib)" "200 0"
	bal_api GET /balloon/statistics
	check "$BAL_NAME: GET /balloon/statistics -> 200 (got $BAL_CODE)" equals "$BAL_CODE" 200
}

bal_drive() {
	local i
	# ember, the child of timeout; by name, because timeout's children
	# file may briefly list a short-lived helper child first.
	for ((i = 0; i < 100; i++)); do
		BAL_PID=$(pgrep -P "$BAL_TPID" -x "$(basename "$EMBER" | cut -c1-15)" | head -n1)
		[ -n "$BAL_PID" ] && break
		sleep 0.02
	done
	bal_ready && bal_inflate && bal_deflate && bal_hostile && bal_patch 1
	{
		echo "ready $BAL_RSS0 kB"
		echo "inflated $BAL_RSS1 kB"
		echo "deflated $BAL_RSS2 kB"
	} >"$DIR/rss"
}

# balloon_case NAME IRQ HOSTILE: the guest's irq= and hostile= settings.
balloon_case() {
	local name=$1 t0 t1
	BAL_IRQ=$2 BAL_HOSTILE=$3
	[ "$MODE" = ember ] || return 0
	start "$name" || return 0
	if ! [ -f "$GUEST_DIR/balloon.elf" ] || ! command -v curl >/dev/null; then
		not_ok "$name: needs $GUEST_DIR/balloon.elf (make guests) and curl"
		return 0
	fi
	BAL_NAME=$name DIR=$OUT/$name BAL_RSS0="" BAL_RSS1="" BAL_RSS2="" RC=running MS=-
	rm -rf "$DIR"
	mkdir -p "$DIR"
	BAL_SOCK=$(abspath "$DIR/api.sock")
	printf '{\n  "boot-source": {"kernel_image_path": %s, "boot_args": "touch=128 irq=%d hostile=%d"},\n  "machine-config": {"vcpu_count": 1, "mem_size_mib": %d},\n  "balloon": {"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1}\n}\n' \
		"$(json_str "$ROOT/$GUEST_DIR/balloon.elf")" "$BAL_IRQ" "$BAL_HOSTILE" $BAL_MIB >"$DIR/cfg.json"
	t0=$(date +%s%N)
	timeout "$TIMEOUT" "$EMBER" --api-sock "$BAL_SOCK" --config-file "$DIR/cfg.json" \
		>"$DIR/stdout" 2>"$DIR/stderr" </dev/null &
	BAL_TPID=$!
	bal_drive
	# A drive that stopped early leaves the guest waiting: end ember now
	# rather than at the timeout (our own child, by its pid).
	if ! has_line SUCCESS && [ -n "${BAL_PID:-}" ]; then
		bal_wait_line '^(SUCCESS|FAIL)' || kill "$BAL_PID" 2>/dev/null
	fi
	wait $BAL_TPID
	RC=$?
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	echo "$RC" >"$DIR/rc"
	echo "$MS" >"$DIR/ms"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: last target: 256 pages inflated" has_line "balloon: inflated to 256 pages (1 MiB)"
	if [ "$BAL_IRQ" = 1 ]; then
		check "$name: config and used-buffer interrupts (InterruptStatus bits 0x3)" \
			serial_has '^balloon: irq: [1-9][0-9]* interrupts, InterruptStatus bits 0x3 since the last target;'
	fi
	check "$name: done in < 30 s ($MS ms)" test "$MS" -lt 30000
	[ "$BAL_HOSTILE" = 1 ] || return 0
	local pfn
	for pfn in 0x10000 0x100000 0xffffffff 0xc0000 0xc0001 0xfee00; do
		check "$name: log: PFN $pfn outside guest RAM, skipped" log_has "inflated PFN $pfn is outside guest RAM; skipped"
	done
	check "$name: log: 10-byte PFN buffer" log_has 'PFN buffer of 10 bytes is not a multiple of 4; tail ignored'
	check "$name: log: 3-byte PFN buffer" log_has 'PFN buffer of 3 bytes is not a multiple of 4; tail ignored'
	check "$name: log: 25-byte stats buffer" log_has 'stats buffer of 25 bytes is not a multiple of 10'
	check "$name: log: buffer outside RAM breaks the device" log_has 'balloon: device broken, needs reset'
}

balloon_case balloon 1 1
balloon_case balloon-polled 0 0
