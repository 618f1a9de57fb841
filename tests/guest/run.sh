#!/usr/bin/env bash
# Guest tier: boot each freestanding test guest (build/guest/*.elf) under ember
# on the host's /dev/kvm and check what the host can observe: exit code,
# serial console (stdout) and ember's log (stderr).
#
#   tests/guest/run.sh            run every test under build/ember
#   tests/guest/run.sh --qemu     the same guests under QEMU microvm (PVH only;
#                                 a baseline for what the host KVM can do)
#   tests/guest/run.sh hello smp  only tests whose name starts with one of these
#
# Environment: EMBER (build/ember), GUEST_DIR (build/guest), OUT
# (build/guest-test), QEMU (qemu-system-x86_64), TIMEOUT (20 s per boot),
# KVM_DEV (/dev/kvm; when missing or unusable every test is skipped, exit 0).
# Each boot leaves cfg.json, stdout, stderr, rc and ms in $OUT/<test>/.
# Output: one "ok - ..." / "not ok - ..." line per check, then exactly one
# summary line "guest: N passed, N failed"; exit status 1 on any failure.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
EMBER=${EMBER:-build/ember}
GUEST_DIR=${GUEST_DIR:-build/guest}
OUT=${OUT:-build/guest-test}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${TIMEOUT:-20}
KVM_DEV=${KVM_DEV:-/dev/kvm}
MODE=ember
if [ "${1:-}" = "--qemu" ]; then
	MODE=qemu
	shift
fi
FILTER=("$@")

