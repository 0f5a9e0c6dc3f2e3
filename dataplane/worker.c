/* The worker's loop, read top to bottom: receive a burst, classify each frame (L2-L4), steer it to
 * its owning worker, then by session state: stateless cookie exchange, handshake, parked waiting
 * for a key, established echo. Then key completions, timers, transmit, quiescent state. */
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
#include "emse/dtls_peek.h"
#include "emse/keycache.h"
#include "emse/persist.h"
#include "emse/offload.h"
#include "emse/proxy_v2.h"
#include "emse/rng.h"
#include "emse/worker.h"

#define TICK_US 10000 /* timers run every 10 ms: DTLS timers are in seconds */
#define PEER_BLOB_LEN 19

/* ---- transmit --------------------------------------------------------------------------------- */

/* Replay: what would go on the wire goes to the output capture, stamped with the capture clock
 * (not the wall clock), so that a seeded replay is byte-identical from run to run. */
static void replay_write(struct emse_worker *w)
{
	uint64_t us = w->now / (w->rt->hz / 1000000);
	for (uint16_t i = 0; i < w->n_tx; i++) {
		struct rte_mbuf *m = w->tx[i];
		struct pcap_pkthdr h = { .caplen = rte_pktmbuf_data_len(m), .len = m->pkt_len };
		h.ts.tv_sec = (time_t)(us / 1000000);
		h.ts.tv_usec = (suseconds_t)(us % 1000000);
		pcap_dump(w->rt->replay_out, &h, rte_pktmbuf_mtod(m, const u_char *));
		w->stats.tx_pkts++;
		w->stats.tx_bytes += m->pkt_len;
	}
	rte_pktmbuf_free_bulk(w->tx, w->n_tx);
	w->n_tx = 0;
}

void emse_worker_flush(struct emse_worker *w)
{
	if (!w->n_tx)
		return;
	uint64_t ncsum = 0;
	if (w->tx_csum_hw) {
		for (uint16_t i = 0; i < w->n_tx; i++)
			if (w->tx_csum[i]) {
				emse_tx_csum_offload(w->tx[i]);
				ncsum++;
			}
		w->stats.tx_csum_hw += ncsum;
	} else {
		for (uint16_t i = 0; i < w->n_tx; i++)
			if (w->tx_csum[i]) {
				emse_net_fill_csum(rte_pktmbuf_mtod(w->tx[i], uint8_t *));
				ncsum++;
			}
		w->stats.tx_csum_sw += ncsum;
	}
	if (w->rt->replay_out) {
		replay_write(w);
		return;
	}
	uint64_t t = rte_rdtsc();
	uint16_t sent = rte_eth_tx_burst(w->port, w->queue, w->tx, w->n_tx);
	w->stats.port_tx_cycles += rte_rdtsc() - t;
	for (uint16_t i = 0; i < sent; i++)
		w->stats.tx_bytes += w->tx[i]->pkt_len;
	w->stats.tx_pkts += sent;
	if (sent < w->n_tx) {
		w->stats.dp_drop[EMSE_DP_TX_FULL] += w->n_tx - sent;
		rte_pktmbuf_free_bulk(&w->tx[sent], w->n_tx - sent);
	}
	w->n_tx = 0;
}

/* csum: the frame's checksums are left for emse_worker_flush (emse_net_write_udp_nocsum). */
static void tx_enqueue_csum(struct emse_worker *w, struct rte_mbuf *m, bool csum)
{
	w->tx_csum[w->n_tx] = csum;
	w->tx[w->n_tx++] = m;
	if (w->n_tx == EMSE_TX_MAX)
		emse_worker_flush(w);
}

static void tx_enqueue(struct emse_worker *w, struct rte_mbuf *m)
{
	tx_enqueue_csum(w, m, false);
}

