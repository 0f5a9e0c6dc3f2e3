#!/usr/bin/env bash
# Runs cmocka test binaries; prints each one's output and a closing 'N passed, N failed' line.
set -uo pipefail
passed=0 failed=0 bad=()
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)) failed=$((failed + f))
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
  [ $rc -ne 0 ] && bad+=("$t")
done
[ ${#bad[@]} -gt 0 ] && echo "failing binaries: ${bad[*]}"
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ ${#bad[@]} -eq 0 ]
