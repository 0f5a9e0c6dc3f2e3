#!/usr/bin/env bash
# make ct: runs tests/ct/ct_check under Valgrind memcheck. Passes when the checks run with no
# report at all (a report is a branch or an address that depends on a secret) and the negative
# control (a variable-time compare) is reported: a harness that cannot see it proves nothing.
set -uo pipefail
bin=${1:?usage: run.sh build/ct/ct_check}
vg=(valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes --num-callers=30 -q)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

"${vg[@]}" "$bin" >"$log" 2>&1
rc=$?
cat "$log"
if [ $rc -ne 0 ] || grep -q '^==[0-9]*==' "$log"; then
  echo "ct: FAILED: memcheck reported secret-dependent code above (exit $rc)"
  exit 1
fi

"${vg[@]}" "$bin" negative >"$log" 2>&1
nrc=$?
if [ $nrc -ne 99 ] || ! grep -q 'leaky_compare' "$log"; then
  cat "$log"
  echo "ct: FAILED: the negative control (an early-exit compare of a secret) was not reported"
  exit 1
fi
echo "ct: negative control reported as it must be: $(grep -m1 -o 'Conditional jump[^(]*' "$log") in leaky_compare"
echo "ct: clean: no secret-dependent branch or address in the checked code"
