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
# KVM_DEV (/dev/kvm; when missing or unusable every test is skipped, exit 0),
# EMBER_SWITCH (build/ember-switch, for net.sh).
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

# ---- virtio-blk: blk and hostile --------------------------------------------
# Disks come from tests/guest/blkdisk.py (fill pattern; the host checks the
# guest's writes afterwards). ember: the config file's "drives" (Firecracker's
# layout: a 4 KiB window per device from 0xc0001000, GSI 5 up, the root drive
# first, virtio_mmio.device=4K@... and root=/dev/vda on the command line).
# QEMU: virtio-blk-device on microvm's modern transports (force-legacy off):
# the k-th drive sits at 0xfeb00000 + (23 - k) * 0x200 on GSI 47 - k (its
# second IOAPIC); QEMU adds virtio_mmio.device= only for Linux boots, so the
# runner passes them.
BLKDISK="python3 $ROOT/tests/guest/blkdisk.py"
BLK_READY=1
if [ $DRY -eq 0 ]; then
	for g in blk hostile; do
		[ -f "$GUEST_DIR/$g.elf" ] || BLK_READY=0
	done
	[ $BLK_READY -eq 1 ] || not_ok "missing $GUEST_DIR/blk.elf or hostile.elf (make guests): virtio tests not run"
	mkdir -p "$OUT/disks"
fi

abspath() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s' "$ROOT/$1" ;; esac; }
# mkdisk NAME MIB: a fresh pattern-filled disk; prints its path
mkdisk() {
	local f
	f=$(abspath "$OUT/disks/$1.img")
	$BLKDISK make "$f" "$2" && printf '%s' "$f"
}
disk_ok() { $BLKDISK check "$@" >>"$DIR/disk-check" 2>&1; } # FILE WS WC
blk_start() { [ $BLK_READY -eq 1 ] && start "$1"; }
serial_has() { serial | grep -qE -- "$1"; }

# boot_blk NAME GUEST MEM ARGS DRIVE...   (DRIVE = id:file:root:ro:cache:engine,
# root/ro true|false, cache Unsafe|Writeback, engine Sync|Async). Sets DIR, RC, MS.
# With BLK_API=1 ember serves its API on $DIR/api.sock and BLK_API_HOOK runs
# while it does (the boot stays in the background until the hook returns).
boot_blk() {
	local name=$1 guest=$2 mem=$3 args=$4
	shift 4
	DIR=$OUT/$name
	rm -rf "$DIR"
	mkdir -p "$DIR"
	local kernel=$ROOT/$GUEST_DIR/$guest.elf drives="" qextra="" k=0 spec
	local id file root ro cache engine
	local -a qargs=()
	for spec in "$@"; do
		IFS=: read -r id file root ro cache engine <<<"$spec"
		drives+="${drives:+,
    }{\"drive_id\": $(json_str "$id"), \"path_on_host\": $(json_str "$file"), \"is_root_device\": $root, \"is_read_only\": $ro, \"cache_type\": \"$cache\", \"io_engine\": \"$engine\"}"
		local qc=writeback qa=threads qro=off
		[ "$cache" = Unsafe ] && qc=unsafe
		[ "$engine" = Async ] && qa=io_uring
		[ "$ro" = true ] && qro=on
		qargs+=(-drive "id=$id,file=$file,format=raw,if=none,cache=$qc,aio=$qa,readonly=$qro"
			-device "virtio-blk-device,drive=$id,serial=$id")
		qextra+=" virtio_mmio.device=512@0x$(printf %x $((0xfeb00000 + (23 - k) * 0x200))):$((47 - k))"
		k=$((k + 1))
	done
	printf '{\n  "boot-source": {\n    "kernel_image_path": %s,\n    "boot_args": %s\n  },\n  "machine-config": {"vcpu_count": 1, "mem_size_mib": %d},\n  "drives": [\n    %s\n  ]\n}\n' \
		"$(json_str "$kernel")" "$(json_str "$args")" "$mem" "$drives" >"$DIR/cfg.json"
	local t0 t1
	t0=$(date +%s%N)
	if [ $MODE = qemu ]; then
		timeout "$TIMEOUT" "$QEMU" -enable-kvm -cpu host,-arch-capabilities -M microvm \
			-m "$mem" -nodefaults -no-user-config -nographic -serial stdio \
			-device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot \
			-global virtio-mmio.force-legacy=false "${qargs[@]}" \
			-kernel "$kernel" -append "$args$qextra" >"$DIR/stdout" 2>"$DIR/stderr" </dev/null
		RC=$?
		[ $RC -eq 1 ] && RC=0
	elif [ "${BLK_API:-0}" = 1 ]; then
		timeout "$TIMEOUT" "$EMBER" --api-sock "$(abspath "$DIR/api.sock")" --config-file "$DIR/cfg.json" \
			>"$DIR/stdout" 2>"$DIR/stderr" </dev/null &
		local pid=$!
		$BLK_API_HOOK
		wait $pid
		RC=$?
	else
		timeout "$TIMEOUT" "$EMBER" --no-api --config-file "$DIR/cfg.json" \
			>"$DIR/stdout" 2>"$DIR/stderr" </dev/null
		RC=$?
	fi
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	echo "$RC" >"$DIR/rc"
	echo "$MS" >"$DIR/ms"
}

