#!/usr/bin/env bash
# Issue 3 steering: two workers on a port without RSS (TAP, two queues). The kernel spreads the
# flows over both queues; each UE's datagrams must still meet one worker, so every handshake
# completes and echoes, and what one worker received for the other went through the steering
# ring (steered out = steered in). Sessions left idle are closed by the idle timeout.
# This test runs the wolfSSL handshake engine (handshake_engine = wolfssl): its GCM sessions must
# leave wolfSSL for the compact record layer through the session export. The interop test runs
# the default native engine (hs12.c).
source "$(dirname "$0")/lib.sh"
e2e_init workers
ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf '%s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
emse_config "[keys]
source = file
file = $TMP/keys.txt" "idle_timeout_s = 3" "handshake_engine = wolfssl"
# Two workers share core 1 here (2 cores): functional, not a benchmark.
EMSE_LCORES="--lcores 0@0,1@1,2@1" emse_start || exit 1
check "two workers" grep -q "running: 2 workers" "$TMP/emse.log"
ok=0
for i in $(seq 1 16); do
	msg="w$i-$RANDOM"
	out=$( (echo "$msg"; sleep 0.5) | in_ns timeout 10 openssl s_client -dtls1_2 \
		-connect 198.18.0.1:5684 -psk_identity "$ID" -psk "$KEY" -cipher PSK-AES128-GCM-SHA256 \
		-quiet 2>/dev/null)
	grep -q "$msg" <<<"$out" && ok=$((ok + 1))
done
check "16 of 16 handshakes from distinct ports completed and echoed ($ok)" [ "$ok" -eq 16 ]
check "wolfSSL ran them (hs_native 0, hs12_skip{engine_wolfssl} 16)" \
	[ "$(metric hs_native)" -eq 0 -a "$(metric hs12_skip engine_wolfssl)" -eq 16 ]
check "and all 16 went compact through the export" [ "$(metric compacted)" -eq 16 ]
so=$(metric steered_out); si=$(metric steered_in)
echo "steered out $so, in $si"
check "steered out = steered in" [ "$so" -eq "$si" ]
check "the kernel used both queues: some datagrams were steered" [ "$so" -gt 0 ]
check "no steering drops" [ "$(metric dp_drop steer_ring_full)" -eq 0 ]
# net_tap accepts the RSS mode but marks no hash: the software steering owns every flow.
check "TAP configured RSS but hashed nothing: no datagram owned by RSS (rss_owned 0)" \
	[ "$(metric rss_owned)" -eq 0 ]
# s_client leaves without close_notify: the idle timeout ends those sessions.
check "idle sessions are closed after idle_timeout_s (3 s)" wait_metric closed 1 idle 80
sleep 3.5
check "no established session left after the idle timeout" [ "$(metric established)" -eq 0 ]
check "SIGTERM: emse exits 0" emse_stop
e2e_done
