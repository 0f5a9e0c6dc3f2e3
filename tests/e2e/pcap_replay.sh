#!/usr/bin/env bash
# Issue 7, pcap replay: emse in replay mode (net_pcap, capture clock, --seed) on
#  - the crafted hostile capture (build/pcap-craft hostile): the report equals
#    tests/pcap/hostile.expected counter by counter and agrees with the per-frame labels;
#    one HelloVerifyRequest per spoofed ClientHello, no session; also under ASan+UBSan;
#  - the real captures tests/pcap/{handshake,sessions}.pcap: their expected reports, no
#    session established (the cookie secret differs, cookie_invalid), the same seed twice gives
#    a byte-identical output, another seed a different one;
#  - --seed without --replay is refused with exit status 2;
# and live (TAP): application records of an established s_client session re-injected from a
# capture are not delivered (not echoed, app_rx unchanged), counted by emse's replay counter
# when it has one; the same records forged (sequence number moved: bad_tag) and with a wrong UDP
# checksum (left to the record layer on a compact session: replay, not udp_csum); the session
# goes on; and once the client vanishes, forged records on its flow do not keep it from its idle
# timeout.
source "$(dirname "$0")/lib.sh"
e2e_init pcapreplay
PCAP=$E2E_ROOT/tests/pcap
CRAFT=$BUILD/pcap-craft
REPLAY=$E2E_ROOT/tools/emse-replay
for b in "$EMSE_BIN" "$CRAFT"; do
	[ -x "$b" ] || { echo "$b not built"; exit 1; }
done

# replay NAME IN SEED [extra emse-replay args]: counters in $TMP/NAME.counters, output capture
# $TMP/NAME.out.pcap, emse's exit status checked.
replay() {
	local name=$1 in=$2 seed=$3; shift 3
	"$REPLAY" "$in" --seed "$seed" --counters --out "$TMP/$name.out.pcap" \
		--keep-log "$TMP/$name.log" "$@" > "$TMP/$name.counters"
	local rc=$?
	check "$name: emse replayed to the end and exited 0 (status $rc)" [ $rc -eq 0 ] ||
		tail -20 "$TMP/$name.log"
	return $rc
}
counter() { awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }' "$TMP/$1.counters"; }
same_counters() { # name expected-file
	if diff -u "$2" "$TMP/$1.counters" > "$TMP/$1.diff"; then return 0; fi
	cat "$TMP/$1.diff"; return 1
}

# ---- the crafted capture ---------------------------------------------------------------------
"$CRAFT" hostile "$TMP/hostile.pcap" --labels "$TMP/hostile.labels" 2>/dev/null
check "pcap-craft hostile is reproducible (same bytes as tests/pcap/hostile.pcap)" \
	cmp "$TMP/hostile.pcap" "$PCAP/hostile.pcap"
check "pcap-craft hostile labels as committed" cmp "$TMP/hostile.labels" "$PCAP/hostile.labels"
replay hostile "$TMP/hostile.pcap" 7
check "hostile: report = tests/pcap/hostile.expected, counter by counter" \
	same_counters hostile "$PCAP/hostile.expected"

# Per frame: the labels say which counter each frame must move; their sum must be the report
# (all but the totals and the checksum path counters, which no single frame's verdict owns).
awk '{ n = split($3, c, "+"); for (i = 1; i <= n; i++) t[c[i]]++ }
	END { for (k in t) print k, t[k] }' "$TMP/hostile.labels" | sort > "$TMP/labels.tally"
grep -Ev '^(rx_pkts|rx_bytes|tx_pkts|tx_bytes|pool_refills|rx_csum_sw|tx_csum_sw) ' \
	"$TMP/hostile.counters" | sort > "$TMP/report.tally"
check "hostile: the counters named by the per-frame labels add up to the report" \
	diff -u "$TMP/labels.tally" "$TMP/report.tally"
check "hostile: one frame out per HVR and per ARP/ICMP answer" \
	[ "$(counter hostile tx_pkts)" -eq $(( $(counter hostile hvr_sent) + $(counter hostile arp_replies) + $(counter hostile icmp_replies) )) ]

# The flood: N ClientHellos from N spoofed sources, exactly one HVR back to each, no state.
nflood=$(grep -c ' flood ' "$TMP/hostile.labels")
"$CRAFT" list "$TMP/hostile.out.pcap" | awk '$NF == "dtls:hello_verify_request" && $5 ~ /^198\.19\./ { print $5 }' \
	| sort | uniq -c > "$TMP/flood.hvr"
check "flood: $nflood spoofed ClientHellos, $nflood distinct sources got an HVR" \
	[ "$(wc -l < "$TMP/flood.hvr")" -eq "$nflood" ]
