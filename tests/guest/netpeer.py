#!/usr/bin/env python3
"""The host's side of tests/guest/net.c's frame protocol on a TAP.

Speaks the guest's protocol (see the comment at the top of net.c) over a raw
AF_PACKET socket bound to IFACE: syncs batch 1 with the guest (answering its
SYNC: it sends nothing before), exchanges COUNT DATA frames each way (WINDOW
unacknowledged at most), checks every frame the guest sends (source MAC,
sender id, sequence, length, FNV-1a-64 checksum and the sender's pattern)
and answers the guest's polls until it has been quiet for a while. An independent implementation of the format: if the
guest and this script disagree on a byte, the run fails.

  netpeer.py IFACE --mac MAC --peer MAC [--role b] [--count N] [--size MAX]
             [--window W] [--wait S]

Prints "netpeer: listening on IFACE" once its socket is bound (start the
guest after that: frames sent before would be lost to it), then one
"netpeer: batch 1: ..." summary line; exit status 0 on success, 1 on any
failure (with a "netpeer: FAIL ..." line).
"""
import argparse
import socket
import struct
import sys
import time

ETHERTYPE = 0x88B5
MAGIC = 0x31544E45
SYNC, DATA, ACK = 1, 2, 3
HEARD, POLL = 1, 2
HDR = struct.Struct("<IBBHIIHHQ")  # struct nt_hdr, 28 bytes, packed
PAYLOAD_OFF = 14 + HDR.size  # 42
ETH_ZLEN = 60
MIN_PAYLOAD = ETH_ZLEN - PAYLOAD_OFF
M64 = (1 << 64) - 1
FNV_OFF, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
PAT_STEP = 0x9E3779B97F4A7C15
SYNC_S, POLL_S, LINGER_S = 0.02, 0.1, 0.3
PACKET_OUTGOING = 4


class Fail(Exception):
    pass


