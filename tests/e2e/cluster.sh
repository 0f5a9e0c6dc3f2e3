#!/usr/bin/env bash
# Issue 15: two emse nodes behind the tools/lb balancer, Connection IDs, forwarding between nodes.
#
#   UE ns 198.18.100.2 (N cid-clients, one source port each)
#     -> carrier NAT ns (masquerade random to 198.18.101.1; conntrack -F rebinds every UE)
#     -> balancer ns = $NS (VIP 198.18.102.1, tools/lb/emse-lb.sh; br0 198.18.103.1)
#     -> node 1 emse 198.18.103.11, node 2 emse 198.18.103.12 (TAP ports on br0), cluster port
#        7946 between them, one cluster key; the UEs' keys from one reference EMKS (both nodes fetch)
#
# 1. N UEs handshake (CID on) through the VIP and have a record echoed: spread over both nodes.
# 2. NAT flushed: every UE's next record is echoed by the node holding its session, 0 new
#    handshakes, steered by the balancer's CID rule; no forwarding.
# 3. CID rule deleted, NAT flushed again: the same, now by forwarding between the nodes (a record
#    hashed to the other node is sent on in an envelope), counted on both nodes.
# 4. Node 2 saves its sessions ([persist], SIGUSR2) and is killed (SIGKILL): its UEs' next
#    record is lost, they re-handshake (on node 1: the balancer took node 2's buckets); node 1's
#    UEs see nothing (0 new handshakes). Half of node 2's UEs sleep through the outage.
# 5. Node 2 restarted: it restores its sessions, the sleepers' next record is echoed by it with no
#    new handshake; the balancer gives it its buckets back and new UEs handshake on it again.
#
# N: CLUSTER_UES (default 200). Skips where cid-client is not built (make deps builds mbedTLS).
source "$(dirname "$0")/lib.sh"
e2e_init cluster
CID_CLIENT=${CID_CLIENT:-$BUILD/cid-client}
N=${CLUSTER_UES:-100}
K=${CLUSTER_BENCH_RECORDS:-} # bench mode: K records per UE direct, K forwarded, then stop
if [ ! -x "$CID_CLIENT" ]; then
	echo "skip: $CID_CLIENT not built (make deps builds mbedTLS 3.6, then make build/cid-client)"
	exit 0
fi
for tool in nft conntrack; do
	command -v "$tool" >/dev/null || { echo "skip: $tool missing (make deps installs it)"; exit 0; }
done
LB=$E2E_ROOT/tools/lb
id=$(( $$ % 10000 ))
UE=cl$id-ue NAT=cl$id-nat VIP=198.18.102.1
E2E_LB_NS=$NS # emse-lb.sh down on exit (lib.sh)
NODE_PID=() NODE_TAP=() NODE_PROM=()

node_cleanup() {
	local k
	for k in 1 2; do
		[ -n "${NODE_PID[$k]:-}" ] && kill -TERM "${NODE_PID[$k]}" 2>/dev/null &&
			wait "${NODE_PID[$k]}" 2>/dev/null
		rm -rf "/var/run/dpdk/$E2E_PREFIX-n$k"
	done
}
trap 'rc=$?; node_cleanup; (exit $rc); e2e_cleanup' EXIT

# ---- keys: N UEs in the reference EMKS (emks-hss derives and pushes each one's e2m_key); both
# nodes fetch from it with the same EMSE_Id and certificate: nothing else is shared -------------
C=$TMP/certs
"$E2E_ROOT/tools/make-certs.sh" "$C" emse-1 >/dev/null || { echo "make-certs failed"; exit 1; }
EMKS_DB=$TMP/emks.db
: > "$TMP/population"
for i in $(seq 1 "$N"); do
	printf '00101%010d %s %s ue-%d@acme.example emse-1\n' "$i" \
		"$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
		"$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$i" >> "$TMP/population"
done
start_emks || exit 1
hss || { echo "emks-hss failed:"; cat "$TMP/hss.out"; exit 1; }
head -c 32 /dev/urandom > "$TMP/cluster.key"
ue_id() { ident "00101$(printf %010d "$1")" emse-1; }
ue_key() { key "00101$(printf %010d "$1")" emse-1; }