check "flood: exactly one HVR each" [ "$(awk '$1 != 1' "$TMP/flood.hvr" | wc -l)" -eq 0 ]
"$CRAFT" list "$TMP/hostile.pcap" | awk '$NF == "dtls:client_hello" && $3 ~ /^198\.19\./ { print $3 }' \
	| sort > "$TMP/flood.src"
check "flood: each HVR goes to the address:port its ClientHello came from" \
	diff <(awk '{ print $2 }' "$TMP/flood.hvr") "$TMP/flood.src"
check "hostile: no handshake started, no session" \
	[ "$(counter hostile hs_started)" -eq 0 -a "$(counter hostile cookie_valid)" -eq 0 \
	  -a "$(counter hostile hs_completed)" -eq 0 -a "$(counter hostile sessions)" -eq 0 ]

# The same under ASan+UBSan: nothing in the hostile frames trips the sanitizers.
if [ -x "$BUILD/asan/emse" ]; then
	EMSE_BIN=$BUILD/asan/emse ASAN_OPTIONS=detect_leaks=1 \
		LSAN_OPTIONS=suppressions=$PCAP/lsan.supp:print_suppressions=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 replay hostile-asan "$TMP/hostile.pcap" 7
	grep -qE "^ +[0-9]+ +[0-9]+ pcap_open_dead" "$TMP/hostile-asan.log" &&
		echo "note: known leak still there: main.c never pcap_close()s its pcap_open_dead handle" \
		     "(suppressed by tests/pcap/lsan.supp)"
	check "hostile under ASan+UBSan: same report" same_counters hostile-asan "$PCAP/hostile.expected"
	check "hostile under ASan+UBSan: no sanitizer report" \
		bash -c "! grep -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' '$TMP/hostile-asan.log'"
	check "hostile, seed 7: the ASan build's output is byte-identical to the plain build's" \
		cmp "$TMP/hostile.out.pcap" "$TMP/hostile-asan.out.pcap"
	for c in handshake sessions; do
		EMSE_BIN=$BUILD/asan/emse ASAN_OPTIONS=detect_leaks=1 \
			LSAN_OPTIONS=suppressions=$PCAP/lsan.supp \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 replay "$c-asan" "$PCAP/$c.pcap" 7
		check "$c under ASan+UBSan: report = tests/pcap/$c.expected, no sanitizer report" \
			same_counters "$c-asan" "$PCAP/$c.expected"
	done
else
	echo "skip: $BUILD/asan/emse not built"
fi

# ---- the real captures -----------------------------------------------------------------------
for c in handshake sessions; do
	nch=$("$CRAFT" list "$PCAP/$c.pcap" | awk '$NF == "dtls:client_hello" && $5 ~ /:5684$/' | wc -l)
	nsess=$((nch / 2)) # each session: a ClientHello, the HVR, the ClientHello with the cookie
	replay "$c-7a" "$PCAP/$c.pcap" 7 || continue
	replay "$c-7b" "$PCAP/$c.pcap" 7
	replay "$c-8" "$PCAP/$c.pcap" 8
	check "$c: report = tests/pcap/$c.expected" same_counters "$c-7a" "$PCAP/$c.expected"
	check "$c: no session established (hs_started 0, hs_completed 0)" \
		[ "$(counter "$c-7a" hs_started)" -eq 0 -a "$(counter "$c-7a" hs_completed)" -eq 0 ]
	check "$c: each of the $nsess captured cookies is invalid now (cookie_invalid $nsess)" \
		[ "$(counter "$c-7a" cookie_invalid)" -eq "$nsess" ]
	check "$c: a fresh HVR for each of the $nch ClientHellos" \
		[ "$(counter "$c-7a" hvr_sent)" -eq "$nch" ]
	check "$c: --seed 7 twice: byte-identical output" cmp "$TMP/$c-7a.out.pcap" "$TMP/$c-7b.out.pcap"
	check "$c: --seed 8: a different output" \
		bash -c "! cmp -s '$TMP/$c-7a.out.pcap' '$TMP/$c-8.out.pcap'"
done

# The anti-replay window cannot be shown by replaying a capture (the handshake never completes
# with a fresh cookie secret): captured application records duplicated in a capture are simply
# records without a session.
"$CRAFT" dup "$PCAP/handshake.pcap" "$TMP/dup.pcap" --times 3 \
	--filter 'udp dst port 5684 and udp[8] = 23' 2>/dev/null
replay dup "$TMP/dup.pcap" 7
check "handshake.pcap with its app record x4: the 3 copies dropped as not_client_hello" \
	[ "$(counter dup dp_drop:not_client_hello)" -eq $(( $(grep -o 'not_client_hello [0-9]*' "$PCAP/handshake.expected" | cut -d' ' -f2) + 3 )) ]

