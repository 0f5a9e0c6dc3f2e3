#!/usr/bin/env bash
# Handshake rate and latency against concurrency: one closed-loop run per concurrency, then
# build/bench/<name>-rate.png (rate and p99 against concurrency) and <name>-cdf.png (latency CDFs).
#   bench/run-sweep.sh [emse-bench options]
# Environment: TRANSPORT memif (emse, default) | tap (kernel-socket peer; PEER=wolfssl|coap),
#   CONCS ("1 4 16 64 256"), DURATION (3), WARMUP (0.5), NAME (sweep-$TRANSPORT), OUT (build/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
TRANSPORT=${TRANSPORT:-memif}
CONCS=${CONCS:-1 4 16 64 256}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-0.5}
OUT=${OUT:-build/bench}
NAME=${NAME:-sweep-$TRANSPORT}
mkdir -p "$OUT"
DAT=$OUT/$NAME.dat
echo "# concurrency hs_per_s p50_us p90_us p99_us p999_us failures retransmits server_hs_per_busy_core_s generator_busy" >"$DAT"
CDFS=()
for c in $CONCS; do
	json=$OUT/$NAME-c$c.json cdf=$OUT/$NAME-c$c.cdf
	args=(--concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" --progress 0
	      --json "$json" --cdf "$cdf" --label "$NAME C=$c" "$@")
	if [ "$TRANSPORT" = tap ]; then
		bench/run-tap.sh "${PEER:-wolfssl}" -- "${args[@]}" >"$OUT/$NAME-c$c.txt" 2>&1 || true
	else
		bench/run-memif.sh "${args[@]}" >"$OUT/$NAME-c$c.txt" 2>&1 || true
	fi
	if [ ! -s "$json" ]; then
		echo "C=$c: no result, see $OUT/$NAME-c$c.txt" >&2
		continue
	fi
	jq -r --arg c "$c" '[$c, .handshakes_per_s, .handshake_latency_us.p50, .handshake_latency_us.p90,
		.handshake_latency_us.p99, .handshake_latency_us["p99.9"], .failures, .retransmissions,
		(.server_handshakes_per_busy_core_s // "NaN"), .generator_busy] | @tsv' "$json" >>"$DAT"
	CDFS+=("$c")
	tail -n 1 "$DAT"
done
column -t "$DAT"
gnuplot -e "dat='$DAT'; out='$OUT/$NAME-rate.png'; title='$NAME'" bench/plot-rate.gp
gnuplot -e "prefix='$OUT/$NAME-c'; concs='${CDFS[*]}'; out='$OUT/$NAME-cdf.png'; title='$NAME'" bench/plot-cdf.gp
echo "plots: $OUT/$NAME-rate.png $OUT/$NAME-cdf.png"
