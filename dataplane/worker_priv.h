/* What the worker's files (worker.c and worker_*.c) share: one struct emse_worker (worker.h), the
 * functions one file calls in another, and the small hot ones as static inline, so that the
 * per-packet path compiles as it did when all of this was one file. Not a public interface. */
#ifndef EMSE_WORKER_PRIV_H
#define EMSE_WORKER_PRIV_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "emse/control_plane.h"
#include "emse/dtls/dtls_peek.h"
#include "emse/keycache.h"
#include "emse/persist.h"
#include "emse/net/offload.h"
#include "emse/net/proxy_v2.h"
#include "emse/rng.h"
#include "emse/worker.h"

#define TICK_US 10000 /* timers run every 10 ms: DTLS timers are in seconds */
#define PEER_BLOB_LEN 19

/* worker_tx.c */
int send_datagram(struct emse_worker *w, const struct emse_flow *flow, const uint8_t *data,
		  size_t len);
int dtls_send(void *worker, struct emse_session *s, const uint8_t *data, size_t len);

/* worker_sessions.c */
struct emse_hs_extra *extra_take(struct emse_worker *w);
void extra_give(struct emse_worker *w, struct emse_session *s);
void hs_fail(struct emse_worker *w, struct emse_session *s, enum emse_hs_fail why);
void session_close(struct emse_worker *w, struct emse_session *s, enum emse_close why,
		   bool notify);

/* worker_hs.c */
void established(struct emse_worker *w, struct emse_session *s);
bool feed_handshake(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
		    size_t len);
void park(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m);
void on_identity(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m,
		 const uint8_t *data, size_t len, const uint8_t *idp, uint16_t idl);
void on_key_completion(struct emse_worker *w, const struct emse_key_completion *c);
void new_handshake(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
		   unsigned li, const uint8_t *data, size_t len, struct emse_session *old);

/* worker_apps.c */
void on_app_data(void *arg, struct emse_session *s, uint8_t *data, size_t len);
void on_backend_answer(struct emse_worker *w, const struct emse_flow *f, const uint8_t *data,
		       size_t len);

/* worker_records.c */
void on_established(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
		    size_t len);
void on_cid_datagram(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
		     unsigned li, uint32_t slot, uint32_t check, const uint8_t *udp);

/* ---- hot and small: inlined where they are used ----------------------------------------- */

/* csum: the frame's checksums are left for emse_worker_flush (emse_net_write_udp_nocsum). */
static inline void tx_enqueue_csum(struct emse_worker *w, struct rte_mbuf *m, bool csum)
{
	w->tx_csum[w->n_tx] = csum;
	w->tx[w->n_tx++] = m;
	if (w->n_tx == EMSE_TX_MAX)
		emse_worker_flush(w);
}

static inline void tx_enqueue(struct emse_worker *w, struct rte_mbuf *m)
{
	tx_enqueue_csum(w, m, false);
}

static inline uint64_t unix_now(const struct emse_worker *w)
{
	const struct emse_runtime *rt = w->rt;
	return rt->unix0 + (w->now - rt->tsc0) / rt->hz;
}

/* The bytes the cookie is computed over and wolfSSL_dtls_set_peer is given: family, port, address.
 * Any fixed layout works as long as both sides use the same one. */
static inline void peer_blob(const struct emse_flow *f, uint8_t out[PEER_BLOB_LEN])
{
	out[0] = f->peer.family;
	out[1] = (uint8_t)(f->peer_port >> 8);
	out[2] = (uint8_t)f->peer_port;
	memcpy(out + 3, f->peer.a, 16);
}

static inline uint64_t session_token(struct emse_worker *w, struct emse_session *s)
{
	return ((uint64_t)s->gen << 32) | emse_session_idx(&w->sessions, s);
}

/* LRU: the most recently active session goes to the tail. */
static inline void session_touch(struct emse_worker *w, struct emse_session *s)
{
	emse_list_remove(&w->sessions, &w->sessions.est, s);
	s->deadline = w->now + w->idle_ticks;
	emse_list_push(&w->sessions, &w->sessions.est, s);
}

