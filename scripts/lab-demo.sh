#!/bin/sh
# scripts/lab-demo.sh: `make demo` on a host whose /dev/kvm cannot run stock
# Linux (PVM: shared/kvm-here.md): boot Debian's stock cloud kernel under
# ember on real KVM in the nested lab, and show the guest's console.
# L1 is QEMU's TCG emulator with Debian's kvm-amd.ko (emulated AMD SVM); inside
# it ember is driven through its REST API with curl (PUT /boot-source,
# PUT /machine-config, PUT /actions InstanceStart), the guest's initramfs
# prints its marker and reboots, and ember exits 0. Takes about 20-30 s, most
# of it the emulator; the kernel package is fetched once into build/lab/cache.
set -eu
cd "$(dirname "$0")/.."
[ -x build/ember ] || make --no-print-directory build/ember
echo "lab-demo: stock Debian cloud kernel (bzImage + busybox initramfs, 1 vCPU, 128 MiB) under ember,"
echo "lab-demo: on real KVM nested in a TCG virtual machine (tests/lab); L1 console follows"
echo "----- L1 console (the guest's console is shown as it comes) -----"
exec tests/lab/run.sh --demo
