#!/bin/sh
# bench/net.sh [SECS [SPIN_US]]: guest-to-guest TCP throughput in the nested lab
# (tests/lab, one L1 run): iperf3 for SECS s (default 10) between two L2
# guests (stock Debian kernel, its virtio_net) through
#   ember-ring  ember's comms ring backend and ember-switch (--spin-us
#               SPIN_US when given, else its default),
#   ember-tap   the same two embers on TAPs in a Linux bridge,
#   qemu-tap    two QEMU microvm guests on the same TAPs and bridge.
# Absolute figures are an emulator's (L1 is QEMU TCG, L2 runs on L1's KVM
# over TCG's emulated SVM): read the ratios, measured in the same run.
# The measurements: tests/lab/l1/bench-net.sh; L1's whole console in
# $LAB_OUT/console-bench-net.log.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10} spin=${2:-}
. tests/lab/config.sh
[ -x "$LAB_SWITCH" ] || { echo "net bench: $LAB_SWITCH missing: run make first" >&2; exit 1; }
tests/lab/run.sh --bench-l1 net "$secs${spin:+ $spin}" > /dev/null || true
log=$LAB_OUT/console-bench-net.log
grep -q '^LAB-L1: done' "$log" || { echo "net bench: L1 did not finish, see $log" >&2; exit 1; }
if grep -q '^LAB-BENCH net .* failed' "$log"; then
	echo "net bench: some setups failed (see $log):" >&2
	grep '^LAB-BENCH net .* failed' "$log" >&2
fi

grep '^LAB-BENCH net setup=' "$log" | grep -v ' failed' | awk '
function v(k) { return (k in kv) ? kv[k] : "-" }
{
	delete kv
	for (f = 3; f <= NF; f++) if (split($f, p, "=") == 2) kv[p[1]] = p[2]
	s = kv["setup"]; order[++n] = s; mb[s] = kv["receiver_mbits"]
	if (n == 1) {
		printf "%-11s %12s %12s %6s %8s   %-28s %-28s %-12s %s\n", "setup", "recv Mbit/s", "sent Mbit/s", "retr", "window s",
			"server VMM cpu s (own/all)", "client VMM cpu s (own/all)", "switch cpu s", "client frames / avg"
	}
	printf "%-11s %12s %12s %6s %8.1f   %-28s %-28s %-12s %s\n", s, v("receiver_mbits"), v("sender_mbits"), v("retr"), kv["window_ms"] / 1000,
		sprintf("%.2f / %.2f", kv["server_vmm_cpu"] / 100, kv["server_cpu"] / 100),
		sprintf("%.2f / %.2f", kv["client_vmm_cpu"] / 100, kv["client_cpu"] / 100),
		("switch_cpu" in kv) ? sprintf("%.2f", kv["switch_cpu"] / 100) : "-",
		(kv["client_tx_frames"] > 0 ? sprintf("%d / %.0f B", kv["client_tx_frames"], kv["client_tx_bytes"] / kv["client_tx_frames"]) : "-")
}
END {
	if (!n) { print "no results"; exit 1 }
	print ""
	if (("qemu-tap" in mb) && mb["qemu-tap"] > 0) {
		print "throughput ratios (same L1 run):"
		for (i = 1; i <= n; i++) if (order[i] != "qemu-tap")
			printf "  %-11s / qemu-tap   %.2f\n", order[i], mb[order[i]] / mb["qemu-tap"]
	}
}'
echo
echo "(iperf3 -c for $secs s, one run per setup in one L1 run; cpu s: used in the window from the"
echo " client's start to its result (the 'window s' column: the connection and iperf3's report"
echo " included; L1 has one CPU); 'own': the VMM's threads other than its vCPU thread, 'all': with"
echo " the vCPU thread (the guest's own work); client frames: ember's net metrics, whole boot"
echo " included; full L1 console: $log)"
