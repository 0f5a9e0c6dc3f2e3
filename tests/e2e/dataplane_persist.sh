#!/usr/bin/env bash
# Issue 14, graceful restart: an openssl s_client session started before emse's restart keeps
# echoing after it with no new handshake ([persist] file, saved at SIGTERM, loaded and removed at
# start-up); the same with a file sealed under another key: refused and counted, emse runs
# empty (exit 0) and the client's records are dropped until it handshakes again; a SIGUSR2 and a
# telemetry save write the file while emse runs; bad [persist] settings exit 2 naming the setting;
# with two workers, four s_client sessions are each restored to their flow's worker.
# Then bench/run-persist.sh with N_BENCH (10000) sessions from emse-bench over memif: saved at
# SIGTERM, restored, each continued by a fresh generator with one record echoed and no handshake;
# then a restart with another key: refused, counted, nothing answered, all N handshake again.
source "$(dirname "$0")/lib.sh"
e2e_init persist

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf 'emse-1 %s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
head -c 32 /dev/urandom > "$TMP/persist.key"
head -c 32 /dev/urandom > "$TMP/other.key"
PFILE=$TMP/sessions.bin
persist_config() { # key file
	emse_config "[keys]
source = file
file = $TMP/keys.txt
[persist]
file = $PFILE
key_file = $1
max_age_s = 600" "handshake_timeout_ms = 1500"
}
persist_config "$TMP/persist.key"
# The namespace side keeps one MAC across restarts: a restored session answers the MAC it saved
# (a gateway's, in a deployment).
UE_MAC=02:00:00:00:14:02

