#!/bin/sh
# bench-net.sh [SECS [SPIN_US]] (inside L1; bench/net.sh drives it): guest-to-guest
# TCP throughput, iperf3 for SECS s (default 10), between two L2 guests
# (stock Debian kernel, virtio_net, 1 vCPU, 256 MiB each) in three setups,
# one after the other in this one L1 run:
#   ember-ring    two embers, comms_socket -> ember-switch (comms rings;
#                 --spin-us SPIN_US when given)
#   ember-tap     the same two embers on host_dev_name TAPs in a Linux bridge
#   qemu-tap      two QEMU microvm guests (virtio-net-device, -netdev tap,
#                 vhost off) on the same TAPs and bridge
# Static addresses (10.0.9.11 server, .12 client); the server boots first,
# the client once the server listens. One "LAB-BENCH net setup=... " line
# per setup: the client's sender and receiver Mbit/s and retransmits, and
# the CPU time (1/100 s) each VMM process (and ember-switch) used during
# the transfer (window_ms: from the client's "start" line to its result,
# the connection and iperf3's report included), in all and without its
# vCPU threads (the VMM's own work),
# and for ember the client's frames (its net metrics).
cd /lab || exit 1
. ./config.sh
. ./lib.sh
SECS=${1:-10}
SPIN_US=${2:-} # ember-switch --spin-us (its default when empty)
S_IP=10.0.9.11 C_IP=10.0.9.12 MAC_S=02:00:00:00:09:0b MAC_C=02:00:00:00:09:0c
mkdir -p /tmp/vm

