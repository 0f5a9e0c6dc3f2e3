/* A worker lcore: one RX/TX queue pair, its own sessions, wolfSSL objects, cookie secrets, mbuf
 * pool and counters. Nothing in here is shared for writing with another thread; the control plane
 * is reached only through rings (control.h) and the lock-free key cache. */
#ifndef EMSE_WORKER_H
#define EMSE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "emse/dtls/cid.h"
#include "emse/cluster_fwd.h"
#include "emse/config.h"
#include "emse/control.h"
#include "emse/dtls/cookie.h"
#include "emse/dtls/dtls.h"
#include "emse/net/forward.h"
#include "emse/idarena.h"
#include "emse/dtls/record.h"
#include "emse/resume.h"
#include "emse/session.h"
#include "emse/stats.h"

/* 64, not DPDK's usual 32: at full load the worker's bursts fill either way, and over memif the
 * larger one cost 3-7% less per record (bench/run-sessions.sh, paired runs, docs/record.md). */
#define EMSE_BURST 64
#define EMSE_TX_MAX 128
#define EMSE_APP_MAX 2048
#define EMSE_CID_MEMO 1024 /* per worker, a power of two: 512 sets of two */

struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;
struct emse_control;

/* Read-only for the workers once they run (except `stop`). */
struct emse_runtime {
	const struct emse_config *cfg;
	struct emse_iface iface; /* the config's addresses and the port's MAC */
	unsigned n_workers;
	struct emse_worker *workers[EMSE_MAX_WORKERS];
	struct emse_control *control;
	struct rte_rcu_qsbr *qsbr;
	uint64_t hz;
	uint64_t tsc0, unix0;    /* clock origin: unix time = unix0 + (tsc - tsc0) / hz */
	volatile bool stop;
	/* /emse/port/pause (telemetry.c): workers make no rx or tx burst until it is lifted; each
	 * says so in its port_idle. Read and written with __atomic (worker.c says why). */
	bool port_pause;
	/* Replay (net_pcap): the clock comes from the capture's timestamps, what we send is written
	 * to replay_out with those timestamps, and emse stops when the capture is exhausted. */
	bool replay;
	bool seeded;
	uint64_t seed;
	int ts_offset;           /* mbuf dynfield of the RX timestamp (us since the epoch) */
	uint64_t ts_flag;
	void *replay_out;        /* pcap_dumper_t */
	const struct emse_cid_codec *cid; /* our Connection IDs (cid.h); NULL: no listener has them */
	const struct emse_cfwd *cluster;  /* forwarding between nodes (cluster_fwd.h); NULL: off */
};