static int send_datagram(struct emse_worker *w, const struct emse_flow *flow, const uint8_t *data,
			 size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	if (!m) {
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return -1;
	}
	uint16_t hl = emse_net_hdr_len(flow);
	uint8_t *p = len > (size_t)(UINT16_MAX - hl)
			     ? NULL
			     : (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	if (!p) {
		rte_pktmbuf_free(m);
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		return -1;
	}
	memcpy(p + hl, data, len);
	emse_net_write_udp_nocsum(&w->rt->iface, flow, p, (uint16_t)len);
	tx_enqueue_csum(w, m, true);
	return 0;
}

/* wolfSSL's send callback lands here (dtls.c). */
static int dtls_send(void *worker, struct emse_session *s, const uint8_t *data, size_t len)
{
	struct emse_worker *w = worker;
	/* What wolfSSL sends while it completes the handshake is our last flight: the compact
	 * session keeps it to answer a retransmitted client Finished (record.c). */
	if (w->capture) {
		if (w->flight_n < EMSE_FLIGHT_MAX_DG && w->flight_used + len <= sizeof(w->flight)) {
			memcpy(w->flight + w->flight_used, data, len);
			w->flight_len[w->flight_n++] = (uint16_t)len;
			w->flight_used += (uint16_t)len;
		} else {
			w->flight_ok = false;
		}
	}
	return send_datagram(w, &s->flow, data, len);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static uint64_t unix_now(const struct emse_worker *w)
{
	const struct emse_runtime *rt = w->rt;
	return rt->unix0 + (w->now - rt->tsc0) / rt->hz;
}

/* The bytes the cookie is computed over and wolfSSL_dtls_set_peer is given: family, port, address.
 * Any fixed layout works as long as both sides use the same one. */
static void peer_blob(const struct emse_flow *f, uint8_t out[PEER_BLOB_LEN])
{
	out[0] = f->peer.family;
	out[1] = (uint8_t)(f->peer_port >> 8);
	out[2] = (uint8_t)f->peer_port;
	memcpy(out + 3, f->peer.a, 16);
}

unsigned emse_flow_owner(const struct emse_flow *f, unsigned n_workers)
{
	if (n_workers <= 1)
		return 0;
	uint32_t h = rte_jhash(f->peer.a, 16, ((uint32_t)f->peer_port << 16) | f->local_port);
	return h % n_workers;
}

static int find_listener(const struct emse_config *c, const struct emse_flow *f)
{
	for (unsigned i = 0; i < c->n_listeners; i++)
		if (c->listeners[i].port == f->local_port &&
		    emse_addr_eq(&c->listeners[i].addr, &f->local))
			return (int)i;
	return -1;
}

static uint64_t session_token(struct emse_worker *w, struct emse_session *s)
{
	return ((uint64_t)s->gen << 32) | emse_session_idx(&w->sessions, s);
}

static struct emse_hs_extra *extra_take(struct emse_worker *w)
{
	if (!w->n_free_extra)
		return NULL;
	struct emse_hs_extra *x = &w->extras[w->free_extra[--w->n_free_extra]];
	memset(x, 0, sizeof(*x));
	return x;
}

/* Held datagrams go, the PSK is wiped, the slot returns. */
static void extra_give(struct emse_worker *w, struct emse_session *s)
{
	struct emse_hs_extra *x = s->u.hs.x;
	if (!x)
		return;
	for (unsigned i = 0; i < s->u.hs.n_parked; i++)
		rte_pktmbuf_free(x->parked[i]);
	s->u.hs.n_parked = 0;
	e2m_wipe(x, sizeof(*x));
	w->free_extra[w->n_free_extra++] = (uint32_t)(x - w->extras);
	s->u.hs.x = NULL;
}

/* Ends a session that never got established. */
static void hs_fail(struct emse_worker *w, struct emse_session *s, enum emse_hs_fail why)
{
	w->stats.hs_failed[why]++;
	if (s->state == EMSE_S_PARKED)
		w->parked--;
	extra_give(w, s);
	emse_dtls_pool_put(&w->pool, s->u.hs.ssl, 1, 0); /* NULL-safe: none for hs12.c */
	emse_session_release(&w->sessions, s);
}

static void session_close(struct emse_worker *w, struct emse_session *s, enum emse_close why,
			  bool notify)
{
	w->stats.closed[why]++;
	emse_fwd_port_free(&w->fwd, s->fwd_port);
	s->fwd_port = 0;
	emse_idarena_drop(&w->ids, s->id_ref);
	s->id_ref = 0;
	if (s->state == EMSE_S_ESTABLISHED) {
		if (notify) {
			static const uint8_t cn[2] = {EMSE_REC_ALERT_WARNING, EMSE_REC_ALERT_CLOSE_NOTIFY};
			uint8_t rec[64];
			size_t n;
			if (emse_record_seal_cid(&w->rc, &s->u.rec, EMSE_REC_CT_ALERT, s->peer_cid, cn,
						 2, rec, sizeof(rec), &n) == 0)
				send_datagram(w, &s->flow, rec, n);
		}
		if (s->u.rec.flags & EMSE_REC_F_CID)
			w->stats.cid_sessions--;
		emse_record_wipe(&w->rc, &s->u.rec);
	} else {
		if (notify)
			emse_dtls_shutdown(s->u.hs.ssl);
		emse_dtls_pool_put(&w->pool, s->u.hs.ssl, why == EMSE_CLOSE_ALERT, 1);
	}
	emse_session_release(&w->sessions, s);
}

/* The handshake is done: take keys, sequence numbers and window out of wolfSSL and give the object
 * back (an idle compact session is a few hundred bytes instead of ~16 KB). Suites record.c does
 * not handle (CBC) stay on wolfSSL. */
static void established(struct emse_worker *w, struct emse_session *s)
{
	struct emse_record_state rec;
	w->stats.hs_completed++;
	emse_list_remove(&w->sessions, &w->sessions.hs, s);
	/* The identity moves to the arena (a reference in the session); the rest of what only the
	 * handshake needed goes back to its table. */
	s->id_ref = emse_idarena_put(&w->ids, &s->u.hs.x->id);
	if (!s->id_ref)
		w->stats.id_arena_full++;
	WOLFSSL *ssl = s->u.hs.ssl;
	int rc;
	const struct emse_record_state *native = NULL;
	uint8_t peer_cid[EMSE_REC_PEER_CID_MAX] = {0};
	if (s->u.hs.native) {
		const struct emse_hs12 *h = &s->u.hs.x->n;
		native = &h->rec; /* hs12.c ends in the compact state itself */
		if (h->sid_len && !h->resumed) /* resumable from now on; extra_give wipes h->ms */
			emse_resume_put(&w->resume, &w->ids, h->sid, h->ms, h->rec.suite, h->rec.cipher,
					h->ems, &s->u.hs.x->id, unix_now(w));
		rec = *native;
		memcpy(peer_cid, s->u.hs.x->n.peer_cid, sizeof(peer_cid));
		rc = 0;
	} else {
		rc = w->flight_ok && w->flight_n ? emse_record_import(&rec, ssl) : EMSE_REC_E_STATE;
	}
	extra_give(w, s);
	if (rc == 0) {
		const uint8_t *dg[EMSE_FLIGHT_MAX_DG];
		size_t len[EMSE_FLIGHT_MAX_DG], off = 0;
		for (unsigned i = 0; i < w->flight_n; i++) {
			dg[i] = w->flight + off;
			len[i] = w->flight_len[i];
			off += len[i];
		}
		if (w->flight_n && emse_record_flight_hold(&w->rc, &rec, dg, len, w->flight_n) != 0)
			w->stats.flight_not_held++;
		emse_dtls_pool_put(&w->pool, ssl, 0, 0);
		e2m_wipe(&s->u, sizeof(s->u));
		s->u.rec = rec;
		if (native)
			emse_record_moved(&w->rc, native, &s->u.rec);
		e2m_wipe(&rec, sizeof(rec));
		s->state = EMSE_S_ESTABLISHED;
		w->stats.compacted++;
		if (s->u.rec.flags & EMSE_REC_F_CID) {
			memcpy(s->peer_cid, peer_cid, sizeof(s->peer_cid));
			w->stats.cid_sessions++;
		}
	} else {
		s->state = EMSE_S_ESTABLISHED_WOLFSSL;
		s->u.hs.rtx_at = 0;
		emse_dtls_pool_detach(&w->pool);
		w->stats.kept_on_wolfssl++;
	}
	s->deadline = w->now + w->idle_ticks;
	emse_list_push(&w->sessions, &w->sessions.est, s);
}

/* hs12.c: one datagram of the client's flight. Returns false if the session is gone. */
static bool feed_native(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			size_t len)
{
	struct emse_hs_extra *x = s->u.hs.x;
	uint8_t out[EMSE_HS12_OUT_MAX];
	size_t n;
	enum emse_hs_fail why;
	switch (emse_hs12_input(&x->n, &w->rc, x->key, s->u.hs.have_key ? sizeof(x->key) : 0, data,
				len, out, &n, &why)) {
	case EMSE_HS12_WANT:
		return true;
	case EMSE_HS12_RESEND: {
		const uint8_t *f = emse_hs12_flight(&x->n, &n);
		send_datagram(w, &s->flow, f, n);
		w->stats.retransmits++;
		return true;
	}
	case EMSE_HS12_DONE:
		/* our last flight, for a client that repeats its Finished (record.c); none after an
		 * abbreviated handshake, where the client's Finished is the last message */
		if (n)
			send_datagram(w, &s->flow, out, n);
		memcpy(w->flight, out, n);
		w->flight_len[0] = (uint16_t)n;
		w->flight_n = n ? 1 : 0;
		established(w, s);
		return true;
	case EMSE_HS12_FATAL:
		break;
	}
	if (n && send_datagram(w, &s->flow, out, n) == 0)
		w->stats.alerts_sent++;
	hs_fail(w, s, why);
	return false;
}

/* Feeds one datagram of the handshake to its engine. Returns false if the session is gone. */
static bool feed_handshake(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			   size_t len)
{
	int err = 0;
	if (s->u.hs.native)
		return feed_native(w, s, data, len);
	uint32_t drops = s->u.hs.have_key ? emse_dtls_mac_drops(s->u.hs.ssl) : 0;
	w->capture = true;
	w->flight_ok = true;
	w->flight_n = 0;
	w->flight_used = 0;
	enum emse_dtls_rc rc = emse_dtls_handshake(s->u.hs.ssl, s, data, len, &err);
	w->capture = false;
	switch (rc) {
	case EMSE_DTLS_WANT:
		/* With the key in place, a record that does not decrypt is the client's Finished
		 * under another key: fail now, with an alert, rather than at the timeout. (Whoever
		 * could forge it could as well forge a plaintext fatal alert.) */
		if (s->u.hs.have_key && emse_dtls_mac_drops(s->u.hs.ssl) != drops) {
			emse_dtls_alert_bad_mac(s->u.hs.ssl);
			w->stats.alerts_sent++;
			hs_fail(w, s, EMSE_HS_FAIL_BAD_FINISHED);
			return false;
		}
		s->u.hs.rtx_at = w->now + (uint64_t)emse_dtls_timeout_s(s->u.hs.ssl) * w->rt->hz;
		return true;
	case EMSE_DTLS_DONE:
		established(w, s);
		return true;
	default:
		hs_fail(w, s, (enum emse_hs_fail)emse_dtls_fail_reason(err));
		return false;
	}
}

/* The handshake cannot go on (no key): let wolfSSL process the ClientKeyExchange without one, so
 * that it answers with the alert (unknown_psk_identity), then count our reason. */
static void fail_with_alert(struct emse_worker *w, struct emse_session *s, const uint8_t *cke,
			    size_t len, enum emse_hs_fail why)
{
	int err = 0;
	s->u.hs.have_key = 0;
	if (s->u.hs.native) {
		uint8_t alert[16];
		size_t n = emse_hs12_alert(&s->u.hs.x->n, 115 /* unknown_psk_identity */, alert);
		if (send_datagram(w, &s->flow, alert, n) == 0)
			w->stats.alerts_sent++;
	} else if (emse_dtls_handshake(s->u.hs.ssl, s, cke, len, &err) == EMSE_DTLS_FATAL) {
		w->stats.alerts_sent++;
	}
	if (s->state != EMSE_S_FREE)
		hs_fail(w, s, why);
}

/* ---- the key: looked up when the ClientKeyExchange shows the identity ------------------------- */

static void park(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m)
{
	if (s->u.hs.n_parked == EMSE_PARK_DGRAMS) {
		w->stats.dp_drop[EMSE_DP_PARK_QUEUE_FULL]++;
		rte_pktmbuf_free(m);
		return;
	}
	s->u.hs.x->parked[s->u.hs.n_parked++] = m;
}

/* m has been trimmed to the UDP payload (data, len). Consumes m. */
static void on_identity(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m,
			const uint8_t *data, size_t len, const uint8_t *idp, uint16_t idl)
{
	const struct emse_listener_conf *l = &w->rt->cfg->listeners[s->listener];
	if (e2m_identity_parse(idp, idl, &s->u.hs.x->id) != E2M_ID_OK) {
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_NOT_E2M);
		rte_pktmbuf_free(m);
		return;
	}
	struct emse_keycache *kc = emse_control_cache(w->rt->control, l->emse_idx);
	switch (emse_keycache_lookup(kc, w->id, s->u.hs.x->id.key_id, s->u.hs.x->id.app_id, s->u.hs.x->id.app_id_len,
				     unix_now(w), s->u.hs.x->key)) {
	case EMSE_KC_HIT:
		w->stats.key_hits++;
		s->u.hs.have_key = 1;
		feed_handshake(w, s, data, len);
		rte_pktmbuf_free(m);
		return;
	case EMSE_KC_NEGATIVE:
		w->stats.key_negative++;
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_NO_KEY);
		rte_pktmbuf_free(m);
		return;
	case EMSE_KC_MISS:
		break;
	}
	w->stats.key_misses++;
	if (w->parked >= w->rt->cfg->parked_max) {
		w->stats.dp_drop[EMSE_DP_PARKED_FULL]++;
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_KEY_UNAVAILABLE);
		rte_pktmbuf_free(m);
		return;
	}
	struct emse_key_request req = {
		.token = session_token(w, s),
		.key_id = s->u.hs.x->id.key_id,
		.emse_idx = l->emse_idx,
		.worker = (uint8_t)w->id,
		.app_id_len = s->u.hs.x->id.app_id_len,
	};
	memcpy(req.app_id, s->u.hs.x->id.app_id, s->u.hs.x->id.app_id_len);
	if (emse_control_post(w->rt->control, &req) != 0) {
		w->stats.dp_drop[EMSE_DP_CONTROL_FULL]++;
		fail_with_alert(w, s, data, len, EMSE_HS_FAIL_KEY_UNAVAILABLE);
		rte_pktmbuf_free(m);
		return;
	}
	w->stats.key_requests++;
	w->parked++;
	s->state = EMSE_S_PARKED;
	s->u.hs.rtx_at = w->now + w->park_ticks; /* while parked: the parked deadline */
	park(w, s, m);
}

