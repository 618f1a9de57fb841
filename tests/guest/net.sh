# shellcheck shell=bash
# virtio-net on the host's /dev/kvm: sourced by tests/guest/run.sh (its
# helpers, counters and filter; `run.sh net` runs only this). ember only.
# The guest is tests/guest/net.c; its frame protocol (synced batches of
# DATA frames with sequence numbers, FNV-1a-64 checksums and per-sender
# patterns, windowed acks) is checked inside each receiver.
#
# net-tap: one guest on a TAP (`ip tuntap`, up, IPv6 off); the host's end of
#   the protocol is tests/guest/netpeer.py on a raw AF_PACKET socket bound to
#   the TAP. Both sides exchange NET_COUNT frames and check every one;
#   ember's net_<id> metrics must count exactly the frames each side saw.
# net-switch: build/ember-switch on a fresh socket, two embers (API sockets,
#   metrics files) whose guests attach through `comms_socket` (guest a sends
#   unicast to b, b broadcasts: learning and flooding both carry them):
#   batch 1 (NET_COUNT frames each way), then a stream; once both guests
#   have received 64 stream frames the switch is killed with SIGKILL: both
#   guests see the link go down (config interrupt), both embers keep running
#   (GET / -> Running, FlushMetrics -> 204 with the frames counted) and stay
#   down while nobody listens; the switch restarted on the same path brings
#   both links up again (config interrupt), batch 3 goes through, both
#   guests exit SUCCESS. Each ember's metrics must match its guest's counts.
# Every wait is bounded (NET_WAIT s per step); a missed step ends the case.

NET_WAIT=${NET_WAIT:-15}
NET_COUNT=${NET_COUNT:-200}
EMBER_SWITCH=${EMBER_SWITCH:-build/ember-switch}
NET_MAC_A=02:00:00:00:00:0a
NET_MAC_B=02:00:00:00:00:0b

# net_cfg DIR ARGS IFACE_JSON: the guest's config file.
net_cfg() {
	printf '{\n  "boot-source": {"kernel_image_path": %s, "boot_args": %s},\n  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},\n  "network-interfaces": [%s]\n}\n' \
		"$(json_str "$ROOT/$GUEST_DIR/net.elf")" "$(json_str "$2")" "$3" >"$1/cfg.json"
}

# net_boot DIR [ember flags...]: ember in the background under timeout;
# sets NET_TPID (timeout's pid) and NET_PID (ember's, once it is there).
net_boot() {
	local dir=$1 i
	shift
	rm -f "$dir/metrics"
	timeout "$TIMEOUT" "$EMBER" --config-file "$dir/cfg.json" --metrics-path "$(abspath "$dir/metrics")" \
		"$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
	NET_TPID=$!
	NET_PID=""
	# By name: timeout may have another short-lived child first.
	for ((i = 0; i < 100; i++)); do
		NET_PID=$(pgrep -P "$NET_TPID" -x "$(basename "$EMBER" | cut -c1-15)" | head -n1)
		[ -n "$NET_PID" ] && break
		sleep 0.02
	done
}

# net_wait_line DIR PID REGEX: up to NET_WAIT s for a serial line of DIR's
# guest; 1 if not there (also at once when ember PID has exited).
net_wait_line() {
	local i
	for ((i = 0; i < NET_WAIT * 20; i++)); do
		tr -d '\r' <"$1/stdout" | grep -qE -- "$3" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	tr -d '\r' <"$1/stdout" | grep -qE -- "$3"
}

# net_step WHAT DIR PID REGEX: an ok/not ok line for one awaited step.
net_step() {
	DIR=$2
	if net_wait_line "$2" "$3" "$4"; then
		ok "$1"
		return 0
	fi
	not_ok "$1 (no '$4' within $NET_WAIT s)"
	return 1
}

# net_reap TPID: wait for ember (bounded by its timeout); sets RC.
net_reap() {
	wait "$1"
	RC=$?
}