# blk round trip: read-check, write sectors 37..47, FLUSH, GET_ID, read back,
# beyond-capacity IOERR, unknown type UNSUPP; the host checks the file after.
blk_rw_case() { # label engine cache [guest args]
	local label=$1 engine=$2 cache=$3 extra=${4:-} name=blk-$1
	blk_start "$name" || return 0
	local img id args flush=""
	img=$(mkdisk "$name" 8)
	id=rootfs
	if [ $MODE = ember ]; then
		id=$($BLKDISK id "$img") # Firecracker's serial: st_dev st_rdev st_ino
		flush=no
		[ "$cache" = Writeback ] && flush=yes
	fi
	args="id=$id cap=16384${flush:+ flush=$flush}${extra:+ $extra}"
	boot_blk "$name" blk 128 "$args" "rootfs:$img:true:false:$cache:$engine"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: pattern read, written, read back" has_line "blk: read back: ok"
	check "$name: beyond capacity: IOERR" has_line "blk: beyond capacity: IOERR"
	check "$name: GET_ID '$id'" has_line "blk: id '$id'"
	check "$name: host sees the write at sectors 37..47 and nothing else" disk_ok "$img" 37 11
	if [ $MODE = ember ]; then
		check "$name: FLUSH offered iff Writeback ($flush)" \
			has_line "$([ $flush = yes ] && echo "blk: flush: OK" || echo "blk: flush: not offered")"
		check "$name: device at 0xc0001000 GSI 5" \
			has_line "virtio: 0xc0001000 size 0x1000 irq 5 version 2 id 2 vendor 0x0"
		check "$name: cmdline has virtio_mmio.device=4K@0xc0001000:5 and root=/dev/vda rw" \
			serial_has '^cmdline: .*root=/dev/vda rw.*virtio_mmio\.device=4K@0xc0001000:5|^cmdline: .*virtio_mmio\.device=4K@0xc0001000:5.*root=/dev/vda rw'
	fi
	case $extra in *irq=1*)
		check "$name: used-buffer interrupts through the IOAPIC" serial_has '^blk: irq: [1-9][0-9]* interrupts, InterruptStatus bits 0x1' ;;
	esac
}
blk_rw_case sync-writeback Sync Writeback
blk_rw_case async-writeback-irq Async Writeback "irq=1"
blk_rw_case sync-unsafe-noeventidx Sync Unsafe "eventidx=0"
blk_rw_case async-unsafe-irq Async Unsafe "irq=1 eventidx=0"