static void on_established(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			   size_t len);

static void on_key_completion(struct emse_worker *w, const struct emse_key_completion *c)
{
	uint32_t idx = (uint32_t)c->token;
	if (idx >= w->sessions.max)
		return;
	struct emse_session *s = &w->sessions.s[idx];
	if (s->gen != (uint32_t)(c->token >> 32) || s->state != EMSE_S_PARKED)
		return; /* the handshake timed out or was replaced meanwhile */
	w->parked--;
	s->state = EMSE_S_HANDSHAKE;
	struct rte_mbuf *first = s->u.hs.x->parked[0];
	const uint8_t *d0 = rte_pktmbuf_mtod(first, const uint8_t *);
	size_t l0 = rte_pktmbuf_data_len(first);
	enum emse_hs_fail why = EMSE_HS_FAIL_KEY_UNAVAILABLE;

	if (c->status == EMSE_FETCH_OK) {
		const struct emse_listener_conf *l = &w->rt->cfg->listeners[s->listener];
		struct emse_keycache *kc = emse_control_cache(w->rt->control, l->emse_idx);
		if (emse_keycache_lookup(kc, w->id, s->u.hs.x->id.key_id, s->u.hs.x->id.app_id, s->u.hs.x->id.app_id_len,
					 unix_now(w), s->u.hs.x->key) == EMSE_KC_HIT) {
			w->stats.key_parked_resumed++;
			s->u.hs.have_key = 1;
			s->u.hs.rtx_at = 0;
			/* Feed what was held, in arrival order; stop if the session ends. */
			struct rte_mbuf *held[EMSE_PARK_DGRAMS];
			unsigned n = s->u.hs.n_parked;
			memcpy(held, s->u.hs.x->parked, sizeof(held));
			s->u.hs.n_parked = 0;
			uint32_t gen = s->gen;
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *d = rte_pktmbuf_mtod(held[i], const uint8_t *);
				size_t dl = rte_pktmbuf_data_len(held[i]);
				/* The handshake may complete on one of them: what follows (a client
				 * retransmission) then goes to the established session, whose union
				 * now holds record state, not a wolfSSL object. */
				if (s->gen != gen || s->state == EMSE_S_FREE)
					;
				else if (s->state == EMSE_S_HANDSHAKE)
					feed_handshake(w, s, d, dl);
				else if (emse_session_established(s))
					on_established(w, s, d, dl);
				rte_pktmbuf_free(held[i]);
			}
			return;
		}
	} else if (c->status == EMSE_FETCH_NO_KEY) {
		why = EMSE_HS_FAIL_NO_KEY;
	} else if (c->status == EMSE_FETCH_FORBIDDEN) {
		why = EMSE_HS_FAIL_KEY_FORBIDDEN;
	}
	s->u.hs.x->parked[0] = NULL;
	memmove(s->u.hs.x->parked, s->u.hs.x->parked + 1, sizeof(s->u.hs.x->parked[0]) * (EMSE_PARK_DGRAMS - 1));
	s->u.hs.n_parked--;
	fail_with_alert(w, s, d0, l0, why);
	rte_pktmbuf_free(first);
}

/* ---- datagrams -------------------------------------------------------------------------------- */

/* Session resumption (RFC 5246 7.3): a ClientHello naming a session of the cache, offering its suite
 * and its extended-master-secret state (RFC 7627 5.3: a different one means a full handshake),
 * starts an abbreviated handshake with no key fetch: the identity comes from the cache. The cookie
 * exchange came first, as for a full handshake (docs/persist.md). True if it started. */
static bool resumable(struct emse_worker *w, const struct dtls_client_hello *ch,
		      struct emse_hs12_hello *hello, struct emse_session *s, const uint8_t *cid,
		      unsigned cid_len)
{
	if (!ch->session_id_len)
		return false;
	struct emse_resume *c = &w->resume;
	c->st.offered++;
	const struct emse_resume_entry *e =
		emse_resume_find(c, &w->ids, ch->session_id, ch->session_id_len, unix_now(w));
	bool offered = false;
	for (size_t i = 0; e && i + 1 < ch->suites_len; i += 2)
		offered |= ch->suites[i] == e->suite[0] && ch->suites[i + 1] == e->suite[1];
	struct emse_hs_extra *x = s->u.hs.x;
	if (!e || !offered || e->ems != hello->ems ||
	    (e->id_ref && emse_idarena_get(&w->ids, e->id_ref, &x->id) != 0)) {
		c->st.misses++;
		return false;
	}
	memcpy(hello->suite, e->suite, 2);
	hello->cipher = e->cipher;
	if (emse_hs12_resume(&x->n, &w->rc, hello, e->sid, e->ms, cid, cid_len) != 0) {
		c->st.misses++;
		return false;
	}
	s->u.hs.have_key = 1; /* nothing to fetch: the master secret is the key */
	c->st.accepted++;
	return true;
}

/* hs12.c takes the handshake if it serves what the ClientHello asks for: true if it did (flight 2
 * sent, or the session already failed). */
static bool start_native(struct emse_worker *w, struct emse_session *s,
			 const struct dtls_client_hello *ch)
{
	const struct emse_config *c = w->rt->cfg;
	struct emse_hs12_hello hello;
	enum emse_hs12_skip k = c->hs_native ? emse_hs12_parse_hello(ch, c->suites, &hello)
					     : EMSE_HS12_SKIP_ENGINE;
	if (k != EMSE_HS12_OK) {
		w->stats.hs12_skip[k]++;
		return false;
	}
	struct emse_hs12 *h = &s->u.hs.x->n;
	s->u.hs.native = 1;
	s->u.hs.ssl = NULL;
	w->stats.hs_started++;
	w->stats.hs_native++;
	/* RFC 9146: our CID names this worker and slot (cid.h); its check bits are new each time */
	const struct emse_listener_conf *l = &c->listeners[s->listener];
	uint8_t cid[EMSE_CID_MAX];
	uint16_t check = 0;
	unsigned cid_len = 0;
	if (hello.cid_offered) {
		w->stats.cid_offered++;
		if (l->cid && w->rt->cid && emse_random(&check, sizeof(check)) == 0) {
			cid_len = l->cid_length;
			emse_cid_encode(w->rt->cid, cid_len, w->id, emse_session_idx(&w->sessions, s),
					check, cid);
			w->stats.cid_negotiated++;
		}
	}
	/* session resumption and CIDs together: the one ServerHello carries both */
	uint8_t sid[EMSE_SID_LEN];
	int rc;
	if (!w->resume.max) {
		rc = emse_hs12_start_cid(h, &hello, c->psk_hint, cid, cid_len);
	} else if (resumable(w, ch, &hello, s, cid, cid_len)) {
		rc = 0; /* ServerHello, ChangeCipherSpec, Finished: in h->flight */
	} else {
		rc = emse_random(sid, sizeof(sid)) == 0
			     ? emse_hs12_start_sid_cid(h, &hello, c->psk_hint, sid, cid, cid_len)
			     : -1;
	}
	if (rc != 0) {
		hs_fail(w, s, EMSE_HS_FAIL_PROTOCOL);
		return true;
	}
	if (cid_len)
		h->rec.cid_check = (uint16_t)(check & emse_cid_check_mask(w->rt->cid, cid_len));
	send_datagram(w, &s->flow, h->flight, h->flight_len);
	s->u.hs.rtx_at = w->now + w->rt->hz; /* RFC 6347 4.2.4.1: 1 s, doubling */
	return true;
}

/* No session for this peer: only a ClientHello may pass, and only with a valid cookie does it
 * create state. Consumes m. */