PASS=0 FAIL=0 PLANNED=0 DRY=0
DIR="" RC=0 MS=0

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $*"
	if [ -n "$DIR" ]; then
		echo "#   in $DIR (rc $RC, $MS ms); serial tail:"
		tail -n 4 "$DIR/stdout" 2>/dev/null | cut -c1-200 | sed 's/^/#     /'
		echo "#   log tail:"
		tail -n 4 "$DIR/stderr" 2>/dev/null | cut -c1-200 | sed 's/^/#     /'
	fi
}
check() { # description command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

wanted() { # test name
	[ ${#FILTER[@]} -eq 0 ] && return 0
	local f
	for f in "${FILTER[@]}"; do
		case $1 in "$f"*) return 0 ;; esac
	done
	return 1
}

# start NAME: is the test selected and runnable? (counts it either way)
start() {
	wanted "$1" || return 1
	PLANNED=$((PLANNED + 1))
	[ $DRY -eq 0 ]
}

# JSON string literal (the command lines here hold no control characters).
json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# Serial console without carriage returns.
serial() { tr -d '\r' <"$DIR/stdout"; }
# The rest of the first serial line starting with PREFIX (status 1 if none).
serial_value() {
	local line
	line=$(serial | grep -m1 -F -- "$1") || return 1
	[ "${line:0:${#1}}" = "$1" ] || return 1
	printf '%s' "${line:${#1}}"
}
has_line() { serial | grep -qxF -- "$1"; }
no_line() { ! has_line "$1"; }
log_has() { grep -qiE -- "$1" "$DIR/stderr"; }
equals() { [ "$1" = "$2" ]; }

# boot NAME GUEST PROTO VCPUS MEM_MIB BOOT_ARGS [ember flags...]
# Sets DIR, RC (guest-visible exit: 0 = i8042 reset) and MS.
boot() {
	local name=$1 guest=$2 proto=$3 vcpus=$4 mem=$5 args=$6
	shift 6
	DIR=$OUT/$name
	rm -rf "$DIR"
	mkdir -p "$DIR"
	local kernel=$ROOT/$GUEST_DIR/$guest.elf
	printf '{\n  "boot-source": {\n    "kernel_image_path": %s,\n    "boot_args": %s,\n    "boot_protocol": "%s"\n  },\n  "machine-config": {"vcpu_count": %d, "mem_size_mib": %d}\n}\n' \
		"$(json_str "$kernel")" "$(json_str "$args")" "$proto" "$vcpus" "$mem" >"$DIR/cfg.json"
	local t0 t1
	t0=$(date +%s%N)
	if [ $MODE = qemu ]; then
		timeout "$TIMEOUT" "$QEMU" -enable-kvm -cpu host,-arch-capabilities -M microvm \
			-m "$mem" -smp "$vcpus" -nodefaults -no-user-config -nographic -serial stdio \
			-device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot \
			-kernel "$kernel" -append "$args" >"$DIR/stdout" 2>"$DIR/stderr" </dev/null
		RC=$?
		# isa-debug-exit: status (value << 1) | 1; the guest writes 0 after SUCCESS.
		[ $RC -eq 1 ] && RC=0
	else
		timeout "$TIMEOUT" "$EMBER" --no-api --config-file "$DIR/cfg.json" "$@" \
			>"$DIR/stdout" 2>"$DIR/stderr" </dev/null
		RC=$?
	fi
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	echo "$RC" >"$DIR/rc"
	echo "$MS" >"$DIR/ms"
}

# ---- preconditions -------------------------------------------------------
if ! [ -c "$KVM_DEV" ] || ! { exec 3<>"$KVM_DEV"; } 2>/dev/null; then
	echo "# $KVM_DEV is missing or cannot be opened read-write: guest tests skipped"
	DRY=1
else
	exec 3>&-
fi
if [ $DRY -eq 0 ]; then
	missing=""
	for g in hello smp irq fault acpi; do
		[ -f "$GUEST_DIR/$g.elf" ] || missing+=" $GUEST_DIR/$g.elf"
	done
	if [ $MODE = ember ] && ! [ -x "$EMBER" ]; then missing+=" $EMBER"; fi
	if [ $MODE = qemu ] && ! command -v "$QEMU" >/dev/null; then missing+=" $QEMU"; fi
	if [ -n "$missing" ]; then
		echo "not ok - missing:$missing (make guests build/ember)"
		echo "guest: 0 passed, 1 failed"
		exit 1
	fi
	mkdir -p "$OUT"
fi

# ---- hello --------------------------------------------------------------
hello() { # proto mem label args [--boot-timer]
	local proto=$1 mem=$2 label=$3 args=$4 timer=${5:-}
	local name=hello-$proto-$label
	start "$name" || return 0
	[ $MODE = qemu ] && args="$args${args:+ }e820=lax" # QEMU's map is unsorted
	boot "$name" hello "$proto" 1 "$mem" "$args" ${timer:+"$timer"}
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	local got
	got=$(serial_value "cmdline: ")
	check "$name: cmdline echoed (${#args} chars)" equals "$got" "$args"
	got=$(serial_value "mem: ")
	check "$name: mem: $got (want $mem MiB)" equals "$got" "$mem MiB"
	got=$(serial_value "proto: ")
	check "$name: proto: $got" equals "$got" "$proto"
	if [ -n "$timer" ] && [ $MODE = ember ]; then
		check "$name: Guest-boot-time logged" log_has "Guest-boot-time"
	fi
}

# shellcheck disable=SC2016 # literal $HOME on purpose
special='quoted="a b  c" single='"'"'x y'"'"' back\slash\\ dollar=$HOME pct=%s%d%% semi;amp&pipe|lt<gt> {json:"x"} tab-free ~`!#^*()[]+?,.'
long=""
while [ ${#long} -lt 2000 ]; do long+="opt${#long}=value-${#long} "; done
long=${long:0:1999}x

for proto in linux pvh; do
	[ $MODE = qemu ] && [ $proto = linux ] && continue # QEMU boots the ELF through PVH only
	hello $proto 128 128M "console=ttyS0 reboot=k panic=1" --boot-timer
	hello $proto 512 512M "console=ttyS0 reboot=k panic=1"
	hello $proto 4096 4096M "console=ttyS0 reboot=k panic=1"
	hello $proto 128 empty ""
	hello $proto 128 special "$special"
	hello $proto 128 long "$long"
done

# ---- smp ------------------------------------------------------------------
for proto in linux pvh; do
	[ $MODE = qemu ] && [ $proto = linux ] && continue
	name=smp-$proto
	start "$name" || continue
	boot "$name" smp $proto 2 128 "cpus=2"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: cpu 0 up" has_line "cpu 0 up, apic id 0"
	check "$name: cpu 1 up" has_line "cpu 1 up, apic id 1"
done

# ---- irq ------------------------------------------------------------------
for proto in linux pvh; do
	[ $MODE = qemu ] && [ $proto = linux ] && continue
	name=irq-$proto
	start "$name" || continue
	boot "$name" irq $proto 1 128 ""
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: 10 LAPIC timer ticks" has_line "irq: 10 ticks"
done

# ---- acpi (ember only: QEMU microvm's tables and sleep register differ) ----
# The guest checks the tables, prints SUCCESS, then powers off through the
# FADT sleep control register: ember must exit 0 through that path, not
# through the i8042 reset the guest falls back to after a 2 s wait.
for proto in linux pvh; do
	[ $MODE = qemu ] && break
	for vcpus in 1 2; do
		name=acpi-$proto-${vcpus}cpu
		start "$name" || continue
		boot "$name" acpi $proto "$vcpus" 128 "cpus=$vcpus"
		check "$name: exit status 0 (got $RC)" equals "$RC" 0
		check "$name: acpi: ok, $vcpus cpus" has_line "acpi: ok, $vcpus cpus"
		check "$name: SUCCESS" has_line SUCCESS
		check "$name: no FAIL line" bash -c "! tr -d '\r' <'$DIR/stdout' | grep -q '^FAIL'"
		check "$name: stopped by the ACPI power-off" log_has "guest powered off through ACPI"
		check "$name: not by an i8042 reset" bash -c "! grep -q 'reset through the i8042' '$DIR/stderr'"
	done
done

# ---- fault (ember only: QEMU stops, not exits, on an internal error) -------
fault() { # mode expected-log-regex
	local mode=$1 want=$2 name=fault-$1
	[ $MODE = qemu ] && return 0
	start "$name" || return 0
	boot "$name" fault linux 1 128 "fault=$mode"
	check "$name: exit status non-zero (got $RC)" test "$RC" -ne 0 -a "$RC" -ne 124
	check "$name: stopped within 2 s (${MS} ms)" test "$MS" -lt 2000
	check "$name: log names the exit ($want)" log_has "$want"
	check "$name: no SUCCESS" no_line SUCCESS
	check "$name: guest reached the fault" has_line "fault: $mode"
}
fault triple 'KVM_EXIT_SHUTDOWN'
fault int3 'KVM_EXIT_INTERNAL_ERROR'
# fault=pf: the guest's own #PF handler reports and resets (exit 0, FAIL line).
name=fault-pf
if start $name; then
	boot $name fault pvh 1 128 "fault=pf"
	check "$name: exit status 0 after FAIL (got $RC)" equals "$RC" "$([ $MODE = qemu ] && echo 3 || echo 0)"
	check "$name: #PF reported by the guest IDT" bash -c "tr -d '\r' <'$DIR/stdout' | grep -q '^EXCEPTION: vector 14 #PF .* cr2 0x200000000000'"
	check "$name: no SUCCESS" no_line SUCCESS
fi

if [ $DRY -eq 1 ]; then
	echo "guest: 0 passed, 0 failed, $PLANNED skipped"
	exit 0
fi
echo "guest: $PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
