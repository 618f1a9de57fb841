#!/bin/bash
# The REST API end to end against the real ember, the real socket and curl:
# configure and boot guests, read the state, pause/resume, Ctrl-Alt-Del,
# metrics and logger, failed starts that leave the VM configurable.
set -u
cd "$(dirname "$0")/../.."
EMBER=$PWD/build/ember
G=$PWD/build/guest
T=$(mktemp -d /tmp/ember-api.XXXXXX)
SOCK=$T/api.sock
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
pass=0; fail=0

ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1"; fail=$((fail + 1)); tail -5 "$T/out" "$T/err" 2>/dev/null | sed 's/^/    /'; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

# api METHOD PATH [BODY]: prints "<status> <body>"
api() {
	curl -s -m 5 --unix-socket "$SOCK" -X "$1" "http://localhost$2" \
		${3:+-H 'Content-Type: application/json' -d "$3"} -w ' %{http_code}' |
		awk '{code=$NF; $NF=""; sub(/ $/, ""); print code " " $0}'
}
wait_for() { for _ in $(seq $(($3 * 50))); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done; return 1; }
start_ember() {
	rm -f "$SOCK"
	"$EMBER" --api-sock "$SOCK" "$@" </dev/null >"$T/out" 2>"$T/err" &
	EPID=$!
	for _ in $(seq 250); do [ -S "$SOCK" ] && return 0; sleep 0.02; done
	return 1
}
stop_ember() { kill "$EPID" 2>/dev/null; wait "$EPID" 2>/dev/null; }
boot() { # boot GUEST ARGS VCPUS
	api PUT /machine-config "{\"vcpu_count\": ${3:-1}, \"mem_size_mib\": 128}" >/dev/null
	api PUT /boot-source "{\"kernel_image_path\": \"$G/$1.elf\", \"boot_args\": \"$2\"}" >/dev/null
	api PUT /actions '{"action_type": "InstanceStart"}'
}

if [ ! -c /dev/kvm ]; then echo "api-boot: 0 passed, 0 failed, 1 skipped (no /dev/kvm)"; exit 0; fi

# 1. hello through the API: boots, echoes the command line, resets: exit 0.
start_ember || nok "API socket did not appear"
r=$(api GET /); check "GET / before start: Not started" '[[ "$r" == "200 "*"\"state\":\"Not started\""* ]]'
r=$(api PATCH /vm '{"state": "Paused"}')
check "PATCH /vm before start is refused" '[[ "$r" == 400*"before starting the microVM"* ]]'
r=$(boot hello "console=ttyS0 via-api")
check "InstanceStart hello: 204" '[ "$r" = "204 " ]'
wait "$EPID"; rc=$?
check "hello ran and reset: exit 0" '[ $rc -eq 0 ] && grep -q "cmdline: console=ttyS0 via-api" "$T/out" && grep -q SUCCESS "$T/out"'
check "socket removed at exit" '[ ! -e "$SOCK" ]'

# 2. A failed InstanceStart leaves the VM configurable.
start_ember
head -c 8192 /dev/urandom >"$T/junk"
api PUT /boot-source "{\"kernel_image_path\": \"$T/junk\"}" >/dev/null
r=$(api PUT /actions '{"action_type": "InstanceStart"}')
check "corrupt kernel: InstanceStart 400 naming the defect" '[[ "$r" == 400*"neither ELF"* ]]'
r=$(api GET /); check "still Not started after the failed start" '[[ "$r" == *"Not started"* ]]'
r=$(api PUT /metrics "{\"metrics_path\": \"$T/metrics.json\"}"); check "PUT /metrics: 204" '[ "$r" = "204 " ]'
r=$(api PUT /logger "{\"log_path\": \"$T/log.txt\", \"level\": \"Debug\"}"); check "PUT /logger: 204" '[ "$r" = "204 " ]'
r=$(boot console "mode=count" 2)
check "InstanceStart after fixing the kernel: 204" '[ "$r" = "204 " ]'
r=$(api GET /); check "GET /: Running" '[[ "$r" == *"\"state\":\"Running\""* ]]'
wait_for "$T/out" "tick 3" 5

# 3. Pause stops the guest's output; resume continues it.
r=$(api PATCH /vm '{"state": "Paused"}'); check "PATCH /vm Paused: 204" '[ "$r" = "204 " ]'
r=$(api GET /); check "GET /: Paused" '[[ "$r" == *"\"state\":\"Paused\""* ]]'
a=$(wc -c <"$T/out"); sleep 0.5; b=$(wc -c <"$T/out")
check "no guest output while paused ($a -> $b bytes)" '[ "$a" -eq "$b" ]'
r=$(api PATCH /vm '{"state": "Resumed"}'); check "PATCH /vm Resumed: 204" '[ "$r" = "204 " ]'
sleep 0.5; c=$(wc -c <"$T/out")
check "output continues after resume ($b -> $c bytes)" '[ "$c" -gt "$b" ]'
r=$(api PUT /boot-source "{\"kernel_image_path\": \"$G/hello.elf\"}")
check "pre-boot request after start is refused" '[[ "$r" == 400*"after starting the microVM"* ]]'
r=$(api PATCH /vm '{"state": "Sleeping"}'); check "PATCH /vm bad state: 400" '[[ "$r" == 400*"unknown variant"* ]]'