# read-only drive: RO offered, a write ends in IOERR, the file is untouched
name=blk-ro
if blk_start $name; then
	img=$(mkdisk $name 8)
	boot_blk $name blk 128 "blk=ro cap=16384" "rootfs:$img:true:true:Writeback:Sync"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: VIRTIO_BLK_F_RO offered" serial_has '^blk: capacity .* ro 1,'
	check "$name: write -> IOERR" has_line "blk: write to read-only drive: IOERR"
	check "$name: read back unchanged" has_line "blk: read back: unchanged"
	check "$name: file unchanged" disk_ok "$img" 0 0
	[ $MODE = ember ] && check "$name: cmdline has root=/dev/vda ro" serial_has '^cmdline: .*root=/dev/vda ro( |$)'
fi

# two drives, the root one listed second: ember puts the root drive first
name=blk-rootfirst
if [ $MODE = ember ] && blk_start $name; then
	img=$(mkdisk $name 8)
	img2=$(mkdisk $name-data 1)
	boot_blk $name blk 128 "dev=0 cap=16384 id=$($BLKDISK id "$img")" \
		"data:$img2:false:false:Unsafe:Async" "rootfs:$img:true:false:Writeback:Sync"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: root drive at 0xc0001000 GSI 5" has_line "virtio: 0xc0001000 size 0x1000 irq 5 version 2 id 2 vendor 0x0"
	check "$name: data drive at 0xc0002000 GSI 6" has_line "virtio: 0xc0002000 size 0x1000 irq 6 version 2 id 2 vendor 0x0"
	check "$name: root drive written" disk_ok "$img" 37 11
	check "$name: data drive untouched" disk_ok "$img2" 0 0
fi

# hostile: one case per boot, two drives (the second one a bystander that
# must keep working). ember's outcome and its log line for each:
hostile_case() { # case outcome log-regex
	local kase=$1 want=$2 logre=$3 name=hostile-$1
	[ $MODE = ember ] || return 0
	blk_start "$name" || return 0
	local img img2
	img=$(mkdisk "$name" 8)
	img2=$(mkdisk "$name-data" 1)
	boot_blk "$name" hostile 128 "mode=$kase" \
		"rootfs:$img:true:false:Writeback:Sync" "data:$img2:false:false:Unsafe:Async"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: outcome $want" serial_has "^hostile: $kase: $want "
	check "$name: other device unaffected" has_line "hostile: $kase: other device ok"
	check "$name: reset, re-init, good read" has_line "hostile: $kase: recovered"
	check "$name: log: $logre" log_has "$logre"
	check "$name: disks untouched" bash -c "$BLKDISK check '$img' 0 0 && $BLKDISK check '$img2' 0 0"
}
hostile_case loop needs-reset 'block: device broken, needs reset: .*descriptor chain'
hostile_case oob needs-reset 'buffer 0x9000000\+512 outside RAM'
hostile_case idx needs-reset 'avail\.idx .* ahead'
hostile_case indirect needs-reset 'INDIRECT not negotiated'
hostile_case ring refused 'block: device broken, needs reset: queue 0'
hostile_case qsel served 'queue register .* ignored \(queue 4294967295 absent'
hostile_case nofeat refused 'FEATURES_OK refused'
hostile_case shorthdr ioerr 'malformed request'

