# Scenario 12: virtio-vsock with the stock kernel's vsock modules
# (vmw_vsock_virtio_transport), socat on both sides. ember's hybrid vsock:
# host clients connect to uds_path and write "CONNECT <port>\n"; a guest
# connect to (CID 2, port P) reaches "<uds_path>_P". The guest (lab_scn=vsock
# in guest/init) runs an echo server on port 5000 and a receiver on 5001.
#   guest -> host: LAB_VSOCK_MIB (64) MiB of random bytes (a random block of
#     1000003 bytes, repeated: lib.sh's rand_file) to host port 6000,
#     where L1's socat listens on <uds_path>_6000: same size and sha256 on L1
#   host -> guest: as many random bytes from L1 to guest port 5001: the
#     guest's sha256 of what it received is L1's
#   100 host clients, 10 at a time: each CONNECT 5000 gets "OK <port>" and its
#     line echoed, then is closed
#   a CONNECT to guest port 5999 (nobody listens): the guest answers RST and
#     ember closes the client's socket without an OK, well before its own
#     2 s REQUEST timeout; a guest connect to host port 6001 (no
#     <uds_path>_6001) is refused
#   4 host clients sending 8 MiB each at once get the right sha256 back
#   from the guest; a host client that reads nothing for 3 s while the
#   guest sends 7.6 MiB gets all of it; a guest that closes after 1 MiB
#   while the client sends 8 makes the client's write fail; a client that
#   leaves mid-stream is dropped
#   no connection left in ember afterwards (conns_added = conns_removed),
#   ember exit 0 after the guest's reboot, vsock metrics without failures.
# Times are socat's (receive side, accepted connection to exit).
MIB_B=$((LAB_VSOCK_MIB * 1048576))
vm_start vsock $((LAB_L2_TIMEOUT + 180)) || exit
uds=$D/v.sock
vs=/tmp/vsd
mkdir -p $vs
mount -t tmpfs -o size=$((2 * LAB_VSOCK_MIB + 8))m tmpfs $vs
# cleanup: what the scenario started besides ember, and the tmpfs.
cleanup() {
	[ -n "${g2h_pid:-}" ] && kill -KILL "$g2h_pid" 2>/dev/null
	umount $vs 2>/dev/null
}
fail_out() { vm_stop; vm_dump; cleanup; exit; }

vm_config /lab/vmlinuz /lab/guest.cpio "$L2_ARGS lab_scn=vsock lab_vsock_mib=$LAB_VSOCK_MIB" 1 384 || fail_out
api_expect 204 PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$uds\"}" || fail_out
vm_metrics || fail_out
# The host -> guest data, generated while nothing else runs.
t0=$(now_ms)
rand_file $vs/h2g.bin $MIB_B
h2g_sum=$(sha256sum $vs/h2g.bin | cut -d' ' -f1)
echo "LAB-L1: vsock: $LAB_VSOCK_MIB MiB generated and hashed on L1 in $(secs $(( $(now_ms) - t0 ))) s"
# L1 listens where ember connects for guest port 6000.
timeout -s KILL $((LAB_L2_TIMEOUT + 120)) socat -d -d -lu -b 131072 -u "UNIX-LISTEN:${uds}_6000" \
	CREATE:$vs/g2h.bin 2> "$D/g2h.log" &
g2h_pid=$!
vm_boot || fail_out

# guest -> host
if ! wait_console '^LABG: vsock g2h sent' $((LAB_L2_TIMEOUT + 60)); then
	notok "vsock: the guest did not send its data (last line: $(last_guest_line))"
	fail_out
fi
i=0
while kill -0 $g2h_pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ready=$(guest_line 'vsock g2h ready')
sent=$(guest_line 'vsock g2h sent')
want=$(echo "$ready" | sed -n 's/.* sha256=\([0-9a-f]*\).*/\1/p')
got_b=$(wc -c < $vs/g2h.bin 2>/dev/null)
got=$(sha256sum $vs/g2h.bin 2>/dev/null | cut -d' ' -f1)
rm -f $vs/g2h.bin
s=$(socat_secs "$D/g2h.log")
case "$sent" in "vsock g2h sent run=1 rc=0"*) ;; *) notok "vsock: guest: $sent" ;; esac
if [ "$got_b" = $MIB_B ] && [ -n "$want" ] && [ "$got" = "$want" ]; then
	ok "vsock: guest -> host (CID 2 port 6000 -> ${uds##*/}_6000): $LAB_VSOCK_MIB MiB, sha256 on L1 = the guest's, in $s s ($(mb_s $MIB_B "$s") MB/s; guest: ${ready#vsock g2h ready })"
else
	notok "vsock: guest -> host: L1 got ${got_b:-no} bytes sha256=${got:-?}, the guest sent $MIB_B sha256=${want:-?} ($sent; L1's socat: $(grep ' E ' "$D/g2h.log" | head -n 1))"
fi

# host -> guest
{ printf 'CONNECT 5001\n'; cat $vs/h2g.bin; } |
	timeout -s KILL 120 socat -b 131072 -t 30 - "UNIX-CONNECT:$uds" > "$D/h2g.out" 2> "$D/h2g.err"