# net_sums DIR ID: sums of the net_<ID> metrics group over every line of
# DIR/metrics (each line holds the deltas since the last flush), as
# "key value" lines in DIR/metrics-sum.
net_sums() {
	python3 - "$1/metrics" "net_$2" >"$1/metrics-sum" 2>&1 <<-'EOF'
		import json, sys
		tot = {}
		for line in open(sys.argv[1]):
		    for k, v in json.loads(line).get(sys.argv[2], {}).items():
		        tot[k] = tot.get(k, 0) + v
		for k, v in sorted(tot.items()):
		    print(k, v)
	EOF
}
net_sum() { awk -v k="$2" '$1 == k { print $2 }' "$1/metrics-sum"; } # DIR KEY
# The guest's own totals: "net: totals: tx N rx N (other N, ...": KEY tx|rx|other|stale
net_total() {
	tr -d '\r' <"$1/stdout" | sed -n "s/^net: totals: .*\\b$2 \\([0-9]*\\).*/\\1/p" | head -n1
}

# net_metrics_match LABEL DIR ID: ember counted what its guest saw. Frames
# the guest sent while the link was down are tx_fails, not tx_packets.
net_metrics_match() {
	local label=$1 dir=$2 gtx grx mtx mrx mfail
	DIR=$dir
	net_sums "$dir" "$3"
	gtx=$(net_total "$dir" tx) grx=$(net_total "$dir" rx)
	mtx=$(net_sum "$dir" tx_packets_count) mrx=$(net_sum "$dir" rx_packets_count)
	mfail=$(net_sum "$dir" tx_fails)
	check "$label: metrics net_$3: rx_packets_count ${mrx:-?} = the guest's rx ${grx:-?}" \
		test -n "$grx" -a "${mrx:-x}" = "$grx"
	check "$label: metrics net_$3: tx_packets_count ${mtx:-?} + tx_fails ${mfail:-0} = the guest's tx ${gtx:-?}" \
		test -n "$gtx" -a -n "$mtx" -a "$((${mtx:-0} + ${mfail:-0}))" = "$gtx"
	check "$label: metrics net_$3: rx_fails, tx_malformed_frames and tx_spoofed_mac_count 0" \
		equals "$(net_sum "$dir" rx_fails)$(net_sum "$dir" tx_malformed_frames)$(net_sum "$dir" tx_spoofed_mac_count)" "000"
}

# Lines every guest prints on the way: its MAC and MTU from the config
# space, the features it took (VERSION_1, MAC, STATUS, MTU, and EVENT_IDX
# unless eventidx=0: never MRG_RXBUF or an offload it did not ask for).
net_guest_basics() { # LABEL DIR MAC ACCEPTED
	DIR=$2
	check "$1: exit status 0 (got $RC)" equals "$RC" 0
	check "$1: SUCCESS" has_line SUCCESS
	check "$1: device at 0xc0001000 GSI 5" has_line "virtio: 0xc0001000 size 0x1000 irq 5 version 2 id 1 vendor 0x0"
	check "$1: guest_mac $3 and mtu 1500 in the config space, features accepted $4" \
		serial_has "^net: mac $3, features offered 0x[0-9a-f]+ accepted $4, mtu 1500, "
	check "$1: link up at start" has_line "net: link up (at start)"
}

