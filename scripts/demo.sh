#!/bin/sh
# make demo: boot something real and show its console.
# On a host whose /dev/kvm runs stock Linux guests this will boot a real Linux
# guest once the nested lab provides the kernel and initramfs; today (and on
# our PVM-based machines, which cannot run stock Linux) it boots ember's own
# freestanding `hello` test guest through the same loader a vmlinux uses.
set -eu
cd "$(dirname "$0")/.."

if [ -d /sys/module/kvm_pvm ] || ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "demo: this host's /dev/kvm is PVM-based (no VMX/SVM): stock Linux guests cannot run here."
else
	echo "demo: this host has VMX/SVM KVM; the Linux-guest demo arrives with the lab."
fi
echo "demo: booting the freestanding 'hello' test guest (ELF vmlinux entry, 1 vCPU, 128 MiB)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/vm.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$PWD/build/guest/hello.elf",
    "boot_args": "console=ttyS0 reboot=k panic=1 demo=hello"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }
}
JSON
echo "demo: build/ember --no-api --config-file vm.json --boot-timer"
echo "----- guest console -----"
set +e
build/ember --no-api --config-file "$tmp/vm.json" --boot-timer
rc=$?
echo "----- ember exited with status $rc -----"
exit $rc