node_conf() { # k
	local k=$1 j=$((3 - $1))
	head -c 32 /dev/urandom > "$TMP/cid$k.key"
	head -c 32 /dev/urandom > "$TMP/persist$k.key"
	cat > "$TMP/node$k.conf" <<-EOF
	[emse]
	[port]
	address = 198.18.103.1$k
	mac = 02:00:c6:12:67:1$k
	[listener v4]
	address = 198.18.103.1$k
	port = 5684
	emse_id = emse-1
	cid = on
	emks_cert = $C/emse/emse-1.pem
	emks_key = $C/emse/emse-1.key
	[keys]
	source = emks
	[emks]
	url = https://127.0.0.1:$EMKS_PORT
	ca = $C/ca.pem
	[cluster]
	node_id = $k
	cid_key_file = $TMP/cid$k.key
	cluster_port = 7946
	key_file = $TMP/cluster.key
	peer = $j 198.18.103.1$j 7946
	[persist]
	file = $TMP/persist$k.bin
	key_file = $TMP/persist$k.key
	[telemetry]
	prometheus = 127.0.0.1:${NODE_PROM[$k]}
	EOF
}
# Node k: emse on a TAP (a fixed MAC in [port], so a restart keeps it). net_tap gives the TAP's
# kernel side the port's MAC too; it gets another, or the bridge would take frames to emse's
# MAC for itself (a port's own MAC is local to a bridge)., the TAP's kernel side on br0. Each
# node's worker gets its own CPU where there are two.
node_start() { # k
	local k=$1 lc="-l 0-1"
	[ "$k" = 2 ] && lc="--lcores 0@1,1@0"
	"$EMSE_BIN" $lc --no-huge --no-pci -m 256 --file-prefix "$E2E_PREFIX-n$k" \
		--log-level=lib.eal:error --vdev "net_tap0,iface=${NODE_TAP[$k]}" \
		-- --config "$TMP/node$k.conf" > "$TMP/node$k.log" 2>&1 &
	NODE_PID[$k]=$!
	for _ in $(seq 1 300); do
		grep -q "emse: running" "$TMP/node$k.log" && break
		kill -0 "${NODE_PID[$k]}" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "emse: running" "$TMP/node$k.log" || { echo "node $k did not start:"; cat "$TMP/node$k.log"; return 1; }
	ip link set "${NODE_TAP[$k]}" netns "$NS" &&
		ip -n "$NS" link set "${NODE_TAP[$k]}" address "02:00:c6:12:68:1$k" &&
		ip -n "$NS" link set "${NODE_TAP[$k]}" master br0 &&
		ip -n "$NS" link set "${NODE_TAP[$k]}" up || return 1
	for _ in $(seq 1 50); do
		ip netns exec "$NS" ping -c1 -W1 "198.18.103.1$k" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "node $k does not answer ping"; return 1
}
# Both nodes' metrics are read once per group of checks (snap), then looked up (nm): a scrape
# can take seconds on a loaded machine.
snap() {
	local k
	for k in 1 2; do
		curl -sf --max-time 5 --retry 2 --retry-delay 1 \
			"http://127.0.0.1:${NODE_PROM[$k]}/metrics" > "$TMP/m$k" 2>/dev/null || : > "$TMP/m$k"
	done
}
nm() { # k metric [reason]: node k's Prometheus metric from the last snap; -1 if it had none
	[ -s "$TMP/m$1" ] || { echo -1; return; }
	awk -v n="emse_$2" -v r="${3:-}" '
		{ split($1, a, "{"); if (a[1] != n && a[1] != n "_total") next;
		  if (r != "" && index($1, "reason=\"" r "\"") == 0) next; s += $2 }
		END { printf "%.0f\n", s }' "$TMP/m$1"
}
both() { echo $(( $(nm 1 "$@") + $(nm 2 "$@") )); }
lbcount() { ip netns exec "$NS" nft list counter ip emse_lb "$1" | awk '/packets/ { print $2 }'; }

for k in 1 2; do
	NODE_TAP[$k]=emc$k$id
	NODE_PROM[$k]=$(( PROM_PORT + k ))
	node_conf "$k"
