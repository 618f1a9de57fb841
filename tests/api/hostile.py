#!/usr/bin/env python3
"""Hostile clients against a real ember's API socket (raw AF_UNIX sockets).

Each case is followed by a liveness check (the process is alive and GET /
answers 200), and the run ends with good requests that must still work.
Usage: tests/api/hostile.py [--sock PATH]   (--sock: an already-running server)
"""

import os
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emberlib import Conn, Ember, Report, ember_binary, has_api_sock, request  # noqa: E402

MAXP = 51200
DESER = "An error occurred when deserializing the json body of a request: "
BADCHARS = "API Resource IDs can only contain alphanumeric characters and underscores."

R = Report("hostile")
SOCK = None
EMBER = None


def up(after):
    """The server survived `after`."""
    alive = EMBER is None or EMBER.alive()
    try:
        r = request(SOCK, "GET", "/")
        ok = alive and r.status == 200 and "state" in r.json()
        detail = repr(r)
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        ok, detail = False, "%s (%s)" % (e, EMBER.log_tail() if EMBER else "")
    R.check(ok, "still serving after %s" % after, detail)


def expect(resp, status, fault=None, prefix=None, what=""):
    ok = resp.status == status
    f = resp.fault()
    if fault is not None:
        ok = ok and f == fault
    if prefix is not None:
        ok = ok and f.startswith(prefix)
    if status >= 400:
        ok = ok and resp.headers.get("content-type") == "application/json"
    R.check(ok, what, "got %r" % resp)


def case_routing():
    for method, path, body, fault in [
        ("GET", "/nope", None, "Invalid request method and/or path: GET /nope."),
        ("POST", "/actions", "{}", "Invalid request method and/or path: POST /actions."),
        ("DELETE", "/drives/rootfs", None,
         "Invalid request method and/or path: DELETE /drives/rootfs."),
        ("GET", "/machine-config?x=1", None,
         "Invalid request method and/or path: GET /machine-config?x=1."),
        ("GET", "/machine-config/extra", None,
         "Invalid request method and/or path: GET /machine-config/extra."),
        ("PUT", "/drives/../x", "{}", BADCHARS),
        ("PUT", "/drives/%2e%2e", "{}", BADCHARS),
        ("PUT", "/drives/a/b", "{}", BADCHARS),
        ("PUT", "/drives/\u00e9t\u00e9", "{}", BADCHARS),
        ("PUT", "/network-interfaces/" + "a" * 65, "{}",
         "API Resource IDs can be at most 64 characters long."),
        ("PUT", "/drives/", "{}", "The ID cannot be empty."),
        ("GET", "/", "{}", "GET request cannot have a body."),
        ("PUT", "/machine-config", None, "Empty PUT request."),
        ("PATCH", "/machine-config", "", "Empty PATCH request."),
    ]:
        c = Conn(SOCK)
        c.send(c.request_bytes(method, path, body))
        expect(c.response(), 400, fault, what="%s %s -> 400 %r" % (method, path, fault))
        c.close()
    up("routing errors")


def case_json():
    for name, body in [("malformed", b"{\"vcpu_count\" 2}"), ("truncated", b"{\"vcpu_count\":"),
                       ("trailing garbage", b"{}}"), ("invalid UTF-8", b"{\"a\":\"\xff\xfe\"}"),
                       ("lone UTF-8 lead byte", b"{\"a\":\"\xc3\"}"),
                       ("duplicate keys", b"{\"vcpu_count\":1,\"vcpu_count\":2}"),
                       ("NUL byte", b"{\"a\":\x00}"), ("deep nesting", b"[" * 50000)]:
        c = Conn(SOCK)
        c.send(b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
               % len(body) + body)
        r = c.response()
        if len(body) > MAXP:
            expect(r, 400, prefix="Request payload with size", what="JSON %s -> 400" % name)
        else:
            expect(r, 400, prefix=DESER, what="JSON %s -> 400 deserialize error" % name)
        c.close()
    up("bad JSON")