def mac_bytes(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError(s)
    return b


def payload_len(max_frame, sender, batch, seq):
    top = max_frame - PAYLOAD_OFF
    if seq % 16 == 0:
        return top
    if seq % 16 == 1:
        return MIN_PAYLOAD
    return MIN_PAYLOAD + ((seq * 211 + sender * 17 + batch) & 0xFFFFFFFF) % (top - MIN_PAYLOAD + 1)


def payload(sender, batch, seq, n):
    v = ((((sender << 56) | (batch << 40) | seq) * 0xFF51AFD7ED558CCD) + 1) & M64
    words = [(v + k * PAT_STEP) & M64 for k in range((n + 7) // 8)]
    return struct.pack("<%dQ" % len(words), *words)[:n]


def fnv(data):
    data += bytes(-len(data) % 8)
    h = FNV_OFF
    for (w,) in struct.iter_unpack("<Q", data):
        h = ((h ^ w) * FNV_PRIME) & M64
    return h


class Peer:
    def __init__(self, a):
        self.a = a
        self.me = 1 if a.role == "a" else 2
        self.them = 3 - self.me
        self.mac, self.peer = mac_bytes(a.mac), mac_bytes(a.peer)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
        self.sock.bind((a.iface, ETHERTYPE))
        self.sock.settimeout(0.005)
        self.batch = 1
        self.heard = self.peer_heard = self.synced = False
        self.next_tx = self.acked = self.rx_next = self.ack_sent = 0
        self.sync_now = self.ack_now = False
        self.t_sync = 0.0
        self.t_poll = time.monotonic()
        self.tx = self.rx = self.polls = self.bytes_rx = 0

    def send(self, typ, seq=0, flags=0, data=b"", batch=None, ack=None):
        batch = self.batch if batch is None else batch
        ack = self.rx_next if ack is None else ack
        csum = fnv(data) if data else 0
        h = HDR.pack(MAGIC, typ, self.me, batch, seq, ack, len(data), flags, csum)
        frame = self.peer + self.mac + struct.pack(">H", ETHERTYPE) + h + data
        self.sock.send(frame + bytes(max(0, ETH_ZLEN - len(frame))))
        self.tx += 1

    def send_data(self):
        seq = self.next_tx
        if self.acked == seq:
            self.t_poll = time.monotonic()  # the first unacked frame
        n = payload_len(self.a.size, self.me, self.batch, seq)
        self.send(DATA, seq=seq, data=payload(self.me, self.batch, seq, n))
        self.ack_sent = self.rx_next
        self.next_tx += 1

    def take(self, f):
        if len(f) < PAYLOAD_OFF or f[:6] not in (self.mac, b"\xff" * 6):
            return
        magic, typ, sender, batch, seq, ack, n, flags, csum = HDR.unpack_from(f, 14)
        if magic != MAGIC or sender != self.them or f[6:12] != self.peer:
            raise Fail("frame magic %#x sender %d from %s" % (magic, sender, f[6:12].hex(":")))
        want = PAYLOAD_OFF + n if typ == DATA else ETH_ZLEN
        if len(f) != want or (typ != DATA and n):
            raise Fail("type %d frame of %d bytes, payload %d" % (typ, len(f), n))
        self.rx += 1
        if batch != self.batch:
            raise Fail("frame of batch %d in batch %d" % (batch, self.batch))
        if typ == SYNC:
            self.sync_now |= not self.heard or (self.synced and not flags & HEARD)
            self.heard = True
            self.peer_heard |= bool(flags & HEARD)
            self.synced |= self.peer_heard
            return
        self.heard = self.peer_heard = self.synced = True
        if not self.acked <= ack <= self.next_tx:
            raise Fail("ack %d with %d acked, %d sent" % (ack, self.acked, self.next_tx))
        if ack > self.acked:
            self.t_poll = time.monotonic()
        self.acked = ack
        if typ == ACK:
            self.ack_now |= bool(flags & POLL)
            return
        self.take_data(seq, n, csum, f[PAYLOAD_OFF:])

    def take_data(self, seq, n, csum, data):
        if seq != self.rx_next:
            raise Fail("DATA seq %d, want %d" % (seq, self.rx_next))
        if seq >= self.a.count or n != payload_len(self.a.size, self.them, self.batch, seq):
            raise Fail("DATA seq %d with %d payload bytes" % (seq, n))
        if fnv(data) != csum:
            raise Fail("DATA seq %d: checksum %#x, the frame says %#x" % (seq, fnv(data), csum))
        if data != payload(self.them, self.batch, seq, n):
            raise Fail("DATA seq %d: not the sender's pattern" % seq)
        self.rx_next += 1
        self.bytes_rx += n

    def recv_all(self):
        got = False
        while True:
            try:
                f, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                return got
            if addr[2] != PACKET_OUTGOING:
                self.take(f)
                got = True

    def work(self):
        now = time.monotonic()
        if not self.synced or self.sync_now:
            # Speak only once the guest has: frames sent before its driver is
            # up would be lost, and every frame sent must reach it.
            if self.sync_now or (self.heard and now - self.t_sync >= SYNC_S):
                self.send(SYNC, flags=HEARD if self.heard else 0)
                self.t_sync, self.sync_now = now, False
            if not self.synced:
                return
        while self.next_tx < self.a.count and self.next_tx - self.acked < self.a.window:
            self.send_data()
        if self.rx_next != self.ack_sent or self.ack_now:
            self.send(ACK)
            self.ack_sent, self.ack_now = self.rx_next, False
        elif self.acked < self.next_tx and now - self.t_poll >= POLL_S:
            self.send(ACK, flags=POLL)
            self.t_poll = now
            self.polls += 1

    def done(self):
        c = self.a.count
        return self.synced and self.acked == c and self.rx_next == c and self.ack_sent == c

    def run(self):
        t0 = time.monotonic()
        while not self.done():
            if time.monotonic() - t0 > self.a.wait:
                raise Fail("not done in %d s: synced %s, sent %d, acked %d, received %d" % (
                    self.a.wait, self.synced, self.next_tx, self.acked, self.rx_next))
            self.recv_all()
            self.work()
        ms = (time.monotonic() - t0) * 1000
        quiet = time.monotonic()  # answer polls until the guest is quiet
        while time.monotonic() - quiet < LINGER_S:
            if self.recv_all():
                quiet = time.monotonic()
            if self.ack_now:
                self.send(ACK)
                self.ack_now = False
        print("netpeer: batch %d: sent %d, received %d in order, checksums and contents ok, "
              "%d payload bytes in, %.0f ms; frames: tx %d rx %d, polls %d" % (
                  self.batch, self.next_tx, self.rx_next, self.bytes_rx, ms, self.tx, self.rx,
                  self.polls))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("iface")
    p.add_argument("--mac", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--role", default="b", choices=("a", "b"))
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--size", type=int, default=1514)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--wait", type=float, default=20)
    a = p.parse_args()
    try:
        peer = Peer(a)
        print("netpeer: listening on %s" % a.iface, flush=True)
        peer.run()
    except Fail as e:
        print("netpeer: FAIL %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
