#!/usr/bin/env python3
"""virtio-blk throughput: the blk test guest in mode=bench (tests/guest/blk.c)
under ember (Sync and Async engines) and QEMU -M microvm (virtio-blk-device),
beside the host reading/writing the same file directly. Prints a table and
ratios; asserts nothing.

Each guest phase is bracketed by serial lines the host timestamps as they
arrive ("bench: <phase> start" / "bench: <phase> done ops N bytes B us U"):
the rates use that host wall time; the guest's own TSC time (U) is shown
beside it as a cross-check.
  rand4k  4 KiB reads at random 4 KiB-aligned offsets, qd (32) in flight
  seqrd   1 MiB sequential reads, 4 in flight
  seqwr   1 MiB sequential writes, 4 in flight
The host baseline does the same sizes with pread/pwrite from one thread
(queue depth 1) on the same file, through the page cache as the VMMs do.
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASES = ("rand4k", "seqrd", "seqwr")
DONE = re.compile(r"^bench: (\w+) done ops (\d+) bytes (\d+) us (\d+)")


def run_guest(cmd, timeout):
    """Run a VMM; return ({phase: (wall_s, ops, bytes, guest_us)}, cpu_s, ok, tail)."""
    t_start = {}
    res = {}
    tail = []
    ok = False
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, bufsize=0)
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while time.monotonic() < deadline:
            chunk = p.stdout.read1(4096) if hasattr(p.stdout, "read1") else os.read(p.stdout.fileno(), 4096)
            now = time.monotonic()
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                s = line.decode(errors="replace").strip("\r")
                tail = (tail + [s])[-6:]
                m = re.match(r"^bench: (\w+) start", s)
                if m:
                    t_start[m.group(1)] = now
                m = DONE.match(s)
                if m and m.group(1) in t_start:
                    ph = m.group(1)
                    res[ph] = (now - t_start[ph], int(m.group(2)), int(m.group(3)), int(m.group(4)))
                if s == "SUCCESS":
                    ok = True
    finally:
        try:
            p.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res, cpu, ok, tail


def ember_cmd(args, img, engine, tmp):
    cfg = {
        "boot-source": {"kernel_image_path": os.path.join(ROOT, "build/guest/blk.elf"),
                        "boot_args": f"mode=bench secs={args.secs} qd={args.qd}"},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
        "drives": [{"drive_id": "bench", "path_on_host": img, "is_root_device": False,
                    "is_read_only": False, "cache_type": "Writeback", "io_engine": engine}],
    }
    path = os.path.join(tmp, f"ember-{engine}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return [args.ember, "--no-api", "--level", "Warning", "--config-file", path]


def qemu_cmd(args, img, aio):
    # QEMU microvm: modern virtio-mmio (force-legacy off); the guest probes
    # its transports at 0xfeb00000 (no virtio_mmio.device= for PVH boots).
    return [args.qemu, "-enable-kvm", "-cpu", "host,-arch-capabilities", "-M", "microvm", "-m", "256",
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot",
            "-global", "virtio-mmio.force-legacy=false",
            "-kernel", os.path.join(ROOT, "build/guest/blk.elf"),
            "-append", f"e820=lax mode=bench secs={args.secs} qd={args.qd}",
            "-drive", f"id=d0,file={img},format=raw,if=none,cache=writeback,aio={aio}",
            "-device", "virtio-blk-device,drive=d0"]


def host_direct(img, secs):
    """Same sizes on the host, one thread, page cache: {phase: (wall, ops, bytes, 0)}."""
    res = {}
    size = os.path.getsize(img)
    fd = os.open(img, os.O_RDWR)
    try:
        rnd = random.Random(1)
        nblk = size // 4096
        t0 = time.monotonic()
        ops = 0
        while True:
            for _ in range(256):
                os.pread(fd, 4096, rnd.randrange(nblk) * 4096)
            ops += 256
            if time.monotonic() - t0 >= secs:
                break
        res["rand4k"] = (time.monotonic() - t0, ops, ops * 4096, 0)
        mib = 1 << 20
        for ph in ("seqrd", "seqwr"):
            data = os.urandom(mib)
            t0 = time.monotonic()
            ops, off = 0, 0
            while time.monotonic() - t0 < secs:
                if ph == "seqrd":
                    os.pread(fd, mib, off)
                else:
                    os.pwrite(fd, data, off)
                ops += 1
                off = (off + mib) % (size - size % mib)
            res[ph] = (time.monotonic() - t0, ops, ops * mib, 0)
    finally:
        os.close(fd)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--secs", type=int, default=3, help="seconds per phase (default 3)")
    ap.add_argument("--qd", type=int, default=32, help="4 KiB requests in flight (default 32)")
    ap.add_argument("--size", type=int, default=64, help="drive size in MiB (default 64)")
    ap.add_argument("--ember", default=os.path.join(ROOT, "build/ember"))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--no-qemu", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ember-blk-bench.")
    try:
        img = os.path.join(tmp, "disk.img")
        with open(img, "wb") as f:
            for _ in range(args.size):
                f.write(os.urandom(1 << 20))
        timeout = 3 * args.secs * 4 + 60
        runs = []
        for engine in ("Sync", "Async"):
            runs.append((f"ember {engine}", ember_cmd(args, img, engine, tmp)))
        if not args.no_qemu and shutil.which(args.qemu):
            for aio in ("threads", "io_uring"):
                runs.append((f"qemu aio={aio}", qemu_cmd(args, img, aio)))
        results = []
        for name, cmd in runs:
            res, cpu, ok, tail = run_guest(cmd, timeout)
            if not ok or len(res) < len(PHASES):
                print(f"# {name}: incomplete run (SUCCESS {ok}, phases {sorted(res)}); last lines:", file=sys.stderr)
                for line in tail:
                    print(f"#   {line}", file=sys.stderr)
            results.append((name, res, cpu))
        results.append(("host pread/pwrite qd1", host_direct(img, args.secs), None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def rate(res, ph):
        if ph not in res or res[ph][0] <= 0:
            return None
        wall, ops, nbytes, _ = res[ph]
        return ops / wall if ph == "rand4k" else nbytes / wall / 1e6

    print(f"virtio-blk bench: {args.size} MiB drive, {args.secs} s per phase, rand4k qd {args.qd}, seq 1 MiB x 4")
    hdr = f"{'config':<24} {'rand4k IOPS':>12} {'seqrd MB/s':>11} {'seqwr MB/s':>11} {'guest/host time':>16} {'VMM CPU s':>10}"
    print(hdr)
    for name, res, cpu in results:
        cells = []
        for ph in PHASES:
            r = rate(res, ph)
            cells.append(f"{r:.0f}" if r is not None else "-")
        skew = [res[ph][3] / 1e6 / res[ph][0] for ph in PHASES if ph in res and res[ph][3]]
        sk = f"{sum(skew) / len(skew):.3f}" if skew else "-"
        print(f"{name:<24} {cells[0]:>12} {cells[1]:>11} {cells[2]:>11} {sk:>16} {cpu if cpu is None else round(cpu, 2)!s:>10}")
    base = results[0]
    print(f"\nratios to {base[0]} (>1 = faster):")
    for name, res, _ in results[1:]:
        cells = []
        for ph in PHASES:
            a, b = rate(res, ph), rate(base[1], ph)
            cells.append(f"{a / b:.2f}" if a and b else "-")
        print(f"{name:<24} {cells[0]:>12} {cells[1]:>11} {cells[2]:>11}")
    print("\n(rates from host wall time between the guest's serial markers; 'guest/host time' is the guest's"
          " TSC time over that, ~1 if the TSC calibration holds. On a PVM host every guest instruction is"
          " expensive, so the guest, not the VMM, may be the limit: compare the VMMs with each other.)")


if __name__ == "__main__":
    main()
