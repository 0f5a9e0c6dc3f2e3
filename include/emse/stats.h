/* Per-worker counters. Each worker writes only its own block (cache-aligned, plain stores);
 * telemetry sums the blocks when asked. A name table beside each enum keeps the exported names in
 * one place. */
#ifndef EMSE_STATS_H
#define EMSE_STATS_H

#include <stdint.h>
#include "emse/net/net.h"
#include "emse/dtls/handshake.h"
#include "emse/dtls/record.h"

/* Why a datagram that passed L2-L4 was dropped by the dataplane. */
enum emse_dp_drop {
	EMSE_DP_NO_LISTENER = 0,  /* UDP to a port nobody listens on */
	EMSE_DP_NOT_DTLS,         /* record header unparsable */
	EMSE_DP_CH_MALFORMED,     /* no session and not a well-formed ClientHello */
	EMSE_DP_NOT_CLIENT_HELLO, /* no session and not a ClientHello at all */
	EMSE_DP_HALF_OPEN_FULL,   /* limit of handshakes in progress reached */
	EMSE_DP_SESSIONS_FULL,
	EMSE_DP_SOURCE_FULL,      /* max_sessions_per_source reached for that address */
	EMSE_DP_POOL_EMPTY,       /* no wolfSSL object ready */
	EMSE_DP_PARKED_FULL,      /* limit of handshakes waiting for a key */
	EMSE_DP_PARK_QUEUE_FULL,  /* too many datagrams held for one parked handshake */
	EMSE_DP_STEER_FULL,       /* the owning worker's steering ring was full */
	EMSE_DP_TX_FULL,          /* the port did not take the burst */
	EMSE_DP_NO_MBUF,
	EMSE_DP_CONTROL_FULL,     /* key request ring full */
	EMSE_DP_APP_TOO_BIG,
	EMSE_DP_WOLFSSL_REJECT,   /* wolfSSL dropped the record (bad MAC, replay, epoch) */
	EMSE_DP_BACKEND_UNRESOLVED, /* forward: the backend's MAC is not known yet (ARP asked) */
	EMSE_DP_BACKEND_NO_SESSION, /* forward: an answer to a port no session holds */
	EMSE_DP_FWD_PORTS_FULL,   /* forward: this worker's share of forward_ports is used up */
	EMSE_DP__COUNT
};

enum emse_close {
	EMSE_CLOSE_NOTIFY = 0, /* the client said close_notify */
	EMSE_CLOSE_IDLE,       /* idle_timeout_s */
	EMSE_CLOSE_ALERT,      /* fatal alert or error after establishment */
	EMSE_CLOSE_REPLACED,   /* the same peer started a new handshake */
	EMSE_CLOSE_SHUTDOWN,
	EMSE_CLOSE__COUNT
};

