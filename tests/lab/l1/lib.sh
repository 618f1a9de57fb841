# lib.sh: helpers for the scenario and bench scripts inside L1 (busybox sh).
# A scenario drives one ember per VM through its REST API with curl, the way a
# Firecracker client would, and reports with ok/notok. Every wait has a limit;
# every ember runs under `timeout -s KILL`, so nothing in L1 can hang for good.

# iproute2's ip (bridges, TAP devices: busybox's ip has neither). Debian's
# static busybox shell runs its own applet for a bare `ip` whatever PATH
# says (it prefers applets), so the full path, here once for every scenario.
ip() { /usr/sbin/ip "$@"; }

ok() { echo "LAB-RESULT ok - $*"; }
notok() { echo "LAB-RESULT not ok - $*"; }

# Kernel command line of every L2 guest: serial console; reboot through the
# i8042 (ember's exit 0); panic reboots at once; no PCI probing (there is no
# PCI); `quiet` because every console byte is a VM exit, which costs a lot in
# a nested emulator; Firecracker's i8042 options (no AUX port, no MUX probing:
# each avoided probe is a round of port I/O exits).
# `tests/lab/run.sh --verbose` (lab_verbose=1 on L1's command line) drops
# `quiet` to show the L2 kernels' whole boot log.
L2_QUIET=quiet
grep -qw lab_verbose=1 /proc/cmdline && L2_QUIET=''
L2_ARGS="console=ttyS0 reboot=k panic=1 pci=off $L2_QUIET i8042.noaux i8042.nomux"

# Milliseconds since L1 booted (/proc/uptime: 10 ms resolution, enough here).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# secs MS: "1.234" from milliseconds.
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

# vm_new NAME [SECS]: a fresh directory for VM NAME, whose ember will be
# killed after SECS (default LAB_L2_TIMEOUT). Sets VM, D (the directory:
# console, log, body, curl.err), SOCK, and PID (empty until ember runs).
vm_new() {
	VM=$1 VM_LIMIT=${2:-$LAB_L2_TIMEOUT}
	D=/tmp/vm/$VM SOCK=/tmp/vm/$VM/api.sock PID=''
	rm -rf "$D"
	mkdir -p "$D"
	: > "$D/console"
	VM_KERNEL='' VM_INITRD='' VM_ARGS='' VM_PROTO=auto VM_VCPUS=1 VM_MEM=128
}
# vm_start NAME [SECS]: vm_new, and ember started now, serving the API on
# SOCK; returns once the socket is there.
vm_start() {
	vm_new "$@"
	_ember --api-sock "$SOCK"
	_i=0
	while [ ! -S "$SOCK" ] && [ $_i -lt 50 ] && vm_running; do sleep 0.1; _i=$((_i + 1)); done
	[ -S "$SOCK" ] || { notok "$VM: API socket did not appear within 5 s"; return 1; }
}

# `tests/lab/run.sh --ember-level Debug` (lab_ember_level= on L1's command
# line): ember's log level, e.g. to see unhandled port I/O.
EMBER_LEVEL=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^lab_ember_level=//p')
_ember() {
	timeout -s KILL "$VM_LIMIT" ember --id "$VM" --boot-timer --level "${EMBER_LEVEL:-Info}" "$@" \
		> "$D/console" 2> "$D/log" < /dev/null &
	PID=$!
	VM_T0=$(now_ms)
	echo "$PID" >> /tmp/vm/pids
}

