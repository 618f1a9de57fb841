# shellcheck shell=bash
# virtio-vsock on the host's /dev/kvm: sourced by tests/guest/run.sh (its
# helpers, counters and filter; `run.sh vsock` runs only this). ember only:
# the host side is Firecracker's hybrid vsock protocol on ember's UNIX
# sockets, which QEMU's vhost-vsock has no counterpart for.
#
# The guest (tests/guest/vsock.c) listens on vsock port 52 and echoes; a host
# process (Python, below) meanwhile
#   - listens on <uds_path>_53 for the guest's connect, reads its line and
#     answers it upper-cased, then expects EOF;
#   - connects to uds_path, writes "CONNECT 52\n" (again while ember closes
#     it because the guest's driver is not up yet), expects "OK <port>\n",
#     sends a short line and 20000 random bytes, checks the echo byte for
#     byte, shuts its sending side and expects EOF.
# The guest then asks for port 54, where nobody listens, and gets RST.

vsock_boot() { # name
	local name=$1 kernel=$ROOT/$GUEST_DIR/vsock.elf uds
	DIR=$OUT/$name
	rm -rf "$DIR"
	mkdir -p "$DIR"
	uds=$(cd "$DIR" && pwd)/v.sock
	printf '{\n  "boot-source": {"kernel_image_path": %s, "boot_args": "console=ttyS0 port=52 connect=53 closed=54"},\n  "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},\n  "vsock": {"guest_cid": 3, "uds_path": %s}\n}\n' \
		"$(json_str "$kernel")" "$(json_str "$uds")" >"$DIR/cfg.json"
	timeout "$TIMEOUT" python3 - "$uds" >"$DIR/host" 2>&1 <<'EOF' &
import os, socket, sys, threading, time

uds = sys.argv[1]
deadline = time.monotonic() + 18

def say(*a):
    print(*a, flush=True)

lst = socket.socket(socket.AF_UNIX)
lst.bind(uds + "_53")
lst.listen(1)
lst.settimeout(18)

def guest_side():
    c, _ = lst.accept()
    c.settimeout(15)
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(100)
        if not d:
            break
        line += d
    say("listener: got %r" % line)
    c.sendall(line.upper())
    say("listener: eof" if c.recv(100) == b"" else "listener: data after the line")

t = threading.Thread(target=guest_side, daemon=True)
t.start()

tries = 0
while time.monotonic() < deadline:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    try:
        s.connect(uds)
        s.sendall(b"CONNECT 52\n")
        ok = b""
        while not ok.endswith(b"\n"):
            d = s.recv(1)
            if not d:
                break
            ok += d
    except OSError:
        ok = b""
    tries += 1
    if ok.startswith(b"OK "):
        break
    s.close()
    time.sleep(0.1)
say("host: %r after %d tries" % (ok, tries))
payload = b"ping\n" + os.urandom(20000)
s.sendall(payload)
echo = b""
while len(echo) < len(payload):
    d = s.recv(65536)
    if not d:
        break
    echo += d
say("host: echo %s, %d bytes" % ("ok" if echo == payload else "WRONG", len(echo)))
s.shutdown(socket.SHUT_WR)
say("host: eof" if s.recv(100) == b"" else "host: data after the echo")
t.join(15)
EOF
	local py=$!
	local t0 t1
	t0=$(date +%s%N)
	timeout "$TIMEOUT" "$EMBER" --no-api --config-file "$DIR/cfg.json" \
		>"$DIR/stdout" 2>"$DIR/stderr" </dev/null
	RC=$?
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	wait "$py"
	echo "$RC" >"$DIR/rc"
	echo "$MS" >"$DIR/ms"
}

host_has() { grep -qE -- "$1" "$DIR/host"; }

name=vsock
if [ $MODE = ember ] && start $name; then
	vsock_boot $name
	check "$name: exit 0 (got $RC)" equals "$RC" 0
	check "$name: SUCCESS" has_line SUCCESS
	check "$name: the guest reads its CID 3" has_line "vsock: cid 3"
	check "$name: host CONNECT 52 answered OK <host port>" host_has "^host: b'OK 1073741[0-9]+\\\\n'"
	check "$name: the guest accepted from a host port >= 2^30" serial_has "^vsock: accepted host port 1073741[0-9]+$"
	check "$name: 20005 bytes echoed intact" host_has "^host: echo ok, 20005 bytes$"
	check "$name: the guest echoed 20005 bytes" serial_has "^vsock: echoed 20005 bytes in [0-9]+ packets$"
	check "$name: host shut its side, the guest shut its: EOF" host_has "^host: eof$"
	check "$name: guest connect reached <uds_path>_53" host_has "^listener: got b'hello from the guest\\\\n'$"
	check "$name: the host's answer reached the guest" has_line "vsock: host said: HELLO FROM THE GUEST"
	check "$name: the guest's SHUTDOWN closed the host socket" host_has "^listener: eof$"
	check "$name: port 54 without listener: RST" has_line "vsock: port 54 refused"
	check "$name: uds_path removed at exit" test ! -e "$DIR/v.sock"
fi
