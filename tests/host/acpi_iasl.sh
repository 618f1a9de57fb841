#!/bin/bash
# ember's ACPI tables through ACPICA's own tools: acpi_dump (tests/host/acpi_dump.c)
# writes the tables ember builds for N vCPUs, `iasl -d` must disassemble each
# one without an error or warning (it checks every table's checksum), and the
# disassembly must say what we meant: device names and HIDs, \_S5_, the
# MADT's processor count, the FADT's flags and sleep registers. iasl cannot
# disassemble an RSDP, so the RSDP is compiled from its expected fields
# instead (iasl computes both checksums) and must match ours byte for byte.
#
# Environment: ACPI_DUMP (build/host/acpi_dump), IASL (iasl).
set -u
cd "$(dirname "$0")/../.."
DUMP=${ACPI_DUMP:-build/host/acpi_dump}
IASL=${IASL:-iasl}
T=$(mktemp -d /tmp/ember-acpi.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0

ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1"; fail=$((fail + 1)); [ -n "${2:-}" ] && sed 's/^/    /' "$2" | head -12; }
# has FILE REGEX DESCRIPTION
has() { if grep -Eq -- "$2" "$1"; then ok "$3"; else nok "$3: no /$2/ in $(basename "$1")"; fi; }
# count FILE REGEX WANT DESCRIPTION
count() {
	local n
	n=$(grep -Ec -- "$2" "$1")
	if [ "$n" -eq "$3" ]; then ok "$4 ($n)"; else nok "$4: $n, want $3"; fi
}

if ! command -v "$IASL" >/dev/null; then
	echo "not ok - $IASL not found (make deps installs acpica-tools)"
	echo "acpi-iasl: 0 passed, 1 failed"
	exit 1
fi
if ! [ -x "$DUMP" ]; then
	echo "not ok - $DUMP not built (make $DUMP)"
	echo "acpi-iasl: 0 passed, 1 failed"
	exit 1
fi

# disasm DIR TABLE: iasl -d exits 0 and says nothing about errors or warnings.
disasm() {
	local d=$1 t=$2
	if (cd "$d" && "$IASL" -d "$t.dat") >"$d/$t.log" 2>&1 && [ -s "$d/$t.dsl" ] &&
		! grep -Eiq 'error|warning|invalid|incorrect' "$d/$t.log"; then
		ok "$3: iasl -d $t"
	else
		nok "$3: iasl -d $t" "$d/$t.log"
	fi
}

# rsdp DIR: compile the RSDP we mean and compare it with the one ember wrote.
rsdp() {
	local d=$1 xsdt
	xsdt=$(od -An -tx8 -j24 -N8 "$d/rsdp.dat" | tr -d ' ')
	cat >"$d/want_rsdp.asl" <<-EOF
		[0008]                          Signature : "RSD PTR "
		[0001]                           Checksum : 00
		[0006]                             Oem ID : "EMBER "
		[0001]                           Revision : 02
		[0004]                       RSDT Address : 00000000
		[0004]                             Length : 00000024
		[0008]                       XSDT Address : $xsdt
		[0001]                  Extended Checksum : 00
		[0003]                           Reserved : 000000
	EOF
	if (cd "$d" && "$IASL" want_rsdp.asl) >"$d/rsdp.log" 2>&1 && cmp -s "$d/want_rsdp.aml" "$d/rsdp.dat"; then
		ok "$2: RSDP (XSDT at 0x$xsdt) identical to iasl's, both checksums included"
	else
		nok "$2: RSDP differs from iasl's" "$d/rsdp.log"
	fi
}

# vCPUs:virtio devices
for nv in 1:0 2:3 32:19; do
	n=${nv%:*} nvirt=${nv#*:}
	d=$T/$n
	what="$n vCPU(s), $nvirt virtio"
	mkdir -p "$d"
	if ! "$DUMP" "$d" "$n" "$nvirt" 2>"$d/dump.log"; then
		nok "$what: acpi_dump" "$d/dump.log"
		continue
	fi
	rsdp "$d" "$what"
	for t in xsdt facp apic dsdt; do disasm "$d" $t "$what"; done
	count "$d/xsdt.dsl" 'ACPI Table Address +[0-9]+ :' 2 "$what: XSDT entries"
	count "$d/apic.dsl" 'Subtable Type : 00 \[Processor Local APIC\]' "$n" "$what: MADT local APICs"
	count "$d/apic.dsl" 'Processor Enabled : 1' "$n" "$what: MADT processors enabled"
	count "$d/apic.dsl" '\[I/O APIC\]' 1 "$what: MADT IOAPIC"
	has "$d/apic.dsl" "I/O Apic ID : $(printf '%02X' "$n")" "$what: IOAPIC id after the CPUs"
	has "$d/apic.dsl" 'Address : FEC00000' "$what: IOAPIC address"
	has "$d/apic.dsl" 'Local Apic Address : FEE00000' "$what: LAPIC address"
	count "$d/apic.dsl" '\[Interrupt Source Override\]' 1 "$what: MADT ISO"
	count "$d/apic.dsl" '\[Local APIC NMI\]' 1 "$what: MADT LAPIC NMI"
	has "$d/facp.dsl" 'Hardware Reduced \(V5\) : 1' "$what: FADT hardware-reduced"
	has "$d/facp.dsl" '8042 Present on ports 60/64 \(V2\) : 1' "$what: FADT 8042 present"
	has "$d/facp.dsl" 'VGA Not Present \(V4\) : 1' "$what: FADT no VGA"
	has "$d/facp.dsl" 'MSI Not Supported \(V4\) : 1' "$what: FADT no MSI"
	has "$d/facp.dsl" 'PCIe ASPM Not Supported \(V4\) : 1' "$what: FADT no ASPM"
	has "$d/facp.dsl" 'Hypervisor ID : 4D564B5245424D45' "$what: FADT hypervisor id EMBERKVM"
	has "$d/facp.dsl" 'Address : 0000000000000600' "$what: FADT sleep control at 0x600"
	has "$d/facp.dsl" 'Address : 0000000000000601' "$what: FADT sleep status at 0x601"
	has "$d/dsdt.dsl" 'Device \(COM1\)' "$what: DSDT COM1"
	has "$d/dsdt.dsl" 'EisaId \("PNP0501"\)' "$what: DSDT PNP0501"
	has "$d/dsdt.dsl" 'Device \(PS2K\)' "$what: DSDT PS2K"
	has "$d/dsdt.dsl" 'EisaId \("PNP0303"\)' "$what: DSDT PNP0303"
	has "$d/dsdt.dsl" 'Name \(_S5, Package \(0x02\)' "$what: DSDT _S5_"
	has "$d/facp.dsl" 'CMOS RTC Not Present \(V5\) : 1' "$what: FADT no CMOS RTC"
	count "$d/dsdt.dsl" '_HID, "LNRO0005"' "$nvirt" "$what: DSDT virtio-mmio devices"
	if [ "$nvirt" -gt 0 ]; then
		count "$d/dsdt.dsl" 'Memory32Fixed \(ReadWrite,' "$nvirt" "$what: DSDT virtio windows"
		count "$d/dsdt.dsl" 'Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive' "$nvirt" \
			"$what: DSDT virtio interrupts (edge, high)"
		has "$d/dsdt.dsl" '0xC0001000,' "$what: DSDT first window at 0xc0001000"
		has "$d/dsdt.dsl" '0x00000005,' "$what: DSDT first virtio GSI 5"
	fi
	# The disassembly is valid ASL: iasl compiles it back without errors.
	if (cd "$d" && "$IASL" -p recompiled dsdt.dsl) >"$d/recompile.log" 2>&1; then
		ok "$what: DSDT disassembly recompiles"
	else
		nok "$what: DSDT disassembly recompiles" "$d/recompile.log"
	fi
done

echo "acpi-iasl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
