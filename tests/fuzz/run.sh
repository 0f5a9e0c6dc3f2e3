#!/usr/bin/env bash
# Runs libFuzzer harnesses for a fixed time each and fails if any of them finds a crash.
#   tests/fuzz/run.sh SECONDS build/fuzz/fuzz_net [build/fuzz/fuzz_...]
# Seeds come from tests/fuzz/corpus/<name>/ (kept in git, read-only here); what a run discovers
# goes to build/fuzz/corpus/<name>/ and is reused by the next run. A crashing input is saved as
# build/fuzz/artifacts/<name>-crash-* and its reproducer command printed.
set -uo pipefail
secs=${1:?usage: run.sh SECONDS harness...}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$root/build/fuzz}
failed=()
for bin in "$@"; do
  name=$(basename "$bin"); name=${name#fuzz_}
  work=$out/corpus/$name seeds=$root/tests/fuzz/corpus/$name log=$out/logs/$name.log
  mkdir -p "$work" "$out/artifacts" "$out/logs"
  dirs=("$work"); [ -d "$seeds" ] && dirs+=("$seeds")
  # one process, one job: the machine is shared; -timeout catches hangs, rss_limit blow-ups
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
    "${dirs[@]}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} runs; log $log"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20
    for a in "$out/artifacts/$name-"*; do
      [ -e "$a" ] && echo "  reproduce: $bin $a"
    done
  else
    echo "fuzz $name: ok, ${execs:-?} runs in ${secs}s, ${cov:-cov ?}, corpus $(ls "$work" | wc -l) + $(ls "$seeds" 2>/dev/null | wc -l) seeds"
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: crashes in: ${failed[*]}"; exit 1; }