# Moves a new emse's TAP into the namespace that already exists (emse_start made it).
emse_restart() {
	"$EMSE_BIN" ${EMSE_LCORES:--l 0-1} --no-huge --no-pci -m 512 --file-prefix "$E2E_PREFIX" \
		--log-level=lib.eal:error --vdev "net_tap0,iface=$TAPIF" \
		-- --config "$TMP/emse.conf" > "$TMP/emse.log" 2>&1 &
	EMSE_PID=$!
	for _ in $(seq 1 100); do
		grep -q "emse: running" "$TMP/emse.log" && break
		kill -0 $EMSE_PID 2>/dev/null || break
		sleep 0.1
	done
	grep -q "emse: running" "$TMP/emse.log" || { cat "$TMP/emse.log"; return 1; }
	ip link set "$TAPIF" netns "$NS" || return 1
	tap_up
}
tap_up() {
	ip -n "$NS" link set "$TAPIF" address $UE_MAC
	ip -n "$NS" addr add 198.18.0.2/24 dev "$TAPIF" 2>/dev/null
	ip -n "$NS" addr add 2001:db8::2/64 dev "$TAPIF" nodad 2>/dev/null
	ip -n "$NS" link set "$TAPIF" up
	for _ in $(seq 1 50); do
		in_ns ping -c1 -W1 198.18.0.1 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# Bad settings first: each names the setting and exits 2.
cp "$TMP/emse.conf" "$TMP/good.conf"
bad() { # description, config text replacing the [persist] section
	sed '/^\[persist\]/,/^\[telemetry\]/{/^\[telemetry\]/!d}' "$TMP/good.conf" > "$TMP/emse.conf"
	sed -i "s|^\[telemetry\]|$2\n[telemetry]|" "$TMP/emse.conf"
	"$EMSE_BIN" -l 0-1 --no-huge --no-pci -m 256 --file-prefix "$E2E_PREFIX-bad" \
		--log-level=lib.eal:error --vdev "net_null0" -- --config "$TMP/emse.conf" \
		> "$TMP/bad.log" 2>&1
	local rc=$?
	check "$1: exit 2" [ $rc -eq 2 ]
	check "$1: names the setting" grep -q "$3" "$TMP/bad.log" || cat "$TMP/bad.log"
}
head -c 31 /dev/urandom > "$TMP/short.key"
bad "key_file missing" "[persist]\\nfile = $PFILE\\nkey_file = $TMP/nope.key" "\[persist\] key_file"
bad "key_file short" "[persist]\\nfile = $PFILE\\nkey_file = $TMP/short.key" "\[persist\] key_file"
bad "no key_file" "[persist]\\nfile = $PFILE" "\[persist\] key_file"
bad "max_age_s 0" "[persist]\\nfile = $PFILE\\nkey_file = $TMP/persist.key\\nmax_age_s = 0" \
	"\[persist\] max_age_s"
rm -rf "/var/run/dpdk/$E2E_PREFIX-bad"
cp "$TMP/good.conf" "$TMP/emse.conf"

emse_start || exit 1
tap_up || exit 1

# One s_client kept alive across the restarts, fed through a fifo.
mkfifo "$TMP/in"
in_ns openssl s_client -dtls1_2 -connect 198.18.0.1:5684 -psk_identity "$ID" -psk "$KEY" \
	-cipher PSK-AES128-GCM-SHA256 -quiet < "$TMP/in" > "$TMP/sc.out" 2> "$TMP/sc.err" &
SC_PID=$!
E2E_PIDS+=("$SC_PID")
exec 7> "$TMP/in"
say() { # line: sent, and echoed within 5 s?
	echo "$1" >&7
	for _ in $(seq 1 50); do
		grep -q "^$1\$" "$TMP/sc.out" && return 0
		sleep 0.1
	done
	return 1
}
check "s_client: handshake and echo before the restart" say "before-$RANDOM"
check "one handshake" [ "$(metric hs_completed)" -eq 1 ]

# SIGUSR2 and the telemetry command: a save while running.
kill -USR2 "$EMSE_PID"
check "SIGUSR2: the file is written" wait_metric persist_saves 1
check "SIGUSR2: one session saved" [ "$(metric persist_sessions_saved)" -eq 1 ]
check "SIGUSR2: the file exists" [ -s "$PFILE" ]
check "the file does not hold the PSK in clear" bash -c "! grep -qa '$ID' '$PFILE'"
TEL=$(tel_cmd /emse/persist/save)
check "telemetry /emse/persist/save: ok, one session" grep -q '"ok": 1, "sessions": 1' <<<"$TEL" ||
	echo "$TEL"
check "s_client still echoes after the live saves" say "live-$RANDOM"
# Labelled counters reach DPDK telemetry as "name/label" (DPDK refuses a key with a '.').
TEL=$(tel_cmd /emse/stats)
check "telemetry /emse/stats: labelled counters as name/label (hs_failed/bad_finished)" \
	grep -Eq '"hs_failed/bad_finished": [0-9]+' <<<"$TEL" || echo "$TEL" | head -c 600
# /emse/port/pause (what a leaving memif peer asks for): the workers keep off the port until
# /emse/port/resume, or until the pause expires by itself (EMSE_PORT_PAUSE_MAX_S, 10 s).
pingable() { in_ns ping -c1 -W1 198.18.0.1 >/dev/null 2>&1; }
unpingable() { ! pingable; }
# the kernel's ARP entry may have failed during a pause: a few tries to resolve it again
pingable_again() { for _ in 1 2 3 4 5; do pingable && return 0; done; return 1; }
check "/emse/port/pause: all workers stopped" grep -q '"paused": 1' <<<"$(tel_cmd /emse/port/pause)"
check "... emse no longer answers ping" unpingable
check "/emse/port/resume: lifted" grep -q '"was_paused": 1' <<<"$(tel_cmd /emse/port/resume)"
check "... emse answers ping again" pingable_again
check "a pause nobody lifts: paused" grep -q '"paused": 1' <<<"$(tel_cmd /emse/port/pause)"
expired() { grep -q "nobody lifted /emse/port/pause within 10 s" "$TMP/emse.log"; }
for _ in $(seq 1 150); do expired && break; sleep 0.1; done
check "... lifted by itself after 10 s (logged)" expired
check "... emse answers ping again" pingable_again
check "s_client echoes after the pauses" say "paused-$RANDOM"

# SIGTERM with persistence: saved after the workers stop, no close_notify to the client.
check "SIGTERM: exit 0" emse_stop
check "SIGTERM: one session saved" grep -q "1 sessions saved" "$TMP/emse.log"
cp "$PFILE" "$TMP/saved.bin"
emse_restart || exit 1
check "restart: one session restored" grep -q "1 sessions restored" "$TMP/emse.log"
check "restart: the file is removed once loaded" [ ! -e "$PFILE" ]
check "s_client echoes after the restart" say "after-$RANDOM"
check "after the restart: no handshake" [ "$(metric hs_completed)" -eq 0 ]
check "after the restart: restored counted" [ "$(metric persist_sessions_restored)" -eq 1 ]
check "s_client: still the first session (no second handshake on its side)" \
	[ "$(grep -c "^CONNECTED" "$TMP/sc.err")" -le 1 ]
check "SIGTERM again: exit 0" emse_stop

# The same file under another key: refused, counted, emse runs empty.
cp "$TMP/saved.bin" "$PFILE"
persist_config "$TMP/other.key"
emse_restart || exit 1
check "wrong key: refused with a message" grep -q "refused (bad_tag_or_key)" "$TMP/emse.log"
check "wrong key: counted" [ "$(metric persist_files_refused bad_tag_or_key)" -eq 1 ]
check "wrong key: nothing restored" [ "$(metric sessions)" -eq 0 ]
echo "refused-$RANDOM" >&7
sleep 1
check "wrong key: the old session's record is not echoed" bash -c "! grep -q '^refused-' '$TMP/sc.out'"
check "wrong key: a new client handshakes" bash -c "(echo again-x; sleep 2) | ip netns exec $NS \
	timeout 10 openssl s_client -dtls1_2 -connect 198.18.0.1:5684 -psk_identity '$ID' \
	-psk '$KEY' -cipher PSK-AES128-GCM-SHA256 -quiet 2>/dev/null | grep -q again-x"
check "wrong key: one new handshake" [ "$(metric hs_completed)" -eq 1 ]
exec 7>&-
check "SIGTERM: exit 0" emse_stop

# Two workers (sharing a core here): each of 4 s_client sessions, on its own port, is restored to
# the worker that owns its flow and echoes again.
persist_config "$TMP/persist.key"
rm -f "$PFILE"
EMSE_LCORES="--lcores 0@0,1@1,2@1"
emse_restart || exit 1
for i in 1 2 3 4; do
	mkfifo "$TMP/in$i"
	in_ns openssl s_client -dtls1_2 -connect 198.18.0.1:5684 -psk_identity "$ID" -psk "$KEY" \
		-cipher PSK-AES128-CCM8 -quiet < "$TMP/in$i" > "$TMP/sc$i.out" 2>/dev/null &
	E2E_PIDS+=("$!")
	eval "exec $((10 + i))> \"\$TMP/in$i\""
done
echoed() { # fd file line
	echo "$3" >&"$1"
	for _ in $(seq 1 50); do grep -q "^$3\$" "$2" && return 0; sleep 0.1; done
	return 1
}
n=0
for i in 1 2 3 4; do echoed $((10 + i)) "$TMP/sc$i.out" "w2-before-$i" && n=$((n + 1)); done
check "two workers: 4 sessions echo before the restart" [ $n -eq 4 ]
check "two workers: SIGTERM exit 0" emse_stop
check "two workers: 4 sessions saved" grep -q "4 sessions saved" "$TMP/emse.log"
emse_restart || exit 1
check "two workers: 4 sessions restored" grep -q "4 sessions restored" "$TMP/emse.log"
n=0
for i in 1 2 3 4; do echoed $((10 + i)) "$TMP/sc$i.out" "w2-after-$i" && n=$((n + 1)); done
check "two workers: all 4 echo after the restart" [ $n -eq 4 ]
check "two workers: no handshake after the restart" [ "$(metric hs_completed)" -eq 0 ]
echo "  sessions per worker after the restore (the flows' owners): $(curl -sf \
	"http://127.0.0.1:$PROM_PORT/metrics" | grep '^emse_established{' | tr '\n' ' ')"
for i in 1 2 3 4; do eval "exec $((10 + i))>&-"; done
check "two workers: SIGTERM exit 0" emse_stop
unset EMSE_LCORES

N_BENCH=${N_BENCH:-10000}
if [ "$N_BENCH" -gt 0 ]; then
	OUT=$TMP/bench WRONG_KEY=1 "$E2E_ROOT/bench/run-persist.sh" "$N_BENCH" > "$TMP/bench.out" 2>&1
	rc=$?
	grep -E "^(ok|FAIL):|=" "$TMP/bench.out" | sed 's/^/  bench: /'
	check "emse-bench: $N_BENCH sessions across a restart, and a refused file (run-persist.sh)" \
		[ $rc -eq 0 ] || tail -30 "$TMP/bench.out"
fi
e2e_done