/* A UDP checksum classify left for later (udp: the datagram's UDP header, NULL if none is
 * pending). True if it is wrong: counted, and the caller drops the datagram. */
static inline bool csum_bad(struct emse_worker *w, const struct emse_flow *flow,
			    const uint8_t *udp)
{
	if (!udp)
		return false;
	w->stats.rx_csum_sw++;
	if (emse_net_udp_csum_ok(flow, udp))
		return false;
	w->stats.net_drop[EMSE_DROP_UDP_CSUM]++;
	return true;
}

/* ---- an established session's echo without a copy (the other established paths are in
 * worker_records.c): here so on_datagram (worker.c) inlines it as it did when both were one file;
 * it runs once per record, millions a second. */

/* m's data (len bytes) starts with the sealed reply (out_len bytes): headers in front, the rest
 * cut, and it goes back out. */
static inline void send_in_place(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m,
				 uint16_t hl, size_t len, size_t out_len)
{
	uint8_t *p = (uint8_t *)rte_pktmbuf_prepend(m, hl);
	rte_pktmbuf_trim(m, (uint16_t)(len - out_len));
	m->ol_flags = 0; /* what the port said about the received frame */
	emse_net_write_udp_nocsum(&w->rt->iface, &s->flow, p, (uint16_t)out_len);
	tx_enqueue_csum(w, m, true);
	w->stats.app_tx++;
}

/* The common case of a compact echo session, without a copy: a datagram that is exactly one
 * application-data record is opened in place, its plaintext sealed in place over it (same length),
 * and the received mbuf goes back with the reply's headers written over the old ones. Returns
 * false, touching nothing, when the datagram is not that case (the copying path then takes it);
 * true when m was consumed (sent, or dropped and counted by record.c). */
static inline bool echo_in_place(struct emse_worker *w, struct emse_session *s,
				 struct rte_mbuf *m)
{
	uint8_t *rec = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	uint16_t hl = emse_net_hdr_len(&s->flow);
	if (s->state != EMSE_S_ESTABLISHED || len < EMSE_REC_HDR || rec[0] != EMSE_REC_CT_APP ||
	    (size_t)(rec[11] << 8 | rec[12]) + EMSE_REC_HDR != len ||
	    w->rt->cfg->listeners[s->listener].mode != EMSE_APP_ECHO ||
	    !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 || rte_pktmbuf_headroom(m) < hl)
		return false;
	uint8_t *plain = rec + EMSE_REC_HDR + EMSE_REC_EXPLICIT;
	size_t used, n, out_len;
	uint8_t type;
	enum emse_rec_drop why;
	/* an application-data record opens as DATA or is dropped (counted), nothing else */
	if (emse_record_open(&w->rc, &s->u.rec, rec, len, &used, plain, &n, &type, &why) ==
	    EMSE_REC_DATA) {
		w->stats.app_rx++;
		w->stats.app_rx_bytes += n;
		if (emse_record_seal(&w->rc, &s->u.rec, EMSE_REC_CT_APP, plain, n, rec, len,
				     &out_len) == 0) {
			send_in_place(w, s, m, hl, len, out_len);
			m = NULL;
		} else {
			w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		}
		session_touch(w, s); /* authentic: a forged record does not keep the session */
	}
	rte_pktmbuf_free(m);
	return true;
}

/* Into the worker's CID memo (a set of two, the newer first): by emse_cid_decode's result, or
 * by the handshake that made the CID, whose session's next records carry it. */
static inline void cid_memo_put(struct emse_worker *w, unsigned len, const uint8_t *cid,
				unsigned owner, uint32_t slot, uint32_t check)
{
	struct emse_cid_memo *e = &w->cid_memo[(cid[1] | cid[2] << 8) & (EMSE_CID_MEMO - 2)];
	e[1] = e[0];
	memcpy(e->cid, cid, len);
	e->len = (uint8_t)len;
	e->worker = (uint8_t)owner;
	e->slot = slot;
	e->check = (uint16_t)check;
}

#endif
