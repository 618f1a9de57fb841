# Scenario 13: two guests on one ember-switch through ember's comms ring
# backend (comms_socket), with the stock kernel's virtio_net. The switch in
# L1 has a gateway (10.0.7.1/24: ARP, ICMP echo, DHCP with a pool
# .100-.199, DNS option) and a TAP uplink esw0 that L1 gives 10.0.7.2/24.
#   A: DHCP; pings the gateway and L1 (through the uplink); iperf3 server.
#   B (booted once A has its lease, with A's address on its command line):
#      DHCP; pings the gateway, A and L1; iperf3 client to A for 3 s.
#   A then pings B (the client's address from iperf3's log).
# While both wait, L1 pings each through the uplink, reads ember's net
# metrics (FlushMetrics) and the switch's per-port counters (SIGUSR1) and
# compares them; stops the switch (both guests' carrier goes down) and
# starts it again (up again), then ends both guests with a line over TCP
# through the new switch.
if ! command -v ember-switch > /dev/null; then
	echo "LAB-RESULT not ok - net-switch: ember-switch is not in L1 (build/ember-switch not built) # TODO skipped"
	exit
fi
GW=10.0.7.1 L1_IP=10.0.7.2 MAC_A=02:00:00:00:07:0a MAC_B=02:00:00:00:07:0b SECS=3
mkdir -p /tmp/vm
SW_ARGS="--tap esw0 --gateway $GW/24 --dhcp-range 10.0.7.100-10.0.7.199 --dns $GW --lease-seconds 600"
if ! sw_start /tmp/vm/sw $SW_ARGS; then
	notok "net-switch: ember-switch did not start: $(tail -n 3 /tmp/vm/sw/log | tr '\n' ' ')"
	exit
fi
if ip addr add $L1_IP/24 dev esw0; then
	ok "net-switch: ember-switch up (gateway $GW/24, DHCP .100-.199), L1 on its TAP uplink esw0 as $L1_IP"
else
	notok "net-switch: L1 could not configure the switch's uplink esw0: $(ip link 2>&1 | tail -n 2 | tr '\n' ' ')"
fi

finish() {
	for v in a b; do
		[ -f /tmp/vm/$v/state ] || continue
		vm_use $v
		vm_stop
		vm_dump
	done
	sw_stop
	exit
}

# dhcp_check NAME: the guest's lease: an address in the pool, /24, router
# and DNS = the gateway. Sets IP.
dhcp_check() {
	IP=''
	if ! wait_console '^LABG: (dhcp bound|net udhcpc failed)' 60; then
		notok "net-switch: $1: no DHCP lease (last line: $(last_guest_line))"
		return 1
	fi
	_l=$(guest_line 'dhcp bound')
	IP=$(echo "$_l" | sed -n 's/.* ip=\(10\.0\.7\.1[0-9][0-9]\)\/24 .*/\1/p')
	case "$_l" in
	*" router=$GW dns=$GW "*" server=$GW") [ -n "$IP" ] ;;
	*) false ;;
	esac && { ok "net-switch: $1 got a lease from the switch's DHCP: ${_l#dhcp bound }"; return 0; }
	notok "net-switch: $1: ${_l:-$(guest_line 'net udhcpc')}; want an address in 10.0.7.100-199/24, router, dns and server $GW"
	IP=''
	return 1
}
# ping_check NAME IP WHAT: the guest's "net ping IP" line says ok.
ping_check() {
	if ! wait_console "^LABG: net ping $2 " 60; then
		notok "net-switch: $1 did not ping $3 (last line: $(last_guest_line))"
		return
	fi
	_l=$(guest_line "net ping $2 ")
	case "$_l" in
	*" ok "*) ok "net-switch: $1 pings $3: ${_l#net ping }" ;;
	*) notok "net-switch: $1's ping of $3: ${_l#net ping }" ;;
	esac
}

net_vm a $MAC_A "\"comms_socket\": \"$SW_SOCK\"" \
	"lab_net_ip=dhcp lab_net_ping=$GW,$L1_IP lab_net_iperf=server" 256 150 || finish
if wait_console '^LABG: net eth0 ' 60; then
	l=$(guest_line 'net eth0 ')
	case "$l" in
	*"mac=$MAC_A "*"carrier=1 "*) ok "net-switch: A's virtio_net drives ember's device on the comms ring: ${l#net }" ;;
	*) notok "net-switch: A: $l, want mac=$MAC_A, carrier=1" ;;
	esac
else
	notok "net-switch: no eth0 in A (last line: $(last_guest_line))"
	finish
fi
dhcp_check A || finish
IP_A=$IP
net_vm b $MAC_B "\"comms_socket\": \"$SW_SOCK\"" \
	"lab_net_ip=dhcp lab_net_ping=$GW,$IP_A,$L1_IP lab_net_iperf=client:$IP_A:$SECS" 256 || finish
vm_use a
ping_check A $GW 'the gateway'
ping_check A $L1_IP 'L1 through the uplink'
vm_use b
dhcp_check B || finish
IP_B=$IP
[ "$IP_A" != "$IP_B" ] || notok "net-switch: A and B got the same address $IP_A"
ping_check B $GW 'the gateway'
ping_check B "$IP_A" "A ($IP_A)"
ping_check B $L1_IP 'L1 through the uplink'
if wait_console '^LABG: net iperf3 client rc=' $((SECS + 60)); then
	l=$(guest_line 'net iperf3 client rc=')
	mb=$(echo "$l" | sed -n 's/.* receiver_mbits=\([0-9.]*\).*/\1/p')
	if echo "$l" | grep -q ' rc=0 ' && awk -v m="${mb:-0}" 'BEGIN { exit !(m > 0) }'; then
		ok "net-switch: iperf3 B -> A through ring + switch, $SECS s: $mb Mbit/s (${l#net iperf3 client })"
		echo "LAB-BENCH net-switch iperf3 guest->guest mbits=$mb"
	else
		notok "net-switch: iperf3 B -> A: ${l#net }"
	fi
