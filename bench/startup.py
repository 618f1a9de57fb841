#!/usr/bin/env python3
"""Start-up benchmark: process start -> first guest serial byte -> exit, and
peak RSS, for ember and (same guest, same run) QEMU's microvm machine.

Prints medians over N runs. Benchmarks report; they assert nothing."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def watch_hwm(pid, out):
    """Poll VmHWM (the peak RSS of the exec'd image; unlike wait4's ru_maxrss
    it does not count the pre-exec fork of this Python process)."""
    path = f"/proc/{pid}/status"
    while True:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        out[0] = max(out[0], int(line.split()[1]))
                        break
                else:
                    return  # zombie: no more memory fields
        except OSError:
            return
        time.sleep(0.0005)


def run_once(argv):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    hwm = [0]
    watcher = threading.Thread(target=watch_hwm, args=(p.pid, hwm))
    watcher.start()
    first = None
    while True:
        b = p.stdout.read1(65536) if hasattr(p.stdout, "read1") else p.stdout.read(1)
        if not b:
            break
        if first is None:
            first = time.monotonic()
    _, status, _ = os.wait4(p.pid, 0)
    end = time.monotonic()
    watcher.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    return ((first or end) - t0) * 1e3, (end - t0) * 1e3, hwm[0] / 1024.0, p.returncode


def bench(name, argv, n):
    firsts, ends, rss, codes = [], [], [], set()
    run_once(argv)  # warm the page cache
    for _ in range(n):
        f, e, r, c = run_once(argv)
        firsts.append(f); ends.append(e); rss.append(r); codes.add(c)
    return name, statistics.median(firsts), statistics.median(ends), statistics.median(rss), codes


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    n = int(os.environ.get("RUNS", "20"))
    mem = int(os.environ.get("MEM_MIB", "128"))
    guest = os.path.join(root, "build/guest/hello.elf")
    ember = os.path.join(root, "build/ember")
    cmdline = "console=ttyS0 bench"
    tmp = tempfile.mkdtemp()
    cfg = os.path.join(tmp, "vm.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": guest, "boot_args": cmdline},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": mem}}, f)
    rows = [bench("ember", [ember, "--no-api", "--config-file", cfg, "--level", "Off"], n)]
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        rows.append(bench("qemu -M microvm", [
            qemu, "-enable-kvm", "-cpu", "host,-arch-capabilities", "-M", "microvm",
            "-m", str(mem), "-nodefaults", "-no-user-config", "-nographic",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel", guest, "-append", cmdline, "-no-reboot"], n))
    shutil.rmtree(tmp)
    print(f"startup: hello guest, 1 vCPU, {mem} MiB guest RAM, median of {n} runs")
    print(f"{'vmm':<18}{'first byte ms':>14}{'exit ms':>10}{'peak RSS MiB':>14}"
          f"{'guest RAM MiB':>15}  exit codes")
    for name, f, e, r, codes in rows:
        print(f"{name:<18}{f:>14.2f}{e:>10.2f}{r:>14.2f}{mem:>15}  {sorted(codes)}")
    if len(rows) == 2:
        print(f"ratio ember/qemu: first byte {rows[0][1] / rows[1][1]:.2f}, "
              f"exit {rows[0][2] / rows[1][2]:.2f}, RSS {rows[0][3] / rows[1][3]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
