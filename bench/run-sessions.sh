#!/usr/bin/env bash
# Memory per established idle session (issue 6): emse with one worker holds N established compact
# sessions (CCM-8) that the generator opened and then forgot (emse-bench --hold: no close_notify);
# emse's VmRSS is read before and after.
#   bench/run-sessions.sh [N]          (N default 1000000; e.g. 100000 for a quick run)
# Environment: PER_SOURCE (emse max_sessions_per_source, 1024; 0 turns the per-address table off),
# C (generator concurrency, 128; emse half_open_max is 1024 in both runs), UES (population, 10000: sessions reuse identities,
#   each on its own (address, port)), ADDRS (UE addresses, min(N, 65536), from 198.19.0.0),
#   EMSE_MB (emse -m, 512 + N/1000), EMSE_LCORES (0-1: one worker), GEN_LCORE (0),
#   BASELINE (1: also start emse with max_sessions = 1024 to see what the tables sized for N
#   cost), OUT (build/bench), KEEP=1 keeps emse's log, GEN_ARGS (more emse-bench options).
#   LISTENER_EXTRA (lines for the [listener] section, e.g. "cid = on": docs/cid.md).
# Prints a table and writes $OUT/sessions-N.md and $OUT/sessions-N.json.
# Needs root (DPDK without hugepages), build/emse, build/emse-bench, python3; gdb optional (sizeof).
#
#   bench/run-sessions.sh records [SUITE] [SECONDS]   (SUITE gcm (default) or ccm8, SECONDS 10)
# Established-session record rate: 16 compact sessions (emse `suites = SUITE`) each sent 100-byte
# records without end by emse-bench --blast (window 32), echoed by emse; the rate is emse's own
# count, rec_opened per busy second of its worker (busy_ns, as a delta over the run), compared
# with bench-record's floor (seal + open of one record with its keys in the key cache), run before
# and after: a host that slows this VM mid-run shows as a slower floor (no steal time is reported).
# Writes $OUT/records-SUITE.json (the generator's) and $OUT/records-SUITE.md. Also needs
# build/bench-record.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = records ]; then
	SUITE=${2:-gcm}
	SECS=${3:-10}
	OUT=${OUT:-build/bench}
	mkdir -p "$OUT"
	floor() {
		build/bench-record 200000 | awk -v s="$SUITE" '
		(s == "gcm" && /^PSK-AES128-GCM/) || (s == "ccm8" && /^PSK-AES128-CCM-8/) {
			# "key cache seal S open O": the AEAD as the worker runs it, keys expanded
			for (i = 1; i + 4 <= NF; i++)
				if ($i == "cache" && $(i + 1) == "seal" && sl == "") {
					sl = $(i + 2)
					op = $(i + 4)
				}
			print sl, op
		}'
	}
	# The floor before and after the run: this VM reports no steal time, so a host that slows the
	# machine mid-run shows only as a slower floor (and a slower emse).
	FLOOR=$(floor)
	# shellcheck disable=SC2086
	EMSE_EXTRA="suites = $SUITE" bench/run-memif.sh --suite "$SUITE" --duration "$SECS" --warmup 2 \
		--concurrency 16 --datagrams 100000000 --window 32 --size 100 --blast --drain 0.5 \
		--label "records-$SUITE" --json "$OUT/records-$SUITE.json" ${GEN_ARGS:-} >&2
	FLOOR_AFTER=$(floor)
	# shellcheck disable=SC2086
	python3 - "$OUT/records-$SUITE.json" "$SUITE" $FLOOR $FLOOR_AFTER <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
suite, seal, opn = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
after = float(sys.argv[5]) + float(sys.argv[6])
def flat(x):
    v = list(x.values())
    return v[0] if len(v) == 1 and isinstance(v[0], dict) else x
b, a = flat(j["server_telemetry_before"]), flat(j["server_telemetry_after"])
d = {k: a[k] - b.get(k, 0) for k in a if isinstance(a[k], (int, float))}
# busy_ns: the worker's CPU time minus its idle polls (emse_busy_ns); older emse: cycle share
busy_s = (d["busy_ns"] / 1e9 if d.get("busy_ns") else
          d["cpu_ns"] / 1e9 * d["busy_cycles"] / d["total_cycles"])
rate = d["rec_opened"] / busy_s
floor = 1e9 / (seal + opn)
# the transport's share (memif copies across cores: varies with where the host puts the vCPUs)
hz = a.get("tsc_hz") or 0
port = [d.get(k, 0) / hz * 1e9 / d["rec_opened"] if hz else float("nan")
        for k in ("port_rx_cycles", "port_tx_cycles")]
