/* emse-bench internals: one generator lcore drives many simulated UEs, each a wolfSSL DTLS 1.2
 * client whose datagrams go to and come from mbufs (no sockets). */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "emse/net/net.h"
#include "pop.h"
#include "hs_client.h"
#include "record.h"
#include "stats.h"

struct rte_mempool;
struct rte_mbuf;
struct rte_hash;

struct gen_config {
	/* peer */
	struct emse_addr server_ip;
	uint16_t server_port;
	bool server_mac_set;
	uint8_t server_mac[6];
	/* our side: gen_ip answers ARP/ND as the UEs' gateway; UEs get ue_base + i */
	struct emse_addr gen_ip, ue_base;
	uint32_t ue_addrs;           /* distinct UE addresses (default: population size, <= 2^20) */
	uint16_t port_id;
	double arp_timeout;
	/* population */
	const char *keys, *emse_id, *dump_keys;
	uint64_t synthetic, seed;
	/* load */
	const char *suite;
	uint32_t concurrency;        /* closed loop: sessions in flight; open loop: cap */
	double rate;                 /* > 0: open loop, handshakes started per second */
	double duration, warmup, timeout, drain;
	uint32_t datagrams, size;
	uint32_t window;             /* datagrams in flight per session (1..DGRAM_WINDOW_MAX) */
	bool blast;                  /* datagrams through our own record layer (record.h) */
	bool verify_all;             /* --blast: open every echo, not just each session's first */
	double dgram_timeout;
	uint64_t max_handshakes;
	bool pool;
	double reload_keys;           /* > 0: re-read --keys when it changes, checked this often (s) */
	double spoof_rate;            /* ClientHellos/s from addresses no UE uses, no state kept */
	bool hold;                    /* sessions done: no close_notify, the client forgets them (the
	                               * server keeps them until its idle timeout); each on its own
	                               * (address, port), addresses taken round-robin */
	/* output */
	const char *json, *cdf, *label;
	double progress;
	const char *telemetry, *telemetry_cmd;
	bool quiet;
	const char *ready_file;       /* created once the port is up (scripts wait for it) */
	/* emse's graceful restart (issue 14): with --hold, each held session's flow and key block
	 * are appended to hold_file; a later run with resume_file continues those sessions with
	 * --datagrams records each (--blast), no handshake */
	const char *hold_file, *resume_file;
	bool resume;                  /* each UE resumes its previous session (RFC 5246 7.3) */
	/* emse-bench's own handshake client (hs_client.h) instead of wolfSSL's: always with --cid,
	 * by choice with --native-client; its sessions' records go through record.h (as --blast) */
	bool native;
	uint8_t cid;                  /* enum hsc_cid: --cid on|empty (RFC 9146) */
	uint32_t rebind_every;        /* each UE moves to a new source port every K records */
};

/* One session written by --hold-file (the generator's own format, read by the same build). */
struct held {
	struct emse_flow flow;
	uint32_t addr_idx;
	uint16_t port;
	uint8_t ccm;
	uint8_t kb[40];              /* the key block: keys and IVs of both directions */
};

#define DGRAM_WINDOW_MAX 32

enum sess_state { S_FREE = 0, S_HANDSHAKE, S_DATA };

struct sess {
	void *ssl;                   /* WOLFSSL * */
	uint32_t ue;                 /* population index */
	uint32_t addr_idx;
	uint32_t apos;               /* position in G.active */
	uint16_t port;
	uint8_t state;
	bool echo_checked;           /* --blast: the first echo was opened */
	uint32_t dgrams_left;         /* still to send */
	uint8_t q_head, q_n;          /* send times of the datagrams awaiting their echo */
	uint64_t q_sent[DGRAM_WINDOW_MAX];
	uint32_t hs_rx;               /* datagrams received while handshaking */
	uint64_t t_start;            /* TSC */
	uint64_t timer;              /* next wolfSSL retransmission / datagram deadline */
	uint64_t give_up;
	struct emse_flow flow;       /* local = the UE, peer = the server */
	uint8_t rto_shift;            /* own client: retransmission timeout 1 s << rto_shift */
	uint32_t rebound;             /* --rebind-every: the datagram count at the last move */
};

