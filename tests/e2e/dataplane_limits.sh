#!/usr/bin/env bash
# Issue 7 limits: half-open handshakes per worker, sessions per source address; a flood at the
# limits (half-open handshakes from several addresses, spoofed ClientHellos) leaves an
# established session working.
source "$(dirname "$0")/lib.sh"
e2e_init limits

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf '%s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
emse_config "[keys]
source = file
file = $TMP/keys.txt" "half_open_max = 12" "max_sessions_per_source = 6" "handshake_timeout_ms = 4000"
emse_start || exit 1
for a in 3 4 5; do ip -n "$NS" addr add "198.18.0.$a/24" dev "$TAPIF"; done

# An established session, kept open through a FIFO.
mkfifo "$TMP/in"
in_ns openssl s_client -dtls1_2 -connect 198.18.0.1:5684 -psk_identity "$ID" -psk "$KEY" \
	-cipher PSK-AES128-GCM-SHA256 -quiet < "$TMP/in" > "$TMP/out" 2>"$TMP/err" &
E2E_PIDS+=($!)
exec 3>"$TMP/in"
echo "before-flood" >&3
for _ in $(seq 50); do grep -q before-flood "$TMP/out" && break; sleep 0.1; done
check "established session echoes before the flood" grep -q before-flood "$TMP/out"

# One address: at most 6 sessions (the s_client one included).
in_ns "$BUILD/dtls-probe" half-open --dst 198.18.0.1 --port 5684 --count 10 --src 198.18.0.2
check "per-source limit: refused beyond max_sessions_per_source" \
	wait_metric dp_drop 1 source_sessions_full
# Three more addresses: 12 half-open at most in all.
for a in 3 4 5; do
	in_ns "$BUILD/dtls-probe" half-open --dst 198.18.0.1 --port 5684 --count 6 --src "198.18.0.$a"
done
check "half-open limit: refused beyond half_open_max" wait_metric dp_drop 1 half_open_full
check "half-open never above the limit" [ "$(metric half_open)" -le 12 ]
in_ns "$BUILD/dtls-probe" spoof --ifname "$TAPIF" --dst-mac "$EMSE_MAC" --dst 198.18.0.1 \
	--port 5684 --count 2000 >/dev/null

echo "during-flood" >&3
for _ in $(seq 50); do grep -q during-flood "$TMP/out" && break; sleep 0.1; done
check "established session still echoes at the limits" grep -q during-flood "$TMP/out"
check "the half-open flood times out" wait_metric hs_failed 10 timeout 80
exec 3>&-
check "SIGTERM: emse exits 0" emse_stop
e2e_done