# every case in one boot; under ember each outcome is pinned, under QEMU
# (expect=any) only the recovery after each counts
name=hostile-all
if blk_start $name; then
	img=$(mkdisk $name 8)
	img2=$(mkdisk $name-data 1)
	args="mode=all"
	[ $MODE = qemu ] && args="mode=all expect=any"
	boot_blk $name hostile 128 "$args" \
		"rootfs:$img:true:false:Writeback:Sync" "data:$img2:false:false:Unsafe:Async"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: 28 cases" has_line "hostile: 28 cases"
	check "$name: 28 recoveries" equals "$(serial | grep -c ': recovered$')" 28
	check "$name: bystander ok 28 times" equals "$(serial | grep -c ': other device ok$')" 28
	check "$name: disks untouched" bash -c "$BLKDISK check '$img' 0 0 && $BLKDISK check '$img2' 0 0"
	if [ $MODE = ember ]; then
		for co in loop:needs-reset selfloop:needs-reset oob:needs-reset straddle:needs-reset \
			wrap:needs-reset hdroob:needs-reset selfdma:needs-reset hugelen:needs-reset \
			shorthdr:ioerr rostatus:needs-reset nextoob:needs-reset headoob:needs-reset \
			idx:needs-reset indirect:needs-reset notify:served qsel:served live:served \
			ring:refused ringavail:refused ringused:refused ringstraddle:refused ringwrap:refused \
			align:refused qnum3:refused qnumbig:refused nofeat:refused order:refused nostatus0:served; do
			check "$name: ${co%%:*}: ${co#*:}" serial_has "^hostile: ${co%%:*}: ${co#*:} "
		done
	fi
fi

# the API answers while a broken device is held (ember only)
hostile_api_hook() {
	local _
	for _ in $(seq 100); do
		grep -q 'holding' "$DIR/stdout" 2>/dev/null && break
		sleep 0.05
	done
	curl -s -m 5 --unix-socket "$(abspath "$DIR/api.sock")" -o "$DIR/api-get" -w '%{http_code}' \
		http://localhost/ >"$DIR/api-code" 2>/dev/null
	curl -s -m 5 --unix-socket "$(abspath "$DIR/api.sock")" -o "$DIR/api-vmconfig" -w '%{http_code}' \
		http://localhost/vm/config >"$DIR/api-code2" 2>/dev/null
}
name=hostile-api
if [ $MODE = ember ] && blk_start $name && command -v curl >/dev/null; then
	img=$(mkdisk $name 8)
	img2=$(mkdisk $name-data 1)
	BLK_API=1 BLK_API_HOOK=hostile_api_hook boot_blk $name hostile 128 "mode=loop hold=1000" \
		"rootfs:$img:true:false:Writeback:Sync" "data:$img2:false:false:Unsafe:Async"
	check "$name: exit status 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: guest held the broken device" has_line "hostile: loop: holding 1000 ms"
	check "$name: GET / -> 200 while it did" equals "$(cat "$DIR/api-code" 2>/dev/null)" 200
	check "$name: state Running" grep -q '"state":"Running"' "$DIR/api-get"
	check "$name: GET /vm/config -> 200 with both drives" \
		bash -c "[ \"\$(cat '$DIR/api-code2')\" = 200 ] && grep -q '\"drive_id\":\"data\"' '$DIR/api-vmconfig'"
	check "$name: log: device broken" log_has 'block: device broken, needs reset'
fi

# ---- virtio-rng: rng ---------------------------------------------------------
# ember: the config file's "entropy" (one device, at 0xc0001000 on GSI 5 when
# it is the only one; ember appends virtio_mmio.device=). QEMU: a
# virtio-rng-device on microvm's first modern transport (0xfeb02e00, GSI 47),
# passed on the command line as for blk.
RNG_READY=1
if [ $DRY -eq 0 ] && ! [ -f "$GUEST_DIR/rng.elf" ]; then
	RNG_READY=0
	not_ok "missing $GUEST_DIR/rng.elf (make guests): entropy tests not run"
fi
rng_start() { [ $RNG_READY -eq 1 ] && start "$1"; }

