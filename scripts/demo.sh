#!/bin/sh
# make demo: boot something real and show its console.
# - On a host whose /dev/kvm runs stock Linux guests (VMX/SVM KVM): boot the
#   lab's stock Debian cloud kernel + busybox initramfs directly under ember.
# - On a PVM host (our development and CI machines: ../shared/kvm-here.md),
#   which cannot run stock Linux: boot the same guest under ember inside the
#   nested lab (QEMU TCG with Debian's kvm-amd), driven through the API.
# Then, either way, boot ember's own freestanding `hello` guest here.
set -eu
cd "$(dirname "$0")/.."

pvm_host() {
	[ -d /sys/module/kvm_pvm ] || ! grep -qwE 'vmx|svm' /proc/cpuinfo
}

direct_linux() {
	# shellcheck source=../tests/lab/config.sh
	. tests/lab/config.sh
	tests/lab/fetch-kernel.sh >/dev/null
	tests/lab/build.sh >/dev/null
	tmp=$(mktemp -d)
	cat >"$tmp/vm.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$PWD/build/lab/vmlinuz",
    "initrd_path": "$PWD/build/lab/guest.cpio",
    "boot_args": "console=ttyS0 reboot=k panic=1 pci=off lab_scn=boot"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }
}
JSON
	echo "demo: build/ember --no-api --config-file vm.json --boot-timer"
	build/ember --no-api --config-file "$tmp/vm.json" --boot-timer
	rc=$?
	rm -rf "$tmp"
	return $rc
}

if pvm_host; then
	echo "demo: this host's /dev/kvm is PVM-based (no VMX/SVM): a stock Linux guest runs in the nested lab"
	scripts/lab-demo.sh
else
	echo "demo: this host has VMX/SVM KVM: booting the stock Debian kernel directly"
	direct_linux
fi

echo
echo "demo: and ember's freestanding 'hello' test guest on this host's /dev/kvm:"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/vm.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$PWD/build/guest/hello.elf",
    "boot_args": "console=ttyS0 reboot=k panic=1 demo=hello"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }
}
JSON
echo "----- guest console -----"
set +e
build/ember --no-api --config-file "$tmp/vm.json" --boot-timer
rc=$?
echo "----- ember exited with status $rc -----"
exit $rc