rm -f $vs/h2g.bin
if wait_console '^LABG: vsock h2g received' 60; then
	l=$(guest_line 'vsock h2g received')
	s=$(echo "$l" | sed -n 's/.* secs=\([0-9.]*\).*/\1/p')
	case "$l" in
	"vsock h2g received rc=0 bytes=$MIB_B sha256=$h2g_sum "*)
		ok "vsock: host -> guest (CONNECT 5001, answered '$(head -n 1 "$D/h2g.out")'): $LAB_VSOCK_MIB MiB, the guest's sha256 = L1's, in $s s ($(mb_s $MIB_B "$s") MB/s)" ;;
	*) notok "vsock: host -> guest: guest: $l; L1 sent $MIB_B bytes sha256=$h2g_sum ($(head -c 100 "$D/h2g.out") $(head -c 200 "$D/h2g.err"))" ;;
	esac
else
	notok "vsock: host -> guest: no result from the guest within 60 s ($(head -c 100 "$D/h2g.out") $(head -c 200 "$D/h2g.err"))"
fi

# 100 host clients: 10 loops side by side, 10 connections each.
# conn_loop K: connections 10K+1..10K+10 in turn; "good FIRST_FAILURE" in
# $D/c$K/result.
conn_loop() {
	D=$D/c$1
	mkdir -p "$D"
	_good=0 _bad=''
	for _j in 1 2 3 4 5 6 7 8 9 10; do
		_n=$(($1 * 10 + _j))
		_out=$(vsock_connect "$uds" 5000 "ping $_n" | tr '\n' ' ')
		case "$_out" in
		"OK "[0-9]*" ping $_n ") _good=$((_good + 1)) ;;
		*)
			[ -n "$_bad" ] || _bad="#$_n: '$_out' after $(closed_ms) ms $(grep ' E ' "$D/connect.log" | head -n 1)"
			cp "$D/connect.log" "$D/failed-$_n.log" ;;
		esac
	done
	echo "$_good $_bad" > "$D/result"
}
t0=$(now_ms) pids=''
for k in 0 1 2 3 4 5 6 7 8 9; do
	conn_loop $k &
	pids="$pids $!"
done
wait $pids
t_conn=$(( $(now_ms) - t0 ))
good=$(cat "$D"/c?/result | awk '{ n += $1 } END { print n + 0 }')
first_bad=$(cat "$D"/c?/result | cut -d' ' -f2- | grep -v '^$' | head -n 1)
if [ "$good" = 100 ]; then
	ok "vsock: 100 host connections to guest port 5000 (10 loops at once), each answered OK <port> and echoed its line, then closed ($(secs $t_conn) s)"
else
	notok "vsock: $good of 100 host connections answered OK and echoed in $(secs $t_conn) s (first failure $first_bad)"
	for f in "$D"/c?/failed-*.log; do sed "s|^|  ${f#$D/}: |" "$f"; done | tail -n 40
fi

# Nobody listens on guest port 5999: the guest's RST closes the client.
out=$(vsock_connect "$uds" 5999)
ms=$(closed_ms)
if [ -z "$out" ] && [ "$ms" -lt 1500 ] && ! grep -q 'did not answer the REQUEST' "$D/log"; then
	ok "vsock: CONNECT 5999 (no listener in the guest): socket closed without an answer after $ms ms (ember's own REQUEST timeout: 2 s)"
else
	notok "vsock: CONNECT 5999 (no listener): got '$(echo "$out" | tr '\n' ' ')', closed after $ms ms, want nothing and < 1500 ms ($(grep 'vsock' "$D/log" | tail -n 1))"
fi
l=$(guest_line 'vsock host port 6001')
case "$l" in
*"rc=0 "*|'') notok "vsock: guest connect to host port 6001 (no ${uds##*/}_6001): ${l:-no result}, want a failure" ;;
*) ok "vsock: guest connect to host port 6001 (no ${uds##*/}_6001) refused: ${l#vsock host port 6001 (no listener): }" ;;
esac

# 4 host clients at once each send 8 MiB to guest port 5003, whose
# sha256sum answers on the same connection: the guest's RX queue shared
# by 4 streams.
rand_file $vs/d8 8388608
sum8=$(sha256sum $vs/d8 | cut -d' ' -f1)
t0=$(now_ms) pids=''
for k in 1 2 3 4; do
	{ printf 'CONNECT 5003\n'; cat $vs/d8; } |
		timeout -s KILL 120 socat -b 131072 -t 60 - "UNIX-CONNECT:$uds" > $vs/p$k.out 2> $vs/p$k.err &
	pids="$pids $!"
done
wait $pids
t=$(( $(now_ms) - t0 )) good=0 bad=''
for k in 1 2 3 4; do
	o=$(tr '\n' ' ' < $vs/p$k.out)
	case "$o" in
	"OK "*" $sum8  - ") good=$((good + 1)) ;;
	*) bad="$bad #$k: '$o' $(head -c 200 $vs/p$k.err)" ;;
	esac