# ---- net-tap -----------------------------------------------------------------
net_tap() { # NAME GUEST_ARGS ACCEPTED
	local name=$1 dir=$OUT/$1 tap=emnt$$ peer_rc
	[ "$MODE" = ember ] || return 0
	start "$name" || return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	DIR=$dir RC=- MS=-
	if ! ip tuntap add dev "$tap" mode tap 2>"$dir/ip.err"; then
		not_ok "$name: cannot create TAP $tap ($(head -c 200 "$dir/ip.err")): TAP test not run"
		return 0
	fi
	sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null # no router solicitations
	ip link set "$tap" up
	net_cfg "$dir" "role=a peer=$NET_MAC_B count=$NET_COUNT stream=0 wait=$NET_WAIT $2" \
		"{\"iface_id\": \"eth0\", \"host_dev_name\": \"$tap\", \"guest_mac\": \"$NET_MAC_A\", \"mtu\": 1500}"
	timeout $((NET_WAIT + 5)) python3 "$ROOT/tests/guest/netpeer.py" "$tap" --mac "$NET_MAC_B" \
		--peer "$NET_MAC_A" --count "$NET_COUNT" --wait "$NET_WAIT" >"$dir/peer" 2>&1 &
	local ppid=$! t0 i
	for ((i = 0; i < NET_WAIT * 20; i++)); do # its socket first: it must see every frame
		grep -q '^netpeer: listening' "$dir/peer" && break
		kill -0 $ppid 2>/dev/null || break
		sleep 0.05
	done
	t0=$(date +%s%N)
	net_boot "$dir" --no-api
	net_reap "$NET_TPID"
	MS=$((($(date +%s%N) - t0) / 1000000))
	wait $ppid
	peer_rc=$?
	ip link del "$tap" 2>/dev/null
	net_guest_basics "$name" "$dir" "$NET_MAC_A" "$3"
	check "$name: guest: batch 1: $NET_COUNT frames each way, in order, checksums and contents ok" \
		serial_has "^net: batch 1: sent $NET_COUNT, received $NET_COUNT in order, checksums and contents ok"
	check "$name: host peer (netpeer.py) exit 0 (got $peer_rc): $(tail -n1 "$dir/peer" | head -c 160)" equals "$peer_rc" 0
	check "$name: host peer: $NET_COUNT frames each way, in order, checksums and contents ok" \
		grep -q "^netpeer: batch 1: sent $NET_COUNT, received $NET_COUNT in order, checksums and contents ok" "$dir/peer"
	net_metrics_match "$name" "$dir" eth0
	local ptx prx
	ptx=$(sed -n 's/.*frames: tx \([0-9]*\) rx.*/\1/p' "$dir/peer")
	prx=$(sed -n 's/.*frames: tx [0-9]* rx \([0-9]*\),.*/\1/p' "$dir/peer")
	check "$name: every frame the host sent reached the guest (host tx ${ptx:-?}, ember rx_packets_count $(net_sum "$dir" rx_packets_count))" \
		equals "${ptx:-x}" "$(net_sum "$dir" rx_packets_count)"
	check "$name: every frame the guest sent reached the host (ember tx_packets_count $(net_sum "$dir" tx_packets_count), host rx ${prx:-?})" \
		equals "${prx:-x}" "$(net_sum "$dir" tx_packets_count)"
	check "$name: done in < 20 s ($MS ms)" test "$MS" -lt 20000
}

