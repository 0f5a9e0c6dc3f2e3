#!/usr/bin/env bash
# End-to-end test of the reference EMKS and HSS (issue 4): real processes, real TLS, HTTP/2 on
# 127.0.0.1. build/emks on a temp db with certificates from tools/make-certs.sh; build/emks-hss
# pushes a small population; curl --http2 checks SPEC.md section 4 from the EMSE side.
# Exits non-zero on any failure, naming each failed check. Needs: make (build/emks,
# build/emks-hss), curl, jq, openssl; build/e2m-keytool is used when present.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
EMKS=$ROOT/build/emks
HSS=$ROOT/build/emks-hss
KEYTOOL=$ROOT/build/e2m-keytool
N=4

for b in "$EMKS" "$HSS"; do
  [ -x "$b" ] || { echo "emks_api: $b is not built (make build/emks build/emks-hss)"; exit 1; }
done
for t in curl jq openssl; do
  command -v $t >/dev/null || { echo "emks_api: $t is missing"; exit 1; }
done

T=$(mktemp -d /tmp/emks-e2e.XXXXXX)
EMKS_PID= EMKS2_PID=
cleanup() {
  for p in $EMKS_PID $EMKS2_PID; do
    if kill -0 "$p" 2>/dev/null; then kill "$p"; wait "$p" 2>/dev/null; fi
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0 passes=0
ok() { passes=$((passes + 1)); echo "  ok   $1"; }
bad() { fails=$((fails + 1)); echo "  FAIL $1"; }
check() { # check NAME COMMAND...: passes if the command succeeds
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

C=$T/certs
"$ROOT/tools/make-certs.sh" "$C" emse-1 emse-2 emse-3 >/dev/null || { echo "make-certs failed"; exit 1; }

start_emks() {
  : >"$T/emks.out"
  "$EMKS" --listen 127.0.0.1:0 --cert "$C/emks.pem" --key "$C/emks.key" --ca "$C/ca.pem" \
    --db "$T/emks.db" --keys-per-ue $N --expiry-s 3600 >"$T/emks.out" 2>>"$T/emks.err" &
  EMKS_PID=$!
  for _ in $(seq 100); do
    grep -q 'emks: listening on' "$T/emks.out" && break
    kill -0 $EMKS_PID 2>/dev/null || break
    sleep 0.1
  done
  PORT=$(sed -n 's/^emks: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/emks.out")
  if [ -z "$PORT" ]; then
    echo "emks did not start:"; cat "$T/emks.err"; exit 1
  fi
  URL=https://127.0.0.1:$PORT
  BASE=$URL/nemks-e2m/v1
}

stop_emks() {
  kill -TERM "$EMKS_PID"; wait "$EMKS_PID"; local rc=$?
  EMKS_PID=
  return $rc
}

# req WHO METHOD OP BODY: sets CODE, VER, CTYPE, and the body in $T/resp.
req() {
  local who=$1 method=$2 op=$3 body=$4 cert key
  case $who in
    hss) cert=$C/hss.pem key=$C/hss.key ;;
    *) cert=$C/emse/$who.pem key=$C/emse/$who.key ;;
  esac
  local out
  out=$(curl -sS --http2 --cacert "$C/ca.pem" --cert "$cert" --key "$key" -X "$method" \
    -H 'content-type: application/json' --data-binary "$body" -D "$T/hdr" -o "$T/resp" \
    -w '%{http_code} %{http_version}' "$BASE/$op" 2>"$T/curl.err")
  CODE=${out% *} VER=${out#* }
  CTYPE=$(sed -n 's/^content-type: *\([^;[:space:]]*\).*/\1/Ip' "$T/hdr" | tr -d '\r')
}

retrieve() { # retrieve WHO APP KEYID EMSEID
  req "$1" POST retrieve-e2mkey "{\"ueAppId\":\"$2\",\"keyId\":\"$3\",\"emseId\":\"$4\"}"
}

ue() { # ue IMSI JQ-EXPR: a field of the HSS output for the UE
  jq -r --arg i "$1" "select(.imsi == \$i) | $2" "$T/ue.jsonl"
}

URL=https://127.0.0.1:1
UE1=001010000000001 UE2=001010000000002 UE3=001010000000003
cat >"$T/population" <<EOF
# imsi k opc app_ids emse_ids
$UE1 465b5ce8b199b49faa5f0a2ee238a6bc cd63cb71954a9f4e48a5994e37a02baf sensor-1@acme.example emse-1,emse-2
$UE2 0396eb317b6d1c36f19c1c84cd6ffd16 53c15671c60a4b731c55b4a441c0bde2 sensor-2@acme.example,nai-2@x emse-1
$UE3 fec86ba6eb707ed08905757b1bb44b8f 1006020f0a478bf6b699f15c062e42b3 sensor-3@acme.example emse-2
EOF
hss() {
  "$HSS" --population "$T/population" --emks "$URL" --cert "$C/hss.pem" --key "$C/hss.key" \
    --ca "$C/ca.pem" --out "$T/ue.jsonl" "$@" >>"$T/hss.out" 2>&1
}

echo "== configuration errors"
"$EMKS" --listen 127.0.0.1:0 --cert "$C/emks.pem" --key "$C/emks.key" --ca "$C/ca.pem" \
  --db "$T/x.db" --keys-per-ue 0 >/dev/null 2>"$T/cfg.err"; rc=$?
check "--keys-per-ue 0: exit 2 naming the option" test $rc -eq 2 -a -n "$(grep -- --keys-per-ue "$T/cfg.err")"
"$EMKS" --listen 127.0.0.1:0 --cert "$C/emks.pem" --key "$C/emks.key" --ca "$C/ca.pem" >/dev/null 2>"$T/cfg.err"; rc=$?
check "no --db: exit 2 naming the option" test $rc -eq 2 -a -n "$(grep -- --db "$T/cfg.err")"
"$EMKS" --listen 127.0.0.1:0 --cert "$T/nope.pem" --key "$C/emks.key" --ca "$C/ca.pem" --db "$T/x.db" >/dev/null 2>"$T/cfg.err"; rc=$?
check "missing --cert file: exit 2 naming the option" test $rc -eq 2 -a -n "$(grep -- --cert "$T/cfg.err")"
"$HSS" --population "$T/population" --emks "$URL" >/dev/null 2>"$T/cfg.err"; rc=$?
check "emks-hss without --cert: exit 2" test $rc -eq 2

echo "== start emks, HSS pushes the population"
start_emks
check "emks-hss run 1 succeeds" hss
check "output has 3 UEs" test "$(wc -l <"$T/ue.jsonl")" -eq 3
K1=$(ue $UE1 .key_id)
check "key_id is 8 lowercase hex" grep -qE '^[0-9a-f]{8}$' <<<"$K1"
check "key_id = last 4 octets of RAND" test "$K1" = "$(ue $UE1 .rand | cut -c25-32)"
check "psk_identity = e2m.<key_id>@<app id>" \
  test "$(ue $UE1 '.emse["emse-1"].psk_identity')" = "e2m.$K1@sensor-1@acme.example"

echo "== retrieve-e2mkey"
retrieve emse-1 sensor-1@acme.example "$K1" emse-1
check "200 over HTTP/2" test "$CODE $VER" = "200 2"
check "content-type application/json" test "$CTYPE" = application/json
E1=$(jq -r .e2mKey "$T/resp")
check "e2mKey = the HSS's prediction for emse-1" test "$E1" = "$(ue $UE1 '.emse["emse-1"].e2m_key')"
check "keyId echoed" test "$(jq -r .keyId "$T/resp")" = "$K1"
check "expiry is RFC 3339" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$' <<<"$(jq -r .expiry "$T/resp")"
exp_s=$(date -d "$(jq -r .expiry "$T/resp")" +%s); now=$(date +%s)
check "expiry = push + 3600 s" test $((exp_s - now)) -gt 3500 -a $((exp_s - now)) -le 3600
if [ -x "$KEYTOOL" ]; then
  "$KEYTOOL" psk --ck "$(ue $UE1 .ck)" --ik "$(ue $UE1 .ik)" --rand "$(ue $UE1 .rand)" \
    --app-id sensor-1@acme.example --emse-id emse-1 >"$T/kt" 2>&1
  check "e2m-keytool's PSK = EMKS e2mKey" test "$(sed -n 2p "$T/kt")" = "$E1"
  check "e2m-keytool's identity = HSS psk_identity" test "$(sed -n 1p "$T/kt")" = "e2m.$K1@sensor-1@acme.example"
else
  echo "  (build/e2m-keytool not built: cross-check skipped)"
fi
retrieve emse-2 sensor-1@acme.example "$K1" emse-2
E2=$(jq -r .e2mKey "$T/resp" 2>/dev/null)
check "emse-2: 200 with its own key" test "$CODE" = 200 -a "$E2" = "$(ue $UE1 '.emse["emse-2"].e2m_key')"
check "two EMSE_Ids get different keys" test -n "$E2" -a "$E1" != "$E2"
retrieve emse-1 nai-2@x "$(ue $UE2 .key_id)" emse-1
check "second app id of a UE maps to it" test "$CODE" = 200 -a "$(jq -r .e2mKey "$T/resp")" = "$(ue $UE2 '.emse["emse-1"].e2m_key')"
retrieve emse-1 sensor-1@acme.example "$K1" emse-2
check "emseId other than the certificate's: 403 EMSE_NOT_AUTHORIZED" \
  test "$CODE" = 403 -a "$(jq -r .cause "$T/resp")" = EMSE_NOT_AUTHORIZED -a "$CTYPE" = application/problem+json
retrieve emse-3 sensor-1@acme.example "$K1" emse-3
check "EMSE not in the subscription: 403" test "$CODE" = 403 -a "$(jq -r .cause "$T/resp")" = EMSE_NOT_AUTHORIZED
retrieve emse-1 nobody@acme.example "$K1" emse-1
check "unknown UE: 204, no body" test "$CODE" = 204 -a ! -s "$T/resp"
retrieve emse-1 sensor-1@acme.example 00000000 emse-1
check "unknown key id: 204" test "$CODE" = 204
for body in 'not json' '{}' '{"ueAppId":"sensor-1@acme.example","emseId":"emse-1"}' \
  "{\"ueAppId\":\"sensor-1@acme.example\",\"keyId\":\"${K1^^}X\",\"emseId\":\"emse-1\"}" \
  '{"ueAppId":"sensor-1@acme.example","keyId":"ABCDEF01","emseId":"emse-1"}' \
  '{"ueAppId":"sensor-1@acme.example","keyId":"abcdef0","emseId":"emse-1"}' \
  '{"ueAppId":5,"keyId":"abcdef01","emseId":"emse-1"}'; do
  req emse-1 POST retrieve-e2mkey "$body"
  check "bad body -> 400 MANDATORY_IE_INCORRECT: $body" \
    test "$CODE" = 400 -a "$(jq -r .cause "$T/resp" 2>/dev/null)" = MANDATORY_IE_INCORRECT -a "$CTYPE" = application/problem+json
done
check "ProblemDetails carries status" test "$(jq -r .status "$T/resp")" = 400

echo "== retrieve-e2mkeys"
K2=$(ue $UE2 .key_id)
req emse-1 POST retrieve-e2mkeys "{\"requests\":[
  {\"ueAppId\":\"sensor-2@acme.example\",\"keyId\":\"$K2\",\"emseId\":\"emse-1\"},
  {\"ueAppId\":\"nobody\",\"keyId\":\"$K2\",\"emseId\":\"emse-1\"},
  {\"ueAppId\":\"sensor-1@acme.example\",\"keyId\":\"$K1\",\"emseId\":\"emse-2\"},
  {\"ueAppId\":\"sensor-3@acme.example\",\"keyId\":\"$(ue $UE3 .key_id)\",\"emseId\":\"emse-1\"},
  {\"ueAppId\":\"sensor-1@acme.example\",\"keyId\":\"$K1\",\"emseId\":\"emse-1\"}]}"
check "batch: 200" test "$CODE" = 200
check "batch: statuses in request order" test "$(jq -c '[.results[].status]' "$T/resp")" = "[200,204,403,403,200]"
check "batch: keys of entries 0 and 4" test "$(jq -r '.results[0].e2mKey' "$T/resp")" = "$(ue $UE2 '.emse["emse-1"].e2m_key')" \
  -a "$(jq -r '.results[4].e2mKey' "$T/resp")" = "$E1"
req emse-1 POST retrieve-e2mkeys '{"requests":[]}'
check "batch: 0 requests -> 400" test "$CODE" = 400
req emse-1 POST retrieve-e2mkeys "{\"requests\":[$(for i in $(seq 257); do printf '%s{"ueAppId":"u","keyId":"00000001","emseId":"emse-1"}' "$([ $i -gt 1 ] && echo ,)"; done)]}"
check "batch: 257 requests -> 400" test "$CODE" = 400
req emse-1 POST retrieve-e2mkeys "{\"requests\":[$(for i in $(seq 256); do printf '%s{"ueAppId":"u","keyId":"00000001","emseId":"emse-1"}' "$([ $i -gt 1 ] && echo ,)"; done)]}"
check "batch: 256 requests -> 200 with 256 results" test "$CODE" = 200 -a "$(jq '.results | length' "$T/resp")" = 256

urls=(); for i in $(seq 2000); do urls+=("$BASE/retrieve-e2mkey"); done
codes=$(curl -s --http2 --cacert "$C/ca.pem" --cert "$C/emse/emse-1.pem" --key "$C/emse/emse-1.key" \
  -H 'content-type: application/json' -d "{\"ueAppId\":\"sensor-1@acme.example\",\"keyId\":\"$K1\",\"emseId\":\"emse-1\"}" \
  -w '\nCODE %{http_code} %{num_connects}\n' "${urls[@]}" | grep '^CODE' | sort | uniq -c | tr -s ' \n' ' ')
# curl 7.88 resets each finished stream: nghttp2's rapid-reset guard must not end the connection.
check "2000 requests on one connection: all 200, one connect (got:$codes)" test "$codes" = " 1999 CODE 200 0 1 CODE 200 1 "

echo "== authorisation of the HSS endpoints"
req emse-1 POST register-intkey "{\"imsi\":\"$UE1\",\"keyId\":\"01020304\",\"e2mIntKey\":\"$(printf '%064d' 0)\"}"
check "register-intkey with an EMSE certificate: 403" test "$CODE" = 403
req emse-1 PUT subscribers/$UE1 '{"ueAppIds":["sensor-1@acme.example"],"emseIds":["emse-3"]}'
check "PUT subscribers with an EMSE certificate: 403" test "$CODE" = 403
req emse-1 POST remove-context "{\"imsi\":\"$UE1\"}"
check "remove-context with an EMSE certificate: 403" test "$CODE" = 403
retrieve hss sensor-1@acme.example "$K1" emse-1
check "retrieve-e2mkey with the HSS certificate: 403" test "$CODE" = 403
retrieve emse-1 sensor-1@acme.example "$K1" emse-1
check "the refused calls changed nothing" test "$CODE" = 200 -a "$(jq -r .e2mKey "$T/resp")" = "$E1"
"$ROOT/tools/make-certs.sh" "$T/other" emse-1 >/dev/null
curl -sS --http2 --cacert "$C/ca.pem" --cert "$T/other/emse/emse-1.pem" --key "$T/other/emse/emse-1.key" \
  -d '{}' "$BASE/retrieve-e2mkey" >/dev/null 2>&1; rc=$?
check "certificate of another CA: TLS refused (curl rc $rc)" test $rc -ne 0
curl -sS --http2 --cacert "$C/ca.pem" -d '{}' "$BASE/retrieve-e2mkey" >/dev/null 2>&1; rc=$?
check "no client certificate: TLS refused (curl rc $rc)" test $rc -ne 0

echo "== re-authentication: 5 more AKA runs of UE1"
ids=("$K1") keys=("$E1")
for i in 1 2 3 4 5; do
  check "emks-hss --only run $i" hss --only $UE1
  ids+=("$(ue $UE1 .key_id)") keys+=("$(ue $UE1 '.emse["emse-1"].e2m_key')")
done
check "6 distinct key ids" test "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" -eq 6
check "--only left UE2's line alone" test "$(ue $UE2 .key_id)" = "$K2"
check_window() { # the newest N key ids answer 200 with the key of that run, older ones 204
  local label=$1 n=${#ids[@]} i
  for i in $(seq 0 $((n - 1))); do
    retrieve emse-1 sensor-1@acme.example "${ids[$i]}" emse-1
    if [ $i -ge $((n - N)) ]; then
      check "$label: key id #$i (${ids[$i]}) gives that run's key" \
        test "$CODE" = 200 -a "$(jq -r .e2mKey "$T/resp")" = "${keys[$i]}"
    else
      check "$label: key id #$i (${ids[$i]}) is gone (204)" test "$CODE" = 204
    fi
  done
}
check_window "after 5 re-authentications"

echo "== restart: nothing acknowledged is lost"
stop_emks; rc=$?
check "SIGTERM: exit 0" test $rc -eq 0
start_emks
check_window "after restart"
retrieve emse-2 sensor-3@acme.example "$(ue $UE3 .key_id)" emse-2
check "after restart: UE3 via emse-2" test "$CODE" = 200 -a "$(jq -r .e2mKey "$T/resp")" = "$(ue $UE3 '.emse["emse-2"].e2m_key')"

echo "== remove a UE"
check "emks-hss --remove UE2" "$HSS" --remove $UE2 --emks "$URL" --cert "$C/hss.pem" --key "$C/hss.key" \
  --ca "$C/ca.pem" --out "$T/ue.jsonl"
retrieve emse-1 sensor-2@acme.example "$K2" emse-1
check "UE2 after remove-context: 204" test "$CODE" = 204
check "UE2's line left the output" test -z "$(ue $UE2 .key_id)"
stop_emks; rc=$?
check "SIGTERM: exit 0 (2)" test $rc -eq 0

echo "== IPv6 listener with --rate-limit 3: overload answers 503 with Retry-After"
"$EMKS" --listen '[::1]:0' --cert "$C/emks.pem" --key "$C/emks.key" --ca "$C/ca.pem" \
  --db "$T/rl.db" --rate-limit 3 >"$T/emks2.out" 2>>"$T/emks.err" &
EMKS2_PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$T/emks2.out" && break; sleep 0.1; done
PORT2=$(sed -n 's/^emks: listening on \[::1\]:\([0-9]*\).*/\1/p' "$T/emks2.out")
check "listening on [::1]" test -n "$PORT2"
if [ -n "$PORT2" ]; then
  urls=(); for i in $(seq 10); do urls+=("https://[::1]:$PORT2/nemks-e2m/v1/retrieve-e2mkey"); done
  out=$(curl -s --http2 --cacert "$C/ca.pem" --cert "$C/emse/emse-1.pem" --key "$C/emse/emse-1.key" \
    -H 'content-type: application/json' -d '{"ueAppId":"a","keyId":"00000001","emseId":"emse-1"}' \
    -D - -w '\nCODE %{http_code}\n' "${urls[@]}")
  n204=$(grep -c '^CODE 204' <<<"$out"); n503=$(grep -c '^CODE 503' <<<"$out")
  check "some requests served (got $n204), the rest 503 (got $n503)" test "$n204" -ge 3 -a "$n503" -ge 1 -a $((n204 + n503)) -eq 10
  check "503 carries Retry-After: 1" grep -qi '^retry-after: 1' <<<"$out"
  check "503 body is NF_CONGESTION ProblemDetails" grep -q '"cause":"NF_CONGESTION"' <<<"$out"
  kill -TERM $EMKS2_PID; wait $EMKS2_PID; rc=$?; EMKS2_PID=
  check "second emks: SIGTERM exit 0" test $rc -eq 0
fi

echo "emks_api: $passes passed, $fails failed"
if [ $fails -ne 0 ]; then
  echo "--- emks stderr"; tail -20 "$T/emks.err"; echo "--- emks-hss output"; tail -20 "$T/hss.out"
  exit 1
fi
exit 0
