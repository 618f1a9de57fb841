# Scenario 14: virtio-net on the TAP backend (Firecracker's host_dev_name)
# with the stock kernel's virtio_net, MTU 9000 (VIRTIO_NET_F_MTU). L1
# creates tap14 with iproute2 (MTU 9000, 10.0.8.1/24); the guest takes
# 10.0.8.2/24, pings L1, sends a 3 s iperf3 TCP stream to L1 and receives
# one (-R) for 3 s (checksum and segmentation offloads through the TAP's
# vnet header both ways; received frames spread over merged RX buffers),
# and waits; L1 pings the guest and ends it with a line over TCP. ember's
# net_eth0 metrics must show the traffic without failures.
TAP=tap14 L1_IP=10.0.8.1 G_IP=10.0.8.2 MAC=02:00:00:00:08:02 MTU=9000
if ! ip tuntap add dev $TAP mode tap || ! ip link set $TAP mtu $MTU ||
	! ip addr add $L1_IP/24 dev $TAP || ! ip link set $TAP up; then
	notok "net-tap: could not create $TAP in L1: $(ip link 2>&1 | tail -n 2 | tr '\n' ' ')"
	exit
fi
mkdir -p /tmp/vm
# Two tests, one after the other (the guest tries again while the second
# server is not listening yet).
(iperf3 -s -1 -f m -B $L1_IP && iperf3 -s -1 -f m -B $L1_IP) > /tmp/vm/iperf14.log 2>&1 &
IPERF=$!
echo "$IPERF" >> /tmp/vm/pids

finish() {
	vm_stop
	vm_dump
	kill -KILL $IPERF 2>/dev/null
	ip link del $TAP
	exit
}

net_vm tap $MAC "\"host_dev_name\": \"$TAP\", \"mtu\": $MTU" \
	"lab_net_ip=$G_IP/24 lab_net_ping=$L1_IP lab_net_iperf=client:$L1_IP:3:bidir" || finish
if ! wait_console '^LABG: net eth0 ' 60; then
	notok "net-tap: no eth0 in the guest (last line: $(last_guest_line))"
	finish
fi
l=$(guest_line 'net eth0 ')
# VIRTIO_NET_F_MAC (5) and MTU (3) offered and taken, the MAC and MTU
# ours, link up.
f=",${l##*features=},"
case "$l" in
*"mac=$MAC mtu=$MTU carrier=1 "*) case "$f" in *,3,*) case "$f" in *,5,*) f=ok ;; esac ;; esac ;;
esac
if [ "$f" = ok ]; then
	ok "net-tap: the guest's virtio_net drives ember's device: ${l#net }"
else
	notok "net-tap: guest: $l, want mac=$MAC, mtu=$MTU, carrier=1, features 3 (MTU) and 5 (MAC)"
fi
if wait_console "^LABG: net ping $L1_IP " 60; then
	l=$(guest_line "net ping $L1_IP ")
	case "$l" in
	*" ok "*) ok "net-tap: the guest pings L1 through the TAP: ${l#net ping }" ;;
	*) notok "net-tap: the guest's ping of L1: ${l#net ping }" ;;
	esac
else
	notok "net-tap: the guest did not ping L1 (last line: $(last_guest_line))"
fi
for t in client:guest:L1 reverse:L1:guest; do
	set -- $(echo $t | tr : ' ')
	if wait_console "^LABG: net iperf3 $1 rc=" 60; then
		l=$(guest_line "net iperf3 $1 rc=")
		mb=$(echo "$l" | sed -n 's/.* receiver_mbits=\([0-9.]*\).*/\1/p')
		if echo "$l" | grep -q ' rc=0 ' && awk -v m="${mb:-0}" 'BEGIN { exit !(m > 0) }'; then
			ok "net-tap: iperf3 $2 -> $3 through the TAP, 3 s: $mb Mbit/s (${l#net iperf3 $1 })"
			echo "LAB-BENCH net-tap iperf3 $2->$3 mbits=$mb"
		else
			notok "net-tap: iperf3 $2 -> $3: ${l#net } (L1's server: $(tail -n 3 /tmp/vm/iperf14.log | tr '\n' ' '))"
		fi
	else
		notok "net-tap: no iperf3 $2 -> $3 result from the guest (last line: $(last_guest_line))"
	fi
done
if wait_console '^LABG: net waiting for quit' 30; then
	r=$(l1_ping $G_IP) && ok "net-tap: L1 pings the guest: $r" || notok "net-tap: L1's ping of the guest: $r"
	if net_quit $G_IP && wait_console '^LABG: net quit: quit' 10; then
		ok "net-tap: L1 -> guest TCP (the guest's quit line arrived)"
	else
		notok "net-tap: L1 could not end the guest over TCP: $(tail -n 1 "$D/curl.err")"
	fi
else
	notok "net-tap: the guest did not get to its wait (last line: $(last_guest_line))"
fi
vm_wait_exit 30
# For reading retransmits: the guest's eth0 drops, L1's TCP loss counters.
echo "LAB-L1: net-tap: guest $(guest_line 'net eth0 stats'); L1 TcpExt:" \
	"$(awk '/^TcpExt:/ { if (!h) { split($0, k); h = 1 } else for (i = 2; i <= NF; i++)
		if (k[i] ~ /^(TCPLossProbes|TCPTimeouts|TCPSpuriousRTOs|TCPFastRetrans|TCPSlowStartRetrans|TCPLostRetransmit|TCPSackRecovery|TCPDSACKRecv)$/)
			printf "%s=%s ", k[i], $i }' /proc/net/netstat)"
[ "$RC" = 0 ] && ok "net-tap: ember exit 0 after the guest's reboot" ||
	notok "net-tap: ember exit $RC, want 0 after the guest's reboot"
m=$(group_metrics net_eth0)
if [ "$(metric tx_bytes_count "$m")" -gt 1000000 ] && [ "$(metric rx_bytes_count "$m")" -gt 1000000 ] &&
	[ "$(metric tx_malformed_frames "$m")" = 0 ] && [ "$(metric tap_write_fails "$m")" = 0 ] &&
	[ "$(metric tap_read_fails "$m")" = 0 ] && [ "$(metric rx_fails "$m")" = 0 ] &&
	[ "$(metric tx_spoofed_mac_count "$m")" = 0 ]; then
	# tx_dropped: frames L1's stack queued for ember while the tap's
	# queue was full (the guest had no RX buffers): TCP's retransmits.
	ok "net-tap: ember's net_eth0 metrics: tx $(metric tx_packets_count "$m") frames $(metric tx_bytes_count "$m") bytes, rx $(metric rx_packets_count "$m") frames $(metric rx_bytes_count "$m") bytes, no failures ($TAP tx_dropped=$(cat /sys/class/net/$TAP/statistics/tx_dropped))"
else
	notok "net-tap: ember's net_eth0 metrics: $m; want > 1 MB sent and received, no failures"
fi
finish