def case_keep_alive():
    c = Conn(SOCK)
    r1 = c.request("GET", "/machine-config")
    r2 = c.request("GET", "/nope")
    r3 = c.request("PUT", "/logger", "{")
    r4 = c.request("GET", "/version")
    R.check([r.status for r in (r1, r2, r3, r4)] == [200, 400, 400, 200],
            "keep-alive: 4 requests, errors included, on one connection", repr([r1, r2, r3, r4]))
    c.send(c.request_bytes("GET", "/") + c.request_bytes("GET", "/version"))
    a, b = c.response(), c.response()
    R.check(a.status == 200 and b.status == 200 and "firecracker_version" in b.json(),
            "keep-alive: two pipelined requests in one write", repr([a, b]))
    c.close()
    up("keep-alive")


def case_oversized():
    c = Conn(SOCK)
    c.send(b"PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAXP + 1))
    r = c.response()
    want = ("Request payload with size %d is larger than the limit of %d allowed by server."
            % (MAXP + 1, MAXP))
    expect(r, 400, want, what="declared Content-Length over the limit -> 400 before the body")
    R.check(c.closed_by_peer(), "connection closed after the oversized refusal")
    c.close()

    c = Conn(SOCK)
    try:
        c.send(b"PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (4 * MAXP)
               + b"x" * (4 * MAXP))
    except OSError:
        pass  # the server may hang up while we still write
    expect(c.response(), 400, prefix="Request payload with size %d" % (4 * MAXP),
           what="oversized body sent anyway -> 400")
    c.close()

    c = Conn(SOCK)
    chunk = b"x" * 8192
    data = b"PUT /mmds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    data += (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 8 + b"0\r\n\r\n"
    c.send(data)
    expect(c.response(), 400, "Request payload with size %d is larger than the limit of %d "
           "allowed by server." % (8 * 8192, MAXP), what="oversized chunked body -> 400")
    c.close()

    body = b"{\"k\":\"" + b"v" * (MAXP - 8) + b"\"}"
    r = request(SOCK, "PUT", "/mmds", body)
    R.check(r.status != 400 or not r.fault().startswith("Request payload"),
            "a body of exactly the limit (%d bytes) is not refused as too large" % len(body),
            repr(r))
    up("oversized bodies")


def case_chunked_ok():
    c = Conn(SOCK)
    body = b"{\"vcpu_count\": 2, \"mem_size_mib\": 256}"
    data = b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(body), 7):
        part = body[i:i + 7]
        data += b"%x\r\n" % len(part) + part + b"\r\n"
    c.send(data + b"0\r\n\r\n")
    r = c.response()
    R.check(r.status == 204, "chunked body within the limit -> 204", repr(r))
    r = c.request("GET", "/machine-config")
    R.check(r.status == 200 and r.json().get("vcpu_count") == 2,
            "chunked PUT took effect", repr(r))
    c.close()


def case_one_byte():
    c = Conn(SOCK)
    data = c.request_bytes("PATCH", "/machine-config", "{\"vcpu_count\": 1}")
    data += c.request_bytes("GET", "/machine-config")
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 16 == 0:
            time.sleep(0.0005)
    a, b = c.response(), c.response()
    R.check(a.status == 204 and b.status == 200 and b.json().get("vcpu_count") == 1,
            "two requests written one byte at a time", repr([a, b]))
    c.close()
    up("1-byte writes")


