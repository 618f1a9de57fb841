#!/bin/sh
# tests/lab/run.sh [SCENARIO...]  the lab tests (all scenarios, or those named:
#                                 "1", "bzimage" or "1-bzimage" alike)
# tests/lab/run.sh --demo         scenario 1 with the guest's console shown
# tests/lab/run.sh --bench N      bench/lab-boot.sh's measurements, N boots each
# tests/lab/run.sh --bench-l1 NAME ARGS  L1 runs l1/bench-NAME.sh ARGS (e.g.
#                                 bench/vsock.sh: --bench-l1 vsock "64 3 50")
# Options (before the names): --verbose: the L2 kernels boot without `quiet`;
# --ember-level LEVEL: ember's --level (default Info)
#
# Builds the initramfs images (tests/lab/build.sh), boots L1 ONCE under QEMU's
# TCG emulator (its emulated AMD SVM gives Debian's kvm-amd.ko a real /dev/kvm:
# shared/kvm-here.md §2) and lets L1 run every scenario against ember's REST
# API. L1 reports "LAB-RESULT ok/not ok - ..." lines on its serial console;
# this script prints them as "ok - ..." / "not ok - ...", ends with
# "lab: N passed, N failed" (", N skipped" when known failures marked TODO in
# config.sh occurred) and exits 1 on any failure (or when L1 did not get to
# its end). The whole L1 console is kept in $LAB_OUT/console.log. After L1,
# tests/lab/check-disks.sh reads the block-device scenarios' images back out
# of L1's disk and checks them (its lines are counted in the same summary).
set -eu
cd "$(dirname "$0")/../.."
. tests/lab/config.sh

mode=test runs='' verbose='' ember_level='' bench_args=''
while [ $# -gt 0 ]; do
	case "$1" in
	--demo) mode=demo ;;
	--bench) mode=bench runs=${2:?--bench N}; shift ;;
	--bench-l1) mode=bench-${2:?--bench-l1 NAME ARGS} bench_args=$(echo "${3?--bench-l1 NAME ARGS}" | tr ' ' ,); shift 2 ;;
	--verbose) verbose=1 ;;
	--ember-level) ember_level=${2:?--ember-level LEVEL}; shift ;;
	-h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) break ;;
	esac
	shift
done
only=$(echo "$@" | tr ' ' ,)

# One lab run at a time per $LAB_OUT: two would rebuild the same images and
# share console.raw and L1's disk (seen: interleaved consoles, NUL runs).
# Another run with its own LAB_OUT (and LAB_CACHE=build/lab/cache) can go on
# alongside.
mkdir -p "$LAB_OUT"
exec 9> "$LAB_OUT/.lock"
if ! flock -n 9; then
	echo "# lab: another lab run is using $LAB_OUT; waiting for it (LAB_OUT=elsewhere to run alongside)"
	flock 9
fi

# No need for the host's /dev/kvm: L1 is pure TCG.
command -v qemu-system-x86_64 >/dev/null || { echo "lab: qemu-system-x86_64 missing: run make deps" >&2; exit 1; }

t_build=$(date +%s.%N)
# QEMU in L1 for the benchmarks that compare with it (bench/lab-boot.sh, bench/net.sh).
case "$mode" in
bench | bench-net) tests/lab/build.sh --with-qemu ;;
*) tests/lab/build.sh ;;
esac
t_l1=$(date +%s.%N)

log="$LAB_OUT/console.log"
[ "$mode" = test ] || log="$LAB_OUT/console-$mode.log"
# L1's kernel command line: no `quiet` (but in the demo), so that L1's own
# boot is in the log.
append="console=ttyS0 panic=-1 lab_mode=$mode"
# Under TCG, L1's TSC is the host's TSC. L1's kernel calibrates it against the
# emulated PIT, which fails when the host is busy ("tsc: Unable to calibrate
# against PIT"), after which L1 hung in its delay-loop calibration. Telling it
# the frequency skips that calibration: the host's `cpu MHz` is its TSC rate.
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
# tsc=reliable: no clocksource watchdog either, which otherwise compared the
# TSC with jiffies (late timer interrupts under TCG) and dropped it.
[ -n "$khz" ] && append="$append tsc_early_khz=$khz tsc=reliable"
[ -n "$only" ] && append="$append lab_only=$only"
[ -n "$runs" ] && append="$append lab_runs=$runs"
[ -n "$bench_args" ] && append="$append lab_bench_args=$bench_args"
# The demo shows the guest kernel's whole boot, and not L1's.
[ "$mode" = demo ] && append="$append quiet" verbose=1
[ -n "$verbose" ] && append="$append lab_verbose=1"
[ -n "$ember_level" ] && append="$append lab_ember_level=$ember_level"