rows = [
    ("records opened / sealed by emse (whole run)", f"{d['rec_opened']} / {d['rec_sealed']}"),
    ("record drops", str(sum(v for k, v in d.items() if k.startswith("record_drop")))),
    ("emse worker CPU, of it busy (CPU minus idle polls)",
     f"{d['cpu_ns'] / 1e9:.2f} s, {busy_s:.2f} s"),
    ("round trips/s seen by the generator (wall clock)", f"{j['dgram_echoed'] / j['seconds']:.0f}"),
    ("generator busy / CPU share", f"{100 * j['generator_busy']:.0f} % / {100 * j['generator_cpu_share']:.0f} %"),
    ("**records per busy worker core-second** (rec_opened / busy s)", f"**{rate:.0f}** ({1e9 / rate:.0f} ns a record)"),
    ("of a record's busy time: port rx + port tx (memif), emse's own",
     f"{port[0]:.0f} + {port[1]:.0f} ns, {1e9 / rate - port[0] - port[1]:.0f} ns"),
    ("floor: bench-record seal + open, CPU ns", f"{seal:.0f} + {opn:.0f} = {seal + opn:.0f} ns ({floor:.0f}/s)"),
    ("the same floor after the run (a host slowing this VM shows here)", f"{after:.0f} ns"),
    ("**emse / floor**", f"**{rate / floor:.2f}**"),
]
md = f"| {suite}, 100-byte records, 16 sessions x window 32 | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
print(md)
open(sys.argv[1].replace(".json", ".md"), "w").write(md)
PY
	exit 0
fi
N=${1:-1000000}
C=${C:-128}
UES=${UES:-10000}
[ "$UES" -gt "$N" ] && UES=$N
ADDRS=${ADDRS:-$(( N < 65536 ? N : 65536 ))}
EMSE_MB=${EMSE_MB:-$(( 512 + N / 1000 ))}
OUT=${OUT:-build/bench}
MAXS=$(( N + 4096 ))
PE=emse-sess-srv$$
PG=emse-sess-gen$$
SOCK=/tmp/emse-sess-$$.memif
TMP=$(mktemp -d)
mkdir -p "$OUT"
KEYS=$OUT/keys-$UES.txt
[ -s "$KEYS" ] || build/emse-bench -- --synthetic "$UES" --seed 1 --emse-id emse-1 --dump-keys "$KEYS"

conf() { # $1 = max_sessions
	cat <<EOF
[emse]
max_sessions = $1
half_open_max = 1024
idle_timeout_s = 86400
handshake_timeout_ms = 10000
suites = ccm8
max_sessions_per_source = ${PER_SOURCE:-1024}
[port]
address = 198.18.0.1
[listener v4]
address = 198.18.0.1
port = 5684
emse_id = emse-1
${LISTENER_EXTRA:-}
[keys]
source = file
file = $KEYS
cache_capacity = $(( UES < 65536 ? 65536 : UES ))
EOF
}

