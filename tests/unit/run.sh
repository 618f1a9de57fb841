#!/bin/sh
# Runs each cmocka binary and prints one "N passed, N failed" summary line.
pass=0; fail=0; bad=""
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -o '\[  PASSED  \] [0-9]*' | grep -o '[0-9]*$' | tail -n1)
	f=$(printf '%s\n' "$out" | grep -o '\[  FAILED  \] [0-9]* test' | grep -o '[0-9]*' | tail -n1)
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
	if [ $rc -ne 0 ] && [ -z "$f" ]; then fail=$((fail + 1)); bad="$bad $t"; fi
done
[ -n "$bad" ] && echo "crashed:$bad"
echo "unit: $pass passed, $fail failed"
[ $fail -eq 0 ]
