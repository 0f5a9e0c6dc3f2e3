#!/usr/bin/env bash
# Graceful restart with N sessions (issue 14, docs/persist.md), over memif, one emse worker:
#   1. emse-bench establishes N sessions (CCM-8) and forgets them (--hold), writing each one's
#      flow and keys to a file (--hold-file);
#   2. emse gets SIGTERM with [persist] file set: it saves the N sessions (time and file size from
#      its log) and exits 0;
#   3. emse starts again with the same settings and restores them (time from its log);
#   4. a fresh emse-bench continues every saved session (--resume-file): one record each, echoed,
#      and emse counts no handshake;
#   with WRONG_KEY=1 also:
#   5. SIGTERM (saved again), emse started with another persist key: the file is refused
#      (persist_files_refused{bad_tag_or_key}), emse runs with no session; the held sessions'
#      records go unanswered; a new generator run re-handshakes N sessions.
#   bench/run-persist.sh [N]           (N default 1000000; e.g. 10000 for tests/e2e)
#
#   bench/run-persist.sh resume [SECONDS]   (10)
# Session resumption against full handshakes, in the same emse (resume_max = 65536, UES = 1000):
# emse-bench for SECONDS with full handshakes only, then SECONDS with --resume (each UE resumes
# its last full handshake's session); for each phase emse's handshakes per busy core-second
# (hs_completed / busy_ns deltas) and the resumed share. Writes $OUT/resume.md.
# Env: C (generator concurrency, 128), UES (population, 10000), ADDRS (min(N, 65536)), EMSE_MB
#   (512 + N/1000), EMSE_LCORES (0-1), GEN_LCORE (0), OUT (build/bench), WRONG_KEY (0), KEEP=1.
# Prints key=value lines (save_us, load_us, file_bytes, bytes_per_session, resumed_echoed,
# hs_after_restart, ...) and a table in $OUT/persist-N.md. Exit 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=full
if [ "${1:-}" = resume ]; then
	MODE=resume
	SECS=${2:-10}
	set -- 1000
	UES=${UES:-1000}
fi
N=${1:-1000000}
C=${C:-128}
UES=${UES:-10000}
[ "$UES" -gt "$N" ] && UES=$N
ADDRS=${ADDRS:-$(( N < 65536 ? N : 65536 ))}
EMSE_MB=${EMSE_MB:-$(( 512 + N / 1000 ))}
OUT=${OUT:-build/bench}
PE=emse-pers-srv$$
PG=emse-pers-gen$$
SOCK=/tmp/emse-pers-$$.memif
PROM=$(( 20000 + $$ % 20000 ))
# The generator's MAC is the same in every run: a restored session answers the MAC it saved (the
# next hop's, in a deployment), so a generator with a new MAC would not see its echoes.
GEN_MAC=02:00:00:00:14:02
TMP=$(mktemp -d)
mkdir -p "$OUT"
KEYS=$OUT/keys-$UES.txt
[ -s "$KEYS" ] || build/emse-bench -- --synthetic "$UES" --seed 1 --emse-id emse-1 --dump-keys "$KEYS" >/dev/null
head -c 32 /dev/urandom >"$TMP/persist.key"
head -c 32 /dev/urandom >"$TMP/other.key"

conf() { # $1 = persist key file
	cat <<EOF
[emse]
${EMSE_EXTRA:-}
max_sessions = $(( N + 4096 ))
half_open_max = 1024
idle_timeout_s = 86400
handshake_timeout_ms = 10000
suites = ccm8
max_sessions_per_source = 1024
[port]
address = 198.18.0.1
[listener v4]
address = 198.18.0.1
port = 5684
emse_id = emse-1
[keys]
source = file
file = $KEYS
cache_capacity = $(( UES < 65536 ? 65536 : UES ))
[persist]
file = $TMP/sessions.bin
key_file = $1
max_age_s = 3600
[telemetry]
prometheus = 127.0.0.1:$PROM
EOF
}

tel() { # socket command: one counter or the whole dict
	python3 - "/var/run/dpdk/$PE/dpdk_telemetry.v2" "$1" "${2:-}" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(sys.argv[2].encode())
d = list(json.loads(s.recv(1 << 20)).values())[0]
print(d.get(sys.argv[3], 0) if sys.argv[3] else json.dumps(d))
EOF
}

