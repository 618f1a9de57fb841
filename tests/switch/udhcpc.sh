#!/bin/bash
# ember-switch against real clients: its TAP uplink moved into a fresh
# network namespace, busybox udhcpc leases an address (pool, router, DNS,
# lease time as configured; the same address a second time), busybox ping
# and arping reach the gateway, garbage DHCP/ARP frames from the namespace
# get nothing and change nothing, SIGUSR1 prints the counters (stdout and
# --stats-file), SIGTERM exits 0 and removes the socket. Two more switches
# with --router ADDR (the client's router is ADDR, which is never leased)
# and --router none (no router at all). Also the command line: --help, bad
# flags, the JSON config file.
set -u
cd "$(dirname "$0")/../.."
SWITCH=${SWITCH:-build/ember-switch}
SWITCH=$(realpath "$SWITCH")
T=$(mktemp -d /tmp/ember-switch.XXXXXX)
NS=emsw$$
TAP=esw$$
NET=10.$((200 + $$ % 50)).$(($$ % 250))
GW=$NET.1
pass=0; fail=0

cleanup() {
	kill $(jobs -p) 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1"; fail=$((fail + 1)); sed 's/^/    /' "$T/err" 2>/dev/null | tail -8; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

# wait_for CMD SECONDS
wait_for() {
	for _ in $(seq $(($2 * 50))); do eval "$1" && return 0; sleep 0.02; done
	return 1
}

# --- command line ------------------------------------------------------------
out=$("$SWITCH" --help); rc=$?
check "--help exits 0" "[ $rc -eq 0 ]"
missing=""
for f in socket tap gateway gateway-mac no-dhcp dhcp-range router dns lease-seconds \
	mac-aging-seconds spin-us stats-file level config version help; do
	grep -q -- "--$f" <<<"$out" || missing="$missing --$f"
done
check "--help documents every flag${missing:+ (missing$missing)}" "[ -z '$missing' ]"
check "--help documents SIGUSR1" "grep -q SIGUSR1 <<<\"\$out\""
"$SWITCH" --gateway 10.0.0.1/24 2>/dev/null; rc=$?
check "no --socket: exit 153" "[ $rc -eq 153 ]"
"$SWITCH" --socket "$T/x.sock" --gateway 10.0.0.1/31 2>/dev/null; rc=$?
check "bad --gateway: exit 153" "[ $rc -eq 153 ]"
"$SWITCH" --socket "$T/x.sock" --gateway 10.0.0.1/24 --dhcp-range 10.0.1.5-10.0.1.9 2>/dev/null
rc=$?
check "--dhcp-range outside the subnet: exit 153" "[ $rc -eq 153 ]"
"$SWITCH" --socket "$T/x.sock" --gateway 10.0.0.1/24 --router 10.0.1.2 2>"$T/err"; rc=$?
check "--router outside the subnet: exit 153, says why" \
	"[ $rc -eq 153 ] && grep -q -- '--router 10.0.1.2 must lie inside' $T/err"
"$SWITCH" --socket "$T/x.sock" --gateway 10.0.0.1/24 --router 10.0.0.255 2>/dev/null; rc=$?
check "--router at the broadcast address: exit 153" "[ $rc -eq 153 ]"
"$SWITCH" --socket "$T/x.sock" --router none 2>/dev/null; rc=$?
check "--router without --gateway: exit 153" "[ $rc -eq 153 ]"
echo '{"socket": "x", "bogus": 1}' >"$T/bad.json"
"$SWITCH" --config "$T/bad.json" 2>/dev/null; rc=$?
check "unknown config key: exit 153" "[ $rc -eq 153 ]"
"$SWITCH" --socket "$T/x.sock" --frobnicate 2>/dev/null; rc=$?
check "unknown flag: exit 153" "[ $rc -eq 153 ]"

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! ip netns add "$NS" 2>/dev/null; then
	echo "udhcpc: $pass passed, $fail failed, 1 skipped (needs root, /dev/net/tun, netns)"
	[ $fail -eq 0 ]
	exit
fi

# --- the switch with a TAP uplink and a gateway, from a config file + flags ---
cat >"$T/sw.json" <<EOF
{"socket": "$T/sw.sock", "gateway": "$GW/24", "dhcp_range": "$NET.100-$NET.150",
 "dns": ["$NET.53", "9.9.9.9"], "lease_seconds": 600, "spin_us": 20}
EOF
"$SWITCH" --config "$T/sw.json" --tap "$TAP" --stats-file "$T/stats.json" \
	>"$T/out" 2>"$T/err" &
pid=$!
if ! wait_for "[ -S $T/sw.sock ] && ip link show $TAP >/dev/null 2>&1" 5; then
	nok "switch did not start"
	echo "udhcpc: $pass passed, $fail failed"
	exit 1
fi
ok "switch up: socket and TAP $TAP"
ip link set "$TAP" netns "$NS" && ip -n "$NS" link set "$TAP" up && ip -n "$NS" link set lo up

cat >"$T/dhcp.sh" <<EOF
#!/bin/sh
[ "\$1" = bound ] && echo "ip=\$ip mask=\$mask router=\$router dns='\$dns' lease=\$lease server=\$serverid" >"$T/lease"
exit 0
EOF
chmod +x "$T/dhcp.sh"

lease() {
	rm -f "$T/lease"
	ip netns exec "$NS" busybox udhcpc -i "$TAP" -n -q -t 3 -T 1 -s "$T/dhcp.sh" >>"$T/udhcpc.log" 2>&1
	[ -f "$T/lease" ] && cat "$T/lease"
}

l1=$(lease)
echo "    first lease: $l1"
ip1=$(sed -n 's/^ip=\([0-9.]*\) .*/\1/p' <<<"$l1")
last=${ip1##*.}
check "udhcpc gets an address" "[ -n '$ip1' ]"
check "address in the pool $NET.100-150" "[ '${ip1%.*}' = '$NET' ] && [ ${last:-0} -ge 100 ] && [ ${last:-0} -le 150 ]"
want="ip=$ip1 mask=24 router=$GW dns='$NET.53 9.9.9.9' lease=600 server=$GW"
check "router, DNS, mask, lease time, server id as configured" '[ "$l1" = "$want" ]'
l2=$(lease)
ip2=$(sed -n 's/^ip=\([0-9.]*\) .*/\1/p' <<<"$l2")
check "second run: the same address ($ip2)" "[ -n '$ip2' ] && [ '$ip2' = '$ip1' ]"

ip -n "$NS" addr add "$ip1/24" dev "$TAP"
check "ping the gateway (ICMP echo)" "ip netns exec $NS busybox ping -c 2 -W 2 $GW >$T/ping.log 2>&1"
ip netns exec "$NS" busybox arping -c 1 -w 2 -I "$TAP" "$GW" >"$T/arping.log" 2>&1
check "arping: the gateway's MAC answers" "grep -qi 'reply from $GW \[02:45:4d:00:00:01\]' $T/arping.log"

# --- hostile frames from the namespace: malformed DHCP and ARP --------------
cat >"$T/garbage.py" <<'EOF'
import os, random, socket, struct, sys
ifname, gw = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
mac = s.getsockname()[4]
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
def dhcp_frame(opts, udp_extra=0, ip_extra=0):
    bootp = bytes([1, 1, 6, 0]) + os.urandom(4) + bytes(20) + mac + bytes(10 + 192)
    bootp += b"\x63\x82\x53\x63" + opts
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp) + udp_extra, 0) + bootp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + ip_extra, 0, 0, 64, 17, 0,
                     bytes(4), b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp
