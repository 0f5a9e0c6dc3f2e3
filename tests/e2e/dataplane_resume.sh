#!/usr/bin/env bash
# Issue 14, session resumption (RFC 5246 7.3) on emse's own handshake engine: openssl s_client
# saves its session (-sess_out) after a full handshake and resumes it (-sess_in) with an
# abbreviated one: "Reused" on the client, resume_accepted on emse, and no key lookup at all
# (key_hits, key_misses, key_fetches unchanged: the EMKS would not be asked); gnutls-cli --resume
# does the same within one run; a session offered without its suite gets a full handshake; with resume_max = 0 the ServerHello has an empty session id and nothing resumes.
source "$(dirname "$0")/lib.sh"
e2e_init resume

ID=e2m.ae47bf35@sensor-17@acme.example
KEY=48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6
printf 'emse-1 %s %s\n' "$ID" "$KEY" > "$TMP/keys.txt"
emse_config "[keys]
source = file
file = $TMP/keys.txt" "resume_max = 1024" "resume_lifetime_s = 600" "handshake_timeout_ms = 1500"
gcc -shared -fPIC -o "$TMP/shim.so" "$(dirname "$0")/gnutls_psk_shim.c" || exit 1
emse_start || exit 1
check "the cache's memory is reported apart" grep -q "resumption cache: 1024 entries" "$TMP/emse.log"

s_client() { # suite msg extra...
	local suite=$1 msg=$2; shift 2
	(echo "$msg"; sleep 1.5) | in_ns timeout 10 openssl s_client -dtls1_2 \
		-connect 198.18.0.1:5684 -psk_identity "$ID" -psk "$KEY" -cipher "$suite" "$@" \
		2>"$TMP/s_client.err"
}
keys() { echo $(( $(metric key_hits) + $(metric key_misses) + $(metric key_fetches) )); }

for suite in PSK-AES128-CCM8 PSK-AES128-GCM-SHA256; do
	rm -f "$TMP/sess.pem"
	msg="full-$suite-$RANDOM"
	out=$(s_client "$suite" "$msg" -sess_out "$TMP/sess.pem")
	check "$suite: full handshake and echo" grep -q "$msg" <<<"$out"
	check "$suite: the ServerHello carried a session id" grep -q "Session-ID: [0-9A-F]\{64\}" <<<"$out"
	k=$(keys); a=$(metric resume_accepted); hs=$(metric hs_completed)
	msg="resumed-$suite-$RANDOM"
	out=$(s_client "$suite" "$msg" -sess_in "$TMP/sess.pem")
	check "$suite: -sess_in resumes (Reused on the client)" grep -q "^Reused" <<<"$out"
	check "$suite: resumed session echoes" grep -q "$msg" <<<"$out"
	check "$suite: emse counts the resumption" [ "$(metric resume_accepted)" -eq $((a + 1)) ]
	check "$suite: the resumed handshake completed" [ "$(metric hs_completed)" -eq $((hs + 1)) ]
	check "$suite: no key lookup for it (no EMKS request)" [ "$(keys)" -eq "$k" ]
done

# The GCM session offered with only CCM-8 on the client: emse must not resume it under another
# suite (RFC 5246 7.4.1.2); a full handshake instead.
m=$(metric resume_misses); hs=$(metric hs_completed)
msg="other-suite-$RANDOM"
out=$(s_client PSK-AES128-CCM8 "$msg" -sess_in "$TMP/sess.pem")
check "a session of another suite: echoed" grep -q "$msg" <<<"$out"
check "a session of another suite: not resumed" bash -c "! grep -q '^Reused' <<<'$out'"
check "a session of another suite: a full handshake" [ "$(metric hs_completed)" -eq $((hs + 1)) ]
echo "  (resume_misses +$(( $(metric resume_misses) - m )): 1 if the client offered the id)"

# gnutls-cli --resume: a full handshake, then a resumed one, in one run.
a=$(metric resume_accepted); k=$(keys)
out=$( (echo "gnutls-$RANDOM"; sleep 1) | in_ns env LD_PRELOAD="$TMP/shim.so" timeout 15 gnutls-cli \
	--udp --resume --pskusername "$ID" --pskkey "$KEY" -p 5684 \
	--priority "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD" \
	198.18.0.1 2>&1)
check "gnutls-cli --resume: resumed" grep -qi "This is a resumed session" <<<"$out" ||
	grep -i "resum\|error" <<<"$out" | head -5
check "gnutls-cli --resume: emse counts it" [ "$(metric resume_accepted)" -ge $((a + 1)) ]
check "gnutls-cli --resume: one key lookup (the full handshake) only" [ "$(keys)" -le $((k + 1)) ]
check "SIGTERM: exit 0" emse_stop

# Off: an empty session id, nothing to resume.
emse_config "[keys]
source = file
file = $TMP/keys.txt"
ip netns del "$NS"
emse_start || exit 1
rm -f "$TMP/sess.pem"
out=$(s_client PSK-AES128-CCM8 "off-1" -sess_out "$TMP/sess.pem")
check "resume_max = 0: handshake and echo" grep -q "off-1" <<<"$out"
check "resume_max = 0: no session id, so nothing the client can resume (no -sess_out file)" \
	[ ! -s "$TMP/sess.pem" ]
check "resume_max = 0: the ServerHello's session id is empty" bash -c "! grep -q 'Session-ID: [0-9A-F]' <<<'$out'"
check "resume_max = 0: no resumption counted" [ "$(metric resume_accepted)" -eq 0 ]
check "SIGTERM: exit 0" emse_stop
e2e_done