static void new_handshake(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
			  unsigned li, const uint8_t *data, size_t len, struct emse_session *old)
{
	struct dtls_client_hello ch;
	struct dtls_record rec;
	size_t used;
	int r = dtls_parse_client_hello(data, len, &ch);
	if (r != DTLS_PEEK_OK) {
		if (dtls_record_parse(data, len, &rec, &used) != DTLS_PEEK_OK)
			w->stats.dp_drop[EMSE_DP_NOT_DTLS]++; /* not even a DTLS record header */
		else
			w->stats.dp_drop[r == DTLS_PEEK_BAD_TYPE ? EMSE_DP_NOT_CLIENT_HELLO
								 : EMSE_DP_CH_MALFORMED]++;
		goto out;
	}
	uint8_t blob[PEER_BLOB_LEN];
	peer_blob(flow, blob);
	const uint8_t *secret =
		ch.cookie_len ? emse_cookie_verify(&w->cookie, blob, sizeof(blob), &ch) : NULL;
	if (!secret) {
		uint8_t hvr[EMSE_HVR_MAX];
		if (ch.cookie_len)
			w->stats.cookie_invalid++;
		size_t n = emse_cookie_build_hvr(w->cookie.cur, blob, sizeof(blob), &ch, hvr);
		if (send_datagram(w, flow, hvr, n) == 0)
			w->stats.hvr_sent++;
		goto out;
	}
	w->stats.cookie_valid++;
	if (old) /* RFC 6347 4.2.8: a new handshake from a known peer replaces its session */
		session_close(w, old, EMSE_CLOSE_REPLACED, false);
	if (w->sessions.hs.n >= w->rt->cfg->half_open_max) {
		w->stats.dp_drop[EMSE_DP_HALF_OPEN_FULL]++;
		goto out;
	}
	struct emse_session_key k;
	emse_session_key_of(flow, (uint8_t)li, &k);
	bool src_full;
	struct emse_session *s = emse_session_new(&w->sessions, &k, w->now + w->hs_ticks, &src_full);
	if (!s) {
		w->stats.dp_drop[src_full ? EMSE_DP_SOURCE_FULL : EMSE_DP_SESSIONS_FULL]++;
		goto out;
	}
	s->flow = *flow;
	s->listener = (uint8_t)li;
	s->u.hs.x = extra_take(w);
	if (s->u.hs.x && start_native(w, s, &ch))
		goto out;
	s->u.hs.ssl = s->u.hs.x ? emse_dtls_pool_get(&w->pool, s, secret, EMSE_COOKIE_SECRET_LEN,
						     blob, sizeof(blob))
				: NULL;
	if (!s->u.hs.ssl) {
		w->stats.dp_drop[EMSE_DP_POOL_EMPTY]++;
		extra_give(w, s);
		emse_session_release(&w->sessions, s);
		goto out;
	}
	w->stats.hs_started++;
	feed_handshake(w, s, data, len);
out:
	rte_pktmbuf_free(m);
}

/* Sends application data to the UE, through whichever record layer the session uses. */
static void session_send_app(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			     size_t len)
{
	if (s->state == EMSE_S_ESTABLISHED_WOLFSSL) {
		if (emse_dtls_write(s->u.hs.ssl, data, len) == 0)
			w->stats.app_tx++;
		return;
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	if (!m) {
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return;
	}
	uint16_t hl = emse_net_hdr_len(&s->flow);
	size_t cap = len + EMSE_REC_MAX_OVERHEAD + EMSE_REC_CID_OVERHEAD, n;
	uint8_t *p = cap > (size_t)(UINT16_MAX - hl) ? NULL
						      : (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + cap));
	/* to the client's CID when it has one (emse_record_seal otherwise) */
	if (!p || emse_record_seal_cid(&w->rc, &s->u.rec, EMSE_REC_CT_APP, s->peer_cid, data, len,
				       p + hl, cap, &n)) {
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_trim(m, (uint16_t)(cap - n));
	emse_net_write_udp_nocsum(&w->rt->iface, &s->flow, p, (uint16_t)n);
	tx_enqueue_csum(w, m, true);
	w->stats.app_tx++;
}

void emse_worker_arp(struct emse_worker *w, const uint8_t sender[4], const uint8_t target[4])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, 42) : NULL;
	if (!p) {
		rte_pktmbuf_free(m);
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return;
	}
	emse_arp_request(p, w->rt->iface.mac, sender, target);
	tx_enqueue(w, m);
	w->stats.arp_requests++;
}

static void send_arp_request(struct emse_worker *w, const struct emse_listener_conf *l)
{
	emse_worker_arp(w, l->addr.a, l->backend.a);
}

/* Forward mode: the plaintext goes to the listener's backend behind a PROXY v2 header saying
 * who the UE is (address, port, app id, key id), from the session's own port. */