# api METHOD PATH [JSON]: one request; prints the HTTP status (000 when curl
# failed: no answer within LAB_CURL_TIMEOUT, socket gone); body in $D/body.
api() {
	if [ $# -ge 3 ]; then
		set -- "$1" "$2" -H 'Content-Type: application/json' -d "$3"
	fi
	_m=$1 _p=$2
	shift 2
	curl --unix-socket "$SOCK" -sS -m "$LAB_CURL_TIMEOUT" -X "$_m" "$@" \
		-o "$D/body" -w '%{http_code}' "http://localhost$_p" 2>> "$D/curl.err" || true
}

# api_expect WANT METHOD PATH [JSON]: the request, reported as a failure
# unless it answers WANT. Returns 0 when it did.
api_expect() {
	_want=$1
	shift
	_code=$(api "$@")
	[ "$_code" = "$_want" ] && return 0
	notok "$VM: $1 $2 answered $_code, want $_want: $(cat "$D/body" "$D/curl.err" 2>/dev/null | tr '\n' ' ' | cut -c1-200)"
	return 1
}

# vm_config KERNEL INITRD ARGS [VCPUS [MEM_MIB [PROTO]]]: the boot source and
# machine configuration (PUT /boot-source, PUT /machine-config; after vm_new,
# only recorded for vm_boot_cfg).
vm_config() {
	VM_KERNEL=$1 VM_INITRD=$2 VM_ARGS=$3 VM_VCPUS=${4:-1} VM_MEM=${5:-128} VM_PROTO=${6:-auto}
	[ -n "$PID" ] || return 0
	api_expect 204 PUT /boot-source "$(boot_source_json)" &&
		api_expect 204 PUT /machine-config "$(machine_json)"
}
boot_source_json() {
	printf '{"kernel_image_path": "%s", ' "$VM_KERNEL"
	[ -n "$VM_INITRD" ] && printf '"initrd_path": "%s", ' "$VM_INITRD"
	printf '"boot_args": "%s", "boot_protocol": "%s"}' "$VM_ARGS" "$VM_PROTO"
}
machine_json() { printf '{"vcpu_count": %d, "mem_size_mib": %d}' "$VM_VCPUS" "$VM_MEM"; }

# vm_drive ID PATH ROOT RO [ENGINE [CACHE]]: PUT /drives/ID, Firecracker's
# BlockDeviceConfig (ROOT, RO: true|false; ENGINE: Sync (default) | Async;
# CACHE: Unsafe (default) | Writeback).
vm_drive() {
	api_expect 204 PUT "/drives/$1" "$(printf '{"drive_id": "%s", "path_on_host": "%s", "is_root_device": %s, "is_read_only": %s, "io_engine": "%s", "cache_type": "%s"}' \
		"$1" "$2" "$3" "$4" "${5:-Sync}" "${6:-Unsafe}")"
}

# vm_metrics: PUT /metrics to $D/metrics (a plain file: one JSON line per
# flush, ember's last one as it exits).
vm_metrics() { api_expect 204 PUT /metrics "{\"metrics_path\": \"$D/metrics\"}"; }
# blk_metrics ID: drive ID's counters summed over every line of $D/metrics
# (each line's "block_ID" group holds deltas), as "read_bytes=N ...".
blk_metrics() {
	grep -o "\"block_$1\":{[^}]*}" "$D/metrics" 2>/dev/null | sed 's/.*{//; s/}//' | tr ',' '\n' |
		awk -F: '{ gsub(/"/, "", $1); v[$1] += $2 }
			END { printf "read_bytes=%d write_bytes=%d flush_count=%d invalid_reqs_count=%d execute_fails=%d",
				v["read_bytes"], v["write_bytes"], v["flush_count"], v["invalid_reqs_count"], v["execute_fails"] }'
}
# group_metrics GROUP: every counter of ember's metrics group GROUP
# (balloon, entropy, ...) summed over $D/metrics, as "name=N ..." sorted.
group_metrics() {
	grep -o "\"$1\":{[^}]*}" "$D/metrics" 2>/dev/null | sed 's/.*{//; s/}//' | tr ',' '\n' |
		awk -F: '{ gsub(/[" ]/, "", $1); if ($1 != "") v[$1] += $2 }
			END { for (k in v) printf "%s=%d\n", k, v[k] }' | sort | tr '\n' ' ' | sed 's/ $//'
}
# metric NAME LINE: NAME's value in blk_metrics's (group_metrics's) LINE.
metric() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# json_num KEY: the integer KEY has in $D/body (ember's flat JSON replies;
# busybox has no jq), empty when absent.
json_num() { sed -n "s/.*\"$1\": *\(-\{0,1\}[0-9]*\).*/\1/p" "$D/body" | head -n 1; }

# vm_rss_kb: ember's resident memory (VmRSS, kB), guest RAM included.
vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status" 2>/dev/null; }

# vm_boot: InstanceStart. Sets VM_T0 to the moment the boot was asked for.
vm_boot() {
	VM_T0=$(now_ms)
	api_expect 204 PUT /actions '{"action_type": "InstanceStart"}'
}

# vm_boot_cfg: after vm_new + vm_config, boot with `ember --no-api
# --config-file` instead (VM_T0: process start).
vm_boot_cfg() {
	printf '{"boot-source": %s, "machine-config": %s}\n' "$(boot_source_json)" "$(machine_json)" > "$D/vm.json"
	_ember --no-api --config-file "$D/vm.json"
}

# vm_running: the ember process exists and is not a zombie.
vm_running() {
	[ -n "$PID" ] && [ -r "/proc/$PID/stat" ] || return 1
	_st=$(cut -d' ' -f3 "/proc/$PID/stat" 2>/dev/null)
	[ -n "$_st" ] && [ "$_st" != Z ]
}

# wait_console PATTERN SECS: wait until the guest console has a line matching
# PATTERN (grep -E; the console's \r\n line ends are read as \n, so $
# works). Sets WAIT_MS to the time since VM_T0. Fails on timeout or when the
# VMM exited without printing it.
wait_console() {
	_end=$(( $(now_ms) + $2 * 1000 ))
	while :; do
		if tr -d '\r' < "$D/console" | grep -qE "$1"; then
			WAIT_MS=$(( $(now_ms) - VM_T0 ))
			return 0
		fi
		vm_running || { tr -d '\r' < "$D/console" | grep -qE "$1" &&
			{ WAIT_MS=$(( $(now_ms) - VM_T0 )); return 0; }; return 1; }
		[ "$(now_ms)" -lt $_end ] || return 1
		sleep 0.05
	done
}

# vm_wait_exit SECS: wait for ember to end; RC is its exit status, or
# "running" when it is still up after SECS.
vm_wait_exit() {
	_end=$(( $(now_ms) + $1 * 1000 ))
	while vm_running && [ "$(now_ms)" -lt $_end ]; do sleep 0.1; done
	if vm_running; then RC=running; return 1; fi
	wait "$PID"
	RC=$?
	# 137: killed by `timeout -s KILL` (128 + SIGKILL).
}

# vm_stop: SIGTERM (ember's clean stop), SIGKILL if that did not work.
vm_stop() {
	vm_running || return 0
	kill -TERM "$PID" 2>/dev/null
	vm_wait_exit 5 || { kill -KILL "$PID" 2>/dev/null; vm_wait_exit 5; }
}

# vm_dump: the guest console and ember's log, indented, into L1's console
# (kept by the host in build/lab/console.log for diagnosis).
vm_dump() {
	if [ "${LAB_DEMO:-0}" != 1 ]; then # the demo showed it live
		echo "---- $VM: guest console ----"
		sed 's/^/  | /' "$D/console"
	fi
	echo "---- $VM: VMM log ----"
	sed 's/^/  log| /' "$D/log" "$D/curl.err" 2>/dev/null
}

# boot_time_note: " (Guest-boot-time = ...)", ember's own measure
# (--boot-timer; the guest init writes to the boot-timer device), if logged.
boot_time_note() {
	_bt=$(grep -o 'Guest-boot-time[^,]*' "$D/log" | head -n 1)
	[ -n "$_bt" ] && echo " ($_bt)"
}

# has_acpi_table SIG: the guest listed ACPI table SIG (APIC, FACP, ...) in its
# "LABG: acpi tables:" line.
has_acpi_table() {
	tr -d '\r' < "$D/console" | grep '^LABG: acpi tables:' | grep -qw "$1"
}

# guest_line PREFIX: the first guest console line starting with "LABG: PREFIX"
# (\r dropped), without "LABG: ".
guest_line() { tr -d '\r' < "$D/console" | grep -m 1 "^LABG: $1" | sed 's/^LABG: //'; }
# last_guest_line: the guest's last LABG line, for failure messages.
last_guest_line() { tr -d '\r' < "$D/console" | grep '^LABG: ' | tail -n 1 | sed 's/^LABG: //'; }

# rootfs_checks NAME IMAGE ro|rw: after the boot of a guest with lab_scn=
# rootfs-ro|rw and IMAGE as its root drive: waits for the guest's last line
# ("LABG: reboot"), then checks each step up to the image's /sbin/init
# (guest/init, guest/rootfs-init): ember's root= and ro/rw on the command
# line, the virtio-blk device found through ACPI with the image's size and
# read-only flag, the ext4 root mount, the host's file read back intact.
# (The guest's write_cache, in the device line, is checked by scenario 8.)
# Returns 1 at the first step that failed (the later ones depend on it).
rootfs_checks() {
	_n=$1 _img=$2 _fl=$3
	if ! wait_console '^LABG: reboot' "$LAB_L2_TIMEOUT"; then
		notok "$_n: the guest did not finish (last line: $(last_guest_line))"
		return 1
	fi
	_l=$(guest_line cmdline)
	if [ "$_l" = "cmdline root=/dev/vda $_fl" ]; then
		ok "$_n: root=/dev/vda $_fl on the guest's command line"
	else
		notok "$_n: guest: '${_l:-no cmdline line}', want 'cmdline root=/dev/vda $_fl' (ember's root drive)"
		return 1
	fi
	_l=$(guest_line 'blk /dev/vda')
	_v=$(guest_line 'virtio devices')
	_want="sectors=$(($(stat -c %s "$_img") / 512)) ro=$([ "$_fl" = ro ] && echo 1 || echo 0)"
	case "$_l" in
	*" $_want "*) ok "$_n: the guest's virtio_mmio found the drive through ACPI: $_l, = the image ($_v)" ;;
	'') notok "$_n: no /dev/vda in the guest: $(guest_line 'blk ') ($_v)"; return 1 ;;
	*) notok "$_n: guest: $_l, want $_want ($_v)"; return 1 ;;
	esac
	_l=$(guest_line 'rootfs init')
	case "$_l" in
	*" root: /dev/vda ext4 $_fl,"*) ok "$_n: mounted as the ext4 root, $_fl; switch_root into the image's /sbin/init (${_l#*root: })" ;;
	'') notok "$_n: the image's /sbin/init did not run: $(guest_line 'mount') $(guest_line 'mounted')"; return 1 ;;
	*) notok "$_n: root mounted wrong: ${_l#*root: }, want /dev/vda ext4 $_fl"; return 1 ;;
	esac
	_l=$(guest_line 'read /lab/host.bin')
	case "$_l" in
	*"bytes=1048576 sha256 ok") ok "$_n: the guest read the host's 1 MiB file back intact" ;;
	*) notok "$_n: guest: ${_l:-no read result}"; return 1 ;;
	esac
}