else
	notok "net-switch: no iperf3 result from B (last line: $(last_guest_line))"
fi
vm_use a
if wait_console '^LABG: net iperf3 server rc=' 30; then
	l=$(guest_line 'net iperf3 server rc=')
	case "$l" in
	*" rc=0 from=$IP_B "*) ok "net-switch: A's iperf3 server saw B: ${l#net iperf3 server }" ;;
	*) notok "net-switch: A's iperf3 server: ${l#net }, want rc=0 from=$IP_B" ;;
	esac
	ping_check A "$IP_B" "B ($IP_B)"
else
	notok "net-switch: A's iperf3 server did not finish (last line: $(last_guest_line))"
fi

# Both wait now: L1 reaches them through the uplink.
for v in a b; do
	vm_use $v
	wait_console '^LABG: net waiting for quit' 30 || continue
	ip_=$IP_A
	[ $v = b ] && ip_=$IP_B
	r=$(l1_ping "$ip_") && ok "net-switch: L1 pings $v ($ip_) through the uplink: $r" ||
		notok "net-switch: L1's ping of $v ($ip_): $r"
	api_expect 204 PUT /actions '{"action_type": "FlushMetrics"}'
done
# ember's counters against the switch's: what B sent is what the switch
# took from B's port, what A received is what the switch gave A's port
# (both idle now; the flush and the signal are a moment apart).
sleep 0.5
st=$(sw_stats)
echo "LAB-L1: switch counters: $st"
# near A B: |A - B| <= 1% of the larger + 4 KiB (an ARP or two).
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = a > b ? a : b; exit !(a > 0 && d <= m / 100 + 4096) }'; }
for v in a b; do
	vm_use $v
	mac=$MAC_A
	[ $v = b ] && mac=$MAC_B
	m=$(group_metrics net_eth0)
	p=$(sw_port "$st" mac $mac)
	if near "$(metric tx_bytes_count "$m")" "$(metric rx_bytes "$p")" &&
		near "$(metric rx_bytes_count "$m")" "$(metric tx_bytes "$p")" &&
		[ "$(metric tx_spoofed_mac_count "$m")" = 0 ] && [ "$(metric rx_fails "$m")" = 0 ] &&
		[ "$(metric tx_fails "$m")" = 0 ] && [ "$(metric rx_drops "$p")" = 0 ]; then
		ok "net-switch: $v: ember sent $(metric tx_packets_count "$m") frames $(metric tx_bytes_count "$m") bytes / received $(metric rx_packets_count "$m") frames $(metric rx_bytes_count "$m") bytes; the switch's port took $(metric rx_frames "$p") / $(metric rx_bytes "$p") and gave $(metric tx_frames "$p") / $(metric tx_bytes "$p") (tx_drops=$(metric tx_drops "$p"))"
	else
		notok "net-switch: $v: ember's net_eth0 ($m) and the switch's port ($p) disagree or show failures"
	fi
done
p=$(sw_port "$st" kind tap)
if [ "$(metric rx_frames "$p")" -gt 0 ] && [ "$(metric tx_frames "$p")" -gt 0 ]; then
	ok "net-switch: the uplink port carried the guests' traffic with L1: $p"
else
	notok "net-switch: the uplink port's counters: ${p:-none}"
fi
# The switch goes away: both guests see their link go down (ember clears
# LINK_UP with a config interrupt) and come back up once a new switch
# listens (ember reconnects every 500 ms); L1 then reaches them through
# the new switch's uplink.
sw_stop
t0=$(now_ms)
for v in a b; do
	vm_use $v
	if wait_console '^LABG: net carrier 0' 10; then
		ok "net-switch: $v: the guest's carrier went down with the switch ($(secs $(( $(now_ms) - t0 ))) s)"
	else
		notok "net-switch: $v: the guest's carrier did not go down within 10 s of the switch's exit"
	fi
done
if sw_start /tmp/vm/sw $SW_ARGS && ip addr add $L1_IP/24 dev esw0; then
	t0=$(now_ms)
	for v in a b; do
		vm_use $v
		if wait_console '^LABG: net carrier 1' 15; then
			ok "net-switch: $v: carrier up again $(secs $(( $(now_ms) - t0 ))) s after the switch came back"
		else
			notok "net-switch: $v: the guest's carrier did not come back within 15 s of the new switch"
		fi
	done
else
	notok "net-switch: the switch did not start again: $(tail -n 3 /tmp/vm/sw/log | tr '\n' ' ')"
fi
for v in a b; do
	vm_use $v
	ip_=$IP_A
	[ $v = b ] && ip_=$IP_B
	if net_quit "$ip_" && wait_console '^LABG: net quit: quit' 10; then
		vm_wait_exit 30
		[ "$RC" = 0 ] && ok "net-switch: $v ended by L1 over TCP through the uplink, ember exit 0" ||
			notok "net-switch: $v: ember exit $RC after the guest's reboot, want 0"
	else
		notok "net-switch: L1 could not end $v over TCP: $(tail -n 1 "$D/curl.err")"
	fi
done
finish