done
# [cluster] refused at start, the setting named, exit 2: no key file, a short one, the cluster
# port on a listener's port
refused() { # description, sed expression on node 1's config, what the message must name
	sed "$2" "$TMP/node1.conf" > "$TMP/bad.conf"
	"$EMSE_BIN" --no-huge --no-pci -m 64 --file-prefix "$E2E_PREFIX-chk" --log-level=lib.eal:error \
		-- --config "$TMP/bad.conf" --check > "$TMP/bad.log" 2>&1
	local rc=$?
	rm -rf "/var/run/dpdk/$E2E_PREFIX-chk"
	check "refused at start: $1 (exit $rc)" [ "$rc" -eq 2 ] && check "the message names $3" grep -qF "$3" "$TMP/bad.log"
}
head -c 31 /dev/urandom > "$TMP/short.key"
refused "no cluster key file" "s|^key_file = $TMP/cluster.key|key_file = $TMP/none.key|" "[cluster] key_file"
refused "a short cluster key" "s|^key_file = $TMP/cluster.key|key_file = $TMP/short.key|" "[cluster] key_file"
refused "the cluster port on the listener's" "s|^cluster_port = 7946|cluster_port = 5684|" "[cluster] cluster_port"

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add 198.18.103.1/24 dev br0
ip -n "$NS" link set br0 up
echo "[t=${SECONDS}s] starting nodes"
node_start 1 || exit 1
node_start 2 || exit 1

e2e_netns "$UE" "$NAT" || exit 1
e2e_veth "$UE" eth0 "$NAT" in0 198.18.100.2/24 198.18.100.1/24 || exit 1
e2e_veth "$NAT" out0 "$NS" up0 198.18.101.1/24 198.18.101.2/24 || exit 1
ip -n "$UE" route add default via 198.18.100.1
ip -n "$NAT" route add 198.18.102.0/24 via 198.18.101.2
e2e_carrier_nat "$NAT" out0 || exit 1
# --fall 6: a node out after 3 s without an answer to ping; with 1 s (the default 2 checks) a
# loaded machine's slow answers took a live node out (and its UEs to the other node) in test runs
check "emse-lb.sh up: VIP $VIP, nodes 1 and 2" \
	bash "$LB/emse-lb.sh" up --ns "$NS" --vip $VIP --node 1=198.18.103.11 --node 2=198.18.103.12 \
	--interval 0.5 --fall 6 >/dev/null

echo "[t=${SECONDS}s] phase 1"
buckets_of() { # k: node k holds at least 100 of the 256 buckets
	[ "$(ip netns exec "$NS" nft list map ip emse_lb buckets | grep -o "198.18.103.1$1" | wc -l)" -ge 100 ]
}
# the controller's first check round may miss a node on a loaded machine: it joins within --rise
for _ in $(seq 1 100); do buckets_of 1 && buckets_of 2 && break; sleep 0.1; done
check "both nodes hold their share of the buckets" eval "buckets_of 1 && buckets_of 2"

# ---- 1. N UEs: handshake and one record each; the next records wait for $TMP/step ------------
# each UE waits for its own step file: the test moves all of them, or some, to the next record
set_step() { # value UE...
	local v=$1 i
	shift
	for i in "$@"; do echo "$v" > "$TMP/step.$i"; done
}
ALL=$(seq 1 "$N")
set_step 0 $ALL
t0=$SECONDS
for i in $(seq 1 "$N"); do
	ip netns exec "$UE" timeout 900 "$CID_CLIENT" --host $VIP --port 5684 \
		--psk-identity "$(ue_id "$i")" --psk-hex "$(ue_key "$i")" --cid on --records $(( K ? 2 * K + 1 : 4 )) \
		--step-file "$TMP/step.$i" --rehandshake --timeout-ms 3000 > "$TMP/ue$i.out" 2>&1 &
	UE_PID[$i]=$!
done
echoed() { grep -l "^echo $1:" "$TMP"/ue*.out 2>/dev/null | wc -l; }
wait_echoed() { # step [seconds]: until every UE echoed it, or 60 s
	for _ in $(seq 1 $(( ${2:-60} * 10 ))); do [ "$(echoed "$1")" -ge "$N" ] && return 0; sleep 0.1; done
	return 1
}
check "1: $N UEs handshook and had record 0 echoed ($((SECONDS - t0)) s)" wait_echoed 0 ||
	grep -L "^echo 0:" "$TMP"/ue*.out | head -3 | xargs -r tail -n 3
