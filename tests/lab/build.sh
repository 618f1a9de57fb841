#!/bin/sh
# build.sh [--with-qemu]: build the lab's initramfs and disk images from
# Debian packages only (busybox-static, kmod's modinfo, cpio, curl, socat,
# iperf3, iproute2, e2fsprogs, the cached kernel package; with --with-qemu
# also qemu-system-x86 for bench/lab-boot.sh):
#   $LAB_OUT/guest.cpio  L2 guest: busybox, tests/lab/guest/init, virtio
#                        modules (blk, net, balloon, vsock, rng), socat,
#                        iperf3, udhcpc's script
#   $LAB_OUT/disks/*.ext4  L2 root file systems for the block-device scenarios
#   $LAB_OUT/l1-disk.img L1's virtio disk: an ext4 file system holding those
#   $LAB_OUT/l1.cpio     L1: busybox, kvm, virtio, bridge and tun modules,
#                        ember, curl, socat, iperf3, ip and bridge (iproute2),
#                        ember-switch when built (each with its shared
#                        libraries and loader), the guest kernel (bzImage and
#                        ELF vmlinux), guest.cpio, the scenarios
# All are rebuilt every run (about 2 s): no stale-image questions.
# Uncompressed cpio: the L1 and L2 kernels run under an emulator, where
# unpacking plain cpio is much cheaper than decompressing.
set -eu
cd "$(dirname "$0")/../.."
. tests/lab/config.sh

with_qemu=0
[ "${1:-}" = --with-qemu ] && with_qemu=1

[ -x "$LAB_EMBER" ] || { echo "lab: $LAB_EMBER missing: run make first" >&2; exit 1; }
for t in busybox cpio modinfo curl socat iperf3 ip bridge lz4 apt-get dpkg-deb mke2fs; do
	command -v $t >/dev/null || { echo "lab: $t missing: run make deps" >&2; exit 1; }
done
BUSYBOX=/bin/busybox # busybox-static: no libraries to copy

kroot=$(tests/lab/fetch-kernel.sh)
moddir="$kroot/lib/modules/$LAB_KVER"
mkdir -p "$LAB_OUT"