# host_check IMAGE CHECK...: a check the host makes on IMAGE (a file in L1's
# /disk) once L1 is off (tests/lab/check-disks.sh reads these lines):
#   file PATH SHA256  PATH in the ext4 IMAGE has this sha256 (after a
#                     journal replay, and e2fsck finds the file system clean)
#   unchanged         IMAGE is byte for byte what build.sh made
host_check() { echo "LAB-HOSTCHECK $*"; }

# todo REASON MESSAGE: a check that fails for a known reason tracked
# elsewhere (config.sh's LAB_TODO_*): "not ok - MESSAGE # TODO REASON", which
# the host does not count as a failure. With REASON empty, a plain not ok.
todo() {
	_r=$1
	shift
	if [ -n "$_r" ]; then echo "LAB-RESULT not ok - $* # TODO $_r"; else notok "$@"; fi
}

# run_scenarios [NAME...]: every scenarios/*.sh (or those whose name, number or
# name without its number is listed), each in a subshell; any ember left
# behind is killed afterwards. A scenario that reports nothing (a broken
# script) and a NAME that matches none are failures too.
run_scenarios() {
	_matched=" "
	# In numeric order (the glob would put 10 before 2).
	for _n in $(ls scenarios | sed -n 's/\.sh$//p' | sort -n); do
		_f=scenarios/$_n.sh
		if [ $# -gt 0 ]; then
			_want=0
			for _a in "$@"; do
				case "$_a" in "$_n" | "${_n#*-}" | "${_n%%-*}") _want=1 _matched="$_matched$_a " ;; esac
			done
			[ $_want = 1 ] || continue
		fi
		echo "LAB-L1: scenario $_n begins uptime=$(cut -d' ' -f1 /proc/uptime)"
		(. "./$_f") 2>&1 | tee /tmp/scenario.out
		grep -q '^LAB-RESULT ' /tmp/scenario.out || notok "$_n: the scenario reported no result"
		if [ -f /tmp/vm/pids ]; then
			while read -r _p; do kill -KILL "$_p" 2>/dev/null; done < /tmp/vm/pids
			rm -f /tmp/vm/pids
		fi
	done
	for _a in "$@"; do
		case "$_matched" in *" $_a "*) ;; *) notok "no scenario is named '$_a'" ;; esac
	done
}

