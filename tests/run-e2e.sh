#!/usr/bin/env bash
# Runs every tests/e2e/*.sh (each needs root: namespaces, TAP ports) and prints a closing line.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0
for t in tests/e2e/*.sh; do
  [ -e "$t" ] || continue
  [ "$(basename "$t")" = lib.sh ] && continue # sourced by the tests, not a test itself
  echo "=== e2e: $t"
  if timeout 600 bash "$t"; then passed=$((passed + 1)); echo "--- PASS $t"
  else failed=$((failed + 1)); echo "--- FAIL $t"; fi
done
echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ]