struct emse_worker {
	unsigned id;
	unsigned lcore;
	uint16_t port, queue;
	const struct emse_runtime *rt;
	struct rte_mempool *mp;
	struct rte_ring *steer;  /* datagrams other workers received for flows this worker owns */
	struct emse_sessions sessions;
	struct emse_dtls_pool pool;
	struct emse_cookie_keys cookie;
	struct emse_fwd fwd;        /* forward mode: ports towards backends, their MACs */
	struct emse_idarena ids;    /* identities of established sessions */
	struct emse_hs_extra *extras; /* half_open_max: what only handshakes carry */
	uint32_t *free_extra;
	uint32_t n_free_extra;
	struct emse_record_ctx rc;  /* compact sessions: AES scratch, held last flights, counters */
	bool capture, flight_ok;    /* capturing what wolfSSL sends while a handshake completes */
	uint8_t flight_n;
	uint16_t flight_used;
	uint16_t flight_len[EMSE_FLIGHT_MAX_DG];
	uint8_t flight[EMSE_FLIGHT_BYTES];
	uint64_t now;            /* tsc of the current loop iteration */
	uint64_t next_tick, cookie_next;
	uint64_t hs_ticks, park_ticks, idle_ticks, cookie_ticks, tick_ticks;
	uint32_t parked;
	uint64_t idle_clean_max; /* cycles: an idle poll longer than this was interrupted */
	uint64_t replay_idle;    /* empty polls since the last packet */
	volatile bool replay_done;
	uint16_t n_tx;
	struct rte_mbuf *tx[EMSE_TX_MAX];
	uint8_t tx_csum[EMSE_TX_MAX];  /* 1: checksums still to fill (emse_net_fill_csum) */
	/* the port's offloads, decided once at start (offload.h): */
	bool rx_csum_hw, tx_csum_hw;   /* it verifies / fills UDP checksums */
	bool rss;                      /* it spreads flows by RSS: the queue a flow comes on owns it */
	struct emse_worker_stats stats;
	/* What the CID permutation gave for recently seen CIDs (docs/cid.md): a decode is four AES
	 * calls in a row (~70 ns), a hit an 8-byte compare. Sets of two (a collision of two busy
	 * sessions costs no decodes) indexed by CID body octets 1-2, which the permutation spreads
	 * evenly; a crafted CID can only evict, never be believed without its own bytes. */
	struct emse_cid_memo {
		uint8_t cid[EMSE_CID_MAX];
		uint32_t slot;
		uint16_t check;
		uint8_t len, worker;
	} cid_memo[EMSE_CID_MEMO];
	/* forward mode: the datagram being handled moved its session (RFC 9146 6) from cid_prev */
	bool cid_moved;
	struct emse_flow cid_prev;
	uint8_t appbuf[EMSE_APP_MAX];
	/* A live save (persist.c): the main thread hands over a buffer and bumps persist_req; the
	 * worker fills it on its tick and sets persist_done = persist_req. */
	uint32_t persist_req, persist_done;
	uint8_t *persist_buf;
	bool port_idle; /* while rt->port_pause: this worker no longer touches the port */
	size_t persist_cap, persist_len;
	uint64_t persist_n;
	bool quiet_drain;        /* its sessions were saved: drained without close_notify */
	struct emse_resume resume;  /* session resumption cache ([emse] resume_max) */
	struct emse_cfwd_worker cfwd; /* forwarding between nodes: this worker's part */
} __attribute__((aligned(64)));

/* Allocates and sets up worker id (queue id) on socket; NULL with a message on failure. */
struct emse_worker *emse_worker_create(const struct emse_runtime *rt, unsigned id, int socket);
/* After the worker stopped and before the port stops: close_notify to established sessions. */
void emse_worker_drain(struct emse_worker *w);
void emse_worker_destroy(struct emse_worker *w);
/* The lcore entry point (rte_eal_remote_launch). Returns when rt->stop is set. */
int emse_worker_main(void *arg);

/* One received frame (exposed for tests and the replay driver). may_steer: 0 for frames that
 * came through the steering ring already. */
void emse_worker_rx(struct emse_worker *w, struct rte_mbuf *m, bool may_steer);
void emse_worker_timers(struct emse_worker *w);
/* Takes this worker's key completions and resumes or fails the parked handshakes they answer
 * (the loop calls it; tests drive it directly). Returns how many were taken. */
unsigned emse_worker_completions(struct emse_worker *w);
void emse_worker_flush(struct emse_worker *w);
/* Which worker owns a flow: the same for every packet of one UE. Used where the port does not
 * spread flows itself; with RSS the queue a datagram came on decides (docs/deploy.md). */
unsigned emse_flow_owner(const struct emse_flow *f, unsigned n_workers);
/* For cluster_fwd.c: hands a frame to worker owner's steering ring (consumes m). */
void emse_worker_steer(struct emse_worker *w, unsigned owner, struct rte_mbuf *m);
/* Asks for target's MAC from sender (ours, the same family): an ARP request for IPv4, a
 * Neighbour Solicitation for IPv6 (forward.h emse_neigh_request). */
void emse_worker_ask_neigh(struct emse_worker *w, const struct emse_addr *sender,
			   const struct emse_addr *target);

#endif