def case_disconnects():
    for partial in [b"G", b"GET / HTTP/1.1\r\nHost:",
                    b"PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":",
                    b"PUT /mmds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{",
                    b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"]:
        c = Conn(SOCK)
        c.send(partial)
        time.sleep(0.02)
        c.close()
    c = Conn(SOCK)
    c.send(c.request_bytes("GET", "/vm/config"))
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    up("clients that disconnect mid-request or before reading")


def case_garbage():
    for junk in [b"\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                 b"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                 b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * 100000 + b"\r\n\r\n",
                 b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", os.urandom(4096)]:
        c = Conn(SOCK, timeout=0.5)
        try:
            c.send(junk)
            c.sock.shutdown(socket.SHUT_WR)
            while c.sock.recv(65536):
                pass
        except OSError:
            pass
        c.close()
    up("garbage requests")


def case_concurrent(n=50):
    conns = [Conn(SOCK) for _ in range(n)]
    for i, c in enumerate(reversed(conns)):
        c.send(c.request_bytes("GET", "/machine-config"))
    got = [c.response().status for c in conns]
    R.check(got == [200] * n, "%d connections with a request each, all answered" % n,
            repr(got))
    results = []

    def worker(c):
        try:
            results.append(all(c.request("GET", "/").status == 200 for _ in range(5)))
        except Exception:  # noqa: BLE001
            results.append(False)
    threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    R.check(results == [True] * n, "%d threads x 5 keep-alive requests at once" % n)
    for c in conns:
        c.close()
    up("%d concurrent connections" % n)


def case_socket_file():
    if EMBER is None:
        R.skip("socket file cases", "--sock given: not our process")
        return
    st = os.stat(SOCK)
    R.check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
            "API socket is a socket with mode 0600", oct(st.st_mode))
    rival = subprocess.run([ember_binary(), "--api-sock", SOCK], capture_output=True,
                           text=True, timeout=10)
    R.check(rival.returncode != 0 and os.path.exists(SOCK),
            "a second ember on a live socket exits non-zero and leaves it alone",
            "rc=%d %s" % (rival.returncode, rival.stderr.strip()[-200:]))
    up("a rival ember on the same socket")

    stale = os.path.join(EMBER.dir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    with Ember(sock=stale, workdir=EMBER.dir) as e2:
        r = request(stale, "GET", "/")
        R.check(r.status == 200, "a stale socket file (no listener) is replaced", repr(r))
    R.check(not os.path.exists(stale), "the socket is removed when ember stops")

    notsock = os.path.join(EMBER.dir, "plain")
    with open(notsock, "w") as f:
        f.write("keep me")
    bad = subprocess.run([ember_binary(), "--api-sock", notsock], capture_output=True,
                         text=True, timeout=10)
    with open(notsock) as f:
        kept = f.read() == "keep me"
    R.check(bad.returncode != 0 and kept, "a path that is not a socket is refused, untouched",
            "rc=%d %s" % (bad.returncode, bad.stderr.strip()[-200:]))


def case_payload_flag():
    if EMBER is None:
        return
    with Ember(["--http-api-max-payload-size", "100"], workdir=None) as e2:
        body = "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false, " \
               "\"track_dirty_pages\": false, \"huge_pages\": \"None\"}"
        r = request(e2.sock, "PUT", "/machine-config", body)
        want = ("Request payload with size %d is larger than the limit of 100 allowed by "
                "server." % len(body))
        R.check(r.status == 400 and r.fault() == want,
                "--http-api-max-payload-size 100 is enforced", repr(r))


def case_good_requests():
    c = Conn(SOCK)
    r1 = c.request("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}")
    r2 = c.request("GET", "/machine-config")
    ok = r1.status == 204 and r1.body == b"" and r2.status == 200 and \
        r2.json().get("mem_size_mib") == 256 and \
        r2.headers.get("content-type") == "application/json"
    R.check(ok, "good requests still work: PUT 204 no body, GET 200 JSON reflects it",
            repr([r1, r2]))
    c.close()


def main():
    global SOCK, EMBER
    if len(sys.argv) == 3 and sys.argv[1] == "--sock":
        SOCK = sys.argv[2]
    else:
        if not has_api_sock():
            print("hostile: 0 passed, 0 failed (skipped: %s has no --api-sock)"
                  % ember_binary())
            return 0
        EMBER = Ember().start()
        SOCK = EMBER.sock
    try:
        for case in (case_routing, case_json, case_keep_alive, case_oversized,
                     case_chunked_ok, case_one_byte, case_disconnects, case_garbage,
                     case_concurrent, case_socket_file, case_payload_flag, case_good_requests):
            try:
                case()
            except Exception as e:  # noqa: BLE001 - report and go on
                R.check(False, case.__name__, "%s: %s (%s)" % (type(e).__name__, e,
                                                               EMBER.log_tail() if EMBER else ""))
        if EMBER is not None:
            rc = EMBER.stop()
            R.check(rc == 0, "ember exits 0 on SIGTERM after all that", "rc=%s" % rc)
            R.check(not os.path.exists(SOCK), "API socket removed at exit")
    finally:
        if EMBER is not None and EMBER.alive():
            EMBER.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