# Test mode: L1 gets a virtio-blk drive, an ext4 file system with the
# block-device scenarios' root images (build.sh), and mounts it (lab_disk=1).
disk=''
if [ "$mode" = test ]; then
	append="$append lab_disk=1"
	disk="-drive file=$LAB_OUT/l1-disk.img,format=raw,if=none,id=disk -device virtio-blk-device,drive=disk"
fi

# start_l1: QEMU with L1 in the background, its raw console in $raw. Sets
# qpid (the `timeout` wrapping QEMU). -no-reboot: any reset of L1 ends QEMU
# instead of looping; L1 powers off through microvm's ACPI (GED) when done.
raw="$LAB_OUT/console.raw"
start_l1() {
	: > "$raw"
	timeout -s KILL "$LAB_L1_TIMEOUT" qemu-system-x86_64 \
		-accel tcg -cpu "$LAB_L1_CPU" -M microvm -smp "$LAB_L1_SMP" -m "$LAB_L1_MEM_MIB" \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel "$LAB_OUT/vmlinuz" -initrd "$LAB_OUT/l1.cpio" -append "$append" $disk \
		< /dev/null > "$raw" 2> "$LAB_OUT/qemu-l1.err" &
	qpid=$!
}
# L1 reaches its /init in about 3 s. Rarely (seen once in ~40 boots, with the
# 125 MiB bench initramfs) its kernel stalled for good while unpacking the
# initramfs, QEMU spinning at 100%: give it LAB_L1_BOOT_TIMEOUT seconds, then
# start it once more.
for attempt in 1 2; do
	start_l1
	waited=0
	while ! grep -q '^LAB-L1: init' "$raw" && kill -0 "$qpid" 2>/dev/null &&
		[ $waited -lt "$LAB_L1_BOOT_TIMEOUT" ]; do
		sleep 1
		waited=$((waited + 1))
	done
	grep -q '^LAB-L1: init' "$raw" && break
	[ $attempt = 2 ] && break
	echo "# lab: L1 did not reach its /init within ${LAB_L1_BOOT_TIMEOUT}s (last line: $(tail -n 1 "$raw" | tr -d '\r')); starting it again"
	cp "$raw" "$log.stalled"
	kill -TERM "$qpid" 2>/dev/null
	wait "$qpid"
done
# Follow the console until QEMU is gone: all of it into $log, and the results
# (test) or everything (demo, bench) onto stdout.
set +e
tail -n +1 -s 0.2 -f --pid="$qpid" "$raw" | tr -d '\r' | tee "$log" | {
	case "$mode" in
	test) sed -u -n 's/^LAB-RESULT //p' ;;
	*) cat ;; # demo, bench: the whole console
	esac
}
wait "$qpid"
t_end=$(date +%s.%N)
set -e

# The host's checks of what the guests wrote to their disks (scenarios 8, 9).
hc="$LAB_OUT/host-checks.log"
: > "$hc"
[ "$mode" = test ] && tests/lab/check-disks.sh "$log" | tee "$hc"

pass=$(( $(grep -c '^LAB-RESULT ok' "$log" || true) + $(grep -c '^ok' "$hc" || true) ))
# "not ok ... # TODO reason": a known gap (config.sh's LAB_TODO_*), TAP's
# TODO: shown, counted as skipped, not as failed.
todo=$(grep -c '^LAB-RESULT not ok .* # TODO ' "$log" || true)
fail=$(( $(grep -c '^LAB-RESULT not ok' "$log" || true) - todo + $(grep -c '^not ok' "$hc" || true) ))
if ! grep -q '^LAB-L1: done' "$log"; then
	echo "not ok - L1 did not finish (crash, hang or timeout after ${LAB_L1_TIMEOUT}s): see $log"
	tail -n 20 "$log" | sed 's/^/# /'
	# QEMU's own messages (its warnings about CPU features TCG lacks are normal).
	grep -v "TCG doesn't support requested feature" "$LAB_OUT/qemu-l1.err" | sed 's/^/# qemu: /'
	fail=$((fail + 1))
fi
echo "# lab: build $(awk "BEGIN { printf \"%.1f\", $t_l1 - $t_build }") s," \
	"L1 run $(awk "BEGIN { printf \"%.1f\", $t_end - $t_l1 }") s; console log: $log"
[ "$mode" = test ] || { [ "$fail" -eq 0 ]; exit; }
if [ "$todo" -gt 0 ]; then
	echo "# $todo known failure(s) marked TODO (tests/lab/config.sh), counted as skipped"
	echo "lab: $pass passed, $fail failed, $todo skipped"
else
	echo "lab: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