static void forward_to_backend(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			       size_t len)
{
	const struct emse_listener_conf *l = &w->rt->cfg->listeners[s->listener];
	if (!s->fwd_port) {
		s->fwd_port = emse_fwd_port_alloc(&w->fwd, emse_session_idx(&w->sessions, s));
		if (!s->fwd_port) {
			w->stats.dp_drop[EMSE_DP_FWD_PORTS_FULL]++;
			return;
		}
	}
	struct emse_flow bf = { .peer = l->backend, .local = l->addr,
				.peer_port = l->backend_port, .local_port = s->fwd_port };
	memcpy(bf.local_mac, w->rt->iface.mac, 6);
	bool ask = false;
	if (!emse_neigh_lookup(&w->fwd, &l->backend, bf.peer_mac, w->now, w->rt->hz, &ask)) {
		if (ask && l->backend.family == 4)
			send_arp_request(w, l);
		w->stats.dp_drop[EMSE_DP_BACKEND_UNRESOLVED]++;
		return;
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	if (!m) {
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return;
	}
	uint16_t hl = emse_net_hdr_len(&bf);
	size_t cap = EMSE_PP2_MAX + EMSE_PP2_MOVED_MAX + len;
	uint8_t *p = cap > (size_t)(UINT16_MAX - hl) ? NULL
						      : (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + cap));
	struct e2m_identity id;
	if (emse_idarena_get(&w->ids, s->id_ref, &id) != 0)
		memset(&id, 0, sizeof(id)); /* arena was full: the header goes without the TLVs */
	int n = p ? emse_proxy_v2_write(p + hl, EMSE_PP2_MAX, &s->flow, EMSE_PP2_DGRAM, id.app_id,
					id.app_id_len, id.key_id)
		  : -1;
	if (n >= 0 && w->cid_moved)
		n = emse_proxy_v2_add_moved(p + hl, (size_t)n, EMSE_PP2_MAX + EMSE_PP2_MOVED_MAX,
					    &w->cid_prev);
	if (n < 0) {
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(p + hl + n, data, len);
	rte_pktmbuf_trim(m, (uint16_t)(EMSE_PP2_MAX + EMSE_PP2_MOVED_MAX - (size_t)n));
	emse_net_write_udp_nocsum(&w->rt->iface, &bf, p, (uint16_t)(n + len));
	tx_enqueue_csum(w, m, true);
	w->stats.fwd_tx++;
}

static void on_app_data(void *arg, struct emse_session *s, uint8_t *data, size_t len)
{
	struct emse_worker *w = arg;
	w->stats.app_rx++;
	w->stats.app_rx_bytes += len;
	if (w->rt->cfg->listeners[s->listener].mode == EMSE_APP_FORWARD)
		forward_to_backend(w, s, data, len);
	else
		session_send_app(w, s, data, len);
}

/* A backend's answer to one of our forward ports: encrypted to that session's UE. */
static void on_backend_answer(struct emse_worker *w, const struct emse_flow *f, const uint8_t *data,
			      size_t len)
{
	uint32_t idx = emse_fwd_port_session(&w->fwd, f->local_port);
	struct emse_session *s = idx < w->sessions.max ? &w->sessions.s[idx] : NULL;
	if (!s || !emse_session_established(s) || s->fwd_port != f->local_port ||
	    !emse_addr_eq(&w->rt->cfg->listeners[s->listener].backend, &f->peer) ||
	    w->rt->cfg->listeners[s->listener].backend_port != f->peer_port) {
		w->stats.dp_drop[EMSE_DP_BACKEND_NO_SESSION]++;
		return;
	}
	w->stats.fwd_rx++;
	session_send_app(w, s, data, len);
}

/* LRU: the most recently active session goes to the tail. */
static void session_touch(struct emse_worker *w, struct emse_session *s)
{
	emse_list_remove(&w->sessions, &w->sessions.est, s);
	s->deadline = w->now + w->idle_ticks;
	emse_list_push(&w->sessions, &w->sessions.est, s);
}

/* What an opened record of a compact session asks for: its data to the application, an alert ends
 * the session (close_notify answered), a repeated Finished gets our last flight again. 1: it was
 * authentic, 0: not (dropped and counted by record.c under its reason), -1: the session ended. */
static int on_record(struct emse_worker *w, struct emse_session *s, enum emse_rec_rc r, size_t n)
{
	switch (r) {
	case EMSE_REC_DATA:
		on_app_data(w, s, w->appbuf, n);
		return 1;
	case EMSE_REC_ALERT:
		session_close(w, s, w->appbuf[1] == EMSE_REC_ALERT_CLOSE_NOTIFY ? EMSE_CLOSE_NOTIFY
										: EMSE_CLOSE_ALERT,
			      w->appbuf[1] == EMSE_REC_ALERT_CLOSE_NOTIFY);
		return -1;
	case EMSE_REC_RETX: {
		const struct emse_flight_slot *f = emse_record_flight(&w->rc, &s->u.rec);
		for (unsigned i = 0; f && i < f->n_dg; i++)
			send_datagram(w, &s->flow, emse_flight_dg(f, i), f->len[i]);
		w->stats.retransmits++;
		return 1;
	}
	case EMSE_REC_DROP:
	case EMSE_REC_HANDSHAKE: /* not while established: F_HANDSHAKE is off */
		break;
	}
	return 0;
}

/* A compact session: each record of the datagram opened by record.c. True if one of them was
 * authentic: only that keeps the session from its idle timeout, not a spoofed datagram. */
static bool on_established_compact(struct emse_worker *w, struct emse_session *s,
				   const uint8_t *data, size_t len)
{
	size_t off = 0, used, n;
	uint8_t type;
	enum emse_rec_drop why;
	bool authentic = false;
	/* a CID session's client repeating its flight 3 sends it here by address: its Finished is
	 * a tls12_cid record (emse_record_open_cid hands the plain ones to emse_record_open) */
	unsigned cid_len = s->u.rec.flags & EMSE_REC_F_CID
				   ? w->rt->cfg->listeners[s->listener].cid_length : 0;
	while (off < len) {
		enum emse_rec_rc r =
			cid_len ? emse_record_open_cid(&w->rc, &s->u.rec, data + off, len - off,
						       cid_len, &used, w->appbuf, &n, &type, &why)
				: emse_record_open(&w->rc, &s->u.rec, data + off, len - off, &used,
						   w->appbuf, &n, &type, &why);
		int k = on_record(w, s, r, n);
		if (k < 0)
			return false;
		authentic |= k > 0;
		off += used;
	}
	return authentic;
}

static void on_established(struct emse_worker *w, struct emse_session *s, const uint8_t *data,
			   size_t len)
{
	int err = 0;
	if (s->state == EMSE_S_ESTABLISHED) {
		uint32_t gen = s->gen;
		bool authentic = on_established_compact(w, s, data, len);
		if (s->gen != gen || s->state != EMSE_S_ESTABLISHED || !authentic)
			return; /* closed, or nothing in it was the peer's */
		goto touch;
	}
	switch (emse_dtls_read(s->u.hs.ssl, s, data, len, w->appbuf, sizeof(w->appbuf), on_app_data, w,
			       &err)) {
	case EMSE_DTLS_CLOSED:
		session_close(w, s, EMSE_CLOSE_NOTIFY, true);
		return;
	case EMSE_DTLS_FATAL:
		session_close(w, s, EMSE_CLOSE_ALERT, false);
		return;
	default:
		break;
	}
touch:
	session_touch(w, s);
}

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
static bool echo_in_place(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m)
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

static bool is_epoch0_client_hello(const uint8_t *d, size_t len)
{
	struct dtls_record rec;
	size_t used;
	return dtls_record_parse(d, len, &rec, &used) == DTLS_PEEK_OK &&
	       rec.type == DTLS_CT_HANDSHAKE && rec.epoch == 0 && rec.len > 0 &&
	       rec.frag[0] == DTLS_HS_CLIENT_HELLO;
}

/* A UDP checksum classify left for later (udp: the datagram's UDP header, NULL if none is
 * pending). True if it is wrong: counted, and the caller drops the datagram. */
static bool csum_bad(struct emse_worker *w, const struct emse_flow *flow, const uint8_t *udp)
{
	if (!udp)
		return false;
	w->stats.rx_csum_sw++;
	if (emse_net_udp_csum_ok(flow, udp))
		return false;
	w->stats.net_drop[EMSE_DROP_UDP_CSUM]++;
	return true;
}

/* m trimmed to the UDP payload. Consumes m. udp: the UDP header if its checksum is still to be
 * verified; every path verifies it except a compact session's records, which authenticate
 * themselves (emse_net_classify_defer says why). */
static void on_datagram(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
			unsigned li, const uint8_t *udp)
{
	const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = rte_pktmbuf_data_len(m);
	struct emse_session_key k;
	emse_session_key_of(flow, (uint8_t)li, &k);
	struct emse_session *s = emse_session_find(&w->sessions, &k);

	if (s && s->state == EMSE_S_ESTABLISHED && echo_in_place(w, s, m))
		return; /* application data only: never a ClientHello */
	/* a new ClientHello on an established flow starts a handshake in its place */
	bool hello = s && emse_session_established(s) && is_epoch0_client_hello(data, len);
	if (csum_bad(w, flow, (!s || s->state != EMSE_S_ESTABLISHED || hello) ? udp : NULL)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (!s) {
		new_handshake(w, m, flow, li, data, len, NULL);
		return;
	}
	const uint8_t *idp;
	uint16_t idl;
	switch (s->state) {
	case EMSE_S_HANDSHAKE:
		if (!s->u.hs.have_key && dtls_peek_psk_identity(data, len, &idp, &idl) == DTLS_PEEK_OK) {
			on_identity(w, s, m, data, len, idp, idl);
			return;
		}
		feed_handshake(w, s, data, len);
		break;
	case EMSE_S_PARKED:
		park(w, s, m);
		return;
	case EMSE_S_ESTABLISHED:
	case EMSE_S_ESTABLISHED_WOLFSSL:
		if (hello) {
			new_handshake(w, m, flow, li, data, len, s);
			return;
		}
		on_established(w, s, data, len);
		break;
	}
	rte_pktmbuf_free(m);
}

/* ---- RFC 9146 connection ids (docs/cid.md) ------------------------------------------------ */

static bool emse_flow_same_peer(const struct emse_flow *a, const struct emse_flow *b)
{
	return a->peer_port == b->peer_port && emse_addr_eq(&a->peer, &b->peer);
}

/* The records of a datagram that named session s by its CID, from flow. The peer address moves
 * to flow only on a record that authenticates and is newer than every record before it (RFC 9146
 * 6); from another address anything else is dropped and answered nowhere. True if a record was
 * authentic (from the session's address after this datagram). */
static bool on_cid_records(struct emse_worker *w, struct emse_session *s, const struct emse_flow *flow,
			   unsigned cid_len, const uint8_t *data, size_t len)
{
	size_t off = 0, used, n;
	uint8_t type;
	enum emse_rec_drop why;
	bool authentic = false;
	uint32_t gen = s->gen;
	while (off < len && s->gen == gen && s->state == EMSE_S_ESTABLISHED) {
		uint64_t newest = s->u.rec.rnext;
		bool elsewhere = !emse_flow_same_peer(&s->flow, flow);
		enum emse_rec_rc r = emse_record_open_cid(&w->rc, &s->u.rec, data + off, len - off,
							  cid_len, &used, w->appbuf, &n, &type,
							  &why);
		off += used;
		if (r == EMSE_REC_DROP) {
			w->stats.cid_rec_drop[why]++;
			continue;
		}
		if (elsewhere) {
			/* authentic: newer than all before it, or a reordered/held-back copy */
			if (!emse_rec_was_newest(&s->u.rec, newest)) {
				w->stats.cid_addr_refused++;
				continue;
			}
			struct emse_session_key k;
			emse_session_key_of(flow, s->listener, &k);
			struct emse_session *o = emse_session_find(&w->sessions, &k);
			if (o && o != s) /* whoever held that address before does not any more */
				session_close(w, o, EMSE_CLOSE_REPLACED, false);
			w->cid_prev = s->flow;
			if (emse_session_move(&w->sessions, s, flow) != 0) {
				w->stats.dp_drop[EMSE_DP_SESSIONS_FULL]++;
				continue;
			}
			w->cid_moved = true;
			w->stats.cid_addr_changes++;
		}
		int k = on_record(w, s, r, n);
		authentic = k < 0 ? false : authentic || k > 0;
		w->cid_moved = false;
	}
	w->cid_moved = false;
	return authentic;
}

/* echo_in_place for a CID session's record from its own address (a move takes the copying path):
 * one tls12_cid record of application data is opened in place, and the reply sealed over it so
 * that its plaintext stays where it is. The reply's header is shorter by our CID less the
 * client's, so it starts that many octets later in the mbuf. Returns false, touching nothing, when
 * the datagram is not that case; true when m was consumed. */
static bool echo_in_place_cid(struct emse_worker *w, struct emse_session *s, struct rte_mbuf *m,
			      unsigned cl)
{
	uint8_t *rec = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	uint16_t hl = emse_net_hdr_len(&s->flow);
	unsigned pl = emse_rec_peer_cid_len(&s->u.rec), skip = cl - pl; /* cl >= 4 >= pl */
	if (len < EMSE_REC_HDR + cl ||
	    (size_t)(rec[11 + cl] << 8 | rec[12 + cl]) + EMSE_REC_HDR + cl != len ||
	    w->rt->cfg->listeners[s->listener].mode != EMSE_APP_ECHO || !RTE_MBUF_DIRECT(m) ||
	    rte_mbuf_refcnt_read(m) != 1 || rte_pktmbuf_headroom(m) + skip < hl)
		return false;
	uint8_t *plain = rec + EMSE_REC_HDR + cl + EMSE_REC_EXPLICIT;
	size_t used, n, out_len;
	uint8_t type;
	enum emse_rec_drop why;
	enum emse_rec_rc r = emse_record_open_cid(&w->rc, &s->u.rec, rec, len, cl, &used, plain, &n,
						  &type, &why);
	if (r == EMSE_REC_DROP) {
		w->stats.cid_rec_drop[why]++;
		rte_pktmbuf_free(m);
		return true;
	}
	if (r != EMSE_REC_DATA) { /* an alert, a repeated Finished: as on the copying path */
		if (on_record(w, s, r, n) > 0 && s->state == EMSE_S_ESTABLISHED)
			session_touch(w, s);
		rte_pktmbuf_free(m);
		return true;
	}
	w->stats.app_rx++;
	w->stats.app_rx_bytes += n;
	uint8_t *out = rec + skip;
	if (emse_record_seal_cid(&w->rc, &s->u.rec, EMSE_REC_CT_APP, s->peer_cid, plain, n, out,
				 len - skip, &out_len) == 0) {
		rte_pktmbuf_adj(m, (uint16_t)skip);
		send_in_place(w, s, m, hl, len - skip, out_len);
		m = NULL;
	} else {
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
	}
	session_touch(w, s); /* authentic */
	rte_pktmbuf_free(m);
	return true;
}

/* A datagram for listener li whose first record is tls12_cid with a CID of ours naming this
 * worker's slot (already decoded). Consumes m. udp: the UDP header if its checksum is pending. */
static void on_cid_datagram(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
			    unsigned li, uint32_t slot, uint32_t check, const uint8_t *udp)
{
	const struct emse_listener_conf *l = &w->rt->cfg->listeners[li];
	struct emse_session *s = slot < w->sessions.max ? &w->sessions.s[slot] : NULL;
	/* the check bits compared without a branch on their value */
	uint32_t diff = s ? (uint32_t)(s->u.rec.cid_check ^ check) : 1;
	bool live = s && s->state == EMSE_S_ESTABLISHED && (s->u.rec.flags & EMSE_REC_F_CID) &&
		    s->listener == li;
	if (!live || diff) {
		w->stats.cid_unknown++;
		rte_pktmbuf_free(m);
		return;
	}
	/* The checksum covers the addresses, the AEAD tag does not: a datagram that would move
	 * the session is checked (a corrupted source must not become the peer's address). */
	bool same = emse_flow_same_peer(&s->flow, flow);
	if (csum_bad(w, flow, same ? NULL : udp)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (same && echo_in_place_cid(w, s, m, l->cid_length))
		return;
	if (on_cid_records(w, s, flow, l->cid_length, rte_pktmbuf_mtod(m, const uint8_t *),
			   rte_pktmbuf_data_len(m)) &&
	    s->state == EMSE_S_ESTABLISHED)
		session_touch(w, s);
	rte_pktmbuf_free(m);
}

/* emse_cid_decode, through the worker's memo of recent CIDs. */
static int cid_lookup(struct emse_worker *w, unsigned len, const uint8_t *cid, unsigned *owner,
		      uint32_t *slot, uint32_t *check)
{
	struct emse_cid_memo *e = &w->cid_memo[(cid[1] | cid[2] << 8) & (EMSE_CID_MEMO - 1)];
	if (e->len == len && memcmp(e->cid, cid, len) == 0) {
		*owner = e->worker;
		*slot = e->slot;
		*check = e->check;
		return 0;
	}
	if (emse_cid_decode(w->rt->cid, len, cid, owner, slot, check) != 0)
		return -1; /* a miss evicts nothing */
	memcpy(e->cid, cid, len);
	e->len = (uint8_t)len;
	e->worker = (uint8_t)*owner;
	e->slot = *slot;
	e->check = (uint16_t)*check;
	return 0;
}

/* Hands a frame to the worker that owns its flow (consumes m). */
static void steer_to(struct emse_worker *w, unsigned owner, struct rte_mbuf *m)
{
	if (rte_ring_mp_enqueue(w->rt->workers[owner]->steer, m) != 0) {
		w->stats.dp_drop[EMSE_DP_STEER_FULL]++;
		rte_pktmbuf_free(m);
	} else {
		w->stats.steered_out++;
	}
}

void emse_worker_tx(struct emse_worker *w, struct rte_mbuf *m, bool csum)
{
	tx_enqueue_csum(w, m, csum);
}

void emse_worker_steer(struct emse_worker *w, unsigned owner, struct rte_mbuf *m)
{
	steer_to(w, owner, m);
}

void emse_worker_rx(struct emse_worker *w, struct rte_mbuf *m, bool may_steer)
{
	struct emse_flow flow;
	uint16_t off = 0, plen = 0;
	enum emse_drop_reason why = EMSE_DROP_NONE;

	if (may_steer) {
		w->stats.rx_pkts++;
		w->stats.rx_bytes += m->pkt_len;
	}
	if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) {
		w->stats.net_drop[EMSE_DROP_RUNT]++;
		rte_pktmbuf_free(m);
		return;
	}
	uint16_t len = rte_pktmbuf_data_len(m);
	struct emse_addr arp_from;
	uint8_t arp_mac[6];
	if (emse_arp_sender(&w->rt->iface, rte_pktmbuf_mtod(m, uint8_t *), len, &arp_from, arp_mac))
		emse_neigh_learn(&w->fwd, &arp_from, arp_mac);
	bool csum_pending;
	switch (emse_net_classify_defer(&w->rt->iface, rte_pktmbuf_mtod(m, uint8_t *), &len, &flow,
					&off, &plen, &why, &csum_pending)) {
	case EMSE_NET_DROP:
		w->stats.net_drop[why]++;
		rte_pktmbuf_free(m);
		return;
	case EMSE_NET_REPLY: {
		const uint8_t *fr = rte_pktmbuf_mtod(m, const uint8_t *);
		if (fr[12] == 0x08 && fr[13] == 0x06)
			w->stats.arp_replies++;
		else
			w->stats.icmp_replies++; /* echo replies and neighbour advertisements */
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - len));
		tx_enqueue(w, m);
		return;
	}
	case EMSE_NET_UDP:
		break;
	}
	/* The port's word on the UDP checksum replaces the software sum; without one (no offload,
	 * or the port could not tell) the software check stays pending as it would be. Counted
	 * where the frame came off the port, not again after steering. */
	if (csum_pending && w->rx_csum_hw) {
		enum emse_rx_csum v = emse_rx_csum_verdict(m->ol_flags);
		if (v == EMSE_RX_CSUM_GOOD) {
			csum_pending = false;
			w->stats.rx_csum_hw_good += may_steer;
		} else if (v == EMSE_RX_CSUM_BAD) {
			w->stats.rx_csum_hw_bad++;
			w->stats.net_drop[EMSE_DROP_UDP_CSUM]++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	/* steered datagrams are classified again by their owner */
	const uint8_t *udp = csum_pending ? rte_pktmbuf_mtod_offset(m, uint8_t *, off - 8) : NULL;
	const struct emse_config *cfg = w->rt->cfg;
	if (w->rt->cluster && flow.local_port == w->rt->cluster->port) {
		emse_cfwd_in(w, m, off, plen, may_steer); /* an envelope authenticates itself */
		return;
	}
	if (cfg->has_forward && flow.local_port >= cfg->fwd_first &&
	    flow.local_port - cfg->fwd_first < cfg->fwd_count) {
		unsigned owner = emse_fwd_port_owner(flow.local_port, cfg->fwd_first, cfg->fwd_count,
						     w->rt->n_workers);
		if (may_steer && owner != w->id) {
			steer_to(w, owner, m);
			return;
		}
		if (!csum_bad(w, &flow, udp))
			on_backend_answer(w, &flow, rte_pktmbuf_mtod_offset(m, uint8_t *, off), plen);
		rte_pktmbuf_free(m);
		return;
	}
	int li = find_listener(cfg, &flow);
	if (li < 0) {
		if (!csum_bad(w, &flow, udp))
			w->stats.dp_drop[EMSE_DP_NO_LISTENER]++;
		rte_pktmbuf_free(m);
		return;
	}
	const struct emse_listener_conf *l = &cfg->listeners[li];
	const uint8_t *pl = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	if (l->cid && plen >= EMSE_REC_HDR + l->cid_length && pl[0] == EMSE_REC_CT_CID &&
	    w->rt->cid) {
		/* RFC 9146: the CID names the session's worker and slot, whatever the address */
		if (w->rt->cluster && pl[11] != w->rt->cluster->node_id) {
			emse_cfwd_out(w, m, &flow, off, plen, udp); /* another node's */
			return;
		}
		unsigned owner;
		uint32_t slot, check;
		if (cid_lookup(w, l->cid_length, pl + 11, &owner, &slot, &check) != 0 ||
		    owner >= w->rt->n_workers) {
			w->stats.cid_unknown++;
			rte_pktmbuf_free(m);
			return;
		}
		if (owner != w->id) {
			if (may_steer) {
				steer_to(w, owner, m);
			} else { /* steered here, yet not ours: cannot happen with one codec */
				w->stats.cid_unknown++;
				rte_pktmbuf_free(m);
			}
			return;
		}
		rte_pktmbuf_adj(m, off);
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - plen));
		on_cid_datagram(w, m, &flow, (unsigned)li, slot, check, udp);
		return;
	}
	/* With RSS every datagram of a flow comes on one queue, so that queue's worker owns the flow;
	 * emse_flow_owner (a different hash) would re-steer most of them. Steering stays for ports
	 * without RSS and for what the port did not hash (docs/deploy.md). */
	if (may_steer) {
		if (w->rss && (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)) {
			w->stats.rss_owned++;
		} else {
			unsigned owner = emse_flow_owner(&flow, w->rt->n_workers);
			if (owner != w->id) {
				steer_to(w, owner, m);
				return;
			}
		}
	}
	rte_pktmbuf_adj(m, off);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - plen));
	on_datagram(w, m, &flow, (unsigned)li, udp);
}