# boot_rng NAME ARGS ENTROPY_JSON [QEMU_RNG_OPTS]. Sets DIR, RC, MS.
boot_rng() {
	local name=$1 args=$2 entropy=$3 qopts=${4:-}
	DIR=$OUT/$name
	rm -rf "$DIR"
	mkdir -p "$DIR"
	local kernel=$ROOT/$GUEST_DIR/rng.elf
	printf '{\n  "boot-source": {\n    "kernel_image_path": %s,\n    "boot_args": %s\n  },\n  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},\n  "entropy": %s\n}\n' \
		"$(json_str "$kernel")" "$(json_str "$args")" "$entropy" >"$DIR/cfg.json"
	local t0 t1
	t0=$(date +%s%N)
	if [ $MODE = qemu ]; then
		timeout "$TIMEOUT" "$QEMU" -enable-kvm -cpu host,-arch-capabilities -M microvm \
			-m 64 -nodefaults -no-user-config -nographic -serial stdio \
			-device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot \
			-global virtio-mmio.force-legacy=false \
			-object rng-random,id=rng0,filename=/dev/urandom \
			-device "virtio-rng-device,rng=rng0$qopts" \
			-kernel "$kernel" -append "$args virtio_mmio.device=512@0xfeb02e00:47" \
			>"$DIR/stdout" 2>"$DIR/stderr" </dev/null
		RC=$?
		[ $RC -eq 1 ] && RC=0
	else
		timeout "$TIMEOUT" "$EMBER" --no-api --config-file "$DIR/cfg.json" \
			>"$DIR/stdout" 2>"$DIR/stderr" </dev/null
		RC=$?
	fi
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	echo "$RC" >"$DIR/rc"
	echo "$MS" >"$DIR/ms"
}

# 4 x 1 KiB and a 3-segment chain (1612 bytes); ember also gets a chain with
# a readable descriptor (Firecracker: used.len 0, entropy_event_fails).
name=rng
if rng_start $name; then
	rargs="count=4 chunk=1024"
	[ $MODE = ember ] && rargs+=" readable=1"
	boot_rng $name "$rargs" '{}'
	check "$name: exit 0" equals "$RC" 0
	check "$name: SUCCESS" has_line "SUCCESS"
	check "$name: 4 x 1 KiB filled, all different" has_line "rng: 4 x 1024 bytes: filled, all different"
	check "$name: 3-segment chain" has_line "rng: 3-segment chain: 1612 bytes"
	check "$name: 5708 bytes of entropy" has_line "rng: ok 5708 bytes"
	if [ $MODE = ember ]; then
		check "$name: readable descriptor: used.len 0" has_line "rng: readable descriptor: used.len 0, untouched"
		check "$name: log: readable chain reported" log_has 'entropy: chain at head [0-9]+ is not all device-writable'
	fi
fi

# Rate limited to 1 KiB per 100 ms: 8 x 1 KiB + 1612 bytes, of which only
# the first KiB is in the full bucket, need >= 0.85 s of refill. (QEMU's
# max-bytes truncates requests instead of delaying them: ember only.)
name=rng-rate-limited
if [ $MODE = ember ] && rng_start $name; then
	boot_rng $name "count=8 chunk=1024" '{"rate_limiter": {"bandwidth": {"size": 1024, "refill_time": 100}}}'
	check "$name: exit 0" equals "$RC" 0
	check "$name: SUCCESS" has_line "SUCCESS"
	check "$name: 9804 bytes of entropy" has_line "rng: ok 9804 bytes"
	check "$name: took >= 700 ms (took $MS ms)" test "$MS" -ge 700
fi

# ---- virtio-balloon: balloon (ember only, driven through its API) -----------
# shellcheck source=tests/guest/balloon.sh
. "$ROOT/tests/guest/balloon.sh"

# ---- virtio-net: net (ember only: TAP + host peer, two guests via ember-switch) --
# shellcheck source=tests/guest/net.sh
. "$ROOT/tests/guest/net.sh"

# ---- virtio-vsock: vsock (ember only, the host side on its UNIX sockets) -----
# shellcheck source=tests/guest/vsock.sh
. "$ROOT/tests/guest/vsock.sh"

if [ $DRY -eq 1 ]; then
	echo "guest: 0 passed, 0 failed, $PLANNED skipped"
	exit 0
fi
echo "guest: $PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
