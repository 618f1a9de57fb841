#!/bin/sh
# bench/lab-boot.sh [N]: boot time and memory of ember against QEMU's microvm
# machine, both on real KVM in the nested lab (tests/lab: one L1 run, N boots
# of each VMM, default 3). Inside L1 every VMM boots the same stock Debian
# cloud kernel (bzImage) + busybox initramfs, 1 vCPU, 128 MiB; times run to
# the guest init's marker line, memory is sampled then. Absolute times are an
# emulator's (L1 is QEMU TCG): read the ratios, measured in the same run.
set -eu
cd "$(dirname "$0")/.."
n=${1:-3}
tests/lab/run.sh --bench "$n" > /dev/null || true
log=build/lab/console-bench.log
grep -q '^LAB-L1: done' "$log" || { echo "lab-boot: L1 did not finish, see $log" >&2; exit 1; }
if grep -q '^LAB-BENCH .* failed' "$log"; then
	echo "lab-boot: some boots failed (see $log):" >&2
	grep '^LAB-BENCH .* failed' "$log" >&2
fi

# Medians per VMM, then ratios to ember-cfg (process start to init, like
# QEMU's) and to ember's overhead.
grep '^LAB-BENCH ' "$log" | grep -v ' failed' | awk '
function med(key,   n, i, j, t, a) {
	n = split(vals[key], a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n ? (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : -1
}
{
	vmm = ""
	for (f = 2; f <= NF; f++) {
		split($f, kv, "=")
		if (kv[1] == "vmm") { vmm = kv[2]; if (!(vmm in seen)) { seen[vmm] = 1; order[++nv] = vmm }; continue }
		if (kv[1] == "run") continue
		vals[vmm SUBSEP kv[1]] = vals[vmm SUBSEP kv[1]] " " kv[2]
		runs[vmm SUBSEP kv[1]]++
	}
}
END {
	printf "%-12s %5s %14s %16s %9s %9s %11s %12s\n", "vmm", "runs", "start->init s", "process->init s", "RSS MiB", "HWM MiB", "guest MiB", "VMM-only MiB"
	for (k = 1; k <= nv; k++) {
		v = order[k]
		init = med(v SUBSEP "init_ms"); proc = med(v SUBSEP "proc_init_ms")
		if (proc < 0) proc = init
		printf "%-12s %5d %14.2f %16.2f %9.1f %9.1f %11.1f %12.1f\n", v, runs[v SUBSEP "init_ms"], init / 1000, proc / 1000,
			med(v SUBSEP "rss_kb") / 1024, med(v SUBSEP "hwm_kb") / 1024, med(v SUBSEP "guest_kb") / 1024, med(v SUBSEP "overhead_kb") / 1024
		P[v] = proc; O[v] = med(v SUBSEP "overhead_kb")
	}
	print ""
	print "ratios (medians; QEMU and ember-cfg from process start, no API round trips):"
	for (k = 1; k <= nv; k++) {
		v = order[k]
		if (v == "ember-cfg" || !("ember-cfg" in P) || P["ember-cfg"] <= 0) continue
		printf "  ember-cfg / %-12s boot time %.2f   VMM-only memory %.2f\n", v, P["ember-cfg"] / P[v], (O[v] > 0 ? O["ember-cfg"] / O[v] : 0)
	}
}'
echo
echo "(medians of $n boots each in one L1 run; 'start' is InstanceStart for ember-api, process start for the others;"
echo " RSS/HWM from /proc/PID/status and the guest RAM's resident part from /proc/PID/smaps when the marker appeared;"
echo " full L1 console: $log)"