# the node a UE's session is on: octet 0 of the CID the server gave it
on_node() { grep "^handshake:" "$TMP/ue$1.out" | tail -1 | sed -n 's/.*peer_cid=\(..\).*/\1/p'; }
n1=0 n2=0
for i in $(seq 1 "$N"); do
	case $(on_node "$i") in 01) n1=$((n1 + 1)) ;; 02) n2=$((n2 + 1)) ;; esac
done
snap
echo "sessions: node 1 $n1, node 2 $n2"
check "every session on node 1 or 2, both nodes have some" [ $((n1 + n2)) -eq "$N" -a "$n1" -gt 0 -a "$n2" -gt 0 ]
# at least: a ClientHello retransmitted under load can complete a second handshake whose client
# had already moved on (the session then idles out)
check "the nodes count them (hs_completed $(nm 1 hs_completed) + $(nm 2 hs_completed))" \
	[ "$(nm 1 hs_completed)" -ge "$n1" -a "$(nm 2 hs_completed)" -ge "$n2" ]
hs0=$(both hs_started)
del_cid_rule() {
	local h
	h=$(ip netns exec "$NS" nft -a list chain ip emse_lb steer | sed -n 's/.*cid_steered.*# handle \([0-9]*\)/\1/p')
	ip netns exec "$NS" nft delete rule ip emse_lb steer handle "$h"
}

# ---- bench mode: the busy time of both nodes per record, direct and forwarded ----------------
# Direct: K records per UE through the CID rule (each handled by its owner alone). Forwarded: K
# more without it, after a NAT flush; f of them hashed to the other node, which forwarded them.
# busy = (R - f) x direct + f x forwarded gives a forwarded record's cost (both nodes' work).
if [ -n "$K" ]; then
	# busy_cycles: TSC cycles of the loop iterations that did work (busy_ns, the smaller of two
	# estimates, is 0 here: at a few thousand records a second its idle-poll estimate is loose)
	busy() { both busy_cycles; }
	own() { echo $(( $(both busy_cycles) - $(both port_rx_cycles) - $(both port_tx_cycles) )); }
	ip netns exec "$NAT" conntrack -F 2>/dev/null
	snap; b0=$(busy) o0=$(own) f0=$(both cluster_fwd_sent)
	set_step "$K" $ALL
	check "bench: $N x $K records through the CID rule" wait_echoed "$K" 600
	snap; b1=$(busy) o1=$(own) f1=$(both cluster_fwd_sent)
	check "the balancer's CID rule deleted" del_cid_rule
	ip netns exec "$NAT" conntrack -F 2>/dev/null
	set_step $(( 2 * K )) $ALL
	check "bench: $N x $K records more without it" wait_echoed $(( 2 * K )) 600
	snap; b2=$(busy) o2=$(own) f2=$(both cluster_fwd_sent)
	R=$(( N * K )) f=$(( f2 - f1 ))
	check "bench: nothing forwarded through the CID rule, some without ($f)" [ $(( f1 - f0 )) -eq 0 -a "$f" -gt 0 ]
	awk -v R="$R" -v f="$f" -v d="$((b1 - b0))" -v m="$((b2 - b1))" -v od="$((o1 - o0))" -v om="$((o2 - o1))" 'BEGIN {
		cd = d / R; cf = (m - (R - f) * cd) / f; ocd = od / R; ocf = (om - (R - f) * ocd) / f
		printf "bench: %d records each way, %d forwarded (%.0f %%)\n", R, f, 100 * f / R
		printf "bench: busy TSC cycles per record, both nodes: direct %.0f, forwarded %.0f, ratio %.2f\n", cd, cf, cf / cd
		printf "bench: less the port I/O (TAP system calls): direct %.0f, forwarded %.0f, ratio %.2f\n", ocd, ocf, ocf / ocd }'
	e2e_done
fi

echo "[t=${SECONDS}s] phase 2"
# ---- 2. NAT rebinds every UE; the balancer's CID rule steers each record to its node ---------
ip netns exec "$NAT" conntrack -F 2>/dev/null
steered0=$(lbcount cid_steered)
set_step 1 $ALL
check "2: after the NAT flush every UE's record 1 was echoed" wait_echoed 1
snap
check "0 new handshakes" [ "$(both hs_started)" -eq "$hs0" ]
check "each node moved its own sessions to the new NAT ports (cid_addr_changes $(nm 1 cid_addr_changes) / $(nm 2 cid_addr_changes))" \
	[ "$(nm 1 cid_addr_changes)" -eq "$n1" -a "$(nm 2 cid_addr_changes)" -eq "$n2" ]