# 4. FlushMetrics writes a JSON line with the vCPU exits and API counts.
r=$(api PUT /actions '{"action_type": "FlushMetrics"}'); check "FlushMetrics: 204" '[ "$r" = "204 " ]'
check "metrics line counts vCPU I/O exits and API requests" 'python3 -c "
import json,sys
m=[json.loads(l) for l in open(\"$T/metrics.json\")]
tot=lambda g,k: sum(x[g][k] for x in m)
sys.exit(0 if tot(\"vcpu\",\"exit_io_out\")>0 and tot(\"put_api_requests\",\"actions_count\")>=2 and tot(\"put_api_requests\",\"actions_fails\")>=1 else 1)"'
check "the logger writes to its new path" 'grep -q "PATCH request on \"/vm\"\|Patch request on \"/vm\"" "$T/log.txt"'
stop_ember

# 5. SendCtrlAltDel reaches the guest's keyboard interrupt handler.
start_ember
r=$(api PUT /actions '{"action_type": "SendCtrlAltDel"}')
check "SendCtrlAltDel before start is refused" '[[ "$r" == 400*"before starting"* ]]'
boot console "mode=kbd" >/dev/null
if wait_for "$T/out" "kbd: ready" 5; then
	r=$(api PUT /actions '{"action_type": "SendCtrlAltDel"}'); check "SendCtrlAltDel: 204" '[ "$r" = "204 " ]'
fi
wait "$EPID"; rc=$?
check "guest saw 14 11 e0 71 and reset: exit 0" '[ $rc -eq 0 ] && grep -q SUCCESS "$T/out" && grep -q "kbd: 71" "$T/out"'

# 6. A start that fails after the vCPUs exist (a CPU template naming an MSR
#    KVM lacks) reports the reason, and the torn-down VM leaves nothing
#    behind for the metrics collector or the stop path to trip on.
start_ember
api PUT /metrics "{\"metrics_path\": \"$T/metrics2.json\"}" >/dev/null
api PUT /cpu-config '{"msr_modifiers": [{"addr": "0xdeadbeef", "bitmap": "0b1"}]}' >/dev/null
r=$(boot console "mode=idle" 2)
check "InstanceStart with an MSR KVM lacks: 400 naming it" '[[ "$r" == 400*"0xdeadbeef"* ]]'
kill "$EPID"; wait "$EPID"; rc=$?
check "stopped cleanly after the failed start (exit $rc)" '[ $rc -eq 0 ]'

# 7. Drives through the API: the blk guest's I/O shows in the per-drive
#    metrics group; PATCH /drives swaps the backing file of a running VM.
python3 tests/guest/blkdisk.py make "$T/disk.img" 8
python3 tests/guest/blkdisk.py make "$T/disk2.img" 16
start_ember
api PUT /metrics "{\"metrics_path\": \"$T/metrics3.json\"}" >/dev/null
r=$(api PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/disk.img\", \"is_root_device\": true, \"cache_type\": \"Writeback\"}")
check "PUT /drives/rootfs: 204" '[ "$r" = "204 " ]'
r=$(boot blk "id=$(python3 tests/guest/blkdisk.py id "$T/disk.img") cap=16384 flush=yes")
check "InstanceStart with a drive: 204" '[ "$r" = "204 " ]'
wait "$EPID"; rc=$?
check "blk guest through the API: exit 0, SUCCESS" '[ $rc -eq 0 ] && grep -q SUCCESS "$T/out"'
check "block_rootfs metrics count the guest's reads, writes and flush" 'python3 -c "
import json,sys
m=[json.loads(l) for l in open(\"$T/metrics3.json\")]
t=lambda k: sum(x.get(\"block_rootfs\",{}).get(k,0) for x in m)
sys.exit(0 if t(\"read_count\")>0 and t(\"write_count\")>0 and t(\"flush_count\")>0 and t(\"write_bytes\")>=11*512 else 1)"'
start_ember
api PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/disk.img\", \"is_root_device\": true}" >/dev/null
boot console "mode=idle" >/dev/null
wait_for "$T/out" "idle: ready" 5
r=$(api PATCH /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/disk2.img\"}")
check "PATCH /drives/rootfs path_on_host at runtime: 204" '[ "$r" = "204 " ]'
r=$(api GET /vm/config); check "GET /vm/config shows the new backing file" '[[ "$r" == *"disk2.img"* ]]'
r=$(api PATCH /drives/rootfs '{"drive_id": "rootfs", "rate_limiter": {"ops": {"size": 100, "refill_time": 1000}}}')
check "PATCH /drives/rootfs rate_limiter: 204" '[ "$r" = "204 " ]'
r=$(api PATCH /drives/nosuch '{"drive_id": "nosuch", "path_on_host": "/x"}')
check "PATCH of an unknown drive: 400" '[[ "$r" == 400* ]]'
r=$(api PATCH /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/none.img\"}")
check "PATCH to a missing file: 400, VM keeps running" '[[ "$r" == 400* ]] && [[ "$(api GET /)" == *Running* ]]'
stop_ember

# 8. Balloon and entropy on a running VM (the idle guest has no balloon
#    driver, so only the device side is exercised here).
start_ember
api PUT /balloon '{"amount_mib": 16, "deflate_on_oom": false, "stats_polling_interval_s": 1}' >/dev/null
r=$(api PUT /entropy '{}'); check "PUT /entropy: 204" '[ "$r" = "204 " ]'
r=$(boot console "mode=idle")
check "InstanceStart with balloon and entropy: 204" '[ "$r" = "204 " ]'
wait_for "$T/out" "idle: ready" 5
r=$(api GET /balloon); check "GET /balloon: the device's config" '[[ "$r" == 200*"\"amount_mib\":16"* ]]'
r=$(api PATCH /balloon '{"amount_mib": 32}'); check "PATCH /balloon: 204" '[ "$r" = "204 " ]'
r=$(api GET /balloon/statistics)
check "GET /balloon/statistics: target 32 MiB = 8192 pages" '[[ "$r" == 200*"\"target_pages\":8192"* && "$r" == *"\"target_mib\":32"* ]]'
r=$(api PATCH /balloon '{"amount_mib": 1000000}'); check "PATCH /balloon beyond RAM: 400" '[[ "$r" == 400*"too large"* ]]'
r=$(api PATCH /balloon/statistics '{"stats_polling_interval_s": 0}')
check "statistics cannot be turned off after boot: 400" '[[ "$r" == 400*"enable/disable"* ]]'
r=$(api PATCH /balloon/statistics '{"stats_polling_interval_s": 2}'); check "PATCH /balloon/statistics: 204" '[ "$r" = "204 " ]'
r=$(api GET /vm/config); check "GET /vm/config follows the balloon updates" '[[ "$r" == *"\"amount_mib\":32"*"\"stats_polling_interval_s\":2"* ]]'
r=$(api GET /balloon/hinting/status); check "free page hinting: 400" '[[ "$r" == 400* ]]'
stop_ember

# 9. --config-file with the API: boots from the file, the API serves runtime.
printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "mode=idle"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}' \
	"$G/console.elf" >"$T/vm.json"
start_ember --config-file "$T/vm.json"
r=$(api GET /); check "--config-file + API: Running at once" '[[ "$r" == *"Running"* ]]'
r=$(api GET /vm/config); check "GET /vm/config shows the file's config" '[[ "$r" == 200*"mode=idle"*"\"mem_size_mib\":64"* ]]'
stop_ember

# 10. vsock: uds_path is bound at InstanceStart, so a missing directory is
#     the start's fault_message and the VM stays configurable; the socket
#     takes host clients, and one whose guest never answers (the idle guest
#     has no vsock driver) is closed after the 2 s REQUEST timeout.
start_ember
r=$(api PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$T/nodir/v.sock\"}")
check "PUT /vsock in a missing directory: 400 naming the reason (Firecracker binds at PUT)" \
	'[[ "$r" == 400*"Unix socket"*"No such file or directory"* ]]'
mkdir "$T/gone"
r=$(api PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$T/gone/v.sock\"}"); check "PUT /vsock: 204" '[ "$r" = "204 " ]'
rmdir "$T/gone"
r=$(boot console "mode=idle")
check "vsock uds_path whose directory went away: InstanceStart 400 naming path and reason" \
	'[[ "$r" == 400*"gone/v.sock"*"No such file or directory"* ]]'
r=$(api PUT /vsock "{\"guest_cid\": 7, \"uds_path\": \"$T/v.sock\"}"); check "PUT /vsock replaces it: 204" '[ "$r" = "204 " ]'
r=$(boot console "mode=idle"); check "InstanceStart with vsock: 204" '[ "$r" = "204 " ]'
wait_for "$T/out" "idle: ready" 5
r=$(api GET /vm/config)
check "GET /vm/config shows the vsock" '[[ "$r" == 200*"\"vsock\":{"*"\"guest_cid\":7"*"\"uds_path\":\"$T/v.sock\""* ]]'
check "uds_path is a socket" '[ -S "$T/v.sock" ]'
r=$(timeout 10 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(8); s.connect(sys.argv[1])
t = time.monotonic(); s.sendall(b"CONNECT 52\n")
d = s.recv(64)
print("closed" if d == b"" else "got %r" % d, round(time.monotonic() - t))' "$T/v.sock" 2>&1)
check "CONNECT to a guest that never answers: closed without OK after ~2 s ($r)" '[[ "$r" == "closed "[23] ]]'
stop_ember
check "uds_path removed at exit" '[ ! -e "$T/v.sock" ]'

echo "api-boot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
