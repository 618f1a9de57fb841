#!/bin/sh
# extract-vmlinux.sh BZIMAGE OUT: recover the 64-bit ELF vmlinux from a bzImage.
# The setup header (Documentation/arch/x86/boot.rst) gives:
#   0x1f1 setup_sects (u8; 0 means 4): the real-mode part is (setup_sects+1)*512
#         bytes, the protected-mode part follows it;
#   0x248 payload_offset (u32): the compressed payload's offset from the start
#         of the protected-mode part;
#   0x24c payload_length (u32).
# Debian's cloud kernel compresses the payload with LZ4 (legacy frame format),
# which `lz4 -dc` decodes; the result is the ELF vmlinux.
set -eu
in=$1
out=$2

# Read an unsigned little-endian integer of $2 bytes at offset $1.
rd() { od -An -tu"$2" -j "$1" -N "$2" "$in" | tr -d ' '; }

[ "$(dd if="$in" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] ||
	{ echo "extract-vmlinux: $in: no HdrS magic: not a bzImage" >&2; exit 1; }
sects=$(rd $((0x1f1)) 1)
[ "$sects" -eq 0 ] && sects=4
off=$(( (sects + 1) * 512 + $(rd $((0x248)) 4) ))
len=$(rd $((0x24c)) 4)

# The kernel build appends the decompressed size (u32) to the compressed
# payload (`size_append` in arch/x86/boot/compressed/Makefile); lz4 rejects
# that trailer, so decode the first len-4 bytes and check the size against it.
size=$(tail -c +$((off + len - 3)) "$in" | head -c 4 | od -An -tu4 | tr -d ' ')
tail -c +$((off + 1)) "$in" | head -c $((len - 4)) | lz4 -dc > "$out"
[ "$(od -An -c -N 4 "$out" | tr -d ' ')" = '177ELF' ] ||
	{ echo "extract-vmlinux: $in: payload at $off (+$len) did not decode to an ELF" >&2; exit 1; }
[ "$(wc -c < "$out")" -eq "$size" ] ||
	{ echo "extract-vmlinux: $in: decoded $(wc -c < "$out") bytes, header says $size" >&2; exit 1; }