check "the balancer's CID rule steered them ($(( $(lbcount cid_steered) - steered0 )))" \
	[ $(( $(lbcount cid_steered) - steered0 )) -ge "$N" ]
check "nothing forwarded between nodes" [ "$(both cluster_fwd_sent)" -eq 0 ]

echo "[t=${SECONDS}s] phase 3"
# ---- 3. without the CID rule: records hashed to the wrong node are forwarded to the owner -----
check "the balancer's CID rule deleted" del_cid_rule
ip netns exec "$NAT" conntrack -F 2>/dev/null
steered0=$(lbcount cid_steered)
set_step 2 $ALL
check "3: after a second flush, without the CID rule, every UE's record 2 was echoed" wait_echoed 2
snap
check "0 new handshakes" [ "$(both hs_started)" -eq "$hs0" ]
check "no datagram went through the deleted CID rule" [ "$(lbcount cid_steered)" -eq "$steered0" ]
s1=$(nm 1 cluster_fwd_sent) s2=$(nm 2 cluster_fwd_sent) r1=$(nm 1 cluster_fwd_received) r2=$(nm 2 cluster_fwd_received)
echo "forwarded: node 1 -> 2: $s1 sent, $r2 received; node 2 -> 1: $s2 sent, $r1 received"
check "both nodes forwarded records for the other" [ "$s1" -gt 0 -a "$s2" -gt 0 ]
check "every envelope arrived and was accepted" [ "$s1" -eq "$r2" -a "$s2" -eq "$r1" ]
check "the owners moved the sessions (cid_addr_changes $(both cid_addr_changes) = 2 x $N)" \
	[ "$(both cid_addr_changes)" -eq $((2 * N)) ]
for c in cluster_fwd_bad_auth cluster_fwd_stale cluster_fwd_malformed cluster_fwd_not_ours \
	cluster_fwd_unresolved cid_record_drop cid_unknown cid_addr_refused; do
	[ "$(both $c)" = 0 ] || echo "  $c: node 1 $(nm 1 $c), node 2 $(nm 2 $c)"
done
check "no envelope refused, no record dropped" \
	[ $(( $(both cluster_fwd_bad_auth) + $(both cluster_fwd_stale) + $(both cluster_fwd_malformed) + $(both cluster_fwd_not_ours) + $(both cid_record_drop) + $(both cid_unknown) )) -eq 0 ]

echo "[t=${SECONDS}s] phase 4"
# ---- 4. node 2 saves its sessions, is killed: its UEs that send re-handshake on node 1, node 1's
# UEs see nothing; some of node 2's UEs sleep through the outage -------------------------------
hs1=$(nm 1 hs_started) saves0=$(nm 2 persist_saves) est2=$(nm 2 cid_sessions)
kill -USR2 "${NODE_PID[2]}" # a live save ([persist]); SIGKILL leaves no time for one
for _ in $(seq 1 50); do snap; [ "$(nm 2 persist_saves)" -gt "$saves0" ] && break; sleep 0.1; done
check "4: node 2 saved its $est2 sessions (SIGUSR2)" [ "$(nm 2 persist_sessions_saved)" -eq "$est2" -a "$est2" -ge "$n2" ]
kill -KILL "${NODE_PID[2]}"; wait "${NODE_PID[2]}" 2>/dev/null; NODE_PID[2]=
rm -rf "/var/run/dpdk/$E2E_PREFIX-n2"
gone() { local m; m=$(ip netns exec "$NS" nft list map ip emse_lb buckets) && ! grep -q 198.18.103.12 <<<"$m"; }
for _ in $(seq 1 100); do gone && break; sleep 0.1; done
check "node 2 killed (SIGKILL): the balancer took its buckets" gone
AWAKE=() SLEEP=() j=0
for i in $ALL; do
	if [ "$(on_node "$i")" = 02 ]; then
		j=$((j + 1))
		if [ $((j % 2)) = 0 ]; then SLEEP+=("$i"); else AWAKE+=("$i"); fi
	else
		AWAKE+=("$i")
	fi