/* ---- timers ----------------------------------------------------------------------------------- */

/* Our flight 2 is the only one the client answers with a flight of its own: resend it until the
 * ClientKeyExchange comes. After that the client's timer drives (it repeats its flight 3). */
static void retransmit_native(struct emse_worker *w, struct emse_session *s)
{
	struct emse_hs12 *h = &s->u.hs.x->n;
	if (h->phase != EMSE_HS12_WAIT_CKE && !(h->resumed && h->phase)) {
		s->u.hs.rtx_at = 0;
		return;
	}
	size_t n;
	const uint8_t *f = emse_hs12_flight(h, &n);
	send_datagram(w, &s->flow, f, n);
	w->stats.retransmits++;
	if (h->rtx < 6)
		h->rtx++;
	s->u.hs.rtx_at = w->now + (w->rt->hz << h->rtx);
}

void emse_worker_timers(struct emse_worker *w)
{
	struct emse_sessions *t = &w->sessions;
	struct emse_session *s;

	if (w->rt->cluster)
		emse_cfwd_tick(w); /* the peers' MACs, before a record needs them */
	/* One timeout for all handshakes: the list is in deadline order. */
	while ((s = emse_list_head(t, &t->hs)) && s->deadline <= w->now)
		hs_fail(w, s, s->state == EMSE_S_PARKED ? EMSE_HS_FAIL_PARKED_TIMEOUT
							: EMSE_HS_FAIL_TIMEOUT);
	/* Retransmissions and parked deadlines differ per session: a walk over the half-open ones,
	 * which half_open_max bounds. */
	for (s = emse_list_head(t, &t->hs); s;) {
		struct emse_session *next = emse_list_next(t, s);
		if (s->u.hs.rtx_at && s->u.hs.rtx_at <= w->now) {
			if (s->state == EMSE_S_PARKED) {
				hs_fail(w, s, EMSE_HS_FAIL_PARKED_TIMEOUT);
			} else if (s->u.hs.native) {
				retransmit_native(w, s);
			} else if (emse_dtls_retransmit(s->u.hs.ssl) != 0) {
				hs_fail(w, s, EMSE_HS_FAIL_TIMEOUT);
			} else {
				w->stats.retransmits++;
				s->u.hs.rtx_at = w->now +
					    (uint64_t)emse_dtls_timeout_s(s->u.hs.ssl) * w->rt->hz;
			}
		}
		s = next;
	}
	while ((s = emse_list_head(t, &t->est)) && s->deadline <= w->now)
		session_close(w, s, EMSE_CLOSE_IDLE, false);

	if (w->now >= w->cookie_next) {
		emse_cookie_rotate(&w->cookie, w->now);
		w->cookie_next = w->now + w->cookie_ticks;
	}
	w->stats.pool_refills += emse_dtls_pool_refill(&w->pool, 64);
	const struct emse_record_stats *rs = &w->rc.st;
	w->stats.rec_opened = rs->opened;
	w->stats.rec_sealed = rs->sealed;
	w->stats.rec_alerts = rs->alerts;
	w->stats.rec_retx = rs->retx;
	w->stats.flights_evicted = rs->flights_evicted;
	w->stats.keys_expanded = rs->keys_expanded;
	w->stats.resume_offered = w->resume.st.offered;
	w->stats.resume_accepted = w->resume.st.accepted;
	w->stats.resume_misses = w->resume.st.misses;
	w->stats.resume_evictions = w->resume.st.evictions;
	w->stats.resume_stored = w->resume.st.stored;
	memcpy(w->stats.rec_drop, rs->drops, sizeof(w->stats.rec_drop));
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		w->stats.cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	w->stats.busy_ns = emse_busy_ns(&w->stats, w->rt->hz);
	w->stats.sessions = t->max - t->n_free;
	w->stats.half_open = t->hs.n;
	w->stats.established = t->est.n;
	w->stats.parked = w->parked;
}

