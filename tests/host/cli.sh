#!/bin/bash
# ember's command line, configuration and KVM bring-up error paths, against
# the real binary and the real /dev/kvm. Each check feeds one bad input and
# asserts the exit code and the one-line reason.
set -u
cd "$(dirname "$0")/../.."
EMBER=$PWD/build/ember
GUEST=$PWD/build/guest/hello.elf
SHIM=$PWD/build/host/kvmfault.so
T=$(mktemp -d /tmp/ember-cli.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0; skip=0

ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1"; fail=$((fail + 1)); }
skipped() { echo "skip - $1"; skip=$((skip + 1)); }

# expect NAME CODE REGEX CMD...: exit status CODE, stderr matches REGEX.
expect() {
	local name=$1 code=$2 re=$3; shift 3
	"$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	if [ "$rc" -eq "$code" ] && grep -Eq -- "$re" "$T/err" "$T/out"; then
		ok "$name (exit $rc)"
	else
		nok "$name: exit $rc (want $code), output:"; sed 's/^/    /' "$T/out" "$T/err" | head -5
	fi
}

cfg() { # cfg FILE BOOT-SOURCE-JSON [MACHINE-JSON]
	printf '{"boot-source": %s%s}\n' "$2" "${3:+, \"machine-config\": $3}" >"$1"
}

good='{"kernel_image_path": "'$GUEST'", "boot_args": "console=ttyS0"}'
cfg "$T/good.json" "$good"

# --- arguments (153) and informational flags (0) ---
expect "--help" 0 "--config-file" "$EMBER" --help
expect "--version" 0 "^ember v[0-9]" "$EMBER" --version
expect "unknown flag" 153 "invalid or incomplete argument" "$EMBER" --bogus
expect "flag missing its value" 153 "invalid or incomplete argument" "$EMBER" --no-api --config-file
expect "--no-api without --config-file" 153 "requires --config-file" "$EMBER" --no-api
expect "invalid --id" 153 "invalid --id" "$EMBER" --no-api --config-file "$T/good.json" --id 'a/b'
expect "--id too long" 153 "invalid --id" "$EMBER" --no-api --config-file "$T/good.json" --id "$(printf 'a%.0s' $(seq 65))"
expect "invalid --level" 153 "invalid --level" "$EMBER" --no-api --config-file "$T/good.json" --level loud
expect "--no-api with --api-sock" 153 "exclude each other" "$EMBER" --no-api --api-sock "$T/s" --config-file "$T/good.json"
expect "payload size not a number" 153 "invalid --http-api-max-payload-size" "$EMBER" --http-api-max-payload-size 12k
expect "payload size zero" 153 "invalid --http-api-max-payload-size" "$EMBER" --http-api-max-payload-size 0
expect "API socket in a missing directory" 1 "cannot serve the API" "$EMBER" --api-sock "$T/no/such/dir/api.sock"
expect "stray argument" 153 "unexpected argument" "$EMBER" --no-api --config-file "$T/good.json" extra

# --- configuration (152, one line) ---
bad_config() { # NAME REGEX FILE
	expect "$1" 152 "$2" "$EMBER" --no-api --config-file "$3"
	[ "$(wc -l <"$T/err")" -eq 1 ] && ok "$1: one-line reason" || nok "$1: reason is not one line"
}
bad_config "missing config file" "No such file" "$T/none.json"
printf '{"boot-source": {' >"$T/trunc.json"
bad_config "malformed JSON" "Invalid JSON" "$T/trunc.json"
echo '[1,2]' >"$T/array.json"
bad_config "top level not an object" "invalid type" "$T/array.json"
echo '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}' >"$T/noboot.json"
bad_config "no boot-source" "boot-source" "$T/noboot.json"
cfg "$T/f.json" '{"kernel_image_path": "'$GUEST'", "bogus": 1}'
bad_config "unknown boot-source field" "unknown field .bogus." "$T/f.json"
cfg "$T/f.json" '{"kernel_image_path": "/nonexistent/vmlinux"}'
bad_config "kernel not found" "kernel file cannot be opened" "$T/f.json"
cfg "$T/f.json" '{"kernel_image_path": 42}'
bad_config "kernel path wrong type" "invalid type" "$T/f.json"
for m in '{"vcpu_count": 0, "mem_size_mib": 128}' '{"vcpu_count": 33, "mem_size_mib": 128}' \
	 '{"vcpu_count": 3, "mem_size_mib": 128, "smt": true}'; do
	cfg "$T/f.json" "$good" "$m"
	bad_config "machine-config $m" "number of vCPUs" "$T/f.json"
done
cfg "$T/f.json" "$good" '{"vcpu_count": 1, "mem_size_mib": 0}'
bad_config "zero memory" "memory size" "$T/f.json"
cfg "$T/f.json" "$good" '{"vcpu_count": 1, "mem_size_mib": 128, "turbo": true}'
bad_config "unknown machine-config field" "unknown field .turbo." "$T/f.json"
cfg "$T/f.json" "$good" '{"vcpu_count": "2", "mem_size_mib": 128}'
bad_config "vcpu_count as a string" "invalid type" "$T/f.json"

# --- kernel images the loader must refuse (152, VM never runs) ---
head -c 4096 /dev/urandom >"$T/garbage"
cfg "$T/f.json" '{"kernel_image_path": "'$T/garbage'"}'
expect "garbage kernel" 152 "invalid kernel image" "$EMBER" --no-api --config-file "$T/f.json"
head -c 100 "$GUEST" >"$T/trunc.elf"
cfg "$T/f.json" '{"kernel_image_path": "'$T/trunc.elf'"}'
expect "truncated ELF" 152 "invalid kernel image" "$EMBER" --no-api --config-file "$T/f.json"
cfg "$T/f.json" "$good" '{"vcpu_count": 1, "mem_size_mib": 1}'
expect "kernel does not fit in 1 MiB of RAM" 152 "invalid kernel image|memory" "$EMBER" --no-api --config-file "$T/f.json"
cfg "$T/f.json" '{"kernel_image_path": "'$GUEST'", "boot_args": "'"$(printf 'x%.0s' $(seq 2100))"'"}'
expect "command line over 2048 bytes" 152 "too long|command line" "$EMBER" --no-api --config-file "$T/f.json"

# --- KVM bring-up (exit 1, one line naming the problem) ---
if [ ! -c /dev/kvm ]; then
	skipped "KVM error paths: no /dev/kvm on this host"
else
	if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
		expect "no /dev/kvm" 1 "/dev/kvm does not exist" \
			unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" --no-api --config-file "$1"' \
			"$EMBER" "$T/good.json"
	else
		skipped "no /dev/kvm: cannot make a mount namespace here"
	fi
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ "$(stat -c %a /dev/kvm)" = 600 ]; then
		cp "$GUEST" "$T/hello.elf"; chmod 644 "$T/hello.elf"
		cfg "$T/nobody.json" '{"kernel_image_path": "'$T/hello.elf'"}'; chmod 644 "$T/nobody.json"
		expect "no permission on /dev/kvm" 1 "no permission to open /dev/kvm" \
			setpriv --reuid=65534 --regid=65534 --clear-groups "$EMBER" --no-api --config-file "$T/nobody.json"
	else
		skipped "no permission on /dev/kvm: needs root, setpriv and a 0600 /dev/kvm"
	fi
	expect "wrong KVM API version" 1 "unsupported KVM API version 11" \
		env LD_PRELOAD="$SHIM" KVMFAULT_API_VERSION=11 "$EMBER" --no-api --config-file "$T/good.json"
	expect "missing KVM capability" 1 "missing a required capability: KVM_CAP_IRQFD" \
		env LD_PRELOAD="$SHIM" KVMFAULT_NO_CAP=32 "$EMBER" --no-api --config-file "$T/good.json"
fi

echo "cli: $pass passed, $fail failed${skip:+, $skip skipped}"
[ "$fail" -eq 0 ]