# ---- --seed outside replay mode --------------------------------------------------------------
"$EMSE_BIN" -l 0-1 --no-huge --no-pci -m 512 --file-prefix "$E2E_PREFIX-seed" \
	--log-level=lib.eal:error -- --config "$PCAP/replay.conf" --seed 7 > "$TMP/seed.log" 2>&1
rc=$?
check "--seed without --replay: refused with exit status 2 (got $rc)" [ $rc -eq 2 ]
check "--seed without --replay: says why" grep -q "only in replay mode" "$TMP/seed.log"
rm -rf "/var/run/dpdk/$E2E_PREFIX-seed" # DPDK's runtime directory for that prefix

# ---- live: application records replayed into an established session -------------------------
ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
IDLE=30 # long enough for the checks before the second line (~15 metric scrapes), on a loaded machine: 12 s was not in CI under load
# Checksums in software: the bad-checksum check below is about the compact session's deferral,
# which a port with checksum offload (net_tap has it) pre-empts by refusing the datagram itself
# (tests/e2e/dataplane_offload.sh).
EMSE_PORT_CONF="offloads = off" emse_config "[keys]
source = file
file = $E2E_ROOT/conf/lab-keys.txt" "idle_timeout_s = $IDLE"
emse_start || exit 1
ip netns exec "$NS" tcpdump -Z root -i "$TAPIF" --immediate-mode -U -s 0 -w "$TMP/live.pcap" \
	'udp dst port 5684' 2>"$TMP/tcpdump.err" &
TCPDUMP_PID=$!
E2E_PIDS+=("$TCPDUMP_PID")
for _ in $(seq 1 50); do grep -q "listening on" "$TMP/tcpdump.err" && break; sleep 0.1; done

snapshot() { curl -sf --max-time 2 "http://127.0.0.1:$PROM_PORT/metrics" |
	awk '{ v[$1] += $2 } END { for (k in v) print k, v[k] }' | sort; }
tag=$RANDOM
app0=$(metric app_rx)
# s_client reads its lines from a FIFO: the second line goes only after the replays are done,
# however long the handshake takes on a loaded machine.
mkfifo "$TMP/live.in"
trap '' PIPE # a dead s_client must fail the checks, not kill the test on the next write
in_ns timeout 60 openssl s_client -dtls1_2 -connect 198.18.0.1:5684 -psk_identity "$ID" \
	-psk "$KEY" -cipher PSK-AES128-GCM-SHA256 -quiet -no_ign_eof \
	< "$TMP/live.in" > "$TMP/live.out" 2>"$TMP/live.err" &
SCLIENT=$!
E2E_PIDS+=("$SCLIENT")
exec 3>"$TMP/live.in"
echo "first-$tag" >&3
check "live: s_client session established, first record echoed" wait_metric app_rx $((app0 + 1)) "" 300
# A copy of what is captured by now: tcpdump goes on capturing, the injected frames too.
napp=0
for _ in $(seq 1 50); do
	"$CRAFT" dup "$TMP/live.pcap" "$TMP/live-app.pcap" --times 0 --filter 'udp[8] = 23' 2>/dev/null
	napp=$("$CRAFT" list "$TMP/live-app.pcap" --filter 'udp[8] = 23' | wc -l)
	[ "$napp" -ge 1 ] && break
	sleep 0.1
done
check "live: the client's application record is in the capture ($napp)" [ "$napp" -ge 1 ]
snapshot > "$TMP/m.before"
rx0=$(metric rx_pkts); app1=$(metric app_rx); tx1=$(metric app_tx)
for _ in 1 2 3; do
	in_ns "$CRAFT" inject "$TAPIF" "$TMP/live-app.pcap" --filter 'udp[8] = 23' >/dev/null
done
check "live: emse received the $((3 * napp)) re-injected frames" wait_metric rx_pkts $((rx0 + 3 * napp))
sleep 0.3
snapshot > "$TMP/m.after"
check "live: replayed records not delivered (app_rx stays $app1)" [ "$(metric app_rx)" -eq "$app1" ]
check "live: replayed records not echoed (app_tx stays $tx1)" [ "$(metric app_tx)" -eq "$tx1" ]
echo "live: counters that moved with the replayed records:"
join -a 2 "$TMP/m.before" "$TMP/m.after" | awk 'NF == 3 && $2 != $3 { printf "  %s %s -> %s\n", $1, $2, $3 }
	NF == 2 { printf "  %s (new) %s\n", $1, $2 }' | grep -v -E 'cycles|loops|_ns_total'
# Today the established session runs in wolfSSL, which drops a replayed record silently (its
# own replay window; emse reads only wolfSSL's MAC-failure drop count): no emse counter names
# the replay. Once a counter with "replay" in its name exists, it must count every copy.
# (cid_record_drop counts tls12_cid records only: not these)
rc_metric=$(grep -i replay "$TMP/m.after" | grep -v '^emse_cid_' | head -1 | cut -d' ' -f1)
if [ -n "$rc_metric" ]; then
	b=$(awk -v k="$rc_metric" '$1 == k { print $2 }' "$TMP/m.before")
	a=$(awk -v k="$rc_metric" '$1 == k { print $2 }' "$TMP/m.after")
	check "live: $rc_metric counted the $((3 * napp)) replayed records" [ $(( a - ${b:-0} )) -eq $((3 * napp)) ]