/* ---- the loop --------------------------------------------------------------------------------- */

/* Replay: one packet at a time, on the capture's clock. A handshake that parks for its key
 * is resolved before the next packet, and timers fire between packets when the capture's time
 * passes them, so the same capture gives the same output whatever the machine's speed. */
unsigned emse_worker_completions(struct emse_worker *w)
{
	struct emse_key_completion done[EMSE_BURST];
	unsigned nc = emse_control_poll(w->rt->control, w->id, done, EMSE_BURST);
	for (unsigned i = 0; i < nc; i++)
		on_key_completion(w, &done[i]);
	return nc;
}

static void replay_wait_parked(struct emse_worker *w)
{
	while (w->parked && !w->rt->stop) {
		unsigned nc = emse_worker_completions(w);
		rte_rcu_qsbr_quiescent(w->rt->qsbr, w->id);
		if (!nc)
			rte_pause();
	}
}

static void replay_step(struct emse_worker *w)
{
	const struct emse_runtime *rt = w->rt;
	struct rte_mbuf *m;
	if (rte_eth_rx_burst(w->port, w->queue, &m, 1) == 0) {
		/* net_pcap returns nothing once the capture is exhausted. */
		if (++w->replay_idle > 100000 && !w->parked)
			w->replay_done = true;
		return;
	}
	w->replay_idle = 0;
	if (rt->ts_offset >= 0 && (m->ol_flags & rt->ts_flag)) {
		uint64_t us = *RTE_MBUF_DYNFIELD(m, rt->ts_offset, rte_mbuf_timestamp_t *);
		uint64_t t = us * (rt->hz / 1000000);
		if (!w->now) { /* the first packet starts the clock */
			w->next_tick = t + w->tick_ticks;
			w->cookie_next = t + w->cookie_ticks;
		}
		if (t > w->now)
			w->now = t;
	}
	while (w->next_tick <= w->now) {
		uint64_t at = w->now;
		w->now = w->next_tick;
		emse_worker_timers(w);
		w->now = at;
		w->next_tick += w->tick_ticks;
	}
	w->stats.rx_pkts++;
	emse_worker_rx(w, m, false);
	replay_wait_parked(w);
	emse_worker_flush(w);
}