# Print the modules $@ need, each after its dependencies, one per line
# (`modinfo -F depends`: the package has no modules.dep, depmod runs at install).
mod_path() {
	p=$(find "$moddir/kernel" \( -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" \) | head -n 1)
	[ -n "$p" ] || { echo "lab: module $1 not in $LAB_KPKG" >&2; exit 1; }
	echo "$p"
}
mod_order() {
	_seen=" "
	_visit() {
		case "$_seen" in *" $1 "*) return ;; esac
		for _d in $(modinfo -F depends "$(mod_path "$1")" | tr , ' '); do _visit "$_d"; done
		_seen="$_seen$1 "
		echo "$1"
	}
	for _m in "$@"; do _visit "$_m"; done
}
# install_modules ROOT MODULE...: copy them and their dependencies into
# ROOT/lib/modules/NAME.ko and write the load order to ROOT/etc/modules.order.
install_modules() {
	r=$1; shift
	mkdir -p "$r/lib/modules" "$r/etc"
	mod_order "$@" > "$r/etc/modules.order"
	while read -r m; do cp "$(mod_path "$m")" "$r/lib/modules/$m.ko"; done < "$r/etc/modules.order"
}

# install_bin ROOT BIN [DIR]: copy BIN to ROOT/DIR (default /bin) with every
# shared library ldd lists (the dynamic loader included), at the same paths
# as on the host. A busybox applet link of the same name goes first: cp
# would write through it into busybox itself.
install_bin() {
	r=$1 b=$2 dir=${3:-/bin}
	mkdir -p "$r$dir"
	rm -f "$r$dir/$(basename "$b")"
	cp -L "$b" "$r$dir/"
	ldd "$b" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' |
		while read -r lib; do
			mkdir -p "$r$(dirname "$lib")"
			[ -e "$r$lib" ] || cp -L "$lib" "$r$lib"
		done
}

# new_root DIR: an empty root with busybox and its applet links.
new_root() {
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/dev" "$1/proc" "$1/sys" "$1/tmp" "$1/etc"
	cp "$BUSYBOX" "$1/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || ln -s busybox "$1/bin/$a"
	done
	# The kernel opens /dev/console for init before devtmpfs is mounted; its
	# built-in rootfs has the node, this is belt and braces (needs root).
	mknod -m 600 "$1/dev/console" c 5 1 2>/dev/null || true
}

mkcpio() { (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$2"; }

# --- L2 guest -----------------------------------------------------------------
g="$LAB_OUT/guest-root"
new_root "$g"
install -m 755 tests/lab/guest/init "$g/init"
# The virtio drivers a Firecracker-style guest uses (shared/kvm-here.md §3).
# virtio_net pulls in net_failover and failover, vmw_vsock_virtio_transport
# vsock and vmw_vsock_virtio_transport_common; hw_random's core is built in
# (CONFIG_HW_RANDOM=y), virtio_rng is the module.
install_modules "$g" virtio_mmio virtio_blk virtio_net virtio_balloon \
	vmw_vsock_virtio_transport virtio_rng
# The vsock and network scenarios' tools (Debian's socat and iperf3 with their
# libraries) and busybox udhcpc's script (its default path).
install_bin "$g" "$(command -v socat)"
install_bin "$g" "$(command -v iperf3)"
mkdir -p "$g/etc/udhcpc"
install -m 755 tests/lab/guest/udhcpc.script "$g/etc/udhcpc/default.script"
mkcpio "$g" "$LAB_OUT/guest.cpio"

# --- Block-device images (scenarios 8, 9) -----------------------------------------
# An ext4 root file system for the L2 guest, built without root or loop
# devices by `mke2fs -d` (e2fsprogs): busybox, /sbin/init =
# tests/lab/guest/rootfs-init, and /lab/host.bin (1 MiB of random bytes, new
# every run) with its sha256 for the guest to check. One copy per scenario
# VM: blk-sync.ext4, blk-async.ext4 (written by the guest), blk-ro.ext4 (must
# come back unchanged). They travel in L1's own disk, $LAB_OUT/l1-disk.img:
# an ext4 file system holding the three images (run.sh gives it to L1 as a
# virtio-blk drive, L1 mounts it at /disk). After L1 powered off, the host
# reads the images back out of it (tests/lab/check-disks.sh).
r="$LAB_OUT/rootfs-root"
new_root "$r"
mkdir -p "$r/sbin" "$r/lab" "$r/newroot"
install -m 755 tests/lab/guest/rootfs-init "$r/sbin/init"
head -c 1048576 /dev/urandom > "$r/lab/host.bin"
(cd "$r/lab" && sha256sum host.bin > host.sha256)
dd="$LAB_OUT/disks"
rm -rf "$dd"
mkdir -p "$dd"
truncate -s "${LAB_ROOTFS_MIB}M" "$dd/blk-sync.ext4"
mke2fs -q -F -t ext4 -L labroot -d "$r" "$dd/blk-sync.ext4"
cp --sparse=always "$dd/blk-sync.ext4" "$dd/blk-async.ext4"
cp --sparse=always "$dd/blk-sync.ext4" "$dd/blk-ro.ext4"
# The outer file system: room for the images and what the guests write.
rm -f "$LAB_OUT/l1-disk.img"
truncate -s "$((LAB_ROOTFS_MIB * 4 + 32))M" "$LAB_OUT/l1-disk.img"
mke2fs -q -F -t ext4 -L labdisk -d "$dd" "$LAB_OUT/l1-disk.img"

# --- L1 -------------------------------------------------------------------------
l="$LAB_OUT/l1-root"
new_root "$l"
install -m 755 tests/lab/l1/init "$l/init"
# KVM; virtio-mmio (found through QEMU microvm's ACPI) and virtio-blk for
# L1's disk with the block-device images; bridge (with stp, llc) and tun for
# the network scenarios' TAP devices and Linux bridge.
install_modules "$l" kvm_amd virtio_mmio virtio_blk bridge tun
install_bin "$l" "$LAB_EMBER"
install_bin "$l" "$(command -v curl)"
# The vsock and network scenarios' host side: socat, iperf3, iproute2's ip
# and bridge (busybox's ip cannot create bridges or TAP devices), and
# ember-switch once it is built (those scenarios skip without it). iproute2's
# ip goes to /usr/sbin: busybox's shell runs its own applet for a bare `ip`
# whatever PATH says (lib.sh's ip() calls /usr/sbin/ip).
install_bin "$l" "$(command -v socat)"
install_bin "$l" "$(command -v iperf3)"
install_bin "$l" "$(command -v ip)" /usr/sbin
install_bin "$l" "$(command -v bridge)"
if [ -x "$LAB_SWITCH" ]; then install_bin "$l" "$LAB_SWITCH"; fi
mkdir -p "$l/lab"
cp tests/lab/l1/lib.sh tests/lab/l1/bench*.sh "$l/lab/"
# L1's config.sh: this one plus the values in force here, so that overrides
# from the environment (LAB_L2_TIMEOUT=90 tests/lab/run.sh) reach L1 too.
{
	cat tests/lab/config.sh
	echo "# In force when $LAB_OUT/l1.cpio was built:"
	q() { printf "%s='%s'\n" "$1" "$(printf '%s' "$2" | sed "s/'/'\\\\''/g")"; }
	q LAB_L2_TIMEOUT "$LAB_L2_TIMEOUT"
	q LAB_CURL_TIMEOUT "$LAB_CURL_TIMEOUT"
	q LAB_TODO_SMP "$LAB_TODO_SMP"
	q LAB_ENTROPY_KIB "$LAB_ENTROPY_KIB"
	q LAB_VSOCK_MIB "$LAB_VSOCK_MIB"
} > "$l/lab/config.sh"
cp -r tests/lab/l1/scenarios "$l/lab/scenarios"
cp "$kroot/boot/vmlinuz-$LAB_KVER" "$l/lab/vmlinuz"
cp "$LAB_CACHE/vmlinux-$LAB_KVER" "$l/lab/vmlinux"
cp "$LAB_OUT/guest.cpio" "$l/lab/guest.cpio"
if [ $with_qemu = 1 ]; then
	command -v qemu-system-x86_64 >/dev/null || { echo "lab: qemu-system-x86 missing: run make deps" >&2; exit 1; }
	install_bin "$l" "$(command -v qemu-system-x86_64)"
	# microvm's firmware (qboot) and the -kernel loader option ROM are all
	# QEMU needs from its data directory (bench.sh passes -L /usr/share/qemu).
	mkdir -p "$l/usr/share/qemu"
	cp -L /usr/share/qemu/qboot.rom /usr/share/qemu/linuxboot_dma.bin "$l/usr/share/qemu/"
	ln -s qboot.rom "$l/usr/share/qemu/bios-microvm.bin"
fi
mkcpio "$l" "$LAB_OUT/l1.cpio"
cp "$kroot/boot/vmlinuz-$LAB_KVER" "$LAB_OUT/vmlinuz"
echo "lab: built $LAB_OUT/l1.cpio ($(($(wc -c < "$LAB_OUT/l1.cpio") / 1048576)) MiB)" >&2
