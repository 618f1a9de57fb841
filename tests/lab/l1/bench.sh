#!/bin/sh
# bench.sh N (inside L1; bench/lab-boot.sh drives it): boot the same Debian
# cloud kernel (bzImage) + guest initramfs N times with each VMM, 1 vCPU,
# 128 MiB, and print one "LAB-BENCH ..." line per boot:
#   ember-api    ember --api-sock: configured with curl, timed from InstanceStart
#                (and from process start: the curl round trips included)
#   ember-cfg    ember --no-api --config-file, timed from process start
#   qemu         qemu-system-x86_64 -M microvm -enable-kvm (QEMU's defaults:
#                ACPI, RTC, PIT, PIC), timed from process start
# (QEMU's microvm with acpi=off is no fair baseline: its guest hit a 26 s soft
# lockup there.)
# to the guest's init marker, and the VMM's memory when the marker appears:
# VmRSS and VmHWM from /proc/PID/status, and the resident part of the guest
# RAM mapping (from /proc/PID/smaps) to subtract, so that what remains is the
# VMM's own overhead. The guest runs no checks: lab_scn=boot.
cd /lab || exit 1
. ./config.sh
. ./lib.sh
runs=${1:-3}
MEM=128
ARGS="$L2_ARGS lab_scn=boot"

# mem_sample: "rss_kb=.. hwm_kb=.. guest_kb=.. overhead_kb=.." for $PID. The
# guest RAM is the anonymous mapping of MEM MiB (up to 8 MiB more for
# alignment and guard pages) with the most resident pages.
mem_sample() {
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
	guest=$(awk -v lo=$((MEM * 1024)) -v hi=$((MEM * 1024 + 8192)) '
		/^[0-9a-f]+-[0-9a-f]+ / { inmap = 0 }
		/^Size:/ { inmap = ($2 >= lo && $2 <= hi) }
		/^Rss:/ && inmap && $2 > best { best = $2 }
		END { print best + 0 }' "/proc/$PID/smaps")
	echo "rss_kb=$rss hwm_kb=$hwm guest_kb=$guest overhead_kb=$((rss - guest)) $(thread_cpu)"
}

# thread_cpu: "threads=NAME:TICKS,..." the CPU time (utime + stime, 1/100 s)
# each of the VMM's threads used so far: where the VMM itself spends time.
thread_cpu() {
	printf 'threads='
	for t in /proc/"$PID"/task/*; do
		printf '%s:%s,' "$(tr -c 'A-Za-z0-9_\n-' _ < "$t/comm")" "$(awk '{ print $14 + $15 }' "$t/stat")"
	done
}

# report VMM RUN: wait for the marker, sample, print, stop the VMM.
report() {
	if wait_console '^LABG: init scenario=boot' "$LAB_L2_TIMEOUT"; then
		echo "LAB-BENCH vmm=$1 run=$2 init_ms=$WAIT_MS${PROC_MS:+ proc_init_ms=$((WAIT_MS + VM_T0 - PROC_T0))} $(mem_sample)"
		[ -z "$L2_QUIET" ] && vm_dump # --verbose: keep every boot log
	else
		echo "LAB-BENCH vmm=$1 run=$2 failed"
		vm_dump
	fi
	vm_stop
}

qemu_boot() { # NAME MACHINE
	vm_new "$1"
	timeout -s KILL "$LAB_L2_TIMEOUT" qemu-system-x86_64 -L /usr/share/qemu -M "$2" -enable-kvm -cpu host \
		-smp 1 -m $MEM -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel /lab/vmlinuz -initrd /lab/guest.cpio -append "$ARGS" \
		> "$D/console" 2> "$D/log" < /dev/null &
	PID=$!
	VM_T0=$(now_ms)
}

i=1
while [ $i -le "$runs" ]; do
	# ember through the API: both clocks.
	vm_start "ember-api-$i"
	PROC_T0=$VM_T0 PROC_MS=1
	vm_config /lab/vmlinuz /lab/guest.cpio "$ARGS" 1 $MEM && vm_boot
	report ember-api $i
	PROC_MS=

	vm_new "ember-cfg-$i"
	vm_config /lab/vmlinuz /lab/guest.cpio "$ARGS" 1 $MEM
	vm_boot_cfg
	report ember-cfg $i

	qemu_boot "qemu-$i" microvm
	report qemu $i
	i=$((i + 1))
done