# ---- net-switch ---------------------------------------------------------------
# net_switch_start DIR SOCK: the switch in the background; NET_SW its pid.
net_switch_start() {
	local i
	rm -f "$2"
	"$EMBER_SWITCH" --socket "$2" --stats-file "$1/switch-stats.json" >>"$1/stdout" 2>>"$1/stderr" </dev/null &
	NET_SW=$!
	for ((i = 0; i < NET_WAIT * 20; i++)); do
		[ -S "$2" ] && return 0
		kill -0 $NET_SW 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# net_switch_stats DIR: the switch's counters (SIGUSR1 -> --stats-file)
# mid-stream: both guests' ports, each way >= NET_COUNT frames, nothing
# dropped or spoofed, both MACs learned. Prints a summary; 1 if not so.
net_switch_stats() {
	local i
	rm -f "$1/switch-stats.json"
	kill -USR1 "$NET_SW" || return 1
	for ((i = 0; i < NET_WAIT * 20; i++)); do
		python3 - "$1/switch-stats.json" "$NET_COUNT" "$NET_MAC_A" "$NET_MAC_B" >"$1/switch-stats" 2>&1 <<-'EOF' && break
			import json, sys
			st = json.load(open(sys.argv[1]))
			count, macs = int(sys.argv[2]), sorted(sys.argv[3:])
			ports = [p for p in st["ports"] if p["kind"] == "link"]
			bad = [k for p in ports for k in ("rx_drops", "tx_drops", "spoofed", "offload_drops") if p[k]]
			print("ports %s, frames rx/tx %s, fdb %d entries, nonzero: %s" % (
			    " ".join(sorted(p["mac"] for p in ports)),
			    " ".join("%d/%d" % (p["rx_frames"], p["tx_frames"]) for p in ports),
			    st["fdb"]["entries"], " ".join(bad) or "none"))
			ok = sorted(p["mac"] for p in ports) == macs and st["fdb"]["entries"] == 2 and not bad
			sys.exit(0 if ok and all(min(p["rx_frames"], p["tx_frames"]) >= count for p in ports) else 3)
		EOF
		[ $? -eq 3 ] && return 1
		sleep 0.05
	done
	[ $i -lt $((NET_WAIT * 20)) ]
}

net_api() { # SOCK METHOD PATH [BODY]: prints the status code; body in $DIR/api-last
	local -a data=()
	[ $# -ge 4 ] && data=(-H 'Content-Type: application/json' -d "$4")
	curl -s -m 5 --unix-socket "$1" -X "$2" "${data[@]}" -o "$DIR/api-last" -w '%{http_code}' \
		"http://localhost$3" 2>/dev/null
}

# While the switch is dead: the VM runs, its API answers, its metrics flush.
net_while_down() { # LABEL DIR SOCK PID
	local code
	DIR=$2
	check "$1: ember still running with the switch gone" kill -0 "$4"
	code=$(net_api "$3" GET /)
	check "$1: GET / -> 200 Running (got $code)" \
		bash -c "[ '$code' = 200 ] && grep -q '\"state\":\"Running\"' '$DIR/api-last'"
	code=$(net_api "$3" PUT /actions '{"action_type": "FlushMetrics"}')
	check "$1: FlushMetrics -> 204 (got $code)" equals "$code" 204
	net_sums "$2" eth0
	check "$1: metrics so far: >= $NET_COUNT frames each way ($(net_sum "$2" tx_packets_count) tx, $(net_sum "$2" rx_packets_count) rx)" \
		test "$(net_sum "$2" tx_packets_count)" -ge "$NET_COUNT" -a "$(net_sum "$2" rx_packets_count)" -ge "$NET_COUNT"
	check "$1: log: comms link down" log_has "comms link to .* down"
}

# net_both WHAT REGEX: a step for each guest (a, then b); 1 at the first miss.
net_both() {
	net_step "net-switch-a: $1" "$NET_DA" "$NET_PA" "$2" &&
		net_step "net-switch-b: $1" "$NET_DB" "$NET_PB" "$2"
}

net_switch_drive() { # DIR SOCK
	local dir=$1 sock=$2 st
	net_both "link up, batch 1 through the switch" \
		"^net: batch 1: sent $NET_COUNT, received $NET_COUNT in order, checksums and contents ok" || return 1
	net_both "streaming, 64 frames received" '^net: stream: 64 frames received$' || return 1
	DIR=$dir
	net_switch_stats "$dir"
	st=$?
	check "net-switch: switch counters (SIGUSR1) mid-stream: $(head -c 200 "$dir/switch-stats")" equals "$st" 0
	kill -9 "$NET_SW"
	wait "$NET_SW" 2>/dev/null
	NET_SW=""
	DIR=$dir
	ok "net-switch: ember-switch killed with SIGKILL mid-stream"
	net_both "guest sees the link go down (config interrupt), the stream intact up to there" \
		'^net: link down \(config interrupt\) during the stream: sent [0-9]+, acked [0-9]+, received [0-9]+ in order, checksums and contents ok$' || return 1
	net_while_down net-switch-a "$NET_DA" "$(abspath "$dir/a.sock")" "$NET_PA"
	net_while_down net-switch-b "$NET_DB" "$(abspath "$dir/b.sock")" "$NET_PB"
	sleep 0.7 # more than one reconnect period: still down, as nobody listens
	DIR=$NET_DA
	check "net-switch-a: link stays down while the switch is gone" no_line "net: link up again (config interrupt)"
	DIR=$NET_DB
	check "net-switch-b: link stays down while the switch is gone" no_line "net: link up again (config interrupt)"
	DIR=$dir
	if ! net_switch_start "$dir" "$sock"; then
		not_ok "net-switch: ember-switch restarted on $sock"
		return 1
	fi
	ok "net-switch: ember-switch restarted on the same socket"
	net_both "link up again (config interrupt)" '^net: link up again \(config interrupt\)$' || return 1
	net_both "batch 3 after the restart" \
		"^net: batch 3: sent $NET_COUNT, received $NET_COUNT in order, checksums and contents ok" || return 1
	net_both "SUCCESS" '^SUCCESS$'
}

net_switch() {
	local name=net-switch dir=$OUT/net-switch t0 rca sock
	NET_DA=$OUT/net-switch-a NET_DB=$OUT/net-switch-b
	[ "$MODE" = ember ] || return 0
	start "$name" || return 0
	rm -rf "$dir" "$NET_DA" "$NET_DB"
	mkdir -p "$dir" "$NET_DA" "$NET_DB"
	: >"$dir/stdout"
	: >"$dir/stderr"
	DIR=$dir RC=- MS=-
	if ! [ -x "$EMBER_SWITCH" ]; then
		not_ok "$name: $EMBER_SWITCH is not built: the switch test did not run"
		return 0
	fi
	sock=$(abspath "$dir/switch.sock")
	t0=$(date +%s%N)
	if ! net_switch_start "$dir" "$sock"; then
		not_ok "$name: ember-switch listening on $sock"
		return 0
	fi
	ok "$name: ember-switch listening on $sock"
	net_cfg "$NET_DA" "role=a peer=$NET_MAC_B count=$NET_COUNT wait=$NET_WAIT" \
		"{\"iface_id\": \"eth0\", \"comms_socket\": $(json_str "$sock"), \"guest_mac\": \"$NET_MAC_A\", \"mtu\": 1500}"
	net_cfg "$NET_DB" "role=b peer=$NET_MAC_A count=$NET_COUNT bcast=1 wait=$NET_WAIT" \
		"{\"iface_id\": \"eth0\", \"comms_socket\": $(json_str "$sock"), \"guest_mac\": \"$NET_MAC_B\", \"mtu\": 1500}"
	net_boot "$NET_DA" --api-sock "$(abspath "$dir/a.sock")"
	NET_TA=$NET_TPID NET_PA=$NET_PID
	net_boot "$NET_DB" --api-sock "$(abspath "$dir/b.sock")"
	NET_TB=$NET_TPID NET_PB=$NET_PID
	# A drive that stopped early leaves the guests waiting: end them now
	# rather than at the timeout (our own children, by pid).
	net_switch_drive "$dir" "$sock" || kill "$NET_PA" "$NET_PB" 2>/dev/null
	net_reap "$NET_TA"
	rca=$RC
	net_reap "$NET_TB"
	if [ -n "${NET_SW:-}" ]; then
		kill "$NET_SW" 2>/dev/null
		wait "$NET_SW" 2>/dev/null
	fi
	MS=$((($(date +%s%N) - t0) / 1000000))
	net_guest_basics net-switch-b "$NET_DB" "$NET_MAC_B" 0x120010028
	RC=$rca
	net_guest_basics net-switch-a "$NET_DA" "$NET_MAC_A" 0x120010028
	net_metrics_match net-switch-a "$NET_DA" eth0
	net_metrics_match net-switch-b "$NET_DB" eth0
	DIR=$dir
	check "$name: done in < 60 s ($MS ms)" test "$MS" -lt 60000
}

# irq=1 (default): RX and config interrupts, EVENT_IDX; net-tap-polled: no
# interrupts, no EVENT_IDX (used.flags / avail.flags notification rules).
net_tap net-tap "" 0x120010028
net_tap net-tap-polled "irq=0 eventidx=0" 0x100010028
net_switch