done
t4=$SECONDS
set_step 3 "${AWAKE[@]}"
fails=0
for i in "${AWAKE[@]}"; do wait "${UE_PID[$i]}" || fails=$((fails + 1)); done
check "${#AWAKE[@]} UEs awake had all 4 records echoed ($fails failed, $((SECONDS - t4)) s)" [ "$fails" -eq 0 ]
snap
bad=0 moved=0
for i in "${AWAKE[@]}"; do
	hsn=$(sed -n 's/^summary:.*handshakes=\([0-9]*\)/\1/p' "$TMP/ue$i.out")
	first=$(grep -m1 "^handshake:" "$TMP/ue$i.out" | sed -n 's/.*peer_cid=\(..\).*/\1/p')
	if [ "$first" = 01 ]; then [ "$hsn" = 1 ] && continue
	else moved=$((moved + 1)); [ "$hsn" = 2 -a "$(on_node "$i")" = 01 ] && continue; fi
	bad=$((bad + 1))
	echo "UE $i:"; grep -v "^echo" "$TMP/ue$i.out"
done
check "node 1's UEs: 1 handshake; node 2's: a second one, on node 1 ($bad otherwise)" [ "$bad" -eq 0 ]
check "node 1 ran exactly those $moved handshakes ($(( $(nm 1 hs_started) - hs1 )))" \
	[ $(( $(nm 1 hs_started) - hs1 )) -eq "$moved" ]

echo "[t=${SECONDS}s] phase 5"
# ---- 5. node 2 back: it takes its share of new UEs again --------------------------------------
check "5: node 2 restarted" node_start 2
for _ in $(seq 1 100); do buckets_of 2 && break; sleep 0.1; done
check "the balancer gave node 2 its buckets back" buckets_of 2
snap
check "node 2 restored its $est2 saved sessions" [ "$(nm 2 persist_sessions_restored)" -eq "$est2" ]
set_step 3 "${SLEEP[@]}"
fails=0
for i in "${SLEEP[@]}"; do wait "${UE_PID[$i]}" || fails=$((fails + 1)); done
bad=0
for i in "${SLEEP[@]}"; do
	grep -q "^summary:.*handshakes=1$" "$TMP/ue$i.out" && [ "$(on_node "$i")" = 02 ] || bad=$((bad + 1))
done
snap
check "${#SLEEP[@]} UEs that slept through it: record 3 echoed by node 2 on the restored session ($fails failed, $bad with a new handshake)" \
	[ "$fails" -eq 0 -a "$bad" -eq 0 ]
check "node 2 ran no handshake for them" [ "$(nm 2 hs_started)" -eq 0 ]
M=$(( N < 40 ? N : 40 ))
for i in $(seq 1 "$M"); do
	ip netns exec "$UE" timeout 30 "$CID_CLIENT" --host $VIP --port 5684 \
		--psk-identity "$(ue_id "$i")" --psk-hex "$(ue_key "$i")" --cid on --records 1 \
		--timeout-ms 3000 > "$TMP/new$i.out" 2>&1 &
	NEW_PID[$i]=$!
done
fails=0
for i in $(seq 1 "$M"); do wait "${NEW_PID[$i]}" || fails=$((fails + 1)); done
m2=$(grep -l "peer_cid=02" "$TMP"/new*.out | wc -l)
snap
check "$M new UEs handshook and echoed ($fails failed)" [ "$fails" -eq 0 ]
# its share: the bucket map says half; how many of M random ports hash there varies (jhash of
# one NAT address and nearby ports has spread 20-80 % over two nodes in these runs)
check "node 2 took some of them, node 1 the others ($m2 of $M)" [ "$m2" -ge 1 -a "$m2" -lt "$M" ]
check "and counted them" [ "$(nm 2 hs_completed)" -eq "$m2" ]
check "node 1 stops (SIGTERM, exit 0)" kill -TERM "${NODE_PID[1]}"
wait "${NODE_PID[1]}"; rc=$?; NODE_PID[1]=
check "node 1 exit status 0" [ "$rc" -eq 0 ]
echo "the balancer's controller saw:"; grep "change:" "/run/emse-lb/$NS/ctl.log" 2>/dev/null
e2e_done
