#!/bin/bash
# The serial console's host side and stop signals, end to end: stdin (a FIFO)
# reaches the guest through the UART's interrupt path, and SIGTERM/SIGINT stop
# a running VM cleanly.
set -u
cd "$(dirname "$0")/../.."
EMBER=$PWD/build/ember
GUEST=$PWD/build/guest/console.elf
T=$(mktemp -d /tmp/ember-console.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
pass=0; fail=0

ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1"; fail=$((fail + 1)); sed 's/^/    /' "$T/out" "$T/err" 2>/dev/null | tail -8; }

cfg() {
	printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "%s"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}\n' \
		"$GUEST" "$1" >"$T/vm.json"
}

# wait_for FILE REGEX SECONDS
wait_for() {
	for _ in $(seq $(($3 * 50))); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
	return 1
}

if [ ! -c /dev/kvm ]; then
	echo "console: 0 passed, 0 failed, 1 skipped (no /dev/kvm)"
	exit 0
fi

# 1. stdin FIFO -> UART RX -> IRQ 4 -> guest; each line echoed, "quit" ends the VM.
cfg "mode=echo"
mkfifo "$T/in"
"$EMBER" --no-api --config-file "$T/vm.json" <"$T/in" >"$T/out" 2>"$T/err" &
pid=$!
exec 3>"$T/in"
if wait_for "$T/out" "console: ready" 5; then
	printf 'hello ember\n' >&3
	wait_for "$T/out" "echo: hello ember" 5 && ok "FIFO input reaches the guest by interrupt" \
		|| nok "FIFO input reaches the guest by interrupt"
	# More than the 64-byte receive FIFO at once: nothing may be lost.
	long=$(printf 'abcdefghij%.0s' $(seq 20))
	printf '%s\n' "$long" >&3
	wait_for "$T/out" "echo: $long" 5 && ok "200-byte line survives the 64-byte FIFO" \
		|| nok "200-byte line survives the 64-byte FIFO"
	printf 'quit\n' >&3
else
	nok "console guest did not come up"
fi
exec 3>&-
wait $pid; rc=$?
[ $rc -eq 0 ] && grep -q SUCCESS "$T/out" && ok "guest quits on input: exit 0" || nok "guest quit: exit $rc"

# 2. SIGTERM and SIGINT stop a running VM cleanly (exit 0, promptly).
for sig in TERM INT; do
	cfg "mode=idle"
	"$EMBER" --no-api --config-file "$T/vm.json" </dev/null >"$T/out" 2>"$T/err" &
	pid=$!
	if wait_for "$T/out" "idle: ready" 5; then
		start=$(date +%s%N)
		kill -s $sig $pid
		wait $pid; rc=$?
		ms=$((($(date +%s%N) - start) / 1000000))
		if [ $rc -eq 0 ] && [ $ms -lt 1000 ] && grep -q "received signal" "$T/err"; then
			ok "SIG$sig stops the VM: exit 0 in ${ms} ms"
		else
			nok "SIG$sig: exit $rc after ${ms} ms"
		fi
	else
		nok "idle guest did not come up"; kill -9 $pid; wait $pid
	fi
done

echo "console: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