random.seed(1)
frames = [
    dhcp_frame(b"\x35\x01\x01\x0c\xc8host"),          # option runs off the end
    dhcp_frame(b"\x35\x01\x01" + b"\x00" * 40),       # no END
    dhcp_frame(b"\x35\x02\x01\x01\xff"),              # bad option 53 length
    dhcp_frame(b"\x32\x04\x0a\xff"),                  # truncated option 50, no 53
    dhcp_frame(b"\x35\x01\x01\xff", udp_extra=400),   # UDP length beyond the packet
    dhcp_frame(b"\x35\x01\x01\xff", ip_extra=400),    # IP length beyond the frame
]
frames += [f[:n] for f in frames[:1] for n in range(0, len(f), 7)]  # truncations
arp = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac
arp += bytes(4) + bytes(6) + socket.inet_aton(gw)
frames += [arp[:n] for n in range(14, len(arp))]                    # short ARP
frames += [arp[:18] + b"\x10\x04" + arp[20:]]                        # hlen 16
frames += [b"\xff" * 6 + mac + os.urandom(random.randrange(0, 300)) for _ in range(300)]
for f in frames:
    try:
        s.send(f)
    except OSError:
        pass
print(len(frames))
EOF
before=$(wc -l <"$T/out")
kill -USR1 $pid
wait_for "[ \$(wc -l <$T/out) -gt $before ]" 3
pre=$(tail -n1 "$T/out")
n=$(ip netns exec "$NS" python3 "$T/garbage.py" "$TAP" "$GW" 2>>"$T/err")
echo "    sent $n malformed frames"
sleep 0.3
kill -0 $pid 2>/dev/null
check "switch survives $n malformed frames" "kill -0 $pid 2>/dev/null"
l3=$(lease)
ip3=$(sed -n 's/^ip=\([0-9.]*\) .*/\1/p' <<<"$l3")
check "a real client still leases the same address afterwards" "[ '$ip3' = '$ip1' ]"