struct gen_counters {
	uint64_t started, handshakes, failures, retransmits, hvr, skipped_starts;
	uint64_t dgram_sent, dgram_echoed, dgram_lost;
	uint64_t rx_pkts, tx_pkts, tx_drops, rx_unmatched, rx_drop_net, arp_nd_replies;
	uint64_t reused, created;
	uint64_t spoof_sent, spoof_replies;
	uint64_t reloads;
	uint64_t echo_verified, echo_bad;
	uint64_t resumed;             /* --resume: handshakes the server resumed */
	uint64_t cid_sessions, rebinds;
};

struct gen {
	struct gen_config cfg;
	struct pop pop;
	void *ctx;                   /* WOLFSSL_CTX * */
	struct emse_iface ifc;
	struct rte_mempool *mp;
	struct rte_hash *flows;      /* (addr_idx, port) -> session index */
	struct sess *sess;
	uint32_t *free_list, nfree;
	uint32_t *active, nactive;   /* dense list for timer scans */
	struct rec_keys *recs;       /* --blast, own client: per session slot */
	struct hsc *hsc;             /* own client: per session slot */
	uint16_t *next_port;         /* per UE address */
	uint32_t next_ue;
	void **ssl_pool;
	uint32_t npool;
	uint8_t blob[512];
	unsigned blob_len;
	/* the datagram being handed to wolfSSL */
	const uint8_t *rx;
	uint16_t rx_len;
	struct rte_mbuf *tx[64];
	uint16_t ntx;
	uint8_t *payload;            /* application datagram contents */
	uint64_t hz;
	bool measuring;
	uint64_t busy_cycles, loop_cycles; /* measured window: iterations that did work, all */
	double cpu_share;            /* CPU time / wall time of the polling thread in the window */
	struct gen_counters c;       /* measured window only */
	struct gen_counters all;     /* whole run, for progress */
	struct hist hs_lat, rtt;
	struct fail_table fails;
	uint8_t spoof_ch[512];       /* a real ClientHello, captured once */
	uint16_t spoof_len;
	uint64_t spoof_rng;
	void *hold_out;              /* FILE *: --hold-file */
	struct held *held;           /* --resume-file: the sessions to continue */
	uint32_t n_held, next_held;
	void **ue_sess;              /* --resume: WOLFSSL_SESSION * of each UE's last full handshake */
};

extern struct gen G;

/* session.c */
int sess_init(void);
/* t_sched: when the session was due (open loop), so a late start counts in its latency */
int sess_start(uint64_t now, uint64_t t_sched);
void sess_input(uint32_t idx, const uint8_t *data, uint16_t len, uint64_t now);
void sess_timers(uint64_t now);
void sess_abort_all(void);
void sess_cleanup(void);
/* --hold-file / --resume-file: open the output, load the sessions; sess_resume_next continues the
 * next loaded one (0), or -1 when none is left or no slot is free. */
int sess_hold_open(const char *path);
int sess_resume_load(const char *path);
int sess_resume_next(uint64_t now);
/* Records go through our own record layer (record.h): --blast, or the own handshake client. */
static inline bool own_records(void)
{
	return G.cfg.blast || G.cfg.native;
}
/* spoofed ClientHellos: capture one at start-up, then send n of them */
int spoof_init(void);
void spoof_send(uint32_t n);
/* key of the flow table */
static inline uint64_t flow_key(uint32_t addr_idx, uint16_t port)
{
	return ((uint64_t)addr_idx << 16) | port;
}

/* main.c */
bool stop_requested(void);

/* port.c */
int port_init(void);
uint16_t port_poll(uint64_t now);
void port_flush(void);
int port_queue(const struct emse_flow *flow, const uint8_t *payload, uint16_t len);
int port_resolve_server(void);
void port_close(void);
/* UE address i, and the reverse (-1 if not ours). */
void ue_addr(uint32_t i, struct emse_addr *out);
int64_t ue_addr_index(const struct emse_addr *a);

/* telemetry.c: one command's JSON answer, or NULL (with a warning). */
void *telemetry_query(const char *path, const char *cmd); /* json_t * */
/* Around closing our port: the server (emse's /emse/port/pause) keeps off its port while we
 * leave, then carries on (telemetry.c says why). pause: the server's port id, or -1 (resume then
 * assumes port 0). */
int telemetry_server_pause(const char *path);
void telemetry_server_resume(const char *path, int server_port);

/* report.c */
void report_progress(double t, const struct gen_counters *prev, const struct gen_counters *cur,
		     double dt, uint32_t active);
int report_final(double seconds, void *tel_before, void *tel_after);

#endif