# --- vsock (scenario 12, bench-vsock.sh) ----------------------------------
# The host side of ember's hybrid vsock is a UNIX socket, driven with socat.
# socat's own log (-d -d -lu: microsecond time stamps) times the transfers.

# socat_secs LOG: for each connection a `socat -d -d -lu ... UNIX-LISTEN:...`
# (with or without fork) served, one line: the seconds from accepting it to
# the exit of the process that moved its data.
socat_secs() {
	awk 'function t(s,  a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
		function out(d) { if (d < 0) d += 86400; printf "%.3f\n", d }
		/ accepting connection / { tacc = t($2) }
		/ forked off child process / { t0[$NF] = tacc; forked = 1 }
		/ exiting with status / {
			p = $3; gsub(/[^0-9]/, "", p)
			if (p in t0) out(t($2) - t0[p]); else if (!forked) out(t($2) - tacc)
		}' "$1"
}
# rand_file PATH BYTES: BYTES of data for a transfer: 1000003 random bytes
# (a prime: no buffer or ring size divides it, so stale or misplaced data
# changes a checksum), repeated by one cat (file to file: no pipe, whose
# every write is a system call, dear under the emulator), cut to size.
# /dev/urandom alone costs more than the transfers there (64 MiB: ~7 s on
# L1, ~11 s in L2).
rand_file() {
	head -c 1000003 /dev/urandom > "$1.blk"
	_i=0 _blks=''
	while [ $_i -le $(($2 / 1000003)) ]; do _blks="$_blks $1.blk"; _i=$((_i + 1)); done
	cat $_blks > "$1"
	truncate -s "$2" "$1"
	rm -f "$1.blk"
}
# mb_s BYTES SECS: throughput in MB/s (10^6 bytes per second).
mb_s() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1e6; else print "?" }'; }

