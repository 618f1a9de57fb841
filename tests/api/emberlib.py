"""Shared by tests/api/*.py and bench/api_bench.py: start a real ember with
--api-sock in a temp dir, and talk HTTP/1.1 to it over raw AF_UNIX sockets
(no http.client, so hostile byte streams are possible)."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ember_binary():
    return os.environ.get("EMBER", os.path.join(ROOT, "build", "ember"))


def has_api_sock(binary=None):
    """True once the lead has wired --api-sock into ember."""
    try:
        out = subprocess.run([binary or ember_binary(), "--help"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--api-sock" in out.stdout + out.stderr and "not available" not in out.stdout


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body        # bytes

    def json(self):
        import json
        return json.loads(self.body.decode())

    def fault(self):
        try:
            return self.json().get("fault_message", "")
        except (ValueError, AttributeError):
            return ""

    def __repr__(self):
        return "%d %r" % (self.status, self.body[:200])


class Conn:
    """One keep-alive connection; responses are framed by Content-Length."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def request_bytes(self, method, path, body=None, headers=None):
        if isinstance(body, str):
            body = body.encode()
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        if body is not None:
            lines.append("Content-Type: application/json")
            lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    def request(self, method, path, body=None, headers=None):
        self.send(self.request_bytes(method, path, body, headers))
        return self.response(head=(method == "HEAD"))

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def response(self, head=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            raise ValueError("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return Response(int(m.group(1)), headers, body)

    def closed_by_peer(self, wait=2.0):
        """True if the server closes this connection within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except OSError:
            return True


def request(path, method, url, body=None, headers=None):
    c = Conn(path)
    try:
        return c.request(method, url, body, headers)
    finally:
        c.close()


class Ember:
    """A real ember process serving its API in a private temp dir."""

    def __init__(self, extra_args=(), sock=None, workdir=None):
        self.own_dir = workdir is None  # removed at stop unless EMBER_KEEP is set
        self.dir = workdir or tempfile.mkdtemp(prefix="ember-api-")
        self.sock = sock or os.path.join(self.dir, "api.sock")
        self.args = [ember_binary(), "--api-sock", self.sock] + list(extra_args)
        self.proc = None
        self.start_ns = 0

    def start(self, wait=True, timeout=10.0):
        self.out = open(os.path.join(self.dir, "stdout"), "wb")
        self.err = open(os.path.join(self.dir, "stderr"), "wb")
        self.start_ns = time.monotonic_ns()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=self.err)
        if wait:
            self.wait_socket(timeout)
        return self

    def wait_socket(self, timeout=10.0):
        """Poll connect() until the API answers; returns the wall ns it took."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ember exited with %d: %s" % (self.proc.returncode,
                                                                  self.log_tail()))
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.sock)
                return time.monotonic_ns() - self.start_ns
            except OSError:
                time.sleep(0.0005)
            finally:
                s.close()
        raise RuntimeError("ember API socket %s not up after %.0fs" % (self.sock, timeout))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=8):
        try:
            with open(os.path.join(self.dir, "stderr"), "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return " | ".join(lines[-n:])
        except OSError:
            return ""

    def stop(self, timeout=10.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()
        if self.own_dir and not os.environ.get("EMBER_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Report:
    """One line per check, then "N passed, N failed"."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("ok - %s" % what)
        else:
            self.failed += 1
            print("not ok - %s%s" % (what, (": " + detail) if detail else ""))
        return ok

    def skip(self, what, why):
        print("skip - %s: %s" % (what, why))

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        return 1 if self.failed else 0