struct emse_worker_stats {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
	uint64_t net_drop[EMSE_DROP__COUNT];
	uint64_t dp_drop[EMSE_DP__COUNT];
	uint64_t arp_replies, icmp_replies;
	uint64_t steered_out, steered_in;
	uint64_t hvr_sent, cookie_valid, cookie_invalid;
	uint64_t hs_started, hs_completed;
	uint64_t hs_native;       /* handshakes run by hs12.c (the rest by wolfSSL) */
	uint64_t hs12_skip[EMSE_HS12_SKIP__COUNT];
	uint64_t hs_failed[EMSE_HS_FAIL__COUNT];
	uint64_t closed[EMSE_CLOSE__COUNT];
	uint64_t retransmits;
	uint64_t key_hits, key_misses, key_negative, key_requests, key_parked_resumed;
	uint64_t app_rx, app_tx, app_rx_bytes;
	uint64_t fwd_tx, fwd_rx, arp_requests;
	uint64_t alerts_sent;
	uint64_t pool_refills;
	uint64_t compacted, kept_on_wolfssl, flight_not_held; /* established sessions by kind */
	uint64_t id_arena_full;   /* an established session whose identity found no room */
	/* compact record layer (copied from record.c's counters on the timer tick) */
	uint64_t rec_opened, rec_sealed, rec_alerts, rec_retx, flights_evicted, keys_expanded;
	uint64_t rec_drop[EMSE_REC_DROP_MAX];
	/* gauges */
	uint64_t sessions, half_open, parked, established;
	/* busy time: cycles of loop iterations that did work, and all cycles; cpu_ns is the thread's
	 * CPU time (a shared machine preempts the worker, and TSC cycles would count that) */
	uint64_t busy_cycles, total_cycles, loops, cpu_ns;
	/* busy CPU time without counting turns the machine gave to others (emse_busy_ns) */
	uint64_t idle_loops, idle_clean_cycles, idle_clean_n, busy_ns;
	/* of busy_cycles, the port's rx burst calls that returned packets and its tx burst calls:
	 * what the transport costs (memif copies across cores), apart from emse's own work */
	uint64_t port_rx_cycles, port_tx_cycles;
	/* session resumption (resume.h), copied from the worker's cache on the tick */
	uint64_t resume_offered, resume_accepted, resume_misses, resume_evictions, resume_stored;
	/* RFC 9146 connection ids (docs/cid.md) */
	uint64_t cid_offered;       /* ClientHellos hs12.c took that offered connection_id */
	uint64_t cid_negotiated;    /* of those, answered with our CID (listener cid = on) */
	uint64_t cid_sessions;      /* gauge: established sessions with our CID */
	uint64_t cid_unknown;       /* tls12_cid datagrams naming no live CID session: dropped */
	uint64_t cid_addr_changes;  /* sessions moved to a new peer address (RFC 9146 6) */
	uint64_t cid_addr_refused;  /* from a new address, authentic but not newer than every
				     * record before: dropped, answered nowhere */
	uint64_t cid_rec_drop[EMSE_REC_DROP_MAX]; /* tls12_cid records dropped, by reason */
	/* UDP checksums by who checked or filled them (offload.h): the port said good or bad, or
	 * software summed it; a compact session's records, deferred to their tag, are in neither */
	uint64_t rx_csum_hw_good, rx_csum_hw_bad, rx_csum_sw, tx_csum_hw, tx_csum_sw;
	/* datagrams the port's RSS put on the owner's queue (not steered: docs/deploy.md) */
	uint64_t rss_owned;
	/* tls12_cid datagrams whose CID was decoded (not found in the worker's memo, docs/cid.md) */
	uint64_t cid_decodes;
	/* CID sessions whose old address another CID session moved to (kept, out of the 5-tuple
	 * index until their next record: session.h emse_session_detach) */
	uint64_t cid_addr_taken;
	/* forwarding between nodes (cluster_fwd.h, docs/cluster.md). Receiver of a record for
	 * another node: envelopes sent, no peer with that node id, the peer's MAC not yet known.
	 * Owner: envelopes accepted, MAC wrong, outside the time window, not an envelope (or from
	 * no peer, or for no CID listener), the inner CID not ours. */
	uint64_t cluster_fwd_sent, cluster_fwd_no_peer, cluster_fwd_unresolved;
	uint64_t cluster_fwd_received, cluster_fwd_bad_auth, cluster_fwd_stale;
	uint64_t cluster_fwd_malformed, cluster_fwd_not_ours;
	/* IPv6 neighbours (RFC 4861) of forward mode and the cluster: Neighbour Solicitations we
	 * sent (arp_requests' counterpart), and advertisements / solicitations that set or
	 * refreshed the MAC of a neighbour we asked for */
	uint64_t nd_requests, nd_learnt;
} __attribute__((aligned(64)));

const char *emse_dp_drop_name(enum emse_dp_drop d);
const char *emse_hs_fail_name(enum emse_hs_fail f);
const char *emse_close_name(enum emse_close c);
const char *emse_hs12_skip_name(enum emse_hs12_skip k);
/* The worker's busy time: the smaller of two upper bounds, the wall clock of the iterations that
 * did work (busy_cycles: grows when the core is taken away mid-iteration on a shared machine) and
 * the thread's CPU time minus its idle polls, each costed at the mean of the idle polls that ran
 * uninterrupted (loose at low packet rates, where idle polls outnumber packets by 10^5). */
uint64_t emse_busy_ns(const struct emse_worker_stats *s, uint64_t hz);

#endif