else
	echo "note: no emse counter counts replayed records (wolfSSL drops them silently)"
fi
# A forged record: the same datagram with its sequence number moved on (so the replay window lets
# it through) and a correct UDP checksum. Its AAD no longer matches its tag: dropped as bad_tag,
# nothing delivered or echoed, and the session's window does not move (the second line below
# still gets through).
"$CRAFT" mutate "$TMP/live-app.pcap" "$TMP/forged.pcap" --filter 'udp[8] = 23' --seq-add 1000 \
	2>/dev/null
nf=$("$CRAFT" list "$TMP/forged.pcap" | wc -l)
rx0=$(metric rx_pkts); app1=$(metric app_rx); tx1=$(metric app_tx)
bt0=$(metric record_drop bad_tag); cs0=$(metric net_drop udp_csum); rp0=$(metric record_drop replay)
in_ns "$CRAFT" inject "$TAPIF" "$TMP/forged.pcap" >/dev/null
check "forged: emse received the $nf forged records" wait_metric rx_pkts $((rx0 + nf))
sleep 0.3
check "forged: counted as record_drop{bad_tag} ($nf)" [ "$(metric record_drop bad_tag)" -eq $((bt0 + nf)) ]
check "forged: not delivered (app_rx stays $app1)" [ "$(metric app_rx)" -eq "$app1" ]
check "forged: not echoed (app_tx stays $tx1)" [ "$(metric app_tx)" -eq "$tx1" ]
# The client's own records again with a wrong UDP checksum and nothing else changed: on a compact
# session the checksum is not summed (the record's tag covers the same bytes), so they reach the
# record layer, which drops them as the replays they are; net_drop{udp_csum} does not move.
"$CRAFT" mutate "$TMP/live-app.pcap" "$TMP/badsum.pcap" --filter 'udp[8] = 23' --bad-udp-csum \
	2>/dev/null
rx0=$(metric rx_pkts)
in_ns "$CRAFT" inject "$TAPIF" "$TMP/badsum.pcap" >/dev/null
check "bad checksum: emse received the $nf frames" wait_metric rx_pkts $((rx0 + nf))
sleep 0.3
check "bad checksum on a compact session: left to the record layer (replay +$nf)" \
	[ "$(metric record_drop replay)" -eq $((rp0 + nf)) ]
check "bad checksum on a compact session: net_drop{udp_csum} unchanged" \
	[ "$(metric net_drop udp_csum)" -eq "$cs0" ]
check "bad checksum: nothing delivered (app_rx stays $app1)" [ "$(metric app_rx)" -eq "$app1" ]
check "bad checksum: nothing echoed (app_tx stays $tx1)" [ "$(metric app_tx)" -eq "$tx1" ]
echo "second-$tag" >&3
for _ in $(seq 1 100); do grep -q "second-$tag" "$TMP/live.out" && break; sleep 0.1; done
# The client vanishes without close_notify; forged records keep arriving on its flow, one a
# second. Only an authentic record refreshes a session's idle deadline, so it still ends by
# idle_timeout_s.
pkill -KILL -f "openssl s_client -dtls1_2 -connect 198.18.0.1:5684" || true
exec 3>&-
wait "$SCLIENT" 2>/dev/null
check "live: the session goes on (second record echoed)" grep -q "second-$tag" "$TMP/live.out"
check "live: the first record echoed once only" [ "$(grep -c "first-$tag" "$TMP/live.out")" -eq 1 ]
check "idle: the session is still established" [ "$(metric established)" -eq 1 ]
idle0=$(metric closed idle); bt0=$(metric record_drop bad_tag)
for _ in $(seq 1 $((IDLE + 4))); do
	in_ns "$CRAFT" inject "$TAPIF" "$TMP/forged.pcap" >/dev/null
	[ "$(metric closed idle)" -gt "$idle0" ] && break
	sleep 1
done
check "idle: forged records arrived meanwhile (bad_tag +$(( $(metric record_drop bad_tag) - bt0 )))" \
	[ "$(metric record_drop bad_tag)" -gt "$bt0" ]
check "idle: closed by idle_timeout_s ($IDLE s) despite them" wait_metric closed $((idle0 + 1)) idle 45
check "idle: no session left" [ "$(metric established)" -eq 0 ]
kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null
check "SIGTERM: emse exits 0" emse_stop
rm -rf "/var/run/dpdk/$E2E_PREFIX"
e2e_done
