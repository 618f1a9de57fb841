#!/bin/sh
# bench-vsock.sh [MIB [RUNS [CONNS]]] (inside L1; bench/vsock.sh drives it):
# ember's vsock against a plain AF_UNIX stream on L1, in one L1 run. One
# guest (lab_scn=vsock in guest/init, the same as scenario 12) with MIB
# MiB in a tmpfs sends it RUNS times to host port 6000 (ember connects to
# <uds_path>_6000, where L1's socat writes it to /dev/null); L1 sends MIB
# MiB once to guest port 5001 (host -> guest, for information); CONNS host
# clients in turn CONNECT to the guest's echo server on port 5000: the
# time to ember's "OK <port>" and to the echoed line. Then, with the guest
# idle, the same MIB MiB RUNS times from socat to socat over an AF_UNIX
# socket on L1, and CONNS connections to a socat echo server (PIPE, one
# child per connection, as the guest's) on L1. Both receivers run
# `socat -b 131072 -u ... OPEN:/dev/null`; times are their socat's log's
# (accepted connection to the exit of the child that moved the data).
# One "LAB-BENCH kind=... " line per measurement.
cd /lab || exit 1
. ./config.sh
. ./lib.sh
mib=${1:-64} runs=${2:-3} conns=${3:-50}
bytes=$((mib * 1048576))
vs=/tmp/vsd
mkdir -p $vs
mount -t tmpfs -o size=$((mib + 8))m tmpfs $vs
limit=$((LAB_L2_TIMEOUT + 120 + runs * (mib / 2) + conns))

vm_start vsock-bench $limit || exit
uds=$D/v.sock
if ! vm_config /lab/vmlinuz /lab/guest.cpio \
	"$L2_ARGS lab_scn=vsock lab_vsock_mib=$mib lab_vsock_runs=$runs" 1 $((2 * mib + 256)) ||
	! api_expect 204 PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$uds\"}" || ! vm_metrics; then
	vm_stop; vm_dump; exit
fi
rand_file $vs/data $bytes
timeout -s KILL $limit socat -d -d -lu -b 131072 -u "UNIX-LISTEN:${uds}_6000,fork" OPEN:/dev/null \
	2> "$D/g2h.log" &
g2h=$!
vm_boot || { vm_stop; vm_dump; exit; }

# bench_lines KIND LOG: one line per connection socat served.
bench_lines() {
	socat_secs "$2" | awk -v k="$1" -v b=$bytes '{ printf "LAB-BENCH kind=%s run=%d bytes=%d secs=%s\n", k, NR, b, $1 }'
}

# cpu_ticks: "MAIN VCPU" CPU ticks (1/100 s) of ember's threads so far: the
# VMM thread (the vsock device's work) and the vCPU (the guest, L2).
cpu_ticks() {
	_m=0 _c=0
	for _t in /proc/"$PID"/task/*; do
		_n=$(awk '{ print $14 + $15 }' "$_t/stat" 2>/dev/null)
		case "$(cat "$_t/comm" 2>/dev/null)" in
		*vcpu*) _c=$((_c + ${_n:-0})) ;;
		*) _m=$((_m + ${_n:-0})) ;;
		esac
	done
	echo "$_m $_c"
}

# guest -> host, RUNS times; where the CPU time went meanwhile
wait_console '^LABG: vsock g2h ready' $limit
set -- $(cpu_ticks)
c0_main=$1 c0_vcpu=$2 t0=$(now_ms)
if wait_console "^LABG: vsock g2h sent run=$runs " $limit; then
	set -- $(cpu_ticks)
	echo "LAB-BENCH kind=cpu-g2h wall_s=$(secs $(( $(now_ms) - t0 ))) ember_vmm_s=$(secs $((($1 - c0_main) * 10))) ember_vcpu_s=$(secs $((($2 - c0_vcpu) * 10)))"
	sleep 0.5 # the last child's exit line
	bench_lines vsock-g2h "$D/g2h.log"
	tr -d '\r' < "$D/console" | grep '^LABG: vsock g2h sent' | grep -v ' rc=0 $' |
		sed 's/^LABG: /LAB-BENCH failed: /'
else
	echo "LAB-BENCH failed: guest -> host: $(last_guest_line)"
fi
kill -KILL $g2h 2>/dev/null

# host -> guest, once (the guest's socat times its receive)
{ printf 'CONNECT 5001\n'; cat $vs/data; } |
	timeout -s KILL 120 socat -b 131072 -t 30 - "UNIX-CONNECT:$uds" > /dev/null 2>> "$D/curl.err"
if wait_console '^LABG: vsock h2g received' 60; then
	l=$(guest_line 'vsock h2g received')
	echo "LAB-BENCH kind=vsock-h2g run=1 bytes=$(echo "$l" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p') secs=${l##*secs=}"
else
	echo "LAB-BENCH failed: host -> guest: $(last_guest_line)"
fi

# CONNECT latency: to ember's OK (the guest kernel's RESPONSE), to the echo
i=1
while [ $i -le $conns ]; do
	out=$(vsock_connect "$uds" 5000 ping | tr '\n' ' ')
	case "$out" in
	"OK "*" ping ") echo "LAB-BENCH kind=vsock-connect run=$i ok_ms=$(reply_ms) echo_ms=$(reply_ms last)" ;;
	*) echo "LAB-BENCH failed: vsock connect $i: '$out'" ;;
	esac
	i=$((i + 1))
done

# AF_UNIX on L1, the same bytes, while the guest idles
timeout -s KILL $limit socat -d -d -lu -b 131072 -u "UNIX-LISTEN:$vs/u.sock,fork" OPEN:/dev/null \
	2> "$D/unix.log" &
u=$!
i=0
while [ ! -S $vs/u.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
r=1
while [ $r -le $runs ]; do
	socat -b 131072 -u FILE:$vs/data "UNIX-CONNECT:$vs/u.sock" || echo "LAB-BENCH failed: AF_UNIX run $r"
	r=$((r + 1))
done
sleep 0.5
kill -KILL $u 2>/dev/null
bench_lines unix "$D/unix.log"
timeout -s KILL $limit socat "UNIX-LISTEN:$vs/e.sock,fork,backlog=128" PIPE 2>> "$D/curl.err" &
e=$!
i=0
while [ ! -S $vs/e.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
i=1
while [ $i -le $conns ]; do
	out=$(printf 'ping\n' | timeout -s KILL 15 socat -d -d -d -lu -t 10 - "UNIX-CONNECT:$vs/e.sock" 2> "$D/connect.log")
	[ "$out" = ping ] && echo "LAB-BENCH kind=unix-connect run=$i echo_ms=$(reply_ms last)" ||
		echo "LAB-BENCH failed: AF_UNIX connect $i: '$out'"
	i=$((i + 1))
done
kill -KILL $e 2>/dev/null

vsock_connect "$uds" 5002 quit > /dev/null
vm_wait_exit 30
echo "LAB-BENCH kind=exit rc=$RC vsock_metrics: $(group_metrics vsock)"
vm_stop
vm_dump
umount $vs