# vsock_connect UDS PORT [LINE]: a host client of ember's vsock: connects to
# UDS, writes "CONNECT PORT\n" and LINE (if any), then waits (up to 10 s)
# for the other side to close. Prints what came back ("OK <port>\n" and the
# echo); socat's log, with time stamps, in $D/connect.log.
vsock_connect() {
	{ printf 'CONNECT %s\n' "$2"; [ -n "${3:-}" ] && printf '%s\n' "$3"; } |
		timeout -s KILL 15 socat -d -d -d -lu -t 10 - "UNIX-CONNECT:$1" 2> "$D/connect.log"
}
# reply_ms [last]: from "connected" to the first (last) bytes written to
# stdout in $D/connect.log, in milliseconds ("none" without an answer): for
# a vsock client the first is the OK line, the last the echo.
reply_ms() {
	awk -v last="${1:-}" 'function t(s,  a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
		/ successfully connected / { t0 = t($2) }
		/ transferred [0-9]+ bytes from [0-9]+ to 1$/ && (last || !t1) { t1 = t($2) }
		END { if (!t1) print "none"; else { if (t1 < t0) t1 += 86400; printf "%.2f\n", (t1 - t0) * 1000 } }' "$D/connect.log"
}
# closed_ms: from "connected" to socat's exit in $D/connect.log (ms).
closed_ms() {
	awk '/ successfully connected / { split($2, a, ":"); t0 = a[1] * 3600 + a[2] * 60 + a[3] }
		/ exiting with status / { split($2, a, ":"); t1 = a[1] * 3600 + a[2] * 60 + a[3] }
		END { if (t1 < t0) t1 += 86400; printf "%.0f\n", (t1 - t0) * 1000 }' "$D/connect.log"
}

# --- network (scenarios 13, 14, bench-net.sh) --------------------------------
# Several VMs at once: vm_keep saves the current VM's state (PID, start
# time), vm_use NAME makes VM NAME current again for api, wait_console,
# guest_line, vm_wait_exit, vm_stop, vm_dump.
vm_keep() { echo "$PID $VM_T0 $VM_LIMIT" > "$D/state"; }
vm_use() {
	VM=$1 D=/tmp/vm/$1 SOCK=/tmp/vm/$1/api.sock
	read -r PID VM_T0 VM_LIMIT < "$D/state"
}

