#!/usr/bin/env bash
# Issue 3: real DTLS 1.2 PSK clients (OpenSSL, GnuTLS, libcoap with both) complete handshakes
# with emse on a TAP port and get their datagrams echoed, for every suite each client offers
# (CCM-8 and GCM on emse's own handshake engine, CBC on wolfSSL);
# a wrong key, a non-e2m identity and an unknown identity fail with an alert and leave no
# session; 1000 spoofed ClientHellos leave no session and no memory growth; a half-finished
# handshake times out and is freed; SIGTERM exits 0.
source "$(dirname "$0")/lib.sh"
e2e_init interop

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
# A second UE, keyed by e2m-keytool as a real UE derives it.
read -r ID2 KEY2 < <("$BUILD/e2m-keytool" psk --ck 00112233445566778899aabbccddeeff \
	--ik ffeeddccbbaa99887766554433221100 --rand 0102030405060708090a0b0c0d0e0f10 \
	--app-id meter-2@acme.example --emse-id emse-1 | paste -sd' ')
printf 'emse-1 %s %s\n%s %s\n' "$ID" "$KEY" "$ID2" "$KEY2" > "$TMP/keys.txt"
emse_config "[keys]
source = file
file = $TMP/keys.txt" "handshake_timeout_ms = 1500"
gcc -shared -fPIC -o "$TMP/shim.so" "$(dirname "$0")/gnutls_psk_shim.c" || exit 1
emse_start || exit 1
pass "emse answers ARP and ping on the TAP"
check "ICMPv6 echo through Neighbour Discovery" in_ns ping -6 -c1 -W2 2001:db8::1

s_client() { # suite addr id key msg
	(echo "$5"; sleep 2) | in_ns timeout 10 openssl s_client -dtls1_2 -connect "$2" \
		-psk_identity "$3" -psk "$4" -cipher "$1" -quiet 2>"$TMP/s_client.err"
}
for suite in PSK-AES128-CCM8 PSK-AES128-GCM-SHA256 PSK-AES128-CBC-SHA256; do
	msg="hello-$suite-$RANDOM"
	out=$(s_client "$suite" 198.18.0.1:5684 "$ID" "$KEY" "$msg")
	check "openssl s_client $suite: handshake and echo" grep -q "$msg" <<<"$out"
done
check "CCM-8 and GCM sessions went compact" [ "$(metric compacted)" -ge 2 ]
check "CCM-8 and GCM handshakes ran on the native engine (hs12.c)" [ "$(metric hs_native)" -ge 2 ]
check "the CBC handshake went to wolfSSL (hs12_skip{suite})" [ "$(metric hs12_skip suite)" -ge 1 ]
check "the CBC session stayed on wolfSSL" [ "$(metric kept_on_wolfssl)" -ge 1 ]
check "compact sessions opened and sealed the echo" [ "$(metric rec_sealed)" -ge 2 ]
msg="hello-v6-$RANDOM"
out=$(s_client PSK-AES128-CCM8 "[2001:db8::1]:5684" "$ID2" "$KEY2" "$msg")
check "openssl s_client over IPv6, key from e2m-keytool" grep -q "$msg" <<<"$out"

gnutls() { # cipher-priority msg
	(echo "$2"; sleep 1) | in_ns env LD_PRELOAD="$TMP/shim.so" timeout 10 gnutls-cli --udp \
		--pskusername "$ID" --pskkey "$KEY" -p 5684 \
		--priority "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:$1" 198.18.0.1 2>&1
}
for prio in "-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD" "-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD" \
	"-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA256"; do
	msg="hello-gnutls-$RANDOM"
	out=$(gnutls "$prio" "$msg")
	check "gnutls-cli ${prio%%:-MAC*}: handshake and echo" grep -q "$msg" <<<"$out"
done

# libcoap: the echo returns the client's own CoAP request, which it does not take as an answer;
# what is checked is the handshake and the echo on emse's side.
raw_key rawkey "$KEY"
for flavour in openssl gnutls; do
	before=$(metric hs_completed); echoed=$(metric app_tx)
	in_ns timeout 10 "coap-client-$flavour" -v 6 -m get -B 4 -u "$ID" -k "$rawkey" \
		"coaps://198.18.0.1:5684/sensor" >"$TMP/coap.out" 2>&1
	check "coap-client-$flavour: handshake completed" wait_metric hs_completed $((before + 1)) ||
		tail -5 "$TMP/coap.out"
	check "coap-client-$flavour: request echoed" wait_metric app_tx $((echoed + 1))
done

# Failures: each ends with an alert and leaves no session behind.
fails() { metric hs_failed "$1"; }
b=$(fails bad_finished)
s_client PSK-AES128-CCM8 198.18.0.1:5684 "$ID" "00${KEY:2}" x >/dev/null
check "wrong key: handshake fails (bad_finished)" wait_metric hs_failed $((b + 1)) bad_finished
b=$(fails not_e2m_identity)
s_client PSK-AES128-CCM8 198.18.0.1:5684 "client1" "$KEY" x >/dev/null
check "non-e2m identity: fails with unknown_psk_identity" grep -q "unknown psk identity" "$TMP/s_client.err"
check "non-e2m identity: counted" wait_metric hs_failed $((b + 1)) not_e2m_identity
b=$(fails no_key)
s_client PSK-AES128-CCM8 198.18.0.1:5684 "e2m.00000001@nobody@acme.example" "$KEY" x >/dev/null
check "unknown identity: fails with unknown_psk_identity" grep -q "unknown psk identity" "$TMP/s_client.err"
check "unknown identity: counted as no_key" wait_metric hs_failed $((b + 1)) no_key
sleep 1.5 # idle s_client sessions end with close_notify; wait for stragglers
check "no session left after the failures (half-open = 0)" [ "$(metric half_open)" -eq 0 ]

# 1000 ClientHellos from spoofed sources: one HVR each, no state, no memory growth.
rss() { awk '/VmRSS/ {print $2}' "/proc/$EMSE_PID/status"; }
hvr=$(metric hvr_sent); sess=$(metric sessions); rss0=$(rss)
in_ns "$BUILD/dtls-probe" spoof --ifname "$TAPIF" --dst-mac "$EMSE_MAC" --dst 198.18.0.1 \
	--port 5684 --count 1000
check "spoofed ClientHellos: 1000 HelloVerifyRequests" wait_metric hvr_sent $((hvr + 1000)) "" 50
check "spoofed ClientHellos: no session created" [ "$(metric sessions)" -eq "$sess" ]
rss1=$(rss)
echo "VmRSS before ${rss0} kB, after ${rss1} kB"
check "spoofed ClientHellos: VmRSS grew by less than 512 kB" [ $((rss1 - rss0)) -lt 512 ]

# A half-finished handshake: state exists, then the timeout frees it.
t=$(fails timeout)
check "half-open handshake reaches ServerHello" in_ns "$BUILD/dtls-probe" half-open --dst 198.18.0.1 --port 5684
check "half-open handshake counted" [ "$(metric half_open)" -ge 1 ]
check "half-open handshake times out (1.5 s)" wait_metric hs_failed $((t + 1)) timeout 40
check "half-open handshake freed" [ "$(metric half_open)" -eq 0 ]

check "SIGTERM: emse exits 0" emse_stop
grep -q "emse: stopped" "$TMP/emse.log" || fail "no shutdown line in the log"
e2e_done