done
[ $good = 4 ] && ok "vsock: 4 host clients at once sent 8 MiB each to guest port 5003: 4 right sha256 back in $(secs $t) s" ||
	notok "vsock: 4 host clients at once, 8 MiB each to guest port 5003: $good of 4 right sha256 back ($bad)"
rm -f $vs/d8

# A host client that reads nothing for 3 s while the guest sends 7.6 MiB
# (guest port 5005: 4 x /bin/busybox, as L1's): ember holds what the
# socket cannot take (up to its credit window), the guest waits for
# credit, and everything arrives.
want=$(cat /bin/busybox /bin/busybox /bin/busybox /bin/busybox | sha256sum | cut -d' ' -f1)
t0=$(now_ms)
got=$(printf 'CONNECT 5005\n' | timeout -s KILL 120 socat -t 60 - "UNIX-CONNECT:$uds" 2> $vs/slow.err |
	{ sleep 3; read -r l; echo "$l" > $vs/slow.ok; tee $vs/slow.bin | sha256sum | cut -d' ' -f1; })
n=$(wc -c < $vs/slow.bin)
if [ "$got" = "$want" ]; then
	ok "vsock: a host client that read nothing for 3 s got all $n bytes the guest sent, intact ($(cat $vs/slow.ok); $(secs $(( $(now_ms) - t0 ))) s)"
else
	notok "vsock: a host client that read nothing for 3 s got $n bytes sha256=$got, want $((4 * $(wc -c < /bin/busybox))) sha256=$want ($(head -c 200 $vs/slow.err))"
fi
rm -f $vs/slow.bin

# Either side leaving mid-stream: the guest's port 5004 reads 1 MiB and
# closes while the client still sends 8 MiB (the client's socket must be
# closed: its write fails); a client that closes after 1 MiB of 8 while
# the guest's port 5003 still reads (ember drops the connection: checked
# by the count below).
rand_file $vs/d8 8388608
t0=$(now_ms)
{ printf 'CONNECT 5004\n'; cat $vs/d8; } |
	timeout -s KILL 60 socat -b 131072 -t 30 - "UNIX-CONNECT:$uds" > $vs/g.out 2> $vs/g.err
rc=$?
t=$(( $(now_ms) - t0 ))
case "$rc $(head -n 1 $vs/g.out)" in
"1 OK "*) ok "vsock: the guest closed after 1 MiB of 8: the client's socket closed under it after $(secs $t) s ($(sed -n 's/.* E //p' $vs/g.err | head -n 1))" ;;
*) notok "vsock: the guest closed after 1 MiB of 8: client exit $rc after $(secs $t) s, '$(head -c 100 $vs/g.out)' $(head -c 200 $vs/g.err)" ;;
esac
{ printf 'CONNECT 5003\n'; head -c 1048576 $vs/d8; } |
	timeout -s KILL 60 socat -b 131072 -t 0 - "UNIX-CONNECT:$uds" > /dev/null 2>&1
rm -f $vs/d8

# Every connection so far is gone from ember (a few seconds for the last
# ones' closing handshakes): 1 + 1 + 100 + 1 + 4 + 1 + 2 added.
i=0
while :; do
	api_expect 204 PUT /actions '{"action_type": "FlushMetrics"}'
	m=$(group_metrics vsock)
	added=$(metric conns_added "$m") removed=$(metric conns_removed "$m")
	[ "$removed" != 110 ] && [ $i -lt 20 ] || break
	sleep 0.5
	i=$((i + 1))
done
if [ "$added" = 110 ] && [ "$removed" = 110 ]; then
	ok "vsock: no connection left in ember: 110 added, 110 removed"
else
	notok "vsock: ember's connections: ${added:-?} added, ${removed:-?} removed, want 110 and 110"
fi

# Done: one line to guest port 5002 ends the guest (it reboots).
out=$(vsock_connect "$uds" 5002 quit)
vm_wait_exit 30
[ "$RC" = 0 ] && ok "vsock: ember exit 0 after the guest's reboot" ||
	notok "vsock: ember exit $RC, want 0 after the guest's reboot (quit: '$out', guest: $(last_guest_line))"
m=$(group_metrics vsock)
fails=0
for f in activate_fails cfg_fails rx_queue_event_fails tx_queue_event_fails ev_queue_event_fails \
	muxer_event_fails conn_event_fails conns_killed tx_flush_fails tx_write_fails rx_read_fails; do
	[ "$(metric $f "$m")" = 0 ] || fails=$((fails + 1))
done
if [ $fails = 0 ] && [ "$(metric tx_bytes_count "$m")" -ge $MIB_B ] &&
	[ "$(metric rx_bytes_count "$m")" -ge $MIB_B ] && [ "$(metric conns_added "$m")" = 111 ]; then
	ok "vsock: ember's vsock metrics: $m"
else
	notok "vsock: ember's vsock metrics: $m; want >= $MIB_B bytes each way, 111 connections, no failures or kills"
fi
vm_stop
vm_dump
cleanup