EMSE_PID=
stop_emse() {
	[ -n "$EMSE_PID" ] || return 0
	kill -TERM "$EMSE_PID" 2>/dev/null || true
	local rc=0
	wait "$EMSE_PID" || rc=$?
	EMSE_PID=
	return $rc
}
cleanup() {
	stop_emse || true
	[ "${KEEP:-0}" = 1 ] && cp "$TMP"/emse*.log "$OUT/" 2>/dev/null
	rm -rf "$TMP" "$SOCK" "/var/run/dpdk/$PE" "/var/run/dpdk/$PG"
}
trap cleanup EXIT

start_emse() { # $1 = config, $2 = log
	rm -f "$SOCK"
	build/emse -l "${EMSE_LCORES:-0-1}" --no-huge --no-pci -m "$EMSE_MB" --file-prefix "$PE" \
		--log-level=lib.eal:error \
		--vdev "net_memif0,role=server,socket=$SOCK,socket-abstract=no" \
		-- --config "$1" >"$2" 2>&1 &
	EMSE_PID=$!
	for _ in $(seq 600); do
		grep -q "emse: running" "$2" && return 0
		kill -0 "$EMSE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "emse did not start:" >&2; cat "$2" >&2; exit 1
}

gen() { # json, extra options...
	local json=$1; shift
	build/emse-bench -l "${GEN_LCORE:-0}" --no-huge --no-pci -m 256 --file-prefix "$PG" \
		--log-level=lib.eal:error \
		--vdev "net_memif0,role=client,socket=$SOCK,socket-abstract=no,mac=$GEN_MAC" \
		-- --server-port 5684 --keys "$KEYS" --emse-id emse-1 --suite ccm8 \
		--concurrency "$C" --ue-addrs "$ADDRS" --duration 36000 --progress 0 --json "$json" \
		--server-telemetry "/var/run/dpdk/$PE/dpdk_telemetry.v2" \
		"$@" >"$TMP/gen.out" 2>&1 || true
}
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2"; }

FAILS=0
check() { # description, condition...
	local d=$1; shift
	if "$@"; then echo "ok: $d"; else echo "FAIL: $d"; FAILS=$((FAILS + 1)); fi
}

if [ "$MODE" = resume ]; then
	EMSE_EXTRA="resume_max = 65536" conf "$TMP/persist.key" >"$TMP/emse.conf"
	start_emse "$TMP/emse.conf" "$TMP/emse1.log"
	tel /emse/stats >"$TMP/t0.json"
	gen "$OUT/resume-full.json" --duration "$SECS"
	tel /emse/stats >"$TMP/t1.json"
	gen "$OUT/resume-resumed.json" --duration "$SECS" --resume
	tel /emse/stats >"$TMP/t2.json"
	check "SIGTERM: emse exits 0" stop_emse
	python3 - "$TMP/t0.json" "$TMP/t1.json" "$TMP/t2.json" "$OUT/resume.md" <<'PY'
import json, sys
t = [json.load(open(f)) for f in sys.argv[1:4]]
def phase(a, b):
    d = {k: b[k] - a.get(k, 0) for k in b if isinstance(b[k], (int, float))}
    busy = d["busy_ns"] / 1e9
    return d["hs_completed"], d.get("resume_accepted", 0), d.get("key_hits", 0), busy
rows = []
for name, (a, b) in (("full handshakes only", (t[0], t[1])), ("with --resume", (t[1], t[2]))):
    hs, res, keys, busy = phase(a, b)
    rows.append(f"| {name} | {hs} | {res} | {keys} | {busy:.2f} | **{hs / busy:.0f}** |")
