#!/bin/bash
# ember-switch with real comms clients (tests/switch/peer.c): learning,
# flooding, unicast, spoofing, offloads, back-pressure, killed and hostile
# clients; then SIGTERM exits 0 and removes the socket.
set -u
cd "$(dirname "$0")/../.."
SWITCH=$(realpath "${SWITCH:-build/ember-switch}")
PEER=$(realpath "${PEER:-build/switch/peer}")
T=$(mktemp -d /tmp/ember-peers.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

"$SWITCH" --socket "$T/sw.sock" --gateway 10.9.0.1/24 --stats-file "$T/stats.json" >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 250); do [ -S "$T/sw.sock" ] && break; sleep 0.02; done
"$PEER" "$T/sw.sock" $pid "$T/stats.json"
rc=$?
kill -TERM $pid
wait $pid
src=$?
fail=0
[ $rc -eq 0 ] || { fail=1; echo "    switch log:"; sed 's/^/    /' "$T/err" | tail -20; }
if [ $src -eq 0 ] && [ ! -e "$T/sw.sock" ]; then
	echo "ok - SIGTERM: exit 0, socket removed"
else
	echo "not ok - SIGTERM: exit $src, socket $(ls "$T/sw.sock" 2>&1)"
	fail=1
fi
grep -q "ring violation" "$T/err" && echo "ok - the switch logged the ring violation" \
	|| { echo "not ok - no ring violation logged"; fail=1; }
echo "peers: $([ $fail -eq 0 ] && echo passed || echo FAILED)"
exit $fail
