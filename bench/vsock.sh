#!/bin/sh
# bench/vsock.sh [MIB [RUNS [CONNS]]]: ember's virtio-vsock in the nested lab
# (tests/lab, one L1 run; defaults 64 MiB, 3 runs, 50 connections): a stock
# Debian kernel's vsock (vmw_vsock_virtio_transport) sends MIB MiB to the
# host RUNS times (socat VSOCK-CONNECT -> ember -> <uds_path>_6000 -> socat),
# beside the same bytes from socat to socat over a plain AF_UNIX stream on L1
# in the same run; CONNS host clients in turn time ember's CONNECT -> OK
# (and the echoed line from the guest's socat echo server, beside a socat
# echo server on L1 over AF_UNIX). Host -> guest once, for information.
# Absolute figures are an emulator's (L1 is QEMU TCG): read the ratios.
# The measurements: tests/lab/l1/bench-vsock.sh.
set -eu
cd "$(dirname "$0")/.."
mib=${1:-64} runs=${2:-3} conns=${3:-50}
. tests/lab/config.sh
tests/lab/run.sh --bench-l1 vsock "$mib $runs $conns" > /dev/null || true
log=$LAB_OUT/console-bench-vsock.log
grep -q '^LAB-L1: done' "$log" || { echo "vsock bench: L1 did not finish, see $log" >&2; exit 1; }
if grep -q '^LAB-BENCH failed' "$log"; then
	echo "vsock bench: some measurements failed (see $log):" >&2
	grep '^LAB-BENCH failed' "$log" >&2
fi

grep '^LAB-BENCH kind=' "$log" | awk -v mib="$mib" '
function sort(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } }
function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{
	delete kv
	for (f = 2; f <= NF; f++) if (split($f, p, "=") == 2) kv[p[1]] = p[2]
	k = kv["kind"]
	if (kv["secs"] != "") { n = ++ns[k]; secs[k, n] = kv["secs"] + 0; b[k] = kv["bytes"] }
	if (kv["ok_ms"] != "") { n = ++nl["vsock-ok"]; lat["vsock-ok", n] = kv["ok_ms"] + 0 }
	if (kv["echo_ms"] != "") { n = ++nl[k "-echo"]; lat[k "-echo", n] = kv["echo_ms"] + 0 }
	if (k == "exit") { sub(/^LAB-BENCH kind=exit /, ""); exitline = $0 }
	if (k == "cpu-g2h") { cw = kv["wall_s"]; cm = kv["ember_vmm_s"]; cv = kv["ember_vcpu_s"] }
}
function trow(k, name,   n, i, a, m) {
	n = ns[k]
	if (!n) { printf "%-34s %5s\n", name, "-"; return -1 }
	for (i = 1; i <= n; i++) a[i] = secs[k, i]
	sort(a, n)
	m = med(a, n)
	printf "%-34s %5d %9.3f %9.1f %8.1f-%.1f\n", name, n, m, b[k] / m / 1e6, b[k] / a[n] / 1e6, b[k] / a[1] / 1e6
	return b[k] / m / 1e6
}
function lrow(k, name,   n, i, a) {
	n = nl[k]
	if (!n) { printf "%-34s %5s\n", name, "-"; return }
	for (i = 1; i <= n; i++) a[i] = lat[k, i]
	sort(a, n)
	printf "%-34s %5d %9.2f %8.2f %8.2f\n", name, n, med(a, n), a[1], a[n]
}
END {
	printf "%-34s %5s %9s %9s %12s\n", "transfer (" mib " MiB)", "runs", "median s", "MB/s", "MB/s range"
	v = trow("vsock-g2h", "vsock guest -> host (ember)")
	u = trow("unix", "AF_UNIX on L1 (socat -> socat)")
	trow("vsock-h2g", "vsock host -> guest (ember)")
	print ""
	printf "%-34s %5s %9s %8s %8s\n", "latency (ms)", "runs", "median", "min", "max"
	lrow("vsock-ok", "vsock CONNECT -> OK")
	lrow("vsock-connect-echo", "vsock CONNECT -> echoed line")
	lrow("unix-connect-echo", "AF_UNIX connect -> echoed line")
	print ""
	if (v > 0 && u > 0) printf "vsock guest -> host / AF_UNIX on L1 throughput: %.2f\n", v / u
	if (cw != "") printf "CPU during the %d guest -> host runs (%s s wall): ember VMM thread (the device) %s s, vCPU thread (the guest) %s s\n", ns["vsock-g2h"], cw, cm, cv
	if (exitline != "") print "ember: " exitline
}'
echo
echo "(one L1 run; MB/s = 10^6 bytes/s from the receiving socat's log, accept to exit; receivers write"
echo " to /dev/null on L1, the guest's host -> guest receiver to its tmpfs; full L1 console: $log)"