# DPDK telemetry: one command, its JSON answer on stdout.
tel() {
	python3 - "$1" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(sys.argv[2].encode())
print(json.dumps(json.loads(s.recv(1 << 20))))
EOF
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
heap_alloc() { # bytes allocated from DPDK's heap 0
	tel "/var/run/dpdk/$1/dpdk_telemetry.v2" "/eal/heap_info,0" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(list(d.values())[0]["Alloc_size"])'
}

EMSE_PID=
stop_emse() {
	if [ -n "$EMSE_PID" ]; then
		kill -TERM "$EMSE_PID" 2>/dev/null || true
		wait "$EMSE_PID" 2>/dev/null || true
		EMSE_PID=
	fi
}
cleanup() {
	stop_emse
	[ "${KEEP:-0}" = 1 ] && cp "$TMP/emse.log" "$OUT/emse-sessions.log" 2>/dev/null
	rm -rf "$TMP" "$SOCK" "/var/run/dpdk/$PE" "/var/run/dpdk/$PE-base" "/var/run/dpdk/$PG"
}
trap cleanup EXIT

start_emse() { # $1 = file prefix, $2 = config
	build/emse -l "${EMSE_LCORES:-0-1}" --no-huge --no-pci -m "$EMSE_MB" --file-prefix "$1" \
		--log-level=lib.eal:error \
		--vdev "net_memif0,role=server,socket=$SOCK,socket-abstract=no" \
		-- --config "$2" >"$TMP/emse.log" 2>&1 &
	EMSE_PID=$!
	for _ in $(seq 600); do
		grep -q "emse: running" "$TMP/emse.log" && break
		kill -0 "$EMSE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "emse: running" "$TMP/emse.log"; then
		echo "emse did not start:" >&2; cat "$TMP/emse.log" >&2; exit 1
	fi
	sleep 1
}

BASE_RSS=0 BASE_HEAP=0
if [ "${BASELINE:-1}" = 1 ]; then
	conf 1024 >"$TMP/base.conf"
	start_emse "$PE-base" "$TMP/base.conf"
	BASE_RSS=$(rss_kb "$EMSE_PID")
	BASE_HEAP=$(heap_alloc "$PE-base")
	stop_emse
	rm -f "$SOCK"
fi

conf "$MAXS" >"$TMP/emse.conf"
T0=$(date +%s)
start_emse "$PE" "$TMP/emse.conf"
START_S=$(( $(date +%s) - T0 ))
TELS=/var/run/dpdk/$PE/dpdk_telemetry.v2
RSS0=$(rss_kb "$EMSE_PID")
HEAP0=$(heap_alloc "$PE")
tel "$TELS" /emse/stats >"$TMP/stats0.json"
echo "emse: max_sessions $MAXS, -m $EMSE_MB, VmRSS $RSS0 kB after start-up ($START_S s)" >&2

T1=$(date +%s)
# shellcheck disable=SC2086
build/emse-bench -l "${GEN_LCORE:-0}" --no-huge --no-pci -m 256 --file-prefix "$PG" \
	--log-level=lib.eal:error \
	--vdev "net_memif0,role=client,socket=$SOCK,socket-abstract=no" \
	-- --server-port 5684 --keys "$KEYS" --emse-id emse-1 --suite ccm8 \
	--hold --max-handshakes "$N" --concurrency "$C" --ue-addrs "$ADDRS" \
	--duration 36000 --progress 10 --json "$OUT/sessions-$N-gen.json" \
	--server-telemetry "$TELS" ${GEN_ARGS:-} >"$TMP/gen.out" || true
GEN_S=$(( $(date +%s) - T1 ))
sleep 2 # handshakes the generator gave up on time out at emse; nothing else moves
RSS1=$(rss_kb "$EMSE_PID")
HEAP1=$(heap_alloc "$PE")
tel "$TELS" /emse/stats >"$TMP/stats1.json"
cat "$TMP/gen.out" >&2

# shellcheck disable=SC2016
SIZEOF=$(gdb -batch -ex 'print sizeof(struct emse_session)' build/emse 2>/dev/null | sed -n 's/^\$1 = //p')
python3 - "$N" "$MAXS" "$RSS0" "$RSS1" "$BASE_RSS" "$HEAP0" "$HEAP1" "$BASE_HEAP" \
	"${SIZEOF:-0}" "$GEN_S" "$TMP/stats0.json" "$TMP/stats1.json" "$OUT/sessions-$N" <<'EOF'
import json, sys
a = sys.argv[1:]
n, maxs, rss0, rss1, brss, h0, h1, bh, sz, gen_s = (int(x) for x in a[:10])
s0 = list(json.load(open(a[10])).values())[0]
s1 = list(json.load(open(a[11])).values())[0]
out = a[12]
est = s1["established"]
per = lambda b, k: b / k if k else float("nan")
rows = [
    ("sessions held (emse `established`)", f"{est}"),
    ("emse `sessions` / `compacted` / `kept_on_wolfssl`", f"{s1['sessions']} / {s1['compacted'] - s0['compacted']} / {s1['kept_on_wolfssl'] - s0['kept_on_wolfssl']}"),
    ("handshakes completed / failed (emse)", f"{s1['hs_completed'] - s0['hs_completed']} / " +
     str(sum(v - s0.get(k, 0) for k, v in s1.items() if k.startswith('hs_failed.')))),
    ("time to establish", f"{gen_s} s ({per(est, gen_s):.0f} sessions/s)"),
    ("VmRSS after start-up, max_sessions = %d" % maxs, f"{rss0 / 1024:.1f} MiB"),
    ("VmRSS with the sessions", f"{rss1 / 1024:.1f} MiB"),
    ("**RSS growth per established session**", f"**{per((rss1 - rss0) * 1024, est):.0f} B**"),
]
if brss:
    rows += [
        ("VmRSS after start-up, max_sessions = 1024", f"{brss / 1024:.1f} MiB"),
        ("tables sized for max_sessions (RSS at start-up) per slot", f"{per((rss0 - brss) * 1024, maxs - 1024):.0f} B"),
        ("DPDK heap allocated for them per slot", f"{per(h0 - bh, maxs - 1024):.0f} B"),
        ("**RSS per session, tables included** ((RSS with sessions - RSS at max_sessions 1024) / sessions)",
         f"**{per((rss1 - brss) * 1024, est):.0f} B**"),
    ]
if sz:
    rows.append(("sizeof(struct emse_session)", f"{sz} B"))
    if brss:
        rows.append(("rest of the heap per slot: free stack (4 B) + the two rte_hash tables (session, per source)",
                     f"{per(h0 - bh, maxs - 1024) - sz:.0f} B"))
rows.append(("DPDK heap growth while establishing", f"{(h1 - h0) / 1048576:.1f} MiB"))
md = "| N = %d | |\n|---|---|\n" % n + "".join(f"| {k} | {v} |\n" for k, v in rows)
print(md)
open(out + ".md", "w").write(md)
json.dump({"n": n, "max_sessions": maxs, "rss_kb_start": rss0, "rss_kb_held": rss1,
           "rss_kb_baseline_1024": brss, "heap_start": h0, "heap_held": h1, "heap_baseline": bh,
           "sizeof_emse_session": sz, "establish_s": gen_s, "stats_start": s0, "stats_held": s1},
          open(out + ".json", "w"), indent=1)
EOF