# --- counters -----------------------------------------------------------------
before=$(wc -l <"$T/out")
kill -USR1 $pid
wait_for "[ \$(wc -l <$T/out) -gt $before ]" 3
post=$(tail -n1 "$T/out")
echo "    counters: $post"
cat >"$T/counters.py" <<'EOF'
import json, sys
pre, post, path = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
tap = [p for p in post["ports"] if p["kind"] == "tap"][0]
tap0 = [p for p in pre["ports"] if p["kind"] == "tap"][0]
d, d0 = post["dhcp"], pre["dhcp"]
assert tap["rx_frames"] >= tap0["rx_frames"] + int(sys.argv[4]), (tap, tap0)
assert tap["gw_replies"] >= 9, tap               # 2 x (OFFER+ACK) + 2 echo + 1 ARP + 2 more
assert tap["tx_frames"] == tap["gw_replies"], tap  # nothing else goes to the only port
assert d0["discover"] == 2 and d0["ack"] == 2 and d0["nak"] == 0, d0
assert d["ignored"] >= d0["ignored"] + 5, (d, d0)  # the malformed DHCP frames
assert d["offer"] == d0["offer"] + 1 and d["ack"] == d0["ack"] + 1, (d, d0)  # only the real client
assert json.load(open(path)) == post, "stats file differs from stdout"
EOF
check "SIGUSR1: per-port and DHCP counters count the frames (stdout = stats file)" \
	"python3 $T/counters.py '$pre' '$post' $T/stats.json ${n:-0} 2>>$T/err"

# --- SIGTERM ------------------------------------------------------------------
kill -TERM $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.02; done
wait $pid; rc=$?
check "SIGTERM: exit 0" "[ $rc -eq 0 ]"
check "SIGTERM: socket removed" "[ ! -e $T/sw.sock ]"
check "SIGTERM: TAP gone" "! ip -n $NS link show $TAP >/dev/null 2>&1"

# --- --router: what DHCP names as the router ---------------------------------
# router_lease FLAGS...: a fresh switch with FLAGS, its TAP in the namespace,
# one udhcpc run; prints the lease line.
router_lease() {
	rm -f "$T/r.sock"
	"$SWITCH" --socket "$T/r.sock" --tap "$TAP" --gateway "$GW/24" --lease-seconds 600 "$@" \
		>/dev/null 2>"$T/err" &
	local rpid=$!
	if wait_for "[ -S $T/r.sock ] && ip link show $TAP >/dev/null 2>&1" 5; then
		ip link set "$TAP" netns "$NS" && ip -n "$NS" link set "$TAP" up && lease
	fi
	kill -TERM $rpid 2>/dev/null
	wait $rpid
}
# The router's address inside a pool of two: the client gets the other one.
l4=$(router_lease --router "$NET.2" --dhcp-range "$NET.2-$NET.3")
echo "    lease with --router $NET.2: $l4"
want="ip=$NET.3 mask=24 router=$NET.2 dns='' lease=600 server=$GW"
check "--router $NET.2: the client's router is $NET.2, its address not the router's" \
	'[ "$l4" = "$want" ]'
l5=$(router_lease --router none --dhcp-range "$NET.2-$NET.2")
echo "    lease with --router none: $l5"
want="ip=$NET.2 mask=24 router= dns='' lease=600 server=$GW"
check "--router none: no router, the address is leasable again" '[ "$l5" = "$want" ]'

echo "udhcpc: $pass passed, $fail failed"
[ $fail -eq 0 ]
