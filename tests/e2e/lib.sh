# Shared helpers for end-to-end tests: emse on a net_tap port whose kernel side lives in a network
# namespace the test creates (198.18.0.0/15, 2001:db8::/32), real clients run inside it.
# Source it; call e2e_init NAME first. Everything started is stopped by the EXIT trap.

set -uo pipefail
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${EMSE_BUILD:-$E2E_ROOT/build}
EMSE_BIN=${EMSE_BIN:-$BUILD/emse}
E2E_FAILS=0
E2E_PIDS=()

e2e_init() {
	E2E_NAME=$1
	local id=$(( $$ % 10000 ))
	NS=emse-$E2E_NAME-$id
	NS=${NS:0:30}
	TAPIF=emt$id
	E2E_PREFIX=emse-e2e-$id
	PROM_PORT=$(( 20000 + $$ % 20000 ))
	TMP=$(mktemp -d /tmp/emse-e2e.XXXXXX)
	trap e2e_cleanup EXIT
	trap 'exit 143' INT TERM # a killed test (timeout) still cleans up, through EXIT
}

e2e_cleanup() {
	local rc=$?
	# a tools/lb balancer first: its controller runs in a namespace deleted below
	[ -n "${E2E_LB_NS:-}" ] && bash "$E2E_ROOT/tools/lb/emse-lb.sh" down --ns "$E2E_LB_NS" >/dev/null 2>&1
	for p in "${E2E_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	# and whatever is still running inside the namespace (clients started through in_ns)
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	[ -n "${EMSE_PID:-}" ] && emse_stop >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	e2e_netns_cleanup
	rm -rf "$TMP" "/var/run/dpdk/$E2E_PREFIX" # EAL leaves its runtime directory behind
	exit $rc
}

pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; E2E_FAILS=$((E2E_FAILS + 1)); }
check() { # check "description" command...
	local d=$1; shift
	if "$@"; then pass "$d"; else fail "$d"; return 1; fi
}
e2e_done() {
	if [ "$E2E_FAILS" -eq 0 ]; then echo "$E2E_NAME: all checks passed"; exit 0; fi
	echo "$E2E_NAME: $E2E_FAILS checks failed"; exit 1
}

# Writes a config for a listener on 198.18.0.1 and 2001:db8::1 port 5684. Extra lines for [emse]
# come as arguments, extra lines for [port] in EMSE_PORT_CONF.
emse_config() {
	local keys=$1; shift
	{
		echo "[emse]"
		for l in "$@"; do echo "$l"; done
		echo "[port]"
		[ -n "${EMSE_PORT_CONF:-}" ] && echo "$EMSE_PORT_CONF"
		echo "address = 198.18.0.1"
		echo "address = 2001:db8::1"
		echo "[listener v4]"
		echo "address = 198.18.0.1"
		echo "port = 5684"
		echo "emse_id = emse-1"
		echo "[listener v6]"
		echo "address = 2001:db8::1"
		echo "port = 5684"
		echo "emse_id = emse-1"
		echo "$keys"
		echo "[telemetry]"
		echo "prometheus = 127.0.0.1:$PROM_PORT"
	} > "$TMP/emse.conf"
}

# Starts build/emse on a TAP port, moves the TAP's kernel side into $NS as 198.18.0.2/24 and
# 2001:db8::2/64. Extra EAL arguments may follow; EMSE_LCORES overrides "-l 0-1".
emse_start() {
	ip netns add "$NS"
	"$EMSE_BIN" ${EMSE_LCORES:--l 0-1} --no-huge --no-pci -m 512 --file-prefix "$E2E_PREFIX" \
		--log-level=lib.eal:error --vdev "net_tap0,iface=$TAPIF" "$@" \
		-- --config "$TMP/emse.conf" > "$TMP/emse.log" 2>&1 &
	EMSE_PID=$!
	# up to 30 s: on a loaded 2-core machine EAL set-up of --no-huge memory alone can take 10
	for _ in $(seq 1 300); do
		grep -q "emse: running" "$TMP/emse.log" && break
		kill -0 $EMSE_PID 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "emse: running" "$TMP/emse.log"; then
		echo "emse did not start:"; cat "$TMP/emse.log"; return 1
	fi
	ip link set "$TAPIF" netns "$NS" || return 1
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add 198.18.0.2/24 dev "$TAPIF"
	ip -n "$NS" addr add 2001:db8::2/64 dev "$TAPIF" nodad
	ip -n "$NS" link set "$TAPIF" up
	EMSE_MAC=$(grep -o "mac [0-9a-f:]*" "$TMP/emse.log" | cut -d' ' -f2)
	# The first ARP exchange also shows the port answers.
	for _ in $(seq 1 50); do
		ip netns exec "$NS" ping -c1 -W1 198.18.0.1 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "emse does not answer ping on the TAP"; return 1
}

# SIGTERM, and the exit status must be 0 (workers drained, everything freed).
emse_stop() {
	[ -n "${EMSE_PID:-}" ] || return 0
	kill -TERM "$EMSE_PID" 2>/dev/null
	local rc=0
	wait "$EMSE_PID" || rc=$?
	EMSE_PID=
	if [ $rc -ne 0 ]; then
		echo "emse exited with status $rc; its log ends:"
		tail -20 "$TMP/emse.log"
	fi
	return $rc
}

# Sum of a Prometheus metric over workers; with a reason label if given.
metric() {
	local name=$1 reason=${2:-}
	local body
	# An unreachable endpoint is -1, so that no comparison passes by accident.
	body=$(curl -sf --max-time 5 --retry 2 --retry-delay 1 "http://127.0.0.1:$PROM_PORT/metrics") || { echo -1; return 1; }
	awk -v n="emse_$name" -v r="$reason" '
		{ split($1, a, "{"); if (a[1] != n && a[1] != n "_total") next;
		  if (r != "" && index($1, "reason=\"" r "\"") == 0) next; s += $2 }
		END { printf "%.0f\n", s }' <<<"$body"
}