int emse_worker_main(void *arg)
{
	struct emse_worker *w = arg;
	const struct emse_runtime *rt = w->rt;
	struct rte_mbuf *pkts[EMSE_BURST];

	emse_dtls_pool_bind(&w->pool);
	emse_control_worker_register(rt->control, w->id);
	if (rt->seeded)
		emse_rng_seed_thread(rt->seed, 1 + w->id);
	w->now = rt->replay ? 0 : rte_rdtsc();
	w->next_tick = w->now + w->tick_ticks;
	w->cookie_next = w->now + w->cookie_ticks;

	/* One clock read per iteration: the time since the previous read is that iteration's, busy
	 * if it had work. */
	uint64_t prev = rte_rdtsc();
	bool prev_work = false;
	uint32_t iter = 0;
	while (!rt->stop) {
		uint64_t t0 = rte_rdtsc();
		uint64_t dt = t0 - prev;
		prev = t0;
		w->stats.total_cycles += dt;
		w->stats.loops++;
		if (prev_work) {
			w->stats.busy_cycles += dt;
		} else {
			/* What an idle poll costs, from the polls the machine did not interrupt:
			 * the thread's CPU time minus the idle polls is its busy CPU time. */
			w->stats.idle_loops++;
			if (dt < w->idle_clean_max) {
				w->stats.idle_clean_cycles += dt;
				w->stats.idle_clean_n++;
			}
		}
		if (!rt->replay)
			w->now = t0;
		unsigned work = 0;
		iter++;

		if (rt->replay) {
			replay_step(w);
			goto end_of_loop;
		}
		uint16_t n = rte_eth_rx_burst(w->port, w->queue, pkts, EMSE_BURST);
		if (n) /* an empty poll is idle time, not the port's cost */
			w->stats.port_rx_cycles += rte_rdtsc() - t0;
		for (uint16_t i = 0; i < n; i++)
			emse_worker_rx(w, pkts[i], true);
		work += n;

		/* Only other workers steer to this one. */
		if (rt->n_workers > 1) {
			n = (uint16_t)rte_ring_sc_dequeue_burst(w->steer, (void **)pkts, EMSE_BURST,
								NULL);
			w->stats.steered_in += n;
			for (uint16_t i = 0; i < n; i++)
				emse_worker_rx(w, pkts[i], false);
			work += n;
		}

		/* A completion matters to a parked handshake only; with none parked, late ones
		 * (their handshake timed out) are drained every 64 iterations. */
		if (w->parked || (iter & 63) == 0)
			work += emse_worker_completions(w);

		if (w->now >= w->next_tick) {
			emse_worker_timers(w);
			emse_persist_worker_poll(w);
			emse_resume_sweep(&w->resume, &w->ids, unix_now(w), 64);
			w->next_tick = w->now + w->tick_ticks;
		}
		emse_worker_flush(w);
end_of_loop:
		rte_rcu_qsbr_quiescent(rt->qsbr, w->id);
		prev_work = work != 0;
	}
	emse_control_worker_unregister(rt->control, w->id);
	return 0;
}

/* ---- set-up ----------------------------------------------------------------------------------- */

struct emse_worker *emse_worker_create(const struct emse_runtime *rt, unsigned id, int socket)
{
	const struct emse_config *c = rt->cfg;
	char name[64];
	struct emse_worker *w = rte_zmalloc_socket("emse_worker", sizeof(*w), 64, socket);
	if (!w)
		return NULL;
	w->id = id;
	w->rt = rt;
	w->port = c->port_id;
	w->queue = (uint16_t)id;
	w->hs_ticks = (uint64_t)c->handshake_timeout_ms * rt->hz / 1000;
	w->park_ticks = (uint64_t)c->parked_timeout_ms * rt->hz / 1000;
	w->idle_ticks = (uint64_t)c->idle_timeout_s * rt->hz;
	w->cookie_ticks = (uint64_t)c->cookie_rotate_s * rt->hz;
	w->tick_ticks = rt->hz / (1000000 / TICK_US);
	w->idle_clean_max = rt->hz / 50000; /* 20 us: longer idle polls were interrupted */

	snprintf(name, sizeof(name), "emse_mbuf_%u", id);
	/* The port DMAs into these: on its NUMA socket (unknown for virtual ports: the worker's) */
	int port_socket = rte_eth_dev_is_valid_port(c->port_id) ? rte_eth_dev_socket_id(c->port_id)
								   : -1;
	w->mp = rte_pktmbuf_pool_create(name, c->mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					port_socket >= 0 ? port_socket : socket);
	snprintf(name, sizeof(name), "emse_steer_%u", id);
	w->steer = rte_ring_create(name, 4096, socket, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "emse_sess_%u", id);
	if (!w->mp || !w->steer || emse_sessions_init(&w->sessions, name, c->max_sessions,
						 c->max_sessions_per_source, socket))
		goto fail;
	uint16_t per = (uint16_t)(c->fwd_count / rt->n_workers);
	if (emse_fwd_init(&w->fwd, c->has_forward ? (uint16_t)(c->fwd_first + id * per) : 0,
			  c->has_forward ? per : 0, socket) != 0)
		goto fail;
	for (unsigned i = 0; i < c->n_listeners; i++) {
		const struct emse_listener_conf *l = &c->listeners[i];
		if (l->mode == EMSE_APP_FORWARD && l->backend_mac_set) {
			bool ask;
			uint8_t mac[6];
			emse_neigh_lookup(&w->fwd, &l->backend, mac, 0, rt->hz, &ask);
			for (int k = 0; k < EMSE_NEIGH_MAX; k++)
				if (emse_addr_eq(&w->fwd.neigh[k].addr, &l->backend)) {
					memcpy(w->fwd.neigh[k].mac, l->backend_mac, 6);
					w->fwd.neigh[k].valid = true;
				}
		}
	}
	w->extras = rte_zmalloc_socket("emse_hs", sizeof(*w->extras) * c->half_open_max, 64, socket);
	w->free_extra = rte_malloc_socket("emse_hs", sizeof(uint32_t) * c->half_open_max, 64, socket);
	if (!w->extras || !w->free_extra)
		goto fail;
	for (uint32_t i = 0; i < c->half_open_max; i++)
		w->free_extra[i] = c->half_open_max - 1 - i;
	w->n_free_extra = c->half_open_max;
	/* identities: two chunks per session on average is room enough (a typical one takes one) */
	if (emse_idarena_init(&w->ids, c->max_sessions * 2 + c->resume_max * 2, socket) != 0 ||
	    emse_resume_init(&w->resume, c->resume_max, c->resume_lifetime_s, socket) != 0)
		goto fail;
	if (emse_cookie_init(&w->cookie, 0) != 0 ||
	    emse_record_ctx_init(&w->rc, c->flights_held) != 0)
		goto fail;
	WOLFSSL_CTX *ctx = emse_dtls_ctx_new(c->suites, c->psk_hint);
	if (!ctx || emse_dtls_pool_init(&w->pool, ctx, c->half_open_max, w, dtls_send) != 0)
		goto fail;
	return w;
fail:
	emse_worker_destroy(w);
	return NULL;
}

/* After the worker stopped, before the port stops: says close_notify to established sessions and
 * ends every session. The queue is this worker's alone, so the main lcore may transmit on it. */
void emse_worker_drain(struct emse_worker *w)
{
	struct emse_sessions *t = &w->sessions;
	emse_dtls_pool_bind(&w->pool);
	for (uint32_t i = 0; t->s && i < t->max; i++) {
		struct emse_session *s = &t->s[i];
		if (s->state == EMSE_S_FREE)
			continue;
		if (emse_session_established(s)) {
			/* a saved session lives on in the next process: no close_notify */
			session_close(w, s, EMSE_CLOSE_SHUTDOWN,
				      !(w->quiet_drain && s->state == EMSE_S_ESTABLISHED));
		} else {
			extra_give(w, s);
			emse_dtls_pool_put(&w->pool, s->u.hs.ssl, 1, 0);
			w->stats.closed[EMSE_CLOSE_SHUTDOWN]++;
			emse_session_release(t, s);
		}
		if (w->n_tx > EMSE_TX_MAX / 2)
			emse_worker_flush(w);
	}
	emse_worker_flush(w);
}

void emse_worker_destroy(struct emse_worker *w)
{
	if (!w)
		return;
	struct emse_sessions *t = &w->sessions;
	emse_dtls_pool_bind(&w->pool);
	for (uint32_t i = 0; t->s && i < t->max; i++) {
		struct emse_session *s = &t->s[i];
		if (s->state == EMSE_S_FREE)
			continue;
		if (s->state == EMSE_S_ESTABLISHED) {
			emse_record_wipe(&w->rc, &s->u.rec);
		} else {
			extra_give(w, s);
			emse_dtls_pool_put(&w->pool, s->u.hs.ssl, 1,
					   s->state == EMSE_S_ESTABLISHED_WOLFSSL);
		}
		emse_session_release(t, s);
	}
	rte_pktmbuf_free_bulk(w->tx, w->n_tx);
	w->n_tx = 0;
	WOLFSSL_CTX *ctx = w->pool.ctx;
	emse_dtls_pool_fini(&w->pool);
	emse_dtls_ctx_free(ctx);
	emse_cookie_wipe(&w->cookie);
	emse_record_ctx_fini(&w->rc);
	emse_fwd_fini(&w->fwd);
	emse_resume_fini(&w->resume, &w->ids);
	emse_idarena_fini(&w->ids);
	if (w->extras)
		e2m_wipe(w->extras, sizeof(*w->extras) * w->rt->cfg->half_open_max);
	rte_free(w->extras);
	rte_free(w->free_extra);
	emse_sessions_free(t);
	rte_ring_free(w->steer);
	rte_mempool_free(w->mp);
	rte_free(w);
}