# net_vm NAME MAC BACKEND ARGS [MEM] [SECS]: an ember with one interface
# "eth0" (guest_mac MAC; BACKEND the JSON member naming its backend:
# "host_dev_name": "tap0" or "comms_socket": "/path"), metrics to
# $D/metrics, the guest's lab_scn=net with ARGS (guest/init), booted and
# kept (vm_keep). Returns 1 (reported) when a step failed.
net_vm() {
	vm_start "$1" "${6:-$LAB_L2_TIMEOUT}" || return 1
	vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=net $4" 1 "${5:-256}" &&
		api_expect 204 PUT /network-interfaces/eth0 \
			"{\"iface_id\": \"eth0\", \"guest_mac\": \"$2\", $3}" &&
		vm_metrics && vm_boot || { vm_keep; return 1; }
	vm_keep
}

# net_quit IP: the line the guest's init waits for on TCP port 7000 (it
# then reboots); also proves L1 -> guest TCP. 0 when it was sent. The
# guest prints that it waits just before its socat listens: a refused
# connection is tried again (10 times, 0.5 s apart).
net_quit() {
	_i=0
	while ! echo quit | timeout -s KILL 10 socat -u - "TCP:$1:7000,connect-timeout=5" 2> "$D/quit.err"; do
		_i=$((_i + 1))
		grep -q 'Connection refused' "$D/quit.err" && [ $_i -lt 10 ] || { cat "$D/quit.err" >> "$D/curl.err"; return 1; }
		sleep 0.5
	done
}

# l1_ping IP: 3 echoes from L1 (busybox ping, each as soon as the last
# reply came); prints "ok rtt_avg_ms=X" or "fail: ...", returns 0 when any
# reply came.
l1_ping() {
	_o=$(ping -c 3 -A -w 15 "$1" 2>&1)
	_r=$(echo "$_o" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	if [ "${_r:-0}" -gt 0 ]; then
		echo "ok received=$_r/3 rtt_avg_ms=$(echo "$_o" | sed -n 's/.*min\/avg\/max = [0-9.]*\/\([0-9.]*\)\/.*/\1/p')"
	else
		echo "fail: $(echo "$_o" | tail -n 2 | tr '\n' ' ')"
		return 1
	fi
}

# sw_start DIR ARGS...: ember-switch --socket DIR/sw.sock ARGS under
# `timeout -s KILL`, its stdout (SIGUSR1 counters) in DIR/out, log in
# DIR/log; sets SW_PID, SW_SOCK; returns once the socket is there.
sw_start() {
	_d=$1
	shift
	mkdir -p "$_d"
	SW_SOCK=$_d/sw.sock SW_DIR=$_d
	timeout -s KILL "$LAB_L1_TIMEOUT" ember-switch --socket "$SW_SOCK" "$@" \
		> "$_d/out" 2> "$_d/log" < /dev/null &
	SW_PID=$!
	echo "$SW_PID" >> /tmp/vm/pids
	_i=0
	while [ ! -S "$SW_SOCK" ] && [ $_i -lt 50 ] && kill -0 "$SW_PID" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -S "$SW_SOCK" ]
}
# sw_stats: SIGUSR1, then the switch's new counters line (JSON, see
# ember-switch --help) on stdout; empty if none came within 5 s.
sw_stats() {
	_n=$(wc -l < "$SW_DIR/out")
	kill -USR1 "$SW_PID"
	_i=0
	while [ "$(wc -l < "$SW_DIR/out")" -le "$_n" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	tail -n 1 "$SW_DIR/out"
}
# sw_port LINE KEY VALUE: "rx_frames=N rx_bytes=N tx_frames=N ..." of the
# port whose string KEY is VALUE (mac 02:..., kind tap) in sw_stats's LINE
# (busybox has no jq: one port per line).
sw_port() {
	echo "$1" | sed 's/},{/}\n{/g' | grep "\"$2\":\"$3\"" | head -n 1 | sed 's/}.*//; s/.*{//' |
		grep -o '"[a-z_]*":[0-9][0-9]*' | tr -d '"' | tr ':' '=' | tr '\n' ' ' | sed 's/ $//'
}
# sw_stop: SIGTERM, then SIGKILL; the switch's log into L1's console.
sw_stop() {
	kill -TERM "$SW_PID" 2>/dev/null
	_i=0
	while kill -0 "$SW_PID" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -KILL "$SW_PID" 2>/dev/null
	wait "$SW_PID" 2>/dev/null
	echo "---- ember-switch: log ----"
	sed 's/^/  sw| /' "$SW_DIR/log"
}