# Waits until metric >= value (5 s by default: the machine is shared).
wait_metric() {
	local name=$1 want=$2 reason=${3:-} t=${4:-50}
	for _ in $(seq 1 "$t"); do
		[ "$(metric "$name" "$reason")" -ge "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

in_ns() { ip netns exec "$NS" "$@"; }
# tel_cmd COMMAND: emse's DPDK telemetry answer to COMMAND, as JSON (its value only).
tel_cmd() {
	timeout 10 python3 -c '
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1]); s.recv(4096)
s.send(sys.argv[2].encode()); r = json.loads(s.recv(1 << 20))
print(json.dumps(r[sys.argv[2].split(",")[0]], sort_keys=True))' \
		"/var/run/dpdk/$E2E_PREFIX/dpdk_telemetry.v2" "$1"
}
# raw_key VAR HEX: the key's raw bytes into VAR, for clients that take them on the command line
# (coap-client -k). printf -v, not $(...): command substitution would strip a trailing 0x0a.
raw_key() { printf -v "$1" "$(sed 's/../\\x&/g' <<<"$2")"; }

# The reference EMKS for tests that talk to one: certificates in $C, database $EMKS_DB, port
# $EMKS_PORT (0: a free one, then the one it got, so a restart reuses it), extra options in the
# array EMKS_ARGS. Output in $TMP/emks.out, stderr (exit counts, --log-requests) in $TMP/emks.err.
EMKS_PID=
EMKS_PORT=0
EMKS_ARGS=()
start_emks() {
	: >"$TMP/emks.out"
	"$BUILD/emks" --listen "127.0.0.1:$EMKS_PORT" --cert "$C/emks.pem" --key "$C/emks.key" \
		--ca "$C/ca.pem" --db "$EMKS_DB" --keys-per-ue 4 --expiry-s 3600 "${EMKS_ARGS[@]}" \
		>"$TMP/emks.out" 2>>"$TMP/emks.err" &
	EMKS_PID=$!
	E2E_PIDS+=("$EMKS_PID")
	for _ in $(seq 100); do
		grep -q 'emks: listening on' "$TMP/emks.out" && break
		kill -0 "$EMKS_PID" 2>/dev/null || break
		sleep 0.1
	done
	EMKS_PORT=$(sed -n 's/^emks: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/emks.out")
	[ -n "$EMKS_PORT" ] || { echo "emks did not start:"; cat "$TMP/emks.err"; return 1; }
}
stop_emks() {
	kill -TERM "$EMKS_PID" 2>/dev/null
	wait "$EMKS_PID" 2>/dev/null
	EMKS_PID=
}

# hs PORT IDENTITY KEY: a DTLS 1.2 PSK handshake with openssl s_client from $NS to 198.18.0.1 and
# one echoed datagram; 0 if echoed. s_client's stderr is left in $TMP/s_client.err.
hs() {
	local msg="hello-$RANDOM-$RANDOM"
	local out
	out=$( (echo "$msg"; sleep 2) | in_ns timeout 10 openssl s_client -dtls1_2 \
		-connect "198.18.0.1:$1" -psk_identity "$2" -psk "$3" -cipher PSK-AES128-CCM8 -quiet \
		2>"$TMP/s_client.err")
	grep -q "$msg" <<<"$out"
}

# emks-hss on $TMP/population towards that EMKS; what each UE holds goes to $TMP/ue.jsonl.
hss() {
	"$BUILD/emks-hss" --population "$TMP/population" --emks "https://127.0.0.1:$EMKS_PORT" \
		--cert "$C/hss.pem" --key "$C/hss.key" --ca "$C/ca.pem" --out "$TMP/ue.jsonl" "$@" \
		>>"$TMP/hss.out" 2>&1
}
ue() { # ue IMSI JQ-EXPR
	jq -r --arg i "$1" "select(.imsi == \$i) | $2" "$TMP/ue.jsonl"
}
ident() { ue "$1" ".emse[\"$2\"].psk_identity"; }
key() { ue "$1" ".emse[\"$2\"].e2m_key"; }
# More namespaces (the tools/lb tests): e2e_netns NAME... creates them, the EXIT trap kills what
# runs in them and deletes them.
E2E_NETNS=()
e2e_netns() {
	local n
	for n in "$@"; do
		ip netns add "$n" || return 1
		E2E_NETNS+=("$n")
		ip -n "$n" link set lo up
	done
}
e2e_netns_cleanup() {
	local n
	for n in "${E2E_NETNS[@]}"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
# e2e_veth NS1 IF1 NS2 IF2 [ADDR1 ADDR2]: a veth pair between two namespaces, up.
e2e_veth() {
	local a=e2v$$a b=e2v$$b
	ip link add "$a" type veth peer name "$b" || return 1
	ip link set "$a" netns "$1" name "$2" && ip link set "$b" netns "$3" name "$4" || return 1
	[ -n "${5:-}" ] && ip -n "$1" addr add "$5" dev "$2"
	[ -n "${6:-}" ] && ip -n "$3" addr add "$6" dev "$4"
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}
# e2e_carrier_nat NS OUT_IF: a carrier-grade NAT: forwards, masquerades to OUT_IF's address with
# random ports (`conntrack -F` in NS then rebinds every UE).
e2e_carrier_nat() {
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$1" nft -f - <<-EOF
	table ip cgnat {
		chain post { type nat hook postrouting priority srcnat; oifname "$2" masquerade random; }
	}
	EOF
}
