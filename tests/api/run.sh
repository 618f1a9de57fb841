#!/bin/sh
# API tier: hostile clients, swagger conformance and network interfaces
# (TAP, ember-switch) against a real build/ember
# (each starts its own ember on a temp socket). Prints each script's check
# lines and its "N passed, N failed" line, then one "api: N passed, N failed"
# line; exits 1 on any failure. EMBER=path overrides the binary.
cd "$(dirname "$0")/../.." || exit 1
if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
	echo "api: python3-yaml and python3-jsonschema are missing (make deps)"
	echo "api: 0 passed, 1 failed"
	exit 1
fi
pass=0; fail=0
for t in hostile conformance net; do
	out=$(python3 "tests/api/$t.py" 2>&1); rc=$?
	printf '%s\n' "$out"
	last=$(printf '%s\n' "$out" | grep -E "^$t: [0-9]+ passed, [0-9]+ failed" | tail -n1)
	p=$(printf '%s\n' "$last" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
	f=$(printf '%s\n' "$last" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
	# a crash or a non-zero exit without a failed check still fails the tier
	if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then fail=$((fail + 1)); fi
done
echo "api: $pass passed, $fail failed"
[ $fail -eq 0 ]
