#!/usr/bin/env python3
"""Network interfaces through the real ember's API: a guest booted with a
TAP interface (the TAP appears, PATCH updates the live device's rate
limiters, GET /vm/config shows them, bad PATCHes are 400 with a
fault_message, per-interface metrics), with a comms_socket on a running
build/ember-switch (the port attaches; killing the switch leaves ember
running and the port comes back when a new switch starts), and with a
comms_socket nobody listens on (InstanceStart 400 saying why; ember keeps
running and starts once a switch is there)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emberlib import ROOT, Ember, Report, request  # noqa: E402

R = Report("net")
GUEST = os.path.join(ROOT, "build", "guest", "console.elf")
SWITCH = os.path.join(ROOT, "build", "ember-switch")
MAC = "06:00:ac:10:00:02"


def api(e, method, url, body=None):
    return request(e.sock, method, url, json.dumps(body) if body is not None else None)


def wait_file(path, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                if text.encode() in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def boot(e, iface):
    api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    api(e, "PUT", "/boot-source", {"kernel_image_path": GUEST, "boot_args": "mode=idle"})
    r = api(e, "PUT", "/network-interfaces/eth0", iface)
    R.check(r.status == 204, "PUT /network-interfaces/eth0: 204", repr(r))
    return api(e, "PUT", "/actions", {"action_type": "InstanceStart"})


class Switch:
    def __init__(self, sock, out):
        self.sock, self.out = sock, out
        self.proc = None

    def start(self):
        # A dead switch's socket file stays behind: wait for the new one (a
        # SIGUSR1 before the switch has its handler would kill it).
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.outf = open(self.out, "ab")
        self.proc = subprocess.Popen([SWITCH, "--socket", self.sock], stdin=subprocess.DEVNULL,
                                     stdout=self.outf, stderr=self.outf)
        deadline = time.monotonic() + 5
        while not os.path.exists(self.sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def ports(self):
        """Attached ports, from the counters line SIGUSR1 prints."""
        before = os.path.getsize(self.out)
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(100):
            time.sleep(0.02)
            with open(self.out, "rb") as f:
                f.seek(before)
                for line in f.read().decode(errors="replace").splitlines():
                    if line.startswith("{"):
                        return len(json.loads(line).get("ports", []))
        return -1

    def wait_ports(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ports() == n:
                return True
            time.sleep(0.1)
        return False

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait()
        if self.proc:
            self.outf.close()


def tap_case():
    tap = "embapi%d" % (os.getpid() % 100000)
    with Ember() as e:
        metrics = os.path.join(e.dir, "metrics.json")
        api(e, "PUT", "/metrics", {"metrics_path": metrics})
        r = boot(e, {"iface_id": "eth0", "host_dev_name": tap, "guest_mac": MAC,
                     "rx_rate_limiter": {"bandwidth": {"size": 1000000, "refill_time": 100}}})
        R.check(r.status == 204, "InstanceStart with a TAP interface: 204", repr(r) + e.log_tail())
        R.check(wait_file(os.path.join(e.dir, "stdout"), "idle: ready"), "guest runs")
        R.check(os.path.isdir("/sys/class/net/" + tap), "ember opened the TAP " + tap)
        r = api(e, "PATCH", "/network-interfaces/eth0",
                {"iface_id": "eth0", "tx_rate_limiter": {"ops": {"size": 100, "refill_time": 1000}},
                 "rx_rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}})
        R.check(r.status == 204 and r.body == b"", "PATCH rate limiters at runtime: 204", repr(r))
        cfg = api(e, "GET", "/vm/config").json()["network-interfaces"][0]
        tx, rx = cfg.get("tx_rate_limiter") or {}, cfg.get("rx_rate_limiter") or {}
        R.check((tx.get("ops") or {}).get("size") == 100 and not rx.get("bandwidth"),
                "GET /vm/config shows the new limiters", json.dumps(cfg))
        R.check(cfg.get("host_dev_name") == tap and cfg.get("guest_mac") == MAC,
                "GET /vm/config keeps the TAP and MAC", json.dumps(cfg))
        for body, what in (({"iface_id": "eth0", "tx_rate_limiter": {"ops": {"size": -1}}},
                            "a negative bucket size"),
                           ({"iface_id": "eth0", "host_dev_name": "x"}, "an unknown field"),
                           ({"iface_id": "eth1"}, "an id other than the path's")):
            r = api(e, "PATCH", "/network-interfaces/eth0", body)
            R.check(r.status == 400 and r.fault() != "", "PATCH with %s: 400 with a "
                    "fault_message" % what, repr(r))
        r = api(e, "PATCH", "/network-interfaces/wlan0", {"iface_id": "wlan0"})
        R.check(r.status == 400 and "not found" in r.fault(),
                "PATCH of an unknown interface: 400 'Device not found'", repr(r))
        r = api(e, "PUT", "/network-interfaces/eth1", {"iface_id": "eth1", "host_dev_name": "t1"})
        R.check(r.status == 400, "PUT /network-interfaces after start: 400", repr(r))
        r = api(e, "PUT", "/actions", {"action_type": "FlushMetrics"})
        R.check(r.status == 204, "FlushMetrics: 204", repr(r))
        with open(metrics) as f:
            lines = [json.loads(x) for x in f if x.strip()]
        last = lines[-1] if lines else {}
        R.check("net_eth0" in last and "tx_spoofed_mac_count" in last["net_eth0"] and
                "rx_queue_event_count" in last.get("net", {}),
                "metrics carry the net group and net_eth0", json.dumps(last)[:300])
        R.check(api(e, "GET", "/").json().get("state") == "Running", "VM still running")
    R.check(not os.path.exists("/sys/class/net/" + tap), "TAP gone with ember")


def comms_case(d):
    sw_sock = os.path.join(d, "sw.sock")
    sw = Switch(sw_sock, os.path.join(d, "switch.out")).start()
    try:
        with Ember(["--level", "Info"]) as e:
            r = boot(e, {"iface_id": "eth0", "comms_socket": sw_sock, "guest_mac": MAC,
                         "tx_rate_limiter": {"ops": {"size": 1000, "refill_time": 100}}})
            R.check(r.status == 204, "InstanceStart with a comms_socket on ember-switch: 204",
                    repr(r) + e.log_tail())
            R.check(sw.wait_ports(1), "the switch sees one port")
            cfg = api(e, "GET", "/vm/config").json()["network-interfaces"][0]
            R.check(cfg.get("comms_socket") == sw_sock and "host_dev_name" not in cfg,
                    "GET /vm/config shows comms_socket", json.dumps(cfg))
            r = api(e, "PATCH", "/network-interfaces/eth0",
                    {"iface_id": "eth0", "rx_rate_limiter": {"ops": {"size": 5, "refill_time": 10}}})
            R.check(r.status == 204, "PATCH on a comms interface: 204", repr(r))
            sw.kill()
            time.sleep(0.5)
            R.check(e.alive() and api(e, "GET", "/").json().get("state") == "Running",
                    "switch killed: ember keeps running")
            R.check(wait_file(os.path.join(e.dir, "stderr"), "comms link to"),
                    "ember logs the link going down", e.log_tail())
            sw = Switch(sw_sock, os.path.join(d, "switch2.out")).start()
            R.check(sw.wait_ports(1, 5.0), "a new switch: ember reconnects", e.log_tail())
            R.check(wait_file(os.path.join(e.dir, "stderr"), "up again"),
                    "ember logs the link coming back", e.log_tail())
            R.check(api(e, "GET", "/").json().get("state") == "Running", "VM still running")
    finally:
        sw.kill(signal.SIGTERM)


def no_peer_case(d):
    sock = os.path.join(d, "nobody.sock")
    with Ember() as e:
        r = boot(e, {"iface_id": "eth0", "comms_socket": sock})
        R.check(r.status == 400 and "cannot connect to comms_socket" in r.fault() and
                sock in r.fault(), "comms_socket nobody listens on: InstanceStart 400 "
                "saying why", repr(r))
        R.check(e.alive() and api(e, "GET", "/").json().get("state") == "Not started",
                "ember keeps running, VM not started")
        sw = Switch(sock, os.path.join(d, "switch3.out")).start()
        try:
            r = api(e, "PUT", "/actions", {"action_type": "InstanceStart"})
            R.check(r.status == 204, "with the switch there, InstanceStart: 204",
                    repr(r) + e.log_tail())
            R.check(sw.wait_ports(1), "and the port attaches")
        finally:
            sw.kill(signal.SIGTERM)


def main():
    if not os.path.exists("/dev/kvm"):
        R.skip("net", "no /dev/kvm")
        return R.finish()
    if not os.path.exists(GUEST):
        R.check(False, "build/guest/console.elf exists (make guests)")
        return R.finish()
    d = tempfile.mkdtemp(prefix="ember-net-")
    tap_case()
    if os.path.exists(SWITCH):
        comms_case(d)
    else:
        R.check(False, "build/ember-switch exists")
    no_peer_case(d)
    shutil.rmtree(d, ignore_errors=True)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