md = ("| emse, 1 worker, CCM-8 | handshakes | of them resumed | key lookups | busy s | handshakes per busy core-second |\n"
      "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
print(md)
open(sys.argv[4], "w").write(md)
PY
	[ "$FAILS" -eq 0 ]
	exit
fi

conf "$TMP/persist.key" >"$TMP/emse.conf"
start_emse "$TMP/emse.conf" "$TMP/emse1.log"
gen "$TMP/hold.json" --hold --hold-file "$TMP/held.bin" --max-handshakes "$N"
HELD=$(jget "$TMP/hold.json" handshakes)
echo "held_sessions=$HELD"
check "emse-bench established $N sessions" [ "$HELD" -eq "$N" ] || tail -20 "$TMP/gen.out"
check "emse-bench left with emse off its port (/emse/port/pause, then resume)" \
	grep -q "port [0-9]* resumed (telemetry" "$TMP/emse1.log"
check "SIGTERM: emse exits 0" stop_emse
read -r SAVED FILE_BYTES SAVE_US < <(sed -n \
	's/^emse: persist: \([0-9]*\) sessions saved to .* (\([0-9]*\) bytes, \([0-9]*\) us)$/\1 \2 \3/p' \
	"$TMP/emse1.log")
echo "saved=$SAVED file_bytes=$FILE_BYTES save_us=$SAVE_US bytes_per_session=$(( FILE_BYTES / (SAVED > 0 ? SAVED : 1) ))"
check "all $N sessions saved" [ "${SAVED:-0}" -eq "$N" ]

start_emse "$TMP/emse.conf" "$TMP/emse2.log"
read -r RESTORED LOAD_US < <(sed -n \
	's/^emse: persist: \([0-9]*\) sessions restored from .* (\([0-9]*\) us)$/\1 \2/p' "$TMP/emse2.log")
echo "restored=$RESTORED load_us=$LOAD_US"
check "all $N sessions restored" [ "${RESTORED:-0}" -eq "$N" ]
gen "$TMP/resume.json" --resume-file "$TMP/held.bin" --blast --datagrams 1 --hold
ECHOED=$(jget "$TMP/resume.json" dgram_echoed)
HS=$(tel /emse/stats hs_completed)
echo "resumed_echoed=$ECHOED hs_after_restart=$HS"
check "every restored session's record echoed" [ "$ECHOED" -eq "$N" ] || tail -20 "$TMP/gen.out"
check "no handshake after the restart" [ "$HS" -eq 0 ]

if [ "${WRONG_KEY:-0}" = 1 ]; then
	check "SIGTERM again: exit 0" stop_emse
	conf "$TMP/other.key" >"$TMP/wrong.conf"
	start_emse "$TMP/wrong.conf" "$TMP/emse3.log"
	check "wrong key: refused with a message" grep -q "refused (bad_tag_or_key)" "$TMP/emse3.log"
	# labelled counters: Prometheus (DPDK telemetry refuses '.' in dict keys)
	REFUSED=$(curl -sf "http://127.0.0.1:$PROM/metrics" |
		awk '/^emse_persist_files_refused_total\{reason="bad_tag_or_key"\}/ { print $2 }')
	check "wrong key: counted" [ "$REFUSED" -eq 1 ]
	check "wrong key: emse holds no session" [ "$(tel /emse/stats established)" -eq 0 ]
	gen "$TMP/resume2.json" --resume-file "$TMP/held.bin" --blast --datagrams 1 --hold \
		--dgram-timeout 0.5
	ECHOED2=$(jget "$TMP/resume2.json" dgram_echoed)
	echo "wrong_key_echoed=$ECHOED2"
	check "wrong key: no held session is answered" [ "$ECHOED2" -eq 0 ]
	gen "$TMP/again.json" --max-handshakes "$N" --hold
	HS2=$(tel /emse/stats hs_completed)
	echo "wrong_key_rehandshakes=$HS2"
	check "wrong key: the $N sessions handshake again" [ "$HS2" -eq "$N" ]
fi
check "SIGTERM: emse exits 0" stop_emse

cat >"$OUT/persist-$N.md" <<EOF
| graceful restart, N = $N (CCM-8, one worker) | |
|---|---|
| sessions saved / restored / echoed after the restart | $SAVED / $RESTORED / $ECHOED |
| handshakes after the restart | $HS |
| save at SIGTERM (collect + seal + write + fsync + rename) | $(( SAVE_US / 1000 )) ms |
| load at start-up (read + open + restore into the tables) | $(( LOAD_US / 1000 )) ms |
| file size, per session | $FILE_BYTES B, $(( FILE_BYTES / (SAVED > 0 ? SAVED : 1) )) B |
EOF
cat "$OUT/persist-$N.md"
[ "$FAILS" -eq 0 ]