# cpu_ticks PID: "ALL VMM": utime + stime of every thread of PID, and of
# those not running a vCPU (ember_vcpuN, QEMU's "CPU N/KVM").
cpu_ticks() {
	_a=0 _v=0
	for _t in /proc/"$1"/task/*; do
		_k=$(sed 's/.*) //' "$_t/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		_a=$((_a + ${_k:-0}))
		case "$(cat "$_t/comm" 2>/dev/null)" in *vcpu* | CPU*) ;; *) _v=$((_v + ${_k:-0})) ;; esac
	done
	echo "$_a $_v"
}

qemu_vm() { # NAME MAC TAP ARGS: QEMU microvm with virtio-net on TAP
	vm_new "$1" 180
	timeout -s KILL 180 qemu-system-x86_64 -L /usr/share/qemu -M microvm -enable-kvm \
		-name "$1,debug-threads=on" -cpu host -smp 1 -m 256 -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel /lab/vmlinuz -initrd /lab/guest.cpio -append "$L2_ARGS lab_scn=net $4" \
		-netdev "tap,id=n0,ifname=$3,script=no,downscript=no" \
		-device "virtio-net-device,netdev=n0,mac=$2" \
		> "$D/console" 2> "$D/log" < /dev/null &
	PID=$!
	VM_T0=$(now_ms)
	echo "$PID" >> /tmp/vm/pids
	vm_keep
}

# start_pair SETUP KIND BACKEND_S BACKEND_C: the server, and the client
# once the server listens. KIND ember: BACKEND_* are the interface's JSON
# member; qemu: TAP names.
start_pair() {
	_sa="lab_net_ip=$S_IP/24 lab_net_iperf=server lab_net_linger=60"
	_ca="lab_net_ip=$C_IP/24 lab_net_iperf=client:$S_IP:$SECS lab_net_linger=60"
	if [ "$2" = ember ]; then net_vm "s-$1" $MAC_S "$3" "$_sa" 256 180 || return 1
	else qemu_vm "s-$1" $MAC_S "$3" "$_sa"; fi
	if ! wait_console '^LABG: net iperf3 server listening' "$LAB_L2_TIMEOUT"; then
		echo "LAB-BENCH net setup=$1 failed: the server did not listen (last line: $(last_guest_line))"
		return 1
	fi
	if [ "$2" = ember ]; then net_vm "c-$1" $MAC_C "$4" "$_ca" 256 180 || return 1
	else qemu_vm "c-$1" $MAC_C "$4" "$_ca"; fi
}

# measure SETUP [SWITCH_PID]: CPU before and after the client's iperf3,
# its result as a LAB-BENCH line; both VMs stopped and their logs dumped.
measure() {
	_r=failed _w0=''
	vm_use "c-$1"
	if wait_console '^LABG: net iperf3 client start' "$LAB_L2_TIMEOUT"; then
		_t0=$(now_ms)
		vm_use "s-$1"; _s0=$(cpu_ticks "$PID")
		vm_use "c-$1"; _c0=$(cpu_ticks "$PID")
		_w0=$([ -n "${2:-}" ] && cpu_ticks "$2" | cut -d' ' -f1)
		if wait_console '^LABG: net iperf3 client rc=' $((SECS + 90)); then
			_c1=$(cpu_ticks "$PID")
			_t1=$(now_ms)
			vm_use "s-$1"; _s1=$(cpu_ticks "$PID")
			_w1=$([ -n "${2:-}" ] && cpu_ticks "$2" | cut -d' ' -f1)
			vm_use "c-$1"
			_l=$(guest_line 'net iperf3 client rc=')
			set -- "$1" $_s0 $_s1 $_c0 $_c1
			_r="$(echo "$_l" | sed 's/^net iperf3 client //')"
			_r="$_r window_ms=$((_t1 - _t0)) server_cpu=$(($4 - $2)) server_vmm_cpu=$(($5 - $3)) client_cpu=$(($8 - $6)) client_vmm_cpu=$(($9 - $7))"
			[ -n "$_w0" ] && _r="$_r switch_cpu=$((_w1 - _w0))"
		fi
	fi
	[ -n "${_w0:-}" ] && echo "LAB-L1: switch counters: $(sw_stats)"
	pair_end "$1"
	# ember's own count of the client's frames (its last metrics line,
	# written at the exit): the average frame size shows the TSO at work.
	vm_use "c-$1"
	_m=$(group_metrics net_eth0)
	[ -n "$_m" ] && _r="$_r client_tx_frames=$(metric tx_packets_count "$_m") client_tx_bytes=$(metric tx_bytes_count "$_m") client_rx_frames=$(metric rx_packets_count "$_m")"
	case "$_r" in
	*rc=0*) echo "LAB-BENCH net setup=$1 secs=$SECS $_r" ;;
	*) echo "LAB-BENCH net setup=$1 failed: ${_r} (client: $(last_guest_line))" ;;
	esac
}
# pair_end SETUP: stop both VMs (those that were started), dump their logs.
pair_end() {
	for _v in "s-$1" "c-$1"; do
		[ -f "/tmp/vm/$_v/state" ] || continue
		vm_use "$_v"
		vm_stop
		vm_dump
	done
}

echo "LAB-L1: bench-net: iperf3 $SECS s per setup"
# ember-ring: the switch as a plain learning switch (no gateway, no uplink).
if sw_start /tmp/vm/sw ${SPIN_US:+--spin-us $SPIN_US}; then
	if start_pair ember-ring ember "\"comms_socket\": \"$SW_SOCK\"" "\"comms_socket\": \"$SW_SOCK\""; then
		measure ember-ring "$SW_PID"
	else
		pair_end ember-ring
	fi
	sw_stop
else
	echo "LAB-BENCH net setup=ember-ring failed: ember-switch did not start: $(tail -n 2 /tmp/vm/sw/log | tr '\n' ' ')"
fi

# A Linux bridge with two TAPs, for ember and then QEMU.
ip link add br0 type bridge && ip link set br0 up
for t in tap-s tap-c; do
	ip tuntap add dev $t mode tap && ip link set $t master br0 && ip link set $t up
done
if start_pair ember-tap ember '"host_dev_name": "tap-s"' '"host_dev_name": "tap-c"'; then
	measure ember-tap
else
	pair_end ember-tap
fi
if start_pair qemu-tap qemu tap-s tap-c; then measure qemu-tap; else pair_end qemu-tap; fi
